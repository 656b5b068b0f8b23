/*
 * The request id in every error-log line about a request; the jobs'
 * audit log.
 */

#ifndef NGX_HTTP_SPECTRA_LOG_H
#define NGX_HTTP_SPECTRA_LOG_H

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>


ngx_int_t ngx_http_spectra_log_init(ngx_conf_t *cf);
char *ngx_http_spectra_audit_log(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);

#endif /* NGX_HTTP_SPECTRA_LOG_H */
