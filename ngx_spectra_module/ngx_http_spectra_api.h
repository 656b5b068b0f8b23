/*
 * The /v1/ API (ngx_http_spectra_api.c): routing, the one permission
 * check every endpoint goes through, the request context, and the one
 * way an asynchronous endpoint ends its request.
 */

#ifndef _NGX_HTTP_SPECTRA_API_H_INCLUDED_
#define _NGX_HTTP_SPECTRA_API_H_INCLUDED_


#include "ngx_http_spectra_common.h"


/*
 * An endpoint: a content handler of its own, called with the caller's
 * tenant (NULL for endpoints that need no credentials) and the {id} of
 * its path.  It returns what a content handler returns: NGX_DONE when it
 * goes on asynchronously (it took a request reference with
 * ngx_http_spectra_api_async() and ends with ngx_http_spectra_finish()).
 */
typedef ngx_int_t (*ngx_http_spectra_endpoint_pt)(ngx_http_request_t *r,
    ngx_http_spectra_tenant_t *tenant, ngx_str_t *id);


ngx_int_t ngx_http_spectra_api_handler(ngx_http_request_t *r);

/*
 * The route pattern (as the route table writes it) that r's URI and
 * method match, NULL for none:
 * for the metrics of requests refused before the handler ran.
 */
const char *ngx_http_spectra_api_route_name(ngx_http_request_t *r);

/* The context of the main request, made on first use. */
ngx_http_spectra_ctx_t *ngx_http_spectra_get_ctx(ngx_http_request_t *r);

/* Takes the reference an endpoint that goes on needs; returns NGX_DONE. */
ngx_int_t ngx_http_spectra_api_async(ngx_http_request_t *r);

/* Ends the request exactly once, whichever step gets there first. */
void ngx_http_spectra_finish(ngx_http_request_t *r, ngx_int_t rc);

/*
 * Sends the JSON error {"error": {"code", "message", "request_id"}};
 * returns what sending returned (for a content handler to return, or
 * for ngx_http_spectra_finish()).
 */
ngx_int_t ngx_http_spectra_fail(ngx_http_request_t *r, ngx_uint_t status,
    const char *code, const char *fmt, ...);

/* 429 with Retry-After (spectra_retry_after) and the given code. */
ngx_int_t ngx_http_spectra_fail_busy(ngx_http_request_t *r,
    const char *code, const char *fmt, ...);


#endif /* _NGX_HTTP_SPECTRA_API_H_INCLUDED_ */
