/*
 * Metrics: the names of what Spectra counts and the Prometheus text
 * exposition format 0.0.4 they are served in.  The glue keeps the
 * counters (shared memory, atomics); this file owns every label value
 * (so the set of series is fixed and bounded: free text from a caller or
 * an upstream never becomes a label, except a tenant id, which the glue
 * caps) and writes the text: # HELP and # TYPE lines, samples with
 * escaped label values, histograms as cumulative _bucket{le} lines, _sum
 * and _count.  Writes that do not fit the caller's buffer set overflow and
 * write nothing more; the caller retries with a larger buffer.
 */

#ifndef SPECTRA_METRICS_H
#define SPECTRA_METRICS_H

#include "spectra_core.h"


/* API endpoints, by route (ngx_http_spectra_api.c) and method */
typedef enum {
    SPECTRA_METRICS_EP_UNKNOWN = 0,   /* no route: 404 */
    SPECTRA_METRICS_EP_HEALTH,
    SPECTRA_METRICS_EP_READY,
    SPECTRA_METRICS_EP_QUERY,
    SPECTRA_METRICS_EP_JOBS,
    SPECTRA_METRICS_EP_JOB,
    SPECTRA_METRICS_EP_JOB_CANCEL,
    SPECTRA_METRICS_EP_RESULTS,
    SPECTRA_METRICS_EP_BULK,
    SPECTRA_METRICS_EP_BULK_JOB,
    SPECTRA_METRICS_EP_BULK_CANCEL,
    SPECTRA_METRICS_EP_BULK_FILE,
    SPECTRA_METRICS_EP_IMPORTS,
    SPECTRA_METRICS_EP_IMPORT,
    SPECTRA_METRICS_EP_IMPORT_CANCEL,
    SPECTRA_METRICS_EP_IMPORT_FAILED,
    SPECTRA_METRICS_EP_OPENAPI,
    SPECTRA_METRICS_EP_OTHER,         /* a route this table does not know */
    SPECTRA_METRICS_NEP
} spectra_metrics_endpoint_e;

/* HTTP statuses: the ones the API answers, then one per class */
#define SPECTRA_METRICS_NSTATUS     30

/* Data API actions (X-Amz-Target RedshiftData.<action>) */
#define SPECTRA_METRICS_NACTIONS    7

/* Data API error kinds (spectra_dataapi_error_e) and AWS __type values */
#define SPECTRA_METRICS_NKINDS      9
#define SPECTRA_METRICS_NTYPES      18

/* authentication failures: method (jwt, apikey, none) x reason */
#define SPECTRA_METRICS_NMETHODS    3
#define SPECTRA_METRICS_NREASONS    14

/* job store operations */
typedef enum {
    SPECTRA_METRICS_STORE_CREATE = 0,
    SPECTRA_METRICS_STORE_GET,
    SPECTRA_METRICS_STORE_FIND_KEY,
    SPECTRA_METRICS_STORE_LIST,
    SPECTRA_METRICS_STORE_DUE,
    SPECTRA_METRICS_STORE_CANCEL,
    SPECTRA_METRICS_STORE_UPDATE,
    SPECTRA_METRICS_STORE_PROBE,      /* the readiness write and read */
    SPECTRA_METRICS_STORE_OTHER,
    SPECTRA_METRICS_NSTORE
} spectra_metrics_store_e;

/* histograms: bucket upper bounds in microseconds, +Inf not counted */
#define SPECTRA_METRICS_BUCKETS_MAX 16

typedef enum {
    SPECTRA_METRICS_H_REQUEST = 0,    /* a query's request time */
    SPECTRA_METRICS_H_DATAAPI,        /* one Data API call */
    SPECTRA_METRICS_H_STORE           /* one job store operation */
} spectra_metrics_hist_e;

/* the longest tenant id kept as a label value (longer ones: "other") */
#define SPECTRA_METRICS_TENANT_MAX  128


/* Label values of the tables above, by index. */
extern const char *const  spectra_metrics_endpoints[SPECTRA_METRICS_NEP];
extern const char *const  spectra_metrics_statuses[SPECTRA_METRICS_NSTATUS];
extern const char *const  spectra_metrics_actions[SPECTRA_METRICS_NACTIONS];
extern const char *const  spectra_metrics_kinds[SPECTRA_METRICS_NKINDS];
extern const char *const  spectra_metrics_types[SPECTRA_METRICS_NTYPES];
extern const char *const  spectra_metrics_methods[SPECTRA_METRICS_NMETHODS];
extern const char *const  spectra_metrics_reasons[SPECTRA_METRICS_NREASONS];
extern const char *const  spectra_metrics_store_ops[SPECTRA_METRICS_NSTORE];

/*
 * The endpoint of a route pattern as the API's route table writes it
 * (a star for an id segment); del: the method is DELETE.
 */
spectra_metrics_endpoint_e spectra_metrics_endpoint(const char *route,
    int del);

/* The index of an HTTP status in spectra_metrics_statuses. */
unsigned spectra_metrics_status(unsigned status);

/* The index of a Data API action ("DescribeStatement"); last: other. */
unsigned spectra_metrics_action(const char *action);

/* The index of an AWS __type ("" or NULL: none; unknown: other). */
unsigned spectra_metrics_type(const char *type);

/*
 * An authentication failure's method and reason from the text the auth
 * code logs ("jwt rejected: expired", "api key rejected: wrong secret",
 * "no credentials", ...).
 */
void spectra_metrics_auth_reason(const char *text, unsigned *method,
    unsigned *reason);

/* The bucket bounds (microseconds) of a histogram, and how many. */
const uint64_t *spectra_metrics_bounds(spectra_metrics_hist_e h,
    unsigned *n);

/* The bucket an observation falls in: n (of the bounds) for +Inf. */
unsigned spectra_metrics_bucket(const uint64_t *bounds, unsigned n,
    uint64_t us);


typedef struct {
    u_char                   *pos;
    u_char                   *end;
    int                       overflow;
} spectra_metrics_out_t;

typedef struct {
    const char               *name;
    spectra_str_t             value;      /* escaped when written */
} spectra_metrics_label_t;

/* Initializes out over [buf, buf + size). */
void spectra_metrics_out_init(spectra_metrics_out_t *out, u_char *buf,
    size_t size);

/* # HELP and # TYPE ("counter", "gauge", "histogram") of a family. */
void spectra_metrics_family(spectra_metrics_out_t *out, const char *name,
    const char *type, const char *help);

/* One sample: name{labels} value. */
void spectra_metrics_sample(spectra_metrics_out_t *out, const char *name,
    const spectra_metrics_label_t *labels, unsigned nlabels,
    uint64_t value);

/*
 * One histogram series: counts[i] observations in bucket i (i < n: at
 * most bounds[i]; counts[n]: above the last bound), sum_us their sum in
 * microseconds.  Written cumulative, with le="+Inf" and _count equal.
 */
void spectra_metrics_histogram(spectra_metrics_out_t *out, const char *name,
    const spectra_metrics_label_t *labels, unsigned nlabels,
    const uint64_t *bounds, unsigned n, const uint64_t *counts,
    uint64_t sum_us);

/*
 * Escapes a label value (\ " and newline) into dst, which has room for
 * 2 * len bytes; returns the length written.
 */
size_t spectra_metrics_escape(u_char *dst, const u_char *src, size_t len);

/* Microseconds as seconds ("0.0025", "1", "12.5"); dst: 32 bytes. */
size_t spectra_metrics_seconds(u_char *dst, uint64_t us);

#endif /* SPECTRA_METRICS_H */
