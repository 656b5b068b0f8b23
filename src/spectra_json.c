/*
 * JSON string escaping with UTF-8 validation.
 */

#include "spectra_json.h"

#include <string.h>


static size_t spectra_utf8_seq(const u_char *p, size_t len);


static const u_char  spectra_hex[] = "0123456789abcdef";


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
