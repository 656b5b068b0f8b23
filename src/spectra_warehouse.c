/*
 * Warehouses behind one endpoint: the least-outstanding choice among a
 * pool's members and the passive health state machine
 * (spectra_warehouse.h).
 */

#include "spectra_warehouse.h"


int
spectra_warehouse_up(const spectra_warehouse_state_t *s, int64_t now)
{
    return s->down_until == 0 || now >= s->down_until;
}


int
spectra_warehouse_usable(const spectra_warehouse_state_t *s,
    const spectra_warehouse_limits_t *l, int64_t now)
{
    if (!spectra_warehouse_up(s, now)) {
        return 0;
    }

    return l->max_running == 0 || s->outstanding < l->max_running;
}


int
spectra_warehouse_choose(const spectra_warehouse_state_t *states,
    const spectra_warehouse_limits_t *limits, size_t n, int64_t now,
    uint32_t *rotor)
{
    int       best, any_up;
    size_t    i, k, start;
    uint32_t  least;

    if (n == 0) {
        return SPECTRA_WAREHOUSE_NONE_DOWN;
    }

    best = -1;
    any_up = 0;
    least = UINT32_MAX;
    start = *rotor % n;

    for (k = 0; k < n; k++) {
        i = (start + k) % n;

        if (!spectra_warehouse_up(&states[i], now)) {
            continue;
        }

        any_up = 1;

        if (!spectra_warehouse_usable(&states[i], &limits[i], now)) {
            continue;
        }

        /* strictly fewer: the first in turn wins a tie */
        if (states[i].outstanding < least) {
            least = states[i].outstanding;
            best = (int) i;
        }
    }

    if (best < 0) {
        return any_up ? SPECTRA_WAREHOUSE_NONE_FULL
                      : SPECTRA_WAREHOUSE_NONE_DOWN;
    }

    (*rotor)++;

    return best;
}


void
spectra_warehouse_acquire(spectra_warehouse_state_t *s)
{
    if (s->outstanding < UINT32_MAX) {
        s->outstanding++;
    }
}


void
spectra_warehouse_release(spectra_warehouse_state_t *s)
{
    if (s->outstanding > 0) {
        s->outstanding--;
    }
}


int
spectra_warehouse_failed(spectra_warehouse_state_t *s,
    const spectra_warehouse_limits_t *l, int64_t now)
{
    if (l->max_fails == 0) {
        return 0;
    }

    if (s->down_until != 0 && now < s->down_until) {
        /* down already: a call that was out when it went down */
        return 0;
    }

    if (s->fails == 0 || now - s->fail_since > l->fail_timeout
        || s->down_until != 0)
    {
        /* a new count: the old one is stale, or the retry after down */
        s->fails = 0;
        s->fail_since = now;
    }

    s->fails++;

    if (s->fails < l->max_fails && s->down_until == 0) {
        return 0;
    }

    s->down_until = now + (l->fail_timeout > 0 ? l->fail_timeout : 1);
    s->fails = 0;

    return 1;
}


int
spectra_warehouse_succeeded(spectra_warehouse_state_t *s)
{
    int  was_down;

    was_down = (s->down_until != 0);

    s->fails = 0;
    s->fail_since = 0;
    s->down_until = 0;

    return was_down;
}


int
spectra_warehouse_status_failed(unsigned status)
{
    return status == 0 || status >= 500;
}


int
spectra_warehouse_name_valid(const u_char *p, size_t len)
{
    size_t  i;

    if (len == 0 || len > SPECTRA_WAREHOUSE_NAME_MAX) {
        return 0;
    }

    for (i = 0; i < len; i++) {
        if (!((p[i] >= 'a' && p[i] <= 'z') || (p[i] >= 'A' && p[i] <= 'Z')
              || (p[i] >= '0' && p[i] <= '9') || p[i] == '_' || p[i] == '-'))
        {
            return 0;
        }
    }

    return 1;
}
