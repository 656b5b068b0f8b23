/*
 * spectra-dataapi's readers of the UNLOAD and COPY statements it is sent:
 * what parses must validate and must write back to text that parses to
 * the same thing.
 */

#include "fuzz.h"
#include "spectra_sql.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


static void
fuzz_unload(fuzz_pool_t *fp, const u_char *p, size_t len)
{
    u_char                *query, *text, *query2;
    size_t                 n;
    spectra_err_t          err;
    spectra_sql_unload_t   u, u2;

    query = fuzz_alloc(fp, len);
    if (query == NULL) {
        return;
    }

    if (spectra_sql_unload_parse(p, len, query, &u, &err) != 0) {
        return;
    }

    if (spectra_sql_unload_validate(&u, &err) != 0) {
        abort();
    }

    n = spectra_sql_unload_len(&u);
    text = fuzz_alloc(fp, n);
    query2 = fuzz_alloc(fp, n);
    if (text == NULL || query2 == NULL) {
        return;
    }

    if ((size_t) (spectra_sql_unload(text, &u) - text) != n) {
        abort();
    }

    if (spectra_sql_unload_parse(text, n, query2, &u2, &err) != 0
        || u2.query.len != u.query.len
        || memcmp(u2.query.data, u.query.data, u.query.len) != 0
        || u2.format != u.format || u2.compression != u.compression
        || u2.target.len != u.target.len || u2.header != u.header)
    {
        abort();
    }
}


static void
fuzz_copy_stmt(fuzz_pool_t *fp, const u_char *p, size_t len)
{
    u_char              *text;
    size_t               n;
    spectra_err_t        err;
    spectra_sql_copy_t   c, c2;

    if (spectra_sql_copy_parse(p, len, &c, &err) != 0) {
        return;
    }

    if (spectra_sql_copy_validate(&c, &err) != 0) {
        abort();
    }

    n = spectra_sql_copy_len(&c);
    text = fuzz_alloc(fp, n);
    if (text == NULL) {
        return;
    }

    if ((size_t) (spectra_sql_copy(text, &c) - text) != n) {
        abort();
    }

    if (spectra_sql_copy_parse(text, n, &c2, &err) != 0
        || c2.format != c.format || c2.max_errors != c.max_errors
        || c2.table.len != c.table.len || c2.source.len != c.source.len)
    {
        abort();
    }
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    u_char       *p;
    fuzz_pool_t   fp;

    fuzz_pool_init(&fp);

    p = fuzz_copy(&fp, data, size);
    if (p != NULL) {
        fuzz_unload(&fp, p, size);
        fuzz_copy_stmt(&fp, p, size);
    }

    fuzz_pool_free(&fp);

    return 0;
}
