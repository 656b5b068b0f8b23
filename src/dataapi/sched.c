/*
 * Fair scheduling across database users, and the statement watchdog.
 *
 * Each db user has its own FIFO queue; the users with queued statements
 * form a ring that the workers serve round-robin, one statement per user
 * per turn. A user runs at most --max-running-per-user statements at once
 * (default: all workers but one), so one tenant's long statements always
 * leave a worker to the others, and a user's statement is only handed to
 * a worker once its connection is secured (pool.c). Bounds: --queue
 * statements waiting in all, --queue-per-user per user; past either,
 * ActiveStatementsExceededException.
 *
 * The watchdog cancels (PostgreSQL's cancel protocol) a statement still
 * running one second past its deadline, which statement_timeout alone
 * does not guarantee: the tenant's SQL may SET its own.
 *
 * Everything *_locked runs under ctx->lock.
 */

#include <stdlib.h>
#include <string.h>

#include "dataapi.h"


static void da_ring_add_locked(da_ctx_t *ctx, da_user_t *u);
static void da_ring_remove_locked(da_ctx_t *ctx, da_user_t *u);
static da_stmt_t *da_queue_pop_locked(da_ctx_t *ctx, da_user_t *u);


da_user_t *
da_user_get_locked(da_ctx_t *ctx, const char *name)
{
    da_user_t  *u;

    for (u = ctx->users; u != NULL; u = u->next) {
        if (strcmp(u->name, name) == 0) {
            return u;
        }
    }

    u = calloc(1, sizeof(da_user_t));
    if (u == NULL || (u->name = strdup(name)) == NULL) {
        free(u);
        return NULL;
    }

    u->next = ctx->users;
    ctx->users = u;

    return u;
}


/* Frees the users that hold nothing: no statement, connection, session. */
void
da_users_sweep_locked(da_ctx_t *ctx)
{
    da_user_t  **pp, *u;

    for (pp = &ctx->users; *pp != NULL; ) {
        u = *pp;

        if (u->nqueued == 0 && u->nrunning == 0 && u->nconns == 0
            && u->nsessions == 0 && !u->in_ring)
        {
            *pp = u->next;
            free(u->name);
            free(u);
            continue;
        }

        pp = &u->next;
    }
}


/* A user with work joins the ring at the end of the current round. */
static void
da_ring_add_locked(da_ctx_t *ctx, da_user_t *u)
{
    if (ctx->ring == NULL) {
        u->ring_next = u;
        u->ring_prev = u;
        ctx->ring = u;

    } else {
        u->ring_next = ctx->ring;
        u->ring_prev = ctx->ring->ring_prev;
        u->ring_prev->ring_next = u;
        ctx->ring->ring_prev = u;
    }

    u->in_ring = 1;
}


static void
da_ring_remove_locked(da_ctx_t *ctx, da_user_t *u)
{
    if (u->ring_next == u) {
        ctx->ring = NULL;

    } else {
        u->ring_prev->ring_next = u->ring_next;
        u->ring_next->ring_prev = u->ring_prev;

        if (ctx->ring == u) {
            ctx->ring = u->ring_next;
        }
    }

    u->ring_next = NULL;
    u->ring_prev = NULL;
    u->in_ring = 0;
}


/* Returns -1 when the total or the user's queue is full. */
int
da_enqueue_locked(da_ctx_t *ctx, da_stmt_t *s)
{
    da_user_t  *u;

    if (ctx->queue_len >= ctx->queue_max || ctx->stopping) {
        return -1;
    }

    u = s->session != NULL ? s->session->user
                           : da_user_get_locked(ctx, s->db_user);

    if (u == NULL || u->nqueued >= ctx->queue_per_user) {
        return -1;
    }

    s->refs++;                          /* the queue's reference */
    s->user = u;
    s->queue_next = NULL;

    if (u->queue_tail != NULL) {
        u->queue_tail->queue_next = s;

    } else {
        u->queue_head = s;
    }

    u->queue_tail = s;
    u->nqueued++;
    ctx->queue_len++;

    if (!u->in_ring) {
        da_ring_add_locked(ctx, u);
    }

    pthread_cond_signal(&ctx->queue_cond);

    return 0;
}


static da_stmt_t *
da_queue_pop_locked(da_ctx_t *ctx, da_user_t *u)
{
    da_stmt_t  *s;

    s = u->queue_head;
    u->queue_head = s->queue_next;
    if (u->queue_head == NULL) {
        u->queue_tail = NULL;
    }

    s->queue_next = NULL;
    u->nqueued--;
    ctx->queue_len--;

    if (u->nqueued == 0) {
        da_ring_remove_locked(ctx, u);
    }

    return s;
}


/* A queued statement is cancelled: out of its queue, the ref dropped. */
void
da_sched_remove_locked(da_ctx_t *ctx, da_stmt_t *s)
{
    da_user_t   *u = s->user;
    da_stmt_t  **pp, *prev;

    if (u == NULL) {
        return;
    }

    prev = NULL;

    for (pp = &u->queue_head; *pp != NULL; pp = &(*pp)->queue_next) {
        if (*pp == s) {
            *pp = s->queue_next;

            if (u->queue_tail == s) {
                u->queue_tail = prev;
            }

            u->nqueued--;
            ctx->queue_len--;

            if (u->nqueued == 0) {
                da_ring_remove_locked(ctx, u);
            }

            s->queue_next = NULL;
            s->user = NULL;
            da_stmt_unref_locked(ctx, s);
            return;
        }

        prev = *pp;
    }
}


/*
 * The next statement to run, round-robin over the users that may run one
 * more and can have a connection for it: *pc is an idle connection (or a
 * session's own), or NULL when a slot was reserved for a new one
 * (*evicted: an idle connection closed to make room, PQfinish() it
 * outside the lock). The queue's reference passes to the caller.
 */
da_stmt_t *
da_sched_next_locked(da_ctx_t *ctx, da_pconn_t **pc, PGconn **evicted)
{
    da_user_t  *u, *first;
    da_stmt_t  *s;
    int         cap;

    *pc = NULL;
    *evicted = NULL;

    if (ctx->ring == NULL) {
        return NULL;
    }

    cap = ctx->running_per_user;
    first = ctx->ring;
    u = first;

    do {
        if (u->nrunning < cap) {
            s = u->queue_head;

            if (s->session != NULL && s->session->pconn != NULL) {
                *pc = s->session->pconn;

            } else if (s->session == NULL
                       && (*pc = da_pool_take_locked(ctx, u)) != NULL)
            {
                /* an idle connection of the user */

            } else if (!da_pool_reserve_locked(ctx, u, s->session != NULL,
                                               evicted))
            {
                u = u->ring_next;
                continue;
            }

            /* the next turn starts with the next user */
            ctx->ring = u->ring_next;
            da_queue_pop_locked(ctx, u);
            u->nrunning++;

            return s;
        }

        u = u->ring_next;

    } while (u != first);

    return NULL;
}


/* A statement no longer runs: its user may run another. */
void
da_sched_done_locked(da_ctx_t *ctx, da_stmt_t *s)
{
    if (s->user != NULL) {
        s->user->nrunning--;
        s->user = NULL;
    }

    /*
     * A user at its cap, or waiting for a connection, may go on.  The
     * worker calling this looks for its next statement itself
     * (worker.c), so one more worker is woken only when a second
     * statement may have become runnable too (this one's user slot and
     * its connection, given back, can each let one go): waking every idle
     * worker for one statement made them all contend for the lock.  With
     * nothing queued no worker has anything to wake for (a statement that
     * comes signals one itself).
     */
    if (ctx->queue_len > 1) {
        pthread_cond_signal(&ctx->queue_cond);
    }
}


/* Shutdown: any queued statement (the queue's reference passes over). */
da_stmt_t *
da_sched_pop_any_locked(da_ctx_t *ctx)
{
    da_stmt_t  *s;

    if (ctx->ring == NULL) {
        return NULL;
    }

    s = da_queue_pop_locked(ctx, ctx->ring);
    s->user = NULL;

    return s;
}


/*
 * Once a second (the reaper): statements running one second past their
 * deadline are cancelled, again every 5 s while they do not stop.
 */
void
da_watchdog(da_ctx_t *ctx)
{
    struct timespec   now;
    da_stmt_t        *s;
    char              errbuf[256];
    time_t            t;
    int               i;

    clock_gettime(CLOCK_MONOTONIC, &now);
    t = time(NULL);

    pthread_mutex_lock(&ctx->lock);

    for (i = 0; ctx->worker != NULL && i < ctx->workers; i++) {
        s = ctx->worker[i].current;

        if (s == NULL || s->status != DA_STARTED || s->cancel == NULL
            || now.tv_sec < s->deadline.tv_sec + 1
            || (now.tv_sec == s->deadline.tv_sec + 1
                && now.tv_nsec < s->deadline.tv_nsec)
            || (s->timed_out && t < s->next_cancel))
        {
            continue;
        }

        if (!s->timed_out) {
            da_log(ctx, "statement id=%s db_user=%s is past its deadline "
                   "(%ld s): cancelling it", s->id, s->db_user,
                   ctx->statement_timeout);
        }

        s->timed_out = 1;
        s->next_cancel = t + 5;

        if (!PQcancel(s->cancel, errbuf, sizeof(errbuf))) {
            da_log(ctx, "error: cancel of %s: %s", s->id, errbuf);
        }
    }

    pthread_mutex_unlock(&ctx->lock);
}
