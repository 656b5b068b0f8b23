/*
 * COPY's internals, shared by copy.c (the statement: the table, batches
 * of rows inserted as the tenant, rejected records, load errors),
 * copy_source.c (the object below the export directory, decompressed as
 * it is read) and copy_format.c (records of CSV and JSON lines).
 */

#ifndef DA_COPY_H
#define DA_COPY_H

#include <zlib.h>
#include <zstd.h>

#include "dataapi.h"
#include "spectra_sql.h"


#define DA_COPY_IO_SIZE     (64 * 1024)
#define DA_COPY_RECORD_MAX  (4 * 1024 * 1024)   /* Redshift's row limit */
#define DA_COPY_RAW_MAX     1024     /* raw_line: Redshift's char(1024) */
#define DA_COPY_FIELDS_MAX  1600     /* PostgreSQL's columns per table */

#define DA_COPY_NULL        ((size_t) -1)


/*
 * The object, decompressed as it is read: the file's bytes go through
 * in[] and the decompressor into the caller's buffer, so that any size
 * holds these buffers and the decompressor's state only.
 */
typedef struct {
    int                                 fd;
    spectra_sql_unload_compression_e    compression;
    u_char                             *in;
    size_t                              in_pos;
    size_t                              in_len;
    unsigned                            in_eof:1;
    unsigned                            z_ready:1;
    unsigned                            z_end:1;     /* a member ended */
    z_stream                            z;
    ZSTD_DStream                       *zd;
    size_t                              zret;        /* 0: frame ended */
    char                                err[256];
} da_csrc_t;


/* copy_source.c */
int da_csrc_open(da_csrc_t *src, const char *export_dir, const char *dirs,
    const char *name, spectra_sql_unload_compression_e compression);
ssize_t da_csrc_read(da_csrc_t *src, u_char *buf, size_t cap);
void da_csrc_close(da_csrc_t *src);


/*
 * One record of the file: its fields (NUL-terminated in data[], off[i]
 * DA_COPY_NULL for a NULL), the line it starts on, its first
 * DA_COPY_RAW_MAX bytes as they were in the file, and, for a record that
 * cannot be loaded, the SQLSTATE and reason (bad_code non-NULL).
 */
typedef struct {
    da_csrc_t                  *src;
    const spectra_sql_copy_t   *copy;
    char                      **columns;     /* JSON: the table's */
    int                         ncolumns;

    u_char                     *buf;         /* decompressed input */
    size_t                      pos;
    size_t                      len;
    unsigned                    eof:1;
    int64_t                     line;        /* of the next byte */

    int64_t                     rec_line;
    u_char                     *data;
    size_t                      data_len;
    size_t                      data_cap;
    size_t                     *off;
    u_char                     *seen;        /* JSON: columns given */
    int                         nfields;
    int                         fields_cap;
    u_char                     *text;        /* JSON: the line */
    size_t                      text_len;
    size_t                      text_cap;
    u_char                      raw[DA_COPY_RAW_MAX];
    size_t                      raw_len;
    const char                 *bad_code;
    char                        bad[256];
    char                        err[256];    /* what ended the read */
} da_crec_t;


/* copy_format.c */
int da_crec_init(da_crec_t *r, da_csrc_t *src, const spectra_sql_copy_t *c,
    char **columns, int ncolumns);
int da_crec_next(da_crec_t *r);
void da_crec_free(da_crec_t *r);

#endif /* DA_COPY_H */
