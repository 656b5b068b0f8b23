/*
 * PostgreSQL result columns as Parquet columns, and their text values
 * (libpq's text format, as PostgreSQL prints them with DateStyle ISO,
 * bytea_output hex and client_encoding UTF8) parsed exactly:
 *
 *   boolean                   BOOLEAN
 *   smallint, integer         INT32 (INT(16/32, signed))
 *   bigint                    INT64 (INT(64, signed))
 *   real, double precision    FLOAT, DOUBLE (NaN and infinities as IEEE)
 *   numeric(p, s)             DECIMAL(p, s): INT32 (p <= 9), INT64
 *                             (p <= 18), FIXED_LEN_BYTE_ARRAY (p <= 38,
 *                             the fewest bytes for p digits)
 *   text, varchar, char, name STRING
 *   date                      INT32 DATE (days since 1970-01-01)
 *   timestamp, timestamptz    INT64 TIMESTAMP(MICROS, isAdjustedToUTC
 *                             false / true)
 *   bytea                     BYTE_ARRAY
 *   uuid                      FIXED_LEN_BYTE_ARRAY(16) UUID
 *
 * numeric without a precision (or wider than 38 digits, or a negative
 * scale), and every other type, have no exact mapping: an error naming
 * the column, before anything is written. So are values without an exact
 * form: numeric NaN and infinities, infinite dates and timestamps, years
 * past what INT64 microseconds hold.
 */

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "spectra_parquet.h"


#define SPECTRA_PG_BOOL         16
#define SPECTRA_PG_BYTEA        17
#define SPECTRA_PG_NAME         19
#define SPECTRA_PG_INT8         20
#define SPECTRA_PG_INT2         21
#define SPECTRA_PG_INT4         23
#define SPECTRA_PG_TEXT         25
#define SPECTRA_PG_FLOAT4       700
#define SPECTRA_PG_FLOAT8       701
#define SPECTRA_PG_BPCHAR       1042
#define SPECTRA_PG_VARCHAR      1043
#define SPECTRA_PG_DATE         1082
#define SPECTRA_PG_TIMESTAMP    1114
#define SPECTRA_PG_TIMESTAMPTZ  1184
#define SPECTRA_PG_NUMERIC      1700
#define SPECTRA_PG_UUID         2950

#define SPECTRA_PQ_DAY_US       86400000000LL


__extension__ typedef __int128  spectra_i128_t;


static int spectra_pq_bad(spectra_err_t *err, const spectra_pq_column_t *c,
    const char *what);
static int spectra_pq_digits(const char **p, const char *end, int64_t *v,
    int min, int max);
static int spectra_pq_date(const char **p, const char *end, int64_t *ymd);
static int spectra_pq_time(const char **p, const char *end, int64_t *us);
static int spectra_pq_bc(const char **p, const char *end);


/* the fewest bytes whose two's complement holds +-(10^p - 1) */
static int
spectra_pq_decimal_bytes(int precision)
{
    spectra_i128_t  max, lim;
    int             i, n;

    max = 1;
    for (i = 0; i < precision; i++) {
        max *= 10;
    }

    max -= 1;

    for (n = 1; n < 16; n++) {
        lim = (spectra_i128_t) 1 << (8 * n - 1);

        if (max < lim) {
            return n;
        }
    }

    return 16;
}


int
spectra_pq_pg_column(const char *name, uint32_t oid, int typmod,
    spectra_pq_column_t *col, spectra_err_t *err)
{
    int  p, s;

    memset(col, 0, sizeof(spectra_pq_column_t));
    col->name = name;
    col->nullable = 1;

    switch (oid) {

    case SPECTRA_PG_BOOL:
        col->physical = SPECTRA_PQ_BOOLEAN;
        return 0;

    case SPECTRA_PG_INT2:
        col->physical = SPECTRA_PQ_INT32;
        col->logical = SPECTRA_PQ_L_INT16;
        return 0;

    case SPECTRA_PG_INT4:
        col->physical = SPECTRA_PQ_INT32;
        col->logical = SPECTRA_PQ_L_INT32;
        return 0;

    case SPECTRA_PG_INT8:
        col->physical = SPECTRA_PQ_INT64;
        col->logical = SPECTRA_PQ_L_INT64;
        return 0;

    case SPECTRA_PG_FLOAT4:
        col->physical = SPECTRA_PQ_FLOAT;
        return 0;

    case SPECTRA_PG_FLOAT8:
        col->physical = SPECTRA_PQ_DOUBLE;
        return 0;

    case SPECTRA_PG_TEXT:
    case SPECTRA_PG_VARCHAR:
    case SPECTRA_PG_BPCHAR:
    case SPECTRA_PG_NAME:
        col->physical = SPECTRA_PQ_BYTE_ARRAY;
        col->logical = SPECTRA_PQ_L_STRING;
        return 0;

    case SPECTRA_PG_BYTEA:
        col->physical = SPECTRA_PQ_BYTE_ARRAY;
        return 0;

    case SPECTRA_PG_DATE:
        col->physical = SPECTRA_PQ_INT32;
        col->logical = SPECTRA_PQ_L_DATE;
        return 0;

    case SPECTRA_PG_TIMESTAMP:
        col->physical = SPECTRA_PQ_INT64;
        col->logical = SPECTRA_PQ_L_TIMESTAMP;
        return 0;

    case SPECTRA_PG_TIMESTAMPTZ:
        col->physical = SPECTRA_PQ_INT64;
        col->logical = SPECTRA_PQ_L_TIMESTAMPTZ;
        return 0;

    case SPECTRA_PG_UUID:
        col->physical = SPECTRA_PQ_FIXED;
        col->logical = SPECTRA_PQ_L_UUID;
        col->length = 16;
        return 0;

    case SPECTRA_PG_NUMERIC:
        if (typmod < 4) {
            return spectra_err_set(err, -1, SPECTRA_POS_NONE,
                       "column \"%s\" is a numeric without a precision, "
                       "which Parquet cannot hold exactly: cast it, as in "
                       "%s::numeric(18,2)", name, name);
        }

        p = ((typmod - 4) >> 16) & 0xffff;
        s = (typmod - 4) & 0x7ff;

        if (s > 1023 || p > 38 || s > p) {
            return spectra_err_set(err, -1, SPECTRA_POS_NONE,
                       "column \"%s\" is a numeric wider than Parquet's "
                       "decimals (precision up to 38, scale 0 up to the "
                       "precision): cast it, as in %s::numeric(38,%d)",
                       name, name, s > 38 || s < 0 ? 10 : s);
        }

        col->logical = SPECTRA_PQ_L_DECIMAL;
        col->precision = p;
        col->scale = s;

        if (p <= 9) {
            col->physical = SPECTRA_PQ_INT32;

        } else if (p <= 18) {
            col->physical = SPECTRA_PQ_INT64;

        } else {
            col->physical = SPECTRA_PQ_FIXED;
            col->length = spectra_pq_decimal_bytes(p);
        }

        return 0;

    default:
        return spectra_err_set(err, -1, SPECTRA_POS_NONE,
                   "column \"%s\" has a type (oid %u) that UNLOAD cannot "
                   "write to Parquet: cast it to text or one of boolean, "
                   "smallint, integer, bigint, real, double precision, "
                   "numeric(p,s), date, timestamp, timestamptz, bytea, "
                   "uuid", name, oid);
    }
}


static int
spectra_pq_bad(spectra_err_t *err, const spectra_pq_column_t *c,
    const char *what)
{
    return spectra_err_set(err, -1, SPECTRA_POS_NONE,
                           "column \"%s\": %s", c->name, what);
}


/* between min and max digits */
static int
spectra_pq_digits(const char **p, const char *end, int64_t *v, int min,
    int max)
{
    const char  *s;
    int64_t      n;

    n = 0;

    for (s = *p; s < end && *s >= '0' && *s <= '9' && s - *p < max; s++) {
        n = n * 10 + (*s - '0');
    }

    if (s - *p < min) {
        return -1;
    }

    *p = s;
    *v = n;

    return 0;
}


/* days since 1970-01-01 of the proleptic Gregorian y-m-d */
static int64_t
spectra_pq_days(int64_t y, int64_t m, int64_t d)
{
    int64_t  era, yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

    return era * 146097 + doe - 719468;
}


/* YYYY-MM-DD (a year of 4 digits or more) into ymd[3] */
static int
spectra_pq_date(const char **p, const char *end, int64_t *ymd)
{
    static const int  mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31,
                                  30, 31 };
    const char       *s;
    int64_t           y, m, d;

    s = *p;

    if (spectra_pq_digits(&s, end, &y, 4, 9) != 0 || s == end || *s != '-'
        || (s++, spectra_pq_digits(&s, end, &m, 2, 2)) != 0 || s == end
        || *s != '-' || (s++, spectra_pq_digits(&s, end, &d, 2, 2)) != 0
        || m < 1 || m > 12 || d < 1 || d > mdays[m - 1])
    {
        return -1;
    }

    *p = s;
    ymd[0] = y;
    ymd[1] = m;
    ymd[2] = d;

    return 0;
}


/* HH:MM:SS[.ffffff] as microseconds */
static int
spectra_pq_time(const char **p, const char *end, int64_t *us)
{
    const char  *s;
    int64_t      h, mi, se, f;
    int          n;

    s = *p;

    if (spectra_pq_digits(&s, end, &h, 2, 2) != 0 || s == end || *s != ':'
        || (s++, spectra_pq_digits(&s, end, &mi, 2, 2)) != 0 || s == end
        || *s != ':' || (s++, spectra_pq_digits(&s, end, &se, 2, 2)) != 0
        || h > 24 || mi > 59 || se > 60)
    {
        return -1;
    }

    f = 0;

    if (s < end && *s == '.') {
        s++;

        for (n = 0; n < 6 && s < end && *s >= '0' && *s <= '9'; n++, s++) {
            f = f * 10 + (*s - '0');
        }

        if (n == 0 || (s < end && *s >= '0' && *s <= '9')) {
            return -1;
        }

        for ( /* void */ ; n < 6; n++) {
            f *= 10;
        }
    }

    *p = s;
    *us = ((h * 60 + mi) * 60 + se) * 1000000 + f;

    return 0;
}


/* " BC" at the end: 1 (and *p past it), 0 when absent */
static int
spectra_pq_bc(const char **p, const char *end)
{
    if (end - *p == 3 && memcmp(*p, " BC", 3) == 0) {
        *p += 3;
        return 1;
    }

    return 0;
}


static int
spectra_pq_hex(int c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }

    c |= 0x20;

    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}


int
spectra_pq_pg_value(spectra_pq_writer_t *w, int col,
    const spectra_pq_column_t *c, uint32_t oid, const char *v, size_t len,
    spectra_pq_buf_t *scratch, spectra_err_t *err)
{
    spectra_i128_t   n;
    const char      *p, *end, *dot;
    char             buf[64], *e;
    int64_t          i64, days, us, oh, om, os, ymd[3];
    u_char           b[16];
    double           d;
    float            f;
    int              k, digits, frac, neg, sign, hi, lo, rc;

    p = v;
    end = v + len;
    rc = 0;

    switch (oid) {

    case SPECTRA_PG_BOOL:
        if (len != 1 || (v[0] != 't' && v[0] != 'f')) {
            return spectra_pq_bad(err, c, "a boolean other than t or f");
        }

        rc = spectra_pq_bool(w, col, v[0] == 't');
        break;

    case SPECTRA_PG_INT2:
    case SPECTRA_PG_INT4:
    case SPECTRA_PG_INT8:
    case SPECTRA_PG_FLOAT4:
    case SPECTRA_PG_FLOAT8:
        if (len == 0 || len >= sizeof(buf)) {
            return spectra_pq_bad(err, c, "a number PostgreSQL does not "
                                  "print");
        }

        memcpy(buf, v, len);
        buf[len] = '\0';
        errno = 0;

        if (oid == SPECTRA_PG_FLOAT4) {
            f = strtof(buf, &e);
            if (*e != '\0') {
                return spectra_pq_bad(err, c, "a real PostgreSQL does not "
                                      "print");
            }

            rc = spectra_pq_float(w, col, f);
            break;
        }

        if (oid == SPECTRA_PG_FLOAT8) {
            d = strtod(buf, &e);
            if (*e != '\0') {
                return spectra_pq_bad(err, c, "a double PostgreSQL does not "
                                      "print");
            }

            rc = spectra_pq_double(w, col, d);
            break;
        }

        i64 = strtoll(buf, &e, 10);

        if (*e != '\0' || errno != 0
            || (oid != SPECTRA_PG_INT8
                && (i64 < INT32_MIN || i64 > INT32_MAX)))
        {
            return spectra_pq_bad(err, c, "an integer PostgreSQL does not "
                                  "print");
        }

        rc = oid == SPECTRA_PG_INT8 ? spectra_pq_int64(w, col, i64)
                                    : spectra_pq_int32(w, col,
                                                       (int32_t) i64);
        break;

    case SPECTRA_PG_NUMERIC:
        neg = 0;

        if (p < end && *p == '-') {
            neg = 1;
            p++;
        }

        n = 0;
        digits = 0;
        frac = -1;
        dot = NULL;

        for ( /* void */ ; p < end; p++) {
            if (*p == '.' && dot == NULL) {
                dot = p;
                frac = 0;
                continue;
            }

            if (*p < '0' || *p > '9') {
                break;
            }

            if (digits > 0 || *p != '0') {
                digits++;
            }

            n = n * 10 + (*p - '0');

            if (dot != NULL) {
                frac++;
            }

            if (digits > 38) {
                break;
            }
        }

        if (p != end || (dot == NULL && len == (size_t) neg)
            || (dot != NULL && dot == end - 1))
        {
            return spectra_pq_bad(err, c, "a numeric without an exact "
                                  "decimal (NaN or an infinity)");
        }

        if (frac < 0) {
            frac = 0;
        }

        if (frac > c->scale) {
            return spectra_pq_bad(err, c, "a numeric with more decimals "
                                  "than its scale");
        }

        for ( /* void */ ; frac < c->scale; frac++) {
            n *= 10;
            digits++;
        }

        if (digits > c->precision) {
            return spectra_pq_bad(err, c, "a numeric with more digits than "
                                  "its precision");
        }

        if (neg) {
            n = -n;
        }

        if (c->physical == SPECTRA_PQ_INT32) {
            rc = spectra_pq_int32(w, col, (int32_t) n);

        } else if (c->physical == SPECTRA_PQ_INT64) {
            rc = spectra_pq_int64(w, col, (int64_t) n);

        } else {
            for (k = c->length - 1; k >= 0; k--) {
                b[k] = (u_char) (n & 0xff);
                n >>= 8;                    /* arithmetic: sign fills */
            }

            rc = spectra_pq_bytes(w, col, b, (size_t) c->length);
        }

        break;

    case SPECTRA_PG_DATE:
        if (spectra_pq_date(&p, end, ymd) != 0) {
            return spectra_pq_bad(err, c, "a date that is not a finite "
                                  "ISO date (YYYY-MM-DD)");
        }

        /* 1 BC is year 0: y BC is 1 - y */
        if (spectra_pq_bc(&p, end)) {
            ymd[0] = 1 - ymd[0];
        }

        days = spectra_pq_days(ymd[0], ymd[1], ymd[2]);

        if (p != end || days < INT32_MIN || days > INT32_MAX) {
            return spectra_pq_bad(err, c, "a date that is not a finite "
                                  "ISO date (YYYY-MM-DD)");
        }

        rc = spectra_pq_int32(w, col, (int32_t) days);
        break;

    case SPECTRA_PG_TIMESTAMP:
    case SPECTRA_PG_TIMESTAMPTZ:
        if (spectra_pq_date(&p, end, ymd) != 0 || p == end || *p != ' '
            || (p++, spectra_pq_time(&p, end, &us)) != 0)
        {
            return spectra_pq_bad(err, c, "a timestamp that is not a "
                                  "finite ISO timestamp");
        }

        if (oid == SPECTRA_PG_TIMESTAMPTZ) {
            /* the offset: +HH, +HH:MM or +HH:MM:SS */
            if (p == end || (*p != '+' && *p != '-')) {
                return spectra_pq_bad(err, c, "a timestamptz without its "
                                      "offset");
            }

            sign = *p++ == '-' ? -1 : 1;
            om = os = 0;

            if (spectra_pq_digits(&p, end, &oh, 2, 2) != 0
                || (p < end && *p == ':'
                    && (p++, spectra_pq_digits(&p, end, &om, 2, 2)) != 0)
                || (p < end && *p == ':'
                    && (p++, spectra_pq_digits(&p, end, &os, 2, 2)) != 0))
            {
                return spectra_pq_bad(err, c, "a timestamptz with a bad "
                                      "offset");
            }

            us -= sign * ((oh * 60 + om) * 60 + os) * 1000000;
        }

        if (spectra_pq_bc(&p, end)) {
            ymd[0] = 1 - ymd[0];
        }

        days = spectra_pq_days(ymd[0], ymd[1], ymd[2]);

        if (p != end
            || __builtin_mul_overflow(days, SPECTRA_PQ_DAY_US, &i64)
            || __builtin_add_overflow(i64, us, &i64))
        {
            return spectra_pq_bad(err, c, "a timestamp that is not a "
                                  "finite ISO timestamp within the years "
                                  "INT64 microseconds hold");
        }

        rc = spectra_pq_int64(w, col, i64);
        break;

    case SPECTRA_PG_BYTEA:
        if (len < 2 || v[0] != '\\' || v[1] != 'x' || len % 2 != 0) {
            return spectra_pq_bad(err, c, "a bytea not in hex output "
                                  "(bytea_output = hex)");
        }

        /* decoded into scratch: libpq's value is not ours to change */
        scratch->len = 0;

        if (spectra_pq_buf_room(scratch, (len - 2) / 2 + 1) != 0) {
            return spectra_err_set(err, -1, SPECTRA_POS_NONE,
                                   "out of memory");
        }

        for (k = 0, p = v + 2; p < end; p += 2, k++) {
            hi = spectra_pq_hex((u_char) p[0]);
            lo = spectra_pq_hex((u_char) p[1]);

            if (hi < 0 || lo < 0) {
                return spectra_pq_bad(err, c, "a bytea with a bad hex "
                                      "digit");
            }

            scratch->p[k] = (u_char) (hi << 4 | lo);
        }

        rc = spectra_pq_bytes(w, col, scratch->p, (size_t) k);
        break;

    case SPECTRA_PG_UUID:
        for (k = 0; k < 16 && p < end; k++) {
            if (*p == '-' && (k == 4 || k == 6 || k == 8 || k == 10)) {
                p++;
            }

            hi = p + 1 < end ? spectra_pq_hex((u_char) p[0]) : -1;
            lo = p + 1 < end ? spectra_pq_hex((u_char) p[1]) : -1;

            if (hi < 0 || lo < 0) {
                break;
            }

            b[k] = (u_char) (hi << 4 | lo);
            p += 2;
        }

        if (k != 16 || p != end) {
            return spectra_pq_bad(err, c, "a uuid PostgreSQL does not "
                                  "print");
        }

        rc = spectra_pq_bytes(w, col, b, 16);
        break;

    default:
        /* text and its kin: the bytes as they are (UTF-8) */
        rc = spectra_pq_bytes(w, col, (const u_char *) v, len);
    }

    if (rc != 0) {
        return spectra_err_set(err, -1, SPECTRA_POS_NONE, "%s",
                               spectra_pq_error(w));
    }

    return 0;
}
