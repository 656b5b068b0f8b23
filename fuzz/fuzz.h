/*
 * What every fuzz target shares: a pool whose allocations are freed after
 * each input (so that LeakSanitizer sees only the code's own leaks), and
 * a splitter that cuts one input into several fields.
 */

#ifndef SPECTRA_FUZZ_H
#define SPECTRA_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "spectra_core.h"


typedef struct fuzz_block_s  fuzz_block_t;

/* 16 bytes on 64-bit machines: what follows is aligned as malloc()'s */
struct fuzz_block_s {
    fuzz_block_t   *next;
    size_t          size;
};


typedef struct {
    fuzz_block_t   *blocks;
    spectra_pool_t  pool;
} fuzz_pool_t;


static void *
fuzz_alloc(void *data, size_t size)
{
    fuzz_pool_t   *fp = data;
    fuzz_block_t  *b;

    b = malloc(sizeof(fuzz_block_t) + size);
    if (b == NULL) {
        return NULL;
    }

    b->next = fp->blocks;
    b->size = size;
    fp->blocks = b;

    return b + 1;
}


static void
fuzz_pool_init(fuzz_pool_t *fp)
{
    fp->blocks = NULL;
    fp->pool.alloc = fuzz_alloc;
    fp->pool.pool = fp;
}


static void
fuzz_pool_free(fuzz_pool_t *fp)
{
    fuzz_block_t  *b, *next;

    for (b = fp->blocks; b != NULL; b = next) {
        next = b->next;
        free(b);
    }

    fp->blocks = NULL;
}


/*
 * Fields of one input, separated by "\n--\n": a fuzzer finds the
 * separator quickly, and seeds stay readable.
 */
typedef struct {
    const uint8_t  *p;
    const uint8_t  *end;
    int             done;
} fuzz_fields_t;


static void
fuzz_fields_init(fuzz_fields_t *ff, const uint8_t *data, size_t size)
{
    ff->p = data;
    ff->end = data + size;
    ff->done = (size == 0);
}


/*
 * The next field (an empty one once the input is used up), copied into a
 * block of exactly its size, so that AddressSanitizer sees a read past it.
 */
static int
fuzz_field(fuzz_fields_t *ff, fuzz_pool_t *fp, spectra_str_t *f)
{
    const uint8_t  *q, *start;
    size_t          len;

    start = ff->p;
    len = 0;

    if (!ff->done) {
        for (q = ff->p; ff->end - q >= 4; q++) {
            if (memcmp(q, "\n--\n", 4) == 0) {
                break;
            }
        }

        if (ff->end - q >= 4) {
            len = (size_t) (q - ff->p);
            ff->p = q + 4;

        } else {
            len = (size_t) (ff->end - ff->p);
            ff->done = 1;
        }
    }

    f->len = len;
    f->data = fuzz_alloc(fp, len);
    if (f->data == NULL) {
        return -1;
    }

    if (len) {
        memcpy(f->data, start, len);
    }

    return 0;
}


/* The whole input in a block of its own size (see fuzz_field()). */
static u_char *
fuzz_copy(fuzz_pool_t *fp, const uint8_t *data, size_t size)
{
    u_char  *p;

    p = fuzz_alloc(fp, size);
    if (p != NULL && size) {
        memcpy(p, data, size);
    }

    return p;
}

#endif /* SPECTRA_FUZZ_H */
