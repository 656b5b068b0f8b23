/*
 * The rows of a query answer, streamed: each Data API page is encoded in
 * slices into a few recycled output buffers (spectra_output_buffers) and
 * sent as it is encoded; the next page is asked for only when the client
 * has taken the last one, so a request never holds much more than one
 * page plus its output buffers.  Small answers, encoded before anything
 * had to go out, are sent with a Content-Length; larger ones chunked.  An
 * answer that fails after its header went out ends the connection, so a
 * client never mistakes a cut answer for a whole one.
 */

#ifndef _NGX_HTTP_SPECTRA_ROWS_H_INCLUDED_
#define _NGX_HTTP_SPECTRA_ROWS_H_INCLUDED_


#include "ngx_http_spectra_common.h"
#include "ngx_http_spectra_pages.h"


/*
 * Answers r with the rows of st: the first page is in st->answer when
 * st->end is ROWS (COMPLETED: a statement without rows).  Takes the
 * request over and finalizes it.
 */
void ngx_http_spectra_rows_start(ngx_http_request_t *r,
    ngx_http_spectra_stmt_t *st, spectra_query_t *q);

/*
 * The same for a page of GET /v1/jobs/{id}/results: its rows start where
 * page->at says, within page->rows and page->bytes (q's limits), and the
 * answer ends with the next page's cursor instead of a truncation.
 */
void ngx_http_spectra_rows_start_page(ngx_http_request_t *r,
    ngx_http_spectra_stmt_t *st, spectra_query_t *q,
    ngx_http_spectra_page_t *page);

/*
 * While a page of r is checked in a thread the request must stay:
 * ngx_http_spectra_finish() asks here first; 1: r finalizes with rc once
 * the thread is done.
 */
ngx_uint_t ngx_http_spectra_rows_hold(ngx_http_request_t *r, ngx_int_t rc);


#endif /* _NGX_HTTP_SPECTRA_ROWS_H_INCLUDED_ */
