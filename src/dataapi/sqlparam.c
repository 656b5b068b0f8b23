/*
 * Named parameters (:name) bound server-side, with the core's scanner
 * (PostgreSQL's own, through libpg_query): spectra_sql_bind() turns each
 * :name into $n, the same name always the same n; a :name in a string, a
 * comment, a dollar quote or a "::" cast is not one. The values are sent
 * as untyped text parameters, never spliced into the SQL.
 *
 * Nothing is refused for what it does: every statement runs in a session
 * logged in as its db user, so PostgreSQL's privileges decide (a SET ROLE
 * to another tenant fails there, with 42501).
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataapi.h"
#include "spectra_sql.h"


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
    int             rc;
    char           *o;
    size_t          len, olen, i, k, nparams, nnames;
    json_t         *item;
    const char     *pn, **v;
    spectra_err_t   e;
    spectra_str_t   names[DA_MAX_PARAMS];

    len = strlen(sql);
    nparams = parameters != NULL ? json_array_size(parameters) : 0;

    if (nparams > DA_MAX_PARAMS) {
        snprintf(err, errlen, "Too many parameters: at most %d",
                 DA_MAX_PARAMS);
        return -1;
    }

    o = malloc(spectra_sql_bind_len(len));
    v = calloc(DA_MAX_PARAMS + 1, sizeof(char *));
    if (o == NULL || v == NULL) {
        free(o);
        free(v);
        snprintf(err, errlen, "Out of memory");
        return -1;
    }

    rc = spectra_sql_bind((const u_char *) sql, len, (u_char *) o, &olen,
                          names, DA_MAX_PARAMS, &nnames, &e);

    if (rc != SPECTRA_SQL_OK) {
        snprintf(err, errlen, "%s", e.message);
        goto failed;
    }

    for (k = 0; k < nnames; k++) {
        for (i = 0; i < nparams; i++) {
            item = json_array_get(parameters, i);
            pn = json_string_value(json_object_get(item, "name"));

            if (pn != NULL && strlen(pn) == names[k].len
                && memcmp(pn, names[k].data, names[k].len) == 0)
            {
                break;
            }
        }

        if (i == nparams) {
            snprintf(err, errlen, "The parameter \"%.*s\" in the SQL has no "
                     "value in Parameters",
                     (int) (names[k].len > 64 ? 64 : names[k].len),
                     (const char *) names[k].data);
            goto failed;
        }

        v[k] = json_string_value(json_object_get(item, "value"));
    }

    *out = o;
    *values = v;
    *nvalues = (int) nnames;

    return 0;

failed:

    free(o);
    free(v);
    return -1;
}
