/*
 * Job records (ngx_http_spectra_jobs.h) over the job store of this worker:
 * SQLite by default, one file shared by every worker, each with its own
 * connection.  Every change of a job's state is written here.
 */


#include "ngx_http_spectra_common.h"
#include "ngx_http_spectra_jobs.h"
#include "ngx_http_spectra_jobs_dynamodb.h"
#include "ngx_http_spectra_checkpoint.h"
#include "ngx_http_spectra_api.h"
#include "ngx_http_spectra_statement.h"
#include "ngx_http_spectra_metrics.h"
#include "ngx_http_spectra_warehouse.h"
#include "ngx_http_spectra_queue.h"


static ngx_int_t ngx_http_spectra_job_rc(ngx_log_t *log, int rc,
    spectra_err_t *err);
static void ngx_http_spectra_job_update(ngx_http_spectra_stmt_t *st,
    spectra_job_update_t *upd);
static void ngx_http_spectra_job_update_init(ngx_http_spectra_stmt_t *st,
    spectra_job_update_t *upd);
static ngx_http_spectra_ddb_conf_t *ngx_http_spectra_jobs_ddb(void);
static void ngx_http_spectra_job_created(ngx_http_spectra_job_call_t *call,
    void *arg, int rc, spectra_err_t *err);
static void ngx_http_spectra_job_read(ngx_http_spectra_job_call_t *call,
    void *arg, int rc, spectra_err_t *err);
static void ngx_http_spectra_job_listed(ngx_http_spectra_job_call_t *call,
    void *arg, int rc, spectra_err_t *err);
static void ngx_http_spectra_job_cancelled(ngx_http_spectra_job_call_t *call,
    void *arg, int rc, spectra_err_t *err);
static void ngx_http_spectra_job_changed(ngx_http_spectra_job_call_t *call,
    void *arg, int rc, spectra_err_t *err);
static void ngx_http_spectra_job_ddb_fail(ngx_http_spectra_job_call_t *call,
    ngx_http_spectra_ddb_t *d);


/* the DynamoDB store's settings when it is the store, else NULL */

static ngx_http_spectra_ddb_conf_t *
ngx_http_spectra_jobs_ddb(void)
{
    ngx_http_spectra_main_conf_t  *smcf;

    smcf = ngx_http_cycle_get_module_main_conf(ngx_cycle,
                                               ngx_http_spectra_module);

    return (smcf != NULL) ? smcf->ddb : NULL;
}


static void
ngx_http_spectra_job_ddb_fail(ngx_http_spectra_job_call_t *call,
    ngx_http_spectra_ddb_t *d)
{
    if (d == NULL) {
        call->handler(call->data, NGX_ERROR);
    }
}


spectra_job_store_t *
ngx_http_spectra_jobs_store(void)
{
    ngx_http_spectra_main_conf_t  *smcf;

    smcf = ngx_http_cycle_get_module_main_conf(ngx_cycle,
                                               ngx_http_spectra_module);

    return (smcf != NULL) ? smcf->store : NULL;
}


/*
 * What a request answers when its store call failed: 503 UNAVAILABLE
 * (JSON, with Retry-After: spectra_retry_after) when the store could not
 * serve it (NGX_AGAIN), else 500.
 */
ngx_int_t
ngx_http_spectra_job_fail(ngx_http_request_t *r, ngx_int_t rc)
{
    ngx_table_elt_t              *h;
    ngx_http_spectra_loc_conf_t  *slcf;

    if (rc == NGX_AGAIN) {
        slcf = ngx_http_get_module_loc_conf(r, ngx_http_spectra_module);

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

        return ngx_http_spectra_fail(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                     "UNAVAILABLE",
                                     "the job store is unavailable, retry "
                                     "later");
    }

    return NGX_HTTP_INTERNAL_SERVER_ERROR;
}


int64_t
ngx_http_spectra_job_now(void)
{
    ngx_time_t  *tp;

    tp = ngx_timeofday();

    return (int64_t) tp->sec * 1000 + tp->msec;
}


/*
 * The store file: the master creates it (and its schema) before the
 * workers start, so that a bad path fails the start, and hands the file
 * and its directory to the worker user, private to it (0700, 0600):
 * the jobs hold every tenant's SQL.
 */

ngx_int_t
ngx_http_spectra_jobs_init_path(ngx_cycle_t *cycle)
{
    u_char                        *p, *dir;
    size_t                         i;
    ngx_core_conf_t               *ccf;
    spectra_job_store_t           *store;
    ngx_http_spectra_main_conf_t  *smcf;
    u_char                         name[NGX_MAX_PATH];

    static const char  *suffixes[] = { "", "-wal", "-shm" };

    smcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_spectra_module);

    if (smcf == NULL || !smcf->enabled || smcf->ddb != NULL) {
        return NGX_OK;
    }

    if (smcf->jobs_path.len + sizeof("-wal") > NGX_MAX_PATH) {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, 0,
                      "spectra_jobs_db \"%V\" is too long", &smcf->jobs_path);
        return NGX_ERROR;
    }

    dir = ngx_pnalloc(cycle->pool, smcf->jobs_path.len + 1);
    if (dir == NULL) {
        return NGX_ERROR;
    }

    ngx_cpystrn(dir, smcf->jobs_path.data, smcf->jobs_path.len + 1);

    p = (u_char *) strrchr((char *) dir, '/');
    if (p != NULL && p != dir) {
        *p = '\0';

        if (ngx_create_dir(dir, 0700) == NGX_FILE_ERROR
            && ngx_errno != NGX_EEXIST)
        {
            ngx_log_error(NGX_LOG_EMERG, cycle->log, ngx_errno,
                          ngx_create_dir_n " \"%s\" failed", dir);
            return NGX_ERROR;
        }
    }

    if (ngx_http_spectra_jobs_connect(cycle, 0, NULL, &store) != NGX_OK) {
        return NGX_ERROR;
    }

    store->ops->close(store);

    ccf = (ngx_core_conf_t *) ngx_get_conf(cycle->conf_ctx, ngx_core_module);

    /* SQLite creates the -wal and -shm files next to the database */

    for (i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
        ngx_sprintf(name, "%V%s%Z", &smcf->jobs_path, suffixes[i]);

        if (chmod((char *) name, 0600) == -1 && ngx_errno != NGX_ENOENT) {
            ngx_log_error(NGX_LOG_EMERG, cycle->log, ngx_errno,
                          "chmod(\"%s\") failed", name);
            return NGX_ERROR;
        }

        if (geteuid() == 0 && ccf->user != (ngx_uid_t) NGX_CONF_UNSET_UINT
            && chown((char *) name, ccf->user, ccf->group) == -1
            && ngx_errno != NGX_ENOENT)
        {
            ngx_log_error(NGX_LOG_EMERG, cycle->log, ngx_errno,
                          "chown(\"%s\") failed", name);
            return NGX_ERROR;
        }
    }

    if (geteuid() == 0 && ccf->user != (ngx_uid_t) NGX_CONF_UNSET_UINT
        && p != NULL && p != dir
        && chown((char *) dir, ccf->user, ccf->group) == -1)
    {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, ngx_errno,
                      "chown(\"%s\") failed", dir);
        return NGX_ERROR;
    }

    return NGX_OK;
}


/*
 * A connection to the SQLite file: each worker's own (jobs_open), and the
 * checkpoints' (ngx_http_spectra_checkpoint.c).  autocheckpoint: WAL pages
 * between the checkpoints a commit of this connection runs, 0: SQLite's;
 * wal: NULL, or told the WAL's size after each commit.
 */

ngx_int_t
ngx_http_spectra_jobs_connect(ngx_cycle_t *cycle, int autocheckpoint,
    void (*wal)(void *data, int pages), spectra_job_store_t **store)
{
    u_char                        *path;
    mode_t                         mask;
    spectra_err_t                  err;
    spectra_job_conf_t             conf;
    ngx_http_spectra_main_conf_t  *smcf;

    smcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_spectra_module);

    path = ngx_pnalloc(cycle->pool, smcf->jobs_path.len + 1);
    if (path == NULL) {
        return NGX_ERROR;
    }

    ngx_cpystrn(path, smcf->jobs_path.data, smcf->jobs_path.len + 1);

    ngx_memzero(&conf, sizeof(spectra_job_conf_t));
    conf.path = (const char *) path;

    /*
     * A WAL write takes tens of microseconds: waiting longer than that
     * means an overloaded machine, where losing a job update is worse
     * than a late answer.
     */

    conf.busy_timeout_ms = 500;
    conf.autocheckpoint = autocheckpoint;
    conf.wal = wal;

    /* files SQLite creates (the database, -wal, -shm) are private */
    mask = umask(077);

    if (spectra_job_sqlite_ops.open(store, &conf, &err) != SPECTRA_JOB_OK) {
        umask(mask);
        ngx_log_error(NGX_LOG_EMERG, cycle->log, 0,
                      "spectra: cannot open the job store \"%V\": %s",
                      &smcf->jobs_path, err.message);
        return NGX_ERROR;
    }

    umask(mask);

    return NGX_OK;
}


/* Each worker has its own connection to the shared file. */

ngx_int_t
ngx_http_spectra_jobs_open(ngx_cycle_t *cycle)
{
    int                            pages;
    void                         (*wal)(void *data, int pages);
    ngx_http_spectra_main_conf_t  *smcf;

    smcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_spectra_module);

    /* a DynamoDB store has no connection: each call is a request */
    if (smcf == NULL || !smcf->enabled || smcf->ddb != NULL) {
        return NGX_OK;
    }

    pages = ngx_http_spectra_checkpoint_autocheckpoint(cycle);

    /* with a checkpoint thread, the worker's commits tell it when */
    wal = (pages == NGX_HTTP_SPECTRA_CHECKPOINT_BACKSTOP)
          ? ngx_http_spectra_checkpoint_wal : NULL;

    if (ngx_http_spectra_jobs_connect(cycle, pages, wal, &smcf->store)
        != NGX_OK)
    {
        /* requests needing it answer 500; the rest of the API works */
        smcf->store = NULL;
    }

    return NGX_OK;
}


void
ngx_http_spectra_jobs_close(ngx_cycle_t *cycle)
{
    ngx_http_spectra_main_conf_t  *smcf;

    smcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_spectra_module);

    if (smcf != NULL && smcf->store != NULL) {
        smcf->store->ops->close(smcf->store);
        smcf->store = NULL;
    }
}


static ngx_int_t
ngx_http_spectra_job_rc(ngx_log_t *log, int rc, spectra_err_t *err)
{
    switch (rc) {

    case SPECTRA_JOB_OK:
        return NGX_OK;

    case SPECTRA_JOB_NOT_FOUND:
    case SPECTRA_JOB_DUPLICATE:
        return NGX_DECLINED;

    case SPECTRA_JOB_LIMIT:
        return NGX_BUSY;

    case SPECTRA_JOB_BUSY:
        /* locked past its timeout, throttled, unreachable: 503 */
        ngx_log_error(NGX_LOG_ERR, log, 0, "spectra: job store: %s (%d)",
                      err->message, rc);
        return NGX_AGAIN;

    default:
        ngx_log_error(NGX_LOG_ERR, log, 0, "spectra: job store: %s (%d)",
                      err->message, rc);
        return NGX_ERROR;
    }
}


void
ngx_http_spectra_job_create(ngx_http_spectra_job_call_t *call,
    spectra_job_t *job, ngx_uint_t max_active)
{
    int                   rc;
    uint64_t              start;
    spectra_err_t         err;
    spectra_job_store_t  *store;

    ngx_http_spectra_ddb_t       *d;
    ngx_http_spectra_ddb_conf_t  *dc;

    dc = ngx_http_spectra_jobs_ddb();

    if (dc != NULL) {
        d = ngx_http_spectra_ddb_new(call, ngx_http_spectra_job_created, job,
                                     SPECTRA_METRICS_STORE_CREATE);
        if (d == NULL) {
            ngx_http_spectra_job_ddb_fail(call, d);
            return;
        }

        ngx_http_spectra_ddb_run(d,
            spectra_ddb_create(ngx_http_spectra_ddb_op(d), &dc->conf, job,
                               (unsigned) max_active,
                               ngx_http_spectra_ddb_pool(d),
                               ngx_http_spectra_ddb_req(d),
                               ngx_http_spectra_ddb_err(d)));
        return;
    }

    store = ngx_http_spectra_jobs_store();

    if (store == NULL) {
        ngx_log_error(NGX_LOG_ERR, call->log, 0,
                      "spectra: no job store in this worker");
        call->handler(call->data, NGX_ERROR);
        return;
    }

    start = ngx_http_spectra_metrics_clock();

    rc = store->ops->create(store, job, (unsigned) max_active, &err);

    ngx_http_spectra_metrics_store(SPECTRA_METRICS_STORE_CREATE, start);

    ngx_http_spectra_job_created(call, job, rc, &err);
}


static void
ngx_http_spectra_job_created(ngx_http_spectra_job_call_t *call, void *arg,
    int rc, spectra_err_t *err)
{
    spectra_job_t  *job = arg;

    if (rc == SPECTRA_JOB_OK) {
        ngx_http_spectra_job_audit(call->log, job, "created");
    }

    call->handler(call->data, ngx_http_spectra_job_rc(call->log, rc, err));
}


static void
ngx_http_spectra_job_read(ngx_http_spectra_job_call_t *call, void *arg,
    int rc, spectra_err_t *err)
{
    call->handler(call->data, ngx_http_spectra_job_rc(call->log, rc, err));
}


static void
ngx_http_spectra_job_listed(ngx_http_spectra_job_call_t *call, void *arg,
    int rc, spectra_err_t *err)
{
    if (rc == SPECTRA_JOB_INVALID) {
        /* a cursor that is not one of ours */
        call->handler(call->data, NGX_DECLINED);
        return;
    }

    call->handler(call->data, ngx_http_spectra_job_rc(call->log, rc, err));
}


static void
ngx_http_spectra_job_cancelled(ngx_http_spectra_job_call_t *call, void *arg,
    int rc, spectra_err_t *err)
{
    spectra_job_t  *job = arg;

    if (rc == SPECTRA_JOB_CONFLICT) {
        call->handler(call->data, NGX_DECLINED);
        return;
    }

    if (rc == SPECTRA_JOB_OK) {
        ngx_http_spectra_job_audit(call->log, job, "cancel");
    }

    call->handler(call->data, ngx_http_spectra_job_rc(call->log, rc, err));
}


static void
ngx_http_spectra_job_changed(ngx_http_spectra_job_call_t *call, void *arg,
    int rc, spectra_err_t *err)
{
    if (rc == SPECTRA_JOB_CONFLICT) {
        call->handler(call->data, NGX_DECLINED);
        return;
    }

    call->handler(call->data, ngx_http_spectra_job_rc(call->log, rc, err));
}


/*
 * The audit trail, one info line per change of a job's status, in
 * spectra_audit_log, else in whichever log the change was made under (a
 * request's: with its request id).  how: the status it had, or what
 * changed it ("created", "cancel").
 */
void
ngx_http_spectra_job_audit(ngx_log_t *log, spectra_job_t *job,
    const char *how)
{
    ngx_http_spectra_main_conf_t  *smcf;

    smcf = ngx_http_cycle_get_module_main_conf(ngx_cycle,
                                               ngx_http_spectra_module);

    if (smcf != NULL && smcf->audit_log != NULL) {
        log = smcf->audit_log;
    }

    if (log->log_level < NGX_LOG_INFO) {
        return;
    }

    ngx_log_error(NGX_LOG_INFO, log, 0,
                  "spectra audit: job %s (%s, tenant \"%*s\", db user "
                  "\"%*s\"): %s -> %s%s%*s",
                  job->id, spectra_job_type_name(job->type),
                  job->tenant_id.len, job->tenant_id.data,
                  job->db_user.len, job->db_user.data, how,
                  spectra_job_status_name(job->status),
                  job->error_code.len ? ", " : "",
                  job->error_code.len, job->error_code.data);
}


void
ngx_http_spectra_job_get(ngx_http_spectra_job_call_t *call,
    ngx_http_spectra_tenant_t *tenant, ngx_str_t *id, spectra_job_t *job)
{
    int                          rc;
    uint64_t                     start;
    spectra_err_t                err;
    spectra_job_owner_t          owner;
    spectra_pool_t               pool = ngx_http_spectra_pool(call->pool);
    spectra_job_store_t         *store;
    ngx_http_spectra_ddb_t      *d;
    ngx_http_spectra_ddb_conf_t *dc;

    dc = ngx_http_spectra_jobs_ddb();

    if (dc != NULL) {
        if (!spectra_job_id_valid(id->data, id->len)) {
            call->handler(call->data, NGX_DECLINED);
            return;
        }

        ngx_http_spectra_job_owner(&owner, tenant);

        d = ngx_http_spectra_ddb_new(call, ngx_http_spectra_job_read, NULL,
                                     SPECTRA_METRICS_STORE_GET);
        if (d == NULL) {
            ngx_http_spectra_job_ddb_fail(call, d);
            return;
        }

        ngx_http_spectra_ddb_run(d,
            spectra_ddb_get(ngx_http_spectra_ddb_op(d), &dc->conf, &owner,
                ngx_http_spectra_str(id), job, ngx_http_spectra_ddb_pool(d),
                ngx_http_spectra_ddb_req(d), ngx_http_spectra_ddb_err(d)));
        return;
    }

    store = ngx_http_spectra_jobs_store();

    if (store == NULL) {
        call->handler(call->data, NGX_ERROR);
        return;
    }

    if (!spectra_job_id_valid(id->data, id->len)) {
        call->handler(call->data, NGX_DECLINED);
        return;
    }

    ngx_http_spectra_job_owner(&owner, tenant);

    start = ngx_http_spectra_metrics_clock();

    rc = store->ops->get(store, &owner,
                         ngx_http_spectra_str(id), job, &pool, &err);

    ngx_http_spectra_metrics_store(SPECTRA_METRICS_STORE_GET, start);

    call->handler(call->data, ngx_http_spectra_job_rc(call->log, rc, &err));
}


void
ngx_http_spectra_job_find_key(ngx_http_spectra_job_call_t *call,
    ngx_http_spectra_tenant_t *tenant, ngx_str_t *key, spectra_job_t *job)
{
    int                          rc;
    uint64_t                     start;
    spectra_err_t                err;
    spectra_job_owner_t          owner;
    spectra_pool_t               pool = ngx_http_spectra_pool(call->pool);
    spectra_job_store_t         *store;
    ngx_http_spectra_ddb_t      *d;
    ngx_http_spectra_ddb_conf_t *dc;

    dc = ngx_http_spectra_jobs_ddb();

    if (dc != NULL) {
        ngx_http_spectra_job_owner(&owner, tenant);

        d = ngx_http_spectra_ddb_new(call, ngx_http_spectra_job_read, NULL,
                                     SPECTRA_METRICS_STORE_FIND_KEY);
        if (d == NULL) {
            ngx_http_spectra_job_ddb_fail(call, d);
            return;
        }

        ngx_http_spectra_ddb_run(d,
            spectra_ddb_find_key(ngx_http_spectra_ddb_op(d), &dc->conf, &owner,
                ngx_http_spectra_str(key), job, ngx_http_spectra_ddb_pool(d),
                ngx_http_spectra_ddb_req(d), ngx_http_spectra_ddb_err(d)));
        return;
    }

    store = ngx_http_spectra_jobs_store();

    if (store == NULL) {
        call->handler(call->data, NGX_ERROR);
        return;
    }

    ngx_http_spectra_job_owner(&owner, tenant);

    start = ngx_http_spectra_metrics_clock();

    rc = store->ops->find_key(store, &owner,
                              ngx_http_spectra_str(key), job, &pool,
                              &err);

    ngx_http_spectra_metrics_store(SPECTRA_METRICS_STORE_FIND_KEY, start);

    call->handler(call->data, ngx_http_spectra_job_rc(call->log, rc, &err));
}


void
ngx_http_spectra_job_owner(spectra_job_owner_t *owner,
    ngx_http_spectra_tenant_t *tenant)
{
    owner->tenant_id = *ngx_http_spectra_str(&tenant->tenant_id);
    owner->db_user = *ngx_http_spectra_str(&tenant->db_user);
}


void
ngx_http_spectra_job_list(ngx_http_spectra_job_call_t *call,
    spectra_job_filter_t *filter, spectra_job_list_t *list)
{
    int                          rc;
    uint64_t                     start;
    spectra_err_t                err;
    spectra_pool_t               pool = ngx_http_spectra_pool(call->pool);
    spectra_job_store_t         *store;
    ngx_http_spectra_ddb_t      *d;
    ngx_http_spectra_ddb_conf_t *dc;

    dc = ngx_http_spectra_jobs_ddb();

    if (dc != NULL) {
        d = ngx_http_spectra_ddb_new(call, ngx_http_spectra_job_listed, NULL,
                                     SPECTRA_METRICS_STORE_LIST);
        if (d == NULL) {
            ngx_http_spectra_job_ddb_fail(call, d);
            return;
        }

        ngx_http_spectra_ddb_run(d,
            spectra_ddb_list(ngx_http_spectra_ddb_op(d), &dc->conf, filter,
                list,
                ngx_http_spectra_ddb_pool(d),
                ngx_http_spectra_ddb_req(d), ngx_http_spectra_ddb_err(d)));
        return;
    }

    store = ngx_http_spectra_jobs_store();

    if (store == NULL) {
        call->handler(call->data, NGX_ERROR);
        return;
    }

    start = ngx_http_spectra_metrics_clock();

    rc = store->ops->list(store, filter, list, &pool, &err);

    ngx_http_spectra_metrics_store(SPECTRA_METRICS_STORE_LIST, start);

    if (rc == SPECTRA_JOB_INVALID) {
        /* a cursor that is not one of ours */
        call->handler(call->data, NGX_DECLINED);
        return;
    }

    call->handler(call->data, ngx_http_spectra_job_rc(call->log, rc, &err));
}


void
ngx_http_spectra_job_due(ngx_http_spectra_job_call_t *call, ngx_uint_t limit,
    spectra_job_list_t *list)
{
    int                          rc;
    uint64_t                     start;
    spectra_err_t                err;
    spectra_pool_t               pool = ngx_http_spectra_pool(call->pool);
    spectra_job_store_t         *store;
    ngx_http_spectra_ddb_t      *d;
    ngx_http_spectra_ddb_conf_t *dc;

    dc = ngx_http_spectra_jobs_ddb();

    if (dc != NULL) {
        d = ngx_http_spectra_ddb_new(call, ngx_http_spectra_job_read, NULL,
                                     SPECTRA_METRICS_STORE_DUE);
        if (d == NULL) {
            ngx_http_spectra_job_ddb_fail(call, d);
            return;
        }

        ngx_http_spectra_ddb_run(d,
            spectra_ddb_due(ngx_http_spectra_ddb_op(d), &dc->conf,
                ngx_http_spectra_job_now(), limit, list,
                ngx_http_spectra_ddb_pool(d),
                ngx_http_spectra_ddb_req(d), ngx_http_spectra_ddb_err(d)));
        return;
    }

    store = ngx_http_spectra_jobs_store();

    if (store == NULL) {
        call->handler(call->data, NGX_ERROR);
        return;
    }

    start = ngx_http_spectra_metrics_clock();

    rc = store->ops->due(store, ngx_http_spectra_job_now(), limit, list,
                         &pool, &err);

    ngx_http_spectra_metrics_store(SPECTRA_METRICS_STORE_DUE, start);

    call->handler(call->data, ngx_http_spectra_job_rc(call->log, rc, &err));
}


void
ngx_http_spectra_job_cancel(ngx_http_spectra_job_call_t *call,
    ngx_http_spectra_tenant_t *tenant, ngx_str_t *id, spectra_job_t *job)
{
    int                          rc;
    uint64_t                     start;
    spectra_err_t                err;
    spectra_job_owner_t          owner;
    spectra_pool_t               pool = ngx_http_spectra_pool(call->pool);
    spectra_job_store_t         *store;
    ngx_http_spectra_ddb_t      *d;
    ngx_http_spectra_ddb_conf_t *dc;

    dc = ngx_http_spectra_jobs_ddb();

    if (dc != NULL) {
        ngx_http_spectra_job_owner(&owner, tenant);

        d = ngx_http_spectra_ddb_new(call, ngx_http_spectra_job_cancelled, job,
                                     SPECTRA_METRICS_STORE_CANCEL);
        if (d == NULL) {
            ngx_http_spectra_job_ddb_fail(call, d);
            return;
        }

        ngx_http_spectra_ddb_run(d,
            spectra_ddb_cancel(ngx_http_spectra_ddb_op(d), &dc->conf, &owner,
                ngx_http_spectra_str(id), ngx_http_spectra_job_now(), job,
                ngx_http_spectra_ddb_pool(d),
                ngx_http_spectra_ddb_req(d), ngx_http_spectra_ddb_err(d)));
        return;
    }

    store = ngx_http_spectra_jobs_store();

    if (store == NULL) {
        call->handler(call->data, NGX_ERROR);
        return;
    }

    ngx_http_spectra_job_owner(&owner, tenant);

    start = ngx_http_spectra_metrics_clock();

    rc = store->ops->cancel(store, &owner,
                            ngx_http_spectra_str(id),
                            ngx_http_spectra_job_now(), job, &pool, &err);

    ngx_http_spectra_metrics_store(SPECTRA_METRICS_STORE_CANCEL, start);

    if (rc == SPECTRA_JOB_CONFLICT) {
        call->handler(call->data, NGX_DECLINED);
        return;
    }

    if (rc == SPECTRA_JOB_OK) {
        ngx_http_spectra_job_audit(call->log, job, "cancel");
        ngx_http_spectra_warehouse_done(job);
        ngx_http_spectra_queue_freed(job->tenant_id.data, job->tenant_id.len);
    }

    call->handler(call->data, ngx_http_spectra_job_rc(call->log, rc, &err));
}


void
ngx_http_spectra_job_set_result(ngx_http_spectra_job_call_t *call,
    spectra_job_t *job, ngx_str_t *result)
{
    int                          rc;
    uint64_t                     start;
    spectra_err_t                err;
    spectra_pool_t               pool = ngx_http_spectra_pool(call->pool);
    spectra_job_store_t         *store;
    spectra_job_update_t         upd;
    ngx_http_spectra_ddb_t      *d;
    ngx_http_spectra_ddb_conf_t *dc;
    u_char                       id[SPECTRA_JOB_ID_LEN + 1];

    ngx_memzero(&upd, sizeof(spectra_job_update_t));

    /* job receives the answer: the update must not point into it */
    ngx_memcpy(id, job->id, SPECTRA_JOB_ID_LEN + 1);

    upd.tenant_id = job->tenant_id;
    upd.id.data = id;
    upd.id.len = ngx_strlen(id);
    upd.from = SPECTRA_JOB_MASK(SPECTRA_JOB_COMPLETED);
    upd.result = *ngx_http_spectra_str(result);
    upd.row_count = -1;
    upd.execution_ms = -1;

    dc = ngx_http_spectra_jobs_ddb();

    if (dc != NULL) {
        /* the update is copied: it may point into job */
        d = ngx_http_spectra_ddb_new(call, ngx_http_spectra_job_changed, NULL,
                                     SPECTRA_METRICS_STORE_UPDATE);
        if (d == NULL) {
            ngx_http_spectra_job_ddb_fail(call, d);
            return;
        }

        ngx_http_spectra_ddb_run(d,
            spectra_ddb_update(ngx_http_spectra_ddb_op(d), &dc->conf, &upd,
                               job, ngx_http_spectra_ddb_pool(d),
                               ngx_http_spectra_ddb_req(d),
                               ngx_http_spectra_ddb_err(d)));
        return;
    }

    store = ngx_http_spectra_jobs_store();

    if (store == NULL) {
        call->handler(call->data, NGX_ERROR);
        return;
    }

    start = ngx_http_spectra_metrics_clock();

    rc = store->ops->update(store, &upd, job, &pool, &err);

    ngx_http_spectra_metrics_store(SPECTRA_METRICS_STORE_UPDATE, start);

    if (rc == SPECTRA_JOB_CONFLICT) {
        call->handler(call->data, NGX_DECLINED);
        return;
    }

    call->handler(call->data, ngx_http_spectra_job_rc(call->log, rc, &err));
}


void
ngx_http_spectra_job_change(ngx_http_spectra_job_call_t *call,
    spectra_job_update_t *upd, spectra_job_t *job)
{
    int                          rc;
    uint64_t                     start;
    spectra_err_t                err;
    spectra_pool_t               pool = ngx_http_spectra_pool(call->pool);
    spectra_job_store_t         *store;
    ngx_http_spectra_ddb_t      *d;
    ngx_http_spectra_ddb_conf_t *dc;

    dc = ngx_http_spectra_jobs_ddb();

    if (dc != NULL) {
        d = ngx_http_spectra_ddb_new(call, ngx_http_spectra_job_changed, NULL,
                                     SPECTRA_METRICS_STORE_UPDATE);
        if (d == NULL) {
            ngx_http_spectra_job_ddb_fail(call, d);
            return;
        }

        ngx_http_spectra_ddb_run(d,
            spectra_ddb_update(ngx_http_spectra_ddb_op(d), &dc->conf, upd, job,
                ngx_http_spectra_ddb_pool(d),
                ngx_http_spectra_ddb_req(d), ngx_http_spectra_ddb_err(d)));
        return;
    }

    store = ngx_http_spectra_jobs_store();

    if (store == NULL) {
        call->handler(call->data, NGX_ERROR);
        return;
    }

    start = ngx_http_spectra_metrics_clock();

    rc = store->ops->update(store, upd, job, &pool, &err);

    ngx_http_spectra_metrics_store(SPECTRA_METRICS_STORE_UPDATE, start);

    if (rc == SPECTRA_JOB_CONFLICT) {
        call->handler(call->data, NGX_DECLINED);
        return;
    }

    call->handler(call->data, ngx_http_spectra_job_rc(call->log, rc, &err));
}


static void
ngx_http_spectra_job_update_init(ngx_http_spectra_stmt_t *st,
    spectra_job_update_t *upd)
{
    ngx_memzero(upd, sizeof(spectra_job_update_t));

    upd->tenant_id = st->job.tenant_id;
    upd->id.data = st->job.id;
    upd->id.len = ngx_strlen(st->job.id);
    upd->row_count = -1;
    upd->execution_ms = -1;

    if (st->id_unsaved) {
        /* the statement's id goes with the job's first write after it */
        upd->statement_id = *ngx_http_spectra_str(&st->statement_id);
        st->id_unsaved = 0;
    }
}


static void
ngx_http_spectra_job_update(ngx_http_spectra_stmt_t *st,
    spectra_job_update_t *upd)
{
    int                    rc;
    uint64_t               start;
    spectra_err_t          err;
    spectra_pool_t         pool = ngx_http_spectra_pool(st->pool);
    spectra_str_t          id;
    spectra_job_store_t   *store;
    spectra_job_owner_t    owner;
    spectra_job_status_e   from;
    u_char                 idbuf[SPECTRA_JOB_ID_LEN + 1];

    if (st->job.id[0] == '\0') {
        return;
    }

    if (ngx_http_spectra_jobs_ddb() != NULL) {
        /*
         * DynamoDB answers later, and the statement may be gone by then:
         * the job is changed here as the store will change it, and the
         * update is sent after the job's earlier ones; a conflict (another
         * node finished it first) leaves what the store has
         */
        from = st->job.status;

        if (spectra_ddb_apply(&st->job, upd, ngx_http_spectra_job_now(),
                              &pool, &err)
            != SPECTRA_JOB_OK)
        {
            ngx_log_debug2(NGX_LOG_DEBUG_HTTP, st->log, 0,
                           "spectra job %s not updated: %s", st->job.id,
                           err.message);
            return;
        }

        ngx_http_spectra_ddb_post_update(st->log, upd);

        if (st->job.status != from) {
            ngx_http_spectra_job_audit(st->log, &st->job,
                                       spectra_job_status_name(from));

            if (spectra_job_status_final(st->job.status)
                && !spectra_job_status_final(from))
            {
                ngx_http_spectra_queue_freed(st->job.tenant_id.data,
                                             st->job.tenant_id.len);
            }
        }

        return;
    }

    store = ngx_http_spectra_jobs_store();

    if (store == NULL) {
        return;
    }

    from = st->job.status;
    start = ngx_http_spectra_metrics_clock();

    rc = store->ops->update(store, upd, &st->job, &pool, &err);

    ngx_http_spectra_metrics_store(SPECTRA_METRICS_STORE_UPDATE, start);

    if (rc == SPECTRA_JOB_CONFLICT) {
        /*
         * it had finished: another worker (its supervisor saw the end of
         * a statement this one cancelled) or a DELETE got there first;
         * the job is read again, so that what this request answers is
         * what the store holds
         */
        ngx_log_debug2(NGX_LOG_DEBUG_HTTP, st->log, 0,
                       "spectra job %s not updated: %s", st->job.id,
                       err.message);

        owner.tenant_id = st->job.tenant_id;
        owner.db_user = st->job.db_user;
        /* the id, not a pointer into the job being written */
        id.len = ngx_strlen(st->job.id);
        id.data = ngx_cpymem(idbuf, st->job.id, id.len + 1) - id.len - 1;

        if (store->ops->get(store, &owner, &id, &st->job, &pool, &err)
            != SPECTRA_JOB_OK)
        {
            ngx_log_error(NGX_LOG_ERR, st->log, 0,
                          "spectra: job %s not read again: %s", idbuf,
                          err.message);
        }

        return;
    }

    if (rc != SPECTRA_JOB_OK) {
        ngx_log_error(NGX_LOG_ERR, st->log, 0,
                      "spectra: job %s not updated: %s (%d)",
                      st->job.id, err.message, rc);
        return;
    }

    if (st->job.status != from) {
        ngx_http_spectra_job_audit(st->log, &st->job,
                                   spectra_job_status_name(from));

        if (spectra_job_status_final(st->job.status)
            && !spectra_job_status_final(from))
        {
            ngx_http_spectra_warehouse_done(&st->job);
            ngx_http_spectra_queue_freed(st->job.tenant_id.data,
                                         st->job.tenant_id.len);
        }
    }
}


void
ngx_http_spectra_job_submitted(ngx_http_spectra_stmt_t *st)
{
    spectra_job_update_t  upd;

    if (!st->id_unsaved) {
        return;
    }

    ngx_http_spectra_job_update_init(st, &upd);
    ngx_http_spectra_job_update(st, &upd);
}


void
ngx_http_spectra_job_running(ngx_http_spectra_stmt_t *st)
{
    spectra_job_update_t  upd;

    if (st->job.status == SPECTRA_JOB_RUNNING) {
        return;
    }

    ngx_http_spectra_job_update_init(st, &upd);

    upd.status = SPECTRA_JOB_RUNNING;
    upd.from = SPECTRA_JOB_ACTIVE;

    ngx_http_spectra_job_update(st, &upd);
}


void
ngx_http_spectra_job_completed(ngx_http_spectra_stmt_t *st, int64_t rows,
    int64_t execution_ms)
{
    spectra_job_update_t  upd;

    if (st->job.status == SPECTRA_JOB_COMPLETED) {
        return;
    }

    ngx_http_spectra_job_update_init(st, &upd);

    upd.status = SPECTRA_JOB_COMPLETED;
    upd.from = SPECTRA_JOB_ACTIVE;
    upd.row_count = rows;
    upd.execution_ms = execution_ms;
    upd.finished_at = ngx_http_spectra_job_now();

    if (st->job.started_at == 0) {
        /* it finished before any DescribeStatement saw it running */
        upd.started_at = (execution_ms >= 0
                          && execution_ms < upd.finished_at)
                         ? upd.finished_at - execution_ms
                         : upd.finished_at;
    }

    ngx_http_spectra_job_update(st, &upd);
}


void
ngx_http_spectra_job_failed(ngx_http_spectra_stmt_t *st, const char *code,
    ngx_str_t *message, ngx_str_t *sqlstate)
{
    spectra_job_update_t  upd;

    ngx_http_spectra_job_update_init(st, &upd);

    upd.status = SPECTRA_JOB_FAILED;
    upd.from = SPECTRA_JOB_ACTIVE;
    upd.error_code.data = (u_char *) code;
    upd.error_code.len = ngx_strlen(code);
    upd.error_message = *ngx_http_spectra_str(message);
    upd.finished_at = ngx_http_spectra_job_now();

    if (sqlstate != NULL && sqlstate->len == 5) {
        upd.sqlstate = *ngx_http_spectra_str(sqlstate);
    }

    if (st->described.duration_ms >= 0) {
        upd.execution_ms = st->described.duration_ms;
    }

    ngx_http_spectra_job_update(st, &upd);
}


void
ngx_http_spectra_job_stopped(ngx_http_spectra_stmt_t *st,
    spectra_job_status_e status, const char *message)
{
    spectra_job_update_t  upd;

    ngx_http_spectra_job_update_init(st, &upd);

    upd.status = status;
    upd.from = SPECTRA_JOB_ACTIVE;
    upd.error_code.data = (u_char *) (status == SPECTRA_JOB_TIMEOUT
                                      ? "QUERY_TIMEOUT" : "CANCELLED");
    upd.error_code.len = ngx_strlen(upd.error_code.data);
    upd.error_message.data = (u_char *) message;
    upd.error_message.len = ngx_strlen(message);
    upd.finished_at = ngx_http_spectra_job_now();

    ngx_http_spectra_job_update(st, &upd);
}


void
ngx_http_spectra_job_row_count(ngx_http_spectra_stmt_t *st, int64_t rows)
{
    spectra_job_update_t  upd;

    if (st->job.row_count == rows) {
        return;
    }

    ngx_http_spectra_job_update_init(st, &upd);

    upd.row_count = rows;

    ngx_http_spectra_job_update(st, &upd);
}


void
ngx_http_spectra_job_check_at(ngx_http_spectra_stmt_t *st, int64_t at)
{
    spectra_job_update_t  upd;

    if (!(SPECTRA_JOB_MASK(st->job.status) & SPECTRA_JOB_ACTIVE)) {
        return;
    }

    ngx_http_spectra_job_update_init(st, &upd);

    upd.from = SPECTRA_JOB_ACTIVE;
    upd.check_at = (at > 0) ? at : 1;

    ngx_http_spectra_job_update(st, &upd);
}


/*
 * Retention: deletes up to limit jobs that finished before `before` (ms),
 * oldest first; *n is how many went.  The supervisor calls it.
 */
ngx_int_t
ngx_http_spectra_job_purge(ngx_log_t *log, int64_t before, ngx_uint_t limit,
    ngx_uint_t *n)
{
    int                   rc;
    unsigned              deleted;
    spectra_err_t         err;
    spectra_job_store_t  *store;

    *n = 0;

    if (ngx_http_spectra_jobs_ddb() != NULL) {
        /* DynamoDB's TTL deletes them ("expires"); reads skip them */
        return NGX_OK;
    }

    store = ngx_http_spectra_jobs_store();

    if (store == NULL) {
        return NGX_ERROR;
    }

    rc = store->ops->purge(store, before, (size_t) limit, &deleted, &err);

    if (rc != SPECTRA_JOB_OK) {
        ngx_log_error(NGX_LOG_ERR, log, 0,
                      "spectra: job store: retention: %s (%d)",
                      err.message, rc);
        return NGX_ERROR;
    }

    *n = deleted;

    return NGX_OK;
}
