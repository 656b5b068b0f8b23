/*
 * Warehouses behind one endpoint: which member of a pool takes a new
 * statement, and when a warehouse counts as down.  Plain state the caller
 * keeps (the module: in shared memory, under its lock); no clock of its
 * own, times are the caller's milliseconds.
 *
 * Guarantees:
 * - the choice is a usable member (up, and under its cap of running
 *   statements) with the fewest outstanding statements; among equals it
 *   starts from the caller's rotating index, so that members that are all
 *   idle still share the statements in turn;
 * - a warehouse is down after max_fails failures whose first was at most
 *   fail_timeout ago (nginx's upstream max_fails and fail_timeout), for
 *   fail_timeout; then it is tried again, and one success brings it up;
 * - max_fails 0 never marks it down; a cap of 0 is no cap.
 */

#ifndef SPECTRA_WAREHOUSE_H
#define SPECTRA_WAREHOUSE_H

#include "spectra_core.h"


#define SPECTRA_WAREHOUSE_NAME_MAX  64

/* spectra_warehouse_choose() found none: why */
#define SPECTRA_WAREHOUSE_NONE_DOWN  -1   /* every member is down */
#define SPECTRA_WAREHOUSE_NONE_FULL  -2   /* every member up is at its cap */


typedef struct {
    unsigned                  max_fails;    /* 0: never down */
    int64_t                   fail_timeout; /* ms */
    unsigned                  max_running;  /* 0: no cap */
} spectra_warehouse_limits_t;


typedef struct {
    uint32_t                  outstanding;  /* statements out on it */
    uint32_t                  fails;        /* since fail_since */
    int64_t                   fail_since;   /* ms, the first of fails */
    int64_t                   down_until;   /* ms; 0: up */
} spectra_warehouse_state_t;


/* Whether the warehouse may take a statement now (up and under its cap). */
int spectra_warehouse_up(const spectra_warehouse_state_t *s, int64_t now);
int spectra_warehouse_usable(const spectra_warehouse_state_t *s,
    const spectra_warehouse_limits_t *l, int64_t now);

/*
 * The member of states[0..n) that takes the next statement (an index), or
 * SPECTRA_WAREHOUSE_NONE_*; rotor is the pool's turn counter, which a
 * choice advances.  The caller then counts the statement in (acquire).
 */
int spectra_warehouse_choose(const spectra_warehouse_state_t *states,
    const spectra_warehouse_limits_t *limits, size_t n, int64_t now,
    uint32_t *rotor);

/* A statement in and out of a warehouse's count (never below 0). */
void spectra_warehouse_acquire(spectra_warehouse_state_t *s);
void spectra_warehouse_release(spectra_warehouse_state_t *s);

/*
 * A Data API call's outcome: transport failures and 5xx are failures,
 * any other answer a success.  Returns 1 when the call changed whether
 * the warehouse is up (it went down, or came back), for the log.
 */
int spectra_warehouse_failed(spectra_warehouse_state_t *s,
    const spectra_warehouse_limits_t *l, int64_t now);
int spectra_warehouse_succeeded(spectra_warehouse_state_t *s);

/* Whether an HTTP status of a Data API call (0: none) is a failure. */
int spectra_warehouse_status_failed(unsigned status);

/* A warehouse or pool name: 1 to 64 of [A-Za-z0-9_-]. */
int spectra_warehouse_name_valid(const u_char *p, size_t len);

#endif /* SPECTRA_WAREHOUSE_H */
