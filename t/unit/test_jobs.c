/*
 * Unit tests of src/spectra_jobs.c: job ids, statuses, the SQLite store
 * and the API's JSON view of a job.  Prints the store's timings (create,
 * update, get, list) without asserting on them.
 */

#include <check.h>
#include <jansson.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "spectra_jobs.h"


#define T_MAX_ALLOCS  (1 << 16)


typedef struct {
    void      **ptr;
    size_t      n;
    int         fail;
} t_pool_t;


static void *t_alloc(void *pool, size_t size);
static void t_setup(void);
static void t_teardown(void);
static spectra_str_t t_str(const char *s);
static int t_open(spectra_job_store_t **store);
static int t_open_conf(spectra_job_store_t **store, int autocheckpoint);
static void t_writer(int n, double *us, size_t *busy);
static spectra_job_owner_t t_owner(const char *tenant, const char *db_user);
static int t_get_as(spectra_job_store_t *st, const char *tenant,
    const char *db_user, const u_char *id, spectra_job_t *job);
static void t_job(spectra_job_t *job, const char *tenant, int64_t created);
static int t_create(const char *tenant, int64_t created,
    spectra_job_type_e type, spectra_job_status_e status, u_char *id);
static int t_get(spectra_job_store_t *store, const char *tenant,
    const u_char *id, spectra_job_t *job);
static int t_cmp_desc(const void *a, const void *b);
static double t_us(const struct timespec *a, const struct timespec *b);
static int t_cmp_double(const void *a, const void *b);
static void t_report(const char *what, double *us, size_t n);
static void t_bench_ops(const char *config, size_t n, double *us,
    u_char (*ids)[SPECTRA_JOB_ID_LEN + 1]);
Suite *jobs_suite(void);


static t_pool_t              pool;
static spectra_pool_t        jpool;
static spectra_job_store_t  *store;
static spectra_err_t         err;
static char                  dir[64];
static char                  path[128];


static void *
t_alloc(void *p, size_t size)
{
    t_pool_t  *tp = p;

    if (tp->fail == 0 || tp->n == T_MAX_ALLOCS) {
        return NULL;
    }

    if (tp->fail > 0) {
        tp->fail--;
    }

    tp->ptr[tp->n] = malloc(size);
    return tp->ptr[tp->n++];
}


static void
t_setup(void)
{
    memset(&pool, 0, sizeof(pool));
    pool.ptr = calloc(T_MAX_ALLOCS, sizeof(void *));
    ck_assert_ptr_nonnull(pool.ptr);
    pool.fail = -1;

    jpool.alloc = t_alloc;
    jpool.pool = &pool;

    snprintf(dir, sizeof(dir), "/tmp/spectra-jobs-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/jobs.db", dir);

    memset(&err, 0, sizeof(err));
    ck_assert_int_eq(t_open(&store), SPECTRA_JOB_OK);
}


static void
t_teardown(void)
{
    size_t  i;
    char    f[160];

    if (store != NULL) {
        store->ops->close(store);
        store = NULL;
    }

    for (i = 0; i < pool.n; i++) {
        free(pool.ptr[i]);
    }

    free(pool.ptr);

    snprintf(f, sizeof(f), "%s/jobs.db", dir);
    unlink(f);
    snprintf(f, sizeof(f), "%s/jobs.db-wal", dir);
    unlink(f);
    snprintf(f, sizeof(f), "%s/jobs.db-shm", dir);
    unlink(f);
    rmdir(dir);
}


static spectra_str_t
t_str(const char *s)
{
    spectra_str_t      str;

    str.data = (u_char *) s;
    str.len = (s != NULL) ? strlen(s) : 0;

    return str;
}


static int
t_open(spectra_job_store_t **st)
{
    return t_open_conf(st, 0);
}


static int
t_open_conf(spectra_job_store_t **st, int autocheckpoint)
{
    spectra_job_conf_t  conf;

    memset(&conf, 0, sizeof(conf));
    conf.path = path;
    conf.busy_timeout_ms = 50;
    conf.autocheckpoint = autocheckpoint;

    return spectra_job_sqlite_ops.open(st, &conf, &err);
}


static void
t_job(spectra_job_t *job, const char *tenant, int64_t created)
{
    memset(job, 0, sizeof(spectra_job_t));

    job->tenant_id = t_str(tenant);
    job->type = SPECTRA_JOB_QUERY;
    job->created_at = created;
    job->row_count = -1;
}


/* the jobs of tenant run as db_user (NULL: recorded without one) */
static spectra_job_owner_t
t_owner(const char *tenant, const char *db_user)
{
    spectra_job_owner_t  o;

    o.tenant_id = t_str(tenant);
    o.db_user.len = db_user != NULL ? strlen(db_user) : 0;
    o.db_user.data = (u_char *) db_user;

    return o;
}


static int
t_create(const char *tenant, int64_t created, spectra_job_type_e type,
    spectra_job_status_e status, u_char *id)
{
    int            rc;
    spectra_job_t  job;

    t_job(&job, tenant, created);
    job.type = type;
    job.status = status;
    job.sql = t_str("select 1");

    rc = store->ops->create(store, &job, 0, &err);

    if (id != NULL) {
        memcpy(id, job.id, SPECTRA_JOB_ID_LEN + 1);
    }

    return rc;
}


static int
t_get(spectra_job_store_t *st, const char *tenant, const u_char *id,
    spectra_job_t *job)
{
    return t_get_as(st, tenant, NULL, id, job);
}


static int
t_get_as(spectra_job_store_t *st, const char *tenant, const char *db_user,
    const u_char *id, spectra_job_t *job)
{
    spectra_str_t        i;
    spectra_job_owner_t  t;

    t = t_owner(tenant, db_user);
    i = t_str((const char *) id);

    return st->ops->get(st, &t, &i, job, &jpool, &err);
}


START_TEST(test_id_format)
{
    u_char   ids[500][SPECTRA_JOB_ID_LEN + 1];
    size_t   i, j;

    for (i = 0; i < 500; i++) {
        ck_assert_int_eq(spectra_job_id_new(ids[i]), 0);
        ck_assert_uint_eq(strlen((char *) ids[i]), 30);
        ck_assert_int_eq(memcmp(ids[i], "job_", 4), 0);
        ck_assert_msg(spectra_job_id_valid(ids[i], 30), "%s", ids[i]);
        ck_assert(strpbrk((char *) ids[i] + 4, "ilou") == NULL);

        for (j = 0; j < i; j++) {
            ck_assert_str_ne((char *) ids[i], (char *) ids[j]);
        }
    }
}
END_TEST


static const char  *t_bad_ids[] = {
    "",
    "job_",
    "job_0123456789abcdefghjkmnpqr",        /* 25 digits */
    "job_0123456789abcdefghjkmnpqrst",      /* 27 */
    "jab_0123456789abcdefghjkmnpqrs",
    "JOB_0123456789abcdefghjkmnpqrs",
    "job_0123456789ABCDEFGHJKMNPQRS",
    "job_0123456789abcdefghjkmnpqri",       /* i is not Crockford */
    "job_0123456789abcdefghjkmnpqrl",
    "job_0123456789abcdefghjkmnpqro",
    "job_0123456789abcdefghjkmnpqru",
    "job_8123456789abcdefghjkmnpqrs",       /* above 128 bits */
    "job_0123456789abcdefghjkmnpq/s",
    "job_0123456789abcdefghjkmnpq s"
};


START_TEST(test_id_invalid)
{
    ck_assert_int_eq(spectra_job_id_valid((const u_char *) t_bad_ids[_i],
                                          strlen(t_bad_ids[_i])), 0);
}
END_TEST


START_TEST(test_id_valid_edges)
{
    ck_assert_int_eq(spectra_job_id_valid(
        (const u_char *) "job_0123456789abcdefghjkmnpqrs", 30), 1);
    ck_assert_int_eq(spectra_job_id_valid(
        (const u_char *) "job_7zzzzzzzzzzzzzzzzzzzzzzzzz", 30), 1);

    /* a NUL inside is no id */
    ck_assert_int_eq(spectra_job_id_valid(
        (const u_char *) "job_0123456789abcdefghjkmnpq\0s", 30), 0);
}
END_TEST


static const struct {
    const char            *dataapi;
    spectra_job_status_e   status;
} t_dataapi[] = {
    { "SUBMITTED", SPECTRA_JOB_PENDING },
    { "PICKED", SPECTRA_JOB_PENDING },
    { "STARTED", SPECTRA_JOB_RUNNING },
    { "FINISHED", SPECTRA_JOB_COMPLETED },
    { "FAILED", SPECTRA_JOB_FAILED },
    { "ABORTED", SPECTRA_JOB_CANCELLED },
    { "ALL", SPECTRA_JOB_STATUS_NONE },
    { "finished", SPECTRA_JOB_STATUS_NONE },
    { "FINISHE", SPECTRA_JOB_STATUS_NONE },
    { "FINISHED ", SPECTRA_JOB_STATUS_NONE },
    { "", SPECTRA_JOB_STATUS_NONE }
};


START_TEST(test_dataapi_status)
{
    ck_assert_int_eq(spectra_job_status_from_dataapi(
                         (const u_char *) t_dataapi[_i].dataapi,
                         strlen(t_dataapi[_i].dataapi)),
                     t_dataapi[_i].status);
}
END_TEST


START_TEST(test_status_names)
{
    ck_assert_str_eq(spectra_job_status_name(SPECTRA_JOB_PENDING),
                     "PENDING");
    ck_assert_str_eq(spectra_job_status_name(SPECTRA_JOB_TIMEOUT),
                     "TIMEOUT");
    ck_assert_ptr_null(spectra_job_status_name(SPECTRA_JOB_STATUS_NONE));
    ck_assert_ptr_null(spectra_job_status_name((spectra_job_status_e) 7));

    ck_assert_int_eq(spectra_job_status_parse((const u_char *) "CANCELLED",
                                              9), SPECTRA_JOB_CANCELLED);
    ck_assert_int_eq(spectra_job_status_parse((const u_char *) "running", 7),
                     SPECTRA_JOB_STATUS_NONE);
    ck_assert_int_eq(spectra_job_status_parse((const u_char *) "RUNNINGX",
                                              8), SPECTRA_JOB_STATUS_NONE);

    ck_assert_int_eq(spectra_job_status_final(SPECTRA_JOB_PENDING), 0);
    ck_assert_int_eq(spectra_job_status_final(SPECTRA_JOB_RUNNING), 0);
    ck_assert_int_eq(spectra_job_status_final(SPECTRA_JOB_COMPLETED), 1);
    ck_assert_int_eq(spectra_job_status_final(SPECTRA_JOB_FAILED), 1);
    ck_assert_int_eq(spectra_job_status_final(SPECTRA_JOB_CANCELLED), 1);
    ck_assert_int_eq(spectra_job_status_final(SPECTRA_JOB_TIMEOUT), 1);

    ck_assert_str_eq(spectra_job_type_name(SPECTRA_JOB_BULK), "bulk");
    ck_assert_ptr_null(spectra_job_type_name(SPECTRA_JOB_TYPE_NONE));
    ck_assert_int_eq(spectra_job_type_parse((const u_char *) "query", 5),
                     SPECTRA_JOB_QUERY);
    ck_assert_int_eq(spectra_job_type_parse((const u_char *) "Query", 5),
                     SPECTRA_JOB_TYPE_NONE);
}
END_TEST


START_TEST(test_time_format)
{
    u_char  buf[SPECTRA_JOB_TIME_LEN + 1];

    *spectra_job_time(buf, 1767323045678LL) = '\0';
    ck_assert_str_eq((char *) buf, "2026-01-02T03:04:05.678Z");

    *spectra_job_time(buf, 1) = '\0';
    ck_assert_str_eq((char *) buf, "1970-01-01T00:00:00.001Z");

    *spectra_job_time(buf, -5) = '\0';
    ck_assert_str_eq((char *) buf, "1970-01-01T00:00:00.000Z");

    *spectra_job_time(buf, 253402300800000LL) = '\0';
    ck_assert_str_eq((char *) buf, "9999-12-31T23:59:59.999Z");
}
END_TEST


START_TEST(test_create_get)
{
    spectra_job_t  job, got;

    t_job(&job, "acme", 1767323045678LL);
    job.sql = t_str("select region, sum(amount) from sales group by 1");
    job.parameters = t_str("[{\"name\":\"since\",\"value\":\"2026-01-01\"}]");
    job.idempotency_key = t_str("key-1");
    job.request_hash = t_str("9f86d081884c7d65");
    job.db_user = t_str("tenant_acme");
    job.statement_id = t_str("d9b6c0c9-8d10-4c4e-9f2b-8c1e0b6f1a11");

    ck_assert_int_eq(store->ops->create(store, &job, 0, &err), SPECTRA_JOB_OK);
    ck_assert(spectra_job_id_valid(job.id, strlen((char *) job.id)));
    ck_assert_int_eq(job.status, SPECTRA_JOB_PENDING);
    ck_assert_int_eq(job.updated_at, 1767323045678LL);

    /* the tenant's other database users do not see it */
    ck_assert_int_eq(t_get(store, "acme", job.id, &got),
                     SPECTRA_JOB_NOT_FOUND);
    ck_assert_int_eq(t_get_as(store, "acme", "tenant_acme_ro", job.id, &got),
                     SPECTRA_JOB_NOT_FOUND);
    ck_assert_int_eq(t_get_as(store, "globex", "tenant_acme", job.id, &got),
                     SPECTRA_JOB_NOT_FOUND);

    ck_assert_int_eq(t_get_as(store, "acme", "tenant_acme", job.id, &got),
                     SPECTRA_JOB_OK);
    ck_assert_str_eq((char *) got.id, (char *) job.id);
    ck_assert_str_eq((char *) got.tenant_id.data, "acme");
    ck_assert_int_eq(got.type, SPECTRA_JOB_QUERY);
    ck_assert_int_eq(got.status, SPECTRA_JOB_PENDING);
    ck_assert_str_eq((char *) got.sql.data,
                     "select region, sum(amount) from sales group by 1");
    ck_assert_str_eq((char *) got.parameters.data,
                     "[{\"name\":\"since\",\"value\":\"2026-01-01\"}]");
    ck_assert_str_eq((char *) got.idempotency_key.data, "key-1");
    ck_assert_str_eq((char *) got.request_hash.data, "9f86d081884c7d65");
    ck_assert_str_eq((char *) got.db_user.data, "tenant_acme");
    ck_assert_str_eq((char *) got.statement_id.data,
                     "d9b6c0c9-8d10-4c4e-9f2b-8c1e0b6f1a11");
    ck_assert_ptr_null(got.session_id.data);
    ck_assert_ptr_null(got.result.data);
    ck_assert_ptr_null(got.error_code.data);
    ck_assert_int_eq(got.created_at, 1767323045678LL);
    ck_assert_int_eq(got.updated_at, 1767323045678LL);
    ck_assert_int_eq(got.started_at, 0);
    ck_assert_int_eq(got.finished_at, 0);
    ck_assert_int_eq(got.row_count, -1);
}
END_TEST


START_TEST(test_create_defaults)
{
    int64_t        before, after;
    spectra_job_t  job, got;

    before = (int64_t) time(NULL) * 1000;

    t_job(&job, "acme", 0);
    ck_assert_int_eq(store->ops->create(store, &job, 0, &err), SPECTRA_JOB_OK);

    after = ((int64_t) time(NULL) + 1) * 1000;

    ck_assert_int_ge(job.created_at, before);
    ck_assert_int_le(job.created_at, after);
    ck_assert_int_eq(t_get(store, "acme", job.id, &got), SPECTRA_JOB_OK);
    ck_assert_int_eq(got.created_at, job.created_at);
    ck_assert_ptr_null(got.sql.data);
}
END_TEST


START_TEST(test_create_given_id)
{
    spectra_job_t  job, got;
    const char    *id = "job_0123456789abcdefghjkmnpqrs";

    t_job(&job, "acme", 1000);
    memcpy(job.id, id, SPECTRA_JOB_ID_LEN + 1);
    ck_assert_int_eq(store->ops->create(store, &job, 0, &err), SPECTRA_JOB_OK);
    ck_assert_str_eq((char *) job.id, id);
    ck_assert_int_eq(t_get(store, "acme", (const u_char *) id, &got),
                     SPECTRA_JOB_OK);

    /* the same id again, even for another tenant */
    t_job(&job, "globex", 1000);
    memcpy(job.id, id, SPECTRA_JOB_ID_LEN + 1);
    ck_assert_int_eq(store->ops->create(store, &job, 0, &err),
                     SPECTRA_JOB_CONFLICT);
    ck_assert_int_eq(t_get(store, "globex", (const u_char *) id, &got),
                     SPECTRA_JOB_NOT_FOUND);
}
END_TEST


START_TEST(test_get_isolation)
{
    u_char         id[SPECTRA_JOB_ID_LEN + 1];
    spectra_job_t  got;

    ck_assert_int_eq(t_create("acme", 1000, SPECTRA_JOB_QUERY,
                              SPECTRA_JOB_RUNNING, id), SPECTRA_JOB_OK);

    ck_assert_int_eq(t_get(store, "acme", id, &got), SPECTRA_JOB_OK);
    ck_assert_int_eq(got.status, SPECTRA_JOB_RUNNING);

    /* another tenant, a prefix of the tenant, a missing id: all absent */
    ck_assert_int_eq(t_get(store, "globex", id, &got),
                     SPECTRA_JOB_NOT_FOUND);
    ck_assert_str_eq(err.message, "job not found");
    ck_assert_int_eq(err.code, SPECTRA_JOB_NOT_FOUND);
    ck_assert_uint_eq(err.position, SPECTRA_POS_NONE);
    ck_assert_int_eq(t_get(store, "acm", id, &got), SPECTRA_JOB_NOT_FOUND);
    ck_assert_int_eq(t_get(store, "acme ", id, &got), SPECTRA_JOB_NOT_FOUND);
    ck_assert_int_eq(t_get(store, "acme",
                           (const u_char *) "job_0000000000000000000000000",
                           &got), SPECTRA_JOB_NOT_FOUND);

    /* malformed ids and tenants are absent too, not errors */
    ck_assert_int_eq(t_get(store, "acme", (const u_char *) "job_x", &got),
                     SPECTRA_JOB_NOT_FOUND);
    ck_assert_int_eq(t_get(store, "acme", (const u_char *) "' OR 1=1 --",
                           &got), SPECTRA_JOB_NOT_FOUND);
    ck_assert_int_eq(t_get(store, "", id, &got), SPECTRA_JOB_NOT_FOUND);
}
END_TEST


START_TEST(test_update_lifecycle)
{
    u_char                id[SPECTRA_JOB_ID_LEN + 1];
    spectra_job_t         job, got;
    spectra_job_update_t  upd;

    ck_assert_int_eq(t_create("acme", 1000, SPECTRA_JOB_QUERY,
                              SPECTRA_JOB_STATUS_NONE, id), SPECTRA_JOB_OK);

    memset(&upd, 0, sizeof(upd));
    upd.tenant_id = t_str("acme");
    upd.id = t_str((char *) id);
    upd.status = SPECTRA_JOB_RUNNING;
    upd.statement_id = t_str("stmt-1");
    upd.session_id = t_str("sess-1");
    upd.row_count = -1;
    upd.now = 2000;

    ck_assert_int_eq(store->ops->update(store, &upd, &job, &jpool, &err),
                     SPECTRA_JOB_OK);
    ck_assert_int_eq(job.status, SPECTRA_JOB_RUNNING);
    ck_assert_str_eq((char *) job.statement_id.data, "stmt-1");
    ck_assert_str_eq((char *) job.session_id.data, "sess-1");
    ck_assert_int_eq(job.started_at, 2000);
    ck_assert_int_eq(job.finished_at, 0);
    ck_assert_int_eq(job.updated_at, 2000);
    ck_assert_int_eq(job.created_at, 1000);
    ck_assert_str_eq((char *) job.sql.data, "select 1");

    /* a second RUNNING keeps the first started_at */
    upd.statement_id = t_str(NULL);
    upd.session_id = t_str(NULL);
    upd.now = 2500;
    ck_assert_int_eq(store->ops->update(store, &upd, &job, &jpool, &err),
                     SPECTRA_JOB_OK);
    ck_assert_int_eq(job.started_at, 2000);
    ck_assert_int_eq(job.updated_at, 2500);
    ck_assert_str_eq((char *) job.statement_id.data, "stmt-1");

    memset(&upd, 0, sizeof(upd));
    upd.tenant_id = t_str("acme");
    upd.id = t_str((char *) id);
    upd.status = SPECTRA_JOB_COMPLETED;
    upd.from = SPECTRA_JOB_ACTIVE;
    upd.row_count = 42;
    upd.result = t_str("{\"files\":[]}");
    upd.now = 3000;

    /* job may be NULL */
    ck_assert_int_eq(store->ops->update(store, &upd, NULL, &jpool, &err),
                     SPECTRA_JOB_OK);

    ck_assert_int_eq(t_get(store, "acme", id, &got), SPECTRA_JOB_OK);
    ck_assert_int_eq(got.status, SPECTRA_JOB_COMPLETED);
    ck_assert_int_eq(got.row_count, 42);
    ck_assert_str_eq((char *) got.result.data, "{\"files\":[]}");
    ck_assert_int_eq(got.started_at, 2000);
    ck_assert_int_eq(got.finished_at, 3000);
    ck_assert_int_eq(got.updated_at, 3000);

    /* finished is final: no way back to RUNNING, nor on to FAILED */
    upd.status = SPECTRA_JOB_RUNNING;
    upd.from = 0;
    upd.now = 4000;
    ck_assert_int_eq(store->ops->update(store, &upd, &job, &jpool, &err),
                     SPECTRA_JOB_CONFLICT);
    ck_assert_str_eq(err.message, "job is COMPLETED");

    upd.status = SPECTRA_JOB_FAILED;
    ck_assert_int_eq(store->ops->update(store, &upd, &job, &jpool, &err),
                     SPECTRA_JOB_CONFLICT);

    /* the same status again may add to it (a bulk job's manifest) */
    upd.status = SPECTRA_JOB_COMPLETED;
    upd.result = t_str("{\"files\":[{\"size\":1}]}");
    upd.row_count = -1;
    ck_assert_int_eq(store->ops->update(store, &upd, &job, &jpool, &err),
                     SPECTRA_JOB_OK);
    ck_assert_str_eq((char *) job.result.data, "{\"files\":[{\"size\":1}]}");
    ck_assert_int_eq(job.row_count, 42);
    ck_assert_int_eq(job.finished_at, 3000);
    ck_assert_int_eq(job.updated_at, 4000);

    /* and so may a change without a status */
    upd.status = SPECTRA_JOB_STATUS_NONE;
    upd.row_count = 43;
    ck_assert_int_eq(store->ops->update(store, &upd, &job, &jpool, &err),
                     SPECTRA_JOB_OK);
    ck_assert_int_eq(job.row_count, 43);
    ck_assert_int_eq(job.status, SPECTRA_JOB_COMPLETED);
}
END_TEST


START_TEST(test_update_failed_with_error)
{
    u_char                id[SPECTRA_JOB_ID_LEN + 1];
    spectra_job_t         job;
    spectra_job_update_t  upd;

    ck_assert_int_eq(t_create("acme", 1000, SPECTRA_JOB_QUERY,
                              SPECTRA_JOB_PENDING, id), SPECTRA_JOB_OK);

    memset(&upd, 0, sizeof(upd));
    upd.tenant_id = t_str("acme");
    upd.id = t_str((char *) id);
    upd.status = SPECTRA_JOB_FAILED;
    upd.error_code = t_str("QUERY_FAILED");
    upd.error_message = t_str("relation \"nope\" does not exist");
    upd.sqlstate = t_str("42P01");
    upd.row_count = -1;
    upd.now = 1500;

    ck_assert_int_eq(store->ops->update(store, &upd, &job, &jpool, &err),
                     SPECTRA_JOB_OK);
    ck_assert_int_eq(job.status, SPECTRA_JOB_FAILED);
    ck_assert_str_eq((char *) job.error_code.data, "QUERY_FAILED");
    ck_assert_str_eq((char *) job.error_message.data,
                     "relation \"nope\" does not exist");
    ck_assert_str_eq((char *) job.sqlstate.data, "42P01");
    ck_assert_int_eq(job.started_at, 1500);
    ck_assert_int_eq(job.finished_at, 1500);
}
END_TEST


START_TEST(test_update_from_mask)
{
    u_char                id[SPECTRA_JOB_ID_LEN + 1];
    spectra_job_t         job;
    spectra_job_update_t  upd;

    ck_assert_int_eq(t_create("acme", 1000, SPECTRA_JOB_QUERY,
                              SPECTRA_JOB_RUNNING, id), SPECTRA_JOB_OK);

    memset(&upd, 0, sizeof(upd));
    upd.tenant_id = t_str("acme");
    upd.id = t_str((char *) id);
    upd.status = SPECTRA_JOB_RUNNING;
    upd.statement_id = t_str("s");
    upd.from = SPECTRA_JOB_MASK(SPECTRA_JOB_PENDING);
    upd.row_count = -1;

    ck_assert_int_eq(store->ops->update(store, &upd, &job, &jpool, &err),
                     SPECTRA_JOB_CONFLICT);
    ck_assert_str_eq(err.message, "job is RUNNING");

    upd.from = SPECTRA_JOB_MASK(SPECTRA_JOB_PENDING)
               | SPECTRA_JOB_MASK(SPECTRA_JOB_RUNNING);
    ck_assert_int_eq(store->ops->update(store, &upd, &job, &jpool, &err),
                     SPECTRA_JOB_OK);
    ck_assert_str_eq((char *) job.statement_id.data, "s");

    /* a mask naming no status at all */
    upd.from = 1;
    ck_assert_int_eq(store->ops->update(store, &upd, &job, &jpool, &err),
                     SPECTRA_JOB_INVALID);
    upd.from = 1u << 7;
    ck_assert_int_eq(store->ops->update(store, &upd, &job, &jpool, &err),
                     SPECTRA_JOB_INVALID);
}
END_TEST


START_TEST(test_update_isolation)
{
    u_char                id[SPECTRA_JOB_ID_LEN + 1];
    spectra_job_t         got;
    spectra_job_update_t  upd;

    ck_assert_int_eq(t_create("acme", 1000, SPECTRA_JOB_QUERY,
                              SPECTRA_JOB_PENDING, id), SPECTRA_JOB_OK);

    memset(&upd, 0, sizeof(upd));
    upd.tenant_id = t_str("globex");
    upd.id = t_str((char *) id);
    upd.status = SPECTRA_JOB_FAILED;
    upd.error_message = t_str("hijacked");
    upd.row_count = 7;

    ck_assert_int_eq(store->ops->update(store, &upd, &got, &jpool, &err),
                     SPECTRA_JOB_NOT_FOUND);

    ck_assert_int_eq(t_get(store, "acme", id, &got), SPECTRA_JOB_OK);
    ck_assert_int_eq(got.status, SPECTRA_JOB_PENDING);
    ck_assert_ptr_null(got.error_message.data);
    ck_assert_int_eq(got.row_count, -1);
    ck_assert_int_eq(got.updated_at, 1000);

    /* a malformed id is absent */
    upd.tenant_id = t_str("acme");
    upd.id = t_str("job_");
    ck_assert_int_eq(store->ops->update(store, &upd, &got, &jpool, &err),
                     SPECTRA_JOB_NOT_FOUND);
}
END_TEST


START_TEST(test_cancel)
{
    u_char             id[SPECTRA_JOB_ID_LEN + 1];
    spectra_job_t      job;
    spectra_str_t      jid;
    spectra_job_owner_t  tenant, other;

    ck_assert_int_eq(t_create("acme", 1000, SPECTRA_JOB_QUERY,
                              SPECTRA_JOB_PENDING, id), SPECTRA_JOB_OK);

    tenant = t_owner("acme", NULL);
    other = t_owner("globex", NULL);
    jid = t_str((char *) id);

    /* another tenant cannot cancel it, nor learn that it exists */
    ck_assert_int_eq(store->ops->cancel(store, &other, &jid, 1500, &job,
                                        &jpool, &err),
                     SPECTRA_JOB_NOT_FOUND);

    ck_assert_int_eq(store->ops->cancel(store, &tenant, &jid, 2000, &job,
                                        &jpool, &err),
                     SPECTRA_JOB_OK);
    ck_assert_int_eq(job.status, SPECTRA_JOB_CANCELLED);
    ck_assert_int_eq(job.finished_at, 2000);
    ck_assert_int_eq(job.started_at, 0);

    /* twice: 409, and the caller learns the status */
    memset(&job, 0, sizeof(job));
    ck_assert_int_eq(store->ops->cancel(store, &tenant, &jid, 3000, &job,
                                        &jpool, &err),
                     SPECTRA_JOB_CONFLICT);
    ck_assert_int_eq(job.status, SPECTRA_JOB_CANCELLED);
    ck_assert_str_eq(err.message, "job is CANCELLED");
    ck_assert_int_eq(job.finished_at, 2000);
    ck_assert_int_eq(job.updated_at, 2000);

    jid = t_str("job_7zzzzzzzzzzzzzzzzzzzzzzzzz");
    ck_assert_int_eq(store->ops->cancel(store, &tenant, &jid, 3000, NULL,
                                        &jpool, &err),
                     SPECTRA_JOB_NOT_FOUND);
}
END_TEST


START_TEST(test_cancel_running_and_finished)
{
    u_char             a[SPECTRA_JOB_ID_LEN + 1], b[SPECTRA_JOB_ID_LEN + 1];
    spectra_job_t      job;
    spectra_str_t      jid;
    spectra_job_owner_t  tenant;

    ck_assert_int_eq(t_create("acme", 1000, SPECTRA_JOB_QUERY,
                              SPECTRA_JOB_RUNNING, a), SPECTRA_JOB_OK);
    ck_assert_int_eq(t_create("acme", 1000, SPECTRA_JOB_QUERY,
                              SPECTRA_JOB_TIMEOUT, b), SPECTRA_JOB_OK);

    tenant = t_owner("acme", NULL);

    jid = t_str((char *) a);
    ck_assert_int_eq(store->ops->cancel(store, &tenant, &jid, 5000, &job,
                                        &jpool, &err), SPECTRA_JOB_OK);
    ck_assert_int_eq(job.status, SPECTRA_JOB_CANCELLED);

    jid = t_str((char *) b);
    ck_assert_int_eq(store->ops->cancel(store, &tenant, &jid, 5000, NULL,
                                        &jpool, &err),
                     SPECTRA_JOB_CONFLICT);
}
END_TEST


/* retention: finished jobs go oldest first, in batches; active ones stay */
START_TEST(test_purge)
{
    int                  i;
    u_char               id[4][SPECTRA_JOB_ID_LEN + 1];
    unsigned             n;
    spectra_job_t        job;
    spectra_str_t        jid;
    spectra_job_owner_t  acme, globex;
    static const int64_t cancelled_at[] = { 2000, 5000, 0, 1500 };

    acme = t_owner("acme", NULL);
    globex = t_owner("globex", NULL);

    for (i = 0; i < 4; i++) {
        ck_assert_int_eq(t_create(i == 3 ? "globex" : "acme", 1000 + i,
                                  SPECTRA_JOB_QUERY,
                                  i == 2 ? SPECTRA_JOB_RUNNING
                                         : SPECTRA_JOB_PENDING, id[i]),
                         SPECTRA_JOB_OK);

        if (cancelled_at[i]) {
            jid = t_str((char *) id[i]);
            ck_assert_int_eq(store->ops->cancel(store,
                                                i == 3 ? &globex : &acme,
                                                &jid, cancelled_at[i], NULL,
                                                &jpool, &err),
                             SPECTRA_JOB_OK);
        }
    }

    /* the oldest first, whoever's, at most the limit */
    ck_assert_int_eq(store->ops->purge(store, 3000, 1, &n, &err),
                     SPECTRA_JOB_OK);
    ck_assert_uint_eq(n, 1);
    ck_assert_int_eq(t_get(store, "globex", id[3], &job),
                     SPECTRA_JOB_NOT_FOUND);
    ck_assert_int_eq(t_get(store, "acme", id[0], &job), SPECTRA_JOB_OK);

    /* only what finished before the bound */
    ck_assert_int_eq(store->ops->purge(store, 3000, 10, &n, &err),
                     SPECTRA_JOB_OK);
    ck_assert_uint_eq(n, 1);
    ck_assert_int_eq(t_get(store, "acme", id[0], &job),
                     SPECTRA_JOB_NOT_FOUND);
    ck_assert_int_eq(t_get(store, "acme", id[1], &job), SPECTRA_JOB_OK);

    /* an active job stays, however old */
    ck_assert_int_eq(store->ops->purge(store, INT64_MAX, 10, &n, &err),
                     SPECTRA_JOB_OK);
    ck_assert_uint_eq(n, 1);
    ck_assert_int_eq(t_get(store, "acme", id[1], &job),
                     SPECTRA_JOB_NOT_FOUND);
    ck_assert_int_eq(t_get(store, "acme", id[2], &job), SPECTRA_JOB_OK);
    ck_assert_int_eq(job.status, SPECTRA_JOB_RUNNING);

    ck_assert_int_eq(store->ops->purge(store, INT64_MAX, 10, &n, &err),
                     SPECTRA_JOB_OK);
    ck_assert_uint_eq(n, 0);
}
END_TEST


typedef struct {
    int64_t   created;
    char      id[SPECTRA_JOB_ID_LEN + 1];
} t_key_t;



/* the tenant's active cap holds at creation, and only for that tenant */
START_TEST(test_create_cap)
{
    int            i;
    u_char         id[3][SPECTRA_JOB_ID_LEN + 1];
    unsigned       n;
    spectra_job_t  job;
    spectra_str_t      acme = t_str("acme");
    spectra_job_owner_t  acme_owner = t_owner("acme", NULL);

    for (i = 0; i < 2; i++) {
        t_job(&job, "acme", 1000 + i);
        ck_assert_int_eq(store->ops->create(store, &job, 2, &err),
                         SPECTRA_JOB_OK);
        memcpy(id[i], job.id, sizeof(id[i]));
    }

    t_job(&job, "acme", 1010);
    ck_assert_int_eq(store->ops->create(store, &job, 2, &err),
                     SPECTRA_JOB_LIMIT);
    ck_assert_str_eq(err.message, "the tenant has 2 active jobs");
    ck_assert_int_eq(err.code, SPECTRA_JOB_LIMIT);

    /* no cap, another tenant, a finished job: the cap does not apply */
    t_job(&job, "acme", 1011);
    ck_assert_int_eq(store->ops->create(store, &job, 0, &err),
                     SPECTRA_JOB_OK);
    memcpy(id[2], job.id, sizeof(id[2]));

    t_job(&job, "globex", 1012);
    ck_assert_int_eq(store->ops->create(store, &job, 1, &err),
                     SPECTRA_JOB_OK);

    ck_assert_int_eq(store->ops->active(store, &acme, &n, &err),
                     SPECTRA_JOB_OK);
    ck_assert_uint_eq(n, 3);

    ck_assert_int_eq(store->ops->cancel(store, &acme_owner,
                                        &(spectra_str_t) {
                                            SPECTRA_JOB_ID_LEN, id[0] },
                                        2000, NULL, &jpool, &err),
                     SPECTRA_JOB_OK);
    ck_assert_int_eq(store->ops->cancel(store, &acme_owner,
                                        &(spectra_str_t) {
                                            SPECTRA_JOB_ID_LEN, id[2] },
                                        2000, NULL, &jpool, &err),
                     SPECTRA_JOB_OK);

    ck_assert_int_eq(store->ops->active(store, &acme, &n, &err),
                     SPECTRA_JOB_OK);
    ck_assert_uint_eq(n, 1);

    t_job(&job, "acme", 1020);
    ck_assert_int_eq(store->ops->create(store, &job, 2, &err),
                     SPECTRA_JOB_OK);
}
END_TEST


/* the supervisor's list: active jobs whose time has come, soonest first */
START_TEST(test_due)
{
    int                   i;
    u_char                ids[4][SPECTRA_JOB_ID_LEN + 1];
    spectra_job_t         job;
    spectra_job_list_t    list;
    spectra_job_update_t  upd;

    static const int64_t  check[] = { 5000, 3000, 9000, 4000 };

    for (i = 0; i < 4; i++) {
        t_job(&job, i % 2 ? "globex" : "acme", 1000 + i);
        job.check_at = check[i];
        job.deadline_at = 8000;
        job.execution_ms = -1;
        ck_assert_int_eq(store->ops->create(store, &job, 0, &err),
                         SPECTRA_JOB_OK);
        memcpy(ids[i], job.id, sizeof(ids[i]));
    }

    /* a finished job is never due */
    memset(&upd, 0, sizeof(upd));
    upd.tenant_id = t_str("globex");
    upd.id = t_str((char *) ids[3]);
    upd.status = SPECTRA_JOB_COMPLETED;
    upd.row_count = 1;
    upd.execution_ms = 42;
    ck_assert_int_eq(store->ops->update(store, &upd, &job, &jpool, &err),
                     SPECTRA_JOB_OK);
    ck_assert_int_eq(job.execution_ms, 42);
    ck_assert_int_eq(job.deadline_at, 8000);
    ck_assert_int_eq(job.check_at, 4000);

    ck_assert_int_eq(store->ops->due(store, 2999, 10, &list, &jpool, &err),
                     SPECTRA_JOB_OK);
    ck_assert_uint_eq(list.njobs, 0);

    ck_assert_int_eq(store->ops->due(store, 5000, 10, &list, &jpool, &err),
                     SPECTRA_JOB_OK);
    ck_assert_uint_eq(list.njobs, 2);
    ck_assert_str_eq((char *) list.jobs[0].id, (char *) ids[1]);
    ck_assert_str_eq((char *) list.jobs[1].id, (char *) ids[0]);
    ck_assert_str_eq((char *) list.jobs[0].tenant_id.data, "globex");
    ck_assert_int_eq(list.jobs[0].deadline_at, 8000);

    ck_assert_int_eq(store->ops->due(store, 99999, 1, &list, &jpool, &err),
                     SPECTRA_JOB_OK);
    ck_assert_uint_eq(list.njobs, 1);

    /* a check moved later takes the job off the list until then */
    memset(&upd, 0, sizeof(upd));
    upd.tenant_id = t_str("globex");
    upd.id = t_str((char *) ids[1]);
    upd.check_at = 7000;
    upd.row_count = -1;
    upd.execution_ms = -1;
    ck_assert_int_eq(store->ops->update(store, &upd, &job, &jpool, &err),
                     SPECTRA_JOB_OK);
    ck_assert_int_eq(job.check_at, 7000);

    ck_assert_int_eq(store->ops->due(store, 6000, 10, &list, &jpool, &err),
                     SPECTRA_JOB_OK);
    ck_assert_uint_eq(list.njobs, 1);
    ck_assert_str_eq((char *) list.jobs[0].id, (char *) ids[0]);

    ck_assert_int_eq(store->ops->due(store, 6000, 0, &list, &jpool, &err),
                     SPECTRA_JOB_INVALID);
}
END_TEST


/* a store of the first schema is taken to the second, its jobs kept */
START_TEST(test_migrate_v1)
{
    sqlite3             *db;
    spectra_job_t        job;
    spectra_job_list_t   list;

    store->ops->close(store);
    store = NULL;
    unlink(path);

    ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
    ck_assert_int_eq(sqlite3_exec(db,
        "CREATE TABLE jobs (id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL,"
        " type TEXT NOT NULL, status TEXT NOT NULL, statement_id TEXT,"
        " sql TEXT, parameters TEXT, idempotency_key TEXT,"
        " request_hash TEXT, db_user TEXT, session_id TEXT, result TEXT,"
        " error_code TEXT, error_message TEXT, sqlstate TEXT,"
        " created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,"
        " started_at INTEGER, finished_at INTEGER, row_count INTEGER);"
        "CREATE INDEX jobs_tenant_created ON jobs"
        " (tenant_id, created_at DESC, id DESC);"
        "CREATE UNIQUE INDEX jobs_tenant_key ON jobs"
        " (tenant_id, idempotency_key) WHERE idempotency_key IS NOT NULL;"
        "INSERT INTO jobs (id, tenant_id, type, status, statement_id,"
        " created_at, updated_at) VALUES ('job_0123456789abcdefghjkmnpqrs',"
        " 'acme', 'query', 'RUNNING', 's-1', 1000, 1000);"
        "PRAGMA user_version = 1;", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);

    ck_assert_int_eq(t_open(&store), SPECTRA_JOB_OK);

    ck_assert_int_eq(t_get(store, "acme",
                           (u_char *) "job_0123456789abcdefghjkmnpqrs", &job),
                     SPECTRA_JOB_OK);
    ck_assert_int_eq(job.status, SPECTRA_JOB_RUNNING);
    ck_assert_int_eq(job.execution_ms, -1);
    ck_assert_int_eq(job.deadline_at, 0);
    ck_assert_int_eq(job.check_at, 0);

    /* a job of before has no check time: due at once */
    ck_assert_int_eq(store->ops->due(store, 1, 10, &list, &jpool, &err),
                     SPECTRA_JOB_OK);
    ck_assert_uint_eq(list.njobs, 1);

    /* version 4 (rebuilt): no phase for it, and import jobs fit */
    ck_assert_ptr_null(job.phase.data);
    t_job(&job, "acme", 2000);
    job.type = SPECTRA_JOB_IMPORT;
    job.phase = t_str(SPECTRA_JOB_PHASE_OPEN);
    ck_assert_int_eq(store->ops->create(store, &job, 0, &err),
                     SPECTRA_JOB_OK);
}
END_TEST


/*
 * An import job: created Open (phase "open"), moved to "uploaded" once
 * (a second move, or one from another phase, is a CONFLICT), its state
 * named as Salesforce's Bulk API names it, and shown with it.
 */
START_TEST(test_import_phase)
{
    u_char                id[SPECTRA_JOB_ID_LEN + 1];
    spectra_job_t         job, got;
    spectra_job_update_t  upd;
    spectra_job_filter_t  f;
    spectra_job_list_t    list;
    char                  json[1024];

    t_job(&job, "acme", 1000);
    job.type = SPECTRA_JOB_IMPORT;
    job.phase = t_str(SPECTRA_JOB_PHASE_OPEN);
    job.check_at = 9000;
    ck_assert_int_eq(store->ops->create(store, &job, 0, &err),
                     SPECTRA_JOB_OK);
    memcpy(id, job.id, sizeof(id));

    ck_assert_int_eq(t_get(store, "acme", id, &got), SPECTRA_JOB_OK);
    ck_assert_int_eq(got.type, SPECTRA_JOB_IMPORT);
    ck_assert_str_eq((char *) got.phase.data, "open");
    ck_assert_str_eq(spectra_job_import_state(&got), "Open");

    memset(&upd, 0, sizeof(upd));
    upd.tenant_id = t_str("acme");
    upd.id = t_str((char *) id);
    upd.from = SPECTRA_JOB_MASK(SPECTRA_JOB_PENDING);
    upd.phase = t_str(SPECTRA_JOB_PHASE_UPLOADED);
    upd.from_phase = t_str(SPECTRA_JOB_PHASE_OPEN);
    upd.deadline_at = 5000;
    upd.check_at = 3000;
    upd.row_count = -1;
    upd.execution_ms = -1;
    upd.now = 2000;

    ck_assert_int_eq(store->ops->update(store, &upd, &got, &jpool, &err),
                     SPECTRA_JOB_OK);
    ck_assert_str_eq((char *) got.phase.data, "uploaded");
    ck_assert_int_eq(got.deadline_at, 5000);
    ck_assert_int_eq(got.check_at, 3000);
    ck_assert_str_eq(spectra_job_import_state(&got), "UploadComplete");

    /* the same move again: the phase is no longer "open" */
    ck_assert_int_eq(store->ops->update(store, &upd, &got, &jpool, &err),
                     SPECTRA_JOB_CONFLICT);
    ck_assert_str_eq(err.message, "job is PENDING");

    /* a phase that is not [a-z_] is refused before any write */
    upd.from_phase = t_str("Open");
    ck_assert_int_eq(store->ops->update(store, &upd, &got, &jpool, &err),
                     SPECTRA_JOB_INVALID);
    upd.from_phase.data = NULL;
    upd.phase = t_str("");
    ck_assert_int_eq(store->ops->update(store, &upd, &got, &jpool, &err),
                     SPECTRA_JOB_INVALID);

    /* the states of the statuses that follow */
    got.status = SPECTRA_JOB_RUNNING;
    ck_assert_str_eq(spectra_job_import_state(&got), "InProgress");
    got.status = SPECTRA_JOB_COMPLETED;
    ck_assert_str_eq(spectra_job_import_state(&got), "JobComplete");
    got.status = SPECTRA_JOB_FAILED;
    ck_assert_str_eq(spectra_job_import_state(&got), "Failed");
    got.status = SPECTRA_JOB_TIMEOUT;
    ck_assert_str_eq(spectra_job_import_state(&got), "Failed");
    got.status = SPECTRA_JOB_CANCELLED;
    ck_assert_str_eq(spectra_job_import_state(&got), "Aborted");

    /* the API's view names the state and links the import */
    ck_assert_int_eq(t_get(store, "acme", id, &got), SPECTRA_JOB_OK);
    ck_assert_uint_lt(spectra_job_json_len(&got, NULL, 0), sizeof(json));
    *spectra_job_json((u_char *) json, &got, NULL, 0) = '\0';
    ck_assert_ptr_nonnull(strstr(json, "\"type\":\"import\",\"status\":"
                                       "\"PENDING\",\"state\":"
                                       "\"UploadComplete\""));
    ck_assert_ptr_nonnull(strstr(json, "\"import\":\"/v1/imports/job_"));
    ck_assert_ptr_null(strstr(json, "uploaded"));

    /* lists filter on the import type */
    ck_assert_int_eq(t_create("acme", 1500, SPECTRA_JOB_QUERY,
                              SPECTRA_JOB_PENDING, NULL), SPECTRA_JOB_OK);
    memset(&f, 0, sizeof(f));
    f.owner = t_owner("acme", NULL);
    f.types = 1u << SPECTRA_JOB_IMPORT;
    f.limit = 10;
    ck_assert_int_eq(store->ops->list(store, &f, &list, &jpool, &err),
                     SPECTRA_JOB_OK);
    ck_assert_uint_eq(list.njobs, 1);
    ck_assert_str_eq((char *) list.jobs[0].id, (char *) id);
    ck_assert_str_eq((char *) list.jobs[0].phase.data, "uploaded");
}
END_TEST


static int
t_cmp_desc(const void *a, const void *b)
{
    const t_key_t  *x = a, *y = b;

    if (x->created != y->created) {
        return x->created < y->created ? 1 : -1;
    }

    return -strcmp(x->id, y->id);
}


START_TEST(test_list_order_and_pages)
{
    u_char                id[SPECTRA_JOB_ID_LEN + 1];
    t_key_t               keys[25];
    size_t                i, k, pages;
    spectra_job_list_t    list;
    spectra_job_filter_t  f;
    char                  cursor[SPECTRA_JOB_CURSOR_LEN + 1];

    /* five jobs share each timestamp: the id breaks the tie */
    for (i = 0; i < 25; i++) {
        keys[i].created = 1000 + (int64_t) (i % 5) * 10;
        ck_assert_int_eq(t_create("acme", keys[i].created, SPECTRA_JOB_QUERY,
                                  SPECTRA_JOB_PENDING, id), SPECTRA_JOB_OK);
        memcpy(keys[i].id, id, sizeof(keys[i].id));
    }

    /* another tenant's jobs, newer, must not show */
    for (i = 0; i < 3; i++) {
        ck_assert_int_eq(t_create("globex", 9999, SPECTRA_JOB_QUERY,
                                  SPECTRA_JOB_PENDING, NULL),
                         SPECTRA_JOB_OK);
    }

    qsort(keys, 25, sizeof(t_key_t), t_cmp_desc);

    memset(&f, 0, sizeof(f));
    f.owner.tenant_id = t_str("acme");
    f.limit = 10;

    k = 0;
    pages = 0;
    cursor[0] = '\0';

    do {
        f.cursor = t_str(cursor);
        ck_assert_int_eq(store->ops->list(store, &f, &list, &jpool, &err),
                         SPECTRA_JOB_OK);
        pages++;

        ck_assert_uint_eq(list.njobs, pages < 3 ? 10 : 5);

        for (i = 0; i < list.njobs; i++, k++) {
            ck_assert_str_eq((char *) list.jobs[i].id, keys[k].id);
            ck_assert_int_eq(list.jobs[i].created_at, keys[k].created);
            ck_assert_str_eq((char *) list.jobs[i].tenant_id.data, "acme");
            ck_assert_ptr_null(list.jobs[i].sql.data);
        }

        if (pages < 3) {
            ck_assert_uint_eq(strlen((char *) list.next_cursor),
                              SPECTRA_JOB_CURSOR_LEN);
        }

        memcpy(cursor, list.next_cursor, sizeof(cursor));

    } while (cursor[0] != '\0');

    ck_assert_uint_eq(pages, 3);
    ck_assert_uint_eq(k, 25);
}
END_TEST


START_TEST(test_list_exact_page)
{
    /* exactly limit jobs: one page, no cursor */
    size_t                i;
    spectra_job_list_t    list;
    spectra_job_filter_t  f;

    for (i = 0; i < 4; i++) {
        ck_assert_int_eq(t_create("acme", 1000 + (int64_t) i,
                                  SPECTRA_JOB_QUERY, SPECTRA_JOB_PENDING,
                                  NULL), SPECTRA_JOB_OK);
    }

    memset(&f, 0, sizeof(f));
    f.owner.tenant_id = t_str("acme");
    f.limit = 4;

    ck_assert_int_eq(store->ops->list(store, &f, &list, &jpool, &err),
                     SPECTRA_JOB_OK);
    ck_assert_uint_eq(list.njobs, 4);
    ck_assert_str_eq((char *) list.next_cursor, "");
    ck_assert_int_eq(list.jobs[0].created_at, 1003);
    ck_assert_int_eq(list.jobs[3].created_at, 1000);

    f.owner.tenant_id = t_str("nobody");
    ck_assert_int_eq(store->ops->list(store, &f, &list, &jpool, &err),
                     SPECTRA_JOB_OK);
    ck_assert_uint_eq(list.njobs, 0);
    ck_assert_str_eq((char *) list.next_cursor, "");
}
END_TEST


START_TEST(test_list_filters)
{
    size_t                i, n, total;
    spectra_job_list_t    list;
    spectra_job_filter_t  f;
    char                  cursor[SPECTRA_JOB_CURSOR_LEN + 1];
    spectra_job_status_e  st;
    spectra_job_type_e    ty;

    /* 30 jobs: statuses round robin, every third a bulk job */
    for (i = 0; i < 30; i++) {
        st = (spectra_job_status_e) (SPECTRA_JOB_PENDING + i % 6);
        ty = (i % 3 == 0) ? SPECTRA_JOB_BULK : SPECTRA_JOB_QUERY;

        ck_assert_int_eq(t_create("acme", 1000 + (int64_t) i, ty, st, NULL),
                         SPECTRA_JOB_OK);
    }

    memset(&f, 0, sizeof(f));
    f.owner.tenant_id = t_str("acme");
    f.limit = 2;
    f.statuses = SPECTRA_JOB_MASK(SPECTRA_JOB_RUNNING)
                 | SPECTRA_JOB_MASK(SPECTRA_JOB_FAILED);

    /* i % 6 == 1 or 3: 10 jobs, fetched two at a time */
    total = 0;
    cursor[0] = '\0';

    do {
        f.cursor = t_str(cursor);
        ck_assert_int_eq(store->ops->list(store, &f, &list, &jpool, &err),
                         SPECTRA_JOB_OK);

        for (i = 0; i < list.njobs; i++) {
            ck_assert(list.jobs[i].status == SPECTRA_JOB_RUNNING
                      || list.jobs[i].status == SPECTRA_JOB_FAILED);
        }

        total += list.njobs;
        memcpy(cursor, list.next_cursor, sizeof(cursor));

    } while (cursor[0] != '\0');

    ck_assert_uint_eq(total, 10);

    /* bulk and FAILED: i % 3 == 0 and i % 6 == 3: 3, 9, 15, 21, 27 */
    f.statuses = SPECTRA_JOB_MASK(SPECTRA_JOB_FAILED);
    f.types = 1u << SPECTRA_JOB_BULK;
    f.limit = 100;
    f.cursor = t_str(NULL);
    f.with_sql = 1;

    ck_assert_int_eq(store->ops->list(store, &f, &list, &jpool, &err),
                     SPECTRA_JOB_OK);
    ck_assert_uint_eq(list.njobs, 5);

    for (n = 0; n < 5; n++) {
        ck_assert_int_eq(list.jobs[n].created_at,
                         1000 + 27 - (int64_t) n * 6);
        ck_assert_int_eq(list.jobs[n].type, SPECTRA_JOB_BULK);
        ck_assert_str_eq((char *) list.jobs[n].sql.data, "select 1");
    }

    /* query type only */
    f.statuses = 0;
    f.types = 1u << SPECTRA_JOB_QUERY;
    ck_assert_int_eq(store->ops->list(store, &f, &list, &jpool, &err),
                     SPECTRA_JOB_OK);
    ck_assert_uint_eq(list.njobs, 20);
}
END_TEST


static const char  *t_bad_cursors[] = {
    "x",
    "0000000000000000",
    "00000000000003e8123456789abcdefghjkmnpqrs",          /* 41 */
    "00000000000003e80123456789abcdefghjkmnpqrss",        /* 43 */
    "00000000000003E80123456789abcdefghjkmnpqrs",         /* uppercase */
    "00000000000003e80123456789abcdefghjkmnpqri",         /* not base32 */
    "00000000000003g80123456789abcdefghjkmnpqrs",
    "f0000000000003e80123456789abcdefghjkmnpqrs",         /* negative */
    "00000000000003e88123456789abcdefghjkmnpqrs",         /* > 128 bits */
    "' OR '1'='1' --                           "
};


START_TEST(test_list_bad_cursor)
{
    spectra_job_list_t    list;
    spectra_job_filter_t  f;

    memset(&f, 0, sizeof(f));
    f.owner.tenant_id = t_str("acme");
    f.limit = 10;
    f.cursor = t_str(t_bad_cursors[_i]);

    ck_assert_int_eq(store->ops->list(store, &f, &list, &jpool, &err),
                     SPECTRA_JOB_INVALID);
    ck_assert_str_eq(err.message, "malformed cursor");
}
END_TEST


START_TEST(test_list_bad_filter)
{
    spectra_job_list_t    list;
    spectra_job_filter_t  f;

    memset(&f, 0, sizeof(f));
    f.owner.tenant_id = t_str("acme");

    f.limit = 0;
    ck_assert_int_eq(store->ops->list(store, &f, &list, &jpool, &err),
                     SPECTRA_JOB_INVALID);

    f.limit = SPECTRA_JOB_LIST_MAX + 1;
    ck_assert_int_eq(store->ops->list(store, &f, &list, &jpool, &err),
                     SPECTRA_JOB_INVALID);

    f.limit = 1;
    f.statuses = 1;
    ck_assert_int_eq(store->ops->list(store, &f, &list, &jpool, &err),
                     SPECTRA_JOB_INVALID);

    f.statuses = 0;
    f.types = 1u << 4;
    ck_assert_int_eq(store->ops->list(store, &f, &list, &jpool, &err),
                     SPECTRA_JOB_INVALID);

    f.types = 0;
    f.owner.tenant_id = t_str("");
    ck_assert_int_eq(store->ops->list(store, &f, &list, &jpool, &err),
                     SPECTRA_JOB_INVALID);

    f.owner.tenant_id = t_str("acme");
    ck_assert_int_eq(store->ops->list(store, &f, &list, &jpool, &err),
                     SPECTRA_JOB_OK);
}
END_TEST


/* A job is its database user's: get, list, key and cancel. */

START_TEST(test_owner)
{
    u_char               ida[SPECTRA_JOB_ID_LEN + 1];
    spectra_str_t        key, jid;
    spectra_job_t        a, b, found;
    spectra_job_list_t   list;
    spectra_job_owner_t  ua, ub;
    spectra_job_filter_t f;

    t_job(&a, "acme", 1000);
    a.db_user = t_str("tenant_acme");
    a.idempotency_key = t_str("k");
    a.request_hash = t_str("h");
    ck_assert_int_eq(store->ops->create(store, &a, 0, &err), SPECTRA_JOB_OK);
    memcpy(ida, a.id, sizeof(ida));

    /* the same key for another user of the tenant: its own job */
    t_job(&b, "acme", 1001);
    b.db_user = t_str("tenant_acme_ro");
    b.idempotency_key = t_str("k");
    b.request_hash = t_str("h");
    ck_assert_int_eq(store->ops->create(store, &b, 0, &err), SPECTRA_JOB_OK);

    /* and the same user twice: DUPLICATE */
    t_job(&found, "acme", 1002);
    found.db_user = t_str("tenant_acme_ro");
    found.idempotency_key = t_str("k");
    ck_assert_int_eq(store->ops->create(store, &found, 0, &err),
                     SPECTRA_JOB_DUPLICATE);

    ua = t_owner("acme", "tenant_acme");
    ub = t_owner("acme", "tenant_acme_ro");
    key = t_str("k");

    ck_assert_int_eq(store->ops->find_key(store, &ub, &key, &found, &jpool,
                                          &err), SPECTRA_JOB_OK);
    ck_assert_str_eq((char *) found.id, (char *) b.id);
    ck_assert_int_eq(store->ops->find_key(store, &ua, &key, &found, &jpool,
                                          &err), SPECTRA_JOB_OK);
    ck_assert_str_eq((char *) found.id, (char *) ida);

    memset(&f, 0, sizeof(f));
    f.owner = ub;
    f.limit = 10;
    ck_assert_int_eq(store->ops->list(store, &f, &list, &jpool, &err),
                     SPECTRA_JOB_OK);
    ck_assert_uint_eq(list.njobs, 1);
    ck_assert_str_eq((char *) list.jobs[0].id, (char *) b.id);

    /* ub can neither read nor cancel ua's job */
    jid = t_str((char *) ida);
    ck_assert_int_eq(store->ops->get(store, &ub, &jid, &found, &jpool, &err),
                     SPECTRA_JOB_NOT_FOUND);
    ck_assert_int_eq(store->ops->cancel(store, &ub, &jid, 2000, &found,
                                        &jpool, &err),
                     SPECTRA_JOB_NOT_FOUND);
    ck_assert_int_eq(t_get_as(store, "acme", "tenant_acme", ida, &found),
                     SPECTRA_JOB_OK);
    ck_assert_int_eq(found.status, SPECTRA_JOB_PENDING);

    ck_assert_int_eq(store->ops->cancel(store, &ua, &jid, 2000, &found,
                                        &jpool, &err), SPECTRA_JOB_OK);
    ck_assert_int_eq(found.status, SPECTRA_JOB_CANCELLED);
}
END_TEST


START_TEST(test_idempotency)
{
    spectra_job_t      job, again, other, found;
    spectra_str_t      key;
    spectra_job_owner_t  tenant;

    t_job(&job, "acme", 1000);
    job.idempotency_key = t_str("order-42");
    job.request_hash = t_str("hash-a");
    ck_assert_int_eq(store->ops->create(store, &job, 0, &err), SPECTRA_JOB_OK);

    /* the same key for the same tenant: DUPLICATE, whatever the body */
    t_job(&again, "acme", 2000);
    again.idempotency_key = t_str("order-42");
    again.request_hash = t_str("hash-b");
    ck_assert_int_eq(store->ops->create(store, &again, 0, &err),
                     SPECTRA_JOB_DUPLICATE);

    tenant = t_owner("acme", NULL);
    key = t_str("order-42");
    ck_assert_int_eq(store->ops->find_key(store, &tenant, &key, &found,
                                          &jpool, &err), SPECTRA_JOB_OK);
    ck_assert_str_eq((char *) found.id, (char *) job.id);
    ck_assert_str_eq((char *) found.request_hash.data, "hash-a");

    /* keys are per tenant */
    t_job(&other, "globex", 3000);
    other.idempotency_key = t_str("order-42");
    other.request_hash = t_str("hash-c");
    ck_assert_int_eq(store->ops->create(store, &other, 0, &err),
                     SPECTRA_JOB_OK);

    tenant = t_owner("globex", NULL);
    ck_assert_int_eq(store->ops->find_key(store, &tenant, &key, &found,
                                          &jpool, &err), SPECTRA_JOB_OK);
    ck_assert_str_eq((char *) found.id, (char *) other.id);
    ck_assert_str_eq((char *) found.request_hash.data, "hash-c");

    /* unknown key, other tenant */
    key = t_str("order-43");
    ck_assert_int_eq(store->ops->find_key(store, &tenant, &key, &found,
                                          &jpool, &err),
                     SPECTRA_JOB_NOT_FOUND);
    tenant = t_owner("initech", NULL);
    key = t_str("order-42");
    ck_assert_int_eq(store->ops->find_key(store, &tenant, &key, &found,
                                          &jpool, &err),
                     SPECTRA_JOB_NOT_FOUND);

    /* jobs without a key never collide */
    ck_assert_int_eq(t_create("acme", 1, SPECTRA_JOB_QUERY,
                              SPECTRA_JOB_PENDING, NULL), SPECTRA_JOB_OK);
    ck_assert_int_eq(t_create("acme", 1, SPECTRA_JOB_QUERY,
                              SPECTRA_JOB_PENDING, NULL), SPECTRA_JOB_OK);

    key = t_str("");
    tenant = t_owner("acme", NULL);
    ck_assert_int_eq(store->ops->find_key(store, &tenant, &key, &found,
                                          &jpool, &err),
                     SPECTRA_JOB_INVALID);
}
END_TEST


START_TEST(test_durable_reopen)
{
    u_char                id[SPECTRA_JOB_ID_LEN + 1];
    spectra_job_t         got;
    spectra_job_update_t  upd;

    ck_assert_int_eq(t_create("acme", 1000, SPECTRA_JOB_QUERY,
                              SPECTRA_JOB_PENDING, id), SPECTRA_JOB_OK);

    memset(&upd, 0, sizeof(upd));
    upd.tenant_id = t_str("acme");
    upd.id = t_str((char *) id);
    upd.status = SPECTRA_JOB_COMPLETED;
    upd.row_count = 5;
    upd.now = 2000;
    ck_assert_int_eq(store->ops->update(store, &upd, NULL, &jpool, &err),
                     SPECTRA_JOB_OK);

    store->ops->close(store);
    store = NULL;

    ck_assert_int_eq(t_open(&store), SPECTRA_JOB_OK);
    ck_assert_int_eq(t_get(store, "acme", id, &got), SPECTRA_JOB_OK);
    ck_assert_int_eq(got.status, SPECTRA_JOB_COMPLETED);
    ck_assert_int_eq(got.row_count, 5);
    ck_assert_int_eq(got.finished_at, 2000);
}
END_TEST


/* two connections, as two nginx workers have */

START_TEST(test_two_connections)
{
    u_char                id[SPECTRA_JOB_ID_LEN + 1];
    spectra_job_t         got;
    spectra_job_list_t    list;
    spectra_job_filter_t  f;
    spectra_job_update_t  upd;
    spectra_job_store_t  *second;

    ck_assert_int_eq(t_open(&second), SPECTRA_JOB_OK);

    ck_assert_int_eq(t_create("acme", 1000, SPECTRA_JOB_QUERY,
                              SPECTRA_JOB_PENDING, id), SPECTRA_JOB_OK);

    ck_assert_int_eq(t_get(second, "acme", id, &got), SPECTRA_JOB_OK);
    ck_assert_int_eq(got.status, SPECTRA_JOB_PENDING);

    memset(&upd, 0, sizeof(upd));
    upd.tenant_id = t_str("acme");
    upd.id = t_str((char *) id);
    upd.status = SPECTRA_JOB_RUNNING;
    upd.statement_id = t_str("from-the-second-worker");
    upd.row_count = -1;
    ck_assert_int_eq(second->ops->update(second, &upd, NULL, &jpool, &err),
                     SPECTRA_JOB_OK);

    ck_assert_int_eq(t_get(store, "acme", id, &got), SPECTRA_JOB_OK);
    ck_assert_int_eq(got.status, SPECTRA_JOB_RUNNING);
    ck_assert_str_eq((char *) got.statement_id.data,
                     "from-the-second-worker");

    memset(&f, 0, sizeof(f));
    f.owner.tenant_id = t_str("acme");
    f.limit = 10;
    ck_assert_int_eq(second->ops->list(second, &f, &list, &jpool, &err),
                     SPECTRA_JOB_OK);
    ck_assert_uint_eq(list.njobs, 1);
    ck_assert_str_eq((char *) list.jobs[0].id, (char *) id);

    second->ops->close(second);
}
END_TEST


/* what the WAL hook heard: its calls, its last size, and its sizes' fall */
typedef struct {
    int   calls;
    int   last;
    int   max;
    int   restarts;        /* a size below the one before: the WAL restarted */
} t_wal_t;


static void
t_wal(void *data, int pages)
{
    t_wal_t  *w = data;

    if (w->calls > 0 && pages < w->last) {
        w->restarts++;
    }

    w->calls++;
    w->last = pages;

    if (pages > w->max) {
        w->max = pages;
    }
}


static void
t_open_wal(spectra_job_store_t **st, int autocheckpoint, t_wal_t *w)
{
    spectra_job_conf_t  conf;

    memset(w, 0, sizeof(t_wal_t));
    memset(&conf, 0, sizeof(conf));
    conf.path = path;
    conf.busy_timeout_ms = 50;
    conf.autocheckpoint = autocheckpoint;
    conf.wal = t_wal;
    conf.wal_data = w;

    ck_assert_int_eq(spectra_job_sqlite_ops.open(st, &conf, &err),
                     SPECTRA_JOB_OK);
}


/* a query job created through st, its id copied to id */
static void
t_create_on(spectra_job_store_t *st, const char *tenant, int64_t created,
    u_char *id)
{
    spectra_job_t  job;

    t_job(&job, tenant, created);
    job.sql = t_str("select 1");
    ck_assert_int_eq(st->ops->create(st, &job, 0, &err), SPECTRA_JOB_OK);
    memcpy(id, job.id, SPECTRA_JOB_ID_LEN + 1);
}


/*
 * The WAL hook: called once per commit with the WAL's size, whoever's
 * commits grew it; the autocheckpoint still runs behind it (the WAL
 * restarts), or does not with -1 until checkpoint() is called.
 */

START_TEST(test_wal_hook)
{
    int                    i;
    u_char                 id[SPECTRA_JOB_ID_LEN + 1];
    t_wal_t                w, w2;
    spectra_job_update_t   upd;
    spectra_job_store_t   *mine, *other;

    /* no checkpoint on commit: the size only grows, one call per write */
    t_open_wal(&mine, -1, &w);

    for (i = 0; i < 40; i++) {
        ck_assert_int_eq(t_create("acme", 1000 + i, SPECTRA_JOB_QUERY,
                                  SPECTRA_JOB_PENDING, NULL),
                         SPECTRA_JOB_OK);
    }

    /* the writes above were the store's, not mine: I heard nothing */
    ck_assert_int_eq(w.calls, 0);

    for (i = 0; i < 40; i++) {
        t_create_on(mine, "acme", 2000 + i, id);
    }

    ck_assert_int_eq(w.calls, 40);
    ck_assert_int_eq(w.restarts, 0);
    ck_assert_int_gt(w.max, 40);     /* the other connection's pages too */

    /* a read commits nothing: no call */
    {
        spectra_job_t  got;

        ck_assert_int_eq(t_get(mine, "acme", id, &got), SPECTRA_JOB_OK);
        ck_assert_int_eq(w.calls, 40);
    }

    /* checkpointed (by anyone), the next writer starts the WAL again */
    ck_assert_int_eq(store->ops->checkpoint(store, &err), SPECTRA_JOB_OK);

    memset(&upd, 0, sizeof(upd));
    upd.tenant_id = t_str("acme");
    upd.id = t_str((char *) id);
    upd.status = SPECTRA_JOB_RUNNING;
    upd.row_count = -1;
    ck_assert_int_eq(mine->ops->update(mine, &upd, NULL, &jpool, &err),
                     SPECTRA_JOB_OK);

    ck_assert_int_eq(w.calls, 41);
    ck_assert_int_eq(w.restarts, 1);
    ck_assert_int_lt(w.last, 10);

    mine->ops->close(mine);

    /* autocheckpoint 20 behind the hook: the WAL never grows far past it */
    t_open_wal(&other, 20, &w2);

    for (i = 0; i < 100; i++) {
        t_create_on(other, "globex", 3000 + i, id);
    }

    ck_assert_int_eq(w2.calls, 100);
    ck_assert_int_gt(w2.restarts, 3);
    ck_assert_int_lt(w2.max, 40);

    other->ops->close(other);
}
END_TEST


/* workers starting together on a new file all get a store */

START_TEST(test_open_together)
{
    int                   i, status, ok;
    char                  file[160];
    pid_t                 pid;
    spectra_job_list_t    list;
    spectra_job_filter_t  f;
    spectra_job_store_t  *st;

    store->ops->close(store);
    store = NULL;

    snprintf(path, sizeof(path), "%s/together.db", dir);

    for (i = 0; i < 4; i++) {
        pid = fork();
        ck_assert_int_ge(pid, 0);

        if (pid == 0) {
            if (t_open(&st) != SPECTRA_JOB_OK) {
                _exit(1);
            }

            store = st;
            ok = (t_create("acme", 1000 + i, SPECTRA_JOB_QUERY,
                           SPECTRA_JOB_PENDING, NULL) == SPECTRA_JOB_OK);
            st->ops->close(st);
            _exit(ok ? 0 : 2);
        }
    }

    ok = 0;

    while (wait(&status) > 0) {
        ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                      "a worker failed: %d", status);
        ok++;
    }

    ck_assert_int_eq(ok, 4);

    ck_assert_int_eq(t_open(&store), SPECTRA_JOB_OK);

    memset(&f, 0, sizeof(f));
    f.owner.tenant_id = t_str("acme");
    f.limit = 10;
    ck_assert_int_eq(store->ops->list(store, &f, &list, &jpool, &err),
                     SPECTRA_JOB_OK);
    ck_assert_uint_eq(list.njobs, 4);

    store->ops->close(store);
    store = NULL;

    for (i = 0; i < 3; i++) {
        snprintf(file, sizeof(file), "%s/together.db%s", dir,
                 i == 0 ? "" : (i == 1 ? "-wal" : "-shm"));
        unlink(file);
    }

    snprintf(path, sizeof(path), "%s/jobs.db", dir);
}
END_TEST


START_TEST(test_busy)
{
    u_char          id[SPECTRA_JOB_ID_LEN + 1];
    sqlite3        *db;
    spectra_job_t   got;

    ck_assert_int_eq(t_create("acme", 1000, SPECTRA_JOB_QUERY,
                              SPECTRA_JOB_PENDING, id), SPECTRA_JOB_OK);

    /* another process holds the write lock for good */
    ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
    ck_assert_int_eq(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL),
                     SQLITE_OK);

    ck_assert_int_eq(t_create("acme", 2000, SPECTRA_JOB_QUERY,
                              SPECTRA_JOB_PENDING, NULL), SPECTRA_JOB_BUSY);

    /* readers do not wait for the writer in WAL mode */
    ck_assert_int_eq(t_get(store, "acme", id, &got), SPECTRA_JOB_OK);

    ck_assert_int_eq(sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);

    ck_assert_int_eq(t_create("acme", 2000, SPECTRA_JOB_QUERY,
                              SPECTRA_JOB_PENDING, NULL), SPECTRA_JOB_OK);
}
END_TEST


/*
 * A job's warehouse: kept and read back, absent when not given, refused
 * when it is not a warehouse name; a store of schema 5 gets the column,
 * its jobs kept without a warehouse.
 */
START_TEST(test_warehouse_member)
{
    u_char          first[SPECTRA_JOB_ID_LEN + 1];
    sqlite3        *db;
    spectra_job_t   job, got;

    t_job(&job, "acme", 1000);
    job.warehouse = t_str("wh-b_2");
    ck_assert_int_eq(store->ops->create(store, &job, 0, &err),
                     SPECTRA_JOB_OK);
    memcpy(first, job.id, sizeof(first));
    ck_assert_int_eq(t_get(store, "acme", job.id, &got), SPECTRA_JOB_OK);
    ck_assert_str_eq((char *) got.warehouse.data, "wh-b_2");
    ck_assert_uint_eq(got.warehouse.len, 6);

    t_job(&job, "acme", 1001);
    ck_assert_int_eq(store->ops->create(store, &job, 0, &err),
                     SPECTRA_JOB_OK);
    ck_assert_int_eq(t_get(store, "acme", job.id, &got), SPECTRA_JOB_OK);
    ck_assert_ptr_null(got.warehouse.data);

    t_job(&job, "acme", 1002);
    job.warehouse = t_str("wh b");
    ck_assert_int_eq(store->ops->create(store, &job, 0, &err),
                     SPECTRA_JOB_INVALID);
    job.warehouse = t_str("");
    ck_assert_int_eq(store->ops->create(store, &job, 0, &err),
                     SPECTRA_JOB_INVALID);
    job.warehouse = t_str("a2345678901234567890123456789012345678901234"
                          "567890123456789012345");
    ck_assert_int_eq(store->ops->create(store, &job, 0, &err),
                     SPECTRA_JOB_INVALID);

    /* a store of schema 5 (no column): migrated, its jobs kept */
    store->ops->close(store);
    store = NULL;

    ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
    ck_assert_int_eq(sqlite3_exec(db,
        "ALTER TABLE jobs DROP COLUMN warehouse;"
        "PRAGMA user_version = 5;", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);

    ck_assert_int_eq(t_open(&store), SPECTRA_JOB_OK);
    ck_assert_int_eq(t_get(store, "acme", first, &got), SPECTRA_JOB_OK);
    ck_assert_ptr_null(got.warehouse.data);

    t_job(&job, "acme", 1003);
    job.warehouse = t_str("wh-a");
    ck_assert_int_eq(store->ops->create(store, &job, 0, &err),
                     SPECTRA_JOB_OK);
    ck_assert_int_eq(t_get(store, "acme", job.id, &got), SPECTRA_JOB_OK);
    ck_assert_str_eq((char *) got.warehouse.data, "wh-a");
}
END_TEST


START_TEST(test_schema_version)
{
    sqlite3       *db;
    sqlite3_stmt  *st;
    char           mode[16];

    ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);

    ck_assert_int_eq(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st,
                                        NULL), SQLITE_OK);
    ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
    ck_assert_int_eq(sqlite3_column_int(st, 0), SPECTRA_JOB_SCHEMA_VERSION);
    sqlite3_finalize(st);

    ck_assert_int_eq(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st,
                                        NULL), SQLITE_OK);
    ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
    snprintf(mode, sizeof(mode), "%s", sqlite3_column_text(st, 0));
    ck_assert_str_eq(mode, "wal");
    sqlite3_finalize(st);

    /* a schema from the future is refused, not misread */
    store->ops->close(store);
    store = NULL;

    ck_assert_int_eq(sqlite3_exec(db, "PRAGMA user_version = 99", NULL,
                                  NULL, NULL), SQLITE_OK);
    sqlite3_close(db);

    ck_assert_int_eq(t_open(&store), SPECTRA_JOB_ERROR);
    ck_assert_ptr_null(store);
    ck_assert_str_eq(err.message, "job store: schema version 99 is not one "
                     "this module knows (up to 7)");
}
END_TEST


/*
 * Every index the store keeps is one some query reads: the supervisor's
 * and the cap's through jobs_active (the active jobs only), never a scan
 * of the whole table; and no index only writes cost (jobs_active_check).
 */

START_TEST(test_index_plans)
{
    sqlite3       *db;
    sqlite3_stmt  *st;
    char           plan[512];
    size_t         len;
    int            n;

    ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);

    ck_assert_int_eq(sqlite3_prepare_v2(db, "SELECT count(*) FROM"
                                        " sqlite_master WHERE type = 'index'"
                                        " AND name = 'jobs_active_check'",
                                        -1, &st, NULL), SQLITE_OK);
    ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
    ck_assert_int_eq(sqlite3_column_int(st, 0), 0);
    sqlite3_finalize(st);

    /* the supervisor's query, as SPECTRA_SQ_DUE words it */
    ck_assert_int_eq(sqlite3_prepare_v2(db, "EXPLAIN QUERY PLAN SELECT id"
                                        " FROM jobs WHERE status IN"
                                        " ('PENDING', 'RUNNING') AND"
                                        " COALESCE(check_at, 0) <= 5"
                                        " ORDER BY COALESCE(check_at, 0)"
                                        " LIMIT 10", -1, &st, NULL),
                     SQLITE_OK);

    len = 0;
    n = 0;
    plan[0] = '\0';

    while (sqlite3_step(st) == SQLITE_ROW) {
        len += snprintf(plan + len, sizeof(plan) - len, "%s|",
                        (const char *) sqlite3_column_text(st, 3));
        n++;
        ck_assert_uint_lt(len, sizeof(plan));
    }

    sqlite3_finalize(st);

    ck_assert_int_gt(n, 0);
    ck_assert_msg(strstr(plan, "USING INDEX jobs_active|") != NULL
                  || strstr(plan, "USING INDEX jobs_active ") != NULL,
                  "the supervisor's query: %s", plan);

    /* the active cap of a create, as SPECTRA_SQ_INSERT counts */
    ck_assert_int_eq(sqlite3_prepare_v2(db, "EXPLAIN QUERY PLAN SELECT"
                                        " count(*) FROM jobs WHERE"
                                        " tenant_id = 'acme' AND status IN"
                                        " ('PENDING', 'RUNNING')", -1, &st,
                                        NULL), SQLITE_OK);
    ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
    snprintf(plan, sizeof(plan), "%s", sqlite3_column_text(st, 3));
    sqlite3_finalize(st);

    ck_assert_msg(strstr(plan, "jobs_active") != NULL,
                  "the active cap's count: %s", plan);

    sqlite3_close(db);
}
END_TEST


START_TEST(test_open_failures)
{
    FILE                 *f;
    spectra_job_conf_t    conf;
    spectra_job_store_t  *s;
    char                  junk[160];

    memset(&conf, 0, sizeof(conf));
    conf.busy_timeout_ms = 0;

    conf.path = "/nonexistent-dir/jobs.db";
    ck_assert_int_eq(spectra_job_sqlite_ops.open(&s, &conf, &err),
                     SPECTRA_JOB_ERROR);
    ck_assert_ptr_null(s);

    conf.path = "";
    ck_assert_int_eq(spectra_job_sqlite_ops.open(&s, &conf, &err),
                     SPECTRA_JOB_INVALID);

    /* a file that is no database */
    snprintf(junk, sizeof(junk), "%s/junk.db", dir);
    f = fopen(junk, "w");
    ck_assert_ptr_nonnull(f);
    fputs("this is not an SQLite database, not even close to one..........."
          "................................................................",
          f);
    fclose(f);

    conf.path = junk;
    ck_assert_int_eq(spectra_job_sqlite_ops.open(&s, &conf, &err),
                     SPECTRA_JOB_ERROR);
    ck_assert_ptr_null(s);
    unlink(junk);
}
END_TEST


/* bad inputs: each is INVALID and stores nothing */

typedef enum {
    T_BAD_TENANT_EMPTY, T_BAD_TENANT_LONG, T_BAD_TENANT_NUL, T_BAD_TYPE,
    T_BAD_STATUS, T_BAD_KEY_LONG, T_BAD_KEY_EMPTY, T_BAD_PARAMS,
    T_BAD_RESULT, T_BAD_SQLSTATE_SHORT, T_BAD_SQLSTATE_LOWER,
    T_BAD_ERROR_CODE, T_BAD_SQL_NUL, T_BAD_SQL_LONG, T_BAD_HASH_LONG,
    T_BAD_STATEMENT_LONG, T_BAD_ID, T_BAD_ROWS, T_BAD_LAST
} t_bad_e;


START_TEST(test_bad_inputs)
{
    char                  *big;
    spectra_job_t          job;
    spectra_job_list_t     list;
    spectra_job_filter_t   f;

    big = malloc(SPECTRA_JOB_SQL_MAX + 2);
    ck_assert_ptr_nonnull(big);
    memset(big, 'a', SPECTRA_JOB_SQL_MAX + 1);
    big[SPECTRA_JOB_SQL_MAX + 1] = '\0';

    t_job(&job, "acme", 1000);

    switch ((t_bad_e) _i) {
    case T_BAD_TENANT_EMPTY:
        job.tenant_id = t_str("");
        break;
    case T_BAD_TENANT_LONG:
        job.tenant_id = t_str(big + SPECTRA_JOB_SQL_MAX
                              - SPECTRA_JOB_TENANT_MAX);
        break;
    case T_BAD_TENANT_NUL:
        job.tenant_id.data = (u_char *) "ac\0me";
        job.tenant_id.len = 5;
        break;
    case T_BAD_TYPE:
        job.type = (spectra_job_type_e) 4;
        break;
    case T_BAD_STATUS:
        job.status = (spectra_job_status_e) 42;
        break;
    case T_BAD_KEY_LONG:
        job.idempotency_key = t_str(big + SPECTRA_JOB_SQL_MAX
                                    - SPECTRA_JOB_KEY_MAX);
        break;
    case T_BAD_KEY_EMPTY:
        job.idempotency_key = t_str("");
        break;
    case T_BAD_PARAMS:
        job.parameters = t_str("[{\"name\":");
        break;
    case T_BAD_RESULT:
        job.result = t_str("{\"a\":1} trailing");
        break;
    case T_BAD_SQLSTATE_SHORT:
        job.sqlstate = t_str("4200");
        break;
    case T_BAD_SQLSTATE_LOWER:
        job.sqlstate = t_str("42p01");
        break;
    case T_BAD_ERROR_CODE:
        job.error_code = t_str("bad-code");
        break;
    case T_BAD_SQL_NUL:
        job.sql.data = (u_char *) "select 1\0; drop";
        job.sql.len = 15;
        break;
    case T_BAD_SQL_LONG:
        job.sql = t_str(big);
        break;
    case T_BAD_HASH_LONG:
        job.request_hash = t_str(big + SPECTRA_JOB_SQL_MAX
                                 - SPECTRA_JOB_HASH_MAX);
        break;
    case T_BAD_STATEMENT_LONG:
        job.statement_id = t_str(big + SPECTRA_JOB_SQL_MAX
                                 - SPECTRA_JOB_STATEMENT_ID_MAX);
        break;
    case T_BAD_ID:
        memcpy(job.id, "job_notavalidid", 16);
        break;
    case T_BAD_ROWS:
        job.row_count = -2;
        break;
    case T_BAD_LAST:
        break;
    }

    ck_assert_int_eq(store->ops->create(store, &job, 0, &err),
                     SPECTRA_JOB_INVALID);
    free(big);

    memset(&f, 0, sizeof(f));
    f.owner.tenant_id = t_str("acme");
    f.limit = 10;
    ck_assert_int_eq(store->ops->list(store, &f, &list, &jpool, &err),
                     SPECTRA_JOB_OK);
    ck_assert_uint_eq(list.njobs, 0);
}
END_TEST


START_TEST(test_limits_accepted)
{
    /* the longest accepted values round-trip */
    char           *big;
    spectra_job_t   job, got;

    big = malloc(SPECTRA_JOB_SQL_MAX + 1);
    ck_assert_ptr_nonnull(big);
    memset(big, 's', SPECTRA_JOB_SQL_MAX);
    big[SPECTRA_JOB_SQL_MAX] = '\0';

    t_job(&job, big + SPECTRA_JOB_SQL_MAX - SPECTRA_JOB_TENANT_MAX, 1000);
    job.sql = t_str(big);
    job.idempotency_key = t_str(big + SPECTRA_JOB_SQL_MAX
                                - SPECTRA_JOB_KEY_MAX);

    ck_assert_int_eq(store->ops->create(store, &job, 0, &err), SPECTRA_JOB_OK);
    ck_assert_int_eq(t_get(store, (char *) job.tenant_id.data, job.id, &got),
                     SPECTRA_JOB_OK);
    ck_assert_uint_eq(got.sql.len, SPECTRA_JOB_SQL_MAX);
    ck_assert_uint_eq(got.tenant_id.len, SPECTRA_JOB_TENANT_MAX);
    ck_assert_uint_eq(got.idempotency_key.len, SPECTRA_JOB_KEY_MAX);

    free(big);
}
END_TEST


START_TEST(test_error_message_cut)
{
    /* 1000 euro signs (3 bytes each): cut at 682 characters, 2046 bytes */
    char            msg[3001];
    size_t          i;
    spectra_job_t   job, got;

    for (i = 0; i < 1000; i++) {
        memcpy(msg + i * 3, "\xe2\x82\xac", 3);
    }

    msg[3000] = '\0';

    t_job(&job, "acme", 1000);
    job.status = SPECTRA_JOB_FAILED;
    job.error_message = t_str(msg);

    ck_assert_int_eq(store->ops->create(store, &job, 0, &err), SPECTRA_JOB_OK);
    ck_assert_int_eq(t_get(store, "acme", job.id, &got), SPECTRA_JOB_OK);
    ck_assert_uint_eq(got.error_message.len, 2046);
    ck_assert_int_eq(memcmp(got.error_message.data, msg, 2046), 0);
}
END_TEST


START_TEST(test_alloc_failure)
{
    u_char         id[SPECTRA_JOB_ID_LEN + 1];
    spectra_job_t  got;

    ck_assert_int_eq(t_create("acme", 1000, SPECTRA_JOB_QUERY,
                              SPECTRA_JOB_PENDING, id), SPECTRA_JOB_OK);

    pool.fail = 1;
    ck_assert_int_eq(t_get(store, "acme", id, &got), SPECTRA_JOB_NOMEM);

    /* the statement was reset: the next call works */
    pool.fail = -1;
    ck_assert_int_eq(t_get(store, "acme", id, &got), SPECTRA_JOB_OK);
}
END_TEST


START_TEST(test_json_query)
{
    size_t             n;
    u_char            *buf, *end;
    json_t            *j;
    json_error_t       jerr;
    spectra_job_t      job;
    spectra_str_t      prefix;

    memset(&job, 0, sizeof(job));
    memcpy(job.id, "job_0123456789abcdefghjkmnpqrs", SPECTRA_JOB_ID_LEN + 1);
    job.tenant_id = t_str("acme");
    job.type = SPECTRA_JOB_QUERY;
    job.status = SPECTRA_JOB_FAILED;
    job.created_at = 1767323045678LL;
    job.updated_at = 1767323046000LL;
    job.started_at = 1767323045700LL;
    job.finished_at = 1767323046000LL;
    job.row_count = -1;
    job.statement_id = t_str("secret-statement");
    job.request_hash = t_str("secret-hash");
    job.db_user = t_str("tenant_acme");
    job.sql = t_str("select \"x\"\n");
    job.parameters = t_str("[{\"name\":\"a\",\"value\":\"1\"}]");
    job.error_code = t_str("QUERY_FAILED");
    job.error_message = t_str("column \"x\" does not exist");
    job.sqlstate = t_str("42703");
    job.execution_ms = -1;

    n = spectra_job_json_len(&job, NULL, 0);
    buf = malloc(n + 1);
    ck_assert_ptr_nonnull(buf);
    end = spectra_job_json(buf, &job, NULL, 0);
    ck_assert_uint_eq((size_t) (end - buf), n);
    *end = '\0';

    ck_assert_str_eq((char *) buf,
        "{\"job_id\":\"job_0123456789abcdefghjkmnpqrs\",\"type\":\"query\","
        "\"status\":\"FAILED\",\"created_at\":\"2026-01-02T03:04:05.678Z\","
        "\"updated_at\":\"2026-01-02T03:04:06.000Z\","
        "\"started_at\":\"2026-01-02T03:04:05.700Z\","
        "\"finished_at\":\"2026-01-02T03:04:06.000Z\",\"row_count\":null,"
        "\"execution_time_ms\":null,\"error\":{\"code\":\"QUERY_FAILED\","
        "\"message\":\"column \\\"x\\\" does not exist\","
        "\"sqlstate\":\"42703\"},"
        "\"links\":{\"self\":\"/v1/jobs/job_0123456789abcdefghjkmnpqrs\","
        "\"results\":\"/v1/jobs/job_0123456789abcdefghjkmnpqrs/results\"}}");
    free(buf);

    /* with the SQL, under a prefix that needs escaping */
    prefix = t_str("https://api.example.com/a\"b");
    n = spectra_job_json_len(&job, &prefix, SPECTRA_JOB_JSON_SQL);
    buf = malloc(n + 1);
    ck_assert_ptr_nonnull(buf);
    end = spectra_job_json(buf, &job, &prefix, SPECTRA_JOB_JSON_SQL);
    ck_assert_uint_eq((size_t) (end - buf), n);
    *end = '\0';

    ck_assert(strstr((char *) buf, ",\"sql\":\"select \\\"x\\\"\\n\","
                     "\"parameters\":[{\"name\":\"a\",\"value\":\"1\"}],")
              != NULL);
    ck_assert(strstr((char *) buf, "\"self\":\"https://api.example.com/"
                     "a\\\"b/v1/jobs/job_") != NULL);
    ck_assert(strstr((char *) buf, "secret") == NULL);
    ck_assert(strstr((char *) buf, "tenant_acme") == NULL);

    j = json_loads((char *) buf, 0, &jerr);
    ck_assert_msg(j != NULL, "%s", jerr.text);
    ck_assert_str_eq(json_string_value(json_object_get(j, "status")),
                     "FAILED");
    json_decref(j);
    free(buf);
}
END_TEST


START_TEST(test_json_bulk_open)
{
    size_t          n;
    u_char         *buf, *end;
    spectra_job_t   job;

    memset(&job, 0, sizeof(job));
    memcpy(job.id, "job_7zzzzzzzzzzzzzzzzzzzzzzzzz", SPECTRA_JOB_ID_LEN + 1);
    job.type = SPECTRA_JOB_BULK;
    job.status = SPECTRA_JOB_COMPLETED;
    job.created_at = 1000;
    job.updated_at = 2000;
    job.row_count = 1000000;
    job.execution_ms = 1234;
    job.idempotency_key = t_str("k\"1");
    job.result = t_str("{\"manifest\":\"m\"}");

    n = spectra_job_json_len(&job, NULL,
                             SPECTRA_JOB_JSON_RESULT | SPECTRA_JOB_JSON_OPEN);
    buf = malloc(n + 1);
    ck_assert_ptr_nonnull(buf);
    end = spectra_job_json(buf, &job, NULL,
                           SPECTRA_JOB_JSON_RESULT | SPECTRA_JOB_JSON_OPEN);
    ck_assert_uint_eq((size_t) (end - buf), n);
    *end = '\0';

    ck_assert_str_eq((char *) buf,
        "{\"job_id\":\"job_7zzzzzzzzzzzzzzzzzzzzzzzzz\",\"type\":\"bulk\","
        "\"status\":\"COMPLETED\",\"created_at\":\"1970-01-01T00:00:01.000Z\","
        "\"updated_at\":\"1970-01-01T00:00:02.000Z\",\"started_at\":null,"
        "\"finished_at\":null,\"row_count\":1000000,\"execution_time_ms\":1234,"
        "\"idempotency_key\":\"k\\\"1\","
        "\"result\":{\"manifest\":\"m\"},"
        "\"links\":{\"self\":\"/v1/jobs/job_7zzzzzzzzzzzzzzzzzzzzzzzzz\","
        "\"export\":\"/v1/bulk/job_7zzzzzzzzzzzzzzzzzzzzzzzzz\"}");
    free(buf);
}
END_TEST


/* timings: printed, never asserted */

static double
t_us(const struct timespec *a, const struct timespec *b)
{
    return (double) (b->tv_sec - a->tv_sec) * 1e6
           + (double) (b->tv_nsec - a->tv_nsec) / 1e3;
}


static int
t_cmp_double(const void *a, const void *b)
{
    const double  *x = a, *y = b;

    return (*x > *y) - (*x < *y);
}


static void
t_report(const char *what, double *us, size_t n)
{
    size_t  i;
    double  sum;

    sum = 0;

    for (i = 0; i < n; i++) {
        sum += us[i];
    }

    qsort(us, n, sizeof(double), t_cmp_double);

    printf("jobs bench: %-13s n=%zu mean %.1f us  p50 %.1f us  p99 %.1f us"
           "  max %.1f us\n", what, n, sum / (double) n, us[n / 2],
           us[n * 99 / 100], us[n - 1]);
}


/* n creates, updates and gets, timed one by one */

static void
t_bench_ops(const char *config, size_t n, double *us,
    u_char (*ids)[SPECTRA_JOB_ID_LEN + 1])
{
    size_t                 i;
    char                   what[32];
    struct timespec        a, b;
    spectra_job_t          job, got;
    spectra_job_update_t   upd;

    for (i = 0; i < n; i++) {
        t_job(&job, i % 3 == 0 ? "acme" : "globex", 0);
        job.sql = t_str("select region, sum(amount) from sales "
                        "where day >= :since group by 1");
        job.parameters = t_str("[{\"name\":\"since\","
                               "\"value\":\"2026-01-01\"}]");
        job.db_user = t_str("tenant_acme");
        job.request_hash = t_str("0123456789abcdef0123456789abcdef"
                                 "0123456789abcdef0123456789abcdef");

        clock_gettime(CLOCK_MONOTONIC, &a);
        ck_assert_int_eq(store->ops->create(store, &job, 0, &err),
                         SPECTRA_JOB_OK);
        clock_gettime(CLOCK_MONOTONIC, &b);

        us[i] = t_us(&a, &b);
        memcpy(ids[i], job.id, sizeof(ids[i]));
    }

    snprintf(what, sizeof(what), "create %s", config);
    t_report(what, us, n);

    for (i = 0; i < n; i++) {
        memset(&upd, 0, sizeof(upd));
        upd.tenant_id = t_str(i % 3 == 0 ? "acme" : "globex");
        upd.id = t_str((char *) ids[i]);
        upd.status = SPECTRA_JOB_RUNNING;
        upd.statement_id = t_str("6a9c8f4e-1f7d-4f52-a3a1-4c9b2f4d6e8a");
        upd.from = SPECTRA_JOB_ACTIVE;
        upd.row_count = -1;

        clock_gettime(CLOCK_MONOTONIC, &a);
        ck_assert_int_eq(store->ops->update(store, &upd, NULL, &jpool, &err),
                         SPECTRA_JOB_OK);
        clock_gettime(CLOCK_MONOTONIC, &b);

        us[i] = t_us(&a, &b);
    }

    snprintf(what, sizeof(what), "update %s", config);
    t_report(what, us, n);

    for (i = 0; i < n; i++) {
        clock_gettime(CLOCK_MONOTONIC, &a);
        ck_assert_int_eq(t_get_as(store, i % 3 == 0 ? "acme" : "globex",
                                  "tenant_acme", ids[i], &got),
                         SPECTRA_JOB_OK);
        clock_gettime(CLOCK_MONOTONIC, &b);

        us[i] = t_us(&a, &b);

        /* the pool is freed at teardown; keep it from filling up */
        if (pool.n > T_MAX_ALLOCS / 2) {
            break;
        }
    }

    snprintf(what, sizeof(what), "get %s", config);
    t_report(what, us, i < n ? i : n);
}


/* A child process writing flat out: the worst case for lock waits. */

static void
t_writer(int n, double *us, size_t *busy)
{
    int              i, rc;
    struct timespec  a, b;
    spectra_job_t    job;

    *busy = 0;

    for (i = 0; i < n; i++) {
        t_job(&job, "acme", 0);
        job.sql = t_str("select 1");

        clock_gettime(CLOCK_MONOTONIC, &a);
        rc = store->ops->create(store, &job, 0, &err);
        clock_gettime(CLOCK_MONOTONIC, &b);

        if (rc == SPECTRA_JOB_BUSY) {
            (*busy)++;

        } else if (rc != SPECTRA_JOB_OK) {
            _exit(1);
        }

        us[i] = t_us(&a, &b);
    }
}


/*
 * SPECTRA_JOBS_BENCH=n sets the operations per run (default 2000);
 * SPECTRA_JOBS_BENCH_PROCS=p adds p processes creating jobs at once.
 */

START_TEST(test_bench)
{
    int                    procs, p, status;
    char                   what[32];
    size_t                 i, n, busy;
    double                *us;
    pid_t                  pid;
    const char            *env;
    u_char               (*ids)[SPECTRA_JOB_ID_LEN + 1];
    struct timespec        a, b;
    spectra_job_list_t     list;
    spectra_job_filter_t   f;

    env = getenv("SPECTRA_JOBS_BENCH");
    n = (env != NULL && atoi(env) > 0) ? (size_t) atoi(env) : 2000;

    us = malloc(n * sizeof(double));
    ids = malloc(n * sizeof(*ids));
    ck_assert_ptr_nonnull(us);
    ck_assert_ptr_nonnull(ids);

    /* as configured by default: commits run the WAL checkpoints */
    t_bench_ops("(auto)", n, us, ids);

    memset(&f, 0, sizeof(f));
    f.owner = t_owner("globex", "tenant_acme");
    f.limit = 50;

    for (i = 0; i < 200 && pool.n < T_MAX_ALLOCS - 2000; i++) {
        clock_gettime(CLOCK_MONOTONIC, &a);
        ck_assert_int_eq(store->ops->list(store, &f, &list, &jpool, &err),
                         SPECTRA_JOB_OK);
        clock_gettime(CLOCK_MONOTONIC, &b);

        ck_assert_uint_eq(list.njobs, 50);
        us[i] = t_us(&a, &b);
    }

    t_report("list 50", us, i);

    /* checkpoints left to checkpoint(): the operations alone, then it */
    store->ops->close(store);
    store = NULL;
    ck_assert_int_eq(t_open_conf(&store, -1), SPECTRA_JOB_OK);

    for (i = 0; i < pool.n; i++) {
        free(pool.ptr[i]);
    }

    pool.n = 0;

    t_bench_ops("(none)", n, us, ids);

    clock_gettime(CLOCK_MONOTONIC, &a);
    ck_assert_int_eq(store->ops->checkpoint(store, &err), SPECTRA_JOB_OK);
    clock_gettime(CLOCK_MONOTONIC, &b);

    printf("jobs bench: checkpoint of %zu creates and updates: %.1f us\n",
           n, t_us(&a, &b));

    env = getenv("SPECTRA_JOBS_BENCH_PROCS");
    procs = (env != NULL) ? atoi(env) : 0;

    store->ops->close(store);
    store = NULL;

    /* children must not print the parent's buffered lines again */
    fflush(stdout);

    for (p = 0; p < procs; p++) {
        pid = fork();
        ck_assert_int_ge(pid, 0);

        if (pid == 0) {
            if (t_open(&store) != SPECTRA_JOB_OK) {
                _exit(1);
            }

            t_writer((int) n, us, &busy);
            snprintf(what, sizeof(what), "create %d/%d", p + 1, procs);
            t_report(what, us, n);
            printf("jobs bench: %s busy %zu\n", what, busy);
            fflush(stdout);

            store->ops->close(store);
            _exit(0);
        }
    }

    while (wait(&status) > 0) {
        ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }

    ck_assert_int_eq(t_open(&store), SPECTRA_JOB_OK);

    free(us);
    free(ids);
}
END_TEST


Suite *
jobs_suite(void)
{
    Suite  *s;
    TCase  *tc;

    s = suite_create("jobs");

    tc = tcase_create("core");
    tcase_add_checked_fixture(tc, t_setup, t_teardown);
    tcase_set_timeout(tc, 120);

    tcase_add_test(tc, test_id_format);
    tcase_add_loop_test(tc, test_id_invalid, 0,
                        sizeof(t_bad_ids) / sizeof(t_bad_ids[0]));
    tcase_add_test(tc, test_id_valid_edges);
    tcase_add_loop_test(tc, test_dataapi_status, 0,
                        sizeof(t_dataapi) / sizeof(t_dataapi[0]));
    tcase_add_test(tc, test_status_names);
    tcase_add_test(tc, test_time_format);
    tcase_add_test(tc, test_create_get);
    tcase_add_test(tc, test_create_defaults);
    tcase_add_test(tc, test_create_given_id);
    tcase_add_test(tc, test_get_isolation);
    tcase_add_test(tc, test_update_lifecycle);
    tcase_add_test(tc, test_update_failed_with_error);
    tcase_add_test(tc, test_update_from_mask);
    tcase_add_test(tc, test_update_isolation);
    tcase_add_test(tc, test_cancel);
    tcase_add_test(tc, test_cancel_running_and_finished);
    tcase_add_test(tc, test_purge);
    tcase_add_test(tc, test_list_order_and_pages);
    tcase_add_test(tc, test_list_exact_page);
    tcase_add_test(tc, test_list_filters);
    tcase_add_loop_test(tc, test_list_bad_cursor, 0,
                        sizeof(t_bad_cursors) / sizeof(t_bad_cursors[0]));
    tcase_add_test(tc, test_list_bad_filter);
    tcase_add_test(tc, test_idempotency);
    tcase_add_test(tc, test_owner);
    tcase_add_test(tc, test_durable_reopen);
    tcase_add_test(tc, test_two_connections);
    tcase_add_test(tc, test_wal_hook);
    tcase_add_test(tc, test_open_together);
    tcase_add_test(tc, test_busy);
    tcase_add_test(tc, test_schema_version);
    tcase_add_test(tc, test_index_plans);
    tcase_add_test(tc, test_warehouse_member);
    tcase_add_test(tc, test_create_cap);
    tcase_add_test(tc, test_due);
    tcase_add_test(tc, test_migrate_v1);
    tcase_add_test(tc, test_import_phase);
    tcase_add_test(tc, test_open_failures);
    tcase_add_loop_test(tc, test_bad_inputs, 0, T_BAD_LAST);
    tcase_add_test(tc, test_limits_accepted);
    tcase_add_test(tc, test_error_message_cut);
    tcase_add_test(tc, test_alloc_failure);
    tcase_add_test(tc, test_json_query);
    tcase_add_test(tc, test_json_bulk_open);
    tcase_add_test(tc, test_bench);
    suite_add_tcase(s, tc);

    return s;
}


int
main(void)
{
    int       failed;
    SRunner  *sr;

    sr = srunner_create(jobs_suite());
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);

    return failed == 0 ? 0 : 1;
}
