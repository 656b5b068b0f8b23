/*
 * The Thrift compact protocol, write side only: what Parquet's page
 * headers and file footer need (structs, lists, bools, i8/i16/i32/i64,
 * binary). Values go into a growing buffer; the first allocation failure
 * is remembered in err and every later call does nothing, so that a
 * caller checks once at the end.
 */

#ifndef SPECTRA_THRIFT_H
#define SPECTRA_THRIFT_H

#include "spectra_core.h"


/* compact protocol type ids (as in field headers and list headers) */
#define SPECTRA_THRIFT_TRUE     1
#define SPECTRA_THRIFT_FALSE    2
#define SPECTRA_THRIFT_BYTE     3
#define SPECTRA_THRIFT_I16      4
#define SPECTRA_THRIFT_I32      5
#define SPECTRA_THRIFT_I64      6
#define SPECTRA_THRIFT_DOUBLE   7
#define SPECTRA_THRIFT_BINARY   8
#define SPECTRA_THRIFT_LIST     9
#define SPECTRA_THRIFT_STRUCT   12

#define SPECTRA_THRIFT_DEPTH    16


typedef struct {
    u_char                   *buf;
    size_t                    len;
    size_t                    cap;
    int                       err;          /* out of memory, too deep */
    int                       depth;
    int16_t                   last[SPECTRA_THRIFT_DEPTH];
} spectra_thrift_t;


void spectra_thrift_init(spectra_thrift_t *t);
void spectra_thrift_reset(spectra_thrift_t *t);
void spectra_thrift_free(spectra_thrift_t *t);

/* raw values: varints, zigzag, bytes */
void spectra_thrift_raw(spectra_thrift_t *t, const void *p, size_t len);
void spectra_thrift_varint(spectra_thrift_t *t, uint64_t v);
void spectra_thrift_zigzag(spectra_thrift_t *t, int64_t v);

/* a field header (short form for deltas 1..15, else the long form) */
void spectra_thrift_field(spectra_thrift_t *t, int16_t id, u_char type);

/* fields */
void spectra_thrift_bool(spectra_thrift_t *t, int16_t id, int v);
void spectra_thrift_i8(spectra_thrift_t *t, int16_t id, int8_t v);
void spectra_thrift_i16(spectra_thrift_t *t, int16_t id, int16_t v);
void spectra_thrift_i32(spectra_thrift_t *t, int16_t id, int32_t v);
void spectra_thrift_i64(spectra_thrift_t *t, int16_t id, int64_t v);
void spectra_thrift_binary(spectra_thrift_t *t, int16_t id, const void *p,
    size_t len);
void spectra_thrift_string(spectra_thrift_t *t, int16_t id, const char *s);

/* a struct field: begin (header, new field scope) ... end (STOP) */
void spectra_thrift_struct_begin(spectra_thrift_t *t, int16_t id);
void spectra_thrift_struct_end(spectra_thrift_t *t);

/* a struct as a list element or the top-level value: no field header */
void spectra_thrift_struct_push(spectra_thrift_t *t);

/* a list field's header; then n elements written with the _value calls */
void spectra_thrift_list(spectra_thrift_t *t, int16_t id, u_char type,
    uint32_t n);
void spectra_thrift_list_header(spectra_thrift_t *t, u_char type,
    uint32_t n);
#define spectra_thrift_i32_value(t, v)  spectra_thrift_zigzag(t, v)
void spectra_thrift_binary_value(spectra_thrift_t *t, const void *p,
    size_t len);

#endif /* SPECTRA_THRIFT_H */
