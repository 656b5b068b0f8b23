/*
 * Declarations shared by the files of ngx_spectra_module: the tenant
 * context produced by authentication, the JSON reply helpers, and how
 * nginx's strings and pools are handed to the nginx-free core.
 */

#ifndef _NGX_HTTP_SPECTRA_H_INCLUDED_
#define _NGX_HTTP_SPECTRA_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "spectra_core.h"


#define NGX_HTTP_SPECTRA_PERM_QUERY   0x01
#define NGX_HTTP_SPECTRA_PERM_BULK    0x02
#define NGX_HTTP_SPECTRA_PERM_ADMIN   0x04

/* with the bits above: one of them is enough (all of them, without) */
#define NGX_HTTP_SPECTRA_PERM_ANY     0x100


/*
 * ngx_str_t and the core's spectra_str_t have the same layout ({len,
 * data}; ngx_http_spectra_module.c fails to compile if that changes), so
 * the glue hands one to the other through these pointer casts, without a
 * copy.
 */
#define ngx_http_spectra_str(s)       ((spectra_str_t *) (s))
#define ngx_http_spectra_ngx_str(s)   ((ngx_str_t *) (s))

/* An nginx pool as the core's allocator. */
#define ngx_http_spectra_pool(p)                                              \
    ((spectra_pool_t) { ngx_http_spectra_palloc, (p) })


/* Who the caller is, derived from verified credentials only. */
typedef struct {
    ngx_str_t                   tenant_id;
    ngx_str_t                   db_user;
    ngx_str_t                   db_group;
    ngx_str_t                   auth_method;     /* "jwt" or "apikey" */
    ngx_uint_t                  permissions;     /* NGX_HTTP_SPECTRA_PERM_* */
} ngx_http_spectra_tenant_t;


/*
 * The verified tenant of the main request, authenticating it on first use
 * (ngx_http_spectra_auth_module); NULL when the caller is not
 * authenticated.
 */
ngx_http_spectra_tenant_t *ngx_http_spectra_auth_tenant(
    ngx_http_request_t *r);

/*
 * Sends a JSON error {"error": {"code", "message", "request_id"}} with the
 * given status; usable from any phase.  Returns what the output filters
 * returned, for ngx_http_finalize_request().
 */
ngx_int_t ngx_http_spectra_send_error(ngx_http_request_t *r,
    ngx_uint_t status, const char *code, ngx_str_t *message);

/* The same, with more members of the error object in extra. */
ngx_int_t ngx_http_spectra_send_error_extra(ngx_http_request_t *r,
    ngx_uint_t status, const char *code, ngx_str_t *message,
    ngx_str_t *extra);

/* Sends a complete JSON body (a chain from r->pool) with the status. */
ngx_int_t ngx_http_spectra_send_json(ngx_http_request_t *r,
    ngx_uint_t status, ngx_chain_t *out);

/* Adds X-Request-Id (nginx's $request_id) to the response headers. */
ngx_int_t ngx_http_spectra_set_request_id(ngx_http_request_t *r);

/* ngx_palloc() as a spectra_alloc_pt, for ngx_http_spectra_pool(). */
void *ngx_http_spectra_palloc(void *pool, size_t size);


/*
 * NGX_OK when the caller is authenticated and has every permission in
 * permissions (NGX_HTTP_SPECTRA_PERM_*), or one of them with
 * NGX_HTTP_SPECTRA_PERM_ANY; otherwise NGX_HTTP_UNAUTHORIZED or
 * NGX_HTTP_FORBIDDEN, and nothing is sent.
 */
ngx_int_t ngx_http_spectra_auth_require(ngx_http_request_t *r,
    ngx_uint_t permissions);

/*
 * Sends the JSON 401 UNAUTHENTICATED (with WWW-Authenticate) or 403
 * FORBIDDEN naming the permissions of missing ("x" and "y", or with
 * NGX_HTTP_SPECTRA_PERM_ANY "x" or "y"); returns what to return from a
 * content handler.
 */
ngx_int_t ngx_http_spectra_auth_send_error(ngx_http_request_t *r,
    ngx_uint_t status, ngx_uint_t missing);


extern ngx_module_t  ngx_http_spectra_module;
extern ngx_module_t  ngx_http_spectra_auth_module;


#endif /* _NGX_HTTP_SPECTRA_H_INCLUDED_ */
