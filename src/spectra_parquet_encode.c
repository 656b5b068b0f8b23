/*
 * Parquet's encodings below the page: a growing byte buffer, the
 * RLE/bit-packed hybrid (levels and dictionary indices), PLAIN booleans
 * and the page codecs (Debian's libsnappy and libzstd).
 *
 * The hybrid is a sequence of runs, each led by a ULEB128 header: an RLE
 * run is (count << 1) then the value in ceil(width / 8) bytes, little
 * endian; a bit-packed run is (groups << 1 | 1) then groups * 8 values of
 * width bits, packed from the least significant bit on. Runs of 8 or more
 * equal values are written as RLE runs, the rest bit-packed in groups of
 * 8; only the last group is padded (with zeros), the reader knows the
 * count.
 */

#include <stdlib.h>
#include <string.h>

#include <snappy-c.h>
#include <zstd.h>

#include "spectra_parquet.h"


#define SPECTRA_PQ_ZSTD_LEVEL  3


static void spectra_pq_varint(spectra_pq_buf_t *b, uint64_t v);


int
spectra_pq_buf_room(spectra_pq_buf_t *b, size_t n)
{
    u_char  *p;
    size_t   cap;

    if (b->err) {
        return -1;
    }

    if (b->len + n <= b->cap) {
        return 0;
    }

    cap = b->cap ? b->cap : 1024;
    while (cap < b->len + n) {
        cap *= 2;
    }

    p = realloc(b->p, cap);
    if (p == NULL) {
        b->err = 1;
        return -1;
    }

    b->p = p;
    b->cap = cap;

    return 0;
}


void
spectra_pq_buf_add(spectra_pq_buf_t *b, const void *p, size_t len)
{
    if (len == 0 || spectra_pq_buf_room(b, len) != 0) {
        return;
    }

    memcpy(b->p + b->len, p, len);
    b->len += len;
}


void
spectra_pq_buf_free(spectra_pq_buf_t *b)
{
    free(b->p);
    memset(b, 0, sizeof(spectra_pq_buf_t));
}


int
spectra_pq_bit_width(uint32_t max)
{
    int  w;

    for (w = 0; max != 0; max >>= 1) {
        w++;
    }

    return w;
}


static void
spectra_pq_varint(spectra_pq_buf_t *b, uint64_t v)
{
    if (spectra_pq_buf_room(b, 10) != 0) {
        return;
    }

    while (v >= 0x80) {
        b->p[b->len++] = (u_char) (v | 0x80);
        v >>= 7;
    }

    b->p[b->len++] = (u_char) v;
}


/*
 * One encoder for both inputs: values are read through get() so that
 * levels (bytes) and indices (uint32_t) share the run logic.
 */

typedef uint32_t (*spectra_pq_get_pt)(const void *v, size_t i);

static uint32_t
spectra_pq_get_u32(const void *v, size_t i)
{
    return ((const uint32_t *) v)[i];
}

static uint32_t
spectra_pq_get_u8(const void *v, size_t i)
{
    return ((const u_char *) v)[i];
}


static void
spectra_pq_hybrid(spectra_pq_buf_t *b, const void *v, size_t n, int width,
    spectra_pq_get_pt get)
{
    uint64_t  acc;
    uint32_t  x;
    size_t    i, r, start, groups, k, vbytes;
    int       nbits;

    vbytes = (size_t) (width + 7) / 8;
    i = 0;

    while (i < n) {
        x = get(v, i);
        for (r = 1; i + r < n && get(v, i + r) == x; r++) { /* void */ }

        if (r >= 8) {
            spectra_pq_varint(b, (uint64_t) r << 1);

            if (spectra_pq_buf_room(b, 4) != 0) {
                return;
            }

            for (k = 0; k < vbytes; k++) {
                b->p[b->len++] = (u_char) (x >> (8 * k));
            }

            i += r;
            continue;
        }

        /* bit-packed groups up to the next run of 8 at a group start */
        start = i;
        groups = 0;

        for ( ;; ) {
            i += 8;
            groups++;

            if (i >= n) {
                break;
            }

            x = get(v, i);
            for (r = 1; r < 8 && i + r < n && get(v, i + r) == x; r++) {
                /* void */
            }

            if (r >= 8) {
                break;
            }
        }

        spectra_pq_varint(b, (uint64_t) groups << 1 | 1);

        if (spectra_pq_buf_room(b, groups * (size_t) width + 8) != 0) {
            return;
        }

        acc = 0;
        nbits = 0;

        for (k = start; k < start + groups * 8; k++) {
            x = k < n ? get(v, k) : 0;
            acc |= (uint64_t) x << nbits;
            nbits += width;

            while (nbits >= 8) {
                b->p[b->len++] = (u_char) acc;
                acc >>= 8;
                nbits -= 8;
            }
        }

        if (i > n) {
            i = n;
        }
    }
}


void
spectra_pq_rle(spectra_pq_buf_t *b, const uint32_t *v, size_t n, int width)
{
    spectra_pq_hybrid(b, v, n, width, spectra_pq_get_u32);
}


void
spectra_pq_rle_levels(spectra_pq_buf_t *b, const u_char *v, size_t n,
    int width)
{
    spectra_pq_hybrid(b, v, n, width, spectra_pq_get_u8);
}


void
spectra_pq_plain_bools(spectra_pq_buf_t *b, const u_char *v, size_t n)
{
    size_t  i;

    if (spectra_pq_buf_room(b, (n + 7) / 8) != 0) {
        return;
    }

    for (i = 0; i < n; i++) {
        if (i % 8 == 0) {
            b->p[b->len++] = 0;
        }

        if (v[i]) {
            b->p[b->len - 1] |= (u_char) (1 << (i % 8));
        }
    }
}


int
spectra_pq_compress(spectra_pq_codec_e codec, const u_char *in, size_t len,
    spectra_pq_buf_t *out)
{
    size_t  cap, n;

    out->len = 0;

    switch (codec) {

    case SPECTRA_PQ_SNAPPY:
        cap = snappy_max_compressed_length(len);

        if (spectra_pq_buf_room(out, cap) != 0) {
            return -1;
        }

        n = cap;
        if (snappy_compress((const char *) in, len, (char *) out->p, &n)
            != SNAPPY_OK)
        {
            return -1;
        }

        out->len = n;
        return 0;

    case SPECTRA_PQ_ZSTD:
        cap = ZSTD_compressBound(len);

        if (spectra_pq_buf_room(out, cap) != 0) {
            return -1;
        }

        n = ZSTD_compress(out->p, cap, in, len, SPECTRA_PQ_ZSTD_LEVEL);
        if (ZSTD_isError(n)) {
            return -1;
        }

        out->len = n;
        return 0;

    default:
        spectra_pq_buf_add(out, in, len);
        return out->err ? -1 : 0;
    }
}
