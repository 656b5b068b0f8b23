
/*
 * Copyright (C) Spectra
 */


/*
 * WAL checkpoints of the SQLite job store in a thread of nginx's "default"
 * thread pool, each worker's, when a commit finds the WAL past
 * NGX_HTTP_SPECTRA_CHECKPOINT_PAGES and every second
 * (ngx_http_spectra_checkpoint.c).
 */

#ifndef _NGX_HTTP_SPECTRA_CHECKPOINT_H_INCLUDED_
#define _NGX_HTTP_SPECTRA_CHECKPOINT_H_INCLUDED_


#include "ngx_http_spectra_common.h"


/* WAL pages (4 KiB) past which a commit hands the thread a checkpoint */
#define NGX_HTTP_SPECTRA_CHECKPOINT_PAGES     1000

/* WAL pages past which a worker's own commit checkpoints */
#define NGX_HTTP_SPECTRA_CHECKPOINT_BACKSTOP  10000


int ngx_http_spectra_checkpoint_autocheckpoint(ngx_cycle_t *cycle);
void ngx_http_spectra_checkpoint_wal(void *data, int pages);
ngx_int_t ngx_http_spectra_checkpoint_init(ngx_cycle_t *cycle);
void ngx_http_spectra_checkpoint_exit(ngx_cycle_t *cycle);


#endif /* _NGX_HTTP_SPECTRA_CHECKPOINT_H_INCLUDED_ */
