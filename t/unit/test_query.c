/*
 * Unit tests of src/spectra_query.c: the body of POST /v1/queries, every
 * field's type and range, parameters, and the options a job keeps.
 */

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "spectra_query.h"


#define T_POOL_MAX  256


static void *t_alloc(void *pool, size_t size);
static int t_parse(const char *body);
static void t_free(void);
static Suite *query_suite(void);


static void            *t_blocks[T_POOL_MAX];
static size_t           t_nblocks;
static spectra_query_t  q;
static spectra_err_t    err;

static const spectra_query_limits_t  t_limits = {
    10000,              /* wait_ms */
    300000,             /* timeout_ms */
    300000,             /* max_wait_ms */
    10000,              /* rows */
    25 * 1024 * 1024    /* bytes */
};


static void *
t_alloc(void *pool, size_t size)
{
    void  *p;

    ck_assert_uint_lt(t_nblocks, T_POOL_MAX);

    p = malloc(size);
    t_blocks[t_nblocks++] = p;

    return p;
}


static void
t_free(void)
{
    while (t_nblocks) {
        free(t_blocks[--t_nblocks]);
    }
}


static int
t_parse(const char *body)
{
    spectra_pool_t  pool = { t_alloc, NULL };

    memset(&err, 0, sizeof(err));

    return spectra_query_parse((const u_char *) body, strlen(body),
                               &t_limits, &pool, &q, &err);
}


#define t_refused(body, msg)                                                  \
    do {                                                                      \
        ck_assert_int_eq(t_parse(body), SPECTRA_QUERY_INVALID);               \
        ck_assert_str_eq(err.message, msg);                                   \
    } while (0)


START_TEST(test_defaults)
{
    ck_assert_int_eq(t_parse("{\"sql\": \"select 1\"}"), SPECTRA_QUERY_OK);
    ck_assert_str_eq((char *) q.sql.data, "select 1");
    ck_assert_uint_eq(q.sql.len, 8);
    ck_assert_uint_eq(q.wait_ms, 10000);
    ck_assert_uint_eq(q.timeout_ms, 300000);
    ck_assert_uint_eq(q.row_limit, 10000);
    ck_assert_uint_eq(q.byte_limit, 25 * 1024 * 1024);
    ck_assert_int_eq(q.format, SPECTRA_RESULT_OBJECTS);
    ck_assert_int_eq(q.cancel_on_wait_timeout, 0);
    ck_assert_uint_eq(q.nparams, 0);
    ck_assert_ptr_null(q.idempotency_key.data);
    t_free();
}
END_TEST


START_TEST(test_every_field)
{
    ck_assert_int_eq(t_parse("{\"sql\": \"select :a, :b\", "
                             "\"wait_timeout_seconds\": 0, "
                             "\"timeout_seconds\": 20, "
                             "\"on_wait_timeout\": \"cancel\", "
                             "\"row_limit\": 5, \"byte_limit\": 2048, "
                             "\"result_format\": \"arrays\", "
                             "\"idempotency_key\": \"k-1.2:3_\", "
                             "\"parameters\": [{\"name\": \"a\", \"value\": "
                             "\"x\"}, {\"name\": \"b\", \"value\": 12}]}"),
                     SPECTRA_QUERY_OK);
    ck_assert_uint_eq(q.wait_ms, 0);
    ck_assert_uint_eq(q.timeout_ms, 20000);
    ck_assert_int_eq(q.cancel_on_wait_timeout, 1);
    ck_assert_uint_eq(q.row_limit, 5);
    ck_assert_uint_eq(q.byte_limit, 2048);
    ck_assert_int_eq(q.format, SPECTRA_RESULT_ARRAYS);
    ck_assert_str_eq((char *) q.idempotency_key.data, "k-1.2:3_");
    ck_assert_uint_eq(q.nparams, 2);
    ck_assert_str_eq((char *) q.params[0].name.data, "a");
    ck_assert_str_eq((char *) q.params[0].value.data, "x");
    ck_assert_str_eq((char *) q.params[1].name.data, "b");
    ck_assert_str_eq((char *) q.params[1].value.data, "12");
    t_free();
}
END_TEST


START_TEST(test_wait_cut_to_timeout)
{
    ck_assert_int_eq(t_parse("{\"sql\": \"select 1\", "
                             "\"wait_timeout_seconds\": 30, "
                             "\"timeout_seconds\": 3}"), SPECTRA_QUERY_OK);
    ck_assert_uint_eq(q.wait_ms, 3000);
    ck_assert_uint_eq(q.timeout_ms, 3000);
    t_free();
}
END_TEST


START_TEST(test_ranges)
{
    /* the wrapping millisecond value of issue (f): refused, not wrapped */
    t_refused("{\"sql\": \"select 1\", \"timeout_seconds\": "
              "18446744073709552}",
              "timeout_seconds must be an integer from 1 to 300");
    t_refused("{\"sql\": \"select 1\", \"wait_timeout_seconds\": "
              "18446744073709552}",
              "wait_timeout_seconds must be an integer from 0 to 300");
    /* past 64 bits jansson refuses the JSON; a field still names its range */
    t_refused("{\"sql\": \"select 1\", \"timeout_seconds\": "
              "18446744073709551617}",
              "timeout_seconds must be an integer from 1 to 300");
    t_refused("{\"row_limit\": -99999999999999999999, \"sql\": \"x\"}",
              "row_limit must be an integer from 1 to 10000 (use the bulk "
              "API for more rows)");
    t_refused("{\"sql\": \"select :a\", \"parameters\": [{\"name\": "
              "\"a\", \"value\": 18446744073709551617}]}",
              "malformed JSON at line 1, column 79: too big integer near "
              "'18446744073709551617'");
    t_refused("{\"sql\": \"select 1\", \"timeout_seconds\": 0}",
              "timeout_seconds must be an integer from 1 to 300");
    t_refused("{\"sql\": \"select 1\", \"timeout_seconds\": -1}",
              "timeout_seconds must be an integer from 1 to 300");
    t_refused("{\"sql\": \"select 1\", \"timeout_seconds\": 301}",
              "timeout_seconds must be an integer from 1 to 300");
    t_refused("{\"sql\": \"select 1\", \"wait_timeout_seconds\": -1}",
              "wait_timeout_seconds must be an integer from 0 to 300");
    t_refused("{\"sql\": \"select 1\", \"row_limit\": 0}",
              "row_limit must be an integer from 1 to 10000 (use the bulk "
              "API for more rows)");
    t_refused("{\"sql\": \"select 1\", \"row_limit\": 10001}",
              "row_limit must be an integer from 1 to 10000 (use the bulk "
              "API for more rows)");
    t_refused("{\"sql\": \"select 1\", \"byte_limit\": 1023}",
              "byte_limit must be an integer from 1024 to 26214400");
    t_refused("{\"sql\": \"select 1\", \"byte_limit\": 26214401}",
              "byte_limit must be an integer from 1024 to 26214400");

    /* the edges are in */
    ck_assert_int_eq(t_parse("{\"sql\": \"s\", \"timeout_seconds\": 300, "
                             "\"wait_timeout_seconds\": 300, "
                             "\"row_limit\": 10000, \"byte_limit\": 1024}"),
                     SPECTRA_QUERY_OK);
    ck_assert_uint_eq(q.timeout_ms, 300000);
    ck_assert_uint_eq(q.byte_limit, 1024);
    t_free();
}
END_TEST


START_TEST(test_types)
{
    t_refused("{\"sql\": 1}", "the field \"sql\" has the wrong type");
    t_refused("{\"sql\": \"s\", \"row_limit\": 1.5}",
              "the field \"row_limit\" has the wrong type");
    t_refused("{\"sql\": \"s\", \"row_limit\": 2.0}",
              "the field \"row_limit\" has the wrong type");
    t_refused("{\"sql\": \"s\", \"timeout_seconds\": \"5\"}",
              "the field \"timeout_seconds\" has the wrong type");
    t_refused("{\"sql\": \"s\", \"wait_timeout_seconds\": true}",
              "the field \"wait_timeout_seconds\" has the wrong type");
    t_refused("{\"sql\": \"s\", \"result_format\": 1}",
              "the field \"result_format\" has the wrong type");
    t_refused("{\"sql\": \"s\", \"result_format\": \"csv\"}",
              "result_format must be \"objects\" or \"arrays\"");
    t_refused("{\"sql\": \"s\", \"on_wait_timeout\": \"stop\"}",
              "on_wait_timeout must be \"continue\" or \"cancel\"");
    t_refused("{\"sql\": \"s\", \"parameters\": {}}",
              "the field \"parameters\" has the wrong type");
    t_refused("{\"sql\": \"s\", \"idempotency_key\": 7}",
              "the field \"idempotency_key\" has the wrong type");
    t_free();
}
END_TEST


START_TEST(test_shape)
{
    ck_assert_int_eq(spectra_query_parse((const u_char *) "", 0, &t_limits,
                                         &(spectra_pool_t) { t_alloc, NULL },
                                         &q, &err),
                     SPECTRA_QUERY_INVALID);
    ck_assert_str_eq(err.message, "the request body is empty");

    t_refused("[1]", "the request body must be a JSON object");
    t_refused("\"sql\"", "the request body must be a JSON object");
    t_refused("{}", "the field \"sql\" is required");
    t_refused("{\"sql\": \"s\", \"sql\": \"t\"}",
              "malformed JSON at line 1, column 18: duplicate object key "
              "near '\"sql\"'");
    t_refused("{\"sql\": \"s\", \"rowlimit\": 1}",
              "unknown field \"rowlimit\"");
    ck_assert_int_eq(t_parse("{\"sql\": \"a\\u0000b\"}"),
                     SPECTRA_QUERY_INVALID);
    ck_assert_ptr_nonnull(strstr(err.message, "\\u0000 is not allowed"));

    ck_assert_int_eq(t_parse("{\"sql\": \"s\""), SPECTRA_QUERY_INVALID);
    ck_assert_ptr_nonnull(strstr(err.message, "malformed JSON at line 1"));
    ck_assert_uint_eq(err.position, 10);
    t_free();
}
END_TEST


START_TEST(test_idempotency_key)
{
    t_refused("{\"sql\": \"s\", \"idempotency_key\": \"\"}",
              "idempotency_key must be 1 to 64 characters of A-Z a-z 0-9 . _ "
              ": -");
    t_refused("{\"sql\": \"s\", \"idempotency_key\": \"a b\"}",
              "idempotency_key must be 1 to 64 characters of A-Z a-z 0-9 . _ "
              ": -");
    t_refused("{\"sql\": \"s\", \"idempotency_key\": "
              "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
              "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
              "\"}",
              "idempotency_key must be 1 to 64 characters of A-Z a-z 0-9 . _ "
              ": -");
    t_refused("{\"sql\": \"s\", \"idempotency_key\": \"\\u00e9\"}",
              "idempotency_key must be 1 to 64 characters of A-Z a-z 0-9 . _ "
              ": -");
    t_free();
}
END_TEST


START_TEST(test_parameters)
{
    ck_assert_int_eq(t_parse("{\"sql\": \"s\", \"parameters\": ["
                             "{\"name\": \"i\", \"value\": -9007199254740993},"
                             "{\"name\": \"d\", \"value\": 0.1},"
                             "{\"name\": \"t\", \"value\": true},"
                             "{\"name\": \"f\", \"value\": false},"
                             "{\"name\": \"_x9\", \"value\": \"\"}]}"),
                     SPECTRA_QUERY_OK);
    ck_assert_uint_eq(q.nparams, 5);
    ck_assert_str_eq((char *) q.params[0].value.data, "-9007199254740993");
    ck_assert_str_eq((char *) q.params[1].value.data, "0.10000000000000001");
    ck_assert_str_eq((char *) q.params[2].value.data, "true");
    ck_assert_str_eq((char *) q.params[3].value.data, "false");
    ck_assert_str_eq((char *) q.params[4].value.data, "");
    ck_assert_uint_eq(q.params[4].value.len, 0);

    t_refused("{\"sql\": \"s\", \"parameters\": [1]}",
              "parameters[0] must be {\"name\": ..., \"value\": ...}");
    t_refused("{\"sql\": \"s\", \"parameters\": [{\"name\": \"a\"}]}",
              "parameters[0] must be {\"name\": ..., \"value\": ...}");
    t_refused("{\"sql\": \"s\", \"parameters\": [{\"name\": \"a\", "
              "\"value\": 1, \"type\": \"int\"}]}",
              "parameters[0] must be {\"name\": ..., \"value\": ...}");
    t_refused("{\"sql\": \"s\", \"parameters\": [{\"name\": \"a;drop\", "
              "\"value\": 1}]}",
              "parameters[0]: the name must be 1 to 64 characters of A-Z "
              "a-z 0-9 _, not starting with a digit");
    t_refused("{\"sql\": \"s\", \"parameters\": [{\"name\": \"1a\", "
              "\"value\": 1}]}",
              "parameters[0]: the name must be 1 to 64 characters of A-Z "
              "a-z 0-9 _, not starting with a digit");
    t_refused("{\"sql\": \"s\", \"parameters\": [{\"name\": \"a\", "
              "\"value\": 1}, {\"name\": \"a\", \"value\": 2}]}",
              "parameter \"a\" is given twice");
    t_refused("{\"sql\": \"s\", \"parameters\": [{\"name\": \"a\", "
              "\"value\": null}]}",
              "parameter \"a\": the value must be a string, number or "
              "boolean");
    t_refused("{\"sql\": \"s\", \"parameters\": [{\"name\": \"a\", "
              "\"value\": [1]}]}",
              "parameter \"a\": the value must be a string, number or "
              "boolean");
    t_free();
}
END_TEST


START_TEST(test_params_check)
{
    spectra_str_t  names[2] = { spectra_string("a"), spectra_string("b") };

    ck_assert_int_eq(t_parse("{\"sql\": \"s\", \"parameters\": ["
                             "{\"name\": \"b\", \"value\": 1},"
                             "{\"name\": \"a\", \"value\": 2}]}"),
                     SPECTRA_QUERY_OK);
    ck_assert_int_eq(spectra_query_params_check(&q, names, 2, &err),
                     SPECTRA_QUERY_OK);

    ck_assert_int_eq(spectra_query_params_check(&q, names, 1, &err),
                     SPECTRA_QUERY_INVALID);
    ck_assert_str_eq(err.message, "parameter \"b\" is not used by the SQL");

    ck_assert_int_eq(t_parse("{\"sql\": \"s\", \"parameters\": ["
                             "{\"name\": \"a\", \"value\": 2}]}"),
                     SPECTRA_QUERY_OK);
    ck_assert_int_eq(spectra_query_params_check(&q, names, 2, &err),
                     SPECTRA_QUERY_INVALID);
    ck_assert_str_eq(err.message, "the SQL uses :b but no parameter gives "
                                  "its value");

    /* names are case-sensitive, as the Data API's */
    names[1] = (spectra_str_t) spectra_string("A");
    ck_assert_int_eq(spectra_query_params_check(&q, names + 1, 1, &err),
                     SPECTRA_QUERY_INVALID);
    t_free();
}
END_TEST


START_TEST(test_params_json)
{
    spectra_str_t   out;
    spectra_pool_t  pool = { t_alloc, NULL };

    ck_assert_int_eq(t_parse("{\"sql\": \"s\"}"), SPECTRA_QUERY_OK);
    ck_assert_int_eq(spectra_query_params_json(&q, &pool, &out),
                     SPECTRA_QUERY_OK);
    ck_assert_ptr_null(out.data);

    ck_assert_int_eq(t_parse("{\"sql\": \"s\", \"parameters\": ["
                             "{\"name\": \"a\", \"value\": \"x\\\"y\"},"
                             "{\"name\": \"n\", \"value\": 3}]}"),
                     SPECTRA_QUERY_OK);
    ck_assert_int_eq(spectra_query_params_json(&q, &pool, &out),
                     SPECTRA_QUERY_OK);
    ck_assert_str_eq((char *) out.data,
                     "[{\"name\":\"a\",\"value\":\"x\\\"y\"},"
                     "{\"name\":\"n\",\"value\":\"3\"}]");
    t_free();
}
END_TEST


START_TEST(test_options)
{
    u_char                  buf[SPECTRA_QUERY_OPTIONS_LEN], *end;
    spectra_query_t         r;
    spectra_query_limits_t  small = t_limits;

    ck_assert_int_eq(t_parse("{\"sql\": \"s\", \"row_limit\": 7, "
                             "\"byte_limit\": 4096, "
                             "\"result_format\": \"arrays\"}"),
                     SPECTRA_QUERY_OK);

    end = spectra_query_options(buf, &q);
    *end = '\0';
    ck_assert_str_eq((char *) buf, "{\"row_limit\":7,\"byte_limit\":4096,"
                                   "\"format\":\"arrays\"}");

    spectra_query_options_read(buf, end - buf, &t_limits, &r);
    ck_assert_uint_eq(r.row_limit, 7);
    ck_assert_uint_eq(r.byte_limit, 4096);
    ck_assert_int_eq(r.format, SPECTRA_RESULT_ARRAYS);

    /* a job older than a lowered limit answers within today's limit */
    small.rows = 5;
    small.bytes = 2048;
    spectra_query_options_read(buf, end - buf, &small, &r);
    ck_assert_uint_eq(r.row_limit, 5);
    ck_assert_uint_eq(r.byte_limit, 2048);

    /* no options (a job of the first schema): the defaults */
    spectra_query_options_read(NULL, 0, &t_limits, &r);
    ck_assert_uint_eq(r.row_limit, 10000);
    ck_assert_int_eq(r.format, SPECTRA_RESULT_OBJECTS);

    spectra_query_options_read((u_char *) "{\"row_limit\":3,"
                               "\"format\":\"objects\"}", 35, &t_limits, &r);
    ck_assert_uint_eq(r.row_limit, 3);
    ck_assert_uint_eq(r.byte_limit, t_limits.bytes);
    ck_assert_int_eq(r.format, SPECTRA_RESULT_OBJECTS);

    /* no kept_rows: the statement kept its row_limit */
    ck_assert_uint_eq(r.kept_rows, 3);
    t_free();
}
END_TEST


START_TEST(test_options_kept_rows)
{
    u_char           buf[SPECTRA_QUERY_OPTIONS_LEN], *end;
    spectra_query_t  r;

    ck_assert_int_eq(t_parse("{\"sql\": \"s\", \"row_limit\": 7}"),
                     SPECTRA_QUERY_OK);

    /* the body cannot set it */
    ck_assert_uint_eq(q.kept_rows, 0);

    q.kept_rows = 7;
    end = spectra_query_options(buf, &q);
    *end = '\0';
    ck_assert_str_eq((char *) buf, "{\"row_limit\":7,\"byte_limit\":"
                                   "26214400,\"format\":\"objects\"}");

    q.kept_rows = 18446744073709551615ULL;
    q.row_limit = 18446744073709551614ULL;
    q.byte_limit = 18446744073709551615ULL;
    end = spectra_query_options(buf, &q);
    ck_assert_uint_le(end - buf, SPECTRA_QUERY_OPTIONS_LEN);

    q.row_limit = 7;
    q.byte_limit = 4096;
    q.kept_rows = 100000;
    end = spectra_query_options(buf, &q);
    *end = '\0';
    ck_assert_str_eq((char *) buf, "{\"row_limit\":7,\"byte_limit\":4096,"
                                   "\"format\":\"objects\","
                                   "\"kept_rows\":100000}");

    spectra_query_options_read(buf, end - buf, &t_limits, &r);
    ck_assert_uint_eq(r.row_limit, 7);
    ck_assert_uint_eq(r.kept_rows, 100000);

    /* one below the row limit is the row limit */
    spectra_query_options_read((u_char *) "{\"row_limit\":9,"
                               "\"kept_rows\":4}", 28, &t_limits, &r);
    ck_assert_uint_eq(r.kept_rows, 9);
    t_free();
}
END_TEST


static Suite *
query_suite(void)
{
    TCase  *tc;
    Suite  *s;

    s = suite_create("query");
    tc = tcase_create("core");

    tcase_add_test(tc, test_defaults);
    tcase_add_test(tc, test_every_field);
    tcase_add_test(tc, test_wait_cut_to_timeout);
    tcase_add_test(tc, test_ranges);
    tcase_add_test(tc, test_types);
    tcase_add_test(tc, test_shape);
    tcase_add_test(tc, test_idempotency_key);
    tcase_add_test(tc, test_parameters);
    tcase_add_test(tc, test_params_check);
    tcase_add_test(tc, test_params_json);
    tcase_add_test(tc, test_options);
    tcase_add_test(tc, test_options_kept_rows);

    suite_add_tcase(s, tc);

    return s;
}


int
main(void)
{
    int       failed;
    SRunner  *sr;

    sr = srunner_create(query_suite());
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);

    return failed == 0 ? 0 : 1;
}
