/*
 * Unit tests of src/spectra_thrift.c and src/spectra_parquet*.c: the
 * Thrift compact protocol (varints, zigzag, field deltas and the long
 * form, bools, lists, nested structs), the encodings (RLE/bit-packed
 * hybrid, PLAIN booleans, dictionary indices, levels), whole pages and
 * statistics in a written file, the codecs (round trips through
 * libsnappy and libzstd), PostgreSQL's types and text values, and the
 * writer's refusals. Every expected byte is worked out by hand from the
 * Parquet and Thrift specifications.
 */

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <snappy-c.h>
#include <zstd.h>

#include "spectra_parquet.h"
#include "spectra_thrift.h"


#define B(...)   (const u_char []) { __VA_ARGS__ }, \
                 sizeof((const u_char []) { __VA_ARGS__ })


static void t_bytes(const u_char *got, size_t glen, const u_char *want,
    size_t wlen, const char *what);
static int t_write(void *data, const u_char *p, size_t len);
static int t_has(const u_char *p, size_t n, const u_char *q, size_t m);
static Suite *parquet_suite(void);


static spectra_thrift_t  t;
static spectra_pq_buf_t  out;                /* a written file */
static spectra_pq_buf_t  scratch;


static void
t_bytes(const u_char *got, size_t glen, const u_char *want, size_t wlen,
    const char *what)
{
    char    g[512], w[512];
    size_t  i;

    g[0] = w[0] = '\0';
    for (i = 0; i < glen && i < 150; i++) {
        sprintf(g + 3 * i, "%02x ", got[i]);
    }

    for (i = 0; i < wlen && i < 150; i++) {
        sprintf(w + 3 * i, "%02x ", want[i]);
    }

    ck_assert_msg(glen == wlen && memcmp(got, want, wlen) == 0,
                  "%s: got %s, want %s", what, g, w);
}


static int
t_write(void *data, const u_char *p, size_t len)
{
    spectra_pq_buf_add(data, p, len);
    return ((spectra_pq_buf_t *) data)->err ? -1 : 0;
}


static int
t_has(const u_char *p, size_t n, const u_char *q, size_t m)
{
    return memmem(p, n, q, m) != NULL;
}


START_TEST(test_varints)
{
    spectra_thrift_init(&t);
    spectra_thrift_varint(&t, 0);
    spectra_thrift_varint(&t, 1);
    spectra_thrift_varint(&t, 127);
    spectra_thrift_varint(&t, 128);
    spectra_thrift_varint(&t, 300);
    t_bytes(t.buf, t.len, B(0x00, 0x01, 0x7f, 0x80, 0x01, 0xac, 0x02),
            "varints");

    spectra_thrift_reset(&t);
    spectra_thrift_zigzag(&t, 0);
    spectra_thrift_zigzag(&t, -1);
    spectra_thrift_zigzag(&t, 1);
    spectra_thrift_zigzag(&t, -2);
    spectra_thrift_zigzag(&t, 2147483647);
    spectra_thrift_zigzag(&t, -2147483648LL);
    t_bytes(t.buf, t.len, B(0x00, 0x01, 0x02, 0x03,
                            0xfe, 0xff, 0xff, 0xff, 0x0f,
                            0xff, 0xff, 0xff, 0xff, 0x0f), "zigzag i32");

    spectra_thrift_reset(&t);
    spectra_thrift_zigzag(&t, INT64_MIN);
    spectra_thrift_zigzag(&t, INT64_MAX);
    t_bytes(t.buf, t.len, B(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                            0xff, 0x01,
                            0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                            0xff, 0x01), "zigzag i64 extremes");
    spectra_thrift_free(&t);
}
END_TEST


START_TEST(test_fields)
{
    spectra_thrift_init(&t);
    spectra_thrift_i32(&t, 1, 5);           /* delta 1, i32: 0x15 */
    spectra_thrift_i64(&t, 3, -1);          /* delta 2, i64: 0x26 */
    spectra_thrift_i32(&t, 20, 7);          /* delta 17: long form */
    spectra_thrift_string(&t, 2, "ab");     /* backwards: long form */
    spectra_thrift_bool(&t, 3, 1);          /* delta 1, true: 0x11 */
    spectra_thrift_bool(&t, 4, 0);          /* delta 1, false: 0x12 */
    spectra_thrift_i8(&t, 5, -3);           /* byte: 0x13, raw 0xfd */
    spectra_thrift_i16(&t, 21, 300);        /* delta 16: long form */
    spectra_thrift_struct_end(&t);
    t_bytes(t.buf, t.len, B(0x15, 0x0a,
                            0x26, 0x01,
                            0x05, 0x28, 0x0e,
                            0x08, 0x04, 0x02, 'a', 'b',
                            0x11,
                            0x12,
                            0x13, 0xfd,
                            0x04, 0x2a, 0xd8, 0x04,
                            0x00), "field headers");
    ck_assert_int_eq(t.err, 0);
    spectra_thrift_free(&t);
}
END_TEST


START_TEST(test_structs_lists)
{
    int  i;

    spectra_thrift_init(&t);

    /* a nested struct has its own field ids: 1 again inside, 2 after */
    spectra_thrift_struct_begin(&t, 1);
    spectra_thrift_i32(&t, 1, 1);
    spectra_thrift_struct_end(&t);
    spectra_thrift_i32(&t, 2, 2);

    /* a short list: (3 << 4 | I32) */
    spectra_thrift_list(&t, 3, SPECTRA_THRIFT_I32, 3);
    spectra_thrift_i32_value(&t, 0);
    spectra_thrift_i32_value(&t, 3);
    spectra_thrift_i32_value(&t, 8);

    /* a list of structs, each from field 1 */
    spectra_thrift_list(&t, 4, SPECTRA_THRIFT_STRUCT, 2);
    for (i = 0; i < 2; i++) {
        spectra_thrift_struct_push(&t);
        spectra_thrift_binary(&t, 1, "x", 1);
        spectra_thrift_struct_end(&t);
    }

    spectra_thrift_i32(&t, 5, -1);
    spectra_thrift_struct_end(&t);

    t_bytes(t.buf, t.len, B(0x1c, 0x15, 0x02, 0x00,
                            0x15, 0x04,
                            0x19, 0x35, 0x00, 0x06, 0x10,
                            0x19, 0x2c, 0x18, 0x01, 'x', 0x00,
                                        0x18, 0x01, 'x', 0x00,
                            0x15, 0x01,
                            0x00), "structs and lists");

    /* 15 elements or more: 0xf0 | type, then the count */
    spectra_thrift_reset(&t);
    spectra_thrift_list(&t, 1, SPECTRA_THRIFT_BINARY, 15);
    spectra_thrift_list_header(&t, SPECTRA_THRIFT_I32, 200);
    t_bytes(t.buf, t.len, B(0x19, 0xf8, 0x0f, 0xf5, 0xc8, 0x01),
            "long list headers");

    /* too deep: an error, not a crash */
    spectra_thrift_reset(&t);
    for (i = 0; i < SPECTRA_THRIFT_DEPTH + 2; i++) {
        spectra_thrift_struct_begin(&t, 1);
    }

    ck_assert_int_eq(t.err, 1);
    spectra_thrift_free(&t);
}
END_TEST


START_TEST(test_hybrid)
{
    spectra_pq_buf_t  b;
    uint32_t          v[32];
    u_char            l[16];
    int               i;

    memset(&b, 0, sizeof(b));

    ck_assert_int_eq(spectra_pq_bit_width(0), 0);
    ck_assert_int_eq(spectra_pq_bit_width(1), 1);
    ck_assert_int_eq(spectra_pq_bit_width(7), 3);
    ck_assert_int_eq(spectra_pq_bit_width(8), 4);
    ck_assert_int_eq(spectra_pq_bit_width(0xffffffff), 32);

    /* Encodings.md's example: 0..7 in 3 bits, one bit-packed group */
    for (i = 0; i < 8; i++) {
        v[i] = (uint32_t) i;
    }

    spectra_pq_rle(&b, v, 8, 3);
    t_bytes(b.p, b.len, B(0x03, 0x88, 0xc6, 0xfa), "0..7 bit-packed");

    /* 8 equal values: an RLE run, the value in one byte */
    for (i = 0; i < 8; i++) {
        v[i] = 1;
    }

    b.len = 0;
    spectra_pq_rle(&b, v, 8, 1);
    t_bytes(b.p, b.len, B(0x10, 0x01), "8 ones: RLE");

    /* a run of 10 zeros, then 1 2 3 padded to a group of 8 */
    for (i = 0; i < 10; i++) {
        v[i] = 0;
    }

    v[10] = 1;
    v[11] = 2;
    v[12] = 3;
    b.len = 0;
    spectra_pq_rle(&b, v, 13, 2);
    t_bytes(b.p, b.len, B(0x14, 0x00, 0x03, 0x39, 0x00),
            "RLE run, then bit-packed");

    /* a value wider than a byte: RLE value in 2 bytes, little endian */
    for (i = 0; i < 9; i++) {
        v[i] = 300;
    }

    b.len = 0;
    spectra_pq_rle(&b, v, 9, 9);
    t_bytes(b.p, b.len, B(0x12, 0x2c, 0x01), "9 x 300 in 9 bits");

    /* bit-packed, then a run starting at a group boundary */
    for (i = 0; i < 8; i++) {
        v[i] = (uint32_t) (i & 1);
    }

    for (i = 8; i < 24; i++) {
        v[i] = 1;
    }

    b.len = 0;
    spectra_pq_rle(&b, v, 24, 1);
    t_bytes(b.p, b.len, B(0x03, 0xaa, 0x20, 0x01),
            "a group of 8, then RLE 16");

    /* definition levels from bytes */
    memcpy(l, "\1\0\1\1\0\0\1\0", 8);
    b.len = 0;
    spectra_pq_rle_levels(&b, l, 8, 1);
    t_bytes(b.p, b.len, B(0x03, 0x4d), "levels 1 0 1 1 0 0 1 0");

    b.len = 0;
    spectra_pq_rle_levels(&b, l, 0, 1);
    ck_assert_uint_eq(b.len, 0);

    /* PLAIN booleans: bit-packed, LSB first, no header */
    memcpy(l, "\1\0\1\1\1\1\1\1\1", 9);
    b.len = 0;
    spectra_pq_plain_bools(&b, l, 9);
    t_bytes(b.p, b.len, B(0xfd, 0x01), "9 PLAIN booleans");

    spectra_pq_buf_free(&b);
}
END_TEST


START_TEST(test_codecs)
{
    spectra_pq_buf_t  b;
    u_char            in[4096], back[4096];
    size_t            n;
    int               i;

    memset(&b, 0, sizeof(b));

    for (i = 0; i < (int) sizeof(in); i++) {
        in[i] = (u_char) (i % 61 * 7);
    }

    ck_assert_int_eq(spectra_pq_compress(SPECTRA_PQ_UNCOMPRESSED, in,
                                         sizeof(in), &b), 0);
    t_bytes(b.p, b.len, in, sizeof(in), "UNCOMPRESSED is the bytes");

    ck_assert_int_eq(spectra_pq_compress(SPECTRA_PQ_SNAPPY, in, sizeof(in),
                                         &b), 0);
    ck_assert_uint_lt(b.len, sizeof(in));
    n = sizeof(back);
    ck_assert_int_eq(snappy_uncompress((const char *) b.p, b.len,
                                       (char *) back, &n), SNAPPY_OK);
    t_bytes(back, n, in, sizeof(in), "SNAPPY round trip");

    ck_assert_int_eq(spectra_pq_compress(SPECTRA_PQ_ZSTD, in, sizeof(in),
                                         &b), 0);
    ck_assert_uint_lt(b.len, sizeof(in));
    n = ZSTD_decompress(back, sizeof(back), b.p, b.len);
    ck_assert(!ZSTD_isError(n));
    t_bytes(back, n, in, sizeof(in), "ZSTD round trip");

    /* an empty page body compresses too */
    ck_assert_int_eq(spectra_pq_compress(SPECTRA_PQ_SNAPPY, in, 0, &b), 0);
    n = sizeof(back);
    ck_assert_int_eq(snappy_uncompress((const char *) b.p, b.len,
                                       (char *) back, &n), SNAPPY_OK);
    ck_assert_uint_eq(n, 0);

    spectra_pq_buf_free(&b);
}
END_TEST


static spectra_pq_writer_t *
t_writer(const spectra_pq_column_t *cols, int n, spectra_pq_codec_e codec,
    int dict)
{
    spectra_pq_options_t   o;
    spectra_pq_writer_t   *w;
    spectra_err_t          e;

    memset(&o, 0, sizeof(o));
    o.codec = codec;
    o.no_dictionary = !dict;
    o.dict_max_bytes = 16;

    spectra_pq_buf_free(&out);
    w = spectra_pq_create(cols, n, &o, t_write, &out, &e);
    ck_assert_msg(w != NULL, "create: %s", e.message);

    return w;
}


/* the footer: FileMetaData between the data and its length */
static const u_char *
t_footer(size_t *len)
{
    const u_char  *p;

    ck_assert_uint_ge(out.len, 12);
    ck_assert(memcmp(out.p, "PAR1", 4) == 0);
    ck_assert(memcmp(out.p + out.len - 4, "PAR1", 4) == 0);

    p = out.p + out.len - 8;
    *len = (size_t) p[0] | (size_t) p[1] << 8 | (size_t) p[2] << 16
           | (size_t) p[3] << 24;
    ck_assert_uint_le(*len + 12, out.len);

    return p - *len;
}


START_TEST(test_plain_page)
{
    spectra_pq_column_t   c = { "a", SPECTRA_PQ_INT32, SPECTRA_PQ_L_NONE,
                                0, 0, 0, 1 };
    spectra_pq_writer_t  *w;
    const u_char         *f;
    size_t                flen;

    w = t_writer(&c, 1, SPECTRA_PQ_UNCOMPRESSED, 0);
    ck_assert_int_eq(spectra_pq_int32(w, 0, 1), 0);
    ck_assert_int_eq(spectra_pq_end_row(w), 0);
    ck_assert_int_eq(spectra_pq_null(w, 0), 0);
    ck_assert_int_eq(spectra_pq_end_row(w), 0);
    ck_assert_int_eq(spectra_pq_int32(w, 0, -2), 0);
    ck_assert_int_eq(spectra_pq_end_row(w), 0);
    ck_assert_int_eq(spectra_pq_finish(w), 0);
    ck_assert_int_eq(spectra_pq_rows(w), 3);
    ck_assert_int_eq(spectra_pq_written(w), (int64_t) out.len);

    /*
     * PageHeader {type 0, sizes 14, DataPageHeader {3 values, PLAIN,
     * RLE, RLE}}, then the levels (length 2: one bit-packed group of
     * 1 0 1) and the two values.
     */
    ck_assert_uint_gt(out.len, 4 + 17 + 14);
    t_bytes(out.p + 4, 17 + 14,
            B(0x15, 0x00, 0x15, 0x1c, 0x15, 0x1c,
              0x2c, 0x15, 0x06, 0x15, 0x00, 0x15, 0x06, 0x15, 0x06, 0x00,
              0x00,
              0x02, 0x00, 0x00, 0x00, 0x03, 0x05,
              0x01, 0x00, 0x00, 0x00, 0xfe, 0xff, 0xff, 0xff),
            "a PLAIN INT32 page with a NULL");

    f = t_footer(&flen);

    /*
     * the column chunk: 3 values, 31 bytes (header and body), data at 4;
     * Statistics {null_count 1, max_value 1, min_value -2}
     */
    ck_assert(t_has(f, flen, B(0x16, 0x06, 0x16, 0x3e, 0x16, 0x3e, 0x26,
                               0x08)));
    ck_assert(t_has(f, flen, B(0x3c, 0x36, 0x02, 0x28, 0x04,
                               0x01, 0x00, 0x00, 0x00, 0x18, 0x04,
                               0xfe, 0xff, 0xff, 0xff, 0x00)));
    /* the schema element: INT32, OPTIONAL, "a" */
    ck_assert(t_has(f, flen, B(0x15, 0x02, 0x25, 0x02, 0x18, 0x01, 'a',
                               0x00)));
    /* num_rows 3 */
    ck_assert(t_has(f, flen, B(0x16, 0x06, 0x19, 0x1c)));

    spectra_pq_free(w);
}
END_TEST


START_TEST(test_dictionary_page)
{
    spectra_pq_column_t   c = { "s", SPECTRA_PQ_BYTE_ARRAY,
                                SPECTRA_PQ_L_STRING, 0, 0, 0, 1 };
    spectra_pq_writer_t  *w;
    const char           *v[] = { "x", "y", "x", "x" };
    const u_char         *f;
    size_t                flen;
    int                   i;

    w = t_writer(&c, 1, SPECTRA_PQ_UNCOMPRESSED, 1);

    for (i = 0; i < 4; i++) {
        ck_assert_int_eq(spectra_pq_bytes(w, 0, (const u_char *) v[i], 1),
                         0);
        ck_assert_int_eq(spectra_pq_end_row(w), 0);
    }

    ck_assert_int_eq(spectra_pq_finish(w), 0);

    /* the dictionary page: x y in PLAIN; the data page's indices 0 1 0 0 */
    t_bytes(out.p + 4, 13 + 10,
            B(0x15, 0x04, 0x15, 0x14, 0x15, 0x14,
              0x4c, 0x15, 0x04, 0x15, 0x00, 0x00, 0x00,
              0x01, 0x00, 0x00, 0x00, 'x', 0x01, 0x00, 0x00, 0x00, 'y'),
            "the dictionary page");
    t_bytes(out.p + 4 + 23, 17 + 9,
            B(0x15, 0x00, 0x15, 0x12, 0x15, 0x12,
              0x2c, 0x15, 0x08, 0x15, 0x10, 0x15, 0x06, 0x15, 0x06, 0x00,
              0x00,
              0x02, 0x00, 0x00, 0x00, 0x03, 0x0f,
              0x01, 0x03, 0x02),
            "an RLE_DICTIONARY page");

    f = t_footer(&flen);
    /* encodings PLAIN RLE RLE_DICTIONARY; dictionary_page_offset 4 */
    ck_assert(t_has(f, flen, B(0x19, 0x35, 0x00, 0x06, 0x10)));
    ck_assert(t_has(f, flen, B(0x26, 0x08, 0x1c)));
    /* STRING: converted UTF8, logical {1: StringType {}} */
    ck_assert(t_has(f, flen, B(0x18, 0x01, 's', 0x25, 0x00,
                               0x4c, 0x1c, 0x00, 0x00, 0x00)));
    spectra_pq_free(w);
}
END_TEST


START_TEST(test_dictionary_fallback)
{
    spectra_pq_column_t   c = { "s", SPECTRA_PQ_BYTE_ARRAY,
                                SPECTRA_PQ_L_STRING, 0, 0, 0, 1 };
    spectra_pq_writer_t  *w;
    char                  v[8];
    int                   i;

    /* dict_max_bytes 16: three entries of 5 bytes fit, a fourth not */
    w = t_writer(&c, 1, SPECTRA_PQ_UNCOMPRESSED, 1);

    for (i = 0; i < 40; i++) {
        snprintf(v, sizeof(v), "%d", i % 10);
        ck_assert_int_eq(spectra_pq_bytes(w, 0, (u_char *) v, 1), 0);
        ck_assert_int_eq(spectra_pq_end_row(w), 0);
    }

    ck_assert_int_eq(spectra_pq_finish(w), 0);

    /* a data page first (type 0), PLAIN (encoding 0) */
    t_bytes(out.p + 4, 2, B(0x15, 0x00), "no dictionary page");
    ck_assert(t_has(out.p, out.len, B(0x2c, 0x15, 0x50, 0x15, 0x00)));
    spectra_pq_free(w);
}
END_TEST


START_TEST(test_dictionary_probe)
{
    spectra_pq_column_t   c = { "n", SPECTRA_PQ_INT32, SPECTRA_PQ_L_NONE,
                                0, 0, 0, 1 };
    spectra_pq_options_t  o;
    spectra_pq_writer_t  *w;
    spectra_err_t         e;
    int                   i, k;

    memset(&o, 0, sizeof(o));

    /*
     * 4096 distinct values first: the dictionary is dropped there, though
     * 46,000 zeros after them would have made it pay off in the end; 10
     * values: kept
     */
    for (k = 0; k < 2; k++) {
        spectra_pq_buf_free(&out);
        w = spectra_pq_create(&c, 1, &o, t_write, &out, &e);
        ck_assert_ptr_nonnull(w);

        for (i = 0; i < 50000; i++) {
            ck_assert_int_eq(spectra_pq_int32(w, 0, k ? i % 10
                                                      : i < 4096 ? i : 0),
                             0);
            ck_assert_int_eq(spectra_pq_end_row(w), 0);
        }

        ck_assert_int_eq(spectra_pq_finish(w), 0);
        if (k) {
            t_bytes(out.p + 4, 2, B(0x15, 0x04),
                    "10 values: a dictionary page first");

        } else {
            t_bytes(out.p + 4, 2, B(0x15, 0x00),
                    "distinct values: a data page first");
        }

        spectra_pq_free(w);
    }
}
END_TEST


START_TEST(test_statistics)
{
    spectra_pq_column_t   c[4] = {
        { "s", SPECTRA_PQ_BYTE_ARRAY, SPECTRA_PQ_L_STRING, 0, 0, 0, 1 },
        { "f", SPECTRA_PQ_FLOAT, SPECTRA_PQ_L_NONE, 0, 0, 0, 1 },
        { "d", SPECTRA_PQ_FIXED, SPECTRA_PQ_L_DECIMAL, 20, 2, 2, 1 },
        { "n", SPECTRA_PQ_INT64, SPECTRA_PQ_L_NONE, 0, 0, 0, 1 }
    };
    spectra_pq_writer_t  *w;
    const u_char         *f;
    const char           *s[] = { "b", "\xc3\xa9", "a" };
    float                 fv[] = { NAN, 0.0f, -0.0f };
    u_char                dv[3][2] = { { 0xff, 0xff }, { 0x00, 0x01 },
                                       { 0x80, 0x00 } };
    size_t                flen;
    int                   i;

    w = t_writer(c, 4, SPECTRA_PQ_UNCOMPRESSED, 1);

    for (i = 0; i < 3; i++) {
        ck_assert_int_eq(spectra_pq_bytes(w, 0, (const u_char *) s[i],
                                          strlen(s[i])), 0);
        ck_assert_int_eq(spectra_pq_float(w, 1, fv[i]), 0);
        ck_assert_int_eq(spectra_pq_bytes(w, 2, dv[i], 2), 0);
        ck_assert_int_eq(spectra_pq_null(w, 3), 0);
        ck_assert_int_eq(spectra_pq_end_row(w), 0);
    }

    ck_assert_int_eq(spectra_pq_finish(w), 0);
    f = t_footer(&flen);

    /* UTF-8 as unsigned bytes: "é" (c3 a9) is the max, "a" the min */
    ck_assert(t_has(f, flen, B(0x36, 0x00, 0x28, 0x02, 0xc3, 0xa9,
                               0x18, 0x01, 'a', 0x00)));
    /* floats: NaN left out, max +0.0, min -0.0 */
    ck_assert(t_has(f, flen, B(0x36, 0x00, 0x28, 0x04, 0, 0, 0, 0,
                               0x18, 0x04, 0, 0, 0, 0x80, 0x00)));
    /* decimals: signed, -32768 (80 00) the min, 1 (00 01) the max */
    ck_assert(t_has(f, flen, B(0x36, 0x00, 0x28, 0x02, 0x00, 0x01,
                               0x18, 0x02, 0x80, 0x00, 0x00)));
    /* all NULL: null_count 3, no min or max */
    ck_assert(t_has(f, flen, B(0x3c, 0x36, 0x06, 0x00, 0x00, 0x00)));
    /* DECIMAL(20, 2) on FIXED(2): type_length, scale, precision */
    ck_assert(t_has(f, flen, B(0x15, 0x0e, 0x15, 0x04, 0x15, 0x02,
                               0x18, 0x01, 'd', 0x25, 0x0a, 0x15, 0x04,
                               0x15, 0x28)));
    spectra_pq_free(w);
}
END_TEST


START_TEST(test_zero_rows)
{
    spectra_pq_column_t   c = { "a", SPECTRA_PQ_INT32, SPECTRA_PQ_L_NONE,
                                0, 0, 0, 1 };
    spectra_pq_writer_t  *w;
    const u_char         *f;
    size_t                flen;

    w = t_writer(&c, 1, SPECTRA_PQ_SNAPPY, 1);
    ck_assert_int_eq(spectra_pq_finish(w), 0);
    f = t_footer(&flen);
    ck_assert_ptr_eq(f, out.p + 4);

    /* num_rows 0 and an empty row_groups list */
    ck_assert(t_has(f, flen, B(0x16, 0x00, 0x19, 0x0c)));
    spectra_pq_free(w);
}
END_TEST


START_TEST(test_refusals)
{
    spectra_pq_column_t   c[2] = {
        { "a", SPECTRA_PQ_INT32, SPECTRA_PQ_L_NONE, 0, 0, 0, 0 },
        { "u", SPECTRA_PQ_FIXED, SPECTRA_PQ_L_UUID, 0, 0, 16, 1 }
    };
    spectra_pq_column_t   bad = { "d", SPECTRA_PQ_INT64,
                                  SPECTRA_PQ_L_DECIMAL, 39, 2, 0, 1 };
    spectra_pq_writer_t  *w;
    spectra_err_t         e;

    ck_assert_ptr_eq(spectra_pq_create(&bad, 1, NULL, t_write, &out, &e),
                     NULL);
    ck_assert_str_eq(e.message, "Parquet column 1 has a bad type");
    ck_assert_ptr_eq(spectra_pq_create(c, 0, NULL, t_write, &out, &e),
                     NULL);

    w = t_writer(c, 2, SPECTRA_PQ_UNCOMPRESSED, 1);
    ck_assert_int_eq(spectra_pq_null(w, 0), -1);
    ck_assert_str_eq(spectra_pq_error(w), "column \"a\" may not be NULL");
    spectra_pq_free(w);

    w = t_writer(c, 2, SPECTRA_PQ_UNCOMPRESSED, 1);
    ck_assert_int_eq(spectra_pq_int32(w, 0, 1), 0);
    ck_assert_int_eq(spectra_pq_int32(w, 0, 2), -1);
    ck_assert_str_eq(spectra_pq_error(w),
                     "column \"a\" got two values in a row");
    spectra_pq_free(w);

    w = t_writer(c, 2, SPECTRA_PQ_UNCOMPRESSED, 1);
    ck_assert_int_eq(spectra_pq_int32(w, 0, 1), 0);
    ck_assert_int_eq(spectra_pq_end_row(w), -1);
    ck_assert_str_eq(spectra_pq_error(w), "column \"u\" got no value in "
                     "row 1");
    /* a failed writer stays failed */
    ck_assert_int_eq(spectra_pq_finish(w), -1);
    spectra_pq_free(w);

    w = t_writer(c, 2, SPECTRA_PQ_UNCOMPRESSED, 1);
    ck_assert_int_eq(spectra_pq_bytes(w, 1, (u_char *) "short", 5), -1);
    ck_assert_str_eq(spectra_pq_error(w), "column \"u\" takes values of "
                     "16 bytes");
    spectra_pq_free(w);

    w = t_writer(c, 2, SPECTRA_PQ_UNCOMPRESSED, 1);
    ck_assert_int_eq(spectra_pq_int64(w, 0, 1), -1);
    ck_assert_str_eq(spectra_pq_error(w), "column \"a\" got a value of "
                     "another type");
    ck_assert_int_eq(spectra_pq_int32(w, 5, 1), -1);
    spectra_pq_free(w);
}
END_TEST


START_TEST(test_pg_columns)
{
    spectra_pq_column_t  c;
    spectra_err_t        e;

    ck_assert_int_eq(spectra_pq_pg_column("a", 21, -1, &c, &e), 0);
    ck_assert(c.physical == SPECTRA_PQ_INT32
              && c.logical == SPECTRA_PQ_L_INT16 && c.nullable);
    ck_assert_int_eq(spectra_pq_pg_column("a", 20, -1, &c, &e), 0);
    ck_assert(c.physical == SPECTRA_PQ_INT64);
    ck_assert_int_eq(spectra_pq_pg_column("a", 1184, -1, &c, &e), 0);
    ck_assert(c.logical == SPECTRA_PQ_L_TIMESTAMPTZ);
    ck_assert_int_eq(spectra_pq_pg_column("a", 2950, -1, &c, &e), 0);
    ck_assert(c.physical == SPECTRA_PQ_FIXED && c.length == 16);

    /* numeric(p, s): INT32 to 9 digits, INT64 to 18, then fewest bytes */
    ck_assert_int_eq(spectra_pq_pg_column("n", 1700, (9 << 16 | 2) + 4, &c,
                                          &e), 0);
    ck_assert(c.physical == SPECTRA_PQ_INT32 && c.precision == 9
              && c.scale == 2);
    ck_assert_int_eq(spectra_pq_pg_column("n", 1700, (18 << 16) + 4, &c,
                                          &e), 0);
    ck_assert(c.physical == SPECTRA_PQ_INT64 && c.scale == 0);
    ck_assert_int_eq(spectra_pq_pg_column("n", 1700, (19 << 16 | 5) + 4,
                                          &c, &e), 0);
    ck_assert(c.physical == SPECTRA_PQ_FIXED && c.length == 9);
    ck_assert_int_eq(spectra_pq_pg_column("n", 1700, (30 << 16) + 4, &c,
                                          &e), 0);
    ck_assert_int_eq(c.length, 13);
    ck_assert_int_eq(spectra_pq_pg_column("n", 1700, (38 << 16) + 4, &c,
                                          &e), 0);
    ck_assert_int_eq(c.length, 16);

    ck_assert_int_eq(spectra_pq_pg_column("total", 1700, -1, &c, &e), -1);
    ck_assert_str_eq(e.message, "column \"total\" is a numeric without a "
                     "precision, which Parquet cannot hold exactly: cast "
                     "it, as in total::numeric(18,2)");
    ck_assert_int_eq(spectra_pq_pg_column("w", 1700, (39 << 16) + 4, &c,
                                          &e), -1);
    ck_assert_int_eq(spectra_pq_pg_column("j", 114, -1, &c, &e), -1);
    ck_assert(strstr(e.message, "column \"j\" has a type (oid 114) that "
                     "UNLOAD cannot write to Parquet") == e.message);
}
END_TEST


/* one value through the writer; its PLAIN bytes are the min and max */
static void
t_value(uint32_t oid, int typmod, const char *text, const u_char *want,
    size_t wlen)
{
    spectra_pq_column_t   c;
    spectra_pq_writer_t  *w;
    spectra_err_t         e;
    const u_char         *f;
    u_char                pat[64];
    char                  buf[128];
    size_t                flen;

    ck_assert_int_eq(spectra_pq_pg_column("v", oid, typmod, &c, &e), 0);
    w = t_writer(&c, 1, SPECTRA_PQ_UNCOMPRESSED, 0);
    strcpy(buf, text);
    ck_assert_msg(spectra_pq_pg_value(w, 0, &c, oid, buf, strlen(buf),
                                      &scratch, &e)
                  == 0, "%s: %s", text, e.message);
    ck_assert_int_eq(spectra_pq_end_row(w), 0);
    ck_assert_int_eq(spectra_pq_finish(w), 0);
    f = t_footer(&flen);

    pat[0] = 0x28;
    pat[1] = (u_char) wlen;
    memcpy(pat + 2, want, wlen);
    pat[2 + wlen] = 0x18;
    pat[3 + wlen] = (u_char) wlen;
    memcpy(pat + 4 + wlen, want, wlen);
    ck_assert_msg(t_has(f, flen, pat, 4 + 2 * wlen), "%s: not as wanted",
                  text);
    spectra_pq_free(w);
}


static void
t_bad_value(uint32_t oid, int typmod, const char *text, const char *msg)
{
    spectra_pq_column_t   c;
    spectra_pq_writer_t  *w;
    spectra_err_t         e;
    char                  buf[128];

    ck_assert_int_eq(spectra_pq_pg_column("v", oid, typmod, &c, &e), 0);
    w = t_writer(&c, 1, SPECTRA_PQ_UNCOMPRESSED, 0);
    strcpy(buf, text);
    ck_assert_msg(spectra_pq_pg_value(w, 0, &c, oid, buf, strlen(buf),
                                      &scratch, &e)
                  == -1, "%s: taken", text);
    ck_assert_str_eq(e.message, msg);
    spectra_pq_free(w);
}


START_TEST(test_pg_values)
{
    int  n52, n302;

    n52 = (5 << 16 | 2) + 4;
    n302 = (30 << 16 | 2) + 4;

    t_value(16, -1, "t", B(0x01));
    t_value(21, -1, "-32768", B(0x00, 0x80, 0xff, 0xff));
    t_value(23, -1, "2147483647", B(0xff, 0xff, 0xff, 0x7f));
    t_value(20, -1, "-9223372036854775808",
            B(0, 0, 0, 0, 0, 0, 0, 0x80));
    t_value(700, -1, "1.5", B(0x00, 0x00, 0xc0, 0x3f));
    t_value(701, -1, "0.1",
            B(0x9a, 0x99, 0x99, 0x99, 0x99, 0x99, 0xb9, 0x3f));
    t_value(701, -1, "-Infinity", B(0, 0, 0, 0, 0, 0, 0xf0, 0xff));

    /* numerics scaled to integers, exactly */
    t_value(1700, n52, "-1.50", B(0x6a, 0xff, 0xff, 0xff));
    t_value(1700, n52, "999.99", B(0x9f, 0x86, 0x01, 0x00));
    t_value(1700, n302, "1.00", B(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                  0x64));
    t_value(1700, n302, "-0.01", B(0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                   0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                   0xff));
    t_value(1700, (38 << 16) + 4, "99999999999999999999999999999999999999",
            B(0x4b, 0x3b, 0x4c, 0xa8, 0x5a, 0x86, 0xc4, 0x7a, 0x09, 0x8a,
              0x22, 0x3f, 0xff, 0xff, 0xff, 0xff));

    /* dates: days since 1970-01-01, proleptic Gregorian, BC */
    t_value(1082, -1, "1970-01-02", B(0x01, 0x00, 0x00, 0x00));
    t_value(1082, -1, "2000-01-01", B(0xcd, 0x2a, 0x00, 0x00));
    t_value(1082, -1, "1969-12-31", B(0xff, 0xff, 0xff, 0xff));
    t_value(1082, -1, "0001-01-01 BC", B(0x58, 0x05, 0xf5, 0xff));

    /* timestamps: microseconds since the epoch, the offset applied */
    t_value(1114, -1, "1970-01-01 00:00:01.5",
            B(0x60, 0xe3, 0x16, 0, 0, 0, 0, 0));
    t_value(1184, -1, "1970-01-01 01:00:00+01", B(0, 0, 0, 0, 0, 0, 0, 0));
    t_value(1184, -1, "1970-01-01 00:00:00-05:30",
            B(0x00, 0x06, 0x2c, 0x9c, 0x04, 0, 0, 0));
    t_value(1184, -1, "1969-12-31 23:59:59.999999+00",
            B(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff));

    t_value(17, -1, "\\x00ff", B(0x00, 0xff));
    t_value(2950, -1, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
            B(0xa0, 0xee, 0xbc, 0x99, 0x9c, 0x0b, 0x4e, 0xf8, 0xbb, 0x6d,
              0x6b, 0xb9, 0xbd, 0x38, 0x0a, 0x11));

    t_bad_value(1700, n52, "NaN", "column \"v\": a numeric without an "
                "exact decimal (NaN or an infinity)");
    t_bad_value(1700, n52, "Infinity", "column \"v\": a numeric without an "
                "exact decimal (NaN or an infinity)");
    t_bad_value(1700, n52, "1.234", "column \"v\": a numeric with more "
                "decimals than its scale");
    t_bad_value(1700, n52, "1000.00", "column \"v\": a numeric with more "
                "digits than its precision");
    t_bad_value(1082, -1, "infinity", "column \"v\": a date that is not a "
                "finite ISO date (YYYY-MM-DD)");
    t_bad_value(1082, -1, "01/02/2024", "column \"v\": a date that is not "
                "a finite ISO date (YYYY-MM-DD)");
    t_bad_value(1184, -1, "-infinity", "column \"v\": a timestamp that is "
                "not a finite ISO timestamp");
    t_bad_value(1114, -1, "294270-01-01 00:00:00", "column \"v\": a "
                "timestamp that is not a finite ISO timestamp within the "
                "years INT64 microseconds hold");
    t_bad_value(23, -1, "2147483648", "column \"v\": an integer "
                "PostgreSQL does not print");
    t_bad_value(17, -1, "\\000", "column \"v\": a bytea not in hex output "
                "(bytea_output = hex)");
    t_bad_value(2950, -1, "a0eebc99", "column \"v\": a uuid PostgreSQL "
                "does not print");
}
END_TEST


static Suite *
parquet_suite(void)
{
    TCase  *tc;
    Suite  *s;

    s = suite_create("parquet");
    tc = tcase_create("core");

    tcase_add_test(tc, test_varints);
    tcase_add_test(tc, test_fields);
    tcase_add_test(tc, test_structs_lists);
    tcase_add_test(tc, test_hybrid);
    tcase_add_test(tc, test_codecs);
    tcase_add_test(tc, test_plain_page);
    tcase_add_test(tc, test_dictionary_page);
    tcase_add_test(tc, test_dictionary_fallback);
    tcase_add_test(tc, test_dictionary_probe);
    tcase_add_test(tc, test_statistics);
    tcase_add_test(tc, test_zero_rows);
    tcase_add_test(tc, test_refusals);
    tcase_add_test(tc, test_pg_columns);
    tcase_add_test(tc, test_pg_values);

    suite_add_tcase(s, tc);

    return s;
}


int
main(void)
{
    int       failed;
    SRunner  *sr;

    sr = srunner_create(parquet_suite());
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    spectra_pq_buf_free(&out);
    spectra_pq_buf_free(&scratch);

    return failed == 0 ? 0 : 1;
}
