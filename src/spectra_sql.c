/*
 * The read-only SQL policy, decided on PostgreSQL's parse tree, and the
 * LIMIT wrap around the statement it accepted (what it guarantees:
 * spectra_sql.h; why: docs/sql-policy.md).
 */

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "spectra_sql_parser.h"


/* What a walk over the tree found: the refusal earliest in the text. */
typedef struct {
    const spectra_sql_policy_t  *policy;
    const spectra_sql_text_t    *t;
    int                          code;
    spectra_err_t                found;
} spectra_sql_judge_t;


static int spectra_sql_span(const spectra_sql_text_t *t,
    spectra_sql_info_t *info, spectra_err_t *err);
static int spectra_sql_literals(const spectra_sql_text_t *t,
    spectra_err_t *err);
static int spectra_sql_syntax(const spectra_sql_text_t *t,
    spectra_err_t *err);
static int spectra_sql_first_word(const spectra_sql_text_t *t, char *out,
    size_t size);
static int spectra_sql_statement(const spectra_sql_policy_t *policy,
    const spectra_sql_text_t *t, const PgQuery__ParseResult *tree,
    spectra_err_t *err);
static int spectra_sql_visit(const ProtobufCMessage *m, void *data);
static void spectra_sql_refuse(spectra_sql_judge_t *j, int code, size_t pos,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void spectra_sql_select(spectra_sql_judge_t *j,
    const PgQuery__SelectStmt *s);
static int spectra_sql_dml(const spectra_sql_text_t *t,
    const ProtobufCMessage *m, const char **kind, size_t *pos);
static void spectra_sql_nested(spectra_sql_judge_t *j,
    const ProtobufCMessage *m);
static void spectra_sql_function(spectra_sql_judge_t *j,
    const PgQuery__FuncCall *f);
static void spectra_sql_relation(spectra_sql_judge_t *j,
    const PgQuery__RangeVar *rv);
static size_t spectra_sql_locking_at(const spectra_sql_text_t *t);
static void spectra_sql_qualified(char *out, size_t size,
    PgQuery__Node **parts, size_t n);


void
spectra_sql_policy_default(spectra_sql_policy_t *policy)
{
    memset(policy, 0, sizeof(spectra_sql_policy_t));
    policy->allow_values = 1;
    policy->max_len = SPECTRA_SQL_MAX_LEN;
}


int
spectra_sql_check(const spectra_sql_policy_t *policy, const u_char *p,
    size_t len, spectra_sql_info_t *info, spectra_err_t *err)
{
    int                    rc;
    spectra_sql_info_t     local;
    spectra_sql_text_t     t;
    PgQuery__ParseResult  *tree;

    if (info == NULL) {
        info = &local;
    }

    memset(info, 0, sizeof(spectra_sql_info_t));

    if (policy->max_len && len > policy->max_len) {
        return spectra_err_set(err, SPECTRA_SQL_ERR_TOO_LONG,
                               policy->max_len,
                               "SQL is too long: %zu bytes, the limit is %zu",
                               len, policy->max_len);
    }

    tree = NULL;

    rc = spectra_sql_text_init(&t, p, len, err);

    /* first: where the statement ends depends on how strings are read */
    if (rc == SPECTRA_SQL_OK) {
        rc = spectra_sql_literals(&t, err);
    }

    if (rc == SPECTRA_SQL_OK) {
        rc = spectra_sql_span(&t, info, err);
    }

    if (rc == SPECTRA_SQL_OK) {
        rc = spectra_sql_params_mark(&t, info->params, SPECTRA_SQL_MAX_PARAMS,
                                     &info->nparams, err);
    }

    if (rc == SPECTRA_SQL_OK) {
        rc = spectra_sql_text_parse(&t, &tree, err);

        if (rc == SPECTRA_SQL_ERR_SYNTAX) {
            rc = spectra_sql_syntax(&t, err);
        }
    }

    if (rc == SPECTRA_SQL_OK) {
        rc = spectra_sql_statement(policy, &t, tree, err);
    }

    spectra_sql_tree_free(tree);
    spectra_sql_text_free(&t);

    if (rc != SPECTRA_SQL_OK) {
        info->nparams = 0;
    }

    return rc;
}


/*
 * One statement: nothing but comments after its ';'. The span leaves out
 * what surrounds the statement, so that the LIMIT wrap holds only it.
 */

static int
spectra_sql_span(const spectra_sql_text_t *t, spectra_sql_info_t *info,
    spectra_err_t *err)
{
    size_t  i;

    if (t->ntok == 0) {
        return spectra_err_set(err, SPECTRA_SQL_ERR_EMPTY, SPECTRA_POS_NONE,
                               "SQL is empty");
    }

    for (i = 0; i < t->ntok; i++) {
        if (t->tok[i]->token == PG_QUERY__TOKEN__ASCII_59) {
            break;
        }
    }

    if (i == 0) {
        return spectra_sql_fail(err, SPECTRA_SQL_ERR_EMPTY, t->p, t->len,
                                (size_t) t->tok[0]->start, NULL,
                                "empty statement");
    }

    if (i + 1 < t->ntok) {
        return spectra_sql_fail(err, SPECTRA_SQL_ERR_MULTIPLE, t->p, t->len,
                                (size_t) t->tok[i + 1]->start, NULL,
                                "multiple statements are not allowed: a "
                                "second one starts");
    }

    info->stmt_start = (size_t) t->tok[0]->start;
    info->stmt_len = (size_t) t->tok[i - 1]->end - info->stmt_start;

    return SPECTRA_SQL_OK;
}


/*
 * Redshift reads a backslash in a '...' string as an escape, PostgreSQL
 * (standard_conforming_strings) as a backslash: after an odd run of them
 * a quote ends the string for one and not for the other, and the two
 * would see different statements. E'...' strings and dollar quotes read
 * the same in both.
 */

static int
spectra_sql_literals(const spectra_sql_text_t *t, spectra_err_t *err)
{
    size_t                i, k, end, run;
    const u_char         *s;
    spectra_sql_token_t  *tk;

    for (i = 0; i < t->ntok; i++) {
        tk = t->tok[i];

        if (tk->token != PG_QUERY__TOKEN__SCONST
            && tk->token != PG_QUERY__TOKEN__USCONST
            && tk->token != PG_QUERY__TOKEN__BCONST
            && tk->token != PG_QUERY__TOKEN__XCONST)
        {
            continue;
        }

        s = t->p;
        k = (size_t) tk->start;
        end = (size_t) tk->end;

        if (s[k] == 'E' || s[k] == 'e' || s[k] == '$') {
            continue;
        }

        run = 0;

        for ( /* void */ ; k < end; k++) {
            if (s[k] == '\\') {
                run++;
                continue;
            }

            if (s[k] == '\'' && run % 2) {
                return spectra_sql_fail(err, SPECTRA_SQL_ERR_SYNTAX, t->p,
                                        t->len, k - 1,
                                        "write '' for a quote",
                                        "a backslash before a quote is "
                                        "ambiguous in a string literal");
            }

            run = 0;
        }
    }

    return SPECTRA_SQL_OK;
}


/*
 * The parser refused the text. A statement that starts with a keyword no
 * read-only statement starts with (or with Redshift's UNLOAD) is named
 * as such; anything else keeps the parser's message.
 */

static int
spectra_sql_syntax(const spectra_sql_text_t *t, spectra_err_t *err)
{
    char                  word[SPECTRA_SQL_NAME_MAX + 1];
    spectra_sql_token_t  *tk;

    if (t->ntok == 0) {
        return SPECTRA_SQL_ERR_SYNTAX;
    }

    tk = t->tok[0];

    if ((tk->keyword_kind == PG_QUERY__KEYWORD_KIND__NO_KEYWORD
         && !spectra_sql_token_is_word(t, 0, "unload"))
        || tk->token == PG_QUERY__TOKEN__SELECT
        || tk->token == PG_QUERY__TOKEN__WITH
        || tk->token == PG_QUERY__TOKEN__VALUES
        || tk->token == PG_QUERY__TOKEN__TABLE
        || spectra_sql_first_word(t, word, sizeof(word)) != 0)
    {
        return SPECTRA_SQL_ERR_SYNTAX;
    }

    return spectra_sql_fail(err, SPECTRA_SQL_ERR_NOT_READ_ONLY, t->p, t->len,
                            (size_t) tk->start, NULL,
                            "only read-only statements are allowed: %s",
                            word);
}


/* The first token in upper case, if it is a word. */

static int
spectra_sql_first_word(const spectra_sql_text_t *t, char *out, size_t size)
{
    size_t         i, len;
    u_char         c;
    const u_char  *s;

    s = t->p + t->tok[0]->start;
    len = (size_t) (t->tok[0]->end - t->tok[0]->start);

    if (len == 0 || len >= size) {
        return -1;
    }

    for (i = 0; i < len; i++) {
        c = s[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'
              || (i > 0 && c >= '0' && c <= '9')))
        {
            return -1;
        }

        out[i] = (char) ((c >= 'a' && c <= 'z') ? c - 0x20 : c);
    }

    out[len] = '\0';

    return 0;
}


static int
spectra_sql_statement(const spectra_sql_policy_t *policy,
    const spectra_sql_text_t *t, const PgQuery__ParseResult *tree,
    spectra_err_t *err)
{
    int                        rc;
    char                       word[SPECTRA_SQL_NAME_MAX + 1];
    size_t                     pos;
    const char                *kind;
    const PgQuery__Node       *stmt;
    const PgQuery__SelectStmt *s;
    spectra_sql_judge_t        j;

    if (tree->n_stmts != 1 || tree->stmts[0]->stmt == NULL) {
        return spectra_err_set(err, SPECTRA_SQL_ERR_MULTIPLE,
                               SPECTRA_POS_NONE,
                               "the SQL must be exactly one statement");
    }

    stmt = tree->stmts[0]->stmt;

    if (stmt->node_case != PG_QUERY__NODE__NODE_SELECT_STMT) {
        pos = (size_t) t->tok[0]->start;

        /* "WITH ... DELETE": named by its own keyword */
        if (spectra_sql_dml(t, spectra_sql_node_message(stmt), &kind, &pos)
            == 0)
        {
            snprintf(word, sizeof(word), "%s", kind);

        } else if (spectra_sql_first_word(t, word, sizeof(word)) != 0) {
            snprintf(word, sizeof(word), "%s",
                     stmt->base.descriptor->short_name);
        }

        return spectra_sql_fail(err, SPECTRA_SQL_ERR_NOT_READ_ONLY, t->p,
                                t->len, pos, NULL,
                                "only read-only statements are allowed: %s",
                                word);
    }

    /* a VALUES statement: VALUES leads the leftmost set operand */
    for (s = stmt->select_stmt; s->larg != NULL; s = s->larg) {
        /* void */
    }

    if (!policy->allow_values && s->n_values_lists > 0) {
        return spectra_sql_fail(err, SPECTRA_SQL_ERR_NOT_READ_ONLY, t->p,
                                t->len, (size_t) t->tok[0]->start,
                                "write SELECT ... FROM (VALUES ...) AS v",
                                "VALUES statements are not allowed");
    }

    memset(&j, 0, sizeof(spectra_sql_judge_t));
    j.policy = policy;
    j.t = t;

    rc = spectra_sql_walk(&stmt->base, spectra_sql_visit, &j);

    if (rc != 0) {
        return spectra_sql_fail(err, SPECTRA_SQL_ERR_SYNTAX, t->p, t->len,
                                (size_t) t->tok[0]->start, NULL,
                                "the statement is nested too deeply to be "
                                "checked");
    }

    if (j.code != SPECTRA_SQL_OK) {
        if (err != NULL) {
            *err = j.found;
        }

        return j.code;
    }

    return SPECTRA_SQL_OK;
}


static int
spectra_sql_visit(const ProtobufCMessage *m, void *data)
{
    size_t                             n;
    const char                        *name;
    spectra_sql_judge_t               *j;
    const ProtobufCMessageDescriptor  *desc;

    j = data;
    desc = m->descriptor;

    if (desc == &pg_query__select_stmt__descriptor) {
        spectra_sql_select(j, (const PgQuery__SelectStmt *) m);
        return 0;
    }

    if (desc == &pg_query__func_call__descriptor) {
        spectra_sql_function(j, (const PgQuery__FuncCall *) m);
        return 0;
    }

    if (desc == &pg_query__range_var__descriptor) {
        spectra_sql_relation(j, (const PgQuery__RangeVar *) m);
        return 0;
    }

    /* every statement node but SELECT, whatever holds it */
    name = desc->short_name;
    n = strlen(name);

    if (n > 4 && strcmp(name + n - 4, "Stmt") == 0) {
        spectra_sql_nested(j, m);
    }

    return 0;
}


/* Keeps the refusal that comes first in the text. */

static void
spectra_sql_refuse(spectra_sql_judge_t *j, int code, size_t pos,
    const char *fmt, ...)
{
    char     msg[SPECTRA_ERR_MAX];
    va_list  args;

    if (j->code != SPECTRA_SQL_OK && pos >= j->found.position) {
        return;
    }

    va_start(args, fmt);
    vsnprintf(msg, sizeof(msg), fmt, args);
    va_end(args);

    j->code = code;
    spectra_sql_fail(&j->found, code, j->t->p, j->t->len, pos, NULL, "%s",
                     msg);
}


static void
spectra_sql_select(spectra_sql_judge_t *j, const PgQuery__SelectStmt *s)
{
    size_t        pos;
    const char   *lock;

    if (s->into_clause != NULL) {
        pos = SPECTRA_POS_NONE;

        if (s->into_clause->rel != NULL) {
            pos = spectra_sql_token_before(j->t,
                                           s->into_clause->rel->location,
                                           PG_QUERY__TOKEN__INTO);
        }

        spectra_sql_refuse(j, SPECTRA_SQL_ERR_NOT_READ_ONLY, pos,
                           "SELECT INTO is not allowed");
    }

    if (s->n_locking_clause > 0 && s->locking_clause[0] != NULL
        && s->locking_clause[0]->node_case
           == PG_QUERY__NODE__NODE_LOCKING_CLAUSE)
    {
        switch (s->locking_clause[0]->locking_clause->strength) {

        case PG_QUERY__LOCK_CLAUSE_STRENGTH__LCS_FORKEYSHARE:
            lock = "FOR KEY SHARE";
            break;

        case PG_QUERY__LOCK_CLAUSE_STRENGTH__LCS_FORSHARE:
            lock = "FOR SHARE";
            break;

        case PG_QUERY__LOCK_CLAUSE_STRENGTH__LCS_FORNOKEYUPDATE:
            lock = "FOR NO KEY UPDATE";
            break;

        default:
            lock = "FOR UPDATE";
            break;
        }

        spectra_sql_refuse(j, SPECTRA_SQL_ERR_NOT_READ_ONLY,
                           spectra_sql_locking_at(j->t),
                           "locking clause %s is not allowed", lock);

    } else if (s->n_locking_clause > 0) {
        spectra_sql_refuse(j, SPECTRA_SQL_ERR_NOT_READ_ONLY,
                           spectra_sql_locking_at(j->t),
                           "locking clauses are not allowed");
    }
}


/* The first FOR UPDATE, FOR SHARE, FOR NO KEY ..., FOR KEY ... */

static size_t
spectra_sql_locking_at(const spectra_sql_text_t *t)
{
    size_t          i;
    PgQuery__Token  next;

    for (i = 0; i + 1 < t->ntok; i++) {
        if (t->tok[i]->token != PG_QUERY__TOKEN__FOR) {
            continue;
        }

        next = t->tok[i + 1]->token;

        if (next == PG_QUERY__TOKEN__UPDATE || next == PG_QUERY__TOKEN__SHARE
            || next == PG_QUERY__TOKEN__NO || next == PG_QUERY__TOKEN__KEY)
        {
            return (size_t) t->tok[i]->start;
        }
    }

    return SPECTRA_POS_NONE;
}


/*
 * A statement inside the SELECT: INSERT, UPDATE, DELETE or MERGE in a
 * CTE (the grammar has no other place for one). The node has no position:
 * its keyword is the last one before its target relation.
 */

static void
spectra_sql_nested(spectra_sql_judge_t *j, const ProtobufCMessage *m)
{
    size_t       pos;
    const char  *kind;

    if (spectra_sql_dml(j->t, m, &kind, &pos) != 0) {
        spectra_sql_refuse(j, SPECTRA_SQL_ERR_NOT_READ_ONLY,
                           SPECTRA_POS_NONE,
                           "only read-only statements are allowed: %s",
                           m->descriptor->short_name);
        return;
    }

    spectra_sql_refuse(j, SPECTRA_SQL_ERR_NOT_READ_ONLY, pos,
                       "data-modifying statements are not allowed: %s",
                       kind);
}


/* INSERT, UPDATE, DELETE, MERGE: the kind and where its keyword is. */

static int
spectra_sql_dml(const spectra_sql_text_t *t, const ProtobufCMessage *m,
    const char **kind, size_t *pos)
{
    PgQuery__Token             keyword;
    const PgQuery__RangeVar   *rel;

    if (m == NULL) {
        return -1;
    }

    if (m->descriptor == &pg_query__insert_stmt__descriptor) {
        *kind = "INSERT";
        keyword = PG_QUERY__TOKEN__INSERT;
        rel = ((const PgQuery__InsertStmt *) m)->relation;

    } else if (m->descriptor == &pg_query__update_stmt__descriptor) {
        *kind = "UPDATE";
        keyword = PG_QUERY__TOKEN__UPDATE;
        rel = ((const PgQuery__UpdateStmt *) m)->relation;

    } else if (m->descriptor == &pg_query__delete_stmt__descriptor) {
        *kind = "DELETE";
        keyword = PG_QUERY__TOKEN__DELETE_P;
        rel = ((const PgQuery__DeleteStmt *) m)->relation;

    } else if (m->descriptor == &pg_query__merge_stmt__descriptor) {
        *kind = "MERGE";
        keyword = PG_QUERY__TOKEN__MERGE;
        rel = ((const PgQuery__MergeStmt *) m)->relation;

    } else {
        return -1;
    }

    *pos = (rel != NULL) ? spectra_sql_token_before(t, rel->location, keyword)
                         : SPECTRA_POS_NONE;

    return 0;
}


/*
 * A function by the name the parser decoded. A denied schema qualifies
 * no function, except pg_catalog, which every unqualified name reaches
 * anyway: there the name decides.
 */

static void
spectra_sql_function(spectra_sql_judge_t *j, const PgQuery__FuncCall *f)
{
    char                        shown[2 * SPECTRA_SQL_NAME_MAX + 8];
    char                        schema_shown[SPECTRA_SQL_NAME_MAX + 1];
    const char                 *name, *schema;
    const spectra_sql_policy_t *policy;

    policy = j->policy;

    name = (f->n_funcname > 0)
           ? spectra_sql_node_string(f->funcname[f->n_funcname - 1]) : NULL;
    schema = (f->n_funcname > 1)
             ? spectra_sql_node_string(f->funcname[f->n_funcname - 2])
             : NULL;

    spectra_sql_qualified(shown, sizeof(shown), f->funcname, f->n_funcname);

    if (name == NULL) {
        spectra_sql_refuse(j, SPECTRA_SQL_ERR_DENIED, (size_t) f->location,
                           "a function call without a name is not allowed");
        return;
    }

    if (schema != NULL && !spectra_sql_name_is(schema, "pg_catalog")
        && spectra_sql_denied(SPECTRA_SQL_LIST_SCHEMAS, policy->deny_schemas,
                              policy->ndeny_schemas, schema))
    {
        spectra_sql_show(schema_shown, sizeof(schema_shown), schema);
        spectra_sql_refuse(j, SPECTRA_SQL_ERR_DENIED, (size_t) f->location,
                           "schema %s is not allowed", schema_shown);
        return;
    }

    if (spectra_sql_denied(SPECTRA_SQL_LIST_FUNCTIONS, policy->deny_functions,
                           policy->ndeny_functions, name))
    {
        spectra_sql_refuse(j, SPECTRA_SQL_ERR_DENIED, (size_t) f->location,
                           "function %s is not allowed", shown);
        return;
    }

    if (policy->allow_functions != NULL
        && f->funcformat != PG_QUERY__COERCION_FORM__COERCE_SQL_SYNTAX
        && !spectra_sql_list_match(policy->allow_functions,
                                   policy->nallow_functions,
                                   (const u_char *) name, strlen(name)))
    {
        spectra_sql_refuse(j, SPECTRA_SQL_ERR_DENIED, (size_t) f->location,
                           "function %s is not on the list of allowed "
                           "functions", shown);
    }
}


static void
spectra_sql_relation(spectra_sql_judge_t *j, const PgQuery__RangeVar *rv)
{
    char                        shown[2 * SPECTRA_SQL_NAME_MAX + 8];
    char                        part[SPECTRA_SQL_NAME_MAX + 1];
    size_t                      n;
    const spectra_str_t        *builtin;
    const spectra_sql_policy_t *policy;

    policy = j->policy;

    if (rv->schemaname != NULL && rv->schemaname[0] != '\0'
        && spectra_sql_denied(SPECTRA_SQL_LIST_SCHEMAS, policy->deny_schemas,
                              policy->ndeny_schemas, rv->schemaname))
    {
        spectra_sql_show(part, sizeof(part), rv->schemaname);
        spectra_sql_refuse(j, SPECTRA_SQL_ERR_DENIED, (size_t) rv->location,
                           "schema %s is not allowed", part);
        return;
    }

    if (rv->relname == NULL) {
        return;
    }

    /*
     * The built-in names are catalogs found through the search path, so
     * they apply unqualified (a qualified one is in a denied schema or is
     * not a catalog); the operator's names apply however qualified.
     */
    spectra_sql_builtin(SPECTRA_SQL_LIST_RELATIONS, &builtin, &n);

    if (((rv->schemaname == NULL || rv->schemaname[0] == '\0')
         && spectra_sql_list_match(builtin, n, (const u_char *) rv->relname,
                                   strlen(rv->relname)))
        || spectra_sql_list_match(policy->deny_relations,
                                  policy->ndeny_relations,
                                  (const u_char *) rv->relname,
                                  strlen(rv->relname)))
    {
        shown[0] = '\0';

        if (rv->schemaname != NULL && rv->schemaname[0] != '\0') {
            spectra_sql_show(part, sizeof(part), rv->schemaname);
            snprintf(shown, sizeof(shown), "%s.", part);
        }

        spectra_sql_show(part, sizeof(part), rv->relname);
        snprintf(shown + strlen(shown), sizeof(shown) - strlen(shown), "%s",
                 part);

        spectra_sql_refuse(j, SPECTRA_SQL_ERR_DENIED, (size_t) rv->location,
                           "relation %s is not allowed", shown);
    }
}


/* "schema.name" for a message (at most the last two parts). */

static void
spectra_sql_qualified(char *out, size_t size, PgQuery__Node **parts,
    size_t n)
{
    char         part[SPECTRA_SQL_NAME_MAX + 1];
    size_t       i, used;
    const char  *s;

    out[0] = '\0';
    used = 0;

    for (i = (n > 2) ? n - 2 : 0; i < n; i++) {
        s = spectra_sql_node_string(parts[i]);
        spectra_sql_show(part, sizeof(part), (s != NULL) ? s : "?");
        snprintf(out + used, size - used, "%s%s", used ? "." : "", part);
        used = strlen(out);
    }
}


#define SPECTRA_SQL_WRAP_HEAD  "SELECT * FROM ("
#define SPECTRA_SQL_WRAP_TAIL  "\n) AS spectra_q LIMIT "


size_t
spectra_sql_wrap_limit_len(const spectra_sql_info_t *info, uint64_t limit)
{
    char  num[24];

    if (limit == UINT64_MAX) {
        return 0;
    }

    return sizeof(SPECTRA_SQL_WRAP_HEAD) - 1 + info->stmt_len
           + sizeof(SPECTRA_SQL_WRAP_TAIL) - 1
           + (size_t) snprintf(num, sizeof(num), "%llu",
                               (unsigned long long) limit + 1);
}


u_char *
spectra_sql_wrap_limit(u_char *dst, const u_char *p,
    const spectra_sql_info_t *info, uint64_t limit)
{
    int   n;
    char  num[24];

    memcpy(dst, SPECTRA_SQL_WRAP_HEAD, sizeof(SPECTRA_SQL_WRAP_HEAD) - 1);
    dst += sizeof(SPECTRA_SQL_WRAP_HEAD) - 1;

    memcpy(dst, p + info->stmt_start, info->stmt_len);
    dst += info->stmt_len;

    memcpy(dst, SPECTRA_SQL_WRAP_TAIL, sizeof(SPECTRA_SQL_WRAP_TAIL) - 1);
    dst += sizeof(SPECTRA_SQL_WRAP_TAIL) - 1;

    n = snprintf(num, sizeof(num), "%llu", (unsigned long long) limit + 1);
    memcpy(dst, num, (size_t) n);

    return dst + n;
}
