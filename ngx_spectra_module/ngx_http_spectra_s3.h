/*
 * Reading an object from the export store (ngx_http_spectra_s3.c): a GET
 * presigned for the object's own host and path, sent as a subrequest to
 * the internal location spectra_s3_location names (a proxy_pass to the
 * S3 endpoint, or to the local object store), its answer kept in memory.
 */

#ifndef _NGX_HTTP_SPECTRA_S3_H_INCLUDED_
#define _NGX_HTTP_SPECTRA_S3_H_INCLUDED_


#include "ngx_http_spectra_common.h"


/* status: the object store's HTTP status (502 when it failed); body. */
typedef void (*ngx_http_spectra_s3_pt)(ngx_http_request_t *r, void *data,
    ngx_uint_t status, ngx_str_t *body);


/*
 * Starts the GET of bucket/key for the main request r, which waits for
 * it (its write event handler is taken); handler runs once, when the
 * answer is in.  NGX_ERROR: nothing was sent.
 */
ngx_int_t ngx_http_spectra_s3_get(ngx_http_request_t *r, ngx_str_t *bucket,
    ngx_str_t *key, ngx_http_spectra_s3_pt handler, void *data);

/*
 * The same with HEAD (whether an upload is there): body->data is NULL and
 * body->len the object's Content-Length.
 */
ngx_int_t ngx_http_spectra_s3_head(ngx_http_request_t *r, ngx_str_t *bucket,
    ngx_str_t *key, ngx_http_spectra_s3_pt handler, void *data);


#endif /* _NGX_HTTP_SPECTRA_S3_H_INCLUDED_ */
