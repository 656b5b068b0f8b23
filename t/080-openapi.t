# The OpenAPI description: GET /v1/openapi.json serves docs/openapi.json
# byte for byte without credentials, and the real answers of every
# endpoint validate against its schemas (t/data/openapi/validate.mjs, ajv
# on JSON Schema 2020-12), successes and errors alike: queries (rows,
# pages, 202, 408, 409, 422), jobs, results pages, exports, stable links
# (302, 410), 400 / 401 / 403 / 404 / 413 / 415 / 429 / 503.  Each
# request's body goes through its own filter, which puts the verdict
# ("valid", or "invalid:" with ajv's errors) before the body; headers are
# checked per request.  Imports are validated when the build has
# /v1/imports (TEST 20 says which it found).
use FindBin ();
use lib "$FindBin::Bin/data/query/lib", "$FindBin::Bin/data/auth/lib",
        "$FindBin::Bin/data/bulk/lib", "$FindBin::Bin/data/openapi/lib",
        "$FindBin::Bin/data/import/lib";
use Test::Nginx::Socket 'no_plan';
use SpectraLogArchive;
use SpectraAuth qw(ensure_keys);
use SpectraQuery qw(api_key key_file http_config http json poll submit
                    job_status gate_close gate_open);
use SpectraBulk qw(export_config export wait_export);
use SpectraOpenAPI qw(check valid raw spec spec_bytes);

our (%K, $HttpConfig, $HttpConfigPlain, $HttpConfigLimited, $HttpConfigImport,
     $ImportObjects, $Spec, $Version, $GATED, $NOJOB);

my @lines;

for my $k (['acme', 'tenant=acme permissions=query,bulk'],
           ['globex', 'tenant=globex permissions=query,bulk'],
           ['queryonly', 'tenant=acme permissions=query'],
           ['bulkonly', 'tenant=acme permissions=bulk'])
{
    my $line;
    ($K{$k->[0]}, $line) = api_key("o080$k->[0]", $k->[1]);
    push @lines, $line;
}

$ENV{TEST_NGINX_QT_KEYS} = key_file(@lines);
$ENV{TEST_NGINX_AUTH_KEYS} = ensure_keys("$FindBin::Bin/data/auth/keys");

$HttpConfigPlain = http_config();
$HttpConfig = http_config() . export_config();
$HttpConfigLimited = $HttpConfig . <<'_EOC_';
    limit_req_zone $spectra_tenant_id zone=o080:1m rate=1r/m;
_EOC_

# the import settings and object store (which takes uploads) of the
# build's own import suites, when it has them
$HttpConfigImport = $HttpConfig
    . (eval { require SpectraImport; SpectraImport::import_config() } // '');
$ImportObjects = -e "$FindBin::Bin/data/import/objects.conf" ? 'import' : 'bulk';

$Spec = JSON::PP->new->decode(spec_bytes());
$Version = $Spec->{info}{version};

# waits at the gate (SpectraQuery::gate_close) until the test opens it
$GATED = 'select count(*) from spectra_gate';

# a well-formed job id that no store has
$NOJOB = 'job_' . ('0' x 26);

# "POST /v1/...\n{json}": a request line and its body (canonical JSON, so
# that an idempotency_key replays with the same bytes)
sub post {
    my ($uri, $body) = @_;
    return "POST $uri\n" . json()->encode($body);
}

# one filter per request: [[v('GET /v1/jobs', 200)], ...]
sub v {
    my ($op, $status) = @_;
    return [valid($op, $status)];
}

# "--- init": acme exports its rows with id <= 3000 (body options added)
# and the export completes; $ENV{TEST_NGINX_JOB} names it.
sub exported {
    my (%body) = @_;
    my ($status, $job) = export($K{acme},
                                {sql => 'select * from sales where id <= 3000',
                                 %body});

    die "POST /v1/bulk answered $status\n" if $status != 202;

    $ENV{TEST_NGINX_JOB} = $job->{job_id};
    $job = wait_export($K{acme}, $job->{job_id});

    die "the export is $job->{status}\n" if $job->{status} ne 'COMPLETED';

    return $job;
}

# Waits until acme's job $TEST_NGINX_JOB has that status.
sub reached {
    my ($status) = @_;
    return poll(sub { job_status($K{acme}, $ENV{TEST_NGINX_JOB}) eq $status },
                200, 0.05);
}

add_block_preprocessor(sub {
    my $block = shift;
    my $t = $block->tenant // 'acme';

    # what an earlier block left waiting at the gate ends now
    gate_open();

    $block->set_value('more_headers',
                      "X-API-Key: $K{$t}\nContent-Type: application/json\n")
        unless defined $block->more_headers;
    $block->set_value('no_error_log', "[error]\n")
        unless defined $block->no_error_log;
});

run_tests();

__DATA__

=== TEST 1: GET /v1/openapi.json serves docs/openapi.json byte for byte, without credentials, and describes itself and the health answer
--- http_config eval: $::HttpConfig
--- config
    location = /v1/openapi.json {
        spectra_auth off;
        spectra_api;
    }

    location = /v1/health {
        spectra_auth off;
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- more_headers
--- pipelined_requests eval
['GET /v1/openapi.json', 'GET /v1/health']
--- error_code eval
[200, 200]
--- raw_response_headers_like eval
[qr{Content-Type: application/json; charset=utf-8\r\nContent-Length: (??{ length SpectraOpenAPI::spec_bytes() })\r\n.*X-Request-Id: [0-9a-f]{32}\r\n}s,
 qr{X-Request-Id: [0-9a-f]{32}\r\n}]
--- response_body_filters eval
[main::v('GET /v1/openapi.json', 200), main::v('GET /v1/health', 200)]
--- response_body_like eval
[qr/^valid\n\Q@{[ SpectraOpenAPI::spec_bytes() ]}\E\z/, qr/^valid\n\{"status":"ok","version":"\Q$::Version\E",/]



=== TEST 2: HEAD /v1/openapi.json: the document's headers, no body
--- http_config eval: $::HttpConfig
--- config
    location = /v1/openapi.json {
        spectra_auth off;
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- more_headers
--- request
HEAD /v1/openapi.json
--- raw_response_headers_like eval
qr{Content-Type: application/json; charset=utf-8\r\nContent-Length: (??{ length SpectraOpenAPI::spec_bytes() })\r\n}
--- response_body eval
''



=== TEST 3: the document is OpenAPI 3.1 and names every route of the module
--- http_config eval: $::HttpConfig
--- config
    location = /v1/openapi.json {
        spectra_auth off;
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- init
my $routes = "$ENV{TEST_NGINX_REPO}/ngx_spectra_module/ngx_http_spectra_api.c";
open my $fh, '<', $routes or die "$routes: $!";
my %methods = (GET => 'get', POST => 'post', PATCH => 'patch', DELETE => 'delete');
my @missing;
while (<$fh>) {
    next unless /^\s*\{ "([^"]+)", (NGX_HTTP_[A-Z_|]+)/;
    my ($path, $m) = ("/v1/$1", $2);
    my $n = 0;
    $path =~ s{\*}{$n++ ? '{n}' : '{id}'}ge;
    for my $x (map { /NGX_HTTP_(\w+)/ ? $1 : () } split /\|/, $m) {
        next if $x eq 'HEAD';
        push @missing, "$x $path" unless $::Spec->{paths}{$path}{$methods{$x}};
    }
}
Test::More::is_deeply(\@missing, [], 'every route of ngx_http_spectra_api.c is in docs/openapi.json');
Test::More::is($::Spec->{openapi}, '3.1.0', 'OpenAPI 3.1.0');
--- more_headers
--- request
GET /v1/openapi.json
--- response_body_filters eval
[main::v('GET /v1/openapi.json', 200)]
--- response_body_like eval
[qr/^valid\n\{\n  "openapi": "3\.1\.0",/]



=== TEST 4: query answers validate: rows as objects (numbers, NULL, booleans, numeric strings), as arrays truncated, and the idempotent replay
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- pipelined_requests eval
[main::post('/v1/queries', {sql => "select 1 as i, 2.5::float8 as f, null::text as t, true as b, 12.50::numeric as n, 'x' as s, now() as at"}),
 main::post('/v1/queries', {sql => 'select n, n * 2 as m from generate_series(1, 5) n', row_limit => 2, result_format => 'arrays'}),
 main::post('/v1/queries', {sql => 'select :a::int + 1 as x', parameters => [{name => 'a', value => 41}], idempotency_key => 'o080-replay'}),
 main::post('/v1/queries', {sql => 'select :a::int + 1 as x', parameters => [{name => 'a', value => 41}], idempotency_key => 'o080-replay'}),
 main::post('/v1/queries', {sql => 'select id from sales where false'})]
--- error_code eval
[200, 200, 200, 200, 200]
--- response_body_filters eval
[main::v('POST /v1/queries', 200), main::v('POST /v1/queries', 200), main::v('POST /v1/queries', 200), main::v('POST /v1/queries', 200), main::v('POST /v1/queries', 200)]
--- response_body_like eval
[qr/^valid\n\{"job_id":"job_\w{26}","status":"COMPLETED","data":\[\{"i":1,"f":2\.5,"t":null,"b":true,"n":"12\.50","s":"x","at":"[^"]+"\}\],"metadata":\{"columns":\[\{"name":"i","type":"integer"\},/,
 qr/^valid\n\{"job_id":"job_\w{26}","status":"COMPLETED","data":\[\[1,2\],\[2,4\]\],"metadata":\{.*"row_count":2,"truncated":true,.*"message":"the result has more than 2 rows/,
 qr/^valid\n\{"job_id":"(job_\w{26})","status":"COMPLETED","data":\[\{"x":42\}\]/,
 qr/^valid\n\{"job_id":"job_\w{26}","status":"COMPLETED","data":\[\{"x":42\}\]/,
 qr/^valid\n\{"job_id":"job_\w{26}","status":"COMPLETED","data":\[\],.*"row_count":0,"truncated":false/]



=== TEST 5: query errors validate as the shared error object: 400 INVALID_REQUEST and INVALID_SQL, 409 idempotency reuse, 422 QUERY_FAILED with sqlstate and job_id
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- init
SpectraQuery::submit($::K{acme}, {sql => 'select 1', idempotency_key => 'o080-used'}, until => 'COMPLETED');
--- pipelined_requests eval
[main::post('/v1/queries', {sql => 'select 1', bogus => 1}),
 main::post('/v1/queries', {sql => 'delete from sales'}),
 main::post('/v1/queries', {sql => 'select :a', parameters => [{name => '1a', value => 1}]}),
 "POST /v1/queries\n{\"sql\": ",
 main::post('/v1/queries', {sql => 'select 2', idempotency_key => 'o080-used'}),
 main::post('/v1/queries', {sql => 'select 1 / 0'})]
--- error_code eval
[400, 400, 400, 400, 409, 422]
--- response_body_filters eval
[main::v('POST /v1/queries', 400), main::v('POST /v1/queries', 400), main::v('POST /v1/queries', 400), main::v('POST /v1/queries', 400), main::v('POST /v1/queries', 409), main::v('POST /v1/queries', 422)]
--- response_body_like eval
[qr/^valid\n\{"error":\{"code":"INVALID_REQUEST","message":"unknown field \\"bogus\\"","request_id":"[0-9a-f]{32}"\}\}$/,
 qr/^valid\n\{"error":\{"code":"INVALID_SQL",/,
 qr/^valid\n\{"error":\{"code":"INVALID_REQUEST","message":"parameters\[0\]: the name must be/,
 qr/^valid\n\{"error":\{"code":"INVALID_REQUEST","message":"malformed JSON/,
 qr/^valid\n\{"error":\{"code":"CONFLICT","message":"idempotency_key was used with a different request"/,
 qr/^valid\n\{"error":\{"code":"QUERY_FAILED","message":"[^"]*division by zero[^"]*","request_id":"[0-9a-f]{32}","sqlstate":"22012","job_id":"job_\w{26}"\}\}$/]
--- no_error_log
[error]



=== TEST 6: 415 for a body that is not JSON, and nginx's own 413 as the JSON error
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        client_max_body_size 64;
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- more_headers eval
"X-API-Key: $::K{acme}\nContent-Type: text/plain\n"
--- pipelined_requests eval
[main::post('/v1/queries', {sql => 'select 1'}),
 main::post('/v1/bulk', {sql => 'select 1'}),
 main::post('/v1/queries', {sql => 'select 1 from ' . ('x' x 100)})]
--- error_code eval
[415, 415, 413]
--- response_body_filters eval
[main::v('POST /v1/queries', 415), main::v('POST /v1/bulk', 415), main::v('POST /v1/queries', 413)]
--- response_body_like eval
[qr/^valid\n\{"error":\{"code":"UNSUPPORTED_MEDIA_TYPE",/, qr/^valid\n\{"error":\{"code":"UNSUPPORTED_MEDIA_TYPE",/, qr/^valid\n\{"error":\{"code":"PAYLOAD_TOO_LARGE",/]
--- no_error_log
[alert]



=== TEST 7: without credentials every authenticated endpoint answers the 401 of the document, with WWW-Authenticate
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/bulk/objects.conf;

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- more_headers
Content-Type: application/json
--- pipelined_requests eval
[main::post('/v1/queries', {sql => 'select 1'}), 'GET /v1/jobs', "GET /v1/jobs/$::NOJOB", "DELETE /v1/jobs/$::NOJOB", "GET /v1/jobs/$::NOJOB/results",
 main::post('/v1/bulk', {sql => 'select 1'}), "GET /v1/bulk/$::NOJOB", "DELETE /v1/bulk/$::NOJOB", "GET /v1/bulk/$::NOJOB/files/0"]
--- error_code eval
[(401) x 9]
--- raw_response_headers_like eval
[(qr{WWW-Authenticate: Bearer realm="spectra"\r\n}) x 9]
--- response_body_filters eval
[main::v('POST /v1/queries', 401), main::v('GET /v1/jobs', 401), main::v('GET /v1/jobs/{id}', 401), main::v('DELETE /v1/jobs/{id}', 401), main::v('GET /v1/jobs/{id}/results', 401),
 main::v('POST /v1/bulk', 401), main::v('GET /v1/bulk/{id}', 401), main::v('DELETE /v1/bulk/{id}', 401), main::v('GET /v1/bulk/{id}/files/{n}', 401)]
--- response_body_like eval
[(qr/^valid\n\{"error":\{"code":"UNAUTHENTICATED","message":"missing credentials",/) x 9]
--- no_error_log
[error]



=== TEST 8: credentials without the bulk permission: 403 naming it, on every bulk endpoint
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/bulk/objects.conf;

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- tenant: queryonly
--- pipelined_requests eval
[main::post('/v1/bulk', {sql => 'select 1'}), "GET /v1/bulk/$::NOJOB", "DELETE /v1/bulk/$::NOJOB", "GET /v1/bulk/$::NOJOB/files/0"]
--- error_code eval
[403, 403, 403, 403]
--- response_body_filters eval
[main::v('POST /v1/bulk', 403), main::v('GET /v1/bulk/{id}', 403), main::v('DELETE /v1/bulk/{id}', 403), main::v('GET /v1/bulk/{id}/files/{n}', 403)]
--- response_body_like eval
[(qr/^valid\n\{"error":\{"code":"FORBIDDEN","message":"the credentials lack the \\"bulk\\" permission",/) x 4]



=== TEST 9: a bulk-only key reads jobs but not results nor queries (403)
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- tenant: bulkonly
--- pipelined_requests eval
["GET /v1/jobs/$::NOJOB/results", main::post('/v1/queries', {sql => 'select 1'}), 'GET /v1/jobs?limit=1']
--- error_code eval
[403, 403, 200]
--- response_body_filters eval
[main::v('GET /v1/jobs/{id}/results', 403), main::v('POST /v1/queries', 403), main::v('GET /v1/jobs', 200)]
--- response_body_like eval
[qr/^valid\n\{"error":\{"code":"FORBIDDEN","message":"the credentials lack the \\"query\\" permission",/,
 qr/^valid\n\{"error":\{"code":"FORBIDDEN",/,
 qr/^valid\n\{"jobs":\[\],"next_cursor":null\}$/]



=== TEST 10: a key with a wrong secret: 401 with error="invalid_token"
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- more_headers eval
"X-API-Key: " . ($::K{acme} =~ s/.$/substr($::K{acme}, -1) eq 'A' ? 'B' : 'A'/er) . "\n"
--- pipelined_requests eval
['GET /v1/jobs']
--- error_code eval
[401]
--- raw_response_headers_like eval
[qr{WWW-Authenticate: Bearer realm="spectra", error="invalid_token"\r\n}]
--- response_body_filters eval
[main::v('GET /v1/jobs', 401)]
--- response_body_like eval
[qr/^valid\n\{"error":\{"code":"UNAUTHENTICATED","message":"invalid or expired credentials",/]



=== TEST 11: a running job: 202 with Location and Retry-After, the job while it runs, results 202, cancel 200, then 409, the list and include=sql
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- init
SpectraQuery::gate_close();
SpectraQuery::submit($::K{acme}, {sql => $::GATED}, until => 'RUNNING');
--- pipelined_requests eval
[main::post('/v1/queries', {sql => $::GATED, wait_timeout_seconds => 0}),
 'GET /v1/jobs/$TEST_NGINX_JOB', 'GET /v1/jobs/$TEST_NGINX_JOB/results', 'GET /v1/jobs/$TEST_NGINX_JOB/results?page_size=1',
 'DELETE /v1/jobs/$TEST_NGINX_JOB', 'DELETE /v1/jobs/$TEST_NGINX_JOB', 'GET /v1/jobs/$TEST_NGINX_JOB/results',
 'GET /v1/jobs?status=PENDING,RUNNING,CANCELLED&type=query&limit=5', 'GET /v1/jobs/$TEST_NGINX_JOB?include=sql']
--- error_code eval
[202, 200, 202, 202, 200, 409, 409, 200, 200]
--- raw_response_headers_like eval
[qr{Location: http://[^/]+/v1/jobs/job_\w{26}\r\n.*Retry-After: \d+\r\n}s, qr{X-Request-Id: }, qr{Location: http://[^/]+/v1/jobs/(??{ $ENV{TEST_NGINX_JOB} })\r\n.*Retry-After: \d+\r\n}s, qr{Location: http://[^/]+/v1/jobs/(??{ $ENV{TEST_NGINX_JOB} })\r\n}, qr{X-Request-Id: }, qr{X-Request-Id: }, qr{X-Request-Id: }, qr{X-Request-Id: }, qr{X-Request-Id: }]
--- response_body_filters eval
[main::v('POST /v1/queries', 202), main::v('GET /v1/jobs/{id}', 200), main::v('GET /v1/jobs/{id}/results', 202), main::v('GET /v1/jobs/{id}/results', 202),
 main::v('DELETE /v1/jobs/{id}', 200), main::v('DELETE /v1/jobs/{id}', 409), main::v('GET /v1/jobs/{id}/results', 409),
 main::v('GET /v1/jobs', 200), main::v('GET /v1/jobs/{id}', 200)]
--- response_body_like eval
[qr/^valid\n\{"job_id":"job_\w{26}","type":"query","status":"(?:PENDING|RUNNING)",/,
 qr/^valid\n\{"job_id":"(??{ $ENV{TEST_NGINX_JOB} })","type":"query","status":"RUNNING",.*"finished_at":null,"row_count":null,"execution_time_ms":null,"links":/,
 qr/^valid\n\{"job_id":"(??{ $ENV{TEST_NGINX_JOB} })","type":"query","status":"RUNNING",/,
 qr/^valid\n\{"job_id":"(??{ $ENV{TEST_NGINX_JOB} })","type":"query","status":"RUNNING",/,
 qr/^valid\n\{"job_id":"(??{ $ENV{TEST_NGINX_JOB} })","type":"query","status":"CANCELLED",/,
 qr/^valid\n\{"error":\{"code":"CONFLICT","message":"the job is CANCELLED and cannot be cancelled",/,
 qr/^valid\n\{"error":\{"code":"CONFLICT","message":"the query was cancelled","request_id":"[0-9a-f]{32}","job_id":"(??{ $ENV{TEST_NGINX_JOB} })"\}\}$/,
 qr/^valid\n\{"jobs":\[\{"job_id":"job_\w{26}","type":"query","status":"(?:PENDING|RUNNING)",.*\{"job_id":"(??{ $ENV{TEST_NGINX_JOB} })","type":"query","status":"CANCELLED",.*"next_cursor":null\}$/,
 qr/^valid\n\{"job_id":"(??{ $ENV{TEST_NGINX_JOB} })",.*"sql":"select count\(\*\) from spectra_gate","parameters":null,/]



=== TEST 12: a timed-out query: 408 QUERY_TIMEOUT with job_id, its results 408 and the job TIMEOUT
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- init
SpectraQuery::gate_close();
SpectraQuery::submit($::K{acme}, {sql => $::GATED, timeout_seconds => 1}, until => 'TIMEOUT');
--- timeout: 10
--- pipelined_requests eval
['GET /v1/jobs/$TEST_NGINX_JOB/results', 'GET /v1/jobs/$TEST_NGINX_JOB', main::post('/v1/queries', {sql => $::GATED, timeout_seconds => 1, wait_timeout_seconds => 5})]
--- error_code eval
[408, 200, 408]
--- response_body_filters eval
[main::v('GET /v1/jobs/{id}/results', 408), main::v('GET /v1/jobs/{id}', 200), main::v('POST /v1/queries', 408)]
--- response_body_like eval
[qr/^valid\n\{"error":\{"code":"QUERY_TIMEOUT","message":"the query timed out and was cancelled","request_id":"[0-9a-f]{32}","job_id":"(??{ $ENV{TEST_NGINX_JOB} })"\}\}$/,
 qr/^valid\n\{"job_id":"(??{ $ENV{TEST_NGINX_JOB} })","type":"query","status":"TIMEOUT",.*"error":\{"code":"QUERY_TIMEOUT",/,
 qr/^valid\n\{"error":\{"code":"QUERY_TIMEOUT",/]



=== TEST 13: results and their pages, a failed job (422, 409 to cancel), and the 400s and 404 of the jobs endpoints
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- init
SpectraQuery::submit($::K{acme}, {sql => 'select 1 / 0'}, env => 'TEST_NGINX_FAILED', until => 'FAILED');
SpectraQuery::submit($::K{acme}, {sql => 'select n from generate_series(1, 5) n', row_limit => 3}, until => 'COMPLETED');
my ($status, $text, $data) = SpectraQuery::http('GET', "/v1/jobs/$ENV{TEST_NGINX_JOB}/results?page_size=2", undef, 'X-API-Key' => $::K{acme});
die "the first page: $status $text\n" unless $status == 200 && defined $data->{next_cursor};
$ENV{TEST_NGINX_CURSOR} = $data->{next_cursor};
--- pipelined_requests eval
['GET /v1/jobs/$TEST_NGINX_JOB/results', 'GET /v1/jobs/$TEST_NGINX_JOB/results?page_size=2&cursor=$TEST_NGINX_CURSOR', 'GET /v1/jobs/$TEST_NGINX_JOB/results?page_size=10&page_bytes=2048',
 'GET /v1/jobs/$TEST_NGINX_JOB/results?page_size=0', 'GET /v1/jobs/$TEST_NGINX_JOB/results?cursor=AAAA', 'GET /v1/jobs?type=nope', 'GET /v1/jobs?cursor=nope', 'GET /v1/jobs?limit=101', 'GET /v1/jobs/$TEST_NGINX_JOB?include=nope',
 "GET /v1/jobs/$::NOJOB", "GET /v1/jobs/$::NOJOB/results", "DELETE /v1/jobs/$::NOJOB", 'GET /v1/jobs/job_x',
 'GET /v1/jobs/$TEST_NGINX_FAILED', 'GET /v1/jobs/$TEST_NGINX_FAILED/results', 'DELETE /v1/jobs/$TEST_NGINX_FAILED', 'GET /v1/jobs?status=FAILED']
--- error_code eval
[200, 200, 200, 400, 400, 400, 400, 400, 400, 404, 404, 404, 404, 200, 422, 409, 200]
--- response_body_filters eval
[main::v('GET /v1/jobs/{id}/results', 200), main::v('GET /v1/jobs/{id}/results', 200), main::v('GET /v1/jobs/{id}/results', 200),
 main::v('GET /v1/jobs/{id}/results', 400), main::v('GET /v1/jobs/{id}/results', 400), main::v('GET /v1/jobs', 400), main::v('GET /v1/jobs', 400), main::v('GET /v1/jobs', 400), main::v('GET /v1/jobs/{id}', 400),
 main::v('GET /v1/jobs/{id}', 404), main::v('GET /v1/jobs/{id}/results', 404), main::v('DELETE /v1/jobs/{id}', 404), main::v('GET /v1/jobs/{id}', 404),
 main::v('GET /v1/jobs/{id}', 200), main::v('GET /v1/jobs/{id}/results', 422), main::v('DELETE /v1/jobs/{id}', 409), main::v('GET /v1/jobs', 200)]
--- response_body_like eval
[qr/^valid\n\{"job_id":"(??{ $ENV{TEST_NGINX_JOB} })","status":"COMPLETED","data":\[\{"n":1\},\{"n":2\},\{"n":3\}\],.*"truncated":true,/,
 qr/^valid\n\{"job_id":"(??{ $ENV{TEST_NGINX_JOB} })","status":"COMPLETED","data":\[\{"n":3\},\{"n":4\}\],.*"next_cursor":"[A-Za-z0-9_-]+"\}$/,
 qr/^valid\n\{"job_id":"(??{ $ENV{TEST_NGINX_JOB} })","status":"COMPLETED","data":\[\{"n":1\},\{"n":2\},\{"n":3\},\{"n":4\},\{"n":5\}\],.*"truncated":false,.*"next_cursor":null\}$/,
 qr/^valid\n\{"error":\{"code":"INVALID_REQUEST","message":"page_size must be an integer from 1 to \d+"/,
 qr/^valid\n\{"error":\{"code":"INVALID_REQUEST","message":"invalid cursor/,
 qr/^valid\n\{"error":\{"code":"INVALID_REQUEST","message":"type must be/,
 qr/^valid\n\{"error":\{"code":"INVALID_REQUEST","message":"invalid cursor"/,
 qr/^valid\n\{"error":\{"code":"INVALID_REQUEST","message":"limit must be an integer from 1 to 100"/,
 qr/^valid\n\{"error":\{"code":"INVALID_REQUEST","message":"include must be \\"sql\\""/,
 (qr/^valid\n\{"error":\{"code":"NOT_FOUND","message":"no such job",/) x 4,
 qr/^valid\n\{"job_id":"(??{ $ENV{TEST_NGINX_FAILED} })","type":"query","status":"FAILED",.*"error":\{"code":"QUERY_FAILED","message":"[^"]*division by zero[^"]*","sqlstate":"22012"\}/,
 qr/^valid\n\{"error":\{"code":"QUERY_FAILED",.*"sqlstate":"22012","job_id":"(??{ $ENV{TEST_NGINX_FAILED} })"\}\}$/,
 qr/^valid\n\{"error":\{"code":"CONFLICT","message":"the job is FAILED and cannot be cancelled"/,
 qr/^valid\n\{"jobs":\[\{"job_id":"(??{ $ENV{TEST_NGINX_FAILED} })",.*\],"next_cursor":null\}$/]



=== TEST 14: a completed export: its files, the job with its result, the stable link's 302, the 404s and 409 around it, the idempotent replay 200, and the 400s of POST /v1/bulk
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/bulk/objects.conf;

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- init
main::exported(idempotency_key => 'o080-export');
--- pipelined_requests eval
['GET /v1/bulk/$TEST_NGINX_JOB', 'GET /v1/jobs/$TEST_NGINX_JOB', 'GET /v1/jobs?type=bulk', 'GET /v1/bulk/$TEST_NGINX_JOB/files/0', 'GET /v1/bulk/$TEST_NGINX_JOB/files/7', 'DELETE /v1/bulk/$TEST_NGINX_JOB', 'GET /v1/jobs/$TEST_NGINX_JOB/results', "GET /v1/bulk/$::NOJOB",
 main::post('/v1/bulk', {sql => 'select * from sales where id <= 3000', idempotency_key => 'o080-export'}),
 main::post('/v1/bulk', {sql => 'select 1', format => 'xml'}), main::post('/v1/bulk', {sql => 'select :a', parameters => []}), main::post('/v1/bulk', {sql => 'drop table sales'}),
 main::post('/v1/bulk', {sql => 'select 1', max_file_size => 1}), main::post('/v1/bulk', {sql => 'select 1', csv => {delimiter => '"'}})]
--- error_code eval
[200, 200, 200, 302, 404, 409, 404, 404, 200, 400, 400, 400, 400, 400]
--- raw_response_headers_like eval
[qr{X-Request-Id: }, qr{X-Request-Id: }, qr{X-Request-Id: }, qr{Location: http://127\.0\.0\.1:\d+/spectra-exports/[^\r]+X-Amz-Signature=[0-9a-f]{64}\r\n.*Cache-Control: no-store\r\n}s, (qr{X-Request-Id: }) x 10]
--- response_body_filters eval
[main::v('GET /v1/bulk/{id}', 200), main::v('GET /v1/jobs/{id}', 200), main::v('GET /v1/jobs', 200), main::v('GET /v1/bulk/{id}/files/{n}', 302), main::v('GET /v1/bulk/{id}/files/{n}', 404), main::v('DELETE /v1/bulk/{id}', 409), main::v('GET /v1/jobs/{id}/results', 404), main::v('GET /v1/bulk/{id}', 404),
 main::v('POST /v1/bulk', 200), (main::v('POST /v1/bulk', 400)) x 5]
--- response_body_like eval
[qr/^valid\n\{"job_id":"(??{ $ENV{TEST_NGINX_JOB} })","type":"bulk","status":"COMPLETED",.*"result":\{"format":"csv","compression":"gzip","expires_at":"[^"]+","max_downloads":null,"files":\[\{"url":"http:[^"]+","link":"\/v1\/bulk\/(??{ $ENV{TEST_NGINX_JOB} })\/files\/0","size":\d+,"rows":1800\}\]\}\}$/,
 qr/^valid\n\{"job_id":"(??{ $ENV{TEST_NGINX_JOB} })","type":"bulk","status":"COMPLETED",.*"links":\{"self":"[^"]+","export":"\/v1\/bulk\/(??{ $ENV{TEST_NGINX_JOB} })"\},"result":\{/,
 qr/^valid\n\{"jobs":\[\{"job_id":"(??{ $ENV{TEST_NGINX_JOB} })","type":"bulk",/,
 qr/^valid\n\{"url":"http:/,
 qr/^valid\n\{"error":\{"code":"NOT_FOUND","message":"the export has no file \\"7\\"/,
 qr/^valid\n\{"error":\{"code":"CONFLICT","message":"the job is COMPLETED and cannot be cancelled"/,
 qr/^valid\n\{"error":\{"code":"NOT_FOUND","message":"an export has no inline results/,
 qr/^valid\n\{"error":\{"code":"NOT_FOUND","message":"no such export"/,
 qr/^valid\n\{"job_id":"(??{ $ENV{TEST_NGINX_JOB} })","type":"bulk","status":"COMPLETED",.*"idempotency_key":"o080-export",.*"result":\{/,
 qr/^valid\n\{"error":\{"code":"INVALID_REQUEST","message":"format must be/,
 qr/^valid\n\{"error":\{"code":"INVALID_REQUEST","message":"an export takes no parameters/,
 qr/^valid\n\{"error":\{"code":"INVALID_SQL",/,
 qr/^valid\n\{"error":\{"code":"INVALID_REQUEST","message":"max_file_size/,
 qr/^valid\n\{"error":\{"code":"INVALID_REQUEST",/]



=== TEST 15: a running export: 202 with Location, the export RUNNING, its link 409, cancel 200; max_downloads: 302 once, then 410 GONE and url null
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/bulk/objects.conf;

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- init
main::exported(max_downloads => 1);
$ENV{TEST_NGINX_COUNTED} = $ENV{TEST_NGINX_JOB};
SpectraQuery::gate_close();
my ($status, $job) = SpectraBulk::export($::K{acme}, {sql => $::GATED});
die "POST /v1/bulk answered $status\n" if $status != 202;
$ENV{TEST_NGINX_JOB} = $job->{job_id};
main::reached('RUNNING');
--- pipelined_requests eval
[main::post('/v1/bulk', {sql => $::GATED, format => 'json', compression => 'zstd'}),
 'GET /v1/bulk/$TEST_NGINX_JOB', 'GET /v1/bulk/$TEST_NGINX_JOB/files/0', 'DELETE /v1/bulk/$TEST_NGINX_JOB', 'DELETE /v1/bulk/$TEST_NGINX_JOB',
 'GET /v1/bulk/$TEST_NGINX_COUNTED/files/0', 'GET /v1/bulk/$TEST_NGINX_COUNTED/files/0', 'GET /v1/bulk/$TEST_NGINX_COUNTED']
--- error_code eval
[202, 200, 409, 200, 409, 302, 410, 200]
--- raw_response_headers_like eval
[qr{Location: http://[^/]+/v1/bulk/job_\w{26}\r\n.*Retry-After: \d+\r\n}s, (qr{X-Request-Id: }) x 4, qr{Location: http://[^\r]+\r\n.*Cache-Control: no-store\r\n}s, (qr{X-Request-Id: }) x 2]
--- response_body_filters eval
[main::v('POST /v1/bulk', 202), main::v('GET /v1/bulk/{id}', 200), main::v('GET /v1/bulk/{id}/files/{n}', 409), main::v('DELETE /v1/bulk/{id}', 200), main::v('DELETE /v1/bulk/{id}', 409),
 main::v('GET /v1/bulk/{id}/files/{n}', 302), main::v('GET /v1/bulk/{id}/files/{n}', 410), main::v('GET /v1/bulk/{id}', 200)]
--- response_body_like eval
[qr/^valid\n\{"job_id":"job_\w{26}","type":"bulk","status":"(?:PENDING|RUNNING)",.*"links":\{"self":"[^"]+","export":"\/v1\/bulk\/job_\w{26}"\}\}$/,
 qr/^valid\n\{"job_id":"(??{ $ENV{TEST_NGINX_JOB} })","type":"bulk","status":"RUNNING",/,
 qr/^valid\n\{"error":\{"code":"CONFLICT",/,
 qr/^valid\n\{"job_id":"(??{ $ENV{TEST_NGINX_JOB} })","type":"bulk","status":"CANCELLED",/,
 qr/^valid\n\{"error":\{"code":"CONFLICT","message":"the job is CANCELLED and cannot be cancelled"/,
 qr/^valid\n\{"url":"http:/,
 qr/^valid\n\{"error":\{"code":"GONE","message":"this link was used 1 times/,
 qr/^valid\n\{"job_id":"(??{ $ENV{TEST_NGINX_COUNTED} })",.*"max_downloads":1,"files":\[\{"url":null,"link":/]



=== TEST 16: another tenant's jobs and exports are the document's 404 on every endpoint
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/bulk/objects.conf;

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- init
main::exported();
$ENV{TEST_NGINX_EXPORT} = $ENV{TEST_NGINX_JOB};
SpectraQuery::submit($::K{acme}, {sql => 'select 1'}, until => 'COMPLETED');
--- tenant: globex
--- pipelined_requests eval
['GET /v1/jobs/$TEST_NGINX_JOB', 'GET /v1/jobs/$TEST_NGINX_JOB/results', 'DELETE /v1/jobs/$TEST_NGINX_JOB',
 'GET /v1/bulk/$TEST_NGINX_EXPORT', 'DELETE /v1/bulk/$TEST_NGINX_EXPORT', 'GET /v1/bulk/$TEST_NGINX_EXPORT/files/0', 'GET /v1/jobs/$TEST_NGINX_EXPORT']
--- error_code eval
[(404) x 7]
--- response_body_filters eval
[main::v('GET /v1/jobs/{id}', 404), main::v('GET /v1/jobs/{id}/results', 404), main::v('DELETE /v1/jobs/{id}', 404),
 main::v('GET /v1/bulk/{id}', 404), main::v('DELETE /v1/bulk/{id}', 404), main::v('GET /v1/bulk/{id}/files/{n}', 404), main::v('GET /v1/jobs/{id}', 404)]
--- response_body_like eval
[(qr/^valid\n\{"error":\{"code":"NOT_FOUND","message":"no such job",/) x 3, (qr/^valid\n\{"error":\{"code":"NOT_FOUND","message":"no such (?:export|job)",/) x 4]



=== TEST 17: 429: the tenant's cap of running statements (CONCURRENCY_LIMITED) for queries and exports, and limit_req (RATE_LIMITED), with Retry-After
--- http_config eval: $::HttpConfigLimited
--- config
    location /v1/ {
        spectra_max_running 1;
        spectra_max_queued 0;
        spectra_retry_after 3;
        spectra_api;
    }

    location = /v1/jobs {
        limit_req zone=o080;
        limit_req_status 429;
        limit_req_log_level warn;
        spectra_retry_after 5;
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/bulk/objects.conf;

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- init
SpectraQuery::gate_close();
SpectraQuery::submit($::K{acme}, {sql => $::GATED}, until => 'RUNNING');
--- pipelined_requests eval
[main::post('/v1/queries', {sql => 'select 1'}), main::post('/v1/bulk', {sql => 'select 1'}), 'GET /v1/jobs', 'GET /v1/jobs']
--- error_code eval
[429, 429, 200, 429]
--- raw_response_headers_like eval
[qr{Retry-After: 3\r\n}, qr{Retry-After: 3\r\n}, qr{X-Request-Id: }, qr{Retry-After: \d+\r\n}]
--- response_body_filters eval
[main::v('POST /v1/queries', 429), main::v('POST /v1/bulk', 429), main::v('GET /v1/jobs', 200), main::v('GET /v1/jobs', 429)]
--- response_body_like eval
[qr/^valid\n\{"error":\{"code":"CONCURRENCY_LIMITED",/, qr/^valid\n\{"error":\{"code":"CONCURRENCY_LIMITED",/, qr/^valid\n\{"jobs":\[/, qr/^valid\n\{"error":\{"code":"RATE_LIMITED",/]



=== TEST 18: exports where none are configured: 503 UNAVAILABLE
--- http_config eval: $::HttpConfigPlain
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- pipelined_requests eval
[main::post('/v1/bulk', {sql => 'select 1'})]
--- error_code eval
[503]
--- response_body_filters eval
[main::v('POST /v1/bulk', 503)]
--- response_body_like eval
[qr/^valid\n\{"error":\{"code":"UNAVAILABLE","message":"exports are not configured here",/]
--- no_error_log
[alert]



=== TEST 19: the headers of the document: Content-Type, X-Request-Id, Location and Retry-After of a 202, the 302's Location and Cache-Control, WWW-Authenticate, validated with each answer's body
--- http_config eval: $::HttpConfig
--- config
    location = /v1/openapi.json {
        spectra_auth off;
        spectra_api;
    }

    location = /v1/health {
        spectra_auth off;
        spectra_api;
    }

    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/bulk/objects.conf;

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- init
my $export = main::exported();
SpectraQuery::gate_close();
my $running = SpectraQuery::submit($::K{acme}, {sql => $::GATED}, until => 'RUNNING');
my @json = ('X-API-Key' => $::K{acme}, 'Content-Type' => 'application/json');
for my $c (['GET /v1/openapi.json', 200, 'GET', '/v1/openapi.json', undef],
           ['GET /v1/health', 200, 'GET', '/v1/health', undef],
           ['POST /v1/queries', 200, 'POST', '/v1/queries', '{"sql": "select 1 as n"}', @json],
           ['POST /v1/queries', 202, 'POST', '/v1/queries', qq({"sql": "$::GATED", "wait_timeout_seconds": 0}), @json],
           ['GET /v1/jobs/{id}/results', 202, 'GET', "/v1/jobs/$running/results", undef, @json],
           ['GET /v1/jobs/{id}', 200, 'GET', "/v1/jobs/$export->{job_id}", undef, @json],
           ['POST /v1/bulk', 202, 'POST', '/v1/bulk', qq({"sql": "$::GATED"}), @json],
           ['GET /v1/bulk/{id}/files/{n}', 302, 'GET', "/v1/bulk/$export->{job_id}/files/0", undef, @json],
           ['GET /v1/jobs', 401, 'GET', '/v1/jobs', undef],
           ['GET /v1/jobs', 401, 'GET', '/v1/jobs', undef, 'X-API-Key' => 'spk_nope_AAAAAAAAAAAAAAAAAAAAAAAA'],
           ['POST /v1/queries', 415, 'POST', '/v1/queries', 'select 1', 'X-API-Key' => $::K{acme}, 'Content-Type' => 'text/plain'],
           ['GET /v1/bulk/{id}', 404, 'GET', "/v1/bulk/$running", undef, @json])
{
    my ($op, $want, $method, $uri, $body, @h) = @$c;
    my ($status, $headers, $text) = SpectraOpenAPI::raw($method, $uri, $body, @h);
    Test::More::is($status, $want, "$op answers $want");
    Test::More::is(SpectraOpenAPI::check($op, $status, $text, $headers), 'valid', "$op $status: headers and body as the document says");
}
my ($status, $headers, $text) = SpectraOpenAPI::raw('POST', '/v1/queries', qq({"sql": "$::GATED", "wait_timeout_seconds": 0}), @json);
$headers =~ s/^Location:[^\r\n]*\r\n//mi;
Test::More::like(SpectraOpenAPI::check('POST /v1/queries', $status, $text, $headers), qr/^invalid:\nthe header Location is missing$/, 'a 202 without Location would not be valid');
--- more_headers
--- pipelined_requests eval
['GET /v1/openapi.json']
--- response_body_filters eval
[main::v('GET /v1/openapi.json', 200)]
--- response_body_like eval
[qr/^valid\n\{/]



=== TEST 20: imports (POST, the upload, PATCH, GET, failed records, DELETE) validate, successes and errors, when the build has /v1/imports
--- http_config eval: $::HttpConfigImport
--- config eval
<<"_EOC_"
    location /v1/ {
        spectra_api;
    }

    include \$TEST_NGINX_REPO/t/data/$::ImportObjects/objects.conf;

    include \$TEST_NGINX_REPO/t/data/query/internal.conf;
_EOC_
--- init
my @json = ('Content-Type' => 'application/json');
my $valid = sub {
    my ($op, $want, $method, $uri, $body, $key) = @_;
    my ($status, $headers, $text, $data) = SpectraOpenAPI::raw($method, $uri, $body, 'X-API-Key' => $::K{$key // 'acme'}, @json);
    Test::More::is($status, $want, "$op answers $want") or Test::More::diag($text);
    Test::More::is(SpectraOpenAPI::check($op, $status, $text, $headers), 'valid', "$op $status: as the document says");
    return $data;
};
my ($status, undef, $text, $probe) = SpectraOpenAPI::raw('POST', '/v1/imports', '{}', 'X-API-Key' => $::K{acme}, @json);
if ($status == 404 && ($probe->{error}{message} // '') eq 'no such endpoint') {
    Test::More::note('this build has no /v1/imports: its answers were not validated');
    Test::More::is(SpectraOpenAPI::check('GET /v1/jobs/{id}', $status, $text), 'valid', 'the unknown route is the shared 404');
} else {
    Test::More::is(SpectraOpenAPI::check('POST /v1/imports', $status, $text), 'valid', "POST /v1/imports {} ($status): as the document says");
    $valid->('POST /v1/imports', 400, 'POST', '/v1/imports', '{"table": "events", "bogus": 1}');
    $valid->('POST /v1/imports', 403, 'POST', '/v1/imports', '{"table": "events"}', 'queryonly');
    my $job = $valid->('POST /v1/imports', 201, 'POST', '/v1/imports', '{"table": "events", "format": "csv", "compression": "none", "max_errors": 1, "csv": {"header": true}}');
    my $id = $job->{job_id};
    Test::More::is($job->{state}, 'Open', 'the import is Open');
    my $csv = "tenant_id,id,kind,occurred_at,amount\nacme,1,o080,2026-01-01 00:00:00+00,1.50\nacme,not-a-number,o080,2026-01-01 00:00:00+00,2.50\n";
    my ($put) = SpectraOpenAPI::raw('PUT', $job->{upload}{url} // $job->{upload_url}, $csv);
    Test::More::ok($put >= 200 && $put < 300, "the upload is stored ($put)");
    $valid->('GET /v1/imports/{id}', 404, 'GET', "/v1/imports/$id", undef, 'globex');
    my ($st, undef, $t) = SpectraOpenAPI::raw('PATCH', "/v1/imports/$id", '{"state": "UploadComplete"}', 'X-API-Key' => $::K{acme}, @json);
    Test::More::is(SpectraOpenAPI::check('PATCH /v1/imports/{id}', $st, $t), 'valid', "PATCH UploadComplete ($st): as the document says");
    my $done = SpectraQuery::poll(sub {
        my ($s, undef, undef, $d) = SpectraOpenAPI::raw('GET', "/v1/imports/$id", undef, 'X-API-Key' => $::K{acme});
        return $s == 200 && $d->{state} =~ /^(?:JobComplete|Failed|Aborted)$/ ? $d : undef;
    }, 600, 0.1);
    Test::More::is($done->{state}, 'JobComplete', 'the load completed, the malformed record skipped (max_errors 1)');
    Test::More::is($done->{records_failed}, 1, 'one record failed');
    $valid->('GET /v1/imports/{id}', 200, 'GET', "/v1/imports/$id");
    $valid->('GET /v1/jobs/{id}', 200, 'GET', "/v1/jobs/$id");
    if ($done->{failed_records}) {
        my ($s, $h, $b) = SpectraOpenAPI::raw('GET', $done->{failed_records}, undef, 'X-API-Key' => $::K{acme});
        Test::More::is(SpectraOpenAPI::check('GET /v1/imports/{id}/failed', $s, $b, $h), 'valid', "GET /v1/imports/{id}/failed ($s): as the document says");
    }
    $valid->('PATCH /v1/imports/{id}', 409, 'PATCH', "/v1/imports/$id", '{"state": "UploadComplete"}');
    $valid->('DELETE /v1/imports/{id}', 409, 'DELETE', "/v1/imports/$id");
    $valid->('GET /v1/imports/{id}', 404, 'GET', "/v1/imports/$::NOJOB");
    $valid->('GET /v1/imports/{id}/failed', 404, 'GET', "/v1/imports/$::NOJOB/failed");
}
--- pipelined_requests eval
['GET /v1/jobs?limit=1']
--- response_body_filters eval
[main::v('GET /v1/jobs', 200)]
--- response_body_like eval
[qr/^valid\n\{"jobs":\[/]
