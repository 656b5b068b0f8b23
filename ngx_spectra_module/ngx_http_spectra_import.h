/*
 * The import API (ngx_http_spectra_import.c): POST /v1/imports opens an
 * import job and presigns its upload, PATCH /v1/imports/{id} completes the
 * upload (the COPY is then submitted as the tenant) or aborts it, GET
 * shows it with its counters and load errors, DELETE aborts it, and
 * /v1/imports/{id}/failed (ngx_http_spectra_import_failed.c) downloads
 * the rejected records as CSV.  Its directives belong to
 * ngx_http_spectra_import_module.
 */

#ifndef _NGX_HTTP_SPECTRA_IMPORT_H_INCLUDED_
#define _NGX_HTTP_SPECTRA_IMPORT_H_INCLUDED_


#include "ngx_http_spectra_common.h"
#include "ngx_http_spectra_jobs.h"
#include "ngx_http_spectra_statement.h"

#include <spectra_import.h>


#define NGX_HTTP_SPECTRA_IMPORT_CREATE   0
#define NGX_HTTP_SPECTRA_IMPORT_PATCH    1
#define NGX_HTTP_SPECTRA_IMPORT_SHOW     2
#define NGX_HTTP_SPECTRA_IMPORT_FAILED   3


/* An import endpoint's request state (r->pool; the ctx's endpoint). */
typedef struct {
    ngx_http_request_t         *request;
    ngx_http_spectra_tenant_t  *tenant;
    spectra_import_t            im;
    spectra_import_result_t     res;
    spectra_job_t               job;
    ngx_str_t                   id;
    ngx_uint_t                  op;
    ngx_uint_t                  status;      /* of the answer */
    unsigned                    flags;
    u_char                      hash[SPECTRA_SIGV4_HEX_LEN];
    spectra_err_t               err;
    const char                 *code;
    /* the failed records being written */
    ngx_chain_t                *out;
    ngx_chain_t               **last;
    ngx_uint_t                  pages;
} ngx_http_spectra_import_ctx_t;


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

/* Between the import files: the request's state, a job store call. */
ngx_http_spectra_import_ctx_t *ngx_http_spectra_import_ctx(
    ngx_http_request_t *r, ngx_http_spectra_tenant_t *tenant, ngx_str_t *id,
    ngx_uint_t op);
ngx_int_t ngx_http_spectra_import_job_call(
    ngx_http_spectra_import_ctx_t *ic, ngx_http_spectra_job_pt handler,
    ngx_http_spectra_job_call_t **call);

/*
 * The import's load errors (sys_load_error_detail), queried as the
 * tenant in a statement of no job; handler gets its pages (END_ROWS).
 */
ngx_int_t ngx_http_spectra_import_errors(ngx_http_spectra_import_ctx_t *ic,
    ngx_http_spectra_stmt_pt handler);

/*
 * Answers an import job with status: its state, counters and first load
 * errors (read once from the warehouse after the COPY ended), and its
 * upload URL while it is Open.  Finalizes r.
 */
void ngx_http_spectra_import_show(ngx_http_request_t *r, spectra_job_t *job,
    unsigned flags, ngx_uint_t status);


#endif /* _NGX_HTTP_SPECTRA_IMPORT_H_INCLUDED_ */
