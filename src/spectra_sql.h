/*
 * SQL for the query API, without nginx: the read-only policy decided on
 * PostgreSQL's own parse tree (libpg_query, the PostgreSQL 15 parser as a
 * library), the LIMIT wrap, named parameters (:name) found with the real
 * scanner and bound as $n for libpq, the session guard of spectra-dataapi,
 * and the UNLOAD and COPY statements (built, and read back).
 *
 * What spectra_sql_check() guarantees when it returns SPECTRA_SQL_OK: the
 * text is at most max_len bytes of valid UTF-8 without NUL bytes, holds
 * exactly one statement (a trailing ';' and comments are fine), that
 * statement is a SELECT (or TABLE, or VALUES when allowed) in which no
 * node at any depth is another kind of statement (INSERT, UPDATE,
 * DELETE, MERGE in a CTE), has an INTO clause or a locking clause (FOR
 * UPDATE/SHARE), calls a denied function or reads a denied relation or
 * schema, each compared by the name the parser decoded (U& escapes and
 * UESCAPE resolved, quotes removed, case folded); its string literals
 * end where both PostgreSQL and Redshift end them; it uses no $n
 * placeholder; and the parser accepted it. Anything the parser refuses,
 * and any failure of the library, is a refusal. docs/sql-policy.md says
 * why each rule is there.
 *
 * Positions are 0-based byte offsets into the caller's text; messages say
 * "at line L, column C" with 1-based lines and columns, a column counting
 * characters, not bytes.
 */

#ifndef SPECTRA_SQL_H
#define SPECTRA_SQL_H

#include "spectra_core.h"


#define SPECTRA_SQL_MAX_LEN     100000
#define SPECTRA_SQL_MAX_PARAMS  64
#define SPECTRA_SQL_NAME_MAX    63      /* PostgreSQL's NAMEDATALEN - 1 */


typedef enum {
    SPECTRA_SQL_OK = 0,
    SPECTRA_SQL_ERR_EMPTY,          /* empty, blank or comment-only text */
    SPECTRA_SQL_ERR_TOO_LONG,       /* longer than the policy's max_len */
    SPECTRA_SQL_ERR_NUL,            /* a NUL byte */
    SPECTRA_SQL_ERR_SYNTAX,         /* the parser refused it, bad UTF-8,
                                       ambiguous literal, nested too deep */
    SPECTRA_SQL_ERR_MULTIPLE,       /* more than one statement */
    SPECTRA_SQL_ERR_NOT_READ_ONLY,  /* statement kind or clause not allowed */
    SPECTRA_SQL_ERR_DENIED,         /* denied schema, relation or function */
    SPECTRA_SQL_ERR_PARAMS,         /* $n, a bad :name, too many names */
    SPECTRA_SQL_ERR_INVALID,        /* bad configuration or UNLOAD form */
    SPECTRA_SQL_ERR_NOMEM
} spectra_sql_rc_e;


/* Policy */

/*
 * The built-in deny lists (docs/sql-policy.md) always apply; the lists
 * here add to them. Entries match case-insensitively, and '*' in an entry
 * matches any run of characters ("pg_stat_*", "pg_*_size"). Functions
 * and relations match by their own name whatever qualifies them; a
 * schema entry denies every relation in that schema and every function
 * qualified with it, except that functions qualified with pg_catalog are
 * judged by their name alone (pg_catalog is first on every search path:
 * pg_catalog.lower(x) is lower(x)).
 *
 * allow_functions non-NULL (even with nallow_functions 0) is allow-list
 * mode: every function call must match an entry; the deny lists still
 * win, and calls written in SQL-standard syntax (EXTRACT, SUBSTRING ...
 * FROM, x AT TIME ZONE y) are not looked up in the allow list.
 */
typedef struct {
    const spectra_str_t      *deny_functions;
    size_t                    ndeny_functions;
    const spectra_str_t      *deny_relations;
    size_t                    ndeny_relations;
    const spectra_str_t      *deny_schemas;
    size_t                    ndeny_schemas;
    const spectra_str_t      *allow_functions;
    size_t                    nallow_functions;
    unsigned                  allow_values:1;   /* a VALUES statement */
    size_t                    max_len;          /* bytes, 0: no limit */
} spectra_sql_policy_t;

/* No extra lists, VALUES allowed, max_len SPECTRA_SQL_MAX_LEN. */
void spectra_sql_policy_default(spectra_sql_policy_t *policy);


typedef struct {
    size_t                    stmt_start;   /* the statement in the input, */
    size_t                    stmt_len;     /* without leading or trailing
                                               space, comments and ';' */
    spectra_str_t             params[SPECTRA_SQL_MAX_PARAMS];
    size_t                    nparams;      /* distinct :names in order of
                                               first use, pointing into the
                                               input after the ':' */
} spectra_sql_info_t;

/* info may be NULL. */
int spectra_sql_check(const spectra_sql_policy_t *policy, const u_char *p,
    size_t len, spectra_sql_info_t *info, spectra_err_t *err);


/* Lists */

typedef enum {
    SPECTRA_SQL_LIST_FUNCTIONS = 0,
    SPECTRA_SQL_LIST_RELATIONS,
    SPECTRA_SQL_LIST_SCHEMAS
} spectra_sql_list_e;

/*
 * One list entry: 1 to 63 bytes of letters, digits, '_', '$', '*' or
 * non-ASCII (UTF-8) bytes, not starting with a digit or '$'.
 */
int spectra_sql_list_entry_check(spectra_sql_list_e list, const u_char *p,
    size_t len, spectra_err_t *err);

/*
 * Splits a list ("pg_sleep, dblink*  lo_*", or a file with one name a
 * line) at commas and white space; '#' starts a comment that runs to the
 * end of the line. Entries point into p and are checked as above. With
 * out NULL it only counts; more than nout entries is an error.
 */
int spectra_sql_list_parse(spectra_sql_list_e list, const u_char *p,
    size_t len, spectra_str_t *out, size_t nout, size_t *n,
    spectra_err_t *err);

/* Whether name matches an entry (case-insensitive, '*' wildcards). */
int spectra_sql_list_match(const spectra_str_t *list, size_t n,
    const u_char *name, size_t len);


/* LIMIT wrap: "SELECT * FROM (<stmt>\n) AS spectra_q LIMIT <limit + 1>" */

/* 0 when limit + 1 overflows. */
size_t spectra_sql_wrap_limit_len(const spectra_sql_info_t *info,
    uint64_t limit);

/* p is the text spectra_sql_check() accepted; returns the end of dst. */
u_char *spectra_sql_wrap_limit(u_char *dst, const u_char *p,
    const spectra_sql_info_t *info, uint64_t limit);


/* Binding :name parameters for libpq (spectra-dataapi) */

/* Room for spectra_sql_bind()'s output, its terminating NUL included. */
size_t spectra_sql_bind_len(size_t len);

/*
 * Copies the text into out with each :name replaced by $k, k being the
 * name's index in names[] plus one (the same name always the same k);
 * names[] point into p after the ':', distinct, in order of first use.
 * The output is NUL-terminated (not counted in *out_len). A $n already in
 * the text, a :name that is not a plain identifier, more than max_names
 * names, and text the scanner refuses are errors.
 */
int spectra_sql_bind(const u_char *p, size_t len, u_char *out,
    size_t *out_len, spectra_str_t *names, size_t max_names, size_t *nnames,
    spectra_err_t *err);


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
    size_t *dst_len, size_t *used, spectra_err_t *err);


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
 * [HEADER] [DELIMITER AS '<c>'] [GZIP|ZSTD] [MANIFEST [VERBOSE]] [PARALLEL OFF]
 * [MAXFILESIZE <n> MB]. The role "default" is written unquoted
 * (IAM_ROLE default).
 */
typedef struct {
    spectra_str_t                       query;      /* unescaped */
    spectra_str_t                       target;     /* s3://bucket/prefix/ */
    spectra_str_t                       iam_role;
    spectra_sql_unload_format_e         format;
    spectra_sql_unload_compression_e    compression;
    u_char                              delimiter;  /* 0: the default */
    unsigned                            header:1;
    unsigned                            manifest:1;
    unsigned                            manifest_verbose:1;
    unsigned                            parallel_off:1;
    uint64_t                            max_file_size_mb;  /* 0: default */
} spectra_sql_unload_t;

/*
 * Checks what Redshift would refuse or what could break out of a literal:
 * an empty query, target or role; a quote, backslash or control character
 * in the target or role; a delimiter that is not one printable ASCII
 * character other than ' \ " (or a tab); HEADER or DELIMITER with JSON or
 * PARQUET; compression with PARQUET; MAXFILESIZE outside 5..6348 MB;
 * VERBOSE without MANIFEST.
 */
int spectra_sql_unload_validate(const spectra_sql_unload_t *u,
    spectra_err_t *err);

/* 0 when spectra_sql_unload_validate() would fail. */
size_t spectra_sql_unload_len(const spectra_sql_unload_t *u);
u_char *spectra_sql_unload(u_char *dst, const spectra_sql_unload_t *u);

/*
 * Parses the form above (keywords in any case, options in any order, each
 * at most once, FORMAT [AS] optional before CSV/JSON/PARQUET, DELIMITER [AS],
 * MAXFILESIZE [AS] <n> [MB|GB], PARALLEL ON|OFF|TRUE|FALSE, MANIFEST
 * [VERBOSE],
 * an optional trailing ';'; white space and comments between the parts).
 * The query is unescaped into query_buf (room for len bytes); target and
 * role point into p. The result is validated.
 */
int spectra_sql_unload_parse(const u_char *p, size_t len, u_char *query_buf,
    spectra_sql_unload_t *u, spectra_err_t *err);


/* COPY (imports) */

typedef enum {
    SPECTRA_SQL_COPY_CSV = 0,
    SPECTRA_SQL_COPY_JSON           /* JSON lines, FORMAT AS JSON 'auto' */
} spectra_sql_copy_format_e;

#define SPECTRA_SQL_COPY_IDENT_MAX   127     /* Redshift's identifiers */
#define SPECTRA_SQL_COPY_MAX_ERRORS  100000  /* Redshift's MAXERROR cap */

/*
 * COPY "<schema>"."<table>" FROM '<source>' IAM_ROLE default|'<role>'
 * FORMAT AS CSV [DELIMITER AS '<c>'] [IGNOREHEADER 1] | FORMAT AS JSON
 * 'auto', then [GZIP|ZSTD] MAXERROR <n>. The role "default" is written
 * unquoted, as UNLOAD writes it.
 */
typedef struct {
    spectra_str_t                       schema;     /* "" : unqualified */
    spectra_str_t                       table;
    spectra_str_t                       source;     /* s3://bucket/key */
    spectra_str_t                       iam_role;   /* "default" or an ARN */
    spectra_sql_copy_format_e           format;
    spectra_sql_unload_compression_e    compression;   /* NONE/GZIP/ZSTD */
    u_char                              delimiter;  /* CSV; 0: ',' */
    unsigned                            ignore_header; /* 0 or 1 line */
    unsigned                            max_errors;  /* MAXERROR, 0..100000 */
} spectra_sql_copy_t;

/*
 * Schema (when not empty) and table: 1 to 127 ASCII letters, digits and
 * '_', not starting with a digit (written double-quoted, so nothing in
 * them is SQL). The source: s3://bucket/key with a bucket of 3 to 63
 * lowercase letters, digits, '.' and '-' (starting and ending with a
 * letter or digit) and a key of at most 1024 bytes of names of letters,
 * digits and - _ . = between single slashes, none empty, "." or "..",
 * not ending in '/'. The role: as UNLOAD's. The delimiter: one printable
 * ASCII character other than ' \ " (or a tab), CSV only, as is
 * IGNOREHEADER (0 or 1). MAXERROR at most 100000.
 */
int spectra_sql_copy_validate(const spectra_sql_copy_t *c,
    spectra_err_t *err);

/* 0 when spectra_sql_copy_validate() would fail. */
size_t spectra_sql_copy_len(const spectra_sql_copy_t *c);
u_char *spectra_sql_copy(u_char *dst, const spectra_sql_copy_t *c);

/*
 * Reads back what spectra_sql_copy() writes and Redshift's spellings of
 * it: keywords in any case, options in any order, each at most once;
 * names quoted or not (returned as written, without the quotes: Redshift
 * folds both to lower case by default); FORMAT [AS] optional before CSV
 * and JSON; JSON 'auto' or 'auto ignorecase'; DELIMITER [AS] '<c>';
 * IGNOREHEADER [AS] <n>; MAXERROR [AS] <n>; an optional trailing ';';
 * white space and comments between the parts. Strings point into p. The
 * result is validated.
 */
int spectra_sql_copy_parse(const u_char *p, size_t len, spectra_sql_copy_t *c,
    spectra_err_t *err);

#endif /* SPECTRA_SQL_H */
