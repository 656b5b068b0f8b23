/*
 * The encoder (spectra_result.h): a GetStatementResult page is opened
 * (checked whole and its rows sized, so that a bad page writes nothing),
 * then written into the caller's blocks in slices, within the row and
 * byte limits, the truncation and the paging decided here.
 */

#include "spectra_result_internal.h"

#include <stdlib.h>
#include <string.h>


void
spectra_result_init(spectra_result_t *res, spectra_result_format_e format,
    uint64_t max_rows, unsigned flags, const spectra_pool_t *pool)
{
    memset(res, 0, sizeof(spectra_result_t));

    res->format = format;
    res->flags = flags;
    res->max_rows = max_rows;
    res->pool = *pool;
    res->total_rows = -1;
}


int
spectra_result_meta_columns(spectra_result_t *res, spectra_scan_t *s,
    const spectra_doc_t *doc)
{
    int                    rc;
    spectra_scan_t         ms;
    spectra_raw_column_t  *raw;

    if (doc->meta == NULL) {
        return spectra_err_set(s->err, SPECTRA_RESULT_ERROR, 0,
                               "first result page has no ColumnMetadata");
    }

    if (!doc->meta_array) {
        return spectra_err_set(s->err, SPECTRA_RESULT_ERROR,
                               (size_t) (doc->meta - s->start),
                               "ColumnMetadata is not an array");
    }

    if (doc->nmeta > SPECTRA_RESULT_MAX_COLUMNS) {
        return spectra_err_set(s->err, SPECTRA_RESULT_ERROR,
                               (size_t) (doc->meta - s->start),
                               "the result has %zu columns, more than the "
                               "%d supported", doc->nmeta,
                               SPECTRA_RESULT_MAX_COLUMNS);
    }

    /* scratch for the raw spans, from the pool: small and once */
    raw = spectra_palloc(&res->pool, (doc->nmeta ? doc->nmeta : 1)
                                     * sizeof(spectra_raw_column_t));
    if (raw == NULL) {
        return SPECTRA_RESULT_NOMEM;
    }

    ms = *s;
    ms.p = doc->meta;

    if (spectra_result_read_columns(&ms, doc->nmeta, raw)
        != SPECTRA_RESULT_OK)
    {
        return SPECTRA_RESULT_ERROR;
    }

    rc = spectra_result_set_columns(res, raw, doc->nmeta);

    return rc;
}


int
spectra_result_page_open(spectra_result_t *res, const u_char *p, size_t len,
    spectra_result_page_t *page, spectra_err_t *err)
{
    int                    rc, more;
    size_t                 i, emit, size, keys, skip;
    uint64_t               before;
    const u_char          *start;
    spectra_doc_t          doc;
    spectra_scan_t         s, rows;
    spectra_result_page_t  pg;

    res->emit = 0;
    res->emitted = 0;
    res->pending = 0;
    res->enc_len = 0;
    res->enc_pos = 0;
    res->enc_rows = 0;

    /* what is written ahead takes about what the page does, at most */
    res->enc_max = len + 65536;

    s.start = p;
    s.p = p;
    s.end = p + len;
    s.err = err;

    /* rows the caller has served already: passed over, once */
    skip = (size_t) res->skip;

    doc.res = res;
    doc.ahead = (res->flags & SPECTRA_RESULT_ENCODE_AHEAD) != 0;
    doc.skip = skip;
    doc.cap = skip + ((res->rows < res->max_rows)
                      ? res->max_rows - res->rows : 0);

    if (spectra_result_doc(&s, &doc) != SPECTRA_RESULT_OK) {
        return SPECTRA_RESULT_ERROR;
    }

    if (!res->has_columns) {
        rc = spectra_result_meta_columns(res, &s, &doc);
        if (rc != SPECTRA_RESULT_OK) {
            return rc;
        }

    } else if (doc.meta != NULL
               && (!doc.meta_array || doc.nmeta != res->ncolumns))
    {
        return spectra_err_set(err, SPECTRA_RESULT_ERROR,
                               (size_t) (doc.meta - p),
                               "ColumnMetadata differs from the first page's");
    }

    rc = spectra_result_paging(&doc, &pg, &res->pool);
    if (rc != SPECTRA_RESULT_OK) {
        return rc;
    }

    if (skip > doc.nrecords) {
        return spectra_err_set(err, SPECTRA_RESULT_ERROR,
                               (size_t) (doc.records - p),
                               "the page has %zu rows, fewer than the %zu "
                               "served from it already", doc.nrecords, skip);
    }

    /* check every row that will be written and bound its size */

    emit = 0;

    if (res->rows < res->max_rows && !res->truncated) {
        emit = (res->max_rows - res->rows < doc.nrecords - skip)
               ? (size_t) (res->max_rows - res->rows) : doc.nrecords - skip;
    }

    keys = 0;

    if (res->format == SPECTRA_RESULT_OBJECTS) {
        for (i = 0; i < res->ncolumns; i++) {
            keys += res->columns[i].key.len;
        }
    }

    rows = s;
    rows.p = doc.records + 1;

    /* the whole page is valid JSON by now: passing over cannot fail */
    for (i = 0; i < skip; i++) {
        (void) spectra_scan_value(&rows, 1);
        (void) spectra_scan_next(&rows, ']', &more);
    }

    start = rows.p;

    for (i = skip; i < skip + emit; i++) {
        if (!doc.checked) {
            size = 0;

            if (spectra_result_row(res, res->ncolumns, &rows, i, &size, NULL,
                                   0)
                != SPECTRA_RESULT_OK)
            {
                return SPECTRA_RESULT_ERROR;
            }

            (void) spectra_scan_next(&rows, ']', &more);

            if (spectra_result_size_put(res, i, size) != SPECTRA_RESULT_OK) {
                return SPECTRA_RESULT_NOMEM;
            }
        }

        /* written ahead: exact, the comma before it not counted */
        res->sizes[i] += (i < res->enc_rows) ? 1 : keys;
        res->pending += res->sizes[i];
    }

    /* the rows of the result before this page's first, and after it */
    before = res->seen;

    res->seen += doc.nrecords;
    res->total_rows = pg.total_rows;
    res->skip = 0;

    res->page = p;
    res->page_end = p + len;
    /* the first row page_write() reads from the page, if any */
    res->cur = (res->enc_rows > skip && res->enc_rows < skip + emit)
               ? res->enc_cur : start;
    res->emit = skip + emit;
    res->emitted = skip;
    res->more_records = (doc.nrecords > skip + emit);
    res->page_truncates = res->more_records
                          || (res->rows + emit == res->max_rows
                              && pg.total_rows >= 0
                              && (uint64_t) pg.total_rows
                                 > before + skip + emit);

    if (res->page_truncates
        || (pg.total_rows >= 0 && res->seen >= (uint64_t) pg.total_rows))
    {
        pg.more = 0;
    }

    res->page_more = pg.more;

    if (page != NULL) {
        *page = pg;
    }

    return SPECTRA_RESULT_OK;
}


int
spectra_result_page_write(spectra_result_t *res, spectra_result_out_t *out,
    size_t slice)
{
    int             more;
    size_t          size, written;
    u_char         *dst, *row;
    spectra_scan_t  rows;

    memset(&rows, 0, sizeof(spectra_scan_t));
    rows.start = res->page;
    rows.p = res->cur;
    rows.end = res->page_end;

    written = 0;

    while (res->emitted < res->emit) {
        if (slice && written >= slice) {
            res->cur = rows.p;
            return SPECTRA_RESULT_AGAIN;
        }

        size = res->sizes[res->emitted];

        if (out->pos == NULL || (size_t) (out->end - out->pos) < size) {
            if (out->grow == NULL) {
                return SPECTRA_RESULT_NOMEM;
            }

            out->hint = res->pending;

            switch (out->grow(out, size)) {
            case 0:
                break;

            case 1:
                /* no room now: the caller sends what it has, then again */
                res->cur = rows.p;
                return SPECTRA_RESULT_AGAIN;

            default:
                return SPECTRA_RESULT_NOMEM;
            }

            if (out->pos == NULL || (size_t) (out->end - out->pos) < size) {
                return SPECTRA_RESULT_NOMEM;
            }
        }

        row = out->pos;
        dst = row;

        if (res->emitted < res->enc_rows) {
            /* written ahead: size is its length and a comma */
            if (res->rows > 0) {
                *dst++ = ',';
            }

            memcpy(dst, res->enc + res->enc_pos, size - 1);
            dst += size - 1;

        } else {
            (void) spectra_result_row(res, res->ncolumns, &rows,
                                      res->emitted, &size, &dst, 0);
            (void) spectra_scan_next(&rows, ']', &more);
        }

        if (res->max_bytes
            && res->bytes + (uint64_t) (dst - row) > res->max_bytes)
        {
            /* the row stays unwritten: the answer ends before it */
            res->truncated = 1;
            res->by_bytes = 1;
            res->emit = res->emitted;
            res->page_more = 0;
            break;
        }

        if (res->emitted < res->enc_rows) {
            res->enc_pos += size - 1;
        }

        res->pending -= res->sizes[res->emitted];
        res->bytes += (uint64_t) (dst - row);
        written += (size_t) (dst - row);
        out->pos = dst;
        res->rows++;
        res->emitted++;
    }

    res->cur = rows.p;

    if (res->page_truncates) {
        res->truncated = 1;
    }

    if (res->truncated) {
        res->page_more = 0;
    }

    return SPECTRA_RESULT_OK;
}


int
spectra_result_page_held(const spectra_result_t *res)
{
    return res->enc_rows < res->emit;
}


void
spectra_result_free(spectra_result_t *res)
{
    free(res->enc);

    res->enc = NULL;
    res->enc_size = 0;
    res->enc_len = 0;
    res->enc_pos = 0;
    res->enc_rows = 0;
}


int
spectra_result_page(spectra_result_t *res, const u_char *p, size_t len,
    spectra_result_out_t *out, spectra_result_page_t *page,
    spectra_err_t *err)
{
    int  rc;

    rc = spectra_result_page_open(res, p, len, page, err);
    if (rc != SPECTRA_RESULT_OK) {
        return rc;
    }

    rc = spectra_result_page_write(res, out, 0);

    if (rc == SPECTRA_RESULT_AGAIN) {
        /* a sink that cannot wait: as if it had no memory */
        return SPECTRA_RESULT_NOMEM;
    }

    if (page != NULL) {
        page->more = res->page_more;
    }

    return rc;
}
