/*
 * The /v1/ API: routing of method and path to the endpoint handlers.
 * Unknown paths answer the JSON 404, known paths with another method the
 * JSON 405 with Allow.
 */


#include "ngx_http_spectra_module.h"


#define NGX_HTTP_SPECTRA_MAX_SEGMENTS  4


typedef ngx_int_t (*ngx_http_spectra_endpoint_pt)(ngx_http_request_t *r,
    ngx_str_t *id);


typedef struct {
    /* path below /v1/, segments separated by '/', "*" matches an id */
    const char                     *path;
    ngx_uint_t                      methods;
    ngx_http_spectra_endpoint_pt    handler;
} ngx_http_spectra_route_t;


static ngx_uint_t ngx_http_spectra_split(ngx_str_t *path,
    ngx_str_t *segments);
static ngx_int_t ngx_http_spectra_route_match(const char *pattern,
    ngx_str_t *segments, ngx_uint_t n, ngx_str_t *id);
static ngx_int_t ngx_http_spectra_not_allowed(ngx_http_request_t *r,
    ngx_uint_t methods);
static ngx_int_t ngx_http_spectra_health_endpoint(ngx_http_request_t *r,
    ngx_str_t *id);


static ngx_http_spectra_route_t  ngx_http_spectra_routes[] = {

    { "health", NGX_HTTP_GET|NGX_HTTP_HEAD,
      ngx_http_spectra_health_endpoint },

    { NULL, 0, NULL }
};


ngx_int_t
ngx_http_spectra_api_handler(ngx_http_request_t *r)
{
    ngx_str_t                  path, id, message;
    ngx_str_t                  segments[NGX_HTTP_SPECTRA_MAX_SEGMENTS + 1];
    ngx_uint_t                 n, allowed;
    ngx_http_spectra_route_t  *route;

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

            return route->handler(r, &id);
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
            *id = segments[i];

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

    p = ngx_pnalloc(r->pool, sizeof("GET, HEAD, POST, DELETE") - 1);
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

    if (methods & NGX_HTTP_DELETE) {
        p = ngx_cpymem(p, "DELETE, ", 8);
    }

    h->value.len = p - h->value.data - 2;

    ngx_str_set(&message, "method not allowed on this endpoint");

    return ngx_http_spectra_send_error(r, NGX_HTTP_NOT_ALLOWED,
                                       "METHOD_NOT_ALLOWED", &message);
}


static ngx_int_t
ngx_http_spectra_health_endpoint(ngx_http_request_t *r, ngx_str_t *id)
{
    return ngx_http_spectra_health(r);
}
