/*
 * Number text: a JSON integer read as int64, a number's digits, and
 * doubles written as the shortest decimal that reads back as the same
 * double, mostly without strtod().
 */

#include "spectra_result_internal.h"

#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


/* double arithmetic rounds once, to double (not x87's extended) */
#if defined(FLT_EVAL_METHOD) && FLT_EVAL_METHOD == 0
#define SPECTRA_RESULT_EXACT_FP        1
#else
#define SPECTRA_RESULT_EXACT_FP        0
#endif


static size_t spectra_result_digits(const char *s);
static u_char *spectra_result_g15(u_char *dst, int neg, const u_char *d,
    int n, int x);


/* powers of 10 a double holds exactly */
static const double  spectra_result_pow10[] = {
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22
};


int
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


void
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

u_char *
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

u_char *
spectra_result_double_text(u_char *dst, const u_char *text, size_t len,
    const spectra_num_t *num)
{
    int       i, m, x, e;
    char      buf[SPECTRA_RESULT_MAX_NUMBER], cand[32];
    u_char    d[17];
    double    v, w;
    uint64_t  c;

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

    memcpy(buf, text, len);
    buf[len] = '\0';
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
