/*
 * The job records: the one place that writes a job's state.  Reads and
 * the creation complete through a handler, because a network store (a
 * DynamoDB table) answers later; the SQLite store answers at once, so
 * there the handler runs before the call returns.  Transitions are sent
 * and not waited for: a store must apply one job's updates in order, and
 * a failed one is logged (the supervisor sets the job right later).
 */

#ifndef _NGX_HTTP_SPECTRA_JOBS_H_INCLUDED_
#define _NGX_HTTP_SPECTRA_JOBS_H_INCLUDED_


#include "ngx_http_spectra_common.h"


/*
 * rc: NGX_OK; NGX_DECLINED: no such job (or, for create, the idempotency
 * key is taken); NGX_BUSY: the tenant is at its cap of active jobs;
 * NGX_AGAIN: the store is unavailable (locked, throttled, unreachable:
 * 503); NGX_ERROR: the store failed (logged).
 */
typedef void (*ngx_http_spectra_job_pt)(void *data, ngx_int_t rc);



typedef struct {
    ngx_pool_t                 *pool;
    ngx_log_t                  *log;
    ngx_http_spectra_job_pt     handler;
    void                       *data;
    /*
     * a request's connection: a store that answers from its own event
     * runs the subrequests the handler posted; NULL for background work
     */
    ngx_connection_t           *connection;
} ngx_http_spectra_job_call_t;


ngx_int_t ngx_http_spectra_jobs_open(ngx_cycle_t *cycle);
/* a connection of its own to the SQLite store's file */
ngx_int_t ngx_http_spectra_jobs_connect(ngx_cycle_t *cycle, int autocheckpoint,
    void (*wal)(void *data, int pages), spectra_job_store_t **store);
/* this worker's SQLite store, NULL with DynamoDB or when it failed */
spectra_job_store_t *ngx_http_spectra_jobs_store(void);
void ngx_http_spectra_jobs_close(ngx_cycle_t *cycle);
ngx_int_t ngx_http_spectra_jobs_init_path(ngx_cycle_t *cycle);

/* Reads: job is where the answer goes, in call->pool. */
void ngx_http_spectra_job_audit(ngx_log_t *log, spectra_job_t *job,
    const char *how);
ngx_int_t ngx_http_spectra_job_purge(ngx_log_t *log, int64_t before,
    ngx_uint_t limit, ngx_uint_t *n);
void ngx_http_spectra_job_create(ngx_http_spectra_job_call_t *call,
    spectra_job_t *job, ngx_uint_t max_active);
/*
 * The caller's jobs only: its tenant's, run as its database user
 * (spectra_job_owner_t); another's id or key is not found.
 */
void ngx_http_spectra_job_get(ngx_http_spectra_job_call_t *call,
    ngx_http_spectra_tenant_t *tenant, ngx_str_t *id, spectra_job_t *job);
void ngx_http_spectra_job_find_key(ngx_http_spectra_job_call_t *call,
    ngx_http_spectra_tenant_t *tenant, ngx_str_t *key, spectra_job_t *job);
/* the filter's owner is the tenant's */
void ngx_http_spectra_job_owner(spectra_job_owner_t *owner,
    ngx_http_spectra_tenant_t *tenant);
void ngx_http_spectra_job_list(ngx_http_spectra_job_call_t *call,
    spectra_job_filter_t *filter, spectra_job_list_t *list);
void ngx_http_spectra_job_due(ngx_http_spectra_job_call_t *call,
    ngx_uint_t limit, spectra_job_list_t *list);

/*
 * PENDING or RUNNING -> CANCELLED for DELETE /v1/jobs/{id}; NGX_DECLINED
 * when the job had finished (job then says how).
 */
void ngx_http_spectra_job_cancel(ngx_http_spectra_job_call_t *call,
    ngx_http_spectra_tenant_t *tenant, ngx_str_t *id, spectra_job_t *job);

/*
 * Stores the result of a finished job (an export's files); job receives
 * the job as updated.  NGX_DECLINED: the job is not COMPLETED.
 */
void ngx_http_spectra_job_set_result(ngx_http_spectra_job_call_t *call,
    spectra_job_t *job, ngx_str_t *result);

/*
 * Any change the update describes (an import's phase, before it has a
 * statement); job receives the job as updated, and must not be what upd
 * points into.  NGX_DECLINED: its status or phase forbids it.
 */
void ngx_http_spectra_job_change(ngx_http_spectra_job_call_t *call,
    spectra_job_update_t *upd, spectra_job_t *job);

/*
 * Transitions of st->job, which each updates to what the store has; the
 * first of them after the statement has an id records it too.  submitted()
 * records the id alone, unless a transition has already.
 */
void ngx_http_spectra_job_submitted(ngx_http_spectra_stmt_t *st);
void ngx_http_spectra_job_running(ngx_http_spectra_stmt_t *st);
void ngx_http_spectra_job_completed(ngx_http_spectra_stmt_t *st,
    int64_t rows, int64_t execution_ms);
void ngx_http_spectra_job_failed(ngx_http_spectra_stmt_t *st,
    const char *code, ngx_str_t *message, ngx_str_t *sqlstate);
void ngx_http_spectra_job_stopped(ngx_http_spectra_stmt_t *st,
    spectra_job_status_e status, const char *message);
void ngx_http_spectra_job_row_count(ngx_http_spectra_stmt_t *st,
    int64_t rows);

/*
 * When the supervisor looks at the job next: a request that follows the
 * statement holds it off until its own wait ends; a request that stops
 * following hands it over (at: now).
 */
void ngx_http_spectra_job_check_at(ngx_http_spectra_stmt_t *st,
    int64_t at);

/*
 * For ngx_http_spectra_finish() after a failed call (rc not NGX_OK,
 * NGX_DECLINED or NGX_BUSY): a JSON 503 UNAVAILABLE when the store is
 * unavailable (NGX_AGAIN), else 500.
 */
ngx_int_t ngx_http_spectra_job_fail(ngx_http_request_t *r, ngx_int_t rc);

/* Milliseconds since the epoch, as job times are. */
int64_t ngx_http_spectra_job_now(void);


#endif /* _NGX_HTTP_SPECTRA_JOBS_H_INCLUDED_ */
