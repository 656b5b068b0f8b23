/*
 * Unit tests of src/spectra_dataapi.c: the Data API request bodies, the
 * readers of ExecuteStatement and DescribeStatement answers (hostile and
 * broken ones too), error classification and SQLSTATE extraction.
 */

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "spectra_dataapi.h"


#define T_POOL_MAX  256


static void *t_alloc(void *pool, size_t size);
static void t_free(void);
static Suite *dataapi_suite(void);


static void            *t_blocks[T_POOL_MAX];
static size_t           t_nblocks;
static spectra_pool_t   pool = { t_alloc, NULL };
static spectra_err_t    err;


static void *
t_alloc(void *p, size_t size)
{
    void  *b;

    ck_assert_uint_lt(t_nblocks, T_POOL_MAX);

    b = malloc(size);
    t_blocks[t_nblocks++] = b;

    return b;
}


static void
t_free(void)
{
    while (t_nblocks) {
        free(t_blocks[--t_nblocks]);
    }
}


#define S(s)  ((spectra_str_t) spectra_string(s))


START_TEST(test_execute_body_db_user)
{
    spectra_str_t              body;
    spectra_query_param_t      params[2];
    spectra_dataapi_execute_t  in;

    memset(&in, 0, sizeof(in));
    in.sql = S("select :a, \"x\"\n");
    in.database = S("warehouse");
    in.cluster = S("spectra-local");
    in.db_user = S("tenant_acme");
    in.statement_name = S("job_1");
    in.client_token = S("job_1-r");
    in.wait_seconds = 1;

    params[0].name = S("a");
    params[0].value = S("1");
    params[1].name = S("b");
    params[1].value = S("\"q\"");
    in.params = params;
    in.nparams = 2;

    ck_assert_int_eq(spectra_dataapi_execute_body(&in, &pool, &body),
                     SPECTRA_DATAAPI_OK);
    ck_assert_str_eq((char *) body.data,
                     "{\"Sql\":\"select :a, \\\"x\\\"\\n\","
                     "\"StatementName\":\"job_1\",\"ClientToken\":\"job_1-r\","
                     "\"Database\":\"warehouse\","
                     "\"ClusterIdentifier\":\"spectra-local\","
                     "\"DbUser\":\"tenant_acme\",\"WaitTimeSeconds\":1,"
                     "\"Parameters\":[{\"name\":\"a\",\"value\":\"1\"},"
                     "{\"name\":\"b\",\"value\":\"\\\"q\\\"\"}]}");
    t_free();
}
END_TEST


START_TEST(test_execute_body_variants)
{
    spectra_str_t              body;
    spectra_dataapi_execute_t  in;

    /* a per-tenant secret wins over DbUser; a workgroup over a cluster */
    memset(&in, 0, sizeof(in));
    in.sql = S("select 1");
    in.database = S("dev");
    in.cluster = S("c");
    in.workgroup = S("wg");
    in.db_user = S("tenant_acme");
    in.secret_arn = S("arn:aws:secretsmanager:us-east-1:1:secret:s");
    in.session_keepalive = 300;

    ck_assert_int_eq(spectra_dataapi_execute_body(&in, &pool, &body),
                     SPECTRA_DATAAPI_OK);
    ck_assert_str_eq((char *) body.data,
                     "{\"Sql\":\"select 1\",\"Database\":\"dev\","
                     "\"WorkgroupName\":\"wg\","
                     "\"SecretArn\":\"arn:aws:secretsmanager:us-east-1:1:"
                     "secret:s\",\"SessionKeepAliveSeconds\":300}");

    /* in a session: nothing the session already knows */
    in.session_id = S("sess-1");
    ck_assert_int_eq(spectra_dataapi_execute_body(&in, &pool, &body),
                     SPECTRA_DATAAPI_OK);
    ck_assert_str_eq((char *) body.data,
                     "{\"Sql\":\"select 1\",\"SessionId\":\"sess-1\"}");
    t_free();
}
END_TEST


START_TEST(test_id_body)
{
    spectra_str_t  body, id = S("d9b6c0c9-1"), token = S("tok/+=");

    ck_assert_int_eq(spectra_dataapi_id_body(&id, NULL, 0, &pool, &body),
                     SPECTRA_DATAAPI_OK);
    ck_assert_str_eq((char *) body.data, "{\"Id\":\"d9b6c0c9-1\"}");

    ck_assert_int_eq(spectra_dataapi_id_body(&id, &token, 0, &pool, &body),
                     SPECTRA_DATAAPI_OK);
    ck_assert_str_eq((char *) body.data,
                     "{\"Id\":\"d9b6c0c9-1\",\"NextToken\":\"tok/+=\"}");

    ck_assert_int_eq(spectra_dataapi_id_body(&id, NULL, 10, &pool, &body),
                     SPECTRA_DATAAPI_OK);
    ck_assert_str_eq((char *) body.data,
                     "{\"Id\":\"d9b6c0c9-1\",\"WaitTimeSeconds\":10}");
    t_free();
}
END_TEST


static int
t_submitted(const char *answer, spectra_dataapi_submitted_t *out)
{
    return spectra_dataapi_read_submitted((const u_char *) answer,
                                          strlen(answer), &pool, out, &err);
}


START_TEST(test_read_submitted)
{
    spectra_dataapi_submitted_t  s;

    ck_assert_int_eq(t_submitted("{\"Id\":\"5b0e\",\"CreatedAt\":1.5,"
                                 "\"SessionId\":\"se-1\"}", &s),
                     SPECTRA_DATAAPI_OK);
    ck_assert_str_eq((char *) s.id.data, "5b0e");
    ck_assert_str_eq((char *) s.session_id.data, "se-1");

    ck_assert_int_eq(t_submitted("{\"Id\":\"5b0e\",\"SessionId\":null}", &s),
                     SPECTRA_DATAAPI_OK);
    ck_assert_ptr_null(s.session_id.data);

    /* hostile or broken: never a half-read statement */
    ck_assert_int_eq(t_submitted("{}", &s), SPECTRA_DATAAPI_INVALID);
    ck_assert_str_eq(err.message, "the answer has no valid statement Id");
    ck_assert_int_eq(t_submitted("{\"Id\":\"\"}", &s),
                     SPECTRA_DATAAPI_INVALID);
    ck_assert_int_eq(t_submitted("{\"Id\":\"a b\"}", &s),
                     SPECTRA_DATAAPI_INVALID);
    ck_assert_int_eq(t_submitted("{\"Id\":\"a\\\"}\"}", &s),
                     SPECTRA_DATAAPI_INVALID);
    ck_assert_int_eq(t_submitted("{\"Id\":7}", &s), SPECTRA_DATAAPI_INVALID);
    ck_assert_int_eq(t_submitted("{\"Id\":\"ok\",\"SessionId\":\"a\\nb\"}",
                                 &s),
                     SPECTRA_DATAAPI_INVALID);
    ck_assert_str_eq(err.message, "the answer has an invalid SessionId");
    ck_assert_int_eq(t_submitted("[\"Id\"]", &s), SPECTRA_DATAAPI_INVALID);
    ck_assert_str_eq(err.message, "the answer is not a JSON object");
    ck_assert_int_eq(t_submitted("<html>", &s), SPECTRA_DATAAPI_INVALID);
    ck_assert_ptr_nonnull(strstr(err.message, "the answer is not JSON"));
    t_free();
}
END_TEST


static int
t_described(const char *answer, spectra_dataapi_described_t *out)
{
    return spectra_dataapi_read_described((const u_char *) answer,
                                          strlen(answer), &pool, out, &err);
}


START_TEST(test_read_described)
{
    spectra_dataapi_described_t  d;

    ck_assert_int_eq(t_described("{\"Status\":\"FINISHED\",\"ResultRows\":4,"
                                 "\"Duration\":12345678,"
                                 "\"HasResultSet\":true}", &d),
                     SPECTRA_DATAAPI_OK);
    ck_assert_int_eq(d.status, SPECTRA_JOB_COMPLETED);
    ck_assert_int_eq(d.result_rows, 4);
    ck_assert_int_eq(d.duration_ms, 12);
    ck_assert_int_eq(d.has_result, 1);

    ck_assert_int_eq(t_described("{\"Status\":\"STARTED\",\"Duration\":-1,"
                                 "\"ResultRows\":-1}", &d),
                     SPECTRA_DATAAPI_OK);
    ck_assert_int_eq(d.status, SPECTRA_JOB_RUNNING);
    ck_assert_int_eq(d.result_rows, -1);
    ck_assert_int_eq(d.duration_ms, -1);
    ck_assert_int_eq(d.has_result, 0);

    ck_assert_int_eq(t_described("{\"Status\":\"SUBMITTED\"}", &d),
                     SPECTRA_DATAAPI_OK);
    ck_assert_int_eq(d.status, SPECTRA_JOB_PENDING);
    ck_assert_int_eq(t_described("{\"Status\":\"PICKED\"}", &d),
                     SPECTRA_DATAAPI_OK);
    ck_assert_int_eq(d.status, SPECTRA_JOB_PENDING);
    ck_assert_int_eq(t_described("{\"Status\":\"ABORTED\"}", &d),
                     SPECTRA_DATAAPI_OK);
    ck_assert_int_eq(d.status, SPECTRA_JOB_CANCELLED);

    ck_assert_int_eq(t_described("{\"Status\":\"FAILED\",\"Error\":\"ERROR: "
                                 "division by zero (SQLSTATE 22012)\"}", &d),
                     SPECTRA_DATAAPI_OK);
    ck_assert_int_eq(d.status, SPECTRA_JOB_FAILED);
    ck_assert_str_eq((char *) d.error.data,
                     "ERROR: division by zero (SQLSTATE 22012)");
    ck_assert_uint_eq(d.sqlstate.len, 5);
    ck_assert_int_eq(memcmp(d.sqlstate.data, "22012", 5), 0);

    /* refused: unknown status, wrong member types */
    ck_assert_int_eq(t_described("{\"Status\":\"DONE\"}", &d),
                     SPECTRA_DATAAPI_INVALID);
    ck_assert_str_eq(err.message, "the answer has no known statement Status");
    ck_assert_int_eq(t_described("{\"Status\":1}", &d),
                     SPECTRA_DATAAPI_INVALID);
    ck_assert_int_eq(t_described("{}", &d), SPECTRA_DATAAPI_INVALID);
    ck_assert_int_eq(t_described("{\"Status\":\"FINISHED\","
                                 "\"ResultRows\":\"4\"}", &d),
                     SPECTRA_DATAAPI_INVALID);
    ck_assert_str_eq(err.message, "the answer has a member of the wrong type");
    ck_assert_int_eq(t_described("{\"Status\":\"FINISHED\","
                                 "\"HasResultSet\":1}", &d),
                     SPECTRA_DATAAPI_INVALID);
    ck_assert_int_eq(t_described("{\"Status\":\"FAILED\",\"Error\":[1]}", &d),
                     SPECTRA_DATAAPI_INVALID);
    ck_assert_int_eq(t_described("{\"Status\":\"FINISHED\","
                                 "\"Duration\":1.5}", &d),
                     SPECTRA_DATAAPI_INVALID);
    t_free();
}
END_TEST


static void
t_classify(unsigned status, const char *answer, int session,
    spectra_dataapi_error_t *e)
{
    spectra_dataapi_classify(status, (const u_char *) answer,
                             answer ? strlen(answer) : 0, session, e);
}


START_TEST(test_classify)
{
    spectra_dataapi_error_t  e;

    t_classify(400, "{\"__type\":\"ActiveStatementsExceededException\","
               "\"message\":\"quota\"}", 0, &e);
    ck_assert_int_eq(e.kind, SPECTRA_DATAAPI_E_THROTTLED);
    ck_assert_str_eq(e.type, "ActiveStatementsExceededException");
    ck_assert_str_eq(e.message, "quota");

    t_classify(400, "{\"__type\":\"com.amazon.coral.availability#"
               "ThrottlingException\"}", 0, &e);
    ck_assert_int_eq(e.kind, SPECTRA_DATAAPI_E_THROTTLED);
    ck_assert_str_eq(e.type, "ThrottlingException");

    t_classify(400, "{\"__type\":\"ResourceNotFoundException\","
               "\"Message\":\"Query does not exist.\"}", 0, &e);
    ck_assert_int_eq(e.kind, SPECTRA_DATAAPI_E_NOT_FOUND);
    ck_assert_str_eq(e.message, "Query does not exist.");

    /* a session complaint matters only where a session was used */
    t_classify(400, "{\"__type\":\"ValidationException\",\"message\":"
               "\"Session x does not exist or has expired\"}", 1, &e);
    ck_assert_int_eq(e.kind, SPECTRA_DATAAPI_E_SESSION);
    t_classify(400, "{\"__type\":\"ValidationException\",\"message\":"
               "\"Session x does not exist or has expired\"}", 0, &e);
    ck_assert_int_eq(e.kind, SPECTRA_DATAAPI_E_INVALID);
    t_classify(400, "{\"__type\":\"ActiveSessionsExceededException\"}", 1,
               &e);
    ck_assert_int_eq(e.kind, SPECTRA_DATAAPI_E_SESSION);

    t_classify(400, "{\"__type\":\"ValidationException\",\"message\":"
               "\"Could not cancel a query that is already in FINISHED "
               "state.\"}", 0, &e);
    ck_assert_int_eq(e.kind, SPECTRA_DATAAPI_E_FINISHED);

    t_classify(403, "{\"__type\":\"InvalidSignatureException\"}", 0, &e);
    ck_assert_int_eq(e.kind, SPECTRA_DATAAPI_E_REFUSED);
    t_classify(400, "{\"__type\":\"ExpiredTokenException\"}", 0, &e);
    ck_assert_int_eq(e.kind, SPECTRA_DATAAPI_E_REFUSED);
    t_classify(400, "{\"__type\":\"ValidationException\"}", 0, &e);
    ck_assert_int_eq(e.kind, SPECTRA_DATAAPI_E_INVALID);

    t_classify(504, NULL, 0, &e);
    ck_assert_int_eq(e.kind, SPECTRA_DATAAPI_E_TIMEOUT);
    t_classify(502, "", 0, &e);
    ck_assert_int_eq(e.kind, SPECTRA_DATAAPI_E_UNAVAILABLE);
    t_classify(500, "{\"__type\":\"InternalServerException\"}", 0, &e);
    ck_assert_int_eq(e.kind, SPECTRA_DATAAPI_E_UNAVAILABLE);
    t_classify(0, NULL, 0, &e);
    ck_assert_int_eq(e.kind, SPECTRA_DATAAPI_E_UNAVAILABLE);
    t_classify(400, "not json", 0, &e);
    ck_assert_int_eq(e.kind, SPECTRA_DATAAPI_E_UNAVAILABLE);
    t_classify(400, "{\"__type\":7}", 0, &e);
    ck_assert_int_eq(e.kind, SPECTRA_DATAAPI_E_UNAVAILABLE);
}
END_TEST


static int
t_sqlstate(const char *text, char *out)
{
    int            rc;
    spectra_str_t  s;

    rc = spectra_dataapi_sqlstate((const u_char *) text, strlen(text), &s);

    if (rc == SPECTRA_DATAAPI_OK) {
        memcpy(out, s.data, 5);
        out[5] = '\0';
    }

    return rc;
}


START_TEST(test_sqlstate)
{
    char  st[6];

    ck_assert_int_eq(t_sqlstate("ERROR: x (SQLSTATE 42P01)", st),
                     SPECTRA_DATAAPI_OK);
    ck_assert_str_eq(st, "42P01");
    ck_assert_int_eq(t_sqlstate("error: sqlstate: 57014 cancel", st),
                     SPECTRA_DATAAPI_OK);
    ck_assert_str_eq(st, "57014");
    ck_assert_int_eq(t_sqlstate("SQLSTATE=22012", st), SPECTRA_DATAAPI_OK);
    ck_assert_str_eq(st, "22012");

    ck_assert_int_eq(t_sqlstate("no state here", st),
                     SPECTRA_DATAAPI_INVALID);
    ck_assert_int_eq(t_sqlstate("SQLSTATE 4201", st), SPECTRA_DATAAPI_INVALID);
    ck_assert_int_eq(t_sqlstate("SQLSTATE 42p01", st),
                     SPECTRA_DATAAPI_INVALID);
    ck_assert_int_eq(t_sqlstate("SQLSTATE 42P012", st),
                     SPECTRA_DATAAPI_INVALID);
    ck_assert_int_eq(t_sqlstate("SQLSTAT", st), SPECTRA_DATAAPI_INVALID);
}
END_TEST


static Suite *
dataapi_suite(void)
{
    TCase  *tc;
    Suite  *s;

    s = suite_create("dataapi");
    tc = tcase_create("core");

    tcase_add_test(tc, test_execute_body_db_user);
    tcase_add_test(tc, test_execute_body_variants);
    tcase_add_test(tc, test_id_body);
    tcase_add_test(tc, test_read_submitted);
    tcase_add_test(tc, test_read_described);
    tcase_add_test(tc, test_classify);
    tcase_add_test(tc, test_sqlstate);

    suite_add_tcase(s, tc);

    return s;
}


int
main(void)
{
    int       failed;
    SRunner  *sr;

    sr = srunner_create(dataapi_suite());
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);

    return failed == 0 ? 0 : 1;
}
