/*
 * One UNLOAD part file, written through a fixed buffer and, for GZIP and
 * ZSTD, a streaming compressor (zlib's deflate with a gzip wrapper,
 * libzstd's ZSTD_compressStream2), so that memory stays the same whatever
 * the export's size. The buffers, the compressor and its thread are kept
 * from one part to the next.
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "unload.h"


#define DA_UFILE_IN    (256 * 1024)
#define DA_UFILE_GZIP  6            /* gzip(1)'s default level */
#define DA_UFILE_ZSTD  3            /* zstd(1)'s default level */


static void *da_ufile_thread(void *data);
static void da_ufile_idle(da_ufile_t *f);
static int da_ufile_put(da_ufile_t *f, const u_char *p, size_t len);
static int da_ufile_compress(da_ufile_t *f, const u_char *p, size_t len,
    int end);
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

    if (c == SPECTRA_SQL_UNLOAD_NONE) {
        return 0;
    }

    f->spare = malloc(f->in_cap);

    if (f->spare == NULL) {
        return -1;
    }

    if (pthread_mutex_init(&f->lock, NULL) != 0) {
        return -1;
    }

    if (pthread_cond_init(&f->cond, NULL) != 0) {
        pthread_mutex_destroy(&f->lock);
        return -1;
    }

    if (pthread_create(&f->thread, NULL, da_ufile_thread, f) != 0) {
        pthread_cond_destroy(&f->cond);
        pthread_mutex_destroy(&f->lock);
        return -1;
    }

    f->threaded = 1;

    return 0;
}


/* Compresses the jobs it is handed until told to quit. */
static void *
da_ufile_thread(void *data)
{
    da_ufile_t     *f = data;
    const u_char   *p;
    size_t          len;
    int             end;

    pthread_mutex_lock(&f->lock);

    for ( ;; ) {
        while (!f->busy && !f->quit) {
            pthread_cond_wait(&f->cond, &f->lock);
        }

        if (!f->busy) {
            break;
        }

        p = f->job;
        len = f->job_len;
        end = f->job_end;
        pthread_mutex_unlock(&f->lock);

        /* errors stay in f->err, which the caller reads once idle */
        (void) da_ufile_compress(f, p, len, end);

        pthread_mutex_lock(&f->lock);
        f->flushed = f->bytes;
        f->busy = 0;
        pthread_cond_broadcast(&f->cond);
    }

    pthread_mutex_unlock(&f->lock);

    return NULL;
}


/* Waits until the thread has finished its job: the file is the caller's. */
static void
da_ufile_idle(da_ufile_t *f)
{
    if (!f->threaded) {
        return;
    }

    pthread_mutex_lock(&f->lock);

    while (f->busy) {
        pthread_cond_wait(&f->cond, &f->lock);
    }

    pthread_mutex_unlock(&f->lock);
}


/* Whether the file failed (once the thread is idle, which it tells). */
int
da_ufile_failed(da_ufile_t *f)
{
    da_ufile_idle(f);

    return f->err != 0;
}


int64_t
da_ufile_size(da_ufile_t *f)
{
    int64_t  size;

    if (!f->threaded) {
        return f->bytes + (int64_t) f->in_len;
    }

    /* a job being compressed counts at its uncompressed size */
    pthread_mutex_lock(&f->lock);
    size = f->flushed + (f->busy ? (int64_t) f->job_len : 0);
    pthread_mutex_unlock(&f->lock);

    return size + (int64_t) f->in_len;
}


/* Starts a part on fd (the file is f's until close or abort). */
int
da_ufile_open(da_ufile_t *f, int fd)
{
    da_ufile_idle(f);

    f->fd = fd;
    f->in_len = 0;
    f->bytes = 0;
    f->flushed = 0;
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


/*
 * Sends p (len bytes, uncompressed) on to the file: in[] to the thread
 * (the rows go on into the other buffer), anything else, or everything
 * without a thread, through the compressor here.
 */
static int
da_ufile_flush(da_ufile_t *f, const u_char *p, size_t len, int end)
{
    u_char  *next;
    int      rc;

    if (!f->threaded) {
        return da_ufile_compress(f, p, len, end);
    }

    pthread_mutex_lock(&f->lock);

    while (f->busy) {
        pthread_cond_wait(&f->cond, &f->lock);
    }

    if (f->err != 0) {
        pthread_mutex_unlock(&f->lock);
        return -1;
    }

    if (p != f->in) {
        /* the caller's bytes, which do not outlive this call */
        pthread_mutex_unlock(&f->lock);

        rc = da_ufile_compress(f, p, len, end);

        pthread_mutex_lock(&f->lock);
        f->flushed = f->bytes;
        pthread_mutex_unlock(&f->lock);

        return rc;
    }

    f->job = p;
    f->job_len = len;
    f->job_end = end;
    f->busy = 1;
    pthread_cond_signal(&f->cond);
    pthread_mutex_unlock(&f->lock);

    next = f->spare;
    f->spare = f->in;
    f->in = next;

    return 0;
}


/* Compresses p into the file, in the thread or, when it is idle, here. */
static int
da_ufile_compress(da_ufile_t *f, const u_char *p, size_t len, int end)
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
    /* the thread's errors show at the next flush, once it is idle */
    if (len > f->in_cap || (!f->threaded && f->err != 0)) {
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

    da_ufile_idle(f);

    if (rc == 0 && f->err != 0) {
        rc = -1;
    }

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
    da_ufile_idle(f);

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

    if (f->threaded) {
        pthread_mutex_lock(&f->lock);
        f->quit = 1;
        pthread_cond_signal(&f->cond);
        pthread_mutex_unlock(&f->lock);

        pthread_join(f->thread, NULL);
        pthread_cond_destroy(&f->cond);
        pthread_mutex_destroy(&f->lock);
        f->threaded = 0;
    }

    if (f->z_ready) {
        deflateEnd(&f->z);
        f->z_ready = 0;
    }

    ZSTD_freeCCtx(f->zc);
    f->zc = NULL;
    free(f->in);
    free(f->spare);
    free(f->out);
    f->in = NULL;
    f->spare = NULL;
    f->out = NULL;
}


const char *
da_ufile_error(const da_ufile_t *f)
{
    return f->err > 0 ? strerror(f->err) : "compression failed";
}
