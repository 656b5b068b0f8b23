/*
 * A GetStatementResult page as a document: its members found in one pass
 * (ColumnMetadata, Records, NextToken, TotalNumRows; others skipped), its
 * paging, and the raw name, label and typeName of its columns.
 */

#include "spectra_result_internal.h"

#include <string.h>


int
spectra_result_doc(spectra_scan_t *s, spectra_doc_t *doc)
{
    int                more, integer;
    char               key[32];
    size_t             len, pos, ncols;
    uint64_t           cap, skip;
    unsigned           ahead;
    const u_char      *tok;
    spectra_scan_t     ms;
    spectra_result_t  *res;

    res = doc->res;
    skip = doc->skip;
    cap = doc->cap;
    ahead = doc->ahead;

    memset(doc, 0, sizeof(spectra_doc_t));
    doc->total = -1;

    spectra_scan_ws(s);

    if (s->p == s->end || *s->p != '{') {
        if (s->p < s->end && (*s->p == '[' || *s->p == '"' || *s->p == 't'
                              || *s->p == 'f' || *s->p == 'n'
                              || *s->p == '-'
                              || (*s->p >= '0' && *s->p <= '9')))
        {
            return spectra_err_set(s->err, SPECTRA_RESULT_ERROR,
                                   (size_t) (s->p - s->start),
                                   "result page is not a JSON object");
        }

        return spectra_scan_fail(s, "expected '{'");
    }

    s->p++;
    spectra_scan_ws(s);

    more = 1;

    if (s->p < s->end && *s->p == '}') {
        s->p++;
        more = 0;
    }

    while (more) {
        if (spectra_scan_key(s, key, sizeof(key)) != SPECTRA_RESULT_OK) {
            return SPECTRA_RESULT_ERROR;
        }

        spectra_scan_ws(s);
        pos = (size_t) (s->p - s->start);

        if (strcmp(key, "ColumnMetadata") == 0
            || strcmp(key, "Records") == 0)
        {
            if ((key[0] == 'C' && doc->meta != NULL)
                || (key[0] == 'R' && doc->records != NULL))
            {
                return spectra_err_set(s->err, SPECTRA_RESULT_ERROR, pos,
                                       "result page has two %s members", key);
            }

            if (key[0] == 'C') {
                doc->meta = s->p;
                doc->meta_array = (s->p < s->end && *s->p == '[');

                if (doc->meta_array) {
                    if (spectra_scan_array(s, &doc->nmeta)
                        != SPECTRA_RESULT_OK)
                    {
                        return SPECTRA_RESULT_ERROR;
                    }

                } else if (spectra_scan_value(s, 1) != SPECTRA_RESULT_OK) {
                    return SPECTRA_RESULT_ERROR;
                }

            } else {
                if (s->p == s->end || *s->p != '[') {
                    return spectra_err_set(s->err, SPECTRA_RESULT_ERROR, pos,
                                           "result page has no Records array");
                }

                doc->records = s->p;

                /*
                 * With the column count known, the rows to be written
                 * are checked and sized right here; when that fails the
                 * rows are scanned as plain JSON and the row pass says
                 * what is wrong, as if this had not been tried.
                 */

                ncols = (size_t) -1;

                if (ahead && res != NULL && !res->has_columns
                    && doc->meta != NULL && doc->meta_array)
                {
                    /*
                     * The rows are written as they are checked: their
                     * columns first.  When that fails, page_open() does
                     * it again after this pass and says why.
                     */
                    ms = *s;
                    ms.err = NULL;

                    (void) spectra_result_meta_columns(res, &ms, doc);
                }

                if (res != NULL && res->has_columns) {
                    ncols = res->ncolumns;

                } else if (res != NULL && doc->meta != NULL
                           && doc->meta_array)
                {
                    ncols = doc->nmeta;
                }

                if (ncols != (size_t) -1
                    && spectra_result_rows(s, res, ncols, skip, cap,
                                           ahead && res->has_columns
                                           && ncols == res->ncolumns,
                                           &doc->nrecords, &doc->size)
                       == SPECTRA_RESULT_OK)
                {
                    doc->checked = 1;

                } else {
                    if (res != NULL) {
                        res->enc_rows = 0;
                    }

                    s->p = doc->records;

                    if (spectra_scan_array(s, &doc->nrecords)
                        != SPECTRA_RESULT_OK)
                    {
                        return SPECTRA_RESULT_ERROR;
                    }
                }
            }

        } else if (strcmp(key, "NextToken") == 0) {
            if (s->p < s->end && *s->p == 'n') {
                if (spectra_scan_literal(s, "null") != SPECTRA_RESULT_OK) {
                    return SPECTRA_RESULT_ERROR;
                }

            } else if (s->p < s->end && *s->p == '"') {
                if (spectra_scan_string(s, &doc->token, &doc->token_len)
                    != SPECTRA_RESULT_OK)
                {
                    return SPECTRA_RESULT_ERROR;
                }

            } else {
                return spectra_err_set(s->err, SPECTRA_RESULT_ERROR, pos,
                                       "NextToken is not a string");
            }

        } else if (strcmp(key, "TotalNumRows") == 0) {
            if (s->p == s->end || (*s->p != '-'
                                   && (*s->p < '0' || *s->p > '9'))
                || spectra_scan_number(s, &tok, &len, &integer)
                   != SPECTRA_RESULT_OK
                || !integer
                || spectra_result_int64_parse(tok, len, &doc->total)
                   != SPECTRA_RESULT_OK
                || doc->total < 0)
            {
                return spectra_err_set(s->err, SPECTRA_RESULT_ERROR, pos,
                                       "TotalNumRows is not a non-negative "
                                       "integer");
            }

        } else if (spectra_scan_value(s, 1) != SPECTRA_RESULT_OK) {
            return SPECTRA_RESULT_ERROR;
        }

        if (spectra_scan_next(s, '}', &more) != SPECTRA_RESULT_OK) {
            return SPECTRA_RESULT_ERROR;
        }
    }

    spectra_scan_ws(s);

    if (s->p != s->end) {
        return spectra_scan_fail(s, "text after the object");
    }

    if (doc->records == NULL) {
        return spectra_err_set(s->err, SPECTRA_RESULT_ERROR, 0,
                               "result page has no Records array");
    }

    return SPECTRA_RESULT_OK;
}


int
spectra_result_paging(spectra_doc_t *doc, spectra_result_page_t *page,
    const spectra_pool_t *pool)
{
    u_char  *end;

    memset(page, 0, sizeof(spectra_result_page_t));

    page->total_rows = doc->total;
    page->records = doc->nrecords;

    /* an empty NextToken means "no more pages" */
    if (doc->token != NULL && doc->token_len > 0) {
        page->next_token.data = spectra_palloc(pool, doc->token_len + 1);
        if (page->next_token.data == NULL) {
            return SPECTRA_RESULT_NOMEM;
        }

        end = spectra_result_unescape(page->next_token.data, doc->token,
                                      doc->token_len);
        *end = '\0';
        page->next_token.len = (size_t) (end - page->next_token.data);
        page->more = 1;
    }

    return SPECTRA_RESULT_OK;
}


int
spectra_result_page_info(const u_char *p, size_t len,
    spectra_result_page_t *page, const spectra_pool_t *pool,
    spectra_err_t *err)
{
    spectra_doc_t   doc;
    spectra_scan_t  s;

    s.start = p;
    s.p = p;
    s.end = p + len;
    s.err = err;

    doc.res = NULL;
    doc.ahead = 0;
    doc.skip = 0;
    doc.cap = 0;

    if (spectra_result_doc(&s, &doc) != SPECTRA_RESULT_OK) {
        return SPECTRA_RESULT_ERROR;
    }

    return spectra_result_paging(&doc, page, pool);
}


int
spectra_result_read_columns(spectra_scan_t *s, size_t n,
    spectra_raw_column_t *cols)
{
    int                    more;
    char                   key[16];
    size_t                 i, pos, *len;
    const u_char         **raw;
    spectra_raw_column_t  *c;

    if (spectra_scan_char(s, '[') != SPECTRA_RESULT_OK) {
        return SPECTRA_RESULT_ERROR;
    }

    for (i = 0; i < n; i++) {
        c = &cols[i];
        memset(c, 0, sizeof(spectra_raw_column_t));

        spectra_scan_ws(s);
        pos = (size_t) (s->p - s->start);

        if (s->p == s->end || *s->p != '{') {
            return spectra_err_set(s->err, SPECTRA_RESULT_ERROR, pos,
                                   "ColumnMetadata[%zu] is not an object", i);
        }

        s->p++;
        spectra_scan_ws(s);

        more = 1;

        if (s->p < s->end && *s->p == '}') {
            s->p++;
            more = 0;
        }

        while (more) {
            if (spectra_scan_key(s, key, sizeof(key)) != SPECTRA_RESULT_OK) {
                return SPECTRA_RESULT_ERROR;
            }

            spectra_scan_ws(s);
            pos = (size_t) (s->p - s->start);

            if (strcmp(key, "name") == 0) {
                raw = &c->name;
                len = &c->name_len;

            } else if (strcmp(key, "label") == 0) {
                raw = &c->label;
                len = &c->label_len;

            } else if (strcmp(key, "typeName") == 0) {
                raw = &c->type;
                len = &c->type_len;

            } else {
                raw = NULL;
                len = NULL;
            }

            if (raw == NULL) {
                if (spectra_scan_value(s, 2) != SPECTRA_RESULT_OK) {
                    return SPECTRA_RESULT_ERROR;
                }

            } else if (s->p < s->end && *s->p == 'n') {
                /* null: as if absent */
                if (spectra_scan_literal(s, "null") != SPECTRA_RESULT_OK) {
                    return SPECTRA_RESULT_ERROR;
                }

            } else if (*raw != NULL || s->p == s->end || *s->p != '"') {
                return spectra_err_set(s->err, SPECTRA_RESULT_ERROR, pos,
                                       "ColumnMetadata[%zu].%s is not one "
                                       "string", i, key);

            } else if (spectra_scan_string(s, raw, len)
                       != SPECTRA_RESULT_OK)
            {
                return SPECTRA_RESULT_ERROR;
            }

            if (spectra_scan_next(s, '}', &more) != SPECTRA_RESULT_OK) {
                return SPECTRA_RESULT_ERROR;
            }
        }

        if (spectra_scan_next(s, ']', &more) != SPECTRA_RESULT_OK) {
            return SPECTRA_RESULT_ERROR;
        }
    }

    return SPECTRA_RESULT_OK;
}
