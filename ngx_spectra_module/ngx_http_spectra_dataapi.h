/*
 * Data API calls of a request: SigV4-signed subrequests to the internal
 * location the user configured (spectra_dataapi_location), answers kept
 * in memory; and noticing a client that goes away while they run.
 */

#ifndef _NGX_HTTP_SPECTRA_DATAAPI_H_INCLUDED_
#define _NGX_HTTP_SPECTRA_DATAAPI_H_INCLUDED_


#include "ngx_http_spectra_common.h"


#define NGX_HTTP_SPECTRA_AUTH_LEN  512


/* The signed headers of one call, shared with the background transport. */
typedef struct {
    ngx_str_t                   target;        /* RedshiftData.Operation */
    ngx_str_t                   date;          /* X-Amz-Date */
    ngx_str_t                   authorization;
    ngx_str_t                   token;         /* X-Amz-Security-Token */
} ngx_http_spectra_signed_t;


ngx_int_t ngx_http_spectra_dataapi_sign(ngx_pool_t *pool, ngx_log_t *log,
    ngx_http_spectra_loc_conf_t *conf, const char *operation,
    ngx_str_t *body, ngx_http_spectra_signed_t *out);

/* The subrequest transport of a request's statement (st->call). */
ngx_int_t ngx_http_spectra_dataapi_call(ngx_http_spectra_stmt_t *st,
    const char *operation, ngx_str_t *body);

/*
 * A call beside the one out (a CancelStatement while a long poll waits):
 * a background subrequest whose answer is only logged.
 */
ngx_int_t ngx_http_spectra_dataapi_side_call(ngx_http_spectra_stmt_t *st,
    const char *operation, ngx_str_t *body);

/* Watches the client's connection while the request waits. */
void ngx_http_spectra_dataapi_watch_client(ngx_http_request_t *r);

/* Frees a large answer before the request ends (pages can be large). */
void ngx_http_spectra_dataapi_free_answer(ngx_http_spectra_stmt_t *st);


#endif /* _NGX_HTTP_SPECTRA_DATAAPI_H_INCLUDED_ */
