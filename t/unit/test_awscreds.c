/*
 * Unit tests of src/spectra_awscreds.c: INI profiles of the shared
 * credentials and config files, STS AssumeRoleWithWebIdentity answers
 * (as AWS documents them) and the container/IMDS JSON, with the hostile
 * inputs each must refuse without quoting a secret.
 */

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spectra_awscreds.h"


static int t_ini(const char *text, const char *profile, int config);
static int t_sts(const char *text);
static int t_json(const char *text);

static Suite *awscreds_suite(void);


static spectra_awscreds_t  c;
static spectra_err_t       err;


#define KEY     "AKIAIOSFODNN7EXAMPLE"
#define SECRET  "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
#define TOKEN   "IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQ=="


static int
t_ini(const char *text, const char *profile, int config)
{
    memset(&err, 0, sizeof(spectra_err_t));
    return spectra_awscreds_ini((const u_char *) text, strlen(text),
                                profile, config, &c, &err);
}


static int
t_sts(const char *text)
{
    memset(&err, 0, sizeof(spectra_err_t));
    return spectra_awscreds_sts((const u_char *) text, strlen(text), &c,
                                &err);
}


static int
t_json(const char *text)
{
    memset(&err, 0, sizeof(spectra_err_t));
    return spectra_awscreds_json((const u_char *) text, strlen(text), &c,
                                 &err);
}


#define t_no_secret()                                                         \
    do {                                                                      \
        ck_assert_ptr_null(strstr(err.message, "wJalr"));                     \
        ck_assert_ptr_null(strstr(err.message, "IQoJ"));                      \
        ck_assert_str_eq(c.secret_access_key, "");                            \
        ck_assert_str_eq(c.session_token, "");                                \
    } while (0)


START_TEST(test_ini)
{
    const char  *creds =
        "# a comment\n"
        "[default]\n"
        "aws_access_key_id = AKIADEFAULTDEFAULT00\n"
        "aws_secret_access_key = defaultsecret\n"
        "\n"
        "[spectra]\r\n"
        "  ; indented comment\r\n"
        "aws_access_key_id=" KEY "\r\n"
        "AWS_Secret_Access_Key =  " SECRET "  \r\n"
        "aws_session_token = " TOKEN "\r\n"
        "region = us-east-1\r\n"
        "s3 =\r\n"
        "    max_concurrent_requests = 20\r\n";
    const char  *config =
        "[default]\n"
        "region = eu-west-1\n"
        "[profile spectra]\n"
        "aws_access_key_id = " KEY "\n"
        "aws_secret_access_key = " SECRET "\n"
        "[spectra]\n"
        "aws_access_key_id = AKIANOTAPROFILE00000\n";

    ck_assert_int_eq(t_ini(creds, "spectra", 0), 0);
    ck_assert_str_eq(c.access_key_id, KEY);
    ck_assert_str_eq(c.secret_access_key, SECRET);
    ck_assert_str_eq(c.session_token, TOKEN);
    ck_assert_int_eq(c.expiration, 0);

    ck_assert_int_eq(t_ini(creds, "default", 0), 0);
    ck_assert_str_eq(c.access_key_id, "AKIADEFAULTDEFAULT00");
    ck_assert_str_eq(c.session_token, "");

    /* the config file: "[profile name]"; "[name]" is not a profile */
    ck_assert_int_eq(t_ini(config, "spectra", 1), 0);
    ck_assert_str_eq(c.access_key_id, KEY);
    ck_assert_str_eq(c.secret_access_key, SECRET);

    /* no such profile, or a profile without keys: the next provider */
    ck_assert_int_eq(t_ini(creds, "other", 0), 1);
    ck_assert_int_eq(t_ini(config, "default", 1), 1);
    ck_assert_int_eq(t_ini("", "default", 0), 1);
    /* "[profile default]" is not "default" in the credentials file */
    ck_assert_int_eq(t_ini("[profile x]\naws_access_key_id = " KEY "\n",
                           "x", 0), 1);
}
END_TEST


START_TEST(test_ini_hostile)
{
    char   big[8192];

    ck_assert_int_eq(t_ini("[p]\naws_access_key_id = " KEY "\n", "p", 0),
                     -1);
    ck_assert_ptr_nonnull(strstr(err.message, "only one of"));

    ck_assert_int_eq(t_ini("[p]\naws_secret_access_key = " SECRET "\n",
                           "p", 0), -1);
    t_no_secret();

    ck_assert_int_eq(t_ini("[p\naws_access_key_id = " KEY "\n", "p", 0), -1);
    ck_assert_ptr_nonnull(strstr(err.message, "line 1"));

    ck_assert_int_eq(t_ini("[p]\njust words\n", "p", 0), -1);
    ck_assert_ptr_nonnull(strstr(err.message, "line 2"));

    /* values that would break a header or a log line */
    ck_assert_int_eq(t_ini("[p]\naws_access_key_id = akia lower\n"
                           "aws_secret_access_key = " SECRET "\n", "p", 0),
                     -1);
    ck_assert_ptr_nonnull(strstr(err.message, "access key id"));
    t_no_secret();

    ck_assert_int_eq(t_ini("[p]\naws_access_key_id = " KEY "\n"
                           "aws_secret_access_key = wJalr\"x\x01y\n", "p",
                           0), -1);
    ck_assert_ptr_nonnull(strstr(err.message, "secret access key"));
    t_no_secret();

    ck_assert_int_eq(t_ini("[p]\naws_access_key_id = " KEY "\n"
                           "aws_secret_access_key = " SECRET "\n"
                           "aws_session_token = IQoJ\rX-Evil: 1\n", "p", 0),
                     -1);
    t_no_secret();

    memset(big, 'A', sizeof(big));
    memcpy(big, "[p]\naws_session_token = ", 24);
    big[sizeof(big) - 1] = '\0';
    ck_assert_int_eq(t_ini(big, "p", 0), -1);
    ck_assert_ptr_nonnull(strstr(err.message, "too long"));

    ck_assert_int_eq(spectra_awscreds_ini((const u_char *) "[p]\0x", 5, "p",
                                          0, &c, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.message, "NUL"));
}
END_TEST


START_TEST(test_sts)
{
    /* AssumeRoleWithWebIdentity's answer, as the STS reference shows it */
    ck_assert_int_eq(t_sts(
        "<AssumeRoleWithWebIdentityResponse "
        "xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\n"
        "  <AssumeRoleWithWebIdentityResult>\n"
        "    <SubjectFromWebIdentityToken>system:serviceaccount:spectra:"
        "nginx</SubjectFromWebIdentityToken>\n"
        "    <Audience>sts.amazonaws.com</Audience>\n"
        "    <AssumedRoleUser>\n"
        "      <Arn>arn:aws:sts::123456789012:assumed-role/spectra/s</Arn>\n"
        "      <AssumedRoleId>AROACLKWSDQRAOEXAMPLE:s</AssumedRoleId>\n"
        "    </AssumedRoleUser>\n"
        "    <Credentials>\n"
        "      <SessionToken>" TOKEN "</SessionToken>\n"
        "      <SecretAccessKey>" SECRET "</SecretAccessKey>\n"
        "      <Expiration>2026-12-02T07:00:00Z</Expiration>\n"
        "      <AccessKeyId>ASIAIOSFODNN7EXAMPLE</AccessKeyId>\n"
        "    </Credentials>\n"
        "    <Provider>www.amazon.com</Provider>\n"
        "  </AssumeRoleWithWebIdentityResult>\n"
        "  <ResponseMetadata><RequestId>ad4156e9</RequestId>"
        "</ResponseMetadata>\n"
        "</AssumeRoleWithWebIdentityResponse>\n"), 0);
    ck_assert_str_eq(c.access_key_id, "ASIAIOSFODNN7EXAMPLE");
    ck_assert_str_eq(c.secret_access_key, SECRET);
    ck_assert_str_eq(c.session_token, TOKEN);
    ck_assert_int_eq(c.expiration, 1796194800);

    ck_assert_int_eq(t_sts(
        "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">"
        "<Error><Type>Sender</Type><Code>InvalidIdentityToken</Code>"
        "<Message>the token is wJalr</Message></Error>"
        "<RequestId>x</RequestId></ErrorResponse>"), -1);
    ck_assert_str_eq(err.message, "STS refused: InvalidIdentityToken");
}
END_TEST


START_TEST(test_sts_hostile)
{
    ck_assert_int_eq(t_sts("not xml"), -1);
    ck_assert_ptr_nonnull(strstr(err.message, "not XML"));

    ck_assert_int_eq(t_sts(
        "<?xml version=\"1.0\"?>\n"
        "<!DOCTYPE lolz [<!ENTITY lol \"lol\">"
        "<!ENTITY lol2 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">]>"
        "<R><Credentials><AccessKeyId>&lol2;</AccessKeyId></Credentials>"
        "</R>"), -1);
    ck_assert_ptr_nonnull(strstr(err.message, "DOCTYPE"));

    ck_assert_int_eq(t_sts(
        "<!DOCTYPE x SYSTEM \"file:///etc/passwd\"><x/>"), -1);
    ck_assert_ptr_nonnull(strstr(err.message, "DOCTYPE"));

    /* fields outside <Credentials> do not count */
    ck_assert_int_eq(t_sts(
        "<R><AccessKeyId>ASIAIOSFODNN7EXAMPLE</AccessKeyId>"
        "<SecretAccessKey>" SECRET "</SecretAccessKey>"
        "<SessionToken>" TOKEN "</SessionToken>"
        "<Expiration>2026-12-02T07:00:00Z</Expiration></R>"), -1);
    ck_assert_ptr_nonnull(strstr(err.message, "lacks"));
    t_no_secret();

    ck_assert_int_eq(t_sts(
        "<R><Credentials><AccessKeyId>ASIAIOSFODNN7EXAMPLE</AccessKeyId>"
        "<SecretAccessKey>" SECRET "</SecretAccessKey>"
        "<SessionToken>" TOKEN "</SessionToken>"
        "<Expiration>tomorrow</Expiration></Credentials></R>"), -1);
    ck_assert_ptr_nonnull(strstr(err.message, "Expiration"));
    t_no_secret();

    ck_assert_int_eq(t_sts(
        "<R><Credentials><AccessKeyId>ASIAIOSFODNN7EXAMPLE</AccessKeyId>"
        "<SecretAccessKey>wJalr&#10;X: y</SecretAccessKey>"
        "<SessionToken>" TOKEN "</SessionToken>"
        "<Expiration>2026-12-02T07:00:00Z</Expiration></Credentials></R>"),
        -1);
    t_no_secret();

    ck_assert_int_eq(t_sts(
        "<a><a><a><a><a><a><a><a><a><a><a><a><a><a><a><a><a><a>"
        "</a></a></a></a></a></a></a></a></a></a></a></a></a></a></a></a>"
        "</a></a>"), -1);
    ck_assert_ptr_nonnull(strstr(err.message, "nesting"));
}
END_TEST


START_TEST(test_json)
{
    /* the container endpoint (ECS) */
    ck_assert_int_eq(t_json(
        "{\"AccessKeyId\": \"ASIAIOSFODNN7EXAMPLE\", "
        "\"Expiration\": \"2026-12-02T07:00:00Z\", "
        "\"RoleArn\": \"arn:aws:iam::123456789012:role/spectra\", "
        "\"SecretAccessKey\": \"" SECRET "\", "
        "\"Token\": \"" TOKEN "\"}"), 0);
    ck_assert_str_eq(c.access_key_id, "ASIAIOSFODNN7EXAMPLE");
    ck_assert_str_eq(c.secret_access_key, SECRET);
    ck_assert_str_eq(c.session_token, TOKEN);
    ck_assert_int_eq(c.expiration, 1796194800);

    /* IMDS's security-credentials/<role> */
    ck_assert_int_eq(t_json(
        "{\n  \"Code\" : \"Success\",\n"
        "  \"LastUpdated\" : \"2026-12-02T06:00:00Z\",\n"
        "  \"Type\" : \"AWS-HMAC\",\n"
        "  \"AccessKeyId\" : \"ASIAIOSFODNN7EXAMPLE\",\n"
        "  \"SecretAccessKey\" : \"" SECRET "\",\n"
        "  \"Token\" : \"" TOKEN "\",\n"
        "  \"Expiration\" : \"2026-12-02T07:00:00.123Z\"\n}"), 0);
    ck_assert_int_eq(c.expiration, 1796194800);
}
END_TEST


START_TEST(test_json_hostile)
{
    ck_assert_int_eq(t_json("{\"AccessKeyId\": \"wJalr"), -1);
    ck_assert_ptr_nonnull(strstr(err.message, "not JSON"));
    t_no_secret();

    ck_assert_int_eq(t_json("[]"), -1);
    ck_assert_int_eq(t_json("{\"Code\": \"AssumeRoleUnauthorizedAccess\", "
                            "\"AccessKeyId\": \"ASIAIOSFODNN7EXAMPLE\"}"),
                     -1);
    ck_assert_ptr_nonnull(strstr(err.message, "Success"));

    ck_assert_int_eq(t_json("{\"AccessKeyId\": \"ASIAIOSFODNN7EXAMPLE\", "
                            "\"SecretAccessKey\": \"" SECRET "\", "
                            "\"Expiration\": \"2026-12-02T07:00:00Z\"}"),
                     -1);
    ck_assert_ptr_nonnull(strstr(err.message, "\"Token\""));
    t_no_secret();

    ck_assert_int_eq(t_json("{\"AccessKeyId\": \"ASIAIOSFODNN7EXAMPLE\", "
                            "\"SecretAccessKey\": \"" SECRET "\", "
                            "\"Token\": \"" TOKEN "\", "
                            "\"Expiration\": 1796194800}"), -1);
    t_no_secret();

    ck_assert_int_eq(t_json("{\"AccessKeyId\": \"ASIAIOSFODNN7EXAMPLE\", "
                            "\"SecretAccessKey\": \"" SECRET "\", "
                            "\"Token\": \"a\\r\\nX-Amz-Evil: 1\", "
                            "\"Expiration\": \"2026-12-02T07:00:00Z\"}"),
                     -1);
    ck_assert_ptr_nonnull(strstr(err.message, "session token"));
    t_no_secret();

    ck_assert_int_eq(t_json("{\"AccessKeyId\": \"ASIAIOSFODNN7EXAMPLE\", "
                            "\"AccessKeyId\": \"ASIAIOSFODNN7EXAMPLF\"}"),
                     -1);
}
END_TEST


START_TEST(test_time)
{
    ck_assert_int_eq(spectra_awscreds_time("2026-12-02T07:00:00Z", 20),
                     1796194800);
    ck_assert_int_eq(spectra_awscreds_time("2026-12-02T07:00:00.5Z", 22),
                     1796194800);
    ck_assert_int_eq(spectra_awscreds_time("2026-12-02T07:00:00", 19), -1);
    ck_assert_int_eq(spectra_awscreds_time("2026-12-02 07:00:00Z", 20), -1);
    ck_assert_int_eq(spectra_awscreds_time("2026-13-02T07:00:00Z", 20), -1);
    ck_assert_int_eq(spectra_awscreds_time("2026-12-02T24:00:00Z", 20), -1);
    ck_assert_int_eq(spectra_awscreds_time("2026-12-02T07:00:00.Z", 21), -1);
    ck_assert_int_eq(spectra_awscreds_time("2026-12-02T07:00:00+01:00", 25),
                     -1);
    ck_assert_int_eq(spectra_awscreds_time("2o26-12-02T07:00:00Z", 20), -1);
}
END_TEST


START_TEST(test_schedule)
{
    /* an hour left: 5 minutes before the expiry */
    ck_assert_int_eq(spectra_awscreds_next(1000, 4600, 300), 4300);

    /* 6 s left, margin 5 s: at half the lifetime */
    ck_assert_int_eq(spectra_awscreds_next(1000, 1006, 5), 1003);

    /* about to expire or expired: at the next second, not in a loop */
    ck_assert_int_eq(spectra_awscreds_next(1000, 1001, 300), 1001);
    ck_assert_int_eq(spectra_awscreds_next(1000, 900, 300), 1001);

    /* never expires (a profile): look at the files again in a second */
    ck_assert_int_eq(spectra_awscreds_next(1000, 0, 300), 1001);

    ck_assert_int_eq(spectra_awscreds_backoff(0), 0);
    ck_assert_int_eq(spectra_awscreds_backoff(1), 1);
    ck_assert_int_eq(spectra_awscreds_backoff(2), 2);
    ck_assert_int_eq(spectra_awscreds_backoff(6), 32);
    ck_assert_int_eq(spectra_awscreds_backoff(7), 60);
    ck_assert_int_eq(spectra_awscreds_backoff(1000), 60);
}
END_TEST


static Suite *
awscreds_suite(void)
{
    Suite  *s;
    TCase  *tc;

    s = suite_create("awscreds");
    tc = tcase_create("core");

    tcase_add_test(tc, test_ini);
    tcase_add_test(tc, test_ini_hostile);
    tcase_add_test(tc, test_sts);
    tcase_add_test(tc, test_sts_hostile);
    tcase_add_test(tc, test_json);
    tcase_add_test(tc, test_json_hostile);
    tcase_add_test(tc, test_time);
    tcase_add_test(tc, test_schedule);

    suite_add_tcase(s, tc);

    return s;
}


int
main(void)
{
    int       failed;
    SRunner  *sr;

    sr = srunner_create(awscreds_suite());
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);

    return failed == 0 ? 0 : 1;
}
