/*
 * Unit tests of src/spectra_metrics.c: the label tables (endpoints,
 * statuses, Data API actions and error types, authentication failure
 * texts), histogram buckets, and the Prometheus text it writes: escaping,
 * seconds, cumulative buckets, and a buffer too small.
 */

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "spectra_metrics.h"


static const char *t_text(spectra_metrics_out_t *out, u_char *start);
Suite *metrics_suite(void);


static u_char  buf[8192];


static const char *
t_text(spectra_metrics_out_t *out, u_char *start)
{
    ck_assert(!out->overflow);
    *out->pos = '\0';
    return (const char *) start;
}


START_TEST(test_endpoints)
{
    ck_assert_int_eq(spectra_metrics_endpoint(NULL, 0),
                     SPECTRA_METRICS_EP_UNKNOWN);
    ck_assert_int_eq(spectra_metrics_endpoint("queries", 0),
                     SPECTRA_METRICS_EP_QUERY);
    ck_assert_int_eq(spectra_metrics_endpoint("jobs/*", 0),
                     SPECTRA_METRICS_EP_JOB);
    ck_assert_int_eq(spectra_metrics_endpoint("jobs/*", 1),
                     SPECTRA_METRICS_EP_JOB_CANCEL);
    ck_assert_int_eq(spectra_metrics_endpoint("jobs/*/results", 0),
                     SPECTRA_METRICS_EP_RESULTS);
    ck_assert_int_eq(spectra_metrics_endpoint("bulk/*/files/*", 0),
                     SPECTRA_METRICS_EP_BULK_FILE);
    ck_assert_int_eq(spectra_metrics_endpoint("bulk/*", 1),
                     SPECTRA_METRICS_EP_BULK_CANCEL);
    ck_assert_int_eq(spectra_metrics_endpoint("imports", 0),
                     SPECTRA_METRICS_EP_IMPORTS);
    ck_assert_int_eq(spectra_metrics_endpoint("ready", 0),
                     SPECTRA_METRICS_EP_READY);
    ck_assert_int_eq(spectra_metrics_endpoint("imports/*", 0),
                     SPECTRA_METRICS_EP_IMPORT);
    ck_assert_int_eq(spectra_metrics_endpoint("imports/*", 1),
                     SPECTRA_METRICS_EP_IMPORT_CANCEL);
    ck_assert_str_eq(spectra_metrics_endpoints[
                         spectra_metrics_endpoint("imports/*/failed", 0)],
                     "import_failed");
    ck_assert_str_eq(spectra_metrics_endpoints[
                         spectra_metrics_endpoint("openapi.json", 0)],
                     "openapi");
    ck_assert_int_eq(spectra_metrics_endpoint("something/new", 0),
                     SPECTRA_METRICS_EP_OTHER);
    ck_assert_str_eq(spectra_metrics_endpoints[SPECTRA_METRICS_EP_BULK_FILE],
                     "bulk_file");
    ck_assert_str_eq(spectra_metrics_endpoints[SPECTRA_METRICS_EP_QUERY],
                     "query");
}
END_TEST


START_TEST(test_statuses)
{
    ck_assert_str_eq(spectra_metrics_statuses[spectra_metrics_status(200)],
                     "200");
    ck_assert_str_eq(spectra_metrics_statuses[spectra_metrics_status(429)],
                     "429");
    ck_assert_str_eq(spectra_metrics_statuses[spectra_metrics_status(504)],
                     "504");
    ck_assert_str_eq(spectra_metrics_statuses[spectra_metrics_status(299)],
                     "2xx");
    ck_assert_str_eq(spectra_metrics_statuses[spectra_metrics_status(418)],
                     "4xx");
    ck_assert_str_eq(spectra_metrics_statuses[spectra_metrics_status(599)],
                     "5xx");
    ck_assert_str_eq(spectra_metrics_statuses[spectra_metrics_status(0)],
                     "other");
    ck_assert_str_eq(spectra_metrics_statuses[spectra_metrics_status(100)],
                     "other");
    ck_assert_str_eq(spectra_metrics_statuses[spectra_metrics_status(600)],
                     "other");
}
END_TEST


START_TEST(test_actions_and_types)
{
    ck_assert_str_eq(spectra_metrics_actions[
                         spectra_metrics_action("DescribeStatement")],
                     "DescribeStatement");
    ck_assert_str_eq(spectra_metrics_actions[
                         spectra_metrics_action("BatchExecuteStatement")],
                     "BatchExecuteStatement");
    ck_assert_str_eq(spectra_metrics_actions[spectra_metrics_action("Nope")],
                     "other");
    ck_assert_str_eq(spectra_metrics_actions[spectra_metrics_action(NULL)],
                     "other");

    ck_assert_str_eq(spectra_metrics_types[spectra_metrics_type(NULL)],
                     "none");
    ck_assert_str_eq(spectra_metrics_types[spectra_metrics_type("")],
                     "none");
    ck_assert_str_eq(spectra_metrics_types[
                         spectra_metrics_type("ThrottlingException")],
                     "ThrottlingException");
    ck_assert_str_eq(spectra_metrics_types[spectra_metrics_type(
                         "com.amazon.coral.service#ExpiredTokenException")],
                     "ExpiredTokenException");
    ck_assert_str_eq(spectra_metrics_types[spectra_metrics_type(
                         "ValidationException:http://internal.amazon.com/")],
                     "ValidationException");
    /* upstream text never becomes a label of its own */
    ck_assert_str_eq(spectra_metrics_types[
                         spectra_metrics_type("Weird\"Exception\n")],
                     "other");
    ck_assert_str_eq(spectra_metrics_types[
                         spectra_metrics_type("ValidationExceptionX")],
                     "other");
}
END_TEST


START_TEST(test_auth_reasons)
{
    size_t    i;
    unsigned  method, reason;

    static const struct {
        const char  *text;
        const char  *method;
        const char  *reason;
    } cases[] = {
        { "no credentials", "none", "missing" },
        { "rejected: several credentials presented", "none", "several" },
        { "jwt rejected: JWT not accepted here", "jwt", "not_accepted" },
        { "api key rejected: API keys not accepted here", "apikey",
          "not_accepted" },
        { "jwt rejected: expired", "jwt", "expired" },
        { "jwt rejected: bad signature", "jwt", "bad_signature" },
        { "jwt rejected: unknown kid", "jwt", "unknown_key" },
        { "jwt rejected: no key for alg", "jwt", "unknown_key" },
        { "jwt rejected: not three segments", "jwt", "malformed" },
        { "jwt rejected: token too large", "jwt", "malformed" },
        { "jwt rejected: alg none", "jwt", "bad_header" },
        { "jwt rejected: key reference header (jku, x5u, jwk, x5c) "
          "not accepted", "jwt", "bad_header" },
        { "jwt rejected: not yet valid (nbf)", "jwt", "not_yet_valid" },
        { "jwt rejected: iat in the future", "jwt", "not_yet_valid" },
        { "jwt rejected: wrong audience", "jwt", "bad_claims" },
        { "jwt rejected: missing exp", "jwt", "bad_claims" },
        { "jwt rejected: no tenant id claim", "jwt", "bad_identity" },
        { "jwt rejected: db_user or db_group is not a role name", "jwt",
          "bad_identity" },
        { "jwt rejected: out of memory", "jwt", "internal" },
        { "api key rejected: unknown key id", "apikey", "unknown_key" },
        { "api key rejected: wrong secret", "apikey", "bad_secret" },
        { "api key rejected: malformed key", "apikey", "malformed" },
        { "rejected: the derived db_user is not a role name", "none",
          "bad_identity" },
        { "out of memory", "none", "internal" },
        { "jwt rejected: something new", "jwt", "other" },
        { "whatever", "none", "other" }
    };

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        spectra_metrics_auth_reason(cases[i].text, &method, &reason);
        ck_assert_msg(strcmp(spectra_metrics_methods[method],
                             cases[i].method) == 0
                      && strcmp(spectra_metrics_reasons[reason],
                                cases[i].reason) == 0,
                      "\"%s\": %s/%s, expected %s/%s", cases[i].text,
                      spectra_metrics_methods[method],
                      spectra_metrics_reasons[reason], cases[i].method,
                      cases[i].reason);
    }

    spectra_metrics_auth_reason(NULL, &method, &reason);
    ck_assert_str_eq(spectra_metrics_reasons[reason], "other");
}
END_TEST


START_TEST(test_buckets)
{
    unsigned         n, h, i;
    const uint64_t  *b;

    for (h = SPECTRA_METRICS_H_REQUEST; h <= SPECTRA_METRICS_H_STORE; h++) {
        b = spectra_metrics_bounds((spectra_metrics_hist_e) h, &n);
        ck_assert_uint_le(n, SPECTRA_METRICS_BUCKETS_MAX);

        /* bounds ascend; a value on a bound is in that bound's bucket */
        for (i = 0; i < n; i++) {
            if (i > 0) {
                ck_assert_uint_lt(b[i - 1], b[i]);
            }

            ck_assert_uint_eq(spectra_metrics_bucket(b, n, b[i]), i);
            ck_assert_uint_eq(spectra_metrics_bucket(b, n, b[i] + 1), i + 1);
        }

        ck_assert_uint_eq(spectra_metrics_bucket(b, n, 0), 0);
        ck_assert_uint_eq(spectra_metrics_bucket(b, n, UINT64_MAX), n);
    }
}
END_TEST


START_TEST(test_seconds)
{
    u_char  s[32];
    size_t  n;

    n = spectra_metrics_seconds(s, 0);
    ck_assert_int_eq(n, 1);
    ck_assert(memcmp(s, "0", 1) == 0);

    n = spectra_metrics_seconds(s, 50);
    s[n] = '\0';
    ck_assert_str_eq((char *) s, "0.00005");

    n = spectra_metrics_seconds(s, 2500000);
    s[n] = '\0';
    ck_assert_str_eq((char *) s, "2.5");

    n = spectra_metrics_seconds(s, 300000000);
    s[n] = '\0';
    ck_assert_str_eq((char *) s, "300");

    n = spectra_metrics_seconds(s, 1000001);
    s[n] = '\0';
    ck_assert_str_eq((char *) s, "1.000001");

    n = spectra_metrics_seconds(s, UINT64_MAX);
    s[n] = '\0';
    ck_assert_str_eq((char *) s, "18446744073709.551615");
}
END_TEST


START_TEST(test_escape)
{
    u_char  out[32];
    size_t  n;

    n = spectra_metrics_escape(out, (u_char *) "a\\b\"c\nd", 7);
    ck_assert_int_eq(n, 10);
    ck_assert(memcmp(out, "a\\\\b\\\"c\\nd", 10) == 0);

    n = spectra_metrics_escape(out, (u_char *) "plain", 5);
    ck_assert_int_eq(n, 5);
}
END_TEST


START_TEST(test_family_and_samples)
{
    spectra_metrics_out_t    out;
    spectra_metrics_label_t  l[2] = {
        { "tenant", spectra_string("ac\"me\\\n") },
        { "code", spectra_string("200") }
    };

    spectra_metrics_out_init(&out, buf, sizeof(buf));

    spectra_metrics_family(&out, "spectra_x_total", "counter",
                           "Help with a \\ and a\nnewline.");
    spectra_metrics_sample(&out, "spectra_x_total", l, 2, 42);
    spectra_metrics_sample(&out, "spectra_x_total", NULL, 0, 0);
    spectra_metrics_sample(&out, "spectra_x_total", l + 1, 1,
                           UINT64_MAX);

    ck_assert_str_eq(t_text(&out, buf),
        "# HELP spectra_x_total Help with a \\\\ and a\\nnewline.\n"
        "# TYPE spectra_x_total counter\n"
        "spectra_x_total{tenant=\"ac\\\"me\\\\\\n\",code=\"200\"} 42\n"
        "spectra_x_total 0\n"
        "spectra_x_total{code=\"200\"} 18446744073709551615\n");
}
END_TEST


START_TEST(test_histogram)
{
    uint64_t                 bounds[] = { 1000, 500000, 2000000 };
    uint64_t                 counts[] = { 1, 0, 3, 2 };
    spectra_metrics_out_t    out;
    spectra_metrics_label_t  l = { "action", spectra_string("Describe") };

    spectra_metrics_out_init(&out, buf, sizeof(buf));
    spectra_metrics_histogram(&out, "spectra_h_seconds", &l, 1, bounds, 3,
                              counts, 7250000);

    ck_assert_str_eq(t_text(&out, buf),
        "spectra_h_seconds_bucket{action=\"Describe\",le=\"0.001\"} 1\n"
        "spectra_h_seconds_bucket{action=\"Describe\",le=\"0.5\"} 1\n"
        "spectra_h_seconds_bucket{action=\"Describe\",le=\"2\"} 4\n"
        "spectra_h_seconds_bucket{action=\"Describe\",le=\"+Inf\"} 6\n"
        "spectra_h_seconds_sum{action=\"Describe\"} 7.25\n"
        "spectra_h_seconds_count{action=\"Describe\"} 6\n");

    /* without labels */
    spectra_metrics_out_init(&out, buf, sizeof(buf));
    spectra_metrics_histogram(&out, "spectra_q_seconds", NULL, 0, bounds, 1,
                              counts, 0);

    ck_assert_str_eq(t_text(&out, buf),
        "spectra_q_seconds_bucket{le=\"0.001\"} 1\n"
        "spectra_q_seconds_bucket{le=\"+Inf\"} 1\n"
        "spectra_q_seconds_sum 0\n"
        "spectra_q_seconds_count 1\n");
}
END_TEST


START_TEST(test_overflow)
{
    size_t                 size;
    spectra_metrics_out_t  out;

    /* every size short of the whole line overflows and writes nothing past */
    for (size = 0; size < sizeof("spectra_x_total 12\n") - 1; size++) {
        memset(buf, 'Z', sizeof(buf));
        spectra_metrics_out_init(&out, buf, size);
        spectra_metrics_sample(&out, "spectra_x_total", NULL, 0, 12);

        ck_assert(out.overflow);
        ck_assert(out.pos <= buf + size);
        ck_assert_int_eq(buf[size], 'Z');

        /* and stays so */
        spectra_metrics_family(&out, "a", "counter", "b");
        ck_assert(out.overflow);
    }

    spectra_metrics_out_init(&out, buf, size);
    spectra_metrics_sample(&out, "spectra_x_total", NULL, 0, 12);
    ck_assert(!out.overflow);
    ck_assert(out.pos == buf + size);
}
END_TEST


Suite *
metrics_suite(void)
{
    Suite  *s;
    TCase  *tc;

    s = suite_create("metrics");
    tc = tcase_create("metrics");
    suite_add_tcase(s, tc);

    tcase_add_test(tc, test_endpoints);
    tcase_add_test(tc, test_statuses);
    tcase_add_test(tc, test_actions_and_types);
    tcase_add_test(tc, test_auth_reasons);
    tcase_add_test(tc, test_buckets);
    tcase_add_test(tc, test_seconds);
    tcase_add_test(tc, test_escape);
    tcase_add_test(tc, test_family_and_samples);
    tcase_add_test(tc, test_histogram);
    tcase_add_test(tc, test_overflow);

    return s;
}


int
main(void)
{
    int       failed;
    SRunner  *sr;

    sr = srunner_create(metrics_suite());
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);

    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
