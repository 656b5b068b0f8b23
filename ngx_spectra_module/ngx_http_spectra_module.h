/*
 * Configuration and request context of ngx_http_spectra_module, shared by
 * its files (module, api, reply, ...).
 */

#ifndef _NGX_HTTP_SPECTRA_MODULE_H_INCLUDED_
#define _NGX_HTTP_SPECTRA_MODULE_H_INCLUDED_


#include "ngx_http_spectra.h"


typedef struct {
    ngx_int_t                   request_id_index;
} ngx_http_spectra_main_conf_t;


typedef struct {
    time_t                      retry_after;
} ngx_http_spectra_loc_conf_t;


ngx_int_t ngx_http_spectra_api_handler(ngx_http_request_t *r);
ngx_int_t ngx_http_spectra_error_page_handler(ngx_http_request_t *r);
ngx_int_t ngx_http_spectra_health(ngx_http_request_t *r);


#endif /* _NGX_HTTP_SPECTRA_MODULE_H_INCLUDED_ */
