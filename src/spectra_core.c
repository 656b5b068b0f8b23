/*
 * The core's error values and pool helpers (spectra_core.h).
 */

#include <stdio.h>
#include <string.h>

#include "spectra_core.h"


int
spectra_err_vset(spectra_err_t *err, int code, size_t position,
    const char *fmt, va_list args)
{
    if (err == NULL) {
        return code;
    }

    err->code = code;
    err->position = position;

    vsnprintf(err->message, sizeof(err->message), fmt, args);

    return code;
}


int
spectra_err_set(spectra_err_t *err, int code, size_t position,
    const char *fmt, ...)
{
    va_list  args;

    va_start(args, fmt);
    code = spectra_err_vset(err, code, position, fmt, args);
    va_end(args);

    return code;
}


void *
spectra_palloc(const spectra_pool_t *pool, size_t size)
{
    return pool->alloc(pool->pool, size);
}


u_char *
spectra_pstrdup(const spectra_pool_t *pool, const u_char *p, size_t len)
{
    u_char  *dst;

    dst = pool->alloc(pool->pool, len + 1);
    if (dst == NULL) {
        return NULL;
    }

    if (len) {
        memcpy(dst, p, len);
    }

    dst[len] = '\0';

    return dst;
}
