/*
 * The /v1/ API: routing of method and path to the endpoint handlers.
 * Unknown paths answer the JSON 404, known paths with another method the
 * JSON 405 with Allow.  Every endpoint's permission is checked here, in
 * one place, before its handler runs.
 */


#include "ngx_http_spectra_common.h"
#include "ngx_http_spectra_api.h"
#include "ngx_http_spectra_awscreds.h"
#include "ngx_http_spectra_bulk.h"
#include "ngx_http_spectra_import.h"
#include "ngx_http_spectra_link.h"
#include "ngx_http_spectra_rows.h"
#include "ngx_http_spectra_reply.h"
#include "ngx_http_spectra_query.h"
#include "ngx_http_spectra_jobs_api.h"
#include "ngx_http_spectra_health.h"
#include "ngx_http_spectra_metrics.h"
#include "ngx_http_spectra_ready.h"
#include "ngx_http_spectra_openapi.h"


#define NGX_HTTP_SPECTRA_MAX_SEGMENTS  4

#define NGX_HTTP_SPECTRA_READ                                                 \
    (NGX_HTTP_SPECTRA_PERM_QUERY|NGX_HTTP_SPECTRA_PERM_BULK                   \
     |NGX_HTTP_SPECTRA_PERM_ANY)


typedef struct {
    /* path below /v1/, segments separated by '/', "*" matches an id */
    const char                     *path;
    ngx_uint_t                      methods;
    ngx_uint_t                      permissions;   /* 0: no credentials */
    ngx_http_spectra_endpoint_pt    handler;
} ngx_http_spectra_route_t;


static ngx_uint_t ngx_http_spectra_split(ngx_str_t *path,
    ngx_str_t *segments);
static ngx_int_t ngx_http_spectra_route_match(const char *pattern,
    ngx_str_t *segments, ngx_uint_t n, ngx_str_t *id);
static ngx_int_t ngx_http_spectra_not_allowed(ngx_http_request_t *r,
    ngx_uint_t methods);
static ngx_int_t ngx_http_spectra_api_call(ngx_http_request_t *r,
    ngx_http_spectra_route_t *route, ngx_str_t *id);
static ngx_int_t ngx_http_spectra_vfail(ngx_http_request_t *r,
    ngx_uint_t status, const char *code, const char *fmt, va_list args);


static ngx_http_spectra_route_t  ngx_http_spectra_routes[] = {

    { "health", NGX_HTTP_GET|NGX_HTTP_HEAD, 0,
      ngx_http_spectra_health_endpoint },

    { "ready", NGX_HTTP_GET|NGX_HTTP_HEAD, 0,
      ngx_http_spectra_ready_endpoint },

    { "openapi.json", NGX_HTTP_GET|NGX_HTTP_HEAD, 0,
      ngx_http_spectra_openapi_endpoint },

    { "queries", NGX_HTTP_POST, NGX_HTTP_SPECTRA_PERM_QUERY,
      ngx_http_spectra_queries },

    { "jobs", NGX_HTTP_GET|NGX_HTTP_HEAD, NGX_HTTP_SPECTRA_READ,
      ngx_http_spectra_jobs_list },

    { "jobs/*", NGX_HTTP_GET|NGX_HTTP_HEAD, NGX_HTTP_SPECTRA_READ,
      ngx_http_spectra_jobs_get },

    { "jobs/*", NGX_HTTP_DELETE, NGX_HTTP_SPECTRA_READ,
      ngx_http_spectra_jobs_cancel },

    { "jobs/*/results", NGX_HTTP_GET|NGX_HTTP_HEAD,
      NGX_HTTP_SPECTRA_PERM_QUERY, ngx_http_spectra_jobs_results },

    { "bulk", NGX_HTTP_POST, NGX_HTTP_SPECTRA_PERM_BULK,
      ngx_http_spectra_bulk_create },

    { "bulk/*", NGX_HTTP_GET|NGX_HTTP_HEAD, NGX_HTTP_SPECTRA_PERM_BULK,
      ngx_http_spectra_bulk_get },

    { "bulk/*", NGX_HTTP_DELETE, NGX_HTTP_SPECTRA_PERM_BULK,
      ngx_http_spectra_bulk_cancel },

    /* the handler reads {n} from the URI; {id} is the first "*" */
    { "bulk/*/files/*", NGX_HTTP_GET, NGX_HTTP_SPECTRA_PERM_BULK,
      ngx_http_spectra_link_get },

    { "imports", NGX_HTTP_POST, NGX_HTTP_SPECTRA_PERM_BULK,
      ngx_http_spectra_import_create },

    { "imports/*", NGX_HTTP_GET|NGX_HTTP_HEAD, NGX_HTTP_SPECTRA_PERM_BULK,
      ngx_http_spectra_import_get },

    { "imports/*", NGX_HTTP_PATCH, NGX_HTTP_SPECTRA_PERM_BULK,
      ngx_http_spectra_import_patch },

    { "imports/*", NGX_HTTP_DELETE, NGX_HTTP_SPECTRA_PERM_BULK,
      ngx_http_spectra_import_abort },

    { "imports/*/failed", NGX_HTTP_GET|NGX_HTTP_HEAD,
      NGX_HTTP_SPECTRA_PERM_BULK, ngx_http_spectra_import_failed },

    { NULL, 0, 0, NULL }
};


ngx_int_t
ngx_http_spectra_api_handler(ngx_http_request_t *r)
{
    ngx_str_t                  path, id, message;
    ngx_str_t                  segments[NGX_HTTP_SPECTRA_MAX_SEGMENTS + 1];
    ngx_uint_t                 n, allowed;
    ngx_http_spectra_route_t  *route;

    ngx_http_spectra_metrics_route(r, NULL, NULL);

    if (r->uri.len < sizeof("/v1/") - 1
        || ngx_strncmp(r->uri.data, "/v1/", sizeof("/v1/") - 1) != 0)
    {
        goto not_found;
    }

    path.data = r->uri.data + sizeof("/v1/") - 1;
    path.len = r->uri.len - (sizeof("/v1/") - 1);

    n = ngx_http_spectra_split(&path, segments);
    if (n == 0 || n > NGX_HTTP_SPECTRA_MAX_SEGMENTS) {
        goto not_found;
    }

    allowed = 0;

    for (route = ngx_http_spectra_routes; route->path != NULL; route++) {

        if (ngx_http_spectra_route_match(route->path, segments, n, &id)
            != NGX_OK)
        {
            continue;
        }

        if (r->method & route->methods) {
            ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                           "spectra route \"%s\" id:\"%V\"", route->path, &id);

            return ngx_http_spectra_api_call(r, route, &id);
        }

        allowed |= route->methods;
    }

    if (allowed) {
        return ngx_http_spectra_not_allowed(r, allowed);
    }

not_found:

    ngx_str_set(&message, "no such endpoint");

    return ngx_http_spectra_send_error(r, NGX_HTTP_NOT_FOUND, "NOT_FOUND",
                                       &message);
}


const char *
ngx_http_spectra_api_route_name(ngx_http_request_t *r)
{
    ngx_str_t                  path, id;
    ngx_str_t                  segments[NGX_HTTP_SPECTRA_MAX_SEGMENTS + 1];
    ngx_uint_t                 n;
    ngx_http_spectra_route_t  *route;

    if (r->uri.len < sizeof("/v1/") - 1
        || ngx_strncmp(r->uri.data, "/v1/", sizeof("/v1/") - 1) != 0)
    {
        return NULL;
    }

    path.data = r->uri.data + sizeof("/v1/") - 1;
    path.len = r->uri.len - (sizeof("/v1/") - 1);

    n = ngx_http_spectra_split(&path, segments);
    if (n == 0 || n > NGX_HTTP_SPECTRA_MAX_SEGMENTS) {
        return NULL;
    }

    for (route = ngx_http_spectra_routes; route->path != NULL; route++) {
        if ((r->method & route->methods)
            && ngx_http_spectra_route_match(route->path, segments, n, &id)
               == NGX_OK)
        {
            return route->path;
        }
    }

    return NULL;
}


/* The permission check, then the endpoint. */

static ngx_int_t
ngx_http_spectra_api_call(ngx_http_request_t *r,
    ngx_http_spectra_route_t *route, ngx_str_t *id)
{
    ngx_int_t                   rc;
    ngx_http_spectra_tenant_t  *tenant;

    tenant = NULL;

    ngx_http_spectra_metrics_route(r, route->path, NULL);

    if (route->permissions) {
        rc = ngx_http_spectra_auth_require(r, route->permissions);

        if (rc != NGX_OK) {
            return ngx_http_spectra_auth_send_error(r, rc,
                                                    route->permissions);
        }

        tenant = ngx_http_spectra_auth_tenant(r);

        ngx_http_spectra_metrics_route(r, route->path, tenant);

        if (ngx_http_spectra_get_ctx(r) == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        /* before the first refresh, or expired: say so, do not hang */
        if (ngx_http_spectra_awscreds_usable(
                ngx_http_get_module_loc_conf(r, ngx_http_spectra_module))
            != NGX_OK)
        {
            return ngx_http_spectra_fail(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                         "SERVICE_UNAVAILABLE",
                                         "no valid AWS credentials yet: "
                                         "try again shortly");
        }
    }

    return route->handler(r, tenant, id);
}


/*
 * Splits "a/b/c" into segments; an empty segment (a double or a trailing
 * slash) makes the path unknown.  Returns the count, 0 for a bad path.
 */

static ngx_uint_t
ngx_http_spectra_split(ngx_str_t *path, ngx_str_t *segments)
{
    u_char      *p, *last, *start;
    ngx_uint_t   n;

    n = 0;
    p = path->data;
    last = p + path->len;

    while (p < last) {
        if (n == NGX_HTTP_SPECTRA_MAX_SEGMENTS + 1) {
            return 0;
        }

        start = p;

        while (p < last && *p != '/') {
            p++;
        }

        if (p == start) {
            return 0;
        }

        segments[n].data = start;
        segments[n].len = p - start;
        n++;

        if (p < last) {
            p++;

            if (p == last) {
                return 0;
            }
        }
    }

    return n;
}


static ngx_int_t
ngx_http_spectra_route_match(const char *pattern, ngx_str_t *segments,
    ngx_uint_t n, ngx_str_t *id)
{
    size_t       len;
    ngx_uint_t   i;
    const char  *p, *end;

    ngx_str_null(id);

    p = pattern;

    for (i = 0; i < n; i++) {
        if (*p == '\0') {
            return NGX_DECLINED;
        }

        end = ngx_strchr(p, '/');
        len = (end != NULL) ? (size_t) (end - p) : ngx_strlen(p);

        if (len == 1 && *p == '*') {
            if (id->data == NULL) {
                *id = segments[i];
            }

        } else if (len != segments[i].len
                   || ngx_strncmp(p, segments[i].data, len) != 0)
        {
            return NGX_DECLINED;
        }

        p += len;

        if (*p == '/') {
            p++;
        }
    }

    return (*p == '\0') ? NGX_OK : NGX_DECLINED;
}


static ngx_int_t
ngx_http_spectra_not_allowed(ngx_http_request_t *r, ngx_uint_t methods)
{
    u_char           *p;
    ngx_str_t         message;
    ngx_table_elt_t  *h;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_pnalloc(r->pool, sizeof("GET, HEAD, POST, PATCH, DELETE") - 1);
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "Allow");
    h->value.data = p;

    if (methods & NGX_HTTP_GET) {
        p = ngx_cpymem(p, "GET, ", 5);
    }

    if (methods & NGX_HTTP_HEAD) {
        p = ngx_cpymem(p, "HEAD, ", 6);
    }

    if (methods & NGX_HTTP_POST) {
        p = ngx_cpymem(p, "POST, ", 6);
    }

    if (methods & NGX_HTTP_PATCH) {
        p = ngx_cpymem(p, "PATCH, ", 7);
    }

    if (methods & NGX_HTTP_DELETE) {
        p = ngx_cpymem(p, "DELETE, ", 8);
    }

    h->value.len = p - h->value.data - 2;

    ngx_str_set(&message, "method not allowed on this endpoint");

    return ngx_http_spectra_send_error(r, NGX_HTTP_NOT_ALLOWED,
                                       "METHOD_NOT_ALLOWED", &message);
}


ngx_http_spectra_ctx_t *
ngx_http_spectra_get_ctx(ngx_http_request_t *r)
{
    ngx_http_spectra_ctx_t  *ctx;

    r = r->main;

    ctx = ngx_http_get_module_ctx(r, ngx_http_spectra_module);
    if (ctx != NULL) {
        return ctx;
    }

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_spectra_ctx_t));
    if (ctx == NULL) {
        return NULL;
    }

    ctx->request = r;
    ctx->tenant = ngx_http_spectra_auth_tenant(r);

    ngx_http_set_ctx(r, ctx, ngx_http_spectra_module);

    return ctx;
}


ngx_int_t
ngx_http_spectra_api_async(ngx_http_request_t *r)
{
    r->main->count++;

    return NGX_DONE;
}


void
ngx_http_spectra_finish(ngx_http_request_t *r, ngx_int_t rc)
{
    ngx_http_spectra_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r->main, ngx_http_spectra_module);

    if (ctx != NULL) {
        if (ctx->done) {
            return;
        }

        if (ngx_http_spectra_rows_hold(r, rc)) {
            return;
        }

        ctx->done = 1;
    }

    ngx_http_finalize_request(r, rc);
}


static ngx_int_t
ngx_http_spectra_vfail(ngx_http_request_t *r, ngx_uint_t status,
    const char *code, const char *fmt, va_list args)
{
    u_char     *p;
    ngx_str_t   message;
    u_char      buf[NGX_MAX_ERROR_STR];

    p = ngx_vslprintf(buf, buf + sizeof(buf), fmt, args);

    message.data = buf;
    message.len = p - buf;

    return ngx_http_spectra_send_error(r, status, code, &message);
}


ngx_int_t
ngx_http_spectra_fail(ngx_http_request_t *r, ngx_uint_t status,
    const char *code, const char *fmt, ...)
{
    va_list    args;
    ngx_int_t  rc;

    va_start(args, fmt);
    rc = ngx_http_spectra_vfail(r, status, code, fmt, args);
    va_end(args);

    return rc;
}


ngx_int_t
ngx_http_spectra_fail_busy(ngx_http_request_t *r, const char *code,
    const char *fmt, ...)
{
    va_list                       args;
    ngx_int_t                     rc;
    ngx_table_elt_t              *h;
    ngx_http_spectra_loc_conf_t  *slcf;

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

    va_start(args, fmt);
    rc = ngx_http_spectra_vfail(r, 429, code, fmt, args);
    va_end(args);

    return rc;
}
