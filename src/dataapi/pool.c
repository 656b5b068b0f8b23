/*
 * Connection pools per database user. Every tenant connection logs in AS
 * the db user (the --pg host, port and database, the user's own name and
 * password, passed as PQconnectdbParams() values, never spliced into a
 * conninfo string), so PostgreSQL itself decides what a statement may do.
 *
 * Bounds: --pool-per-user pooled connections of one user (idle or busy),
 * --pool-max in all, sessions' own connections included (each session
 * pins one; --max-sessions-per-user bounds them); an idle connection
 * closes after --pool-idle-seconds; when the total is reached, the least
 * recently used idle connection (of any user) makes room. The scheduler
 * (sched.c) only hands a statement to a worker once its connection is
 * secured: an idle one, or a reserved slot the worker opens outside the
 * lock.
 *
 * Everything *_locked runs under ctx->lock; connections are opened and
 * closed (PQfinish) outside it.
 */

#include <stdlib.h>
#include <string.h>

#include "dataapi.h"


static void da_idle_unlink_locked(da_ctx_t *ctx, da_pconn_t *pc);
static PGconn *da_pool_connect(da_ctx_t *ctx, const char *user,
    const char *password);
static void da_login_error(PGconn *conn, char *err, size_t errlen,
    char *sqlstate);


/*
 * The tenant connection parameters: those of --pg but user, password,
 * passfile, application_name and options, which each connection sets.
 */
int
da_pool_init(da_ctx_t *ctx)
{
    static const char  *own[] = {
        "user", "password", "passfile", "application_name", "options",
        "connect_timeout", NULL
    };
    PQconninfoOption   *opts, *o;
    char               *errmsg;
    size_t              n;
    int                 i;

    opts = PQconninfoParse(ctx->pg_conninfo, &errmsg);
    if (opts == NULL) {
        fprintf(stderr, "spectra-dataapi: --pg: %s\n",
                errmsg != NULL ? errmsg : "out of memory");
        PQfreemem(errmsg);
        return -1;
    }

    n = 0;
    for (o = opts; o->keyword != NULL; o++) {
        n++;
    }

    ctx->tenant_options = opts;
    ctx->tenant_keys = calloc(n + 8, sizeof(char *));
    ctx->tenant_values = calloc(n + 8, sizeof(char *));
    if (ctx->tenant_keys == NULL || ctx->tenant_values == NULL) {
        return -1;
    }

    n = 0;

    for (o = opts; o->keyword != NULL; o++) {
        if (o->val == NULL || o->val[0] == '\0') {
            continue;
        }

        for (i = 0; own[i] != NULL; i++) {
            if (strcmp(o->keyword, own[i]) == 0) {
                break;
            }
        }

        if (own[i] == NULL) {
            ctx->tenant_keys[n] = o->keyword;
            ctx->tenant_values[n] = o->val;
            n++;
        }
    }

    /*
     * Startup options, not SET: they are what RESET ALL and DISCARD ALL
     * return to, and they outrank the role's and the database's defaults,
     * which a tenant may set for itself (ALTER ROLE me SET ...). Redshift
     * answers in UTC; bytea in hex so blobs decode. The text is read as
     * the SQL policy in front read it: UTF-8 (the Data API's JSON; under
     * SJIS a byte of a character can end a string) with standard
     * conforming strings.
     */
    ctx->tenant_keys[n] = "options";
    ctx->tenant_values[n++] = "-c TimeZone=UTC -c bytea_output=hex "
                              "-c client_encoding=UTF8 "
                              "-c standard_conforming_strings=on";
    ctx->tenant_keys[n] = "application_name";
    ctx->tenant_values[n++] = "spectra-dataapi";
    ctx->tenant_keys[n] = "connect_timeout";
    ctx->tenant_values[n++] = "10";
    /* user and password go into the two slots after these */
    ctx->tenant_keys[n] = "user";
    ctx->tenant_keys[n + 1] = "password";

    return 0;
}


static PGconn *
da_pool_connect(da_ctx_t *ctx, const char *user, const char *password)
{
    const char  **values;
    PGconn       *conn;
    size_t        n, i;

    for (n = 0; strcmp(ctx->tenant_keys[n], "user") != 0; n++) {
        /* count */
    }

    values = calloc(n + 3, sizeof(char *));
    if (values == NULL) {
        return NULL;
    }

    for (i = 0; i < n; i++) {
        values[i] = ctx->tenant_values[i];
    }

    values[n] = user;
    values[n + 1] = password;

    /* expand_dbname 0: a dbname is a name, never more parameters */
    conn = PQconnectdbParams(ctx->tenant_keys, values, 0);
    free(values);

    return conn;
}


/* "FATAL: password authentication failed for user "x" (SQLSTATE 28P01)" */
static void
da_login_error(PGconn *conn, char *err, size_t errlen, char *sqlstate)
{
    static const struct {
        const char  *text;
        const char  *state;
    } known[] = {
        { "password authentication failed", "28P01" },
        { "too many connections", "53300" },
        { "is not permitted to log in", "28000" },
        { "permission denied for database", "42501" },
        { "does not exist", "28000" },
        { NULL, NULL }
    };
    const char  *msg, *p, *state;
    char         line[256];
    size_t       n;
    int          i;

    msg = conn != NULL ? PQerrorMessage(conn) : "out of memory";

    /* what the server said, without libpq's "connection to ... failed: " */
    p = strstr(msg, "FATAL:");
    if (p != NULL) {
        p += sizeof("FATAL:") - 1;
        while (*p == ' ') {
            p++;
        }

        msg = p;
    }

    snprintf(line, sizeof(line), "%s", msg);

    for (n = 0; line[n] != '\0'; n++) {
        if (line[n] == '\n' || line[n] == '\r') {
            line[n] = ' ';
        }
    }

    while (n > 0 && line[n - 1] == ' ') {
        line[--n] = '\0';
    }

    state = "08006";

    for (i = 0; known[i].text != NULL; i++) {
        if (strstr(line, known[i].text) != NULL) {
            state = known[i].state;
            break;
        }
    }

    snprintf(err, errlen, "%s: %s (SQLSTATE %s)",
             p != NULL ? "FATAL" : "ERROR", line, state);
    snprintf(sqlstate, 6, "%s", state);
}


/*
 * Opens a connection as u (its slot is reserved): the credentials, the
 * login (once more with a freshly minted password if a cached one is
 * refused), and the role's own statement_timeout, which bounds the
 * daemon's per statement. Returns NULL with err and sqlstate on failure;
 * the caller then gives the slot back.
 */
da_pconn_t *
da_pool_open(da_ctx_t *ctx, da_user_t *u, const char *secret_arn, char *err,
    size_t errlen, char *sqlstate)
{
    da_cred_t    cred;
    da_pconn_t  *pc;
    PGconn      *conn;
    PGresult    *res;
    unsigned     failed_gen;
    int          attempt;

    conn = NULL;
    failed_gen = 0;
    err[0] = '\0';

    for (attempt = 0; attempt < 2; attempt++) {
        if (da_credentials_get(ctx, u->name, secret_arn, failed_gen, &cred,
                               err, errlen, sqlstate) != 0)
        {
            return NULL;
        }

        conn = da_pool_connect(ctx, u->name, cred.password);
        da_cred_clear(&cred);

        if (conn != NULL && PQstatus(conn) == CONNECTION_OK) {
            break;
        }

        da_login_error(conn, err, errlen, sqlstate);
        PQfinish(conn);
        conn = NULL;

        if (cred.minted != 1) {
            break;
        }

        /* the cached password was refused (rotated, expired): mint again */
        da_log(ctx, "login as db user %s with its cached password failed: "
               "minting a new one", u->name);
        failed_gen = cred.gen;
    }

    if (conn == NULL) {
        da_log(ctx, "error: login as db user %s: %s", u->name, err);
        return NULL;
    }

    /* the role's statement_timeout in ms (ALTER ROLE ... SET), 0: none */
    res = PQexec(conn, "select setting from pg_catalog.pg_settings"
                       " where name = 'statement_timeout'");

    pc = calloc(1, sizeof(da_pconn_t));

    if (pc == NULL || PQresultStatus(res) != PGRES_TUPLES_OK
        || PQntuples(res) != 1)
    {
        snprintf(err, errlen, "ERROR: could not read the statement_timeout "
                 "of db user \"%.64s\" (SQLSTATE 08006)", u->name);
        snprintf(sqlstate, 6, "08006");
        PQclear(res);
        PQfinish(conn);
        free(pc);
        return NULL;
    }

    pc->role_timeout_ms = atol(PQgetvalue(res, 0, 0));
    pc->conn = conn;
    pc->user = u;
    PQclear(res);

    return pc;
}


static void
da_idle_unlink_locked(da_ctx_t *ctx, da_pconn_t *pc)
{
    if (pc->prev != NULL) {
        pc->prev->next = pc->next;

    } else {
        ctx->idle_head = pc->next;
    }

    if (pc->next != NULL) {
        pc->next->prev = pc->prev;

    } else {
        ctx->idle_tail = pc->prev;
    }

    pc->prev = NULL;
    pc->next = NULL;
}


/* The user's most recently used idle connection, or NULL. */
da_pconn_t *
da_pool_take_locked(da_ctx_t *ctx, da_user_t *u)
{
    da_pconn_t  *pc;

    for (pc = ctx->idle_tail; pc != NULL; pc = pc->prev) {
        if (pc->user == u) {
            da_idle_unlink_locked(ctx, pc);
            return pc;
        }
    }

    return NULL;
}


/*
 * Reserves a slot for a new connection of u (for a session: one it pins):
 * 1 if there is one (maybe by closing the least recently used idle
 * connection: *evicted, to be PQfinish()ed outside the lock), 0 if u or
 * the total is at its bound.
 */
int
da_pool_reserve_locked(da_ctx_t *ctx, da_user_t *u, int session,
    PGconn **evicted)
{
    da_pconn_t  *pc;

    *evicted = NULL;

    if (!session && u->nconns >= ctx->pool_per_user) {
        return 0;
    }

    if (ctx->nconns >= ctx->pool_max) {
        pc = ctx->idle_head;
        if (pc == NULL) {
            return 0;
        }

        da_idle_unlink_locked(ctx, pc);
        *evicted = da_pool_close_locked(ctx, pc);
    }

    if (!session) {
        u->nconns++;
    }

    ctx->nconns++;

    return 1;
}


void
da_pool_unreserve_locked(da_ctx_t *ctx, da_user_t *u, int session)
{
    if (!session) {
        u->nconns--;
    }

    ctx->nconns--;
}


/* Forgets a connection (not in the idle list); returns it to PQfinish(). */
PGconn *
da_pool_close_locked(da_ctx_t *ctx, da_pconn_t *pc)
{
    PGconn  *conn;

    conn = pc->conn;
    da_pool_unreserve_locked(ctx, pc->user, pc->session);
    free(pc);

    return conn;
}


/*
 * A statement is done with pc: back to the idle list if reuse (it was
 * reset and is idle outside a transaction), else closed: the PGconn to
 * PQfinish() outside the lock is returned.
 */
PGconn *
da_pool_release_locked(da_ctx_t *ctx, da_pconn_t *pc, int reuse)
{
    if (!reuse || ctx->stopping || ctx->pool_idle == 0) {
        return da_pool_close_locked(ctx, pc);
    }

    pc->idle_since = time(NULL);
    pc->next = NULL;
    pc->prev = ctx->idle_tail;

    if (ctx->idle_tail != NULL) {
        ctx->idle_tail->next = pc;

    } else {
        ctx->idle_head = pc;
    }

    ctx->idle_tail = pc;

    return NULL;
}


/* Closes idle connections past --pool-idle-seconds (all: every one). */
void
da_pool_reap(da_ctx_t *ctx, int all)
{
    da_pconn_t  *pc, *next;
    PGconn      *close[64];
    time_t       now;
    int          n, more;

    now = time(NULL);

    do {
        n = 0;
        more = 0;

        pthread_mutex_lock(&ctx->lock);

        for (pc = ctx->idle_head; pc != NULL; pc = next) {
            next = pc->next;

            if (!all && pc->idle_since + ctx->pool_idle > now) {
                /* the list is in release order: the rest are younger */
                break;
            }

            if (n == 64) {
                more = 1;
                break;
            }

            da_idle_unlink_locked(ctx, pc);
            close[n++] = da_pool_close_locked(ctx, pc);
        }

        if (n > 0) {
            /* room for a user that waits for a connection slot */
            pthread_cond_broadcast(&ctx->queue_cond);
        }

        pthread_mutex_unlock(&ctx->lock);

        while (n > 0) {
            PQfinish(close[--n]);
        }

    } while (more);
}


void
da_pool_free(da_ctx_t *ctx)
{
    da_pool_reap(ctx, 1);

    free(ctx->tenant_keys);
    free(ctx->tenant_values);
    PQconninfoFree(ctx->tenant_options);
    ctx->tenant_keys = NULL;
    ctx->tenant_values = NULL;
    ctx->tenant_options = NULL;
}
