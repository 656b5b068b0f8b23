/*
 * Thrift compact protocol encoder (see spectra_thrift.h).
 *
 * Integers are ULEB128 varints, signed ones zigzag-encoded first; a field
 * header is one byte (delta << 4 | type) when the field id is 1..15 above
 * the previous one in the same struct, else the type byte and the id as a
 * zigzag varint; bools live in the field header's type nibble; a list
 * header is (n << 4 | type) for n < 15, else (0xf0 | type) and n.
 */

#include <stdlib.h>
#include <string.h>

#include "spectra_thrift.h"


static int spectra_thrift_room(spectra_thrift_t *t, size_t n);


void
spectra_thrift_init(spectra_thrift_t *t)
{
    memset(t, 0, sizeof(spectra_thrift_t));
}


void
spectra_thrift_reset(spectra_thrift_t *t)
{
    t->len = 0;
    t->err = 0;
    t->depth = 0;
    t->last[0] = 0;
}


void
spectra_thrift_free(spectra_thrift_t *t)
{
    free(t->buf);
    spectra_thrift_init(t);
}


static int
spectra_thrift_room(spectra_thrift_t *t, size_t n)
{
    u_char  *p;
    size_t   cap;

    if (t->err) {
        return -1;
    }

    if (t->len + n <= t->cap) {
        return 0;
    }

    cap = t->cap ? t->cap : 256;
    while (cap < t->len + n) {
        cap *= 2;
    }

    p = realloc(t->buf, cap);
    if (p == NULL) {
        t->err = 1;
        return -1;
    }

    t->buf = p;
    t->cap = cap;

    return 0;
}


void
spectra_thrift_raw(spectra_thrift_t *t, const void *p, size_t len)
{
    if (spectra_thrift_room(t, len) != 0) {
        return;
    }

    if (len) {
        memcpy(t->buf + t->len, p, len);
    }

    t->len += len;
}


void
spectra_thrift_varint(spectra_thrift_t *t, uint64_t v)
{
    if (spectra_thrift_room(t, 10) != 0) {
        return;
    }

    while (v >= 0x80) {
        t->buf[t->len++] = (u_char) (v | 0x80);
        v >>= 7;
    }

    t->buf[t->len++] = (u_char) v;
}


void
spectra_thrift_zigzag(spectra_thrift_t *t, int64_t v)
{
    spectra_thrift_varint(t, ((uint64_t) v << 1) ^ (uint64_t) (v >> 63));
}


void
spectra_thrift_field(spectra_thrift_t *t, int16_t id, u_char type)
{
    u_char  b;
    int     delta;

    delta = id - t->last[t->depth];

    if (delta > 0 && delta <= 15) {
        b = (u_char) (delta << 4 | type);
        spectra_thrift_raw(t, &b, 1);

    } else {
        spectra_thrift_raw(t, &type, 1);
        spectra_thrift_zigzag(t, id);
    }

    t->last[t->depth] = id;
}


void
spectra_thrift_bool(spectra_thrift_t *t, int16_t id, int v)
{
    spectra_thrift_field(t, id, v ? SPECTRA_THRIFT_TRUE
                                  : SPECTRA_THRIFT_FALSE);
}


void
spectra_thrift_i8(spectra_thrift_t *t, int16_t id, int8_t v)
{
    u_char  b;

    b = (u_char) v;
    spectra_thrift_field(t, id, SPECTRA_THRIFT_BYTE);
    spectra_thrift_raw(t, &b, 1);
}


void
spectra_thrift_i16(spectra_thrift_t *t, int16_t id, int16_t v)
{
    spectra_thrift_field(t, id, SPECTRA_THRIFT_I16);
    spectra_thrift_zigzag(t, v);
}


void
spectra_thrift_i32(spectra_thrift_t *t, int16_t id, int32_t v)
{
    spectra_thrift_field(t, id, SPECTRA_THRIFT_I32);
    spectra_thrift_zigzag(t, v);
}


void
spectra_thrift_i64(spectra_thrift_t *t, int16_t id, int64_t v)
{
    spectra_thrift_field(t, id, SPECTRA_THRIFT_I64);
    spectra_thrift_zigzag(t, v);
}


void
spectra_thrift_binary_value(spectra_thrift_t *t, const void *p, size_t len)
{
    spectra_thrift_varint(t, len);
    spectra_thrift_raw(t, p, len);
}


void
spectra_thrift_binary(spectra_thrift_t *t, int16_t id, const void *p,
    size_t len)
{
    spectra_thrift_field(t, id, SPECTRA_THRIFT_BINARY);
    spectra_thrift_binary_value(t, p, len);
}


void
spectra_thrift_string(spectra_thrift_t *t, int16_t id, const char *s)
{
    spectra_thrift_binary(t, id, s, strlen(s));
}


void
spectra_thrift_struct_push(spectra_thrift_t *t)
{
    if (t->depth + 1 >= SPECTRA_THRIFT_DEPTH) {
        t->err = 1;
        return;
    }

    t->last[++t->depth] = 0;
}


void
spectra_thrift_struct_begin(spectra_thrift_t *t, int16_t id)
{
    spectra_thrift_field(t, id, SPECTRA_THRIFT_STRUCT);
    spectra_thrift_struct_push(t);
}


void
spectra_thrift_struct_end(spectra_thrift_t *t)
{
    u_char  stop;

    stop = 0;
    spectra_thrift_raw(t, &stop, 1);

    if (t->depth > 0) {
        t->depth--;
    }
}


void
spectra_thrift_list_header(spectra_thrift_t *t, u_char type, uint32_t n)
{
    u_char  b;

    if (n < 15) {
        b = (u_char) (n << 4 | type);
        spectra_thrift_raw(t, &b, 1);

    } else {
        b = (u_char) (0xf0 | type);
        spectra_thrift_raw(t, &b, 1);
        spectra_thrift_varint(t, n);
    }
}


void
spectra_thrift_list(spectra_thrift_t *t, int16_t id, u_char type,
    uint32_t n)
{
    spectra_thrift_field(t, id, SPECTRA_THRIFT_LIST);
    spectra_thrift_list_header(t, type, n);
}
