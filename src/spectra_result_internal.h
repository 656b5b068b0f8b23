/*
 * What the spectra_result*.c files share, not for their callers:
 *
 *   spectra_result.c          the encoder: a page opened, then written in
 *                             slices within the row and byte limits
 *   spectra_result_scan.c     the strict RFC 8259 scanner; string bodies
 *   spectra_result_page.c     a page's members and its ColumnMetadata
 *   spectra_result_columns.c  the columns: unique names, stable types,
 *                             "metadata.columns"
 *   spectra_result_rows.c     Records: every Field checked, every row
 *                             sized, then written
 *   spectra_result_number.c   number text: int64, shortest doubles
 *
 * Guarantees: a scanner function either moves s->p past what it accepted
 * and returns SPECTRA_RESULT_OK, or returns SPECTRA_RESULT_ERROR with
 * s->err (unless NULL) holding the byte offset of the fault in the page.
 * Nothing here builds a tree: raw spans point into the caller's page.
 */

#ifndef SPECTRA_RESULT_INTERNAL_H
#define SPECTRA_RESULT_INTERNAL_H

#include "spectra_result.h"


#define SPECTRA_RESULT_INT64_MAX_LEN   20   /* -9223372036854775808 */
#define SPECTRA_RESULT_DOUBLE_MAX_LEN  24   /* -2.2250738585072014e-308 */
#define SPECTRA_RESULT_MAX_NUMBER      1024 /* bytes of a doubleValue */


typedef struct {
    const u_char             *start;
    const u_char             *p;
    const u_char             *end;
    spectra_err_t            *err;
    int                       esc;        /* the last string had escapes */
    int                       plain;      /* ... and only bytes 0x20-0x7e */
} spectra_scan_t;


/* a JSON number's decimal digits, read from its text */
typedef struct {
    u_char                    d[17];      /* first significant digits */
    int                       n;          /* significant digits, all */
    int                       x;          /* power of 10 of d[0] */
    int                       neg;
} spectra_num_t;


/* where the members of a page are */
typedef struct {
    const u_char             *meta;       /* ColumnMetadata value */
    size_t                    nmeta;
    int                       meta_array;
    const u_char             *records;    /* Records value */
    size_t                    nrecords;
    const u_char             *token;      /* NextToken body, raw */
    size_t                    token_len;
    int64_t                   total;

    /* rows checked and sized in the first pass, when it could */
    spectra_result_t         *res;        /* NULL: no rows to check */
    uint64_t                  skip;       /* rows passed over, unchecked */
    uint64_t                  cap;        /* the rows before this index
                                             will be written */
    size_t                    size;       /* their size, keys not counted */
    unsigned                  ahead:1;    /* written as well: columns set
                                             in this pass if need be */
    unsigned                  checked:1;
} spectra_doc_t;


/* a column as the page describes it, raw spans into the page */
typedef struct {
    const u_char             *name;
    size_t                    name_len;
    const u_char             *label;
    size_t                    label_len;
    const u_char             *type;
    size_t                    type_len;
} spectra_raw_column_t;


/* The scanner (spectra_result_scan.c) */

static inline void
spectra_scan_ws(spectra_scan_t *s)
{
    /* the common case: no whitespace at all */
    if (s->p < s->end && *s->p > ' ') {
        return;
    }

    while (s->p < s->end
           && (*s->p == ' ' || *s->p == '\n' || *s->p == '\r'
               || *s->p == '\t'))
    {
        s->p++;
    }
}

/* Fills s->err: "result page is not valid JSON: <what> at byte N". */
int spectra_scan_fail(spectra_scan_t *s, const char *what);

int spectra_scan_char(spectra_scan_t *s, u_char c);

/*
 * A string; *raw..*raw + *len is its body, escapes still in.  s->esc says
 * whether it has escapes, s->plain whether it is all printable ASCII (then
 * it is written as it is).
 */
int spectra_scan_string(spectra_scan_t *s, const u_char **raw,
    size_t *len);

int spectra_scan_number(spectra_scan_t *s, const u_char **tok,
    size_t *len, int *integer);
int spectra_scan_literal(spectra_scan_t *s, const char *word);

/* Any value, checked and skipped. */
int spectra_scan_value(spectra_scan_t *s, int depth);

/* After an element: ',' (*more = 1) or the closing bracket (*more = 0). */
int spectra_scan_next(spectra_scan_t *s, u_char close, int *more);

/*
 * An object member's name and the ':' after it.  The name is decoded into
 * key; one that does not fit becomes "" (no member we read is that long).
 */
int spectra_scan_key(spectra_scan_t *s, char *key, size_t size);

/* An array: checked, skipped, its elements counted. */
int spectra_scan_array(spectra_scan_t *s, size_t *n);

/* Bytes of a string body re-escaped by spectra_json_escape(), no quotes. */
size_t spectra_result_str_len(const u_char *raw, size_t len, int esc);

/* A string body as a JSON string, re-escaped, quotes included. */
u_char *spectra_result_str_write(u_char *dst, const u_char *raw,
    size_t len, int esc);

/* A string body decoded; the result is never longer than raw. */
u_char *spectra_result_unescape(u_char *dst, const u_char *raw,
    size_t len);


/* The page (spectra_result_page.c) */

/*
 * The first pass: the whole page is valid JSON; find its members.  With
 * doc->res set, the first doc->cap rows are checked and sized as well
 * when the column count is known by the time Records comes.
 */
int spectra_result_doc(spectra_scan_t *s, spectra_doc_t *doc);

/* What the page says about paging; NextToken decoded into the pool. */
int spectra_result_paging(spectra_doc_t *doc, spectra_result_page_t *page,
    const spectra_pool_t *pool);

/* ColumnMetadata's name, label and typeName of every column. */
int spectra_result_read_columns(spectra_scan_t *s, size_t n,
    spectra_raw_column_t *cols);


/* The columns (spectra_result_columns.c) */

/*
 * res->columns from the page's ColumnMetadata (doc->meta), checked: its
 * count is bounded.  Errors name the place with s->err.
 */
int spectra_result_meta_columns(spectra_result_t *res, spectra_scan_t *s,
    const spectra_doc_t *doc);

/* res->columns from the raw spans of the first page's ColumnMetadata. */
int spectra_result_set_columns(spectra_result_t *res,
    spectra_raw_column_t *raw, size_t n);


/* The rows (spectra_result_rows.c) */

/*
 * One row of ncols fields: checked and sized when dst is NULL (an upper
 * bound, comma included, the objects' keys not, added to *size), written
 * at *dst otherwise; with ahead, *dst is in res->enc, which grows as the
 * row needs (SPECTRA_RESULT_AGAIN past res->enc_max, NOMEM), and the row
 * has no comma before it.
 */
int spectra_result_row(spectra_result_t *res, size_t ncols,
    spectra_scan_t *s, size_t rowno, size_t *size, u_char **dst, int ahead);

/* Keeps the size bound of row i of the page in res->sizes. */
int spectra_result_size_put(spectra_result_t *res, size_t i, size_t size);

/*
 * The Records array in the first pass: its rows from skip to cap checked
 * and sized as rows of ncols fields, the others only scanned; with ahead,
 * the rows are written into res->enc as they are checked, as far as
 * res->enc_max allows (res->enc_rows, res->enc_cur say how far), and
 * their sizes are exact.  Says nothing on failure; the caller scans
 * again.
 */
int spectra_result_rows(spectra_scan_t *s, spectra_result_t *res,
    size_t ncols, uint64_t skip, uint64_t cap, int ahead, size_t *n,
    size_t *size);


/* Numbers (spectra_result_number.c) */

/* A JSON integer's text to int64; SPECTRA_RESULT_ERROR if out of range. */
int spectra_result_int64_parse(const u_char *p, size_t len, int64_t *v);

/*
 * The digits of a number the scanner has checked: n significant digits
 * (trailing zeros not counted, 0 for a zero), the first 17 of them in d,
 * and x, the power of 10 of the first.  A huge exponent saturates.
 */
void spectra_result_num_read(const u_char *p, size_t len,
    spectra_num_t *num);

/*
 * The shortest decimal that reads back as v; NaN and the infinities as
 * the strings AWS JSON uses.  At most SPECTRA_RESULT_DOUBLE_MAX_LEN bytes.
 */
u_char *spectra_result_double(u_char *dst, double v);

/*
 * A doubleValue from its text (len < SPECTRA_RESULT_MAX_NUMBER) and its
 * digits, as spectra_result_double() writes the double it reads as.
 */
u_char *spectra_result_double_text(u_char *dst, const u_char *text,
    size_t len, const spectra_num_t *num);

#endif /* SPECTRA_RESULT_INTERNAL_H */
