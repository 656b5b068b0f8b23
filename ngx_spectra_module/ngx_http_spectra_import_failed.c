/*
 * GET /v1/imports/{id}/failed (ngx_http_spectra_import.h): every record
 * an ended load rejected, as CSV, read page by page from the load
 * errors view as the tenant, through the Data API.
 */


#include "ngx_http_spectra_common.h"
#include "ngx_http_spectra_import.h"
#include "ngx_http_spectra_api.h"
#include "ngx_http_spectra_dataapi.h"
#include "ngx_http_spectra_statement.h"


/* pages of load errors at most: 10,000 of the Data API's */
#define NGX_HTTP_SPECTRA_IMPORT_FAILED_PAGES  10000


static void ngx_http_spectra_import_failed_found(void *data, ngx_int_t rc);
static void ngx_http_spectra_import_failed_page(ngx_http_spectra_stmt_t *st);
static void ngx_http_spectra_import_failed_send(ngx_http_request_t *r,
    ngx_http_spectra_import_ctx_t *ic);


ngx_int_t
ngx_http_spectra_import_failed(ngx_http_request_t *r,
    ngx_http_spectra_tenant_t *tenant, ngx_str_t *id)
{
    ngx_http_spectra_job_call_t    *call;
    ngx_http_spectra_import_ctx_t  *ic;

    ngx_http_discard_request_body(r);

    if (!spectra_job_id_valid(id->data, id->len)) {
        return ngx_http_spectra_fail(r, NGX_HTTP_NOT_FOUND, "NOT_FOUND",
                                     "no such import");
    }

    ic = ngx_http_spectra_import_ctx(r, tenant, id,
                                     NGX_HTTP_SPECTRA_IMPORT_FAILED);
    if (ic == NULL
        || ngx_http_spectra_import_job_call(ic,
                                        ngx_http_spectra_import_failed_found,
                                        &call)
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    (void) ngx_http_spectra_api_async(r);

    ngx_http_spectra_job_get(call, tenant, id, &ic->job);

    return NGX_DONE;
}


static void
ngx_http_spectra_import_failed_found(void *data, ngx_int_t rc)
{
    ngx_http_spectra_import_ctx_t *ic = data;

    ngx_buf_t               *b;
    spectra_pool_t           pool;
    ngx_http_request_t      *r;
    ngx_http_spectra_ctx_t  *ctx;

    r = ic->request;
    pool = ngx_http_spectra_pool(r->pool);

    if (rc == NGX_OK && ic->job.type != SPECTRA_JOB_IMPORT) {
        rc = NGX_DECLINED;
    }

    if (rc == NGX_DECLINED) {
        ngx_http_spectra_finish(r,
            ngx_http_spectra_fail(r, NGX_HTTP_NOT_FOUND, "NOT_FOUND",
                                  "no such import"));
        return;
    }

    if (rc != NGX_OK) {
        ngx_http_spectra_finish(r, ngx_http_spectra_job_fail(r, rc));
        return;
    }

    ctx = ngx_http_get_module_ctx(r, ngx_http_spectra_module);
    ngx_memcpy(ctx->job_id, ic->job.id, SPECTRA_JOB_ID_LEN + 1);

    if ((ic->job.status != SPECTRA_JOB_COMPLETED
         && ic->job.status != SPECTRA_JOB_FAILED)
        || ic->job.statement_id.len == 0)
    {
        ngx_http_spectra_finish(r,
            ngx_http_spectra_fail(r, NGX_HTTP_CONFLICT, "CONFLICT",
                                  "the import is %s: its failed records "
                                  "are known once its load has ended",
                                  spectra_job_import_state(&ic->job)));
        return;
    }

    if (spectra_import_result_read(ic->job.result.data, ic->job.result.len,
                                   &pool, &ic->res, &ic->err)
        != SPECTRA_IMPORT_OK)
    {
        ngx_http_spectra_finish(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    b = ngx_create_temp_buf(r->pool, spectra_import_csv_header(NULL));
    ic->out = ngx_alloc_chain_link(r->pool);

    if (b == NULL || ic->out == NULL) {
        ngx_http_spectra_finish(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    b->last += spectra_import_csv_header(b->last);
    ic->out->buf = b;
    ic->out->next = NULL;
    ic->last = &ic->out->next;

    if (ngx_http_spectra_import_errors(ic,
                                       ngx_http_spectra_import_failed_page)
        != NGX_OK)
    {
        ngx_http_spectra_finish(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
    }
}


static void
ngx_http_spectra_import_failed_page(ngx_http_spectra_stmt_t *st)
{
    size_t                          n;
    int64_t                         total;
    ngx_buf_t                      *b;
    ngx_chain_t                    *cl;
    spectra_err_t                   err;
    spectra_str_t                   token;
    spectra_pool_t                  pool;
    ngx_http_request_t             *r;
    spectra_import_error_t         *errors;
    ngx_http_spectra_import_ctx_t  *ic;

    r = st->request;
    ic = st->data;
    pool = ngx_http_spectra_pool(r->pool);

    ngx_str_null(&token);

    if (st->end == NGX_HTTP_SPECTRA_END_ROWS) {
        if (spectra_import_errors_page(st->answer.data, st->answer.len,
                                       &pool, &errors, &n, &total, &token,
                                       &err)
            != SPECTRA_IMPORT_OK)
        {
            ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                          "spectra: the load errors of import %s: %s",
                          ic->job.id, err.message);
            ngx_http_spectra_finish(r,
                ngx_http_spectra_fail(r, NGX_HTTP_BAD_GATEWAY,
                                      "UPSTREAM_ERROR",
                                      "the load errors could not be read"));
            return;
        }

        if (n) {
            b = ngx_create_temp_buf(r->pool,
                                    spectra_import_csv_len(errors, n));
            cl = ngx_alloc_chain_link(r->pool);

            if (b == NULL || cl == NULL) {
                ngx_http_spectra_finish(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
                return;
            }

            b->last = spectra_import_csv(b->last, errors, n);
            cl->buf = b;
            cl->next = NULL;
            *ic->last = cl;
            ic->last = &cl->next;
        }

        ngx_http_spectra_dataapi_free_answer(st);

        if (token.data != NULL
            && ++ic->pages < NGX_HTTP_SPECTRA_IMPORT_FAILED_PAGES)
        {
            st->next_token = *ngx_http_spectra_ngx_str(&token);
            ngx_http_spectra_stmt_fetch(st,
                                        ngx_http_spectra_import_failed_page);
            return;
        }

    } else if (st->end != NGX_HTTP_SPECTRA_END_COMPLETED) {
        ngx_http_spectra_finish(r,
            ngx_http_spectra_fail(r, NGX_HTTP_BAD_GATEWAY, "UPSTREAM_ERROR",
                                  "the load errors could not be read"));
        return;
    }

    ngx_http_spectra_import_failed_send(r, ic);
}


/* The whole file, then. */

static void
ngx_http_spectra_import_failed_send(ngx_http_request_t *r,
    ngx_http_spectra_import_ctx_t *ic)
{
    ngx_int_t         rc;
    ngx_chain_t      *cl;
    ngx_table_elt_t  *h;

    for (cl = ic->out; cl->next != NULL; cl = cl->next) { /* void */ }

    cl->buf->last_buf = 1;
    cl->buf->last_in_chain = 1;

    r->headers_out.status = NGX_HTTP_OK;
    r->headers_out.content_length_n = 0;

    for (cl = ic->out; cl != NULL; cl = cl->next) {
        r->headers_out.content_length_n += cl->buf->last - cl->buf->pos;
    }

    ngx_str_set(&r->headers_out.content_type, "text/csv; charset=utf-8");
    r->headers_out.content_type_len = sizeof("text/csv") - 1;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        ngx_http_spectra_finish(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "Content-Disposition");
    h->value.len = sizeof("attachment; filename=\"-failed.csv\"") - 1
                   + SPECTRA_JOB_ID_LEN;
    h->value.data = ngx_pnalloc(r->pool, h->value.len);
    if (h->value.data == NULL) {
        ngx_http_spectra_finish(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    (void) ngx_sprintf(h->value.data, "attachment; filename=\"%s-failed.csv\"",
                       ic->job.id);

    if (ngx_http_spectra_set_request_id(r) != NGX_OK) {
        ngx_http_spectra_finish(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        ngx_http_spectra_finish(r, rc);
        return;
    }

    ngx_http_spectra_finish(r, ngx_http_output_filter(r, ic->out));
}
