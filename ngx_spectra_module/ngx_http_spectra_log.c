/*
 * The request id in every error-log line about a request: a post-read
 * handler gives each request a log handler that writes what nginx's own
 * writes (client, server, request, upstream, host) and then
 * ", request_id: ..." - $request_id, the id the API's answers carry in
 * X-Request-Id and in their JSON errors, so that a line in the log is
 * found from what a user reports.  Subrequests log through their main
 * request's handler, so a Data API call's lines carry the id of the
 * request it was made for.
 *
 * spectra_audit_log: where the jobs' audit trail goes (one info line per
 * change of a job's status, ngx_http_spectra_job_audit()), a log of its
 * own as error_log takes it (a file, stderr, syslog:, memory:), so that
 * the trail can be kept at info while the error log stays at notice
 * (at info nginx logs every closed keepalive connection).
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_spectra_common.h"
#include "ngx_http_spectra_log.h"


static ngx_int_t ngx_http_spectra_log_handler(ngx_http_request_t *r);
static u_char *ngx_http_spectra_log_error(ngx_http_request_t *r,
    ngx_http_request_t *sr, u_char *buf, size_t len);


/* nginx's own handler, which every request starts with */
static ngx_http_log_handler_pt  ngx_http_spectra_log_next;


ngx_int_t
ngx_http_spectra_log_init(ngx_conf_t *cf)
{
    ngx_http_handler_pt        *h;
    ngx_http_core_main_conf_t  *cmcf;

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_POST_READ_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_spectra_log_handler;

    return NGX_OK;
}


static ngx_int_t
ngx_http_spectra_log_handler(ngx_http_request_t *r)
{
    if (r->log_handler != ngx_http_spectra_log_error
        && r->log_handler != NULL)
    {
        ngx_http_spectra_log_next = r->log_handler;
        r->log_handler = ngx_http_spectra_log_error;
    }

    return NGX_DECLINED;
}


static u_char *
ngx_http_spectra_log_error(ngx_http_request_t *r, ngx_http_request_t *sr,
    u_char *buf, size_t len)
{
    u_char                        *p;
    ngx_http_variable_value_t     *vv;
    ngx_http_spectra_main_conf_t  *smcf;

    p = ngx_http_spectra_log_next(r, sr, buf, len);
    len -= p - buf;

    smcf = ngx_http_get_module_main_conf(r, ngx_http_spectra_module);

    vv = ngx_http_get_indexed_variable(r, smcf->request_id_index);

    if (vv != NULL && !vv->not_found) {
        p = ngx_snprintf(p, len, ", request_id: %v", vv);
    }

    return p;
}


/* spectra_audit_log file | stderr | syslog:... [level]; default level info */

char *
ngx_http_spectra_audit_log(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_spectra_main_conf_t *smcf = conf;

    char  *rv;

    if (smcf->audit_log != NULL) {
        return "is duplicate";
    }

    rv = ngx_log_set_log(cf, &smcf->audit_log);

    if (rv == NGX_CONF_OK && cf->args->nelts == 2) {
        smcf->audit_log->log_level = NGX_LOG_INFO;
    }

    return rv;
}
