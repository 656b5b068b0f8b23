/*
 * Rows of a finished statement: GetStatementResult page by page, each
 * page encoded into its own buffer as it arrives (spectra_result), up to
 * the row limit; then the query response around them.
 */


#include "ngx_http_spectra_module.h"


#define NGX_HTTP_SPECTRA_ROWS_BUF  16384


static void *ngx_http_spectra_rows_alloc(void *pool, size_t size);
static int ngx_http_spectra_rows_grow(spectra_result_out_t *out,
    size_t need);
static ngx_int_t ngx_http_spectra_rows_write(ngx_http_spectra_ctx_t *ctx,
    u_char *p, size_t len);
static void ngx_http_spectra_rows_fetch(ngx_http_request_t *r,
    ngx_http_spectra_ctx_t *ctx);
static void ngx_http_spectra_rows_page(ngx_http_request_t *r,
    ngx_http_spectra_ctx_t *ctx);
static ngx_int_t ngx_http_spectra_rows_reply(ngx_http_request_t *r,
    ngx_http_spectra_ctx_t *ctx);


static void *
ngx_http_spectra_rows_alloc(void *pool, size_t size)
{
    return ngx_palloc(pool, size);
}


/* The encoder's sink: a chain of buffers from the request pool. */

static int
ngx_http_spectra_rows_grow(spectra_result_out_t *out, size_t need)
{
    ngx_http_spectra_ctx_t *ctx = out->data;

    ngx_buf_t    *b;
    ngx_chain_t  *cl;

    if (ctx->out_buf != NULL) {
        ctx->out_buf->last = out->pos;
    }

    b = ngx_create_temp_buf(ctx->request->pool,
                            ngx_max(need, NGX_HTTP_SPECTRA_ROWS_BUF));
    if (b == NULL) {
        return -1;
    }

    cl = ngx_alloc_chain_link(ctx->request->pool);
    if (cl == NULL) {
        return -1;
    }

    cl->buf = b;
    cl->next = NULL;
    *ctx->last_out = cl;
    ctx->last_out = &cl->next;
    ctx->out_buf = b;

    out->pos = b->last;
    out->end = b->end;

    return 0;
}


static ngx_int_t
ngx_http_spectra_rows_write(ngx_http_spectra_ctx_t *ctx, u_char *p,
    size_t len)
{
    spectra_result_out_t  *out = &ctx->sink;

    if ((size_t) (out->end - out->pos) < len
        && ngx_http_spectra_rows_grow(out, len) != 0)
    {
        return NGX_ERROR;
    }

    out->pos = ngx_cpymem(out->pos, p, len);

    return NGX_OK;
}


/* Starts fetching the rows of ctx->statement_id into the response. */

void
ngx_http_spectra_rows_start(ngx_http_request_t *r,
    ngx_http_spectra_ctx_t *ctx)
{
    u_char                        head[128];
    unsigned                      flags;
    ngx_http_spectra_loc_conf_t  *slcf;

    slcf = ngx_http_get_module_loc_conf(r, ngx_http_spectra_module);

    flags = slcf->numeric_as_number ? SPECTRA_RESULT_NUMERIC_AS_NUMBER : 0;

    spectra_result_init(&ctx->result, ctx->query.format,
                        ctx->query.row_limit, flags,
                        ngx_http_spectra_rows_alloc, r->pool);

    ctx->out = NULL;
    ctx->last_out = &ctx->out;
    ctx->out_buf = NULL;
    ctx->sink.pos = NULL;
    ctx->sink.end = NULL;
    ctx->sink.grow = ngx_http_spectra_rows_grow;
    ctx->sink.data = ctx;
    ngx_str_null(&ctx->next_token);

    if (ngx_http_spectra_rows_write(ctx, head,
            ngx_sprintf(head, "{\"job_id\":\"%s\",\"status\":\"COMPLETED\","
                              "\"data\":[", ctx->job.id) - head)
        != NGX_OK)
    {
        ngx_http_spectra_finish(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    if (!ctx->has_result) {
        ngx_http_spectra_finish(r, ngx_http_spectra_rows_reply(r, ctx));
        return;
    }

    ngx_http_spectra_rows_fetch(r, ctx);
}


static void
ngx_http_spectra_rows_fetch(ngx_http_request_t *r,
    ngx_http_spectra_ctx_t *ctx)
{
    ngx_str_t  body;

    if (ngx_http_spectra_statement_body(r, ctx, &ctx->next_token, 0,
                                        &body)
        != NGX_OK
        || ngx_http_spectra_dataapi_call(r, "GetStatementResult", &body,
                                         ngx_http_spectra_rows_page)
           != NGX_OK)
    {
        ngx_http_spectra_finish(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
    }
}


static void
ngx_http_spectra_rows_page(ngx_http_request_t *r,
    ngx_http_spectra_ctx_t *ctx)
{
    int                    rc;
    spectra_result_err_t   err;
    spectra_result_page_t  page;

    if (ctx->speculative) {
        ctx->speculative = 0;

        if (ctx->status == NGX_HTTP_BAD_REQUEST
            && ngx_strlcasestrn(ctx->answer.data,
                                ctx->answer.data + ctx->answer.len,
                                (u_char *) "ResourceNotFoundException",
                                sizeof("ResourceNotFoundException") - 2)
               != NULL)
        {
            /* no rows yet: ask how the statement is, as usual */
            ngx_http_spectra_query_poll(r, ctx);
            return;
        }

        if (ctx->status == NGX_HTTP_OK) {
            /* it has finished: its session is free again */
            ngx_http_spectra_session_release(r, ctx, 0);
        }
    }

    if (ctx->status != NGX_HTTP_OK) {
        ngx_http_spectra_finish(r, ngx_http_spectra_dataapi_error(r, ctx));
        return;
    }

    if (ctx->client_gone) {
        ngx_http_spectra_finish(r, NGX_HTTP_CLIENT_CLOSED_REQUEST);
        return;
    }

    rc = spectra_result_page(&ctx->result, ctx->answer.data, ctx->answer.len,
                             &ctx->sink, &page, &err);

    if (rc == SPECTRA_RESULT_NOMEM) {
        ngx_http_spectra_finish(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    if (rc != SPECTRA_RESULT_OK) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "spectra: malformed result page of job %s: %s "
                      "at %uz", ctx->job.id, err.message, err.position);

        ngx_http_spectra_finish(r,
            ngx_http_spectra_fail(r, NGX_HTTP_BAD_GATEWAY, "UPSTREAM_ERROR",
                                  "the data API sent a malformed result"));
        return;
    }

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "spectra rows page: %uz records, %uL rows, more:%d",
                   page.records, ctx->result.rows, (int) page.more);

    if (page.more && !ctx->result.truncated) {
        ctx->next_token.data = page.next_token;
        ctx->next_token.len = page.next_token_len;

        ngx_http_spectra_rows_fetch(r, ctx);
        return;
    }

    ngx_http_spectra_finish(r, ngx_http_spectra_rows_reply(r, ctx));
}


static ngx_int_t
ngx_http_spectra_rows_reply(ngx_http_request_t *r,
    ngx_http_spectra_ctx_t *ctx)
{
    u_char      *p;
    u_char       tail[256];
    ngx_msec_t   ms;

    if (ngx_http_spectra_rows_write(ctx, (u_char *) "],\"metadata\":"
                                    "{\"columns\":",
                                    sizeof("],\"metadata\":{\"columns\":")
                                    - 1)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ctx->result.has_columns) {
        if (spectra_result_columns(&ctx->result, &ctx->sink)
            != SPECTRA_RESULT_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

    } else if (ngx_http_spectra_rows_write(ctx, (u_char *) "[]", 2)
               != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ms = ctx->duration ? ctx->duration : ngx_current_msec - ctx->started;

    p = ngx_sprintf(tail, ",\"row_count\":%uL,\"truncated\":%s,"
                          "\"execution_time_ms\":%M,\"message\":",
                    ctx->result.rows,
                    ctx->result.truncated ? "true" : "false", ms);

    if (ctx->result.truncated) {
        p = ngx_sprintf(p, "\"the result has more than %uL rows; the first "
                           "%uL are returned: use POST /v1/bulk to export "
                           "all of them\"}}\n",
                        ctx->result.rows, ctx->result.rows);

    } else {
        p = ngx_cpymem(p, "null}}\n", sizeof("null}}\n") - 1);
    }

    if (ngx_http_spectra_rows_write(ctx, tail, p - tail) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->out_buf->last = ctx->sink.pos;

    ngx_http_spectra_job_completed(r, ctx, ctx->result.rows);

    return ngx_http_spectra_send_json(r, NGX_HTTP_OK, ctx->out);
}
