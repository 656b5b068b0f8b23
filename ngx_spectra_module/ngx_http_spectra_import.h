/*
 * The import API (ngx_http_spectra_import.c): POST /v1/imports opens an
 * import job and presigns its upload, PATCH /v1/imports/{id} completes the
 * upload (the COPY is then submitted as the tenant) or aborts it, GET
 * shows it with its counters and load errors, DELETE aborts it, and
 * /v1/imports/{id}/failed downloads the rejected records as CSV.  Its
 * directives belong to ngx_http_spectra_import_module.
 */

#ifndef _NGX_HTTP_SPECTRA_IMPORT_H_INCLUDED_
#define _NGX_HTTP_SPECTRA_IMPORT_H_INCLUDED_


#include "ngx_http_spectra_common.h"


extern ngx_module_t  ngx_http_spectra_import_module;


ngx_int_t ngx_http_spectra_import_create(ngx_http_request_t *r,
    ngx_http_spectra_tenant_t *tenant, ngx_str_t *id);
ngx_int_t ngx_http_spectra_import_get(ngx_http_request_t *r,
    ngx_http_spectra_tenant_t *tenant, ngx_str_t *id);
ngx_int_t ngx_http_spectra_import_patch(ngx_http_request_t *r,
    ngx_http_spectra_tenant_t *tenant, ngx_str_t *id);
ngx_int_t ngx_http_spectra_import_abort(ngx_http_request_t *r,
    ngx_http_spectra_tenant_t *tenant, ngx_str_t *id);
ngx_int_t ngx_http_spectra_import_failed(ngx_http_request_t *r,
    ngx_http_spectra_tenant_t *tenant, ngx_str_t *id);

/*
 * Answers an import job with status: its state, counters and first load
 * errors (read once from the warehouse after the COPY ended), and its
 * upload URL while it is Open.  Finalizes r.
 */
void ngx_http_spectra_import_show(ngx_http_request_t *r, spectra_job_t *job,
    unsigned flags, ngx_uint_t status);


#endif /* _NGX_HTTP_SPECTRA_IMPORT_H_INCLUDED_ */
