# GET /v1/ready: 200 only when this node can serve (the Data API answers
# a signed DescribeStatement of an id that cannot exist with
# ResourceNotFound, and the job store takes a write and reads it back);
# 503 with a JSON body naming each failing check otherwise: the Data API
# upstream at a closed port, a wrong signing key, the job store locked by
# another process.  /v1/health (liveness) stays 200 meanwhile.  The
# answer is cached for every worker (spectra_ready_cache): the metrics
# show how many checks reached the Data API.
use FindBin ();
use lib "$FindBin::Bin/data/query/lib", "$FindBin::Bin/data/auth/lib",
        "$FindBin::Bin/data/metrics/lib";
use Test::Nginx::Socket 'no_plan';
use SpectraLogArchive;
use SpectraAuth qw(ensure_keys);
use SpectraQuery qw(api_key key_file http_config);
use SpectraMetrics qw(lock_store unlock_store);

our (%K, @LINES);

my $line;
($K{acme}, $line) = api_key('r086acme', 'tenant=acme permissions=query');
push @LINES, $line;

$ENV{TEST_NGINX_QT_KEYS} = key_file(@LINES);
$ENV{TEST_NGINX_AUTH_KEYS} = ensure_keys("$FindBin::Bin/data/auth/keys");

our $HttpConfig = http_config();

# nothing listens there (the suites' ports are base..base+49)
our $ClosedPort = $ENV{SPECTRA_PORT_BASE} + 45;

our $Ready = '{"status":"ready","checks":{"dataapi":{"ok":true},'
             . '"job_store":{"ok":true}}}';

# a block's locker (TEST 5) lets go before the next block starts
add_block_preprocessor(sub { unlock_store() });

run_tests();

__DATA__

=== TEST 1: with the Data API and the job store working, ready answers 200
--- http_config eval: $::HttpConfig
--- config
    location = /v1/ready {
        spectra_auth off;
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- request
GET /v1/ready
--- response_headers
Content-Type: application/json; charset=utf-8
Cache-Control: no-store
--- response_body eval
"$::Ready\n"
--- error_log eval
qr/\[info\] .*spectra: data API answered 400 ResourceNotFoundException/
--- no_error_log
[error]



=== TEST 2: the Data API upstream at a closed port: ready answers 503 naming the Data API
--- http_config eval: SpectraQuery::http_config(dataapi_port => $::ClosedPort)
--- config
    location = /v1/ready {
        spectra_auth off;
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- request
GET /v1/ready
--- error_code: 503
--- response_body
{"status":"unavailable","checks":{"dataapi":{"ok":false,"error":"the data API is unreachable or failed"},"job_store":{"ok":true}},"failing":["dataapi"]}
--- error_log eval
qr/connect\(\) failed \(111: Connection refused\)/



=== TEST 3: liveness is not readiness: with the Data API unreachable, health still answers 200
--- http_config eval: SpectraQuery::http_config(dataapi_port => $::ClosedPort)
--- config
    location = /v1/health {
        spectra_auth off;
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- request
GET /v1/health
--- response_body_like eval
qr/^\{"status":"ok",/
--- no_error_log
[error]



=== TEST 4: a wrong signing key: ready answers 503, the Data API refused the signature
--- http_config eval: SpectraQuery::http_config(secret => 'not-the-data-api-secret')
--- config
    location = /v1/ready {
        spectra_auth off;
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- request
GET /v1/ready
--- error_code: 503
--- response_body
{"status":"unavailable","checks":{"dataapi":{"ok":false,"error":"the data API refused the signature or the credentials","type":"InvalidSignatureException"},"job_store":{"ok":true}},"failing":["dataapi"]}
--- error_log eval
qr/\[error\] .*spectra: data API answered 403 InvalidSignatureException/



=== TEST 5: the job store locked by another process: ready answers 503 naming the job store
--- http_config eval: $::HttpConfig
--- config
    location = /v1/ready {
        spectra_auth off;
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- init
SpectraMetrics::lock_store("$ENV{TEST_NGINX_SERVER_ROOT}/logs/jobs.db");
--- request
GET /v1/ready
--- error_code: 503
--- response_body
{"status":"unavailable","checks":{"dataapi":{"ok":true},"job_store":{"ok":false,"error":"the job store is locked by another process"}},"failing":["job_store"]}
--- error_log eval
qr/\[error\] .*spectra: readiness: the job store is locked by another process/



=== TEST 6: the answer is cached (spectra_ready_cache): three probes, one check of the Data API and the store
--- http_config eval
$::HttpConfig . "    spectra_ready_cache 1h;\n"
--- config
    location = /v1/ready {
        spectra_auth off;
        spectra_api;
    }

    location = /metrics {
        spectra_auth off;
        spectra_metrics;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- pipelined_requests eval
['GET /v1/ready', 'GET /v1/ready', 'GET /v1/ready', 'GET /metrics']
--- error_code eval
[200, 200, 200, 200]
--- response_body_like eval
["^\Q$::Ready\E\n\\z", "^\Q$::Ready\E\n\\z", "^\Q$::Ready\E\n\\z",
 qr/\nspectra_dataapi_request_duration_seconds_count\{action="DescribeStatement"\} 1\n.*\nspectra_job_store_duration_seconds_count\{op="probe"\} 1\n.*\nspectra_http_requests_total\{endpoint="ready",code="200"\} 3\n|\nspectra_http_requests_total\{endpoint="ready",code="200"\} 3\n.*\nspectra_dataapi_request_duration_seconds_count\{action="DescribeStatement"\} 1\n.*\nspectra_job_store_duration_seconds_count\{op="probe"\} 1\n/s]
--- no_error_log
[error]



=== TEST 7: spectra_ready_cache 0: every probe checks again
--- http_config eval
$::HttpConfig . "    spectra_ready_cache 0;\n"
--- config
    location = /v1/ready {
        spectra_auth off;
        spectra_api;
    }

    location = /metrics {
        spectra_auth off;
        spectra_metrics;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- pipelined_requests eval
['GET /v1/ready', 'GET /v1/ready', 'GET /v1/ready', 'GET /metrics']
--- error_code eval
[200, 200, 200, 200]
--- response_body_like eval
["^\Q$::Ready\E\n\\z", "^\Q$::Ready\E\n\\z", "^\Q$::Ready\E\n\\z",
 qr/\nspectra_dataapi_request_duration_seconds_count\{action="DescribeStatement"\} 3\n.*\nspectra_job_store_duration_seconds_count\{op="probe"\} 3\n/s]
--- no_error_log
[error]



=== TEST 8: ready takes GET and HEAD only
--- http_config eval: $::HttpConfig
--- config
    location = /v1/ready {
        spectra_auth off;
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- request
POST /v1/ready
--- error_code: 405
--- response_headers
Allow: GET, HEAD
--- response_body_like eval
qr/"code":"METHOD_NOT_ALLOWED"/
--- no_error_log
[error]
