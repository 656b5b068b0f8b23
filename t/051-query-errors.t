# POST /v1/queries rejections: every malformed or unauthorized request
# gets the documented status and JSON error code, nothing reaches the
# warehouse that should not, and warehouse errors come back as 422 with
# their SQLSTATE.  Client headers never choose the tenant.
use FindBin ();
use lib "$FindBin::Bin/data/query/lib", "$FindBin::Bin/data/auth/lib";
use Test::Nginx::Socket 'no_plan';
use SpectraLogArchive;
use SpectraAuth qw(ensure_keys);
use SpectraQuery qw(api_key key_file http_config);

our %K;

my @lines;

for my $k (['acme', 'tenant=acme permissions=query'],
           ['bulk', 'tenant=globex permissions=bulk'])
{
    my $line;
    ($K{$k->[0]}, $line) = api_key("q051$k->[0]", $k->[1]);
    push @lines, $line;
}

$ENV{TEST_NGINX_QT_KEYS} = key_file(@lines);
$ENV{TEST_NGINX_AUTH_KEYS} = ensure_keys("$FindBin::Bin/data/auth/keys");

# A JSON error body: code, message (a regex piece), request id.
sub err {
    my ($code, $message) = @_;
    return qr/^\{"error":\{"code":"$code","message":"$message","request_id":"[0-9a-f]{32}"\}\}\n\z/;
}

# authentication, the warehouse, the Data API upstream and the job store
our $HttpConfig = http_config();

# acme's API key and a JSON body unless a block says otherwise; the log at
# info (SQL rejections), unless a block needs debug (Data API calls)
add_block_preprocessor(sub {
    my $block = shift;

    $block->set_value('more_headers',
                      "X-API-Key: $K{acme}\nContent-Type: application/json\n")
        unless defined $block->more_headers;
    $block->set_value('log_level', "info\n")
        unless defined $block->log_level;
});

# every request twice to the same nginx: no answer here may depend on
# what the first one left behind (caches, pooled sessions, stored jobs)
repeat_each(2);

run_tests();

__DATA__

=== TEST 1: malformed JSON is a 400 naming line and column
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- request
POST /v1/queries
{"sql": "select 1",
--- error_code: 400
--- response_body eval
main::err('INVALID_REQUEST', 'malformed JSON at line 1, column 19: string or \'}\' expected near end of file')
--- response_headers_like
Content-Type: application/json; charset=utf-8
--- no_error_log
[error]



=== TEST 2: a JSON string body is not an object
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- request
POST /v1/queries
"select 1"
--- error_code: 400
--- response_body eval
main::err('INVALID_REQUEST', 'the request body must be a JSON object')
--- no_error_log
[error]



=== TEST 3: a JSON array body is not an object
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- request
POST /v1/queries
[{"sql": "select 1"}]
--- error_code: 400
--- response_body eval
main::err('INVALID_REQUEST', 'the request body must be a JSON object')



=== TEST 4: an empty body is a 400
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- request
POST /v1/queries
--- error_code: 400
--- response_body eval
main::err('INVALID_REQUEST', 'the request body is empty')



=== TEST 5: a duplicated field is malformed, not "last one wins"
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- request
POST /v1/queries
{"sql": "select 1", "sql": "select 2"}
--- error_code: 400
--- response_body eval
main::err('INVALID_REQUEST', 'malformed JSON at line 1, column 25: duplicate object key near \'\\\\"sql\\\\"\'')



=== TEST 6: sql of the wrong type
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- request
POST /v1/queries
{"sql": ["select 1"]}
--- error_code: 400
--- response_body eval
main::err('INVALID_REQUEST', 'the field \\\\"sql\\\\" has the wrong type')



=== TEST 7: numeric fields given as strings or fractions are wrong types
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- request eval
["POST /v1/queries\n{\"sql\": \"select 1\", \"wait_timeout_seconds\": \"1\"}",
 "POST /v1/queries\n{\"sql\": \"select 1\", \"row_limit\": 1.5}",
 "POST /v1/queries\n{\"sql\": \"select 1\", \"timeout_seconds\": true}",
 "POST /v1/queries\n{\"sql\": \"select 1\", \"parameters\": {\"a\": 1}}",
 "POST /v1/queries\n{\"sql\": \"select 1\", \"result_format\": 1}"]
--- more_headers eval
[("X-API-Key: $::K{acme}\nContent-Type: application/json") x 5]
--- error_code eval
[400, 400, 400, 400, 400]
--- response_body eval
[main::err('INVALID_REQUEST', 'the field \\\\"wait_timeout_seconds\\\\" has the wrong type'),
 main::err('INVALID_REQUEST', 'the field \\\\"row_limit\\\\" has the wrong type'),
 main::err('INVALID_REQUEST', 'the field \\\\"timeout_seconds\\\\" has the wrong type'),
 main::err('INVALID_REQUEST', 'the field \\\\"parameters\\\\" has the wrong type'),
 main::err('INVALID_REQUEST', 'the field \\\\"result_format\\\\" has the wrong type')]



=== TEST 8: out-of-range values and unknown enum words
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- request eval
["POST /v1/queries\n{\"sql\": \"select 1\", \"result_format\": \"csv\"}",
 "POST /v1/queries\n{\"sql\": \"select 1\", \"on_wait_timeout\": \"abort\"}",
 "POST /v1/queries\n{\"sql\": \"select 1\", \"timeout_seconds\": 0}",
 "POST /v1/queries\n{\"sql\": \"select 1\", \"wait_timeout_seconds\": -1}",
 "POST /v1/queries\n{\"sql\": \"select 1\", \"idempotency_key\": \"a b\"}"]
--- more_headers eval
[("X-API-Key: $::K{acme}\nContent-Type: application/json") x 5]
--- error_code eval
[400, 400, 400, 400, 400]
--- response_body eval
[main::err('INVALID_REQUEST', 'result_format must be \\\\"objects\\\\" or \\\\"arrays\\\\"'),
 main::err('INVALID_REQUEST', 'on_wait_timeout must be \\\\"continue\\\\" or \\\\"cancel\\\\"'),
 main::err('INVALID_REQUEST', 'timeout_seconds must be an integer from 1 to 300'),
 main::err('INVALID_REQUEST', 'wait_timeout_seconds must be an integer from 0 to 300'),
 main::err('INVALID_REQUEST', 'idempotency_key must be 1 to 64 characters of A-Z a-z 0-9 \. _ : -')]



=== TEST 9: an unknown field is refused, not ignored
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- request
POST /v1/queries
{"sql": "select 1", "db_user": "tenant_globex"}
--- error_code: 400
--- response_body eval
main::err('INVALID_REQUEST', 'unknown field \\\\"db_user\\\\"')



=== TEST 10: sql is required
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- request
POST /v1/queries
{"parameters": []}
--- error_code: 400
--- response_body eval
main::err('INVALID_REQUEST', 'the field \\\\"sql\\\\" is required')



=== TEST 11: empty, whitespace-only and comment-only SQL is INVALID_SQL
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- request eval
["POST /v1/queries\n{\"sql\": \"\"}",
 "POST /v1/queries\n{\"sql\": \"  \\n\\t \\r\\n \"}",
 "POST /v1/queries\n{\"sql\": \"-- nothing /* here */\"}",
 "POST /v1/queries\n{\"sql\": \" ; \"}"]
--- more_headers eval
[("X-API-Key: $::K{acme}\nContent-Type: application/json") x 4]
--- error_code eval
[400, 400, 400, 400]
--- response_body eval
[main::err('INVALID_SQL', 'SQL is empty'),
 main::err('INVALID_SQL', 'SQL is empty'),
 main::err('INVALID_SQL', 'SQL is empty'),
 main::err('INVALID_SQL', 'empty statement at line 1, column 2')]
--- error_log eval
qr/spectra: SQL rejected: (?:SQL is empty|empty statement at line 1, column 2)/



=== TEST 12: SQL over spectra_sql_max_length is INVALID_SQL
--- http_config eval: $::HttpConfig
--- config
    spectra_sql_max_length 64;

    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- request eval
"POST /v1/queries\n{\"sql\": \"select 1 as " . ('a' x 60) . "\"}"
--- error_code: 400
--- response_body_like chomp
^\{"error":\{"code":"INVALID_SQL","message":"[^"]*64[^"]*","request_id":"[0-9a-f]{32}"\}\}$
--- error_log
spectra: SQL rejected:



=== TEST 13: a body over client_max_body_size is a JSON 413
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
        client_max_body_size 1k;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- request eval
"POST /v1/queries\n{\"sql\": \"select 1 -- " . ('x' x 2000) . "\"}"
--- error_code: 413
--- response_body eval
main::err('PAYLOAD_TOO_LARGE', 'the request body is too large')
--- error_log
client intended to send too large body



=== TEST 14: a chunked body over client_max_body_size is a JSON 413 too
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
        client_max_body_size 1k;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- more_headers eval
"X-API-Key: $::K{acme}\nContent-Type: application/json\nTransfer-Encoding: chunked"
--- request eval
"POST /v1/queries\n" . sprintf("%x\r\n%s\r\n0\r\n\r\n", 2000, 'x' x 2000)
--- error_code: 413
--- response_body eval
main::err('PAYLOAD_TOO_LARGE', 'the request body is too large')
--- error_log
client intended to send too large chunked body: 0+2000 bytes



=== TEST 15: a body that nginx spills to a temporary file still works
--- http_config eval: $::HttpConfig
--- config
    client_body_buffer_size 1k;
    client_body_in_file_only clean;

    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- request eval
"POST /v1/queries\n{\"sql\": \"select 42 as answer -- " . ('x' x 4000) . "\"}"
--- response_body_like chomp
"data":\[\{"answer":42\}\]
--- no_error_log
[error]



=== TEST 16: a wrong Content-Type is 415 before the body is read
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- more_headers eval
"X-API-Key: $::K{acme}\nContent-Type: text/plain"
--- request
POST /v1/queries
{"sql": "select 1"}
--- error_code: 415
--- response_body eval
main::err('UNSUPPORTED_MEDIA_TYPE', 'the request body must be application/json')



=== TEST 17: no Content-Type, or a look-alike type, is 415
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- request eval
["POST /v1/queries\n{\"sql\": \"select 1\"}",
 "POST /v1/queries\n{\"sql\": \"select 1\"}",
 "POST /v1/queries\n{\"sql\": \"select 1\"}"]
--- more_headers eval
["X-API-Key: $::K{acme}",
 "X-API-Key: $::K{acme}\nContent-Type: application/jsonp",
 "X-API-Key: $::K{acme}\nContent-Type: application/x-www-form-urlencoded"]
--- error_code eval
[415, 415, 415]
--- response_body_like eval
['"code":"UNSUPPORTED_MEDIA_TYPE"', '"code":"UNSUPPORTED_MEDIA_TYPE"',
 '"code":"UNSUPPORTED_MEDIA_TYPE"']



=== TEST 18: application/json with a charset parameter is accepted
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- more_headers eval
"X-API-Key: $::K{acme}\nContent-Type: Application/JSON; charset=utf-8"
--- request
POST /v1/queries
{"sql": "select 1 as one"}
--- response_body_like chomp
"data":\[\{"one":1\}\]
--- no_error_log
[error]



=== TEST 19: GET, PUT and DELETE on /v1/queries are 405 with Allow: POST
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- request eval
["GET /v1/queries", "PUT /v1/queries\n{\"sql\": \"select 1\"}",
 "DELETE /v1/queries"]
--- more_headers eval
[("X-API-Key: $::K{acme}\nContent-Type: application/json") x 3]
--- error_code eval
[405, 405, 405]
--- response_headers eval
["Allow: POST", "Allow: POST", "Allow: POST"]
--- response_body eval
[main::err('METHOD_NOT_ALLOWED', 'method not allowed on this endpoint'),
 main::err('METHOD_NOT_ALLOWED', 'method not allowed on this endpoint'),
 main::err('METHOD_NOT_ALLOWED', 'method not allowed on this endpoint')]



=== TEST 20: wrong methods on the jobs endpoints are 405 with their Allow
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- request eval
["POST /v1/jobs", "PUT /v1/jobs/job_00000000000000000000000000",
 "POST /v1/jobs/job_00000000000000000000000000/results"]
--- error_code eval
[405, 405, 405]
--- response_headers eval
["Allow: GET, HEAD", "Allow: GET, HEAD, DELETE", "Allow: GET, HEAD"]
--- response_body_like eval
['"code":"METHOD_NOT_ALLOWED"', '"code":"METHOD_NOT_ALLOWED"',
 '"code":"METHOD_NOT_ALLOWED"']



=== TEST 21: no credentials is 401 with WWW-Authenticate
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- more_headers
Content-Type: application/json
--- request
POST /v1/queries
{"sql": "select count(*) from sales"}
--- error_code: 401
--- response_headers_like
WWW-Authenticate: Bearer realm="spectra".*
--- response_body_like chomp
^\{"error":\{"code":"UNAUTHENTICATED","message":"[^"]+","request_id":"[0-9a-f]{32}"\}\}$
--- no_error_log
[error]



=== TEST 22: an API key with a wrong secret is 401 and runs nothing
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- more_headers eval
"X-API-Key: spk_q051acme_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\nContent-Type: application/json"
--- request
POST /v1/queries
{"sql": "select count(*) from sales"}
--- error_code: 401
--- response_body_like chomp
"code":"UNAUTHENTICATED"
--- error_log
spectra: api key rejected
--- log_level: debug
--- no_error_log
spectra dataapi call



=== TEST 23: a key without the query permission is 403
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- more_headers eval
"X-API-Key: $::K{bulk}\nContent-Type: application/json"
--- request
POST /v1/queries
{"sql": "select count(*) from sales"}
--- error_code: 403
--- response_body eval
main::err('FORBIDDEN', 'the credentials lack the \\\\"query\\\\" permission')
--- log_level: debug
--- no_error_log
spectra dataapi call



=== TEST 24: a parameter the SQL uses but the request does not give
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- request
POST /v1/queries
{"sql": "select count(*) from sales where region = :region"}
--- error_code: 400
--- response_body eval
main::err('INVALID_REQUEST', 'the SQL uses :region but no parameter gives its value')



=== TEST 25: a parameter the SQL does not use
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- request
POST /v1/queries
{"sql": "select 1", "parameters": [{"name": "region", "value": "emea"}]}
--- error_code: 400
--- response_body eval
main::err('INVALID_REQUEST', 'parameter \\\\"region\\\\" is not used by the SQL')



=== TEST 26: a parameter given twice, without a value, with a bad name
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- request eval
["POST /v1/queries\n{\"sql\": \"select :a\", \"parameters\": [{\"name\": \"a\", \"value\": 1}, {\"name\": \"a\", \"value\": 2}]}",
 "POST /v1/queries\n{\"sql\": \"select :a\", \"parameters\": [{\"name\": \"a\"}]}",
 "POST /v1/queries\n{\"sql\": \"select :a\", \"parameters\": [{\"name\": \"a;drop\", \"value\": 1}]}",
 "POST /v1/queries\n{\"sql\": \"select :a\", \"parameters\": [{\"name\": \"a\", \"value\": null}]}"]
--- more_headers eval
[("X-API-Key: $::K{acme}\nContent-Type: application/json") x 4]
--- error_code eval
[400, 400, 400, 400]
--- response_body eval
[main::err('INVALID_REQUEST', 'parameter \\\\"a\\\\" is given twice'),
 main::err('INVALID_REQUEST', 'parameters\[0\] must be \{\\\\"name\\\\": \.\.\., \\\\"value\\\\": \.\.\.\}'),
 main::err('INVALID_REQUEST', 'parameters\[0\]: the name must be 1 to 64 characters of A-Z a-z 0-9 _, not starting with a digit'),
 main::err('INVALID_REQUEST', 'parameter \\\\"a\\\\": the value must be a string, number or boolean')]



=== TEST 27: a missing table is 422 QUERY_FAILED with SQLSTATE 42P01
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- request
POST /v1/queries
{"sql": "select * from no_such_table"}
--- error_code: 422
--- response_body_like chomp
^\{"error":\{"code":"QUERY_FAILED","message":"ERROR: relation \\"no_such_table\\" does not exist \(SQLSTATE 42P01\)","request_id":"[0-9a-f]{32}","sqlstate":"42P01","job_id":"job_\w{26}"\}\}$
--- no_error_log
[error]



=== TEST 28: division by zero is 422 QUERY_FAILED with SQLSTATE 22012
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- request
POST /v1/queries
{"sql": "select sum(quantity) / 0 from sales"}
--- error_code: 422
--- response_body_like chomp
^\{"error":\{"code":"QUERY_FAILED","message":"ERROR: division by zero \(SQLSTATE 22012\)","request_id":"[0-9a-f]{32}","sqlstate":"22012","job_id":"job_\w{26}"\}\}$
--- no_error_log
[error]



=== TEST 29: an unknown column is 422 with SQLSTATE 42703
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- request
POST /v1/queries
{"sql": "select password from sales"}
--- error_code: 422
--- response_body_like chomp
"code":"QUERY_FAILED",.*"sqlstate":"42703"



=== TEST 30: a bad parameter value fails in the warehouse: 422 22P02
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- request
POST /v1/queries
{"sql": "select count(*) from sales where id = :id::bigint",
 "parameters": [{"name": "id", "value": "1 or 1=1"}]}
--- error_code: 422
--- response_body_like chomp
"code":"QUERY_FAILED",.*"sqlstate":"22P02"



=== TEST 31: X-Tenant-ID and X-DB-User from the client are ignored
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- more_headers eval
"X-API-Key: $::K{acme}\nContent-Type: application/json\nX-Tenant-ID: globex\nX-DB-User: tenant_globex\nX-Amz-Target: RedshiftData.ExecuteStatement"
--- request
POST /v1/queries
{"sql": "select count(*) from sales"}
--- response_body_like chomp
"data":\[\{"count":600000\}\]
--- no_error_log
[error]



=== TEST 32: an unknown /v1/ path is a JSON 404
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- request
GET /v1/query
--- error_code: 404
--- response_body eval
main::err('NOT_FOUND', 'no such endpoint')



=== TEST 33: a request line over large_client_header_buffers is a JSON 414
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- request eval
"GET /v1/jobs?cursor=" . ('a' x 9000)
--- error_code: 414
--- response_headers_like
Content-Type: application/json; charset=utf-8
--- response_body eval
main::err('INVALID_REQUEST', 'the request URI is too long')



=== TEST 34: a header over large_client_header_buffers is a JSON 400
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- more_headers eval
"X-API-Key: $::K{acme}\nContent-Type: application/json\nX-Padding: " . ('p' x 9000)
--- request
POST /v1/queries
{"sql": "select 1"}
--- error_code: 400
--- response_headers_like
Content-Type: application/json; charset=utf-8
--- response_body_like chomp
^\{"error":\{"code":"INVALID_REQUEST","message":"the request is malformed","request_id":"[0-9a-f]{32}"\}\}$



=== TEST 35: an unparsable request line is a JSON 400, not nginx's page
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- raw_request eval
"GET /v1/health HTTP/1.1 junk\r\nHost: localhost\r\nConnection: close\r\n\r\n"
--- error_code: 400
--- response_headers_like
Content-Type: application/json; charset=utf-8
--- response_body eval
main::err('INVALID_REQUEST', 'the request is malformed')
--- error_log
client sent invalid request



=== TEST 36: a NUL character in the SQL or a parameter is refused
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- request eval
["POST /v1/queries\n{\"sql\": \"select 1\\u0000; drop table sales\"}",
 "POST /v1/queries\n{\"sql\": \"select :v\", \"parameters\": [{\"name\": \"v\", \"value\": \"a\\u0000b\"}]}"]
--- more_headers eval
[("X-API-Key: $::K{acme}\nContent-Type: application/json") x 2]
--- error_code eval
[400, 400]
--- response_body_like eval
['^\{"error":\{"code":"INVALID_REQUEST","message":"malformed JSON at line 1, column \d+: \\\\\\\\u0000 is not allowed without JSON_ALLOW_NUL.*","request_id":"[0-9a-f]{32}"\}\}\n\z',
 '^\{"error":\{"code":"INVALID_REQUEST","message":"malformed JSON at line 1, column \d+: \\\\\\\\u0000 is not allowed without JSON_ALLOW_NUL.*","request_id":"[0-9a-f]{32}"\}\}\n\z']



=== TEST 37: integers past 2^53 and 2^64 are out of range, never wrapped
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- request eval
["POST /v1/queries\n{\"sql\": \"select 1\", \"timeout_seconds\": 18446744073709552}",
 "POST /v1/queries\n{\"sql\": \"select 1\", \"wait_timeout_seconds\": 18446744073709552}",
 "POST /v1/queries\n{\"sql\": \"select 1\", \"timeout_seconds\": 18446744073709551617}",
 "POST /v1/queries\n{\"sql\": \"select 1\", \"row_limit\": 9223372036854775808}",
 "POST /v1/queries\n{\"sql\": \"select 1\", \"byte_limit\": 9007199254740993}",
 "POST /v1/queries\n{\"sql\": \"select 1\", \"byte_limit\": 1023}",
 "POST /v1/queries\n{\"sql\": \"select 1\", \"timeout_seconds\": -18446744073709551617}",
 "POST /v1/queries\n{\"sql\": \"select :a\", \"parameters\": [{\"name\": \"a\", \"value\": 18446744073709551617}]}",
 "GET /v1/jobs?limit=18446744073709551617",
 "GET /v1/jobs?limit=0"]
--- more_headers eval
[("X-API-Key: $::K{acme}\nContent-Type: application/json") x 10]
--- error_code eval
[400, 400, 400, 400, 400, 400, 400, 400, 400, 400]
--- response_body_like eval
['"message":"timeout_seconds must be an integer from 1 to 300"',
 '"message":"wait_timeout_seconds must be an integer from 0 to 300"',
 '"message":"timeout_seconds must be an integer from 1 to 300"',
 '"message":"row_limit must be an integer from 1 to 10000 \(use the bulk API for more rows\)"',
 '"message":"byte_limit must be an integer from 1024 to 26214400"',
 '"message":"byte_limit must be an integer from 1024 to 26214400"',
 '"message":"timeout_seconds must be an integer from 1 to 300"',
 '"message":"malformed JSON at line 1, column \d+: too big integer',
 '"message":"limit must be an integer from 1 to \d+"',
 '"message":"limit must be an integer from 1 to \d+"']
--- no_error_log
[crit]
[alert]
