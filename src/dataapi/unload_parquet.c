/*
 * UNLOAD ... FORMAT PARQUET: the result's columns mapped onto Parquet
 * types before any file is created (an unsupported type is the UNLOAD's
 * error), then one writer per part file, fed the rows of each PGresult
 * (one row or a batch of them) and writing through the part's file layer
 * uncompressed: Parquet compresses its pages itself (SNAPPY, as
 * Redshift's). Values are parsed from libpq's text format, exactly (see
 * src/spectra_parquet_pg.c).
 */

#include <stdlib.h>
#include <string.h>

#include "unload.h"
#include "spectra_parquet.h"


#define DA_UPQ_ROW_GROUP_BYTES  (64 * 1024 * 1024)
#define DA_UPQ_PAGE_BYTES       (1024 * 1024)


struct da_upq_s {
    spectra_pq_column_t    *cols;
    uint32_t               *oids;
    char                  **names;
    int                     ncols;
    size_t                  row_group_bytes;
    spectra_pq_writer_t    *w;
    da_ufile_t             *file;
    spectra_pq_buf_t        scratch;
    char                    err[SPECTRA_ERR_MAX + 64];
};


static int da_upq_write(void *data, const u_char *p, size_t len);


da_upq_t *
da_upq_create(da_ctx_t *ctx, PGresult *res, char *err, size_t errlen)
{
    spectra_err_t   e;
    da_upq_t       *pq;
    int             i;

    pq = calloc(1, sizeof(da_upq_t));
    if (pq == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }

    pq->ncols = PQnfields(res);
    pq->row_group_bytes = ctx->parquet_row_group_bytes
                          ? ctx->parquet_row_group_bytes
                          : DA_UPQ_ROW_GROUP_BYTES;
    pq->cols = calloc((size_t) pq->ncols + 1, sizeof(spectra_pq_column_t));
    pq->oids = calloc((size_t) pq->ncols + 1, sizeof(uint32_t));
    pq->names = calloc((size_t) pq->ncols + 1, sizeof(char *));

    if (pq->cols == NULL || pq->oids == NULL || pq->names == NULL) {
        da_upq_free(pq);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }

    if (pq->ncols == 0) {
        da_upq_free(pq);
        snprintf(err, errlen, "FORMAT PARQUET needs a query with columns");
        return NULL;
    }

    for (i = 0; i < pq->ncols; i++) {
        pq->names[i] = strdup(PQfname(res, i));
        pq->oids[i] = PQftype(res, i);

        if (pq->names[i] == NULL) {
            da_upq_free(pq);
            snprintf(err, errlen, "out of memory");
            return NULL;
        }

        if (spectra_pq_pg_column(pq->names[i], pq->oids[i],
                                 PQfmod(res, i), &pq->cols[i], &e) != 0)
        {
            snprintf(err, errlen, "FORMAT PARQUET: %s", e.message);
            da_upq_free(pq);
            return NULL;
        }
    }

    return pq;
}


static int
da_upq_write(void *data, const u_char *p, size_t len)
{
    da_upq_t  *pq;

    pq = data;

    return da_ufile_write(pq->file, p, len);
}


/* A new part: a new writer into f (opened, uncompressed). */
int
da_upq_open(da_upq_t *pq, da_ufile_t *f)
{
    spectra_pq_options_t  o;
    spectra_err_t         e;

    spectra_pq_free(pq->w);

    memset(&o, 0, sizeof(o));
    o.codec = SPECTRA_PQ_SNAPPY;
    o.row_group_bytes = pq->row_group_bytes;
    /* pages and dictionaries scale down with small row groups */
    o.page_bytes = pq->row_group_bytes / 4 < DA_UPQ_PAGE_BYTES
                   ? pq->row_group_bytes / 4 : DA_UPQ_PAGE_BYTES;
    o.dict_max_bytes = o.page_bytes;
    o.created_by = "spectra-dataapi version " DA_VERSION;

    pq->file = f;
    pq->w = spectra_pq_create(pq->cols, pq->ncols, &o, da_upq_write, pq,
                              &e);

    if (pq->w == NULL) {
        snprintf(pq->err, sizeof(pq->err), "%s", e.message);
        return -1;
    }

    return 0;
}


/* Row row of res into the part. */
int
da_upq_row(da_upq_t *pq, PGresult *res, int row)
{
    spectra_err_t  e;
    int            i, rc;

    for (i = 0; i < pq->ncols; i++) {
        if (PQgetisnull(res, row, i)) {
            rc = spectra_pq_null(pq->w, i);

        } else {
            rc = spectra_pq_pg_value(pq->w, i, &pq->cols[i], pq->oids[i],
                                     PQgetvalue(res, row, i),
                                     (size_t) PQgetlength(res, row, i),
                                     &pq->scratch, &e);
        }

        if (rc != 0) {
            snprintf(pq->err, sizeof(pq->err), "FORMAT PARQUET: %s",
                     PQgetisnull(res, row, i) ? spectra_pq_error(pq->w)
                                              : e.message);
            return -1;
        }
    }

    if (spectra_pq_end_row(pq->w) != 0) {
        snprintf(pq->err, sizeof(pq->err), "FORMAT PARQUET: %s",
                 spectra_pq_error(pq->w));
        return -1;
    }

    return 0;
}


/*
 * What the part would hold if closed now, at most about: the bytes
 * written and the row group's buffered values (before compression).
 */
int64_t
da_upq_size(const da_upq_t *pq)
{
    if (pq->w == NULL) {
        return 0;
    }

    return spectra_pq_written(pq->w) + (int64_t) spectra_pq_buffered(pq->w);
}


/* The last row group and the footer; the caller closes the file. */
int
da_upq_close(da_upq_t *pq)
{
    int  rc;

    if (pq->w == NULL) {
        return 0;
    }

    rc = spectra_pq_finish(pq->w);

    if (rc != 0) {
        snprintf(pq->err, sizeof(pq->err), "FORMAT PARQUET: %s",
                 spectra_pq_error(pq->w));
    }

    spectra_pq_free(pq->w);
    pq->w = NULL;

    return rc;
}


const char *
da_upq_error(const da_upq_t *pq)
{
    return pq->err[0] ? pq->err : "FORMAT PARQUET: no error";
}


void
da_upq_free(da_upq_t *pq)
{
    int  i;

    if (pq == NULL) {
        return;
    }

    spectra_pq_free(pq->w);

    for (i = 0; pq->names != NULL && i < pq->ncols; i++) {
        free(pq->names[i]);
    }

    free(pq->names);
    free(pq->cols);
    free(pq->oids);
    spectra_pq_buf_free(&pq->scratch);
    free(pq);
}
