# The SQL policy's directives: deny lists that add to the built-in ones,
# an allow list of functions read from a file, VALUES statements on or
# off, how each level inherits them, and the configurations nginx -t
# refuses.
use FindBin ();
use lib "$FindBin::Bin/data/query/lib", "$FindBin::Bin/data/auth/lib";
use Test::Nginx::Socket 'no_plan';
use SpectraLogArchive;
use SpectraAuth qw(ensure_keys);
use SpectraQuery qw(api_key key_file http_config);

our %K;

my $line;
($K{acme}, $line) = api_key('q062acme', 'tenant=acme permissions=query');

$ENV{TEST_NGINX_QT_KEYS} = key_file($line);
$ENV{TEST_NGINX_AUTH_KEYS} = ensure_keys("$FindBin::Bin/data/auth/keys");

# authentication, the warehouse, the Data API upstream and the job store
our $HttpConfig = http_config();

add_block_preprocessor(sub {
    my $block = shift;

    $block->set_value('more_headers',
                      "X-API-Key: $K{acme}\nContent-Type: application/json\n")
        unless defined $block->more_headers;
});

# every request twice to the same nginx: no answer here may depend on
# what the first one left behind (caches, pooled sessions, stored jobs)
repeat_each(2);

run_tests();

__DATA__

=== TEST 1: spectra_sql_deny_functions adds names and patterns to the built-in list
--- http_config eval: $::HttpConfig
--- config
    spectra_sql_deny_functions mask_* Decrypt;

    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- request
POST /v1/queries
{"sql": "select region, decrypt(note) from sales"}
--- error_code: 400
--- response_body_like chomp
^\{"error":\{"code":"INVALID_SQL","message":"function decrypt is not allowed at line 1, column 16","request_id":"[0-9a-f]{32}"\}\}$
--- error_log
spectra: SQL rejected: function decrypt is not allowed at line 1, column 16 (byte 15)
--- no_error_log
spectra dataapi call
[error]



=== TEST 2: with extra deny entries the built-in ones still apply
--- http_config eval: $::HttpConfig
--- config
    spectra_sql_deny_functions mask_*;

    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- request
POST /v1/queries
{"sql": "select pg_sleep(1)"}
--- error_code: 400
--- response_body_like chomp
"message":"function pg_sleep is not allowed at line 1, column 8"
--- no_error_log
spectra dataapi call
[error]



=== TEST 3: names not on the lists run as before
--- http_config eval: $::HttpConfig
--- config
    spectra_sql_deny_functions mask_* decrypt;
    spectra_sql_deny_relations secrets;

    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- request
POST /v1/queries
{"sql": "select count(*) as n from sales where region = 'emea'"}
--- response_body_like chomp
^\{"job_id":"job_\w{26}","status":"COMPLETED","data":\[\{"n":150000\}\]
--- no_error_log
[error]



=== TEST 4: spectra_sql_deny_relations denies a relation however it is qualified
--- http_config eval: $::HttpConfig
--- config
    spectra_sql_deny_relations regions;

    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- request
POST /v1/queries
{"sql": "select s.region from sales s join public.regions r on r.region = s.region"}
--- error_code: 400
--- response_body_like chomp
"message":"relation public.regions is not allowed at line 1, column 35"
--- error_log
(byte 34)
--- no_error_log
spectra dataapi call
[error]



=== TEST 5: spectra_sql_deny_schemas denies relations and functions of a schema
--- http_config eval: $::HttpConfig
--- config
    spectra_sql_deny_schemas public;

    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- request
POST /v1/queries
{"sql": "select count(*) from public.sales"}
--- error_code: 400
--- response_body_like chomp
"message":"schema public is not allowed at line 1, column 22"
--- no_error_log
spectra dataapi call
[error]



=== TEST 6: the allow list from a file lets its functions run
--- http_config eval: $::HttpConfig
--- config
    spectra_sql_allow_functions ../html/allowed.functions;

    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- user_files
>>> allowed.functions
# functions the dashboards use
count
sum, date_trunc   # two on a line
--- request
POST /v1/queries
{"sql": "select count(*) as n, sum(quantity) > 0 as q from sales where date_trunc('year', sale_date) = '2025-01-01'"}
--- response_body_like chomp
"data":\[\{"n":600000,"q":true\}\]
--- no_error_log
[error]



=== TEST 7: with an allow list any other function is refused
--- http_config eval: $::HttpConfig
--- config
    spectra_sql_allow_functions ../html/allowed.functions;

    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- user_files
>>> allowed.functions
count
--- request
POST /v1/queries
{"sql": "select count(*), lower(region) from sales group by 2"}
--- error_code: 400
--- response_body_like chomp
"message":"function lower is not on the list of allowed functions at line 1, column 18"
--- no_error_log
spectra dataapi call
[error]



=== TEST 8: the deny list wins over the allow list
--- http_config eval: $::HttpConfig
--- config
    spectra_sql_allow_functions ../html/allowed.functions;

    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- user_files
>>> allowed.functions
count
pg_sleep
--- request
POST /v1/queries
{"sql": "select pg_sleep(1)"}
--- error_code: 400
--- response_body_like chomp
"message":"function pg_sleep is not allowed at line 1, column 8"
--- no_error_log
spectra dataapi call
[error]



=== TEST 9: spectra_sql_allow_functions off in a location lifts the server's list
--- http_config eval: $::HttpConfig
--- config
    spectra_sql_allow_functions ../html/allowed.functions;

    location /v1/ {
        spectra_api;
        spectra_sql_allow_functions off;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- user_files
>>> allowed.functions
count
--- request
POST /v1/queries
{"sql": "select lower(region) as r from regions order by 1 limit 1"}
--- response_body_like chomp
"data":\[\{"r":"amer"\}\]
--- no_error_log
[error]



=== TEST 10: a location with its own deny list does not inherit the server's
--- http_config eval: $::HttpConfig
--- config
    spectra_sql_deny_functions lower;

    location /v1/ {
        spectra_api;
        spectra_sql_deny_functions upper;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- request
POST /v1/queries
{"sql": "select lower(region) as r from regions order by 1 limit 1"}
--- response_body_like chomp
"data":\[\{"r":"amer"\}\]
--- no_error_log
[error]



=== TEST 11: a location inherits the server's deny list
--- http_config eval: $::HttpConfig
--- config
    spectra_sql_deny_functions lower;

    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- request
POST /v1/queries
{"sql": "select LOWER(region) from regions"}
--- error_code: 400
--- response_body_like chomp
"message":"function lower is not allowed at line 1, column 8"
--- no_error_log
spectra dataapi call
[error]



=== TEST 12: spectra_sql_allow_values off refuses VALUES statements
--- http_config eval: $::HttpConfig
--- config
    spectra_sql_allow_values off;

    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- request
POST /v1/queries
{"sql": "values (1, 'a')"}
--- error_code: 400
--- response_body_like chomp
"message":"VALUES statements are not allowed at line 1, column 1: write SELECT ... FROM \(VALUES ...\) AS v"
--- no_error_log
spectra dataapi call
[error]



=== TEST 13: spectra_sql_allow_values off still lets VALUES serve as rows in FROM
--- http_config eval: $::HttpConfig
--- config
    spectra_sql_allow_values off;

    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- request
POST /v1/queries
{"sql": "select * from (values (1, 'a')) as v(n, s)"}
--- response_body_like chomp
"data":\[\{"n":1,"s":"a"\}\]
--- no_error_log
[error]



=== TEST 14: nginx -t refuses a deny entry that is not a name
--- http_config eval: $::HttpConfig
--- config
    spectra_sql_deny_functions pg_sleep lo-import;

    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- must_die
--- error_log
spectra_sql_deny_functions: invalid name "lo-import" in a SQL name list: use 1 to 63 letters, digits, _, $ or *, not starting with a digit or $



=== TEST 15: nginx -t refuses a missing allow-list file
--- http_config eval: $::HttpConfig
--- config
    spectra_sql_allow_functions ../html/missing.functions;

    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- must_die
--- error_log
missing.functions" failed (2: No such file or directory)



=== TEST 16: nginx -t refuses an allow-list file with a bad name, saying where
--- http_config eval: $::HttpConfig
--- config
    spectra_sql_allow_functions ../html/allowed.functions;

    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- user_files
>>> allowed.functions
count
sum
date trunc(x)
--- must_die
--- error_log
allowed.functions": invalid name "trunc(x)" in a SQL name list: use 1 to 63 letters, digits, _, $ or *, not starting with a digit or $ at line 3, column 6



=== TEST 17: nginx -t refuses two allow lists in one block
--- http_config eval: $::HttpConfig
--- config
    spectra_sql_allow_functions ../html/allowed.functions;
    spectra_sql_allow_functions ../html/allowed.functions;

    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- user_files
>>> allowed.functions
count
--- must_die
--- error_log
"spectra_sql_allow_functions" directive is duplicate
