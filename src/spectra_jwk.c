/*
 * JSON Web Keys to OpenSSL 3 public keys (EVP_PKEY_fromdata).
 */

#include "spectra_jwk.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/objects.h>
#include <openssl/param_build.h>


#define SPECTRA_JWK_RSA_MIN_BYTES  256
#define SPECTRA_JWK_MAX_BYTES      1024


static int spectra_jwk_member(const json_t *jwk, const char *name,
    u_char *buf, size_t *len, spectra_err_t *err);
static int spectra_jwk_check_use(const json_t *jwk, spectra_err_t *err);
static int spectra_jwk_rsa(const json_t *jwk, EVP_PKEY **pkey,
    spectra_err_t *err);
static int spectra_jwk_ec(const json_t *jwk, EVP_PKEY **pkey,
    spectra_jwt_alg_t *alg, spectra_err_t *err);
static int spectra_jwk_fromdata(const char *type, OSSL_PARAM_BLD *bld,
    EVP_PKEY **pkey, spectra_err_t *err);


static const char  *spectra_jwk_private[] = {
    "d", "p", "q", "dp", "dq", "qi", "oth", "k", NULL
};


static const struct {
    const char                 *crv;
    const char                 *group;
    size_t                      size;
    spectra_jwt_alg_t           alg;
    int                         nid;
} spectra_jwk_curves[] = {
    { "P-256", "P-256", 32, SPECTRA_JWT_ES256, NID_X9_62_prime256v1 },
    { "P-384", "P-384", 48, SPECTRA_JWT_ES384, NID_secp384r1 },
    { "P-521", "P-521", 66, SPECTRA_JWT_ES512, NID_secp521r1 },
    { NULL, NULL, 0, 0, 0 }
};


int
spectra_jwk_to_pkey(const json_t *jwk, EVP_PKEY **pkey, unsigned *algs,
    unsigned *family, spectra_err_t *err)
{
    int                 a;
    size_t              i;
    const char         *kty, *alg;
    json_t             *v;
    spectra_jwt_alg_t   ec_alg;

    *pkey = NULL;

    if (!json_is_object(jwk)) {
        return spectra_err_set(err, -1, SPECTRA_POS_NONE,
                               "a JWK is not an object");
    }

    for (i = 0; spectra_jwk_private[i] != NULL; i++) {
        if (json_object_get(jwk, spectra_jwk_private[i]) != NULL) {
            return spectra_err_set(err, -1, SPECTRA_POS_NONE,
                                   "a JWK has the private member \"%s\": only "
                                   "public keys belong in a verifier's JWKS",
                                   spectra_jwk_private[i]);
        }
    }

    if (spectra_jwk_check_use(jwk, err) != 0) {
        return -1;
    }

    kty = json_string_value(json_object_get(jwk, "kty"));
    if (kty == NULL) {
        return spectra_err_set(err, -1, SPECTRA_POS_NONE,
                               "a JWK has no \"kty\" string");
    }

    if (strcmp(kty, "RSA") == 0) {
        if (spectra_jwk_rsa(jwk, pkey, err) != 0) {
            return -1;
        }

        *family = SPECTRA_JWT_ALGS_RSA;
        *algs = SPECTRA_JWT_ALG_BIT(SPECTRA_JWT_RS256);

    } else if (strcmp(kty, "EC") == 0) {
        if (spectra_jwk_ec(jwk, pkey, &ec_alg, err) != 0) {
            return -1;
        }

        *family = SPECTRA_JWT_ALG_BIT(ec_alg);
        *algs = *family;

    } else {
        return spectra_err_set(err, -1, SPECTRA_POS_NONE,
                               "a JWK has the unsupported \"kty\" \"%.20s\" "
                               "(RSA and EC are supported)", kty);
    }

    v = json_object_get(jwk, "alg");

    if (v != NULL) {
        alg = json_string_value(v);
        a = (alg != NULL) ? spectra_jwt_alg_parse((const u_char *) alg,
                                                  strlen(alg))
                          : -1;

        if (a < 0 || (SPECTRA_JWT_ALG_BIT(a) & *family) == 0) {
            spectra_err_set(err, -1, SPECTRA_POS_NONE,
                            "a JWK's \"alg\" is not a "
                            "supported algorithm for its key type");
            EVP_PKEY_free(*pkey);
            *pkey = NULL;
            return -1;
        }

        *algs = SPECTRA_JWT_ALG_BIT(a);
    }

    return 0;
}


int
spectra_jwk_ec_alg(const EVP_PKEY *pkey)
{
    int     nid;
    char    name[64];
    size_t  i, len;

    if (!EVP_PKEY_is_a(pkey, "EC")) {
        return -1;
    }

    if (!EVP_PKEY_get_group_name(pkey, name, sizeof(name), &len)) {
        return -1;
    }

    nid = OBJ_sn2nid(name);
    if (nid == NID_undef) {
        nid = EC_curve_nist2nid(name);
    }

    for (i = 0; spectra_jwk_curves[i].crv != NULL; i++) {
        if (spectra_jwk_curves[i].nid == nid) {
            return spectra_jwk_curves[i].alg;
        }
    }

    return -1;
}


/* Decodes the base64url string member name into buf (1024 bytes). */

static int
spectra_jwk_member(const json_t *jwk, const char *name, u_char *buf,
    size_t *len, spectra_err_t *err)
{
    size_t       slen;
    const char  *s;

    s = json_string_value(json_object_get(jwk, name));
    if (s == NULL) {
        return spectra_err_set(err, -1, SPECTRA_POS_NONE,
                               "a JWK has no \"%s\" string", name);
    }

    slen = json_string_length(json_object_get(jwk, name));

    if (slen == 0 || slen / 4 * 3 + 3 > SPECTRA_JWK_MAX_BYTES
        || spectra_base64url_decode((const u_char *) s, slen, buf, len) != 0)
    {
        return spectra_err_set(err, -1, SPECTRA_POS_NONE,
                               "a JWK's \"%s\" is not valid "
                               "base64url of a sane size", name);
    }

    return 0;
}


static int
spectra_jwk_check_use(const json_t *jwk, spectra_err_t *err)
{
    size_t   i;
    json_t  *v, *op;

    v = json_object_get(jwk, "use");

    if (v != NULL
        && (!json_is_string(v) || strcmp(json_string_value(v), "sig") != 0))
    {
        return spectra_err_set(err, -1, SPECTRA_POS_NONE,
                               "a JWK's \"use\" is not \"sig\"");
    }

    v = json_object_get(jwk, "key_ops");

    if (v == NULL) {
        return 0;
    }

    if (json_is_array(v)) {
        json_array_foreach(v, i, op) {
            if (json_is_string(op)
                && strcmp(json_string_value(op), "verify") == 0)
            {
                return 0;
            }
        }
    }

    return spectra_err_set(err, -1, SPECTRA_POS_NONE,
                           "a JWK's \"key_ops\" does not allow \"verify\"");
}


static int
spectra_jwk_rsa(const json_t *jwk, EVP_PKEY **pkey, spectra_err_t *err)
{
    int              rc;
    size_t           nlen, elen, skip;
    BIGNUM          *n, *e;
    u_char           nbuf[SPECTRA_JWK_MAX_BYTES], ebuf[SPECTRA_JWK_MAX_BYTES];
    OSSL_PARAM_BLD  *bld;

    if (spectra_jwk_member(jwk, "n", nbuf, &nlen, err) != 0
        || spectra_jwk_member(jwk, "e", ebuf, &elen, err) != 0)
    {
        return -1;
    }

    for (skip = 0; skip < nlen && nbuf[skip] == 0; skip++) {
        /* void */
    }

    if (nlen - skip < SPECTRA_JWK_RSA_MIN_BYTES) {
        return spectra_err_set(err, -1, SPECTRA_POS_NONE,
                               "an RSA JWK has a modulus "
                               "of less than 2048 bits");
    }

    if (elen > 8) {
        return spectra_err_set(err, -1, SPECTRA_POS_NONE,
                               "an RSA JWK has an implausible exponent");
    }

    rc = -1;
    bld = NULL;

    n = BN_bin2bn(nbuf, (int) nlen, NULL);
    e = BN_bin2bn(ebuf, (int) elen, NULL);
    if (n == NULL || e == NULL) {
        goto failed;
    }

    bld = OSSL_PARAM_BLD_new();
    if (bld == NULL
        || !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n)
        || !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e))
    {
        goto failed;
    }

    rc = spectra_jwk_fromdata("RSA", bld, pkey, err);

    OSSL_PARAM_BLD_free(bld);
    BN_free(n);
    BN_free(e);

    return rc;

failed:

    spectra_err_set(err, -1, SPECTRA_POS_NONE,
                    "cannot build an RSA key (out of memory)");
    OSSL_PARAM_BLD_free(bld);
    BN_free(n);
    BN_free(e);

    return -1;
}


static int
spectra_jwk_ec(const json_t *jwk, EVP_PKEY **pkey, spectra_jwt_alg_t *alg,
    spectra_err_t *err)
{
    int              rc;
    size_t           i, xlen, ylen, size;
    u_char           x[SPECTRA_JWK_MAX_BYTES], y[SPECTRA_JWK_MAX_BYTES];
    u_char           pub[1 + 2 * 66];
    const char      *crv;
    OSSL_PARAM_BLD  *bld;

    crv = json_string_value(json_object_get(jwk, "crv"));

    for (i = 0; spectra_jwk_curves[i].crv != NULL; i++) {
        if (crv != NULL && strcmp(crv, spectra_jwk_curves[i].crv) == 0) {
            break;
        }
    }

    if (spectra_jwk_curves[i].crv == NULL) {
        return spectra_err_set(err, -1, SPECTRA_POS_NONE,
                               "an EC JWK's \"crv\" is "
                               "not P-256, P-384 or P-521");
    }

    size = spectra_jwk_curves[i].size;

    if (spectra_jwk_member(jwk, "x", x, &xlen, err) != 0
        || spectra_jwk_member(jwk, "y", y, &ylen, err) != 0)
    {
        return -1;
    }

    if (xlen != size || ylen != size) {
        return spectra_err_set(err, -1, SPECTRA_POS_NONE,
                               "an EC JWK's \"x\" or "
                               "\"y\" is not %zu bytes long", size);
    }

    pub[0] = 0x04;
    memcpy(pub + 1, x, size);
    memcpy(pub + 1 + size, y, size);

    bld = OSSL_PARAM_BLD_new();
    if (bld == NULL
        || !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
                                            spectra_jwk_curves[i].group, 0)
        || !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY,
                                             pub, 1 + 2 * size))
    {
        OSSL_PARAM_BLD_free(bld);
        return spectra_err_set(err, -1, SPECTRA_POS_NONE,
                               "cannot build an EC key (out of memory)");
    }

    rc = spectra_jwk_fromdata("EC", bld, pkey, err);

    OSSL_PARAM_BLD_free(bld);

    *alg = spectra_jwk_curves[i].alg;

    return rc;
}


static int
spectra_jwk_fromdata(const char *type, OSSL_PARAM_BLD *bld, EVP_PKEY **pkey,
    spectra_err_t *err)
{
    int            ok;
    OSSL_PARAM    *params;
    EVP_PKEY_CTX  *ctx, *check;

    ok = 0;
    ctx = NULL;
    check = NULL;

    params = OSSL_PARAM_BLD_to_param(bld);
    if (params == NULL) {
        goto done;
    }

    ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
    if (ctx == NULL
        || EVP_PKEY_fromdata_init(ctx) <= 0
        || EVP_PKEY_fromdata(ctx, pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0)
    {
        goto done;
    }

    check = EVP_PKEY_CTX_new_from_pkey(NULL, *pkey, NULL);
    if (check == NULL || EVP_PKEY_public_check(check) <= 0) {
        goto done;
    }

    ok = 1;

done:

    EVP_PKEY_CTX_free(check);
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);

    if (!ok) {
        EVP_PKEY_free(*pkey);
        *pkey = NULL;
        return spectra_err_set(err, -1, SPECTRA_POS_NONE,
                               "a JWK is not a valid %s public key", type);
    }

    return 0;
}
