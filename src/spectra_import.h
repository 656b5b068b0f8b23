/*
 * Bulk imports without nginx (docs/imports.md): the body of POST
 * /v1/imports and of PATCH /v1/imports/{id}, table names, where the
 * upload goes, the COPY that loads it and the query of its load errors,
 * the result an import job keeps, and the failed records as CSV.
 *
 * Guarantees:
 * - a body is parsed as spectra_bulk.h parses exports: every field typed
 *   and range checked, unknown fields refused, one sentence naming the
 *   field on error; "parquet" is refused until Parquet import exists;
 * - a table name is [schema.]name of unquoted identifiers
 *   ([a-z_][a-z0-9_]*, 1 to 63 bytes each, lowercased as PostgreSQL and
 *   Redshift fold them); nothing else the caller sends reaches a
 *   statement, and the table still has to be allowed by configuration;
 * - the object key is [<prefix>/]tenant=<tenant>/job=<job>/data.<ext>
 *   (csv or json, .gz or .zst), from the configuration, the verified
 *   tenant and the store's job id;
 * - the load errors query names the job's own source only (quoted as a
 *   literal);
 * - results and load-error pages are read with jansson and checked; a
 *   malformed one is refused, never half used.
 */

#ifndef SPECTRA_IMPORT_H
#define SPECTRA_IMPORT_H

#include "spectra_core.h"
#include "spectra_sql.h"


#define SPECTRA_IMPORT_OK               0
#define SPECTRA_IMPORT_INVALID         -1
#define SPECTRA_IMPORT_NOMEM           -2
#define SPECTRA_IMPORT_UNSUPPORTED     -3   /* parquet: not yet */

#define SPECTRA_IMPORT_IDENT_MAX        63
#define SPECTRA_IMPORT_KEY_MAX          64  /* idempotency_key */
#define SPECTRA_IMPORT_MAX_ERRORS       100000
#define SPECTRA_IMPORT_SHOWN_ERRORS     10  /* errors a GET shows */
#define SPECTRA_IMPORT_REASON_MAX       512


typedef struct {
    spectra_str_t                       schema;   /* "": unqualified */
    spectra_str_t                       name;
} spectra_import_table_t;


typedef struct {
    spectra_import_table_t              table;
    spectra_sql_copy_format_e           format;
    spectra_sql_unload_compression_e    compression;
    u_char                              delimiter;    /* 0: ',' */
    unsigned                            header:1;
    uint64_t                            max_errors;
    uint64_t                            timeout_ms;
    spectra_str_t                       idempotency_key;
} spectra_import_t;


/* One record the load rejected (sys_load_error_detail). */
typedef struct {
    int64_t                             line;
    spectra_str_t                       column;
    spectra_str_t                       code;     /* e.g. "1207" */
    spectra_str_t                       reason;
    spectra_str_t                       raw;
} spectra_import_error_t;


/* What an import job keeps in its result (JSON text). */
typedef struct {
    spectra_import_table_t              table;
    spectra_sql_copy_format_e           format;
    spectra_sql_unload_compression_e    compression;
    u_char                              delimiter;
    unsigned                            header:1;
    unsigned                            errors_read:1;
    uint64_t                            max_errors;
    uint64_t                            timeout_ms;
    spectra_str_t                       bucket;
    spectra_str_t                       key;
    int64_t                             upload_expires_at;  /* ms */
    uint64_t                            max_size;
    int64_t                             records_failed;     /* -1: unknown */
    spectra_import_error_t             *errors;             /* the first */
    size_t                              nerrors;
} spectra_import_result_t;


/*
 * {"table", "format": "csv"|"json", "compression": "gzip"|"zstd"|"none",
 * "csv": {"delimiter", "header"}, "max_errors", "timeout_seconds",
 * "idempotency_key"}; default_timeout_ms is the default and the maximum.
 */
int spectra_import_parse(const u_char *body, size_t len,
    uint64_t default_timeout_ms, const spectra_pool_t *pool,
    spectra_import_t *im, spectra_err_t *err);

/* [schema.]name, lowercased into pool. */
int spectra_import_table_parse(const u_char *p, size_t len,
    const spectra_pool_t *pool, spectra_import_table_t *t,
    spectra_err_t *err);
/* "schema.name" or "name", as the errors name it */
size_t spectra_import_table_len(const spectra_import_table_t *t);
u_char *spectra_import_table_name(u_char *dst,
    const spectra_import_table_t *t);
int spectra_import_table_eq(const spectra_import_table_t *a,
    const spectra_import_table_t *b);

/*
 * {"state": "UploadComplete"|"Aborted"}: 1 (UploadComplete), 2 (Aborted),
 * or SPECTRA_IMPORT_INVALID (err says why).
 */
#define SPECTRA_IMPORT_PATCH_UPLOADED   1
#define SPECTRA_IMPORT_PATCH_ABORTED    2

int spectra_import_patch_parse(const u_char *body, size_t len,
    spectra_err_t *err);

/* The object key (no NUL); prefix checked as spectra_export_prefix. */
size_t spectra_import_key_len(const spectra_str_t *prefix,
    const spectra_str_t *tenant, const spectra_str_t *job_id);
u_char *spectra_import_key(u_char *dst, const spectra_str_t *prefix,
    const spectra_str_t *tenant, const spectra_str_t *job_id,
    spectra_sql_copy_format_e format,
    spectra_sql_unload_compression_e compression);

/* The COPY of the result's object, into pool (NUL-terminated). */
int spectra_import_copy(const spectra_import_result_t *res,
    const spectra_str_t *iam_role, const spectra_pool_t *pool,
    spectra_str_t *sql, spectra_err_t *err);

/* SELECT ... FROM sys_load_error_detail WHERE file_name = '<source>' */
int spectra_import_errors_sql(const spectra_import_result_t *res,
    const spectra_pool_t *pool, spectra_str_t *sql);

/*
 * One GetStatementResult page of that query: its records into *errors,
 * the total (TotalNumRows, or -1) and NextToken (data NULL: the last).
 */
int spectra_import_errors_page(const u_char *body, size_t len,
    const spectra_pool_t *pool, spectra_import_error_t **errors,
    size_t *n, int64_t *total, spectra_str_t *next_token,
    spectra_err_t *err);

/* CSV of failed records: the header line, then one line per record. */
size_t spectra_import_csv_header(u_char *dst);
size_t spectra_import_csv_len(const spectra_import_error_t *e, size_t n);
u_char *spectra_import_csv(u_char *dst, const spectra_import_error_t *e,
    size_t n);

/* The job's result, as JSON text in pool, and read back. */
int spectra_import_result_write(const spectra_import_result_t *res,
    const spectra_pool_t *pool, spectra_str_t *out);
int spectra_import_result_read(const u_char *p, size_t len,
    const spectra_pool_t *pool, spectra_import_result_t *res,
    spectra_err_t *err);

/*
 * The members the API adds to an import job's JSON (",\"table\":...",
 * no braces), in pool: options, counters, the first errors, the link to
 * the failed records, and the upload (url NULL: none to show).
 */
int spectra_import_api(const spectra_import_result_t *res,
    int64_t rows_loaded, const char *job_id, const spectra_str_t *url,
    int64_t url_expires_at, const spectra_pool_t *pool, spectra_str_t *out);

const char *spectra_import_format_name(spectra_sql_copy_format_e format);

#endif /* SPECTRA_IMPORT_H */
