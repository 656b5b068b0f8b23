/*
 * The statement engine: one state machine for a statement's life in the
 * Data API (submit, long poll or backoff poll, describe, fetch pages,
 * cancel; the session retry and the speculative first fetch), written
 * once.  Its users (queries, the jobs endpoints, the supervisor) start a
 * step and are called back once, when the step ends, with st->end saying
 * how.  The engine records every change of the job as it learns it
 * (ngx_http_spectra_jobs.c writes it); its users never do.
 *
 * A statement runs on behalf of a request (Data API calls are signed
 * subrequests, ngx_http_spectra_dataapi.c) or in the background (libcurl,
 * ngx_http_spectra_curl.c), through st->call.
 */

#ifndef _NGX_HTTP_SPECTRA_STATEMENT_H_INCLUDED_
#define _NGX_HTTP_SPECTRA_STATEMENT_H_INCLUDED_


#include "ngx_http_spectra_common.h"


typedef enum {
    NGX_HTTP_SPECTRA_END_NONE = 0,
    NGX_HTTP_SPECTRA_END_ROWS,        /* a result page is in st->answer */
    NGX_HTTP_SPECTRA_END_COMPLETED,   /* finished; rows not fetched */
    NGX_HTTP_SPECTRA_END_FAILED,      /* the warehouse failed it */
    NGX_HTTP_SPECTRA_END_CANCELLED,
    NGX_HTTP_SPECTRA_END_TIMEOUT,     /* past its deadline: cancelled */
    NGX_HTTP_SPECTRA_END_RUNNING,     /* goes on: the wait is over */
    NGX_HTTP_SPECTRA_END_GONE,        /* the client went away: cancelled */
    NGX_HTTP_SPECTRA_END_UPSTREAM,    /* the Data API failed: st->derr */
    NGX_HTTP_SPECTRA_END_ERROR        /* no memory and the like */
} ngx_http_spectra_end_e;


typedef void (*ngx_http_spectra_stmt_pt)(ngx_http_spectra_stmt_t *st);

/* A transport: sends one signed call; st->step runs with the answer. */
typedef ngx_int_t (*ngx_http_spectra_call_pt)(ngx_http_spectra_stmt_t *st,
    const char *operation, ngx_str_t *body);


struct ngx_http_spectra_stmt_s {
    ngx_http_request_t             *request;      /* NULL: background */
    ngx_pool_t                     *pool;
    ngx_log_t                      *log;
    ngx_http_spectra_loc_conf_t    *conf;
    ngx_http_spectra_call_pt        call;

    /* the job as the store has it */
    spectra_job_t                   job;
    ngx_str_t                       statement_id;

    /* what runs, as whom */
    ngx_str_t                       sql;          /* as submitted */
    spectra_query_param_t          *params;
    size_t                          nparams;
    ngx_str_t                       db_user;
    ngx_str_t                       secret_arn;
    uint64_t                        row_limit;    /* of the job's answer */

    /* milliseconds since the epoch, as job times (0: none) */
    int64_t                         started;
    int64_t                         wait_until;
    int64_t                         deadline;
    int64_t                         execution_ms; /* complete_pending's */

    /* the last call and its answer */
    ngx_uint_t                      status;       /* HTTP, 0: none yet */
    ngx_str_t                       answer;
    u_char                         *answer_start; /* to free it early */
    unsigned                        answer_too_big:1;
    spectra_dataapi_error_t         derr;
    const char                     *malformed;    /* what was wrong */
    spectra_dataapi_described_t     described;
    ngx_str_t                       next_token;

    /* waiting */
    ngx_event_t                     timer;
    ngx_msec_t                      delay;
    ngx_uint_t                      polls;
    ngx_uint_t                      wait_seconds; /* of the call out */
    const char                     *call_action;  /* for the metrics */
    uint64_t                        call_start;
    ngx_http_spectra_stmt_pt        step;

    /* the Data API session the statement runs in */
    ngx_str_t                       session_key;
    ngx_str_t                       session_id;

    ngx_http_spectra_end_e          end;
    ngx_http_spectra_end_e          cancel_end;
    ngx_http_spectra_stmt_pt        handler;
    void                           *data;

    unsigned                        session_create:1;
    unsigned                        session_retried:1;
    unsigned                        session_cleanup:1;
    unsigned                        cancel_on_wait:1;
    unsigned                        want_rows:1;
    unsigned                        has_result:1;
    unsigned                        speculative:1;
    unsigned                        waiting:1;     /* a call or a timer */
    unsigned                        client_gone:1;
    unsigned                        side_cancel:1; /* sent while waiting */
    unsigned                        completed:1;   /* recorded COMPLETED */

    /*
     * Job writes saved on the way (one store write for a quick query
     * besides its creation): the statement id not yet in the job goes
     * with its next write; with defer_complete (the caller's: the rows
     * go out as one answer), a small first page's COMPLETED waits for
     * the answer's row count (ngx_http_spectra_stmt_rows_done()), or for
     * the request's end
     */
    unsigned                        id_unsaved:1;
    unsigned                        defer_complete:1;
    unsigned                        complete_pending:1;
};


/*
 * A statement of the main request r, in r->pool, with the location's
 * Data API settings; its timer and session go with the request.
 */
ngx_http_spectra_stmt_t *ngx_http_spectra_stmt_create(ngx_http_request_t *r);

/* A statement of nobody's, with a pool of its own (the supervisor). */
ngx_http_spectra_stmt_t *ngx_http_spectra_stmt_background(ngx_log_t *log,
    ngx_http_spectra_loc_conf_t *conf);
void ngx_http_spectra_stmt_destroy(ngx_http_spectra_stmt_t *st);

/*
 * Submits st->sql for st->job (created already) and waits for it: ends
 * ROWS (the first page, want_rows), COMPLETED, FAILED, CANCELLED, TIMEOUT
 * (st->deadline passed, cancelled; or the wait ended with cancel_on_wait),
 * RUNNING (st->wait_until passed), GONE, UPSTREAM or ERROR.
 */
void ngx_http_spectra_stmt_execute(ngx_http_spectra_stmt_t *st,
    ngx_http_spectra_stmt_pt handler);

/*
 * Describes st->statement_id, then waits for it as execute() does after
 * submitting, until st->wait_until (now or 0: one DescribeStatement).
 */
void ngx_http_spectra_stmt_follow(ngx_http_spectra_stmt_t *st,
    ngx_http_spectra_stmt_pt handler);

/*
 * The next page (st->next_token, empty for the first): ROWS, or UPSTREAM
 * (st->derr.kind NOT_FOUND when the Data API no longer has the result).
 */
void ngx_http_spectra_stmt_fetch(ngx_http_spectra_stmt_t *st,
    ngx_http_spectra_stmt_pt handler);

/*
 * Cancels the statement and records how it ended: end is CANCELLED,
 * TIMEOUT or GONE.  A statement that had finished first ends as it did.
 */
void ngx_http_spectra_stmt_cancel(ngx_http_spectra_stmt_t *st,
    ngx_http_spectra_end_e end, ngx_http_spectra_stmt_pt handler);

/* The transport's answer is in: runs the step that waited for it. */
void ngx_http_spectra_stmt_resume(ngx_http_spectra_stmt_t *st);

/*
 * The client of a request went away: a timer wait is cut short, and a
 * call out (a long poll) gets a CancelStatement beside it at once.
 */
void ngx_http_spectra_stmt_client_gone(ngx_http_spectra_stmt_t *st);

/* The rows of a COMPLETED job were all counted: the job says how many. */
void ngx_http_spectra_stmt_rows_done(ngx_http_spectra_stmt_t *st,
    uint64_t rows);

/* The HTTP status and code of an UPSTREAM end, for the API's error. */
ngx_uint_t ngx_http_spectra_stmt_upstream_error(ngx_http_spectra_stmt_t *st,
    const char **code, ngx_str_t *message);


#endif /* _NGX_HTTP_SPECTRA_STATEMENT_H_INCLUDED_ */
