/*
 * Data API calls as SigV4-signed subrequests to the internal location the
 * user configured (spectra_dataapi_location), answers kept in memory;
 * request-owned timers for polling; noticing a client that went away.
 *
 * Every wait ends in ctx->step running on the main request: from the
 * parent's write event handler after a subrequest, or from the timer.
 */


#include "ngx_http_spectra_module.h"

#include <jansson.h>


static ngx_int_t ngx_http_spectra_dataapi_done(ngx_http_request_t *sr,
    void *data, ngx_int_t rc);
static void ngx_http_spectra_resume(ngx_http_request_t *r);
static void ngx_http_spectra_timer_handler(ngx_event_t *ev);
static void ngx_http_spectra_check_client(ngx_http_request_t *r);
static ngx_int_t ngx_http_spectra_push_header(ngx_http_request_t *r,
    ngx_list_t *headers, const char *name, u_char *value, size_t len,
    ngx_table_elt_t **elt);


#define NGX_HTTP_SPECTRA_AUTH_LEN  512


/* the headers of a Data API call, in the order values[] has them */
static const char  *ngx_http_spectra_signed_headers[] = {
    "Host",
    "Content-Type",
    "X-Amz-Target",
    "X-Amz-Date",
    "Authorization",
    "X-Amz-Security-Token"
};


ngx_int_t
ngx_http_spectra_dataapi_call(ngx_http_request_t *r, const char *operation,
    ngx_str_t *body, ngx_http_spectra_step_pt step)
{
    u_char                        *date, *auth, *target;
    size_t                         len;
    ngx_str_t                      values[6];
    ngx_uint_t                     i, n;
    ngx_buf_t                     *b;
    ngx_chain_t                   *cl;
    ngx_table_elt_t               *host;
    ngx_http_request_t            *sr;
    ngx_http_spectra_ctx_t        *ctx;
    spectra_sigv4_json_t           in;
    ngx_http_request_body_t       *rb;
    ngx_http_post_subrequest_t    *psr;
    spectra_sigv4_credentials_t    cred;
    ngx_http_spectra_loc_conf_t   *slcf;

    ctx = ngx_http_spectra_get_ctx(r);
    slcf = ngx_http_get_module_loc_conf(r, ngx_http_spectra_module);

    target = ngx_pnalloc(r->pool, sizeof("RedshiftData.") - 1
                                  + ngx_strlen(operation));
    if (target == NULL) {
        return NGX_ERROR;
    }

    len = ngx_sprintf(target, "RedshiftData.%s", operation) - target;

    date = ngx_pnalloc(r->pool, SPECTRA_SIGV4_DATE_LEN);
    auth = ngx_pnalloc(r->pool, NGX_HTTP_SPECTRA_AUTH_LEN);
    if (date == NULL || auth == NULL) {
        return NGX_ERROR;
    }

    ngx_memzero(&in, sizeof(spectra_sigv4_json_t));
    in.host.data = slcf->dataapi_host.data;
    in.host.len = slcf->dataapi_host.len;
    in.target.data = target;
    in.target.len = len;
    in.body.data = body->data;
    in.body.len = body->len;
    in.now = ngx_time();

    cred.access_key.data = slcf->access_key.data;
    cred.access_key.len = slcf->access_key.len;
    cred.secret_key.data = slcf->secret_key.data;
    cred.secret_key.len = slcf->secret_key.len;
    cred.session_token.data = slcf->session_token.data;
    cred.session_token.len = slcf->session_token.len;
    cred.region.data = slcf->region.data;
    cred.region.len = slcf->region.len;
    cred.service.data = (u_char *) "redshift-data";
    cred.service.len = sizeof("redshift-data") - 1;

    if (spectra_sigv4_sign_json(&in, &cred, date, auth,
                                NGX_HTTP_SPECTRA_AUTH_LEN, &len)
        != SPECTRA_SIGV4_OK)
    {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "spectra: cannot sign the data API request");
        return NGX_ERROR;
    }

    psr = ngx_palloc(r->pool, sizeof(ngx_http_post_subrequest_t));
    if (psr == NULL) {
        return NGX_ERROR;
    }

    psr->handler = ngx_http_spectra_dataapi_done;
    psr->data = ctx;

    if (ngx_http_subrequest(r, &slcf->dataapi_uri, NULL, &sr, psr,
                            NGX_HTTP_SUBREQUEST_IN_MEMORY)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    sr->method = NGX_HTTP_POST;
    ngx_str_set(&sr->method_name, "POST");

    /*
     * While the subrequest runs, the connection's events go to it: it
     * watches the client too, or a close would go unnoticed (edge-triggered
     * events are not reported again).  The proxy module keeps this handler
     * with proxy_ignore_client_abort on.
     */

    sr->read_event_handler = ngx_http_spectra_check_client;

    /*
     * The subrequest carries only the signed headers: nothing of the
     * client's request (its credentials above all) reaches the Data API.
     */

    ngx_memzero(&sr->headers_in, sizeof(ngx_http_headers_in_t));

    if (ngx_list_init(&sr->headers_in.headers, r->pool, 8,
                      sizeof(ngx_table_elt_t))
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    sr->headers_in.content_length_n = body->len;
    sr->headers_in.keep_alive_n = -1;

    values[0] = slcf->dataapi_host;
    ngx_str_set(&values[1], SPECTRA_SIGV4_JSON_CONTENT_TYPE);
    values[2].data = target;
    values[2].len = sizeof("RedshiftData.") - 1 + ngx_strlen(operation);
    values[3].data = date;
    values[3].len = SPECTRA_SIGV4_DATE_LEN;
    values[4].data = auth;
    values[4].len = len;
    values[5] = slcf->session_token;

    n = slcf->session_token.len ? 6 : 5;

    for (i = 0; i < n; i++) {
        if (ngx_http_spectra_push_header(r, &sr->headers_in.headers,
                                         ngx_http_spectra_signed_headers[i],
                                         values[i].data, values[i].len,
                                         i == 0 ? &host : NULL)
            != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    sr->headers_in.host = host;
    sr->headers_in.server = slcf->dataapi_host;

    rb = ngx_pcalloc(r->pool, sizeof(ngx_http_request_body_t));
    if (rb == NULL) {
        return NGX_ERROR;
    }

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        return NGX_ERROR;
    }

    b->pos = body->data;
    b->last = body->data + body->len;
    b->start = b->pos;
    b->end = b->last;
    b->memory = 1;
    b->last_buf = 1;

    cl = ngx_alloc_chain_link(r->pool);
    if (cl == NULL) {
        return NGX_ERROR;
    }

    cl->buf = b;
    cl->next = NULL;

    rb->bufs = cl;
    sr->request_body = rb;

    ctx->status = 0;
    ngx_str_null(&ctx->answer);
    ctx->step = step;
    ctx->waiting = 1;

    r->write_event_handler = ngx_http_spectra_resume;

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "spectra dataapi call %s, %uz bytes", operation, body->len);

    return NGX_OK;
}


static ngx_int_t
ngx_http_spectra_push_header(ngx_http_request_t *r, ngx_list_t *headers,
    const char *name, u_char *value, size_t len, ngx_table_elt_t **elt)
{
    ngx_table_elt_t  *h;

    h = ngx_list_push(headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->key.data = (u_char *) name;
    h->key.len = ngx_strlen(name);
    h->value.data = value;
    h->value.len = len;

    h->lowcase_key = ngx_pnalloc(r->pool, h->key.len);
    if (h->lowcase_key == NULL) {
        return NGX_ERROR;
    }

    h->hash = ngx_hash_strlow(h->lowcase_key, h->key.data, h->key.len);

    if (elt != NULL) {
        *elt = h;
    }

    return NGX_OK;
}


/*
 * Post-subrequest handler: keeps the status and the body of the answer.
 * nginx may call it more than once for one subrequest; only the first
 * call with a final answer counts.
 */

static ngx_int_t
ngx_http_spectra_dataapi_done(ngx_http_request_t *sr, void *data,
    ngx_int_t rc)
{
    ngx_http_spectra_ctx_t  *ctx = data;

    ngx_buf_t  *b;

    if (rc == NGX_AGAIN || ctx->status != 0) {
        return rc;
    }

    if (rc == NGX_ERROR || rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        ctx->status = (rc == NGX_ERROR) ? NGX_HTTP_BAD_GATEWAY
                                        : (ngx_uint_t) rc;

    } else if (sr->headers_out.status) {
        ctx->status = sr->headers_out.status;

    } else {
        ctx->status = NGX_HTTP_BAD_GATEWAY;
    }

    if (sr->out != NULL && sr->out->buf != NULL) {
        b = sr->out->buf;
        ctx->answer.data = b->pos;
        ctx->answer.len = b->last - b->pos;
    }

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, sr->connection->log, 0,
                   "spectra dataapi answer %ui, %uz bytes",
                   ctx->status, ctx->answer.len);

    return rc;
}


/* The main request's write event handler while a call is pending. */

static void
ngx_http_spectra_resume(ngx_http_request_t *r)
{
    ngx_http_spectra_ctx_t    *ctx;
    ngx_http_spectra_step_pt   step;

    ctx = ngx_http_get_module_ctx(r, ngx_http_spectra_module);

    if (ctx == NULL || !ctx->waiting || ctx->status == 0
        || ctx->timer.timer_set)
    {
        return;
    }

    r->write_event_handler = ngx_http_request_empty_handler;

    ctx->waiting = 0;
    step = ctx->step;
    ctx->step = NULL;

    step(r, ctx);
}


void
ngx_http_spectra_dataapi_wait(ngx_http_request_t *r, ngx_msec_t delay,
    ngx_http_spectra_step_pt step)
{
    ngx_http_spectra_ctx_t  *ctx;

    ctx = ngx_http_spectra_get_ctx(r);

    ctx->timer.handler = ngx_http_spectra_timer_handler;
    ctx->timer.data = r;
    ctx->timer.log = r->connection->log;

    ctx->step = step;
    ctx->waiting = 1;
    ctx->status = 0;

    ngx_add_timer(&ctx->timer, delay);
}


static void
ngx_http_spectra_timer_handler(ngx_event_t *ev)
{
    ngx_connection_t          *c;
    ngx_http_request_t        *r;
    ngx_http_spectra_ctx_t    *ctx;
    ngx_http_spectra_step_pt   step;

    r = ev->data;
    c = r->connection;

    ngx_http_set_log_request(c->log, r);

    ctx = ngx_http_get_module_ctx(r, ngx_http_spectra_module);

    ngx_log_debug0(NGX_LOG_DEBUG_HTTP, c->log, 0, "spectra timer");

    ctx->waiting = 0;
    step = ctx->step;
    ctx->step = NULL;

    step(r, ctx);

    ngx_http_run_posted_requests(c);
}


/*
 * Installed as the read event handler while a query runs: a client that
 * closes its connection is noticed at once, so that the statement can be
 * cancelled instead of running for nobody.
 */

void
ngx_http_spectra_watch_client(ngx_http_request_t *r)
{
    r->read_event_handler = ngx_http_spectra_check_client;
}


static void
ngx_http_spectra_check_client(ngx_http_request_t *r)
{
    int                      n;
    char                     buf[1];
    ngx_err_t                err;
    ngx_event_t             *rev;
    ngx_connection_t        *c;
    ngx_http_spectra_ctx_t  *ctx;

    c = r->connection;
    rev = c->read;

#if (NGX_HTTP_V2)
    if (r->stream) {
        /* HTTP/2 reports a reset stream by finalizing the request */
        return;
    }
#endif

    if (c->error) {
        goto gone;
    }

    if (rev->timedout) {
        rev->timedout = 0;
        return;
    }

    n = recv(c->fd, buf, 1, MSG_PEEK);

    if (n > 0) {
        /* a pipelined request waits in the socket buffer */
        if ((ngx_event_flags & NGX_USE_LEVEL_EVENT) && rev->active) {
            ngx_del_event(rev, NGX_READ_EVENT, 0);
        }

        return;
    }

    if (n == -1) {
        err = ngx_socket_errno;

        if (err == NGX_EAGAIN) {
            return;
        }

        rev->error = 1;
    }

    rev->eof = 1;

gone:

    if ((ngx_event_flags & NGX_USE_LEVEL_EVENT) && rev->active) {
        ngx_del_event(rev, NGX_READ_EVENT, 0);
    }

    r->read_event_handler = ngx_http_block_reading;
    r->main->read_event_handler = ngx_http_block_reading;

    /* r is the main request, or a Data API subrequest of it */
    ctx = ngx_http_get_module_ctx(r->main, ngx_http_spectra_module);
    if (ctx == NULL || ctx->done) {
        return;
    }

    ngx_log_error(NGX_LOG_INFO, c->log, 0,
                  "spectra: client closed the connection while waiting "
                  "for the query");

    ctx->client_gone = 1;

    /* a pending timer is cut short; a pending call ends on its own */
    if (ctx->timer.timer_set) {
        ngx_del_timer(&ctx->timer);
        ngx_post_event(&ctx->timer, &ngx_posted_events);
    }
}


/*
 * Turns a Data API answer that is not 200 into the API error.  Returns
 * what ngx_http_spectra_fail() returned.
 */

ngx_int_t
ngx_http_spectra_dataapi_error(ngx_http_request_t *r,
    ngx_http_spectra_ctx_t *ctx)
{
    ngx_int_t      rc;
    json_t        *root, *type, *message;
    const char    *t, *m;
    json_error_t   err;

    if (ctx->status == NGX_HTTP_GATEWAY_TIME_OUT) {
        return ngx_http_spectra_fail(r, NGX_HTTP_GATEWAY_TIME_OUT,
                                     "UPSTREAM_TIMEOUT",
                                     "the data API did not answer in time");
    }

    if (ctx->status >= NGX_HTTP_INTERNAL_SERVER_ERROR
        || ctx->answer.len == 0)
    {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "spectra: data API answered %ui", ctx->status);

        return ngx_http_spectra_fail(r, NGX_HTTP_BAD_GATEWAY,
                                     "UPSTREAM_ERROR",
                                     "the data API is unreachable or failed");
    }

    root = json_loadb((const char *) ctx->answer.data, ctx->answer.len, 0,
                      &err);

    type = json_object_get(root, "__type");
    message = json_object_get(root, "message");
    if (message == NULL) {
        message = json_object_get(root, "Message");
    }

    t = json_is_string(type) ? json_string_value(type) : "unknown";
    m = json_is_string(message) ? json_string_value(message) : "";

    /* "com.amazon...#ValidationException" -> "ValidationException" */
    if (ngx_strchr(t, '#') != NULL) {
        t = (const char *) ngx_strchr(t, '#') + 1;
    }

    ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                  "spectra: data API answered %ui %s: %s",
                  ctx->status, t, m);

    if (ngx_strcmp(t, "ActiveStatementsExceededException") == 0
        || ngx_strcmp(t, "ThrottlingException") == 0)
    {
        rc = ngx_http_spectra_fail(r, 429, "RATE_LIMITED",
                                   "the warehouse is busy, retry later");

    } else if (ngx_strcmp(t, "ResourceNotFoundException") == 0) {
        rc = ngx_http_spectra_fail(r, NGX_HTTP_NOT_FOUND, "NOT_FOUND",
                                   "the statement's results are no longer "
                                   "available");

    } else if (ctx->status == NGX_HTTP_FORBIDDEN) {
        rc = ngx_http_spectra_fail(r, NGX_HTTP_BAD_GATEWAY, "UPSTREAM_ERROR",
                                   "the data API refused the credentials");

    } else {
        rc = ngx_http_spectra_fail(r, NGX_HTTP_BAD_GATEWAY, "UPSTREAM_ERROR",
                                   "the data API rejected the request: %s",
                                   t);
    }

    json_decref(root);

    return rc;
}
