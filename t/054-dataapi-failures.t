# When the Data API fails: down (nothing listens) is 502 UPSTREAM_ERROR,
# slow (accepts and never answers) is 504 UPSTREAM_TIMEOUT within
# proxy_read_timeout, a refused signature is 502 with no secret in any
# log, nonsense answers are 502 (a fake Data API served by the block's own
# nginx), and the worker goes on serving.  A client that disconnects
# during a sync query gets its statement cancelled.
#
# Ports: base+11 a listener that never accepts (the kernel completes the
# handshake, nobody reads), base+12 nothing, base+13 the fake Data API.
use FindBin ();
use lib "$FindBin::Bin/data/query/lib", "$FindBin::Bin/data/auth/lib";
use Test::Nginx::Socket 'no_plan';
use SpectraLogArchive;
use IO::Socket::INET ();
use SpectraAuth qw(ensure_keys);
use SpectraQuery qw(api_key key_file http_config http json poll run_id
                    gate_close gate_open gate_waiters);

our (%K, $RUN, $BLACKHOLE, $HttpConfig);

$RUN = run_id();

my $base = $ENV{SPECTRA_PORT_BASE}
           // ($ENV{TEST_NGINX_SERVER_PORT} - 2);

$ENV{TEST_NGINX_BLACKHOLE_PORT} = $base + 11;
$ENV{TEST_NGINX_DOWN_PORT} = $base + 12;
$ENV{TEST_NGINX_FAKE_PORT} = $base + 13;

$BLACKHOLE = IO::Socket::INET->new(LocalAddr => '127.0.0.1',
                                   LocalPort => $base + 11,
                                   Listen => 16, ReuseAddr => 1)
    or die "cannot listen on 127.0.0.1:" . ($base + 11) . ": $@";

my @lines;

# a tenant of this run only, running as acme's database user
for my $k (['acme', 'tenant=acme permissions=query'],
           ['run', "tenant=f$RUN db_user=tenant_acme permissions=query"])
{
    my $line;
    ($K{$k->[0]}, $line) = api_key("q054$k->[0]", $k->[1]);
    push @lines, $line;
}

$ENV{TEST_NGINX_QT_KEYS} = key_file(@lines);
$ENV{TEST_NGINX_AUTH_KEYS} = ensure_keys("$FindBin::Bin/data/auth/keys");

# authentication, the warehouse, the Data API upstream and the job store
$HttpConfig = http_config();

# a job of the list that the Data API did not take
our $FAILED = '\{"job_id":"job_\w{26}","type":"query","status":"FAILED",'
              . '[^{}]*"error":\{"code":"UPSTREAM_ERROR","message":"the data'
              . ' API did not accept the statement"\},"links":\{[^{}]*\}\}';

# a statement that waits at the gate until the test opens it
my $gated = 'select count(*) from spectra_gate';

# The job with that idempotency key and its status, as the store has
# them: the list reads the store only, while GET /v1/jobs/{id} would ask
# the Data API and could record the cancel before the request that
# cancelled does.
sub stored {
    my ($idem) = @_;
    my ($status, undef, $data) = http('GET', '/v1/jobs?limit=100', undef,
                                      'X-API-Key' => $K{run});

    die "GET /v1/jobs answered $status\n" if $status != 200;

    for my $j (@{ $data->{jobs} }) {
        return $j if ($j->{idempotency_key} // '') eq $idem;
    }

    return undef;
}

# For "--- init": sends a gated sync query on a raw connection, waits
# until its job runs, closes the connection, and waits until the job has
# ended; sets $ENV{TEST_NGINX_JOB} to the job's id.
sub disconnect {
    my $idem = "gone-$RUN";
    my ($sock, $body, $job, $before);

    gate_close();
    $before = @{ gate_waiters() };

    $body = json()->encode({sql => $gated, idempotency_key => $idem});

    $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                  PeerPort => $ENV{TEST_NGINX_SERVER_PORT})
        or die "cannot connect: $@";

    print {$sock} "POST /v1/queries HTTP/1.1\r\nHost: localhost\r\n"
                  . "X-API-Key: $K{run}\r\nContent-Type: application/json\r\n"
                  . 'Content-Length: ' . length($body) . "\r\n\r\n$body";

    $job = poll(sub { my $j = stored($idem);
                      $j && $j->{status} eq 'RUNNING' ? $j : undef },
                100, 0.05);

    # it waits inside PostgreSQL, not somewhere on the way there
    poll(sub { @{ gate_waiters() } > $before }, 100, 0.05);

    close $sock;

    poll(sub { stored($idem)->{status} !~ /^(?:PENDING|RUNNING)$/ },
         100, 0.1);

    $ENV{TEST_NGINX_JOB} = $job->{job_id};
}

# Whether no backend waits at the gate (within 5 s: PostgreSQL ends a
# cancelled statement shortly after the cancel, not during it).
sub gate_empty {
    return eval { poll(sub { !@{ gate_waiters() } }, 100, 0.05); 1 };
}

# the run's tenant asks; the body is JSON
add_block_preprocessor(sub {
    my $block = shift;

    $block->set_value('more_headers',
                      "X-API-Key: $K{run}\nContent-Type: application/json\n")
        unless defined $block->more_headers;
});

# debug lines would hold the signed requests (TEST 5 looks for secrets)
log_level('info');

# no failure here depends on what an earlier request left
repeat_each(2);

add_cleanup_handler(sub { close $BLACKHOLE if $BLACKHOLE });

run_tests();

__DATA__

=== TEST 1: the Data API down is 502 UPSTREAM_ERROR, and logged
--- http_config eval
SpectraQuery::http_config(dataapi_port => '$TEST_NGINX_DOWN_PORT')
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- request
POST /v1/queries
{"sql": "select 1"}
--- error_code: 502
--- response_body_like chomp
^\{"error":\{"code":"UPSTREAM_ERROR","message":"the data API is unreachable or failed","request_id":"[0-9a-f]{32}"\}\}$
--- error_log
connect() failed (111: Connection refused) while connecting to upstream
spectra: data API answered 502



=== TEST 2: with the Data API down the worker goes on serving
--- http_config eval
SpectraQuery::http_config(dataapi_port => '$TEST_NGINX_DOWN_PORT')
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- request eval
["POST /v1/queries\n{\"sql\": \"select 2\"}", "GET /v1/health",
 "POST /v1/queries\n{\"sql\": \"select 3\"}", "GET /v1/jobs?limit=100"]
--- error_code eval
[502, 200, 502, 200]
--- response_body_like eval
# every job the store holds failed: 2 after the first round, 4 after both
[qr/"code":"UPSTREAM_ERROR"/, qr/"status":"ok"/, qr/"code":"UPSTREAM_ERROR"/,
 qr/^\{"jobs":\[(?:(?:$::FAILED,?){2}|(?:$::FAILED,?){4})\],"next_cursor":null\}\n\z/]



=== TEST 3: the Data API slow is 504 UPSTREAM_TIMEOUT within the timeout
--- http_config eval
SpectraQuery::http_config(dataapi_port => '$TEST_NGINX_BLACKHOLE_PORT')
--- config
    location /v1/ {
        spectra_api;
    }

    location = /_spectra/error {
        internal;
        spectra_auth off;
        spectra_error_page;
    }

    # the blackhole accepts and never answers: 1 s, not 30 s
    location /_spectra/dataapi {
        internal;
        proxy_pass http://spectra_dataapi/;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_set_header Host $spectra_host;
        proxy_ignore_client_abort on;
        proxy_connect_timeout 2s;
        proxy_read_timeout 1s;
        subrequest_output_buffer_size 16m;
    }
--- timeout: 5
--- request
POST /v1/queries
{"sql": "select 1"}
--- error_code: 504
--- response_body_like chomp
^\{"error":\{"code":"UPSTREAM_TIMEOUT","message":"the data API did not answer in time","request_id":"[0-9a-f]{32}"\}\}$
--- error_log
upstream timed out (110: Connection timed out) while reading response header from upstream



=== TEST 4: with the Data API slow the worker goes on serving
--- http_config eval
SpectraQuery::http_config(dataapi_port => '$TEST_NGINX_BLACKHOLE_PORT')
--- config
    location /v1/ {
        spectra_api;
    }

    location = /_spectra/error {
        internal;
        spectra_auth off;
        spectra_error_page;
    }

    location /_spectra/dataapi {
        internal;
        proxy_pass http://spectra_dataapi/;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_set_header Host $spectra_host;
        proxy_ignore_client_abort on;
        proxy_connect_timeout 2s;
        proxy_read_timeout 1s;
        subrequest_output_buffer_size 16m;
    }
--- timeout: 5
--- request eval
["POST /v1/queries\n{\"sql\": \"select 1\"}", "GET /v1/health"]
--- error_code eval
[504, 200]
--- response_body_like eval
[qr/"code":"UPSTREAM_TIMEOUT"/, qr/"status":"ok"/]



=== TEST 5: a refused signature is 502 and no log line holds a secret
--- http_config eval
SpectraQuery::http_config(secret => 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY')
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- request
POST /v1/queries
{"sql": "select count(*) from sales"}
--- error_code: 502
--- response_body_like chomp
^\{"error":\{"code":"UPSTREAM_ERROR","message":"the data API refused the credentials","request_id":"[0-9a-f]{32}"\}\}$
--- error_log
spectra: data API answered 403
--- no_error_log eval
[qr/wJalrXUtnFEMI/, qr/\Q$ENV{TEST_NGINX_DATAAPI_SECRET_KEY}\E/,
 qr/Signature=[0-9a-f]/, qr/Credential=/, qr/\Q$::K{run}\E/]



=== TEST 6: the Data API answering 500 is 502 UPSTREAM_ERROR
--- http_config eval
SpectraQuery::http_config(dataapi_port => '$TEST_NGINX_FAKE_PORT') . <<'_EOC_'
    # the fake Data API
    server {
        listen 127.0.0.1:$TEST_NGINX_FAKE_PORT;

        location / {
            default_type application/x-amz-json-1.1;
            return 500 '{"__type":"InternalServerException","message":"boom"}';
        }
    }
_EOC_
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- request
POST /v1/queries
{"sql": "select 1"}
--- error_code: 502
--- response_body_like chomp
^\{"error":\{"code":"UPSTREAM_ERROR","message":"the data API is unreachable or failed","request_id":"[0-9a-f]{32}"\}\}$
--- error_log
spectra: data API answered 500



=== TEST 7: a throttling Data API is 429 RATE_LIMITED
--- http_config eval
SpectraQuery::http_config(dataapi_port => '$TEST_NGINX_FAKE_PORT') . <<'_EOC_'
    # the fake Data API
    server {
        listen 127.0.0.1:$TEST_NGINX_FAKE_PORT;

        location / {
            default_type application/x-amz-json-1.1;
            return 400 '{"__type":"ThrottlingException","message":"Rate exceeded"}';
        }
    }
_EOC_
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- request
POST /v1/queries
{"sql": "select 1"}
--- error_code: 429
--- response_body_like chomp
^\{"error":\{"code":"RATE_LIMITED","message":"the warehouse is busy, retry later","request_id":"[0-9a-f]{32}"\}\}$
--- error_log
spectra: data API answered 400 ThrottlingException: Rate exceeded



=== TEST 8: ExecuteStatement answering without an Id is 502
--- http_config eval
SpectraQuery::http_config(dataapi_port => '$TEST_NGINX_FAKE_PORT') . <<'_EOC_'
    # the fake Data API: each X-Amz-Target gets its answer
    map $http_x_amz_target $fake_answer {
        default '{"__type":"UnknownOperationException","message":"no"}';
        RedshiftData.ExecuteStatement '{"Status":"FINISHED"}';
    }

    server {
        listen 127.0.0.1:$TEST_NGINX_FAKE_PORT;

        location / {
            default_type application/x-amz-json-1.1;
            return 200 $fake_answer;
        }
    }
_EOC_
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- request
POST /v1/queries
{"sql": "select 1"}
--- error_code: 502
--- response_body_like chomp
^\{"error":\{"code":"UPSTREAM_ERROR","message":"the data API answered without a statement id","request_id":"[0-9a-f]{32}"\}\}$



=== TEST 9: an unknown statement status is 502
--- http_config eval
SpectraQuery::http_config(dataapi_port => '$TEST_NGINX_FAKE_PORT') . <<'_EOC_'
    # the fake Data API: each X-Amz-Target gets its answer
    map $http_x_amz_target $fake_answer {
        default '{"__type":"UnknownOperationException","message":"no"}';
        RedshiftData.ExecuteStatement '{"Id":"d9b6c0c6-0000-4000-8000-000000000001"}';
        RedshiftData.DescribeStatement '{"Id":"d9b6c0c6-0000-4000-8000-000000000001","Status":"EXPLODED"}';
    }

    server {
        listen 127.0.0.1:$TEST_NGINX_FAKE_PORT;

        location / {
            default_type application/x-amz-json-1.1;
            return 200 $fake_answer;
        }
    }
_EOC_
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- request
POST /v1/queries
{"sql": "select 1"}
--- error_code: 502
--- response_body_like chomp
^\{"error":\{"code":"UPSTREAM_ERROR","message":"the data API answered an unknown statement status","request_id":"[0-9a-f]{32}"\}\}$



=== TEST 10: a malformed result page is 502, nothing of it is sent
--- http_config eval
SpectraQuery::http_config(dataapi_port => '$TEST_NGINX_FAKE_PORT') . <<'_EOC_'
    # the fake Data API: each X-Amz-Target gets its answer
    map $http_x_amz_target $fake_answer {
        default '{"__type":"UnknownOperationException","message":"no"}';
        RedshiftData.ExecuteStatement '{"Id":"d9b6c0c6-0000-4000-8000-000000000002"}';
        RedshiftData.DescribeStatement '{"Id":"d9b6c0c6-0000-4000-8000-000000000002","Status":"FINISHED","HasResultSet":true,"ResultRows":1}';
        RedshiftData.GetStatementResult '{"ColumnMetadata":[{"name":"a","typeName":"int4"}],"Records":[[{"evil":"<script>"}]],"TotalNumRows":1}';
    }

    server {
        listen 127.0.0.1:$TEST_NGINX_FAKE_PORT;

        location / {
            default_type application/x-amz-json-1.1;
            return 200 $fake_answer;
        }
    }
_EOC_
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- request
POST /v1/queries
{"sql": "select 1 as a"}
--- error_code: 502
--- response_body_like chomp
^\{"error":\{"code":"UPSTREAM_ERROR","message":"the data API sent a malformed result","request_id":"[0-9a-f]{32}"\}\}$
--- error_log eval
qr/\[error\] .* spectra: malformed result page of job job_\w{26}: /



=== TEST 11: a result page that is not JSON at all is 502
--- http_config eval
SpectraQuery::http_config(dataapi_port => '$TEST_NGINX_FAKE_PORT') . <<'_EOC_'
    # the fake Data API: each X-Amz-Target gets its answer
    map $http_x_amz_target $fake_answer {
        default '{"__type":"UnknownOperationException","message":"no"}';
        RedshiftData.ExecuteStatement '{"Id":"d9b6c0c6-0000-4000-8000-000000000003"}';
        RedshiftData.DescribeStatement '{"Id":"d9b6c0c6-0000-4000-8000-000000000003","Status":"FINISHED","HasResultSet":true,"ResultRows":1}';
        RedshiftData.GetStatementResult '<html>oops</html>';
    }

    server {
        listen 127.0.0.1:$TEST_NGINX_FAKE_PORT;

        location / {
            default_type application/x-amz-json-1.1;
            return 200 $fake_answer;
        }
    }
_EOC_
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- request
POST /v1/queries
{"sql": "select 1 as a"}
--- error_code: 502
--- response_body_like chomp
"message":"the data API sent a malformed result"



=== TEST 12: a client that disconnects during a sync query cancels it
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- init
main::disconnect();
--- pipelined_requests eval
['GET /v1/jobs/$TEST_NGINX_JOB']
--- response_body_like eval
[qr/^\{"job_id":"(??{ $ENV{TEST_NGINX_JOB} })","type":"query","status":"CANCELLED",.*"error":\{"code":"CANCELLED","message":"the client closed the connection"\}/]
--- grep_error_log: spectra: client closed the connection while waiting for the query
--- grep_error_log_out eval
# the init's disconnect, before the first round
["spectra: client closed the connection while waiting for the query\n", ""]
--- no_error_log
[error]



=== TEST 13: the disconnected client's statement no longer runs
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- init
main::disconnect();
Test::More::ok(main::gate_empty(),
               "TEST 13 - the statement no longer waits in PostgreSQL");
--- request
GET /v1/jobs?status=RUNNING
--- response_body
{"jobs":[],"next_cursor":null}
