/*
 * The statement engine (ngx_http_spectra_statement.h): a statement's life
 * in the Data API as one state machine.  Each step sends one call through
 * st->call and names the step that reads its answer; a step ends the
 * statement's current operation by calling end(), which runs the user's
 * handler exactly once.
 */


#include "ngx_http_spectra_common.h"
#include "ngx_http_spectra_statement.h"
#include "ngx_http_spectra_dataapi.h"
#include "ngx_http_spectra_curl.h"
#include "ngx_http_spectra_jobs.h"
#include "ngx_http_spectra_session.h"
#include "ngx_http_spectra_supervisor.h"
#include "ngx_http_spectra_metrics.h"
#include "ngx_http_spectra_warehouse.h"


/*
 * A first page this small is written out in a turn or two of the event
 * loop: its job's COMPLETED can wait for the answer's row count, and the
 * two go to the store as one write (defer_complete).
 */
#define NGX_HTTP_SPECTRA_STMT_DEFER_MAX  (64 * 1024)


static void ngx_http_spectra_stmt_cleanup(void *data);
static void ngx_http_spectra_stmt_end(ngx_http_spectra_stmt_t *st,
    ngx_http_spectra_end_e end);
static void ngx_http_spectra_stmt_send(ngx_http_spectra_stmt_t *st,
    const char *operation, ngx_str_t *body, ngx_http_spectra_stmt_pt step);
static ngx_int_t ngx_http_spectra_stmt_id_body(ngx_http_spectra_stmt_t *st,
    ngx_str_t *next_token, ngx_uint_t wait, ngx_str_t *body);
static void ngx_http_spectra_stmt_wait(ngx_http_spectra_stmt_t *st,
    ngx_msec_t delay, ngx_http_spectra_stmt_pt step);
static void ngx_http_spectra_stmt_timer_handler(ngx_event_t *ev);
static ngx_uint_t ngx_http_spectra_stmt_long_poll(ngx_http_spectra_stmt_t *st);
static void ngx_http_spectra_stmt_classify(ngx_http_spectra_stmt_t *st,
    ngx_uint_t session, ngx_uint_t expected);
static void ngx_http_spectra_stmt_submit(ngx_http_spectra_stmt_t *st);
static void ngx_http_spectra_stmt_executed(ngx_http_spectra_stmt_t *st);
static void ngx_http_spectra_stmt_poll(ngx_http_spectra_stmt_t *st);
static void ngx_http_spectra_stmt_describe(ngx_http_spectra_stmt_t *st);
static void ngx_http_spectra_stmt_described(ngx_http_spectra_stmt_t *st);
static void ngx_http_spectra_stmt_fetch_page(ngx_http_spectra_stmt_t *st);
static void ngx_http_spectra_stmt_fetched(ngx_http_spectra_stmt_t *st);
static void ngx_http_spectra_stmt_send_cancel(ngx_http_spectra_stmt_t *st);
static void ngx_http_spectra_stmt_cancelled(ngx_http_spectra_stmt_t *st);
static void ngx_http_spectra_stmt_stopped(ngx_http_spectra_stmt_t *st,
    ngx_http_spectra_end_e end);
static ngx_int_t ngx_http_spectra_stmt_record(ngx_http_spectra_stmt_t *st);
ngx_http_spectra_stmt_t *
ngx_http_spectra_stmt_create(ngx_http_request_t *r)
{
    ngx_pool_cleanup_t       *cln;
    ngx_http_spectra_stmt_t  *st;

    st = ngx_pcalloc(r->pool, sizeof(ngx_http_spectra_stmt_t));
    if (st == NULL) {
        return NULL;
    }

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NULL;
    }

    st->request = r;
    st->pool = r->pool;
    st->log = r->connection->log;
    st->conf = ngx_http_get_module_loc_conf(r, ngx_http_spectra_module);
    st->call = ngx_http_spectra_dataapi_call;

    st->timer.handler = ngx_http_spectra_stmt_timer_handler;
    st->timer.data = st;
    st->timer.log = r->connection->log;

    st->described.result_rows = -1;
    st->described.duration_ms = -1;

    cln->handler = ngx_http_spectra_stmt_cleanup;
    cln->data = st;

    return st;
}


ngx_http_spectra_stmt_t *
ngx_http_spectra_stmt_background(ngx_log_t *log,
    ngx_http_spectra_loc_conf_t *conf)
{
    ngx_pool_t               *pool;
    ngx_http_spectra_stmt_t  *st;

    pool = ngx_create_pool(4096, log);
    if (pool == NULL) {
        return NULL;
    }

    st = ngx_pcalloc(pool, sizeof(ngx_http_spectra_stmt_t));
    if (st == NULL) {
        ngx_destroy_pool(pool);
        return NULL;
    }

    st->pool = pool;
    st->log = log;
    st->conf = conf;
    st->call = ngx_http_spectra_curl_call;

    st->timer.handler = ngx_http_spectra_stmt_timer_handler;
    st->timer.data = st;
    st->timer.log = log;
    st->timer.cancelable = 1;

    st->described.result_rows = -1;
    st->described.duration_ms = -1;

    return st;
}


void
ngx_http_spectra_stmt_destroy(ngx_http_spectra_stmt_t *st)
{
    if (st->timer.timer_set) {
        ngx_del_timer(&st->timer);
    }

    if (st->timer.posted) {
        ngx_delete_posted_event(&st->timer);
    }

    ngx_destroy_pool(st->pool);
}


/*
 * The request ends: its timer goes, and a statement it still followed is
 * handed to the supervisor, which watches its deadline from now on.
 */

static void
ngx_http_spectra_stmt_cleanup(void *data)
{
    ngx_http_spectra_stmt_t  *st = data;

    if (st->timer.timer_set) {
        ngx_del_timer(&st->timer);
    }

    if (st->timer.posted) {
        ngx_delete_posted_event(&st->timer);
    }

    ngx_http_spectra_session_cleanup(st);

    if (st->complete_pending) {
        /* the answer did not reach its end: the job is complete all the same */
        st->complete_pending = 0;
        ngx_http_spectra_job_completed(st, -1, st->execution_ms);
    }

    if (st->job.id[0] == '\0' || !st->waiting
        || !(SPECTRA_JOB_MASK(st->job.status) & SPECTRA_JOB_ACTIVE))
    {
        return;
    }

    /*
     * the request went without an answer (an HTTP/2 stream reset): nobody
     * gets the rows, the statement is cancelled in the background
     */

    if (st->statement_id.len) {
        ngx_http_spectra_supervisor_cancel(st);
        return;
    }

    ngx_http_spectra_job_check_at(st, ngx_http_spectra_job_now());
}


/*
 * Ends the current operation.  The handler may finalize the request and
 * with it free st: nothing here touches st after calling it.
 */

static void
ngx_http_spectra_stmt_end(ngx_http_spectra_stmt_t *st,
    ngx_http_spectra_end_e end)
{
    ngx_http_spectra_stmt_pt  handler;

    st->end = end;
    st->waiting = 0;

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, st->log, 0,
                   "spectra stmt %s end %d", st->job.id, (int) end);

    if (st->request != NULL && st->job.id[0] != '\0'
        && (end == NGX_HTTP_SPECTRA_END_RUNNING
            || end == NGX_HTTP_SPECTRA_END_UPSTREAM
            || end == NGX_HTTP_SPECTRA_END_ERROR))
    {
        /* the statement may go on without us: the supervisor follows it */
        ngx_http_spectra_job_check_at(st, ngx_http_spectra_job_now());
    }

    handler = st->handler;
    st->handler = NULL;

    if (handler != NULL) {
        handler(st);
    }
}


static void
ngx_http_spectra_stmt_send(ngx_http_spectra_stmt_t *st,
    const char *operation, ngx_str_t *body, ngx_http_spectra_stmt_pt step)
{
    /* every call of a job goes to the job's warehouse */
    if (ngx_http_spectra_warehouse_bind(st) != NGX_OK) {
        ngx_http_spectra_stmt_end(st, NGX_HTTP_SPECTRA_END_UPSTREAM);
        return;
    }

    st->step = step;
    st->waiting = 1;
    st->status = 0;
    st->call_action = operation;
    st->call_start = ngx_http_spectra_metrics_clock();

    if (st->call(st, operation, body) != NGX_OK) {
        st->call_action = NULL;
        st->step = NULL;
        ngx_http_spectra_stmt_end(st, NGX_HTTP_SPECTRA_END_ERROR);
    }
}


void
ngx_http_spectra_stmt_resume(ngx_http_spectra_stmt_t *st)
{
    ngx_http_spectra_stmt_pt  step;

    step = st->step;
    st->step = NULL;
    st->waiting = 0;

    if (st->call_action != NULL) {
        ngx_http_spectra_metrics_dataapi(st->call_action,
                                         ngx_http_spectra_metrics_clock()
                                         - st->call_start);
        st->call_action = NULL;

        /* a call's answer (not a timer): the warehouse's health */
        ngx_http_spectra_warehouse_answered(st);
    }

    if (step != NULL) {
        step(st);
    }
}


static ngx_int_t
ngx_http_spectra_stmt_id_body(ngx_http_spectra_stmt_t *st,
    ngx_str_t *next_token, ngx_uint_t wait, ngx_str_t *body)
{
    spectra_pool_t  pool = ngx_http_spectra_pool(st->pool);

    if (spectra_dataapi_id_body(ngx_http_spectra_str(&st->statement_id),
                                ngx_http_spectra_str(next_token),
                                (unsigned) wait, &pool,
                                ngx_http_spectra_str(body))
        != SPECTRA_DATAAPI_OK)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


static void
ngx_http_spectra_stmt_wait(ngx_http_spectra_stmt_t *st, ngx_msec_t delay,
    ngx_http_spectra_stmt_pt step)
{
    st->step = step;
    st->waiting = 1;
    st->status = 0;

    ngx_add_timer(&st->timer, delay);
}


static void
ngx_http_spectra_stmt_timer_handler(ngx_event_t *ev)
{
    ngx_connection_t         *c;
    ngx_http_request_t       *r;
    ngx_http_spectra_stmt_t  *st;

    st = ev->data;
    r = st->request;
    c = (r != NULL) ? r->connection : NULL;

    if (r != NULL) {
        ngx_http_set_log_request(c->log, r);
    }

    ngx_log_debug0(NGX_LOG_DEBUG_HTTP, ev->log, 0, "spectra stmt timer");

    ngx_http_spectra_stmt_resume(st);

    if (c != NULL) {
        ngx_http_run_posted_requests(c);
    }
}


/*
 * With spectra_long_poll, calls carry WaitTimeSeconds: the Data API
 * answers as soon as the statement ends, so no time is lost sleeping.
 * The wait never reaches past the next deadline; below one second the
 * engine polls with timers instead.
 */

static ngx_uint_t
ngx_http_spectra_stmt_long_poll(ngx_http_spectra_stmt_t *st)
{
    int64_t  now, until;

    if (st->conf->long_poll == 0 || st->request == NULL) {
        return 0;
    }

    now = ngx_http_spectra_job_now();
    until = st->deadline;

    if (st->wait_until && (until == 0 || st->wait_until < until)) {
        until = st->wait_until;
    }

    if (until <= now) {
        return 0;
    }

    return (ngx_uint_t) (ngx_min((uint64_t) (until - now),
                                 (uint64_t) st->conf->long_poll) / 1000);
}


/* expected: an error kind that is part of the flow, logged at info */

static void
ngx_http_spectra_stmt_classify(ngx_http_spectra_stmt_t *st,
    ngx_uint_t session, ngx_uint_t expected)
{
    ngx_uint_t  level;

    spectra_dataapi_classify((unsigned) st->status, st->answer.data,
                             st->answer.len, (int) session, &st->derr);

    if (st->answer_too_big) {
        st->derr.kind = SPECTRA_DATAAPI_E_UNAVAILABLE;
        ngx_cpystrn((u_char *) st->derr.message,
                    (u_char *) "the data API's answer is larger than "
                    "subrequest_output_buffer_size",
                    sizeof(st->derr.message));
    }

    level = (st->derr.kind == SPECTRA_DATAAPI_E_THROTTLED
             || st->derr.kind == SPECTRA_DATAAPI_E_SESSION
             || st->derr.kind == SPECTRA_DATAAPI_E_FINISHED
             || st->derr.kind == expected)
            ? NGX_LOG_INFO : NGX_LOG_ERR;

    ngx_log_error(level, st->log, 0,
                  "spectra: data API answered %ui %s: %s (job %s)",
                  st->status, st->derr.type[0] ? st->derr.type : "-",
                  st->derr.message, st->job.id);

    ngx_http_spectra_metrics_dataapi_error(&st->derr);
}


ngx_uint_t
ngx_http_spectra_stmt_upstream_error(ngx_http_spectra_stmt_t *st,
    const char **code, ngx_str_t *message)
{
    *code = "UPSTREAM_ERROR";

    switch (st->derr.kind) {

    case SPECTRA_DATAAPI_E_THROTTLED:
        *code = "RATE_LIMITED";
        ngx_str_set(message, "the warehouse is busy, retry later");
        return 429;

    case SPECTRA_DATAAPI_E_NOT_FOUND:
        *code = "NOT_FOUND";
        ngx_str_set(message, "the statement's results are no longer "
                             "available");
        return NGX_HTTP_NOT_FOUND;

    case SPECTRA_DATAAPI_E_TIMEOUT:
        *code = "UPSTREAM_TIMEOUT";
        ngx_str_set(message, "the data API did not answer in time");
        return NGX_HTTP_GATEWAY_TIME_OUT;

    case SPECTRA_DATAAPI_E_REFUSED:
        ngx_str_set(message, "the data API refused the credentials");
        return NGX_HTTP_BAD_GATEWAY;

    case SPECTRA_DATAAPI_E_UNAVAILABLE:
        if (st->malformed != NULL) {
            message->data = (u_char *) st->malformed;
            message->len = ngx_strlen(st->malformed);

        } else if (st->answer_too_big) {
            ngx_str_set(message, "a data API answer is larger than "
                                 "subrequest_output_buffer_size: lower the "
                                 "row or byte limit, or use the bulk API");

        } else {
            ngx_str_set(message, "the data API is unreachable or failed");
        }

        return NGX_HTTP_BAD_GATEWAY;

    default:
        message->data = (u_char *) st->derr.type;
        message->len = ngx_strlen(st->derr.type);

        if (message->len == 0) {
            ngx_str_set(message, "the data API rejected the request");
        }

        return NGX_HTTP_BAD_GATEWAY;
    }
}


/* execute: submit, then wait */

void
ngx_http_spectra_stmt_execute(ngx_http_spectra_stmt_t *st,
    ngx_http_spectra_stmt_pt handler)
{
    st->handler = handler;
    st->started = ngx_http_spectra_job_now();
    st->polls = 0;
    st->delay = st->conf->poll_min;

    /* the session below is the warehouse's (send checks it again) */
    (void) ngx_http_spectra_warehouse_bind(st);

    ngx_http_spectra_stmt_submit(st);
}


/* ExecuteStatement, in the database user's session when there is one. */

static void
ngx_http_spectra_stmt_submit(ngx_http_spectra_stmt_t *st)
{
    u_char                      *p;
    ngx_str_t                    body;
    spectra_pool_t               pool = ngx_http_spectra_pool(st->pool);
    spectra_dataapi_execute_t    in;
    ngx_http_spectra_loc_conf_t *conf;

    conf = st->conf;

    if (st->request != NULL) {
        ngx_http_spectra_session_acquire(st);
    }

    /*
     * ExecuteStatement waits one second at most: a statement has no id to
     * cancel until it answers, and a client that goes away must have its
     * statement cancelled within a second.  Longer waits are long polls
     * of DescribeStatement, which a CancelStatement can cut short.
     */
    st->wait_seconds = ngx_min(ngx_http_spectra_stmt_long_poll(st), 1);

    ngx_memzero(&in, sizeof(spectra_dataapi_execute_t));

    in.sql.data = st->sql.data;
    in.sql.len = st->sql.len;
    in.database = *ngx_http_spectra_str(&conf->database);
    in.cluster = *ngx_http_spectra_str(&conf->cluster);
    in.workgroup = *ngx_http_spectra_str(&conf->workgroup);
    in.db_user = *ngx_http_spectra_str(&st->db_user);
    in.secret_arn = *ngx_http_spectra_str(&st->secret_arn);
    in.wait_seconds = (unsigned) st->wait_seconds;
    in.params = st->params;
    in.nparams = st->nparams;

    /* a statement of no job (an import's load errors): no name, no token */
    if (st->job.id[0] != '\0') {
        in.statement_name.data = st->job.id;
        in.statement_name.len = ngx_strlen(st->job.id);

        /* a retry without the session must not look like the first call */
        p = ngx_pnalloc(st->pool, SPECTRA_JOB_ID_LEN + 2);
        if (p == NULL) {
            ngx_http_spectra_stmt_end(st, NGX_HTTP_SPECTRA_END_ERROR);
            return;
        }

        in.client_token.data = p;
        in.client_token.len = ngx_sprintf(p, "%s%s", st->job.id,
                                          st->session_retried ? "-r" : "")
                              - p;
    }

    if (st->session_id.len) {
        in.session_id = *ngx_http_spectra_str(&st->session_id);

    } else if (st->session_create) {
        in.session_keepalive = (unsigned) (conf->session_keepalive / 1000);
    }

    if (spectra_dataapi_execute_body(&in, &pool, ngx_http_spectra_str(&body))
        != SPECTRA_DATAAPI_OK)
    {
        ngx_http_spectra_stmt_end(st, NGX_HTTP_SPECTRA_END_ERROR);
        return;
    }

    ngx_http_spectra_stmt_send(st, "ExecuteStatement", &body,
                               ngx_http_spectra_stmt_executed);
}


static void
ngx_http_spectra_stmt_executed(ngx_http_spectra_stmt_t *st)
{
    ngx_str_t                    msg;
    spectra_err_t                err;
    spectra_pool_t               pool = ngx_http_spectra_pool(st->pool);
    spectra_dataapi_submitted_t  sub;

    if (st->status != NGX_HTTP_OK) {
        ngx_http_spectra_stmt_classify(st, st->session_id.len
                                           || st->session_create,
                                       SPECTRA_DATAAPI_E_NONE);

        if (st->derr.kind == SPECTRA_DATAAPI_E_SESSION
            && !st->session_retried)
        {
            /*
             * the session expired or is busy elsewhere, or no new one may
             * be created (ActiveSessionsExceededException): once more
             * without one
             */
            ngx_http_spectra_session_release(st, 1);
            st->session_retried = 1;

            ngx_http_spectra_stmt_submit(st);
            return;
        }

        ngx_http_spectra_session_release(st, 1);

        if (st->derr.kind != SPECTRA_DATAAPI_E_THROTTLED) {
            msg.data = (u_char *) "the data API did not accept the "
                                  "statement";
            msg.len = ngx_strlen(msg.data);
            ngx_http_spectra_job_failed(st, "UPSTREAM_ERROR", &msg, NULL);

        } else {
            ngx_http_spectra_job_stopped(st, SPECTRA_JOB_CANCELLED,
                                         "the warehouse was too busy to "
                                         "take the statement");
        }

        ngx_http_spectra_dataapi_free_answer(st);
        ngx_http_spectra_stmt_end(st, NGX_HTTP_SPECTRA_END_UPSTREAM);
        return;
    }

    if (spectra_dataapi_read_submitted(st->answer.data, st->answer.len,
                                       &pool, &sub, &err)
        != SPECTRA_DATAAPI_OK)
    {
        ngx_log_error(NGX_LOG_ERR, st->log, 0,
                      "spectra: data API answered ExecuteStatement of job "
                      "%s badly: %s", st->job.id, err.message);

        ngx_http_spectra_session_release(st, 1);
        st->derr.kind = SPECTRA_DATAAPI_E_UNAVAILABLE;
        st->malformed = "the data API answered without a statement id";
        ngx_http_spectra_stmt_end(st, NGX_HTTP_SPECTRA_END_UPSTREAM);
        return;
    }

    st->statement_id.data = sub.id.data;
    st->statement_id.len = sub.id.len;

    if (st->session_create && sub.session_id.len) {
        ngx_http_spectra_session_created(st,
                                    ngx_http_spectra_ngx_str(&sub.session_id));
    }

    st->id_unsaved = 1;

    if (!st->wait_seconds || !st->want_rows) {
        ngx_http_spectra_job_submitted(st);
    }

    /*
     * the job as the store has it now: a DELETE that came before the
     * statement had an id could only mark it cancelled (on the way to the
     * rows, the write that records the id tells it: stmt_fetched())
     */
    if (st->client_gone || st->job.status == SPECTRA_JOB_CANCELLED) {
        ngx_http_spectra_stmt_cancel(st, st->client_gone
                                         ? NGX_HTTP_SPECTRA_END_GONE
                                         : NGX_HTTP_SPECTRA_END_CANCELLED,
                                     st->handler);
        return;
    }

    if (st->wait_seconds && st->want_rows) {
        /*
         * The Data API waited for the statement already: most likely it
         * has finished, so ask for its rows straight away; a statement
         * without rows yet (still running, or failed) goes back to
         * DescribeStatement (ngx_http_spectra_stmt_fetched()).  The
         * statement's id goes to the store with the job's next write: a
         * quick query's COMPLETED, or the submitted() of a slow one.
         */
        st->speculative = 1;
        ngx_str_null(&st->next_token);
        ngx_http_spectra_stmt_fetch_page(st);
        return;
    }

    if (st->wait_seconds) {
        ngx_http_spectra_stmt_poll(st);
        return;
    }

    ngx_http_spectra_stmt_wait(st, st->delay, ngx_http_spectra_stmt_poll);
}


void
ngx_http_spectra_stmt_follow(ngx_http_spectra_stmt_t *st,
    ngx_http_spectra_stmt_pt handler)
{
    st->handler = handler;
    st->started = ngx_http_spectra_job_now();
    st->polls = 0;
    st->delay = st->conf->poll_min;
    st->wait_seconds = 0;

    ngx_http_spectra_stmt_describe(st);
}


/* A timer fired: check the deadlines, then ask how the statement is. */

static void
ngx_http_spectra_stmt_poll(ngx_http_spectra_stmt_t *st)
{
    int64_t  now;

    if (st->client_gone) {
        ngx_http_spectra_stmt_stopped(st, NGX_HTTP_SPECTRA_END_GONE);
        return;
    }

    now = ngx_http_spectra_job_now();

    if (st->deadline && now >= st->deadline) {
        ngx_http_spectra_stmt_cancel(st, NGX_HTTP_SPECTRA_END_TIMEOUT,
                                     st->handler);
        return;
    }

    if (now >= st->wait_until) {
        if (st->cancel_on_wait) {
            ngx_http_spectra_stmt_cancel(st, NGX_HTTP_SPECTRA_END_TIMEOUT,
                                         st->handler);
            return;
        }

        ngx_http_spectra_stmt_end(st, NGX_HTTP_SPECTRA_END_RUNNING);
        return;
    }

    st->wait_seconds = ngx_http_spectra_stmt_long_poll(st);

    ngx_http_spectra_stmt_describe(st);
}


static void
ngx_http_spectra_stmt_describe(ngx_http_spectra_stmt_t *st)
{
    ngx_str_t  body;

    if (ngx_http_spectra_stmt_id_body(st, NULL, st->wait_seconds, &body)
        != NGX_OK)
    {
        ngx_http_spectra_stmt_end(st, NGX_HTTP_SPECTRA_END_ERROR);
        return;
    }

    ngx_http_spectra_stmt_send(st, "DescribeStatement", &body,
                               ngx_http_spectra_stmt_described);
}


/*
 * Records what a DescribeStatement said; NGX_OK, or NGX_ERROR for an
 * answer that makes no sense (the statement ends UPSTREAM).
 */

static ngx_int_t
ngx_http_spectra_stmt_record(ngx_http_spectra_stmt_t *st)
{
    int64_t                       rows;
    spectra_err_t                 err;
    spectra_pool_t                pool = ngx_http_spectra_pool(st->pool);
    ngx_str_t                     msg;
    spectra_dataapi_described_t  *d;

    d = &st->described;

    if (spectra_dataapi_read_described(st->answer.data, st->answer.len,
                                       &pool, d, &err)
        != SPECTRA_DATAAPI_OK)
    {
        ngx_log_error(NGX_LOG_ERR, st->log, 0,
                      "spectra: data API answered DescribeStatement of job "
                      "%s badly: %s", st->job.id, err.message);
        st->derr.kind = SPECTRA_DATAAPI_E_UNAVAILABLE;
        st->malformed = "the data API answered an unknown statement status";
        return NGX_ERROR;
    }

    st->has_result = d->has_result;

    switch (d->status) {

    case SPECTRA_JOB_RUNNING:
        ngx_http_spectra_job_running(st);
        break;

    case SPECTRA_JOB_COMPLETED:
        /* the row count is what the answer would have: at most the limit */
        rows = d->result_rows;

        if (rows >= 0 && st->row_limit && (uint64_t) rows > st->row_limit) {
            rows = (int64_t) st->row_limit;
        }

        ngx_http_spectra_job_completed(st, rows, d->duration_ms);
        st->completed = 1;
        break;

    case SPECTRA_JOB_FAILED:
        if (d->error.len) {
            msg.data = d->error.data;
            msg.len = d->error.len;

        } else {
            ngx_str_set(&msg, "the query failed");
        }

        ngx_http_spectra_job_failed(st, "QUERY_FAILED", &msg,
                                    ngx_http_spectra_ngx_str(&d->sqlstate));
        break;

    case SPECTRA_JOB_CANCELLED:
        ngx_http_spectra_job_stopped(st, SPECTRA_JOB_CANCELLED,
                                     "the statement was cancelled");
        break;

    default:
        break;
    }

    if (spectra_job_status_final(d->status)) {
        ngx_http_spectra_session_release(st, 0);
    }

    return NGX_OK;
}


static void
ngx_http_spectra_stmt_described(ngx_http_spectra_stmt_t *st)
{
    int64_t     now, until;
    ngx_str_t   msg;
    ngx_msec_t  delay;

    if (st->status != NGX_HTTP_OK) {
        ngx_http_spectra_stmt_classify(st, 0, SPECTRA_DATAAPI_E_NOT_FOUND);
        ngx_http_spectra_dataapi_free_answer(st);

        if (st->derr.kind == SPECTRA_DATAAPI_E_NOT_FOUND) {
            /* its warehouse forgot it (retention, a restart): it is lost */
            ngx_str_set(&msg, "the data API no longer knows the statement");
            ngx_http_spectra_job_failed(st, "UPSTREAM_ERROR", &msg, NULL);
            ngx_http_spectra_stmt_end(st, NGX_HTTP_SPECTRA_END_FAILED);
            return;
        }

        ngx_http_spectra_stmt_end(st, NGX_HTTP_SPECTRA_END_UPSTREAM);
        return;
    }

    if (ngx_http_spectra_stmt_record(st) != NGX_OK) {
        ngx_http_spectra_stmt_end(st, NGX_HTTP_SPECTRA_END_UPSTREAM);
        return;
    }

    ngx_http_spectra_dataapi_free_answer(st);

    switch (st->described.status) {

    case SPECTRA_JOB_COMPLETED:
        if (st->client_gone) {
            ngx_http_spectra_stmt_end(st, NGX_HTTP_SPECTRA_END_GONE);
            return;
        }

        if (st->want_rows && st->has_result) {
            ngx_str_null(&st->next_token);
            ngx_http_spectra_stmt_fetch_page(st);
            return;
        }

        ngx_http_spectra_stmt_end(st, NGX_HTTP_SPECTRA_END_COMPLETED);
        return;

    case SPECTRA_JOB_FAILED:
        ngx_http_spectra_stmt_end(st, NGX_HTTP_SPECTRA_END_FAILED);
        return;

    case SPECTRA_JOB_CANCELLED:
        ngx_http_spectra_stmt_end(st, st->client_gone
                                      ? NGX_HTTP_SPECTRA_END_GONE
                                      : NGX_HTTP_SPECTRA_END_CANCELLED);
        return;

    default:
        break;
    }

    if (st->client_gone) {
        ngx_http_spectra_stmt_stopped(st, NGX_HTTP_SPECTRA_END_GONE);
        return;
    }

    now = ngx_http_spectra_job_now();

    if (++st->polls >= st->conf->max_polls) {
        /* as if the wait were over: the job goes on or is cancelled */
        st->wait_until = now;
    }

    if (now >= st->wait_until || (st->deadline && now >= st->deadline)) {
        ngx_http_spectra_stmt_poll(st);
        return;
    }

    if (st->wait_seconds && ngx_http_spectra_stmt_long_poll(st)) {
        ngx_http_spectra_stmt_poll(st);
        return;
    }

    /* exponential backoff, but never past the next deadline */

    until = st->wait_until;

    if (st->deadline && st->deadline < until) {
        until = st->deadline;
    }

    st->delay = ngx_min(st->delay * 2, st->conf->poll_max);
    delay = ngx_min(st->delay, (ngx_msec_t) (until - now));

    ngx_http_spectra_stmt_wait(st, delay, ngx_http_spectra_stmt_poll);
}


void
ngx_http_spectra_stmt_fetch(ngx_http_spectra_stmt_t *st,
    ngx_http_spectra_stmt_pt handler)
{
    st->handler = handler;
    st->speculative = 0;

    ngx_http_spectra_stmt_fetch_page(st);
}


static void
ngx_http_spectra_stmt_fetch_page(ngx_http_spectra_stmt_t *st)
{
    ngx_str_t  body;

    if (ngx_http_spectra_stmt_id_body(st, &st->next_token, 0, &body)
        != NGX_OK)
    {
        ngx_http_spectra_stmt_end(st, NGX_HTTP_SPECTRA_END_ERROR);
        return;
    }

    ngx_http_spectra_stmt_send(st, "GetStatementResult", &body,
                               ngx_http_spectra_stmt_fetched);
}


static void
ngx_http_spectra_stmt_fetched(ngx_http_spectra_stmt_t *st)
{
    int64_t     now;
    ngx_uint_t  unsaved;

    if (st->complete_pending) {
        /* the answer has more pages: no more waiting for its end */
        st->complete_pending = 0;
        ngx_http_spectra_job_completed(st, -1, st->execution_ms);
    }

    if (st->status != NGX_HTTP_OK) {
        /*
         * not found: no rows yet (speculative), or the rows of a finished
         * job past the Data API's retention: no fault of anyone's
         */
        ngx_http_spectra_stmt_classify(st, 0,
                                       (st->speculative || st->completed)
                                       ? SPECTRA_DATAAPI_E_NOT_FOUND
                                       : SPECTRA_DATAAPI_E_NONE);
        ngx_http_spectra_dataapi_free_answer(st);

        if (st->speculative) {
            st->speculative = 0;

            /* the statement goes on: the store learns its id now */
            ngx_http_spectra_job_submitted(st);

            if (st->job.status == SPECTRA_JOB_CANCELLED) {
                /* a DELETE came before the statement had an id */
                ngx_http_spectra_stmt_cancel(st,
                                             st->client_gone
                                             ? NGX_HTTP_SPECTRA_END_GONE
                                             : NGX_HTTP_SPECTRA_END_CANCELLED,
                                             st->handler);
                return;
            }

            if (st->derr.kind == SPECTRA_DATAAPI_E_NOT_FOUND) {
                /* no rows yet: ask how the statement is, as usual */
                ngx_http_spectra_stmt_poll(st);
                return;
            }
        }

        ngx_http_spectra_stmt_end(st, NGX_HTTP_SPECTRA_END_UPSTREAM);
        return;
    }

    if (st->speculative) {
        /* it has finished: its session is free again */
        st->speculative = 0;
        st->has_result = 1;
        ngx_http_spectra_session_release(st, 0);
    }

    if (!st->completed) {
        now = ngx_http_spectra_job_now();
        st->completed = 1;

        if (st->defer_complete && !st->client_gone
            && st->answer.len <= NGX_HTTP_SPECTRA_STMT_DEFER_MAX)
        {
            /*
             * with the answer's row count, as one write (rows_done());
             * a DELETE that comes before it finds the job running, and
             * the answer written stands (the store keeps the DELETE's)
             */
            st->execution_ms = now - st->started;
            st->complete_pending = 1;

        } else {
            unsaved = st->id_unsaved;

            ngx_http_spectra_job_completed(st, -1, now - st->started);

            if (unsaved && st->job.status == SPECTRA_JOB_CANCELLED) {
                /*
                 * a DELETE came before the statement had an id (this
                 * write records it): the rows are nobody's
                 */
                ngx_http_spectra_dataapi_free_answer(st);
                ngx_http_spectra_stmt_end(st, st->client_gone
                                              ? NGX_HTTP_SPECTRA_END_GONE
                                              : NGX_HTTP_SPECTRA_END_CANCELLED);
                return;
            }
        }
    }

    if (st->client_gone) {
        ngx_http_spectra_dataapi_free_answer(st);
        ngx_http_spectra_stmt_end(st, NGX_HTTP_SPECTRA_END_GONE);
        return;
    }

    ngx_http_spectra_stmt_end(st, NGX_HTTP_SPECTRA_END_ROWS);
}


void
ngx_http_spectra_stmt_rows_done(ngx_http_spectra_stmt_t *st, uint64_t rows)
{
    if (st->complete_pending) {
        st->complete_pending = 0;
        ngx_http_spectra_job_completed(st, (int64_t) rows, st->execution_ms);
        return;
    }

    ngx_http_spectra_job_row_count(st, (int64_t) rows);
}


/* cancel */

void
ngx_http_spectra_stmt_cancel(ngx_http_spectra_stmt_t *st,
    ngx_http_spectra_end_e end, ngx_http_spectra_stmt_pt handler)
{
    st->handler = handler;
    st->cancel_end = end;

    if (st->statement_id.len == 0) {
        ngx_http_spectra_stmt_stopped(st, end);
        return;
    }

    ngx_http_spectra_stmt_send_cancel(st);
}


static void
ngx_http_spectra_stmt_send_cancel(ngx_http_spectra_stmt_t *st)
{
    ngx_str_t  body;

    if (ngx_http_spectra_stmt_id_body(st, NULL, 0, &body) != NGX_OK) {
        ngx_http_spectra_stmt_end(st, NGX_HTTP_SPECTRA_END_ERROR);
        return;
    }

    st->side_cancel = 1;

    ngx_http_spectra_stmt_send(st, "CancelStatement", &body,
                               ngx_http_spectra_stmt_cancelled);
}


static void
ngx_http_spectra_stmt_cancelled(ngx_http_spectra_stmt_t *st)
{
    ngx_http_spectra_session_release(st, 1);

    if (st->status == NGX_HTTP_OK) {
        ngx_http_spectra_dataapi_free_answer(st);
        ngx_http_spectra_stmt_stopped(st, st->cancel_end);
        return;
    }

    ngx_http_spectra_stmt_classify(st, 0, SPECTRA_DATAAPI_E_NONE);
    ngx_http_spectra_dataapi_free_answer(st);

    if (st->derr.kind == SPECTRA_DATAAPI_E_FINISHED
        && st->job.status == SPECTRA_JOB_CANCELLED)
    {
        /* a DELETE cancelled the job before its statement had an id */
        ngx_http_spectra_stmt_end(st, NGX_HTTP_SPECTRA_END_CANCELLED);
        return;
    }

    if (st->derr.kind == SPECTRA_DATAAPI_E_FINISHED) {
        /* it ended first: the job says how, the answer too */
        st->wait_until = ngx_http_spectra_job_now();
        st->deadline = 0;
        st->cancel_on_wait = 0;

        if (st->cancel_end == NGX_HTTP_SPECTRA_END_GONE) {
            st->client_gone = 1;
        }

        ngx_http_spectra_stmt_describe(st);
        return;
    }

    /* the statement may still run: the supervisor will try again */
    ngx_http_spectra_stmt_end(st, NGX_HTTP_SPECTRA_END_UPSTREAM);
}


/* Records a cancel (or a client gone, or a deadline) and ends with it. */

static void
ngx_http_spectra_stmt_stopped(ngx_http_spectra_stmt_t *st,
    ngx_http_spectra_end_e end)
{
    if (end == NGX_HTTP_SPECTRA_END_GONE && st->statement_id.len
        && !st->side_cancel)
    {
        /* nobody cancelled it yet */
        st->cancel_end = end;
        ngx_http_spectra_stmt_send_cancel(st);
        return;
    }

    switch (end) {

    case NGX_HTTP_SPECTRA_END_TIMEOUT:
        ngx_http_spectra_job_stopped(st, SPECTRA_JOB_TIMEOUT,
                                     "the query timed out and was "
                                     "cancelled");
        break;

    case NGX_HTTP_SPECTRA_END_GONE:
        ngx_http_spectra_job_stopped(st, SPECTRA_JOB_CANCELLED,
                                     "the client closed the connection");
        break;

    default:
        ngx_http_spectra_job_stopped(st, SPECTRA_JOB_CANCELLED,
                                     "cancelled by the client");
        break;
    }

    ngx_http_spectra_stmt_end(st, end);
}


void
ngx_http_spectra_stmt_client_gone(ngx_http_spectra_stmt_t *st)
{
    ngx_str_t  body;

    if (st->client_gone) {
        return;
    }

    st->client_gone = 1;

    if (st->timer.timer_set) {
        /* a pending timer is cut short */
        ngx_del_timer(&st->timer);
        ngx_post_event(&st->timer, &ngx_posted_events);
        return;
    }

    if (!st->waiting || st->status != 0 || st->statement_id.len == 0
        || st->step == ngx_http_spectra_stmt_cancelled
        || st->step == ngx_http_spectra_stmt_fetched)
    {
        /* nothing out, or a call whose answer comes soon on its own */
        return;
    }

    /* a long poll is out: cancel beside it, it then ends at once */

    if (ngx_http_spectra_stmt_id_body(st, NULL, 0, &body) == NGX_OK
        && ngx_http_spectra_dataapi_side_call(st, "CancelStatement", &body)
           == NGX_OK)
    {
        st->side_cancel = 1;
    }
}
