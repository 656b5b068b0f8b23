/*
 * Fair share, the waiting part: how many of a tenant's statements wait
 * for one of its running slots (spectra_max_running), counted in shared
 * memory over all workers (spectra_queue_zone), so that spectra_max_queued
 * bounds them.  The running slots themselves are the tenant's active jobs
 * in the job store, whose creation checks the cap atomically.
 */

#ifndef _NGX_HTTP_SPECTRA_QUEUE_H_INCLUDED_
#define _NGX_HTTP_SPECTRA_QUEUE_H_INCLUDED_


#include "ngx_http_spectra_common.h"


/*
 * r's statement of tenant joins the tenant's waiters: NGX_OK, or NGX_BUSY
 * when max wait already (or the zone is full).  It leaves with
 * ngx_http_spectra_queue_leave(), or when r ends.
 */
ngx_int_t ngx_http_spectra_queue_enter(ngx_http_request_t *r,
    ngx_str_t *tenant, ngx_uint_t max);
void ngx_http_spectra_queue_leave(ngx_http_request_t *r);

/*
 * The waiters of this worker, in the order they came (a FIFO per
 * worker): a slot freed here (ngx_http_spectra_queue_freed(), where a
 * job of the tenant ends) wakes the first of the tenant's waiters at
 * once instead of at its next look (every NGX_HTTP_SPECTRA_QUEUE_POLL
 * ms, which stays for slots freed by other workers and for the timeout),
 * and a later waiter does not take the slot meant for it.
 */
typedef struct {
    ngx_queue_t                 queue;
    ngx_str_t                   tenant;
    ngx_event_t                *event;       /* the waiter's retry */
    unsigned                    in:1;
    unsigned                    woken:1;
} ngx_http_spectra_queue_waiter_t;

void ngx_http_spectra_queue_wait(ngx_http_spectra_queue_waiter_t *w,
    ngx_str_t *tenant, ngx_event_t *ev);
void ngx_http_spectra_queue_unwait(ngx_http_spectra_queue_waiter_t *w);
/* NGX_OK: w may look for a slot now; NGX_BUSY: an earlier waiter woken */
ngx_int_t ngx_http_spectra_queue_turn(ngx_http_spectra_queue_waiter_t *w);
void ngx_http_spectra_queue_freed(u_char *tenant, size_t len);

char *ngx_http_spectra_queue_zone(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);


#endif /* _NGX_HTTP_SPECTRA_QUEUE_H_INCLUDED_ */
