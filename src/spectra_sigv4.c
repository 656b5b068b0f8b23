/*
 * AWS Signature Version 4: signing, presigning and verification.
 * See spectra_sigv4.h for what is guaranteed.
 */

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "spectra_sigv4.h"


#define SPECTRA_SIGV4_ALGORITHM   "AWS4-HMAC-SHA256"
#define SPECTRA_SIGV4_TERMINATOR  "aws4_request"
#define SPECTRA_SIGV4_SCOPE_MAX   64     /* bytes per scope component */
#define SPECTRA_SIGV4_SECRET_MAX  256


typedef struct {
    size_t          key;       /* offset into scratch */
    size_t          key_len;
    size_t          value;
    size_t          value_len;
} spectra_sigv4_param_t;


static int spectra_sigv4_unreserved(u_char c);
static u_char spectra_sigv4_lower(u_char c);
static int spectra_sigv4_hexval(u_char c);
static void spectra_sigv4_hex(const u_char *src, size_t len, u_char *dst);
static int spectra_sigv4_update(EVP_MD_CTX *md, const void *p, size_t len);
static int spectra_sigv4_hash_path(EVP_MD_CTX *md,
    const spectra_str_t *path, unsigned s3);
static size_t spectra_sigv4_decode(const u_char *p, size_t len, u_char *dst,
    size_t size, int *ok);
static int spectra_sigv4_param_cmp(const spectra_sigv4_param_t *pa,
    const spectra_sigv4_param_t *pb, const u_char *s);
static int spectra_sigv4_hash_query(EVP_MD_CTX *md,
    const spectra_str_t *query, unsigned skip_signature);
static int spectra_sigv4_name_eq(const spectra_str_t *name,
    const u_char *lower, size_t len);
static int spectra_sigv4_hash_value(EVP_MD_CTX *md, const u_char *p,
    size_t len);
static int spectra_sigv4_hash_headers(EVP_MD_CTX *md,
    const spectra_sigv4_header_t *headers, size_t nheaders,
    const spectra_str_t *signed_headers, int *missing);
static int spectra_sigv4_canonical_hash(const spectra_sigv4_request_t *req,
    const spectra_str_t *signed_headers, unsigned skip_signature,
    u_char *hex, int *missing);
static int spectra_sigv4_compute(const spectra_sigv4_request_t *req,
    const spectra_str_t *signed_headers, unsigned skip_signature,
    const spectra_str_t *secret, const spectra_str_t *date,
    const spectra_str_t *region, const spectra_str_t *service,
    const u_char *amz_date, u_char *sig, u_char *creq_hash, int *missing);
static int spectra_sigv4_signed_list(const spectra_sigv4_header_t *headers,
    size_t nheaders, u_char *buf, size_t size, size_t *len);
static void spectra_sigv4_fail(spectra_sigv4_refusal_t *refusal, int status,
    const char *type, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static const spectra_sigv4_header_t *spectra_sigv4_find_header(
    const spectra_sigv4_verify_t *v, const char *name);
static int spectra_sigv4_parse_credential(const u_char *p, size_t len,
    spectra_sigv4_auth_t *auth);
static int spectra_sigv4_parse_authorization(const u_char *p, size_t len,
    spectra_sigv4_auth_t *auth, spectra_sigv4_refusal_t *refusal);
static int spectra_sigv4_check_scope(const spectra_sigv4_verify_t *v,
    const spectra_sigv4_auth_t *auth, spectra_sigv4_refusal_t *refusal,
    int presigned);
static int spectra_sigv4_str_is(const spectra_str_t *s,
    const char *lit);
static int spectra_sigv4_check_token(const spectra_sigv4_verify_t *v,
    const spectra_sigv4_auth_t *auth, spectra_sigv4_refusal_t *refusal);
static int spectra_sigv4_query_get(const spectra_str_t *query,
    const char *name, u_char *dst, size_t size, size_t *len);


static int
spectra_sigv4_unreserved(u_char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
           || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.'
           || c == '~';
}


static u_char
spectra_sigv4_lower(u_char c)
{
    return (c >= 'A' && c <= 'Z') ? (u_char) (c | 0x20) : c;
}


static int
spectra_sigv4_hexval(u_char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }

    c = spectra_sigv4_lower(c);

    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }

    return -1;
}


static void
spectra_sigv4_hex(const u_char *src, size_t len, u_char *dst)
{
    static const char  digits[] = "0123456789abcdef";
    size_t             i;

    for (i = 0; i < len; i++) {
        dst[2 * i] = (u_char) digits[src[i] >> 4];
        dst[2 * i + 1] = (u_char) digits[src[i] & 0xf];
    }
}


static int
spectra_sigv4_update(EVP_MD_CTX *md, const void *p, size_t len)
{
    return EVP_DigestUpdate(md, p, len) == 1 ? 0 : -1;
}


size_t
spectra_sigv4_uri_encode(const u_char *src, size_t len, unsigned keep_slash,
    u_char *dst, size_t size)
{
    static const char  digits[] = "0123456789ABCDEF";
    size_t             i, n;

    n = 0;

    for (i = 0; i < len; i++) {
        if (spectra_sigv4_unreserved(src[i])
            || (keep_slash && src[i] == '/'))
        {
            if (n + 1 > size) {
                return 0;
            }

            dst[n++] = src[i];
            continue;
        }

        if (n + 3 > size) {
            return 0;
        }

        dst[n++] = '%';
        dst[n++] = (u_char) digits[src[i] >> 4];
        dst[n++] = (u_char) digits[src[i] & 0xf];
    }

    return n;
}


/*
 * Streams the canonical URI into the digest. Every service but S3 encodes
 * the already encoded path again, so a byte outside the unreserved set
 * becomes "%25XX".
 */
static int
spectra_sigv4_hash_path(EVP_MD_CTX *md, const spectra_str_t *path,
    unsigned s3)
{
    static const char  digits[] = "0123456789ABCDEF";
    u_char             buf[5];
    size_t             i, n;

    if (path->len == 0) {
        return spectra_sigv4_update(md, "/", 1);
    }

    for (i = 0; i < path->len; i++) {
        u_char  c = path->data[i];

        if (spectra_sigv4_unreserved(c) || c == '/') {
            n = 0;
            buf[n++] = c;

        } else if (s3) {
            n = 0;
            buf[n++] = '%';
            buf[n++] = (u_char) digits[c >> 4];
            buf[n++] = (u_char) digits[c & 0xf];

        } else {
            n = 0;
            buf[n++] = '%';
            buf[n++] = '2';
            buf[n++] = '5';
            buf[n++] = (u_char) digits[c >> 4];
            buf[n++] = (u_char) digits[c & 0xf];
        }

        if (spectra_sigv4_update(md, buf, n) != 0) {
            return -1;
        }
    }

    return 0;
}


/* Percent-decodes p; a '%' not followed by two hex digits stays as is. */
static size_t
spectra_sigv4_decode(const u_char *p, size_t len, u_char *dst, size_t size,
    int *ok)
{
    size_t  i, n;
    int     hi, lo;

    n = 0;
    *ok = 1;

    for (i = 0; i < len; i++) {
        if (n == size) {
            *ok = 0;
            return n;
        }

        if (p[i] == '%' && i + 2 < len
            && (hi = spectra_sigv4_hexval(p[i + 1])) >= 0
            && (lo = spectra_sigv4_hexval(p[i + 2])) >= 0)
        {
            dst[n++] = (u_char) (hi << 4 | lo);
            i += 2;
            continue;
        }

        dst[n++] = p[i];
    }

    return n;
}


static int
spectra_sigv4_param_cmp(const spectra_sigv4_param_t *pa,
    const spectra_sigv4_param_t *pb, const u_char *s)
{
    size_t  n;
    int     rc;

    n = pa->key_len < pb->key_len ? pa->key_len : pb->key_len;
    rc = memcmp(s + pa->key, s + pb->key, n);

    if (rc != 0 || pa->key_len != pb->key_len) {
        return rc != 0 ? rc : (pa->key_len < pb->key_len ? -1 : 1);
    }

    n = pa->value_len < pb->value_len ? pa->value_len : pb->value_len;
    rc = memcmp(s + pa->value, s + pb->value, n);

    if (rc != 0 || pa->value_len == pb->value_len) {
        return rc;
    }

    return pa->value_len < pb->value_len ? -1 : 1;
}


/*
 * The canonical query: every parameter decoded and encoded again the SigV4
 * way, sorted by name then value, joined with '&'.
 */
static int
spectra_sigv4_hash_query(EVP_MD_CTX *md, const spectra_str_t *query,
    unsigned skip_signature)
{
    u_char                 scratch[SPECTRA_SIGV4_QUERY_SCRATCH];
    u_char                 raw[SPECTRA_SIGV4_QUERY_SCRATCH];
    spectra_sigv4_param_t  params[SPECTRA_SIGV4_MAX_PARAMS];
    const u_char          *p, *end, *amp, *eq;
    size_t                 nparams, used, n, i, klen;
    int                    ok;

    nparams = 0;
    used = 0;
    p = query->data;
    end = (p != NULL) ? p + query->len : p;

    while (p < end) {
        amp = memchr(p, '&', (size_t) (end - p));
        if (amp == NULL) {
            amp = end;
        }

        if (amp == p) {
            p++;
            continue;
        }

        eq = memchr(p, '=', (size_t) (amp - p));
        klen = (size_t) ((eq != NULL ? eq : amp) - p);

        if (skip_signature && klen == sizeof("X-Amz-Signature") - 1
            && memcmp(p, "X-Amz-Signature", klen) == 0)
        {
            p = amp + 1;
            continue;
        }

        if (nparams == SPECTRA_SIGV4_MAX_PARAMS) {
            return -1;
        }

        n = spectra_sigv4_decode(p, klen, raw, sizeof(raw), &ok);
        if (!ok) {
            return -1;
        }

        params[nparams].key = used;
        n = spectra_sigv4_uri_encode(raw, n, 0, scratch + used,
                                     sizeof(scratch) - used);
        if (n == 0 && klen != 0) {
            return -1;
        }

        params[nparams].key_len = n;
        used += n;

        if (eq != NULL) {
            n = spectra_sigv4_decode(eq + 1, (size_t) (amp - eq - 1), raw,
                                     sizeof(raw), &ok);
            if (!ok) {
                return -1;
            }

        } else {
            n = 0;
        }

        params[nparams].value = used;
        if (n != 0) {
            n = spectra_sigv4_uri_encode(raw, n, 0, scratch + used,
                                         sizeof(scratch) - used);
            if (n == 0) {
                return -1;
            }
        }

        params[nparams].value_len = n;
        used += n;
        nparams++;

        p = amp + 1;
    }

    /* insertion sort: a handful of parameters, and no qsort_r() */
    for (i = 1; i < nparams; i++) {
        spectra_sigv4_param_t  t = params[i];

        for (n = i; n > 0
             && spectra_sigv4_param_cmp(&params[n - 1], &t, scratch) > 0;
             n--)
        {
            params[n] = params[n - 1];
        }

        params[n] = t;
    }

    for (i = 0; i < nparams; i++) {
        if ((i > 0 && spectra_sigv4_update(md, "&", 1) != 0)
            || spectra_sigv4_update(md, scratch + params[i].key,
                                    params[i].key_len) != 0
            || spectra_sigv4_update(md, "=", 1) != 0
            || spectra_sigv4_update(md, scratch + params[i].value,
                                    params[i].value_len) != 0)
        {
            return -1;
        }
    }

    return 0;
}


static int
spectra_sigv4_name_eq(const spectra_str_t *name, const u_char *lower,
    size_t len)
{
    size_t  i;

    if (name->len != len) {
        return 0;
    }

    for (i = 0; i < len; i++) {
        if (spectra_sigv4_lower(name->data[i]) != lower[i]) {
            return 0;
        }
    }

    return 1;
}


/* A header value trimmed, with runs of spaces collapsed to one. */
static int
spectra_sigv4_hash_value(EVP_MD_CTX *md, const u_char *p, size_t len)
{
    size_t  i, start;
    int     space;

    while (len > 0 && (p[0] == ' ' || p[0] == '\t')) {
        p++;
        len--;
    }

    while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t')) {
        len--;
    }

    start = 0;
    space = 0;

    for (i = 0; i < len; i++) {
        if (p[i] == ' ' || p[i] == '\t') {
            if (!space) {
                if (spectra_sigv4_update(md, p + start, i - start) != 0
                    || spectra_sigv4_update(md, " ", 1) != 0)
                {
                    return -1;
                }
            }

            space = 1;
            start = i + 1;
            continue;
        }

        space = 0;
    }

    return spectra_sigv4_update(md, p + start, len - start);
}


/*
 * Canonical headers for the names in signed_headers, in its order; several
 * headers with one name are joined with ','. *missing is set when a signed
 * name is absent from the request.
 */
static int
spectra_sigv4_hash_headers(EVP_MD_CTX *md,
    const spectra_sigv4_header_t *headers, size_t nheaders,
    const spectra_str_t *signed_headers, int *missing)
{
    const u_char  *p, *end, *semi;
    size_t         i, len;
    int            found;

    p = signed_headers->data;
    end = p + signed_headers->len;

    while (p < end) {
        semi = memchr(p, ';', (size_t) (end - p));
        if (semi == NULL) {
            semi = end;
        }

        len = (size_t) (semi - p);

        if (spectra_sigv4_update(md, p, len) != 0
            || spectra_sigv4_update(md, ":", 1) != 0)
        {
            return -1;
        }

        found = 0;

        for (i = 0; i < nheaders; i++) {
            if (!spectra_sigv4_name_eq(&headers[i].name, p, len)) {
                continue;
            }

            if ((found && spectra_sigv4_update(md, ",", 1) != 0)
                || spectra_sigv4_hash_value(md, headers[i].value.data,
                                            headers[i].value.len) != 0)
            {
                return -1;
            }

            found = 1;
        }

        if (!found) {
            *missing = 1;
        }

        if (spectra_sigv4_update(md, "\n", 1) != 0) {
            return -1;
        }

        p = semi + 1;
    }

    return 0;
}


static int
spectra_sigv4_canonical_hash(const spectra_sigv4_request_t *req,
    const spectra_str_t *signed_headers, unsigned skip_signature,
    u_char *hex, int *missing)
{
    EVP_MD_CTX    *md;
    u_char         digest[32];
    unsigned int   dlen;
    int            rc;

    md = EVP_MD_CTX_new();
    if (md == NULL) {
        return -1;
    }

    rc = -1;

    if (EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1
        || spectra_sigv4_update(md, req->method.data, req->method.len) != 0
        || spectra_sigv4_update(md, "\n", 1) != 0
        || spectra_sigv4_hash_path(md, &req->path, req->s3) != 0
        || spectra_sigv4_update(md, "\n", 1) != 0
        || spectra_sigv4_hash_query(md, &req->query, skip_signature) != 0
        || spectra_sigv4_update(md, "\n", 1) != 0
        || spectra_sigv4_hash_headers(md, req->headers, req->nheaders,
                                      signed_headers, missing) != 0
        || spectra_sigv4_update(md, "\n", 1) != 0
        || spectra_sigv4_update(md, signed_headers->data,
                                signed_headers->len) != 0
        || spectra_sigv4_update(md, "\n", 1) != 0
        || spectra_sigv4_update(md, req->payload_hash.data,
                                req->payload_hash.len) != 0
        || EVP_DigestFinal_ex(md, digest, &dlen) != 1)
    {
        goto done;
    }

    spectra_sigv4_hex(digest, 32, hex);
    rc = 0;

done:

    EVP_MD_CTX_free(md);
    return rc;
}


void
spectra_sigv4_sha256_hex(const u_char *p, size_t len, u_char *hex)
{
    u_char        digest[32];
    unsigned int  dlen;

    /* EVP_Digest() fails only on allocation failure: hash of nothing. */
    if (EVP_Digest(p, len, digest, &dlen, EVP_sha256(), NULL) != 1) {
        memset(digest, 0, sizeof(digest));
    }

    spectra_sigv4_hex(digest, 32, hex);
}


void
spectra_sigv4_amz_date(time_t t, u_char *out)
{
    struct tm  tm;
    char       buf[80];

    gmtime_r(&t, &tm);
    snprintf(buf, sizeof(buf), "%04d%02d%02dT%02d%02d%02dZ",
             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
             tm.tm_hour, tm.tm_min, tm.tm_sec);
    memcpy(out, buf, SPECTRA_SIGV4_DATE_LEN);
}


int
spectra_sigv4_parse_amz_date(const u_char *p, size_t len, time_t *t)
{
    struct tm  tm;
    int        v[6], i, k, w;
    static const int  widths[6] = { 4, 2, 2, 2, 2, 2 };
    const u_char     *s;

    if (len != SPECTRA_SIGV4_DATE_LEN || p[8] != 'T' || p[15] != 'Z') {
        return SPECTRA_SIGV4_ERROR;
    }

    s = p;

    for (i = 0; i < 6; i++) {
        if (i == 3) {
            s++;        /* 'T' */
        }

        v[i] = 0;

        for (w = 0; w < widths[i]; w++) {
            k = *s++;
            if (k < '0' || k > '9') {
                return SPECTRA_SIGV4_ERROR;
            }

            v[i] = v[i] * 10 + (k - '0');
        }
    }

    if (v[1] < 1 || v[1] > 12 || v[2] < 1 || v[2] > 31 || v[3] > 23
        || v[4] > 59 || v[5] > 60)
    {
        return SPECTRA_SIGV4_ERROR;
    }

    memset(&tm, 0, sizeof(tm));
    tm.tm_year = v[0] - 1900;
    tm.tm_mon = v[1] - 1;
    tm.tm_mday = v[2];
    tm.tm_hour = v[3];
    tm.tm_min = v[4];
    tm.tm_sec = v[5];

    *t = timegm(&tm);

    return SPECTRA_SIGV4_OK;
}


/*
 * The last signing keys this thread derived, with what each was derived
 * from: a key lasts a day for one secret, region and service, and every
 * request to the Data API (nginx signing, spectra-dataapi checking) would
 * otherwise pay its four HMACs again, as AWS's SDKs avoid with the same
 * cache.  A few, for a worker that signs for S3 and the Data API, or a
 * daemon that several nginx instances call with keys of their own.  Per
 * thread, so neither the daemon's connection threads nor nginx's thread
 * pool need a lock.
 */

#define SPECTRA_SIGV4_MEMO_N  4

typedef struct {
    size_t   secret_len;                 /* 0: empty */
    size_t   region_len;
    size_t   service_len;
    u_char   secret[SPECTRA_SIGV4_SECRET_MAX];
    u_char   date[8];
    u_char   region[SPECTRA_SIGV4_SCOPE_MAX];
    u_char   service[SPECTRA_SIGV4_SCOPE_MAX];
    u_char   key[SPECTRA_SIGV4_KEY_LEN];
} spectra_sigv4_memo_t;

static __thread spectra_sigv4_memo_t
    spectra_sigv4_memo[SPECTRA_SIGV4_MEMO_N];
static __thread unsigned  spectra_sigv4_memo_next;


int
spectra_sigv4_signing_key(const spectra_str_t *secret,
    const spectra_str_t *date, const spectra_str_t *region,
    const spectra_str_t *service, u_char *key)
{
    u_char                 k[SPECTRA_SIGV4_SECRET_MAX + 4];
    unsigned int           klen, i;
    int                    rc;
    spectra_sigv4_memo_t  *m;

    if (secret->len > SPECTRA_SIGV4_SECRET_MAX) {
        return SPECTRA_SIGV4_ERROR;
    }

    for (i = 0; i < SPECTRA_SIGV4_MEMO_N; i++) {
        m = &spectra_sigv4_memo[i];

        /* (a kept entry has every length non-zero: no memcmp of NULL) */
        if (m->secret_len != 0 && m->secret_len == secret->len
            && date->len == sizeof(m->date) && m->region_len == region->len
            && m->service_len == service->len
            && memcmp(m->date, date->data, sizeof(m->date)) == 0
            && memcmp(m->region, region->data, region->len) == 0
            && memcmp(m->service, service->data, service->len) == 0
            && memcmp(m->secret, secret->data, secret->len) == 0)
        {
            memcpy(key, m->key, SPECTRA_SIGV4_KEY_LEN);
            return SPECTRA_SIGV4_OK;
        }
    }

    memcpy(k, "AWS4", 4);
    memcpy(k + 4, secret->data, secret->len);

    rc = SPECTRA_SIGV4_ERROR;

    if (HMAC(EVP_sha256(), k, (int) (secret->len + 4), date->data,
             date->len, key, &klen) == NULL
        || HMAC(EVP_sha256(), key, 32, region->data, region->len, key,
                &klen) == NULL
        || HMAC(EVP_sha256(), key, 32, service->data, service->len, key,
                &klen) == NULL
        || HMAC(EVP_sha256(), key, 32,
                (const u_char *) SPECTRA_SIGV4_TERMINATOR,
                sizeof(SPECTRA_SIGV4_TERMINATOR) - 1, key, &klen) == NULL)
    {
        goto done;
    }

    rc = SPECTRA_SIGV4_OK;

    m = &spectra_sigv4_memo[spectra_sigv4_memo_next];

    if (secret->len != 0 && date->len == sizeof(m->date)
        && region->len != 0 && region->len <= SPECTRA_SIGV4_SCOPE_MAX
        && service->len != 0 && service->len <= SPECTRA_SIGV4_SCOPE_MAX)
    {
        m->secret_len = secret->len;
        m->region_len = region->len;
        m->service_len = service->len;
        memcpy(m->secret, secret->data, secret->len);
        memcpy(m->date, date->data, sizeof(m->date));
        memcpy(m->region, region->data, region->len);
        memcpy(m->service, service->data, service->len);
        memcpy(m->key, key, SPECTRA_SIGV4_KEY_LEN);

        spectra_sigv4_memo_next = (spectra_sigv4_memo_next + 1)
                                  % SPECTRA_SIGV4_MEMO_N;
    }

done:

    OPENSSL_cleanse(k, sizeof(k));
    return rc;
}


static int
spectra_sigv4_compute(const spectra_sigv4_request_t *req,
    const spectra_str_t *signed_headers, unsigned skip_signature,
    const spectra_str_t *secret, const spectra_str_t *date,
    const spectra_str_t *region, const spectra_str_t *service,
    const u_char *amz_date, u_char *sig, u_char *creq_hash, int *missing)
{
    u_char        hash[SPECTRA_SIGV4_HEX_LEN];
    u_char        key[SPECTRA_SIGV4_KEY_LEN], mac[32];
    u_char        sts[64 + 3 * SPECTRA_SIGV4_SCOPE_MAX + 2 * 32];
    unsigned int  mlen;
    int           n;

    if (region->len > SPECTRA_SIGV4_SCOPE_MAX
        || service->len > SPECTRA_SIGV4_SCOPE_MAX || date->len != 8)
    {
        return SPECTRA_SIGV4_ERROR;
    }

    if (spectra_sigv4_canonical_hash(req, signed_headers, skip_signature,
                                     hash, missing) != 0)
    {
        return SPECTRA_SIGV4_ERROR;
    }

    if (creq_hash != NULL) {
        memcpy(creq_hash, hash, SPECTRA_SIGV4_HEX_LEN);
    }

    n = snprintf((char *) sts, sizeof(sts),
                 SPECTRA_SIGV4_ALGORITHM "\n%.16s\n%.8s/%.*s/%.*s/"
                 SPECTRA_SIGV4_TERMINATOR "\n%.64s",
                 (const char *) amz_date, (const char *) date->data,
                 (int) region->len, (const char *) region->data,
                 (int) service->len, (const char *) service->data,
                 (const char *) hash);

    if (n < 0 || (size_t) n >= sizeof(sts)) {
        return SPECTRA_SIGV4_ERROR;
    }

    if (spectra_sigv4_signing_key(secret, date, region, service, key)
        != SPECTRA_SIGV4_OK)
    {
        return SPECTRA_SIGV4_ERROR;
    }

    if (HMAC(EVP_sha256(), key, sizeof(key), sts, (size_t) n, mac, &mlen)
        == NULL)
    {
        OPENSSL_cleanse(key, sizeof(key));
        return SPECTRA_SIGV4_ERROR;
    }

    OPENSSL_cleanse(key, sizeof(key));
    spectra_sigv4_hex(mac, 32, sig);

    return SPECTRA_SIGV4_OK;
}


/* The lowercased, sorted, de-duplicated names of headers, ';'-joined. */
static int
spectra_sigv4_signed_list(const spectra_sigv4_header_t *headers,
    size_t nheaders, u_char *buf, size_t size, size_t *len)
{
    size_t   order[SPECTRA_SIGV4_MAX_HEADERS];
    size_t   i, j, k, n, t;
    int      cmp;

    if (nheaders > SPECTRA_SIGV4_MAX_HEADERS) {
        return SPECTRA_SIGV4_ERROR;
    }

    for (i = 0; i < nheaders; i++) {
        order[i] = i;
    }

    /* insertion sort by lowercased name: a few headers at most */
    for (i = 1; i < nheaders; i++) {
        for (j = i; j > 0; j--) {
            const spectra_str_t        *a = &headers[order[j - 1]].name;
            const spectra_str_t        *b = &headers[order[j]].name;

            cmp = 0;
            for (k = 0; k < a->len && k < b->len && cmp == 0; k++) {
                cmp = spectra_sigv4_lower(a->data[k])
                      - spectra_sigv4_lower(b->data[k]);
            }

            if (cmp == 0) {
                cmp = (a->len > b->len) - (a->len < b->len);
            }

            if (cmp <= 0) {
                break;
            }

            t = order[j];
            order[j] = order[j - 1];
            order[j - 1] = t;
        }
    }

    n = 0;

    for (i = 0; i < nheaders; i++) {
        const spectra_str_t        *name = &headers[order[i]].name;

        if (i > 0) {
            const spectra_str_t        *prev = &headers[order[i - 1]].name;

            if (prev->len == name->len
                && strncasecmp((const char *) prev->data,
                               (const char *) name->data, name->len) == 0)
            {
                continue;
            }
        }

        if (n + name->len + 1 > size) {
            return SPECTRA_SIGV4_ERROR;
        }

        if (n > 0) {
            buf[n++] = ';';
        }

        for (k = 0; k < name->len; k++) {
            buf[n++] = spectra_sigv4_lower(name->data[k]);
        }
    }

    *len = n;

    return SPECTRA_SIGV4_OK;
}


int
spectra_sigv4_signature(const spectra_sigv4_request_t *req,
    const spectra_sigv4_credentials_t *cred, const u_char *amz_date,
    u_char *sig, u_char *creq_hash)
{
    u_char               list[1024];
    spectra_str_t        signed_headers, date;
    size_t               len;
    int                  missing;

    if (spectra_sigv4_signed_list(req->headers, req->nheaders, list,
                                  sizeof(list), &len) != SPECTRA_SIGV4_OK)
    {
        return SPECTRA_SIGV4_ERROR;
    }

    signed_headers.data = list;
    signed_headers.len = len;
    date.data = (u_char *) amz_date;
    date.len = 8;
    missing = 0;

    return spectra_sigv4_compute(req, &signed_headers, 0, &cred->secret_key,
                                 &date, &cred->region, &cred->service,
                                 amz_date, sig, creq_hash, &missing);
}


int
spectra_sigv4_sign_json(const spectra_sigv4_json_t *in,
    const spectra_sigv4_credentials_t *cred, u_char *amz_date,
    u_char *auth, size_t size, size_t *len)
{
    spectra_sigv4_header_t   headers[5];
    spectra_sigv4_request_t  req;
    u_char                   payload[SPECTRA_SIGV4_HEX_LEN];
    u_char                   sig[SPECTRA_SIGV4_HEX_LEN];
    size_t                   n;
    int                      rc;

#define spectra_sigv4_set(s, lit)                                            \
    (s).data = (u_char *) (lit); (s).len = sizeof(lit) - 1

    spectra_sigv4_amz_date(in->now, amz_date);
    spectra_sigv4_sha256_hex(in->body.data, in->body.len, payload);

    n = 0;
    spectra_sigv4_set(headers[n].name, "content-type");
    if (in->content_type.len) {
        headers[n].value = in->content_type;

    } else {
        spectra_sigv4_set(headers[n].value, SPECTRA_SIGV4_JSON_CONTENT_TYPE);
    }

    n++;
    spectra_sigv4_set(headers[n].name, "host");
    headers[n++].value = in->host;
    spectra_sigv4_set(headers[n].name, "x-amz-date");
    headers[n].value.data = amz_date;
    headers[n++].value.len = SPECTRA_SIGV4_DATE_LEN;

    if (cred->session_token.len) {
        spectra_sigv4_set(headers[n].name, "x-amz-security-token");
        headers[n++].value = cred->session_token;
    }

    spectra_sigv4_set(headers[n].name, "x-amz-target");
    headers[n++].value = in->target;

    memset(&req, 0, sizeof(req));
    spectra_sigv4_set(req.method, "POST");
    spectra_sigv4_set(req.path, "/");
    req.headers = headers;
    req.nheaders = n;
    req.payload_hash.data = payload;
    req.payload_hash.len = SPECTRA_SIGV4_HEX_LEN;

#undef spectra_sigv4_set

    if (spectra_sigv4_signature(&req, cred, amz_date, sig, NULL)
        != SPECTRA_SIGV4_OK)
    {
        return SPECTRA_SIGV4_ERROR;
    }

    rc = snprintf((char *) auth, size,
                  SPECTRA_SIGV4_ALGORITHM " Credential=%.*s/%.8s/%.*s/%.*s/"
                  SPECTRA_SIGV4_TERMINATOR ", SignedHeaders=%s, "
                  "Signature=%.64s",
                  (int) cred->access_key.len,
                  (const char *) cred->access_key.data,
                  (const char *) amz_date,
                  (int) cred->region.len, (const char *) cred->region.data,
                  (int) cred->service.len, (const char *) cred->service.data,
                  cred->session_token.len
                  ? "content-type;host;x-amz-date;x-amz-security-token;"
                    "x-amz-target"
                  : "content-type;host;x-amz-date;x-amz-target",
                  (const char *) sig);

    OPENSSL_cleanse(sig, sizeof(sig));

    if (rc < 0 || (size_t) rc >= size) {
        return SPECTRA_SIGV4_ERROR;
    }

    *len = (size_t) rc;

    return SPECTRA_SIGV4_OK;
}


static void
spectra_sigv4_fail(spectra_sigv4_refusal_t *refusal, int status,
    const char *type, const char *fmt, ...)
{
    va_list  args;

    refusal->status = status;
    refusal->type = type;

    va_start(args, fmt);
    (void) spectra_err_vset(&refusal->err, SPECTRA_SIGV4_ERROR,
                            SPECTRA_POS_NONE, fmt, args);
    va_end(args);
}


static const spectra_sigv4_header_t *
spectra_sigv4_find_header(const spectra_sigv4_verify_t *v, const char *name)
{
    size_t  i, len;

    len = strlen(name);

    for (i = 0; i < v->nheaders; i++) {
        if (spectra_sigv4_name_eq(&v->headers[i].name, (const u_char *) name,
                                  len))
        {
            return &v->headers[i];
        }
    }

    return NULL;
}


static int
spectra_sigv4_parse_credential(const u_char *p, size_t len,
    spectra_sigv4_auth_t *auth)
{
    spectra_str_t        *parts[4];
    const u_char         *end, *slash;
    int                   i;

    parts[0] = &auth->access_key;
    parts[1] = &auth->date;
    parts[2] = &auth->region;
    parts[3] = &auth->service;
    end = p + len;

    for (i = 0; i < 4; i++) {
        slash = memchr(p, '/', (size_t) (end - p));
        if (slash == NULL) {
            return SPECTRA_SIGV4_ERROR;
        }

        parts[i]->data = (u_char *) p;
        parts[i]->len = (size_t) (slash - p);
        p = slash + 1;
    }

    if (memchr(p, '/', (size_t) (end - p)) != NULL) {
        return SPECTRA_SIGV4_ERROR;
    }

    /* the terminator is checked with the rest of the scope */
    auth->expires = 0;
    auth->signature.len = (size_t) (end - p);   /* borrowed: terminator */
    auth->signature.data = (u_char *) p;

    return SPECTRA_SIGV4_OK;
}


static int
spectra_sigv4_str_is(const spectra_str_t *s, const char *lit)
{
    size_t  n = strlen(lit);

    return s->len == n && memcmp(s->data, lit, n) == 0;
}


static int
spectra_sigv4_parse_authorization(const u_char *p, size_t len,
    spectra_sigv4_auth_t *auth, spectra_sigv4_refusal_t *refusal)
{
    static const char     alg[] = SPECTRA_SIGV4_ALGORITHM;
    const u_char         *end, *comma, *eq;
    spectra_str_t         credential, terminator;
    size_t                nlen;
    int                   have_cred, have_sh, have_sig;

    end = p + len;

    if (len < sizeof(alg) || memcmp(p, alg, sizeof(alg) - 1) != 0
        || (p[sizeof(alg) - 1] != ' '))
    {
        spectra_sigv4_fail(refusal, 400, "IncompleteSignatureException",
                           "Unsupported Authorization Type");
        return SPECTRA_SIGV4_ERROR;
    }

    p += sizeof(alg);
    have_cred = have_sh = have_sig = 0;
    credential.len = 0;
    credential.data = NULL;

    while (p < end) {
        while (p < end && (*p == ' ' || *p == ',')) {
            p++;
        }

        if (p == end) {
            break;
        }

        comma = memchr(p, ',', (size_t) (end - p));
        if (comma == NULL) {
            comma = end;
        }

        eq = memchr(p, '=', (size_t) (comma - p));
        if (eq == NULL) {
            spectra_sigv4_fail(refusal, 400, "IncompleteSignatureException",
                               "Authorization header components must be "
                               "of the form Name=Value");
            return SPECTRA_SIGV4_ERROR;
        }

        nlen = (size_t) (eq - p);

        if (nlen == 10 && memcmp(p, "Credential", 10) == 0) {
            credential.data = (u_char *) eq + 1;
            credential.len = (size_t) (comma - eq - 1);
            have_cred = 1;

        } else if (nlen == 13 && memcmp(p, "SignedHeaders", 13) == 0) {
            auth->signed_headers.data = (u_char *) eq + 1;
            auth->signed_headers.len = (size_t) (comma - eq - 1);
            have_sh = 1;

        } else if (nlen == 9 && memcmp(p, "Signature", 9) == 0) {
            auth->signature.data = (u_char *) eq + 1;
            auth->signature.len = (size_t) (comma - eq - 1);
            have_sig = 1;
        }

        p = comma;
    }

    if (!have_cred || !have_sh || !have_sig) {
        spectra_sigv4_fail(refusal, 400, "IncompleteSignatureException",
                           "%s%s%s",
                           have_cred ? "" : "Authorization header requires "
                                            "'Credential' parameter. ",
                           have_sig ? "" : "Authorization header requires "
                                           "'Signature' parameter. ",
                           have_sh ? "" : "Authorization header requires "
                                          "'SignedHeaders' parameter. ");
        refusal->err.message[strcspn(refusal->err.message, "\0")] = '\0';
        return SPECTRA_SIGV4_ERROR;
    }

    terminator = auth->signature;

    if (spectra_sigv4_parse_credential(credential.data, credential.len, auth)
        != SPECTRA_SIGV4_OK)
    {
        spectra_sigv4_fail(refusal, 400, "IncompleteSignatureException",
                           "Credential must have exactly 5 slash-delimited "
                           "elements, e.g. keyid/date/region/service/term");
        return SPECTRA_SIGV4_ERROR;
    }

    /* parse_credential left the terminator in auth->signature */
    credential = auth->signature;
    auth->signature = terminator;

    if (!spectra_sigv4_str_is(&credential, SPECTRA_SIGV4_TERMINATOR)) {
        spectra_sigv4_fail(refusal, 403, "InvalidSignatureException",
                           "Credential should be scoped with a valid "
                           "terminator: 'aws4_request', not '%.*s'.",
                           (int) (credential.len > 32 ? 32 : credential.len),
                           (const char *) credential.data);
        return SPECTRA_SIGV4_ERROR;
    }

    return SPECTRA_SIGV4_OK;
}


static int
spectra_sigv4_check_scope(const spectra_sigv4_verify_t *v,
    const spectra_sigv4_auth_t *auth, spectra_sigv4_refusal_t *refusal,
    int presigned)
{
    size_t  i;
    int     has_host, has_date;

    if (auth->region.len == 0 || auth->region.len > SPECTRA_SIGV4_SCOPE_MAX) {
        spectra_sigv4_fail(refusal, presigned ? 400 : 403, presigned
                           ? "AuthorizationQueryParametersError"
                           : "InvalidSignatureException",
                           "Credential should be scoped to a valid region.");
        return SPECTRA_SIGV4_ERROR;
    }

    for (i = 0; i < auth->region.len; i++) {
        u_char  c = auth->region.data[i];

        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) {
            spectra_sigv4_fail(refusal, presigned ? 400 : 403,
                               presigned
                               ? "AuthorizationQueryParametersError"
                               : "InvalidSignatureException",
                               "Credential should be scoped to a valid "
                               "region.");
            return SPECTRA_SIGV4_ERROR;
        }
    }

    if (v->region.len != 0
        && (auth->region.len != v->region.len
            || memcmp(auth->region.data, v->region.data, v->region.len) != 0))
    {
        if (presigned) {
            spectra_sigv4_fail(refusal, 400,
                               "AuthorizationQueryParametersError",
                               "Error parsing the X-Amz-Credential "
                               "parameter; the region '%.*s' is wrong; "
                               "expecting '%.*s'",
                               (int) auth->region.len,
                               (const char *) auth->region.data,
                               (int) v->region.len,
                               (const char *) v->region.data);

        } else {
            spectra_sigv4_fail(refusal, 403, "InvalidSignatureException",
                               "Credential should be scoped to a valid "
                               "region.");
        }

        return SPECTRA_SIGV4_ERROR;
    }

    if (auth->service.len != v->service.len
        || memcmp(auth->service.data, v->service.data, v->service.len) != 0)
    {
        spectra_sigv4_fail(refusal, presigned ? 400 : 403, presigned
                           ? "AuthorizationQueryParametersError"
                           : "InvalidSignatureException",
                           "Credential should be scoped to correct service: "
                           "'%.*s'. ", (int) v->service.len,
                           (const char *) v->service.data);
        return SPECTRA_SIGV4_ERROR;
    }

    if (auth->date.len != 8 || auth->amz_date.len != SPECTRA_SIGV4_DATE_LEN
        || memcmp(auth->date.data, auth->amz_date.data, 8) != 0)
    {
        spectra_sigv4_fail(refusal, 403, presigned ? "AccessDenied"
                                               : "InvalidSignatureException",
                           "Date in Credential scope does not match "
                           "YYYYMMDD from ISO-8601 version of date from "
                           "HTTP: '%.*s' != '%.8s', from '%.16s'.",
                           (int) (auth->date.len > 16 ? 16 : auth->date.len),
                           (const char *) auth->date.data,
                           (const char *) auth->amz_date.data,
                           (const char *) auth->amz_date.data);
        return SPECTRA_SIGV4_ERROR;
    }

    /* signed header names: lowercase tokens; host and x-amz-date needed */
    has_host = has_date = 0;

    for (i = 0; i < auth->signed_headers.len; i++) {
        u_char  c = auth->signed_headers.data[i];

        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'
              || c == ';'))
        {
            spectra_sigv4_fail(refusal, presigned ? 400 : 403,
                               presigned
                               ? "AuthorizationQueryParametersError"
                               : "InvalidSignatureException",
                               "SignedHeaders must be lowercase header "
                               "names separated by ';'.");
            return SPECTRA_SIGV4_ERROR;
        }
    }

    {
        const u_char  *p = auth->signed_headers.data;
        const u_char  *end = p + auth->signed_headers.len, *semi;

        while (p < end) {
            semi = memchr(p, ';', (size_t) (end - p));
            if (semi == NULL) {
                semi = end;
            }

            if (semi - p == 4 && memcmp(p, "host", 4) == 0) {
                has_host = 1;
            }

            if (semi - p == 10 && memcmp(p, "x-amz-date", 10) == 0) {
                has_date = 1;
            }

            p = semi + 1;
        }
    }

    if (!has_host) {
        spectra_sigv4_fail(refusal, presigned ? 400 : 403, presigned
                           ? "AuthorizationQueryParametersError"
                           : "InvalidSignatureException",
                           "'Host' or ':authority' must be a 'SignedHeader' "
                           "in the AWS Authorization.");
        return SPECTRA_SIGV4_ERROR;
    }

    if (!presigned && !has_date) {
        spectra_sigv4_fail(refusal, 403, "InvalidSignatureException",
                           "'X-Amz-Date' must be a 'SignedHeader' in the "
                           "AWS Authorization.");
        return SPECTRA_SIGV4_ERROR;
    }

    return SPECTRA_SIGV4_OK;
}


int
spectra_sigv4_verify(const spectra_sigv4_verify_t *v,
    spectra_sigv4_auth_t *auth, spectra_sigv4_refusal_t *refusal)
{
    const spectra_sigv4_header_t  *h, *th;
    spectra_sigv4_request_t        req;
    spectra_str_t                  secret, expect;
    u_char                         payload[SPECTRA_SIGV4_HEX_LEN];
    u_char                         sig[SPECTRA_SIGV4_HEX_LEN];
    u_char                         a[SPECTRA_SIGV4_DATE_LEN + 1];
    u_char                         b[SPECTRA_SIGV4_DATE_LEN + 1];
    time_t                         t;
    int                            missing, same;

    memset(auth, 0, sizeof(*auth));

    h = spectra_sigv4_find_header(v, "authorization");
    if (h == NULL) {
        spectra_sigv4_fail(refusal, 400, "MissingAuthenticationTokenException",
                           "Missing Authentication Token");
        return SPECTRA_SIGV4_ERROR;
    }

    if (spectra_sigv4_parse_authorization(h->value.data, h->value.len, auth,
                                          refusal)
        != SPECTRA_SIGV4_OK)
    {
        return SPECTRA_SIGV4_ERROR;
    }

    h = spectra_sigv4_find_header(v, "x-amz-date");
    if (h == NULL) {
        spectra_sigv4_fail(refusal, 400, "IncompleteSignatureException",
                           "Authorization header requires existence of "
                           "either a 'X-Amz-Date' or a 'Date' header.");
        return SPECTRA_SIGV4_ERROR;
    }

    auth->amz_date = h->value;

    if (spectra_sigv4_parse_amz_date(h->value.data, h->value.len, &t)
        != SPECTRA_SIGV4_OK)
    {
        spectra_sigv4_fail(refusal, 400, "IncompleteSignatureException",
                           "Date must be in ISO-8601 'basic format'.");
        return SPECTRA_SIGV4_ERROR;
    }

    if (spectra_sigv4_check_scope(v, auth, refusal, 0) != SPECTRA_SIGV4_OK) {
        return SPECTRA_SIGV4_ERROR;
    }

    if (t < v->now - SPECTRA_SIGV4_MAX_SKEW) {
        spectra_sigv4_amz_date(v->now - SPECTRA_SIGV4_MAX_SKEW, a);
        spectra_sigv4_amz_date(v->now, b);
        a[SPECTRA_SIGV4_DATE_LEN] = b[SPECTRA_SIGV4_DATE_LEN] = '\0';
        spectra_sigv4_fail(refusal, 403, "InvalidSignatureException",
                           "Signature expired: %.16s is now earlier than "
                           "%s (%s - 15 min.)",
                           (const char *) auth->amz_date.data, a, b);
        return SPECTRA_SIGV4_ERROR;
    }

    if (t > v->now + SPECTRA_SIGV4_MAX_SKEW) {
        spectra_sigv4_amz_date(v->now + SPECTRA_SIGV4_MAX_SKEW, a);
        spectra_sigv4_amz_date(v->now, b);
        a[SPECTRA_SIGV4_DATE_LEN] = b[SPECTRA_SIGV4_DATE_LEN] = '\0';
        spectra_sigv4_fail(refusal, 403, "InvalidSignatureException",
                           "Signature not yet current: %.16s is still "
                           "later than %s (%s + 15 min.)",
                           (const char *) auth->amz_date.data, a, b);
        return SPECTRA_SIGV4_ERROR;
    }

    th = spectra_sigv4_find_header(v, "x-amz-security-token");

    expect.len = 0;
    expect.data = NULL;

    if (th != NULL && v->token != NULL
        && v->token(v->lookup_data, auth->access_key.data,
                    auth->access_key.len, &expect) != SPECTRA_SIGV4_OK)
    {
        expect.len = 0;
    }

    /*
     * Without v->token no temporary credentials are issued: any token is
     * invalid.  With it, a token must be the key's.
     */
    if (v->lookup(v->lookup_data, auth->access_key.data,
                  auth->access_key.len, &secret) != SPECTRA_SIGV4_OK
        || (th != NULL
            && (expect.len == 0 || th->value.len != expect.len
                || CRYPTO_memcmp(th->value.data, expect.data, expect.len)
                   != 0)))
    {
        spectra_sigv4_fail(refusal, 403, "UnrecognizedClientException",
                           "The security token included in the request is "
                           "invalid.");
        return SPECTRA_SIGV4_ERROR;
    }

    if (th == NULL && v->token != NULL
        && v->token(v->lookup_data, auth->access_key.data,
                    auth->access_key.len, &expect) == SPECTRA_SIGV4_OK
        && expect.len != 0)
    {
        /* temporary credentials without their token */
        spectra_sigv4_fail(refusal, 403, "UnrecognizedClientException",
                           "The security token included in the request is "
                           "invalid.");
        return SPECTRA_SIGV4_ERROR;
    }

    spectra_sigv4_sha256_hex(v->body.data, v->body.len, payload);

    req.method = v->method;
    req.path = v->path;
    req.query = v->query;
    req.headers = v->headers;
    req.nheaders = v->nheaders;
    req.payload_hash.data = payload;
    req.payload_hash.len = SPECTRA_SIGV4_HEX_LEN;
    req.s3 = v->s3;
    missing = 0;

    if (spectra_sigv4_compute(&req, &auth->signed_headers, 0, &secret,
                              &auth->date, &auth->region, &auth->service,
                              auth->amz_date.data, sig, NULL, &missing)
        != SPECTRA_SIGV4_OK)
    {
        spectra_sigv4_fail(refusal, 400, "IncompleteSignatureException",
                           "The request could not be canonicalized.");
        return SPECTRA_SIGV4_ERROR;
    }

    same = auth->signature.len == SPECTRA_SIGV4_HEX_LEN
           && CRYPTO_memcmp(sig, auth->signature.data,
                            SPECTRA_SIGV4_HEX_LEN) == 0;

    OPENSSL_cleanse(sig, sizeof(sig));

    if (!same || missing) {
        spectra_sigv4_fail(refusal, 403, "InvalidSignatureException",
                           "The request signature we calculated does not "
                           "match the signature you provided. Check your "
                           "AWS Secret Access Key and signing method. "
                           "Consult the service documentation for details.");
        return SPECTRA_SIGV4_ERROR;
    }

    return SPECTRA_SIGV4_OK;
}


int
spectra_sigv4_presign(const spectra_str_t *method,
    const spectra_str_t *host, const spectra_str_t *path,
    unsigned s3, time_t now, unsigned expires,
    const spectra_sigv4_credentials_t *cred, u_char *out, size_t size,
    size_t *len)
{
    spectra_sigv4_header_t   header;
    spectra_sigv4_request_t  req;
    u_char                   amz_date[SPECTRA_SIGV4_DATE_LEN];
    u_char                   sig[SPECTRA_SIGV4_HEX_LEN];
    u_char                   tmp[512];
    size_t                   n, e;
    int                      rc;

    if (expires == 0 || expires > SPECTRA_SIGV4_MAX_EXPIRES
        || cred->region.len > SPECTRA_SIGV4_SCOPE_MAX
        || cred->service.len > SPECTRA_SIGV4_SCOPE_MAX)
    {
        return SPECTRA_SIGV4_ERROR;
    }

    spectra_sigv4_amz_date(now, amz_date);

    rc = snprintf((char *) tmp, sizeof(tmp), "%.*s/%.8s/%.*s/%.*s/"
                  SPECTRA_SIGV4_TERMINATOR,
                  (int) cred->access_key.len,
                  (const char *) cred->access_key.data,
                  (const char *) amz_date,
                  (int) cred->region.len, (const char *) cred->region.data,
                  (int) cred->service.len, (const char *) cred->service.data);
    if (rc < 0 || (size_t) rc >= sizeof(tmp)) {
        return SPECTRA_SIGV4_ERROR;
    }

    n = 0;

#define spectra_sigv4_put(s, l)                                              \
    do {                                                                     \
        if (n + (l) >= size) {                                               \
            return SPECTRA_SIGV4_ERROR;                                      \
        }                                                                    \
        memcpy(out + n, s, l);                                               \
        n += l;                                                              \
    } while (0)

    spectra_sigv4_put("X-Amz-Algorithm=" SPECTRA_SIGV4_ALGORITHM
                      "&X-Amz-Credential=",
                      sizeof("X-Amz-Algorithm=" SPECTRA_SIGV4_ALGORITHM
                             "&X-Amz-Credential=") - 1);

    e = spectra_sigv4_uri_encode(tmp, (size_t) rc, 0, out + n, size - n);
    if (e == 0) {
        return SPECTRA_SIGV4_ERROR;
    }

    n += e;

    spectra_sigv4_put("&X-Amz-Date=", sizeof("&X-Amz-Date=") - 1);
    spectra_sigv4_put(amz_date, SPECTRA_SIGV4_DATE_LEN);

    rc = snprintf((char *) tmp, sizeof(tmp), "&X-Amz-Expires=%u", expires);
    spectra_sigv4_put(tmp, (size_t) rc);

    spectra_sigv4_put("&X-Amz-SignedHeaders=host",
                      sizeof("&X-Amz-SignedHeaders=host") - 1);

    /* after SignedHeaders, where botocore puts it */
    if (cred->session_token.len) {
        spectra_sigv4_put("&X-Amz-Security-Token=",
                          sizeof("&X-Amz-Security-Token=") - 1);
        e = spectra_sigv4_uri_encode(cred->session_token.data,
                                     cred->session_token.len, 0, out + n,
                                     size - n);
        if (e == 0) {
            return SPECTRA_SIGV4_ERROR;
        }

        n += e;
    }

    header.name.data = (u_char *) "host";
    header.name.len = 4;
    header.value = *host;

    req.method = *method;
    req.path = *path;
    req.query.data = out;
    req.query.len = n;
    req.headers = &header;
    req.nheaders = 1;
    req.payload_hash.data = (u_char *) SPECTRA_SIGV4_UNSIGNED_PAYLOAD;
    req.payload_hash.len = sizeof(SPECTRA_SIGV4_UNSIGNED_PAYLOAD) - 1;
    req.s3 = s3;

    if (spectra_sigv4_signature(&req, cred, amz_date, sig, NULL)
        != SPECTRA_SIGV4_OK)
    {
        return SPECTRA_SIGV4_ERROR;
    }

    spectra_sigv4_put("&X-Amz-Signature=", sizeof("&X-Amz-Signature=") - 1);
    spectra_sigv4_put(sig, SPECTRA_SIGV4_HEX_LEN);

#undef spectra_sigv4_put

    out[n] = '\0';
    *len = n;

    return SPECTRA_SIGV4_OK;
}


/*
 * Finds name=value in a raw query and writes the decoded value; *len is
 * (size_t) -1 when the parameter is absent (an error either way).
 */
static int
spectra_sigv4_query_get(const spectra_str_t *query, const char *name,
    u_char *dst, size_t size, size_t *len)
{
    const u_char  *p, *end, *amp;
    size_t         nlen;
    int            ok;

    nlen = strlen(name);
    p = query->data;
    end = p + query->len;

    while (p < end) {
        amp = memchr(p, '&', (size_t) (end - p));
        if (amp == NULL) {
            amp = end;
        }

        if ((size_t) (amp - p) > nlen && memcmp(p, name, nlen) == 0
            && p[nlen] == '=')
        {
            *len = spectra_sigv4_decode(p + nlen + 1,
                                        (size_t) (amp - p - nlen - 1), dst,
                                        size, &ok);
            return ok ? SPECTRA_SIGV4_OK : SPECTRA_SIGV4_ERROR;
        }

        p = amp + 1;
    }

    *len = (size_t) -1;

    return SPECTRA_SIGV4_ERROR;
}


/*
 * The X-Amz-Security-Token of a presigned URL must be the one that goes
 * with its key (v->token), and be there if and only if the key has one.
 */
static int
spectra_sigv4_check_token(const spectra_sigv4_verify_t *v,
    const spectra_sigv4_auth_t *auth, spectra_sigv4_refusal_t *refusal)
{
    u_char         token[SPECTRA_SIGV4_TOKEN_MAX];
    size_t         len;
    spectra_str_t  expect;
    int            rc, same;

    rc = spectra_sigv4_query_get(&v->query, "X-Amz-Security-Token", token,
                                 sizeof(token), &len);

    expect.len = 0;
    expect.data = NULL;

    if (v->token != NULL
        && v->token(v->lookup_data, auth->access_key.data,
                    auth->access_key.len, &expect) != SPECTRA_SIGV4_OK)
    {
        expect.len = 0;
    }

    if (len == (size_t) -1) {
        if (expect.len == 0) {
            return SPECTRA_SIGV4_OK;
        }

        /* temporary credentials without their token */
        spectra_sigv4_fail(refusal, 403, "InvalidAccessKeyId",
                           "The AWS Access Key Id you provided does not "
                           "exist in our records.");
        return SPECTRA_SIGV4_ERROR;
    }

    same = rc == SPECTRA_SIGV4_OK && expect.len != 0 && len == expect.len
           && CRYPTO_memcmp(token, expect.data, len) == 0;

    OPENSSL_cleanse(token, sizeof(token));

    if (!same) {
        spectra_sigv4_fail(refusal, 400, "InvalidToken",
                           "The provided token is malformed or otherwise "
                           "invalid.");
        return SPECTRA_SIGV4_ERROR;
    }

    return SPECTRA_SIGV4_OK;
}


int
spectra_sigv4_verify_presigned(const spectra_sigv4_verify_t *v,
    spectra_sigv4_auth_t *auth, spectra_sigv4_refusal_t *refusal)
{
    spectra_sigv4_request_t  req;
    spectra_str_t            secret, terminator;
    u_char                   algorithm[32], date[32];
    u_char                   expires[16], sh[256], signature[80];
    u_char                   sig[SPECTRA_SIGV4_HEX_LEN];
    size_t                   alen, clen, dlen, elen, shlen, slen, i;
    time_t                   t;
    long                     exp;
    int                      missing, same;

    memset(auth, 0, sizeof(*auth));

    if (spectra_sigv4_query_get(&v->query, "X-Amz-Algorithm", algorithm,
                                sizeof(algorithm), &alen) != SPECTRA_SIGV4_OK
        || spectra_sigv4_query_get(&v->query, "X-Amz-Credential",
                                   auth->credential, sizeof(auth->credential),
                                   &clen)
           != SPECTRA_SIGV4_OK
        || spectra_sigv4_query_get(&v->query, "X-Amz-Date", date,
                                   sizeof(date), &dlen) != SPECTRA_SIGV4_OK
        || spectra_sigv4_query_get(&v->query, "X-Amz-Expires", expires,
                                   sizeof(expires), &elen)
           != SPECTRA_SIGV4_OK
        || spectra_sigv4_query_get(&v->query, "X-Amz-SignedHeaders", sh,
                                   sizeof(sh), &shlen) != SPECTRA_SIGV4_OK
        || spectra_sigv4_query_get(&v->query, "X-Amz-Signature", signature,
                                   sizeof(signature), &slen)
           != SPECTRA_SIGV4_OK)
    {
        spectra_sigv4_fail(refusal, 400, "AuthorizationQueryParametersError",
                           "Query-string authentication version 4 requires "
                           "the X-Amz-Algorithm, X-Amz-Credential, "
                           "X-Amz-Signature, X-Amz-Date, "
                           "X-Amz-SignedHeaders, and X-Amz-Expires "
                           "parameters.");
        return SPECTRA_SIGV4_ERROR;
    }

    if (alen != sizeof(SPECTRA_SIGV4_ALGORITHM) - 1
        || memcmp(algorithm, SPECTRA_SIGV4_ALGORITHM, alen) != 0)
    {
        spectra_sigv4_fail(refusal, 400, "AuthorizationQueryParametersError",
                           "X-Amz-Algorithm only supports "
                           "\"AWS4-HMAC-SHA256\"");
        return SPECTRA_SIGV4_ERROR;
    }

    if (spectra_sigv4_parse_credential(auth->credential, clen, auth)
        != SPECTRA_SIGV4_OK)
    {
        spectra_sigv4_fail(refusal, 400, "AuthorizationQueryParametersError",
                           "Error parsing the X-Amz-Credential parameter; "
                           "the Credential is mal-formed; expecting "
                           "\"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/"
                           "aws4_request\".");
        return SPECTRA_SIGV4_ERROR;
    }

    terminator = auth->signature;

    if (!spectra_sigv4_str_is(&terminator, SPECTRA_SIGV4_TERMINATOR)) {
        spectra_sigv4_fail(refusal, 400, "AuthorizationQueryParametersError",
                           "Error parsing the X-Amz-Credential parameter; "
                           "incorrect terminal. This endpoint uses "
                           "\"aws4_request\".");
        return SPECTRA_SIGV4_ERROR;
    }

    auth->signature.data = signature;
    auth->signature.len = slen;
    auth->signed_headers.data = sh;
    auth->signed_headers.len = shlen;
    auth->amz_date.data = date;
    auth->amz_date.len = dlen;

    if (spectra_sigv4_parse_amz_date(date, dlen, &t) != SPECTRA_SIGV4_OK) {
        spectra_sigv4_fail(refusal, 400, "AuthorizationQueryParametersError",
                           "X-Amz-Date must be in the ISO8601 Long Format "
                           "\"yyyyMMdd'T'HHmmss'Z'\"");
        return SPECTRA_SIGV4_ERROR;
    }

    exp = 0;
    for (i = 0; i < elen; i++) {
        if (expires[i] < '0' || expires[i] > '9' || exp > 100000000) {
            exp = -1;
            break;
        }

        exp = exp * 10 + (expires[i] - '0');
    }

    if (elen == 0 || exp < 0) {
        spectra_sigv4_fail(refusal, 400, "AuthorizationQueryParametersError",
                           "X-Amz-Expires should be a number");
        return SPECTRA_SIGV4_ERROR;
    }

    if (exp > SPECTRA_SIGV4_MAX_EXPIRES) {
        spectra_sigv4_fail(refusal, 400, "AuthorizationQueryParametersError",
                           "X-Amz-Expires must be less than a week (in "
                           "seconds) that is, the given X-Amz-Expires must "
                           "be less than 604800 seconds");
        return SPECTRA_SIGV4_ERROR;
    }

    if (spectra_sigv4_check_scope(v, auth, refusal, 1) != SPECTRA_SIGV4_OK) {
        return SPECTRA_SIGV4_ERROR;
    }

    auth->expires = t + exp;

    if (t > v->now + SPECTRA_SIGV4_MAX_SKEW) {
        spectra_sigv4_fail(refusal, 403, "AccessDenied",
                           "Request is not valid yet");
        return SPECTRA_SIGV4_ERROR;
    }

    if (v->now > auth->expires) {
        spectra_sigv4_fail(refusal, 403, "AccessDenied", "Request has expired");
        return SPECTRA_SIGV4_ERROR;
    }

    if (v->lookup(v->lookup_data, auth->access_key.data,
                  auth->access_key.len, &secret) != SPECTRA_SIGV4_OK)
    {
        spectra_sigv4_fail(refusal, 403, "InvalidAccessKeyId",
                           "The AWS Access Key Id you provided does not "
                           "exist in our records.");
        return SPECTRA_SIGV4_ERROR;
    }

    if (spectra_sigv4_check_token(v, auth, refusal) != SPECTRA_SIGV4_OK) {
        return SPECTRA_SIGV4_ERROR;
    }

    req.method = v->method;
    req.path = v->path;
    req.query = v->query;
    req.headers = v->headers;
    req.nheaders = v->nheaders;
    req.payload_hash.data = (u_char *) SPECTRA_SIGV4_UNSIGNED_PAYLOAD;
    req.payload_hash.len = sizeof(SPECTRA_SIGV4_UNSIGNED_PAYLOAD) - 1;
    req.s3 = v->s3;
    missing = 0;

    if (spectra_sigv4_compute(&req, &auth->signed_headers, 1, &secret,
                              &auth->date, &auth->region, &auth->service,
                              date, sig, NULL, &missing)
        != SPECTRA_SIGV4_OK)
    {
        spectra_sigv4_fail(refusal, 400, "AuthorizationQueryParametersError",
                           "The request could not be canonicalized.");
        return SPECTRA_SIGV4_ERROR;
    }

    same = slen == SPECTRA_SIGV4_HEX_LEN
           && CRYPTO_memcmp(sig, signature, SPECTRA_SIGV4_HEX_LEN) == 0;

    OPENSSL_cleanse(sig, sizeof(sig));

    /* the decoded copies live on this stack frame: do not hand them out */
    auth->signature.data = NULL;
    auth->signature.len = 0;
    auth->signed_headers.data = NULL;
    auth->signed_headers.len = 0;
    auth->amz_date.data = NULL;
    auth->amz_date.len = 0;

    if (!same || missing) {
        spectra_sigv4_fail(refusal, 403, "SignatureDoesNotMatch",
                           "The request signature we calculated does not "
                           "match the signature you provided. Check your "
                           "key and signing method.");
        return SPECTRA_SIGV4_ERROR;
    }

    return SPECTRA_SIGV4_OK;
}
