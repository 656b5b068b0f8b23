/*
 * POST /v1/queries (ngx_http_spectra_query.c).
 */

#ifndef _NGX_HTTP_SPECTRA_QUERY_H_INCLUDED_
#define _NGX_HTTP_SPECTRA_QUERY_H_INCLUDED_


#include "ngx_http_spectra_common.h"


ngx_int_t ngx_http_spectra_queries(ngx_http_request_t *r,
    ngx_http_spectra_tenant_t *tenant, ngx_str_t *id);

/* The location's bounds of a query request (and of its replays). */
void ngx_http_spectra_query_limits(ngx_http_spectra_loc_conf_t *slcf,
    spectra_query_limits_t *limits);


#endif /* _NGX_HTTP_SPECTRA_QUERY_H_INCLUDED_ */
