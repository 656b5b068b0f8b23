/*
 * UNLOAD against the local object directory (--export-dir): the statement
 * form the module builds for bulk exports, parsed by
 * spectra_sql_unload_parse(); the inner query runs as the statement's db
 * user like any other, and its rows stream into files named and laid out
 * as Redshift names them on S3 (CSV through COPY ... TO STDOUT, which
 * PostgreSQL formats; other formats, and queries with parameters, in
 * single-row mode, formatted here):
 *
 *   s3://bucket/key/prefix_  ->  EXPORT_DIR/bucket/key/prefix_0000_part_00
 *                                ...prefix_0000_part_01 (past MAXFILESIZE)
 *                                ...prefix_000, _001 (PARALLEL OFF)
 *                                ...prefix_manifest (MANIFEST)
 *
 * with ".gz" (GZIP) or ".zst" (ZSTD) appended to the data files, and
 * ".parquet" for FORMAT PARQUET (unload_parquet.c). Every
 * directory is opened below the export directory one name at a time with
 * O_NOFOLLOW and every file created with O_EXCL, so that no symbolic link
 * leads out of it and no existing file is overwritten; a failed UNLOAD
 * removes the files it created.
 */

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "unload.h"


#define DA_UNLOAD_DEFAULT_MB  6348          /* 6.2 GB, as Redshift's */
#define DA_UNLOAD_NAME_ROOM   32            /* "0000_part_00.zst", ... */
#define DA_UNLOAD_SQLSTATE    "58030"       /* io_error */


struct da_unload_s {
    spectra_sql_unload_t   u;
    u_char                *query;       /* unescaped inner query */
    char                  *url;         /* s3://bucket/key/ up to prefix */
    char                  *dirs;        /* bucket/key: the directories */
    char                  *prefix;      /* the name prefix, maybe "" */
};


typedef struct {
    da_unload_t           *un;
    int                    dirfd;
    da_ufile_t             file;
    da_upq_t              *pq;           /* FORMAT PARQUET */
    int                    part;         /* parts opened */
    int                    open;         /* a part is being written */
    int64_t                part_rows;
    char                 **created;      /* names to remove on failure */
    int                    ncreated;
    json_t                *entries;
    int64_t                rows;
    int64_t                records;      /* manifest record_count */
    int64_t                bytes;
    int64_t                max_bytes;    /* MAXFILESIZE */
    char                   err[512];
} da_unload_run_t;


static int da_unload_target(da_unload_t *un, char *err, size_t errlen);
static int da_unload_dir(da_ctx_t *ctx, da_unload_t *un, char *err,
    size_t errlen);
static int da_unload_empty(da_unload_run_t *r);
static void da_unload_name(da_unload_run_t *r, int part, char *buf,
    size_t size);
static int da_unload_create(da_unload_run_t *r, const char *name);
static int da_unload_part_open(da_unload_run_t *r, PGresult *res);
static int da_unload_part_close(da_unload_run_t *r);
static int da_unload_manifest(da_unload_run_t *r, json_t *schema);
static int da_unload_rows(da_ctx_t *ctx, PGconn *conn, da_stmt_t *s,
    da_unload_run_t *r, json_t **schema, char **keys[], int *nkeys);
static int da_unload_copy(da_ctx_t *ctx, PGconn *conn, da_stmt_t *s,
    da_unload_run_t *r, json_t **schema);
static PGresult *da_unload_result(PGconn *conn);
static void da_unload_row_done(da_unload_run_t *r, int64_t raw,
    int64_t max_bytes);
static void da_unload_fail(da_unload_run_t *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));


void
da_unload_free(da_unload_t *un)
{
    if (un == NULL) {
        return;
    }

    free(un->query);
    free(un->url);
    free(un->dirs);
    free(un->prefix);
    free(un);
}


/*
 * s3://bucket/key: a bucket of lowercase letters, digits, '.' and '-'
 * (as S3 names them), then names of letters, digits and - _ . = between
 * single slashes, none of them "." or "..", nothing after the last slash
 * but the name prefix of the files.
 */
static int
da_unload_target(da_unload_t *un, char *err, size_t errlen)
{
    const u_char  *t, *seg;
    size_t         len, i, n, blen;
    const char    *msg;
    u_char         c;

    t = un->u.target.data;
    len = un->u.target.len;
    msg = NULL;

    if (len < 5 || strncmp((const char *) t, "s3://", 5) != 0) {
        snprintf(err, errlen, "UNLOAD: the target must be s3://bucket/"
                 "prefix");
        return -1;
    }

    t += 5;
    len -= 5;

    for (blen = 0; blen < len && t[blen] != '/'; blen++) {
        c = t[blen];

        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.'
              || c == '-'))
        {
            break;
        }
    }

    if (blen == len || t[blen] != '/' || blen < 3 || blen > 63
        || !isalnum(t[0]) || !isalnum(t[blen - 1]))
    {
        snprintf(err, errlen, "UNLOAD: the target must be s3://bucket/"
                 "prefix with a bucket of 3 to 63 lowercase letters, "
                 "digits, '.' and '-'");
        return -1;
    }

    if (len > 1024) {
        snprintf(err, errlen, "UNLOAD: the target's key is longer than "
                 "1024 bytes");
        return -1;
    }

    seg = t;

    for (i = 0; i <= len && msg == NULL; i++) {
        c = i < len ? t[i] : '/';

        if (c == '/') {
            n = (size_t) (t + i - seg);

            if (n == 0 && i < len) {
                msg = "an empty name (\"//\")";

            } else if ((n == 1 && seg[0] == '.')
                       || (n == 2 && seg[0] == '.' && seg[1] == '.'))
            {
                msg = "a \".\" or \"..\" name";

            } else if (n + DA_UNLOAD_NAME_ROOM > NAME_MAX) {
                msg = "a name longer than 223 bytes";
            }

            seg = t + i + 1;
            continue;
        }

        if (!(isalnum(c) || c == '-' || c == '_' || c == '.' || c == '=')) {
            msg = "a character other than letters, digits and - _ . = /";
        }
    }

    if (msg != NULL) {
        snprintf(err, errlen, "UNLOAD: the target may not hold %s", msg);
        return -1;
    }

    /* the directories up to the last slash, then the name prefix */
    for (n = len; t[n - 1] != '/'; n--) { /* void */ }

    un->url = strndup((const char *) un->u.target.data, 5 + n);
    un->dirs = strndup((const char *) t, n - 1);
    un->prefix = strndup((const char *) t + n, len - n);

    if (un->url == NULL || un->dirs == NULL || un->prefix == NULL) {
        snprintf(err, errlen, "Out of memory");
        return -1;
    }

    return 0;
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
    spectra_err_t   e;
    da_unload_t    *un;
    const char     *p;
    size_t          len;

    p = sql;
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') {
        p++;
    }

    if (strncasecmp(p, "unload", 6) != 0
        || !(p[6] == ' ' || p[6] == '\t' || p[6] == '\n' || p[6] == '\r'
             || p[6] == '('))
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

    if (da_unload_target(un, err, errlen) != 0) {
        da_unload_free(un);
        return -1;
    }

    *out = un;

    return 1;
}


const char *
da_unload_query(const da_unload_t *un)
{
    return (const char *) un->query;
}


static void
da_unload_fail(da_unload_run_t *r, const char *fmt, ...)
{
    va_list  ap;

    if (r->err[0] != '\0') {
        return;                         /* the first cause is the one */
    }

    va_start(ap, fmt);
    vsnprintf(r->err, sizeof(r->err), fmt, ap);
    va_end(ap);
}


/*
 * Opens (creating them 0755) the export directory and the target's
 * directories below it, one name at a time: a name that is a symbolic
 * link or not a directory fails (ELOOP, ENOTDIR).
 */
static int
da_unload_dir(da_ctx_t *ctx, da_unload_t *un, char *err, size_t errlen)
{
    char  *path, *name, *slash;
    int    fd, next;

    if (mkdir(ctx->export_dir, 0755) != 0 && errno != EEXIST) {
        snprintf(err, errlen, "cannot create the export directory: %s",
                 strerror(errno));
        return -1;
    }

    fd = open(ctx->export_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "cannot open the export directory: %s",
                 strerror(errno));
        return -1;
    }

    path = strdup(un->dirs);
    if (path == NULL) {
        close(fd);
        snprintf(err, errlen, "out of memory");
        return -1;
    }

    for (name = path; name != NULL; name = slash) {
        slash = strchr(name, '/');
        if (slash != NULL) {
            *slash++ = '\0';
        }

        if (mkdirat(fd, name, 0755) != 0 && errno != EEXIST) {
            snprintf(err, errlen, "cannot create the target directory: %s",
                     strerror(errno));
            break;
        }

        next = openat(fd, name,
                      O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

        if (next < 0 && (errno == ELOOP || errno == ENOTDIR)) {
            snprintf(err, errlen, "the target leads through a symbolic "
                     "link or a file");
            break;
        }

        if (next < 0) {
            snprintf(err, errlen, "cannot open the target directory: %s",
                     strerror(errno));
            break;
        }

        close(fd);
        fd = next;
    }

    if (name != NULL) {
        close(fd);
        fd = -1;
    }

    free(path);

    return fd;
}


/* Redshift refuses a destination that holds files of the prefix. */
static int
da_unload_empty(da_unload_run_t *r)
{
    struct dirent  *de;
    DIR            *dir;
    size_t          plen;
    int             fd, found;

    fd = openat(r->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    dir = fd >= 0 ? fdopendir(fd) : NULL;

    if (dir == NULL) {
        if (fd >= 0) {
            close(fd);
        }

        da_unload_fail(r, "cannot read the target directory: %s",
                       strerror(errno));
        return -1;
    }

    plen = strlen(r->un->prefix);
    found = 0;

    while ((de = readdir(dir)) != NULL) {
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0
            && strncmp(de->d_name, r->un->prefix, plen) == 0)
        {
            found = 1;
            break;
        }
    }

    closedir(dir);

    if (found) {
        da_unload_fail(r, "Specified unload destination is not empty");
        return -1;
    }

    return 0;
}


static void
da_unload_name(da_unload_run_t *r, int part, char *buf, size_t size)
{
    const char  *ext;

    ext = r->un->u.compression == SPECTRA_SQL_UNLOAD_GZIP ? ".gz"
          : r->un->u.compression == SPECTRA_SQL_UNLOAD_ZSTD ? ".zst"
          : r->un->u.format == SPECTRA_SQL_UNLOAD_PARQUET ? ".parquet" : "";

    if (r->un->u.parallel_off) {
        snprintf(buf, size, "%s%03d%s", r->un->prefix, part, ext);

    } else {
        /* one slice (0000), its parts numbered as Redshift's */
        snprintf(buf, size, "%s0000_part_%02d%s", r->un->prefix, part, ext);
    }
}


/* Creates name (0644, never over anything); returns the fd. */
static int
da_unload_create(da_unload_run_t *r, const char *name)
{
    char  **created;
    int     fd;

    created = realloc(r->created, (size_t) (r->ncreated + 1)
                                  * sizeof(char *));
    if (created == NULL) {
        da_unload_fail(r, "out of memory");
        return -1;
    }

    r->created = created;
    r->created[r->ncreated] = strdup(name);

    if (r->created[r->ncreated] == NULL) {
        da_unload_fail(r, "out of memory");
        return -1;
    }

    fd = openat(r->dirfd, name,
                O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);

    if (fd < 0) {
        free(r->created[r->ncreated]);

        if (errno == EEXIST) {
            da_unload_fail(r, "Specified unload destination is not empty");

        } else {
            da_unload_fail(r, "cannot create an unload file: %s",
                           strerror(errno));
        }

        return -1;
    }

    r->ncreated++;

    return fd;
}


static int
da_unload_part_open(da_unload_run_t *r, PGresult *res)
{
    char  name[NAME_MAX + 1];
    int   fd;

    da_unload_name(r, r->part, name, sizeof(name));

    fd = da_unload_create(r, name);
    if (fd < 0) {
        return -1;
    }

    r->part++;
    r->open = 1;
    r->part_rows = 0;

    if (da_ufile_open(&r->file, fd) != 0
        || (r->un->u.header && da_unload_header(&r->file, &r->un->u, res)
                               != 0))
    {
        da_unload_fail(r, "cannot write an unload file: %s",
                       da_ufile_error(&r->file));
        return -1;
    }

    if (r->pq != NULL && da_upq_open(r->pq, &r->file) != 0) {
        da_unload_fail(r, "%s", da_upq_error(r->pq));
        return -1;
    }

    return 0;
}


/* Closes the part and adds its manifest entry. */
static int
da_unload_part_close(da_unload_run_t *r)
{
    json_t   *meta;
    char      name[NAME_MAX + 1], url[2048];
    int64_t   records;

    r->open = 0;

    if (r->pq != NULL && da_upq_close(r->pq) != 0) {
        da_unload_fail(r, "%s", da_upq_error(r->pq));
        return -1;
    }

    if (da_ufile_close(&r->file) != 0) {
        da_unload_fail(r, "cannot write an unload file: %s",
                       da_ufile_error(&r->file));
        return -1;
    }

    da_unload_name(r, r->part - 1, name, sizeof(name));
    snprintf(url, sizeof(url), "%s%s", r->un->url, name);

    /* Redshift counts the header line as a record */
    records = r->part_rows + (r->un->u.header ? 1 : 0);
    r->records += records;
    r->bytes += r->file.bytes;

    meta = r->un->u.manifest_verbose
           ? json_pack("{s:I, s:I}", "content_length",
                       (json_int_t) r->file.bytes, "record_count",
                       (json_int_t) records)
           : json_pack("{s:I}", "content_length",
                       (json_int_t) r->file.bytes);

    if (meta == NULL
        || json_array_append_new(r->entries,
               json_pack("{s:s, s:o}", "url", url, "meta", meta)) != 0)
    {
        da_unload_fail(r, "out of memory");
        return -1;
    }

    return 0;
}


static int
da_unload_manifest(da_unload_run_t *r, json_t *schema)
{
    json_t   *m;
    char     *text, name[NAME_MAX + 1];
    size_t    len, off;
    ssize_t   n;
    int       fd, rc;

    if (r->un->u.manifest_verbose) {
        m = json_pack("{s:O, s:{s:O}, s:{s:I, s:I}, s:{s:s, s:s}}",
                      "entries", r->entries,
                      "schema", "elements", schema,
                      "meta", "content_length", (json_int_t) r->bytes,
                      "record_count", (json_int_t) r->records,
                      "author", "name", "spectra-dataapi",
                      "version", DA_VERSION);

    } else {
        m = json_pack("{s:O}", "entries", r->entries);
    }

    text = m != NULL
           ? json_dumps(m, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
    json_decref(m);

    if (text == NULL) {
        da_unload_fail(r, "out of memory");
        return -1;
    }

    snprintf(name, sizeof(name), "%smanifest", r->un->prefix);

    fd = da_unload_create(r, name);
    if (fd < 0) {
        free(text);
        return -1;
    }

    len = strlen(text);
    text[len++] = '\n';                 /* json_dumps left room for NUL */
    rc = 0;

    for (off = 0; off < len; off += (size_t) n) {
        n = write(fd, text + off, len - off);

        if (n < 0 && errno == EINTR) {
            n = 0;
            continue;
        }

        if (n < 0) {
            da_unload_fail(r, "cannot write the manifest: %s",
                           strerror(errno));
            rc = -1;
            break;
        }
    }

    if (close(fd) != 0 && rc == 0) {
        da_unload_fail(r, "cannot write the manifest: %s", strerror(errno));
        rc = -1;
    }

    free(text);

    return rc;
}


/*
 * After a row: the next row starts a new part if a row like this one
 * (raw: the part's uncompressed bytes before it) would take the part past
 * MAXFILESIZE.
 */
static void
da_unload_row_done(da_unload_run_t *r, int64_t raw, int64_t max_bytes)
{
    r->part_rows++;
    r->rows++;

    /* Parquet: once the part with its buffered row group reaches it */
    if ((r->pq != NULL ? da_upq_size(r->pq)
         : da_ufile_size(&r->file) + (r->file.raw - raw)) > max_bytes)
    {
        da_unload_part_close(r);
    }
}


/* The one result of a statement sent, the first of several. */
static PGresult *
da_unload_result(PGconn *conn)
{
    PGresult  *res, *first;

    first = NULL;

    while ((res = PQgetResult(conn)) != NULL) {
        if (da_pg_copy_end(conn, res)) {
            PQclear(res);
            continue;
        }

        if (first == NULL) {
            first = res;

        } else {
            PQclear(res);
        }
    }

    return first;
}


/*
 * Any format: the rows in single-row mode, each formatted here.  Returns
 * 1 when PostgreSQL failed (s->error set), else 0 (r->err on a failure of
 * the files).
 */
static int
da_unload_rows(da_ctx_t *ctx, PGconn *conn, da_stmt_t *s,
    da_unload_run_t *r, json_t **schema, char **keys[], int *nkeys)
{
    PGresult        *res;
    ExecStatusType   st;
    char             buf[640];
    int64_t          raw;
    int              i, pg_failed, rows_seen;

    pg_failed = 0;
    rows_seen = 0;

    if (!PQsendQueryParams(conn, s->bound_sql, s->nvalues, NULL,
                           (const char * const *) s->values, NULL, NULL, 0))
    {
        da_set_error(s, NULL, PQerrorMessage(conn));
        return 1;
    }

    PQsetSingleRowMode(conn);

    while ((res = PQgetResult(conn)) != NULL) {
        st = PQresultStatus(res);

        if (da_pg_copy_end(conn, res)) {
            if (r->err[0] == '\0' && !pg_failed) {
                free(s->error);
                s->error = strdup(DA_COPY_CLIENT_ERROR);
                snprintf(s->sqlstate, sizeof(s->sqlstate), "0A000");
                pg_failed = 1;
            }

        } else if (r->err[0] != '\0' || pg_failed) {
            /* drained after a failure */

        } else if (st == PGRES_SINGLE_TUPLE || st == PGRES_TUPLES_OK) {
            if (!rows_seen) {
                /* the first result describes the columns */
                rows_seen = 1;

                if (r->un->u.format == SPECTRA_SQL_UNLOAD_JSON) {
                    *nkeys = PQnfields(res);
                    *keys = da_unload_json_keys(res, buf, sizeof(buf));

                    if (*keys == NULL) {
                        da_unload_fail(r, "%s", buf);
                    }
                }

                if (r->un->u.format == SPECTRA_SQL_UNLOAD_PARQUET) {
                    r->pq = da_upq_create(ctx, res, buf, sizeof(buf));

                    if (r->pq == NULL) {
                        da_unload_fail(r, "%s", buf);
                    }
                }

                if (r->un->u.manifest_verbose) {
                    *schema = da_unload_schema(ctx, res);

                    if (*schema == NULL) {
                        da_unload_fail(r, "out of memory");
                    }
                }

                /* a first part even for no rows (and its header) */
                if (r->err[0] == '\0') {
                    da_unload_part_open(r, res);
                }
            }

            for (i = 0; r->err[0] == '\0' && i < PQntuples(res); i++) {
                if (!r->open && da_unload_part_open(r, res) != 0) {
                    break;
                }

                raw = r->file.raw;

                if (r->pq != NULL) {
                    if (da_upq_row(r->pq, res, i) != 0) {
                        da_unload_fail(r, "%s", da_upq_error(r->pq));
                        break;
                    }

                } else if (da_unload_row(&r->file, &r->un->u, res, i, *keys)
                           != 0)
                {
                    da_unload_fail(r, "cannot write an unload file: %s",
                                   da_ufile_error(&r->file));
                    break;
                }

                da_unload_row_done(r, raw, r->max_bytes);
            }

        } else if (st == PGRES_COMMAND_OK) {
            da_unload_fail(r, "the UNLOAD query must return rows "
                           "(a SELECT)");

        } else {
            da_set_error(s, res, PQerrorMessage(conn));
            pg_failed = 1;
        }

        PQclear(res);
    }

    return pg_failed;
}


/*
 * CSV of a query without parameters: described first (its columns, for
 * the headers and the manifest's schema; a statement that returns no
 * rows is refused before it runs), then read with COPY ... TO STDOUT, one
 * row per PQgetCopyData(), formatted by PostgreSQL: the rows only pass
 * through here on their way to the compressor.  Returns as
 * da_unload_rows().
 */
static int
da_unload_copy(da_ctx_t *ctx, PGconn *conn, da_stmt_t *s,
    da_unload_run_t *r, json_t **schema)
{
    PGresult  *desc, *res;
    char      *sql, *row;
    u_char     delim;
    size_t     len;
    int64_t    raw;
    int        n, pg_failed;

    delim = r->un->u.delimiter != 0 ? r->un->u.delimiter : ',';

    if (!PQsendPrepare(conn, "", s->bound_sql, 0, NULL)) {
        da_set_error(s, NULL, PQerrorMessage(conn));
        return 1;
    }

    res = da_unload_result(conn);

    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        da_set_error(s, res, PQerrorMessage(conn));
        PQclear(res);
        return 1;
    }

    PQclear(res);

    if (!PQsendDescribePrepared(conn, "")) {
        da_set_error(s, NULL, PQerrorMessage(conn));
        return 1;
    }

    desc = da_unload_result(conn);

    if (PQresultStatus(desc) != PGRES_COMMAND_OK) {
        da_set_error(s, desc, PQerrorMessage(conn));
        PQclear(desc);
        return 1;
    }

    if (PQnfields(desc) == 0) {
        da_unload_fail(r, "the UNLOAD query must return rows (a SELECT)");
        PQclear(desc);
        return 0;
    }

    if (r->un->u.manifest_verbose) {
        *schema = da_unload_schema(ctx, desc);

        if (*schema == NULL) {
            da_unload_fail(r, "out of memory");
            PQclear(desc);
            return 0;
        }
    }

    sql = da_unload_copy_sql(s->bound_sql, delim);

    if (sql == NULL) {
        da_unload_fail(r, "out of memory");
        PQclear(desc);
        return 0;
    }

    /* a first part even for no rows (and its header) */
    if (da_unload_part_open(r, desc) != 0) {
        free(sql);
        PQclear(desc);
        return 0;
    }

    n = PQsendQuery(conn, sql);
    free(sql);

    if (!n) {
        da_set_error(s, NULL, PQerrorMessage(conn));
        PQclear(desc);
        return 1;
    }

    res = PQgetResult(conn);

    if (PQresultStatus(res) != PGRES_COPY_OUT) {
        da_set_error(s, res, PQerrorMessage(conn));
        PQclear(res);
        PQclear(da_unload_result(conn));
        PQclear(desc);
        return 1;
    }

    PQclear(res);
    pg_failed = 0;

    while ((n = PQgetCopyData(conn, &row, 0)) > 0) {
        /* after a failure of the files: drained */
        if (r->err[0] == '\0'
            && (r->open || da_unload_part_open(r, desc) == 0))
        {
            len = da_unload_copy_row((u_char *) row, (size_t) n, delim);
            raw = r->file.raw;

            if (da_ufile_write(&r->file, row, len) != 0) {
                da_unload_fail(r, "cannot write an unload file: %s",
                               da_ufile_error(&r->file));

            } else {
                da_unload_row_done(r, raw, r->max_bytes);
            }
        }

        PQfreemem(row);
    }

    if (n == -2) {
        da_set_error(s, NULL, PQerrorMessage(conn));
        pg_failed = 1;
    }

    /* the COPY's end: its row count, or why it failed */
    while ((res = PQgetResult(conn)) != NULL) {
        if (!pg_failed && PQresultStatus(res) != PGRES_COMMAND_OK) {
            da_set_error(s, res, PQerrorMessage(conn));
            pg_failed = 1;
        }

        PQclear(res);
    }

    PQclear(desc);

    return pg_failed;
}


/*
 * Runs the inner query (s->bound_sql) on conn and streams it into the
 * files. Returns 0 (s->result_rows set) or -1 (s->error set).
 */
int
da_unload_run(da_ctx_t *ctx, PGconn *conn, da_stmt_t *s)
{
    da_unload_run_t   r;
    json_t           *schema;
    char            **keys, buf[640];
    int               i, nkeys, pg_failed;

    memset(&r, 0, sizeof(r));
    r.un = s->unload;
    r.dirfd = -1;
    keys = NULL;
    nkeys = 0;
    schema = NULL;
    pg_failed = 0;
    r.max_bytes = (int64_t) (r.un->u.max_file_size_mb
                             ? r.un->u.max_file_size_mb
                             : DA_UNLOAD_DEFAULT_MB)
                  * 1024 * 1024;

    r.entries = json_array();

    if (r.entries == NULL
        || da_ufile_init(&r.file, r.un->u.compression) != 0)
    {
        da_unload_fail(&r, "out of memory");

    } else {
        r.dirfd = da_unload_dir(ctx, r.un, r.err, sizeof(r.err));
    }

    if (r.dirfd >= 0 && da_unload_empty(&r) == 0) {
        /* COPY cannot take parameters, nor NULL '\N' a delimiter N */
        pg_failed = r.un->u.format == SPECTRA_SQL_UNLOAD_CSV
                    && s->nvalues == 0 && r.un->u.delimiter != 'N'
                    ? da_unload_copy(ctx, conn, s, &r, &schema)
                    : da_unload_rows(ctx, conn, s, &r, &schema, &keys,
                                     &nkeys);
    }

    if (r.open && r.err[0] == '\0' && !pg_failed) {
        da_unload_part_close(&r);
    }

    if (r.err[0] == '\0' && !pg_failed && r.un->u.manifest) {
        da_unload_manifest(&r, schema);
    }

    if (r.err[0] != '\0' || pg_failed) {
        /* what this UNLOAD created goes: nothing half-written is served */
        da_ufile_abort(&r.file);

        for (i = 0; i < r.ncreated; i++) {
            unlinkat(r.dirfd, r.created[i], 0);
        }
    }

    for (i = 0; i < r.ncreated; i++) {
        free(r.created[i]);
    }

    free(r.created);
    da_upq_free(r.pq);
    da_ufile_free(&r.file);
    da_unload_json_keys_free(keys, nkeys);
    json_decref(schema);
    json_decref(r.entries);

    if (r.dirfd >= 0) {
        close(r.dirfd);
    }

    if (pg_failed) {
        return -1;
    }

    if (r.err[0] != '\0') {
        snprintf(buf, sizeof(buf), "ERROR: UNLOAD: %s (SQLSTATE %s)", r.err,
                 DA_UNLOAD_SQLSTATE);
        free(s->error);
        s->error = strdup(buf);
        snprintf(s->sqlstate, sizeof(s->sqlstate), DA_UNLOAD_SQLSTATE);
        return -1;
    }

    s->has_result_set = 0;
    s->result_rows = r.rows;
    s->result_size = 0;

    return 0;
}
