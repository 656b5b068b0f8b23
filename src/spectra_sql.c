/*
 * SQL lexer, read-only policy, LIMIT wrap, named parameters and the UNLOAD
 * statement for the query API (what each part guarantees: spectra_sql.h).
 */

#include "spectra_sql.h"

#include <stdio.h>
#include <string.h>


#define SPECTRA_SQL_NAME_MAX  63            /* PostgreSQL's NAMEDATALEN - 1 */

#define spectra_sql_string(s)  { sizeof(s) - 1, (const u_char *) s }


/* A name as PostgreSQL resolves it: unquoted, unescaped, truncated. */
typedef struct {
    size_t     len;
    unsigned   full:1;
    u_char     data[SPECTRA_SQL_NAME_MAX + 1];
} spectra_sql_name_t;


/* What the policy scan remembers about the previous significant token. */
typedef struct {
    unsigned   dot:1;
    unsigned   as:1;
    unsigned   cast:1;
} spectra_sql_prev_t;


static int spectra_sql_is_space(u_char c);
static int spectra_sql_is_ident_start(u_char c);
static int spectra_sql_is_ident_char(u_char c);
static int spectra_sql_is_digit(u_char c);
static int spectra_sql_is_alnum(u_char c);
static int spectra_sql_is_op_char(u_char c);
static u_char spectra_sql_lower(u_char c);
static int spectra_sql_error_at(spectra_sql_error_t *err,
    spectra_sql_rc_e code, const u_char *p, size_t len, size_t off);
static int spectra_sql_lex_block_comment(spectra_sql_lexer_t *lx,
    size_t *end, spectra_sql_error_t *err);
static int spectra_sql_lex_string(spectra_sql_lexer_t *lx, size_t body,
    int escapes, size_t *end, spectra_sql_error_t *err);
static int spectra_sql_lex_qident(spectra_sql_lexer_t *lx, size_t body,
    size_t *end, spectra_sql_error_t *err);
static size_t spectra_sql_lex_dollar(spectra_sql_lexer_t *lx,
    spectra_sql_tok_e *type, spectra_sql_error_t *err, int *rc);
static size_t spectra_sql_lex_number(const u_char *p, size_t len, size_t i);
static int spectra_sql_next_sig(spectra_sql_lexer_t *lx,
    spectra_sql_token_t *tok, spectra_sql_error_t *err);
static void spectra_sql_peek(const spectra_sql_lexer_t *lx,
    spectra_sql_token_t *tok);
static int spectra_sql_tok_is(const u_char *p, const spectra_sql_token_t *tok,
    const char *word);
static int spectra_sql_punct_is(const u_char *p,
    const spectra_sql_token_t *tok, u_char c);
static int spectra_sql_match(const spectra_sql_str_t *list, size_t n,
    const u_char *name, size_t len);
static void spectra_sql_name_add(spectra_sql_name_t *name, const u_char *s,
    size_t n);
static void spectra_sql_name_byte(spectra_sql_name_t *name, u_char c);
static void spectra_sql_name_cp(spectra_sql_name_t *name, uint32_t cp);
static void spectra_sql_name_clip(spectra_sql_name_t *name);
static int spectra_sql_hex(const u_char *p, size_t n, uint32_t *cp);
static void spectra_sql_name(const u_char *p, const spectra_sql_token_t *tok,
    u_char esc, spectra_sql_name_t *name);
static void spectra_sql_after_name(spectra_sql_lexer_t *lx,
    const spectra_sql_token_t *tok, u_char *esc);
static void spectra_sql_display(const u_char *s, size_t len, int upper,
    char *out, size_t size);
static int spectra_sql_is_reserved(const u_char *p,
    const spectra_sql_token_t *tok);
static int spectra_sql_first_keyword(const spectra_sql_policy_t *policy,
    const u_char *p, size_t len, const spectra_sql_token_t *tok,
    int explained, spectra_sql_error_t *err);
static int spectra_sql_explain(spectra_sql_lexer_t *lx, size_t *end,
    spectra_sql_error_t *err);
static int spectra_sql_check_word(spectra_sql_lexer_t *lx,
    const spectra_sql_token_t *tok, spectra_sql_prev_t prev,
    spectra_sql_error_t *err);
static int spectra_sql_check_name(const spectra_sql_policy_t *policy,
    spectra_sql_lexer_t *lx, const spectra_sql_token_t *tok,
    spectra_sql_prev_t prev, spectra_sql_error_t *err);
static u_char *spectra_sql_cpy(u_char *dst, const char *s);
static int spectra_sql_unload_text_ok(const spectra_sql_str_t *s);
static int spectra_sql_unload_fail(spectra_sql_error_t *err, const u_char *p,
    size_t len, size_t off, const char *what);
static int spectra_sql_unload_string(const u_char *p,
    const spectra_sql_token_t *tok, spectra_sql_str_t *s);
static int spectra_sql_unload_options(spectra_sql_lexer_t *lx,
    spectra_sql_unload_t *u, spectra_sql_error_t *err);


static const spectra_sql_str_t  spectra_sql_default_allow[] = {
    spectra_sql_string("select"),
    spectra_sql_string("with"),
    spectra_sql_string("values")
};

/* PostgreSQL reserves the pg_ prefix for system schemas. */
static const spectra_sql_str_t  spectra_sql_default_schemas[] = {
    spectra_sql_string("information_schema"),
    spectra_sql_string("pg_*")
};

/*
 * pg_catalog is always on the search path, so its relations are reachable
 * without a qualifier; stl_, stv_, svl_ and svv_ are Redshift's system
 * tables and views.
 */
static const spectra_sql_str_t  spectra_sql_default_relations[] = {
    spectra_sql_string("pg_*"),
    spectra_sql_string("stl_*"),
    spectra_sql_string("stv_*"),
    spectra_sql_string("svl_*"),
    spectra_sql_string("svv_*")
};

static const spectra_sql_str_t  spectra_sql_default_functions[] = {
    spectra_sql_string("pg_sleep"),
    spectra_sql_string("pg_sleep_for"),
    spectra_sql_string("pg_sleep_until"),
    spectra_sql_string("set_config"),
    spectra_sql_string("current_setting"),
    spectra_sql_string("pg_read_file"),
    spectra_sql_string("pg_read_binary_file"),
    spectra_sql_string("pg_ls_*"),
    spectra_sql_string("pg_stat_*"),
    spectra_sql_string("pg_file_*"),
    spectra_sql_string("pg_get_*"),
    spectra_sql_string("lo_*"),
    spectra_sql_string("dblink*"),
    spectra_sql_string("pg_terminate_backend"),
    spectra_sql_string("pg_cancel_backend"),
    spectra_sql_string("pg_reload_conf"),
    spectra_sql_string("pg_rotate_logfile"),
    spectra_sql_string("pg_promote"),
    spectra_sql_string("pg_advisory_*"),
    spectra_sql_string("pg_try_advisory_*"),
    spectra_sql_string("pg_notify"),
    spectra_sql_string("nextval"),
    spectra_sql_string("setval"),
    spectra_sql_string("txid_current"),
    spectra_sql_string("pg_current_xact_id"),
    spectra_sql_string("query_to_xml*"),
    spectra_sql_string("cursor_to_xml*"),
    spectra_sql_string("table_to_xml*"),
    spectra_sql_string("schema_to_xml*"),
    spectra_sql_string("database_to_xml*"),
    spectra_sql_string("ts_stat"),
    spectra_sql_string("ts_rewrite")
};

/*
 * Words that can never name a table, so "update" followed by one of them is
 * a column called update, not an UPDATE statement (reserved and
 * type_func_name keywords of PostgreSQL's grammar that follow expressions).
 */
static const char  *spectra_sql_reserved[] = {
    "and", "as", "asc", "collate", "cross", "desc", "else", "end", "except",
    "fetch", "for", "from", "full", "group", "having", "ilike", "in",
    "inner", "intersect", "into", "is", "isnull", "join", "left", "like",
    "limit", "natural", "not", "notnull", "offset", "on", "or", "order",
    "outer", "right", "similar", "then", "union", "using", "when", "where",
    "window", NULL
};

static const char  *spectra_sql_read_only[] = {
    "select", "with", "values", "table", "show", "explain", NULL
};


/* Character classes, as PostgreSQL's scanner defines them. */

static int
spectra_sql_is_space(u_char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f'
           || c == '\v';
}


static int
spectra_sql_is_ident_start(u_char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'
           || c >= 0x80;
}


static int
spectra_sql_is_ident_char(u_char c)
{
    return spectra_sql_is_ident_start(c) || spectra_sql_is_digit(c)
           || c == '$';
}


static int
spectra_sql_is_digit(u_char c)
{
    return c >= '0' && c <= '9';
}


static int
spectra_sql_is_alnum(u_char c)
{
    return spectra_sql_is_digit(c) || (c >= 'a' && c <= 'z')
           || (c >= 'A' && c <= 'Z');
}


static int
spectra_sql_is_op_char(u_char c)
{
    return c != '\0' && strchr("+-*/<>=~!@#%^&|`?", c) != NULL;
}


static u_char
spectra_sql_lower(u_char c)
{
    return (c >= 'A' && c <= 'Z') ? (u_char) (c | 0x20) : c;
}


/*
 * Fills the code and the position of an error (the caller writes the
 * message, an earlier one is kept) and returns the code.
 */

static int
spectra_sql_error_at(spectra_sql_error_t *err, spectra_sql_rc_e code,
    const u_char *p, size_t len, size_t off)
{
    size_t  i, line, column;

    line = 1;
    column = 1;

    for (i = 0; i < off && i < len; i++) {
        if (p[i] == '\n') {
            line++;
            column = 1;

        } else if ((p[i] & 0xc0) != 0x80) {
            column++;
        }
    }

    err->code = code;
    err->offset = off;
    err->line = line;
    err->column = column;

    return code;
}


void
spectra_sql_lexer_init(spectra_sql_lexer_t *lx, const u_char *p, size_t len)
{
    lx->p = p;
    lx->len = len;
    lx->pos = 0;
}


int
spectra_sql_lexer_next(spectra_sql_lexer_t *lx, spectra_sql_token_t *tok,
    spectra_sql_error_t *err)
{
    int            rc;
    u_char         c, c1, c2;
    size_t         i, len, end;
    const u_char  *p;

    p = lx->p;
    len = lx->len;
    i = lx->pos;

    tok->start = i;
    tok->len = 0;

    if (i >= len) {
        tok->type = SPECTRA_SQL_TOK_EOF;
        return SPECTRA_SQL_OK;
    }

    c = p[i];
    c1 = (i + 1 < len) ? p[i + 1] : '\0';
    c2 = (i + 2 < len) ? p[i + 2] : '\0';

    rc = SPECTRA_SQL_OK;
    end = i + 1;

    if (spectra_sql_is_space(c)) {
        tok->type = SPECTRA_SQL_TOK_SPACE;

        while (end < len && spectra_sql_is_space(p[end])) {
            end++;
        }

    } else if (c == '-' && c1 == '-') {
        /* PostgreSQL ends a line comment at \r as well as at \n */
        tok->type = SPECTRA_SQL_TOK_COMMENT;

        while (end < len && p[end] != '\n' && p[end] != '\r') {
            end++;
        }

    } else if (c == '/' && c1 == '*') {
        tok->type = SPECTRA_SQL_TOK_COMMENT;
        rc = spectra_sql_lex_block_comment(lx, &end, err);

    } else if (c == '\'') {
        tok->type = SPECTRA_SQL_TOK_STRING;
        rc = spectra_sql_lex_string(lx, i + 1, 0, &end, err);

    } else if ((c == 'e' || c == 'E') && c1 == '\'') {
        tok->type = SPECTRA_SQL_TOK_STRING;
        rc = spectra_sql_lex_string(lx, i + 2, 1, &end, err);

    } else if ((c == 'n' || c == 'N' || c == 'b' || c == 'B' || c == 'x'
                || c == 'X')
               && c1 == '\'')
    {
        tok->type = SPECTRA_SQL_TOK_STRING;
        rc = spectra_sql_lex_string(lx, i + 2, 0, &end, err);

    } else if ((c == 'u' || c == 'U') && c1 == '&' && c2 == '\'') {
        tok->type = SPECTRA_SQL_TOK_STRING;
        rc = spectra_sql_lex_string(lx, i + 3, 0, &end, err);

    } else if ((c == 'u' || c == 'U') && c1 == '&' && c2 == '"') {
        tok->type = SPECTRA_SQL_TOK_QIDENT;
        rc = spectra_sql_lex_qident(lx, i + 3, &end, err);

    } else if (c == '"') {
        tok->type = SPECTRA_SQL_TOK_QIDENT;
        rc = spectra_sql_lex_qident(lx, i + 1, &end, err);

    } else if (c == '$' && spectra_sql_is_digit(c1)) {
        tok->type = SPECTRA_SQL_TOK_PARAM;

        while (end < len && spectra_sql_is_digit(p[end])) {
            end++;
        }

    } else if (c == '$') {
        end = spectra_sql_lex_dollar(lx, &tok->type, err, &rc);

    } else if (spectra_sql_is_ident_start(c)) {
        /* "$" continues a word: a$$b is one identifier, not a dollar quote */
        tok->type = SPECTRA_SQL_TOK_WORD;

        while (end < len && spectra_sql_is_ident_char(p[end])) {
            end++;
        }

    } else if (spectra_sql_is_digit(c)
               || (c == '.' && spectra_sql_is_digit(c1)))
    {
        tok->type = SPECTRA_SQL_TOK_NUMBER;
        end = spectra_sql_lex_number(p, len, i);

    } else if (c == ':' && (c1 == ':' || c1 == '=')) {
        tok->type = SPECTRA_SQL_TOK_OPERATOR;
        end = i + 2;

    } else if (c == ':' && spectra_sql_is_ident_start(c1)) {
        tok->type = SPECTRA_SQL_TOK_NAMED_PARAM;
        end = i + 2;

        while (end < len
               && (spectra_sql_is_ident_start(p[end])
                   || spectra_sql_is_digit(p[end])))
        {
            end++;
        }

    } else if (c == ';') {
        tok->type = SPECTRA_SQL_TOK_SEMICOLON;

    } else if (spectra_sql_is_op_char(c)) {
        /* an operator never contains the start of a comment */
        tok->type = SPECTRA_SQL_TOK_OPERATOR;

        while (end < len && spectra_sql_is_op_char(p[end])
               && !(end + 1 < len && p[end] == '-' && p[end + 1] == '-')
               && !(end + 1 < len && p[end] == '/' && p[end + 1] == '*'))
        {
            end++;
        }

    } else {
        tok->type = SPECTRA_SQL_TOK_PUNCT;
    }

    if (rc != SPECTRA_SQL_OK) {
        return rc;
    }

    tok->len = end - i;
    lx->pos = end;

    return SPECTRA_SQL_OK;
}


static int
spectra_sql_lex_block_comment(spectra_sql_lexer_t *lx, size_t *end,
    spectra_sql_error_t *err)
{
    size_t         i, depth, len;
    const u_char  *p;

    p = lx->p;
    len = lx->len;
    depth = 1;
    i = lx->pos + 2;

    while (i < len) {
        if (p[i] == '/' && i + 1 < len && p[i + 1] == '*') {
            depth++;
            i += 2;
            continue;
        }

        if (p[i] == '*' && i + 1 < len && p[i + 1] == '/') {
            i += 2;

            if (--depth == 0) {
                *end = i;
                return SPECTRA_SQL_OK;
            }

            continue;
        }

        i++;
    }

    spectra_sql_error_at(err, SPECTRA_SQL_ERR_SYNTAX, p, len, lx->pos);
    snprintf(err->message, sizeof(err->message),
             "unterminated comment starting at line %zu, column %zu",
             err->line, err->column);

    return SPECTRA_SQL_ERR_SYNTAX;
}


/*
 * A quoted string from body (just after the opening quote). Without
 * escapes, an odd run of backslashes before a quote is refused: Redshift
 * (like PostgreSQL with standard_conforming_strings off) would read \' as
 * an escaped quote and end the string somewhere else than we do.
 */

static int
spectra_sql_lex_string(spectra_sql_lexer_t *lx, size_t body, int escapes,
    size_t *end, spectra_sql_error_t *err)
{
    size_t         i, run, len;
    const u_char  *p;

    p = lx->p;
    len = lx->len;
    run = 0;

    for (i = body; i < len; i++) {

        if (p[i] == '\\') {
            if (escapes) {
                i++;

            } else {
                run++;
            }

            continue;
        }

        if (p[i] != '\'') {
            run = 0;
            continue;
        }

        if (run % 2) {
            spectra_sql_error_at(err, SPECTRA_SQL_ERR_SYNTAX, p, len, i - 1);
            snprintf(err->message, sizeof(err->message),
                     "a backslash before a quote is ambiguous in a string "
                     "literal (line %zu, column %zu); write '' for a quote",
                     err->line, err->column);
            return SPECTRA_SQL_ERR_SYNTAX;
        }

        run = 0;

        if (i + 1 < len && p[i + 1] == '\'') {
            i++;
            continue;
        }

        *end = i + 1;
        return SPECTRA_SQL_OK;
    }

    spectra_sql_error_at(err, SPECTRA_SQL_ERR_SYNTAX, p, len, lx->pos);
    snprintf(err->message, sizeof(err->message),
             "unterminated string literal starting at line %zu, column %zu",
             err->line, err->column);

    return SPECTRA_SQL_ERR_SYNTAX;
}


static int
spectra_sql_lex_qident(spectra_sql_lexer_t *lx, size_t body, size_t *end,
    spectra_sql_error_t *err)
{
    size_t         i, len;
    const u_char  *p;

    p = lx->p;
    len = lx->len;

    for (i = body; i < len; i++) {
        if (p[i] != '"') {
            continue;
        }

        if (i + 1 < len && p[i + 1] == '"') {
            i++;
            continue;
        }

        if (i == body) {
            spectra_sql_error_at(err, SPECTRA_SQL_ERR_SYNTAX, p, len, lx->pos);
            snprintf(err->message, sizeof(err->message),
                     "empty quoted identifier at line %zu, column %zu",
                     err->line, err->column);
            return SPECTRA_SQL_ERR_SYNTAX;
        }

        *end = i + 1;
        return SPECTRA_SQL_OK;
    }

    spectra_sql_error_at(err, SPECTRA_SQL_ERR_SYNTAX, p, len, lx->pos);
    snprintf(err->message, sizeof(err->message),
             "unterminated quoted identifier starting at line %zu, "
             "column %zu", err->line, err->column);

    return SPECTRA_SQL_ERR_SYNTAX;
}


/*
 * "$" + an optional tag (a letter or "_", then letters, digits, "_") + "$"
 * opens a dollar quote that the same delimiter closes; any other "$" is a
 * lone character.
 */

static size_t
spectra_sql_lex_dollar(spectra_sql_lexer_t *lx, spectra_sql_tok_e *type,
    spectra_sql_error_t *err, int *rc)
{
    size_t         i, j, k, tag, len;
    const u_char  *p;

    p = lx->p;
    len = lx->len;
    i = lx->pos;
    j = i + 1;

    if (j < len && p[j] != '$' && spectra_sql_is_ident_start(p[j])) {
        while (j < len && p[j] != '$' && spectra_sql_is_ident_char(p[j])) {
            j++;
        }
    }

    if (j >= len || p[j] != '$') {
        *type = SPECTRA_SQL_TOK_PUNCT;
        return i + 1;
    }

    tag = j + 1 - i;
    *type = SPECTRA_SQL_TOK_DOLLAR;

    for (k = j + 1; k + tag <= len; k++) {
        if (p[k] == '$' && memcmp(p + k, p + i, tag) == 0) {
            return k + tag;
        }
    }

    *rc = spectra_sql_error_at(err, SPECTRA_SQL_ERR_SYNTAX, p, len, i);
    snprintf(err->message, sizeof(err->message),
             "unterminated dollar-quoted string starting at line %zu, "
             "column %zu", err->line, err->column);

    return i;
}


/* 42, 4_200, 3.14, .5, 1e-3, 0x1F, 0o17, 0b101; stops before "..". */

static size_t
spectra_sql_lex_number(const u_char *p, size_t len, size_t i)
{
    size_t  j;
    u_char  c1;

    c1 = (i + 1 < len) ? spectra_sql_lower(p[i + 1]) : '\0';

    if (p[i] == '0' && (c1 == 'x' || c1 == 'o' || c1 == 'b')
        && i + 2 < len && spectra_sql_is_alnum(p[i + 2]))
    {
        i += 2;

        while (i < len && (spectra_sql_is_alnum(p[i]) || p[i] == '_')) {
            i++;
        }

        return i;
    }

    while (i < len && (spectra_sql_is_digit(p[i]) || p[i] == '_')) {
        i++;
    }

    if (i < len && p[i] == '.' && !(i + 1 < len && p[i + 1] == '.')) {
        i++;

        while (i < len && (spectra_sql_is_digit(p[i]) || p[i] == '_')) {
            i++;
        }
    }

    if (i < len && (p[i] == 'e' || p[i] == 'E')) {
        j = i + 1;

        if (j < len && (p[j] == '+' || p[j] == '-')) {
            j++;
        }

        if (j < len && spectra_sql_is_digit(p[j])) {
            i = j;

            while (i < len && spectra_sql_is_digit(p[i])) {
                i++;
            }
        }
    }

    return i;
}


/* The next token that is neither white space nor a comment. */

static int
spectra_sql_next_sig(spectra_sql_lexer_t *lx, spectra_sql_token_t *tok,
    spectra_sql_error_t *err)
{
    int  rc;

    for ( ;; ) {
        rc = spectra_sql_lexer_next(lx, tok, err);

        if (rc != SPECTRA_SQL_OK) {
            return rc;
        }

        if (tok->type != SPECTRA_SQL_TOK_SPACE
            && tok->type != SPECTRA_SQL_TOK_COMMENT)
        {
            return SPECTRA_SQL_OK;
        }
    }
}


/*
 * Looks at the next significant token without consuming it; a lexer error
 * reads as the end (the main scan reports it when it gets there).
 */

static void
spectra_sql_peek(const spectra_sql_lexer_t *lx, spectra_sql_token_t *tok)
{
    spectra_sql_lexer_t  copy;
    spectra_sql_error_t  err;

    copy = *lx;

    if (spectra_sql_next_sig(&copy, tok, &err) != SPECTRA_SQL_OK) {
        tok->type = SPECTRA_SQL_TOK_EOF;
        tok->len = 0;
    }
}


static int
spectra_sql_tok_is(const u_char *p, const spectra_sql_token_t *tok,
    const char *word)
{
    size_t  i;

    if (tok->type != SPECTRA_SQL_TOK_WORD || tok->len != strlen(word)) {
        return 0;
    }

    for (i = 0; i < tok->len; i++) {
        if (spectra_sql_lower(p[tok->start + i]) != (u_char) word[i]) {
            return 0;
        }
    }

    return 1;
}


static int
spectra_sql_punct_is(const u_char *p, const spectra_sql_token_t *tok,
    u_char c)
{
    return tok->type == SPECTRA_SQL_TOK_PUNCT && p[tok->start] == c;
}


static int
spectra_sql_match(const spectra_sql_str_t *list, size_t n,
    const u_char *name, size_t len)
{
    size_t  i, j, elen;
    int     prefix;

    for (i = 0; i < n; i++) {
        elen = list[i].len;
        prefix = (elen > 0 && list[i].data[elen - 1] == '*');

        if (prefix) {
            elen--;

            if (len < elen) {
                continue;
            }

        } else if (len != elen) {
            continue;
        }

        for (j = 0; j < elen; j++) {
            if (spectra_sql_lower(list[i].data[j])
                != spectra_sql_lower(name[j]))
            {
                break;
            }
        }

        if (j == elen) {
            return 1;
        }
    }

    return 0;
}


/*
 * Appends bytes unless the name is full: like PostgreSQL, a name keeps its
 * first 63 bytes and drops the rest.
 */

static void
spectra_sql_name_add(spectra_sql_name_t *name, const u_char *s, size_t n)
{
    if (name->full || name->len + n > SPECTRA_SQL_NAME_MAX) {
        name->full = 1;
        return;
    }

    memcpy(name->data + name->len, s, n);
    name->len += n;
    name->data[name->len] = '\0';
}


static void
spectra_sql_name_byte(spectra_sql_name_t *name, u_char c)
{
    spectra_sql_name_add(name, &c, 1);
}


/* Appends a code point from a U& escape as UTF-8. */

static void
spectra_sql_name_cp(spectra_sql_name_t *name, uint32_t cp)
{
    u_char  buf[4];
    size_t  n;

    if (cp < 0x80) {
        buf[0] = (u_char) cp;
        n = 1;

    } else if (cp < 0x800) {
        buf[0] = (u_char) (0xc0 | (cp >> 6));
        buf[1] = (u_char) (0x80 | (cp & 0x3f));
        n = 2;

    } else if (cp < 0x10000) {
        buf[0] = (u_char) (0xe0 | (cp >> 12));
        buf[1] = (u_char) (0x80 | ((cp >> 6) & 0x3f));
        buf[2] = (u_char) (0x80 | (cp & 0x3f));
        n = 3;

    } else {
        buf[0] = (u_char) (0xf0 | (cp >> 18));
        buf[1] = (u_char) (0x80 | ((cp >> 12) & 0x3f));
        buf[2] = (u_char) (0x80 | ((cp >> 6) & 0x3f));
        buf[3] = (u_char) (0x80 | (cp & 0x3f));
        n = 4;
    }

    spectra_sql_name_add(name, buf, n);
}


/* A cut name ends on a character boundary, as PostgreSQL cuts it. */

static void
spectra_sql_name_clip(spectra_sql_name_t *name)
{
    size_t  k, need;
    u_char  c;

    if (!name->full || name->len == 0) {
        return;
    }

    k = name->len - 1;

    while (k > 0 && name->len - k < 4 && (name->data[k] & 0xc0) == 0x80) {
        k--;
    }

    c = name->data[k];
    need = (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3
           : (c & 0xf8) == 0xf0 ? 4 : 1;

    if (name->len - k < need) {
        name->len = k;
        name->data[k] = '\0';
    }
}


static int
spectra_sql_hex(const u_char *p, size_t n, uint32_t *cp)
{
    size_t  i;
    u_char  c;

    *cp = 0;

    for (i = 0; i < n; i++) {
        c = spectra_sql_lower(p[i]);

        if (spectra_sql_is_digit(c)) {
            *cp = (*cp << 4) | (uint32_t) (c - '0');

        } else if (c >= 'a' && c <= 'f') {
            *cp = (*cp << 4) | (uint32_t) (c - 'a' + 10);

        } else {
            return 0;
        }
    }

    return *cp <= 0x10ffff;
}


/*
 * The name a WORD or QIDENT token stands for: words fold to lower case,
 * "" is a quote inside a quoted identifier, and U&"..." escapes (\XXXX,
 * \+XXXXXX, \\, or the UESCAPE character) are decoded, so U&"pg\005fsleep"
 * is pg_sleep. A malformed escape is kept as it is (PostgreSQL refuses it).
 */

static void
spectra_sql_name(const u_char *p, const spectra_sql_token_t *tok, u_char esc,
    spectra_sql_name_t *name)
{
    size_t         i, end;
    uint32_t       cp;
    const u_char  *s;

    name->len = 0;
    name->full = 0;
    name->data[0] = '\0';
    s = p + tok->start;

    if (tok->type == SPECTRA_SQL_TOK_WORD) {
        for (i = 0; i < tok->len; i++) {
            spectra_sql_name_byte(name, spectra_sql_lower(s[i]));
        }

        spectra_sql_name_clip(name);
        return;
    }

    end = tok->len - 1;

    for (i = (s[0] == '"') ? 1 : 3; i < end; i++) {
        if (s[i] == '"') {
            spectra_sql_name_byte(name, '"');
            i++;

        } else if (s[0] == '"' || s[i] != esc) {
            spectra_sql_name_byte(name, s[i]);

        } else if (i + 1 < end && s[i + 1] == esc) {
            spectra_sql_name_byte(name, esc);
            i++;

        } else if (i + 7 < end && s[i + 1] == '+'
                   && spectra_sql_hex(s + i + 2, 6, &cp))
        {
            spectra_sql_name_cp(name, cp);
            i += 7;

        } else if (i + 4 < end && spectra_sql_hex(s + i + 1, 4, &cp)) {
            spectra_sql_name_cp(name, cp);
            i += 4;

        } else {
            spectra_sql_name_byte(name, s[i]);
        }
    }

    spectra_sql_name_clip(name);
}


/*
 * Moves lx past a U&"..." identifier's UESCAPE 'c' clause, if any, and
 * returns its escape character.
 */

static void
spectra_sql_after_name(spectra_sql_lexer_t *lx, const spectra_sql_token_t *tok,
    u_char *esc)
{
    spectra_sql_lexer_t  copy;
    spectra_sql_token_t  next;
    spectra_sql_error_t  err;

    *esc = '\\';

    if (tok->type != SPECTRA_SQL_TOK_QIDENT || lx->p[tok->start] == '"') {
        return;
    }

    copy = *lx;

    if (spectra_sql_next_sig(&copy, &next, &err) != SPECTRA_SQL_OK
        || !spectra_sql_tok_is(lx->p, &next, "uescape"))
    {
        return;
    }

    if (spectra_sql_next_sig(&copy, &next, &err) != SPECTRA_SQL_OK
        || next.type != SPECTRA_SQL_TOK_STRING || next.len != 3
        || lx->p[next.start] != '\'')
    {
        return;
    }

    *esc = lx->p[next.start + 1];
    *lx = copy;
}


/*
 * Copies a name into an error message: at most 63 bytes, control characters
 * shown as '?', optionally in upper case.
 */

static void
spectra_sql_display(const u_char *s, size_t len, int upper, char *out,
    size_t size)
{
    size_t  i;
    u_char  c;

    if (len > SPECTRA_SQL_NAME_MAX) {
        len = SPECTRA_SQL_NAME_MAX;

        while (len > 0 && (s[len] & 0xc0) == 0x80) {
            len--;
        }
    }

    for (i = 0; i < len && i + 1 < size; i++) {
        c = s[i];

        if (c < 0x20 || c == 0x7f) {
            c = '?';

        } else if (upper && c >= 'a' && c <= 'z') {
            c = (u_char) (c - 0x20);
        }

        out[i] = (char) c;
    }

    out[i] = '\0';
}


static int
spectra_sql_is_reserved(const u_char *p, const spectra_sql_token_t *tok)
{
    size_t  i;

    for (i = 0; spectra_sql_reserved[i] != NULL; i++) {
        if (spectra_sql_tok_is(p, tok, spectra_sql_reserved[i])) {
            return 1;
        }
    }

    return 0;
}


void
spectra_sql_policy_default(spectra_sql_policy_t *policy)
{
    policy->allow = spectra_sql_default_allow;
    policy->nallow = sizeof(spectra_sql_default_allow)
                     / sizeof(spectra_sql_str_t);
    policy->deny_schemas = spectra_sql_default_schemas;
    policy->ndeny_schemas = sizeof(spectra_sql_default_schemas)
                            / sizeof(spectra_sql_str_t);
    policy->deny_relations = spectra_sql_default_relations;
    policy->ndeny_relations = sizeof(spectra_sql_default_relations)
                              / sizeof(spectra_sql_str_t);
    policy->deny_functions = spectra_sql_default_functions;
    policy->ndeny_functions = sizeof(spectra_sql_default_functions)
                              / sizeof(spectra_sql_str_t);
    policy->max_len = SPECTRA_SQL_MAX_LEN;
}


int
spectra_sql_list_entry_check(spectra_sql_list_e list, const u_char *p,
    size_t len, spectra_sql_error_t *err)
{
    size_t               i, n;
    char                 shown[SPECTRA_SQL_NAME_MAX + 1];
    spectra_sql_token_t  tok;

    if (list == SPECTRA_SQL_LIST_ALLOW) {
        tok.type = SPECTRA_SQL_TOK_WORD;
        tok.start = 0;
        tok.len = len;

        for (i = 0; spectra_sql_read_only[i] != NULL; i++) {
            if (spectra_sql_tok_is(p, &tok, spectra_sql_read_only[i])) {
                return SPECTRA_SQL_OK;
            }
        }

        spectra_sql_display(p, len, 1, shown, sizeof(shown));
        spectra_sql_error_at(err, SPECTRA_SQL_ERR_INVALID, p, len, 0);
        snprintf(err->message, sizeof(err->message),
                 "\"%s\" cannot be allowed: only SELECT, WITH, VALUES, "
                 "TABLE, SHOW and EXPLAIN can", shown);
        return SPECTRA_SQL_ERR_INVALID;
    }

    n = (len > 0 && p[len - 1] == '*') ? len - 1 : len;

    for (i = 0; i < n; i++) {
        if (!spectra_sql_is_ident_char(p[i])) {
            break;
        }
    }

    if (n == 0 || n > SPECTRA_SQL_NAME_MAX || i < n
        || spectra_sql_is_digit(p[0]) || p[0] == '$')
    {
        spectra_sql_display(p, len, 0, shown, sizeof(shown));
        spectra_sql_error_at(err, SPECTRA_SQL_ERR_INVALID, p, len, i);
        snprintf(err->message, sizeof(err->message),
                 "invalid name \"%s\" in a deny list: use a name of at most "
                 "63 letters, digits, _ or $, optionally ending in *", shown);
        return SPECTRA_SQL_ERR_INVALID;
    }

    return SPECTRA_SQL_OK;
}


int
spectra_sql_list_parse(spectra_sql_list_e list, const u_char *p, size_t len,
    spectra_sql_str_t *out, size_t nout, size_t *n, spectra_sql_error_t *err)
{
    int     rc;
    size_t  i, start;

    *n = 0;
    i = 0;

    for ( ;; ) {
        while (i < len && (p[i] == ',' || spectra_sql_is_space(p[i]))) {
            i++;
        }

        if (i == len) {
            break;
        }

        start = i;

        while (i < len && p[i] != ',' && !spectra_sql_is_space(p[i])) {
            i++;
        }

        rc = spectra_sql_list_entry_check(list, p + start, i - start, err);

        if (rc != SPECTRA_SQL_OK) {
            return spectra_sql_error_at(err, rc, p, len, start + err->offset);
        }

        if (*n == nout) {
            spectra_sql_error_at(err, SPECTRA_SQL_ERR_INVALID, p, len, start);
            snprintf(err->message, sizeof(err->message),
                     "too many names in the list (at most %zu)", nout);
            return SPECTRA_SQL_ERR_INVALID;
        }

        out[*n].data = p + start;
        out[*n].len = i - start;
        (*n)++;
    }

    if (*n == 0 && list == SPECTRA_SQL_LIST_ALLOW) {
        spectra_sql_error_at(err, SPECTRA_SQL_ERR_INVALID, p, len, 0);
        snprintf(err->message, sizeof(err->message),
                 "the list of allowed statements is empty");
        return SPECTRA_SQL_ERR_INVALID;
    }

    return SPECTRA_SQL_OK;
}


/*
 * The first keyword of the statement (of the explained statement when
 * explained is set) must be on the allow list.
 */

static int
spectra_sql_first_keyword(const spectra_sql_policy_t *policy,
    const u_char *p, size_t len, const spectra_sql_token_t *tok,
    int explained, spectra_sql_error_t *err)
{
    char  shown[SPECTRA_SQL_NAME_MAX + 1];

    if (tok->type != SPECTRA_SQL_TOK_WORD) {
        spectra_sql_error_at(err, SPECTRA_SQL_ERR_NOT_READ_ONLY, p, len,
                             tok->start);
        snprintf(err->message, sizeof(err->message),
                 "a statement must start with a keyword "
                 "(line %zu, column %zu)", err->line, err->column);
        return SPECTRA_SQL_ERR_NOT_READ_ONLY;
    }

    if (spectra_sql_match(policy->allow, policy->nallow, p + tok->start,
                          tok->len)
        && !(explained && (spectra_sql_tok_is(p, tok, "explain")
                           || spectra_sql_tok_is(p, tok, "show"))))
    {
        return SPECTRA_SQL_OK;
    }

    spectra_sql_display(p + tok->start, tok->len, 1, shown, sizeof(shown));
    spectra_sql_error_at(err, SPECTRA_SQL_ERR_NOT_READ_ONLY, p, len,
                         tok->start);
    snprintf(err->message, sizeof(err->message),
             "only read-only statements are allowed: %s at line %zu, "
             "column %zu", shown, err->line, err->column);

    return SPECTRA_SQL_ERR_NOT_READ_ONLY;
}


/*
 * Consumes EXPLAIN's options (VERBOSE, or a parenthesized list) up to the
 * explained statement; ANALYZE would run the statement, so it is refused.
 */

static int
spectra_sql_explain(spectra_sql_lexer_t *lx, size_t *end,
    spectra_sql_error_t *err)
{
    int                  rc, list;
    size_t               depth;
    spectra_sql_token_t  tok, next;
    spectra_sql_lexer_t  save;

    list = 0;
    depth = 0;

    for ( ;; ) {
        save = *lx;

        rc = spectra_sql_next_sig(lx, &tok, err);

        if (rc != SPECTRA_SQL_OK) {
            return rc;
        }

        if (tok.type == SPECTRA_SQL_TOK_EOF) {
            *lx = save;
            return SPECTRA_SQL_OK;
        }

        if (spectra_sql_tok_is(lx->p, &tok, "analyze")
            || spectra_sql_tok_is(lx->p, &tok, "analyse"))
        {
            spectra_sql_error_at(err, SPECTRA_SQL_ERR_NOT_READ_ONLY, lx->p,
                                 lx->len, tok.start);
            snprintf(err->message, sizeof(err->message),
                     "EXPLAIN ANALYZE is not allowed (line %zu, column %zu)",
                     err->line, err->column);
            return SPECTRA_SQL_ERR_NOT_READ_ONLY;
        }

        if (list) {
            if (spectra_sql_punct_is(lx->p, &tok, '(')) {
                depth++;

            } else if (spectra_sql_punct_is(lx->p, &tok, ')')
                       && --depth == 0)
            {
                list = 0;
            }

            *end = tok.start + tok.len;
            continue;
        }

        if (spectra_sql_tok_is(lx->p, &tok, "verbose")) {
            *end = tok.start + tok.len;
            continue;
        }

        if (spectra_sql_punct_is(lx->p, &tok, '(')) {
            spectra_sql_peek(lx, &next);

            if (next.type == SPECTRA_SQL_TOK_WORD
                && !spectra_sql_tok_is(lx->p, &next, "select")
                && !spectra_sql_tok_is(lx->p, &next, "with")
                && !spectra_sql_tok_is(lx->p, &next, "values")
                && !spectra_sql_tok_is(lx->p, &next, "table"))
            {
                list = 1;
                depth = 1;
                *end = tok.start + tok.len;
                continue;
            }
        }

        *lx = save;
        return SPECTRA_SQL_OK;
    }
}


/* Keyword rules: data-modifying statements, SELECT INTO, locking. */

static int
spectra_sql_check_word(spectra_sql_lexer_t *lx, const spectra_sql_token_t *tok,
    spectra_sql_prev_t prev, spectra_sql_error_t *err)
{
    int                  dml;
    char                 shown[SPECTRA_SQL_NAME_MAX + 1];
    const char          *lock;
    const u_char        *p;
    spectra_sql_lexer_t  copy;
    spectra_sql_token_t  n1, n2, n3;

    p = lx->p;

    /* after AS, "." or "::" a word is a label, a column or a type */
    if (prev.as || prev.dot || prev.cast) {
        return SPECTRA_SQL_OK;
    }

    copy = *lx;
    spectra_sql_peek(&copy, &n1);

    dml = (spectra_sql_tok_is(p, tok, "insert")
           && spectra_sql_tok_is(p, &n1, "into"))
          || (spectra_sql_tok_is(p, tok, "merge")
              && spectra_sql_tok_is(p, &n1, "into"))
          || (spectra_sql_tok_is(p, tok, "delete")
              && spectra_sql_tok_is(p, &n1, "from"))
          || (spectra_sql_tok_is(p, tok, "update")
              && (n1.type == SPECTRA_SQL_TOK_QIDENT
                  || (n1.type == SPECTRA_SQL_TOK_WORD
                      && !spectra_sql_is_reserved(p, &n1))));

    if (dml) {
        spectra_sql_display(p + tok->start, tok->len, 1, shown, sizeof(shown));
        spectra_sql_error_at(err, SPECTRA_SQL_ERR_NOT_READ_ONLY, p, lx->len,
                             tok->start);
        snprintf(err->message, sizeof(err->message),
                 "data-modifying statements are not allowed: %s at line %zu, "
                 "column %zu", shown, err->line, err->column);
        return SPECTRA_SQL_ERR_NOT_READ_ONLY;
    }

    if (spectra_sql_tok_is(p, tok, "into")) {
        spectra_sql_error_at(err, SPECTRA_SQL_ERR_NOT_READ_ONLY, p, lx->len,
                             tok->start);
        snprintf(err->message, sizeof(err->message),
                 "SELECT INTO is not allowed (line %zu, column %zu)",
                 err->line, err->column);
        return SPECTRA_SQL_ERR_NOT_READ_ONLY;
    }

    if (!spectra_sql_tok_is(p, tok, "for")) {
        return SPECTRA_SQL_OK;
    }

    lock = NULL;

    if (n1.type == SPECTRA_SQL_TOK_WORD) {
        (void) spectra_sql_next_sig(&copy, &n1, err);
        spectra_sql_peek(&copy, &n2);

        if (spectra_sql_tok_is(p, &n1, "update")) {
            lock = "FOR UPDATE";

        } else if (spectra_sql_tok_is(p, &n1, "share")) {
            lock = "FOR SHARE";

        } else if (spectra_sql_tok_is(p, &n1, "key")
                   && spectra_sql_tok_is(p, &n2, "share"))
        {
            lock = "FOR KEY SHARE";

        } else if (spectra_sql_tok_is(p, &n1, "no")
                   && spectra_sql_tok_is(p, &n2, "key"))
        {
            (void) spectra_sql_next_sig(&copy, &n2, err);
            spectra_sql_peek(&copy, &n3);

            if (spectra_sql_tok_is(p, &n3, "update")) {
                lock = "FOR NO KEY UPDATE";
            }
        }
    }

    if (lock == NULL) {
        return SPECTRA_SQL_OK;
    }

    spectra_sql_error_at(err, SPECTRA_SQL_ERR_NOT_READ_ONLY, p, lx->len,
                         tok->start);
    snprintf(err->message, sizeof(err->message),
             "locking clause %s is not allowed (line %zu, column %zu)",
             lock, err->line, err->column);

    return SPECTRA_SQL_ERR_NOT_READ_ONLY;
}


/*
 * A name followed by "." is a qualifier (schema, or database), one followed
 * by "(" a function; any other name not after ".", AS or "::" may be a
 * relation found on the search path.
 */

static int
spectra_sql_check_name(const spectra_sql_policy_t *policy,
    spectra_sql_lexer_t *lx, const spectra_sql_token_t *tok,
    spectra_sql_prev_t prev, spectra_sql_error_t *err)
{
    u_char               esc;
    const char          *what;
    spectra_sql_lexer_t  after;
    spectra_sql_token_t  next;
    spectra_sql_name_t   name;
    char                 shown[SPECTRA_SQL_NAME_MAX + 1];

    after = *lx;
    spectra_sql_after_name(&after, tok, &esc);
    spectra_sql_peek(&after, &next);
    spectra_sql_name(lx->p, tok, esc, &name);

    if (spectra_sql_punct_is(lx->p, &next, '.')) {
        if (!spectra_sql_match(policy->deny_schemas, policy->ndeny_schemas,
                               name.data, name.len))
        {
            return SPECTRA_SQL_OK;
        }

        what = "schema";

    } else if (spectra_sql_punct_is(lx->p, &next, '(')) {
        if (!spectra_sql_match(policy->deny_functions,
                               policy->ndeny_functions, name.data, name.len))
        {
            return SPECTRA_SQL_OK;
        }

        what = "function";

    } else {
        if (prev.dot || prev.as || prev.cast
            || !spectra_sql_match(policy->deny_relations,
                                  policy->ndeny_relations, name.data,
                                  name.len))
        {
            return SPECTRA_SQL_OK;
        }

        what = "relation";
    }

    spectra_sql_display(name.data, name.len, 0, shown, sizeof(shown));
    spectra_sql_error_at(err, SPECTRA_SQL_ERR_DENIED, lx->p, lx->len,
                         tok->start);
    snprintf(err->message, sizeof(err->message),
             "%s %s is not allowed (line %zu, column %zu)", what, shown,
             err->line, err->column);

    return SPECTRA_SQL_ERR_DENIED;
}


int
spectra_sql_check(const spectra_sql_policy_t *policy, const u_char *p,
    size_t len, spectra_sql_info_t *info, spectra_sql_error_t *err)
{
    int                  rc, started, explained, done, wrappable;
    size_t               depth, open, end;
    const u_char        *nul;
    spectra_sql_lexer_t  lx;
    spectra_sql_token_t  tok;
    spectra_sql_prev_t   prev;

    if (policy->max_len && len > policy->max_len) {
        spectra_sql_error_at(err, SPECTRA_SQL_ERR_TOO_LONG, p, len,
                             policy->max_len);
        snprintf(err->message, sizeof(err->message),
                 "SQL is too long: %zu bytes, the limit is %zu", len,
                 policy->max_len);
        return SPECTRA_SQL_ERR_TOO_LONG;
    }

    nul = (len > 0) ? memchr(p, '\0', len) : NULL;

    if (nul != NULL) {
        spectra_sql_error_at(err, SPECTRA_SQL_ERR_NUL, p, len,
                             (size_t) (nul - p));
        snprintf(err->message, sizeof(err->message),
                 "NUL bytes are not allowed (line %zu, column %zu)",
                 err->line, err->column);
        return SPECTRA_SQL_ERR_NUL;
    }

    spectra_sql_lexer_init(&lx, p, len);

    started = 0;
    explained = 0;
    wrappable = 0;
    done = 0;
    depth = 0;
    open = 0;
    end = 0;
    memset(&prev, 0, sizeof(prev));

    for ( ;; ) {
        rc = spectra_sql_next_sig(&lx, &tok, err);

        if (rc != SPECTRA_SQL_OK) {
            return rc;
        }

        if (tok.type == SPECTRA_SQL_TOK_EOF) {
            break;
        }

        if (done) {
            spectra_sql_error_at(err, SPECTRA_SQL_ERR_MULTIPLE, p, len,
                                 tok.start);
            snprintf(err->message, sizeof(err->message),
                     "multiple statements are not allowed (second statement "
                     "at line %zu, column %zu)", err->line, err->column);
            return SPECTRA_SQL_ERR_MULTIPLE;
        }

        if (tok.type == SPECTRA_SQL_TOK_SEMICOLON) {
            if (!started && depth == 0) {
                spectra_sql_error_at(err, SPECTRA_SQL_ERR_EMPTY, p, len,
                                     tok.start);
                snprintf(err->message, sizeof(err->message),
                         "empty statement at line %zu, column %zu",
                         err->line, err->column);
                return SPECTRA_SQL_ERR_EMPTY;
            }

            done = 1;
            continue;
        }

        if (spectra_sql_punct_is(p, &tok, '(')) {
            if (depth++ == 0) {
                open = tok.start;
            }

        } else if (!started) {
            rc = spectra_sql_first_keyword(policy, p, len, &tok, explained,
                                           err);
            if (rc != SPECTRA_SQL_OK) {
                return rc;
            }

            started = 1;

            if (!explained) {
                wrappable = !spectra_sql_tok_is(p, &tok, "show")
                            && !spectra_sql_tok_is(p, &tok, "explain");
            }

            end = tok.start + tok.len;

            if (spectra_sql_tok_is(p, &tok, "explain")) {
                rc = spectra_sql_explain(&lx, &end, err);

                if (rc != SPECTRA_SQL_OK) {
                    return rc;
                }

                started = 0;
                explained = 1;
            }

            memset(&prev, 0, sizeof(prev));
            continue;

        } else if (spectra_sql_punct_is(p, &tok, ')')) {
            if (depth == 0) {
                spectra_sql_error_at(err, SPECTRA_SQL_ERR_SYNTAX, p, len,
                                     tok.start);
                snprintf(err->message, sizeof(err->message),
                         "unbalanced parentheses: ')' at line %zu, "
                         "column %zu has no '('", err->line, err->column);
                return SPECTRA_SQL_ERR_SYNTAX;
            }

            depth--;

        } else if (tok.type == SPECTRA_SQL_TOK_WORD
                   || tok.type == SPECTRA_SQL_TOK_QIDENT)
        {
            if (tok.type == SPECTRA_SQL_TOK_WORD) {
                rc = spectra_sql_check_word(&lx, &tok, prev, err);

                if (rc != SPECTRA_SQL_OK) {
                    return rc;
                }
            }

            rc = spectra_sql_check_name(policy, &lx, &tok, prev, err);

            if (rc != SPECTRA_SQL_OK) {
                return rc;
            }
        }

        prev.dot = spectra_sql_punct_is(p, &tok, '.');
        prev.as = spectra_sql_tok_is(p, &tok, "as");
        prev.cast = (tok.type == SPECTRA_SQL_TOK_OPERATOR && tok.len == 2
                     && p[tok.start] == ':' && p[tok.start + 1] == ':');
        end = tok.start + tok.len;
    }

    if (depth > 0) {
        spectra_sql_error_at(err, SPECTRA_SQL_ERR_SYNTAX, p, len, open);
        snprintf(err->message, sizeof(err->message),
                 "unbalanced parentheses: '(' at line %zu, column %zu is "
                 "not closed", err->line, err->column);
        return SPECTRA_SQL_ERR_SYNTAX;
    }

    if (!started) {
        spectra_sql_error_at(err, SPECTRA_SQL_ERR_EMPTY, p, len, len);
        snprintf(err->message, sizeof(err->message), "%s",
                 explained ? "EXPLAIN needs a statement" : "SQL is empty");
        return SPECTRA_SQL_ERR_EMPTY;
    }

    if (info != NULL) {
        info->stmt_len = end;
        info->wrappable = wrappable;
    }

    return SPECTRA_SQL_OK;
}


int
spectra_sql_trim(const u_char *p, size_t len, size_t *stmt_len,
    spectra_sql_error_t *err)
{
    int                  rc;
    spectra_sql_lexer_t  lx;
    spectra_sql_token_t  tok;

    spectra_sql_lexer_init(&lx, p, len);
    *stmt_len = 0;

    for ( ;; ) {
        rc = spectra_sql_next_sig(&lx, &tok, err);

        if (rc != SPECTRA_SQL_OK) {
            return rc;
        }

        if (tok.type == SPECTRA_SQL_TOK_EOF
            || tok.type == SPECTRA_SQL_TOK_SEMICOLON)
        {
            return SPECTRA_SQL_OK;
        }

        *stmt_len = tok.start + tok.len;
    }
}


static u_char *
spectra_sql_cpy(u_char *dst, const char *s)
{
    size_t  n;

    n = strlen(s);
    memcpy(dst, s, n);

    return dst + n;
}


#define SPECTRA_SQL_WRAP_HEAD  "SELECT * FROM ("
#define SPECTRA_SQL_WRAP_TAIL  "\n) AS spectra_q LIMIT "


size_t
spectra_sql_wrap_limit_len(size_t stmt_len, uint64_t limit)
{
    char  num[24];

    if (limit == UINT64_MAX) {
        return 0;
    }

    return sizeof(SPECTRA_SQL_WRAP_HEAD) - 1 + stmt_len
           + sizeof(SPECTRA_SQL_WRAP_TAIL) - 1
           + (size_t) snprintf(num, sizeof(num), "%llu",
                               (unsigned long long) limit + 1);
}


u_char *
spectra_sql_wrap_limit(u_char *dst, const u_char *p, size_t stmt_len,
    uint64_t limit)
{
    char  num[24];

    snprintf(num, sizeof(num), "%llu", (unsigned long long) limit + 1);

    dst = spectra_sql_cpy(dst, SPECTRA_SQL_WRAP_HEAD);
    memcpy(dst, p, stmt_len);
    dst += stmt_len;
    dst = spectra_sql_cpy(dst, SPECTRA_SQL_WRAP_TAIL);

    return spectra_sql_cpy(dst, num);
}


int
spectra_sql_params(const u_char *p, size_t len, spectra_sql_str_t *names,
    size_t nnames, size_t *n, spectra_sql_error_t *err)
{
    int                  rc;
    size_t               i;
    spectra_sql_lexer_t  lx;
    spectra_sql_token_t  tok;

    spectra_sql_lexer_init(&lx, p, len);
    *n = 0;

    for ( ;; ) {
        rc = spectra_sql_lexer_next(&lx, &tok, err);

        if (rc != SPECTRA_SQL_OK) {
            return rc;
        }

        if (tok.type == SPECTRA_SQL_TOK_EOF) {
            return SPECTRA_SQL_OK;
        }

        if (tok.type != SPECTRA_SQL_TOK_NAMED_PARAM) {
            continue;
        }

        for (i = 0; i < *n; i++) {
            if (names[i].len == tok.len - 1
                && memcmp(names[i].data, p + tok.start + 1, tok.len - 1) == 0)
            {
                break;
            }
        }

        if (i < *n) {
            continue;
        }

        if (*n == nnames) {
            spectra_sql_error_at(err, SPECTRA_SQL_ERR_PARAMS, p, len,
                                 tok.start);
            snprintf(err->message, sizeof(err->message),
                     "too many named parameters (at most %zu) at line %zu, "
                     "column %zu", nnames, err->line, err->column);
            return SPECTRA_SQL_ERR_PARAMS;
        }

        names[*n].data = p + tok.start + 1;
        names[*n].len = tok.len - 1;
        (*n)++;
    }
}


size_t
spectra_sql_unload_escape_len(const u_char *p, size_t len)
{
    size_t  i, n;

    n = len;

    for (i = 0; i < len; i++) {
        if (p[i] == '\'' || p[i] == '\\') {
            n++;
        }
    }

    return n;
}


u_char *
spectra_sql_unload_escape(u_char *dst, const u_char *p, size_t len)
{
    size_t  i;

    for (i = 0; i < len; i++) {
        if (p[i] == '\'' || p[i] == '\\') {
            *dst++ = '\\';
        }

        *dst++ = p[i];
    }

    return dst;
}


int
spectra_sql_unload_unescape(const u_char *p, size_t len, u_char *dst,
    size_t *dst_len, size_t *used, spectra_sql_error_t *err)
{
    size_t  i, n;

    if (len == 0 || p[0] != '\'') {
        spectra_sql_error_at(err, SPECTRA_SQL_ERR_INVALID, p, len, 0);
        snprintf(err->message, sizeof(err->message),
                 "the UNLOAD query must be a quoted literal (line %zu, "
                 "column %zu)", err->line, err->column);
        return SPECTRA_SQL_ERR_INVALID;
    }

    n = 0;

    for (i = 1; i < len; i++) {
        if (p[i] == '\\') {
            if (i + 1 < len && (p[i + 1] == '\'' || p[i + 1] == '\\')) {
                dst[n++] = p[++i];
                continue;
            }

            spectra_sql_error_at(err, SPECTRA_SQL_ERR_INVALID, p, len, i);
            snprintf(err->message, sizeof(err->message),
                     "invalid escape in the UNLOAD query literal at line %zu, "
                     "column %zu: only \\' and \\\\ are allowed",
                     err->line, err->column);
            return SPECTRA_SQL_ERR_INVALID;
        }

        if (p[i] == '\'') {
            if (i + 1 < len && p[i + 1] == '\'') {
                dst[n++] = '\'';
                i++;
                continue;
            }

            *dst_len = n;
            *used = i + 1;
            return SPECTRA_SQL_OK;
        }

        dst[n++] = p[i];
    }

    spectra_sql_error_at(err, SPECTRA_SQL_ERR_INVALID, p, len, 0);
    snprintf(err->message, sizeof(err->message),
             "unterminated UNLOAD query literal starting at line %zu, "
             "column %zu", err->line, err->column);

    return SPECTRA_SQL_ERR_INVALID;
}


/* Target and role go between quotes as they are: nothing may end them. */

static int
spectra_sql_unload_text_ok(const spectra_sql_str_t *s)
{
    size_t  i;

    if (s->len == 0) {
        return 0;
    }

    for (i = 0; i < s->len; i++) {
        if (s->data[i] == '\'' || s->data[i] == '\\' || s->data[i] < 0x20
            || s->data[i] == 0x7f)
        {
            return 0;
        }
    }

    return 1;
}


int
spectra_sql_unload_validate(const spectra_sql_unload_t *u,
    spectra_sql_error_t *err)
{
    const char  *msg;
    u_char       d;

    msg = NULL;
    d = u->delimiter;

    if (u->query.len == 0) {
        msg = "the UNLOAD query is empty";

    } else if (!spectra_sql_unload_text_ok(&u->target)) {
        msg = "the UNLOAD target must be non-empty, without quotes, "
              "backslashes or control characters";

    } else if (!spectra_sql_unload_text_ok(&u->iam_role)) {
        msg = "the UNLOAD IAM role must be non-empty, without quotes, "
              "backslashes or control characters";

    } else if ((unsigned) u->format > SPECTRA_SQL_UNLOAD_PARQUET
               || (unsigned) u->compression > SPECTRA_SQL_UNLOAD_ZSTD)
    {
        msg = "unknown UNLOAD format or compression";

    } else if (d != 0 && d != '\t'
               && (d < 0x20 || d > 0x7e || d == '\'' || d == '\\'
                   || d == '"'))
    {
        msg = "the UNLOAD delimiter must be one printable ASCII character "
              "other than ' \\ \" (or a tab)";

    } else if ((u->format == SPECTRA_SQL_UNLOAD_JSON
                || u->format == SPECTRA_SQL_UNLOAD_PARQUET)
               && (u->header || d != 0))
    {
        msg = "HEADER and DELIMITER apply only to CSV and text UNLOAD";

    } else if (u->format == SPECTRA_SQL_UNLOAD_PARQUET
               && u->compression != SPECTRA_SQL_UNLOAD_NONE)
    {
        msg = "PARQUET UNLOAD takes no GZIP or ZSTD";

    } else if (u->max_file_size_mb != 0
               && (u->max_file_size_mb < SPECTRA_SQL_UNLOAD_MIN_MB
                   || u->max_file_size_mb > SPECTRA_SQL_UNLOAD_MAX_MB))
    {
        msg = "MAXFILESIZE must be between 5 MB and 6348 MB";
    }

    if (msg == NULL) {
        return SPECTRA_SQL_OK;
    }

    err->code = SPECTRA_SQL_ERR_INVALID;
    err->offset = 0;
    err->line = 1;
    err->column = 1;
    snprintf(err->message, sizeof(err->message), "%s", msg);

    return SPECTRA_SQL_ERR_INVALID;
}


static const char  *spectra_sql_unload_formats[] = {
    "", " FORMAT CSV", " FORMAT JSON", " FORMAT PARQUET"
};

static const char  *spectra_sql_unload_compressions[] = {
    "", " GZIP", " ZSTD"
};


size_t
spectra_sql_unload_len(const spectra_sql_unload_t *u)
{
    char                 num[24];
    size_t               n;
    spectra_sql_error_t  err;

    if (spectra_sql_unload_validate(u, &err) != SPECTRA_SQL_OK) {
        return 0;
    }

    n = sizeof("UNLOAD ('") - 1
        + spectra_sql_unload_escape_len(u->query.data, u->query.len)
        + sizeof("') TO '") - 1 + u->target.len
        + sizeof("' IAM_ROLE ") - 1;

    if (u->iam_role.len == 7 && memcmp(u->iam_role.data, "default", 7) == 0)
    {
        n += 7;

    } else {
        n += u->iam_role.len + 2;
    }

    n += strlen(spectra_sql_unload_formats[u->format])
         + strlen(spectra_sql_unload_compressions[u->compression]);

    if (u->header) {
        n += sizeof(" HEADER") - 1;
    }

    if (u->delimiter) {
        n += sizeof(" DELIMITER AS 'c'") - 1;
    }

    if (u->manifest) {
        n += sizeof(" MANIFEST") - 1;
    }

    if (u->parallel_off) {
        n += sizeof(" PARALLEL OFF") - 1;
    }

    if (u->max_file_size_mb) {
        n += sizeof(" MAXFILESIZE  MB") - 1
             + (size_t) snprintf(num, sizeof(num), "%llu",
                                 (unsigned long long) u->max_file_size_mb);
    }

    return n;
}


u_char *
spectra_sql_unload(u_char *dst, const spectra_sql_unload_t *u)
{
    char  num[24];

    dst = spectra_sql_cpy(dst, "UNLOAD ('");
    dst = spectra_sql_unload_escape(dst, u->query.data, u->query.len);
    dst = spectra_sql_cpy(dst, "') TO '");
    memcpy(dst, u->target.data, u->target.len);
    dst += u->target.len;
    dst = spectra_sql_cpy(dst, "' IAM_ROLE ");

    if (u->iam_role.len == 7 && memcmp(u->iam_role.data, "default", 7) == 0)
    {
        dst = spectra_sql_cpy(dst, "default");

    } else {
        *dst++ = '\'';
        memcpy(dst, u->iam_role.data, u->iam_role.len);
        dst += u->iam_role.len;
        *dst++ = '\'';
    }

    dst = spectra_sql_cpy(dst, spectra_sql_unload_formats[u->format]);

    if (u->header) {
        dst = spectra_sql_cpy(dst, " HEADER");
    }

    if (u->delimiter) {
        dst = spectra_sql_cpy(dst, " DELIMITER AS '");
        *dst++ = u->delimiter;
        *dst++ = '\'';
    }

    dst = spectra_sql_cpy(dst, spectra_sql_unload_compressions[u->compression]);

    if (u->manifest) {
        dst = spectra_sql_cpy(dst, " MANIFEST");
    }

    if (u->parallel_off) {
        dst = spectra_sql_cpy(dst, " PARALLEL OFF");
    }

    if (u->max_file_size_mb) {
        snprintf(num, sizeof(num), "%llu",
                 (unsigned long long) u->max_file_size_mb);
        dst = spectra_sql_cpy(dst, " MAXFILESIZE ");
        dst = spectra_sql_cpy(dst, num);
        dst = spectra_sql_cpy(dst, " MB");
    }

    return dst;
}


static int
spectra_sql_unload_fail(spectra_sql_error_t *err, const u_char *p, size_t len,
    size_t off, const char *what)
{
    spectra_sql_error_at(err, SPECTRA_SQL_ERR_INVALID, p, len, off);
    snprintf(err->message, sizeof(err->message),
             "%s at line %zu, column %zu", what, err->line, err->column);

    return SPECTRA_SQL_ERR_INVALID;
}


/* The contents of a plain '...' string token (checked by validate later). */

static int
spectra_sql_unload_string(const u_char *p, const spectra_sql_token_t *tok,
    spectra_sql_str_t *s)
{
    if (tok->type != SPECTRA_SQL_TOK_STRING || p[tok->start] != '\'') {
        return 0;
    }

    s->data = p + tok->start + 1;
    s->len = tok->len - 2;

    return 1;
}


enum {
    SPECTRA_SQL_OPT_FORMAT = 0x01,
    SPECTRA_SQL_OPT_HEADER = 0x02,
    SPECTRA_SQL_OPT_DELIMITER = 0x04,
    SPECTRA_SQL_OPT_COMPRESSION = 0x08,
    SPECTRA_SQL_OPT_MANIFEST = 0x10,
    SPECTRA_SQL_OPT_PARALLEL = 0x20,
    SPECTRA_SQL_OPT_MAXFILESIZE = 0x40
};


static int
spectra_sql_unload_options(spectra_sql_lexer_t *lx, spectra_sql_unload_t *u,
    spectra_sql_error_t *err)
{
    int                  rc;
    u_int                seen, opt;
    size_t               i;
    uint64_t             mb;
    const u_char        *p;
    spectra_sql_token_t  tok, arg;

    p = lx->p;
    seen = 0;

    for ( ;; ) {
        rc = spectra_sql_next_sig(lx, &tok, err);

        if (rc != SPECTRA_SQL_OK) {
            return rc;
        }

        if (tok.type == SPECTRA_SQL_TOK_SEMICOLON) {
            rc = spectra_sql_next_sig(lx, &tok, err);

            if (rc != SPECTRA_SQL_OK) {
                return rc;
            }

            if (tok.type != SPECTRA_SQL_TOK_EOF) {
                return spectra_sql_unload_fail(err, p, lx->len, tok.start,
                           "unexpected text after the UNLOAD statement");
            }
        }

        if (tok.type == SPECTRA_SQL_TOK_EOF) {
            return SPECTRA_SQL_OK;
        }

        rc = SPECTRA_SQL_OK;
        arg = tok;

        if (spectra_sql_tok_is(p, &tok, "format")) {
            opt = SPECTRA_SQL_OPT_FORMAT;
            rc = spectra_sql_next_sig(lx, &arg, err);

            if (rc == SPECTRA_SQL_OK && spectra_sql_tok_is(p, &arg, "as")) {
                rc = spectra_sql_next_sig(lx, &arg, err);
            }

        } else if (spectra_sql_tok_is(p, &tok, "csv")
                   || spectra_sql_tok_is(p, &tok, "json")
                   || spectra_sql_tok_is(p, &tok, "parquet"))
        {
            opt = SPECTRA_SQL_OPT_FORMAT;

        } else if (spectra_sql_tok_is(p, &tok, "header")) {
            opt = SPECTRA_SQL_OPT_HEADER;
            u->header = 1;

        } else if (spectra_sql_tok_is(p, &tok, "delimiter")) {
            opt = SPECTRA_SQL_OPT_DELIMITER;
            rc = spectra_sql_next_sig(lx, &arg, err);

            if (rc == SPECTRA_SQL_OK && spectra_sql_tok_is(p, &arg, "as")) {
                rc = spectra_sql_next_sig(lx, &arg, err);
            }

        } else if (spectra_sql_tok_is(p, &tok, "gzip")
                   || spectra_sql_tok_is(p, &tok, "zstd"))
        {
            opt = SPECTRA_SQL_OPT_COMPRESSION;
            u->compression = (p[tok.start] | 0x20) == 'g'
                             ? SPECTRA_SQL_UNLOAD_GZIP
                             : SPECTRA_SQL_UNLOAD_ZSTD;

        } else if (spectra_sql_tok_is(p, &tok, "manifest")) {
            opt = SPECTRA_SQL_OPT_MANIFEST;
            u->manifest = 1;

        } else if (spectra_sql_tok_is(p, &tok, "parallel")) {
            opt = SPECTRA_SQL_OPT_PARALLEL;
            rc = spectra_sql_next_sig(lx, &arg, err);

        } else if (spectra_sql_tok_is(p, &tok, "maxfilesize")) {
            opt = SPECTRA_SQL_OPT_MAXFILESIZE;
            rc = spectra_sql_next_sig(lx, &arg, err);

            if (rc == SPECTRA_SQL_OK && spectra_sql_tok_is(p, &arg, "as")) {
                rc = spectra_sql_next_sig(lx, &arg, err);
            }

        } else {
            return spectra_sql_unload_fail(err, p, lx->len, tok.start,
                                           "unsupported UNLOAD option");
        }

        if (rc != SPECTRA_SQL_OK) {
            return rc;
        }

        if (seen & opt) {
            return spectra_sql_unload_fail(err, p, lx->len, tok.start,
                                           "repeated UNLOAD option");
        }

        seen |= opt;

        if (opt == SPECTRA_SQL_OPT_FORMAT) {
            if (spectra_sql_tok_is(p, &arg, "csv")) {
                u->format = SPECTRA_SQL_UNLOAD_CSV;

            } else if (spectra_sql_tok_is(p, &arg, "json")) {
                u->format = SPECTRA_SQL_UNLOAD_JSON;

            } else if (spectra_sql_tok_is(p, &arg, "parquet")) {
                u->format = SPECTRA_SQL_UNLOAD_PARQUET;

            } else {
                return spectra_sql_unload_fail(err, p, lx->len, arg.start,
                                               "unsupported UNLOAD format");
            }

        } else if (opt == SPECTRA_SQL_OPT_DELIMITER) {
            if (arg.type != SPECTRA_SQL_TOK_STRING || arg.len != 3
                || p[arg.start] != '\'')
            {
                return spectra_sql_unload_fail(err, p, lx->len, arg.start,
                           "DELIMITER needs one character in quotes");
            }

            u->delimiter = p[arg.start + 1];

        } else if (opt == SPECTRA_SQL_OPT_PARALLEL) {
            if (spectra_sql_tok_is(p, &arg, "off")
                || spectra_sql_tok_is(p, &arg, "false"))
            {
                u->parallel_off = 1;

            } else if (!spectra_sql_tok_is(p, &arg, "on")
                       && !spectra_sql_tok_is(p, &arg, "true"))
            {
                return spectra_sql_unload_fail(err, p, lx->len, arg.start,
                                               "PARALLEL needs ON or OFF");
            }

        } else if (opt == SPECTRA_SQL_OPT_MAXFILESIZE) {
            mb = 0;

            for (i = 0; i < arg.len; i++) {
                if (arg.type != SPECTRA_SQL_TOK_NUMBER
                    || !spectra_sql_is_digit(p[arg.start + i])
                    || mb > SPECTRA_SQL_UNLOAD_MAX_MB)
                {
                    break;
                }

                mb = mb * 10 + (uint64_t) (p[arg.start + i] - '0');
            }

            if (arg.len == 0 || i < arg.len) {
                return spectra_sql_unload_fail(err, p, lx->len, arg.start,
                           "MAXFILESIZE needs a whole number of MB or GB");
            }

            spectra_sql_peek(lx, &tok);

            if (spectra_sql_tok_is(p, &tok, "gb")) {
                mb *= 1024;
            }

            if (spectra_sql_tok_is(p, &tok, "gb")
                || spectra_sql_tok_is(p, &tok, "mb"))
            {
                (void) spectra_sql_next_sig(lx, &tok, err);
            }

            u->max_file_size_mb = mb;
        }
    }
}


int
spectra_sql_unload_parse(const u_char *p, size_t len, u_char *query_buf,
    spectra_sql_unload_t *u, spectra_sql_error_t *err)
{
    int                  rc;
    size_t               used;
    spectra_sql_lexer_t  lx, save;
    spectra_sql_token_t  tok;

    memset(u, 0, sizeof(spectra_sql_unload_t));
    spectra_sql_lexer_init(&lx, p, len);

    rc = spectra_sql_next_sig(&lx, &tok, err);

    if (rc != SPECTRA_SQL_OK) {
        return rc;
    }

    if (!spectra_sql_tok_is(p, &tok, "unload")) {
        return spectra_sql_unload_fail(err, p, len, tok.start,
                                       "expected UNLOAD");
    }

    rc = spectra_sql_next_sig(&lx, &tok, err);

    if (rc != SPECTRA_SQL_OK) {
        return rc;
    }

    if (!spectra_sql_punct_is(p, &tok, '(')) {
        return spectra_sql_unload_fail(err, p, len, tok.start,
                                       "expected ( after UNLOAD");
    }

    /* the literal uses backslash escapes: skip to it, then read it raw */
    for ( ;; ) {
        save = lx;

        if (spectra_sql_lexer_next(&lx, &tok, err) != SPECTRA_SQL_OK
            || (tok.type != SPECTRA_SQL_TOK_SPACE
                && tok.type != SPECTRA_SQL_TOK_COMMENT))
        {
            lx = save;
            break;
        }
    }

    rc = spectra_sql_unload_unescape(p + lx.pos, len - lx.pos, query_buf,
                                     &u->query.len, &used, err);
    if (rc != SPECTRA_SQL_OK) {
        spectra_sql_error_at(err, SPECTRA_SQL_ERR_INVALID, p, len,
                             lx.pos + err->offset);
        snprintf(err->message, sizeof(err->message),
                 "malformed UNLOAD query literal at line %zu, column %zu",
                 err->line, err->column);
        return rc;
    }

    u->query.data = query_buf;
    lx.pos += used;

    rc = spectra_sql_next_sig(&lx, &tok, err);

    if (rc != SPECTRA_SQL_OK) {
        return rc;
    }

    if (!spectra_sql_punct_is(p, &tok, ')')) {
        return spectra_sql_unload_fail(err, p, len, tok.start,
                                       "expected ) after the UNLOAD query");
    }

    rc = spectra_sql_next_sig(&lx, &tok, err);

    if (rc != SPECTRA_SQL_OK) {
        return rc;
    }

    if (!spectra_sql_tok_is(p, &tok, "to")) {
        return spectra_sql_unload_fail(err, p, len, tok.start, "expected TO");
    }

    rc = spectra_sql_next_sig(&lx, &tok, err);

    if (rc != SPECTRA_SQL_OK) {
        return rc;
    }

    if (!spectra_sql_unload_string(p, &tok, &u->target)) {
        return spectra_sql_unload_fail(err, p, len, tok.start,
                                       "expected the UNLOAD target in quotes");
    }

    rc = spectra_sql_next_sig(&lx, &tok, err);

    if (rc != SPECTRA_SQL_OK) {
        return rc;
    }

    if (!spectra_sql_tok_is(p, &tok, "iam_role")) {
        return spectra_sql_unload_fail(err, p, len, tok.start,
                                       "expected IAM_ROLE");
    }

    rc = spectra_sql_next_sig(&lx, &tok, err);

    if (rc != SPECTRA_SQL_OK) {
        return rc;
    }

    if (spectra_sql_tok_is(p, &tok, "default")) {
        u->iam_role.data = (const u_char *) "default";
        u->iam_role.len = 7;

    } else if (!spectra_sql_unload_string(p, &tok, &u->iam_role)) {
        return spectra_sql_unload_fail(err, p, len, tok.start,
                                       "expected the IAM role in quotes or "
                                       "default");
    }

    rc = spectra_sql_unload_options(&lx, u, err);

    if (rc != SPECTRA_SQL_OK) {
        return rc;
    }

    return spectra_sql_unload_validate(u, err);
}
