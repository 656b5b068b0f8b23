/*
 * Streaming encoder from Redshift Data API GetStatementResult pages to the
 * rows of Spectra's query response (docs/api.md), one page at a time.
 *
 * Guarantees:
 * - every value keeps its exact value: longValue is written as a JSON
 *   integer (full int64 range), doubleValue as the shortest decimal that
 *   reads back as the same double ("NaN", "Infinity", "-Infinity" become
 *   JSON strings), booleanValue as true/false, isNull as null, blobValue as
 *   its base64 string, stringValue as a JSON string; numeric/decimal columns
 *   stay strings unless SPECTRA_RESULT_NUMERIC_AS_NUMBER is set, and even
 *   then only a plain decimal ("-12.50") is written as a number;
 * - the output is always valid JSON (keys and strings go through
 *   spectra_json_escape(), so invalid UTF-8 becomes U+FFFD, as does a lone
 *   \uD800-style surrogate escape; column names that repeat are made
 *   unique);
 * - a page is all or nothing: it is checked completely before a byte of
 *   it is written, so a malformed page leaves the output as it was;
 * - at most max_rows rows are written; any further row, in this page, a
 *   later one or counted by TotalNumRows, sets "truncated".
 * Pages are read by a strict RFC 8259 scanner of its own, not jansson: a
 * 10,000-row page makes jansson build some 250,000 heap objects (120 ms
 * here) where a scan without a tree takes a few milliseconds.  A malformed
 * page is SPECTRA_RESULT_ERROR with the core's error value: its position
 * is the byte offset of the offending token in the page.
 */

#ifndef SPECTRA_RESULT_H
#define SPECTRA_RESULT_H

#include "spectra_core.h"


#define SPECTRA_RESULT_OK           0
#define SPECTRA_RESULT_ERROR       -1     /* malformed page */
#define SPECTRA_RESULT_NOMEM       -2     /* alloc or grow failed */
#define SPECTRA_RESULT_AGAIN       -3     /* call page_write() again */

/* more columns than this make a page malformed (PostgreSQL: 1664) */
#define SPECTRA_RESULT_MAX_COLUMNS  4096

/* flags of spectra_result_init() */
#define SPECTRA_RESULT_NUMERIC_AS_NUMBER  0x01

/*
 * page_open() writes the rows as it checks them, into memory of the
 * encoder's own (malloc(), at most about the page's size; rows past that
 * are written from the page as without it), and page_write() copies them
 * out: one pass over the page instead of two.  spectra_result_free()
 * then frees that memory.
 */
#define SPECTRA_RESULT_ENCODE_AHEAD       0x02


typedef enum {
    SPECTRA_RESULT_OBJECTS = 0,           /* [{"col": v, ...}, ...] */
    SPECTRA_RESULT_ARRAYS                 /* [[v, ...], ...] */
} spectra_result_format_e;


typedef struct spectra_result_out_s  spectra_result_out_t;

/*
 * Output sink.  pos..end is free memory of the caller's current block.
 * When fewer than "need" bytes are free, the encoder calls grow(out, need):
 * the callback keeps the bytes written so far (its block up to out->pos)
 * and points pos/end at a new block with at least "need" free bytes and
 * returns 0; it returns 1 when it has no room now (the caller's output
 * buffers are all in flight: page_write() stops at a row boundary and is
 * called again later), or -1 when out of memory.  A row is never split
 * between blocks.
 */
struct spectra_result_out_s {
    u_char                   *pos;
    u_char                   *end;
    size_t                    hint;       /* for grow(): what the rest of
                                             the page may take at most */
    int                     (*grow)(spectra_result_out_t *out, size_t need);
    void                     *data;       /* the caller's */
};

typedef struct {
    spectra_str_t             name;       /* unique name, UTF-8, NUL ended */
    const char               *type;       /* stable type name, NUL ended */
    spectra_str_t             key;        /* "name": escaped, for objects */
    unsigned                  numeric:1;
} spectra_result_column_t;


typedef struct {
    /* settings, from spectra_result_init() */
    spectra_result_format_e   format;
    unsigned                  flags;
    uint64_t                  max_rows;
    spectra_pool_t            pool;       /* for state that lives as long
                                             as the encoder */

    uint64_t                  max_bytes;  /* of rows written, 0: no bound */

    /*
     * Rows at the start of the next page opened that are passed over,
     * neither written nor counted in rows: an answer that starts inside a
     * Data API page (a page of GET /v1/jobs/{id}/results).  page_open()
     * consumes it.  With it, set seen to the rows of the result before
     * that page, so that TotalNumRows still ends the paging.
     */
    uint64_t                  skip;

    /* state: read it, don't write it */
    spectra_result_column_t  *columns;
    size_t                    ncolumns;
    uint64_t                  rows;       /* rows written */
    uint64_t                  bytes;      /* their bytes, commas included */
    uint64_t                  seen;       /* rows received */
    int64_t                   total_rows; /* last TotalNumRows, -1: none */
    unsigned                  has_columns:1;
    unsigned                  truncated:1;
    unsigned                  by_bytes:1; /* truncated at max_bytes */

    /* the page being written */
    const u_char             *page;
    const u_char             *page_end;
    const u_char             *cur;        /* the next row to write */
    size_t                    emit;       /* rows of it to write */
    size_t                    emitted;    /* Records[emitted] is the next
                                             row to write (skipped rows
                                             counted) */
    size_t                   *sizes;      /* a bound for each of them */
    size_t                    nsizes;
    size_t                    pending;    /* the bounds of the unwritten */

    /* rows written ahead by page_open(): Records[emitted .. enc_rows) */
    u_char                   *enc;        /* malloc(), kept for the next
                                             page; their sizes are exact */
    size_t                    enc_size;
    size_t                    enc_len;    /* bytes of them, no commas */
    size_t                    enc_pos;    /* the next one's offset */
    size_t                    enc_max;    /* this page's bound on enc_size */
    size_t                    enc_rows;
    const u_char             *enc_cur;    /* Records[enc_rows] in the page */
    unsigned                  more_records:1;
    unsigned                  page_truncates:1;
    unsigned                  page_more:1;    /* fetch the next page */
} spectra_result_t;


/* What one page says about paging; next_token lives in the pool. */
typedef struct {
    spectra_str_t             next_token; /* data NULL: the last page */
    int64_t                   total_rows; /* TotalNumRows, -1 when absent */
    size_t                    records;    /* records in this page */
    unsigned                  more:1;     /* fetch next_token for more rows */
} spectra_result_page_t;


void spectra_result_init(spectra_result_t *res,
    spectra_result_format_e format, uint64_t max_rows, unsigned flags,
    const spectra_pool_t *pool);

/*
 * Reads one GetStatementResult response: checks every row it will write
 * (so that a malformed page is refused before a byte of it goes out) and
 * bounds each row's size; the first res->skip rows are passed over (a
 * page with fewer rows than that is malformed).  The first page must
 * carry ColumnMetadata (at most SPECTRA_RESULT_MAX_COLUMNS columns); later
 * pages may repeat it, with the same column count.  p must stay valid
 * until the page is written, or until spectra_result_page_held() says
 * that it is no longer read.  page may be NULL.
 */
int spectra_result_page_open(spectra_result_t *res, const u_char *p,
    size_t len, spectra_result_page_t *page, spectra_err_t *err);

/*
 * Appends rows of the open page to the "data" array (elements only: the
 * caller writes "[" and "]"; the encoder writes the commas between rows
 * of all pages).  Stops at a row boundary with SPECTRA_RESULT_AGAIN after
 * at least slice bytes (0: no slice) or when out->grow() has no room;
 * SPECTRA_RESULT_OK when the page is done.  A row that would take the
 * rows past max_bytes is not written: the result is truncated there.
 * res->page_more then says whether the next page should be fetched.
 */
int spectra_result_page_write(spectra_result_t *res,
    spectra_result_out_t *out, size_t slice);

/*
 * Whether page_write() still reads the page opened (with
 * SPECTRA_RESULT_ENCODE_AHEAD, not once every row to be written is
 * written ahead: the caller may free the page then).
 */
int spectra_result_page_held(const spectra_result_t *res);

/* Frees the memory of rows written ahead; res may be used again. */
void spectra_result_free(spectra_result_t *res);

/* page_open() and page_write() without a slice, in one call. */
int spectra_result_page(spectra_result_t *res, const u_char *p, size_t len,
    spectra_result_out_t *out, spectra_result_page_t *page,
    spectra_err_t *err);

/*
 * Writes the "metadata.columns" array: [{"name": ..., "type": ...}, ...]
 * with the same unique names the objects use.  Needs a page first.
 */
int spectra_result_columns(spectra_result_t *res, spectra_result_out_t *out);

/* NextToken and TotalNumRows of a page, without encoding its rows. */
int spectra_result_page_info(const u_char *p, size_t len,
    spectra_result_page_t *page, const spectra_pool_t *pool,
    spectra_err_t *err);

/*
 * Spectra's stable name for a Data API typeName ("int4" -> "integer"),
 * or NULL for a type it does not know (then the lowercased typeName is
 * used as it is).
 */
const char *spectra_result_type_name(const u_char *type, size_t len);

#endif /* SPECTRA_RESULT_H */
