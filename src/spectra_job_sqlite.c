/*
 * The default job store: one SQLite file in WAL mode shared by every nginx
 * worker, each with its own connection (spectra_jobs.h).
 */

#include "spectra_jobs.h"

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
    SPECTRA_SQ_DUE,
    SPECTRA_SQ_ACTIVE,
    SPECTRA_SQ_PURGE,
    SPECTRA_SQ_LAST
};


typedef struct {
    spectra_job_store_t       store;        /* first: the interface */
    sqlite3                  *db;
    sqlite3_stmt             *stmt[SPECTRA_SQ_LAST];
    int64_t                   busy_timeout; /* microseconds */
    int64_t                   busy_waited;
    int                       autocheckpoint;   /* pages; 0: none */
    void                    (*wal)(void *data, int pages);
    void                     *wal_data;
} spectra_job_sqlite_t;


static int spectra_job_sqlite_open(spectra_job_store_t **store,
    const spectra_job_conf_t *conf, spectra_err_t *err);
static void spectra_job_sqlite_close(spectra_job_store_t *store);
static int spectra_job_sqlite_create(spectra_job_store_t *store,
    spectra_job_t *job, unsigned max_active, spectra_err_t *err);
static int spectra_job_sqlite_due(spectra_job_store_t *store, int64_t now,
    size_t limit, spectra_job_list_t *list, const spectra_pool_t *pool,
    spectra_err_t *err);
static int spectra_job_sqlite_active(spectra_job_store_t *store,
    const spectra_str_t *tenant_id, unsigned *n, spectra_err_t *err);
static int spectra_job_sqlite_get(spectra_job_store_t *store,
    const spectra_job_owner_t *owner, const spectra_str_t *id,
    spectra_job_t *job, const spectra_pool_t *pool,
    spectra_err_t *err);
static int spectra_job_sqlite_update(spectra_job_store_t *store,
    const spectra_job_update_t *upd, spectra_job_t *job,
    const spectra_pool_t *pool, spectra_err_t *err);
static int spectra_job_sqlite_list(spectra_job_store_t *store,
    const spectra_job_filter_t *filter, spectra_job_list_t *list,
    const spectra_pool_t *pool, spectra_err_t *err);
static int spectra_job_sqlite_find_key(spectra_job_store_t *store,
    const spectra_job_owner_t *owner, const spectra_str_t *key,
    spectra_job_t *job, const spectra_pool_t *pool,
    spectra_err_t *err);
static int spectra_job_sqlite_cancel(spectra_job_store_t *store,
    const spectra_job_owner_t *owner, const spectra_str_t *id,
    int64_t now, spectra_job_t *job, const spectra_pool_t *pool,
    spectra_err_t *err);
static int spectra_job_sqlite_checkpoint(spectra_job_store_t *store,
    spectra_err_t *err);
static int spectra_job_sqlite_purge(spectra_job_store_t *store,
    int64_t before, size_t limit, unsigned *n, spectra_err_t *err);

static int spectra_job_sqlite_fail(sqlite3 *db, int rc, const char *what,
    spectra_err_t *err);
static int spectra_job_sqlite_busy(void *data, int count);
static int spectra_job_sqlite_wal(void *data, sqlite3 *db, const char *name,
    int pages);
static void spectra_job_sleep(int64_t us);
static int spectra_job_sqlite_exec(sqlite3 *db, const char *sql,
    spectra_err_t *err);
static int spectra_job_sqlite_schema(sqlite3 *db, spectra_err_t *err);
static int spectra_job_bind_str(sqlite3_stmt *st, int i,
    const spectra_str_t *s);
static int spectra_job_sqlite_row(sqlite3_stmt *st, spectra_job_t *job,
    const spectra_pool_t *pool);
static int spectra_job_sqlite_one(spectra_job_sqlite_t *sq,
    sqlite3_stmt *st, spectra_job_t *job, const spectra_pool_t *pool,
    spectra_err_t *err);



#define SPECTRA_JOB_COLUMNS                                                   \
    "id, tenant_id, type, status, statement_id, sql, parameters, "           \
    "idempotency_key, request_hash, db_user, session_id, result, "           \
    "error_code, error_message, sqlstate, created_at, updated_at, "          \
    "started_at, finished_at, row_count, execution_ms, deadline_at, "        \
    "check_at, phase, warehouse"

/* the same, with sql and parameters only when ?9 is true (lists) */
#define SPECTRA_JOB_LIST_COLUMNS                                              \
    "id, tenant_id, type, status, statement_id, "                            \
    "CASE WHEN ?9 THEN sql END, CASE WHEN ?9 THEN parameters END, "          \
    "idempotency_key, request_hash, db_user, session_id, result, "           \
    "error_code, error_message, sqlstate, created_at, updated_at, "          \
    "started_at, finished_at, row_count, execution_ms, deadline_at, "        \
    "check_at, phase, warehouse"

/* the partial index jobs_active covers exactly this */
#define SPECTRA_JOB_ACTIVE_WHERE  "status IN ('PENDING', 'RUNNING')"
#define SPECTRA_JOB_FINAL_WHERE                                               \
    "status IN ('COMPLETED', 'FAILED', 'CANCELLED', 'TIMEOUT')"

#define SPECTRA_JOB_LIST_WHERE                                                \
    " FROM jobs WHERE tenant_id = ?1 AND db_user IS ?10"                      \
    " AND (?2 IS NULL OR instr(?2, ',' || status || ',') > 0)"               \
    " AND (?3 IS NULL OR instr(?3, ',' || type || ',') > 0)"

static const char  *spectra_job_sql[SPECTRA_SQ_LAST] = {

    /*
     * SPECTRA_SQ_INSERT: one statement, so the count and the insert are
     * atomic under SQLite's single writer; ?24 caps the tenant's active
     * jobs (NULL: no cap); ?25 is the phase, ?26 the warehouse
     */
    "INSERT INTO jobs (" SPECTRA_JOB_COLUMNS ") SELECT ?1, ?2, ?3, ?4, ?5,"
    " ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19,"
    " ?20, ?21, ?22, ?23, ?25, ?26"
    " WHERE ?24 IS NULL OR (SELECT count(*) FROM jobs WHERE tenant_id = ?2"
    " AND " SPECTRA_JOB_ACTIVE_WHERE ") < ?24",

    /* SPECTRA_SQ_GET */
    "SELECT " SPECTRA_JOB_COLUMNS " FROM jobs WHERE id = ?1"
    " AND tenant_id = ?2 AND db_user IS ?3",

    /* SPECTRA_SQ_KEY */
    "SELECT " SPECTRA_JOB_COLUMNS " FROM jobs WHERE tenant_id = ?1"
    " AND db_user IS ?3 AND idempotency_key = ?2",

    /*
     * SPECTRA_SQ_UPDATE: NULL leaves a column as it is; a finished status
     * is final; ?16 lists the statuses the job may be in (NULL: any),
     * ?21 the phase it must be in (NULL: any).
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
    " updated_at = ?15,"
    " execution_ms = COALESCE(?17, execution_ms),"
    " check_at = COALESCE(?18, check_at),"
    " phase = COALESCE(?19, phase),"
    " deadline_at = COALESCE(?20, deadline_at)"
    " WHERE id = ?1 AND tenant_id = ?2"
    " AND (?3 IS NULL OR status = ?3 OR status IN ('PENDING', 'RUNNING'))"
    " AND (?16 IS NULL OR instr(?16, ',' || status || ',') > 0)"
    " AND (?21 IS NULL OR phase IS ?21)"
    " RETURNING " SPECTRA_JOB_COLUMNS,

    /* SPECTRA_SQ_STATUS */
    "SELECT status FROM jobs WHERE id = ?1 AND tenant_id = ?2",

    /* SPECTRA_SQ_LIST_FIRST */
    "SELECT " SPECTRA_JOB_LIST_COLUMNS SPECTRA_JOB_LIST_WHERE
    " ORDER BY created_at DESC, id DESC LIMIT ?4",

    /* SPECTRA_SQ_LIST_NEXT: after the cursor's (created_at, id) */
    "SELECT " SPECTRA_JOB_LIST_COLUMNS SPECTRA_JOB_LIST_WHERE
    " AND (created_at, id) < (?5, ?6)"
    " ORDER BY created_at DESC, id DESC LIMIT ?4",

    /* SPECTRA_SQ_DUE: the supervisor's work, every tenant's */
    "SELECT " SPECTRA_JOB_COLUMNS " FROM jobs WHERE " SPECTRA_JOB_ACTIVE_WHERE
    " AND COALESCE(check_at, 0) <= ?1 ORDER BY COALESCE(check_at, 0)"
    " LIMIT ?2",

    /* SPECTRA_SQ_ACTIVE */
    "SELECT count(*) FROM jobs WHERE tenant_id = ?1"
    " AND " SPECTRA_JOB_ACTIVE_WHERE,

    /* SPECTRA_SQ_PURGE: retention, oldest first, by jobs_finished */
    "DELETE FROM jobs WHERE id IN (SELECT id FROM jobs"
    " WHERE " SPECTRA_JOB_FINAL_WHERE " AND finished_at < ?1"
    " ORDER BY finished_at LIMIT ?2)"
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
    " WHERE idempotency_key IS NOT NULL;",

    /* 1 -> 2: deadlines that hold without a client, the supervisor */
    "ALTER TABLE jobs ADD COLUMN execution_ms INTEGER;"
    "ALTER TABLE jobs ADD COLUMN deadline_at INTEGER;"
    "ALTER TABLE jobs ADD COLUMN check_at INTEGER;"
    "CREATE INDEX jobs_active ON jobs (tenant_id)"
    " WHERE " SPECTRA_JOB_ACTIVE_WHERE ";"
    "CREATE INDEX jobs_active_check ON jobs (check_at)"
    " WHERE " SPECTRA_JOB_ACTIVE_WHERE ";",

    /* 2 -> 3: a job is its database user's, its idempotency key too */
    "DROP INDEX jobs_tenant_key;"
    "CREATE UNIQUE INDEX jobs_owner_key ON jobs"
    " (tenant_id, COALESCE(db_user, ''), idempotency_key)"
    " WHERE idempotency_key IS NOT NULL;",

    /*
     * 3 -> 4: import jobs, and the phase of a job before its statement
     * (an import's "open" or "uploaded"); a CHECK constraint cannot be
     * altered in SQLite, so the table is rebuilt (SQLite's documented
     * procedure), its jobs and indexes kept
     */
    "CREATE TABLE jobs_v4 ("
    " id TEXT PRIMARY KEY,"
    " tenant_id TEXT NOT NULL,"
    " type TEXT NOT NULL CHECK (type IN ('query', 'bulk', 'import')),"
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
    " row_count INTEGER,"
    " execution_ms INTEGER,"
    " deadline_at INTEGER,"
    " check_at INTEGER,"
    " phase TEXT);"
    "INSERT INTO jobs_v4 SELECT id, tenant_id, type, status, statement_id,"
    " sql, parameters, idempotency_key, request_hash, db_user, session_id,"
    " result, error_code, error_message, sqlstate, created_at, updated_at,"
    " started_at, finished_at, row_count, execution_ms, deadline_at,"
    " check_at, NULL FROM jobs;"
    "DROP TABLE jobs;"
    "ALTER TABLE jobs_v4 RENAME TO jobs;"
    "CREATE INDEX jobs_tenant_created ON jobs"
    " (tenant_id, created_at DESC, id DESC);"
    "CREATE INDEX jobs_active ON jobs (tenant_id)"
    " WHERE " SPECTRA_JOB_ACTIVE_WHERE ";"
    "CREATE INDEX jobs_active_check ON jobs (check_at)"
    " WHERE " SPECTRA_JOB_ACTIVE_WHERE ";"
    "CREATE UNIQUE INDEX jobs_owner_key ON jobs"
    " (tenant_id, COALESCE(db_user, ''), idempotency_key)"
    " WHERE idempotency_key IS NOT NULL;",

    /* 4 -> 5: retention deletes finished jobs by their age */
    "CREATE INDEX jobs_finished ON jobs (finished_at)"
    " WHERE " SPECTRA_JOB_FINAL_WHERE ";",

    /*
     * 5 -> 6: the named warehouse a job runs on (NULL: the location's
     * own), which every later call for it goes to
     */
    "ALTER TABLE jobs ADD COLUMN warehouse TEXT;",

    /*
     * 6 -> 7: jobs_active_check served no query: SPECTRA_SQ_DUE orders by
     * COALESCE(check_at, 0), which no index on check_at gives, so SQLite
     * scanned the partial index whole, as it now scans jobs_active (both
     * hold the active jobs only); it cost every job two index writes,
     * at its creation and at its end
     */
    "DROP INDEX IF EXISTS jobs_active_check;"
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
    spectra_job_sqlite_due,
    spectra_job_sqlite_active,
    spectra_job_sqlite_checkpoint,
    spectra_job_sqlite_purge
};


/* SQLite */

static int
spectra_job_sqlite_fail(sqlite3 *db, int rc, const char *what,
    spectra_err_t *err)
{
    int  code;

    switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        code = SPECTRA_JOB_BUSY;
        break;

    case SQLITE_NOMEM:
        code = SPECTRA_JOB_NOMEM;
        break;

    default:
        code = SPECTRA_JOB_ERROR;
    }

    return spectra_err_set(err, code, SPECTRA_POS_NONE, "job store: %s: %s",
                           what, db != NULL ? sqlite3_errmsg(db)
                                            : sqlite3_errstr(rc));
}


static int
spectra_job_sqlite_exec(sqlite3 *db, const char *sql, spectra_err_t *err)
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
spectra_job_sqlite_schema(sqlite3 *db, spectra_err_t *err)
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
        rc = spectra_err_set(err, SPECTRA_JOB_ERROR, SPECTRA_POS_NONE,
                             "job store: schema version %d is not one this "
                             "module knows (up to %d)", version,
                             SPECTRA_JOB_SCHEMA_VERSION);
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
    const spectra_job_conf_t *conf, spectra_err_t *err)
{
    int                    rc, i;
    char                   pragma[64];
    int64_t                busy;
    sqlite3               *db;
    sqlite3_stmt          *st;
    spectra_job_sqlite_t  *sq;

    *store = NULL;

    if (conf->path == NULL || conf->path[0] == '\0') {
        return spectra_err_set(err, SPECTRA_JOB_INVALID, SPECTRA_POS_NONE,
                               "job store: no database path");
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
            rc = spectra_err_set(err, SPECTRA_JOB_ERROR, SPECTRA_POS_NONE,
                                 "job store: %s cannot use WAL mode: %s",
                                 conf->path, sqlite3_errmsg(db));
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

    /*
     * A hook of the caller's: SQLite has one WAL hook per connection, so
     * this one replaces the autocheckpoint's and runs it itself after
     * telling the caller (spectra_job_sqlite_wal()).
     */

    if (conf->wal != NULL) {
        sq->wal = conf->wal;
        sq->wal_data = conf->wal_data;
        sq->autocheckpoint = conf->autocheckpoint > 0
                             ? conf->autocheckpoint
                             : (conf->autocheckpoint == 0 ? 1000 : 0);

        sqlite3_wal_hook(db, spectra_job_sqlite_wal, sq);
    }

    /*
     * Creating or migrating the schema takes the write lock for longer
     * than a job's write: processes opening a new file together (workers
     * after a first start, or the unit test of that) may wait up to a
     * second for it, as for the WAL switch above.
     */
    busy = sq->busy_timeout;
    if (sq->busy_timeout < 1000000) {
        sq->busy_timeout = 1000000;
    }

    rc = spectra_job_sqlite_schema(db, err);

    sq->busy_timeout = busy;

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
spectra_job_bind_str(sqlite3_stmt *st, int i, const spectra_str_t *s)
{
    if (s->data == NULL) {
        return sqlite3_bind_null(st, i);
    }

    return sqlite3_bind_text(st, i, s->len ? (const char *) s->data : "",
                             (int) s->len, SQLITE_STATIC);
}


static int
spectra_job_sqlite_create(spectra_job_store_t *store, spectra_job_t *job,
    unsigned max_active, spectra_err_t *err)
{
    int                    rc, tries, own_id, i;
    size_t                 n;
    sqlite3_stmt          *st;
    spectra_str_t          msg;
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
            return spectra_err_set(err, SPECTRA_JOB_ERROR, SPECTRA_POS_NONE,
                                   "job store: no random bytes for an id");
        }

        n = strlen((char *) job->id);

        sqlite3_bind_text(st, 1, (const char *) job->id, (int) n,
                          SQLITE_STATIC);
        spectra_job_bind_str(st, 2, &job->tenant_id);
        sqlite3_bind_text(st, 3, spectra_job_type_name(job->type), -1,
                          SQLITE_STATIC);
        sqlite3_bind_text(st, 4, spectra_job_status_name(job->status), -1,
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

        for (i = 18; i <= 26; i++) {
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

        if (job->execution_ms >= 0) {
            sqlite3_bind_int64(st, 21, job->execution_ms);
        }

        if (job->deadline_at > 0) {
            sqlite3_bind_int64(st, 22, job->deadline_at);
        }

        if (job->check_at > 0) {
            sqlite3_bind_int64(st, 23, job->check_at);
        }

        if (max_active > 0) {
            sqlite3_bind_int64(st, 24, max_active);
        }

        spectra_job_bind_str(st, 25, &job->phase);
        spectra_job_bind_str(st, 26, &job->warehouse);

        rc = sqlite3_step(st);
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);

        if (rc == SQLITE_DONE) {
            if (sqlite3_changes(sq->db) == 0) {
                return spectra_err_set(err, SPECTRA_JOB_LIMIT, SPECTRA_POS_NONE,
                                       "the tenant has %u active jobs",
                                       max_active);
            }

            return SPECTRA_JOB_OK;
        }

        if (rc == SQLITE_CONSTRAINT_PRIMARYKEY && own_id) {
            /* 2^-128 odds; take another id */
            continue;
        }

        if (rc == SQLITE_CONSTRAINT_UNIQUE) {
            return spectra_err_set(err, SPECTRA_JOB_DUPLICATE, SPECTRA_POS_NONE,
                                   "idempotency key already used");
        }

        if (rc == SQLITE_CONSTRAINT_PRIMARYKEY) {
            return spectra_err_set(err, SPECTRA_JOB_CONFLICT, SPECTRA_POS_NONE,
                                   "job id already exists");
        }

        return spectra_job_sqlite_fail(sq->db, rc, "insert", err);
    }

    return spectra_err_set(err, SPECTRA_JOB_ERROR, SPECTRA_POS_NONE,
                           "job store: no free job id");
}


/* Copies the current row (SPECTRA_JOB_COLUMNS order) into job. */

static int
spectra_job_sqlite_row(sqlite3_stmt *st, spectra_job_t *job,
    const spectra_pool_t *pool)
{
    int                 i, n;
    const u_char       *text;
    spectra_str_t      *s;
    spectra_str_t      *strs[] = {
        NULL, &job->tenant_id, NULL, NULL, &job->statement_id, &job->sql,
        &job->parameters, &job->idempotency_key, &job->request_hash,
        &job->db_user, &job->session_id, &job->result, &job->error_code,
        &job->error_message, &job->sqlstate
    };
    spectra_str_t     *phase = &job->phase;

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
    job->execution_ms = (sqlite3_column_type(st, 20) == SQLITE_NULL)
                        ? -1 : sqlite3_column_int64(st, 20);
    job->deadline_at = sqlite3_column_int64(st, 21);
    job->check_at = sqlite3_column_int64(st, 22);

    for (i = 23; i <= 24; i++) {
        s = (i == 23) ? phase : &job->warehouse;

        if (sqlite3_column_type(st, i) == SQLITE_NULL) {
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

    return SPECTRA_JOB_OK;
}


/* Runs a bound statement that returns at most one job; resets it. */

static int
spectra_job_sqlite_one(spectra_job_sqlite_t *sq, sqlite3_stmt *st,
    spectra_job_t *job, const spectra_pool_t *pool,
    spectra_err_t *err)
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
            spectra_err_set(err, rc, SPECTRA_POS_NONE,
                            "job store: cannot read a job");
        }

        return rc;
    }

    sqlite3_reset(st);
    sqlite3_clear_bindings(st);

    if (rc == SQLITE_DONE) {
        return spectra_err_set(err, SPECTRA_JOB_NOT_FOUND, SPECTRA_POS_NONE,
                               "job not found");
    }

    return spectra_job_sqlite_fail(sq->db, rc, "query", err);
}


static int
spectra_job_sqlite_get(spectra_job_store_t *store,
    const spectra_job_owner_t *owner, const spectra_str_t *id,
    spectra_job_t *job, const spectra_pool_t *pool,
    spectra_err_t *err)
{
    sqlite3_stmt          *st;
    spectra_job_sqlite_t  *sq;

    sq = (spectra_job_sqlite_t *) store;

    if (id->data == NULL || !spectra_job_id_valid(id->data, id->len)
        || !spectra_job_str_ok(&owner->tenant_id, SPECTRA_JOB_TENANT_MAX, 1))
    {
        return spectra_err_set(err, SPECTRA_JOB_NOT_FOUND, SPECTRA_POS_NONE,
                               "job not found");
    }

    st = sq->stmt[SPECTRA_SQ_GET];

    spectra_job_bind_str(st, 1, id);
    spectra_job_bind_str(st, 2, &owner->tenant_id);
    spectra_job_bind_str(st, 3, &owner->db_user);

    return spectra_job_sqlite_one(sq, st, job, pool, err);
}


static int
spectra_job_sqlite_find_key(spectra_job_store_t *store,
    const spectra_job_owner_t *owner, const spectra_str_t *key,
    spectra_job_t *job, const spectra_pool_t *pool,
    spectra_err_t *err)
{
    sqlite3_stmt          *st;
    spectra_job_sqlite_t  *sq;

    sq = (spectra_job_sqlite_t *) store;

    if (!spectra_job_str_ok(&owner->tenant_id, SPECTRA_JOB_TENANT_MAX, 1)
        || !spectra_job_str_ok(key, SPECTRA_JOB_KEY_MAX, 1))
    {
        return spectra_err_set(err, SPECTRA_JOB_INVALID, SPECTRA_POS_NONE,
                               "tenant_id or idempotency key is empty, too "
                               "long or holds a NUL");
    }

    st = sq->stmt[SPECTRA_SQ_KEY];

    spectra_job_bind_str(st, 1, &owner->tenant_id);
    spectra_job_bind_str(st, 2, key);
    spectra_job_bind_str(st, 3, &owner->db_user);

    return spectra_job_sqlite_one(sq, st, job, pool, err);
}


static int
spectra_job_sqlite_update(spectra_job_store_t *store,
    const spectra_job_update_t *upd, spectra_job_t *job,
    const spectra_pool_t *pool, spectra_err_t *err)
{
    int                    rc;
    char                   from[80];
    int64_t                now;
    sqlite3_stmt          *st;
    spectra_str_t          msg;
    spectra_job_status_e   status;
    spectra_job_sqlite_t  *sq;

    sq = (spectra_job_sqlite_t *) store;

    if (upd->id.data == NULL || !spectra_job_id_valid(upd->id.data,
                                                      upd->id.len))
    {
        return spectra_err_set(err, SPECTRA_JOB_NOT_FOUND, SPECTRA_POS_NONE,
                               "job not found");
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
        sqlite3_bind_text(st, 3, spectra_job_status_name(status), -1,
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

    if (upd->execution_ms >= 0) {
        sqlite3_bind_int64(st, 17, upd->execution_ms);
    }

    if (upd->check_at > 0) {
        sqlite3_bind_int64(st, 18, upd->check_at);
    }

    spectra_job_bind_str(st, 19, &upd->phase);

    if (upd->deadline_at > 0) {
        sqlite3_bind_int64(st, 20, upd->deadline_at);
    }

    spectra_job_bind_str(st, 21, &upd->from_phase);

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
        rc = spectra_err_set(err, SPECTRA_JOB_CONFLICT, SPECTRA_POS_NONE,
                             "job is %s",
                             (const char *) sqlite3_column_text(st, 0));

    } else if (rc == SQLITE_DONE) {
        rc = spectra_err_set(err, SPECTRA_JOB_NOT_FOUND, SPECTRA_POS_NONE,
                             "job not found");

    } else {
        rc = spectra_job_sqlite_fail(sq->db, rc, "query", err);
    }

    sqlite3_reset(st);
    sqlite3_clear_bindings(st);

    return rc;
}


static int
spectra_job_sqlite_cancel(spectra_job_store_t *store,
    const spectra_job_owner_t *owner, const spectra_str_t *id,
    int64_t now, spectra_job_t *job, const spectra_pool_t *pool,
    spectra_err_t *err)
{
    int                   rc;
    spectra_job_t         own;
    spectra_job_update_t  upd;

    /* only the owner's: an id of another user of the tenant is not found */
    rc = spectra_job_sqlite_get(store, owner, id, &own, pool, err);

    if (rc != SPECTRA_JOB_OK) {
        return rc;
    }

    memset(&upd, 0, sizeof(spectra_job_update_t));

    upd.tenant_id = owner->tenant_id;
    upd.id = *id;
    upd.status = SPECTRA_JOB_CANCELLED;
    upd.from = SPECTRA_JOB_ACTIVE;
    upd.error_code.data = (u_char *) "CANCELLED";
    upd.error_code.len = sizeof("CANCELLED") - 1;
    upd.error_message.data = (u_char *) "cancelled by the client";
    upd.error_message.len = sizeof("cancelled by the client") - 1;
    upd.row_count = -1;
    upd.execution_ms = -1;
    upd.now = now;

    rc = spectra_job_sqlite_update(store, &upd, job, pool, err);

    if (rc == SPECTRA_JOB_CONFLICT && job != NULL) {
        /* the caller names the status in its 409 */
        if (spectra_job_sqlite_get(store, owner, id, job, pool, err)
            != SPECTRA_JOB_OK)
        {
            return SPECTRA_JOB_ERROR;
        }

        spectra_err_set(err, rc, SPECTRA_POS_NONE, "job is %s",
                        spectra_job_status_name(job->status));
    }

    return rc;
}


/*
 * After each commit of a connection with conf->wal: the caller hears the
 * WAL's size first, then the autocheckpoint runs as SQLite's own hook
 * would run it (sqlite3WalDefaultHook(): PASSIVE, its result ignored).
 */

static int
spectra_job_sqlite_wal(void *data, sqlite3 *db, const char *name, int pages)
{
    spectra_job_sqlite_t  *sq = data;

    sq->wal(sq->wal_data, pages);

    if (sq->autocheckpoint > 0 && pages >= sq->autocheckpoint) {
        (void) sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE,
                                         NULL, NULL);
    }

    return SQLITE_OK;
}


/*
 * Copies the WAL back into the database file as far as no reader needs it
 * (PASSIVE: it waits for nobody); this is what takes milliseconds.
 */

static int
spectra_job_sqlite_checkpoint(spectra_job_store_t *store,
    spectra_err_t *err)
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


static int
spectra_job_sqlite_purge(spectra_job_store_t *store, int64_t before,
    size_t limit, unsigned *n, spectra_err_t *err)
{
    int                    rc;
    sqlite3_stmt          *st;
    spectra_job_sqlite_t  *sq;

    sq = (spectra_job_sqlite_t *) store;
    *n = 0;

    st = sq->stmt[SPECTRA_SQ_PURGE];
    sqlite3_bind_int64(st, 1, before);
    sqlite3_bind_int64(st, 2, (sqlite3_int64) limit);

    rc = sqlite3_step(st);

    if (rc == SQLITE_DONE) {
        *n = (unsigned) sqlite3_changes(sq->db);
        rc = SPECTRA_JOB_OK;

    } else {
        rc = spectra_job_sqlite_fail(sq->db, rc, "purge", err);
    }

    sqlite3_reset(st);
    sqlite3_clear_bindings(st);

    return rc;
}


/*
 * The cursor is the last job's created_at (16 hex digits) and the 26
 * digits of its id: the next page starts strictly after that pair.
 */

static int
spectra_job_sqlite_list(spectra_job_store_t *store,
    const spectra_job_filter_t *filter, spectra_job_list_t *list,
    const spectra_pool_t *pool, spectra_err_t *err)
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

    if (!spectra_job_str_ok(&filter->owner.tenant_id, SPECTRA_JOB_TENANT_MAX,
                            1))
    {
        return spectra_err_set(err, SPECTRA_JOB_INVALID, SPECTRA_POS_NONE,
                               "tenant_id must be 1 to %d bytes",
                               SPECTRA_JOB_TENANT_MAX);
    }

    if (filter->limit < 1 || filter->limit > SPECTRA_JOB_LIST_MAX) {
        return spectra_err_set(err, SPECTRA_JOB_INVALID, SPECTRA_POS_NONE,
                               "limit must be 1 to %d", SPECTRA_JOB_LIST_MAX);
    }

    if ((filter->statuses & ~(unsigned) 0x7e) != 0
        || (filter->types & ~(unsigned) 0xe) != 0)
    {
        return spectra_err_set(err, SPECTRA_JOB_INVALID, SPECTRA_POS_NONE,
                               "unknown status or type in the filter");
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

    spectra_job_bind_str(st, 1, &filter->owner.tenant_id);
    spectra_job_bind_str(st, 10, &filter->owner.db_user);

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
            spectra_err_set(err, rc, SPECTRA_POS_NONE,
                            "job store: cannot read a job");
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

    return spectra_err_set(err, SPECTRA_JOB_INVALID, SPECTRA_POS_NONE,
                           "malformed cursor");
}




static int
spectra_job_sqlite_due(spectra_job_store_t *store, int64_t now,
    size_t limit, spectra_job_list_t *list, const spectra_pool_t *pool,
    spectra_err_t *err)
{
    int                    rc;
    sqlite3_stmt          *st;
    spectra_job_sqlite_t  *sq;

    sq = (spectra_job_sqlite_t *) store;

    memset(list, 0, sizeof(spectra_job_list_t));

    if (limit == 0 || limit > SPECTRA_JOB_LIST_MAX) {
        return spectra_err_set(err, SPECTRA_JOB_INVALID, SPECTRA_POS_NONE,
                               "limit must be 1 to %d", SPECTRA_JOB_LIST_MAX);
    }

    list->jobs = pool->alloc(pool->pool, limit * sizeof(spectra_job_t));
    if (list->jobs == NULL) {
        return SPECTRA_JOB_NOMEM;
    }

    st = sq->stmt[SPECTRA_SQ_DUE];

    sqlite3_bind_int64(st, 1, now);
    sqlite3_bind_int64(st, 2, (sqlite3_int64) limit);

    rc = SPECTRA_JOB_OK;

    while (list->njobs < limit) {
        rc = sqlite3_step(st);

        if (rc == SQLITE_DONE) {
            rc = SPECTRA_JOB_OK;
            break;
        }

        if (rc != SQLITE_ROW) {
            rc = spectra_job_sqlite_fail(sq->db, rc, "due", err);
            break;
        }

        rc = spectra_job_sqlite_row(st, &list->jobs[list->njobs], pool);
        if (rc != SPECTRA_JOB_OK) {
            spectra_err_set(err, rc, SPECTRA_POS_NONE,
                            "job store: unreadable row");
            break;
        }

        list->njobs++;
        rc = SPECTRA_JOB_OK;
    }

    sqlite3_reset(st);
    sqlite3_clear_bindings(st);

    return rc;
}


static int
spectra_job_sqlite_active(spectra_job_store_t *store,
    const spectra_str_t *tenant_id, unsigned *n, spectra_err_t *err)
{
    int                    rc;
    sqlite3_stmt          *st;
    spectra_job_sqlite_t  *sq;

    sq = (spectra_job_sqlite_t *) store;

    st = sq->stmt[SPECTRA_SQ_ACTIVE];
    spectra_job_bind_str(st, 1, tenant_id);

    rc = sqlite3_step(st);

    if (rc == SQLITE_ROW) {
        *n = (unsigned) sqlite3_column_int64(st, 0);
        rc = SPECTRA_JOB_OK;

    } else {
        rc = spectra_job_sqlite_fail(sq->db, rc, "active", err);
    }

    sqlite3_reset(st);
    sqlite3_clear_bindings(st);

    return rc;
}
