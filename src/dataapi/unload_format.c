/*
 * UNLOAD's row formats, as Redshift writes them:
 *
 *   text  values as PostgreSQL prints them, '|' (or DELIMITER) between
 *         them, NULL empty;
 *   CSV   RFC 4180: ',' (or DELIMITER); a value holding the delimiter, a
 *         '"', CR or LF goes between double quotes, '"' doubled; NULL
 *         empty; lines end with LF;
 *   JSON  one object per line, keys in column order; integers, floats
 *         and numeric as JSON numbers with PostgreSQL's exact digits
 *         (NaN and infinities as strings), booleans true/false, NULL
 *         null, every other type a string of its text form.
 *
 * HEADER writes the column names as a first line (text and CSV).
 */

#include <stdlib.h>
#include <string.h>

#include "unload.h"
#include "spectra_json.h"
#include "spectra_sql_parser.h"


#define DA_OID_BOOL      16
#define DA_OID_INT8      20
#define DA_OID_INT2      21
#define DA_OID_INT4      23
#define DA_OID_OID       26
#define DA_OID_FLOAT4    700
#define DA_OID_FLOAT8    701
#define DA_OID_BPCHAR    1042
#define DA_OID_VARCHAR   1043
#define DA_OID_NUMERIC   1700


static int da_unload_csv(da_ufile_t *f, const char *p, size_t len,
    u_char delim);
static int da_unload_json_string(da_ufile_t *f, const char *p, size_t len);
static u_char da_unload_delimiter(const spectra_sql_unload_t *u);


/* The SQL names of the common types (format_type()'s, as Redshift's). */
static const struct {
    Oid          oid;
    const char  *name;
} da_unload_types[] = {
    { DA_OID_BOOL, "boolean" },
    { 17, "bytea" },
    { DA_OID_INT8, "bigint" },
    { DA_OID_INT2, "smallint" },
    { DA_OID_INT4, "integer" },
    { 25, "text" },
    { DA_OID_OID, "oid" },
    { 114, "json" },
    { DA_OID_FLOAT4, "real" },
    { DA_OID_FLOAT8, "double precision" },
    { 790, "money" },
    { DA_OID_BPCHAR, "character" },
    { DA_OID_VARCHAR, "character varying" },
    { 1082, "date" },
    { 1083, "time without time zone" },
    { 1114, "timestamp without time zone" },
    { 1184, "timestamp with time zone" },
    { 1186, "interval" },
    { 1266, "time with time zone" },
    { DA_OID_NUMERIC, "numeric" },
    { 2950, "uuid" },
    { 3802, "jsonb" }
};


static u_char
da_unload_delimiter(const spectra_sql_unload_t *u)
{
    if (u->delimiter != 0) {
        return u->delimiter;
    }

    return u->format == SPECTRA_SQL_UNLOAD_CSV ? ',' : '|';
}


static int
da_unload_csv(da_ufile_t *f, const char *p, size_t len, u_char delim)
{
    u_char  *d;
    size_t   i, start;

    for (i = 0; i < len; i++) {
        if (p[i] == (char) delim || p[i] == '"' || p[i] == '\n'
            || p[i] == '\r')
        {
            break;
        }
    }

    if (i == len) {
        return da_ufile_write(f, p, len);
    }

    /* quoted: at most twice the value and the two quotes */
    d = da_ufile_reserve(f, 2 * len + 2);

    if (d != NULL) {
        *d++ = '"';

        for (i = 0; i < len; i++) {
            if (p[i] == '"') {
                *d++ = '"';
            }

            *d++ = (u_char) p[i];
        }

        *d++ = '"';
        da_ufile_commit(f, d);

        return 0;
    }

    if (da_ufile_failed(f) || da_ufile_write(f, "\"", 1) != 0) {
        return -1;
    }

    start = 0;

    for (i = 0; i < len; i++) {
        if (p[i] == '"') {
            if (da_ufile_write(f, p + start, i - start + 1) != 0
                || da_ufile_write(f, "\"", 1) != 0)
            {
                return -1;
            }

            start = i + 1;
        }
    }

    if (da_ufile_write(f, p + start, len - start) != 0) {
        return -1;
    }

    return da_ufile_write(f, "\"", 1);
}


static int
da_unload_json_string(da_ufile_t *f, const char *p, size_t len)
{
    u_char  *d, *buf;
    size_t   n;
    int      rc;

    n = spectra_json_escape_len((const u_char *) p, len) + 2;
    d = da_ufile_reserve(f, n);

    if (d != NULL) {
        *d++ = '"';
        d = spectra_json_escape(d, (const u_char *) p, len);
        *d++ = '"';
        da_ufile_commit(f, d);

        return 0;
    }

    if (da_ufile_failed(f)) {
        return -1;
    }

    /* a value larger than the buffer */
    buf = malloc(n);
    if (buf == NULL) {
        return -1;
    }

    buf[0] = '"';
    spectra_json_escape(buf + 1, (const u_char *) p, len);
    buf[n - 1] = '"';
    rc = da_ufile_write(f, buf, n);
    free(buf);

    return rc;
}


/*
 * Each column's "name": once for all rows. JSON objects need unique
 * names, as Redshift requires of a JSON UNLOAD.
 */
char **
da_unload_json_keys(PGresult *res, char *err, size_t errlen)
{
    char        **keys;
    const char   *name;
    size_t        len, n;
    int           i, j, nf;

    nf = PQnfields(res);
    keys = calloc((size_t) nf + 1, sizeof(char *));
    if (keys == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }

    for (i = 0; i < nf; i++) {
        name = PQfname(res, i);

        for (j = 0; j < i; j++) {
            if (strcmp(name, PQfname(res, j)) == 0) {
                snprintf(err, errlen, "FORMAT JSON needs unique column "
                         "names: \"%.64s\" is repeated", name);
                da_unload_json_keys_free(keys, nf);
                return NULL;
            }
        }

        len = strlen(name);
        n = spectra_json_escape_len((const u_char *) name, len);
        keys[i] = malloc(n + 4);

        if (keys[i] == NULL) {
            snprintf(err, errlen, "out of memory");
            da_unload_json_keys_free(keys, nf);
            return NULL;
        }

        keys[i][0] = '"';
        spectra_json_escape((u_char *) keys[i] + 1, (const u_char *) name,
                            len);
        memcpy(keys[i] + n + 1, "\":", 3);
    }

    return keys;
}


void
da_unload_json_keys_free(char **keys, int n)
{
    int  i;

    if (keys == NULL) {
        return;
    }

    for (i = 0; i < n; i++) {
        free(keys[i]);
    }

    free(keys);
}


int
da_unload_header(da_ufile_t *f, const spectra_sql_unload_t *u,
    PGresult *res)
{
    const char  *name;
    u_char       delim;
    int          i, rc;

    delim = da_unload_delimiter(u);

    for (i = 0; i < PQnfields(res); i++) {
        if (i > 0 && da_ufile_write(f, &delim, 1) != 0) {
            return -1;
        }

        name = PQfname(res, i);
        rc = u->format == SPECTRA_SQL_UNLOAD_CSV
             ? da_unload_csv(f, name, strlen(name), delim)
             : da_ufile_write(f, name, strlen(name));

        if (rc != 0) {
            return -1;
        }
    }

    return da_ufile_write(f, "\n", 1);
}


int
da_unload_row(da_ufile_t *f, const spectra_sql_unload_t *u, PGresult *res,
    int row, char **keys)
{
    const char  *p;
    size_t       len;
    u_char       delim;
    Oid          type;
    int          i, n, rc;

    n = PQnfields(res);

    if (u->format == SPECTRA_SQL_UNLOAD_JSON) {
        if (da_ufile_write(f, "{", 1) != 0) {
            return -1;
        }

        for (i = 0; i < n; i++) {
            if ((i > 0 && da_ufile_write(f, ",", 1) != 0)
                || da_ufile_write(f, keys[i], strlen(keys[i])) != 0)
            {
                return -1;
            }

            if (PQgetisnull(res, row, i)) {
                rc = da_ufile_write(f, "null", 4);

            } else {
                p = PQgetvalue(res, row, i);
                len = (size_t) PQgetlength(res, row, i);
                type = PQftype(res, i);

                if (type == DA_OID_BOOL) {
                    rc = p[0] == 't' ? da_ufile_write(f, "true", 4)
                                     : da_ufile_write(f, "false", 5);

                } else if ((type == DA_OID_INT2 || type == DA_OID_INT4
                            || type == DA_OID_INT8 || type == DA_OID_OID
                            || type == DA_OID_FLOAT4
                            || type == DA_OID_FLOAT8
                            || type == DA_OID_NUMERIC)
                           && len > 0 && p[len - 1] >= '0'
                           && p[len - 1] <= '9')
                {
                    /* NaN and the infinities end in a letter: strings */
                    rc = da_ufile_write(f, p, len);

                } else {
                    rc = da_unload_json_string(f, p, len);
                }
            }

            if (rc != 0) {
                return -1;
            }
        }

        return da_ufile_write(f, "}\n", 2);
    }

    delim = da_unload_delimiter(u);

    for (i = 0; i < n; i++) {
        if (i > 0 && da_ufile_write(f, &delim, 1) != 0) {
            return -1;
        }

        if (PQgetisnull(res, row, i)) {
            continue;
        }

        p = PQgetvalue(res, row, i);
        len = (size_t) PQgetlength(res, row, i);

        rc = u->format == SPECTRA_SQL_UNLOAD_CSV
             ? da_unload_csv(f, p, len, delim)
             : da_ufile_write(f, p, len);

        if (rc != 0) {
            return -1;
        }
    }

    return da_ufile_write(f, "\n", 1);
}


/*
 * MANIFEST VERBOSE's "schema": per column its name and type, the type's
 * SQL name in "base", with "length" for character types and "precision"
 * and "scale" for numeric when the column has them.
 */
json_t *
da_unload_schema(da_ctx_t *ctx, PGresult *res)
{
    json_t       *elements, *type;
    const char   *base;
    size_t        k;
    Oid           oid;
    int           i, mod;

    elements = json_array();
    if (elements == NULL) {
        return NULL;
    }

    for (i = 0; i < PQnfields(res); i++) {
        oid = PQftype(res, i);
        mod = PQfmod(res, i);
        base = NULL;

        for (k = 0; k < sizeof(da_unload_types) / sizeof(da_unload_types[0]);
             k++)
        {
            if (da_unload_types[k].oid == oid) {
                base = da_unload_types[k].name;
                break;
            }
        }

        if (base == NULL) {
            base = da_type_name(ctx, oid);
        }

        type = json_pack("{s:s}", "base", base != NULL ? base : "unknown");

        if (type != NULL && mod >= 4
            && (oid == DA_OID_BPCHAR || oid == DA_OID_VARCHAR))
        {
            json_object_set_new(type, "length", json_integer(mod - 4));

        } else if (type != NULL && mod >= 4 && oid == DA_OID_NUMERIC) {
            json_object_set_new(type, "precision",
                                json_integer(((mod - 4) >> 16) & 0xffff));
            /* PostgreSQL 15 allows a negative scale: 11 bits, signed */
            json_object_set_new(type, "scale",
                json_integer((((mod - 4) & 0x7ff) ^ 1024) - 1024));
        }

        if (type == NULL
            || json_array_append_new(elements,
                   json_pack("{s:s, s:o}", "name", PQfname(res, i),
                             "type", type)) != 0)
        {
            json_decref(elements);
            return NULL;
        }
    }

    return elements;
}


/*
 * CSV read with COPY: PostgreSQL formats the rows itself, with the
 * delimiter and NULL as "\N", in COPY (query) TO STDOUT; the rows then
 * need only NULL's and COPY's own quoting turned into the CSV above
 * (da_unload_copy_row()).  The query (one statement: PostgreSQL prepared
 * it) goes up to the end of its last token but a ';', by PostgreSQL's
 * own scanner, so that no trailing ';' or comment spoils the COPY.
 * Returns the statement (malloc()ed), NULL if out of memory.
 */
char *
da_unload_copy_sql(const char *query, u_char delim)
{
    size_t               len, i;
    char                *sql;
    spectra_err_t        e;
    spectra_sql_text_t   t;

    len = strlen(query);

    if (spectra_sql_text_init(&t, (const u_char *) query, len, &e)
        == SPECTRA_SQL_OK)
    {
        for (i = t.ntok; i > 0; i--) {
            if (t.tok[i - 1]->token != PG_QUERY__TOKEN__ASCII_59) {
                break;
            }
        }

        len = i > 0 ? (size_t) t.tok[i - 1]->end : 0;
        spectra_sql_text_free(&t);
    }

    sql = malloc(len + sizeof("COPY (\n) TO STDOUT (FORMAT csv, "
                              "DELIMITER 'c', NULL '\\N')"));
    if (sql == NULL) {
        return NULL;
    }

    /* the delimiter is never a quote or a backslash (validated) */
    sprintf(sql, "COPY (%.*s\n) TO STDOUT (FORMAT csv, DELIMITER '%c', "
            "NULL '\\N')", (int) len, query, delim);

    return sql;
}


/*
 * A row as COPY wrote it (ending in LF) into Redshift's CSV, in place:
 * a NULL (an unquoted \N) becomes empty, and the values COPY quotes that
 * the CSV above does not quote (a "\N" value, and a lone "\." on its
 * line) lose their quotes.  Rows without a backslash are left as they
 * are.  Returns the row's new length.
 */
size_t
da_unload_copy_row(u_char *row, size_t len, u_char delim)
{
    u_char  *src, *dst, *end, c;

    if (memchr(row, '\\', len) == NULL) {
        return len;
    }

    if (len == 5 && memcmp(row, "\"\\.\"\n", 5) == 0) {
        memcpy(row, "\\.\n", 3);
        return 3;
    }

    src = row;
    dst = row;
    end = row + len;

    while (src < end) {
        /* at the start of a value */

        if (end - src >= 4 && memcmp(src, "\"\\N\"", 4) == 0
            && (end - src == 4 || src[4] == delim || src[4] == '\n'))
        {
            *dst++ = '\\';
            *dst++ = 'N';
            src += 4;

        } else if (*src == '"') {
            *dst++ = *src++;

            while (src < end) {
                c = *src++;
                *dst++ = c;

                if (c == '"') {
                    if (src < end && *src == '"') {
                        *dst++ = *src++;
                        continue;
                    }

                    break;
                }
            }

        } else if (end - src >= 2 && src[0] == '\\' && src[1] == 'N'
                   && (end - src == 2 || src[2] == delim || src[2] == '\n'))
        {
            src += 2;
        }

        while (src < end && *src != delim && *src != '\n') {
            *dst++ = *src++;
        }

        if (src < end) {
            *dst++ = *src++;
        }
    }

    return (size_t) (dst - row);
}
