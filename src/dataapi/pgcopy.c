/*
 * COPY to or from the client in a caller's statement: COPY ... TO STDOUT,
 * COPY ... FROM STDIN.  The Data API has no channel for either (Redshift
 * refuses both; its bulk paths are UNLOAD and COPY FROM 's3://...'), and
 * libpq, once in a COPY state, answers every PQgetResult() with the same
 * COPY result until the copy ends: a result loop that does not end it
 * never returns, and the worker thread and its connection are lost.
 *
 * da_pg_copy_end() ends it in the way that keeps the connection: COPY IN
 * is ended with an error message of ours (PostgreSQL fails the statement
 * and the transaction, which the caller rolls back); COPY OUT is read to
 * its end and the rows dropped, within the statement's time bound, since
 * a cancel sent now could reach the connection's next statement instead.
 * The caller then goes on reading results up to NULL as usual.
 */

#include <libpq-fe.h>

#include "dataapi.h"


/* Returns 1 when res was a COPY state (now ended), else 0. */
int
da_pg_copy_end(PGconn *conn, PGresult *res)
{
    char            *buf;
    ExecStatusType   st;

    st = PQresultStatus(res);

    if (st != PGRES_COPY_IN && st != PGRES_COPY_OUT && st != PGRES_COPY_BOTH) {
        return 0;
    }

    if (st != PGRES_COPY_OUT) {
        /* -1 only when the connection is gone: PQgetResult() says so */
        (void) PQputCopyEnd(conn, "COPY from the client is not supported "
                                  "by the Data API");
    }

    if (st != PGRES_COPY_IN) {
        /* -1 at the end of the rows, -2 on a failure: either ends it */
        while (PQgetCopyData(conn, &buf, 0) > 0) {
            PQfreemem(buf);
        }
    }

    return 1;
}
