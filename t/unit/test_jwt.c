/*
 * Unit tests of src/spectra_jwt.c and src/spectra_jwk.c: base64url, key
 * loading (HMAC, PEM, JWKS) and its refusals, and verification against
 * the vectors of t/data/auth/vectors.json (tokens minted by Crypt::JWT and
 * the hostile corpus, see t/data/auth/gen-vectors.pl).
 */

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spectra_jwt.h"
#include "spectra_jwk.h"


#ifndef SPECTRA_AUTH_DATA
#define SPECTRA_AUTH_DATA  "t/data/auth"
#endif

#define KEYS  SPECTRA_AUTH_DATA "/keys/"

#define BAD_PEM  "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"


static u_char *slurp(const char *path, size_t *len);
static int add_file(spectra_jwt_keyset_t *ks, const char *path,
    spectra_jwt_key_format_t format, const char *algs, const char *kid,
    spectra_err_t *err);
static spectra_jwt_keyset_t *fixture_keyset(void);
static int add_jwks_text(const char *text, const char *algs,
    spectra_err_t *err);
static void policy_init(spectra_jwt_policy_t *policy, json_t *vectors);
static json_t *load_vectors(void);
static const char *vector_token(json_t *vectors, const char *name);
static spectra_jwt_rc_t rc_parse(const char *name);
static spectra_jwt_rc_t verify_str(spectra_jwt_keyset_t *ks,
    spectra_jwt_policy_t *policy, const char *tok, const char **reason);
static Suite *jwt_suite(void);


static const spectra_str_t  audience = spectra_string("spectra");


static u_char *
slurp(const char *path, size_t *len)
{
    FILE    *f;
    long     n;
    u_char  *buf;

    f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s", path);

    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);

    buf = malloc(n + 1);
    ck_assert_ptr_nonnull(buf);
    ck_assert_int_eq(fread(buf, 1, n, f), (size_t) n);
    fclose(f);

    buf[n] = '\0';
    *len = n;

    return buf;
}


static int
add_file(spectra_jwt_keyset_t *ks, const char *path,
    spectra_jwt_key_format_t format, const char *algs, const char *kid,
    spectra_err_t *err)
{
    int       rc;
    size_t    len;
    u_char   *p;
    unsigned  mask;

    mask = 0;

    if (algs != NULL) {
        ck_assert_int_eq(spectra_jwt_algs_parse((const u_char *) algs,
                                                strlen(algs), &mask), 0);
    }

    p = slurp(path, &len);
    rc = spectra_jwt_keyset_add(ks, p, len, format, mask,
                                (const u_char *) kid,
                                kid ? strlen(kid) : 0, err);
    free(p);

    return rc;
}


/* The key set the vectors were minted for (see SpectraAuth.pm). */

static spectra_jwt_keyset_t *
fixture_keyset(void)
{
    spectra_err_t          err;
    spectra_jwt_keyset_t  *ks;

    ks = spectra_jwt_keyset_new();
    ck_assert_ptr_nonnull(ks);

    ck_assert_int_eq(add_file(ks, KEYS "hs.secret", SPECTRA_JWT_KEY_AUTO,
                              "HS256,HS384,HS512", "hs", &err), 0);
    ck_assert_int_eq(add_file(ks, KEYS "rsa.pub", SPECTRA_JWT_KEY_AUTO,
                              "RS256,RS384,RS512", "rs", &err), 0);
    ck_assert_int_eq(add_file(ks, KEYS "ec256.pub", SPECTRA_JWT_KEY_PEM,
                              NULL, "es256", &err), 0);
    ck_assert_int_eq(add_file(ks, KEYS "ec384.pub", SPECTRA_JWT_KEY_PEM,
                              NULL, "es384", &err), 0);
    ck_assert_int_eq(add_file(ks, KEYS "ec521.pub", SPECTRA_JWT_KEY_PEM,
                              "ES512", "es521", &err), 0);
    ck_assert_int_eq(add_file(ks, KEYS "jwks.json", SPECTRA_JWT_KEY_AUTO,
                              NULL, NULL, &err), 0);

    ck_assert_int_eq(spectra_jwt_keyset_count(ks), 7);

    return ks;
}


static void
policy_init(spectra_jwt_policy_t *policy, json_t *vectors)
{
    memset(policy, 0, sizeof(spectra_jwt_policy_t));

    policy->issuer.data = (u_char *) "https://issuer.spectra.test";
    policy->issuer.len = strlen((const char *) policy->issuer.data);
    policy->audiences = &audience;
    policy->naudiences = 1;
    policy->now = json_integer_value(json_object_get(vectors, "now"));
    policy->leeway = 0;
    policy->max_size = 8192;
}


static json_t *
load_vectors(void)
{
    json_t        *v;
    json_error_t   err;

    v = json_load_file(SPECTRA_AUTH_DATA "/vectors.json", 0, &err);
    ck_assert_msg(v != NULL, "vectors.json: %s", err.text);

    return v;
}


static spectra_jwt_rc_t
rc_parse(const char *name)
{
    static const char  *names[] = {
        "OK", "MALFORMED", "BAD_HEADER", "NO_KEY", "BAD_SIGNATURE",
        "BAD_CLAIMS", "INTERNAL", NULL
    };

    int  i;

    for (i = 0; names[i] != NULL; i++) {
        if (strcmp(names[i], name) == 0) {
            return i;
        }
    }

    ck_abort_msg("unknown rc %s", name);

    return SPECTRA_JWT_INTERNAL;
}


START_TEST(test_base64url_roundtrip)
{
    size_t  len, n, m;
    u_char  src[100], enc[140], dec[140];

    memset(src, 0, sizeof(src));

    for (len = 0; len < sizeof(src); len++) {
        for (n = 0; n < len; n++) {
            src[n] = (u_char) (n * 37 + len * 11);
        }

        n = spectra_base64url_encode(src, len, enc);
        ck_assert_uint_eq(n, (len * 4 + 2) / 3);
        ck_assert_ptr_null(memchr(enc, '=', n));

        ck_assert_int_eq(spectra_base64url_decode(enc, n, dec, &m), 0);
        ck_assert_uint_eq(m, len);
        ck_assert_int_eq(memcmp(src, dec, len), 0);
    }
}
END_TEST


START_TEST(test_base64url_known)
{
    size_t  n;
    u_char  out[16];

    ck_assert_int_eq(spectra_base64url_decode((const u_char *) "-_8", 3,
                                              out, &n), 0);
    ck_assert_uint_eq(n, 2);
    ck_assert_int_eq(out[0], 0xfb);
    ck_assert_int_eq(out[1], 0xff);

    ck_assert_int_eq(spectra_base64url_decode((const u_char *) "TWFu", 4,
                                              out, &n), 0);
    ck_assert_uint_eq(n, 3);
    ck_assert_int_eq(memcmp(out, "Man", 3), 0);

    /* a lone character, padding, the standard alphabet, stray bits */
    ck_assert_int_eq(spectra_base64url_decode((const u_char *) "TWFuT", 5,
                                              out, &n), -1);
    ck_assert_int_eq(spectra_base64url_decode((const u_char *) "TQ==", 4,
                                              out, &n), -1);
    ck_assert_int_eq(spectra_base64url_decode((const u_char *) "+/8", 3,
                                              out, &n), -1);
    ck_assert_int_eq(spectra_base64url_decode((const u_char *) "TR", 2,
                                              out, &n), -1);
    ck_assert_int_eq(spectra_base64url_decode((const u_char *) "TWF", 3,
                                              out, &n), -1);
    ck_assert_int_eq(spectra_base64url_decode((const u_char *) "TWE", 3,
                                              out, &n), 0);
    ck_assert_int_eq(spectra_base64url_decode((const u_char *) "T\0E", 3,
                                              out, &n), -1);
    ck_assert_int_eq(spectra_base64url_decode((const u_char *) "\xc3\xa9",
                                              2, out, &n), -1);
}
END_TEST


START_TEST(test_alg_parse)
{
    unsigned  algs;

    ck_assert_int_eq(spectra_jwt_alg_parse((const u_char *) "HS256", 5),
                     SPECTRA_JWT_HS256);
    ck_assert_int_eq(spectra_jwt_alg_parse((const u_char *) "ES512", 5),
                     SPECTRA_JWT_ES512);
    ck_assert_int_eq(spectra_jwt_alg_parse((const u_char *) "hs256", 5), -1);
    ck_assert_int_eq(spectra_jwt_alg_parse((const u_char *) "HS2566", 6),
                     -1);
    ck_assert_int_eq(spectra_jwt_alg_parse((const u_char *) "none", 4), -1);
    ck_assert_int_eq(spectra_jwt_alg_parse((const u_char *) "PS256", 5), -1);
    ck_assert_str_eq(spectra_jwt_alg_name(SPECTRA_JWT_RS384), "RS384");

    ck_assert_int_eq(spectra_jwt_algs_parse((const u_char *) "HS256,RS512",
                                            11, &algs), 0);
    ck_assert_uint_eq(algs, SPECTRA_JWT_ALG_BIT(SPECTRA_JWT_HS256)
                            | SPECTRA_JWT_ALG_BIT(SPECTRA_JWT_RS512));
    ck_assert_int_eq(spectra_jwt_algs_parse((const u_char *) "HS256,", 6,
                                            &algs), -1);
    ck_assert_int_eq(spectra_jwt_algs_parse((const u_char *) ",HS256", 6,
                                            &algs), -1);
    ck_assert_int_eq(spectra_jwt_algs_parse((const u_char *) "", 0, &algs),
                     -1);
}
END_TEST


START_TEST(test_keys_fixture)
{
    spectra_jwt_keyset_free(fixture_keyset());
}
END_TEST


START_TEST(test_keys_refused)
{
    spectra_err_t          err;
    spectra_jwt_keyset_t  *ks;

    ks = spectra_jwt_keyset_new();
    ck_assert_ptr_nonnull(ks);

    /* an RSA public key never becomes an HMAC secret */
    ck_assert_int_eq(add_file(ks, KEYS "rsa.pub", SPECTRA_JWT_KEY_HMAC,
                              NULL, NULL, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.message, "looks like a PEM"));

    ck_assert_int_eq(add_file(ks, KEYS "jwks.json", SPECTRA_JWT_KEY_HMAC,
                              NULL, NULL, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.message, "looks like a PEM or JWKS"));

    /* algorithms outside the key's family or curve */
    ck_assert_int_eq(add_file(ks, KEYS "rsa.pub", SPECTRA_JWT_KEY_AUTO,
                              "HS256", "x", &err), -1);
    ck_assert_ptr_nonnull(strstr(err.message, "do not fit the key"));
    ck_assert_int_eq(add_file(ks, KEYS "ec256.pub", SPECTRA_JWT_KEY_AUTO,
                              "ES384", "x", &err), -1);
    ck_assert_ptr_nonnull(strstr(err.message, "ES256"));
    ck_assert_int_eq(add_file(ks, KEYS "ec384.pub", SPECTRA_JWT_KEY_AUTO,
                              "RS256", "x", &err), -1);
    ck_assert_int_eq(add_file(ks, KEYS "hs.secret", SPECTRA_JWT_KEY_AUTO,
                              "RS256", "x", &err), -1);
    ck_assert_ptr_nonnull(strstr(err.message, "only HS256"));

    /* weak keys */
    ck_assert_int_eq(add_file(ks, KEYS "rsa1024.pub", SPECTRA_JWT_KEY_AUTO,
                              NULL, "x", &err), -1);
    ck_assert_ptr_nonnull(strstr(err.message, "1024 bits"));

    ck_assert_int_eq(spectra_jwt_keyset_add(ks, (const u_char *) "short\n",
                                            6, SPECTRA_JWT_KEY_AUTO, 0, NULL,
                                            0, &err), -1);
    ck_assert_str_eq(err.message,
                     "the HMAC secret has 5 bytes, HS256 needs at least 32");

    /* 40 bytes: enough for HS256, not for HS384 */
    ck_assert_int_eq(spectra_jwt_keyset_add(ks,
                         (const u_char *)
                         "0123456789012345678901234567890123456789", 40,
                         SPECTRA_JWT_KEY_HMAC,
                         SPECTRA_JWT_ALG_BIT(SPECTRA_JWT_HS384), NULL, 0,
                         &err), -1);
    ck_assert_str_eq(err.message,
                     "the HMAC secret has 40 bytes, HS384 needs at least 48");

    /* a private key or garbage where a public key is expected */
    ck_assert_int_eq(add_file(ks, KEYS "rsa.key", SPECTRA_JWT_KEY_AUTO,
                              NULL, "x", &err), -1);
    ck_assert_ptr_nonnull(strstr(err.message, "not a PEM public key"));
    ck_assert_int_eq(spectra_jwt_keyset_add(ks, (const u_char *) BAD_PEM,
                                            sizeof(BAD_PEM) - 1,
                                            SPECTRA_JWT_KEY_AUTO, 0, NULL, 0,
                                            &err), -1);
    ck_assert_ptr_nonnull(strstr(err.message, "not a PEM public key"));

    /* kids: duplicates, empty, on a JWKS */
    ck_assert_int_eq(add_file(ks, KEYS "hs.secret", SPECTRA_JWT_KEY_AUTO,
                              NULL, "k1", &err), 0);
    ck_assert_int_eq(add_file(ks, KEYS "rsa.pub", SPECTRA_JWT_KEY_AUTO,
                              NULL, "k1", &err), -1);
    ck_assert_str_eq(err.message, "the kid \"k1\" is used twice");
    ck_assert_int_eq(add_file(ks, KEYS "rsa.pub", SPECTRA_JWT_KEY_AUTO,
                              NULL, "", &err), -1);
    ck_assert_str_eq(err.message, "an empty kid");
    ck_assert_int_eq(add_file(ks, KEYS "jwks.json", SPECTRA_JWT_KEY_AUTO,
                              NULL, "k2", &err), -1);
    ck_assert_ptr_nonnull(strstr(err.message, "no kid="));

    ck_assert_int_eq(add_file(ks, KEYS "jwks.json", SPECTRA_JWT_KEY_JWKS,
                              NULL, NULL, &err), 0);
    ck_assert_int_eq(add_file(ks, KEYS "jwks.json", SPECTRA_JWT_KEY_JWKS,
                              NULL, NULL, &err), -1);
    ck_assert_str_eq(err.message, "the kid \"jwks-rs\" is used twice");

    ck_assert_int_eq(spectra_jwt_keyset_count(ks), 3);

    spectra_jwt_keyset_free(ks);
}
END_TEST


static int
add_jwks_text(const char *text, const char *algs, spectra_err_t *err)
{
    int                    rc;
    unsigned               mask;
    spectra_jwt_keyset_t  *ks;

    mask = 0;

    if (algs != NULL) {
        ck_assert_int_eq(spectra_jwt_algs_parse((const u_char *) algs,
                                                strlen(algs), &mask), 0);
    }

    ks = spectra_jwt_keyset_new();
    ck_assert_ptr_nonnull(ks);

    rc = spectra_jwt_keyset_add(ks, (const u_char *) text, strlen(text),
                                SPECTRA_JWT_KEY_JWKS, mask, NULL, 0, err);

    spectra_jwt_keyset_free(ks);

    return rc;
}


#define EC_X  "\"x\":\"dfyt6PRieqEBQH3mjv9OckGtJVtQlo8j7k3E-D1tsck\""
#define EC_Y  "\"y\":\"4V_N9B5cgK4w-k5B-x-5YtCgA9Xxx1ESKKQBu5ANnFs\""
#define EC_Y2 "\"y\":\"5V_N9B5cgK4w-k5B-x-5YtCgA9Xxx1ESKKQBu5ANnFs\""
#define EC_KEY  "\"kty\":\"EC\",\"crv\":\"P-256\"," EC_X "," EC_Y


START_TEST(test_jwks_refused)
{
    spectra_err_t        err;

    ck_assert_int_eq(add_jwks_text("{\"keys\":[{" EC_KEY "}]}", NULL, &err),
                     0);
    ck_assert_int_eq(add_jwks_text("{\"keys\":[{" EC_KEY
                                   ",\"alg\":\"ES256\",\"use\":\"sig\","
                                   "\"key_ops\":[\"verify\"]}]}",
                                   NULL, &err), 0);
    ck_assert_int_eq(add_jwks_text("{\"keys\":[{" EC_KEY "}]}", "ES256",
                                   &err), 0);

    ck_assert_int_eq(add_jwks_text("{\"keys\":[{" EC_KEY "}]}", "ES384",
                                   &err), -1);
    ck_assert_int_eq(add_jwks_text("{\"keys\":[{" EC_KEY
                                   ",\"alg\":\"ES384\"}]}", NULL, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.message, "\"alg\" is not a supported"));
    ck_assert_int_eq(add_jwks_text("{\"keys\":[{" EC_KEY
                                   ",\"alg\":\"HS256\"}]}", NULL, &err), -1);
    ck_assert_int_eq(add_jwks_text("{\"keys\":[{" EC_KEY
                                   ",\"alg\":\"ES256\"}]}", "HS256", &err),
                     -1);
    ck_assert_ptr_nonnull(strstr(err.message, "not among the algorithms"));
    ck_assert_int_eq(add_jwks_text("{\"keys\":[{" EC_KEY ",\"d\":\"AAAA\"}]}",
                                   NULL, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.message, "private member \"d\""));
    ck_assert_int_eq(add_jwks_text("{\"keys\":[{" EC_KEY
                                   ",\"use\":\"enc\"}]}", NULL, &err), -1);
    ck_assert_str_eq(err.message, "a JWK's \"use\" is not \"sig\"");
    ck_assert_int_eq(add_jwks_text("{\"keys\":[{" EC_KEY
                                   ",\"key_ops\":[\"sign\"]}]}", NULL, &err),
                     -1);
    ck_assert_int_eq(add_jwks_text("{\"keys\":[{" EC_KEY "},{" EC_KEY
                                   "}]}", NULL, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.message, "needs a \"kid\""));
    ck_assert_int_eq(add_jwks_text("{\"keys\":[{" EC_KEY ",\"kid\":\"a\"},{"
                                   EC_KEY ",\"kid\":\"a\"}]}", NULL, &err),
                     -1);
    ck_assert_int_eq(add_jwks_text("{\"keys\":[{" EC_KEY ",\"kid\":\"a\"},{"
                                   EC_KEY ",\"kid\":\"b\"}]}", NULL, &err),
                     0);
    ck_assert_int_eq(add_jwks_text("{\"keys\":[{" EC_KEY ",\"kid\":7}]}",
                                   NULL, &err), -1);

    /* a point off the curve, a short coordinate, an unknown curve */
    ck_assert_int_eq(add_jwks_text("{\"keys\":[{\"kty\":\"EC\",\"crv\":"
                                   "\"P-256\"," EC_X "," EC_Y2 "}]}", NULL,
                                   &err), -1);
    ck_assert_str_eq(err.message, "a JWK is not a valid EC public key");
    ck_assert_int_eq(add_jwks_text("{\"keys\":[{\"kty\":\"EC\",\"crv\":"
                                   "\"P-384\"," EC_X "," EC_Y "}]}", NULL,
                                   &err), -1);
    ck_assert_ptr_nonnull(strstr(err.message, "not 48 bytes"));
    ck_assert_int_eq(add_jwks_text("{\"keys\":[{\"kty\":\"EC\",\"crv\":"
                                   "\"secp256k1\"," EC_X "," EC_Y "}]}",
                                   NULL, &err), -1);
    ck_assert_int_eq(add_jwks_text("{\"keys\":[{\"kty\":\"EC\",\"crv\":"
                                   "\"P-256\",\"x\":\"a+b\"," EC_Y "}]}",
                                   NULL, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.message, "\"x\" is not valid"));

    ck_assert_int_eq(add_jwks_text("{\"keys\":[{\"kty\":\"RSA\",\"n\":"
                                   "\"AQAB\",\"e\":\"AQAB\"}]}", NULL, &err),
                     -1);
    ck_assert_ptr_nonnull(strstr(err.message, "less than 2048 bits"));
    ck_assert_int_eq(add_jwks_text("{\"keys\":[{\"kty\":\"oct\","
                                   "\"k\":\"AAAA\"}]}", NULL, &err), -1);
    ck_assert_int_eq(add_jwks_text("{\"keys\":[{\"kty\":\"OKP\"}]}", NULL,
                                   &err), -1);
    ck_assert_ptr_nonnull(strstr(err.message, "unsupported \"kty\""));
    ck_assert_int_eq(add_jwks_text("{\"keys\":[{\"crv\":\"P-256\"}]}", NULL,
                                   &err), -1);
    ck_assert_int_eq(add_jwks_text("{\"keys\":[7]}", NULL, &err), -1);
    ck_assert_int_eq(add_jwks_text("{\"keys\":[]}", NULL, &err), -1);
    ck_assert_int_eq(add_jwks_text("{\"keys\":{}}", NULL, &err), -1);
    ck_assert_int_eq(add_jwks_text("{\"keys\":[", NULL, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.message, "not valid JSON"));
    ck_assert_int_eq(err.code, -1);
    ck_assert_uint_eq(err.position, 9);     /* the end of the text */
}
END_TEST


START_TEST(test_verify_valid)
{
    size_t                 i;
    json_t                *vectors, *v;
    const char            *name, *tok, *reason;
    spectra_jwt_rc_t       rc;
    spectra_jwt_token_t    token;
    spectra_jwt_policy_t   policy;
    spectra_jwt_keyset_t  *ks;

    vectors = load_vectors();
    ks = fixture_keyset();
    policy_init(&policy, vectors);

    json_array_foreach(json_object_get(vectors, "valid"), i, v) {
        name = json_string_value(json_object_get(v, "name"));
        tok = json_string_value(json_object_get(v, "token"));

        rc = spectra_jwt_verify(ks, &policy, (const u_char *) tok,
                                strlen(tok), &token, &reason);

        ck_assert_msg(rc == SPECTRA_JWT_OK, "%s: %d %s", name, rc, reason);
        ck_assert_str_eq(json_string_value(json_object_get(token.payload,
                                                           "tenant_id")),
                         "acme");
        if (name[2] >= '0' && name[2] <= '9') {
            ck_assert_int_eq(memcmp(spectra_jwt_alg_name(token.alg), name,
                                    5), 0);
        }

        json_decref(token.payload);
    }

    ck_assert_uint_eq(i, 15);

    spectra_jwt_keyset_free(ks);
    json_decref(vectors);
}
END_TEST


START_TEST(test_verify_hostile)
{
    size_t                 i;
    json_t                *vectors, *v;
    const char            *name, *tok, *reason, *want;
    spectra_jwt_rc_t       rc;
    spectra_jwt_token_t    token;
    spectra_jwt_policy_t   policy;
    spectra_jwt_keyset_t  *ks;

    vectors = load_vectors();
    ks = fixture_keyset();
    policy_init(&policy, vectors);

    json_array_foreach(json_object_get(vectors, "hostile"), i, v) {
        name = json_string_value(json_object_get(v, "name"));
        tok = json_string_value(json_object_get(v, "token"));
        want = json_string_value(json_object_get(v, "reason"));

        rc = spectra_jwt_verify(ks, &policy, (const u_char *) tok,
                                strlen(tok), &token, &reason);

        ck_assert_msg(rc == rc_parse(json_string_value(
                                         json_object_get(v, "rc"))),
                      "%s: rc %d (%s)", name, rc, reason);
        ck_assert_msg(strcmp(reason, want) == 0, "%s: reason \"%s\", "
                      "expected \"%s\"", name, reason, want);
        ck_assert_ptr_null(token.payload);
    }

    ck_assert_uint_ge(i, 60);

    spectra_jwt_keyset_free(ks);
    json_decref(vectors);
}
END_TEST


/* Finds a hostile vector by name. */

static const char *
vector_token(json_t *vectors, const char *name)
{
    size_t   i;
    json_t  *v;

    json_array_foreach(json_object_get(vectors, "hostile"), i, v) {
        if (strcmp(json_string_value(json_object_get(v, "name")), name)
            == 0)
        {
            return json_string_value(json_object_get(v, "token"));
        }
    }

    ck_abort_msg("no vector %s", name);

    return NULL;
}


START_TEST(test_verify_policy)
{
    json_t                *vectors;
    const char            *tok, *reason;
    spectra_jwt_token_t    token;
    spectra_jwt_policy_t   policy;
    spectra_jwt_keyset_t  *ks;

    vectors = load_vectors();
    ks = fixture_keyset();
    policy_init(&policy, vectors);

    /* leeway: expired one second ago passes with 5 s of leeway */
    tok = vector_token(vectors, "expired");
    policy.leeway = 5;
    ck_assert_int_eq(spectra_jwt_verify(ks, &policy, (const u_char *) tok,
                                        strlen(tok), &token, &reason),
                     SPECTRA_JWT_OK);
    json_decref(token.payload);

    tok = vector_token(vectors, "nbf in the future");
    ck_assert_int_eq(spectra_jwt_verify(ks, &policy, (const u_char *) tok,
                                        strlen(tok), &token, &reason),
                     SPECTRA_JWT_BAD_CLAIMS);
    policy.leeway = 600;
    ck_assert_int_eq(spectra_jwt_verify(ks, &policy, (const u_char *) tok,
                                        strlen(tok), &token, &reason),
                     SPECTRA_JWT_OK);
    json_decref(token.payload);
    policy.leeway = 0;

    /* iss and aud are checked only when configured */
    tok = vector_token(vectors, "wrong iss");
    policy.issuer.data = NULL;
    ck_assert_int_eq(spectra_jwt_verify(ks, &policy, (const u_char *) tok,
                                        strlen(tok), &token, &reason),
                     SPECTRA_JWT_OK);
    json_decref(token.payload);

    tok = vector_token(vectors, "missing aud");
    policy.naudiences = 0;
    ck_assert_int_eq(spectra_jwt_verify(ks, &policy, (const u_char *) tok,
                                        strlen(tok), &token, &reason),
                     SPECTRA_JWT_OK);
    json_decref(token.payload);

    /* the size limit is the policy's */
    tok = vector_token(vectors, "oversized token");
    policy.max_size = 16384;
    ck_assert_int_eq(spectra_jwt_verify(ks, &policy, (const u_char *) tok,
                                        strlen(tok), &token, &reason),
                     SPECTRA_JWT_OK);
    json_decref(token.payload);
    policy.max_size = strlen(tok) - 1;
    ck_assert_int_eq(spectra_jwt_verify(ks, &policy, (const u_char *) tok,
                                        strlen(tok), &token, &reason),
                     SPECTRA_JWT_MALFORMED);
    ck_assert_str_eq(reason, "token too large");

    /* a time long after every exp */
    tok = vector_token(vectors, "exp as a boolean");
    policy.max_size = 8192;
    ck_assert_int_eq(spectra_jwt_verify(ks, &policy, (const u_char *) tok,
                                        strlen(tok), &token, &reason),
                     SPECTRA_JWT_BAD_CLAIMS);
    ck_assert_str_eq(reason, "exp not numeric");

    spectra_jwt_keyset_free(ks);
    json_decref(vectors);
}
END_TEST


/*
 * A header seen before (the per-thread memo of the last header that passed
 * its checks) changes no answer: every hostile vector gives its rc and
 * reason after a valid token primed the memo, and again right after itself;
 * a known header still needs the right signature, a signature at all, and
 * a payload that is base64url and an object; one byte more in a known
 * header is a header of its own.
 */

static spectra_jwt_rc_t
verify_str(spectra_jwt_keyset_t *ks, spectra_jwt_policy_t *policy,
    const char *tok, const char **reason)
{
    spectra_jwt_rc_t     rc;
    spectra_jwt_token_t  token;

    rc = spectra_jwt_verify(ks, policy, (const u_char *) tok, strlen(tok),
                            &token, reason);
    if (rc == SPECTRA_JWT_OK) {
        json_decref(token.payload);

    } else {
        ck_assert_ptr_null(token.payload);
    }

    return rc;
}


START_TEST(test_verify_header_memo)
{
    int                    round;
    size_t                 i, n;
    char                   buf[8192], *dot;
    json_t                *vectors, *v;
    const char            *name, *tok, *valid, *reason, *want;
    spectra_jwt_rc_t       rc, expect;
    spectra_jwt_policy_t   policy;
    spectra_jwt_keyset_t  *ks;

    vectors = load_vectors();
    ks = fixture_keyset();
    policy_init(&policy, vectors);

    valid = json_string_value(json_object_get(
                json_array_get(json_object_get(vectors, "valid"), 0),
                "token"));
    ck_assert_ptr_nonnull(valid);

    json_array_foreach(json_object_get(vectors, "hostile"), i, v) {
        name = json_string_value(json_object_get(v, "name"));
        tok = json_string_value(json_object_get(v, "token"));
        want = json_string_value(json_object_get(v, "reason"));
        expect = rc_parse(json_string_value(json_object_get(v, "rc")));

        ck_assert_int_eq(verify_str(ks, &policy, valid, &reason),
                         SPECTRA_JWT_OK);

        for (round = 0; round < 2; round++) {
            rc = verify_str(ks, &policy, tok, &reason);
            ck_assert_msg(rc == expect && strcmp(reason, want) == 0,
                          "%s (round %d): rc %d (%s), expected \"%s\"",
                          name, round, rc, reason, want);
        }
    }

    ck_assert_uint_ge(i, 60);

    /* the valid token's header with a tampered payload or signature */
    n = strlen(valid);
    ck_assert_uint_lt(n + 2, sizeof(buf));

    for (round = 0; round < 2; round++) {
        ck_assert_int_eq(verify_str(ks, &policy, valid, &reason),
                         SPECTRA_JWT_OK);
        ck_assert_int_eq(verify_str(ks, &policy, valid, &reason),
                         SPECTRA_JWT_OK);

        memcpy(buf, valid, n + 1);
        dot = strchr(buf, '.');
        dot[1] = (dot[1] == 'A') ? 'B' : 'A';
        rc = verify_str(ks, &policy, buf, &reason);
        ck_assert_msg(rc == SPECTRA_JWT_BAD_SIGNATURE
                      || rc == SPECTRA_JWT_MALFORMED,
                      "tampered payload: rc %d (%s)", rc, reason);

        memcpy(buf, valid, n + 1);
        buf[n - 2] = (buf[n - 2] == 'A') ? 'B' : 'A';
        ck_assert_int_eq(verify_str(ks, &policy, buf, &reason),
                         SPECTRA_JWT_BAD_SIGNATURE);
        ck_assert_str_eq(reason, "bad signature");

        memcpy(buf, valid, n + 1);
        *(strrchr(buf, '.') + 1) = '\0';
        ck_assert_int_eq(verify_str(ks, &policy, buf, &reason),
                         SPECTRA_JWT_MALFORMED);
        ck_assert_str_eq(reason, "missing signature");

        memcpy(buf, valid, n + 1);
        dot = strchr(buf, '.');
        memcpy(dot + 1, "!!!!", 4);
        ck_assert_int_eq(verify_str(ks, &policy, buf, &reason),
                         SPECTRA_JWT_MALFORMED);
        ck_assert_str_eq(reason, "payload not base64url");

        /* "e30" is {}: an object without exp, signature checked first */
        memcpy(buf, valid, n + 1);
        dot = strchr(buf, '.');
        memmove(dot + 4, strchr(dot + 1, '.'), strlen(strchr(dot + 1, '.'))
                                               + 1);
        memcpy(dot + 1, "e30", 3);
        ck_assert_int_eq(verify_str(ks, &policy, buf, &reason),
                         SPECTRA_JWT_BAD_SIGNATURE);

        /* one more byte in the header: not the remembered header */
        memcpy(buf + 1, valid, n + 1);
        buf[0] = 'e';
        rc = verify_str(ks, &policy, buf, &reason);
        ck_assert_int_eq(rc, SPECTRA_JWT_MALFORMED);
    }

    spectra_jwt_keyset_free(ks);
    json_decref(vectors);
}
END_TEST


START_TEST(test_verify_empty_keyset)
{
    json_t                *vectors, *v;
    const char            *tok, *reason;
    spectra_jwt_token_t    token;
    spectra_jwt_policy_t   policy;
    spectra_jwt_keyset_t  *ks;

    vectors = load_vectors();
    ks = spectra_jwt_keyset_new();
    policy_init(&policy, vectors);

    v = json_array_get(json_object_get(vectors, "valid"), 0);
    tok = json_string_value(json_object_get(v, "token"));

    ck_assert_int_eq(spectra_jwt_verify(ks, &policy, (const u_char *) tok,
                                        strlen(tok), &token, &reason),
                     SPECTRA_JWT_NO_KEY);
    ck_assert_str_eq(reason, "unknown kid");

    spectra_jwt_keyset_free(ks);
    json_decref(vectors);
}
END_TEST


static Suite *
jwt_suite(void)
{
    TCase  *tc;
    Suite  *s;

    s = suite_create("jwt");
    tc = tcase_create("core");
    tcase_set_timeout(tc, 30);

    tcase_add_test(tc, test_base64url_roundtrip);
    tcase_add_test(tc, test_base64url_known);
    tcase_add_test(tc, test_alg_parse);
    tcase_add_test(tc, test_keys_fixture);
    tcase_add_test(tc, test_keys_refused);
    tcase_add_test(tc, test_jwks_refused);
    tcase_add_test(tc, test_verify_valid);
    tcase_add_test(tc, test_verify_hostile);
    tcase_add_test(tc, test_verify_policy);
    tcase_add_test(tc, test_verify_empty_keyset);
    tcase_add_test(tc, test_verify_header_memo);

    suite_add_tcase(s, tc);

    return s;
}


int
main(void)
{
    int       failed;
    SRunner  *sr;

    sr = srunner_create(jwt_suite());
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);

    return failed == 0 ? 0 : 1;
}
