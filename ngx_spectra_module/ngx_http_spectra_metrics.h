/*
 * Metrics (ngx_http_spectra_metrics.c): counters and histograms in one
 * shared memory zone, updated with atomics by every worker, served in the
 * Prometheus text format by the spectra_metrics handler.  The functions
 * below are what the rest of the module calls where a thing happens; each
 * is a few atomic additions and never fails.
 */

#ifndef _NGX_HTTP_SPECTRA_METRICS_H_INCLUDED_
#define _NGX_HTTP_SPECTRA_METRICS_H_INCLUDED_


#include "ngx_http_spectra_common.h"
#include "spectra_metrics.h"


#define NGX_HTTP_SPECTRA_METRICS_SESSION_REUSED   0
#define NGX_HTTP_SPECTRA_METRICS_SESSION_CREATED  1
#define NGX_HTTP_SPECTRA_METRICS_SESSION_BUSY     2


/*
 * The API handler took the request (route NULL: no route matched yet);
 * tenant: the authenticated caller, NULL when there is none.  The request
 * is counted when it is logged.
 */
void ngx_http_spectra_metrics_route(ngx_http_request_t *r, const char *route,
    ngx_http_spectra_tenant_t *tenant);

/* Authentication failed; reason: the text the auth code logs. */
void ngx_http_spectra_metrics_auth_failure(const char *reason);

/* A verified-token cache lookup. */
void ngx_http_spectra_metrics_token_cache(ngx_uint_t hit);

/* A Data API session: NGX_HTTP_SPECTRA_METRICS_SESSION_*. */
void ngx_http_spectra_metrics_session(ngx_uint_t result);

/* A Data API call ended after us microseconds. */
void ngx_http_spectra_metrics_dataapi(const char *action, uint64_t us);

/* A Data API call failed, as the statement engine classified it. */
void ngx_http_spectra_metrics_dataapi_error(spectra_dataapi_error_t *e);

/* A monotonic clock in microseconds, for what ngx_current_msec misses. */
uint64_t ngx_http_spectra_metrics_clock(void);

/* A job store operation that began at start (the clock above) ended. */
void ngx_http_spectra_metrics_store(spectra_metrics_store_e op,
    uint64_t start);


/*
 * The readiness answer cached for every worker (spectra_ready_cache):
 * *state as ngx_http_spectra_metrics_ready_set() stored it, NGX_OK while
 * it is fresh; NGX_DECLINED when this caller should check (it holds the check
 * until ready_set), NGX_BUSY when another check runs and *state is stale
 * or 0.
 */
ngx_int_t ngx_http_spectra_metrics_ready_get(ngx_uint_t *state);
void ngx_http_spectra_metrics_ready_set(ngx_uint_t state);

/* The check that held it ended without an answer (the client left). */
void ngx_http_spectra_metrics_ready_unlock(void);


extern ngx_module_t  ngx_http_spectra_metrics_module;


#endif /* _NGX_HTTP_SPECTRA_METRICS_H_INCLUDED_ */
