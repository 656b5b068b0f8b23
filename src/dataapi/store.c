/*
 * The statement store: every statement by id (and by ClientToken), in
 * creation order for ListStatements, with its lifecycle, reference counts,
 * retention, the memory bound and the sessions. Everything here runs
 * under ctx->lock unless the name says otherwise.
 *
 * The memory bound (--max-retained-bytes) counts the results kept plus
 * the results being built: a worker reserves its growth in chunks before
 * it allocates; past the bound the oldest finished statements go first,
 * and if that is not enough the growth is refused and the statement fails.
 */

#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "dataapi.h"


static unsigned da_hash(const char *s);
static void da_stmt_free(da_stmt_t *s);
static void da_store_remove_locked(da_ctx_t *ctx, da_stmt_t *s);
static size_t da_stmt_bytes(const da_stmt_t *s);
static int da_store_evict_locked(da_ctx_t *ctx, size_t want);
static da_stmt_t *da_store_youngest_locked(da_ctx_t *ctx, da_stmt_t *s);


static const char  *da_status_names[] = {
    "SUBMITTED", "PICKED", "STARTED", "FINISHED", "FAILED", "ABORTED"
};


const char *
da_status_name(da_status_e status)
{
    return da_status_names[status];
}


int
da_is_terminal(da_status_e status)
{
    return status == DA_FINISHED || status == DA_FAILED
           || status == DA_ABORTED;
}


void
da_uuid(char *out)
{
    u_char  b[16];
    int     i, n;
    static const char  hex[] = "0123456789abcdef";

    if (RAND_bytes(b, sizeof(b)) != 1) {
        /* RAND_bytes() failing means no entropy: refuse to continue */
        abort();
    }

    b[6] = (u_char) ((b[6] & 0x0f) | 0x40);
    b[8] = (u_char) ((b[8] & 0x3f) | 0x80);

    n = 0;
    for (i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10) {
            out[n++] = '-';
        }

        out[n++] = hex[b[i] >> 4];
        out[n++] = hex[b[i] & 0xf];
    }

    out[n] = '\0';
}


static unsigned
da_hash(const char *s)
{
    unsigned  h = 2166136261u;

    while (*s) {
        h = (h ^ (u_char) *s++) * 16777619u;
    }

    return h % DA_HASH_SIZE;
}


da_stmt_t *
da_stmt_new(void)
{
    da_stmt_t  *s;

    s = calloc(1, sizeof(da_stmt_t));
    if (s == NULL) {
        return NULL;
    }

    if (pthread_cond_init(&s->state_cond, NULL) != 0) {
        free(s);
        return NULL;
    }

    s->refs = 1;
    s->duration_ns = -1;
    s->result_rows = -1;
    s->result_size = -1;
    s->created_at = da_now();
    s->updated_at = s->created_at;

    return s;
}


static void
da_stmt_free(da_stmt_t *s)
{
    int  i;

    for (i = 0; i < s->nsubs; i++) {
        da_stmt_free(s->subs[i]);
    }

    free(s->subs);
    free(s->sql);
    free(s->statement_name);
    free(s->db_user);
    free(s->database);
    free(s->cluster);
    free(s->workgroup);
    free(s->secret_arn);
    free(s->access_key);
    free(s->key_id);
    free(s->client_token);
    free(s->error);
    free(s->bound_sql);
    da_unload_free(s->unload);
    da_copy_free(s->copy);

    for (i = 0; i < s->nvalues; i++) {
        free(s->values[i]);
    }

    free(s->values);
    json_decref(s->parameters);
    da_result_free(s->result);

    if (s->cancel != NULL) {
        PQfreeCancel(s->cancel);
    }

    pthread_cond_destroy(&s->state_cond);
    free(s);
}


void
da_stmt_unref_locked(da_ctx_t *ctx, da_stmt_t *s)
{
    if (--s->refs > 0) {
        return;
    }

    if (s->session != NULL) {
        da_session_unref_locked(ctx, s->session);
        s->session = NULL;
    }

    da_stmt_free(s);
}


void
da_stmt_unref(da_ctx_t *ctx, da_stmt_t *s)
{
    pthread_mutex_lock(&ctx->lock);
    da_stmt_unref_locked(ctx, s);
    pthread_mutex_unlock(&ctx->lock);
}


void
da_store_add_locked(da_ctx_t *ctx, da_stmt_t *s)
{
    unsigned  h;

    s->seq = ++ctx->seq;
    s->refs++;                       /* the store's reference */

    h = da_hash(s->id);
    s->hash_next = ctx->by_id[h];
    ctx->by_id[h] = s;

    if (s->client_token != NULL) {
        h = da_hash(s->client_token);
        s->token_next = ctx->by_token[h];
        ctx->by_token[h] = s;
    }

    s->all_prev = ctx->all_tail;
    s->all_next = NULL;

    if (ctx->all_tail != NULL) {
        ctx->all_tail->all_next = s;

    } else {
        ctx->all_head = s;
    }

    ctx->all_tail = s;
    ctx->nstatements++;
}


static void
da_store_remove_locked(da_ctx_t *ctx, da_stmt_t *s)
{
    da_stmt_t  **pp;

    for (pp = &ctx->by_id[da_hash(s->id)]; *pp != NULL;
         pp = &(*pp)->hash_next)
    {
        if (*pp == s) {
            *pp = s->hash_next;
            break;
        }
    }

    if (s->client_token != NULL) {
        for (pp = &ctx->by_token[da_hash(s->client_token)]; *pp != NULL;
             pp = &(*pp)->token_next)
        {
            if (*pp == s) {
                *pp = s->token_next;
                break;
            }
        }
    }

    if (s->all_prev != NULL) {
        s->all_prev->all_next = s->all_next;

    } else {
        ctx->all_head = s->all_next;
    }

    if (s->all_next != NULL) {
        s->all_next->all_prev = s->all_prev;

    } else {
        ctx->all_tail = s->all_prev;
    }

    ctx->nstatements--;

    if (da_is_terminal(s->status)) {
        ctx->retained_bytes -= da_stmt_bytes(s);
        pthread_cond_broadcast(&ctx->mem_cond);
    }

    da_stmt_unref_locked(ctx, s);
}


/* Looks up "id" or a sub-statement "id:n"; only the owner's key sees it. */
da_stmt_t *
da_store_find_locked(da_ctx_t *ctx, const char *id, const char *access_key)
{
    da_stmt_t   *s;
    char         base[DA_ID_SIZE];
    const char  *colon;
    long         n;
    char        *end;

    colon = strchr(id, ':');
    if (strlen(id) >= DA_ID_SIZE) {
        return NULL;
    }

    strcpy(base, id);
    n = 0;

    if (colon != NULL) {
        base[colon - id] = '\0';
        n = strtol(colon + 1, &end, 10);
        if (*end != '\0' || n < 1 || colon[1] == '0') {
            return NULL;
        }
    }

    for (s = ctx->by_id[da_hash(base)]; s != NULL; s = s->hash_next) {
        if (strcmp(s->id, base) == 0
            && strcmp(s->access_key, access_key) == 0)
        {
            break;
        }
    }

    if (s == NULL || colon == NULL) {
        return s;
    }

    if (!s->is_batch || n > s->nsubs) {
        return NULL;
    }

    return s->subs[n - 1];
}


da_stmt_t *
da_store_find_token_locked(da_ctx_t *ctx, const char *token,
    const char *access_key)
{
    da_stmt_t  *s;

    for (s = ctx->by_token[da_hash(token)]; s != NULL; s = s->token_next) {
        if (strcmp(s->client_token, token) == 0
            && strcmp(s->access_key, access_key) == 0)
        {
            return s;
        }
    }

    return NULL;
}


static size_t
da_stmt_bytes(const da_stmt_t *s)
{
    size_t  n;
    int     i;

    /* what a retained statement costs, roughly: itself, its text, result */
    n = sizeof(da_stmt_t) + (s->sql != NULL ? strlen(s->sql) : 0)
        + (s->bound_sql != NULL ? strlen(s->bound_sql) : 0);

    if (s->result != NULL) {
        n += da_result_bytes(s->result);
    }

    for (i = 0; i < s->nsubs; i++) {
        n += da_stmt_bytes(s->subs[i]);
    }

    return n;
}


/* Drops the oldest finished statements until want more bytes fit. */
static int
da_store_evict_locked(da_ctx_t *ctx, size_t want)
{
    da_stmt_t  *s, *next;

    for (s = ctx->all_head; s != NULL; s = next) {
        if (ctx->retained_bytes + ctx->building_bytes + want
            <= ctx->max_retained_bytes)
        {
            return 0;
        }

        next = s->all_next;

        if (da_is_terminal(s->status)) {
            da_store_remove_locked(ctx, s);
        }
    }

    return ctx->retained_bytes + ctx->building_bytes + want
           <= ctx->max_retained_bytes ? 0 : -1;
}


/* The statement that started last among those building a result. */
static da_stmt_t *
da_store_youngest_locked(da_ctx_t *ctx, da_stmt_t *s)
{
    da_stmt_t  *cur, *young;
    int         i;

    young = s;

    for (i = 0; ctx->worker != NULL && i < ctx->workers; i++) {
        cur = ctx->worker[i].current;

        if (cur != NULL && cur->reserved > 0
            && cur->query_id > young->query_id)
        {
            young = cur;
        }
    }

    return young;
}


/*
 * The da_budget_pt of a statement's results (data: a da_budget_t): counts
 * what they hold and reserves it from the memory bound in chunks, so the
 * lock is taken once per chunk, not per row. When the bound is reached
 * and no finished result can go, the statement that started last fails
 * (its reservation goes back at once) and the older ones wait for it, at
 * most 2 s: concurrent large results do not all fail together. Called by
 * the worker, without the lock.
 */
int
da_store_budget(void *data, size_t old_bytes, size_t new_bytes)
{
    da_budget_t      *b = data;
    da_stmt_t        *s = b->stmt;
    da_ctx_t         *ctx = b->ctx;
    struct timespec   deadline;
    size_t            chunk, want, need;
    int               rc, waited;

    if (new_bytes < old_bytes) {
        s->used -= old_bytes - new_bytes < s->used ? old_bytes - new_bytes
                                                   : s->used;
        return 0;
    }

    s->used += new_bytes - old_bytes;

    if (s->used <= s->reserved) {
        return 0;
    }

    chunk = ctx->max_retained_bytes / 64;
    chunk = chunk < 65536 ? 65536 : chunk > 1048576 ? 1048576 : chunk;
    need = s->used - s->reserved;
    want = (need + chunk - 1) / chunk * chunk;
    waited = 0;

    pthread_mutex_lock(&ctx->lock);

    for ( ;; ) {
        rc = da_store_evict_locked(ctx, want);

        if (rc != 0 && da_store_evict_locked(ctx, need) == 0) {
            /* less than a chunk is left: take exactly what is needed */
            want = need;
            rc = 0;
        }

        if (rc == 0 || ctx->stopping || waited
            || da_store_youngest_locked(ctx, s) == s)
        {
            break;
        }

        clock_gettime(CLOCK_REALTIME, &deadline);
        deadline.tv_sec += 2;

        while (!ctx->stopping
               && pthread_cond_timedwait(&ctx->mem_cond, &ctx->lock,
                                         &deadline) == 0)
        {
            if (ctx->retained_bytes + ctx->building_bytes + need
                <= ctx->max_retained_bytes)
            {
                break;
            }
        }

        waited = 1;
    }

    if (rc == 0) {
        ctx->building_bytes += want;
        s->reserved += want;

    } else {
        s->used -= new_bytes - old_bytes;
    }

    pthread_mutex_unlock(&ctx->lock);

    return rc;
}


/*
 * A statement ends, or its result was refused: its reservation goes back
 * (before the bytes it keeps are counted).
 */
void
da_store_release_locked(da_ctx_t *ctx, da_stmt_t *s)
{
    if (s->reserved > 0) {
        ctx->building_bytes -= s->reserved;
        pthread_cond_broadcast(&ctx->mem_cond);
    }

    s->reserved = 0;
    s->used = 0;
}


void
da_store_set_status_locked(da_ctx_t *ctx, da_stmt_t *s, da_status_e status)
{
    s->status = status;
    s->updated_at = da_now();

    if (da_is_terminal(status) && s->parent == NULL && !s->internal) {
        ctx->retained_bytes += da_stmt_bytes(s);
    }

    /*
     * Only the long polls on this statement (a batch's are on its parent)
     * wake: one condition for all would wake every waiting request at
     * every change of any statement.  They wait for its end (ops.c
     * da_wait_locked()), so the steps before it (picked, started) wake
     * nobody: two fewer hand-offs to a waiting connection's thread per
     * statement.
     */
    if (!da_is_terminal(status)) {
        return;
    }

    pthread_cond_broadcast(&s->state_cond);

    if (s->parent != NULL) {
        pthread_cond_broadcast(&s->parent->state_cond);
    }
}


/*
 * Drops finished statements past their retention, then the oldest
 * finished ones while the store holds more than max_statements or
 * max_retained_bytes; closes expired sessions. all: drop everything
 * (shutdown).
 */
void
da_store_reap(da_ctx_t *ctx, int all)
{
    da_stmt_t     *s, *next;
    da_session_t  *se, **pp, *expired;
    PGconn        *conn;
    double         now;
    time_t         t;

    expired = NULL;
    now = da_now();
    t = time(NULL);

    pthread_mutex_lock(&ctx->lock);

    for (s = ctx->all_head; s != NULL; s = next) {
        next = s->all_next;

        if (!da_is_terminal(s->status)) {
            continue;
        }

        if (all || s->updated_at + (double) ctx->retention <= now
            || ctx->nstatements > ctx->max_statements
            || ctx->retained_bytes > ctx->max_retained_bytes)
        {
            da_store_remove_locked(ctx, s);
            continue;
        }

        /*
         * The list is in the order statements came: the first finished
         * one still within its retention, with the store within its
         * bounds, ends the walk, which would otherwise go over every
         * retained statement (up to --max-statements) under the lock once
         * a second. One that came later but finished earlier waits for
         * the next walk past this one: kept longer than its retention by
         * at most the length of this statement, never past the bounds.
         */
        break;
    }

    for (pp = &ctx->sessions; *pp != NULL; ) {
        se = *pp;

        if (!se->busy && (all || se->expires <= t)) {
            *pp = se->next;
            ctx->nsessions--;
            se->next = expired;
            expired = se;
            continue;
        }

        pp = &se->next;
    }

    /* a statement still referencing a closed session only reads its id */
    for (se = expired; se != NULL; se = se->next) {
        se->refs++;
    }

    /* the db users that hold nothing any more */
    da_users_sweep_locked(ctx);

    pthread_mutex_unlock(&ctx->lock);

    while (expired != NULL) {
        se = expired;
        expired = se->next;

        pthread_mutex_lock(&ctx->lock);
        conn = se->pconn != NULL ? da_pool_close_locked(ctx, se->pconn)
                                 : NULL;
        se->pconn = NULL;
        pthread_mutex_unlock(&ctx->lock);

        PQfinish(conn);

        pthread_mutex_lock(&ctx->lock);
        da_session_unref_locked(ctx, se);     /* the list's reference */
        da_session_unref_locked(ctx, se);     /* ours */
        pthread_mutex_unlock(&ctx->lock);
    }
}


da_session_t *
da_session_find_locked(da_ctx_t *ctx, const char *id, const char *access_key)
{
    da_session_t  *se;

    for (se = ctx->sessions; se != NULL; se = se->next) {
        if (strcmp(se->id, id) == 0
            && strcmp(se->access_key, access_key) == 0)
        {
            return se;
        }
    }

    return NULL;
}


void
da_session_unref_locked(da_ctx_t *ctx, da_session_t *se)
{
    if (--se->refs > 0) {
        return;
    }

    if (se->pconn != NULL) {
        /* only at shutdown: a closing session's connection goes first */
        PQfinish(da_pool_close_locked(ctx, se->pconn));
    }

    if (se->user != NULL) {
        se->user->nsessions--;
    }

    free(se->db_user);
    free(se->secret_arn);
    free(se->access_key);
    free(se);
}


void *
da_reaper_main(void *arg)
{
    da_ctx_t         *ctx = arg;
    struct timespec   ts;
    int               stopping;

    for ( ;; ) {
        pthread_mutex_lock(&ctx->lock);

        if (!ctx->stopping) {
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_sec += 1;
            pthread_cond_timedwait(&ctx->reaper_cond, &ctx->lock, &ts);
        }

        stopping = ctx->stopping;
        pthread_mutex_unlock(&ctx->lock);

        if (stopping) {
            break;
        }

        da_watchdog(ctx);
        da_store_reap(ctx, 0);
        da_pool_reap(ctx, 0);
        da_exports_sweep(ctx, time(NULL));
    }

    return NULL;
}


void
da_store_free(da_ctx_t *ctx)
{
    size_t  i;

    da_store_reap(ctx, 1);

    /* statements that never ran (shutdown with a full queue) */
    pthread_mutex_lock(&ctx->lock);

    while (ctx->all_head != NULL) {
        da_store_remove_locked(ctx, ctx->all_head);
    }

    pthread_mutex_unlock(&ctx->lock);

    da_pool_reap(ctx, 1);

    pthread_mutex_lock(&ctx->lock);
    da_users_sweep_locked(ctx);
    pthread_mutex_unlock(&ctx->lock);

    for (i = 0; i < ctx->ntypes; i++) {
        free(ctx->types[i].name);
    }

    free(ctx->types);
}
