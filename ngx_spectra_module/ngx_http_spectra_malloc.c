
/*
 * Copyright (C) Spectra
 */


/*
 * The worker's malloc: freed memory kept for reuse, up to a bound.
 *
 * glibc hands the top of the heap back to the kernel as soon as more than
 * M_TRIM_THRESHOLD (128 KiB to start with) is free there, and serves
 * allocations over M_MMAP_THRESHOLD with mmap() of their own.  Memory
 * given back is faulted in again, page by page and zeroed by the kernel,
 * when it is next allocated.  A worker's job store does that on every
 * write: SQLite empties a connection's page cache whenever another
 * connection (the other workers', the checkpointer's) has written since,
 * and with it frees and allocates again its 85 KiB first block of pages.
 * Measured under the 32-client query load of bench/query.sh: about 140
 * page faults per query, a third of the worker's CPU time.
 *
 * spectra_malloc_retain SIZE sets M_TRIM_THRESHOLD to SIZE and
 * M_MMAP_THRESHOLD to the lower of SIZE and 4 MiB in each worker: up to
 * SIZE of freed memory stays in the worker for its next requests, and
 * blocks under 4 MiB come from the heap.  "off" leaves glibc's defaults
 * (and GLIBC_TUNABLES) alone.  Other C libraries: the directive is
 * accepted and does nothing.
 */


#include "ngx_http_spectra_common.h"
#include "ngx_http_spectra_malloc.h"

#if (NGX_LINUX) && defined(__GLIBC__)
#include <malloc.h>
#endif


char *
ngx_http_spectra_malloc_retain(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_spectra_main_conf_t *smcf = conf;

    ssize_t     size;
    ngx_str_t  *value;

    if (smcf->malloc_retain != NGX_CONF_UNSET_SIZE) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_strcmp(value[1].data, "off") == 0) {
        smcf->malloc_retain = 0;
        return NGX_CONF_OK;
    }

    size = ngx_parse_size(&value[1]);

    /* mallopt() takes an int */
    if (size <= 0 || size > NGX_MAX_INT32_VALUE) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\" must be \"off\" or a size from 1 to "
                           "2047m, not \"%V\"", &cmd->name, &value[1]);
        return NGX_CONF_ERROR;
    }

    smcf->malloc_retain = (size_t) size;

    return NGX_CONF_OK;
}


void
ngx_http_spectra_malloc_init_process(ngx_cycle_t *cycle)
{
#if (NGX_LINUX) && defined(__GLIBC__) && defined(M_TRIM_THRESHOLD)

    int                            mmap;
    ngx_http_spectra_main_conf_t  *smcf;

    smcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_spectra_module);

    if (smcf == NULL || smcf->malloc_retain == 0) {
        return;
    }

    mmap = (int) ngx_min(smcf->malloc_retain, NGX_HTTP_SPECTRA_MALLOC_MMAP);

    if (mallopt(M_MMAP_THRESHOLD, mmap) != 1
        || mallopt(M_TRIM_THRESHOLD, (int) smcf->malloc_retain) != 1)
    {
        ngx_log_error(NGX_LOG_WARN, cycle->log, 0,
                      "spectra_malloc_retain: mallopt() refused %uz",
                      smcf->malloc_retain);
        return;
    }

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, cycle->log, 0,
                   "spectra malloc: trim threshold %uz, mmap threshold %d",
                   smcf->malloc_retain, mmap);

#else

    (void) cycle;

#endif
}
