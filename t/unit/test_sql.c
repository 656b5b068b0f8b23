/*
 * Unit tests of src/spectra_sql.c: lexer tokens and errors, the read-only
 * policy (ordinary analytics SQL that must pass, hostile SQL that must be
 * refused at an exact position), policy lists, the LIMIT wrap, named
 * parameters, and UNLOAD escaping, building and parsing.
 */

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spectra_sql.h"


#define S(s)  (const u_char *) (s), strlen(s)

#define OK    SPECTRA_SQL_OK
#define EMPTY SPECTRA_SQL_ERR_EMPTY
#define LONG  SPECTRA_SQL_ERR_TOO_LONG
#define NUL   SPECTRA_SQL_ERR_NUL
#define SYN   SPECTRA_SQL_ERR_SYNTAX
#define MULTI SPECTRA_SQL_ERR_MULTIPLE
#define RO    SPECTRA_SQL_ERR_NOT_READ_ONLY
#define DENY  SPECTRA_SQL_ERR_DENIED


static void render(const char *sql, size_t len, char *out, size_t size);
static void unload_init(spectra_sql_unload_t *u, const char *query);
static void unload_build(const spectra_sql_unload_t *u, char *out,
    size_t size);
static Suite *sql_suite(void);


/* Lexer */

static const char  *tok_names[] = {
    "EOF", "_", "C", "W", "Q", "S", "D", "N", "P", "NP", "OP", "PU", "SC"
};


/* Renders the tokens of sql as "W[select] _ N[1]" (white space as "_"). */

static void
render(const char *sql, size_t len, char *out, size_t size)
{
    int                  rc;
    size_t               n;
    spectra_sql_lexer_t  lx;
    spectra_sql_token_t  tok;
    spectra_sql_error_t  err;

    spectra_sql_lexer_init(&lx, (const u_char *) sql, len);
    n = 0;
    out[0] = '\0';

    for ( ;; ) {
        rc = spectra_sql_lexer_next(&lx, &tok, &err);
        ck_assert_int_eq(rc, OK);

        if (tok.type == SPECTRA_SQL_TOK_EOF) {
            break;
        }

        if (tok.type == SPECTRA_SQL_TOK_SPACE) {
            n += snprintf(out + n, size - n, "%s_", n ? " " : "");

        } else {
            n += snprintf(out + n, size - n, "%s%s[%.*s]", n ? " " : "",
                          tok_names[tok.type], (int) tok.len,
                          sql + tok.start);
        }

        ck_assert_uint_lt(n, size);
    }

    /* the end is sticky */
    rc = spectra_sql_lexer_next(&lx, &tok, &err);
    ck_assert_int_eq(rc, OK);
    ck_assert_int_eq(tok.type, SPECTRA_SQL_TOK_EOF);
    ck_assert_uint_eq(tok.start, len);
}


static const struct {
    const char  *sql;
    const char  *tokens;
} lex_cases[] = {
    { "select 1", "W[select] _ N[1]" },
    { "SELECT a$$b FROM t", "W[SELECT] _ W[a$$b] _ W[FROM] _ W[t]" },
    { "'it''s'", "S['it''s']" },
    { "'a\\\\'", "S['a\\\\']" },
    { "E'\\'x' e'\\\\'", "S[E'\\'x'] _ S[e'\\\\']" },
    { "E'a''b'", "S[E'a''b']" },
    { "U&'d\\0061t' u&'x'", "S[U&'d\\0061t'] _ S[u&'x']" },
    { "N'x' B'01' X'1F' n'a' b'1' x'f'",
      "S[N'x'] _ S[B'01'] _ S[X'1F'] _ S[n'a'] _ S[b'1'] _ S[x'f']" },
    { "$$a;b$$", "D[$$a;b$$]" },
    { "$tag$ $x$ $ta $tag$", "D[$tag$ $x$ $ta $tag$]" },
    { "$_1$x$_1$", "D[$_1$x$_1$]" },
    { "$a$$b$$a$", "D[$a$$b$$a$]" },
    { "$1 $23", "P[$1] _ P[$23]" },
    { "$ x $a", "PU[$] _ W[x] _ PU[$] W[a]" },
    { "\"a\"\"b\" U&\"x\" u&\"y\"", "Q[\"a\"\"b\"] _ Q[U&\"x\"] _ Q[u&\"y\"]" },
    { "u&x", "W[u] OP[&] W[x]" },
    { "-- c\nselect", "C[-- c] _ W[select]" },
    { "--c\r;x", "C[--c] _ SC[;] W[x]" },
    { "--", "C[--]" },
    { "/* a /* b */ c */x", "C[/* a /* b */ c */] W[x]" },
    { "/**/ /*/ */ /* **/", "C[/**/] _ C[/*/ */] _ C[/* **/]" },
    { "a::date", "W[a] OP[::] W[date]" },
    { ":since,:a1,:é", "NP[:since] PU[,] NP[:a1] PU[,] NP[:é]" },
    { "x := 1", "W[x] _ OP[:=] _ N[1]" },
    { "a[1:2]", "W[a] PU[[] N[1] PU[:] N[2] PU[]]" },
    { "j->>'k' || j #> '{a}'",
      "W[j] OP[->>] S['k'] _ OP[||] _ W[j] _ OP[#>] _ S['{a}']" },
    { "1*--c", "N[1] OP[*] C[--c]" },
    { "1+/*c*/2", "N[1] OP[+] C[/*c*/] N[2]" },
    { "a<=-b", "W[a] OP[<=-] W[b]" },
    { "3.14 .5 1e-3 1E+4 1_000 0x1F 0o17 0B101 1..2",
      "N[3.14] _ N[.5] _ N[1e-3] _ N[1E+4] _ N[1_000] _ N[0x1F] _ N[0o17] "
      "_ N[0B101] _ N[1] PU[.] N[.2]" },
    { "1e 1.5e+10x 0b 0x", "N[1] W[e] _ N[1.5e+10] W[x] _ N[0] W[b] _ "
      "N[0] W[x]" },
    { "1.", "N[1.]" },
    { "{};", "PU[{] PU[}] SC[;]" },
    { "a.b", "W[a] PU[.] W[b]" },
    { "\xc3\xa9t\xc3\xa9", "W[\xc3\xa9t\xc3\xa9]" },
    { "\t\n\r\f\v x", "_ W[x]" },
    { ": :1", "PU[:] _ PU[:] N[1]" },
    { "a/b a<=--c\na+/*c*/ /* * */", "W[a] OP[/] W[b] _ W[a] OP[<=] C[--c] _ "
      "W[a] OP[+] C[/*c*/] _ C[/* * */]" },
    { "$a-", "PU[$] W[a] OP[-]" },
    { "1e+x 0X1f_2", "N[1] W[e] OP[+] W[x] _ N[0X1f_2]" },
};


START_TEST(test_lexer_tokens)
{
    char  out[512];

    render(lex_cases[_i].sql, strlen(lex_cases[_i].sql), out, sizeof(out));
    ck_assert_str_eq(out, lex_cases[_i].tokens);
}
END_TEST


static const struct {
    const char  *sql;
    size_t       offset;
    const char  *message;
} lex_errors[] = {
    { "'abc", 0, "unterminated string literal starting at line 1, column 1" },
    { "select E'abc\\'", 7,
      "unterminated string literal starting at line 1, column 8" },
    { "E'\\", 0, "unterminated string literal starting at line 1, column 1" },
    { "x /* a /* b */", 2,
      "unterminated comment starting at line 1, column 3" },
    { "/*/", 0, "unterminated comment starting at line 1, column 1" },
    { "\"abc", 0,
      "unterminated quoted identifier starting at line 1, column 1" },
    { "\n\"\"", 1, "empty quoted identifier at line 2, column 1" },
    { "U&\"\"", 0, "empty quoted identifier at line 1, column 1" },
    { "$x$ abc $y$", 0,
      "unterminated dollar-quoted string starting at line 1, column 1" },
    { "$$", 0,
      "unterminated dollar-quoted string starting at line 1, column 1" },
    { "select 'a\\'b'", 9,
      "a backslash before a quote is ambiguous in a string literal "
      "(line 1, column 10); write '' for a quote" },
    { "select\n  'x\\''", 11,
      "a backslash before a quote is ambiguous in a string literal "
      "(line 2, column 5); write '' for a quote" },
    { "U&'\\\\\\'", 5,
      "a backslash before a quote is ambiguous in a string literal "
      "(line 1, column 6); write '' for a quote" },
};


START_TEST(test_lexer_errors)
{
    int                  rc;
    spectra_sql_lexer_t  lx;
    spectra_sql_token_t  tok;
    spectra_sql_error_t  err;

    spectra_sql_lexer_init(&lx, S(lex_errors[_i].sql));

    do {
        rc = spectra_sql_lexer_next(&lx, &tok, &err);
    } while (rc == OK && tok.type != SPECTRA_SQL_TOK_EOF);

    ck_assert_int_eq(rc, SYN);
    ck_assert_int_eq(err.code, SYN);
    ck_assert_uint_eq(err.offset, lex_errors[_i].offset);
    ck_assert_str_eq(err.message, lex_errors[_i].message);
}
END_TEST


/* Policy with the defaults */

static const struct {
    const char  *sql;
    size_t       len;           /* 0: strlen(sql) */
    int          rc;
    size_t       offset;
    const char  *message;
} policy_cases[] = {

    /* ordinary analytics SQL passes */
    { "select 1", 0, OK, 0, NULL },
    { "SeLeCt 1", 0, OK, 0, NULL },
    { "SELECT * FROM sales WHERE last_update > now() - interval '1 day'",
      0, OK, 0, NULL },
    { "select updated_at, deleted, inserted_by, update_count from t",
      0, OK, 0, NULL },
    { "select * from t where a = 'x' AND b = 1", 0, OK, 0, NULL },
    { "select 'delete'", 0, OK, 0, NULL },
    { "select ';'", 0, OK, 0, NULL },
    { "select '; drop table x; --' as s", 0, OK, 0, NULL },
    { "select 1; ", 0, OK, 0, NULL },
    { "select 1;\n-- done; drop table t\n/* ; bye */", 0, OK, 0, NULL },
    { "-- leading; comment\nselect 1 -- trailing", 0, OK, 0, NULL },
    { "with x as (select 1 as a) select * from x", 0, OK, 0, NULL },
    { "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r "
      "WHERE n < 10) SELECT * FROM r", 0, OK, 0, NULL },
    { "with u as materialized (select 1) select * from u", 0, OK, 0, NULL },
    { "select region, sum(amount) over (partition by region order by day "
      "rows between unbounded preceding and current row) from sales",
      0, OK, 0, NULL },
    { "select rank() over w from t window w as (order by x)",
      0, OK, 0, NULL },
    { "select a from t union select b from u intersect select c from v "
      "except select d from w", 0, OK, 0, NULL },
    { "(select 1) union all (select 2)", 0, OK, 0, NULL },
    { "select $$a;b$$, $t$ ; delete from x; $t$", 0, OK, 0, NULL },
    { "select E'it\\'s; fine'", 0, OK, 0, NULL },
    /* E'\\'' is a backslash, a doubled quote and more string: one string */
    { "select E'\\\\''; delete from t; --'", 0, OK, 0, NULL },
    { "select /* a /* nested ; */ still ; */ 1", 0, OK, 0, NULL },
    { "select '2024-01-01'::date, x::numeric(10,2), y::pg_lsn from t",
      0, OK, 0, NULL },
    { "select array[1,2,3], a[1:2], '{1,2}'::int[] from t", 0, OK, 0, NULL },
    { "select payload->>'k', payload #>> '{a,b}', j @> '{}' from events",
      0, OK, 0, NULL },
    { "values (1, 'a'), (2, 'b')", 0, OK, 0, NULL },
    { "select region from sales where day >= :since group by 1",
      0, OK, 0, NULL },
    { "select \"select\", \"delete\", \"into\" from t", 0, OK, 0, NULL },
    { "select count(*) filter (where x > 0) from t", 0, OK, 0, NULL },
    { "select t.update, t.delete, t.insert, t.into from t", 0, OK, 0, NULL },
    { "select x as delete from t", 0, OK, 0, NULL },
    { "select update from t order by update desc", 0, OK, 0, NULL },
    { "select substring(s from 1 for 3) from t", 0, OK, 0, NULL },
    { "select pg_size_pretty(10), pg_typeof(1), lower(name) from t",
      0, OK, 0, NULL },
    { "select x from my_schema.pg_like_table, t.pg_col", 0, OK, 0, NULL },
    { "select x as pg_total, y::pg_snapshot from t", 0, OK, 0, NULL },
    { "select 'pg_sleep(10)', 'pg_catalog.pg_authid'", 0, OK, 0, NULL },
    { "select 'C:\\\\' as path", 0, OK, 0, NULL },
    { "select U&'d\\0061t'", 0, OK, 0, NULL },
    { "select b'101', x'1f', n'abc'", 0, OK, 0, NULL },
    { "select a from t where b in (select c from u) "
      "and exists (select 1 from v)", 0, OK, 0, NULL },
    { "select date_trunc('month', ts) as m, count(distinct user_id) "
      "from events group by 1 order by 1 limit 10 offset 5", 0, OK, 0, NULL },
    { "select * from t fetch first 5 rows only", 0, OK, 0, NULL },
    { "select * from t1 join t2 using (id) left join t3 on t3.id = t1.id",
      0, OK, 0, NULL },
    { "select case when a then 'insert' else 'update' end from t",
      0, OK, 0, NULL },
    { "select $1::int, :b::date", 0, OK, 0, NULL },
    { "select * from t for_update", 0, OK, 0, NULL },
    { "select 1 for", 0, OK, 0, NULL },
    { "select * from t for no update", 0, OK, 0, NULL },
    { "select * from t for key update", 0, OK, 0, NULL },
    { "select t.\"pg_catalog\" from t", 0, OK, 0, NULL },
    { "select f(a := 1), insert, merge from t", 0, OK, 0, NULL },
    { "select * from t for no key x", 0, OK, 0, NULL },
    { "select delete, x from t", 0, OK, 0, NULL },
    { "select \"a\"\"b\", U&\"a\"\"b\", U&\"a\\zzzzb\" from t", 0, OK, 0,
      NULL },
    { "select U&\"pg!005fsleep\" UESCAPE 5 from t", 0, OK, 0, NULL },
    { "select U&\"pg!005fsleep\" UESCAPE '!!' from t", 0, OK, 0, NULL },
    { "select U&\"pg!005fsleep\" UESCAPE", 0, OK, 0, NULL },

    /* stacked statements */
    { "select 1; drop table t", 0, MULTI, 10,
      "multiple statements are not allowed (second statement at line 1, "
      "column 11)" },
    { "select 1 /* ; */; -- x\ndelete from t", 0, MULTI, 23,
      "multiple statements are not allowed (second statement at line 2, "
      "column 1)" },
    { "select $$a$$; drop table t", 0, MULTI, 14,
      "multiple statements are not allowed (second statement at line 1, "
      "column 15)" },
    { "select E'\\''; delete from t; --'", 0, MULTI, 14,
      "multiple statements are not allowed (second statement at line 1, "
      "column 15)" },
    { "select a$$; drop table t; --$$", 0, MULTI, 12,
      "multiple statements are not allowed (second statement at line 1, "
      "column 13)" },
    { "select 1 --x\r; delete from t", 0, MULTI, 15,
      "multiple statements are not allowed (second statement at line 1, "
      "column 16)" },
    { "select 1 -- comment\n; drop table t", 0, MULTI, 22,
      "multiple statements are not allowed (second statement at line 2, "
      "column 3)" },
    { "select 1; ; ", 0, MULTI, 10,
      "multiple statements are not allowed (second statement at line 1, "
      "column 11)" },
    { "select (select 1; delete from t)", 0, MULTI, 18,
      "multiple statements are not allowed (second statement at line 1, "
      "column 19)" },
    { "select a,\n       b\nfrom t;\ninsert into t values (1)", 0, MULTI,
      27, "multiple statements are not allowed (second statement at line 4, "
      "column 1)" },
    { "select 'a\\''; delete from t; --'", 0, SYN, 9,
      "a backslash before a quote is ambiguous in a string literal "
      "(line 1, column 10); write '' for a quote" },
    { "select 1 /* /* */ ; drop table t", 0, SYN, 9,
      "unterminated comment starting at line 1, column 10" },
    { "/* */ ; drop table t", 0, EMPTY, 6,
      "empty statement at line 1, column 7" },
    { ";", 0, EMPTY, 0, "empty statement at line 1, column 1" },

    /* not a read-only statement */
    { "insert into t values (1)", 0, RO, 0,
      "only read-only statements are allowed: INSERT at line 1, column 1" },
    { "UPDATE t SET a = 1", 0, RO, 0,
      "only read-only statements are allowed: UPDATE at line 1, column 1" },
    { "  delete from t", 0, RO, 2,
      "only read-only statements are allowed: DELETE at line 1, column 3" },
    { "merge into t using s on true when matched then delete", 0, RO, 0,
      "only read-only statements are allowed: MERGE at line 1, column 1" },
    { "drop table t", 0, RO, 0,
      "only read-only statements are allowed: DROP at line 1, column 1" },
    { "create table x (a int)", 0, RO, 0,
      "only read-only statements are allowed: CREATE at line 1, column 1" },
    { "alter table t add column b int", 0, RO, 0,
      "only read-only statements are allowed: ALTER at line 1, column 1" },
    { "truncate t", 0, RO, 0,
      "only read-only statements are allowed: TRUNCATE at line 1, "
      "column 1" },
    { "copy t to '/tmp/x'", 0, RO, 0,
      "only read-only statements are allowed: COPY at line 1, column 1" },
    { "(copy t to stdout)", 0, RO, 1,
      "only read-only statements are allowed: COPY at line 1, column 2" },
    { "unload ('select 1') to 's3://b/'", 0, RO, 0,
      "only read-only statements are allowed: UNLOAD at line 1, column 1" },
    { "set role admin", 0, RO, 0,
      "only read-only statements are allowed: SET at line 1, column 1" },
    { "reset role", 0, RO, 0,
      "only read-only statements are allowed: RESET at line 1, column 1" },
    { "call p()", 0, RO, 0,
      "only read-only statements are allowed: CALL at line 1, column 1" },
    { "do $$ begin end $$", 0, RO, 0,
      "only read-only statements are allowed: DO at line 1, column 1" },
    { "begin", 0, RO, 0,
      "only read-only statements are allowed: BEGIN at line 1, column 1" },
    { "commit", 0, RO, 0,
      "only read-only statements are allowed: COMMIT at line 1, column 1" },
    { "start transaction read write", 0, RO, 0,
      "only read-only statements are allowed: START at line 1, column 1" },
    { "grant select on t to u", 0, RO, 0,
      "only read-only statements are allowed: GRANT at line 1, column 1" },
    { "revoke select on t from u", 0, RO, 0,
      "only read-only statements are allowed: REVOKE at line 1, column 1" },
    { "explain analyze select 1", 0, RO, 0,
      "only read-only statements are allowed: EXPLAIN at line 1, column 1" },
    { "lock table t", 0, RO, 0,
      "only read-only statements are allowed: LOCK at line 1, column 1" },
    { "listen x", 0, RO, 0,
      "only read-only statements are allowed: LISTEN at line 1, column 1" },
    { "notify x", 0, RO, 0,
      "only read-only statements are allowed: NOTIFY at line 1, column 1" },
    { "vacuum full", 0, RO, 0,
      "only read-only statements are allowed: VACUUM at line 1, column 1" },
    { "prepare p as select 1", 0, RO, 0,
      "only read-only statements are allowed: PREPARE at line 1, column 1" },
    { "table t", 0, RO, 0,
      "only read-only statements are allowed: TABLE at line 1, column 1" },
    { "'select'", 0, RO, 0,
      "a statement must start with a keyword (line 1, column 1)" },
    { "()", 0, RO, 1,
      "a statement must start with a keyword (line 1, column 2)" },

    /* data-modifying CTEs and main statements */
    { "with d as (delete from t returning *) select * from d", 0, RO, 11,
      "data-modifying statements are not allowed: DELETE at line 1, "
      "column 12" },
    { "WITH x AS (INSERT INTO t VALUES (1) RETURNING id) SELECT * FROM x",
      0, RO, 11, "data-modifying statements are not allowed: INSERT at "
      "line 1, column 12" },
    { "with x as (update t set a = 1 returning *) select * from x", 0, RO,
      11, "data-modifying statements are not allowed: UPDATE at line 1, "
      "column 12" },
    { "with x as (update \"T\" set a = 1 returning *) select 1", 0, RO,
      11, "data-modifying statements are not allowed: UPDATE at line 1, "
      "column 12" },
    { "with x as (select 1) delete from t", 0, RO, 21,
      "data-modifying statements are not allowed: DELETE at line 1, "
      "column 22" },
    { "with x as not materialized (merge into t using s on true when "
      "matched then delete) select 1", 0, RO, 28,
      "data-modifying statements are not allowed: MERGE at line 1, "
      "column 29" },
    { "with recursive x as (select 1) cycle a set c using p delete from t",
      0, RO, 53, "data-modifying statements are not allowed: DELETE at "
      "line 1, column 54" },
    { "with x as (/* c */ DeLeTe /* c */ FROM t returning 1) select 1",
      0, RO, 19, "data-modifying statements are not allowed: DELETE at "
      "line 1, column 20" },

    /* SELECT INTO and locking clauses */
    { "select * into newtable from t", 0, RO, 9,
      "SELECT INTO is not allowed (line 1, column 10)" },
    { "select 1 as \"x\" into temp t", 0, RO, 16,
      "SELECT INTO is not allowed (line 1, column 17)" },
    { "select * from t for update", 0, RO, 16,
      "locking clause FOR UPDATE is not allowed (line 1, column 17)" },
    { "select * from t FOR NO KEY UPDATE", 0, RO, 16,
      "locking clause FOR NO KEY UPDATE is not allowed (line 1, "
      "column 17)" },
    { "select * from t for share of t nowait", 0, RO, 16,
      "locking clause FOR SHARE is not allowed (line 1, column 17)" },
    { "select * from t where x = 1 for key share", 0, RO, 28,
      "locking clause FOR KEY SHARE is not allowed (line 1, column 29)" },
    { "select * from (select * from t for update) s", 0, RO, 31,
      "locking clause FOR UPDATE is not allowed (line 1, column 32)" },

    /* denied functions, in every spelling */
    { "select pg_sleep(10)", 0, DENY, 7,
      "function pg_sleep is not allowed (line 1, column 8)" },
    { "select PG_SLEEP (10)", 0, DENY, 7,
      "function pg_sleep is not allowed (line 1, column 8)" },
    { "select pg_sleep\n(1)", 0, DENY, 7,
      "function pg_sleep is not allowed (line 1, column 8)" },
    { "select/**/pg_sleep/**/(1)", 0, DENY, 10,
      "function pg_sleep is not allowed (line 1, column 11)" },
    { "select \"pg_sleep\"(1)", 0, DENY, 7,
      "function pg_sleep is not allowed (line 1, column 8)" },
    { "select \"PG_Sleep\" (1)", 0, DENY, 7,
      "function PG_Sleep is not allowed (line 1, column 8)" },
    { "select public.pg_sleep(1)", 0, DENY, 14,
      "function pg_sleep is not allowed (line 1, column 15)" },
    { "select pg_catalog.pg_sleep(1)", 0, DENY, 7,
      "schema pg_catalog is not allowed (line 1, column 8)" },
    { "select U&\"pg\\005fsleep\"(1)", 0, DENY, 7,
      "function pg_sleep is not allowed (line 1, column 8)" },
    { "select U&\"pg\\+00005fsleep\"(1)", 0, DENY, 7,
      "function pg_sleep is not allowed (line 1, column 8)" },
    { "select U&\"pg!005fsleep\" UESCAPE '!' (1)", 0, DENY, 7,
      "function pg_sleep is not allowed (line 1, column 8)" },
    { "select pg_sleep_for('1 minute'), pg_sleep_until(now())", 0, DENY, 7,
      "function pg_sleep_for is not allowed (line 1, column 8)" },
    { "select set_config('role', 'admin', false)", 0, DENY, 7,
      "function set_config is not allowed (line 1, column 8)" },
    { "select current_setting('data_directory')", 0, DENY, 7,
      "function current_setting is not allowed (line 1, column 8)" },
    { "select * from dblink('host=x', 'select 1') as t(a int)", 0, DENY, 14,
      "function dblink is not allowed (line 1, column 15)" },
    { "select dblink_exec('x', 'delete from t')", 0, DENY, 7,
      "function dblink_exec is not allowed (line 1, column 8)" },
    { "select lo_import('/etc/passwd')", 0, DENY, 7,
      "function lo_import is not allowed (line 1, column 8)" },
    { "select pg_read_file('/etc/passwd')", 0, DENY, 7,
      "function pg_read_file is not allowed (line 1, column 8)" },
    { "select query_to_xml('delete from t', true, false, '')", 0, DENY, 7,
      "function query_to_xml is not allowed (line 1, column 8)" },
    { "select nextval('s')", 0, DENY, 7,
      "function nextval is not allowed (line 1, column 8)" },
    { "select pg_terminate_backend(1)", 0, DENY, 7,
      "function pg_terminate_backend is not allowed (line 1, column 8)" },
    { "select * from ts_stat('select body from pg_catalog.pg_proc')", 0,
      DENY, 14, "function ts_stat is not allowed (line 1, column 15)" },
    { "select '\xc3\xa9', pg_sleep(1)", 0, DENY, 13,
      "function pg_sleep is not allowed (line 1, column 13)" },

    /* denied schemas and relations */
    { "select * from pg_catalog.pg_authid", 0, DENY, 14,
      "schema pg_catalog is not allowed (line 1, column 15)" },
    { "select * from information_schema.tables", 0, DENY, 14,
      "schema information_schema is not allowed (line 1, column 15)" },
    { "select * from INFORMATION_SCHEMA . \"tables\"", 0, DENY, 14,
      "schema information_schema is not allowed (line 1, column 15)" },
    { "select * from \"pg_toast\".pg_toast_123", 0, DENY, 14,
      "schema pg_toast is not allowed (line 1, column 15)" },
    { "select * from db.pg_catalog.pg_class", 0, DENY, 17,
      "schema pg_catalog is not allowed (line 1, column 18)" },
    { "select * from pg_authid", 0, DENY, 14,
      "relation pg_authid is not allowed (line 1, column 15)" },
    { "select usename from pg_user", 0, DENY, 20,
      "relation pg_user is not allowed (line 1, column 21)" },
    { "select * from \"pg_roles\"", 0, DENY, 14,
      "relation pg_roles is not allowed (line 1, column 15)" },
    { "select * from t, STL_QUERY", 0, DENY, 17,
      "relation stl_query is not allowed (line 1, column 18)" },
    { "select * from U&\"pg_\\\\x\"", 0, DENY, 14,
      "relation pg_\\x is not allowed (line 1, column 15)" },
    { "select * from \"pg_\x01\"", 0, DENY, 14,
      "relation pg_? is not allowed (line 1, column 15)" },
    { "select U&\"pg_stat_\\20ac\\+01F600\\00e9\" (1)", 0, DENY, 7,
      "function pg_stat_\xe2\x82\xac\xf0\x9f\x98\x80\xc3\xa9 is not "
      "allowed (line 1, column 8)" },
    { "select U&\"pg\\+11000sleep\"(1)", 0, OK, 0, NULL },
    /* cut at 63 bytes on a character boundary, as PostgreSQL does */
    { "select * from pg_"
      "\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac"
      "\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac"
      "\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac"
      "\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac"
      "\xe2\x82\xac", 0, DENY, 14,
      "relation pg_"
      "\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac"
      "\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac"
      "\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac"
      "\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac"
      " is not allowed (line 1, column 15)" },
    { "select * from pg_x"
      "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
      "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
      "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
      "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", 0, DENY, 14,
      "relation pg_x"
      "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
      "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
      "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
      "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
      " is not allowed (line 1, column 15)" },
    { "select * from \"pg_x"
      "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
      "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
      "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
      "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9" "\"", 0, DENY, 14,
      "relation pg_x"
      "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
      "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
      "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
      "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
      " is not allowed (line 1, column 15)" },
    /* PostgreSQL truncates names to 63 bytes; the prefix still matches */
    { "select dblink_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
      "aaaaaaaaaaaaaaaa(1)", 0, DENY, 7, "function dblink_aaaaaaaaaaaaaaaaaaa"
      "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa is not allowed (line 1, "
      "column 8)" },
    { "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
      "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
      "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
      "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9 1",
      0, RO, 0, "only read-only statements are allowed: "
      "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
      "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
      "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
      "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9 at line 1, "
      "column 1" },

    /* malformed, empty, NUL */
    { "select 1 /* unterminated", 0, SYN, 9,
      "unterminated comment starting at line 1, column 10" },
    { "select 'abc", 0, SYN, 7,
      "unterminated string literal starting at line 1, column 8" },
    { "select (1", 0, SYN, 7,
      "unbalanced parentheses: '(' at line 1, column 8 is not closed" },
    { "(;", 0, SYN, 0,
      "unbalanced parentheses: '(' at line 1, column 1 is not closed" },
    { "select abc 'x", 0, SYN, 11,
      "unterminated string literal starting at line 1, column 12" },
    { "((select 1)", 0, SYN, 0,
      "unbalanced parentheses: '(' at line 1, column 1 is not closed" },
    { "select 1)", 0, SYN, 8,
      "unbalanced parentheses: ')' at line 1, column 9 has no '('" },
    { "", 0, EMPTY, 0, "SQL is empty" },
    { "   \n\t ", 0, EMPTY, 6, "SQL is empty" },
    { "-- just a comment", 0, EMPTY, 17, "SQL is empty" },
    { "/* c */ -- d\n", 0, EMPTY, 13, "SQL is empty" },
    { "select '\0'", 10, NUL, 8,
      "NUL bytes are not allowed (line 1, column 9)" },
    { "\0", 1, NUL, 0, "NUL bytes are not allowed (line 1, column 1)" },
};


START_TEST(test_policy_defaults)
{
    int                   rc;
    size_t                len;
    spectra_sql_info_t    info;
    spectra_sql_error_t   err;
    spectra_sql_policy_t  policy;

    spectra_sql_policy_default(&policy);

    len = policy_cases[_i].len ? policy_cases[_i].len
                               : strlen(policy_cases[_i].sql);

    memset(&err, 0, sizeof(err));
    rc = spectra_sql_check(&policy, (const u_char *) policy_cases[_i].sql,
                           len, &info, &err);

    if (rc != policy_cases[_i].rc) {
        ck_abort_msg("case %d \"%s\": rc %d, expected %d (%s)", _i,
                     policy_cases[_i].sql, rc, policy_cases[_i].rc,
                     err.message);
    }

    if (rc == OK) {
        return;
    }

    ck_assert_int_eq(err.code, rc);
    ck_assert_uint_eq(err.offset, policy_cases[_i].offset);
    ck_assert_str_eq(err.message, policy_cases[_i].message);
}
END_TEST


START_TEST(test_policy_position_fields)
{
    spectra_sql_error_t   err;
    spectra_sql_policy_t  policy;

    spectra_sql_policy_default(&policy);

    ck_assert_int_eq(spectra_sql_check(&policy,
                         S("select 1\n  , \xc3\xa9, pg_sleep(1)"), NULL,
                         &err), DENY);
    ck_assert_uint_eq(err.offset, 17);
    ck_assert_uint_eq(err.line, 2);
    ck_assert_uint_eq(err.column, 8);
}
END_TEST


START_TEST(test_policy_info)
{
    spectra_sql_info_t    info;
    spectra_sql_error_t   err;
    spectra_sql_policy_t  policy;

    spectra_sql_policy_default(&policy);

    ck_assert_int_eq(spectra_sql_check(&policy, S("select 1 ; -- x\n"),
                                       &info, &err), OK);
    ck_assert_uint_eq(info.stmt_len, 8);
    ck_assert_uint_eq(info.wrappable, 1);

    ck_assert_int_eq(spectra_sql_check(&policy,
                                       S("/* a */ (select 1) /* b */"),
                                       &info, &err), OK);
    ck_assert_uint_eq(info.stmt_len, 18);
    ck_assert_uint_eq(info.wrappable, 1);
}
END_TEST


START_TEST(test_policy_max_len)
{
    spectra_sql_error_t   err;
    spectra_sql_policy_t  policy;
    u_char               *big;

    spectra_sql_policy_default(&policy);
    ck_assert_uint_eq(policy.max_len, 100000);

    big = malloc(100001);
    ck_assert_ptr_nonnull(big);
    memset(big, ' ', 100001);
    memcpy(big, "select 1", 8);

    ck_assert_int_eq(spectra_sql_check(&policy, big, 100000, NULL, &err),
                     OK);
    ck_assert_int_eq(spectra_sql_check(&policy, big, 100001, NULL, &err),
                     LONG);
    ck_assert_uint_eq(err.offset, 100000);
    ck_assert_str_eq(err.message,
                     "SQL is too long: 100001 bytes, the limit is 100000");

    policy.max_len = 0;
    ck_assert_int_eq(spectra_sql_check(&policy, big, 100001, NULL, &err),
                     OK);

    free(big);
}
END_TEST


/* Configured policies */

static const struct {
    const char  *sql;
    int          rc;
    size_t       offset;
    const char  *message;
    unsigned     wrappable;
} explain_cases[] = {
    { "explain select 1", OK, 0, NULL, 0 },
    { "EXPLAIN VERBOSE (select 1)", OK, 0, NULL, 0 },
    { "explain (format json, costs off) with x as (select 1) select * "
      "from x", OK, 0, NULL, 0 },
    { "explain (select 1) union (select 2)", OK, 0, NULL, 0 },
    { "explain (values (1))", RO, 9,
      "only read-only statements are allowed: VALUES at line 1, column 10",
      0 },
    { "explain (table t)", OK, 0, NULL, 0 },
    { "explain ((select 1))", OK, 0, NULL, 0 },
    { "explain (with x as (select 1) select 1)", OK, 0, NULL, 0 },
    { "show search_path", OK, 0, NULL, 0 },
    { "table t", OK, 0, NULL, 1 },
    { "values (1)", RO, 0,
      "only read-only statements are allowed: VALUES at line 1, column 1",
      0 },
    { "explain analyze select 1", RO, 8,
      "EXPLAIN ANALYZE is not allowed (line 1, column 9)", 0 },
    { "explain verbose analyse select 1", RO, 16,
      "EXPLAIN ANALYZE is not allowed (line 1, column 17)", 0 },
    { "explain (costs off, analyze) select 1", RO, 20,
      "EXPLAIN ANALYZE is not allowed (line 1, column 21)", 0 },
    { "explain (format (json)) delete from t", RO, 24,
      "only read-only statements are allowed: DELETE at line 1, column 25",
      0 },
    { "explain explain select 1", RO, 8,
      "only read-only statements are allowed: EXPLAIN at line 1, column 9",
      0 },
    { "explain show x", RO, 8,
      "only read-only statements are allowed: SHOW at line 1, column 9", 0 },
    { "explain with x as (delete from t returning 1) select 1", RO, 19,
      "data-modifying statements are not allowed: DELETE at line 1, "
      "column 20", 0 },
    { "explain", EMPTY, 7, "EXPLAIN needs a statement", 0 },
    { "explain 'x", SYN, 8,
      "unterminated string literal starting at line 1, column 9", 0 },
    { "explain (costs 'x", SYN, 15,
      "unterminated string literal starting at line 1, column 16", 0 },
};


START_TEST(test_policy_explain)
{
    int                   rc;
    size_t                n;
    spectra_sql_str_t     allow[8];
    spectra_sql_info_t    info;
    spectra_sql_error_t   err;
    spectra_sql_policy_t  policy;

    spectra_sql_policy_default(&policy);
    ck_assert_int_eq(spectra_sql_list_parse(SPECTRA_SQL_LIST_ALLOW,
                         S("select,with , table\tSHOW,Explain"), allow, 8,
                         &n, &err), OK);
    ck_assert_uint_eq(n, 5);
    policy.allow = allow;
    policy.nallow = n;

    rc = spectra_sql_check(&policy, S(explain_cases[_i].sql), &info, &err);

    if (rc != explain_cases[_i].rc) {
        ck_abort_msg("case %d \"%s\": rc %d, expected %d (%s)", _i,
                     explain_cases[_i].sql, rc, explain_cases[_i].rc,
                     err.message);
    }

    if (rc == OK) {
        ck_assert_uint_eq(info.wrappable, explain_cases[_i].wrappable);
        return;
    }

    ck_assert_uint_eq(err.offset, explain_cases[_i].offset);
    ck_assert_str_eq(err.message, explain_cases[_i].message);
}
END_TEST


START_TEST(test_policy_custom_lists)
{
    size_t                n;
    spectra_sql_str_t     fns[4], schemas[4];
    spectra_sql_error_t   err;
    spectra_sql_policy_t  policy;

    spectra_sql_policy_default(&policy);

    ck_assert_int_eq(spectra_sql_list_parse(SPECTRA_SQL_LIST_FUNCTIONS,
                         S(" foo, BAR* ,"), fns, 4, &n, &err), OK);
    ck_assert_uint_eq(n, 2);
    ck_assert_uint_eq(fns[1].len, 4);
    ck_assert_int_eq(memcmp(fns[1].data, "BAR*", 4), 0);
    policy.deny_functions = fns;
    policy.ndeny_functions = n;

    ck_assert_int_eq(spectra_sql_list_parse(SPECTRA_SQL_LIST_SCHEMAS,
                         S("secret"), schemas, 4, &n, &err), OK);
    policy.deny_schemas = schemas;
    policy.ndeny_schemas = n;
    policy.ndeny_relations = 0;

    ck_assert_int_eq(spectra_sql_check(&policy, S("select pg_sleep(1)"),
                                       NULL, &err), OK);
    ck_assert_int_eq(spectra_sql_check(&policy,
                         S("select * from pg_catalog.pg_authid"), NULL,
                         &err), OK);
    ck_assert_int_eq(spectra_sql_check(&policy, S("select foo(1)"), NULL,
                                       &err), DENY);
    ck_assert_str_eq(err.message,
                     "function foo is not allowed (line 1, column 8)");
    ck_assert_int_eq(spectra_sql_check(&policy, S("select foobar(1)"), NULL,
                                       &err), OK);
    ck_assert_int_eq(spectra_sql_check(&policy, S("select barbaz(1)"), NULL,
                                       &err), DENY);
    ck_assert_str_eq(err.message,
                     "function barbaz is not allowed (line 1, column 8)");
    ck_assert_int_eq(spectra_sql_check(&policy, S("select bar(1)"), NULL,
                                       &err), DENY);
    ck_assert_int_eq(spectra_sql_check(&policy, S("select ba(1)"), NULL,
                                       &err), OK);
    ck_assert_int_eq(spectra_sql_check(&policy, S("select * from Secret.t"),
                                       NULL, &err), DENY);
    ck_assert_str_eq(err.message,
                     "schema secret is not allowed (line 1, column 15)");

    /* only ASCII letters fold; other bytes compare as they are */
    ck_assert_int_eq(spectra_sql_list_parse(SPECTRA_SQL_LIST_FUNCTIONS,
                         S("caf\xc3\xa9"), fns, 4, &n, &err), OK);
    policy.ndeny_functions = n;
    ck_assert_int_eq(spectra_sql_check(&policy, S("select CAF\xc3\xa9(1)"),
                                       NULL, &err), DENY);
    ck_assert_str_eq(err.message,
                     "function caf\xc3\xa9 is not allowed (line 1, column 8)");
    ck_assert_int_eq(spectra_sql_check(&policy, S("select caf\xc3\x89(1)"),
                                       NULL, &err), OK);
}
END_TEST


static const struct {
    spectra_sql_list_e   list;
    const char          *text;
    size_t               offset;
    const char          *message;
} list_errors[] = {
    { SPECTRA_SQL_LIST_ALLOW, "select, insert", 8,
      "\"INSERT\" cannot be allowed: only SELECT, WITH, VALUES, TABLE, "
      "SHOW and EXPLAIN can" },
    { SPECTRA_SQL_LIST_ALLOW, " ,, ", 0,
      "the list of allowed statements is empty" },
    { SPECTRA_SQL_LIST_FUNCTIONS, "ok bad-name", 6,
      "invalid name \"bad-name\" in a deny list: use a name of at most 63 "
      "letters, digits, _ or $, optionally ending in *" },
    { SPECTRA_SQL_LIST_FUNCTIONS, "*", 0,
      "invalid name \"*\" in a deny list: use a name of at most 63 "
      "letters, digits, _ or $, optionally ending in *" },
    { SPECTRA_SQL_LIST_SCHEMAS, "a*b", 1,
      "invalid name \"a*b\" in a deny list: use a name of at most 63 "
      "letters, digits, _ or $, optionally ending in *" },
    { SPECTRA_SQL_LIST_RELATIONS, "1abc", 4,
      "invalid name \"1abc\" in a deny list: use a name of at most 63 "
      "letters, digits, _ or $, optionally ending in *" },
    { SPECTRA_SQL_LIST_RELATIONS, "$abc", 4,
      "invalid name \"$abc\" in a deny list: use a name of at most 63 "
      "letters, digits, _ or $, optionally ending in *" },
    { SPECTRA_SQL_LIST_FUNCTIONS,
      "a234567890123456789012345678901234567890123456789012345678901234",
      64, "invalid name \"a23456789012345678901234567890123456789012345678"
      "901234567890123\" in a deny list: use a name of at most 63 letters, "
      "digits, _ or $, optionally ending in *" },
    { SPECTRA_SQL_LIST_FUNCTIONS, "a b c d e", 8,
      "too many names in the list (at most 4)" },
};


START_TEST(test_list_errors)
{
    size_t               n;
    spectra_sql_str_t    out[4];
    spectra_sql_error_t  err;

    ck_assert_int_eq(spectra_sql_list_parse(list_errors[_i].list,
                         S(list_errors[_i].text), out, 4, &n, &err),
                     SPECTRA_SQL_ERR_INVALID);
    ck_assert_int_eq(err.code, SPECTRA_SQL_ERR_INVALID);
    ck_assert_uint_eq(err.offset, list_errors[_i].offset);
    ck_assert_str_eq(err.message, list_errors[_i].message);
}
END_TEST


START_TEST(test_list_entries)
{
    size_t               n;
    spectra_sql_str_t    out[4];
    spectra_sql_error_t  err;

    ck_assert_int_eq(spectra_sql_list_entry_check(SPECTRA_SQL_LIST_ALLOW,
                                                  S("VALUES"), &err), OK);
    ck_assert_int_eq(spectra_sql_list_entry_check(SPECTRA_SQL_LIST_ALLOW,
                                                  S("valuesx"), &err),
                     SPECTRA_SQL_ERR_INVALID);
    ck_assert_int_eq(spectra_sql_list_entry_check(SPECTRA_SQL_LIST_FUNCTIONS,
                                                  S("pg_$x_*"), &err), OK);
    ck_assert_int_eq(spectra_sql_list_entry_check(SPECTRA_SQL_LIST_FUNCTIONS,
                                                  S(""), &err),
                     SPECTRA_SQL_ERR_INVALID);
    ck_assert_int_eq(spectra_sql_list_entry_check(SPECTRA_SQL_LIST_SCHEMAS,
                         S("a23456789012345678901234567890123456789012345"
                           "678901234567890123*"), &err), OK);

    /* an empty deny list is fine */
    ck_assert_int_eq(spectra_sql_list_parse(SPECTRA_SQL_LIST_SCHEMAS, S(""),
                                            out, 4, &n, &err), OK);
    ck_assert_uint_eq(n, 0);
}
END_TEST


/* LIMIT wrap */

static const struct {
    const char  *sql;
    uint64_t     limit;
    const char  *wrapped;
} wrap_cases[] = {
    { "select 1", 1000, "SELECT * FROM (select 1\n) AS spectra_q LIMIT 1001" },
    { "select 1; -- c", 0, "SELECT * FROM (select 1\n) AS spectra_q LIMIT 1" },
    { "select 1 -- c) AS x LIMIT 99999", 10,
      "SELECT * FROM (select 1\n) AS spectra_q LIMIT 11" },
    { "-- lead\nselect 1 /* tail */ ;\n", 9,
      "SELECT * FROM (-- lead\nselect 1\n) AS spectra_q LIMIT 10" },
    { "with x as (select 1) select * from x", 18446744073709551614ULL,
      "SELECT * FROM (with x as (select 1) select * from x\n) AS spectra_q "
      "LIMIT 18446744073709551615" },
};


START_TEST(test_wrap)
{
    u_char               buf[256], *end;
    size_t               stmt_len, n;
    spectra_sql_error_t  err;

    ck_assert_int_eq(spectra_sql_trim(S(wrap_cases[_i].sql), &stmt_len,
                                      &err), OK);

    n = spectra_sql_wrap_limit_len(stmt_len, wrap_cases[_i].limit);
    ck_assert_uint_eq(n, strlen(wrap_cases[_i].wrapped));
    ck_assert_uint_lt(n, sizeof(buf));

    end = spectra_sql_wrap_limit(buf, (const u_char *) wrap_cases[_i].sql,
                                 stmt_len, wrap_cases[_i].limit);
    ck_assert_uint_eq((size_t) (end - buf), n);
    *end = '\0';
    ck_assert_str_eq((char *) buf, wrap_cases[_i].wrapped);
}
END_TEST


START_TEST(test_wrap_edges)
{
    size_t               stmt_len;
    spectra_sql_error_t  err;

    ck_assert_uint_eq(spectra_sql_wrap_limit_len(8, UINT64_MAX), 0);

    ck_assert_int_eq(spectra_sql_trim(S(""), &stmt_len, &err), OK);
    ck_assert_uint_eq(stmt_len, 0);

    ck_assert_int_eq(spectra_sql_trim(S("select 'x"), &stmt_len, &err), SYN);
    ck_assert_str_eq(err.message,
                     "unterminated string literal starting at line 1, "
                     "column 8");
}
END_TEST


/* Named parameters */

START_TEST(test_params)
{
    size_t               n;
    spectra_sql_str_t    names[4];
    spectra_sql_error_t  err;

    ck_assert_int_eq(spectra_sql_params(
                         S("select :a, :b, :a, ':c', /* :d */ x::date, "
                           "$$:e$$, \":f\", :g_1 -- :h\n, :A, y := 1"),
                         names, 4, &n, &err), OK);
    ck_assert_uint_eq(n, 4);
    ck_assert_uint_eq(names[0].len, 1);
    ck_assert_int_eq(names[0].data[0], 'a');
    ck_assert_uint_eq(names[1].len, 1);
    ck_assert_int_eq(names[1].data[0], 'b');
    ck_assert_uint_eq(names[2].len, 3);
    ck_assert_int_eq(memcmp(names[2].data, "g_1", 3), 0);
    ck_assert_uint_eq(names[3].len, 1);
    ck_assert_int_eq(names[3].data[0], 'A');

    ck_assert_int_eq(spectra_sql_params(S("select 1::int"), names, 4, &n,
                                        &err), OK);
    ck_assert_uint_eq(n, 0);

    ck_assert_int_eq(spectra_sql_params(S("select :a, :b, :a, :c"), names, 2,
                                        &n, &err), SPECTRA_SQL_ERR_PARAMS);
    ck_assert_uint_eq(err.offset, 19);
    ck_assert_str_eq(err.message,
                     "too many named parameters (at most 2) at line 1, "
                     "column 20");

    ck_assert_int_eq(spectra_sql_params(S("select :a, 'x"), names, 4, &n,
                                        &err), SYN);
    ck_assert_uint_eq(err.offset, 11);
}
END_TEST


/* UNLOAD */

static const char  *unload_round_trips[] = {
    "",
    "select 1",
    "select 'it''s', E'a\\nb', 'C:\\\\dir\\\\'",
    "'",
    "\\",
    "\\'",
    "''\\\\''",
    "select $$x'y$$\n-- comment ' \\\n",
};


START_TEST(test_unload_round_trip)
{
    u_char               lit[256], out[256], *end;
    size_t               len, n, used, out_len;
    const char          *q;
    spectra_sql_error_t  err;

    q = unload_round_trips[_i];
    len = strlen(q);

    n = spectra_sql_unload_escape_len((const u_char *) q, len);
    ck_assert_uint_lt(n + 3, sizeof(lit));

    lit[0] = '\'';
    end = spectra_sql_unload_escape(lit + 1, (const u_char *) q, len);
    ck_assert_uint_eq((size_t) (end - lit - 1), n);
    *end++ = '\'';
    *end++ = ')';

    ck_assert_int_eq(spectra_sql_unload_unescape(lit, (size_t) (end - lit),
                                                 out, &out_len, &used, &err),
                     OK);
    ck_assert_uint_eq(used, n + 2);
    ck_assert_uint_eq(out_len, len);
    ck_assert_int_eq(memcmp(out, q, len), 0);
}
END_TEST


START_TEST(test_unload_escape)
{
    u_char  buf[64], *end;

    end = spectra_sql_unload_escape(buf, S("select 'a\\b'"));
    *end = '\0';
    ck_assert_str_eq((char *) buf, "select \\'a\\\\b\\'");
    ck_assert_uint_eq(spectra_sql_unload_escape_len(S("select 'a\\b'")), 15);
}
END_TEST


static const struct {
    const char  *lit;
    size_t       offset;
    const char  *message;
} unescape_errors[] = {
    { "", 0, "the UNLOAD query must be a quoted literal (line 1, column 1)" },
    { "select", 0,
      "the UNLOAD query must be a quoted literal (line 1, column 1)" },
    { "'abc", 0,
      "unterminated UNLOAD query literal starting at line 1, column 1" },
    { "'a''", 0,
      "unterminated UNLOAD query literal starting at line 1, column 1" },
    { "'a\\nb'", 2, "invalid escape in the UNLOAD query literal at line 1, "
      "column 3: only \\' and \\\\ are allowed" },
    { "'a\\", 2, "invalid escape in the UNLOAD query literal at line 1, "
      "column 3: only \\' and \\\\ are allowed" },
};


START_TEST(test_unload_unescape_errors)
{
    u_char               out[64];
    size_t               used, out_len;
    spectra_sql_error_t  err;

    ck_assert_int_eq(spectra_sql_unload_unescape(
                         S(unescape_errors[_i].lit), out, &out_len, &used,
                         &err), SPECTRA_SQL_ERR_INVALID);
    ck_assert_uint_eq(err.offset, unescape_errors[_i].offset);
    ck_assert_str_eq(err.message, unescape_errors[_i].message);
}
END_TEST


START_TEST(test_unload_unescape_doubled)
{
    u_char               out[64];
    size_t               used, out_len;
    spectra_sql_error_t  err;

    ck_assert_int_eq(spectra_sql_unload_unescape(S("'it''s' rest"), out,
                                                 &out_len, &used, &err), OK);
    ck_assert_uint_eq(used, 7);
    ck_assert_uint_eq(out_len, 4);
    ck_assert_int_eq(memcmp(out, "it's", 4), 0);
}
END_TEST


static void
unload_init(spectra_sql_unload_t *u, const char *query)
{
    memset(u, 0, sizeof(spectra_sql_unload_t));
    u->query.data = (const u_char *) query;
    u->query.len = strlen(query);
    u->target.data = (const u_char *) "s3://b/p/tenant=t1/job=j1/";
    u->target.len = strlen((const char *) u->target.data);
    u->iam_role.data = (const u_char *) "arn:aws:iam::1:role/r";
    u->iam_role.len = strlen((const char *) u->iam_role.data);
}


static void
unload_build(const spectra_sql_unload_t *u, char *out, size_t size)
{
    u_char  *end;
    size_t   n;

    n = spectra_sql_unload_len(u);
    ck_assert_uint_gt(n, 0);
    ck_assert_uint_lt(n, size);

    end = spectra_sql_unload((u_char *) out, u);
    ck_assert_uint_eq((size_t) (end - (u_char *) out), n);
    *end = '\0';
}


START_TEST(test_unload_build)
{
    char                  out[512];
    spectra_sql_unload_t  u;

    unload_init(&u, "select 'x', '\\'");
    u.format = SPECTRA_SQL_UNLOAD_CSV;
    u.header = 1;
    u.delimiter = ',';
    u.compression = SPECTRA_SQL_UNLOAD_GZIP;
    u.manifest = 1;
    u.parallel_off = 1;
    u.max_file_size_mb = 100;
    unload_build(&u, out, sizeof(out));
    ck_assert_str_eq(out, "UNLOAD ('select \\'x\\', \\'\\\\\\'') "
                     "TO 's3://b/p/tenant=t1/job=j1/' "
                     "IAM_ROLE 'arn:aws:iam::1:role/r' FORMAT CSV HEADER "
                     "DELIMITER AS ',' GZIP MANIFEST PARALLEL OFF "
                     "MAXFILESIZE 100 MB");

    unload_init(&u, "select 1");
    u.iam_role.data = (const u_char *) "default";
    u.iam_role.len = 7;
    u.format = SPECTRA_SQL_UNLOAD_PARQUET;
    u.manifest = 1;
    unload_build(&u, out, sizeof(out));
    ck_assert_str_eq(out, "UNLOAD ('select 1') TO "
                     "'s3://b/p/tenant=t1/job=j1/' IAM_ROLE default "
                     "FORMAT PARQUET MANIFEST");

    unload_init(&u, "select 1");
    u.format = SPECTRA_SQL_UNLOAD_JSON;
    u.compression = SPECTRA_SQL_UNLOAD_ZSTD;
    unload_build(&u, out, sizeof(out));
    ck_assert_str_eq(out, "UNLOAD ('select 1') TO "
                     "'s3://b/p/tenant=t1/job=j1/' "
                     "IAM_ROLE 'arn:aws:iam::1:role/r' FORMAT JSON ZSTD");

    unload_init(&u, "select 1");
    u.delimiter = '\t';
    unload_build(&u, out, sizeof(out));
    ck_assert_str_eq(out, "UNLOAD ('select 1') TO "
                     "'s3://b/p/tenant=t1/job=j1/' "
                     "IAM_ROLE 'arn:aws:iam::1:role/r' DELIMITER AS '\t'");

    unload_init(&u, "select 1");
    u.iam_role.data = (const u_char *) "defaulT";
    u.iam_role.len = 7;
    unload_build(&u, out, sizeof(out));
    ck_assert_str_eq(out, "UNLOAD ('select 1') TO "
                     "'s3://b/p/tenant=t1/job=j1/' IAM_ROLE 'defaulT'");
}
END_TEST


enum {
    BAD_QUERY, BAD_TARGET_QUOTE, BAD_TARGET_EMPTY, BAD_ROLE_BACKSLASH,
    BAD_ROLE_CTRL, BAD_FORMAT, BAD_COMPRESSION, BAD_DELIM_QUOTE,
    BAD_DELIM_DQUOTE,
    BAD_DELIM_CTRL, BAD_DELIM_HIGH, BAD_JSON_HEADER, BAD_PARQUET_DELIM,
    BAD_PARQUET_GZIP, BAD_SIZE_LOW, BAD_SIZE_HIGH, BAD_LAST
};

static const char  *unload_invalid_messages[] = {
    "the UNLOAD query is empty",
    "the UNLOAD target must be non-empty, without quotes, backslashes or "
    "control characters",
    "the UNLOAD target must be non-empty, without quotes, backslashes or "
    "control characters",
    "the UNLOAD IAM role must be non-empty, without quotes, backslashes or "
    "control characters",
    "the UNLOAD IAM role must be non-empty, without quotes, backslashes or "
    "control characters",
    "unknown UNLOAD format or compression",
    "unknown UNLOAD format or compression",
    "the UNLOAD delimiter must be one printable ASCII character other than "
    "' \\ \" (or a tab)",
    "the UNLOAD delimiter must be one printable ASCII character other than "
    "' \\ \" (or a tab)",
    "the UNLOAD delimiter must be one printable ASCII character other than "
    "' \\ \" (or a tab)",
    "the UNLOAD delimiter must be one printable ASCII character other than "
    "' \\ \" (or a tab)",
    "HEADER and DELIMITER apply only to CSV and text UNLOAD",
    "HEADER and DELIMITER apply only to CSV and text UNLOAD",
    "PARQUET UNLOAD takes no GZIP or ZSTD",
    "MAXFILESIZE must be between 5 MB and 6348 MB",
    "MAXFILESIZE must be between 5 MB and 6348 MB",
};


START_TEST(test_unload_invalid)
{
    spectra_sql_error_t   err;
    spectra_sql_unload_t  u;

    unload_init(&u, "select 1");

    switch (_i) {
    case BAD_QUERY:
        u.query.len = 0;
        break;
    case BAD_TARGET_QUOTE:
        u.target.data = (const u_char *) "s3://b/x'; drop";
        u.target.len = 15;
        break;
    case BAD_TARGET_EMPTY:
        u.target.len = 0;
        break;
    case BAD_ROLE_BACKSLASH:
        u.iam_role.data = (const u_char *) "arn\\";
        u.iam_role.len = 4;
        break;
    case BAD_ROLE_CTRL:
        u.iam_role.data = (const u_char *) "arn\x7f";
        u.iam_role.len = 4;
        break;
    case BAD_FORMAT:
        u.format = (spectra_sql_unload_format_e) 9;
        break;
    case BAD_COMPRESSION:
        u.compression = (spectra_sql_unload_compression_e) 3;
        break;
    case BAD_DELIM_QUOTE:
        u.delimiter = '\'';
        break;
    case BAD_DELIM_DQUOTE:
        u.delimiter = '"';
        break;
    case BAD_DELIM_CTRL:
        u.delimiter = '\n';
        break;
    case BAD_DELIM_HIGH:
        u.delimiter = 0x80;
        break;
    case BAD_JSON_HEADER:
        u.format = SPECTRA_SQL_UNLOAD_JSON;
        u.header = 1;
        break;
    case BAD_PARQUET_DELIM:
        u.format = SPECTRA_SQL_UNLOAD_PARQUET;
        u.delimiter = ',';
        break;
    case BAD_PARQUET_GZIP:
        u.format = SPECTRA_SQL_UNLOAD_PARQUET;
        u.compression = SPECTRA_SQL_UNLOAD_GZIP;
        break;
    case BAD_SIZE_LOW:
        u.max_file_size_mb = 4;
        break;
    case BAD_SIZE_HIGH:
        u.max_file_size_mb = 6349;
        break;
    }

    ck_assert_int_eq(spectra_sql_unload_validate(&u, &err),
                     SPECTRA_SQL_ERR_INVALID);
    ck_assert_str_eq(err.message, unload_invalid_messages[_i]);
    ck_assert_uint_eq(spectra_sql_unload_len(&u), 0);
}
END_TEST


START_TEST(test_unload_parse_round_trip)
{
    char                  out[512];
    u_char                qbuf[512];
    spectra_sql_error_t   err;
    spectra_sql_unload_t  u, v;

    unload_init(&u, "select 'a''b', '\\', $$'$$ -- x'\n");
    u.format = SPECTRA_SQL_UNLOAD_CSV;
    u.header = 1;
    u.delimiter = '|';
    u.compression = SPECTRA_SQL_UNLOAD_ZSTD;
    u.manifest = 1;
    u.parallel_off = 1;
    u.max_file_size_mb = 6348;
    unload_build(&u, out, sizeof(out));

    ck_assert_int_eq(spectra_sql_unload_parse(S(out), qbuf, &v, &err), OK);
    ck_assert_uint_eq(v.query.len, u.query.len);
    ck_assert_int_eq(memcmp(v.query.data, u.query.data, u.query.len), 0);
    ck_assert_ptr_eq(v.query.data, qbuf);
    ck_assert_uint_eq(v.target.len, u.target.len);
    ck_assert_int_eq(memcmp(v.target.data, u.target.data, u.target.len), 0);
    ck_assert_uint_eq(v.iam_role.len, u.iam_role.len);
    ck_assert_int_eq(memcmp(v.iam_role.data, u.iam_role.data,
                            u.iam_role.len), 0);
    ck_assert_int_eq(v.format, SPECTRA_SQL_UNLOAD_CSV);
    ck_assert_int_eq(v.compression, SPECTRA_SQL_UNLOAD_ZSTD);
    ck_assert_int_eq(v.delimiter, '|');
    ck_assert_uint_eq(v.header, 1);
    ck_assert_uint_eq(v.manifest, 1);
    ck_assert_uint_eq(v.parallel_off, 1);
    ck_assert_uint_eq(v.max_file_size_mb, 6348);
}
END_TEST


START_TEST(test_unload_parse_variants)
{
    u_char                qbuf[256];
    spectra_sql_error_t   err;
    spectra_sql_unload_t  v;

    ck_assert_int_eq(spectra_sql_unload_parse(
        S("unload ( /* q */ 'select \\'a\\'' ) to 's3://b/' iam_role "
          "DEFAULT format as json gzip maxfilesize as 1 gb parallel false "
          ";  -- end\n"), qbuf, &v, &err), OK);
    ck_assert_uint_eq(v.query.len, 10);
    ck_assert_int_eq(memcmp(v.query.data, "select 'a'", 10), 0);
    ck_assert_uint_eq(v.target.len, 7);
    ck_assert_uint_eq(v.iam_role.len, 7);
    ck_assert_int_eq(memcmp(v.iam_role.data, "default", 7), 0);
    ck_assert_int_eq(v.format, SPECTRA_SQL_UNLOAD_JSON);
    ck_assert_int_eq(v.compression, SPECTRA_SQL_UNLOAD_GZIP);
    ck_assert_uint_eq(v.max_file_size_mb, 1024);
    ck_assert_uint_eq(v.parallel_off, 1);
    ck_assert_uint_eq(v.manifest, 0);
    ck_assert_uint_eq(v.header, 0);

    ck_assert_int_eq(spectra_sql_unload_parse(
        S("UNLOAD ('select 1') TO 's3://b/' IAM_ROLE 'r' PARQUET "
          "PARALLEL ON MAXFILESIZE 5 MB DELIMITER ','"), qbuf, &v, &err),
        SPECTRA_SQL_ERR_INVALID);
    ck_assert_str_eq(err.message,
                     "HEADER and DELIMITER apply only to CSV and text UNLOAD");

    ck_assert_int_eq(spectra_sql_unload_parse(
        S("UNLOAD ('select 1') TO 's3://b/' IAM_ROLE 'r' CSV "
          "PARALLEL TRUE MAXFILESIZE 5"), qbuf, &v, &err), OK);
    ck_assert_int_eq(v.format, SPECTRA_SQL_UNLOAD_CSV);
    ck_assert_uint_eq(v.parallel_off, 0);
    ck_assert_uint_eq(v.max_file_size_mb, 5);
    ck_assert_uint_eq(v.query.len, 8);

    ck_assert_int_eq(spectra_sql_unload_parse(
        S("UNLOAD ('select 1') TO 's3://b/' IAM_ROLE 'r' DELIMITER AS ';' "
          "HEADER FORMAT PARQUET"), qbuf, &v, &err), SPECTRA_SQL_ERR_INVALID);
}
END_TEST


static const struct {
    const char  *sql;
    int          rc;
    size_t       offset;
    const char  *message;
} unload_parse_errors[] = {
    { "select 1", SPECTRA_SQL_ERR_INVALID, 0,
      "expected UNLOAD at line 1, column 1" },
    { "unload 'x'", SPECTRA_SQL_ERR_INVALID, 7,
      "expected ( after UNLOAD at line 1, column 8" },
    { "unload ('a\\nb') to 's3://b/' iam_role default",
      SPECTRA_SQL_ERR_INVALID, 10,
      "malformed UNLOAD query literal at line 1, column 11" },
    { "unload (select 1) to 's3://b/' iam_role default",
      SPECTRA_SQL_ERR_INVALID, 8,
      "malformed UNLOAD query literal at line 1, column 9" },
    { "unload ('x' to 's3://b/'", SPECTRA_SQL_ERR_INVALID, 12,
      "expected ) after the UNLOAD query at line 1, column 13" },
    { "unload ('x') into 's3://b/'", SPECTRA_SQL_ERR_INVALID, 13,
      "expected TO at line 1, column 14" },
    { "unload ('x') to s3", SPECTRA_SQL_ERR_INVALID, 16,
      "expected the UNLOAD target in quotes at line 1, column 17" },
    { "unload ('x') to E's3://b/'", SPECTRA_SQL_ERR_INVALID, 16,
      "expected the UNLOAD target in quotes at line 1, column 17" },
    { "unload ('x') to 's3://b/' credentials 'x'", SPECTRA_SQL_ERR_INVALID,
      26, "expected IAM_ROLE at line 1, column 27" },
    { "unload ('x') to 's3://b/' iam_role arn", SPECTRA_SQL_ERR_INVALID, 35,
      "expected the IAM role in quotes or default at line 1, column 36" },
    { "unload ('x') to 's3://b/' iam_role default allowoverwrite",
      SPECTRA_SQL_ERR_INVALID, 43,
      "unsupported UNLOAD option at line 1, column 44" },
    { "unload ('x') to 's3://b/' iam_role default gzip zstd",
      SPECTRA_SQL_ERR_INVALID, 48,
      "repeated UNLOAD option at line 1, column 49" },
    { "unload ('x') to 's3://b/' iam_role default format xml",
      SPECTRA_SQL_ERR_INVALID, 50,
      "unsupported UNLOAD format at line 1, column 51" },
    { "unload ('x') to 's3://b/' iam_role default delimiter ',,'",
      SPECTRA_SQL_ERR_INVALID, 53,
      "DELIMITER needs one character in quotes at line 1, column 54" },
    { "unload ('x') to 's3://b/' iam_role default delimiter 5",
      SPECTRA_SQL_ERR_INVALID, 53,
      "DELIMITER needs one character in quotes at line 1, column 54" },
    { "unload ('x') to 's3://b/' iam_role default delimiter e','",
      SPECTRA_SQL_ERR_INVALID, 53,
      "DELIMITER needs one character in quotes at line 1, column 54" },
    { "unload ('x') to 's3://b/' iam_role default maxfilesize x",
      SPECTRA_SQL_ERR_INVALID, 55,
      "MAXFILESIZE needs a whole number of MB or GB at line 1, column 56" },
    { "unload ('x') to 's3://b/' iam_role default parallel maybe",
      SPECTRA_SQL_ERR_INVALID, 52,
      "PARALLEL needs ON or OFF at line 1, column 53" },
    { "unload ('x') to 's3://b/' iam_role default maxfilesize 6.2 gb",
      SPECTRA_SQL_ERR_INVALID, 55,
      "MAXFILESIZE needs a whole number of MB or GB at line 1, column 56" },
    { "unload ('x') to 's3://b/' iam_role default maxfilesize",
      SPECTRA_SQL_ERR_INVALID, 54,
      "MAXFILESIZE needs a whole number of MB or GB at line 1, column 55" },
    { "unload ('x') to 's3://b/' iam_role default maxfilesize "
      "99999999999999999999999", SPECTRA_SQL_ERR_INVALID, 55,
      "MAXFILESIZE needs a whole number of MB or GB at line 1, column 56" },
    { "unload ('x') to 's3://b/' iam_role default; select 1",
      SPECTRA_SQL_ERR_INVALID, 44,
      "unexpected text after the UNLOAD statement at line 1, column 45" },
    { "unload ('x') to 's3://b/x''y' iam_role default",
      SPECTRA_SQL_ERR_INVALID, 0,
      "the UNLOAD target must be non-empty, without quotes, backslashes or "
      "control characters" },
    { "unload ('x') to 's3://b/' iam_role default 'open",
      SPECTRA_SQL_ERR_SYNTAX, 43,
      "unterminated string literal starting at line 1, column 44" },
    { "unload ('x') to 's3://b/' iam_role default; 'open",
      SPECTRA_SQL_ERR_SYNTAX, 44,
      "unterminated string literal starting at line 1, column 45" },
    { "unload ('x') to 's3://b/' iam_role default format 'open",
      SPECTRA_SQL_ERR_SYNTAX, 50,
      "unterminated string literal starting at line 1, column 51" },
    { "'open", SPECTRA_SQL_ERR_SYNTAX, 0,
      "unterminated string literal starting at line 1, column 1" },
    { "unload 'open", SPECTRA_SQL_ERR_SYNTAX, 7,
      "unterminated string literal starting at line 1, column 8" },
    { "unload ('x') 'open", SPECTRA_SQL_ERR_SYNTAX, 13,
      "unterminated string literal starting at line 1, column 14" },
    { "unload ('x' 'open", SPECTRA_SQL_ERR_SYNTAX, 12,
      "unterminated string literal starting at line 1, column 13" },
    { "unload ('x') to 'open", SPECTRA_SQL_ERR_SYNTAX, 16,
      "unterminated string literal starting at line 1, column 17" },
    { "unload ('x') to 's3://b/' 'open", SPECTRA_SQL_ERR_SYNTAX, 26,
      "unterminated string literal starting at line 1, column 27" },
    { "unload ('x') to 's3://b/' iam_role 'open", SPECTRA_SQL_ERR_SYNTAX, 35,
      "unterminated string literal starting at line 1, column 36" },
};


START_TEST(test_unload_parse_errors)
{
    u_char                qbuf[256];
    spectra_sql_error_t   err;
    spectra_sql_unload_t  v;

    ck_assert_int_eq(spectra_sql_unload_parse(S(unload_parse_errors[_i].sql),
                                              qbuf, &v, &err),
                     unload_parse_errors[_i].rc);
    ck_assert_uint_eq(err.offset, unload_parse_errors[_i].offset);
    ck_assert_str_eq(err.message, unload_parse_errors[_i].message);
}
END_TEST


#define NCASES(a)  ((int) (sizeof(a) / sizeof(a[0])))


static Suite *
sql_suite(void)
{
    Suite  *s;
    TCase  *tc;

    s = suite_create("sql");

    tc = tcase_create("lexer");
    tcase_add_loop_test(tc, test_lexer_tokens, 0, NCASES(lex_cases));
    tcase_add_loop_test(tc, test_lexer_errors, 0, NCASES(lex_errors));
    suite_add_tcase(s, tc);

    tc = tcase_create("policy");
    tcase_add_loop_test(tc, test_policy_defaults, 0, NCASES(policy_cases));
    tcase_add_test(tc, test_policy_position_fields);
    tcase_add_test(tc, test_policy_info);
    tcase_add_test(tc, test_policy_max_len);
    tcase_add_loop_test(tc, test_policy_explain, 0, NCASES(explain_cases));
    tcase_add_test(tc, test_policy_custom_lists);
    tcase_add_loop_test(tc, test_list_errors, 0, NCASES(list_errors));
    tcase_add_test(tc, test_list_entries);
    suite_add_tcase(s, tc);

    tc = tcase_create("wrap");
    tcase_add_loop_test(tc, test_wrap, 0, NCASES(wrap_cases));
    tcase_add_test(tc, test_wrap_edges);
    suite_add_tcase(s, tc);

    tc = tcase_create("params");
    tcase_add_test(tc, test_params);
    suite_add_tcase(s, tc);

    tc = tcase_create("unload");
    tcase_add_loop_test(tc, test_unload_round_trip, 0,
                        NCASES(unload_round_trips));
    tcase_add_test(tc, test_unload_escape);
    tcase_add_loop_test(tc, test_unload_unescape_errors, 0,
                        NCASES(unescape_errors));
    tcase_add_test(tc, test_unload_unescape_doubled);
    tcase_add_test(tc, test_unload_build);
    tcase_add_loop_test(tc, test_unload_invalid, 0, BAD_LAST);
    tcase_add_test(tc, test_unload_parse_round_trip);
    tcase_add_test(tc, test_unload_parse_variants);
    tcase_add_loop_test(tc, test_unload_parse_errors, 0,
                        NCASES(unload_parse_errors));
    suite_add_tcase(s, tc);

    return s;
}


int
main(void)
{
    int       failed;
    SRunner  *sr;

    sr = srunner_create(sql_suite());
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);

    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
