/*
 * Data API session reuse: one session per database user (and warehouse),
 * kept in a shared memory zone so that every worker reuses it.  A session
 * runs one statement at a time: a request that finds it busy runs its
 * statement without a session instead of waiting.  A session the Data API
 * says is gone is dropped, and the statement retried once without it.
 * Only one request at a time creates a database user's session: it
 * reserves the entry (no id yet, busy) first, so that a burst of
 * concurrent requests does not open a session each, all but one of them
 * left idle on the Data API until their keepalive runs out.
 */


#include "ngx_http_spectra_common.h"
#include "ngx_http_spectra_session.h"
#include "ngx_http_spectra_statement.h"
#include "ngx_http_spectra_metrics.h"
#include "ngx_http_spectra_warehouse.h"


typedef struct {
    ngx_str_node_t              sn;
    time_t                      expires;
    unsigned                    busy:1;
    u_char                      id[NGX_HTTP_SPECTRA_SESSION_ID_LEN];
    size_t                      id_len;
    u_char                      data[1];       /* the key */
} ngx_http_spectra_session_node_t;


typedef struct {
    ngx_rbtree_t                rbtree;
    ngx_rbtree_node_t           sentinel;
} ngx_http_spectra_sessions_sh_t;


typedef struct {
    ngx_http_spectra_sessions_sh_t  *sh;
    ngx_slab_pool_t                 *shpool;
} ngx_http_spectra_sessions_t;


static ngx_http_spectra_session_node_t *ngx_http_spectra_session_lookup(
    ngx_http_spectra_sessions_t *ss, ngx_str_t *key, uint32_t hash);
static ngx_int_t ngx_http_spectra_session_key(ngx_http_spectra_stmt_t *st);
static ngx_http_spectra_session_node_t *ngx_http_spectra_session_insert(
    ngx_http_spectra_sessions_t *ss, ngx_str_t *key, uint32_t hash);
static void ngx_http_spectra_session_abandon(ngx_http_spectra_stmt_t *st);


static ngx_http_spectra_session_node_t *
ngx_http_spectra_session_lookup(ngx_http_spectra_sessions_t *ss,
    ngx_str_t *key, uint32_t hash)
{
    return (ngx_http_spectra_session_node_t *)
               ngx_str_rbtree_lookup(&ss->sh->rbtree, key, hash);
}


/* A new entry, busy and without an id yet; the caller holds the lock. */

static ngx_http_spectra_session_node_t *
ngx_http_spectra_session_insert(ngx_http_spectra_sessions_t *ss,
    ngx_str_t *key, uint32_t hash)
{
    size_t                            n;
    ngx_http_spectra_session_node_t  *node;

    n = offsetof(ngx_http_spectra_session_node_t, data) + key->len;

    node = ngx_slab_alloc_locked(ss->shpool, n);
    if (node == NULL) {
        return NULL;
    }

    ngx_memcpy(node->data, key->data, key->len);
    node->sn.node.key = hash;
    node->sn.str.data = node->data;
    node->sn.str.len = key->len;
    node->id_len = 0;
    node->busy = 1;

    ngx_rbtree_insert(&ss->sh->rbtree, &node->sn.node);

    return node;
}


/* db user, cluster or workgroup, database: what a session is bound to */

static ngx_int_t
ngx_http_spectra_session_key(ngx_http_spectra_stmt_t *st)
{
    u_char                       *p;
    ngx_str_t                    *wh;
    ngx_http_spectra_loc_conf_t  *slcf;

    if (st->session_key.len) {
        return NGX_OK;
    }

    slcf = st->conf;

    wh = ngx_http_spectra_warehouse_name(slcf);

    p = ngx_pnalloc(st->pool, st->db_user.len + slcf->cluster.len
                              + slcf->workgroup.len + slcf->database.len
                              + (wh != NULL ? wh->len + 1 : 0) + 3);
    if (p == NULL) {
        return NGX_ERROR;
    }

    /* a named warehouse's too: two of them may have the same names */
    st->session_key.data = p;
    p = ngx_sprintf(p, "%V/%V%V/%V", &st->db_user, &slcf->cluster,
                    &slcf->workgroup, &slcf->database);

    if (wh != NULL) {
        p = ngx_sprintf(p, "@%V", wh);
    }

    st->session_key.len = p - st->session_key.data;

    return NGX_OK;
}


/*
 * Before ExecuteStatement: either st->session_id names an idle session
 * this request now owns, or st->session_create asks for a new one, or
 * neither (sessions off, per-tenant secrets, or the session is busy).
 */

void
ngx_http_spectra_session_acquire(ngx_http_spectra_stmt_t *st)
{
    uint32_t                          hash;
    ngx_http_request_t               *r;
    ngx_http_spectra_sessions_t      *ss;
    ngx_http_spectra_loc_conf_t      *slcf;
    ngx_http_spectra_main_conf_t     *smcf;
    ngx_http_spectra_session_node_t  *node;

    ngx_str_null(&st->session_id);
    st->session_create = 0;

    r = st->request;
    smcf = ngx_http_get_module_main_conf(r, ngx_http_spectra_module);
    slcf = st->conf;

    if (smcf->sessions == NULL || slcf->session_keepalive == 0
        || slcf->secret_arn != NULL || st->session_retried)
    {
        return;
    }

    if (ngx_http_spectra_session_key(st) != NGX_OK) {
        return;
    }

    ss = smcf->sessions->data;
    hash = ngx_crc32_short(st->session_key.data, st->session_key.len);

    ngx_shmtx_lock(&ss->shpool->mutex);

    node = ngx_http_spectra_session_lookup(ss, &st->session_key, hash);

    if (node != NULL && node->expires <= ngx_time() + 1) {
        /* about to expire: forget it rather than race the Data API */
        ngx_rbtree_delete(&ss->sh->rbtree, &node->sn.node);
        ngx_slab_free_locked(ss->shpool, node);
        node = NULL;
    }

    if (node == NULL) {
        /* reserved: this request creates the session, others go without */
        node = ngx_http_spectra_session_insert(ss, &st->session_key, hash);

        if (node != NULL) {
            node->expires = ngx_time() + slcf->session_keepalive / 1000;
            st->session_create = 1;
        }

    } else if (!node->busy) {
        node->busy = 1;

        st->session_id.data = ngx_pnalloc(st->pool, node->id_len);
        if (st->session_id.data != NULL) {
            ngx_memcpy(st->session_id.data, node->id, node->id_len);
            st->session_id.len = node->id_len;

        } else {
            node->busy = 0;
        }
    }

    ngx_shmtx_unlock(&ss->shpool->mutex);

    ngx_http_spectra_metrics_session(
        st->session_create ? NGX_HTTP_SPECTRA_METRICS_SESSION_CREATED
        : st->session_id.len ? NGX_HTTP_SPECTRA_METRICS_SESSION_REUSED
        : NGX_HTTP_SPECTRA_METRICS_SESSION_BUSY);

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, st->log, 0,
                   "spectra session \"%V\": %s %V", &st->session_key,
                   st->session_create ? "create" : "reuse",
                   &st->session_id);
}


/* After ExecuteStatement created a session: remember it, owned by us. */

void
ngx_http_spectra_session_created(ngx_http_spectra_stmt_t *st, ngx_str_t *id)
{
    uint32_t                          hash;
    ngx_http_spectra_sessions_t      *ss;
    ngx_http_spectra_loc_conf_t      *slcf;
    ngx_http_spectra_main_conf_t     *smcf;
    ngx_http_spectra_session_node_t  *node;

    if (id->len == 0 || id->len > NGX_HTTP_SPECTRA_SESSION_ID_LEN) {
        ngx_http_spectra_session_abandon(st);
        return;
    }

    smcf = ngx_http_get_module_main_conf(st->request,
                                         ngx_http_spectra_module);
    slcf = st->conf;
    ss = smcf->sessions->data;

    hash = ngx_crc32_short(st->session_key.data, st->session_key.len);

    ngx_shmtx_lock(&ss->shpool->mutex);

    node = ngx_http_spectra_session_lookup(ss, &st->session_key, hash);

    if (node == NULL) {
        /* our reservation expired meanwhile */
        node = ngx_http_spectra_session_insert(ss, &st->session_key, hash);

    } else if (node->id_len != 0) {
        /* another request's session won: ours simply expires */
        node = NULL;
    }

    if (node != NULL) {
        ngx_memcpy(node->id, id->data, id->len);
        node->id_len = id->len;
        node->busy = 1;
        node->expires = ngx_time() + slcf->session_keepalive / 1000;

        st->session_id = *id;
    }

    st->session_create = 0;

    ngx_shmtx_unlock(&ss->shpool->mutex);
}


/*
 * The statement in our session ended: the session is idle again, and the
 * Data API keeps it alive for the keepalive time from now.  With gone
 * set, the Data API said the session no longer exists: forget it.
 */

void
ngx_http_spectra_session_release(ngx_http_spectra_stmt_t *st, ngx_uint_t gone)
{
    uint32_t                          hash;
    ngx_http_spectra_sessions_t      *ss;
    ngx_http_spectra_loc_conf_t      *slcf;
    ngx_http_spectra_main_conf_t     *smcf;
    ngx_http_spectra_session_node_t  *node;

    if (st->request == NULL) {
        return;
    }

    if (st->session_id.len == 0) {
        /* a creation that did not give a session */
        ngx_http_spectra_session_abandon(st);
        return;
    }

    smcf = ngx_http_get_module_main_conf(st->request,
                                         ngx_http_spectra_module);
    slcf = st->conf;
    ss = smcf->sessions->data;

    hash = ngx_crc32_short(st->session_key.data, st->session_key.len);

    ngx_shmtx_lock(&ss->shpool->mutex);

    node = ngx_http_spectra_session_lookup(ss, &st->session_key, hash);

    if (node != NULL && node->id_len == st->session_id.len
        && ngx_memcmp(node->id, st->session_id.data, node->id_len) == 0)
    {
        if (gone) {
            ngx_rbtree_delete(&ss->sh->rbtree, &node->sn.node);
            ngx_slab_free_locked(ss->shpool, node);

        } else {
            node->busy = 0;
            node->expires = ngx_time() + slcf->session_keepalive / 1000;
        }
    }

    ngx_shmtx_unlock(&ss->shpool->mutex);

    ngx_str_null(&st->session_id);
}


/*
 * The request ends with its statement still running (202, a client gone):
 * the session stays busy on the Data API side for an unknown time, so it
 * is forgotten rather than handed to the next request.
 */

void
ngx_http_spectra_session_cleanup(ngx_http_spectra_stmt_t *st)
{
    if (st->session_id.len || st->session_create) {
        ngx_http_spectra_session_release(st, 1);
    }
}


/*
 * The request that reserved the entry will not create the session (the
 * Data API refused, answered without a SessionId, or the request ended
 * first): the entry goes, so that the next request may try.
 */

static void
ngx_http_spectra_session_abandon(ngx_http_spectra_stmt_t *st)
{
    uint32_t                          hash;
    ngx_http_spectra_sessions_t      *ss;
    ngx_http_spectra_main_conf_t     *smcf;
    ngx_http_spectra_session_node_t  *node;

    if (!st->session_create) {
        return;
    }

    st->session_create = 0;

    smcf = ngx_http_get_module_main_conf(st->request,
                                         ngx_http_spectra_module);
    ss = smcf->sessions->data;

    hash = ngx_crc32_short(st->session_key.data, st->session_key.len);

    ngx_shmtx_lock(&ss->shpool->mutex);

    node = ngx_http_spectra_session_lookup(ss, &st->session_key, hash);

    if (node != NULL && node->id_len == 0) {
        ngx_rbtree_delete(&ss->sh->rbtree, &node->sn.node);
        ngx_slab_free_locked(ss->shpool, node);
    }

    ngx_shmtx_unlock(&ss->shpool->mutex);
}


void *
ngx_http_spectra_sessions_create(ngx_conf_t *cf)
{
    return ngx_pcalloc(cf->pool, sizeof(ngx_http_spectra_sessions_t));
}


ngx_int_t
ngx_http_spectra_sessions_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_http_spectra_sessions_t  *oss = data;

    size_t                        len;
    ngx_http_spectra_sessions_t  *ss;

    ss = shm_zone->data;

    if (oss != NULL) {
        ss->sh = oss->sh;
        ss->shpool = oss->shpool;
        return NGX_OK;
    }

    ss->shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    if (shm_zone->shm.exists) {
        ss->sh = ss->shpool->data;
        return NGX_OK;
    }

    ss->sh = ngx_slab_alloc(ss->shpool,
                            sizeof(ngx_http_spectra_sessions_sh_t));
    if (ss->sh == NULL) {
        return NGX_ERROR;
    }

    ss->shpool->data = ss->sh;

    ngx_rbtree_init(&ss->sh->rbtree, &ss->sh->sentinel,
                    ngx_str_rbtree_insert_value);

    len = sizeof(" in spectra sessions zone \"\"") + shm_zone->shm.name.len;

    ss->shpool->log_ctx = ngx_slab_alloc(ss->shpool, len);
    if (ss->shpool->log_ctx == NULL) {
        return NGX_ERROR;
    }

    ngx_sprintf(ss->shpool->log_ctx, " in spectra sessions zone \"%V\"%Z",
                &shm_zone->shm.name);

    return NGX_OK;
}
