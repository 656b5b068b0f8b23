/*
 * The API's request bodies: POST /v1/queries, /v1/bulk, /v1/imports and
 * PATCH /v1/imports/{id}, all read by the core from untrusted bytes.
 */

#include "fuzz.h"
#include "spectra_bulk.h"
#include "spectra_import.h"
#include "spectra_query.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


static const spectra_query_limits_t  fuzz_qlimits = {
    10000, 300000, 300000, 10000, 10485760
};

static const spectra_bulk_limits_t  fuzz_blimits = { 300000 };


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    u_char            *body;
    fuzz_pool_t        fp;
    spectra_err_t      err;
    spectra_query_t    q;
    spectra_bulk_t     b;
    spectra_import_t   im;
    size_t             i;

    fuzz_pool_init(&fp);

    body = fuzz_copy(&fp, data, size);
    if (body == NULL) {
        return 0;
    }

    if (spectra_query_parse(body, size, &fuzz_qlimits, &fp.pool, &q, &err)
        == SPECTRA_QUERY_OK)
    {
        /* what the parser promised: bounds kept, strings readable */
        if (q.nparams > SPECTRA_QUERY_MAX_PARAMS
            || q.row_limit > fuzz_qlimits.rows
            || q.byte_limit > fuzz_qlimits.bytes
            || q.timeout_ms > fuzz_qlimits.timeout_ms
            || q.wait_ms > q.timeout_ms)
        {
            abort();
        }

        for (i = 0; i < q.nparams; i++) {
            if (q.params[i].name.len > SPECTRA_QUERY_NAME_MAX
                || q.params[i].value.len > SPECTRA_QUERY_VALUE_MAX)
            {
                abort();
            }
        }
    }

    if (spectra_bulk_parse(body, size, &fuzz_blimits, &fp.pool, &b, &err)
        == SPECTRA_BULK_OK)
    {
        if (b.sql.data == NULL || b.sql.data[b.sql.len] != '\0'
            || b.idempotency_key.len > SPECTRA_BULK_KEY_MAX
            || b.timeout_ms > fuzz_blimits.timeout_ms)
        {
            abort();
        }
    }

    (void) spectra_import_parse(body, size, 300000, &fp.pool, &im, &err);
    (void) spectra_import_patch_parse(body, size, &err);

    fuzz_pool_free(&fp);

    return 0;
}
