/*
 * The DynamoDB job store, nginx-free: the request bodies of DynamoDB's
 * JSON 1.0 protocol (DynamoDB_20120810.*) for each store operation and
 * the reading of their answers.  The caller sends the requests (the nginx
 * glue through libcurl in its event loop, signed with SigV4, service
 * "dynamodb"): an operation is a small state machine that hands out one
 * request at a time and is fed each answer, until it ends with a
 * SPECTRA_JOB_* code, as the SQLite store's functions would return.
 *
 * The table (docs/jobs.md): partition key "tenant" (S), sort key "sk"
 * (S) with one item per job ("job#" + id), per idempotency key ("key#"
 * + the database user's length, ':', user, key) and per tenant's active
 * counter ("active"); local secondary index "by_created" on "ord" (S,
 * created_at as 16 hex digits + the id's 26 digits: the list cursor);
 * global secondary index "due" on "act" (S, "1" while the job is
 * PENDING or RUNNING, removed when it finishes) and "due" (N, check_at);
 * TTL attribute "expires" (epoch seconds).
 */

#ifndef SPECTRA_JOB_DYNAMODB_H
#define SPECTRA_JOB_DYNAMODB_H

#include "spectra_jobs.h"


/* returned while the operation needs another request: send *req */
#define SPECTRA_DDB_AGAIN           1

#define SPECTRA_DDB_TARGET_PREFIX   "DynamoDB_20120810."
#define SPECTRA_DDB_CONTENT_TYPE    "application/x-amz-json-1.0"

/* the largest answer read (a Query page is at most 1 MB) */
#define SPECTRA_DDB_ANSWER_MAX      (4 * 1024 * 1024)

/* Query rounds a list page may take when filters skip items */
#define SPECTRA_DDB_LIST_ROUNDS     8


typedef struct {
    spectra_str_t             table;
    int64_t                   retention_ms; /* TTL after a job finishes;
                                               0: none */
} spectra_ddb_conf_t;


typedef struct {
    const char               *operation;    /* "PutItem" */
    spectra_str_t             body;         /* JSON, in the op's pool */
} spectra_ddb_req_t;


typedef struct spectra_ddb_op_s  spectra_ddb_op_t;


/*
 * Each starts an operation with the semantics of the spectra_job_ops_t
 * function of that name (spectra_jobs.h).  Returns SPECTRA_DDB_AGAIN and
 * fills req, or fails at once with a SPECTRA_JOB_* code (bad input).
 * Everything lives in pool; conf must outlive the operation; the results
 * (job, list, n) are filled when the operation ends with SPECTRA_JOB_OK
 * (and, for update and cancel, CONFLICT: the job as the store has it).
 */
int spectra_ddb_create(spectra_ddb_op_t **op, const spectra_ddb_conf_t *conf,
    spectra_job_t *job, unsigned max_active, const spectra_pool_t *pool,
    spectra_ddb_req_t *req, spectra_err_t *err);
int spectra_ddb_get(spectra_ddb_op_t **op, const spectra_ddb_conf_t *conf,
    const spectra_job_owner_t *owner, const spectra_str_t *id,
    spectra_job_t *job, const spectra_pool_t *pool, spectra_ddb_req_t *req,
    spectra_err_t *err);
int spectra_ddb_find_key(spectra_ddb_op_t **op,
    const spectra_ddb_conf_t *conf, const spectra_job_owner_t *owner,
    const spectra_str_t *key, spectra_job_t *job, const spectra_pool_t *pool,
    spectra_ddb_req_t *req, spectra_err_t *err);
/* job may be NULL */
int spectra_ddb_update(spectra_ddb_op_t **op, const spectra_ddb_conf_t *conf,
    const spectra_job_update_t *upd, spectra_job_t *job,
    const spectra_pool_t *pool, spectra_ddb_req_t *req, spectra_err_t *err);
int spectra_ddb_cancel(spectra_ddb_op_t **op, const spectra_ddb_conf_t *conf,
    const spectra_job_owner_t *owner, const spectra_str_t *id, int64_t now,
    spectra_job_t *job, const spectra_pool_t *pool, spectra_ddb_req_t *req,
    spectra_err_t *err);
int spectra_ddb_list(spectra_ddb_op_t **op, const spectra_ddb_conf_t *conf,
    const spectra_job_filter_t *filter, spectra_job_list_t *list,
    const spectra_pool_t *pool, spectra_ddb_req_t *req, spectra_err_t *err);
int spectra_ddb_due(spectra_ddb_op_t **op, const spectra_ddb_conf_t *conf,
    int64_t now, size_t limit, spectra_job_list_t *list,
    const spectra_pool_t *pool, spectra_ddb_req_t *req, spectra_err_t *err);
int spectra_ddb_active(spectra_ddb_op_t **op, const spectra_ddb_conf_t *conf,
    const spectra_str_t *tenant_id, unsigned *n, const spectra_pool_t *pool,
    spectra_ddb_req_t *req, spectra_err_t *err);

/*
 * The answer to the last request: status is its HTTP status (0: none
 * came: the store is unreachable or timed out), body its body.  Returns
 * SPECTRA_DDB_AGAIN with the next request in req, or the operation's end:
 * SPECTRA_JOB_OK or an error code with err filled.  Error answers map:
 * ConditionalCheckFailedException to the step's meaning (DUPLICATE,
 * LIMIT, CONFLICT, NOT_FOUND); ProvisionedThroughputExceededException,
 * ThrottlingException, RequestLimitExceeded, no answer -> BUSY;
 * ValidationException -> INVALID; anything else (5xx) -> ERROR.
 */
int spectra_ddb_answer(spectra_ddb_op_t *op, int status, const u_char *body,
    size_t len, spectra_ddb_req_t *req, spectra_err_t *err);

/*
 * The update applied to job as the store applies it (the status rules,
 * started_at/finished_at, updated_at = now): SPECTRA_JOB_OK, or CONFLICT
 * with job unchanged.  Strings are copied into pool.  The glue keeps its
 * copy of a job with it while the update is under way.
 */
int spectra_ddb_apply(spectra_job_t *job, const spectra_job_update_t *upd,
    int64_t now, const spectra_pool_t *pool, spectra_err_t *err);

/* An item ({"attr": {"S": ...}, ...}) as a job; for the tests. */
int spectra_ddb_item_job(const u_char *json, size_t len, spectra_job_t *job,
    const spectra_pool_t *pool, spectra_err_t *err);

#endif /* SPECTRA_JOB_DYNAMODB_H */
