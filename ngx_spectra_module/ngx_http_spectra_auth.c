/*
 * ngx_http_spectra_auth_module: authenticates callers (JWT or API key) in
 * the access phase and derives the tenant context from verified
 * credentials only.  The same lazy, cached authentication backs the
 * $spectra_* variables, so that limit_req (preaccess) can key on
 * $spectra_tenant_id.  Keys are loaded at configuration time.
 *
 * The glue's only jansson: it holds the verified JWT payload (a json_t,
 * released with the request pool; after a cache hit parsed again from
 * the cached payload text) and hands it to the core, which reads the
 * claims (spectra_claims.c).
 */


#include "ngx_http_spectra_auth.h"
#include "ngx_http_spectra_jwks.h"
#include "ngx_http_spectra_metrics.h"
#include "spectra_apikey.h"
#include "spectra_claims.h"
#include "spectra_jwt.h"
#include "spectra_tenant.h"

#include <openssl/evp.h>
#include <openssl/rand.h>


#define NGX_HTTP_SPECTRA_AUTH_OFF      0
#define NGX_HTTP_SPECTRA_AUTH_JWT      1
#define NGX_HTTP_SPECTRA_AUTH_APIKEY   2
#define NGX_HTTP_SPECTRA_AUTH_ANY      3

#define NGX_HTTP_SPECTRA_KEY_FILE_MAX  (1024 * 1024)


typedef struct {
    ngx_shm_zone_t             *cache;
    EVP_MD                     *sha256;
    u_char                      nonce[NGX_HTTP_SPECTRA_CACHE_NONCE_LEN];
} ngx_http_spectra_auth_main_conf_t;


typedef struct {
    ngx_uint_t                  mode;
    ngx_flag_t                  cache;
    spectra_jwt_keyset_t       *keys;
    ngx_str_t                   issuer;
    ngx_array_t                *audiences;       /* of ngx_str_t */
    spectra_str_t              *auds;
    ngx_uint_t                  nauds;
    time_t                      leeway;
    size_t                      max_size;
    ngx_str_t                   claim_tenant_id;
    ngx_str_t                   claim_db_user;
    ngx_str_t                   claim_db_group;
    ngx_str_t                   claim_permissions;
    ngx_str_t                   db_user_prefix;
    spectra_apikeys_t          *api_keys;
    ngx_uint_t                  require;
} ngx_http_spectra_auth_loc_conf_t;


typedef struct {
    ngx_http_spectra_tenant_t   tenant;
    ngx_http_spectra_auth_loc_conf_t  *conf;     /* what decided */
    const char                 *reason;
    json_t                     *payload;         /* JWT claims */
    ngx_str_t                   payload_text;    /* from the cache */
    const spectra_apikey_t     *api_key;
    unsigned                    done:1;
    unsigned                    ok:1;
    unsigned                    presented:1;
    unsigned                    error:1;
    unsigned                    wait:1;          /* for a key set fetch */
} ngx_http_spectra_auth_ctx_t;


static ngx_int_t ngx_http_spectra_auth_handler(ngx_http_request_t *r);
static ngx_http_spectra_auth_ctx_t *ngx_http_spectra_auth_get_ctx(
    ngx_http_request_t *r);
static void ngx_http_spectra_auth_cleanup(void *data);
static ngx_int_t ngx_http_spectra_auth_keep_json(ngx_http_request_t *r,
    json_t *json);
static void ngx_http_spectra_auth_json_cleanup(void *data);
static ngx_int_t ngx_http_spectra_authenticate(ngx_http_request_t *r,
    ngx_http_spectra_auth_ctx_t *ctx, ngx_http_spectra_auth_loc_conf_t *alcf);
static ngx_int_t ngx_http_spectra_auth_credentials(ngx_http_request_t *r,
    ngx_str_t *bearer, ngx_str_t *api_key);
static ngx_int_t ngx_http_spectra_auth_jwt(ngx_http_request_t *r,
    ngx_http_spectra_auth_ctx_t *ctx, ngx_http_spectra_auth_loc_conf_t *alcf,
    ngx_str_t *token);
static ngx_int_t ngx_http_spectra_auth_api_key(ngx_http_request_t *r,
    ngx_http_spectra_auth_ctx_t *ctx, ngx_http_spectra_auth_loc_conf_t *alcf,
    ngx_str_t *key);
static ngx_int_t ngx_http_spectra_auth_db_user(ngx_http_request_t *r,
    ngx_http_spectra_auth_ctx_t *ctx, ngx_http_spectra_auth_loc_conf_t *alcf);
static ngx_int_t ngx_http_spectra_auth_reject(ngx_http_request_t *r,
    ngx_uint_t status, ngx_uint_t missing);

static ngx_int_t ngx_http_spectra_auth_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_spectra_auth_claim_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);

static ngx_int_t ngx_http_spectra_auth_cache_key(ngx_http_request_t *r,
    ngx_http_spectra_auth_loc_conf_t *alcf, uint64_t generation,
    ngx_str_t *token, u_char *key);
static void ngx_http_spectra_auth_cache_store(ngx_http_request_t *r,
    ngx_http_spectra_auth_ctx_t *ctx, ngx_http_spectra_auth_loc_conf_t *alcf,
    ngx_str_t *token, u_char *key);

static ngx_int_t ngx_http_spectra_auth_add_variables(ngx_conf_t *cf);
static void *ngx_http_spectra_auth_create_main_conf(ngx_conf_t *cf);
static char *ngx_http_spectra_jwt_cache_zone(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static void ngx_http_spectra_auth_md_cleanup(void *data);
static void *ngx_http_spectra_auth_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_spectra_auth_merge_loc_conf(ngx_conf_t *cf,
    void *parent, void *child);
static ngx_int_t ngx_http_spectra_auth_read(ngx_conf_t *cf, ngx_str_t *name,
    ngx_str_t *content);
static void ngx_http_spectra_auth_keyset_cleanup(void *data);
static void ngx_http_spectra_auth_api_keys_cleanup(void *data);
static char *ngx_http_spectra_jwt_key_file(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_spectra_jwt_claim(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_spectra_api_keys(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_spectra_require(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static ngx_int_t ngx_http_spectra_auth_init(ngx_conf_t *cf);


static ngx_conf_enum_t  ngx_http_spectra_auth_modes[] = {
    { ngx_string("off"), NGX_HTTP_SPECTRA_AUTH_OFF },
    { ngx_string("jwt"), NGX_HTTP_SPECTRA_AUTH_JWT },
    { ngx_string("api_key"), NGX_HTTP_SPECTRA_AUTH_APIKEY },
    { ngx_string("any"), NGX_HTTP_SPECTRA_AUTH_ANY },
    { ngx_null_string, 0 }
};


static ngx_command_t  ngx_http_spectra_auth_commands[] = {

    { ngx_string("spectra_auth"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_enum_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_spectra_auth_loc_conf_t, mode),
      &ngx_http_spectra_auth_modes },

    { ngx_string("spectra_jwt_key_file"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_spectra_jwt_key_file,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("spectra_jwt_cache_zone"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_spectra_jwt_cache_zone,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("spectra_jwt_cache"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_spectra_auth_loc_conf_t, cache),
      NULL },

    { ngx_string("spectra_jwt_issuer"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_spectra_auth_loc_conf_t, issuer),
      NULL },

    { ngx_string("spectra_jwt_audience"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_array_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_spectra_auth_loc_conf_t, audiences),
      NULL },

    { ngx_string("spectra_jwt_leeway"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_spectra_auth_loc_conf_t, leeway),
      NULL },

    { ngx_string("spectra_jwt_max_size"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_spectra_auth_loc_conf_t, max_size),
      NULL },

    { ngx_string("spectra_jwt_claim"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE2,
      ngx_http_spectra_jwt_claim,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("spectra_db_user_prefix"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_spectra_auth_loc_conf_t, db_user_prefix),
      NULL },

    { ngx_string("spectra_api_keys"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_spectra_api_keys,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("spectra_require"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_spectra_require,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_spectra_auth_module_ctx = {
    ngx_http_spectra_auth_add_variables,   /* preconfiguration */
    ngx_http_spectra_auth_init,            /* postconfiguration */

    ngx_http_spectra_auth_create_main_conf,
                                           /* create main configuration */
    NULL,                                  /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_spectra_auth_create_loc_conf, /* create location configuration */
    ngx_http_spectra_auth_merge_loc_conf   /* merge location configuration */
};


ngx_module_t  ngx_http_spectra_auth_module = {
    NGX_MODULE_V1,
    &ngx_http_spectra_auth_module_ctx,     /* module context */
    ngx_http_spectra_auth_commands,        /* module directives */
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


static ngx_http_variable_t  ngx_http_spectra_auth_vars[] = {

    { ngx_string("spectra_tenant_id"), NULL, ngx_http_spectra_auth_variable,
      offsetof(ngx_http_spectra_tenant_t, tenant_id),
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("spectra_db_user"), NULL, ngx_http_spectra_auth_variable,
      offsetof(ngx_http_spectra_tenant_t, db_user),
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("spectra_db_group"), NULL, ngx_http_spectra_auth_variable,
      offsetof(ngx_http_spectra_tenant_t, db_group),
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("spectra_auth_method"), NULL,
      ngx_http_spectra_auth_variable,
      offsetof(ngx_http_spectra_tenant_t, auth_method),
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("spectra_claim_"), NULL,
      ngx_http_spectra_auth_claim_variable, 0,
      NGX_HTTP_VAR_NOCACHEABLE|NGX_HTTP_VAR_PREFIX, 0 },

      ngx_http_null_variable
};


static ngx_str_t  ngx_http_spectra_auth_jwt_method = ngx_string("jwt");
static ngx_str_t  ngx_http_spectra_auth_apikey_method = ngx_string("apikey");


static ngx_int_t
ngx_http_spectra_auth_handler(ngx_http_request_t *r)
{
    ngx_http_spectra_tenant_t         *tenant;
    ngx_http_spectra_auth_ctx_t       *ctx;
    ngx_http_spectra_auth_loc_conf_t  *alcf;

    alcf = ngx_http_get_module_loc_conf(r, ngx_http_spectra_auth_module);

    if (alcf->mode == NGX_HTTP_SPECTRA_AUTH_OFF) {
        return NGX_DECLINED;
    }

    tenant = ngx_http_spectra_auth_tenant(r);

    ctx = ngx_http_spectra_auth_get_ctx(r);

    if (tenant == NULL && ctx != NULL && ctx->wait) {
        /* the token needs a key the key set may get from its URL */
        if (ngx_http_spectra_jwks_wait(r, ngx_http_spectra_jwks_source(r))
            == NGX_AGAIN)
        {
            return NGX_AGAIN;
        }

        ctx->done = 0;
        tenant = ngx_http_spectra_auth_tenant(r);
    }

    if (tenant == NULL) {
        if (ctx == NULL || ctx->error) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        return ngx_http_spectra_auth_reject(r, NGX_HTTP_UNAUTHORIZED, 0);
    }

    if ((tenant->permissions & alcf->require) != alcf->require) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "spectra: tenant \"%V\" lacks a required permission",
                      &tenant->tenant_id);

        return ngx_http_spectra_auth_reject(r, NGX_HTTP_FORBIDDEN,
                                            alcf->require
                                            & ~tenant->permissions);
    }

    return NGX_OK;
}


/*
 * Sends the JSON 401 or 403 from the access phase and finalizes the
 * request here: the access phase checker stops on NGX_DONE.
 */

static ngx_int_t
ngx_http_spectra_auth_reject(ngx_http_request_t *r, ngx_uint_t status,
    ngx_uint_t missing)
{
    ngx_int_t  rc;

    rc = ngx_http_spectra_auth_send_error(r, status, missing);

    ngx_http_finalize_request(r, rc);

    return NGX_DONE;
}


ngx_int_t
ngx_http_spectra_auth_send_error(ngx_http_request_t *r, ngx_uint_t status,
    ngx_uint_t missing)
{
    u_char                       *p;
    ngx_str_t                     message;
    ngx_uint_t                    i, n, any;
    ngx_table_elt_t              *h;
    ngx_http_spectra_auth_ctx_t  *ctx;
    u_char                        buf[128];

    static const char  *names[] = { "query", "bulk", "admin" };

    if (status == NGX_HTTP_FORBIDDEN) {
        /* "the credentials lack the "bulk" (and "admin") permission(s)" */

        any = (missing & NGX_HTTP_SPECTRA_PERM_ANY);
        p = ngx_cpymem(buf, "the credentials lack the ",
                       sizeof("the credentials lack the ") - 1);
        n = 0;

        for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
            if (!(missing & (1 << i))) {
                continue;
            }

            if (n > 0) {
                p = any ? ngx_cpymem(p, " or ", 4) : ngx_cpymem(p, " and ", 5);
            }

            p = ngx_sprintf(p, "\"%s\"", names[i]);
            n++;
        }

        p = ngx_cpymem(p, " permission", sizeof(" permission") - 1);

        if (n > 1 && !any) {
            *p++ = 's';
        }

        message.data = buf;
        message.len = p - buf;

        return ngx_http_spectra_send_error(r, NGX_HTTP_FORBIDDEN,
                                           "FORBIDDEN", &message);
    }

    ctx = ngx_http_spectra_auth_get_ctx(r);

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "WWW-Authenticate");

    if (ctx != NULL && ctx->presented) {
        ngx_str_set(&h->value,
                    "Bearer realm=\"spectra\", error=\"invalid_token\"");
        ngx_str_set(&message, "invalid or expired credentials");

    } else {
        ngx_str_set(&h->value, "Bearer realm=\"spectra\"");
        ngx_str_set(&message, "missing credentials");
    }

    r->headers_out.www_authenticate = h;

    return ngx_http_spectra_send_error(r, NGX_HTTP_UNAUTHORIZED,
                                       "UNAUTHENTICATED", &message);
}


ngx_int_t
ngx_http_spectra_auth_require(ngx_http_request_t *r, ngx_uint_t permissions)
{
    ngx_uint_t                  need;
    ngx_http_spectra_tenant_t  *tenant;

    tenant = ngx_http_spectra_auth_tenant(r);

    if (tenant == NULL) {
        return NGX_HTTP_UNAUTHORIZED;
    }

    need = permissions & ~NGX_HTTP_SPECTRA_PERM_ANY;

    if (permissions & NGX_HTTP_SPECTRA_PERM_ANY) {
        return (tenant->permissions & need) ? NGX_OK : NGX_HTTP_FORBIDDEN;
    }

    if ((tenant->permissions & need) != need) {
        return NGX_HTTP_FORBIDDEN;
    }

    return NGX_OK;
}


ngx_http_spectra_tenant_t *
ngx_http_spectra_auth_tenant(ngx_http_request_t *r)
{
    ngx_pool_cleanup_t                *cln;
    ngx_http_spectra_auth_ctx_t       *ctx;
    ngx_http_spectra_auth_loc_conf_t  *alcf;

    r = r->main;

    alcf = ngx_http_get_module_loc_conf(r, ngx_http_spectra_auth_module);
    ctx = ngx_http_spectra_auth_get_ctx(r);

    /*
     * A result is reused where it was made, and where authentication is
     * off (e.g. a named error location after an internal redirect); a
     * location with other settings decides again.
     */

    if (ctx != NULL && ctx->done
        && (ctx->conf == alcf || alcf->mode == NGX_HTTP_SPECTRA_AUTH_OFF))
    {
        return ctx->ok ? &ctx->tenant : NULL;
    }

    if (alcf->mode == NGX_HTTP_SPECTRA_AUTH_OFF) {
        return NULL;
    }

    if (ctx == NULL) {
        cln = ngx_pool_cleanup_add(r->pool, 0);
        if (cln == NULL) {
            return NULL;
        }

        ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_spectra_auth_ctx_t));
        if (ctx == NULL) {
            return NULL;
        }

        cln->handler = ngx_http_spectra_auth_cleanup;
        cln->data = ctx;

        ngx_http_set_ctx(r, ctx, ngx_http_spectra_auth_module);
    }

    /*
     * a previous result's strings stay valid: variables may have cached
     * them; its claims are released with the request (keep_json)
     */
    ngx_memzero(ctx, sizeof(ngx_http_spectra_auth_ctx_t));

    ctx->conf = alcf;
    ctx->done = 1;

    if (ngx_http_spectra_authenticate(r, ctx, alcf) != NGX_OK) {
        if (ctx->wait) {
            /* decided after the key set fetch (the access phase waits) */
            ngx_log_debug0(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                           "spectra auth: the JWT waits for the key set");
            return NULL;
        }

        ngx_http_spectra_metrics_auth_failure(ctx->reason);

        if (ctx->error) {
            ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                          "spectra: authentication failed: %s", ctx->reason);

        } else {
            ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                          "spectra: %s", ctx->reason);
        }

        return NULL;
    }

    ctx->ok = 1;

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "spectra auth: tenant \"%V\" db_user \"%V\" by %V",
                   &ctx->tenant.tenant_id, &ctx->tenant.db_user,
                   &ctx->tenant.auth_method);

    return &ctx->tenant;
}


/* The ctx of the main request, also after an internal redirect. */

static ngx_http_spectra_auth_ctx_t *
ngx_http_spectra_auth_get_ctx(ngx_http_request_t *r)
{
    ngx_pool_cleanup_t           *cln;
    ngx_http_spectra_auth_ctx_t  *ctx;

    r = r->main;

    ctx = ngx_http_get_module_ctx(r, ngx_http_spectra_auth_module);

    if (ctx == NULL && (r->internal || r->filter_finalize)) {
        for (cln = r->pool->cleanup; cln != NULL; cln = cln->next) {
            if (cln->handler == ngx_http_spectra_auth_cleanup) {
                ctx = cln->data;
                ngx_http_set_ctx(r, ctx, ngx_http_spectra_auth_module);
                break;
            }
        }
    }

    return ctx;
}


/*
 * Marks the pool cleanup that holds the ctx, so that it can be found again
 * after an internal redirect has cleared r->ctx; nothing to release.
 */

static void
ngx_http_spectra_auth_cleanup(void *data)
{
}


/* Releases a JSON value when the request ends; on failure, at once. */

static ngx_int_t
ngx_http_spectra_auth_keep_json(ngx_http_request_t *r, json_t *json)
{
    ngx_pool_cleanup_t  *cln;

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        json_decref(json);
        return NGX_ERROR;
    }

    cln->handler = ngx_http_spectra_auth_json_cleanup;
    cln->data = json;

    return NGX_OK;
}


static void
ngx_http_spectra_auth_json_cleanup(void *data)
{
    json_decref(data);
}


/*
 * Returns NGX_OK with ctx->tenant filled, or NGX_DECLINED with
 * ctx->reason (ctx->error for a server-side failure).
 */

static ngx_int_t
ngx_http_spectra_authenticate(ngx_http_request_t *r,
    ngx_http_spectra_auth_ctx_t *ctx, ngx_http_spectra_auth_loc_conf_t *alcf)
{
    ngx_int_t  rc;
    ngx_str_t  bearer, api_key;

    rc = ngx_http_spectra_auth_credentials(r, &bearer, &api_key);

    if (rc == NGX_ERROR) {
        ctx->presented = 1;
        ctx->reason = "rejected: several credentials presented";
        return NGX_DECLINED;
    }

    if (bearer.data != NULL) {
        ctx->presented = 1;

        if ((alcf->keys == NULL && ngx_http_spectra_jwks_source(r) == NULL)
            || alcf->mode == NGX_HTTP_SPECTRA_AUTH_APIKEY)
        {
            ctx->reason = "jwt rejected: JWT not accepted here";
            return NGX_DECLINED;
        }

        return ngx_http_spectra_auth_jwt(r, ctx, alcf, &bearer);
    }

    if (api_key.data != NULL) {
        ctx->presented = 1;

        if (alcf->api_keys == NULL
            || alcf->mode == NGX_HTTP_SPECTRA_AUTH_JWT)
        {
            ctx->reason = "api key rejected: API keys not accepted here";
            return NGX_DECLINED;
        }

        return ngx_http_spectra_auth_api_key(r, ctx, alcf, &api_key);
    }

    ctx->reason = "no credentials";

    return NGX_DECLINED;
}


/*
 * Finds "Authorization: Bearer <token>", "Authorization: ApiKey <key>" or
 * "X-API-Key: <key>".  NGX_ERROR when more than one is present.
 */

static ngx_int_t
ngx_http_spectra_auth_credentials(ngx_http_request_t *r, ngx_str_t *bearer,
    ngx_str_t *api_key)
{
    u_char           *p, *last;
    ngx_str_t        *found, value;
    ngx_uint_t        i, n;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    ngx_str_null(bearer);
    ngx_str_null(api_key);

    n = 0;

    if (r->headers_in.authorization != NULL) {
        value = r->headers_in.authorization->value;
        p = value.data;
        last = p + value.len;

        if (value.len > sizeof("Bearer ") - 1
            && ngx_strncasecmp(p, (u_char *) "Bearer ",
                               sizeof("Bearer ") - 1) == 0)
        {
            found = bearer;
            p += sizeof("Bearer ") - 1;

        } else if (value.len > sizeof("ApiKey ") - 1
                   && ngx_strncasecmp(p, (u_char *) "ApiKey ",
                                      sizeof("ApiKey ") - 1) == 0)
        {
            found = api_key;
            p += sizeof("ApiKey ") - 1;

        } else {
            /* another scheme (Basic...) counts as a bad credential */
            found = bearer;
            p = last;
        }

        while (p < last && *p == ' ') {
            p++;
        }

        while (last > p && last[-1] == ' ') {
            last--;
        }

        found->data = p;
        found->len = last - p;
        n++;
    }

    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].key.len != sizeof("X-API-Key") - 1
            || ngx_strncasecmp(h[i].key.data, (u_char *) "X-API-Key",
                               sizeof("X-API-Key") - 1) != 0)
        {
            continue;
        }

        *api_key = h[i].value;
        n++;
    }

    return (n > 1) ? NGX_ERROR : NGX_OK;
}


static ngx_int_t
ngx_http_spectra_auth_jwt(ngx_http_request_t *r,
    ngx_http_spectra_auth_ctx_t *ctx, ngx_http_spectra_auth_loc_conf_t *alcf,
    ngx_str_t *token)
{
    int                                 crc;
    u_char                              key[NGX_HTTP_SPECTRA_CACHE_KEY_LEN];
    uint64_t                            gen;
    ngx_int_t                           cached;
    const char                         *reason;
    spectra_pool_t                      pool;
    spectra_claims_t                    claims;
    spectra_jwt_rc_t                    rc;
    spectra_jwt_token_t                 tok;
    spectra_claims_names_t              names;
    spectra_jwt_policy_t                policy;
    ngx_http_spectra_jwks_t            *src;
    const spectra_jwt_keyset_t         *keys;
    ngx_http_spectra_auth_cached_t      hit;
    ngx_http_spectra_auth_main_conf_t  *amcf;

    /* keys from a URL: this worker's copy of the shared, current set */
    keys = alcf->keys;
    gen = 0;
    src = ngx_http_spectra_jwks_source(r);

    if (src != NULL) {
        keys = ngx_http_spectra_jwks_keys(src, &gen, &reason);

        if (keys == NULL) {
            ctx->wait = (ngx_http_spectra_jwks_refresh(r, src) == NGX_AGAIN);
            ctx->reason = ngx_pnalloc(r->pool, sizeof("jwt rejected: ")
                                               + ngx_strlen(reason));
            if (ctx->reason == NULL) {
                ctx->reason = "jwt rejected: no key set";

            } else {
                ngx_sprintf((u_char *) ctx->reason, "jwt rejected: %s%Z",
                            reason);
            }

            return NGX_DECLINED;
        }
    }

    cached = ngx_http_spectra_auth_cache_key(r, alcf, gen, token, key);

    if (cached == NGX_OK) {
        amcf = ngx_http_get_module_main_conf(r, ngx_http_spectra_auth_module);

        if (ngx_http_spectra_auth_cache_get(amcf->cache, key, r->pool, &hit)
            == NGX_OK)
        {
            ngx_http_spectra_metrics_token_cache(1);

            ngx_log_debug0(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                           "spectra auth: JWT cache hit");

            ctx->tenant.auth_method = ngx_http_spectra_auth_jwt_method;
            ctx->tenant.tenant_id = hit.tenant_id;
            ctx->tenant.db_user = hit.db_user;
            ctx->tenant.db_group = hit.db_group;
            ctx->tenant.permissions = hit.permissions;
            ctx->payload_text = hit.payload;

            return NGX_OK;
        }

        ngx_http_spectra_metrics_token_cache(0);
    }

    policy.issuer.data = alcf->issuer.len ? alcf->issuer.data : NULL;
    policy.issuer.len = alcf->issuer.len;
    policy.audiences = alcf->auds;
    policy.naudiences = alcf->nauds;
    policy.now = ngx_time();
    policy.leeway = alcf->leeway;
    policy.max_size = alcf->max_size;

    rc = spectra_jwt_verify(keys, &policy, token->data, token->len,
                            &tok, &reason);

    if (rc == SPECTRA_JWT_NO_KEY && src != NULL) {
        /* a rotation at the URL: one refresh, the request waits for it */
        ctx->wait = (ngx_http_spectra_jwks_refresh(r, src) == NGX_AGAIN);
    }

    if (rc != SPECTRA_JWT_OK) {
        ctx->reason = ngx_pnalloc(r->pool, sizeof("jwt rejected: ")
                                           + ngx_strlen(reason));
        if (ctx->reason == NULL) {
            ctx->reason = "jwt rejected";

        } else {
            ngx_sprintf((u_char *) ctx->reason, "jwt rejected: %s%Z", reason);
        }

        ctx->error = (rc == SPECTRA_JWT_INTERNAL);

        return NGX_DECLINED;
    }

    if (ngx_http_spectra_auth_keep_json(r, tok.payload) != NGX_OK) {
        ctx->error = 1;
        ctx->reason = "out of memory";
        return NGX_DECLINED;
    }

    ctx->payload = tok.payload;
    ctx->tenant.auth_method = ngx_http_spectra_auth_jwt_method;

    /* the claims to the tenant context: src/spectra_claims.c */

    names.tenant_id = (const char *) alcf->claim_tenant_id.data;
    names.db_user = (const char *) alcf->claim_db_user.data;
    names.db_group = (const char *) alcf->claim_db_group.data;
    names.permissions = (const char *) alcf->claim_permissions.data;
    names.db_user_prefix.data = alcf->db_user_prefix.data;
    names.db_user_prefix.len = alcf->db_user_prefix.len;

    pool = ngx_http_spectra_pool(r->pool);

    crc = spectra_claims_tenant(tok.payload, &names, &pool, &claims, &reason);

    if (crc != SPECTRA_CLAIMS_OK) {
        ctx->error = (crc == SPECTRA_CLAIMS_NOMEM);
        ctx->reason = ngx_pnalloc(r->pool, sizeof("jwt rejected: ")
                                           + ngx_strlen(reason));
        if (ctx->reason == NULL) {
            ctx->reason = "jwt rejected";

        } else {
            ngx_sprintf((u_char *) ctx->reason, "jwt rejected: %s%Z", reason);
        }

        return NGX_DECLINED;
    }

    ctx->tenant.tenant_id.data = claims.tenant_id.data;
    ctx->tenant.tenant_id.len = claims.tenant_id.len;
    ctx->tenant.db_user.data = claims.db_user.data;
    ctx->tenant.db_user.len = claims.db_user.len;
    ctx->tenant.db_group.data = claims.db_group.data;
    ctx->tenant.db_group.len = claims.db_group.len;
    ctx->tenant.permissions = claims.permissions;

    if (cached == NGX_OK) {
        ngx_http_spectra_auth_cache_store(r, ctx, alcf, token, key);
    }

    return NGX_OK;
}


/*
 * The cache key: SHA-256 of the configuration generation's nonce, the
 * location's settings (keys, issuer, audiences, claims) and the token.
 * NGX_DECLINED when the location does not cache.
 */

static ngx_int_t
ngx_http_spectra_auth_cache_key(ngx_http_request_t *r,
    ngx_http_spectra_auth_loc_conf_t *alcf, uint64_t generation,
    ngx_str_t *token, u_char *key)
{
    u_char                             *buf, *p;
    unsigned int                        len;
    ngx_http_spectra_auth_main_conf_t  *amcf;

    amcf = ngx_http_get_module_main_conf(r, ngx_http_spectra_auth_module);

    if (amcf->cache == NULL || !alcf->cache
        || token->len > alcf->max_size)
    {
        return NGX_DECLINED;
    }

    buf = ngx_pnalloc(r->pool, NGX_HTTP_SPECTRA_CACHE_NONCE_LEN
                               + sizeof(alcf) + sizeof(generation)
                               + token->len);
    if (buf == NULL) {
        return NGX_DECLINED;
    }

    /* a key set from a URL that changed forgets what its keys verified */
    p = ngx_cpymem(buf, amcf->nonce, NGX_HTTP_SPECTRA_CACHE_NONCE_LEN);
    p = ngx_cpymem(p, &alcf, sizeof(alcf));
    p = ngx_cpymem(p, &generation, sizeof(generation));
    p = ngx_cpymem(p, token->data, token->len);

    if (!EVP_Digest(buf, p - buf, key, &len, amcf->sha256, NULL)
        || len != NGX_HTTP_SPECTRA_CACHE_KEY_LEN)
    {
        return NGX_DECLINED;
    }

    return NGX_OK;
}


/* Remembers a verified token until its exp (plus leeway), at most 1 day. */

static void
ngx_http_spectra_auth_cache_store(ngx_http_request_t *r,
    ngx_http_spectra_auth_ctx_t *ctx, ngx_http_spectra_auth_loc_conf_t *alcf,
    ngx_str_t *token, u_char *key)
{
    u_char                             *dot1, *dot2, *last;
    double                              exp;
    time_t                              expires;
    size_t                              len;
    ngx_http_spectra_auth_cached_t      in;
    ngx_http_spectra_auth_main_conf_t  *amcf;

    amcf = ngx_http_get_module_main_conf(r, ngx_http_spectra_auth_module);

    exp = spectra_claims_expires(ctx->payload) + (double) alcf->leeway;

    expires = ngx_time() + 86400;

    if (exp < (double) expires) {
        expires = (time_t) exp;
    }

    /* the payload segment, decoded again: the claims for $spectra_claim_ */
    last = token->data + token->len;
    dot1 = ngx_strlchr(token->data, last, '.');
    dot2 = (dot1 != NULL) ? ngx_strlchr(dot1 + 1, last, '.') : NULL;

    if (dot2 == NULL) {
        return;
    }

    in.payload.data = ngx_pnalloc(r->pool, (dot2 - dot1) * 3 / 4 + 3);
    if (in.payload.data == NULL
        || spectra_base64url_decode(dot1 + 1, dot2 - dot1 - 1,
                                    in.payload.data, &len)
           != 0)
    {
        return;
    }

    in.payload.len = len;
    in.tenant_id = ctx->tenant.tenant_id;
    in.db_user = ctx->tenant.db_user;
    in.db_group = ctx->tenant.db_group;
    in.permissions = ctx->tenant.permissions;

    ngx_http_spectra_auth_cache_put(amcf->cache, key, expires, &in,
                                    r->connection->log);
}


/* db_user defaults to the prefix and the tenant id. */

static ngx_int_t
ngx_http_spectra_auth_db_user(ngx_http_request_t *r,
    ngx_http_spectra_auth_ctx_t *ctx, ngx_http_spectra_auth_loc_conf_t *alcf)
{
    u_char  *p;
    size_t   len;

    if (ctx->tenant.db_user.len) {
        return NGX_OK;
    }

    len = alcf->db_user_prefix.len + ctx->tenant.tenant_id.len;

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        ctx->error = 1;
        ctx->reason = "out of memory";
        return NGX_DECLINED;
    }

    ngx_memcpy(ngx_cpymem(p, alcf->db_user_prefix.data,
                          alcf->db_user_prefix.len),
               ctx->tenant.tenant_id.data, ctx->tenant.tenant_id.len);

    if (!spectra_role_valid(p, len)) {
        ctx->reason = "rejected: the derived db_user is not a role name";
        return NGX_DECLINED;
    }

    ctx->tenant.db_user.data = p;
    ctx->tenant.db_user.len = len;

    return NGX_OK;
}


static ngx_int_t
ngx_http_spectra_auth_api_key(ngx_http_request_t *r,
    ngx_http_spectra_auth_ctx_t *ctx, ngx_http_spectra_auth_loc_conf_t *alcf,
    ngx_str_t *key)
{
    const char              *reason;
    spectra_apikey_rc_t      rc;
    const spectra_apikey_t  *k;

    rc = spectra_apikeys_verify(alcf->api_keys, key->data, key->len, &k,
                                &reason);

    if (rc != SPECTRA_APIKEY_OK) {
        ctx->reason = (rc == SPECTRA_APIKEY_UNKNOWN)
                      ? "api key rejected: unknown key id"
                      : (rc == SPECTRA_APIKEY_WRONG_SECRET)
                        ? "api key rejected: wrong secret"
                        : "api key rejected: malformed key";
        return NGX_DECLINED;
    }

    ctx->api_key = k;
    ctx->tenant.auth_method = ngx_http_spectra_auth_apikey_method;
    ctx->tenant.tenant_id.data = (u_char *) k->tenant_id.data;
    ctx->tenant.tenant_id.len = k->tenant_id.len;
    ctx->tenant.db_user.data = (u_char *) k->db_user.data;
    ctx->tenant.db_user.len = k->db_user.len;
    ctx->tenant.db_group.data = (u_char *) k->db_group.data;
    ctx->tenant.db_group.len = k->db_group.len;
    ctx->tenant.permissions = k->permissions;

    return ngx_http_spectra_auth_db_user(r, ctx, alcf);
}


static ngx_int_t
ngx_http_spectra_auth_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_str_t                  *s;
    ngx_http_spectra_tenant_t  *tenant;

    tenant = ngx_http_spectra_auth_tenant(r);

    if (tenant == NULL) {
        v->not_found = 1;
        return NGX_OK;
    }

    s = (ngx_str_t *) ((char *) tenant + data);

    if (s->len == 0) {
        v->not_found = 1;
        return NGX_OK;
    }

    v->len = s->len;
    v->valid = 1;
    v->no_cacheable = 1;
    v->not_found = 0;
    v->data = s->data;

    return NGX_OK;
}


/*
 * $spectra_claim_<name>: a string, number or boolean claim of the JWT, or
 * the name=value field of the API key's line.
 */

static ngx_int_t
ngx_http_spectra_auth_claim_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_str_t *name = (ngx_str_t *) data;

    u_char                        buf[SPECTRA_CLAIMS_NUMBER_LEN];
    ngx_str_t                     key;
    spectra_str_t                 value;
    ngx_http_spectra_auth_ctx_t  *ctx;

    v->not_found = 1;

    if (ngx_http_spectra_auth_tenant(r) == NULL) {
        return NGX_OK;
    }

    ctx = ngx_http_spectra_auth_get_ctx(r);

    key.data = name->data + sizeof("spectra_claim_") - 1;
    key.len = name->len - (sizeof("spectra_claim_") - 1);

    if (ctx->api_key != NULL) {
        if (spectra_apikey_attr(ctx->api_key, key.data, key.len, &value)
            != 0)
        {
            return NGX_OK;
        }

        v->data = (u_char *) value.data;
        v->len = value.len;
        goto found;
    }

    if (ctx->payload == NULL && ctx->payload_text.len) {
        ctx->payload = json_loadb((const char *) ctx->payload_text.data,
                                  ctx->payload_text.len, 0, NULL);

        if (ctx->payload != NULL
            && ngx_http_spectra_auth_keep_json(r, ctx->payload) != NGX_OK)
        {
            ctx->payload = NULL;
            return NGX_ERROR;
        }
    }

    if (ctx->payload == NULL
        || spectra_claims_value(ctx->payload, key.data, key.len, buf, &value)
           != 0)
    {
        return NGX_OK;
    }

    v->len = value.len;
    v->data = value.data;

    if (value.data == buf) {
        v->data = ngx_pnalloc(r->pool, value.len);
        if (v->data == NULL) {
            return NGX_ERROR;
        }

        ngx_memcpy(v->data, buf, value.len);
    }

found:

    v->valid = 1;
    v->no_cacheable = 1;
    v->not_found = 0;

    return NGX_OK;
}


static ngx_int_t
ngx_http_spectra_auth_add_variables(ngx_conf_t *cf)
{
    ngx_http_variable_t  *var, *v;

    for (v = ngx_http_spectra_auth_vars; v->name.len; v++) {
        var = ngx_http_add_variable(cf, &v->name, v->flags);
        if (var == NULL) {
            return NGX_ERROR;
        }

        var->get_handler = v->get_handler;
        var->data = v->data;
    }

    return NGX_OK;
}


static void *
ngx_http_spectra_auth_create_main_conf(ngx_conf_t *cf)
{
    ngx_pool_cleanup_t                 *cln;
    ngx_http_spectra_auth_main_conf_t  *amcf;

    amcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_spectra_auth_main_conf_t));
    if (amcf == NULL) {
        return NULL;
    }

    /* a new nonce per configuration: a reload forgets cached tokens */
    if (RAND_bytes(amcf->nonce, NGX_HTTP_SPECTRA_CACHE_NONCE_LEN) != 1) {
        return NULL;
    }

    amcf->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
    if (amcf->sha256 == NULL) {
        return NULL;
    }

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        EVP_MD_free(amcf->sha256);
        return NULL;
    }

    cln->handler = ngx_http_spectra_auth_md_cleanup;
    cln->data = amcf->sha256;

    return amcf;
}


static void
ngx_http_spectra_auth_md_cleanup(void *data)
{
    EVP_MD_free(data);
}


/* spectra_jwt_cache_zone <size>; */

static char *
ngx_http_spectra_jwt_cache_zone(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_spectra_auth_main_conf_t *amcf = conf;

    ssize_t     size;
    ngx_str_t  *value;

    if (amcf->cache != NULL) {
        return "is duplicate";
    }

    value = cf->args->elts;

    size = ngx_parse_size(&value[1]);

    if (size == NGX_ERROR || size < (ssize_t) (8 * ngx_pagesize)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid cache zone size \"%V\"", &value[1]);
        return NGX_CONF_ERROR;
    }

    amcf->cache = ngx_http_spectra_auth_cache_add(cf, size,
                                        &ngx_http_spectra_auth_module);
    if (amcf->cache == NULL) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static void *
ngx_http_spectra_auth_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_spectra_auth_loc_conf_t  *conf;

    conf = ngx_pcalloc(cf->pool, sizeof(ngx_http_spectra_auth_loc_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     conf->issuer = { 0, NULL };
     *     conf->auds = NULL;
     *     conf->nauds = 0;
     *     conf->claim_* = { 0, NULL };
     *     conf->db_user_prefix = { 0, NULL };
     */

    conf->mode = NGX_CONF_UNSET_UINT;
    conf->cache = NGX_CONF_UNSET;
    conf->keys = NGX_CONF_UNSET_PTR;
    conf->audiences = NGX_CONF_UNSET_PTR;
    conf->leeway = NGX_CONF_UNSET;
    conf->max_size = NGX_CONF_UNSET_SIZE;
    conf->api_keys = NGX_CONF_UNSET_PTR;
    conf->require = NGX_CONF_UNSET_UINT;

    return conf;
}


static char *
ngx_http_spectra_auth_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child)
{
    ngx_http_spectra_auth_loc_conf_t *prev = parent;
    ngx_http_spectra_auth_loc_conf_t *conf = child;

    ngx_str_t   *aud;
    ngx_uint_t   i, jwks;

    ngx_conf_merge_uint_value(conf->mode, prev->mode,
                              NGX_HTTP_SPECTRA_AUTH_OFF);
    ngx_conf_merge_value(conf->cache, prev->cache, 1);
    ngx_conf_merge_ptr_value(conf->keys, prev->keys, NULL);
    ngx_conf_merge_str_value(conf->issuer, prev->issuer, "");
    ngx_conf_merge_sec_value(conf->leeway, prev->leeway, 0);
    ngx_conf_merge_size_value(conf->max_size, prev->max_size, 8192);
    ngx_conf_merge_str_value(conf->claim_tenant_id, prev->claim_tenant_id,
                             "tenant_id");
    ngx_conf_merge_str_value(conf->claim_db_user, prev->claim_db_user,
                             "db_user");
    ngx_conf_merge_str_value(conf->claim_db_group, prev->claim_db_group,
                             "db_group");
    ngx_conf_merge_str_value(conf->claim_permissions,
                             prev->claim_permissions, "permissions");
    ngx_conf_merge_str_value(conf->db_user_prefix, prev->db_user_prefix,
                             "tenant_");
    ngx_conf_merge_ptr_value(conf->api_keys, prev->api_keys, NULL);
    ngx_conf_merge_uint_value(conf->require, prev->require, 0);

    /*
     * the list inherited is the directive's array: the http{} level is
     * never merged itself, so its auds were never built; every level
     * builds its own from the array it ends up with
     */
    ngx_conf_merge_ptr_value(conf->audiences, prev->audiences, NULL);

    if (conf->audiences != NULL) {
        conf->nauds = conf->audiences->nelts;
        conf->auds = ngx_palloc(cf->pool,
                                conf->nauds * sizeof(spectra_str_t));
        if (conf->auds == NULL) {
            return NGX_CONF_ERROR;
        }

        aud = conf->audiences->elts;

        for (i = 0; i < conf->nauds; i++) {
            conf->auds[i].data = aud[i].data;
            conf->auds[i].len = aud[i].len;
        }
    }

    /* ngx_http_spectra_jwks_module is merged before this module */
    jwks = ngx_http_spectra_jwks_configured(cf);

    if (jwks && conf->keys != NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"spectra_jwt_key_file\" and "
                           "\"spectra_jwt_jwks_url\" cannot both be in "
                           "effect in one location");
        return NGX_CONF_ERROR;
    }

    if ((conf->mode == NGX_HTTP_SPECTRA_AUTH_JWT && conf->keys == NULL
         && !jwks)
        || (conf->mode == NGX_HTTP_SPECTRA_AUTH_APIKEY
            && conf->api_keys == NULL)
        || (conf->mode == NGX_HTTP_SPECTRA_AUTH_ANY && conf->keys == NULL
            && !jwks && conf->api_keys == NULL))
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"spectra_auth\" needs \"spectra_jwt_key_file\" "
                           "(jwt) or \"spectra_api_keys\" (api_key) in "
                           "effect (or \"spectra_jwt_jwks_url\" for jwt)");
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_spectra_auth_read(ngx_conf_t *cf, ngx_str_t *name,
    ngx_str_t *content)
{
    ssize_t          n;
    ngx_fd_t         fd;
    ngx_file_info_t  fi;

    if (ngx_conf_full_name(cf->cycle, name, 1) != NGX_OK) {
        return NGX_ERROR;
    }

    fd = ngx_open_file(name->data, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);
    if (fd == NGX_INVALID_FILE) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           ngx_open_file_n " \"%V\" failed", name);
        return NGX_ERROR;
    }

    if (ngx_fd_info(fd, &fi) == NGX_FILE_ERROR) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           ngx_fd_info_n " \"%V\" failed", name);
        goto failed;
    }

    if (!ngx_is_file(&fi) || ngx_file_size(&fi) > NGX_HTTP_SPECTRA_KEY_FILE_MAX)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\" is not a regular file of at most 1m",
                           name);
        goto failed;
    }

    content->len = ngx_file_size(&fi);
    content->data = ngx_pnalloc(cf->temp_pool, content->len + 1);
    if (content->data == NULL) {
        goto failed;
    }

    n = ngx_read_fd(fd, content->data, content->len);

    if (n == -1 || (size_t) n != content->len) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           ngx_read_fd_n " \"%V\" failed or was short", name);
        goto failed;
    }

    content->data[content->len] = '\0';

    ngx_close_file(fd);

    return NGX_OK;

failed:

    ngx_close_file(fd);

    return NGX_ERROR;
}


static void
ngx_http_spectra_auth_keyset_cleanup(void *data)
{
    spectra_jwt_keyset_free(data);
}


static void
ngx_http_spectra_auth_api_keys_cleanup(void *data)
{
    spectra_apikeys_free(data);
}


/* spectra_jwt_key_file <path> [alg=A,B] [kid=NAME] [type=hmac|pem|jwks]; */

static char *
ngx_http_spectra_jwt_key_file(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_spectra_auth_loc_conf_t *alcf = conf;

    ngx_str_t                 *value, name, content, kid;
    ngx_uint_t                 i;
    unsigned                   algs;
    ngx_pool_cleanup_t        *cln;
    spectra_err_t              err;
    spectra_jwt_key_format_t   format;

    value = cf->args->elts;

    name = value[1];
    algs = 0;
    ngx_str_null(&kid);
    format = SPECTRA_JWT_KEY_AUTO;

    for (i = 2; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "alg=", 4) == 0) {
            if (spectra_jwt_algs_parse(value[i].data + 4, value[i].len - 4,
                                       &algs)
                != 0)
            {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid \"%V\": a comma-separated list "
                                   "of HS256, HS384, HS512, RS256, RS384, "
                                   "RS512, ES256, ES384, ES512", &value[i]);
                return NGX_CONF_ERROR;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "kid=", 4) == 0
            && value[i].len > 4)
        {
            kid.data = value[i].data + 4;
            kid.len = value[i].len - 4;
            continue;
        }

        if (ngx_strcmp(value[i].data, "type=hmac") == 0) {
            format = SPECTRA_JWT_KEY_HMAC;
            continue;
        }

        if (ngx_strcmp(value[i].data, "type=pem") == 0) {
            format = SPECTRA_JWT_KEY_PEM;
            continue;
        }

        if (ngx_strcmp(value[i].data, "type=jwks") == 0) {
            format = SPECTRA_JWT_KEY_JWKS;
            continue;
        }

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid parameter \"%V\"", &value[i]);
        return NGX_CONF_ERROR;
    }

    if (alcf->keys == NGX_CONF_UNSET_PTR) {
        alcf->keys = spectra_jwt_keyset_new();
        if (alcf->keys == NULL) {
            return NGX_CONF_ERROR;
        }

        cln = ngx_pool_cleanup_add(cf->pool, 0);
        if (cln == NULL) {
            spectra_jwt_keyset_free(alcf->keys);
            return NGX_CONF_ERROR;
        }

        cln->handler = ngx_http_spectra_auth_keyset_cleanup;
        cln->data = alcf->keys;
    }

    if (ngx_http_spectra_auth_read(cf, &name, &content) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    if (spectra_jwt_keyset_add(alcf->keys, content.data, content.len, format,
                               algs, kid.data, kid.len, &err)
        != 0)
    {
        ngx_explicit_memzero(content.data, content.len);
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid key file \"%V\": %s", &name,
                           err.message);
        return NGX_CONF_ERROR;
    }

    ngx_explicit_memzero(content.data, content.len);

    return NGX_CONF_OK;
}


/* spectra_jwt_claim tenant_id|db_user|db_group|permissions <claim>; */

static char *
ngx_http_spectra_jwt_claim(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_spectra_auth_loc_conf_t *alcf = conf;

    ngx_str_t  *value, *field;

    value = cf->args->elts;

    if (ngx_strcmp(value[1].data, "tenant_id") == 0) {
        field = &alcf->claim_tenant_id;

    } else if (ngx_strcmp(value[1].data, "db_user") == 0) {
        field = &alcf->claim_db_user;

    } else if (ngx_strcmp(value[1].data, "db_group") == 0) {
        field = &alcf->claim_db_group;

    } else if (ngx_strcmp(value[1].data, "permissions") == 0) {
        field = &alcf->claim_permissions;

    } else {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid \"%V\": tenant_id, db_user, db_group or "
                           "permissions", &value[1]);
        return NGX_CONF_ERROR;
    }

    if (field->data != NULL) {
        return "is duplicate";
    }

    if (value[2].len == 0 || ngx_strlen(value[2].data) != value[2].len) {
        return "needs a claim name";
    }

    *field = value[2];

    return NGX_CONF_OK;
}


static char *
ngx_http_spectra_api_keys(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_spectra_auth_loc_conf_t *alcf = conf;

    ngx_str_t            *value, name, content;
    ngx_pool_cleanup_t   *cln;
    spectra_err_t         err;

    if (alcf->api_keys != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    value = cf->args->elts;
    name = value[1];

    if (ngx_http_spectra_auth_read(cf, &name, &content) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    alcf->api_keys = spectra_apikeys_parse(content.data, content.len, &err);

    if (alcf->api_keys == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid API key file \"%V\": %s", &name,
                           err.message);
        return NGX_CONF_ERROR;
    }

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        spectra_apikeys_free(alcf->api_keys);
        return NGX_CONF_ERROR;
    }

    cln->handler = ngx_http_spectra_auth_api_keys_cleanup;
    cln->data = alcf->api_keys;

    return NGX_CONF_OK;
}


/* spectra_require off | query | bulk | admin ...; */

static char *
ngx_http_spectra_require(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_spectra_auth_loc_conf_t *alcf = conf;

    unsigned     perms;
    ngx_str_t   *value;
    ngx_uint_t   i;

    if (alcf->require != NGX_CONF_UNSET_UINT) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (cf->args->nelts == 2 && ngx_strcmp(value[1].data, "off") == 0) {
        alcf->require = 0;
        return NGX_CONF_OK;
    }

    perms = 0;

    for (i = 1; i < cf->args->nelts; i++) {
        if (spectra_perm_add(value[i].data, value[i].len, &perms) != 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid permission \"%V\": query, bulk or "
                               "admin", &value[i]);
            return NGX_CONF_ERROR;
        }
    }

    alcf->require = perms;

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_spectra_auth_init(ngx_conf_t *cf)
{
    ngx_http_handler_pt        *h;
    ngx_http_core_main_conf_t  *cmcf;

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_ACCESS_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_spectra_auth_handler;

    return NGX_OK;
}
