/*
 * JSON string escaping with UTF-8 validation.
 */

#include "spectra_json.h"

#include <string.h>


static size_t spectra_utf8_seq(const u_char *p, size_t len);
static int spectra_json_word_plain(const u_char *p);


static const u_char  spectra_hex[] = "0123456789abcdef";


#define SPECTRA_JSON_ONES   0x0101010101010101ULL
#define SPECTRA_JSON_HIGHS  0x8080808080808080ULL

/* nonzero when a byte of w is zero (exact as a truth value) */
#define spectra_json_zero_byte(w)                                            \
    (((w) - SPECTRA_JSON_ONES) & ~(w) & SPECTRA_JSON_HIGHS)


/*
 * Whether the 8 bytes at p are all copied as they are: printable ASCII
 * other than '"', '\\' and DEL.  Most text is, so both escapers take it
 * a word at a time and look at single bytes only around the others.
 */

static int
spectra_json_word_plain(const u_char *p)
{
    uint64_t  w;

    memcpy(&w, p, 8);

    return !((w & SPECTRA_JSON_HIGHS)
             /* a byte below 0x20 (none is 0x80 or above here) */
             | ((w - 0x20 * SPECTRA_JSON_ONES) & ~w & SPECTRA_JSON_HIGHS)
             | spectra_json_zero_byte(w ^ ('"' * SPECTRA_JSON_ONES))
             | spectra_json_zero_byte(w ^ ('\\' * SPECTRA_JSON_ONES))
             | spectra_json_zero_byte(w ^ (0x7f * SPECTRA_JSON_ONES)));
}


/*
 * Length of the valid UTF-8 sequence at p (1..4), or 0 when the bytes are
 * not well formed (overlong forms, surrogates and values above U+10FFFF are
 * rejected, as RFC 3629 requires).
 */

static size_t
spectra_utf8_seq(const u_char *p, size_t len)
{
    size_t    n, i;
    uint32_t  cp, min;

    if (p[0] < 0x80) {
        return 1;
    }

    if ((p[0] & 0xe0) == 0xc0) {
        n = 2;
        cp = p[0] & 0x1f;
        min = 0x80;

    } else if ((p[0] & 0xf0) == 0xe0) {
        n = 3;
        cp = p[0] & 0x0f;
        min = 0x800;

    } else if ((p[0] & 0xf8) == 0xf0) {
        n = 4;
        cp = p[0] & 0x07;
        min = 0x10000;

    } else {
        return 0;
    }

    if (len < n) {
        return 0;
    }

    for (i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80) {
            return 0;
        }

        cp = (cp << 6) | (p[i] & 0x3f);
    }

    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
        return 0;
    }

    return n;
}


size_t
spectra_json_escape_len(const u_char *src, size_t len)
{
    size_t  n, out;

    out = 0;

    while (len) {
        if (len >= 8 && spectra_json_word_plain(src)) {
            out += 8;
            src += 8;
            len -= 8;
            continue;
        }

        if (*src < 0x80) {
            switch (*src) {
            case '"': case '\\': case '\b': case '\f':
            case '\n': case '\r': case '\t':
                out += 2;
                break;
            default:
                out += (*src < 0x20 || *src == 0x7f) ? 6 : 1;
            }

            src++;
            len--;
            continue;
        }

        n = spectra_utf8_seq(src, len);

        if (n == 0) {
            out += 3;       /* U+FFFD */
            n = 1;

        } else {
            out += n;
        }

        src += n;
        len -= n;
    }

    return out;
}


u_char *
spectra_json_escape(u_char *dst, const u_char *src, size_t len)
{
    size_t  n;
    u_char  c;

    while (len) {
        if (len >= 8 && spectra_json_word_plain(src)) {
            memcpy(dst, src, 8);
            dst += 8;
            src += 8;
            len -= 8;
            continue;
        }

        c = *src;

        if (c < 0x80) {
            switch (c) {
            case '"':  *dst++ = '\\'; *dst++ = '"'; break;
            case '\\': *dst++ = '\\'; *dst++ = '\\'; break;
            case '\b': *dst++ = '\\'; *dst++ = 'b'; break;
            case '\f': *dst++ = '\\'; *dst++ = 'f'; break;
            case '\n': *dst++ = '\\'; *dst++ = 'n'; break;
            case '\r': *dst++ = '\\'; *dst++ = 'r'; break;
            case '\t': *dst++ = '\\'; *dst++ = 't'; break;
            default:
                if (c < 0x20 || c == 0x7f) {
                    *dst++ = '\\'; *dst++ = 'u'; *dst++ = '0'; *dst++ = '0';
                    *dst++ = spectra_hex[c >> 4];
                    *dst++ = spectra_hex[c & 0xf];

                } else {
                    *dst++ = c;
                }
            }

            src++;
            len--;
            continue;
        }

        n = spectra_utf8_seq(src, len);

        if (n == 0) {
            *dst++ = 0xef; *dst++ = 0xbf; *dst++ = 0xbd;
            n = 1;

        } else {
            memcpy(dst, src, n);
            dst += n;
        }

        src += n;
        len -= n;
    }

    return dst;
}
