/*
 * Key material nginx reads at load time (spectra_jwt_key files: HMAC
 * secret, PEM, JWKS; spectra_api_keys files) and an API key presented
 * against a set parsed from the input.  The fuzzer's first byte picks
 * what the rest is read as.
 */

#include "fuzz.h"
#include "spectra_apikey.h"
#include "spectra_jwt.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


static void
fuzz_keyset(const u_char *p, size_t len, spectra_jwt_key_format_t format)
{
    unsigned               algs;
    spectra_err_t          err;
    spectra_jwt_keyset_t  *ks;

    ks = spectra_jwt_keyset_new();
    if (ks == NULL) {
        return;
    }

    algs = 0;

    if (spectra_jwt_keyset_add(ks, p, len, format, algs, NULL, 0, &err) == 0) {
        if (spectra_jwt_keyset_count(ks) == 0) {
            abort();
        }

    } else if (err.message[0] == '\0') {
        abort();
    }

    spectra_jwt_keyset_free(ks);
}


static void
fuzz_apikeys(fuzz_pool_t *fp, const uint8_t *data, size_t size)
{
    const char               *reason;
    fuzz_fields_t             ff;
    spectra_str_t             file, key;
    spectra_err_t             err;
    spectra_apikeys_t        *keys;
    const spectra_apikey_t   *k;

    fuzz_fields_init(&ff, data, size);

    if (fuzz_field(&ff, fp, &file) != 0 || fuzz_field(&ff, fp, &key) != 0) {
        return;
    }

    keys = spectra_apikeys_parse(file.data, file.len, &err);
    if (keys == NULL) {
        if (err.message[0] == '\0') {
            abort();
        }

        return;
    }

    k = NULL;
    reason = NULL;

    if (spectra_apikeys_verify(keys, key.data, key.len, &k, &reason)
        == SPECTRA_APIKEY_OK)
    {
        if (k == NULL || k->tenant_id.len == 0) {
            abort();
        }

    } else if (reason == NULL) {
        abort();
    }

    spectra_apikeys_free(keys);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    u_char       *p;
    fuzz_pool_t   fp;

    if (size == 0) {
        return 0;
    }

    fuzz_pool_init(&fp);

    p = fuzz_copy(&fp, data + 1, size - 1);

    if (p != NULL) {
        switch (data[0] % 5) {
        case 0:
            fuzz_keyset(p, size - 1, SPECTRA_JWT_KEY_AUTO);
            break;
        case 1:
            fuzz_keyset(p, size - 1, SPECTRA_JWT_KEY_PEM);
            break;
        case 2:
            fuzz_keyset(p, size - 1, SPECTRA_JWT_KEY_JWKS);
            break;
        case 3:
            fuzz_keyset(p, size - 1, SPECTRA_JWT_KEY_HMAC);
            break;
        default:
            fuzz_apikeys(&fp, data + 1, size - 1);
            break;
        }
    }

    fuzz_pool_free(&fp);

    return 0;
}
