/*
 * Jobs: what every store shares (ids, statuses, input checks) and the
 * API's JSON view of a job (spectra_jobs.h).
 */

#include "spectra_jobs.h"
#include "spectra_json.h"

#include <jansson.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>


/* a string and the writer that counts or copies it */
typedef struct {
    u_char                   *p;            /* NULL: count only */
    size_t                    n;
} spectra_job_out_t;


static int spectra_job_json_ok(const spectra_str_t *s, size_t max);
static int spectra_job_charset_ok(const spectra_str_t *s,
    const char *set);
static void spectra_job_put(spectra_job_out_t *o, const void *s, size_t n);
static void spectra_job_put_str(spectra_job_out_t *o, const char *s);
static void spectra_job_put_json(spectra_job_out_t *o, const u_char *s,
    size_t n);
static void spectra_job_put_time(spectra_job_out_t *o, const char *name,
    int64_t ms);
static void spectra_job_render(spectra_job_out_t *o, const spectra_job_t *job,
    const spectra_str_t *prefix, unsigned flags);




/* Crockford's base32 alphabet, lowercase: no i, l, o, u */
static const char  spectra_job_b32[] = "0123456789abcdefghjkmnpqrstvwxyz";

static const char  *spectra_job_statuses[] = {
    NULL, "PENDING", "RUNNING", "COMPLETED", "FAILED", "CANCELLED",
    "TIMEOUT"
};

static const char  *spectra_job_types[] = { NULL, "query", "bulk",
                                            "import" };


int64_t
spectra_job_now(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_REALTIME, &ts);

    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}


/* ids */

int
spectra_job_id_new(u_char id[SPECTRA_JOB_ID_LEN + 1])
{
    int       i, bit;
    unsigned  v, k;
    u_char    rnd[16];

    if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
        return -1;
    }

    memcpy(id, "job_", 4);

    /* 128 bits as 26 base32 digits, most significant first: 130 bits of
     * which the top two are zero */

    for (i = 0; i < 26; i++) {
        v = 0;

        for (k = 0; k < 5; k++) {
            bit = i * 5 + (int) k - 2;
            v <<= 1;

            if (bit >= 0) {
                v |= (rnd[bit / 8] >> (7 - bit % 8)) & 1;
            }
        }

        id[4 + i] = (u_char) spectra_job_b32[v];
    }

    id[SPECTRA_JOB_ID_LEN] = '\0';

    return 0;
}


int
spectra_job_id_valid(const u_char *p, size_t len)
{
    size_t  i;

    if (len != SPECTRA_JOB_ID_LEN || memcmp(p, "job_", 4) != 0) {
        return 0;
    }

    /* the first digit holds the top 3 bits only */
    if (p[4] < '0' || p[4] > '7') {
        return 0;
    }

    for (i = 5; i < len; i++) {
        if (p[i] == '\0' || strchr(spectra_job_b32, p[i]) == NULL) {
            return 0;
        }
    }

    return 1;
}


/* statuses and types */

const char *
spectra_job_status_name(spectra_job_status_e status)
{
    if (status <= SPECTRA_JOB_STATUS_NONE || status > SPECTRA_JOB_TIMEOUT) {
        return NULL;
    }

    return spectra_job_statuses[status];
}


spectra_job_status_e
spectra_job_status_parse(const u_char *p, size_t len)
{
    int  i;

    for (i = SPECTRA_JOB_PENDING; i <= SPECTRA_JOB_TIMEOUT; i++) {
        if (strlen(spectra_job_statuses[i]) == len
            && memcmp(spectra_job_statuses[i], p, len) == 0)
        {
            return (spectra_job_status_e) i;
        }
    }

    return SPECTRA_JOB_STATUS_NONE;
}


int
spectra_job_status_final(spectra_job_status_e status)
{
    return status == SPECTRA_JOB_COMPLETED || status == SPECTRA_JOB_FAILED
           || status == SPECTRA_JOB_CANCELLED || status == SPECTRA_JOB_TIMEOUT;
}


const char *
spectra_job_type_name(spectra_job_type_e type)
{
    if (type != SPECTRA_JOB_QUERY && type != SPECTRA_JOB_BULK
        && type != SPECTRA_JOB_IMPORT)
    {
        return NULL;
    }

    return spectra_job_types[type];
}


const char *
spectra_job_import_state(const spectra_job_t *job)
{
    switch (job->status) {

    case SPECTRA_JOB_PENDING:
        if (job->phase.data != NULL
            && job->phase.len == sizeof(SPECTRA_JOB_PHASE_OPEN) - 1
            && memcmp(job->phase.data, SPECTRA_JOB_PHASE_OPEN,
                      job->phase.len) == 0)
        {
            return "Open";
        }

        return "UploadComplete";

    case SPECTRA_JOB_RUNNING:
        return "InProgress";

    case SPECTRA_JOB_COMPLETED:
        return "JobComplete";

    case SPECTRA_JOB_CANCELLED:
        return "Aborted";

    default:
        return "Failed";
    }
}


spectra_job_type_e
spectra_job_type_parse(const u_char *p, size_t len)
{
    if (len == 5 && memcmp(p, "query", 5) == 0) {
        return SPECTRA_JOB_QUERY;
    }

    if (len == 4 && memcmp(p, "bulk", 4) == 0) {
        return SPECTRA_JOB_BULK;
    }

    if (len == 6 && memcmp(p, "import", 6) == 0) {
        return SPECTRA_JOB_IMPORT;
    }

    return SPECTRA_JOB_TYPE_NONE;
}


spectra_job_status_e
spectra_job_status_from_dataapi(const u_char *p, size_t len)
{
    static const struct {
        const char            *name;
        spectra_job_status_e   status;
    } map[] = {
        { "SUBMITTED", SPECTRA_JOB_PENDING },
        { "PICKED", SPECTRA_JOB_PENDING },
        { "STARTED", SPECTRA_JOB_RUNNING },
        { "FINISHED", SPECTRA_JOB_COMPLETED },
        { "FAILED", SPECTRA_JOB_FAILED },
        { "ABORTED", SPECTRA_JOB_CANCELLED }
    };

    size_t  i;

    for (i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
        if (strlen(map[i].name) == len
            && memcmp(map[i].name, p, len) == 0)
        {
            return map[i].status;
        }
    }

    return SPECTRA_JOB_STATUS_NONE;
}


/* input checks */

int
spectra_job_str_ok(const spectra_str_t *s, size_t max, int required)
{
    if (s->data == NULL) {
        return !required;
    }

    if (s->len > max || (required && s->len == 0)) {
        return 0;
    }

    /* stored as TEXT: no NUL inside */
    return memchr(s->data, '\0', s->len) == NULL;
}


static int
spectra_job_json_ok(const spectra_str_t *s, size_t max)
{
    json_t        *j;
    json_error_t   jerr;

    if (s->data == NULL) {
        return 1;
    }

    if (s->len > max) {
        return 0;
    }

    j = json_loadb((const char *) s->data, s->len, JSON_DECODE_ANY, &jerr);
    if (j == NULL) {
        return 0;
    }

    json_decref(j);

    return 1;
}


static int
spectra_job_charset_ok(const spectra_str_t *s, const char *set)
{
    size_t  i;

    for (i = 0; i < s->len; i++) {
        if (s->data[i] == '\0' || strchr(set, s->data[i]) == NULL) {
            return 0;
        }
    }

    return 1;
}


/* The longest prefix of at most max bytes that ends on a character. */

size_t
spectra_job_utf8_cut(const u_char *p, size_t len, size_t max)
{
    size_t  n;

    if (len <= max) {
        return len;
    }

    n = max;

    /* step back over continuation bytes to a lead byte, then drop it */
    while (n > 0 && (p[n] & 0xc0) == 0x80) {
        n--;
    }

    return n;
}


#define SPECTRA_JOB_UPPER  "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
#define SPECTRA_JOB_DIGITS "0123456789"


int
spectra_job_check(const spectra_job_t *job, spectra_err_t *err)
{
    if (!spectra_job_str_ok(&job->tenant_id, SPECTRA_JOB_TENANT_MAX, 1)) {
        return spectra_err_set(err, SPECTRA_JOB_INVALID, SPECTRA_POS_NONE,
                               "tenant_id must be 1 to %d bytes",
                               SPECTRA_JOB_TENANT_MAX);
    }

    if (spectra_job_type_name(job->type) == NULL) {
        return spectra_err_set(err, SPECTRA_JOB_INVALID, SPECTRA_POS_NONE,
                               "unknown job type");
    }

    if (job->status != SPECTRA_JOB_STATUS_NONE
        && spectra_job_status_name(job->status) == NULL)
    {
        return spectra_err_set(err, SPECTRA_JOB_INVALID, SPECTRA_POS_NONE,
                               "unknown job status");
    }

    if (job->id[0] != '\0'
        && !spectra_job_id_valid(job->id, strlen((char *) job->id)))
    {
        return spectra_err_set(err, SPECTRA_JOB_INVALID, SPECTRA_POS_NONE,
                               "malformed job id");
    }

    if (!spectra_job_str_ok(&job->statement_id,
                            SPECTRA_JOB_STATEMENT_ID_MAX, 0)
        || !spectra_job_str_ok(&job->sql, SPECTRA_JOB_SQL_MAX, 0)
        || !spectra_job_str_ok(&job->idempotency_key, SPECTRA_JOB_KEY_MAX, 0)
        || (job->idempotency_key.data != NULL
            && job->idempotency_key.len == 0)
        || !spectra_job_str_ok(&job->request_hash, SPECTRA_JOB_HASH_MAX, 0)
        || !spectra_job_str_ok(&job->db_user, SPECTRA_JOB_DB_USER_MAX, 0)
        || !spectra_job_str_ok(&job->session_id,
                               SPECTRA_JOB_SESSION_ID_MAX, 0))
    {
        return spectra_err_set(err, SPECTRA_JOB_INVALID, SPECTRA_POS_NONE,
                               "a job field is too long or holds a NUL");
    }

    if (!spectra_job_json_ok(&job->parameters, SPECTRA_JOB_PARAMETERS_MAX)
        || !spectra_job_json_ok(&job->result, SPECTRA_JOB_RESULT_MAX))
    {
        return spectra_err_set(err, SPECTRA_JOB_INVALID, SPECTRA_POS_NONE,
                               "parameters and result must be JSON text of "
                               "bounded size");
    }

    if ((job->error_code.data != NULL
         && (job->error_code.len == 0
             || job->error_code.len > SPECTRA_JOB_ERROR_CODE_MAX
             || !spectra_job_charset_ok(&job->error_code,
                                    SPECTRA_JOB_UPPER SPECTRA_JOB_DIGITS "_")))
        || (job->sqlstate.data != NULL
            && (job->sqlstate.len != 5
                || !spectra_job_charset_ok(&job->sqlstate,
                                    SPECTRA_JOB_UPPER SPECTRA_JOB_DIGITS)))
        || (job->error_message.data != NULL
            && memchr(job->error_message.data, '\0',
                      job->error_message.len) != NULL))
    {
        return spectra_err_set(err, SPECTRA_JOB_INVALID, SPECTRA_POS_NONE,
                               "malformed error_code, sqlstate or "
                               "error_message");
    }

    if (job->phase.data != NULL
        && (job->phase.len == 0 || job->phase.len > SPECTRA_JOB_PHASE_MAX
            || !spectra_job_charset_ok(&job->phase,
                                       "abcdefghijklmnopqrstuvwxyz_")))
    {
        return spectra_err_set(err, SPECTRA_JOB_INVALID, SPECTRA_POS_NONE,
                               "a job phase is 1 to %d of [a-z_]",
                               SPECTRA_JOB_PHASE_MAX);
    }

    if (job->warehouse.data != NULL
        && (job->warehouse.len == 0
            || job->warehouse.len > SPECTRA_JOB_WAREHOUSE_MAX
            || !spectra_job_charset_ok(&job->warehouse,
                                       "abcdefghijklmnopqrstuvwxyz"
                                       SPECTRA_JOB_UPPER SPECTRA_JOB_DIGITS
                                       "_-")))
    {
        return spectra_err_set(err, SPECTRA_JOB_INVALID, SPECTRA_POS_NONE,
                               "a job's warehouse is 1 to %d of "
                               "[A-Za-z0-9_-]", SPECTRA_JOB_WAREHOUSE_MAX);
    }

    if (job->row_count < -1 || job->execution_ms < -1
        || job->created_at < 0 || job->started_at < 0
        || job->finished_at < 0 || job->deadline_at < 0
        || job->check_at < 0)
    {
        return spectra_err_set(err, SPECTRA_JOB_INVALID, SPECTRA_POS_NONE,
                               "negative row_count or time");
    }

    return SPECTRA_JOB_OK;
}


int
spectra_job_check_update(const spectra_job_update_t *upd,
    spectra_err_t *err)
{
    spectra_job_t  job;

    /* the same rules as a new job, for the fields an update may set */

    memset(&job, 0, sizeof(spectra_job_t));

    job.tenant_id = upd->tenant_id;
    job.type = SPECTRA_JOB_QUERY;
    job.status = upd->status;
    job.statement_id = upd->statement_id;
    job.session_id = upd->session_id;
    job.result = upd->result;
    job.error_code = upd->error_code;
    job.error_message = upd->error_message;
    job.sqlstate = upd->sqlstate;
    job.row_count = upd->row_count;
    job.execution_ms = upd->execution_ms;
    job.started_at = upd->started_at;
    job.finished_at = upd->finished_at;
    job.check_at = upd->check_at;
    job.deadline_at = upd->deadline_at;
    job.phase = upd->phase;

    if (upd->from_phase.data != NULL) {
        job.phase = upd->from_phase;

        if (spectra_job_check(&job, err) != SPECTRA_JOB_OK) {
            return SPECTRA_JOB_INVALID;
        }

        job.phase = upd->phase;
    }

    if (upd->from >> (SPECTRA_JOB_TIMEOUT + 1) != 0
        || (upd->from & 1) != 0)
    {
        return spectra_err_set(err, SPECTRA_JOB_INVALID, SPECTRA_POS_NONE,
                               "unknown status in the from mask");
    }

    return spectra_job_check(&job, err);
}


/* ",PENDING,RUNNING," for a mask of statuses (or types) */

void
spectra_job_mask_text(char *buf, size_t size, unsigned mask, int types)
{
    int          i, last;
    size_t       n;
    const char  *name;

    n = 0;
    buf[n++] = ',';
    last = types ? SPECTRA_JOB_IMPORT : SPECTRA_JOB_TIMEOUT;

    for (i = 1; i <= last; i++) {
        if (!(mask & (1u << i))) {
            continue;
        }

        name = types ? spectra_job_types[i] : spectra_job_statuses[i];

        if (n + strlen(name) + 2 > size) {
            break;
        }

        memcpy(buf + n, name, strlen(name));
        n += strlen(name);
        buf[n++] = ',';
    }

    buf[n] = '\0';
}


/* The API's JSON view of a job. */

static void
spectra_job_put(spectra_job_out_t *o, const void *s, size_t n)
{
    if (o->p != NULL) {
        memcpy(o->p, s, n);
        o->p += n;
    }

    o->n += n;
}


static void
spectra_job_put_str(spectra_job_out_t *o, const char *s)
{
    spectra_job_put(o, s, strlen(s));
}


/* a JSON string, quotes included */

static void
spectra_job_put_json(spectra_job_out_t *o, const u_char *s, size_t n)
{
    size_t  len;

    len = spectra_json_escape_len(s, n);

    spectra_job_put(o, "\"", 1);

    if (o->p != NULL) {
        o->p = spectra_json_escape(o->p, s, n);
    }

    o->n += len;

    spectra_job_put(o, "\"", 1);
}


/* ,"name":"2026-..." or ,"name":null */

static void
spectra_job_put_time(spectra_job_out_t *o, const char *name, int64_t ms)
{
    u_char  buf[SPECTRA_JOB_TIME_LEN];

    spectra_job_put(o, ",\"", 2);
    spectra_job_put_str(o, name);
    spectra_job_put(o, "\":", 2);

    if (ms <= 0) {
        spectra_job_put(o, "null", 4);
        return;
    }

    spectra_job_put(o, "\"", 1);
    spectra_job_put(o, buf, (size_t) (spectra_job_time(buf, ms) - buf));
    spectra_job_put(o, "\"", 1);
}


u_char *
spectra_job_time(u_char *dst, int64_t ms)
{
    char       buf[64];
    time_t     sec;
    struct tm  tm;

    if (ms < 0) {
        ms = 0;
    }

    sec = (time_t) (ms / 1000);

    if (gmtime_r(&sec, &tm) == NULL || tm.tm_year + 1900 > 9999) {
        memcpy(dst, "9999-12-31T23:59:59.999Z", SPECTRA_JOB_TIME_LEN);
        return dst + SPECTRA_JOB_TIME_LEN;
    }

    snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
             tm.tm_min, tm.tm_sec, (int) (ms % 1000));

    memcpy(dst, buf, SPECTRA_JOB_TIME_LEN);

    return dst + SPECTRA_JOB_TIME_LEN;
}


static void
spectra_job_render(spectra_job_out_t *o, const spectra_job_t *job,
    const spectra_str_t *prefix, unsigned flags)
{
    char         num[24];
    const char  *s;

    spectra_job_put_str(o, "{\"job_id\":\"");
    spectra_job_put_str(o, (const char *) job->id);
    spectra_job_put_str(o, "\",\"type\":\"");
    s = spectra_job_type_name(job->type);
    spectra_job_put_str(o, s != NULL ? s : "query");
    spectra_job_put_str(o, "\",\"status\":\"");
    s = spectra_job_status_name(job->status);
    spectra_job_put_str(o, s != NULL ? s : "PENDING");
    spectra_job_put(o, "\"", 1);

    if (job->type == SPECTRA_JOB_IMPORT) {
        spectra_job_put_str(o, ",\"state\":\"");
        spectra_job_put_str(o, spectra_job_import_state(job));
        spectra_job_put(o, "\"", 1);
    }

    spectra_job_put_time(o, "created_at", job->created_at);
    spectra_job_put_time(o, "updated_at", job->updated_at);
    spectra_job_put_time(o, "started_at", job->started_at);
    spectra_job_put_time(o, "finished_at", job->finished_at);

    spectra_job_put_str(o, ",\"row_count\":");

    if (job->row_count >= 0) {
        snprintf(num, sizeof(num), "%lld", (long long) job->row_count);
        spectra_job_put_str(o, num);

    } else {
        spectra_job_put(o, "null", 4);
    }

    spectra_job_put_str(o, ",\"execution_time_ms\":");

    if (job->execution_ms >= 0 && spectra_job_status_final(job->status)) {
        snprintf(num, sizeof(num), "%lld", (long long) job->execution_ms);
        spectra_job_put_str(o, num);

    } else {
        spectra_job_put(o, "null", 4);
    }

    if (job->idempotency_key.data != NULL) {
        spectra_job_put_str(o, ",\"idempotency_key\":");
        spectra_job_put_json(o, job->idempotency_key.data,
                             job->idempotency_key.len);
    }

    if (flags & SPECTRA_JOB_JSON_SQL) {
        spectra_job_put_str(o, ",\"sql\":");

        if (job->sql.data != NULL) {
            spectra_job_put_json(o, job->sql.data, job->sql.len);

        } else {
            spectra_job_put(o, "null", 4);
        }

        /* stored only after a JSON check, so it goes out as it is */
        spectra_job_put_str(o, ",\"parameters\":");

        if (job->parameters.data != NULL) {
            spectra_job_put(o, job->parameters.data, job->parameters.len);

        } else {
            spectra_job_put(o, "null", 4);
        }
    }

    if (job->error_code.data != NULL || job->error_message.data != NULL) {
        spectra_job_put_str(o, ",\"error\":{\"code\":");

        if (job->error_code.data != NULL) {
            spectra_job_put_json(o, job->error_code.data,
                                 job->error_code.len);

        } else {
            spectra_job_put(o, "null", 4);
        }

        spectra_job_put_str(o, ",\"message\":");

        if (job->error_message.data != NULL) {
            spectra_job_put_json(o, job->error_message.data,
                                 job->error_message.len);

        } else {
            spectra_job_put(o, "null", 4);
        }

        if (job->sqlstate.data != NULL) {
            spectra_job_put_str(o, ",\"sqlstate\":");
            spectra_job_put_json(o, job->sqlstate.data, job->sqlstate.len);
        }

        spectra_job_put(o, "}", 1);
    }

    if ((flags & SPECTRA_JOB_JSON_RESULT) && job->result.data != NULL) {
        spectra_job_put_str(o, ",\"result\":");
        spectra_job_put(o, job->result.data, job->result.len);
    }

    /* links: the prefix is escaped as it sits inside JSON strings */

    spectra_job_put_str(o, ",\"links\":{\"self\":\"");

    if (prefix != NULL && prefix->data != NULL) {
        o->n += spectra_json_escape_len(prefix->data, prefix->len);
        if (o->p != NULL) {
            o->p = spectra_json_escape(o->p, prefix->data, prefix->len);
        }
    }

    spectra_job_put_str(o, "/v1/jobs/");
    spectra_job_put_str(o, (const char *) job->id);

    if (job->type == SPECTRA_JOB_BULK) {
        spectra_job_put_str(o, "\",\"export\":\"");

    } else if (job->type == SPECTRA_JOB_IMPORT) {
        spectra_job_put_str(o, "\",\"import\":\"");

    } else {
        spectra_job_put_str(o, "\",\"results\":\"");
    }

    if (prefix != NULL && prefix->data != NULL) {
        o->n += spectra_json_escape_len(prefix->data, prefix->len);
        if (o->p != NULL) {
            o->p = spectra_json_escape(o->p, prefix->data, prefix->len);
        }
    }

    if (job->type == SPECTRA_JOB_BULK) {
        spectra_job_put_str(o, "/v1/bulk/");
        spectra_job_put_str(o, (const char *) job->id);

    } else if (job->type == SPECTRA_JOB_IMPORT) {
        spectra_job_put_str(o, "/v1/imports/");
        spectra_job_put_str(o, (const char *) job->id);

    } else {
        spectra_job_put_str(o, "/v1/jobs/");
        spectra_job_put_str(o, (const char *) job->id);
        spectra_job_put_str(o, "/results");
    }

    spectra_job_put_str(o, "\"}");

    if (!(flags & SPECTRA_JOB_JSON_OPEN)) {
        spectra_job_put(o, "}", 1);
    }
}


size_t
spectra_job_json_len(const spectra_job_t *job,
    const spectra_str_t *prefix, unsigned flags)
{
    spectra_job_out_t  o;

    o.p = NULL;
    o.n = 0;

    spectra_job_render(&o, job, prefix, flags);

    return o.n;
}


u_char *
spectra_job_json(u_char *dst, const spectra_job_t *job,
    const spectra_str_t *prefix, unsigned flags)
{
    spectra_job_out_t  o;

    o.p = dst;
    o.n = 0;

    spectra_job_render(&o, job, prefix, flags);

    return o.p;
}

