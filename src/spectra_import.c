/*
 * Bulk imports (spectra_import.h): request bodies and job results with
 * jansson, the object key, the COPY (spectra_sql_copy()) and the load
 * errors of an import.
 */

#include "spectra_import.h"
#include "spectra_jobs.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


static int spectra_import_ident(const u_char *p, size_t len);
static int spectra_import_csv_opts(json_t *v, spectra_import_t *im,
    spectra_err_t *err);
static int spectra_import_str(json_t *o, const char *name,
    const spectra_pool_t *pool, spectra_str_t *out, int required);
static size_t spectra_import_csv_field_len(const u_char *p, size_t len);
static u_char *spectra_import_csv_field(u_char *dst, const u_char *p,
    size_t len);
static size_t spectra_import_num(u_char *dst, int64_t n);
static int spectra_import_dump(json_t *o, const spectra_pool_t *pool,
    spectra_str_t *out, int members);
static int spectra_import_field(json_t *f, const spectra_pool_t *pool,
    spectra_str_t *s, int64_t *n);
static json_t *spectra_import_error_json(const spectra_import_error_t *e,
    size_t reason_max);


static const char  *spectra_import_compressions[] = {
    "none", "gzip", "zstd"
};


const char *
spectra_import_format_name(spectra_sql_copy_format_e format)
{
    return (format == SPECTRA_SQL_COPY_JSON) ? "json" : "csv";
}


static int
spectra_import_ident(const u_char *p, size_t len)
{
    size_t  i;

    if (len == 0 || len > SPECTRA_IMPORT_IDENT_MAX
        || (p[0] >= '0' && p[0] <= '9'))
    {
        return 0;
    }

    for (i = 0; i < len; i++) {
        if (!((p[i] >= 'a' && p[i] <= 'z') || (p[i] >= 'A' && p[i] <= 'Z')
              || (p[i] >= '0' && p[i] <= '9') || p[i] == '_'))
        {
            return 0;
        }
    }

    return 1;
}


int
spectra_import_table_parse(const u_char *p, size_t len,
    const spectra_pool_t *pool, spectra_import_table_t *t,
    spectra_err_t *err)
{
    size_t        i;
    u_char       *q;
    const u_char *dot;

    dot = memchr(p, '.', len);

    t->schema.data = (u_char *) "";
    t->schema.len = 0;

    if (dot != NULL) {
        t->schema.len = dot - p;
        t->name.len = len - t->schema.len - 1;

    } else {
        t->name.len = len;
    }

    if ((dot != NULL && !spectra_import_ident(p, t->schema.len))
        || !spectra_import_ident(dot != NULL ? dot + 1 : p, t->name.len))
    {
        return spectra_err_set(err, SPECTRA_IMPORT_INVALID, SPECTRA_POS_NONE,
                               "table must be [schema.]name of letters, "
                               "digits and '_' (1 to %d each, not starting "
                               "with a digit)", SPECTRA_IMPORT_IDENT_MAX);
    }

    q = spectra_palloc(pool, len + 1);
    if (q == NULL) {
        return SPECTRA_IMPORT_NOMEM;
    }

    /* unquoted names fold to lower case, in PostgreSQL and Redshift */
    for (i = 0; i < len; i++) {
        q[i] = (p[i] >= 'A' && p[i] <= 'Z') ? (u_char) (p[i] + 32) : p[i];
    }

    q[len] = '\0';

    if (dot != NULL) {
        t->schema.data = q;
        t->name.data = q + t->schema.len + 1;

    } else {
        t->name.data = q;
    }

    return SPECTRA_IMPORT_OK;
}


size_t
spectra_import_table_len(const spectra_import_table_t *t)
{
    return (t->schema.len ? t->schema.len + 1 : 0) + t->name.len;
}


u_char *
spectra_import_table_name(u_char *dst, const spectra_import_table_t *t)
{
    if (t->schema.len) {
        memcpy(dst, t->schema.data, t->schema.len);
        dst += t->schema.len;
        *dst++ = '.';
    }

    memcpy(dst, t->name.data, t->name.len);

    return dst + t->name.len;
}


int
spectra_import_table_eq(const spectra_import_table_t *a,
    const spectra_import_table_t *b)
{
    return a->schema.len == b->schema.len && a->name.len == b->name.len
           && memcmp(a->schema.data, b->schema.data, a->schema.len) == 0
           && memcmp(a->name.data, b->name.data, a->name.len) == 0;
}


/* "csv": {"delimiter": "<one character>", "header": true|false} */

static int
spectra_import_csv_opts(json_t *v, spectra_import_t *im, spectra_err_t *err)
{
    u_char       d;
    json_t      *value;
    const char  *key;

    if (!json_is_object(v)) {
        return spectra_err_set(err, SPECTRA_IMPORT_INVALID, SPECTRA_POS_NONE,
                               "csv must be an object with \"delimiter\" "
                               "and \"header\"");
    }

    json_object_foreach(v, key, value) {

        if (strcmp(key, "delimiter") == 0) {
            d = json_is_string(value) && json_string_length(value) == 1
                ? (u_char) json_string_value(value)[0] : 0;

            if (d == 0
                || (d != '\t'
                    && (d < 0x20 || d > 0x7e || d == '\'' || d == '\\'
                        || d == '"')))
            {
                return spectra_err_set(err, SPECTRA_IMPORT_INVALID,
                                       SPECTRA_POS_NONE,
                                       "csv.delimiter must be one printable "
                                       "ASCII character other than "
                                       "' \\ \" (or a tab)");
            }

            im->delimiter = d;

        } else if (strcmp(key, "header") == 0) {
            if (!json_is_boolean(value)) {
                return spectra_err_set(err, SPECTRA_IMPORT_INVALID,
                                       SPECTRA_POS_NONE,
                                       "csv.header must be true or false");
            }

            im->header = json_is_true(value);

        } else {
            return spectra_err_set(err, SPECTRA_IMPORT_INVALID,
                                   SPECTRA_POS_NONE,
                                   "unknown field csv.%.64s", key);
        }
    }

    return SPECTRA_IMPORT_OK;
}


int
spectra_import_parse(const u_char *body, size_t len,
    uint64_t default_timeout_ms, const spectra_pool_t *pool,
    spectra_import_t *im, spectra_err_t *err)
{
    int            rc, csv;
    size_t         n;
    json_t        *root, *value;
    json_int_t     i;
    const char    *key, *s;
    json_error_t   jerr;

    memset(im, 0, sizeof(spectra_import_t));

    im->format = SPECTRA_SQL_COPY_CSV;
    im->compression = SPECTRA_SQL_UNLOAD_GZIP;
    im->timeout_ms = default_timeout_ms;

    root = json_loadb((const char *) body, len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL) {
        return spectra_err_set(err, SPECTRA_IMPORT_INVALID, jerr.position,
                               "the request body is not valid JSON: %s",
                               jerr.text);
    }

    rc = SPECTRA_IMPORT_OK;
    csv = 0;

    if (!json_is_object(root)) {
        rc = spectra_err_set(err, SPECTRA_IMPORT_INVALID, SPECTRA_POS_NONE,
                             "the request body must be a JSON object");
        goto done;
    }

    value = json_object_get(root, "table");
    if (!json_is_string(value)) {
        rc = spectra_err_set(err, SPECTRA_IMPORT_INVALID, SPECTRA_POS_NONE,
                             "table is required: a string, [schema.]name");
        goto done;
    }

    json_object_foreach(root, key, value) {

        if (strcmp(key, "table") == 0) {
            rc = spectra_import_table_parse(
                     (const u_char *) json_string_value(value),
                     json_string_length(value), pool, &im->table, err);

        } else if (strcmp(key, "format") == 0) {
            s = json_is_string(value) ? json_string_value(value) : "";

            if (strcmp(s, "csv") == 0) {
                im->format = SPECTRA_SQL_COPY_CSV;

            } else if (strcmp(s, "json") == 0) {
                im->format = SPECTRA_SQL_COPY_JSON;

            } else if (strcmp(s, "parquet") == 0) {
                rc = spectra_err_set(err, SPECTRA_IMPORT_UNSUPPORTED,
                                     SPECTRA_POS_NONE,
                                     "format \"parquet\" cannot be imported "
                                     "yet: use \"csv\" or \"json\"");

            } else {
                rc = spectra_err_set(err, SPECTRA_IMPORT_INVALID,
                                     SPECTRA_POS_NONE,
                                     "format must be \"csv\" or \"json\" "
                                     "(JSON lines)");
            }

        } else if (strcmp(key, "compression") == 0) {
            s = json_is_string(value) ? json_string_value(value) : "";

            for (n = 0; n < 3; n++) {
                if (strcmp(s, spectra_import_compressions[n]) == 0) {
                    break;
                }
            }

            if (n == 3) {
                rc = spectra_err_set(err, SPECTRA_IMPORT_INVALID,
                                     SPECTRA_POS_NONE,
                                     "compression must be \"gzip\", "
                                     "\"zstd\" or \"none\"");
            } else {
                im->compression = (spectra_sql_unload_compression_e) n;
            }

        } else if (strcmp(key, "csv") == 0) {
            csv = 1;
            rc = spectra_import_csv_opts(value, im, err);

        } else if (strcmp(key, "max_errors") == 0) {
            if (!json_is_integer(value)
                || (i = json_integer_value(value)) < 0
                || i > SPECTRA_IMPORT_MAX_ERRORS)
            {
                rc = spectra_err_set(err, SPECTRA_IMPORT_INVALID,
                                     SPECTRA_POS_NONE,
                                     "max_errors must be an integer from 0 "
                                     "to %d", SPECTRA_IMPORT_MAX_ERRORS);
            } else {
                im->max_errors = (uint64_t) i;
            }

        } else if (strcmp(key, "timeout_seconds") == 0) {
            if (!json_is_integer(value)
                || (i = json_integer_value(value)) < 1
                || (uint64_t) i * 1000 > default_timeout_ms)
            {
                rc = spectra_err_set(err, SPECTRA_IMPORT_INVALID,
                                     SPECTRA_POS_NONE,
                                     "timeout_seconds must be an integer "
                                     "from 1 to %llu",
                                     (unsigned long long)
                                     (default_timeout_ms / 1000));
            } else {
                im->timeout_ms = (uint64_t) i * 1000;
            }

        } else if (strcmp(key, "idempotency_key") == 0) {
            if (!json_is_string(value) || json_string_length(value) == 0
                || json_string_length(value) > SPECTRA_IMPORT_KEY_MAX)
            {
                rc = spectra_err_set(err, SPECTRA_IMPORT_INVALID,
                                     SPECTRA_POS_NONE,
                                     "idempotency_key must be a string of "
                                     "1 to %d bytes", SPECTRA_IMPORT_KEY_MAX);
            } else {
                rc = spectra_import_str(root, key, pool,
                                        &im->idempotency_key, 1);
            }

        } else {
            rc = spectra_err_set(err, SPECTRA_IMPORT_INVALID,
                                 SPECTRA_POS_NONE,
                                 "unknown field \"%.64s\"", key);
        }

        if (rc != SPECTRA_IMPORT_OK) {
            goto done;
        }
    }

    if (csv && im->format != SPECTRA_SQL_COPY_CSV) {
        rc = spectra_err_set(err, SPECTRA_IMPORT_INVALID, SPECTRA_POS_NONE,
                             "csv options are for format \"csv\" only");
    }

done:

    json_decref(root);

    return rc;
}


static int
spectra_import_str(json_t *o, const char *name, const spectra_pool_t *pool,
    spectra_str_t *out, int required)
{
    json_t  *v;

    v = json_object_get(o, name);

    if (!json_is_string(v)) {
        return required ? SPECTRA_IMPORT_INVALID : SPECTRA_IMPORT_OK;
    }

    out->len = json_string_length(v);
    out->data = spectra_pstrdup(pool, (const u_char *) json_string_value(v),
                                out->len);

    return (out->data != NULL) ? SPECTRA_IMPORT_OK : SPECTRA_IMPORT_NOMEM;
}


int
spectra_import_patch_parse(const u_char *body, size_t len,
    spectra_err_t *err)
{
    int            rc;
    json_t        *root, *state;
    const char    *s;
    json_error_t   jerr;

    root = json_loadb((const char *) body, len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL) {
        return spectra_err_set(err, SPECTRA_IMPORT_INVALID, jerr.position,
                               "the request body is not valid JSON: %s",
                               jerr.text);
    }

    state = json_object_get(root, "state");
    s = json_is_string(state) ? json_string_value(state) : NULL;

    if (!json_is_object(root) || json_object_size(root) != 1 || s == NULL) {
        rc = spectra_err_set(err, SPECTRA_IMPORT_INVALID, SPECTRA_POS_NONE,
                             "the body must be {\"state\": "
                             "\"UploadComplete\"} or {\"state\": "
                             "\"Aborted\"}");

    } else if (strcmp(s, "UploadComplete") == 0) {
        rc = SPECTRA_IMPORT_PATCH_UPLOADED;

    } else if (strcmp(s, "Aborted") == 0) {
        rc = SPECTRA_IMPORT_PATCH_ABORTED;

    } else {
        rc = spectra_err_set(err, SPECTRA_IMPORT_INVALID, SPECTRA_POS_NONE,
                             "state must be \"UploadComplete\" or "
                             "\"Aborted\"");
    }

    json_decref(root);

    return rc;
}


size_t
spectra_import_key_len(const spectra_str_t *prefix,
    const spectra_str_t *tenant, const spectra_str_t *job_id)
{
    return (prefix->len ? prefix->len + 1 : 0) + sizeof("tenant=") - 1
           + tenant->len + sizeof("/job=") - 1 + job_id->len
           + sizeof("/data.json.zst") - 1;
}


u_char *
spectra_import_key(u_char *dst, const spectra_str_t *prefix,
    const spectra_str_t *tenant, const spectra_str_t *job_id,
    spectra_sql_copy_format_e format,
    spectra_sql_unload_compression_e compression)
{
    int  n;

    n = sprintf((char *) dst, "%.*s%stenant=%.*s/job=%.*s/data.%s%s",
                (int) prefix->len, prefix->data, prefix->len ? "/" : "",
                (int) tenant->len, tenant->data,
                (int) job_id->len, job_id->data,
                spectra_import_format_name(format),
                compression == SPECTRA_SQL_UNLOAD_GZIP ? ".gz"
                : compression == SPECTRA_SQL_UNLOAD_ZSTD ? ".zst" : "");

    return dst + n;
}


int
spectra_import_copy(const spectra_import_result_t *res,
    const spectra_str_t *iam_role, const spectra_pool_t *pool,
    spectra_str_t *sql, spectra_err_t *err)
{
    size_t              len;
    u_char             *p;
    spectra_sql_copy_t  c;

    memset(&c, 0, sizeof(spectra_sql_copy_t));

    len = sizeof("s3://") - 1 + res->bucket.len + 1 + res->key.len;

    c.source.data = spectra_palloc(pool, len + 1);
    if (c.source.data == NULL) {
        return SPECTRA_IMPORT_NOMEM;
    }

    c.source.len = (size_t) sprintf((char *) c.source.data, "s3://%.*s/%.*s",
                                    (int) res->bucket.len, res->bucket.data,
                                    (int) res->key.len, res->key.data);

    c.schema = res->table.schema;
    c.table = res->table.name;
    c.iam_role = *iam_role;
    c.format = res->format;
    c.compression = res->compression;
    c.delimiter = res->delimiter;
    c.ignore_header = res->header ? 1 : 0;
    c.max_errors = (unsigned) res->max_errors;

    if (spectra_sql_copy_validate(&c, err) != 0) {
        return SPECTRA_IMPORT_INVALID;
    }

    len = spectra_sql_copy_len(&c);

    sql->data = spectra_palloc(pool, len + 1);
    if (sql->data == NULL) {
        return SPECTRA_IMPORT_NOMEM;
    }

    p = spectra_sql_copy(sql->data, &c);
    *p = '\0';
    sql->len = p - sql->data;

    return SPECTRA_IMPORT_OK;
}


int
spectra_import_errors_sql(const spectra_import_result_t *res,
    const spectra_pool_t *pool, spectra_str_t *sql)
{
    size_t   i, len;
    u_char  *p, c;

    static const char  head[] = "SELECT line_number, column_name, error_code, "
                                "error_message, raw_line FROM "
                                "sys_load_error_detail WHERE file_name = '";
    static const char  tail[] = "' ORDER BY line_number";

    len = sizeof(head) - 1 + 2 * (sizeof("s3://") + res->bucket.len
                                  + res->key.len)
          + sizeof(tail);

    sql->data = spectra_palloc(pool, len);
    if (sql->data == NULL) {
        return SPECTRA_IMPORT_NOMEM;
    }

    p = (u_char *) memcpy(sql->data, head, sizeof(head) - 1)
        + sizeof(head) - 1;
    p += sprintf((char *) p, "s3://");

    /* the bucket and key are the module's own; quoted all the same */
    for (i = 0; i < res->bucket.len + 1 + res->key.len; i++) {
        c = (i < res->bucket.len) ? res->bucket.data[i]
            : (i == res->bucket.len) ? '/'
            : res->key.data[i - res->bucket.len - 1];

        if (c == '\'') {
            *p++ = '\'';
        }

        *p++ = c;
    }

    memcpy(p, tail, sizeof(tail));
    sql->len = p + sizeof(tail) - 1 - sql->data;

    return SPECTRA_IMPORT_OK;
}


/* A Data API Field: {"stringValue"}, {"longValue"} or {"isNull": true}. */

static int
spectra_import_field(json_t *f, const spectra_pool_t *pool,
    spectra_str_t *s, int64_t *n)
{
    json_t  *v;

    if (!json_is_object(f)) {
        return SPECTRA_IMPORT_INVALID;
    }

    if (json_is_true(json_object_get(f, "isNull"))) {
        if (s != NULL) {
            s->data = (u_char *) "";
            s->len = 0;
        }

        if (n != NULL) {
            *n = -1;
        }

        return SPECTRA_IMPORT_OK;
    }

    v = json_object_get(f, "longValue");

    if (json_is_integer(v)) {
        if (n != NULL) {
            *n = json_integer_value(v);
            return SPECTRA_IMPORT_OK;
        }

        return SPECTRA_IMPORT_INVALID;
    }

    v = json_object_get(f, "stringValue");

    if (!json_is_string(v) || s == NULL) {
        return SPECTRA_IMPORT_INVALID;
    }

    s->len = json_string_length(v);
    s->data = spectra_pstrdup(pool, (const u_char *) json_string_value(v),
                              s->len);

    return (s->data != NULL) ? SPECTRA_IMPORT_OK : SPECTRA_IMPORT_NOMEM;
}


int
spectra_import_errors_page(const u_char *body, size_t len,
    const spectra_pool_t *pool, spectra_import_error_t **errors,
    size_t *n, int64_t *total, spectra_str_t *next_token,
    spectra_err_t *err)
{
    int                      rc;
    size_t                   i;
    json_t                  *root, *records, *rec, *v;
    json_error_t             jerr;
    spectra_import_error_t  *e;

    *errors = NULL;
    *n = 0;
    *total = -1;
    next_token->data = NULL;
    next_token->len = 0;

    root = json_loadb((const char *) body, len, 0, &jerr);
    if (root == NULL) {
        return spectra_err_set(err, SPECTRA_IMPORT_INVALID, jerr.position,
                               "load errors: not JSON: %s", jerr.text);
    }

    rc = SPECTRA_IMPORT_OK;
    records = json_object_get(root, "Records");

    if (!json_is_array(records)) {
        rc = spectra_err_set(err, SPECTRA_IMPORT_INVALID, SPECTRA_POS_NONE,
                             "load errors: no Records");
        goto done;
    }

    v = json_object_get(root, "TotalNumRows");
    if (json_is_integer(v)) {
        *total = json_integer_value(v);
    }

    rc = spectra_import_str(root, "NextToken", pool, next_token, 0);
    if (rc != SPECTRA_IMPORT_OK) {
        goto done;
    }

    if (json_array_size(records) == 0) {
        goto done;
    }

    e = spectra_palloc(pool, json_array_size(records)
                             * sizeof(spectra_import_error_t));
    if (e == NULL) {
        rc = SPECTRA_IMPORT_NOMEM;
        goto done;
    }

    json_array_foreach(records, i, rec) {
        memset(&e[i], 0, sizeof(spectra_import_error_t));

        if (!json_is_array(rec) || json_array_size(rec) != 5
            || spectra_import_field(json_array_get(rec, 0), pool, NULL,
                                    &e[i].line) != SPECTRA_IMPORT_OK
            || spectra_import_field(json_array_get(rec, 1), pool,
                                    &e[i].column, NULL) != SPECTRA_IMPORT_OK
            || spectra_import_field(json_array_get(rec, 2), pool,
                                    &e[i].code, NULL) != SPECTRA_IMPORT_OK
            || spectra_import_field(json_array_get(rec, 3), pool,
                                    &e[i].reason, NULL) != SPECTRA_IMPORT_OK
            || spectra_import_field(json_array_get(rec, 4), pool,
                                    &e[i].raw, NULL) != SPECTRA_IMPORT_OK)
        {
            rc = spectra_err_set(err, SPECTRA_IMPORT_INVALID,
                                 SPECTRA_POS_NONE,
                                 "load errors: record %zu is not (line, "
                                 "column, code, message, raw line)", i);
            goto done;
        }
    }

    *errors = e;
    *n = json_array_size(records);

done:

    json_decref(root);

    return rc;
}


/* RFC 4180: every field quoted, quotes doubled. */

static size_t
spectra_import_csv_field_len(const u_char *p, size_t len)
{
    size_t  i, n;

    n = len + 2;

    for (i = 0; i < len; i++) {
        n += (p[i] == '"');
    }

    return n;
}


static u_char *
spectra_import_csv_field(u_char *dst, const u_char *p, size_t len)
{
    size_t  i;

    *dst++ = '"';

    for (i = 0; i < len; i++) {
        if (p[i] == '"') {
            *dst++ = '"';
        }

        *dst++ = p[i];
    }

    *dst++ = '"';

    return dst;
}


static size_t
spectra_import_num(u_char *dst, int64_t n)
{
    char  buf[24];
    int   len;

    len = snprintf(buf, sizeof(buf), "%lld", (long long) n);

    if (dst != NULL) {
        memcpy(dst, buf, (size_t) len);
    }

    return (size_t) len;
}


size_t
spectra_import_csv_header(u_char *dst)
{
    static const char  h[] = "line_number,column_name,error_code,"
                             "error_message,raw_line\r\n";

    if (dst != NULL) {
        memcpy(dst, h, sizeof(h) - 1);
    }

    return sizeof(h) - 1;
}


size_t
spectra_import_csv_len(const spectra_import_error_t *e, size_t n)
{
    size_t  i, len;

    len = 0;

    for (i = 0; i < n; i++) {
        len += spectra_import_num(NULL, e[i].line) + 1
               + spectra_import_csv_field_len(e[i].column.data,
                                              e[i].column.len) + 1
               + spectra_import_csv_field_len(e[i].code.data,
                                              e[i].code.len) + 1
               + spectra_import_csv_field_len(e[i].reason.data,
                                              e[i].reason.len) + 1
               + spectra_import_csv_field_len(e[i].raw.data, e[i].raw.len)
               + 2;
    }

    return len;
}


u_char *
spectra_import_csv(u_char *dst, const spectra_import_error_t *e, size_t n)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        dst += spectra_import_num(dst, e[i].line);
        *dst++ = ',';
        dst = spectra_import_csv_field(dst, e[i].column.data,
                                       e[i].column.len);
        *dst++ = ',';
        dst = spectra_import_csv_field(dst, e[i].code.data, e[i].code.len);
        *dst++ = ',';
        dst = spectra_import_csv_field(dst, e[i].reason.data,
                                       e[i].reason.len);
        *dst++ = ',';
        dst = spectra_import_csv_field(dst, e[i].raw.data, e[i].raw.len);
        *dst++ = '\r';
        *dst++ = '\n';
    }

    return dst;
}


/* o as JSON text in pool; members: without its braces, after a ',' */

static int
spectra_import_dump(json_t *o, const spectra_pool_t *pool,
    spectra_str_t *out, int members)
{
    char    *s;
    size_t   len;

    if (o == NULL) {
        return SPECTRA_IMPORT_NOMEM;
    }

    s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);

    if (s == NULL) {
        return SPECTRA_IMPORT_NOMEM;
    }

    len = strlen(s);

    if (members) {
        /* "{...}" -> ",..."; "{}" -> "" */
        out->len = (len > 2) ? len - 1 : 0;
        out->data = spectra_palloc(pool, out->len + 1);

        if (out->data != NULL && out->len) {
            out->data[0] = ',';
            memcpy(out->data + 1, s + 1, out->len - 1);
        }

    } else {
        out->len = len;
        out->data = spectra_pstrdup(pool, (u_char *) s, len);
    }

    free(s);

    return (out->data != NULL) ? SPECTRA_IMPORT_OK : SPECTRA_IMPORT_NOMEM;
}


static json_t *
spectra_import_error_json(const spectra_import_error_t *e, size_t reason_max)
{
    json_t  *o;

    o = json_object();
    if (o == NULL) {
        return NULL;
    }

    json_object_set_new(o, "line", json_integer(e->line));
    json_object_set_new(o, "column",
                        json_stringn((char *) e->column.data, e->column.len));
    json_object_set_new(o, "code",
                        json_stringn((char *) e->code.data, e->code.len));
    json_object_set_new(o, "reason",
                        json_stringn((char *) e->reason.data,
                                     spectra_job_utf8_cut(e->reason.data,
                                                          e->reason.len,
                                                          reason_max)));

    return o;
}


int
spectra_import_result_write(const spectra_import_result_t *res,
    const spectra_pool_t *pool, spectra_str_t *out)
{
    size_t   i;
    json_t  *o, *errors, *e;
    char     d[2];

    o = json_object();
    errors = json_array();

    if (o == NULL || errors == NULL) {
        json_decref(o);
        json_decref(errors);
        return SPECTRA_IMPORT_NOMEM;
    }

    d[0] = res->delimiter ? (char) res->delimiter : ',';
    d[1] = '\0';

    json_object_set_new(o, "schema",
                        json_stringn((char *) res->table.schema.data,
                                     res->table.schema.len));
    json_object_set_new(o, "table",
                        json_stringn((char *) res->table.name.data,
                                     res->table.name.len));
    json_object_set_new(o, "format",
                        json_string(spectra_import_format_name(res->format)));
    json_object_set_new(o, "compression",
                        json_string(spectra_import_compressions[
                                        res->compression % 3]));
    json_object_set_new(o, "delimiter", json_string(d));
    json_object_set_new(o, "header", json_boolean(res->header));
    json_object_set_new(o, "max_errors", json_integer(res->max_errors));
    json_object_set_new(o, "timeout_ms", json_integer(res->timeout_ms));
    json_object_set_new(o, "bucket",
                        json_stringn((char *) res->bucket.data,
                                     res->bucket.len));
    json_object_set_new(o, "key",
                        json_stringn((char *) res->key.data, res->key.len));
    json_object_set_new(o, "upload_expires_at",
                        json_integer(res->upload_expires_at));
    json_object_set_new(o, "max_size", json_integer(res->max_size));

    if (res->errors_read) {
        json_object_set_new(o, "records_failed",
                            json_integer(res->records_failed));

        for (i = 0; i < res->nerrors; i++) {
            e = spectra_import_error_json(&res->errors[i],
                                          SPECTRA_IMPORT_REASON_MAX);
            if (e == NULL) {
                break;
            }

            json_array_append_new(errors, e);
        }

        json_object_set_new(o, "errors", errors);

    } else {
        json_decref(errors);
    }

    return spectra_import_dump(o, pool, out, 0);
}


int
spectra_import_result_read(const u_char *p, size_t len,
    const spectra_pool_t *pool, spectra_import_result_t *res,
    spectra_err_t *err)
{
    int            rc;
    size_t         i, n;
    json_t        *root, *v, *errors, *e;
    const char    *s;
    json_error_t   jerr;

    memset(res, 0, sizeof(spectra_import_result_t));
    res->records_failed = -1;

    root = (p != NULL) ? json_loadb((const char *) p, len, 0, &jerr) : NULL;
    if (root == NULL) {
        return spectra_err_set(err, SPECTRA_IMPORT_INVALID, SPECTRA_POS_NONE,
                               "import result: not JSON");
    }

    rc = SPECTRA_IMPORT_INVALID;

    if (spectra_import_str(root, "schema", pool, &res->table.schema, 1)
        != SPECTRA_IMPORT_OK
        || spectra_import_str(root, "table", pool, &res->table.name, 1)
           != SPECTRA_IMPORT_OK
        || spectra_import_str(root, "bucket", pool, &res->bucket, 1)
           != SPECTRA_IMPORT_OK
        || spectra_import_str(root, "key", pool, &res->key, 1)
           != SPECTRA_IMPORT_OK)
    {
        goto done;
    }

    v = json_object_get(root, "format");
    s = json_is_string(v) ? json_string_value(v) : "";
    res->format = (strcmp(s, "json") == 0) ? SPECTRA_SQL_COPY_JSON
                                           : SPECTRA_SQL_COPY_CSV;

    v = json_object_get(root, "compression");
    s = json_is_string(v) ? json_string_value(v) : "";

    for (n = 0; n < 3; n++) {
        if (strcmp(s, spectra_import_compressions[n]) == 0) {
            break;
        }
    }

    if (n == 3) {
        goto done;
    }

    res->compression = (spectra_sql_unload_compression_e) n;

    v = json_object_get(root, "delimiter");
    res->delimiter = (res->format == SPECTRA_SQL_COPY_CSV
                      && json_is_string(v) && json_string_length(v) == 1)
                     ? (u_char) json_string_value(v)[0] : 0;
    res->header = json_is_true(json_object_get(root, "header"));
    res->max_errors = (uint64_t) json_integer_value(
                                     json_object_get(root, "max_errors"));
    res->timeout_ms = (uint64_t) json_integer_value(
                                     json_object_get(root, "timeout_ms"));
    res->upload_expires_at = json_integer_value(
                                 json_object_get(root, "upload_expires_at"));
    res->max_size = (uint64_t) json_integer_value(
                                   json_object_get(root, "max_size"));

    errors = json_object_get(root, "errors");

    if (json_is_array(errors)) {
        res->errors_read = 1;
        res->records_failed = json_integer_value(
                                  json_object_get(root, "records_failed"));
        res->nerrors = json_array_size(errors);

        if (res->nerrors) {
            res->errors = spectra_palloc(pool, res->nerrors
                                         * sizeof(spectra_import_error_t));
            if (res->errors == NULL) {
                rc = SPECTRA_IMPORT_NOMEM;
                goto done;
            }
        }

        json_array_foreach(errors, i, e) {
            memset(&res->errors[i], 0, sizeof(spectra_import_error_t));

            res->errors[i].line = json_integer_value(
                                      json_object_get(e, "line"));
            if (spectra_import_str(e, "column", pool, &res->errors[i].column,
                                   1) != SPECTRA_IMPORT_OK
                || spectra_import_str(e, "code", pool, &res->errors[i].code,
                                      1) != SPECTRA_IMPORT_OK
                || spectra_import_str(e, "reason", pool,
                                      &res->errors[i].reason, 1)
                   != SPECTRA_IMPORT_OK)
            {
                goto done;
            }
        }
    }

    rc = SPECTRA_IMPORT_OK;

done:

    json_decref(root);

    if (rc == SPECTRA_IMPORT_INVALID) {
        return spectra_err_set(err, rc, SPECTRA_POS_NONE,
                               "import result: malformed");
    }

    return rc;
}


int
spectra_import_api(const spectra_import_result_t *res,
    int64_t rows_loaded, const char *job_id, const spectra_str_t *url,
    int64_t url_expires_at, const spectra_pool_t *pool, spectra_str_t *out)
{
    u_char   name[2 * SPECTRA_IMPORT_IDENT_MAX + 2], *p;
    u_char   at[SPECTRA_JOB_TIME_LEN];
    char     link[64], d[2];
    size_t   i;
    json_t  *o, *errors, *e, *upload, *csv;

    o = json_object();
    if (o == NULL) {
        return SPECTRA_IMPORT_NOMEM;
    }

    p = spectra_import_table_name(name, &res->table);

    json_object_set_new(o, "table", json_stringn((char *) name, p - name));
    json_object_set_new(o, "format",
                        json_string(spectra_import_format_name(res->format)));
    json_object_set_new(o, "compression",
                        json_string(spectra_import_compressions[
                                        res->compression % 3]));

    if (res->format == SPECTRA_SQL_COPY_CSV) {
        csv = json_object();
        d[0] = res->delimiter ? (char) res->delimiter : ',';
        d[1] = '\0';
        json_object_set_new(csv, "delimiter", json_string(d));
        json_object_set_new(csv, "header", json_boolean(res->header));
        json_object_set_new(o, "csv", csv);
    }

    json_object_set_new(o, "max_errors", json_integer(res->max_errors));

    json_object_set_new(o, "rows_loaded", rows_loaded >= 0
                                          ? json_integer(rows_loaded)
                                          : json_null());

    if (res->errors_read) {
        json_object_set_new(o, "records_failed",
                            json_integer(res->records_failed));
        json_object_set_new(o, "records_processed",
                            json_integer((rows_loaded > 0 ? rows_loaded : 0)
                                         + res->records_failed));

        errors = json_array();

        for (i = 0; errors != NULL && i < res->nerrors; i++) {
            e = spectra_import_error_json(&res->errors[i],
                                          SPECTRA_IMPORT_REASON_MAX);
            json_array_append_new(errors, e);
        }

        json_object_set_new(o, "errors", errors);

        if (res->records_failed > 0) {
            snprintf(link, sizeof(link), "/v1/imports/%s/failed", job_id);
            json_object_set_new(o, "failed_records", json_string(link));
        }

    } else {
        json_object_set_new(o, "records_failed", json_null());
        json_object_set_new(o, "records_processed", json_null());
    }

    if (url != NULL && url->data != NULL) {
        upload = json_object();

        (void) spectra_job_time(at, url_expires_at);

        json_object_set_new(upload, "url",
                            json_stringn((char *) url->data, url->len));
        json_object_set_new(upload, "method", json_string("PUT"));
        json_object_set_new(upload, "expires_at",
                            json_stringn((char *) at, SPECTRA_JOB_TIME_LEN));
        json_object_set_new(upload, "max_size", json_integer(res->max_size));
        json_object_set_new(o, "upload", upload);
        json_object_set_new(o, "upload_url",
                            json_stringn((char *) url->data, url->len));
    }

    return spectra_import_dump(o, pool, out, 1);
}
