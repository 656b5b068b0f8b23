/*
 * Metrics names and the Prometheus text exposition format (see
 * spectra_metrics.h).
 */

#include <string.h>

#include "spectra_metrics.h"


const char *const  spectra_metrics_endpoints[SPECTRA_METRICS_NEP] = {
    "unknown", "health", "ready", "query", "jobs", "job", "job_cancel",
    "results", "bulk", "bulk_job", "bulk_cancel", "bulk_file", "imports",
    "import", "import_cancel", "import_failed", "openapi", "other"
};

static const unsigned  spectra_metrics_codes[] = {
    200, 201, 202, 204, 206, 301, 302, 304, 400, 401, 403, 404, 405, 408,
    409, 410, 413, 414, 415, 429, 499, 500, 502, 503, 504
};

#define SPECTRA_METRICS_NCODES                                                \
    (sizeof(spectra_metrics_codes) / sizeof(spectra_metrics_codes[0]))

const char *const  spectra_metrics_statuses[SPECTRA_METRICS_NSTATUS] = {
    "200", "201", "202", "204", "206", "301", "302", "304", "400", "401",
    "403", "404", "405", "408", "409", "410", "413", "414", "415", "429",
    "499", "500", "502", "503", "504",
    "2xx", "3xx", "4xx", "5xx", "other"
};

const char *const  spectra_metrics_actions[SPECTRA_METRICS_NACTIONS] = {
    "ExecuteStatement", "DescribeStatement", "GetStatementResult",
    "CancelStatement", "ListStatements", "BatchExecuteStatement", "other"
};

/* in the order of spectra_dataapi_error_e */
const char *const  spectra_metrics_kinds[SPECTRA_METRICS_NKINDS] = {
    "none", "throttled", "not_found", "session", "finished", "refused",
    "invalid", "timeout", "unavailable"
};

const char *const  spectra_metrics_types[SPECTRA_METRICS_NTYPES] = {
    "none", "other",
    "ValidationException", "ResourceNotFoundException",
    "ActiveStatementsExceededException", "ActiveSessionsExceededException",
    "ExecuteStatementException", "BatchExecuteStatementException",
    "DatabaseConnectionException", "InternalServerException",
    "QueryTimeoutException", "ThrottlingException", "AccessDeniedException",
    "UnrecognizedClientException", "InvalidSignatureException",
    "IncompleteSignatureException", "ExpiredTokenException",
    "MissingAuthenticationTokenException"
};

const char *const  spectra_metrics_methods[SPECTRA_METRICS_NMETHODS] = {
    "none", "jwt", "apikey"
};

const char *const  spectra_metrics_reasons[SPECTRA_METRICS_NREASONS] = {
    "other", "missing", "several", "not_accepted", "malformed",
    "bad_header", "unknown_key", "bad_signature", "expired",
    "not_yet_valid", "bad_claims", "bad_identity", "bad_secret", "internal"
};

const char *const  spectra_metrics_store_ops[SPECTRA_METRICS_NSTORE] = {
    "create", "get", "find_key", "list", "due", "cancel", "update", "probe",
    "other"
};


typedef struct {
    const char               *route;
    spectra_metrics_endpoint_e  get;      /* any method but DELETE */
    spectra_metrics_endpoint_e  del;
} spectra_metrics_route_t;

static const spectra_metrics_route_t  spectra_metrics_routes[] = {
    { "health", SPECTRA_METRICS_EP_HEALTH, SPECTRA_METRICS_EP_HEALTH },
    { "ready", SPECTRA_METRICS_EP_READY, SPECTRA_METRICS_EP_READY },
    { "queries", SPECTRA_METRICS_EP_QUERY, SPECTRA_METRICS_EP_QUERY },
    { "jobs", SPECTRA_METRICS_EP_JOBS, SPECTRA_METRICS_EP_JOBS },
    { "jobs/*", SPECTRA_METRICS_EP_JOB, SPECTRA_METRICS_EP_JOB_CANCEL },
    { "jobs/*/results", SPECTRA_METRICS_EP_RESULTS,
      SPECTRA_METRICS_EP_RESULTS },
    { "bulk", SPECTRA_METRICS_EP_BULK, SPECTRA_METRICS_EP_BULK },
    { "bulk/*", SPECTRA_METRICS_EP_BULK_JOB, SPECTRA_METRICS_EP_BULK_CANCEL },
    { "bulk/*/files/*", SPECTRA_METRICS_EP_BULK_FILE,
      SPECTRA_METRICS_EP_BULK_FILE },
    { "imports", SPECTRA_METRICS_EP_IMPORTS, SPECTRA_METRICS_EP_IMPORTS },
    { "imports/*", SPECTRA_METRICS_EP_IMPORT,
      SPECTRA_METRICS_EP_IMPORT_CANCEL },
    { "imports/*/failed", SPECTRA_METRICS_EP_IMPORT_FAILED,
      SPECTRA_METRICS_EP_IMPORT_FAILED },
    { "openapi.json", SPECTRA_METRICS_EP_OPENAPI, SPECTRA_METRICS_EP_OPENAPI },
    { NULL, SPECTRA_METRICS_EP_OTHER, SPECTRA_METRICS_EP_OTHER }
};


/* an authentication failure's text: a prefix, or the whole text */
typedef struct {
    const char               *text;
    unsigned                  reason;
    unsigned                  prefix:1;
} spectra_metrics_auth_t;

enum {
    R_OTHER = 0, R_MISSING, R_SEVERAL, R_NOT_ACCEPTED, R_MALFORMED,
    R_BAD_HEADER, R_UNKNOWN_KEY, R_BAD_SIGNATURE, R_EXPIRED,
    R_NOT_YET_VALID, R_BAD_CLAIMS, R_BAD_IDENTITY, R_BAD_SECRET, R_INTERNAL
};

/*
 * The texts of ngx_http_spectra_auth.c after its "jwt rejected: " or
 * "api key rejected: ", from src/spectra_jwt.c, src/spectra_claims.c and
 * src/spectra_apikey.c.
 */
static const spectra_metrics_auth_t  spectra_metrics_auth_texts[] = {
    { "JWT not accepted here", R_NOT_ACCEPTED, 0 },
    { "API keys not accepted here", R_NOT_ACCEPTED, 0 },
    { "empty token", R_MALFORMED, 0 },
    { "token too large", R_MALFORMED, 0 },
    { "not three segments", R_MALFORMED, 0 },
    { "empty header or payload", R_MALFORMED, 0 },
    { "header not base64url", R_MALFORMED, 0 },
    { "payload not base64url", R_MALFORMED, 0 },
    { "signature not base64url", R_MALFORMED, 0 },
    { "header not a JSON object", R_MALFORMED, 0 },
    { "payload not a JSON object", R_MALFORMED, 0 },
    { "missing signature", R_MALFORMED, 0 },
    { "malformed key", R_MALFORMED, 0 },
    { "crit header not supported", R_BAD_HEADER, 0 },
    { "key reference header", R_BAD_HEADER, 1 },
    { "missing alg", R_BAD_HEADER, 0 },
    { "alg not a string", R_BAD_HEADER, 0 },
    { "alg none", R_BAD_HEADER, 0 },
    { "unsupported alg", R_BAD_HEADER, 0 },
    { "kid not a string", R_BAD_HEADER, 0 },
    { "alg not allowed for key", R_BAD_HEADER, 0 },
    { "unknown kid", R_UNKNOWN_KEY, 0 },
    { "no key for alg", R_UNKNOWN_KEY, 0 },
    { "unknown key id", R_UNKNOWN_KEY, 0 },
    { "bad signature", R_BAD_SIGNATURE, 0 },
    { "wrong secret", R_BAD_SECRET, 0 },
    { "expired", R_EXPIRED, 0 },
    { "not yet valid (nbf)", R_NOT_YET_VALID, 0 },
    { "iat in the future", R_NOT_YET_VALID, 0 },
    { "missing exp", R_BAD_CLAIMS, 0 },
    { "exp not numeric", R_BAD_CLAIMS, 0 },
    { "nbf not numeric", R_BAD_CLAIMS, 0 },
    { "iat not numeric", R_BAD_CLAIMS, 0 },
    { "missing iss", R_BAD_CLAIMS, 0 },
    { "wrong issuer", R_BAD_CLAIMS, 0 },
    { "missing aud", R_BAD_CLAIMS, 0 },
    { "wrong audience", R_BAD_CLAIMS, 0 },
    { "no tenant id claim", R_BAD_IDENTITY, 0 },
    { "tenant id is not an identifier", R_BAD_IDENTITY, 0 },
    { "permissions claim malformed", R_BAD_IDENTITY, 0 },
    { "the derived db_user is not a role name", R_BAD_IDENTITY, 0 },
    { "db_user or db_group is not a role name", R_BAD_IDENTITY, 0 },
    { "out of memory", R_INTERNAL, 0 },
    { NULL, R_OTHER, 0 }
};


static const uint64_t  spectra_metrics_request_bounds[] = {
    5000, 10000, 25000, 50000, 100000, 250000, 500000, 1000000, 2500000,
    5000000, 10000000, 30000000, 60000000, 300000000
};

static const uint64_t  spectra_metrics_dataapi_bounds[] = {
    1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000, 1000000,
    2500000, 5000000, 10000000, 30000000, 60000000
};

static const uint64_t  spectra_metrics_store_bounds[] = {
    50, 100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000,
    250000, 1000000
};

#define spectra_metrics_nelts(a)  (sizeof(a) / sizeof((a)[0]))


static void spectra_metrics_write(spectra_metrics_out_t *out,
    const void *p, size_t len);
static void spectra_metrics_str(spectra_metrics_out_t *out, const char *s);
static void spectra_metrics_uint(spectra_metrics_out_t *out, uint64_t v);
static void spectra_metrics_labels(spectra_metrics_out_t *out,
    const spectra_metrics_label_t *labels, unsigned nlabels,
    const char *le);
static void spectra_metrics_help(spectra_metrics_out_t *out,
    const char *help);


spectra_metrics_endpoint_e
spectra_metrics_endpoint(const char *route, int del)
{
    const spectra_metrics_route_t  *rt;

    if (route == NULL) {
        return SPECTRA_METRICS_EP_UNKNOWN;
    }

    for (rt = spectra_metrics_routes; rt->route != NULL; rt++) {
        if (strcmp(rt->route, route) == 0) {
            return del ? rt->del : rt->get;
        }
    }

    return SPECTRA_METRICS_EP_OTHER;
}


unsigned
spectra_metrics_status(unsigned status)
{
    unsigned  i;

    for (i = 0; i < SPECTRA_METRICS_NCODES; i++) {
        if (spectra_metrics_codes[i] == status) {
            return i;
        }
    }

    if (status >= 200 && status < 600) {
        return SPECTRA_METRICS_NCODES + status / 100 - 2;
    }

    return SPECTRA_METRICS_NSTATUS - 1;
}


unsigned
spectra_metrics_action(const char *action)
{
    unsigned  i;

    for (i = 0; action != NULL && i < SPECTRA_METRICS_NACTIONS - 1; i++) {
        if (strcmp(spectra_metrics_actions[i], action) == 0) {
            return i;
        }
    }

    return SPECTRA_METRICS_NACTIONS - 1;
}


unsigned
spectra_metrics_type(const char *type)
{
    size_t       len;
    unsigned     i;
    const char  *p, *end;

    if (type == NULL || type[0] == '\0') {
        return 0;
    }

    /* "com.amazon.coral.service#ThrottlingException", "Type:http://..." */
    p = strrchr(type, '#');
    p = (p != NULL) ? p + 1 : type;
    end = strchr(p, ':');
    len = (end != NULL) ? (size_t) (end - p) : strlen(p);

    for (i = 2; i < SPECTRA_METRICS_NTYPES; i++) {
        if (strlen(spectra_metrics_types[i]) == len
            && strncmp(spectra_metrics_types[i], p, len) == 0)
        {
            return i;
        }
    }

    return 1;
}


void
spectra_metrics_auth_reason(const char *text, unsigned *method,
    unsigned *reason)
{
    size_t                         len;
    const char                    *p;
    const spectra_metrics_auth_t  *a;

    *method = 0;
    *reason = R_OTHER;

    if (text == NULL) {
        return;
    }

    p = text;

    if (strncmp(p, "jwt rejected: ", sizeof("jwt rejected: ") - 1) == 0) {
        *method = 1;
        p += sizeof("jwt rejected: ") - 1;

    } else if (strncmp(p, "api key rejected: ",
                       sizeof("api key rejected: ") - 1) == 0)
    {
        *method = 2;
        p += sizeof("api key rejected: ") - 1;

    } else if (strcmp(p, "no credentials") == 0) {
        *reason = R_MISSING;
        return;

    } else if (strcmp(p, "rejected: several credentials presented") == 0) {
        *reason = R_SEVERAL;
        return;

    } else if (strncmp(p, "rejected: ", sizeof("rejected: ") - 1) == 0) {
        p += sizeof("rejected: ") - 1;

    } else if (strcmp(p, "out of memory") == 0) {
        *reason = R_INTERNAL;
        return;
    }

    for (a = spectra_metrics_auth_texts; a->text != NULL; a++) {
        len = strlen(a->text);

        if (a->prefix ? strncmp(a->text, p, len) == 0
                      : strcmp(a->text, p) == 0)
        {
            *reason = a->reason;
            return;
        }
    }
}


const uint64_t *
spectra_metrics_bounds(spectra_metrics_hist_e h, unsigned *n)
{
    switch (h) {

    case SPECTRA_METRICS_H_REQUEST:
        *n = spectra_metrics_nelts(spectra_metrics_request_bounds);
        return spectra_metrics_request_bounds;

    case SPECTRA_METRICS_H_DATAAPI:
        *n = spectra_metrics_nelts(spectra_metrics_dataapi_bounds);
        return spectra_metrics_dataapi_bounds;

    default:
        *n = spectra_metrics_nelts(spectra_metrics_store_bounds);
        return spectra_metrics_store_bounds;
    }
}


unsigned
spectra_metrics_bucket(const uint64_t *bounds, unsigned n, uint64_t us)
{
    unsigned  lo, hi, mid;

    /* the first bound >= us */
    lo = 0;
    hi = n;

    while (lo < hi) {
        mid = lo + (hi - lo) / 2;

        if (bounds[mid] < us) {
            lo = mid + 1;

        } else {
            hi = mid;
        }
    }

    return lo;
}


void
spectra_metrics_out_init(spectra_metrics_out_t *out, u_char *buf,
    size_t size)
{
    out->pos = buf;
    out->end = buf + size;
    out->overflow = 0;
}


static void
spectra_metrics_write(spectra_metrics_out_t *out, const void *p, size_t len)
{
    if (out->overflow || (size_t) (out->end - out->pos) < len) {
        out->overflow = 1;
        return;
    }

    memcpy(out->pos, p, len);
    out->pos += len;
}


static void
spectra_metrics_str(spectra_metrics_out_t *out, const char *s)
{
    spectra_metrics_write(out, s, strlen(s));
}


static void
spectra_metrics_uint(spectra_metrics_out_t *out, uint64_t v)
{
    u_char   buf[24], *p;

    p = buf + sizeof(buf);

    do {
        *--p = (u_char) ('0' + v % 10);
        v /= 10;
    } while (v != 0);

    spectra_metrics_write(out, p, buf + sizeof(buf) - p);
}


size_t
spectra_metrics_escape(u_char *dst, const u_char *src, size_t len)
{
    u_char  *p;
    size_t   i;

    p = dst;

    for (i = 0; i < len; i++) {
        switch (src[i]) {

        case '\\':
            *p++ = '\\';
            *p++ = '\\';
            break;

        case '"':
            *p++ = '\\';
            *p++ = '"';
            break;

        case '\n':
            *p++ = '\\';
            *p++ = 'n';
            break;

        default:
            *p++ = src[i];
        }
    }

    return p - dst;
}


size_t
spectra_metrics_seconds(u_char *dst, uint64_t us)
{
    u_char    *p, *q, buf[24], frac[6];
    uint64_t   whole, rest;
    unsigned   i, n;

    whole = us / 1000000;
    rest = us % 1000000;

    q = buf + sizeof(buf);

    do {
        *--q = (u_char) ('0' + whole % 10);
        whole /= 10;
    } while (whole != 0);

    memcpy(dst, q, buf + sizeof(buf) - q);
    p = dst + (buf + sizeof(buf) - q);

    if (rest == 0) {
        return p - dst;
    }

    for (i = 6; i > 0; i--) {
        frac[i - 1] = (u_char) ('0' + rest % 10);
        rest /= 10;
    }

    n = 6;

    while (frac[n - 1] == '0') {
        n--;
    }

    *p++ = '.';
    memcpy(p, frac, n);
    p += n;

    return p - dst;
}


/* HELP text: backslash and newline escaped */

static void
spectra_metrics_help(spectra_metrics_out_t *out, const char *help)
{
    const char  *p;

    for (p = help; *p != '\0'; p++) {
        if (*p == '\\') {
            spectra_metrics_write(out, "\\\\", 2);

        } else if (*p == '\n') {
            spectra_metrics_write(out, "\\n", 2);

        } else {
            spectra_metrics_write(out, p, 1);
        }
    }
}


void
spectra_metrics_family(spectra_metrics_out_t *out, const char *name,
    const char *type, const char *help)
{
    spectra_metrics_str(out, "# HELP ");
    spectra_metrics_str(out, name);
    spectra_metrics_write(out, " ", 1);
    spectra_metrics_help(out, help);
    spectra_metrics_str(out, "\n# TYPE ");
    spectra_metrics_str(out, name);
    spectra_metrics_write(out, " ", 1);
    spectra_metrics_str(out, type);
    spectra_metrics_write(out, "\n", 1);
}


static void
spectra_metrics_labels(spectra_metrics_out_t *out,
    const spectra_metrics_label_t *labels, unsigned nlabels, const char *le)
{
    size_t    i, j;
    u_char    esc[2];
    u_char    c;

    if (nlabels == 0 && le == NULL) {
        return;
    }

    spectra_metrics_write(out, "{", 1);

    for (i = 0; i < nlabels; i++) {
        if (i > 0) {
            spectra_metrics_write(out, ",", 1);
        }

        spectra_metrics_str(out, labels[i].name);
        spectra_metrics_write(out, "=\"", 2);

        for (j = 0; j < labels[i].value.len; j++) {
            c = labels[i].value.data[j];
            spectra_metrics_write(out, esc,
                                  spectra_metrics_escape(esc, &c, 1));
        }

        spectra_metrics_write(out, "\"", 1);
    }

    if (le != NULL) {
        if (nlabels > 0) {
            spectra_metrics_write(out, ",", 1);
        }

        spectra_metrics_str(out, "le=\"");
        spectra_metrics_str(out, le);
        spectra_metrics_write(out, "\"", 1);
    }

    spectra_metrics_write(out, "}", 1);
}


void
spectra_metrics_sample(spectra_metrics_out_t *out, const char *name,
    const spectra_metrics_label_t *labels, unsigned nlabels, uint64_t value)
{
    spectra_metrics_str(out, name);
    spectra_metrics_labels(out, labels, nlabels, NULL);
    spectra_metrics_write(out, " ", 1);
    spectra_metrics_uint(out, value);
    spectra_metrics_write(out, "\n", 1);
}


void
spectra_metrics_histogram(spectra_metrics_out_t *out, const char *name,
    const spectra_metrics_label_t *labels, unsigned nlabels,
    const uint64_t *bounds, unsigned n, const uint64_t *counts,
    uint64_t sum_us)
{
    u_char    le[32];
    size_t    len;
    unsigned  i;
    uint64_t  total;

    total = 0;

    for (i = 0; i <= n; i++) {
        total += counts[i];

        if (i < n) {
            len = spectra_metrics_seconds(le, bounds[i]);

        } else {
            memcpy(le, "+Inf", 4);
            len = 4;
        }

        le[len] = '\0';

        spectra_metrics_str(out, name);
        spectra_metrics_str(out, "_bucket");
        spectra_metrics_labels(out, labels, nlabels, (const char *) le);
        spectra_metrics_write(out, " ", 1);
        spectra_metrics_uint(out, total);
        spectra_metrics_write(out, "\n", 1);
    }

    len = spectra_metrics_seconds(le, sum_us);

    spectra_metrics_str(out, name);
    spectra_metrics_str(out, "_sum");
    spectra_metrics_labels(out, labels, nlabels, NULL);
    spectra_metrics_write(out, " ", 1);
    spectra_metrics_write(out, le, len);
    spectra_metrics_write(out, "\n", 1);

    spectra_metrics_str(out, name);
    spectra_metrics_str(out, "_count");
    spectra_metrics_labels(out, labels, nlabels, NULL);
    spectra_metrics_write(out, " ", 1);
    spectra_metrics_uint(out, total);
    spectra_metrics_write(out, "\n", 1);
}
