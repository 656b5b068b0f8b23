/*
 * POST /v1/queries: the body checked by the core (spectra_query), the SQL
 * by the policy on PostgreSQL's parse tree (spectra_sql), the job
 * recorded within the tenant's cap of running statements (or the request
 * waits its turn, spectra_max_queued), and the statement run by the
 * engine; the answer is its rows, 202 with the job, or an error.
 */


#include "ngx_http_spectra_common.h"
#include "ngx_http_spectra_query.h"
#include "ngx_http_spectra_api.h"
#include "ngx_http_spectra_body.h"
#include "ngx_http_spectra_dataapi.h"
#include "ngx_http_spectra_jobs.h"
#include "ngx_http_spectra_jobs_api.h"
#include "ngx_http_spectra_queue.h"
#include "ngx_http_spectra_statement.h"
#include "ngx_http_spectra_warehouse.h"


#define NGX_HTTP_SPECTRA_MAX_BODY    (16 * 1024 * 1024)

/* how often a waiting statement looks for a free slot */
#define NGX_HTTP_SPECTRA_QUEUE_POLL  20


typedef struct {
    ngx_http_request_t         *request;
    ngx_http_spectra_tenant_t  *tenant;
    ngx_http_spectra_stmt_t    *stmt;
    spectra_query_t             q;
    spectra_sql_info_t          info;
    spectra_job_t               job;
    u_char                      hash[SPECTRA_SIGV4_HEX_LEN];
    spectra_err_t               err;           /* of a 4xx answer */
    const char                 *code;
    ngx_event_t                 queue;
    ngx_http_spectra_queue_waiter_t  waiter;
    int64_t                     queued_until;
    unsigned                    queued:1;
} ngx_http_spectra_query_ctx_t;


static void ngx_http_spectra_query_body(ngx_http_request_t *r);
static ngx_int_t ngx_http_spectra_query_read(ngx_http_request_t *r,
    ngx_http_spectra_query_ctx_t *qc);
static ngx_int_t ngx_http_spectra_query_sql(ngx_http_request_t *r,
    ngx_http_spectra_query_ctx_t *qc);
static void ngx_http_spectra_query_key_found(void *data, ngx_int_t rc);
static void ngx_http_spectra_query_create(ngx_http_spectra_query_ctx_t *qc);
static void ngx_http_spectra_query_created(void *data, ngx_int_t rc);
static void ngx_http_spectra_query_queue_handler(ngx_event_t *ev);
static void ngx_http_spectra_query_cleanup(void *data);
static void ngx_http_spectra_query_run(ngx_http_spectra_query_ctx_t *qc);
void
ngx_http_spectra_query_limits(ngx_http_spectra_loc_conf_t *slcf,
    spectra_query_limits_t *limits)
{
    limits->wait_ms = slcf->wait_timeout;
    limits->timeout_ms = slcf->query_timeout;
    limits->max_wait_ms = slcf->query_timeout;
    limits->rows = slcf->row_limit;
    limits->bytes = slcf->byte_limit;
}


ngx_int_t
ngx_http_spectra_queries(ngx_http_request_t *r,
    ngx_http_spectra_tenant_t *tenant, ngx_str_t *id)
{
    ngx_int_t                      rc;
    ngx_pool_cleanup_t            *cln;
    ngx_http_spectra_ctx_t        *ctx;
    ngx_http_spectra_query_ctx_t  *qc;

    if (ngx_http_spectra_is_json(r) != NGX_OK) {
        return ngx_http_spectra_fail(r, NGX_HTTP_UNSUPPORTED_MEDIA_TYPE,
                                     "UNSUPPORTED_MEDIA_TYPE",
                                     "the request body must be "
                                     "application/json");
    }

    ctx = ngx_http_spectra_get_ctx(r);

    qc = ngx_pcalloc(r->pool, sizeof(ngx_http_spectra_query_ctx_t));
    cln = ngx_pool_cleanup_add(r->pool, 0);

    if (ctx == NULL || qc == NULL || cln == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    qc->request = r;
    qc->tenant = tenant;
    qc->queue.handler = ngx_http_spectra_query_queue_handler;
    qc->queue.data = qc;
    qc->queue.log = r->connection->log;

    cln->handler = ngx_http_spectra_query_cleanup;
    cln->data = qc;

    ctx->endpoint = qc;

    rc = ngx_http_read_client_request_body(r, ngx_http_spectra_query_body);

    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        return rc;
    }

    return NGX_DONE;
}


static void
ngx_http_spectra_query_cleanup(void *data)
{
    ngx_http_spectra_query_ctx_t  *qc = data;

    if (qc->queue.timer_set) {
        ngx_del_timer(&qc->queue);
    }

    ngx_http_spectra_queue_unwait(&qc->waiter);
}


static void
ngx_http_spectra_query_body(ngx_http_request_t *r)
{
    ngx_int_t                      rc;
    ngx_http_spectra_ctx_t        *ctx;
    ngx_http_spectra_job_call_t   *call;
    ngx_http_spectra_query_ctx_t  *qc;

    ctx = ngx_http_get_module_ctx(r, ngx_http_spectra_module);
    qc = ctx->endpoint;

    rc = ngx_http_spectra_query_read(r, qc);

    if (rc == NGX_OK) {
        rc = ngx_http_spectra_query_sql(r, qc);
    }

    if (rc >= NGX_HTTP_BAD_REQUEST && rc < NGX_HTTP_INTERNAL_SERVER_ERROR) {
        ngx_http_spectra_finish(r, ngx_http_spectra_fail(r, rc, qc->code,
                                                         "%s",
                                                         qc->err.message));
        return;
    }

    if (rc != NGX_OK) {
        ngx_http_spectra_finish(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    if (qc->q.idempotency_key.len == 0) {
        ngx_http_spectra_query_create(qc);
        return;
    }

    call = ngx_pcalloc(r->pool, sizeof(ngx_http_spectra_job_call_t));
    if (call == NULL) {
        ngx_http_spectra_finish(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    call->pool = r->pool;
    call->log = r->connection->log;
    call->connection = r->connection;
    call->handler = ngx_http_spectra_query_key_found;
    call->data = qc;

    ngx_http_spectra_job_find_key(call, qc->tenant,
                        ngx_http_spectra_ngx_str(&qc->q.idempotency_key),
                        &qc->job);
}


/*
 * The body, parsed and range checked by the core.  Returns NGX_OK, the
 * 4xx status of a bad request (qc->code and qc->err say why), or NGX_ERROR.
 */

static ngx_int_t
ngx_http_spectra_query_read(ngx_http_request_t *r,
    ngx_http_spectra_query_ctx_t *qc)
{
    off_t                          max;
    ngx_int_t                      rc;
    ngx_str_t                      body;
    spectra_pool_t                 pool = ngx_http_spectra_pool(r->pool);
    spectra_query_limits_t         limits;
    ngx_http_core_loc_conf_t      *clcf;
    ngx_http_spectra_loc_conf_t   *slcf;

    clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);
    slcf = ngx_http_get_module_loc_conf(r, ngx_http_spectra_module);

    /* nginx enforced client_max_body_size already; 0 means no limit */
    max = clcf->client_max_body_size ? clcf->client_max_body_size
                                     : NGX_HTTP_SPECTRA_MAX_BODY;

    rc = ngx_http_spectra_body_string(r, (size_t) max, &body);

    if (rc == NGX_DECLINED) {
        qc->code = "PAYLOAD_TOO_LARGE";
        (void) spectra_err_set(&qc->err, 0, SPECTRA_POS_NONE,
                               "the request body is larger than %lld bytes",
                               (long long) max);
        return NGX_HTTP_REQUEST_ENTITY_TOO_LARGE;
    }

    if (rc != NGX_OK) {
        return NGX_ERROR;
    }

    ngx_http_spectra_query_limits(slcf, &limits);

    rc = spectra_query_parse(body.data, body.len, &limits, &pool, &qc->q,
                             &qc->err);

    if (rc == SPECTRA_QUERY_NOMEM) {
        return NGX_ERROR;
    }

    if (rc != SPECTRA_QUERY_OK) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "spectra: request rejected: %s", qc->err.message);

        qc->code = "INVALID_REQUEST";
        return NGX_HTTP_BAD_REQUEST;
    }

    /*
     * the statement keeps more rows than the answer shows: the pages of
     * /v1/jobs/{id}/results read them
     */
    qc->q.kept_rows = ngx_max(qc->q.row_limit, slcf->results_row_limit);

    /* the same key with another body is a conflict, not a replay */
    spectra_sigv4_sha256_hex(body.data, body.len, qc->hash);

    return NGX_OK;
}


/* The read-only policy; a rejection is a 400 INVALID_SQL. */

static ngx_int_t
ngx_http_spectra_query_sql(ngx_http_request_t *r,
    ngx_http_spectra_query_ctx_t *qc)
{
    ngx_http_spectra_loc_conf_t  *slcf;

    slcf = ngx_http_get_module_loc_conf(r, ngx_http_spectra_module);

    if (spectra_sql_check(&slcf->policy, qc->q.sql.data, qc->q.sql.len,
                          &qc->info, &qc->err)
        != SPECTRA_SQL_OK)
    {
        /* the message says where in lines and columns, the log in bytes */
        if (qc->err.position != SPECTRA_POS_NONE) {
            ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                          "spectra: SQL rejected: %s (byte %uz)",
                          qc->err.message, qc->err.position);

        } else {
            ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                          "spectra: SQL rejected: %s", qc->err.message);
        }

        qc->code = "INVALID_SQL";
        return NGX_HTTP_BAD_REQUEST;
    }

    if (spectra_query_params_check(&qc->q, qc->info.params,
                                   qc->info.nparams, &qc->err)
        != SPECTRA_QUERY_OK)
    {
        qc->code = "INVALID_REQUEST";
        return NGX_HTTP_BAD_REQUEST;
    }

    return NGX_OK;
}


/* The same request again: it answers as the first one ended, or is going. */

static void
ngx_http_spectra_query_key_found(void *data, ngx_int_t rc)
{
    ngx_http_spectra_query_ctx_t  *qc = data;

    ngx_http_request_t  *r;

    r = qc->request;

    if (rc == NGX_DECLINED) {
        ngx_http_spectra_query_create(qc);
        return;
    }

    if (rc != NGX_OK) {
        ngx_http_spectra_finish(r, ngx_http_spectra_job_fail(r, rc));
        return;
    }

    if (qc->job.request_hash.len != SPECTRA_SIGV4_HEX_LEN
        || ngx_memcmp(qc->job.request_hash.data, qc->hash,
                      SPECTRA_SIGV4_HEX_LEN) != 0)
    {
        ngx_http_spectra_finish(r,
            ngx_http_spectra_fail(r, NGX_HTTP_CONFLICT, "CONFLICT",
                                  "idempotency_key was used with a "
                                  "different request"));
        return;
    }

    ngx_http_spectra_jobs_replay(r, &qc->job);
}


/* The job: within the tenant's cap of running statements, or it waits. */

static void
ngx_http_spectra_query_create(ngx_http_spectra_query_ctx_t *qc)
{
    int64_t                        now;
    ngx_int_t                      rc;
    u_char                        *options;
    spectra_pool_t                 pool;
    ngx_http_request_t            *r;
    ngx_http_spectra_job_call_t   *call;
    ngx_http_spectra_loc_conf_t   *slcf;
    spectra_job_t                 *job;

    r = qc->request;
    slcf = ngx_http_get_module_loc_conf(r, ngx_http_spectra_module);

    pool = ngx_http_spectra_pool(r->pool);

    options = ngx_pnalloc(r->pool, SPECTRA_QUERY_OPTIONS_LEN);
    call = ngx_pcalloc(r->pool, sizeof(ngx_http_spectra_job_call_t));

    if (options == NULL || call == NULL) {
        ngx_http_spectra_finish(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    now = ngx_http_spectra_job_now();
    job = &qc->job;

    ngx_memzero(job, sizeof(spectra_job_t));

    job->tenant_id.data = qc->tenant->tenant_id.data;
    job->tenant_id.len = qc->tenant->tenant_id.len;
    job->type = SPECTRA_JOB_QUERY;
    job->status = SPECTRA_JOB_PENDING;
    job->sql.data = qc->q.sql.data;
    job->sql.len = qc->q.sql.len;
    job->idempotency_key.data = qc->q.idempotency_key.data;
    job->idempotency_key.len = qc->q.idempotency_key.len;
    job->request_hash.data = qc->hash;
    job->request_hash.len = SPECTRA_SIGV4_HEX_LEN;
    job->db_user.data = qc->tenant->db_user.data;
    job->db_user.len = qc->tenant->db_user.len;
    job->row_count = -1;
    job->execution_ms = -1;
    job->created_at = now;

    /* the statement is cancelled at this time, whoever waits for it */
    job->deadline_at = now + (int64_t) qc->q.timeout_ms;

    /* the request follows it until its wait is over, then the supervisor */
    job->check_at = now + (int64_t) qc->q.wait_ms + 2000;

    if (spectra_query_params_json(&qc->q, &pool,
                                  ngx_http_spectra_str(&job->parameters))
        != SPECTRA_QUERY_OK)
    {
        ngx_http_spectra_finish(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    /* what /v1/jobs/{id}/results needs to answer as the query did */
    job->result.data = options;
    job->result.len = spectra_query_options(options, &qc->q) - options;

    call->pool = r->pool;
    call->log = r->connection->log;
    call->connection = r->connection;
    call->handler = ngx_http_spectra_query_created;
    call->data = qc;

    rc = ngx_http_spectra_warehouse_place(r, job);
    if (rc != NGX_OK) {
        ngx_http_spectra_finish(r, ngx_http_spectra_warehouse_fail(r, rc));
        return;
    }

    ngx_http_spectra_job_create(call, job, slcf->max_running);
}


static void
ngx_http_spectra_query_created(void *data, ngx_int_t rc)
{
    ngx_http_spectra_query_ctx_t  *qc = data;

    int64_t                        now;
    ngx_http_request_t            *r;
    ngx_http_spectra_job_call_t   *call;
    ngx_http_spectra_loc_conf_t   *slcf;

    r = qc->request;
    slcf = ngx_http_get_module_loc_conf(r, ngx_http_spectra_module);

    if (rc != NGX_OK) {
        ngx_http_spectra_warehouse_unplace(&qc->job);
    }

    switch (rc) {

    case NGX_OK:
        if (qc->queued) {
            ngx_http_spectra_queue_leave(r);
            ngx_http_spectra_queue_unwait(&qc->waiter);
            qc->queued = 0;
        }

        ngx_http_spectra_query_run(qc);
        return;

    case NGX_DECLINED:
        /* a concurrent request with the same key won the race */
        call = ngx_pcalloc(r->pool, sizeof(ngx_http_spectra_job_call_t));
        if (call == NULL) {
            ngx_http_spectra_finish(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
            return;
        }

        call->pool = r->pool;
        call->log = r->connection->log;
        call->connection = r->connection;
        call->handler = ngx_http_spectra_query_key_found;
        call->data = qc;

        ngx_http_spectra_job_find_key(call, qc->tenant,
                            ngx_http_spectra_ngx_str(&qc->q.idempotency_key),
                            &qc->job);
        return;

    case NGX_BUSY:
        break;

    default:
        ngx_http_spectra_finish(r, ngx_http_spectra_job_fail(r, rc));
        return;
    }

    /* the tenant runs its cap of statements: wait for a slot, or 429 */

    now = ngx_http_spectra_job_now();

    if (!qc->queued) {
        if (slcf->max_queued == 0
            || ngx_http_spectra_queue_enter(r, &qc->tenant->tenant_id,
                                            slcf->max_queued)
               != NGX_OK)
        {
            ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                          "spectra: tenant \"%V\" has %ui statements "
                          "running and %ui waiting", &qc->tenant->tenant_id,
                          slcf->max_running, slcf->max_queued);

            ngx_http_spectra_finish(r,
                ngx_http_spectra_fail_busy(r, "CONCURRENCY_LIMITED",
                                           "the tenant has %ui statements "
                                           "running and no room to wait "
                                           "for one of them to end",
                                           slcf->max_running));
            return;
        }

        qc->queued = 1;
        qc->queued_until = now + (int64_t) ngx_min(slcf->queue_timeout,
                                                   qc->q.timeout_ms);
    }

    if (now >= qc->queued_until) {
        ngx_http_spectra_queue_leave(r);
        ngx_http_spectra_queue_unwait(&qc->waiter);
        qc->queued = 0;

        ngx_http_spectra_finish(r,
            ngx_http_spectra_fail_busy(r, "CONCURRENCY_LIMITED",
                                       "the tenant's %ui running statements "
                                       "did not end within %M ms",
                                       slcf->max_running,
                                       slcf->queue_timeout));
        return;
    }

    /* it looks again when a slot frees here, or at the latest then */
    ngx_http_spectra_queue_wait(&qc->waiter, &qc->tenant->tenant_id,
                                &qc->queue);
    ngx_add_timer(&qc->queue, NGX_HTTP_SPECTRA_QUEUE_POLL);
}


static void
ngx_http_spectra_query_queue_handler(ngx_event_t *ev)
{
    ngx_connection_t              *c;
    ngx_http_spectra_query_ctx_t  *qc;

    qc = ev->data;
    c = qc->request->connection;

    ngx_http_set_log_request(c->log, qc->request);

    if (c->error || c->read->eof) {
        ngx_http_spectra_finish(qc->request, NGX_HTTP_CLIENT_CLOSED_REQUEST);
        ngx_http_run_posted_requests(c);
        return;
    }

    if (!qc->waiter.woken
        && ngx_http_spectra_queue_turn(&qc->waiter) == NGX_BUSY)
    {
        /* an earlier waiter was woken for the slot: it goes first */
        ngx_add_timer(&qc->queue, NGX_HTTP_SPECTRA_QUEUE_POLL);
        return;
    }

    qc->waiter.woken = 0;

    ngx_http_spectra_query_create(qc);

    ngx_http_run_posted_requests(c);
}


/* The statement, LIMIT-wrapped, as the tenant's database user. */

static void
ngx_http_spectra_query_run(ngx_http_spectra_query_ctx_t *qc)
{
    size_t                         len;
    u_char                        *sql;
    ngx_http_request_t            *r;
    ngx_http_spectra_ctx_t        *ctx;
    ngx_http_spectra_stmt_t       *st;

    r = qc->request;
    ctx = ngx_http_get_module_ctx(r, ngx_http_spectra_module);

    st = ngx_http_spectra_stmt_create(r);
    if (st == NULL) {
        ngx_http_spectra_finish(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    ctx->stmt = st;
    qc->stmt = st;
    ngx_memcpy(ctx->job_id, qc->job.id, SPECTRA_JOB_ID_LEN + 1);

    /*
     * LIMIT kept + 1: one row more tells that there were more, and the
     * result keeps what the pages of /v1/jobs/{id}/results may read
     */
    len = spectra_sql_wrap_limit_len(&qc->info, qc->q.kept_rows);

    sql = ngx_pnalloc(r->pool, len);
    if (len == 0 || sql == NULL) {
        ngx_http_spectra_finish(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    st->sql.data = sql;
    st->sql.len = spectra_sql_wrap_limit(sql, qc->q.sql.data, &qc->info,
                                         qc->q.kept_rows)
                  - sql;

    st->job = qc->job;
    st->params = qc->q.params;
    st->nparams = qc->q.nparams;
    st->db_user = qc->tenant->db_user;
    st->row_limit = qc->q.row_limit;
    st->want_rows = 1;
    st->defer_complete = 1;
    st->cancel_on_wait = qc->q.cancel_on_wait_timeout;
    st->wait_until = qc->job.created_at + (int64_t) qc->q.wait_ms;
    st->deadline = qc->job.deadline_at;
    st->data = &qc->q;

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
                   "spectra job %s created", qc->job.id);

    ngx_http_spectra_dataapi_watch_client(r);

    ngx_http_spectra_stmt_execute(st, ngx_http_spectra_jobs_answer);
}
