/*
 * Many warehouses behind one endpoint: named warehouses
 * (spectra_warehouse name { ... }), pools of them
 * (spectra_warehouse_pool), and the routing of new jobs
 * (spectra_warehouse_route).  A job records its warehouse; every later
 * call for it goes there (ngx_http_spectra_warehouse_bind()).  Counts of
 * outstanding statements and the health of each warehouse live in shared
 * memory; the choice and the health rules are src/spectra_warehouse.c.
 */

#ifndef _NGX_HTTP_SPECTRA_WAREHOUSE_H_INCLUDED_
#define _NGX_HTTP_SPECTRA_WAREHOUSE_H_INCLUDED_


#include "ngx_http_spectra_common.h"


/*
 * Places r's new job: job->warehouse names the warehouse the route
 * chose (absent: the location's own settings), whose count of
 * outstanding statements now includes it.  NGX_OK; NGX_BUSY: every
 * member is full; NGX_DECLINED: every member of the pool is down;
 * NGX_ERROR: the route names nothing (logged).
 */
ngx_int_t ngx_http_spectra_warehouse_place(ngx_http_request_t *r,
    spectra_job_t *job);

/*
 * Sends the JSON error of a failed placement (429 RATE_LIMITED, 502
 * UPSTREAM_ERROR, 500), for ngx_http_spectra_finish().
 */
ngx_int_t ngx_http_spectra_warehouse_fail(ngx_http_request_t *r,
    ngx_int_t rc);

/* The job placed was not created after all: its count goes back. */
void ngx_http_spectra_warehouse_unplace(spectra_job_t *job);

/* A job reached a final status: its warehouse has one statement less. */
void ngx_http_spectra_warehouse_done(spectra_job_t *job);

/*
 * st->conf becomes the settings of st->job's warehouse.  NGX_DECLINED:
 * the warehouse is no longer in the configuration (logged; st->derr and
 * st->malformed say so, as an UNAVAILABLE Data API).
 */
ngx_int_t ngx_http_spectra_warehouse_bind(ngx_http_spectra_stmt_t *st);

/* After each Data API answer of st (st->status): passive health. */
void ngx_http_spectra_warehouse_answered(ngx_http_spectra_stmt_t *st);

/* Copies job->warehouse into pool (a job that outlives its reader). */
ngx_int_t ngx_http_spectra_warehouse_keep(ngx_pool_t *pool,
    spectra_job_t *job);

/* The name of a conf's warehouse; NULL: the location's own settings. */
ngx_str_t *ngx_http_spectra_warehouse_name(ngx_http_spectra_loc_conf_t *conf);

/* $spectra_warehouse: the warehouse of the request's job. */
ngx_int_t ngx_http_spectra_warehouse_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);

/* Configuration: the directives, and the copies of a merged conf. */
char *ngx_http_spectra_warehouse_block(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_http_spectra_warehouse_pool(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_http_spectra_warehouse_merge(ngx_conf_t *cf,
    ngx_http_spectra_loc_conf_t *conf);


#endif /* _NGX_HTTP_SPECTRA_WAREHOUSE_H_INCLUDED_ */
