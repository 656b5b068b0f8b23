/*
 * Stable download links (ngx_http_spectra_link.c): GET
 * /v1/bulk/{id}/files/{n} authenticates the tenant and redirects to a
 * freshly presigned, short-lived URL of the export's file n (0-based, the
 * index in the files array); with max_downloads, each link is counted in
 * a shared memory zone (spectra_download_zone) over all workers.
 */

#ifndef _NGX_HTTP_SPECTRA_LINK_H_INCLUDED_
#define _NGX_HTTP_SPECTRA_LINK_H_INCLUDED_


#include "ngx_http_spectra_common.h"


/* The route of GET /v1/bulk/{id}/files/{n} ({id} given, {n} from the URI) */
ngx_int_t ngx_http_spectra_link_get(ngx_http_request_t *r,
    ngx_http_spectra_tenant_t *tenant, ngx_str_t *id);

/*
 * The answer about file n of a completed export whose files are listed:
 * 302 to a presigned URL, 404, 410 (expired, or used max_downloads
 * times), 503 (no or a full download zone).  Returns the status for
 * ngx_http_spectra_finish().
 */
ngx_int_t ngx_http_spectra_link_send(ngx_http_request_t *r,
    spectra_job_t *job, spectra_bulk_result_t *res, ngx_str_t *n);

/* spectra_download_zone name:size; */
char *ngx_http_spectra_download_zone(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);


#endif /* _NGX_HTTP_SPECTRA_LINK_H_INCLUDED_ */
