/*
 * Per-tenant counts of waiting statements in a shared memory zone
 * (ngx_http_spectra_queue.h): an rbtree of tenant ids, as
 * ngx_http_limit_conn_module keeps its counters; a node goes when its
 * count is back to zero.
 */


#include "ngx_http_spectra_common.h"
#include "ngx_http_spectra_queue.h"


typedef struct {
    ngx_str_node_t              sn;
    ngx_uint_t                  waiting;
    u_char                      data[1];
} ngx_http_spectra_queue_node_t;


typedef struct {
    ngx_rbtree_t                rbtree;
    ngx_rbtree_node_t           sentinel;
} ngx_http_spectra_queue_sh_t;


typedef struct {
    ngx_http_spectra_queue_sh_t  *sh;
    ngx_slab_pool_t              *shpool;
} ngx_http_spectra_queue_zone_t;


typedef struct {
    ngx_shm_zone_t             *zone;
    ngx_str_t                   tenant;
    unsigned                    in:1;
} ngx_http_spectra_queue_entry_t;


static void ngx_http_spectra_queue_cleanup(void *data);
static ngx_http_spectra_queue_waiter_t *ngx_http_spectra_queue_first(
    u_char *tenant, size_t len, ngx_queue_t *from);
static void ngx_http_spectra_queue_wake(ngx_http_spectra_queue_waiter_t *w);
static void ngx_http_spectra_queue_remove(ngx_http_spectra_queue_entry_t *e);
static ngx_int_t ngx_http_spectra_queue_init_zone(ngx_shm_zone_t *shm_zone,
    void *data);


ngx_int_t
ngx_http_spectra_queue_enter(ngx_http_request_t *r, ngx_str_t *tenant,
    ngx_uint_t max)
{
    size_t                           n;
    uint32_t                         hash;
    ngx_pool_cleanup_t              *cln;
    ngx_http_spectra_queue_node_t   *node;
    ngx_http_spectra_queue_zone_t   *qz;
    ngx_http_spectra_queue_entry_t  *e;
    ngx_http_spectra_main_conf_t    *smcf;

    smcf = ngx_http_get_module_main_conf(r, ngx_http_spectra_module);

    if (smcf->queues == NULL || max == 0) {
        return NGX_BUSY;
    }

    cln = ngx_pool_cleanup_add(r->pool,
                               sizeof(ngx_http_spectra_queue_entry_t));
    if (cln == NULL) {
        return NGX_ERROR;
    }

    e = cln->data;
    e->zone = smcf->queues;
    e->tenant = *tenant;
    e->in = 0;

    cln->handler = ngx_http_spectra_queue_cleanup;

    qz = smcf->queues->data;
    hash = ngx_crc32_short(tenant->data, tenant->len);

    ngx_shmtx_lock(&qz->shpool->mutex);

    node = (ngx_http_spectra_queue_node_t *)
               ngx_str_rbtree_lookup(&qz->sh->rbtree, tenant, hash);

    if (node == NULL) {
        n = offsetof(ngx_http_spectra_queue_node_t, data) + tenant->len;

        node = ngx_slab_alloc_locked(qz->shpool, n);
        if (node == NULL) {
            ngx_shmtx_unlock(&qz->shpool->mutex);
            return NGX_BUSY;
        }

        ngx_memcpy(node->data, tenant->data, tenant->len);
        node->sn.node.key = hash;
        node->sn.str.data = node->data;
        node->sn.str.len = tenant->len;
        node->waiting = 0;

        ngx_rbtree_insert(&qz->sh->rbtree, &node->sn.node);
    }

    if (node->waiting >= max) {
        ngx_shmtx_unlock(&qz->shpool->mutex);
        return NGX_BUSY;
    }

    node->waiting++;
    e->in = 1;

    ngx_shmtx_unlock(&qz->shpool->mutex);

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "spectra queue \"%V\": %ui waiting", tenant,
                   node->waiting);

    return NGX_OK;
}


void
ngx_http_spectra_queue_leave(ngx_http_request_t *r)
{
    ngx_pool_cleanup_t  *cln;

    for (cln = r->pool->cleanup; cln != NULL; cln = cln->next) {
        if (cln->handler == ngx_http_spectra_queue_cleanup) {
            ngx_http_spectra_queue_remove(cln->data);
        }
    }
}


static void
ngx_http_spectra_queue_cleanup(void *data)
{
    ngx_http_spectra_queue_remove(data);
}


static void
ngx_http_spectra_queue_remove(ngx_http_spectra_queue_entry_t *e)
{
    uint32_t                        hash;
    ngx_http_spectra_queue_node_t  *node;
    ngx_http_spectra_queue_zone_t  *qz;

    if (!e->in) {
        return;
    }

    e->in = 0;

    qz = e->zone->data;
    hash = ngx_crc32_short(e->tenant.data, e->tenant.len);

    ngx_shmtx_lock(&qz->shpool->mutex);

    node = (ngx_http_spectra_queue_node_t *)
               ngx_str_rbtree_lookup(&qz->sh->rbtree, &e->tenant, hash);

    if (node != NULL && node->waiting > 0 && --node->waiting == 0) {
        ngx_rbtree_delete(&qz->sh->rbtree, &node->sn.node);
        ngx_slab_free_locked(qz->shpool, node);
    }

    ngx_shmtx_unlock(&qz->shpool->mutex);
}


/* this worker's waiters, oldest first */
static ngx_queue_t  ngx_http_spectra_queue_waiters;
static ngx_uint_t   ngx_http_spectra_queue_waiters_init;


void
ngx_http_spectra_queue_wait(ngx_http_spectra_queue_waiter_t *w,
    ngx_str_t *tenant, ngx_event_t *ev)
{
    if (w->in) {
        return;
    }

    if (!ngx_http_spectra_queue_waiters_init) {
        ngx_queue_init(&ngx_http_spectra_queue_waiters);
        ngx_http_spectra_queue_waiters_init = 1;
    }

    w->tenant = *tenant;
    w->event = ev;
    w->woken = 0;
    w->in = 1;

    ngx_queue_insert_tail(&ngx_http_spectra_queue_waiters, &w->queue);
}


void
ngx_http_spectra_queue_unwait(ngx_http_spectra_queue_waiter_t *w)
{
    ngx_queue_t                      *next;
    ngx_http_spectra_queue_waiter_t  *n;

    if (!w->in) {
        return;
    }

    next = ngx_queue_next(&w->queue);
    ngx_queue_remove(&w->queue);
    w->in = 0;

    if (w->event->posted) {
        ngx_delete_posted_event(w->event);
    }

    if (!w->woken) {
        return;
    }

    /* woken for a slot it did not take (it went): the next one's now */

    w->woken = 0;

    n = ngx_http_spectra_queue_first(w->tenant.data, w->tenant.len, next);

    if (n != NULL) {
        ngx_http_spectra_queue_wake(n);
    }
}


ngx_int_t
ngx_http_spectra_queue_turn(ngx_http_spectra_queue_waiter_t *w)
{
    ngx_queue_t                      *q;
    ngx_http_spectra_queue_waiter_t  *o;

    if (!w->in) {
        return NGX_OK;
    }

    for (q = ngx_queue_head(&ngx_http_spectra_queue_waiters);
         q != &w->queue;
         q = ngx_queue_next(q))
    {
        o = ngx_queue_data(q, ngx_http_spectra_queue_waiter_t, queue);

        if (o->woken && o->tenant.len == w->tenant.len
            && ngx_memcmp(o->tenant.data, w->tenant.data, w->tenant.len)
               == 0)
        {
            return NGX_BUSY;
        }
    }

    return NGX_OK;
}


/* A job of tenant ended in this worker: its first waiter here looks now. */

void
ngx_http_spectra_queue_freed(u_char *tenant, size_t len)
{
    ngx_queue_t                      *q;
    ngx_http_spectra_queue_waiter_t  *w;

    if (!ngx_http_spectra_queue_waiters_init) {
        return;
    }

    q = ngx_queue_head(&ngx_http_spectra_queue_waiters);
    w = ngx_http_spectra_queue_first(tenant, len, q);

    if (w != NULL) {
        ngx_http_spectra_queue_wake(w);
    }
}


/* w looks for a slot as soon as the worker is done with this event */

static void
ngx_http_spectra_queue_wake(ngx_http_spectra_queue_waiter_t *w)
{
    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, w->event->log, 0,
                   "spectra queue \"%V\": a slot freed, the first waiter "
                   "looks", &w->tenant);

    w->woken = 1;

    if (w->event->timer_set) {
        ngx_del_timer(w->event);
    }

    ngx_post_event(w->event, &ngx_posted_events);
}


/* The first waiter of tenant from q on that is not woken yet, or NULL. */

static ngx_http_spectra_queue_waiter_t *
ngx_http_spectra_queue_first(u_char *tenant, size_t len, ngx_queue_t *from)
{
    ngx_queue_t                      *q;
    ngx_http_spectra_queue_waiter_t  *w;

    for (q = from;
         q != ngx_queue_sentinel(&ngx_http_spectra_queue_waiters);
         q = ngx_queue_next(q))
    {
        w = ngx_queue_data(q, ngx_http_spectra_queue_waiter_t, queue);

        if (!w->woken && !w->event->posted && w->tenant.len == len
            && ngx_memcmp(w->tenant.data, tenant, len) == 0)
        {
            return w;
        }
    }

    return NULL;
}


/* spectra_queue_zone name:size; */

char *
ngx_http_spectra_queue_zone(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_spectra_main_conf_t *smcf = conf;

    u_char                         *p;
    ssize_t                         size;
    ngx_str_t                      *value, name, s;
    ngx_http_spectra_queue_zone_t  *qz;

    if (smcf->queues != NULL) {
        return "is duplicate";
    }

    value = cf->args->elts;

    p = (u_char *) ngx_strchr(value[1].data, ':');
    if (p == NULL) {
        return "needs \"name:size\"";
    }

    name.data = value[1].data;
    name.len = p - name.data;

    s.data = p + 1;
    s.len = value[1].data + value[1].len - s.data;

    size = ngx_parse_size(&s);

    if (name.len == 0 || size == NGX_ERROR) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid zone \"%V\"", &value[1]);
        return NGX_CONF_ERROR;
    }

    if (size < (ssize_t) (8 * ngx_pagesize)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "zone \"%V\" is too small", &value[1]);
        return NGX_CONF_ERROR;
    }

    qz = ngx_pcalloc(cf->pool, sizeof(ngx_http_spectra_queue_zone_t));
    if (qz == NULL) {
        return NGX_CONF_ERROR;
    }

    smcf->queues = ngx_shared_memory_add(cf, &name, size,
                                         &ngx_http_spectra_module);
    if (smcf->queues == NULL) {
        return NGX_CONF_ERROR;
    }

    if (smcf->queues->data) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "duplicate zone \"%V\"", &name);
        return NGX_CONF_ERROR;
    }

    smcf->queues->init = ngx_http_spectra_queue_init_zone;
    smcf->queues->data = qz;

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_spectra_queue_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_http_spectra_queue_zone_t  *oqz = data;

    size_t                          len;
    ngx_http_spectra_queue_zone_t  *qz;

    qz = shm_zone->data;

    if (oqz != NULL) {
        qz->sh = oqz->sh;
        qz->shpool = oqz->shpool;
        return NGX_OK;
    }

    qz->shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    if (shm_zone->shm.exists) {
        qz->sh = qz->shpool->data;
        return NGX_OK;
    }

    qz->sh = ngx_slab_alloc(qz->shpool, sizeof(ngx_http_spectra_queue_sh_t));
    if (qz->sh == NULL) {
        return NGX_ERROR;
    }

    qz->shpool->data = qz->sh;

    ngx_rbtree_init(&qz->sh->rbtree, &qz->sh->sentinel,
                    ngx_str_rbtree_insert_value);

    len = sizeof(" in spectra queue zone \"\"") + shm_zone->shm.name.len;

    qz->shpool->log_ctx = ngx_slab_alloc(qz->shpool, len);
    if (qz->shpool->log_ctx == NULL) {
        return NGX_ERROR;
    }

    ngx_sprintf(qz->shpool->log_ctx, " in spectra queue zone \"%V\"%Z",
                &shm_zone->shm.name);

    return NGX_OK;
}
