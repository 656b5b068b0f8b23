/*
 * The Parquet writer (see spectra_parquet.h): column buffers for one row
 * group, the dictionary, statistics, pages, column chunks and the footer.
 *
 * Every column is OPTIONAL or REQUIRED at the top level (no nesting), so
 * that a page's num_values is its row count and the definition level is
 * 1 for a value, 0 for a NULL. A column buffers, for the row group: one
 * level byte per row, its non-NULL values in PLAIN form (booleans one byte
 * each until a page packs them), and while the dictionary lasts the
 * distinct values (PLAIN, the dictionary page's body) and one index per
 * value. Statistics point into the PLAIN buffer.
 *
 * The file: "PAR1", per row group per column [dictionary page] data
 * pages, then FileMetaData, its length (4 bytes, little endian), "PAR1".
 * The footer's row-group entries are serialized as each row group is
 * written, so that only they stay in memory.
 */

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spectra_parquet.h"
#include "spectra_thrift.h"


#define SPECTRA_PQ_ROW_GROUP_BYTES  (64 * 1024 * 1024)
#define SPECTRA_PQ_PAGE_BYTES       (1024 * 1024)
#define SPECTRA_PQ_DICT_BYTES       (1024 * 1024)
#define SPECTRA_PQ_STATS_MAX        4096  /* longer min/max: left out */
#define SPECTRA_PQ_DICT_PROBE       4096  /* values before a first look */
#define SPECTRA_PQ_PAGE_MAX         0x7fffffff

/* parquet.thrift enums */
#define SPECTRA_PQ_PAGE_DATA        0
#define SPECTRA_PQ_PAGE_DICTIONARY  2
#define SPECTRA_PQ_ENC_PLAIN        0
#define SPECTRA_PQ_ENC_RLE          3
#define SPECTRA_PQ_ENC_RLE_DICT     8
#define SPECTRA_PQ_REQUIRED         0
#define SPECTRA_PQ_OPTIONAL         1


typedef struct {
    spectra_pq_column_t       c;
    char                     *name;
    size_t                    width;        /* PLAIN bytes; 0: BYTE_ARRAY */

    spectra_pq_buf_t          defs;         /* per row: 1 value, 0 NULL */
    spectra_pq_buf_t          plain;
    int64_t                   nvalues;
    int64_t                   nulls;

    unsigned                  dict:1;       /* still dictionary-encoded */
    spectra_pq_buf_t          dplain;       /* the distinct values */
    spectra_pq_buf_t          idx;          /* uint32_t per value */
    uint32_t                 *slots;        /* entry + 1, or 0 */
    uint32_t                  nslots;
    uint32_t                 *ent;          /* offsets in dplain */
    uint32_t                  ndict;
    uint32_t                  ent_cap;

    unsigned                  minmax:1;
    size_t                    min_off;
    size_t                    min_len;
    size_t                    max_off;
    size_t                    max_len;

    /* the chunk as written, for the footer */
    int64_t                   chunk_start;
    int64_t                   dict_off;     /* -1: no dictionary */
    int64_t                   data_off;
    int64_t                   unc_size;
    int64_t                   comp_size;
} spectra_pq_col_t;


struct spectra_pq_writer_s {
    spectra_pq_col_t         *cols;
    int                       ncols;
    spectra_pq_options_t      o;
    char                     *created_by;
    spectra_pq_write_pt       write;
    void                     *data;
    int64_t                   offset;
    int64_t                   rows;
    int64_t                   rg_rows;
    uint32_t                  nrg;
    spectra_thrift_t          rgs;          /* the RowGroup structs */
    spectra_thrift_t          hdr;
    spectra_pq_buf_t          body;
    spectra_pq_buf_t          comp;
    unsigned                  started:1;
    unsigned                  failed:1;
    char                      err[SPECTRA_ERR_MAX];
};


static int spectra_pq_fail(spectra_pq_writer_t *w, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void spectra_pq_col_reset(spectra_pq_writer_t *w,
    spectra_pq_col_t *c);
static spectra_pq_col_t *spectra_pq_value_col(spectra_pq_writer_t *w,
    int col, spectra_pq_physical_e type);
static int spectra_pq_add(spectra_pq_writer_t *w, spectra_pq_col_t *c,
    const u_char *p, size_t len);
static int spectra_pq_dict_add(spectra_pq_writer_t *w, spectra_pq_col_t *c,
    const u_char *p, size_t len);
static void spectra_pq_dict_drop(spectra_pq_col_t *c);
static int spectra_pq_cmp(const spectra_pq_col_t *c, const u_char *a,
    size_t alen, const u_char *b, size_t blen);
static int spectra_pq_out(spectra_pq_writer_t *w, const void *p,
    size_t len);
static int spectra_pq_page(spectra_pq_writer_t *w, spectra_pq_col_t *c,
    int type, int32_t nvalues, int encoding);
static int spectra_pq_chunk(spectra_pq_writer_t *w, spectra_pq_col_t *c);
static int spectra_pq_row_group(spectra_pq_writer_t *w);
static void spectra_pq_chunk_meta(spectra_pq_writer_t *w,
    spectra_pq_col_t *c);
static void spectra_pq_schema(spectra_thrift_t *t, spectra_pq_col_t *c);


static int
spectra_pq_fail(spectra_pq_writer_t *w, const char *fmt, ...)
{
    va_list  ap;

    if (!w->failed) {
        w->failed = 1;
        va_start(ap, fmt);
        vsnprintf(w->err, sizeof(w->err), fmt, ap);
        va_end(ap);
    }

    return -1;
}


spectra_pq_writer_t *
spectra_pq_create(const spectra_pq_column_t *cols, int ncols,
    const spectra_pq_options_t *opts, spectra_pq_write_pt write, void *data,
    spectra_err_t *err)
{
    spectra_pq_writer_t  *w;
    spectra_pq_col_t     *c;
    int                   i;

    if (ncols <= 0 || ncols > 65535) {
        spectra_err_set(err, -1, SPECTRA_POS_NONE,
                        "a Parquet file needs 1 to 65535 columns");
        return NULL;
    }

    for (i = 0; i < ncols; i++) {
        if (cols[i].name == NULL
            || (cols[i].physical == SPECTRA_PQ_FIXED
                && (cols[i].length <= 0 || cols[i].length > 65535))
            || (cols[i].logical == SPECTRA_PQ_L_DECIMAL
                && (cols[i].precision < 1 || cols[i].precision > 38
                    || cols[i].scale < 0
                    || cols[i].scale > cols[i].precision)))
        {
            spectra_err_set(err, -1, SPECTRA_POS_NONE,
                            "Parquet column %d has a bad type", i + 1);
            return NULL;
        }
    }

    w = calloc(1, sizeof(spectra_pq_writer_t));
    if (w == NULL) {
        goto nomem;
    }

    w->cols = calloc((size_t) ncols, sizeof(spectra_pq_col_t));
    if (w->cols == NULL) {
        free(w);
        goto nomem;
    }

    w->ncols = ncols;

    if (opts != NULL) {
        w->o = *opts;
    }

    if (w->o.row_group_bytes == 0) {
        w->o.row_group_bytes = SPECTRA_PQ_ROW_GROUP_BYTES;
    }

    if (w->o.page_bytes == 0) {
        w->o.page_bytes = SPECTRA_PQ_PAGE_BYTES;
    }

    if (w->o.dict_max_bytes == 0) {
        w->o.dict_max_bytes = SPECTRA_PQ_DICT_BYTES;
    }

    w->created_by = strdup(w->o.created_by ? w->o.created_by : "spectra");
    w->o.created_by = NULL;
    w->write = write;
    w->data = data;
    spectra_thrift_init(&w->rgs);
    spectra_thrift_init(&w->hdr);

    if (w->created_by == NULL) {
        spectra_pq_free(w);
        goto nomem;
    }

    for (i = 0; i < ncols; i++) {
        c = &w->cols[i];
        c->c = cols[i];
        c->name = strdup(cols[i].name);

        if (c->name == NULL) {
            spectra_pq_free(w);
            goto nomem;
        }

        c->c.name = c->name;

        switch (c->c.physical) {
        case SPECTRA_PQ_BOOLEAN:
            c->width = 1;
            break;
        case SPECTRA_PQ_INT32:
        case SPECTRA_PQ_FLOAT:
            c->width = 4;
            break;
        case SPECTRA_PQ_INT64:
        case SPECTRA_PQ_DOUBLE:
            c->width = 8;
            break;
        case SPECTRA_PQ_FIXED:
            c->width = (size_t) c->c.length;
            break;
        default:
            c->width = 0;
        }

        spectra_pq_col_reset(w, c);
    }

    return w;

nomem:

    spectra_err_set(err, -1, SPECTRA_POS_NONE, "out of memory");
    return NULL;
}


void
spectra_pq_free(spectra_pq_writer_t *w)
{
    spectra_pq_col_t  *c;
    int                i;

    if (w == NULL) {
        return;
    }

    for (i = 0; i < w->ncols; i++) {
        c = &w->cols[i];
        free(c->name);
        spectra_pq_buf_free(&c->defs);
        spectra_pq_buf_free(&c->plain);
        spectra_pq_buf_free(&c->dplain);
        spectra_pq_buf_free(&c->idx);
        free(c->slots);
        free(c->ent);
    }

    free(w->cols);
    free(w->created_by);
    spectra_thrift_free(&w->rgs);
    spectra_thrift_free(&w->hdr);
    spectra_pq_buf_free(&w->body);
    spectra_pq_buf_free(&w->comp);
    free(w);
}


const char *
spectra_pq_error(const spectra_pq_writer_t *w)
{
    return w->failed ? w->err : "no error";
}


int64_t
spectra_pq_written(const spectra_pq_writer_t *w)
{
    return w->offset;
}


int64_t
spectra_pq_rows(const spectra_pq_writer_t *w)
{
    return w->rows;
}


size_t
spectra_pq_buffered(const spectra_pq_writer_t *w)
{
    const spectra_pq_col_t  *c;
    size_t                   n;
    int                      i;

    n = 0;

    for (i = 0; i < w->ncols; i++) {
        c = &w->cols[i];
        n += c->defs.len + c->plain.len + c->dplain.len + c->idx.len;
    }

    return n;
}


/* A new chunk: buffers emptied (their memory kept), the dictionary on. */
static void
spectra_pq_col_reset(spectra_pq_writer_t *w, spectra_pq_col_t *c)
{
    c->defs.len = 0;
    c->plain.len = 0;
    c->nvalues = 0;
    c->nulls = 0;
    c->dplain.len = 0;
    c->idx.len = 0;
    c->ndict = 0;
    c->minmax = 0;
    c->dict = !w->o.no_dictionary && c->c.physical != SPECTRA_PQ_BOOLEAN;

    if (c->slots != NULL) {
        memset(c->slots, 0, c->nslots * sizeof(uint32_t));
    }
}


static spectra_pq_col_t *
spectra_pq_value_col(spectra_pq_writer_t *w, int col,
    spectra_pq_physical_e type)
{
    spectra_pq_col_t  *c;

    if (w->failed) {
        return NULL;
    }

    if (col < 0 || col >= w->ncols) {
        spectra_pq_fail(w, "no Parquet column %d", col + 1);
        return NULL;
    }

    c = &w->cols[col];

    if ((int64_t) c->defs.len != w->rg_rows) {
        spectra_pq_fail(w, "column \"%s\" got two values in a row",
                        c->name);
        return NULL;
    }

    if ((int) type >= 0 && c->c.physical != type) {
        spectra_pq_fail(w, "column \"%s\" got a value of another type",
                        c->name);
        return NULL;
    }

    return c;
}


int
spectra_pq_null(spectra_pq_writer_t *w, int col)
{
    spectra_pq_col_t  *c;
    u_char             zero;

    c = spectra_pq_value_col(w, col, (spectra_pq_physical_e) -1);
    if (c == NULL) {
        return -1;
    }

    if (!c->c.nullable) {
        return spectra_pq_fail(w, "column \"%s\" may not be NULL", c->name);
    }

    zero = 0;
    spectra_pq_buf_add(&c->defs, &zero, 1);
    c->nulls++;

    if (c->defs.err) {
        return spectra_pq_fail(w, "out of memory");
    }

    return 0;
}


/* a value in PLAIN form: level, PLAIN bytes, dictionary, statistics */
static int
spectra_pq_add(spectra_pq_writer_t *w, spectra_pq_col_t *c, const u_char *p,
    size_t len)
{
    u_char  one, pre[4];
    size_t  off;
    float   f;
    double  d;

    one = 1;
    spectra_pq_buf_add(&c->defs, &one, 1);

    if (c->width == 0) {
        if (len > SPECTRA_PQ_PAGE_MAX - 64) {
            return spectra_pq_fail(w, "a value of column \"%s\" is longer "
                                   "than 2 GiB", c->name);
        }

        pre[0] = (u_char) len;
        pre[1] = (u_char) (len >> 8);
        pre[2] = (u_char) (len >> 16);
        pre[3] = (u_char) (len >> 24);
        spectra_pq_buf_add(&c->plain, pre, 4);
    }

    off = c->plain.len;
    spectra_pq_buf_add(&c->plain, p, len);

    if (c->defs.err || c->plain.err) {
        return spectra_pq_fail(w, "out of memory");
    }

    c->nvalues++;

    if (c->dict && spectra_pq_dict_add(w, c, p, len) != 0) {
        return -1;
    }

    /* mostly distinct values: no dictionary for this chunk, early */
    if (c->dict && c->nvalues == SPECTRA_PQ_DICT_PROBE
        && c->ndict * 2 > SPECTRA_PQ_DICT_PROBE)
    {
        spectra_pq_dict_drop(c);
    }

    /* statistics: NaN is neither min nor max */
    if (c->c.physical == SPECTRA_PQ_FLOAT
        || c->c.physical == SPECTRA_PQ_DOUBLE)
    {
        if (c->c.physical == SPECTRA_PQ_FLOAT) {
            memcpy(&f, p, 4);
            d = f;

        } else {
            memcpy(&d, p, 8);
        }

        if (isnan(d)) {
            return 0;
        }
    }

    if (!c->minmax) {
        c->minmax = 1;
        c->min_off = c->max_off = off;
        c->min_len = c->max_len = len;
        return 0;
    }

    if (spectra_pq_cmp(c, p, len, c->plain.p + c->min_off, c->min_len) < 0) {
        c->min_off = off;
        c->min_len = len;
    }

    if (spectra_pq_cmp(c, p, len, c->plain.p + c->max_off, c->max_len) > 0) {
        c->max_off = off;
        c->max_len = len;
    }

    return 0;
}


static uint32_t
spectra_pq_hash(const u_char *p, size_t len)
{
    uint32_t  h;
    size_t    i;

    h = 2166136261u;

    for (i = 0; i < len; i++) {
        h = (h ^ p[i]) * 16777619u;
    }

    return h;
}


/* the bytes of dictionary entry e (without a BYTE_ARRAY's length) */
static const u_char *
spectra_pq_entry(const spectra_pq_col_t *c, uint32_t e, size_t *len)
{
    const u_char  *p;

    p = c->dplain.p + c->ent[e];

    if (c->width) {
        *len = c->width;
        return p;
    }

    *len = (size_t) p[0] | (size_t) p[1] << 8 | (size_t) p[2] << 16
           | (size_t) p[3] << 24;

    return p + 4;
}


static int
spectra_pq_dict_add(spectra_pq_writer_t *w, spectra_pq_col_t *c,
    const u_char *p, size_t len)
{
    const u_char  *q;
    uint32_t       h, e, i, *slots, *ent, n;
    size_t         qlen;
    u_char         pre[4];

    /* at most half full: grow (and rehash) first */
    if ((c->ndict + 1) * 2 > c->nslots) {
        n = c->nslots ? c->nslots * 2 : 1024;
        slots = calloc(n, sizeof(uint32_t));

        if (slots == NULL) {
            return spectra_pq_fail(w, "out of memory");
        }

        for (e = 0; e < c->ndict; e++) {
            q = spectra_pq_entry(c, e, &qlen);
            for (i = spectra_pq_hash(q, qlen) & (n - 1); slots[i];
                 i = (i + 1) & (n - 1))
            {
                /* void */
            }

            slots[i] = e + 1;
        }

        free(c->slots);
        c->slots = slots;
        c->nslots = n;
    }

    h = spectra_pq_hash(p, len);

    for (i = h & (c->nslots - 1); c->slots[i]; i = (i + 1) & (c->nslots - 1))
    {
        q = spectra_pq_entry(c, c->slots[i] - 1, &qlen);

        if (qlen == len && memcmp(q, p, len) == 0) {
            e = c->slots[i] - 1;
            spectra_pq_buf_add(&c->idx, &e, sizeof(uint32_t));
            return c->idx.err ? spectra_pq_fail(w, "out of memory") : 0;
        }
    }

    /* a new entry, unless the dictionary grows too big: PLAIN then */
    if (c->dplain.len + len + 4 > w->o.dict_max_bytes) {
        spectra_pq_dict_drop(c);
        return 0;
    }

    if (c->ndict == c->ent_cap) {
        n = c->ent_cap ? c->ent_cap * 2 : 256;
        ent = realloc(c->ent, n * sizeof(uint32_t));

        if (ent == NULL) {
            return spectra_pq_fail(w, "out of memory");
        }

        c->ent = ent;
        c->ent_cap = n;
    }

    c->ent[c->ndict] = (uint32_t) c->dplain.len;

    if (c->width == 0) {
        pre[0] = (u_char) len;
        pre[1] = (u_char) (len >> 8);
        pre[2] = (u_char) (len >> 16);
        pre[3] = (u_char) (len >> 24);
        spectra_pq_buf_add(&c->dplain, pre, 4);
    }

    spectra_pq_buf_add(&c->dplain, p, len);
    c->slots[i] = c->ndict + 1;
    e = c->ndict++;
    spectra_pq_buf_add(&c->idx, &e, sizeof(uint32_t));

    if (c->dplain.err || c->idx.err) {
        return spectra_pq_fail(w, "out of memory");
    }

    return 0;
}


/* The chunk goes PLAIN: the dictionary is emptied (its memory kept). */
static void
spectra_pq_dict_drop(spectra_pq_col_t *c)
{
    c->dict = 0;
    c->dplain.len = 0;
    c->idx.len = 0;
    c->ndict = 0;

    if (c->slots != NULL) {
        memset(c->slots, 0, c->nslots * sizeof(uint32_t));
    }
}


static int64_t
spectra_pq_le(const u_char *p, size_t n)
{
    uint64_t  v;
    size_t    i;

    v = 0;
    for (i = 0; i < n; i++) {
        v |= (uint64_t) p[i] << (8 * i);
    }

    return n == 4 ? (int64_t) (int32_t) (uint32_t) v : (int64_t) v;
}


/* the type's order: <0, 0, >0 */
static int
spectra_pq_cmp(const spectra_pq_col_t *c, const u_char *a, size_t alen,
    const u_char *b, size_t blen)
{
    int64_t  x, y;
    float    f, g;
    double   d, e;
    size_t   n;
    int      r;

    switch (c->c.physical) {

    case SPECTRA_PQ_BOOLEAN:
        return (int) a[0] - (int) b[0];

    case SPECTRA_PQ_INT32:
    case SPECTRA_PQ_INT64:
        x = spectra_pq_le(a, alen);
        y = spectra_pq_le(b, blen);
        return x < y ? -1 : x > y;

    case SPECTRA_PQ_FLOAT:
        memcpy(&f, a, 4);
        memcpy(&g, b, 4);
        return f < g ? -1 : f > g;

    case SPECTRA_PQ_DOUBLE:
        memcpy(&d, a, 8);
        memcpy(&e, b, 8);
        return d < e ? -1 : d > e;

    default:
        break;
    }

    /* a decimal's bytes: two's complement, big endian, same length */
    if (c->c.logical == SPECTRA_PQ_L_DECIMAL && alen && blen
        && (a[0] & 0x80) != (b[0] & 0x80))
    {
        return (a[0] & 0x80) ? -1 : 1;
    }

    n = alen < blen ? alen : blen;
    r = n ? memcmp(a, b, n) : 0;

    if (r != 0) {
        return r;
    }

    return alen < blen ? -1 : alen > blen;
}


int
spectra_pq_bool(spectra_pq_writer_t *w, int col, int v)
{
    spectra_pq_col_t  *c;
    u_char             b;

    c = spectra_pq_value_col(w, col, SPECTRA_PQ_BOOLEAN);
    if (c == NULL) {
        return -1;
    }

    b = v ? 1 : 0;

    return spectra_pq_add(w, c, &b, 1);
}


int
spectra_pq_int32(spectra_pq_writer_t *w, int col, int32_t v)
{
    spectra_pq_col_t  *c;
    u_char             b[4];
    uint32_t           u;

    c = spectra_pq_value_col(w, col, SPECTRA_PQ_INT32);
    if (c == NULL) {
        return -1;
    }

    u = (uint32_t) v;
    b[0] = (u_char) u;
    b[1] = (u_char) (u >> 8);
    b[2] = (u_char) (u >> 16);
    b[3] = (u_char) (u >> 24);

    return spectra_pq_add(w, c, b, 4);
}


int
spectra_pq_int64(spectra_pq_writer_t *w, int col, int64_t v)
{
    spectra_pq_col_t  *c;
    u_char             b[8];
    uint64_t           u;
    int                i;

    c = spectra_pq_value_col(w, col, SPECTRA_PQ_INT64);
    if (c == NULL) {
        return -1;
    }

    u = (uint64_t) v;
    for (i = 0; i < 8; i++) {
        b[i] = (u_char) (u >> (8 * i));
    }

    return spectra_pq_add(w, c, b, 8);
}


/* IEEE 754 little endian (as the hosts spectra builds for store them) */
int
spectra_pq_float(spectra_pq_writer_t *w, int col, float v)
{
    spectra_pq_col_t  *c;

    c = spectra_pq_value_col(w, col, SPECTRA_PQ_FLOAT);
    if (c == NULL) {
        return -1;
    }

    return spectra_pq_add(w, c, (const u_char *) &v, 4);
}


int
spectra_pq_double(spectra_pq_writer_t *w, int col, double v)
{
    spectra_pq_col_t  *c;

    c = spectra_pq_value_col(w, col, SPECTRA_PQ_DOUBLE);
    if (c == NULL) {
        return -1;
    }

    return spectra_pq_add(w, c, (const u_char *) &v, 8);
}


int
spectra_pq_bytes(spectra_pq_writer_t *w, int col, const u_char *p,
    size_t len)
{
    spectra_pq_col_t  *c;

    c = spectra_pq_value_col(w, col, (spectra_pq_physical_e) -1);
    if (c == NULL) {
        return -1;
    }

    if (c->c.physical != SPECTRA_PQ_BYTE_ARRAY
        && c->c.physical != SPECTRA_PQ_FIXED)
    {
        return spectra_pq_fail(w, "column \"%s\" got a value of another "
                               "type", c->name);
    }

    if (c->c.physical == SPECTRA_PQ_FIXED && len != c->width) {
        return spectra_pq_fail(w, "column \"%s\" takes values of %d bytes",
                               c->name, c->c.length);
    }

    return spectra_pq_add(w, c, p, len);
}


int
spectra_pq_end_row(spectra_pq_writer_t *w)
{
    int  i;

    if (w->failed) {
        return -1;
    }

    for (i = 0; i < w->ncols; i++) {
        if ((int64_t) w->cols[i].defs.len != w->rg_rows + 1) {
            return spectra_pq_fail(w, "column \"%s\" got no value in row "
                                   "%lld", w->cols[i].name,
                                   (long long) w->rows + 1);
        }
    }

    w->rg_rows++;
    w->rows++;

    if (spectra_pq_buffered(w) >= w->o.row_group_bytes) {
        return spectra_pq_row_group(w);
    }

    return 0;
}


static int
spectra_pq_out(spectra_pq_writer_t *w, const void *p, size_t len)
{
    if (w->failed) {
        return -1;
    }

    if (!w->started) {
        w->started = 1;

        if (spectra_pq_out(w, "PAR1", 4) != 0) {
            return -1;
        }
    }

    if (len && w->write(w->data, p, len) != 0) {
        return spectra_pq_fail(w, "cannot write the Parquet file");
    }

    w->offset += (int64_t) len;

    return 0;
}


/* w->body compressed, after its PageHeader */
static int
spectra_pq_page(spectra_pq_writer_t *w, spectra_pq_col_t *c, int type,
    int32_t nvalues, int encoding)
{
    spectra_thrift_t  *t;

    if (w->body.err) {
        return spectra_pq_fail(w, "out of memory");
    }

    if (w->body.len > SPECTRA_PQ_PAGE_MAX
        || spectra_pq_compress(w->o.codec, w->body.p, w->body.len, &w->comp)
           != 0
        || w->comp.len > SPECTRA_PQ_PAGE_MAX)
    {
        return spectra_pq_fail(w, "cannot compress a Parquet page of "
                               "column \"%s\"", c->name);
    }

    t = &w->hdr;
    spectra_thrift_reset(t);
    spectra_thrift_i32(t, 1, type);
    spectra_thrift_i32(t, 2, (int32_t) w->body.len);
    spectra_thrift_i32(t, 3, (int32_t) w->comp.len);

    if (type == SPECTRA_PQ_PAGE_DICTIONARY) {
        spectra_thrift_struct_begin(t, 7);
        spectra_thrift_i32(t, 1, nvalues);
        spectra_thrift_i32(t, 2, SPECTRA_PQ_ENC_PLAIN);
        spectra_thrift_struct_end(t);

    } else {
        spectra_thrift_struct_begin(t, 5);
        spectra_thrift_i32(t, 1, nvalues);
        spectra_thrift_i32(t, 2, encoding);
        spectra_thrift_i32(t, 3, SPECTRA_PQ_ENC_RLE);
        spectra_thrift_i32(t, 4, SPECTRA_PQ_ENC_RLE);
        spectra_thrift_struct_end(t);
    }

    spectra_thrift_struct_end(t);

    if (t->err) {
        return spectra_pq_fail(w, "out of memory");
    }

    c->unc_size += (int64_t) (t->len + w->body.len);
    c->comp_size += (int64_t) (t->len + w->comp.len);

    if (spectra_pq_out(w, t->buf, t->len) != 0
        || spectra_pq_out(w, w->comp.p, w->comp.len) != 0)
    {
        return -1;
    }

    return 0;
}


/* one data page: rows [r0, r1), values [v0, v1), PLAIN bytes [p0, p1) */
static int
spectra_pq_data_page(spectra_pq_writer_t *w, spectra_pq_col_t *c,
    int use_dict, int width, size_t r0, size_t r1, size_t v0, size_t v1,
    size_t p0, size_t p1)
{
    spectra_pq_buf_t  *b;
    size_t             at, n;
    u_char             bw;

    b = &w->body;
    b->len = 0;

    if (c->c.nullable) {
        at = b->len;
        spectra_pq_buf_add(b, "\0\0\0\0", 4);
        spectra_pq_rle_levels(b, c->defs.p + r0, r1 - r0, 1);

        if (b->err) {
            return spectra_pq_fail(w, "out of memory");
        }

        n = b->len - at - 4;
        b->p[at] = (u_char) n;
        b->p[at + 1] = (u_char) (n >> 8);
        b->p[at + 2] = (u_char) (n >> 16);
        b->p[at + 3] = (u_char) (n >> 24);
    }

    if (use_dict) {
        bw = (u_char) width;
        spectra_pq_buf_add(b, &bw, 1);
        spectra_pq_rle(b, (const uint32_t *) c->idx.p + v0, v1 - v0, width);

    } else if (c->c.physical == SPECTRA_PQ_BOOLEAN) {
        spectra_pq_plain_bools(b, c->plain.p + v0, v1 - v0);

    } else if (p1 > p0) {
        /* an all-NULL page has no values (and plain.p may be NULL) */
        spectra_pq_buf_add(b, c->plain.p + p0, p1 - p0);
    }

    return spectra_pq_page(w, c, SPECTRA_PQ_PAGE_DATA, (int32_t) (r1 - r0),
                           use_dict ? SPECTRA_PQ_ENC_RLE_DICT
                                    : SPECTRA_PQ_ENC_PLAIN);
}


static int
spectra_pq_chunk(spectra_pq_writer_t *w, spectra_pq_col_t *c)
{
    size_t   r, nrows, v, v0, r0, p, p0, vlen, acc;
    int      use_dict, width;
    u_char  *q;

    c->chunk_start = w->offset + (w->started ? 0 : 4);
    c->unc_size = 0;
    c->comp_size = 0;
    c->dict_off = -1;

    width = spectra_pq_bit_width(c->ndict ? c->ndict - 1 : 0);
    if (width == 0) {
        width = 1;
    }

    /* the dictionary pays off when it and the indices beat PLAIN */
    use_dict = c->dict && c->ndict > 0
               && c->dplain.len + (size_t) c->nvalues * (size_t) width / 8
                  < c->plain.len;

    if (use_dict) {
        c->dict_off = c->chunk_start;
        w->body.len = 0;
        spectra_pq_buf_add(&w->body, c->dplain.p, c->dplain.len);

        if (spectra_pq_page(w, c, SPECTRA_PQ_PAGE_DICTIONARY,
                            (int32_t) c->ndict, 0) != 0)
        {
            return -1;
        }
    }

    c->data_off = w->offset + (w->started ? 0 : 4);
    nrows = c->defs.len;
    r0 = v0 = p0 = 0;
    v = p = 0;
    acc = 0;

    for (r = 0; r < nrows; r++) {
        if (c->defs.p[r]) {
            if (c->width) {
                vlen = c->width;

            } else {
                q = c->plain.p + p;
                vlen = 4 + ((size_t) q[0] | (size_t) q[1] << 8
                            | (size_t) q[2] << 16 | (size_t) q[3] << 24);
            }

            v++;
            p += vlen;
            acc += use_dict ? (size_t) (width + 7) / 8 : vlen;
        }

        acc++;

        if (acc >= w->o.page_bytes || r + 1 == nrows) {
            if (spectra_pq_data_page(w, c, use_dict, width, r0, r + 1, v0,
                                     v, p0, p) != 0)
            {
                return -1;
            }

            r0 = r + 1;
            v0 = v;
            p0 = p;
            acc = 0;
        }
    }

    spectra_pq_chunk_meta(w, c);

    return w->failed ? -1 : 0;
}


static void
spectra_pq_stat(spectra_thrift_t *t, int16_t id, spectra_pq_col_t *c,
    size_t off, size_t len, int is_max)
{
    float   f;
    double  d;

    /* -0.0 and +0.0: the min is -0.0, the max +0.0 (as the spec asks) */
    if (c->c.physical == SPECTRA_PQ_FLOAT) {
        memcpy(&f, c->plain.p + off, 4);
        if (f == 0.0f) {
            f = is_max ? 0.0f : -0.0f;
            spectra_thrift_binary(t, id, &f, 4);
            return;
        }
    }

    if (c->c.physical == SPECTRA_PQ_DOUBLE) {
        memcpy(&d, c->plain.p + off, 8);
        if (d == 0.0) {
            d = is_max ? 0.0 : -0.0;
            spectra_thrift_binary(t, id, &d, 8);
            return;
        }
    }

    spectra_thrift_binary(t, id, c->plain.p + off, len);
}


/* the ColumnChunk struct, into the row group's list */
static void
spectra_pq_chunk_meta(spectra_pq_writer_t *w, spectra_pq_col_t *c)
{
    spectra_thrift_t  *t;

    t = &w->rgs;

    spectra_thrift_struct_push(t);
    spectra_thrift_i64(t, 2, c->chunk_start);

    spectra_thrift_struct_begin(t, 3);
    spectra_thrift_i32(t, 1, c->c.physical);

    if (c->dict_off >= 0) {
        spectra_thrift_list(t, 2, SPECTRA_THRIFT_I32, 3);
        spectra_thrift_i32_value(t, SPECTRA_PQ_ENC_PLAIN);
        spectra_thrift_i32_value(t, SPECTRA_PQ_ENC_RLE);
        spectra_thrift_i32_value(t, SPECTRA_PQ_ENC_RLE_DICT);

    } else {
        spectra_thrift_list(t, 2, SPECTRA_THRIFT_I32, 2);
        spectra_thrift_i32_value(t, SPECTRA_PQ_ENC_PLAIN);
        spectra_thrift_i32_value(t, SPECTRA_PQ_ENC_RLE);
    }

    spectra_thrift_list(t, 3, SPECTRA_THRIFT_BINARY, 1);
    spectra_thrift_binary_value(t, c->name, strlen(c->name));
    spectra_thrift_i32(t, 4, w->o.codec);
    spectra_thrift_i64(t, 5, (int64_t) c->defs.len);
    spectra_thrift_i64(t, 6, c->unc_size);
    spectra_thrift_i64(t, 7, c->comp_size);
    spectra_thrift_i64(t, 9, c->data_off);

    if (c->dict_off >= 0) {
        spectra_thrift_i64(t, 11, c->dict_off);
    }

    spectra_thrift_struct_begin(t, 12);
    spectra_thrift_i64(t, 3, c->nulls);

    if (c->minmax && c->min_len <= SPECTRA_PQ_STATS_MAX
        && c->max_len <= SPECTRA_PQ_STATS_MAX)
    {
        spectra_pq_stat(t, 5, c, c->max_off, c->max_len, 1);
        spectra_pq_stat(t, 6, c, c->min_off, c->min_len, 0);
    }

    spectra_thrift_struct_end(t);           /* Statistics */
    spectra_thrift_struct_end(t);           /* ColumnMetaData */
    spectra_thrift_struct_end(t);           /* ColumnChunk */
}


static int
spectra_pq_row_group(spectra_pq_writer_t *w)
{
    spectra_thrift_t  *t;
    int64_t            unc, comp, start;
    int                i;

    if (w->rg_rows == 0) {
        return 0;
    }

    t = &w->rgs;
    start = w->offset + (w->started ? 0 : 4);

    spectra_thrift_struct_push(t);
    spectra_thrift_list(t, 1, SPECTRA_THRIFT_STRUCT, (uint32_t) w->ncols);

    unc = 0;
    comp = 0;

    for (i = 0; i < w->ncols; i++) {
        if (spectra_pq_chunk(w, &w->cols[i]) != 0) {
            return -1;
        }

        unc += w->cols[i].unc_size;
        comp += w->cols[i].comp_size;
    }

    spectra_thrift_i64(t, 2, unc);
    spectra_thrift_i64(t, 3, w->rg_rows);
    spectra_thrift_i64(t, 5, start);
    spectra_thrift_i64(t, 6, comp);
    spectra_thrift_i16(t, 7, (int16_t) w->nrg);
    spectra_thrift_struct_end(t);

    if (t->err) {
        return spectra_pq_fail(w, "out of memory");
    }

    if (w->nrg == 32767) {
        return spectra_pq_fail(w, "a Parquet file holds 32767 row groups "
                               "at most");
    }

    w->nrg++;
    w->rg_rows = 0;

    for (i = 0; i < w->ncols; i++) {
        spectra_pq_col_reset(w, &w->cols[i]);
    }

    return 0;
}


/* a SchemaElement for a column */
static void
spectra_pq_schema(spectra_thrift_t *t, spectra_pq_col_t *c)
{
    int  converted;

    spectra_thrift_struct_push(t);
    spectra_thrift_i32(t, 1, c->c.physical);

    if (c->c.physical == SPECTRA_PQ_FIXED) {
        spectra_thrift_i32(t, 2, c->c.length);
    }

    spectra_thrift_i32(t, 3, c->c.nullable ? SPECTRA_PQ_OPTIONAL
                                           : SPECTRA_PQ_REQUIRED);
    spectra_thrift_string(t, 4, c->name);

    /* ConvertedType, for readers older than logical types */
    switch (c->c.logical) {
    case SPECTRA_PQ_L_STRING:      converted = 0;  break;   /* UTF8 */
    case SPECTRA_PQ_L_DECIMAL:     converted = 5;  break;
    case SPECTRA_PQ_L_DATE:        converted = 6;  break;
    case SPECTRA_PQ_L_TIMESTAMPTZ: converted = 10; break;   /* MICROS */
    case SPECTRA_PQ_L_INT16:       converted = 16; break;
    case SPECTRA_PQ_L_INT32:       converted = 17; break;
    case SPECTRA_PQ_L_INT64:       converted = 18; break;
    default:                       converted = -1;
    }

    if (converted >= 0) {
        spectra_thrift_i32(t, 6, converted);
    }

    if (c->c.logical == SPECTRA_PQ_L_DECIMAL) {
        spectra_thrift_i32(t, 7, c->c.scale);
        spectra_thrift_i32(t, 8, c->c.precision);
    }

    if (c->c.logical != SPECTRA_PQ_L_NONE) {
        spectra_thrift_struct_begin(t, 10);     /* LogicalType (a union) */

        switch (c->c.logical) {

        case SPECTRA_PQ_L_STRING:
            spectra_thrift_struct_begin(t, 1);
            break;

        case SPECTRA_PQ_L_DECIMAL:
            spectra_thrift_struct_begin(t, 5);
            spectra_thrift_i32(t, 1, c->c.scale);
            spectra_thrift_i32(t, 2, c->c.precision);
            break;

        case SPECTRA_PQ_L_DATE:
            spectra_thrift_struct_begin(t, 6);
            break;

        case SPECTRA_PQ_L_TIMESTAMP:
        case SPECTRA_PQ_L_TIMESTAMPTZ:
            spectra_thrift_struct_begin(t, 8);
            spectra_thrift_bool(t, 1,
                                c->c.logical == SPECTRA_PQ_L_TIMESTAMPTZ);
            spectra_thrift_struct_begin(t, 2);  /* TimeUnit */
            spectra_thrift_struct_begin(t, 2);  /* MICROS */
            spectra_thrift_struct_end(t);
            spectra_thrift_struct_end(t);
            break;

        case SPECTRA_PQ_L_UUID:
            spectra_thrift_struct_begin(t, 14);
            break;

        default:                                /* INT(bits, signed) */
            spectra_thrift_struct_begin(t, 10);
            spectra_thrift_i8(t, 1, c->c.logical == SPECTRA_PQ_L_INT16 ? 16
                                    : c->c.logical == SPECTRA_PQ_L_INT32
                                      ? 32 : 64);
            spectra_thrift_bool(t, 2, 1);
        }

        spectra_thrift_struct_end(t);
        spectra_thrift_struct_end(t);
    }

    spectra_thrift_struct_end(t);
}


int
spectra_pq_finish(spectra_pq_writer_t *w)
{
    spectra_thrift_t  *t;
    u_char             len[4];
    int                i;

    if (w->failed || spectra_pq_row_group(w) != 0) {
        return -1;
    }

    t = &w->hdr;
    spectra_thrift_reset(t);

    spectra_thrift_i32(t, 1, 1);                        /* version */

    spectra_thrift_list(t, 2, SPECTRA_THRIFT_STRUCT,
                        (uint32_t) w->ncols + 1);
    spectra_thrift_struct_push(t);                      /* the root */
    spectra_thrift_string(t, 4, "schema");
    spectra_thrift_i32(t, 5, w->ncols);
    spectra_thrift_struct_end(t);

    for (i = 0; i < w->ncols; i++) {
        spectra_pq_schema(t, &w->cols[i]);
    }

    spectra_thrift_i64(t, 3, w->rows);
    spectra_thrift_list(t, 4, SPECTRA_THRIFT_STRUCT, w->nrg);
    spectra_thrift_raw(t, w->rgs.buf, w->rgs.len);
    spectra_thrift_string(t, 6, w->created_by);

    spectra_thrift_list(t, 7, SPECTRA_THRIFT_STRUCT, (uint32_t) w->ncols);

    for (i = 0; i < w->ncols; i++) {
        spectra_thrift_struct_push(t);                  /* ColumnOrder */
        spectra_thrift_struct_begin(t, 1);              /* TYPE_ORDER */
        spectra_thrift_struct_end(t);
        spectra_thrift_struct_end(t);
    }

    spectra_thrift_struct_end(t);

    if (t->err || w->rgs.err) {
        return spectra_pq_fail(w, "out of memory");
    }

    len[0] = (u_char) t->len;
    len[1] = (u_char) (t->len >> 8);
    len[2] = (u_char) (t->len >> 16);
    len[3] = (u_char) (t->len >> 24);

    if (spectra_pq_out(w, t->buf, t->len) != 0
        || spectra_pq_out(w, len, 4) != 0
        || spectra_pq_out(w, "PAR1", 4) != 0)
    {
        return -1;
    }

    return 0;
}
