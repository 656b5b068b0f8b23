/*
 * The workers: each takes the next statement the scheduler (sched.c)
 * hands out, with a connection of the statement's db user from its pool
 * (pool.c), logged in AS that user, and runs it in its own transaction:
 * row-level security and every privilege check are PostgreSQL's, and no
 * role is ever switched. A db user that is not an ordinary tenant role is
 * refused first (credentials.c). Each statement is bounded in time by
 * statement_timeout in its transaction (and by the watchdog, sched.c),
 * its result by the memory bound (store.c). Sessions keep their own
 * connection between statements.
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dataapi.h"


static void *da_worker_main(void *arg);
static int da_exec_ok(PGresult *res);
static PGconn *da_run(da_worker_t *w, da_stmt_t *s, da_pconn_t *pc);
static PGconn *da_done_conn_locked(da_ctx_t *ctx, da_stmt_t *s,
    da_pconn_t *pc, int reuse);
static int da_run_sql(da_ctx_t *ctx, PGconn *conn, da_stmt_t *s,
    da_budget_t *budget, PGcancel *cancel, char **describe, long pipe_ms);
static int da_begin(PGconn *conn, da_stmt_t *s, long timeout_ms);
static int da_commit(da_ctx_t *ctx, PGconn *conn, da_stmt_t *s,
    const char *describe);
static void da_finish_locked(da_ctx_t *ctx, da_stmt_t *s, da_status_e st);
static void da_log_statement(da_ctx_t *ctx, da_stmt_t *s);
static int64_t da_elapsed_ns(const struct timespec *start);


int
da_workers_start(da_ctx_t *ctx)
{
    int  i;

    ctx->worker = calloc((size_t) ctx->workers, sizeof(da_worker_t));
    if (ctx->worker == NULL) {
        return -1;
    }

    for (i = 0; i < ctx->workers; i++) {
        ctx->worker[i].ctx = ctx;
        ctx->worker[i].index = i;

        if (pthread_create(&ctx->worker[i].thread, NULL, da_worker_main,
                           &ctx->worker[i]) != 0)
        {
            da_log(ctx, "error: pthread_create: %s", strerror(errno));
            return -1;
        }
    }

    return 0;
}


/* Called with ctx->stopping set: aborts what is queued, joins. */
void
da_workers_stop(da_ctx_t *ctx)
{
    da_stmt_t  *s;
    int         i;

    pthread_mutex_lock(&ctx->lock);

    while ((s = da_sched_pop_any_locked(ctx)) != NULL) {
        if (!da_is_terminal(s->status)) {
            s->error = strdup("The statement was aborted because "
                              "spectra-dataapi is shutting down");
            da_finish_locked(ctx, s, DA_ABORTED);
        }

        da_stmt_unref_locked(ctx, s);
    }

    /* running statements are cancelled so that the workers come back */
    for (s = ctx->all_head; s != NULL; s = s->all_next) {
        if (s->status == DA_STARTED || s->status == DA_PICKED) {
            da_cancel_locked(ctx, s);
        }
    }

    pthread_cond_broadcast(&ctx->queue_cond);
    pthread_mutex_unlock(&ctx->lock);

    if (ctx->worker == NULL) {
        return;
    }

    for (i = 0; i < ctx->workers; i++) {
        if (ctx->worker[i].thread) {
            pthread_join(ctx->worker[i].thread, NULL);
        }
    }

    free(ctx->worker);
    ctx->worker = NULL;
}


/* Returns -1 if the statement is already done. */
int
da_cancel_locked(da_ctx_t *ctx, da_stmt_t *s)
{
    char  errbuf[256];
    int   i;

    if (da_is_terminal(s->status)) {
        return -1;
    }

    s->cancel_requested = 1;

    if (s->status == DA_SUBMITTED) {
        /* still queued: out of its queue at once */
        da_sched_remove_locked(ctx, s);
        s->error = strdup("Query cancelled on user's request");

        for (i = 0; i < s->nsubs; i++) {
            da_store_set_status_locked(ctx, s->subs[i], DA_ABORTED);
        }

        da_finish_locked(ctx, s, DA_ABORTED);
        return 0;
    }

    if (s->cancel != NULL && !PQcancel(s->cancel, errbuf, sizeof(errbuf))) {
        da_log(ctx, "error: cancel of %s: %s", s->id, errbuf);
    }

    return 0;
}


static void *
da_worker_main(void *arg)
{
    da_worker_t  *w = arg;
    da_ctx_t     *ctx = w->ctx;
    da_stmt_t    *s;
    da_pconn_t   *pc;
    PGconn       *evicted, *close;

    for ( ;; ) {
        pthread_mutex_lock(&ctx->lock);

        s = NULL;

        while (!ctx->stopping
               && (s = da_sched_next_locked(ctx, &pc, &evicted)) == NULL)
        {
            pthread_cond_wait(&ctx->queue_cond, &ctx->lock);
        }

        if (s == NULL) {
            pthread_mutex_unlock(&ctx->lock);
            break;
        }

        w->current = s;
        da_store_set_status_locked(ctx, s, DA_PICKED);
        pthread_mutex_unlock(&ctx->lock);

        PQfinish(evicted);

        close = da_run(w, s, pc);

        pthread_mutex_lock(&ctx->lock);
        w->current = NULL;
        da_sched_done_locked(ctx, s);
        da_stmt_unref_locked(ctx, s);
        pthread_mutex_unlock(&ctx->lock);

        PQfinish(close);
    }

    return NULL;
}


static int64_t
da_elapsed_ns(const struct timespec *start)
{
    struct timespec  now;

    clock_gettime(CLOCK_MONOTONIC, &now);

    return (int64_t) (now.tv_sec - start->tv_sec) * 1000000000
           + (now.tv_nsec - start->tv_nsec);
}


void
da_set_error(da_stmt_t *s, PGresult *res, const char *fallback)
{
    const char  *severity, *primary, *state;
    char         buf[1024];

    severity = res != NULL ? PQresultErrorField(res, PG_DIAG_SEVERITY) : NULL;
    primary = res != NULL
              ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    state = res != NULL ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

    if (primary == NULL) {
        snprintf(buf, sizeof(buf), "ERROR: %s", fallback);

    } else {
        snprintf(buf, sizeof(buf), "%s: %s (SQLSTATE %s)",
                 severity != NULL ? severity : "ERROR", primary,
                 state != NULL ? state : "XX000");
    }

    if (state != NULL) {
        snprintf(s->sqlstate, sizeof(s->sqlstate), "%s", state);
    }

    free(s->error);
    s->error = strdup(buf);
}


static int
da_exec_ok(PGresult *res)
{
    ExecStatusType  st = PQresultStatus(res);

    return st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
}


/*
 * Runs one SQL statement (s is a plain statement or a sub-statement) on
 * conn inside the open transaction; its rows count against the memory
 * bound through budget. With describe set, the catalog query for its
 * columns is left to the commit (*describe: its SQL, or NULL when none
 * is needed), else it runs here. With pipe_ms >= 0 the transaction is
 * not open yet: begin and the time bound of pipe_ms go in one pipeline
 * with the statement (pipeline.c). Returns 0 on success, -1 on failure
 * (s->error set).
 */
static int
da_run_sql(da_ctx_t *ctx, PGconn *conn, da_stmt_t *s, da_budget_t *budget,
    PGcancel *cancel, char **describe, long pipe_ms)
{
    PGresult        *res;
    ExecStatusType   st;
    da_result_t     *out;
    char             errbuf[256];
    int              i, rc, failed, too_big, over_budget;

    out = calloc(1, sizeof(da_result_t));
    if (out == NULL) {
        s->error = strdup("ERROR: out of memory (SQLSTATE 53200)");
        return -1;
    }

    /* catalog lookups read values back, results for clients are JSON */
    out->raw = s->internal;
    out->budget = da_store_budget;
    out->budget_data = budget;

    failed = 0;
    too_big = 0;
    over_budget = 0;
    s->has_result_set = 0;

    if (pipe_ms >= 0) {
        if (da_pipe_send(conn, s, pipe_ms) != 0) {
            (void) da_pipe_end(conn, s);
            da_result_free(out);
            return -1;
        }

        /* begin or the time bound failed: the statement reads aborted */
        failed = da_pipe_prelude(conn, s) != 0;

    } else if (!PQsendQueryParams(conn, s->bound_sql, s->nvalues, NULL,
                                  (const char * const *) s->values, NULL,
                                  NULL, 0))
    {
        da_set_error(s, NULL, PQerrorMessage(conn));
        da_result_free(out);
        return -1;
    }

    /* without it the rows come in one result: they are read there too */
    if (!failed) {
        (void) PQsetSingleRowMode(conn);
    }

    while ((res = PQgetResult(conn)) != NULL) {
        st = PQresultStatus(res);

        if (da_pg_copy_end(conn, res)) {
            if (!failed && !too_big && !over_budget) {
                free(s->error);
                s->error = strdup(DA_COPY_CLIENT_ERROR);
                snprintf(s->sqlstate, sizeof(s->sqlstate), "0A000");
                failed = 1;
            }

            PQclear(res);
            continue;
        }

        switch (st) {

        case PGRES_SINGLE_TUPLE:
        case PGRES_TUPLES_OK:
            if (failed || too_big || over_budget) {
                break;
            }

            if (da_result_set_columns(out, res) != 0) {
                failed = 1;
                s->error = strdup("ERROR: out of memory (SQLSTATE 53200)");
                break;
            }

            if (st == PGRES_TUPLES_OK) {
                /* the end of the rows (or all of them, in one result) */
                s->has_result_set = 1;
            }

            for (i = 0; i < PQntuples(res); i++) {
                rc = da_result_add_row(out, res, i);

                if (rc == -2) {
                    over_budget = 1;
                    break;
                }

                if (rc != 0) {
                    failed = 1;
                    s->error = strdup("ERROR: out of memory "
                                      "(SQLSTATE 53200)");
                    break;
                }
            }

            if (out->size > ctx->max_result_bytes) {
                too_big = 1;
            }

            if ((too_big || over_budget || failed) && cancel != NULL) {
                /* stop the server producing rows nobody will keep */
                PQcancel(cancel, errbuf, sizeof(errbuf));
            }

            if (too_big || over_budget) {
                /* give the memory back now, not when the rows end */
                da_result_free(out);
                out = NULL;

                pthread_mutex_lock(&ctx->lock);
                da_store_release_locked(ctx, budget->stmt);
                pthread_mutex_unlock(&ctx->lock);
            }

            break;

        case PGRES_COMMAND_OK:
            s->result_rows = atoll(PQcmdTuples(res));
            da_colcache_saw(ctx, PQcmdStatus(res));
            break;

        default:
            if (!failed && !too_big && !over_budget) {
                da_set_error(s, res, PQerrorMessage(conn));
                failed = 1;
            }

            break;
        }

        PQclear(res);
    }

    if (pipe_ms >= 0 && da_pipe_end(conn, s) != 0 && !failed) {
        failed = 1;
    }

    if (too_big) {
        free(s->error);
        snprintf(errbuf, sizeof(errbuf),
                 "ERROR: Query result size exceeds the limit of %zu bytes "
                 "(SQLSTATE 54000)", ctx->max_result_bytes);
        s->error = strdup(errbuf);
        snprintf(s->sqlstate, sizeof(s->sqlstate), "54000");
        failed = 1;

    } else if (over_budget) {
        free(s->error);
        snprintf(errbuf, sizeof(errbuf),
                 "ERROR: Query results held by spectra-dataapi would "
                 "exceed its memory bound of %zu bytes; fetch or let "
                 "finished results expire and retry (SQLSTATE 53200)",
                 ctx->max_retained_bytes);
        s->error = strdup(errbuf);
        snprintf(s->sqlstate, sizeof(s->sqlstate), "53200");
        failed = 1;
    }

    if (!failed && s->has_result_set) {
        if (describe == NULL) {
            rc = da_result_describe(ctx, conn, out);

        } else if (da_result_types(ctx, conn, out) == 0
                   || da_colcache_fill(ctx, s->db_user, out) == 0)
        {
            rc = 0;

        } else {
            *describe = da_result_describe_sql(out);
            rc = *describe != NULL ? 0 : -1;
        }

        if (rc != 0) {
            s->error = strdup("ERROR: could not describe the result "
                              "columns (SQLSTATE XX000)");
            failed = 1;
        }
    }

    if (failed) {
        da_result_free(out);
        s->has_result_set = 0;
        return -1;
    }

    if (s->has_result_set) {
        da_result_shrink(out);
        out->budget = NULL;
        out->budget_data = NULL;
        s->result = out;
        s->result_rows = (int64_t) out->nrows;
        s->result_size = (int64_t) out->size;

    } else {
        da_result_free(out);

        if (s->result_rows < 0) {
            s->result_rows = 0;
        }

        s->result_size = 0;
    }

    return 0;
}


static void
da_finish_locked(da_ctx_t *ctx, da_stmt_t *s, da_status_e st)
{
    if (s->started.tv_sec != 0) {
        s->duration_ns = da_elapsed_ns(&s->started);

    } else {
        s->duration_ns = 0;
    }

    if (st != DA_FINISHED) {
        s->result_rows = -1;
        s->result_size = -1;
        s->has_result_set = 0;
    }

    if (s->parent == NULL) {
        /* the reservation goes back before the kept bytes are counted */
        da_store_release_locked(ctx, s);
    }

    da_store_set_status_locked(ctx, s, st);

    if (s->parent == NULL) {
        if (s->session != NULL) {
            s->session->busy = 0;
            s->session->expires = time(NULL) + s->session->keepalive;
        }

        da_log_statement(ctx, s);
    }
}


static void
da_log_statement(da_ctx_t *ctx, da_stmt_t *s)
{
    da_log(ctx, "statement id=%s key=%s key_id=%s db_user=%s status=%s "
           "duration_ms=%.3f rows=%lld size=%lld%s%s%s%s",
           s->id, s->access_key, s->key_id != NULL ? s->key_id : "-",
           s->db_user, da_status_name(s->status),
           s->duration_ns >= 0 ? (double) s->duration_ns / 1e6 : 0.0,
           (long long) s->result_rows, (long long) s->result_size,
           s->sqlstate[0] ? " sqlstate=" : "", s->sqlstate,
           s->session != NULL ? " session=1" : "",
           s->timed_out ? " watchdog=1" : "");
}


/*
 * Ends a successful statement in one round trip: describes its result's
 * columns (describe: the catalog query da_run_sql() left, or NULL), checks
 * that it is still its db user (a division by zero if not: nothing should
 * let it change, this only proves it), then, outside sessions, resets what
 * DISCARD ALL would (which cannot run in a transaction) so the pooled
 * connection carries nothing to the user's next statement, and commits.
 */
static int
da_commit(da_ctx_t *ctx, PGconn *conn, da_stmt_t *s, const char *describe)
{
    static const char  reset[] =
        "; close all; reset all; deallocate all; unlisten *;"
        " select pg_catalog.pg_advisory_unlock_all(); discard plans;"
        " discard temp; discard sequences";
    PGresult     *res;
    char         *role, *sql;
    const char   *state;
    size_t        len;
    int           failed, stage;

    role = PQescapeLiteral(conn, s->db_user, strlen(s->db_user));
    if (role == NULL) {
        da_set_error(s, NULL, PQerrorMessage(conn));
        return -1;
    }

    len = 2 * strlen(role) + sizeof(reset) + 128
          + (describe != NULL ? strlen(describe) : 0);
    sql = malloc(len);
    if (sql == NULL) {
        PQfreemem(role);
        s->error = strdup("ERROR: out of memory (SQLSTATE 53200)");
        return -1;
    }

    snprintf(sql, len, "%s%sselect 1 / (current_user = %s"
             " and session_user = %s)::int%s; commit",
             describe != NULL ? describe : "", describe != NULL ? "; " : "",
             role, role, s->session == NULL ? reset : "");
    PQfreemem(role);

    failed = 0;
    /* the results: the description's first, if any, then the check's */
    stage = describe != NULL ? -1 : 0;

    if (!PQsendQuery(conn, sql)) {
        da_set_error(s, NULL, PQerrorMessage(conn));
        free(sql);
        return -1;
    }

    free(sql);

    while ((res = PQgetResult(conn)) != NULL) {
        if (stage == -1 && PQresultStatus(res) == PGRES_TUPLES_OK
            && s->result != NULL)
        {
            da_result_describe_apply(s->result, res);
        }

        if (!failed && !da_exec_ok(res)) {
            failed = 1;
            da_set_error(s, res, PQerrorMessage(conn));

            /*
             * The check divides by zero when the role changed; any other
             * failure (the connection lost at a restart) is told as is.
             */
            state = PQresultErrorField(res, PG_DIAG_SQLSTATE);

            if (stage == 0 && state != NULL && strcmp(state, "22012") == 0) {
                free(s->error);
                s->error = strdup("ERROR: the statement changed its role; "
                                  "its results are discarded "
                                  "(SQLSTATE 42501)");
                snprintf(s->sqlstate, sizeof(s->sqlstate), "42501");
            }
        }

        stage++;
        PQclear(res);
    }

    if (failed) {
        res = PQexec(conn, "rollback");
        PQclear(res);

    } else if (describe != NULL && s->result != NULL) {
        /* described as its db user, in its transaction: kept for theirs */
        da_colcache_put(ctx, s->db_user, s->result);
    }

    return failed ? -1 : 0;
}


/*
 * begin, then the statement's time bound, in one round trip. The value is
 * a number the daemon formats: nothing of the request is in this SQL.
 */
static int
da_begin(PGconn *conn, da_stmt_t *s, long timeout_ms)
{
    PGresult  *res;
    char       sql[96];
    int        failed;

    snprintf(sql, sizeof(sql), "begin; set local statement_timeout = %ld",
             timeout_ms);

    if (!PQsendQuery(conn, sql)) {
        da_set_error(s, NULL, PQerrorMessage(conn));
        return -1;
    }

    failed = 0;

    while ((res = PQgetResult(conn)) != NULL) {
        if (!failed && !da_exec_ok(res)) {
            da_set_error(s, res, PQerrorMessage(conn));
            failed = 1;
        }

        PQclear(res);
    }

    return failed ? -1 : 0;
}


/*
 * The statement is done with its connection: back to the pool or to the
 * session if reuse (reset, idle outside a transaction), else closed; no
 * connection (pc NULL) gives the reserved slot back. Before the statement
 * is finished, so that the session's next statement, which may be
 * dispatched as soon as it is, finds its connection where it belongs.
 * Returns a PGconn to PQfinish() outside the lock, or NULL.
 */
static PGconn *
da_done_conn_locked(da_ctx_t *ctx, da_stmt_t *s, da_pconn_t *pc, int reuse)
{
    if (pc == NULL) {
        da_pool_unreserve_locked(ctx, s->user, s->session != NULL);
        return NULL;
    }

    if (s->session != NULL) {
        s->session->pconn = reuse ? pc : NULL;
        return reuse ? NULL : da_pool_close_locked(ctx, pc);
    }

    return da_pool_release_locked(ctx, pc, reuse);
}


/*
 * Runs a statement or a batch in one transaction as its db user, on pc
 * (or, if NULL, on a connection it opens in the slot reserved for it).
 * Returns a PGconn to PQfinish() (a connection not to be used again), or
 * NULL.
 */
static PGconn *
da_run(da_worker_t *w, da_stmt_t *s, da_pconn_t *pc)
{
    da_ctx_t      *ctx = w->ctx;
    PGconn        *conn, *close;
    PGresult      *res;
    PGcancel      *cancel;
    da_budget_t    budget;
    char          *reason, *describe, err[512];
    da_stmt_t     *cur, *failed_sub;
    da_status_e    final;
    long           timeout_ms, pipe_ms;
    int            i, n, rc, in_tx, started, reuse;

    clock_gettime(CLOCK_MONOTONIC, &s->started);
    describe = NULL;
    started = 0;
    in_tx = 0;
    cancel = NULL;
    failed_sub = NULL;
    reason = NULL;
    conn = NULL;
    final = DA_FAILED;
    budget.ctx = ctx;
    budget.stmt = s;

    rc = da_role_check(ctx, s->db_user, &reason);

    if (rc < 0) {
        da_set_error(s, NULL, "could not check the db user "
                     "(SQLSTATE 08006)");
        snprintf(s->sqlstate, sizeof(s->sqlstate), "08006");
        goto done;
    }

    if (rc == 0) {
        s->error = reason;
        snprintf(s->sqlstate, sizeof(s->sqlstate), "28000");
        goto done;
    }

    if (pc != NULL && !pc->session && !da_pg_alive(pc->conn)) {
        /*
         * The server closed this idle connection of the pool: another
         * one in its slot (still reserved for the user), logged in anew.
         */
        da_log(ctx, "an idle connection of db user %s was closed by the "
               "server: connecting again", s->db_user);
        PQfinish(pc->conn);
        free(pc);
        pc = NULL;
    }

    if (pc == NULL) {
        /* a slot is reserved for this user: log in as it */
        pc = da_pool_open(ctx, s->user,
                          s->session != NULL ? s->session->secret_arn
                                             : s->secret_arn,
                          err, sizeof(err), s->sqlstate);
        if (pc == NULL) {
            s->error = strdup(err);
            goto done;
        }

        pc->session = s->session != NULL;
    }

    conn = pc->conn;

    if (PQstatus(conn) != CONNECTION_OK) {
        s->error = strdup("ERROR: the connection to the database was lost "
                          "(SQLSTATE 08006)");
        snprintf(s->sqlstate, sizeof(s->sqlstate), "08006");
        goto done;
    }

    /* the daemon's bound, or the role's own if that is lower */
    timeout_ms = ctx->statement_timeout * 1000;
    if (pc->role_timeout_ms > 0 && pc->role_timeout_ms < timeout_ms) {
        timeout_ms = pc->role_timeout_ms;
    }

    in_tx = 1;

    /*
     * A single statement goes with its begin and time bound in one
     * round trip (pipeline.c); a batch, UNLOAD, COPY, and any text that
     * may run a COPY, after begin in a round trip of its own.
     */
    pipe_ms = -1;

    if (!s->is_batch && s->unload == NULL && s->copy == NULL
        && !da_pipe_may_copy(s->bound_sql))
    {
        pipe_ms = timeout_ms;

    } else if (da_begin(conn, s, timeout_ms) != 0) {
        goto done;
    }

    cancel = PQgetCancel(conn);

    pthread_mutex_lock(&ctx->lock);

    if (s->cancel_requested) {
        pthread_mutex_unlock(&ctx->lock);
        final = DA_ABORTED;
        goto done;
    }

    started = 1;
    s->cancel = cancel;
    s->backend_pid = PQbackendPID(conn);
    s->query_id = ++ctx->query_ids;
    /* the watchdog's too: SET statement_timeout in a batch lifts neither */
    clock_gettime(CLOCK_MONOTONIC, &s->deadline);
    s->deadline.tv_sec += timeout_ms / 1000;
    s->deadline.tv_nsec += (timeout_ms % 1000) * 1000000;

    if (s->deadline.tv_nsec >= 1000000000) {
        s->deadline.tv_sec++;
        s->deadline.tv_nsec -= 1000000000;
    }
    da_store_set_status_locked(ctx, s, DA_STARTED);
    pthread_mutex_unlock(&ctx->lock);

    n = s->is_batch ? s->nsubs : 1;

    for (i = 0; i < n; i++) {
        cur = s->is_batch ? s->subs[i] : s;

        if (s->is_batch) {
            pthread_mutex_lock(&ctx->lock);
            clock_gettime(CLOCK_MONOTONIC, &cur->started);
            cur->backend_pid = s->backend_pid;
            cur->query_id = ++ctx->query_ids;
            da_store_set_status_locked(ctx, cur, DA_STARTED);
            pthread_mutex_unlock(&ctx->lock);
        }

        /* a single statement's column description goes with its commit */
        rc = cur->unload != NULL ? da_unload_run(ctx, conn, cur)
             : cur->copy != NULL ? da_copy_run(ctx, conn, cur)
             : da_run_sql(ctx, conn, cur, &budget, cancel,
                          s->is_batch ? NULL : &describe, pipe_ms);

        if (rc != 0) {
            failed_sub = cur;
            break;
        }

        if (s->is_batch) {
            pthread_mutex_lock(&ctx->lock);
            da_finish_locked(ctx, cur, DA_FINISHED);
            pthread_mutex_unlock(&ctx->lock);
        }
    }

    if (failed_sub == NULL) {
        rc = da_commit(ctx, conn, s, describe);
        free(describe);
        describe = NULL;

        if (rc != 0) {
            failed_sub = s->is_batch ? s->subs[n - 1] : s;

            if (failed_sub != s) {
                free(failed_sub->error);
                failed_sub->error = strdup(s->error);
                memcpy(failed_sub->sqlstate, s->sqlstate,
                       sizeof(s->sqlstate));
            }
        }

        in_tx = 0;
    }

    final = failed_sub == NULL ? DA_FINISHED : DA_FAILED;

    if (final == DA_FINISHED && s->is_batch) {
        /* the batch as a whole: rows and bytes of all its statements */
        s->result_rows = 0;
        s->result_size = 0;

        for (i = 0; i < s->nsubs; i++) {
            s->result_rows += s->subs[i]->result_rows;
            s->result_size += s->subs[i]->result_size;
        }
    }

    if (failed_sub != NULL && failed_sub != s && failed_sub->error != NULL) {
        free(s->error);
        s->error = strdup(failed_sub->error);
        memcpy(s->sqlstate, failed_sub->sqlstate, sizeof(s->sqlstate));
    }

done:

    free(describe);

    if (in_tx && conn != NULL) {
        res = PQexec(conn, "rollback");
        PQclear(res);
    }

    if (conn != NULL && s->session == NULL && started) {
        /* prepared statements and advisory locks outlive a rollback */
        res = PQexec(conn, "discard all");
        PQclear(res);
    }

    /* conn is NULL when the db user was refused: its connection goes */
    reuse = conn != NULL && PQstatus(conn) == CONNECTION_OK
            && PQpipelineStatus(conn) == PQ_PIPELINE_OFF
            && PQtransactionStatus(conn) == PQTRANS_IDLE;

    pthread_mutex_lock(&ctx->lock);

    s->cancel = NULL;
    close = da_done_conn_locked(ctx, s, pc, reuse);

    if (s->timed_out && final != DA_FINISHED) {
        /* the watchdog's cancel reads as PostgreSQL's own timeout */
        final = DA_FAILED;
        free(s->error);
        s->error = strdup("ERROR: canceling statement due to statement "
                          "timeout (SQLSTATE 57014)");
        snprintf(s->sqlstate, sizeof(s->sqlstate), "57014");

    } else if (final == DA_FAILED && s->cancel_requested
               && strcmp(s->sqlstate, "57014") == 0)
    {
        final = DA_ABORTED;
        free(s->error);
        s->error = strdup("Query cancelled on user's request");
    }

    if (final == DA_ABORTED && s->error == NULL) {
        s->error = strdup("Query cancelled on user's request");
    }

    if (final != DA_FINISHED) {
        for (i = 0; i < s->nsubs; i++) {
            cur = s->subs[i];

            if (cur == failed_sub && final == DA_FAILED) {
                free(cur->error);
                cur->error = s->error != NULL ? strdup(s->error) : NULL;
                memcpy(cur->sqlstate, s->sqlstate, sizeof(s->sqlstate));
                da_finish_locked(ctx, cur, DA_FAILED);

            } else if (cur->status == DA_FINISHED) {
                /* rolled back with the rest of the batch */
                da_result_free(cur->result);
                cur->result = NULL;
                da_finish_locked(ctx, cur, DA_ABORTED);

            } else {
                da_finish_locked(ctx, cur, DA_ABORTED);
            }
        }
    }

    da_finish_locked(ctx, s, final);
    pthread_mutex_unlock(&ctx->lock);

    if (cancel != NULL) {
        PQfreeCancel(cancel);
    }

    return close;
}
