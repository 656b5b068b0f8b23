/*
 * Named parameters (:name) bound server-side.
 *
 * A small lexer walks the SQL the way PostgreSQL splits it: '...' and
 * E'...' strings, "identifiers", $tag$ dollar quotes, -- and nested block
 * comments are skipped; "::" is a cast; ":name" (a letter or '_' first) is
 * a parameter and becomes $n, the same name always the same n. The values
 * are sent as untyped text parameters, never spliced into the SQL.
 *
 * Nothing is refused for what it does: every statement runs in a session
 * logged in as its db user, so PostgreSQL's privileges decide (a SET ROLE
 * to another tenant fails there, with 42501).
 */

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dataapi.h"


static int da_ident_start(int c);
static int da_ident_char(int c);


static int
da_ident_start(int c)
{
    return isalpha(c) || c == '_' || c >= 0x80;
}


static int
da_ident_char(int c)
{
    return isalnum(c) || c == '_' || c == '$' || c >= 0x80;
}


/*
 * Rewrites sql with $n placeholders for the parameters (a JSON array of
 * {"name", "value"} objects, or NULL). On success *out is a malloc()ed
 * string and *values a malloc()ed array of *nvalues pointers into
 * parameters. Returns 0, or -1 with a message in err.
 */
int
da_sql_bind(const char *sql, json_t *parameters, char **out,
    const char ***values, int *nvalues, char *err, size_t errlen)
{
    const char   *p, *end, *names[DA_MAX_PARAMS];
    size_t        len, i, nlen[DA_MAX_PARAMS], pos, n;
    size_t        nparams, depth;
    int           nused, k, found;
    char         *o;
    const char  **v;
    json_t       *item;

    len = strlen(sql);
    nparams = parameters != NULL ? json_array_size(parameters) : 0;

    if (nparams > DA_MAX_PARAMS) {
        snprintf(err, errlen, "Too many parameters: at most %d",
                 DA_MAX_PARAMS);
        return -1;
    }

    /* each ":x" becomes at most "$256": the output is at most 2x + 1 */
    o = malloc(2 * len + 1);
    v = calloc(nparams + 1, sizeof(char *));
    if (o == NULL || v == NULL) {
        free(o);
        free(v);
        snprintf(err, errlen, "Out of memory");
        return -1;
    }

    p = sql;
    end = sql + len;
    pos = 0;
    nused = 0;

#define da_copy(from, to)                                                    \
    do {                                                                     \
        memcpy(o + pos, from, (size_t) ((to) - (from)));                     \
        pos += (size_t) ((to) - (from));                                     \
    } while (0)

    while (p < end) {
        const char  *s = p;

        if (*p == '-' && p + 1 < end && p[1] == '-') {
            while (p < end && *p != '\n') {
                p++;
            }

            da_copy(s, p);
            continue;
        }

        if (*p == '/' && p + 1 < end && p[1] == '*') {
            depth = 1;
            p += 2;

            while (p < end && depth > 0) {
                if (*p == '/' && p + 1 < end && p[1] == '*') {
                    depth++;
                    p += 2;

                } else if (*p == '*' && p + 1 < end && p[1] == '/') {
                    depth--;
                    p += 2;

                } else {
                    p++;
                }
            }

            da_copy(s, p);
            continue;
        }

        if (*p == '\'' || ((*p == 'E' || *p == 'e') && p + 1 < end
                           && p[1] == '\''
                           && (p == sql || !da_ident_char((u_char) p[-1]))))
        {
            int  escapes = (*p != '\'');

            p += escapes ? 2 : 1;

            while (p < end) {
                if (escapes && *p == '\\' && p + 1 < end) {
                    p += 2;
                    continue;
                }

                if (*p == '\'') {
                    if (p + 1 < end && p[1] == '\'') {
                        p += 2;
                        continue;
                    }

                    p++;
                    break;
                }

                p++;
            }

            da_copy(s, p);
            continue;
        }

        if (*p == '"') {
            p++;

            while (p < end) {
                if (*p == '"') {
                    if (p + 1 < end && p[1] == '"') {
                        p += 2;
                        continue;
                    }

                    p++;
                    break;
                }

                p++;
            }

            da_copy(s, p);
            continue;
        }

        if (*p == '$' && (p + 1 < end)
            && (p[1] == '$' || da_ident_start((u_char) p[1]))
            && (p == sql || !da_ident_char((u_char) p[-1])))
        {
            const char  *tag_end = p + 1;

            while (tag_end < end && *tag_end != '$'
                   && da_ident_char((u_char) *tag_end))
            {
                tag_end++;
            }

            if (tag_end < end && *tag_end == '$') {
                size_t       tlen = (size_t) (tag_end - p + 1);
                const char  *q = tag_end + 1;

                while (q + tlen <= end && memcmp(q, p, tlen) != 0) {
                    q++;
                }

                p = (q + tlen <= end) ? q + tlen : end;
                da_copy(s, p);
                continue;
            }
        }

        if (*p == ':' && p + 1 < end && p[1] == ':') {
            p += 2;
            da_copy(s, p);
            continue;
        }

        if (*p == ':' && p + 1 < end
            && (isalpha((u_char) p[1]) || p[1] == '_'))
        {
            const char  *name = p + 1;

            p = name;

            while (p < end && (isalnum((u_char) *p) || *p == '_')) {
                p++;
            }

            n = (size_t) (p - name);
            found = 0;

            for (k = 0; k < nused; k++) {
                if (nlen[k] == n && memcmp(names[k], name, n) == 0) {
                    found = k + 1;
                    break;
                }
            }

            if (!found) {
                for (i = 0; i < nparams; i++) {
                    const char  *pn;

                    item = json_array_get(parameters, i);
                    pn = json_string_value(json_object_get(item, "name"));

                    if (pn != NULL && strlen(pn) == n
                        && memcmp(pn, name, n) == 0)
                    {
                        break;
                    }
                }

                if (i == nparams) {
                    snprintf(err, errlen, "The parameter \"%.*s\" in the "
                             "SQL has no value in Parameters",
                             (int) (n > 64 ? 64 : n), name);
                    goto failed;
                }

                names[nused] = name;
                nlen[nused] = n;
                v[nused] = json_string_value(json_object_get(item, "value"));
                found = ++nused;
            }

            pos += (size_t) sprintf(o + pos, "$%d", found);
            continue;
        }

        if (da_ident_start((u_char) *p)) {
            /* identifiers and keywords are copied whole */
            while (p < end && da_ident_char((u_char) *p)) {
                p++;
            }

            da_copy(s, p);
            continue;
        }

        p++;
        da_copy(s, p);
    }

#undef da_copy

    o[pos] = '\0';
    *out = o;
    *values = v;
    *nvalues = nused;

    return 0;

failed:

    free(o);
    free(v);
    return -1;
}
