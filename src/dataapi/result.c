/*
 * Statement results: compact storage of PostgreSQL text values, column
 * metadata, and the GetStatementResult pages in the Data API's typed Field
 * union (docs/dataapi.md has the type table).
 */

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "dataapi.h"
#include "spectra_json.h"


#define DA_OID_BOOL         16
#define DA_OID_BYTEA        17
#define DA_OID_NAME         19
#define DA_OID_INT8         20
#define DA_OID_INT2         21
#define DA_OID_INT4         23
#define DA_OID_TEXT         25
#define DA_OID_OID          26
#define DA_OID_FLOAT4       700
#define DA_OID_FLOAT8       701
#define DA_OID_MONEY        790
#define DA_OID_BPCHAR       1042
#define DA_OID_VARCHAR      1043
#define DA_OID_DATE         1082
#define DA_OID_TIME         1083
#define DA_OID_TIMESTAMP    1114
#define DA_OID_TIMESTAMPTZ  1184
#define DA_OID_NUMERIC      1700

#define DA_NULL_LEN         UINT32_MAX


static int da_result_reserve(da_result_t *res, size_t more);
static int da_result_add_raw(da_result_t *res, PGresult *pg, int row);
static size_t da_field_len(const da_column_t *col, const u_char *p,
    uint32_t len, char *num, size_t *numlen);
static u_char *da_field_write(const da_column_t *col, const u_char *p,
    uint32_t len, const char *num, size_t numlen, u_char *out);
static size_t da_dtostr(char *buf, size_t size, double d);
static int da_json_number(const u_char *p, size_t len);
static u_char *da_blob_write(const u_char *p, uint32_t len, u_char *out);
static int da_type_cmp(const void *a, const void *b);
static char *da_strdup_or_null(const char *s);


void
da_result_free(da_result_t *res)
{
    int  i;

    if (res == NULL) {
        return;
    }

    for (i = 0; i < res->ncolumns; i++) {
        free(res->columns[i].name);
        free(res->columns[i].type_name);
        free(res->columns[i].schema);
        free(res->columns[i].table_name);
        free(res->columns[i].column_default);
    }

    free(res->columns);
    free(res->row_offsets);
    free(res->data);
    free(res);
}


static char *
da_strdup_or_null(const char *s)
{
    return s != NULL ? strdup(s) : NULL;
}


int
da_result_set_columns(da_result_t *res, PGresult *pg)
{
    int  i, n;

    if (res->columns != NULL) {
        return 0;
    }

    n = PQnfields(pg);
    res->columns = calloc((size_t) (n > 0 ? n : 1), sizeof(da_column_t));
    if (res->columns == NULL) {
        return -1;
    }

    res->ncolumns = n;

    for (i = 0; i < n; i++) {
        res->columns[i].name = strdup(PQfname(pg, i));
        if (res->columns[i].name == NULL) {
            return -1;
        }

        res->columns[i].type = PQftype(pg, i);
        res->columns[i].typmod = PQfmod(pg, i);
        res->columns[i].table = PQftable(pg, i);
        res->columns[i].column = PQftablecol(pg, i);
    }

    return 0;
}


/* What a result holds in memory: what the memory bound counts. */
size_t
da_result_bytes(const da_result_t *res)
{
    return sizeof(da_result_t) + res->cap + res->rows_cap * sizeof(size_t)
           + (size_t) res->ncolumns * (sizeof(da_column_t) + 64);
}


/*
 * Grows by doubling up to 1 MiB, then by a quarter: large buffers are
 * mmap()ed (main.c sets the threshold), so realloc() moves no bytes and
 * the slack the memory bound counts stays small. The budget hook may
 * refuse the growth: -2.
 */
static int
da_result_reserve(da_result_t *res, size_t more)
{
    size_t   cap, rows_cap, old, want;
    u_char  *p;
    size_t  *o;

    cap = res->cap;
    rows_cap = res->rows_cap;

    if (res->len + more > cap) {
        cap = cap ? cap : 256;
        while (cap < res->len + more) {
            cap += cap < (1 << 20) ? cap : cap / 4;
        }
    }

    if (res->nrows + 2 > rows_cap) {
        rows_cap = rows_cap ? rows_cap : 8;
        while (rows_cap < res->nrows + 2) {
            rows_cap += rows_cap < (1 << 17) ? rows_cap : rows_cap / 4;
        }
    }

    if (cap == res->cap && rows_cap == res->rows_cap) {
        return 0;
    }

    if (res->budget != NULL) {
        old = da_result_bytes(res);
        want = old + (cap - res->cap)
               + (rows_cap - res->rows_cap) * sizeof(size_t);

        if (res->budget(res->budget_data, old, want) != 0) {
            return -2;
        }
    }

    if (cap != res->cap) {
        p = realloc(res->data, cap);
        if (p == NULL) {
            return -1;
        }

        res->data = p;
        res->cap = cap;
    }

    if (rows_cap != res->rows_cap) {
        o = realloc(res->row_offsets, rows_cap * sizeof(size_t));
        if (o == NULL) {
            return -1;
        }

        res->row_offsets = o;
        res->rows_cap = rows_cap;
    }

    return 0;
}


/* Gives back the growth slack once the result is complete. */
void
da_result_shrink(da_result_t *res)
{
    u_char  *p;
    size_t  *o;
    size_t   old;

    old = da_result_bytes(res);

    if (res->cap > res->len && res->len > 0) {
        p = realloc(res->data, res->len);
        if (p != NULL) {
            res->data = p;
            res->cap = res->len;
        }
    }

    if (res->rows_cap > res->nrows + 1 && res->row_offsets != NULL) {
        o = realloc(res->row_offsets, (res->nrows + 1) * sizeof(size_t));
        if (o != NULL) {
            res->row_offsets = o;
            res->rows_cap = res->nrows + 1;
        }
    }

    if (res->budget != NULL) {
        (void) res->budget(res->budget_data, old, da_result_bytes(res));
    }
}


/* Raw storage (internal catalog statements): length-prefixed text values. */
static int
da_result_add_raw(da_result_t *res, PGresult *pg, int row)
{
    int       i, n, rc;
    size_t    need;
    uint32_t  len;

    n = PQnfields(pg);
    need = 0;

    for (i = 0; i < n; i++) {
        need += sizeof(uint32_t) + (size_t) PQgetlength(pg, row, i);
    }

    rc = da_result_reserve(res, need);
    if (rc != 0) {
        return rc;
    }

    if (res->nrows == 0) {
        res->row_offsets[0] = 0;
    }

    for (i = 0; i < n; i++) {
        if (PQgetisnull(pg, row, i)) {
            len = DA_NULL_LEN;
            memcpy(res->data + res->len, &len, sizeof(len));
            res->len += sizeof(len);
            continue;
        }

        len = (uint32_t) PQgetlength(pg, row, i);
        memcpy(res->data + res->len, &len, sizeof(len));
        res->len += sizeof(len);
        memcpy(res->data + res->len, PQgetvalue(pg, row, i), len);
        res->len += len;
        res->size += len;
    }

    res->nrows++;
    res->row_offsets[res->nrows] = res->len;

    return 0;
}


/*
 * Stores a row as the JSON text of its Records entry, preceded by a
 * comma: ",[{"longValue":1},{"stringValue":"a"},{"isNull":true}]". The
 * rows of a page are then one contiguous run of the buffer. Returns 0, -1
 * (out of memory) or -2 (the budget refused more memory); after an error
 * the result is only good for da_result_free().
 */
int
da_result_add_row(da_result_t *res, PGresult *pg, int row)
{
    int            i, n, rc;
    size_t         need, numlen;
    uint32_t       len;
    const u_char  *p;
    u_char        *out;
    char           num[64];

    if (res->raw) {
        return da_result_add_raw(res, pg, row);
    }

    n = PQnfields(pg);

    /* "," "[" and the trailing NUL EVP_EncodeBlock() may write */
    rc = da_result_reserve(res, 3);
    if (rc != 0) {
        return rc;
    }

    if (res->nrows == 0) {
        res->row_offsets[0] = 0;
    }

    res->data[res->len++] = ',';
    res->data[res->len++] = '[';

    for (i = 0; i < n; i++) {
        if (PQgetisnull(pg, row, i)) {
            p = NULL;
            len = DA_NULL_LEN;

        } else {
            p = (const u_char *) PQgetvalue(pg, row, i);
            len = (uint32_t) PQgetlength(pg, row, i);
            res->size += len;
        }

        need = da_field_len(&res->columns[i], p, len, num, &numlen);

        /* the field, its "," or the closing "]", a NUL */
        rc = da_result_reserve(res, need + 2);
        if (rc != 0) {
            return rc;
        }

        out = da_field_write(&res->columns[i], p, len, num, numlen,
                             res->data + res->len);
        *out++ = (u_char) (i + 1 < n ? ',' : ']');
        res->len = (size_t) (out - res->data);
    }

    if (n == 0) {
        res->data[res->len++] = ']';
    }

    res->nrows++;
    res->row_offsets[res->nrows] = res->len;

    return 0;
}


/*
 * Exactly what jansson's json_dumps() prints for a real:
 * "%.17g", ".0" added to integral values, no "+" or leading zeros in the
 * exponent.
 */
static size_t
da_dtostr(char *buf, size_t size, double d)
{
    int     n;
    char   *e, *q;
    size_t  len;

    n = snprintf(buf, size, "%.17g", d);
    if (n < 0 || (size_t) n + 3 >= size) {
        return 0;
    }

    len = (size_t) n;

    if (strchr(buf, '.') == NULL && strchr(buf, 'e') == NULL) {
        buf[len++] = '.';
        buf[len++] = '0';
        buf[len] = '\0';
    }

    e = strchr(buf, 'e');

    if (e != NULL) {
        e++;
        q = e + 1;

        if (*e == '-') {
            e++;
        }

        while (*q == '0') {
            q++;
        }

        if (q != e) {
            memmove(e, q, len - (size_t) (q - buf) + 1);
            len -= (size_t) (q - e);
        }
    }

    return len;
}


#define da_lit(s)  (sizeof(s) - 1)

#define DA_F_NULL      "{\"isNull\":true}"
#define DA_F_TRUE      "{\"booleanValue\":true}"
#define DA_F_FALSE     "{\"booleanValue\":false}"
#define DA_F_LONG      "{\"longValue\":"
#define DA_F_DOUBLE    "{\"doubleValue\":"
#define DA_F_BLOB      "{\"blobValue\":\""
#define DA_F_STRING    "{\"stringValue\":\""


/*
 * The length of one value in the Field union, the way Redshift types it
 * (docs/dataapi.md has the table). A number's text goes to num (numlen
 * bytes); numlen is 0 for every other kind.
 */
/* Whether p is a JSON number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static int
da_json_number(const u_char *p, size_t len)
{
    size_t  i;

    i = 0;

    if (i < len && p[i] == '-') {
        i++;
    }

    if (i < len && p[i] == '0') {
        i++;

    } else if (i < len && p[i] >= '1' && p[i] <= '9') {
        while (i < len && p[i] >= '0' && p[i] <= '9') {
            i++;
        }

    } else {
        return 0;
    }

    if (i < len && p[i] == '.') {
        if (++i == len || p[i] < '0' || p[i] > '9') {
            return 0;
        }

        while (i < len && p[i] >= '0' && p[i] <= '9') {
            i++;
        }
    }

    if (i < len && (p[i] == 'e' || p[i] == 'E')) {
        i++;

        if (i < len && (p[i] == '+' || p[i] == '-')) {
            i++;
        }

        if (i == len || p[i] < '0' || p[i] > '9') {
            return 0;
        }

        while (i < len && p[i] >= '0' && p[i] <= '9') {
            i++;
        }
    }

    return i == len;
}


static size_t
da_field_len(const da_column_t *col, const u_char *p, uint32_t len,
    char *num, size_t *numlen)
{
    char    buf[64], *end;
    double  d;

    *numlen = 0;

    if (len == DA_NULL_LEN) {
        return da_lit(DA_F_NULL);
    }

    switch (col->type) {

    case DA_OID_BOOL:
        return len > 0 && p[0] == 't' ? da_lit(DA_F_TRUE)
                                      : da_lit(DA_F_FALSE);

    case DA_OID_INT2:
    case DA_OID_INT4:
    case DA_OID_INT8:
    case DA_OID_OID:
        /* PostgreSQL prints integers canonically: a JSON integer as is */
        if (len > 0 && len < sizeof(buf)) {
            memcpy(num, p, len);
            *numlen = len;
            return da_lit(DA_F_LONG) + *numlen + 1;
        }

        break;

    case DA_OID_FLOAT4:
    case DA_OID_FLOAT8:
        /*
         * PostgreSQL prints a float as the shortest text that reads back
         * as the same value (extra_float_digits 1, the default), which is
         * a JSON number: it goes out as is.  NaN and Infinity have no JSON
         * number and stay text.
         */
        if (len > 0 && len < sizeof(buf) && da_json_number(p, len)) {
            memcpy(num, p, len);
            *numlen = len;
            return da_lit(DA_F_DOUBLE) + *numlen + 1;
        }

        if (len < sizeof(buf)) {
            memcpy(buf, p, len);
            buf[len] = '\0';
            d = strtod(buf, &end);

            if (*end == '\0' && isfinite(d)) {
                *numlen = da_dtostr(num, 64, d);
                if (*numlen > 0) {
                    return da_lit(DA_F_DOUBLE) + *numlen + 1;
                }
            }
        }

        break;

    case DA_OID_BYTEA:
        /* bytea text output is "\x" + hex (bytea_output = hex) */
        if (len >= 2 && p[0] == '\\' && p[1] == 'x') {
            return da_lit(DA_F_BLOB) + 4 * (((len - 2) / 2 + 2) / 3) + 2;
        }

        break;

    default:
        break;
    }

    return da_lit(DA_F_STRING) + spectra_json_escape_len(p, len) + 2;
}


/* Writes what da_field_len() measured; returns the end. */
static u_char *
da_field_write(const da_column_t *col, const u_char *p, uint32_t len,
    const char *num, size_t numlen, u_char *out)
{
    if (len == DA_NULL_LEN) {
        memcpy(out, DA_F_NULL, da_lit(DA_F_NULL));
        return out + da_lit(DA_F_NULL);
    }

    if (numlen > 0) {
        if (col->type == DA_OID_FLOAT4 || col->type == DA_OID_FLOAT8) {
            memcpy(out, DA_F_DOUBLE, da_lit(DA_F_DOUBLE));
            out += da_lit(DA_F_DOUBLE);

        } else {
            memcpy(out, DA_F_LONG, da_lit(DA_F_LONG));
            out += da_lit(DA_F_LONG);
        }

        memcpy(out, num, numlen);
        out += numlen;
        *out++ = '}';
        return out;
    }

    if (col->type == DA_OID_BOOL) {
        if (len > 0 && p[0] == 't') {
            memcpy(out, DA_F_TRUE, da_lit(DA_F_TRUE));
            return out + da_lit(DA_F_TRUE);
        }

        memcpy(out, DA_F_FALSE, da_lit(DA_F_FALSE));
        return out + da_lit(DA_F_FALSE);
    }

    if (col->type == DA_OID_BYTEA && len >= 2 && p[0] == '\\' && p[1] == 'x')
    {
        memcpy(out, DA_F_BLOB, da_lit(DA_F_BLOB));
        out = da_blob_write(p, len, out + da_lit(DA_F_BLOB));
        *out++ = '"';
        *out++ = '}';
        return out;
    }

    memcpy(out, DA_F_STRING, da_lit(DA_F_STRING));
    out = spectra_json_escape(out + da_lit(DA_F_STRING), p, len);
    *out++ = '"';
    *out++ = '}';

    return out;
}


/*
 * "\x" + hex to base64, in chunks of a multiple of 3 bytes so that the
 * pieces join into one encoding. EVP_EncodeBlock() writes a NUL after
 * its output: the caller leaves room for it.
 */
static u_char *
da_blob_write(const u_char *p, uint32_t len, u_char *out)
{
    u_char  raw[768];
    size_t  n, i, k;
    int     hi, lo;

    n = (len - 2) / 2;
    p += 2;

    while (n > 0) {
        k = n < sizeof(raw) ? n : sizeof(raw);

        for (i = 0; i < k; i++) {
            hi = p[2 * i];
            lo = p[2 * i + 1];
            hi = hi <= '9' ? hi - '0' : (hi | 0x20) - 'a' + 10;
            lo = lo <= '9' ? lo - '0' : (lo | 0x20) - 'a' + 10;
            raw[i] = (u_char) (hi << 4 | lo);
        }

        out += EVP_EncodeBlock(out, raw, (int) k);
        p += 2 * k;
        n -= k;
    }

    return out;
}


json_t *
da_column_metadata(const da_column_t *col)
{
    int      precision, scale, length, is_signed, case_sensitive;
    json_t  *m;

    precision = 0;
    scale = 0;
    length = 0;
    is_signed = 0;
    case_sensitive = 0;

    switch (col->type) {

    case DA_OID_INT2:
        precision = 5;
        is_signed = 1;
        break;

    case DA_OID_INT4:
    case DA_OID_OID:
        precision = 10;
        is_signed = 1;
        break;

    case DA_OID_INT8:
        precision = 19;
        is_signed = 1;
        break;

    case DA_OID_FLOAT4:
        precision = 8;
        scale = 8;
        is_signed = 1;
        break;

    case DA_OID_FLOAT8:
        precision = 17;
        scale = 17;
        is_signed = 1;
        break;

    case DA_OID_NUMERIC:
        if (col->typmod >= 4) {
            precision = ((col->typmod - 4) >> 16) & 0xffff;
            scale = (col->typmod - 4) & 0xffff;
        }

        is_signed = 1;
        break;

    case DA_OID_MONEY:
        is_signed = 1;
        break;

    case DA_OID_BPCHAR:
    case DA_OID_VARCHAR:
        if (col->typmod >= 4) {
            precision = col->typmod - 4;
            length = col->typmod - 4;
        }

        case_sensitive = 1;
        break;

    case DA_OID_TEXT:
    case DA_OID_NAME:
        precision = 2147483647;
        case_sensitive = 1;
        break;

    case DA_OID_BOOL:
        precision = 1;
        break;

    case DA_OID_DATE:
        precision = 13;
        break;

    case DA_OID_TIMESTAMP:
        precision = 29;
        scale = 6;
        break;

    case DA_OID_TIMESTAMPTZ:
        precision = 35;
        scale = 6;
        break;

    default:
        break;
    }

    m = json_pack("{s:s, s:s, s:s, s:i, s:i, s:i, s:i, s:b, s:b, s:b,"
                  " s:s, s:s}",
                  "name", col->name,
                  "label", col->name,
                  "typeName", col->type_name != NULL ? col->type_name
                                                     : "unknown",
                  "nullable", col->table != 0 ? (col->not_null ? 0 : 1) : 1,
                  "precision", precision,
                  "scale", scale,
                  "length", length,
                  "isSigned", is_signed,
                  "isCurrency", col->type == DA_OID_MONEY,
                  "isCaseSensitive", case_sensitive,
                  "schemaName", col->schema != NULL ? col->schema : "",
                  "tableName", col->table_name != NULL ? col->table_name
                                                       : "");

    if (m != NULL && col->column_default != NULL) {
        json_object_set_new(m, "columnDefault",
                            json_string(col->column_default));
    }

    return m;
}


/*
 * The end (exclusive) of the page of records that starts at offset: at
 * most page_rows rows (0: no bound) and at most page_bytes of Records
 * JSON (0: no bound), always at least one row. nrows when it is the last.
 */
size_t
da_result_page_end(da_ctx_t *ctx, const da_result_t *res, size_t offset)
{
    size_t  r;

    for (r = offset + 1; r < res->nrows; r++) {
        if ((ctx->page_rows > 0 && r - offset >= (size_t) ctx->page_rows)
            || (ctx->page_bytes > 0
                && res->row_offsets[r + 1] - res->row_offsets[offset]
                   > ctx->page_bytes))
        {
            return r;
        }
    }

    return res->nrows;
}


/*
 * The GetStatementResult reply for rows [offset, end): the stored rows
 * stay where they are (page->rows), only the column metadata goes through
 * jansson. Members: ColumnMetadata, Records, TotalNumRows, NextToken (when
 * next_token is not NULL; base64, nothing to escape).  The columns come
 * first, as in the Data API's reference, so that a reader knows them when
 * the rows come and can check and write each row in one pass (the module
 * does).  Returns 0, or -1 out of memory.
 */
int
da_result_page(const da_result_t *res, size_t offset, size_t end,
    const char *next_token, da_page_t *page)
{
    json_t  *meta;
    char    *mtext, total[32];
    size_t   mlen, tlen, klen, n;
    u_char  *p;
    int      i;

    meta = json_array();
    if (meta == NULL) {
        return -1;
    }

    for (i = 0; i < res->ncolumns; i++) {
        if (json_array_append_new(meta, da_column_metadata(&res->columns[i]))
            != 0)
        {
            json_decref(meta);
            return -1;
        }
    }

    mtext = json_dumps(meta, JSON_COMPACT);
    json_decref(meta);

    if (mtext == NULL) {
        return -1;
    }

    page->rows = NULL;
    page->rows_len = 0;

    if (end > offset) {
        /* skip the comma in front of the first row */
        page->rows = res->data + res->row_offsets[offset] + 1;
        page->rows_len = res->row_offsets[end] - res->row_offsets[offset] - 1;
    }

    mlen = strlen(mtext);
    tlen = (size_t) snprintf(total, sizeof(total), "%zu", res->nrows);
    klen = next_token != NULL ? strlen(next_token) : 0;

#define DA_P_META     "{\"ColumnMetadata\":"
#define DA_P_RECORDS  ",\"Records\":["
#define DA_P_TOTAL    "],\"TotalNumRows\":"
#define DA_P_TOKEN    ",\"NextToken\":\""

    n = da_lit(DA_P_META) + mlen + da_lit(DA_P_RECORDS) + da_lit(DA_P_TOTAL)
        + tlen + 1;

    if (next_token != NULL) {
        n += da_lit(DA_P_TOKEN) + klen + 1;
    }

    page->text = malloc(n);
    if (page->text == NULL) {
        free(mtext);
        return -1;
    }

    p = page->text;
    memcpy(p, DA_P_META, da_lit(DA_P_META));
    p += da_lit(DA_P_META);
    memcpy(p, mtext, mlen);
    p += mlen;
    memcpy(p, DA_P_RECORDS, da_lit(DA_P_RECORDS));
    p += da_lit(DA_P_RECORDS);
    page->head_len = (size_t) (p - page->text);

    memcpy(p, DA_P_TOTAL, da_lit(DA_P_TOTAL));
    p += da_lit(DA_P_TOTAL);
    memcpy(p, total, tlen);
    p += tlen;

    if (next_token != NULL) {
        memcpy(p, DA_P_TOKEN, da_lit(DA_P_TOKEN));
        p += da_lit(DA_P_TOKEN);
        memcpy(p, next_token, klen);
        p += klen;
        *p++ = '"';
    }

    *p++ = '}';

    free(mtext);
    page->tail_len = (size_t) (p - page->text) - page->head_len;

    return 0;
}


/* The text value of (row, col) of a raw result; NULL for SQL NULL. */
const u_char *
da_result_value(const da_result_t *res, size_t row, int col, uint32_t *len)
{
    const u_char  *p;
    int            i;

    p = res->data + res->row_offsets[row];

    for (i = 0; ; i++) {
        memcpy(len, p, sizeof(*len));
        p += sizeof(*len);

        if (i == col) {
            return *len == DA_NULL_LEN ? NULL : p;
        }

        if (*len != DA_NULL_LEN) {
            p += *len;
        }
    }
}


static int
da_type_cmp(const void *a, const void *b)
{
    const da_type_t  *ta = a, *tb = b;

    return (ta->oid > tb->oid) - (ta->oid < tb->oid);
}


int
da_types_load(da_ctx_t *ctx, PGconn *conn)
{
    PGresult  *res;
    int        i, n;

    res = PQexec(conn, "select oid, typname from pg_catalog.pg_type "
                       "order by oid");
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        da_log(ctx, "error: loading pg_type: %s", PQerrorMessage(conn));
        PQclear(res);
        return -1;
    }

    n = PQntuples(res);
    ctx->types = calloc((size_t) n + 1, sizeof(da_type_t));
    if (ctx->types == NULL) {
        PQclear(res);
        return -1;
    }

    for (i = 0; i < n; i++) {
        ctx->types[i].oid = (Oid) strtoul(PQgetvalue(res, i, 0), NULL, 10);
        ctx->types[i].name = strdup(PQgetvalue(res, i, 1));
        if (ctx->types[i].name == NULL) {
            PQclear(res);
            return -1;
        }

        ctx->ntypes++;
    }

    PQclear(res);

    return 0;
}


/* Types loaded at start; types created later are asked for (no cache). */
const char *
da_type_name(da_ctx_t *ctx, Oid oid)
{
    da_type_t   key, *t;

    key.oid = oid;
    t = bsearch(&key, ctx->types, ctx->ntypes, sizeof(da_type_t),
                da_type_cmp);

    return t != NULL ? t->name : NULL;
}


/*
 * Fills the columns' type names (a type created after start is asked for
 * on conn). Returns 1 when some column comes straight from a table (its
 * schema, table, default and not-null are then da_result_describe_sql()'s
 * to find), 0 when none does.
 */
int
da_result_types(da_ctx_t *ctx, PGconn *conn, da_result_t *res)
{
    PGresult    *pg;
    const char  *name;
    const char  *values[1];
    char         buf[32];
    int          i, any;

    any = 0;

    for (i = 0; i < res->ncolumns; i++) {
        name = da_type_name(ctx, res->columns[i].type);

        if (name == NULL) {
            snprintf(buf, sizeof(buf), "%u", res->columns[i].type);
            values[0] = buf;
            pg = PQexecParams(conn, "select typname from pg_catalog.pg_type"
                              " where oid = $1::oid", 1, NULL, values,
                              NULL, NULL, 0);
            if (PQresultStatus(pg) == PGRES_TUPLES_OK && PQntuples(pg) == 1) {
                res->columns[i].type_name = strdup(PQgetvalue(pg, 0, 0));
            }

            PQclear(pg);

        } else {
            res->columns[i].type_name = strdup(name);
        }

        if (res->columns[i].table != 0 && res->columns[i].column > 0) {
            any = 1;
        }
    }

    return any;
}


/*
 * The catalog query for the columns that come straight from a table, as
 * one SQL text (malloc()ed): the relation and column numbers are numbers
 * the daemon prints, so that it can go in the same simple query as the
 * commit (worker.c) instead of a round trip of its own. NULL when out of
 * memory.
 */
char *
da_result_describe_sql(const da_result_t *res)
{
    static const char  head[] =
        "select a.attrelid, a.attnum, n.nspname, c.relname, a.attnotnull,"
        " pg_catalog.pg_get_expr(d.adbin, d.adrelid)"
        " from pg_catalog.pg_attribute a"
        " join pg_catalog.pg_class c on c.oid = a.attrelid"
        " join pg_catalog.pg_namespace n on n.oid = c.relnamespace"
        " left join pg_catalog.pg_attrdef d"
        "  on d.adrelid = a.attrelid and d.adnum = a.attnum"
        " where (a.attrelid, a.attnum) in (";
    char   *sql, *p;
    int     i, first;

    /* "(oid::pg_catalog.oid,n)," of at most 10 and 5 digits per column */
    sql = malloc(sizeof(head) + (size_t) res->ncolumns * 40 + 8);
    if (sql == NULL) {
        return NULL;
    }

    p = memcpy(sql, head, sizeof(head) - 1);
    p += sizeof(head) - 1;

    /* the columns still undescribed: the others came from the cache */
    for (i = 0, first = 1; i < res->ncolumns; i++) {
        if (res->columns[i].table != 0 && res->columns[i].column > 0
            && res->columns[i].schema == NULL)
        {
            p += sprintf(p, "%s(%u::pg_catalog.oid,%d)", first ? "" : ",",
                         res->columns[i].table, res->columns[i].column);
            first = 0;
        }
    }

    sprintf(p, ")");

    return sql;
}


/* The rows of da_result_describe_sql()'s query, onto the columns. */
void
da_result_describe_apply(da_result_t *res, PGresult *pg)
{
    int           i, j;
    Oid           oid;
    da_column_t  *c;

    for (j = 0; j < PQntuples(pg); j++) {
        oid = (Oid) strtoul(PQgetvalue(pg, j, 0), NULL, 10);

        for (i = 0; i < res->ncolumns; i++) {
            c = &res->columns[i];

            if (c->table != oid || c->column != atoi(PQgetvalue(pg, j, 1))
                || c->schema != NULL)
            {
                continue;
            }

            c->schema = strdup(PQgetvalue(pg, j, 2));
            c->table_name = strdup(PQgetvalue(pg, j, 3));
            c->not_null = PQgetvalue(pg, j, 4)[0] == 't';
            c->column_default = PQgetisnull(pg, j, 5)
                                ? NULL
                                : da_strdup_or_null(PQgetvalue(pg, j, 5));
        }
    }
}


/*
 * Type names, and schema/table/default/not-null for columns that come
 * straight from a table, with one catalog query on conn (inside the
 * statement's transaction, as the statement's role).
 */
int
da_result_describe(da_ctx_t *ctx, PGconn *conn, da_result_t *res)
{
    PGresult  *pg;
    char      *sql;

    if (da_result_types(ctx, conn, res) == 0) {
        return 0;
    }

    sql = da_result_describe_sql(res);
    if (sql == NULL) {
        return -1;
    }

    pg = PQexec(conn, sql);
    free(sql);

    if (PQresultStatus(pg) != PGRES_TUPLES_OK) {
        PQclear(pg);
        return -1;
    }

    da_result_describe_apply(res, pg);
    PQclear(pg);

    return 0;
}
