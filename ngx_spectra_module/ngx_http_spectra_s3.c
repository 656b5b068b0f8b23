/*
 * Object store reads (ngx_http_spectra_s3.h).  The GET (or HEAD) is
 * presigned (X-Amz-* in the query, SignedHeaders=host) rather than signed
 * in headers, so that S3 and the local object store verify it the same way
 * they verify the download links the API hands out.  Nothing of the
 * client's request goes with it but the method.
 */


#include "ngx_http_spectra_common.h"
#include "ngx_http_spectra_awscreds.h"
#include "ngx_http_spectra_s3.h"


/* a read of the store answers within seconds, or fails */
#define NGX_HTTP_SPECTRA_S3_EXPIRES  60


typedef struct {
    ngx_http_spectra_s3_pt      handler;
    void                       *data;
    ngx_uint_t                  status;        /* 0: no answer yet */
    ngx_str_t                   body;
    unsigned                    done:1;
    unsigned                    head:1;
} ngx_http_spectra_s3_call_t;


static ngx_int_t ngx_http_spectra_s3_request(ngx_http_request_t *r,
    ngx_uint_t head, ngx_str_t *bucket, ngx_str_t *key,
    ngx_http_spectra_s3_pt handler, void *data);
static ngx_int_t ngx_http_spectra_s3_done(ngx_http_request_t *sr, void *data,
    ngx_int_t rc);
static void ngx_http_spectra_s3_resume(ngx_http_request_t *r);


ngx_int_t
ngx_http_spectra_s3_get(ngx_http_request_t *r, ngx_str_t *bucket,
    ngx_str_t *key, ngx_http_spectra_s3_pt handler, void *data)
{
    return ngx_http_spectra_s3_request(r, 0, bucket, key, handler, data);
}


ngx_int_t
ngx_http_spectra_s3_head(ngx_http_request_t *r, ngx_str_t *bucket,
    ngx_str_t *key, ngx_http_spectra_s3_pt handler, void *data)
{
    return ngx_http_spectra_s3_request(r, 1, bucket, key, handler, data);
}


static ngx_int_t
ngx_http_spectra_s3_request(ngx_http_request_t *r, ngx_uint_t head,
    ngx_str_t *bucket, ngx_str_t *key, ngx_http_spectra_s3_pt handler,
    void *data)
{
    u_char                        *p, *q, *url, *end;
    size_t                         size, len;
    ngx_str_t                      uri, args, host;
    spectra_err_t                  err;
    spectra_s3_object_t            obj;
    ngx_table_elt_t               *h;
    ngx_http_request_t            *sr;
    ngx_http_spectra_ctx_t        *ctx;
    ngx_http_post_subrequest_t    *psr;
    ngx_http_spectra_s3_call_t    *call;
    ngx_http_spectra_loc_conf_t   *slcf;
    spectra_sigv4_credentials_t    cred;
    time_t                         cexp;

    slcf = ngx_http_get_module_loc_conf(r, ngx_http_spectra_module);
    ctx = ngx_http_get_module_ctx(r->main, ngx_http_spectra_module);

    if (ctx == NULL) {
        return NGX_ERROR;
    }

    if (ngx_http_spectra_awscreds_get(slcf, r->pool, &cred, &cexp)
        != NGX_OK)
    {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "spectra: no valid AWS credentials to sign an object "
                      "store request with");
        return NGX_ERROR;
    }

    cred.region = *ngx_http_spectra_str(&slcf->region);
    cred.service.data = (u_char *) "s3";
    cred.service.len = 2;

    if (head) {
        ngx_str_set(ngx_http_spectra_ngx_str(&obj.method), "HEAD");

    } else {
        ngx_str_set(ngx_http_spectra_ngx_str(&obj.method), "GET");
    }

    obj.bucket = *ngx_http_spectra_str(bucket);
    obj.key = *ngx_http_spectra_str(key);
    obj.path_style = slcf->s3_path_style ? 1 : 0;
    obj.now = ngx_time();
    obj.expires = NGX_HTTP_SPECTRA_S3_EXPIRES;

    size = spectra_s3_presign_size(&slcf->s3_endpoint, &obj, &cred);

    url = ngx_pnalloc(r->pool, size);
    if (url == NULL) {
        return NGX_ERROR;
    }

    if (spectra_s3_presign_url(&slcf->s3_endpoint, &obj, &cred, url, size,
                               &len, &err)
        != SPECTRA_S3_OK)
    {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "spectra: cannot presign the object store request: %s",
                      err.message);
        return NGX_ERROR;
    }

    /*
     * scheme://authority/path?query: the query goes as the subrequest's
     * arguments and the authority as its Host, the one it was signed for
     */
    end = url + len;

    host.data = ngx_strlchr(url, end, ':');
    if (host.data == NULL || end - host.data < 3) {
        return NGX_ERROR;
    }

    host.data += 3;

    p = ngx_strlchr(host.data, end, '/');
    q = ngx_strlchr(host.data, end, '?');

    if (p == NULL || q == NULL || q < p) {
        return NGX_ERROR;
    }

    host.len = p - host.data;
    args.data = q + 1;
    args.len = end - args.data;

    /*
     * the location, then the object's decoded path (the endpoint's base,
     * the bucket in path style, the key): nginx escapes it
     */
    uri.len = slcf->s3_uri.len + slcf->s3_endpoint.base.len + 1
              + (obj.path_style ? obj.bucket.len + 1 : 0) + obj.key.len;
    uri.data = ngx_pnalloc(r->pool, uri.len);
    if (uri.data == NULL) {
        return NGX_ERROR;
    }

    p = ngx_cpymem(uri.data, slcf->s3_uri.data, slcf->s3_uri.len);
    p = ngx_cpymem(p, slcf->s3_endpoint.base.data,
                   slcf->s3_endpoint.base.len);
    *p++ = '/';

    if (obj.path_style) {
        p = ngx_cpymem(p, obj.bucket.data, obj.bucket.len);
        *p++ = '/';
    }

    (void) ngx_cpymem(p, obj.key.data, obj.key.len);

    call = ngx_pcalloc(r->pool, sizeof(ngx_http_spectra_s3_call_t));
    psr = ngx_palloc(r->pool, sizeof(ngx_http_post_subrequest_t));

    if (call == NULL || psr == NULL) {
        return NGX_ERROR;
    }

    call->handler = handler;
    call->data = data;
    call->head = head ? 1 : 0;

    psr->handler = ngx_http_spectra_s3_done;
    psr->data = call;

    if (ngx_http_subrequest(r, &uri, &args, &sr, psr,
                            NGX_HTTP_SUBREQUEST_IN_MEMORY)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (head) {
        sr->method = NGX_HTTP_HEAD;
        ngx_str_set(&sr->method_name, "HEAD");
        sr->header_only = 1;

    } else {
        sr->method = NGX_HTTP_GET;
        ngx_str_set(&sr->method_name, "GET");
        sr->header_only = 0;
    }

    /* only the Host the URL was signed for */

    ngx_memzero(&sr->headers_in, sizeof(ngx_http_headers_in_t));

    if (ngx_list_init(&sr->headers_in.headers, r->pool, 2,
                      sizeof(ngx_table_elt_t))
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    sr->headers_in.content_length_n = -1;
    sr->headers_in.keep_alive_n = -1;

    h = ngx_list_push(&sr->headers_in.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->value = host;
    ngx_str_set(&h->key, "Host");
    h->lowcase_key = (u_char *) "host";
    h->hash = ngx_hash_key(h->lowcase_key, 4);

    sr->headers_in.host = h;
    sr->headers_in.server = h->value;

    ctx->s3 = call;
    r->main->write_event_handler = ngx_http_spectra_s3_resume;

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "spectra s3 %V \"%V\" (%V)", &sr->method_name, &uri,
                   &h->value);

    return NGX_OK;
}


/* Keeps the answer; the first final call counts (see dataapi.c). */

static ngx_int_t
ngx_http_spectra_s3_done(ngx_http_request_t *sr, void *data, ngx_int_t rc)
{
    ngx_http_spectra_s3_call_t *call = data;

    ngx_buf_t                 *b;
    ngx_http_core_loc_conf_t  *clcf;

    if (rc == NGX_AGAIN || call->status != 0) {
        return (rc == NGX_AGAIN) ? rc : NGX_OK;
    }

    if (rc == NGX_ERROR || rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        call->status = (rc == NGX_ERROR) ? NGX_HTTP_BAD_GATEWAY
                                         : (ngx_uint_t) rc;

        clcf = ngx_http_get_module_loc_conf(sr, ngx_http_core_module);

        if (rc == NGX_ERROR
            && (sr->headers_out.content_length_n
                > (off_t) clcf->subrequest_output_buffer_size
                || (sr->out != NULL && sr->out->buf->last
                                       == sr->out->buf->end)))
        {
            /* too big for subrequest_output_buffer_size: ours to report */
            ngx_log_error(NGX_LOG_ERR, sr->connection->log, 0,
                          "spectra: an object store answer is larger than "
                          "subrequest_output_buffer_size");
            sr->connection->error = 0;
        }

    } else if (sr->headers_out.status) {
        call->status = sr->headers_out.status;

    } else {
        call->status = NGX_HTTP_BAD_GATEWAY;
    }

    if (call->head) {
        /* the object's size, as the store said it */
        call->body.data = NULL;
        call->body.len = (sr->headers_out.content_length_n > 0)
                         ? (size_t) sr->headers_out.content_length_n : 0;

    } else if (sr->out != NULL && sr->out->buf != NULL
               && call->status == NGX_HTTP_OK)
    {
        b = sr->out->buf;
        call->body.data = b->pos;
        call->body.len = b->last - b->pos;
    }

    return NGX_OK;
}


static void
ngx_http_spectra_s3_resume(ngx_http_request_t *r)
{
    ngx_http_spectra_ctx_t      *ctx;
    ngx_http_spectra_s3_call_t  *call;

    ctx = ngx_http_get_module_ctx(r, ngx_http_spectra_module);

    if (ctx == NULL || ctx->s3 == NULL) {
        return;
    }

    call = ctx->s3;

    if (call->status == 0 || call->done) {
        return;
    }

    call->done = 1;
    ctx->s3 = NULL;
    r->write_event_handler = ngx_http_request_empty_handler;

    call->handler(r, call->data, call->status, &call->body);
}
