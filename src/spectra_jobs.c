/*
 * The job store: helpers every store shares (ids, statuses, the API's JSON
 * view of a job) and the default store on SQLite.
 */

#include "spectra_jobs.h"
#include "spectra_json.h"

#include <jansson.h>
#include <openssl/rand.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>


/* prepared statements, one set per connection */
enum {
    SPECTRA_SQ_INSERT = 0,
    SPECTRA_SQ_GET,
    SPECTRA_SQ_KEY,
    SPECTRA_SQ_UPDATE,
    SPECTRA_SQ_STATUS,
    SPECTRA_SQ_LIST_FIRST,
    SPECTRA_SQ_LIST_NEXT,
    SPECTRA_SQ_LAST
};


typedef struct {
    spectra_job_store_t       store;        /* first: the interface */
    sqlite3                  *db;
    sqlite3_stmt             *stmt[SPECTRA_SQ_LAST];
    int64_t                   busy_timeout; /* microseconds */
    int64_t                   busy_waited;
} spectra_job_sqlite_t;


/* a string and the writer that counts or copies it */
typedef struct {
    u_char                   *p;            /* NULL: count only */
    size_t                    n;
} spectra_job_out_t;


static void spectra_job_error(spectra_job_err_t *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int64_t spectra_job_now(void);
static int spectra_job_str_ok(const spectra_job_str_t *s, size_t max,
    int required);
static int spectra_job_json_ok(const spectra_job_str_t *s, size_t max);
static int spectra_job_charset_ok(const spectra_job_str_t *s,
    const char *set);
static size_t spectra_job_utf8_cut(const u_char *p, size_t len, size_t max);
static int spectra_job_check(const spectra_job_t *job,
    spectra_job_err_t *err);
static int spectra_job_check_update(const spectra_job_update_t *upd,
    spectra_job_err_t *err);
static void spectra_job_mask_text(char *buf, size_t size, unsigned mask,
    int types);

static int spectra_job_sqlite_open(spectra_job_store_t **store,
    const spectra_job_conf_t *conf, spectra_job_err_t *err);
static void spectra_job_sqlite_close(spectra_job_store_t *store);
static int spectra_job_sqlite_create(spectra_job_store_t *store,
    spectra_job_t *job, spectra_job_err_t *err);
static int spectra_job_sqlite_get(spectra_job_store_t *store,
    const spectra_job_str_t *tenant_id, const spectra_job_str_t *id,
    spectra_job_t *job, const spectra_job_pool_t *pool,
    spectra_job_err_t *err);
static int spectra_job_sqlite_update(spectra_job_store_t *store,
    const spectra_job_update_t *upd, spectra_job_t *job,
    const spectra_job_pool_t *pool, spectra_job_err_t *err);
static int spectra_job_sqlite_list(spectra_job_store_t *store,
    const spectra_job_filter_t *filter, spectra_job_list_t *list,
    const spectra_job_pool_t *pool, spectra_job_err_t *err);
static int spectra_job_sqlite_find_key(spectra_job_store_t *store,
    const spectra_job_str_t *tenant_id, const spectra_job_str_t *key,
    spectra_job_t *job, const spectra_job_pool_t *pool,
    spectra_job_err_t *err);
static int spectra_job_sqlite_cancel(spectra_job_store_t *store,
    const spectra_job_str_t *tenant_id, const spectra_job_str_t *id,
    int64_t now, spectra_job_t *job, const spectra_job_pool_t *pool,
    spectra_job_err_t *err);
static int spectra_job_sqlite_checkpoint(spectra_job_store_t *store,
    spectra_job_err_t *err);

static int spectra_job_sqlite_fail(sqlite3 *db, int rc, const char *what,
    spectra_job_err_t *err);
static int spectra_job_sqlite_busy(void *data, int count);
static void spectra_job_sleep(int64_t us);
static int spectra_job_sqlite_exec(sqlite3 *db, const char *sql,
    spectra_job_err_t *err);
static int spectra_job_sqlite_schema(sqlite3 *db, spectra_job_err_t *err);
static int spectra_job_bind_str(sqlite3_stmt *st, int i,
    const spectra_job_str_t *s);
static int spectra_job_sqlite_row(sqlite3_stmt *st, spectra_job_t *job,
    const spectra_job_pool_t *pool);
static int spectra_job_sqlite_one(spectra_job_sqlite_t *sq,
    sqlite3_stmt *st, spectra_job_t *job, const spectra_job_pool_t *pool,
    spectra_job_err_t *err);

static void spectra_job_put(spectra_job_out_t *o, const void *s, size_t n);
static void spectra_job_put_str(spectra_job_out_t *o, const char *s);
static void spectra_job_put_json(spectra_job_out_t *o, const u_char *s,
    size_t n);
static void spectra_job_put_time(spectra_job_out_t *o, const char *name,
    int64_t ms);
static void spectra_job_render(spectra_job_out_t *o, const spectra_job_t *job,
    const spectra_job_str_t *prefix, unsigned flags);


/* Crockford's base32 alphabet, lowercase: no i, l, o, u */
static const char  spectra_job_b32[] = "0123456789abcdefghjkmnpqrstvwxyz";

static const char  *spectra_job_statuses[] = {
    NULL, "PENDING", "RUNNING", "COMPLETED", "FAILED", "CANCELLED",
    "TIMEOUT"
};

static const char  *spectra_job_types[] = { NULL, "query", "bulk" };


#define SPECTRA_JOB_COLUMNS                                                   \
    "id, tenant_id, type, status, statement_id, sql, parameters, "           \
    "idempotency_key, request_hash, db_user, session_id, result, "           \
    "error_code, error_message, sqlstate, created_at, updated_at, "          \
    "started_at, finished_at, row_count"

/* the same, with sql and parameters only when ?9 is true (lists) */
#define SPECTRA_JOB_LIST_COLUMNS                                              \
    "id, tenant_id, type, status, statement_id, "                            \
    "CASE WHEN ?9 THEN sql END, CASE WHEN ?9 THEN parameters END, "          \
    "idempotency_key, request_hash, db_user, session_id, result, "           \
    "error_code, error_message, sqlstate, created_at, updated_at, "          \
    "started_at, finished_at, row_count"

#define SPECTRA_JOB_LIST_WHERE                                                \
    " FROM jobs WHERE tenant_id = ?1"                                         \
    " AND (?2 IS NULL OR instr(?2, ',' || status || ',') > 0)"               \
    " AND (?3 IS NULL OR instr(?3, ',' || type || ',') > 0)"

static const char  *spectra_job_sql[SPECTRA_SQ_LAST] = {

    /* SPECTRA_SQ_INSERT */
    "INSERT INTO jobs (" SPECTRA_JOB_COLUMNS ") VALUES (?1, ?2, ?3, ?4, ?5,"
    " ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19,"
    " ?20)",

    /* SPECTRA_SQ_GET */
    "SELECT " SPECTRA_JOB_COLUMNS " FROM jobs WHERE id = ?1"
    " AND tenant_id = ?2",

    /* SPECTRA_SQ_KEY */
    "SELECT " SPECTRA_JOB_COLUMNS " FROM jobs WHERE tenant_id = ?1"
    " AND idempotency_key = ?2",

    /*
     * SPECTRA_SQ_UPDATE: NULL leaves a column as it is; a finished status
     * is final; ?16 lists the statuses the job may be in (NULL: any).
     */
    "UPDATE jobs SET status = COALESCE(?3, status),"
    " statement_id = COALESCE(?4, statement_id),"
    " session_id = COALESCE(?5, session_id),"
    " result = COALESCE(?6, result),"
    " error_code = COALESCE(?7, error_code),"
    " error_message = COALESCE(?8, error_message),"
    " sqlstate = COALESCE(?9, sqlstate),"
    " row_count = COALESCE(?10, row_count),"
    " started_at = COALESCE(?11, started_at, ?12),"
    " finished_at = COALESCE(?13, finished_at, ?14),"
    " updated_at = ?15"
    " WHERE id = ?1 AND tenant_id = ?2"
    " AND (?3 IS NULL OR status = ?3 OR status IN ('PENDING', 'RUNNING'))"
    " AND (?16 IS NULL OR instr(?16, ',' || status || ',') > 0)"
    " RETURNING " SPECTRA_JOB_COLUMNS,

    /* SPECTRA_SQ_STATUS */
    "SELECT status FROM jobs WHERE id = ?1 AND tenant_id = ?2",

    /* SPECTRA_SQ_LIST_FIRST */
    "SELECT " SPECTRA_JOB_LIST_COLUMNS SPECTRA_JOB_LIST_WHERE
    " ORDER BY created_at DESC, id DESC LIMIT ?4",

    /* SPECTRA_SQ_LIST_NEXT: after the cursor's (created_at, id) */
    "SELECT " SPECTRA_JOB_LIST_COLUMNS SPECTRA_JOB_LIST_WHERE
    " AND (created_at, id) < (?5, ?6)"
    " ORDER BY created_at DESC, id DESC LIMIT ?4"
};


/* schema migrations: spectra_job_schema[v] takes user_version v to v + 1 */
static const char  *spectra_job_schema[SPECTRA_JOB_SCHEMA_VERSION] = {

    "CREATE TABLE jobs ("
    " id TEXT PRIMARY KEY,"
    " tenant_id TEXT NOT NULL,"
    " type TEXT NOT NULL CHECK (type IN ('query', 'bulk')),"
    " status TEXT NOT NULL CHECK (status IN ('PENDING', 'RUNNING',"
    "  'COMPLETED', 'FAILED', 'CANCELLED', 'TIMEOUT')),"
    " statement_id TEXT,"
    " sql TEXT,"
    " parameters TEXT,"
    " idempotency_key TEXT,"
    " request_hash TEXT,"
    " db_user TEXT,"
    " session_id TEXT,"
    " result TEXT,"
    " error_code TEXT,"
    " error_message TEXT,"
    " sqlstate TEXT,"
    " created_at INTEGER NOT NULL,"
    " updated_at INTEGER NOT NULL,"
    " started_at INTEGER,"
    " finished_at INTEGER,"
    " row_count INTEGER);"
    "CREATE INDEX jobs_tenant_created ON jobs"
    " (tenant_id, created_at DESC, id DESC);"
    "CREATE UNIQUE INDEX jobs_tenant_key ON jobs (tenant_id, idempotency_key)"
    " WHERE idempotency_key IS NOT NULL;"
};


const spectra_job_ops_t  spectra_job_sqlite_ops = {
    "sqlite",
    spectra_job_sqlite_open,
    spectra_job_sqlite_close,
    spectra_job_sqlite_create,
    spectra_job_sqlite_get,
    spectra_job_sqlite_update,
    spectra_job_sqlite_list,
    spectra_job_sqlite_find_key,
    spectra_job_sqlite_cancel,
    spectra_job_sqlite_checkpoint
};


static void
spectra_job_error(spectra_job_err_t *err, const char *fmt, ...)
{
    va_list  ap;

    if (err == NULL) {
        return;
    }

    va_start(ap, fmt);
    vsnprintf(err->message, sizeof(err->message), fmt, ap);
    va_end(ap);
}


static int64_t
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
    if (type != SPECTRA_JOB_QUERY && type != SPECTRA_JOB_BULK) {
        return NULL;
    }

    return spectra_job_types[type];
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

static int
spectra_job_str_ok(const spectra_job_str_t *s, size_t max, int required)
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
spectra_job_json_ok(const spectra_job_str_t *s, size_t max)
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
spectra_job_charset_ok(const spectra_job_str_t *s, const char *set)
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

static size_t
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


static int
spectra_job_check(const spectra_job_t *job, spectra_job_err_t *err)
{
    if (!spectra_job_str_ok(&job->tenant_id, SPECTRA_JOB_TENANT_MAX, 1)) {
        spectra_job_error(err, "tenant_id must be 1 to %d bytes",
                          SPECTRA_JOB_TENANT_MAX);
        return SPECTRA_JOB_INVALID;
    }

    if (spectra_job_type_name(job->type) == NULL) {
        spectra_job_error(err, "unknown job type");
        return SPECTRA_JOB_INVALID;
    }

    if (job->status != SPECTRA_JOB_STATUS_NONE
        && spectra_job_status_name(job->status) == NULL)
    {
        spectra_job_error(err, "unknown job status");
        return SPECTRA_JOB_INVALID;
    }

    if (job->id[0] != '\0'
        && !spectra_job_id_valid(job->id, strlen((char *) job->id)))
    {
        spectra_job_error(err, "malformed job id");
        return SPECTRA_JOB_INVALID;
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
        spectra_job_error(err, "a job field is too long or holds a NUL");
        return SPECTRA_JOB_INVALID;
    }

    if (!spectra_job_json_ok(&job->parameters, SPECTRA_JOB_PARAMETERS_MAX)
        || !spectra_job_json_ok(&job->result, SPECTRA_JOB_RESULT_MAX))
    {
        spectra_job_error(err, "parameters and result must be JSON text "
                          "of bounded size");
        return SPECTRA_JOB_INVALID;
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
        spectra_job_error(err, "malformed error_code, sqlstate or "
                          "error_message");
        return SPECTRA_JOB_INVALID;
    }

    if (job->row_count < -1 || job->created_at < 0 || job->started_at < 0
        || job->finished_at < 0)
    {
        spectra_job_error(err, "negative row_count or time");
        return SPECTRA_JOB_INVALID;
    }

    return SPECTRA_JOB_OK;
}


static int
spectra_job_check_update(const spectra_job_update_t *upd,
    spectra_job_err_t *err)
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
    job.started_at = upd->started_at;
    job.finished_at = upd->finished_at;

    if (upd->from >> (SPECTRA_JOB_TIMEOUT + 1) != 0
        || (upd->from & 1) != 0)
    {
        spectra_job_error(err, "unknown status in the from mask");
        return SPECTRA_JOB_INVALID;
    }

    return spectra_job_check(&job, err);
}


/* ",PENDING,RUNNING," for a mask of statuses (or types) */

static void
spectra_job_mask_text(char *buf, size_t size, unsigned mask, int types)
{
    int          i, last;
    size_t       n;
    const char  *name;

    n = 0;
    buf[n++] = ',';
    last = types ? SPECTRA_JOB_BULK : SPECTRA_JOB_TIMEOUT;

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


/* SQLite */

static int
spectra_job_sqlite_fail(sqlite3 *db, int rc, const char *what,
    spectra_job_err_t *err)
{
    spectra_job_error(err, "job store: %s: %s", what,
                      db != NULL ? sqlite3_errmsg(db) : sqlite3_errstr(rc));

    switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return SPECTRA_JOB_BUSY;

    case SQLITE_NOMEM:
        return SPECTRA_JOB_NOMEM;

    default:
        return SPECTRA_JOB_ERROR;
    }
}


static int
spectra_job_sqlite_exec(sqlite3 *db, const char *sql, spectra_job_err_t *err)
{
    int  rc;

    rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        return spectra_job_sqlite_fail(db, rc, "setup", err);
    }

    return SPECTRA_JOB_OK;
}


static void
spectra_job_sleep(int64_t us)
{
    struct timespec  ts;

    ts.tv_sec = (time_t) (us / 1000000);
    ts.tv_nsec = (long) (us % 1000000) * 1000;

    (void) nanosleep(&ts, NULL);
}


/*
 * Waiting for another process's write lock.  SQLite's own handler sleeps
 * 1, 2, 5, 10 ... 100 ms between tries; a write here holds the lock for
 * some 30 us, so that would stall a worker for milliseconds where tens of
 * microseconds do.  Sleeps start at 20 us and double up to 1 ms, until
 * busy_timeout in all.
 */

static int
spectra_job_sqlite_busy(void *data, int count)
{
    int64_t                us;
    spectra_job_sqlite_t  *sq;

    sq = data;

    if (count == 0) {
        sq->busy_waited = 0;
    }

    if (sq->busy_waited >= sq->busy_timeout) {
        return 0;
    }

    us = (count < 6) ? (int64_t) 20 << count : 1000;

    if (us > sq->busy_timeout - sq->busy_waited) {
        us = sq->busy_timeout - sq->busy_waited;
    }

    spectra_job_sleep(us);
    sq->busy_waited += us;

    return 1;
}


/*
 * Creates or migrates the schema under an IMMEDIATE transaction, so that
 * workers starting together do it once; a newer schema than this code
 * knows is refused rather than misread.
 */

static int
spectra_job_sqlite_schema(sqlite3 *db, spectra_job_err_t *err)
{
    int            rc, version;
    char           sql[64];
    sqlite3_stmt  *st;

    rc = spectra_job_sqlite_exec(db, "BEGIN IMMEDIATE", err);
    if (rc != SPECTRA_JOB_OK) {
        return rc;
    }

    rc = sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL);
    if (rc != SQLITE_OK) {
        rc = spectra_job_sqlite_fail(db, rc, "user_version", err);
        goto rollback;
    }

    version = (sqlite3_step(st) == SQLITE_ROW) ? sqlite3_column_int(st, 0)
                                                : -1;
    sqlite3_finalize(st);

    if (version < 0 || version > SPECTRA_JOB_SCHEMA_VERSION) {
        spectra_job_error(err, "job store: schema version %d is not one "
                          "this module knows (up to %d)", version,
                          SPECTRA_JOB_SCHEMA_VERSION);
        rc = SPECTRA_JOB_ERROR;
        goto rollback;
    }

    for ( /* void */ ; version < SPECTRA_JOB_SCHEMA_VERSION; version++) {
        rc = spectra_job_sqlite_exec(db, spectra_job_schema[version], err);
        if (rc != SPECTRA_JOB_OK) {
            goto rollback;
        }

        snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", version + 1);

        rc = spectra_job_sqlite_exec(db, sql, err);
        if (rc != SPECTRA_JOB_OK) {
            goto rollback;
        }
    }

    return spectra_job_sqlite_exec(db, "COMMIT", err);

rollback:

    (void) sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);

    return rc;
}


static int
spectra_job_sqlite_open(spectra_job_store_t **store,
    const spectra_job_conf_t *conf, spectra_job_err_t *err)
{
    int                    rc, i;
    char                   pragma[64];
    sqlite3               *db;
    sqlite3_stmt          *st;
    spectra_job_sqlite_t  *sq;

    *store = NULL;

    if (conf->path == NULL || conf->path[0] == '\0') {
        spectra_job_error(err, "job store: no database path");
        return SPECTRA_JOB_INVALID;
    }

    sq = calloc(1, sizeof(spectra_job_sqlite_t));
    if (sq == NULL) {
        return SPECTRA_JOB_NOMEM;
    }

    sq->store.ops = &spectra_job_sqlite_ops;

    /* one connection per process, used by one thread at a time */
    rc = sqlite3_open_v2(conf->path, &db,
                         SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE
                         | SQLITE_OPEN_NOMUTEX, NULL);
    sq->db = db;

    if (rc != SQLITE_OK) {
        rc = spectra_job_sqlite_fail(db, rc, conf->path, err);
        goto failed;
    }

    sqlite3_extended_result_codes(db, 1);

    sq->busy_timeout = (int64_t) (conf->busy_timeout_ms > 0
                                  ? conf->busy_timeout_ms : 100) * 1000;
    sqlite3_busy_handler(db, spectra_job_sqlite_busy, sq);

    /*
     * WAL: readers never wait for the writer; NORMAL: a commit does not
     * fsync (a crash of the process loses nothing, power loss may lose
     * the last commits).  Switching a new file to WAL takes a lock that
     * does not go through the busy handler: workers opening the same new
     * file together retry, for up to a second (this runs once, at start).
     */

    for (i = 0; /* void */; i++) {
        rc = sqlite3_prepare_v2(db, "PRAGMA journal_mode = WAL", -1, &st,
                                NULL);
        if (rc != SQLITE_OK) {
            rc = spectra_job_sqlite_fail(db, rc, "journal_mode", err);
            goto failed;
        }

        rc = sqlite3_step(st);

        if (rc == SQLITE_ROW
            && sqlite3_stricmp((const char *) sqlite3_column_text(st, 0),
                               "wal") == 0)
        {
            sqlite3_finalize(st);
            break;
        }

        sqlite3_finalize(st);

        if ((rc & 0xff) != SQLITE_BUSY || i == 1000) {
            spectra_job_error(err, "job store: %s cannot use WAL mode: %s",
                              conf->path, sqlite3_errmsg(db));
            rc = SPECTRA_JOB_ERROR;
            goto failed;
        }

        spectra_job_sleep(1000);
    }

    if (conf->autocheckpoint != 0) {
        snprintf(pragma, sizeof(pragma), "PRAGMA wal_autocheckpoint = %d",
                 conf->autocheckpoint > 0 ? conf->autocheckpoint : 0);

        rc = spectra_job_sqlite_exec(db, pragma, err);
        if (rc != SPECTRA_JOB_OK) {
            goto failed;
        }
    }

    rc = spectra_job_sqlite_exec(db, "PRAGMA synchronous = NORMAL", err);
    if (rc != SPECTRA_JOB_OK) {
        goto failed;
    }

    rc = spectra_job_sqlite_schema(db, err);
    if (rc != SPECTRA_JOB_OK) {
        goto failed;
    }

    for (i = 0; i < SPECTRA_SQ_LAST; i++) {
        rc = sqlite3_prepare_v3(db, spectra_job_sql[i], -1,
                                SQLITE_PREPARE_PERSISTENT, &sq->stmt[i],
                                NULL);
        if (rc != SQLITE_OK) {
            rc = spectra_job_sqlite_fail(db, rc, "prepare", err);
            goto failed;
        }
    }

    *store = &sq->store;

    return SPECTRA_JOB_OK;

failed:

    spectra_job_sqlite_close(&sq->store);

    return rc;
}


static void
spectra_job_sqlite_close(spectra_job_store_t *store)
{
    int                    i;
    spectra_job_sqlite_t  *sq;

    if (store == NULL) {
        return;
    }

    sq = (spectra_job_sqlite_t *) store;

    for (i = 0; i < SPECTRA_SQ_LAST; i++) {
        sqlite3_finalize(sq->stmt[i]);
    }

    sqlite3_close(sq->db);
    free(sq);
}


static int
spectra_job_bind_str(sqlite3_stmt *st, int i, const spectra_job_str_t *s)
{
    if (s->data == NULL) {
        return sqlite3_bind_null(st, i);
    }

    return sqlite3_bind_text(st, i, s->len ? (const char *) s->data : "",
                             (int) s->len, SQLITE_STATIC);
}


static int
spectra_job_sqlite_create(spectra_job_store_t *store, spectra_job_t *job,
    spectra_job_err_t *err)
{
    int                    rc, tries, own_id, i;
    size_t                 n;
    sqlite3_stmt          *st;
    spectra_job_str_t      msg;
    spectra_job_sqlite_t  *sq;

    sq = (spectra_job_sqlite_t *) store;

    rc = spectra_job_check(job, err);
    if (rc != SPECTRA_JOB_OK) {
        return rc;
    }

    own_id = (job->id[0] == '\0');

    if (job->status == SPECTRA_JOB_STATUS_NONE) {
        job->status = SPECTRA_JOB_PENDING;
    }

    if (job->created_at == 0) {
        job->created_at = spectra_job_now();
    }

    job->updated_at = job->created_at;

    msg = job->error_message;
    if (msg.data != NULL) {
        msg.len = spectra_job_utf8_cut(msg.data, msg.len,
                                       SPECTRA_JOB_ERROR_MESSAGE_MAX);
    }

    st = sq->stmt[SPECTRA_SQ_INSERT];

    for (tries = 0; tries < 3; tries++) {
        if (own_id && spectra_job_id_new(job->id) != 0) {
            spectra_job_error(err, "job store: no random bytes for an id");
            return SPECTRA_JOB_ERROR;
        }

        n = strlen((char *) job->id);

        sqlite3_bind_text(st, 1, (const char *) job->id, (int) n,
                          SQLITE_STATIC);
        spectra_job_bind_str(st, 2, &job->tenant_id);
        sqlite3_bind_text(st, 3, spectra_job_types[job->type], -1,
                          SQLITE_STATIC);
        sqlite3_bind_text(st, 4, spectra_job_statuses[job->status], -1,
                          SQLITE_STATIC);
        spectra_job_bind_str(st, 5, &job->statement_id);
        spectra_job_bind_str(st, 6, &job->sql);
        spectra_job_bind_str(st, 7, &job->parameters);
        spectra_job_bind_str(st, 8, &job->idempotency_key);
        spectra_job_bind_str(st, 9, &job->request_hash);
        spectra_job_bind_str(st, 10, &job->db_user);
        spectra_job_bind_str(st, 11, &job->session_id);
        spectra_job_bind_str(st, 12, &job->result);
        spectra_job_bind_str(st, 13, &job->error_code);
        spectra_job_bind_str(st, 14, &msg);
        spectra_job_bind_str(st, 15, &job->sqlstate);
        sqlite3_bind_int64(st, 16, job->created_at);
        sqlite3_bind_int64(st, 17, job->updated_at);

        for (i = 18; i <= 20; i++) {
            sqlite3_bind_null(st, i);
        }

        if (job->started_at > 0) {
            sqlite3_bind_int64(st, 18, job->started_at);
        }

        if (job->finished_at > 0) {
            sqlite3_bind_int64(st, 19, job->finished_at);
        }

        if (job->row_count >= 0) {
            sqlite3_bind_int64(st, 20, job->row_count);
        }

        rc = sqlite3_step(st);
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);

        if (rc == SQLITE_DONE) {
            return SPECTRA_JOB_OK;
        }

        if (rc == SQLITE_CONSTRAINT_PRIMARYKEY && own_id) {
            /* 2^-128 odds; take another id */
            continue;
        }

        if (rc == SQLITE_CONSTRAINT_UNIQUE) {
            spectra_job_error(err, "idempotency key already used");
            return SPECTRA_JOB_DUPLICATE;
        }

        if (rc == SQLITE_CONSTRAINT_PRIMARYKEY) {
            spectra_job_error(err, "job id already exists");
            return SPECTRA_JOB_CONFLICT;
        }

        return spectra_job_sqlite_fail(sq->db, rc, "insert", err);
    }

    spectra_job_error(err, "job store: no free job id");

    return SPECTRA_JOB_ERROR;
}


/* Copies the current row (SPECTRA_JOB_COLUMNS order) into job. */

static int
spectra_job_sqlite_row(sqlite3_stmt *st, spectra_job_t *job,
    const spectra_job_pool_t *pool)
{
    int                 i, n;
    const u_char       *text;
    spectra_job_str_t  *s;
    spectra_job_str_t  *strs[] = {
        NULL, &job->tenant_id, NULL, NULL, &job->statement_id, &job->sql,
        &job->parameters, &job->idempotency_key, &job->request_hash,
        &job->db_user, &job->session_id, &job->result, &job->error_code,
        &job->error_message, &job->sqlstate
    };

    memset(job, 0, sizeof(spectra_job_t));

    text = sqlite3_column_text(st, 0);
    n = sqlite3_column_bytes(st, 0);

    if (text == NULL || n != SPECTRA_JOB_ID_LEN) {
        return SPECTRA_JOB_ERROR;
    }

    memcpy(job->id, text, SPECTRA_JOB_ID_LEN);
    job->id[SPECTRA_JOB_ID_LEN] = '\0';

    job->type = spectra_job_type_parse(sqlite3_column_text(st, 2),
                                       (size_t) sqlite3_column_bytes(st, 2));
    job->status = spectra_job_status_parse(sqlite3_column_text(st, 3),
                                        (size_t) sqlite3_column_bytes(st, 3));

    for (i = 1; i < (int) (sizeof(strs) / sizeof(strs[0])); i++) {
        s = strs[i];

        if (s == NULL || sqlite3_column_type(st, i) == SQLITE_NULL) {
            continue;
        }

        text = sqlite3_column_text(st, i);
        n = sqlite3_column_bytes(st, i);

        if (text == NULL) {
            return SPECTRA_JOB_NOMEM;
        }

        s->data = pool->alloc(pool->pool, (size_t) n + 1);
        if (s->data == NULL) {
            return SPECTRA_JOB_NOMEM;
        }

        memcpy(s->data, text, (size_t) n);
        s->data[n] = '\0';
        s->len = (size_t) n;
    }

    job->created_at = sqlite3_column_int64(st, 15);
    job->updated_at = sqlite3_column_int64(st, 16);
    job->started_at = sqlite3_column_int64(st, 17);
    job->finished_at = sqlite3_column_int64(st, 18);
    job->row_count = (sqlite3_column_type(st, 19) == SQLITE_NULL)
                     ? -1 : sqlite3_column_int64(st, 19);

    return SPECTRA_JOB_OK;
}


/* Runs a bound statement that returns at most one job; resets it. */

static int
spectra_job_sqlite_one(spectra_job_sqlite_t *sq, sqlite3_stmt *st,
    spectra_job_t *job, const spectra_job_pool_t *pool,
    spectra_job_err_t *err)
{
    int  rc;

    rc = sqlite3_step(st);

    if (rc == SQLITE_ROW) {
        rc = (job != NULL) ? spectra_job_sqlite_row(st, job, pool)
                           : SPECTRA_JOB_OK;

        /* run to the end: an UPDATE ... RETURNING commits there */
        while (sqlite3_step(st) == SQLITE_ROW) {
            /* void */
        }

        sqlite3_reset(st);
        sqlite3_clear_bindings(st);

        if (rc != SPECTRA_JOB_OK) {
            spectra_job_error(err, "job store: cannot read a job");
        }

        return rc;
    }

    sqlite3_reset(st);
    sqlite3_clear_bindings(st);

    if (rc == SQLITE_DONE) {
        spectra_job_error(err, "job not found");
        return SPECTRA_JOB_NOT_FOUND;
    }

    return spectra_job_sqlite_fail(sq->db, rc, "query", err);
}


static int
spectra_job_sqlite_get(spectra_job_store_t *store,
    const spectra_job_str_t *tenant_id, const spectra_job_str_t *id,
    spectra_job_t *job, const spectra_job_pool_t *pool,
    spectra_job_err_t *err)
{
    sqlite3_stmt          *st;
    spectra_job_sqlite_t  *sq;

    sq = (spectra_job_sqlite_t *) store;

    if (id->data == NULL || !spectra_job_id_valid(id->data, id->len)
        || !spectra_job_str_ok(tenant_id, SPECTRA_JOB_TENANT_MAX, 1))
    {
        spectra_job_error(err, "job not found");
        return SPECTRA_JOB_NOT_FOUND;
    }

    st = sq->stmt[SPECTRA_SQ_GET];

    spectra_job_bind_str(st, 1, id);
    spectra_job_bind_str(st, 2, tenant_id);

    return spectra_job_sqlite_one(sq, st, job, pool, err);
}


static int
spectra_job_sqlite_find_key(spectra_job_store_t *store,
    const spectra_job_str_t *tenant_id, const spectra_job_str_t *key,
    spectra_job_t *job, const spectra_job_pool_t *pool,
    spectra_job_err_t *err)
{
    sqlite3_stmt          *st;
    spectra_job_sqlite_t  *sq;

    sq = (spectra_job_sqlite_t *) store;

    if (!spectra_job_str_ok(tenant_id, SPECTRA_JOB_TENANT_MAX, 1)
        || !spectra_job_str_ok(key, SPECTRA_JOB_KEY_MAX, 1))
    {
        spectra_job_error(err, "tenant_id or idempotency key is empty, "
                          "too long or holds a NUL");
        return SPECTRA_JOB_INVALID;
    }

    st = sq->stmt[SPECTRA_SQ_KEY];

    spectra_job_bind_str(st, 1, tenant_id);
    spectra_job_bind_str(st, 2, key);

    return spectra_job_sqlite_one(sq, st, job, pool, err);
}


static int
spectra_job_sqlite_update(spectra_job_store_t *store,
    const spectra_job_update_t *upd, spectra_job_t *job,
    const spectra_job_pool_t *pool, spectra_job_err_t *err)
{
    int                    rc;
    char                   from[80];
    int64_t                now;
    sqlite3_stmt          *st;
    spectra_job_str_t      msg;
    spectra_job_status_e   status;
    spectra_job_sqlite_t  *sq;

    sq = (spectra_job_sqlite_t *) store;

    if (upd->id.data == NULL || !spectra_job_id_valid(upd->id.data,
                                                      upd->id.len))
    {
        spectra_job_error(err, "job not found");
        return SPECTRA_JOB_NOT_FOUND;
    }

    rc = spectra_job_check_update(upd, err);
    if (rc != SPECTRA_JOB_OK) {
        return rc;
    }

    now = (upd->now > 0) ? upd->now : spectra_job_now();
    status = upd->status;

    msg = upd->error_message;
    if (msg.data != NULL) {
        msg.len = spectra_job_utf8_cut(msg.data, msg.len,
                                       SPECTRA_JOB_ERROR_MESSAGE_MAX);
    }

    st = sq->stmt[SPECTRA_SQ_UPDATE];

    spectra_job_bind_str(st, 1, &upd->id);
    spectra_job_bind_str(st, 2, &upd->tenant_id);

    if (status != SPECTRA_JOB_STATUS_NONE) {
        sqlite3_bind_text(st, 3, spectra_job_statuses[status], -1,
                          SQLITE_STATIC);
    }

    spectra_job_bind_str(st, 4, &upd->statement_id);
    spectra_job_bind_str(st, 5, &upd->session_id);
    spectra_job_bind_str(st, 6, &upd->result);
    spectra_job_bind_str(st, 7, &upd->error_code);
    spectra_job_bind_str(st, 8, &msg);
    spectra_job_bind_str(st, 9, &upd->sqlstate);

    if (upd->row_count >= 0) {
        sqlite3_bind_int64(st, 10, upd->row_count);
    }

    if (upd->started_at > 0) {
        sqlite3_bind_int64(st, 11, upd->started_at);
    }

    /* a job that ran: RUNNING, or finished other than by cancelling */
    if (status == SPECTRA_JOB_RUNNING
        || (spectra_job_status_final(status)
            && status != SPECTRA_JOB_CANCELLED))
    {
        sqlite3_bind_int64(st, 12, now);
    }

    if (upd->finished_at > 0) {
        sqlite3_bind_int64(st, 13, upd->finished_at);
    }

    if (spectra_job_status_final(status)) {
        sqlite3_bind_int64(st, 14, now);
    }

    sqlite3_bind_int64(st, 15, now);

    if (upd->from != 0) {
        spectra_job_mask_text(from, sizeof(from), upd->from, 0);
        sqlite3_bind_text(st, 16, from, -1, SQLITE_TRANSIENT);
    }

    rc = spectra_job_sqlite_one(sq, st, job, pool, err);

    if (rc != SPECTRA_JOB_NOT_FOUND) {
        return rc;
    }

    /* nothing changed: a missing job, or one whose status forbids it */

    st = sq->stmt[SPECTRA_SQ_STATUS];

    spectra_job_bind_str(st, 1, &upd->id);
    spectra_job_bind_str(st, 2, &upd->tenant_id);

    rc = sqlite3_step(st);

    if (rc == SQLITE_ROW) {
        spectra_job_error(err, "job is %s",
                          (const char *) sqlite3_column_text(st, 0));
        rc = SPECTRA_JOB_CONFLICT;

    } else if (rc == SQLITE_DONE) {
        spectra_job_error(err, "job not found");
        rc = SPECTRA_JOB_NOT_FOUND;

    } else {
        rc = spectra_job_sqlite_fail(sq->db, rc, "query", err);
    }

    sqlite3_reset(st);
    sqlite3_clear_bindings(st);

    return rc;
}


static int
spectra_job_sqlite_cancel(spectra_job_store_t *store,
    const spectra_job_str_t *tenant_id, const spectra_job_str_t *id,
    int64_t now, spectra_job_t *job, const spectra_job_pool_t *pool,
    spectra_job_err_t *err)
{
    int                   rc;
    spectra_job_update_t  upd;

    memset(&upd, 0, sizeof(spectra_job_update_t));

    upd.tenant_id = *tenant_id;
    upd.id = *id;
    upd.status = SPECTRA_JOB_CANCELLED;
    upd.from = SPECTRA_JOB_ACTIVE;
    upd.row_count = -1;
    upd.now = now;

    rc = spectra_job_sqlite_update(store, &upd, job, pool, err);

    if (rc == SPECTRA_JOB_CONFLICT && job != NULL) {
        /* the caller names the status in its 409 */
        if (spectra_job_sqlite_get(store, tenant_id, id, job, pool, err)
            != SPECTRA_JOB_OK)
        {
            return SPECTRA_JOB_ERROR;
        }

        spectra_job_error(err, "job is %s",
                          spectra_job_statuses[job->status]);
    }

    return rc;
}


/*
 * Copies the WAL back into the database file as far as no reader needs it
 * (PASSIVE: it waits for nobody); this is what takes milliseconds.
 */

static int
spectra_job_sqlite_checkpoint(spectra_job_store_t *store,
    spectra_job_err_t *err)
{
    int                    rc;
    spectra_job_sqlite_t  *sq;

    sq = (spectra_job_sqlite_t *) store;

    rc = sqlite3_wal_checkpoint_v2(sq->db, NULL, SQLITE_CHECKPOINT_PASSIVE,
                                   NULL, NULL);
    if (rc != SQLITE_OK) {
        return spectra_job_sqlite_fail(sq->db, rc, "checkpoint", err);
    }

    return SPECTRA_JOB_OK;
}


/*
 * The cursor is the last job's created_at (16 hex digits) and the 26
 * digits of its id: the next page starts strictly after that pair.
 */

static int
spectra_job_sqlite_list(spectra_job_store_t *store,
    const spectra_job_filter_t *filter, spectra_job_list_t *list,
    const spectra_job_pool_t *pool, spectra_job_err_t *err)
{
    int                    rc;
    char                   statuses[80], types[16], hex[17];
    size_t                 i, n;
    int64_t                after;
    u_char                 id[SPECTRA_JOB_ID_LEN + 1];
    sqlite3_stmt          *st;
    spectra_job_t         *last;
    spectra_job_sqlite_t  *sq;

    sq = (spectra_job_sqlite_t *) store;

    list->jobs = NULL;
    list->njobs = 0;
    list->next_cursor[0] = '\0';

    if (!spectra_job_str_ok(&filter->tenant_id, SPECTRA_JOB_TENANT_MAX, 1)) {
        spectra_job_error(err, "tenant_id must be 1 to %d bytes",
                          SPECTRA_JOB_TENANT_MAX);
        return SPECTRA_JOB_INVALID;
    }

    if (filter->limit < 1 || filter->limit > SPECTRA_JOB_LIST_MAX) {
        spectra_job_error(err, "limit must be 1 to %d",
                          SPECTRA_JOB_LIST_MAX);
        return SPECTRA_JOB_INVALID;
    }

    if ((filter->statuses & ~(unsigned) 0x7e) != 0
        || (filter->types & ~(unsigned) 0x6) != 0)
    {
        spectra_job_error(err, "unknown status or type in the filter");
        return SPECTRA_JOB_INVALID;
    }

    if (filter->cursor.data != NULL && filter->cursor.len > 0) {
        if (filter->cursor.len != SPECTRA_JOB_CURSOR_LEN) {
            goto bad_cursor;
        }

        memcpy(hex, filter->cursor.data, 16);
        hex[16] = '\0';

        for (i = 0; i < 16; i++) {
            if (!((hex[i] >= '0' && hex[i] <= '9')
                  || (hex[i] >= 'a' && hex[i] <= 'f')))
            {
                goto bad_cursor;
            }
        }

        after = (int64_t) strtoull(hex, NULL, 16);

        memcpy(id, "job_", 4);
        memcpy(id + 4, filter->cursor.data + 16, 26);

        if (after < 0 || !spectra_job_id_valid(id, SPECTRA_JOB_ID_LEN)) {
            goto bad_cursor;
        }

        st = sq->stmt[SPECTRA_SQ_LIST_NEXT];
        sqlite3_bind_int64(st, 5, after);
        sqlite3_bind_text(st, 6, (const char *) id, SPECTRA_JOB_ID_LEN,
                          SQLITE_TRANSIENT);

    } else {
        st = sq->stmt[SPECTRA_SQ_LIST_FIRST];
    }

    spectra_job_bind_str(st, 1, &filter->tenant_id);

    if (filter->statuses != 0) {
        spectra_job_mask_text(statuses, sizeof(statuses), filter->statuses,
                              0);
        sqlite3_bind_text(st, 2, statuses, -1, SQLITE_TRANSIENT);
    }

    if (filter->types != 0) {
        spectra_job_mask_text(types, sizeof(types), filter->types, 1);
        sqlite3_bind_text(st, 3, types, -1, SQLITE_TRANSIENT);
    }

    /* one more than asked: whether there is a next page */
    sqlite3_bind_int64(st, 4, (sqlite3_int64) filter->limit + 1);
    sqlite3_bind_int(st, 9, filter->with_sql ? 1 : 0);

    list->jobs = pool->alloc(pool->pool,
                             filter->limit * sizeof(spectra_job_t));
    if (list->jobs == NULL) {
        rc = SPECTRA_JOB_NOMEM;
        goto done;
    }

    n = 0;

    for ( ;; ) {
        rc = sqlite3_step(st);

        if (rc == SQLITE_DONE) {
            rc = SPECTRA_JOB_OK;
            break;
        }

        if (rc != SQLITE_ROW) {
            rc = spectra_job_sqlite_fail(sq->db, rc, "list", err);
            goto done;
        }

        if (n == filter->limit) {
            last = &list->jobs[n - 1];
            snprintf((char *) list->next_cursor, sizeof(list->next_cursor),
                     "%016llx%s", (unsigned long long) last->created_at,
                     (char *) last->id + 4);
            rc = SPECTRA_JOB_OK;
            break;
        }

        rc = spectra_job_sqlite_row(st, &list->jobs[n], pool);
        if (rc != SPECTRA_JOB_OK) {
            spectra_job_error(err, "job store: cannot read a job");
            goto done;
        }

        n++;
    }

    list->njobs = n;

done:

    sqlite3_reset(st);
    sqlite3_clear_bindings(st);

    return rc;

bad_cursor:

    spectra_job_error(err, "malformed cursor");

    return SPECTRA_JOB_INVALID;
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
    const spectra_job_str_t *prefix, unsigned flags)
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
    const spectra_job_str_t *prefix, unsigned flags)
{
    spectra_job_out_t  o;

    o.p = NULL;
    o.n = 0;

    spectra_job_render(&o, job, prefix, flags);

    return o.n;
}


u_char *
spectra_job_json(u_char *dst, const spectra_job_t *job,
    const spectra_job_str_t *prefix, unsigned flags)
{
    spectra_job_out_t  o;

    o.p = dst;
    o.n = 0;

    spectra_job_render(&o, job, prefix, flags);

    return o.p;
}
