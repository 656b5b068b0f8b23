/*
 * Data API calls as SigV4-signed subrequests to the internal location the
 * user configured (spectra_dataapi_location), answers kept in memory;
 * noticing a client that went away.
 *
 * Every call ends in ngx_http_spectra_stmt_resume() on the main request:
 * from the parent's write event handler once the subrequest is done.
 */


#include "ngx_http_spectra_common.h"
#include "ngx_http_spectra_dataapi.h"
#include "ngx_http_spectra_statement.h"
#include "ngx_http_spectra_api.h"
#include "ngx_http_spectra_awscreds.h"


static ngx_int_t ngx_http_spectra_dataapi_subrequest(
    ngx_http_spectra_stmt_t *st, const char *operation, ngx_str_t *body,
    ngx_uint_t side);
static ngx_int_t ngx_http_spectra_dataapi_done(ngx_http_request_t *sr,
    void *data, ngx_int_t rc);
static ngx_int_t ngx_http_spectra_dataapi_side_done(ngx_http_request_t *sr,
    void *data, ngx_int_t rc);
static void ngx_http_spectra_dataapi_timed(ngx_http_request_t *sr);
static void ngx_http_spectra_dataapi_resume(ngx_http_request_t *r);
static void ngx_http_spectra_dataapi_check_client(ngx_http_request_t *r);
static ngx_int_t ngx_http_spectra_push_header(ngx_http_request_t *r,
    ngx_list_t *headers, const char *name, u_char *value, size_t len,
    ngx_table_elt_t **elt);


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
ngx_http_spectra_dataapi_sign(ngx_pool_t *pool, ngx_log_t *log,
    ngx_http_spectra_loc_conf_t *conf, const char *operation,
    ngx_str_t *body, ngx_http_spectra_signed_t *out)
{
    size_t                        len;
    time_t                        expires;
    ngx_int_t                     rc;
    spectra_sigv4_json_t          in;
    spectra_sigv4_credentials_t   cred;

    out->target.len = sizeof("RedshiftData.") - 1 + ngx_strlen(operation);
    out->target.data = ngx_pnalloc(pool, out->target.len);
    out->date.data = ngx_pnalloc(pool, SPECTRA_SIGV4_DATE_LEN);
    out->authorization.data = ngx_pnalloc(pool, NGX_HTTP_SPECTRA_AUTH_LEN);

    if (out->target.data == NULL || out->date.data == NULL
        || out->authorization.data == NULL)
    {
        return NGX_ERROR;
    }

    ngx_sprintf(out->target.data, "RedshiftData.%s", operation);
    out->date.len = SPECTRA_SIGV4_DATE_LEN;

    ngx_memzero(&in, sizeof(spectra_sigv4_json_t));
    in.host.data = conf->dataapi_host.data;
    in.host.len = conf->dataapi_host.len;
    in.target.data = out->target.data;
    in.target.len = out->target.len;
    in.body.data = body->data;
    in.body.len = body->len;
    in.now = ngx_time();

    rc = ngx_http_spectra_awscreds_get(conf, pool, &cred, &expires);

    if (rc != NGX_OK) {
        if (rc == NGX_DECLINED) {
            ngx_log_error(NGX_LOG_ERR, log, 0,
                          "spectra: no valid AWS credentials to sign a "
                          "Data API call with");
        }

        return NGX_ERROR;
    }

    out->token.data = cred.session_token.data;
    out->token.len = cred.session_token.len;
    cred.region.data = conf->region.data;
    cred.region.len = conf->region.len;
    cred.service.data = (u_char *) "redshift-data";
    cred.service.len = sizeof("redshift-data") - 1;

    if (spectra_sigv4_sign_json(&in, &cred, out->date.data,
                                out->authorization.data,
                                NGX_HTTP_SPECTRA_AUTH_LEN, &len)
        != SPECTRA_SIGV4_OK)
    {
        ngx_log_error(NGX_LOG_ERR, log, 0,
                      "spectra: cannot sign the data API request");
        return NGX_ERROR;
    }

    out->authorization.len = len;

    return NGX_OK;
}


ngx_int_t
ngx_http_spectra_dataapi_call(ngx_http_spectra_stmt_t *st,
    const char *operation, ngx_str_t *body)
{
    return ngx_http_spectra_dataapi_subrequest(st, operation, body, 0);
}


ngx_int_t
ngx_http_spectra_dataapi_side_call(ngx_http_spectra_stmt_t *st,
    const char *operation, ngx_str_t *body)
{
    return ngx_http_spectra_dataapi_subrequest(st, operation, body, 1);
}


static ngx_int_t
ngx_http_spectra_dataapi_subrequest(ngx_http_spectra_stmt_t *st,
    const char *operation, ngx_str_t *body, ngx_uint_t side)
{
    ngx_str_t                      values[6];
    ngx_uint_t                     i, n, flags;
    ngx_buf_t                     *b;
    ngx_chain_t                   *cl;
    ngx_table_elt_t               *host;
    ngx_http_request_t            *r, *sr;
    ngx_http_request_body_t       *rb;
    ngx_http_spectra_signed_t      sig;
    ngx_http_post_subrequest_t    *psr;
    ngx_http_spectra_loc_conf_t   *conf;

    r = st->request;
    conf = st->conf;

    if (ngx_http_spectra_dataapi_sign(r->pool, r->connection->log, conf,
                                      operation, body, &sig)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    psr = ngx_palloc(r->pool, sizeof(ngx_http_post_subrequest_t));
    if (psr == NULL) {
        return NGX_ERROR;
    }

    psr->handler = side ? ngx_http_spectra_dataapi_side_done
                        : ngx_http_spectra_dataapi_done;
    psr->data = st;

    /* a call beside the one out must not wait for it, nor it for us */
    flags = NGX_HTTP_SUBREQUEST_IN_MEMORY;

    if (side) {
        flags |= NGX_HTTP_SUBREQUEST_BACKGROUND;
    }

    if (ngx_http_subrequest(r, &conf->dataapi_uri, NULL, &sr, psr, flags)
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

    sr->read_event_handler = ngx_http_spectra_dataapi_check_client;

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

    values[0] = conf->dataapi_host;
    ngx_str_set(&values[1], SPECTRA_SIGV4_JSON_CONTENT_TYPE);
    values[2] = sig.target;
    values[3] = sig.date;
    values[4] = sig.authorization;
    values[5] = sig.token;

    n = sig.token.len ? 6 : 5;

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
    sr->headers_in.server = conf->dataapi_host;

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

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "spectra dataapi call %s%s, %uz bytes",
                   side ? "side call " : "", operation, body->len);

    if (side) {
        return NGX_OK;
    }

    st->status = 0;
    st->answer_too_big = 0;
    ngx_str_null(&st->answer);
    st->answer_start = NULL;

    r->write_event_handler = ngx_http_spectra_dataapi_resume;

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
 * nginx may call it more than once for one subrequest; the first call
 * with a final answer counts.  It returns NGX_OK whatever happened: an
 * error here is an answer for the statement engine, never a reason for
 * nginx to tear down the client's request (an answer too big for
 * subrequest_output_buffer_size would otherwise end it without a byte).
 */

static ngx_int_t
ngx_http_spectra_dataapi_done(ngx_http_request_t *sr, void *data,
    ngx_int_t rc)
{
    ngx_http_spectra_stmt_t *st = data;

    ngx_buf_t                 *b;
    ngx_http_core_loc_conf_t  *clcf;

    if (rc == NGX_AGAIN || st->status != 0) {
        return (rc == NGX_AGAIN) ? rc : NGX_OK;
    }

    if (rc == NGX_ERROR || rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        st->status = (rc == NGX_ERROR) ? NGX_HTTP_BAD_GATEWAY
                                       : (ngx_uint_t) rc;

        clcf = ngx_http_get_module_loc_conf(sr, ngx_http_core_module);

        if (rc == NGX_ERROR
            && (sr->headers_out.content_length_n
                > (off_t) clcf->subrequest_output_buffer_size
                || (sr->out != NULL && sr->out->buf->last
                                       == sr->out->buf->end)))
        {
            /*
             * The postpone filter refused an answer too big for
             * subrequest_output_buffer_size, and ngx_http_output_filter()
             * then marked the connection as failed: the client's
             * connection is fine, and gets a JSON 502 saying why.
             */
            st->answer_too_big = 1;
            sr->connection->error = 0;
        }

    } else if (sr->headers_out.status) {
        st->status = sr->headers_out.status;

    } else {
        st->status = NGX_HTTP_BAD_GATEWAY;
    }

    if (sr->out != NULL && sr->out->buf != NULL && !st->answer_too_big) {
        b = sr->out->buf;
        st->answer.data = b->pos;
        st->answer.len = b->last - b->pos;
        st->answer_start = b->start;
    }

    ngx_http_spectra_dataapi_timed(sr);

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, sr->connection->log, 0,
                   "spectra dataapi answer %ui, %uz bytes",
                   st->status, st->answer.len);

    return NGX_OK;
}


/* $spectra_dataapi_time: the call's time added to its request's. */

static void
ngx_http_spectra_dataapi_timed(ngx_http_request_t *sr)
{
    ngx_time_t              *tp;
    ngx_msec_int_t           ms;
    ngx_http_spectra_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(sr->main, ngx_http_spectra_module);
    if (ctx == NULL) {
        return;
    }

    tp = ngx_timeofday();

    ms = (ngx_msec_int_t) ((tp->sec - sr->start_sec) * 1000
                           + (tp->msec - sr->start_msec));

    ctx->dataapi_ms += (ngx_msec_t) ngx_max(ms, 0);
}


static ngx_int_t
ngx_http_spectra_dataapi_side_done(ngx_http_request_t *sr, void *data,
    ngx_int_t rc)
{
    ngx_http_spectra_stmt_t *st = data;

    ngx_uint_t  status;

    if (rc == NGX_AGAIN) {
        return rc;
    }

    status = (rc == NGX_ERROR || rc >= NGX_HTTP_SPECIAL_RESPONSE)
             ? (rc == NGX_ERROR ? NGX_HTTP_BAD_GATEWAY : (ngx_uint_t) rc)
             : sr->headers_out.status;

    if (status != NGX_HTTP_OK) {
        /* it may have finished meanwhile: the main call says how */
        ngx_log_error(NGX_LOG_INFO, sr->connection->log, 0,
                      "spectra: cancel of job %s beside the wait: data API "
                      "answered %ui", st->job.id, status);
    }

    return NGX_OK;
}


void
ngx_http_spectra_dataapi_free_answer(ngx_http_spectra_stmt_t *st)
{
    if (st->answer_start != NULL && st->request != NULL) {
        (void) ngx_pfree(st->request->pool, st->answer_start);
    }

    st->answer_start = NULL;
    ngx_str_null(&st->answer);
}


/* The main request's write event handler while a call is out. */

static void
ngx_http_spectra_dataapi_resume(ngx_http_request_t *r)
{
    ngx_http_spectra_ctx_t   *ctx;
    ngx_http_spectra_stmt_t  *st;

    ctx = ngx_http_get_module_ctx(r, ngx_http_spectra_module);

    if (ctx == NULL || ctx->stmt == NULL) {
        return;
    }

    st = ctx->stmt;

    if (!st->waiting || st->status == 0 || st->timer.timer_set) {
        return;
    }

    r->write_event_handler = ngx_http_request_empty_handler;

    ngx_http_spectra_stmt_resume(st);
}


/*
 * Installed as the read event handler while a request waits: a client
 * that closes its connection is noticed at once, so that the statement
 * can be cancelled instead of running for nobody.
 */

void
ngx_http_spectra_dataapi_watch_client(ngx_http_request_t *r)
{
    r->read_event_handler = ngx_http_spectra_dataapi_check_client;
}


static void
ngx_http_spectra_dataapi_check_client(ngx_http_request_t *r)
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
    if (ctx == NULL || ctx->done || ctx->stmt == NULL) {
        return;
    }

    ngx_log_error(NGX_LOG_INFO, c->log, 0,
                  "spectra: client closed the connection while waiting "
                  "for the query");

    ngx_http_spectra_stmt_client_gone(ctx->stmt);
}
