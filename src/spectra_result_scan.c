/*
 * The JSON scanner (RFC 8259) over a result page: it checks and skips,
 * it builds nothing, and it finds the string bodies, which are decoded
 * or re-escaped only when they are written.
 */

#include "spectra_result_internal.h"
#include "spectra_json.h"

#include <string.h>


#define SPECTRA_RESULT_MAX_DEPTH       64


static int spectra_result_word_stop(uint64_t w);
static int spectra_result_hex(u_char c);
static uint32_t spectra_result_hex4(const u_char *p);
static size_t spectra_result_piece(const u_char **pp, const u_char *end,
    u_char *tmp, const u_char **seg);


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


int
spectra_scan_fail(spectra_scan_t *s, const char *what)
{
    size_t  pos;

    pos = (size_t) (s->p - s->start);

    return spectra_err_set(s->err, SPECTRA_RESULT_ERROR, pos,
                           "result page is not valid JSON: %s at byte %zu",
                           what, pos);
}


int
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


int
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


int
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


int
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


int
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


int
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


int
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


int
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


size_t
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


u_char *
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


u_char *
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
