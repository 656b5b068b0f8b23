/*
 * The cost of verifying a fresh JWT in the nginx-free core, next to the
 * cost of its signature check alone (the same OpenSSL key and operation
 * that "openssl speed" times: a public key operation on a ready digest,
 * with a context prepared once).  Both are timed in this process, one
 * after the other, in CPU time, so that the ratio holds on a shared
 * machine.
 *
 * Usage: jwt-verify KEY TOKENS N [KID]
 *   KEY     a PEM public key (RS256 or ES256) or an HMAC secret file
 *   TOKENS  a file of compact JWS, one per line, signed by that key
 *   N       verifications to time (cycling through the tokens)
 *   KID     the key's kid, when the tokens name one
 * Prints "alg verify_us sig_us ratio"; the tokens must all verify.
 * The claims are those of bench/auth.sh (iss, aud "spectra", tenant_id).
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "spectra_jwt.h"
#include "spectra_claims.h"


#define BENCH_MAX_TOKENS  8192


static double cpu_now(void);
static u_char *slurp(const char *path, size_t *len);
static void *bench_alloc(void *pool, size_t size);
static EVP_PKEY_CTX *sig_prepare(const char *key_path, const u_char *tok,
    size_t len);
static double sig_run(EVP_PKEY_CTX *ctx, long n);


/* the prepared signature, digest and their sizes for sig_run() */
static u_char   sig_buf[1024], sig_md[EVP_MAX_MD_SIZE];
static size_t   sig_len, sig_md_len;


static double
cpu_now(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);

    return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}


static u_char *
slurp(const char *path, size_t *len)
{
    u_char  *buf;
    long     n;
    FILE    *f;

    f = fopen(path, "rb");
    if (f == NULL) {
        perror(path);
        exit(1);
    }

    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);

    buf = malloc((size_t) n + 1);
    if (buf == NULL || fread(buf, 1, (size_t) n, f) != (size_t) n) {
        fprintf(stderr, "%s: read failed\n", path);
        exit(1);
    }

    fclose(f);
    buf[n] = '\0';
    *len = (size_t) n;

    return buf;
}


static void *
bench_alloc(void *pool, size_t size)
{
    /* a bump allocator over a static arena, reset per verification */
    static u_char   arena[4096];
    size_t         *used;

    used = pool;

    if (*used + size > sizeof(arena)) {
        *used = 0;
    }

    *used += size;

    return arena + *used - size;
}


/*
 * The signature check alone: the signing input hashed once up front, then
 * EVP_PKEY_verify() on a context set up once (what "openssl speed rsa2048"
 * and "ecdsap256" time).  ES256's R||S is converted to DER once.
 */

static EVP_PKEY_CTX *
sig_prepare(const char *key_path, const u_char *tok, size_t len)
{
    int             ec;
    size_t          d1, d2;
    u_char          der[160], *dp;
    BIGNUM         *r, *s;
    FILE           *f;
    EVP_PKEY       *pkey;
    ECDSA_SIG      *es;
    EVP_PKEY_CTX   *ctx;
    unsigned int    mdlen;
    const u_char   *dot;

    f = fopen(key_path, "r");
    pkey = (f != NULL) ? PEM_read_PUBKEY(f, NULL, NULL, NULL) : NULL;
    if (f != NULL) {
        fclose(f);
    }

    if (pkey == NULL) {
        return NULL;     /* HMAC: no public key operation */
    }

    ec = EVP_PKEY_is_a(pkey, "EC");

    dot = memchr(tok, '.', len);
    d1 = (size_t) (dot - tok);
    dot = memchr(tok + d1 + 1, '.', len - d1 - 1);
    d2 = (size_t) (dot - tok);

    if (spectra_base64url_decode(tok + d2 + 1, len - d2 - 1, sig_buf,
                                 &sig_len)
        != 0)
    {
        fprintf(stderr, "signature not base64url\n");
        exit(1);
    }

    EVP_Digest(tok, d2, sig_md, &mdlen, EVP_sha256(), NULL);
    sig_md_len = mdlen;

    if (ec) {
        es = ECDSA_SIG_new();
        r = BN_bin2bn(sig_buf, 32, NULL);
        s = BN_bin2bn(sig_buf + 32, 32, NULL);
        ECDSA_SIG_set0(es, r, s);
        dp = der;
        sig_len = (size_t) i2d_ECDSA_SIG(es, &dp);
        ECDSA_SIG_free(es);
        memcpy(sig_buf, der, sig_len);
    }

    ctx = EVP_PKEY_CTX_new(pkey, NULL);
    EVP_PKEY_free(pkey);

    if (ctx == NULL || EVP_PKEY_verify_init(ctx) <= 0
        || EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()) <= 0
        || (!ec && EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING)
                   <= 0)
        || EVP_PKEY_verify(ctx, sig_buf, sig_len, sig_md, sig_md_len) != 1)
    {
        fprintf(stderr, "the signature check alone failed\n");
        exit(1);
    }

    return ctx;
}


/* CPU seconds of n signature checks */

static double
sig_run(EVP_PKEY_CTX *ctx, long n)
{
    long    i;
    double  t0;

    t0 = cpu_now();

    for (i = 0; i < n; i++) {
        if (EVP_PKEY_verify(ctx, sig_buf, sig_len, sig_md, sig_md_len) != 1)
        {
            exit(1);
        }
    }

    return cpu_now() - t0;
}


int
main(int argc, char **argv)
{
    int                      rc;
    long                     i, j, n, block, done;
    size_t                   klen, tlen, ntok, k, used;
    u_char                  *kbuf, *tbuf, *p, *nl;
    u_char                  *tok[BENCH_MAX_TOKENS];
    size_t                   toklen[BENCH_MAX_TOKENS];
    double                   t0, t1, verify_s, sig_s, verify_us, sig_us;
    const char              *reason;
    spectra_err_t            err;
    spectra_pool_t           pool;
    spectra_claims_t         claims;
    spectra_jwt_token_t      token;
    spectra_jwt_policy_t     policy;
    EVP_PKEY_CTX            *ctx;
    spectra_jwt_keyset_t    *ks;
    spectra_claims_names_t   names;
    static spectra_str_t     aud = spectra_string("spectra");

    if (argc < 4) {
        fprintf(stderr, "usage: jwt-verify KEY TOKENS N\n");
        return 2;
    }

    n = atol(argv[3]);
    kbuf = slurp(argv[1], &klen);
    tbuf = slurp(argv[2], &tlen);

    ks = spectra_jwt_keyset_new();
    if (ks == NULL
        || spectra_jwt_keyset_add(ks, kbuf, klen,
                                  strstr((char *) kbuf, "BEGIN") != NULL
                                  ? SPECTRA_JWT_KEY_PEM
                                  : SPECTRA_JWT_KEY_HMAC,
                                  0, (u_char *) argv[4],
                                  argv[4] ? strlen(argv[4]) : 0, &err)
           != 0)
    {
        fprintf(stderr, "key: %s\n", ks ? err.message : "out of memory");
        return 1;
    }

    ntok = 0;

    for (p = tbuf; p < tbuf + tlen && ntok < BENCH_MAX_TOKENS; p = nl + 1) {
        nl = memchr(p, '\n', (size_t) (tbuf + tlen - p));
        if (nl == NULL) {
            nl = tbuf + tlen;
        }

        if (nl > p) {
            tok[ntok] = p;
            toklen[ntok] = (size_t) (nl - p);
            ntok++;
        }
    }

    if (ntok == 0) {
        fprintf(stderr, "no tokens\n");
        return 1;
    }

    policy.issuer.data = (u_char *) "https://spectra.local/demo";
    policy.issuer.len = sizeof("https://spectra.local/demo") - 1;
    policy.audiences = &aud;
    policy.naudiences = 1;
    policy.now = (int64_t) time(NULL);
    policy.leeway = 60;
    policy.max_size = 8192;

    names.tenant_id = "tenant_id";
    names.db_user = "db_user";
    names.db_group = "db_group";
    names.permissions = "permissions";
    names.db_user_prefix.data = (u_char *) "tenant_";
    names.db_user_prefix.len = sizeof("tenant_") - 1;

    used = 0;
    pool.alloc = bench_alloc;
    pool.pool = &used;

    /*
     * Blocks of verifications and of signature checks alternate, so that
     * both see the same moments of a shared machine.
     */
    ctx = sig_prepare(argv[1], tok[0], toklen[0]);
    verify_s = 0.0;
    sig_s = 0.0;
    block = (n >= 20) ? n / 20 : 1;
    done = 0;

    for (i = 0; i < n; i += block) {
        if (ctx != NULL) {
            sig_s += sig_run(ctx, block);
        }

        t0 = cpu_now();

        for (j = i; j < i + block; j++) {
            k = (size_t) j % ntok;

            rc = spectra_jwt_verify(ks, &policy, tok[k], toklen[k], &token,
                                    &reason);
            if (rc != SPECTRA_JWT_OK) {
                fprintf(stderr, "token %zu: %s\n", k, reason);
                return 1;
            }

            rc = spectra_claims_tenant(token.payload, &names, &pool,
                                       &claims, &reason);
            json_decref(token.payload);

            if (rc != SPECTRA_CLAIMS_OK) {
                fprintf(stderr, "token %zu claims: %s\n", k, reason);
                return 1;
            }
        }

        t1 = cpu_now();
        verify_s += t1 - t0;
        done += block;
    }

    verify_us = verify_s * 1e6 / (double) done;
    sig_us = (ctx != NULL) ? sig_s * 1e6 / (double) done : 0.0;

    printf("%s\t%.2f\t%.2f\t%.3f\n", spectra_jwt_alg_name(token.alg),
           verify_us, sig_us, sig_us > 0 ? verify_us / sig_us : 0.0);

    EVP_PKEY_CTX_free(ctx);
    spectra_jwt_keyset_free(ks);

    return 0;
}
