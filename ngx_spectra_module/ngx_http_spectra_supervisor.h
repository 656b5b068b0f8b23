/*
 * The supervisor: what must happen to jobs when no client waits for them.
 * One worker (the first) looks at the job store on a timer for active jobs
 * that are due (their check time or their deadline has come), asks the
 * Data API how each one is, records it, and cancels those past their
 * timeout_seconds, so that a deadline holds whether or not anyone waits,
 * across workers, reloads and restarts (the times live in the store).
 * Its Data API calls go through libcurl (ngx_http_spectra_curl.c).
 */

#ifndef _NGX_HTTP_SPECTRA_SUPERVISOR_H_INCLUDED_
#define _NGX_HTTP_SPECTRA_SUPERVISOR_H_INCLUDED_


#include "ngx_http_spectra_common.h"


ngx_int_t ngx_http_spectra_supervisor_init(ngx_cycle_t *cycle);
void ngx_http_spectra_supervisor_exit(ngx_cycle_t *cycle);

/*
 * Cancels a statement whose request is gone without a word (an HTTP/2
 * stream reset): in the background, in this worker.
 */
void ngx_http_spectra_supervisor_cancel(ngx_http_spectra_stmt_t *st);


#endif /* _NGX_HTTP_SPECTRA_SUPERVISOR_H_INCLUDED_ */
