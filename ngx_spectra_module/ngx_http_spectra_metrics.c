/*
 * Metrics: one shared memory zone of counters and histograms that every
 * worker updates with atomic additions (no lock on the hot path), served
 * by the spectra_metrics content handler in the Prometheus text format;
 * the names, label values and the text itself come from
 * src/spectra_metrics.c.  Requests are counted in the log phase, by the
 * endpoint the API handler routed them to.  Per-tenant series are capped
 * (spectra_metrics_max_tenants): tenants past the cap share the series
 * tenant="other".  The zone is kept across reloads while its size stays
 * the same, so counters only grow.
 */


#include "ngx_http_spectra_common.h"
#include "ngx_http_spectra_metrics.h"
#include "ngx_http_spectra_awscreds.h"
#include "ngx_http_spectra_api.h"
#include "ngx_http_spectra_jwks.h"

#include <time.h>


#define NGX_HTTP_SPECTRA_METRICS_TENANT_COUNTERS  5

enum {
    NGX_HTTP_SPECTRA_METRICS_QUERIES = 0,
    NGX_HTTP_SPECTRA_METRICS_EXPORTS,
    NGX_HTTP_SPECTRA_METRICS_IMPORTS,
    NGX_HTTP_SPECTRA_METRICS_ROWS,
    NGX_HTTP_SPECTRA_METRICS_BYTES
};


typedef struct {
    ngx_atomic_t                bucket[SPECTRA_METRICS_BUCKETS_MAX + 1];
    ngx_atomic_t                sum;           /* microseconds */
} ngx_http_spectra_metrics_hist_t;


typedef struct {
    ngx_atomic_t                len;           /* published; 0: free */
    u_char                      name[SPECTRA_METRICS_TENANT_MAX];
    ngx_atomic_t                n[NGX_HTTP_SPECTRA_METRICS_TENANT_COUNTERS];
} ngx_http_spectra_metrics_tenant_t;


typedef struct {
    ngx_atomic_t                requests[SPECTRA_METRICS_NEP]
                                        [SPECTRA_METRICS_NSTATUS];
    ngx_atomic_t                auth[SPECTRA_METRICS_NMETHODS]
                                    [SPECTRA_METRICS_NREASONS];
    ngx_atomic_t                token_cache[2];    /* miss, hit */
    ngx_atomic_t                sessions[3];
    ngx_atomic_t                dataapi_errors[SPECTRA_METRICS_NKINDS]
                                              [SPECTRA_METRICS_NTYPES];
    ngx_http_spectra_metrics_hist_t  query;
    ngx_http_spectra_metrics_hist_t  dataapi[SPECTRA_METRICS_NACTIONS];
    ngx_http_spectra_metrics_hist_t  store[SPECTRA_METRICS_NSTORE];

    /* the readiness answer (ngx_http_spectra_ready.c) */
    ngx_atomic_t                ready_lock;        /* held until, ms */
    ngx_atomic_t                ready_until;       /* fresh until, ms */
    ngx_atomic_t                ready_state;

    /* tenants: open addressing over nslots, at most max of them used */
    ngx_atomic_t                tenants_used;
    ngx_uint_t                  nslots;            /* a power of two */
    ngx_uint_t                  max;
    ngx_http_spectra_metrics_tenant_t  other;
    ngx_http_spectra_metrics_tenant_t  tenant[1];
} ngx_http_spectra_metrics_sh_t;


typedef struct {
    ngx_uint_t                  max_tenants;
    ngx_msec_t                  ready_cache;
    ngx_shm_zone_t             *zone;
    ngx_slab_pool_t            *shpool;
    ngx_http_spectra_metrics_sh_t  *sh;
} ngx_http_spectra_metrics_main_conf_t;


/* what the log phase counts a request by */
typedef struct {
    spectra_metrics_endpoint_e  endpoint;
    ngx_http_spectra_tenant_t  *tenant;
    unsigned                    counted:1;
} ngx_http_spectra_metrics_ctx_t;


/* the text being written: a family's head is written with its first line */
typedef struct {
    spectra_metrics_out_t       out;
    const char                 *name;
    const char                 *type;
    const char                 *help;
    unsigned                    head:1;        /* written */
} ngx_http_spectra_metrics_text_t;


static ngx_http_spectra_metrics_main_conf_t *ngx_http_spectra_metrics_conf(
    void);
static ngx_http_spectra_metrics_sh_t *ngx_http_spectra_metrics_sh(void);
static ngx_http_spectra_metrics_ctx_t *ngx_http_spectra_metrics_get_ctx(
    ngx_http_request_t *r);
static void ngx_http_spectra_metrics_ctx_cleanup(void *data);
static void ngx_http_spectra_metrics_observe(
    ngx_http_spectra_metrics_hist_t *h, spectra_metrics_hist_e kind,
    uint64_t us);
static ngx_http_spectra_metrics_tenant_t *ngx_http_spectra_metrics_tenant(
    ngx_http_spectra_metrics_main_conf_t *mmcf, ngx_str_t *name);
static ngx_http_spectra_metrics_tenant_t *ngx_http_spectra_metrics_probe(
    ngx_http_spectra_metrics_sh_t *sh, ngx_str_t *name);
static ngx_int_t ngx_http_spectra_metrics_log_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_spectra_metrics_handler(ngx_http_request_t *r);
static void ngx_http_spectra_metrics_write(ngx_http_spectra_metrics_text_t *t,
    ngx_http_spectra_metrics_sh_t *sh);
static void ngx_http_spectra_metrics_jwks(ngx_http_spectra_metrics_text_t *t);
static void ngx_http_spectra_metrics_awscreds(
    ngx_http_spectra_metrics_text_t *t);
static void ngx_http_spectra_metrics_tenants(
    ngx_http_spectra_metrics_text_t *t, ngx_http_spectra_metrics_sh_t *sh,
    ngx_uint_t counter);
static void ngx_http_spectra_metrics_head(ngx_http_spectra_metrics_text_t *t,
    const char *name, const char *type, const char *help);
static void ngx_http_spectra_metrics_line(ngx_http_spectra_metrics_text_t *t,
    spectra_metrics_label_t *labels, ngx_uint_t n, uint64_t value);
static void ngx_http_spectra_metrics_hist(ngx_http_spectra_metrics_text_t *t,
    spectra_metrics_label_t *labels, ngx_uint_t n,
    spectra_metrics_hist_e kind, ngx_http_spectra_metrics_hist_t *h);
static void ngx_http_spectra_metrics_label(spectra_metrics_label_t *l,
    const char *name, const char *value);
static size_t ngx_http_spectra_metrics_nslots(ngx_uint_t max);
static size_t ngx_http_spectra_metrics_size(
    ngx_http_spectra_metrics_main_conf_t *mmcf);
static ngx_int_t ngx_http_spectra_metrics_init_zone(ngx_shm_zone_t *shm_zone,
    void *data);
static void *ngx_http_spectra_metrics_create_main_conf(ngx_conf_t *cf);
static char *ngx_http_spectra_metrics_init_main_conf(ngx_conf_t *cf,
    void *conf);
static char *ngx_http_spectra_metrics(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static ngx_int_t ngx_http_spectra_metrics_init(ngx_conf_t *cf);


static ngx_conf_num_bounds_t  ngx_http_spectra_metrics_tenant_bounds = {
    ngx_conf_check_num_bounds, 0, 10000
};


static ngx_command_t  ngx_http_spectra_metrics_commands[] = {

    { ngx_string("spectra_metrics"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_spectra_metrics,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("spectra_metrics_max_tenants"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_spectra_metrics_main_conf_t, max_tenants),
      &ngx_http_spectra_metrics_tenant_bounds },

    { ngx_string("spectra_ready_cache"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_spectra_metrics_main_conf_t, ready_cache),
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_spectra_metrics_module_ctx = {
    NULL,                                  /* preconfiguration */
    ngx_http_spectra_metrics_init,         /* postconfiguration */

    ngx_http_spectra_metrics_create_main_conf, /* create main configuration */
    ngx_http_spectra_metrics_init_main_conf,   /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    NULL,                                  /* create location configuration */
    NULL                                   /* merge location configuration */
};


ngx_module_t  ngx_http_spectra_metrics_module = {
    NGX_MODULE_V1,
    &ngx_http_spectra_metrics_module_ctx,  /* module context */
    ngx_http_spectra_metrics_commands,     /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    NULL,                                  /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static ngx_str_t  ngx_http_spectra_metrics_zone_name =
    ngx_string("spectra_metrics");

static ngx_str_t  ngx_http_spectra_metrics_type =
    ngx_string("text/plain; version=0.0.4; charset=utf-8");


static ngx_http_spectra_metrics_main_conf_t *
ngx_http_spectra_metrics_conf(void)
{
    return ngx_http_cycle_get_module_main_conf(ngx_cycle,
                                           ngx_http_spectra_metrics_module);
}


static ngx_http_spectra_metrics_sh_t *
ngx_http_spectra_metrics_sh(void)
{
    ngx_http_spectra_metrics_main_conf_t  *mmcf;

    mmcf = ngx_http_spectra_metrics_conf();

    return (mmcf != NULL) ? mmcf->sh : NULL;
}


uint64_t
ngx_http_spectra_metrics_clock(void)
{
    struct timespec  ts;

    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0) {
        return 0;
    }

    return (uint64_t) ts.tv_sec * 1000000 + (uint64_t) ts.tv_nsec / 1000;
}


static void
ngx_http_spectra_metrics_observe(ngx_http_spectra_metrics_hist_t *h,
    spectra_metrics_hist_e kind, uint64_t us)
{
    unsigned         n;
    const uint64_t  *bounds;

    bounds = spectra_metrics_bounds(kind, &n);

    (void) ngx_atomic_fetch_add(&h->bucket[spectra_metrics_bucket(bounds, n,
                                                                  us)], 1);
    (void) ngx_atomic_fetch_add(&h->sum, (ngx_atomic_int_t) us);
}


void
ngx_http_spectra_metrics_route(ngx_http_request_t *r, const char *route,
    ngx_http_spectra_tenant_t *tenant)
{
    ngx_http_spectra_metrics_ctx_t  *ctx;

    ctx = ngx_http_spectra_metrics_get_ctx(r);
    if (ctx == NULL) {
        return;
    }

    ctx->endpoint = spectra_metrics_endpoint(route,
                                             r->method == NGX_HTTP_DELETE);
    ctx->tenant = tenant;
}


void
ngx_http_spectra_metrics_auth_failure(const char *reason)
{
    unsigned                        method, why;
    ngx_http_spectra_metrics_sh_t  *sh;

    sh = ngx_http_spectra_metrics_sh();
    if (sh == NULL) {
        return;
    }

    spectra_metrics_auth_reason(reason, &method, &why);

    (void) ngx_atomic_fetch_add(&sh->auth[method][why], 1);
}


void
ngx_http_spectra_metrics_token_cache(ngx_uint_t hit)
{
    ngx_http_spectra_metrics_sh_t  *sh;

    sh = ngx_http_spectra_metrics_sh();

    if (sh != NULL) {
        (void) ngx_atomic_fetch_add(&sh->token_cache[hit ? 1 : 0], 1);
    }
}


void
ngx_http_spectra_metrics_session(ngx_uint_t result)
{
    ngx_http_spectra_metrics_sh_t  *sh;

    sh = ngx_http_spectra_metrics_sh();

    if (sh != NULL && result < 3) {
        (void) ngx_atomic_fetch_add(&sh->sessions[result], 1);
    }
}


void
ngx_http_spectra_metrics_dataapi(const char *action, uint64_t us)
{
    ngx_http_spectra_metrics_sh_t  *sh;

    sh = ngx_http_spectra_metrics_sh();

    if (sh != NULL) {
        ngx_http_spectra_metrics_observe(
            &sh->dataapi[spectra_metrics_action(action)],
            SPECTRA_METRICS_H_DATAAPI, us);
    }
}


void
ngx_http_spectra_metrics_dataapi_error(spectra_dataapi_error_t *e)
{
    ngx_uint_t                      kind;
    ngx_http_spectra_metrics_sh_t  *sh;

    sh = ngx_http_spectra_metrics_sh();

    if (sh == NULL) {
        return;
    }

    kind = (ngx_uint_t) e->kind;

    if (kind >= SPECTRA_METRICS_NKINDS) {
        kind = 0;
    }

    (void) ngx_atomic_fetch_add(
        &sh->dataapi_errors[kind][spectra_metrics_type(e->type)], 1);
}


void
ngx_http_spectra_metrics_store(spectra_metrics_store_e op, uint64_t start)
{
    uint64_t                        now;
    ngx_http_spectra_metrics_sh_t  *sh;

    sh = ngx_http_spectra_metrics_sh();

    if (sh == NULL || (ngx_uint_t) op >= SPECTRA_METRICS_NSTORE) {
        return;
    }

    now = ngx_http_spectra_metrics_clock();

    ngx_http_spectra_metrics_observe(&sh->store[op], SPECTRA_METRICS_H_STORE,
                                     now > start ? now - start : 0);
}


ngx_int_t
ngx_http_spectra_metrics_ready_get(ngx_uint_t *state)
{
    ngx_msec_t                      now;
    ngx_atomic_uint_t               until, again, lock;
    ngx_http_spectra_metrics_sh_t  *sh;

    *state = 0;

    sh = ngx_http_spectra_metrics_sh();
    if (sh == NULL) {
        return NGX_DECLINED;
    }

    now = ngx_current_msec;

    /* the writer clears until before it changes the state */
    until = sh->ready_until;
    ngx_memory_barrier();
    *state = sh->ready_state;
    ngx_memory_barrier();
    again = sh->ready_until;

    if (until == again && until > (ngx_atomic_uint_t) now) {
        return NGX_OK;
    }

    if (until != again) {
        *state = 0;
    }

    lock = sh->ready_lock;

    if (lock < (ngx_atomic_uint_t) now
        && ngx_atomic_cmp_set(&sh->ready_lock, lock,
                              (ngx_atomic_uint_t) now + 60000))
    {
        return NGX_DECLINED;
    }

    return NGX_BUSY;
}


void
ngx_http_spectra_metrics_ready_set(ngx_uint_t state)
{
    ngx_http_spectra_metrics_sh_t         *sh;
    ngx_http_spectra_metrics_main_conf_t  *mmcf;

    mmcf = ngx_http_spectra_metrics_conf();
    sh = (mmcf != NULL) ? mmcf->sh : NULL;

    if (sh == NULL) {
        return;
    }

    sh->ready_until = 0;
    ngx_memory_barrier();
    sh->ready_state = state;
    ngx_memory_barrier();
    sh->ready_until = (ngx_atomic_uint_t) (ngx_current_msec
                                           + mmcf->ready_cache);
    sh->ready_lock = 0;
}


void
ngx_http_spectra_metrics_ready_unlock(void)
{
    ngx_http_spectra_metrics_sh_t  *sh;

    sh = ngx_http_spectra_metrics_sh();

    if (sh != NULL) {
        sh->ready_lock = 0;
    }
}


/*
 * The slot of a tenant, made on first sight while fewer than the cap are
 * used; "other" past the cap (and for a tenant named "other").  Lookups
 * read without the lock: a slot's name is written before its length is
 * published, and a slot is never freed.
 */

static ngx_http_spectra_metrics_tenant_t *
ngx_http_spectra_metrics_tenant(ngx_http_spectra_metrics_main_conf_t *mmcf,
    ngx_str_t *name)
{
    ngx_http_spectra_metrics_sh_t      *sh;
    ngx_http_spectra_metrics_tenant_t  *t;

    sh = mmcf->sh;

    if (name->len == 0 || name->len > SPECTRA_METRICS_TENANT_MAX
        || sh->max == 0
        || (name->len == 5 && ngx_strncmp(name->data, "other", 5) == 0))
    {
        return &sh->other;
    }

    t = ngx_http_spectra_metrics_probe(sh, name);

    if (t->len != 0) {
        return t;
    }

    ngx_shmtx_lock(&mmcf->shpool->mutex);

    /* another worker may have taken it meanwhile */
    t = ngx_http_spectra_metrics_probe(sh, name);

    if (t->len == 0) {
        if (sh->tenants_used >= sh->max) {
            t = &sh->other;

        } else {
            ngx_memcpy(t->name, name->data, name->len);
            ngx_memory_barrier();
            t->len = name->len;
            sh->tenants_used++;
        }
    }

    ngx_shmtx_unlock(&mmcf->shpool->mutex);

    return t;
}


/*
 * The tenant's slot, or the free slot where it would go: there is always
 * one, nslots being at least twice the cap.
 */

static ngx_http_spectra_metrics_tenant_t *
ngx_http_spectra_metrics_probe(ngx_http_spectra_metrics_sh_t *sh,
    ngx_str_t *name)
{
    ngx_uint_t                          i, mask;
    ngx_atomic_uint_t                   len;
    ngx_http_spectra_metrics_tenant_t  *t;

    mask = sh->nslots - 1;
    i = ngx_crc32_short(name->data, name->len) & mask;

    for ( ;; ) {
        t = &sh->tenant[i];
        len = t->len;

        if (len == 0) {
            return t;
        }

        if (len == name->len
            && ngx_memcmp(t->name, name->data, name->len) == 0)
        {
            return t;
        }

        i = (i + 1) & mask;
    }
}


/* The ctx of the main request, found again after an internal redirect. */

static ngx_http_spectra_metrics_ctx_t *
ngx_http_spectra_metrics_get_ctx(ngx_http_request_t *r)
{
    ngx_pool_cleanup_t              *cln;
    ngx_http_spectra_metrics_ctx_t  *ctx;

    r = r->main;

    ctx = ngx_http_get_module_ctx(r, ngx_http_spectra_metrics_module);
    if (ctx != NULL) {
        return ctx;
    }

    for (cln = r->pool->cleanup; cln != NULL; cln = cln->next) {
        if (cln->handler == ngx_http_spectra_metrics_ctx_cleanup) {
            ctx = cln->data;
            ngx_http_set_ctx(r, ctx, ngx_http_spectra_metrics_module);
            return ctx;
        }
    }

    cln = ngx_pool_cleanup_add(r->pool, sizeof(ngx_http_spectra_metrics_ctx_t));
    if (cln == NULL) {
        return NULL;
    }

    ctx = cln->data;
    ngx_memzero(ctx, sizeof(ngx_http_spectra_metrics_ctx_t));

    cln->handler = ngx_http_spectra_metrics_ctx_cleanup;

    ngx_http_set_ctx(r, ctx, ngx_http_spectra_metrics_module);

    return ctx;
}


/* marks the cleanup that holds the ctx; nothing to release */

static void
ngx_http_spectra_metrics_ctx_cleanup(void *data)
{
}


static ngx_int_t
ngx_http_spectra_metrics_log_handler(ngx_http_request_t *r)
{
    off_t                                sent;
    ngx_msec_int_t                       ms;
    ngx_time_t                          *tp;
    ngx_uint_t                           status;
    ngx_pool_cleanup_t                  *cln;
    ngx_http_spectra_ctx_t              *sctx;
    ngx_http_spectra_metrics_sh_t       *sh;
    ngx_http_spectra_metrics_ctx_t      *ctx;
    ngx_http_core_loc_conf_t            *clcf;
    ngx_http_spectra_metrics_ctx_t       refused;
    ngx_http_spectra_metrics_tenant_t   *t;
    ngx_http_spectra_metrics_main_conf_t  *mmcf;

    if (r != r->main) {
        return NGX_OK;
    }

    mmcf = ngx_http_get_module_main_conf(r, ngx_http_spectra_metrics_module);
    sh = mmcf->sh;

    ctx = ngx_http_get_module_ctx(r, ngx_http_spectra_metrics_module);

    if (ctx == NULL) {
        for (cln = r->pool->cleanup; cln != NULL; cln = cln->next) {
            if (cln->handler == ngx_http_spectra_metrics_ctx_cleanup) {
                ctx = cln->data;
                break;
            }
        }
    }

    if (ctx == NULL) {
        /* refused before the API handler ran: authentication, limits */
        clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);

        if (clcf->handler != ngx_http_spectra_api_handler) {
            return NGX_OK;
        }

        ngx_memzero(&refused, sizeof(ngx_http_spectra_metrics_ctx_t));
        refused.endpoint = spectra_metrics_endpoint(
                               ngx_http_spectra_api_route_name(r),
                               r->method == NGX_HTTP_DELETE);
        ctx = &refused;
    }

    if (ctx->counted || sh == NULL) {
        return NGX_OK;
    }

    ctx->counted = 1;

    status = r->headers_out.status;

    if (r->connection->error && status == 0) {
        status = NGX_HTTP_CLIENT_CLOSED_REQUEST;
    }

    (void) ngx_atomic_fetch_add(
        &sh->requests[ctx->endpoint][spectra_metrics_status(status)], 1);

    if (ctx->endpoint == SPECTRA_METRICS_EP_QUERY) {
        tp = ngx_timeofday();
        ms = (ngx_msec_int_t) ((tp->sec - r->start_sec) * 1000
                               + (tp->msec - r->start_msec));
        ms = ngx_max(ms, 0);

        ngx_http_spectra_metrics_observe(&sh->query,
                                         SPECTRA_METRICS_H_REQUEST,
                                         (uint64_t) ms * 1000);
    }

    if (ctx->tenant == NULL) {
        return NGX_OK;
    }

    t = ngx_http_spectra_metrics_tenant(mmcf, &ctx->tenant->tenant_id);

    if (status >= 200 && status < 300) {
        switch (ctx->endpoint) {

        case SPECTRA_METRICS_EP_QUERY:
            (void) ngx_atomic_fetch_add(
                &t->n[NGX_HTTP_SPECTRA_METRICS_QUERIES], 1);
            break;

        case SPECTRA_METRICS_EP_BULK:
            (void) ngx_atomic_fetch_add(
                &t->n[NGX_HTTP_SPECTRA_METRICS_EXPORTS], 1);
            break;

        case SPECTRA_METRICS_EP_IMPORTS:
            (void) ngx_atomic_fetch_add(
                &t->n[NGX_HTTP_SPECTRA_METRICS_IMPORTS], 1);
            break;

        default:
            break;
        }
    }

    sctx = ngx_http_get_module_ctx(r, ngx_http_spectra_module);

    /* the rows of the answer, as $spectra_rows has them */
    if (sctx != NULL && sctx->answer_rows_set) {
        (void) ngx_atomic_fetch_add(&t->n[NGX_HTTP_SPECTRA_METRICS_ROWS],
                                    (ngx_atomic_int_t) sctx->answer_rows);
    }

    sent = r->connection->sent - r->header_size;

    if (sent > 0) {
        (void) ngx_atomic_fetch_add(&t->n[NGX_HTTP_SPECTRA_METRICS_BYTES],
                                    (ngx_atomic_int_t) sent);
    }

    return NGX_OK;
}


/* GET /metrics (wherever the operator puts spectra_metrics) */

static ngx_int_t
ngx_http_spectra_metrics_handler(ngx_http_request_t *r)
{
    size_t                                 size;
    ngx_int_t                              rc;
    ngx_uint_t                             tries;
    ngx_buf_t                             *b;
    ngx_chain_t                            out;
    ngx_http_spectra_metrics_text_t        t;
    ngx_http_spectra_metrics_main_conf_t  *mmcf;

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        return NGX_HTTP_NOT_ALLOWED;
    }

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    mmcf = ngx_http_get_module_main_conf(r, ngx_http_spectra_metrics_module);

    if (mmcf->sh == NULL) {
        return NGX_HTTP_SERVICE_UNAVAILABLE;
    }

    size = 65536 + mmcf->sh->tenants_used * 2048;
    b = NULL;

    for (tries = 0; tries < 6; tries++, size *= 2) {
        b = ngx_create_temp_buf(r->pool, size);
        if (b == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        ngx_memzero(&t, sizeof(ngx_http_spectra_metrics_text_t));
        spectra_metrics_out_init(&t.out, b->pos, size);

        ngx_http_spectra_metrics_write(&t, mmcf->sh);

        if (!t.out.overflow) {
            break;
        }

        ngx_pfree(r->pool, b->start);
        b = NULL;
    }

    if (b == NULL) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "spectra: the metrics text does not fit %uz bytes",
                      size / 2);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b->last = t.out.pos;
    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    r->headers_out.status = NGX_HTTP_OK;
    r->headers_out.content_length_n = b->last - b->pos;
    r->headers_out.content_type = ngx_http_spectra_metrics_type;
    r->headers_out.content_type_len = ngx_http_spectra_metrics_type.len;
    r->headers_out.content_type_lowcase = NULL;

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}


static void
ngx_http_spectra_metrics_write(ngx_http_spectra_metrics_text_t *t,
    ngx_http_spectra_metrics_sh_t *sh)
{
    uint64_t                  v;
    ngx_uint_t                i, j;
    spectra_metrics_label_t   l[2];

    static const char  *sessions[] = { "reused", "created", "busy" };

    ngx_http_spectra_metrics_head(t, "spectra_http_requests_total", "counter",
        "API requests by endpoint (route) and HTTP status.");

    for (i = 0; i < SPECTRA_METRICS_NEP; i++) {
        for (j = 0; j < SPECTRA_METRICS_NSTATUS; j++) {
            v = sh->requests[i][j];

            if (v == 0) {
                continue;
            }

            ngx_http_spectra_metrics_label(&l[0], "endpoint",
                                           spectra_metrics_endpoints[i]);
            ngx_http_spectra_metrics_label(&l[1], "code",
                                           spectra_metrics_statuses[j]);
            ngx_http_spectra_metrics_line(t, l, 2, v);
        }
    }

    ngx_http_spectra_metrics_head(t, "spectra_queries_total", "counter",
        "Queries started (POST /v1/queries answered 2xx), by tenant.");
    ngx_http_spectra_metrics_tenants(t, sh, NGX_HTTP_SPECTRA_METRICS_QUERIES);

    ngx_http_spectra_metrics_head(t, "spectra_exports_total", "counter",
        "Exports started (POST /v1/bulk answered 2xx), by tenant.");
    ngx_http_spectra_metrics_tenants(t, sh, NGX_HTTP_SPECTRA_METRICS_EXPORTS);

    ngx_http_spectra_metrics_head(t, "spectra_imports_total", "counter",
        "Imports started (POST /v1/imports answered 2xx), by tenant.");
    ngx_http_spectra_metrics_tenants(t, sh, NGX_HTTP_SPECTRA_METRICS_IMPORTS);

    ngx_http_spectra_metrics_head(t, "spectra_returned_rows_total", "counter",
        "Result rows sent to clients, by tenant.");
    ngx_http_spectra_metrics_tenants(t, sh, NGX_HTTP_SPECTRA_METRICS_ROWS);

    ngx_http_spectra_metrics_head(t, "spectra_returned_bytes_total",
        "counter", "Response body bytes sent to clients, by tenant.");
    ngx_http_spectra_metrics_tenants(t, sh, NGX_HTTP_SPECTRA_METRICS_BYTES);

    ngx_http_spectra_metrics_head(t, "spectra_query_duration_seconds",
        "histogram", "Request time of POST /v1/queries.");
    ngx_http_spectra_metrics_hist(t, NULL, 0, SPECTRA_METRICS_H_REQUEST,
                                  &sh->query);

    ngx_http_spectra_metrics_head(t, "spectra_dataapi_request_duration_seconds",
        "histogram", "Data API calls, by action.");

    for (i = 0; i < SPECTRA_METRICS_NACTIONS; i++) {
        ngx_http_spectra_metrics_label(&l[0], "action",
                                       spectra_metrics_actions[i]);
        ngx_http_spectra_metrics_hist(t, l, 1, SPECTRA_METRICS_H_DATAAPI,
                                      &sh->dataapi[i]);
    }

    ngx_http_spectra_metrics_head(t, "spectra_dataapi_errors_total",
        "counter", "Failed Data API calls, by kind and AWS error type.");

    for (i = 0; i < SPECTRA_METRICS_NKINDS; i++) {
        for (j = 0; j < SPECTRA_METRICS_NTYPES; j++) {
            v = sh->dataapi_errors[i][j];

            if (v == 0) {
                continue;
            }

            ngx_http_spectra_metrics_label(&l[0], "kind",
                                           spectra_metrics_kinds[i]);
            ngx_http_spectra_metrics_label(&l[1], "type",
                                           spectra_metrics_types[j]);
            ngx_http_spectra_metrics_line(t, l, 2, v);
        }
    }

    ngx_http_spectra_metrics_head(t, "spectra_job_store_duration_seconds",
        "histogram", "Job store operations, by operation.");

    for (i = 0; i < SPECTRA_METRICS_NSTORE; i++) {
        ngx_http_spectra_metrics_label(&l[0], "op",
                                       spectra_metrics_store_ops[i]);
        ngx_http_spectra_metrics_hist(t, l, 1, SPECTRA_METRICS_H_STORE,
                                      &sh->store[i]);
    }

    ngx_http_spectra_metrics_head(t, "spectra_auth_failures_total", "counter",
        "Failed authentications, by credential type and reason.");

    for (i = 0; i < SPECTRA_METRICS_NMETHODS; i++) {
        for (j = 0; j < SPECTRA_METRICS_NREASONS; j++) {
            v = sh->auth[i][j];

            if (v == 0) {
                continue;
            }

            ngx_http_spectra_metrics_label(&l[0], "method",
                                           spectra_metrics_methods[i]);
            ngx_http_spectra_metrics_label(&l[1], "reason",
                                           spectra_metrics_reasons[j]);
            ngx_http_spectra_metrics_line(t, l, 2, v);
        }
    }

    ngx_http_spectra_metrics_head(t, "spectra_token_cache_lookups_total",
        "counter", "Verified-JWT cache lookups, by result.");
    ngx_http_spectra_metrics_label(&l[0], "result", "hit");
    ngx_http_spectra_metrics_line(t, l, 1, sh->token_cache[1]);
    ngx_http_spectra_metrics_label(&l[0], "result", "miss");
    ngx_http_spectra_metrics_line(t, l, 1, sh->token_cache[0]);

    ngx_http_spectra_metrics_head(t, "spectra_dataapi_sessions_total",
        "counter", "Data API session use by statements, by result.");

    for (i = 0; i < 3; i++) {
        ngx_http_spectra_metrics_label(&l[0], "result", sessions[i]);
        ngx_http_spectra_metrics_line(t, l, 1, sh->sessions[i]);
    }

    ngx_http_spectra_metrics_jwks(t);
    ngx_http_spectra_metrics_awscreds(t);

    ngx_http_spectra_metrics_head(t, "spectra_metrics_tenants", "gauge",
        "Tenants with series of their own.");
    ngx_http_spectra_metrics_line(t, NULL, 0, sh->tenants_used);

    ngx_http_spectra_metrics_head(t, "spectra_metrics_tenants_limit", "gauge",
        "spectra_metrics_max_tenants: further tenants count as \"other\".");
    ngx_http_spectra_metrics_line(t, NULL, 0, sh->max);
}


/* The key sets from URLs (ngx_http_spectra_jwks.c), one series each. */

static void
ngx_http_spectra_metrics_jwks(ngx_http_spectra_metrics_text_t *t)
{
    time_t                          now;
    ngx_uint_t                      n, k, nsets;
    spectra_metrics_label_t         l[2];
    ngx_http_spectra_jwks_state_t   st[16];

    static const char  *heads[][3] = {
        { "spectra_jwks_keys", "gauge",
          "Keys in the last good set of a JWKS URL (0: none yet)." },
        { "spectra_jwks_age_seconds", "gauge",
          "Seconds since the last good fetch of a JWKS URL." },
        { "spectra_jwks_stale", "gauge",
          "1 when a JWKS URL's set is past its refresh time (fetches "
          "fail), 0 when fresh." },
        { "spectra_jwks_usable", "gauge",
          "1 while the set verifies tokens, 0 once past "
          "spectra_jwt_jwks_stale or before the first fetch." },
        { "spectra_jwks_fetches_total", "counter",
          "Fetches of a JWKS URL, by result." }
    };

    for (nsets = 0; nsets < 16; nsets++) {
        if (ngx_http_spectra_jwks_state((ngx_cycle_t *) ngx_cycle, nsets,
                                        &st[nsets])
            != NGX_OK)
        {
            break;
        }
    }

    if (nsets == 0) {
        return;
    }

    now = ngx_time();

    for (k = 0; k < 5; k++) {
        ngx_http_spectra_metrics_head(t, heads[k][0], heads[k][1],
                                      heads[k][2]);

        for (n = 0; n < nsets; n++) {
            l[0].name = "url";
            l[0].value.data = st[n].url.data;
            l[0].value.len = st[n].url.len;

            switch (k) {

            case 0:
                ngx_http_spectra_metrics_line(t, l, 1, st[n].keys);
                break;

            case 1:
                if (st[n].fetched) {
                    ngx_http_spectra_metrics_line(t, l, 1,
                                                  now - st[n].fetched);
                }

                break;

            case 2:
                ngx_http_spectra_metrics_line(t, l, 1,
                                              st[n].fetched && !st[n].fresh);
                break;

            case 3:
                ngx_http_spectra_metrics_line(t, l, 1, st[n].usable);
                break;

            default:
                ngx_http_spectra_metrics_label(&l[1], "result", "ok");
                ngx_http_spectra_metrics_line(t, l, 2, st[n].fetches);
                ngx_http_spectra_metrics_label(&l[1], "result", "error");
                ngx_http_spectra_metrics_line(t, l, 2, st[n].failures);
            }
        }
    }
}


/*
 * The refreshed AWS credentials (ngx_http_spectra_awscreds.c), one series
 * per provider in the configuration.
 */

static void
ngx_http_spectra_metrics_awscreds(ngx_http_spectra_metrics_text_t *t)
{
    u_char                              index[NGX_INT_T_LEN];
    time_t                              now;
    ngx_uint_t                          n, k, nsrc;
    spectra_metrics_label_t             l[3];
    ngx_http_spectra_awscreds_state_t   st[16];

    static const char  *heads[][3] = {
        { "spectra_aws_credentials_age_seconds", "gauge",
          "Seconds since the AWS credentials were last fetched." },
        { "spectra_aws_credentials_expiry_seconds", "gauge",
          "Seconds until the current AWS credentials expire (0: "
          "expired)." },
        { "spectra_aws_credentials_usable", "gauge",
          "1 while there are unexpired AWS credentials to sign with." },
        { "spectra_aws_credentials_refreshes_total", "counter",
          "Refreshes of the AWS credentials, by result." }
    };

    for (nsrc = 0; nsrc < 16; nsrc++) {
        if (ngx_http_spectra_awscreds_state((ngx_cycle_t *) ngx_cycle, nsrc,
                                            &st[nsrc])
            != NGX_OK)
        {
            break;
        }
    }

    if (nsrc == 0) {
        return;
    }

    now = ngx_time();

    for (k = 0; k < 4; k++) {
        ngx_http_spectra_metrics_head(t, heads[k][0], heads[k][1],
                                      heads[k][2]);

        for (n = 0; n < nsrc; n++) {
            ngx_http_spectra_metrics_label(&l[0], "provider",
                                           st[n].provider);
            l[1].name = "index";
            l[1].value.data = index;
            l[1].value.len = ngx_sprintf(index, "%ui", n) - index;

            switch (k) {

            case 0:
                if (st[n].fetched) {
                    ngx_http_spectra_metrics_line(t, l, 2,
                                                  now - st[n].fetched);
                }

                break;

            case 1:
                if (st[n].fetched && st[n].expires) {
                    ngx_http_spectra_metrics_line(t, l, 2,
                                                  st[n].expires > now
                                                  ? st[n].expires - now : 0);
                }

                break;

            case 2:
                ngx_http_spectra_metrics_line(t, l, 2, st[n].usable);
                break;

            default:
                ngx_http_spectra_metrics_label(&l[2], "result", "ok");
                ngx_http_spectra_metrics_line(t, l, 3, st[n].refreshes);
                ngx_http_spectra_metrics_label(&l[2], "result", "error");
                ngx_http_spectra_metrics_line(t, l, 3, st[n].failures);
            }
        }
    }
}


static void
ngx_http_spectra_metrics_tenants(ngx_http_spectra_metrics_text_t *t,
    ngx_http_spectra_metrics_sh_t *sh, ngx_uint_t counter)
{
    size_t                              len;
    ngx_uint_t                          i, k;
    spectra_metrics_label_t             l;
    ngx_http_spectra_metrics_tenant_t  *tn;

    l.name = "tenant";

    for (i = 0; i < sh->nslots; i++) {
        tn = &sh->tenant[i];
        len = tn->len;

        if (len == 0) {
            continue;
        }

        ngx_memory_barrier();

        l.value.data = tn->name;
        l.value.len = len;
        ngx_http_spectra_metrics_line(t, &l, 1, tn->n[counter]);
    }

    for (k = 0; k < NGX_HTTP_SPECTRA_METRICS_TENANT_COUNTERS; k++) {
        if (sh->other.n[k] != 0) {
            ngx_http_spectra_metrics_label(&l, "tenant", "other");
            ngx_http_spectra_metrics_line(t, &l, 1, sh->other.n[counter]);
            break;
        }
    }
}


static void
ngx_http_spectra_metrics_head(ngx_http_spectra_metrics_text_t *t,
    const char *name, const char *type, const char *help)
{
    t->name = name;
    t->type = type;
    t->help = help;
    t->head = 0;
}


static void
ngx_http_spectra_metrics_line(ngx_http_spectra_metrics_text_t *t,
    spectra_metrics_label_t *labels, ngx_uint_t n, uint64_t value)
{
    if (!t->head) {
        spectra_metrics_family(&t->out, t->name, t->type, t->help);
        t->head = 1;
    }

    spectra_metrics_sample(&t->out, t->name, labels, n, value);
}


/* a series with no observation is left out, but the unlabelled one */

static void
ngx_http_spectra_metrics_hist(ngx_http_spectra_metrics_text_t *t,
    spectra_metrics_label_t *labels, ngx_uint_t n,
    spectra_metrics_hist_e kind, ngx_http_spectra_metrics_hist_t *h)
{
    unsigned         nb, i;
    uint64_t         counts[SPECTRA_METRICS_BUCKETS_MAX + 1], total;
    const uint64_t  *bounds;

    bounds = spectra_metrics_bounds(kind, &nb);
    total = 0;

    for (i = 0; i <= nb; i++) {
        counts[i] = h->bucket[i];
        total += counts[i];
    }

    if (total == 0 && n > 0) {
        return;
    }

    if (!t->head) {
        spectra_metrics_family(&t->out, t->name, t->type, t->help);
        t->head = 1;
    }

    spectra_metrics_histogram(&t->out, t->name, labels, n, bounds, nb, counts,
                              h->sum);
}


static void
ngx_http_spectra_metrics_label(spectra_metrics_label_t *l, const char *name,
    const char *value)
{
    l->name = name;
    l->value.data = (u_char *) value;
    l->value.len = ngx_strlen(value);
}


static size_t
ngx_http_spectra_metrics_nslots(ngx_uint_t max)
{
    size_t  n;

    for (n = 2; n < 2 * max; n *= 2) { /* void */ }

    return n;
}


static size_t
ngx_http_spectra_metrics_size(ngx_http_spectra_metrics_main_conf_t *mmcf)
{
    size_t  n;

    n = sizeof(ngx_http_spectra_metrics_sh_t)
        + ngx_http_spectra_metrics_nslots(mmcf->max_tenants)
          * sizeof(ngx_http_spectra_metrics_tenant_t);

    /* the slab pool's own pages */
    return ngx_align(n, ngx_pagesize) + 8 * ngx_pagesize;
}


static ngx_int_t
ngx_http_spectra_metrics_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_http_spectra_metrics_main_conf_t  *omcf = data;

    size_t                                 nslots;
    ngx_slab_pool_t                       *shpool;
    ngx_http_spectra_metrics_sh_t         *sh;
    ngx_http_spectra_metrics_main_conf_t  *mmcf;

    mmcf = shm_zone->data;
    shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;
    mmcf->shpool = shpool;

    nslots = ngx_http_spectra_metrics_nslots(mmcf->max_tenants);

    if (omcf != NULL && omcf->sh != NULL && omcf->sh->nslots == nslots) {
        /*
         * a reload (the zone's size is the same): the counters go on; a
         * new cap applies to tenants not seen yet
         */
        mmcf->sh = omcf->sh;
        mmcf->sh->max = mmcf->max_tenants;
        return NGX_OK;
    }

    if (shm_zone->shm.exists) {
        mmcf->sh = shpool->data;
        return NGX_OK;
    }

    sh = ngx_slab_calloc(shpool, sizeof(ngx_http_spectra_metrics_sh_t)
                                 + nslots
                                   * sizeof(ngx_http_spectra_metrics_tenant_t));
    if (sh == NULL) {
        return NGX_ERROR;
    }

    sh->nslots = nslots;
    sh->max = mmcf->max_tenants;

    shpool->data = sh;
    mmcf->sh = sh;

    return NGX_OK;
}


static void *
ngx_http_spectra_metrics_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_spectra_metrics_main_conf_t  *mmcf;

    mmcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_spectra_metrics_main_conf_t));
    if (mmcf == NULL) {
        return NULL;
    }

    mmcf->max_tenants = NGX_CONF_UNSET_UINT;
    mmcf->ready_cache = NGX_CONF_UNSET_MSEC;

    return mmcf;
}


/*
 * The zone's size follows from the tenant cap; a reload that changes the
 * cap gets a new zone (counters start again at zero, as after a restart).
 */

static char *
ngx_http_spectra_metrics_init_main_conf(ngx_conf_t *cf, void *conf)
{
    ngx_http_spectra_metrics_main_conf_t *mmcf = conf;

    ngx_conf_init_uint_value(mmcf->max_tenants, 100);
    ngx_conf_init_msec_value(mmcf->ready_cache, 1000);

    mmcf->zone = ngx_shared_memory_add(cf, &ngx_http_spectra_metrics_zone_name,
                                       ngx_http_spectra_metrics_size(mmcf),
                                       &ngx_http_spectra_metrics_module);
    if (mmcf->zone == NULL) {
        return NGX_CONF_ERROR;
    }

    mmcf->zone->init = ngx_http_spectra_metrics_init_zone;
    mmcf->zone->data = mmcf;

    return NGX_CONF_OK;
}


static char *
ngx_http_spectra_metrics(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_core_loc_conf_t  *clcf;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);

    if (clcf->handler != NULL) {
        return "is duplicate or conflicts with another content handler";
    }

    clcf->handler = ngx_http_spectra_metrics_handler;

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_spectra_metrics_init(ngx_conf_t *cf)
{
    ngx_http_handler_pt        *h;
    ngx_http_core_main_conf_t  *cmcf;

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_LOG_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_spectra_metrics_log_handler;

    return NGX_OK;
}
