/*
 * COPY's records. CSV as RFC 4180 and PostgreSQL's CSV read it: fields
 * separated by the delimiter, records by LF or CRLF, a field in double
 * quotes may hold the delimiter, line breaks and "" for a quote; an
 * unquoted empty field is NULL, a quoted one the empty string. JSON
 * 'auto': one object per line, its keys matched to the table's columns
 * case-insensitively, missing keys NULL, unknown keys ignored; blank
 * lines are skipped, anything but an object is a rejected record.
 *
 * A record that cannot be loaded (an unterminated quote, a NUL byte, a
 * record over 4 MiB, a line that is not a JSON object) is returned with
 * bad_code set and read to its end, so that the load can go on after it;
 * only an error of the source itself ends the read.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "copy.h"


#define DA_CREC_EOF  -2


static int da_crec_fill(da_crec_t *r);
static void da_crec_bad(da_crec_t *r, const char *code, const char *fmt,
    ...) __attribute__((format(printf, 3, 4)));
static int da_crec_put(da_crec_t *r, const u_char *p, size_t len);
static int da_crec_field(da_crec_t *r, size_t start, int quoted);
static int da_crec_csv(da_crec_t *r);
static int da_crec_line(da_crec_t *r);
static int da_crec_json(da_crec_t *r);
static int da_crec_json_value(da_crec_t *r, json_t *v, size_t *off);


int
da_crec_init(da_crec_t *r, da_csrc_t *src, const spectra_sql_copy_t *c,
    char **columns, int ncolumns)
{
    memset(r, 0, sizeof(da_crec_t));
    r->src = src;
    r->copy = c;
    r->columns = columns;
    r->ncolumns = ncolumns;
    r->line = 1;
    r->buf = malloc(DA_COPY_IO_SIZE);
    r->data_cap = 4096;
    r->data = malloc(r->data_cap);
    r->fields_cap = ncolumns > 0 ? ncolumns : 1;
    r->off = malloc((size_t) r->fields_cap * sizeof(size_t));
    r->seen = calloc((size_t) r->fields_cap, 1);

    if (r->buf == NULL || r->data == NULL || r->off == NULL
        || r->seen == NULL)
    {
        snprintf(r->err, sizeof(r->err), "out of memory");
        return -1;
    }

    return 0;
}


void
da_crec_free(da_crec_t *r)
{
    free(r->buf);
    free(r->data);
    free(r->off);
    free(r->seen);
    free(r->text);
}


static int
da_crec_fill(da_crec_t *r)
{
    ssize_t  n;

    if (r->eof) {
        return 0;
    }

    n = da_csrc_read(r->src, r->buf, DA_COPY_IO_SIZE);

    if (n < 0) {
        snprintf(r->err, sizeof(r->err), "%s", r->src->err);
        return -1;
    }

    if (n == 0) {
        r->eof = 1;
        return 0;
    }

    r->pos = 0;
    r->len = (size_t) n;

    return 1;
}


/* the next byte, DA_CREC_EOF, or -1 (r->err) */
#define da_crec_getc(r, rc)                                                  \
    ((r)->pos < (r)->len ? (int) (r)->buf[(r)->pos++]                        \
     : ((rc) = da_crec_fill(r)) > 0 ? (int) (r)->buf[(r)->pos++]             \
     : (rc) == 0 ? DA_CREC_EOF : -1)

#define da_crec_raw(r, c)                                                    \
    do {                                                                     \
        if ((r)->raw_len < DA_COPY_RAW_MAX) {                                \
            (r)->raw[(r)->raw_len++] = (u_char) (c);                         \
        }                                                                    \
    } while (0)


/* The first reason a record is refused is the one it is listed with. */
static void
da_crec_bad(da_crec_t *r, const char *code, const char *fmt, ...)
{
    va_list  ap;

    if (r->bad_code != NULL) {
        return;
    }

    r->bad_code = code;
    va_start(ap, fmt);
    vsnprintf(r->bad, sizeof(r->bad), fmt, ap);
    va_end(ap);
}


/* Appends to data[] (a record over the limit is refused, not stored). */
static int
da_crec_put(da_crec_t *r, const u_char *p, size_t len)
{
    u_char  *data;
    size_t   cap;

    if (r->data_len + len + 1 > r->data_cap) {
        if (r->data_len + len + 1 > DA_COPY_RECORD_MAX) {
            da_crec_bad(r, "22P04", "the record is longer than 4 MiB");
            return -1;
        }

        cap = r->data_cap;
        while (cap < r->data_len + len + 1) {
            cap *= 2;
        }

        if (cap > DA_COPY_RECORD_MAX) {
            cap = DA_COPY_RECORD_MAX;
        }

        data = realloc(r->data, cap);
        if (data == NULL) {
            da_crec_bad(r, "53200", "out of memory");
            return -1;
        }

        r->data = data;
        r->data_cap = cap;
    }

    memcpy(r->data + r->data_len, p, len);
    r->data_len += len;

    return 0;
}


/* Ends the field that started at data[start]. */
static int
da_crec_field(da_crec_t *r, size_t start, int quoted)
{
    size_t  *off;
    int      cap;

    if (r->nfields == DA_COPY_FIELDS_MAX) {
        da_crec_bad(r, "22P04", "the record has more than %d fields",
                    DA_COPY_FIELDS_MAX);
        return -1;
    }

    if (r->nfields == r->fields_cap) {
        cap = r->fields_cap * 2;
        off = realloc(r->off, (size_t) cap * sizeof(size_t));

        if (off == NULL) {
            da_crec_bad(r, "53200", "out of memory");
            return -1;
        }

        r->off = off;
        r->fields_cap = cap;
    }

    if (!quoted && r->data_len == start) {
        r->off[r->nfields++] = DA_COPY_NULL;
        return 0;
    }

    if (memchr(r->data + start, '\0', r->data_len - start) != NULL) {
        da_crec_bad(r, "22021", "invalid byte sequence for encoding "
                    "\"UTF8\": 0x00");
    }

    r->off[r->nfields++] = start;

    return da_crec_put(r, (const u_char *) "", 1);
}


enum {
    DA_CSV_START = 0,       /* of a field */
    DA_CSV_PLAIN,
    DA_CSV_QUOTED,
    DA_CSV_QUOTE,           /* a quote inside a quoted field */
    DA_CSV_CR               /* a CR after the closing quote */
};


static int
da_crec_csv(da_crec_t *r)
{
    int      c, rc, state, quoted, any;
    size_t   start;
    u_char   ch, delim;

    delim = r->copy->delimiter ? r->copy->delimiter : ',';
    state = DA_CSV_START;
    quoted = 0;
    any = 0;
    start = 0;
    rc = 0;

    for ( ;; ) {
        c = da_crec_getc(r, rc);

        if (c == -1) {
            return -1;
        }

        if (c == DA_CREC_EOF) {
            if (!any) {
                return 0;
            }

            if (state == DA_CSV_QUOTED) {
                da_crec_bad(r, "22P04", "unterminated CSV quoted field");
            }

            if (state == DA_CSV_CR) {
                da_crec_bad(r, "22P04", "a carriage return after a "
                            "closing quote must end the line");
            }

            da_crec_field(r, start, quoted);
            return 1;
        }

        any = 1;
        ch = (u_char) c;

        if (ch == '\n') {
            r->line++;
        }

        switch (state) {

        case DA_CSV_START:
            quoted = 0;
            start = r->data_len;

            if (ch == '"') {
                quoted = 1;
                state = DA_CSV_QUOTED;
                da_crec_raw(r, ch);
                continue;
            }

            state = DA_CSV_PLAIN;

            /* fall through */

        case DA_CSV_PLAIN:
            if (ch == delim) {
                da_crec_raw(r, ch);
                da_crec_field(r, start, quoted);
                state = DA_CSV_START;
                continue;
            }

            if (ch == '\n') {
                /* CRLF: the CR is not data */
                if (r->data_len > start && r->data[r->data_len - 1] == '\r')
                {
                    r->data_len--;
                }

                if (r->raw_len > 0 && r->raw[r->raw_len - 1] == '\r') {
                    r->raw_len--;
                }

                da_crec_field(r, start, quoted);
                return 1;
            }

            da_crec_raw(r, ch);
            da_crec_put(r, &ch, 1);
            continue;

        case DA_CSV_QUOTED:
            da_crec_raw(r, ch);

            if (ch == '"') {
                state = DA_CSV_QUOTE;

            } else {
                da_crec_put(r, &ch, 1);
            }

            continue;

        case DA_CSV_QUOTE:
            if (ch == '"') {
                da_crec_raw(r, ch);
                da_crec_put(r, &ch, 1);
                state = DA_CSV_QUOTED;
                continue;
            }

            if (ch == '\r') {
                da_crec_raw(r, ch);
                state = DA_CSV_CR;
                continue;
            }

            break;

        case DA_CSV_CR:
            if (ch != '\n') {
                da_crec_bad(r, "22P04", "a carriage return after a "
                            "closing quote must end the line");
                da_crec_raw(r, ch);
                da_crec_put(r, &ch, 1);
                state = DA_CSV_PLAIN;
                continue;
            }

            if (r->raw_len > 0) {
                r->raw_len--;
            }

            da_crec_field(r, start, quoted);
            return 1;
        }

        /* after a closing quote */

        if (ch == delim) {
            da_crec_raw(r, ch);
            da_crec_field(r, start, quoted);
            state = DA_CSV_START;
            continue;
        }

        if (ch == '\n') {
            da_crec_field(r, start, quoted);
            return 1;
        }

        da_crec_bad(r, "22P04", "unexpected character after a closing "
                    "quote in a CSV field");
        da_crec_raw(r, ch);
        da_crec_put(r, &ch, 1);
        state = DA_CSV_PLAIN;
    }
}


/* JSON lines: one line into text[] (without its LF or CRLF). */
static int
da_crec_line(da_crec_t *r)
{
    u_char  *text, *nl;
    size_t   n, cap;
    int      rc, any;

    r->text_len = 0;
    any = 0;

    for ( ;; ) {
        if (r->pos == r->len) {
            rc = da_crec_fill(r);

            if (rc < 0) {
                return -1;
            }

            if (rc == 0) {
                break;
            }
        }

        any = 1;
        nl = memchr(r->buf + r->pos, '\n', r->len - r->pos);
        n = (nl != NULL ? (size_t) (nl - r->buf) : r->len) - r->pos;

        if (r->text_len + n + 1 > DA_COPY_RECORD_MAX) {
            da_crec_bad(r, "22P04", "the record is longer than 4 MiB");
            n = 0;                      /* skipped to its end */

        } else if (r->text_len + n + 1 > r->text_cap) {
            cap = r->text_cap ? r->text_cap : 4096;
            while (cap < r->text_len + n + 1) {
                cap *= 2;
            }

            text = realloc(r->text, cap);
            if (text == NULL) {
                snprintf(r->err, sizeof(r->err), "out of memory");
                return -1;
            }

            r->text = text;
            r->text_cap = cap;
        }

        if (n > 0) {
            memcpy(r->text + r->text_len, r->buf + r->pos, n);
            r->text_len += n;
        }

        if (nl != NULL) {
            r->pos = (size_t) (nl - r->buf) + 1;
            r->line++;
            break;
        }

        r->pos = r->len;
    }

    if (!any) {
        return 0;
    }

    if (r->text_len > 0 && r->text[r->text_len - 1] == '\r') {
        r->text_len--;
    }

    return 1;
}


/* A value as its text: strings as they are, numbers and nested JSON. */
static int
da_crec_json_value(da_crec_t *r, json_t *v, size_t *off)
{
    char    num[64], *dump;
    double  d;
    int     prec, rc;
    size_t  start;

    start = r->data_len;

    switch (json_typeof(v)) {

    case JSON_NULL:
        *off = DA_COPY_NULL;
        return 0;

    case JSON_STRING:
        rc = da_crec_put(r, (const u_char *) json_string_value(v),
                         json_string_length(v));
        break;

    case JSON_INTEGER:
        snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT,
                 json_integer_value(v));
        rc = da_crec_put(r, (const u_char *) num, strlen(num));
        break;

    case JSON_REAL:
        /* the shortest text that reads back as the same double */
        d = json_real_value(v);

        for (prec = 1; prec < 17; prec++) {
            snprintf(num, sizeof(num), "%.*g", prec, d);

            if (strtod(num, NULL) == d) {
                break;
            }
        }

        if (prec == 17) {
            snprintf(num, sizeof(num), "%.17g", d);
        }

        rc = da_crec_put(r, (const u_char *) num, strlen(num));
        break;

    case JSON_TRUE:
        rc = da_crec_put(r, (const u_char *) "true", 4);
        break;

    case JSON_FALSE:
        rc = da_crec_put(r, (const u_char *) "false", 5);
        break;

    default:
        dump = json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER);
        if (dump == NULL) {
            da_crec_bad(r, "53200", "out of memory");
            return -1;
        }

        rc = da_crec_put(r, (const u_char *) dump, strlen(dump));
        free(dump);
        break;
    }

    if (rc != 0) {
        return -1;
    }

    *off = start;

    return da_crec_put(r, (const u_char *) "", 1);
}


static int
da_crec_json(da_crec_t *r)
{
    json_t        *obj, *v;
    json_error_t   jerr;
    const char    *key;
    size_t         i;
    int            rc, col;

    for ( ;; ) {
        r->rec_line = r->line;

        rc = da_crec_line(r);
        if (rc <= 0) {
            return rc;
        }

        for (i = 0; i < r->text_len; i++) {
            if (r->text[i] != ' ' && r->text[i] != '\t') {
                break;
            }
        }

        if (i < r->text_len || r->bad_code != NULL) {
            break;
        }

        /* a blank line: nothing to load */
    }

    r->raw_len = r->text_len < DA_COPY_RAW_MAX ? r->text_len
                                               : DA_COPY_RAW_MAX;
    memcpy(r->raw, r->text, r->raw_len);

    r->nfields = r->ncolumns;
    for (col = 0; col < r->ncolumns; col++) {
        r->off[col] = DA_COPY_NULL;
        r->seen[col] = 0;
    }

    if (r->bad_code != NULL) {
        return 1;
    }

    obj = json_loadb((const char *) r->text, r->text_len,
                     JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &jerr);

    if (obj == NULL) {
        da_crec_bad(r, "22P02", "invalid JSON: %s at column %d", jerr.text,
                    jerr.column);
        return 1;
    }

    if (!json_is_object(obj)) {
        json_decref(obj);
        da_crec_bad(r, "22P02", "the line is not a JSON object");
        return 1;
    }

    json_object_foreach(obj, key, v) {
        for (col = 0; col < r->ncolumns; col++) {
            if (strcasecmp(key, r->columns[col]) == 0) {
                break;
            }
        }

        if (col == r->ncolumns) {
            continue;                   /* not a column: ignored */
        }

        if (r->seen[col]) {
            da_crec_bad(r, "22P02", "two keys name column \"%s\"",
                        r->columns[col]);
            break;
        }

        r->seen[col] = 1;

        if (da_crec_json_value(r, v, &r->off[col]) != 0) {
            break;
        }
    }

    json_decref(obj);

    return 1;
}


/* 1: a record (maybe bad), 0: the end, -1: the source failed (err). */
int
da_crec_next(da_crec_t *r)
{
    r->data_len = 0;
    r->nfields = 0;
    r->raw_len = 0;
    r->bad_code = NULL;
    r->bad[0] = '\0';

    if (r->copy->format == SPECTRA_SQL_COPY_JSON) {
        return da_crec_json(r);
    }

    r->rec_line = r->line;

    return da_crec_csv(r);
}
