/*
 * UNLOAD's internals, shared by unload.c (the statement: target, parts,
 * manifest), unload_file.c (one part file, compressed on its way to disk)
 * and unload_format.c (rows as text, CSV or JSON lines).
 */

#ifndef DA_UNLOAD_H
#define DA_UNLOAD_H

#include <pthread.h>
#include <zlib.h>
#include <zstd.h>

#include "dataapi.h"
#include "spectra_sql.h"


/*
 * A part file: rows are encoded into in[] and go through the compressor
 * (or not) into the file whenever in[] is full, so that an export of any
 * size holds these buffers and the compressor's state only.
 *
 * With GZIP or ZSTD a thread of the file's own compresses: a full in[] is
 * handed to it and the rows go on into the second buffer meanwhile, so
 * that encoding rows and compressing them take a CPU each (compression is
 * most of an export's work).  Only one of the two threads touches the
 * compressor and fd at any time: the caller waits for the thread to be
 * idle before it does.
 */
typedef struct {
    int                                 fd;
    spectra_sql_unload_compression_e    compression;
    u_char                             *in;
    size_t                              in_len;
    size_t                              in_cap;
    u_char                             *out;
    size_t                              out_cap;
    z_stream                            z;
    unsigned                            z_ready:1;
    ZSTD_CCtx                          *zc;
    int64_t                             bytes;     /* in the file so far */
    int64_t                             raw;       /* uncompressed, too */
    int                                 err;       /* errno, or -1 */

    /* the compressor thread; under lock: */
    int64_t                             flushed;   /* bytes, as of the
                                                      last job's end */
    pthread_t                           thread;
    pthread_mutex_t                     lock;
    pthread_cond_t                      cond;
    u_char                             *spare;     /* the other buffer */
    const u_char                       *job;       /* being compressed */
    size_t                              job_len;
    unsigned                            job_end:1; /* and the stream ends */
    unsigned                            busy:1;
    unsigned                            quit:1;
    unsigned                            threaded:1;
} da_ufile_t;


/* unload_file.c */
int da_ufile_init(da_ufile_t *f, spectra_sql_unload_compression_e c);
int da_ufile_open(da_ufile_t *f, int fd);
int da_ufile_write(da_ufile_t *f, const void *p, size_t len);
u_char *da_ufile_reserve(da_ufile_t *f, size_t len);
int da_ufile_close(da_ufile_t *f);
void da_ufile_abort(da_ufile_t *f);
void da_ufile_free(da_ufile_t *f);
const char *da_ufile_error(const da_ufile_t *f);

/* what the file will hold at most if closed now: bytes + what is left */
int64_t da_ufile_size(da_ufile_t *f);
int da_ufile_failed(da_ufile_t *f);

/* counts what the caller wrote into reserved room, up to end */
#define da_ufile_commit(f, end)                                              \
    do {                                                                     \
        (f)->raw += (int64_t) ((end) - ((f)->in + (f)->in_len));             \
        (f)->in_len = (size_t) ((end) - (f)->in);                            \
    } while (0)


/* unload_format.c */
char **da_unload_json_keys(PGresult *res, char *err, size_t errlen);
void da_unload_json_keys_free(char **keys, int n);
int da_unload_header(da_ufile_t *f, const spectra_sql_unload_t *u,
    PGresult *res);
int da_unload_row(da_ufile_t *f, const spectra_sql_unload_t *u,
    PGresult *res, int row, char **keys);
json_t *da_unload_schema(da_ctx_t *ctx, PGresult *res);
char *da_unload_copy_sql(const char *query, u_char delim);
size_t da_unload_copy_row(u_char *row, size_t len, u_char delim);


/* unload_parquet.c: FORMAT PARQUET, one writer per part */
typedef struct da_upq_s  da_upq_t;

da_upq_t *da_upq_create(da_ctx_t *ctx, PGresult *res, char *err,
    size_t errlen);
int da_upq_open(da_upq_t *pq, da_ufile_t *f);
int da_upq_row(da_upq_t *pq, PGresult *res, int row);
int64_t da_upq_size(const da_upq_t *pq);
int da_upq_close(da_upq_t *pq);
const char *da_upq_error(const da_upq_t *pq);
void da_upq_free(da_upq_t *pq);

#endif /* DA_UNLOAD_H */
