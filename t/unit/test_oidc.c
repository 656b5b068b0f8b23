/*
 * Unit tests of src/spectra_oidc.c: a discovery document's jwks_uri (and
 * the hostile documents refused) and the freshness lifetime of an answer
 * from Cache-Control, Expires and Date.
 */

#include <check.h>
#include <string.h>

#include "spectra_oidc.h"


static int t_uri(const char *doc, const char *issuer, int allow_http);
static int64_t t_fresh(const char *cc, const char *expires, const char *date,
    time_t now);
static Suite *oidc_suite(void);


static char           uri[SPECTRA_OIDC_URI_MAX];
static spectra_err_t  err;


static int
t_uri(const char *doc, const char *issuer, int allow_http)
{
    spectra_str_t  iss;

    iss.data = (u_char *) issuer;
    iss.len = issuer ? strlen(issuer) : 0;
    uri[0] = '\0';
    memset(&err, 0, sizeof(spectra_err_t));

    return spectra_oidc_jwks_uri((const u_char *) doc, strlen(doc), &iss,
                                 allow_http, uri, &err);
}


static int64_t
t_fresh(const char *cc, const char *expires, const char *date, time_t now)
{
    spectra_str_t  c, e, d;

    c.data = (u_char *) cc;
    c.len = cc ? strlen(cc) : 0;
    e.data = (u_char *) expires;
    e.len = expires ? strlen(expires) : 0;
    d.data = (u_char *) date;
    d.len = date ? strlen(date) : 0;

    return spectra_http_freshness(&c, &e, &d, now);
}


START_TEST(test_jwks_uri)
{
    ck_assert_int_eq(t_uri("{\"issuer\": \"https://idp.example/\", "
                           "\"jwks_uri\": \"https://idp.example/keys\"}",
                           "https://idp.example/", 0), 0);
    ck_assert_str_eq(uri, "https://idp.example/keys");

    /* no issuer configured: not checked */
    ck_assert_int_eq(t_uri("{\"jwks_uri\": \"https://k.example/j?a=1\"}",
                           NULL, 0), 0);
    ck_assert_str_eq(uri, "https://k.example/j?a=1");

    ck_assert_int_eq(t_uri("{\"jwks_uri\": \"http://127.0.0.1:1/k\"}",
                           NULL, 1), 0);
    ck_assert_str_eq(uri, "http://127.0.0.1:1/k");
}
END_TEST


START_TEST(test_jwks_uri_hostile)
{
    char  big[SPECTRA_OIDC_URI_MAX + 64];

    ck_assert_int_eq(t_uri("<html>", NULL, 0), -1);
    ck_assert_ptr_nonnull(strstr(err.message, "not JSON"));
    ck_assert_int_eq(t_uri("[\"https://a/\"]", NULL, 0), -1);
    ck_assert_ptr_nonnull(strstr(err.message, "not a JSON object"));
    ck_assert_int_eq(t_uri("{}", NULL, 0), -1);
    ck_assert_ptr_nonnull(strstr(err.message, "no \"jwks_uri\""));
    ck_assert_int_eq(t_uri("{\"jwks_uri\": 7}", NULL, 0), -1);
    ck_assert_int_eq(t_uri("{\"jwks_uri\": \"a\", \"jwks_uri\": \"b\"}",
                           NULL, 0), -1);

    /* another issuer's document, or none */
    ck_assert_int_eq(t_uri("{\"issuer\": \"https://evil/\", "
                           "\"jwks_uri\": \"https://evil/k\"}",
                           "https://idp.example/", 0), -1);
    ck_assert_ptr_nonnull(strstr(err.message, "issuer"));
    ck_assert_int_eq(t_uri("{\"jwks_uri\": \"https://evil/k\"}",
                           "https://idp.example/", 0), -1);
    ck_assert_int_eq(t_uri("{\"issuer\": \"https://idp.example\", "
                           "\"jwks_uri\": \"https://idp.example/k\"}",
                           "https://idp.example/", 0), -1);

    /* not an absolute https URL */
    ck_assert_int_eq(t_uri("{\"jwks_uri\": \"http://a/k\"}", NULL, 0), -1);
    ck_assert_ptr_nonnull(strstr(err.message, "https"));
    ck_assert_int_eq(t_uri("{\"jwks_uri\": \"file:///etc/passwd\"}",
                           NULL, 1), -1);
    ck_assert_int_eq(t_uri("{\"jwks_uri\": \"/keys\"}", NULL, 1), -1);
    ck_assert_int_eq(t_uri("{\"jwks_uri\": \"https://\"}", NULL, 0), -1);
    ck_assert_int_eq(t_uri("{\"jwks_uri\": \"https:///k\"}", NULL, 0), -1);
    ck_assert_int_eq(t_uri("{\"jwks_uri\": \"https://u:p@a/k\"}", NULL, 0),
                     -1);
    ck_assert_int_eq(t_uri("{\"jwks_uri\": \"https://a/k x\"}", NULL, 0), -1);
    ck_assert_int_eq(t_uri("{\"jwks_uri\": \"https://a/k\\r\\nX: y\"}",
                           NULL, 0), -1);
    ck_assert_int_eq(t_uri("{\"jwks_uri\": \"https://a/\\u0000k\"}",
                           NULL, 0), -1);

    memset(big, 'a', sizeof(big));
    memcpy(big, "{\"jwks_uri\": \"https://", 22);
    memcpy(big + sizeof(big) - 3, "\"}", 3);
    ck_assert_int_eq(t_uri(big, NULL, 0), -1);
    ck_assert_str_eq(uri, "");
}
END_TEST


START_TEST(test_freshness)
{
    time_t  now;

    now = spectra_http_date((const u_char *) "Wed, 02 Dec 2026 06:00:00 GMT",
                            29);
    ck_assert_int_eq(now, 1796191200);

    ck_assert_int_eq(t_fresh("max-age=300", NULL, NULL, now), 300);
    ck_assert_int_eq(t_fresh("public, max-age=60, must-revalidate",
                             NULL, NULL, now), 60);
    ck_assert_int_eq(t_fresh("Max-Age=\"15\"", NULL, NULL, now), 15);
    ck_assert_int_eq(t_fresh("max-age=99999999999999999999", NULL, NULL,
                             now) >= 100000000000LL, 1);
    ck_assert_int_eq(t_fresh("no-store, max-age=300", NULL, NULL, now), 0);
    ck_assert_int_eq(t_fresh("max-age=300, No-Cache", NULL, NULL, now), 0);

    /* max-age wins over Expires */
    ck_assert_int_eq(t_fresh("max-age=10", "Wed, 02 Dec 2026 07:00:00 GMT",
                             NULL, now), 10);

    ck_assert_int_eq(t_fresh(NULL, "Wed, 02 Dec 2026 07:00:00 GMT",
                             "Wed, 02 Dec 2026 06:30:00 GMT", now), 1800);
    ck_assert_int_eq(t_fresh(NULL, "Wed, 02 Dec 2026 07:00:00 GMT", NULL,
                             now), 3600);
    ck_assert_int_eq(t_fresh("public", "Wed, 02 Dec 2026 05:00:00 GMT",
                             NULL, now), 0);
    /* an invalid Expires is in the past; an invalid Date is now */
    ck_assert_int_eq(t_fresh(NULL, "0", NULL, now), 0);
    ck_assert_int_eq(t_fresh(NULL, "Wed, 02 Dec 2026 07:00:00 GMT",
                             "yesterday", now), 3600);
}
END_TEST


START_TEST(test_freshness_unknown)
{
    ck_assert_int_eq(t_fresh(NULL, NULL, NULL, 0), -1);
    ck_assert_int_eq(t_fresh("public", NULL, NULL, 0), -1);
    ck_assert_int_eq(t_fresh("max-age=", NULL, NULL, 0), -1);
    ck_assert_int_eq(t_fresh("max-age=-5", NULL, NULL, 0), -1);
    ck_assert_int_eq(t_fresh("max-age=1x", NULL, NULL, 0), -1);
    ck_assert_int_eq(t_fresh(",,, ,", NULL, NULL, 0), -1);
    ck_assert_int_eq(spectra_http_freshness(NULL, NULL, NULL, 0), -1);

    ck_assert_int_eq(spectra_http_date((const u_char *)
                                       "Wed, 02 Dec 2026 06:00:00 UTC", 29),
                     -1);
    ck_assert_int_eq(spectra_http_date((const u_char *)
                                       "Wed, 02 Dec 2026 06:00:00 GMTX", 30),
                     -1);
    ck_assert_int_eq(spectra_http_date((const u_char *)
                                       "Wed, 32 Dec 2026 06:00:00 GMT", 29),
                     -1);
}
END_TEST


static Suite *
oidc_suite(void)
{
    Suite  *s;
    TCase  *tc;

    s = suite_create("oidc");
    tc = tcase_create("core");

    tcase_add_test(tc, test_jwks_uri);
    tcase_add_test(tc, test_jwks_uri_hostile);
    tcase_add_test(tc, test_freshness);
    tcase_add_test(tc, test_freshness_unknown);

    suite_add_tcase(s, tc);

    return s;
}


int
main(void)
{
    int       failed;
    SRunner  *sr;

    sr = srunner_create(oidc_suite());
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);

    return failed == 0 ? 0 : 1;
}
