/*
 * Bulk exports without nginx (docs/exports.md): the body of POST /v1/bulk,
 * where an export goes, its UNLOAD statement, its manifest, and the
 * result a job keeps and the API shows.
 *
 * Guarantees:
 * - a body is parsed as spectra_query.h parses queries: every field typed
 *   and range checked, unknown fields refused, one sentence naming the
 *   field on error; PARQUET is refused until it is supported;
 * - the target is s3://<bucket>/[<prefix>/]tenant=<tenant>/job=<job>/:
 *   bucket and prefix come from the configuration (checked), the tenant
 *   id and job id from the verified caller and the store, so nothing the
 *   caller sends reaches it;
 * - the UNLOAD wraps the statement the SQL policy accepted (only its
 *   range, without trailing comments or ';') as SELECT * FROM (...), so
 *   that the outer SELECT has no LIMIT (Redshift refuses one), writes it
 *   as an escaped literal (spectra_sql_unload_escape()), and asks for
 *   MANIFEST VERBOSE;
 * - a manifest is accepted only when every entry is a file directly in
 *   the export's own prefix (s3://<bucket>/<key prefix><name>, the name of
 *   letters, digits, '.', '_', '-') with a size and a row count.
 */

#ifndef SPECTRA_BULK_H
#define SPECTRA_BULK_H

#include <time.h>

#include "spectra_core.h"
#include "spectra_s3.h"
#include "spectra_sql.h"


#define SPECTRA_BULK_OK             0
#define SPECTRA_BULK_INVALID       -1
#define SPECTRA_BULK_NOMEM         -2

#define SPECTRA_BULK_KEY_MAX        64      /* idempotency_key */
#define SPECTRA_BULK_DOWNLOADS_MAX  1000000
#define SPECTRA_BULK_FILES_MAX      10000
#define SPECTRA_BULK_PREFIX_MAX     512
#define SPECTRA_BULK_NAME_MAX       128     /* a file name in the manifest */


/* Defaults and maxima, from the location's configuration. */
typedef struct {
    uint64_t                            timeout_ms;   /* default, maximum */
} spectra_bulk_limits_t;


typedef struct {
    spectra_str_t                       sql;
    spectra_str_t                       idempotency_key;
    spectra_sql_unload_format_e         format;
    spectra_sql_unload_compression_e    compression;
    u_char                              delimiter;    /* 0: ',' */
    unsigned                            header:1;
    uint64_t                            max_file_size_mb;  /* 0: default */
    int64_t                             max_downloads;     /* -1: none */
    uint64_t                            timeout_ms;
} spectra_bulk_t;


/*
 * {"sql", "format": "csv"|"json"|"parquet", "compression":
 * "gzip"|"zstd"|"none", "csv": {"delimiter", "header"}, "max_file_size"
 * (MB), "max_downloads", "idempotency_key", "timeout_seconds"}.  Strings
 * of b live in pool; sql is NUL-terminated.
 */
int spectra_bulk_parse(const u_char *body, size_t len,
    const spectra_bulk_limits_t *limits, const spectra_pool_t *pool,
    spectra_bulk_t *b, spectra_err_t *err);


/*
 * spectra_export_prefix: empty, or up to SPECTRA_BULK_PREFIX_MAX bytes of
 * segments of letters, digits, '.', '_', '-' separated by single '/',
 * no segment "." or "..", no leading or trailing '/'.
 */
int spectra_bulk_prefix_valid(const u_char *p, size_t len,
    spectra_err_t *err);


/* Where one export goes. */
typedef struct {
    spectra_str_t                       bucket;
    spectra_str_t                       prefix;       /* may be empty */
    spectra_str_t                       tenant_id;
    spectra_str_t                       job_id;
} spectra_bulk_place_t;

/* "[prefix/]tenant=<t>/job=<id>/": the keys of the export start so. */
size_t spectra_bulk_key_prefix_len(const spectra_bulk_place_t *place);
u_char *spectra_bulk_key_prefix(u_char *dst,
    const spectra_bulk_place_t *place);

/* "s3://<bucket>/<key prefix>" */
size_t spectra_bulk_target_len(const spectra_bulk_place_t *place);
u_char *spectra_bulk_target(u_char *dst, const spectra_bulk_place_t *place);

/*
 * Splits a target back into bucket and key prefix (pointing into it);
 * SPECTRA_BULK_INVALID when it is not "s3://<bucket>/<...>/".
 */
int spectra_bulk_target_split(const spectra_str_t *target,
    spectra_str_t *bucket, spectra_str_t *key_prefix);


/*
 * The UNLOAD of b's options around the statement that spectra_sql_check()
 * accepted in sql (info says where it is), into out (in pool).
 */
int spectra_bulk_unload(const spectra_bulk_t *b, const u_char *sql,
    const spectra_sql_info_t *info, const spectra_str_t *target,
    const spectra_str_t *iam_role, const spectra_pool_t *pool,
    spectra_str_t *out, spectra_err_t *err);


typedef struct {
    spectra_str_t                       key;      /* in the bucket */
    int64_t                             size;     /* bytes */
    int64_t                             rows;
} spectra_bulk_file_t;

/*
 * The files a (verbose) manifest lists, in its order; keys point into
 * pool.  bucket and key_prefix are the export's.  With header, each
 * file's record_count includes its header line, as Redshift counts it:
 * the file's rows are one fewer.
 */
int spectra_bulk_manifest_parse(const u_char *p, size_t len,
    unsigned header, const spectra_str_t *bucket,
    const spectra_str_t *key_prefix,
    const spectra_pool_t *pool, spectra_bulk_file_t **files, size_t *nfiles,
    spectra_err_t *err);


/* What a bulk job keeps in its "result" (JSON text). */
typedef struct {
    spectra_sql_unload_format_e         format;
    spectra_sql_unload_compression_e    compression;
    spectra_str_t                       target;
    int64_t                             max_downloads;  /* -1: none */
    int64_t                             expires_at;     /* ms, 0: none yet */
    unsigned                            header:1;       /* CSV HEADER */
    spectra_bulk_file_t                *files;
    size_t                              nfiles;
    unsigned                            listed:1;       /* files known */
} spectra_bulk_result_t;

/*
 * {"format","compression","target","max_downloads","expires_at",
 * "files":[{"key","size","rows"}] or null}; the exact length.
 */
size_t spectra_bulk_result_len(const spectra_bulk_result_t *res);
u_char *spectra_bulk_result(u_char *dst, const spectra_bulk_result_t *res);

/* Reads that text back; strings point into pool. */
int spectra_bulk_result_read(const u_char *p, size_t len,
    const spectra_pool_t *pool, spectra_bulk_result_t *res,
    spectra_err_t *err);


/* How the API's download links are signed. */
typedef struct {
    const spectra_s3_endpoint_t        *endpoint;
    unsigned                            path_style;
    const spectra_sigv4_credentials_t  *cred;       /* service "s3" */
    time_t                              now;
    unsigned                            expires;    /* seconds */
    spectra_str_t                       job_id;     /* empty: no "link" */
} spectra_bulk_links_t;

/*
 * The result as the API shows it: {"format","compression","expires_at",
 * "max_downloads","files":[{"url","link","size","rows"}]}, each url
 * presigned until now + expires, never past expires_at (after it: null),
 * and null when max_downloads is set (only the counted stable link may
 * reach the file); "link" is the stable "/v1/bulk/<job>/files/<n>" (n
 * from 0, the file's index), when job_id is given.  The size is a bound;
 * spectra_bulk_api() sets the length it wrote.
 */
size_t spectra_bulk_api_size(const spectra_bulk_result_t *res,
    const spectra_bulk_links_t *links);
int spectra_bulk_api(const spectra_bulk_result_t *res,
    const spectra_bulk_links_t *links, u_char *dst, size_t size,
    size_t *len);

/*
 * How long a link presigned at now may live: at most max seconds, never
 * past expires_at (0: no bound); 0 or less when the export has expired.
 */
int64_t spectra_bulk_link_left(const spectra_bulk_result_t *res,
    time_t now, unsigned max);

/*
 * The file index {n} of /v1/bulk/{id}/files/{n}: decimal digits without a
 * leading zero (but "0"), below nfiles.  Returns the index, or -1 when it
 * is not a number or out of range.
 */
int64_t spectra_bulk_file_index(const u_char *p, size_t len, size_t nfiles);

/* "/v1/bulk/<job>/files/<n>" */
#define SPECTRA_BULK_LINK_MAX  (sizeof("/v1/bulk//files/") - 1 + 64 + 20)
size_t spectra_bulk_link(u_char *dst, const spectra_str_t *job_id,
    size_t n);

const char *spectra_bulk_format_name(spectra_sql_unload_format_e format);
const char *spectra_bulk_compression_name(
    spectra_sql_unload_compression_e compression);

#endif /* SPECTRA_BULK_H */
