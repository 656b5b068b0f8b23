/*
 * ngx_http_spectra_jwks_module: JWT key sets from a URL
 * (ngx_http_spectra_jwks.h).  Each URL has a shared memory zone with the
 * last good JWKS text and its schedule; a worker whose timer finds a
 * fetch due claims it in the zone (a claim lapses after the fetch
 * timeout, so another worker takes over from one that exited), fetches
 * through the background HTTP client (ngx_http_spectra_curl.c), checks
 * the answer with the same code as a JWKS file (spectra_jwt_keyset_add)
 * and stores it; every worker parses the stored text again when its
 * generation changes.  A refused answer keeps the last good set.
 */


#include "ngx_http_spectra_jwks.h"
#include "ngx_http_spectra_curl.h"
#include "spectra_oidc.h"


#define NGX_HTTP_SPECTRA_JWKS_ERR_LEN    160
#define NGX_HTTP_SPECTRA_JWKS_DOC_MAX    (64 * 1024)
#define NGX_HTTP_SPECTRA_JWKS_TICK       1000
#define NGX_HTTP_SPECTRA_JWKS_POLL       10
#define NGX_HTTP_SPECTRA_JWKS_WELL_KNOWN "/.well-known/openid-configuration"


typedef struct {
    uint64_t                    generation;   /* 0: no key set yet */
    uint64_t                    attempts;     /* fetches ended */
    uint64_t                    fetches;      /* that stored a set */
    uint64_t                    failures;
    time_t                      fetched;      /* of the stored set */
    time_t                      expires;      /* fresh until */
    time_t                      next;         /* next scheduled fetch */
    time_t                      forced;       /* last unknown-kid fetch */
    ngx_pid_t                   owner;        /* the fetching worker */
    time_t                      owner_until;  /* its claim lapses */
    ngx_uint_t                  nkeys;
    size_t                      len;
    u_char                     *data;         /* max_size bytes */
    u_char                      error[NGX_HTTP_SPECTRA_JWKS_ERR_LEN];
} ngx_http_spectra_jwks_sh_t;


struct ngx_http_spectra_jwks_s {
    ngx_str_t                   url;          /* NUL-terminated */
    ngx_str_t                   issuer;       /* discovery: the prefix */
    ngx_str_t                   cainfo;       /* NUL-terminated or empty */
    ngx_flag_t                  discovery;
    time_t                      refresh_min;
    time_t                      refresh_max;
    time_t                      stale;
    ngx_msec_t                  timeout;
    size_t                      max_size;
    ngx_shm_zone_t             *zone;

    /* this worker's */
    ngx_http_spectra_jwks_sh_t *sh;
    ngx_slab_pool_t            *shpool;
    spectra_jwt_keyset_t       *keys;
    uint64_t                    generation;
    ngx_event_t                 timer;
    ngx_pool_t                 *pool;         /* of the fetch in flight */
    ngx_http_spectra_curl_call_t  *call;
    ngx_log_t                  *log;
};


typedef struct {
    ngx_array_t                 sources;      /* ngx_http_spectra_jwks_t * */
} ngx_http_spectra_jwks_main_conf_t;


typedef struct {
    ngx_str_t                   url;
    ngx_flag_t                  discovery;
    ngx_str_t                   trusted;
    time_t                      refresh_min;
    time_t                      refresh_max;
    time_t                      stale;
    ngx_msec_t                  timeout;
    size_t                      max_size;
    ngx_http_spectra_jwks_t    *source;
} ngx_http_spectra_jwks_loc_conf_t;


typedef struct {
    ngx_event_t                 timer;
    ngx_http_request_t         *request;
    ngx_http_spectra_jwks_t    *source;
    uint64_t                    attempts;
    uint64_t                    generation;
    ngx_msec_t                  deadline;
    unsigned                    waiting:1;
    unsigned                    waited:1;
} ngx_http_spectra_jwks_ctx_t;


static void ngx_http_spectra_jwks_sync(ngx_http_spectra_jwks_t *src);
static void ngx_http_spectra_jwks_tick(ngx_event_t *ev);
static ngx_uint_t ngx_http_spectra_jwks_claim(ngx_http_spectra_jwks_t *src,
    ngx_uint_t forced);
static void ngx_http_spectra_jwks_fetch(ngx_http_spectra_jwks_t *src);
static ngx_int_t ngx_http_spectra_jwks_get(ngx_http_spectra_jwks_t *src,
    ngx_str_t *url, size_t max);
static void ngx_http_spectra_jwks_discovered(void *data, ngx_uint_t status,
    ngx_str_t *body);
static void ngx_http_spectra_jwks_fetched(void *data, ngx_uint_t status,
    ngx_str_t *body);
static ngx_uint_t ngx_http_spectra_jwks_json_type(ngx_str_t *type);
static void ngx_http_spectra_jwks_failed(ngx_http_spectra_jwks_t *src,
    const char *fmt, ...);
static void ngx_http_spectra_jwks_end(ngx_http_spectra_jwks_t *src);
static ngx_http_spectra_jwks_ctx_t *ngx_http_spectra_jwks_get_ctx(
    ngx_http_request_t *r, ngx_http_spectra_jwks_t *src);
static void ngx_http_spectra_jwks_ctx_cleanup(void *data);
static void ngx_http_spectra_jwks_wake(ngx_event_t *ev);

static ngx_int_t ngx_http_spectra_jwks_init_process(ngx_cycle_t *cycle);
static void ngx_http_spectra_jwks_exit_process(ngx_cycle_t *cycle);
static void *ngx_http_spectra_jwks_create_main_conf(ngx_conf_t *cf);
static void *ngx_http_spectra_jwks_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_spectra_jwks_merge_loc_conf(ngx_conf_t *cf,
    void *parent, void *child);
static ngx_int_t ngx_http_spectra_jwks_add(ngx_conf_t *cf,
    ngx_http_spectra_jwks_loc_conf_t *conf);
static ngx_int_t ngx_http_spectra_jwks_init_zone(ngx_shm_zone_t *shm_zone,
    void *data);
static void ngx_http_spectra_jwks_keyset_cleanup(void *data);
static char *ngx_http_spectra_jwks_url(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_spectra_jwks_refresh_bounds(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);


static ngx_command_t  ngx_http_spectra_jwks_commands[] = {

    { ngx_string("spectra_jwt_jwks_url"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE12,
      ngx_http_spectra_jwks_url,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("spectra_jwt_jwks_trusted_certificate"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_spectra_jwks_loc_conf_t, trusted),
      NULL },

    { ngx_string("spectra_jwt_jwks_refresh"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE2,
      ngx_http_spectra_jwks_refresh_bounds,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("spectra_jwt_jwks_stale"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_spectra_jwks_loc_conf_t, stale),
      NULL },

    { ngx_string("spectra_jwt_jwks_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_spectra_jwks_loc_conf_t, timeout),
      NULL },

    { ngx_string("spectra_jwt_jwks_max_size"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_spectra_jwks_loc_conf_t, max_size),
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_spectra_jwks_module_ctx = {
    NULL,                                  /* preconfiguration */
    NULL,                                  /* postconfiguration */

    ngx_http_spectra_jwks_create_main_conf,
                                           /* create main configuration */
    NULL,                                  /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_spectra_jwks_create_loc_conf, /* create location configuration */
    ngx_http_spectra_jwks_merge_loc_conf   /* merge location configuration */
};


ngx_module_t  ngx_http_spectra_jwks_module = {
    NGX_MODULE_V1,
    &ngx_http_spectra_jwks_module_ctx,     /* module context */
    ngx_http_spectra_jwks_commands,        /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    ngx_http_spectra_jwks_init_process,    /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_http_spectra_jwks_exit_process,    /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


ngx_http_spectra_jwks_t *
ngx_http_spectra_jwks_source(ngx_http_request_t *r)
{
    ngx_http_spectra_jwks_loc_conf_t  *jlcf;

    jlcf = ngx_http_get_module_loc_conf(r, ngx_http_spectra_jwks_module);

    return jlcf->source;
}


const spectra_jwt_keyset_t *
ngx_http_spectra_jwks_keys(ngx_http_spectra_jwks_t *src,
    uint64_t *generation, const char **reason)
{
    time_t  now;

    if (src->sh == NULL) {
        *reason = "the key set is not available in this process";
        return NULL;
    }

    ngx_http_spectra_jwks_sync(src);

    if (src->keys == NULL) {
        *reason = "no key set fetched yet";
        return NULL;
    }

    now = ngx_time();

    if (now >= src->sh->expires + src->stale) {
        *reason = "the key set is stale (the last good one expired "
                  "beyond spectra_jwt_jwks_stale)";
        return NULL;
    }

    *generation = src->generation;

    return src->keys;
}


/* Parses the shared set again when another worker stored a new one. */

static void
ngx_http_spectra_jwks_sync(ngx_http_spectra_jwks_t *src)
{
    u_char                *buf;
    size_t                 len;
    uint64_t               gen;
    spectra_err_t          err;
    spectra_jwt_keyset_t  *ks;

    if (src->sh->generation == src->generation) {
        return;
    }

    buf = NULL;

    ngx_shmtx_lock(&src->shpool->mutex);

    gen = src->sh->generation;
    len = src->sh->len;

    if (len) {
        buf = ngx_alloc(len, src->log);

        if (buf != NULL) {
            ngx_memcpy(buf, src->sh->data, len);
        }
    }

    ngx_shmtx_unlock(&src->shpool->mutex);

    if (buf == NULL) {
        return;
    }

    ks = spectra_jwt_keyset_new();

    if (ks == NULL
        || spectra_jwt_keyset_add(ks, buf, len, SPECTRA_JWT_KEY_JWKS, 0,
                                  NULL, 0, &err)
           != 0)
    {
        /* the fetching worker checked it: only memory can fail here */
        ngx_log_error(NGX_LOG_ALERT, src->log, 0,
                      "spectra: JWKS \"%V\" could not be loaded again",
                      &src->url);
        spectra_jwt_keyset_free(ks);
        ngx_free(buf);
        return;
    }

    ngx_free(buf);

    spectra_jwt_keyset_free(src->keys);
    src->keys = ks;
    src->generation = gen;
}


ngx_int_t
ngx_http_spectra_jwks_refresh(ngx_http_request_t *r,
    ngx_http_spectra_jwks_t *src)
{
    ngx_http_spectra_jwks_ctx_t  *ctx;

    if (src->sh == NULL) {
        return NGX_DECLINED;
    }

    ctx = ngx_http_spectra_jwks_get_ctx(r, src);

    if (ctx == NULL || ctx->waited) {
        return NGX_DECLINED;
    }

    if (src->pool != NULL) {
        return NGX_AGAIN;
    }

    switch (ngx_http_spectra_jwks_claim(src, 1)) {

    case NGX_OK:
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "spectra: JWKS \"%V\" cannot verify a token: "
                      "refreshing it", &src->url);
        ngx_http_spectra_jwks_fetch(src);
        return (src->pool != NULL) ? NGX_AGAIN : NGX_DECLINED;

    case NGX_BUSY:
        return NGX_AGAIN;

    default:
        return NGX_DECLINED;
    }
}


/*
 * Claims the next fetch in the zone: NGX_OK (this worker fetches),
 * NGX_BUSY (another fetch runs), NGX_DECLINED (none is due; forced: the
 * last forced one is more recent than spectra_jwt_jwks_refresh's min).
 */

static ngx_uint_t
ngx_http_spectra_jwks_claim(ngx_http_spectra_jwks_t *src, ngx_uint_t forced)
{
    time_t                       now;
    ngx_uint_t                   rc;
    ngx_http_spectra_jwks_sh_t  *sh;

    sh = src->sh;
    now = ngx_time();

    ngx_shmtx_lock(&src->shpool->mutex);

    if (sh->owner != 0 && now < sh->owner_until) {
        rc = NGX_BUSY;

    } else if (forced) {
        if (sh->forced != 0 && now < sh->forced + src->refresh_min) {
            rc = NGX_DECLINED;

        } else {
            sh->forced = now;
            rc = NGX_OK;
        }

    } else {
        rc = (now >= sh->next) ? NGX_OK : NGX_DECLINED;
    }

    if (rc == NGX_OK) {
        sh->owner = ngx_pid;
        sh->owner_until = now + (time_t) (src->timeout / 1000) * 2 + 2;
    }

    ngx_shmtx_unlock(&src->shpool->mutex);

    return rc;
}


static void
ngx_http_spectra_jwks_tick(ngx_event_t *ev)
{
    ngx_http_spectra_jwks_t  *src;

    src = ev->data;

    if (src->pool == NULL
        && ngx_http_spectra_jwks_claim(src, 0) == NGX_OK)
    {
        ngx_http_spectra_jwks_fetch(src);
    }

    ngx_http_spectra_jwks_sync(src);

    if (!ngx_exiting) {
        ngx_add_timer(ev, NGX_HTTP_SPECTRA_JWKS_TICK);
    }
}


/* Starts the fetch this worker claimed (the discovery document first). */

static void
ngx_http_spectra_jwks_fetch(ngx_http_spectra_jwks_t *src)
{
    ngx_int_t  rc;

    src->pool = ngx_create_pool(4096, src->log);
    if (src->pool == NULL) {
        ngx_http_spectra_jwks_failed(src, "out of memory");
        return;
    }

    if (src->discovery) {
        rc = ngx_http_spectra_jwks_get(src, &src->url,
                                       NGX_HTTP_SPECTRA_JWKS_DOC_MAX);
        if (rc == NGX_OK) {
            src->call->handler = ngx_http_spectra_jwks_discovered;
        }

    } else {
        rc = ngx_http_spectra_jwks_get(src, &src->url, src->max_size);
    }

    if (rc != NGX_OK) {
        ngx_http_spectra_jwks_failed(src, "the request could not start");
    }
}


static ngx_int_t
ngx_http_spectra_jwks_get(ngx_http_spectra_jwks_t *src, ngx_str_t *url,
    size_t max)
{
    ngx_http_spectra_curl_call_t  *call;

    call = ngx_pcalloc(src->pool, sizeof(ngx_http_spectra_curl_call_t));
    if (call == NULL) {
        return NGX_ERROR;
    }

    call->url = *url;
    call->method = "GET";
    call->cainfo = src->cainfo;
    ngx_str_set(&call->headers[0], "Accept: application/json");
    call->nheaders = 1;
    call->timeout = src->timeout;
    call->max_answer = max;
    call->pool = src->pool;
    call->log = src->log;
    call->handler = ngx_http_spectra_jwks_fetched;
    call->data = src;

    src->call = call;

    return ngx_http_spectra_curl_post(call);
}


static void
ngx_http_spectra_jwks_discovered(void *data, ngx_uint_t status,
    ngx_str_t *body)
{
    ngx_http_spectra_jwks_t *src = data;

    char           *uri;
    ngx_str_t       url;
    spectra_err_t   err;

    if (status != NGX_HTTP_OK) {
        ngx_http_spectra_jwks_failed(src, "the discovery document "
                                     "answered %ui", status);
        return;
    }

    if (!ngx_http_spectra_jwks_json_type(&src->call->content_type)) {
        ngx_http_spectra_jwks_failed(src, "the discovery document is not "
                                     "application/json");
        return;
    }

    uri = ngx_pnalloc(src->pool, SPECTRA_OIDC_URI_MAX);
    if (uri == NULL) {
        ngx_http_spectra_jwks_failed(src, "out of memory");
        return;
    }

    if (spectra_oidc_jwks_uri(body->data, body->len,
                              ngx_http_spectra_str(&src->issuer),
                              ngx_strncmp(src->url.data, "http://", 7) == 0,
                              uri, &err)
        != 0)
    {
        ngx_http_spectra_jwks_failed(src, "%s", err.message);
        return;
    }

    url.data = (u_char *) uri;
    url.len = ngx_strlen(uri);

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, src->log, 0,
                   "spectra jwks: \"%V\" names \"%V\"", &src->url, &url);

    if (ngx_http_spectra_jwks_get(src, &url, src->max_size) != NGX_OK) {
        ngx_http_spectra_jwks_failed(src, "the request could not start");
    }
}


/* Checks the answer as a JWKS file is checked, then shares it. */

static void
ngx_http_spectra_jwks_fetched(void *data, ngx_uint_t status,
    ngx_str_t *body)
{
    ngx_http_spectra_jwks_t *src = data;

    time_t                       now;
    int64_t                      ttl;
    ngx_uint_t                   nkeys;
    spectra_err_t                err;
    spectra_jwt_keyset_t        *ks;
    ngx_http_spectra_jwks_sh_t  *sh;

    if (status != NGX_HTTP_OK) {
        ngx_http_spectra_jwks_failed(src, "the JWKS answered %ui", status);
        return;
    }

    if (!ngx_http_spectra_jwks_json_type(&src->call->content_type)) {
        ngx_http_spectra_jwks_failed(src, "the JWKS is not "
                                     "application/json or "
                                     "application/jwk-set+json");
        return;
    }

    if (body->len == 0 || body->data[0] != '{') {
        ngx_http_spectra_jwks_failed(src, "the JWKS is not a JSON object");
        return;
    }

    ks = spectra_jwt_keyset_new();
    if (ks == NULL) {
        ngx_http_spectra_jwks_failed(src, "out of memory");
        return;
    }

    if (spectra_jwt_keyset_add(ks, body->data, body->len,
                               SPECTRA_JWT_KEY_JWKS, 0, NULL, 0, &err)
        != 0)
    {
        spectra_jwt_keyset_free(ks);
        ngx_http_spectra_jwks_failed(src, "%s", err.message);
        return;
    }

    nkeys = spectra_jwt_keyset_count(ks);

    if (nkeys == 0) {
        spectra_jwt_keyset_free(ks);
        ngx_http_spectra_jwks_failed(src, "the JWKS has no keys");
        return;
    }

    now = ngx_time();

    ttl = spectra_http_freshness(ngx_http_spectra_str(
                                     &src->call->cache_control),
                                 ngx_http_spectra_str(&src->call->expires),
                                 ngx_http_spectra_str(&src->call->date), now);

    if (ttl < 0 || ttl > src->refresh_max) {
        ttl = src->refresh_max;
    }

    if (ttl < src->refresh_min) {
        ttl = src->refresh_min;
    }

    sh = src->sh;

    ngx_shmtx_lock(&src->shpool->mutex);

    ngx_memcpy(sh->data, body->data, body->len);
    sh->len = body->len;
    sh->nkeys = nkeys;
    sh->generation++;
    sh->fetches++;
    sh->attempts++;
    sh->fetched = now;
    sh->expires = now + ttl;
    sh->next = now + ttl;
    sh->error[0] = '\0';

    if (sh->owner == ngx_pid) {
        sh->owner = 0;
    }

    /* this worker has the set parsed already */
    spectra_jwt_keyset_free(src->keys);
    src->keys = ks;
    src->generation = sh->generation;

    ngx_shmtx_unlock(&src->shpool->mutex);

    ngx_log_error(NGX_LOG_NOTICE, src->log, 0,
                  "spectra: JWKS \"%V\": %ui keys, fresh for %T s",
                  &src->url, nkeys, (time_t) ttl);

    ngx_http_spectra_jwks_end(src);
}


/* application/json or application/jwk-set+json, any parameters. */

static ngx_uint_t
ngx_http_spectra_jwks_json_type(ngx_str_t *type)
{
    size_t  len;

    len = 0;

    while (len < type->len && type->data[len] != ';'
           && type->data[len] != ' ')
    {
        len++;
    }

    return (len == sizeof("application/json") - 1
            && ngx_strncasecmp(type->data, (u_char *) "application/json",
                               len) == 0)
           || (len == sizeof("application/jwk-set+json") - 1
               && ngx_strncasecmp(type->data,
                                  (u_char *) "application/jwk-set+json",
                                  len) == 0);
}


static void
ngx_http_spectra_jwks_failed(ngx_http_spectra_jwks_t *src, const char *fmt,
    ...)
{
    time_t                       now, age;
    u_char                      *p;
    va_list                      args;
    ngx_http_spectra_jwks_sh_t  *sh;
    u_char                       msg[NGX_HTTP_SPECTRA_JWKS_ERR_LEN];

    va_start(args, fmt);
    p = ngx_vslprintf(msg, msg + sizeof(msg) - 1, fmt, args);
    va_end(args);
    *p = '\0';

    sh = src->sh;
    now = ngx_time();

    ngx_shmtx_lock(&src->shpool->mutex);

    sh->attempts++;
    sh->failures++;
    sh->next = now + src->refresh_min;
    ngx_cpystrn(sh->error, msg, NGX_HTTP_SPECTRA_JWKS_ERR_LEN);
    age = sh->generation ? now - sh->fetched : -1;

    if (sh->owner == ngx_pid) {
        sh->owner = 0;
    }

    ngx_shmtx_unlock(&src->shpool->mutex);

    if (age >= 0) {
        ngx_log_error(NGX_LOG_ERR, src->log, 0,
                      "spectra: JWKS \"%V\" refused: %s; keeping the key "
                      "set fetched %T s ago", &src->url, msg, age);

    } else {
        ngx_log_error(NGX_LOG_ERR, src->log, 0,
                      "spectra: JWKS \"%V\" refused: %s; no key set yet",
                      &src->url, msg);
    }

    ngx_http_spectra_jwks_end(src);
}


static void
ngx_http_spectra_jwks_end(ngx_http_spectra_jwks_t *src)
{
    if (src->pool != NULL) {
        ngx_destroy_pool(src->pool);
        src->pool = NULL;
    }

    src->call = NULL;
}


ngx_int_t
ngx_http_spectra_jwks_wait(ngx_http_request_t *r,
    ngx_http_spectra_jwks_t *src)
{
    ngx_http_spectra_jwks_ctx_t  *ctx;

    ctx = ngx_http_spectra_jwks_get_ctx(r, src);

    if (ctx == NULL || ctx->waited) {
        return NGX_OK;
    }

    if (ctx->waiting) {
        /* woken: once is all a request gets */
        ctx->waiting = 0;
        ctx->waited = 1;
        return NGX_OK;
    }

    ctx->waiting = 1;
    ctx->attempts = src->sh->attempts;
    ctx->generation = src->sh->generation;
    ctx->deadline = ngx_current_msec + src->timeout;

    ngx_add_timer(&ctx->timer, NGX_HTTP_SPECTRA_JWKS_POLL);

    r->read_event_handler = ngx_http_test_reading;
    r->write_event_handler = ngx_http_request_empty_handler;

    ngx_log_debug0(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "spectra jwks: waiting for the key set");

    return NGX_AGAIN;
}


static ngx_http_spectra_jwks_ctx_t *
ngx_http_spectra_jwks_get_ctx(ngx_http_request_t *r,
    ngx_http_spectra_jwks_t *src)
{
    ngx_pool_cleanup_t           *cln;
    ngx_http_spectra_jwks_ctx_t  *ctx;

    r = r->main;

    ctx = ngx_http_get_module_ctx(r, ngx_http_spectra_jwks_module);

    if (ctx != NULL) {
        return ctx;
    }

    cln = ngx_pool_cleanup_add(r->pool, sizeof(ngx_http_spectra_jwks_ctx_t));
    if (cln == NULL) {
        return NULL;
    }

    ctx = cln->data;
    ngx_memzero(ctx, sizeof(ngx_http_spectra_jwks_ctx_t));

    ctx->request = r;
    ctx->source = src;
    ctx->timer.handler = ngx_http_spectra_jwks_wake;
    ctx->timer.data = ctx;
    ctx->timer.log = r->connection->log;

    cln->handler = ngx_http_spectra_jwks_ctx_cleanup;

    ngx_http_set_ctx(r, ctx, ngx_http_spectra_jwks_module);

    return ctx;
}


static void
ngx_http_spectra_jwks_ctx_cleanup(void *data)
{
    ngx_http_spectra_jwks_ctx_t  *ctx = data;

    if (ctx->timer.timer_set) {
        ngx_del_timer(&ctx->timer);
    }
}


/* Polls the zone: the request runs again when a fetch ended. */

static void
ngx_http_spectra_jwks_wake(ngx_event_t *ev)
{
    ngx_connection_t             *c;
    ngx_http_request_t           *r;
    ngx_http_spectra_jwks_sh_t   *sh;
    ngx_http_spectra_jwks_ctx_t  *ctx;

    ctx = ev->data;
    r = ctx->request;
    c = r->connection;
    sh = ctx->source->sh;

    if (sh->attempts == ctx->attempts && sh->generation == ctx->generation
        && (ngx_msec_int_t) (ctx->deadline - ngx_current_msec) > 0)
    {
        ngx_add_timer(ev, NGX_HTTP_SPECTRA_JWKS_POLL);
        return;
    }

    ngx_log_debug0(NGX_LOG_DEBUG_HTTP, c->log, 0,
                   "spectra jwks: the wait ended");

    r->read_event_handler = ngx_http_block_reading;
    r->write_event_handler = ngx_http_core_run_phases;

    ngx_http_core_run_phases(r);
    ngx_http_run_posted_requests(c);
}


ngx_int_t
ngx_http_spectra_jwks_state(ngx_cycle_t *cycle, ngx_uint_t n,
    ngx_http_spectra_jwks_state_t *state)
{
    time_t                              now;
    ngx_http_spectra_jwks_t           **srcs, *src;
    ngx_http_spectra_jwks_sh_t         *sh;
    ngx_http_spectra_jwks_main_conf_t  *jmcf;

    jmcf = ngx_http_cycle_get_module_main_conf(cycle,
                                               ngx_http_spectra_jwks_module);

    if (jmcf == NULL || n >= jmcf->sources.nelts) {
        return NGX_DECLINED;
    }

    srcs = jmcf->sources.elts;
    src = srcs[n];
    sh = src->sh;

    ngx_memzero(state, sizeof(ngx_http_spectra_jwks_state_t));
    state->url = src->url;

    if (sh == NULL) {
        return NGX_OK;
    }

    now = ngx_time();

    ngx_shmtx_lock(&src->shpool->mutex);

    if (sh->generation) {
        state->fetched = sh->fetched;
        state->expires = sh->expires;
        state->stale_until = sh->expires + src->stale;
        state->keys = sh->nkeys;
        state->usable = (now < state->stale_until);
        state->fresh = (now < sh->expires);
    }

    state->fetches = sh->fetches;
    state->failures = sh->failures;

    ngx_shmtx_unlock(&src->shpool->mutex);

    return NGX_OK;
}


static ngx_int_t
ngx_http_spectra_jwks_init_process(ngx_cycle_t *cycle)
{
    ngx_uint_t                          i;
    ngx_http_spectra_jwks_t           **srcs, *src;
    ngx_http_spectra_jwks_main_conf_t  *jmcf;

    jmcf = ngx_http_cycle_get_module_main_conf(cycle,
                                               ngx_http_spectra_jwks_module);

    if (jmcf == NULL || jmcf->sources.nelts == 0) {
        return NGX_OK;
    }

    if (ngx_http_spectra_curl_start(cycle) != NGX_OK) {
        return NGX_ERROR;
    }

    srcs = jmcf->sources.elts;

    for (i = 0; i < jmcf->sources.nelts; i++) {
        src = srcs[i];

        src->shpool = (ngx_slab_pool_t *) src->zone->shm.addr;
        src->sh = src->zone->data;
        src->log = cycle->log;

        src->timer.handler = ngx_http_spectra_jwks_tick;
        src->timer.data = src;
        src->timer.log = cycle->log;
        src->timer.cancelable = 1;

        /* at the next turn of the event loop */
        ngx_add_timer(&src->timer, 1);
    }

    return NGX_OK;
}


static void
ngx_http_spectra_jwks_exit_process(ngx_cycle_t *cycle)
{
    ngx_uint_t                          i;
    ngx_http_spectra_jwks_t           **srcs, *src;
    ngx_http_spectra_jwks_main_conf_t  *jmcf;

    jmcf = ngx_http_cycle_get_module_main_conf(cycle,
                                               ngx_http_spectra_jwks_module);

    if (jmcf == NULL) {
        return;
    }

    srcs = jmcf->sources.elts;

    for (i = 0; i < jmcf->sources.nelts; i++) {
        src = srcs[i];

        if (src->sh == NULL) {
            continue;
        }

        /* another worker may fetch at once */
        ngx_shmtx_lock(&src->shpool->mutex);

        if (src->sh->owner == ngx_pid) {
            src->sh->owner = 0;
        }

        ngx_shmtx_unlock(&src->shpool->mutex);

        if (src->timer.timer_set) {
            ngx_del_timer(&src->timer);
        }

        /* a fetch still out is dropped with the process */
        ngx_http_spectra_jwks_end(src);

        spectra_jwt_keyset_free(src->keys);
        src->keys = NULL;
    }
}


static void *
ngx_http_spectra_jwks_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_spectra_jwks_main_conf_t  *jmcf;

    jmcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_spectra_jwks_main_conf_t));
    if (jmcf == NULL) {
        return NULL;
    }

    if (ngx_array_init(&jmcf->sources, cf->pool, 2,
                       sizeof(ngx_http_spectra_jwks_t *))
        != NGX_OK)
    {
        return NULL;
    }

    return jmcf;
}


static void *
ngx_http_spectra_jwks_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_spectra_jwks_loc_conf_t  *conf;

    conf = ngx_pcalloc(cf->pool, sizeof(ngx_http_spectra_jwks_loc_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     conf->url = { 0, NULL };
     *     conf->trusted = { 0, NULL };
     *     conf->source = NULL;
     */

    conf->discovery = NGX_CONF_UNSET;
    conf->refresh_min = NGX_CONF_UNSET;
    conf->refresh_max = NGX_CONF_UNSET;
    conf->stale = NGX_CONF_UNSET;
    conf->timeout = NGX_CONF_UNSET_MSEC;
    conf->max_size = NGX_CONF_UNSET_SIZE;

    return conf;
}


static char *
ngx_http_spectra_jwks_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child)
{
    ngx_http_spectra_jwks_loc_conf_t *prev = parent;
    ngx_http_spectra_jwks_loc_conf_t *conf = child;

    if (conf->url.data == NULL) {
        conf->url = prev->url;
        conf->discovery = prev->discovery;
    }

    ngx_conf_merge_value(conf->discovery, prev->discovery, 0);
    ngx_conf_merge_str_value(conf->trusted, prev->trusted, "");
    ngx_conf_merge_sec_value(conf->refresh_min, prev->refresh_min, 60);
    ngx_conf_merge_sec_value(conf->refresh_max, prev->refresh_max, 3600);
    ngx_conf_merge_sec_value(conf->stale, prev->stale, 3600);
    ngx_conf_merge_msec_value(conf->timeout, prev->timeout, 5000);
    ngx_conf_merge_size_value(conf->max_size, prev->max_size, 256 * 1024);

    if (conf->url.data == NULL) {
        return NGX_CONF_OK;
    }

    if (conf->refresh_min > conf->refresh_max) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"spectra_jwt_jwks_refresh\": the minimum is "
                           "above the maximum");
        return NGX_CONF_ERROR;
    }

    if (conf->max_size < 64 || conf->max_size > 16 * 1024 * 1024) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"spectra_jwt_jwks_max_size\" must be between "
                           "64 bytes and 16m");
        return NGX_CONF_ERROR;
    }

    if (conf->timeout < 100) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"spectra_jwt_jwks_timeout\" must be at least "
                           "100ms");
        return NGX_CONF_ERROR;
    }

    /* a level that inherits the URL and its settings shares the source */
    if (conf->source == NULL && prev->source != NULL
        && prev->url.data == conf->url.data
        && prev->trusted.data == conf->trusted.data
        && prev->refresh_min == conf->refresh_min
        && prev->refresh_max == conf->refresh_max
        && prev->stale == conf->stale && prev->timeout == conf->timeout
        && prev->max_size == conf->max_size)
    {
        conf->source = prev->source;
        return NGX_CONF_OK;
    }

    if (ngx_http_spectra_jwks_add(cf, conf) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/*
 * The source of a URL: one per URL in the configuration, with one zone
 * (named after the URL, so that a reload keeps its key set).
 */

static ngx_int_t
ngx_http_spectra_jwks_add(ngx_conf_t *cf,
    ngx_http_spectra_jwks_loc_conf_t *conf)
{
    u_char                             *p;
    size_t                              size;
    uint32_t                            crc;
    ngx_str_t                           name;
    ngx_uint_t                          i;
    ngx_file_info_t                     fi;
    ngx_pool_cleanup_t                 *cln;
    ngx_http_spectra_jwks_t           **srcs, *src, **slot;
    ngx_http_spectra_jwks_main_conf_t  *jmcf;

    jmcf = ngx_http_conf_get_module_main_conf(cf,
                                              ngx_http_spectra_jwks_module);

    srcs = jmcf->sources.elts;

    for (i = 0; i < jmcf->sources.nelts; i++) {
        src = srcs[i];

        if (src->url.len != conf->url.len
            || ngx_strncmp(src->url.data, conf->url.data, conf->url.len)
               != 0)
        {
            continue;
        }

        if (src->discovery != conf->discovery
            || src->cainfo.len != conf->trusted.len
            || ngx_strncmp(src->cainfo.data, conf->trusted.data,
                           conf->trusted.len) != 0
            || src->refresh_min != conf->refresh_min
            || src->refresh_max != conf->refresh_max
            || src->stale != conf->stale || src->timeout != conf->timeout
            || src->max_size != conf->max_size)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"spectra_jwt_jwks_url %V\" is used with "
                               "other settings elsewhere; give every use "
                               "of a URL the same spectra_jwt_jwks_* "
                               "settings", &conf->url);
            return NGX_ERROR;
        }

        conf->source = src;
        return NGX_OK;
    }

    src = ngx_pcalloc(cf->pool, sizeof(ngx_http_spectra_jwks_t));
    if (src == NULL) {
        return NGX_ERROR;
    }

    src->url = conf->url;
    src->discovery = conf->discovery;
    src->refresh_min = conf->refresh_min;
    src->refresh_max = conf->refresh_max;
    src->stale = conf->stale;
    src->timeout = conf->timeout;
    src->max_size = conf->max_size;

    if (src->discovery) {
        src->issuer.data = src->url.data;
        src->issuer.len = src->url.len
                          - (sizeof(NGX_HTTP_SPECTRA_JWKS_WELL_KNOWN) - 1);
    }

    if (conf->trusted.len) {
        src->cainfo = conf->trusted;

        if (ngx_conf_full_name(cf->cycle, &src->cainfo, 1) != NGX_OK) {
            return NGX_ERROR;
        }

        if (ngx_file_info(src->cainfo.data, &fi) == NGX_FILE_ERROR)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                               "\"spectra_jwt_jwks_trusted_certificate\": "
                               "cannot read \"%V\"", &src->cainfo);
            return NGX_ERROR;
        }
    }

    /* zone names are short: the URL's CRC names it */
    crc = ngx_crc32_long(src->url.data, src->url.len);

    name.len = sizeof("spectra_jwks_") - 1 + 8;
    name.data = ngx_pnalloc(cf->pool, name.len);
    if (name.data == NULL) {
        return NGX_ERROR;
    }

    p = ngx_sprintf(name.data, "spectra_jwks_%08xD", crc);
    name.len = p - name.data;

    size = ngx_align(src->max_size, ngx_pagesize) + 16 * ngx_pagesize;

    src->zone = ngx_shared_memory_add(cf, &name, size,
                                      &ngx_http_spectra_jwks_module);
    if (src->zone == NULL) {
        return NGX_ERROR;
    }

    if (src->zone->data != NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"spectra_jwt_jwks_url %V\": another URL has "
                           "the same zone name \"%V\"", &src->url, &name);
        return NGX_ERROR;
    }

    src->zone->init = ngx_http_spectra_jwks_init_zone;
    src->zone->data = src;

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        return NGX_ERROR;
    }

    cln->handler = ngx_http_spectra_jwks_keyset_cleanup;
    cln->data = src;

    slot = ngx_array_push(&jmcf->sources);
    if (slot == NULL) {
        return NGX_ERROR;
    }

    *slot = src;
    conf->source = src;

    return NGX_OK;
}


static ngx_int_t
ngx_http_spectra_jwks_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_slab_pool_t             *shpool;
    ngx_http_spectra_jwks_t     *src;
    ngx_http_spectra_jwks_sh_t  *sh;

    src = shm_zone->data;

    if (data != NULL) {
        /* a reload: the same URL keeps its key set and schedule */
        shm_zone->data = data;
        return NGX_OK;
    }

    shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    sh = ngx_slab_calloc(shpool, sizeof(ngx_http_spectra_jwks_sh_t));
    if (sh == NULL) {
        return NGX_ERROR;
    }

    sh->data = ngx_slab_alloc(shpool, src->max_size);
    if (sh->data == NULL) {
        return NGX_ERROR;
    }

    shm_zone->data = sh;

    return NGX_OK;
}


static void
ngx_http_spectra_jwks_keyset_cleanup(void *data)
{
    ngx_http_spectra_jwks_t  *src = data;

    spectra_jwt_keyset_free(src->keys);
    src->keys = NULL;
}


/* spectra_jwt_jwks_url <url> [discovery]; */

static char *
ngx_http_spectra_jwks_url(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_spectra_jwks_loc_conf_t *jlcf = conf;

    size_t      n, wk;
    ngx_str_t  *value;

    if (jlcf->url.data != NULL) {
        return "is duplicate";
    }

    value = cf->args->elts;

    jlcf->discovery = 0;

    if (cf->args->nelts == 3) {
        if (ngx_strcmp(value[2].data, "discovery") != 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid parameter \"%V\"", &value[2]);
            return NGX_CONF_ERROR;
        }

        jlcf->discovery = 1;
    }

    if (!((value[1].len > 8
           && ngx_strncmp(value[1].data, "https://", 8) == 0)
          || (value[1].len > 7
              && ngx_strncmp(value[1].data, "http://", 7) == 0)))
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"spectra_jwt_jwks_url\" needs an https:// "
                           "(or http://) URL, not \"%V\"", &value[1]);
        return NGX_CONF_ERROR;
    }

    for (n = 0; n < value[1].len; n++) {
        if (value[1].data[n] <= 0x20 || value[1].data[n] >= 0x7f) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"spectra_jwt_jwks_url\": a control byte or "
                               "a space in the URL");
            return NGX_CONF_ERROR;
        }
    }

    wk = sizeof(NGX_HTTP_SPECTRA_JWKS_WELL_KNOWN) - 1;

    if (jlcf->discovery
        && (value[1].len <= wk
            || ngx_strncmp(value[1].data + value[1].len - wk,
                           NGX_HTTP_SPECTRA_JWKS_WELL_KNOWN, wk) != 0))
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"spectra_jwt_jwks_url ... discovery\" needs "
                           "the issuer's URL followed by "
                           "\"" NGX_HTTP_SPECTRA_JWKS_WELL_KNOWN "\"");
        return NGX_CONF_ERROR;
    }

    /* the configuration's strings are NUL-terminated: libcurl takes it */
    jlcf->url = value[1];

    return NGX_CONF_OK;
}


/* spectra_jwt_jwks_refresh <min> <max>; */

static char *
ngx_http_spectra_jwks_refresh_bounds(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_spectra_jwks_loc_conf_t *jlcf = conf;

    ngx_str_t  *value;

    if (jlcf->refresh_min != NGX_CONF_UNSET) {
        return "is duplicate";
    }

    value = cf->args->elts;

    jlcf->refresh_min = ngx_parse_time(&value[1], 1);
    jlcf->refresh_max = ngx_parse_time(&value[2], 1);

    if (jlcf->refresh_min == (time_t) NGX_ERROR || jlcf->refresh_min < 1
        || jlcf->refresh_max == (time_t) NGX_ERROR)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid \"spectra_jwt_jwks_refresh %V %V\": two "
                           "times, the first at least 1s", &value[1],
                           &value[2]);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


ngx_uint_t
ngx_http_spectra_jwks_configured(ngx_conf_t *cf)
{
    ngx_http_spectra_jwks_loc_conf_t  *jlcf;

    jlcf = ngx_http_conf_get_module_loc_conf(cf,
                                             ngx_http_spectra_jwks_module);

    return jlcf->source != NULL;
}
