/*
 * JSON replies (ngx_http_spectra_reply.c): bodies with X-Request-Id, and
 * the error_page handler that turns nginx's own errors into the API's
 * JSON errors.  ngx_http_spectra.h declares the error senders the auth
 * module uses too.
 */

#ifndef _NGX_HTTP_SPECTRA_REPLY_H_INCLUDED_
#define _NGX_HTTP_SPECTRA_REPLY_H_INCLUDED_


#include "ngx_http_spectra_common.h"


/* The content handler of spectra_error_page. */
ngx_int_t ngx_http_spectra_error_page_handler(ngx_http_request_t *r);

/* Sets the JSON content type and X-Request-Id on r's response. */
ngx_int_t ngx_http_spectra_json_headers(ngx_http_request_t *r,
    ngx_uint_t status, off_t length);


#endif /* _NGX_HTTP_SPECTRA_REPLY_H_INCLUDED_ */
