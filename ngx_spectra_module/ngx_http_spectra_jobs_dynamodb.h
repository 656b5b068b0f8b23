/*
 * The DynamoDB job store in the event loop: each store call is a state
 * machine of the core (spectra_job_dynamodb.h) whose requests go out
 * signed (SigV4, service "dynamodb") through the worker's libcurl multi
 * handle (ngx_http_spectra_curl.h), each with a timeout, and end in the
 * caller's completion.  Updates a request does not wait for are sent in
 * order per job.
 */

#ifndef _NGX_HTTP_SPECTRA_JOBS_DYNAMODB_H_INCLUDED_
#define _NGX_HTTP_SPECTRA_JOBS_DYNAMODB_H_INCLUDED_


#include "ngx_http_spectra_common.h"
#include "ngx_http_spectra_jobs.h"
#include "spectra_job_dynamodb.h"


/* the store's settings (spectra_jobs_store dynamodb) */
typedef struct {
    spectra_ddb_conf_t          conf;
    ngx_str_t                   table;
    ngx_str_t                   endpoint;     /* URL */
    ngx_str_t                   host;         /* the signed Host */
    ngx_msec_t                  timeout;
} ngx_http_spectra_ddb_conf_t;


/* what the call's store operation came to */
typedef void (*ngx_http_spectra_ddb_done_pt)(ngx_http_spectra_job_call_t *call,
    void *arg, int rc, spectra_err_t *err);


typedef struct ngx_http_spectra_ddb_s  ngx_http_spectra_ddb_t;


char *ngx_http_spectra_ddb_conf(ngx_conf_t *cf,
    ngx_http_spectra_main_conf_t *smcf);

/*
 * A store call for the caller's call (copied, so it may be on the stack):
 * start its operation into d->op with the request in the pool d gives,
 * then run it with the start's return code.
 */
ngx_http_spectra_ddb_t *ngx_http_spectra_ddb_new(
    ngx_http_spectra_job_call_t *call, ngx_http_spectra_ddb_done_pt done,
    void *arg, ngx_uint_t metric);
spectra_ddb_op_t **ngx_http_spectra_ddb_op(ngx_http_spectra_ddb_t *d);
spectra_pool_t *ngx_http_spectra_ddb_pool(ngx_http_spectra_ddb_t *d);
spectra_ddb_req_t *ngx_http_spectra_ddb_req(ngx_http_spectra_ddb_t *d);
spectra_err_t *ngx_http_spectra_ddb_err(ngx_http_spectra_ddb_t *d);
void ngx_http_spectra_ddb_run(ngx_http_spectra_ddb_t *d, int rc);

/*
 * An update nobody waits for (a statement's transition): sent after the
 * ones of the same job still out; a failure is logged.
 */
void ngx_http_spectra_ddb_post_update(ngx_log_t *log,
    const spectra_job_update_t *upd);


#endif /* _NGX_HTTP_SPECTRA_JOBS_DYNAMODB_H_INCLUDED_ */
