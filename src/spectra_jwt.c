/*
 * JWT verification: key sets (HMAC secrets, PEM public keys, JWKS) with
 * pinned algorithms, and strict JWS compact parsing, signature and claim
 * checks with OpenSSL 3.  Contexts are prepared once per key and algorithm
 * when the set is built; a verification only duplicates them.
 */

#include "spectra_jwt.h"
#include "spectra_jwk.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ecdsa.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>


#define SPECTRA_JWT_FAMILY_HMAC   0
#define SPECTRA_JWT_FAMILY_RSA    1
#define SPECTRA_JWT_FAMILY_EC     2

#define SPECTRA_JWT_FAMILY(alg)   ((alg) / 3)
#define SPECTRA_JWT_HASH(alg)     ((alg) % 3)

#define SPECTRA_JWT_MAX_KEYS      256


typedef struct {
    char                       *kid;
    size_t                      kid_len;
    int                         family;
    unsigned                    algs;
    EVP_PKEY                   *pkey;
    EVP_MAC_CTX                *mac[3];        /* HMAC, by hash */
    EVP_PKEY_CTX               *vctx[3];       /* RSA/EC, by hash */
} spectra_jwt_key_t;


struct spectra_jwt_keyset_s {
    spectra_jwt_key_t          *keys;
    size_t                      nkeys;
    EVP_MD                     *md[3];
    EVP_MAC                    *hmac;
};


static int spectra_jwt_kid_taken(const spectra_jwt_keyset_t *ks,
    const u_char *kid, size_t len);
static spectra_jwt_key_t *spectra_jwt_key_push(spectra_jwt_keyset_t *ks,
    const u_char *kid, size_t kid_len, spectra_err_t *err);
static int spectra_jwt_key_prepare(spectra_jwt_keyset_t *ks,
    spectra_jwt_key_t *key, const u_char *secret, size_t secret_len,
    spectra_err_t *err);
static int spectra_jwt_add_hmac(spectra_jwt_keyset_t *ks, const u_char *p,
    size_t len, unsigned algs, const u_char *kid, size_t kid_len,
    spectra_err_t *err);
static int spectra_jwt_add_pkey(spectra_jwt_keyset_t *ks, EVP_PKEY *pkey,
    unsigned algs, unsigned family, const u_char *kid, size_t kid_len,
    spectra_err_t *err);
static int spectra_jwt_add_pem(spectra_jwt_keyset_t *ks, const u_char *p,
    size_t len, unsigned algs, const u_char *kid, size_t kid_len,
    spectra_err_t *err);
static int spectra_jwt_add_jwks(spectra_jwt_keyset_t *ks, const u_char *p,
    size_t len, unsigned algs, spectra_err_t *err);
static spectra_jwt_rc_t spectra_jwt_header(const u_char *hdr, size_t hlen,
    int *alg, json_t **header, const char **reason);
static int spectra_jwt_check_sig(const spectra_jwt_keyset_t *ks,
    const spectra_jwt_key_t *key, spectra_jwt_alg_t alg, const u_char *in,
    size_t in_len, const u_char *sig, size_t sig_len);
static spectra_jwt_rc_t spectra_jwt_check_claims(
    const spectra_jwt_policy_t *policy, json_t *payload,
    const char **reason);
static int spectra_jwt_str_eq(json_t *v, const spectra_str_t *s);


static const char  *spectra_jwt_alg_names[] = {
    "HS256", "HS384", "HS512",
    "RS256", "RS384", "RS512",
    "ES256", "ES384", "ES512"
};

static const char  *spectra_jwt_md_names[] = { "SHA256", "SHA384", "SHA512" };
static const size_t spectra_jwt_md_sizes[] = { 32, 48, 64 };
static const size_t spectra_jwt_ec_sizes[] = { 32, 48, 66 };

static const char  *spectra_jwt_key_refs[] = {
    "jku", "x5u", "jwk", "x5c", NULL
};


/* base64url alphabet; 0xff marks a byte outside it */
static const u_char  spectra_b64url_dec[256] = {
#define X 0xff
    X,X,X,X,X,X,X,X,X,X,X,X,X,X,X,X, X,X,X,X,X,X,X,X,X,X,X,X,X,X,X,X,
    X,X,X,X,X,X,X,X,X,X,X,X,X,62,X,X, 52,53,54,55,56,57,58,59,60,61,X,X,
    X,X,X,X,
    X,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14, 15,16,17,18,19,20,21,22,23,24,
    25,X,X,X,X,63,
    X,26,27,28,29,30,31,32,33,34,35,36,37,38,39,40, 41,42,43,44,45,46,47,
    48,49,50,51,X,X,X,X,X,
    X,X,X,X,X,X,X,X,X,X,X,X,X,X,X,X, X,X,X,X,X,X,X,X,X,X,X,X,X,X,X,X,
    X,X,X,X,X,X,X,X,X,X,X,X,X,X,X,X, X,X,X,X,X,X,X,X,X,X,X,X,X,X,X,X,
    X,X,X,X,X,X,X,X,X,X,X,X,X,X,X,X, X,X,X,X,X,X,X,X,X,X,X,X,X,X,X,X,
    X,X,X,X,X,X,X,X,X,X,X,X,X,X,X,X, X,X,X,X,X,X,X,X,X,X,X,X,X,X,X,X
#undef X
};

static const char  spectra_b64url_enc[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";


int
spectra_base64url_decode(const u_char *src, size_t len, u_char *dst,
    size_t *out)
{
    size_t    i, n;
    uint32_t  v;
    u_char    c[4];

    if (len % 4 == 1) {
        return -1;
    }

    n = 0;

    for (i = 0; i + 4 <= len; i += 4) {
        c[0] = spectra_b64url_dec[src[i]];
        c[1] = spectra_b64url_dec[src[i + 1]];
        c[2] = spectra_b64url_dec[src[i + 2]];
        c[3] = spectra_b64url_dec[src[i + 3]];

        if ((c[0] | c[1] | c[2] | c[3]) == 0xff) {
            return -1;
        }

        v = (uint32_t) c[0] << 18 | (uint32_t) c[1] << 12
            | (uint32_t) c[2] << 6 | c[3];

        dst[n++] = (u_char) (v >> 16);
        dst[n++] = (u_char) (v >> 8);
        dst[n++] = (u_char) v;
    }

    switch (len - i) {

    case 2:
        c[0] = spectra_b64url_dec[src[i]];
        c[1] = spectra_b64url_dec[src[i + 1]];

        /* the unused low 4 bits must be zero: one encoding per value */
        if ((c[0] | c[1]) == 0xff || (c[1] & 0x0f) != 0) {
            return -1;
        }

        dst[n++] = (u_char) (c[0] << 2 | c[1] >> 4);
        break;

    case 3:
        c[0] = spectra_b64url_dec[src[i]];
        c[1] = spectra_b64url_dec[src[i + 1]];
        c[2] = spectra_b64url_dec[src[i + 2]];

        if ((c[0] | c[1] | c[2]) == 0xff || (c[2] & 0x03) != 0) {
            return -1;
        }

        dst[n++] = (u_char) (c[0] << 2 | c[1] >> 4);
        dst[n++] = (u_char) (c[1] << 4 | c[2] >> 2);
        break;

    default:
        break;
    }

    *out = n;

    return 0;
}


size_t
spectra_base64url_encode(const u_char *src, size_t len, u_char *dst)
{
    u_char  *d;

    d = dst;

    while (len >= 3) {
        *d++ = spectra_b64url_enc[src[0] >> 2];
        *d++ = spectra_b64url_enc[((src[0] & 0x03) << 4) | (src[1] >> 4)];
        *d++ = spectra_b64url_enc[((src[1] & 0x0f) << 2) | (src[2] >> 6)];
        *d++ = spectra_b64url_enc[src[2] & 0x3f];
        src += 3;
        len -= 3;
    }

    if (len == 1) {
        *d++ = spectra_b64url_enc[src[0] >> 2];
        *d++ = spectra_b64url_enc[(src[0] & 0x03) << 4];

    } else if (len == 2) {
        *d++ = spectra_b64url_enc[src[0] >> 2];
        *d++ = spectra_b64url_enc[((src[0] & 0x03) << 4) | (src[1] >> 4)];
        *d++ = spectra_b64url_enc[(src[1] & 0x0f) << 2];
    }

    return d - dst;
}


int
spectra_jwt_alg_parse(const u_char *p, size_t len)
{
    int  i;

    if (len != 5) {
        return -1;
    }

    for (i = 0; i < SPECTRA_JWT_NALGS; i++) {
        if (memcmp(p, spectra_jwt_alg_names[i], 5) == 0) {
            return i;
        }
    }

    return -1;
}


const char *
spectra_jwt_alg_name(spectra_jwt_alg_t alg)
{
    return (alg < SPECTRA_JWT_NALGS) ? spectra_jwt_alg_names[alg] : "?";
}


int
spectra_jwt_algs_parse(const u_char *p, size_t len, unsigned *algs)
{
    int            a;
    const u_char  *last, *start;

    *algs = 0;
    last = p + len;

    while (p < last) {
        start = p;

        while (p < last && *p != ',') {
            p++;
        }

        a = spectra_jwt_alg_parse(start, p - start);
        if (a < 0) {
            return -1;
        }

        *algs |= SPECTRA_JWT_ALG_BIT(a);

        if (p < last) {
            p++;

            if (p == last) {
                return -1;
            }
        }
    }

    return (*algs != 0) ? 0 : -1;
}


spectra_jwt_keyset_t *
spectra_jwt_keyset_new(void)
{
    int                    i;
    spectra_jwt_keyset_t  *ks;

    ks = calloc(1, sizeof(spectra_jwt_keyset_t));
    if (ks == NULL) {
        return NULL;
    }

    for (i = 0; i < 3; i++) {
        ks->md[i] = EVP_MD_fetch(NULL, spectra_jwt_md_names[i], NULL);
        if (ks->md[i] == NULL) {
            goto failed;
        }
    }

    ks->hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    if (ks->hmac == NULL) {
        goto failed;
    }

    return ks;

failed:

    spectra_jwt_keyset_free(ks);

    return NULL;
}


void
spectra_jwt_keyset_free(spectra_jwt_keyset_t *ks)
{
    int                 i;
    size_t              k;
    spectra_jwt_key_t  *key;

    if (ks == NULL) {
        return;
    }

    for (k = 0; k < ks->nkeys; k++) {
        key = &ks->keys[k];

        for (i = 0; i < 3; i++) {
            EVP_MAC_CTX_free(key->mac[i]);
            EVP_PKEY_CTX_free(key->vctx[i]);
        }

        EVP_PKEY_free(key->pkey);
        free(key->kid);
    }

    for (i = 0; i < 3; i++) {
        EVP_MD_free(ks->md[i]);
    }

    EVP_MAC_free(ks->hmac);
    free(ks->keys);
    free(ks);
}


size_t
spectra_jwt_keyset_count(const spectra_jwt_keyset_t *ks)
{
    return ks->nkeys;
}


int
spectra_jwt_keyset_add(spectra_jwt_keyset_t *ks, const u_char *p,
    size_t len, spectra_jwt_key_format_t format, unsigned algs,
    const u_char *kid, size_t kid_len, spectra_err_t *err)
{
    size_t  i;

    if (format == SPECTRA_JWT_KEY_AUTO) {
        for (i = 0; i < len && (p[i] == ' ' || p[i] == '\t'
                                || p[i] == '\r' || p[i] == '\n'); i++)
        {
            /* void */
        }

        if (len - i >= 10 && memcmp(p + i, "-----BEGIN", 10) == 0) {
            format = SPECTRA_JWT_KEY_PEM;

        } else if (i < len && p[i] == '{') {
            format = SPECTRA_JWT_KEY_JWKS;

        } else {
            format = SPECTRA_JWT_KEY_HMAC;
        }
    }

    switch (format) {

    case SPECTRA_JWT_KEY_HMAC:
        return spectra_jwt_add_hmac(ks, p, len, algs, kid, kid_len, err);

    case SPECTRA_JWT_KEY_PEM:
        return spectra_jwt_add_pem(ks, p, len, algs, kid, kid_len, err);

    default: /* SPECTRA_JWT_KEY_JWKS */
        if (kid != NULL) {
            return spectra_err_set(err, -1, SPECTRA_POS_NONE,
                                   "a JWKS names its keys "
                                   "itself: no kid= for it");
        }

        return spectra_jwt_add_jwks(ks, p, len, algs, err);
    }
}


static int
spectra_jwt_kid_taken(const spectra_jwt_keyset_t *ks, const u_char *kid,
    size_t len)
{
    size_t  k;

    for (k = 0; k < ks->nkeys; k++) {
        if (ks->keys[k].kid != NULL && ks->keys[k].kid_len == len
            && memcmp(ks->keys[k].kid, kid, len) == 0)
        {
            return 1;
        }
    }

    return 0;
}


static spectra_jwt_key_t *
spectra_jwt_key_push(spectra_jwt_keyset_t *ks, const u_char *kid,
    size_t kid_len, spectra_err_t *err)
{
    spectra_jwt_key_t  *keys, *key;

    if (ks->nkeys == SPECTRA_JWT_MAX_KEYS) {
        spectra_err_set(err, -1, SPECTRA_POS_NONE, "more than %d keys",
                        SPECTRA_JWT_MAX_KEYS);
        return NULL;
    }

    if (kid != NULL) {
        if (kid_len == 0) {
            spectra_err_set(err, -1, SPECTRA_POS_NONE, "an empty kid");
            return NULL;
        }

        if (spectra_jwt_kid_taken(ks, kid, kid_len)) {
            spectra_err_set(err, -1, SPECTRA_POS_NONE,
                            "the kid \"%.*s\" is used twice", (int) kid_len,
                            kid);
            return NULL;
        }
    }

    keys = realloc(ks->keys, (ks->nkeys + 1) * sizeof(spectra_jwt_key_t));
    if (keys == NULL) {
        spectra_err_set(err, -1, SPECTRA_POS_NONE, "out of memory");
        return NULL;
    }

    ks->keys = keys;
    key = &keys[ks->nkeys];
    memset(key, 0, sizeof(spectra_jwt_key_t));

    if (kid != NULL) {
        key->kid = malloc(kid_len);
        if (key->kid == NULL) {
            spectra_err_set(err, -1, SPECTRA_POS_NONE, "out of memory");
            return NULL;
        }

        memcpy(key->kid, kid, kid_len);
        key->kid_len = kid_len;
    }

    ks->nkeys++;

    return key;
}


/* Prepares a verification context per pinned algorithm. */

static int
spectra_jwt_key_prepare(spectra_jwt_keyset_t *ks, spectra_jwt_key_t *key,
    const u_char *secret, size_t secret_len, spectra_err_t *err)
{
    int          a, h;
    OSSL_PARAM   params[2];

    for (a = 0; a < SPECTRA_JWT_NALGS; a++) {
        if ((key->algs & SPECTRA_JWT_ALG_BIT(a)) == 0) {
            continue;
        }

        h = SPECTRA_JWT_HASH(a);

        if (key->family == SPECTRA_JWT_FAMILY_HMAC) {
            key->mac[h] = EVP_MAC_CTX_new(ks->hmac);
            if (key->mac[h] == NULL) {
                goto failed;
            }

            params[0] = OSSL_PARAM_construct_utf8_string(
                            OSSL_MAC_PARAM_DIGEST,
                            (char *) spectra_jwt_md_names[h], 0);
            params[1] = OSSL_PARAM_construct_end();

            if (!EVP_MAC_init(key->mac[h], secret, secret_len, params)) {
                goto failed;
            }

            continue;
        }

        key->vctx[h] = EVP_PKEY_CTX_new_from_pkey(NULL, key->pkey, NULL);
        if (key->vctx[h] == NULL
            || EVP_PKEY_verify_init(key->vctx[h]) <= 0
            || EVP_PKEY_CTX_set_signature_md(key->vctx[h], ks->md[h]) <= 0)
        {
            goto failed;
        }

        if (key->family == SPECTRA_JWT_FAMILY_RSA
            && EVP_PKEY_CTX_set_rsa_padding(key->vctx[h], RSA_PKCS1_PADDING)
               <= 0)
        {
            goto failed;
        }
    }

    return 0;

failed:

    return spectra_err_set(err, -1, SPECTRA_POS_NONE,
                           "OpenSSL cannot prepare the key for verification");
}


static int
spectra_jwt_add_hmac(spectra_jwt_keyset_t *ks, const u_char *p, size_t len,
    unsigned algs, const u_char *kid, size_t kid_len,
    spectra_err_t *err)
{
    int                 a;
    size_t              i;
    spectra_jwt_key_t  *key;

    if (algs == 0) {
        algs = SPECTRA_JWT_ALG_BIT(SPECTRA_JWT_HS256);
    }

    if (algs & ~SPECTRA_JWT_ALGS_HMAC) {
        return spectra_err_set(err, -1, SPECTRA_POS_NONE,
                               "an HMAC secret verifies "
                               "only HS256, HS384 and HS512");
    }

    if (len > 0 && p[len - 1] == '\n') {
        len--;

        if (len > 0 && p[len - 1] == '\r') {
            len--;
        }
    }

    for (i = 0; i < len && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r'
                            || p[i] == '\n'); i++)
    {
        /* void */
    }

    if ((len - i >= 5 && memcmp(p + i, "-----", 5) == 0)
        || (i < len && p[i] == '{'))
    {
        return spectra_err_set(err, -1, SPECTRA_POS_NONE,
                               "the HMAC secret looks like a PEM "
                               "or JWKS file: a public key must "
                               "never be used as an HMAC secret");
    }

    for (a = 0; a < SPECTRA_JWT_NALGS; a++) {
        if ((algs & SPECTRA_JWT_ALG_BIT(a))
            && len < spectra_jwt_md_sizes[SPECTRA_JWT_HASH(a)])
        {
            return spectra_err_set(err, -1, SPECTRA_POS_NONE,
                                   "the HMAC secret has %zu "
                                   "bytes, %s needs at least %zu", len,
                                   spectra_jwt_alg_names[a],
                                   spectra_jwt_md_sizes[SPECTRA_JWT_HASH(a)]);
        }
    }

    key = spectra_jwt_key_push(ks, kid, kid_len, err);
    if (key == NULL) {
        return -1;
    }

    key->family = SPECTRA_JWT_FAMILY_HMAC;
    key->algs = algs;

    return spectra_jwt_key_prepare(ks, key, p, len, err);
}


static int
spectra_jwt_add_pkey(spectra_jwt_keyset_t *ks, EVP_PKEY *pkey, unsigned algs,
    unsigned family, const u_char *kid, size_t kid_len,
    spectra_err_t *err)
{
    spectra_jwt_key_t  *key;

    if (algs & ~family) {
        spectra_err_set(err, -1, SPECTRA_POS_NONE,
                        "the algorithms given do not fit the key (%s keys "
                        "verify only %s)",
                        (family & SPECTRA_JWT_ALGS_RSA) ? "RSA"
                                                        : "this curve's EC",
                        (family & SPECTRA_JWT_ALGS_RSA)
                        ? "RS256, RS384, RS512"
                        : spectra_jwt_alg_names[__builtin_ctz(family)]);
        EVP_PKEY_free(pkey);
        return -1;
    }

    key = spectra_jwt_key_push(ks, kid, kid_len, err);
    if (key == NULL) {
        EVP_PKEY_free(pkey);
        return -1;
    }

    key->family = (family & SPECTRA_JWT_ALGS_RSA) ? SPECTRA_JWT_FAMILY_RSA
                                                  : SPECTRA_JWT_FAMILY_EC;
    key->algs = algs;
    key->pkey = pkey;

    return spectra_jwt_key_prepare(ks, key, NULL, 0, err);
}


static int
spectra_jwt_add_pem(spectra_jwt_keyset_t *ks, const u_char *p, size_t len,
    unsigned algs, const u_char *kid, size_t kid_len,
    spectra_err_t *err)
{
    int        a;
    BIO       *bio;
    unsigned   family;
    EVP_PKEY  *pkey;

    bio = BIO_new_mem_buf(p, (int) len);
    if (bio == NULL) {
        return spectra_err_set(err, -1, SPECTRA_POS_NONE, "out of memory");
    }

    pkey = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
    BIO_free(bio);

    if (pkey == NULL) {
        return spectra_err_set(err, -1, SPECTRA_POS_NONE,
                               "not a PEM public key (\"BEGIN "
                               "PUBLIC KEY\" expected)");
    }

    if (EVP_PKEY_is_a(pkey, "RSA")) {
        if (EVP_PKEY_get_bits(pkey) < 2048) {
            spectra_err_set(err, -1, SPECTRA_POS_NONE,
                            "the RSA key has %d bits, at least 2048 are needed",
                            EVP_PKEY_get_bits(pkey));
            EVP_PKEY_free(pkey);
            return -1;
        }

        family = SPECTRA_JWT_ALGS_RSA;

        if (algs == 0) {
            algs = SPECTRA_JWT_ALG_BIT(SPECTRA_JWT_RS256);
        }

    } else {
        a = spectra_jwk_ec_alg(pkey);

        if (a < 0) {
            spectra_err_set(err, -1, SPECTRA_POS_NONE,
                            "the key is neither RSA nor EC on P-256, P-384 or "
                            "P-521");
            EVP_PKEY_free(pkey);
            return -1;
        }

        family = SPECTRA_JWT_ALG_BIT(a);

        if (algs == 0) {
            algs = family;
        }
    }

    return spectra_jwt_add_pkey(ks, pkey, algs, family, kid, kid_len, err);
}


static int
spectra_jwt_add_jwks(spectra_jwt_keyset_t *ks, const u_char *p, size_t len,
    unsigned algs, spectra_err_t *err)
{
    int            rc;
    size_t         i, n, kid_len;
    json_t        *root, *keys, *jwk, *v;
    unsigned       key_algs, family;
    EVP_PKEY      *pkey;
    json_error_t   jerr;
    const u_char  *key_kid;

    root = json_loadb((const char *) p, len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL) {
        return spectra_err_set(err, -1, (size_t) jerr.position,
                               "the JWKS is not valid JSON (line %d: %.80s)",
                               jerr.line, jerr.text);
    }

    keys = json_object_get(root, "keys");
    n = json_array_size(keys);

    if (!json_is_array(keys) || n == 0) {
        spectra_err_set(err, -1, SPECTRA_POS_NONE,
                        "the JWKS has no non-empty \"keys\" array");
        json_decref(root);
        return -1;
    }

    rc = 0;

    json_array_foreach(keys, i, jwk) {
        if (spectra_jwk_to_pkey(jwk, &pkey, &key_algs, &family, err) != 0) {
            rc = -1;
            break;
        }

        if (algs != 0) {
            if (json_object_get(jwk, "alg") != NULL) {
                if ((key_algs & algs) == 0) {
                    spectra_err_set(err, -1, SPECTRA_POS_NONE,
                                    "a JWK's \"alg\" is not "
                                    "among the algorithms given");
                    EVP_PKEY_free(pkey);
                    rc = -1;
                    break;
                }

            } else {
                key_algs = algs;
            }
        }

        v = json_object_get(jwk, "kid");
        key_kid = NULL;
        kid_len = 0;

        if (v != NULL) {
            if (!json_is_string(v)) {
                spectra_err_set(err, -1, SPECTRA_POS_NONE,
                                "a JWK's \"kid\" is not a string");
                EVP_PKEY_free(pkey);
                rc = -1;
                break;
            }

            key_kid = (const u_char *) json_string_value(v);
            kid_len = json_string_length(v);

        } else if (n > 1) {
            spectra_err_set(err, -1, SPECTRA_POS_NONE,
                            "a JWKS of several keys needs a \"kid\" on each");
            EVP_PKEY_free(pkey);
            rc = -1;
            break;
        }

        if (spectra_jwt_add_pkey(ks, pkey, key_algs, family, key_kid,
                                 kid_len, err)
            != 0)
        {
            rc = -1;
            break;
        }
    }

    json_decref(root);

    return rc;
}


/*
 * The header of the last token that passed the header checks, per thread:
 * the checks and their result (alg, kid) depend on the header segment's
 * bytes alone, and an issuer sends the same header with every token, so
 * a byte-identical segment skips its base64url decode and JSON parse.
 * Key sets stay immutable (they may be shared by threads).
 */

#define SPECTRA_JWT_MEMO_MAX      256

typedef struct {
    size_t                      len;           /* 0: empty */
    u_char                      seg[SPECTRA_JWT_MEMO_MAX];
    int                         alg;
    int                         has_kid;
    size_t                      kid_len;
    u_char                      kid[SPECTRA_JWT_MEMO_MAX];
} spectra_jwt_memo_t;

static __thread spectra_jwt_memo_t  spectra_jwt_memo;


static spectra_jwt_memo_t *
spectra_jwt_memo_get(const u_char *seg, size_t len)
{
    spectra_jwt_memo_t  *m;

    m = &spectra_jwt_memo;

    if (m->len == 0 || m->len != len || memcmp(m->seg, seg, len) != 0) {
        return NULL;
    }

    return m;
}


static void
spectra_jwt_memo_put(const u_char *seg, size_t len, int alg, const char *kid,
    size_t kid_len)
{
    spectra_jwt_memo_t  *m;

    m = &spectra_jwt_memo;
    m->len = 0;

    if (len > SPECTRA_JWT_MEMO_MAX || kid_len > SPECTRA_JWT_MEMO_MAX) {
        return;
    }

    memcpy(m->seg, seg, len);
    m->alg = alg;
    m->has_kid = (kid != NULL);
    m->kid_len = kid_len;

    if (kid_len) {
        memcpy(m->kid, kid, kid_len);
    }

    m->len = len;
}


spectra_jwt_rc_t
spectra_jwt_verify(const spectra_jwt_keyset_t *ks,
    const spectra_jwt_policy_t *policy, const u_char *p, size_t len,
    spectra_jwt_token_t *token, const char **reason)
{
    int                       a, tried;
    size_t                    i, d1, d2, dots, hlen, plen, slen, kid_len;
    u_char                   *buf, *hdr, *pl, *sig;
    json_t                   *header, *payload, *v;
    const char               *kid;
    spectra_jwt_rc_t          rc;
    spectra_jwt_memo_t       *memo;
    const spectra_jwt_key_t  *key;

    token->payload = NULL;
    header = NULL;
    payload = NULL;
    buf = NULL;

    if (len == 0) {
        *reason = "empty token";
        return SPECTRA_JWT_MALFORMED;
    }

    if (len > policy->max_size) {
        *reason = "token too large";
        return SPECTRA_JWT_MALFORMED;
    }

    dots = 0;
    d1 = 0;
    d2 = 0;

    for (i = 0; i < len; i++) {
        if (p[i] == '.') {
            if (dots == 0) {
                d1 = i;

            } else if (dots == 1) {
                d2 = i;
            }

            dots++;
        }
    }

    if (dots != 2) {
        *reason = "not three segments";
        return SPECTRA_JWT_MALFORMED;
    }

    if (d1 == 0 || d2 == d1 + 1) {
        *reason = "empty header or payload";
        return SPECTRA_JWT_MALFORMED;
    }

    buf = malloc(len);
    if (buf == NULL) {
        *reason = "out of memory";
        return SPECTRA_JWT_INTERNAL;
    }

    hdr = buf;
    hlen = 0;
    memo = spectra_jwt_memo_get(p, d1);

    if (memo == NULL && spectra_base64url_decode(p, d1, hdr, &hlen) != 0) {
        *reason = "header not base64url";
        rc = SPECTRA_JWT_MALFORMED;
        goto done;
    }

    pl = hdr + hlen;

    if (spectra_base64url_decode(p + d1 + 1, d2 - d1 - 1, pl, &plen) != 0) {
        *reason = "payload not base64url";
        rc = SPECTRA_JWT_MALFORMED;
        goto done;
    }

    sig = pl + plen;

    if (spectra_base64url_decode(p + d2 + 1, len - d2 - 1, sig, &slen) != 0) {
        *reason = "signature not base64url";
        rc = SPECTRA_JWT_MALFORMED;
        goto done;
    }

    if (memo != NULL) {
        a = memo->alg;

    } else {
        rc = spectra_jwt_header(hdr, hlen, &a, &header, reason);
        if (rc != SPECTRA_JWT_OK) {
            goto done;
        }
    }

    /* after the header checks, so that the log names "alg none" */
    if (d2 == len - 1) {
        *reason = "missing signature";
        rc = SPECTRA_JWT_MALFORMED;
        goto done;
    }

    kid = NULL;
    kid_len = 0;

    if (memo != NULL) {
        if (memo->has_kid) {
            kid = (const char *) memo->kid;
            kid_len = memo->kid_len;
        }

    } else {
        v = json_object_get(header, "kid");

        if (v != NULL) {
            kid = json_string_value(v);

            if (kid == NULL) {
                *reason = "kid not a string";
                rc = SPECTRA_JWT_BAD_HEADER;
                goto done;
            }

            kid_len = json_string_length(v);
        }

        spectra_jwt_memo_put(p, d1, a, kid, kid_len);
    }

    tried = 0;
    rc = SPECTRA_JWT_NO_KEY;
    *reason = (kid != NULL) ? "unknown kid" : "no key for alg";

    for (i = 0; i < ks->nkeys; i++) {
        key = &ks->keys[i];

        if (kid != NULL) {
            if (key->kid == NULL || key->kid_len != kid_len
                || memcmp(key->kid, kid, kid_len) != 0)
            {
                continue;
            }

            if ((key->algs & SPECTRA_JWT_ALG_BIT(a)) == 0) {
                *reason = "alg not allowed for key";
                rc = SPECTRA_JWT_NO_KEY;
                goto done;
            }

        } else if ((key->algs & SPECTRA_JWT_ALG_BIT(a)) == 0) {
            continue;
        }

        tried++;

        if (spectra_jwt_check_sig(ks, key, a, p, d2, sig, slen) == 0) {
            break;
        }
    }

    if (i == ks->nkeys) {
        if (tried) {
            *reason = "bad signature";
            rc = SPECTRA_JWT_BAD_SIGNATURE;
        }

        goto done;
    }

    payload = json_loadb((const char *) pl, plen, JSON_REJECT_DUPLICATES,
                         NULL);
    if (!json_is_object(payload)) {
        *reason = "payload not a JSON object";
        rc = SPECTRA_JWT_MALFORMED;
        goto done;
    }

    rc = spectra_jwt_check_claims(policy, payload, reason);
    if (rc != SPECTRA_JWT_OK) {
        goto done;
    }

    token->alg = a;
    token->payload = payload;
    payload = NULL;
    *reason = "ok";

done:

    json_decref(payload);
    json_decref(header);
    free(buf);

    return rc;
}


/*
 * The header's checks up to its "alg" (verify names "missing signature"
 * after them); *header is the parsed object when it is one (the caller
 * releases it).
 */

static spectra_jwt_rc_t
spectra_jwt_header(const u_char *hdr, size_t hlen, int *alg, json_t **header,
    const char **reason)
{
    size_t       i;
    json_t      *v;
    const char  *name;

    *header = json_loadb((const char *) hdr, hlen, JSON_REJECT_DUPLICATES,
                         NULL);
    if (!json_is_object(*header)) {
        *reason = "header not a JSON object";
        return SPECTRA_JWT_MALFORMED;
    }

    if (json_object_get(*header, "crit") != NULL) {
        *reason = "crit header not supported";
        return SPECTRA_JWT_BAD_HEADER;
    }

    for (i = 0; spectra_jwt_key_refs[i] != NULL; i++) {
        if (json_object_get(*header, spectra_jwt_key_refs[i]) != NULL) {
            *reason = "key reference header (jku, x5u, jwk, x5c) "
                      "not accepted";
            return SPECTRA_JWT_BAD_HEADER;
        }
    }

    v = json_object_get(*header, "alg");

    if (v == NULL) {
        *reason = "missing alg";
        return SPECTRA_JWT_BAD_HEADER;
    }

    name = json_string_value(v);

    if (name == NULL) {
        *reason = "alg not a string";
        return SPECTRA_JWT_BAD_HEADER;
    }

    if (strcasecmp(name, "none") == 0) {
        *reason = "alg none";
        return SPECTRA_JWT_BAD_HEADER;
    }

    *alg = spectra_jwt_alg_parse((const u_char *) name,
                                 json_string_length(v));

    if (*alg < 0) {
        *reason = "unsupported alg";
        return SPECTRA_JWT_BAD_HEADER;
    }

    return SPECTRA_JWT_OK;
}


/* Returns 0 when sig is a valid signature of in by key with alg. */

static int
spectra_jwt_check_sig(const spectra_jwt_keyset_t *ks,
    const spectra_jwt_key_t *key, spectra_jwt_alg_t alg, const u_char *in,
    size_t in_len, const u_char *sig, size_t sig_len)
{
    int             h, ok, der_len;
    size_t          mac_len, n;
    u_char          mac[EVP_MAX_MD_SIZE], digest[EVP_MAX_MD_SIZE];
    u_char          der[160], *d;
    BIGNUM         *r, *s;
    unsigned int    dlen;
    ECDSA_SIG      *es;
    EVP_MAC_CTX    *mctx;
    EVP_PKEY_CTX   *pctx;

    h = SPECTRA_JWT_HASH(alg);

    if (key->family == SPECTRA_JWT_FAMILY_HMAC) {
        if (sig_len != spectra_jwt_md_sizes[h]) {
            return -1;
        }

        mctx = EVP_MAC_CTX_dup(key->mac[h]);
        if (mctx == NULL) {
            return -1;
        }

        ok = EVP_MAC_update(mctx, in, in_len)
             && EVP_MAC_final(mctx, mac, &mac_len, sizeof(mac))
             && mac_len == sig_len
             && CRYPTO_memcmp(mac, sig, sig_len) == 0;

        EVP_MAC_CTX_free(mctx);

        return ok ? 0 : -1;
    }

    if (!EVP_Digest(in, in_len, digest, &dlen, ks->md[h], NULL)) {
        return -1;
    }

    if (key->family == SPECTRA_JWT_FAMILY_EC) {
        /* JWS carries R||S of the curve's size; OpenSSL wants DER */
        n = spectra_jwt_ec_sizes[h];

        if (sig_len != 2 * n) {
            return -1;
        }

        es = ECDSA_SIG_new();
        r = BN_bin2bn(sig, (int) n, NULL);
        s = BN_bin2bn(sig + n, (int) n, NULL);

        if (es == NULL || r == NULL || s == NULL
            || !ECDSA_SIG_set0(es, r, s))
        {
            ECDSA_SIG_free(es);
            BN_free(r);
            BN_free(s);
            return -1;
        }

        der_len = i2d_ECDSA_SIG(es, NULL);

        if (der_len <= 0 || (size_t) der_len > sizeof(der)) {
            ECDSA_SIG_free(es);
            return -1;
        }

        d = der;
        der_len = i2d_ECDSA_SIG(es, &d);
        ECDSA_SIG_free(es);

        sig = der;
        sig_len = (size_t) der_len;
    }

    pctx = EVP_PKEY_CTX_dup(key->vctx[h]);
    if (pctx == NULL) {
        return -1;
    }

    ok = EVP_PKEY_verify(pctx, sig, sig_len, digest, dlen) == 1;

    EVP_PKEY_CTX_free(pctx);

    return ok ? 0 : -1;
}


static spectra_jwt_rc_t
spectra_jwt_check_claims(const spectra_jwt_policy_t *policy, json_t *payload,
    const char **reason)
{
    size_t   i, k;
    json_t  *v, *aud;
    double   now, leeway;

    now = (double) policy->now;
    leeway = (double) policy->leeway;

    v = json_object_get(payload, "exp");

    if (v == NULL) {
        *reason = "missing exp";
        return SPECTRA_JWT_BAD_CLAIMS;
    }

    if (!json_is_number(v)) {
        *reason = "exp not numeric";
        return SPECTRA_JWT_BAD_CLAIMS;
    }

    if (now >= json_number_value(v) + leeway) {
        *reason = "expired";
        return SPECTRA_JWT_BAD_CLAIMS;
    }

    v = json_object_get(payload, "nbf");

    if (v != NULL) {
        if (!json_is_number(v)) {
            *reason = "nbf not numeric";
            return SPECTRA_JWT_BAD_CLAIMS;
        }

        if (json_number_value(v) > now + leeway) {
            *reason = "not yet valid (nbf)";
            return SPECTRA_JWT_BAD_CLAIMS;
        }
    }

    v = json_object_get(payload, "iat");

    if (v != NULL) {
        if (!json_is_number(v)) {
            *reason = "iat not numeric";
            return SPECTRA_JWT_BAD_CLAIMS;
        }

        if (json_number_value(v) > now + leeway) {
            *reason = "iat in the future";
            return SPECTRA_JWT_BAD_CLAIMS;
        }
    }

    if (policy->issuer.data != NULL) {
        v = json_object_get(payload, "iss");

        if (v == NULL) {
            *reason = "missing iss";
            return SPECTRA_JWT_BAD_CLAIMS;
        }

        if (!spectra_jwt_str_eq(v, &policy->issuer)) {
            *reason = "wrong issuer";
            return SPECTRA_JWT_BAD_CLAIMS;
        }
    }

    if (policy->naudiences == 0) {
        return SPECTRA_JWT_OK;
    }

    aud = json_object_get(payload, "aud");

    if (aud == NULL) {
        *reason = "missing aud";
        return SPECTRA_JWT_BAD_CLAIMS;
    }

    for (k = 0; k < policy->naudiences; k++) {
        if (json_is_array(aud)) {
            json_array_foreach(aud, i, v) {
                if (spectra_jwt_str_eq(v, &policy->audiences[k])) {
                    return SPECTRA_JWT_OK;
                }
            }

        } else if (spectra_jwt_str_eq(aud, &policy->audiences[k])) {
            return SPECTRA_JWT_OK;
        }
    }

    *reason = "wrong audience";

    return SPECTRA_JWT_BAD_CLAIMS;
}


static int
spectra_jwt_str_eq(json_t *v, const spectra_str_t *s)
{
    return json_is_string(v)
           && json_string_length(v) == s->len
           && memcmp(json_string_value(v), s->data, s->len) == 0;
}
