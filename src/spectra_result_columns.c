/*
 * The columns of a result: each one's unique name (and its escaped
 * "name": key for objects) and its stable type name, and the
 * "metadata.columns" array that shows them.
 */

#include "spectra_result_internal.h"
#include "spectra_json.h"

#include <stdio.h>
#include <string.h>


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


static spectra_name_slot_t *spectra_result_name_slot(spectra_name_set_t *set,
    const u_char *name, size_t len);
static int spectra_result_reserve(spectra_result_out_t *out, size_t need);
static u_char *spectra_result_string(u_char *dst, const u_char *s,
    size_t len);


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

int
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


static u_char *
spectra_result_string(u_char *dst, const u_char *s, size_t len)
{
    *dst++ = '"';
    dst = spectra_json_escape(dst, s, len);
    *dst++ = '"';

    return dst;
}
