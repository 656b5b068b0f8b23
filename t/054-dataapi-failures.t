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
use IO::Socket::INET ();
use SpectraAuth qw(ensure_keys);
use SpectraQuery qw(api_key key_file http_config server_config http json
                    lazy poll run_id);

our (%K, %JOB, $RUN, $BLACKHOLE);

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

my $long = 'select count(*) from sales a, sales b '
           . 'where a.id < 30000 and b.id < 30000';

# The fake Data API: a server in the block's own nginx that answers each
# X-Amz-Target with the body the block's map gives.
sub fake {
    my (%answers) = @_;
    my $map = join '', map { "        RedshiftData.$_ '$answers{$_}';\n" }
                       sort keys %answers;

    return http_config(dataapi_port => '$TEST_NGINX_FAKE_PORT') . <<"_EOC_";
    map \$http_x_amz_target \$fake_answer {
        default '{"__type":"UnknownOperationException","message":"no"}';
$map    }

    server {
        listen 127.0.0.1:\$TEST_NGINX_FAKE_PORT;

        location / {
            default_type application/x-amz-json-1.1;
            return 200 \$fake_answer;
        }
    }
_EOC_
}

# The id of the run tenant's job with that idempotency key.
sub job_id {
    my ($key) = @_;

    return $JOB{$key} //= poll(sub {
        my ($status, undef, $data) = http('GET', '/v1/jobs?limit=100',
                                          undef, 'X-API-Key' => $K{run});
        die "GET /v1/jobs answered $status\n" if $status != 200;
        for my $j (@{ $data->{jobs} }) {
            return $j->{job_id} if ($j->{idempotency_key} // '') eq $key;
        }
        return undef;
    }, 100, 0.05);
}

# The job's status as the store has it: the list reads the store only,
# while GET /v1/jobs/{id} would ask the Data API and could record the
# cancel before the request that cancelled does.
sub job_status {
    my ($id) = @_;
    my ($status, undef, $data) = http('GET', '/v1/jobs?limit=100', undef,
                                      'X-API-Key' => $K{run});
    die "GET /v1/jobs answered $status\n" if $status != 200;
    for my $j (@{ $data->{jobs} }) {
        return $j->{status} if $j->{job_id} eq $id;
    }
    die "job $id is not listed\n";
}

# Sends the long query on a raw connection, waits until its job runs,
# closes the connection, and waits until the job has finished; returns
# the request that reads the job.
sub disconnect {
    my $key = "gone-$RUN";
    my ($sock, $body, $id);

    $body = json()->encode({sql => $long, idempotency_key => $key});

    $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                  PeerPort => $ENV{TEST_NGINX_SERVER_PORT})
        or die "cannot connect: $@";

    print {$sock} "POST /v1/queries HTTP/1.1\r\nHost: localhost\r\n"
                  . "X-API-Key: $K{run}\r\nContent-Type: application/json\r\n"
                  . 'Content-Length: ' . length($body) . "\r\n\r\n$body";

    $id = job_id($key);
    poll(sub { job_status($id) eq 'RUNNING' }, 100, 0.05);

    close $sock;

    poll(sub { job_status($id) !~ /^(?:PENDING|RUNNING)$/ }, 100, 0.1);

    return "GET /v1/jobs/$id";
}

sub warehouse_idle {
    return poll(sub {
        my $n = `psql -X -At -h 127.0.0.1 -p $ENV{TEST_NGINX_PG_PORT} -U postgres -d warehouse -c "select count(*) from pg_stat_activity where state = 'active' and query like '%a.id < 30000%' and pid <> pg_backend_pid()"`;
        chomp $n;
        return $n eq '0';
    }, 100, 0.1);
}

add_block_preprocessor(sub {
    my $block = shift;

    $block->set_value('http_config', http_config())
        unless defined $block->http_config;
    $block->set_value('config',
                      server_config(read_timeout => scalar $block->read_timeout,
                                    secret => scalar $block->secret))
        unless defined $block->config;
    $block->set_value('more_headers',
                      "X-API-Key: $K{run}\nContent-Type: application/json\n")
        unless defined $block->more_headers;
    $block->set_value('log_level', "info\n");
});

add_cleanup_handler(sub { close $BLACKHOLE if $BLACKHOLE });

no_shuffle();
run_tests();

__DATA__

=== TEST 1: the Data API down is 502 UPSTREAM_ERROR, and logged
--- http_config eval
SpectraQuery::http_config(dataapi_port => '$TEST_NGINX_DOWN_PORT')
--- request eval
"POST /v1/queries\n{\"sql\": \"select 1\", \"idempotency_key\": \"down-$::RUN\"}"
--- error_code: 502
--- response_body_like chomp
^\{"error":\{"code":"UPSTREAM_ERROR","message":"the data API is unreachable or failed","request_id":"[0-9a-f]{32}"\}\}$
--- error_log
connect() failed (111: Connection refused) while connecting to upstream
spectra: data API answered 502



=== TEST 2: with the Data API down the worker goes on serving
--- http_config eval
SpectraQuery::http_config(dataapi_port => '$TEST_NGINX_DOWN_PORT')
--- request eval
["POST /v1/queries\n{\"sql\": \"select 2\"}", "GET /v1/health",
 "POST /v1/queries\n{\"sql\": \"select 3\"}", "GET /v1/jobs?limit=3"]
--- error_code eval
[502, 200, 502, 200]
--- response_body_like eval
[qr/"code":"UPSTREAM_ERROR"/, qr/"status":"ok"/, qr/"code":"UPSTREAM_ERROR"/,
 qr/^\{"jobs":\[(?:\{"job_id":"job_\w{26}","type":"query","status":"FAILED",[^{}]*"error":\{"code":"UPSTREAM_ERROR","message":"the data API did not accept the statement"\},"links":\{[^{}]*\}\},?){3}\],"next_cursor":null\}\n\z/]



=== TEST 3: the Data API slow is 504 UPSTREAM_TIMEOUT within the timeout
--- http_config eval
SpectraQuery::http_config(dataapi_port => '$TEST_NGINX_BLACKHOLE_PORT')
--- read_timeout: 1s
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
--- read_timeout: 1s
--- timeout: 5
--- request eval
["POST /v1/queries\n{\"sql\": \"select 1\"}", "GET /v1/health"]
--- error_code eval
[504, 200]
--- response_body_like eval
[qr/"code":"UPSTREAM_TIMEOUT"/, qr/"status":"ok"/]



=== TEST 5: a refused signature is 502 and no log line holds a secret
--- secret: wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY
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
    server {
        listen 127.0.0.1:$TEST_NGINX_FAKE_PORT;
        location / {
            default_type application/x-amz-json-1.1;
            return 500 '{"__type":"InternalServerException","message":"boom"}';
        }
    }
_EOC_
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
    server {
        listen 127.0.0.1:$TEST_NGINX_FAKE_PORT;
        location / {
            default_type application/x-amz-json-1.1;
            return 400 '{"__type":"ThrottlingException","message":"Rate exceeded"}';
        }
    }
_EOC_
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
main::fake(ExecuteStatement => '{"Status":"FINISHED"}')
--- request
POST /v1/queries
{"sql": "select 1"}
--- error_code: 502
--- response_body_like chomp
^\{"error":\{"code":"UPSTREAM_ERROR","message":"the data API answered without a statement id","request_id":"[0-9a-f]{32}"\}\}$



=== TEST 9: an unknown statement status is 502
--- http_config eval
main::fake(ExecuteStatement => '{"Id":"d9b6c0c6-0000-4000-8000-000000000001"}',
           DescribeStatement => '{"Id":"d9b6c0c6-0000-4000-8000-000000000001","Status":"EXPLODED"}')
--- request
POST /v1/queries
{"sql": "select 1"}
--- error_code: 502
--- response_body_like chomp
^\{"error":\{"code":"UPSTREAM_ERROR","message":"the data API answered an unknown statement status","request_id":"[0-9a-f]{32}"\}\}$



=== TEST 10: a malformed result page is 502, nothing of it is sent
--- http_config eval
main::fake(ExecuteStatement => '{"Id":"d9b6c0c6-0000-4000-8000-000000000002"}',
           DescribeStatement => '{"Id":"d9b6c0c6-0000-4000-8000-000000000002","Status":"FINISHED","HasResultSet":true,"ResultRows":1}',
           GetStatementResult => '{"ColumnMetadata":[{"name":"a","typeName":"int4"}],"Records":[[{"evil":"<script>"}]],"TotalNumRows":1}')
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
main::fake(ExecuteStatement => '{"Id":"d9b6c0c6-0000-4000-8000-000000000003"}',
           DescribeStatement => '{"Id":"d9b6c0c6-0000-4000-8000-000000000003","Status":"FINISHED","HasResultSet":true,"ResultRows":1}',
           GetStatementResult => '<html>oops</html>')
--- request
POST /v1/queries
{"sql": "select 1 as a"}
--- error_code: 502
--- response_body_like chomp
"message":"the data API sent a malformed result"



=== TEST 12: a client that disconnects during a sync query cancels it
--- request eval
[main::lazy { main::disconnect() }]
--- response_body_like eval
main::lazy { my $id = main::job_id("gone-$::RUN"); qr/^\{"job_id":"$id","type":"query","status":"CANCELLED",.*"error":\{"code":"CANCELLED","message":"the client closed the connection"\}/ }
--- error_log
spectra: client closed the connection while waiting for the query
--- no_error_log
[error]



=== TEST 13: the disconnected client's statement no longer runs
--- request eval
[main::lazy { main::warehouse_idle(); "GET /v1/jobs?status=RUNNING" }]
--- response_body
{"jobs":[],"next_cursor":null}
