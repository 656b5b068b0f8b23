/*
 * Request bodies of the API: the whole JSON body as one string, whether
 * nginx kept it in memory buffers or spilled it to a temporary file.
 */


#include "ngx_http_spectra_common.h"
#include "ngx_http_spectra_body.h"


/*
 * Collects the body read by ngx_http_read_client_request_body() into one
 * contiguous string; NGX_DECLINED when it is larger than max.
 */

ngx_int_t
ngx_http_spectra_body_string(ngx_http_request_t *r, size_t max,
    ngx_str_t *body)
{
    off_t         len;
    u_char       *p;
    ssize_t       n;
    ngx_buf_t    *b;
    ngx_chain_t  *cl;

    ngx_str_null(body);

    if (r->request_body == NULL || r->request_body->bufs == NULL) {
        return NGX_OK;
    }

    len = 0;

    for (cl = r->request_body->bufs; cl != NULL; cl = cl->next) {
        len += ngx_buf_size(cl->buf);
    }

    if ((size_t) len > max) {
        return NGX_DECLINED;
    }

    if (len == 0) {
        return NGX_OK;
    }

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    body->data = p;

    for (cl = r->request_body->bufs; cl != NULL; cl = cl->next) {
        b = cl->buf;

        if (b->in_file) {
            n = ngx_read_file(b->file, p, b->file_last - b->file_pos,
                              b->file_pos);
            if (n != b->file_last - b->file_pos) {
                return NGX_ERROR;
            }

            p += n;

        } else {
            p = ngx_cpymem(p, b->pos, b->last - b->pos);
        }
    }

    body->len = p - body->data;

    return NGX_OK;
}


/* "application/json", optionally with parameters such as charset. */

ngx_int_t
ngx_http_spectra_is_json(ngx_http_request_t *r)
{
    size_t       len;
    u_char      *p;
    ngx_str_t   *type;

    if (r->headers_in.content_type == NULL) {
        return NGX_DECLINED;
    }

    type = &r->headers_in.content_type->value;
    len = sizeof("application/json") - 1;

    if (type->len < len
        || ngx_strncasecmp(type->data, (u_char *) "application/json", len)
           != 0)
    {
        return NGX_DECLINED;
    }

    p = type->data + len;

    while (p < type->data + type->len && (*p == ' ' || *p == '\t')) {
        p++;
    }

    if (p == type->data + type->len || *p == ';') {
        return NGX_OK;
    }

    return NGX_DECLINED;
}
