/*
 * The bulk API (ngx_http_spectra_bulk.c): POST /v1/bulk starts an export
 * (UNLOAD run by the statement engine as the tenant's database user),
 * GET and DELETE /v1/bulk/{id} show and cancel it, and a completed
 * export, wherever it is shown, lists its files with presigned links.
 */

#ifndef _NGX_HTTP_SPECTRA_BULK_H_INCLUDED_
#define _NGX_HTTP_SPECTRA_BULK_H_INCLUDED_


#include "ngx_http_spectra_common.h"


ngx_int_t ngx_http_spectra_bulk_create(ngx_http_request_t *r,
    ngx_http_spectra_tenant_t *tenant, ngx_str_t *id);
ngx_int_t ngx_http_spectra_bulk_get(ngx_http_request_t *r,
    ngx_http_spectra_tenant_t *tenant, ngx_str_t *id);
ngx_int_t ngx_http_spectra_bulk_cancel(ngx_http_request_t *r,
    ngx_http_spectra_tenant_t *tenant, ngx_str_t *id);

/*
 * Answers an export job with status (200, or 202 while it runs): a
 * completed one with its "result", reading its manifest first when its
 * files are not listed yet.  Finalizes r.
 */
void ngx_http_spectra_bulk_show(ngx_http_request_t *r, spectra_job_t *job,
    unsigned flags, ngx_uint_t status);

/*
 * The same for the stable link {n} of a completed export: answered by
 * ngx_http_spectra_link_send() once its files are listed.  Finalizes r.
 */
void ngx_http_spectra_bulk_file_show(ngx_http_request_t *r,
    spectra_job_t *job, ngx_str_t *n);


#endif /* _NGX_HTTP_SPECTRA_BULK_H_INCLUDED_ */
