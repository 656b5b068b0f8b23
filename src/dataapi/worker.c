/*
 * The worker pool: each worker owns one PostgreSQL connection (logged in
 * as the daemon's role) and runs queued statements one at a time, each in
 * its own transaction after switching to the statement's db user with
 * set_config('role', $1, true), so row-level security applies. A db user
 * that does not exist, is a superuser or BYPASSRLS, owns tables (or is a
 * member of such a role), or is the login role itself is refused.
 * Sessions run on their own connection, kept open between statements.
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dataapi.h"


#define DA_ROLE_CACHE_MAX  1024


static void *da_worker_main(void *arg);
static PGconn *da_connect(da_ctx_t *ctx);
static int da_role_check(da_ctx_t *ctx, PGconn *conn, const char *role,
    char **reason);
static int da_exec_ok(PGconn *conn, PGresult *res);
static void da_run(da_worker_t *w, da_stmt_t *s);
static int da_run_sql(da_ctx_t *ctx, PGconn *conn, da_stmt_t *s,
    PGcancel *cancel);
static int da_begin(PGconn *conn, da_stmt_t *s, const char *timeout);
static int da_commit(da_ctx_t *ctx, PGconn *conn, da_stmt_t *s);
static void da_finish_locked(da_ctx_t *ctx, da_stmt_t *s, da_status_e st);
static void da_log_statement(da_ctx_t *ctx, da_stmt_t *s);
static int64_t da_elapsed_ns(const struct timespec *start);


static PGconn *
da_connect(da_ctx_t *ctx)
{
    PGconn             *conn;
    static const char  *keys[] = {
        "dbname", "options", "application_name", NULL
    };
    const char         *values[4];

    /*
     * Startup options, not SET: they are what RESET ALL and DISCARD ALL
     * return to. Redshift answers in UTC; bytea in hex so blobs decode.
     */
    values[0] = ctx->pg_conninfo;
    values[1] = "-c TimeZone=UTC -c bytea_output=hex";
    values[2] = "spectra-dataapi";
    values[3] = NULL;

    conn = PQconnectdbParams(keys, values, 1);

    if (PQstatus(conn) != CONNECTION_OK) {
        da_log(ctx, "error: connecting to PostgreSQL: %s",
               PQerrorMessage(conn));
        PQfinish(conn);
        return NULL;
    }

    return conn;
}


int
da_workers_start(da_ctx_t *ctx)
{
    PGconn  *conn;
    int      i;

    ctx->worker = calloc((size_t) ctx->workers, sizeof(da_worker_t));
    if (ctx->worker == NULL) {
        return -1;
    }

    for (i = 0; i < ctx->workers; i++) {
        ctx->worker[i].ctx = ctx;
        ctx->worker[i].index = i;
        ctx->worker[i].conn = da_connect(ctx);

        if (ctx->worker[i].conn == NULL) {
            return -1;
        }
    }

    conn = ctx->worker[0].conn;

    if (da_types_load(ctx, conn) != 0) {
        return -1;
    }

    for (i = 0; i < ctx->workers; i++) {
        if (pthread_create(&ctx->worker[i].thread, NULL, da_worker_main,
                           &ctx->worker[i]) != 0)
        {
            da_log(ctx, "error: pthread_create: %s", strerror(errno));
            return -1;
        }
    }

    return 0;
}


/* Called with ctx->stopping set: aborts what is queued, joins, closes. */
void
da_workers_stop(da_ctx_t *ctx)
{
    da_stmt_t  *s;
    int         i;

    pthread_mutex_lock(&ctx->lock);

    while ((s = ctx->queue_head) != NULL) {
        ctx->queue_head = s->queue_next;
        ctx->queue_len--;

        if (!da_is_terminal(s->status)) {
            s->error = strdup("The statement was aborted because "
                              "spectra-dataapi is shutting down");
            da_finish_locked(ctx, s, DA_ABORTED);
        }

        da_stmt_unref_locked(ctx, s);
    }

    ctx->queue_tail = NULL;

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

        if (ctx->worker[i].conn != NULL) {
            PQfinish(ctx->worker[i].conn);
        }
    }

    free(ctx->worker);
    ctx->worker = NULL;
}


/* Returns -1 when the queue is full (ActiveStatementsExceeded). */
int
da_enqueue_locked(da_ctx_t *ctx, da_stmt_t *s)
{
    if (ctx->queue_len >= ctx->queue_max || ctx->stopping) {
        return -1;
    }

    s->refs++;                          /* the queue's reference */
    s->queue_next = NULL;

    if (ctx->queue_tail != NULL) {
        ctx->queue_tail->queue_next = s;

    } else {
        ctx->queue_head = s;
    }

    ctx->queue_tail = s;
    ctx->queue_len++;

    pthread_cond_signal(&ctx->queue_cond);

    return 0;
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
        /* still queued: the worker that pops it drops it */
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

    for ( ;; ) {
        pthread_mutex_lock(&ctx->lock);

        while (ctx->queue_head == NULL && !ctx->stopping) {
            pthread_cond_wait(&ctx->queue_cond, &ctx->lock);
        }

        if (ctx->stopping) {
            pthread_mutex_unlock(&ctx->lock);
            break;
        }

        s = ctx->queue_head;
        ctx->queue_head = s->queue_next;
        if (ctx->queue_head == NULL) {
            ctx->queue_tail = NULL;
        }

        ctx->queue_len--;

        if (s->status != DA_SUBMITTED) {
            /* cancelled while queued */
            da_stmt_unref_locked(ctx, s);
            pthread_mutex_unlock(&ctx->lock);
            continue;
        }

        da_store_set_status_locked(ctx, s, DA_PICKED);
        pthread_mutex_unlock(&ctx->lock);

        da_run(w, s);

        pthread_mutex_lock(&ctx->lock);
        da_stmt_unref_locked(ctx, s);
        pthread_mutex_unlock(&ctx->lock);
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


/*
 * Decides whether statements may run as role: cached for
 * role_cache_seconds. Returns 1 if allowed, 0 if refused (*reason set,
 * malloc()ed), -1 on a database error.
 */
static int
da_role_check(da_ctx_t *ctx, PGconn *conn, const char *role, char **reason)
{
    PGresult     *res;
    const char   *values[1];
    const char   *why;
    char          buf[512];
    da_role_t    *r, *slot;
    size_t        i;
    time_t        now;
    int           allowed;

    now = time(NULL);
    *reason = NULL;

    pthread_mutex_lock(&ctx->lock);

    for (i = 0; i < ctx->nroles; i++) {
        r = &ctx->roles[i];

        if (r->expires > now && strcmp(r->name, role) == 0) {
            allowed = r->allowed;
            if (!allowed) {
                *reason = strdup(r->reason);
            }

            pthread_mutex_unlock(&ctx->lock);
            return allowed;
        }
    }

    pthread_mutex_unlock(&ctx->lock);

    values[0] = role;
    res = PQexecParams(conn,
        "select r.rolsuper or r.rolbypassrls"
        "   or exists (select 1 from pg_catalog.pg_roles s"
        "              where (s.rolsuper or s.rolbypassrls)"
        "                and pg_catalog.pg_has_role(r.oid, s.oid, 'MEMBER')),"
        " exists (select 1 from pg_catalog.pg_class c"
        "         join pg_catalog.pg_namespace n on n.oid = c.relnamespace"
        "         where n.nspname not in ('pg_catalog', 'information_schema')"
        "           and n.nspname not like 'pg\\_toast%'"
        "           and c.relpersistence <> 't'"
        "           and pg_catalog.pg_has_role(r.oid, c.relowner, 'MEMBER')),"
        " r.rolname = session_user,"
        " pg_catalog.pg_has_role(session_user, r.oid, 'MEMBER')"
        " from pg_catalog.pg_roles r where r.rolname = $1",
        1, NULL, values, NULL, NULL, 0);

    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        PQclear(res);
        return -1;
    }

    why = NULL;

    if (PQntuples(res) == 0) {
        why = "does not exist";

    } else if (PQgetvalue(res, 0, 0)[0] == 't') {
        why = "is refused: a superuser or BYPASSRLS role (or a member of "
              "one) is not subject to row-level security";

    } else if (PQgetvalue(res, 0, 1)[0] == 't') {
        why = "is refused: it owns tables (or is a member of a role that "
              "does), so row-level security may not apply";

    } else if (PQgetvalue(res, 0, 2)[0] == 't') {
        why = "is refused: it is the login role of spectra-dataapi";

    } else if (PQgetvalue(res, 0, 3)[0] != 't') {
        why = "is refused: spectra-dataapi's login role is not a member "
              "of it";
    }

    PQclear(res);

    allowed = (why == NULL);

    if (!allowed) {
        snprintf(buf, sizeof(buf), "ERROR: db user \"%.64s\" %s "
                 "(SQLSTATE 28000)", role, why);
        *reason = strdup(buf);
    }

    pthread_mutex_lock(&ctx->lock);

    slot = NULL;
    for (i = 0; i < ctx->nroles; i++) {
        if (ctx->roles[i].expires <= now
            || strcmp(ctx->roles[i].name, role) == 0)
        {
            slot = &ctx->roles[i];
            free(slot->name);
            free(slot->reason);
            break;
        }
    }

    if (slot == NULL && ctx->nroles < DA_ROLE_CACHE_MAX) {
        r = realloc(ctx->roles, (ctx->nroles + 1) * sizeof(da_role_t));
        if (r != NULL) {
            ctx->roles = r;
            slot = &ctx->roles[ctx->nroles++];
        }
    }

    if (slot != NULL) {
        slot->name = strdup(role);
        slot->reason = allowed ? NULL : strdup(buf);
        slot->allowed = allowed;
        slot->expires = now + ctx->role_cache_seconds;

        if (slot->name == NULL) {
            slot->expires = 0;
            slot->name = strdup("");
        }
    }

    pthread_mutex_unlock(&ctx->lock);

    return allowed;
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
da_exec_ok(PGconn *conn, PGresult *res)
{
    ExecStatusType  st = PQresultStatus(res);

    (void) conn;

    return st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
}


/*
 * Runs one SQL statement (s is a plain statement or a sub-statement) on
 * conn inside the open transaction. Returns 0 on success, -1 on failure
 * (s->error set).
 */
static int
da_run_sql(da_ctx_t *ctx, PGconn *conn, da_stmt_t *s, PGcancel *cancel)
{
    PGresult        *res;
    ExecStatusType   st;
    da_result_t     *out;
    char             errbuf[256];
    int              i, failed, too_big;

    out = calloc(1, sizeof(da_result_t));
    if (out == NULL) {
        s->error = strdup("ERROR: out of memory (SQLSTATE 53200)");
        return -1;
    }

    /* catalog lookups read values back, results for clients are JSON */
    out->raw = s->internal;

    if (!PQsendQueryParams(conn, s->bound_sql, s->nvalues, NULL,
                           (const char * const *) s->values, NULL, NULL, 0))
    {
        da_set_error(s, NULL, PQerrorMessage(conn));
        da_result_free(out);
        return -1;
    }

    PQsetSingleRowMode(conn);

    failed = 0;
    too_big = 0;
    s->has_result_set = 0;

    while ((res = PQgetResult(conn)) != NULL) {
        st = PQresultStatus(res);

        switch (st) {

        case PGRES_SINGLE_TUPLE:
            if (failed || too_big) {
                break;
            }

            if (da_result_set_columns(out, res) != 0) {
                failed = 1;
                s->error = strdup("ERROR: out of memory (SQLSTATE 53200)");
                break;
            }

            for (i = 0; i < PQntuples(res); i++) {
                if (da_result_add_row(out, res, i) != 0) {
                    failed = 1;
                    s->error = strdup("ERROR: out of memory "
                                      "(SQLSTATE 53200)");
                    break;
                }
            }

            if (out->size > ctx->max_result_bytes) {
                too_big = 1;

                /* stop the server producing rows nobody will keep */
                if (cancel != NULL) {
                    PQcancel(cancel, errbuf, sizeof(errbuf));
                }
            }

            break;

        case PGRES_TUPLES_OK:
            if (!failed && !too_big) {
                if (da_result_set_columns(out, res) != 0) {
                    failed = 1;
                }

                s->has_result_set = 1;
            }

            break;

        case PGRES_COMMAND_OK:
            s->result_rows = atoll(PQcmdTuples(res));
            break;

        default:
            if (!failed && !too_big) {
                da_set_error(s, res, PQerrorMessage(conn));
                failed = 1;
            }

            break;
        }

        PQclear(res);
    }

    if (too_big) {
        free(s->error);
        snprintf(errbuf, sizeof(errbuf),
                 "ERROR: Query result size exceeds the limit of %zu bytes "
                 "(SQLSTATE 54000)", ctx->max_result_bytes);
        s->error = strdup(errbuf);
        snprintf(s->sqlstate, sizeof(s->sqlstate), "54000");
        failed = 1;
    }

    if (!failed && s->has_result_set) {
        if (da_result_describe(ctx, conn, out) != 0) {
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
    da_log(ctx, "statement id=%s key=%s db_user=%s status=%s "
           "duration_ms=%.3f rows=%lld size=%lld%s%s%s",
           s->id, s->access_key, s->db_user, da_status_name(s->status),
           s->duration_ns >= 0 ? (double) s->duration_ns / 1e6 : 0.0,
           (long long) s->result_rows, (long long) s->result_size,
           s->sqlstate[0] ? " sqlstate=" : "", s->sqlstate,
           s->session != NULL ? " session=1" : "");
}


/*
 * Ends a successful statement in one round trip: checks that it did not
 * leave its role (a division by zero if it did), then, outside sessions,
 * resets what DISCARD ALL would (which cannot run in a transaction) so
 * the pooled connection carries nothing to the next tenant, and commits.
 */
static int
da_commit(da_ctx_t *ctx, PGconn *conn, da_stmt_t *s)
{
    static const char  reset[] =
        "; close all; reset all; deallocate all; unlisten *;"
        " select pg_catalog.pg_advisory_unlock_all(); discard plans;"
        " discard temp; discard sequences";
    PGresult     *res;
    char         *role, *sql;
    size_t        len;
    int           failed, stage;

    (void) ctx;

    role = PQescapeLiteral(conn, s->db_user, strlen(s->db_user));
    if (role == NULL) {
        da_set_error(s, NULL, PQerrorMessage(conn));
        return -1;
    }

    len = strlen(role) + sizeof(reset) + 128;
    sql = malloc(len);
    if (sql == NULL) {
        PQfreemem(role);
        s->error = strdup("ERROR: out of memory (SQLSTATE 53200)");
        return -1;
    }

    snprintf(sql, len, "select 1 / (current_user = %s)::int%s; commit",
             role, s->session == NULL ? reset : "");
    PQfreemem(role);

    failed = 0;
    stage = 0;

    if (!PQsendQuery(conn, sql)) {
        da_set_error(s, NULL, PQerrorMessage(conn));
        free(sql);
        return -1;
    }

    free(sql);

    while ((res = PQgetResult(conn)) != NULL) {
        if (!failed && !da_exec_ok(conn, res)) {
            failed = 1;
            da_set_error(s, res, PQerrorMessage(conn));

            if (stage == 0) {
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
    }

    return failed ? -1 : 0;
}


/*
 * begin, then set_config('role', $1, true) with the db user as a bound
 * parameter, in one round trip (a libpq pipeline).
 */
static int
da_begin(PGconn *conn, da_stmt_t *s, const char *timeout)
{
    PGresult        *res;
    ExecStatusType   st;
    const char      *values[2];
    int              failed, n;

    values[0] = s->db_user;
    values[1] = timeout;

    if (!PQenterPipelineMode(conn)
        || !PQsendQueryParams(conn, "begin", 0, NULL, NULL, NULL, NULL, 0)
        || !PQsendQueryParams(conn, "select set_config('role', $1, true),"
                              " set_config('statement_timeout', $2, true)",
                              2, NULL, values, NULL, NULL, 0)
        || !PQpipelineSync(conn))
    {
        da_set_error(s, NULL, PQerrorMessage(conn));
        PQexitPipelineMode(conn);
        return -1;
    }

    failed = 0;

    /* two queries (each ends with a NULL), then the sync */
    for (n = 0; n < 2; n++) {
        while ((res = PQgetResult(conn)) != NULL) {
            st = PQresultStatus(res);

            if (!failed && st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
                da_set_error(s, res, PQerrorMessage(conn));
                failed = 1;
            }

            PQclear(res);
        }
    }

    res = PQgetResult(conn);
    if (PQresultStatus(res) != PGRES_PIPELINE_SYNC && !failed) {
        da_set_error(s, res, PQerrorMessage(conn));
        failed = 1;
    }

    PQclear(res);

    if (!PQexitPipelineMode(conn) && !failed) {
        da_set_error(s, NULL, PQerrorMessage(conn));
        failed = 1;
    }

    return failed ? -1 : 0;
}


/* Runs a statement or a batch in one transaction as its db user. */
static void
da_run(da_worker_t *w, da_stmt_t *s)
{
    da_ctx_t      *ctx = w->ctx;
    PGconn        *conn, **slot;
    PGresult      *res;
    PGcancel      *cancel;
    char           timeout[32], *reason;
    da_stmt_t     *cur, *failed_sub;
    da_status_e    final;
    int            i, n, rc, in_tx, started;

    clock_gettime(CLOCK_MONOTONIC, &s->started);
    started = 0;

    slot = s->session != NULL ? &s->session->conn : &w->conn;

    if (*slot != NULL && PQstatus(*slot) != CONNECTION_OK) {
        PQfinish(*slot);
        *slot = NULL;
    }

    if (*slot == NULL) {
        *slot = da_connect(ctx);
    }

    conn = *slot;
    in_tx = 0;
    cancel = NULL;
    failed_sub = NULL;
    reason = NULL;
    final = DA_FAILED;

    if (conn == NULL) {
        s->error = strdup("ERROR: could not connect to the database "
                          "(SQLSTATE 08006)");
        goto done;
    }

    rc = da_role_check(ctx, conn, s->db_user, &reason);

    if (rc < 0) {
        da_set_error(s, NULL, "could not check the db user");
        goto done;
    }

    if (rc == 0) {
        s->error = reason;
        snprintf(s->sqlstate, sizeof(s->sqlstate), "28000");
        goto done;
    }

    snprintf(timeout, sizeof(timeout), "%ld", ctx->statement_timeout * 1000);

    in_tx = 1;

    if (da_begin(conn, s, timeout) != 0) {
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

        rc = cur->unload != NULL ? da_unload_run(ctx, conn, cur)
                                 : da_run_sql(ctx, conn, cur, cancel);

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
        if (da_commit(ctx, conn, s) != 0) {
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

    if (in_tx) {
        res = PQexec(conn, "rollback");
        PQclear(res);
    }

    if (conn != NULL && s->session == NULL && started) {
        /* prepared statements and advisory locks outlive a rollback */
        res = PQexec(conn, "discard all");
        PQclear(res);
    }

    pthread_mutex_lock(&ctx->lock);

    s->cancel = NULL;

    if (final == DA_FAILED && s->cancel_requested
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
}
