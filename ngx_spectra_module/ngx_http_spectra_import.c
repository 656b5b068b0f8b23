/*
 * The import API (ngx_http_spectra_import.h).  POST /v1/imports: the body
 * checked by the core (spectra_import), the table by the location's
 * spectra_import_tables, the job recorded Open (phase "open") within the
 * tenant's cap, and 201 with a presigned PUT for the job's one object.
 * PATCH UploadComplete: the object looked up (HEAD through
 * spectra_s3_location), the job moved to phase "uploaded" atomically (a
 * second PATCH is a 409), and the COPY submitted by the statement engine
 * as the tenant; the engine, the supervisor and the jobs endpoints follow
 * it as any job.  Once it has ended, the first answer that shows it reads
 * its load errors (sys_load_error_detail, as the tenant) and keeps the
 * first of them and their count in the job's result
 * (ngx_http_spectra_import_failed.c downloads all of them).
 */


#include "ngx_http_spectra_common.h"
#include "ngx_http_spectra_awscreds.h"
#include "ngx_http_spectra_import.h"
#include "ngx_http_spectra_api.h"
#include "ngx_http_spectra_body.h"
#include "ngx_http_spectra_jobs.h"
#include "ngx_http_spectra_jobs_api.h"
#include "ngx_http_spectra_s3.h"
#include "ngx_http_spectra_statement.h"
#include "ngx_http_spectra_warehouse.h"

#include <spectra_import.h>


#define NGX_HTTP_SPECTRA_IMPORT_MAX_BODY    (64 * 1024)
#define NGX_HTTP_SPECTRA_IMPORT_ERRORS_WAIT 30000


typedef struct {
    ngx_str_t                   group;      /* "": every tenant */
    spectra_import_table_t      table;
} ngx_http_spectra_import_table_t;


typedef struct {
    ngx_array_t                *tables;     /* NULL: no imports here */
    ngx_str_t                   bucket;     /* "": spectra_export_bucket */
    ngx_str_t                   prefix;
    ngx_str_t                   iam_role;   /* "": spectra_export_iam_role */
    time_t                      upload_expires;
    off_t                       max_size;
} ngx_http_spectra_import_loc_conf_t;




static void ngx_http_spectra_import_body(ngx_http_request_t *r);
static ngx_int_t ngx_http_spectra_import_read(ngx_http_request_t *r,
    ngx_http_spectra_import_ctx_t *ic, ngx_str_t *body);
static ngx_int_t ngx_http_spectra_import_allowed(ngx_http_request_t *r,
    ngx_http_spectra_import_ctx_t *ic);
static void ngx_http_spectra_import_find_key(
    ngx_http_spectra_import_ctx_t *ic);
static void ngx_http_spectra_import_key_found(void *data, ngx_int_t rc);
static void ngx_http_spectra_import_new(ngx_http_spectra_import_ctx_t *ic);
static void ngx_http_spectra_import_created(void *data, ngx_int_t rc);
static void ngx_http_spectra_import_patch_body(ngx_http_request_t *r);
static void ngx_http_spectra_import_patch_found(void *data, ngx_int_t rc);
static void ngx_http_spectra_import_head(ngx_http_request_t *r, void *data,
    ngx_uint_t status, ngx_str_t *body);
static void ngx_http_spectra_import_uploaded(void *data, ngx_int_t rc);
static void ngx_http_spectra_import_started(ngx_http_spectra_stmt_t *st);
static void ngx_http_spectra_import_errors_read(ngx_http_spectra_stmt_t *st);
static void ngx_http_spectra_import_errors_stored(void *data, ngx_int_t rc);
static ngx_int_t ngx_http_spectra_import_send(
    ngx_http_spectra_import_ctx_t *ic);
static void ngx_http_spectra_import_place(ngx_http_request_t *r,
    ngx_str_t *bucket, ngx_str_t *iam_role);

static void *ngx_http_spectra_import_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_spectra_import_merge_loc_conf(ngx_conf_t *cf,
    void *parent, void *child);
static char *ngx_http_spectra_import_tables(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);


static ngx_command_t  ngx_http_spectra_import_commands[] = {

    { ngx_string("spectra_import_tables"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_spectra_import_tables,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("spectra_import_bucket"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_spectra_import_loc_conf_t, bucket),
      NULL },

    { ngx_string("spectra_import_prefix"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_spectra_import_loc_conf_t, prefix),
      NULL },

    { ngx_string("spectra_import_iam_role"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_spectra_import_loc_conf_t, iam_role),
      NULL },

    { ngx_string("spectra_import_upload_expires"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_spectra_import_loc_conf_t, upload_expires),
      NULL },

    { ngx_string("spectra_import_max_size"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_off_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_spectra_import_loc_conf_t, max_size),
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_spectra_import_module_ctx = {
    NULL,                                  /* preconfiguration */
    NULL,                                  /* postconfiguration */

    NULL,                                  /* create main configuration */
    NULL,                                  /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_spectra_import_create_loc_conf,
                                           /* create location configuration */
    ngx_http_spectra_import_merge_loc_conf /* merge location configuration */
};


ngx_module_t  ngx_http_spectra_import_module = {
    NGX_MODULE_V1,
    &ngx_http_spectra_import_module_ctx,   /* module context */
    ngx_http_spectra_import_commands,      /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    NULL,                                  /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


/* the bucket and role of this location: its own, or the export's */

static void
ngx_http_spectra_import_place(ngx_http_request_t *r, ngx_str_t *bucket,
    ngx_str_t *iam_role)
{
    ngx_http_spectra_loc_conf_t         *slcf;
    ngx_http_spectra_import_loc_conf_t  *ilcf;

    slcf = ngx_http_get_module_loc_conf(r, ngx_http_spectra_module);
    ilcf = ngx_http_get_module_loc_conf(r, ngx_http_spectra_import_module);

    *bucket = ilcf->bucket.len ? ilcf->bucket : slcf->export_bucket;
    *iam_role = ilcf->iam_role.len ? ilcf->iam_role : slcf->export_iam_role;
}


ngx_int_t
ngx_http_spectra_import_job_call(ngx_http_spectra_import_ctx_t *ic,
    ngx_http_spectra_job_pt handler, ngx_http_spectra_job_call_t **call)
{
    ngx_http_request_t  *r;

    r = ic->request;

    *call = ngx_pcalloc(r->pool, sizeof(ngx_http_spectra_job_call_t));
    if (*call == NULL) {
        return NGX_ERROR;
    }

    (*call)->pool = r->pool;
    (*call)->log = r->connection->log;
    (*call)->connection = r->connection;
    (*call)->handler = handler;
    (*call)->data = ic;

    return NGX_OK;
}


ngx_http_spectra_import_ctx_t *
ngx_http_spectra_import_ctx(ngx_http_request_t *r,
    ngx_http_spectra_tenant_t *tenant, ngx_str_t *id, ngx_uint_t op)
{
    ngx_http_spectra_ctx_t         *ctx;
    ngx_http_spectra_import_ctx_t  *ic;

    ctx = ngx_http_spectra_get_ctx(r);
    ic = ngx_pcalloc(r->pool, sizeof(ngx_http_spectra_import_ctx_t));

    if (ctx == NULL || ic == NULL) {
        return NULL;
    }

    ic->request = r;
    ic->tenant = tenant;
    ic->op = op;

    if (id != NULL) {
        ic->id = *id;
    }

    ctx->endpoint = ic;

    return ic;
}


ngx_int_t
ngx_http_spectra_import_create(ngx_http_request_t *r,
    ngx_http_spectra_tenant_t *tenant, ngx_str_t *id)
{
    ngx_int_t                            rc;
    ngx_str_t                            bucket, role;
    ngx_http_spectra_import_ctx_t       *ic;
    ngx_http_spectra_import_loc_conf_t  *ilcf;

    ilcf = ngx_http_get_module_loc_conf(r, ngx_http_spectra_import_module);
    ngx_http_spectra_import_place(r, &bucket, &role);

    if (ilcf->tables == NULL || bucket.len == 0) {
        ngx_http_discard_request_body(r);

        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "spectra: POST /v1/imports without spectra_import_tables "
                      "and an import bucket in this location");

        return ngx_http_spectra_fail(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                     "UNAVAILABLE",
                                     "imports are not configured here");
    }

    if (ngx_http_spectra_is_json(r) != NGX_OK) {
        return ngx_http_spectra_fail(r, NGX_HTTP_UNSUPPORTED_MEDIA_TYPE,
                                     "UNSUPPORTED_MEDIA_TYPE",
                                     "the request body must be "
                                     "application/json");
    }

    ic = ngx_http_spectra_import_ctx(r, tenant, NULL,
                                     NGX_HTTP_SPECTRA_IMPORT_CREATE);
    if (ic == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rc = ngx_http_read_client_request_body(r, ngx_http_spectra_import_body);

    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        return rc;
    }

    return NGX_DONE;
}


static ngx_int_t
ngx_http_spectra_import_read(ngx_http_request_t *r,
    ngx_http_spectra_import_ctx_t *ic, ngx_str_t *body)
{
    ngx_int_t  rc;

    rc = ngx_http_spectra_body_string(r, NGX_HTTP_SPECTRA_IMPORT_MAX_BODY,
                                      body);

    if (rc == NGX_DECLINED) {
        ic->code = "PAYLOAD_TOO_LARGE";
        (void) spectra_err_set(&ic->err, 0, SPECTRA_POS_NONE,
                               "the request body is larger than %d bytes",
                               NGX_HTTP_SPECTRA_IMPORT_MAX_BODY);
        return NGX_HTTP_REQUEST_ENTITY_TOO_LARGE;
    }

    return (rc == NGX_OK) ? NGX_OK : NGX_ERROR;
}


static void
ngx_http_spectra_import_body(ngx_http_request_t *r)
{
    int                            rc;
    ngx_int_t                      nrc;
    ngx_str_t                      body;
    spectra_pool_t                 pool = ngx_http_spectra_pool(r->pool);
    ngx_http_spectra_ctx_t        *ctx;
    ngx_http_spectra_loc_conf_t   *slcf;
    ngx_http_spectra_import_ctx_t *ic;

    ctx = ngx_http_get_module_ctx(r, ngx_http_spectra_module);
    ic = ctx->endpoint;
    slcf = ngx_http_get_module_loc_conf(r, ngx_http_spectra_module);

    nrc = ngx_http_spectra_import_read(r, ic, &body);

    if (nrc == NGX_OK) {
        rc = spectra_import_parse(body.data, body.len, slcf->query_timeout,
                                  &pool, &ic->im, &ic->err);

        if (rc == SPECTRA_IMPORT_NOMEM) {
            nrc = NGX_ERROR;

        } else if (rc != SPECTRA_IMPORT_OK) {
            ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                          "spectra: import rejected: %s", ic->err.message);
            ic->code = "INVALID_REQUEST";
            nrc = NGX_HTTP_BAD_REQUEST;

        } else {
            nrc = ngx_http_spectra_import_allowed(r, ic);
        }
    }

    if (nrc >= NGX_HTTP_BAD_REQUEST && nrc < NGX_HTTP_INTERNAL_SERVER_ERROR) {
        ngx_http_spectra_finish(r, ngx_http_spectra_fail(r, nrc, ic->code,
                                                         "%s",
                                                         ic->err.message));
        return;
    }

    if (nrc != NGX_OK) {
        ngx_http_spectra_finish(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    /* the same key with another body is a conflict, not a replay */
    spectra_sigv4_sha256_hex(body.data, body.len, ic->hash);

    if (ic->im.idempotency_key.len == 0) {
        ngx_http_spectra_import_new(ic);
        return;
    }

    ngx_http_spectra_import_find_key(ic);
}


/* The table must be one the location allows, for everyone or the group. */

static ngx_int_t
ngx_http_spectra_import_allowed(ngx_http_request_t *r,
    ngx_http_spectra_import_ctx_t *ic)
{
    u_char                               name[2 * SPECTRA_IMPORT_IDENT_MAX + 2];
    size_t                               len;
    ngx_uint_t                           i;
    ngx_http_spectra_import_table_t     *t;
    ngx_http_spectra_import_loc_conf_t  *ilcf;

    ilcf = ngx_http_get_module_loc_conf(r, ngx_http_spectra_import_module);
    t = ilcf->tables->elts;

    for (i = 0; i < ilcf->tables->nelts; i++) {
        if (t[i].group.len
            && (t[i].group.len != ic->tenant->db_group.len
                || ngx_strncmp(t[i].group.data, ic->tenant->db_group.data,
                               t[i].group.len) != 0))
        {
            continue;
        }

        if (spectra_import_table_eq(&t[i].table, &ic->im.table)) {
            return NGX_OK;
        }
    }

    len = spectra_import_table_name(name, &ic->im.table) - name;

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "spectra: import into \"%*s\" refused: not in "
                  "spectra_import_tables", len, name);

    ic->code = "FORBIDDEN";
    (void) spectra_err_set(&ic->err, 0, SPECTRA_POS_NONE,
                           "table \"%.*s\" is not allowed for imports",
                           (int) len, name);

    return NGX_HTTP_FORBIDDEN;
}


static void
ngx_http_spectra_import_find_key(ngx_http_spectra_import_ctx_t *ic)
{
    ngx_http_spectra_job_call_t  *call;

    if (ngx_http_spectra_import_job_call(ic,
                                         ngx_http_spectra_import_key_found,
                                         &call)
        != NGX_OK)
    {
        ngx_http_spectra_finish(ic->request, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    ngx_http_spectra_job_find_key(call, ic->tenant,
                        ngx_http_spectra_ngx_str(&ic->im.idempotency_key),
                        &ic->job);
}


static void
ngx_http_spectra_import_key_found(void *data, ngx_int_t rc)
{
    ngx_http_spectra_import_ctx_t  *ic = data;

    ngx_http_request_t  *r;

    r = ic->request;

    if (rc == NGX_DECLINED) {
        ngx_http_spectra_import_new(ic);
        return;
    }

    if (rc != NGX_OK) {
        ngx_http_spectra_finish(r, ngx_http_spectra_job_fail(r, rc));
        return;
    }

    if (ic->job.type != SPECTRA_JOB_IMPORT
        || ic->job.request_hash.len != SPECTRA_SIGV4_HEX_LEN
        || ngx_memcmp(ic->job.request_hash.data, ic->hash,
                      SPECTRA_SIGV4_HEX_LEN) != 0)
    {
        ngx_http_spectra_finish(r,
            ngx_http_spectra_fail(r, NGX_HTTP_CONFLICT, "CONFLICT",
                                  "idempotency_key was used with a "
                                  "different request"));
        return;
    }

    ngx_http_spectra_import_show(r, &ic->job, 0, NGX_HTTP_OK);
}


/* The job, Open, with the place of its one object. */

static void
ngx_http_spectra_import_new(ngx_http_spectra_import_ctx_t *ic)
{
    int64_t                              now;
    ngx_int_t                            rc;
    spectra_pool_t                       pool;
    spectra_job_t                       *job;
    ngx_str_t                            bucket, role, jid;
    ngx_http_request_t                  *r;
    ngx_http_spectra_job_call_t         *call;
    ngx_http_spectra_loc_conf_t         *slcf;
    ngx_http_spectra_import_loc_conf_t  *ilcf;

    r = ic->request;
    slcf = ngx_http_get_module_loc_conf(r, ngx_http_spectra_module);
    ilcf = ngx_http_get_module_loc_conf(r, ngx_http_spectra_import_module);
    pool = ngx_http_spectra_pool(r->pool);
    job = &ic->job;

    ngx_memzero(job, sizeof(spectra_job_t));

    if (spectra_job_id_new(job->id) != 0) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "spectra: no random bytes for a job id");
        ngx_http_spectra_finish(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    ngx_http_spectra_import_place(r, &bucket, &role);

    now = ngx_http_spectra_job_now();

    jid.data = job->id;
    jid.len = SPECTRA_JOB_ID_LEN;

    ic->res.table = ic->im.table;
    ic->res.format = ic->im.format;
    ic->res.compression = ic->im.compression;
    if (ic->im.format == SPECTRA_SQL_COPY_CSV) {
        ic->res.delimiter = ic->im.delimiter ? ic->im.delimiter : ',';
        ic->res.header = ic->im.header;
    }

    ic->res.max_errors = ic->im.max_errors;
    ic->res.timeout_ms = ic->im.timeout_ms;
    ic->res.bucket = *ngx_http_spectra_str(&bucket);
    ic->res.upload_expires_at = now + (int64_t) ilcf->upload_expires * 1000;
    ic->res.max_size = (uint64_t) ilcf->max_size;
    ic->res.records_failed = -1;

    ic->res.key.len = spectra_import_key_len(
                          ngx_http_spectra_str(&ilcf->prefix),
                          ngx_http_spectra_str(&ic->tenant->tenant_id),
                          ngx_http_spectra_str(&jid));
    ic->res.key.data = ngx_pnalloc(r->pool, ic->res.key.len + 1);
    if (ic->res.key.data == NULL) {
        ngx_http_spectra_finish(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    ic->res.key.len = spectra_import_key(ic->res.key.data,
                          ngx_http_spectra_str(&ilcf->prefix),
                          ngx_http_spectra_str(&ic->tenant->tenant_id),
                          ngx_http_spectra_str(&jid), ic->res.format,
                          ic->res.compression)
                      - ic->res.key.data;

    if (spectra_import_result_write(&ic->res, &pool, &job->result)
        != SPECTRA_IMPORT_OK
        || ngx_http_spectra_import_job_call(ic,
                                            ngx_http_spectra_import_created,
                                            &call)
           != NGX_OK)
    {
        ngx_http_spectra_finish(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    job->tenant_id = *ngx_http_spectra_str(&ic->tenant->tenant_id);
    job->type = SPECTRA_JOB_IMPORT;
    job->status = SPECTRA_JOB_PENDING;
    job->phase.data = (u_char *) SPECTRA_JOB_PHASE_OPEN;
    job->phase.len = sizeof(SPECTRA_JOB_PHASE_OPEN) - 1;
    job->idempotency_key = ic->im.idempotency_key;
    job->request_hash.data = ic->hash;
    job->request_hash.len = SPECTRA_SIGV4_HEX_LEN;
    job->db_user = *ngx_http_spectra_str(&ic->tenant->db_user);
    job->row_count = -1;
    job->execution_ms = -1;
    job->created_at = now;

    /* the supervisor fails it when its upload URL has expired unused */
    job->check_at = ic->res.upload_expires_at + 1000;

    rc = ngx_http_spectra_warehouse_place(r, job);
    if (rc != NGX_OK) {
        ngx_http_spectra_finish(r, ngx_http_spectra_warehouse_fail(r, rc));
        return;
    }

    ngx_http_spectra_job_create(call, job, slcf->max_running);
}


static void
ngx_http_spectra_import_created(void *data, ngx_int_t rc)
{
    ngx_http_spectra_import_ctx_t  *ic = data;

    ngx_http_request_t           *r;
    ngx_http_spectra_ctx_t       *ctx;
    ngx_http_spectra_loc_conf_t  *slcf;

    r = ic->request;
    slcf = ngx_http_get_module_loc_conf(r, ngx_http_spectra_module);

    if (rc != NGX_OK) {
        ngx_http_spectra_warehouse_unplace(&ic->job);
    }

    switch (rc) {

    case NGX_OK:
        ctx = ngx_http_get_module_ctx(r, ngx_http_spectra_module);
        ngx_memcpy(ctx->job_id, ic->job.id, SPECTRA_JOB_ID_LEN + 1);

        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "spectra import %s open", ic->job.id);

        ic->status = NGX_HTTP_CREATED;
        ngx_http_spectra_finish(r, ngx_http_spectra_import_send(ic));
        return;

    case NGX_DECLINED:
        if (ic->im.idempotency_key.len) {
            /* a concurrent request with the same key won the race */
            ngx_http_spectra_import_find_key(ic);
            return;
        }

        break;

    case NGX_BUSY:
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "spectra: tenant \"%V\" has %ui jobs active: import "
                      "refused", &ic->tenant->tenant_id, slcf->max_running);

        ngx_http_spectra_finish(r,
            ngx_http_spectra_fail_busy(r, "CONCURRENCY_LIMITED",
                                       "the tenant has %ui jobs active: "
                                       "retry the import later",
                                       slcf->max_running));
        return;

    default:
        break;
    }

    ngx_http_spectra_finish(r, ngx_http_spectra_job_fail(r, rc));
}


/* GET /v1/imports/{id}: followed as any job, shown as an import. */

ngx_int_t
ngx_http_spectra_import_get(ngx_http_request_t *r,
    ngx_http_spectra_tenant_t *tenant, ngx_str_t *id)
{
    return ngx_http_spectra_jobs_get_type(r, tenant, id, SPECTRA_JOB_IMPORT);
}


/* DELETE /v1/imports/{id}: Open, UploadComplete or InProgress -> Aborted */

ngx_int_t
ngx_http_spectra_import_abort(ngx_http_request_t *r,
    ngx_http_spectra_tenant_t *tenant, ngx_str_t *id)
{
    return ngx_http_spectra_jobs_cancel_type(r, tenant, id,
                                             SPECTRA_JOB_IMPORT);
}


ngx_int_t
ngx_http_spectra_import_patch(ngx_http_request_t *r,
    ngx_http_spectra_tenant_t *tenant, ngx_str_t *id)
{
    ngx_int_t                       rc;
    ngx_http_spectra_import_ctx_t  *ic;

    if (ngx_http_spectra_is_json(r) != NGX_OK) {
        return ngx_http_spectra_fail(r, NGX_HTTP_UNSUPPORTED_MEDIA_TYPE,
                                     "UNSUPPORTED_MEDIA_TYPE",
                                     "the request body must be "
                                     "application/json");
    }

    ic = ngx_http_spectra_import_ctx(r, tenant, id,
                                     NGX_HTTP_SPECTRA_IMPORT_PATCH);
    if (ic == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rc = ngx_http_read_client_request_body(r,
                                          ngx_http_spectra_import_patch_body);

    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        return rc;
    }

    return NGX_DONE;
}


static void
ngx_http_spectra_import_patch_body(ngx_http_request_t *r)
{
    int                             rc;
    ngx_int_t                       nrc;
    ngx_str_t                       body;
    ngx_http_spectra_ctx_t         *ctx;
    ngx_http_spectra_job_call_t    *call;
    ngx_http_spectra_import_ctx_t  *ic;

    ctx = ngx_http_get_module_ctx(r, ngx_http_spectra_module);
    ic = ctx->endpoint;

    nrc = ngx_http_spectra_import_read(r, ic, &body);

    if (nrc == NGX_HTTP_REQUEST_ENTITY_TOO_LARGE) {
        ngx_http_spectra_finish(r, ngx_http_spectra_fail(r, nrc, ic->code,
                                                         "%s",
                                                         ic->err.message));
        return;
    }

    if (nrc != NGX_OK) {
        ngx_http_spectra_finish(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    rc = spectra_import_patch_parse(body.data, body.len, &ic->err);

    if (rc == SPECTRA_IMPORT_INVALID) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "spectra: import change rejected: %s",
                      ic->err.message);
        ngx_http_spectra_finish(r,
            ngx_http_spectra_fail(r, NGX_HTTP_BAD_REQUEST, "INVALID_REQUEST",
                                  "%s", ic->err.message));
        return;
    }

    if (rc == SPECTRA_IMPORT_PATCH_ABORTED) {
        /* as DELETE: the same 404, 409 and cancel */
        nrc = ngx_http_spectra_import_abort(r, ic->tenant, &ic->id);

        if (nrc == NGX_DONE) {
            /* the reference the lookup took, as a content handler's */
            ngx_http_finalize_request(r, NGX_DONE);
            return;
        }

        ngx_http_spectra_finish(r, nrc);
        return;
    }

    if (!spectra_job_id_valid(ic->id.data, ic->id.len)) {
        ngx_http_spectra_finish(r,
            ngx_http_spectra_fail(r, NGX_HTTP_NOT_FOUND, "NOT_FOUND",
                                  "no such import"));
        return;
    }

    if (ngx_http_spectra_import_job_call(ic,
                                         ngx_http_spectra_import_patch_found,
                                         &call)
        != NGX_OK)
    {
        ngx_http_spectra_finish(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    ngx_http_spectra_job_get(call, ic->tenant, &ic->id, &ic->job);
}


/* UploadComplete: only from Open, and only once the object is there. */

static void
ngx_http_spectra_import_patch_found(void *data, ngx_int_t rc)
{
    ngx_http_spectra_import_ctx_t  *ic = data;

    spectra_pool_t           pool;
    ngx_http_request_t      *r;
    ngx_http_spectra_ctx_t  *ctx;

    r = ic->request;
    pool = ngx_http_spectra_pool(r->pool);

    if (rc == NGX_OK && ic->job.type != SPECTRA_JOB_IMPORT) {
        rc = NGX_DECLINED;
    }

    if (rc == NGX_DECLINED) {
        ngx_http_spectra_finish(r,
            ngx_http_spectra_fail(r, NGX_HTTP_NOT_FOUND, "NOT_FOUND",
                                  "no such import"));
        return;
    }

    if (rc != NGX_OK) {
        ngx_http_spectra_finish(r, ngx_http_spectra_job_fail(r, rc));
        return;
    }

    ctx = ngx_http_get_module_ctx(r, ngx_http_spectra_module);
    ngx_memcpy(ctx->job_id, ic->job.id, SPECTRA_JOB_ID_LEN + 1);

    if (ngx_strcmp(spectra_job_import_state(&ic->job), "Open") != 0) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "spectra: import %s is %s: UploadComplete refused",
                      ic->job.id, spectra_job_import_state(&ic->job));

        ngx_http_spectra_finish(r,
            ngx_http_spectra_fail(r, NGX_HTTP_CONFLICT, "CONFLICT",
                                  "the import is %s: only an Open import "
                                  "can become UploadComplete",
                                  spectra_job_import_state(&ic->job)));
        return;
    }

    if (spectra_import_result_read(ic->job.result.data, ic->job.result.len,
                                   &pool, &ic->res, &ic->err)
        != SPECTRA_IMPORT_OK)
    {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "spectra: import %s has a malformed result",
                      ic->job.id);
        ngx_http_spectra_finish(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    if (ngx_http_spectra_s3_head(r, ngx_http_spectra_ngx_str(&ic->res.bucket),
                                 ngx_http_spectra_ngx_str(&ic->res.key),
                                 ngx_http_spectra_import_head, ic)
        != NGX_OK)
    {
        ngx_http_spectra_finish(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
    }
}


static void
ngx_http_spectra_import_head(ngx_http_request_t *r, void *data,
    ngx_uint_t status, ngx_str_t *body)
{
    ngx_http_spectra_import_ctx_t *ic = data;

    int64_t                        now;
    spectra_job_update_t           upd;
    ngx_http_spectra_job_call_t   *call;

    if (status == NGX_HTTP_NOT_FOUND) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "spectra: import %s: UploadComplete without an upload",
                      ic->job.id);

        ngx_http_spectra_finish(r,
            ngx_http_spectra_fail(r, NGX_HTTP_CONFLICT, "CONFLICT",
                                  "nothing was uploaded: PUT the file to "
                                  "the upload URL first"));
        return;
    }

    if (status != NGX_HTTP_OK) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "spectra: the upload of import %s: the object store "
                      "answered %ui", ic->job.id, status);

        ngx_http_spectra_finish(r,
            ngx_http_spectra_fail(r, NGX_HTTP_BAD_GATEWAY, "UPSTREAM_ERROR",
                                  "the upload could not be looked up (the "
                                  "object store answered %ui)", status));
        return;
    }

    if (ic->res.max_size && body->len > ic->res.max_size) {
        ngx_http_spectra_finish(r,
            ngx_http_spectra_fail(r, NGX_HTTP_CONFLICT, "CONFLICT",
                                  "the upload is %uz bytes, more than the "
                                  "%uL allowed", body->len,
                                  ic->res.max_size));
        return;
    }

    if (ngx_http_spectra_import_job_call(ic, ngx_http_spectra_import_uploaded,
                                         &call)
        != NGX_OK)
    {
        ngx_http_spectra_finish(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    now = ngx_http_spectra_job_now();

    /* Open -> UploadComplete once: a PATCH racing this one gets a 409 */

    ngx_memzero(&upd, sizeof(spectra_job_update_t));

    upd.tenant_id = ic->job.tenant_id;
    upd.id = *ngx_http_spectra_str(&ic->id);
    upd.from = SPECTRA_JOB_MASK(SPECTRA_JOB_PENDING);
    upd.phase.data = (u_char *) SPECTRA_JOB_PHASE_UPLOADED;
    upd.phase.len = sizeof(SPECTRA_JOB_PHASE_UPLOADED) - 1;
    upd.from_phase.data = (u_char *) SPECTRA_JOB_PHASE_OPEN;
    upd.from_phase.len = sizeof(SPECTRA_JOB_PHASE_OPEN) - 1;
    upd.row_count = -1;
    upd.execution_ms = -1;
    upd.deadline_at = now + (int64_t) ic->res.timeout_ms;
    /* the request hands it to the supervisor once it has an id */
    upd.check_at = now + 2000;
    upd.now = now;

    ngx_http_spectra_job_change(call, &upd, &ic->job);
}


static void
ngx_http_spectra_import_uploaded(void *data, ngx_int_t rc)
{
    ngx_http_spectra_import_ctx_t *ic = data;

    ngx_str_t                            bucket, role;
    spectra_pool_t                       pool;
    ngx_http_request_t                  *r;
    ngx_http_spectra_ctx_t              *ctx;
    ngx_http_spectra_stmt_t             *st;

    r = ic->request;
    pool = ngx_http_spectra_pool(r->pool);

    if (rc == NGX_DECLINED) {
        ngx_http_spectra_finish(r,
            ngx_http_spectra_fail(r, NGX_HTTP_CONFLICT, "CONFLICT",
                                  "the import is no longer Open: only an "
                                  "Open import can become UploadComplete"));
        return;
    }

    if (rc != NGX_OK) {
        ngx_http_spectra_finish(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    ngx_http_spectra_import_place(r, &bucket, &role);

    st = ngx_http_spectra_stmt_create(r);
    if (st == NULL) {
        ngx_http_spectra_finish(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    if (spectra_import_copy(&ic->res, ngx_http_spectra_str(&role), &pool,
                            ngx_http_spectra_str(&st->sql), &ic->err)
        != SPECTRA_IMPORT_OK)
    {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "spectra: cannot build the COPY of import %s: %s",
                      ic->job.id, ic->err.message);
        ngx_http_spectra_finish(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    ctx = ngx_http_get_module_ctx(r, ngx_http_spectra_module);
    ctx->stmt = st;

    st->job = ic->job;
    st->db_user = ic->tenant->db_user;
    st->row_limit = 0;

    /* submitted, then answered at once: the COPY runs on its own */
    st->wait_until = ngx_http_spectra_job_now();
    st->deadline = ic->job.deadline_at;
    st->data = ic;

    if (ngx_http_spectra_warehouse_bind(st) != NGX_OK
        || (st->conf->secret_arn != NULL
            && ngx_http_complex_value(r, st->conf->secret_arn,
                                      &st->secret_arn)
               != NGX_OK))
    {
        ngx_http_spectra_finish(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "spectra import %s: upload complete", ic->job.id);

    ngx_http_spectra_stmt_execute(st, ngx_http_spectra_import_started);
}


static void
ngx_http_spectra_import_started(ngx_http_spectra_stmt_t *st)
{
    ngx_str_t            message;
    ngx_uint_t           status;
    const char          *code;
    ngx_http_request_t  *r;

    r = st->request;

    switch (st->end) {

    case NGX_HTTP_SPECTRA_END_RUNNING:
        ngx_http_spectra_import_show(r, &st->job, 0, NGX_HTTP_ACCEPTED);
        return;

    case NGX_HTTP_SPECTRA_END_COMPLETED:
    case NGX_HTTP_SPECTRA_END_FAILED:
    case NGX_HTTP_SPECTRA_END_CANCELLED:
    case NGX_HTTP_SPECTRA_END_TIMEOUT:
        /* a failed load is an answer about the import, not an error */
        ngx_http_spectra_import_show(r, &st->job, 0, NGX_HTTP_OK);
        return;

    case NGX_HTTP_SPECTRA_END_GONE:
        ngx_http_spectra_finish(r, NGX_HTTP_CLIENT_CLOSED_REQUEST);
        return;

    case NGX_HTTP_SPECTRA_END_UPSTREAM:
        status = ngx_http_spectra_stmt_upstream_error(st, &code, &message);
        ngx_http_spectra_finish(r, ngx_http_spectra_fail(r, status, code,
                                                         "%V", &message));
        return;

    default:
        ngx_http_spectra_finish(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }
}


/*
 * The import as the API shows it; once its COPY has ended, its load
 * errors are read first (once: they are kept in its result).
 */

void
ngx_http_spectra_import_show(ngx_http_request_t *r, spectra_job_t *job,
    unsigned flags, ngx_uint_t status)
{
    spectra_pool_t                  pool = ngx_http_spectra_pool(r->pool);
    ngx_http_spectra_ctx_t         *ctx;
    ngx_http_spectra_import_ctx_t  *ic;

    ctx = ngx_http_spectra_get_ctx(r);
    ic = ngx_pcalloc(r->pool, sizeof(ngx_http_spectra_import_ctx_t));

    if (ctx == NULL || ic == NULL) {
        ngx_http_spectra_finish(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    ic->request = r;
    ic->tenant = ctx->tenant;
    ic->op = NGX_HTTP_SPECTRA_IMPORT_SHOW;
    ic->job = *job;
    ic->flags = flags;
    ic->status = status;

    if (spectra_import_result_read(job->result.data, job->result.len, &pool,
                                   &ic->res, &ic->err)
        != SPECTRA_IMPORT_OK)
    {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "spectra: import %s has a malformed result", job->id);
        ngx_http_spectra_finish(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    if (ic->res.errors_read
        || (job->status != SPECTRA_JOB_COMPLETED
            && job->status != SPECTRA_JOB_FAILED)
        || job->statement_id.len == 0
        || ic->tenant == NULL)
    {
        ngx_http_spectra_finish(r, ngx_http_spectra_import_send(ic));
        return;
    }

    if (ngx_http_spectra_import_errors(ic,
                                       ngx_http_spectra_import_errors_read)
        != NGX_OK)
    {
        ngx_http_spectra_finish(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
    }
}


/*
 * The load errors query, as the tenant, in a statement of no job (the
 * engine records nothing for it): its rows are the answer.
 */

ngx_int_t
ngx_http_spectra_import_errors(ngx_http_spectra_import_ctx_t *ic,
    ngx_http_spectra_stmt_pt handler)
{
    int64_t                       now;
    spectra_pool_t                pool;
    ngx_http_request_t           *r;
    ngx_http_spectra_ctx_t       *ctx;
    ngx_http_spectra_stmt_t      *st;

    r = ic->request;
    pool = ngx_http_spectra_pool(r->pool);
    ctx = ngx_http_get_module_ctx(r, ngx_http_spectra_module);

    st = ngx_http_spectra_stmt_create(r);
    if (st == NULL) {
        return NGX_ERROR;
    }

    if (spectra_import_errors_sql(&ic->res, &pool,
                                  ngx_http_spectra_str(&st->sql))
        != SPECTRA_IMPORT_OK)
    {
        return NGX_ERROR;
    }

    ctx->stmt = st;

    now = ngx_http_spectra_job_now();

    ngx_memzero(&st->job, sizeof(spectra_job_t));
    st->job.tenant_id = ic->job.tenant_id;
    st->job.warehouse = ic->job.warehouse;
    st->job.type = SPECTRA_JOB_QUERY;
    st->job.status = SPECTRA_JOB_PENDING;
    st->job.row_count = -1;
    st->job.execution_ms = -1;

    st->db_user = ic->tenant->db_user;
    st->row_limit = 0;
    st->want_rows = 1;
    st->started = now;
    st->wait_until = now + NGX_HTTP_SPECTRA_IMPORT_ERRORS_WAIT;
    st->deadline = now + 2 * NGX_HTTP_SPECTRA_IMPORT_ERRORS_WAIT;
    st->cancel_on_wait = 1;
    st->data = ic;

    if (ngx_http_spectra_warehouse_bind(st) != NGX_OK
        || (st->conf->secret_arn != NULL
            && ngx_http_complex_value(r, st->conf->secret_arn,
                                      &st->secret_arn)
               != NGX_OK))
    {
        return NGX_ERROR;
    }

    ngx_http_spectra_stmt_execute(st, handler);

    return NGX_OK;
}


static void
ngx_http_spectra_import_errors_read(ngx_http_spectra_stmt_t *st)
{
    size_t                          n;
    int64_t                         total;
    ngx_str_t                       result;
    spectra_err_t                   err;
    spectra_str_t                   token;
    spectra_pool_t                  pool;
    ngx_http_request_t             *r;
    spectra_job_update_t            upd;
    spectra_import_error_t         *errors;
    ngx_http_spectra_job_call_t    *call;
    ngx_http_spectra_import_ctx_t  *ic;

    r = st->request;
    ic = st->data;
    pool = ngx_http_spectra_pool(r->pool);

    if (st->end != NGX_HTTP_SPECTRA_END_ROWS
        && st->end != NGX_HTTP_SPECTRA_END_COMPLETED)
    {
        /* shown all the same; the next answer asks again */
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "spectra: the load errors of import %s could not be "
                      "read (%d)", ic->job.id, (int) st->end);
        ngx_http_spectra_finish(r, ngx_http_spectra_import_send(ic));
        return;
    }

    errors = NULL;
    n = 0;
    total = 0;

    if (st->end == NGX_HTTP_SPECTRA_END_ROWS
        && spectra_import_errors_page(st->answer.data, st->answer.len, &pool,
                                      &errors, &n, &total, &token, &err)
           != SPECTRA_IMPORT_OK)
    {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "spectra: the load errors of import %s: %s",
                      ic->job.id, err.message);
        ngx_http_spectra_finish(r, ngx_http_spectra_import_send(ic));
        return;
    }

    ic->res.errors_read = 1;
    ic->res.records_failed = (total >= 0) ? total : (int64_t) n;
    ic->res.errors = errors;
    ic->res.nerrors = ngx_min(n, SPECTRA_IMPORT_SHOWN_ERRORS);

    if (spectra_import_result_write(&ic->res, &pool,
                                    ngx_http_spectra_str(&result))
        != SPECTRA_IMPORT_OK
        || ngx_http_spectra_import_job_call(ic,
                                        ngx_http_spectra_import_errors_stored,
                                        &call)
           != NGX_OK)
    {
        ngx_http_spectra_finish(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    ngx_memzero(&upd, sizeof(spectra_job_update_t));

    upd.tenant_id = ic->job.tenant_id;
    upd.id.data = ngx_pstrdup(r->pool, &(ngx_str_t) { SPECTRA_JOB_ID_LEN,
                                                      ic->job.id });
    upd.id.len = SPECTRA_JOB_ID_LEN;
    upd.from = SPECTRA_JOB_MASK(ic->job.status);
    upd.result = *ngx_http_spectra_str(&result);
    upd.row_count = -1;
    upd.execution_ms = -1;

    if (upd.id.data == NULL) {
        ngx_http_spectra_finish(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    ngx_http_spectra_job_change(call, &upd, &ic->job);
}


static void
ngx_http_spectra_import_errors_stored(void *data, ngx_int_t rc)
{
    ngx_http_spectra_import_ctx_t *ic = data;

    if (rc != NGX_OK) {
        ngx_log_error(NGX_LOG_WARN, ic->request->connection->log, 0,
                      "spectra: the load errors of import %s were not "
                      "stored", ic->job.id);
    }

    ngx_http_spectra_finish(ic->request, ngx_http_spectra_import_send(ic));
}


/* The job, its import members, and where to look while it runs. */

static ngx_int_t
ngx_http_spectra_import_send(ngx_http_spectra_import_ctx_t *ic)
{
    u_char                        *url;
    size_t                         size, len;
    time_t                         left;
    ngx_buf_t                     *b;
    ngx_str_t                      members, upload, bucket, role;
    ngx_chain_t                    out;
    spectra_err_t                  err;
    spectra_pool_t                 pool;
    ngx_table_elt_t               *h;
    ngx_http_request_t            *r;
    spectra_s3_object_t            obj;
    time_t                         cexp;
    spectra_sigv4_credentials_t    cred;
    ngx_http_spectra_loc_conf_t   *slcf;

    r = ic->request;
    pool = ngx_http_spectra_pool(r->pool);
    slcf = ngx_http_get_module_loc_conf(r, ngx_http_spectra_module);

    ngx_str_null(&upload);
    ngx_http_spectra_import_place(r, &bucket, &role);

    left = (time_t) ((ic->res.upload_expires_at
                      - ngx_http_spectra_job_now()) / 1000);

    /* while Open, the upload URL, expiring when it was made to */
    if (ngx_strcmp(spectra_job_import_state(&ic->job), "Open") == 0
        && left >= 1)
    {
        if (ngx_http_spectra_awscreds_get(slcf, r->pool, &cred, &cexp)
            != NGX_OK)
        {
            return ngx_http_spectra_fail(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                         "SERVICE_UNAVAILABLE",
                                         "no valid AWS credentials yet");
        }

        cred.region = *ngx_http_spectra_str(&slcf->region);
        cred.service.data = (u_char *) "s3";
        cred.service.len = 2;

        obj.method.data = (u_char *) "PUT";
        obj.method.len = 3;
        obj.bucket = ic->res.bucket;
        obj.key = ic->res.key;
        obj.path_style = slcf->s3_path_style ? 1 : 0;
        obj.now = ngx_time();
        obj.expires = (unsigned) ngx_min(left, SPECTRA_SIGV4_MAX_EXPIRES);

        /* a link dies with the credentials that signed it */
        if (cexp && cexp - obj.now < (time_t) obj.expires) {
            obj.expires = (unsigned) ngx_max(cexp - obj.now, 1);
        }

        size = spectra_s3_presign_size(&slcf->s3_endpoint, &obj, &cred);

        url = ngx_pnalloc(r->pool, size);
        if (url == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        if (spectra_s3_presign_url(&slcf->s3_endpoint, &obj, &cred, url,
                                   size, &len, &err)
            != SPECTRA_S3_OK)
        {
            ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                          "spectra: cannot presign the upload of import %s: "
                          "%s", ic->job.id, err.message);
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        upload.data = url;
        upload.len = len;
    }

    if (spectra_import_api(&ic->res,
                           ic->job.status == SPECTRA_JOB_COMPLETED
                           ? ic->job.row_count
                           : ic->job.status == SPECTRA_JOB_FAILED ? 0 : -1,
                           (const char *) ic->job.id,
                           upload.data ? ngx_http_spectra_str(&upload) : NULL,
                           ic->res.upload_expires_at, &pool,
                           ngx_http_spectra_str(&members))
        != SPECTRA_IMPORT_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    size = spectra_job_json_len(&ic->job, NULL,
                                ic->flags | SPECTRA_JOB_JSON_OPEN)
           + members.len + 2;

    b = ngx_create_temp_buf(r->pool, size);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b->last = spectra_job_json(b->last, &ic->job, NULL,
                               ic->flags | SPECTRA_JOB_JSON_OPEN);
    b->last = ngx_cpymem(b->last, members.data, members.len);
    *b->last++ = '}';
    *b->last++ = '\n';

    out.buf = b;
    out.next = NULL;

    if (ic->status == NGX_HTTP_ACCEPTED || ic->status == NGX_HTTP_CREATED) {
        h = ngx_list_push(&r->headers_out.headers);
        if (h == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        h->hash = 1;
        ngx_str_set(&h->key, "Location");
        h->value.data = ngx_pnalloc(r->pool, sizeof("/v1/imports/") - 1
                                             + SPECTRA_JOB_ID_LEN);
        if (h->value.data == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        h->value.len = ngx_sprintf(h->value.data, "/v1/imports/%s",
                                   ic->job.id)
                       - h->value.data;

        r->headers_out.location = h;
    }

    if (ic->status == NGX_HTTP_ACCEPTED) {
        h = ngx_list_push(&r->headers_out.headers);
        if (h == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        h->value.data = ngx_pnalloc(r->pool, NGX_TIME_T_LEN);
        if (h->value.data == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        h->hash = 1;
        ngx_str_set(&h->key, "Retry-After");
        h->value.len = ngx_sprintf(h->value.data, "%T", slcf->retry_after)
                       - h->value.data;
    }

    return ngx_http_spectra_send_json(r, ic->status, &out);
}


static void *
ngx_http_spectra_import_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_spectra_import_loc_conf_t  *conf;

    conf = ngx_pcalloc(cf->pool, sizeof(ngx_http_spectra_import_loc_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     conf->bucket = { 0, NULL };
     *     conf->prefix = { 0, NULL };
     *     conf->iam_role = { 0, NULL };
     */

    conf->tables = NGX_CONF_UNSET_PTR;
    conf->upload_expires = NGX_CONF_UNSET;
    conf->max_size = NGX_CONF_UNSET;

    return conf;
}


static char *
ngx_http_spectra_import_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child)
{
    ngx_http_spectra_import_loc_conf_t *prev = parent;
    ngx_http_spectra_import_loc_conf_t *conf = child;

    ngx_uint_t     i;
    spectra_err_t  err;

    ngx_conf_merge_ptr_value(conf->tables, prev->tables, NULL);
    ngx_conf_merge_str_value(conf->bucket, prev->bucket, "");
    ngx_conf_merge_str_value(conf->prefix, prev->prefix, "imports");
    ngx_conf_merge_str_value(conf->iam_role, prev->iam_role, "");
    ngx_conf_merge_sec_value(conf->upload_expires, prev->upload_expires,
                             3600);
    ngx_conf_merge_off_value(conf->max_size, prev->max_size,
                             (off_t) 5 * 1024 * 1024 * 1024);

    if (spectra_bulk_prefix_valid(conf->prefix.data, conf->prefix.len, &err)
        != SPECTRA_BULK_OK)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "spectra_import_prefix: %s",
                           err.message);
        return NGX_CONF_ERROR;
    }

    if (conf->bucket.len
        && spectra_s3_bucket_check(NULL, conf->bucket.data, conf->bucket.len,
                                   1, &err)
           != SPECTRA_S3_OK)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "spectra_import_bucket \"%V\": %s", &conf->bucket,
                           err.message);
        return NGX_CONF_ERROR;
    }

    for (i = 0; i < conf->iam_role.len; i++) {
        if (conf->iam_role.data[i] < 0x21 || conf->iam_role.data[i] > 0x7e
            || conf->iam_role.data[i] == '\''
            || conf->iam_role.data[i] == '\\')
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "spectra_import_iam_role must be an ARN or "
                               "\"default\"");
            return NGX_CONF_ERROR;
        }
    }

    if (conf->upload_expires < 1
        || conf->upload_expires > SPECTRA_SIGV4_MAX_EXPIRES)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "spectra_import_upload_expires must be 1s to 7d");
        return NGX_CONF_ERROR;
    }

    if (conf->max_size < 1) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "spectra_import_max_size must be at least 1");
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/* spectra_import_tables [group=NAME] [schema.]table ...; */

static char *
ngx_http_spectra_import_tables(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_spectra_import_loc_conf_t *ilcf = conf;

    ngx_str_t                        *value, group;
    ngx_uint_t                        i;
    spectra_err_t                     err;
    spectra_pool_t                    pool = ngx_http_spectra_pool(cf->pool);
    ngx_http_spectra_import_table_t  *t;

    if (ilcf->tables == NGX_CONF_UNSET_PTR) {
        ilcf->tables = ngx_array_create(cf->pool, 4,
                                     sizeof(ngx_http_spectra_import_table_t));
        if (ilcf->tables == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    value = cf->args->elts;
    ngx_str_null(&group);
    i = 1;

    if (value[1].len > sizeof("group=") - 1
        && ngx_strncmp(value[1].data, "group=", sizeof("group=") - 1) == 0)
    {
        group.data = value[1].data + sizeof("group=") - 1;
        group.len = value[1].len - (sizeof("group=") - 1);
        i = 2;
    }

    if (i == cf->args->nelts) {
        return "needs a table after the group";
    }

    for ( /* void */ ; i < cf->args->nelts; i++) {
        t = ngx_array_push(ilcf->tables);
        if (t == NULL) {
            return NGX_CONF_ERROR;
        }

        t->group = group;

        if (spectra_import_table_parse(value[i].data, value[i].len, &pool,
                                       &t->table, &err)
            != SPECTRA_IMPORT_OK)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "\"%V\": %s", &value[i],
                               err.message);
            return NGX_CONF_ERROR;
        }
    }

    return NGX_CONF_OK;
}
