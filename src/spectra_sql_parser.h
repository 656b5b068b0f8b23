/*
 * What the spectra_sql*.c files share, not for their callers: the
 * caller's text as PostgreSQL's scanner splits it, its parse tree, a walk
 * over every node of that tree, positions and messages. This is the only
 * header that sees libpg_query.
 *
 * Guarantees: a text that spectra_sql_text_init() accepted has no NUL
 * byte, is valid UTF-8 and was split by the real scanner; a tree from
 * spectra_sql_text_parse() is what the PostgreSQL 15 grammar made of the
 * text, and every failure of the library (an error, no memory, a tree
 * too deep to walk safely) is an error, never an empty tree.
 */

#ifndef SPECTRA_SQL_PARSER_H
#define SPECTRA_SQL_PARSER_H

#include <pg_query.h>
#include <pg_query/pg_query.pb-c.h>

#include "spectra_sql.h"


typedef PgQuery__ScanToken  spectra_sql_token_t;

typedef struct {
    const u_char             *p;        /* the caller's text */
    size_t                    len;
    char                     *text;     /* a NUL-terminated copy the
                                           parser reads; the same length,
                                           :names become "$1" + spaces */
    PgQuery__ScanResult      *scan;
    spectra_sql_token_t     **tok;      /* the tokens without comments */
    size_t                    ntok;
} spectra_sql_text_t;


/*
 * Copies and scans p (refused: NUL bytes, invalid UTF-8, what the scanner
 * refuses). spectra_sql_text_free() is needed even after an error.
 */
int spectra_sql_text_init(spectra_sql_text_t *t, const u_char *p, size_t len,
    spectra_err_t *err);
void spectra_sql_text_free(spectra_sql_text_t *t);

/*
 * Parses t->text. Text nested deeper than the library can turn into a
 * tree safely is refused before it reaches the parser.
 */
int spectra_sql_text_parse(const spectra_sql_text_t *t,
    PgQuery__ParseResult **tree, spectra_err_t *err);
void spectra_sql_tree_free(PgQuery__ParseResult *tree);


/*
 * Calls visit for m and then for every message below it (every MESSAGE
 * field, repeated or not, the set member of a oneof), depth first in
 * field order; stops at visit's first non-zero return and returns it.
 */
typedef int (*spectra_sql_visit_pt)(const ProtobufCMessage *m, void *data);

int spectra_sql_walk(const ProtobufCMessage *m, spectra_sql_visit_pt visit,
    void *data);

/* The message a Node holds (the member of its oneof), or NULL. */
const ProtobufCMessage *spectra_sql_node_message(const PgQuery__Node *node);

/* The String inside a Node, or NULL. */
const char *spectra_sql_node_string(const PgQuery__Node *node);

/* The start of the last token of kind before loc, or SPECTRA_POS_NONE. */
size_t spectra_sql_token_before(const spectra_sql_text_t *t, size_t loc,
    PgQuery__Token kind);

/* Whether token i is the unquoted word w (lower case). */
int spectra_sql_token_is_word(const spectra_sql_text_t *t, size_t i,
    const char *w);


/*
 * Fills err: the formatted message, then " at line L, column C" when off
 * is a position, then ": " and the hint when there is one.
 */
int spectra_sql_fail(spectra_err_t *err, int code, const u_char *p,
    size_t len, size_t off, const char *hint, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));

/* A name for a message: at most 63 bytes, control characters as '?'. */
void spectra_sql_show(char *out, size_t size, const char *name);

/*
 * Finds the :names (spectra_sql_params.c): distinct, in order of first
 * use, at most max; each becomes "$1" and spaces in t->text. A $n is an
 * error.
 */
int spectra_sql_params_mark(spectra_sql_text_t *t, spectra_str_t *names,
    size_t max, size_t *n, spectra_err_t *err);

/* The built-in entries of a list (spectra_sql_list.c). */
void spectra_sql_builtin(spectra_sql_list_e list,
    const spectra_str_t **entries, size_t *n);

/* Whether a decoded name matches the built-in list or the extra entries. */
int spectra_sql_denied(spectra_sql_list_e list, const spectra_str_t *extra,
    size_t nextra, const char *name);

/* Case-insensitive equality of a decoded name and a lower-case word. */
int spectra_sql_name_is(const char *name, const char *word);

/*
 * The small reader of Redshift's UNLOAD and COPY forms
 * (spectra_sql_unload.c): words, numbers, '...' strings ('' inside),
 * single punctuation bytes, with white space and comments ("--", nested
 * block comments) between them.
 */
typedef enum {
    SPECTRA_SQL_U_EOF = 0,
    SPECTRA_SQL_U_WORD,
    SPECTRA_SQL_U_NUMBER,
    SPECTRA_SQL_U_STRING,           /* '...', '' inside */
    SPECTRA_SQL_U_PUNCT             /* any other byte */
} spectra_sql_utok_e;

typedef struct {
    spectra_sql_utok_e     type;
    size_t                 start;
    size_t                 len;     /* quotes included */
} spectra_sql_utok_t;

typedef struct {
    const u_char          *p;
    size_t                 len;
    size_t                 pos;
} spectra_sql_reader_t;

int spectra_sql_read_space(spectra_sql_reader_t *r, spectra_err_t *err);
int spectra_sql_read(spectra_sql_reader_t *r, spectra_sql_utok_t *tok,
    spectra_err_t *err);
/* Whether tok is the word (lower case), in any case. */
int spectra_sql_tok_is(const spectra_sql_reader_t *r,
    const spectra_sql_utok_t *tok, const char *word);
/* Non-empty, without quotes, backslashes or control characters. */
int spectra_sql_unload_text_ok(const spectra_str_t *s);

#endif /* SPECTRA_SQL_PARSER_H */
