/*
 * The PostgreSQL parser as the SQL policy sees it: libpg_query's scanner
 * and parser, the protobuf tree walked by reflection, positions and
 * messages (what it guarantees: spectra_sql_parser.h).
 */

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spectra_sql_parser.h"


/*
 * libpg_query turns the tree into protobuf, and protobuf-c unpacks it,
 * by recursion, one C frame per nesting level and no check of the stack:
 * a chain of 5000 "+ 1" overflows an 8 MB stack. So the nesting is
 * estimated from the tokens first (spectra_sql_depth()) and text whose
 * estimate exceeds SPECTRA_SQL_DEPTH_MAX is refused unparsed. The
 * estimate counts tree levels (messages) and is measured to be at least
 * the real depth (t/unit/test_sql.c, "depth"); the walk below stops at
 * SPECTRA_SQL_WALK_MAX all the same.
 */
#define SPECTRA_SQL_DEPTH_MAX   1500
#define SPECTRA_SQL_WALK_MAX    4000

/* Levels per token in the estimate (measured, with a margin). */
#define SPECTRA_SQL_DEPTH_OP    3       /* an operator, keyword, cast */
#define SPECTRA_SQL_DEPTH_SET   3       /* UNION, INTERSECT, EXCEPT, JOIN */
#define SPECTRA_SQL_DEPTH_OPEN  10      /* ( [ CASE */
#define SPECTRA_SQL_DEPTH_BASE  10      /* RawStmt, SelectStmt, ResTarget */


typedef struct {
    size_t     open_run;    /* the parent's run where this level opened */
    size_t     run;         /* operators since the last separator */
    size_t     run_max;
    size_t     sets;        /* set operations and joins in this level */
    size_t     child;       /* the deepest child level, with its offset */
    size_t     below;       /* the levels below, as the running bound */
    unsigned   between:1;   /* the next AND belongs to BETWEEN */
} spectra_sql_level_t;


typedef struct {
    spectra_sql_visit_pt    visit;
    void                   *data;
    size_t                  depth;
} spectra_sql_walker_t;


static int spectra_sql_utf8_check(const u_char *p, size_t len, size_t *bad);
static size_t spectra_sql_char_offset(const u_char *p, size_t len, int pos);
static int spectra_sql_library_error(const spectra_sql_text_t *t,
    const PgQueryError *e, int code, spectra_err_t *err);
static const char *spectra_sql_hint(const spectra_sql_text_t *t, size_t off);
static size_t spectra_sql_token_at(const spectra_sql_text_t *t, size_t off);
static int spectra_sql_depth(const spectra_sql_text_t *t, size_t *where);
static size_t spectra_sql_level_depth(const spectra_sql_level_t *l);
static int spectra_sql_walk_message(spectra_sql_walker_t *w,
    const ProtobufCMessage *m);


int
spectra_sql_text_init(spectra_sql_text_t *t, const u_char *p, size_t len,
    spectra_err_t *err)
{
    size_t               i, n, bad, end;
    const u_char        *nul;
    PgQueryScanResult    res;
    spectra_sql_token_t *tk;

    memset(t, 0, sizeof(spectra_sql_text_t));
    t->p = p;
    t->len = len;

    nul = (len > 0) ? memchr(p, '\0', len) : NULL;

    if (nul != NULL) {
        return spectra_sql_fail(err, SPECTRA_SQL_ERR_NUL, p, len,
                                (size_t) (nul - p), NULL,
                                "NUL bytes are not allowed");
    }

    if (spectra_sql_utf8_check(p, len, &bad) != 0) {
        return spectra_sql_fail(err, SPECTRA_SQL_ERR_SYNTAX, p, len, bad,
                                NULL, "invalid UTF-8");
    }

    t->text = malloc(len + 1);
    if (t->text == NULL) {
        return spectra_err_set(err, SPECTRA_SQL_ERR_NOMEM, SPECTRA_POS_NONE,
                               "out of memory");
    }

    if (len) {
        memcpy(t->text, p, len);
    }

    t->text[len] = '\0';

    res = pg_query_scan(t->text);

    if (res.error != NULL) {
        spectra_sql_library_error(t, res.error, SPECTRA_SQL_ERR_SYNTAX, err);
        pg_query_free_scan_result(res);
        return SPECTRA_SQL_ERR_SYNTAX;
    }

    t->scan = pg_query__scan_result__unpack(NULL, res.pbuf.len,
                                            (const uint8_t *) res.pbuf.data);
    pg_query_free_scan_result(res);

    if (t->scan == NULL) {
        return spectra_err_set(err, SPECTRA_SQL_ERR_NOMEM, SPECTRA_POS_NONE,
                               "out of memory");
    }

    n = t->scan->n_tokens;

    t->tok = malloc((n ? n : 1) * sizeof(spectra_sql_token_t *));
    if (t->tok == NULL) {
        return spectra_err_set(err, SPECTRA_SQL_ERR_NOMEM, SPECTRA_POS_NONE,
                               "out of memory");
    }

    for (i = 0; i < n; i++) {
        tk = t->scan->tokens[i];

        /*
         * libpg_query ends a U&"..." or U&'...' token where its decoded
         * value would end; it really ends before the white space that
         * precedes the next token (comments are tokens).
         */
        if (tk->token == PG_QUERY__TOKEN__UIDENT
            || tk->token == PG_QUERY__TOKEN__USCONST)
        {
            end = (i + 1 < n) ? (size_t) t->scan->tokens[i + 1]->start : len;

            while (end > (size_t) tk->start + 1
                   && (p[end - 1] == ' ' || p[end - 1] == '\t'
                       || p[end - 1] == '\n' || p[end - 1] == '\r'
                       || p[end - 1] == '\f' || p[end - 1] == '\v'))
            {
                end--;
            }

            if (end <= len && end > (size_t) tk->start) {
                tk->end = (int32_t) end;
            }
        }

        if (tk->start < 0 || tk->end < tk->start || (size_t) tk->end > len) {
            return spectra_err_set(err, SPECTRA_SQL_ERR_SYNTAX,
                                   SPECTRA_POS_NONE,
                                   "the scanner returned a token outside "
                                   "the text");
        }

        if (tk->token != PG_QUERY__TOKEN__SQL_COMMENT
            && tk->token != PG_QUERY__TOKEN__C_COMMENT)
        {
            t->tok[t->ntok++] = tk;
        }
    }

    return SPECTRA_SQL_OK;
}


void
spectra_sql_text_free(spectra_sql_text_t *t)
{
    if (t->scan != NULL) {
        pg_query__scan_result__free_unpacked(t->scan, NULL);
    }

    free(t->tok);
    free(t->text);

    t->scan = NULL;
    t->tok = NULL;
    t->text = NULL;
}


int
spectra_sql_text_parse(const spectra_sql_text_t *t,
    PgQuery__ParseResult **tree, spectra_err_t *err)
{
    size_t                      where;
    PgQueryProtobufParseResult  res;

    *tree = NULL;

    switch (spectra_sql_depth(t, &where)) {

    case 0:
        break;

    case -2:
        return spectra_err_set(err, SPECTRA_SQL_ERR_NOMEM, SPECTRA_POS_NONE,
                               "out of memory");

    default:
        return spectra_sql_fail(err, SPECTRA_SQL_ERR_SYNTAX, t->p, t->len,
                                where, NULL, "the statement is nested too "
                                "deeply to be checked");
    }

    res = pg_query_parse_protobuf(t->text);

    if (res.error != NULL) {
        spectra_sql_library_error(t, res.error, SPECTRA_SQL_ERR_SYNTAX, err);
        pg_query_free_protobuf_parse_result(res);
        return SPECTRA_SQL_ERR_SYNTAX;
    }

    *tree = pg_query__parse_result__unpack(NULL, res.parse_tree.len,
                                  (const uint8_t *) res.parse_tree.data);
    pg_query_free_protobuf_parse_result(res);

    if (*tree == NULL) {
        return spectra_err_set(err, SPECTRA_SQL_ERR_NOMEM, SPECTRA_POS_NONE,
                               "out of memory");
    }

    return SPECTRA_SQL_OK;
}


void
spectra_sql_tree_free(PgQuery__ParseResult *tree)
{
    if (tree != NULL) {
        pg_query__parse_result__free_unpacked(tree, NULL);
    }
}


/* Well-formed UTF-8 (no overlong forms, surrogates or values > U+10FFFF). */

static int
spectra_sql_utf8_check(const u_char *p, size_t len, size_t *bad)
{
    size_t    i, n, k;
    uint32_t  cp, min;
    u_char    c;

    for (i = 0; i < len; i += n) {
        c = p[i];

        if (c < 0x80) {
            n = 1;
            continue;
        }

        if ((c & 0xe0) == 0xc0) {
            n = 2;
            cp = c & 0x1f;
            min = 0x80;

        } else if ((c & 0xf0) == 0xe0) {
            n = 3;
            cp = c & 0x0f;
            min = 0x800;

        } else if ((c & 0xf8) == 0xf0) {
            n = 4;
            cp = c & 0x07;
            min = 0x10000;

        } else {
            *bad = i;
            return -1;
        }

        if (i + n > len) {
            *bad = i;
            return -1;
        }

        for (k = 1; k < n; k++) {
            if ((p[i + k] & 0xc0) != 0x80) {
                *bad = i;
                return -1;
            }

            cp = (cp << 6) | (p[i + k] & 0x3f);
        }

        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
            *bad = i;
            return -1;
        }
    }

    return 0;
}


/* PostgreSQL's error cursor: 1-based, in characters; 0 for none. */

static size_t
spectra_sql_char_offset(const u_char *p, size_t len, int pos)
{
    size_t  i, chars;

    if (pos <= 0) {
        return SPECTRA_POS_NONE;
    }

    chars = 0;

    for (i = 0; i < len; i++) {
        if ((p[i] & 0xc0) != 0x80) {
            if (++chars == (size_t) pos) {
                return i;
            }
        }
    }

    return len;
}


/*
 * The library's message with its position. Where the error is at a
 * :name that the parser saw as "$1", the message names the :name.
 */

static int
spectra_sql_library_error(const spectra_sql_text_t *t, const PgQueryError *e,
    int code, spectra_err_t *err)
{
    char         msg[SPECTRA_ERR_MAX], name[SPECTRA_SQL_NAME_MAX + 2];
    u_char       c;
    size_t       off, n;
    const char  *m, *at;

    m = (e->message != NULL) ? e->message : "the parser failed";
    off = spectra_sql_char_offset(t->p, t->len, e->cursorpos);

    snprintf(msg, sizeof(msg), "%s", m);

    if (off != SPECTRA_POS_NONE && off < t->len && t->p[off] == ':'
        && t->text[off] == '$')
    {
        for (n = 1; off + n < t->len && n < sizeof(name) - 1; n++) {
            c = t->p[off + n];

            if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
                  || (c >= '0' && c <= '9') || c == '_'))
            {
                break;
            }
        }

        memcpy(name, t->p + off, n);
        name[n] = '\0';

        at = strstr(m, "\"$1\"");

        if (at != NULL) {
            snprintf(msg, sizeof(msg), "%.*s\"%s\"%s", (int) (at - m), m,
                     name, at + 4);
        }
    }

    return spectra_sql_fail(err, code, t->p, t->len, off,
                            spectra_sql_hint(t, off), "%s", msg);
}


/*
 * Redshift syntax the PostgreSQL grammar has no place for: the parser
 * trips on the word (or just after it, where it took it for an alias).
 */

static const char *
spectra_sql_hint(const spectra_sql_text_t *t, size_t off)
{
    size_t  i, k;

    if (off == SPECTRA_POS_NONE || t->ntok == 0) {
        return NULL;
    }

    i = spectra_sql_token_at(t, off);

    /* "t pivot (sum(x) ..." is a table alias with a column list to it */
    for (k = 0; k < 4; k++, i--) {
        if (spectra_sql_token_is_word(t, i, "top")) {
            return "TOP is Redshift syntax, write LIMIT n at the end of the "
                   "query";
        }

        if (spectra_sql_token_is_word(t, i, "qualify")) {
            return "QUALIFY is Redshift syntax, filter on the window "
                   "function in an outer query";
        }

        if (spectra_sql_token_is_word(t, i, "pivot")
            || spectra_sql_token_is_word(t, i, "unpivot"))
        {
            return "PIVOT and UNPIVOT are Redshift syntax, write CASE "
                   "expressions with GROUP BY, or a LATERAL VALUES join";
        }

        if (i == 0) {
            break;
        }
    }

    return NULL;
}


/* The index of the last token starting at or before off. */

static size_t
spectra_sql_token_at(const spectra_sql_text_t *t, size_t off)
{
    size_t  i;

    for (i = t->ntok; i > 0; i--) {
        if ((size_t) t->tok[i - 1]->start <= off) {
            return i - 1;
        }
    }

    return 0;
}


int
spectra_sql_token_is_word(const spectra_sql_text_t *t, size_t i,
    const char *w)
{
    size_t                len, k;
    const u_char         *s;
    spectra_sql_token_t  *tk;

    if (i >= t->ntok) {
        return 0;
    }

    tk = t->tok[i];
    s = t->p + tk->start;
    len = (size_t) (tk->end - tk->start);

    if (tk->token != PG_QUERY__TOKEN__IDENT
        && tk->keyword_kind == PG_QUERY__KEYWORD_KIND__NO_KEYWORD)
    {
        return 0;
    }

    if (len != strlen(w)) {
        return 0;
    }

    for (k = 0; k < len; k++) {
        if ((s[k] | 0x20) != (u_char) w[k]) {
            return 0;
        }
    }

    return 1;
}


size_t
spectra_sql_token_before(const spectra_sql_text_t *t, size_t loc,
    PgQuery__Token kind)
{
    size_t  i;

    for (i = t->ntok; i > 0; i--) {
        if ((size_t) t->tok[i - 1]->start < loc
            && t->tok[i - 1]->token == kind)
        {
            return (size_t) t->tok[i - 1]->start;
        }
    }

    return SPECTRA_POS_NONE;
}


/*
 * The nesting estimate: 0, -1 too deep (*where says where it got so), -2
 * no memory. Parentheses, brackets and CASE ... END open a level. Within
 * a level the tree grows one step per operator (a chain of "+" nests
 * left-deep), and per set operation or join (they nest as well, across
 * the commas of their select lists); a comma, AND, OR (both flattened
 * into one list by the grammar) or a clause keyword starts a sibling, so
 * the operator run starts again there (not at GROUP or WITH: "WITHIN
 * GROUP" and "timestamp WITH time zone" sit inside an expression).
 * Leaves (names, constants, parameters, '.') add nothing. Every other
 * token counts as an operator, which over-counts keywords: the estimate
 * errs on the deep side.
 */

static int
spectra_sql_depth(const spectra_sql_text_t *t, size_t *where)
{
    size_t                i, top, d;
    spectra_sql_level_t  *stack, *l;
    spectra_sql_token_t  *tk;

    *where = (t->ntok > 0) ? (size_t) t->tok[0]->start : SPECTRA_POS_NONE;

    stack = calloc(t->ntok + 1, sizeof(spectra_sql_level_t));
    if (stack == NULL) {
        return -2;
    }

    top = 0;

    for (i = 0; i < t->ntok; i++) {
        tk = t->tok[i];
        l = &stack[top];

        switch (tk->token) {

        case PG_QUERY__TOKEN__ASCII_40:             /* ( */
        case PG_QUERY__TOKEN__ASCII_91:             /* [ */
        case PG_QUERY__TOKEN__CASE:
            top++;
            memset(&stack[top], 0, sizeof(spectra_sql_level_t));
            stack[top].open_run = l->run;
            stack[top].below = l->below + l->run * SPECTRA_SQL_DEPTH_OP
                               + l->sets * SPECTRA_SQL_DEPTH_SET
                               + SPECTRA_SQL_DEPTH_OPEN;
            break;

        case PG_QUERY__TOKEN__ASCII_41:             /* ) */
        case PG_QUERY__TOKEN__ASCII_93:             /* ] */
        case PG_QUERY__TOKEN__END_P:
            if (top == 0) {
                break;
            }

            d = l->open_run * SPECTRA_SQL_DEPTH_OP + SPECTRA_SQL_DEPTH_OPEN
                + spectra_sql_level_depth(l);
            top--;

            if (d > stack[top].child) {
                stack[top].child = d;
            }

            break;

        case PG_QUERY__TOKEN__UNION:
        case PG_QUERY__TOKEN__INTERSECT:
        case PG_QUERY__TOKEN__EXCEPT:
        case PG_QUERY__TOKEN__JOIN:
            l->sets++;
            l->run = 0;
            break;

        case PG_QUERY__TOKEN__AND:
            if (l->between) {
                l->between = 0;
                break;
            }

            l->run = 0;
            break;

        case PG_QUERY__TOKEN__BETWEEN:
            l->between = 1;
            l->run++;
            break;

        case PG_QUERY__TOKEN__ASCII_44:             /* , */
        case PG_QUERY__TOKEN__OR:
        case PG_QUERY__TOKEN__SELECT:
        case PG_QUERY__TOKEN__FROM:
        case PG_QUERY__TOKEN__WHERE:
        case PG_QUERY__TOKEN__HAVING:
        case PG_QUERY__TOKEN__WINDOW:
        case PG_QUERY__TOKEN__ORDER:
        case PG_QUERY__TOKEN__LIMIT:
        case PG_QUERY__TOKEN__OFFSET:
        case PG_QUERY__TOKEN__FETCH:
        case PG_QUERY__TOKEN__ON:
        case PG_QUERY__TOKEN__USING:
        case PG_QUERY__TOKEN__WHEN:
        case PG_QUERY__TOKEN__THEN:
        case PG_QUERY__TOKEN__ELSE:
        case PG_QUERY__TOKEN__VALUES:
            l->run = 0;
            break;

        case PG_QUERY__TOKEN__IDENT:
        case PG_QUERY__TOKEN__UIDENT:
        case PG_QUERY__TOKEN__FCONST:
        case PG_QUERY__TOKEN__SCONST:
        case PG_QUERY__TOKEN__USCONST:
        case PG_QUERY__TOKEN__BCONST:
        case PG_QUERY__TOKEN__XCONST:
        case PG_QUERY__TOKEN__ICONST:
        case PG_QUERY__TOKEN__PARAM:
        case PG_QUERY__TOKEN__ASCII_46:             /* . */
        case PG_QUERY__TOKEN__ASCII_59:             /* ; */
            break;

        default:
            l->run++;
            break;
        }

        if (l->run > l->run_max) {
            l->run_max = l->run;
        }

        /* a lower bound of the final estimate, to say where it grew */
        l = &stack[top];
        d = SPECTRA_SQL_DEPTH_BASE + l->below + l->run * SPECTRA_SQL_DEPTH_OP
            + l->sets * SPECTRA_SQL_DEPTH_SET;

        if (d > SPECTRA_SQL_DEPTH_MAX) {
            *where = (size_t) tk->start;
            free(stack);
            return -1;
        }
    }

    /* levels still open (the parser refuses that text anyway) */
    while (top > 0) {
        l = &stack[top];
        d = l->open_run * SPECTRA_SQL_DEPTH_OP + SPECTRA_SQL_DEPTH_OPEN
            + spectra_sql_level_depth(l);
        top--;

        if (d > stack[top].child) {
            stack[top].child = d;
        }
    }

    d = SPECTRA_SQL_DEPTH_BASE + spectra_sql_level_depth(&stack[0]);

    free(stack);

    return (d > SPECTRA_SQL_DEPTH_MAX) ? -1 : 0;
}


static size_t
spectra_sql_level_depth(const spectra_sql_level_t *l)
{
    size_t  own;

    own = l->run_max * SPECTRA_SQL_DEPTH_OP;

    return l->sets * SPECTRA_SQL_DEPTH_SET + (l->child > own ? l->child : own);
}


int
spectra_sql_walk(const ProtobufCMessage *m, spectra_sql_visit_pt visit,
    void *data)
{
    spectra_sql_walker_t  w;

    w.visit = visit;
    w.data = data;
    w.depth = 0;

    return spectra_sql_walk_message(&w, m);
}


static int
spectra_sql_walk_message(spectra_sql_walker_t *w, const ProtobufCMessage *m)
{
    int                               rc;
    size_t                            n, k;
    unsigned                          i;
    const char                       *base;
    const ProtobufCMessage           *child;
    const ProtobufCMessage * const   *list;
    const ProtobufCFieldDescriptor   *f;
    const ProtobufCMessageDescriptor *desc;

    if (++w->depth > SPECTRA_SQL_WALK_MAX) {
        return SPECTRA_SQL_ERR_SYNTAX;
    }

    rc = w->visit(m, w->data);
    if (rc != 0) {
        return rc;
    }

    desc = m->descriptor;
    base = (const char *) m;

    for (i = 0; i < desc->n_fields; i++) {
        f = &desc->fields[i];

        if (f->type != PROTOBUF_C_TYPE_MESSAGE) {
            continue;
        }

        if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
            && *(const uint32_t *) (base + f->quantifier_offset) != f->id)
        {
            continue;
        }

        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            n = *(const size_t *) (base + f->quantifier_offset);
            list = *(const ProtobufCMessage * const * const *)
                       (base + f->offset);

            for (k = 0; k < n; k++) {
                if (list[k] == NULL) {
                    continue;
                }

                rc = spectra_sql_walk_message(w, list[k]);
                if (rc != 0) {
                    return rc;
                }
            }

            continue;
        }

        child = *(const ProtobufCMessage * const *) (base + f->offset);

        if (child != NULL) {
            rc = spectra_sql_walk_message(w, child);
            if (rc != 0) {
                return rc;
            }
        }
    }

    w->depth--;

    return 0;
}


const ProtobufCMessage *
spectra_sql_node_message(const PgQuery__Node *node)
{
    const ProtobufCFieldDescriptor  *f;

    if (node == NULL || node->node_case == PG_QUERY__NODE__NODE__NOT_SET) {
        return NULL;
    }

    f = protobuf_c_message_descriptor_get_field(&pg_query__node__descriptor,
                                                (unsigned) node->node_case);

    if (f == NULL || f->type != PROTOBUF_C_TYPE_MESSAGE) {
        return NULL;
    }

    return *(const ProtobufCMessage * const *) ((const char *) node
                                                + f->offset);
}


const char *
spectra_sql_node_string(const PgQuery__Node *node)
{
    if (node == NULL || node->node_case != PG_QUERY__NODE__NODE_STRING
        || node->string == NULL || node->string->sval == NULL)
    {
        return NULL;
    }

    return node->string->sval;
}


int
spectra_sql_fail(spectra_err_t *err, int code, const u_char *p, size_t len,
    size_t off, const char *hint, const char *fmt, ...)
{
    size_t   i, n, line, column;
    va_list  args;

    if (err == NULL) {
        return code;
    }

    va_start(args, fmt);
    spectra_err_vset(err, code, off, fmt, args);
    va_end(args);

    n = strlen(err->message);

    if (off != SPECTRA_POS_NONE) {
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

        snprintf(err->message + n, sizeof(err->message) - n,
                 " at line %zu, column %zu", line, column);
        n = strlen(err->message);
    }

    if (hint != NULL) {
        snprintf(err->message + n, sizeof(err->message) - n, ": %s", hint);
    }

    return code;
}


void
spectra_sql_show(char *out, size_t size, const char *name)
{
    size_t  i, len;
    u_char  c;

    len = strlen(name);

    if (len > SPECTRA_SQL_NAME_MAX) {
        len = SPECTRA_SQL_NAME_MAX;

        while (len > 0 && ((u_char) name[len] & 0xc0) == 0x80) {
            len--;
        }
    }

    for (i = 0; i < len && i + 1 < size; i++) {
        c = (u_char) name[i];
        out[i] = (c < 0x20 || c == 0x7f || c == '"' || c == '\\')
                 ? '?' : (char) c;
    }

    out[i] = '\0';
}


int
spectra_sql_name_is(const char *name, const char *word)
{
    size_t  i;
    u_char  c;

    for (i = 0; word[i] != '\0'; i++) {
        c = (u_char) name[i];

        if (c >= 'A' && c <= 'Z') {
            c |= 0x20;
        }

        if (c != (u_char) word[i]) {
            return 0;
        }
    }

    return name[i] == '\0';
}
