/*
 * ngx_spectra_module: directives, configuration and module definition of
 * the Spectra data API.
 */


#include "ngx_http_spectra_module.h"


static void *ngx_http_spectra_create_main_conf(ngx_conf_t *cf);
static void *ngx_http_spectra_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_spectra_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static char *ngx_http_spectra_api(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_spectra_error_page(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static ngx_int_t ngx_http_spectra_init(ngx_conf_t *cf);


static ngx_command_t  ngx_http_spectra_commands[] = {

    { ngx_string("spectra_api"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_spectra_api,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("spectra_error_page"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_spectra_error_page,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("spectra_retry_after"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_spectra_loc_conf_t, retry_after),
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_spectra_module_ctx = {
    NULL,                                  /* preconfiguration */
    ngx_http_spectra_init,                 /* postconfiguration */

    ngx_http_spectra_create_main_conf,     /* create main configuration */
    NULL,                                  /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_spectra_create_loc_conf,      /* create location configuration */
    ngx_http_spectra_merge_loc_conf        /* merge location configuration */
};


ngx_module_t  ngx_http_spectra_module = {
    NGX_MODULE_V1,
    &ngx_http_spectra_module_ctx,          /* module context */
    ngx_http_spectra_commands,             /* module directives */
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


static ngx_str_t  ngx_http_spectra_request_id = ngx_string("request_id");


static void *
ngx_http_spectra_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_spectra_main_conf_t  *smcf;

    smcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_spectra_main_conf_t));
    if (smcf == NULL) {
        return NULL;
    }

    smcf->request_id_index = NGX_CONF_UNSET;

    return smcf;
}


static void *
ngx_http_spectra_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_spectra_loc_conf_t  *slcf;

    slcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_spectra_loc_conf_t));
    if (slcf == NULL) {
        return NULL;
    }

    slcf->retry_after = NGX_CONF_UNSET;

    return slcf;
}


static char *
ngx_http_spectra_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_spectra_loc_conf_t *prev = parent;
    ngx_http_spectra_loc_conf_t *conf = child;

    ngx_conf_merge_sec_value(conf->retry_after, prev->retry_after, 1);

    return NGX_CONF_OK;
}


static char *
ngx_http_spectra_api(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_core_loc_conf_t  *clcf;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);

    if (clcf->handler != NULL) {
        return "is duplicate or conflicts with another content handler";
    }

    clcf->handler = ngx_http_spectra_api_handler;

    return NGX_CONF_OK;
}


static char *
ngx_http_spectra_error_page(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_core_loc_conf_t  *clcf;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);

    if (clcf->handler != NULL) {
        return "is duplicate or conflicts with another content handler";
    }

    clcf->handler = ngx_http_spectra_error_page_handler;

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_spectra_init(ngx_conf_t *cf)
{
    ngx_http_spectra_main_conf_t  *smcf;

    smcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_spectra_module);

    smcf->request_id_index = ngx_http_get_variable_index(cf,
                                                 &ngx_http_spectra_request_id);
    if (smcf->request_id_index == NGX_ERROR) {
        return NGX_ERROR;
    }

    return NGX_OK;
}
