/*
 * HTTP calls that no client request carries (the supervisor's Data API
 * calls; later key sets and credentials): libcurl's multi interface
 * driven by nginx's event loop, one multi handle per worker.  Sockets
 * become nginx connections whose events go to libcurl; libcurl's timer is
 * an nginx timer.  Nothing blocks.
 */

#ifndef _NGX_HTTP_SPECTRA_CURL_H_INCLUDED_
#define _NGX_HTTP_SPECTRA_CURL_H_INCLUDED_


#include "ngx_http_spectra_common.h"


#define NGX_HTTP_SPECTRA_CURL_MAX_HEADERS  8


/*
 * status: the HTTP status; NGX_HTTP_GATEWAY_TIME_OUT when the call timed
 * out, NGX_HTTP_BAD_GATEWAY when it failed without an answer.  body is
 * in the call's pool.
 */
typedef void (*ngx_http_spectra_curl_pt)(void *data, ngx_uint_t status,
    ngx_str_t *body);


typedef struct {
    ngx_str_t                   url;
    ngx_str_t                   body;
    ngx_str_t                   headers[NGX_HTTP_SPECTRA_CURL_MAX_HEADERS];
    ngx_uint_t                  nheaders;     /* "Name: value" each */
    const char                 *method;       /* NULL: POST */
    ngx_str_t                   cainfo;       /* CA file; empty: system */
    ngx_msec_t                  timeout;
    size_t                      max_answer;
    ngx_pool_t                 *pool;
    ngx_log_t                  *log;
    ngx_http_spectra_curl_pt    handler;
    void                       *data;

    /* of the answer, in the pool, for the handler (empty when absent) */
    ngx_str_t                   content_type;
    ngx_str_t                   cache_control;
    ngx_str_t                   expires;
    ngx_str_t                   date;
} ngx_http_spectra_curl_call_t;


ngx_int_t ngx_http_spectra_curl_init(ngx_cycle_t *cycle);

/* The worker's client for other users (key sets): made once, on demand. */
ngx_int_t ngx_http_spectra_curl_start(ngx_cycle_t *cycle);
void ngx_http_spectra_curl_exit(ngx_cycle_t *cycle);

/*
 * Starts a POST (or call->method: "GET", "PUT"); the handler runs from a
 * later event, never from here.  Redirects are not followed.
 */
ngx_int_t ngx_http_spectra_curl_post(ngx_http_spectra_curl_call_t *call);

/* The background transport of the statement engine (st->call). */
ngx_int_t ngx_http_spectra_curl_call(ngx_http_spectra_stmt_t *st,
    const char *operation, ngx_str_t *body);


#endif /* _NGX_HTTP_SPECTRA_CURL_H_INCLUDED_ */
