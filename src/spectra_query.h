/*
 * The body of POST /v1/queries (docs/api.md): parsed, typed and range
 * checked without nginx.
 *
 * Guarantees: on SPECTRA_QUERY_OK every field holds a value within its
 * range (the defaults and maxima come from the caller's limits, so that a
 * request may lower but never raise a configured bound); sql is a NUL
 * terminated copy without NUL bytes inside; parameter names are
 * identifiers ([A-Za-z_][A-Za-z0-9_]*, at most 64 bytes), distinct, and
 * their values are strings (numbers and booleans are converted to their
 * JSON text, as the Data API only takes strings).  Anything else is
 * SPECTRA_QUERY_INVALID with one sentence in err->message that names the
 * field and, for numbers, the accepted range.  Unknown fields are refused,
 * so that a misspelt option never silently does nothing.
 */

#ifndef SPECTRA_QUERY_H
#define SPECTRA_QUERY_H

#include "spectra_core.h"
#include "spectra_result.h"


#define SPECTRA_QUERY_OK            0
#define SPECTRA_QUERY_INVALID      -1
#define SPECTRA_QUERY_NOMEM        -2

#define SPECTRA_QUERY_MAX_PARAMS    64
#define SPECTRA_QUERY_NAME_MAX      64
#define SPECTRA_QUERY_KEY_MAX       64
#define SPECTRA_QUERY_VALUE_MAX     65536


/* Defaults and maxima, from the location's configuration. */
typedef struct {
    uint64_t                  wait_ms;        /* default wait */
    uint64_t                  timeout_ms;     /* default and maximum */
    uint64_t                  max_wait_ms;
    uint64_t                  rows;           /* default and maximum */
    uint64_t                  bytes;          /* default and maximum */
} spectra_query_limits_t;


typedef struct {
    spectra_str_t             name;
    spectra_str_t             value;
} spectra_query_param_t;


typedef struct {
    spectra_str_t             sql;
    spectra_query_param_t    *params;
    size_t                    nparams;
    spectra_str_t             idempotency_key;
    uint64_t                  wait_ms;
    uint64_t                  timeout_ms;
    uint64_t                  row_limit;
    uint64_t                  byte_limit;
    spectra_result_format_e   format;

    /*
     * The rows of the result the statement keeps for the pages of
     * /v1/jobs/{id}/results (its LIMIT is kept_rows + 1); not a field of
     * the body: the glue sets it, at least row_limit.  0: row_limit.
     */
    uint64_t                  kept_rows;
    unsigned                  cancel_on_wait_timeout:1;
} spectra_query_t;


/*
 * Parses the JSON body.  Strings of q live in pool.  A wait longer than
 * the timeout is cut to the timeout.
 */
int spectra_query_parse(const u_char *body, size_t len,
    const spectra_query_limits_t *limits, const spectra_pool_t *pool,
    spectra_query_t *q, spectra_err_t *err);

/*
 * After the SQL policy found the :names the SQL uses (names[], distinct):
 * every parameter given must be used and every name used must be given.
 */
int spectra_query_params_check(const spectra_query_t *q,
    const spectra_str_t *names, size_t nnames, spectra_err_t *err);

/*
 * The parameters as the job keeps them for its audit trail, a JSON array
 * [{"name": ..., "value": ...}]; out->data is NULL when there are none.
 */
int spectra_query_params_json(const spectra_query_t *q,
    const spectra_pool_t *pool, spectra_str_t *out);

/*
 * The options a job keeps so that /v1/jobs/{id}/results answers as the
 * query did: {"row_limit":N,"byte_limit":N,"format":"objects"}, and
 * "kept_rows":N when the statement keeps more rows than row_limit.
 */
#define SPECTRA_QUERY_OPTIONS_LEN  128

u_char *spectra_query_options(u_char *dst, const spectra_query_t *q);

/*
 * Reads those options back into q (row_limit, byte_limit, format,
 * kept_rows); values missing or above the limits take the limits'
 * defaults, a missing kept_rows (or one below row_limit) is row_limit.
 */
void spectra_query_options_read(const u_char *p, size_t len,
    const spectra_query_limits_t *limits, spectra_query_t *q);

#endif /* SPECTRA_QUERY_H */
