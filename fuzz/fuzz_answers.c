/*
 * The module's readers of Data API answers, as a hostile or broken
 * upstream could send them: ExecuteStatement, DescribeStatement, errors,
 * GetStatementResult paging, an import's error pages.
 */

#include "fuzz.h"
#include "spectra_dataapi.h"
#include "spectra_import.h"
#include "spectra_result.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    u_char                        *p;
    size_t                         n;
    int64_t                        total;
    fuzz_pool_t                    fp;
    spectra_err_t                  err;
    spectra_str_t                  sqlstate, next;
    spectra_result_page_t          page;
    spectra_import_error_t        *errors;
    spectra_dataapi_error_t        e;
    spectra_dataapi_submitted_t    sub;
    spectra_dataapi_described_t    desc;

    fuzz_pool_init(&fp);

    p = fuzz_copy(&fp, data, size);
    if (p == NULL) {
        return 0;
    }

    if (spectra_dataapi_read_submitted(p, size, &fp.pool, &sub, &err) == 0
        && sub.id.len == 0)
    {
        abort();
    }

    (void) spectra_dataapi_read_described(p, size, &fp.pool, &desc, &err);

    spectra_dataapi_classify(size ? 400 + data[0] % 200 : 0, p, size,
                             size > 1 && (data[1] & 1), &e);

    if (memchr(e.type, '\0', sizeof(e.type)) == NULL
        || memchr(e.message, '\0', sizeof(e.message)) == NULL)
    {
        abort();
    }

    if (spectra_dataapi_sqlstate(p, size, &sqlstate) == 0
        && sqlstate.len != 5)
    {
        abort();
    }

    (void) spectra_result_page_info(p, size, &page, &fp.pool, &err);

    if (spectra_import_errors_page(p, size, &fp.pool, &errors, &n, &total,
                                   &next, &err)
        == 0)
    {
        /* the CSV of /failed is written from these */
        u_char  *csv;
        size_t   len;

        len = spectra_import_csv_len(errors, n);
        csv = fuzz_alloc(&fp, len);
        if (csv != NULL
            && (size_t) (spectra_import_csv(csv, errors, n) - csv) != len)
        {
            abort();
        }
    }

    fuzz_pool_free(&fp);

    return 0;
}
