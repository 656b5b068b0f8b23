/*
 * GET /v1/ready: 200 when this node can serve, 503 naming each failing
 * check otherwise.  The checks: the Data API answers a signed call (a
 * DescribeStatement of an id that cannot exist: ResourceNotFound proves
 * the endpoint reachable and our signature accepted), and this worker's
 * job store takes a write and reads it back (one reserved row, rewritten
 * each time, so the store does not grow).  The answer is cached in the
 * metrics zone for every worker for spectra_ready_cache (1s), and only
 * one check runs at a time, so that probes cannot hammer the Data API.
 */


#include "ngx_http_spectra_common.h"
#include "ngx_http_spectra_ready.h"
#include "ngx_http_spectra_jwks.h"
#include "ngx_http_spectra_awscreds.h"
#include "ngx_http_spectra_api.h"
#include "ngx_http_spectra_jobs.h"
#include "ngx_http_spectra_metrics.h"
#include "ngx_http_spectra_statement.h"


/* the state word: bit 0 set, the Data API's result, its AWS type, store */
#define NGX_HTTP_SPECTRA_READY_VALID      0x1
#define ngx_http_spectra_ready_state(d, type, s)                              \
    (NGX_HTTP_SPECTRA_READY_VALID | ((d) << 1) | ((type) << 5) | ((s) << 10))
#define ngx_http_spectra_ready_dataapi(state)  (((state) >> 1) & 0xf)
#define ngx_http_spectra_ready_type(state)     (((state) >> 5) & 0x1f)
#define ngx_http_spectra_ready_store(state)    (((state) >> 10) & 0xf)


/* what the Data API check found */
enum {
    NGX_HTTP_SPECTRA_READY_DATAAPI_OK = 0,
    NGX_HTTP_SPECTRA_READY_DATAAPI_UNAVAILABLE,
    NGX_HTTP_SPECTRA_READY_DATAAPI_TIMEOUT,
    NGX_HTTP_SPECTRA_READY_DATAAPI_REFUSED,
    NGX_HTTP_SPECTRA_READY_DATAAPI_NONE,        /* not configured here */
    NGX_HTTP_SPECTRA_READY_DATAAPI_INTERNAL
};

/* what the job store check found */
enum {
    NGX_HTTP_SPECTRA_READY_STORE_OK = 0,
    NGX_HTTP_SPECTRA_READY_STORE_NONE,          /* this worker has none */
    NGX_HTTP_SPECTRA_READY_STORE_BUSY,
    NGX_HTTP_SPECTRA_READY_STORE_ERROR,
    NGX_HTTP_SPECTRA_READY_STORE_MISMATCH,
    NGX_HTTP_SPECTRA_READY_STORE_INTERNAL
};


typedef struct {
    ngx_uint_t                  store;
    unsigned                    own:1;         /* holds the check */
    unsigned                    answered:1;
} ngx_http_spectra_ready_ctx_t;


static ngx_uint_t ngx_http_spectra_ready_store_check(ngx_http_request_t *r);
static void ngx_http_spectra_ready_done(ngx_http_spectra_stmt_t *st);
static void ngx_http_spectra_ready_cleanup(void *data);
static ngx_int_t ngx_http_spectra_ready_send(ngx_http_request_t *r,
    ngx_uint_t state);


/* a statement id of the Data API's form that no statement has */
static ngx_str_t  ngx_http_spectra_ready_statement =
    ngx_string("00000000-0000-4000-8000-000000000000");

/* the store's reserved row: no tenant id can contain ':' */
static ngx_str_t  ngx_http_spectra_ready_tenant =
    ngx_string("spectra:ready");
static ngx_str_t  ngx_http_spectra_ready_job =
    ngx_string("job_00000000000000000000000000");

static const char  *ngx_http_spectra_ready_dataapi_errors[] = {
    NULL,
    "the data API is unreachable or failed",
    "the data API did not answer in time",
    "the data API refused the signature or the credentials",
    "no data API is configured for this location",
    "the data API check could not run"
};

static const char  *ngx_http_spectra_ready_store_errors[] = {
    NULL,
    "this worker has no job store",
    "the job store is locked by another process",
    "the job store cannot be written",
    "the job store did not read back what was written",
    "the job store check could not run"
};


ngx_int_t
ngx_http_spectra_ready_endpoint(ngx_http_request_t *r,
    ngx_http_spectra_tenant_t *tenant, ngx_str_t *id)
{
    ngx_int_t                      rc;
    ngx_uint_t                     state;
    ngx_pool_cleanup_t            *cln;
    ngx_http_spectra_ctx_t        *ctx;
    ngx_http_spectra_stmt_t       *st;
    ngx_http_spectra_ready_ctx_t  *rctx;

    rc = ngx_http_spectra_metrics_ready_get(&state);

    if (rc == NGX_OK || (rc == NGX_BUSY && state != 0)) {
        return ngx_http_spectra_ready_send(r, state);
    }

    cln = ngx_pool_cleanup_add(r->pool, sizeof(ngx_http_spectra_ready_ctx_t));
    if (cln == NULL) {
        if (rc == NGX_DECLINED) {
            ngx_http_spectra_metrics_ready_unlock();
        }

        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rctx = cln->data;
    ngx_memzero(rctx, sizeof(ngx_http_spectra_ready_ctx_t));
    rctx->own = (rc == NGX_DECLINED);

    cln->handler = ngx_http_spectra_ready_cleanup;

    rctx->store = ngx_http_spectra_ready_store_check(r);

    ctx = ngx_http_spectra_get_ctx(r);
    st = ngx_http_spectra_stmt_create(r);

    if (ctx == NULL || st == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (st->conf->dataapi_uri.len == 0 || st->conf->dataapi_host.len == 0) {
        state = ngx_http_spectra_ready_state(
                    NGX_HTTP_SPECTRA_READY_DATAAPI_NONE, 0, rctx->store);
        rctx->answered = 1;

        if (rctx->own) {
            ngx_http_spectra_metrics_ready_set(state);
        }

        return ngx_http_spectra_ready_send(r, state);
    }

    ctx->stmt = st;

    st->statement_id = ngx_http_spectra_ready_statement;
    st->wait_until = 0;
    st->data = rctx;

    (void) ngx_http_spectra_api_async(r);

    ngx_http_spectra_stmt_follow(st, ngx_http_spectra_ready_done);

    return NGX_DONE;
}


static void
ngx_http_spectra_ready_done(ngx_http_spectra_stmt_t *st)
{
    ngx_uint_t                     d, type, state;
    ngx_http_request_t            *r;
    ngx_http_spectra_ready_ctx_t  *rctx;

    r = st->request;
    rctx = st->data;

    d = NGX_HTTP_SPECTRA_READY_DATAAPI_OK;
    type = 0;

    switch (st->end) {

    case NGX_HTTP_SPECTRA_END_UPSTREAM:
    case NGX_HTTP_SPECTRA_END_FAILED:
        type = spectra_metrics_type(st->derr.type);

        switch (st->derr.kind) {

        case SPECTRA_DATAAPI_E_REFUSED:
            d = NGX_HTTP_SPECTRA_READY_DATAAPI_REFUSED;
            break;

        case SPECTRA_DATAAPI_E_TIMEOUT:
            d = NGX_HTTP_SPECTRA_READY_DATAAPI_TIMEOUT;
            break;

        case SPECTRA_DATAAPI_E_UNAVAILABLE:
            d = NGX_HTTP_SPECTRA_READY_DATAAPI_UNAVAILABLE;
            break;

        default:
            /*
             * NOT_FOUND as expected; validation, throttling or sessions:
             * it answered a call it had authenticated all the same
             */
            break;
        }

        break;

    case NGX_HTTP_SPECTRA_END_ERROR:
        d = NGX_HTTP_SPECTRA_READY_DATAAPI_INTERNAL;
        break;

    default:
        break;
    }

    state = ngx_http_spectra_ready_state(d, type, rctx->store);
    rctx->answered = 1;

    if (rctx->own) {
        ngx_http_spectra_metrics_ready_set(state);
    }

    ngx_http_spectra_finish(r, ngx_http_spectra_ready_send(r, state));
}


static void
ngx_http_spectra_ready_cleanup(void *data)
{
    ngx_http_spectra_ready_ctx_t  *rctx = data;

    if (rctx->own && !rctx->answered) {
        ngx_http_spectra_metrics_ready_unlock();
    }
}


/*
 * Rewrites the reserved row (made on first use, in a finished status, so
 * that it is never due, never active and in no tenant's lists) and reads
 * it back.
 */

static ngx_uint_t
ngx_http_spectra_ready_store_check(ngx_http_request_t *r)
{
    int                            rc;
    u_char                         buf[NGX_INT64_LEN + NGX_INT_T_LEN + 32];
    uint64_t                       start;
    ngx_uint_t                     tries, result;
    spectra_err_t                  err;
    spectra_pool_t                 pool = ngx_http_spectra_pool(r->pool);
    spectra_job_t                  job;
    spectra_job_owner_t            owner;
    spectra_job_store_t           *store;
    spectra_job_update_t           upd;
    ngx_http_spectra_main_conf_t  *smcf;

    smcf = ngx_http_get_module_main_conf(r, ngx_http_spectra_module);
    store = smcf->store;

    if (store == NULL) {
        return NGX_HTTP_SPECTRA_READY_STORE_NONE;
    }

    start = ngx_http_spectra_metrics_clock();

    ngx_memzero(&upd, sizeof(spectra_job_update_t));

    upd.tenant_id = *ngx_http_spectra_str(&ngx_http_spectra_ready_tenant);
    upd.id = *ngx_http_spectra_str(&ngx_http_spectra_ready_job);
    upd.result.data = buf;
    upd.result.len = ngx_sprintf(buf, "{\"probe\":%L,\"pid\":%P}",
                                 (int64_t) start, ngx_pid)
                     - buf;
    upd.row_count = -1;
    upd.execution_ms = -1;

    rc = SPECTRA_JOB_ERROR;

    for (tries = 0; tries < 2; tries++) {
        rc = store->ops->update(store, &upd, NULL, &pool, &err);

        if (rc != SPECTRA_JOB_NOT_FOUND) {
            break;
        }

        ngx_memzero(&job, sizeof(spectra_job_t));
        ngx_memcpy(job.id, ngx_http_spectra_ready_job.data,
                   ngx_http_spectra_ready_job.len);
        job.tenant_id = upd.tenant_id;
        job.type = SPECTRA_JOB_QUERY;
        job.status = SPECTRA_JOB_CANCELLED;
        job.sql.data = (u_char *) "-- the readiness check's row";
        job.sql.len = sizeof("-- the readiness check's row") - 1;
        job.row_count = -1;
        job.execution_ms = -1;

        rc = store->ops->create(store, &job, 0, &err);

        if (rc != SPECTRA_JOB_OK && rc != SPECTRA_JOB_DUPLICATE) {
            break;
        }
    }

    if (rc == SPECTRA_JOB_OK) {
        owner.tenant_id = upd.tenant_id;
        owner.db_user.data = NULL;
        owner.db_user.len = 0;

        rc = store->ops->get(store, &owner, &upd.id, &job, &pool, &err);
    }

    ngx_http_spectra_metrics_store(SPECTRA_METRICS_STORE_PROBE, start);

    switch (rc) {

    case SPECTRA_JOB_OK:
        result = (job.result.len == upd.result.len
                  && ngx_memcmp(job.result.data, upd.result.data,
                                upd.result.len) == 0)
                 ? NGX_HTTP_SPECTRA_READY_STORE_OK
                 : NGX_HTTP_SPECTRA_READY_STORE_MISMATCH;
        break;

    case SPECTRA_JOB_BUSY:
        result = NGX_HTTP_SPECTRA_READY_STORE_BUSY;
        break;

    case SPECTRA_JOB_NOMEM:
        result = NGX_HTTP_SPECTRA_READY_STORE_INTERNAL;
        break;

    default:
        result = NGX_HTTP_SPECTRA_READY_STORE_ERROR;
        break;
    }

    if (result != NGX_HTTP_SPECTRA_READY_STORE_OK) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "spectra: readiness: %s: %s (%d)",
                      ngx_http_spectra_ready_store_errors[result],
                      rc == SPECTRA_JOB_OK ? "" : err.message, rc);
    }

    return result;
}


static ngx_int_t
ngx_http_spectra_ready_send(ngx_http_request_t *r, ngx_uint_t state)
{
    size_t                  len;
    u_char                 *p;
    ngx_uint_t              d, s, type, failing, n, nsets, ncreds;
    ngx_buf_t              *b;
    ngx_chain_t             out;
    const char             *derr, *serr, *kerr, *cerr;
    ngx_table_elt_t        *h;
    ngx_http_spectra_jwks_state_t      ks;
    ngx_http_spectra_awscreds_state_t  cs;

    d = ngx_http_spectra_ready_dataapi(state);
    type = ngx_http_spectra_ready_type(state);
    s = ngx_http_spectra_ready_store(state);

    if (d > NGX_HTTP_SPECTRA_READY_DATAAPI_INTERNAL) {
        d = NGX_HTTP_SPECTRA_READY_DATAAPI_INTERNAL;
    }

    if (s > NGX_HTTP_SPECTRA_READY_STORE_INTERNAL) {
        s = NGX_HTTP_SPECTRA_READY_STORE_INTERNAL;
    }

    if (type >= SPECTRA_METRICS_NTYPES) {
        type = 0;
    }

    derr = ngx_http_spectra_ready_dataapi_errors[d];
    serr = ngx_http_spectra_ready_store_errors[s];

    /*
     * JWT keys from URLs, checked now: a set that no longer verifies
     * tokens (past spectra_jwt_jwks_stale, or never fetched) fails; one
     * that is stale but still serves shows in the metrics and the log
     */
    kerr = NULL;

    for (nsets = 0;
         ngx_http_spectra_jwks_state((ngx_cycle_t *) ngx_cycle, nsets, &ks)
         == NGX_OK;
         nsets++)
    {
        if (!ks.usable) {
            kerr = ks.fetched ? "a JWT key set from a URL is stale beyond "
                                "spectra_jwt_jwks_stale"
                              : "a JWT key set from a URL was never fetched";
        }
    }

    /* AWS credentials that are refreshed: none yet, or expired, fails */
    cerr = NULL;

    for (ncreds = 0;
         ngx_http_spectra_awscreds_state((ngx_cycle_t *) ngx_cycle, ncreds,
                                         &cs)
         == NGX_OK;
         ncreds++)
    {
        if (!cs.usable) {
            cerr = cs.fetched ? "the AWS credentials expired and could not "
                                "be refreshed"
                              : "no AWS credentials were fetched yet";
        }
    }

    failing = (derr != NULL) + (serr != NULL) + (kerr != NULL)
              + (cerr != NULL);

    len = sizeof("{\"status\":\"unavailable\",\"checks\":{"
                 "\"dataapi\":{\"ok\":false,\"error\":\"\",\"type\":\"\"},"
                 "\"job_store\":{\"ok\":false,\"error\":\"\"}},"
                 "\"failing\":[\"dataapi\",\"job_store\"]}\n")
          + sizeof(",\"jwt_keys\":{\"ok\":false,\"error\":\"\"},"
                   "\"jwt_keys\"") + (kerr ? ngx_strlen(kerr) : 0)
          + sizeof(",\"aws_credentials\":{\"ok\":false,\"error\":\"\"},"
                   "\"aws_credentials\"") + (cerr ? ngx_strlen(cerr) : 0)
          + (derr ? ngx_strlen(derr) : 0) + (serr ? ngx_strlen(serr) : 0)
          + ngx_strlen(spectra_metrics_types[type]);

    b = ngx_create_temp_buf(r->pool, len);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* the texts are ASCII without quotes: no escaping */
    p = ngx_sprintf(b->last, "{\"status\":\"%s\",\"checks\":{\"dataapi\":",
                    failing ? "unavailable" : "ready");

    if (derr == NULL) {
        p = ngx_sprintf(p, "{\"ok\":true}");

    } else if (type != 0) {
        p = ngx_sprintf(p, "{\"ok\":false,\"error\":\"%s\",\"type\":\"%s\"}",
                        derr, spectra_metrics_types[type]);

    } else {
        p = ngx_sprintf(p, "{\"ok\":false,\"error\":\"%s\"}", derr);
    }

    if (serr == NULL) {
        p = ngx_sprintf(p, ",\"job_store\":{\"ok\":true}");

    } else {
        p = ngx_sprintf(p, ",\"job_store\":{\"ok\":false,\"error\":\"%s\"}",
                        serr);
    }

    if (kerr != NULL) {
        p = ngx_sprintf(p, ",\"jwt_keys\":{\"ok\":false,\"error\":\"%s\"}",
                        kerr);

    } else if (nsets) {
        p = ngx_sprintf(p, ",\"jwt_keys\":{\"ok\":true}");
    }

    if (cerr != NULL) {
        p = ngx_sprintf(p, ",\"aws_credentials\":{\"ok\":false,"
                        "\"error\":\"%s\"}", cerr);

    } else if (ncreds) {
        p = ngx_sprintf(p, ",\"aws_credentials\":{\"ok\":true}");
    }

    *p++ = '}';

    if (failing) {
        p = ngx_sprintf(p, ",\"failing\":[");
        n = 0;

        if (derr != NULL) {
            p = ngx_sprintf(p, "\"dataapi\"");
            n++;
        }

        if (serr != NULL) {
            p = ngx_sprintf(p, "%s\"job_store\"", n++ ? "," : "");
        }

        if (kerr != NULL) {
            p = ngx_sprintf(p, "%s\"jwt_keys\"", n++ ? "," : "");
        }

        if (cerr != NULL) {
            p = ngx_sprintf(p, "%s\"aws_credentials\"", n ? "," : "");
        }

        *p++ = ']';
    }

    *p++ = '}';
    *p++ = '\n';
    b->last = p;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "Cache-Control");
    ngx_str_set(&h->value, "no-store");

    out.buf = b;
    out.next = NULL;

    return ngx_http_spectra_send_json(r, failing
                                         ? NGX_HTTP_SERVICE_UNAVAILABLE
                                         : NGX_HTTP_OK,
                                      &out);
}
