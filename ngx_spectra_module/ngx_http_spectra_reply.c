/*
 * JSON replies: bodies, the error object of the API contract, and the
 * error_page handler that turns nginx's own errors (413 from
 * client_max_body_size, 429 from limit_req, 502/504 from upstreams...)
 * into the same JSON errors.
 */


#include "ngx_http_spectra_common.h"
#include "ngx_http_spectra_reply.h"
#include "spectra_json.h"


typedef struct {
    ngx_uint_t                  status;
    const char                 *code;
    const char                 *message;
} ngx_http_spectra_status_t;


static const ngx_http_spectra_status_t *ngx_http_spectra_status_lookup(
    ngx_uint_t status);
static ngx_uint_t ngx_http_spectra_limit_conn_rejected(ngx_http_request_t *r);


static ngx_str_t  ngx_http_spectra_json_type =
    ngx_string("application/json; charset=utf-8");


static const ngx_http_spectra_status_t  ngx_http_spectra_statuses[] = {
    { NGX_HTTP_BAD_REQUEST, "INVALID_REQUEST", "the request is malformed" },
    { NGX_HTTP_UNAUTHORIZED, "UNAUTHENTICATED",
      "missing or invalid credentials" },
    { NGX_HTTP_FORBIDDEN, "FORBIDDEN", "not allowed" },
    { NGX_HTTP_NOT_FOUND, "NOT_FOUND", "not found" },
    { NGX_HTTP_NOT_ALLOWED, "METHOD_NOT_ALLOWED", "method not allowed" },
    { NGX_HTTP_REQUEST_TIME_OUT, "REQUEST_TIMEOUT",
      "the client did not send the request in time" },
    { NGX_HTTP_CONFLICT, "CONFLICT", "conflict" },
    { NGX_HTTP_REQUEST_ENTITY_TOO_LARGE, "PAYLOAD_TOO_LARGE",
      "the request body is too large" },
    { NGX_HTTP_REQUEST_URI_TOO_LARGE, "INVALID_REQUEST",
      "the request URI is too long" },
    { NGX_HTTP_UNSUPPORTED_MEDIA_TYPE, "UNSUPPORTED_MEDIA_TYPE",
      "the request body must be application/json" },
    { 429, "RATE_LIMITED", "too many requests, retry later" },
    { NGX_HTTP_REQUEST_HEADER_TOO_LARGE, "INVALID_REQUEST",
      "the request headers are too large" },
    { NGX_HTTP_INTERNAL_SERVER_ERROR, "INTERNAL_ERROR",
      "internal server error" },
    { NGX_HTTP_NOT_IMPLEMENTED, "INVALID_REQUEST",
      "the method is not supported" },
    { NGX_HTTP_BAD_GATEWAY, "UPSTREAM_ERROR",
      "the data API is unreachable or failed" },
    { NGX_HTTP_SERVICE_UNAVAILABLE, "SERVICE_UNAVAILABLE",
      "the service is temporarily unavailable" },
    { NGX_HTTP_GATEWAY_TIME_OUT, "UPSTREAM_TIMEOUT",
      "the data API did not answer in time" },
    { 0, NULL, NULL }
};


static const ngx_http_spectra_status_t  ngx_http_spectra_conn_limited =
    { 429, "CONCURRENCY_LIMITED",
      "too many requests in progress, retry when one has ended" };


ngx_int_t
ngx_http_spectra_set_request_id(ngx_http_request_t *r)
{
    ngx_table_elt_t               *h;
    ngx_http_variable_value_t     *vv;
    ngx_http_spectra_main_conf_t  *smcf;

    smcf = ngx_http_get_module_main_conf(r, ngx_http_spectra_module);

    vv = ngx_http_get_indexed_variable(r->main, smcf->request_id_index);
    if (vv == NULL || vv->not_found) {
        return NGX_ERROR;
    }

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "X-Request-Id");
    h->value.len = vv->len;
    h->value.data = vv->data;

    return NGX_OK;
}


ngx_int_t
ngx_http_spectra_json_headers(ngx_http_request_t *r, ngx_uint_t status,
    off_t length)
{
    r->headers_out.status = status;
    r->headers_out.content_type = ngx_http_spectra_json_type;
    r->headers_out.content_type_len = ngx_http_spectra_json_type.len;
    r->headers_out.content_type_lowcase = NULL;
    r->headers_out.content_length_n = length;

    return ngx_http_spectra_set_request_id(r);
}


ngx_int_t
ngx_http_spectra_send_json(ngx_http_request_t *r, ngx_uint_t status,
    ngx_chain_t *out)
{
    off_t         len;
    ngx_int_t     rc;
    ngx_chain_t  *cl;

    len = 0;

    for (cl = out; cl != NULL; cl = cl->next) {
        len += ngx_buf_size(cl->buf);

        if (cl->next == NULL) {
            cl->buf->last_buf = (r == r->main) ? 1 : 0;
            cl->buf->last_in_chain = 1;
        }
    }

    if (ngx_http_spectra_json_headers(r, status, len) != NGX_OK) {
        return NGX_ERROR;
    }

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    return ngx_http_output_filter(r, out);
}


ngx_int_t
ngx_http_spectra_send_error(ngx_http_request_t *r, ngx_uint_t status,
    const char *code, ngx_str_t *message)
{
    return ngx_http_spectra_send_error_extra(r, status, code, message, NULL);
}


/* extra: more members of the error object, ",\"sqlstate\":\"42P01\"" */

ngx_int_t
ngx_http_spectra_send_error_extra(ngx_http_request_t *r, ngx_uint_t status,
    const char *code, ngx_str_t *message, ngx_str_t *extra)
{
    size_t                         len;
    u_char                        *p;
    ngx_buf_t                     *b;
    ngx_chain_t                    out;
    ngx_http_variable_value_t     *vv;
    ngx_http_spectra_main_conf_t  *smcf;

    if (r->header_sent) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "spectra: cannot send error \"%s\": "
                      "response already started", code);
        return NGX_ERROR;
    }

    if (r == r->main && ngx_http_discard_request_body(r) != NGX_OK) {
        r->keepalive = 0;
    }

    smcf = ngx_http_get_module_main_conf(r, ngx_http_spectra_module);

    vv = ngx_http_get_indexed_variable(r->main, smcf->request_id_index);
    if (vv == NULL || vv->not_found) {
        return NGX_ERROR;
    }

    len = sizeof("{\"error\":{\"code\":\"\",\"message\":\"\","
                 "\"request_id\":\"\"}}\n") - 1
          + ngx_strlen(code)
          + spectra_json_escape_len(message->data, message->len)
          + vv->len + (extra != NULL ? extra->len : 0);

    b = ngx_create_temp_buf(r->pool, len);
    if (b == NULL) {
        return NGX_ERROR;
    }

    p = ngx_sprintf(b->last, "{\"error\":{\"code\":\"%s\",\"message\":\"",
                    code);
    p = spectra_json_escape(p, message->data, message->len);
    p = ngx_sprintf(p, "\",\"request_id\":\"%*s\"",
                    (size_t) vv->len, vv->data);

    if (extra != NULL) {
        p = ngx_cpymem(p, extra->data, extra->len);
    }

    p = ngx_cpymem(p, "}}\n", 3);
    b->last = p;

    out.buf = b;
    out.next = NULL;

    /* an error replaces whatever a handler had prepared */
    ngx_http_clear_content_length(r);
    ngx_http_clear_accept_ranges(r);
    ngx_http_clear_last_modified(r);
    ngx_http_clear_etag(r);

    return ngx_http_spectra_send_json(r, status, &out);
}


static const ngx_http_spectra_status_t *
ngx_http_spectra_status_lookup(ngx_uint_t status)
{
    const ngx_http_spectra_status_t  *s;

    for (s = ngx_http_spectra_statuses; s->code != NULL; s++) {
        if (s->status == status) {
            return s;
        }
    }

    return NULL;
}


/*
 * limit_conn and limit_req both answer 429 (limit_*_status): the former
 * says so in $limit_conn_status, read by name so that an nginx without
 * ngx_http_limit_conn_module still starts.
 */

static ngx_uint_t
ngx_http_spectra_limit_conn_rejected(ngx_http_request_t *r)
{
    ngx_str_t                   name = ngx_string("limit_conn_status");
    ngx_http_variable_value_t  *v;

    v = ngx_http_get_variable(r, &name, ngx_hash_key(name.data, name.len));

    return v != NULL && !v->not_found && v->len == 8
           && ngx_strncmp(v->data, "REJECTED", 8) == 0;
}


/*
 * Content handler of a location named by error_page without "=": nginx
 * keeps the original status in r->err_status, so the JSON body says what
 * really happened, whatever module produced it.
 */

ngx_int_t
ngx_http_spectra_error_page_handler(ngx_http_request_t *r)
{
    ngx_str_t                         message;
    ngx_uint_t                        status;
    ngx_table_elt_t                  *h;
    ngx_http_spectra_loc_conf_t      *slcf;
    const ngx_http_spectra_status_t  *s;

    status = r->err_status ? r->err_status : NGX_HTTP_NOT_FOUND;

    s = ngx_http_spectra_status_lookup(status);

    if (s == NULL) {
        s = ngx_http_spectra_status_lookup(status >= 500
                                           ? NGX_HTTP_INTERNAL_SERVER_ERROR
                                           : NGX_HTTP_BAD_REQUEST);
    }

    if (status == 429 && ngx_http_spectra_limit_conn_rejected(r)) {
        s = &ngx_http_spectra_conn_limited;
    }

    if (status == 429 || status == NGX_HTTP_SERVICE_UNAVAILABLE) {
        slcf = ngx_http_get_module_loc_conf(r, ngx_http_spectra_module);

        h = ngx_list_push(&r->headers_out.headers);
        if (h == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        h->value.data = ngx_pnalloc(r->pool, NGX_TIME_T_LEN);
        if (h->value.data == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        h->hash = 1;
        ngx_str_set(&h->key, "Retry-After");
        h->value.len = ngx_sprintf(h->value.data, "%T", slcf->retry_after)
                       - h->value.data;
    }

    message.data = (u_char *) s->message;
    message.len = ngx_strlen(s->message);

    return ngx_http_spectra_send_error(r, status, s->code, &message);
}
