/*
 * Stable download links (ngx_http_spectra_link.h).  The link is looked up
 * as every bulk endpoint looks up an export (tenant and database user:
 * another's is 404), its manifest read by the bulk code when the files
 * are not listed yet, then answered here: a 302 to a URL presigned now
 * for spectra_link_expires, never past the export's expires_at.
 *
 * Counted links: an rbtree of "<job>/<n>" in shared memory, as
 * ngx_http_limit_req_module keeps its states; a count is taken when the
 * link answers 302.  A node lives until its export has expired (then the
 * link is 410 whatever its count); only such nodes are removed when the
 * zone is full, so that a count never restarts while its link is valid.
 */


#include "ngx_http_spectra_common.h"
#include "ngx_http_spectra_awscreds.h"
#include "ngx_http_spectra_link.h"
#include "ngx_http_spectra_api.h"
#include "ngx_http_spectra_bulk.h"
#include "ngx_http_spectra_jobs.h"
#include "spectra_json.h"


#define NGX_HTTP_SPECTRA_GONE  410      /* nginx has no NGX_HTTP_GONE */


#define NGX_HTTP_SPECTRA_LINK_KEY_LEN  (SPECTRA_JOB_ID_LEN + 1 + NGX_INT_T_LEN)


typedef struct {
    ngx_str_node_t              sn;
    ngx_queue_t                 queue;
    time_t                      expires;       /* the export's expires_at */
    ngx_uint_t                  count;
    u_char                      data[NGX_HTTP_SPECTRA_LINK_KEY_LEN];
} ngx_http_spectra_link_node_t;


typedef struct {
    ngx_rbtree_t                rbtree;
    ngx_rbtree_node_t           sentinel;
    ngx_queue_t                 queue;
} ngx_http_spectra_link_sh_t;


typedef struct {
    ngx_http_spectra_link_sh_t  *sh;
    ngx_slab_pool_t             *shpool;
} ngx_http_spectra_link_zone_t;


typedef struct {
    ngx_http_request_t         *request;
    spectra_job_t               job;
    ngx_str_t                   n;
} ngx_http_spectra_link_ctx_t;


static void ngx_http_spectra_link_found(void *data, ngx_int_t rc);
static ngx_int_t ngx_http_spectra_link_take(ngx_http_request_t *r,
    spectra_job_t *job, ngx_uint_t n, ngx_uint_t max, time_t expires,
    ngx_uint_t *count);
static ngx_uint_t ngx_http_spectra_link_sweep(
    ngx_http_spectra_link_zone_t *lz, time_t now);
static ngx_int_t ngx_http_spectra_link_init_zone(ngx_shm_zone_t *shm_zone,
    void *data);


ngx_int_t
ngx_http_spectra_link_get(ngx_http_request_t *r,
    ngx_http_spectra_tenant_t *tenant, ngx_str_t *id)
{
    u_char                       *p;
    ngx_http_spectra_job_call_t  *call;
    ngx_http_spectra_link_ctx_t  *lc;

    ngx_http_discard_request_body(r);

    lc = ngx_pcalloc(r->pool, sizeof(ngx_http_spectra_link_ctx_t));
    call = ngx_pcalloc(r->pool, sizeof(ngx_http_spectra_job_call_t));

    if (lc == NULL || call == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    lc->request = r;

    /* {n}: the last segment of .../files/{n} (the router matched it) */
    p = r->uri.data + r->uri.len;

    while (p > r->uri.data && p[-1] != '/') {
        p--;
    }

    lc->n.data = p;
    lc->n.len = r->uri.data + r->uri.len - p;

    call->pool = r->pool;
    call->log = r->connection->log;
    call->connection = r->connection;
    call->handler = ngx_http_spectra_link_found;
    call->data = lc;

    (void) ngx_http_spectra_api_async(r);

    ngx_http_spectra_job_get(call, tenant, id, &lc->job);

    return NGX_DONE;
}


static void
ngx_http_spectra_link_found(void *data, ngx_int_t rc)
{
    ngx_http_spectra_link_ctx_t  *lc = data;

    ngx_http_request_t      *r;
    ngx_http_spectra_ctx_t  *ctx;

    r = lc->request;

    if (rc == NGX_OK && lc->job.type != SPECTRA_JOB_BULK) {
        rc = NGX_DECLINED;
    }

    if (rc == NGX_DECLINED) {
        ngx_http_spectra_finish(r,
            ngx_http_spectra_fail(r, NGX_HTTP_NOT_FOUND, "NOT_FOUND",
                                  "no such export"));
        return;
    }

    if (rc != NGX_OK) {
        ngx_http_spectra_finish(r, ngx_http_spectra_job_fail(r, rc));
        return;
    }

    ctx = ngx_http_spectra_get_ctx(r);
    if (ctx != NULL) {
        ngx_memcpy(ctx->job_id, lc->job.id, SPECTRA_JOB_ID_LEN + 1);
    }

    if (lc->job.status != SPECTRA_JOB_COMPLETED) {
        ngx_http_spectra_finish(r,
            ngx_http_spectra_fail(r, NGX_HTTP_CONFLICT, "CONFLICT",
                                  "the export is %s: it has no files to "
                                  "download (GET /v1/bulk/%s shows it)",
                                  spectra_job_status_name(lc->job.status),
                                  lc->job.id));
        return;
    }

    ngx_http_spectra_bulk_file_show(r, &lc->job, &lc->n);
}


ngx_int_t
ngx_http_spectra_link_send(ngx_http_request_t *r, spectra_job_t *job,
    spectra_bulk_result_t *res, ngx_str_t *n)
{
    size_t                         size, len;
    u_char                        *url;
    int64_t                        left, index;
    ngx_int_t                      rc;
    ngx_buf_t                     *b;
    ngx_uint_t                     count;
    ngx_chain_t                    out;
    spectra_err_t                  err;
    spectra_str_t                  bucket, prefix;
    ngx_table_elt_t               *h;
    spectra_s3_object_t            obj;
    time_t                         cexp;
    spectra_sigv4_credentials_t    cred;
    ngx_http_spectra_loc_conf_t   *slcf;
    u_char                         time[SPECTRA_JOB_TIME_LEN];

    slcf = ngx_http_get_module_loc_conf(r, ngx_http_spectra_module);

    left = spectra_bulk_link_left(res, ngx_time(),
                                  (unsigned) slcf->link_expires);

    if (left <= 0) {
        (void) spectra_job_time(time, res->expires_at);

        return ngx_http_spectra_fail(r, NGX_HTTP_SPECTRA_GONE, "GONE",
                                     "the export expired at %*s",
                                     (size_t) SPECTRA_JOB_TIME_LEN, time);
    }

    index = spectra_bulk_file_index(n->data, n->len, res->nfiles);

    if (index < 0) {
        return ngx_http_spectra_fail(r, NGX_HTTP_NOT_FOUND, "NOT_FOUND",
                                     "the export has no file \"%*s\": its "
                                     "%uz files are numbered from 0",
                                     ngx_min(n->len, 24), n->data,
                                     res->nfiles);
    }

    if (spectra_bulk_target_split(&res->target, &bucket, &prefix)
        != SPECTRA_BULK_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_http_spectra_awscreds_get(slcf, r->pool, &cred, &cexp)
        != NGX_OK)
    {
        return ngx_http_spectra_fail(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                     "SERVICE_UNAVAILABLE",
                                     "no valid AWS credentials yet");
    }

    cred.region = *ngx_http_spectra_str(&slcf->region);
    cred.service.data = (u_char *) "s3";
    cred.service.len = 2;

    obj.method.data = (u_char *) "GET";
    obj.method.len = 3;
    obj.bucket = bucket;
    obj.key = res->files[index].key;
    obj.path_style = slcf->s3_path_style ? 1 : 0;
    obj.now = ngx_time();
    obj.expires = (unsigned) left;

    /* a link dies with the credentials that signed it */
    if (cexp && cexp - obj.now < (time_t) obj.expires) {
        obj.expires = (unsigned) ngx_max(cexp - obj.now, 1);
    }

    size = spectra_s3_presign_size(&slcf->s3_endpoint, &obj, &cred);

    url = ngx_pnalloc(r->pool, size);
    if (url == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (spectra_s3_presign_url(&slcf->s3_endpoint, &obj, &cred, url, size,
                               &len, &err)
        != SPECTRA_S3_OK)
    {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "spectra: cannot sign file %L of export %s: %s",
                      index, job->id, err.message);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (res->max_downloads >= 0) {
        rc = ngx_http_spectra_link_take(r, job, (ngx_uint_t) index,
                                        (ngx_uint_t) res->max_downloads,
                                        (time_t) (res->expires_at / 1000),
                                        &count);

        if (rc == NGX_DECLINED) {
            ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                          "spectra: file %L of export %s was downloaded "
                          "%ui times: refused", index, job->id, count);

            return ngx_http_spectra_fail(r, NGX_HTTP_SPECTRA_GONE, "GONE",
                                         "this link was used %ui times, the "
                                         "export's max_downloads: it is no "
                                         "longer valid", count);
        }

        if (rc != NGX_OK) {
            return ngx_http_spectra_fail(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                         "UNAVAILABLE",
                                         "the downloads of this export "
                                         "cannot be counted here (%s)",
                                         rc == NGX_BUSY
                                         ? "spectra_download_zone is full"
                                         : "no spectra_download_zone");
        }
    }

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "spectra link: export %s file %L", job->id, index);

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "Location");
    h->value.data = url;
    h->value.len = len;

    r->headers_out.location = h;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "Cache-Control");
    ngx_str_set(&h->value, "no-store");

    /* {"url": "..."}: the same, for clients that do not follow */
    b = ngx_create_temp_buf(r->pool, sizeof("{\"url\":\"\"}\n") - 1
                                     + 2 * len);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b->last = ngx_cpymem(b->last, "{\"url\":\"", sizeof("{\"url\":\"") - 1);
    b->last = spectra_json_escape(b->last, url, len);
    b->last = ngx_cpymem(b->last, "\"}\n", sizeof("\"}\n") - 1);

    out.buf = b;
    out.next = NULL;

    return ngx_http_spectra_send_json(r, NGX_HTTP_MOVED_TEMPORARILY, &out);
}


/*
 * One more download of file n of job, up to max: NGX_OK (count is the
 * downloads so far, this one included), NGX_DECLINED when max were
 * already made (count: how many), NGX_BUSY when the zone is full,
 * NGX_ABORT without a zone.
 */

static ngx_int_t
ngx_http_spectra_link_take(ngx_http_request_t *r, spectra_job_t *job,
    ngx_uint_t n, ngx_uint_t max, time_t expires, ngx_uint_t *count)
{
    time_t                         now;
    uint32_t                       hash;
    ngx_str_t                      key;
    ngx_uint_t                     swept;
    ngx_http_spectra_link_node_t  *node;
    ngx_http_spectra_link_zone_t  *lz;
    ngx_http_spectra_main_conf_t  *smcf;
    u_char                         buf[NGX_HTTP_SPECTRA_LINK_KEY_LEN];

    smcf = ngx_http_get_module_main_conf(r, ngx_http_spectra_module);

    *count = 0;

    if (smcf->downloads == NULL) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "spectra: export %s has max_downloads, and there is "
                      "no spectra_download_zone to count them", job->id);
        return NGX_ABORT;
    }

    lz = smcf->downloads->data;
    now = ngx_time();

    key.data = buf;
    key.len = ngx_sprintf(buf, "%s/%ui", job->id, n) - buf;
    hash = ngx_crc32_short(key.data, key.len);

    ngx_shmtx_lock(&lz->shpool->mutex);

    node = (ngx_http_spectra_link_node_t *)
               ngx_str_rbtree_lookup(&lz->sh->rbtree, &key, hash);

    if (node != NULL) {
        *count = node->count;

        if (node->count >= max) {
            ngx_shmtx_unlock(&lz->shpool->mutex);
            return NGX_DECLINED;
        }

        node->count++;
        *count = node->count;

        ngx_shmtx_unlock(&lz->shpool->mutex);
        return NGX_OK;
    }

    if (max == 0) {
        ngx_shmtx_unlock(&lz->shpool->mutex);
        return NGX_DECLINED;
    }

    node = ngx_slab_alloc_locked(lz->shpool,
                                 sizeof(ngx_http_spectra_link_node_t));

    if (node == NULL) {
        swept = ngx_http_spectra_link_sweep(lz, now);

        if (swept) {
            node = ngx_slab_alloc_locked(lz->shpool,
                                      sizeof(ngx_http_spectra_link_node_t));
        }

        if (node == NULL) {
            ngx_shmtx_unlock(&lz->shpool->mutex);

            ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                          "spectra: spectra_download_zone \"%V\" is full: "
                          "the download of export %s is refused",
                          &smcf->downloads->shm.name, job->id);
            return NGX_BUSY;
        }
    }

    ngx_memcpy(node->data, key.data, key.len);
    node->sn.str.data = node->data;
    node->sn.str.len = key.len;
    node->sn.node.key = hash;
    node->expires = expires;
    node->count = 1;

    ngx_rbtree_insert(&lz->sh->rbtree, &node->sn.node);
    ngx_queue_insert_tail(&lz->sh->queue, &node->queue);

    ngx_shmtx_unlock(&lz->shpool->mutex);

    *count = 1;

    return NGX_OK;
}


/* Removes the counts of expired exports; returns how many. */

static ngx_uint_t
ngx_http_spectra_link_sweep(ngx_http_spectra_link_zone_t *lz, time_t now)
{
    ngx_uint_t                     n;
    ngx_queue_t                   *q, *next;
    ngx_http_spectra_link_node_t  *node;

    n = 0;

    for (q = ngx_queue_head(&lz->sh->queue);
         q != ngx_queue_sentinel(&lz->sh->queue);
         q = next)
    {
        next = ngx_queue_next(q);
        node = ngx_queue_data(q, ngx_http_spectra_link_node_t, queue);

        if (node->expires > now) {
            continue;
        }

        ngx_queue_remove(q);
        ngx_rbtree_delete(&lz->sh->rbtree, &node->sn.node);
        ngx_slab_free_locked(lz->shpool, node);
        n++;
    }

    return n;
}


char *
ngx_http_spectra_download_zone(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_spectra_main_conf_t *smcf = conf;

    u_char                        *p;
    ssize_t                        size;
    ngx_str_t                     *value, name, s;
    ngx_http_spectra_link_zone_t  *lz;

    if (smcf->downloads != NULL) {
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

    lz = ngx_pcalloc(cf->pool, sizeof(ngx_http_spectra_link_zone_t));
    if (lz == NULL) {
        return NGX_CONF_ERROR;
    }

    smcf->downloads = ngx_shared_memory_add(cf, &name, size,
                                            &ngx_http_spectra_module);
    if (smcf->downloads == NULL) {
        return NGX_CONF_ERROR;
    }

    if (smcf->downloads->data) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "duplicate zone \"%V\"", &name);
        return NGX_CONF_ERROR;
    }

    smcf->downloads->init = ngx_http_spectra_link_init_zone;
    smcf->downloads->data = lz;

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_spectra_link_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_http_spectra_link_zone_t  *olz = data;

    size_t                         len;
    ngx_http_spectra_link_zone_t  *lz;

    lz = shm_zone->data;

    if (olz != NULL) {
        /* a reload keeps the counts */
        lz->sh = olz->sh;
        lz->shpool = olz->shpool;
        return NGX_OK;
    }

    lz->shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    if (shm_zone->shm.exists) {
        lz->sh = lz->shpool->data;
        return NGX_OK;
    }

    lz->sh = ngx_slab_alloc(lz->shpool, sizeof(ngx_http_spectra_link_sh_t));
    if (lz->sh == NULL) {
        return NGX_ERROR;
    }

    lz->shpool->data = lz->sh;

    ngx_rbtree_init(&lz->sh->rbtree, &lz->sh->sentinel,
                    ngx_str_rbtree_insert_value);
    ngx_queue_init(&lz->sh->queue);

    len = sizeof(" in spectra download zone \"\"") + shm_zone->shm.name.len;

    lz->shpool->log_ctx = ngx_slab_alloc(lz->shpool, len);
    if (lz->shpool->log_ctx == NULL) {
        return NGX_ERROR;
    }

    ngx_sprintf(lz->shpool->log_ctx, " in spectra download zone \"%V\"%Z",
                &shm_zone->shm.name);

    lz->shpool->log_nomem = 0;

    return NGX_OK;
}
