# POST /v1/queries end to end: nginx -> spectra-dataapi -> PostgreSQL with
# the demo warehouse.  Each tenant sees its own rows (RLS as the tenant's
# database user), every column type of the demo table comes back with its
# JSON type, parameters bind as values, and truncation is exact at the
# row limit.
use FindBin ();
use lib "$FindBin::Bin/data/query/lib", "$FindBin::Bin/data/auth/lib";
use Test::Nginx::Socket 'no_plan';
use SpectraLogArchive;
use SpectraAuth qw(ensure_keys mint);
use SpectraQuery qw(api_key key_file http_config);

our (%K, %J);

my @lines;

for my $t (qw(acme globex initech)) {
    my $line;
    ($K{$t}, $line) = api_key("q050$t", "tenant=$t permissions=query");
    push @lines, $line;
}

$ENV{TEST_NGINX_QT_KEYS} = key_file(@lines);
$ENV{TEST_NGINX_AUTH_KEYS} = ensure_keys("$FindBin::Bin/data/auth/keys");

for my $t (qw(acme globex initech)) {
    $J{$t} = mint($ENV{TEST_NGINX_AUTH_KEYS}, time,
                  claims => {tenant_id => $t, permissions => 'query'});
}

# authentication, the warehouse, the Data API upstream and the job store
our $HttpConfig = http_config();

# "--- tenant: acme" (default) picks the API key; the body is JSON.
add_block_preprocessor(sub {
    my $block = shift;
    my $t = $block->tenant // 'acme';

    $block->set_value('more_headers',
                      "X-API-Key: $K{$t}\nContent-Type: application/json\n")
        unless defined $block->more_headers;
    $block->set_value('no_error_log', "[error]\n")
        unless defined $block->no_error_log;
});

run_tests();

__DATA__

=== TEST 1: acme's API key counts acme's 600000 rows
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- request
POST /v1/queries
{"sql": "select count(*) from sales"}
--- response_headers_like
Content-Type: application/json; charset=utf-8
X-Request-Id: [0-9a-f]{32}
--- response_body_like chomp
^\{"job_id":"job_[0-7][0-9a-hjkmnp-tv-z]{25}","status":"COMPLETED","data":\[\{"count":600000\}\],"metadata":\{"columns":\[\{"name":"count","type":"bigint"\}\],"row_count":1,"truncated":false,"execution_time_ms":\d+,"message":null\}\}$



=== TEST 2: globex's API key counts globex's 300000 rows
--- tenant: globex
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- request
POST /v1/queries
{"sql": "select count(*) from sales"}
--- response_body_like chomp
"data":\[\{"count":300000\}\]



=== TEST 3: initech's API key counts initech's 100000 rows
--- tenant: initech
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- request
POST /v1/queries
{"sql": "select count(*) from sales"}
--- response_body_like chomp
"data":\[\{"count":100000\}\]



=== TEST 4: a JWT per tenant gets that tenant's count, same SQL
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- request eval
[("POST /v1/queries\n{\"sql\": \"select count(*) from sales\"}") x 3]
--- more_headers eval
[map { "Authorization: Bearer $::J{$_}\nContent-Type: application/json" }
 qw(acme globex initech)]
--- error_code eval
[200, 200, 200]
--- response_body_like eval
['"data":\[\{"count":600000\}\]', '"data":\[\{"count":300000\}\]',
 '"data":\[\{"count":100000\}\]']



=== TEST 5: a tenant cannot widen RLS with a predicate on another tenant
--- tenant: initech
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- request
POST /v1/queries
{"sql": "select count(*) from sales where tenant_id in ('acme', 'globex')"}
--- response_body_like chomp
"data":\[\{"count":0\}\]



=== TEST 6: the shared regions table is visible to every tenant
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- request eval
[("POST /v1/queries\n{\"sql\": \"select region, currency, vat_rate from regions order by region\"}") x 3]
--- more_headers eval
[map { "X-API-Key: $::K{$_}\nContent-Type: application/json" }
 qw(acme globex initech)]
--- error_code eval
[200, 200, 200]
--- response_body_like eval
[('"data":\[\{"region":"amer","currency":"USD","vat_rate":"0.0725"\},\{"region":"apac","currency":"JPY","vat_rate":"0.1000"\},\{"region":"emea","currency":"EUR","vat_rate":"0.2000"\},\{"region":"latam","currency":"BRL","vat_rate":"0.1700"\}\],"metadata":\{"columns":\[\{"name":"region","type":"text"\},\{"name":"currency","type":"char"\},\{"name":"vat_rate","type":"numeric"\}\],"row_count":4,') x 3]



=== TEST 7: every column type of sales round-trips as objects
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- request
POST /v1/queries
{"sql": "select * from sales where id in (13, 70, 91) order by id"}
--- response_body_like chomp
^\{"job_id":"job_\w{26}","status":"COMPLETED","data":\[\{"id":13,"tenant_id":"acme","region":"amer","product_id":448,"quantity":14,"amount":"5.81","discount":0.13,"returned":true,"note":"order 13","sale_date":"2025-01-14","sold_at":"2025-01-01 00:00:13\+00"\},\{"id":70,"tenant_id":"acme","region":"latam","product_id":331,"quantity":11,"amount":"26.90","discount":null,"returned":false,"note":null,"sale_date":"2025-03-12","sold_at":"2025-01-01 00:01:10\+00"\},\{"id":91,"tenant_id":"acme","region":"amer","product_id":130,"quantity":12,"amount":"34.67","discount":null,"returned":true,"note":"order 91","sale_date":"2025-04-02","sold_at":"2025-01-01 00:01:31\+00"\}\],"metadata":\{"columns":\[\{"name":"id","type":"bigint"\},\{"name":"tenant_id","type":"text"\},\{"name":"region","type":"text"\},\{"name":"product_id","type":"integer"\},\{"name":"quantity","type":"smallint"\},\{"name":"amount","type":"numeric"\},\{"name":"discount","type":"double precision"\},\{"name":"returned","type":"boolean"\},\{"name":"note","type":"text"\},\{"name":"sale_date","type":"date"\},\{"name":"sold_at","type":"timestamptz"\}\],"row_count":3,"truncated":false,"execution_time_ms":\d+,"message":null\}\}$



=== TEST 8: every column type of sales round-trips as arrays
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- request
POST /v1/queries
{"sql": "select * from sales where id in (13, 70, 91) order by id",
 "result_format": "arrays"}
--- response_body_like chomp
^\{"job_id":"job_\w{26}","status":"COMPLETED","data":\[\[13,"acme","amer",448,14,"5.81",0.13,true,"order 13","2025-01-14","2025-01-01 00:00:13\+00"\],\[70,"acme","latam",331,11,"26.90",null,false,null,"2025-03-12","2025-01-01 00:01:10\+00"\],\[91,"acme","amer",130,12,"34.67",null,true,"order 91","2025-04-02","2025-01-01 00:01:31\+00"\]\],"metadata":\{"columns":\[\{"name":"id","type":"bigint"\},\{"name":"tenant_id","type":"text"\},\{"name":"region","type":"text"\},\{"name":"product_id","type":"integer"\},\{"name":"quantity","type":"smallint"\},\{"name":"amount","type":"numeric"\},\{"name":"discount","type":"double precision"\},\{"name":"returned","type":"boolean"\},\{"name":"note","type":"text"\},\{"name":"sale_date","type":"date"\},\{"name":"sold_at","type":"timestamptz"\}\],"row_count":3,"truncated":false,"execution_time_ms":\d+,"message":null\}\}$



=== TEST 9: another tenant's row ids return nothing, not an error
--- tenant: globex
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- request
POST /v1/queries
{"sql": "select * from sales where id in (13, 70, 91) order by id"}
--- response_body_like chomp
"data":\[\],"metadata":\{"columns":\[\{"name":"id","type":"bigint"\},.*"row_count":0,"truncated":false,



=== TEST 10: exact integers beyond 2^53, shortest doubles, NULL columns
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- request
POST /v1/queries
{"sql": "select 9007199254740993::bigint as big, (-32768)::smallint as small, 1e300::float8 as f, 0.1::float8 as d, 12345678901234567890.123456789::numeric as n, null::integer as nothing, false as no"}
--- response_body_like chomp
"data":\[\{"big":9007199254740993,"small":-32768,"f":1e\+300,"d":0\.1,"n":"12345678901234567890\.123456789","nothing":null,"no":false\}\]



=== TEST 11: named parameters bind, strings and numbers
--- tenant: globex
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- request
POST /v1/queries
{"sql": "select count(*) from sales where region = :region and sale_date >= :since::date",
 "parameters": [{"name": "region", "value": "apac"},
                {"name": "since", "value": "2025-12-01"}]}
--- response_body_like chomp
"data":\[\{"count":6165\}\]



=== TEST 12: a JSON number parameter binds
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- request
POST /v1/queries
{"sql": "select count(*) from sales where region = :r and id < :n",
 "parameters": [{"name": "r", "value": "emea"}, {"name": "n", "value": 1000}]}
--- response_body_like chomp
"data":\[\{"count":149\}\]



=== TEST 13: a parameter that looks like SQL injection is only a value
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- request
POST /v1/queries
{"sql": "select count(*) from sales where note = :note",
 "parameters": [{"name": "note", "value": "x' or '1'='1"}]}
--- response_body_like chomp
"data":\[\{"count":0\}\]



=== TEST 14: a stacked statement in a parameter comes back verbatim
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- request
POST /v1/queries
{"sql": "select :v::text as v, (select count(*) from sales) as n",
 "parameters": [{"name": "v", "value": "'; drop table sales; --"}]}
--- response_body_like chomp
"data":\[\{"v":"'; drop table sales; --","n":600000\}\]



=== TEST 15: a colon inside a string or a cast is not a parameter
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- request
POST /v1/queries
{"sql": "select ':x' as a, '2025-01-01'::date as b, :y::integer as c",
 "parameters": [{"name": "y", "value": "7"}]}
--- response_body_like chomp
"data":\[\{"a":":x","b":"2025-01-01","c":7\}\]



=== TEST 16: row_limit - 1 rows: not truncated, no message
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- request
POST /v1/queries
{"sql": "select n from generate_series(1, 4) as n", "row_limit": 5}
--- response_body_like chomp
"data":\[\{"n":1\},\{"n":2\},\{"n":3\},\{"n":4\}\],.*"row_count":4,"truncated":false,"execution_time_ms":\d+,"message":null\}\}$



=== TEST 17: exactly row_limit rows: not truncated, no message
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- request
POST /v1/queries
{"sql": "select n from generate_series(1, 5) as n", "row_limit": 5}
--- response_body_like chomp
"data":\[\{"n":1\},\{"n":2\},\{"n":3\},\{"n":4\},\{"n":5\}\],.*"row_count":5,"truncated":false,"execution_time_ms":\d+,"message":null\}\}$



=== TEST 18: row_limit + 1 rows: truncated to the limit, with a message
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- request
POST /v1/queries
{"sql": "select n from generate_series(1, 6) as n", "row_limit": 5}
--- response_body_like chomp
"data":\[\{"n":1\},\{"n":2\},\{"n":3\},\{"n":4\},\{"n":5\}\],.*"row_count":5,"truncated":true,"execution_time_ms":\d+,"message":"the result has more than 5 rows; the first 5 are returned: page through all of them with GET /v1/jobs/job_\w{26}/results\?page_size=N, or export them with POST /v1/bulk"\}\}$



=== TEST 19: the configured spectra_row_limit truncates at its boundary
--- http_config eval: $::HttpConfig
--- config
    spectra_row_limit 3;

    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- request eval
["POST /v1/queries\n{\"sql\": \"select n from generate_series(1, 2) n\"}",
 "POST /v1/queries\n{\"sql\": \"select n from generate_series(1, 3) n\"}",
 "POST /v1/queries\n{\"sql\": \"select n from generate_series(1, 4) n\"}"]
--- more_headers eval
[("X-API-Key: $::K{acme}\nContent-Type: application/json") x 3]
--- error_code eval
[200, 200, 200]
--- response_body_like eval
['"data":\[\{"n":1\},\{"n":2\}\],.*"row_count":2,"truncated":false,.*"message":null',
 '"data":\[\{"n":1\},\{"n":2\},\{"n":3\}\],.*"row_count":3,"truncated":false,.*"message":null',
 '"data":\[\{"n":1\},\{"n":2\},\{"n":3\}\],.*"row_count":3,"truncated":true,.*"message":"the result has more than 3 rows;']



=== TEST 20: truncation of a real table: the table's order-by limit + 1
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- request
POST /v1/queries
{"sql": "select id from sales order by id", "row_limit": 3,
 "result_format": "arrays"}
--- response_body_like chomp
"data":\[\[1\],\[2\],\[3\]\],.*"row_count":3,"truncated":true,



=== TEST 21: a row_limit above spectra_row_limit is a 400
--- http_config eval: $::HttpConfig
--- config
    spectra_row_limit 100;

    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- request
POST /v1/queries
{"sql": "select 1", "row_limit": 101}
--- error_code: 400
--- response_body_like chomp
^\{"error":\{"code":"INVALID_REQUEST","message":"row_limit must be an integer from 1 to 100 \(use the bulk API for more rows\)","request_id":"[0-9a-f]{32}"\}\}$



=== TEST 22: row_limit 0 is a 400
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- request
POST /v1/queries
{"sql": "select 1", "row_limit": 0}
--- error_code: 400
--- response_body_like chomp
^\{"error":\{"code":"INVALID_REQUEST","message":"row_limit must be an integer from 1 to 10000 



=== TEST 23: a query with no rows still describes its columns
--- tenant: initech
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- request
POST /v1/queries
{"sql": "select region, amount from sales where id = 10"}
--- response_body_like chomp
"data":\[\],"metadata":\{"columns":\[\{"name":"region","type":"text"\},\{"name":"amount","type":"numeric"\}\],"row_count":0,"truncated":false,



=== TEST 24: results of several Data API pages, in order, up to the limit
--- http_config eval: $::HttpConfig
--- config
    spectra_row_limit 24000;

    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- request
POST /v1/queries
{"sql": "select id, note from sales where id <= 40000 order by id",
 "result_format": "arrays"}
--- response_body_like chomp
^\{"job_id":"job_\w{26}","status":"COMPLETED","data":\[\[1,"order 1"\],\[2,"order 2"\],\[3,"order 3"\],\[4,"order 4"\],\[5,null\],.*\[39992,"order 39992"\],\[39993,"order 39993"\],\[39994,"order 39994"\],\[39995,null\],\[40000,null\]\],"metadata":\{.*"row_count":24000,"truncated":false,



=== TEST 25: unicode, quotes, backslashes and control characters round-trip
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- request
POST /v1/queries
{"sql": "select :v::text as v, 'ünï' as \"çølümn ✓\", length(:v) as n",
 "parameters": [{"name": "v", "value": "h\u00e9llo \"q\" \\ \t\n 😀 \u2028"}]}
--- response_body_like chomp
^\{"job_id":"job_\w{26}","status":"COMPLETED","data":\[\{"v":"héllo \\"q\\" \\\\ \\t\\n 😀 \xe2\x80\xa8","çølümn ✓":"ünï","n":18\}\],"metadata":\{"columns":\[\{"name":"v","type":"text"\},\{"name":"çølümn ✓","type":"text"\},\{"name":"n","type":"integer"\}\],
--- no_error_log
[error]



=== TEST 26: the limit at a Data API page boundary (1000 rows a page)
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- request eval
["POST /v1/queries\n{\"sql\": \"select n from generate_series(1, 999) n\", \"row_limit\": 1000, \"result_format\": \"arrays\"}",
 "POST /v1/queries\n{\"sql\": \"select n from generate_series(1, 1000) n\", \"row_limit\": 1000, \"result_format\": \"arrays\"}",
 "POST /v1/queries\n{\"sql\": \"select n from generate_series(1, 1001) n\", \"row_limit\": 1000, \"result_format\": \"arrays\"}",
 "POST /v1/queries\n{\"sql\": \"select n from generate_series(1, 2001) n\", \"row_limit\": 2000, \"result_format\": \"arrays\"}"]
--- more_headers eval
[("X-API-Key: $::K{acme}\nContent-Type: application/json") x 4]
--- error_code eval
[200, 200, 200, 200]
--- response_body_like eval
['"data":\[\[1\],(?:\[\d+\],){997}\[999\]\],.*"row_count":999,"truncated":false,.*"message":null',
 '"data":\[\[1\],(?:\[\d+\],){998}\[1000\]\],.*"row_count":1000,"truncated":false,.*"message":null',
 '"data":\[\[1\],(?:\[\d+\],){998}\[1000\]\],.*"row_count":1000,"truncated":true,.*"message":"the result has more than 1000 rows;',
 '"data":\[\[1\],(?:\[\d+\],){1998}\[2000\]\],.*"row_count":2000,"truncated":true,']
--- no_error_log
[error]
