/*
 * The DynamoDB job store's requests and answers (spectra_job_dynamodb.c):
 * each operation's requests, as DynamoDB's JSON 1.0 protocol wants them,
 * fed canned answers: the good ones, the error answers of each step, and
 * hostile or broken ones (not JSON, missing members, wrong types, huge).
 * t/090-jobs-dynamodb.t runs the same against dynalite through nginx.
 */

#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spectra_job_dynamodb.h"


#define T_ID    "job_0123456789abcdefghjkmnpqrs"
#define T_ID2   "job_1123456789abcdefghjkmnpqrs"

#define CCF     "{\"__type\":\"com.amazonaws.dynamodb.v20120810#" \
                "ConditionalCheckFailedException\",\"message\":\"The " \
                "conditional request failed\"}"


/* the pool's blocks, freed after each test as a pool is destroyed */
typedef struct t_block_s  t_block_t;

struct t_block_s {
    t_block_t  *next;
    size_t      size;
};

static t_block_t  *t_blocks;


static void *
t_alloc(void *pool, size_t size)
{
    t_block_t  *b;

    (void) pool;

    b = malloc(sizeof(t_block_t) + size);
    if (b == NULL) {
        return NULL;
    }

    b->next = t_blocks;
    b->size = size;
    t_blocks = b;

    return b + 1;
}


static void
t_pool_free(void)
{
    t_block_t  *b, *next;

    for (b = t_blocks; b != NULL; b = next) {
        next = b->next;
        free(b);
    }

    t_blocks = NULL;
}


static spectra_pool_t      pool = { t_alloc, NULL };
static spectra_ddb_conf_t  conf = { { 10, (u_char *) "jobs-table" },
                                    7 * 86400 * 1000LL };


static json_t *
t_body(const spectra_ddb_req_t *req)
{
    json_t        *j;
    json_error_t   e;

    j = json_loadb((const char *) req->body.data, req->body.len, 0, &e);
    ck_assert_msg(j != NULL, "request is not JSON: %.*s",
                  (int) req->body.len, req->body.data);
    ck_assert_str_eq(json_string_value(json_object_get(j, "TableName")),
                     "jobs-table");

    return j;
}


static const char *
t_str(json_t *j, const char *path)
{
    char        buf[256], *p, *save;
    json_t     *v;

    snprintf(buf, sizeof(buf), "%s", path);
    v = j;

    for (p = strtok_r(buf, ".", &save); p; p = strtok_r(NULL, ".", &save)) {
        v = json_object_get(v, p);
    }

    return json_string_value(v);
}


static int
t_answer(spectra_ddb_op_t *op, int status, const char *body,
    spectra_ddb_req_t *req, spectra_err_t *err)
{
    return spectra_ddb_answer(op, status, (const u_char *) body,
                              strlen(body), req, err);
}


static void
t_job(spectra_job_t *job)
{
    memset(job, 0, sizeof(spectra_job_t));
    job->tenant_id.data = (u_char *) "acme";
    job->tenant_id.len = 4;
    job->type = SPECTRA_JOB_QUERY;
    job->row_count = -1;
    job->execution_ms = -1;
    job->check_at = 1000;
    job->sql.data = (u_char *) "select 1";
    job->sql.len = 8;
}


static const char *
t_item(const char *status, const char *extra)
{
    static char  buf[2048];

    snprintf(buf, sizeof(buf),
             "{\"tenant\":{\"S\":\"acme\"},\"sk\":{\"S\":\"job#" T_ID "\"},"
             "\"id\":{\"S\":\"" T_ID "\"},\"type\":{\"S\":\"query\"},"
             "\"status\":{\"S\":\"%s\"},\"created_at\":{\"N\":\"5000\"},"
             "\"updated_at\":{\"N\":\"5000\"},\"sql\":{\"S\":\"select 1\"}"
             "%s}", status, extra);

    return buf;
}


START_TEST(test_create)
{
    int                 rc;
    json_t             *j;
    spectra_job_t       job;
    spectra_ddb_op_t   *op;
    spectra_ddb_req_t   req;
    spectra_err_t       err;

    t_job(&job);

    /* no key: the counter (no cap), then the job */
    rc = spectra_ddb_create(&op, &conf, &job, 0, &pool, &req, &err);
    ck_assert_int_eq(rc, SPECTRA_DDB_AGAIN);
    ck_assert_str_eq(req.operation, "UpdateItem");
    j = t_body(&req);
    ck_assert_str_eq(t_str(j, "Key.sk.S"), "active");
    ck_assert_str_eq(t_str(j, "UpdateExpression"), "ADD #n :d");
    ck_assert_ptr_null(json_object_get(j, "ConditionExpression"));
    json_decref(j);

    rc = t_answer(op, 200, "{}", &req, &err);
    ck_assert_int_eq(rc, SPECTRA_DDB_AGAIN);
    ck_assert_str_eq(req.operation, "PutItem");
    j = t_body(&req);
    ck_assert_str_eq(t_str(j, "ConditionExpression"),
                     "attribute_not_exists(sk)");
    ck_assert(spectra_job_id_valid(job.id, strlen((char *) job.id)));
    ck_assert_str_eq(t_str(j, "Item.id.S"), (char *) job.id);
    ck_assert_str_eq(t_str(j, "Item.status.S"), "PENDING");
    ck_assert_str_eq(t_str(j, "Item.sql.S"), "select 1");
    ck_assert_str_eq(t_str(j, "Item.act.S"), "1");
    ck_assert_str_eq(t_str(j, "Item.due.N"), "1000");
    /* the cursor's order: created_at in 16 hex digits, the id's digits */
    ck_assert_int_eq(strlen(t_str(j, "Item.ord.S")), SPECTRA_JOB_CURSOR_LEN);
    ck_assert_str_eq(t_str(j, "Item.ord.S") + 16, (char *) job.id + 4);
    /* absent members are absent, not empty */
    ck_assert_ptr_null(json_object_get(json_object_get(j, "Item"),
                                       "statement_id"));
    ck_assert_ptr_null(json_object_get(json_object_get(j, "Item"),
                                       "row_count"));
    json_decref(j);

    rc = t_answer(op, 200, "{}", &req, &err);
    ck_assert_int_eq(rc, SPECTRA_JOB_OK);
}
END_TEST


START_TEST(test_create_key_and_cap)
{
    int                 rc;
    json_t             *j;
    spectra_job_t       job;
    spectra_ddb_op_t   *op;
    spectra_ddb_req_t   req;
    spectra_err_t       err;

    t_job(&job);
    job.idempotency_key.data = (u_char *) "k1";
    job.idempotency_key.len = 2;
    job.db_user.data = (u_char *) "tenant_acme";
    job.db_user.len = 11;

    /* the key's item first: taken -> DUPLICATE */
    rc = spectra_ddb_create(&op, &conf, &job, 3, &pool, &req, &err);
    ck_assert_int_eq(rc, SPECTRA_DDB_AGAIN);
    ck_assert_str_eq(req.operation, "PutItem");
    j = t_body(&req);
    ck_assert_str_eq(t_str(j, "Item.sk.S"), "key#11:tenant_acmek1");
    ck_assert_str_eq(t_str(j, "Item.job.S"), (char *) job.id);
    json_decref(j);

    rc = t_answer(op, 400, CCF, &req, &err);
    ck_assert_int_eq(rc, SPECTRA_JOB_DUPLICATE);

    /* the key's item, then the cap: full -> the key goes back, LIMIT */
    t_job(&job);
    job.idempotency_key.data = (u_char *) "k1";
    job.idempotency_key.len = 2;

    rc = spectra_ddb_create(&op, &conf, &job, 3, &pool, &req, &err);
    ck_assert_int_eq(rc, SPECTRA_DDB_AGAIN);
    j = t_body(&req);
    /* a job without a database user: its keys do not meet a user's */
    ck_assert_str_eq(t_str(j, "Item.sk.S"), "key#-1:k1");
    json_decref(j);

    rc = t_answer(op, 200, "{}", &req, &err);
    ck_assert_int_eq(rc, SPECTRA_DDB_AGAIN);
    ck_assert_str_eq(req.operation, "UpdateItem");
    j = t_body(&req);
    ck_assert_str_eq(t_str(j, "ConditionExpression"),
                     "attribute_not_exists(#n) OR #n < :cap");
    ck_assert_str_eq(t_str(j, "ExpressionAttributeValues.:cap.N"), "3");
    json_decref(j);

    rc = t_answer(op, 400, CCF, &req, &err);
    ck_assert_int_eq(rc, SPECTRA_DDB_AGAIN);
    ck_assert_str_eq(req.operation, "DeleteItem");
    j = t_body(&req);
    ck_assert_str_eq(t_str(j, "Key.sk.S"), "key#-1:k1");
    json_decref(j);

    rc = t_answer(op, 200, "{}", &req, &err);
    ck_assert_int_eq(rc, SPECTRA_JOB_LIMIT);

    /* the job's put fails: the counter and the key go back, then ERROR */
    t_job(&job);
    job.idempotency_key.data = (u_char *) "k2";
    job.idempotency_key.len = 2;

    rc = spectra_ddb_create(&op, &conf, &job, 0, &pool, &req, &err);
    rc = t_answer(op, 200, "{}", &req, &err);
    rc = t_answer(op, 200, "{}", &req, &err);
    ck_assert_str_eq(req.operation, "PutItem");
    rc = t_answer(op, 500, "{\"__type\":\"InternalServerError\"}", &req,
                  &err);
    ck_assert_int_eq(rc, SPECTRA_DDB_AGAIN);
    ck_assert_str_eq(req.operation, "UpdateItem");
    j = t_body(&req);
    ck_assert_str_eq(t_str(j, "ExpressionAttributeValues.:d.N"), "-1");
    json_decref(j);
    rc = t_answer(op, 200, "{}", &req, &err);
    ck_assert_int_eq(rc, SPECTRA_DDB_AGAIN);
    ck_assert_str_eq(req.operation, "DeleteItem");
    rc = t_answer(op, 0, "", &req, &err);
    ck_assert_int_eq(rc, SPECTRA_JOB_ERROR);
    ck_assert_ptr_nonnull(strstr(err.message, "500"));
}
END_TEST


START_TEST(test_get)
{
    int                  rc;
    char                 buf[8192];
    json_t              *j;
    spectra_job_t        job;
    spectra_str_t        id = { 30, (u_char *) T_ID };
    spectra_ddb_op_t    *op;
    spectra_ddb_req_t    req;
    spectra_err_t        err;
    spectra_job_owner_t  owner = { { 4, (u_char *) "acme" }, { 0, NULL } };

    rc = spectra_ddb_get(&op, &conf, &owner, &id, &job, &pool, &req, &err);
    ck_assert_int_eq(rc, SPECTRA_DDB_AGAIN);
    ck_assert_str_eq(req.operation, "GetItem");
    j = t_body(&req);
    ck_assert_str_eq(t_str(j, "Key.tenant.S"), "acme");
    ck_assert_str_eq(t_str(j, "Key.sk.S"), "job#" T_ID);
    ck_assert(json_is_true(json_object_get(j, "ConsistentRead")));
    json_decref(j);

    snprintf(buf, sizeof(buf), "{\"Item\":%s}",
             t_item("RUNNING", ",\"row_count\":{\"N\":\"7\"}"));
    rc = t_answer(op, 200, buf, &req, &err);
    ck_assert_int_eq(rc, SPECTRA_JOB_OK);
    ck_assert_str_eq((char *) job.id, T_ID);
    ck_assert_int_eq(job.status, SPECTRA_JOB_RUNNING);
    ck_assert_int_eq(job.row_count, 7);
    ck_assert_int_eq(job.execution_ms, -1);
    ck_assert_int_eq(job.created_at, 5000);
    ck_assert_ptr_null(job.db_user.data);

    /* no item */
    spectra_ddb_get(&op, &conf, &owner, &id, &job, &pool, &req, &err);
    ck_assert_int_eq(t_answer(op, 200, "{}", &req, &err),
                     SPECTRA_JOB_NOT_FOUND);

    /* another database user's job is as absent */
    spectra_ddb_get(&op, &conf, &owner, &id, &job, &pool, &req, &err);
    snprintf(buf, sizeof(buf), "{\"Item\":%s}",
             t_item("RUNNING", ",\"db_user\":{\"S\":\"tenant_acme_ro\"}"));
    ck_assert_int_eq(t_answer(op, 200, buf, &req, &err),
                     SPECTRA_JOB_NOT_FOUND);

    /* past its TTL: deleted already, as far as anyone can tell */
    spectra_ddb_get(&op, &conf, &owner, &id, &job, &pool, &req, &err);
    snprintf(buf, sizeof(buf), "{\"Item\":%s}",
             t_item("COMPLETED", ",\"expires\":{\"N\":\"1000\"}"));
    ck_assert_int_eq(t_answer(op, 200, buf, &req, &err),
                     SPECTRA_JOB_NOT_FOUND);

    /* a malformed id never goes out */
    id.data = (u_char *) "job_x";
    id.len = 5;
    ck_assert_int_eq(spectra_ddb_get(&op, &conf, &owner, &id, &job, &pool,
                                     &req, &err),
                     SPECTRA_JOB_NOT_FOUND);
}
END_TEST


/* answers that are not what DynamoDB sends */

START_TEST(test_hostile_answers)
{
    int                  rc;
    size_t               i;
    char                 buf[8192];
    u_char              *huge;
    spectra_job_t        job;
    spectra_str_t        id = { 30, (u_char *) T_ID };
    spectra_ddb_op_t    *op;
    spectra_ddb_req_t    req;
    spectra_err_t        err;
    spectra_job_owner_t  owner = { { 4, (u_char *) "acme" }, { 0, NULL } };

    static const struct {
        int          status;
        const char  *body;
        int          rc;
    } cases[] = {
        { 200, "not json", SPECTRA_JOB_ERROR },
        { 200, "[1,2]", SPECTRA_JOB_ERROR },
        { 200, "{\"Item\":[]}", SPECTRA_JOB_ERROR },
        { 200, "{\"Item\":{\"id\":{\"S\":\"" T_ID "\"}}}", SPECTRA_JOB_ERROR },
        { 200, "{\"Item\":{\"a\":1}, \"Item\":{}}", SPECTRA_JOB_ERROR },
        { 400, "{\"__type\":\"x#ProvisionedThroughputExceededException\"}",
          SPECTRA_JOB_BUSY },
        { 400, "{\"__type\":\"x#ThrottlingException\"}", SPECTRA_JOB_BUSY },
        { 400, "{\"__type\":\"x#ValidationException\",\"message\":\"m\"}",
          SPECTRA_JOB_INVALID },
        { 400, "{\"__type\":\"x#ResourceNotFoundException\"}",
          SPECTRA_JOB_ERROR },
        { 500, "{\"__type\":\"x#InternalServerError\"}", SPECTRA_JOB_ERROR },
        { 503, "<html>", SPECTRA_JOB_ERROR },
        { 0, "", SPECTRA_JOB_BUSY },
        { 200, "", SPECTRA_JOB_ERROR },
    };

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        spectra_ddb_get(&op, &conf, &owner, &id, &job, &pool, &req, &err);
        rc = t_answer(op, cases[i].status, cases[i].body, &req, &err);
        ck_assert_msg(rc == cases[i].rc, "case %zu: %d, not %d (%s)", i, rc,
                      cases[i].rc, err.message);
    }

    /* members of the wrong type, or values out of range */

    static const char  *items[] = {
        ",\"row_count\":{\"N\":7}",
        ",\"row_count\":{\"S\":\"7\"}",
        ",\"row_count\":{\"N\":\"-3\"}",
        ",\"row_count\":{\"N\":\"99999999999999999999999\"}",
        ",\"row_count\":{\"N\":\"7x\"}",
        ",\"statement_id\":{\"N\":\"1\"}",
        ",\"statement_id\":{\"S\":\"a\",\"N\":\"1\"}",
        ",\"error_code\":{\"S\":\"lower case\"}",
        ",\"parameters\":{\"S\":\"{not json\"}",
    };

    for (i = 0; i < sizeof(items) / sizeof(items[0]); i++) {
        spectra_ddb_get(&op, &conf, &owner, &id, &job, &pool, &req, &err);
        snprintf(buf, sizeof(buf), "{\"Item\":%s}",
                 t_item("RUNNING", items[i]));
        rc = t_answer(op, 200, buf, &req, &err);
        ck_assert_msg(rc == SPECTRA_JOB_ERROR, "item %zu: %d", i, rc);
    }

    spectra_ddb_get(&op, &conf, &owner, &id, &job, &pool, &req, &err);
    snprintf(buf, sizeof(buf), "{\"Item\":%s}", t_item("BOGUS", ""));
    ck_assert_int_eq(t_answer(op, 200, buf, &req, &err), SPECTRA_JOB_ERROR);

    /* huge: refused before it is parsed */
    huge = malloc(SPECTRA_DDB_ANSWER_MAX + 2);
    memset(huge, ' ', SPECTRA_DDB_ANSWER_MAX + 1);
    huge[0] = '{';
    huge[SPECTRA_DDB_ANSWER_MAX] = '}';
    spectra_ddb_get(&op, &conf, &owner, &id, &job, &pool, &req, &err);
    rc = spectra_ddb_answer(op, 200, huge, SPECTRA_DDB_ANSWER_MAX + 1, &req,
                            &err);
    ck_assert_int_eq(rc, SPECTRA_JOB_ERROR);
    ck_assert_ptr_nonnull(strstr(err.message, "too big"));
    free(huge);
}
END_TEST


START_TEST(test_update)
{
    int                    rc;
    char                   buf[8192];
    json_t                *j;
    const char            *cond, *set;
    spectra_job_t          job;
    spectra_ddb_op_t      *op;
    spectra_ddb_req_t      req;
    spectra_err_t          err;
    spectra_job_update_t   upd;

    memset(&upd, 0, sizeof(upd));
    upd.tenant_id.data = (u_char *) "acme";
    upd.tenant_id.len = 4;
    upd.id.data = (u_char *) T_ID;
    upd.id.len = 30;
    upd.status = SPECTRA_JOB_COMPLETED;
    upd.from = SPECTRA_JOB_ACTIVE;
    upd.row_count = 3;
    upd.execution_ms = -1;
    upd.now = 9000;

    rc = spectra_ddb_update(&op, &conf, &upd, &job, &pool, &req, &err);
    ck_assert_int_eq(rc, SPECTRA_DDB_AGAIN);
    ck_assert_str_eq(req.operation, "UpdateItem");
    j = t_body(&req);
    set = t_str(j, "UpdateExpression");
    cond = t_str(j, "ConditionExpression");
    ck_assert_ptr_nonnull(strstr(set, "#status = :v1"));
    ck_assert_ptr_nonnull(strstr(set, "#row_count = "));
    ck_assert_ptr_nonnull(strstr(set, "if_not_exists(#started_at"));
    ck_assert_ptr_nonnull(strstr(set, "REMOVE #act, #due"));
    ck_assert_ptr_nonnull(strstr(set, "#expires = "));
    /* finished is final; from the active statuses only */
    ck_assert_ptr_nonnull(strstr(cond, "OR #status IN (:pending, "
                                       ":running))"));
    ck_assert_ptr_nonnull(strstr(cond, "AND #status IN (:v7, :v8)"));
    ck_assert_str_eq(t_str(j, "ExpressionAttributeNames.#row_count"),
                     "row_count");
    ck_assert_str_eq(t_str(j, "ReturnValues"), "ALL_OLD");
    /* names the expressions do not use would be refused */
    ck_assert_ptr_null(json_object_get(json_object_get(j,
                                           "ExpressionAttributeNames"),
                                       "#sql"));
    json_decref(j);

    /* the old item comes back: the job as updated, the counter down */
    snprintf(buf, sizeof(buf), "{\"Attributes\":%s}", t_item("RUNNING", ""));
    rc = t_answer(op, 200, buf, &req, &err);
    ck_assert_int_eq(rc, SPECTRA_DDB_AGAIN);
    ck_assert_int_eq(job.status, SPECTRA_JOB_COMPLETED);
    ck_assert_int_eq(job.row_count, 3);
    ck_assert_int_eq(job.finished_at, 9000);
    ck_assert_int_eq(job.started_at, 9000);
    ck_assert_int_eq(job.updated_at, 9000);
    ck_assert_str_eq(req.operation, "UpdateItem");
    j = t_body(&req);
    ck_assert_str_eq(t_str(j, "Key.sk.S"), "active");
    ck_assert_str_eq(t_str(j, "ConditionExpression"), "#n > :z");
    json_decref(j);
    /* the counter at 0 already is no failure of the update */
    ck_assert_int_eq(t_answer(op, 400, CCF, &req, &err), SPECTRA_JOB_OK);

    /* a stale update: the condition fails, the job is read: CONFLICT */
    rc = spectra_ddb_update(&op, &conf, &upd, &job, &pool, &req, &err);
    rc = t_answer(op, 400, CCF, &req, &err);
    ck_assert_int_eq(rc, SPECTRA_DDB_AGAIN);
    ck_assert_str_eq(req.operation, "GetItem");
    snprintf(buf, sizeof(buf), "{\"Item\":%s}", t_item("CANCELLED", ""));
    rc = t_answer(op, 200, buf, &req, &err);
    ck_assert_int_eq(rc, SPECTRA_JOB_CONFLICT);
    ck_assert_int_eq(job.status, SPECTRA_JOB_CANCELLED);
    ck_assert_str_eq(err.message, "job is CANCELLED");

    /* ... or it is gone: NOT_FOUND */
    rc = spectra_ddb_update(&op, &conf, &upd, NULL, &pool, &req, &err);
    rc = t_answer(op, 400, CCF, &req, &err);
    ck_assert_int_eq(t_answer(op, 200, "{}", &req, &err),
                     SPECTRA_JOB_NOT_FOUND);

    /* an update that is no transition: no status rule */
    upd.status = SPECTRA_JOB_STATUS_NONE;
    upd.from = 0;
    upd.row_count = -1;
    upd.check_at = 12345;
    rc = spectra_ddb_update(&op, &conf, &upd, NULL, &pool, &req, &err);
    j = t_body(&req);
    ck_assert_str_eq(t_str(j, "ConditionExpression"), "attribute_exists(sk)");
    ck_assert_ptr_nonnull(strstr(t_str(j, "UpdateExpression"),
                                 "#check_at = :v1, #due = :v1"));
    ck_assert_ptr_null(json_object_get(json_object_get(j,
                                           "ExpressionAttributeNames"),
                                       "#status"));
    json_decref(j);

    /* a bad id never goes out */
    upd.id.data = (u_char *) "nope";
    upd.id.len = 4;
    ck_assert_int_eq(spectra_ddb_update(&op, &conf, &upd, NULL, &pool, &req,
                                        &err),
                     SPECTRA_JOB_NOT_FOUND);
}
END_TEST


START_TEST(test_cancel)
{
    int                  rc;
    char                 buf[8192];
    spectra_job_t        job;
    spectra_str_t        id = { 30, (u_char *) T_ID };
    spectra_ddb_op_t    *op;
    spectra_ddb_req_t    req;
    spectra_err_t        err;
    spectra_job_owner_t  owner = { { 4, (u_char *) "acme" }, { 0, NULL } };

    rc = spectra_ddb_cancel(&op, &conf, &owner, &id, 7000, &job, &pool, &req,
                            &err);
    ck_assert_str_eq(req.operation, "GetItem");
    snprintf(buf, sizeof(buf), "{\"Item\":%s}", t_item("RUNNING", ""));
    rc = t_answer(op, 200, buf, &req, &err);
    ck_assert_int_eq(rc, SPECTRA_DDB_AGAIN);
    ck_assert_str_eq(req.operation, "UpdateItem");
    rc = t_answer(op, 200, strstr(buf, "{\"Item\"") ? "{\"Attributes\":" : "",
                  &req, &err);
    /* a truncated answer is an error, never a success */
    ck_assert_int_eq(rc, SPECTRA_JOB_ERROR);

    rc = spectra_ddb_cancel(&op, &conf, &owner, &id, 7000, &job, &pool, &req,
                            &err);
    rc = t_answer(op, 200, buf, &req, &err);
    snprintf(buf, sizeof(buf), "{\"Attributes\":%s}", t_item("RUNNING", ""));
    rc = t_answer(op, 200, buf, &req, &err);
    ck_assert_int_eq(rc, SPECTRA_DDB_AGAIN);     /* the counter */
    ck_assert_int_eq(job.status, SPECTRA_JOB_CANCELLED);
    ck_assert_int_eq(job.finished_at, 7000);
    ck_assert_int_eq(job.started_at, 0);
    ck_assert_str_eq((char *) job.error_code.data, "CANCELLED");
    ck_assert_int_eq(t_answer(op, 200, "{}", &req, &err), SPECTRA_JOB_OK);
}
END_TEST


START_TEST(test_list)
{
    int                    rc;
    char                   buf[8192], *p;
    json_t                *j;
    spectra_ddb_op_t      *op;
    spectra_ddb_req_t      req;
    spectra_err_t          err;
    spectra_job_list_t     list;
    spectra_job_filter_t   f;

    memset(&f, 0, sizeof(f));
    f.owner.tenant_id.data = (u_char *) "acme";
    f.owner.tenant_id.len = 4;
    f.limit = 1;
    f.statuses = SPECTRA_JOB_MASK(SPECTRA_JOB_RUNNING);
    f.cursor.data = (u_char *) "00000000000013881123456789abcdefghjkmnpqrs";
    f.cursor.len = 42;

    rc = spectra_ddb_list(&op, &conf, &f, &list, &pool, &req, &err);
    ck_assert_int_eq(rc, SPECTRA_DDB_AGAIN);
    ck_assert_str_eq(req.operation, "Query");
    j = t_body(&req);
    ck_assert_str_eq(t_str(j, "IndexName"), "by_created");
    ck_assert(json_is_false(json_object_get(j, "ScanIndexForward")));
    ck_assert_str_eq(t_str(j, "ExclusiveStartKey.sk.S"), "job#" T_ID2);
    ck_assert_str_eq(t_str(j, "ExclusiveStartKey.ord.S"),
                     "00000000000013881123456789abcdefghjkmnpqrs");
    ck_assert_ptr_nonnull(strstr(t_str(j, "FilterExpression"),
                                 "attribute_not_exists(#db_user)"));
    /* lists leave the SQL out */
    ck_assert_ptr_null(json_object_get(json_object_get(j,
                                           "ExpressionAttributeNames"),
                                       "#sql"));
    ck_assert_ptr_nonnull(strstr(t_str(j, "ProjectionExpression"),
                                 "#sqlstate"));
    json_decref(j);

    /* two matching items for a page of one: a next page, its cursor */
    p = buf;
    p += sprintf(p, "{\"Items\":[%s,", t_item("RUNNING", ""));
    p += sprintf(p, "%s],\"Count\":2}",
                 t_item("RUNNING", ",\"db_user\":{\"S\":\"other\"}"));
    rc = t_answer(op, 200, buf, &req, &err);
    /* the other user's item is dropped even though the filter let it by */
    ck_assert_int_eq(rc, SPECTRA_JOB_OK);
    ck_assert_int_eq(list.njobs, 1);
    ck_assert_str_eq((char *) list.next_cursor, "");

    f.cursor.data = NULL;
    f.cursor.len = 0;
    rc = spectra_ddb_list(&op, &conf, &f, &list, &pool, &req, &err);
    p = buf;
    p += sprintf(p, "{\"Items\":[%s,", t_item("RUNNING", ""));
    p += sprintf(p, "%s]}", t_item("RUNNING", ""));
    rc = t_answer(op, 200, buf, &req, &err);
    ck_assert_int_eq(rc, SPECTRA_JOB_OK);
    ck_assert_int_eq(list.njobs, 1);
    ck_assert_str_eq((char *) list.next_cursor,
                     "00000000000013880123456789abcdefghjkmnpqrs");

    /* nothing matched, more to read: the next round starts there */
    rc = spectra_ddb_list(&op, &conf, &f, &list, &pool, &req, &err);
    rc = t_answer(op, 200, "{\"Items\":[],\"LastEvaluatedKey\":{\"tenant\":"
                  "{\"S\":\"acme\"},\"sk\":{\"S\":\"job#" T_ID "\"},\"ord\":"
                  "{\"S\":\"00000000000013880123456789abcdefghjkmnpqrs\"}}}",
                  &req, &err);
    ck_assert_int_eq(rc, SPECTRA_DDB_AGAIN);
    j = t_body(&req);
    ck_assert_str_eq(t_str(j, "ExclusiveStartKey.sk.S"), "job#" T_ID);
    json_decref(j);
    ck_assert_int_eq(t_answer(op, 200, "{\"Count\":0}", &req, &err),
                     SPECTRA_JOB_ERROR);

    /* malformed cursors: INVALID, nothing sent */
    static const char  *bad[] = {
        "zz", "0000000000001388x123456789abcdefghjkmnpqrs",
        "00000000000013881123456789abcdefghjkmnpqri",
        "000000000000138G1123456789abcdefghjkmnpqrs",
    };
    size_t  i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        f.cursor.data = (u_char *) bad[i];
        f.cursor.len = strlen(bad[i]);
        ck_assert_int_eq(spectra_ddb_list(&op, &conf, &f, &list, &pool, &req,
                                          &err),
                         SPECTRA_JOB_INVALID);
    }
}
END_TEST


START_TEST(test_due_active)
{
    int                  rc;
    char                 buf[8192];
    json_t              *j;
    unsigned             n;
    spectra_str_t        tenant = { 4, (u_char *) "acme" };
    spectra_ddb_op_t    *op;
    spectra_ddb_req_t    req;
    spectra_err_t        err;
    spectra_job_list_t   list;

    rc = spectra_ddb_due(&op, &conf, 123456, 5, &list, &pool, &req, &err);
    ck_assert_int_eq(rc, SPECTRA_DDB_AGAIN);
    j = t_body(&req);
    ck_assert_str_eq(t_str(j, "IndexName"), "due");
    ck_assert_str_eq(t_str(j, "KeyConditionExpression"),
                     "#act = :a AND #due <= :now");
    ck_assert_str_eq(t_str(j, "ExpressionAttributeValues.:now.N"), "123456");
    json_decref(j);

    /* a finished job still in the index (it lags) is not due */
    snprintf(buf, sizeof(buf), "{\"Items\":[%s,", t_item("PENDING", ""));
    snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "%s]}",
             t_item("FAILED", ""));
    ck_assert_int_eq(t_answer(op, 200, buf, &req, &err), SPECTRA_JOB_OK);
    ck_assert_int_eq(list.njobs, 1);

    rc = spectra_ddb_active(&op, &conf, &tenant, &n, &pool, &req, &err);
    ck_assert_int_eq(t_answer(op, 200, "{\"Item\":{\"n\":{\"N\":\"4\"}}}",
                              &req, &err), SPECTRA_JOB_OK);
    ck_assert_uint_eq(n, 4);

    rc = spectra_ddb_active(&op, &conf, &tenant, &n, &pool, &req, &err);
    ck_assert_int_eq(t_answer(op, 200, "{}", &req, &err), SPECTRA_JOB_OK);
    ck_assert_uint_eq(n, 0);

    rc = spectra_ddb_active(&op, &conf, &tenant, &n, &pool, &req, &err);
    ck_assert_int_eq(t_answer(op, 200, "{\"Item\":{\"n\":{\"N\":\"-1\"}}}",
                              &req, &err), SPECTRA_JOB_ERROR);
}
END_TEST


START_TEST(test_apply)
{
    spectra_job_t          job;
    spectra_err_t          err;
    spectra_job_update_t   upd;

    t_job(&job);
    job.status = SPECTRA_JOB_COMPLETED;
    job.created_at = 10;

    memset(&upd, 0, sizeof(upd));
    upd.status = SPECTRA_JOB_RUNNING;
    upd.row_count = -1;
    upd.execution_ms = -1;

    /* finished is final */
    ck_assert_int_eq(spectra_ddb_apply(&job, &upd, 50, &pool, &err),
                     SPECTRA_JOB_CONFLICT);
    ck_assert_int_eq(job.status, SPECTRA_JOB_COMPLETED);

    /* the same status again, with more data, is allowed */
    upd.status = SPECTRA_JOB_COMPLETED;
    upd.result.data = (u_char *) "{\"files\":[]}";
    upd.result.len = 12;
    ck_assert_int_eq(spectra_ddb_apply(&job, &upd, 60, &pool, &err),
                     SPECTRA_JOB_OK);
    ck_assert_str_eq((char *) job.result.data, "{\"files\":[]}");
    ck_assert_int_eq(job.updated_at, 60);

    /* from: the statuses the job may be in */
    t_job(&job);
    job.status = SPECTRA_JOB_PENDING;
    upd.status = SPECTRA_JOB_RUNNING;
    upd.from = SPECTRA_JOB_MASK(SPECTRA_JOB_RUNNING);
    ck_assert_int_eq(spectra_ddb_apply(&job, &upd, 70, &pool, &err),
                     SPECTRA_JOB_CONFLICT);
    upd.from = SPECTRA_JOB_ACTIVE;
    ck_assert_int_eq(spectra_ddb_apply(&job, &upd, 70, &pool, &err),
                     SPECTRA_JOB_OK);
    ck_assert_int_eq(job.started_at, 70);
    ck_assert_int_eq(job.finished_at, 0);

    /* from_phase */
    upd.status = SPECTRA_JOB_STATUS_NONE;
    upd.from_phase.data = (u_char *) "open";
    upd.from_phase.len = 4;
    ck_assert_int_eq(spectra_ddb_apply(&job, &upd, 80, &pool, &err),
                     SPECTRA_JOB_CONFLICT);
}
END_TEST


static Suite *
dynamodb_suite(void)
{
    Suite  *s;
    TCase  *tc;

    s = suite_create("job_dynamodb");
    tc = tcase_create("requests");
    tcase_add_checked_fixture(tc, NULL, t_pool_free);

    tcase_add_test(tc, test_create);
    tcase_add_test(tc, test_create_key_and_cap);
    tcase_add_test(tc, test_get);
    tcase_add_test(tc, test_hostile_answers);
    tcase_add_test(tc, test_update);
    tcase_add_test(tc, test_cancel);
    tcase_add_test(tc, test_list);
    tcase_add_test(tc, test_due_active);
    tcase_add_test(tc, test_apply);
    suite_add_tcase(s, tc);

    return s;
}


int
main(void)
{
    int       failed;
    SRunner  *sr;

    sr = srunner_create(dynamodb_suite());
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);

    return failed == 0 ? 0 : 1;
}
