
/*
 * Copyright (C) Spectra
 */


/*
 * spectra_malloc_retain: how much freed memory a worker keeps for reuse
 * (ngx_http_spectra_malloc.c).
 */

#ifndef _NGX_HTTP_SPECTRA_MALLOC_H_INCLUDED_
#define _NGX_HTTP_SPECTRA_MALLOC_H_INCLUDED_


#include "ngx_http_spectra_common.h"


/* the default of spectra_malloc_retain */
#define NGX_HTTP_SPECTRA_MALLOC_RETAIN  (32 * 1024 * 1024)

/* allocations under this come from the heap while retaining */
#define NGX_HTTP_SPECTRA_MALLOC_MMAP    (4 * 1024 * 1024)


char *ngx_http_spectra_malloc_retain(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
void ngx_http_spectra_malloc_init_process(ngx_cycle_t *cycle);


#endif /* _NGX_HTTP_SPECTRA_MALLOC_H_INCLUDED_ */
