/*
 * Pages of GET /v1/jobs/{id}/results (ngx_http_spectra_pages.c): the
 * page_size, page_bytes and cursor arguments, and the cursors, sealed
 * with the key of spectra_results_cursor_key (src/spectra_cursor.h) and
 * bound to the job, its tenant and its database user.  The rows of a
 * page are written by ngx_http_spectra_rows.c as any answer's are.
 */

#ifndef _NGX_HTTP_SPECTRA_PAGES_H_INCLUDED_
#define _NGX_HTTP_SPECTRA_PAGES_H_INCLUDED_


#include "ngx_http_spectra_common.h"
#include "spectra_cursor.h"


typedef struct {
    /* what the client asked for */
    uint64_t                    rows;       /* page_size */
    uint64_t                    bytes;      /* page_bytes: the answer's */
    ngx_str_t                   cursor;     /* its text; len 0: none */

    /* where the page starts: opened from the cursor, or the first row */
    spectra_cursor_t            at;

    /* the rows the statement keeps (its LIMIT is one more) */
    uint64_t                    kept;
    unsigned                    capped:1;   /* the page ends at them */

    /* the Data API page being written */
    ngx_str_t                   token;      /* the NextToken it came by */
    ngx_str_t                   next;       /* its own NextToken */
    uint64_t                    records;    /* its rows */
} ngx_http_spectra_page_t;


/*
 * Reads the arguments of r: NGX_DECLINED when it has none of them (the
 * job's own answer is wanted), NGX_OK with page filled, or NGX_ERROR with
 * a message for a 400 in error.
 */
ngx_int_t ngx_http_spectra_page_args(ngx_http_request_t *r,
    ngx_http_spectra_page_t *page, ngx_str_t *error);

/*
 * Opens page->cursor for job (found for the caller already): NGX_OK with
 * page->at set, NGX_DECLINED when it is not a cursor of this job's
 * results, NGX_ERROR.
 */
ngx_int_t ngx_http_spectra_page_open(ngx_http_request_t *r,
    ngx_http_spectra_page_t *page, spectra_job_t *job);

/*
 * A Data API page was opened: token is the NextToken it was fetched by,
 * info what it says.  NGX_ERROR when its NextToken is too long for a
 * cursor.
 */
ngx_int_t ngx_http_spectra_page_opened(ngx_http_spectra_page_t *page,
    ngx_str_t *token, spectra_result_page_t *info);

/* The bytes the next_cursor member may take with the page open now. */
size_t ngx_http_spectra_page_cursor_room(ngx_http_spectra_page_t *page);

/*
 * The page is written (res): the cursor of the next one into cursor, in
 * r->pool, or cursor->len 0 when this page is the last (page->capped
 * when rows are left past the kept ones, which only the bulk API reads).
 */
ngx_int_t ngx_http_spectra_page_next(ngx_http_request_t *r,
    ngx_http_spectra_page_t *page, spectra_result_t *res, spectra_job_t *job,
    ngx_str_t *cursor);

/* spectra_results_cursor_key FILE; */
char *ngx_http_spectra_cursor_key(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);

/* Without spectra_results_cursor_key: a random key for this cycle. */
ngx_int_t ngx_http_spectra_cursor_key_init(ngx_conf_t *cf,
    ngx_http_spectra_main_conf_t *smcf);


#endif /* _NGX_HTTP_SPECTRA_PAGES_H_INCLUDED_ */
