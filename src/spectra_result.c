/*
 * GetStatementResult pages to Spectra's response rows.  A page is scanned
 * twice, without building a tree: once to check its syntax, find its
 * members and check and size the rows that will be written (when the
 * column count is known by the time Records comes; else a third scan does
 * the rows), once to write them into a single block of the caller's
 * memory.
 */

#include "spectra_result.h"
#include "spectra_json.h"

#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


#define SPECTRA_RESULT_INT64_MAX_LEN   20   /* -9223372036854775808 */
#define SPECTRA_RESULT_DOUBLE_MAX_LEN  24   /* -2.2250738585072014e-308 */
#define SPECTRA_RESULT_MAX_DEPTH       64
#define SPECTRA_RESULT_MAX_NUMBER      1024

/* double arithmetic rounds once, to double (not x87's extended) */
#if defined(FLT_EVAL_METHOD) && FLT_EVAL_METHOD == 0
#define SPECTRA_RESULT_EXACT_FP        1
#else
#define SPECTRA_RESULT_EXACT_FP        0
#endif


/* a JSON number's decimal digits, read from its text */
typedef struct {
    u_char                    d[17];      /* first significant digits */
    int                       n;          /* significant digits, all */
    int                       x;          /* power of 10 of d[0] */
    int                       neg;
} spectra_num_t;


/* what a Field holds */
typedef enum {
    SPECTRA_FIELD_NULL = 0,
    SPECTRA_FIELD_BOOL,
    SPECTRA_FIELD_LONG,
    SPECTRA_FIELD_DOUBLE,
    SPECTRA_FIELD_STRING,
    SPECTRA_FIELD_BLOB
} spectra_field_e;


typedef struct {
    spectra_field_e           kind;
    int                       boolean;
    int64_t                   l;
    double                    d;
    const u_char             *raw;        /* string body as in the page */
    size_t                    len;        /* or number text, for numbers */
    int                       esc;        /* raw has escapes */
    int                       plain;      /* raw is printable ASCII only */
    spectra_num_t             num;        /* doubleValue's digits */
} spectra_field_t;




typedef struct {
    const u_char             *start;
    const u_char             *p;
    const u_char             *end;
    spectra_err_t            *err;
    int                       esc;        /* the last string had escapes */
    int                       plain;      /* ... and only bytes 0x20-0x7e */
} spectra_scan_t;


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
    uint64_t                  cap;        /* rows that will be written */
    size_t                    size;       /* their size, keys not counted */
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


typedef struct {
    const char               *data_api;
    const char               *name;
} spectra_result_type_t;


typedef struct {
    const u_char             *name;       /* NULL: a free slot */
    size_t                    len;
    size_t                    uses;       /* columns that named it so far */
    unsigned                  own:1;      /* some column's own name */
    unsigned                  given:1;    /* a column's final name */
} spectra_name_slot_t;


typedef struct {
    spectra_name_slot_t      *slots;
    size_t                    mask;
} spectra_name_set_t;


static int spectra_scan_fail(spectra_scan_t *s, const char *what);
static int spectra_result_word_stop(uint64_t w);
static inline void spectra_scan_ws(spectra_scan_t *s);
static int spectra_scan_char(spectra_scan_t *s, u_char c);
static int spectra_scan_string(spectra_scan_t *s, const u_char **raw,
    size_t *len);
static int spectra_scan_number(spectra_scan_t *s, const u_char **tok,
    size_t *len, int *integer);
static int spectra_scan_literal(spectra_scan_t *s, const char *word);
static int spectra_scan_value(spectra_scan_t *s, int depth);
static int spectra_scan_key(spectra_scan_t *s, char *key, size_t size);
static int spectra_scan_next(spectra_scan_t *s, u_char close, int *more);
static int spectra_scan_array(spectra_scan_t *s, size_t *n);
static int spectra_result_doc(spectra_scan_t *s, spectra_doc_t *doc);
static int spectra_result_int64_parse(const u_char *p, size_t len,
    int64_t *v);
static int spectra_result_hex(u_char c);
static uint32_t spectra_result_hex4(const u_char *p);
static size_t spectra_result_piece(const u_char **pp, const u_char *end,
    u_char *tmp, const u_char **seg);
static size_t spectra_result_str_len(const u_char *raw, size_t len,
    int esc);
static u_char *spectra_result_str_write(u_char *dst, const u_char *raw,
    size_t len, int esc);
static u_char *spectra_result_unescape(u_char *dst, const u_char *raw,
    size_t len);
static int spectra_result_paging(spectra_doc_t *doc,
    spectra_result_page_t *page, const spectra_pool_t *pool);
static int spectra_result_read_columns(spectra_scan_t *s, size_t n,
    spectra_raw_column_t *cols);
static int spectra_result_set_columns(spectra_result_t *res,
    spectra_raw_column_t *raw, size_t n);
static spectra_name_slot_t *spectra_result_name_slot(spectra_name_set_t *set,
    const u_char *name, size_t len);
static int spectra_result_field_kind(const u_char *k, size_t len);
static int spectra_result_field_name(spectra_scan_t *s);
static void spectra_result_num_read(const u_char *p, size_t len,
    spectra_num_t *num);
static int spectra_result_field(spectra_scan_t *s, spectra_field_t *f);
static int spectra_result_row(spectra_result_t *res, size_t ncols,
    spectra_scan_t *s, size_t rowno, size_t *size, u_char **dst);
static int spectra_result_size_put(spectra_result_t *res, size_t i,
    size_t size);
static int spectra_result_rows(spectra_scan_t *s, spectra_result_t *res,
    size_t ncols, uint64_t cap, size_t *n, size_t *size);
static int spectra_result_plain_decimal(const u_char *p, size_t len);
static int spectra_result_base64(const u_char *p, size_t len);
static u_char *spectra_result_double(u_char *dst, double v);
static u_char *spectra_result_g15(u_char *dst, int neg, const u_char *d,
    int n, int x);
static u_char *spectra_result_double_text(u_char *dst, spectra_field_t *f);
static size_t spectra_result_digits(const char *s);
static u_char *spectra_result_string(u_char *dst, const u_char *s,
    size_t len);
static int spectra_result_reserve(spectra_result_out_t *out, size_t need);


/*
 * Bytes a string body may hold as they are: 1 printable ASCII, 2 0x7f and
 * >= 0x80 (UTF-8, checked when written); 0 '"', '\\' and controls.
 */
static const u_char  spectra_result_plain[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,     /* 0x00 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,     /* 0x10 */
    1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,     /* 0x20 '"' */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1,     /* 0x50 '\\' */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2,     /* 0x7f */
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,     /* 0x80 */
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2
};


/* powers of 10 a double holds exactly */
static const double  spectra_result_pow10[] = {
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22
};


static const spectra_result_type_t  spectra_result_types[] = {
    { "int2", "smallint" },
    { "smallint", "smallint" },
    { "int4", "integer" },
    { "int", "integer" },
    { "integer", "integer" },
    { "int8", "bigint" },
    { "bigint", "bigint" },
    { "float4", "real" },
    { "real", "real" },
    { "float8", "double precision" },
    { "float", "double precision" },
    { "double precision", "double precision" },
    { "numeric", "numeric" },
    { "decimal", "numeric" },
    { "bool", "boolean" },
    { "boolean", "boolean" },
    { "varchar", "varchar" },
    { "character varying", "varchar" },
    { "nvarchar", "varchar" },
    { "bpchar", "char" },
    { "char", "char" },
    { "character", "char" },
    { "nchar", "char" },
    { "text", "text" },
    { "date", "date" },
    { "time", "time" },
    { "time without time zone", "time" },
    { "timetz", "timetz" },
    { "time with time zone", "timetz" },
    { "timestamp", "timestamp" },
    { "timestamp without time zone", "timestamp" },
    { "timestamptz", "timestamptz" },
    { "timestamp with time zone", "timestamptz" },
    { "interval", "interval" },
    { "varbyte", "varbyte" },
    { "varbinary", "varbyte" },
    { "binary varying", "varbyte" },
    { "bytea", "bytea" },
    { "super", "super" },
    { "json", "json" },
    { "jsonb", "jsonb" },
    { "uuid", "uuid" },
    { NULL, NULL }
};


const char *
spectra_result_type_name(const u_char *type, size_t len)
{
    const spectra_result_type_t  *t;

    for (t = spectra_result_types; t->data_api != NULL; t++) {
        if (strlen(t->data_api) == len
            && strncasecmp(t->data_api, (const char *) type, len) == 0)
        {
            return t->name;
        }
    }

    return NULL;
}


void
spectra_result_init(spectra_result_t *res, spectra_result_format_e format,
    uint64_t max_rows, unsigned flags, const spectra_pool_t *pool)
{
    memset(res, 0, sizeof(spectra_result_t));

    res->format = format;
    res->flags = flags;
    res->max_rows = max_rows;
    res->pool = *pool;
    res->total_rows = -1;
}


/* The JSON scanner (RFC 8259); it checks, it builds nothing. */

static int
spectra_scan_fail(spectra_scan_t *s, const char *what)
{
    size_t  pos;

    pos = (size_t) (s->p - s->start);

    return spectra_err_set(s->err, SPECTRA_RESULT_ERROR, pos,
                           "result page is not valid JSON: %s at byte %zu",
                           what, pos);
}


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


static int
spectra_scan_char(spectra_scan_t *s, u_char c)
{
    spectra_scan_ws(s);

    if (s->p == s->end || *s->p != c) {
        switch (c) {
        case '{': return spectra_scan_fail(s, "expected '{'");
        case '[': return spectra_scan_fail(s, "expected '['");
        case ':': return spectra_scan_fail(s, "expected ':'");
        default:  return spectra_scan_fail(s, "unexpected character");
        }
    }

    s->p++;

    return SPECTRA_RESULT_OK;
}


/*
 * Whether any byte of a word of 8 string bytes needs a second look: '"',
 * '\\', a control, 0x7f or >= 0x80 (each test is exact for "any byte").
 */

static int
spectra_result_word_stop(uint64_t w)
{
    uint64_t  ones, highs;

    ones = 0x0101010101010101ULL;
    highs = 0x8080808080808080ULL;

    return ((((w - ones * 0x20) & ~w)                  /* < 0x20 */
            | (((w ^ (ones * '"')) - ones) & ~(w ^ (ones * '"')))
            | (((w ^ (ones * '\\')) - ones) & ~(w ^ (ones * '\\')))
            | w | (w + ones))                           /* >= 0x7f */
           & highs) != 0;
}


/*
 * A string; *raw..*raw + *len is its body, escapes still in.  s->esc says
 * whether it has escapes, s->plain whether it is all printable ASCII (then
 * it is written as it is).
 */

static int
spectra_scan_string(spectra_scan_t *s, const u_char **raw, size_t *len)
{
    int            i;
    uint64_t       w;
    const u_char  *p;

    spectra_scan_ws(s);

    if (s->p == s->end || *s->p != '"') {
        return spectra_scan_fail(s, "expected a string");
    }

    p = s->p + 1;
    s->esc = 0;
    s->plain = 1;

    for ( ;; ) {
        /* the common case: bytes that need no second look */
        if (s->plain) {
            while (s->end - p >= 8) {
                memcpy(&w, p, 8);

                if (spectra_result_word_stop(w)) {
                    break;
                }

                p += 8;
            }

            while (p < s->end && spectra_result_plain[*p] == 1) {
                p++;
            }

            if (p < s->end && spectra_result_plain[*p] == 2) {
                s->plain = 0;
            }
        }

        while (p < s->end && spectra_result_plain[*p]) {
            p++;
        }

        if (p == s->end) {
            s->p = p;
            return spectra_scan_fail(s, "unterminated string");
        }

        if (*p == '"') {
            break;
        }

        if (*p < 0x20) {
            s->p = p;
            return spectra_scan_fail(s, "control character in a string");
        }

        /* a backslash */

        if (s->end - p < 2) {
            s->p = p;
            return spectra_scan_fail(s, "unterminated string");
        }

        s->esc = 1;
        s->plain = 0;

        switch (p[1]) {
        case '"': case '\\': case '/': case 'b':
        case 'f': case 'n': case 'r': case 't':
            p += 2;
            break;

        case 'u':
            if (s->end - p < 6) {
                s->p = p;
                return spectra_scan_fail(s, "bad \\u escape");
            }

            for (i = 2; i < 6; i++) {
                if (spectra_result_hex(p[i]) < 0) {
                    s->p = p;
                    return spectra_scan_fail(s, "bad \\u escape");
                }
            }

            p += 6;
            break;

        default:
            s->p = p;
            return spectra_scan_fail(s, "bad escape");
        }
    }

    *raw = s->p + 1;
    *len = (size_t) (p - *raw);
    s->p = p + 1;

    return SPECTRA_RESULT_OK;
}


static int
spectra_scan_number(spectra_scan_t *s, const u_char **tok, size_t *len,
    int *integer)
{
    const u_char  *p, *e;

    spectra_scan_ws(s);

    p = s->p;
    e = s->end;
    *integer = 1;

    if (p < e && *p == '-') {
        p++;
    }

    if (p < e && *p == '0') {
        p++;

    } else if (p < e && *p >= '1' && *p <= '9') {
        while (p < e && *p >= '0' && *p <= '9') {
            p++;
        }

    } else {
        s->p = p;
        return spectra_scan_fail(s, "bad number");
    }

    if (p < e && *p == '.') {
        *integer = 0;
        p++;

        if (p == e || *p < '0' || *p > '9') {
            s->p = p;
            return spectra_scan_fail(s, "bad number");
        }

        while (p < e && *p >= '0' && *p <= '9') {
            p++;
        }
    }

    if (p < e && (*p == 'e' || *p == 'E')) {
        *integer = 0;
        p++;

        if (p < e && (*p == '+' || *p == '-')) {
            p++;
        }

        if (p == e || *p < '0' || *p > '9') {
            s->p = p;
            return spectra_scan_fail(s, "bad number");
        }

        while (p < e && *p >= '0' && *p <= '9') {
            p++;
        }
    }

    *tok = s->p;
    *len = (size_t) (p - s->p);
    s->p = p;

    return SPECTRA_RESULT_OK;
}


static int
spectra_scan_literal(spectra_scan_t *s, const char *word)
{
    size_t  n;

    n = strlen(word);

    if ((size_t) (s->end - s->p) < n || memcmp(s->p, word, n) != 0) {
        return spectra_scan_fail(s, "unexpected character");
    }

    s->p += n;

    return SPECTRA_RESULT_OK;
}


/* Any value, checked and skipped. */

static int
spectra_scan_value(spectra_scan_t *s, int depth)
{
    int            more, integer;
    size_t         len;
    const u_char  *raw;

    spectra_scan_ws(s);

    if (s->p == s->end) {
        return spectra_scan_fail(s, "unexpected end");
    }

    if (depth > SPECTRA_RESULT_MAX_DEPTH) {
        return spectra_scan_fail(s, "nesting too deep");
    }

    switch (*s->p) {
    case '"':
        return spectra_scan_string(s, &raw, &len);

    case 't':
        return spectra_scan_literal(s, "true");

    case 'f':
        return spectra_scan_literal(s, "false");

    case 'n':
        return spectra_scan_literal(s, "null");

    case '[':
        s->p++;
        spectra_scan_ws(s);

        if (s->p < s->end && *s->p == ']') {
            s->p++;
            return SPECTRA_RESULT_OK;
        }

        for (more = 1; more; /* void */) {
            if (spectra_scan_value(s, depth + 1) != SPECTRA_RESULT_OK
                || spectra_scan_next(s, ']', &more) != SPECTRA_RESULT_OK)
            {
                return SPECTRA_RESULT_ERROR;
            }
        }

        return SPECTRA_RESULT_OK;

    case '{':
        s->p++;
        spectra_scan_ws(s);

        if (s->p < s->end && *s->p == '}') {
            s->p++;
            return SPECTRA_RESULT_OK;
        }

        for (more = 1; more; /* void */) {
            if (spectra_scan_string(s, &raw, &len) != SPECTRA_RESULT_OK
                || spectra_scan_char(s, ':') != SPECTRA_RESULT_OK
                || spectra_scan_value(s, depth + 1) != SPECTRA_RESULT_OK
                || spectra_scan_next(s, '}', &more) != SPECTRA_RESULT_OK)
            {
                return SPECTRA_RESULT_ERROR;
            }
        }

        return SPECTRA_RESULT_OK;

    case '-': case '0': case '1': case '2': case '3': case '4':
    case '5': case '6': case '7': case '8': case '9':
        return spectra_scan_number(s, &raw, &len, &integer);

    default:
        return spectra_scan_fail(s, "expected a value");
    }
}


/* After an element: ',' (*more = 1) or the closing bracket (*more = 0). */

static int
spectra_scan_next(spectra_scan_t *s, u_char close, int *more)
{
    spectra_scan_ws(s);

    if (s->p < s->end && *s->p == ',') {
        s->p++;
        *more = 1;
        return SPECTRA_RESULT_OK;
    }

    if (s->p < s->end && *s->p == close) {
        s->p++;
        *more = 0;
        return SPECTRA_RESULT_OK;
    }

    return spectra_scan_fail(s, close == ']' ? "expected ',' or ']'"
                                             : "expected ',' or '}'");
}


/*
 * An object member's name and the ':' after it.  The name is decoded into
 * key; one that does not fit becomes "" (no member we read is that long).
 */

static int
spectra_scan_key(spectra_scan_t *s, char *key, size_t size)
{
    size_t         len;
    u_char        *end;
    const u_char  *raw;

    if (spectra_scan_string(s, &raw, &len) != SPECTRA_RESULT_OK) {
        return SPECTRA_RESULT_ERROR;
    }

    /* a decoded name is never longer than its raw form */
    if (len < size && !s->esc) {
        memcpy(key, raw, len);
        key[len] = '\0';

    } else if (len < size) {
        end = spectra_result_unescape((u_char *) key, raw, len);

        if (memchr(key, '\0', (size_t) (end - (u_char *) key)) != NULL) {
            key[0] = '\0';

        } else {
            *end = '\0';
        }

    } else {
        key[0] = '\0';
    }

    return spectra_scan_char(s, ':');
}


/* An array: checked, skipped, its elements counted. */

static int
spectra_scan_array(spectra_scan_t *s, size_t *n)
{
    int  more;

    *n = 0;

    if (spectra_scan_char(s, '[') != SPECTRA_RESULT_OK) {
        return SPECTRA_RESULT_ERROR;
    }

    spectra_scan_ws(s);

    if (s->p < s->end && *s->p == ']') {
        s->p++;
        return SPECTRA_RESULT_OK;
    }

    for (more = 1; more; /* void */) {
        if (spectra_scan_value(s, 1) != SPECTRA_RESULT_OK
            || spectra_scan_next(s, ']', &more) != SPECTRA_RESULT_OK)
        {
            return SPECTRA_RESULT_ERROR;
        }

        (*n)++;
    }

    return SPECTRA_RESULT_OK;
}


/* The first pass: the whole page is valid JSON; find its members. */

static int
spectra_result_doc(spectra_scan_t *s, spectra_doc_t *doc)
{
    int                more, integer;
    char               key[32];
    size_t             len, pos, ncols;
    uint64_t           cap;
    const u_char      *tok;
    spectra_result_t  *res;

    res = doc->res;
    cap = doc->cap;

    memset(doc, 0, sizeof(spectra_doc_t));
    doc->total = -1;

    spectra_scan_ws(s);

    if (s->p == s->end || *s->p != '{') {
        if (s->p < s->end && (*s->p == '[' || *s->p == '"' || *s->p == 't'
                              || *s->p == 'f' || *s->p == 'n'
                              || *s->p == '-'
                              || (*s->p >= '0' && *s->p <= '9')))
        {
            return spectra_err_set(s->err, SPECTRA_RESULT_ERROR,
                                   (size_t) (s->p - s->start),
                                   "result page is not a JSON object");
        }

        return spectra_scan_fail(s, "expected '{'");
    }

    s->p++;
    spectra_scan_ws(s);

    more = 1;

    if (s->p < s->end && *s->p == '}') {
        s->p++;
        more = 0;
    }

    while (more) {
        if (spectra_scan_key(s, key, sizeof(key)) != SPECTRA_RESULT_OK) {
            return SPECTRA_RESULT_ERROR;
        }

        spectra_scan_ws(s);
        pos = (size_t) (s->p - s->start);

        if (strcmp(key, "ColumnMetadata") == 0
            || strcmp(key, "Records") == 0)
        {
            if ((key[0] == 'C' && doc->meta != NULL)
                || (key[0] == 'R' && doc->records != NULL))
            {
                return spectra_err_set(s->err, SPECTRA_RESULT_ERROR, pos,
                                       "result page has two %s members", key);
            }

            if (key[0] == 'C') {
                doc->meta = s->p;
                doc->meta_array = (s->p < s->end && *s->p == '[');

                if (doc->meta_array) {
                    if (spectra_scan_array(s, &doc->nmeta)
                        != SPECTRA_RESULT_OK)
                    {
                        return SPECTRA_RESULT_ERROR;
                    }

                } else if (spectra_scan_value(s, 1) != SPECTRA_RESULT_OK) {
                    return SPECTRA_RESULT_ERROR;
                }

            } else {
                if (s->p == s->end || *s->p != '[') {
                    return spectra_err_set(s->err, SPECTRA_RESULT_ERROR, pos,
                                           "result page has no Records array");
                }

                doc->records = s->p;

                /*
                 * With the column count known, the rows to be written
                 * are checked and sized right here; when that fails the
                 * rows are scanned as plain JSON and the row pass says
                 * what is wrong, as if this had not been tried.
                 */

                ncols = (size_t) -1;

                if (res != NULL && res->has_columns) {
                    ncols = res->ncolumns;

                } else if (res != NULL && doc->meta != NULL
                           && doc->meta_array)
                {
                    ncols = doc->nmeta;
                }

                if (ncols != (size_t) -1
                    && spectra_result_rows(s, res, ncols, cap,
                                           &doc->nrecords, &doc->size)
                       == SPECTRA_RESULT_OK)
                {
                    doc->checked = 1;

                } else {
                    s->p = doc->records;

                    if (spectra_scan_array(s, &doc->nrecords)
                        != SPECTRA_RESULT_OK)
                    {
                        return SPECTRA_RESULT_ERROR;
                    }
                }
            }

        } else if (strcmp(key, "NextToken") == 0) {
            if (s->p < s->end && *s->p == 'n') {
                if (spectra_scan_literal(s, "null") != SPECTRA_RESULT_OK) {
                    return SPECTRA_RESULT_ERROR;
                }

            } else if (s->p < s->end && *s->p == '"') {
                if (spectra_scan_string(s, &doc->token, &doc->token_len)
                    != SPECTRA_RESULT_OK)
                {
                    return SPECTRA_RESULT_ERROR;
                }

            } else {
                return spectra_err_set(s->err, SPECTRA_RESULT_ERROR, pos,
                                       "NextToken is not a string");
            }

        } else if (strcmp(key, "TotalNumRows") == 0) {
            if (s->p == s->end || (*s->p != '-'
                                   && (*s->p < '0' || *s->p > '9'))
                || spectra_scan_number(s, &tok, &len, &integer)
                   != SPECTRA_RESULT_OK
                || !integer
                || spectra_result_int64_parse(tok, len, &doc->total)
                   != SPECTRA_RESULT_OK
                || doc->total < 0)
            {
                return spectra_err_set(s->err, SPECTRA_RESULT_ERROR, pos,
                                       "TotalNumRows is not a non-negative "
                                       "integer");
            }

        } else if (spectra_scan_value(s, 1) != SPECTRA_RESULT_OK) {
            return SPECTRA_RESULT_ERROR;
        }

        if (spectra_scan_next(s, '}', &more) != SPECTRA_RESULT_OK) {
            return SPECTRA_RESULT_ERROR;
        }
    }

    spectra_scan_ws(s);

    if (s->p != s->end) {
        return spectra_scan_fail(s, "text after the object");
    }

    if (doc->records == NULL) {
        return spectra_err_set(s->err, SPECTRA_RESULT_ERROR, 0,
                               "result page has no Records array");
    }

    return SPECTRA_RESULT_OK;
}


static int
spectra_result_int64_parse(const u_char *p, size_t len, int64_t *v)
{
    int       neg;
    size_t    i;
    uint64_t  u, max;

    neg = (len > 0 && p[0] == '-');
    i = neg ? 1 : 0;
    max = neg ? (uint64_t) INT64_MAX + 1 : (uint64_t) INT64_MAX;
    u = 0;

    if (i == len) {
        return SPECTRA_RESULT_ERROR;
    }

    /* up to 18 digits cannot overflow */
    while (i < len && len - i <= 18 && p[i] >= '0' && p[i] <= '9') {
        u = u * 10 + (uint64_t) (p[i] - '0');
        i++;
    }

    for ( /* void */ ; i < len; i++) {
        if (p[i] < '0' || p[i] > '9') {
            return SPECTRA_RESULT_ERROR;
        }

        if (u > (max - (uint64_t) (p[i] - '0')) / 10) {
            return SPECTRA_RESULT_ERROR;
        }

        u = u * 10 + (uint64_t) (p[i] - '0');
    }

    if (neg) {
        *v = (u == (uint64_t) INT64_MAX + 1) ? INT64_MIN : -(int64_t) u;

    } else {
        *v = (int64_t) u;
    }

    return SPECTRA_RESULT_OK;
}


static int
spectra_result_hex(u_char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }

    c |= 0x20;

    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }

    return -1;
}


/* Four hex digits, checked by the scanner. */

static uint32_t
spectra_result_hex4(const u_char *p)
{
    return (uint32_t) (spectra_result_hex(p[0]) << 12
                       | spectra_result_hex(p[1]) << 8
                       | spectra_result_hex(p[2]) << 4
                       | spectra_result_hex(p[3]));
}


/*
 * The next piece of a scanned string body: a run of bytes without escapes
 * (*seg points into the page), or one escape decoded to UTF-8 in tmp (at
 * least 4 bytes).  A \u surrogate that is not half of a pair decodes to
 * U+FFFD.
 */

static size_t
spectra_result_piece(const u_char **pp, const u_char *end, u_char *tmp,
    const u_char **seg)
{
    uint32_t       cp, lo;
    const u_char  *p, *q;

    p = *pp;

    if (*p != '\\') {
        q = memchr(p, '\\', (size_t) (end - p));
        if (q == NULL) {
            q = end;
        }

        *seg = p;
        *pp = q;

        return (size_t) (q - p);
    }

    *seg = tmp;

    switch (p[1]) {
    case 'b': tmp[0] = '\b'; *pp = p + 2; return 1;
    case 'f': tmp[0] = '\f'; *pp = p + 2; return 1;
    case 'n': tmp[0] = '\n'; *pp = p + 2; return 1;
    case 'r': tmp[0] = '\r'; *pp = p + 2; return 1;
    case 't': tmp[0] = '\t'; *pp = p + 2; return 1;
    case 'u': break;
    default:  tmp[0] = p[1]; *pp = p + 2; return 1;
    }

    cp = spectra_result_hex4(p + 2);
    p += 6;

    if (cp >= 0xd800 && cp <= 0xdbff && end - p >= 6 && p[0] == '\\'
        && p[1] == 'u')
    {
        lo = spectra_result_hex4(p + 2);

        if (lo >= 0xdc00 && lo <= 0xdfff) {
            cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
            p += 6;
        }
    }

    if (cp >= 0xd800 && cp <= 0xdfff) {
        cp = 0xfffd;
    }

    *pp = p;

    if (cp < 0x80) {
        tmp[0] = (u_char) cp;
        return 1;
    }

    if (cp < 0x800) {
        tmp[0] = (u_char) (0xc0 | (cp >> 6));
        tmp[1] = (u_char) (0x80 | (cp & 0x3f));
        return 2;
    }

    if (cp < 0x10000) {
        tmp[0] = (u_char) (0xe0 | (cp >> 12));
        tmp[1] = (u_char) (0x80 | ((cp >> 6) & 0x3f));
        tmp[2] = (u_char) (0x80 | (cp & 0x3f));
        return 3;
    }

    tmp[0] = (u_char) (0xf0 | (cp >> 18));
    tmp[1] = (u_char) (0x80 | ((cp >> 12) & 0x3f));
    tmp[2] = (u_char) (0x80 | ((cp >> 6) & 0x3f));
    tmp[3] = (u_char) (0x80 | (cp & 0x3f));

    return 4;
}


/* Bytes of a string body re-escaped by spectra_json_escape(), no quotes. */

static size_t
spectra_result_str_len(const u_char *raw, size_t len, int esc)
{
    size_t         n, out;
    u_char         tmp[4];
    const u_char  *p, *end, *seg;

    if (!esc) {
        return spectra_json_escape_len(raw, len);
    }

    p = raw;
    end = raw + len;
    out = 0;

    while (p < end) {
        n = spectra_result_piece(&p, end, tmp, &seg);
        out += spectra_json_escape_len(seg, n);
    }

    return out;
}


/* A string body as a JSON string, re-escaped, quotes included. */

static u_char *
spectra_result_str_write(u_char *dst, const u_char *raw, size_t len,
    int esc)
{
    size_t         n;
    u_char         tmp[4];
    const u_char  *p, *end, *seg;

    p = raw;
    end = raw + len;

    *dst++ = '"';

    if (!esc) {
        dst = spectra_json_escape(dst, raw, len);
        *dst++ = '"';
        return dst;
    }

    while (p < end) {
        n = spectra_result_piece(&p, end, tmp, &seg);
        dst = spectra_json_escape(dst, seg, n);
    }

    *dst++ = '"';

    return dst;
}


/* A string body decoded; the result is never longer than raw. */

static u_char *
spectra_result_unescape(u_char *dst, const u_char *raw, size_t len)
{
    size_t         n;
    u_char         tmp[4];
    const u_char  *p, *end, *seg;

    p = raw;
    end = raw + len;

    while (p < end) {
        n = spectra_result_piece(&p, end, tmp, &seg);
        memcpy(dst, seg, n);
        dst += n;
    }

    return dst;
}


static int
spectra_result_paging(spectra_doc_t *doc, spectra_result_page_t *page,
    const spectra_pool_t *pool)
{
    u_char  *end;

    memset(page, 0, sizeof(spectra_result_page_t));

    page->total_rows = doc->total;
    page->records = doc->nrecords;

    /* an empty NextToken means "no more pages" */
    if (doc->token != NULL && doc->token_len > 0) {
        page->next_token.data = spectra_palloc(pool, doc->token_len + 1);
        if (page->next_token.data == NULL) {
            return SPECTRA_RESULT_NOMEM;
        }

        end = spectra_result_unescape(page->next_token.data, doc->token,
                                      doc->token_len);
        *end = '\0';
        page->next_token.len = (size_t) (end - page->next_token.data);
        page->more = 1;
    }

    return SPECTRA_RESULT_OK;
}


int
spectra_result_page_info(const u_char *p, size_t len,
    spectra_result_page_t *page, const spectra_pool_t *pool,
    spectra_err_t *err)
{
    spectra_doc_t   doc;
    spectra_scan_t  s;

    s.start = p;
    s.p = p;
    s.end = p + len;
    s.err = err;

    doc.res = NULL;
    doc.cap = 0;

    if (spectra_result_doc(&s, &doc) != SPECTRA_RESULT_OK) {
        return SPECTRA_RESULT_ERROR;
    }

    return spectra_result_paging(&doc, page, pool);
}


/* ColumnMetadata's name, label and typeName of every column. */

static int
spectra_result_read_columns(spectra_scan_t *s, size_t n,
    spectra_raw_column_t *cols)
{
    int                    more;
    char                   key[16];
    size_t                 i, pos, *len;
    const u_char         **raw;
    spectra_raw_column_t  *c;

    if (spectra_scan_char(s, '[') != SPECTRA_RESULT_OK) {
        return SPECTRA_RESULT_ERROR;
    }

    for (i = 0; i < n; i++) {
        c = &cols[i];
        memset(c, 0, sizeof(spectra_raw_column_t));

        spectra_scan_ws(s);
        pos = (size_t) (s->p - s->start);

        if (s->p == s->end || *s->p != '{') {
            return spectra_err_set(s->err, SPECTRA_RESULT_ERROR, pos,
                                   "ColumnMetadata[%zu] is not an object", i);
        }

        s->p++;
        spectra_scan_ws(s);

        more = 1;

        if (s->p < s->end && *s->p == '}') {
            s->p++;
            more = 0;
        }

        while (more) {
            if (spectra_scan_key(s, key, sizeof(key)) != SPECTRA_RESULT_OK) {
                return SPECTRA_RESULT_ERROR;
            }

            spectra_scan_ws(s);
            pos = (size_t) (s->p - s->start);

            if (strcmp(key, "name") == 0) {
                raw = &c->name;
                len = &c->name_len;

            } else if (strcmp(key, "label") == 0) {
                raw = &c->label;
                len = &c->label_len;

            } else if (strcmp(key, "typeName") == 0) {
                raw = &c->type;
                len = &c->type_len;

            } else {
                raw = NULL;
                len = NULL;
            }

            if (raw == NULL) {
                if (spectra_scan_value(s, 2) != SPECTRA_RESULT_OK) {
                    return SPECTRA_RESULT_ERROR;
                }

            } else if (s->p < s->end && *s->p == 'n') {
                /* null: as if absent */
                if (spectra_scan_literal(s, "null") != SPECTRA_RESULT_OK) {
                    return SPECTRA_RESULT_ERROR;
                }

            } else if (*raw != NULL || s->p == s->end || *s->p != '"') {
                return spectra_err_set(s->err, SPECTRA_RESULT_ERROR, pos,
                                       "ColumnMetadata[%zu].%s is not one "
                                       "string", i, key);

            } else if (spectra_scan_string(s, raw, len)
                       != SPECTRA_RESULT_OK)
            {
                return SPECTRA_RESULT_ERROR;
            }

            if (spectra_scan_next(s, '}', &more) != SPECTRA_RESULT_OK) {
                return SPECTRA_RESULT_ERROR;
            }
        }

        if (spectra_scan_next(s, ']', &more) != SPECTRA_RESULT_OK) {
            return SPECTRA_RESULT_ERROR;
        }
    }

    return SPECTRA_RESULT_OK;
}


/*
 * A set of column names for spectra_result_set_columns(): open addressing
 * with linear probing, FNV-1a; at most half full, so every lookup ends.
 */

static spectra_name_slot_t *
spectra_result_name_slot(spectra_name_set_t *set, const u_char *name,
    size_t len)
{
    size_t                i;
    uint32_t              h;
    spectra_name_slot_t  *slot;

    h = 2166136261u;

    for (i = 0; i < len; i++) {
        h = (h ^ name[i]) * 16777619u;
    }

    for (i = h & set->mask; /* void */; i = (i + 1) & set->mask) {
        slot = &set->slots[i];

        if (slot->name == NULL
            || (slot->len == len && memcmp(slot->name, name, len) == 0))
        {
            return slot;
        }
    }
}


/*
 * Column names: the label (the alias) when there is one, else the name.
 * The first use of a name keeps it; the k-th use becomes name_k, or the
 * next free suffix, never taking a name another column has on its own
 * (so a real column "a_2" keeps "a_2").
 */

static int
spectra_result_set_columns(spectra_result_t *res, spectra_raw_column_t *raw,
    size_t n)
{
    size_t                    i, j, len, tlen, suffix, cap;
    u_char                   *p, **names, *name;
    size_t                   *lens;
    const char               *type;
    spectra_name_set_t        set;
    spectra_name_slot_t      *own, *slot;
    spectra_result_column_t  *c;
    char                      num[24];

    res->columns = spectra_palloc(&res->pool,
                                  (n ? n : 1)
                                  * sizeof(spectra_result_column_t));
    names = spectra_palloc(&res->pool, (n ? n : 1) * sizeof(u_char *));
    lens = spectra_palloc(&res->pool, (n ? n : 1) * sizeof(size_t));

    /* every own name and every name given out: 2n entries at most */
    for (cap = 16; cap < 4 * n; cap *= 2) { /* void */ }

    set.slots = spectra_palloc(&res->pool, cap * sizeof(spectra_name_slot_t));
    set.mask = cap - 1;

    if (res->columns == NULL || names == NULL || lens == NULL
        || set.slots == NULL)
    {
        return SPECTRA_RESULT_NOMEM;
    }

    memset(set.slots, 0, cap * sizeof(spectra_name_slot_t));

    /* every column's own name, decoded */

    for (i = 0; i < n; i++) {
        if (raw[i].label != NULL && raw[i].label_len > 0) {
            p = (u_char *) raw[i].label;
            len = raw[i].label_len;

        } else if (raw[i].name != NULL) {
            p = (u_char *) raw[i].name;
            len = raw[i].name_len;

        } else {
            p = (u_char *) "";
            len = 0;
        }

        /* room for a "_NNN" suffix too */
        names[i] = spectra_palloc(&res->pool, len + sizeof(num) + 1);
        if (names[i] == NULL) {
            return SPECTRA_RESULT_NOMEM;
        }

        lens[i] = (size_t) (spectra_result_unescape(names[i], p, len)
                            - names[i]);
        names[i][lens[i]] = '\0';

        slot = spectra_result_name_slot(&set, names[i], lens[i]);

        if (slot->name == NULL) {
            slot->name = names[i];
            slot->len = lens[i];
        }

        slot->own = 1;
    }

    /*
     * The first use of a name keeps it; the k-th use becomes name_k, or
     * the next free suffix, never taking a name another column has on its
     * own (so a real column "a_2" keeps "a_2").  Linear in the columns:
     * the k-th use starts its search at k.
     */

    for (i = 0; i < n; i++) {
        c = &res->columns[i];
        name = names[i];
        len = lens[i];

        own = spectra_result_name_slot(&set, name, len);
        suffix = ++own->uses;

        if (own->given) {
            for ( /* void */ ; /* void */ ; suffix++) {
                tlen = (size_t) snprintf(num, sizeof(num), "_%zu", suffix);
                memcpy(name + len, num, tlen + 1);

                slot = spectra_result_name_slot(&set, name, len + tlen);

                if (slot->name == NULL) {
                    break;
                }
            }

            len += tlen;
            slot->name = name;
            slot->len = len;
            slot->given = 1;

        } else {
            own->given = 1;
        }

        c->name.data = name;
        c->name.len = len;

        c->key.len = spectra_json_escape_len(c->name.data, c->name.len) + 3;
        c->key.data = spectra_palloc(&res->pool, c->key.len);
        if (c->key.data == NULL) {
            return SPECTRA_RESULT_NOMEM;
        }

        p = c->key.data;
        *p++ = '"';
        p = spectra_json_escape(p, c->name.data, c->name.len);
        *p++ = '"';
        *p = ':';

        if (raw[i].type != NULL && raw[i].type_len > 0) {
            p = spectra_palloc(&res->pool, raw[i].type_len + 1);
            if (p == NULL) {
                return SPECTRA_RESULT_NOMEM;
            }

            tlen = (size_t) (spectra_result_unescape(p, raw[i].type,
                                                     raw[i].type_len) - p);
            type = spectra_result_type_name(p, tlen);

            if (type == NULL) {
                for (j = 0; j < tlen; j++) {
                    if (p[j] >= 'A' && p[j] <= 'Z') {
                        p[j] |= 0x20;
                    }
                }

                p[tlen] = '\0';
                type = (const char *) p;
            }

        } else {
            type = "unknown";
        }

        c->type = type;
        c->numeric = (strcmp(type, "numeric") == 0);
    }

    res->ncolumns = n;
    res->has_columns = 1;

    return SPECTRA_RESULT_OK;
}


/* The Field kind a member name stands for, or -1. */

static int
spectra_result_field_kind(const u_char *k, size_t len)
{
    switch (len) {
    case 6:
        return memcmp(k, "isNull", 6) == 0 ? SPECTRA_FIELD_NULL : -1;

    case 9:
        if (k[0] == 'l') {
            return memcmp(k, "longValue", 9) == 0 ? SPECTRA_FIELD_LONG : -1;
        }

        return memcmp(k, "blobValue", 9) == 0 ? SPECTRA_FIELD_BLOB : -1;

    case 11:
        if (k[0] == 's') {
            return memcmp(k, "stringValue", 11) == 0 ? SPECTRA_FIELD_STRING
                                                      : -1;
        }

        return memcmp(k, "doubleValue", 11) == 0 ? SPECTRA_FIELD_DOUBLE : -1;

    case 12:
        return memcmp(k, "booleanValue", 12) == 0 ? SPECTRA_FIELD_BOOL : -1;

    default:
        return -1;
    }
}


/*
 * A Field member name written the usual way, "name": with no whitespace
 * or escapes: its kind, and s->p moves past the colon; else -1 and s->p
 * stays.
 */

static int
spectra_result_field_name(spectra_scan_t *s)
{
    const u_char  *p;

    p = s->p;

    if (s->end - p < 16 || p[0] != '"') {
        return -1;
    }

    /* constant lengths: the compiler compares in a few words */

    switch (p[1]) {
    case 'i':
        if (memcmp(p, "\"isNull\":", 9) == 0) {
            s->p += 9;
            return SPECTRA_FIELD_NULL;
        }

        return -1;

    case 'l':
        if (memcmp(p, "\"longValue\":", 12) == 0) {
            s->p += 12;
            return SPECTRA_FIELD_LONG;
        }

        return -1;

    case 'd':
        if (memcmp(p, "\"doubleValue\":", 14) == 0) {
            s->p += 14;
            return SPECTRA_FIELD_DOUBLE;
        }

        return -1;

    case 's':
        if (memcmp(p, "\"stringValue\":", 14) == 0) {
            s->p += 14;
            return SPECTRA_FIELD_STRING;
        }

        return -1;

    case 'b':
        if (memcmp(p, "\"booleanValue\":", 15) == 0) {
            s->p += 15;
            return SPECTRA_FIELD_BOOL;
        }

        if (memcmp(p, "\"blobValue\":", 12) == 0) {
            s->p += 12;
            return SPECTRA_FIELD_BLOB;
        }

        return -1;

    default:
        return -1;
    }
}


/*
 * The digits of a number the scanner has checked: n significant digits
 * (trailing zeros not counted, 0 for a zero), the first 17 of them in d,
 * and x, the power of 10 of the first.  A huge exponent saturates.
 */

static void
spectra_result_num_read(const u_char *p, size_t len, spectra_num_t *num)
{
    int            frac, nz, lead;
    long           e, pos, first;
    const u_char  *end;

    end = p + len;
    first = LONG_MIN;
    num->neg = (p < end && *p == '-');
    p += num->neg;

    num->n = 0;
    nz = 0;             /* digits up to the last non-zero one */
    pos = 0;            /* digits before the point, then -(zeros after) */
    lead = 1;
    frac = 0;
    num->x = 0;

    for ( /* void */ ; p < end; p++) {
        if (*p == '.') {
            frac = 1;
            continue;
        }

        if (*p < '0' || *p > '9') {
            break;
        }

        if (lead) {
            if (*p == '0') {
                if (frac) {
                    pos--;
                }

                continue;
            }

            lead = 0;
            first = frac ? pos - 1 : LONG_MIN;
        }

        if (!frac) {
            pos++;
        }

        if (num->n < (int) sizeof(num->d)) {
            num->d[num->n] = *p;
        }

        num->n++;

        if (*p != '0') {
            nz = num->n;
        }
    }

    if (lead) {
        num->n = 0;
        return;
    }

    /* a first digit in the integer part: its power is pos - 1 */
    num->x = (int) (first == LONG_MIN ? pos - 1 : first);

    num->n = nz;

    if (p < end) {
        /* 'e' or 'E', an optional sign, digits */
        p++;
        e = 0;

        if (*p == '+' || *p == '-') {
            lead = (*p == '-');
            p++;

        } else {
            lead = 0;
        }

        for ( /* void */ ; p < end; p++) {
            if (e < 100000) {
                e = e * 10 + (*p - '0');
            }
        }

        num->x += (int) (lead ? -e : e);
    }
}


/*
 * A Data API Field: an object with exactly one member.  Doubles may come
 * as "NaN", "Infinity" or "-Infinity" strings (AWS JSON).  Returns -1 for
 * anything else; the page's syntax is known to be good by now.
 */

static int
spectra_result_field(spectra_scan_t *s, spectra_field_t *f)
{
    int            integer, more, kind;
    char           key[16], num[SPECTRA_RESULT_MAX_NUMBER];
    size_t         len;
    u_char        *e;
    const u_char  *tok;

    spectra_scan_ws(s);

    if (s->p == s->end || *s->p != '{') {
        return -1;
    }

    s->p++;

    /* the common case: "name": right after the brace */
    kind = spectra_result_field_name(s);

    if (kind < 0) {
        spectra_scan_ws(s);

        if (s->p == s->end || *s->p != '"'
            || spectra_scan_string(s, &tok, &len) != SPECTRA_RESULT_OK)
        {
            return -1;
        }

        if (!s->esc) {
            kind = spectra_result_field_kind(tok, len);

        } else if (len < sizeof(key)) {
            /* a decoded name is never longer than its raw form */
            e = spectra_result_unescape((u_char *) key, tok, len);
            kind = spectra_result_field_kind((u_char *) key,
                                             (size_t) (e - (u_char *) key));

        } else {
            kind = -1;
        }

        if (kind < 0 || spectra_scan_char(s, ':') != SPECTRA_RESULT_OK) {
            return -1;
        }
    }

    spectra_scan_ws(s);

    if (s->p == s->end) {
        return -1;
    }

    f->kind = (spectra_field_e) kind;

    switch (f->kind) {

    case SPECTRA_FIELD_NULL:
        if (*s->p != 't' || spectra_scan_literal(s, "true") != 0) {
            return -1;
        }

        break;

    case SPECTRA_FIELD_BOOL:
        f->boolean = (*s->p == 't');

        if ((*s->p != 't' && *s->p != 'f')
            || spectra_scan_literal(s, f->boolean ? "true" : "false") != 0)
        {
            return -1;
        }

        break;

    case SPECTRA_FIELD_LONG:
        if ((*s->p != '-' && (*s->p < '0' || *s->p > '9'))
            || spectra_scan_number(s, &f->raw, &f->len, &integer) != 0
            || !integer
            || spectra_result_int64_parse(f->raw, f->len, &f->l) != 0)
        {
            return -1;
        }

        break;

    case SPECTRA_FIELD_DOUBLE:
        if (*s->p == '"') {
            if (spectra_scan_string(s, &tok, &len) != 0) {
                return -1;
            }

            f->raw = NULL;

            if (len == 3 && memcmp(tok, "NaN", 3) == 0) {
                f->d = NAN;

            } else if (len == 8 && memcmp(tok, "Infinity", 8) == 0) {
                f->d = INFINITY;

            } else if (len == 9 && memcmp(tok, "-Infinity", 9) == 0) {
                f->d = -INFINITY;

            } else {
                return -1;
            }

            break;
        }

        if ((*s->p != '-' && (*s->p < '0' || *s->p > '9'))
            || spectra_scan_number(s, &f->raw, &f->len, &integer) != 0
            || f->len >= sizeof(num))
        {
            return -1;
        }

        spectra_result_num_read(f->raw, f->len, &f->num);

        /*
         * A finite literal too big for a double is not one: below 1e308
         * every value is finite, from 1e309 up none is.
         */
        if (f->num.n > 0 && f->num.x >= 308) {
            if (f->num.x > 308) {
                return -1;
            }

            memcpy(num, f->raw, f->len);
            num[f->len] = '\0';

            if (isinf(strtod(num, NULL))) {
                return -1;
            }
        }

        break;

    case SPECTRA_FIELD_STRING:
    case SPECTRA_FIELD_BLOB:
        if (*s->p != '"' || spectra_scan_string(s, &f->raw, &f->len) != 0) {
            return -1;
        }

        f->esc = s->esc;
        f->plain = s->plain;

        if (f->kind == SPECTRA_FIELD_BLOB
            && !spectra_result_base64(f->raw, f->len))
        {
            return -1;
        }

        break;
    }

    /* exactly one member */
    if (spectra_scan_next(s, '}', &more) != 0 || more) {
        return -1;
    }

    return 0;
}


/*
 * One row of ncols fields: checked and sized when *dst is NULL (an upper
 * bound, comma included, the objects' keys not, added to *size), written
 * at *dst otherwise.
 */

static int
spectra_result_row(spectra_result_t *res, size_t ncols, spectra_scan_t *s,
    size_t rowno, size_t *size, u_char **dst)
{
    int               more;
    size_t            i, n, pos;
    u_char           *d;
    spectra_field_t   f;

    spectra_scan_ws(s);
    pos = (size_t) (s->p - s->start);

    if (s->p == s->end || *s->p != '[') {
        goto shape;
    }

    s->p++;
    spectra_scan_ws(s);

    d = (dst != NULL) ? *dst : NULL;
    n = 3;      /* the brackets and a comma */

    if (d != NULL) {
        if (res->rows > 0) {
            *d++ = ',';
        }

        *d++ = (res->format == SPECTRA_RESULT_OBJECTS) ? '{' : '[';
    }

    if (ncols == 0) {
        if (s->p == s->end || *s->p != ']') {
            goto shape;
        }

        s->p++;
    }

    for (i = 0; i < ncols; i++) {
        if (s->p < s->end && *s->p == ']') {
            goto shape;
        }

        pos = (size_t) (s->p - s->start);

        if (spectra_result_field(s, &f) != 0) {
            spectra_scan_ws(s);
            return spectra_err_set(s->err, SPECTRA_RESULT_ERROR, pos,
                                   "Records[%zu][%zu] is not a valid Field",
                                   rowno, i);
        }

        if (spectra_scan_next(s, ']', &more) != SPECTRA_RESULT_OK
            || more != (i + 1 < ncols))
        {
            goto shape;
        }

        if (d == NULL) {
            n += 1;     /* comma */

            switch (f.kind) {
            case SPECTRA_FIELD_NULL:
            case SPECTRA_FIELD_BOOL:
                n += 5;
                break;

            case SPECTRA_FIELD_LONG:
                n += SPECTRA_RESULT_INT64_MAX_LEN;
                break;

            case SPECTRA_FIELD_DOUBLE:
                n += SPECTRA_RESULT_DOUBLE_MAX_LEN;
                break;

            default:
                /* strings and base64 blobs */
                n += 2 + (f.plain ? f.len
                                  : spectra_result_str_len(f.raw, f.len,
                                                           f.esc));
            }

            continue;
        }

        if (i > 0) {
            *d++ = ',';
        }

        if (res->format == SPECTRA_RESULT_OBJECTS) {
            memcpy(d, res->columns[i].key.data, res->columns[i].key.len);
            d += res->columns[i].key.len;
        }

        switch (f.kind) {
        case SPECTRA_FIELD_NULL:
            memcpy(d, "null", 4);
            d += 4;
            break;

        case SPECTRA_FIELD_BOOL:
            if (f.boolean) {
                memcpy(d, "true", 4);
                d += 4;

            } else {
                memcpy(d, "false", 5);
                d += 5;
            }

            break;

        case SPECTRA_FIELD_LONG:
            /* JSON's integer syntax is int64's shortest form, but "-0" */
            if (f.l == 0) {
                *d++ = '0';

            } else {
                memcpy(d, f.raw, f.len);
                d += f.len;
            }

            break;

        case SPECTRA_FIELD_DOUBLE:
            d = (f.raw == NULL) ? spectra_result_double(d, f.d)
                                : spectra_result_double_text(d, &f);
            break;

        case SPECTRA_FIELD_STRING:
            if (res->columns[i].numeric
                && (res->flags & SPECTRA_RESULT_NUMERIC_AS_NUMBER)
                && spectra_result_plain_decimal(f.raw, f.len))
            {
                memcpy(d, f.raw, f.len);
                d += f.len;

            } else if (f.plain) {
                *d++ = '"';
                memcpy(d, f.raw, f.len);
                d += f.len;
                *d++ = '"';

            } else {
                d = spectra_result_str_write(d, f.raw, f.len, f.esc);
            }

            break;

        case SPECTRA_FIELD_BLOB:
            if (f.plain) {
                *d++ = '"';
                memcpy(d, f.raw, f.len);
                d += f.len;
                *d++ = '"';

            } else {
                d = spectra_result_str_write(d, f.raw, f.len, f.esc);
            }

            break;
        }
    }

    if (d == NULL) {
        *size += n;

    } else {
        *d++ = (res->format == SPECTRA_RESULT_OBJECTS) ? '}' : ']';
        *dst = d;
    }

    return SPECTRA_RESULT_OK;

shape:

    return spectra_err_set(s->err, SPECTRA_RESULT_ERROR, pos,
                           "Records[%zu] is not an array of %zu fields",
                           rowno, ncols);
}


/*
 * Keeps the size bound of row i of the page in res->sizes, grown by
 * doubling: the pool keeps the old arrays, so the waste stays below the
 * largest page's.
 */

static int
spectra_result_size_put(spectra_result_t *res, size_t i, size_t size)
{
    size_t   n, *sizes;

    if (i >= res->nsizes) {
        n = res->nsizes ? res->nsizes * 2 : 256;

        while (n <= i) {
            n *= 2;
        }

        sizes = spectra_palloc(&res->pool, n * sizeof(size_t));
        if (sizes == NULL) {
            return SPECTRA_RESULT_NOMEM;
        }

        if (res->nsizes) {
            memcpy(sizes, res->sizes, res->nsizes * sizeof(size_t));
        }

        res->sizes = sizes;
        res->nsizes = n;
    }

    res->sizes[i] = size;

    return SPECTRA_RESULT_OK;
}


/*
 * The Records array in the first pass: its first cap rows checked and
 * sized as rows of ncols fields, the others only scanned.  Says nothing
 * on failure; the caller scans again.
 */

static int
spectra_result_rows(spectra_scan_t *s, spectra_result_t *res, size_t ncols,
    uint64_t cap, size_t *n, size_t *size)
{
    int             more;
    size_t          before;
    spectra_scan_t  rs;

    rs = *s;
    rs.err = NULL;
    *n = 0;
    *size = 0;

    if (spectra_scan_char(&rs, '[') != SPECTRA_RESULT_OK) {
        return SPECTRA_RESULT_ERROR;
    }

    spectra_scan_ws(&rs);

    if (rs.p < rs.end && *rs.p == ']') {
        s->p = rs.p + 1;
        return SPECTRA_RESULT_OK;
    }

    for (more = 1; more; /* void */) {
        if ((uint64_t) *n < cap) {
            before = *size;

            if (spectra_result_row(res, ncols, &rs, *n, size, NULL)
                != SPECTRA_RESULT_OK)
            {
                return SPECTRA_RESULT_ERROR;
            }

            if (spectra_result_size_put(res, *n, *size - before)
                != SPECTRA_RESULT_OK)
            {
                return SPECTRA_RESULT_ERROR;
            }

        } else if (spectra_scan_value(&rs, 1) != SPECTRA_RESULT_OK) {
            return SPECTRA_RESULT_ERROR;
        }

        if (spectra_scan_next(&rs, ']', &more) != SPECTRA_RESULT_OK) {
            return SPECTRA_RESULT_ERROR;
        }

        (*n)++;
    }

    s->p = rs.p;

    return SPECTRA_RESULT_OK;
}


int
spectra_result_page_open(spectra_result_t *res, const u_char *p, size_t len,
    spectra_result_page_t *page, spectra_err_t *err)
{
    int                    rc, more;
    size_t                 i, emit, size, keys;
    spectra_doc_t          doc;
    spectra_scan_t         s, rows;
    spectra_raw_column_t  *raw;
    spectra_result_page_t  pg;

    res->emit = 0;
    res->emitted = 0;
    res->pending = 0;

    s.start = p;
    s.p = p;
    s.end = p + len;
    s.err = err;

    doc.res = res;
    doc.cap = (res->rows < res->max_rows) ? res->max_rows - res->rows : 0;

    if (spectra_result_doc(&s, &doc) != SPECTRA_RESULT_OK) {
        return SPECTRA_RESULT_ERROR;
    }

    if (!res->has_columns) {
        if (doc.meta == NULL) {
            return spectra_err_set(err, SPECTRA_RESULT_ERROR, 0,
                                   "first result page has no ColumnMetadata");
        }

        if (!doc.meta_array) {
            return spectra_err_set(err, SPECTRA_RESULT_ERROR,
                                   (size_t) (doc.meta - p),
                                   "ColumnMetadata is not an array");
        }

        if (doc.nmeta > SPECTRA_RESULT_MAX_COLUMNS) {
            return spectra_err_set(err, SPECTRA_RESULT_ERROR,
                                   (size_t) (doc.meta - p),
                                   "the result has %zu columns, more than the "
                                   "%d supported", doc.nmeta,
                                   SPECTRA_RESULT_MAX_COLUMNS);
        }

        /* scratch for the raw spans, from the pool: small and once */
        raw = spectra_palloc(&res->pool, (doc.nmeta ? doc.nmeta : 1)
                                         * sizeof(spectra_raw_column_t));
        if (raw == NULL) {
            return SPECTRA_RESULT_NOMEM;
        }

        s.p = doc.meta;

        if (spectra_result_read_columns(&s, doc.nmeta, raw)
            != SPECTRA_RESULT_OK)
        {
            return SPECTRA_RESULT_ERROR;
        }

        rc = spectra_result_set_columns(res, raw, doc.nmeta);
        if (rc != SPECTRA_RESULT_OK) {
            return rc;
        }

    } else if (doc.meta != NULL
               && (!doc.meta_array || doc.nmeta != res->ncolumns))
    {
        return spectra_err_set(err, SPECTRA_RESULT_ERROR,
                               (size_t) (doc.meta - p),
                               "ColumnMetadata differs from the first page's");
    }

    rc = spectra_result_paging(&doc, &pg, &res->pool);
    if (rc != SPECTRA_RESULT_OK) {
        return rc;
    }

    /* check every row that will be written and bound its size */

    emit = 0;

    if (res->rows < res->max_rows && !res->truncated) {
        emit = (res->max_rows - res->rows < doc.nrecords)
               ? (size_t) (res->max_rows - res->rows) : doc.nrecords;
    }

    keys = 0;

    if (res->format == SPECTRA_RESULT_OBJECTS) {
        for (i = 0; i < res->ncolumns; i++) {
            keys += res->columns[i].key.len;
        }
    }

    rows = s;
    rows.p = doc.records + 1;

    for (i = 0; i < emit; i++) {
        if (!doc.checked) {
            size = 0;

            if (spectra_result_row(res, res->ncolumns, &rows, i, &size, NULL)
                != SPECTRA_RESULT_OK)
            {
                return SPECTRA_RESULT_ERROR;
            }

            (void) spectra_scan_next(&rows, ']', &more);

            if (spectra_result_size_put(res, i, size) != SPECTRA_RESULT_OK) {
                return SPECTRA_RESULT_NOMEM;
            }
        }

        res->sizes[i] += keys;
        res->pending += res->sizes[i];
    }

    res->seen += doc.nrecords;
    res->total_rows = pg.total_rows;

    res->page = p;
    res->page_end = p + len;
    res->cur = doc.records + 1;
    res->emit = emit;
    res->more_records = (doc.nrecords > emit);
    res->page_truncates = (doc.nrecords > emit)
                          || (res->rows + emit == res->max_rows
                              && pg.total_rows >= 0
                              && (uint64_t) pg.total_rows > res->max_rows);

    if (res->page_truncates
        || (pg.total_rows >= 0 && res->seen >= (uint64_t) pg.total_rows))
    {
        pg.more = 0;
    }

    res->page_more = pg.more;

    if (page != NULL) {
        *page = pg;
    }

    return SPECTRA_RESULT_OK;
}


int
spectra_result_page_write(spectra_result_t *res, spectra_result_out_t *out,
    size_t slice)
{
    int             more;
    size_t          size, written;
    u_char         *dst, *row;
    spectra_scan_t  rows;

    memset(&rows, 0, sizeof(spectra_scan_t));
    rows.start = res->page;
    rows.p = res->cur;
    rows.end = res->page_end;

    written = 0;

    while (res->emitted < res->emit) {
        if (slice && written >= slice) {
            res->cur = rows.p;
            return SPECTRA_RESULT_AGAIN;
        }

        size = res->sizes[res->emitted];

        if (out->pos == NULL || (size_t) (out->end - out->pos) < size) {
            if (out->grow == NULL) {
                return SPECTRA_RESULT_NOMEM;
            }

            out->hint = res->pending;

            switch (out->grow(out, size)) {
            case 0:
                break;

            case 1:
                /* no room now: the caller sends what it has, then again */
                res->cur = rows.p;
                return SPECTRA_RESULT_AGAIN;

            default:
                return SPECTRA_RESULT_NOMEM;
            }

            if (out->pos == NULL || (size_t) (out->end - out->pos) < size) {
                return SPECTRA_RESULT_NOMEM;
            }
        }

        row = out->pos;
        dst = row;

        (void) spectra_result_row(res, res->ncolumns, &rows, res->emitted,
                                  &size, &dst);
        (void) spectra_scan_next(&rows, ']', &more);

        if (res->max_bytes
            && res->bytes + (uint64_t) (dst - row) > res->max_bytes)
        {
            /* the row stays unwritten: the answer ends before it */
            res->truncated = 1;
            res->by_bytes = 1;
            res->emit = res->emitted;
            res->page_more = 0;
            break;
        }

        res->pending -= res->sizes[res->emitted];
        res->bytes += (uint64_t) (dst - row);
        written += (size_t) (dst - row);
        out->pos = dst;
        res->rows++;
        res->emitted++;
    }

    res->cur = rows.p;

    if (res->page_truncates) {
        res->truncated = 1;
    }

    if (res->truncated) {
        res->page_more = 0;
    }

    return SPECTRA_RESULT_OK;
}


int
spectra_result_page(spectra_result_t *res, const u_char *p, size_t len,
    spectra_result_out_t *out, spectra_result_page_t *page,
    spectra_err_t *err)
{
    int  rc;

    rc = spectra_result_page_open(res, p, len, page, err);
    if (rc != SPECTRA_RESULT_OK) {
        return rc;
    }

    rc = spectra_result_page_write(res, out, 0);

    if (rc == SPECTRA_RESULT_AGAIN) {
        /* a sink that cannot wait: as if it had no memory */
        return SPECTRA_RESULT_NOMEM;
    }

    if (page != NULL) {
        page->more = res->page_more;
    }

    return rc;
}


int
spectra_result_columns(spectra_result_t *res, spectra_result_out_t *out)
{
    size_t                    i, size;
    u_char                   *p;
    spectra_result_column_t  *c;

    size = 2;

    for (i = 0; i < res->ncolumns; i++) {
        c = &res->columns[i];
        size += sizeof("{\"name\":\"\",\"type\":\"\"},") - 1
                + spectra_json_escape_len(c->name.data, c->name.len)
                + spectra_json_escape_len((const u_char *) c->type,
                                          strlen(c->type));
    }

    if (spectra_result_reserve(out, size) != SPECTRA_RESULT_OK) {
        return SPECTRA_RESULT_NOMEM;
    }

    p = out->pos;
    *p++ = '[';

    for (i = 0; i < res->ncolumns; i++) {
        c = &res->columns[i];

        if (i > 0) {
            *p++ = ',';
        }

        memcpy(p, "{\"name\":", 8);
        p = spectra_result_string(p + 8, c->name.data, c->name.len);
        memcpy(p, ",\"type\":", 8);
        p = spectra_result_string(p + 8, (const u_char *) c->type,
                                  strlen(c->type));
        *p++ = '}';
    }

    *p++ = ']';
    out->pos = p;

    return SPECTRA_RESULT_OK;
}


static int
spectra_result_reserve(spectra_result_out_t *out, size_t need)
{
    if (out->pos != NULL && (size_t) (out->end - out->pos) >= need) {
        return SPECTRA_RESULT_OK;
    }

    out->hint = 0;

    if (out->grow == NULL || out->grow(out, need) != 0) {
        return SPECTRA_RESULT_NOMEM;
    }

    if (out->pos == NULL || (size_t) (out->end - out->pos) < need) {
        return SPECTRA_RESULT_NOMEM;
    }

    return SPECTRA_RESULT_OK;
}


/* -?(0|[1-9][0-9]*)(\.[0-9]+)? : a JSON number with no exponent */

static int
spectra_result_plain_decimal(const u_char *p, size_t len)
{
    size_t  i, start;

    i = 0;

    if (i < len && p[i] == '-') {
        i++;
    }

    if (i == len) {
        return 0;
    }

    if (p[i] == '0') {
        i++;

    } else if (p[i] >= '1' && p[i] <= '9') {
        while (i < len && p[i] >= '0' && p[i] <= '9') {
            i++;
        }

    } else {
        return 0;
    }

    if (i < len && p[i] == '.') {
        i++;
        start = i;

        while (i < len && p[i] >= '0' && p[i] <= '9') {
            i++;
        }

        if (i == start) {
            return 0;
        }
    }

    return i == len;
}


/*
 * Standard base64 (RFC 4648 §4) with padding, as AWS JSON sends blobs; p
 * is the raw string body, where "/" may come escaped as "\/".
 */

static int
spectra_result_base64(const u_char *p, size_t len)
{
    size_t         n, pad;
    u_char         c;
    const u_char  *end;

    end = p + len;
    n = 0;
    pad = 0;

    while (p < end) {
        c = *p++;

        if (c == '\\') {
            if (p == end || *p != '/') {
                return 0;
            }

            c = *p++;
        }

        n++;

        if (c == '=') {
            pad++;

            if (pad > 2) {
                return 0;
            }

            continue;
        }

        if (pad > 0) {
            return 0;
        }

        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
              || (c >= '0' && c <= '9') || c == '+' || c == '/'))
        {
            return 0;
        }
    }

    return n % 4 == 0;
}


/* Significant digits of a %g rendering, without leading or trailing 0s. */

static size_t
spectra_result_digits(const char *s)
{
    size_t  n, zeros;
    int     lead;

    n = 0;
    zeros = 0;
    lead = 1;

    for ( /* void */ ; *s != '\0' && *s != 'e'; s++) {
        if (*s < '0' || *s > '9' || (lead && *s == '0')) {
            continue;
        }

        lead = 0;

        if (*s == '0') {
            zeros++;

        } else {
            n += zeros + 1;
            zeros = 0;
        }
    }

    return n;
}


/*
 * The shortest %.Ng rendering that reads back as the same double.  For a
 * normal double, when %.15g round-trips with fewer than 15 digits no
 * shorter form exists (the value lies within half an ulp of that decimal,
 * nearer than any other 15-digit one); only 15-digit and subnormal cases
 * need the search from 1 digit up.
 */

static u_char *
spectra_result_double(u_char *dst, double v)
{
    int     prec, lo;
    char    buf[48];
    size_t  n;

    if (isnan(v)) {
        memcpy(dst, "\"NaN\"", 5);
        return dst + 5;
    }

    if (isinf(v)) {
        if (v > 0) {
            memcpy(dst, "\"Infinity\"", 10);
            return dst + 10;
        }

        memcpy(dst, "\"-Infinity\"", 11);
        return dst + 11;
    }

    if (fabs(v) < DBL_MIN && v != 0) {
        lo = 1;

    } else {
        snprintf(buf, sizeof(buf), "%.15g", v);

        if (strtod(buf, NULL) != v) {
            lo = 16;

        } else if (spectra_result_digits(buf) < 15) {
            goto done;

        } else {
            lo = 1;
        }
    }

    for (prec = lo; prec <= 17; prec++) {
        snprintf(buf, sizeof(buf), "%.*g", prec, v);

        if (prec == 17 || strtod(buf, NULL) == v) {
            break;
        }
    }

done:

    n = strlen(buf);
    memcpy(dst, buf, n);

    return dst + n;
}


/*
 * digits d[0..n-1] (no trailing zeros) times 10^x as printf's "%.15g"
 * writes them: exponent form when x < -4 or x >= 15.
 */

static u_char *
spectra_result_g15(u_char *dst, int neg, const u_char *d, int n, int x)
{
    int  i, e;

    if (neg) {
        *dst++ = '-';
    }

    if (x < -4 || x >= 15) {
        *dst++ = d[0];

        if (n > 1) {
            *dst++ = '.';
            memcpy(dst, d + 1, (size_t) (n - 1));
            dst += n - 1;
        }

        *dst++ = 'e';
        *dst++ = (x < 0) ? '-' : '+';
        e = (x < 0) ? -x : x;

        if (e >= 100) {
            *dst++ = (u_char) ('0' + e / 100);
        }

        *dst++ = (u_char) ('0' + e / 10 % 10);
        *dst++ = (u_char) ('0' + e % 10);

        return dst;
    }

    if (x < 0) {
        *dst++ = '0';
        *dst++ = '.';

        for (i = -1; i > x; i--) {
            *dst++ = '0';
        }

        memcpy(dst, d, (size_t) n);
        return dst + n;
    }

    if (n <= x + 1) {
        memcpy(dst, d, (size_t) n);
        dst += n;

        for (i = n; i <= x; i++) {
            *dst++ = '0';
        }

        return dst;
    }

    memcpy(dst, d, (size_t) x + 1);
    dst += x + 1;
    *dst++ = '.';
    memcpy(dst, d + x + 1, (size_t) (n - x - 1));

    return dst + n - x - 1;
}


/*
 * A doubleValue number from its text, as spectra_result_double() writes
 * its double.  Any decimal of at most 15 significant digits in the normal
 * range reads back from the nearest double (DBL_DIG), so no other decimal
 * of 15 digits or fewer reads back as that double: the shortest rendering
 * is that decimal, and "%.15g" writes it.  Such text is reformatted with
 * no strtod() at all; longer text ("0.10000000000000001") is rounded to 15
 * digits and kept when that reads back as the same double.
 */

static u_char *
spectra_result_double_text(u_char *dst, spectra_field_t *f)
{
    int             i, m, x, e;
    char            buf[SPECTRA_RESULT_MAX_NUMBER], cand[32];
    u_char          d[17];
    double          v, w;
    uint64_t        c;
    spectra_num_t  *num;

    num = &f->num;

    if (num->n == 0) {
        if (num->neg) {
            memcpy(dst, "-0", 2);
            return dst + 2;
        }

        *dst++ = '0';
        return dst;
    }

    if (num->n <= 15 && num->x >= -307 && num->x <= 307) {
        return spectra_result_g15(dst, num->neg, num->d, num->n, num->x);
    }

    memcpy(buf, f->raw, f->len);
    buf[f->len] = '\0';
    v = strtod(buf, NULL);

    if (num->n <= 15 || fabs(v) < DBL_MIN || isinf(v)) {
        return spectra_result_double(dst, v);
    }

    /* the 16th digit rounds the first 15 */

    memcpy(d, num->d, 15);
    x = num->x;

    if (num->d[15] >= '5') {
        for (i = 14; i >= 0 && d[i] == '9'; i--) {
            d[i] = '0';
        }

        if (i < 0) {
            d[0] = '1';
            x++;

        } else {
            d[i]++;
        }
    }

    for (m = 15; m > 1 && d[m - 1] == '0'; m--) {
        /* void */
    }

    /*
     * The double nearest d[0..m-1] times 10^e: with at most 15 digits and
     * |e| <= 22 both factors are exact doubles and one IEEE multiplication
     * or division rounds correctly (Clinger); else strtod() reads it.
     */

    e = x - m + 1;

    if (SPECTRA_RESULT_EXACT_FP && e >= -22 && e <= 22) {
        c = 0;

        for (i = 0; i < m; i++) {
            c = c * 10 + (d[i] - '0');
        }

        w = (double) c;

        if (e < 0) {
            w /= spectra_result_pow10[-e];

        } else {
            w *= spectra_result_pow10[e];
        }

        if (num->neg) {
            w = -w;
        }

    } else {
        i = 0;

        if (num->neg) {
            cand[i++] = '-';
        }

        memcpy(cand + i, d, (size_t) m);
        i += m;
        snprintf(cand + i, sizeof(cand) - (size_t) i, "e%d", e);

        w = strtod(cand, NULL);
    }

    if (w != v) {
        return spectra_result_double(dst, v);
    }

    return spectra_result_g15(dst, num->neg, d, m, x);
}


static u_char *
spectra_result_string(u_char *dst, const u_char *s, size_t len)
{
    *dst++ = '"';
    dst = spectra_json_escape(dst, s, len);
    *dst++ = '"';

    return dst;
}
