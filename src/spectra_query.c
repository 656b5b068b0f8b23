/*
 * POST /v1/queries bodies (spectra_query.h): one pass over the JSON
 * object with jansson, every field typed and range checked.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "spectra_query.h"


static int spectra_query_integer(json_t *v, const char *name, uint64_t min,
    uint64_t max, uint64_t *out, spectra_err_t *err);
static int spectra_query_choice(json_t *v, const char *name,
    const char *a, const char *b, int *which, spectra_err_t *err);
static int spectra_query_string(json_t *v, const spectra_pool_t *pool,
    spectra_str_t *out);
static int spectra_query_token_valid(const u_char *p, size_t len);
static int spectra_query_name_valid(const u_char *p, size_t len);
static int spectra_query_parameters(json_t *params,
    const spectra_pool_t *pool, spectra_query_t *q, spectra_err_t *err);
static uint64_t spectra_query_option(const u_char *p, size_t len,
    const char *key);
static int spectra_query_too_big(const u_char *body, size_t len,
    const spectra_query_limits_t *limits, const spectra_pool_t *pool,
    spectra_query_t *q, spectra_err_t *err);


int
spectra_query_parse(const u_char *body, size_t len,
    const spectra_query_limits_t *limits, const spectra_pool_t *pool,
    spectra_query_t *q, spectra_err_t *err)
{
    int            rc, which;
    json_t        *root, *value, *params;
    const char    *key;
    json_error_t   jerr;

    memset(q, 0, sizeof(spectra_query_t));
    q->wait_ms = limits->wait_ms;
    q->timeout_ms = limits->timeout_ms;
    q->row_limit = limits->rows;
    q->byte_limit = limits->bytes;
    q->format = SPECTRA_RESULT_OBJECTS;

    if (len == 0) {
        return spectra_err_set(err, SPECTRA_QUERY_INVALID, SPECTRA_POS_NONE,
                               "the request body is empty");
    }

    /* any JSON value parses, so that a valid non-object gets its message */
    root = json_loadb((const char *) body, len,
                      JSON_REJECT_DUPLICATES|JSON_DECODE_ANY, &jerr);

    if (root == NULL
        && (strncmp(jerr.text, "too big integer", 15) == 0
            || strncmp(jerr.text, "too big negative integer", 24) == 0)
        && spectra_query_too_big(body, len, limits, pool, q, err)
           == SPECTRA_QUERY_INVALID)
    {
        return SPECTRA_QUERY_INVALID;
    }

    if (root == NULL) {
        return spectra_err_set(err, SPECTRA_QUERY_INVALID,
                               jerr.position > 0 ? (size_t) jerr.position - 1
                                                 : 0,
                               "malformed JSON at line %d, column %d: %s",
                               jerr.line, jerr.column, jerr.text);
    }

    if (!json_is_object(root)) {
        rc = spectra_err_set(err, SPECTRA_QUERY_INVALID, SPECTRA_POS_NONE,
                             "the request body must be a JSON object");
        goto done;
    }

    params = NULL;
    rc = SPECTRA_QUERY_OK;

    json_object_foreach(root, key, value) {

        if (strcmp(key, "sql") == 0) {
            /* jansson refuses \u0000 (no JSON_ALLOW_NUL): sql has no NUL */
            if (!json_is_string(value)) {
                goto bad_type;
            }

            rc = spectra_query_string(value, pool, &q->sql);

        } else if (strcmp(key, "parameters") == 0) {
            if (!json_is_array(value)) {
                goto bad_type;
            }

            params = value;

        } else if (strcmp(key, "wait_timeout_seconds") == 0) {
            rc = spectra_query_integer(value, key, 0,
                                       limits->max_wait_ms / 1000,
                                       &q->wait_ms, err);
            q->wait_ms *= 1000;

        } else if (strcmp(key, "timeout_seconds") == 0) {
            rc = spectra_query_integer(value, key, 1,
                                       limits->timeout_ms / 1000,
                                       &q->timeout_ms, err);
            q->timeout_ms *= 1000;

        } else if (strcmp(key, "on_wait_timeout") == 0) {
            rc = spectra_query_choice(value, key, "continue", "cancel",
                                      &which, err);
            q->cancel_on_wait_timeout = (which == 1);

        } else if (strcmp(key, "row_limit") == 0) {
            rc = spectra_query_integer(value, key, 1, limits->rows,
                                       &q->row_limit, err);

            if (rc != SPECTRA_QUERY_OK && json_is_integer(value)) {
                rc = spectra_err_set(err, rc, SPECTRA_POS_NONE,
                                     "row_limit must be an integer from 1 "
                                     "to %llu (use the bulk API for more "
                                     "rows)",
                                     (unsigned long long) limits->rows);
            }

        } else if (strcmp(key, "byte_limit") == 0) {
            rc = spectra_query_integer(value, key, 1024, limits->bytes,
                                       &q->byte_limit, err);

        } else if (strcmp(key, "result_format") == 0) {
            rc = spectra_query_choice(value, key, "objects", "arrays",
                                      &which, err);
            q->format = (which == 1) ? SPECTRA_RESULT_ARRAYS
                                     : SPECTRA_RESULT_OBJECTS;

        } else if (strcmp(key, "idempotency_key") == 0) {
            if (!json_is_string(value)) {
                goto bad_type;
            }

            if (!spectra_query_token_valid(
                     (const u_char *) json_string_value(value),
                     json_string_length(value)))
            {
                rc = spectra_err_set(err, SPECTRA_QUERY_INVALID,
                                     SPECTRA_POS_NONE,
                                     "idempotency_key must be 1 to %d "
                                     "characters of A-Z a-z 0-9 . _ : -",
                                     SPECTRA_QUERY_KEY_MAX);
                goto done;
            }

            rc = spectra_query_string(value, pool, &q->idempotency_key);

        } else {
            rc = spectra_err_set(err, SPECTRA_QUERY_INVALID,
                                 SPECTRA_POS_NONE,
                                 "unknown field \"%.64s\"", key);
        }

        if (rc != SPECTRA_QUERY_OK) {
            if (rc == SPECTRA_QUERY_NOMEM) {
                spectra_err_set(err, rc, SPECTRA_POS_NONE, "out of memory");
            }

            goto done;
        }
    }

    if (q->sql.data == NULL) {
        rc = spectra_err_set(err, SPECTRA_QUERY_INVALID, SPECTRA_POS_NONE,
                             "the field \"sql\" is required");
        goto done;
    }

    if (q->wait_ms > q->timeout_ms) {
        q->wait_ms = q->timeout_ms;
    }

    if (params != NULL) {
        rc = spectra_query_parameters(params, pool, q, err);
    }

done:

    json_decref(root);

    return rc;

bad_type:

    rc = spectra_err_set(err, SPECTRA_QUERY_INVALID, SPECTRA_POS_NONE,
                         "the field \"%s\" has the wrong type", key);
    json_decref(root);

    return rc;
}


/*
 * An integer within min..max.  JSON has no integer type: 2.0 and 2e0 are
 * of the wrong type like 2.5 and "2", as a client that sends them has
 * likely computed them.
 */

/*
 * An integer past 64 bits is a JSON error to jansson. When it is the value
 * of one of the integer fields, the answer names the field's range, as
 * for any other value out of range: the field is checked again with the
 * largest (or smallest) 64-bit value in its place. Elsewhere (a parameter
 * value) it stays malformed JSON.
 */

static int
spectra_query_too_big(const u_char *body, size_t len,
    const spectra_query_limits_t *limits, const spectra_pool_t *pool,
    spectra_query_t *q, spectra_err_t *err)
{
    int            n;
    char           text[64];
    double         d;
    json_t        *root, *value;
    const char    *key;
    json_error_t   jerr;

    root = json_loadb((const char *) body, len,
                      JSON_REJECT_DUPLICATES|JSON_DECODE_INT_AS_REAL, &jerr);

    if (root == NULL) {
        return SPECTRA_QUERY_OK;
    }

    n = 0;

    json_object_foreach(root, key, value) {
        if (!json_is_real(value)
            || (strcmp(key, "wait_timeout_seconds") != 0
                && strcmp(key, "timeout_seconds") != 0
                && strcmp(key, "row_limit") != 0
                && strcmp(key, "byte_limit") != 0))
        {
            continue;
        }

        d = json_real_value(value);

        if (d >= 9223372036854775807.0 || d <= -9223372036854775808.0) {
            n = snprintf(text, sizeof(text), "{\"%s\": %s}", key,
                         d > 0 ? "9223372036854775807"
                               : "-9223372036854775808");
            break;
        }
    }

    json_decref(root);

    if (n <= 0 || (size_t) n >= sizeof(text)) {
        return SPECTRA_QUERY_OK;
    }

    return spectra_query_parse((const u_char *) text, (size_t) n, limits,
                               pool, q, err);
}


static int
spectra_query_integer(json_t *v, const char *name, uint64_t min,
    uint64_t max, uint64_t *out, spectra_err_t *err)
{
    json_int_t  n;

    if (!json_is_integer(v)) {
        return spectra_err_set(err, SPECTRA_QUERY_INVALID, SPECTRA_POS_NONE,
                               "the field \"%s\" has the wrong type", name);
    }

    n = json_integer_value(v);

    if (n < 0 || (uint64_t) n < min || (uint64_t) n > max) {
        return spectra_err_set(err, SPECTRA_QUERY_INVALID, SPECTRA_POS_NONE,
                               "%s must be an integer from %llu to %llu",
                               name, (unsigned long long) min,
                               (unsigned long long) max);
    }

    *out = (uint64_t) n;

    return SPECTRA_QUERY_OK;
}


static int
spectra_query_choice(json_t *v, const char *name, const char *a,
    const char *b, int *which, spectra_err_t *err)
{
    const char  *s;

    if (!json_is_string(v)) {
        return spectra_err_set(err, SPECTRA_QUERY_INVALID, SPECTRA_POS_NONE,
                               "the field \"%s\" has the wrong type", name);
    }

    s = json_string_value(v);

    if (strcmp(s, a) == 0) {
        *which = 0;
        return SPECTRA_QUERY_OK;
    }

    if (strcmp(s, b) == 0) {
        *which = 1;
        return SPECTRA_QUERY_OK;
    }

    return spectra_err_set(err, SPECTRA_QUERY_INVALID, SPECTRA_POS_NONE,
                           "%s must be \"%s\" or \"%s\"", name, a, b);
}


static int
spectra_query_string(json_t *v, const spectra_pool_t *pool,
    spectra_str_t *out)
{
    out->len = json_string_length(v);
    out->data = spectra_pstrdup(pool, (const u_char *) json_string_value(v),
                                out->len);

    return out->data != NULL ? SPECTRA_QUERY_OK : SPECTRA_QUERY_NOMEM;
}


/* 1..64 characters of A-Z a-z 0-9 . _ : - */

static int
spectra_query_token_valid(const u_char *p, size_t len)
{
    size_t  i;

    if (len == 0 || len > SPECTRA_QUERY_KEY_MAX) {
        return 0;
    }

    for (i = 0; i < len; i++) {
        if (!((p[i] >= 'a' && p[i] <= 'z') || (p[i] >= 'A' && p[i] <= 'Z')
              || (p[i] >= '0' && p[i] <= '9') || p[i] == '.' || p[i] == '_'
              || p[i] == ':' || p[i] == '-'))
        {
            return 0;
        }
    }

    return 1;
}


/* A parameter name as the SQL can use it: [A-Za-z_][A-Za-z0-9_]* */

static int
spectra_query_name_valid(const u_char *p, size_t len)
{
    size_t  i;

    if (len == 0 || len > SPECTRA_QUERY_NAME_MAX
        || (p[0] >= '0' && p[0] <= '9'))
    {
        return 0;
    }

    for (i = 0; i < len; i++) {
        if (!((p[i] >= 'a' && p[i] <= 'z') || (p[i] >= 'A' && p[i] <= 'Z')
              || (p[i] >= '0' && p[i] <= '9') || p[i] == '_'))
        {
            return 0;
        }
    }

    return 1;
}


/*
 * "parameters": [{"name": "since", "value": "2026-01-01"}, ...]: values
 * are strings for the Data API; numbers and booleans become their JSON
 * text (a double with 17 significant digits, so it reads back the same).
 */

static int
spectra_query_parameters(json_t *params, const spectra_pool_t *pool,
    spectra_query_t *q, spectra_err_t *err)
{
    char                   *dump;
    size_t                  i, j, n;
    json_t                 *item, *name, *value;
    spectra_query_param_t  *p;
    char                    buf[32];

    n = json_array_size(params);

    if (n > SPECTRA_QUERY_MAX_PARAMS) {
        return spectra_err_set(err, SPECTRA_QUERY_INVALID, SPECTRA_POS_NONE,
                               "parameters may have at most %d entries",
                               SPECTRA_QUERY_MAX_PARAMS);
    }

    q->params = spectra_palloc(pool, (n ? n : 1)
                                     * sizeof(spectra_query_param_t));
    if (q->params == NULL) {
        return spectra_err_set(err, SPECTRA_QUERY_NOMEM, SPECTRA_POS_NONE,
                               "out of memory");
    }

    for (i = 0; i < n; i++) {
        item = json_array_get(params, i);
        name = json_object_get(item, "name");
        value = json_object_get(item, "value");

        if (!json_is_object(item) || !json_is_string(name)
            || value == NULL || json_object_size(item) != 2)
        {
            return spectra_err_set(err, SPECTRA_QUERY_INVALID,
                                   SPECTRA_POS_NONE,
                                   "parameters[%zu] must be {\"name\": ..., "
                                   "\"value\": ...}", i);
        }

        p = &q->params[i];

        if (!spectra_query_name_valid(
                 (const u_char *) json_string_value(name),
                 json_string_length(name)))
        {
            return spectra_err_set(err, SPECTRA_QUERY_INVALID,
                                   SPECTRA_POS_NONE,
                                   "parameters[%zu]: the name must be 1 to "
                                   "%d characters of A-Z a-z 0-9 _, not "
                                   "starting with a digit", i,
                                   SPECTRA_QUERY_NAME_MAX);
        }

        if (spectra_query_string(name, pool, &p->name) != SPECTRA_QUERY_OK) {
            return spectra_err_set(err, SPECTRA_QUERY_NOMEM,
                                   SPECTRA_POS_NONE, "out of memory");
        }

        for (j = 0; j < i; j++) {
            if (q->params[j].name.len == p->name.len
                && memcmp(q->params[j].name.data, p->name.data,
                          p->name.len) == 0)
            {
                return spectra_err_set(err, SPECTRA_QUERY_INVALID,
                                       SPECTRA_POS_NONE,
                                       "parameter \"%s\" is given twice",
                                       (char *) p->name.data);
            }
        }

        if (json_is_string(value)) {
            if (json_string_length(value) > SPECTRA_QUERY_VALUE_MAX) {
                return spectra_err_set(err, SPECTRA_QUERY_INVALID,
                                       SPECTRA_POS_NONE,
                                       "parameter \"%s\": the value is "
                                       "longer than %d bytes",
                                       (char *) p->name.data,
                                       SPECTRA_QUERY_VALUE_MAX);
            }

            if (spectra_query_string(value, pool, &p->value)
                != SPECTRA_QUERY_OK)
            {
                return spectra_err_set(err, SPECTRA_QUERY_NOMEM,
                                       SPECTRA_POS_NONE, "out of memory");
            }

            continue;
        }

        if (json_is_integer(value)) {
            snprintf(buf, sizeof(buf), "%lld",
                     (long long) json_integer_value(value));

        } else if (json_is_real(value)) {
            dump = json_dumps(value, JSON_ENCODE_ANY|JSON_REAL_PRECISION(17));
            if (dump == NULL) {
                return spectra_err_set(err, SPECTRA_QUERY_NOMEM,
                                       SPECTRA_POS_NONE, "out of memory");
            }

            snprintf(buf, sizeof(buf), "%s", dump);
            free(dump);

        } else if (json_is_boolean(value)) {
            snprintf(buf, sizeof(buf), "%s",
                     json_is_true(value) ? "true" : "false");

        } else {
            return spectra_err_set(err, SPECTRA_QUERY_INVALID,
                                   SPECTRA_POS_NONE,
                                   "parameter \"%s\": the value must be a "
                                   "string, number or boolean",
                                   (char *) p->name.data);
        }

        p->value.len = strlen(buf);
        p->value.data = spectra_pstrdup(pool, (u_char *) buf, p->value.len);
        if (p->value.data == NULL) {
            return spectra_err_set(err, SPECTRA_QUERY_NOMEM,
                                   SPECTRA_POS_NONE, "out of memory");
        }
    }

    q->nparams = n;

    return SPECTRA_QUERY_OK;
}


int
spectra_query_params_check(const spectra_query_t *q,
    const spectra_str_t *names, size_t nnames, spectra_err_t *err)
{
    size_t  i, j;

    for (i = 0; i < q->nparams; i++) {
        for (j = 0; j < nnames; j++) {
            if (names[j].len == q->params[i].name.len
                && memcmp(names[j].data, q->params[i].name.data,
                          names[j].len) == 0)
            {
                break;
            }
        }

        if (j == nnames) {
            return spectra_err_set(err, SPECTRA_QUERY_INVALID,
                                   SPECTRA_POS_NONE,
                                   "parameter \"%s\" is not used by the SQL",
                                   (char *) q->params[i].name.data);
        }
    }

    for (j = 0; j < nnames; j++) {
        for (i = 0; i < q->nparams; i++) {
            if (names[j].len == q->params[i].name.len
                && memcmp(names[j].data, q->params[i].name.data,
                          names[j].len) == 0)
            {
                break;
            }
        }

        if (i == q->nparams) {
            return spectra_err_set(err, SPECTRA_QUERY_INVALID,
                                   SPECTRA_POS_NONE,
                                   "the SQL uses :%.*s but no parameter "
                                   "gives its value",
                                   (int) names[j].len, names[j].data);
        }
    }

    return SPECTRA_QUERY_OK;
}


int
spectra_query_params_json(const spectra_query_t *q,
    const spectra_pool_t *pool, spectra_str_t *out)
{
    char    *dump;
    size_t   i;
    json_t  *a, *o;

    out->len = 0;
    out->data = NULL;

    if (q->nparams == 0) {
        return SPECTRA_QUERY_OK;
    }

    a = json_array();
    if (a == NULL) {
        return SPECTRA_QUERY_NOMEM;
    }

    for (i = 0; i < q->nparams; i++) {
        o = json_pack("{s:s%,s:s%}",
                      "name", (const char *) q->params[i].name.data,
                      q->params[i].name.len,
                      "value", (const char *) q->params[i].value.data,
                      q->params[i].value.len);

        if (o == NULL || json_array_append_new(a, o) != 0) {
            json_decref(a);
            return SPECTRA_QUERY_NOMEM;
        }
    }

    dump = json_dumps(a, JSON_COMPACT);
    json_decref(a);

    if (dump == NULL) {
        return SPECTRA_QUERY_NOMEM;
    }

    out->len = strlen(dump);
    out->data = spectra_pstrdup(pool, (u_char *) dump, out->len);
    free(dump);

    return out->data != NULL ? SPECTRA_QUERY_OK : SPECTRA_QUERY_NOMEM;
}


u_char *
spectra_query_options(u_char *dst, const spectra_query_t *q)
{
    int  n;

    n = snprintf((char *) dst, SPECTRA_QUERY_OPTIONS_LEN,
                 "{\"row_limit\":%llu,\"byte_limit\":%llu,"
                 "\"format\":\"%s\"",
                 (unsigned long long) q->row_limit,
                 (unsigned long long) q->byte_limit,
                 q->format == SPECTRA_RESULT_ARRAYS ? "arrays" : "objects");

    if (q->kept_rows > q->row_limit) {
        n += snprintf((char *) dst + n, SPECTRA_QUERY_OPTIONS_LEN - n,
                      ",\"kept_rows\":%llu",
                      (unsigned long long) q->kept_rows);
    }

    dst[n++] = '}';

    return dst + n;
}


/* The unsigned integer after "key": in an options text; 0 if none. */

static uint64_t
spectra_query_option(const u_char *p, size_t len, const char *key)
{
    size_t          klen;
    uint64_t        n;
    const u_char   *last, *s;

    klen = strlen(key);
    last = p + len;

    for (s = p; s + klen + 3 <= last; s++) {
        if (s[0] == '"' && memcmp(s + 1, key, klen) == 0
            && s[klen + 1] == '"' && s[klen + 2] == ':')
        {
            s += klen + 3;
            n = 0;

            while (s < last && *s >= '0' && *s <= '9'
                   && n < UINT64_MAX / 10 - 10)
            {
                n = n * 10 + (uint64_t) (*s++ - '0');
            }

            return n;
        }
    }

    return 0;
}


void
spectra_query_options_read(const u_char *p, size_t len,
    const spectra_query_limits_t *limits, spectra_query_t *q)
{
    size_t         i, alen;
    uint64_t       n;
    const char    *arrays = "\"format\":\"arrays\"";

    q->row_limit = limits->rows;
    q->byte_limit = limits->bytes;
    q->format = SPECTRA_RESULT_OBJECTS;
    q->kept_rows = q->row_limit;

    if (p == NULL) {
        return;
    }

    n = spectra_query_option(p, len, "row_limit");
    if (n > 0 && n <= limits->rows) {
        q->row_limit = n;
    }

    n = spectra_query_option(p, len, "byte_limit");
    if (n > 0 && n <= limits->bytes) {
        q->byte_limit = n;
    }

    /* the statement's own LIMIT: what it was, whatever today's limits */
    n = spectra_query_option(p, len, "kept_rows");
    q->kept_rows = (n > q->row_limit) ? n : q->row_limit;

    alen = strlen(arrays);

    for (i = 0; i + alen <= len; i++) {
        if (memcmp(p + i, arrays, alen) == 0) {
            q->format = SPECTRA_RESULT_ARRAYS;
            break;
        }
    }
}
