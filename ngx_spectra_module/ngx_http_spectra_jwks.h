/*
 * JWT key sets from a URL (ngx_http_spectra_jwks.c): a JWKS, or an
 * issuer's OpenID discovery document that names one, fetched by one
 * worker at a time with the background HTTP client, kept in shared
 * memory for every worker, refreshed on a schedule and on an unknown
 * "kid" (single flight, rate-limited), served stale for a bounded time
 * when fetches fail, then not at all.
 */

#ifndef _NGX_HTTP_SPECTRA_JWKS_H_INCLUDED_
#define _NGX_HTTP_SPECTRA_JWKS_H_INCLUDED_


#include "ngx_http_spectra.h"
#include "spectra_jwt.h"


typedef struct ngx_http_spectra_jwks_s  ngx_http_spectra_jwks_t;


/*
 * The key set of the request's location (NULL when the location has no
 * spectra_jwt_jwks_url).
 */
ngx_http_spectra_jwks_t *ngx_http_spectra_jwks_source(ngx_http_request_t *r);

/* Whether the location being merged has a spectra_jwt_jwks_url. */
ngx_uint_t ngx_http_spectra_jwks_configured(ngx_conf_t *cf);

/*
 * The current keys (this worker's copy of the shared set) and the set's
 * generation; NULL with *reason when there is none yet, or it went stale
 * past spectra_jwt_jwks_stale (fail closed).
 */
const spectra_jwt_keyset_t *ngx_http_spectra_jwks_keys(
    ngx_http_spectra_jwks_t *src, uint64_t *generation, const char **reason);

/*
 * Asks for a refresh because the keys lack what a token needs.  NGX_AGAIN:
 * a fetch runs (started here or by another worker), the request may wait
 * for it with ngx_http_spectra_jwks_wait(); NGX_DECLINED: not now (the
 * request already waited, or the last forced refresh is too recent).
 */
ngx_int_t ngx_http_spectra_jwks_refresh(ngx_http_request_t *r,
    ngx_http_spectra_jwks_t *src);

/*
 * From the access phase: NGX_AGAIN the first time (the request sleeps
 * until the fetch ends or spectra_jwt_jwks_timeout passes, then runs its
 * phases again), NGX_OK the time after (authenticate again).
 */
ngx_int_t ngx_http_spectra_jwks_wait(ngx_http_request_t *r,
    ngx_http_spectra_jwks_t *src);


/* For metrics and readiness: what each key set in the cycle looks like. */
typedef struct {
    ngx_str_t                   url;
    time_t                      fetched;      /* 0: never */
    time_t                      expires;
    time_t                      stale_until;
    ngx_uint_t                  keys;
    uint64_t                    fetches;
    uint64_t                    failures;
    unsigned                    usable:1;
    unsigned                    fresh:1;
} ngx_http_spectra_jwks_state_t;

/* The state of the n-th key set; NGX_DECLINED past the last. */
ngx_int_t ngx_http_spectra_jwks_state(ngx_cycle_t *cycle, ngx_uint_t n,
    ngx_http_spectra_jwks_state_t *state);


extern ngx_module_t  ngx_http_spectra_jwks_module;


#endif /* _NGX_HTTP_SPECTRA_JWKS_H_INCLUDED_ */
