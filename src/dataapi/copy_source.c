/*
 * COPY's source: the object s3://bucket/key is EXPORT_DIR/bucket/key,
 * the directory UNLOAD writes and the object store serves and writes.
 * Every directory is opened below the export directory one name at a
 * time with O_NOFOLLOW, and the object itself with O_NOFOLLOW too, so
 * that no symbolic link leads out of it; only a regular file is read.
 * GZIP (one or more members, as gzip and pigz write them) and ZSTD (one
 * or more frames) are decompressed as the file is read; data that ends
 * inside a member or frame is an error, never a short load.
 */

#include <errno.h>
#include <stdio.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "copy.h"


static int da_csrc_dir(da_csrc_t *src, const char *export_dir,
    const char *dirs);
static int da_csrc_fill(da_csrc_t *src);
static ssize_t da_csrc_gunzip(da_csrc_t *src, u_char *buf, size_t cap);
static ssize_t da_csrc_unzstd(da_csrc_t *src, u_char *buf, size_t cap);


/* The directory of the object, or -1 with src->err. */
static int
da_csrc_dir(da_csrc_t *src, const char *export_dir, const char *dirs)
{
    char  *path, *name, *slash;
    int    fd, next;

    fd = open(export_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) {
            snprintf(src->err, sizeof(src->err),
                     "the specified S3 object does not exist");

        } else {
            snprintf(src->err, sizeof(src->err),
                     "cannot open the export directory: %s",
                     strerror(errno));
        }

        return -1;
    }

    path = strdup(dirs);
    if (path == NULL) {
        close(fd);
        snprintf(src->err, sizeof(src->err), "out of memory");
        return -1;
    }

    for (name = path; name != NULL; name = slash) {
        slash = strchr(name, '/');
        if (slash != NULL) {
            *slash++ = '\0';
        }

        next = openat(fd, name,
                      O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

        if (next < 0) {
            if (errno == ELOOP || errno == ENOTDIR) {
                snprintf(src->err, sizeof(src->err), "the source leads "
                         "through a symbolic link or a file");

            } else if (errno == ENOENT) {
                snprintf(src->err, sizeof(src->err),
                         "the specified S3 object does not exist");

            } else {
                snprintf(src->err, sizeof(src->err),
                         "cannot open the source's directory: %s",
                         strerror(errno));
            }

            break;
        }

        close(fd);
        fd = next;
    }

    if (name != NULL) {
        close(fd);
        fd = -1;
    }

    free(path);

    return fd;
}


int
da_csrc_open(da_csrc_t *src, const char *export_dir, const char *dirs,
    const char *name, spectra_sql_unload_compression_e compression)
{
    struct stat  st;
    int          dirfd, fd, flags;

    memset(src, 0, sizeof(da_csrc_t));
    src->fd = -1;
    src->compression = compression;
    src->zret = 1;

    src->in = malloc(DA_COPY_IO_SIZE);
    if (src->in == NULL) {
        snprintf(src->err, sizeof(src->err), "out of memory");
        return -1;
    }

    if (compression == SPECTRA_SQL_UNLOAD_GZIP) {
        if (inflateInit2(&src->z, 16 + MAX_WBITS) != Z_OK) {
            snprintf(src->err, sizeof(src->err), "out of memory");
            return -1;
        }

        src->z_ready = 1;

    } else if (compression == SPECTRA_SQL_UNLOAD_ZSTD) {
        src->zd = ZSTD_createDStream();

        if (src->zd == NULL || ZSTD_isError(ZSTD_initDStream(src->zd))) {
            snprintf(src->err, sizeof(src->err), "out of memory");
            return -1;
        }
    }

    dirfd = da_csrc_dir(src, export_dir, dirs);
    if (dirfd < 0) {
        return -1;
    }

    /* O_NONBLOCK: a FIFO must not hang the open */
    fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    close(dirfd);

    if (fd < 0) {
        if (errno == ENOENT) {
            snprintf(src->err, sizeof(src->err),
                     "the specified S3 object does not exist");

        } else if (errno == ELOOP) {
            snprintf(src->err, sizeof(src->err),
                     "the source is a symbolic link");

        } else {
            snprintf(src->err, sizeof(src->err),
                     "cannot open the source: %s", strerror(errno));
        }

        return -1;
    }

    src->fd = fd;

    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(src->err, sizeof(src->err),
                 "the source is not a regular file");
        return -1;
    }

    flags = fcntl(fd, F_GETFL);
    if (flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) != 0) {
        snprintf(src->err, sizeof(src->err), "cannot read the source: %s",
                 strerror(errno));
        return -1;
    }

    return 0;
}


/* More of the file into in[]: 1, 0 at its end, -1 on an error. */
static int
da_csrc_fill(da_csrc_t *src)
{
    ssize_t  n;

    if (src->in_eof) {
        return 0;
    }

    do {
        n = read(src->fd, src->in, DA_COPY_IO_SIZE);
    } while (n < 0 && errno == EINTR);

    if (n < 0) {
        snprintf(src->err, sizeof(src->err), "cannot read the source: %s",
                 strerror(errno));
        return -1;
    }

    if (n == 0) {
        src->in_eof = 1;
        return 0;
    }

    src->in_pos = 0;
    src->in_len = (size_t) n;

    return 1;
}


static ssize_t
da_csrc_gunzip(da_csrc_t *src, u_char *buf, size_t cap)
{
    int  rc;

    src->z.next_out = buf;
    src->z.avail_out = (uInt) cap;

    for ( ;; ) {
        if (src->z_end && src->in_pos < src->in_len) {
            /* another member follows */
            if (inflateReset(&src->z) != Z_OK) {
                snprintf(src->err, sizeof(src->err),
                         "the gzip data is corrupt");
                return -1;
            }

            src->z_end = 0;
        }

        if (!src->z_end) {
            /* even without input: output may be pending */
            src->z.next_in = src->in + src->in_pos;
            src->z.avail_in = (uInt) (src->in_len - src->in_pos);

            rc = inflate(&src->z, Z_NO_FLUSH);

            src->in_pos = src->in_len - src->z.avail_in;

            if (rc == Z_STREAM_END) {
                src->z_end = 1;

            } else if (rc != Z_OK && rc != Z_BUF_ERROR) {
                snprintf(src->err, sizeof(src->err),
                         "the gzip data is corrupt: %s",
                         src->z.msg != NULL ? src->z.msg : "inflate failed");
                return -1;
            }

            if (src->z.avail_out != cap) {
                return (ssize_t) (cap - src->z.avail_out);
            }

            if (src->in_pos < src->in_len) {
                continue;
            }
        }

        rc = da_csrc_fill(src);

        if (rc < 0) {
            return -1;
        }

        if (rc == 0) {
            if (src->z_end) {
                return 0;
            }

            snprintf(src->err, sizeof(src->err),
                     "the gzip data is truncated");
            return -1;
        }
    }
}


static ssize_t
da_csrc_unzstd(da_csrc_t *src, u_char *buf, size_t cap)
{
    ZSTD_inBuffer   in;
    ZSTD_outBuffer  out;
    int             rc;

    out.dst = buf;
    out.size = cap;
    out.pos = 0;

    for ( ;; ) {
        /* without input too, unless a frame just ended: output pending */
        if (src->in_pos < src->in_len || src->zret != 0) {
            in.src = src->in + src->in_pos;
            in.size = src->in_len - src->in_pos;
            in.pos = 0;

            src->zret = ZSTD_decompressStream(src->zd, &out, &in);
            src->in_pos += in.pos;

            if (ZSTD_isError(src->zret)) {
                snprintf(src->err, sizeof(src->err),
                         "the zstd data is corrupt: %s",
                         ZSTD_getErrorName(src->zret));
                return -1;
            }

            if (out.pos > 0) {
                return (ssize_t) out.pos;
            }

            if (src->in_pos < src->in_len) {
                continue;
            }
        }

        rc = da_csrc_fill(src);

        if (rc < 0) {
            return -1;
        }

        if (rc == 0) {
            if (src->zret == 0) {
                return 0;               /* the last frame ended: the end */
            }

            snprintf(src->err, sizeof(src->err),
                     "the zstd data is truncated");
            return -1;
        }
    }
}


/* Up to cap bytes of the object's data: > 0, 0 at its end, -1 (err). */
ssize_t
da_csrc_read(da_csrc_t *src, u_char *buf, size_t cap)
{
    ssize_t  n;

    switch (src->compression) {

    case SPECTRA_SQL_UNLOAD_GZIP:
        return da_csrc_gunzip(src, buf, cap);

    case SPECTRA_SQL_UNLOAD_ZSTD:
        return da_csrc_unzstd(src, buf, cap);

    default:
        break;
    }

    do {
        n = read(src->fd, buf, cap);
    } while (n < 0 && errno == EINTR);

    if (n < 0) {
        snprintf(src->err, sizeof(src->err), "cannot read the source: %s",
                 strerror(errno));
    }

    return n;
}


void
da_csrc_close(da_csrc_t *src)
{
    if (src->fd >= 0) {
        close(src->fd);
        src->fd = -1;
    }

    if (src->z_ready) {
        inflateEnd(&src->z);
        src->z_ready = 0;
    }

    ZSTD_freeDStream(src->zd);
    src->zd = NULL;
    free(src->in);
    src->in = NULL;
}
