/*
 * The result encoder: GetStatementResult pages (the input's fields) in,
 * the API's "data" array out.  Whatever it writes must be JSON, and it
 * never writes more rows than asked for.
 */

#include <jansson.h>

#include "fuzz.h"
#include "spectra_result.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_PAGES   4
#define FUZZ_CHUNKS  4096


typedef struct {
    fuzz_pool_t     *fp;
    u_char          *start[FUZZ_CHUNKS];
    size_t           used[FUZZ_CHUNKS];
    size_t           n;
} fuzz_sink_t;


static int
fuzz_grow(spectra_result_out_t *out, size_t need)
{
    fuzz_sink_t  *s = out->data;
    u_char       *p;

    if (s->n == FUZZ_CHUNKS) {
        return -1;
    }

    if (s->n > 0) {
        s->used[s->n - 1] = (size_t) (out->pos - s->start[s->n - 1]);
    }

    if (out->hint > need) {
        need = out->hint;
    }

    /* small blocks: the encoder must cope with running out anywhere */
    p = fuzz_alloc(s->fp, need);
    if (p == NULL) {
        return -1;
    }

    s->start[s->n++] = p;
    out->pos = p;
    out->end = p + need;

    return 0;
}


/* "[" + what was written + "]", in one buffer */
static u_char *
fuzz_collect(fuzz_sink_t *s, spectra_result_out_t *out, size_t *len)
{
    u_char  *buf, *p;
    size_t   i, total;

    if (s->n > 0) {
        s->used[s->n - 1] = (size_t) (out->pos - s->start[s->n - 1]);
    }

    total = 2;
    for (i = 0; i < s->n; i++) {
        total += s->used[i];
    }

    buf = fuzz_alloc(s->fp, total);
    if (buf == NULL) {
        return NULL;
    }

    p = buf;
    *p++ = '[';
    for (i = 0; i < s->n; i++) {
        memcpy(p, s->start[i], s->used[i]);
        p += s->used[i];
    }
    *p++ = ']';

    *len = total;

    return buf;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int                     rc;
    u_char                 *json;
    size_t                  i, len, slice, npages;
    json_t                 *doc;
    uint64_t                max_rows;
    fuzz_pool_t             fp;
    fuzz_sink_t             sink;
    fuzz_fields_t           ff;
    spectra_err_t           err;
    spectra_str_t           pages[FUZZ_PAGES];
    json_error_t            jerr;
    spectra_result_t        res;
    spectra_result_out_t    out;
    spectra_result_page_t   pg;

    if (size < 4) {
        return 0;
    }

    fuzz_pool_init(&fp);

    max_rows = 1 + data[1] % 32;
    slice = data[2] % 4 ? (size_t) data[2] * 4 : 0;

    spectra_result_init(&res, (data[0] & 1) ? SPECTRA_RESULT_ARRAYS
                                            : SPECTRA_RESULT_OBJECTS,
                        max_rows,
                        ((data[0] & 2) ? SPECTRA_RESULT_NUMERIC_AS_NUMBER : 0)
                        | ((data[0] & 8) ? SPECTRA_RESULT_ENCODE_AHEAD : 0),
                        &fp.pool);
    res.max_bytes = (data[0] & 4) ? (uint64_t) data[3] * 16 : 0;

    fuzz_fields_init(&ff, data + 4, size - 4);
    for (npages = 0; npages < FUZZ_PAGES; npages++) {
        if (ff.done || fuzz_field(&ff, &fp, &pages[npages]) != 0) {
            break;
        }
    }

    sink.fp = &fp;
    sink.n = 0;
    out.pos = NULL;
    out.end = NULL;
    out.hint = 0;
    out.grow = fuzz_grow;
    out.data = &sink;

    rc = SPECTRA_RESULT_OK;

    for (i = 0; i < npages; i++) {
        rc = spectra_result_page_open(&res, pages[i].data, pages[i].len, &pg,
                                      &err);
        if (rc != SPECTRA_RESULT_OK) {
            break;
        }

        do {
            rc = spectra_result_page_write(&res, &out, slice);
        } while (rc == SPECTRA_RESULT_AGAIN);

        if (rc != SPECTRA_RESULT_OK || !res.page_more) {
            break;
        }
    }

    if (res.rows > max_rows) {
        abort();
    }

    if (rc == SPECTRA_RESULT_OK) {
        json = fuzz_collect(&sink, &out, &len);
        if (json == NULL) {
            spectra_result_free(&res);
            fuzz_pool_free(&fp);
            return 0;
        }

        /* a numeric past int64 as a number is JSON all the same */
        doc = json_loadb((const char *) json, len,
                         JSON_ALLOW_NUL | JSON_DECODE_INT_AS_REAL, &jerr);
        if (doc == NULL || !json_is_array(doc)
            || json_array_size(doc) != res.rows)
        {
            /* the encoder wrote something that is not its rows in JSON */
            abort();
        }

        json_decref(doc);
    }

    spectra_result_free(&res);
    fuzz_pool_free(&fp);

    return 0;
}
