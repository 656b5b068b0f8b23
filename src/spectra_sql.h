/*
 * SQL text handling for the query API, without nginx: a PostgreSQL/Redshift
 * lexer, the read-only policy check, the LIMIT wrap, named parameter
 * discovery and the UNLOAD statement (building it and parsing it back).
 *
 * What the lexer guarantees: it splits any byte string into the tokens the
 * PostgreSQL scanner would see (white space, "--" and nested block
 * comments, '' / E'' / U&'' / N'' / B'' / X'' strings, $tag$ dollar quotes,
 * "quoted" and U&"quoted" identifiers, words, numbers, $n and :name
 * parameters, operators, punctuation, ';'). It fails, with the position,
 * on an unterminated string, comment, identifier or dollar quote, on an
 * empty quoted identifier, and on a string that PostgreSQL and Redshift
 * would end in different places (an odd run of backslashes before a quote
 * in a non-E string: Redshift treats the backslash as an escape, PostgreSQL
 * with standard_conforming_strings does not).
 *
 * What the policy check guarantees: when it returns SPECTRA_SQL_OK the text
 * is exactly one statement (plus an optional ';' and trailing comments),
 * starts with an allowed keyword, has balanced parentheses, contains no
 * data-modifying statement (INSERT INTO, UPDATE t, DELETE FROM, MERGE INTO)
 * anywhere, no SELECT INTO, no FOR UPDATE/SHARE locking clause, no
 * EXPLAIN ANALYZE, and names no denied schema, relation or function.
 * docs/sql-policy.md explains each rule.
 *
 * Positions are 0-based byte offsets; lines and columns are 1-based, a
 * column counts characters (UTF-8 sequences), not bytes.
 */

#ifndef SPECTRA_SQL_H
#define SPECTRA_SQL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>


/* The same layout as ngx_str_t, so an ngx_array_t of them can be passed. */
typedef struct {
    size_t          len;
    const u_char   *data;
} spectra_sql_str_t;


typedef enum {
    SPECTRA_SQL_OK = 0,
    SPECTRA_SQL_ERR_EMPTY,          /* empty, blank or comment-only text */
    SPECTRA_SQL_ERR_TOO_LONG,       /* longer than the policy's max_len */
    SPECTRA_SQL_ERR_NUL,            /* a NUL byte */
    SPECTRA_SQL_ERR_SYNTAX,         /* the lexer cannot split the text */
    SPECTRA_SQL_ERR_MULTIPLE,       /* more than one statement */
    SPECTRA_SQL_ERR_NOT_READ_ONLY,  /* statement kind or clause not allowed */
    SPECTRA_SQL_ERR_DENIED,         /* denied schema, relation or function */
    SPECTRA_SQL_ERR_PARAMS,         /* more named parameters than room */
    SPECTRA_SQL_ERR_INVALID         /* bad configuration or UNLOAD form */
} spectra_sql_rc_e;


/*
 * An error as a value. message is a short human sentence without the code
 * and already says where ("... at line 1, column 8"), ready for a 400
 * response (it may quote the caller's own identifiers, JSON-escape it).
 */
typedef struct {
    spectra_sql_rc_e    code;
    size_t              offset;
    size_t              line;
    size_t              column;
    char                message[200];
} spectra_sql_error_t;


/* Lexer */

typedef enum {
    SPECTRA_SQL_TOK_EOF = 0,
    SPECTRA_SQL_TOK_SPACE,
    SPECTRA_SQL_TOK_COMMENT,        /* -- line or nested block comment */
    SPECTRA_SQL_TOK_WORD,           /* identifier or keyword, unquoted */
    SPECTRA_SQL_TOK_QIDENT,         /* "quoted" or U&"quoted" identifier */
    SPECTRA_SQL_TOK_STRING,         /* '', E'', U&'', N'', B'', X'' */
    SPECTRA_SQL_TOK_DOLLAR,         /* $$...$$ or $tag$...$tag$ */
    SPECTRA_SQL_TOK_NUMBER,
    SPECTRA_SQL_TOK_PARAM,          /* $1 */
    SPECTRA_SQL_TOK_NAMED_PARAM,    /* :name (Data API style) */
    SPECTRA_SQL_TOK_OPERATOR,       /* + <= ->> :: := and the like */
    SPECTRA_SQL_TOK_PUNCT,          /* ( ) [ ] , . : and any other byte */
    SPECTRA_SQL_TOK_SEMICOLON
} spectra_sql_tok_e;


typedef struct {
    spectra_sql_tok_e   type;
    size_t              start;      /* byte offset of the first byte */
    size_t              len;        /* bytes, quotes and prefixes included */
} spectra_sql_token_t;


typedef struct {
    const u_char       *p;
    size_t              len;
    size_t              pos;
} spectra_sql_lexer_t;


void spectra_sql_lexer_init(spectra_sql_lexer_t *lx, const u_char *p,
    size_t len);

/*
 * Reads the next token; at the end it returns SPECTRA_SQL_OK with a
 * SPECTRA_SQL_TOK_EOF token (again on every later call).
 */
int spectra_sql_lexer_next(spectra_sql_lexer_t *lx, spectra_sql_token_t *tok,
    spectra_sql_error_t *err);


/* Policy */

typedef struct {
    const spectra_sql_str_t  *allow;        /* first keywords */
    size_t                    nallow;
    const spectra_sql_str_t  *deny_schemas;     /* qualifiers: s.x */
    size_t                    ndeny_schemas;
    const spectra_sql_str_t  *deny_relations;   /* unqualified names */
    size_t                    ndeny_relations;
    const spectra_sql_str_t  *deny_functions;   /* f( and s.f( */
    size_t                    ndeny_functions;
    size_t                    max_len;      /* bytes, 0: no limit */
} spectra_sql_policy_t;

/*
 * Entries match case-insensitively; an entry ending in '*' matches every
 * name that starts with the rest ("pg_*").
 */
typedef enum {
    SPECTRA_SQL_LIST_ALLOW = 0,
    SPECTRA_SQL_LIST_SCHEMAS,
    SPECTRA_SQL_LIST_RELATIONS,
    SPECTRA_SQL_LIST_FUNCTIONS
} spectra_sql_list_e;

#define SPECTRA_SQL_MAX_LEN  100000


/*
 * Fills the defaults: allow SELECT, WITH, VALUES; deny the schemas, relations
 * and functions listed in docs/sql-policy.md; max_len 100000. The lists
 * point to constant data.
 */
void spectra_sql_policy_default(spectra_sql_policy_t *policy);

/*
 * Validates one list entry: for ALLOW one of SELECT, WITH, VALUES, TABLE,
 * SHOW, EXPLAIN (statements that cannot write); for the deny lists a name of
 * identifier characters, at most 63 bytes, optionally ending in '*'.
 */
int spectra_sql_list_entry_check(spectra_sql_list_e list, const u_char *p,
    size_t len, spectra_sql_error_t *err);

/*
 * Splits a list written as one string ("pg_sleep, dblink*  lo_*") at commas
 * and white space into out[]; entries point into p and are validated as
 * above. *n is the number of entries; more than nout is an error.
 */
int spectra_sql_list_parse(spectra_sql_list_e list, const u_char *p,
    size_t len, spectra_sql_str_t *out, size_t nout, size_t *n,
    spectra_sql_error_t *err);


typedef struct {
    size_t              stmt_len;   /* text without a trailing ';', trailing
                                       comments and white space */
    unsigned            wrappable:1;    /* SELECT, WITH, VALUES, TABLE or
                                           '(': may go in a subquery */
} spectra_sql_info_t;

/* info may be NULL. */
int spectra_sql_check(const spectra_sql_policy_t *policy, const u_char *p,
    size_t len, spectra_sql_info_t *info, spectra_sql_error_t *err);

/*
 * The length of the statement without a trailing ';' and without the
 * comments and white space around it at the end (leading ones are kept).
 */
int spectra_sql_trim(const u_char *p, size_t len, size_t *stmt_len,
    spectra_sql_error_t *err);


/* LIMIT wrap: "SELECT * FROM (<sql>\n) AS spectra_q LIMIT <limit + 1>" */

/*
 * stmt_len is the trimmed length (spectra_sql_check() or spectra_sql_trim());
 * returns 0 when limit + 1 overflows.
 */
size_t spectra_sql_wrap_limit_len(size_t stmt_len, uint64_t limit);

/* Writes the wrapped statement; returns the end of the output. */
u_char *spectra_sql_wrap_limit(u_char *dst, const u_char *p, size_t stmt_len,
    uint64_t limit);


/* Named parameters */

/*
 * Lists the distinct :name placeholders (outside strings, comments and ::
 * casts) in order of first appearance; names[] point into p after the ':'.
 * Names are case-sensitive. More than nnames distinct names is an error.
 */
int spectra_sql_params(const u_char *p, size_t len, spectra_sql_str_t *names,
    size_t nnames, size_t *n, spectra_sql_error_t *err);


/* UNLOAD */

/*
 * The body of the UNLOAD query literal: each ' becomes \' and each \
 * becomes \\ (Redshift's UNLOAD reference); no surrounding quotes.
 */
size_t spectra_sql_unload_escape_len(const u_char *p, size_t len);
u_char *spectra_sql_unload_escape(u_char *dst, const u_char *p, size_t len);

/*
 * The inverse: p starts at the opening quote of a literal; accepts \', \\
 * and '' inside it and rejects any other backslash sequence and a missing
 * closing quote. Writes the query into dst (room for len bytes always
 * suffices), sets *dst_len and *used (bytes read, both quotes included).
 */
int spectra_sql_unload_unescape(const u_char *p, size_t len, u_char *dst,
    size_t *dst_len, size_t *used, spectra_sql_error_t *err);


typedef enum {
    SPECTRA_SQL_UNLOAD_TEXT = 0,    /* no FORMAT: Redshift's '|' text */
    SPECTRA_SQL_UNLOAD_CSV,
    SPECTRA_SQL_UNLOAD_JSON,
    SPECTRA_SQL_UNLOAD_PARQUET
} spectra_sql_unload_format_e;

typedef enum {
    SPECTRA_SQL_UNLOAD_NONE = 0,
    SPECTRA_SQL_UNLOAD_GZIP,
    SPECTRA_SQL_UNLOAD_ZSTD
} spectra_sql_unload_compression_e;

#define SPECTRA_SQL_UNLOAD_MIN_MB  5
#define SPECTRA_SQL_UNLOAD_MAX_MB  6348     /* 6.2 GB */

/*
 * UNLOAD ('<query>') TO '<target>' IAM_ROLE '<role>' [FORMAT CSV|JSON|PARQUET]
 * [HEADER] [DELIMITER AS '<c>'] [GZIP|ZSTD] [MANIFEST] [PARALLEL OFF]
 * [MAXFILESIZE <n> MB]. The role "default" is written unquoted
 * (IAM_ROLE default).
 */
typedef struct {
    spectra_sql_str_t                   query;      /* unescaped */
    spectra_sql_str_t                   target;     /* s3://bucket/prefix/ */
    spectra_sql_str_t                   iam_role;
    spectra_sql_unload_format_e         format;
    spectra_sql_unload_compression_e    compression;
    u_char                              delimiter;  /* 0: the default */
    unsigned                            header:1;
    unsigned                            manifest:1;
    unsigned                            parallel_off:1;
    uint64_t                            max_file_size_mb;  /* 0: default */
} spectra_sql_unload_t;

/*
 * Checks what Redshift would refuse or what could break out of a literal:
 * an empty query, target or role; a quote, backslash or control character
 * in the target or role; a delimiter that is not one printable ASCII
 * character other than ' \ " (or a tab); HEADER or DELIMITER with JSON or
 * PARQUET; compression with PARQUET; MAXFILESIZE outside 5..6348 MB.
 */
int spectra_sql_unload_validate(const spectra_sql_unload_t *u,
    spectra_sql_error_t *err);

/* 0 when spectra_sql_unload_validate() would fail. */
size_t spectra_sql_unload_len(const spectra_sql_unload_t *u);
u_char *spectra_sql_unload(u_char *dst, const spectra_sql_unload_t *u);

/*
 * Parses the form above (keywords in any case, options in any order, each
 * at most once, FORMAT [AS] optional before CSV/JSON/PARQUET, DELIMITER [AS],
 * MAXFILESIZE [AS] <n> [MB|GB], PARALLEL ON|OFF|TRUE|FALSE, MANIFEST,
 * an optional trailing ';'). The query is unescaped into query_buf (room
 * for len bytes); target and role point into p. The result is validated.
 */
int spectra_sql_unload_parse(const u_char *p, size_t len, u_char *query_buf,
    spectra_sql_unload_t *u, spectra_sql_error_t *err);

#endif /* SPECTRA_SQL_H */
