/*
 * A single statement's first round trip: begin, the statement's time
 * bound and the statement itself, sent as one libpq pipeline (extended
 * protocol, one Sync) instead of "begin; set local statement_timeout"
 * and then the statement, each waited for.  PostgreSQL runs the three in
 * order in the one transaction, as before: when begin or the time bound
 * fails, the statement is not run (PGRES_PIPELINE_ABORTED).
 *
 * The caller (worker.c) sends with da_pipe_send(), reads the prelude's
 * two results with da_pipe_prelude(), then the statement's results as
 * usual up to NULL, and ends with da_pipe_end(), after which the
 * connection is out of pipeline mode for the commit.
 *
 * Not for COPY: libpq has no COPY in pipeline mode, and a COPY to or from
 * the client must be ended by the ordinary path (pgcopy.c).  Whether a
 * statement may run one is told by its text: the word COPY anywhere in
 * it (a comment or a literal included) sends it the ordinary way.  COPY
 * is a reserved word, so no spelling of an identifier (U&"..." or a
 * quoted name) is the command, and PL/pgSQL refuses COPY to or from the
 * client, so text without the word cannot run one.
 */

#include <stdio.h>
#include <strings.h>

#include <libpq-fe.h>

#include "dataapi.h"


/* Returns 1 when the text holds the word COPY in any case, else 0. */
int
da_pipe_may_copy(const char *sql)
{
    const char  *p;

    for (p = sql; *p != '\0'; p++) {
        if ((*p == 'c' || *p == 'C') && strncasecmp(p, "copy", 4) == 0) {
            return 1;
        }
    }

    return 0;
}


/*
 * Sends begin, set_config('statement_timeout', timeout, true) and the
 * statement with its values, then the Sync (single-row mode is the
 * caller's, once the statement is libpq's current query).  Returns 0, or -1 with s->error set (the connection left in pipeline
 * mode is for da_pipe_end() all the same).
 */
int
da_pipe_send(PGconn *conn, da_stmt_t *s, long timeout_ms)
{
    char         timeout[32];
    const char  *values[1];

    if (!PQenterPipelineMode(conn)) {
        da_set_error(s, NULL, PQerrorMessage(conn));
        return -1;
    }

    snprintf(timeout, sizeof(timeout), "%ld", timeout_ms);
    values[0] = timeout;

    if (!PQsendQueryParams(conn, "begin", 0, NULL, NULL, NULL, NULL, 0)
        || !PQsendQueryParams(conn, "select pg_catalog.set_config("
                              "'statement_timeout', $1, true)",
                              1, NULL, values, NULL, NULL, 0)
        || !PQsendQueryParams(conn, s->bound_sql, s->nvalues, NULL,
                              (const char * const *) s->values, NULL, NULL,
                              0)
        || !PQpipelineSync(conn))
    {
        da_set_error(s, NULL, PQerrorMessage(conn));
        return -1;
    }

    return 0;
}


/*
 * Reads the results of begin and of the time bound, each up to its NULL.
 * Returns 0 when both succeeded, else -1 with s->error set (the
 * statement's results are then PGRES_PIPELINE_ABORTED, to be read all
 * the same).
 */
int
da_pipe_prelude(PGconn *conn, da_stmt_t *s)
{
    PGresult        *res;
    ExecStatusType   st;
    int              i, failed;

    failed = 0;

    for (i = 0; i < 2; i++) {
        while ((res = PQgetResult(conn)) != NULL) {
            st = PQresultStatus(res);

            if (!failed && st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
                da_set_error(s, res, PQerrorMessage(conn));
                failed = 1;
            }

            PQclear(res);
        }

        if (PQstatus(conn) != CONNECTION_OK) {
            if (!failed) {
                da_set_error(s, NULL, PQerrorMessage(conn));
            }

            return -1;
        }
    }

    return failed ? -1 : 0;
}


/*
 * After the statement's results: reads the Sync's result and leaves
 * pipeline mode.  Returns 0, or -1 when the connection cannot be used
 * for the commit (s->error set if it was not yet).
 */
int
da_pipe_end(PGconn *conn, da_stmt_t *s)
{
    PGresult  *res;
    int        synced, nulls;

    synced = 0;
    nulls = 0;

    /*
     * Whatever is left before the Sync: nothing after a normal read.  Two
     * NULLs in a row mean libpq has nothing more to give.
     */
    while (!synced && nulls < 2 && PQstatus(conn) == CONNECTION_OK) {
        res = PQgetResult(conn);

        if (res == NULL) {
            nulls++;
            continue;
        }

        nulls = 0;
        synced = PQresultStatus(res) == PGRES_PIPELINE_SYNC;
        PQclear(res);
    }

    if (!synced || !PQexitPipelineMode(conn)) {
        if (s->error == NULL) {
            da_set_error(s, NULL, PQerrorMessage(conn));
        }

        return -1;
    }

    return 0;
}
