/*
 * spectra_aws_credentials (ngx_http_spectra_awscreds.h).  Each refreshed
 * provider has a zone with the current set and its schedule; a worker
 * whose one-second timer finds a refresh due claims it in the zone (a
 * claim lapses, so another worker takes over from one that exited),
 * fetches through ngx_http_spectra_curl.c, parses with
 * src/spectra_awscreds.c and stores the set.  A failure keeps the set
 * and retries with a doubling delay; nothing secret is logged.
 */


#include "ngx_http_spectra_awscreds.h"
#include "ngx_http_spectra_curl.h"
#include "spectra_awscreds.h"


#define NGX_HTTP_SPECTRA_AWSCREDS_STATIC     1
#define NGX_HTTP_SPECTRA_AWSCREDS_ENV        2
#define NGX_HTTP_SPECTRA_AWSCREDS_PROFILE    3
#define NGX_HTTP_SPECTRA_AWSCREDS_WEB        4
#define NGX_HTTP_SPECTRA_AWSCREDS_CONTAINER  5
#define NGX_HTTP_SPECTRA_AWSCREDS_IMDS       6
#define NGX_HTTP_SPECTRA_AWSCREDS_CHAIN      7

#define NGX_HTTP_SPECTRA_AWSCREDS_TICK       1000
#define NGX_HTTP_SPECTRA_AWSCREDS_TIMEOUT    5000
#define NGX_HTTP_SPECTRA_AWSCREDS_ERR_LEN    160
#define NGX_HTTP_SPECTRA_AWSCREDS_FILE_MAX   (64 * 1024)
#define NGX_HTTP_SPECTRA_AWSCREDS_ANSWER_MAX (64 * 1024)
#define NGX_HTTP_SPECTRA_AWSCREDS_CONTAINER_HOST  "http://169.254.170.2"
#define NGX_HTTP_SPECTRA_AWSCREDS_IMDS_HOST       "http://169.254.169.254"
#define NGX_HTTP_SPECTRA_AWSCREDS_IMDS_ROLES \
    "/latest/meta-data/iam/security-credentials/"


typedef struct {
    spectra_awscreds_t          creds;
    ngx_uint_t                  provider;     /* whose they are */
    uint64_t                    generation;   /* 0: none yet */
    uint64_t                    refreshes;
    uint64_t                    failures;
    ngx_uint_t                  failing;      /* failures in a row */
    time_t                      fetched;
    time_t                      next;
    time_t                      mtime[2];     /* profile: the files' */
    ngx_pid_t                   owner;
    time_t                      owner_until;
    u_char                      error[NGX_HTTP_SPECTRA_AWSCREDS_ERR_LEN];
} ngx_http_spectra_awscreds_sh_t;


struct ngx_http_spectra_awscreds_s {
    ngx_uint_t                  provider;
    ngx_str_t                   profile;      /* NUL-terminated */
    ngx_str_t                   files[2];     /* credentials, config */
    ngx_str_t                   url;          /* STS, container, IMDS */
    ngx_str_t                   role_arn;
    ngx_str_t                   session_name;
    ngx_str_t                   token_file;   /* web identity, container */
    ngx_str_t                   auth_token;   /* container */
    time_t                      margin;
    ngx_shm_zone_t             *zone;

    /* the settings it was made from: equal ones share it */
    ngx_uint_t                  conf_provider;
    u_char                     *conf_profile;
    u_char                     *conf_sts;
    u_char                     *conf_imds;

    /* this worker's */
    ngx_http_spectra_awscreds_sh_t  *sh;
    ngx_slab_pool_t            *shpool;
    ngx_event_t                 timer;
    ngx_pool_t                 *pool;         /* of the fetch in flight */
    ngx_uint_t                  step;         /* IMDS: token, role, keys */
    ngx_str_t                   imds_token;
    ngx_log_t                  *log;
};


static ngx_int_t ngx_http_spectra_awscreds_add(ngx_conf_t *cf,
    ngx_http_spectra_loc_conf_t *conf, ngx_uint_t provider);
static ngx_int_t ngx_http_spectra_awscreds_env(ngx_conf_t *cf,
    ngx_str_t *value, const char *name);
static ngx_int_t ngx_http_spectra_awscreds_init_zone(ngx_shm_zone_t *zone,
    void *data);
static const char *ngx_http_spectra_awscreds_name(ngx_uint_t provider);
static ngx_int_t ngx_http_spectra_awscreds_read(ngx_str_t *path,
    ngx_pool_t *pool, ngx_log_t *log, ngx_str_t *out, time_t *mtime);
static ngx_int_t ngx_http_spectra_awscreds_profile(
    ngx_http_spectra_awscreds_t *src, ngx_pool_t *pool, ngx_log_t *log,
    spectra_awscreds_t *creds, time_t *mtime, spectra_err_t *err);
static void ngx_http_spectra_awscreds_tick(ngx_event_t *ev);
static ngx_int_t ngx_http_spectra_awscreds_claim(
    ngx_http_spectra_awscreds_t *src);
static void ngx_http_spectra_awscreds_fetch(ngx_http_spectra_awscreds_t *src);
static ngx_int_t ngx_http_spectra_awscreds_call(
    ngx_http_spectra_awscreds_t *src, const char *method, ngx_str_t *url,
    ngx_str_t *body, ngx_str_t *header1, ngx_str_t *header2);
static void ngx_http_spectra_awscreds_done(void *data, ngx_uint_t status,
    ngx_str_t *body);
static void ngx_http_spectra_awscreds_store(ngx_http_spectra_awscreds_t *src,
    spectra_awscreds_t *creds, time_t *mtime);
static void ngx_http_spectra_awscreds_failed(ngx_http_spectra_awscreds_t *src,
    const char *reason);
static void ngx_http_spectra_awscreds_end(ngx_http_spectra_awscreds_t *src);


static ngx_str_t  ngx_http_spectra_awscreds_providers[] = {
    ngx_null_string,
    ngx_string("static"),
    ngx_string("env"),
    ngx_string("profile"),
    ngx_string("web_identity"),
    ngx_string("container"),
    ngx_string("imds"),
    ngx_string("chain")
};


char *
ngx_http_spectra_awscreds_conf(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_spectra_loc_conf_t *slcf = conf;

    ngx_str_t   *value;
    ngx_uint_t   i;

    if (slcf->aws_provider != NGX_CONF_UNSET_UINT) {
        return "is duplicate";
    }

    value = cf->args->elts;

    for (i = 1; i <= NGX_HTTP_SPECTRA_AWSCREDS_CHAIN; i++) {
        if (value[1].len == ngx_http_spectra_awscreds_providers[i].len
            && ngx_strncmp(value[1].data,
                           ngx_http_spectra_awscreds_providers[i].data,
                           value[1].len)
               == 0)
        {
            break;
        }
    }

    if (i > NGX_HTTP_SPECTRA_AWSCREDS_CHAIN) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "unknown AWS credentials provider \"%V\" "
                           "(static, env, profile, web_identity, container, "
                           "imds or chain)", &value[1]);
        return NGX_CONF_ERROR;
    }

    if (cf->args->nelts == 3 && i != NGX_HTTP_SPECTRA_AWSCREDS_PROFILE) {
        return "takes a name after \"profile\" only";
    }

    slcf->aws_provider = i;

    if (cf->args->nelts == 3) {
        slcf->aws_profile = value[2];
    }

    return NGX_CONF_OK;
}


ngx_int_t
ngx_http_spectra_awscreds_merge(ngx_conf_t *cf,
    ngx_http_spectra_loc_conf_t *prev, ngx_http_spectra_loc_conf_t *conf)
{
    ngx_str_t    v;
    ngx_uint_t   provider;

    ngx_conf_merge_str_value(conf->aws_sts_endpoint, prev->aws_sts_endpoint,
                             "");
    ngx_conf_merge_str_value(conf->aws_imds_endpoint,
                             prev->aws_imds_endpoint, "");
    ngx_conf_merge_sec_value(conf->aws_refresh_margin,
                             prev->aws_refresh_margin, 300);

    if (conf->aws_provider == NGX_CONF_UNSET_UINT) {
        conf->aws_provider = prev->aws_provider;
        conf->aws_profile = prev->aws_profile;

        /* a level that inherits everything shares the parent's source */
        if (prev->awscreds != NULL
            && conf->aws_sts_endpoint.data == prev->aws_sts_endpoint.data
            && conf->aws_imds_endpoint.data == prev->aws_imds_endpoint.data
            && conf->aws_refresh_margin == prev->aws_refresh_margin)
        {
            conf->awscreds = prev->awscreds;
            return NGX_OK;
        }
    }

    provider = conf->aws_provider;

    if (provider == NGX_CONF_UNSET_UINT
        || provider == NGX_HTTP_SPECTRA_AWSCREDS_STATIC
        || provider == NGX_HTTP_SPECTRA_AWSCREDS_ENV)
    {
        /* the keys of the directives or of AWS_* at load (merge_dataapi) */
        return NGX_OK;
    }

    if (provider == NGX_HTTP_SPECTRA_AWSCREDS_CHAIN) {

        /* the standard order; the environment decides, as in the SDKs */

        if (ngx_http_spectra_awscreds_env(cf, &v, "AWS_ACCESS_KEY_ID")
            != NGX_OK)
        {
            return NGX_ERROR;
        }

        if (v.len && conf->access_key.len) {
            return NGX_OK;
        }

        provider = NGX_HTTP_SPECTRA_AWSCREDS_PROFILE;
    }

    return ngx_http_spectra_awscreds_add(cf, conf, provider);
}


static ngx_int_t
ngx_http_spectra_awscreds_env(ngx_conf_t *cf, ngx_str_t *value,
    const char *name)
{
    char  *v;

    ngx_str_null(value);

    v = getenv(name);

    if (v == NULL || *v == '\0') {
        return NGX_OK;
    }

    value->len = ngx_strlen(v);
    value->data = ngx_pnalloc(cf->pool, value->len + 1);
    if (value->data == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(value->data, v, value->len + 1);

    return NGX_OK;
}


/*
 * The source of a location: the environment of the load decides the
 * files, URLs and tokens; chain settles on the first provider that has
 * what it needs (a profile with keys, the web identity variables, the
 * container variables), else IMDS.
 */

static ngx_int_t
ngx_http_spectra_awscreds_add(ngx_conf_t *cf,
    ngx_http_spectra_loc_conf_t *conf, ngx_uint_t provider)
{
    u_char                        *p;
    time_t                         mtime[2];
    ngx_str_t                      name, home, rel;
    ngx_uint_t                     i, chain;
    spectra_err_t                  err;
    spectra_awscreds_t             creds;
    ngx_http_spectra_awscreds_t   *src, **slot;
    ngx_http_spectra_main_conf_t  *smcf;

    smcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_spectra_module);

    chain = (conf->aws_provider == NGX_HTTP_SPECTRA_AWSCREDS_CHAIN);

    slot = smcf->awscreds.elts;

    for (i = 0; i < smcf->awscreds.nelts; i++) {
        src = slot[i];

        if (src->conf_provider == conf->aws_provider
            && src->conf_profile == conf->aws_profile.data
            && src->conf_sts == conf->aws_sts_endpoint.data
            && src->conf_imds == conf->aws_imds_endpoint.data
            && src->margin == conf->aws_refresh_margin)
        {
            conf->awscreds = src;
            return NGX_OK;
        }
    }

    src = ngx_pcalloc(cf->pool, sizeof(ngx_http_spectra_awscreds_t));
    if (src == NULL) {
        return NGX_ERROR;
    }

    src->margin = conf->aws_refresh_margin;
    src->conf_provider = conf->aws_provider;
    src->conf_profile = conf->aws_profile.data;
    src->conf_sts = conf->aws_sts_endpoint.data;
    src->conf_imds = conf->aws_imds_endpoint.data;

    if (ngx_http_spectra_awscreds_env(cf, &home, "HOME") != NGX_OK) {
        return NGX_ERROR;
    }

    if (provider == NGX_HTTP_SPECTRA_AWSCREDS_PROFILE) {
        src->profile = conf->aws_profile;

        if (src->profile.len == 0
            && ngx_http_spectra_awscreds_env(cf, &src->profile,
                                             "AWS_PROFILE")
               != NGX_OK)
        {
            return NGX_ERROR;
        }

        if (src->profile.len == 0) {
            ngx_str_set(&src->profile, "default");
        }

        src->profile.data = (u_char *) ngx_pstrdup(cf->pool, &src->profile);
        p = ngx_pnalloc(cf->pool, src->profile.len + 1);
        if (src->profile.data == NULL || p == NULL) {
            return NGX_ERROR;
        }

        ngx_memcpy(p, src->profile.data, src->profile.len);
        p[src->profile.len] = '\0';
        src->profile.data = p;

        if (ngx_http_spectra_awscreds_env(cf, &src->files[0],
                                          "AWS_SHARED_CREDENTIALS_FILE")
            != NGX_OK
            || ngx_http_spectra_awscreds_env(cf, &src->files[1],
                                             "AWS_CONFIG_FILE")
               != NGX_OK)
        {
            return NGX_ERROR;
        }

        if (src->files[0].len == 0 && home.len) {
            src->files[0].data = ngx_pnalloc(cf->pool, home.len + 32);
            if (src->files[0].data == NULL) {
                return NGX_ERROR;
            }

            src->files[0].len = ngx_sprintf(src->files[0].data,
                                            "%V/.aws/credentials%Z", &home)
                                - src->files[0].data - 1;
        }

        if (src->files[1].len == 0 && home.len) {
            src->files[1].data = ngx_pnalloc(cf->pool, home.len + 32);
            if (src->files[1].data == NULL) {
                return NGX_ERROR;
            }

            src->files[1].len = ngx_sprintf(src->files[1].data,
                                            "%V/.aws/config%Z", &home)
                                - src->files[1].data - 1;
        }

        if (ngx_http_spectra_awscreds_profile(src, cf->temp_pool, cf->log,
                                              &creds, mtime, &err)
            == NGX_OK)
        {
            spectra_awscreds_clear(&creds);
            goto done;
        }

        if (!chain) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "spectra_aws_credentials profile: no keys "
                               "for profile \"%V\" (%s)", &src->profile,
                               err.message);
            return NGX_ERROR;
        }

        provider = NGX_HTTP_SPECTRA_AWSCREDS_WEB;
    }

    if (provider == NGX_HTTP_SPECTRA_AWSCREDS_WEB) {
        if (ngx_http_spectra_awscreds_env(cf, &src->token_file,
                                          "AWS_WEB_IDENTITY_TOKEN_FILE")
            != NGX_OK
            || ngx_http_spectra_awscreds_env(cf, &src->role_arn,
                                             "AWS_ROLE_ARN")
               != NGX_OK
            || ngx_http_spectra_awscreds_env(cf, &src->session_name,
                                             "AWS_ROLE_SESSION_NAME")
               != NGX_OK)
        {
            return NGX_ERROR;
        }

        if (src->token_file.len && src->role_arn.len) {
            if (src->session_name.len == 0) {
                ngx_str_set(&src->session_name, "spectra");
            }

            src->url = conf->aws_sts_endpoint;

            if (src->url.len == 0) {
                ngx_str_set(&src->url, "https://sts.amazonaws.com/");
            }

            goto done;
        }

        if (!chain) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "spectra_aws_credentials web_identity needs "
                               "AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN "
                               "in the environment nginx starts with");
            return NGX_ERROR;
        }

        ngx_str_null(&src->token_file);
        provider = NGX_HTTP_SPECTRA_AWSCREDS_CONTAINER;
    }

    if (provider == NGX_HTTP_SPECTRA_AWSCREDS_CONTAINER) {
        if (ngx_http_spectra_awscreds_env(cf, &src->url,
                                   "AWS_CONTAINER_CREDENTIALS_FULL_URI")
            != NGX_OK
            || ngx_http_spectra_awscreds_env(cf, &rel,
                                   "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")
               != NGX_OK
            || ngx_http_spectra_awscreds_env(cf, &src->auth_token,
                                   "AWS_CONTAINER_AUTHORIZATION_TOKEN")
               != NGX_OK
            || ngx_http_spectra_awscreds_env(cf, &src->token_file,
                                   "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE")
               != NGX_OK)
        {
            return NGX_ERROR;
        }

        if (src->url.len == 0 && rel.len) {
            src->url.len = sizeof(NGX_HTTP_SPECTRA_AWSCREDS_CONTAINER_HOST)
                           - 1 + rel.len;
            src->url.data = ngx_pnalloc(cf->pool, src->url.len + 1);
            if (src->url.data == NULL) {
                return NGX_ERROR;
            }

            ngx_sprintf(src->url.data, "%s%V%Z",
                        NGX_HTTP_SPECTRA_AWSCREDS_CONTAINER_HOST, &rel);
        }

        if (src->url.len) {
            goto done;
        }

        if (!chain) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "spectra_aws_credentials container needs "
                               "AWS_CONTAINER_CREDENTIALS_FULL_URI or "
                               "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI in "
                               "the environment nginx starts with");
            return NGX_ERROR;
        }

        ngx_str_null(&src->token_file);
        ngx_str_null(&src->auth_token);
        provider = NGX_HTTP_SPECTRA_AWSCREDS_IMDS;
    }

    /* IMDS */

    src->url = conf->aws_imds_endpoint;

    if (src->url.len == 0
        && ngx_http_spectra_awscreds_env(cf, &src->url,
                                         "AWS_EC2_METADATA_SERVICE_ENDPOINT")
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (src->url.len == 0) {
        ngx_str_set(&src->url, NGX_HTTP_SPECTRA_AWSCREDS_IMDS_HOST);
    }

    while (src->url.len && src->url.data[src->url.len - 1] == '/') {
        src->url.len--;
    }

done:

    src->provider = provider;

    /* the zone: one per source, named by its place (a reload keeps it) */

    name.data = ngx_pnalloc(cf->pool, 64);
    if (name.data == NULL) {
        return NGX_ERROR;
    }

    name.len = ngx_sprintf(name.data, "spectra_aws_credentials_%ui",
                           smcf->awscreds.nelts)
               - name.data;

    src->zone = ngx_shared_memory_add(cf, &name, 8 * ngx_pagesize,
                                      &ngx_http_spectra_module);
    if (src->zone == NULL) {
        return NGX_ERROR;
    }

    src->zone->init = ngx_http_spectra_awscreds_init_zone;
    src->zone->data = src;

    slot = ngx_array_push(&smcf->awscreds);
    if (slot == NULL) {
        return NGX_ERROR;
    }

    *slot = src;
    conf->awscreds = src;

    return NGX_OK;
}


/* The profile is read at once, in the master: it signs from the start. */

static ngx_int_t
ngx_http_spectra_awscreds_init_zone(ngx_shm_zone_t *zone, void *data)
{
    ngx_http_spectra_awscreds_t *src = zone->data;

    time_t                           mtime[2];
    spectra_err_t                    err;
    spectra_awscreds_t               creds;
    ngx_slab_pool_t                 *shpool;
    ngx_http_spectra_awscreds_sh_t  *sh;

    shpool = (ngx_slab_pool_t *) zone->shm.addr;

    if (data) {
        /* a reload: the set of the old cycle until the next refresh */
        sh = ((ngx_http_spectra_awscreds_t *) data)->sh;
        zone->data = src;
        src->sh = sh;
        src->shpool = shpool;
        sh->next = 0;
        sh->owner = 0;
        sh->mtime[0] = 0;               /* a profile: read it again */
        sh->mtime[1] = 0;

        /* another provider in this place now: not its predecessor's set */
        if (sh->provider != src->provider) {
            spectra_awscreds_clear(&sh->creds);
            ngx_memzero(&sh->creds, sizeof(spectra_awscreds_t));
            sh->provider = src->provider;
            sh->generation = 0;
        }

        return NGX_OK;
    }

    if (zone->shm.exists) {
        return NGX_ERROR;
    }

    sh = ngx_slab_calloc(shpool, sizeof(ngx_http_spectra_awscreds_sh_t));
    if (sh == NULL) {
        return NGX_ERROR;
    }

    shpool->data = sh;
    src->sh = sh;
    src->shpool = shpool;
    sh->provider = src->provider;

    if (src->provider == NGX_HTTP_SPECTRA_AWSCREDS_PROFILE
        && ngx_http_spectra_awscreds_profile(src, NULL, zone->shm.log,
                                             &creds, mtime, &err)
           == NGX_OK)
    {
        sh->creds = creds;
        sh->generation = 1;
        sh->refreshes = 1;
        sh->fetched = ngx_time();
        sh->mtime[0] = mtime[0];
        sh->mtime[1] = mtime[1];
        sh->next = ngx_time() + 1;
        spectra_awscreds_clear(&creds);
    }

    return NGX_OK;
}


static const char *
ngx_http_spectra_awscreds_name(ngx_uint_t provider)
{
    return (const char *) ngx_http_spectra_awscreds_providers[provider].data;
}


/* A small file, whole, NUL-terminated; NGX_DECLINED when it is absent. */

static ngx_int_t
ngx_http_spectra_awscreds_read(ngx_str_t *path, ngx_pool_t *pool,
    ngx_log_t *log, ngx_str_t *out, time_t *mtime)
{
    ssize_t          n;
    ngx_fd_t         fd;
    ngx_file_info_t  fi;

    ngx_str_null(out);
    *mtime = 0;

    if (path->len == 0) {
        return NGX_DECLINED;
    }

    fd = ngx_open_file(path->data, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);
    if (fd == NGX_INVALID_FILE) {
        return NGX_DECLINED;
    }

    if (ngx_fd_info(fd, &fi) == NGX_FILE_ERROR
        || ngx_file_size(&fi) > NGX_HTTP_SPECTRA_AWSCREDS_FILE_MAX)
    {
        ngx_close_file(fd);
        return NGX_ERROR;
    }

    *mtime = ngx_file_mtime(&fi);

    out->data = (pool != NULL) ? ngx_pnalloc(pool, ngx_file_size(&fi) + 1)
                               : ngx_alloc(ngx_file_size(&fi) + 1, log);
    if (out->data == NULL) {
        ngx_close_file(fd);
        return NGX_ERROR;
    }

    n = read(fd, out->data, ngx_file_size(&fi));
    ngx_close_file(fd);

    if (n < 0) {
        if (pool == NULL) {
            ngx_free(out->data);
        }

        out->data = NULL;
        return NGX_ERROR;
    }

    out->len = n;
    out->data[n] = '\0';

    return NGX_OK;
}


/*
 * The profile's keys: the credentials file first, then the config file.
 * pool NULL: memory of the process, freed here.
 */

static ngx_int_t
ngx_http_spectra_awscreds_profile(ngx_http_spectra_awscreds_t *src,
    ngx_pool_t *pool, ngx_log_t *log, spectra_awscreds_t *creds,
    time_t *mtime, spectra_err_t *err)
{
    int         rc;
    ngx_str_t   text;
    ngx_int_t   found;
    ngx_uint_t  i;

    found = NGX_DECLINED;
    ngx_memzero(err, sizeof(spectra_err_t));
    ngx_cpystrn((u_char *) err->message, (u_char *) "no such profile",
                sizeof(err->message));

    for (i = 0; i < 2; i++) {
        if (ngx_http_spectra_awscreds_read(&src->files[i], pool, log, &text,
                                           &mtime[i])
            != NGX_OK)
        {
            continue;
        }

        if (found == NGX_OK) {
            if (pool == NULL) {
                ngx_free(text.data);
            }

            continue;
        }

        ngx_memzero(creds, sizeof(spectra_awscreds_t));

        rc = spectra_awscreds_ini(text.data, text.len,
                                  (const char *) src->profile.data, (int) i,
                                  creds, err);

        if (pool == NULL) {
            ngx_explicit_memzero(text.data, text.len);
            ngx_free(text.data);
        }

        if (rc == 0) {
            found = NGX_OK;

        } else if (rc < 0) {
            return NGX_ERROR;
        }
    }

    return found;
}


ngx_int_t
ngx_http_spectra_awscreds_get(ngx_http_spectra_loc_conf_t *conf,
    ngx_pool_t *pool, spectra_sigv4_credentials_t *cred, time_t *expires)
{
    u_char                          *p;
    size_t                           k, s, t;
    time_t                           now, exp;
    ngx_http_spectra_awscreds_t     *src;
    ngx_http_spectra_awscreds_sh_t  *sh;

    src = conf->awscreds;

    if (src == NULL) {
        cred->access_key = *ngx_http_spectra_str(&conf->access_key);
        cred->secret_key = *ngx_http_spectra_str(&conf->secret_key);
        cred->session_token = *ngx_http_spectra_str(&conf->session_token);
        *expires = 0;
        return NGX_OK;
    }

    sh = src->sh;

    if (sh == NULL) {
        return NGX_DECLINED;
    }

    now = ngx_time();

    ngx_shmtx_lock(&src->shpool->mutex);

    exp = (time_t) sh->creds.expiration;

    if (sh->generation == 0 || (exp != 0 && now >= exp)) {
        ngx_shmtx_unlock(&src->shpool->mutex);
        return NGX_DECLINED;
    }

    k = ngx_strlen(sh->creds.access_key_id);
    s = ngx_strlen(sh->creds.secret_access_key);
    t = ngx_strlen(sh->creds.session_token);

    p = ngx_pnalloc(pool, k + s + t + 1);
    if (p == NULL) {
        ngx_shmtx_unlock(&src->shpool->mutex);
        return NGX_ERROR;
    }

    cred->access_key.data = p;
    cred->access_key.len = k;
    p = ngx_cpymem(p, sh->creds.access_key_id, k);

    cred->secret_key.data = p;
    cred->secret_key.len = s;
    p = ngx_cpymem(p, sh->creds.secret_access_key, s);

    cred->session_token.data = p;
    cred->session_token.len = t;
    ngx_memcpy(p, sh->creds.session_token, t);

    ngx_shmtx_unlock(&src->shpool->mutex);

    *expires = exp;

    return NGX_OK;
}


ngx_int_t
ngx_http_spectra_awscreds_usable(ngx_http_spectra_loc_conf_t *conf)
{
    time_t                           exp;
    ngx_int_t                        rc;
    ngx_http_spectra_awscreds_t     *src;

    src = conf->awscreds;

    if (src == NULL) {
        return NGX_OK;
    }

    if (src->sh == NULL) {
        return NGX_DECLINED;
    }

    ngx_shmtx_lock(&src->shpool->mutex);

    exp = (time_t) src->sh->creds.expiration;
    rc = (src->sh->generation && (exp == 0 || ngx_time() < exp))
         ? NGX_OK : NGX_DECLINED;

    ngx_shmtx_unlock(&src->shpool->mutex);

    return rc;
}


ngx_int_t
ngx_http_spectra_awscreds_state(ngx_cycle_t *cycle, ngx_uint_t n,
    ngx_http_spectra_awscreds_state_t *state)
{
    time_t                           exp;
    ngx_http_spectra_awscreds_t    **srcs, *src;
    ngx_http_spectra_awscreds_sh_t  *sh;
    ngx_http_spectra_main_conf_t    *smcf;

    smcf = ngx_http_cycle_get_module_main_conf(cycle,
                                               ngx_http_spectra_module);

    if (smcf == NULL || n >= smcf->awscreds.nelts) {
        return NGX_DECLINED;
    }

    srcs = smcf->awscreds.elts;
    src = srcs[n];
    sh = src->sh;

    ngx_memzero(state, sizeof(ngx_http_spectra_awscreds_state_t));
    state->provider = ngx_http_spectra_awscreds_name(src->provider);

    if (sh == NULL) {
        return NGX_OK;
    }

    ngx_shmtx_lock(&src->shpool->mutex);

    exp = (time_t) sh->creds.expiration;

    if (sh->generation) {
        state->fetched = sh->fetched;
        state->expires = exp;
        state->usable = (exp == 0 || ngx_time() < exp);
    }

    state->refreshes = sh->refreshes;
    state->failures = sh->failures;

    ngx_shmtx_unlock(&src->shpool->mutex);

    return NGX_OK;
}


static void
ngx_http_spectra_awscreds_tick(ngx_event_t *ev)
{
    ngx_http_spectra_awscreds_t  *src;

    src = ev->data;

    if (src->pool == NULL && ngx_http_spectra_awscreds_claim(src) == NGX_OK)
    {
        ngx_http_spectra_awscreds_fetch(src);
    }

    if (!ngx_exiting) {
        ngx_add_timer(ev, NGX_HTTP_SPECTRA_AWSCREDS_TICK);
    }
}


static ngx_int_t
ngx_http_spectra_awscreds_claim(ngx_http_spectra_awscreds_t *src)
{
    time_t                           now;
    ngx_int_t                        rc;
    ngx_http_spectra_awscreds_sh_t  *sh;

    sh = src->sh;
    now = ngx_time();

    ngx_shmtx_lock(&src->shpool->mutex);

    if (sh->owner != 0 && now < sh->owner_until) {
        rc = NGX_BUSY;

    } else {
        rc = (now >= sh->next) ? NGX_OK : NGX_DECLINED;
    }

    if (rc == NGX_OK) {
        sh->owner = ngx_pid;
        sh->owner_until = now + 3 * NGX_HTTP_SPECTRA_AWSCREDS_TIMEOUT / 1000
                          + 2;
    }

    ngx_shmtx_unlock(&src->shpool->mutex);

    return rc;
}


/* Starts the refresh this worker claimed. */

static void
ngx_http_spectra_awscreds_fetch(ngx_http_spectra_awscreds_t *src)
{
    u_char              *p;
    size_t               n;
    time_t               mtime[2];
    ngx_int_t            rc;
    ngx_str_t            text, body, url, h1, h2;
    spectra_err_t        err;
    spectra_awscreds_t   creds;

    src->pool = ngx_create_pool(4096, src->log);
    if (src->pool == NULL) {
        ngx_http_spectra_awscreds_failed(src, "out of memory");
        return;
    }

    ngx_str_null(&h1);
    ngx_str_null(&h2);

    switch (src->provider) {

    case NGX_HTTP_SPECTRA_AWSCREDS_PROFILE:

        /* unchanged files: nothing to do */

        if (ngx_http_spectra_awscreds_read(&src->files[0], src->pool,
                                           src->log, &text, &mtime[0])
            == NGX_ERROR
            || ngx_http_spectra_awscreds_read(&src->files[1], src->pool,
                                              src->log, &text, &mtime[1])
               == NGX_ERROR)
        {
            ngx_http_spectra_awscreds_failed(src, "a profile file cannot "
                                             "be read");
            return;
        }

        if (src->sh->generation && mtime[0] == src->sh->mtime[0]
            && mtime[1] == src->sh->mtime[1])
        {
            ngx_http_spectra_awscreds_store(src, NULL, NULL);
            return;
        }

        if (ngx_http_spectra_awscreds_profile(src, src->pool, src->log,
                                              &creds, mtime, &err)
            != NGX_OK)
        {
            ngx_http_spectra_awscreds_failed(src, err.message);
            return;
        }

        ngx_log_error(NGX_LOG_NOTICE, src->log, 0,
                      "spectra: AWS profile \"%V\" changed: read again",
                      &src->profile);

        ngx_http_spectra_awscreds_store(src, &creds, mtime);
        spectra_awscreds_clear(&creds);
        return;

    case NGX_HTTP_SPECTRA_AWSCREDS_WEB:

        if (ngx_http_spectra_awscreds_read(&src->token_file, src->pool,
                                           src->log, &text, &mtime[0])
            != NGX_OK
            || text.len == 0)
        {
            ngx_http_spectra_awscreds_failed(src, "the web identity token "
                                             "file cannot be read");
            return;
        }

        while (text.len && (text.data[text.len - 1] == '\n'
                            || text.data[text.len - 1] == '\r'))
        {
            text.len--;
        }

        n = 3 * (text.len + src->role_arn.len + src->session_name.len);
        body.data = ngx_pnalloc(src->pool, n + 256);
        if (body.data == NULL) {
            ngx_http_spectra_awscreds_failed(src, "out of memory");
            return;
        }

        p = ngx_cpymem(body.data, "Action=AssumeRoleWithWebIdentity"
                       "&Version=2011-06-15&RoleArn=",
                       sizeof("Action=AssumeRoleWithWebIdentity"
                              "&Version=2011-06-15&RoleArn=") - 1);
        p += spectra_sigv4_uri_encode(src->role_arn.data, src->role_arn.len,
                                      0, p, 3 * src->role_arn.len + 1);
        p = ngx_cpymem(p, "&RoleSessionName=",
                       sizeof("&RoleSessionName=") - 1);
        p += spectra_sigv4_uri_encode(src->session_name.data,
                                      src->session_name.len, 0, p,
                                      3 * src->session_name.len + 1);
        p = ngx_cpymem(p, "&WebIdentityToken=",
                       sizeof("&WebIdentityToken=") - 1);
        p += spectra_sigv4_uri_encode(text.data, text.len, 0, p,
                                      3 * text.len + 1);
        body.len = p - body.data;

        ngx_explicit_memzero(text.data, text.len);

        ngx_str_set(&h1, "Content-Type: application/x-www-form-urlencoded");
        ngx_str_set(&h2, "Accept: application/xml");

        rc = ngx_http_spectra_awscreds_call(src, "POST", &src->url, &body,
                                            &h1, &h2);
        break;

    case NGX_HTTP_SPECTRA_AWSCREDS_CONTAINER:

        text = src->auth_token;

        if (src->token_file.len
            && (ngx_http_spectra_awscreds_read(&src->token_file, src->pool,
                                               src->log, &text, &mtime[0])
                != NGX_OK))
        {
            ngx_http_spectra_awscreds_failed(src, "the container "
                                             "authorization token file "
                                             "cannot be read");
            return;
        }

        while (text.len && (text.data[text.len - 1] == '\n'
                            || text.data[text.len - 1] == '\r'))
        {
            text.len--;
        }

        if (text.len) {
            h1.data = ngx_pnalloc(src->pool, text.len + 16);
            if (h1.data == NULL) {
                ngx_http_spectra_awscreds_failed(src, "out of memory");
                return;
            }

            h1.len = ngx_sprintf(h1.data, "Authorization: %V", &text)
                     - h1.data;
        }

        rc = ngx_http_spectra_awscreds_call(src, "GET", &src->url, NULL,
                                            h1.len ? &h1 : NULL, NULL);
        break;

    default: /* IMDS: a session token first */

        src->step = 0;

        url.data = ngx_pnalloc(src->pool, src->url.len + 32);
        if (url.data == NULL) {
            ngx_http_spectra_awscreds_failed(src, "out of memory");
            return;
        }

        url.len = ngx_sprintf(url.data, "%V/latest/api/token", &src->url)
                  - url.data;

        ngx_str_set(&h1, "X-aws-ec2-metadata-token-ttl-seconds: 21600");

        rc = ngx_http_spectra_awscreds_call(src, "PUT", &url, NULL, &h1,
                                            NULL);
        break;
    }

    if (rc != NGX_OK) {
        ngx_http_spectra_awscreds_failed(src, "the request could not start");
    }
}


static ngx_int_t
ngx_http_spectra_awscreds_call(ngx_http_spectra_awscreds_t *src,
    const char *method, ngx_str_t *url, ngx_str_t *body, ngx_str_t *header1,
    ngx_str_t *header2)
{
    ngx_http_spectra_curl_call_t  *call;

    call = ngx_pcalloc(src->pool, sizeof(ngx_http_spectra_curl_call_t));
    if (call == NULL) {
        return NGX_ERROR;
    }

    /* libcurl wants a NUL-terminated URL */
    call->url.data = ngx_pnalloc(src->pool, url->len + 1);
    if (call->url.data == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(call->url.data, url->data, url->len);
    call->url.data[url->len] = '\0';
    call->url.len = url->len;

    if (body != NULL) {
        call->body = *body;
    }

    call->method = method;
    call->timeout = NGX_HTTP_SPECTRA_AWSCREDS_TIMEOUT;
    call->max_answer = NGX_HTTP_SPECTRA_AWSCREDS_ANSWER_MAX;
    call->pool = src->pool;
    call->log = src->log;
    call->handler = ngx_http_spectra_awscreds_done;
    call->data = src;

    if (header1 != NULL) {
        call->headers[call->nheaders++] = *header1;
    }

    if (header2 != NULL) {
        call->headers[call->nheaders++] = *header2;
    }

    return ngx_http_spectra_curl_post(call);
}


static void
ngx_http_spectra_awscreds_done(void *data, ngx_uint_t status,
    ngx_str_t *body)
{
    ngx_http_spectra_awscreds_t *src = data;

    int                  rc;
    u_char              *p, *last;
    ngx_str_t            url, h1, role;
    spectra_err_t        err;
    spectra_awscreds_t   creds;

    if (status != NGX_HTTP_OK) {
        if (src->provider == NGX_HTTP_SPECTRA_AWSCREDS_WEB
            && body->len && spectra_awscreds_sts(body->data, body->len,
                                                 &creds, &err) < 0)
        {
            ngx_http_spectra_awscreds_failed(src, err.message);
            return;
        }

        ngx_http_spectra_awscreds_failed(src,
                                         status == NGX_HTTP_GATEWAY_TIME_OUT
                                         ? "the endpoint timed out"
                                         : status == NGX_HTTP_BAD_GATEWAY
                                         ? "the endpoint is unreachable"
                                         : "the endpoint refused");
        return;
    }

    if (src->provider == NGX_HTTP_SPECTRA_AWSCREDS_IMDS && src->step < 2) {

        if (src->step == 0) {
            src->imds_token.data = ngx_pnalloc(src->pool, body->len);
            if (src->imds_token.data == NULL || body->len == 0
                || body->len > 256)
            {
                ngx_http_spectra_awscreds_failed(src, "IMDS gave no token");
                return;
            }

            ngx_memcpy(src->imds_token.data, body->data, body->len);
            src->imds_token.len = body->len;
            ngx_str_null(&role);

        } else {
            /* the first role of the list */
            p = body->data;
            last = p + body->len;

            while (p < last && *p != '\n' && *p != '\r') {
                p++;
            }

            role.data = body->data;
            role.len = p - body->data;

            for (p = role.data; p < role.data + role.len; p++) {
                if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')
                      || (*p >= '0' && *p <= '9')
                      || ngx_strchr("+=,.@_-", *p)))
                {
                    break;
                }
            }

            if (role.len == 0 || p != role.data + role.len) {
                ngx_http_spectra_awscreds_failed(src, "IMDS gave no role");
                return;
            }
        }

        src->step++;

        url.data = ngx_pnalloc(src->pool, src->url.len + role.len
                               + sizeof(NGX_HTTP_SPECTRA_AWSCREDS_IMDS_ROLES));
        h1.data = ngx_pnalloc(src->pool, src->imds_token.len + 32);
        if (url.data == NULL || h1.data == NULL) {
            ngx_http_spectra_awscreds_failed(src, "out of memory");
            return;
        }

        url.len = ngx_sprintf(url.data, "%V%s%V", &src->url,
                              NGX_HTTP_SPECTRA_AWSCREDS_IMDS_ROLES, &role)
                  - url.data;
        h1.len = ngx_sprintf(h1.data, "X-aws-ec2-metadata-token: %V",
                             &src->imds_token)
                 - h1.data;

        if (ngx_http_spectra_awscreds_call(src, "GET", &url, NULL, &h1, NULL)
            != NGX_OK)
        {
            ngx_http_spectra_awscreds_failed(src, "the request could not "
                                             "start");
        }

        return;
    }

    if (src->provider == NGX_HTTP_SPECTRA_AWSCREDS_WEB) {
        rc = spectra_awscreds_sts(body->data, body->len, &creds, &err);

    } else {
        rc = spectra_awscreds_json(body->data, body->len, &creds, &err);
    }

    ngx_explicit_memzero(body->data, body->len);

    if (rc != 0) {
        ngx_http_spectra_awscreds_failed(src, err.message);
        return;
    }

    ngx_http_spectra_awscreds_store(src, &creds, NULL);
    spectra_awscreds_clear(&creds);
}


/*
 * Stores a new set (creds NULL: the profile did not change) and the next
 * refresh: margin before the expiry, or half the lifetime left if that
 * comes sooner.
 */

static void
ngx_http_spectra_awscreds_store(ngx_http_spectra_awscreds_t *src,
    spectra_awscreds_t *creds, time_t *mtime)
{
    time_t                           now, exp;
    ngx_http_spectra_awscreds_sh_t  *sh;

    sh = src->sh;
    now = ngx_time();

    ngx_shmtx_lock(&src->shpool->mutex);

    if (creds != NULL) {
        sh->creds = *creds;
        sh->generation++;
        sh->refreshes++;
        sh->fetched = now;

        if (mtime != NULL) {
            sh->mtime[0] = mtime[0];
            sh->mtime[1] = mtime[1];
        }
    }

    exp = (time_t) sh->creds.expiration;
    sh->next = (time_t) spectra_awscreds_next(now, exp, src->margin);

    sh->failing = 0;
    sh->error[0] = '\0';
    sh->owner = 0;

    ngx_shmtx_unlock(&src->shpool->mutex);

    if (creds != NULL && exp) {
        ngx_log_error(NGX_LOG_INFO, src->log, 0,
                      "spectra: AWS credentials (%s) refreshed: they expire "
                      "in %T s, the next refresh is in %T s",
                      ngx_http_spectra_awscreds_name(src->provider),
                      exp - now, sh->next - now);

    } else if (creds != NULL) {
        ngx_log_error(NGX_LOG_INFO, src->log, 0,
                      "spectra: AWS credentials (%s) read; they do not "
                      "expire", ngx_http_spectra_awscreds_name(
                                    src->provider));
    }

    ngx_http_spectra_awscreds_end(src);
}


static void
ngx_http_spectra_awscreds_failed(ngx_http_spectra_awscreds_t *src,
    const char *reason)
{
    time_t                           now, exp, delay;
    ngx_uint_t                       stale;
    ngx_http_spectra_awscreds_sh_t  *sh;

    sh = src->sh;
    now = ngx_time();

    ngx_shmtx_lock(&src->shpool->mutex);

    sh->failures++;
    sh->failing++;

    delay = (time_t) spectra_awscreds_backoff((unsigned) sh->failing);
    sh->next = now + delay;
    sh->owner = 0;

    ngx_cpystrn(sh->error, (u_char *) reason, sizeof(sh->error));

    exp = (time_t) sh->creds.expiration;
    stale = (sh->generation == 0 || (exp != 0 && now >= exp));

    ngx_shmtx_unlock(&src->shpool->mutex);

    /* the parsers' messages never hold a secret */
    ngx_log_error(NGX_LOG_ERR, src->log, 0,
                  "spectra: AWS credentials (%s) refresh failed: %s; %s, "
                  "next try in %T s",
                  ngx_http_spectra_awscreds_name(src->provider), reason,
                  stale ? "no valid credentials: requests get 503"
                        : "the current ones are kept", delay);

    ngx_http_spectra_awscreds_end(src);
}


static void
ngx_http_spectra_awscreds_end(ngx_http_spectra_awscreds_t *src)
{
    if (src->pool != NULL) {
        ngx_destroy_pool(src->pool);
        src->pool = NULL;
    }

    ngx_str_null(&src->imds_token);
}


ngx_int_t
ngx_http_spectra_awscreds_init_process(ngx_cycle_t *cycle)
{
    ngx_uint_t                      i;
    ngx_http_spectra_awscreds_t   **srcs, *src;
    ngx_http_spectra_main_conf_t   *smcf;

    smcf = ngx_http_cycle_get_module_main_conf(cycle,
                                               ngx_http_spectra_module);

    if (smcf == NULL || smcf->awscreds.nelts == 0) {
        return NGX_OK;
    }

    if (ngx_http_spectra_curl_start(cycle) != NGX_OK) {
        return NGX_ERROR;
    }

    srcs = smcf->awscreds.elts;

    for (i = 0; i < smcf->awscreds.nelts; i++) {
        src = srcs[i];

        src->shpool = (ngx_slab_pool_t *) src->zone->shm.addr;
        src->sh = src->shpool->data;
        src->log = cycle->log;

        src->timer.handler = ngx_http_spectra_awscreds_tick;
        src->timer.data = src;
        src->timer.log = cycle->log;
        src->timer.cancelable = 1;

        ngx_add_timer(&src->timer, 1);
    }

    return NGX_OK;
}


void
ngx_http_spectra_awscreds_exit_process(ngx_cycle_t *cycle)
{
    ngx_uint_t                      i;
    ngx_http_spectra_awscreds_t   **srcs, *src;
    ngx_http_spectra_main_conf_t   *smcf;

    smcf = ngx_http_cycle_get_module_main_conf(cycle,
                                               ngx_http_spectra_module);

    if (smcf == NULL) {
        return;
    }

    srcs = smcf->awscreds.elts;

    for (i = 0; i < smcf->awscreds.nelts; i++) {
        src = srcs[i];

        if (src->sh == NULL) {
            continue;
        }

        ngx_shmtx_lock(&src->shpool->mutex);

        if (src->sh->owner == ngx_pid) {
            src->sh->owner = 0;
        }

        ngx_shmtx_unlock(&src->shpool->mutex);

        if (src->timer.timer_set) {
            ngx_del_timer(&src->timer);
        }

        ngx_http_spectra_awscreds_end(src);
    }
}
