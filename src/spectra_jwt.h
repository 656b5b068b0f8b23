/*
 * JWT (JWS compact serialization) verification with OpenSSL 3, and the
 * key sets it verifies against.
 *
 * Guarantees of spectra_jwt_verify():
 * - the token is at most policy->max_size bytes, has exactly three
 *   segments of strict base64url (no padding, no stray bits), a non-empty
 *   signature, and a header and payload that are JSON objects without
 *   duplicate members;
 * - the header "alg" is exactly (case-sensitively) one of the algorithms
 *   pinned on the key that verifies it: HMAC keys verify only HS*, RSA keys
 *   only RS*, EC keys only the ES* of their curve; "none" never verifies;
 * - "crit" is rejected, and "jku", "x5u", "jwk", "x5c" are rejected: keys
 *   are never taken from the token;
 * - a "kid" must name a configured key exactly; without a "kid" every key
 *   pinned to the token's "alg" is tried;
 * - ECDSA signatures are the raw R||S of the exact length of the curve;
 * - "exp" is required and numeric; "nbf" and "iat" when present are
 *   numeric and not in the future (beyond the leeway); "iss" and "aud"
 *   (a string or an array of strings) are checked when the policy names
 *   them.
 * Key sets are immutable once built and may be shared by threads.
 */

#ifndef SPECTRA_JWT_H
#define SPECTRA_JWT_H

#include <jansson.h>

#include "spectra_core.h"


typedef enum {
    SPECTRA_JWT_HS256 = 0,
    SPECTRA_JWT_HS384,
    SPECTRA_JWT_HS512,
    SPECTRA_JWT_RS256,
    SPECTRA_JWT_RS384,
    SPECTRA_JWT_RS512,
    SPECTRA_JWT_ES256,
    SPECTRA_JWT_ES384,
    SPECTRA_JWT_ES512,
    SPECTRA_JWT_NALGS
} spectra_jwt_alg_t;

#define SPECTRA_JWT_ALG_BIT(a)   (1u << (a))
#define SPECTRA_JWT_ALGS_HMAC    0x007u
#define SPECTRA_JWT_ALGS_RSA     0x038u
#define SPECTRA_JWT_ALGS_EC      0x1c0u


typedef enum {
    SPECTRA_JWT_KEY_AUTO = 0,    /* PEM, JWKS ('{') or else an HMAC secret */
    SPECTRA_JWT_KEY_HMAC,
    SPECTRA_JWT_KEY_PEM,
    SPECTRA_JWT_KEY_JWKS
} spectra_jwt_key_format_t;


/* Result of a verification; the reasons are short static strings. */
typedef enum {
    SPECTRA_JWT_OK = 0,
    SPECTRA_JWT_MALFORMED,       /* size, segments, base64url, JSON */
    SPECTRA_JWT_BAD_HEADER,      /* alg, kid, crit, key references */
    SPECTRA_JWT_NO_KEY,          /* unknown kid, no key for alg */
    SPECTRA_JWT_BAD_SIGNATURE,
    SPECTRA_JWT_BAD_CLAIMS,      /* exp, nbf, iat, iss, aud */
    SPECTRA_JWT_INTERNAL         /* out of memory, OpenSSL failure */
} spectra_jwt_rc_t;


typedef struct spectra_jwt_keyset_s  spectra_jwt_keyset_t;


typedef struct {
    spectra_str_t               issuer;        /* data NULL: not checked */
    const spectra_str_t        *audiences;     /* any of them must match */
    size_t                      naudiences;    /* 0: not checked */
    int64_t                     now;           /* seconds since the epoch */
    int64_t                     leeway;        /* seconds */
    size_t                      max_size;      /* bytes of the token */
} spectra_jwt_policy_t;


typedef struct {
    spectra_jwt_alg_t           alg;
    json_t                     *payload;       /* caller json_decref()s */
} spectra_jwt_token_t;


/* "HS256" .. "ES512" (exact case) to the enum; -1 if unknown. */
int spectra_jwt_alg_parse(const u_char *p, size_t len);
const char *spectra_jwt_alg_name(spectra_jwt_alg_t alg);

/* Parses "HS256,RS256" into a mask of SPECTRA_JWT_ALG_BIT(); -1 on error. */
int spectra_jwt_algs_parse(const u_char *p, size_t len, unsigned *algs);

spectra_jwt_keyset_t *spectra_jwt_keyset_new(void);
void spectra_jwt_keyset_free(spectra_jwt_keyset_t *ks);
size_t spectra_jwt_keyset_count(const spectra_jwt_keyset_t *ks);

/*
 * Adds the keys in a file's content to the set.
 * - HMAC: the bytes of the file (one trailing "\n" or "\r\n" removed) are
 *   the secret; it must be at least as long as the hash output of every
 *   pinned algorithm (32/48/64 bytes) and must not look like a PEM or JWKS
 *   (that is the algorithm confusion attack, made by configuration);
 *   default algorithm HS256.
 * - PEM: a public key (SubjectPublicKeyInfo, "BEGIN PUBLIC KEY"); RSA keys
 *   of at least 2048 bits (default RS256), EC keys on P-256, P-384 or P-521
 *   (algorithm given by the curve).
 * - JWKS: {"keys": [...]} of RSA and EC public JWKs (see spectra_jwk.h).
 * algs, when not 0, pins the key(s) to those algorithms, which must all be
 * of the key's family (and curve).  kid (may be NULL) names a PEM or HMAC
 * key; kids are unique in a set.  Returns 0, or -1 with err filled (code
 * -1, a message ready for a configuration error; a JWKS that is not JSON
 * has the byte position of the fault).
 */
int spectra_jwt_keyset_add(spectra_jwt_keyset_t *ks, const u_char *p,
    size_t len, spectra_jwt_key_format_t format, unsigned algs,
    const u_char *kid, size_t kid_len, spectra_err_t *err);

/*
 * Verifies a compact JWS.  On SPECTRA_JWT_OK, token->payload holds the
 * payload object (the caller releases it).  Otherwise *reason says why,
 * without any part of the token.
 */
spectra_jwt_rc_t spectra_jwt_verify(const spectra_jwt_keyset_t *ks,
    const spectra_jwt_policy_t *policy, const u_char *p, size_t len,
    spectra_jwt_token_t *token, const char **reason);

/*
 * Strict base64url (RFC 7515 section 2: no padding, unused bits zero).
 * dst must hold len * 3 / 4 bytes.  Returns 0 and *out, or -1.
 */
int spectra_base64url_decode(const u_char *src, size_t len, u_char *dst,
    size_t *out);

/* Unpadded base64url; dst must hold (len * 4 + 2) / 3 bytes. */
size_t spectra_base64url_encode(const u_char *src, size_t len, u_char *dst);

#endif /* SPECTRA_JWT_H */
