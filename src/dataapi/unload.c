/*
 * UNLOAD against the local object directory (--export-dir): the statement
 * form the module builds for bulk exports, parsed by
 * spectra_sql_unload_parse(); the inner query runs as the statement's db
 * user like any other, and its rows are streamed into files laid out as
 * on S3:
 *
 *   s3://bucket/prefix/  ->  EXPORT_DIR/bucket/prefix/0000_part_00[.gz]
 *                            EXPORT_DIR/bucket/prefix/manifest (MANIFEST)
 *
 * Formats: TEXT ('|'), CSV, JSON (one object per line); compression GZIP
 * (zlib) or none. PARQUET and ZSTD are refused. Existing files are never
 * overwritten (Redshift refuses a non-empty destination without
 * ALLOWOVERWRITE).
 */

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zlib.h>

#include "dataapi.h"
#include "spectra_json.h"
#include "spectra_sql.h"


#define DA_UNLOAD_DEFAULT_MB  6348


struct da_unload_s {
    spectra_sql_unload_t   u;
    u_char                *query;       /* unescaped inner query */
    char                  *dir;         /* EXPORT_DIR/bucket/prefix-dir */
    char                  *url_base;    /* s3://bucket/prefix */
    char                  *file_base;   /* EXPORT_DIR/bucket/prefix */
};


typedef struct {
    FILE       *f;
    gzFile      gz;
    char       *path;
    size_t      raw;                   /* bytes before compression */
    int64_t     rows;
} da_part_t;


static int da_mkdirs(char *path);
static int da_part_open(da_unload_t *un, int n, da_part_t *part, char *err,
    size_t errlen);
static int da_part_write(da_part_t *part, const void *p, size_t len);
static int da_part_close(da_part_t *part, json_t *entries,
    const char *url, int64_t *total_bytes);
static int da_write_row(da_unload_t *un, da_part_t *part, PGresult *res,
    int row, json_t *names);
static int da_csv_field(da_part_t *part, const char *p, size_t len,
    u_char delimiter);
static int da_json_string(da_part_t *part, const char *p, size_t len);


void
da_unload_free(da_unload_t *un)
{
    if (un == NULL) {
        return;
    }

    free(un->query);
    free(un->dir);
    free(un->url_base);
    free(un->file_base);
    free(un);
}


/*
 * Returns 1 and *out when sql is an UNLOAD (checked and mapped onto the
 * export directory), 0 when it is not one, -1 with err when it is a bad
 * one.
 */
int
da_unload_prepare(da_ctx_t *ctx, const char *sql, da_unload_t **out,
    char *err, size_t errlen)
{
    spectra_err_t         e;
    da_unload_t          *un;
    const char           *p, *target, *slash;
    size_t                len, tlen, i;

    p = sql;
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') {
        p++;
    }

    if (strncasecmp(p, "unload", 6) != 0
        || !(p[6] == ' ' || p[6] == '\t' || p[6] == '\n' || p[6] == '('))
    {
        return 0;
    }

    if (ctx->export_dir == NULL) {
        snprintf(err, errlen, "UNLOAD needs spectra-dataapi's --export-dir");
        return -1;
    }

    un = calloc(1, sizeof(da_unload_t));
    len = strlen(p);
    if (un == NULL || (un->query = malloc(len + 1)) == NULL) {
        da_unload_free(un);
        snprintf(err, errlen, "Out of memory");
        return -1;
    }

    if (spectra_sql_unload_parse((const u_char *) p, len, un->query, &un->u,
                                 &e) != SPECTRA_SQL_OK)
    {
        snprintf(err, errlen, "UNLOAD: %s", e.message);
        da_unload_free(un);
        return -1;
    }

    un->query[un->u.query.len] = '\0';
    un->u.query.data = un->query;

    if (un->u.format == SPECTRA_SQL_UNLOAD_PARQUET
        || un->u.compression == SPECTRA_SQL_UNLOAD_ZSTD)
    {
        snprintf(err, errlen, "UNLOAD: FORMAT PARQUET and ZSTD are not "
                 "supported by spectra-dataapi");
        da_unload_free(un);
        return -1;
    }

    /* s3://bucket/key-prefix: plain path characters, no "..", no "//" */
    target = (const char *) un->u.target.data;
    tlen = un->u.target.len;

    if (tlen <= 5 || strncmp(target, "s3://", 5) != 0) {
        snprintf(err, errlen, "UNLOAD: the target must be s3://bucket/"
                 "prefix");
        da_unload_free(un);
        return -1;
    }

    for (i = 5; i < tlen; i++) {
        u_char  c = (u_char) target[i];

        if (!(isalnum(c) || c == '-' || c == '_' || c == '.' || c == '='
              || c == '/')
            || (c == '/' && target[i - 1] == '/')
            || (c == '.' && target[i - 1] == '.'))
        {
            snprintf(err, errlen, "UNLOAD: the target may only use letters, "
                     "digits and - _ . = /, without \"..\" or \"//\"");
            da_unload_free(un);
            return -1;
        }
    }

    slash = memchr(target + 5, '/', tlen - 5);
    if (slash == NULL || slash == target + 5 || target[5] == '.') {
        snprintf(err, errlen, "UNLOAD: the target must be s3://bucket/"
                 "prefix");
        da_unload_free(un);
        return -1;
    }

    un->url_base = strndup(target, tlen);
    len = strlen(ctx->export_dir) + tlen + 2;
    un->file_base = malloc(len);
    un->dir = malloc(len);

    if (un->url_base == NULL || un->file_base == NULL || un->dir == NULL) {
        da_unload_free(un);
        snprintf(err, errlen, "Out of memory");
        return -1;
    }

    snprintf(un->file_base, len, "%s/%.*s", ctx->export_dir,
             (int) (tlen - 5), target + 5);
    snprintf(un->dir, len, "%s", un->file_base);
    *strrchr(un->dir, '/') = '\0';

    *out = un;

    return 1;
}


const char *
da_unload_query(const da_unload_t *un)
{
    return (const char *) un->query;
}


static int
da_mkdirs(char *path)
{
    char  *p;

    for (p = path + 1; *p != '\0'; p++) {
        if (*p != '/') {
            continue;
        }

        *p = '\0';
        if (mkdir(path, 0755) != 0 && errno != EEXIST) {
            *p = '/';
            return -1;
        }

        *p = '/';
    }

    if (mkdir(path, 0755) != 0 && errno != EEXIST) {
        return -1;
    }

    return 0;
}


static int
da_part_open(da_unload_t *un, int n, da_part_t *part, char *err,
    size_t errlen)
{
    size_t  len;
    int     fd;

    len = strlen(un->file_base) + 32;
    part->path = malloc(len);
    if (part->path == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }

    snprintf(part->path, len, "%s%04d_part_00%s", un->file_base, n,
             un->u.compression == SPECTRA_SQL_UNLOAD_GZIP ? ".gz" : "");

    fd = open(part->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) {
        snprintf(err, errlen, errno == EEXIST
                 ? "Specified unload destination is not empty"
                 : "cannot create an unload file");
        free(part->path);
        part->path = NULL;
        return -1;
    }

    if (un->u.compression == SPECTRA_SQL_UNLOAD_GZIP) {
        part->gz = gzdopen(fd, "wb6");
        if (part->gz == NULL) {
            close(fd);
        }

    } else {
        part->f = fdopen(fd, "w");
        if (part->f == NULL) {
            close(fd);
        }
    }

    if (part->gz == NULL && part->f == NULL) {
        snprintf(err, errlen, "cannot open an unload file");
        free(part->path);
        part->path = NULL;
        return -1;
    }

    part->raw = 0;
    part->rows = 0;

    return 0;
}


static int
da_part_write(da_part_t *part, const void *p, size_t len)
{
    part->raw += len;

    if (len == 0) {
        return 0;
    }

    if (part->gz != NULL) {
        return gzwrite(part->gz, p, (unsigned) len) == (int) len ? 0 : -1;
    }

    return fwrite(p, 1, len, part->f) == len ? 0 : -1;
}


/* Closes the part and adds its manifest entry. */
static int
da_part_close(da_part_t *part, json_t *entries, const char *url,
    int64_t *total_bytes)
{
    struct stat  st;
    int          rc;

    rc = 0;

    if (part->gz != NULL) {
        rc = gzclose(part->gz) == Z_OK ? 0 : -1;
        part->gz = NULL;
    }

    if (part->f != NULL) {
        rc = fclose(part->f) == 0 ? 0 : -1;
        part->f = NULL;
    }

    if (rc == 0 && stat(part->path, &st) == 0) {
        *total_bytes += st.st_size;
        json_array_append_new(entries,
            json_pack("{s:s, s:{s:I, s:I}}", "url", url, "meta",
                      "content_length", (json_int_t) st.st_size,
                      "record_count", (json_int_t) part->rows));

    } else {
        rc = -1;
    }

    free(part->path);
    part->path = NULL;

    return rc;
}


static int
da_csv_field(da_part_t *part, const char *p, size_t len, u_char delimiter)
{
    size_t  i, start;

    if (strcspn(p, "\"\r\n") >= len && memchr(p, delimiter, len) == NULL) {
        return da_part_write(part, p, len);
    }

    if (da_part_write(part, "\"", 1) != 0) {
        return -1;
    }

    start = 0;

    for (i = 0; i < len; i++) {
        if (p[i] == '"') {
            if (da_part_write(part, p + start, i - start + 1) != 0
                || da_part_write(part, "\"", 1) != 0)
            {
                return -1;
            }

            start = i + 1;
        }
    }

    if (da_part_write(part, p + start, len - start) != 0) {
        return -1;
    }

    return da_part_write(part, "\"", 1);
}


static int
da_json_string(da_part_t *part, const char *p, size_t len)
{
    u_char  *buf;
    size_t   n;
    int      rc;

    n = spectra_json_escape_len((const u_char *) p, len);
    buf = malloc(n + 2);
    if (buf == NULL) {
        return -1;
    }

    buf[0] = '"';
    spectra_json_escape(buf + 1, (const u_char *) p, len);
    buf[n + 1] = '"';

    rc = da_part_write(part, buf, n + 2);
    free(buf);

    return rc;
}


static int
da_write_row(da_unload_t *un, da_part_t *part, PGresult *res, int row,
    json_t *names)
{
    const char   *p, *name;
    size_t        len;
    u_char        delim;
    Oid           type;
    int           i, n, rc, first;

    n = PQnfields(res);

    if (un->u.format == SPECTRA_SQL_UNLOAD_JSON) {
        /*
         * Written by hand so that numbers keep PostgreSQL's exact text
         * (numeric digits, float8's shortest form); NULLs have no key.
         */
        first = 1;

        if (da_part_write(part, "{", 1) != 0) {
            return -1;
        }

        for (i = 0; i < n; i++) {
            if (PQgetisnull(res, row, i)) {
                continue;
            }

            p = PQgetvalue(res, row, i);
            len = (size_t) PQgetlength(res, row, i);
            type = PQftype(res, i);
            name = json_string_value(json_array_get(names, i));

            if ((!first && da_part_write(part, ",", 1) != 0)
                || da_json_string(part, name, strlen(name)) != 0
                || da_part_write(part, ":", 1) != 0)
            {
                return -1;
            }

            first = 0;

            if (type == 16) {
                rc = p[0] == 't' ? da_part_write(part, "true", 4)
                                 : da_part_write(part, "false", 5);

            } else if ((type == 20 || type == 21 || type == 23
                        || type == 700 || type == 701 || type == 1700)
                       && len > 0 && (isdigit((u_char) p[len - 1])))
            {
                /* NaN and Infinity end in a letter: they stay strings */
                rc = da_part_write(part, p, len);

            } else {
                rc = da_json_string(part, p, len);
            }

            if (rc != 0) {
                return -1;
            }
        }

        return da_part_write(part, "}\n", 2);
    }

    delim = un->u.delimiter ? un->u.delimiter
            : (un->u.format == SPECTRA_SQL_UNLOAD_CSV ? ',' : '|');

    for (i = 0; i < n; i++) {
        if (i > 0 && da_part_write(part, &delim, 1) != 0) {
            return -1;
        }

        if (PQgetisnull(res, row, i)) {
            continue;
        }

        p = PQgetvalue(res, row, i);
        len = (size_t) PQgetlength(res, row, i);

        rc = un->u.format == SPECTRA_SQL_UNLOAD_CSV
             ? da_csv_field(part, p, len, delim)
             : da_part_write(part, p, len);

        if (rc != 0) {
            return -1;
        }
    }

    return da_part_write(part, "\n", 1);
}


/*
 * Runs the inner query (s->bound_sql) on conn and streams it into the
 * files. Returns 0 (s->result_rows set) or -1 (s->error set).
 */
int
da_unload_run(da_ctx_t *ctx, PGconn *conn, da_stmt_t *s)
{
    da_unload_t     *un = s->unload;
    da_part_t        part;
    PGresult        *res;
    ExecStatusType   st;
    json_t          *entries, *names, *schema, *manifest;
    char             err[256], url[1024], *text, *path;
    int64_t          rows, bytes;
    size_t           max_bytes;
    int              parts, failed, i, fd;
    size_t           k;
    u_char           delim;
    const char      *tn;

    memset(&part, 0, sizeof(part));
    entries = json_array();
    names = json_array();
    schema = json_array();
    rows = 0;
    bytes = 0;
    parts = 0;
    failed = 0;
    err[0] = '\0';
    max_bytes = (size_t) (un->u.max_file_size_mb ? un->u.max_file_size_mb
                                                 : DA_UNLOAD_DEFAULT_MB)
                * 1024 * 1024;

    if (entries == NULL || names == NULL || schema == NULL
        || da_mkdirs(un->dir) != 0)
    {
        snprintf(err, sizeof(err), "cannot create the unload directory");
        failed = 1;
    }

    if (!failed
        && !PQsendQueryParams(conn, s->bound_sql, s->nvalues, NULL,
                              (const char * const *) s->values, NULL, NULL,
                              0))
    {
        snprintf(err, sizeof(err), "%s", PQerrorMessage(conn));
        failed = 1;
    }

    if (!failed) {
        PQsetSingleRowMode(conn);
    }

    while (!failed && (res = PQgetResult(conn)) != NULL) {
        st = PQresultStatus(res);

        if (st == PGRES_SINGLE_TUPLE || st == PGRES_TUPLES_OK) {
            if (json_array_size(names) == 0 && PQnfields(res) > 0) {
                for (i = 0; i < PQnfields(res); i++) {
                    json_array_append_new(names, json_string(PQfname(res, i)));
                    tn = da_type_name(ctx, PQftype(res, i));
                    json_array_append_new(schema,
                        json_pack("{s:s, s:{s:s}}", "name", PQfname(res, i),
                                  "type", "base",
                                  tn != NULL ? tn : "unknown"));
                }
            }

            for (i = 0; !failed && i < PQntuples(res); i++) {
                if (part.path != NULL && part.raw >= max_bytes) {
                    snprintf(url, sizeof(url), "%s%04d_part_00%s",
                             un->url_base, parts - 1,
                             un->u.compression ? ".gz" : "");
                    if (da_part_close(&part, entries, url, &bytes) != 0) {
                        snprintf(err, sizeof(err), "cannot write an unload "
                                 "file");
                        failed = 1;
                        break;
                    }
                }

                if (part.path == NULL) {
                    if (da_part_open(un, parts++, &part, err, sizeof(err))
                        != 0)
                    {
                        failed = 1;
                        break;
                    }

                    if (un->u.header) {
                        delim = un->u.delimiter ? un->u.delimiter
                                : (un->u.format == SPECTRA_SQL_UNLOAD_CSV
                                   ? ',' : '|');

                        for (k = 0; k < json_array_size(names); k++) {
                            const char  *nm;

                            nm = json_string_value(json_array_get(names, k));
                            if ((k > 0 && da_part_write(&part, &delim, 1))
                                || da_csv_field(&part, nm, strlen(nm), delim))
                            {
                                failed = 1;
                            }
                        }

                        da_part_write(&part, "\n", 1);
                    }
                }

                if (da_write_row(un, &part, res, i, names) != 0) {
                    snprintf(err, sizeof(err), "cannot write an unload "
                             "file");
                    failed = 1;
                    break;
                }

                part.rows++;
                rows++;
            }

        } else if (st != PGRES_COMMAND_OK) {
            da_set_error(s, res, PQerrorMessage(conn));
            failed = 2;
        }

        PQclear(res);
    }

    /* drain what is left after a local failure */
    while ((res = PQgetResult(conn)) != NULL) {
        PQclear(res);
    }

    if (part.path != NULL) {
        snprintf(url, sizeof(url), "%s%04d_part_00%s", un->url_base,
                 parts - 1, un->u.compression ? ".gz" : "");
        if (da_part_close(&part, entries, url, &bytes) != 0 && !failed) {
            snprintf(err, sizeof(err), "cannot write an unload file");
            failed = 1;
        }
    }

    if (!failed && un->u.manifest) {
        manifest = json_pack("{s:O, s:{s:O}, s:{s:s, s:s}, s:{s:I, s:I}}",
                             "entries", entries,
                             "schema", "elements", schema,
                             "author", "name", "spectra-dataapi",
                             "version", DA_VERSION,
                             "meta", "content_length", (json_int_t) bytes,
                             "record_count", (json_int_t) rows);
        text = manifest != NULL
               ? json_dumps(manifest, JSON_INDENT(2) | JSON_PRESERVE_ORDER)
               : NULL;
        json_decref(manifest);

        path = malloc(strlen(un->file_base) + sizeof("manifest"));
        fd = -1;

        if (text != NULL && path != NULL) {
            sprintf(path, "%smanifest", un->file_base);
            fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        }

        if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t) strlen(text)
            || close(fd) != 0)
        {
            snprintf(err, sizeof(err), fd < 0 && errno == EEXIST
                     ? "Specified unload destination is not empty"
                     : "cannot write the manifest");
            failed = 1;
        }

        free(text);
        free(path);
    }

    json_decref(entries);
    json_decref(names);
    json_decref(schema);

    if (failed == 1) {
        snprintf(url, sizeof(url), "ERROR: UNLOAD: %s (SQLSTATE 58030)", err);
        free(s->error);
        s->error = strdup(url);
        snprintf(s->sqlstate, sizeof(s->sqlstate), "58030");
    }

    if (failed) {
        return -1;
    }

    s->has_result_set = 0;
    s->result_rows = rows;
    s->result_size = 0;

    return 0;
}
