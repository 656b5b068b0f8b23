/*
 * One UNLOAD part file, written through a fixed buffer and, for GZIP and
 * ZSTD, a streaming compressor (zlib's deflate with a gzip wrapper,
 * libzstd's ZSTD_compressStream2), so that memory stays the same whatever
 * the export's size. The buffers and the compressor are kept from one
 * part to the next.
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "unload.h"


#define DA_UFILE_IN    (256 * 1024)
#define DA_UFILE_GZIP  6            /* gzip(1)'s default level */
#define DA_UFILE_ZSTD  3            /* zstd(1)'s default level */


static int da_ufile_put(da_ufile_t *f, const u_char *p, size_t len);
static int da_ufile_flush(da_ufile_t *f, const u_char *p, size_t len,
    int end);


int
da_ufile_init(da_ufile_t *f, spectra_sql_unload_compression_e c)
{
    memset(f, 0, sizeof(da_ufile_t));
    f->fd = -1;
    f->compression = c;
    f->in_cap = DA_UFILE_IN;
    f->in = malloc(f->in_cap);

    if (f->in == NULL) {
        return -1;
    }

    if (c == SPECTRA_SQL_UNLOAD_GZIP) {
        f->out_cap = DA_UFILE_IN;
        f->out = malloc(f->out_cap);

        if (f->out == NULL
            || deflateInit2(&f->z, DA_UFILE_GZIP, Z_DEFLATED, 15 + 16, 8,
                            Z_DEFAULT_STRATEGY) != Z_OK)
        {
            return -1;
        }

        f->z_ready = 1;

    } else if (c == SPECTRA_SQL_UNLOAD_ZSTD) {
        f->out_cap = ZSTD_CStreamOutSize();
        f->out = malloc(f->out_cap);
        f->zc = ZSTD_createCCtx();

        if (f->out == NULL || f->zc == NULL
            || ZSTD_isError(ZSTD_CCtx_setParameter(f->zc,
                                ZSTD_c_compressionLevel, DA_UFILE_ZSTD))
            || ZSTD_isError(ZSTD_CCtx_setParameter(f->zc,
                                ZSTD_c_checksumFlag, 1)))
        {
            return -1;
        }
    }

    return 0;
}


/* Starts a part on fd (the file is f's until close or abort). */
int
da_ufile_open(da_ufile_t *f, int fd)
{
    f->fd = fd;
    f->in_len = 0;
    f->bytes = 0;
    f->raw = 0;
    f->err = 0;

    if (f->z_ready && deflateReset(&f->z) != Z_OK) {
        f->err = -1;
        return -1;
    }

    if (f->zc != NULL
        && ZSTD_isError(ZSTD_CCtx_reset(f->zc, ZSTD_reset_session_only)))
    {
        f->err = -1;
        return -1;
    }

    return 0;
}


static int
da_ufile_put(da_ufile_t *f, const u_char *p, size_t len)
{
    ssize_t  n;

    while (len > 0) {
        n = write(f->fd, p, len);

        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }

            f->err = errno;
            return -1;
        }

        p += n;
        len -= (size_t) n;
        f->bytes += n;
    }

    return 0;
}


/* Sends p (len bytes, uncompressed) through the compressor to the file. */
static int
da_ufile_flush(da_ufile_t *f, const u_char *p, size_t len, int end)
{
    ZSTD_inBuffer    zin;
    ZSTD_outBuffer   zout;
    size_t           left;
    int              rc;

    if (f->err != 0) {
        return -1;
    }

    if (f->compression == SPECTRA_SQL_UNLOAD_NONE) {
        return da_ufile_put(f, p, len);
    }

    if (f->compression == SPECTRA_SQL_UNLOAD_GZIP) {
        f->z.next_in = (Bytef *) p;
        f->z.avail_in = (uInt) len;

        do {
            f->z.next_out = f->out;
            f->z.avail_out = (uInt) f->out_cap;
            rc = deflate(&f->z, end ? Z_FINISH : Z_NO_FLUSH);

            if (rc == Z_STREAM_ERROR) {
                f->err = -1;
                return -1;
            }

            if (da_ufile_put(f, f->out, f->out_cap - f->z.avail_out) != 0) {
                return -1;
            }

        } while (f->z.avail_out == 0 || (end && rc != Z_STREAM_END));

        return 0;
    }

    zin.src = p;
    zin.size = len;
    zin.pos = 0;

    do {
        zout.dst = f->out;
        zout.size = f->out_cap;
        zout.pos = 0;
        left = ZSTD_compressStream2(f->zc, &zout, &zin,
                                    end ? ZSTD_e_end : ZSTD_e_continue);

        if (ZSTD_isError(left)) {
            f->err = -1;
            return -1;
        }

        if (da_ufile_put(f, f->out, zout.pos) != 0) {
            return -1;
        }

    } while (end ? left != 0 : zin.pos < zin.size);

    return 0;
}


int
da_ufile_write(da_ufile_t *f, const void *p, size_t len)
{
    const u_char  *s;
    size_t         n;

    s = p;
    f->raw += (int64_t) len;

    while (len > 0) {
        if (f->in_len == f->in_cap) {
            if (da_ufile_flush(f, f->in, f->in_len, 0) != 0) {
                return -1;
            }

            f->in_len = 0;
        }

        /* a value larger than the buffer goes through as it is */
        if (f->in_len == 0 && len >= f->in_cap) {
            return da_ufile_flush(f, s, len, 0);
        }

        n = f->in_cap - f->in_len;
        if (n > len) {
            n = len;
        }

        memcpy(f->in + f->in_len, s, n);
        f->in_len += n;
        s += n;
        len -= n;
    }

    return 0;
}


/*
 * Room for len bytes at the end of the buffer, which the caller fills and
 * then counts (f->in_len += len); NULL when len does not fit even an empty
 * buffer, or the file failed.
 */
u_char *
da_ufile_reserve(da_ufile_t *f, size_t len)
{
    if (len > f->in_cap || f->err != 0) {
        return NULL;
    }

    if (f->in_cap - f->in_len < len) {
        if (da_ufile_flush(f, f->in, f->in_len, 0) != 0) {
            return NULL;
        }

        f->in_len = 0;
    }

    return f->in + f->in_len;
}


/* Ends the stream and closes the file; f->bytes is its size on disk. */
int
da_ufile_close(da_ufile_t *f)
{
    int  rc;

    rc = da_ufile_flush(f, f->in, f->in_len, 1);
    f->in_len = 0;

    if (close(f->fd) != 0 && rc == 0) {
        f->err = errno;
        rc = -1;
    }

    f->fd = -1;

    return rc;
}


void
da_ufile_abort(da_ufile_t *f)
{
    if (f->fd >= 0) {
        close(f->fd);
        f->fd = -1;
    }

    f->in_len = 0;
}


void
da_ufile_free(da_ufile_t *f)
{
    da_ufile_abort(f);

    if (f->z_ready) {
        deflateEnd(&f->z);
        f->z_ready = 0;
    }

    ZSTD_freeCCtx(f->zc);
    f->zc = NULL;
    free(f->in);
    free(f->out);
    f->in = NULL;
    f->out = NULL;
}


const char *
da_ufile_error(const da_ufile_t *f)
{
    return f->err > 0 ? strerror(f->err) : "compression failed";
}
