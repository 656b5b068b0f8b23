/*
 * The job store: every query and export Spectra runs, always looked up by
 * (tenant, job id), so another tenant's job is exactly as absent as a job
 * that never existed.  One small interface (spectra_job_ops_t) so that a
 * DynamoDB store can come later; the default is SQLite in WAL mode, one
 * file shared by every nginx worker, each with its own connection opened
 * after fork (a store is not shared between processes or threads).
 *
 * Guarantees of every store:
 * - job ids are "job_" + 26 characters of Crockford base32 (lowercase)
 *   encoding 128 random bits from OpenSSL's RAND_bytes;
 * - a finished status (COMPLETED, FAILED, CANCELLED, TIMEOUT) is final:
 *   an update to another status is a CONFLICT;
 * - lists are newest first, ties broken by id, paged by an opaque cursor;
 * - an idempotency key is unique per tenant (DUPLICATE on reuse);
 * - inputs are checked (lengths, status and type names, JSON text) and
 *   rejected with INVALID, never truncated, except error_message, which
 *   is cut to SPECTRA_JOB_ERROR_MESSAGE_MAX bytes on a UTF-8 boundary.
 * Times are milliseconds since the Unix epoch (UTC); the API shows them as
 * ISO-8601 strings ("2026-01-02T03:04:05.678Z").
 */

#ifndef SPECTRA_JOBS_H
#define SPECTRA_JOBS_H

#include "spectra_core.h"


#define SPECTRA_JOB_OK                  0
#define SPECTRA_JOB_NOT_FOUND          -1   /* no such job for this tenant */
#define SPECTRA_JOB_CONFLICT           -2   /* its status does not allow it */
#define SPECTRA_JOB_DUPLICATE          -3   /* idempotency key already used */
#define SPECTRA_JOB_INVALID            -4   /* bad input */
#define SPECTRA_JOB_BUSY               -5   /* locked past busy_timeout */
#define SPECTRA_JOB_ERROR              -6   /* storage failed */
#define SPECTRA_JOB_NOMEM              -7
#define SPECTRA_JOB_LIMIT              -8   /* the tenant's active cap */

#define SPECTRA_JOB_ID_LEN              30  /* "job_" + 26 */
#define SPECTRA_JOB_CURSOR_LEN          42
#define SPECTRA_JOB_TIME_LEN            24  /* 2026-01-02T03:04:05.678Z */

#define SPECTRA_JOB_TENANT_MAX          128
#define SPECTRA_JOB_KEY_MAX             255
#define SPECTRA_JOB_HASH_MAX            128
#define SPECTRA_JOB_STATEMENT_ID_MAX    128
#define SPECTRA_JOB_DB_USER_MAX         128
#define SPECTRA_JOB_SESSION_ID_MAX      128
#define SPECTRA_JOB_SQL_MAX             (1024 * 1024)
#define SPECTRA_JOB_PARAMETERS_MAX      (64 * 1024)
#define SPECTRA_JOB_RESULT_MAX          (1024 * 1024)
#define SPECTRA_JOB_ERROR_CODE_MAX      64
#define SPECTRA_JOB_ERROR_MESSAGE_MAX   2048
#define SPECTRA_JOB_LIST_MAX            1000

/* the SQLite schema this code writes (PRAGMA user_version) */
#define SPECTRA_JOB_SCHEMA_VERSION      7

/* a job's phase before its statement: [a-z_], e.g. an import's "open" */
#define SPECTRA_JOB_PHASE_MAX           32

/* a job's named warehouse: [A-Za-z0-9_-] (spectra_warehouse.h) */
#define SPECTRA_JOB_WAREHOUSE_MAX       64


typedef enum {
    SPECTRA_JOB_STATUS_NONE = 0,          /* unknown / unchanged */
    SPECTRA_JOB_PENDING,
    SPECTRA_JOB_RUNNING,
    SPECTRA_JOB_COMPLETED,
    SPECTRA_JOB_FAILED,
    SPECTRA_JOB_CANCELLED,
    SPECTRA_JOB_TIMEOUT
} spectra_job_status_e;

#define SPECTRA_JOB_MASK(status)     (1u << (status))
#define SPECTRA_JOB_ACTIVE           (SPECTRA_JOB_MASK(SPECTRA_JOB_PENDING)  \
                                      | SPECTRA_JOB_MASK(SPECTRA_JOB_RUNNING))

typedef enum {
    SPECTRA_JOB_TYPE_NONE = 0,
    SPECTRA_JOB_QUERY,
    SPECTRA_JOB_BULK,
    SPECTRA_JOB_IMPORT
} spectra_job_type_e;

/* the phases of an import job while it is PENDING without a statement */
#define SPECTRA_JOB_PHASE_OPEN          "open"      /* waiting for its file */
#define SPECTRA_JOB_PHASE_UPLOADED      "uploaded"  /* COPY being submitted */


/* A string field with data == NULL is absent (SQL NULL). */
typedef struct {
    u_char                    id[SPECTRA_JOB_ID_LEN + 1];
    spectra_str_t             tenant_id;
    spectra_job_type_e        type;
    spectra_job_status_e      status;
    spectra_str_t             statement_id;     /* Data API Id */
    spectra_str_t             sql;              /* audit trail */
    spectra_str_t             parameters;       /* JSON text */
    spectra_str_t             idempotency_key;
    spectra_str_t             request_hash;
    spectra_str_t             db_user;
    spectra_str_t             session_id;       /* Data API SessionId */
    spectra_str_t             result;           /* JSON text */
    spectra_str_t             error_code;       /* e.g. QUERY_FAILED */
    spectra_str_t             error_message;
    spectra_str_t             sqlstate;         /* 5 characters */
    int64_t                   created_at;       /* ms; 0: not yet */
    int64_t                   updated_at;
    int64_t                   started_at;
    int64_t                   finished_at;
    int64_t                   row_count;        /* -1: unknown */
    int64_t                   execution_ms;     /* -1: unknown */
    int64_t                   deadline_at;      /* ms; 0: none */
    int64_t                   check_at;         /* ms: when the supervisor
                                                   looks at it next */
    spectra_str_t             phase;            /* SPECTRA_JOB_PHASE_* */
    spectra_str_t             warehouse;        /* absent: the location's
                                                   own Data API settings */
} spectra_job_t;


/*
 * A change to one job.  Absent strings (data == NULL), row_count -1 and
 * status NONE leave a field as it is.  started_at and finished_at, when 0,
 * are set to "now" the first time the job reaches a status that implies
 * them (RUNNING or a finished one that is not CANCELLED; any finished one).
 */
typedef struct {
    spectra_str_t             tenant_id;
    spectra_str_t             id;
    spectra_job_status_e      status;
    unsigned                  from;         /* allowed current statuses,
                                               SPECTRA_JOB_MASK()s; 0: any */
    spectra_str_t             statement_id;
    spectra_str_t             session_id;
    spectra_str_t             result;
    spectra_str_t             error_code;
    spectra_str_t             error_message;
    spectra_str_t             sqlstate;
    int64_t                   row_count;
    int64_t                   execution_ms; /* -1: as it is */
    int64_t                   started_at;
    int64_t                   finished_at;
    int64_t                   check_at;     /* 0: as it is */
    int64_t                   deadline_at;  /* 0: as it is */
    spectra_str_t             phase;        /* absent: as it is */
    spectra_str_t             from_phase;   /* absent: any; else the phase
                                               the job must be in */
    int64_t                   now;          /* updated_at; 0: the clock */
} spectra_job_update_t;


/*
 * Whose jobs a caller may see: its tenant's, run as its own database user.
 * A tenant's users see each other's rows only as far as the warehouse lets
 * them, so a job (its rows, SQL, parameters, idempotency key) belongs to
 * the user that ran it.  db_user data NULL: jobs recorded without one.
 */
typedef struct {
    spectra_str_t             tenant_id;
    spectra_str_t             db_user;
} spectra_job_owner_t;


typedef struct {
    spectra_job_owner_t       owner;
    unsigned                  statuses;     /* SPECTRA_JOB_MASK()s, 0: all */
    unsigned                  types;        /* 1 << type, 0: all */
    spectra_str_t             cursor;       /* next_cursor of the last page */
    size_t                    limit;        /* 1 .. SPECTRA_JOB_LIST_MAX */
    int                       with_sql;     /* also read sql, parameters */
} spectra_job_filter_t;


typedef struct {
    spectra_job_t            *jobs;
    size_t                    njobs;
    u_char                    next_cursor[SPECTRA_JOB_CURSOR_LEN + 1];
                                            /* "" on the last page */
} spectra_job_list_t;


typedef struct {
    const char               *path;         /* the SQLite file */
    int                       busy_timeout_ms;  /* 0: 100 */
    int                       autocheckpoint;   /* WAL pages between the
                                                   checkpoints a commit runs;
                                                   0: SQLite's 1000, -1: none,
                                                   call checkpoint() */
    void                    (*wal)(void *data, int pages);
                                            /* NULL, or called after each
                                               commit of this connection
                                               with the WAL's size in pages
                                               (before any autocheckpoint):
                                               when to checkpoint elsewhere */
    void                     *wal_data;
} spectra_job_conf_t;


typedef struct spectra_job_store_s  spectra_job_store_t;

/*
 * Records a store reads live in the caller's pool and are never freed by
 * the store.  A failure returns SPECTRA_JOB_* and fills err (which may be
 * NULL) with that code and a message; job errors have no position.
 */
typedef struct {
    const char               *name;

    int                     (*open)(spectra_job_store_t **store,
                                    const spectra_job_conf_t *conf,
                                    spectra_err_t *err);
    void                    (*close)(spectra_job_store_t *store);

    /*
     * fills in id (unless set), status PENDING (unless set), times;
     * with max_active > 0 the job is created only while its tenant has
     * fewer PENDING or RUNNING jobs (LIMIT otherwise), atomically, so
     * that concurrent workers cannot overshoot the cap together
     */
    int                     (*create)(spectra_job_store_t *store,
                                      spectra_job_t *job,
                                      unsigned max_active,
                                      spectra_err_t *err);
    int                     (*get)(spectra_job_store_t *store,
                                   const spectra_job_owner_t *owner,
                                   const spectra_str_t *id,
                                   spectra_job_t *job,
                                   const spectra_pool_t *pool,
                                   spectra_err_t *err);
    /* job (may be NULL) receives the job as updated */
    int                     (*update)(spectra_job_store_t *store,
                                      const spectra_job_update_t *upd,
                                      spectra_job_t *job,
                                      const spectra_pool_t *pool,
                                      spectra_err_t *err);
    int                     (*list)(spectra_job_store_t *store,
                                    const spectra_job_filter_t *filter,
                                    spectra_job_list_t *list,
                                    const spectra_pool_t *pool,
                                    spectra_err_t *err);
    /* the owner's job with this idempotency key, request_hash included */
    int                     (*find_key)(spectra_job_store_t *store,
                                        const spectra_job_owner_t *owner,
                                        const spectra_str_t *key,
                                        spectra_job_t *job,
                                        const spectra_pool_t *pool,
                                        spectra_err_t *err);
    /*
     * PENDING or RUNNING -> CANCELLED; a finished job is a CONFLICT.
     * Either way job (may be NULL) receives the job, so the caller can
     * send CancelStatement for its statement_id or name its status.
     */
    int                     (*cancel)(spectra_job_store_t *store,
                                      const spectra_job_owner_t *owner,
                                      const spectra_str_t *id,
                                      int64_t now, spectra_job_t *job,
                                      const spectra_pool_t *pool,
                                      spectra_err_t *err);
    /*
     * Active jobs of every tenant whose check_at or deadline_at is due
     * (<= now), soonest first, at most limit of them, for the supervisor.
     */
    int                     (*due)(spectra_job_store_t *store, int64_t now,
                                   size_t limit, spectra_job_list_t *list,
                                   const spectra_pool_t *pool,
                                   spectra_err_t *err);
    /* How many PENDING or RUNNING jobs the tenant has. */
    int                     (*active)(spectra_job_store_t *store,
                                      const spectra_str_t *tenant_id,
                                      unsigned *n, spectra_err_t *err);
    /*
     * Housekeeping that may take milliseconds (SQLite: a WAL checkpoint).
     * With autocheckpoint -1, run it now and then off the event loop.
     */
    int                     (*checkpoint)(spectra_job_store_t *store,
                                          spectra_err_t *err);
    /*
     * Retention: deletes up to limit finished jobs (COMPLETED, FAILED,
     * CANCELLED, TIMEOUT) that finished before `before` (ms), oldest
     * first; *n is how many went.  Active jobs are never deleted.
     */
    int                     (*purge)(spectra_job_store_t *store,
                                     int64_t before, size_t limit,
                                     unsigned *n, spectra_err_t *err);
} spectra_job_ops_t;


/* Every store begins with this. */
struct spectra_job_store_s {
    const spectra_job_ops_t  *ops;
};


/* SQLite in WAL mode, synchronous=NORMAL. */
extern const spectra_job_ops_t  spectra_job_sqlite_ops;


/* flags of spectra_job_json() */
#define SPECTRA_JOB_JSON_SQL      0x01      /* "sql" and "parameters" */
#define SPECTRA_JOB_JSON_RESULT   0x02      /* the stored "result" as is */
#define SPECTRA_JOB_JSON_OPEN     0x04      /* no closing '}': caller adds */


/* A fresh random job id, NUL terminated; -1 if RAND_bytes failed. */
int spectra_job_id_new(u_char id[SPECTRA_JOB_ID_LEN + 1]);

/* Whether p is a well-formed job id (a cheap 404 before any lookup). */
int spectra_job_id_valid(const u_char *p, size_t len);

const char *spectra_job_status_name(spectra_job_status_e status);
spectra_job_status_e spectra_job_status_parse(const u_char *p, size_t len);
int spectra_job_status_final(spectra_job_status_e status);

const char *spectra_job_type_name(spectra_job_type_e type);

/*
 * An import job's state, as Salesforce Bulk API 2.0 names them: PENDING
 * in phase "open" -> "Open"; PENDING otherwise -> "UploadComplete";
 * RUNNING -> "InProgress"; COMPLETED -> "JobComplete"; FAILED and
 * TIMEOUT -> "Failed"; CANCELLED -> "Aborted".
 */
const char *spectra_job_import_state(const spectra_job_t *job);
spectra_job_type_e spectra_job_type_parse(const u_char *p, size_t len);

/*
 * Data API statement Status to job status: SUBMITTED and PICKED ->
 * PENDING, STARTED -> RUNNING, FINISHED -> COMPLETED, FAILED -> FAILED,
 * ABORTED -> CANCELLED; anything else -> NONE.
 */
spectra_job_status_e spectra_job_status_from_dataapi(const u_char *p,
    size_t len);

/*
 * "2026-01-02T03:04:05.678Z" (SPECTRA_JOB_TIME_LEN bytes, no NUL); a
 * negative time is the epoch, one past year 9999 is 9999-12-31T23:59:59.999Z.
 */
u_char *spectra_job_time(u_char *dst, int64_t ms);

/*
 * The job as the API shows it: {"job_id", "type", "status", times,
 * "row_count", "error": {...}, "links": {...}} with links under prefix
 * (e.g. "" or "https://api.example.com").  Never shows statement_id,
 * request_hash, db_user or session_id.  spectra_job_json_len() gives the
 * exact size.
 */
size_t spectra_job_json_len(const spectra_job_t *job,
    const spectra_str_t *prefix, unsigned flags);
u_char *spectra_job_json(u_char *dst, const spectra_job_t *job,
    const spectra_str_t *prefix, unsigned flags);


/* For the stores: the checks and helpers every store applies. */

int64_t spectra_job_now(void);
int spectra_job_str_ok(const spectra_str_t *s, size_t max,
    int required);
size_t spectra_job_utf8_cut(const u_char *p, size_t len, size_t max);
int spectra_job_check(const spectra_job_t *job, spectra_err_t *err);
int spectra_job_check_update(const spectra_job_update_t *upd,
    spectra_err_t *err);
/* ",PENDING,RUNNING," for a mask of statuses (types: of types) */
void spectra_job_mask_text(char *buf, size_t size, unsigned mask,
    int types);

#endif /* SPECTRA_JOBS_H */
