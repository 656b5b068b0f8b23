/*
 * The supervisor (ngx_http_spectra_supervisor.h): a timer in the first
 * worker over the store's due jobs, each followed or cancelled by a
 * background statement of the engine.
 */


#include "ngx_http_spectra_common.h"
#include "ngx_http_spectra_supervisor.h"
#include "ngx_http_spectra_statement.h"
#include "ngx_http_spectra_jobs.h"
#include "ngx_http_spectra_warehouse.h"


/* a job held while its check is out; released when it comes back */
#define NGX_HTTP_SPECTRA_SUPERVISOR_LEASE   60000
#define NGX_HTTP_SPECTRA_SUPERVISOR_RETRY   5000
#define NGX_HTTP_SPECTRA_SUPERVISOR_MIN     250
#define NGX_HTTP_SPECTRA_SUPERVISOR_MAX     2000

/* retention: jobs deleted per tick, and the pause once none are left */
#define NGX_HTTP_SPECTRA_PURGE_BATCH        500
#define NGX_HTTP_SPECTRA_PURGE_PAUSE        60000


typedef struct {
    ngx_event_t                     timer;
    ngx_log_t                      *log;
    ngx_http_spectra_loc_conf_t    *conf;      /* http{}'s settings */
    ngx_http_spectra_main_conf_t   *smcf;
    ngx_uint_t                      out;       /* checks in flight */
    ngx_msec_t                      purge_at;  /* the next retention run */
} ngx_http_spectra_supervisor_t;


static void ngx_http_spectra_supervisor_tick(ngx_event_t *ev);
static void ngx_http_spectra_supervisor_purge(
    ngx_http_spectra_supervisor_t *sv);
static void ngx_http_spectra_supervisor_due(void *data, ngx_int_t rc);
static ngx_http_spectra_stmt_t *ngx_http_spectra_supervisor_stmt(
    spectra_job_t *job);
static void ngx_http_spectra_supervisor_done(ngx_http_spectra_stmt_t *st);
static void ngx_http_spectra_supervisor_cancelled(
    ngx_http_spectra_stmt_t *st);
static ngx_http_spectra_loc_conf_t *ngx_http_spectra_supervisor_conf(
    ngx_cycle_t *cycle);


static ngx_http_spectra_supervisor_t  *ngx_http_spectra_supervisor;


/* The Data API settings of background work (ngx_http_spectra_init()). */

static ngx_http_spectra_loc_conf_t *
ngx_http_spectra_supervisor_conf(ngx_cycle_t *cycle)
{
    ngx_http_spectra_main_conf_t  *smcf;

    smcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_spectra_module);

    return (smcf != NULL) ? smcf->background : NULL;
}


ngx_int_t
ngx_http_spectra_supervisor_init(ngx_cycle_t *cycle)
{
    ngx_http_spectra_supervisor_t  *sv;
    ngx_http_spectra_main_conf_t   *smcf;

    smcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_spectra_module);

    if (smcf == NULL || !smcf->enabled || !smcf->supervisor
        || smcf->curl == NULL)
    {
        return NGX_OK;
    }

    /* one worker supervises: the first, or the only process */
    if (!(ngx_process == NGX_PROCESS_SINGLE
          || (ngx_process == NGX_PROCESS_WORKER && ngx_worker == 0)))
    {
        return NGX_OK;
    }

    sv = ngx_pcalloc(cycle->pool, sizeof(ngx_http_spectra_supervisor_t));
    if (sv == NULL) {
        return NGX_ERROR;
    }

    sv->log = cycle->log;
    sv->smcf = smcf;
    sv->conf = ngx_http_spectra_supervisor_conf(cycle);

    if (sv->conf == NULL) {
        return NGX_OK;
    }

    sv->timer.handler = ngx_http_spectra_supervisor_tick;
    sv->timer.data = sv;
    sv->timer.log = cycle->log;
    sv->timer.cancelable = 1;

    ngx_http_spectra_supervisor = sv;

    ngx_add_timer(&sv->timer, smcf->supervisor_interval);

    return NGX_OK;
}


void
ngx_http_spectra_supervisor_exit(ngx_cycle_t *cycle)
{
    if (ngx_http_spectra_supervisor != NULL
        && ngx_http_spectra_supervisor->timer.timer_set)
    {
        ngx_del_timer(&ngx_http_spectra_supervisor->timer);
    }

    ngx_http_spectra_supervisor = NULL;
}


typedef struct {
    ngx_http_spectra_supervisor_t  *sv;
    ngx_pool_t                     *pool;
    spectra_job_list_t              list;
} ngx_http_spectra_supervisor_tick_t;


static void
ngx_http_spectra_supervisor_tick(ngx_event_t *ev)
{
    ngx_pool_t                          *pool;
    ngx_http_spectra_job_call_t          call;
    ngx_http_spectra_supervisor_t       *sv;
    ngx_http_spectra_supervisor_tick_t  *t;

    sv = ev->data;

    if (ngx_exiting || ngx_quit || ngx_terminate) {
        return;
    }

    if (sv->out < sv->smcf->supervisor_batch) {
        pool = ngx_create_pool(4096, sv->log);
        if (pool == NULL) {
            goto next;
        }

        t = ngx_pcalloc(pool, sizeof(ngx_http_spectra_supervisor_tick_t));
        if (t == NULL) {
            ngx_destroy_pool(pool);
            goto next;
        }

        t->sv = sv;
        t->pool = pool;

        call.pool = pool;
        call.log = sv->log;
        call.connection = NULL;
        call.handler = ngx_http_spectra_supervisor_due;
        call.data = t;

        ngx_http_spectra_job_due(&call, sv->smcf->supervisor_batch - sv->out,
                                 &t->list);
    }

next:

    ngx_http_spectra_supervisor_purge(sv);

    ngx_add_timer(&sv->timer, sv->smcf->supervisor_interval);
}


/*
 * Retention (spectra_jobs_retention): the jobs that finished longer ago
 * are deleted, NGX_HTTP_SPECTRA_PURGE_BATCH per tick while there are
 * more, then once a minute (or once per retention, if shorter): each
 * run is one indexed DELETE of a few hundred rows, a millisecond or so
 * of the supervisor's worker.  Their
 * files go by their own retention (exports: an S3 lifecycle rule, or
 * spectra-dataapi's --export-retention-seconds for the local store).
 */
static void
ngx_http_spectra_supervisor_purge(ngx_http_spectra_supervisor_t *sv)
{
    int64_t     before;
    ngx_uint_t  n;
    ngx_msec_t  pause;

    if (sv->smcf->jobs_retention == 0
        || (ngx_msec_int_t) (ngx_current_msec - sv->purge_at) < 0)
    {
        return;
    }

    before = ngx_http_spectra_job_now()
             - (int64_t) sv->smcf->jobs_retention * 1000;

    if (ngx_http_spectra_job_purge(sv->log, before,
                                   NGX_HTTP_SPECTRA_PURGE_BATCH, &n)
        != NGX_OK)
    {
        sv->purge_at = ngx_current_msec + NGX_HTTP_SPECTRA_PURGE_PAUSE;
        return;
    }

    if (n > 0) {
        ngx_log_error(NGX_LOG_INFO, sv->log, 0,
                      "spectra: retention: deleted %ui job(s) that finished "
                      "more than %T s ago", n, sv->smcf->jobs_retention);
    }

    /* a short retention is kept to within itself */
    pause = ngx_min((ngx_msec_t) NGX_HTTP_SPECTRA_PURGE_PAUSE,
                    (ngx_msec_t) sv->smcf->jobs_retention * 1000);

    sv->purge_at = ngx_current_msec
                   + (n == NGX_HTTP_SPECTRA_PURGE_BATCH ? 0 : pause);
}


static void
ngx_http_spectra_supervisor_due(void *data, ngx_int_t rc)
{
    ngx_http_spectra_supervisor_tick_t  *t = data;

    int64_t                         now;
    ngx_str_t                       msg;
    ngx_uint_t                      i;
    spectra_job_t                  *job;
    ngx_http_spectra_stmt_t        *st;
    ngx_http_spectra_supervisor_t  *sv;

    sv = t->sv;

    if (rc != NGX_OK) {
        ngx_destroy_pool(t->pool);
        return;
    }

    now = ngx_http_spectra_job_now();

    for (i = 0; i < t->list.njobs; i++) {
        job = &t->list.jobs[i];

        st = ngx_http_spectra_supervisor_stmt(job);
        if (st == NULL) {
            break;
        }

        if (st->statement_id.len == 0 && job->type == SPECTRA_JOB_IMPORT
            && ngx_strcmp(spectra_job_import_state(job), "Open") == 0)
        {
            /* its upload URL expired before the upload was completed */
            ngx_str_set(&msg, "the upload was not completed before its "
                              "upload URL expired");
            ngx_http_spectra_job_failed(st, "UPLOAD_EXPIRED", &msg, NULL);
            ngx_http_spectra_stmt_destroy(st);
            continue;
        }

        if (st->statement_id.len == 0) {
            /*
             * the request that created it stopped following it before
             * the Data API gave it an id (its worker exited)
             */
            ngx_str_set(&msg, "the statement was not submitted: the "
                              "nginx worker handling it stopped");
            ngx_http_spectra_job_failed(st, "INTERNAL_ERROR", &msg, NULL);
            ngx_http_spectra_stmt_destroy(st);
            continue;
        }

        /* held while the check is out */
        ngx_http_spectra_job_check_at(st,
                                      now + NGX_HTTP_SPECTRA_SUPERVISOR_LEASE);

        sv->out++;

        ngx_log_debug2(NGX_LOG_DEBUG_HTTP, sv->log, 0,
                       "spectra supervisor: job %s%s", st->job.id,
                       (st->deadline && now >= st->deadline)
                       ? " past its deadline" : "");

        if (st->deadline && now >= st->deadline) {
            ngx_http_spectra_stmt_cancel(st, NGX_HTTP_SPECTRA_END_TIMEOUT,
                                         ngx_http_spectra_supervisor_done);

        } else {
            st->wait_until = now;
            ngx_http_spectra_stmt_follow(st, ngx_http_spectra_supervisor_done);
        }
    }

    ngx_destroy_pool(t->pool);
}


/* A background statement for the job, its strings in its own pool. */

static ngx_http_spectra_stmt_t *
ngx_http_spectra_supervisor_stmt(spectra_job_t *job)
{
    spectra_query_t                 q;
    ngx_http_spectra_stmt_t        *st;
    spectra_query_limits_t          limits;
    ngx_http_spectra_supervisor_t  *sv;

    sv = ngx_http_spectra_supervisor;

    st = ngx_http_spectra_stmt_background(sv->log, sv->conf);
    if (st == NULL) {
        return NULL;
    }

    st->job = *job;
    st->job.sql.data = NULL;
    st->job.parameters.data = NULL;

    st->job.tenant_id.data = ngx_pstrdup(st->pool,
                                    ngx_http_spectra_ngx_str(&job->tenant_id));
    if (st->job.tenant_id.data == NULL
        || ngx_http_spectra_warehouse_keep(st->pool, &st->job) != NGX_OK)
    {
        ngx_http_spectra_stmt_destroy(st);
        return NULL;
    }

    if (job->statement_id.len) {
        st->statement_id.len = job->statement_id.len;
        st->statement_id.data = ngx_pstrdup(st->pool,
                                 ngx_http_spectra_ngx_str(&job->statement_id));
        if (st->statement_id.data == NULL) {
            ngx_http_spectra_stmt_destroy(st);
            return NULL;
        }
    }

    limits.rows = sv->conf->row_limit;
    limits.bytes = sv->conf->byte_limit;

    spectra_query_options_read(job->result.data, job->result.len, &limits,
                               &q);

    st->row_limit = (job->type == SPECTRA_JOB_QUERY) ? q.row_limit : 0;
    st->deadline = job->deadline_at;

    return st;
}


static void
ngx_http_spectra_supervisor_done(ngx_http_spectra_stmt_t *st)
{
    int64_t                         now, at, backoff;
    ngx_http_spectra_supervisor_t  *sv;

    sv = ngx_http_spectra_supervisor;

    if (sv != NULL && sv->out) {
        sv->out--;
    }

    now = ngx_http_spectra_job_now();

    switch (st->end) {

    case NGX_HTTP_SPECTRA_END_RUNNING:
        /* looked at more often when young, never later than the deadline */
        backoff = (now - st->job.created_at) / 4;
        backoff = ngx_max(backoff, NGX_HTTP_SPECTRA_SUPERVISOR_MIN);
        backoff = ngx_min(backoff, NGX_HTTP_SPECTRA_SUPERVISOR_MAX);

        at = now + backoff;

        if (st->deadline && at > st->deadline) {
            at = st->deadline;
        }

        ngx_http_spectra_job_check_at(st, at);
        break;

    case NGX_HTTP_SPECTRA_END_UPSTREAM:
    case NGX_HTTP_SPECTRA_END_ERROR:
        ngx_http_spectra_job_check_at(st,
                                      now + NGX_HTTP_SPECTRA_SUPERVISOR_RETRY);
        break;

    default:
        /* the engine recorded how it ended */
        ngx_log_error(NGX_LOG_INFO, st->log, 0,
                      "spectra: job %s is %s", st->job.id,
                      spectra_job_status_name(st->job.status));
        break;
    }

    ngx_http_spectra_stmt_destroy(st);
}


void
ngx_http_spectra_supervisor_cancel(ngx_http_spectra_stmt_t *rst)
{
    ngx_http_spectra_stmt_t      *st;
    ngx_http_spectra_loc_conf_t  *conf;

    conf = ngx_http_spectra_supervisor_conf((ngx_cycle_t *) ngx_cycle);

    if (conf == NULL || rst->statement_id.len == 0) {
        return;
    }

    st = ngx_http_spectra_stmt_background(ngx_cycle->log, conf);
    if (st == NULL) {
        return;
    }

    st->job = rst->job;
    st->job.sql.data = NULL;
    st->job.parameters.data = NULL;
    st->job.result.data = NULL;

    st->job.tenant_id.data = ngx_pstrdup(st->pool,
                                ngx_http_spectra_ngx_str(&rst->job.tenant_id));
    st->statement_id.len = rst->statement_id.len;
    st->statement_id.data = ngx_pstrdup(st->pool, &rst->statement_id);

    if (st->job.tenant_id.data == NULL || st->statement_id.data == NULL
        || ngx_http_spectra_warehouse_keep(st->pool, &st->job) != NGX_OK)
    {
        ngx_http_spectra_stmt_destroy(st);
        return;
    }

    ngx_http_spectra_stmt_cancel(st, NGX_HTTP_SPECTRA_END_GONE,
                                 ngx_http_spectra_supervisor_cancelled);
}


static void
ngx_http_spectra_supervisor_cancelled(ngx_http_spectra_stmt_t *st)
{
    ngx_http_spectra_stmt_destroy(st);
}
