/*
 * Many warehouses behind one endpoint (ngx_http_spectra_warehouse.h):
 * the spectra_warehouse blocks and pools, the per-location copies of the
 * Data API settings, placing new jobs, binding a job's calls to its
 * warehouse, and the shared counts and health of the warehouses.
 */


#include "ngx_http_spectra_common.h"
#include "ngx_http_spectra_warehouse.h"
#include "ngx_http_spectra_statement.h"
#include "ngx_http_spectra_api.h"
#include "ngx_http_spectra_jobs.h"

#include "spectra_warehouse.h"


#define NGX_HTTP_SPECTRA_POOL_MAX  32


typedef struct {
    ngx_str_t                   name;
    ngx_uint_t                  index;         /* its state in the zone */

    /* empty or unset: the location's */
    ngx_str_t                   dataapi_uri;
    ngx_str_t                   dataapi_host;
    ngx_str_t                   dataapi_url;
    ngx_str_t                   region;
    ngx_str_t                   access_key;
    ngx_str_t                   secret_key;
    ngx_str_t                   session_token;
    ngx_str_t                   cluster;
    ngx_str_t                   workgroup;
    ngx_str_t                   database;
    ngx_http_complex_value_t   *secret_arn;    /* NULL: DbUser */
    ngx_flag_t                  credentials;   /* set */

    spectra_warehouse_limits_t  limits;
} ngx_http_spectra_warehouse_t;


typedef struct {
    ngx_str_t                   name;
    ngx_uint_t                  index;         /* its rotor in the zone */
    ngx_uint_t                  members[NGX_HTTP_SPECTRA_POOL_MAX];
    ngx_uint_t                  nmembers;
} ngx_http_spectra_wh_pool_t;


typedef struct {
    ngx_uint_t                  n;
    ngx_uint_t                  npools;
    uint32_t                   *rotors;
    spectra_warehouse_state_t  *states;
} ngx_http_spectra_wh_sh_t;


typedef struct {
    ngx_array_t                 warehouses;    /* of ..._warehouse_t */
    ngx_array_t                 pools;         /* of ..._wh_pool_t */
    ngx_shm_zone_t             *zone;
    ngx_http_spectra_wh_sh_t   *sh;
    ngx_slab_pool_t            *shpool;
} ngx_http_spectra_wh_conf_t;


static ngx_http_spectra_wh_conf_t *ngx_http_spectra_wh_conf(
    ngx_http_spectra_main_conf_t *smcf);
static ngx_http_spectra_warehouse_t *ngx_http_spectra_wh_find(
    ngx_http_spectra_wh_conf_t *whc, ngx_str_t *name);
static ngx_http_spectra_wh_pool_t *ngx_http_spectra_wh_find_pool(
    ngx_http_spectra_wh_conf_t *whc, ngx_str_t *name);
static ngx_int_t ngx_http_spectra_wh_release(spectra_job_t *job);
static char *ngx_http_spectra_warehouse_directive(ngx_conf_t *cf,
    ngx_command_t *dummy, void *conf);
static ngx_int_t ngx_http_spectra_wh_init_zone(ngx_shm_zone_t *shm_zone,
    void *data);
static ngx_http_spectra_wh_conf_t *ngx_http_spectra_wh_conf_create(
    ngx_conf_t *cf);
static ngx_http_spectra_wh_conf_t *ngx_http_spectra_wh_conf_name(
    ngx_conf_t *cf, ngx_str_t *name, const char *what);
static ngx_int_t ngx_http_spectra_wh_copy(ngx_conf_t *cf,
    ngx_http_spectra_loc_conf_t *conf, ngx_http_spectra_warehouse_t *wh,
    ngx_http_spectra_loc_conf_t **copy);


static ngx_http_spectra_wh_conf_t *
ngx_http_spectra_wh_conf(ngx_http_spectra_main_conf_t *smcf)
{
    return (smcf != NULL) ? smcf->warehouses : NULL;
}


static ngx_http_spectra_warehouse_t *
ngx_http_spectra_wh_find(ngx_http_spectra_wh_conf_t *whc, ngx_str_t *name)
{
    ngx_uint_t                     i;
    ngx_http_spectra_warehouse_t  *wh;

    if (whc == NULL) {
        return NULL;
    }

    wh = whc->warehouses.elts;

    for (i = 0; i < whc->warehouses.nelts; i++) {
        if (wh[i].name.len == name->len
            && ngx_strncmp(wh[i].name.data, name->data, name->len) == 0)
        {
            return &wh[i];
        }
    }

    return NULL;
}


static ngx_http_spectra_wh_pool_t *
ngx_http_spectra_wh_find_pool(ngx_http_spectra_wh_conf_t *whc,
    ngx_str_t *name)
{
    ngx_uint_t                   i;
    ngx_http_spectra_wh_pool_t  *pool;

    if (whc == NULL) {
        return NULL;
    }

    pool = whc->pools.elts;

    for (i = 0; i < whc->pools.nelts; i++) {
        if (pool[i].name.len == name->len
            && ngx_strncmp(pool[i].name.data, name->data, name->len) == 0)
        {
            return &pool[i];
        }
    }

    return NULL;
}


ngx_int_t
ngx_http_spectra_warehouse_place(ngx_http_request_t *r, spectra_job_t *job)
{
    int                             k;
    int64_t                         now;
    ngx_str_t                       name;
    ngx_uint_t                      i, n, idx[NGX_HTTP_SPECTRA_POOL_MAX];
    uint32_t                        rotor, *rotorp;
    spectra_warehouse_state_t       states[NGX_HTTP_SPECTRA_POOL_MAX];
    spectra_warehouse_limits_t      limits[NGX_HTTP_SPECTRA_POOL_MAX];
    ngx_http_spectra_wh_conf_t     *whc;
    ngx_http_spectra_wh_pool_t     *pool;
    ngx_http_spectra_warehouse_t   *wh, *all;
    ngx_http_spectra_loc_conf_t    *slcf;
    ngx_http_spectra_main_conf_t   *smcf;

    job->warehouse.data = NULL;
    job->warehouse.len = 0;

    slcf = ngx_http_get_module_loc_conf(r, ngx_http_spectra_module);

    if (slcf->warehouse_route == NULL) {
        return NGX_OK;
    }

    if (ngx_http_complex_value(r, slcf->warehouse_route, &name) != NGX_OK) {
        return NGX_ERROR;
    }

    if (name.len == 0) {
        /* the location's own Data API settings */
        return NGX_OK;
    }

    smcf = ngx_http_get_module_main_conf(r, ngx_http_spectra_module);
    whc = ngx_http_spectra_wh_conf(smcf);

    pool = ngx_http_spectra_wh_find_pool(whc, &name);
    wh = (pool == NULL) ? ngx_http_spectra_wh_find(whc, &name) : NULL;

    if (pool == NULL && wh == NULL) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "spectra: spectra_warehouse_route \"%V\" names no "
                      "warehouse and no pool", &name);

        return NGX_ERROR;
    }

    all = whc->warehouses.elts;
    now = ngx_http_spectra_job_now();

    ngx_shmtx_lock(&whc->shpool->mutex);

    if (pool != NULL) {
        n = pool->nmembers;

        for (i = 0; i < n; i++) {
            idx[i] = pool->members[i];
            states[i] = whc->sh->states[all[idx[i]].index];
            limits[i] = all[idx[i]].limits;
        }

        rotorp = &whc->sh->rotors[pool->index];
        rotor = *rotorp;

        k = spectra_warehouse_choose(states, limits, n, now, &rotor);

        *rotorp = rotor;

        if (k >= 0) {
            wh = &all[idx[k]];
        }

    } else {
        /*
         * A warehouse of its own: tried even when down (nothing else
         * could take the job, and a success brings it back), capped.
         */
        k = (wh->limits.max_running == 0
             || whc->sh->states[wh->index].outstanding
                < wh->limits.max_running)
            ? 0 : SPECTRA_WAREHOUSE_NONE_FULL;
    }

    if (k >= 0) {
        spectra_warehouse_acquire(&whc->sh->states[wh->index]);
    }

    ngx_shmtx_unlock(&whc->shpool->mutex);

    if (k == SPECTRA_WAREHOUSE_NONE_FULL) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "spectra: every warehouse of \"%V\" runs its cap of "
                      "statements", &name);

        return NGX_BUSY;
    }

    if (k < 0) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "spectra: every warehouse of pool \"%V\" is down",
                      &name);

        return NGX_DECLINED;
    }

    job->warehouse.data = wh->name.data;
    job->warehouse.len = wh->name.len;

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "spectra route \"%V\": warehouse \"%V\"", &name,
                   &wh->name);

    return NGX_OK;
}


ngx_int_t
ngx_http_spectra_warehouse_fail(ngx_http_request_t *r, ngx_int_t rc)
{
    switch (rc) {

    case NGX_BUSY:
        return ngx_http_spectra_fail_busy(r, "RATE_LIMITED",
                                          "the warehouse is busy, retry "
                                          "later");

    case NGX_DECLINED:
        return ngx_http_spectra_fail(r, NGX_HTTP_BAD_GATEWAY,
                                     "UPSTREAM_ERROR",
                                     "the data API is unreachable or failed");

    default:
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
}


void
ngx_http_spectra_warehouse_unplace(spectra_job_t *job)
{
    (void) ngx_http_spectra_wh_release(job);

    job->warehouse.data = NULL;
    job->warehouse.len = 0;
}


void
ngx_http_spectra_warehouse_done(spectra_job_t *job)
{
    (void) ngx_http_spectra_wh_release(job);
}


static ngx_int_t
ngx_http_spectra_wh_release(spectra_job_t *job)
{
    ngx_http_spectra_wh_conf_t     *whc;
    ngx_http_spectra_warehouse_t   *wh;
    ngx_http_spectra_main_conf_t   *smcf;

    if (job->warehouse.data == NULL) {
        return NGX_DECLINED;
    }

    smcf = ngx_http_cycle_get_module_main_conf(ngx_cycle,
                                               ngx_http_spectra_module);
    whc = ngx_http_spectra_wh_conf(smcf);

    wh = ngx_http_spectra_wh_find(whc,
                                  ngx_http_spectra_ngx_str(&job->warehouse));
    if (wh == NULL || whc->sh == NULL) {
        return NGX_DECLINED;
    }

    ngx_shmtx_lock(&whc->shpool->mutex);
    spectra_warehouse_release(&whc->sh->states[wh->index]);
    ngx_shmtx_unlock(&whc->shpool->mutex);

    return NGX_OK;
}


ngx_int_t
ngx_http_spectra_warehouse_bind(ngx_http_spectra_stmt_t *st)
{
    u_char                        *p;
    size_t                         len;
    ngx_str_t                     *name;
    ngx_uint_t                     i;
    ngx_http_spectra_loc_conf_t  **copy;
    ngx_http_spectra_warehouse_t  *wh;

    if (st->job.warehouse.data == NULL) {
        return NGX_OK;
    }

    name = ngx_http_spectra_ngx_str(&st->job.warehouse);
    wh = st->conf->warehouse;

    if (wh != NULL && wh->name.len == name->len
        && ngx_strncmp(wh->name.data, name->data, name->len) == 0)
    {
        return NGX_OK;
    }

    if (st->conf->warehouse_confs != NULL) {
        copy = st->conf->warehouse_confs->elts;

        for (i = 0; i < st->conf->warehouse_confs->nelts; i++) {
            wh = copy[i]->warehouse;

            if (wh->name.len == name->len
                && ngx_strncmp(wh->name.data, name->data, name->len) == 0)
            {
                st->conf = copy[i];
                return NGX_OK;
            }
        }
    }

    ngx_log_error(NGX_LOG_ERR, st->log, 0,
                  "spectra: job %s ran on warehouse \"%V\", which is not "
                  "in the configuration", st->job.id, name);

    len = sizeof("the job's warehouse \"\" is not in the configuration")
          + name->len;

    p = ngx_pnalloc(st->pool, len);
    if (p != NULL) {
        ngx_snprintf(p, len, "the job's warehouse \"%V\" is not in the "
                     "configuration%Z", name);
        st->malformed = (const char *) p;
    }

    ngx_memzero(&st->derr, sizeof(spectra_dataapi_error_t));
    st->derr.kind = SPECTRA_DATAAPI_E_UNAVAILABLE;

    return NGX_DECLINED;
}


void
ngx_http_spectra_warehouse_answered(ngx_http_spectra_stmt_t *st)
{
    int                             changed, failed;
    ngx_http_spectra_wh_conf_t     *whc;
    ngx_http_spectra_warehouse_t   *wh;
    ngx_http_spectra_main_conf_t   *smcf;

    wh = st->conf->warehouse;

    if (wh == NULL || st->answer_too_big) {
        return;
    }

    smcf = ngx_http_cycle_get_module_main_conf(ngx_cycle,
                                               ngx_http_spectra_module);
    whc = ngx_http_spectra_wh_conf(smcf);

    if (whc == NULL || whc->sh == NULL) {
        return;
    }

    failed = spectra_warehouse_status_failed((unsigned) st->status);

    ngx_shmtx_lock(&whc->shpool->mutex);

    if (failed) {
        changed = spectra_warehouse_failed(&whc->sh->states[wh->index],
                                           &wh->limits,
                                           ngx_http_spectra_job_now());
    } else {
        changed = spectra_warehouse_succeeded(&whc->sh->states[wh->index]);
    }

    ngx_shmtx_unlock(&whc->shpool->mutex);

    if (!changed) {
        return;
    }

    if (failed) {
        ngx_log_error(NGX_LOG_WARN, st->log, 0,
                      "spectra: warehouse \"%V\" is down for %L ms: "
                      "its data API answered %ui", &wh->name,
                      wh->limits.fail_timeout, st->status);
    } else {
        ngx_log_error(NGX_LOG_NOTICE, st->log, 0,
                      "spectra: warehouse \"%V\" is up again", &wh->name);
    }
}


ngx_int_t
ngx_http_spectra_warehouse_keep(ngx_pool_t *pool, spectra_job_t *job)
{
    u_char  *p;

    if (job->warehouse.data == NULL) {
        return NGX_OK;
    }

    p = ngx_pnalloc(pool, job->warehouse.len + 1);
    if (p == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(p, job->warehouse.data, job->warehouse.len);
    p[job->warehouse.len] = '\0';
    job->warehouse.data = p;

    return NGX_OK;
}


ngx_str_t *
ngx_http_spectra_warehouse_name(ngx_http_spectra_loc_conf_t *conf)
{
    ngx_http_spectra_warehouse_t  *wh;

    wh = conf->warehouse;

    return (wh != NULL) ? &wh->name : NULL;
}


ngx_int_t
ngx_http_spectra_warehouse_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_http_spectra_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r->main, ngx_http_spectra_module);

    if (ctx == NULL || ctx->stmt == NULL
        || ctx->stmt->job.warehouse.data == NULL)
    {
        v->not_found = 1;
        return NGX_OK;
    }

    v->data = ctx->stmt->job.warehouse.data;
    v->len = ctx->stmt->job.warehouse.len;
    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;

    return NGX_OK;
}


/* configuration */


static ngx_http_spectra_wh_conf_t *
ngx_http_spectra_wh_conf_create(ngx_conf_t *cf)
{
    ngx_str_t                      name = ngx_string("spectra_warehouses");
    ngx_http_spectra_wh_conf_t    *whc;
    ngx_http_spectra_main_conf_t  *smcf;

    smcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_spectra_module);

    if (smcf->warehouses != NULL) {
        return smcf->warehouses;
    }

    whc = ngx_pcalloc(cf->pool, sizeof(ngx_http_spectra_wh_conf_t));
    if (whc == NULL) {
        return NULL;
    }

    if (ngx_array_init(&whc->warehouses, cf->pool, 4,
                       sizeof(ngx_http_spectra_warehouse_t))
        != NGX_OK
        || ngx_array_init(&whc->pools, cf->pool, 2,
                          sizeof(ngx_http_spectra_wh_pool_t))
           != NGX_OK)
    {
        return NULL;
    }

    /* counts and health of every warehouse, over all workers */
    whc->zone = ngx_shared_memory_add(cf, &name, 16 * ngx_pagesize,
                                      &ngx_http_spectra_module);
    if (whc->zone == NULL) {
        return NULL;
    }

    whc->zone->init = ngx_http_spectra_wh_init_zone;
    whc->zone->data = whc;

    smcf->warehouses = whc;

    return whc;
}


/*
 * A fresh zone at each start and reload: the counts are of the jobs this
 * configuration placed (a job placed before a reload is not counted out
 * by its end, which never takes a count below zero).
 */

static ngx_int_t
ngx_http_spectra_wh_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_http_spectra_wh_conf_t *whc = shm_zone->data;

    ngx_http_spectra_wh_sh_t  *sh;

    whc->shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    if (shm_zone->shm.exists) {
        whc->sh = whc->shpool->data;
        return NGX_OK;
    }

    if (data != NULL) {
        /* the old cycle's zone of the same size: start it over */
        ngx_slab_free(whc->shpool, whc->shpool->data);
    }

    sh = ngx_slab_calloc(whc->shpool, sizeof(ngx_http_spectra_wh_sh_t)
                              + whc->warehouses.nelts
                                * sizeof(spectra_warehouse_state_t)
                              + (whc->pools.nelts + 1) * sizeof(uint32_t));
    if (sh == NULL) {
        return NGX_ERROR;
    }

    sh->n = whc->warehouses.nelts;
    sh->npools = whc->pools.nelts;
    sh->states = (spectra_warehouse_state_t *) (sh + 1);
    sh->rotors = (uint32_t *) (sh->states + sh->n);

    whc->shpool->data = sh;
    whc->sh = sh;

    return NGX_OK;
}


/*
 * The configuration's warehouses and pools, for a new one called name
 * (what: "warehouse" or "pool"): the name must be valid and new among
 * both. NULL (the error logged) if not.
 */

static ngx_http_spectra_wh_conf_t *
ngx_http_spectra_wh_conf_name(ngx_conf_t *cf, ngx_str_t *name,
    const char *what)
{
    ngx_http_spectra_wh_conf_t  *whc;

    if (!spectra_warehouse_name_valid(name->data, name->len)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid %s name \"%V\": 1 to %d of "
                           "[A-Za-z0-9_-]", what, name,
                           SPECTRA_WAREHOUSE_NAME_MAX);
        return NULL;
    }

    whc = ngx_http_spectra_wh_conf_create(cf);
    if (whc == NULL) {
        return NULL;
    }

    if (ngx_http_spectra_wh_find(whc, name) != NULL
        || ngx_http_spectra_wh_find_pool(whc, name) != NULL)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "duplicate warehouse or pool \"%V\"", name);
        return NULL;
    }

    return whc;
}


/* spectra_warehouse name { ... } */

char *
ngx_http_spectra_warehouse_block(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    char                          *rv;
    ngx_str_t                     *value;
    ngx_conf_t                     save;
    ngx_http_spectra_wh_conf_t    *whc;
    ngx_http_spectra_warehouse_t  *wh;

    value = cf->args->elts;

    whc = ngx_http_spectra_wh_conf_name(cf, &value[1], "warehouse");
    if (whc == NULL) {
        return NGX_CONF_ERROR;
    }

    wh = ngx_array_push(&whc->warehouses);
    if (wh == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_memzero(wh, sizeof(ngx_http_spectra_warehouse_t));

    wh->name = value[1];
    wh->index = whc->warehouses.nelts - 1;
    wh->limits.max_fails = 1;
    wh->limits.fail_timeout = 10000;
    wh->limits.max_running = 0;

    save = *cf;
    cf->handler = ngx_http_spectra_warehouse_directive;
    cf->handler_conf = (void *) wh;

    rv = ngx_conf_parse(cf, NULL);

    *cf = save;

    if (rv != NGX_CONF_OK) {
        return rv;
    }

    if (wh->cluster.len && wh->workgroup.len) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "warehouse \"%V\": workgroup_name and "
                           "cluster_identifier exclude each other",
                           &wh->name);
        return NGX_CONF_ERROR;
    }

    if ((wh->access_key.len == 0) != (wh->secret_key.len == 0)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "warehouse \"%V\": an AWS access key id needs "
                           "its secret access key, and the other way round",
                           &wh->name);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/* One directive inside spectra_warehouse { }. */

static char *
ngx_http_spectra_warehouse_directive(ngx_conf_t *cf, ngx_command_t *dummy,
    void *conf)
{
    ngx_http_spectra_warehouse_t *wh = conf;

    ngx_int_t                          n;
    ngx_str_t                         *value, *field;
    ngx_uint_t                         i, nargs;
    ngx_http_compile_complex_value_t   ccv;

    static struct {
        ngx_str_t   name;
        size_t      offset;
    } strs[] = {
        { ngx_string("dataapi_location"),
          offsetof(ngx_http_spectra_warehouse_t, dataapi_uri) },
        { ngx_string("dataapi_host"),
          offsetof(ngx_http_spectra_warehouse_t, dataapi_host) },
        { ngx_string("dataapi_url"),
          offsetof(ngx_http_spectra_warehouse_t, dataapi_url) },
        { ngx_string("region"),
          offsetof(ngx_http_spectra_warehouse_t, region) },
        { ngx_string("aws_access_key_id"),
          offsetof(ngx_http_spectra_warehouse_t, access_key) },
        { ngx_string("aws_secret_access_key"),
          offsetof(ngx_http_spectra_warehouse_t, secret_key) },
        { ngx_string("aws_session_token"),
          offsetof(ngx_http_spectra_warehouse_t, session_token) },
        { ngx_string("cluster_identifier"),
          offsetof(ngx_http_spectra_warehouse_t, cluster) },
        { ngx_string("workgroup_name"),
          offsetof(ngx_http_spectra_warehouse_t, workgroup) },
        { ngx_string("database"),
          offsetof(ngx_http_spectra_warehouse_t, database) },
        { ngx_null_string, 0 }
    };

    value = cf->args->elts;
    nargs = cf->args->nelts;

    for (i = 0; strs[i].name.len; i++) {
        if (value[0].len != strs[i].name.len
            || ngx_strncmp(value[0].data, strs[i].name.data,
                           value[0].len) != 0)
        {
            continue;
        }

        if (nargs != 2 || value[1].len == 0) {
            goto invalid;
        }

        field = (ngx_str_t *) ((u_char *) wh + strs[i].offset);

        if (field->data != NULL) {
            return "is duplicate";
        }

        if (strs[i].offset == offsetof(ngx_http_spectra_warehouse_t,
                                       dataapi_url)
            && ngx_strncmp(value[1].data, "http://", 7) != 0
            && ngx_strncmp(value[1].data, "https://", 8) != 0)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "dataapi_url \"%V\" must start with http:// "
                               "or https://", &value[1]);
            return NGX_CONF_ERROR;
        }

        *field = value[1];
        return NGX_CONF_OK;
    }

    if (value[0].len == sizeof("credentials") - 1
        && ngx_strncmp(value[0].data, "credentials", value[0].len) == 0)
    {
        if (wh->credentials) {
            return "is duplicate";
        }

        wh->credentials = 1;

        if (nargs == 2 && ngx_strcmp(value[1].data, "dbuser") == 0) {
            wh->secret_arn = NULL;
            return NGX_CONF_OK;
        }

        if (nargs != 3 || ngx_strcmp(value[1].data, "secret") != 0
            || value[2].len == 0)
        {
            goto invalid;
        }

        wh->secret_arn = ngx_palloc(cf->pool,
                                    sizeof(ngx_http_complex_value_t));
        if (wh->secret_arn == NULL) {
            return NGX_CONF_ERROR;
        }

        ngx_memzero(&ccv, sizeof(ngx_http_compile_complex_value_t));
        ccv.cf = cf;
        ccv.value = &value[2];
        ccv.complex_value = wh->secret_arn;

        if (ngx_http_compile_complex_value(&ccv) != NGX_OK) {
            return NGX_CONF_ERROR;
        }

        return NGX_CONF_OK;
    }

    if (nargs == 2
        && value[0].len == sizeof("max_running") - 1
        && ngx_strncmp(value[0].data, "max_running", value[0].len) == 0)
    {
        n = ngx_atoi(value[1].data, value[1].len);
        if (n == NGX_ERROR) {
            goto invalid;
        }

        wh->limits.max_running = (unsigned) n;
        return NGX_CONF_OK;
    }

    if (nargs == 2
        && value[0].len == sizeof("max_fails") - 1
        && ngx_strncmp(value[0].data, "max_fails", value[0].len) == 0)
    {
        n = ngx_atoi(value[1].data, value[1].len);
        if (n == NGX_ERROR) {
            goto invalid;
        }

        wh->limits.max_fails = (unsigned) n;
        return NGX_CONF_OK;
    }

    if (nargs == 2
        && value[0].len == sizeof("fail_timeout") - 1
        && ngx_strncmp(value[0].data, "fail_timeout", value[0].len) == 0)
    {
        n = ngx_parse_time(&value[1], 0);
        if (n == NGX_ERROR || n == 0) {
            goto invalid;
        }

        wh->limits.fail_timeout = (int64_t) n;
        return NGX_CONF_OK;
    }

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "unknown directive \"%V\" in spectra_warehouse "
                       "\"%V\"", &value[0], &wh->name);
    return NGX_CONF_ERROR;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid \"%V\" in spectra_warehouse \"%V\"",
                       &value[0], &wh->name);
    return NGX_CONF_ERROR;
}


/* spectra_warehouse_pool name warehouse ...; */

char *
ngx_http_spectra_warehouse_pool(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_str_t                     *value;
    ngx_uint_t                     i, j;
    ngx_http_spectra_wh_conf_t    *whc;
    ngx_http_spectra_wh_pool_t    *pool;

    value = cf->args->elts;

    if (cf->args->nelts - 2 > NGX_HTTP_SPECTRA_POOL_MAX) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "pool \"%V\" has more than %d warehouses",
                           &value[1], NGX_HTTP_SPECTRA_POOL_MAX);
        return NGX_CONF_ERROR;
    }

    whc = ngx_http_spectra_wh_conf_name(cf, &value[1], "pool");
    if (whc == NULL) {
        return NGX_CONF_ERROR;
    }

    pool = ngx_array_push(&whc->pools);
    if (pool == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_memzero(pool, sizeof(ngx_http_spectra_wh_pool_t));
    pool->name = value[1];
    pool->index = whc->pools.nelts - 1;

    /* members are named by their spectra_warehouse blocks, before it */

    for (i = 2; i < cf->args->nelts; i++) {
        if (ngx_http_spectra_wh_find(whc, &value[i]) == NULL) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "pool \"%V\": no spectra_warehouse \"%V\" "
                               "before it", &value[1], &value[i]);
            return NGX_CONF_ERROR;
        }

        j = ngx_http_spectra_wh_find(whc, &value[i])->index;
        pool->members[pool->nmembers++] = j;
    }

    return NGX_CONF_OK;
}


/*
 * At the end of a conf's merge: one copy of the merged conf per
 * warehouse, with the warehouse's Data API settings, and the route's
 * names checked when it has no variables.
 */

char *
ngx_http_spectra_warehouse_merge(ngx_conf_t *cf,
    ngx_http_spectra_loc_conf_t *conf)
{
    ngx_str_t                      *name;
    ngx_uint_t                      i;
    ngx_http_spectra_wh_conf_t     *whc;
    ngx_http_spectra_loc_conf_t   **copy;
    ngx_http_spectra_warehouse_t   *wh;
    ngx_http_spectra_main_conf_t   *smcf;

    smcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_spectra_module);
    whc = ngx_http_spectra_wh_conf(smcf);

    if (conf->warehouse_route != NULL
        && conf->warehouse_route->lengths == NULL)
    {
        name = &conf->warehouse_route->value;

        if (name->len
            && ngx_http_spectra_wh_find(whc, name) == NULL
            && ngx_http_spectra_wh_find_pool(whc, name) == NULL)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "spectra_warehouse_route \"%V\" names no "
                               "spectra_warehouse and no "
                               "spectra_warehouse_pool", name);
            return NGX_CONF_ERROR;
        }
    }

    if (whc == NULL || whc->warehouses.nelts == 0) {
        conf->warehouse_confs = NULL;
        return NGX_CONF_OK;
    }

    conf->warehouse = NULL;
    conf->warehouse_confs = ngx_array_create(cf->pool,
                                             whc->warehouses.nelts,
                                             sizeof(void *));
    if (conf->warehouse_confs == NULL) {
        return NGX_CONF_ERROR;
    }

    wh = whc->warehouses.elts;

    for (i = 0; i < whc->warehouses.nelts; i++) {
        copy = ngx_array_push(conf->warehouse_confs);
        if (copy == NULL) {
            return NGX_CONF_ERROR;
        }

        if (ngx_http_spectra_wh_copy(cf, conf, &wh[i], copy) != NGX_OK) {
            return NGX_CONF_ERROR;
        }
    }

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_spectra_wh_copy(ngx_conf_t *cf, ngx_http_spectra_loc_conf_t *conf,
    ngx_http_spectra_warehouse_t *wh, ngx_http_spectra_loc_conf_t **copy)
{
    u_char                       *p;
    ngx_http_spectra_loc_conf_t  *c;

    c = ngx_palloc(cf->pool, sizeof(ngx_http_spectra_loc_conf_t));
    if (c == NULL) {
        return NGX_ERROR;
    }

    *c = *conf;
    c->warehouse = wh;

    if (wh->dataapi_uri.len) {
        c->dataapi_uri = wh->dataapi_uri;
    }

    if (wh->region.len) {
        c->region = wh->region;
    }

    if (wh->dataapi_host.len) {
        c->dataapi_host = wh->dataapi_host;

    } else if (wh->region.len) {
        c->dataapi_host.len = sizeof("redshift-data..amazonaws.com") - 1
                              + wh->region.len;
        c->dataapi_host.data = ngx_pnalloc(cf->pool, c->dataapi_host.len);
        if (c->dataapi_host.data == NULL) {
            return NGX_ERROR;
        }

        ngx_sprintf(c->dataapi_host.data, "redshift-data.%V.amazonaws.com",
                    &wh->region);
    }

    /* the supervisor's calls: the warehouse's URL, else its host's */

    if (wh->dataapi_url.len) {
        c->dataapi_url = wh->dataapi_url;

    } else if (wh->dataapi_host.len || wh->region.len) {
        c->dataapi_url.len = sizeof("https:///") - 1 + c->dataapi_host.len;
        p = ngx_pnalloc(cf->pool, c->dataapi_url.len);
        if (p == NULL) {
            return NGX_ERROR;
        }

        ngx_sprintf(p, "https://%V/", &c->dataapi_host);
        c->dataapi_url.data = p;
    }

    if (wh->access_key.len) {
        c->access_key = wh->access_key;
        c->secret_key = wh->secret_key;
        c->session_token = wh->session_token;
        c->awscreds = NULL;                 /* its keys, not a provider's */
    }

    if (wh->cluster.len || wh->workgroup.len) {
        c->cluster = wh->cluster;
        c->workgroup = wh->workgroup;
    }

    if (wh->database.len) {
        c->database = wh->database;
    }

    if (wh->credentials) {
        c->secret_arn = wh->secret_arn;
    }

    if (c->workgroup.len && c->secret_arn == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "warehouse \"%V\" is a workgroup and needs "
                           "\"credentials secret ARN;\" (per-tenant "
                           "secrets), so that each tenant runs as its own "
                           "database user", &wh->name);
        return NGX_ERROR;
    }

    *copy = c;

    return NGX_OK;
}
