/*
 * The Records of a page: every Field read and checked (the Data API's
 * shapes and nothing else), every row sized, then written as an object
 * or an array.
 */

#include "spectra_result_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>


/* what a Field holds */
typedef enum {
    SPECTRA_FIELD_NULL = 0,
    SPECTRA_FIELD_BOOL,
    SPECTRA_FIELD_LONG,
    SPECTRA_FIELD_DOUBLE,
    SPECTRA_FIELD_STRING,
    SPECTRA_FIELD_BLOB
} spectra_field_e;


typedef struct {
    spectra_field_e           kind;
    int                       boolean;
    int64_t                   l;
    double                    d;
    const u_char             *raw;        /* string body as in the page */
    size_t                    len;        /* or number text, for numbers */
    int                       esc;        /* raw has escapes */
    int                       plain;      /* raw is printable ASCII only */
    spectra_num_t             num;        /* doubleValue's digits */
} spectra_field_t;


static int spectra_result_field_kind(const u_char *k, size_t len);
static int spectra_result_field_name(spectra_scan_t *s);
static int spectra_result_field(spectra_scan_t *s, spectra_field_t *f);
static int spectra_result_plain_decimal(const u_char *p, size_t len);
static int spectra_result_base64(const u_char *p, size_t len);


/* The Field kind a member name stands for, or -1. */

static int
spectra_result_field_kind(const u_char *k, size_t len)
{
    switch (len) {
    case 6:
        return memcmp(k, "isNull", 6) == 0 ? SPECTRA_FIELD_NULL : -1;

    case 9:
        if (k[0] == 'l') {
            return memcmp(k, "longValue", 9) == 0 ? SPECTRA_FIELD_LONG : -1;
        }

        return memcmp(k, "blobValue", 9) == 0 ? SPECTRA_FIELD_BLOB : -1;

    case 11:
        if (k[0] == 's') {
            return memcmp(k, "stringValue", 11) == 0 ? SPECTRA_FIELD_STRING
                                                      : -1;
        }

        return memcmp(k, "doubleValue", 11) == 0 ? SPECTRA_FIELD_DOUBLE : -1;

    case 12:
        return memcmp(k, "booleanValue", 12) == 0 ? SPECTRA_FIELD_BOOL : -1;

    default:
        return -1;
    }
}


/*
 * A Field member name written the usual way, "name": with no whitespace
 * or escapes: its kind, and s->p moves past the colon; else -1 and s->p
 * stays.
 */

static int
spectra_result_field_name(spectra_scan_t *s)
{
    const u_char  *p;

    p = s->p;

    if (s->end - p < 16 || p[0] != '"') {
        return -1;
    }

    /* constant lengths: the compiler compares in a few words */

    switch (p[1]) {
    case 'i':
        if (memcmp(p, "\"isNull\":", 9) == 0) {
            s->p += 9;
            return SPECTRA_FIELD_NULL;
        }

        return -1;

    case 'l':
        if (memcmp(p, "\"longValue\":", 12) == 0) {
            s->p += 12;
            return SPECTRA_FIELD_LONG;
        }

        return -1;

    case 'd':
        if (memcmp(p, "\"doubleValue\":", 14) == 0) {
            s->p += 14;
            return SPECTRA_FIELD_DOUBLE;
        }

        return -1;

    case 's':
        if (memcmp(p, "\"stringValue\":", 14) == 0) {
            s->p += 14;
            return SPECTRA_FIELD_STRING;
        }

        return -1;

    case 'b':
        if (memcmp(p, "\"booleanValue\":", 15) == 0) {
            s->p += 15;
            return SPECTRA_FIELD_BOOL;
        }

        if (memcmp(p, "\"blobValue\":", 12) == 0) {
            s->p += 12;
            return SPECTRA_FIELD_BLOB;
        }

        return -1;

    default:
        return -1;
    }
}


/*
 * A Data API Field: an object with exactly one member.  Doubles may come
 * as "NaN", "Infinity" or "-Infinity" strings (AWS JSON).  Returns -1 for
 * anything else; the page's syntax is known to be good by now.
 */

static int
spectra_result_field(spectra_scan_t *s, spectra_field_t *f)
{
    int            integer, more, kind;
    char           key[16], num[SPECTRA_RESULT_MAX_NUMBER];
    size_t         len;
    u_char        *e;
    const u_char  *tok;

    spectra_scan_ws(s);

    if (s->p == s->end || *s->p != '{') {
        return -1;
    }

    s->p++;

    /* the common case: "name": right after the brace */
    kind = spectra_result_field_name(s);

    if (kind < 0) {
        spectra_scan_ws(s);

        if (s->p == s->end || *s->p != '"'
            || spectra_scan_string(s, &tok, &len) != SPECTRA_RESULT_OK)
        {
            return -1;
        }

        if (!s->esc) {
            kind = spectra_result_field_kind(tok, len);

        } else if (len < sizeof(key)) {
            /* a decoded name is never longer than its raw form */
            e = spectra_result_unescape((u_char *) key, tok, len);
            kind = spectra_result_field_kind((u_char *) key,
                                             (size_t) (e - (u_char *) key));

        } else {
            kind = -1;
        }

        if (kind < 0 || spectra_scan_char(s, ':') != SPECTRA_RESULT_OK) {
            return -1;
        }
    }

    spectra_scan_ws(s);

    if (s->p == s->end) {
        return -1;
    }

    f->kind = (spectra_field_e) kind;

    switch (f->kind) {

    case SPECTRA_FIELD_NULL:
        if (*s->p != 't' || spectra_scan_literal(s, "true") != 0) {
            return -1;
        }

        break;

    case SPECTRA_FIELD_BOOL:
        f->boolean = (*s->p == 't');

        if ((*s->p != 't' && *s->p != 'f')
            || spectra_scan_literal(s, f->boolean ? "true" : "false") != 0)
        {
            return -1;
        }

        break;

    case SPECTRA_FIELD_LONG:
        if ((*s->p != '-' && (*s->p < '0' || *s->p > '9'))
            || spectra_scan_number(s, &f->raw, &f->len, &integer) != 0
            || !integer
            || spectra_result_int64_parse(f->raw, f->len, &f->l) != 0)
        {
            return -1;
        }

        break;

    case SPECTRA_FIELD_DOUBLE:
        if (*s->p == '"') {
            if (spectra_scan_string(s, &tok, &len) != 0) {
                return -1;
            }

            f->raw = NULL;

            if (len == 3 && memcmp(tok, "NaN", 3) == 0) {
                f->d = NAN;

            } else if (len == 8 && memcmp(tok, "Infinity", 8) == 0) {
                f->d = INFINITY;

            } else if (len == 9 && memcmp(tok, "-Infinity", 9) == 0) {
                f->d = -INFINITY;

            } else {
                return -1;
            }

            break;
        }

        if ((*s->p != '-' && (*s->p < '0' || *s->p > '9'))
            || spectra_scan_number(s, &f->raw, &f->len, &integer) != 0
            || f->len >= sizeof(num))
        {
            return -1;
        }

        spectra_result_num_read(f->raw, f->len, &f->num);

        /*
         * A finite literal too big for a double is not one: below 1e308
         * every value is finite, from 1e309 up none is.
         */
        if (f->num.n > 0 && f->num.x >= 308) {
            if (f->num.x > 308) {
                return -1;
            }

            memcpy(num, f->raw, f->len);
            num[f->len] = '\0';

            if (isinf(strtod(num, NULL))) {
                return -1;
            }
        }

        break;

    case SPECTRA_FIELD_STRING:
    case SPECTRA_FIELD_BLOB:
        if (*s->p != '"' || spectra_scan_string(s, &f->raw, &f->len) != 0) {
            return -1;
        }

        f->esc = s->esc;
        f->plain = s->plain;

        if (f->kind == SPECTRA_FIELD_BLOB
            && !spectra_result_base64(f->raw, f->len))
        {
            return -1;
        }

        break;
    }

    /* exactly one member */
    if (spectra_scan_next(s, '}', &more) != 0 || more) {
        return -1;
    }

    return 0;
}


/* -?(0|[1-9][0-9]*)(\.[0-9]+)? : a JSON number with no exponent */

static int
spectra_result_plain_decimal(const u_char *p, size_t len)
{
    size_t  i, start;

    i = 0;

    if (i < len && p[i] == '-') {
        i++;
    }

    if (i == len) {
        return 0;
    }

    if (p[i] == '0') {
        i++;

    } else if (p[i] >= '1' && p[i] <= '9') {
        while (i < len && p[i] >= '0' && p[i] <= '9') {
            i++;
        }

    } else {
        return 0;
    }

    if (i < len && p[i] == '.') {
        i++;
        start = i;

        while (i < len && p[i] >= '0' && p[i] <= '9') {
            i++;
        }

        if (i == start) {
            return 0;
        }
    }

    return i == len;
}


/*
 * Standard base64 (RFC 4648 §4) with padding, as AWS JSON sends blobs; p
 * is the raw string body, where "/" may come escaped as "\/".
 */

static int
spectra_result_base64(const u_char *p, size_t len)
{
    size_t         n, pad;
    u_char         c;
    const u_char  *end;

    end = p + len;
    n = 0;
    pad = 0;

    while (p < end) {
        c = *p++;

        if (c == '\\') {
            if (p == end || *p != '/') {
                return 0;
            }

            c = *p++;
        }

        n++;

        if (c == '=') {
            pad++;

            if (pad > 2) {
                return 0;
            }

            continue;
        }

        if (pad > 0) {
            return 0;
        }

        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
              || (c >= '0' && c <= '9') || c == '+' || c == '/'))
        {
            return 0;
        }
    }

    return n % 4 == 0;
}


/*
 * Room for need more bytes at *d in the memory of rows written ahead,
 * within this page's bound: the block grows by doubling and *d follows
 * it.  SPECTRA_RESULT_AGAIN past the bound, NOMEM when malloc() fails.
 */

static int
spectra_result_ahead_room(spectra_result_t *res, u_char **d, size_t need)
{
    size_t   off, size;
    u_char  *p;

    off = (*d != NULL) ? (size_t) (*d - res->enc) : 0;

    if (res->enc_size - off >= need) {
        return SPECTRA_RESULT_OK;
    }

    if (res->enc_max < off || res->enc_max - off < need) {
        return SPECTRA_RESULT_AGAIN;
    }

    size = res->enc_size ? res->enc_size : 65536;

    while (size - off < need) {
        size *= 2;
    }

    if (size > res->enc_max) {
        size = res->enc_max;
    }

    p = realloc(res->enc, size);
    if (p == NULL) {
        return SPECTRA_RESULT_NOMEM;
    }

    res->enc = p;
    res->enc_size = size;
    *d = p + off;

    return SPECTRA_RESULT_OK;
}


int
spectra_result_row(spectra_result_t *res, size_t ncols, spectra_scan_t *s,
    size_t rowno, size_t *size, u_char **dst, int ahead)
{
    int               more, rc;
    size_t            i, n, b, pos;
    u_char           *d;
    spectra_field_t   f;

    spectra_scan_ws(s);
    pos = (size_t) (s->p - s->start);

    if (s->p == s->end || *s->p != '[') {
        goto shape;
    }

    s->p++;
    spectra_scan_ws(s);

    d = (dst != NULL) ? *dst : NULL;
    n = 3;      /* the brackets and a comma */

    if (ahead) {
        /* the brackets; no comma: page_write() puts it before the row */
        rc = spectra_result_ahead_room(res, &d, 2);
        if (rc != SPECTRA_RESULT_OK) {
            return rc;
        }

    } else if (d != NULL && res->rows > 0) {
        *d++ = ',';
    }

    if (d != NULL) {
        *d++ = (res->format == SPECTRA_RESULT_OBJECTS) ? '{' : '[';
    }

    if (ncols == 0) {
        if (s->p == s->end || *s->p != ']') {
            goto shape;
        }

        s->p++;
    }

    for (i = 0; i < ncols; i++) {
        if (s->p < s->end && *s->p == ']') {
            goto shape;
        }

        pos = (size_t) (s->p - s->start);

        if (spectra_result_field(s, &f) != 0) {
            spectra_scan_ws(s);
            return spectra_err_set(s->err, SPECTRA_RESULT_ERROR, pos,
                                   "Records[%zu][%zu] is not a valid Field",
                                   rowno, i);
        }

        if (spectra_scan_next(s, ']', &more) != SPECTRA_RESULT_OK
            || more != (i + 1 < ncols))
        {
            goto shape;
        }

        if (d == NULL || ahead) {
            b = 1;      /* comma */

            switch (f.kind) {
            case SPECTRA_FIELD_NULL:
            case SPECTRA_FIELD_BOOL:
                b += 5;
                break;

            case SPECTRA_FIELD_LONG:
                b += SPECTRA_RESULT_INT64_MAX_LEN;
                break;

            case SPECTRA_FIELD_DOUBLE:
                b += SPECTRA_RESULT_DOUBLE_MAX_LEN;
                break;

            default:
                /* strings and base64 blobs */
                b += 2 + (f.plain ? f.len
                                  : spectra_result_str_len(f.raw, f.len,
                                                           f.esc));
            }

            if (d == NULL) {
                n += b;
                continue;
            }

            /* the field, its key and the closing bracket */
            rc = spectra_result_ahead_room(res, &d,
                                           b + res->columns[i].key.len + 1);
            if (rc != SPECTRA_RESULT_OK) {
                return rc;
            }
        }

        if (i > 0) {
            *d++ = ',';
        }

        if (res->format == SPECTRA_RESULT_OBJECTS) {
            memcpy(d, res->columns[i].key.data, res->columns[i].key.len);
            d += res->columns[i].key.len;
        }

        switch (f.kind) {
        case SPECTRA_FIELD_NULL:
            memcpy(d, "null", 4);
            d += 4;
            break;

        case SPECTRA_FIELD_BOOL:
            if (f.boolean) {
                memcpy(d, "true", 4);
                d += 4;

            } else {
                memcpy(d, "false", 5);
                d += 5;
            }

            break;

        case SPECTRA_FIELD_LONG:
            /* JSON's integer syntax is int64's shortest form, but "-0" */
            if (f.l == 0) {
                *d++ = '0';

            } else {
                memcpy(d, f.raw, f.len);
                d += f.len;
            }

            break;

        case SPECTRA_FIELD_DOUBLE:
            if (f.raw == NULL) {
                d = spectra_result_double(d, f.d);

            } else {
                d = spectra_result_double_text(d, f.raw, f.len, &f.num);
            }

            break;

        case SPECTRA_FIELD_STRING:
            if (res->columns[i].numeric
                && (res->flags & SPECTRA_RESULT_NUMERIC_AS_NUMBER)
                && spectra_result_plain_decimal(f.raw, f.len))
            {
                memcpy(d, f.raw, f.len);
                d += f.len;

            } else if (f.plain) {
                *d++ = '"';
                memcpy(d, f.raw, f.len);
                d += f.len;
                *d++ = '"';

            } else {
                d = spectra_result_str_write(d, f.raw, f.len, f.esc);
            }

            break;

        case SPECTRA_FIELD_BLOB:
            if (f.plain) {
                *d++ = '"';
                memcpy(d, f.raw, f.len);
                d += f.len;
                *d++ = '"';

            } else {
                d = spectra_result_str_write(d, f.raw, f.len, f.esc);
            }

            break;
        }
    }

    if (d == NULL) {
        *size += n;

    } else {
        *d++ = (res->format == SPECTRA_RESULT_OBJECTS) ? '}' : ']';
        *dst = d;
    }

    return SPECTRA_RESULT_OK;

shape:

    return spectra_err_set(s->err, SPECTRA_RESULT_ERROR, pos,
                           "Records[%zu] is not an array of %zu fields",
                           rowno, ncols);
}


/*
 * Keeps the size bound of row i of the page in res->sizes, grown by
 * doubling: the pool keeps the old arrays, so the waste stays below the
 * largest page's.
 */

int
spectra_result_size_put(spectra_result_t *res, size_t i, size_t size)
{
    size_t   n, *sizes;

    if (i >= res->nsizes) {
        n = res->nsizes ? res->nsizes * 2 : 256;

        while (n <= i) {
            n *= 2;
        }

        sizes = spectra_palloc(&res->pool, n * sizeof(size_t));
        if (sizes == NULL) {
            return SPECTRA_RESULT_NOMEM;
        }

        if (res->nsizes) {
            memcpy(sizes, res->sizes, res->nsizes * sizeof(size_t));
        }

        res->sizes = sizes;
        res->nsizes = n;
    }

    res->sizes[i] = size;

    return SPECTRA_RESULT_OK;
}


int
spectra_result_rows(spectra_scan_t *s, spectra_result_t *res, size_t ncols,
    uint64_t skip, uint64_t cap, int ahead, size_t *n, size_t *size)
{
    int             more, rc;
    size_t          before;
    u_char         *d;
    const u_char   *row;
    spectra_scan_t  rs;

    rs = *s;
    rs.err = NULL;
    *n = 0;
    *size = 0;

    res->enc_len = 0;
    res->enc_rows = 0;

    if (spectra_scan_char(&rs, '[') != SPECTRA_RESULT_OK) {
        return SPECTRA_RESULT_ERROR;
    }

    spectra_scan_ws(&rs);

    if (rs.p < rs.end && *rs.p == ']') {
        s->p = rs.p + 1;
        return SPECTRA_RESULT_OK;
    }

    for (more = 1; more; /* void */) {
        if ((uint64_t) *n >= skip && (uint64_t) *n < cap) {
            before = *size;

            if (ahead) {
                row = rs.p;

                /* NULL: the first row ahead makes the block */
                d = (res->enc != NULL) ? res->enc + res->enc_len : NULL;

                rc = spectra_result_row(res, ncols, &rs, *n, NULL, &d, 1);

                if (rc == SPECTRA_RESULT_OK) {
                    if (spectra_result_size_put(res, *n,
                                                (size_t) (d - res->enc)
                                                - res->enc_len)
                        != SPECTRA_RESULT_OK)
                    {
                        return SPECTRA_RESULT_ERROR;
                    }

                    res->enc_len = (size_t) (d - res->enc);
                    res->enc_rows = *n + 1;
                    goto next;
                }

                if (rc == SPECTRA_RESULT_ERROR) {
                    return SPECTRA_RESULT_ERROR;
                }

                /* past the bound: this row and the rest from the page */
                ahead = 0;
                rs.p = row;
                res->enc_cur = row;
            }

            if (spectra_result_row(res, ncols, &rs, *n, size, NULL, 0)
                != SPECTRA_RESULT_OK)
            {
                return SPECTRA_RESULT_ERROR;
            }

            if (spectra_result_size_put(res, *n, *size - before)
                != SPECTRA_RESULT_OK)
            {
                return SPECTRA_RESULT_ERROR;
            }

        } else if (spectra_scan_value(&rs, 1) != SPECTRA_RESULT_OK) {
            return SPECTRA_RESULT_ERROR;
        }

    next:

        if (spectra_scan_next(&rs, ']', &more) != SPECTRA_RESULT_OK) {
            return SPECTRA_RESULT_ERROR;
        }

        (*n)++;
    }

    s->p = rs.p;

    return SPECTRA_RESULT_OK;
}
