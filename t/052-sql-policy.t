# The SQL policy through nginx: ordinary analytics SQL runs and returns
# its rows; hostile SQL is refused with 400 INVALID_SQL naming what and
# where, logged, and never reaches the Data API.  The cases are the tables
# below; each becomes one block.
use FindBin ();
use lib "$FindBin::Bin/data/query/lib", "$FindBin::Bin/data/auth/lib";
use Test::Nginx::Socket 'no_plan';
use SpectraLogArchive;
use SpectraAuth qw(ensure_keys);
use SpectraQuery qw(api_key key_file http_config json);

# [title, SQL, the response's "data"]
my @pass = (
    [q{a CTE},
     q{with t as (select region, sum(amount) as s from sales group by region) select region from t order by region},
     q{[{"region":"amer"},{"region":"apac"},{"region":"emea"},{"region":"latam"}]}],
    [q{a recursive CTE},
     q{with recursive r(n) as (select 1 union all select n + 1 from r where n < 5) select sum(n) as total from r},
     q{[{"total":15}]}],
    [q{window functions},
     q{select id, row_number() over (order by id) as rn, sum(quantity) over (partition by region order by id) as running from sales where id <= 3 order by id},
     q{[{"id":1,"rn":1,"running":2},{"id":2,"rn":2,"running":5},{"id":3,"rn":3,"running":9}]}],
    [q{UNION},
     q{select 1 as a union select 2 order by a},
     q{[{"a":1},{"a":2}]}],
    [q{UNION ALL, INTERSECT and EXCEPT},
     q{(select 1 as a union all select 1) intersect select 1 except select 2},
     q{[{"a":1}]}],
    [q{a column aliased last_update},
     q{select max(sale_date) as last_update from sales where id <= 10},
     q{[{"last_update":"2025-01-11"}]}],
    [q{columns named like keywords},
     q{select 1 as deleted, 2 as "update", 3 as created_at, 4 as insert_id, 5 as "drop"},
     q{[{"deleted":1,"update":2,"created_at":3,"insert_id":4,"drop":5}]}],
    [q{'x' AND b = 1 inside a string},
     q{select count(*) as n from sales where note = 'x'' AND b = 1'},
     q{[{"n":0}]}],
    [q{a stacked statement inside a string},
     q{select 'a''; delete from sales; --' as s},
     q{[{"s":"a'; delete from sales; --"}]}],
    [q{a line comment hiding a statement},
     "select 1 as a -- ; delete from sales\n",
     q{[{"a":1}]}],
    [q{a block comment hiding a statement},
     q{select /* ; delete from sales */ 2 as b},
     q{[{"b":2}]}],
    [q{nested block comments},
     q{select /* outer /* inner; drop table sales */ still a comment; */ 3 as c},
     q{[{"c":3}]}],
    [q{a dollar-quoted literal with a semicolon},
     q{select $$it's; drop table sales$$ as s},
     q{[{"s":"it's; drop table sales"}]}],
    [q{a tagged dollar quote containing $$},
     q{select $q$ $$ ; delete $$ $q$ as s},
     q{[{"s":" $$ ; delete $$ "}]}],
    [q{an E string with an escaped quote},
     "select E'a\\'; delete from sales' as s",
     q{[{"s":"a'; delete from sales"}]}],
    [q{a quoted identifier with a semicolon},
     q{select 1 as "a;b"},
     q{[{"a;b":1}]}],
    [q{VALUES},
     q{values (1, 'a'), (2, 'b')},
     q{[{"column1":1,"column2":"a"},{"column1":2,"column2":"b"}]}],
    [q{a trailing semicolon},
     q{select 1 as one;},
     q{[{"one":1}]}],
    [q{a trailing semicolon and comment},
     "select 1 as one; -- done\n",
     q{[{"one":1}]}],
    [q{mixed-case keywords},
     q{SeLeCt CoUnT(*) AS n FrOm sales WHERE region = 'emea'},
     q{[{"n":150000}]}],
    [q{EXISTS and a subquery in FROM},
     q{select count(*) as n from (select id from sales where exists (select 1 from regions r where r.region = sales.region)) as s},
     q{[{"n":600000}]}],
    [q{CASE, COALESCE and date_trunc},
     q{select date_trunc('month', sale_date)::date as m, coalesce(sum(case when returned then 1 else 0 end), 0) as r from sales where id <= 100 group by 1 order by 1},
     q{[{"m":"2025-01-01","r":1},{"m":"2025-02-01","r":1},{"m":"2025-03-01","r":1},{"m":"2025-04-01","r":1}]}],
    [q{FILTER and GROUPING SETS},
     q{select region, count(*) filter (where returned) as r from sales where id <= 1000 group by grouping sets ((region), ()) order by region},
     q{[{"region":"amer","r":11},{"region":"apac","r":12},{"region":"emea","r":10},{"region":"latam","r":12},{"region":null,"r":45}]}],
    [q{a LATERAL join},
     q{select r.region, x.n from regions r, lateral (select count(*) as n from sales s where s.region = r.region and s.id <= 100) x order by 1},
     q{[{"region":"amer","n":18},{"region":"apac","n":13},{"region":"emea","n":17},{"region":"latam","n":12}]}],
    [q{keywords inside strings},
     q{select 'COPY sales TO STDOUT' as a, 'set role postgres' as b, 'pg_sleep(10)' as c},
     q{[{"a":"COPY sales TO STDOUT","b":"set role postgres","c":"pg_sleep(10)"}]}],
    [q{comment markers inside strings},
     q{select '--not a comment' as a, '/*' as b, '*/' as c},
     q{[{"a":"--not a comment","b":"/*","c":"*/"}]}],
    [q{a function call named like a denied one only as a column alias},
     q{select 1 as sleep, 2 as "current_setting"},
     q{[{"sleep":1,"current_setting":2}]}],
    [q{json functions},
     q{select json_build_object('a', 1)::text as j},
     "[{\"j\":\"{\\\"a\\\" : 1}\"}]"],
);


# [title, SQL, the 400's message, the byte offset it names]
my @reject = (
    [q{two statements},
     q{select 1; select 2},
     q{multiple statements are not allowed: a second one starts at line 1, column 11}, 10],
    [q{a stacked DROP},
     q{select 1; drop table sales},
     q{multiple statements are not allowed: a second one starts at line 1, column 11}, 10],
    [q{a statement after a line comment},
     "select 1 -- comment\n; delete from sales",
     q{multiple statements are not allowed: a second one starts at line 2, column 3}, 22],
    [q{a statement after a block comment},
     q{select 1 /* ; */ ; delete from sales},
     q{multiple statements are not allowed: a second one starts at line 1, column 20}, 19],
    [q{a statement after a nested comment that closes},
     q{select 1 /* a /* b */ c */ ; delete from sales},
     q{multiple statements are not allowed: a second one starts at line 1, column 30}, 29],
    [q{a statement after a doubled quote},
     q{select 'a'';' ; delete from sales},
     q{multiple statements are not allowed: a second one starts at line 1, column 17}, 16],
    [q{a backslash is not an escape in a plain string},
     "select 'a\\'; delete from sales; --'",
     q{a backslash before a quote is ambiguous in a string literal at line 1, column 10: write '' for a quote}, 9],
    [q{a statement after an E string escape},
     "select E'\\'' ; delete from sales",
     q{multiple statements are not allowed: a second one starts at line 1, column 16}, 15],
    [q{a statement after a doubled-quote identifier},
     q{select 1 as "a""" ; delete from sales},
     q{multiple statements are not allowed: a second one starts at line 1, column 21}, 20],
    [q{a statement after a dollar-quoted literal},
     q{select $$;$$; delete from sales},
     q{multiple statements are not allowed: a second one starts at line 1, column 15}, 14],
    [q{a statement after a tagged dollar quote},
     q{select $a$ $b$ ; $a$; update sales set note = 'x'},
     q{multiple statements are not allowed: a second one starts at line 1, column 23}, 22],
    [q{two semicolons},
     q{select 1;;},
     q{multiple statements are not allowed: a second one starts at line 1, column 10}, 9],
    [q{CREATE TABLE},
     q{create table t (a int)},
     q{only read-only statements are allowed: CREATE at line 1, column 1}, 0],
    [q{DROP TABLE},
     q{drop table sales},
     q{only read-only statements are allowed: DROP at line 1, column 1}, 0],
    [q{ALTER TABLE},
     q{alter table sales disable row level security},
     q{only read-only statements are allowed: ALTER at line 1, column 1}, 0],
    [q{TRUNCATE},
     q{truncate sales},
     q{only read-only statements are allowed: TRUNCATE at line 1, column 1}, 0],
    [q{GRANT},
     q{grant select on sales to public},
     q{only read-only statements are allowed: GRANT at line 1, column 1}, 0],
    [q{CREATE FUNCTION},
     q{create function f() returns int as $$ select 1 $$ language sql},
     q{only read-only statements are allowed: CREATE at line 1, column 1}, 0],
    [q{INSERT},
     q{insert into regions values ('x', 'x', 'EUR', 0)},
     q{only read-only statements are allowed: INSERT at line 1, column 1}, 0],
    [q{UPDATE},
     q{update sales set amount = 0},
     q{only read-only statements are allowed: UPDATE at line 1, column 1}, 0],
    [q{DELETE},
     q{delete from sales},
     q{only read-only statements are allowed: DELETE at line 1, column 1}, 0],
    [q{MERGE},
     q{merge into sales s using regions r on s.region = r.region when matched then delete},
     q{only read-only statements are allowed: MERGE at line 1, column 1}, 0],
    [q{a DELETE in a CTE},
     q{with d as (delete from sales returning *) select count(*) from d},
     q{data-modifying statements are not allowed: DELETE at line 1, column 12}, 11],
    [q{an UPDATE in a CTE},
     q{with u as (update sales set note = 'x' returning id) select 1},
     q{data-modifying statements are not allowed: UPDATE at line 1, column 12}, 11],
    [q{an INSERT in a nested CTE},
     q{with a as (select 1), b as (insert into regions values ('y', 'y', 'EUR', 0) returning *) select * from a},
     q{data-modifying statements are not allowed: INSERT at line 1, column 29}, 28],
    [q{SELECT INTO},
     q{select * into stolen from sales},
     q{SELECT INTO is not allowed at line 1, column 10}, 9],
    [q{SELECT INTO TEMP},
     q{select 1 as a into temp t},
     q{SELECT INTO is not allowed at line 1, column 15}, 14],
    [q{COPY TO STDOUT},
     q{copy sales to stdout},
     q{only read-only statements are allowed: COPY at line 1, column 1}, 0],
    [q{COPY a query to a file},
     q{copy (select * from sales) to '/tmp/sales.csv'},
     q{only read-only statements are allowed: COPY at line 1, column 1}, 0],
    [q{UNLOAD},
     q{unload ('select * from sales') to 's3://bucket/x'},
     q{only read-only statements are allowed: UNLOAD at line 1, column 1}, 0],
    [q{SET ROLE},
     q{set role tenant_globex},
     q{only read-only statements are allowed: SET at line 1, column 1}, 0],
    [q{SET SESSION AUTHORIZATION},
     q{set session authorization postgres},
     q{only read-only statements are allowed: SET at line 1, column 1}, 0],
    [q{RESET},
     q{reset role},
     q{only read-only statements are allowed: RESET at line 1, column 1}, 0],
    [q{CALL},
     q{call refresh_everything()},
     q{only read-only statements are allowed: CALL at line 1, column 1}, 0],
    [q{DO},
     q{do $$ begin delete from sales; end $$},
     q{only read-only statements are allowed: DO at line 1, column 1}, 0],
    [q{BEGIN},
     q{begin},
     q{only read-only statements are allowed: BEGIN at line 1, column 1}, 0],
    [q{COMMIT},
     q{commit},
     q{only read-only statements are allowed: COMMIT at line 1, column 1}, 0],
    [q{ROLLBACK},
     q{rollback},
     q{only read-only statements are allowed: ROLLBACK at line 1, column 1}, 0],
    [q{START TRANSACTION},
     q{start transaction read write},
     q{only read-only statements are allowed: START at line 1, column 1}, 0],
    [q{SAVEPOINT},
     q{savepoint a},
     q{only read-only statements are allowed: SAVEPOINT at line 1, column 1}, 0],
    [q{LOCK},
     q{lock table sales},
     q{only read-only statements are allowed: LOCK at line 1, column 1}, 0],
    [q{EXPLAIN ANALYZE of a DELETE},
     q{explain analyze delete from sales},
     q{only read-only statements are allowed: EXPLAIN at line 1, column 1}, 0],
    [q{VACUUM},
     q{vacuum sales},
     q{only read-only statements are allowed: VACUUM at line 1, column 1}, 0],
    [q{pg_sleep},
     q{select pg_sleep(10)},
     q{function pg_sleep is not allowed at line 1, column 8}, 7],
    [q{pg_sleep in upper case},
     q{select PG_SLEEP(10)},
     q{function pg_sleep is not allowed at line 1, column 8}, 7],
    [q{pg_sleep quoted},
     q{select "pg_sleep"(10)},
     q{function pg_sleep is not allowed at line 1, column 8}, 7],
    [q{pg_sleep qualified},
     q{select pg_catalog.pg_sleep(10)},
     q{function pg_catalog.pg_sleep is not allowed at line 1, column 8}, 7],
    [q{pg_sleep with a comment before its parenthesis},
     q{select pg_sleep /* x */ (10)},
     q{function pg_sleep is not allowed at line 1, column 8}, 7],
    [q{pg_sleep in a subquery},
     q{select count(*) from sales where id = (select 1 from pg_sleep(1))},
     q{function pg_sleep is not allowed at line 1, column 54}, 53],
    [q{set_config},
     q{select set_config('role', 'tenant_globex', false)},
     q{function set_config is not allowed at line 1, column 8}, 7],
    [q{current_setting},
     q{select current_setting('is_superuser')},
     q{function current_setting is not allowed at line 1, column 8}, 7],
    [q{pg_read_file},
     q{select pg_read_file('/etc/passwd')},
     q{function pg_read_file is not allowed at line 1, column 8}, 7],
    [q{lo_import},
     q{select lo_import('/etc/passwd')},
     q{function lo_import is not allowed at line 1, column 8}, 7],
    [q{pg_terminate_backend},
     q{select pg_terminate_backend(1)},
     q{function pg_terminate_backend is not allowed at line 1, column 8}, 7],
    [q{dblink},
     q{select * from dblink('host=x', 'delete from sales') as t(a int)},
     q{function dblink is not allowed at line 1, column 15}, 14],
    [q{pg_catalog.pg_authid},
     q{select rolname, rolpassword from pg_catalog.pg_authid},
     q{schema pg_catalog is not allowed at line 1, column 34}, 33],
    [q{pg_catalog quoted},
     q{select * from "pg_catalog"."pg_class"},
     q{schema pg_catalog is not allowed at line 1, column 15}, 14],
    [q{information_schema.tables},
     q{select table_name from information_schema.tables},
     q{schema information_schema is not allowed at line 1, column 24}, 23],
    [q{pg_user},
     q{select usename from pg_user},
     q{relation pg_user is not allowed at line 1, column 21}, 20],
    [q{pg_roles},
     q{select rolname from pg_roles},
     q{relation pg_roles is not allowed at line 1, column 21}, 20],
    [q{pg_stat_activity},
     q{select query from pg_stat_activity},
     q{relation pg_stat_activity is not allowed at line 1, column 19}, 18],
);

our %K;

my $line;
($K{acme}, $line) = api_key('q052acme', 'tenant=acme permissions=query');

$ENV{TEST_NGINX_QT_KEYS} = key_file($line);
$ENV{TEST_NGINX_AUTH_KEYS} = ensure_keys("$FindBin::Bin/data/auth/keys");

# authentication, the warehouse, the Data API upstream and the job store
our $HttpConfig = http_config();

our (@REQ, @PAT, @LOG);

my $spec = '';
my $n = 0;

sub request {
    my ($sql) = @_;
    return "POST /v1/queries\n" . json()->encode({sql => $sql});
}

for my $c (@pass) {
    $n++;
    $REQ[$n] = request($c->[1]);
    $PAT[$n] = qr/^\{"job_id":"job_\w{26}","status":"COMPLETED","data":\Q$c->[2]\E,"metadata":\{.*"truncated":false,/s;
    $spec .= <<"_EOB_";
=== TEST $n: passes: $c->[0]
--- http_config eval: \$::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include \$TEST_NGINX_REPO/t/data/query/internal.conf;
--- request eval
\$::REQ[$n]
--- response_body_like eval
\$::PAT[$n]
--- error_log
spectra dataapi call ExecuteStatement
--- no_error_log
[error]
spectra: SQL rejected


_EOB_
}

for my $c (@reject) {
    my $msg = json()->encode([$c->[2]]);

    $msg =~ s/^\["|"\]$//g;
    $n++;
    $REQ[$n] = request($c->[1]);
    $PAT[$n] = qr/^\{"error":\{"code":"INVALID_SQL","message":"\Q$msg\E","request_id":"[0-9a-f]{32}"\}\}\n\z/;
    $LOG[$n] = qr/\[info\] .* spectra: SQL rejected: \Q$c->[2]\E \(byte $c->[3]\), client: /;
    $spec .= <<"_EOB_";
=== TEST $n: rejected: $c->[0]
--- http_config eval: \$::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include \$TEST_NGINX_REPO/t/data/query/internal.conf;
--- request eval
\$::REQ[$n]
--- error_code: 400
--- response_body_like eval
\$::PAT[$n]
--- error_log eval
\$::LOG[$n]
--- no_error_log
spectra dataapi call
[error]


_EOB_
}

add_block_preprocessor(sub {
    my $block = shift;

    $block->set_value('more_headers',
                      "X-API-Key: $K{acme}\nContent-Type: application/json\n")
        unless defined $block->more_headers;
});

Test::Base::spec_string($spec);

# every request twice to the same nginx: no answer here may depend on
# what the first one left behind (caches, pooled sessions, stored jobs)
repeat_each(2);

run_tests();
