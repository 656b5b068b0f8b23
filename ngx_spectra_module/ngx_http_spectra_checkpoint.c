
/*
 * Copyright (C) Spectra
 */


/*
 * WAL checkpoints of the SQLite job store, off the event loop.
 *
 * With SQLite's default, the commit that takes the WAL past 1,000 pages
 * copies them back into the database file and syncs it, in whichever
 * worker made that commit: milliseconds of pwrite() and fdatasync() in its
 * event loop, about once every thousand job writes.  Instead, each worker
 * has a second connection to the file that only a thread of nginx's
 * "default" thread pool uses, and hands it a PASSIVE checkpoint as soon as
 * one of its commits finds the WAL past NGX_HTTP_SPECTRA_CHECKPOINT_PAGES
 * (SQLite's own threshold, heard through the store's WAL hook), and every
 * second for what is left below it.  The WAL is shared: a worker's commit
 * sees the pages of every worker's, so whichever commits first after the
 * threshold starts a checkpoint, and one that finds another process's
 * checkpoint running skips its turn.  The workers' own connections
 * checkpoint only as a backstop, past NGX_HTTP_SPECTRA_CHECKPOINT_BACKSTOP
 * pages, if the threads fall behind.  Without that pool (nginx without
 * threads, or every location with spectra_thread_pool set to another pool
 * or off and no "default" pool declared) SQLite's default stays.
 */


#include "ngx_http_spectra_common.h"
#include "ngx_http_spectra_checkpoint.h"
#include "ngx_http_spectra_jobs.h"


#define NGX_HTTP_SPECTRA_CHECKPOINT_EVERY  1000    /* ms */
#define NGX_HTTP_SPECTRA_CHECKPOINT_GAP    100     /* ms, at least, between
                                                      the checkpoints a full
                                                      WAL asks for */


#if (NGX_THREADS)

typedef struct {
    spectra_job_store_t        *store;     /* the thread's connection */
    ngx_thread_pool_t          *pool;
    ngx_thread_task_t          *task;
    ngx_event_t                 timer;
    ngx_log_t                  *log;
    ngx_msec_t                  posted;    /* when the last one went */
    unsigned                    busy:1;    /* a thread has the task */
    int                         rc;        /* the thread's answer */
    spectra_err_t               err;
} ngx_http_spectra_checkpoint_t;


static void ngx_http_spectra_checkpoint_post(
    ngx_http_spectra_checkpoint_t *cp);
static void ngx_http_spectra_checkpoint_tick(ngx_event_t *ev);
static void ngx_http_spectra_checkpoint_thread(void *data, ngx_log_t *log);
static void ngx_http_spectra_checkpoint_done(ngx_event_t *ev);


static ngx_str_t  ngx_http_spectra_checkpoint_pool_name =
    ngx_string("default");

static ngx_http_spectra_checkpoint_t  *ngx_http_spectra_checkpointer;

#endif


/*
 * The workers' connections: the backstop when a thread checkpoints,
 * else 0 (SQLite's 1,000 pages).  Called before the store is opened.
 */

int
ngx_http_spectra_checkpoint_autocheckpoint(ngx_cycle_t *cycle)
{
#if (NGX_THREADS)
    if (ngx_thread_pool_get(cycle, &ngx_http_spectra_checkpoint_pool_name)
        != NULL)
    {
        return NGX_HTTP_SPECTRA_CHECKPOINT_BACKSTOP;
    }
#endif

    return 0;
}


ngx_int_t
ngx_http_spectra_checkpoint_init(ngx_cycle_t *cycle)
{
#if (NGX_THREADS)
    ngx_thread_pool_t              *pool;
    ngx_http_spectra_checkpoint_t  *cp;

    if (ngx_http_spectra_jobs_store() == NULL) {
        /* no SQLite store (DynamoDB, or the file failed to open) */
        return NGX_OK;
    }

    /* each worker: a commit of any of them may find the WAL full */
    if (ngx_process != NGX_PROCESS_SINGLE
        && ngx_process != NGX_PROCESS_WORKER)
    {
        return NGX_OK;
    }

    pool = ngx_thread_pool_get(cycle, &ngx_http_spectra_checkpoint_pool_name);
    if (pool == NULL) {
        return NGX_OK;
    }

    cp = ngx_pcalloc(cycle->pool, sizeof(ngx_http_spectra_checkpoint_t));
    if (cp == NULL) {
        return NGX_ERROR;
    }

    cp->task = ngx_thread_task_alloc(cycle->pool, 0);
    if (cp->task == NULL) {
        return NGX_ERROR;
    }

    if (ngx_http_spectra_jobs_connect(cycle, 0, NULL, &cp->store)
        != NGX_OK)
    {
        /* the workers' backstop checkpoints still bound the WAL */
        ngx_log_error(NGX_LOG_WARN, cycle->log, 0,
                      "spectra: job store: no connection for checkpoints; "
                      "they run in the event loop");
        return NGX_OK;
    }

    cp->pool = pool;
    cp->log = cycle->log;

    cp->task->ctx = cp;
    cp->task->handler = ngx_http_spectra_checkpoint_thread;
    cp->task->event.data = cp;
    cp->task->event.handler = ngx_http_spectra_checkpoint_done;

    cp->timer.handler = ngx_http_spectra_checkpoint_tick;
    cp->timer.data = cp;
    cp->timer.log = cycle->log;
    cp->timer.cancelable = 1;

    ngx_http_spectra_checkpointer = cp;

    ngx_add_timer(&cp->timer, NGX_HTTP_SPECTRA_CHECKPOINT_EVERY);
#endif

    return NGX_OK;
}


/*
 * At the worker's exit nginx's thread pools have already finished their
 * tasks and stopped (ngx_thread_pool_module exits first): nothing uses the
 * thread's connection any more.
 */

void
ngx_http_spectra_checkpoint_exit(ngx_cycle_t *cycle)
{
#if (NGX_THREADS)
    ngx_http_spectra_checkpoint_t  *cp;

    cp = ngx_http_spectra_checkpointer;

    if (cp == NULL) {
        return;
    }

    ngx_http_spectra_checkpointer = NULL;

    if (cp->timer.timer_set) {
        ngx_del_timer(&cp->timer);
    }

    cp->store->ops->close(cp->store);
    cp->store = NULL;
#endif
}


/*
 * The WAL hook of the worker's own connection (spectra_job_conf_t.wal):
 * after each of its commits, in the event loop, with the WAL's size.
 */

void
ngx_http_spectra_checkpoint_wal(void *data, int pages)
{
#if (NGX_THREADS)
    ngx_http_spectra_checkpoint_t  *cp;

    cp = ngx_http_spectra_checkpointer;

    /*
     * Under a steady load the WAL fills again while a checkpoint copies
     * it, and only restarts once one finds nothing new: the gap keeps the
     * checkpoints (two fdatasync() each) to a few a second, not one after
     * each commit.
     */

    if (cp == NULL || cp->busy || pages < NGX_HTTP_SPECTRA_CHECKPOINT_PAGES
        || ngx_current_msec - cp->posted < NGX_HTTP_SPECTRA_CHECKPOINT_GAP
        || ngx_exiting || ngx_terminate || ngx_quit)
    {
        return;
    }

    ngx_http_spectra_checkpoint_post(cp);
#endif
}


#if (NGX_THREADS)

static void
ngx_http_spectra_checkpoint_post(ngx_http_spectra_checkpoint_t *cp)
{
    if (ngx_thread_task_post(cp->pool, cp->task) == NGX_OK) {
        cp->busy = 1;
        cp->posted = ngx_current_msec;
        return;
    }

    /* the pool's queue is full: the next commit or tick tries again */
    ngx_log_error(NGX_LOG_WARN, cp->log, 0,
                  "spectra: job store: checkpoint not queued");
}


static void
ngx_http_spectra_checkpoint_tick(ngx_event_t *ev)
{
    ngx_http_spectra_checkpoint_t  *cp;

    cp = ev->data;

    if (ngx_exiting || ngx_terminate || ngx_quit) {
        return;
    }

    if (!cp->busy) {
        ngx_http_spectra_checkpoint_post(cp);
    }

    ngx_add_timer(&cp->timer, NGX_HTTP_SPECTRA_CHECKPOINT_EVERY);
}


/* In a thread of the pool: the only user of cp->store. */

static void
ngx_http_spectra_checkpoint_thread(void *data, ngx_log_t *log)
{
    ngx_http_spectra_checkpoint_t  *cp = data;

    cp->rc = cp->store->ops->checkpoint(cp->store, &cp->err);
}


static void
ngx_http_spectra_checkpoint_done(ngx_event_t *ev)
{
    ngx_http_spectra_checkpoint_t  *cp;

    cp = ev->data;
    cp->busy = 0;

    /* BUSY: another process (an old worker after a reload) checkpoints */
    if (cp->rc != SPECTRA_JOB_OK && cp->rc != SPECTRA_JOB_BUSY) {
        ngx_log_error(NGX_LOG_ERR, cp->log, 0,
                      "spectra: %s (%d)",
                      cp->err.message, cp->rc);
    }
}

#endif
