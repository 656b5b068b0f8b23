/*
 * Unit tests of src/spectra_result*.c, through spectra_result.h:
 * GetStatementResult pages to rows.  The suite runs twice (main): as it
 * is, and with every encoder's rows written ahead
 * (SPECTRA_RESULT_ENCODE_AHEAD), which must not change a byte of any
 * answer or error.
 */

#include <check.h>
#include <float.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spectra_json.h"
#include "spectra_result.h"


#define T_MAX_ALLOCS  16384
#define T_CANARY      16


typedef struct {
    void      *ptr[T_MAX_ALLOCS];
    size_t     n;
    int        fail;              /* allocations left before failing, -1 */
} t_pool_t;


typedef struct {
    u_char    *block[T_MAX_ALLOCS];
    size_t     size[T_MAX_ALLOCS];
    size_t     used[T_MAX_ALLOCS];
    size_t     n;
    int        fail;
    char       text[1 << 20];     /* every block's bytes, in order */
} t_sink_t;


static void *t_alloc(void *pool, size_t size);
static int t_grow(spectra_result_out_t *out, size_t need);
static void t_setup(void);
static void t_teardown(void);
static const char *t_text(void);
static int t_page(const char *page);
static int t_pages(spectra_result_format_e format, uint64_t max,
    unsigned flags, const char **pages, size_t n);
static const char *t_columns(void);
static char *t_int_page(int64_t first, size_t n, const char *next,
    int64_t total);
static const char *t_one(const char *type, const char *field,
    unsigned flags);
static void t_valid_json(void);
static void t_ref_double(char *buf, size_t size, double v);
static void t_double_text(const char *text);
static int t_grow_some(spectra_result_out_t *o, size_t need);
static TCase *t_tcase(Suite *s, const char *name);
static void t_result_init(spectra_result_t *r,
    spectra_result_format_e format, uint64_t max_rows, unsigned flags,
    const spectra_pool_t *p);
Suite *result_suite(void);


/* SPECTRA_RESULT_ENCODE_AHEAD in the suite's second run, else 0 */
static unsigned              t_ahead;


static t_pool_t              pool;
static spectra_pool_t        tpool = { t_alloc, &pool };


/* Every encoder of the suite, with the run's flag; freed at teardown. */

static void
t_result_init(spectra_result_t *r, spectra_result_format_e format,
    uint64_t max_rows, unsigned flags, const spectra_pool_t *p)
{
    spectra_result_free(r);
    spectra_result_init(r, format, max_rows, flags | t_ahead, p);
}

#define spectra_result_init  t_result_init

static t_sink_t             *sink;
static spectra_result_out_t  out;
static spectra_result_t      res;
static spectra_result_page_t pg;
static spectra_err_t         err;


static void *
t_alloc(void *p, size_t size)
{
    t_pool_t  *tp = p;

    if (tp->fail == 0 || tp->n == T_MAX_ALLOCS) {
        return NULL;
    }

    if (tp->fail > 0) {
        tp->fail--;
    }

    tp->ptr[tp->n] = malloc(size);
    return tp->ptr[tp->n++];
}


/* Hands out blocks of exactly "need" bytes followed by a canary. */

static int
t_grow(spectra_result_out_t *o, size_t need)
{
    t_sink_t  *s = o->data;

    if (s->fail || s->n == T_MAX_ALLOCS) {
        return -1;
    }

    if (s->n > 0) {
        s->used[s->n - 1] = o->pos - s->block[s->n - 1];
    }

    /* a whole page's worth when the encoder says what that is */
    if (o->hint > need) {
        need = o->hint;
    }

    s->block[s->n] = malloc(need + T_CANARY);
    ck_assert_ptr_nonnull(s->block[s->n]);
    memset(s->block[s->n] + need, 0xa5, T_CANARY);
    s->size[s->n] = need;
    o->pos = s->block[s->n];
    o->end = o->pos + need;
    s->n++;

    return 0;
}


static void
t_setup(void)
{
    memset(&pool, 0, sizeof(pool));
    pool.fail = -1;

    sink = calloc(1, sizeof(t_sink_t));
    ck_assert_ptr_nonnull(sink);

    memset(&out, 0, sizeof(out));
    out.grow = t_grow;
    out.data = sink;

    memset(&err, 0, sizeof(err));
    memset(&pg, 0, sizeof(pg));
}


static void
t_teardown(void)
{
    size_t  i;

    spectra_result_free(&res);

    for (i = 0; i < pool.n; i++) {
        free(pool.ptr[i]);
    }

    for (i = 0; i < sink->n; i++) {
        free(sink->block[i]);
    }

    free(sink);
}


/* Everything written so far, blocks joined; checks every canary. */

static const char *
t_text(void)
{
    size_t  i, j, len;

    len = 0;

    if (sink->n > 0) {
        sink->used[sink->n - 1] = out.pos - sink->block[sink->n - 1];
    }

    for (i = 0; i < sink->n; i++) {
        ck_assert_uint_le(sink->used[i], sink->size[i]);

        for (j = 0; j < T_CANARY; j++) {
            ck_assert_uint_eq(sink->block[i][sink->size[i] + j], 0xa5);
        }

        memcpy(sink->text + len, sink->block[i], sink->used[i]);
        len += sink->used[i];
    }

    sink->text[len] = '\0';

    return sink->text;
}


static int
t_page(const char *page)
{
    return spectra_result_page(&res, (const u_char *) page, strlen(page),
                               &out, &pg, &err);
}


static int
t_pages(spectra_result_format_e format, uint64_t max, unsigned flags,
    const char **pages, size_t n)
{
    int     rc;
    size_t  i;

    spectra_result_init(&res, format, max, flags, &tpool);

    for (i = 0; i < n; i++) {
        rc = t_page(pages[i]);
        if (rc != SPECTRA_RESULT_OK) {
            return rc;
        }
    }

    return SPECTRA_RESULT_OK;
}


static const char *
t_columns(void)
{
    static char  buf[8192];
    size_t       before;

    t_text();
    before = strlen(sink->text);

    ck_assert_int_eq(spectra_result_columns(&res, &out), SPECTRA_RESULT_OK);

    snprintf(buf, sizeof(buf), "%s", t_text() + before);

    return buf;
}


/* A page of one int8 column "n" holding first, first + 1, ... */

static char *
t_int_page(int64_t first, size_t n, const char *next, int64_t total)
{
    static char  buf[4][16384];
    static int   which;
    char        *p, *b;
    size_t       i;

    b = buf[which++ % 4];
    p = b;

    p += sprintf(p, "{\"ColumnMetadata\":[{\"name\":\"n\",\"typeName\":"
                 "\"int8\"}],\"Records\":[");

    for (i = 0; i < n; i++) {
        p += sprintf(p, "%s[{\"longValue\":%lld}]", i ? "," : "",
                     (long long) (first + (int64_t) i));
    }

    p += sprintf(p, "]");

    if (next != NULL) {
        p += sprintf(p, ",\"NextToken\":\"%s\"", next);
    }

    if (total >= 0) {
        p += sprintf(p, ",\"TotalNumRows\":%lld", (long long) total);
    }

    sprintf(p, "}");

    return b;
}


/* Encodes one value of a one-column table "v" in arrays format. */

static const char *
t_one(const char *type, const char *field, unsigned flags)
{
    static char  page[4096];

    snprintf(page, sizeof(page),
             "{\"ColumnMetadata\":[{\"name\":\"v\",\"typeName\":\"%s\"}],"
             "\"Records\":[[%s]],\"TotalNumRows\":1}", type, field);

    spectra_result_init(&res, SPECTRA_RESULT_ARRAYS, 10, flags, &tpool);

    ck_assert_msg(t_page(page) == SPECTRA_RESULT_OK, "%s: %s", field,
                  err.message);

    return t_text();
}


/* The data array built from the output must parse. */

static void
t_valid_json(void)
{
    char          *doc;
    json_t        *j;
    json_error_t   jerr;
    const char    *text;

    text = t_text();
    doc = malloc(strlen(text) + 3);
    ck_assert_ptr_nonnull(doc);
    sprintf(doc, "[%s]", text);

    j = json_loads(doc, JSON_ALLOW_NUL, &jerr);
    ck_assert_msg(j != NULL, "invalid JSON %s: %s", doc, jerr.text);
    json_decref(j);
    free(doc);
}


START_TEST(test_every_type_objects)
{
    const char  *page =
        "{\"ColumnMetadata\":["
        "{\"name\":\"id\",\"label\":\"id\",\"typeName\":\"int8\"},"
        "{\"name\":\"d\",\"typeName\":\"float8\"},"
        "{\"name\":\"b\",\"typeName\":\"bool\"},"
        "{\"name\":\"s\",\"typeName\":\"varchar\"},"
        "{\"name\":\"amount\",\"typeName\":\"numeric\",\"precision\":12,"
        "\"scale\":2},"
        "{\"name\":\"x\",\"typeName\":\"varbyte\"},"
        "{\"name\":\"z\",\"typeName\":\"text\"}],"
        "\"Records\":["
        "[{\"longValue\":42},{\"doubleValue\":0.1},{\"booleanValue\":true},"
        "{\"stringValue\":\"emea\"},{\"stringValue\":\"1234.50\"},"
        "{\"blobValue\":\"AAEC/w==\"},{\"isNull\":true}],"
        "[{\"isNull\":true},{\"isNull\":true},{\"booleanValue\":false},"
        "{\"stringValue\":\"\"},{\"isNull\":true},{\"blobValue\":\"\"},"
        "{\"stringValue\":\"z\"}]],"
        "\"TotalNumRows\":2}";

    ck_assert_int_eq(t_pages(SPECTRA_RESULT_OBJECTS, 100, 0, &page, 1),
                     SPECTRA_RESULT_OK);
    ck_assert_str_eq(t_text(),
        "{\"id\":42,\"d\":0.1,\"b\":true,\"s\":\"emea\","
        "\"amount\":\"1234.50\",\"x\":\"AAEC/w==\",\"z\":null},"
        "{\"id\":null,\"d\":null,\"b\":false,\"s\":\"\",\"amount\":null,"
        "\"x\":\"\",\"z\":\"z\"}");
    ck_assert_uint_eq(res.rows, 2);
    ck_assert_int_eq(res.truncated, 0);
    ck_assert_int_eq(pg.more, 0);
    ck_assert_int_eq(pg.total_rows, 2);
    ck_assert_uint_eq(pg.records, 2);
    ck_assert_ptr_null(pg.next_token.data);
    t_valid_json();

    /* one block for the whole page */
    ck_assert_uint_eq(sink->n, 1);

    ck_assert_str_eq(t_columns(),
        "[{\"name\":\"id\",\"type\":\"bigint\"},"
        "{\"name\":\"d\",\"type\":\"double precision\"},"
        "{\"name\":\"b\",\"type\":\"boolean\"},"
        "{\"name\":\"s\",\"type\":\"varchar\"},"
        "{\"name\":\"amount\",\"type\":\"numeric\"},"
        "{\"name\":\"x\",\"type\":\"varbyte\"},"
        "{\"name\":\"z\",\"type\":\"text\"}]");
}
END_TEST


START_TEST(test_every_type_arrays)
{
    const char  *page =
        "{\"ColumnMetadata\":["
        "{\"name\":\"id\",\"typeName\":\"int4\"},"
        "{\"name\":\"d\",\"typeName\":\"float4\"},"
        "{\"name\":\"b\",\"typeName\":\"bool\"},"
        "{\"name\":\"s\",\"typeName\":\"bpchar\"},"
        "{\"name\":\"n\",\"typeName\":\"numeric\"}],"
        "\"Records\":["
        "[{\"longValue\":-7},{\"doubleValue\":1.5},{\"booleanValue\":false},"
        "{\"stringValue\":\"EUR\"},{\"stringValue\":\"-0.0725\"}],"
        "[{\"isNull\":true},{\"isNull\":true},{\"isNull\":true},"
        "{\"isNull\":true},{\"isNull\":true}]]}";

    ck_assert_int_eq(t_pages(SPECTRA_RESULT_ARRAYS, 100, 0, &page, 1),
                     SPECTRA_RESULT_OK);
    ck_assert_str_eq(t_text(),
        "[-7,1.5,false,\"EUR\",\"-0.0725\"],[null,null,null,null,null]");
    ck_assert_int_eq(pg.total_rows, -1);
    t_valid_json();

    ck_assert_str_eq(t_columns(),
        "[{\"name\":\"id\",\"type\":\"integer\"},"
        "{\"name\":\"d\",\"type\":\"real\"},"
        "{\"name\":\"b\",\"type\":\"boolean\"},"
        "{\"name\":\"s\",\"type\":\"char\"},"
        "{\"name\":\"n\",\"type\":\"numeric\"}]");
}
END_TEST


START_TEST(test_int64_limits)
{
    ck_assert_str_eq(t_one("int8", "{\"longValue\":9223372036854775807}", 0),
                     "[9223372036854775807]");
}
END_TEST


START_TEST(test_int64_min)
{
    ck_assert_str_eq(t_one("int8", "{\"longValue\":-9223372036854775808}",
                           0),
                     "[-9223372036854775808]");
}
END_TEST


START_TEST(test_int64_zero)
{
    ck_assert_str_eq(t_one("int2", "{\"longValue\":0}", 0), "[0]");
}
END_TEST


START_TEST(test_int64_overflow)
{
    const char  *page =
        "{\"ColumnMetadata\":[{\"name\":\"v\",\"typeName\":\"int8\"}],"
        "\"Records\":[[{\"longValue\":9223372036854775808}]]}";

    ck_assert_int_eq(t_pages(SPECTRA_RESULT_ARRAYS, 10, 0, &page, 1),
                     SPECTRA_RESULT_ERROR);
    ck_assert_int_eq(err.code, SPECTRA_RESULT_ERROR);
    ck_assert_str_eq(err.message, "Records[0][0] is not a valid Field");
    ck_assert_uint_eq(err.position, strstr(page, "{\"longValue") - page);
}
END_TEST


START_TEST(test_int64_underflow)
{
    const char  *page =
        "{\"ColumnMetadata\":[{\"name\":\"v\",\"typeName\":\"int8\"}],"
        "\"Records\":[[{\"longValue\":-9223372036854775809}]]}";

    ck_assert_int_eq(t_pages(SPECTRA_RESULT_ARRAYS, 10, 0, &page, 1),
                     SPECTRA_RESULT_ERROR);
    ck_assert_str_eq(err.message, "Records[0][0] is not a valid Field");
}
END_TEST


/* doubles: known answers */

static const char  *t_doubles[][2] = {
    { "0.1", "[0.1]" },
    { "1e300", "[1e+300]" },
    { "-0.0", "[-0]" },
    { "-0", "[-0]" },
    { "1E2", "[100]" },
    { "0.0", "[0]" },
    { "0.30000000000000004", "[0.30000000000000004]" },
    { "1.7976931348623157e308", "[1.7976931348623157e+308]" },
    { "2.2250738585072014e-308", "[2.2250738585072014e-308]" },
    { "5e-324", "[5e-324]" },
    { "4.9406564584124654e-324", "[5e-324]" },
    { "123456789012345.0", "[123456789012345]" },
    { "0.1234567890123456", "[0.1234567890123456]" },
    { "100.0", "[100]" },
    { "1e21", "[1e+21]" },
    { "-2.5e-7", "[-2.5e-07]" },
    { "3", "[3]" },
    { "\"NaN\"", "[\"NaN\"]" },
    { "\"Infinity\"", "[\"Infinity\"]" },
    { "\"-Infinity\"", "[\"-Infinity\"]" }
};


START_TEST(test_double_known)
{
    char  field[128];

    snprintf(field, sizeof(field), "{\"doubleValue\":%s}", t_doubles[_i][0]);
    ck_assert_str_eq(t_one("float8", field, 0), t_doubles[_i][1]);
}
END_TEST


/*
 * Random bit patterns: the output reads back as the same double and no
 * shorter %.Ng does (deterministic generator, no timing).
 */

START_TEST(test_double_shortest_roundtrip)
{
    int          k, prec, best, lead, zeros;
    char         field[96], ref[40];
    double       v, back;
    uint64_t     x, bits;
    const char  *got, *s;
    size_t       glen;

    x = 0x9e3779b97f4a7c15ULL;

    for (k = 0; k < 3000; k++) {
        /* xorshift64 */
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        bits = x;

        if (k % 3 == 0) {
            /* decimal-ish values too: d / 10^e */
            v = (double) (x % 100000000) / pow(10, (double) (x % 12));

        } else {
            memcpy(&v, &bits, sizeof(v));
        }

        if (isnan(v) || isinf(v)) {
            continue;
        }

        for (best = 1; best <= 17; best++) {
            snprintf(ref, sizeof(ref), "%.*g", best, v);
            if (strtod(ref, NULL) == v) {
                break;
            }
        }

        snprintf(field, sizeof(field), "{\"doubleValue\":%.17g}", v);

        t_teardown();
        t_setup();

        got = t_one("float8", field, 0);
        glen = strlen(got);
        ck_assert(glen > 2);

        memcpy(ref, got + 1, glen - 2);
        ref[glen - 2] = '\0';

        back = strtod(ref, NULL);
        ck_assert_msg(back == v && signbit(back) == signbit(v),
                      "%s does not read back as %.17g", ref, v);

        /* significant digits: no leading or trailing zeros */
        prec = 0;
        zeros = 0;
        lead = 1;

        for (s = ref; *s != '\0' && *s != 'e'; s++) {
            if (*s < '0' || *s > '9' || (lead && *s == '0')) {
                continue;
            }

            lead = 0;

            if (*s == '0') {
                zeros++;

            } else {
                prec += zeros + 1;
                zeros = 0;
            }
        }

        if (prec == 0) {
            prec = 1;
        }

        ck_assert_msg(prec <= best, "%s has %d digits, %d would do", ref,
                      prec, best);
    }
}
END_TEST


START_TEST(test_double_bad)
{
    const char  *page =
        "{\"ColumnMetadata\":[{\"name\":\"v\",\"typeName\":\"float8\"}],"
        "\"Records\":[[{\"doubleValue\":\"nan\"}]]}";

    ck_assert_int_eq(t_pages(SPECTRA_RESULT_ARRAYS, 10, 0, &page, 1),
                     SPECTRA_RESULT_ERROR);
    ck_assert_str_eq(err.message, "Records[0][0] is not a valid Field");
}
END_TEST


START_TEST(test_numeric_string_default)
{
    ck_assert_str_eq(
        t_one("numeric",
              "{\"stringValue\":\"12345678901234567890.123456789\"}", 0),
        "[\"12345678901234567890.123456789\"]");
}
END_TEST


START_TEST(test_numeric_as_number)
{
    ck_assert_str_eq(
        t_one("numeric",
              "{\"stringValue\":\"12345678901234567890.123456789\"}",
              SPECTRA_RESULT_NUMERIC_AS_NUMBER),
        "[12345678901234567890.123456789]");
}
END_TEST


/* with the option, anything but a plain decimal stays a string */

static const char  *t_numerics[][2] = {
    { "-0.50", "[-0.50]" },
    { "0", "[0]" },
    { "-12", "[-12]" },
    { "NaN", "[\"NaN\"]" },
    { "Infinity", "[\"Infinity\"]" },
    { "007", "[\"007\"]" },
    { "1e5", "[\"1e5\"]" },
    { ".5", "[\".5\"]" },
    { "5.", "[\"5.\"]" },
    { "-", "[\"-\"]" },
    { "", "[\"\"]" },
    { "+1", "[\"+1\"]" },
    { "1 ", "[\"1 \"]" },
    { "1.2.3", "[\"1.2.3\"]" }
};


START_TEST(test_numeric_validation)
{
    char  field[128];

    snprintf(field, sizeof(field), "{\"stringValue\":\"%s\"}",
             t_numerics[_i][0]);
    ck_assert_str_eq(t_one("numeric", field,
                           SPECTRA_RESULT_NUMERIC_AS_NUMBER),
                     t_numerics[_i][1]);
}
END_TEST


START_TEST(test_numeric_option_other_types)
{
    /* a varchar holding digits is still a string with the option set */
    ck_assert_str_eq(t_one("varchar", "{\"stringValue\":\"12\"}",
                           SPECTRA_RESULT_NUMERIC_AS_NUMBER),
                     "[\"12\"]");
}
END_TEST


START_TEST(test_numeric_decimal_alias)
{
    ck_assert_str_eq(t_one("DECIMAL", "{\"stringValue\":\"1.10\"}",
                           SPECTRA_RESULT_NUMERIC_AS_NUMBER),
                     "[1.10]");
}
END_TEST


static const char  *t_strings[][2] = {
    { "say \\\"hi\\\"", "[\"say \\\"hi\\\"\"]" },
    { "a\\nb\\r\\t", "[\"a\\nb\\r\\t\"]" },
    { "back\\\\slash", "[\"back\\\\slash\"]" },
    { "caf\\u00e9 \xc3\xa9", "[\"caf\xc3\xa9 \xc3\xa9\"]" },
    { "\\ud83d\\ude00", "[\"\xf0\x9f\x98\x80\"]" },
    { "\xe2\x82\xac", "[\"\xe2\x82\xac\"]" },
    { "nul\\u0000byte", "[\"nul\\u0000byte\"]" },
    { "\\u0001\\u001f\\u007f", "[\"\\u0001\\u001f\\u007f\"]" },
    { "</script>", "[\"</script>\"]" }
};


START_TEST(test_strings)
{
    char  field[256];

    snprintf(field, sizeof(field), "{\"stringValue\":\"%s\"}",
             t_strings[_i][0]);
    ck_assert_str_eq(t_one("varchar", field, 0), t_strings[_i][1]);
    t_valid_json();
}
END_TEST


/*
 * Bytes that are not UTF-8 and \u escapes that are no character become
 * U+FFFD (spectra_json_escape's rule), one per bad byte.
 */

static const char  *t_bad_text[][2] = {
    { "bad \xff\xfe byte", "[\"bad \xef\xbf\xbd\xef\xbf\xbd byte\"]" },
    { "\xc0\xaf", "[\"\xef\xbf\xbd\xef\xbf\xbd\"]" },
    { "\xed\xa0\x80", "[\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"]" },
    { "cut \xe2\x82", "[\"cut \xef\xbf\xbd\xef\xbf\xbd\"]" },
    { "\\ud800", "[\"\xef\xbf\xbd\"]" },
    { "\\udc00x", "[\"\xef\xbf\xbd" "x\"]" },
    { "\\ud800\\u0041", "[\"\xef\xbf\xbd" "A\"]" },
    { "\\ud800\\ud800\\udc00", "[\"\xef\xbf\xbd\xf0\x90\x80\x80\"]" },
    { "\xc3\\u00a9", "[\"\xef\xbf\xbd\xc2\xa9\"]" },
    { "\\/\\b\\f", "[\"/\\b\\f\"]" },
    { "\\u00E9\\u20ac", "[\"\xc3\xa9\xe2\x82\xac\"]" }
};


/*
 * spectra_json_escape() and spectra_json_escape_len() against a plain
 * byte-by-byte statement of their rule, on random texts of every length
 * up to 40 and every alignment, made mostly of bytes the word-at-a-time
 * path copies, with the ones it must not (quote, backslash, controls,
 * DEL, UTF-8 good and bad) sprinkled at random places.
 */

static size_t
t_escape_ref(u_char *dst, const u_char *src, size_t len)
{
    static const char  hex[] = "0123456789abcdef";
    u_char            *d = dst;
    size_t             i, n, k;
    uint32_t           cp, min;

    for (i = 0; i < len; i += n) {
        u_char  c = src[i];

        n = 1;

        if (c == '"' || c == '\\') {
            *d++ = '\\'; *d++ = c;
        } else if (c == '\b') {
            *d++ = '\\'; *d++ = 'b';
        } else if (c == '\f') {
            *d++ = '\\'; *d++ = 'f';
        } else if (c == '\n') {
            *d++ = '\\'; *d++ = 'n';
        } else if (c == '\r') {
            *d++ = '\\'; *d++ = 'r';
        } else if (c == '\t') {
            *d++ = '\\'; *d++ = 't';
        } else if (c < 0x20 || c == 0x7f) {
            *d++ = '\\'; *d++ = 'u'; *d++ = '0'; *d++ = '0';
            *d++ = hex[c >> 4]; *d++ = hex[c & 0xf];
        } else if (c < 0x80) {
            *d++ = c;
        } else {
            /* a well-formed UTF-8 sequence is copied, else U+FFFD */
            k = (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3
                : (c & 0xf8) == 0xf0 ? 4 : 0;
            min = k == 2 ? 0x80 : k == 3 ? 0x800 : 0x10000;
            cp = k == 2 ? (c & 0x1f) : k == 3 ? (c & 0x0f) : (c & 0x07);

            if (k != 0 && i + k <= len) {
                for (n = 1; n < k && (src[i + n] & 0xc0) == 0x80; n++) {
                    cp = (cp << 6) | (src[i + n] & 0x3f);
                }
            }

            if (k != 0 && i + k <= len && n == k && cp >= min
                && cp <= 0x10ffff && !(cp >= 0xd800 && cp <= 0xdfff))
            {
                memcpy(d, src + i, k);
                d += k;

            } else {
                *d++ = 0xef; *d++ = 0xbf; *d++ = 0xbd;
                n = 1;
            }
        }
    }

    return d - dst;
}


START_TEST(test_escape_words)
{
    static const char  *odd[] = { "\"", "\\", "\n", "\x01", "\x1f", "\x7f",
                                  "\xc3\xa9", "\xe2\x82\xac", "\xff",
                                  "\xf0\x9f\x98\x80", "\xe2\x82", " ", "~" };
    u_char        buf[64], src[48], ref[64 * 6], esc[64 * 6 + 8];
    size_t        len, n, i, k, want;
    unsigned int  seed, round;

    seed = 16;

    for (round = 0; round < 20000; round++) {
        len = rand_r(&seed) % 41;

        for (i = 0; i < len; i++) {
            buf[i] = (u_char) (0x20 + rand_r(&seed) % 95);
        }

        for (k = rand_r(&seed) % 3; k > 0 && len > 0; k--) {
            const char  *o;

            o = odd[rand_r(&seed) % (sizeof(odd) / sizeof(odd[0]))];

            i = rand_r(&seed) % len;
            n = strlen(o);

            if (i + n <= len) {
                memcpy(buf + i, o, n);
            }
        }

        /* at every alignment */
        i = round % 8;
        memcpy(src + i, buf, len);

        want = t_escape_ref(ref, src + i, len);

        ck_assert_uint_eq(spectra_json_escape_len(src + i, len), want);
        memset(esc, 0xaa, sizeof(esc));
        ck_assert_uint_eq((size_t) (spectra_json_escape(esc, src + i, len)
                                    - esc), want);
        ck_assert_int_eq(memcmp(esc, ref, want), 0);
        /* not a byte written past it */
        ck_assert_uint_eq(esc[want], 0xaa);
    }
}
END_TEST


START_TEST(test_bad_text)
{
    char  field[256];

    snprintf(field, sizeof(field), "{\"stringValue\":\"%s\"}",
             t_bad_text[_i][0]);
    ck_assert_str_eq(t_one("text", field, 0), t_bad_text[_i][1]);
    t_valid_json();
}
END_TEST


START_TEST(test_blob)
{
    ck_assert_str_eq(t_one("bytea", "{\"blobValue\":\"3q2+7w==\"}", 0),
                     "[\"3q2+7w==\"]");
}
END_TEST


static const char  *t_bad_blobs[] = {
    "AAE", "AA=A", "A===", "AA\\nA", "AAA-", "=AAA", "AAAA=", "AA A"
};


START_TEST(test_blob_bad)
{
    char         buf[512];
    const char  *page = buf;

    snprintf(buf, sizeof(buf),
             "{\"ColumnMetadata\":[{\"name\":\"v\",\"typeName\":\"bytea\"}],"
             "\"Records\":[[{\"blobValue\":\"%s\"}]]}", t_bad_blobs[_i]);

    ck_assert_int_eq(t_pages(SPECTRA_RESULT_ARRAYS, 10, 0, &page, 1),
                     SPECTRA_RESULT_ERROR);
    ck_assert_str_eq(err.message, "Records[0][0] is not a valid Field");
}
END_TEST


START_TEST(test_booleans_nulls)
{
    ck_assert_str_eq(t_one("bool", "{\"booleanValue\":true}", 0), "[true]");
    t_teardown();
    t_setup();
    ck_assert_str_eq(t_one("bool", "{\"booleanValue\":false}", 0),
                     "[false]");
    t_teardown();
    t_setup();
    ck_assert_str_eq(t_one("bool", "{\"isNull\":true}", 0), "[null]");
}
END_TEST


/*
 * Truncation at the boundary: a query wrapped with LIMIT limit + 1 gives
 * limit - 1, limit or limit + 1 rows, paged by two.
 */

static void
t_truncation(size_t total, uint64_t limit, int use_total,
    const char *expect, int truncated)
{
    char        *pages[8];
    char         tok[32];
    size_t       i, npages, first, n;
    int          rc;

    npages = (total + 1) / 2;
    if (npages == 0) {
        npages = 1;
    }

    spectra_result_init(&res, SPECTRA_RESULT_ARRAYS, limit, 0, &tpool);

    for (i = 0; i < npages; i++) {
        first = i * 2;
        n = (total - first < 2) ? total - first : 2;
        snprintf(tok, sizeof(tok), "tok%zu", i + 1);

        pages[i] = t_int_page((int64_t) first + 1, n,
                              i + 1 < npages ? tok : NULL,
                              use_total ? (int64_t) total : -1);

        rc = t_page(pages[i]);
        ck_assert_int_eq(rc, SPECTRA_RESULT_OK);

        if (!pg.more) {
            break;
        }

        ck_assert_str_eq((char *) pg.next_token.data, tok);
        ck_assert_uint_eq(pg.next_token.len, strlen(tok));
    }

    ck_assert_str_eq(t_text(), expect);
    ck_assert_int_eq(res.truncated, truncated);
    ck_assert_int_eq(pg.more, 0);
    t_valid_json();
}


START_TEST(test_trunc_below)
{
    /* limit 4: 3 rows come back */
    t_truncation(3, 4, 0, "[1],[2],[3]", 0);
}
END_TEST


START_TEST(test_trunc_exact)
{
    t_truncation(4, 4, 0, "[1],[2],[3],[4]", 0);
}
END_TEST


START_TEST(test_trunc_over)
{
    /* the fifth row is on the third page: all three are read */
    t_truncation(5, 4, 0, "[1],[2],[3],[4]", 1);
    ck_assert_uint_eq(res.seen, 5);
}
END_TEST


START_TEST(test_trunc_over_odd_limit)
{
    /* limit 3 ends inside page 2, whose second row is the extra one */
    t_truncation(4, 3, 0, "[1],[2],[3]", 1);
    ck_assert_uint_eq(res.seen, 4);
}
END_TEST


START_TEST(test_trunc_exact_odd_limit)
{
    t_truncation(3, 3, 0, "[1],[2],[3]", 0);
}
END_TEST


START_TEST(test_trunc_total_rows)
{
    /* TotalNumRows says 5 > 4: no need to fetch the third page */
    t_truncation(5, 4, 1, "[1],[2],[3],[4]", 1);
    ck_assert_uint_eq(res.seen, 4);
}
END_TEST


START_TEST(test_trunc_total_exact)
{
    /* TotalNumRows 4 with a NextToken left: all rows seen, stop */
    const char  *page = t_int_page(1, 4, "more", 4);

    spectra_result_init(&res, SPECTRA_RESULT_ARRAYS, 4, 0, &tpool);
    ck_assert_int_eq(t_page(page), SPECTRA_RESULT_OK);
    ck_assert_int_eq(pg.more, 0);
    ck_assert_int_eq(res.truncated, 0);
    ck_assert_str_eq(t_text(), "[1],[2],[3],[4]");
}
END_TEST


START_TEST(test_trunc_total_below_limit_continues)
{
    /* TotalNumRows above the limit, but fewer rows than the limit so far */
    const char  *pages[2];

    pages[0] = t_int_page(1, 2, "t2", 5);

    spectra_result_init(&res, SPECTRA_RESULT_ARRAYS, 4, 0, &tpool);
    ck_assert_int_eq(t_page(pages[0]), SPECTRA_RESULT_OK);
    ck_assert_int_eq(pg.more, 1);
    ck_assert_int_eq(res.truncated, 0);

    pages[1] = t_int_page(3, 3, NULL, 5);
    ck_assert_int_eq(t_page(pages[1]), SPECTRA_RESULT_OK);
    ck_assert_int_eq(pg.more, 0);
    ck_assert_int_eq(res.truncated, 1);
    ck_assert_str_eq(t_text(), "[1],[2],[3],[4]");
}
END_TEST


START_TEST(test_trunc_empty_last_page)
{
    /* limit reached at a page end; the next page is empty: not truncated */
    spectra_result_init(&res, SPECTRA_RESULT_ARRAYS, 2, 0, &tpool);
    ck_assert_int_eq(t_page(t_int_page(1, 2, "t2", -1)), SPECTRA_RESULT_OK);
    ck_assert_int_eq(pg.more, 1);
    ck_assert_int_eq(t_page(t_int_page(3, 0, NULL, -1)), SPECTRA_RESULT_OK);
    ck_assert_int_eq(pg.more, 0);
    ck_assert_int_eq(res.truncated, 0);
    ck_assert_str_eq(t_text(), "[1],[2]");
}
END_TEST


START_TEST(test_trunc_zero_limit)
{
    spectra_result_init(&res, SPECTRA_RESULT_OBJECTS, 0, 0, &tpool);
    ck_assert_int_eq(t_page(t_int_page(1, 1, NULL, -1)), SPECTRA_RESULT_OK);
    ck_assert_int_eq(res.truncated, 1);
    ck_assert_uint_eq(res.rows, 0);
    ck_assert_str_eq(t_text(), "");
}
END_TEST


START_TEST(test_trunc_objects_pages)
{
    /* commas between pages in objects format */
    spectra_result_init(&res, SPECTRA_RESULT_OBJECTS, 3, 0, &tpool);
    ck_assert_int_eq(t_page(t_int_page(1, 2, "x", -1)), SPECTRA_RESULT_OK);
    ck_assert_int_eq(t_page(t_int_page(3, 2, NULL, -1)), SPECTRA_RESULT_OK);
    ck_assert_str_eq(t_text(), "{\"n\":1},{\"n\":2},{\"n\":3}");
    ck_assert_int_eq(res.truncated, 1);

    /*
     * page 2 fits in what page 1's upper bound left over; written ahead,
     * page 1's sizes are exact, and nothing is left over
     */
    ck_assert_uint_eq(sink->n, t_ahead ? 2 : 1);
    t_valid_json();
}
END_TEST


START_TEST(test_duplicate_names)
{
    const char  *page =
        "{\"ColumnMetadata\":["
        "{\"name\":\"a\",\"typeName\":\"int4\"},"
        "{\"name\":\"a\",\"typeName\":\"int4\"},"
        "{\"name\":\"a_2\",\"typeName\":\"int4\"},"
        "{\"name\":\"a\",\"typeName\":\"int4\"},"
        "{\"name\":\"?column?\",\"typeName\":\"int4\"},"
        "{\"name\":\"?column?\",\"typeName\":\"int4\"}],"
        "\"Records\":[[{\"longValue\":1},{\"longValue\":2},"
        "{\"longValue\":3},{\"longValue\":4},{\"longValue\":5},"
        "{\"longValue\":6}]]}";

    ck_assert_int_eq(t_pages(SPECTRA_RESULT_OBJECTS, 10, 0, &page, 1),
                     SPECTRA_RESULT_OK);
    ck_assert_str_eq(t_text(),
        "{\"a\":1,\"a_3\":2,\"a_2\":3,\"a_4\":4,\"?column?\":5,"
        "\"?column?_2\":6}");
    t_valid_json();

    ck_assert_str_eq(t_columns(),
        "[{\"name\":\"a\",\"type\":\"integer\"},"
        "{\"name\":\"a_3\",\"type\":\"integer\"},"
        "{\"name\":\"a_2\",\"type\":\"integer\"},"
        "{\"name\":\"a_4\",\"type\":\"integer\"},"
        "{\"name\":\"?column?\",\"type\":\"integer\"},"
        "{\"name\":\"?column?_2\",\"type\":\"integer\"}]");
}
END_TEST


START_TEST(test_duplicate_names_arrays)
{
    const char  *page =
        "{\"ColumnMetadata\":["
        "{\"name\":\"a\",\"typeName\":\"int4\"},"
        "{\"name\":\"a\",\"typeName\":\"int4\"}],"
        "\"Records\":[[{\"longValue\":1},{\"longValue\":2}]]}";

    ck_assert_int_eq(t_pages(SPECTRA_RESULT_ARRAYS, 10, 0, &page, 1),
                     SPECTRA_RESULT_OK);
    ck_assert_str_eq(t_text(), "[1,2]");
    ck_assert_str_eq(t_columns(),
        "[{\"name\":\"a\",\"type\":\"integer\"},"
        "{\"name\":\"a_2\",\"type\":\"integer\"}]");
}
END_TEST


START_TEST(test_label_and_escaped_names)
{
    const char  *page =
        "{\"ColumnMetadata\":["
        "{\"name\":\"region\",\"label\":\"r\",\"typeName\":\"varchar\"},"
        "{\"name\":\"q\\\"uote\\n\",\"label\":\"\",\"typeName\":\"text\"},"
        "{\"typeName\":\"GEOMETRY\"},"
        "{\"name\":\"nt\"}],"
        "\"Records\":[[{\"stringValue\":\"x\"},{\"stringValue\":\"y\"},"
        "{\"stringValue\":\"0101\"},{\"isNull\":true}]]}";

    ck_assert_int_eq(t_pages(SPECTRA_RESULT_OBJECTS, 10, 0, &page, 1),
                     SPECTRA_RESULT_OK);
    ck_assert_str_eq(t_text(),
        "{\"r\":\"x\",\"q\\\"uote\\n\":\"y\",\"\":\"0101\",\"nt\":null}");
    t_valid_json();
    ck_assert_str_eq(t_columns(),
        "[{\"name\":\"r\",\"type\":\"varchar\"},"
        "{\"name\":\"q\\\"uote\\n\",\"type\":\"text\"},"
        "{\"name\":\"\",\"type\":\"geometry\"},"
        "{\"name\":\"nt\",\"type\":\"unknown\"}]");
}
END_TEST


START_TEST(test_empty_result)
{
    const char  *page =
        "{\"ColumnMetadata\":[{\"name\":\"n\",\"typeName\":\"int8\"}],"
        "\"Records\":[],\"TotalNumRows\":0}";

    ck_assert_int_eq(t_pages(SPECTRA_RESULT_OBJECTS, 10, 0, &page, 1),
                     SPECTRA_RESULT_OK);
    ck_assert_str_eq(t_text(), "");
    ck_assert_uint_eq(res.rows, 0);
    ck_assert_int_eq(res.truncated, 0);
    ck_assert_int_eq(pg.more, 0);
    ck_assert_uint_eq(sink->n, 0);
    ck_assert_str_eq(t_columns(), "[{\"name\":\"n\",\"type\":\"bigint\"}]");
}
END_TEST


START_TEST(test_zero_columns)
{
    const char  *page = "{\"ColumnMetadata\":[],\"Records\":[[],[]]}";

    ck_assert_int_eq(t_pages(SPECTRA_RESULT_OBJECTS, 10, 0, &page, 1),
                     SPECTRA_RESULT_OK);
    ck_assert_str_eq(t_text(), "{},{}");
    ck_assert_str_eq(t_columns(), "[]");
}
END_TEST


START_TEST(test_metadata_repeated_on_later_pages)
{
    const char  *pages[2];

    pages[0] = t_int_page(1, 1, "a", -1);
    pages[1] = t_int_page(2, 1, NULL, -1);

    ck_assert_int_eq(t_pages(SPECTRA_RESULT_ARRAYS, 10, 0, pages, 2),
                     SPECTRA_RESULT_OK);
    ck_assert_str_eq(t_text(), "[1],[2]");
}
END_TEST


START_TEST(test_later_page_without_metadata)
{
    const char  *pages[2];

    pages[0] = t_int_page(1, 1, "a", -1);
    pages[1] = "{\"Records\":[[{\"longValue\":2}]]}";

    ck_assert_int_eq(t_pages(SPECTRA_RESULT_ARRAYS, 10, 0, pages, 2),
                     SPECTRA_RESULT_OK);
    ck_assert_str_eq(t_text(), "[1],[2]");
}
END_TEST


/* malformed pages: each is an error and writes nothing */

static const char  *t_malformed[][2] = {
    { "", "result page is not valid JSON" },
    { "{\"Records\":[]", "result page is not valid JSON" },
    { "[]", "result page is not a JSON object" },
    { "{\"ColumnMetadata\":[]}", "result page has no Records array" },
    { "{\"ColumnMetadata\":[],\"Records\":{}}",
      "result page has no Records array" },
    { "{\"Records\":[]}", "first result page has no ColumnMetadata" },
    { "{\"ColumnMetadata\":{},\"Records\":[]}",
      "ColumnMetadata is not an array" },
    { "{\"ColumnMetadata\":[1],\"Records\":[]}",
      "ColumnMetadata[0] is not an object" },
    { "{\"ColumnMetadata\":[{\"name\":\"a\"}],\"Records\":[[]]}",
      "Records[0] is not an array of 1 fields" },
    { "{\"ColumnMetadata\":[{\"name\":\"a\"}],\"Records\":[{}]}",
      "Records[0] is not an array of 1 fields" },
    { "{\"ColumnMetadata\":[{\"name\":\"a\"}],"
      "\"Records\":[[{\"longValue\":1}],"
      "[{\"longValue\":1},{\"isNull\":true}]]}",
      "Records[1] is not an array of 1 fields" },
    { "{\"ColumnMetadata\":[{\"name\":\"a\"}],\"Records\":[[1]]}",
      "Records[0][0] is not a valid Field" },
    { "{\"ColumnMetadata\":[{\"name\":\"a\"}],\"Records\":[[{}]]}",
      "Records[0][0] is not a valid Field" },
    { "{\"ColumnMetadata\":[{\"name\":\"a\"}],"
      "\"Records\":[[{\"longValue\":1,\"isNull\":true}]]}",
      "Records[0][0] is not a valid Field" },
    { "{\"ColumnMetadata\":[{\"name\":\"a\"}],"
      "\"Records\":[[{\"isNull\":false}]]}",
      "Records[0][0] is not a valid Field" },
    { "{\"ColumnMetadata\":[{\"name\":\"a\"}],"
      "\"Records\":[[{\"arrayValue\":[]}]]}",
      "Records[0][0] is not a valid Field" },
    { "{\"ColumnMetadata\":[{\"name\":\"a\"}],"
      "\"Records\":[[{\"longValue\":\"1\"}]]}",
      "Records[0][0] is not a valid Field" },
    { "{\"ColumnMetadata\":[{\"name\":\"a\"}],"
      "\"Records\":[[{\"longValue\":1.5}]]}",
      "Records[0][0] is not a valid Field" },
    { "{\"ColumnMetadata\":[{\"name\":\"a\"}],"
      "\"Records\":[[{\"stringValue\":null}]]}",
      "Records[0][0] is not a valid Field" },
    { "{\"ColumnMetadata\":[{\"name\":\"a\"}],"
      "\"Records\":[[{\"booleanValue\":1}]]}",
      "Records[0][0] is not a valid Field" },
    { "{\"ColumnMetadata\":[],\"Records\":[],\"TotalNumRows\":-1}",
      "TotalNumRows is not a non-negative integer" },
    { "{\"ColumnMetadata\":[],\"Records\":[],\"TotalNumRows\":\"1\"}",
      "TotalNumRows is not a non-negative integer" },
    { "{\"ColumnMetadata\":[],\"Records\":[],\"NextToken\":5}",
      "NextToken is not a string" },
    { "{\"ColumnMetadata\":[],\"Records\":[],\"Records\":[]}",
      "result page has two Records members" },
    { "{\"ColumnMetadata\":[],\"ColumnMetadata\":[],\"Records\":[]}",
      "result page has two ColumnMetadata members" },
    { "{\"ColumnMetadata\":[],\"Records\":[1,]}",
      "result page is not valid JSON: expected a value at byte 34" },
    { "{\"ColumnMetadata\":[],\"Records\":[01]}",
      "result page is not valid JSON: expected ',' or ']' at byte 33" },
    { "{\"ColumnMetadata\":[],\"Records\":[],\"x\":\"ab",
      "result page is not valid JSON: unterminated string at byte 41" },
    { "{\"ColumnMetadata\":[],\"Records\":[],\"x\":\"\\x\"}",
      "result page is not valid JSON: bad escape at byte 39" },
    { "{\"ColumnMetadata\":[],\"Records\":[],\"x\":\"\\u12G4\"}",
      "result page is not valid JSON: bad \\u escape at byte 39" },
    { "{\"ColumnMetadata\":[],\"Records\":[],\"x\":\"a\tb\"}",
      "result page is not valid JSON: control character in a string at "
      "byte 40" },
    { "{\"ColumnMetadata\":[],\"Records\":[],\"x\":tru}",
      "result page is not valid JSON: unexpected character at byte 38" },
    { "{\"ColumnMetadata\":[],\"Records\":[],\"x\":NaN}",
      "result page is not valid JSON: expected a value at byte 38" },
    { "{\"ColumnMetadata\":[],\"Records\":[],\"x\":-}",
      "result page is not valid JSON: bad number at byte 39" },
    { "{\"ColumnMetadata\":[],\"Records\":[],\"x\":1.}",
      "result page is not valid JSON: bad number at byte 40" },
    { "{\"ColumnMetadata\":[],\"Records\":[],\"x\":1e}",
      "result page is not valid JSON: bad number at byte 40" },
    { "{\"ColumnMetadata\":[],\"Records\":[],}",
      "result page is not valid JSON: expected a string at byte 34" },
    { "{\"ColumnMetadata\":[],\"Records\":[] \"x\":1}",
      "result page is not valid JSON: expected ',' or '}' at byte 34" },
    { "{\"ColumnMetadata\":[],\"Records\":[],\"x\" 1}",
      "result page is not valid JSON: expected ':' at byte 38" },
    { "{\"ColumnMetadata\":[],\"Records\":[],\"x\":{\"a\":}}",
      "result page is not valid JSON: expected a value at byte 43" },
    { "{\"ColumnMetadata\":[],\"Records\":[],\"x\":{1:2}}",
      "result page is not valid JSON: expected a string at byte 39" },
    { "{}", "result page has no Records array" },
    { " \n\t", "result page is not valid JSON: expected '{' at byte 3" },
    { "\"x\"", "result page is not a JSON object" },
    { "{\"ColumnMetadata\":[{\"name\":1}],\"Records\":[]}",
      "ColumnMetadata[0].name is not one string" },
    { "{\"ColumnMetadata\":[{\"name\":\"a\",\"name\":\"b\"}],"
      "\"Records\":[]}",
      "ColumnMetadata[0].name is not one string" },
    { "{\"ColumnMetadata\":[{\"name\":\"a\"}],"
      "\"Records\":[[{\"doubleValue\":1e999}]]}",
      "Records[0][0] is not a valid Field" },
    { "{\"ColumnMetadata\":[{\"name\":\"a\"}],"
      "\"Records\":[[{\"doubleValue\":\"1.5\"}]]}",
      "Records[0][0] is not a valid Field" },
    { "{\"ColumnMetadata\":[{\"name\":\"a\"}],"
      "\"Records\":[[{\"doubleValue\":true}]]}",
      "Records[0][0] is not a valid Field" },
    { "{\"ColumnMetadata\":[{\"name\":\"a\"}],"
      "\"Records\":[[{\"isNull\":true,}]]}",
      "result page is not valid JSON: expected a string" },
    { "{\"ColumnMetadata\":[],\"Records\":[]} x",
      "result page is not valid JSON" }
};


START_TEST(test_malformed)
{
    const char  *page = t_malformed[_i][0];

    ck_assert_int_eq(t_pages(SPECTRA_RESULT_ARRAYS, 10, 0, &page, 1),
                     SPECTRA_RESULT_ERROR);
    ck_assert_msg(strncmp(err.message, t_malformed[_i][1],
                          strlen(t_malformed[_i][1])) == 0,
                  "case %d: got \"%s\"", _i, err.message);
    ck_assert_str_eq(t_text(), "");
    ck_assert_uint_eq(res.rows, 0);
}
END_TEST


START_TEST(test_nesting_limit)
{
    char         buf[1024];
    const char  *page = buf;
    int          i, n;

    n = sprintf(buf, "{\"ColumnMetadata\":[],\"Records\":[],\"x\":");

    for (i = 0; i < 100; i++) {
        buf[n++] = '[';
    }

    for (i = 0; i < 100; i++) {
        buf[n++] = ']';
    }

    buf[n++] = '}';
    buf[n] = '\0';

    ck_assert_int_eq(t_pages(SPECTRA_RESULT_ARRAYS, 10, 0, &page, 1),
                     SPECTRA_RESULT_ERROR);
    ck_assert_str_eq(err.message,
                     "result page is not valid JSON: nesting too deep "
                     "at byte 102");
}
END_TEST


/* whitespace anywhere, members in any order, unknown ones skipped */

START_TEST(test_layout)
{
    const char  *page =
        " {\n \"TotalNumRows\" : 1 ,\t\"Other\" : {\"a\" : [1, {\"b\": null}],"
        " \"c\": \"}\"} ,\r\n \"\\u0052ecords\" : [ [ { \"longValue\" : 5 } ,"
        " { \"stringValue\" : \"s\" } ] ] , \"ColumnMetadata\" : [ {"
        " \"isSigned\": true, \"name\" : \"a\", \"precision\": 19,"
        " \"typeName\" : \"int8\" }, { \"label\": \"b\", \"name\": null,"
        " \"typeName\": null } ] } \n";

    ck_assert_int_eq(t_pages(SPECTRA_RESULT_OBJECTS, 10, 0, &page, 1),
                     SPECTRA_RESULT_OK);
    ck_assert_str_eq(t_text(), "{\"a\":5,\"b\":\"s\"}");
    ck_assert_int_eq(pg.total_rows, 1);
    ck_assert_str_eq(t_columns(),
        "[{\"name\":\"a\",\"type\":\"bigint\"},"
        "{\"name\":\"b\",\"type\":\"unknown\"}]");
}
END_TEST


START_TEST(test_escaped_names_and_token)
{
    const char  *page =
        "{\"ColumnMetadata\":[{\"name\":\"caf\\u00e9\\n\","
        "\"typeName\":\"\\u0069nt4\"}],"
        "\"Records\":[[{\"longValue\":1}]],\"NextToken\":\"a\\/b\"}";

    ck_assert_int_eq(t_pages(SPECTRA_RESULT_OBJECTS, 10, 0, &page, 1),
                     SPECTRA_RESULT_OK);
    ck_assert_str_eq(t_text(), "{\"caf\xc3\xa9\\n\":1}");
    ck_assert_str_eq((char *) pg.next_token.data, "a/b");
    ck_assert_uint_eq(pg.next_token.len, 3);
    ck_assert_str_eq(t_columns(),
        "[{\"name\":\"caf\xc3\xa9\\n\",\"type\":\"integer\"}]");
}
END_TEST


START_TEST(test_blob_escaped_slash)
{
    ck_assert_str_eq(t_one("varbyte", "{\"blobValue\":\"ab\\/+\"}", 0),
                     "[\"ab/+\"]");
}
END_TEST


START_TEST(test_malformed_is_atomic)
{
    /* page 2 has a good row, then a bad one: none of page 2 is written */
    const char  *pages[2];

    pages[0] = t_int_page(1, 2, "p2", -1);
    pages[1] = "{\"Records\":[[{\"longValue\":3}],[{\"longValue\":true}]]}";

    spectra_result_init(&res, SPECTRA_RESULT_ARRAYS, 10, 0, &tpool);
    ck_assert_int_eq(t_page(pages[0]), SPECTRA_RESULT_OK);
    ck_assert_int_eq(t_page(pages[1]), SPECTRA_RESULT_ERROR);
    ck_assert_str_eq(err.message, "Records[1][0] is not a valid Field");
    ck_assert_str_eq(t_text(), "[1],[2]");
    ck_assert_uint_eq(res.rows, 2);
}
END_TEST


START_TEST(test_column_count_changes)
{
    const char  *pages[2];

    pages[0] = t_int_page(1, 1, "p2", -1);
    pages[1] = "{\"ColumnMetadata\":[{\"name\":\"a\"},{\"name\":\"b\"}],"
               "\"Records\":[]}";

    ck_assert_int_eq(t_pages(SPECTRA_RESULT_ARRAYS, 10, 0, pages, 2),
                     SPECTRA_RESULT_ERROR);
    ck_assert_str_eq(err.message,
                     "ColumnMetadata differs from the first page's");
}
END_TEST


START_TEST(test_rows_beyond_limit_not_checked)
{
    /* rows past the cap only count; a bad one there is no error */
    const char  *page =
        "{\"ColumnMetadata\":[{\"name\":\"a\",\"typeName\":\"int4\"}],"
        "\"Records\":[[{\"longValue\":1}],[{\"bogus\":1}]]}";

    ck_assert_int_eq(t_pages(SPECTRA_RESULT_ARRAYS, 1, 0, &page, 1),
                     SPECTRA_RESULT_OK);
    ck_assert_str_eq(t_text(), "[1]");
    ck_assert_int_eq(res.truncated, 1);
}
END_TEST


START_TEST(test_grow_failure)
{
    const char  *page = t_int_page(1, 3, NULL, -1);

    sink->fail = 1;
    ck_assert_int_eq(t_pages(SPECTRA_RESULT_ARRAYS, 10, 0, &page, 1),
                     SPECTRA_RESULT_NOMEM);
    ck_assert_uint_eq(res.rows, 0);
}
END_TEST


START_TEST(test_alloc_failure)
{
    const char  *page = t_int_page(1, 3, "tok", -1);
    int          i;

    /* fail the first, second, ... allocation in turn */
    for (i = 0; i < 4; i++) {
        pool.fail = i;
        ck_assert_int_eq(t_pages(SPECTRA_RESULT_OBJECTS, 10, 0, &page, 1),
                         SPECTRA_RESULT_NOMEM);
    }

    pool.fail = -1;
    ck_assert_int_eq(t_pages(SPECTRA_RESULT_OBJECTS, 10, 0, &page, 1),
                     SPECTRA_RESULT_OK);
}
END_TEST


START_TEST(test_caller_block_used_first)
{
    /* a block with room is filled before grow is called */
    u_char       mem[64];
    const char  *page = t_int_page(7, 2, NULL, -1);

    out.pos = mem;
    out.end = mem + sizeof(mem);

    ck_assert_int_eq(t_pages(SPECTRA_RESULT_ARRAYS, 10, 0, &page, 1),
                     SPECTRA_RESULT_OK);
    ck_assert_uint_eq(sink->n, 0);
    *out.pos = '\0';
    ck_assert_str_eq((char *) mem, "[7],[8]");
}
END_TEST


START_TEST(test_page_info)
{
    const char  *p;

    p = "{\"Records\":[[],[],[]],\"NextToken\":\"abc==\","
        "\"TotalNumRows\":1234567890123}";
    ck_assert_int_eq(spectra_result_page_info((const u_char *) p, strlen(p),
                                              &pg, &tpool, &err),
                     SPECTRA_RESULT_OK);
    ck_assert_str_eq((char *) pg.next_token.data, "abc==");
    ck_assert_uint_eq(pg.next_token.len, 5);
    ck_assert_int_eq(pg.total_rows, 1234567890123LL);
    ck_assert_uint_eq(pg.records, 3);
    ck_assert_int_eq(pg.more, 1);

    p = "{\"Records\":[],\"NextToken\":\"\"}";
    ck_assert_int_eq(spectra_result_page_info((const u_char *) p, strlen(p),
                                              &pg, &tpool, &err),
                     SPECTRA_RESULT_OK);
    ck_assert_ptr_null(pg.next_token.data);
    ck_assert_int_eq(pg.total_rows, -1);
    ck_assert_int_eq(pg.more, 0);

    p = "{\"Records\":[],\"NextToken\":null}";
    ck_assert_int_eq(spectra_result_page_info((const u_char *) p, strlen(p),
                                              &pg, &tpool, &err),
                     SPECTRA_RESULT_OK);
    ck_assert_ptr_null(pg.next_token.data);

    p = "{\"NextToken\":\"x\"}";
    ck_assert_int_eq(spectra_result_page_info((const u_char *) p, strlen(p),
                                              &pg, &tpool, &err),
                     SPECTRA_RESULT_ERROR);
    ck_assert_str_eq(err.message, "result page has no Records array");

    p = "{\"Records\":[], \"NextToken\":\"x\"";
    ck_assert_int_eq(spectra_result_page_info((const u_char *) p, strlen(p),
                                              &pg, &tpool, &err),
                     SPECTRA_RESULT_ERROR);
    ck_assert_uint_eq(err.position, strlen(p));
}
END_TEST


static const char  *t_types[][2] = {
    { "int2", "smallint" }, { "int4", "integer" }, { "INT8", "bigint" },
    { "float4", "real" }, { "float8", "double precision" },
    { "numeric", "numeric" }, { "decimal", "numeric" },
    { "bool", "boolean" }, { "varchar", "varchar" },
    { "character varying", "varchar" }, { "bpchar", "char" },
    { "text", "text" }, { "date", "date" }, { "time", "time" },
    { "timetz", "timetz" }, { "timestamp", "timestamp" },
    { "timestamptz", "timestamptz" }, { "interval", "interval" },
    { "varbyte", "varbyte" }, { "bytea", "bytea" }, { "super", "super" },
    { "json", "json" }, { "jsonb", "jsonb" }, { "uuid", "uuid" }
};


START_TEST(test_type_names)
{
    ck_assert_str_eq(spectra_result_type_name(
                         (const u_char *) t_types[_i][0],
                         strlen(t_types[_i][0])),
                     t_types[_i][1]);
}
END_TEST


START_TEST(test_type_names_unknown)
{
    ck_assert_ptr_null(spectra_result_type_name((const u_char *) "int", 2));
    ck_assert_ptr_null(spectra_result_type_name((const u_char *) "int44",
                                                5));
    ck_assert_ptr_null(spectra_result_type_name((const u_char *) "", 0));
    ck_assert_ptr_null(spectra_result_type_name((const u_char *) "geometry",
                                                8));
}
END_TEST


/*
 * The encoder's doubles against the plain algorithm it must match: the
 * shortest "%.Ng" that reads back, "%.15g" when that has fewer than 15
 * digits and reads back (what the encoder did before its fast paths).
 */

static void
t_ref_double(char *buf, size_t size, double v)
{
    int          prec, n, zeros, lead;
    const char  *s;

    if (isnan(v) || isinf(v)) {
        snprintf(buf, size, "\"%s\"", isnan(v) ? "NaN"
                                      : (v > 0 ? "Infinity" : "-Infinity"));
        return;
    }

    if (!(fabs(v) < DBL_MIN && v != 0)) {
        snprintf(buf, size, "%.15g", v);

        if (strtod(buf, NULL) == v) {
            n = 0;
            zeros = 0;
            lead = 1;

            for (s = buf; *s != '\0' && *s != 'e'; s++) {
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

            if (n < 15) {
                return;
            }
        }
    }

    for (prec = 1; prec <= 17; prec++) {
        snprintf(buf, size, "%.*g", prec, v);

        if (prec == 17 || strtod(buf, NULL) == v) {
            break;
        }
    }
}


/* one doubleValue number text: its output, or an error when it is inf */

static void
t_double_text(const char *text)
{
    char    field[160], page[512], want[64];
    double  v;
    int     rc;

    v = strtod(text, NULL);

    t_teardown();
    t_setup();

    if (isinf(v)) {
        snprintf(page, sizeof(page),
                 "{\"ColumnMetadata\":[{\"name\":\"v\",\"typeName\":"
                 "\"float8\"}],\"Records\":[[{\"doubleValue\":%s}]]}", text);
        spectra_result_init(&res, SPECTRA_RESULT_ARRAYS, 10, 0, &tpool);
        rc = t_page(page);
        ck_assert_msg(rc == SPECTRA_RESULT_ERROR, "%s: not rejected", text);
        ck_assert_str_eq(t_text(), "");
        return;
    }

    want[0] = '[';
    t_ref_double(want + 1, sizeof(want) - 2, v);
    strcat(want, "]");

    snprintf(field, sizeof(field), "{\"doubleValue\":%s}", text);
    ck_assert_msg(strcmp(t_one("float8", field, 0), want) == 0,
                  "%s: got %s, want %s", text, t_text(), want);
}


static const char  *t_double_shapes[] = {
    "0", "-0", "0.0", "-0.0", "0e5", "-0E-5", "0.000e999999999999",
    "1", "-1", "0.1", "-0.1", "0.5", "1e300", "-1e300", "1E+300",
    "5e-324", "4.9406564584124654e-324", "2.4703282292062328e-324",
    "2.2250738585072014e-308", "2.2250738585072011e-308",
    "2.225073858507201e-308", "1e-307", "9.99999999999999e-308",
    "1e-308", "1e-400", "-1e-400",
    "1e308", "1.7976931348623157e308", "1.7976931348623158e308",
    "1.797693134862315807e308", "1.7976931348623159e308",
    "1.79769313486232e308", "9.99999999999999e307", "1e309",
    "99999999999999999999e289", "0.00000000000000000000001e331",
    "9007199254740992", "9007199254740993", "9007199254740993.0",
    "18446744073709551616", "-9223372036854775808",
    "123456789012345678901234567890",
    "0.30000000000000004", "0.29999999999999999", "0.28999999999999998",
    "0.10000000000000001", "0.1000000000000000055511151231257827",
    "123456789012345", "1234567890123456", "12345678901234567",
    "999999999999999", "9999999999999999", "99999999999999999",
    "999999999999999.5", "0.000123456789012345", "1.5e-5", "1.5e-4",
    "0.0001", "0.00001", "1e14", "1e15", "1e16", "123456789012345e1",
    "100000000000000000000", "1e21", "1e22", "1e23", "8.41e21",
    "5e-310", "1.23e-320", "1.00000000000000000000000000001",
    "0.99999999999999999999", "4.35", "2.675", "1.0000000000000002",
    "1.0000000000000001", "72057594037927945", "1e-5", "3.14159265358979",
    "3.141592653589793", "3.1415926535897932384626433832795028841971"
};


START_TEST(test_double_shapes)
{
    t_double_text(t_double_shapes[_i]);
}
END_TEST


/* Random decimal texts of 1 to 20 digits in every layout JSON allows. */

START_TEST(test_double_random_texts)
{
    int       k, n, i, e, layout, point;
    char      text[96], digits[24];
    size_t    len;
    uint64_t  x;

    x = 0x2545f4914f6cdd1dULL;

    for (k = 0; k < 4000; k++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;

        n = 1 + (int) (x % 20);
        digits[0] = (char) ('1' + (x >> 8) % 9);

        for (i = 1; i < n; i++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;

            /* runs of 9s and 0s make rounding carry */
            digits[i] = (x % 4 == 0) ? '9' : (x % 4 == 1) ? '0'
                        : (char) ('0' + (x >> 5) % 10);
        }

        digits[n] = '\0';
        layout = (int) ((x >> 20) % 4);
        e = (int) ((x >> 24) % 660) - 330;
        len = 0;

        if ((x >> 40) & 1) {
            text[len++] = '-';
        }

        switch (layout) {
        case 0:
            /* ddd.ddd */
            point = 1 + (int) ((x >> 32) % (uint64_t) n);
            memcpy(text + len, digits, (size_t) point);
            len += (size_t) point;

            if (point < n) {
                text[len++] = '.';
                memcpy(text + len, digits + point, (size_t) (n - point));
                len += (size_t) (n - point);
            }

            text[len] = '\0';
            break;

        case 1:
            /* 0.000ddd */
            memcpy(text + len, "0.", 2);
            len += 2;

            for (i = 0; i < (int) ((x >> 32) % 8); i++) {
                text[len++] = '0';
            }

            memcpy(text + len, digits, (size_t) n + 1);
            break;

        case 2:
            /* d.ddde±N */
            text[len++] = digits[0];

            if (n > 1) {
                text[len++] = '.';
                memcpy(text + len, digits + 1, (size_t) n - 1);
                len += (size_t) n - 1;
            }

            snprintf(text + len, sizeof(text) - len,
                     ((x >> 44) & 1) ? "E%+d" : "e%d", e);
            break;

        default:
            /* ddd000e-N, trailing zeros */
            snprintf(text + len, sizeof(text) - len, "%s000e%d", digits,
                     e / 10);
        }

        t_double_text(text);
    }
}
END_TEST


/*
 * Strings of every length around the 8-byte scan steps, with an escape,
 * a UTF-8 sequence, an invalid byte or 0x7f at every position.
 */

static const char  *t_inserts[][2] = {
    { "\\n", "\\n" },
    { "\\\"", "\\\"" },
    { "\\\\", "\\\\" },
    { "\\/", "/" },
    { "\\u00e9", "\xc3\xa9" },
    { "\\u0001", "\\u0001" },
    { "\\ud83d\\ude00", "\xf0\x9f\x98\x80" },
    { "\\udc00", "\xef\xbf\xbd" },
    { "\xc3\xa9", "\xc3\xa9" },
    { "\xe2\x82\xac", "\xe2\x82\xac" },
    { "\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80" },
    { "\x7f", "\\u007f" },
    { "\xff", "\xef\xbf\xbd" },
    { "\xc3", "\xef\xbf\xbd" },
    { "\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" },
    { "<", "<" }
};


START_TEST(test_string_every_position)
{
    int     len, pos;
    char    body[128], field[192], want[192];
    size_t  n;

    for (len = 0; len <= 40; len++) {
        for (pos = 0; pos <= len; pos++) {
            n = 0;
            memset(body, 'a', (size_t) pos);
            n += (size_t) pos;
            strcpy(body + n, t_inserts[_i][0]);
            n += strlen(t_inserts[_i][0]);
            memset(body + n, 'z', (size_t) (len - pos));
            body[n + (size_t) (len - pos)] = '\0';

            n = 0;
            want[n++] = '[';
            want[n++] = '"';
            memset(want + n, 'a', (size_t) pos);
            n += (size_t) pos;
            strcpy(want + n, t_inserts[_i][1]);
            n += strlen(t_inserts[_i][1]);
            memset(want + n, 'z', (size_t) (len - pos));
            n += (size_t) (len - pos);
            memcpy(want + n, "\"]", 3);

            snprintf(field, sizeof(field), "{\"stringValue\":\"%s\"}", body);

            t_teardown();
            t_setup();

            ck_assert_msg(strcmp(t_one("varchar", field, 0), want) == 0,
                          "%s: got %s", body, t_text());
            t_valid_json();
        }
    }
}
END_TEST


/* A control byte or an unterminated body at any position is an error. */

START_TEST(test_string_bad_every_position)
{
    int     len, pos;
    char    page[256];
    size_t  n;

    for (len = 1; len <= 40; len++) {
        for (pos = 0; pos < len; pos++) {
            n = (size_t) snprintf(page, sizeof(page),
                                  "{\"ColumnMetadata\":[{\"name\":\"v\","
                                  "\"typeName\":\"text\"}],\"Records\":"
                                  "[[{\"stringValue\":\"");
            memset(page + n, 'a', (size_t) len);
            page[n + (size_t) pos] = (pos % 2) ? '\x1f' : '\n';
            strcpy(page + n + (size_t) len, "\"}]]}");

            t_teardown();
            t_setup();
            spectra_result_init(&res, SPECTRA_RESULT_ARRAYS, 10, 0, &tpool);

            ck_assert_int_eq(t_page(page), SPECTRA_RESULT_ERROR);
            ck_assert_uint_eq(err.position, n + (size_t) pos);
            ck_assert_str_eq(t_text(), "");

            /* cut inside the string */
            page[n + (size_t) pos] = 'a';
            page[n + (size_t) pos + 1] = '\0';

            t_teardown();
            t_setup();
            spectra_result_init(&res, SPECTRA_RESULT_ARRAYS, 10, 0, &tpool);

            ck_assert_int_eq(t_page(page), SPECTRA_RESULT_ERROR);
            ck_assert_str_eq(t_text(), "");
        }
    }
}
END_TEST


/* longValue text is copied, but "-0" is 0; Field names with escapes. */

static const char  *t_field_forms[][3] = {
    { "int8", "{\"longValue\":-0}", "[0]" },
    { "int8", "{\"longValue\":-12}", "[-12]" },
    { "int8", "{ \"longValue\" : 7 }", "[7]" },
    { "int8", "{\"long\\u0056alue\":8}", "[8]" },
    { "text", "{\"isNul\\u006c\":true}", "[null]" },
    { "float8", "{\"doubleValue\":\n0.5}", "[0.5]" },
    { "bool", "{\"booleanValue\" :false}", "[false]" },
    { "text", "{\"isNull\":true }", "[null]" },
    { "text", "{\"stringValue\":\"\"}", "[\"\"]" },
    { "varbyte", "{\"blobValue\":\"AQID\"}", "[\"AQID\"]" }
};


START_TEST(test_field_forms)
{
    ck_assert_str_eq(t_one(t_field_forms[_i][0], t_field_forms[_i][1], 0),
                     t_field_forms[_i][2]);
}
END_TEST


/*
 * The first pass checks rows itself when it knows the column count; the
 * answers must not depend on that: Records before ColumnMetadata, a bad
 * Field together with a later syntax error, a bad Field alone, a second
 * page whose ColumnMetadata has another count.
 */

static const char  *t_pass_order[][3] = {
    { "{\"Records\":[[{\"longValue\":1},{\"stringValue\":\"x\"}],"
      "[{\"isNull\":true},{\"stringValue\":\"y\\n\"}]],"
      "\"ColumnMetadata\":[{\"name\":\"a\"},{\"name\":\"b\"}]}",
      "", "{\"a\":1,\"b\":\"x\"},{\"a\":null,\"b\":\"y\\n\"}" },
    { "{\"ColumnMetadata\":[{\"name\":\"a\"},{\"name\":\"b\"}],"
      "\"Records\":[[{\"longValue\":1},{\"stringValue\":\"x\"}],"
      "[{\"isNull\":true},{\"stringValue\":\"y\\n\"}]]}",
      "", "{\"a\":1,\"b\":\"x\"},{\"a\":null,\"b\":\"y\\n\"}" },
    { "{\"ColumnMetadata\":[{\"name\":\"a\"}],"
      "\"Records\":[[{\"bogus\":1}]],\"X\":x}",
      "result page is not valid JSON: expected a value at byte 63", "" },
    { "{\"ColumnMetadata\":[{\"name\":\"a\"}],"
      "\"Records\":[[{\"longValue\":1}],[{\"longValue\":1.5}]]}",
      "Records[1][0] is not a valid Field", "" },
    { "{\"ColumnMetadata\":[{\"name\":\"a\"}],"
      "\"Records\":[[{\"longValue\":1},{\"longValue\":2}]]}",
      "Records[0] is not an array of 1 fields", "" },
    { "{\"ColumnMetadata\":[{\"name\":\"a\"},{\"name\":\"b\"}],"
      "\"Records\":[[{\"longValue\":1}]]}",
      "Records[0] is not an array of 2 fields", "" }
};


START_TEST(test_pass_order)
{
    const char  *page = t_pass_order[_i][0];
    int          rc;

    rc = t_pages(SPECTRA_RESULT_OBJECTS, 10, 0, &page, 1);

    if (t_pass_order[_i][1][0] == '\0') {
        ck_assert_msg(rc == SPECTRA_RESULT_OK, "%s", err.message);

    } else {
        ck_assert_int_eq(rc, SPECTRA_RESULT_ERROR);
        ck_assert_str_eq(err.message, t_pass_order[_i][1]);
    }

    ck_assert_str_eq(t_text(), t_pass_order[_i][2]);
}
END_TEST


START_TEST(test_pass_order_later_page)
{
    const char  *pages[2] = {
        "{\"ColumnMetadata\":[{\"name\":\"a\"}],"
        "\"Records\":[[{\"longValue\":1}]],\"NextToken\":\"t\"}",
        "{\"Records\":[[{\"longValue\":2},{\"longValue\":3}]],"
        "\"ColumnMetadata\":[{\"name\":\"a\"},{\"name\":\"b\"}]}"
    };

    ck_assert_int_eq(t_pages(SPECTRA_RESULT_ARRAYS, 10, 0, pages, 2),
                     SPECTRA_RESULT_ERROR);
    ck_assert_str_eq(err.message,
                     "ColumnMetadata differs from the first page's");
    ck_assert_str_eq(t_text(), "[1]");
}
END_TEST



/* byte limit: the answer ends before the row that would pass it */
START_TEST(test_byte_limit)
{
    const char  *page;

    page = t_int_page(1, 10, NULL, 10);

    spectra_result_init(&res, SPECTRA_RESULT_ARRAYS, 100, 0, &tpool);
    res.max_bytes = 12;        /* "[1],[2],[3]" is 11 bytes, ",[4]" 4 more */

    ck_assert_int_eq(t_page(page), SPECTRA_RESULT_OK);
    ck_assert_str_eq(t_text(), "[1],[2],[3]");
    ck_assert_uint_eq(res.rows, 3);
    ck_assert_uint_eq(res.bytes, 11);
    ck_assert_int_eq(res.truncated, 1);
    ck_assert_int_eq(res.by_bytes, 1);
    ck_assert_int_eq(pg.more, 0);
    t_valid_json();

    /* the keys of the objects format count too */
    t_teardown();
    t_setup();
    spectra_result_init(&res, SPECTRA_RESULT_OBJECTS, 100, 0, &tpool);
    res.max_bytes = 20;        /* {"n":1},{"n":2} is 15, ,{"n":3} 8 more */

    ck_assert_int_eq(t_page(page), SPECTRA_RESULT_OK);
    ck_assert_str_eq(t_text(), "{\"n\":1},{\"n\":2}");
    ck_assert_int_eq(res.by_bytes, 1);

    /* a bound no row reaches truncates nothing */
    t_teardown();
    t_setup();
    spectra_result_init(&res, SPECTRA_RESULT_ARRAYS, 100, 0, &tpool);
    res.max_bytes = 1 << 20;

    ck_assert_int_eq(t_page(page), SPECTRA_RESULT_OK);
    ck_assert_uint_eq(res.rows, 10);
    ck_assert_int_eq(res.truncated, 0);
    ck_assert_int_eq(res.by_bytes, 0);
}
END_TEST


/* a byte limit reached on a page stops the next page from being asked */
START_TEST(test_byte_limit_pages)
{
    spectra_result_init(&res, SPECTRA_RESULT_ARRAYS, 100, 0, &tpool);
    res.max_bytes = 30;

    ck_assert_int_eq(t_page(t_int_page(1, 5, "t1", 20)), SPECTRA_RESULT_OK);
    ck_assert_int_eq(pg.more, 1);
    ck_assert_int_eq(t_page(t_int_page(6, 5, "t2", 20)), SPECTRA_RESULT_OK);
    ck_assert_int_eq(res.truncated, 1);
    ck_assert_int_eq(pg.more, 0);
    ck_assert_str_eq(t_text(), "[1],[2],[3],[4],[5],[6],[7]");
    ck_assert_uint_le(res.bytes, 30);
}
END_TEST


static int  t_room;      /* blocks t_grow_some() still gives */

static int
t_grow_some(spectra_result_out_t *o, size_t need)
{
    if (t_room == 0) {
        return 1;
    }

    t_room--;
    o->hint = 0;

    return t_grow(o, need);
}


/* slices and a sink without room: page_write() stops at row boundaries */
START_TEST(test_page_write_slices)
{
    int          rc, calls;
    const char  *page;

    page = t_int_page(1, 100, NULL, 100);

    spectra_result_init(&res, SPECTRA_RESULT_ARRAYS, 1000, 0, &tpool);

    ck_assert_int_eq(spectra_result_page_open(&res, (const u_char *) page,
                                              strlen(page), &pg, &err),
                     SPECTRA_RESULT_OK);
    ck_assert_uint_eq(res.emit, 100);

    for (calls = 0; ; calls++) {
        rc = spectra_result_page_write(&res, &out, 40);
        if (rc != SPECTRA_RESULT_AGAIN) {
            break;
        }

        /* every stop is after a whole row */
        ck_assert_int_eq(out.pos[-1], ']');
    }

    ck_assert_int_eq(rc, SPECTRA_RESULT_OK);
    ck_assert_int_gt(calls, 5);
    ck_assert_uint_eq(res.rows, 100);
    t_valid_json();

    /* a sink with no room: AGAIN, then the rest once it has room */
    t_teardown();
    t_setup();
    out.grow = t_grow_some;
    t_room = 1;

    spectra_result_init(&res, SPECTRA_RESULT_ARRAYS, 1000, 0, &tpool);
    ck_assert_int_eq(spectra_result_page_open(&res, (const u_char *) page,
                                              strlen(page), &pg, &err),
                     SPECTRA_RESULT_OK);

    /* one block of the first row's size: one row, then no room */
    ck_assert_int_eq(spectra_result_page_write(&res, &out, 0),
                     SPECTRA_RESULT_AGAIN);
    ck_assert_uint_eq(res.rows, 1);

    t_room = 1000;
    ck_assert_int_eq(spectra_result_page_write(&res, &out, 0),
                     SPECTRA_RESULT_OK);
    ck_assert_uint_eq(res.rows, 100);
    t_valid_json();

    /* a sink that never has room for a page_write() without a caller */
    t_teardown();
    t_setup();
    out.grow = t_grow_some;
    t_room = 0;

    spectra_result_init(&res, SPECTRA_RESULT_ARRAYS, 1000, 0, &tpool);
    ck_assert_int_eq(t_page(page), SPECTRA_RESULT_NOMEM);
}
END_TEST


/* 1,600 columns of one name: a, a_2 ... a_1600, in linear time */
START_TEST(test_same_names)
{
    size_t   i, n;
    char    *page, *p, want[32];

    n = 1600;
    page = malloc(n * 64 + 256);
    ck_assert_ptr_nonnull(page);

    p = page + sprintf(page, "{\"ColumnMetadata\":[");
    for (i = 0; i < n; i++) {
        p += sprintf(p, "%s{\"name\":\"a\",\"typeName\":\"int4\"}",
                     i ? "," : "");
    }
    p += sprintf(p, "],\"Records\":[]}");

    spectra_result_init(&res, SPECTRA_RESULT_OBJECTS, 10, 0, &tpool);
    ck_assert_int_eq(t_page(page), SPECTRA_RESULT_OK);
    ck_assert_uint_eq(res.ncolumns, n);
    ck_assert_str_eq((char *) res.columns[0].name.data, "a");

    for (i = 1; i < n; i++) {
        snprintf(want, sizeof(want), "a_%zu", i + 1);
        ck_assert_str_eq((char *) res.columns[i].name.data, want);
    }

    free(page);
}
END_TEST


/* a column that is named like a suffix keeps its name; others step past */
START_TEST(test_same_names_taken)
{
    const char  *page =
        "{\"ColumnMetadata\":[{\"name\":\"a\"},{\"name\":\"a\"},"
        "{\"name\":\"a_2\"},{\"name\":\"a\"},{\"name\":\"a_3\"}],"
        "\"Records\":[]}";

    spectra_result_init(&res, SPECTRA_RESULT_OBJECTS, 10, 0, &tpool);
    ck_assert_int_eq(t_page(page), SPECTRA_RESULT_OK);
    ck_assert_str_eq((char *) res.columns[0].name.data, "a");
    ck_assert_str_eq((char *) res.columns[1].name.data, "a_4");
    ck_assert_str_eq((char *) res.columns[2].name.data, "a_2");
    ck_assert_str_eq((char *) res.columns[3].name.data, "a_5");
    ck_assert_str_eq((char *) res.columns[4].name.data, "a_3");
}
END_TEST


/* more columns than supported make the page malformed, not slow */
START_TEST(test_too_many_columns)
{
    size_t   i, n;
    char    *page, *p;

    n = SPECTRA_RESULT_MAX_COLUMNS + 1;
    page = malloc(n * 16 + 64);
    ck_assert_ptr_nonnull(page);

    p = page + sprintf(page, "{\"ColumnMetadata\":[");
    for (i = 0; i < n; i++) {
        p += sprintf(p, "%s{}", i ? "," : "");
    }
    p += sprintf(p, "],\"Records\":[]}");

    spectra_result_init(&res, SPECTRA_RESULT_OBJECTS, 10, 0, &tpool);
    ck_assert_int_eq(t_page(page), SPECTRA_RESULT_ERROR);
    ck_assert_str_eq(err.message, "the result has 4097 columns, more than "
                     "the 4096 supported");

    free(page);
}
END_TEST


/* A test case of the suite, each test with a fresh pool and sink. */

static TCase *
t_tcase(Suite *s, const char *name)
{
    TCase  *tc;

    tc = tcase_create(name);
    tcase_add_checked_fixture(tc, t_setup, t_teardown);
    suite_add_tcase(s, tc);

    return tc;
}


/* res.skip: an answer that starts inside a Data API page */

START_TEST(test_skip_inside_page)
{
    spectra_result_init(&res, SPECTRA_RESULT_ARRAYS, 4, 0, &tpool);
    res.skip = 3;

    ck_assert_int_eq(t_page(t_int_page(1, 10, "t2", -1)), SPECTRA_RESULT_OK);
    ck_assert_str_eq(t_text(), "[4],[5],[6],[7]");
    ck_assert_uint_eq(res.rows, 4);
    ck_assert_uint_eq(res.emitted, 7);
    ck_assert_uint_eq(pg.records, 10);
    ck_assert_int_eq(res.truncated, 1);
    ck_assert_int_eq(pg.more, 0);
    ck_assert_uint_eq(res.skip, 0);
    t_valid_json();
}
END_TEST


START_TEST(test_skip_then_next_page)
{
    /* the skip is for the first page only; commas go between pages */
    spectra_result_init(&res, SPECTRA_RESULT_OBJECTS, 4, 0, &tpool);
    res.skip = 3;
    res.seen = 0;

    ck_assert_int_eq(t_page(t_int_page(1, 5, "t2", 12)), SPECTRA_RESULT_OK);
    ck_assert_int_eq(pg.more, 1);
    ck_assert_int_eq(res.truncated, 0);
    ck_assert_uint_eq(res.emitted, 5);

    ck_assert_int_eq(t_page(t_int_page(6, 5, "t3", 12)), SPECTRA_RESULT_OK);
    ck_assert_str_eq(t_text(), "{\"n\":4},{\"n\":5},{\"n\":6},{\"n\":7}");
    ck_assert_uint_eq(res.emitted, 2);
    ck_assert_int_eq(res.truncated, 1);
    ck_assert_int_eq(pg.more, 0);
    t_valid_json();
}
END_TEST


START_TEST(test_skip_whole_page)
{
    /* every row of the page served already: on to the next */
    spectra_result_init(&res, SPECTRA_RESULT_ARRAYS, 2, 0, &tpool);
    res.skip = 3;

    ck_assert_int_eq(t_page(t_int_page(1, 3, "t2", -1)), SPECTRA_RESULT_OK);
    ck_assert_str_eq(t_text(), "");
    ck_assert_int_eq(pg.more, 1);
    ck_assert_int_eq(res.truncated, 0);

    ck_assert_int_eq(t_page(t_int_page(4, 3, NULL, -1)), SPECTRA_RESULT_OK);
    ck_assert_str_eq(t_text(), "[4],[5]");
    ck_assert_int_eq(res.truncated, 1);
}
END_TEST


START_TEST(test_skip_past_page)
{
    /* a page shorter than the rows served from it: nothing written */
    spectra_result_init(&res, SPECTRA_RESULT_ARRAYS, 2, 0, &tpool);
    res.skip = 4;

    ck_assert_int_eq(t_page(t_int_page(1, 3, "t2", -1)),
                     SPECTRA_RESULT_ERROR);
    ck_assert_str_eq(err.message, "the page has 3 rows, fewer than the 4 "
                                  "served from it already");
    ck_assert_uint_eq(res.rows, 0);
    ck_assert_str_eq(t_text(), "");
}
END_TEST


START_TEST(test_skip_total_rows_ends)
{
    /*
     * Rows 6..10 of a 10-row result (seen: the 5 rows before the page),
     * 2 of them served: the last 3 end the result though a NextToken is
     * left, and 2 of them leave one.
     */
    spectra_result_init(&res, SPECTRA_RESULT_ARRAYS, 3, 0, &tpool);
    res.skip = 2;
    res.seen = 5;

    ck_assert_int_eq(t_page(t_int_page(6, 5, "more", 10)), SPECTRA_RESULT_OK);
    ck_assert_str_eq(t_text(), "[8],[9],[10]");
    ck_assert_int_eq(res.truncated, 0);
    ck_assert_int_eq(pg.more, 0);
    ck_assert_uint_eq(res.seen, 10);

    t_teardown();
    t_setup();

    spectra_result_init(&res, SPECTRA_RESULT_ARRAYS, 2, 0, &tpool);
    res.skip = 2;
    res.seen = 5;

    ck_assert_int_eq(t_page(t_int_page(6, 5, "more", 10)), SPECTRA_RESULT_OK);
    ck_assert_str_eq(t_text(), "[8],[9]");
    ck_assert_int_eq(res.truncated, 1);
    ck_assert_uint_eq(res.emitted, 4);
}
END_TEST


START_TEST(test_skip_total_at_page_end)
{
    /* the limit at the page's end, TotalNumRows says more: truncated */
    spectra_result_init(&res, SPECTRA_RESULT_ARRAYS, 2, 0, &tpool);
    res.skip = 3;
    res.seen = 0;

    ck_assert_int_eq(t_page(t_int_page(1, 5, "t2", 9)), SPECTRA_RESULT_OK);
    ck_assert_str_eq(t_text(), "[4],[5]");
    ck_assert_int_eq(res.truncated, 1);
    ck_assert_uint_eq(res.emitted, 5);
    ck_assert_str_eq((char *) pg.next_token.data, "t2");
}
END_TEST


START_TEST(test_skip_rows_not_checked)
{
    /* rows passed over are not checked, as rows past the limit */
    const char  *page =
        "{\"ColumnMetadata\":[{\"name\":\"a\",\"typeName\":\"int4\"}],"
        "\"Records\":[[{\"bogus\":1}], [ {\"longValue\":0} , 7 ] ,"
        "[{\"longValue\":3}]]}";

    spectra_result_init(&res, SPECTRA_RESULT_OBJECTS, 5, 0, &tpool);
    res.skip = 2;

    ck_assert_int_eq(t_page(page), SPECTRA_RESULT_OK);
    ck_assert_str_eq(t_text(), "{\"a\":3}");
    ck_assert_int_eq(res.truncated, 0);
}
END_TEST


START_TEST(test_skip_columns_after_records)
{
    /* ColumnMetadata after Records: rows are checked in a second pass */
    const char  *page =
        "{\"Records\":[[{\"longValue\":1}],[{\"longValue\":2}],"
        "[{\"longValue\":3}],[{\"bogus\":4}]],"
        "\"ColumnMetadata\":[{\"name\":\"a\",\"typeName\":\"int4\"}]}";

    spectra_result_init(&res, SPECTRA_RESULT_ARRAYS, 2, 0, &tpool);
    res.skip = 1;

    ck_assert_int_eq(t_page(page), SPECTRA_RESULT_OK);
    ck_assert_str_eq(t_text(), "[2],[3]");
    ck_assert_int_eq(res.truncated, 1);
    ck_assert_uint_eq(res.emitted, 3);

    t_teardown();
    t_setup();

    /* and a bad row where the answer starts is still refused */
    spectra_result_init(&res, SPECTRA_RESULT_ARRAYS, 2, 0, &tpool);
    res.skip = 3;

    ck_assert_int_eq(t_page(page), SPECTRA_RESULT_ERROR);
    ck_assert_ptr_nonnull(strstr(err.message, "Records[3]"));
    ck_assert_str_eq(t_text(), "");
}
END_TEST


START_TEST(test_skip_byte_limit)
{
    /* the byte limit counts the rows written, not the ones passed over */
    spectra_result_init(&res, SPECTRA_RESULT_ARRAYS, 100, 0, &tpool);
    res.skip = 5;
    res.max_bytes = 8;

    ck_assert_int_eq(t_page(t_int_page(1, 10, NULL, -1)), SPECTRA_RESULT_OK);
    ck_assert_str_eq(t_text(), "[6],[7]");
    ck_assert_int_eq(res.by_bytes, 1);
    ck_assert_uint_eq(res.emitted, 7);
}
END_TEST

/*
 * Rows written ahead stop at about the page's size: rows of DEL bytes
 * (escaped, six bytes each) past it are written from the page, and the
 * answer is the same as without writing ahead; a page written ahead
 * whole is not held.
 */

START_TEST(test_ahead_bound)
{
    char        *page, *p, *plain;
    size_t       i, before, n;
    const char  *small;

    page = malloc(128 * 1024);
    ck_assert_ptr_nonnull(page);

    p = page + sprintf(page, "{\"ColumnMetadata\":[{\"name\":\"v\","
                             "\"typeName\":\"text\"}],\"Records\":[");

    for (i = 0; i < 60; i++) {
        p += sprintf(p, "%s[{\"stringValue\":\"%zu ", i ? "," : "", i);
        memset(p, 0x7f, 1000);
        p += 1000;
        p += sprintf(p, "\"}]");
    }

    sprintf(p, "]}");

    spectra_result_init(&res, SPECTRA_RESULT_OBJECTS, 1000, 0, &tpool);
    res.flags &= ~SPECTRA_RESULT_ENCODE_AHEAD;
    ck_assert_int_eq(t_page(page), SPECTRA_RESULT_OK);
    ck_assert_uint_eq(res.rows, 60);

    plain = strdup(t_text());
    ck_assert_ptr_nonnull(plain);
    before = strlen(plain);
    ck_assert_uint_gt(before, 6 * 60 * 1000);

    spectra_result_init(&res, SPECTRA_RESULT_OBJECTS, 1000,
                        SPECTRA_RESULT_ENCODE_AHEAD, &tpool);
    ck_assert_int_eq(spectra_result_page_open(&res, (u_char *) page,
                                              strlen(page), &pg, &err),
                     SPECTRA_RESULT_OK);

    /* some rows ahead, not all: the page is still read */
    n = res.enc_rows;
    ck_assert_uint_gt(n, 10);
    ck_assert_uint_lt(n, 60);
    ck_assert_uint_le(res.enc_size, strlen(page) + 65536);
    ck_assert_int_eq(spectra_result_page_held(&res), 1);

    ck_assert_int_eq(spectra_result_page_write(&res, &out, 0),
                     SPECTRA_RESULT_OK);
    ck_assert_uint_eq(res.rows, 60);
    ck_assert_str_eq(t_text() + before, plain);

    /* a small page: every row ahead, the page no longer needed */
    small = t_int_page(7, 3, NULL, 3);

    spectra_result_init(&res, SPECTRA_RESULT_ARRAYS, 1000,
                        SPECTRA_RESULT_ENCODE_AHEAD, &tpool);
    ck_assert_int_eq(spectra_result_page_open(&res, (u_char *) small,
                                              strlen(small), &pg, &err),
                     SPECTRA_RESULT_OK);
    ck_assert_uint_eq(res.enc_rows, 3);
    ck_assert_int_eq(spectra_result_page_held(&res), 0);

    before = strlen(t_text());
    ck_assert_int_eq(spectra_result_page_write(&res, &out, 0),
                     SPECTRA_RESULT_OK);
    ck_assert_str_eq(t_text() + before, "[7],[8],[9]");

    free(plain);
    free(page);
}
END_TEST


/*
 * A bad row after rows written ahead: the page is refused with the same
 * error as without, and writes nothing.
 */

START_TEST(test_ahead_bad_row)
{
    const char  *page;

    page = "{\"ColumnMetadata\":[{\"name\":\"n\",\"typeName\":\"int8\"}],"
           "\"Records\":[[{\"longValue\":1}],[{\"longValue\":2}],"
           "[{\"longValue\":1.5}]]}";

    spectra_result_init(&res, SPECTRA_RESULT_ARRAYS, 1000,
                        SPECTRA_RESULT_ENCODE_AHEAD, &tpool);
    ck_assert_int_eq(t_page(page), SPECTRA_RESULT_ERROR);
    ck_assert_str_eq(err.message, "Records[2][0] is not a valid Field");
    ck_assert_str_eq(t_text(), "");
    ck_assert_uint_eq(res.rows, 0);
}
END_TEST


Suite *
result_suite(void)
{
    Suite  *s;
    TCase  *tc;

    s = suite_create("result");

    /* int64 and double text */
    tc = t_tcase(s, "numbers");
    tcase_add_test(tc, test_int64_limits);
    tcase_add_test(tc, test_int64_min);
    tcase_add_test(tc, test_int64_zero);
    tcase_add_test(tc, test_int64_overflow);
    tcase_add_test(tc, test_int64_underflow);
    tcase_add_loop_test(tc, test_double_known, 0,
                        sizeof(t_doubles) / sizeof(t_doubles[0]));
    tcase_add_test(tc, test_double_shortest_roundtrip);
    tcase_add_test(tc, test_double_bad);
    tcase_add_loop_test(tc, test_double_shapes, 0,
                        sizeof(t_double_shapes) / sizeof(t_double_shapes[0]));
    tcase_add_test(tc, test_double_random_texts);

    /* the JSON scanner and string bodies */
    tc = t_tcase(s, "scan");
    tcase_add_loop_test(tc, test_strings, 0,
                        sizeof(t_strings) / sizeof(t_strings[0]));
    tcase_add_loop_test(tc, test_bad_text, 0,
                        sizeof(t_bad_text) / sizeof(t_bad_text[0]));
    tcase_add_test(tc, test_escape_words);
    tcase_add_loop_test(tc, test_malformed, 0,
                        sizeof(t_malformed) / sizeof(t_malformed[0]));
    tcase_add_test(tc, test_nesting_limit);
    tcase_add_loop_test(tc, test_string_every_position, 0,
                        sizeof(t_inserts) / sizeof(t_inserts[0]));
    tcase_add_test(tc, test_string_bad_every_position);

    /* a page's members, paging and ColumnMetadata */
    tc = t_tcase(s, "page");
    tcase_add_test(tc, test_metadata_repeated_on_later_pages);
    tcase_add_test(tc, test_later_page_without_metadata);
    tcase_add_test(tc, test_escaped_names_and_token);
    tcase_add_test(tc, test_column_count_changes);
    tcase_add_test(tc, test_page_info);
    tcase_add_loop_test(tc, test_pass_order, 0,
                        sizeof(t_pass_order) / sizeof(t_pass_order[0]));
    tcase_add_test(tc, test_pass_order_later_page);
    tcase_add_test(tc, test_too_many_columns);

    /* unique names and stable types */
    tc = t_tcase(s, "columns");
    tcase_add_test(tc, test_duplicate_names);
    tcase_add_test(tc, test_duplicate_names_arrays);
    tcase_add_test(tc, test_label_and_escaped_names);
    tcase_add_test(tc, test_zero_columns);
    tcase_add_loop_test(tc, test_type_names, 0,
                        sizeof(t_types) / sizeof(t_types[0]));
    tcase_add_test(tc, test_type_names_unknown);
    tcase_add_test(tc, test_same_names);
    tcase_add_test(tc, test_same_names_taken);

    /* every Field, every row */
    tc = t_tcase(s, "rows");
    tcase_add_test(tc, test_every_type_objects);
    tcase_add_test(tc, test_every_type_arrays);
    tcase_add_test(tc, test_numeric_string_default);
    tcase_add_test(tc, test_numeric_as_number);
    tcase_add_loop_test(tc, test_numeric_validation, 0,
                        sizeof(t_numerics) / sizeof(t_numerics[0]));
    tcase_add_test(tc, test_numeric_option_other_types);
    tcase_add_test(tc, test_numeric_decimal_alias);
    tcase_add_test(tc, test_blob);
    tcase_add_loop_test(tc, test_blob_bad, 0,
                        sizeof(t_bad_blobs) / sizeof(t_bad_blobs[0]));
    tcase_add_test(tc, test_booleans_nulls);
    tcase_add_test(tc, test_blob_escaped_slash);
    tcase_add_loop_test(tc, test_field_forms, 0,
                        sizeof(t_field_forms) / sizeof(t_field_forms[0]));

    /* limits, truncation, slices, sinks */
    tc = t_tcase(s, "encoder");
    tcase_add_test(tc, test_trunc_below);
    tcase_add_test(tc, test_trunc_exact);
    tcase_add_test(tc, test_trunc_over);
    tcase_add_test(tc, test_trunc_over_odd_limit);
    tcase_add_test(tc, test_trunc_exact_odd_limit);
    tcase_add_test(tc, test_trunc_total_rows);
    tcase_add_test(tc, test_trunc_total_exact);
    tcase_add_test(tc, test_trunc_total_below_limit_continues);
    tcase_add_test(tc, test_trunc_empty_last_page);
    tcase_add_test(tc, test_trunc_zero_limit);
    tcase_add_test(tc, test_trunc_objects_pages);
    tcase_add_test(tc, test_empty_result);
    tcase_add_test(tc, test_layout);
    tcase_add_test(tc, test_malformed_is_atomic);
    tcase_add_test(tc, test_rows_beyond_limit_not_checked);
    tcase_add_test(tc, test_grow_failure);
    tcase_add_test(tc, test_alloc_failure);
    tcase_add_test(tc, test_caller_block_used_first);
    tcase_add_test(tc, test_byte_limit);
    tcase_add_test(tc, test_byte_limit_pages);
    tcase_add_test(tc, test_page_write_slices);
    tcase_add_test(tc, test_ahead_bound);
    tcase_add_test(tc, test_ahead_bad_row);

    /* answers that start inside a page */
    tc = t_tcase(s, "skip");
    tcase_add_test(tc, test_skip_inside_page);
    tcase_add_test(tc, test_skip_then_next_page);
    tcase_add_test(tc, test_skip_whole_page);
    tcase_add_test(tc, test_skip_past_page);
    tcase_add_test(tc, test_skip_total_rows_ends);
    tcase_add_test(tc, test_skip_total_at_page_end);
    tcase_add_test(tc, test_skip_rows_not_checked);
    tcase_add_test(tc, test_skip_columns_after_records);
    tcase_add_test(tc, test_skip_byte_limit);

    return s;
}


int
main(void)
{
    int       failed;
    SRunner  *sr;

    sr = srunner_create(result_suite());
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);

    /* again, every encoder writing its rows ahead */
    t_ahead = SPECTRA_RESULT_ENCODE_AHEAD;

    sr = srunner_create(result_suite());
    srunner_run_all(sr, CK_NORMAL);
    failed += srunner_ntests_failed(sr);
    srunner_free(sr);

    return failed == 0 ? 0 : 1;
}
