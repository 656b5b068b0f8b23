/*
 * Named parameters (:name, the Data API's form) as PostgreSQL's own
 * scanner sees them: a ':' token followed without a gap by an identifier
 * or keyword token. "::" and ":=" are tokens of their own, and a ':' in a
 * string, comment, dollar quote or quoted identifier is no token at all,
 * so none of them is a parameter. $n placeholders are refused: the Data
 * API binds by name. For the policy the names become "$1" padded with
 * spaces (positions stay), for libpq spectra_sql_bind() numbers them.
 */

#include <stdio.h>
#include <string.h>

#include "spectra_sql_parser.h"


static int spectra_sql_param_at(const spectra_sql_text_t *t, size_t i,
    spectra_str_t *name, spectra_err_t *err);
static int spectra_sql_param_add(const spectra_sql_text_t *t,
    const spectra_str_t *name, spectra_str_t *names, size_t max,
    size_t *n, size_t *k, spectra_err_t *err);


/*
 * Whether tokens i and i + 1 are a :name: -1 no, 0 yes (name set), or an
 * error code (a $n, a name that is not a plain identifier).
 */

static int
spectra_sql_param_at(const spectra_sql_text_t *t, size_t i,
    spectra_str_t *name, spectra_err_t *err)
{
    size_t                k, len;
    u_char                c;
    const u_char         *s;
    spectra_sql_token_t  *tk, *next;

    tk = t->tok[i];

    if (tk->token == PG_QUERY__TOKEN__PARAM) {
        return spectra_sql_fail(err, SPECTRA_SQL_ERR_PARAMS, t->p, t->len,
                                (size_t) tk->start, "use :name",
                                "positional parameters (%.*s) are not "
                                "supported",
                                (int) (tk->end - tk->start > 12
                                       ? 12 : tk->end - tk->start),
                                (const char *) t->p + tk->start);
    }

    if (tk->token != PG_QUERY__TOKEN__ASCII_58 || i + 1 >= t->ntok) {
        return -1;
    }

    next = t->tok[i + 1];

    if (next->start != tk->end
        || (next->token != PG_QUERY__TOKEN__IDENT
            && next->keyword_kind == PG_QUERY__KEYWORD_KIND__NO_KEYWORD)
        || t->p[next->start] == '"')
    {
        return -1;
    }

    s = t->p + next->start;
    len = (size_t) (next->end - next->start);

    for (k = 0; k < len; k++) {
        c = s[k];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
              || (c >= '0' && c <= '9') || c == '_'))
        {
            return spectra_sql_fail(err, SPECTRA_SQL_ERR_PARAMS, t->p,
                                    t->len, (size_t) tk->start,
                                    "a name is letters, digits and _",
                                    "invalid parameter name");
        }
    }

    name->data = (u_char *) s;
    name->len = len;

    return 0;
}


/* Adds a name unless it is known; *k is its index. */

static int
spectra_sql_param_add(const spectra_sql_text_t *t, const spectra_str_t *name,
    spectra_str_t *names, size_t max, size_t *n, size_t *k,
    spectra_err_t *err)
{
    size_t  i;

    for (i = 0; i < *n; i++) {
        if (names[i].len == name->len
            && memcmp(names[i].data, name->data, name->len) == 0)
        {
            *k = i;
            return SPECTRA_SQL_OK;
        }
    }

    if (*n == max) {
        return spectra_sql_fail(err, SPECTRA_SQL_ERR_PARAMS, t->p, t->len,
                                (size_t) (name->data - t->p) - 1, NULL,
                                "too many named parameters (at most %zu)",
                                max);
    }

    names[*n] = *name;
    *k = (*n)++;

    return SPECTRA_SQL_OK;
}


int
spectra_sql_params_mark(spectra_sql_text_t *t, spectra_str_t *names,
    size_t max, size_t *n, spectra_err_t *err)
{
    int            rc;
    size_t         i, k, start;
    spectra_str_t  name;

    *n = 0;

    for (i = 0; i < t->ntok; i++) {
        rc = spectra_sql_param_at(t, i, &name, err);

        if (rc < 0) {
            continue;
        }

        if (rc > 0) {
            return rc;
        }

        rc = spectra_sql_param_add(t, &name, names, max, n, &k, err);
        if (rc != SPECTRA_SQL_OK) {
            return rc;
        }

        /* ":name" is at least two bytes, as "$1" is */
        start = (size_t) t->tok[i]->start;
        memset(t->text + start, ' ', name.len + 1);
        t->text[start] = '$';
        t->text[start + 1] = '1';
        i++;
    }

    return SPECTRA_SQL_OK;
}


size_t
spectra_sql_bind_len(size_t len)
{
    /* ":x" (2 bytes) at most becomes "$64" (3 bytes) */
    return len + len / 2 + 2;
}


int
spectra_sql_bind(const u_char *p, size_t len, u_char *out, size_t *out_len,
    spectra_str_t *names, size_t max_names, size_t *nnames,
    spectra_err_t *err)
{
    int                 rc;
    size_t              i, k, from, start;
    u_char             *o;
    spectra_str_t       name;
    spectra_sql_text_t  t;

    *nnames = 0;
    *out_len = 0;

    rc = spectra_sql_text_init(&t, p, len, err);

    if (rc != SPECTRA_SQL_OK) {
        spectra_sql_text_free(&t);
        return rc;
    }

    o = out;
    from = 0;

    for (i = 0; i < t.ntok; i++) {
        rc = spectra_sql_param_at(&t, i, &name, err);

        if (rc < 0) {
            continue;
        }

        if (rc == 0) {
            rc = spectra_sql_param_add(&t, &name, names, max_names, nnames,
                                       &k, err);
        }

        if (rc != SPECTRA_SQL_OK) {
            spectra_sql_text_free(&t);
            return rc;
        }

        start = (size_t) t.tok[i]->start;
        memcpy(o, p + from, start - from);
        o += start - from;
        o += sprintf((char *) o, "$%zu", k + 1);
        from = (size_t) t.tok[i + 1]->end;
        i++;
    }

    memcpy(o, p + from, len - from);
    o += len - from;
    *o = '\0';
    *out_len = (size_t) (o - out);

    spectra_sql_text_free(&t);

    return SPECTRA_SQL_OK;
}
