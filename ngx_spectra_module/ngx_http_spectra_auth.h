/*
 * Private declarations of ngx_http_spectra_auth_module: the verified-token
 * cache in shared memory (ngx_http_spectra_auth_cache.c).
 */

#ifndef _NGX_HTTP_SPECTRA_AUTH_H_INCLUDED_
#define _NGX_HTTP_SPECTRA_AUTH_H_INCLUDED_


#include "ngx_http_spectra.h"


#define NGX_HTTP_SPECTRA_CACHE_KEY_LEN      32
#define NGX_HTTP_SPECTRA_CACHE_NONCE_LEN    16
#define NGX_HTTP_SPECTRA_CACHE_PAYLOAD_MAX  2048


/* What a verified token gave; strings in r->pool after a lookup. */
typedef struct {
    ngx_str_t                   tenant_id;
    ngx_str_t                   db_user;
    ngx_str_t                   db_group;
    ngx_uint_t                  permissions;
    ngx_str_t                   payload;         /* the JSON claims */
} ngx_http_spectra_auth_cached_t;


ngx_shm_zone_t *ngx_http_spectra_auth_cache_add(ngx_conf_t *cf, size_t size,
    void *tag);

/*
 * Finds a live entry: NGX_OK with *out copied into pool, NGX_DECLINED when
 * absent or expired, NGX_ERROR.
 */
ngx_int_t ngx_http_spectra_auth_cache_get(ngx_shm_zone_t *zone, u_char *key,
    ngx_pool_t *pool, ngx_http_spectra_auth_cached_t *out);

/* Stores an entry valid until expires (never later than the token's). */
void ngx_http_spectra_auth_cache_put(ngx_shm_zone_t *zone, u_char *key,
    time_t expires, ngx_http_spectra_auth_cached_t *in, ngx_log_t *log);


#endif /* _NGX_HTTP_SPECTRA_AUTH_H_INCLUDED_ */
