/*
 * The verified-token cache: a shared memory zone (rbtree + LRU, as in
 * limit_req) mapping a hash of (configuration generation, location, token)
 * to the tenant context the token gave.  An entry never outlives the
 * token's exp (plus leeway); a reload changes the generation nonce, so
 * entries made under old keys are never found again and age out.
 */


#include "ngx_http_spectra_auth.h"


typedef struct {
    ngx_rbtree_node_t           node;
    ngx_queue_t                 queue;
    time_t                      expires;
    u_char                      key[NGX_HTTP_SPECTRA_CACHE_KEY_LEN];
    u_char                      tenant_id_len;
    u_char                      db_user_len;
    u_char                      db_group_len;
    u_char                      permissions;
    u_short                     payload_len;
    u_char                      data[1];
} ngx_http_spectra_auth_cache_node_t;


typedef struct {
    ngx_rbtree_t                rbtree;
    ngx_rbtree_node_t           sentinel;
    ngx_queue_t                 queue;
} ngx_http_spectra_auth_cache_sh_t;


typedef struct {
    ngx_http_spectra_auth_cache_sh_t  *sh;
    ngx_slab_pool_t                   *shpool;
} ngx_http_spectra_auth_cache_t;


static ngx_int_t ngx_http_spectra_auth_cache_init(ngx_shm_zone_t *shm_zone,
    void *data);
static void ngx_http_spectra_auth_cache_insert(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel);
static ngx_http_spectra_auth_cache_node_t *ngx_http_spectra_auth_cache_find(
    ngx_http_spectra_auth_cache_t *cache, u_char *key);
static void ngx_http_spectra_auth_cache_expire(
    ngx_http_spectra_auth_cache_t *cache, ngx_uint_t n);
static void ngx_http_spectra_auth_cache_delete(
    ngx_http_spectra_auth_cache_t *cache,
    ngx_http_spectra_auth_cache_node_t *cn);


static ngx_str_t  ngx_http_spectra_auth_cache_name =
    ngx_string("spectra_jwt_cache");


ngx_int_t
ngx_http_spectra_auth_cache_get(ngx_shm_zone_t *zone, u_char *key,
    ngx_pool_t *pool, ngx_http_spectra_auth_cached_t *out)
{
    u_char                              *p, *d;
    size_t                               len;
    ngx_http_spectra_auth_cache_t       *cache;
    ngx_http_spectra_auth_cache_node_t  *cn;

    cache = zone->data;

    ngx_shmtx_lock(&cache->shpool->mutex);

    cn = ngx_http_spectra_auth_cache_find(cache, key);

    if (cn == NULL) {
        ngx_shmtx_unlock(&cache->shpool->mutex);
        return NGX_DECLINED;
    }

    if (cn->expires <= ngx_time()) {
        ngx_http_spectra_auth_cache_delete(cache, cn);
        ngx_shmtx_unlock(&cache->shpool->mutex);
        return NGX_DECLINED;
    }

    ngx_queue_remove(&cn->queue);
    ngx_queue_insert_head(&cache->sh->queue, &cn->queue);

    len = cn->tenant_id_len + cn->db_user_len + cn->db_group_len
          + cn->payload_len;

    p = ngx_pnalloc(pool, len);
    if (p == NULL) {
        ngx_shmtx_unlock(&cache->shpool->mutex);
        return NGX_ERROR;
    }

    ngx_memcpy(p, cn->data, len);

    out->permissions = cn->permissions;

    d = p;
    out->tenant_id.data = d;
    out->tenant_id.len = cn->tenant_id_len;
    d += cn->tenant_id_len;
    out->db_user.data = d;
    out->db_user.len = cn->db_user_len;
    d += cn->db_user_len;
    out->db_group.data = d;
    out->db_group.len = cn->db_group_len;
    d += cn->db_group_len;
    out->payload.data = d;
    out->payload.len = cn->payload_len;

    ngx_shmtx_unlock(&cache->shpool->mutex);

    return NGX_OK;
}


void
ngx_http_spectra_auth_cache_put(ngx_shm_zone_t *zone, u_char *key,
    time_t expires, ngx_http_spectra_auth_cached_t *in, ngx_log_t *log)
{
    u_char                              *d;
    size_t                               size;
    ngx_uint_t                           i;
    ngx_http_spectra_auth_cache_t       *cache;
    ngx_http_spectra_auth_cache_node_t  *cn;

    if (in->tenant_id.len > 255 || in->db_user.len > 255
        || in->db_group.len > 255
        || in->payload.len > NGX_HTTP_SPECTRA_CACHE_PAYLOAD_MAX)
    {
        return;
    }

    cache = zone->data;

    size = offsetof(ngx_http_spectra_auth_cache_node_t, data)
           + in->tenant_id.len + in->db_user.len + in->db_group.len
           + in->payload.len;

    ngx_shmtx_lock(&cache->shpool->mutex);

    if (ngx_http_spectra_auth_cache_find(cache, key) != NULL) {
        ngx_shmtx_unlock(&cache->shpool->mutex);
        return;
    }

    ngx_http_spectra_auth_cache_expire(cache, 2);

    cn = ngx_slab_alloc_locked(cache->shpool, size);

    for (i = 0; cn == NULL && i < 16; i++) {
        /* full: the least recently used entries make room */
        if (ngx_queue_empty(&cache->sh->queue)) {
            break;
        }

        ngx_http_spectra_auth_cache_delete(cache,
            ngx_queue_data(ngx_queue_last(&cache->sh->queue),
                           ngx_http_spectra_auth_cache_node_t, queue));

        cn = ngx_slab_alloc_locked(cache->shpool, size);
    }

    if (cn == NULL) {
        ngx_shmtx_unlock(&cache->shpool->mutex);
        ngx_log_error(NGX_LOG_WARN, log, 0,
                      "spectra: the JWT cache zone is too small");
        return;
    }

    ngx_memcpy(cn->key, key, NGX_HTTP_SPECTRA_CACHE_KEY_LEN);
    ngx_memcpy(&cn->node.key, key, sizeof(ngx_rbtree_key_t));
    cn->expires = expires;
    cn->permissions = (u_char) in->permissions;
    cn->tenant_id_len = (u_char) in->tenant_id.len;
    cn->db_user_len = (u_char) in->db_user.len;
    cn->db_group_len = (u_char) in->db_group.len;
    cn->payload_len = (u_short) in->payload.len;

    d = ngx_cpymem(cn->data, in->tenant_id.data, in->tenant_id.len);
    d = ngx_cpymem(d, in->db_user.data, in->db_user.len);
    d = ngx_cpymem(d, in->db_group.data, in->db_group.len);
    ngx_memcpy(d, in->payload.data, in->payload.len);

    ngx_rbtree_insert(&cache->sh->rbtree, &cn->node);
    ngx_queue_insert_head(&cache->sh->queue, &cn->queue);

    ngx_shmtx_unlock(&cache->shpool->mutex);
}


static ngx_http_spectra_auth_cache_node_t *
ngx_http_spectra_auth_cache_find(ngx_http_spectra_auth_cache_t *cache,
    u_char *key)
{
    ngx_int_t                            rc;
    ngx_rbtree_key_t                     hash;
    ngx_rbtree_node_t                   *node, *sentinel;
    ngx_http_spectra_auth_cache_node_t  *cn;

    ngx_memcpy(&hash, key, sizeof(ngx_rbtree_key_t));

    node = cache->sh->rbtree.root;
    sentinel = cache->sh->rbtree.sentinel;

    while (node != sentinel) {

        if (hash < node->key) {
            node = node->left;
            continue;
        }

        if (hash > node->key) {
            node = node->right;
            continue;
        }

        cn = (ngx_http_spectra_auth_cache_node_t *) node;

        rc = ngx_memcmp(key, cn->key, NGX_HTTP_SPECTRA_CACHE_KEY_LEN);

        if (rc == 0) {
            return cn;
        }

        node = (rc < 0) ? node->left : node->right;
    }

    return NULL;
}


/* Removes up to n expired entries from the LRU end. */

static void
ngx_http_spectra_auth_cache_expire(ngx_http_spectra_auth_cache_t *cache,
    ngx_uint_t n)
{
    time_t                               now;
    ngx_queue_t                         *q;
    ngx_http_spectra_auth_cache_node_t  *cn;

    now = ngx_time();

    while (n-- && !ngx_queue_empty(&cache->sh->queue)) {
        q = ngx_queue_last(&cache->sh->queue);
        cn = ngx_queue_data(q, ngx_http_spectra_auth_cache_node_t, queue);

        if (cn->expires > now) {
            return;
        }

        ngx_http_spectra_auth_cache_delete(cache, cn);
    }
}


static void
ngx_http_spectra_auth_cache_delete(ngx_http_spectra_auth_cache_t *cache,
    ngx_http_spectra_auth_cache_node_t *cn)
{
    ngx_queue_remove(&cn->queue);
    ngx_rbtree_delete(&cache->sh->rbtree, &cn->node);
    ngx_slab_free_locked(cache->shpool, cn);
}


static void
ngx_http_spectra_auth_cache_insert(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel)
{
    ngx_rbtree_node_t                  **p;
    ngx_http_spectra_auth_cache_node_t  *cn, *cnt;

    for ( ;; ) {

        if (node->key < temp->key) {
            p = &temp->left;

        } else if (node->key > temp->key) {
            p = &temp->right;

        } else {
            cn = (ngx_http_spectra_auth_cache_node_t *) node;
            cnt = (ngx_http_spectra_auth_cache_node_t *) temp;

            p = (ngx_memcmp(cn->key, cnt->key,
                            NGX_HTTP_SPECTRA_CACHE_KEY_LEN) < 0)
                ? &temp->left : &temp->right;
        }

        if (*p == sentinel) {
            break;
        }

        temp = *p;
    }

    *p = node;
    node->parent = temp;
    node->left = sentinel;
    node->right = sentinel;
    ngx_rbt_red(node);
}


ngx_shm_zone_t *
ngx_http_spectra_auth_cache_add(ngx_conf_t *cf, size_t size, void *tag)
{
    ngx_shm_zone_t                 *zone;
    ngx_http_spectra_auth_cache_t  *cache;

    cache = ngx_pcalloc(cf->pool, sizeof(ngx_http_spectra_auth_cache_t));
    if (cache == NULL) {
        return NULL;
    }

    zone = ngx_shared_memory_add(cf, &ngx_http_spectra_auth_cache_name, size,
                                 tag);
    if (zone == NULL) {
        return NULL;
    }

    if (zone->data != NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"spectra_jwt_cache_zone\" is duplicate");
        return NULL;
    }

    zone->init = ngx_http_spectra_auth_cache_init;
    zone->data = cache;

    return zone;
}


static ngx_int_t
ngx_http_spectra_auth_cache_init(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_http_spectra_auth_cache_t  *ocache = data;

    size_t                          len;
    ngx_http_spectra_auth_cache_t  *cache;

    cache = shm_zone->data;

    if (ocache != NULL) {
        /* a reload: old entries are unreachable (new nonce), reuse */
        cache->sh = ocache->sh;
        cache->shpool = ocache->shpool;
        return NGX_OK;
    }

    cache->shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    if (shm_zone->shm.exists) {
        cache->sh = cache->shpool->data;
        return NGX_OK;
    }

    cache->sh = ngx_slab_alloc(cache->shpool,
                               sizeof(ngx_http_spectra_auth_cache_sh_t));
    if (cache->sh == NULL) {
        return NGX_ERROR;
    }

    cache->shpool->data = cache->sh;

    ngx_rbtree_init(&cache->sh->rbtree, &cache->sh->sentinel,
                    ngx_http_spectra_auth_cache_insert);
    ngx_queue_init(&cache->sh->queue);

    len = sizeof(" in spectra JWT cache zone \"\"")
          + shm_zone->shm.name.len;

    cache->shpool->log_ctx = ngx_slab_alloc(cache->shpool, len);
    if (cache->shpool->log_ctx == NULL) {
        return NGX_ERROR;
    }

    ngx_sprintf(cache->shpool->log_ctx, " in spectra JWT cache zone \"%V\"%Z",
                &shm_zone->shm.name);

    return NGX_OK;
}
