# Hostile SQL through nginx: spellings written to get a denied function,
# relation or statement past a check that reads only the text (U& escapes
# with UESCAPE in every string form, case, quotes, qualification, comments
# and newlines between the parts, hiding places at any depth, strings that
# PostgreSQL and Redshift end in different places).  Each is 400
# INVALID_SQL naming what was refused and where, logged with its byte
# offset, and never reaches the Data API.
use FindBin ();
use lib "$FindBin::Bin/data/query/lib", "$FindBin::Bin/data/auth/lib";
use Test::Nginx::Socket 'no_plan';
use SpectraLogArchive;
use JSON::PP ();
use SpectraAuth qw(ensure_keys);
use SpectraQuery qw(api_key key_file http_config json);

# [title, SQL, the 400's message, the byte offset it names]
my @hostile = (
    [q{U& with UESCAPE '!'},
     q{select U&"!0073et_config" UESCAPE '!'('role', 'tenant_globex', false)},
     q{function set_config is not allowed at line 1, column 8}, 7],
    [q{U& with UESCAPE E'!'},
     q{select U&"!0073et_config" UESCAPE E'!'('role', 'tenant_globex', false)},
     q{function set_config is not allowed at line 1, column 8}, 7],
    [q{U& with UESCAPE $$!$$},
     q{select U&"!0073et_config" UESCAPE $$!$$('role', 'tenant_globex', false)},
     q{function set_config is not allowed at line 1, column 8}, 7],
    [q{U& with UESCAPE $x$!$x$},
     q{select U&"!0073et_config" UESCAPE $x$!$x$('role', 'tenant_globex', false)},
     q{function set_config is not allowed at line 1, column 8}, 7],
    [q{U& with UESCAPE on the next line},
     "select U&\"!0073et_config\"\nUESCAPE '!'('role', 'tenant_globex', false)",
     q{function set_config is not allowed at line 1, column 8}, 7],
    [q{U& with a UESCAPE string continued on the next line},
     "select U&\"!0073et_config\" UESCAPE ''\n'!'('role', 'tenant_globex', false)",
     q{function set_config is not allowed at line 1, column 8}, 7],
    [q{U& with the default escape},
     q{select U&"\0073et_config"('role', 'tenant_globex', false)},
     q{function set_config is not allowed at line 1, column 8}, 7],
    [q{U& with a six-digit escape},
     q{select U&"\+000073et_config"('role', 'tenant_globex', false)},
     q{function set_config is not allowed at line 1, column 8}, 7],
    [q{set_config in upper case},
     q{select SET_CONFIG('role', 'tenant_globex', false)},
     q{function set_config is not allowed at line 1, column 8}, 7],
    [q{set_config in mixed case},
     q{select Set_Config('role', 'tenant_globex', false)},
     q{function set_config is not allowed at line 1, column 8}, 7],
    [q{set_config quoted},
     q{select "set_config"('role', 'tenant_globex', false)},
     q{function set_config is not allowed at line 1, column 8}, 7],
    [q{set_config qualified and quoted},
     q{select "pg_catalog"."set_config"('role', 'tenant_globex', false)},
     q{function pg_catalog.set_config is not allowed at line 1, column 8}, 7],
    [q{set_config with an upper-case schema},
     q{select PG_CATALOG.set_config('role', 'tenant_globex', false)},
     q{function pg_catalog.set_config is not allowed at line 1, column 8}, 7],
    [q{set_config with comments between its parts},
     q{select pg_catalog /*x*/ . /*y*/ set_config('role', 'tenant_globex', false)},
     q{function pg_catalog.set_config is not allowed at line 1, column 8}, 7],
    [q{set_config with a comment before the parenthesis},
     q{select set_config /* */ ('role', 'tenant_globex', false)},
     q{function set_config is not allowed at line 1, column 8}, 7],
    [q{set_config across lines},
     "select set_config\n(\n'role', 'tenant_globex', false)",
     q{function set_config is not allowed at line 1, column 8}, 7],
    [q{set_config inside XMLELEMENT},
     q{select xmlelement(name a, set_config('role', 'tenant_globex', false))},
     q{function set_config is not allowed at line 1, column 27}, 26],
    [q{query_to_xml runs SQL given as text},
     q{select query_to_xml('select * from sales', true, true, '')},
     q{function query_to_xml is not allowed at line 1, column 8}, 7],
    [q{ts_stat runs SQL given as text},
     q{select * from ts_stat('select note::tsvector from sales')},
     q{function ts_stat is not allowed at line 1, column 15}, 14],
    [q{current_setting},
     q{select current_setting('is_superuser')},
     q{function current_setting is not allowed at line 1, column 8}, 7],
    [q{pg_catalog.pg_authid},
     q{select rolname, rolpassword from pg_catalog.pg_authid},
     q{schema pg_catalog is not allowed at line 1, column 34}, 33],
    [q{a catalog spelled with U& escapes},
     q{select * from U&"pg\005fstat_activity"},
     q{relation pg_stat_activity is not allowed at line 1, column 15}, 14],
    [q{a catalog quoted in upper case},
     q{select * from "PG_STAT_ACTIVITY"},
     q{relation PG_STAT_ACTIVITY is not allowed at line 1, column 15}, 14],
    [q{pg_settings},
     q{select name, setting from pg_settings},
     q{relation pg_settings is not allowed at line 1, column 27}, 26],
    [q{information_schema quoted},
     q{select * from "information_schema"."columns"},
     q{schema information_schema is not allowed at line 1, column 15}, 14],
    [q{a pg_toast table},
     q{select * from pg_toast.pg_toast_2619},
     q{schema pg_toast is not allowed at line 1, column 15}, 14],
    [q{the credential schema},
     q{select * from spectra_admin.credentials},
     q{schema spectra_admin is not allowed at line 1, column 15}, 14],
    [q{a function in the credential schema},
     q{select spectra_admin.get_secret()},
     q{schema spectra_admin is not allowed at line 1, column 8}, 7],
    [q{a catalog by a three-part name},
     q{select * from warehouse.pg_catalog.pg_class},
     q{schema pg_catalog is not allowed at line 1, column 15}, 14],
    [q{TABLE pg_authid},
     q{table pg_authid},
     q{relation pg_authid is not allowed at line 1, column 7}, 6],
    [q{pg_sleep in a CTE},
     q{with s as (select pg_sleep(10)) select * from s},
     q{function pg_sleep is not allowed at line 1, column 19}, 18],
    [q{pg_sleep in a LATERAL subquery},
     q{select * from regions r, lateral (select pg_sleep(10)) x},
     q{function pg_sleep is not allowed at line 1, column 42}, 41],
    [q{pg_sleep in ORDER BY},
     q{select * from regions order by pg_sleep(10)},
     q{function pg_sleep is not allowed at line 1, column 32}, 31],
    [q{pg_sleep in a window},
     q{select sum(amount) over (order by pg_sleep(10)) from sales},
     q{function pg_sleep is not allowed at line 1, column 35}, 34],
    [q{pg_sleep in FILTER},
     q{select count(*) filter (where pg_sleep(10) is null) from sales},
     q{function pg_sleep is not allowed at line 1, column 31}, 30],
    [q{pg_sleep in CASE},
     q{select case when returned then pg_sleep(10) end from sales},
     q{function pg_sleep is not allowed at line 1, column 32}, 31],
    [q{pg_sleep in a VALUES list},
     q{values (1), (pg_sleep(10))},
     q{function pg_sleep is not allowed at line 1, column 14}, 13],
    [q{pg_sleep in ROWS FROM},
     q{select * from rows from (generate_series(1, 2), pg_sleep(10))},
     q{function pg_sleep is not allowed at line 1, column 49}, 48],
    [q{pg_sleep in a subquery in a function argument},
     q{select coalesce((select pg_sleep(10)), 1)},
     q{function pg_sleep is not allowed at line 1, column 25}, 24],
    [q{pg_sleep in GROUP BY CUBE},
     q{select 1 from sales group by cube(pg_sleep(10))},
     q{function pg_sleep is not allowed at line 1, column 35}, 34],
    [q{pg_sleep after multibyte text},
     "select '\x{e9}t\x{e9}', pg_sleep(10)",
     q{function pg_sleep is not allowed at line 1, column 15}, 16],
    [q{lo_import},
     q{select lo_import('/etc/passwd')},
     q{function lo_import is not allowed at line 1, column 8}, 7],
    [q{LO_IMPORT qualified},
     q{select PG_CATALOG.LO_IMPORT('/etc/passwd')},
     q{function pg_catalog.lo_import is not allowed at line 1, column 8}, 7],
    [q{lo_import spelled with U& escapes},
     q{select U&"lo\005fimport"('/etc/passwd')},
     q{function lo_import is not allowed at line 1, column 8}, 7],
    [q{lo_import in FROM},
     q{select * from lo_import('/etc/passwd')},
     q{function lo_import is not allowed at line 1, column 15}, 14],
    [q{pg_read_file},
     q{select pg_read_file('/etc/passwd')},
     q{function pg_read_file is not allowed at line 1, column 8}, 7],
    [q{pg_advisory_lock},
     q{select pg_advisory_lock(1)},
     q{function pg_advisory_lock is not allowed at line 1, column 8}, 7],
    [q{pg_terminate_backend},
     q{select pg_terminate_backend(1)},
     q{function pg_terminate_backend is not allowed at line 1, column 8}, 7],
    [q{nextval},
     q{select nextval('s')},
     q{function nextval is not allowed at line 1, column 8}, 7],
    [q{a DELETE three CTEs deep},
     q{with a as (with b as (with c as (delete from sales returning 1) select 1) select 1) select 1},
     q{data-modifying statements are not allowed: DELETE at line 1, column 34}, 33],
    [q{a DELETE in a CTE in a subquery},
     q{select * from regions where region = (with d as (delete from sales returning region) select region from d limit 1)},
     q{data-modifying statements are not allowed: DELETE at line 1, column 50}, 49],
    [q{WITH ... UPDATE},
     q{with x as (select 1) update sales set note = 'x'},
     q{only read-only statements are allowed: UPDATE at line 1, column 22}, 21],
    [q{SELECT INTO},
     q{select * into stolen from sales},
     q{SELECT INTO is not allowed at line 1, column 10}, 9],
    [q{FOR UPDATE in a subquery},
     q{select * from (select * from sales for update) s},
     q{locking clause FOR UPDATE is not allowed at line 1, column 36}, 35],
    [q{FOR SHARE in an IN subquery},
     q{select * from regions where region in (select region from sales for share)},
     q{locking clause FOR SHARE is not allowed at line 1, column 65}, 64],
    [q{a statement hidden after comments},
     q{select 1 /* x */; /* y */ drop table sales},
     q{multiple statements are not allowed: a second one starts at line 1, column 27}, 26],
    [q{a statement after a line comment and CR},
     "select 1 --x\r; delete from sales",
     q{multiple statements are not allowed: a second one starts at line 1, column 16}, 15],
    [q{EXPLAIN ANALYZE},
     q{explain analyze delete from sales},
     q{only read-only statements are allowed: EXPLAIN at line 1, column 1}, 0],
    [q{a backslash ends a string for PostgreSQL, not for Redshift},
     q{select 'a\' , set_config('role', 'tenant_globex', false) --'},
     q{a backslash before a quote is ambiguous in a string literal at line 1, column 10: write '' for a quote}, 9],
    [q{a positional parameter},
     q{select * from sales where id = $1},
     q{positional parameters ($1) are not supported at line 1, column 32: use :name}, 31],
    [q{PREPARE},
     q{prepare p as select set_config('role', 'tenant_globex', false)},
     q{only read-only statements are allowed: PREPARE at line 1, column 1}, 0],
    [q{SET ROLE},
     q{set role tenant_globex},
     q{only read-only statements are allowed: SET at line 1, column 1}, 0],
    [q{DISCARD ALL},
     q{discard all},
     q{only read-only statements are allowed: DISCARD at line 1, column 1}, 0],
    [q{COPY TO PROGRAM},
     q{copy sales to program 'id'},
     q{only read-only statements are allowed: COPY at line 1, column 1}, 0],
    [q{TOP is Redshift syntax},
     q{select top 10 * from sales},
     q{syntax error at or near "10" at line 1, column 12: TOP is Redshift syntax, write LIMIT n at the end of the query}, 11],
    [q{nesting too deep to check},
     'select 1' . ('+1' x 600),
     q{the statement is nested too deeply to be checked at line 1, column 1001}, 1000],
);

our %K;

my $line;
($K{acme}, $line) = api_key('q058acme', 'tenant=acme permissions=query');

$ENV{TEST_NGINX_QT_KEYS} = key_file($line);
$ENV{TEST_NGINX_AUTH_KEYS} = ensure_keys("$FindBin::Bin/data/auth/keys");

# authentication, the warehouse, the Data API upstream and the job store
our $HttpConfig = http_config();

our (@REQ, @PAT, @LOG);

# non-ASCII SQL goes as \u escapes, which nginx decodes to UTF-8
my $ascii = JSON::PP->new->ascii->canonical;

my $spec = '';
my $n = 0;

for my $c (@hostile) {
    my $msg = json()->encode([$c->[2]]);

    $msg =~ s/^\["|"\]$//g;
    $n++;
    $REQ[$n] = "POST /v1/queries\n" . $ascii->encode({sql => $c->[1]});
    $PAT[$n] = qr/^\{"error":\{"code":"INVALID_SQL","message":"\Q$msg\E","request_id":"[0-9a-f]{32}"\}\}\n\z/;
    $LOG[$n] = qr/\[info\] .* spectra: SQL rejected: \Q$c->[2]\E \(byte $c->[3]\), client: /;
    $spec .= <<"_EOB_";
=== TEST $n: refused: $c->[0]
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
