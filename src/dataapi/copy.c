/*
 * COPY from the local object directory (--export-dir): the statement form
 * the module builds for imports, parsed by spectra_sql_copy_parse(); the
 * object is read (copy_source.c), split into records (copy_format.c) and
 * inserted as the statement's db user inside the statement's transaction,
 * so row-level security decides what the tenant may write. PostgreSQL's
 * own COPY FROM refuses tables with row-level security, so the rows go in
 * as INSERTs of batches, each inside a savepoint: one text array
 * parameter a column, unnest()ed (each element read by the column type's
 * input function, as COPY reads a field), when every column is of a plain
 * base or enum type, multi-row VALUES with one parameter per value
 * otherwise:
 *
 *   - a record the file itself makes unloadable (the wrong number of
 *     fields, an unterminated quote, a line that is not a JSON object) and
 *     a value PostgreSQL refuses (SQLSTATE class 22: a bad number, date,
 *     encoding) is rejected: skipped and listed, up to MAXERROR; one more
 *     fails the load;
 *   - any other error (a row the policy's WITH CHECK refuses, 42501; a
 *     missing table or column privilege) fails the load, and its record is
 *     listed too;
 *
 * and a failed load leaves nothing: the statement's transaction rolls
 * back. A failed batch is halved until the failing rows are found, each
 * then inserted alone with one parameter per value: a value PostgreSQL
 * refuses while binding names its parameter in the error's context, which
 * gives its column.
 *
 * The rejected records are written, as Redshift's sys_load_error_detail
 * rows, through the administrative connection (another session, so they
 * outlive the rollback) with spectra_load.record_errors().
 */

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "copy.h"


#define DA_COPY_SQLSTATE     "58030"        /* io_error */
#define DA_COPY_BATCH_ROWS   10000          /* as arrays */
#define DA_COPY_BATCH_VALUES 262144         /* as arrays: rows x columns */
#define DA_COPY_VALUES_ROWS  1000           /* as VALUES ($1, ...), ... */
#define DA_COPY_BATCH_BYTES  (8 * 1024 * 1024)
#define DA_COPY_MAX_PARAMS   65535          /* the protocol's limit */
#define DA_COPY_ERRORS_FLUSH 500
#define DA_COPY_MSG_MAX      512


struct da_copy_s {
    spectra_sql_copy_t     c;
    char                  *text;        /* the statement: c points into it */
    char                  *source;      /* s3://bucket/key */
    char                  *dirs;        /* bucket/key up to the name */
    char                  *name;        /* the object's name */
    char                  *relation;    /* "schema"."table", lower case */
    char                  *table;       /* table, lower case */
};


typedef struct {
    char                  *p;
    size_t                 len;
    size_t                 cap;
} da_copy_buf_t;


/* Rows waiting to be inserted; offsets into arena[]. */
typedef struct {
    u_char                *arena;
    size_t                 len;
    size_t                 cap;
    size_t                *val;         /* rows x ncols, or DA_COPY_NULL */
    int64_t               *line;
    size_t                *raw;
    size_t                *raw_len;
    int                    rows;
    int                    max_rows;
} da_copy_batch_t;


typedef struct {
    da_ctx_t              *ctx;
    PGconn                *conn;
    da_stmt_t             *s;
    da_copy_t             *cp;
    char                 **cols;
    int                    ncols;
    int                    arrays_ok;   /* unnest() of typed arrays can */
    da_copy_batch_t        b;
    da_copy_buf_t          sql;         /* the INSERT being built */
    da_copy_buf_t          asql;        /* the INSERT of arrays */
    da_copy_buf_t         *arr;         /* its parameters, one a column */
    const char           **params;
    int64_t                loaded;
    unsigned               rejected;
    json_t                *errors;      /* not yet written */
    int64_t                nerrors;
    char                   start_time[96];
    int                    failed;      /* s->error is set */
} da_copy_run_t;


static int da_copy_columns(da_copy_run_t *r);
static int da_copy_stopped(da_copy_run_t *r);
static void da_copy_fail(da_copy_run_t *r, const char *sqlstate,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static size_t da_copy_utf8(char *dst, size_t size, const u_char *p,
    size_t len);
static int da_copy_error(da_copy_run_t *r, int64_t line, const char *column,
    const char *code, const char *message, const u_char *raw,
    size_t raw_len);
static int da_copy_errors_write(da_copy_run_t *r);
static int da_copy_reject(da_copy_run_t *r, int64_t line,
    const char *column, const char *code, const char *message,
    const u_char *raw, size_t raw_len, PGresult *res);
static int da_copy_add_to(da_copy_run_t *r, da_copy_buf_t *b,
    const char *p, size_t len);
static int da_copy_head(da_copy_run_t *r, da_copy_buf_t *b);
static int da_copy_cols(da_copy_run_t *r, da_copy_buf_t *b);
static int da_copy_sql(da_copy_run_t *r, int rows);
static int da_copy_arrays(da_copy_run_t *r, int first, int count);
static int da_copy_add(da_copy_run_t *r, da_crec_t *rec);
static PGresult *da_copy_insert(da_copy_run_t *r, int first, int count);
static int da_copy_exec(da_copy_run_t *r, const char *sql);
static int da_copy_param(PGresult *res);
static int da_copy_row_fault(PGresult *res);
static int da_copy_row_failed(da_copy_run_t *r, int row, PGresult *res);
static int da_copy_range(da_copy_run_t *r, int first, int count);
static int da_copy_flush(da_copy_run_t *r);


void
da_copy_free(da_copy_t *cp)
{
    if (cp == NULL) {
        return;
    }

    free(cp->text);
    free(cp->source);
    free(cp->dirs);
    free(cp->name);
    free(cp->relation);
    free(cp->table);
    free(cp);
}


/*
 * Returns 1 and *out when sql is a COPY (checked and mapped onto the
 * export directory), 0 when it is not one, -1 with err when it is a bad
 * one.
 */
int
da_copy_prepare(da_ctx_t *ctx, const char *sql, da_copy_t **out, char *err,
    size_t errlen)
{
    spectra_err_t   e;
    da_copy_t      *cp;
    const char     *p, *key, *slash;
    size_t          i, n;

    p = sql;
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') {
        p++;
    }

    if (strncasecmp(p, "copy", 4) != 0
        || !(p[4] == ' ' || p[4] == '\t' || p[4] == '\n' || p[4] == '\r'
             || p[4] == '"' || p[4] == '/' || p[4] == '-'))
    {
        return 0;
    }

    if (ctx->export_dir == NULL) {
        snprintf(err, errlen, "COPY needs spectra-dataapi's --export-dir");
        return -1;
    }

    cp = calloc(1, sizeof(da_copy_t));
    if (cp == NULL || (cp->text = strdup(p)) == NULL) {
        da_copy_free(cp);
        snprintf(err, errlen, "Out of memory");
        return -1;
    }

    if (spectra_sql_copy_parse((const u_char *) cp->text, strlen(cp->text),
                               &cp->c, &e) != SPECTRA_SQL_OK)
    {
        snprintf(err, errlen, "COPY: %s", e.message);
        da_copy_free(cp);
        return -1;
    }

    if (cp->c.schema.len > SPECTRA_SQL_NAME_MAX
        || cp->c.table.len > SPECTRA_SQL_NAME_MAX)
    {
        snprintf(err, errlen, "COPY: a table or schema name is longer than "
                 "%d bytes", SPECTRA_SQL_NAME_MAX);
        da_copy_free(cp);
        return -1;
    }

    /* Redshift folds names to lower case, quoted or not, by default */
    n = sizeof("\"\".\"\"") + cp->c.schema.len + cp->c.table.len;
    cp->relation = malloc(n);
    cp->table = strndup((const char *) cp->c.table.data, cp->c.table.len);
    cp->source = strndup((const char *) cp->c.source.data,
                         cp->c.source.len);

    if (cp->relation == NULL || cp->table == NULL || cp->source == NULL) {
        da_copy_free(cp);
        snprintf(err, errlen, "Out of memory");
        return -1;
    }

    for (i = 0; cp->table[i] != '\0'; i++) {
        cp->table[i] = (char) tolower((u_char) cp->table[i]);
    }

    if (cp->c.schema.len) {
        snprintf(cp->relation, n, "\"%.*s\".\"%s\"", (int) cp->c.schema.len,
                 (const char *) cp->c.schema.data, cp->table);

    } else {
        snprintf(cp->relation, n, "\"%s\"", cp->table);
    }

    for (i = 0; cp->relation[i] != '\0'; i++) {
        cp->relation[i] = (char) tolower((u_char) cp->relation[i]);
    }

    /* s3://bucket/dir/name: validated, so a bucket and a name are there */
    key = cp->source + 5;
    slash = strrchr(key, '/');
    cp->dirs = strndup(key, (size_t) (slash - key));
    cp->name = strdup(slash + 1);

    if (cp->dirs == NULL || cp->name == NULL) {
        da_copy_free(cp);
        snprintf(err, errlen, "Out of memory");
        return -1;
    }

    *out = cp;

    return 1;
}


static void
da_copy_fail(da_copy_run_t *r, const char *sqlstate, const char *fmt, ...)
{
    va_list  ap;
    char     msg[600], buf[700];

    if (r->failed) {
        return;                         /* the first cause is the one */
    }

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);

    snprintf(buf, sizeof(buf), "ERROR: %s (SQLSTATE %s)", msg, sqlstate);
    free(r->s->error);
    r->s->error = strdup(buf);
    snprintf(r->s->sqlstate, sizeof(r->s->sqlstate), "%s", sqlstate);
    r->failed = 1;
}


/*
 * CancelStatement and the deadline: the watchdog's cancel reaches
 * PostgreSQL only while a query runs, so the load looks between batches.
 */
static int
da_copy_stopped(da_copy_run_t *r)
{
    da_stmt_t  *top;
    int         stop;

    top = r->s->parent != NULL ? r->s->parent : r->s;

    pthread_mutex_lock(&r->ctx->lock);
    stop = top->cancel_requested || top->timed_out;
    pthread_mutex_unlock(&r->ctx->lock);

    if (stop) {
        da_copy_fail(r, "57014", "canceling statement due to user request");
    }

    return stop;
}


/*
 * The table's columns, in order (as the tenant: its search path), and
 * the INSERT of a batch as one array a column:
 *
 *   insert into "s"."t" ("c1", ...)
 *   select pg_catalog.unnest($1::type1[]), pg_catalog.unnest($2::...
 *
 * when every column is of a plain base or enum type (the array's input
 * reads each element with the element type's input function, as COPY
 * reads a field; the INSERT applies the column's typmod). The set-returning
 * functions of a select list run in step, one row each a call, streamed
 * (ROWS FROM would keep each function's rows in a tuplestore first).
 */
static int
da_copy_columns(da_copy_run_t *r)
{
    PGresult       *res;
    const char     *values[1], *type;
    char            num[64];
    int             i;

    values[0] = r->cp->relation;

    res = PQexecParams(r->conn,
        "select a.attname, t.typtype in ('b', 'e') and t.typcategory <> 'A'"
        " and t.typarray <> 0,"
        " pg_catalog.format_type(t.typarray, null)"
        " from pg_catalog.pg_attribute a"
        " join pg_catalog.pg_type t on t.oid = a.atttypid"
        " where a.attrelid = $1::pg_catalog.regclass and a.attnum > 0"
        " and not a.attisdropped and a.attgenerated = ''"
        " order by a.attnum", 1, NULL, values, NULL, NULL, 0);

    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        da_set_error(r->s, res, PQerrorMessage(r->conn));
        PQclear(res);
        r->failed = 1;
        return -1;
    }

    r->ncols = PQntuples(res);

    if (r->ncols == 0) {
        PQclear(res);
        da_copy_fail(r, "42P10", "COPY: table %s has no columns",
                     r->cp->relation);
        return -1;
    }

    r->cols = calloc((size_t) r->ncols, sizeof(char *));
    r->arr = calloc((size_t) r->ncols, sizeof(da_copy_buf_t));
    r->arrays_ok = 1;

    for (i = 0; r->cols != NULL && r->arr != NULL && i < r->ncols; i++) {
        r->cols[i] = strdup(PQgetvalue(res, i, 0));
        r->arrays_ok &= PQgetvalue(res, i, 1)[0] == 't';

        if (r->cols[i] == NULL) {
            break;
        }
    }

    if (r->cols == NULL || r->arr == NULL || i < r->ncols) {
        PQclear(res);
        da_copy_fail(r, "53200", "out of memory");
        return -1;
    }

    if (r->arrays_ok
        && (da_copy_head(r, &r->asql) != 0
            || da_copy_add_to(r, &r->asql, " select ", 8) != 0))
    {
        PQclear(res);
        return -1;
    }

    for (i = 0; r->arrays_ok && i < r->ncols; i++) {
        /* format_type() quotes what needs it: "my type"[] */
        type = PQgetvalue(res, i, 2);
        snprintf(num, sizeof(num), "%spg_catalog.unnest($%d::",
                 i ? ", " : "", i + 1);

        if (da_copy_add_to(r, &r->asql, num, strlen(num)) != 0
            || da_copy_add_to(r, &r->asql, type, strlen(type)) != 0
            || da_copy_add_to(r, &r->asql, ")", 1) != 0)
        {
            PQclear(res);
            return -1;
        }
    }

    PQclear(res);

    return 0;
}


/*
 * Valid UTF-8 of at most size - 1 bytes for the load-error table: bytes
 * that are not (and NUL) become '?', a character is never cut in two.
 */
static size_t
da_copy_utf8(char *dst, size_t size, const u_char *p, size_t len)
{
    size_t  i, n, k, j;
    u_char  c, lo, hi;

    n = 0;

    for (i = 0; i < len; i += k) {
        c = p[i];
        k = 1;
        lo = 0x80;
        hi = 0xbf;

        if (c >= 0x01 && c < 0x80) {
            k = 1;

        } else if (c >= 0xc2 && c <= 0xdf) {
            k = 2;

        } else if (c >= 0xe0 && c <= 0xef) {
            k = 3;
            lo = c == 0xe0 ? 0xa0 : 0x80;
            hi = c == 0xed ? 0x9f : 0xbf;

        } else if (c >= 0xf0 && c <= 0xf4) {
            k = 4;
            lo = c == 0xf0 ? 0x90 : 0x80;
            hi = c == 0xf4 ? 0x8f : 0xbf;

        } else {
            k = 0;                      /* not a lead byte */
        }

        for (j = 1; k > 1 && j < k; j++) {
            if (i + j >= len
                || p[i + j] < (j == 1 ? lo : 0x80)
                || p[i + j] > (j == 1 ? hi : 0xbf))
            {
                k = 0;
            }
        }

        if (k == 0) {
            k = 1;

            if (n + 1 >= size) {
                break;
            }

            dst[n++] = '?';
            continue;
        }

        if (n + k >= size) {
            break;
        }

        memcpy(dst + n, p + i, k);
        n += k;
    }

    dst[n] = '\0';

    return n;
}


/* Adds a load error; written in groups. */
static int
da_copy_error(da_copy_run_t *r, int64_t line, const char *column,
    const char *code, const char *message, const u_char *raw,
    size_t raw_len)
{
    char     raw_text[DA_COPY_RAW_MAX + 1], msg[DA_COPY_MSG_MAX];
    json_t  *e;

    da_copy_utf8(raw_text, sizeof(raw_text), raw, raw_len);
    da_copy_utf8(msg, sizeof(msg), (const u_char *) message,
                 strlen(message));

    e = json_pack("{s:I, s:s, s:s, s:s, s:s}",
                  "line_number", (json_int_t) line,
                  "column_name", column != NULL ? column : "",
                  "error_code", code, "error_message", msg,
                  "raw_line", raw_text);

    if (e == NULL || json_array_append_new(r->errors, e) != 0) {
        da_copy_fail(r, "53200", "out of memory");
        return -1;
    }

    r->nerrors++;

    if (json_array_size(r->errors) >= DA_COPY_ERRORS_FLUSH) {
        return da_copy_errors_write(r);
    }

    return 0;
}


static int
da_copy_errors_write(da_copy_run_t *r)
{
    PGresult    *res;
    const char  *values[5];
    char        *text, err[256];

    if (json_array_size(r->errors) == 0) {
        return 0;
    }

    text = json_dumps(r->errors, JSON_COMPACT);
    json_array_clear(r->errors);

    if (text == NULL) {
        da_copy_fail(r, "53200", "out of memory");
        return -1;
    }

    /* a statement of a batch: the batch's db user */
    values[0] = r->s->parent != NULL ? r->s->parent->db_user
                                     : r->s->db_user;
    values[1] = r->s->id;
    values[2] = r->cp->source;
    values[3] = r->start_time;
    values[4] = text;

    res = da_admin_exec(r->ctx,
        "select spectra_load.record_errors($1, $2, $3, $4, $5)", 5, values,
        err, sizeof(err));
    free(text);

    if (res == NULL) {
        da_log(r->ctx, "error: statement %s: cannot record its load errors: "
               "%s", r->s->id, err);
        da_copy_fail(r, "XX000", "COPY: the load errors could not be "
                     "recorded");
        return -1;
    }

    PQclear(res);

    return 0;
}


/*
 * A record that cannot be loaded: listed; skipped if it is a data error
 * (class 22) and MAXERROR allows one more; otherwise it fails the load
 * (with PostgreSQL's error when res is one).
 */
static int
da_copy_reject(da_copy_run_t *r, int64_t line, const char *column,
    const char *code, const char *message, const u_char *raw,
    size_t raw_len, PGresult *res)
{
    if (strcmp(code, "57014") == 0) {
        /* cancelled or out of time: no fault of the record */
        if (res != NULL) {
            da_set_error(r->s, res, message);
            r->failed = 1;
        }

        da_copy_fail(r, "57014", "canceling statement due to user request");
        return -1;
    }

    if (da_copy_error(r, line, column, code, message, raw, raw_len) != 0) {
        return -1;
    }

    if (strncmp(code, "22", 2) != 0) {
        if (res != NULL) {
            da_set_error(r->s, res, message);
            r->failed = 1;

        } else {
            da_copy_fail(r, code, "%s", message);
        }

        return -1;
    }

    if (++r->rejected > r->cp->c.max_errors) {
        da_copy_fail(r, "XX000", "Load into table '%s' failed. Check "
                     "'sys_load_error_detail' system table for details.",
                     r->cp->table);
        return -1;
    }

    return 0;
}


static int
da_copy_add_to(da_copy_run_t *r, da_copy_buf_t *b, const char *p,
    size_t len)
{
    char    *np;
    size_t   cap;

    if (b->len + len + 1 > b->cap) {
        cap = b->cap ? b->cap : 4096;
        while (cap < b->len + len + 1) {
            cap *= 2;
        }

        np = realloc(b->p, cap);
        if (np == NULL) {
            da_copy_fail(r, "53200", "out of memory");
            return -1;
        }

        b->p = np;
        b->cap = cap;
    }

    memcpy(b->p + b->len, p, len);
    b->len += len;
    b->p[b->len] = '\0';

    return 0;
}


/* insert into "s"."t" ("c1", ...) */
static int
da_copy_head(da_copy_run_t *r, da_copy_buf_t *b)
{
    b->len = 0;

    if (da_copy_add_to(r, b, "insert into ", 12) != 0
        || da_copy_add_to(r, b, r->cp->relation, strlen(r->cp->relation))
           != 0
        || da_copy_add_to(r, b, " (", 2) != 0
        || da_copy_cols(r, b) != 0)
    {
        return -1;
    }

    return da_copy_add_to(r, b, ")", 1);
}


/* "c1", "c2", ... */
static int
da_copy_cols(da_copy_run_t *r, da_copy_buf_t *b)
{
    const char  *q;
    int          i;

    for (i = 0; i < r->ncols; i++) {
        if (da_copy_add_to(r, b, i ? ", \"" : "\"", i ? 3 : 1) != 0) {
            return -1;
        }

        for (q = r->cols[i]; *q != '\0'; q++) {
            if (da_copy_add_to(r, b, q, 1) != 0
                || (*q == '"' && da_copy_add_to(r, b, "\"", 1) != 0))
            {
                return -1;
            }
        }

        if (da_copy_add_to(r, b, "\"", 1) != 0) {
            return -1;
        }
    }

    return 0;
}


/* insert into "s"."t" ("c1", ...) values ($1, ...), ... for rows rows */
static int
da_copy_sql(da_copy_run_t *r, int rows)
{
    char  num[32];
    int   i, j, k;

    if (da_copy_head(r, &r->sql) != 0
        || da_copy_add_to(r, &r->sql, " values ", 8) != 0)
    {
        return -1;
    }

    k = 1;

    for (j = 0; j < rows; j++) {
        if (da_copy_add_to(r, &r->sql, j ? ", (" : "(", j ? 3 : 1) != 0) {
            return -1;
        }

        for (i = 0; i < r->ncols; i++) {
            snprintf(num, sizeof(num), "%s$%d", i ? ", " : "", k++);

            if (da_copy_add_to(r, &r->sql, num, strlen(num)) != 0) {
                return -1;
            }
        }

        if (da_copy_add_to(r, &r->sql, ")", 1) != 0) {
            return -1;
        }
    }

    return 0;
}


/*
 * The batch's rows [first, first + count) as one array literal a column:
 * {"v1","v2",NULL,...}, each value quoted (" and \ escaped), so that the
 * element type's input function reads it as it was in the file.
 */
static int
da_copy_arrays(da_copy_run_t *r, int first, int count)
{
    da_copy_batch_t  *b;
    da_copy_buf_t    *a;
    const u_char     *v;
    size_t           *val, len, need, cap, k;
    char             *np, *d;
    int               row, i;

    b = &r->b;

    for (i = 0; i < r->ncols; i++) {
        r->arr[i].len = 0;
    }

    for (row = first; row < first + count; row++) {
        val = b->val + (size_t) row * (size_t) r->ncols;

        for (i = 0; i < r->ncols; i++) {
            a = &r->arr[i];
            v = val[i] == DA_COPY_NULL ? NULL : b->arena + val[i];
            len = v != NULL ? strlen((const char *) v) : 0;

            /* a separator, the quoted value (each byte escaped at most),
             * the closing brace and the NUL */
            need = a->len + 2 * len + 8;

            if (need > a->cap) {
                cap = a->cap ? a->cap : 4096;
                while (cap < need) {
                    cap *= 2;
                }

                np = realloc(a->p, cap);
                if (np == NULL) {
                    da_copy_fail(r, "53200", "out of memory");
                    return -1;
                }

                a->p = np;
                a->cap = cap;
            }

            d = a->p + a->len;
            *d++ = row == first ? '{' : ',';

            if (v == NULL) {
                memcpy(d, "NULL", 4);
                d += 4;

            } else {
                *d++ = '"';

                for (k = 0; k < len; k++) {
                    if (v[k] == '"' || v[k] == '\\') {
                        *d++ = '\\';
                    }

                    *d++ = (char) v[k];
                }

                *d++ = '"';
            }

            a->len = (size_t) (d - a->p);
        }
    }

    for (i = 0; i < r->ncols; i++) {
        a = &r->arr[i];
        a->p[a->len++] = '}';
        a->p[a->len] = '\0';
        r->params[i] = a->p;
    }

    return 0;
}


/* Adds a good record to the batch (flushed when full). */
static int
da_copy_add(da_copy_run_t *r, da_crec_t *rec)
{
    da_copy_batch_t  *b;
    u_char           *arena;
    size_t            need, cap, len, *v;
    int               i;

    b = &r->b;
    need = rec->data_len + rec->raw_len;

    if (b->len + need > b->cap) {
        cap = b->cap ? b->cap : 65536;
        while (cap < b->len + need) {
            cap *= 2;
        }

        arena = realloc(b->arena, cap);
        if (arena == NULL) {
            da_copy_fail(r, "53200", "out of memory");
            return -1;
        }

        b->arena = arena;
        b->cap = cap;
    }

    v = b->val + (size_t) b->rows * (size_t) r->ncols;

    for (i = 0; i < r->ncols; i++) {
        v[i] = rec->off[i] == DA_COPY_NULL ? DA_COPY_NULL
                                           : b->len + rec->off[i];
    }

    memcpy(b->arena + b->len, rec->data, rec->data_len);
    b->len += rec->data_len;

    len = rec->raw_len;
    b->raw[b->rows] = b->len;
    b->raw_len[b->rows] = len;
    memcpy(b->arena + b->len, rec->raw, len);
    b->len += len;

    b->line[b->rows] = rec->rec_line;
    b->rows++;

    if (b->rows == b->max_rows || b->len >= DA_COPY_BATCH_BYTES) {
        return da_copy_flush(r);
    }

    return 0;
}


/*
 * Inserts count rows from first: a batch as one array parameter a column
 * when the columns allow it, one row (or any rows otherwise) with a
 * parameter per value.
 */
static PGresult *
da_copy_insert(da_copy_run_t *r, int first, int count)
{
    da_copy_batch_t  *b;
    size_t           *v;
    int               row, i, n;

    b = &r->b;

    if (count > 1 && r->arrays_ok) {
        if (da_copy_arrays(r, first, count) != 0) {
            return NULL;
        }

        return PQexecParams(r->conn, r->asql.p, r->ncols, NULL, r->params,
                            NULL, NULL, 0);
    }

    n = 0;

    for (row = first; row < first + count; row++) {
        v = b->val + (size_t) row * (size_t) r->ncols;

        for (i = 0; i < r->ncols; i++) {
            r->params[n * r->ncols + i] =
                v[i] == DA_COPY_NULL ? NULL
                                     : (const char *) b->arena + v[i];
        }

        n++;
    }

    if (da_copy_sql(r, n) != 0) {
        return NULL;
    }

    return PQexecParams(r->conn, r->sql.p, n * r->ncols, NULL, r->params,
                        NULL, NULL, 0);
}


static int
da_copy_exec(da_copy_run_t *r, const char *sql)
{
    PGresult  *res;

    res = PQexec(r->conn, sql);

    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        da_set_error(r->s, res, PQerrorMessage(r->conn));
        r->failed = 1;
        PQclear(res);
        return -1;
    }

    PQclear(res);

    return 0;
}


/*
 * The parameter a binding error names in its context ("unnamed portal
 * parameter $7 = '...'"), 1-based, or 0.
 */
static int
da_copy_param(PGresult *res)
{
    const char  *ctx, *p;
    long         n;

    ctx = PQresultErrorField(res, PG_DIAG_CONTEXT);
    if (ctx == NULL) {
        return 0;
    }

    p = strstr(ctx, "portal parameter $");
    if (p == NULL || (p != ctx && strncmp(ctx, "unnamed ", 8) != 0)) {
        return 0;
    }

    n = strtol(p + sizeof("portal parameter $") - 1, NULL, 10);

    return n > 0 && n <= DA_COPY_MAX_PARAMS ? (int) n : 0;
}


/*
 * Whether an error can be a row's fault (and a row-at-a-time retry can
 * find which): not a cancel, a timeout, a resource or connection error.
 */
static int
da_copy_row_fault(PGresult *res)
{
    const char  *state;

    state = PQresultErrorField(res, PG_DIAG_SQLSTATE);

    return state != NULL && strncmp(state, "57", 2) != 0
           && strncmp(state, "53", 2) != 0 && strncmp(state, "08", 2) != 0
           && strncmp(state, "XX", 2) != 0;
}


/* The batch's row failed (alone) with res. */
static int
da_copy_row_failed(da_copy_run_t *r, int row, PGresult *res)
{
    da_copy_batch_t  *b;
    const char       *state, *msg, *column;
    int               k;

    b = &r->b;
    state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
    k = da_copy_param(res);
    column = k > 0 ? r->cols[(k - 1) % r->ncols] : "";

    return da_copy_reject(r, b->line[row], column,
                          state != NULL ? state : "XX000",
                          msg != NULL ? msg : PQerrorMessage(r->conn),
                          b->arena + b->raw[row], b->raw_len[row], res);
}


/*
 * Inserts the batch's rows [first, first + count) in a savepoint; when
 * that fails for a row's fault, each half again, down to the rows that
 * fail alone (rejected, or failing the load). Rows go in file order.
 */
static int
da_copy_range(da_copy_run_t *r, int first, int count)
{
    PGresult  *res;
    int        rc, half;

    if (da_copy_stopped(r)
        || da_copy_exec(r, "savepoint spectra_copy") != 0)
    {
        return -1;
    }

    res = da_copy_insert(r, first, count);
    if (res == NULL) {
        return -1;
    }

    if (PQresultStatus(res) == PGRES_COMMAND_OK) {
        PQclear(res);
        r->loaded += count;

        return da_copy_exec(r, "release savepoint spectra_copy");
    }

    if (da_copy_exec(r, "rollback to savepoint spectra_copy;"
                        " release savepoint spectra_copy") != 0)
    {
        PQclear(res);
        return -1;
    }

    if (!da_copy_row_fault(res)) {
        /* cancelled, out of time or memory, the connection lost */
        da_set_error(r->s, res, PQerrorMessage(r->conn));
        r->failed = 1;
        PQclear(res);
        return -1;
    }

    if (count == 1) {
        rc = da_copy_row_failed(r, first, res);
        PQclear(res);
        return rc;
    }

    PQclear(res);
    half = count / 2;

    if (da_copy_range(r, first, half) != 0) {
        return -1;
    }

    return da_copy_range(r, first + half, count - half);
}


static int
da_copy_flush(da_copy_run_t *r)
{
    int  rc;

    rc = r->b.rows > 0 ? da_copy_range(r, 0, r->b.rows) : 0;

    r->b.rows = 0;
    r->b.len = 0;

    return rc;
}


/*
 * Loads the object into the table as the statement's db user. Returns 0
 * (s->result_rows: the rows loaded) or -1 (s->error set).
 */
int
da_copy_run(da_ctx_t *ctx, PGconn *conn, da_stmt_t *s)
{
    da_copy_run_t   r;
    da_csrc_t       src;
    da_crec_t       rec;
    struct tm       tm;
    struct timespec now;
    char            msg[256];
    int64_t         records;
    int             rc, i, first, src_open, rec_ready;

    memset(&r, 0, sizeof(r));
    memset(&src, 0, sizeof(src));
    src.fd = -1;
    r.ctx = ctx;
    r.conn = conn;
    r.s = s;
    r.cp = s->copy;
    src_open = 0;
    rec_ready = 0;
    records = 0;

    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    snprintf(r.start_time, sizeof(r.start_time),
             "%04d-%02d-%02d %02d:%02d:%02d.%06ld+00", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
             now.tv_nsec / 1000);

    r.errors = json_array();
    if (r.errors == NULL) {
        da_copy_fail(&r, "53200", "out of memory");
        goto done;
    }

    if (da_copy_columns(&r) != 0) {
        goto done;
    }

    if (r.arrays_ok) {
        r.b.max_rows = DA_COPY_BATCH_ROWS;
        if (r.b.max_rows * r.ncols > DA_COPY_BATCH_VALUES) {
            r.b.max_rows = DA_COPY_BATCH_VALUES / r.ncols;
        }

    } else {
        r.b.max_rows = DA_COPY_VALUES_ROWS;
        if (r.b.max_rows * r.ncols > DA_COPY_MAX_PARAMS) {
            r.b.max_rows = DA_COPY_MAX_PARAMS / r.ncols;
        }
    }

    if (r.b.max_rows < 1) {
        r.b.max_rows = 1;
    }

    r.b.val = malloc((size_t) r.b.max_rows * (size_t) r.ncols
                     * sizeof(size_t));
    r.b.line = malloc((size_t) r.b.max_rows * sizeof(int64_t));
    r.b.raw = malloc((size_t) r.b.max_rows * sizeof(size_t));
    r.b.raw_len = malloc((size_t) r.b.max_rows * sizeof(size_t));
    r.params = malloc((size_t) r.b.max_rows * (size_t) r.ncols
                      * sizeof(char *));

    if (r.b.val == NULL || r.b.line == NULL || r.b.raw == NULL
        || r.b.raw_len == NULL || r.params == NULL)
    {
        da_copy_fail(&r, "53200", "out of memory");
        goto done;
    }

    src_open = 1;

    if (da_csrc_open(&src, ctx->export_dir, r.cp->dirs, r.cp->name,
                     r.cp->c.compression) != 0)
    {
        da_copy_fail(&r, DA_COPY_SQLSTATE, "COPY from '%s': %s",
                     r.cp->source, src.err);
        goto done;
    }

    rec_ready = 1;

    if (da_crec_init(&rec, &src, &r.cp->c, r.cols, r.ncols) != 0) {
        da_copy_fail(&r, "53200", "out of memory");
        goto done;
    }

    first = 1;

    for ( ;; ) {
        rc = da_crec_next(&rec);

        if (rc < 0) {
            da_copy_fail(&r, DA_COPY_SQLSTATE, "COPY from '%s': %s",
                         r.cp->source, rec.err);
            break;
        }

        if (rc == 0) {
            da_copy_flush(&r);
            break;
        }

        if (first && r.cp->c.ignore_header) {
            first = 0;
            continue;
        }

        first = 0;

        if ((++records & 1023) == 0 && da_copy_stopped(&r)) {
            break;
        }

        if (rec.bad_code != NULL) {
            rc = da_copy_reject(&r, rec.rec_line, "", rec.bad_code, rec.bad,
                                rec.raw, rec.raw_len, NULL);

        } else if (rec.nfields < r.ncols) {
            snprintf(msg, sizeof(msg), "missing data for column \"%s\"",
                     r.cols[rec.nfields]);
            rc = da_copy_reject(&r, rec.rec_line, r.cols[rec.nfields],
                                "22P04", msg, rec.raw, rec.raw_len, NULL);

        } else if (rec.nfields > r.ncols) {
            rc = da_copy_reject(&r, rec.rec_line, "", "22P04",
                                "extra data after last expected column",
                                rec.raw, rec.raw_len, NULL);

        } else {
            rc = da_copy_add(&r, &rec);
        }

        if (rc != 0) {
            break;
        }
    }

done:

    /* what was rejected is listed whether the load stands or not */
    if (r.errors != NULL && json_array_size(r.errors) > 0) {
        da_copy_errors_write(&r);
    }

    if (rec_ready) {
        da_crec_free(&rec);
    }

    if (src_open) {
        da_csrc_close(&src);
    }

    for (i = 0; r.cols != NULL && i < r.ncols; i++) {
        free(r.cols[i]);
    }

    free(r.cols);

    for (i = 0; r.arr != NULL && i < r.ncols; i++) {
        free(r.arr[i].p);
    }

    free(r.arr);
    free(r.b.arena);
    free(r.b.val);
    free(r.b.line);
    free(r.b.raw);
    free(r.b.raw_len);
    free(r.params);
    free(r.sql.p);
    free(r.asql.p);
    json_decref(r.errors);

    if (r.failed) {
        return -1;
    }

    s->has_result_set = 0;
    s->result_rows = r.loaded;
    s->result_size = 0;

    return 0;
}
