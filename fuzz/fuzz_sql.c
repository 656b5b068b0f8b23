/*
 * The SQL policy on the caller's SQL: PostgreSQL's parser (libpg_query)
 * and the walk of its parse tree.  What it accepts must be one statement
 * inside the input, with its :names inside the input as well.
 */

#include "fuzz.h"
#include "spectra_sql.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    u_char               *sql;
    size_t                i;
    fuzz_pool_t           fp;
    spectra_err_t         err;
    spectra_sql_info_t    info;
    spectra_sql_policy_t  policy;

    if (size > SPECTRA_SQL_MAX_LEN + 1) {
        return 0;
    }

    fuzz_pool_init(&fp);

    sql = fuzz_copy(&fp, data, size);
    if (sql == NULL) {
        return 0;
    }

    spectra_sql_policy_default(&policy);

    if (spectra_sql_check(&policy, sql, size, &info, &err) == 0) {

        if (info.stmt_start > size || info.stmt_len > size - info.stmt_start
            || info.stmt_len == 0 || info.nparams > SPECTRA_SQL_MAX_PARAMS)
        {
            abort();
        }

        for (i = 0; i < info.nparams; i++) {
            if (info.params[i].data < sql
                || info.params[i].data + info.params[i].len > sql + size
                || info.params[i].len == 0)
            {
                abort();
            }
        }

    } else if (err.position != SPECTRA_POS_NONE && err.position > size) {
        abort();
    }

    fuzz_pool_free(&fp);

    return 0;
}
