/*
 * The bulk API (ngx_http_spectra_bulk.h).  POST /v1/bulk: the body checked
 * by the core (spectra_bulk), the SQL by the same policy as queries, the
 * job recorded within the tenant's cap of running statements, its UNLOAD
 * (to a target the caller cannot influence) submitted by the statement
 * engine, and 202 with the job.  The engine, the supervisor and the jobs
 * endpoints follow it as any job.  Once it has completed, the first
 * answer that shows it reads its manifest from the object store, keeps
 * the files in the job's result, and every answer presigns fresh links.
 */


#include "ngx_http_spectra_common.h"
#include "ngx_http_spectra_awscreds.h"
#include "ngx_http_spectra_bulk.h"
#include "ngx_http_spectra_api.h"
#include "ngx_http_spectra_body.h"
#include "ngx_http_spectra_jobs.h"
#include "ngx_http_spectra_jobs_api.h"
#include "ngx_http_spectra_link.h"
#include "ngx_http_spectra_s3.h"
#include "ngx_http_spectra_statement.h"
#include "ngx_http_spectra_warehouse.h"


#define NGX_HTTP_SPECTRA_BULK_MAX_BODY  (16 * 1024 * 1024)


typedef struct {
    ngx_http_request_t         *request;
    ngx_http_spectra_tenant_t  *tenant;
    spectra_bulk_t              b;
    spectra_sql_info_t          info;
    spectra_job_t               job;
    ngx_str_t                   unload;
    u_char                      hash[SPECTRA_SIGV4_HEX_LEN];
    spectra_err_t               err;           /* of a 4xx answer */
    const char                 *code;
} ngx_http_spectra_bulk_ctx_t;


/* a completed export being shown: its manifest is read first */
typedef struct {
    ngx_http_request_t         *request;
    spectra_job_t               job;
    spectra_bulk_result_t       res;
    ngx_str_t                   bucket;
    ngx_str_t                   key_prefix;
    unsigned                    flags;
    ngx_uint_t                  status;
    ngx_str_t                   link;          /* {n}: a stable link */
} ngx_http_spectra_bulk_show_t;


static void ngx_http_spectra_bulk_body(ngx_http_request_t *r);
static ngx_int_t ngx_http_spectra_bulk_read(ngx_http_request_t *r,
    ngx_http_spectra_bulk_ctx_t *bc);
static ngx_int_t ngx_http_spectra_bulk_sql(ngx_http_request_t *r,
    ngx_http_spectra_bulk_ctx_t *bc);
static void ngx_http_spectra_bulk_find_key(ngx_http_spectra_bulk_ctx_t *bc);
static void ngx_http_spectra_bulk_key_found(void *data, ngx_int_t rc);
static void ngx_http_spectra_bulk_new(ngx_http_spectra_bulk_ctx_t *bc);
static void ngx_http_spectra_bulk_created(void *data, ngx_int_t rc);
static void ngx_http_spectra_bulk_run(ngx_http_spectra_bulk_ctx_t *bc);
static void ngx_http_spectra_bulk_started(ngx_http_spectra_stmt_t *st);
static void ngx_http_spectra_bulk_manifest(ngx_http_request_t *r,
    void *data, ngx_uint_t status, ngx_str_t *body);
static void ngx_http_spectra_bulk_stored(void *data, ngx_int_t rc);
static void ngx_http_spectra_bulk_show_job(ngx_http_request_t *r,
    spectra_job_t *job, unsigned flags, ngx_uint_t status, ngx_str_t *link);
static ngx_int_t ngx_http_spectra_bulk_answer(
    ngx_http_spectra_bulk_show_t *sc);
static ngx_int_t ngx_http_spectra_bulk_send(ngx_http_request_t *r,
    ngx_uint_t status, spectra_job_t *job, unsigned flags,
    spectra_bulk_result_t *res);


ngx_int_t
ngx_http_spectra_bulk_create(ngx_http_request_t *r,
    ngx_http_spectra_tenant_t *tenant, ngx_str_t *id)
{
    ngx_int_t                      rc;
    ngx_http_spectra_ctx_t        *ctx;
    ngx_http_spectra_bulk_ctx_t   *bc;
    ngx_http_spectra_loc_conf_t   *slcf;

    slcf = ngx_http_get_module_loc_conf(r, ngx_http_spectra_module);

    if (slcf->export_bucket.len == 0) {
        ngx_http_discard_request_body(r);

        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "spectra: POST /v1/bulk without spectra_export_bucket "
                      "in this location");

        return ngx_http_spectra_fail(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                     "UNAVAILABLE",
                                     "exports are not configured here");
    }

    if (ngx_http_spectra_is_json(r) != NGX_OK) {
        return ngx_http_spectra_fail(r, NGX_HTTP_UNSUPPORTED_MEDIA_TYPE,
                                     "UNSUPPORTED_MEDIA_TYPE",
                                     "the request body must be "
                                     "application/json");
    }

    ctx = ngx_http_spectra_get_ctx(r);
    bc = ngx_pcalloc(r->pool, sizeof(ngx_http_spectra_bulk_ctx_t));

    if (ctx == NULL || bc == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    bc->request = r;
    bc->tenant = tenant;
    ctx->endpoint = bc;

    rc = ngx_http_read_client_request_body(r, ngx_http_spectra_bulk_body);

    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        return rc;
    }

    return NGX_DONE;
}


ngx_int_t
ngx_http_spectra_bulk_get(ngx_http_request_t *r,
    ngx_http_spectra_tenant_t *tenant, ngx_str_t *id)
{
    return ngx_http_spectra_jobs_get_type(r, tenant, id, SPECTRA_JOB_BULK);
}


ngx_int_t
ngx_http_spectra_bulk_cancel(ngx_http_request_t *r,
    ngx_http_spectra_tenant_t *tenant, ngx_str_t *id)
{
    return ngx_http_spectra_jobs_cancel_type(r, tenant, id,
                                             SPECTRA_JOB_BULK);
}


static void
ngx_http_spectra_bulk_body(ngx_http_request_t *r)
{
    ngx_int_t                     rc;
    ngx_http_spectra_ctx_t       *ctx;
    ngx_http_spectra_bulk_ctx_t  *bc;

    ctx = ngx_http_get_module_ctx(r, ngx_http_spectra_module);
    bc = ctx->endpoint;

    rc = ngx_http_spectra_bulk_read(r, bc);

    if (rc == NGX_OK) {
        rc = ngx_http_spectra_bulk_sql(r, bc);
    }

    if (rc >= NGX_HTTP_BAD_REQUEST && rc < NGX_HTTP_INTERNAL_SERVER_ERROR) {
        ngx_http_spectra_finish(r, ngx_http_spectra_fail(r, rc, bc->code,
                                                         "%s",
                                                         bc->err.message));
        return;
    }

    if (rc != NGX_OK) {
        ngx_http_spectra_finish(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    if (bc->b.idempotency_key.len == 0) {
        ngx_http_spectra_bulk_new(bc);
        return;
    }

    ngx_http_spectra_bulk_find_key(bc);
}


/*
 * The body, parsed and range checked by the core.  Returns NGX_OK, the
 * 4xx status of a bad request (bc->code and bc->err say why), or
 * NGX_ERROR.
 */

static ngx_int_t
ngx_http_spectra_bulk_read(ngx_http_request_t *r,
    ngx_http_spectra_bulk_ctx_t *bc)
{
    off_t                          max;
    ngx_int_t                      rc;
    ngx_str_t                      body;
    spectra_pool_t                 pool = ngx_http_spectra_pool(r->pool);
    spectra_bulk_limits_t          limits;
    ngx_http_core_loc_conf_t      *clcf;
    ngx_http_spectra_loc_conf_t   *slcf;
    ngx_http_spectra_main_conf_t  *smcf;

    clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);
    slcf = ngx_http_get_module_loc_conf(r, ngx_http_spectra_module);

    max = clcf->client_max_body_size ? clcf->client_max_body_size
                                     : NGX_HTTP_SPECTRA_BULK_MAX_BODY;

    rc = ngx_http_spectra_body_string(r, (size_t) max, &body);

    if (rc == NGX_DECLINED) {
        bc->code = "PAYLOAD_TOO_LARGE";
        (void) spectra_err_set(&bc->err, 0, SPECTRA_POS_NONE,
                               "the request body is larger than %lld bytes",
                               (long long) max);
        return NGX_HTTP_REQUEST_ENTITY_TOO_LARGE;
    }

    if (rc != NGX_OK) {
        return NGX_ERROR;
    }

    limits.timeout_ms = slcf->query_timeout;

    rc = spectra_bulk_parse(body.data, body.len, &limits, &pool, &bc->b,
                            &bc->err);

    if (rc == SPECTRA_BULK_NOMEM) {
        return NGX_ERROR;
    }

    if (rc != SPECTRA_BULK_OK) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "spectra: export rejected: %s", bc->err.message);

        bc->code = "INVALID_REQUEST";
        return NGX_HTTP_BAD_REQUEST;
    }

    smcf = ngx_http_get_module_main_conf(r, ngx_http_spectra_module);

    if (bc->b.max_downloads >= 0 && smcf->downloads == NULL) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "spectra: export rejected: max_downloads without "
                      "spectra_download_zone");

        bc->code = "INVALID_REQUEST";
        (void) spectra_err_set(&bc->err, 0, SPECTRA_POS_NONE,
                               "max_downloads is not available here: the "
                               "server has no spectra_download_zone to "
                               "count downloads in");
        return NGX_HTTP_BAD_REQUEST;
    }

    /* the same key with another body is a conflict, not a replay */
    spectra_sigv4_sha256_hex(body.data, body.len, bc->hash);

    return NGX_OK;
}


/* The read-only policy of queries; a rejection is a 400 INVALID_SQL. */

static ngx_int_t
ngx_http_spectra_bulk_sql(ngx_http_request_t *r,
    ngx_http_spectra_bulk_ctx_t *bc)
{
    ngx_http_spectra_loc_conf_t  *slcf;

    slcf = ngx_http_get_module_loc_conf(r, ngx_http_spectra_module);

    if (spectra_sql_check(&slcf->policy, bc->b.sql.data, bc->b.sql.len,
                          &bc->info, &bc->err)
        != SPECTRA_SQL_OK)
    {
        if (bc->err.position != SPECTRA_POS_NONE) {
            ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                          "spectra: SQL rejected: %s (byte %uz)",
                          bc->err.message, bc->err.position);

        } else {
            ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                          "spectra: SQL rejected: %s", bc->err.message);
        }

        bc->code = "INVALID_SQL";
        return NGX_HTTP_BAD_REQUEST;
    }

    if (bc->info.nparams) {
        (void) spectra_err_set(&bc->err, 0, SPECTRA_POS_NONE,
                               "an export takes no parameters, and its SQL "
                               "uses :%.*s",
                               (int) ngx_min(bc->info.params[0].len, 63),
                               bc->info.params[0].data);

        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "spectra: SQL rejected: %s", bc->err.message);

        bc->code = "INVALID_SQL";
        return NGX_HTTP_BAD_REQUEST;
    }

    return NGX_OK;
}


static void
ngx_http_spectra_bulk_find_key(ngx_http_spectra_bulk_ctx_t *bc)
{
    ngx_http_request_t           *r;
    ngx_http_spectra_job_call_t  *call;

    r = bc->request;

    call = ngx_pcalloc(r->pool, sizeof(ngx_http_spectra_job_call_t));
    if (call == NULL) {
        ngx_http_spectra_finish(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    call->pool = r->pool;
    call->log = r->connection->log;
    call->connection = r->connection;
    call->handler = ngx_http_spectra_bulk_key_found;
    call->data = bc;

    ngx_http_spectra_job_find_key(call, bc->tenant,
                        ngx_http_spectra_ngx_str(&bc->b.idempotency_key),
                        &bc->job);
}


/* The same request again: the same export, as it is now. */

static void
ngx_http_spectra_bulk_key_found(void *data, ngx_int_t rc)
{
    ngx_http_spectra_bulk_ctx_t  *bc = data;

    ngx_http_request_t  *r;

    r = bc->request;

    if (rc == NGX_DECLINED) {
        ngx_http_spectra_bulk_new(bc);
        return;
    }

    if (rc != NGX_OK) {
        ngx_http_spectra_finish(r, ngx_http_spectra_job_fail(r, rc));
        return;
    }

    if (bc->job.type != SPECTRA_JOB_BULK
        || bc->job.request_hash.len != SPECTRA_SIGV4_HEX_LEN
        || ngx_memcmp(bc->job.request_hash.data, bc->hash,
                      SPECTRA_SIGV4_HEX_LEN) != 0)
    {
        ngx_http_spectra_finish(r,
            ngx_http_spectra_fail(r, NGX_HTTP_CONFLICT, "CONFLICT",
                                  "idempotency_key was used with a "
                                  "different request"));
        return;
    }

    ngx_http_spectra_bulk_show(r, &bc->job, 0,
                               (SPECTRA_JOB_MASK(bc->job.status)
                                & SPECTRA_JOB_ACTIVE)
                               ? NGX_HTTP_ACCEPTED : NGX_HTTP_OK);
}


/*
 * The job and its UNLOAD: the id is drawn here, so that the target the
 * statement writes to (which names it) is known before the job exists.
 */

static void
ngx_http_spectra_bulk_new(ngx_http_spectra_bulk_ctx_t *bc)
{
    int64_t                        now;
    ngx_int_t                      rc;
    u_char                        *p;
    spectra_pool_t                 pool;
    spectra_job_t                 *job;
    ngx_str_t                      target;
    ngx_http_request_t            *r;
    spectra_bulk_place_t           place;
    spectra_bulk_result_t          res;
    ngx_http_spectra_job_call_t   *call;
    ngx_http_spectra_loc_conf_t   *slcf;

    r = bc->request;
    slcf = ngx_http_get_module_loc_conf(r, ngx_http_spectra_module);
    pool = ngx_http_spectra_pool(r->pool);
    job = &bc->job;

    ngx_memzero(job, sizeof(spectra_job_t));

    if (spectra_job_id_new(job->id) != 0) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "spectra: no random bytes for a job id");
        ngx_http_spectra_finish(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    place.bucket = *ngx_http_spectra_str(&slcf->export_bucket);
    place.prefix = *ngx_http_spectra_str(&slcf->export_prefix);
    place.tenant_id = *ngx_http_spectra_str(&bc->tenant->tenant_id);
    place.job_id.data = job->id;
    place.job_id.len = SPECTRA_JOB_ID_LEN;

    target.len = spectra_bulk_target_len(&place);
    target.data = ngx_pnalloc(r->pool, target.len);
    if (target.data == NULL) {
        ngx_http_spectra_finish(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    (void) spectra_bulk_target(target.data, &place);

    if (spectra_bulk_unload(&bc->b, bc->b.sql.data, &bc->info,
                            ngx_http_spectra_str(&target),
                            ngx_http_spectra_str(&slcf->export_iam_role),
                            &pool, ngx_http_spectra_str(&bc->unload),
                            &bc->err)
        != SPECTRA_BULK_OK)
    {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "spectra: cannot build the UNLOAD: %s",
                      bc->err.message);
        ngx_http_spectra_finish(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    /* what the export is, until its manifest says which files it wrote */
    ngx_memzero(&res, sizeof(spectra_bulk_result_t));
    res.format = bc->b.format;
    res.compression = bc->b.compression;
    res.target = *ngx_http_spectra_str(&target);
    res.max_downloads = bc->b.max_downloads;
    res.header = bc->b.header;

    job->result.len = spectra_bulk_result_len(&res);
    job->result.data = ngx_pnalloc(r->pool, job->result.len);
    call = ngx_pcalloc(r->pool, sizeof(ngx_http_spectra_job_call_t));

    if (job->result.data == NULL || call == NULL) {
        ngx_http_spectra_finish(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    p = spectra_bulk_result(job->result.data, &res);
    job->result.len = p - job->result.data;

    now = ngx_http_spectra_job_now();

    job->tenant_id = *ngx_http_spectra_str(&bc->tenant->tenant_id);
    job->type = SPECTRA_JOB_BULK;
    job->status = SPECTRA_JOB_PENDING;
    job->sql = bc->b.sql;
    job->idempotency_key = bc->b.idempotency_key;
    job->request_hash.data = bc->hash;
    job->request_hash.len = SPECTRA_SIGV4_HEX_LEN;
    job->db_user = *ngx_http_spectra_str(&bc->tenant->db_user);
    job->row_count = -1;
    job->execution_ms = -1;
    job->created_at = now;
    job->deadline_at = now + (int64_t) bc->b.timeout_ms;

    /* the request hands it to the supervisor once it has an id */
    job->check_at = now + 2000;

    call->pool = r->pool;
    call->log = r->connection->log;
    call->connection = r->connection;
    call->handler = ngx_http_spectra_bulk_created;
    call->data = bc;

    rc = ngx_http_spectra_warehouse_place(r, job);
    if (rc != NGX_OK) {
        ngx_http_spectra_finish(r, ngx_http_spectra_warehouse_fail(r, rc));
        return;
    }

    ngx_http_spectra_job_create(call, job, slcf->max_running);
}


static void
ngx_http_spectra_bulk_created(void *data, ngx_int_t rc)
{
    ngx_http_spectra_bulk_ctx_t  *bc = data;

    ngx_http_request_t           *r;
    ngx_http_spectra_loc_conf_t  *slcf;

    r = bc->request;
    slcf = ngx_http_get_module_loc_conf(r, ngx_http_spectra_module);

    if (rc != NGX_OK) {
        ngx_http_spectra_warehouse_unplace(&bc->job);
    }

    switch (rc) {

    case NGX_OK:
        ngx_http_spectra_bulk_run(bc);
        return;

    case NGX_DECLINED:
        if (bc->b.idempotency_key.len) {
            /* a concurrent request with the same key won the race */
            ngx_http_spectra_bulk_find_key(bc);
            return;
        }

        break;

    case NGX_BUSY:
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "spectra: tenant \"%V\" has %ui statements running: "
                      "export refused", &bc->tenant->tenant_id,
                      slcf->max_running);

        ngx_http_spectra_finish(r,
            ngx_http_spectra_fail_busy(r, "CONCURRENCY_LIMITED",
                                       "the tenant has %ui statements "
                                       "running: retry the export later",
                                       slcf->max_running));
        return;

    default:
        break;
    }

    ngx_http_spectra_finish(r, ngx_http_spectra_job_fail(r, rc));
}


/* The UNLOAD, as the tenant's database user; the answer is the job. */

static void
ngx_http_spectra_bulk_run(ngx_http_spectra_bulk_ctx_t *bc)
{
    ngx_http_request_t           *r;
    ngx_http_spectra_ctx_t       *ctx;
    ngx_http_spectra_stmt_t      *st;

    r = bc->request;
    ctx = ngx_http_get_module_ctx(r, ngx_http_spectra_module);

    st = ngx_http_spectra_stmt_create(r);
    if (st == NULL) {
        ngx_http_spectra_finish(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    ctx->stmt = st;
    ngx_memcpy(ctx->job_id, bc->job.id, SPECTRA_JOB_ID_LEN + 1);

    st->sql = bc->unload;
    st->job = bc->job;
    st->db_user = bc->tenant->db_user;
    st->row_limit = 0;

    /* submitted, then answered at once: the export runs on its own */
    st->wait_until = bc->job.created_at;
    st->deadline = bc->job.deadline_at;
    st->data = bc;

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
                   "spectra export %s created", bc->job.id);

    ngx_http_spectra_stmt_execute(st, ngx_http_spectra_bulk_started);
}


static void
ngx_http_spectra_bulk_started(ngx_http_spectra_stmt_t *st)
{
    ngx_str_t            message;
    ngx_uint_t           status;
    const char          *code;
    ngx_http_request_t  *r;

    r = st->request;

    switch (st->end) {

    case NGX_HTTP_SPECTRA_END_RUNNING:
        ngx_http_spectra_finish(r,
            ngx_http_spectra_bulk_send(r, NGX_HTTP_ACCEPTED, &st->job, 0,
                                       NULL));
        return;

    case NGX_HTTP_SPECTRA_END_COMPLETED:
        ngx_http_spectra_bulk_show(r, &st->job, 0, NGX_HTTP_OK);
        return;

    case NGX_HTTP_SPECTRA_END_FAILED:
        ngx_http_spectra_finish(r,
            ngx_http_spectra_job_send_ended(r, &st->job, SPECTRA_JOB_FAILED));
        return;

    case NGX_HTTP_SPECTRA_END_CANCELLED:
        ngx_http_spectra_finish(r,
            ngx_http_spectra_job_send_ended(r, &st->job,
                                            SPECTRA_JOB_CANCELLED));
        return;

    case NGX_HTTP_SPECTRA_END_TIMEOUT:
        ngx_http_spectra_finish(r,
            ngx_http_spectra_job_send_ended(r, &st->job,
                                            SPECTRA_JOB_TIMEOUT));
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


void
ngx_http_spectra_bulk_show(ngx_http_request_t *r, spectra_job_t *job,
    unsigned flags, ngx_uint_t status)
{
    ngx_http_spectra_bulk_show_job(r, job, flags, status, NULL);
}


void
ngx_http_spectra_bulk_file_show(ngx_http_request_t *r, spectra_job_t *job,
    ngx_str_t *n)
{
    ngx_http_spectra_bulk_show_job(r, job, 0, NGX_HTTP_OK, n);
}


static void
ngx_http_spectra_bulk_show_job(ngx_http_request_t *r, spectra_job_t *job,
    unsigned flags, ngx_uint_t status, ngx_str_t *link)
{
    ngx_str_t                      key;
    spectra_err_t                  err;
    spectra_pool_t                 pool = ngx_http_spectra_pool(r->pool);
    ngx_http_spectra_bulk_show_t  *sc;

    if (job->status != SPECTRA_JOB_COMPLETED) {
        ngx_http_spectra_finish(r,
            ngx_http_spectra_bulk_send(r, status, job, flags, NULL));
        return;
    }

    sc = ngx_pcalloc(r->pool, sizeof(ngx_http_spectra_bulk_show_t));
    if (sc == NULL) {
        ngx_http_spectra_finish(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    sc->request = r;
    sc->job = *job;
    sc->flags = flags;
    sc->status = status;

    if (link != NULL) {
        sc->link = *link;
    }

    if (spectra_bulk_result_read(job->result.data, job->result.len, &pool,
                                 &sc->res, &err)
        != SPECTRA_BULK_OK
        || spectra_bulk_target_split(&sc->res.target,
                                     ngx_http_spectra_str(&sc->bucket),
                                     ngx_http_spectra_str(&sc->key_prefix))
           != SPECTRA_BULK_OK)
    {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "spectra: export %s has a malformed result",
                      job->id);
        ngx_http_spectra_finish(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    if (sc->res.listed) {
        ngx_http_spectra_finish(r, ngx_http_spectra_bulk_answer(sc));
        return;
    }

    /* the first look at it since it completed: which files did it write */

    key.len = sc->key_prefix.len + sizeof("manifest") - 1;
    key.data = ngx_pnalloc(r->pool, key.len);
    if (key.data == NULL) {
        ngx_http_spectra_finish(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    ngx_memcpy(ngx_cpymem(key.data, sc->key_prefix.data, sc->key_prefix.len),
               "manifest", sizeof("manifest") - 1);

    if (ngx_http_spectra_s3_get(r, &sc->bucket, &key,
                                ngx_http_spectra_bulk_manifest, sc)
        != NGX_OK)
    {
        ngx_http_spectra_finish(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
    }
}


static void
ngx_http_spectra_bulk_manifest(ngx_http_request_t *r, void *data,
    ngx_uint_t status, ngx_str_t *body)
{
    ngx_http_spectra_bulk_show_t *sc = data;

    int64_t                        at;
    ngx_str_t                      result;
    spectra_err_t                  err;
    spectra_pool_t                 pool = ngx_http_spectra_pool(r->pool);
    ngx_http_spectra_job_call_t   *call;
    ngx_http_spectra_loc_conf_t   *slcf;

    slcf = ngx_http_get_module_loc_conf(r, ngx_http_spectra_module);

    if (status != NGX_HTTP_OK) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "spectra: the manifest of export %s: the object store "
                      "answered %ui", sc->job.id, status);

        ngx_http_spectra_finish(r,
            ngx_http_spectra_fail(r, NGX_HTTP_BAD_GATEWAY, "UPSTREAM_ERROR",
                                  "the export's manifest could not be read "
                                  "(the object store answered %ui)", status));
        return;
    }

    if (spectra_bulk_manifest_parse(body->data, body->len, sc->res.header,
                                    ngx_http_spectra_str(&sc->bucket),
                                    ngx_http_spectra_str(&sc->key_prefix),
                                    &pool, &sc->res.files, &sc->res.nfiles,
                                    &err)
        != SPECTRA_BULK_OK)
    {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "spectra: the manifest of export %s: %s",
                      sc->job.id, err.message);

        ngx_http_spectra_finish(r,
            ngx_http_spectra_fail(r, NGX_HTTP_BAD_GATEWAY, "UPSTREAM_ERROR",
                                  "the export's manifest is malformed"));
        return;
    }

    /* the files go when the retention is over, counted from the end */
    at = sc->job.finished_at ? sc->job.finished_at
                             : ngx_http_spectra_job_now();

    sc->res.listed = 1;
    sc->res.expires_at = at + (int64_t) slcf->export_retention * 1000;

    result.len = spectra_bulk_result_len(&sc->res);
    result.data = ngx_pnalloc(r->pool, result.len);
    call = ngx_pcalloc(r->pool, sizeof(ngx_http_spectra_job_call_t));

    if (result.data == NULL || call == NULL) {
        ngx_http_spectra_finish(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    (void) spectra_bulk_result(result.data, &sc->res);

    call->pool = r->pool;
    call->log = r->connection->log;
    call->connection = r->connection;
    call->handler = ngx_http_spectra_bulk_stored;
    call->data = sc;

    ngx_http_spectra_job_set_result(call, &sc->job, &result);
}


static void
ngx_http_spectra_bulk_stored(void *data, ngx_int_t rc)
{
    ngx_http_spectra_bulk_show_t *sc = data;

    ngx_http_request_t  *r;

    r = sc->request;

    if (rc != NGX_OK) {
        /* shown all the same; the next answer reads the manifest again */
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "spectra: the files of export %s were not stored",
                      sc->job.id);
    }

    ngx_http_spectra_finish(r, ngx_http_spectra_bulk_answer(sc));
}


/* The export with its files, or the stable link asked for. */

static ngx_int_t
ngx_http_spectra_bulk_answer(ngx_http_spectra_bulk_show_t *sc)
{
    if (sc->link.data != NULL) {
        return ngx_http_spectra_link_send(sc->request, &sc->job, &sc->res,
                                          &sc->link);
    }

    return ngx_http_spectra_bulk_send(sc->request, sc->status, &sc->job,
                                      sc->flags, &sc->res);
}


/*
 * The job, with its result when res is given (links presigned now); a
 * 202 says where the export is and when to look again.
 */

static ngx_int_t
ngx_http_spectra_bulk_send(ngx_http_request_t *r, ngx_uint_t status,
    spectra_job_t *job, unsigned flags, spectra_bulk_result_t *res)
{
    u_char                        *api;
    size_t                         size, len;
    ngx_buf_t                     *b;
    ngx_chain_t                    out;
    ngx_table_elt_t               *h;
    spectra_bulk_links_t           links;
    time_t                         cexp;
    spectra_sigv4_credentials_t    cred;
    ngx_http_spectra_loc_conf_t   *slcf;

    slcf = ngx_http_get_module_loc_conf(r, ngx_http_spectra_module);

    api = NULL;
    len = 0;

    if (res != NULL) {
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

        links.endpoint = &slcf->s3_endpoint;
        links.path_style = slcf->s3_path_style ? 1 : 0;
        links.cred = &cred;
        links.now = ngx_time();
        links.expires = (unsigned) slcf->presign_expires;

        /* a link dies with the credentials that signed it */
        if (cexp && cexp - links.now < (time_t) links.expires) {
            links.expires = (unsigned) ngx_max(cexp - links.now, 1);
        }
        links.job_id.data = job->id;
        links.job_id.len = SPECTRA_JOB_ID_LEN;

        size = spectra_bulk_api_size(res, &links);

        api = ngx_pnalloc(r->pool, size);
        if (api == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        if (spectra_bulk_api(res, &links, api, size, &len)
            != SPECTRA_BULK_OK)
        {
            ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                          "spectra: cannot sign the links of export %s",
                          job->id);
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    size = spectra_job_json_len(job, NULL, flags | SPECTRA_JOB_JSON_OPEN)
           + sizeof(",\"result\":}\n") - 1 + len;

    b = ngx_create_temp_buf(r->pool, size);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b->last = spectra_job_json(b->last, job, NULL,
                               flags | SPECTRA_JOB_JSON_OPEN);

    if (api != NULL) {
        b->last = ngx_cpymem(b->last, ",\"result\":",
                             sizeof(",\"result\":") - 1);
        b->last = ngx_cpymem(b->last, api, len);
    }

    *b->last++ = '}';
    *b->last++ = '\n';

    out.buf = b;
    out.next = NULL;

    if (status == NGX_HTTP_ACCEPTED) {
        h = ngx_list_push(&r->headers_out.headers);
        if (h == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        h->hash = 1;
        ngx_str_set(&h->key, "Location");
        h->value.data = ngx_pnalloc(r->pool, sizeof("/v1/bulk/") - 1
                                             + SPECTRA_JOB_ID_LEN);
        if (h->value.data == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        h->value.len = ngx_sprintf(h->value.data, "/v1/bulk/%s", job->id)
                       - h->value.data;

        r->headers_out.location = h;

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

    return ngx_http_spectra_send_json(r, status, &out);
}
