/*
 * A streaming Parquet writer (format 2.x files with data pages v1, which
 * every reader handles): the caller declares the columns, then hands over
 * the values of each row column by column and ends the row; a row group
 * is buffered until it holds about row_group_bytes, then its column
 * chunks go out through the write callback (dictionary page, data pages,
 * each compressed by the codec), and spectra_pq_finish() writes the
 * footer (FileMetaData, Thrift compact) and the closing "PAR1". Memory is
 * bounded by one row group plus the footer's row-group entries.
 *
 * Encodings: PLAIN, or RLE_DICTIONARY while a chunk's dictionary stays
 * under dict_max_bytes (and pays off); definition levels as the
 * RLE/bit-packed hybrid. Statistics per chunk: min_value, max_value (in
 * the column's type order: signed integers and decimals, unsigned bytes
 * for strings, binaries and uuids, floats without NaN) and null_count.
 */

#ifndef SPECTRA_PARQUET_H
#define SPECTRA_PARQUET_H

#include "spectra_core.h"


/* physical types (parquet.thrift Type) */
typedef enum {
    SPECTRA_PQ_BOOLEAN = 0,
    SPECTRA_PQ_INT32 = 1,
    SPECTRA_PQ_INT64 = 2,
    SPECTRA_PQ_FLOAT = 4,
    SPECTRA_PQ_DOUBLE = 5,
    SPECTRA_PQ_BYTE_ARRAY = 6,
    SPECTRA_PQ_FIXED = 7                /* FIXED_LEN_BYTE_ARRAY */
} spectra_pq_physical_e;

/* logical types (annotations) */
typedef enum {
    SPECTRA_PQ_L_NONE = 0,
    SPECTRA_PQ_L_STRING,
    SPECTRA_PQ_L_INT16,                 /* INT(16, true) */
    SPECTRA_PQ_L_INT32,                 /* INT(32, true) */
    SPECTRA_PQ_L_INT64,                 /* INT(64, true) */
    SPECTRA_PQ_L_DECIMAL,
    SPECTRA_PQ_L_DATE,
    SPECTRA_PQ_L_TIMESTAMP,             /* MICROS, isAdjustedToUTC false */
    SPECTRA_PQ_L_TIMESTAMPTZ,           /* MICROS, isAdjustedToUTC true */
    SPECTRA_PQ_L_UUID
} spectra_pq_logical_e;

typedef enum {
    SPECTRA_PQ_UNCOMPRESSED = 0,
    SPECTRA_PQ_SNAPPY = 1,
    SPECTRA_PQ_ZSTD = 6
} spectra_pq_codec_e;


typedef struct {
    const char               *name;
    spectra_pq_physical_e     physical;
    spectra_pq_logical_e      logical;
    int                       precision;    /* DECIMAL */
    int                       scale;        /* DECIMAL */
    int                       length;       /* FIXED: bytes per value */
    unsigned                  nullable:1;
} spectra_pq_column_t;


typedef struct {
    spectra_pq_codec_e        codec;
    size_t                    row_group_bytes;   /* 0: 64 MiB */
    size_t                    page_bytes;        /* 0: 1 MiB */
    size_t                    dict_max_bytes;    /* 0: 1 MiB */
    unsigned                  no_dictionary:1;
    const char               *created_by;        /* NULL: "spectra" */
} spectra_pq_options_t;


/* Writes len bytes of p; returns 0, or -1 (the writer stops). */
typedef int (*spectra_pq_write_pt)(void *data, const u_char *p, size_t len);

typedef struct spectra_pq_writer_s  spectra_pq_writer_t;


/*
 * NULL with err filled for a bad schema (and for no memory). Nothing is
 * written until the first row group or spectra_pq_finish().
 */
spectra_pq_writer_t *spectra_pq_create(const spectra_pq_column_t *cols,
    int ncols, const spectra_pq_options_t *opts, spectra_pq_write_pt write,
    void *data, spectra_err_t *err);

/*
 * The value of column col in the current row; each column gets exactly
 * one per row, then spectra_pq_end_row(). Booleans, INT32 (also DATE and
 * DECIMAL up to 9 digits), INT64 (timestamps, DECIMAL up to 18 digits),
 * FLOAT, DOUBLE; bytes for BYTE_ARRAY and FIXED (exactly length bytes;
 * a DECIMAL's big-endian two's complement). All return 0 or -1 (see
 * spectra_pq_error()).
 */
int spectra_pq_null(spectra_pq_writer_t *w, int col);
int spectra_pq_bool(spectra_pq_writer_t *w, int col, int v);
int spectra_pq_int32(spectra_pq_writer_t *w, int col, int32_t v);
int spectra_pq_int64(spectra_pq_writer_t *w, int col, int64_t v);
int spectra_pq_float(spectra_pq_writer_t *w, int col, float v);
int spectra_pq_double(spectra_pq_writer_t *w, int col, double v);
int spectra_pq_bytes(spectra_pq_writer_t *w, int col, const u_char *p,
    size_t len);

/* Ends the row; writes the row group out once it is big enough. */
int spectra_pq_end_row(spectra_pq_writer_t *w);

/* Writes the last row group and the footer. */
int spectra_pq_finish(spectra_pq_writer_t *w);

void spectra_pq_free(spectra_pq_writer_t *w);

const char *spectra_pq_error(const spectra_pq_writer_t *w);

/* bytes written so far; rows ended so far */
int64_t spectra_pq_written(const spectra_pq_writer_t *w);
int64_t spectra_pq_rows(const spectra_pq_writer_t *w);

/* bytes buffered in the current row group */
size_t spectra_pq_buffered(const spectra_pq_writer_t *w);


/* spectra_parquet_encode.c: the encodings, exposed for the unit tests */

typedef struct {
    u_char                   *p;
    size_t                    len;
    size_t                    cap;
    int                       err;
} spectra_pq_buf_t;

int spectra_pq_buf_room(spectra_pq_buf_t *b, size_t n);
void spectra_pq_buf_add(spectra_pq_buf_t *b, const void *p, size_t len);
void spectra_pq_buf_free(spectra_pq_buf_t *b);

/* the bits needed for values up to max (0 for 0) */
int spectra_pq_bit_width(uint32_t max);

/* the RLE/bit-packed hybrid of n values of width bits (no length) */
void spectra_pq_rle(spectra_pq_buf_t *b, const uint32_t *v, size_t n,
    int width);

/* the same for levels given as bytes (0 or 1) */
void spectra_pq_rle_levels(spectra_pq_buf_t *b, const u_char *v, size_t n,
    int width);

/* booleans given as bytes (0 or 1), PLAIN: bit-packed LSB first */
void spectra_pq_plain_bools(spectra_pq_buf_t *b, const u_char *v,
    size_t n);

/* compresses in into out (replacing its content); 0 or -1 */
int spectra_pq_compress(spectra_pq_codec_e codec, const u_char *in,
    size_t len, spectra_pq_buf_t *out);


/* spectra_parquet_pg.c: PostgreSQL columns and their text values */

/*
 * The Parquet column for a PostgreSQL result column (type OID, typmod);
 * -1 with err naming the column when the type has no exact mapping.
 */
int spectra_pq_pg_column(const char *name, uint32_t oid, int typmod,
    spectra_pq_column_t *col, spectra_err_t *err);

/*
 * Adds the PostgreSQL text value (as libpq returns it, left unchanged) to
 * column col of w, decoding through scratch where needed (bytea); -1
 * with err for a value that has no exact Parquet form (infinite dates,
 * NaN numerics, text that is not PostgreSQL's ISO output).
 */
int spectra_pq_pg_value(spectra_pq_writer_t *w, int col,
    const spectra_pq_column_t *c, uint32_t oid, const char *v, size_t len,
    spectra_pq_buf_t *scratch, spectra_err_t *err);

#endif /* SPECTRA_PARQUET_H */
