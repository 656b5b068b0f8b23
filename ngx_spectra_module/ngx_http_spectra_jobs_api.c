/*
 * The /v1/jobs endpoints.  A job is always looked up by (tenant, id):
 * another tenant's job answers exactly like a missing one.  An active job
 * is refreshed from the Data API (one DescribeStatement) before it is
 * shown, and one past its deadline is cancelled first.
 */


#include "ngx_http_spectra_common.h"
#include "ngx_http_spectra_jobs_api.h"
#include "ngx_http_spectra_api.h"
#include "ngx_http_spectra_bulk.h"
#include "ngx_http_spectra_import.h"
#include "ngx_http_spectra_jobs.h"
#include "ngx_http_spectra_pages.h"
#include "ngx_http_spectra_query.h"
#include "ngx_http_spectra_reply.h"
#include "ngx_http_spectra_rows.h"
#include "ngx_http_spectra_statement.h"


#define NGX_HTTP_SPECTRA_LIST_DEFAULT  20
#define NGX_HTTP_SPECTRA_LIST_MAX      100


typedef enum {
    NGX_HTTP_SPECTRA_JOB_SHOW = 0,
    NGX_HTTP_SPECTRA_JOB_RESULTS,
    NGX_HTTP_SPECTRA_JOB_CANCEL
} ngx_http_spectra_job_op_e;


typedef struct {
    ngx_http_request_t         *request;
    ngx_http_spectra_tenant_t  *tenant;
    ngx_http_spectra_job_op_e   op;
    spectra_job_type_e          type;          /* NONE: any */
    spectra_job_t               job;
    spectra_job_list_t          list;
    spectra_query_t             q;
    ngx_http_spectra_page_t    *page;      /* results in pages */
    unsigned                    flags;
} ngx_http_spectra_jobs_ctx_t;


static ngx_int_t ngx_http_spectra_jobs_lookup(ngx_http_request_t *r,
    ngx_http_spectra_tenant_t *tenant, ngx_str_t *id,
    ngx_http_spectra_job_op_e op, spectra_job_type_e type,
    ngx_http_spectra_page_t *page);
static void ngx_http_spectra_jobs_send_shown(ngx_http_request_t *r,
    spectra_job_t *job, unsigned flags);
static void ngx_http_spectra_jobs_found(void *data, ngx_int_t rc);
static void ngx_http_spectra_jobs_show(ngx_http_spectra_jobs_ctx_t *jc);
static void ngx_http_spectra_jobs_results_of(
    ngx_http_spectra_jobs_ctx_t *jc);
static void ngx_http_spectra_jobs_pages_of(ngx_http_spectra_jobs_ctx_t *jc);
static void ngx_http_spectra_jobs_page_followed(ngx_http_spectra_stmt_t *st);
static void ngx_http_spectra_jobs_page_answer(ngx_http_spectra_stmt_t *st);
static void ngx_http_spectra_jobs_end(ngx_http_spectra_stmt_t *st,
    spectra_query_t *q, ngx_http_spectra_page_t *page);
static void ngx_http_spectra_jobs_cancel_of(ngx_http_spectra_jobs_ctx_t *jc);
static void ngx_http_spectra_jobs_store_cancelled(void *data, ngx_int_t rc);
static ngx_http_spectra_stmt_t *ngx_http_spectra_jobs_stmt(
    ngx_http_request_t *r, spectra_job_t *job, spectra_query_t *q);
static void ngx_http_spectra_jobs_shown(ngx_http_spectra_stmt_t *st);
static void ngx_http_spectra_jobs_cancelled(ngx_http_spectra_stmt_t *st);
static void ngx_http_spectra_jobs_listed(void *data, ngx_int_t rc);
static ngx_int_t ngx_http_spectra_jobs_upstream(ngx_http_request_t *r,
    ngx_http_spectra_stmt_t *st);


ngx_int_t
ngx_http_spectra_job_send(ngx_http_request_t *r, ngx_uint_t status,
    spectra_job_t *job, unsigned flags)
{
    size_t                        len;
    ngx_buf_t                    *b;
    ngx_chain_t                   out;
    ngx_table_elt_t              *h;
    ngx_http_spectra_loc_conf_t  *slcf;

    len = spectra_job_json_len(job, NULL, flags);

    b = ngx_create_temp_buf(r->pool, len + 1);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b->last = spectra_job_json(b->last, job, NULL, flags);
    *b->last++ = '\n';

    out.buf = b;
    out.next = NULL;

    if (status == NGX_HTTP_ACCEPTED) {
        /* where the job is, and when to look again */

        slcf = ngx_http_get_module_loc_conf(r, ngx_http_spectra_module);

        h = ngx_list_push(&r->headers_out.headers);
        if (h == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        h->hash = 1;
        ngx_str_set(&h->key, "Location");
        h->value.data = ngx_pnalloc(r->pool, sizeof("/v1/jobs/") - 1
                                             + SPECTRA_JOB_ID_LEN);
        if (h->value.data == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        h->value.len = ngx_sprintf(h->value.data, "/v1/jobs/%s", job->id)
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


ngx_int_t
ngx_http_spectra_job_send_ended(ngx_http_request_t *r, spectra_job_t *job,
    spectra_job_status_e status)
{
    u_char      *p;
    ngx_str_t    message, extra;
    const char  *code;
    ngx_uint_t   http;

    p = ngx_pnalloc(r->pool, sizeof(",\"sqlstate\":\"\",\"job_id\":\"\"") - 1
                             + 5 + SPECTRA_JOB_ID_LEN);
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    extra.data = p;

    if (status == SPECTRA_JOB_FAILED) {
        http = 422;
        code = "QUERY_FAILED";

        if (job->error_message.data != NULL) {
            message.data = job->error_message.data;
            message.len = job->error_message.len;

        } else {
            ngx_str_set(&message, "the query failed");
        }

        if (job->sqlstate.len == 5) {
            p = ngx_sprintf(p, ",\"sqlstate\":\"%*s\"", (size_t) 5,
                            job->sqlstate.data);
        }

    } else if (status == SPECTRA_JOB_TIMEOUT) {
        http = NGX_HTTP_REQUEST_TIME_OUT;
        code = "QUERY_TIMEOUT";
        ngx_str_set(&message, "the query timed out and was cancelled");

    } else {
        http = NGX_HTTP_CONFLICT;
        code = "CONFLICT";
        ngx_str_set(&message, "the query was cancelled");
    }

    p = ngx_sprintf(p, ",\"job_id\":\"%s\"", job->id);
    extra.len = p - extra.data;

    return ngx_http_spectra_send_error_extra(r, http, code, &message,
                                             &extra);
}


static ngx_int_t
ngx_http_spectra_jobs_upstream(ngx_http_request_t *r,
    ngx_http_spectra_stmt_t *st)
{
    ngx_str_t    message;
    ngx_uint_t   status;
    const char  *code;

    status = ngx_http_spectra_stmt_upstream_error(st, &code, &message);

    return ngx_http_spectra_fail(r, status, code, "%V", &message);
}


void
ngx_http_spectra_jobs_answer(ngx_http_spectra_stmt_t *st)
{
    ngx_http_spectra_jobs_end(st, st->data, NULL);
}


/* How a statement of a job's results ended, answered: q's rows or else. */

static void
ngx_http_spectra_jobs_end(ngx_http_spectra_stmt_t *st, spectra_query_t *q,
    ngx_http_spectra_page_t *page)
{
    ngx_http_request_t  *r;

    r = st->request;

    switch (st->end) {

    case NGX_HTTP_SPECTRA_END_ROWS:
    case NGX_HTTP_SPECTRA_END_COMPLETED:
        if (page != NULL) {
            ngx_http_spectra_rows_start_page(r, st, q, page);

        } else {
            ngx_http_spectra_rows_start(r, st, q);
        }

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

    case NGX_HTTP_SPECTRA_END_RUNNING:
        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "spectra job %s continues", st->job.id);

        ngx_http_spectra_finish(r,
            ngx_http_spectra_job_send(r, NGX_HTTP_ACCEPTED, &st->job, 0));
        return;

    case NGX_HTTP_SPECTRA_END_GONE:
        ngx_http_spectra_finish(r, NGX_HTTP_CLIENT_CLOSED_REQUEST);
        return;

    case NGX_HTTP_SPECTRA_END_UPSTREAM:
        ngx_http_spectra_finish(r, ngx_http_spectra_jobs_upstream(r, st));
        return;

    default:
        ngx_http_spectra_finish(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }
}


/* A statement of the request for a job that exists, with its options. */

static ngx_http_spectra_stmt_t *
ngx_http_spectra_jobs_stmt(ngx_http_request_t *r, spectra_job_t *job,
    spectra_query_t *q)
{
    spectra_query_limits_t        limits;
    ngx_http_spectra_ctx_t       *ctx;
    ngx_http_spectra_stmt_t      *st;
    ngx_http_spectra_loc_conf_t  *slcf;

    slcf = ngx_http_get_module_loc_conf(r, ngx_http_spectra_module);
    ctx = ngx_http_spectra_get_ctx(r);

    st = ngx_http_spectra_stmt_create(r);
    if (ctx == NULL || st == NULL) {
        return NULL;
    }

    ctx->stmt = st;
    ngx_memcpy(ctx->job_id, job->id, SPECTRA_JOB_ID_LEN + 1);

    ngx_http_spectra_query_limits(slcf, &limits);
    spectra_query_options_read(job->result.data, job->result.len, &limits,
                               q);

    st->job = *job;
    st->statement_id.data = job->statement_id.data;
    st->statement_id.len = job->statement_id.len;
    st->row_limit = (job->type == SPECTRA_JOB_QUERY) ? q->row_limit : 0;
    st->deadline = job->deadline_at;
    st->wait_until = ngx_http_spectra_job_now();
    st->completed = (job->status == SPECTRA_JOB_COMPLETED);
    st->data = q;

    return st;
}


void
ngx_http_spectra_jobs_replay(ngx_http_request_t *r, spectra_job_t *job)
{
    spectra_query_t          *q;
    ngx_http_spectra_stmt_t  *st;

    switch (job->status) {

    case SPECTRA_JOB_COMPLETED:
        if (job->statement_id.len == 0 || job->type != SPECTRA_JOB_QUERY) {
            break;
        }

        q = ngx_pcalloc(r->pool, sizeof(spectra_query_t));
        if (q == NULL) {
            ngx_http_spectra_finish(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
            return;
        }

        st = ngx_http_spectra_jobs_stmt(r, job, q);
        if (st == NULL) {
            ngx_http_spectra_finish(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
            return;
        }

        st->want_rows = 1;
        st->started = ngx_http_spectra_job_now();
        ngx_str_null(&st->next_token);

        ngx_http_spectra_stmt_fetch(st, ngx_http_spectra_jobs_answer);
        return;

    case SPECTRA_JOB_FAILED:
    case SPECTRA_JOB_CANCELLED:
    case SPECTRA_JOB_TIMEOUT:
        ngx_http_spectra_finish(r,
                     ngx_http_spectra_job_send_ended(r, job, job->status));
        return;

    default:
        break;
    }

    ngx_http_spectra_finish(r,
                 ngx_http_spectra_job_send(r, NGX_HTTP_ACCEPTED, job, 0));
}


/*
 * Finds the caller's job {id}; anything else, another tenant's job
 * included, is the same 404.  Goes on in ngx_http_spectra_jobs_found().
 */

static ngx_int_t
ngx_http_spectra_jobs_lookup(ngx_http_request_t *r,
    ngx_http_spectra_tenant_t *tenant, ngx_str_t *id,
    ngx_http_spectra_job_op_e op, spectra_job_type_e type,
    ngx_http_spectra_page_t *page)
{
    ngx_str_t                     arg;
    ngx_http_spectra_job_call_t  *call;
    ngx_http_spectra_jobs_ctx_t  *jc;

    ngx_http_discard_request_body(r);

    jc = ngx_pcalloc(r->pool, sizeof(ngx_http_spectra_jobs_ctx_t));
    call = ngx_pcalloc(r->pool, sizeof(ngx_http_spectra_job_call_t));

    if (jc == NULL || call == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    jc->request = r;
    jc->tenant = tenant;
    jc->op = op;
    jc->type = type;
    jc->page = page;

    /* ?include=sql: the tenant's own SQL and parameters, on request */
    if (ngx_http_arg(r, (u_char *) "include", 7, &arg) == NGX_OK) {
        if (arg.len == 3 && ngx_strncmp(arg.data, "sql", 3) == 0) {
            jc->flags |= SPECTRA_JOB_JSON_SQL;

        } else {
            return ngx_http_spectra_fail(r, NGX_HTTP_BAD_REQUEST,
                                         "INVALID_REQUEST",
                                         "include must be \"sql\"");
        }
    }

    call->pool = r->pool;
    call->log = r->connection->log;
    call->connection = r->connection;
    call->handler = ngx_http_spectra_jobs_found;
    call->data = jc;

    /* the store may answer later: the request goes on until it does */
    (void) ngx_http_spectra_api_async(r);

    ngx_http_spectra_job_get(call, tenant, id, &jc->job);

    return NGX_DONE;
}


static void
ngx_http_spectra_jobs_found(void *data, ngx_int_t rc)
{
    ngx_http_spectra_jobs_ctx_t  *jc = data;

    ngx_http_request_t      *r;
    ngx_http_spectra_ctx_t  *ctx;

    r = jc->request;

    if (rc == NGX_OK && jc->type != SPECTRA_JOB_TYPE_NONE
        && jc->job.type != jc->type)
    {
        /* /v1/bulk/{id} of a query is as absent as another's export */
        rc = NGX_DECLINED;
    }

    if (rc == NGX_DECLINED) {
        ngx_http_spectra_finish(r,
            ngx_http_spectra_fail(r, NGX_HTTP_NOT_FOUND, "NOT_FOUND",
                                  jc->type == SPECTRA_JOB_BULK
                                  ? "no such export"
                                  : jc->type == SPECTRA_JOB_IMPORT
                                  ? "no such import" : "no such job"));
        return;
    }

    if (rc != NGX_OK) {
        ngx_http_spectra_finish(r, ngx_http_spectra_job_fail(r, rc));
        return;
    }

    /* $spectra_job_id: the job the request acted on */
    ctx = ngx_http_spectra_get_ctx(r);
    if (ctx != NULL) {
        ngx_memcpy(ctx->job_id, jc->job.id, SPECTRA_JOB_ID_LEN + 1);
    }

    switch (jc->op) {

    case NGX_HTTP_SPECTRA_JOB_RESULTS:
        ngx_http_spectra_jobs_results_of(jc);
        return;

    case NGX_HTTP_SPECTRA_JOB_CANCEL:
        ngx_http_spectra_jobs_cancel_of(jc);
        return;

    default:
        ngx_http_spectra_jobs_show(jc);
        return;
    }
}


/* GET /v1/jobs/{id} */

ngx_int_t
ngx_http_spectra_jobs_get(ngx_http_request_t *r,
    ngx_http_spectra_tenant_t *tenant, ngx_str_t *id)
{
    return ngx_http_spectra_jobs_lookup(r, tenant, id,
                                        NGX_HTTP_SPECTRA_JOB_SHOW,
                                        SPECTRA_JOB_TYPE_NONE, NULL);
}


ngx_int_t
ngx_http_spectra_jobs_get_type(ngx_http_request_t *r,
    ngx_http_spectra_tenant_t *tenant, ngx_str_t *id,
    spectra_job_type_e type)
{
    return ngx_http_spectra_jobs_lookup(r, tenant, id,
                                        NGX_HTTP_SPECTRA_JOB_SHOW, type,
                                        NULL);
}


/* An export shows its files when complete: its own file answers. */

static void
ngx_http_spectra_jobs_send_shown(ngx_http_request_t *r, spectra_job_t *job,
    unsigned flags)
{
    if (job->type == SPECTRA_JOB_BULK) {
        ngx_http_spectra_bulk_show(r, job, flags, NGX_HTTP_OK);
        return;
    }

    if (job->type == SPECTRA_JOB_IMPORT) {
        ngx_http_spectra_import_show(r, job, flags, NGX_HTTP_OK);
        return;
    }

    ngx_http_spectra_finish(r,
        ngx_http_spectra_job_send(r, NGX_HTTP_OK, job, flags));
}


static void
ngx_http_spectra_jobs_show(ngx_http_spectra_jobs_ctx_t *jc)
{
    ngx_http_request_t       *r;
    ngx_http_spectra_stmt_t  *st;

    r = jc->request;

    if (!(SPECTRA_JOB_MASK(jc->job.status) & SPECTRA_JOB_ACTIVE)
        || jc->job.statement_id.len == 0)
    {
        ngx_http_spectra_jobs_send_shown(r, &jc->job, jc->flags);
        return;
    }

    st = ngx_http_spectra_jobs_stmt(r, &jc->job, &jc->q);
    if (st == NULL) {
        ngx_http_spectra_finish(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    st->data = jc;

    ngx_http_spectra_stmt_follow(st, ngx_http_spectra_jobs_shown);
}


static void
ngx_http_spectra_jobs_shown(ngx_http_spectra_stmt_t *st)
{
    ngx_http_request_t           *r;
    ngx_http_spectra_jobs_ctx_t  *jc;

    r = st->request;
    jc = st->data;

    switch (st->end) {

    case NGX_HTTP_SPECTRA_END_UPSTREAM:
        ngx_http_spectra_finish(r, ngx_http_spectra_jobs_upstream(r, st));
        return;

    case NGX_HTTP_SPECTRA_END_ERROR:
        ngx_http_spectra_finish(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;

    default:
        /* the job as the refresh left it, whatever it said */
        ngx_http_spectra_jobs_send_shown(r, &st->job, jc->flags);
        return;
    }
}


/*
 * GET /v1/jobs/{id}/results: the job's answer as its query gave it, or
 * with page_size, page_bytes or cursor a page of the whole result.
 */

ngx_int_t
ngx_http_spectra_jobs_results(ngx_http_request_t *r,
    ngx_http_spectra_tenant_t *tenant, ngx_str_t *id)
{
    ngx_int_t                 rc;
    ngx_str_t                 error;
    ngx_http_spectra_page_t  *page;

    page = ngx_palloc(r->pool, sizeof(ngx_http_spectra_page_t));
    if (page == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rc = ngx_http_spectra_page_args(r, page, &error);

    if (rc == NGX_ERROR) {
        if (error.len == 0) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        ngx_http_discard_request_body(r);

        return ngx_http_spectra_fail(r, NGX_HTTP_BAD_REQUEST,
                                     "INVALID_REQUEST", "%V", &error);
    }

    return ngx_http_spectra_jobs_lookup(r, tenant, id,
                                        NGX_HTTP_SPECTRA_JOB_RESULTS,
                                        SPECTRA_JOB_TYPE_NONE,
                                        rc == NGX_OK ? page : NULL);
}


static void
ngx_http_spectra_jobs_results_of(ngx_http_spectra_jobs_ctx_t *jc)
{
    ngx_http_request_t       *r;
    ngx_http_spectra_stmt_t  *st;

    r = jc->request;

    if (jc->job.type != SPECTRA_JOB_QUERY) {
        ngx_http_spectra_finish(r,
            ngx_http_spectra_fail(r, NGX_HTTP_NOT_FOUND, "NOT_FOUND",
                                  "an export has no inline results: see "
                                  "/v1/bulk/%s", jc->job.id));
        return;
    }

    if (jc->page != NULL) {
        ngx_http_spectra_jobs_pages_of(jc);
        return;
    }

    if (!(SPECTRA_JOB_MASK(jc->job.status) & SPECTRA_JOB_ACTIVE)
        || jc->job.statement_id.len == 0)
    {
        ngx_http_spectra_jobs_replay(r, &jc->job);
        return;
    }

    /* still running, as far as the store knows: ask, then answer */

    st = ngx_http_spectra_jobs_stmt(r, &jc->job, &jc->q);
    if (st == NULL) {
        ngx_http_spectra_finish(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    st->want_rows = 1;

    ngx_http_spectra_stmt_follow(st, ngx_http_spectra_jobs_answer);
}


/*
 * A page of the job's results: from its cursor (which must be one of
 * this job's, for this tenant and user), or from the first row.  A
 * finished job's pages are fetched straight away; an active one is
 * described first and answers as the job's answer does while it runs.
 */

static void
ngx_http_spectra_jobs_pages_of(ngx_http_spectra_jobs_ctx_t *jc)
{
    ngx_int_t                 rc;
    spectra_job_t            *job;
    ngx_http_request_t       *r;
    ngx_http_spectra_page_t  *page;
    ngx_http_spectra_stmt_t  *st;

    r = jc->request;
    job = &jc->job;
    page = jc->page;

    rc = ngx_http_spectra_page_open(r, page, job);

    if (rc == NGX_DECLINED) {
        ngx_http_spectra_finish(r,
            ngx_http_spectra_fail(r, NGX_HTTP_BAD_REQUEST, "INVALID_REQUEST",
                                  "invalid cursor: it is not a cursor of "
                                  "this job's results (or it was made "
                                  "with another cursor key)"));
        return;
    }

    if (rc != NGX_OK) {
        ngx_http_spectra_finish(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    switch (job->status) {

    case SPECTRA_JOB_FAILED:
    case SPECTRA_JOB_CANCELLED:
    case SPECTRA_JOB_TIMEOUT:
        ngx_http_spectra_finish(r,
                     ngx_http_spectra_job_send_ended(r, job, job->status));
        return;

    default:
        break;
    }

    if (job->statement_id.len == 0) {
        /* not submitted yet */
        ngx_http_spectra_finish(r,
                     ngx_http_spectra_job_send(r, NGX_HTTP_ACCEPTED, job, 0));
        return;
    }

    st = ngx_http_spectra_jobs_stmt(r, job, &jc->q);
    if (st == NULL) {
        ngx_http_spectra_finish(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    /*
     * The page's limits, not the job's answer's (st->row_limit stays);
     * no page reads past the rows the statement kept.
     */
    page->kept = jc->q.kept_rows;

    jc->q.row_limit = (page->at.offset < page->kept)
                      ? ngx_min(page->rows, page->kept - page->at.offset)
                      : 0;
    jc->q.byte_limit = page->bytes;

    st->data = jc;

    if (job->status == SPECTRA_JOB_COMPLETED) {
        st->want_rows = 1;
        st->started = ngx_http_spectra_job_now();
        st->next_token.data = page->at.token.data;
        st->next_token.len = page->at.token.len;

        ngx_http_spectra_stmt_fetch(st, ngx_http_spectra_jobs_page_answer);
        return;
    }

    /* active, as far as the store knows: ask, then fetch the page */

    st->want_rows = 0;

    ngx_http_spectra_stmt_follow(st, ngx_http_spectra_jobs_page_followed);
}


static void
ngx_http_spectra_jobs_page_followed(ngx_http_spectra_stmt_t *st)
{
    ngx_http_spectra_jobs_ctx_t  *jc;

    jc = st->data;

    if (st->end == NGX_HTTP_SPECTRA_END_COMPLETED && st->has_result) {
        st->want_rows = 1;
        st->next_token.data = jc->page->at.token.data;
        st->next_token.len = jc->page->at.token.len;

        ngx_http_spectra_stmt_fetch(st, ngx_http_spectra_jobs_page_answer);
        return;
    }

    ngx_http_spectra_jobs_page_answer(st);
}


static void
ngx_http_spectra_jobs_page_answer(ngx_http_spectra_stmt_t *st)
{
    ngx_http_spectra_jobs_ctx_t  *jc;

    jc = st->data;

    ngx_http_spectra_jobs_end(st, &jc->q, jc->page);
}


/* DELETE /v1/jobs/{id} */

ngx_int_t
ngx_http_spectra_jobs_cancel(ngx_http_request_t *r,
    ngx_http_spectra_tenant_t *tenant, ngx_str_t *id)
{
    return ngx_http_spectra_jobs_lookup(r, tenant, id,
                                        NGX_HTTP_SPECTRA_JOB_CANCEL,
                                        SPECTRA_JOB_TYPE_NONE, NULL);
}


ngx_int_t
ngx_http_spectra_jobs_cancel_type(ngx_http_request_t *r,
    ngx_http_spectra_tenant_t *tenant, ngx_str_t *id,
    spectra_job_type_e type)
{
    return ngx_http_spectra_jobs_lookup(r, tenant, id,
                                        NGX_HTTP_SPECTRA_JOB_CANCEL, type,
                                        NULL);
}


static void
ngx_http_spectra_jobs_cancel_of(ngx_http_spectra_jobs_ctx_t *jc)
{
    ngx_str_t                     id;
    ngx_http_request_t           *r;
    ngx_http_spectra_stmt_t      *st;
    ngx_http_spectra_job_call_t  *call;

    r = jc->request;

    if (!(SPECTRA_JOB_MASK(jc->job.status) & SPECTRA_JOB_ACTIVE)) {
        ngx_http_spectra_finish(r,
            ngx_http_spectra_fail(r, NGX_HTTP_CONFLICT, "CONFLICT",
                                  "the job is %s and cannot be cancelled",
                                  spectra_job_status_name(jc->job.status)));
        return;
    }

    if (jc->job.statement_id.len == 0) {
        /* not submitted yet: its request cancels it when it has an id */
        call = ngx_pcalloc(r->pool, sizeof(ngx_http_spectra_job_call_t));
        if (call == NULL) {
            ngx_http_spectra_finish(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
            return;
        }

        call->pool = r->pool;
        call->log = r->connection->log;
        call->connection = r->connection;
        call->handler = ngx_http_spectra_jobs_store_cancelled;
        call->data = jc;

        id.data = jc->job.id;
        id.len = SPECTRA_JOB_ID_LEN;

        ngx_http_spectra_job_cancel(call, jc->tenant, &id,
                                    &jc->job);
        return;
    }

    st = ngx_http_spectra_jobs_stmt(r, &jc->job, &jc->q);
    if (st == NULL) {
        ngx_http_spectra_finish(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    st->data = jc;

    ngx_http_spectra_stmt_cancel(st, NGX_HTTP_SPECTRA_END_CANCELLED,
                                 ngx_http_spectra_jobs_cancelled);
}


static void
ngx_http_spectra_jobs_store_cancelled(void *data, ngx_int_t rc)
{
    ngx_http_spectra_jobs_ctx_t  *jc = data;

    ngx_http_request_t  *r;

    r = jc->request;

    if (rc == NGX_DECLINED) {
        ngx_http_spectra_finish(r,
            ngx_http_spectra_fail(r, NGX_HTTP_CONFLICT, "CONFLICT",
                                  "the job is %s and cannot be cancelled",
                                  spectra_job_status_name(jc->job.status)));
        return;
    }

    if (rc != NGX_OK) {
        ngx_http_spectra_finish(r, ngx_http_spectra_job_fail(r, rc));
        return;
    }

    ngx_http_spectra_finish(r,
        ngx_http_spectra_job_send(r, NGX_HTTP_OK, &jc->job, jc->flags));
}


static void
ngx_http_spectra_jobs_cancelled(ngx_http_spectra_stmt_t *st)
{
    ngx_http_request_t           *r;
    ngx_http_spectra_jobs_ctx_t  *jc;

    r = st->request;
    jc = st->data;

    switch (st->end) {

    case NGX_HTTP_SPECTRA_END_CANCELLED:
        ngx_http_spectra_finish(r,
            ngx_http_spectra_job_send(r, NGX_HTTP_OK, &st->job, jc->flags));
        return;

    case NGX_HTTP_SPECTRA_END_UPSTREAM:
        ngx_http_spectra_finish(r, ngx_http_spectra_jobs_upstream(r, st));
        return;

    case NGX_HTTP_SPECTRA_END_ERROR:
        ngx_http_spectra_finish(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;

    default:
        /* it ended before the cancel came: say how it really is */
        ngx_http_spectra_finish(r,
            ngx_http_spectra_fail(r, NGX_HTTP_CONFLICT, "CONFLICT",
                                  "the job is %s and cannot be cancelled",
                                  spectra_job_status_name(st->job.status)));
        return;
    }
}


/* GET /v1/jobs?status=RUNNING,FAILED&type=query&limit=20&cursor=... */

ngx_int_t
ngx_http_spectra_jobs_list(ngx_http_request_t *r,
    ngx_http_spectra_tenant_t *tenant, ngx_str_t *id)
{
    u_char                       *p, *s, *last;
    ngx_int_t                     n;
    ngx_str_t                     arg;
    spectra_job_type_e            type;
    spectra_job_status_e          status;
    spectra_job_filter_t         *filter;
    ngx_http_spectra_job_call_t  *call;
    ngx_http_spectra_jobs_ctx_t  *jc;

    ngx_http_discard_request_body(r);

    jc = ngx_pcalloc(r->pool, sizeof(ngx_http_spectra_jobs_ctx_t));
    call = ngx_pcalloc(r->pool, sizeof(ngx_http_spectra_job_call_t));
    filter = ngx_pcalloc(r->pool, sizeof(spectra_job_filter_t));

    if (jc == NULL || call == NULL || filter == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    jc->request = r;
    jc->tenant = tenant;

    ngx_http_spectra_job_owner(&filter->owner, tenant);
    filter->limit = NGX_HTTP_SPECTRA_LIST_DEFAULT;

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

            filter->statuses |= SPECTRA_JOB_MASK(status);
        }
    }

    if (ngx_http_arg(r, (u_char *) "type", 4, &arg) == NGX_OK) {
        type = spectra_job_type_parse(arg.data, arg.len);

        if (type == SPECTRA_JOB_TYPE_NONE) {
            return ngx_http_spectra_fail(r, NGX_HTTP_BAD_REQUEST,
                                         "INVALID_REQUEST",
                                         "type must be query, bulk or import");
        }

        filter->types = 1u << type;
    }

    if (ngx_http_arg(r, (u_char *) "limit", 5, &arg) == NGX_OK) {
        n = ngx_atoi(arg.data, arg.len);

        if (n < 1 || n > NGX_HTTP_SPECTRA_LIST_MAX) {
            return ngx_http_spectra_fail(r, NGX_HTTP_BAD_REQUEST,
                                         "INVALID_REQUEST",
                                         "limit must be an integer from 1 "
                                         "to %d", NGX_HTTP_SPECTRA_LIST_MAX);
        }

        filter->limit = n;
    }

    if (ngx_http_arg(r, (u_char *) "cursor", 6, &arg) == NGX_OK) {
        filter->cursor.data = arg.data;
        filter->cursor.len = arg.len;
    }

    call->pool = r->pool;
    call->log = r->connection->log;
    call->connection = r->connection;
    call->handler = ngx_http_spectra_jobs_listed;
    call->data = jc;

    (void) ngx_http_spectra_api_async(r);

    ngx_http_spectra_job_list(call, filter, &jc->list);

    return NGX_DONE;
}


static void
ngx_http_spectra_jobs_listed(void *data, ngx_int_t rc)
{
    ngx_http_spectra_jobs_ctx_t  *jc = data;

    size_t               len, i;
    ngx_buf_t           *b;
    ngx_chain_t          out;
    ngx_http_request_t  *r;
    spectra_job_list_t  *list;

    r = jc->request;
    list = &jc->list;

    if (rc == NGX_DECLINED) {
        ngx_http_spectra_finish(r,
            ngx_http_spectra_fail(r, NGX_HTTP_BAD_REQUEST, "INVALID_REQUEST",
                                  "invalid cursor"));
        return;
    }

    if (rc != NGX_OK) {
        ngx_http_spectra_finish(r, ngx_http_spectra_job_fail(r, rc));
        return;
    }

    len = sizeof("{\"jobs\":[],\"next_cursor\":\"\"}\n") - 1
          + SPECTRA_JOB_CURSOR_LEN;

    for (i = 0; i < list->njobs; i++) {
        len += spectra_job_json_len(&list->jobs[i], NULL, 0) + 1;
    }

    b = ngx_create_temp_buf(r->pool, len);
    if (b == NULL) {
        ngx_http_spectra_finish(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    b->last = ngx_cpymem(b->last, "{\"jobs\":[", sizeof("{\"jobs\":[") - 1);

    for (i = 0; i < list->njobs; i++) {
        if (i) {
            *b->last++ = ',';
        }

        b->last = spectra_job_json(b->last, &list->jobs[i], NULL, 0);
    }

    if (list->next_cursor[0] != '\0') {
        b->last = ngx_sprintf(b->last, "],\"next_cursor\":\"%s\"}\n",
                              list->next_cursor);

    } else {
        b->last = ngx_cpymem(b->last, "],\"next_cursor\":null}\n",
                             sizeof("],\"next_cursor\":null}\n") - 1);
    }

    out.buf = b;
    out.next = NULL;

    ngx_http_spectra_finish(r, ngx_http_spectra_send_json(r, NGX_HTTP_OK,
                                                          &out));
}
