/*
 * GET /v1/openapi.json (ngx_http_spectra_openapi.c).
 */

#ifndef _NGX_HTTP_SPECTRA_OPENAPI_H_INCLUDED_
#define _NGX_HTTP_SPECTRA_OPENAPI_H_INCLUDED_


#include "ngx_http_spectra_common.h"


ngx_int_t ngx_http_spectra_openapi_endpoint(ngx_http_request_t *r,
    ngx_http_spectra_tenant_t *tenant, ngx_str_t *id);


#endif /* _NGX_HTTP_SPECTRA_OPENAPI_H_INCLUDED_ */
