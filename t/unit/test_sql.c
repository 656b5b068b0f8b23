/*
 * Unit tests of the SQL policy (src/spectra_sql*.c): decisions on
 * PostgreSQL's parse tree for ordinary SQL that must pass and hostile SQL
 * that must be refused at an exact position, every built-in deny group,
 * operator lists and allow-list mode, named parameters, the LIMIT wrap,
 * binding for libpq, nesting
 * limits, and UNLOAD escaping, building and reading back.
 */

#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spectra_sql.h"


#define S(s)     (const u_char *) (s), strlen(s)

#define OK       SPECTRA_SQL_OK
#define EMPTY    SPECTRA_SQL_ERR_EMPTY
#define LONG     SPECTRA_SQL_ERR_TOO_LONG
#define NUL      SPECTRA_SQL_ERR_NUL
#define SYN      SPECTRA_SQL_ERR_SYNTAX
#define MULTI    SPECTRA_SQL_ERR_MULTIPLE
#define RO       SPECTRA_SQL_ERR_NOT_READ_ONLY
#define DENY     SPECTRA_SQL_ERR_DENIED
#define PARAMS   SPECTRA_SQL_ERR_PARAMS
#define INVALID  SPECTRA_SQL_ERR_INVALID
#define NONE     SPECTRA_POS_NONE

#define NCASES(a)  ((int) (sizeof(a) / sizeof(a[0])))


/*
 * One decision: for OK, a and b are the statement's span (start, length);
 * otherwise a is the error position and message the whole message.
 */
typedef struct {
    const char  *sql;
    int          rc;
    size_t       a;
    size_t       b;
    const char  *message;
} sql_case_t;


static int check(const spectra_sql_policy_t *policy, const char *sql,
    spectra_sql_info_t *info, spectra_err_t *err);
static void expect_case(const sql_case_t *c);
static void expect_refused(const spectra_sql_policy_t *policy,
    const char *sql, int rc, size_t position, const char *message);
static void expect_passes(const spectra_sql_policy_t *policy,
    const char *sql);
static void *depth_thread(void *arg);
static void unload_init(spectra_sql_unload_t *u, const char *query);
static void unload_build(const spectra_sql_unload_t *u, char *out,
    size_t size);
static Suite *sql_suite(void);


static int
check(const spectra_sql_policy_t *policy, const char *sql,
    spectra_sql_info_t *info, spectra_err_t *err)
{
    spectra_sql_policy_t  def;

    if (policy == NULL) {
        spectra_sql_policy_default(&def);
        policy = &def;
    }

    memset(err, 0, sizeof(spectra_err_t));

    return spectra_sql_check(policy, (const u_char *) sql, strlen(sql), info,
                             err);
}


static void
expect_refused(const spectra_sql_policy_t *policy, const char *sql, int rc,
    size_t position, const char *message)
{
    spectra_err_t       err;
    spectra_sql_info_t  info;

    ck_assert_msg(check(policy, sql, &info, &err) == rc,
                  "%s: rc %d, expected %d (%s)", sql,
                  check(policy, sql, &info, &err), rc, err.message);
    ck_assert_str_eq(err.message, message);
    ck_assert_uint_eq(err.position, position);
    ck_assert_int_eq(err.code, rc);
    ck_assert_uint_eq(info.nparams, 0);
}


static void
expect_passes(const spectra_sql_policy_t *policy, const char *sql)
{
    spectra_err_t       err;
    spectra_sql_info_t  info;

    ck_assert_msg(check(policy, sql, &info, &err) == OK, "%s: %s", sql,
                  err.message);
}


static void
expect_case(const sql_case_t *c)
{
    u_char              *w;
    size_t               n, len;
    spectra_err_t        err;
    spectra_sql_info_t   info;

    if (c->rc != OK) {
        expect_refused(NULL, c->sql, c->rc, c->a, c->message);
        return;
    }

    ck_assert_msg(check(NULL, c->sql, &info, &err) == OK, "%s: %s", c->sql,
                  err.message);
    ck_assert_uint_eq(info.stmt_start, c->a);
    ck_assert_uint_eq(info.stmt_len, c->b);

    /* the LIMIT wrap of what passed is a statement that passes too */
    n = spectra_sql_wrap_limit_len(&info, 10);
    w = malloc(n + 1);
    ck_assert_ptr_nonnull(w);
    len = (size_t) (spectra_sql_wrap_limit(w, (const u_char *) c->sql, &info,
                                           10) - w);
    ck_assert_uint_eq(len, n);
    w[len] = '\0';
    ck_assert_msg(check(NULL, (const char *) w, NULL, &err) == OK,
                  "wrapped %s: %s", w, err.message);
    free(w);
}


/* Decisions with the default policy (tables checked against the parser) */

static const sql_case_t  ordinary_cases[] = {
    /* a plain select */
    { "select 1",
      OK, 0, 8, NULL },
    /* keywords in any case */
    { "SeLeCt CoUnT(*) AS n FrOm sales WHERE region = 'emea'",
      OK, 0, 53, NULL },
    /* a column named last_update */
    { "select max(sale_date) as last_update from sales where last_update "
      "> now() - interval '1 day'",
      OK, 0, 92, NULL },
    /* columns named like statements */
    { "select updated_at, deleted, inserted_by, update_count from "
      "t",
      OK, 0, 60, NULL },
    /* keywords as column names */
    { "select 1 as deleted, 2 as \"update\", 3 as created_at, 4 "
      "as insert_id, 5 as \"drop\"",
      OK, 0, 80, NULL },
    /* unreserved keywords as columns */
    { "select update, delete, insert, merge from t order by update "
      "desc",
      OK, 0, 64, NULL },
    /* keywords after a dot */
    { "select t.update, t.delete, t.insert, t.into from t",
      OK, 0, 50, NULL },
    /* 'x' AND b = 1 in a string */
    { "select * from t where a = 'x'' AND b = 1' and b = 1",
      OK, 0, 51, NULL },
    /* a stacked statement in a string */
    { "select 'a''; delete from sales; --' as s",
      OK, 0, 40, NULL },
    /* statements in a dollar quote */
    { "select $$a;b$$, $t$ ; delete from x; $t$",
      OK, 0, 40, NULL },
    /* an E string with an escaped quote */
    { "select E'it\\'s; fine'",
      OK, 0, 21, NULL },
    /* an E string: backslash, doubled quote */
    { "select E'\\\\''; delete from t; --'",
      OK, 0, 33, NULL },
    /* a line comment hiding a statement */
    { "select 1 as a -- ; delete from sales\n",
      OK, 0, 13, NULL },
    /* nested block comments */
    { "select /* outer /* inner; drop table sales */ still a comment; "
      "*/ 3 as c",
      OK, 0, 72, NULL },
    /* comment markers in strings */
    { "select '--not a comment' as a, '/*' as b, '*/' as c",
      OK, 0, 51, NULL },
    /* a quoted identifier with a semicolon */
    { "select 1 as \"a;b\"",
      OK, 0, 17, NULL },
    /* a trailing semicolon and comments */
    { "select 1;\n-- done; drop table t\n/* ; bye */",
      OK, 0, 8, NULL },
    /* leading and trailing comments */
    { "-- leading; comment\nselect 1 -- trailing",
      OK, 20, 8, NULL },
    /* a CTE */
    { "with t as (select region, sum(amount) as s from sales group "
      "by region) select region from t order by region",
      OK, 0, 107, NULL },
    /* a recursive CTE */
    { "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 "
      "FROM r WHERE n < 10) SELECT * FROM r",
      OK, 0, 92, NULL },
    /* a materialized CTE */
    { "with u as materialized (select 1) select * from u",
      OK, 0, 49, NULL },
    /* CYCLE in a recursive CTE */
    { "with recursive r(n) as (select 1 union all select n + 1 "
      "from r) cycle n set c using p select * from r limit 3",
      OK, 0, 109, NULL },
    /* window functions */
    { "select id, row_number() over (order by id) as rn, sum(quantity) "
      "over (partition by region order by id rows between unbounded "
      "preceding and current row) as running from sales",
      OK, 0, 173, NULL },
    /* a named window */
    { "select rank() over w from t window w as (order by x)",
      OK, 0, 52, NULL },
    /* UNION, INTERSECT, EXCEPT */
    { "select a from t union select b from u intersect select c "
      "from v except select d from w",
      OK, 0, 86, NULL },
    /* parenthesized set operations */
    { "(select 1 as a union all select 1) intersect select 1 except "
      "select 2",
      OK, 0, 69, NULL },
    /* VALUES */
    { "values (1, 'a'), (2, 'b')",
      OK, 0, 25, NULL },
    /* VALUES with ORDER BY and LIMIT */
    { "values (1), (2) order by 1 limit 1",
      OK, 0, 34, NULL },
    /* TABLE */
    { "table sales",
      OK, 0, 11, NULL },
    /* CASE, COALESCE, date_trunc, casts */
    { "select date_trunc('month', sale_date)::date as m, coalesce(sum(case "
      "when returned then 1 else 0 end), 0) as r from sales group "
      "by 1 order by 1",
      OK, 0, 142, NULL },
    /* casts of every form */
    { "select '2024-01-01'::date, x::numeric(10,2), cast(y as int), "
      "int '1', y::pg_lsn, z::timestamp with time zone from t",
      OK, 0, 115, NULL },
    /* arrays and slices */
    { "select array[1,2,3], a[1:2], a[1 : hi], a[:2], '{1,2}'::int[] "
      "from t",
      OK, 0, 68, NULL },
    /* json operators */
    { "select payload->>'k', payload #>> '{a,b}', j @> '{}', j "
      "? 'k' from events",
      OK, 0, 73, NULL },
    /* json functions */
    { "select json_build_object('a', 1)::text as j, jsonb_path_query(j, "
      "'$.a') from t",
      OK, 0, 78, NULL },
    /* FILTER and GROUPING SETS */
    { "select region, count(*) filter (where returned) as r from "
      "sales group by grouping sets ((region), ()) order by region",
      OK, 0, 117, NULL },
    /* ROLLUP and CUBE */
    { "select a, b, sum(c) from t group by rollup (a, b), cube "
      "(c)",
      OK, 0, 59, NULL },
    /* ordered-set aggregates */
    { "select percentile_cont(0.5) within group (order by amount), "
      "mode() within group (order by region) from sales",
      OK, 0, 108, NULL },
    /* LISTAGG WITHIN GROUP parses as in PostgreSQL */
    { "select listagg(region, ',') within group (order by region) "
      "from sales",
      OK, 0, 69, NULL },
    /* string_agg with ORDER BY, DISTINCT aggregates */
    { "select string_agg(x, ',' order by y), count(distinct user_id), "
      "array_agg(x), bool_and(b) from t",
      OK, 0, 95, NULL },
    /* a LATERAL join */
    { "select r.region, x.n from regions r, lateral (select count(*) "
      "as n from sales s where s.region = r.region) x order by "
      "1",
      OK, 0, 119, NULL },
    /* generate_series and unnest */
    { "select * from generate_series(1, 10) as g(n), unnest(array[1, "
      "2]) with ordinality as u(v, i)",
      OK, 0, 92, NULL },
    /* ROWS FROM */
    { "select * from rows from (generate_series(1, 2), generate_series(1, "
      "3)) as x(a, b)",
      OK, 0, 81, NULL },
    /* date functions */
    { "select now(), current_date, current_timestamp, extract(year "
      "from sale_date), date_part('dow', sale_date), age(now(), "
      "sale_date), to_char(sale_date, 'YYYY-MM'), now() at time "
      "zone 'utc', make_date(2024, 1, 1) from sales",
      OK, 0, 218, NULL },
    /* string functions */
    { "select lower(name), upper(name), substring(s from 1 for "
      "3), position('a' in s), trim(both 'x' from s), regexp_replace(s, "
      "'a', 'b'), split_part(s, ',', 1), concat_ws(',', a, b), "
      "format('%s', x), left(s, 2), length(s), replace(s, 'a', "
      "'b'), overlay(s placing 'a' from 1 for 1) from t",
      OK, 0, 281, NULL },
    /* pg_catalog-qualified ordinary functions */
    { "select pg_catalog.lower('A'), pg_catalog.count(*), pg_catalog.now() "
      "from t",
      OK, 0, 74, NULL },
    /* harmless pg_ functions */
    { "select pg_size_pretty(10::bigint), pg_typeof(1), pg_size_bytes('1 "
      "kB')",
      OK, 0, 70, NULL },
    /* tables named pg_ in a user schema */
    { "select x from my_schema.pg_like_table",
      OK, 0, 37, NULL },
    /* an alias named pg_catalog */
    { "select * from t as \"pg_catalog\"",
      OK, 0, 31, NULL },
    /* names that look like denied ones */
    { "select 1 as sleep, 2 as \"current_setting\", 3 as pg_sleep, "
      "x as pg_total, y::pg_snapshot from t",
      OK, 0, 94, NULL },
    /* a column named like a denied function */
    { "select t.pg_sleep, t.\"pg_catalog\" from t",
      OK, 0, 40, NULL },
    /* denied names in strings */
    { "select 'pg_sleep(10)', 'pg_catalog.pg_authid', 'COPY sales "
      "TO STDOUT', 'set role postgres'",
      OK, 0, 90, NULL },
    /* a backslash pair before a quote */
    { "select 'C:\\\\' as path",
      OK, 0, 21, NULL },
    /* U& strings and identifiers */
    { "select U&'d\\0061t', U&\"d!0061t!+000061\" UESCAPE '!' from "
      "t",
      OK, 0, 58, NULL },
    /* bit, hex and national strings */
    { "select b'101', x'1f', n'abc'",
      OK, 0, 28, NULL },
    /* string continuation */
    { "select 'se'\n't_config'",
      OK, 0, 22, NULL },
    /* EXISTS, IN, ANY */
    { "select a from t where b in (select c from u) and exists "
      "(select 1 from v) and x = any(array[1, 2])",
      OK, 0, 98, NULL },
    /* ORDER BY, LIMIT, OFFSET, FETCH */
    { "select * from t order by a nulls last, b desc limit 10 offset "
      "5",
      OK, 0, 63, NULL },
    /* FETCH FIRST */
    { "select * from t fetch first 5 rows only",
      OK, 0, 39, NULL },
    /* joins of every kind */
    { "select * from t1 join t2 using (id) left join t3 on t3.id "
      "= t1.id full outer join t4 on true cross join t5 natural "
      "join t6",
      OK, 0, 122, NULL },
    /* DISTINCT ON */
    { "select distinct on (a) a, b from t order by a, b",
      OK, 0, 48, NULL },
    /* HAVING */
    { "select a from t group by a having count(*) > 1",
      OK, 0, 46, NULL },
    /* IS DISTINCT FROM, NULLIF, GREATEST */
    { "select x is distinct from y, nullif(a, b), greatest(a, b), "
      "least(a, b) from t",
      OK, 0, 77, NULL },
    /* TABLESAMPLE */
    { "select * from t tablesample system (10)",
      OK, 0, 39, NULL },
    /* session values */
    { "select current_user, session_user, current_schema, current_database("
      ")",
      OK, 0, 69, NULL },
    /* SUPER navigation parses as subscripts and fields */
    { "select c.a[0].b from t c",
      OK, 0, 24, NULL },
    /* quoted keywords as names */
    { "select \"select\", \"delete\", \"into\" from t",
      OK, 0, 40, NULL },
    /* a named argument */
    { "select f(a := 1), g(b => 2) from t",
      OK, 0, 34, NULL },
    /* non-ASCII names and strings */
    { "select 1 as \"\xe6\x97\xa5\xe6\x9c\xac\", \xc3\xa9 from "
      "t where \xc3\xbc = '\xc3\xb6'",
      OK, 0, 47, NULL },
    /* deep but sane nesting */
    { "select ((((((((((((((((((((((((((((((((((((((((1))))))))))))))))))))"
      "))))))))))))))))))))",
      OK, 0, 88, NULL },
    /* a named parameter */
    { "select region from sales where day >= :since group by 1",
      OK, 0, 55, NULL },
    /* a statement ending in a U& identifier */
    { "select 1 as U&\"a\"",
      OK, 0, 17, NULL },
};

static const sql_case_t  statements_cases[] = {
    /* INSERT */
    { "insert into t values (1)",
      RO, 0, 0,
      "only read-only statements are allowed: INSERT at line 1, "
      "column 1" },
    /* UPDATE */
    { "UPDATE t SET a = 1",
      RO, 0, 0,
      "only read-only statements are allowed: UPDATE at line 1, "
      "column 1" },
    /* DELETE after spaces */
    { "  delete from t",
      RO, 2, 0,
      "only read-only statements are allowed: DELETE at line 1, "
      "column 3" },
    /* MERGE */
    { "merge into t using s on true when matched then delete",
      RO, 0, 0,
      "only read-only statements are allowed: MERGE at line 1, "
      "column 1" },
    /* a WITH ... DELETE */
    { "with x as (select 1) delete from t",
      RO, 21, 0,
      "only read-only statements are allowed: DELETE at line 1, "
      "column 22" },
    /* DROP */
    { "drop table t",
      RO, 0, 0,
      "only read-only statements are allowed: DROP at line 1, column "
      "1" },
    /* CREATE TABLE */
    { "create table x (a int)",
      RO, 0, 0,
      "only read-only statements are allowed: CREATE at line 1, "
      "column 1" },
    /* CREATE TABLE AS */
    { "create table x as select 1",
      RO, 0, 0,
      "only read-only statements are allowed: CREATE at line 1, "
      "column 1" },
    /* CREATE VIEW */
    { "create view v as select 1",
      RO, 0, 0,
      "only read-only statements are allowed: CREATE at line 1, "
      "column 1" },
    /* CREATE FUNCTION */
    { "create function f() returns int as $$ select 1 $$ language "
      "sql",
      RO, 0, 0,
      "only read-only statements are allowed: CREATE at line 1, "
      "column 1" },
    /* ALTER */
    { "alter table t add column b int",
      RO, 0, 0,
      "only read-only statements are allowed: ALTER at line 1, "
      "column 1" },
    /* ALTER SYSTEM */
    { "alter system set work_mem = '1GB'",
      RO, 0, 0,
      "only read-only statements are allowed: ALTER at line 1, "
      "column 1" },
    /* TRUNCATE */
    { "truncate t",
      RO, 0, 0,
      "only read-only statements are allowed: TRUNCATE at line "
      "1, column 1" },
    /* COPY TO */
    { "copy t to '/tmp/x'",
      RO, 0, 0,
      "only read-only statements are allowed: COPY at line 1, column "
      "1" },
    /* COPY FROM PROGRAM */
    { "copy t from program 'id'",
      RO, 0, 0,
      "only read-only statements are allowed: COPY at line 1, column "
      "1" },
    /* UNLOAD, Redshift's own */
    { "unload ('select 1') to 's3://b/'",
      RO, 0, 0,
      "only read-only statements are allowed: UNLOAD at line 1, "
      "column 1" },
    /* SET ROLE */
    { "set role admin",
      RO, 0, 0,
      "only read-only statements are allowed: SET at line 1, column "
      "1" },
    /* SET SESSION AUTHORIZATION */
    { "set session authorization postgres",
      RO, 0, 0,
      "only read-only statements are allowed: SET at line 1, column "
      "1" },
    /* RESET */
    { "reset role",
      RO, 0, 0,
      "only read-only statements are allowed: RESET at line 1, "
      "column 1" },
    /* SHOW */
    { "show all",
      RO, 0, 0,
      "only read-only statements are allowed: SHOW at line 1, column "
      "1" },
    /* CALL */
    { "call p()",
      RO, 0, 0,
      "only read-only statements are allowed: CALL at line 1, column "
      "1" },
    /* DO */
    { "do $$ begin end $$",
      RO, 0, 0,
      "only read-only statements are allowed: DO at line 1, column "
      "1" },
    /* BEGIN */
    { "begin",
      RO, 0, 0,
      "only read-only statements are allowed: BEGIN at line 1, "
      "column 1" },
    /* COMMIT */
    { "commit",
      RO, 0, 0,
      "only read-only statements are allowed: COMMIT at line 1, "
      "column 1" },
    /* START TRANSACTION */
    { "start transaction read write",
      RO, 0, 0,
      "only read-only statements are allowed: START at line 1, "
      "column 1" },
    /* SAVEPOINT */
    { "savepoint a",
      RO, 0, 0,
      "only read-only statements are allowed: SAVEPOINT at line "
      "1, column 1" },
    /* GRANT */
    { "grant select on t to u",
      RO, 0, 0,
      "only read-only statements are allowed: GRANT at line 1, "
      "column 1" },
    /* REVOKE */
    { "revoke select on t from u",
      RO, 0, 0,
      "only read-only statements are allowed: REVOKE at line 1, "
      "column 1" },
    /* EXPLAIN */
    { "explain select 1",
      RO, 0, 0,
      "only read-only statements are allowed: EXPLAIN at line 1, "
      "column 1" },
    /* EXPLAIN ANALYZE of a DELETE */
    { "explain analyze delete from t",
      RO, 0, 0,
      "only read-only statements are allowed: EXPLAIN at line 1, "
      "column 1" },
    /* LOCK */
    { "lock table t",
      RO, 0, 0,
      "only read-only statements are allowed: LOCK at line 1, column "
      "1" },
    /* LISTEN */
    { "listen x",
      RO, 0, 0,
      "only read-only statements are allowed: LISTEN at line 1, "
      "column 1" },
    /* NOTIFY */
    { "notify x",
      RO, 0, 0,
      "only read-only statements are allowed: NOTIFY at line 1, "
      "column 1" },
    /* VACUUM */
    { "vacuum full",
      RO, 0, 0,
      "only read-only statements are allowed: VACUUM at line 1, "
      "column 1" },
    /* ANALYZE */
    { "analyze t",
      RO, 0, 0,
      "only read-only statements are allowed: ANALYZE at line 1, "
      "column 1" },
    /* PREPARE */
    { "prepare p as select 1",
      RO, 0, 0,
      "only read-only statements are allowed: PREPARE at line 1, "
      "column 1" },
    /* EXECUTE */
    { "execute p",
      RO, 0, 0,
      "only read-only statements are allowed: EXECUTE at line 1, "
      "column 1" },
    /* DEALLOCATE */
    { "deallocate all",
      RO, 0, 0,
      "only read-only statements are allowed: DEALLOCATE at line "
      "1, column 1" },
    /* DISCARD */
    { "discard all",
      RO, 0, 0,
      "only read-only statements are allowed: DISCARD at line 1, "
      "column 1" },
    /* CHECKPOINT */
    { "checkpoint",
      RO, 0, 0,
      "only read-only statements are allowed: CHECKPOINT at line "
      "1, column 1" },
    /* LOAD */
    { "load 'x'",
      RO, 0, 0,
      "only read-only statements are allowed: LOAD at line 1, column "
      "1" },
    /* REFRESH */
    { "refresh materialized view m",
      RO, 0, 0,
      "only read-only statements are allowed: REFRESH at line 1, "
      "column 1" },
    /* COMMENT */
    { "comment on table t is 'x'",
      RO, 0, 0,
      "only read-only statements are allowed: COMMENT at line 1, "
      "column 1" },
    /* SECURITY LABEL */
    { "security label on table t is 'x'",
      RO, 0, 0,
      "only read-only statements are allowed: SECURITY at line "
      "1, column 1" },
    /* a misspelt DELETE is named by its keyword */
    { "delete t",
      RO, 0, 0,
      "only read-only statements are allowed: DELETE at line 1, "
      "column 1" },
    /* a statement in parentheses that is not a query */
    { "(copy t to stdout)",
      SYN, 1, 0,
      "syntax error at or near \"copy\" at line 1, column 2" },
};

static const sql_case_t  nesting_cases[] = {
    /* a DELETE in a CTE */
    { "with d as (delete from t returning *) select * from d",
      RO, 11, 0,
      "data-modifying statements are not allowed: DELETE at line "
      "1, column 12" },
    /* an INSERT in a CTE */
    { "WITH x AS (INSERT INTO t VALUES (1) RETURNING id) SELECT "
      "* FROM x",
      RO, 11, 0,
      "data-modifying statements are not allowed: INSERT at line "
      "1, column 12" },
    /* an UPDATE of a quoted table in a CTE */
    { "with x as (update \"T\" set a = 1 returning *) select 1",
      RO, 11, 0,
      "data-modifying statements are not allowed: UPDATE at line "
      "1, column 12" },
    /* a MERGE in a CTE */
    { "with x as not materialized (merge into t using s on true "
      "when matched then delete) select 1",
      RO, 28, 0,
      "data-modifying statements are not allowed: MERGE at line "
      "1, column 29" },
    /* a DELETE with comments in it */
    { "with x as (/* c */ DeLeTe /* c */ FROM t returning 1) select "
      "1",
      RO, 19, 0,
      "data-modifying statements are not allowed: DELETE at line "
      "1, column 20" },
    /* a DELETE three CTEs deep */
    { "with a as (with b as (with c as (delete from t returning "
      "1) select 1) select 1) select 1",
      RO, 33, 0,
      "data-modifying statements are not allowed: DELETE at line "
      "1, column 34" },
    /* a DELETE in a CTE in a subquery */
    { "select * from t where x = (with d as (delete from t returning "
      "1) select 1)",
      RO, 38, 0,
      "data-modifying statements are not allowed: DELETE at line "
      "1, column 39" },
    /* the second CTE writes */
    { "with a as (select 1), b as (insert into regions values ('y') "
      "returning *) select * from a",
      RO, 28, 0,
      "data-modifying statements are not allowed: INSERT at line "
      "1, column 29" },
    /* the earliest problem is the one named */
    { "with d as (delete from t returning pg_sleep(1)) select pg_sleep(1)",
      RO, 11, 0,
      "data-modifying statements are not allowed: DELETE at line "
      "1, column 12" },
    /* SELECT INTO */
    { "select * into newtable from t",
      RO, 9, 0,
      "SELECT INTO is not allowed at line 1, column 10" },
    /* SELECT INTO TEMP */
    { "select 1 as \"x\" into temp t",
      RO, 16, 0,
      "SELECT INTO is not allowed at line 1, column 17" },
    /* SELECT INTO in a set operation */
    { "select 1 into t union select 2",
      RO, 9, 0,
      "SELECT INTO is not allowed at line 1, column 10" },
    /* FOR UPDATE */
    { "select * from t for update",
      RO, 16, 0,
      "locking clause FOR UPDATE is not allowed at line 1, column "
      "17" },
    /* FOR NO KEY UPDATE */
    { "select * from t FOR NO KEY UPDATE",
      RO, 16, 0,
      "locking clause FOR NO KEY UPDATE is not allowed at line "
      "1, column 17" },
    /* FOR SHARE NOWAIT */
    { "select * from t for share of t nowait",
      RO, 16, 0,
      "locking clause FOR SHARE is not allowed at line 1, column "
      "17" },
    /* FOR KEY SHARE */
    { "select * from t where x = 1 for key share",
      RO, 28, 0,
      "locking clause FOR KEY SHARE is not allowed at line 1, column "
      "29" },
    /* FOR UPDATE SKIP LOCKED */
    { "select 1 from t for update skip locked",
      RO, 16, 0,
      "locking clause FOR UPDATE is not allowed at line 1, column "
      "17" },
    /* FOR UPDATE in a subquery */
    { "select * from (select * from t for update) s",
      RO, 31, 0,
      "locking clause FOR UPDATE is not allowed at line 1, column "
      "32" },
    /* FOR UPDATE in an IN subquery */
    { "select * from t where x in (select a from u for update of "
      "u)",
      RO, 44, 0,
      "locking clause FOR UPDATE is not allowed at line 1, column "
      "45" },
    /* FOR UPDATE in a CTE */
    { "with c as (select * from t for update) select * from c",
      RO, 27, 0,
      "locking clause FOR UPDATE is not allowed at line 1, column "
      "28" },
};

static const sql_case_t  functions_cases[] = {
    /* pg_sleep */
    { "select pg_sleep(10)",
      DENY, 7, 0,
      "function pg_sleep is not allowed at line 1, column 8" },
    /* U& with UESCAPE '!' */
    { "select U&\"!0073et_config\" UESCAPE '!'('role', 'x', false)",
      DENY, 7, 0,
      "function set_config is not allowed at line 1, column 8" },
    /* U& with UESCAPE E'!' */
    { "select U&\"!0073et_config\" UESCAPE E'!'('role', 'x', false)",
      DENY, 7, 0,
      "function set_config is not allowed at line 1, column 8" },
    /* U& with UESCAPE $$!$$ */
    { "select U&\"!0073et_config\" UESCAPE $$!$$('role', 'x', false)",
      DENY, 7, 0,
      "function set_config is not allowed at line 1, column 8" },
    /* U& with UESCAPE $x$!$x$ */
    { "select U&\"!0073et_config\" UESCAPE $x$!$x$('role', 'x', "
      "false)",
      DENY, 7, 0,
      "function set_config is not allowed at line 1, column 8" },
    /* U& with UESCAPE on the next line */
    { "select U&\"!0073et_config\"\nUESCAPE '!'('role', 'x', false)",
      DENY, 7, 0,
      "function set_config is not allowed at line 1, column 8" },
    /* U& with a UESCAPE string continued */
    { "select U&\"!0073et_config\" UESCAPE ''\n'!'('role', 'x', "
      "false)",
      DENY, 7, 0,
      "function set_config is not allowed at line 1, column 8" },
    /* U& with a comment before UESCAPE */
    { "select U&\"!0073et_config\" /* c */ UESCAPE -- d\n '!' ('role', "
      "'x', false)",
      SYN, 48, 0,
      "syntax error at or near \"'!'\" at line 2, column 2" },
    /* U& with the default escape */
    { "select U&\"\\0073et_config\"('role', 'x', false)",
      DENY, 7, 0,
      "function set_config is not allowed at line 1, column 8" },
    /* U& with a six-digit escape */
    { "select U&\"\\+000073et_config\"('role', 'x', false)",
      DENY, 7, 0,
      "function set_config is not allowed at line 1, column 8" },
    /* u& in lower case */
    { "select u&\"\\0073et_\\0063onfig\"('role', 'x', false)",
      DENY, 7, 0,
      "function set_config is not allowed at line 1, column 8" },
    /* upper case */
    { "select SET_CONFIG('role', 'x', false)",
      DENY, 7, 0,
      "function set_config is not allowed at line 1, column 8" },
    /* mixed case */
    { "select Set_Config('role', 'x', false)",
      DENY, 7, 0,
      "function set_config is not allowed at line 1, column 8" },
    /* quoted */
    { "select \"set_config\"('role', 'x', false)",
      DENY, 7, 0,
      "function set_config is not allowed at line 1, column 8" },
    /* quoted in another case */
    { "select \"SET_CONFIG\"('role', 'x', false)",
      DENY, 7, 0,
      "function SET_CONFIG is not allowed at line 1, column 8" },
    /* pg_catalog-qualified */
    { "select pg_catalog.set_config('role', 'x', false)",
      DENY, 7, 0,
      "function pg_catalog.set_config is not allowed at line 1, "
      "column 8" },
    /* quoted and qualified */
    { "select \"pg_catalog\".\"set_config\"('role', 'x', false)",
      DENY, 7, 0,
      "function pg_catalog.set_config is not allowed at line 1, "
      "column 8" },
    /* an upper-case qualifier */
    { "select PG_CATALOG.set_config('role', 'x', false)",
      DENY, 7, 0,
      "function pg_catalog.set_config is not allowed at line 1, "
      "column 8" },
    /* comments between the parts */
    { "select pg_catalog /*x*/ . /*y*/ set_config('role', 'x', "
      "false)",
      DENY, 7, 0,
      "function pg_catalog.set_config is not allowed at line 1, "
      "column 8" },
    /* a comment before the parenthesis */
    { "select set_config /* */ ('role', 'x', false)",
      DENY, 7, 0,
      "function set_config is not allowed at line 1, column 8" },
    /* newlines between the parts */
    { "select set_config\n(\n'role', 'x', false)",
      DENY, 7, 0,
      "function set_config is not allowed at line 1, column 8" },
    /* qualified with another schema */
    { "select public.pg_sleep(1)",
      DENY, 7, 0,
      "function public.pg_sleep is not allowed at line 1, column "
      "8" },
    /* qualified with a database */
    { "select warehouse.pg_catalog.pg_sleep(1)",
      DENY, 7, 0,
      "function pg_catalog.pg_sleep is not allowed at line 1, column "
      "8" },
    /* in an expression */
    { "select 'a' || set_config('role', 'x', false)",
      DENY, 14, 0,
      "function set_config is not allowed at line 1, column 15" },
    /* query_to_xml runs SQL text */
    { "select query_to_xml('select * from pg_authid', true, true, "
      "'')",
      DENY, 7, 0,
      "function query_to_xml is not allowed at line 1, column 8" },
    /* query_to_xml in XMLTABLE */
    { "select * from xmltable('/a' passing (select query_to_xml('select "
      "1', true, true, '')) columns a int)",
      DENY, 44, 0,
      "function query_to_xml is not allowed at line 1, column 45" },
    /* ts_stat runs SQL text */
    { "select * from ts_stat('select body from t')",
      DENY, 14, 0,
      "function ts_stat is not allowed at line 1, column 15" },
    /* ts_rewrite runs SQL text */
    { "select ts_rewrite('a'::tsquery, 'select 1')",
      DENY, 7, 0,
      "function ts_rewrite is not allowed at line 1, column 8" },
    /* pg_sleep in a CTE */
    { "with s as (select pg_sleep(1)) select * from s",
      DENY, 18, 0,
      "function pg_sleep is not allowed at line 1, column 19" },
    /* pg_sleep in a LATERAL subquery */
    { "select * from t, lateral (select pg_sleep(1)) x",
      DENY, 33, 0,
      "function pg_sleep is not allowed at line 1, column 34" },
    /* pg_sleep as a LATERAL function */
    { "select * from t join lateral pg_sleep(1) on true",
      DENY, 29, 0,
      "function pg_sleep is not allowed at line 1, column 30" },
    /* pg_sleep in ORDER BY */
    { "select * from t order by pg_sleep(1)",
      DENY, 25, 0,
      "function pg_sleep is not allowed at line 1, column 26" },
    /* pg_sleep in a window */
    { "select sum(x) over (order by pg_sleep(1)) from t",
      DENY, 29, 0,
      "function pg_sleep is not allowed at line 1, column 30" },
    /* pg_sleep in FILTER */
    { "select count(*) filter (where pg_sleep(1) is null) from "
      "t",
      DENY, 30, 0,
      "function pg_sleep is not allowed at line 1, column 31" },
    /* pg_sleep in CASE */
    { "select case when a then pg_sleep(1) end from t",
      DENY, 24, 0,
      "function pg_sleep is not allowed at line 1, column 25" },
    /* pg_sleep in a VALUES list */
    { "values (1), (pg_sleep(1))",
      DENY, 13, 0,
      "function pg_sleep is not allowed at line 1, column 14" },
    /* pg_sleep in ROWS FROM */
    { "select * from rows from (generate_series(1, 2), pg_sleep(1))",
      DENY, 48, 0,
      "function pg_sleep is not allowed at line 1, column 49" },
    /* pg_sleep in a subquery in an argument */
    { "select coalesce((select pg_sleep(1)), 1)",
      DENY, 24, 0,
      "function pg_sleep is not allowed at line 1, column 25" },
    /* pg_sleep in ARRAY() */
    { "select array(select pg_sleep(1))",
      DENY, 20, 0,
      "function pg_sleep is not allowed at line 1, column 21" },
    /* pg_sleep in TABLESAMPLE */
    { "select * from t tablesample system (pg_sleep(1))",
      DENY, 36, 0,
      "function pg_sleep is not allowed at line 1, column 37" },
    /* pg_sleep in CUBE */
    { "select 1 from t group by cube(pg_sleep(1))",
      DENY, 30, 0,
      "function pg_sleep is not allowed at line 1, column 31" },
    /* pg_sleep in GREATEST */
    { "select greatest(1, pg_sleep(1))",
      DENY, 19, 0,
      "function pg_sleep is not allowed at line 1, column 20" },
    /* pg_sleep in LIMIT */
    { "select * from t limit (select pg_sleep(1))::int",
      DENY, 30, 0,
      "function pg_sleep is not allowed at line 1, column 31" },
    /* pg_sleep in HAVING */
    { "select 1 having pg_sleep(1) is null",
      DENY, 16, 0,
      "function pg_sleep is not allowed at line 1, column 17" },
    /* pg_sleep in ANY */
    { "select * from t where x = any(select pg_sleep(1))",
      DENY, 37, 0,
      "function pg_sleep is not allowed at line 1, column 38" },
    /* pg_sleep in a recursive CTE */
    { "with recursive r as (select 1 union all select pg_sleep(1) "
      "from r) select 1",
      DENY, 47, 0,
      "function pg_sleep is not allowed at line 1, column 48" },
    /* pg_sleep in a field selection */
    { "select (pg_sleep(1)).x",
      DENY, 8, 0,
      "function pg_sleep is not allowed at line 1, column 9" },
    /* pg_sleep in a cast */
    { "select 1 + pg_sleep(1)::int",
      DENY, 11, 0,
      "function pg_sleep is not allowed at line 1, column 12" },
    /* set_config in XMLELEMENT */
    { "select xmlelement(name a, set_config('role', 'x', false))",
      DENY, 26, 0,
      "function set_config is not allowed at line 1, column 27" },
    /* lo_import */
    { "select lo_import('/etc/passwd')",
      DENY, 7, 0,
      "function lo_import is not allowed at line 1, column 8" },
    /* LO_IMPORT */
    { "select LO_IMPORT('/etc/passwd')",
      DENY, 7, 0,
      "function lo_import is not allowed at line 1, column 8" },
    /* "lo_import" */
    { "select \"lo_import\"('/etc/passwd')",
      DENY, 7, 0,
      "function lo_import is not allowed at line 1, column 8" },
    /* pg_catalog.lo_import */
    { "select pg_catalog.lo_import('/etc/passwd')",
      DENY, 7, 0,
      "function pg_catalog.lo_import is not allowed at line 1, "
      "column 8" },
    /* U&"lo\005fimport" */
    { "select U&\"lo\\005fimport\"('/etc/passwd')",
      DENY, 7, 0,
      "function lo_import is not allowed at line 1, column 8" },
    /* lo_import in FROM */
    { "select * from lo_import('/etc/passwd')",
      DENY, 14, 0,
      "function lo_import is not allowed at line 1, column 15" },
    /* a schema of the warehouse's credentials */
    { "select spectra_admin.get_secret()",
      DENY, 7, 0,
      "schema spectra_admin is not allowed at line 1, column 8" },
    /* a temporary schema */
    { "select pg_temp.f()",
      DENY, 7, 0,
      "schema pg_temp is not allowed at line 1, column 8" },
    /* information_schema functions */
    { "select information_schema._pg_expandarray(array[1])",
      DENY, 7, 0,
      "schema information_schema is not allowed at line 1, column "
      "8" },
    /* after a multibyte string */
    { "select '\xc3\xa9', pg_sleep(1)",
      DENY, 13, 0,
      "function pg_sleep is not allowed at line 1, column 13" },
    /* a name cut to 63 bytes keeps its prefix */
    { "select dblink_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
      "aaaaaaaaaaaaaaaa(1)",
      DENY, 7, 0,
      "function dblink_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
      "aaaa is not allowed at line 1, column 8" },
    /* a non-ASCII name */
    { "select U&\"pg_stat_\\20ac\\+01F600\\00e9\" (1)",
      DENY, 7, 0,
      "function pg_stat_\xe2\x82\xac\xf0\x9f\x98\x80\xc3\xa9 is "
      "not allowed at line 1, column 8" },
};

static const sql_case_t  relations_cases[] = {
    /* pg_catalog.pg_authid */
    { "select rolname, rolpassword from pg_catalog.pg_authid",
      DENY, 33, 0,
      "schema pg_catalog is not allowed at line 1, column 34" },
    /* pg_authid unqualified */
    { "select * from pg_authid",
      DENY, 14, 0,
      "relation pg_authid is not allowed at line 1, column 15" },
    /* TABLE pg_authid */
    { "table pg_authid",
      DENY, 6, 0,
      "relation pg_authid is not allowed at line 1, column 7" },
    /* U&"pg\005fstat_activity" */
    { "select * from U&\"pg\\005fstat_activity\"",
      DENY, 14, 0,
      "relation pg_stat_activity is not allowed at line 1, column "
      "15" },
    /* "PG_STAT_ACTIVITY" */
    { "select * from \"PG_STAT_ACTIVITY\"",
      DENY, 14, 0,
      "relation PG_STAT_ACTIVITY is not allowed at line 1, column "
      "15" },
    /* PG_STAT_ACTIVITY folds */
    { "select * from PG_STAT_ACTIVITY",
      DENY, 14, 0,
      "relation pg_stat_activity is not allowed at line 1, column "
      "15" },
    /* pg_settings */
    { "select * from pg_settings",
      DENY, 14, 0,
      "relation pg_settings is not allowed at line 1, column 15" },
    /* pg_user */
    { "select usename from pg_user",
      DENY, 20, 0,
      "relation pg_user is not allowed at line 1, column 21" },
    /* quoted pg_roles */
    { "select * from \"pg_roles\"",
      DENY, 14, 0,
      "relation pg_roles is not allowed at line 1, column 15" },
    /* information_schema */
    { "select table_name from information_schema.tables",
      DENY, 23, 0,
      "schema information_schema is not allowed at line 1, column "
      "24" },
    /* quoted information_schema */
    { "select * from \"information_schema\".\"columns\"",
      DENY, 14, 0,
      "schema information_schema is not allowed at line 1, column "
      "15" },
    /* INFORMATION_SCHEMA with spaces */
    { "select * from INFORMATION_SCHEMA . \"tables\"",
      DENY, 14, 0,
      "schema information_schema is not allowed at line 1, column "
      "15" },
    /* pg_toast */
    { "select * from pg_toast.pg_toast_2619",
      DENY, 14, 0,
      "schema pg_toast is not allowed at line 1, column 15" },
    /* pg_temp */
    { "select * from pg_temp.x",
      DENY, 14, 0,
      "schema pg_temp is not allowed at line 1, column 15" },
    /* pg_toast_temp_1 */
    { "select * from pg_toast_temp_1.x",
      DENY, 14, 0,
      "schema pg_toast_temp_1 is not allowed at line 1, column "
      "15" },
    /* spectra_admin */
    { "select * from spectra_admin.credentials",
      DENY, 14, 0,
      "schema spectra_admin is not allowed at line 1, column 15" },
    /* spectra_load: every tenant's load errors */
    { "select * from spectra_load.load_errors",
      DENY, 14, 0,
      "schema spectra_load is not allowed at line 1, column 15" },
    { "select spectra_load.record_errors(1)",
      DENY, 7, 0,
      "schema spectra_load is not allowed at line 1, column 8" },
    { "select * from \"spectra_load\".load_errors",
      DENY, 14, 0,
      "schema spectra_load is not allowed at line 1, column 15" },
    /* three-part names */
    { "select * from warehouse.pg_catalog.pg_class",
      DENY, 14, 0,
      "schema pg_catalog is not allowed at line 1, column 15" },
    /* Redshift system tables */
    { "select * from t, STL_QUERY",
      DENY, 17, 0,
      "relation stl_query is not allowed at line 1, column 18" },
    /* svv_ views */
    { "select * from svv_table_info",
      DENY, 14, 0,
      "relation svv_table_info is not allowed at line 1, column "
      "15" },
    /* a catalog in a subquery */
    { "select (select count(*) from pg_class)",
      DENY, 29, 0,
      "relation pg_class is not allowed at line 1, column 30" },
    /* a catalog in a CTE */
    { "with c as (select * from pg_proc) select 1",
      DENY, 25, 0,
      "relation pg_proc is not allowed at line 1, column 26" },
    /* a catalog in a join */
    { "select * from t join pg_namespace n on true",
      DENY, 21, 0,
      "relation pg_namespace is not allowed at line 1, column 22" },
    /* a catalog in FOR UPDATE OF is still a catalog */
    { "select * from pg_database",
      DENY, 14, 0,
      "relation pg_database is not allowed at line 1, column 15" },
    /* a control character in a name */
    { "select * from \"pg_\x01\"",
      DENY, 14, 0,
      "relation pg_? is not allowed at line 1, column 15" },
};

static const sql_case_t  syntax_cases[] = {
    /* TOP */
    { "select top 10 * from sales",
      SYN, 11, 0,
      "syntax error at or near \"10\" at line 1, column 12: TOP "
      "is Redshift syntax, write LIMIT n at the end of the query" },
    /* QUALIFY */
    { "select a from t qualify row_number() over (partition by "
      "a order by b) = 1",
      SYN, 24, 0,
      "syntax error at or near \"row_number\" at line 1, column "
      "25: QUALIFY is Redshift syntax, filter on the window function "
      "in an outer query" },
    /* PIVOT */
    { "select * from t pivot (sum(x) for y in ('a'))",
      SYN, 26, 0,
      "syntax error at or near \"(\" at line 1, column 27: PIVOT "
      "and UNPIVOT are Redshift syntax, write CASE expressions "
      "with GROUP BY, or a LATERAL VALUES join" },
    /* UNPIVOT */
    { "select * from t unpivot (v for k in (a, b))",
      SYN, 27, 0,
      "syntax error at or near \"for\" at line 1, column 28: PIVOT "
      "and UNPIVOT are Redshift syntax, write CASE expressions "
      "with GROUP BY, or a LATERAL VALUES join" },
    /* a plain syntax error */
    { "select from where",
      SYN, 12, 0,
      "syntax error at or near \"where\" at line 1, column 13" },
    /* an unknown first word */
    { "selec 1",
      SYN, 0, 0,
      "syntax error at or near \"selec\" at line 1, column 1" },
    /* at the end of the text */
    { "select 1 +",
      SYN, 10, 0,
      "syntax error at end of input at line 1, column 11" },
    /* the position counts characters */
    { "select '\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e', \xc3\xa9 "
      "\xc3\xa9 \xc3\xa9",
      SYN, 26, 0,
      "syntax error at or near \"\xc3\xa9\" at line 1, column 19" },
    /* on the third line */
    { "select a,\n       b\n  from t where ^",
      SYN, 34, 0,
      "syntax error at or near \"^\" at line 3, column 16" },
    /* an unterminated string */
    { "select 'abc",
      SYN, 7, 0,
      "unterminated quoted string at or near \"'abc\" at line 1, "
      "column 8" },
    /* an unterminated comment */
    { "select 1 /* unterminated",
      SYN, 9, 0,
      "unterminated /* comment at or near \"/* unterminated\" at "
      "line 1, column 10" },
    /* an unterminated quoted identifier */
    { "select \"abc",
      SYN, 7, 0,
      "unterminated quoted identifier at or near \"\"abc\" at line "
      "1, column 8" },
    /* an unterminated dollar quote */
    { "select $$abc",
      SYN, 7, 0,
      "unterminated dollar-quoted string at or near \"$$abc\" at "
      "line 1, column 8" },
    /* unbalanced parentheses */
    { "select (1",
      SYN, 9, 0,
      "syntax error at end of input at line 1, column 10" },
    /* a closing parenthesis too many */
    { "select 1)",
      SYN, 8, 0,
      "syntax error at or near \")\" at line 1, column 9" },
    /* an empty quoted identifier */
    { "select \"\" from t",
      SYN, 7, 0,
      "zero-length delimited identifier at or near \"\"\"\" at "
      "line 1, column 8" },
    /* an invalid U& escape */
    { "select U&\"a\\zzzzb\" from t",
      SYN, 11, 0,
      "invalid Unicode escape at line 1, column 12" },
    /* a bad UESCAPE */
    { "select U&\"pg!005fsleep\" UESCAPE '!!' from t",
      SYN, 32, 0,
      "invalid Unicode escape character at or near \"'!!'\" at "
      "line 1, column 33" },
    /* a backslash before a quote */
    { "select 'a\\''; delete from t; --'",
      SYN, 9, 0,
      "a backslash before a quote is ambiguous in a string literal "
      "at line 1, column 10: write '' for a quote" },
    /* a backslash before a quote, U& string */
    { "select U&'a\\' , set_config('role', 'x', false) --'",
      SYN, 11, 0,
      "a backslash before a quote is ambiguous in a string literal "
      "at line 1, column 12: write '' for a quote" },
    /* a backslash before a continued quote */
    { "select 'a\\'\n'b'",
      SYN, 9, 0,
      "a backslash before a quote is ambiguous in a string literal "
      "at line 1, column 10: write '' for a quote" },
    /* FOR without a lock */
    { "select 1 for",
      SYN, 12, 0,
      "syntax error at end of input at line 1, column 13" },
    /* a :name where a table goes */
    { "select * from :tbl",
      SYN, 14, 0,
      "syntax error at or near \":tbl\" at line 1, column 15" },
    /* hex integers are PostgreSQL 16 */
    { "select 0x1f",
      SYN, 7, 0,
      "trailing junk after numeric literal at or near \"0x\" at "
      "line 1, column 8" },
};

static const sql_case_t  multiple_cases[] = {
    /* two statements */
    { "select 1; select 2",
      MULTI, 10, 0,
      "multiple statements are not allowed: a second one starts "
      "at line 1, column 11" },
    /* a stacked DROP */
    { "select 1; drop table t",
      MULTI, 10, 0,
      "multiple statements are not allowed: a second one starts "
      "at line 1, column 11" },
    /* after a line comment */
    { "select 1 -- comment\n; delete from sales",
      MULTI, 22, 0,
      "multiple statements are not allowed: a second one starts "
      "at line 2, column 3" },
    /* after a block comment */
    { "select 1 /* x */; /* y */ drop table t",
      MULTI, 26, 0,
      "multiple statements are not allowed: a second one starts "
      "at line 1, column 27" },
    /* after a nested comment that closes */
    { "select 1 /* a /* b */ c */ ; delete from sales",
      MULTI, 29, 0,
      "multiple statements are not allowed: a second one starts "
      "at line 1, column 30" },
    /* after a doubled quote */
    { "select 'a'';' ; delete from sales",
      MULTI, 16, 0,
      "multiple statements are not allowed: a second one starts "
      "at line 1, column 17" },
    /* after an E string escape */
    { "select E'\\'' ; delete from sales",
      MULTI, 15, 0,
      "multiple statements are not allowed: a second one starts "
      "at line 1, column 16" },
    /* after a dollar quote */
    { "select $$;$$; delete from sales",
      MULTI, 14, 0,
      "multiple statements are not allowed: a second one starts "
      "at line 1, column 15" },
    /* after a tagged dollar quote */
    { "select $a$ $b$ ; $a$; update sales set note = 'x'",
      MULTI, 22, 0,
      "multiple statements are not allowed: a second one starts "
      "at line 1, column 23" },
    /* an identifier with $$ in it */
    { "select a$$; drop table t; --$$",
      MULTI, 12, 0,
      "multiple statements are not allowed: a second one starts "
      "at line 1, column 13" },
    /* a line comment ended by CR */
    { "select 1 --x\r; delete from t",
      MULTI, 15, 0,
      "multiple statements are not allowed: a second one starts "
      "at line 1, column 16" },
    /* two semicolons */
    { "select 1;;",
      MULTI, 9, 0,
      "multiple statements are not allowed: a second one starts "
      "at line 1, column 10" },
    /* a semicolon in parentheses */
    { "select (select 1; delete from t)",
      MULTI, 18, 0,
      "multiple statements are not allowed: a second one starts "
      "at line 1, column 19" },
    /* on a later line */
    { "select a,\n       b\nfrom t;\ninsert into t values (1)",
      MULTI, 27, 0,
      "multiple statements are not allowed: a second one starts "
      "at line 4, column 1" },
    /* BEGIN first */
    { "begin; select 1",
      MULTI, 7, 0,
      "multiple statements are not allowed: a second one starts "
      "at line 1, column 8" },
    /* an empty statement */
    { "/* */ ; drop table t",
      EMPTY, 6, 0,
      "empty statement at line 1, column 7" },
    /* only a semicolon */
    { ";",
      EMPTY, 0, 0,
      "empty statement at line 1, column 1" },
};

static const sql_case_t  empty_cases[] = {
    /* empty */
    { "",
      EMPTY, NONE, 0,
      "SQL is empty" },
    /* blank */
    { "   \n\t ",
      EMPTY, NONE, 0,
      "SQL is empty" },
    /* a line comment */
    { "-- just a comment",
      EMPTY, NONE, 0,
      "SQL is empty" },
    /* comments */
    { "/* c */ -- d\n",
      EMPTY, NONE, 0,
      "SQL is empty" },
};

static const sql_case_t  params_refused_cases[] = {
    /* $1 */
    { "select $1",
      PARAMS, 7, 0,
      "positional parameters ($1) are not supported at line 1, "
      "column 8: use :name" },
    /* $12 */
    { "select $12",
      PARAMS, 7, 0,
      "positional parameters ($12) are not supported at line 1, "
      "column 8: use :name" },
    /* $1 after a :name */
    { "select :a, $1",
      PARAMS, 11, 0,
      "positional parameters ($1) are not supported at line 1, "
      "column 12: use :name" },
    /* $1 in a cast */
    { "select $1::int",
      PARAMS, 7, 0,
      "positional parameters ($1) are not supported at line 1, "
      "column 8: use :name" },
    /* a :name with $ */
    { "select :a$b",
      PARAMS, 7, 0,
      "invalid parameter name at line 1, column 8: a name is letters, "
      "digits and _" },
};


START_TEST(test_ordinary)
{
    expect_case(&ordinary_cases[_i]);
}
END_TEST


START_TEST(test_statements)
{
    expect_case(&statements_cases[_i]);
}
END_TEST


START_TEST(test_nesting)
{
    expect_case(&nesting_cases[_i]);
}
END_TEST


START_TEST(test_functions)
{
    expect_case(&functions_cases[_i]);
}
END_TEST


START_TEST(test_relations)
{
    expect_case(&relations_cases[_i]);
}
END_TEST


START_TEST(test_syntax)
{
    expect_case(&syntax_cases[_i]);
}
END_TEST


START_TEST(test_multiple)
{
    expect_case(&multiple_cases[_i]);
}
END_TEST


START_TEST(test_empty)
{
    expect_case(&empty_cases[_i]);
}
END_TEST


START_TEST(test_params_refused)
{
    expect_case(&params_refused_cases[_i]);
}
END_TEST


/* Every built-in deny group, by at least one name each (docs/sql-policy.md) */

static const char  *denied_functions[] = {
    /* settings */
    "set_config", "current_setting", "pg_show_all_settings",
    "pg_show_all_file_settings", "pg_settings_get_flags", "pg_config",
    "pg_hba_file_rules", "pg_ident_file_mappings", "pg_current_logfile",
    /* sleeping */
    "pg_sleep", "pg_sleep_for", "pg_sleep_until",
    /* large objects */
    "lo_import", "lo_export", "lo_creat", "lo_create", "lo_open", "lo_close",
    "lo_unlink", "lo_truncate", "lo_truncate64", "lo_tell", "lo_tell64",
    "lo_lseek", "lo_lseek64", "loread", "lowrite", "lo_from_bytea", "lo_get",
    "lo_put", "be_lo_open",
    /* advisory locks */
    "pg_advisory_lock", "pg_advisory_xact_lock_shared",
    "pg_advisory_unlock_all",
    "pg_try_advisory_lock", "pg_try_advisory_xact_lock",
    /* backends and the server */
    "pg_terminate_backend", "pg_cancel_backend", "pg_reload_conf",
    "pg_rotate_logfile", "pg_rotate_logfile_old", "pg_promote",
    "pg_log_backend_memory_contexts",
    /* logical decoding and replication */
    "pg_logical_emit_message", "pg_logical_slot_get_changes",
    "pg_logical_slot_peek_binary_changes", "pg_replication_origin_create",
    "pg_replication_slot_advance", "pg_create_logical_replication_slot",
    "pg_create_physical_replication_slot", "pg_drop_replication_slot",
    "pg_copy_logical_replication_slot", "pg_copy_physical_replication_slot",
    "pg_show_replication_origin_status",
    /* WAL, control, backups */
    "pg_switch_wal", "pg_current_wal_lsn", "pg_current_wal_insert_lsn",
    "pg_walfile_name", "pg_walfile_name_offset", "pg_wal_replay_pause",
    "pg_wal_lsn_diff", "pg_last_wal_receive_lsn", "pg_last_wal_replay_lsn",
    "pg_last_xact_replay_timestamp", "pg_is_wal_replay_paused",
    "pg_control_system", "pg_control_checkpoint", "pg_backup_start",
    "pg_backup_stop", "pg_start_backup", "pg_stop_backup",
    "pg_create_restore_point",
    /* sizes and storage */
    "pg_database_size", "pg_relation_size", "pg_table_size",
    "pg_indexes_size", "pg_total_relation_size", "pg_tablespace_size",
    "pg_column_size", "pg_relation_filenode", "pg_relation_filepath",
    "pg_filenode_relation", "pg_tablespace_location",
    "pg_tablespace_databases",
    /* locks */
    "pg_lock_status", "pg_blocking_pids", "pg_safe_snapshot_blocking_pids",
    "pg_isolation_test_session_is_blocked",
    /* statistics */
    "pg_stat_get_activity", "pg_stat_get_backend_activity", "pg_stat_reset",
    "pg_stat_reset_shared", "pg_stat_file", "pg_stat_clear_snapshot",
    /* files */
    "pg_read_file", "pg_read_file_old", "pg_read_binary_file", "pg_ls_dir",
    "pg_ls_waldir", "pg_ls_logdir", "pg_ls_tmpdir", "pg_file_write",
    "pg_file_unlink",
    /* describers */
    "pg_get_functiondef", "pg_get_viewdef", "pg_get_ruledef",
    "pg_get_indexdef", "pg_get_constraintdef", "pg_get_triggerdef",
    "pg_get_userbyid", "pg_get_keywords", "pg_get_expr", "pg_get_acl",
    "pg_get_object_address", "pg_get_backend_memory_contexts",
    "pg_describe_object", "pg_identify_object",
    "pg_identify_object_as_address", "has_table_privilege",
    "has_column_privilege", "has_any_column_privilege",
    "has_database_privilege", "has_schema_privilege",
    "has_function_privilege", "has_parameter_privilege", "pg_has_role",
    "obj_description", "col_description", "shobj_description",
    "pg_prepared_xact",
    /* functions that run SQL text */
    "query_to_xml", "query_to_xmlschema", "query_to_xml_and_xmlschema",
    "cursor_to_xml", "cursor_to_xmlschema", "table_to_xml",
    "table_to_xml_and_xmlschema", "schema_to_xml", "schema_to_xmlschema",
    "database_to_xml", "database_to_xml_and_xmlschema", "ts_stat",
    "ts_rewrite", "dblink", "dblink_exec", "dblink_connect",
    /* sequences */
    "nextval", "setval", "currval", "lastval", "pg_sequence_last_value",
    "pg_sequence_parameters",
    /* notifications */
    "pg_notify", "pg_listening_channels", "pg_notification_queue_usage",
    /* transaction ids */
    "txid_current", "txid_current_if_assigned", "txid_status",
    "pg_current_xact_id", "pg_current_xact_id_if_assigned",
    "pg_xact_commit_timestamp", "pg_xact_commit_timestamp_origin",
    "pg_xact_status", "pg_last_committed_xact", "pg_export_snapshot",
    /* maintenance and administration */
    "pg_import_system_collations", "pg_event_trigger_ddl_commands",
    "pg_event_trigger_dropped_objects", "pg_prewarm",
    "binary_upgrade_set_next_pg_authid_oid", "pg_nextoid",
    "pg_stop_making_pinned_objects", "pg_extension_config_dump",
    "brin_summarize_new_values", "brin_summarize_range",
    "brin_desummarize_range", "gin_clean_pending_list"
};


START_TEST(test_denied_function)
{
    char  sql[128], msg[160];

    snprintf(sql, sizeof(sql), "select %s()", denied_functions[_i]);
    snprintf(msg, sizeof(msg), "function %s is not allowed at line 1, "
             "column 8", denied_functions[_i]);
    expect_refused(NULL, sql, DENY, 7, msg);

    /* in FROM, qualified with pg_catalog, in upper case */
    snprintf(sql, sizeof(sql), "select * from PG_CATALOG.%s()",
             denied_functions[_i]);
    snprintf(msg, sizeof(msg), "function pg_catalog.%s is not allowed at "
             "line 1, column 15", denied_functions[_i]);
    expect_refused(NULL, sql, DENY, 14, msg);
}
END_TEST


/* Ordinary functions that share a prefix or a schema with denied ones. */

static const char  *allowed_functions[] = {
    "lower", "count", "now", "pg_typeof", "pg_size_pretty", "pg_size_bytes",
    "pg_options_to_table", "pg_visible_in_snapshot", "pg_backend_pid",
    "pg_collation_for", "pg_column_is_updatable", "txid_current_snapshot",
    "to_regclass", "xmlagg", "log", "lower_inc", "has_something",
    "current_settings", "set_configuration", "pg_sleepy", "lo",
    "nextval2", "query_to_json", "pg_statistic_ext", "generate_series",
    "date_trunc", "string_agg", "json_build_object", "pg_catalog_lower"
};


START_TEST(test_allowed_function)
{
    char  sql[128];

    snprintf(sql, sizeof(sql), "select %s(1)", allowed_functions[_i]);
    expect_passes(NULL, sql);

    snprintf(sql, sizeof(sql), "select pg_catalog.%s(1)",
             allowed_functions[_i]);
    expect_passes(NULL, sql);
}
END_TEST


START_TEST(test_policy_lists)
{
    spectra_sql_policy_t  policy;
    spectra_str_t         functions[] = { spectra_string("mask_*"),
                                          spectra_string("Decrypt") };
    spectra_str_t         relations[] = { spectra_string("secrets"),
                                          spectra_string("*_raw") };
    spectra_str_t         schemas[] = { spectra_string("audit") };

    spectra_sql_policy_default(&policy);
    policy.deny_functions = functions;
    policy.ndeny_functions = 2;
    policy.deny_relations = relations;
    policy.ndeny_relations = 2;
    policy.deny_schemas = schemas;
    policy.ndeny_schemas = 1;

    expect_refused(&policy, "select mask_email(e) from t", DENY, 7,
                   "function mask_email is not allowed at line 1, column 8");
    expect_refused(&policy, "select \"DECRYPT\"(x) from t", DENY, 7,
                   "function DECRYPT is not allowed at line 1, column 8");
    expect_refused(&policy, "select * from app.secrets", DENY, 14,
                   "relation app.secrets is not allowed at line 1, "
                   "column 15");
    expect_refused(&policy, "select * from events_raw", DENY, 14,
                   "relation events_raw is not allowed at line 1, "
                   "column 15");
    expect_refused(&policy, "select * from Audit.log", DENY, 14,
                   "schema audit is not allowed at line 1, column 15");
    expect_refused(&policy, "select audit.f()", DENY, 7,
                   "schema audit is not allowed at line 1, column 8");

    /* the built-in lists still apply */
    expect_refused(&policy, "select pg_sleep(1)", DENY, 7,
                   "function pg_sleep is not allowed at line 1, column 8");
    expect_refused(&policy, "select * from pg_class", DENY, 14,
                   "relation pg_class is not allowed at line 1, column 15");

    expect_passes(&policy, "select masked(e), decrypted from secret, raw");

    /* pg_catalog-qualified functions are judged by name: never the schema */
    schemas[0] = (spectra_str_t) spectra_string("pg_catalog");
    expect_passes(&policy, "select pg_catalog.lower('A')");
    expect_refused(&policy, "select * from pg_catalog.pg_class", DENY, 14,
                   "schema pg_catalog is not allowed at line 1, column 15");
}
END_TEST


START_TEST(test_allow_list)
{
    spectra_sql_policy_t  policy;
    spectra_str_t         allow[] = { spectra_string("count"),
                                      spectra_string("SUM"),
                                      spectra_string("date_*"),
                                      spectra_string("pg_sleep") };

    spectra_sql_policy_default(&policy);
    policy.allow_functions = allow;
    policy.nallow_functions = 4;

    expect_passes(&policy, "select count(*), sum(x), date_trunc('day', d), "
                  "date_part('dow', d), pg_catalog.count(*) from t");
    expect_passes(&policy, "select a + b, a || b, a::int, case when a "
                  "then 1 end from t");

    /* SQL-standard syntax is spelled by the grammar, not by the caller */
    expect_passes(&policy, "select extract(year from d), substring(s from 1 "
                  "for 2), trim(both from s), position('a' in s), "
                  "d at time zone 'utc' from t");

    expect_refused(&policy, "select count(*), lower(name) from t", DENY, 17,
                   "function lower is not on the list of allowed functions "
                   "at line 1, column 18");
    expect_refused(&policy, "select * from generate_series(1, 2)", DENY, 14,
                   "function generate_series is not on the list of allowed "
                   "functions at line 1, column 15");
    expect_refused(&policy, "select count(*) over (order by now()) from t",
                   DENY, 31, "function now is not on the list of allowed "
                   "functions at line 1, column 32");

    /* the deny list wins */
    expect_refused(&policy, "select pg_sleep(1)", DENY, 7,
                   "function pg_sleep is not allowed at line 1, column 8");

    /* an empty list allows no function at all */
    policy.nallow_functions = 0;
    expect_passes(&policy, "select a, b + 1 from t");
    expect_refused(&policy, "select count(*) from t", DENY, 7,
                   "function count is not on the list of allowed functions "
                   "at line 1, column 8");
}
END_TEST


START_TEST(test_allow_values)
{
    spectra_sql_policy_t  policy;

    spectra_sql_policy_default(&policy);
    ck_assert_uint_eq(policy.allow_values, 1);
    expect_passes(&policy, "values (1)");

    policy.allow_values = 0;
    expect_refused(&policy, "values (1), (2)", RO, 0,
                   "VALUES statements are not allowed at line 1, column 1: "
                   "write SELECT ... FROM (VALUES ...) AS v");
    expect_refused(&policy, "  values (1) union select 2", RO, 2,
                   "VALUES statements are not allowed at line 1, column 3: "
                   "write SELECT ... FROM (VALUES ...) AS v");
    expect_passes(&policy, "select * from (values (1), (2)) as v(a)");
    expect_passes(&policy, "select 1 union values (2)");
}
END_TEST


START_TEST(test_limits)
{
    char                  *big;
    spectra_err_t          err;
    spectra_sql_policy_t   policy;

    spectra_sql_policy_default(&policy);
    ck_assert_uint_eq(policy.max_len, SPECTRA_SQL_MAX_LEN);
    ck_assert_uint_eq(SPECTRA_SQL_MAX_LEN, 100000);

    big = malloc(SPECTRA_SQL_MAX_LEN + 2);
    ck_assert_ptr_nonnull(big);
    memcpy(big, "select 1", 8);
    memset(big + 8, ' ', SPECTRA_SQL_MAX_LEN - 8);
    big[SPECTRA_SQL_MAX_LEN] = '\0';
    expect_passes(&policy, big);

    big[SPECTRA_SQL_MAX_LEN] = ' ';
    big[SPECTRA_SQL_MAX_LEN + 1] = '\0';
    expect_refused(&policy, big, LONG, SPECTRA_SQL_MAX_LEN,
                   "SQL is too long: 100001 bytes, the limit is 100000");

    policy.max_len = 0;
    expect_passes(&policy, big);
    free(big);

    policy.max_len = 8;
    expect_passes(&policy, "select 1");
    expect_refused(&policy, "select 12", LONG, 8,
                   "SQL is too long: 9 bytes, the limit is 8");

    /* NUL bytes, before anything else; invalid UTF-8 */
    spectra_sql_policy_default(&policy);
    ck_assert_int_eq(spectra_sql_check(&policy, (const u_char *) "select '\0'",
                                       10, NULL, &err), NUL);
    ck_assert_str_eq(err.message, "NUL bytes are not allowed at line 1, "
                     "column 9");
    ck_assert_uint_eq(err.position, 8);
    ck_assert_int_eq(spectra_sql_check(&policy, (const u_char *) "\0", 1,
                                       NULL, &err), NUL);
    ck_assert_uint_eq(err.position, 0);

    expect_refused(&policy, "select '\xc3'", SYN, 8,
                   "invalid UTF-8 at line 1, column 9");
    expect_refused(&policy, "select '\xe9t\xe9'", SYN, 8,
                   "invalid UTF-8 at line 1, column 9");
    expect_refused(&policy, "select '\xc0\xaf'", SYN, 8,
                   "invalid UTF-8 at line 1, column 9");
    expect_refused(&policy, "select '\xed\xa0\x80'", SYN, 8,
                   "invalid UTF-8 at line 1, column 9");
    expect_refused(&policy, "select '\xf4\x90\x80\x80'", SYN, 8,
                   "invalid UTF-8 at line 1, column 9");
    expect_passes(&policy, "select '\xf0\x9f\x98\x80', '\xe2\x82\xac'");
}
END_TEST


/* Positions: byte offsets, lines and columns in characters. */

START_TEST(test_positions)
{
    spectra_err_t  err;

    /* three 3-byte characters and a 2-byte one before the call */
    ck_assert_int_eq(check(NULL, "select '\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa"
                           "\x9e', '\xc3\xa9', pg_sleep(1)", NULL, &err),
                     DENY);
    ck_assert_uint_eq(err.position, 26);
    ck_assert_str_eq(err.message, "function pg_sleep is not allowed at line "
                     "1, column 20");

    /* lines count from 1, columns restart after each newline */
    ck_assert_int_eq(check(NULL, "select a,\n  '\xc3\xa9\xc3\xa9' as b,\n"
                           "\t pg_sleep(1)\nfrom t", NULL, &err), DENY);
    ck_assert_uint_eq(err.position, 27);
    ck_assert_str_eq(err.message, "function pg_sleep is not allowed at line "
                     "3, column 3");

    /* the parser's own errors, after multibyte text */
    ck_assert_int_eq(check(NULL, "select '\xc3\xa9\xc3\xa9' from where",
                           NULL, &err), SYN);
    ck_assert_uint_eq(err.position, 19);
    ck_assert_str_eq(err.message, "syntax error at or near \"where\" at line "
                     "1, column 18");

    /* a :name does not move positions */
    ck_assert_int_eq(check(NULL, "select :long_parameter_name, pg_sleep(1)",
                           NULL, &err), DENY);
    ck_assert_uint_eq(err.position, 29);

    /* whole-text errors have no position */
    ck_assert_int_eq(check(NULL, "   ", NULL, &err), EMPTY);
    ck_assert_uint_eq(err.position, NONE);
}
END_TEST


/* Named parameters, found by the real scanner. */

static const struct {
    const char  *sql;
    const char  *names;         /* space-separated, in order */
} params_cases[] = {
    { "select 1", "" },
    { "select :a", "a" },
    { "select :a, :b, :a, :A", "a b A" },
    { "select * from t where d >= :since and d < :until limit 10",
      "since until" },
    { "select ':nope', $$ :nope $$, $q$ :nope $q$, E'\\':nope', \":nope\" "
      "-- :nope\n/* :nope /* :nope */ */ from t", "" },
    { "select x::int, y::text[], :p::date, :q :: int from t", "p q" },
    { "select a[1:2], a[1 : n], a[:2], a[1:] from t", "" },
    { "select a[1 : :n] from t", "n" },
    { "select :select, :from, :user, :int from t", "select from user int" },
    { "select f(a := 1), :x from t", "x" },
    { "select :_a1, :a_1_b", "_a1 a_1_b" },
    { "select :p1, :p2, :p3, :p4, :p5, :p6, :p7, :p8, :p9, :p10, :p11",
      "p1 p2 p3 p4 p5 p6 p7 p8 p9 p10 p11" },
};


START_TEST(test_params)
{
    char                names[256];
    size_t              i;
    spectra_err_t       err;
    spectra_sql_info_t  info;

    ck_assert_msg(check(NULL, params_cases[_i].sql, &info, &err) == OK,
                  "%s: %s", params_cases[_i].sql, err.message);

    names[0] = '\0';

    for (i = 0; i < info.nparams; i++) {
        ck_assert(info.params[i].data
                  > (const u_char *) params_cases[_i].sql);
        ck_assert_int_eq(info.params[i].data[-1], ':');
        snprintf(names + strlen(names), sizeof(names) - strlen(names),
                 "%s%.*s", i ? " " : "", (int) info.params[i].len,
                 (const char *) info.params[i].data);
    }

    ck_assert_str_eq(names, params_cases[_i].names);
}
END_TEST


START_TEST(test_params_limit)
{
    char                sql[2048];
    size_t              i, n;
    spectra_err_t       err;
    spectra_sql_info_t  info;

    n = (size_t) snprintf(sql, sizeof(sql), "select 1");

    for (i = 0; i < SPECTRA_SQL_MAX_PARAMS; i++) {
        n += (size_t) snprintf(sql + n, sizeof(sql) - n, ", :p%zu", i);
    }

    ck_assert_int_eq(check(NULL, sql, &info, &err), OK);
    ck_assert_uint_eq(info.nparams, SPECTRA_SQL_MAX_PARAMS);

    /* repeating one is fine, one more distinct one is not */
    snprintf(sql + n, sizeof(sql) - n, ", :p0, :extra");
    ck_assert_int_eq(check(NULL, sql, &info, &err), PARAMS);
    ck_assert_uint_eq(err.position, n + 7);
    ck_assert_uint_eq(info.nparams, 0);
    ck_assert_ptr_nonnull(strstr(err.message, "too many named parameters "
                                 "(at most 64) at line 1, column "));
}
END_TEST


START_TEST(test_wrap)
{
    u_char              out[256];
    size_t              n;
    spectra_err_t       err;
    spectra_sql_info_t  info;
    const char         *sql;

    sql = "  -- why\n select a, :p from t ; -- done\n/* bye */";
    ck_assert_int_eq(check(NULL, sql, &info, &err), OK);
    ck_assert_uint_eq(info.stmt_start, 10);
    ck_assert_uint_eq(info.stmt_len, 19);

    n = spectra_sql_wrap_limit_len(&info, 1000);
    ck_assert_uint_eq((size_t) (spectra_sql_wrap_limit(out,
                                    (const u_char *) sql, &info, 1000)
                                - out), n);
    out[n] = '\0';
    ck_assert_str_eq((char *) out, "SELECT * FROM (select a, :p from t\n) AS "
                     "spectra_q LIMIT 1001");

    /* a trailing line comment without a newline stays outside */
    sql = "select 1 -- the end";
    ck_assert_int_eq(check(NULL, sql, &info, &err), OK);
    n = spectra_sql_wrap_limit_len(&info, 0);
    spectra_sql_wrap_limit(out, (const u_char *) sql, &info, 0);
    out[n] = '\0';
    ck_assert_str_eq((char *) out, "SELECT * FROM (select 1\n) AS spectra_q "
                     "LIMIT 1");

    info.stmt_start = 0;
    info.stmt_len = 8;
    ck_assert_uint_eq(spectra_sql_wrap_limit_len(&info, UINT64_MAX), 0);
    n = spectra_sql_wrap_limit_len(&info, UINT64_MAX - 1);
    spectra_sql_wrap_limit(out, (const u_char *) "select 1", &info,
                           UINT64_MAX - 1);
    out[n] = '\0';
    ck_assert_str_eq((char *) out, "SELECT * FROM (select 1\n) AS spectra_q "
                     "LIMIT 18446744073709551615");
}
END_TEST


static const struct {
    const char  *sql;
    const char  *bound;
    const char  *names;
} bind_cases[] = {
    { "select 1", "select 1", "" },
    { "select :a, :b, :a", "select $1, $2, $1", "a b" },
    { "select :p::int, ':q', $$ :q $$ -- :q\n, :q",
      "select $1::int, ':q', $$ :q $$ -- :q\n, $2", "p q" },
    { "select a[1:2], x::text, f(y := :v)", "select a[1:2], x::text, "
      "f(y := $1)", "v" },
    { "select : a, :\"q\", :1, :U&\"x\"", "select : a, :\"q\", :1, :U&\"x\"",
      "" },
    { "insert into t values (:a) returning :b", "insert into t values ($1) "
      "returning $2", "a b" },
};


START_TEST(test_bind)
{
    char            names[128];
    u_char          out[256];
    size_t          i, out_len, n;
    spectra_err_t   err;
    spectra_str_t   found[8];
    const char     *sql;

    sql = bind_cases[_i].sql;
    ck_assert_uint_le(spectra_sql_bind_len(strlen(sql)), sizeof(out));
    ck_assert_int_eq(spectra_sql_bind(S(sql), out, &out_len, found, 8, &n,
                                      &err), OK);
    ck_assert_str_eq((char *) out, bind_cases[_i].bound);
    ck_assert_uint_eq(out_len, strlen(bind_cases[_i].bound));

    names[0] = '\0';

    for (i = 0; i < n; i++) {
        snprintf(names + strlen(names), sizeof(names) - strlen(names),
                 "%s%.*s", i ? " " : "", (int) found[i].len,
                 (const char *) found[i].data);
    }

    ck_assert_str_eq(names, bind_cases[_i].names);
}
END_TEST


START_TEST(test_bind_errors)
{
    char            sql[1024];
    u_char          out[2048];
    size_t          i, n, out_len, nnames;
    spectra_err_t   err;
    spectra_str_t   names[300];

    ck_assert_int_eq(spectra_sql_bind(S("select $1"), out, &out_len, names,
                                      8, &nnames, &err), PARAMS);
    ck_assert_str_eq(err.message, "positional parameters ($1) are not "
                     "supported at line 1, column 8: use :name");
    ck_assert_int_eq(spectra_sql_bind(S("select 'x"), out, &out_len, names,
                                      8, &nnames, &err), SYN);
    ck_assert_str_eq(err.message, "unterminated quoted string at or near "
                     "\"'x\" at line 1, column 8");
    ck_assert_int_eq(spectra_sql_bind(S("select :a$"), out, &out_len, names,
                                      8, &nnames, &err), PARAMS);
    ck_assert_str_eq(err.message, "invalid parameter name at line 1, column "
                     "8: a name is letters, digits and _");
    ck_assert_int_eq(spectra_sql_bind(S("select :\xc3\xa9t\xc3\xa9"), out,
                                      &out_len, names, 8, &nnames, &err),
                     PARAMS);
    ck_assert_int_eq(spectra_sql_bind(S("select :a, :b"), out, &out_len,
                                      names, 1, &nnames, &err), PARAMS);
    ck_assert_str_eq(err.message, "too many named parameters (at most 1) at "
                     "line 1, column 12");

    /* the worst growth: one-letter names numbered up to 3 digits */
    n = (size_t) snprintf(sql, sizeof(sql), "select");

    for (i = 0; i < 250; i++) {
        n += (size_t) snprintf(sql + n, sizeof(sql) - n, ":%c%c,",
                               'a' + (int) (i % 26), 'a' + (int) (i / 26));
    }

    ck_assert_uint_le(spectra_sql_bind_len(n), sizeof(out));
    ck_assert_int_eq(spectra_sql_bind((const u_char *) sql, n, out, &out_len,
                                      names, 300, &nnames, &err), OK);
    ck_assert_uint_eq(nnames, 250);
    ck_assert_uint_lt(out_len, spectra_sql_bind_len(n));
    ck_assert_ptr_nonnull(strstr((char *) out, "$250,"));
}
END_TEST


/* Lists */

START_TEST(test_list_match)
{
    spectra_str_t  list[] = { spectra_string("pg_*_size"),
                              spectra_string("lo_*"),
                              spectra_string("exact"),
                              spectra_string("*mid*") };

    ck_assert(spectra_sql_list_match(list, 4, S("pg_relation_size")));
    ck_assert(spectra_sql_list_match(list, 4, S("PG_X_SIZE")));
    ck_assert(spectra_sql_list_match(list, 4, S("pg__size")));
    ck_assert(!spectra_sql_list_match(list, 4, S("pg_size")));
    ck_assert(!spectra_sql_list_match(list, 4, S("pg_size_pretty")));
    ck_assert(spectra_sql_list_match(list, 4, S("lo_")));
    ck_assert(spectra_sql_list_match(list, 4, S("Lo_Import")));
    ck_assert(!spectra_sql_list_match(list, 4, S("lo")));
    ck_assert(!spectra_sql_list_match(list, 4, S("lower")));
    ck_assert(spectra_sql_list_match(list, 4, S("EXACT")));
    ck_assert(!spectra_sql_list_match(list, 4, S("exactly")));
    ck_assert(spectra_sql_list_match(list, 4, S("amidb")));
    ck_assert(spectra_sql_list_match(list, 4, S("mid")));
    ck_assert(!spectra_sql_list_match(list, 3, S("amidb")));
    ck_assert(!spectra_sql_list_match(list, 0, S("exact")));
}
END_TEST


START_TEST(test_list_parse)
{
    size_t         n;
    spectra_err_t  err;
    spectra_str_t  out[8];
    const char    *text;

    text = "# allowed functions\ncount, sum  \n\tdate_*\n# end\nlower #x\n";

    ck_assert_int_eq(spectra_sql_list_parse(SPECTRA_SQL_LIST_FUNCTIONS,
                                            S(text), NULL, 0, &n, &err), OK);
    ck_assert_uint_eq(n, 4);
    ck_assert_int_eq(spectra_sql_list_parse(SPECTRA_SQL_LIST_FUNCTIONS,
                                            S(text), out, 8, &n, &err), OK);
    ck_assert_uint_eq(n, 4);
    ck_assert_uint_eq(out[0].len, 5);
    ck_assert_int_eq(memcmp(out[0].data, "count", 5), 0);
    ck_assert_uint_eq(out[1].len, 3);
    ck_assert_uint_eq(out[2].len, 6);
    ck_assert_int_eq(memcmp(out[2].data, "date_*", 6), 0);
    ck_assert_uint_eq(out[3].len, 5);
    ck_assert_int_eq(memcmp(out[3].data, "lower", 5), 0);

    ck_assert_int_eq(spectra_sql_list_parse(SPECTRA_SQL_LIST_FUNCTIONS,
                                            S(text), out, 3, &n, &err),
                     INVALID);
    ck_assert_str_eq(err.message, "more than 3 names in the list at line 5, "
                     "column 1");

    ck_assert_int_eq(spectra_sql_list_parse(SPECTRA_SQL_LIST_RELATIONS,
                                            S("a\nb\nbad-name\n"), out, 8,
                                            &n, &err), INVALID);
    ck_assert_uint_eq(err.position, 4);
    ck_assert_str_eq(err.message, "invalid name \"bad-name\" in a SQL name "
                     "list: use 1 to 63 letters, digits, _, $ or *, not "
                     "starting with a digit or $ at line 3, column 1");

    ck_assert_int_eq(spectra_sql_list_parse(SPECTRA_SQL_LIST_SCHEMAS,
                                            S("  # nothing\n"), out, 8, &n,
                                            &err), OK);
    ck_assert_uint_eq(n, 0);
}
END_TEST


static const char  *list_entries_bad[] = {
    "", "1abc", "$x", "a.b", "a-b", "a\"b", "a b",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
};

static const char  *list_entries_good[] = {
    "a", "pg_*", "*", "lo_*_x", "_x", "a$1", "\xc3\xa9t\xc3\xa9", "A_B",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
};


START_TEST(test_list_entries)
{
    int            i;
    spectra_err_t  err;

    for (i = 0; i < NCASES(list_entries_bad); i++) {
        ck_assert_msg(spectra_sql_list_entry_check(SPECTRA_SQL_LIST_FUNCTIONS,
                          S(list_entries_bad[i]), &err) == INVALID,
                      "\"%s\" accepted", list_entries_bad[i]);
    }

    for (i = 0; i < NCASES(list_entries_good); i++) {
        ck_assert_msg(spectra_sql_list_entry_check(SPECTRA_SQL_LIST_SCHEMAS,
                          S(list_entries_good[i]), &err) == OK,
                      "\"%s\" refused: %s", list_entries_good[i],
                      err.message);
    }
}
END_TEST


/*
 * Nesting: every shape is either checked or refused as too deep, never a
 * crash, even on a 1 MB stack (spectra-dataapi checks in its threads).
 */

typedef struct {
    const char  *head;
    const char  *unit;
    const char  *tail;          /* repeated after the units, NULL: none */
    int          rc;
} depth_t;

static const char  *depth_units[][3] = {
    { "select 1", " + 1", NULL },
    { "select 'a'", " || 'a'", NULL },
    { "select 1", "::int", NULL },
    { "select 1", " union select 1", NULL },
    { "select * from t0", " join t on true", NULL },
    { "select now()", "::timestamp with time zone", NULL },
    { "select 1", " + percentile_cont(0.5) within group (order by x)", NULL },
    { "select ", "not ", "true" },
    { "select ", "- ", "1" },
    { "select ", "(", "1" },
    { "select ", "f(", "1" },
    { "select ", "(select ", "1" },
    { "select ", "case when true then ", "1" },
    { "select ", "array[", "1" },
    { "select * from ", "(select * from ", "t" },
    { "select ", "coalesce(", "1" },
};

static const char  *depth_close[] = {
    NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, ")", ")", ")",
    " end", "]", ") x", ", 1)"
};


static void *
depth_thread(void *arg)
{
    int                   *result, rc;
    size_t                 len;
    spectra_err_t          err;
    const char            *sql;
    spectra_sql_policy_t   policy;

    sql = ((const char **) arg)[0];
    result = (int *) ((const char **) arg)[1];
    len = strlen(sql);

    spectra_sql_policy_default(&policy);
    policy.max_len = 0;

    rc = spectra_sql_check(&policy, (const u_char *) sql, len, NULL, &err);

    *result = (rc == OK
               || (rc == SYN && (strstr(err.message, "nested too deeply")
                                 != NULL
                                 || strstr(err.message, "memory exhausted")
                                    != NULL)))
              ? rc : -1;

    return NULL;
}


START_TEST(test_depth_sane)
{
    char    sql[4096];
    size_t  i, n;

    /* 400 terms of one sum, 100 parentheses, 60 subqueries: checked */
    n = (size_t) snprintf(sql, sizeof(sql), "select 1");

    for (i = 0; i < 400; i++) {
        n += (size_t) snprintf(sql + n, sizeof(sql) - n, " + 1");
    }

    expect_passes(NULL, sql);

    memcpy(sql, "select ", 7);

    for (i = 0; i < 100; i++) {
        sql[7 + i] = '(';
        sql[108 + i] = ')';
    }

    sql[107] = '1';
    sql[208] = '\0';
    expect_passes(NULL, sql);

    n = 0;

    for (i = 0; i < 60; i++) {
        n += (size_t) snprintf(sql + n, sizeof(sql) - n, "select (");
    }

    n += (size_t) snprintf(sql + n, sizeof(sql) - n, "select 1");

    for (i = 0; i < 60; i++) {
        sql[n++] = ')';
    }

    sql[n] = '\0';
    expect_passes(NULL, sql);

    /* and what is too deep says where it got so */
    n = (size_t) snprintf(sql, sizeof(sql), "select 1");

    for (i = 0; i < 600; i++) {
        n += (size_t) snprintf(sql + n, sizeof(sql) - n, "+1");
    }

    expect_refused(NULL, sql, SYN, 1000, "the statement is nested too deeply "
                   "to be checked at line 1, column 1001");
}
END_TEST


START_TEST(test_depth)
{
    int              result;
    char            *sql;
    size_t           n, k, size, count;
    pthread_t        t;
    const char      *args[2];
    pthread_attr_t   attr;
    static size_t    counts[] = { 10, 100, 400, 1000, 20000 };

    for (k = 0; k < sizeof(counts) / sizeof(counts[0]); k++) {
        count = counts[k];
        size = strlen(depth_units[_i][0]) + count
               * (strlen(depth_units[_i][1])
                  + (depth_close[_i] ? strlen(depth_close[_i]) : 0))
               + 16;
        sql = malloc(size);
        ck_assert_ptr_nonnull(sql);

        n = (size_t) snprintf(sql, size, "%s", depth_units[_i][0]);

        for (size_t i = 0; i < count; i++) {
            n += (size_t) snprintf(sql + n, size - n, "%s",
                                   depth_units[_i][1]);
        }

        if (depth_units[_i][2] != NULL) {
            n += (size_t) snprintf(sql + n, size - n, "%s",
                                   depth_units[_i][2]);
        }

        for (size_t i = 0; depth_close[_i] != NULL && i < count; i++) {
            n += (size_t) snprintf(sql + n, size - n, "%s", depth_close[_i]);
        }

        args[0] = sql;
        args[1] = (const char *) &result;

        pthread_attr_init(&attr);
        pthread_attr_setstacksize(&attr, 1024 * 1024);
        ck_assert_int_eq(pthread_create(&t, &attr, depth_thread, args), 0);
        pthread_join(t, NULL);
        pthread_attr_destroy(&attr);

        ck_assert_msg(result >= 0, "%s x %zu: neither checked nor refused",
                      depth_units[_i][1], count);

        /* what is short is checked, what is long is refused */
        if (count <= 10) {
            ck_assert_msg(result == OK, "%s x %zu refused",
                          depth_units[_i][1], count);
        }

        if (count == 20000) {
            ck_assert_int_eq(result, SYN);
        }

        free(sql);
    }
}
END_TEST


/* libpg_query keeps its state per thread: checks may run concurrently. */

static void *
threads_thread(void *arg)
{
    int            i, *bad;
    spectra_err_t  err;

    bad = arg;

    for (i = 0; i < 200; i++) {
        if (check(NULL, "select a, sum(b) over (partition by c) from t "
                  "where d = :d", NULL, &err) != OK
            || check(NULL, "select pg_sleep(1)", NULL, &err) != DENY
            || strcmp(err.message, "function pg_sleep is not allowed at "
                      "line 1, column 8") != 0
            || check(NULL, "select from where", NULL, &err) != SYN)
        {
            (*bad)++;
        }
    }

    return NULL;
}


START_TEST(test_threads)
{
    int        i, bad[4];
    pthread_t  t[4];

    for (i = 0; i < 4; i++) {
        bad[i] = 0;
        ck_assert_int_eq(pthread_create(&t[i], NULL, threads_thread, &bad[i]),
                         0);
    }

    for (i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        ck_assert_int_eq(bad[i], 0);
    }
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
    spectra_err_t        err;

    q = unload_round_trips[_i];
    len = strlen(q);

    n = spectra_sql_unload_escape_len((u_char *) q, len);
    ck_assert_uint_lt(n + 3, sizeof(lit));

    lit[0] = '\'';
    end = spectra_sql_unload_escape(lit + 1, (u_char *) q, len);
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
    { "", 0, "the UNLOAD query must be a quoted literal at line 1, column 1" },
    { "select", 0,
      "the UNLOAD query must be a quoted literal at line 1, column 1" },
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
    spectra_err_t        err;

    ck_assert_int_eq(spectra_sql_unload_unescape(
                         S(unescape_errors[_i].lit), out, &out_len, &used,
                         &err), SPECTRA_SQL_ERR_INVALID);
    ck_assert_uint_eq(err.position, unescape_errors[_i].offset);
    ck_assert_str_eq(err.message, unescape_errors[_i].message);
}
END_TEST


START_TEST(test_unload_unescape_doubled)
{
    u_char               out[64];
    size_t               used, out_len;
    spectra_err_t        err;

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
    u->query.data = (u_char *) query;
    u->query.len = strlen(query);
    u->target.data = (u_char *) "s3://b/p/tenant=t1/job=j1/";
    u->target.len = strlen((const char *) u->target.data);
    u->iam_role.data = (u_char *) "arn:aws:iam::1:role/r";
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
    u.iam_role.data = (u_char *) "default";
    u.iam_role.len = 7;
    u.format = SPECTRA_SQL_UNLOAD_PARQUET;
    u.manifest = 1;
    unload_build(&u, out, sizeof(out));
    ck_assert_str_eq(out, "UNLOAD ('select 1') TO "
                     "'s3://b/p/tenant=t1/job=j1/' IAM_ROLE default "
                     "FORMAT PARQUET MANIFEST");

    unload_init(&u, "select 1");
    u.format = SPECTRA_SQL_UNLOAD_CSV;
    u.compression = SPECTRA_SQL_UNLOAD_GZIP;
    u.manifest = 1;
    u.manifest_verbose = 1;
    unload_build(&u, out, sizeof(out));
    ck_assert_str_eq(out, "UNLOAD ('select 1') TO "
                     "'s3://b/p/tenant=t1/job=j1/' "
                     "IAM_ROLE 'arn:aws:iam::1:role/r' FORMAT CSV GZIP "
                     "MANIFEST VERBOSE");

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
    u.iam_role.data = (u_char *) "defaulT";
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
    BAD_PARQUET_GZIP, BAD_SIZE_LOW, BAD_SIZE_HIGH, BAD_VERBOSE, BAD_LAST
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
    "VERBOSE needs MANIFEST",
};


START_TEST(test_unload_invalid)
{
    spectra_err_t         err;
    spectra_sql_unload_t  u;

    unload_init(&u, "select 1");

    switch (_i) {
    case BAD_QUERY:
        u.query.len = 0;
        break;
    case BAD_TARGET_QUOTE:
        u.target.data = (u_char *) "s3://b/x'; drop";
        u.target.len = 15;
        break;
    case BAD_TARGET_EMPTY:
        u.target.len = 0;
        break;
    case BAD_ROLE_BACKSLASH:
        u.iam_role.data = (u_char *) "arn\\";
        u.iam_role.len = 4;
        break;
    case BAD_ROLE_CTRL:
        u.iam_role.data = (u_char *) "arn\x7f";
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
    case BAD_VERBOSE:
        u.manifest_verbose = 1;
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
    spectra_err_t         err;
    spectra_sql_unload_t  u, v;

    unload_init(&u, "select 'a''b', '\\', $$'$$ -- x'\n");
    u.format = SPECTRA_SQL_UNLOAD_CSV;
    u.header = 1;
    u.delimiter = '|';
    u.compression = SPECTRA_SQL_UNLOAD_ZSTD;
    u.manifest = 1;
    u.manifest_verbose = 1;
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
    ck_assert_uint_eq(v.manifest_verbose, 1);
    ck_assert_uint_eq(v.parallel_off, 1);
    ck_assert_uint_eq(v.max_file_size_mb, 6348);
}
END_TEST


START_TEST(test_unload_parse_variants)
{
    u_char                qbuf[256];
    spectra_err_t         err;
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
    ck_assert_uint_eq(v.manifest_verbose, 0);
    ck_assert_uint_eq(v.header, 0);

    /* VERBOSE only right after MANIFEST; MANIFEST alone is not verbose */
    ck_assert_int_eq(spectra_sql_unload_parse(
        S("unload ('select 1') to 's3://b/' iam_role default manifest "
          "/* c */ Verbose zstd"), qbuf, &v, &err), OK);
    ck_assert_uint_eq(v.manifest, 1);
    ck_assert_uint_eq(v.manifest_verbose, 1);
    ck_assert_int_eq(v.compression, SPECTRA_SQL_UNLOAD_ZSTD);

    ck_assert_int_eq(spectra_sql_unload_parse(
        S("unload ('select 1') to 's3://b/' iam_role default manifest;"),
        qbuf, &v, &err), OK);
    ck_assert_uint_eq(v.manifest, 1);
    ck_assert_uint_eq(v.manifest_verbose, 0);

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
    { "unload ('x') to 's3://b/' iam_role default verbose manifest",
      SPECTRA_SQL_ERR_INVALID, 43,
      "unsupported UNLOAD option at line 1, column 44" },
    { "unload ('x') to 's3://b/' iam_role default manifest manifest verbose",
      SPECTRA_SQL_ERR_INVALID, 52,
      "repeated UNLOAD option at line 1, column 53" },
    { "unload ('x') to 's3://b/' iam_role default manifest verbose verbose",
      SPECTRA_SQL_ERR_INVALID, 60,
      "unsupported UNLOAD option at line 1, column 61" },
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
      SPECTRA_SQL_ERR_INVALID, SPECTRA_POS_NONE,
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
    spectra_err_t         err;
    spectra_sql_unload_t  v;

    ck_assert_int_eq(spectra_sql_unload_parse(S(unload_parse_errors[_i].sql),
                                              qbuf, &v, &err),
                     unload_parse_errors[_i].rc);
    ck_assert_uint_eq(err.position, unload_parse_errors[_i].offset);
    ck_assert_str_eq(err.message, unload_parse_errors[_i].message);
}
END_TEST


static Suite *
sql_suite(void)
{
    Suite  *s;
    TCase  *tc;

    s = suite_create("sql");

    tc = tcase_create("policy");
    tcase_add_loop_test(tc, test_ordinary, 0, NCASES(ordinary_cases));
    tcase_add_loop_test(tc, test_statements, 0, NCASES(statements_cases));
    tcase_add_loop_test(tc, test_nesting, 0, NCASES(nesting_cases));
    tcase_add_loop_test(tc, test_functions, 0, NCASES(functions_cases));
    tcase_add_loop_test(tc, test_relations, 0, NCASES(relations_cases));
    tcase_add_loop_test(tc, test_syntax, 0, NCASES(syntax_cases));
    tcase_add_loop_test(tc, test_multiple, 0, NCASES(multiple_cases));
    tcase_add_loop_test(tc, test_empty, 0, NCASES(empty_cases));
    tcase_add_loop_test(tc, test_params_refused, 0,
                        NCASES(params_refused_cases));
    tcase_add_loop_test(tc, test_denied_function, 0,
                        NCASES(denied_functions));
    tcase_add_loop_test(tc, test_allowed_function, 0,
                        NCASES(allowed_functions));
    tcase_add_test(tc, test_policy_lists);
    tcase_add_test(tc, test_allow_list);
    tcase_add_test(tc, test_allow_values);
    tcase_add_test(tc, test_limits);
    tcase_add_test(tc, test_positions);
    tcase_add_test(tc, test_depth_sane);
    tcase_add_loop_test(tc, test_depth, 0, NCASES(depth_units));
    tcase_add_test(tc, test_threads);
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);

    tc = tcase_create("lists");
    tcase_add_test(tc, test_list_match);
    tcase_add_test(tc, test_list_parse);
    tcase_add_test(tc, test_list_entries);
    suite_add_tcase(s, tc);

    tc = tcase_create("params");
    tcase_add_loop_test(tc, test_params, 0, NCASES(params_cases));
    tcase_add_test(tc, test_params_limit);
    tcase_add_test(tc, test_wrap);
    tcase_add_loop_test(tc, test_bind, 0, NCASES(bind_cases));
    tcase_add_test(tc, test_bind_errors);
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
