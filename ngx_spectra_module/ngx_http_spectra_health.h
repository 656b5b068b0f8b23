/*
 * GET /v1/health (ngx_http_spectra_health.c).
 */

#ifndef _NGX_HTTP_SPECTRA_HEALTH_H_INCLUDED_
#define _NGX_HTTP_SPECTRA_HEALTH_H_INCLUDED_


#include "ngx_http_spectra_common.h"


ngx_int_t ngx_http_spectra_health_endpoint(ngx_http_request_t *r,
    ngx_http_spectra_tenant_t *tenant, ngx_str_t *id);


#endif /* _NGX_HTTP_SPECTRA_HEALTH_H_INCLUDED_ */
