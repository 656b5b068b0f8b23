/*
 * Whether a connection kept open (idle in the pool, or the administrative
 * one) is still there.  A connection PostgreSQL closed while it was idle
 * (a restart, pg_terminate_backend(), an idle timeout) shows only when it
 * is used: PQstatus() stays CONNECTION_OK, and the next statement on it
 * would fail.  An idle connection is sent nothing unasked (this daemon
 * never LISTENs), except the server's last words (a FATAL message, then
 * the end of the stream): anything to read on one, or a hang-up, means
 * that it is going.  One poll(), no wait.
 */

#include <poll.h>

#include <libpq-fe.h>

#include "dataapi.h"


/* 1 when conn is up and idle outside a transaction, else 0. */
int
da_pg_alive(PGconn *conn)
{
    struct pollfd  pfd;

    if (conn == NULL || PQstatus(conn) != CONNECTION_OK
        || PQtransactionStatus(conn) != PQTRANS_IDLE)
    {
        return 0;
    }

    pfd.fd = PQsocket(conn);
    pfd.events = POLLIN;
    pfd.revents = 0;

    return pfd.fd >= 0 && poll(&pfd, 1, 0) == 0;
}
