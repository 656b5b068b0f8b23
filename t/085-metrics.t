# spectra_metrics: the Prometheus text of the shared metrics zone.  Each
# block's "--- init" makes requests (queries, an export, authentication
# failures, JWTs the cache has seen) through the block's nginx, scrapes
# /metrics, checks the text with "promtool check metrics" (Debian's
# prometheus package) and checks the exact values the requests must have
# moved; the block's own request then shows the text.  Every block runs
# two workers under a master: a worker's counters are in the shared zone,
# so a scrape answered by either shows the sum (TEST 3 proves both answered
# requests, on a reuseport listener the kernel spreads over both).
# nginx starts afresh for each block, so its counters start at zero.
use FindBin ();
use lib "$FindBin::Bin/data/query/lib", "$FindBin::Bin/data/auth/lib",
        "$FindBin::Bin/data/bulk/lib", "$FindBin::Bin/data/metrics/lib",
        "$FindBin::Bin/data/results/lib";
use Test::Nginx::Socket 'no_plan';
use SpectraLogArchive;
use SpectraAuth qw(ensure_keys mint);
use SpectraQuery qw(api_key key_file http_config http json);
use SpectraBulk qw(export_config export wait_export);
use SpectraMetrics qw(scrape samples value promtool);
use SpectraPages ();
use POSIX ();

our (%K, @LINES);

for my $k (['acme', 'tenant=acme permissions=query,bulk'],
           ['globex', 'tenant=globex permissions=query'],
           ['initech', 'tenant=initech permissions=query'])
{
    my $line;
    ($K{$k->[0]}, $line) = api_key("m085$k->[0]", $k->[1]);
    push @LINES, $line;
}

$ENV{TEST_NGINX_QT_KEYS} = key_file(@LINES);
$ENV{TEST_NGINX_AUTH_KEYS} = ensure_keys("$FindBin::Bin/data/auth/keys");

# A request is counted in its log phase.  With lingering close nginx
# shuts its side of the connection (the client reads EOF) before it frees
# the request, so a scrape right after could come before the count; off,
# the request is logged before the connection closes.
our $HttpConfig = http_config() . "    lingering_close off;\n";

workers(2);
master_on();

our $WorkersPort = $ENV{SPECTRA_PORT_BASE} + 44;
our $HttpConfigWorkers = $HttpConfig . <<"CONF";
    log_format spectra_metrics_worker '\$pid \$status \$uri';

    server {
        listen 127.0.0.1:$WorkersPort reuseport;

        location /v1/ {
            spectra_api;
            access_log logs/workers.log spectra_metrics_worker;
        }

        include \$TEST_NGINX_REPO/t/data/query/internal.conf;
    }
CONF

# For "--- init": POST /v1/queries as the tenant; dies unless 200.
# Returns the body.
sub query {
    my ($tenant, $sql, $port) = @_;
    my ($status, $text) = http_to($port, 'POST', '/v1/queries',
        json()->encode({sql => $sql}), 'X-API-Key' => $K{$tenant},
        'Content-Type' => 'application/json');

    die "POST /v1/queries as $tenant answered $status: $text\n"
        if $status != 200;
    return $text;
}

# http() to another port of the block's nginx (undef: the block's own).
sub http_to {
    my ($port, @args) = @_;
    local $ENV{TEST_NGINX_SERVER_PORT} = $port // $ENV{TEST_NGINX_SERVER_PORT};
    return http(@args);
}

# The block's scrape: promtool must accept it; returns its samples.
sub checked_scrape {
    my ($text) = scrape();
    my ($rc, $out) = promtool($text);

    Test::More::is($rc, 0, "promtool check metrics accepts the text")
        or Test::More::diag("$out\n$text");
    return samples($text);
}

run_tests();

__DATA__

=== TEST 1: a query, authentication failures and a cached JWT move their counters; promtool accepts the text
--- http_config eval
$::HttpConfig . "    spectra_jwt_cache_zone 1m;\n"
--- config
    location /v1/ {
        spectra_api;
    }

    location = /metrics {
        spectra_auth off;
        spectra_metrics;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- init
my $before = main::checked_scrape();
my $body = main::query('acme', 'select n from generate_series(1, 7) as n');
my ($s1) = SpectraQuery::http('GET', '/v1/jobs', undef, 'X-API-Key' => 'spk_m085nosuch_' . ('x' x 43));
my ($s2) = SpectraQuery::http('GET', '/v1/jobs');
my $jwt = SpectraAuth::mint($ENV{TEST_NGINX_AUTH_KEYS}, time - 30);
my ($s3, $b3) = SpectraQuery::http('GET', '/v1/jobs', undef, 'Authorization' => "Bearer $jwt");
my ($s4, $b4) = SpectraQuery::http('GET', '/v1/jobs', undef, 'Authorization' => "Bearer $jwt");
Test::More::is("$s1 $s2 $s3 $s4", '401 401 200 200', 'the requests were answered');
my $m = main::checked_scrape();
my %want = (
    'spectra_http_requests_total{endpoint="query",code="200"}' => 1,
    'spectra_http_requests_total{endpoint="jobs",code="401"}' => 2,
    'spectra_http_requests_total{endpoint="jobs",code="200"}' => 2,
    'spectra_queries_total{tenant="acme"}' => 1,
    'spectra_returned_rows_total{tenant="acme"}' => 7,
    # the JWT's tenant is acme too
    'spectra_returned_bytes_total{tenant="acme"}' => length($body) + length($b3) + length($b4),
    'spectra_auth_failures_total{method="apikey",reason="unknown_key"}' => 1,
    'spectra_auth_failures_total{method="none",reason="missing"}' => 1,
    'spectra_token_cache_lookups_total{result="miss"}' => 1,
    'spectra_token_cache_lookups_total{result="hit"}' => 1,
    'spectra_query_duration_seconds_count' => 1,
    'spectra_query_duration_seconds_bucket{le="+Inf"}' => 1,
    'spectra_dataapi_request_duration_seconds_count{action="ExecuteStatement"}' => 1,
    'spectra_job_store_duration_seconds_count{op="create"}' => 1,
);
for my $series (sort keys %want) {
    Test::More::is(SpectraMetrics::value($m, $series) - SpectraMetrics::value($before, $series), $want{$series}, $series);
}
--- request
GET /metrics
--- response_headers
Content-Type: text/plain; version=0.0.4; charset=utf-8
--- response_body_like eval
qr/^# HELP spectra_http_requests_total API requests by endpoint \(route\) and HTTP status\.
# TYPE spectra_http_requests_total counter
spectra_http_requests_total\{endpoint="query",code="200"\} 1
.*# TYPE spectra_query_duration_seconds histogram
spectra_query_duration_seconds_bucket\{le="0.005"\} \d+
.*spectra_query_duration_seconds_bucket\{le="\+Inf"\} 1
spectra_query_duration_seconds_sum [0-9.]+
spectra_query_duration_seconds_count 1
.*# TYPE spectra_metrics_tenants_limit gauge
spectra_metrics_tenants_limit 100
\z/s
--- no_error_log
[error]



=== TEST 2: an export counts for its tenant, its endpoint and its Data API calls
--- http_config eval: $::HttpConfig . SpectraBulk::export_config()
--- config
    location /v1/ {
        spectra_api;
    }

    location = /metrics {
        spectra_auth off;
        spectra_metrics;
    }

    include $TEST_NGINX_REPO/t/data/bulk/objects.conf;

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- init
my ($status, $job) = SpectraBulk::export($::K{acme}, {sql => 'select * from sales where id <= 100'});
die "POST /v1/bulk answered $status\n" if $status != 202;
$job = SpectraBulk::wait_export($::K{acme}, $job->{job_id});
die "the export is $job->{status}\n" if $job->{status} ne 'COMPLETED';
my $m = main::checked_scrape();
Test::More::is(SpectraMetrics::value($m, 'spectra_exports_total{tenant="acme"}'), 1, 'one export for acme');
Test::More::is(SpectraMetrics::value($m, 'spectra_queries_total{tenant="acme"}'), 0, 'an export is no query');
Test::More::is(SpectraMetrics::value($m, 'spectra_http_requests_total{endpoint="bulk",code="202"}'), 1, 'POST /v1/bulk 202');
Test::More::ok(SpectraMetrics::value($m, 'spectra_http_requests_total{endpoint="bulk_job",code="200"}') >= 1, 'GET /v1/bulk/{id} answered');
Test::More::ok(SpectraMetrics::value($m, 'spectra_dataapi_request_duration_seconds_count{action="ExecuteStatement"}') >= 1, 'the UNLOAD was submitted');
--- request
GET /metrics
--- response_body_like eval
qr/\nspectra_exports_total\{tenant="acme"\} 1\n/
--- no_error_log
[error]



=== TEST 3: two workers count into one zone: every request is in the sum, whichever worker answered it
--- http_config eval: $::HttpConfigWorkers
--- config
    location /v1/ {
        spectra_api;
    }

    location = /metrics {
        spectra_auth off;
        spectra_metrics;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- init
my $n = 40;
my %pids;
for (1 .. $n) {
    my ($s) = main::http_to($::WorkersPort, 'GET', '/v1/health', undef, 'X-API-Key' => $::K{globex});
    die "GET /v1/health answered $s\n" if $s != 200;
}
main::query('globex', 'select 1 as one', $::WorkersPort) for 1 .. 10;
open my $log, '<', "$ENV{TEST_NGINX_SERVROOT}/logs/workers.log" or die "workers.log: $!";
while (<$log>) { $pids{$1}++ if m{^(\d+) 200 /v1/} }
close $log;
Test::More::is(scalar(keys %pids), 2, 'both workers answered');
my $m = main::checked_scrape();
Test::More::is(SpectraMetrics::value($m, 'spectra_http_requests_total{endpoint="health",code="200"}'), $n, "$n health requests");
Test::More::is(SpectraMetrics::value($m, 'spectra_queries_total{tenant="globex"}'), 10, '10 queries');
Test::More::is(SpectraMetrics::value($m, 'spectra_query_duration_seconds_count'), 10, '10 query times');
--- request
GET /metrics
--- response_body_like eval
qr/\nspectra_http_requests_total\{endpoint="health",code="200"\} 40\n/
--- no_error_log
[error]



=== TEST 4: spectra_metrics_max_tenants caps the tenants with series of their own; the rest count as tenant="other"
--- http_config eval
$::HttpConfig . "    spectra_metrics_max_tenants 2;\n"
--- config
    location /v1/ {
        spectra_api;
    }

    location = /metrics {
        spectra_auth off;
        spectra_metrics;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- init
main::query($_, 'select 1 as one') for qw(acme globex initech initech);
my $m = main::checked_scrape();
Test::More::is(SpectraMetrics::value($m, 'spectra_queries_total{tenant="acme"}'), 1, 'acme has its series');
Test::More::is(SpectraMetrics::value($m, 'spectra_queries_total{tenant="globex"}'), 1, 'globex has its series');
Test::More::is(SpectraMetrics::value($m, 'spectra_queries_total{tenant="other"}'), 2, 'initech counts as other');
Test::More::is(SpectraMetrics::value($m, 'spectra_metrics_tenants'), 2, 'two tenants tracked');
Test::More::is(SpectraMetrics::value($m, 'spectra_metrics_tenants_limit'), 2, 'the cap');
--- request
GET /metrics
--- response_body_unlike
initech
--- no_error_log
[error]



=== TEST 5: authentication failures are counted by credential type and reason
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    location = /metrics {
        spectra_auth off;
        spectra_metrics;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- init
my $dir = $ENV{TEST_NGINX_AUTH_KEYS};
my ($id) = $::K{acme} =~ /^spk_([^_]+)_/;
my %tries = (
    'apikey,bad_secret' => ['X-API-Key' => "spk_${id}_" . ('y' x 43)],
    'apikey,malformed' => ['X-API-Key' => 'spk_'],
    'jwt,expired' => ['Authorization' => 'Bearer ' . SpectraAuth::mint($dir, time - 7200)],
    'jwt,bad_signature' => ['Authorization' => 'Bearer ' . SpectraAuth::mint($dir, time - 30, key => 'not the secret')],
    'jwt,malformed' => ['Authorization' => 'Bearer not-a-token'],
    'none,several' => ['X-API-Key' => $::K{acme}, 'Authorization' => 'Bearer x.y.z'],
);
for my $t (sort keys %tries) {
    my ($s) = SpectraQuery::http('GET', '/v1/jobs', undef, @{ $tries{$t} });
    die "$t answered $s\n" if $s != 401;
}
my $m = main::checked_scrape();
for my $t (sort keys %tries) {
    my ($method, $reason) = split /,/, $t;
    Test::More::is(SpectraMetrics::value($m, "spectra_auth_failures_total{method=\"$method\",reason=\"$reason\"}"), 1, $t);
}
Test::More::is(SpectraMetrics::value($m, 'spectra_http_requests_total{endpoint="jobs",code="401"}'), 6, 'six 401');
--- request
GET /metrics
--- response_body_like eval
qr/\nspectra_auth_failures_total\{method="jwt",reason="expired"\} 1\n/
--- no_error_log
[error]



=== TEST 6: Data API errors are counted by kind and AWS type (a wrong signing key: refused)
--- http_config eval
SpectraQuery::http_config(secret => 'not-the-data-api-secret') . "    lingering_close off;\n"
--- config
    location /v1/ {
        spectra_api;
    }

    location = /metrics {
        spectra_auth off;
        spectra_metrics;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- init
my ($s) = SpectraQuery::http('POST', '/v1/queries', SpectraQuery::json()->encode({sql => 'select 1'}), 'X-API-Key' => $::K{acme}, 'Content-Type' => 'application/json');
die "POST /v1/queries answered $s\n" if $s != 502;
my $m = main::checked_scrape();
Test::More::is(SpectraMetrics::value($m, 'spectra_dataapi_errors_total{kind="refused",type="InvalidSignatureException"}'), 1, 'one refused call');
Test::More::is(SpectraMetrics::value($m, 'spectra_http_requests_total{endpoint="query",code="502"}'), 1, 'the query answered 502');
Test::More::is(SpectraMetrics::value($m, 'spectra_queries_total{tenant="acme"}'), 0, 'a failed query was not started');
--- request
GET /metrics
--- response_body_like eval
qr/\nspectra_dataapi_errors_total\{kind="refused",type="InvalidSignatureException"\} 1\n/
--- error_log eval
qr/\[error\] .*spectra: data API answered 403 InvalidSignatureException/
--- no_error_log
[alert]



=== TEST 7: Data API sessions: each statement counts once, as created, reused or busy, as the module logged it
--- http_config eval
$::HttpConfig . "    spectra_session_zone m085_sessions:1m;\n"
--- config
    location /v1/ {
        spectra_api;
        spectra_session_keepalive 300s;
    }

    location = /metrics {
        spectra_auth off;
        spectra_metrics;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- init
# spectra-dataapi is shared by every suite and keeps a user's sessions
# (8 at most) for 300 s: whether this block's first statement gets a new
# one depends on the suites before; the counts must match the log
main::query('acme', 'select 1 as one') for 1 .. 2;
my $m = main::checked_scrape();
my %log = (create => 0, reuse => 0);
open my $fh, '<', "$ENV{TEST_NGINX_SERVER_ROOT}/logs/error.log" or die "error.log: $!";
while (<$fh>) { $log{$1}++ if m{spectra session "tenant_acme/spectra-local/warehouse": (create|reuse)} }
close $fh;
my %n = map { $_ => SpectraMetrics::value($m, "spectra_dataapi_sessions_total{result=\"$_\"}") } qw(created reused busy);
Test::More::is($n{created} + $n{reused} + $n{busy}, 2, 'two statements');
Test::More::is($n{created}, $log{create}, 'created as logged');
Test::More::is($n{reused}, $log{reuse}, 'reused as logged');
Test::More::ok($log{create} >= 1, 'the first statement asked for a session');
Test::More::is(SpectraMetrics::value($m, 'spectra_job_store_duration_seconds_count{op="create"}'), 2, 'two jobs created');
--- request
GET /metrics
--- response_body_like eval
qr/\nspectra_dataapi_sessions_total\{result="created"\} [12]\n/
--- no_error_log
[error]



=== TEST 8: the metrics are served only where spectra_metrics is, within its access rules, and not to POST
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    location = /private/metrics {
        allow 127.0.0.2;
        deny all;
        spectra_auth off;
        spectra_metrics;
    }

    location = /metrics {
        spectra_auth off;
        spectra_metrics;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- more_headers eval
"X-API-Key: $::K{acme}"
--- pipelined_requests eval
['GET /v1/metrics', 'GET /private/metrics', 'POST /metrics', 'GET /metrics']
--- error_code eval
[404, 403, 405, 200]
--- response_body_like eval
[qr/"code":"NOT_FOUND"/, qr/403 Forbidden/, qr/"code":"METHOD_NOT_ALLOWED"/,
 qr/\n# TYPE spectra_metrics_tenants gauge\nspectra_metrics_tenants 0\n/]



=== TEST 9: spectra_metrics_max_tenants takes 0 to 10000
--- http_config
    spectra_metrics_max_tenants 10001;
--- config
--- must_die
--- error_log eval
qr/"spectra_metrics_max_tenants" directive .*between 0 and 10000|value must be between 0 and 10000/



=== TEST 10: spectra_metrics is a location directive
--- http_config
    spectra_metrics;
--- config
--- must_die
--- error_log eval
qr/"spectra_metrics" directive is not allowed here/



=== TEST 11: with long poll a quick query writes its job once after creating it (COMPLETED, its statement id and row count together); a large answer and a slow statement keep every fact of the job
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
        spectra_long_poll 1s;
    }

    location = /metrics {
        spectra_auth off;
        spectra_metrics;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- init
my $j = SpectraQuery::json();
my $updates = 'spectra_job_store_duration_seconds_count{op="update"}';
my $creates = 'spectra_job_store_duration_seconds_count{op="create"}';
# an answer of more than one chunk, joined
my $dechunk = sub {
    my ($head, $body) = @_;
    return $body unless $head =~ /^Transfer-Encoding:\s*chunked\r?$/mi;
    my $whole = '';
    while ($body =~ s/\A([0-9a-fA-F]+)\r\n//) {
        my $len = hex $1;
        last if $len == 0;
        $whole .= substr($body, 0, $len, '');
        $body =~ s/\A\r\n// or die "a chunk without its CRLF\n";
    }
    return $whole;
};
my $query = sub {
    my ($sql) = @_;
    my ($s, $b, undef, $head) = SpectraQuery::http('POST', '/v1/queries',
        $j->encode({sql => $sql}), 'X-API-Key' => $::K{acme},
        'Content-Type' => 'application/json');
    die "POST /v1/queries answered $s: $b\n" if $s != 200;
    return $j->decode($dechunk->($head, $b));
};
my $job_of = sub {
    my ($id) = @_;
    my ($s, $b) = SpectraQuery::http('GET', "/v1/jobs/$id", undef,
                                     'X-API-Key' => $::K{acme});
    die "GET /v1/jobs/$id answered $s: $b\n" if $s != 200;
    return $j->decode($b);
};
my $results_of = sub {
    my ($id) = @_;
    my ($s, $b, $data) = SpectraPages::get($::K{acme}, "/v1/jobs/$id/results");
    die "GET /v1/jobs/$id/results answered $s: $b\n" if $s != 200 || !$data;
    return $data;
};
my @cases = (
    ['a quick 7-row answer', 'select n from generate_series(1, 7) as n', 7, 1],
    # over 64 KiB: COMPLETED is written when the page comes, the row count
    # at the answer's end
    ['a 1,000-row answer of 110 KB',
     "select n, repeat('x', 100) as pad from generate_series(1, 1000) as n",
     1000, 2],
    # past the 1 s wait of ExecuteStatement (at the gate for 2 s): its id is
    # written then, COMPLETED when DescribeStatement tells it
    ['a statement slower than the wait', 'select count(*) from spectra_gate',
     1, undef, 1],
);
for my $c (@cases) {
    my ($what, $sql, $rows, $writes, $gated) = @$c;
    my $before = main::checked_scrape();
    my $opener;
    if ($gated) {
        SpectraQuery::gate_close();
        $opener = fork // die "fork: $!\n";
        if ($opener == 0) {
            sleep 2;
            SpectraQuery::gate_open();
            POSIX::_exit(0);
        }
    }
    my $answer = $query->($sql);
    if ($gated) {
        waitpid $opener, 0;
        SpectraQuery::gate_release();
    }
    my $after = main::checked_scrape();
    Test::More::is(scalar @{$answer->{data}}, $rows, "$what: its rows");
    Test::More::is(SpectraMetrics::value($after, $creates) - SpectraMetrics::value($before, $creates), 1, "$what: one job created");
    if (defined $writes) {
        Test::More::is(SpectraMetrics::value($after, $updates) - SpectraMetrics::value($before, $updates), $writes, "$what: $writes job write(s) after its creation");
    }
    my $job = $job_of->($answer->{job_id});
    Test::More::is("$job->{status} $job->{row_count}", "COMPLETED $rows", "$what: the job is COMPLETED with its row count");
    Test::More::ok(defined $job->{finished_at} && defined $job->{execution_time_ms}, "$what: the job has its end and its execution time")
        or Test::More::diag(SpectraQuery::json()->encode($job));
    # the pages come from the Data API by the job's statement id
    my $page = $results_of->($answer->{job_id});
    Test::More::is_deeply($page->{data}, $answer->{data}, "$what: its results page, by the statement id the job has, is the answer");
}
--- request
GET /metrics
--- error_code: 200
--- no_error_log
[error]
