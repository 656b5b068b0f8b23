/*
 * JSON Web Keys (RFC 7517/7518) to OpenSSL 3 public keys.
 *
 * Accepted: "kty" "RSA" with "n" (at least 2048 bits) and "e"; "kty" "EC"
 * with "crv" P-256, P-384 or P-521 and "x", "y" of the exact coordinate
 * length, the point checked to be on the curve.  Private members ("d",
 * "p", "q", ...) are refused: a JWKS given to a verifier holds public keys
 * only.  "use", when present, must be "sig"; "key_ops", when present, must
 * contain "verify".  "alg", when present, pins the key to that algorithm
 * and must fit the key (RS* for RSA, the curve's ES* for EC); when absent
 * an EC key gets its curve's algorithm and an RSA key RS256 only.
 */

#ifndef SPECTRA_JWK_H
#define SPECTRA_JWK_H

#include <jansson.h>
#include <openssl/evp.h>

#include "spectra_jwt.h"

/*
 * Converts one JWK object into *pkey (the caller frees it), the mask of
 * algorithms it may verify, and the mask of every algorithm its key type
 * (and curve) could verify.  Returns 0, or -1 with err filled.
 */
int spectra_jwk_to_pkey(const json_t *jwk, EVP_PKEY **pkey, unsigned *algs,
    unsigned *family, spectra_err_t *err);

/* The ES* algorithm of an EC key's curve, or -1 for another curve. */
int spectra_jwk_ec_alg(const EVP_PKEY *pkey);

#endif /* SPECTRA_JWK_H */
