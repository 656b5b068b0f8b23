/*
 * Unit tests of src/spectra_s3.c and of presigned-URL verification: every
 * URL of t/data/sigv4/presign-vectors.json, made by Debian's botocore
 * (t/data/sigv4/gen-presign-vectors.py), must come out of
 * spectra_s3_presign_url() byte for byte, and verify - as the awscrt
 * signer's ordering of the same URL must; the generator is run again and
 * its output must equal the committed vectors.  Then endpoints, bucket
 * names, session tokens, regions and tampering, one refusal at a time.
 */

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "spectra_s3.h"


#define S(lit)  spectra_string(lit)

#define VECTORS    "t/data/sigv4/presign-vectors.json"
#define GENERATOR  "/usr/bin/python3 t/data/sigv4/gen-presign-vectors.py -"

#define AKID    "AKIDSPECTRAS3TEST001"
#define SECRET  "spectraS3Secret/Key+0123456789abcdefghijk"
#define TOKEN   "IQoJb3JpZ2luX2VjEXAMPLE/token+with=signs"


typedef struct {
    const char  *secret;
    const char  *token;
} t_key_t;


static u_char *t_slurp(FILE *f, size_t *len);
static time_t t_date(const char *s);
static const char *t_str(json_t *v, const char *name);
static size_t t_decode(const char *p, size_t len, u_char *dst);
static int t_lookup(void *data, const u_char *key, size_t len,
    spectra_str_t *secret);
static int t_token(void *data, const u_char *key, size_t len,
    spectra_str_t *token);
static int t_verify(const char *url, const char *method, time_t now,
    const char *region, t_key_t *key, spectra_sigv4_refusal_t *refusal);
static void t_presign(const char *endpoint, unsigned path_style,
    const char *bucket, const char *key, const char *token, time_t now,
    unsigned expires, char *url, size_t size);
static Suite *presign_suite(void);


static u_char *
t_slurp(FILE *f, size_t *len)
{
    u_char  *buf;
    size_t   n, cap;

    cap = 65536;
    n = 0;
    buf = malloc(cap);
    ck_assert_ptr_nonnull(buf);

    for ( ;; ) {
        size_t  got;

        if (n == cap) {
            cap *= 2;
            buf = realloc(buf, cap);
            ck_assert_ptr_nonnull(buf);
        }

        got = fread(buf + n, 1, cap - n, f);
        if (got == 0) {
            break;
        }

        n += got;
    }

    *len = n;

    return buf;
}


static time_t
t_date(const char *s)
{
    time_t  t;

    ck_assert_int_eq(spectra_sigv4_parse_amz_date((const u_char *) s,
                                                  strlen(s), &t),
                     SPECTRA_SIGV4_OK);
    return t;
}


static const char *
t_str(json_t *v, const char *name)
{
    json_t  *s;

    s = json_object_get(v, name);

    return json_is_string(s) ? json_string_value(s) : NULL;
}


static size_t
t_decode(const char *p, size_t len, u_char *dst)
{
    size_t        i, n;
    unsigned int  c;

    n = 0;

    for (i = 0; i < len; i++) {
        if (p[i] == '%' && i + 2 < len && sscanf(p + i + 1, "%2x", &c) == 1)
        {
            dst[n++] = (u_char) c;
            i += 2;
            continue;
        }

        dst[n++] = (u_char) p[i];
    }

    return n;
}


static int
t_lookup(void *data, const u_char *key, size_t len, spectra_str_t *secret)
{
    t_key_t  *k = data;

    if (len != sizeof(AKID) - 1 && len != 20) {
        return SPECTRA_SIGV4_ERROR;
    }

    if (memcmp(key, AKID, len) != 0
        && memcmp(key, "AKIAIOSFODNN7EXAMPLE", len) != 0)
    {
        return SPECTRA_SIGV4_ERROR;
    }

    secret->data = (u_char *) k->secret;
    secret->len = strlen(k->secret);

    return SPECTRA_SIGV4_OK;
}


static int
t_token(void *data, const u_char *key, size_t len, spectra_str_t *token)
{
    t_key_t  *k = data;

    token->data = (u_char *) k->token;
    token->len = k->token != NULL ? strlen(k->token) : 0;

    return SPECTRA_SIGV4_OK;
}


/* Verifies url as the local store would: Host from the URL, decoded path. */

static int
t_verify(const char *url, const char *method, time_t now, const char *region,
    t_key_t *key, spectra_sigv4_refusal_t *refusal)
{
    const char               *authority, *path, *query;
    u_char                    decoded[4096], host[512];
    size_t                    hlen;
    spectra_sigv4_header_t    h;
    spectra_sigv4_verify_t    v;
    spectra_sigv4_auth_t      a;

    authority = strstr(url, "://");
    ck_assert_ptr_nonnull(authority);
    authority += 3;
    path = strchr(authority, '/');
    query = strchr(url, '?');
    ck_assert_ptr_nonnull(path);
    ck_assert_ptr_nonnull(query);

    hlen = (size_t) (path - authority);
    memcpy(host, authority, hlen);

    /* clients send Host without the scheme's default port */
    if ((strncmp(url, "https:", 6) == 0 && hlen > 4
         && memcmp(host + hlen - 4, ":443", 4) == 0)
        || (strncmp(url, "http:", 5) == 0 && hlen > 3
            && memcmp(host + hlen - 3, ":80", 3) == 0))
    {
        hlen = (size_t) ((u_char *) memrchr(host, ':', hlen) - host);
    }

    h.name.data = (u_char *) "Host";
    h.name.len = 4;
    h.value.data = host;
    h.value.len = hlen;

    memset(&v, 0, sizeof(v));
    v.method.data = (u_char *) method;
    v.method.len = strlen(method);
    v.path.data = decoded;
    v.path.len = t_decode(path, (size_t) (query - path), decoded);
    v.query.data = (u_char *) query + 1;
    v.query.len = strlen(query + 1);
    v.headers = &h;
    v.nheaders = 1;
    v.service.data = (u_char *) "s3";
    v.service.len = 2;
    v.region.data = (u_char *) region;
    v.region.len = region != NULL ? strlen(region) : 0;
    v.now = now;
    v.s3 = 1;
    v.lookup = t_lookup;
    v.token = t_token;
    v.lookup_data = key;

    return spectra_sigv4_verify_presigned(&v, &a, refusal);
}


static void
t_presign(const char *endpoint, unsigned path_style, const char *bucket,
    const char *key, const char *token, time_t now, unsigned expires,
    char *url, size_t size)
{
    spectra_err_t                 err;
    spectra_s3_endpoint_t         ep;
    spectra_s3_object_t           obj;
    spectra_sigv4_credentials_t   cred = {
        S(AKID), S(SECRET), { 0, NULL }, S("us-east-1"), S("s3")
    };
    size_t                        len;

    if (token != NULL) {
        cred.session_token.data = (u_char *) token;
        cred.session_token.len = strlen(token);
    }

    ck_assert_int_eq(spectra_s3_endpoint_parse((const u_char *) endpoint,
                                               strlen(endpoint), &ep, &err),
                     SPECTRA_S3_OK);

    obj.method = (spectra_str_t) S("GET");
    obj.bucket.data = (u_char *) bucket;
    obj.bucket.len = strlen(bucket);
    obj.key.data = (u_char *) key;
    obj.key.len = strlen(key);
    obj.path_style = path_style;
    obj.now = now;
    obj.expires = expires;

    ck_assert_msg(spectra_s3_presign_url(&ep, &obj, &cred, (u_char *) url,
                                         size, &len, &err)
                  == SPECTRA_S3_OK, "%s", err.message);
    ck_assert_uint_eq(strlen(url), len);
}


START_TEST(test_botocore_vectors)
{
    json_t                       *doc, *vectors, *v;
    json_error_t                  jerr;
    size_t                        i, len;
    u_char                        url[8192];
    spectra_err_t                 err;
    spectra_s3_endpoint_t         ep;
    spectra_s3_object_t           obj;
    spectra_sigv4_credentials_t   cred;
    spectra_sigv4_refusal_t       refusal;
    t_key_t                       key;
    time_t                        now;
    const char                   *token, *endpoint;

    doc = json_load_file(VECTORS, 0, &jerr);
    ck_assert_msg(doc != NULL, "%s: %s", VECTORS, jerr.text);

    vectors = json_object_get(doc, "vectors");
    ck_assert_uint_ge(json_array_size(vectors), 60);

    json_array_foreach(vectors, i, v) {
        endpoint = t_str(v, "endpoint");
        token = t_str(v, "session_token");
        now = t_date(t_str(v, "now"));

        ck_assert_int_eq(spectra_s3_endpoint_parse((const u_char *) endpoint,
                                                   strlen(endpoint), &ep,
                                                   &err),
                         SPECTRA_S3_OK);

        memset(&cred, 0, sizeof(cred));
        cred.access_key.data = (u_char *) t_str(v, "access_key");
        cred.access_key.len = strlen((char *) cred.access_key.data);
        cred.secret_key.data = (u_char *) t_str(v, "secret_key");
        cred.secret_key.len = strlen((char *) cred.secret_key.data);
        cred.region.data = (u_char *) t_str(v, "region");
        cred.region.len = strlen((char *) cred.region.data);

        if (token != NULL) {
            cred.session_token.data = (u_char *) token;
            cred.session_token.len = strlen(token);
        }

        obj.method.data = (u_char *) t_str(v, "method");
        obj.method.len = strlen((char *) obj.method.data);
        obj.bucket.data = (u_char *) t_str(v, "bucket");
        obj.bucket.len = strlen((char *) obj.bucket.data);
        obj.key.data = (u_char *) t_str(v, "key");
        obj.key.len = strlen((char *) obj.key.data);
        obj.path_style = json_is_true(json_object_get(v, "path_style"));
        obj.now = now;
        obj.expires = (unsigned)
                      json_integer_value(json_object_get(v, "expires"));

        ck_assert_msg(spectra_s3_presign_url(&ep, &obj, &cred, url,
                                             sizeof(url), &len, &err)
                      == SPECTRA_S3_OK, "%s: %s", t_str(v, "name"),
                      err.message);
        ck_assert_msg(strcmp((char *) url, t_str(v, "url")) == 0,
                      "%s:\n  ours     %s\n  botocore %s", t_str(v, "name"),
                      url, t_str(v, "url"));
        ck_assert_uint_eq(len, strlen(t_str(v, "url")));
        ck_assert_uint_lt(len, spectra_s3_presign_size(&ep, &obj, &cred));

        /* botocore's URL, and awscrt's, verify until they expire */

        key.secret = t_str(v, "secret_key");
        key.token = token;

        ck_assert_msg(t_verify(t_str(v, "url"), t_str(v, "method"),
                               now + obj.expires, t_str(v, "region"), &key,
                               &refusal)
                      == SPECTRA_SIGV4_OK, "%s: %s", t_str(v, "name"),
                      refusal.err.message);
        ck_assert_msg(t_verify(t_str(v, "crt_url"), t_str(v, "method"), now,
                               t_str(v, "region"), &key, &refusal)
                      == SPECTRA_SIGV4_OK, "%s (crt): %s", t_str(v, "name"),
                      refusal.err.message);

        ck_assert_int_eq(t_verify(t_str(v, "url"), t_str(v, "method"),
                                  now + obj.expires + 1, t_str(v, "region"),
                                  &key, &refusal),
                         SPECTRA_SIGV4_ERROR);
        ck_assert_str_eq(refusal.err.message, "Request has expired");

        /* another method: HEAD on a GET URL is S3's 403 too */
        ck_assert_int_eq(t_verify(t_str(v, "url"),
                                  strcmp(t_str(v, "method"), "GET") == 0
                                  ? "HEAD" : "GET", now, t_str(v, "region"),
                                  &key, &refusal),
                         SPECTRA_SIGV4_ERROR);
        ck_assert_str_eq(refusal.type, "SignatureDoesNotMatch");
        ck_assert_int_eq(refusal.status, 403);
    }

    json_decref(doc);
}
END_TEST


START_TEST(test_vectors_are_botocore_s)
{
    FILE    *f, *p;
    u_char  *committed, *fresh;
    size_t   clen, flen;
    int      status;

    f = fopen(VECTORS, "rb");
    ck_assert_msg(f != NULL, "cannot open %s", VECTORS);
    committed = t_slurp(f, &clen);
    fclose(f);

    p = popen(GENERATOR, "r");
    ck_assert_ptr_nonnull(p);
    fresh = t_slurp(p, &flen);
    status = pclose(p);

    ck_assert_msg(status == 0, "%s failed (status %d): python3-botocore and "
                  "python3-awscrt are needed (scripts/deps.sh)", GENERATOR,
                  status);
    ck_assert_msg(clen == flen && memcmp(committed, fresh, clen) == 0,
                  "%s differs from what botocore makes now: run "
                  "/usr/bin/python3 t/data/sigv4/gen-presign-vectors.py "
                  "and look at git diff", VECTORS);

    free(committed);
    free(fresh);
}
END_TEST


START_TEST(test_endpoints)
{
    spectra_s3_endpoint_t  ep;
    spectra_err_t          err;
    size_t                 i;

    static const struct {
        const char  *url;
        const char  *authority;
        const char  *host;
        const char  *base;
        unsigned     ip;
    } good[] = {
        { "http://127.0.0.1:31402", "127.0.0.1:31402", "127.0.0.1:31402",
          "", 1 },
        { "https://s3.eu-west-1.amazonaws.com",
          "s3.eu-west-1.amazonaws.com", "s3.eu-west-1.amazonaws.com", "",
          0 },
        { "https://s3.amazonaws.com:443/", "s3.amazonaws.com:443",
          "s3.amazonaws.com", "", 0 },
        { "http://localhost:80//", "localhost:80", "localhost", "", 0 },
        { "http://localhost:443", "localhost:443", "localhost:443", "", 0 },
        { "https://minio.example.com:9000/base/s3/",
          "minio.example.com:9000", "minio.example.com:9000", "/base/s3",
          0 },
        { "http://[::1]:9000", "[::1]:9000", "[::1]:9000", "", 1 },
        { "http://[::1]", "[::1]", "[::1]", "", 1 },
    };

    static const struct {
        const char  *url;
        const char  *message;
    } bad[] = {
        { "ftp://example.com", "must start with http:// or https://" },
        { "HTTP://example.com", "must start with http:// or https://" },
        { "http://", "must start with http:// or https://" },
        { "http:///x", "no valid host name" },
        { "http://-x.com", "no valid host name" },
        { "http://user:pw@example.com", "only a host and a port" },
        { "http://example.com:", "only a host and a port" },
        { "http://example.com:0", "invalid port" },
        { "http://example.com:65536", "invalid port" },
        { "http://example.com:99999999999999999999", "invalid port" },
        { "http://example.com:8x", "invalid port" },
        { "http://[::1", "malformed IPv6" },
        { "http://[]:80", "malformed IPv6" },
        { "http://[::g]", "malformed IPv6" },
        { "http://example.com/a?b=c", "no query or fragment" },
        { "http://example.com/a#b", "no query or fragment" },
        { "http://example.com/a%20b", "no query or fragment" },
        { "http://exa mple.com", "only a host and a port" },
    };

    for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        ck_assert_msg(spectra_s3_endpoint_parse((const u_char *) good[i].url,
                                                strlen(good[i].url), &ep,
                                                &err)
                      == SPECTRA_S3_OK, "%s: %s", good[i].url, err.message);
        ck_assert_uint_eq(ep.authority.len, strlen(good[i].authority));
        ck_assert_int_eq(memcmp(ep.authority.data, good[i].authority,
                                ep.authority.len), 0);
        ck_assert_uint_eq(ep.host.len, strlen(good[i].host));
        ck_assert_int_eq(memcmp(ep.host.data, good[i].host, ep.host.len), 0);
        ck_assert_uint_eq(ep.base.len, strlen(good[i].base));
        ck_assert_int_eq(memcmp(ep.base.data, good[i].base, ep.base.len), 0);
        ck_assert_uint_eq(ep.ip, good[i].ip);
    }

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ck_assert_msg(spectra_s3_endpoint_parse((const u_char *) bad[i].url,
                                                strlen(bad[i].url), &ep,
                                                &err)
                      == SPECTRA_S3_ERROR, "%s was accepted", bad[i].url);
        ck_assert_msg(strstr(err.message, bad[i].message) != NULL,
                      "%s: \"%s\" does not say \"%s\"", bad[i].url,
                      err.message, bad[i].message);
    }
}
END_TEST


START_TEST(test_buckets_and_keys)
{
    spectra_s3_endpoint_t         ip, https, http;
    spectra_s3_object_t           obj;
    spectra_sigv4_credentials_t   cred = {
        S(AKID), S(SECRET), { 0, NULL }, S("us-east-1"), S("s3")
    };
    spectra_err_t                 err;
    u_char                        url[4096], key[SPECTRA_S3_KEY_MAX + 2];
    size_t                        len, i;

    static const char  *bad[] = {
        "ab", "Spectra", "a_b", "-abc", "abc-", ".abc", "abc.", "a..b",
        "0123456789012345678901234567890123456789012345678901234567890123",
    };

    ck_assert_int_eq(spectra_s3_endpoint_parse(
                         (const u_char *) "http://127.0.0.1:9000", 21, &ip,
                         &err), SPECTRA_S3_OK);
    ck_assert_int_eq(spectra_s3_endpoint_parse(
                         (const u_char *) "https://s3.example.com", 22,
                         &https, &err), SPECTRA_S3_OK);
    ck_assert_int_eq(spectra_s3_endpoint_parse(
                         (const u_char *) "http://s3.example.com", 21,
                         &http, &err), SPECTRA_S3_OK);

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ck_assert_msg(spectra_s3_bucket_check(NULL, (const u_char *) bad[i],
                                              strlen(bad[i]), 1, &err)
                      == SPECTRA_S3_ERROR, "bucket %s accepted", bad[i]);
    }

    ck_assert_int_eq(spectra_s3_bucket_check(&ip, (const u_char *) "abc", 3,
                                             1, &err), SPECTRA_S3_OK);
    ck_assert_int_eq(spectra_s3_bucket_check(&ip, (const u_char *) "abc", 3,
                                             0, &err), SPECTRA_S3_ERROR);
    ck_assert_ptr_nonnull(strstr(err.message, "not an IP address"));
    ck_assert_int_eq(spectra_s3_bucket_check(&https,
                                             (const u_char *) "a.b.c", 5, 0,
                                             &err), SPECTRA_S3_ERROR);
    ck_assert_ptr_nonnull(strstr(err.message, "with dots"));
    ck_assert_int_eq(spectra_s3_bucket_check(&http,
                                             (const u_char *) "a.b.c", 5, 0,
                                             &err), SPECTRA_S3_OK);
    ck_assert_int_eq(spectra_s3_bucket_check(&https,
                                             (const u_char *) "a.b.c", 5, 1,
                                             &err), SPECTRA_S3_OK);

    obj.method = (spectra_str_t) S("GET");
    obj.bucket = (spectra_str_t) S("spectra-exports");
    obj.key = (spectra_str_t) S("k");
    obj.path_style = 1;
    obj.now = t_date("20260101T000000Z");
    obj.expires = 60;

    /* the buffer: too small by one byte, then exactly right */
    ck_assert_int_eq(spectra_s3_presign_url(&ip, &obj, &cred, url,
                                            sizeof(url), &len, &err),
                     SPECTRA_S3_OK);
    ck_assert_int_eq(spectra_s3_presign_url(&ip, &obj, &cred, url, len,
                                            &len, &err), SPECTRA_S3_ERROR);
    ck_assert_ptr_nonnull(strstr(err.message, "does not fit"));
    ck_assert_int_eq(spectra_s3_presign_url(&ip, &obj, &cred, url, len + 1,
                                            &len, &err), SPECTRA_S3_OK);

    obj.expires = 0;
    ck_assert_int_eq(spectra_s3_presign_url(&ip, &obj, &cred, url,
                                            sizeof(url), &len, &err),
                     SPECTRA_S3_ERROR);
    obj.expires = SPECTRA_SIGV4_MAX_EXPIRES + 1;
    ck_assert_int_eq(spectra_s3_presign_url(&ip, &obj, &cred, url,
                                            sizeof(url), &len, &err),
                     SPECTRA_S3_ERROR);
    ck_assert_ptr_nonnull(strstr(err.message, "7 days"));
    obj.expires = SPECTRA_SIGV4_MAX_EXPIRES;

    obj.key.len = 0;
    ck_assert_int_eq(spectra_s3_presign_url(&ip, &obj, &cred, url,
                                            sizeof(url), &len, &err),
                     SPECTRA_S3_ERROR);
    obj.key = (spectra_str_t) { 3, (u_char *) "a\0b" };
    ck_assert_int_eq(spectra_s3_presign_url(&ip, &obj, &cred, url,
                                            sizeof(url), &len, &err),
                     SPECTRA_S3_ERROR);
    ck_assert_ptr_nonnull(strstr(err.message, "no NUL"));

    /* the longest key S3 has, all of it encoded, fits the bound */
    memset(key, 0xe9, sizeof(key));
    obj.key.data = key;
    obj.key.len = SPECTRA_S3_KEY_MAX + 1;
    ck_assert_int_eq(spectra_s3_presign_url(&ip, &obj, &cred, url,
                                            sizeof(url), &len, &err),
                     SPECTRA_S3_ERROR);
    obj.key.len = SPECTRA_S3_KEY_MAX;
    ck_assert_int_eq(spectra_s3_presign_url(&ip, &obj, &cred, url,
                                            sizeof(url), &len, &err),
                     SPECTRA_S3_OK);
    ck_assert_uint_lt(len, spectra_s3_presign_size(&ip, &obj, &cred));

    obj.bucket = (spectra_str_t) S("UPPER");
    obj.key = (spectra_str_t) S("k");
    ck_assert_int_eq(spectra_s3_presign_url(&ip, &obj, &cred, url,
                                            sizeof(url), &len, &err),
                     SPECTRA_S3_ERROR);
    ck_assert_ptr_nonnull(strstr(err.message, "lowercase"));
}
END_TEST


START_TEST(test_session_tokens)
{
    char                     url[4096];
    spectra_sigv4_refusal_t  refusal;
    t_key_t                  key = { SECRET, TOKEN }, plain = { SECRET, NULL };
    t_key_t                  other = { SECRET, TOKEN "x" };
    time_t                   now;

    now = t_date("20260301T120000Z");

    /* with the key's token, and its special characters */
    t_presign("http://127.0.0.1:31402", 1, "spectra-exports", "a b+c=d~e",
              TOKEN, now, 60, url, sizeof(url));
    ck_assert_ptr_nonnull(strstr(url, "&X-Amz-SignedHeaders=host"
                                      "&X-Amz-Security-Token=IQoJb3JpZ2lu"
                                      "X2VjEXAMPLE%2Ftoken%2Bwith%3Dsigns"
                                      "&X-Amz-Signature="));
    ck_assert_int_eq(t_verify(url, "GET", now, "us-east-1", &key, &refusal),
                     SPECTRA_SIGV4_OK);

    /* a key without a token refuses a URL with one */
    ck_assert_int_eq(t_verify(url, "GET", now, "us-east-1", &plain,
                              &refusal), SPECTRA_SIGV4_ERROR);
    ck_assert_int_eq(refusal.status, 400);
    ck_assert_str_eq(refusal.type, "InvalidToken");

    /* another token */
    ck_assert_int_eq(t_verify(url, "GET", now, "us-east-1", &other,
                              &refusal), SPECTRA_SIGV4_ERROR);
    ck_assert_str_eq(refusal.type, "InvalidToken");
    ck_assert_ptr_null(strstr(refusal.err.message, "IQoJ"));

    /* a key with a token refuses a URL without one */
    t_presign("http://127.0.0.1:31402", 1, "spectra-exports", "a b+c=d~e",
              NULL, now, 60, url, sizeof(url));
    ck_assert_int_eq(t_verify(url, "GET", now, "us-east-1", &key, &refusal),
                     SPECTRA_SIGV4_ERROR);
    ck_assert_int_eq(refusal.status, 403);
    ck_assert_str_eq(refusal.type, "InvalidAccessKeyId");
    ck_assert_int_eq(t_verify(url, "GET", now, "us-east-1", &plain,
                              &refusal), SPECTRA_SIGV4_OK);
}
END_TEST


START_TEST(test_tampering)
{
    char                     url[4096], bad[4200], *p;
    spectra_sigv4_refusal_t  refusal;
    t_key_t                  key = { SECRET, NULL };
    t_key_t                  wrong = { "not" SECRET, NULL };
    time_t                   now;

    now = t_date("20260301T120000Z");
    t_presign("http://127.0.0.1:31402", 1, "spectra-exports",
              "exports/tenant=acme/job=7/0000_part_00.gz", NULL, now, 300,
              url, sizeof(url));
    ck_assert_int_eq(t_verify(url, "GET", now, "us-east-1", &key, &refusal),
                     SPECTRA_SIGV4_OK);

    /* the region the store is in */
    ck_assert_int_eq(t_verify(url, "GET", now, "eu-west-1", &key, &refusal),
                     SPECTRA_SIGV4_ERROR);
    ck_assert_int_eq(refusal.status, 400);
    ck_assert_str_eq(refusal.type, "AuthorizationQueryParametersError");
    ck_assert_str_eq(refusal.err.message,
                     "Error parsing the X-Amz-Credential parameter; the "
                     "region 'us-east-1' is wrong; expecting 'eu-west-1'");

    /* other credentials */
    ck_assert_int_eq(t_verify(url, "GET", now, "us-east-1", &wrong,
                              &refusal), SPECTRA_SIGV4_ERROR);
    ck_assert_str_eq(refusal.type, "SignatureDoesNotMatch");

    /* another tenant's file, another host, another bucket */
    strcpy(bad, url);
    p = strstr(bad, "acme");
    memcpy(p, "acmf", 4);
    ck_assert_int_eq(t_verify(bad, "GET", now, "us-east-1", &key, &refusal),
                     SPECTRA_SIGV4_ERROR);
    ck_assert_str_eq(refusal.type, "SignatureDoesNotMatch");

    strcpy(bad, url);
    memcpy(strstr(bad, "31402"), "31403", 5);
    ck_assert_int_eq(t_verify(bad, "GET", now, "us-east-1", &key, &refusal),
                     SPECTRA_SIGV4_ERROR);
    ck_assert_str_eq(refusal.type, "SignatureDoesNotMatch");

    strcpy(bad, url);
    memcpy(strstr(bad, "spectra-exports"), "spectra-imports", 15);
    ck_assert_int_eq(t_verify(bad, "GET", now, "us-east-1", &key, &refusal),
                     SPECTRA_SIGV4_ERROR);
    ck_assert_str_eq(refusal.type, "SignatureDoesNotMatch");

    /* a longer life written into the URL */
    strcpy(bad, url);
    memcpy(strstr(bad, "X-Amz-Expires=300"), "X-Amz-Expires=900", 17);
    ck_assert_int_eq(t_verify(bad, "GET", now + 600, "us-east-1", &key,
                              &refusal), SPECTRA_SIGV4_ERROR);
    ck_assert_str_eq(refusal.type, "SignatureDoesNotMatch");

    /* a later date too */
    strcpy(bad, url);
    memcpy(strstr(bad, "X-Amz-Date=20260301T12"), "X-Amz-Date=20260301T13",
           22);
    ck_assert_int_eq(t_verify(bad, "GET", now + 3600, "us-east-1", &key,
                              &refusal), SPECTRA_SIGV4_ERROR);
    ck_assert_str_eq(refusal.type, "SignatureDoesNotMatch");

    /* not valid yet: more than 15 minutes ahead of the store's clock */
    ck_assert_int_eq(t_verify(url, "GET", now - 901, "us-east-1", &key,
                              &refusal), SPECTRA_SIGV4_ERROR);
    ck_assert_int_eq(refusal.status, 403);
    ck_assert_str_eq(refusal.err.message, "Request is not valid yet");

    /* a token added to a URL signed without one */
    snprintf(bad, sizeof(bad), "%s&X-Amz-Security-Token=abc", url);
    ck_assert_int_eq(t_verify(bad, "GET", now, "us-east-1", &key, &refusal),
                     SPECTRA_SIGV4_ERROR);
    ck_assert_str_eq(refusal.type, "InvalidToken");

    /* a signature one hex digit off, or cut short */
    strcpy(bad, url);
    p = bad + strlen(bad) - 1;
    *p = *p == '0' ? '1' : '0';
    ck_assert_int_eq(t_verify(bad, "GET", now, "us-east-1", &key, &refusal),
                     SPECTRA_SIGV4_ERROR);
    ck_assert_str_eq(refusal.type, "SignatureDoesNotMatch");
    bad[strlen(bad) - 1] = '\0';
    ck_assert_int_eq(t_verify(bad, "GET", now, "us-east-1", &key, &refusal),
                     SPECTRA_SIGV4_ERROR);
    ck_assert_str_eq(refusal.type, "SignatureDoesNotMatch");

    /* each parameter missing in turn */
    {
        static const char  *names[] = {
            "X-Amz-Algorithm=", "X-Amz-Credential=", "X-Amz-Date=",
            "X-Amz-Expires=", "X-Amz-SignedHeaders=", "X-Amz-Signature="
        };
        size_t  i;

        for (i = 0; i < 6; i++) {
            strcpy(bad, url);
            p = strstr(bad, names[i]);
            memcpy(p, "X-Amz-Nothing", 13);
            ck_assert_int_eq(t_verify(bad, "GET", now, "us-east-1", &key,
                                      &refusal), SPECTRA_SIGV4_ERROR);
            ck_assert_int_eq(refusal.status, 400);
            ck_assert_str_eq(refusal.type,
                             "AuthorizationQueryParametersError");
        }
    }

    /* the wrong service in the scope */
    strcpy(bad, url);
    p = strstr(bad, "%2Fs3%2F");
    memcpy(p, "%2Fs4%2F", 8);
    ck_assert_int_eq(t_verify(bad, "GET", now, "us-east-1", &key, &refusal),
                     SPECTRA_SIGV4_ERROR);
    ck_assert_int_eq(refusal.status, 400);
    ck_assert_str_eq(refusal.type, "AuthorizationQueryParametersError");

    /* signed headers without host */
    strcpy(bad, url);
    p = strstr(bad, "SignedHeaders=host");
    memcpy(p, "SignedHeaders=hast", 18);
    ck_assert_int_eq(t_verify(bad, "GET", now, "us-east-1", &key, &refusal),
                     SPECTRA_SIGV4_ERROR);
    ck_assert_int_eq(refusal.status, 400);
}
END_TEST


static Suite *
presign_suite(void)
{
    Suite  *s;
    TCase  *tc;

    s = suite_create("presign");
    tc = tcase_create("core");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_botocore_vectors);
    tcase_add_test(tc, test_vectors_are_botocore_s);
    tcase_add_test(tc, test_endpoints);
    tcase_add_test(tc, test_buckets_and_keys);
    tcase_add_test(tc, test_session_tokens);
    tcase_add_test(tc, test_tampering);
    suite_add_tcase(s, tc);

    return s;
}


int
main(void)
{
    SRunner  *sr;
    int       failed;

    sr = srunner_create(presign_suite());
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);

    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
