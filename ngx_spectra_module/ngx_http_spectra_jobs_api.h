/*
 * The /v1/jobs endpoints and the answers every endpoint gives about a
 * job (ngx_http_spectra_jobs_api.c): the job itself, its rows, or the
 * error it ended with.
 */

#ifndef _NGX_HTTP_SPECTRA_JOBS_API_H_INCLUDED_
#define _NGX_HTTP_SPECTRA_JOBS_API_H_INCLUDED_


#include "ngx_http_spectra_common.h"


ngx_int_t ngx_http_spectra_jobs_list(ngx_http_request_t *r,
    ngx_http_spectra_tenant_t *tenant, ngx_str_t *id);
ngx_int_t ngx_http_spectra_jobs_get(ngx_http_request_t *r,
    ngx_http_spectra_tenant_t *tenant, ngx_str_t *id);
ngx_int_t ngx_http_spectra_jobs_results(ngx_http_request_t *r,
    ngx_http_spectra_tenant_t *tenant, ngx_str_t *id);
ngx_int_t ngx_http_spectra_jobs_cancel(ngx_http_request_t *r,
    ngx_http_spectra_tenant_t *tenant, ngx_str_t *id);

/* The same for jobs of one type only: another type is not found. */
ngx_int_t ngx_http_spectra_jobs_get_type(ngx_http_request_t *r,
    ngx_http_spectra_tenant_t *tenant, ngx_str_t *id,
    spectra_job_type_e type);
ngx_int_t ngx_http_spectra_jobs_cancel_type(ngx_http_request_t *r,
    ngx_http_spectra_tenant_t *tenant, ngx_str_t *id,
    spectra_job_type_e type);

/*
 * A statement handler: answers a query (or a replay, or a results
 * request) by how st ended: its rows, 202 with the job, or the error.
 * st->data points to the spectra_query_t with the answer's limits.
 */
void ngx_http_spectra_jobs_answer(ngx_http_spectra_stmt_t *st);

/*
 * Answers an existing job as its query would: its rows again (COMPLETED),
 * 202 (still active) or the error it ended with.  Finalizes r.
 */
void ngx_http_spectra_jobs_replay(ngx_http_request_t *r, spectra_job_t *job);

/* The job as JSON; a 202 also says where to look and when. */
ngx_int_t ngx_http_spectra_job_send(ngx_http_request_t *r,
    ngx_uint_t status, spectra_job_t *job, unsigned flags);

/*
 * The error a job ended with: 422 QUERY_FAILED (with its SQLSTATE), 408
 * QUERY_TIMEOUT, 409 CONFLICT for a cancelled job.
 */
ngx_int_t ngx_http_spectra_job_send_ended(ngx_http_request_t *r,
    spectra_job_t *job, spectra_job_status_e status);


#endif /* _NGX_HTTP_SPECTRA_JOBS_API_H_INCLUDED_ */
