/*
 * GET /v1/ready (ngx_http_spectra_ready.c): whether this node can serve,
 * as opposed to /v1/health, which says only that nginx runs.
 */

#ifndef _NGX_HTTP_SPECTRA_READY_H_INCLUDED_
#define _NGX_HTTP_SPECTRA_READY_H_INCLUDED_


#include "ngx_http_spectra_common.h"


ngx_int_t ngx_http_spectra_ready_endpoint(ngx_http_request_t *r,
    ngx_http_spectra_tenant_t *tenant, ngx_str_t *id);


#endif /* _NGX_HTTP_SPECTRA_READY_H_INCLUDED_ */
