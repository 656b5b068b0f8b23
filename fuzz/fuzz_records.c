/*
 * What comes back from storage: an UNLOAD manifest (written by the
 * warehouse), a bulk or import job's stored result and a result cursor
 * (a client's bytes).  Stored results must survive a write and a read
 * unchanged: write(read(x)) is a fixed point of read-then-write.
 */

#include "fuzz.h"
#include "spectra_bulk.h"
#include "spectra_cursor.h"
#include "spectra_import.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


static void
fuzz_manifest(fuzz_pool_t *fp, const u_char *p, size_t len, unsigned header)
{
    size_t                n, i;
    spectra_err_t         err;
    spectra_bulk_file_t  *files;
    static spectra_str_t  bucket = spectra_string("spectra-exports");
    static spectra_str_t  prefix = spectra_string("tenant=acme/job=job_x/");

    if (spectra_bulk_manifest_parse(p, len, header, &bucket, &prefix,
                                    &fp->pool, &files, &n, &err)
        != 0)
    {
        return;
    }

    for (i = 0; i < n; i++) {
        /* a listed file is inside the export's prefix */
        if (files[i].key.len < prefix.len
            || memcmp(files[i].key.data, prefix.data, prefix.len) != 0
            || files[i].size < 0 || files[i].rows < 0)
        {
            abort();
        }
    }
}


static void
fuzz_bulk_result(fuzz_pool_t *fp, const u_char *p, size_t len)
{
    u_char                 *a, *b;
    size_t                  alen, blen;
    spectra_err_t           err;
    spectra_bulk_result_t   r1, r2;

    if (spectra_bulk_result_read(p, len, &fp->pool, &r1, &err) != 0) {
        return;
    }

    alen = spectra_bulk_result_len(&r1);
    a = fuzz_alloc(fp, alen);
    if (a == NULL
        || (size_t) (spectra_bulk_result(a, &r1) - a) != alen)
    {
        abort();
    }

    if (spectra_bulk_result_read(a, alen, &fp->pool, &r2, &err) != 0) {
        abort();
    }

    blen = spectra_bulk_result_len(&r2);
    b = fuzz_alloc(fp, blen);
    if (b == NULL || (size_t) (spectra_bulk_result(b, &r2) - b) != blen
        || blen != alen || memcmp(a, b, alen) != 0)
    {
        abort();
    }
}


static void
fuzz_import_result(fuzz_pool_t *fp, const u_char *p, size_t len)
{
    spectra_err_t             err;
    spectra_str_t             a, b;
    spectra_import_result_t   r1, r2;

    if (spectra_import_result_read(p, len, &fp->pool, &r1, &err) != 0) {
        return;
    }

    if (spectra_import_result_write(&r1, &fp->pool, &a) != 0) {
        return;
    }

    if (spectra_import_result_read(a.data, a.len, &fp->pool, &r2, &err) != 0
        || spectra_import_result_write(&r2, &fp->pool, &b) != 0
        || a.len != b.len || memcmp(a.data, b.data, a.len) != 0)
    {
        abort();
    }
}


static void
fuzz_cursor(fuzz_pool_t *fp, const u_char *p, size_t len)
{
    u_char                key[SPECTRA_CURSOR_KEY_LEN];
    spectra_err_t         err;
    u_char               *sealed;
    size_t                slen;
    spectra_cursor_t      c, back;
    static spectra_str_t  bind[2] = {
        spectra_string("acme"), spectra_string("job_x")
    };

    if (spectra_cursor_key(key, (const u_char *) "fuzz", 4) != 0) {
        abort();
    }

    if (spectra_cursor_open(p, len, key, bind, 2, &fp->pool, &c, &err)
        == SPECTRA_CURSOR_OK)
    {
        /* an input that opens was sealed with this key: not by chance */
        abort();
    }

    /* and the input as a NextToken: sealed, it opens to the same */
    if (len > SPECTRA_CURSOR_TOKEN_MAX) {
        return;
    }

    c.offset = len;
    c.skip = len / 2;
    c.token.data = (u_char *) p;
    c.token.len = len;

    sealed = fuzz_alloc(fp, spectra_cursor_len(len));
    if (sealed == NULL) {
        return;
    }

    if (spectra_cursor_seal(sealed, &slen, key, bind, 2, &c, &err)
        != SPECTRA_CURSOR_OK)
    {
        abort();
    }

    if (spectra_cursor_open(sealed, slen, key, bind, 2, &fp->pool, &back,
                            &err)
        != SPECTRA_CURSOR_OK
        || back.offset != c.offset || back.skip != c.skip
        || back.token.len != len || memcmp(back.token.data, p, len) != 0)
    {
        abort();
    }

    /* bound to its tenant and job: another's binding does not open it */
    if (spectra_cursor_open(sealed, slen, key, bind + 1, 1, &fp->pool, &back,
                            &err)
        == SPECTRA_CURSOR_OK)
    {
        abort();
    }
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
            fuzz_manifest(&fp, p, size - 1, 0);
            break;
        case 1:
            fuzz_manifest(&fp, p, size - 1, 1);
            break;
        case 2:
            fuzz_bulk_result(&fp, p, size - 1);
            break;
        case 3:
            fuzz_import_result(&fp, p, size - 1);
            break;
        default:
            fuzz_cursor(&fp, p, size - 1);
            break;
        }
    }

    fuzz_pool_free(&fp);

    return 0;
}
