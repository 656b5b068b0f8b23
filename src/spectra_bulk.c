/*
 * Bulk exports (spectra_bulk.h): POST /v1/bulk bodies with jansson, the
 * export's place and UNLOAD, its manifest, and the result a job keeps.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "spectra_bulk.h"
#include "spectra_json.h"
#include "spectra_jobs.h"


#define SPECTRA_BULK_WRAP_HEAD  "SELECT * FROM (\n"
#define SPECTRA_BULK_WRAP_TAIL  "\n) AS spectra_q"


static int spectra_bulk_integer(json_t *v, const char *name, uint64_t min,
    uint64_t max, uint64_t *out, spectra_err_t *err);
static int spectra_bulk_string(json_t *v, const spectra_pool_t *pool,
    spectra_str_t *out);
static int spectra_bulk_csv(json_t *v, spectra_bulk_t *b, int *seen,
    spectra_err_t *err);
static int spectra_bulk_name_char(u_char c);
static int spectra_bulk_key_valid(const u_char *p, size_t len);
static size_t spectra_bulk_num(u_char *dst, int64_t n);
static size_t spectra_bulk_result_put(u_char *dst,
    const spectra_bulk_result_t *res);
static int64_t spectra_bulk_time_read(const char *s, size_t len);
static void spectra_bulk_object(const spectra_bulk_links_t *links,
    const spectra_str_t *bucket, const spectra_str_t *key, unsigned expires,
    spectra_s3_object_t *obj);


static const char  *spectra_bulk_formats[] = {
    "text", "csv", "json", "parquet"
};

static const char  *spectra_bulk_compressions[] = {
    "none", "gzip", "zstd"
};


const char *
spectra_bulk_format_name(spectra_sql_unload_format_e format)
{
    return ((unsigned) format <= SPECTRA_SQL_UNLOAD_PARQUET)
           ? spectra_bulk_formats[format] : "unknown";
}


const char *
spectra_bulk_compression_name(spectra_sql_unload_compression_e compression)
{
    return ((unsigned) compression <= SPECTRA_SQL_UNLOAD_ZSTD)
           ? spectra_bulk_compressions[compression] : "unknown";
}


static int
spectra_bulk_integer(json_t *v, const char *name, uint64_t min,
    uint64_t max, uint64_t *out, spectra_err_t *err)
{
    json_int_t  n;

    if (!json_is_integer(v) || (n = json_integer_value(v)) < 0
        || (uint64_t) n < min || (uint64_t) n > max)
    {
        return spectra_err_set(err, SPECTRA_BULK_INVALID, SPECTRA_POS_NONE,
                               "%s must be an integer from %llu to %llu",
                               name, (unsigned long long) min,
                               (unsigned long long) max);
    }

    *out = (uint64_t) n;

    return SPECTRA_BULK_OK;
}


static int
spectra_bulk_string(json_t *v, const spectra_pool_t *pool,
    spectra_str_t *out)
{
    out->len = json_string_length(v);
    out->data = spectra_pstrdup(pool, (const u_char *) json_string_value(v),
                                out->len);

    return (out->data != NULL) ? SPECTRA_BULK_OK : SPECTRA_BULK_NOMEM;
}


/* "csv": {"delimiter": "<one character>", "header": true|false} */

static int
spectra_bulk_csv(json_t *v, spectra_bulk_t *b, int *seen, spectra_err_t *err)
{
    u_char        d;
    json_t       *value;
    const char   *key;

    if (!json_is_object(v)) {
        return spectra_err_set(err, SPECTRA_BULK_INVALID, SPECTRA_POS_NONE,
                               "csv must be an object with \"delimiter\" "
                               "and \"header\"");
    }

    *seen = 1;

    json_object_foreach(v, key, value) {

        if (strcmp(key, "delimiter") == 0) {
            d = json_is_string(value) && json_string_length(value) == 1
                ? (u_char) json_string_value(value)[0] : 0;

            if (d == 0
                || (d != '\t'
                    && (d < 0x20 || d > 0x7e || d == '\'' || d == '\\'
                        || d == '"')))
            {
                return spectra_err_set(err, SPECTRA_BULK_INVALID,
                                       SPECTRA_POS_NONE,
                                       "csv.delimiter must be one printable "
                                       "ASCII character other than "
                                       "' \\ \" (or a tab)");
            }

            b->delimiter = d;

        } else if (strcmp(key, "header") == 0) {
            if (!json_is_boolean(value)) {
                return spectra_err_set(err, SPECTRA_BULK_INVALID,
                                       SPECTRA_POS_NONE,
                                       "csv.header must be true or false");
            }

            b->header = json_is_true(value);

        } else {
            return spectra_err_set(err, SPECTRA_BULK_INVALID,
                                   SPECTRA_POS_NONE,
                                   "unknown field \"csv.%.64s\"", key);
        }
    }

    return SPECTRA_BULK_OK;
}


int
spectra_bulk_parse(const u_char *body, size_t len,
    const spectra_bulk_limits_t *limits, const spectra_pool_t *pool,
    spectra_bulk_t *b, spectra_err_t *err)
{
    int            rc, csv, compression;
    size_t         i, n;
    json_t        *root, *value;
    uint64_t       u;
    const char    *key, *s;
    json_error_t   jerr;

    memset(b, 0, sizeof(spectra_bulk_t));
    b->format = SPECTRA_SQL_UNLOAD_CSV;
    b->compression = SPECTRA_SQL_UNLOAD_GZIP;
    b->max_downloads = -1;
    b->timeout_ms = limits->timeout_ms;

    if (len == 0) {
        return spectra_err_set(err, SPECTRA_BULK_INVALID, SPECTRA_POS_NONE,
                               "the request body is empty");
    }

    root = json_loadb((const char *) body, len,
                      JSON_REJECT_DUPLICATES|JSON_DECODE_ANY, &jerr);

    if (root == NULL) {
        return spectra_err_set(err, SPECTRA_BULK_INVALID,
                               jerr.position > 0 ? (size_t) jerr.position - 1
                                                 : 0,
                               "malformed JSON at line %d, column %d: %s",
                               jerr.line, jerr.column, jerr.text);
    }

    if (!json_is_object(root)) {
        rc = spectra_err_set(err, SPECTRA_BULK_INVALID, SPECTRA_POS_NONE,
                             "the request body must be a JSON object");
        goto done;
    }

    rc = SPECTRA_BULK_OK;
    csv = 0;
    compression = 0;

    json_object_foreach(root, key, value) {

        if (strcmp(key, "sql") == 0) {
            if (!json_is_string(value)) {
                goto bad_type;
            }

            rc = spectra_bulk_string(value, pool, &b->sql);

        } else if (strcmp(key, "format") == 0) {
            s = json_is_string(value) ? json_string_value(value) : "";

            if (strcmp(s, "csv") == 0) {
                b->format = SPECTRA_SQL_UNLOAD_CSV;

            } else if (strcmp(s, "json") == 0) {
                b->format = SPECTRA_SQL_UNLOAD_JSON;

            } else if (strcmp(s, "parquet") == 0) {
                b->format = SPECTRA_SQL_UNLOAD_PARQUET;

            } else {
                rc = spectra_err_set(err, SPECTRA_BULK_INVALID,
                                     SPECTRA_POS_NONE,
                                     "format must be \"csv\", \"json\" or "
                                     "\"parquet\"");
            }

        } else if (strcmp(key, "compression") == 0) {
            s = json_is_string(value) ? json_string_value(value) : "";
            compression = 1;

            if (strcmp(s, "gzip") == 0) {
                b->compression = SPECTRA_SQL_UNLOAD_GZIP;

            } else if (strcmp(s, "zstd") == 0) {
                b->compression = SPECTRA_SQL_UNLOAD_ZSTD;

            } else if (strcmp(s, "none") == 0) {
                b->compression = SPECTRA_SQL_UNLOAD_NONE;

            } else {
                rc = spectra_err_set(err, SPECTRA_BULK_INVALID,
                                     SPECTRA_POS_NONE,
                                     "compression must be \"gzip\", "
                                     "\"zstd\" or \"none\"");
            }

        } else if (strcmp(key, "csv") == 0) {
            rc = spectra_bulk_csv(value, b, &csv, err);

        } else if (strcmp(key, "max_file_size") == 0) {
            rc = spectra_bulk_integer(value, "max_file_size (MB)",
                                      SPECTRA_SQL_UNLOAD_MIN_MB,
                                      SPECTRA_SQL_UNLOAD_MAX_MB,
                                      &b->max_file_size_mb, err);

        } else if (strcmp(key, "max_downloads") == 0) {
            rc = spectra_bulk_integer(value, key, 1,
                                      SPECTRA_BULK_DOWNLOADS_MAX, &u, err);
            b->max_downloads = (int64_t) u;

        } else if (strcmp(key, "timeout_seconds") == 0) {
            rc = spectra_bulk_integer(value, key, 1,
                                      limits->timeout_ms / 1000, &u, err);
            b->timeout_ms = u * 1000;

        } else if (strcmp(key, "idempotency_key") == 0) {
            if (!json_is_string(value)) {
                goto bad_type;
            }

            s = json_string_value(value);
            n = json_string_length(value);

            for (i = 0; i < n; i++) {
                if (!(spectra_bulk_name_char((u_char) s[i]) || s[i] == ':'))
                {
                    break;
                }
            }

            if (n == 0 || n > SPECTRA_BULK_KEY_MAX || i < n) {
                rc = spectra_err_set(err, SPECTRA_BULK_INVALID,
                                     SPECTRA_POS_NONE,
                                     "idempotency_key must be 1 to %d "
                                     "characters of A-Z a-z 0-9 . _ : -",
                                     SPECTRA_BULK_KEY_MAX);
                goto done;
            }

            rc = spectra_bulk_string(value, pool, &b->idempotency_key);

        } else if (strcmp(key, "parameters") == 0) {
            rc = spectra_err_set(err, SPECTRA_BULK_INVALID,
                                 SPECTRA_POS_NONE,
                                 "an export takes no parameters: write the "
                                 "values into its SQL");

        } else {
            rc = spectra_err_set(err, SPECTRA_BULK_INVALID,
                                 SPECTRA_POS_NONE,
                                 "unknown field \"%.64s\"", key);
        }

        if (rc != SPECTRA_BULK_OK) {
            if (rc == SPECTRA_BULK_NOMEM) {
                spectra_err_set(err, rc, SPECTRA_POS_NONE, "out of memory");
            }

            goto done;
        }
    }

    if (b->sql.data == NULL) {
        rc = spectra_err_set(err, SPECTRA_BULK_INVALID, SPECTRA_POS_NONE,
                             "the field \"sql\" is required");
        goto done;
    }

    if (csv && b->format != SPECTRA_SQL_UNLOAD_CSV) {
        rc = spectra_err_set(err, SPECTRA_BULK_INVALID, SPECTRA_POS_NONE,
                             "csv options apply only to format \"csv\"");
    }

    /* Parquet compresses its pages itself (SNAPPY), as UNLOAD does */
    if (b->format == SPECTRA_SQL_UNLOAD_PARQUET && rc == SPECTRA_BULK_OK) {
        if (compression && b->compression != SPECTRA_SQL_UNLOAD_NONE) {
            rc = spectra_err_set(err, SPECTRA_BULK_INVALID,
                                 SPECTRA_POS_NONE,
                                 "format \"parquet\" compresses its pages "
                                 "itself (SNAPPY): leave compression out or "
                                 "set it to \"none\"");
        }

        b->compression = SPECTRA_SQL_UNLOAD_NONE;
    }

done:

    json_decref(root);

    return rc;

bad_type:

    rc = spectra_err_set(err, SPECTRA_BULK_INVALID, SPECTRA_POS_NONE,
                         "the field \"%s\" has the wrong type", key);
    json_decref(root);

    return rc;
}


static int
spectra_bulk_name_char(u_char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
           || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}


int
spectra_bulk_prefix_valid(const u_char *p, size_t len, spectra_err_t *err)
{
    size_t  i, seg;

    if (len > SPECTRA_BULK_PREFIX_MAX) {
        goto bad;
    }

    seg = 0;

    for (i = 0; i <= len; i++) {
        if (i < len && p[i] != '/') {
            if (!spectra_bulk_name_char(p[i])) {
                goto bad;
            }

            continue;
        }

        if (len == 0) {
            break;
        }

        /* a segment ends: not empty, not "." or ".." */
        if (i == seg || (i - seg == 1 && p[seg] == '.')
            || (i - seg == 2 && p[seg] == '.' && p[seg + 1] == '.'))
        {
            goto bad;
        }

        seg = i + 1;
    }

    return SPECTRA_BULK_OK;

bad:

    return spectra_err_set(err, SPECTRA_BULK_INVALID, SPECTRA_POS_NONE,
                           "the export prefix must be at most %d characters "
                           "of A-Z a-z 0-9 . _ - in segments separated by "
                           "single /, none of them . or .., without a "
                           "leading or trailing /", SPECTRA_BULK_PREFIX_MAX);
}


size_t
spectra_bulk_key_prefix_len(const spectra_bulk_place_t *place)
{
    return (place->prefix.len ? place->prefix.len + 1 : 0)
           + sizeof("tenant=/job=/") - 1 + place->tenant_id.len
           + place->job_id.len;
}


u_char *
spectra_bulk_key_prefix(u_char *dst, const spectra_bulk_place_t *place)
{
    if (place->prefix.len) {
        memcpy(dst, place->prefix.data, place->prefix.len);
        dst += place->prefix.len;
        *dst++ = '/';
    }

    memcpy(dst, "tenant=", 7);
    dst += 7;
    memcpy(dst, place->tenant_id.data, place->tenant_id.len);
    dst += place->tenant_id.len;
    memcpy(dst, "/job=", 5);
    dst += 5;
    memcpy(dst, place->job_id.data, place->job_id.len);
    dst += place->job_id.len;
    *dst++ = '/';

    return dst;
}


size_t
spectra_bulk_target_len(const spectra_bulk_place_t *place)
{
    return sizeof("s3:///") - 1 + place->bucket.len
           + spectra_bulk_key_prefix_len(place);
}


u_char *
spectra_bulk_target(u_char *dst, const spectra_bulk_place_t *place)
{
    memcpy(dst, "s3://", 5);
    dst += 5;
    memcpy(dst, place->bucket.data, place->bucket.len);
    dst += place->bucket.len;
    *dst++ = '/';

    return spectra_bulk_key_prefix(dst, place);
}


int
spectra_bulk_target_split(const spectra_str_t *target, spectra_str_t *bucket,
    spectra_str_t *key_prefix)
{
    const u_char   *p, *slash;
    spectra_err_t   e;

    p = target->data;

    if (p == NULL || target->len < 8 || memcmp(p, "s3://", 5) != 0
        || p[target->len - 1] != '/')
    {
        return SPECTRA_BULK_INVALID;
    }

    slash = memchr(p + 5, '/', target->len - 5);

    bucket->data = (u_char *) p + 5;
    bucket->len = (size_t) (slash - (p + 5));

    if (spectra_s3_bucket_check(NULL, bucket->data, bucket->len, 1, &e)
        != SPECTRA_S3_OK
        || (size_t) (slash + 1 - p) == target->len)
    {
        return SPECTRA_BULK_INVALID;
    }

    key_prefix->data = (u_char *) slash + 1;
    key_prefix->len = target->len - (size_t) (slash + 1 - p);

    return SPECTRA_BULK_OK;
}


int
spectra_bulk_unload(const spectra_bulk_t *b, const u_char *sql,
    const spectra_sql_info_t *info, const spectra_str_t *target,
    const spectra_str_t *iam_role, const spectra_pool_t *pool,
    spectra_str_t *out, spectra_err_t *err)
{
    u_char                *q, *p;
    size_t                 n;
    spectra_sql_unload_t   u;

    if (info->stmt_len == 0) {
        return spectra_err_set(err, SPECTRA_BULK_INVALID, SPECTRA_POS_NONE,
                               "the export's statement is empty");
    }

    n = sizeof(SPECTRA_BULK_WRAP_HEAD) - 1 + info->stmt_len
        + sizeof(SPECTRA_BULK_WRAP_TAIL) - 1;

    q = spectra_palloc(pool, n);
    if (q == NULL) {
        return spectra_err_set(err, SPECTRA_BULK_NOMEM, SPECTRA_POS_NONE,
                               "out of memory");
    }

    p = q;
    memcpy(p, SPECTRA_BULK_WRAP_HEAD, sizeof(SPECTRA_BULK_WRAP_HEAD) - 1);
    p += sizeof(SPECTRA_BULK_WRAP_HEAD) - 1;
    memcpy(p, sql + info->stmt_start, info->stmt_len);
    p += info->stmt_len;
    memcpy(p, SPECTRA_BULK_WRAP_TAIL, sizeof(SPECTRA_BULK_WRAP_TAIL) - 1);

    memset(&u, 0, sizeof(spectra_sql_unload_t));
    u.query.data = q;
    u.query.len = n;
    u.target = *target;
    u.iam_role = *iam_role;
    u.format = b->format;
    u.compression = b->compression;
    u.delimiter = (b->format == SPECTRA_SQL_UNLOAD_CSV) ? b->delimiter : 0;
    u.header = (b->format == SPECTRA_SQL_UNLOAD_CSV) ? b->header : 0;
    u.manifest = 1;
    u.manifest_verbose = 1;
    u.max_file_size_mb = b->max_file_size_mb;

    if (spectra_sql_unload_validate(&u, err) != SPECTRA_SQL_OK) {
        return SPECTRA_BULK_INVALID;
    }

    n = spectra_sql_unload_len(&u);

    out->data = spectra_palloc(pool, n + 1);
    if (out->data == NULL) {
        return spectra_err_set(err, SPECTRA_BULK_NOMEM, SPECTRA_POS_NONE,
                               "out of memory");
    }

    p = spectra_sql_unload(out->data, &u);
    *p = '\0';
    out->len = (size_t) (p - out->data);

    return SPECTRA_BULK_OK;
}


/* A key under the export's prefix: letters, digits, . _ - = and '/'. */

static int
spectra_bulk_key_valid(const u_char *p, size_t len)
{
    size_t  i;

    for (i = 0; i < len; i++) {
        if (!(spectra_bulk_name_char(p[i]) || p[i] == '=' || p[i] == '/')) {
            return 0;
        }
    }

    return len > 0;
}


int
spectra_bulk_manifest_parse(const u_char *p, size_t len,
    unsigned header, const spectra_str_t *bucket,
    const spectra_str_t *key_prefix,
    const spectra_pool_t *pool, spectra_bulk_file_t **files, size_t *nfiles,
    spectra_err_t *err)
{
    int                   rc;
    size_t                i, j, n, ulen, base;
    json_t               *root, *entries, *e, *url, *meta, *size, *rows;
    const char           *u, *name;
    json_error_t          jerr;
    spectra_bulk_file_t  *f;

    *files = NULL;
    *nfiles = 0;

    if (!spectra_bulk_key_valid(key_prefix->data, key_prefix->len)) {
        return spectra_err_set(err, SPECTRA_BULK_INVALID, SPECTRA_POS_NONE,
                               "the export's key prefix is malformed");
    }

    root = json_loadb((const char *) p, len, JSON_REJECT_DUPLICATES, &jerr);

    if (root == NULL) {
        return spectra_err_set(err, SPECTRA_BULK_INVALID, SPECTRA_POS_NONE,
                               "the manifest is not JSON: %s at line %d",
                               jerr.text, jerr.line);
    }

    entries = json_object_get(root, "entries");

    if (!json_is_array(entries)) {
        rc = spectra_err_set(err, SPECTRA_BULK_INVALID, SPECTRA_POS_NONE,
                             "the manifest has no \"entries\" array");
        goto done;
    }

    n = json_array_size(entries);

    if (n > SPECTRA_BULK_FILES_MAX) {
        rc = spectra_err_set(err, SPECTRA_BULK_INVALID, SPECTRA_POS_NONE,
                             "the manifest lists more than %d files",
                             SPECTRA_BULK_FILES_MAX);
        goto done;
    }

    f = NULL;

    if (n) {
        f = spectra_palloc(pool, n * sizeof(spectra_bulk_file_t));
        if (f == NULL) {
            rc = spectra_err_set(err, SPECTRA_BULK_NOMEM, SPECTRA_POS_NONE,
                                 "out of memory");
            goto done;
        }
    }

    base = 5 + bucket->len + 1 + key_prefix->len;

    for (i = 0; i < n; i++) {
        e = json_array_get(entries, i);
        url = json_object_get(e, "url");
        meta = json_object_get(e, "meta");
        size = json_object_get(meta, "content_length");
        rows = json_object_get(meta, "record_count");

        if (!json_is_string(url) || !json_is_integer(size)
            || !json_is_integer(rows) || json_integer_value(size) < 0
            || json_integer_value(rows) < (json_int_t) header)
        {
            rc = spectra_err_set(err, SPECTRA_BULK_INVALID, SPECTRA_POS_NONE,
                                 "manifest entry %zu needs \"url\" and "
                                 "\"meta\" with \"content_length\" and "
                                 "\"record_count\" (MANIFEST VERBOSE)", i);
            goto done;
        }

        u = json_string_value(url);
        ulen = json_string_length(url);
        name = u + base;

        /* s3://<bucket>/<key prefix><name>, the name without a '/' */
        if (ulen <= base || ulen - base > SPECTRA_BULK_NAME_MAX
            || memcmp(u, "s3://", 5) != 0
            || memcmp(u + 5, bucket->data, bucket->len) != 0
            || u[5 + bucket->len] != '/'
            || memcmp(u + 5 + bucket->len + 1, key_prefix->data,
                      key_prefix->len) != 0)
        {
            goto outside;
        }

        for (j = 0; j < ulen - base; j++) {
            if (!spectra_bulk_name_char((u_char) name[j])) {
                goto outside;
            }
        }

        if (name[0] == '.') {
            goto outside;
        }

        f[i].key.len = ulen - 5 - bucket->len - 1;
        f[i].key.data = spectra_pstrdup(pool,
                                        (const u_char *) u + 5 + bucket->len
                                        + 1, f[i].key.len);
        if (f[i].key.data == NULL) {
            rc = spectra_err_set(err, SPECTRA_BULK_NOMEM, SPECTRA_POS_NONE,
                                 "out of memory");
            goto done;
        }

        f[i].size = (int64_t) json_integer_value(size);
        f[i].rows = (int64_t) json_integer_value(rows) - (int64_t) header;
    }

    *files = f;
    *nfiles = n;
    rc = SPECTRA_BULK_OK;

done:

    json_decref(root);

    return rc;

outside:

    rc = spectra_err_set(err, SPECTRA_BULK_INVALID, SPECTRA_POS_NONE,
                         "manifest entry %zu is not a file of this export",
                         i);
    json_decref(root);

    return rc;
}


static size_t
spectra_bulk_num(u_char *dst, int64_t n)
{
    char  buf[24];
    int   len;

    len = snprintf(buf, sizeof(buf), "%lld", (long long) n);

    if (dst != NULL) {
        memcpy(dst, buf, (size_t) len);
    }

    return (size_t) len;
}


/* Writes (dst non-NULL) or measures the stored form. */

#define spectra_bulk_put(s, l)                                               \
    do {                                                                     \
        if (dst != NULL) {                                                   \
            memcpy(dst + n, s, l);                                           \
        }                                                                    \
        n += (l);                                                            \
    } while (0)

#define spectra_bulk_put_str(s)  spectra_bulk_put(s, strlen(s))

#define spectra_bulk_put_num(v)                                              \
    n += spectra_bulk_num(dst != NULL ? dst + n : NULL, v)

#define spectra_bulk_put_json(s, l)                                          \
    do {                                                                     \
        spectra_bulk_put("\"", 1);                                           \
        if (dst != NULL) {                                                   \
            spectra_json_escape(dst + n, s, l);                              \
        }                                                                    \
        n += spectra_json_escape_len(s, l);                                  \
        spectra_bulk_put("\"", 1);                                           \
    } while (0)


static size_t
spectra_bulk_result_put(u_char *dst, const spectra_bulk_result_t *res)
{
    size_t  n, i;
    u_char  time[SPECTRA_JOB_TIME_LEN];

    n = 0;

    spectra_bulk_put_str("{\"format\":\"");
    spectra_bulk_put_str(spectra_bulk_format_name(res->format));
    spectra_bulk_put_str("\",\"compression\":\"");
    spectra_bulk_put_str(spectra_bulk_compression_name(res->compression));
    spectra_bulk_put_str("\",\"target\":");
    spectra_bulk_put_json(res->target.data, res->target.len);

    if (res->header) {
        spectra_bulk_put_str(",\"header\":true");
    }
    spectra_bulk_put_str(",\"max_downloads\":");

    if (res->max_downloads >= 0) {
        spectra_bulk_put_num(res->max_downloads);

    } else {
        spectra_bulk_put_str("null");
    }

    spectra_bulk_put_str(",\"expires_at\":");

    if (res->expires_at > 0) {
        spectra_job_time(time, res->expires_at);
        spectra_bulk_put("\"", 1);
        spectra_bulk_put(time, SPECTRA_JOB_TIME_LEN);
        spectra_bulk_put("\"", 1);

    } else {
        spectra_bulk_put_str("null");
    }

    spectra_bulk_put_str(",\"files\":");

    if (!res->listed) {
        spectra_bulk_put_str("null}");
        return n;
    }

    spectra_bulk_put("[", 1);

    for (i = 0; i < res->nfiles; i++) {
        spectra_bulk_put_str(i ? ",{\"key\":" : "{\"key\":");
        spectra_bulk_put_json(res->files[i].key.data, res->files[i].key.len);
        spectra_bulk_put_str(",\"size\":");
        spectra_bulk_put_num(res->files[i].size);
        spectra_bulk_put_str(",\"rows\":");
        spectra_bulk_put_num(res->files[i].rows);
        spectra_bulk_put("}", 1);
    }

    spectra_bulk_put_str("]}");

    return n;
}


size_t
spectra_bulk_result_len(const spectra_bulk_result_t *res)
{
    return spectra_bulk_result_put(NULL, res);
}


u_char *
spectra_bulk_result(u_char *dst, const spectra_bulk_result_t *res)
{
    return dst + spectra_bulk_result_put(dst, res);
}


/* "2026-01-02T03:04:05.678Z" to ms; -1 when malformed. */

static int64_t
spectra_bulk_time_read(const char *s, size_t len)
{
    int        i;
    int64_t    days, y, m, d, ms, era, yoe, doy;
    unsigned   v[7];

    static const int  at[] = { 0, 5, 8, 11, 14, 17, 20 };
    static const int  width[] = { 4, 2, 2, 2, 2, 2, 3 };

    if (len != SPECTRA_JOB_TIME_LEN || s[4] != '-' || s[7] != '-'
        || s[10] != 'T' || s[13] != ':' || s[16] != ':' || s[19] != '.'
        || s[23] != 'Z')
    {
        return -1;
    }

    for (i = 0; i < 7; i++) {
        int  k;

        v[i] = 0;

        for (k = 0; k < width[i]; k++) {
            char  c = s[at[i] + k];

            if (c < '0' || c > '9') {
                return -1;
            }

            v[i] = v[i] * 10 + (unsigned) (c - '0');
        }
    }

    if (v[1] < 1 || v[1] > 12 || v[2] < 1 || v[2] > 31 || v[3] > 23
        || v[4] > 59 || v[5] > 59)
    {
        return -1;
    }

    /* days from civil (Howard Hinnant's algorithm) */
    y = (int64_t) v[0] - (v[1] <= 2);
    m = v[1];
    d = v[2];
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    days = era * 146097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719468;

    ms = ((days * 24 + v[3]) * 60 + v[4]) * 60 + v[5];

    return ms * 1000 + v[6];
}


int
spectra_bulk_result_read(const u_char *p, size_t len,
    const spectra_pool_t *pool, spectra_bulk_result_t *res,
    spectra_err_t *err)
{
    int            rc;
    size_t         i, n;
    json_t        *root, *v, *files, *e, *key, *size, *rows;
    const char    *s;
    json_error_t   jerr;

    memset(res, 0, sizeof(spectra_bulk_result_t));
    res->max_downloads = -1;

    root = (p != NULL) ? json_loadb((const char *) p, len, 0, &jerr) : NULL;

    if (!json_is_object(root)) {
        json_decref(root);
        return spectra_err_set(err, SPECTRA_BULK_INVALID, SPECTRA_POS_NONE,
                               "the export's result is not a JSON object");
    }

    rc = SPECTRA_BULK_INVALID;

    s = json_string_value(json_object_get(root, "format"));
    for (i = 0; s != NULL && i < 4; i++) {
        if (strcmp(s, spectra_bulk_formats[i]) == 0) {
            res->format = (spectra_sql_unload_format_e) i;
            break;
        }
    }

    if (s == NULL || i == 4) {
        goto bad;
    }

    s = json_string_value(json_object_get(root, "compression"));
    for (i = 0; s != NULL && i < 3; i++) {
        if (strcmp(s, spectra_bulk_compressions[i]) == 0) {
            res->compression = (spectra_sql_unload_compression_e) i;
            break;
        }
    }

    if (s == NULL || i == 3) {
        goto bad;
    }

    v = json_object_get(root, "target");
    if (!json_is_string(v)) {
        goto bad;
    }

    res->target.len = json_string_length(v);
    res->target.data = spectra_pstrdup(pool,
                                       (const u_char *) json_string_value(v),
                                       res->target.len);
    if (res->target.data == NULL) {
        goto nomem;
    }

    v = json_object_get(root, "header");
    if (json_is_true(v)) {
        res->header = 1;

    } else if (v != NULL && !json_is_false(v)) {
        goto bad;
    }

    v = json_object_get(root, "max_downloads");
    if (json_is_integer(v) && json_integer_value(v) > 0) {
        res->max_downloads = (int64_t) json_integer_value(v);

    } else if (v != NULL && !json_is_null(v)) {
        goto bad;
    }

    v = json_object_get(root, "expires_at");
    if (json_is_string(v)) {
        res->expires_at = spectra_bulk_time_read(json_string_value(v),
                                                 json_string_length(v));
        if (res->expires_at <= 0) {
            goto bad;
        }

    } else if (v != NULL && !json_is_null(v)) {
        goto bad;
    }

    files = json_object_get(root, "files");

    if (json_is_array(files)) {
        n = json_array_size(files);

        if (n > SPECTRA_BULK_FILES_MAX) {
            goto bad;
        }

        if (n) {
            res->files = spectra_palloc(pool,
                                        n * sizeof(spectra_bulk_file_t));
            if (res->files == NULL) {
                goto nomem;
            }
        }

        for (i = 0; i < n; i++) {
            e = json_array_get(files, i);
            key = json_object_get(e, "key");
            size = json_object_get(e, "size");
            rows = json_object_get(e, "rows");

            if (!json_is_string(key) || !json_is_integer(size)
                || !json_is_integer(rows))
            {
                goto bad;
            }

            res->files[i].key.len = json_string_length(key);
            res->files[i].key.data = spectra_pstrdup(pool,
                                    (const u_char *) json_string_value(key),
                                    res->files[i].key.len);
            if (res->files[i].key.data == NULL) {
                goto nomem;
            }

            res->files[i].size = (int64_t) json_integer_value(size);
            res->files[i].rows = (int64_t) json_integer_value(rows);
        }

        res->nfiles = n;
        res->listed = 1;

    } else if (files != NULL && !json_is_null(files)) {
        goto bad;
    }

    json_decref(root);

    return SPECTRA_BULK_OK;

nomem:

    json_decref(root);

    return spectra_err_set(err, SPECTRA_BULK_NOMEM, SPECTRA_POS_NONE,
                           "out of memory");

bad:

    json_decref(root);

    return spectra_err_set(err, rc, SPECTRA_POS_NONE,
                           "the export's result is malformed");
}


/* The presigned GET of one export file. */

static void
spectra_bulk_object(const spectra_bulk_links_t *links,
    const spectra_str_t *bucket, const spectra_str_t *key, unsigned expires,
    spectra_s3_object_t *obj)
{
    obj->method.data = (u_char *) "GET";
    obj->method.len = 3;
    obj->bucket = *bucket;
    obj->key = *key;
    obj->path_style = links->path_style;
    obj->now = links->now;
    obj->expires = expires;
}


size_t
spectra_bulk_api_size(const spectra_bulk_result_t *res,
    const spectra_bulk_links_t *links)
{
    size_t               n, i;
    spectra_str_t        bucket, prefix;
    spectra_s3_object_t  obj;

    n = 256;

    if (spectra_bulk_target_split(&res->target, &bucket, &prefix)
        != SPECTRA_BULK_OK)
    {
        bucket.len = SPECTRA_S3_BUCKET_MAX;
    }

    for (i = 0; i < res->nfiles; i++) {
        spectra_bulk_object(links, &bucket, &res->files[i].key,
                            links->expires, &obj);
        n += 64 + SPECTRA_BULK_LINK_MAX
             + 2 * spectra_s3_presign_size(links->endpoint, &obj,
                                           links->cred);
    }

    return n;
}


int
spectra_bulk_api(const spectra_bulk_result_t *res,
    const spectra_bulk_links_t *links, u_char *dst, size_t size, size_t *len)
{
    size_t               n, i, ulen, usize;
    int64_t              left;
    u_char              *url;
    spectra_err_t        e;
    spectra_str_t        bucket, prefix;
    spectra_s3_object_t  obj;
    u_char               time[SPECTRA_JOB_TIME_LEN];

    if (spectra_bulk_target_split(&res->target, &bucket, &prefix)
        != SPECTRA_BULK_OK || size < spectra_bulk_api_size(res, links))
    {
        return SPECTRA_BULK_INVALID;
    }

    n = 0;

    spectra_bulk_put_str("{\"format\":\"");
    spectra_bulk_put_str(spectra_bulk_format_name(res->format));
    spectra_bulk_put_str("\",\"compression\":\"");
    spectra_bulk_put_str(spectra_bulk_compression_name(res->compression));
    spectra_bulk_put_str("\",\"expires_at\":");

    if (res->expires_at > 0) {
        spectra_job_time(time, res->expires_at);
        spectra_bulk_put("\"", 1);
        spectra_bulk_put(time, SPECTRA_JOB_TIME_LEN);
        spectra_bulk_put("\"", 1);

    } else {
        spectra_bulk_put_str("null");
    }

    spectra_bulk_put_str(",\"max_downloads\":");

    if (res->max_downloads >= 0) {
        spectra_bulk_put_num(res->max_downloads);

    } else {
        spectra_bulk_put_str("null");
    }

    spectra_bulk_put_str(",\"files\":[");

    /* links never outlive the export's files */
    left = spectra_bulk_link_left(res, links->now, links->expires);

    for (i = 0; i < res->nfiles; i++) {
        spectra_bulk_put_str(i ? ",{\"url\":" : "{\"url\":");

        if (left <= 0 || res->max_downloads >= 0) {
            /* counted downloads go through the stable link only */
            spectra_bulk_put_str("null");

        } else {
            /* the URL is written at the end of dst, then escaped in place */
            spectra_bulk_object(links, &bucket, &res->files[i].key,
                                (unsigned) left, &obj);
            usize = spectra_s3_presign_size(links->endpoint, &obj,
                                            links->cred);
            url = dst + size - usize;

            if (spectra_s3_presign_url(links->endpoint, &obj, links->cred,
                                       url, usize, &ulen, &e)
                != SPECTRA_S3_OK
                || n + 2 + spectra_json_escape_len(url, ulen) > size - usize)
            {
                return SPECTRA_BULK_INVALID;
            }

            spectra_bulk_put_json(url, ulen);
        }

        if (links->job_id.len) {
            spectra_bulk_put_str(",\"link\":\"");
            n += spectra_bulk_link(dst + n, &links->job_id, i);
            spectra_bulk_put("\"", 1);
        }

        spectra_bulk_put_str(",\"size\":");
        spectra_bulk_put_num(res->files[i].size);
        spectra_bulk_put_str(",\"rows\":");
        spectra_bulk_put_num(res->files[i].rows);
        spectra_bulk_put("}", 1);
    }

    spectra_bulk_put_str("]}");

    *len = n;

    return SPECTRA_BULK_OK;
}


int64_t
spectra_bulk_link_left(const spectra_bulk_result_t *res, time_t now,
    unsigned max)
{
    int64_t  left;

    left = (int64_t) max;

    if (res->expires_at > 0) {
        left = res->expires_at / 1000 - (int64_t) now;

        if (left > (int64_t) max) {
            left = (int64_t) max;
        }
    }

    return left;
}


int64_t
spectra_bulk_file_index(const u_char *p, size_t len, size_t nfiles)
{
    size_t    i;
    uint64_t  v;

    if (len == 0 || len > 19 || (len > 1 && p[0] == '0')) {
        return -1;
    }

    v = 0;

    for (i = 0; i < len; i++) {
        if (p[i] < '0' || p[i] > '9') {
            return -1;
        }

        v = v * 10 + (p[i] - '0');
    }

    if (v >= nfiles) {
        return -1;
    }

    return (int64_t) v;
}


size_t
spectra_bulk_link(u_char *dst, const spectra_str_t *job_id, size_t n)
{
    char    num[24];
    size_t  len, l;

    l = (size_t) snprintf(num, sizeof(num), "%zu", n);
    len = sizeof("/v1/bulk/") - 1 + job_id->len + sizeof("/files/") - 1 + l;

    if (dst != NULL) {
        memcpy(dst, "/v1/bulk/", sizeof("/v1/bulk/") - 1);
        dst += sizeof("/v1/bulk/") - 1;
        memcpy(dst, job_id->data, job_id->len);
        dst += job_id->len;
        memcpy(dst, "/files/", sizeof("/files/") - 1);
        dst += sizeof("/files/") - 1;
        memcpy(dst, num, l);
    }

    return len;
}
