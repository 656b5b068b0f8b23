/*
 * Query answers, streamed (ngx_http_spectra_rows.h): the head, the rows
 * of every page as spectra_result encodes them, the metadata.  The row
 * writer frames rows; the statement engine fetches the pages and records
 * the job.
 */


#include "ngx_http_spectra_common.h"
#include "ngx_http_spectra_rows.h"
#include "ngx_http_spectra_api.h"
#include "ngx_http_spectra_dataapi.h"
#include "ngx_http_spectra_jobs.h"
#include "ngx_http_spectra_pages.h"
#include "ngx_http_spectra_reply.h"
#include "ngx_http_spectra_statement.h"


/* what the tail can take, the metadata's columns not counted */
#define NGX_HTTP_SPECTRA_ROWS_TAIL   512

/*
 * Bytes encoded per turn of the event loop: a few hundred microseconds,
 * so that one large answer never stalls the worker's other requests.
 */
#define NGX_HTTP_SPECTRA_ROWS_SLICE  (32 * 1024)

/* pages smaller than this are checked in the worker, not in a thread */
#define NGX_HTTP_SPECTRA_ROWS_INLINE (64 * 1024)

/* the period of the timer that keeps a shutting-down worker (ms) */
#define NGX_HTTP_SPECTRA_ROWS_HOLD   60000


struct ngx_http_spectra_rows_s {
    ngx_http_request_t             *request;
    ngx_http_spectra_stmt_t        *stmt;
    spectra_result_t                res;
    spectra_result_out_t            sink;
    uint64_t                        byte_limit;
    size_t                          meta;      /* what is not rows */

    /* a page of /v1/jobs/{id}/results; NULL: the query's own answer */
    ngx_http_spectra_page_t        *page;

    /* buffers: being filled, to send, sent but not yet written, free */
    ngx_buf_t                      *buf;
    ngx_chain_t                    *out;
    ngx_chain_t                   **last_out;
    ngx_chain_t                    *busy;
    ngx_chain_t                    *free;
    ngx_int_t                       nbufs;     /* of output_bufs.size */

    ngx_event_t                     resume;    /* the next slice */
    ngx_event_t                     hold;      /* the worker stays */

    /* the page check, in a thread: its outcome */
#if (NGX_THREADS)
    ngx_thread_task_t              *task;
    ngx_queue_t                     waiting;   /* for the thread */
#endif
    ngx_pool_t                     *res_pool;  /* the encoder's memory */
    int                             open_rc;
    spectra_result_page_t           open_page;
    spectra_err_t                   open_err;
    ngx_int_t                       finish_rc; /* deferred finalization */

    unsigned                        blocked:1; /* no buffer was free */
    unsigned                        checking:1; /* a page in a thread */
    unsigned                        opened:1;  /* a page was checked */
    unsigned                        in_thread:1;
    unsigned                        finish:1;  /* finalize once back */
    unsigned                        header_sent:1;
    unsigned                        tail:1;    /* the last buffers */
};


#if (NGX_THREADS)
/*
 * One page check at a time per worker: the checks then take one core at
 * most, and the event loop keeps the other, however many answers stream.
 */
static ngx_uint_t   ngx_http_spectra_rows_checks;
static ngx_queue_t  ngx_http_spectra_rows_queue;
static ngx_uint_t   ngx_http_spectra_rows_queue_init;

static ngx_int_t ngx_http_spectra_rows_post(ngx_http_spectra_rows_t *rows);
static void ngx_http_spectra_rows_next_check(void);
#endif


static void ngx_http_spectra_rows_begin(ngx_http_request_t *r,
    ngx_http_spectra_stmt_t *st, spectra_query_t *q,
    ngx_http_spectra_page_t *page);
static void ngx_http_spectra_rows_cleanup(void *data);
static void ngx_http_spectra_rows_hold_handler(ngx_event_t *ev);
static int ngx_http_spectra_rows_grow(spectra_result_out_t *out,
    size_t need);
static ngx_int_t ngx_http_spectra_rows_copy(ngx_http_spectra_rows_t *rows,
    u_char *p, size_t len, size_t hint);
static ngx_int_t ngx_http_spectra_rows_head(ngx_http_spectra_rows_t *rows,
    size_t hint);
static void ngx_http_spectra_rows_page(ngx_http_spectra_rows_t *rows);
static void ngx_http_spectra_rows_opened(ngx_http_spectra_rows_t *rows);
#if (NGX_THREADS)
static void ngx_http_spectra_rows_check_thread(void *data, ngx_log_t *log);
static void ngx_http_spectra_rows_checked(ngx_event_t *ev);
#endif
static void ngx_http_spectra_rows_write(ngx_http_spectra_rows_t *rows);
static void ngx_http_spectra_rows_fetched(ngx_http_spectra_stmt_t *st);
static ngx_int_t ngx_http_spectra_rows_flush(ngx_http_spectra_rows_t *rows,
    ngx_uint_t last);
static void ngx_http_spectra_rows_wait(ngx_http_spectra_rows_t *rows);
static void ngx_http_spectra_rows_write_handler(ngx_http_request_t *r);
static void ngx_http_spectra_rows_resume_handler(ngx_event_t *ev);
static void ngx_http_spectra_rows_tail(ngx_http_spectra_rows_t *rows);
static u_char *ngx_http_spectra_rows_message(ngx_http_spectra_rows_t *rows,
    u_char *p);
static void ngx_http_spectra_rows_page_tail(ngx_http_spectra_rows_t *rows);
static void ngx_http_spectra_rows_abort(ngx_http_spectra_rows_t *rows,
    ngx_uint_t status, const char *code, const char *message);


void
ngx_http_spectra_rows_start(ngx_http_request_t *r,
    ngx_http_spectra_stmt_t *st, spectra_query_t *q)
{
    ngx_http_spectra_rows_begin(r, st, q, NULL);
}


void
ngx_http_spectra_rows_start_page(ngx_http_request_t *r,
    ngx_http_spectra_stmt_t *st, spectra_query_t *q,
    ngx_http_spectra_page_t *page)
{
    ngx_http_spectra_rows_begin(r, st, q, page);
}


static void
ngx_http_spectra_rows_begin(ngx_http_request_t *r,
    ngx_http_spectra_stmt_t *st, spectra_query_t *q,
    ngx_http_spectra_page_t *page)
{
    unsigned                      flags;
    spectra_pool_t                pool;
    ngx_pool_cleanup_t           *cln;
    ngx_http_spectra_ctx_t       *ctx;
    ngx_http_spectra_rows_t      *rows;
    ngx_http_spectra_loc_conf_t  *slcf;

    slcf = ngx_http_get_module_loc_conf(r, ngx_http_spectra_module);
    ctx = ngx_http_spectra_get_ctx(r);

    rows = ngx_pcalloc(r->pool, sizeof(ngx_http_spectra_rows_t));
    cln = ngx_pool_cleanup_add(r->pool, 0);

    if (ctx == NULL || rows == NULL || cln == NULL) {
        ngx_http_spectra_finish(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    cln->handler = ngx_http_spectra_rows_cleanup;
    cln->data = rows;

    ctx->rows = rows;

    rows->request = r;
    rows->stmt = st;
    rows->byte_limit = q->byte_limit;
    rows->page = page;
    rows->last_out = &rows->out;

    rows->resume.handler = ngx_http_spectra_rows_resume_handler;
    rows->resume.data = rows;
    rows->resume.log = r->connection->log;

    /*
     * A worker shutting down after a reload exits once only cancelable
     * timers are left, and the rows have moments with none: a page in
     * the thread pool or waiting for it, the next slice posted.  This
     * timer, not cancelable, keeps the worker until the request is done
     * (worker_shutdown_timeout still bounds it).
     */
    rows->hold.handler = ngx_http_spectra_rows_hold_handler;
    rows->hold.data = rows;
    rows->hold.log = r->connection->log;
    ngx_add_timer(&rows->hold, NGX_HTTP_SPECTRA_ROWS_HOLD);

    /*
     * The rows are written as they are checked, in the thread that checks
     * them, and the slices below only copy them out: one pass over a page,
     * and little of it in the event loop.
     */
    flags = SPECTRA_RESULT_ENCODE_AHEAD;

    if (slcf->numeric_as_number) {
        flags |= SPECTRA_RESULT_NUMERIC_AS_NUMBER;
    }

    /*
     * The encoder's memory is a pool of its own: a page may be checked in
     * a thread while the worker goes on with the request's pool.
     */
    rows->res_pool = ngx_create_pool(NGX_DEFAULT_POOL_SIZE,
                                     r->connection->log);
    if (rows->res_pool == NULL) {
        ngx_http_spectra_finish(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    pool = ngx_http_spectra_pool(rows->res_pool);

    spectra_result_init(&rows->res, q->format, q->row_limit, flags, &pool);

    if (page != NULL) {
        /* the page starts where its cursor says: inside a Data API page */
        rows->res.skip = page->at.skip;
        rows->res.seen = page->at.offset - page->at.skip;
    }

    rows->sink.grow = ngx_http_spectra_rows_grow;
    rows->sink.data = rows;

    ngx_http_spectra_dataapi_watch_client(r);

    if (st->end != NGX_HTTP_SPECTRA_END_ROWS) {
        if (ngx_http_spectra_rows_head(rows, NGX_HTTP_SPECTRA_ROWS_TAIL)
            != NGX_OK)
        {
            ngx_http_spectra_finish(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
            return;
        }

        ngx_http_spectra_rows_tail(rows);
        return;
    }

    ngx_http_spectra_rows_page(rows);
}


/* The answer's head; hint: what the answer may take in all. */

static ngx_int_t
ngx_http_spectra_rows_head(ngx_http_spectra_rows_t *rows, size_t hint)
{
    u_char  *p;
    u_char   head[128];

    p = ngx_sprintf(head, "{\"job_id\":\"%s\",\"status\":\"COMPLETED\","
                          "\"data\":[", rows->stmt->job.id);

    return ngx_http_spectra_rows_copy(rows, head, p - head, hint + (p - head));
}


static void
ngx_http_spectra_rows_cleanup(void *data)
{
    ngx_http_spectra_rows_t  *rows = data;

    if (rows->resume.posted) {
        ngx_delete_posted_event(&rows->resume);
    }

    if (rows->hold.timer_set) {
        ngx_del_timer(&rows->hold);
    }

    spectra_result_free(&rows->res);

    if (rows->res_pool != NULL) {
        ngx_destroy_pool(rows->res_pool);
        rows->res_pool = NULL;
    }
}


static void
ngx_http_spectra_rows_hold_handler(ngx_event_t *ev)
{
    ngx_add_timer(ev, NGX_HTTP_SPECTRA_ROWS_HOLD);
}


/*
 * The encoder's sink: the buffer being filled goes to the output chain,
 * and a free one of spectra_output_buffers takes its place (one just big
 * enough for a small answer, one of its own for a row bigger than the
 * buffers); 1 when all are out to the client.
 */

static int
ngx_http_spectra_rows_grow(spectra_result_out_t *out, size_t need)
{
    ngx_http_spectra_rows_t *rows = out->data;

    size_t                        size;
    ngx_buf_t                    *b;
    ngx_chain_t                  *cl, **ll;
    ngx_http_request_t           *r;
    ngx_http_spectra_loc_conf_t  *slcf;

    r = rows->request;
    slcf = ngx_http_get_module_loc_conf(r, ngx_http_spectra_module);

    if (rows->buf != NULL) {
        rows->buf->last = out->pos;

        if (rows->buf->last > rows->buf->pos) {
            cl = ngx_alloc_chain_link(r->pool);
            if (cl == NULL) {
                return -1;
            }

            cl->buf = rows->buf;
            cl->next = NULL;
            *rows->last_out = cl;
            rows->last_out = &cl->next;

        } else {
            /* nothing written into it: back to the free list */
            cl = ngx_alloc_chain_link(r->pool);
            if (cl == NULL) {
                return -1;
            }

            cl->buf = rows->buf;
            cl->next = rows->free;
            rows->free = cl;
        }

        rows->buf = NULL;
        out->pos = NULL;
        out->end = NULL;
    }

    /* a free buffer that is big enough */

    for (ll = &rows->free; *ll != NULL; ll = &(*ll)->next) {
        b = (*ll)->buf;

        if ((size_t) (b->end - b->start) >= need) {
            *ll = (*ll)->next;
            goto found;
        }
    }

    if (need > slcf->output_bufs.size) {
        /* a row bigger than a buffer: a buffer of its own */
        size = need;

    } else if (rows->nbufs < slcf->output_bufs.num) {
        size = slcf->output_bufs.size;

        if (out->hint + NGX_HTTP_SPECTRA_ROWS_TAIL < size && rows->nbufs == 0) {
            /* a small answer needs no large buffer */
            size = ngx_max(need, out->hint + NGX_HTTP_SPECTRA_ROWS_TAIL);
        }

        rows->nbufs++;

    } else if (rows->tail) {
        /*
         * The metadata goes out whole, whatever the client has not taken
         * yet: it is bounded by the column count, and a tail that waited
         * would have to be resumable for no gain.
         */
        size = ngx_max(need, slcf->output_bufs.size);

    } else {
        rows->blocked = 1;
        return 1;
    }

    b = ngx_create_temp_buf(r->pool, size);
    if (b == NULL) {
        return -1;
    }

    b->tag = (ngx_buf_tag_t) &ngx_http_spectra_module;

found:

    b->pos = b->start;
    b->last = b->start;

    rows->buf = b;
    out->pos = b->last;
    out->end = b->end;

    return 0;
}


static ngx_int_t
ngx_http_spectra_rows_copy(ngx_http_spectra_rows_t *rows, u_char *p,
    size_t len, size_t hint)
{
    spectra_result_out_t  *out = &rows->sink;

    if (out->pos == NULL || (size_t) (out->end - out->pos) < len) {
        out->hint = ngx_max(len, hint);

        if (ngx_http_spectra_rows_grow(out, len) != 0) {
            return NGX_ERROR;
        }
    }

    out->pos = ngx_cpymem(out->pos, p, len);

    return NGX_OK;
}


/*
 * A page has come (st->answer): check it, in the thread pool when there
 * is one and the page is large (a whole page is checked before a byte of
 * it goes out, which takes about a millisecond per megabyte), then write
 * its rows. A page under NGX_HTTP_SPECTRA_ROWS_INLINE is checked here:
 * tens of microseconds, less than the two hand-offs between the worker
 * and a thread would cost it, and it need not wait for the thread behind
 * another request's page.
 */

static void
ngx_http_spectra_rows_page(ngx_http_spectra_rows_t *rows)
{
    ngx_http_spectra_stmt_t  *st;

#if (NGX_THREADS)
    ngx_http_request_t           *r;
    ngx_http_spectra_loc_conf_t  *slcf;

    r = rows->request;
    slcf = ngx_http_get_module_loc_conf(r, ngx_http_spectra_module);

    if (slcf->thread_pool != NULL
        && rows->stmt->answer.len >= NGX_HTTP_SPECTRA_ROWS_INLINE)
    {
        if (rows->task == NULL) {
            rows->task = ngx_thread_task_alloc(r->pool, 0);
            if (rows->task == NULL) {
                ngx_http_spectra_rows_abort(rows,
                                            NGX_HTTP_INTERNAL_SERVER_ERROR,
                                            "INTERNAL_ERROR",
                                            "out of memory");
                return;
            }

            rows->task->ctx = rows;
            rows->task->handler = ngx_http_spectra_rows_check_thread;
            rows->task->event.data = rows;
            rows->task->event.handler = ngx_http_spectra_rows_checked;
        }

        if (!ngx_http_spectra_rows_queue_init) {
            ngx_queue_init(&ngx_http_spectra_rows_queue);
            ngx_http_spectra_rows_queue_init = 1;
        }

        /* the request stays while its page waits or a thread reads it */
        r->main->blocked++;
        r->aio = 1;
        rows->checking = 1;

        if (ngx_http_spectra_rows_checks == 0) {
            if (ngx_http_spectra_rows_post(rows) == NGX_OK) {
                return;
            }

            /* the pool's queue is full: check it here */
            r->main->blocked--;
            r->aio = 0;
            rows->checking = 0;

        } else {
            ngx_queue_insert_tail(&ngx_http_spectra_rows_queue,
                                  &rows->waiting);
            return;
        }
    }
#endif

    st = rows->stmt;

    rows->open_rc = spectra_result_page_open(&rows->res, st->answer.data,
                                             st->answer.len,
                                             &rows->open_page,
                                             &rows->open_err);

    ngx_http_spectra_rows_opened(rows);
}


#if (NGX_THREADS)

static ngx_int_t
ngx_http_spectra_rows_post(ngx_http_spectra_rows_t *rows)
{
    ngx_http_spectra_loc_conf_t  *slcf;

    slcf = ngx_http_get_module_loc_conf(rows->request,
                                        ngx_http_spectra_module);

    if (ngx_thread_task_post(slcf->thread_pool, rows->task) != NGX_OK) {
        return NGX_ERROR;
    }

    ngx_http_spectra_rows_checks++;
    rows->in_thread = 1;

    return NGX_OK;
}


/* The thread is free: the next page waiting for it goes. */

static void
ngx_http_spectra_rows_next_check(void)
{
    ngx_queue_t              *q;
    ngx_http_spectra_rows_t  *rows;

    while (!ngx_queue_empty(&ngx_http_spectra_rows_queue)) {
        q = ngx_queue_head(&ngx_http_spectra_rows_queue);
        ngx_queue_remove(q);

        rows = ngx_queue_data(q, ngx_http_spectra_rows_t, waiting);

        if (ngx_http_spectra_rows_post(rows) == NGX_OK) {
            return;
        }

        /* cannot post: checked here, as without a pool */
        ngx_http_spectra_rows_check_thread(rows,
                                           rows->request->connection->log);
        ngx_post_event(&rows->task->event, &ngx_posted_events);
    }
}


/* In a thread: only the page and the encoder's own pool are touched. */

static void
ngx_http_spectra_rows_check_thread(void *data, ngx_log_t *log)
{
    ngx_http_spectra_rows_t *rows = data;

    rows->open_rc = spectra_result_page_open(&rows->res,
                                             rows->stmt->answer.data,
                                             rows->stmt->answer.len,
                                             &rows->open_page,
                                             &rows->open_err);
}


static void
ngx_http_spectra_rows_checked(ngx_event_t *ev)
{
    ngx_connection_t         *c;
    ngx_http_request_t       *r;
    ngx_http_spectra_rows_t  *rows;

    rows = ev->data;
    r = rows->request;
    c = r->connection;

    ngx_http_set_log_request(c->log, r);

    if (rows->in_thread) {
        rows->in_thread = 0;
        ngx_http_spectra_rows_checks--;
        ngx_http_spectra_rows_next_check();
    }

    r->main->blocked--;
    r->aio = 0;
    rows->checking = 0;

    if (rows->finish) {
        ngx_http_spectra_finish(r, rows->finish_rc);

    } else if (c->error) {
        /*
         * the client went, or nginx terminated the request while it was
         * held (it then finalizes it with this, as nothing holds it now)
         */
        ngx_http_spectra_finish(r, NGX_HTTP_CLIENT_CLOSED_REQUEST);

    } else {
        ngx_http_spectra_rows_opened(rows);
    }

    ngx_http_run_posted_requests(c);
}

#endif


ngx_uint_t
ngx_http_spectra_rows_hold(ngx_http_request_t *r, ngx_int_t rc)
{
    ngx_http_spectra_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r->main, ngx_http_spectra_module);

    if (ctx == NULL || ctx->rows == NULL || !ctx->rows->checking) {
        return 0;
    }

    ctx->rows->finish = 1;
    ctx->rows->finish_rc = rc;

    return 1;
}


/* The page is checked: its rows go out, or the answer ends in error. */

static void
ngx_http_spectra_rows_opened(ngx_http_spectra_rows_t *rows)
{
    int                       rc, first;
    size_t                    meta;
    ngx_uint_t                i;
    spectra_err_t            *err;
    spectra_result_page_t    *pg;
    ngx_http_spectra_stmt_t  *st;

    st = rows->stmt;
    first = !rows->opened;
    rows->opened = 1;
    rc = rows->open_rc;
    err = &rows->open_err;
    pg = &rows->open_page;

    if (rc == SPECTRA_RESULT_NOMEM) {
        ngx_http_spectra_rows_abort(rows, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                    "INTERNAL_ERROR", "out of memory");
        return;
    }

    if (rc != SPECTRA_RESULT_OK) {
        ngx_log_error(NGX_LOG_ERR, rows->request->connection->log, 0,
                      "spectra: malformed result page of job %s: %s "
                      "at %uz", st->job.id, err->message, err->position);

        ngx_http_spectra_rows_abort(rows, NGX_HTTP_BAD_GATEWAY,
                                    "UPSTREAM_ERROR",
                                    "the data API sent a malformed result");
        return;
    }

    if (first) {
        /*
         * The byte limit bounds the whole answer: what the rows may take
         * is what the head, the metadata and the tail leave of it.
         */

        meta = NGX_HTTP_SPECTRA_ROWS_TAIL + SPECTRA_JOB_ID_LEN + 64;

        for (i = 0; i < rows->res.ncolumns; i++) {
            meta += sizeof("{\"name\":\"\",\"type\":\"\"},") - 1
                    + rows->res.columns[i].key.len
                    + ngx_strlen(rows->res.columns[i].type) + 8;
        }

        rows->meta = meta;
        rows->res.max_bytes = (rows->byte_limit > meta)
                              ? rows->byte_limit - meta : 1;

        if (ngx_http_spectra_rows_head(rows, rows->res.pending + meta)
            != NGX_OK)
        {
            ngx_http_spectra_rows_abort(rows, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                        "INTERNAL_ERROR", "out of memory");
            return;
        }
    }

    if (rows->page != NULL) {
        /*
         * The next cursor names this Data API page or the next one: the
         * rows may take what the page's bytes leave beside the metadata
         * and the longer of the two cursors.  Rows written before were
         * bounded with the cursors of their own page, the token of this
         * one among them, so the whole page stays within its bytes.
         */

        if (ngx_http_spectra_page_opened(rows->page, &st->next_token, pg)
            != NGX_OK)
        {
            ngx_log_error(NGX_LOG_ERR, rows->request->connection->log, 0,
                          "spectra: the data API sent a NextToken of %uz "
                          "bytes for job %s, more than a cursor carries",
                          pg->next_token.len, st->job.id);

            ngx_http_spectra_rows_abort(rows, NGX_HTTP_BAD_GATEWAY,
                                        "UPSTREAM_ERROR",
                                        "the data API sent a NextToken too "
                                        "long for a cursor");
            return;
        }

        meta = rows->meta + ngx_http_spectra_page_cursor_room(rows->page);

        rows->res.max_bytes = (rows->byte_limit > meta)
                              ? rows->byte_limit - meta : 1;
    }

    /* NextToken lives in the pool, not in the page that goes soon */
    st->next_token.data = pg->next_token.data;
    st->next_token.len = pg->next_token.len;

    if (!spectra_result_page_held(&rows->res)) {
        /* its rows are all written ahead: the page goes now */
        ngx_http_spectra_dataapi_free_answer(st);
    }

    ngx_http_spectra_rows_write(rows);
}


/* Writes rows in slices until the page is done, waiting when it must. */

static void
ngx_http_spectra_rows_write(ngx_http_spectra_rows_t *rows)
{
    int                       rc;
    ngx_int_t                 frc;
    ngx_http_request_t       *r;
    ngx_http_spectra_stmt_t  *st;

    r = rows->request;
    st = rows->stmt;

    if (st->client_gone || r->connection->error) {
        ngx_http_spectra_finish(r, NGX_HTTP_CLIENT_CLOSED_REQUEST);
        return;
    }

    rows->blocked = 0;

    rc = spectra_result_page_write(&rows->res, &rows->sink,
                                   NGX_HTTP_SPECTRA_ROWS_SLICE);

    if (rc == SPECTRA_RESULT_NOMEM) {
        ngx_http_spectra_rows_abort(rows, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                    "INTERNAL_ERROR", "out of memory");
        return;
    }

    if (rc == SPECTRA_RESULT_AGAIN) {
        frc = ngx_http_spectra_rows_flush(rows, 0);

        if (frc == NGX_ERROR) {
            ngx_http_spectra_finish(r, NGX_ERROR);
            return;
        }

        if (frc == NGX_AGAIN) {
            /* the client has not taken what went out: its pace */
            ngx_http_spectra_rows_wait(rows);
            return;
        }

        /*
         * A slice is done (or every buffer was out, and all of them have
         * just been sent: no write event would come for that).  The next
         * slice runs in the next turn of the event loop, after the I/O
         * of other requests; ngx_posted_events would run it in this one.
         */
        ngx_post_event(&rows->resume, &ngx_posted_next_events);
        return;
    }

    /* the page is written: it goes, and the next one comes if wanted */

    ngx_http_spectra_dataapi_free_answer(st);

    if (!rows->res.page_more || rows->res.truncated
        || st->next_token.len == 0)
    {
        ngx_http_spectra_rows_tail(rows);
        return;
    }

    frc = ngx_http_spectra_rows_flush(rows, 0);

    if (frc == NGX_ERROR) {
        ngx_http_spectra_finish(r, NGX_ERROR);
        return;
    }

    if (frc == NGX_AGAIN || r->connection->buffered) {
        ngx_http_spectra_rows_wait(rows);
        return;
    }

    ngx_http_spectra_stmt_fetch(st, ngx_http_spectra_rows_fetched);
}


static void
ngx_http_spectra_rows_fetched(ngx_http_spectra_stmt_t *st)
{
    ngx_uint_t                status;
    ngx_str_t                 message;
    const char               *code;
    ngx_http_spectra_ctx_t   *ctx;
    ngx_http_spectra_rows_t  *rows;

    ctx = ngx_http_get_module_ctx(st->request, ngx_http_spectra_module);
    rows = ctx->rows;

    switch (st->end) {

    case NGX_HTTP_SPECTRA_END_ROWS:
        ngx_http_spectra_rows_page(rows);
        return;

    case NGX_HTTP_SPECTRA_END_GONE:
        ngx_http_spectra_finish(st->request, NGX_HTTP_CLIENT_CLOSED_REQUEST);
        return;

    case NGX_HTTP_SPECTRA_END_UPSTREAM:
        status = ngx_http_spectra_stmt_upstream_error(st, &code, &message);

        ngx_http_spectra_rows_abort(rows, status, code,
                                    (const char *) ngx_pstrdup(
                                        st->request->pool, &message));
        return;

    default:
        ngx_http_spectra_rows_abort(rows, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                    "INTERNAL_ERROR",
                                    "internal server error");
        return;
    }
}


/*
 * Passes the buffers written so far to the output filters.  A small
 * answer whose every byte is written by now goes out with its length.
 */

static ngx_int_t
ngx_http_spectra_rows_flush(ngx_http_spectra_rows_t *rows, ngx_uint_t last)
{
    off_t                         len;
    ngx_int_t                     rc;
    ngx_chain_t                  *cl, *out, **ll;
    ngx_http_request_t           *r;
    ngx_http_spectra_loc_conf_t  *slcf;

    r = rows->request;
    slcf = ngx_http_get_module_loc_conf(r, ngx_http_spectra_module);

    if (rows->buf != NULL && rows->buf->last != rows->sink.pos) {
        rows->buf->last = rows->sink.pos;
    }

    if (last && rows->buf != NULL) {
        /* the buffer being filled goes too */
        cl = ngx_alloc_chain_link(r->pool);
        if (cl == NULL) {
            return NGX_ERROR;
        }

        cl->buf = rows->buf;
        cl->next = NULL;
        *rows->last_out = cl;
        rows->last_out = &cl->next;

        rows->buf = NULL;
        rows->sink.pos = NULL;
        rows->sink.end = NULL;
    }

    out = rows->out;

    if (!rows->header_sent) {
        len = -1;

        if (last) {
            len = 0;

            for (cl = out; cl != NULL; cl = cl->next) {
                len += ngx_buf_size(cl->buf);
            }
        }

        if (ngx_http_spectra_json_headers(r, NGX_HTTP_OK, len) != NGX_OK) {
            return NGX_ERROR;
        }

        rc = ngx_http_send_header(r);

        if (rc == NGX_ERROR || rc > NGX_OK) {
            return NGX_ERROR;
        }

        rows->header_sent = 1;

        if (r->header_only) {
            return NGX_OK;
        }
    }

    if (last) {
        for (cl = out; cl != NULL && cl->next != NULL; cl = cl->next) {
            /* void */
        }

        if (cl != NULL) {
            cl->buf->last_buf = 1;
            cl->buf->last_in_chain = 1;
        }
    }

    if (out == NULL && !r->connection->buffered) {
        return NGX_OK;
    }

    rc = ngx_http_output_filter(r, out);

    rows->out = NULL;
    rows->last_out = &rows->out;

    ngx_chain_update_chains(r->pool, &rows->free, &rows->busy, &out,
                            (ngx_buf_tag_t) &ngx_http_spectra_module);

    /* a buffer made for one big row is not kept */

    for (ll = &rows->free; *ll != NULL; /* void */) {
        if ((size_t) ((*ll)->buf->end - (*ll)->buf->start)
            > slcf->output_bufs.size)
        {
            (void) ngx_pfree(r->pool, (*ll)->buf->start);
            *ll = (*ll)->next;
            continue;
        }

        ll = &(*ll)->next;
    }

    if (rc == NGX_ERROR) {
        return NGX_ERROR;
    }

    return (rc == NGX_AGAIN || r->connection->buffered) ? NGX_AGAIN : NGX_OK;
}


static void
ngx_http_spectra_rows_wait(ngx_http_spectra_rows_t *rows)
{
    ngx_event_t               *wev;
    ngx_http_request_t        *r;
    ngx_http_core_loc_conf_t  *clcf;

    r = rows->request;
    wev = r->connection->write;
    clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);

    r->write_event_handler = ngx_http_spectra_rows_write_handler;

    if (!wev->delayed) {
        ngx_add_timer(wev, clcf->send_timeout);
    }

    if (ngx_handle_write_event(wev, clcf->send_lowat) != NGX_OK) {
        ngx_http_spectra_finish(r, NGX_ERROR);
    }
}


static void
ngx_http_spectra_rows_write_handler(ngx_http_request_t *r)
{
    ngx_int_t                 rc;
    ngx_event_t              *wev;
    ngx_http_spectra_ctx_t   *ctx;
    ngx_http_spectra_rows_t  *rows;

    ctx = ngx_http_get_module_ctx(r, ngx_http_spectra_module);
    rows = ctx->rows;
    wev = r->connection->write;

    if (wev->timedout) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, NGX_ETIMEDOUT,
                      "spectra: client timed out taking the answer");
        r->connection->timedout = 1;
        ngx_http_spectra_finish(r, NGX_HTTP_REQUEST_TIME_OUT);
        return;
    }

    if (wev->delayed) {
        if (!wev->timer_set) {
            ngx_http_spectra_rows_wait(rows);
        }

        return;
    }

    rc = ngx_http_spectra_rows_flush(rows, rows->tail);

    if (rc == NGX_ERROR) {
        ngx_http_spectra_finish(r, NGX_ERROR);
        return;
    }

    if (rc == NGX_AGAIN) {
        ngx_http_spectra_rows_wait(rows);
        return;
    }

    if (wev->timer_set) {
        ngx_del_timer(wev);
    }

    r->write_event_handler = ngx_http_request_empty_handler;

    if (rows->tail) {
        ngx_http_spectra_finish(r, NGX_OK);
        return;
    }

    ngx_http_spectra_rows_write(rows);
}


static void
ngx_http_spectra_rows_resume_handler(ngx_event_t *ev)
{
    ngx_connection_t         *c;
    ngx_http_spectra_rows_t  *rows;

    rows = ev->data;
    c = rows->request->connection;

    ngx_http_set_log_request(c->log, rows->request);

    ngx_http_spectra_rows_write(rows);

    ngx_http_run_posted_requests(c);
}


/* The metadata, the job's row count, and the end of the answer. */

static void
ngx_http_spectra_rows_tail(ngx_http_spectra_rows_t *rows)
{
    u_char                   *p;
    int64_t                   ms;
    ngx_int_t                 rc;
    ngx_str_t                 cursor;
    u_char                    tail[512];
    ngx_http_request_t       *r;
    ngx_http_spectra_ctx_t   *ctx;
    ngx_http_spectra_stmt_t  *st;

    r = rows->request;
    st = rows->stmt;

    ngx_str_null(&cursor);

    if (rows->page != NULL) {
        if (rows->res.rows == 0 && rows->res.by_bytes) {
            /* a page of no rows would lead nowhere: its next is itself */
            ngx_http_spectra_rows_page_tail(rows);
            return;
        }

        if (ngx_http_spectra_page_next(r, rows->page, &rows->res, &st->job,
                                       &cursor)
            != NGX_OK)
        {
            ngx_http_spectra_rows_abort(rows, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                        "INTERNAL_ERROR",
                                        "the cursor could not be made");
            return;
        }
    }

    rows->tail = 1;

    if (ngx_http_spectra_rows_copy(rows, (u_char *) "],\"metadata\":"
                                   "{\"columns\":",
                                   sizeof("],\"metadata\":{\"columns\":") - 1,
                                   NGX_HTTP_SPECTRA_ROWS_TAIL + cursor.len)
        != NGX_OK)
    {
        ngx_http_spectra_rows_abort(rows, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                    "INTERNAL_ERROR", "out of memory");
        return;
    }

    if (rows->res.has_columns) {
        if (spectra_result_columns(&rows->res, &rows->sink)
            != SPECTRA_RESULT_OK)
        {
            ngx_http_spectra_rows_abort(rows, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                        "INTERNAL_ERROR", "out of memory");
            return;
        }

    } else if (ngx_http_spectra_rows_copy(rows, (u_char *) "[]", 2, 0)
               != NGX_OK)
    {
        ngx_http_spectra_rows_abort(rows, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                    "INTERNAL_ERROR", "out of memory");
        return;
    }

    ms = (st->job.execution_ms >= 0)
         ? st->job.execution_ms
         : ngx_http_spectra_job_now() - st->started;

    if (ms < 0) {
        ms = 0;
    }

    /*
     * a page is not truncated: its next_cursor leads to the rest, but
     * for rows past those the statement kept
     */

    /* $spectra_rows, $spectra_truncated */
    ctx = ngx_http_get_module_ctx(r->main, ngx_http_spectra_module);
    if (ctx != NULL) {
        ctx->answer_rows = rows->res.rows;
        ctx->answer_rows_set = 1;
        ctx->truncated = (rows->page == NULL ? rows->res.truncated
                                             : rows->page->capped);
    }

    p = ngx_sprintf(tail, ",\"row_count\":%uL,\"truncated\":%s,"
                          "\"execution_time_ms\":%L,\"message\":",
                    rows->res.rows,
                    (rows->page == NULL ? rows->res.truncated
                                        : rows->page->capped)
                    ? "true" : "false", ms);

    if (rows->page != NULL) {
        if (rows->page->capped) {
            p = ngx_sprintf(p, "\"the result has more than the %uL rows "
                               "kept for pages (spectra_results_row_limit): "
                               "export all of them with POST /v1/bulk\"",
                            rows->page->kept);

        } else {
            p = ngx_cpymem(p, "null", 4);
        }

        p = ngx_cpymem(p, "},\"next_cursor\":",
                       sizeof("},\"next_cursor\":") - 1);

        if (cursor.len) {
            *p++ = '"';

        } else {
            p = ngx_cpymem(p, "null}\n", sizeof("null}\n") - 1);
        }

    } else {
        p = ngx_http_spectra_rows_message(rows, p);
    }

    if (ngx_http_spectra_rows_copy(rows, tail, p - tail, 0) != NGX_OK
        || (cursor.len
            && (ngx_http_spectra_rows_copy(rows, cursor.data, cursor.len, 0)
                != NGX_OK
                || ngx_http_spectra_rows_copy(rows, (u_char *) "\"}\n", 3, 0)
                   != NGX_OK)))
    {
        ngx_http_spectra_rows_abort(rows, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                    "INTERNAL_ERROR", "out of memory");
        return;
    }

    /* a page's rows are not the job's answer: its row count stays */
    if (rows->page == NULL) {
        ngx_http_spectra_stmt_rows_done(st, rows->res.rows);
    }

    rc = ngx_http_spectra_rows_flush(rows, 1);

    if (rc == NGX_AGAIN) {
        ngx_http_spectra_rows_wait(rows);
        return;
    }

    ngx_http_spectra_finish(r, rc == NGX_ERROR ? NGX_ERROR : NGX_OK);
}


/*
 * The message of an answer cut at its limits names both ways to the
 * rest: the pages of /v1/jobs/{id}/results and the bulk API.
 */

static u_char *
ngx_http_spectra_rows_message(ngx_http_spectra_rows_t *rows, u_char *p)
{
    if (rows->res.truncated && rows->res.by_bytes) {
        return ngx_sprintf(p, "\"the answer reached its byte limit (%uL "
                              "bytes); the first %uL rows are returned: "
                              "page through all of them with GET "
                              "/v1/jobs/%s/results?page_size=N, or export "
                              "them with POST /v1/bulk\"}}\n",
                           rows->byte_limit, rows->res.rows,
                           rows->stmt->job.id);
    }

    if (rows->res.truncated) {
        return ngx_sprintf(p, "\"the result has more than %uL rows; the "
                              "first %uL are returned: page through all of "
                              "them with GET /v1/jobs/%s/results?"
                              "page_size=N, or export them with POST "
                              "/v1/bulk\"}}\n",
                           rows->res.rows, rows->res.rows,
                           rows->stmt->job.id);
    }

    return ngx_cpymem(p, "null}}\n", sizeof("null}}\n") - 1);
}


/*
 * The first row of the page does not fit in its bytes: an error, before
 * anything went out (the page's first row is in its first Data API page,
 * which is checked whole before a byte of the answer is sent).
 */

static void
ngx_http_spectra_rows_page_tail(ngx_http_spectra_rows_t *rows)
{
    u_char                       *msg, *p;
    ngx_http_request_t           *r;
    ngx_http_spectra_loc_conf_t  *slcf;

    r = rows->request;
    slcf = ngx_http_get_module_loc_conf(r, ngx_http_spectra_module);

    msg = ngx_pnalloc(r->pool, 160);
    if (msg == NULL) {
        ngx_http_spectra_rows_abort(rows, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                    "INTERNAL_ERROR", "out of memory");
        return;
    }

    if (rows->byte_limit < slcf->byte_limit) {
        p = ngx_sprintf(msg, "the next row does not fit in page_bytes "
                             "(%uL): ask for more, up to %uz",
                        rows->byte_limit, slcf->byte_limit);

    } else {
        p = ngx_sprintf(msg, "the next row does not fit in a page of %uL "
                             "bytes: export the result with POST /v1/bulk",
                        rows->byte_limit);
    }

    *p = '\0';

    ngx_http_spectra_rows_abort(rows, NGX_HTTP_BAD_REQUEST, "INVALID_REQUEST",
                                (const char *) msg);
}


/*
 * Before the header went out, an error is an answer of its own; after
 * it, the connection is closed mid-answer, which a client sees as an
 * answer cut short (chunked encoding without its last chunk).
 */

static void
ngx_http_spectra_rows_abort(ngx_http_spectra_rows_t *rows, ngx_uint_t status,
    const char *code, const char *message)
{
    ngx_http_request_t  *r;

    r = rows->request;

    if (!rows->header_sent) {
        ngx_http_spectra_finish(r, ngx_http_spectra_fail(r, status, code,
                                                         "%s", message));
        return;
    }

    ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                  "spectra: answer of job %s cut short: %s",
                  rows->stmt->job.id, message);

    r->connection->error = 1;
    ngx_http_spectra_finish(r, NGX_ERROR);
}
