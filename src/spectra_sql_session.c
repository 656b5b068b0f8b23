/*
 * The session guard of spectra-dataapi: statements of any kind are fine,
 * except what would let a session leave the role it runs as (its login
 * role is a member of every tenant role) or lift its time limit. Decided
 * on the parse tree at any depth, so that ALTER ROLE ... SET role, a
 * PREPARE of a set_config call or a CTE calling it are found as well.
 */

#include <string.h>

#include "spectra_sql_parser.h"


/* Functions that change settings or run SQL given as text. */
static const spectra_str_t  spectra_sql_session_functions[] = {
    spectra_string("set_config"),
    spectra_string("ts_stat"),
    spectra_string("ts_rewrite"),
    spectra_string("query_to_xml*"),
    spectra_string("cursor_to_xml*"),
    spectra_string("dblink*")
};


static int spectra_sql_session_visit(const ProtobufCMessage *m, void *data);
static int spectra_sql_session_set(const PgQuery__VariableSetStmt *v,
    spectra_err_t *err);


int
spectra_sql_session_check(const u_char *p, size_t len, spectra_err_t *err)
{
    int                    rc;
    size_t                 i;
    spectra_sql_text_t     t;
    PgQuery__ParseResult  *tree;

    tree = NULL;

    rc = spectra_sql_text_init(&t, p, len, err);

    if (rc == SPECTRA_SQL_OK) {
        rc = spectra_sql_text_parse(&t, &tree, err);
    }

    for (i = 0; rc == SPECTRA_SQL_OK && i < tree->n_stmts; i++) {
        if (tree->stmts[i]->stmt == NULL) {
            continue;
        }

        rc = spectra_sql_walk(&tree->stmts[i]->stmt->base,
                              spectra_sql_session_visit, err);

        if (rc == SPECTRA_SQL_ERR_SYNTAX) {
            spectra_err_set(err, rc, SPECTRA_POS_NONE,
                            "The statement is nested too deeply to be "
                            "checked");
        }
    }

    spectra_sql_tree_free(tree);
    spectra_sql_text_free(&t);

    return rc;
}


static int
spectra_sql_session_visit(const ProtobufCMessage *m, void *data)
{
    char                             shown[SPECTRA_SQL_NAME_MAX + 1];
    const char                      *name;
    spectra_err_t                   *err;
    const PgQuery__FuncCall         *f;
    const PgQuery__CreateFunctionStmt  *cf;

    err = data;

    if (m->descriptor == &pg_query__variable_set_stmt__descriptor) {
        return spectra_sql_session_set((const PgQuery__VariableSetStmt *) m,
                                       err);
    }

    if (m->descriptor == &pg_query__discard_stmt__descriptor
        && ((const PgQuery__DiscardStmt *) m)->target
           == PG_QUERY__DISCARD_MODE__DISCARD_ALL)
    {
        /* it includes SET SESSION AUTHORIZATION DEFAULT */
        return spectra_err_set(err, SPECTRA_SQL_ERR_NOT_READ_ONLY,
                               SPECTRA_POS_NONE,
                               "DISCARD ALL is not allowed");
    }

    if (m->descriptor == &pg_query__do_stmt__descriptor) {
        return spectra_err_set(err, SPECTRA_SQL_ERR_NOT_READ_ONLY,
                               SPECTRA_POS_NONE, "DO blocks are not allowed");
    }

    if (m->descriptor == &pg_query__create_function_stmt__descriptor) {
        cf = (const PgQuery__CreateFunctionStmt *) m;

        return spectra_err_set(err, SPECTRA_SQL_ERR_NOT_READ_ONLY,
                               SPECTRA_POS_NONE, "CREATE %s is not allowed",
                               cf->is_procedure ? "PROCEDURE" : "FUNCTION");
    }

    if (m->descriptor != &pg_query__func_call__descriptor) {
        return 0;
    }

    f = (const PgQuery__FuncCall *) m;
    name = (f->n_funcname > 0)
           ? spectra_sql_node_string(f->funcname[f->n_funcname - 1]) : NULL;

    if (name != NULL
        && spectra_sql_list_match(spectra_sql_session_functions,
               sizeof(spectra_sql_session_functions) / sizeof(spectra_str_t),
               (const u_char *) name, strlen(name)))
    {
        spectra_sql_show(shown, sizeof(shown), name);

        return spectra_err_set(err, SPECTRA_SQL_ERR_DENIED,
                               (size_t) f->location,
                               "Function \"%s\" is not allowed", shown);
    }

    return 0;
}


static int
spectra_sql_session_set(const PgQuery__VariableSetStmt *v, spectra_err_t *err)
{
    const char  *name, *shown;

    if (v->kind == PG_QUERY__VARIABLE_SET_KIND__VAR_RESET_ALL) {
        return spectra_err_set(err, SPECTRA_SQL_ERR_NOT_READ_ONLY,
                               SPECTRA_POS_NONE, "RESET ALL is not allowed");
    }

    name = (v->name != NULL) ? v->name : "";

    if (spectra_sql_name_is(name, "role")) {
        shown = "role";

    } else if (spectra_sql_name_is(name, "session_authorization")) {
        shown = "session authorization";

    } else if (spectra_sql_name_is(name, "statement_timeout")) {
        shown = "statement_timeout";

    } else {
        return 0;
    }

    return spectra_err_set(err, SPECTRA_SQL_ERR_NOT_READ_ONLY,
                           SPECTRA_POS_NONE,
                           "SET and RESET of %s are not allowed", shown);
}
