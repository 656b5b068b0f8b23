/*
 * Known-answer and rejection tests of spectra_sigv4: AWS's published
 * vectors, and requests Debian's aws-cli 2.9.19 really signed
 * (t/data/dataapi/cli-signed-requests.jsonl).
 */

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spectra_sigv4.h"


/* the core's spectra_string(), short enough for the vectors' tables */
#define S(lit)  spectra_string(lit)

#define EMPTY_SHA256                                                         \
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

#define CLI_AKID    "AKIDSPECTRATEST00001"
#define CLI_SECRET  "spectraTestSecret/Key+0123456789abcdefghij"
#define CLI_TOKEN   "FQoGZXIvYXdzEXAMPLEsessionTOKEN/abc+def=="

#define CLI_EXEC_BODY                                                        \
    "{\"ClusterIdentifier\": \"demo\", \"Database\": \"warehouse\", "       \
    "\"DbUser\": \"tenant_acme\", \"Parameters\": [{\"name\": \"r\", "      \
    "\"value\": \"emea\"}], \"Sql\": \"select count(*) from sales where "  \
    "region = :r\", \"ClientToken\": "                                       \
    "\"0fcc77ce-e3f3-4818-8e9b-8f3bffef937d\"}"

#define CLI_EXEC_AUTH                                                        \
    "AWS4-HMAC-SHA256 Credential=AKIDSPECTRATEST00001/20261122/us-east-1/"  \
    "redshift-data/aws4_request, SignedHeaders=content-type;host;"          \
    "x-amz-date;x-amz-target, Signature="                                    \
    "16ff1aed4f4e67679909ad2937d1511599e45cb36dd9c1067b44a84f056e2cbf"

#define CLI_DESC_BODY  "{\"Id\": \"00000000-0000-0000-0000-000000000000\"}"

#define CLI_DESC_AUTH                                                        \
    "AWS4-HMAC-SHA256 Credential=AKIDSPECTRATEST00001/20261122/eu-west-1/"  \
    "redshift-data/aws4_request, SignedHeaders=content-type;host;"          \
    "x-amz-date;x-amz-security-token;x-amz-target, Signature="              \
    "ce68408e3eeb0edc6c8b5c2b4b3ddb3724d5455dd5f64b4f0edd43ff3f475b2a"


static time_t t_date(const char *s);
static int t_lookup(void *data, const u_char *key, size_t len,
    spectra_str_t *secret);
static int t_other_token(void *data, const u_char *key, size_t len,
    spectra_str_t *token);
static void t_cli_request(spectra_sigv4_header_t *h, const char *date,
    const char *auth, spectra_sigv4_verify_t *v, const char *body);
static Suite *sigv4_suite(void);


static time_t
t_date(const char *s)
{
    time_t  t;

    ck_assert_int_eq(spectra_sigv4_parse_amz_date((const u_char *) s,
                                                  strlen(s), &t),
                     SPECTRA_SIGV4_OK);
    return t;
}


/* a token that is no key's */

static int
t_other_token(void *data, const u_char *key, size_t len, spectra_str_t *token)
{
    (void) data;
    (void) key;
    (void) len;

    token->data = (u_char *) "AQoDYXdzEOTHERtoken";
    token->len = sizeof("AQoDYXdzEOTHERtoken") - 1;

    return SPECTRA_SIGV4_OK;
}


/* one known key: the CLI's, and AWS's example key for the presign tests */
static int
t_lookup(void *data, const u_char *key, size_t len,
    spectra_str_t *secret)
{
    if (len == sizeof(CLI_AKID) - 1 && memcmp(key, CLI_AKID, len) == 0) {
        secret->data = (u_char *) (data != NULL ? data : CLI_SECRET);
        secret->len = strlen((const char *) secret->data);
        return SPECTRA_SIGV4_OK;
    }

    if (len == 20 && memcmp(key, "AKIAIOSFODNN7EXAMPLE", len) == 0) {
        secret->data = (u_char *)
                       "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
        secret->len = 40;
        return SPECTRA_SIGV4_OK;
    }

    return SPECTRA_SIGV4_ERROR;
}


static void
t_cli_request(spectra_sigv4_header_t *h, const char *date, const char *auth,
    spectra_sigv4_verify_t *v, const char *body)
{
    spectra_str_t        s[] = {
        S("Host"), S("127.0.0.1:52002"),
        S("Accept-Encoding"), S("identity"),
        S("X-Amz-Target"), S("RedshiftData.ExecuteStatement"),
        S("Content-Type"), S("application/x-amz-json-1.1"),
        S("User-Agent"), S("aws-cli/2.9.19"),
    };
    size_t  i;

    for (i = 0; i < 5; i++) {
        h[i].name = s[2 * i];
        h[i].value = s[2 * i + 1];
    }

    h[5].name.data = (u_char *) "X-Amz-Date";
    h[5].name.len = 10;
    h[5].value.data = (u_char *) date;
    h[5].value.len = strlen(date);
    h[6].name.data = (u_char *) "Authorization";
    h[6].name.len = 13;
    h[6].value.data = (u_char *) auth;
    h[6].value.len = strlen(auth);

    memset(v, 0, sizeof(*v));
    v->method.data = (u_char *) "POST";
    v->method.len = 4;
    v->path.data = (u_char *) "/";
    v->path.len = 1;
    v->headers = h;
    v->nheaders = 7;
    v->body.data = (u_char *) body;
    v->body.len = strlen(body);
    v->service.data = (u_char *) "redshift-data";
    v->service.len = 13;
    v->now = t_date(date);
    v->lookup = t_lookup;
}


START_TEST(test_get_vanilla)
{
    spectra_sigv4_header_t       h[] = {
        { S("Host"), S("example.amazonaws.com") },
        { S("X-Amz-Date"), S("20150830T123600Z") },
    };
    spectra_sigv4_credentials_t  cred = {
        S("AKIDEXAMPLE"), S("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
        { 0, NULL }, S("us-east-1"), S("service")
    };
    spectra_sigv4_request_t      req;
    u_char                       sig[64], hash[64];

    memset(&req, 0, sizeof(req));
    req.method.data = (u_char *) "GET";
    req.method.len = 3;
    req.path.data = (u_char *) "/";
    req.path.len = 1;
    req.headers = h;
    req.nheaders = 2;
    req.payload_hash.data = (u_char *) EMPTY_SHA256;
    req.payload_hash.len = 64;

    ck_assert_int_eq(spectra_sigv4_signature(&req, &cred,
                         (const u_char *) "20150830T123600Z", sig, hash),
                     SPECTRA_SIGV4_OK);
    /* get-vanilla.creq hashes to this, per AWS's test suite */
    ck_assert_int_eq(memcmp(hash, "bb579772317eb040ac9ed261061d46c1f17a8133"
                            "879d6129b6e1c25292927e63", 64), 0);
    ck_assert_int_eq(memcmp(sig, "5fa00fa31553b73ebf1942676e86291e8372ff2a"
                            "2260956d9b8aae1d763fbf31", 64), 0);

    /* get-vanilla-query-order-key-case: the query is sorted */
    req.query.data = (u_char *) "Param2=value2&Param1=value1";
    req.query.len = strlen((const char *) req.query.data);
    ck_assert_int_eq(spectra_sigv4_signature(&req, &cred,
                         (const u_char *) "20150830T123600Z", sig, NULL),
                     SPECTRA_SIGV4_OK);
    ck_assert_int_eq(memcmp(sig, "b97d918cfa904a5beff61c982a1b6f458b799221"
                            "646efd99d3219ec94cdf2500", 64), 0);

    /* an empty path is "/" */
    req.path.len = 0;
    req.query.len = 0;
    ck_assert_int_eq(spectra_sigv4_signature(&req, &cred,
                         (const u_char *) "20150830T123600Z", sig, NULL),
                     SPECTRA_SIGV4_OK);
    ck_assert_int_eq(memcmp(sig, "5fa00fa31553b73ebf1942676e86291e8372ff2a"
                            "2260956d9b8aae1d763fbf31", 64), 0);
}
END_TEST


START_TEST(test_s3_get_object_example)
{
    /* "Example: GET Object" of the S3 SigV4 header-signing documentation */
    spectra_sigv4_header_t       h[] = {
        { S("Host"), S("examplebucket.s3.amazonaws.com") },
        { S("Range"), S("bytes=0-9") },
        { S("x-amz-content-sha256"), S(EMPTY_SHA256) },
        { S("x-amz-date"), S("20130524T000000Z") },
    };
    spectra_sigv4_credentials_t  cred = {
        S("AKIAIOSFODNN7EXAMPLE"),
        S("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
        { 0, NULL }, S("us-east-1"), S("s3")
    };
    spectra_sigv4_request_t      req;
    u_char                       sig[64], hash[64];

    memset(&req, 0, sizeof(req));
    req.method.data = (u_char *) "GET";
    req.method.len = 3;
    req.path.data = (u_char *) "/test.txt";
    req.path.len = 9;
    req.headers = h;
    req.nheaders = 4;
    req.payload_hash.data = (u_char *) EMPTY_SHA256;
    req.payload_hash.len = 64;
    req.s3 = 1;

    ck_assert_int_eq(spectra_sigv4_signature(&req, &cred,
                         (const u_char *) "20130524T000000Z", sig, hash),
                     SPECTRA_SIGV4_OK);
    ck_assert_int_eq(memcmp(hash, "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbf"
                            "ff95c48bbb2dc43964946972", 64), 0);
    ck_assert_int_eq(memcmp(sig, "f0e8bdb87c964420e857bd35b5d6ed310bd44f01"
                            "70aba48dd91039c6036bdb41", 64), 0);
}
END_TEST


START_TEST(test_signing_key)
{
    /* AWS's documented derivation example (iam, 20150830) */
    spectra_str_t        secret = S("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY");
    spectra_str_t        date = S("20150830"), region = S("us-east-1");
    spectra_str_t        service = S("iam");
    u_char               key[32];
    static const u_char  expect[32] = {
        196, 175, 177, 204, 87, 113, 216, 113, 118, 58, 57, 62, 68, 183, 3,
        87, 27, 85, 204, 40, 66, 77, 26, 94, 134, 218, 110, 211, 193, 84,
        164, 185
    };

    ck_assert_int_eq(spectra_sigv4_signing_key(&secret, &date, &region,
                                               &service, key),
                     SPECTRA_SIGV4_OK);
    ck_assert_int_eq(memcmp(key, expect, 32), 0);
}
END_TEST


/*
 * The thread's memo of signing keys gives back what it derived, for the
 * same four inputs only: a change of any one of them (a byte of the
 * secret, the next day, another region or service) derives anew, and an
 * entry pushed out by newer ones is derived again, the same.
 */

START_TEST(test_signing_key_memo)
{
    spectra_str_t        secret = S("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY");
    spectra_str_t        secret2 =
                             S("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEZ");
    spectra_str_t        date = S("20150830"), date2 = S("20150831");
    spectra_str_t        region = S("us-east-1"), region2 = S("us-east-2");
    spectra_str_t        service = S("iam"), service2 = S("s3");
    spectra_str_t        empty = { 0, NULL };
    u_char               key[32], first[5][32], again[32];
    int                  i, j, round;
    static const u_char  expect[32] = {
        196, 175, 177, 204, 87, 113, 216, 113, 118, 58, 57, 62, 68, 183, 3,
        87, 27, 85, 204, 40, 66, 77, 26, 94, 134, 218, 110, 211, 193, 84,
        164, 185
    };
    const spectra_str_t *in[5][4] = {
        { &secret, &date, &region, &service },
        { &secret2, &date, &region, &service },
        { &secret, &date2, &region, &service },
        { &secret, &date, &region2, &service },
        { &secret, &date, &region, &service2 },
    };

    /* twice in a row: the second from the memo, the same bytes */
    for (round = 0; round < 2; round++) {
        memset(key, 0, sizeof(key));
        ck_assert_int_eq(spectra_sigv4_signing_key(&secret, &date, &region,
                                                   &service, key),
                         SPECTRA_SIGV4_OK);
        ck_assert_int_eq(memcmp(key, expect, 32), 0);
    }

    /* one input changed at a time: five different keys */
    for (i = 0; i < 5; i++) {
        ck_assert_int_eq(spectra_sigv4_signing_key(in[i][0], in[i][1],
                                                   in[i][2], in[i][3],
                                                   first[i]),
                         SPECTRA_SIGV4_OK);

        for (j = 0; j < i; j++) {
            ck_assert_int_ne(memcmp(first[i], first[j], 32), 0);
        }
    }

    ck_assert_int_eq(memcmp(first[0], expect, 32), 0);

    /* more than the memo holds, in turn, three times: always the same */
    for (round = 0; round < 3; round++) {
        for (i = 4; i >= 0; i--) {
            memset(again, 0, sizeof(again));
            ck_assert_int_eq(spectra_sigv4_signing_key(in[i][0], in[i][1],
                                                       in[i][2], in[i][3],
                                                       again),
                             SPECTRA_SIGV4_OK);
            ck_assert_int_eq(memcmp(again, first[i], 32), 0);
        }
    }

    /* empty scope parts are derived (and not kept), never matched */
    ck_assert_int_eq(spectra_sigv4_signing_key(&secret, &date, &empty,
                                               &service, key),
                     SPECTRA_SIGV4_OK);
    ck_assert_int_ne(memcmp(key, expect, 32), 0);
    ck_assert_int_eq(spectra_sigv4_signing_key(&secret, &date, &empty,
                                               &empty, again),
                     SPECTRA_SIGV4_OK);
    ck_assert_int_ne(memcmp(key, again, 32), 0);
}
END_TEST


START_TEST(test_cli_execute_statement)
{
    spectra_sigv4_credentials_t  cred = {
        S(CLI_AKID), S(CLI_SECRET), { 0, NULL }, S("us-east-1"),
        S("redshift-data")
    };
    spectra_sigv4_json_t         in;
    u_char                       auth[512], date[16];
    size_t                       len;

    memset(&in, 0, sizeof(in));
    in.host.data = (u_char *) "127.0.0.1:52002";
    in.host.len = 15;
    in.target.data = (u_char *) "RedshiftData.ExecuteStatement";
    in.target.len = strlen((const char *) in.target.data);
    in.body.data = (u_char *) CLI_EXEC_BODY;
    in.body.len = sizeof(CLI_EXEC_BODY) - 1;
    in.now = t_date("20261122T001511Z");

    ck_assert_int_eq(spectra_sigv4_sign_json(&in, &cred, date, auth,
                                             sizeof(auth), &len),
                     SPECTRA_SIGV4_OK);
    ck_assert_int_eq(memcmp(date, "20261122T001511Z", 16), 0);
    ck_assert_str_eq((char *) auth, CLI_EXEC_AUTH);
    ck_assert_uint_eq(len, sizeof(CLI_EXEC_AUTH) - 1);

    /* too small an output buffer is an error, not a truncation */
    ck_assert_int_eq(spectra_sigv4_sign_json(&in, &cred, date, auth, 100,
                                             &len),
                     SPECTRA_SIGV4_ERROR);
}
END_TEST


START_TEST(test_cli_session_token)
{
    spectra_sigv4_credentials_t  cred = {
        S(CLI_AKID), S(CLI_SECRET), S(CLI_TOKEN), S("eu-west-1"),
        S("redshift-data")
    };
    spectra_sigv4_json_t         in;
    u_char                       auth[512], date[16];
    size_t                       len;

    memset(&in, 0, sizeof(in));
    in.host.data = (u_char *) "127.0.0.1:52002";
    in.host.len = 15;
    in.target.data = (u_char *) "RedshiftData.DescribeStatement";
    in.target.len = strlen((const char *) in.target.data);
    in.body.data = (u_char *) CLI_DESC_BODY;
    in.body.len = sizeof(CLI_DESC_BODY) - 1;
    in.now = t_date("20261122T001512Z");

    ck_assert_int_eq(spectra_sigv4_sign_json(&in, &cred, date, auth,
                                             sizeof(auth), &len),
                     SPECTRA_SIGV4_OK);
    ck_assert_str_eq((char *) auth, CLI_DESC_AUTH);
}
END_TEST


START_TEST(test_verify_cli_request)
{
    spectra_sigv4_header_t   h[8];
    spectra_sigv4_verify_t   v;
    spectra_sigv4_auth_t     a;
    spectra_sigv4_refusal_t  refusal;

    t_cli_request(h, "20261122T001511Z", CLI_EXEC_AUTH, &v, CLI_EXEC_BODY);

    ck_assert_int_eq(spectra_sigv4_verify(&v, &a, &refusal), SPECTRA_SIGV4_OK);
    ck_assert_int_eq(a.access_key.len, 20);
    ck_assert_int_eq(memcmp(a.access_key.data, CLI_AKID, 20), 0);
    ck_assert_int_eq(a.region.len, 9);
    ck_assert_int_eq(memcmp(a.region.data, "us-east-1", 9), 0);

    /* 14 minutes either way is within the allowed skew */
    v.now = t_date("20261122T002911Z");
    ck_assert_int_eq(spectra_sigv4_verify(&v, &a, &refusal), SPECTRA_SIGV4_OK);
    v.now = t_date("20261122T000111Z");
    ck_assert_int_eq(spectra_sigv4_verify(&v, &a, &refusal), SPECTRA_SIGV4_OK);
}
END_TEST


START_TEST(test_verify_rejects)
{
    spectra_sigv4_header_t   h[8];
    spectra_sigv4_verify_t   v;
    spectra_sigv4_auth_t     a;
    spectra_sigv4_refusal_t  refusal;
    char                     auth[512];
    static const char        mismatch[] =
        "The request signature we calculated does not match the signature "
        "you provided. Check your AWS Secret Access Key and signing method. "
        "Consult the service documentation for details.";

    /* body altered after signing */
    t_cli_request(h, "20261122T001511Z", CLI_EXEC_AUTH, &v,
                  "{\"ClusterIdentifier\": \"demo\"}");
    ck_assert_int_eq(spectra_sigv4_verify(&v, &a, &refusal),
                     SPECTRA_SIGV4_ERROR);
    ck_assert_int_eq(refusal.status, 403);
    ck_assert_str_eq(refusal.type, "InvalidSignatureException");
    ck_assert_int_eq(refusal.err.code, SPECTRA_SIGV4_ERROR);
    ck_assert_uint_eq(refusal.err.position, SPECTRA_POS_NONE);
    ck_assert_str_eq(refusal.err.message, mismatch);

    /* wrong secret for a known key */
    t_cli_request(h, "20261122T001511Z", CLI_EXEC_AUTH, &v, CLI_EXEC_BODY);
    v.lookup_data = (void *) "not-the-secret";
    ck_assert_int_eq(spectra_sigv4_verify(&v, &a, &refusal),
                     SPECTRA_SIGV4_ERROR);
    ck_assert_str_eq(refusal.type, "InvalidSignatureException");
    ck_assert_str_eq(refusal.err.message, mismatch);

    /* a header the signature covers was changed */
    t_cli_request(h, "20261122T001511Z", CLI_EXEC_AUTH, &v, CLI_EXEC_BODY);
    h[2].value.data = (u_char *) "RedshiftData.CancelStatement";
    h[2].value.len = strlen((const char *) h[2].value.data);
    ck_assert_int_eq(spectra_sigv4_verify(&v, &a, &refusal),
                     SPECTRA_SIGV4_ERROR);
    ck_assert_str_eq(refusal.err.message, mismatch);

    /* a signed header went missing */
    t_cli_request(h, "20261122T001511Z", CLI_EXEC_AUTH, &v, CLI_EXEC_BODY);
    h[3].name.data = (u_char *) "X-Content-Type";
    h[3].name.len = 14;
    ck_assert_int_eq(spectra_sigv4_verify(&v, &a, &refusal),
                     SPECTRA_SIGV4_ERROR);
    ck_assert_str_eq(refusal.err.message, mismatch);

    /* unknown access key */
    strcpy(auth, CLI_EXEC_AUTH);
    memcpy(strstr(auth, "AKIDSPECTRATEST00001"), "AKIDSPECTRATEST00002", 20);
    t_cli_request(h, "20261122T001511Z", auth, &v, CLI_EXEC_BODY);
    ck_assert_int_eq(spectra_sigv4_verify(&v, &a, &refusal),
                     SPECTRA_SIGV4_ERROR);
    ck_assert_int_eq(refusal.status, 403);
    ck_assert_str_eq(refusal.type, "UnrecognizedClientException");
    ck_assert_str_eq(refusal.err.message,
                     "The security token included in the request is "
                     "invalid.");

    /* a session token: this verifier issues none, so it is invalid */
    t_cli_request(h, "20261122T001512Z", CLI_DESC_AUTH, &v, CLI_DESC_BODY);
    h[7].name.data = (u_char *) "X-Amz-Security-Token";
    h[7].name.len = 20;
    h[7].value.data = (u_char *) CLI_TOKEN;
    h[7].value.len = sizeof(CLI_TOKEN) - 1;
    v.nheaders = 8;
    ck_assert_int_eq(spectra_sigv4_verify(&v, &a, &refusal),
                     SPECTRA_SIGV4_ERROR);
    ck_assert_str_eq(refusal.type, "UnrecognizedClientException");

    /* a verifier with temporary keys: a token that is not the key's */
    v.token = t_other_token;
    ck_assert_int_eq(spectra_sigv4_verify(&v, &a, &refusal),
                     SPECTRA_SIGV4_ERROR);
    ck_assert_str_eq(refusal.type, "UnrecognizedClientException");

    /* nor the key's token missing */
    v.nheaders = 7;
    ck_assert_int_eq(spectra_sigv4_verify(&v, &a, &refusal),
                     SPECTRA_SIGV4_ERROR);
    ck_assert_str_eq(refusal.type, "UnrecognizedClientException");
    v.token = NULL;

    /* date skew: 16 minutes late, then 16 minutes early */
    t_cli_request(h, "20261122T001511Z", CLI_EXEC_AUTH, &v, CLI_EXEC_BODY);
    v.now = t_date("20261122T003111Z");
    ck_assert_int_eq(spectra_sigv4_verify(&v, &a, &refusal),
                     SPECTRA_SIGV4_ERROR);
    ck_assert_int_eq(refusal.status, 403);
    ck_assert_str_eq(refusal.type, "InvalidSignatureException");
    ck_assert_str_eq(refusal.err.message,
                     "Signature expired: 20261122T001511Z is now earlier "
                     "than 20261122T001611Z (20261122T003111Z - 15 min.)");

    v.now = t_date("20261121T235911Z");
    ck_assert_int_eq(spectra_sigv4_verify(&v, &a, &refusal),
                     SPECTRA_SIGV4_ERROR);
    ck_assert_str_eq(refusal.err.message,
                     "Signature not yet current: 20261122T001511Z is still "
                     "later than 20261122T001411Z (20261121T235911Z + 15 "
                     "min.)");

    /* no Authorization at all */
    t_cli_request(h, "20261122T001511Z", CLI_EXEC_AUTH, &v, CLI_EXEC_BODY);
    v.nheaders = 6;
    ck_assert_int_eq(spectra_sigv4_verify(&v, &a, &refusal),
                     SPECTRA_SIGV4_ERROR);
    ck_assert_int_eq(refusal.status, 400);
    ck_assert_str_eq(refusal.type, "MissingAuthenticationTokenException");

    /* incomplete Authorization: no Signature */
    t_cli_request(h, "20261122T001511Z",
                  "AWS4-HMAC-SHA256 Credential=AKIDSPECTRATEST00001/20261122/"
                  "us-east-1/redshift-data/aws4_request, SignedHeaders=host;"
                  "x-amz-date", &v, CLI_EXEC_BODY);
    ck_assert_int_eq(spectra_sigv4_verify(&v, &a, &refusal),
                     SPECTRA_SIGV4_ERROR);
    ck_assert_int_eq(refusal.status, 400);
    ck_assert_str_eq(refusal.type, "IncompleteSignatureException");
    ck_assert_str_eq(refusal.err.message, "Authorization header requires "
                     "'Signature' parameter. ");

    /* another algorithm */
    t_cli_request(h, "20261122T001511Z", "AWS3 Signature=abc", &v,
                  CLI_EXEC_BODY);
    ck_assert_int_eq(spectra_sigv4_verify(&v, &a, &refusal),
                     SPECTRA_SIGV4_ERROR);
    ck_assert_str_eq(refusal.type, "IncompleteSignatureException");

    /* a credential with four parts */
    t_cli_request(h, "20261122T001511Z",
                  "AWS4-HMAC-SHA256 Credential=AKIDSPECTRATEST00001/20261122/"
                  "us-east-1/aws4_request, SignedHeaders=host;x-amz-date, "
                  "Signature=00", &v, CLI_EXEC_BODY);
    ck_assert_int_eq(spectra_sigv4_verify(&v, &a, &refusal),
                     SPECTRA_SIGV4_ERROR);
    ck_assert_str_eq(refusal.type, "IncompleteSignatureException");

    /* wrong service in the scope */
    strcpy(auth, CLI_EXEC_AUTH);
    memcpy(strstr(auth, "redshift-data"), "redshift-date", 13);
    t_cli_request(h, "20261122T001511Z", auth, &v, CLI_EXEC_BODY);
    ck_assert_int_eq(spectra_sigv4_verify(&v, &a, &refusal),
                     SPECTRA_SIGV4_ERROR);
    ck_assert_int_eq(refusal.status, 403);
    ck_assert_str_eq(refusal.err.message,
                     "Credential should be scoped to correct service: "
                     "'redshift-data'. ");

    /* wrong terminator */
    strcpy(auth, CLI_EXEC_AUTH);
    memcpy(strstr(auth, "aws4_request"), "aws5_request", 12);
    t_cli_request(h, "20261122T001511Z", auth, &v, CLI_EXEC_BODY);
    ck_assert_int_eq(spectra_sigv4_verify(&v, &a, &refusal),
                     SPECTRA_SIGV4_ERROR);
    ck_assert_str_eq(refusal.err.message,
                     "Credential should be scoped with a valid terminator: "
                     "'aws4_request', not 'aws5_request'.");

    /* scope date differs from X-Amz-Date */
    strcpy(auth, CLI_EXEC_AUTH);
    memcpy(strstr(auth, "/20261122/"), "/20261121/", 10);
    t_cli_request(h, "20261122T001511Z", auth, &v, CLI_EXEC_BODY);
    ck_assert_int_eq(spectra_sigv4_verify(&v, &a, &refusal),
                     SPECTRA_SIGV4_ERROR);
    ck_assert_str_eq(refusal.type, "InvalidSignatureException");
    ck_assert_str_eq(refusal.err.message,
                     "Date in Credential scope does not match "
                     "YYYYMMDD from ISO-8601 version of date from HTTP: "
                     "'20261121' != '20261122', from '20261122T001511Z'.");

    /* host not signed */
    t_cli_request(h, "20261122T001511Z",
                  "AWS4-HMAC-SHA256 Credential=AKIDSPECTRATEST00001/20261122/"
                  "us-east-1/redshift-data/aws4_request, SignedHeaders="
                  "content-type;x-amz-date, Signature=00", &v,
                  CLI_EXEC_BODY);
    ck_assert_int_eq(spectra_sigv4_verify(&v, &a, &refusal),
                     SPECTRA_SIGV4_ERROR);
    ck_assert_str_eq(refusal.err.message, "'Host' or ':authority' must be a "
                     "'SignedHeader' in the AWS Authorization.");

    /* malformed date */
    t_cli_request(h, "20261122T001511Z", CLI_EXEC_AUTH, &v, CLI_EXEC_BODY);
    h[5].value.data = (u_char *) "2026-11-22T00:15:11Z";
    h[5].value.len = 20;
    ck_assert_int_eq(spectra_sigv4_verify(&v, &a, &refusal),
                     SPECTRA_SIGV4_ERROR);
    ck_assert_int_eq(refusal.status, 400);
    ck_assert_str_eq(refusal.type, "IncompleteSignatureException");

    /* a truncated signature never matches */
    strcpy(auth, CLI_EXEC_AUTH);
    auth[strlen(auth) - 1] = '\0';
    t_cli_request(h, "20261122T001511Z", auth, &v, CLI_EXEC_BODY);
    ck_assert_int_eq(spectra_sigv4_verify(&v, &a, &refusal),
                     SPECTRA_SIGV4_ERROR);
    ck_assert_str_eq(refusal.err.message, mismatch);

    /* no error message ever carries the signature */
    ck_assert_ptr_null(strstr(refusal.err.message, "16ff1aed"));
}
END_TEST


START_TEST(test_presign_s3_example)
{
    spectra_sigv4_credentials_t  cred = {
        S("AKIAIOSFODNN7EXAMPLE"),
        S("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
        { 0, NULL }, S("us-east-1"), S("s3")
    };
    spectra_str_t                method = S("GET");
    spectra_str_t                host = S("examplebucket.s3.amazonaws.com");
    spectra_str_t                path = S("/test.txt");
    u_char                       out[1024];
    size_t                       len;
    static const char            expect[] =
        "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential="
        "AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request"
        "&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400"
        "&X-Amz-SignedHeaders=host&X-Amz-Signature="
        "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404";

    ck_assert_int_eq(spectra_sigv4_presign(&method, &host, &path, 1,
                                           t_date("20130524T000000Z"), 86400,
                                           &cred, out, sizeof(out), &len),
                     SPECTRA_SIGV4_OK);
    ck_assert_str_eq((char *) out, expect);
    ck_assert_uint_eq(len, sizeof(expect) - 1);

    ck_assert_int_eq(spectra_sigv4_presign(&method, &host, &path, 1,
                                           t_date("20130524T000000Z"),
                                           604801, &cred, out, sizeof(out),
                                           &len),
                     SPECTRA_SIGV4_ERROR);
    ck_assert_int_eq(spectra_sigv4_presign(&method, &host, &path, 1,
                                           t_date("20130524T000000Z"), 60,
                                           &cred, out, 64, &len),
                     SPECTRA_SIGV4_ERROR);
}
END_TEST


START_TEST(test_presign_verify)
{
    spectra_sigv4_credentials_t  cred = {
        S("AKIAIOSFODNN7EXAMPLE"),
        S("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
        { 0, NULL }, S("us-east-1"), S("s3")
    };
    spectra_str_t            method = S("GET");
    spectra_str_t            host = S("127.0.0.1:8080");
    spectra_str_t            path = S("/exports/tenant=acme/job=1/a b.csv");
    spectra_sigv4_header_t   h[] = { { S("Host"), S("127.0.0.1:8080") } };
    spectra_sigv4_verify_t   v;
    spectra_sigv4_auth_t     a;
    spectra_sigv4_refusal_t  refusal;
    u_char                   out[1024];
    char                     q[1100];
    size_t                   len;
    time_t                   now;

    now = t_date("20261122T010000Z");
    ck_assert_int_eq(spectra_sigv4_presign(&method, &host, &path, 1, now,
                                           3600, &cred, out, sizeof(out),
                                           &len),
                     SPECTRA_SIGV4_OK);

    memset(&v, 0, sizeof(v));
    v.method = method;
    v.path = path;
    v.query.data = out;
    v.query.len = len;
    v.headers = h;
    v.nheaders = 1;
    v.service.data = (u_char *) "s3";
    v.service.len = 2;
    v.s3 = 1;
    v.lookup = t_lookup;
    v.now = now + 3600;

    ck_assert_msg(spectra_sigv4_verify_presigned(&v, &a, &refusal)
                  == SPECTRA_SIGV4_OK, "%s", refusal.err.message);
    ck_assert_int_eq(a.expires, now + 3600);
    ck_assert_int_eq(memcmp(a.access_key.data, "AKIAIOSFODNN7EXAMPLE", 20),
                     0);

    /* expired one second later */
    v.now = now + 3601;
    ck_assert_int_eq(spectra_sigv4_verify_presigned(&v, &a, &refusal),
                     SPECTRA_SIGV4_ERROR);
    ck_assert_int_eq(refusal.status, 403);
    ck_assert_str_eq(refusal.type, "AccessDenied");
    ck_assert_str_eq(refusal.err.message, "Request has expired");

    /* another object with the same signature */
    v.now = now;
    v.path.data = (u_char *) "/exports/tenant=globex/job=1/a b.csv";
    v.path.len = strlen((const char *) v.path.data);
    ck_assert_int_eq(spectra_sigv4_verify_presigned(&v, &a, &refusal),
                     SPECTRA_SIGV4_ERROR);
    ck_assert_str_eq(refusal.type, "SignatureDoesNotMatch");
    v.path = path;

    /* a longer expiry written into the URL */
    strcpy(q, (char *) out);
    memcpy(strstr(q, "X-Amz-Expires=3600"), "X-Amz-Expires=7200", 18);
    v.query.data = (u_char *) q;
    v.query.len = strlen(q);
    ck_assert_int_eq(spectra_sigv4_verify_presigned(&v, &a, &refusal),
                     SPECTRA_SIGV4_ERROR);
    ck_assert_str_eq(refusal.type, "SignatureDoesNotMatch");

    /* an extra parameter is covered by the signature too */
    snprintf(q, sizeof(q), "%s&response-content-type=text/html", out);
    v.query.len = strlen(q);
    ck_assert_int_eq(spectra_sigv4_verify_presigned(&v, &a, &refusal),
                     SPECTRA_SIGV4_ERROR);
    ck_assert_str_eq(refusal.type, "SignatureDoesNotMatch");

    /* parameters may come in any order */
    {
        char  *sig = strstr((char *) out, "&X-Amz-Signature=");

        snprintf(q, sizeof(q), "%s&%.*s", sig + 1, (int) (sig - (char *) out),
                 out);
        v.query.len = strlen(q);
        ck_assert_int_eq(spectra_sigv4_verify_presigned(&v, &a, &refusal),
                         SPECTRA_SIGV4_OK);
    }

    /* missing parameter */
    strcpy(q, (char *) out);
    *strstr(q, "&X-Amz-Signature=") = '\0';
    v.query.len = strlen(q);
    ck_assert_int_eq(spectra_sigv4_verify_presigned(&v, &a, &refusal),
                     SPECTRA_SIGV4_ERROR);
    ck_assert_int_eq(refusal.status, 400);
    ck_assert_str_eq(refusal.type, "AuthorizationQueryParametersError");

    /* unknown key */
    strcpy(q, (char *) out);
    memcpy(strstr(q, "AKIAIOSFODNN7EXAMPLE"), "AKIAIOSFODNN7EXAMPLF", 20);
    v.query.len = strlen(q);
    ck_assert_int_eq(spectra_sigv4_verify_presigned(&v, &a, &refusal),
                     SPECTRA_SIGV4_ERROR);
    ck_assert_str_eq(refusal.type, "InvalidAccessKeyId");

    /* more than a week */
    strcpy(q, (char *) out);
    memcpy(strstr(q, "X-Amz-Expires=3600"), "X-Amz-Expires=9999999", 21);
    strcpy(strstr(q, "X-Amz-Expires=9999999") + 21,
           strstr((char *) out, "&X-Amz-SignedHeaders"));
    v.query.len = strlen(q);
    ck_assert_int_eq(spectra_sigv4_verify_presigned(&v, &a, &refusal),
                     SPECTRA_SIGV4_ERROR);
    ck_assert_str_eq(refusal.type, "AuthorizationQueryParametersError");

    /* signed for another host */
    v.query.data = out;
    v.query.len = len;
    h[0].value.data = (u_char *) "evil.example:8080";
    h[0].value.len = strlen((const char *) h[0].value.data);
    ck_assert_int_eq(spectra_sigv4_verify_presigned(&v, &a, &refusal),
                     SPECTRA_SIGV4_ERROR);
    ck_assert_str_eq(refusal.type, "SignatureDoesNotMatch");
}
END_TEST


START_TEST(test_helpers)
{
    u_char  hex[64], out[64], date[16];
    time_t  t;
    size_t  n;

    spectra_sigv4_sha256_hex((const u_char *) "", 0, hex);
    ck_assert_int_eq(memcmp(hex, EMPTY_SHA256, 64), 0);

    n = spectra_sigv4_uri_encode((const u_char *) "a b/c~%", 7, 1, out,
                                 sizeof(out));
    ck_assert_uint_eq(n, 11);
    ck_assert_int_eq(memcmp(out, "a%20b/c~%25", 11), 0);
    n = spectra_sigv4_uri_encode((const u_char *) "a/b", 3, 0, out,
                                 sizeof(out));
    ck_assert_uint_eq(n, 5);
    ck_assert_int_eq(memcmp(out, "a%2Fb", 5), 0);
    ck_assert_uint_eq(spectra_sigv4_uri_encode((const u_char *) "//", 2, 0,
                                               out, 5), 0);

    t = t_date("20150830T123600Z");
    ck_assert_int_eq(t, 1440938160);
    spectra_sigv4_amz_date(t, date);
    ck_assert_int_eq(memcmp(date, "20150830T123600Z", 16), 0);

    ck_assert_int_eq(spectra_sigv4_parse_amz_date(
                         (const u_char *) "20151330T123600Z", 16, &t),
                     SPECTRA_SIGV4_ERROR);
    ck_assert_int_eq(spectra_sigv4_parse_amz_date(
                         (const u_char *) "2015083OT123600Z", 16, &t),
                     SPECTRA_SIGV4_ERROR);
    ck_assert_int_eq(spectra_sigv4_parse_amz_date(
                         (const u_char *) "20150830T123600", 15, &t),
                     SPECTRA_SIGV4_ERROR);
}
END_TEST


static Suite *
sigv4_suite(void)
{
    Suite  *s;
    TCase  *tc;

    s = suite_create("sigv4");
    tc = tcase_create("core");
    tcase_add_test(tc, test_get_vanilla);
    tcase_add_test(tc, test_s3_get_object_example);
    tcase_add_test(tc, test_signing_key);
    tcase_add_test(tc, test_signing_key_memo);
    tcase_add_test(tc, test_cli_execute_statement);
    tcase_add_test(tc, test_cli_session_token);
    tcase_add_test(tc, test_verify_cli_request);
    tcase_add_test(tc, test_verify_rejects);
    tcase_add_test(tc, test_presign_s3_example);
    tcase_add_test(tc, test_presign_verify);
    tcase_add_test(tc, test_helpers);
    suite_add_tcase(s, tc);

    return s;
}


int
main(void)
{
    SRunner  *sr;
    int       failed;

    sr = srunner_create(sigv4_suite());
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);

    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
