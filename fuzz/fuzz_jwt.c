/*
 * JWT verification against the unit tests' key set (HMAC, RSA, EC, a
 * JWKS).  An input that starts with "S\n" is two fields, a header and a
 * payload, that the target encodes and signs with the HMAC key first, so
 * that the claim checks behind the signature are reached too.
 */

#include <stdio.h>

#include <openssl/hmac.h>

#include "fuzz.h"
#include "spectra_jwt.h"


int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_KEYS  "t/data/auth/keys/"


static spectra_jwt_keyset_t  *fuzz_ks;
static u_char                 fuzz_secret[256];
static size_t                 fuzz_secret_len;


static u_char *
fuzz_slurp(const char *path, size_t *len)
{
    FILE    *f;
    long     n;
    u_char  *buf;

    f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "fuzz_jwt: cannot open %s (run from the checkout)\n",
                path);
        exit(1);
    }

    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);

    buf = malloc((size_t) n + 1);
    if (buf == NULL || fread(buf, 1, (size_t) n, f) != (size_t) n) {
        exit(1);
    }

    fclose(f);
    *len = (size_t) n;

    return buf;
}


static void
fuzz_add(const char *file, spectra_jwt_key_format_t format, const char *algs,
    const char *kid)
{
    u_char         *p;
    size_t          len;
    unsigned        mask;
    spectra_err_t   err;

    p = fuzz_slurp(file, &len);

    mask = 0;
    if (algs != NULL
        && spectra_jwt_algs_parse((const u_char *) algs, strlen(algs), &mask)
           != 0)
    {
        exit(1);
    }

    if (spectra_jwt_keyset_add(fuzz_ks, p, len, format, mask,
                               (const u_char *) kid, kid ? strlen(kid) : 0,
                               &err)
        != 0)
    {
        fprintf(stderr, "fuzz_jwt: %s: %s\n", file, err.message);
        exit(1);
    }

    free(p);
}


int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    u_char  *p;
    size_t   len;

    fuzz_ks = spectra_jwt_keyset_new();
    if (fuzz_ks == NULL) {
        exit(1);
    }

    fuzz_add(FUZZ_KEYS "hs.secret", SPECTRA_JWT_KEY_AUTO, "HS256,HS384,HS512",
             "hs");
    fuzz_add(FUZZ_KEYS "rsa.pub", SPECTRA_JWT_KEY_AUTO, "RS256,RS384,RS512",
             "rs");
    fuzz_add(FUZZ_KEYS "ec256.pub", SPECTRA_JWT_KEY_PEM, NULL, "es256");
    fuzz_add(FUZZ_KEYS "jwks.json", SPECTRA_JWT_KEY_AUTO, NULL, NULL);

    p = fuzz_slurp(FUZZ_KEYS "hs.secret", &len);
    while (len && (p[len - 1] == '\n' || p[len - 1] == '\r')) {
        len--;
    }

    if (len > sizeof(fuzz_secret)) {
        exit(1);
    }

    memcpy(fuzz_secret, p, len);
    fuzz_secret_len = len;
    free(p);

    return 0;
}


/* header.payload.signature of two JSON texts, signed with HS256 */
static u_char *
fuzz_sign(fuzz_pool_t *fp, const spectra_str_t *header,
    const spectra_str_t *payload, size_t *len)
{
    u_char        *t, *p;
    unsigned int   maclen;
    u_char         mac[EVP_MAX_MD_SIZE];

    t = fuzz_alloc(fp, (header->len + payload->len) * 4 / 3 + 128);
    if (t == NULL) {
        return NULL;
    }

    p = t;
    p += spectra_base64url_encode(header->data, header->len, p);
    *p++ = '.';
    p += spectra_base64url_encode(payload->data, payload->len, p);

    if (HMAC(EVP_sha256(), fuzz_secret, (int) fuzz_secret_len, t,
             (size_t) (p - t), mac, &maclen)
        == NULL)
    {
        return NULL;
    }

    *p++ = '.';
    p += spectra_base64url_encode(mac, maclen, p);

    *len = (size_t) (p - t);

    return t;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    u_char                *token;
    size_t                 len;
    const char            *reason;
    fuzz_pool_t            fp;
    fuzz_fields_t          ff;
    spectra_str_t          header, payload;
    spectra_jwt_rc_t       rc;
    spectra_jwt_token_t    tok;
    spectra_jwt_policy_t   policy;
    static spectra_str_t   aud = spectra_string("spectra");

    fuzz_pool_init(&fp);

    if (size >= 2 && data[0] == 'S' && data[1] == '\n') {
        fuzz_fields_init(&ff, data + 2, size - 2);

        if (fuzz_field(&ff, &fp, &header) != 0
            || fuzz_field(&ff, &fp, &payload) != 0
            || header.len > 4096 || payload.len > 4096)
        {
            fuzz_pool_free(&fp);
            return 0;
        }

        token = fuzz_sign(&fp, &header, &payload, &len);

    } else {
        token = fuzz_copy(&fp, data, size);
        len = size;
    }

    if (token != NULL) {
        memset(&policy, 0, sizeof(spectra_jwt_policy_t));
        policy.issuer.data = (u_char *) "https://issuer.spectra.test";
        policy.issuer.len = sizeof("https://issuer.spectra.test") - 1;
        policy.audiences = &aud;
        policy.naudiences = 1;
        policy.now = 1700000000;
        policy.leeway = 60;
        policy.max_size = 16384;

        tok.payload = NULL;
        reason = NULL;

        rc = spectra_jwt_verify(fuzz_ks, &policy, token, len, &tok, &reason);

        if (rc == SPECTRA_JWT_OK) {
            if (tok.payload == NULL || !json_is_object(tok.payload)) {
                abort();
            }

            json_decref(tok.payload);

        } else if (reason == NULL) {
            abort();
        }
    }

    fuzz_pool_free(&fp);

    return 0;
}
