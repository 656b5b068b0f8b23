/*
 * Data API session reuse (ngx_http_spectra_session.c): one session per
 * database user and warehouse, in a shared memory zone, so that every
 * worker reuses it.
 */

#ifndef _NGX_HTTP_SPECTRA_SESSION_H_INCLUDED_
#define _NGX_HTTP_SPECTRA_SESSION_H_INCLUDED_


#include "ngx_http_spectra_common.h"


/*
 * Before ExecuteStatement: st->session_id names an idle session st now
 * owns, or st->session_create asks for a new one, or neither.
 */
void ngx_http_spectra_session_acquire(ngx_http_spectra_stmt_t *st);

/* ExecuteStatement made the session id: it is remembered, owned by st. */
void ngx_http_spectra_session_created(ngx_http_spectra_stmt_t *st,
    ngx_str_t *id);

/*
 * st's statement ended: the session is idle again; with gone, the Data
 * API said it no longer exists (or it is busy for an unknown time).
 */
void ngx_http_spectra_session_release(ngx_http_spectra_stmt_t *st,
    ngx_uint_t gone);

/* The request ends with st still in its session: it is forgotten. */
void ngx_http_spectra_session_cleanup(ngx_http_spectra_stmt_t *st);

void *ngx_http_spectra_sessions_create(ngx_conf_t *cf);
ngx_int_t ngx_http_spectra_sessions_init_zone(ngx_shm_zone_t *shm_zone,
    void *data);


#endif /* _NGX_HTTP_SPECTRA_SESSION_H_INCLUDED_ */
