# What the logs tell an operator: every error-log line about a request
# ends with its request_id (the id of X-Request-Id and of the JSON
# errors), its Data API calls' lines too; each change of a job's status
# is one info line of the audit trail, in the error log or in
# spectra_audit_log; $spectra_rows, $spectra_truncated and
# $spectra_dataapi_time give the access log what the answer held and how
# long the Data API took.
#
# Every block has its own job store (logs/, emptied before each block).
use FindBin ();
use lib "$FindBin::Bin/data/query/lib", "$FindBin::Bin/data/auth/lib";
use Test::Nginx::Socket 'no_plan';
use SpectraLogArchive;
use SpectraAuth qw(ensure_keys);
use SpectraQuery qw(api_key key_file http_config http json);

our (%K, $HttpConfig);

my @lines;

for my $t (qw(acme)) {
    my $line;
    ($K{$t}, $line) = api_key("l071$t", "tenant=$t permissions=query");
    push @lines, $line;
}

$ENV{TEST_NGINX_QT_KEYS} = key_file(@lines);
$ENV{TEST_NGINX_AUTH_KEYS} = ensure_keys("$FindBin::Bin/data/auth/keys");

# nothing listens there: the Data API is down
$ENV{TEST_NGINX_DOWN_PORT} = ($ENV{SPECTRA_PORT_BASE}
                              // ($ENV{TEST_NGINX_SERVER_PORT} - 2)) + 44;

$HttpConfig = http_config();

# The error log's lines that end with this request id.
sub lines_of {
    my ($id) = @_;
    open my $log, '<', "$ENV{TEST_NGINX_SERVROOT}/logs/error.log"
        or die "error.log: $!";
    return grep { /, request_id: \Q$id\E$/ } <$log>;
}

add_block_preprocessor(sub {
    my $block = shift;

    $block->set_value('more_headers',
                      "X-API-Key: $K{acme}\nContent-Type: application/json\n")
        unless defined $block->more_headers;
});

run_tests();

__DATA__

=== TEST 1: the lines of a failed Data API call end with the request id its JSON error names
--- http_config eval
SpectraQuery::http_config(dataapi_port => '$TEST_NGINX_DOWN_PORT')
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- init
my ($status, $body, $data) = SpectraQuery::http('POST', '/v1/queries', '{"sql": "select 1"}', 'X-API-Key' => $::K{acme}, 'Content-Type' => 'application/json');
Test::More::is($status, 502, 'the Data API down: 502');
my $id = $data->{error}{request_id} // '';
Test::More::like($id, qr/^[0-9a-f]{32}$/, 'the JSON error names the request id');
my @mine = main::lines_of($id);
Test::More::ok(scalar(grep { /connect\(\) failed .* while connecting to upstream, client: 127\.0\.0\.1, server: localhost, request: "POST \/v1\/queries HTTP\/1\.1", subrequest: "\/_spectra\/dataapi", upstream: / } @mine), "nginx's own line about the Data API call ends with it");
Test::More::ok(scalar(grep { /\[error\] .*spectra: data API answered 502/ } @mine), "the module's line ends with it");
--- request
POST /v1/queries
{"sql": "select 1"}
--- error_code: 502
--- error_log eval
qr/connect\(\) failed .*, request_id: [0-9a-f]{32}$/
--- no_error_log
[emerg]



=== TEST 2: a request nginx refuses is logged with its request id too
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        client_max_body_size 10;
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- request
POST /v1/queries
{"sql": "select 1 as a_long_enough_body"}
--- error_code: 413
--- error_log eval
qr/client intended to send too large body: \d+ bytes, client: 127\.0\.0\.1, server: localhost, request: "POST \/v1\/queries HTTP\/1\.1", host: "localhost", request_id: [0-9a-f]{32}$/



=== TEST 3: the audit trail: a query's job created, then completed, one info line each, with the request id
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- request
POST /v1/queries
{"sql": "select 1 as one"}
--- error_code: 200
--- error_log eval
[qr/\[info\] .*spectra audit: job job_[0-9a-z]{26} \(query, tenant "acme", db user "tenant_acme"\): created -> PENDING(?: while [^,]*)?, client: .*, request_id: [0-9a-f]{32}$/,
 qr/\[info\] .*spectra audit: job job_[0-9a-z]{26} \(query, tenant "acme", db user "tenant_acme"\): (?:PENDING|RUNNING) -> COMPLETED(?: while [^,]*)?, client: .*, request_id: [0-9a-f]{32}$/]
--- no_error_log
[error]



=== TEST 4: a failed job's audit line names why
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- request
POST /v1/queries
{"sql": "select 1 / 0"}
--- error_code: 422
--- error_log eval
qr/spectra audit: job job_[0-9a-z]{26} \(query, tenant "acme", db user "tenant_acme"\): (?:PENDING|RUNNING) -> FAILED, QUERY_FAILED(?: while [^,]*)?, client: /



=== TEST 5: spectra_audit_log: the trail goes to a log of its own at info, not to the error log
--- http_config eval
$::HttpConfig . "    spectra_audit_log logs/audit.log;\n"
--- config
    location /v1/ {
        spectra_api;
    }

    location = /audit {
        default_type text/plain;
        alias logs/audit.log;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- pipelined_requests eval
["POST /v1/queries\n{\"sql\": \"select 1 as one\"}", "GET /audit"]
--- error_code eval
[200, 200]
--- response_body_like eval
[qr/"one":1/,
 qr/\A[^\n]* \[info\] \d+#\d+: spectra audit: job (job_[0-9a-z]{26}) \(query, tenant "acme", db user "tenant_acme"\): created -> PENDING\n[^\n]* \[info\] \d+#\d+: spectra audit: job \1 \(query, tenant "acme", db user "tenant_acme"\): (?:PENDING|RUNNING) -> [A-Z]+\n/]
--- no_error_log
spectra audit



=== TEST 6: spectra_audit_log takes error_log's levels: at notice the info lines are not written
--- http_config eval
$::HttpConfig . "    spectra_audit_log logs/audit.log notice;\n"
--- config
    location /v1/ {
        spectra_api;
    }

    location = /audit {
        default_type text/plain;
        alias logs/audit.log;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- pipelined_requests eval
["POST /v1/queries\n{\"sql\": \"select 1 as one\"}", "GET /audit"]
--- error_code eval
[200, 200]
--- response_body_like eval
[qr/"one":1/, qr/\A\z/]
--- no_error_log
spectra audit



=== TEST 7: $spectra_rows, $spectra_truncated and $spectra_dataapi_time in the access log
--- http_config eval
$::HttpConfig . "    log_format t071 '\$uri \$status rows=\$spectra_rows truncated=\$spectra_truncated dataapi=\$spectra_dataapi_time';\n"
--- config
    location /v1/ {
        spectra_api;
        spectra_row_limit 3;
        access_log logs/t071.log t071;
    }

    location = /access {
        default_type text/plain;
        alias logs/t071.log;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- pipelined_requests eval
["POST /v1/queries\n{\"sql\": \"select 1 as one\"}",
 "POST /v1/queries\n{\"sql\": \"select generate_series(1, 10) as n\"}",
 "GET /v1/jobs",
 "GET /access"]
--- error_code eval
[200, 200, 200, 200]
--- response_body_like eval
[qr/"one":1/, qr/"truncated":true/, qr/"jobs"/,
 qr{\A/v1/queries 200 rows=1 truncated=false dataapi=\d+\.\d{3}\n/v1/queries 200 rows=3 truncated=true dataapi=\d+\.\d{3}\n/v1/jobs 200 rows=- truncated=- dataapi=0\.000\n\z}]
