/*
 * Request bodies of the API (ngx_http_spectra_body.c).
 */

#ifndef _NGX_HTTP_SPECTRA_BODY_H_INCLUDED_
#define _NGX_HTTP_SPECTRA_BODY_H_INCLUDED_


#include "ngx_http_spectra_common.h"


/*
 * The body read by ngx_http_read_client_request_body() as one string,
 * from memory buffers or a temporary file; NGX_DECLINED when it is larger
 * than max.
 */
ngx_int_t ngx_http_spectra_body_string(ngx_http_request_t *r, size_t max,
    ngx_str_t *body);

/* NGX_OK for "application/json", with parameters such as charset. */
ngx_int_t ngx_http_spectra_is_json(ngx_http_request_t *r);


#endif /* _NGX_HTTP_SPECTRA_BODY_H_INCLUDED_ */
