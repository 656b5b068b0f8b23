/*
 * The DynamoDB job store's calls (ngx_http_spectra_jobs_dynamodb.h): the
 * core's requests, signed and sent through libcurl in the event loop.
 */


#include "ngx_http_spectra_common.h"
#include "ngx_http_spectra_awscreds.h"
#include "ngx_http_spectra_jobs_dynamodb.h"
#include "ngx_http_spectra_curl.h"
#include "ngx_http_spectra_dataapi.h"
#include "ngx_http_spectra_metrics.h"


struct ngx_http_spectra_ddb_s {
    ngx_http_spectra_job_call_t     call;
    ngx_http_spectra_ddb_done_pt    done;
    void                           *arg;
    ngx_uint_t                      metric;
    uint64_t                        start;
    spectra_ddb_op_t               *op;
    spectra_pool_t                  pool;
    spectra_ddb_req_t               req;
    spectra_err_t                   err;
    ngx_http_spectra_curl_call_t    curl;

    /* an update nobody waits for: its own pool, in order per job */
    ngx_queue_t                     queue;
    ngx_http_spectra_ddb_t         *next;       /* the job's next update */
    u_char                          id[SPECTRA_JOB_ID_LEN + 1];
    unsigned                        posted:1;
    unsigned                        sent:1;     /* answers come later */
};


static void ngx_http_spectra_ddb_send(ngx_http_spectra_ddb_t *d);
static void ngx_http_spectra_ddb_answer(void *data, ngx_uint_t status,
    ngx_str_t *body);
static void ngx_http_spectra_ddb_end(ngx_http_spectra_ddb_t *d, int rc);
static void ngx_http_spectra_ddb_later(ngx_http_spectra_ddb_t *d, int rc);
static void ngx_http_spectra_ddb_fail(ngx_http_spectra_ddb_t *d, int rc);
static void ngx_http_spectra_ddb_posted_done(
    ngx_http_spectra_job_call_t *call, void *arg, int rc,
    spectra_err_t *err);
static void ngx_http_spectra_ddb_nothing(void *data, ngx_int_t rc);


/* the updates out in this worker, for their order */
static ngx_queue_t  ngx_http_spectra_ddb_posted;
static ngx_uint_t   ngx_http_spectra_ddb_posted_init;


/*
 * After the configuration is read: the table (required), the endpoint
 * (default: the region's), the Host signed, the retention as a TTL.
 */

char *
ngx_http_spectra_ddb_conf(ngx_conf_t *cf, ngx_http_spectra_main_conf_t *smcf)
{
    u_char                       *p, *last;
    ngx_http_spectra_ddb_conf_t  *dc;
    ngx_http_spectra_loc_conf_t  *bg;

    if (smcf->jobs_store != NGX_HTTP_SPECTRA_STORE_DYNAMODB) {
        return NGX_CONF_OK;
    }

    bg = smcf->background;

    dc = ngx_pcalloc(cf->pool, sizeof(ngx_http_spectra_ddb_conf_t));
    if (dc == NULL) {
        return NGX_CONF_ERROR;
    }

    if (smcf->ddb_table.len < 3 || smcf->ddb_table.len > 255) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"spectra_jobs_store dynamodb\" needs "
                           "\"spectra_jobs_dynamodb_table\" (3 to 255 "
                           "characters)");
        return NGX_CONF_ERROR;
    }

    for (p = smcf->ddb_table.data;
         p < smcf->ddb_table.data + smcf->ddb_table.len; p++)
    {
        if (!(isalnum(*p) || *p == '_' || *p == '-' || *p == '.')) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid DynamoDB table name \"%V\"",
                               &smcf->ddb_table);
            return NGX_CONF_ERROR;
        }
    }

    dc->table = smcf->ddb_table;
    dc->timeout = smcf->ddb_timeout;

    if (smcf->ddb_endpoint.len == 0) {
        dc->endpoint.len = sizeof("https://dynamodb..amazonaws.com/") - 1
                           + bg->region.len;
        dc->endpoint.data = ngx_pnalloc(cf->pool, dc->endpoint.len);
        if (dc->endpoint.data == NULL) {
            return NGX_CONF_ERROR;
        }

        ngx_sprintf(dc->endpoint.data, "https://dynamodb.%V.amazonaws.com/",
                    &bg->region);

    } else {
        dc->endpoint = smcf->ddb_endpoint;
    }

    /* the Host signed: what libcurl sends, "host[:port]" */

    p = dc->endpoint.data;
    last = p + dc->endpoint.len;

    if (dc->endpoint.len > 7 && ngx_strncmp(p, "http://", 7) == 0) {
        p += 7;

    } else if (dc->endpoint.len > 8 && ngx_strncmp(p, "https://", 8) == 0) {
        p += 8;

    } else {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"spectra_jobs_dynamodb_endpoint\" must be an "
                           "http:// or https:// URL");
        return NGX_CONF_ERROR;
    }

    dc->host.data = p;

    while (p < last && *p != '/' && *p != '?') {
        p++;
    }

    dc->host.len = p - dc->host.data;

    if (dc->host.len == 0 || (p < last && *p == '?')
        || (p < last && p + 1 != last))
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"spectra_jobs_dynamodb_endpoint\" must be a "
                           "scheme and host[:port], with no path");
        return NGX_CONF_ERROR;
    }

    dc->conf.table.data = dc->table.data;
    dc->conf.table.len = dc->table.len;
    dc->conf.retention_ms = (int64_t) smcf->jobs_retention * 1000;

    smcf->ddb = dc;

    return NGX_CONF_OK;
}


ngx_http_spectra_ddb_t *
ngx_http_spectra_ddb_new(ngx_http_spectra_job_call_t *call,
    ngx_http_spectra_ddb_done_pt done, void *arg, ngx_uint_t metric)
{
    ngx_http_spectra_ddb_t  *d;

    d = ngx_pcalloc(call->pool, sizeof(ngx_http_spectra_ddb_t));
    if (d == NULL) {
        return NULL;
    }

    d->call = *call;
    d->done = done;
    d->arg = arg;
    d->metric = metric;
    d->start = ngx_http_spectra_metrics_clock();
    d->pool = ngx_http_spectra_pool(call->pool);

    return d;
}


spectra_ddb_op_t **
ngx_http_spectra_ddb_op(ngx_http_spectra_ddb_t *d)
{
    return &d->op;
}


spectra_pool_t *
ngx_http_spectra_ddb_pool(ngx_http_spectra_ddb_t *d)
{
    return &d->pool;
}


spectra_ddb_req_t *
ngx_http_spectra_ddb_req(ngx_http_spectra_ddb_t *d)
{
    return &d->req;
}


spectra_err_t *
ngx_http_spectra_ddb_err(ngx_http_spectra_ddb_t *d)
{
    return &d->err;
}


void
ngx_http_spectra_ddb_run(ngx_http_spectra_ddb_t *d, int rc)
{
    if (rc != SPECTRA_DDB_AGAIN) {
        ngx_http_spectra_ddb_end(d, rc);
        return;
    }

    ngx_http_spectra_ddb_send(d);
}


/* One request: signed as the Data API's are, with its own target. */

static void
ngx_http_spectra_ddb_send(ngx_http_spectra_ddb_t *d)
{
    u_char                        *p;
    size_t                         len;
    spectra_sigv4_json_t           in;
    ngx_http_spectra_curl_call_t  *c;
    ngx_http_spectra_ddb_conf_t   *dc;
    ngx_http_spectra_loc_conf_t   *bg;
    ngx_http_spectra_main_conf_t  *smcf;
    time_t                         cexp;
    spectra_sigv4_credentials_t    cred;
    u_char                         target[64];
    u_char                         date[SPECTRA_SIGV4_DATE_LEN];
    u_char                         auth[NGX_HTTP_SPECTRA_AUTH_LEN];

    smcf = ngx_http_cycle_get_module_main_conf(ngx_cycle,
                                               ngx_http_spectra_module);
    dc = smcf->ddb;
    bg = smcf->background;
    c = &d->curl;

    len = ngx_snprintf(target, sizeof(target), SPECTRA_DDB_TARGET_PREFIX "%s",
                       d->req.operation)
          - target;

    ngx_memzero(&in, sizeof(spectra_sigv4_json_t));
    in.host.data = dc->host.data;
    in.host.len = dc->host.len;
    in.target.data = target;
    in.target.len = len;
    in.content_type.data = (u_char *) SPECTRA_DDB_CONTENT_TYPE;
    in.content_type.len = sizeof(SPECTRA_DDB_CONTENT_TYPE) - 1;
    in.body = d->req.body;
    in.now = ngx_time();

    if (ngx_http_spectra_awscreds_get(bg, d->call.pool, &cred, &cexp)
        != NGX_OK)
    {
        ngx_log_error(NGX_LOG_ERR, d->call.log, 0,
                      "spectra: no valid AWS credentials to sign a job "
                      "store request with");
        ngx_http_spectra_ddb_fail(d, spectra_err_set(&d->err,
                                                    SPECTRA_JOB_ERROR,
                                                    SPECTRA_POS_NONE,
                                                    "job store: no AWS "
                                                    "credentials yet"));
        return;
    }

    cred.region = *ngx_http_spectra_str(&bg->region);
    cred.service.data = (u_char *) "dynamodb";
    cred.service.len = sizeof("dynamodb") - 1;

    if (spectra_sigv4_sign_json(&in, &cred, date, auth, sizeof(auth), &len)
        != SPECTRA_SIGV4_OK)
    {
        ngx_log_error(NGX_LOG_ERR, d->call.log, 0,
                      "spectra: cannot sign the job store request");
        ngx_http_spectra_ddb_fail(d, spectra_err_set(&d->err,
                                                    SPECTRA_JOB_ERROR,
                                                    SPECTRA_POS_NONE,
                                                    "job store: cannot sign"));
        return;
    }

    ngx_memzero(c, sizeof(ngx_http_spectra_curl_call_t));

    p = ngx_pnalloc(d->call.pool, sizeof("Host: ") + dc->host.len
                    + sizeof("Content-Type: " SPECTRA_DDB_CONTENT_TYPE)
                    + sizeof("X-Amz-Target: ") + sizeof(target)
                    + sizeof("X-Amz-Date: ") + SPECTRA_SIGV4_DATE_LEN
                    + sizeof("Authorization: ") + len
                    + sizeof("X-Amz-Security-Token: ")
                    + cred.session_token.len);
    if (p == NULL) {
        ngx_http_spectra_ddb_fail(d, spectra_err_set(&d->err,
                                                    SPECTRA_JOB_NOMEM,
                                                    SPECTRA_POS_NONE,
                                                    "job store: no memory"));
        return;
    }

    c->headers[0].data = p;
    p = ngx_sprintf(p, "Host: %V", &dc->host);
    c->headers[0].len = p - c->headers[0].data;

    c->headers[1].data = p;
    p = ngx_sprintf(p, "Content-Type: %s", SPECTRA_DDB_CONTENT_TYPE);
    c->headers[1].len = p - c->headers[1].data;

    c->headers[2].data = p;
    p = ngx_sprintf(p, "X-Amz-Target: %s%s", SPECTRA_DDB_TARGET_PREFIX,
                    d->req.operation);
    c->headers[2].len = p - c->headers[2].data;

    c->headers[3].data = p;
    p = ngx_sprintf(p, "X-Amz-Date: %*s", (size_t) SPECTRA_SIGV4_DATE_LEN,
                    date);
    c->headers[3].len = p - c->headers[3].data;

    c->headers[4].data = p;
    p = ngx_sprintf(p, "Authorization: %*s", len, auth);
    c->headers[4].len = p - c->headers[4].data;

    c->nheaders = 5;

    if (cred.session_token.len) {
        c->headers[5].data = p;
        p = ngx_sprintf(p, "X-Amz-Security-Token: %*s",
                        cred.session_token.len, cred.session_token.data);
        c->headers[5].len = p - c->headers[5].data;
        c->nheaders = 6;
    }

    c->url = dc->endpoint;
    c->body.data = d->req.body.data;
    c->body.len = d->req.body.len;
    c->timeout = dc->timeout;
    c->max_answer = SPECTRA_DDB_ANSWER_MAX;
    c->pool = d->call.pool;
    c->log = d->call.log;
    c->handler = ngx_http_spectra_ddb_answer;
    c->data = d;

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, d->call.log, 0,
                   "spectra job store: %s, %uz bytes", d->req.operation,
                   d->req.body.len);

    if (ngx_http_spectra_curl_post(c) == NGX_OK) {
        d->sent = 1;
        return;
    }

    ngx_http_spectra_ddb_fail(d, spectra_err_set(&d->err, SPECTRA_JOB_BUSY,
                                                 SPECTRA_POS_NONE,
                                                 "job store: the request "
                                                 "could not be sent"));
}


static void
ngx_http_spectra_ddb_answer(void *data, ngx_uint_t status, ngx_str_t *body)
{
    ngx_http_spectra_ddb_t  *d = data;

    int  rc;

    /* curl's own 502 and 504 mean no answer came */
    if (status == NGX_HTTP_BAD_GATEWAY && body->len == 0) {
        status = 0;
    }

    if (status == NGX_HTTP_GATEWAY_TIME_OUT && body->len == 0) {
        status = 0;
    }

    rc = spectra_ddb_answer(d->op, (int) status, body->data, body->len,
                            &d->req, &d->err);

    if (rc == SPECTRA_DDB_AGAIN) {
        ngx_http_spectra_ddb_send(d);
        return;
    }

    ngx_http_spectra_ddb_later(d, rc);
}


static void
ngx_http_spectra_ddb_end(ngx_http_spectra_ddb_t *d, int rc)
{
    ngx_http_spectra_metrics_store(d->metric, d->start);

    if (rc != SPECTRA_JOB_OK && d->err.message[0] == '\0') {
        spectra_err_set(&d->err, rc, SPECTRA_POS_NONE, "job store error");
    }

    d->done(&d->call, d->arg, rc, &d->err);
}


/* A request not sent: the end now, or as an answer would end it. */

static void
ngx_http_spectra_ddb_fail(ngx_http_spectra_ddb_t *d, int rc)
{
    if (d->sent) {
        ngx_http_spectra_ddb_later(d, rc);
        return;
    }

    ngx_http_spectra_ddb_end(d, rc);
}


/* An answer from libcurl's event: the request's subrequests run now. */

static void
ngx_http_spectra_ddb_later(ngx_http_spectra_ddb_t *d, int rc)
{
    ngx_connection_t  *c;

    c = d->call.connection;

    ngx_http_spectra_ddb_end(d, rc);

    if (c != NULL) {
        ngx_http_run_posted_requests(c);
    }
}


/* Updates nobody waits for, one job's in the order they were made. */

void
ngx_http_spectra_ddb_post_update(ngx_log_t *log,
    const spectra_job_update_t *upd)
{
    int                           rc;
    ngx_pool_t                   *pool;
    ngx_queue_t                  *q;
    ngx_http_spectra_ddb_t       *d, *o;
    ngx_http_spectra_job_call_t   call;
    ngx_http_spectra_main_conf_t *smcf;

    smcf = ngx_http_cycle_get_module_main_conf(ngx_cycle,
                                               ngx_http_spectra_module);

    if (!ngx_http_spectra_ddb_posted_init) {
        ngx_queue_init(&ngx_http_spectra_ddb_posted);
        ngx_http_spectra_ddb_posted_init = 1;
    }

    /* the request that made it may end first: a pool of its own */
    pool = ngx_create_pool(4096, ngx_cycle->log);
    if (pool == NULL) {
        return;
    }

    call.pool = pool;
    call.log = ngx_cycle->log;
    call.handler = ngx_http_spectra_ddb_nothing;
    call.data = NULL;

    d = ngx_http_spectra_ddb_new(&call, ngx_http_spectra_ddb_posted_done,
                                 NULL, SPECTRA_METRICS_STORE_UPDATE);
    if (d == NULL) {
        ngx_destroy_pool(pool);
        return;
    }

    d->posted = 1;
    ngx_memcpy(d->id, upd->id.data, ngx_min(upd->id.len, SPECTRA_JOB_ID_LEN));

    rc = spectra_ddb_update(&d->op, &((ngx_http_spectra_ddb_conf_t *)
                                      smcf->ddb)->conf,
                            upd, NULL, &d->pool, &d->req, &d->err);

    if (rc != SPECTRA_DDB_AGAIN) {
        ngx_log_error(NGX_LOG_ERR, log, 0,
                      "spectra: job %s not updated: %s (%d)", d->id,
                      d->err.message, rc);
        ngx_destroy_pool(pool);
        return;
    }

    /* after the job's last update still out, if any */

    for (q = ngx_queue_last(&ngx_http_spectra_ddb_posted);
         q != ngx_queue_sentinel(&ngx_http_spectra_ddb_posted);
         q = ngx_queue_prev(q))
    {
        o = ngx_queue_data(q, ngx_http_spectra_ddb_t, queue);

        if (ngx_strcmp(o->id, d->id) == 0) {
            ngx_queue_insert_tail(&ngx_http_spectra_ddb_posted, &d->queue);

            while (o->next != NULL) {
                o = o->next;
            }

            o->next = d;
            return;
        }
    }

    ngx_queue_insert_tail(&ngx_http_spectra_ddb_posted, &d->queue);

    ngx_http_spectra_ddb_send(d);
}


static void
ngx_http_spectra_ddb_posted_done(ngx_http_spectra_job_call_t *call,
    void *arg, int rc, spectra_err_t *err)
{
    ngx_http_spectra_ddb_t  *d, *next;

    d = ngx_queue_data(call, ngx_http_spectra_ddb_t, call);

    if (rc == SPECTRA_JOB_CONFLICT) {
        /* another node or worker finished it first: the store has that */
        ngx_log_debug2(NGX_LOG_DEBUG_HTTP, ngx_cycle->log, 0,
                       "spectra job %s not updated: %s", d->id,
                       err->message);

    } else if (rc != SPECTRA_JOB_OK) {
        ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                      "spectra: job %s not updated: %s (%d)", d->id,
                      err->message, rc);
    }

    next = d->next;
    ngx_queue_remove(&d->queue);
    ngx_destroy_pool(call->pool);

    if (next != NULL) {
        ngx_http_spectra_ddb_send(next);
    }
}


static void
ngx_http_spectra_ddb_nothing(void *data, ngx_int_t rc)
{
}
