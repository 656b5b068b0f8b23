/*
 * Jobs: every query is recorded in the job store (SQLite by default, one
 * file shared by all workers), and the /v1/jobs endpoints read, refresh
 * and cancel them.  A job is always looked up by (tenant, id): another
 * tenant's job answers exactly like a missing one.
 */


#include "ngx_http_spectra_module.h"


#define NGX_HTTP_SPECTRA_LIST_DEFAULT  20
#define NGX_HTTP_SPECTRA_LIST_MAX      100


static int64_t ngx_http_spectra_now_ms(void);
static void *ngx_http_spectra_jobs_alloc(void *pool, size_t size);
static void ngx_http_spectra_job_update(ngx_http_request_t *r,
    ngx_http_spectra_ctx_t *ctx, spectra_job_update_t *upd);
static ngx_int_t ngx_http_spectra_job_replay(ngx_http_request_t *r,
    ngx_http_spectra_ctx_t *ctx, spectra_job_t *job);
static ngx_int_t ngx_http_spectra_job_reply(ngx_http_request_t *r,
    ngx_uint_t status, spectra_job_t *job);
static ngx_int_t ngx_http_spectra_job_lookup(ngx_http_request_t *r,
    ngx_str_t *id, ngx_uint_t perm, ngx_http_spectra_ctx_t **pctx);
static ngx_int_t ngx_http_spectra_job_options(ngx_http_request_t *r,
    ngx_http_spectra_ctx_t *ctx);
static void ngx_http_spectra_jobs_described(ngx_http_request_t *r,
    ngx_http_spectra_ctx_t *ctx);
static void ngx_http_spectra_jobs_cancelled(ngx_http_request_t *r,
    ngx_http_spectra_ctx_t *ctx);
static ngx_int_t ngx_http_spectra_jobs_refresh(ngx_http_request_t *r,
    ngx_http_spectra_ctx_t *ctx, ngx_http_spectra_step_pt step);
static ngx_int_t ngx_http_spectra_jobs_async(ngx_http_request_t *r,
    ngx_int_t rc);
static ngx_int_t ngx_http_spectra_store_error(ngx_http_request_t *r,
    int rc, spectra_job_err_t *err);


/* Job timestamps are milliseconds since the epoch. */

static int64_t
ngx_http_spectra_now_ms(void)
{
    ngx_time_t  *tp;

    tp = ngx_timeofday();

    return (int64_t) tp->sec * 1000 + tp->msec;
}


static void *
ngx_http_spectra_jobs_alloc(void *pool, size_t size)
{
    return ngx_palloc(pool, size);
}


#define ngx_http_spectra_job_pool(r)                                          \
    { ngx_http_spectra_jobs_alloc, (r)->pool }

#define ngx_http_spectra_job_str(s)                                           \
    { (s)->len, (s)->data }


static spectra_job_store_t *
ngx_http_spectra_store(ngx_http_request_t *r)
{
    ngx_http_spectra_main_conf_t  *smcf;

    smcf = ngx_http_get_module_main_conf(r, ngx_http_spectra_module);

    return smcf->store;
}


static ngx_int_t
ngx_http_spectra_store_error(ngx_http_request_t *r, int rc,
    spectra_job_err_t *err)
{
    ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                  "spectra: job store: %s (%d)", err->message, rc);

    return NGX_HTTP_INTERNAL_SERVER_ERROR;
}


/*
 * Records a new query job, or finds the one an idempotency key names.
 * Returns NGX_OK to go on with the statement, NGX_AGAIN when a replay has
 * begun fetching rows, NGX_DONE when an answer was sent (ctx->rc), or an
 * HTTP status.
 */

ngx_int_t
ngx_http_spectra_job_start(ngx_http_request_t *r, ngx_http_spectra_ctx_t *ctx,
    ngx_str_t *body)
{
    int                   rc;
    u_char               *hash, *options;
    spectra_job_t         job;
    spectra_job_str_t     tenant, key;
    spectra_job_err_t     err;
    spectra_job_pool_t    pool = ngx_http_spectra_job_pool(r);
    spectra_job_store_t  *store;

    store = ngx_http_spectra_store(r);
    if (store == NULL) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "spectra: no job store in this worker");
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    hash = ngx_pnalloc(r->pool, SPECTRA_SIGV4_HEX_LEN);
    options = ngx_pnalloc(r->pool, sizeof("{\"row_limit\":,\"format\":"
                                          "\"objects\"}") - 1
                                   + NGX_INT_T_LEN);
    if (hash == NULL || options == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* the same key with another body is a conflict, not a replay */
    spectra_sigv4_sha256_hex(body->data, body->len, hash);

    tenant.data = ctx->tenant->tenant_id.data;
    tenant.len = ctx->tenant->tenant_id.len;

    if (ctx->query.idempotency_key.len) {
        key.data = ctx->query.idempotency_key.data;
        key.len = ctx->query.idempotency_key.len;

        rc = store->ops->find_key(store, &tenant, &key, &job, &pool, &err);

        if (rc == SPECTRA_JOB_OK) {
            if (job.request_hash.len != SPECTRA_SIGV4_HEX_LEN
                || ngx_memcmp(job.request_hash.data, hash,
                              SPECTRA_SIGV4_HEX_LEN) != 0)
            {
                return ngx_http_spectra_reject(r, NGX_HTTP_CONFLICT,
                                               "CONFLICT",
                                               "idempotency_key was used "
                                               "with a different request");
            }

            return ngx_http_spectra_job_replay(r, ctx, &job);
        }

        if (rc != SPECTRA_JOB_NOT_FOUND) {
            return ngx_http_spectra_store_error(r, rc, &err);
        }
    }

    ngx_memzero(&job, sizeof(spectra_job_t));

    job.tenant_id = tenant;
    job.type = SPECTRA_JOB_QUERY;
    job.status = SPECTRA_JOB_PENDING;
    job.sql.data = ctx->query.sql.data;
    job.sql.len = ctx->query.sql.len;
    job.parameters.data = ctx->query.parameters.data;
    job.parameters.len = ctx->query.parameters.len;
    job.idempotency_key.data = ctx->query.idempotency_key.data;
    job.idempotency_key.len = ctx->query.idempotency_key.len;
    job.request_hash.data = hash;
    job.request_hash.len = SPECTRA_SIGV4_HEX_LEN;
    job.db_user.data = ctx->tenant->db_user.data;
    job.db_user.len = ctx->tenant->db_user.len;
    job.row_count = -1;

    /* what /v1/jobs/{id}/results needs to answer like the query did */
    job.result.data = options;
    job.result.len = ngx_sprintf(options,
                                 "{\"row_limit\":%ui,\"format\":\"%s\"}",
                                 ctx->query.row_limit,
                                 ctx->query.format == SPECTRA_RESULT_ARRAYS
                                 ? "arrays" : "objects")
                     - options;

    rc = store->ops->create(store, &job, &err);

    if (rc == SPECTRA_JOB_DUPLICATE) {
        /* a concurrent request with the same key won the race */
        rc = store->ops->find_key(store, &tenant, &job.idempotency_key, &job,
                                  &pool, &err);
        if (rc == SPECTRA_JOB_OK) {
            return ngx_http_spectra_job_replay(r, ctx, &job);
        }
    }

    if (rc != SPECTRA_JOB_OK) {
        return ngx_http_spectra_store_error(r, rc, &err);
    }

    ctx->job = job;

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "spectra job %s created", job.id);

    return NGX_OK;
}


/* The same request again: answer as the first one ended, or is going. */

static ngx_int_t
ngx_http_spectra_job_replay(ngx_http_request_t *r, ngx_http_spectra_ctx_t *ctx,
    spectra_job_t *job)
{
    ctx->job = *job;
    ctx->statement_id.data = job->statement_id.data;
    ctx->statement_id.len = job->statement_id.len;

    switch (job->status) {

    case SPECTRA_JOB_COMPLETED:
        if (ctx->statement_id.len == 0) {
            break;
        }

        ctx->has_result = 1;
        ctx->started = ngx_current_msec;
        ngx_http_spectra_rows_start(r, ctx);
        return NGX_AGAIN;

    case SPECTRA_JOB_FAILED:
    case SPECTRA_JOB_CANCELLED:
    case SPECTRA_JOB_TIMEOUT:
        ctx->rc = ngx_http_spectra_job_ended(r, ctx, job->status);
        return NGX_DONE;

    default:
        break;
    }

    ctx->rc = ngx_http_spectra_job_accepted(r, ctx);
    return NGX_DONE;
}


static void
ngx_http_spectra_job_update(ngx_http_request_t *r, ngx_http_spectra_ctx_t *ctx,
    spectra_job_update_t *upd)
{
    int                   rc;
    spectra_job_err_t     err;
    spectra_job_pool_t    pool = ngx_http_spectra_job_pool(r);
    spectra_job_store_t  *store;

    store = ngx_http_spectra_store(r);

    if (store == NULL || ctx->job.id[0] == '\0') {
        return;
    }

    upd->tenant_id = (spectra_job_str_t) ngx_http_spectra_job_str(
                                                    &ctx->tenant->tenant_id);
    upd->id.data = ctx->job.id;
    upd->id.len = ngx_strlen(ctx->job.id);

    rc = store->ops->update(store, upd, &ctx->job, &pool, &err);

    if (rc != SPECTRA_JOB_OK && rc != SPECTRA_JOB_CONFLICT) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "spectra: job %s not updated: %s",
                      ctx->job.id, err.message);
    }
}


void
ngx_http_spectra_job_submitted(ngx_http_request_t *r,
    ngx_http_spectra_ctx_t *ctx)
{
    spectra_job_update_t  upd;

    ngx_memzero(&upd, sizeof(spectra_job_update_t));

    upd.statement_id.data = ctx->statement_id.data;
    upd.statement_id.len = ctx->statement_id.len;
    upd.row_count = -1;

    ngx_http_spectra_job_update(r, ctx, &upd);
}


void
ngx_http_spectra_job_status(ngx_http_request_t *r, ngx_http_spectra_ctx_t *ctx,
    ngx_int_t status)
{
    spectra_job_update_t  upd;

    if (ctx->job.status == (spectra_job_status_e) status) {
        return;
    }

    ngx_memzero(&upd, sizeof(spectra_job_update_t));

    upd.status = status;
    upd.from = SPECTRA_JOB_ACTIVE;
    upd.row_count = -1;

    if (status == SPECTRA_JOB_RUNNING) {
        upd.started_at = ngx_http_spectra_now_ms();
    }

    ngx_http_spectra_job_update(r, ctx, &upd);
}


void
ngx_http_spectra_job_failed(ngx_http_request_t *r, ngx_http_spectra_ctx_t *ctx,
    const char *code, const char *message)
{
    spectra_job_update_t  upd;

    ngx_memzero(&upd, sizeof(spectra_job_update_t));

    upd.status = SPECTRA_JOB_FAILED;
    upd.from = SPECTRA_JOB_ACTIVE;
    upd.error_code.data = (u_char *) code;
    upd.error_code.len = ngx_strlen(code);
    upd.error_message.data = (u_char *) message;
    upd.error_message.len = ngx_strlen(message);
    upd.row_count = -1;
    upd.finished_at = ngx_http_spectra_now_ms();

    if (ctx->sqlstate.len) {
        upd.sqlstate.data = ctx->sqlstate.data;
        upd.sqlstate.len = ctx->sqlstate.len;
    }

    ngx_http_spectra_job_update(r, ctx, &upd);
}


void
ngx_http_spectra_job_completed(ngx_http_request_t *r,
    ngx_http_spectra_ctx_t *ctx, uint64_t rows)
{
    spectra_job_update_t  upd;

    if (ctx->job.status == SPECTRA_JOB_COMPLETED) {
        return;
    }

    ngx_memzero(&upd, sizeof(spectra_job_update_t));

    upd.status = SPECTRA_JOB_COMPLETED;
    upd.from = SPECTRA_JOB_ACTIVE;
    upd.row_count = rows;
    upd.finished_at = ngx_http_spectra_now_ms();

    if (ctx->job.started_at == 0) {
        /* finished before any DescribeStatement saw it running */
        upd.started_at = upd.finished_at;
    }

    ngx_http_spectra_job_update(r, ctx, &upd);
}


void
ngx_http_spectra_job_cancelled(ngx_http_request_t *r,
    ngx_http_spectra_ctx_t *ctx, ngx_int_t status, const char *message)
{
    spectra_job_update_t  upd;

    ngx_memzero(&upd, sizeof(spectra_job_update_t));

    upd.status = status;
    upd.from = SPECTRA_JOB_ACTIVE;
    upd.error_code.data = (u_char *) (status == SPECTRA_JOB_TIMEOUT
                                      ? "QUERY_TIMEOUT" : "CANCELLED");
    upd.error_code.len = ngx_strlen(upd.error_code.data);
    upd.error_message.data = (u_char *) message;
    upd.error_message.len = ngx_strlen(message);
    upd.row_count = -1;
    upd.finished_at = ngx_http_spectra_now_ms();

    ngx_http_spectra_job_update(r, ctx, &upd);
}


static ngx_int_t
ngx_http_spectra_job_reply(ngx_http_request_t *r, ngx_uint_t status,
    spectra_job_t *job)
{
    size_t        len;
    ngx_buf_t    *b;
    ngx_chain_t   out;

    len = spectra_job_json_len(job, NULL, 0);

    b = ngx_create_temp_buf(r->pool, len + 1);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b->last = spectra_job_json(b->last, job, NULL, 0);
    *b->last++ = '\n';

    out.buf = b;
    out.next = NULL;

    return ngx_http_spectra_send_json(r, status, &out);
}


/* 202: the query goes on as a job. */

ngx_int_t
ngx_http_spectra_job_accepted(ngx_http_request_t *r,
    ngx_http_spectra_ctx_t *ctx)
{
    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "spectra job %s continues", ctx->job.id);

    return ngx_http_spectra_job_reply(r, NGX_HTTP_ACCEPTED, &ctx->job);
}


/*
 * A statement that failed, was cancelled or timed out: records it (unless
 * the job already says so) and answers with the error: 422 QUERY_FAILED
 * with the SQLSTATE, 408 QUERY_TIMEOUT, or 409 CONFLICT for a cancel.
 */

ngx_int_t
ngx_http_spectra_job_ended(ngx_http_request_t *r, ngx_http_spectra_ctx_t *ctx,
    ngx_int_t state)
{
    u_char      *p;
    ngx_str_t    message, extra;
    const char  *code;
    ngx_uint_t   status;

    if (state == SPECTRA_JOB_FAILED
        && ctx->job.status != SPECTRA_JOB_FAILED)
    {
        ngx_http_spectra_job_failed(r, ctx, "QUERY_FAILED",
                                    ctx->error.len ? (char *) ctx->error.data
                                                   : "the query failed");

    } else if (state != SPECTRA_JOB_FAILED
               && (SPECTRA_JOB_MASK(ctx->job.status) & SPECTRA_JOB_ACTIVE))
    {
        ngx_http_spectra_job_cancelled(r, ctx, state,
                                       "the statement was cancelled");
    }

    p = ngx_pnalloc(r->pool, sizeof(",\"sqlstate\":\"\",\"job_id\":\"\"") - 1
                             + 5 + SPECTRA_JOB_ID_LEN);
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    extra.data = p;

    if (state == SPECTRA_JOB_FAILED) {
        status = 422;
        code = "QUERY_FAILED";

        if (ctx->job.error_message.data != NULL) {
            message.data = ctx->job.error_message.data;
            message.len = ctx->job.error_message.len;

        } else {
            ngx_str_set(&message, "the query failed");
        }

        if (ctx->job.sqlstate.len == 5) {
            p = ngx_sprintf(p, ",\"sqlstate\":\"%*s\"", (size_t) 5,
                            ctx->job.sqlstate.data);
        }

    } else if (state == SPECTRA_JOB_TIMEOUT) {
        status = NGX_HTTP_REQUEST_TIME_OUT;
        code = "QUERY_TIMEOUT";
        ngx_str_set(&message, "the query timed out and was cancelled");

    } else {
        status = NGX_HTTP_CONFLICT;
        code = "CONFLICT";
        ngx_str_set(&message, "the query was cancelled");
    }

    p = ngx_sprintf(p, ",\"job_id\":\"%s\"", ctx->job.id);
    extra.len = p - extra.data;

    return ngx_http_spectra_send_error_extra(r, status, code, &message,
                                             &extra);
}


/*
 * Finds the caller's job {id}; anything else, another tenant's job
 * included, is the same 404.  Returns NGX_OK with the job in (*pctx)->job,
 * or what answering returned.
 */

static ngx_int_t
ngx_http_spectra_job_lookup(ngx_http_request_t *r, ngx_str_t *id,
    ngx_uint_t perm, ngx_http_spectra_ctx_t **pctx)
{
    int                         rc;
    spectra_job_str_t           tenant, jid;
    spectra_job_err_t           err;
    spectra_job_pool_t          pool = ngx_http_spectra_job_pool(r);
    spectra_job_store_t        *store;
    ngx_http_spectra_ctx_t     *ctx;
    ngx_http_spectra_tenant_t  *t;

    rc = ngx_http_spectra_caller(r, perm, &t);
    if (rc != NGX_OK) {
        return rc;
    }

    store = ngx_http_spectra_store(r);
    if (store == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx = ngx_http_spectra_get_ctx(r);
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    *pctx = ctx;

    if (!spectra_job_id_valid(id->data, id->len)) {
        goto not_found;
    }

    tenant.data = t->tenant_id.data;
    tenant.len = t->tenant_id.len;
    jid.data = id->data;
    jid.len = id->len;

    rc = store->ops->get(store, &tenant, &jid, &ctx->job, &pool, &err);

    if (rc == SPECTRA_JOB_NOT_FOUND) {
        goto not_found;
    }

    if (rc != SPECTRA_JOB_OK) {
        return ngx_http_spectra_store_error(r, rc, &err);
    }

    ctx->statement_id.data = ctx->job.statement_id.data;
    ctx->statement_id.len = ctx->job.statement_id.len;
    ctx->started = ngx_current_msec;

    /*
     * the query's row limit: a refresh that finds the job complete records
     * at most that many rows, whichever endpoint refreshed it
     */
    ngx_http_spectra_job_options(r, ctx);

    return NGX_OK;

not_found:

    return ngx_http_spectra_reject(r, NGX_HTTP_NOT_FOUND, "NOT_FOUND",
                                   "no such job");
}


/* An endpoint's start: NGX_DONE answers go back as what sending gave. */

#define ngx_http_spectra_job_lookup_or_return(r, id, perm, ctx)               \
    rc = ngx_http_spectra_job_lookup(r, id, perm, &ctx);                      \
    if (rc != NGX_OK) {                                                       \
        return ngx_http_spectra_answered(r, rc);                              \
    }


/* The row limit and format the query was made with. */

static ngx_int_t
ngx_http_spectra_job_options(ngx_http_request_t *r,
    ngx_http_spectra_ctx_t *ctx)
{
    u_char                       *p, *last;
    ngx_int_t                     n;
    ngx_http_spectra_loc_conf_t  *slcf;

    slcf = ngx_http_get_module_loc_conf(r, ngx_http_spectra_module);

    ctx->query.row_limit = slcf->row_limit;
    ctx->query.format = SPECTRA_RESULT_OBJECTS;

    if (ctx->job.result.data == NULL) {
        return NGX_OK;
    }

    p = ctx->job.result.data;
    last = p + ctx->job.result.len;

    p = ngx_strlcasestrn(p, last, (u_char *) "\"row_limit\":",
                         sizeof("\"row_limit\":") - 2);

    if (p != NULL) {
        p += sizeof("\"row_limit\":") - 1;
        n = 0;

        while (p < last && *p >= '0' && *p <= '9' && n < 100000000) {
            n = n * 10 + (*p++ - '0');
        }

        if (n > 0 && (ngx_uint_t) n <= slcf->row_limit) {
            ctx->query.row_limit = n;
        }
    }

    if (ngx_strlcasestrn(ctx->job.result.data, last,
                         (u_char *) "\"arrays\"", sizeof("\"arrays\"") - 2)
        != NULL)
    {
        ctx->query.format = SPECTRA_RESULT_ARRAYS;
    }

    return NGX_OK;
}


/* Asks the Data API how an unfinished job is, then goes on with step. */

static ngx_int_t
ngx_http_spectra_jobs_refresh(ngx_http_request_t *r,
    ngx_http_spectra_ctx_t *ctx, ngx_http_spectra_step_pt step)
{
    ngx_str_t  body;

    if (ngx_http_spectra_statement_body(r, ctx, NULL, 0, &body) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_http_spectra_dataapi_call(r, "DescribeStatement", &body, step)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return NGX_OK;
}


/*
 * Content handlers that go on asynchronously hold a reference on the
 * request until ngx_http_spectra_finish().
 */

static ngx_int_t
ngx_http_spectra_jobs_async(ngx_http_request_t *r, ngx_int_t rc)
{
    if (rc != NGX_OK) {
        return rc;
    }

    r->main->count++;

    return NGX_DONE;
}


/* GET /v1/jobs/{id} and GET /v1/jobs/{id}/results */

ngx_int_t
ngx_http_spectra_jobs_get(ngx_http_request_t *r, ngx_str_t *id)
{
    ngx_int_t                rc;
    ngx_http_spectra_ctx_t  *ctx = NULL;

    ngx_http_spectra_job_lookup_or_return(r, id,
                                          NGX_HTTP_SPECTRA_PERM_QUERY
                                          |NGX_HTTP_SPECTRA_PERM_BULK, ctx);

    ngx_http_discard_request_body(r);

    if ((SPECTRA_JOB_MASK(ctx->job.status) & SPECTRA_JOB_ACTIVE)
        && ctx->statement_id.len)
    {
        ctx->want_rows = 0;
        return ngx_http_spectra_jobs_async(r,
                   ngx_http_spectra_jobs_refresh(r, ctx,
                                             ngx_http_spectra_jobs_described));
    }

    return ngx_http_spectra_job_reply(r, NGX_HTTP_OK, &ctx->job);
}


ngx_int_t
ngx_http_spectra_jobs_results(ngx_http_request_t *r, ngx_str_t *id)
{
    ngx_int_t                rc;
    ngx_http_spectra_ctx_t  *ctx = NULL;

    ngx_http_spectra_job_lookup_or_return(r, id, NGX_HTTP_SPECTRA_PERM_QUERY,
                                          ctx);

    ngx_http_discard_request_body(r);

    if (ctx->job.type != SPECTRA_JOB_QUERY) {
        return ngx_http_spectra_fail(r, NGX_HTTP_NOT_FOUND, "NOT_FOUND",
                                     "an export has no inline results: "
                                     "see /v1/bulk/%s", ctx->job.id);
    }

    ngx_http_spectra_job_options(r, ctx);

    if (ctx->statement_id.len == 0) {
        return ngx_http_spectra_job_reply(r, NGX_HTTP_ACCEPTED, &ctx->job);
    }

    if (SPECTRA_JOB_MASK(ctx->job.status) & SPECTRA_JOB_ACTIVE) {
        ctx->want_rows = 1;
        return ngx_http_spectra_jobs_async(r,
                   ngx_http_spectra_jobs_refresh(r, ctx,
                                             ngx_http_spectra_jobs_described));
    }

    if (ctx->job.status != SPECTRA_JOB_COMPLETED) {
        return ngx_http_spectra_job_ended(r, ctx, ctx->job.status);
    }

    /* rows_start() may finish the request at once: take the reference 1st */
    r->main->count++;

    ctx->has_result = 1;
    ngx_http_spectra_watch_client(r);
    ngx_http_spectra_rows_start(r, ctx);

    return NGX_DONE;
}


static void
ngx_http_spectra_jobs_described(ngx_http_request_t *r,
    ngx_http_spectra_ctx_t *ctx)
{
    ngx_int_t  state;

    if (ctx->status != NGX_HTTP_OK) {
        ngx_http_spectra_finish(r, ngx_http_spectra_dataapi_error(r, ctx));
        return;
    }

    state = ngx_http_spectra_describe(r, ctx);

    switch (state) {

    case NGX_ERROR:
        ngx_http_spectra_finish(r,
            ngx_http_spectra_fail(r, NGX_HTTP_BAD_GATEWAY, "UPSTREAM_ERROR",
                                  "the data API answered an unknown "
                                  "statement status"));
        return;

    case SPECTRA_JOB_COMPLETED:
        /* the row count is what the query answer would have: <= limit */
        ngx_http_spectra_job_completed(r, ctx,
                  ngx_min((uint64_t) ctx->job.row_count,
                          (uint64_t) ctx->query.row_limit));

        if (ctx->want_rows) {
            ngx_http_spectra_rows_start(r, ctx);
            return;
        }

        break;

    case SPECTRA_JOB_FAILED:
        if (ctx->want_rows) {
            ngx_http_spectra_finish(r,
                    ngx_http_spectra_job_ended(r, ctx, SPECTRA_JOB_FAILED));
            return;
        }

        ngx_http_spectra_job_failed(r, ctx, "QUERY_FAILED",
                                    ctx->error.len ? (char *) ctx->error.data
                                                   : "the query failed");
        break;

    case SPECTRA_JOB_CANCELLED:
        ngx_http_spectra_job_cancelled(r, ctx, SPECTRA_JOB_CANCELLED,
                                       "the statement was cancelled");
        break;

    default:
        ngx_http_spectra_job_status(r, ctx, state);
        break;
    }

    if (ctx->want_rows) {
        ngx_http_spectra_finish(r,
            ngx_http_spectra_job_reply(r, NGX_HTTP_ACCEPTED, &ctx->job));
        return;
    }

    ngx_http_spectra_finish(r,
                            ngx_http_spectra_job_reply(r, NGX_HTTP_OK,
                                                       &ctx->job));
}


/* DELETE /v1/jobs/{id} */

ngx_int_t
ngx_http_spectra_jobs_cancel(ngx_http_request_t *r, ngx_str_t *id)
{
    ngx_int_t                rc;
    ngx_str_t                body;
    ngx_http_spectra_ctx_t  *ctx = NULL;

    ngx_http_spectra_job_lookup_or_return(r, id,
                                          NGX_HTTP_SPECTRA_PERM_QUERY
                                          |NGX_HTTP_SPECTRA_PERM_BULK, ctx);

    ngx_http_discard_request_body(r);

    if (!(SPECTRA_JOB_MASK(ctx->job.status) & SPECTRA_JOB_ACTIVE)) {
        return ngx_http_spectra_fail(r, NGX_HTTP_CONFLICT, "CONFLICT",
                                     "the job is %s and cannot be "
                                     "cancelled",
                                     spectra_job_status_name(ctx->job.status));
    }

    if (ctx->statement_id.len == 0) {
        ngx_http_spectra_job_cancelled(r, ctx, SPECTRA_JOB_CANCELLED,
                                       "cancelled by the client");
        return ngx_http_spectra_job_reply(r, NGX_HTTP_OK, &ctx->job);
    }

    if (ngx_http_spectra_statement_body(r, ctx, NULL, 0, &body) != NGX_OK
        || ngx_http_spectra_dataapi_call(r, "CancelStatement", &body,
                                         ngx_http_spectra_jobs_cancelled)
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_spectra_jobs_async(r, NGX_OK);
}


static void
ngx_http_spectra_jobs_cancelled(ngx_http_request_t *r,
    ngx_http_spectra_ctx_t *ctx)
{
    if (ctx->status != NGX_HTTP_OK) {
        /* it finished before the cancel arrived: say how it really is */
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "spectra: cancel of job %s: data API answered %ui",
                      ctx->job.id, ctx->status);

        ctx->want_rows = 0;

        if (ngx_http_spectra_jobs_refresh(r, ctx,
                                          ngx_http_spectra_jobs_described)
            != NGX_OK)
        {
            ngx_http_spectra_finish(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        }

        return;
    }

    ngx_http_spectra_job_cancelled(r, ctx, SPECTRA_JOB_CANCELLED,
                                   "cancelled by the client");

    ngx_http_spectra_finish(r,
                            ngx_http_spectra_job_reply(r, NGX_HTTP_OK,
                                                       &ctx->job));
}


/* GET /v1/jobs?status=RUNNING,FAILED&type=query&limit=20&cursor=... */

ngx_int_t
ngx_http_spectra_jobs_list(ngx_http_request_t *r, ngx_str_t *id)
{
    int                         rc;
    u_char                     *p, *s, *last;
    size_t                      len, i;
    ngx_int_t                   n;
    ngx_str_t                   arg;
    ngx_buf_t                  *b;
    ngx_chain_t                 out;
    spectra_job_err_t           err;
    spectra_job_list_t          list;
    spectra_job_pool_t          pool = ngx_http_spectra_job_pool(r);
    spectra_job_store_t        *store;
    spectra_job_filter_t        filter;
    spectra_job_status_e        status;
    spectra_job_type_e          type;
    ngx_http_spectra_tenant_t  *t;

    rc = ngx_http_spectra_caller(r, NGX_HTTP_SPECTRA_PERM_QUERY
                                    |NGX_HTTP_SPECTRA_PERM_BULK, &t);
    if (rc != NGX_OK) {
        return ngx_http_spectra_answered(r, rc);
    }

    store = ngx_http_spectra_store(r);
    if (store == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_discard_request_body(r);

    ngx_memzero(&filter, sizeof(spectra_job_filter_t));
    filter.tenant_id.data = t->tenant_id.data;
    filter.tenant_id.len = t->tenant_id.len;
    filter.limit = NGX_HTTP_SPECTRA_LIST_DEFAULT;

    if (ngx_http_arg(r, (u_char *) "status", 6, &arg) == NGX_OK) {
        for (s = arg.data, last = arg.data + arg.len; s < last; s = p + 1) {
            p = ngx_strlchr(s, last, ',');
            if (p == NULL) {
                p = last;
            }

            status = spectra_job_status_parse(s, p - s);

            if (status == SPECTRA_JOB_STATUS_NONE) {
                return ngx_http_spectra_fail(r, NGX_HTTP_BAD_REQUEST,
                                             "INVALID_REQUEST",
                                             "status must be a list of "
                                             "PENDING, RUNNING, COMPLETED, "
                                             "FAILED, CANCELLED, TIMEOUT");
            }

            filter.statuses |= SPECTRA_JOB_MASK(status);
        }
    }

    if (ngx_http_arg(r, (u_char *) "type", 4, &arg) == NGX_OK) {
        type = spectra_job_type_parse(arg.data, arg.len);

        if (type == SPECTRA_JOB_TYPE_NONE) {
            return ngx_http_spectra_fail(r, NGX_HTTP_BAD_REQUEST,
                                         "INVALID_REQUEST",
                                         "type must be query or bulk");
        }

        filter.types = 1u << type;
    }

    if (ngx_http_arg(r, (u_char *) "limit", 5, &arg) == NGX_OK) {
        n = ngx_atoi(arg.data, arg.len);

        if (n < 1 || n > NGX_HTTP_SPECTRA_LIST_MAX) {
            return ngx_http_spectra_fail(r, NGX_HTTP_BAD_REQUEST,
                                         "INVALID_REQUEST",
                                         "limit must be 1 to %d",
                                         NGX_HTTP_SPECTRA_LIST_MAX);
        }

        filter.limit = n;
    }

    if (ngx_http_arg(r, (u_char *) "cursor", 6, &arg) == NGX_OK) {
        filter.cursor.data = arg.data;
        filter.cursor.len = arg.len;
    }

    rc = store->ops->list(store, &filter, &list, &pool, &err);

    if (rc == SPECTRA_JOB_INVALID) {
        return ngx_http_spectra_fail(r, NGX_HTTP_BAD_REQUEST,
                                     "INVALID_REQUEST", "invalid cursor");
    }

    if (rc != SPECTRA_JOB_OK) {
        return ngx_http_spectra_store_error(r, rc, &err);
    }

    len = sizeof("{\"jobs\":[],\"next_cursor\":\"\"}\n") - 1
          + SPECTRA_JOB_CURSOR_LEN;

    for (i = 0; i < list.njobs; i++) {
        len += spectra_job_json_len(&list.jobs[i], NULL, 0) + 1;
    }

    b = ngx_create_temp_buf(r->pool, len);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b->last = ngx_cpymem(b->last, "{\"jobs\":[", sizeof("{\"jobs\":[") - 1);

    for (i = 0; i < list.njobs; i++) {
        if (i) {
            *b->last++ = ',';
        }

        b->last = spectra_job_json(b->last, &list.jobs[i], NULL, 0);
    }

    if (list.next_cursor[0] != '\0') {
        b->last = ngx_sprintf(b->last, "],\"next_cursor\":\"%s\"}\n",
                              list.next_cursor);

    } else {
        b->last = ngx_cpymem(b->last, "],\"next_cursor\":null}\n",
                             sizeof("],\"next_cursor\":null}\n") - 1);
    }

    out.buf = b;
    out.next = NULL;

    return ngx_http_spectra_send_json(r, NGX_HTTP_OK, &out);
}
