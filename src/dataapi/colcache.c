/*
 * What the catalog says of a table's column (its schema, table, default
 * and not-null), kept per db user for --describe-cache-seconds so that a
 * statement whose columns were described a moment ago needs no catalog
 * query.  That query (result.c, da_result_describe_sql) is a join of four
 * catalogs planned afresh each time: under a steady load of one query,
 * about as much of PostgreSQL's time as the query itself.
 *
 * Keyed by (db user, relation, column number), so that one user's answer
 * never stands for another's (pg_get_expr() renders a default by that
 * session's search_path).  An entry is taken as long as it is younger
 * than --describe-cache-seconds (0: no cache); a statement of the daemon
 * whose command tag is CREATE, ALTER or DROP empties the cache, so only a
 * change made outside the daemon can be seen late, by at most that long.
 * A fixed table of DA_COLCACHE_SIZE entries, one per hash: a colliding
 * entry replaces the one there.  Its own lock, held for no I/O.
 */

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dataapi.h"


/* a default longer than this is asked for each time, not kept */
#define DA_COLCACHE_MAX_DEFAULT  512


struct da_colcache_entry_s {
    char             *user;          /* NULL: empty */
    Oid               rel;
    int               column;
    char             *schema;
    char             *table;
    char             *column_default;  /* or NULL */
    int               not_null;
    time_t            born;          /* CLOCK_MONOTONIC seconds */
};


static time_t
da_colcache_now(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);

    return ts.tv_sec;
}


static size_t
da_colcache_slot(const char *user, Oid rel, int column)
{
    uint64_t       h;
    const u_char  *p;

    /* FNV-1a */
    h = 14695981039346656037ULL;

    for (p = (const u_char *) user; *p != '\0'; p++) {
        h = (h ^ *p) * 1099511628211ULL;
    }

    h = (h ^ (uint64_t) rel) * 1099511628211ULL;
    h = (h ^ (uint64_t) (unsigned) column) * 1099511628211ULL;

    return (size_t) (h % DA_COLCACHE_SIZE);
}


/* The fresh entry of (user, rel, column), or NULL; under the lock. */
static da_colcache_entry_t *
da_colcache_find(da_ctx_t *ctx, const char *user, Oid rel, int column,
    time_t now)
{
    da_colcache_entry_t  *e;

    e = &ctx->colcache[da_colcache_slot(user, rel, column)];

    if (e->user == NULL || e->rel != rel || e->column != column
        || strcmp(e->user, user) != 0
        || now - e->born >= ctx->describe_cache_seconds)
    {
        return NULL;
    }

    return e;
}


static int
da_colcache_fresh(da_ctx_t *ctx, const char *user, Oid rel, int column,
    time_t now)
{
    int  found;

    pthread_mutex_lock(&ctx->colcache_lock);
    found = da_colcache_find(ctx, user, rel, column, now) != NULL;
    pthread_mutex_unlock(&ctx->colcache_lock);

    return found;
}


static void
da_colcache_clear_entry(da_colcache_entry_t *e)
{
    free(e->user);
    free(e->schema);
    free(e->table);
    free(e->column_default);
    memset(e, 0, sizeof(*e));
}


int
da_colcache_init(da_ctx_t *ctx)
{
    ctx->colcache = calloc(DA_COLCACHE_SIZE, sizeof(da_colcache_entry_t));
    if (ctx->colcache == NULL) {
        return -1;
    }

    if (pthread_mutex_init(&ctx->colcache_lock, NULL) != 0) {
        free(ctx->colcache);
        ctx->colcache = NULL;
        return -1;
    }

    return 0;
}


void
da_colcache_free(da_ctx_t *ctx)
{
    size_t  i;

    if (ctx->colcache == NULL) {
        return;
    }

    for (i = 0; i < DA_COLCACHE_SIZE; i++) {
        da_colcache_clear_entry(&ctx->colcache[i]);
    }

    free(ctx->colcache);
    ctx->colcache = NULL;
    pthread_mutex_destroy(&ctx->colcache_lock);
}


/*
 * Fills, from the cache, the columns of res that come straight from a
 * table and are not described yet.  Returns 1 when some such column is
 * left for the catalog query, 0 when none is.  Out of memory leaves a
 * column undescribed (the catalog query then describes it).
 */
int
da_colcache_fill(da_ctx_t *ctx, const char *user, da_result_t *res)
{
    int                   i, missing;
    time_t                now;
    da_column_t          *c;
    da_colcache_entry_t  *e;

    if (ctx->colcache == NULL || ctx->describe_cache_seconds <= 0) {
        return 1;
    }

    missing = 0;
    now = da_colcache_now();

    pthread_mutex_lock(&ctx->colcache_lock);

    for (i = 0; i < res->ncolumns; i++) {
        c = &res->columns[i];

        if (c->table == 0 || c->column <= 0 || c->schema != NULL) {
            continue;
        }

        e = da_colcache_find(ctx, user, c->table, c->column, now);

        if (e == NULL) {
            missing = 1;
            continue;
        }

        c->schema = strdup(e->schema);
        c->table_name = strdup(e->table);
        c->column_default = e->column_default != NULL
                            ? strdup(e->column_default) : NULL;
        c->not_null = e->not_null;

        if (c->schema == NULL || c->table_name == NULL
            || (e->column_default != NULL && c->column_default == NULL))
        {
            free(c->schema);
            free(c->table_name);
            free(c->column_default);
            c->schema = NULL;
            c->table_name = NULL;
            c->column_default = NULL;
            missing = 1;
        }
    }

    pthread_mutex_unlock(&ctx->colcache_lock);

    return missing;
}


/* Keeps what the catalog query said of res's described columns. */
void
da_colcache_put(da_ctx_t *ctx, const char *user, const da_result_t *res)
{
    int                   i;
    time_t                now;
    da_colcache_entry_t  *e, fresh, old;
    const da_column_t    *c;

    if (ctx->colcache == NULL || ctx->describe_cache_seconds <= 0) {
        return;
    }

    now = da_colcache_now();

    for (i = 0; i < res->ncolumns; i++) {
        c = &res->columns[i];

        if (c->table == 0 || c->column <= 0 || c->schema == NULL
            || c->table_name == NULL
            || (c->column_default != NULL
                && strlen(c->column_default) > DA_COLCACHE_MAX_DEFAULT))
        {
            continue;
        }

        /*
         * A fresh entry of this column is where the column came from
         * (da_colcache_fill() took it): kept as it is, so that a column
         * described by the catalog once is not taken for more than
         * --describe-cache-seconds however often it is used.
         */
        if (da_colcache_fresh(ctx, user, c->table, c->column, now)) {
            continue;
        }

        /* copies made outside the lock */
        memset(&fresh, 0, sizeof(fresh));
        fresh.user = strdup(user);
        fresh.schema = strdup(c->schema);
        fresh.table = strdup(c->table_name);
        fresh.column_default = c->column_default != NULL
                               ? strdup(c->column_default) : NULL;

        if (fresh.user == NULL || fresh.schema == NULL || fresh.table == NULL
            || (c->column_default != NULL && fresh.column_default == NULL))
        {
            da_colcache_clear_entry(&fresh);
            continue;
        }

        fresh.rel = c->table;
        fresh.column = c->column;
        fresh.not_null = c->not_null;
        fresh.born = now;

        pthread_mutex_lock(&ctx->colcache_lock);
        e = &ctx->colcache[da_colcache_slot(user, c->table, c->column)];
        /* the replaced entry's strings are freed after the lock */
        old = *e;
        *e = fresh;
        pthread_mutex_unlock(&ctx->colcache_lock);

        da_colcache_clear_entry(&old);
    }
}


/*
 * A statement's command tag: CREATE, ALTER and DROP may have changed
 * what the cache holds (a table renamed, a default or NOT NULL changed,
 * a relation dropped and its number used again), so every entry goes.
 */
void
da_colcache_saw(da_ctx_t *ctx, const char *tag)
{
    size_t  i;

    if (ctx->colcache == NULL || tag == NULL
        || (strncmp(tag, "CREATE", 6) != 0 && strncmp(tag, "ALTER", 5) != 0
            && strncmp(tag, "DROP", 4) != 0))
    {
        return;
    }

    pthread_mutex_lock(&ctx->colcache_lock);

    for (i = 0; i < DA_COLCACHE_SIZE; i++) {
        da_colcache_clear_entry(&ctx->colcache[i]);
    }

    pthread_mutex_unlock(&ctx->colcache_lock);
}
