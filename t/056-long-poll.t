# The query path with spectra_long_poll (DescribeStatement carries
# WaitTimeSeconds; the configuration conf/spectra-local.conf uses): rows,
# wait_timeout_seconds and timeout_seconds still end on time (the runner's
# client timeout bounds each request), a disconnected client's statement
# is still cancelled, and a job's results come later.
#
# Every block has its own job store (logs/, emptied before each block).
# A "long" statement waits at the gate (a lock a superuser holds on
# spectra_gate) until it is cancelled or the gate opens: it cannot finish
# under a test, and once cancelled it is no longer in pg_stat_activity.
# Each block starts with the gate open.
#
# Blocks run twice (repeat_each 2, one init for both) unless what they
# check happens once ("--- repeat_each: 1").
use FindBin ();
use lib "$FindBin::Bin/data/query/lib", "$FindBin::Bin/data/auth/lib";
use Test::Nginx::Socket 'no_plan';
use SpectraLogArchive;
use IO::Select ();
use IO::Socket::INET ();
use SpectraAuth qw(ensure_keys);
use SpectraQuery qw(api_key key_file http_config http json poll psql submit
                    job_of gate_close gate_open);

our (%K, $HttpConfig, $GATED);

my @lines;

for my $t (qw(acme)) {
    my $line;
    ($K{$t}, $line) = api_key("q056$t", "tenant=$t permissions=query");
    push @lines, $line;
}

$ENV{TEST_NGINX_QT_KEYS} = key_file(@lines);
$ENV{TEST_NGINX_AUTH_KEYS} = ensure_keys("$FindBin::Bin/data/auth/keys");

# authentication, the warehouse, the Data API upstream and the job store
$HttpConfig = http_config();

# waits at the gate
$GATED = 'select count(*) from spectra_gate';


# Statements running in the warehouse that read the gate.
sub at_gate {
    return psql("select count(*) from pg_stat_activity where state = 'active'"
                . " and query like '%from spectra_gate%'"
                . " and pid <> pg_backend_pid()");
}

# Waits until n statements wait at the gate; dies if that never happens.
sub waiting {
    my ($n) = @_;
    return poll(sub { at_gate() == $n }, 200, 0.05);
}

# A POST /v1/queries of acme's on a connection of its own, sent now; the
# answer is read later (answer()).
sub send_query {
    my ($body) = @_;
    my ($sock, $json);

    $json = json()->encode($body);

    $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                  PeerPort => $ENV{TEST_NGINX_SERVER_PORT})
        or die "cannot connect: $@";

    print {$sock} "POST /v1/queries HTTP/1.1\r\nHost: localhost\r\n"
                  . "Connection: close\r\nX-API-Key: $K{acme}\r\n"
                  . "Content-Type: application/json\r\n"
                  . 'Content-Length: ' . length($json) . "\r\n\r\n$json";

    return $sock;
}

# The whole answer on such a connection (at most 15 s).
sub answer {
    my ($sock) = @_;
    my ($sel, $res, $buf, $n, $end);

    $sel = IO::Select->new($sock);
    $res = '';
    $end = time + 15;

    while (time < $end && $sel->can_read($end - time)) {
        $n = sysread $sock, $buf, 4096;
        last unless $n;
        $res .= $buf;
    }

    close $sock;

    return $res;
}

# acme's statement that waits at the gate, as a running job
# ($TEST_NGINX_JOB).
sub running {
    gate_close();
    submit($K{acme}, {sql => $GATED}, until => 'RUNNING');
    waiting(1);
}

# A query that ends in 408 QUERY_TIMEOUT (the gate is closed: it cannot
# finish first); its job is $TEST_NGINX_JOB.  Checks that its statement
# is cancelled: no longer waits at the gate.
sub timed_out {
    my ($body) = @_;
    my ($status, $text) = http('POST', '/v1/queries', json()->encode($body),
                               'X-API-Key' => $K{acme},
                               'Content-Type' => 'application/json');

    die "POST /v1/queries answered $status: $text\n"
        unless $status == 408 && $text =~ /"job_id":"(job_\w{26})"/;

    $ENV{TEST_NGINX_JOB} = $1;

    Test::More::ok(eval { waiting(0) },
                   "$0 - the timed-out statement no longer runs");
}

# The long query on a connection closed while its statement waits at the
# gate (a Data API long poll is then in flight); its job
# ($TEST_NGINX_JOB) once it has ended.
sub disconnect {
    my $sock;

    gate_close();

    $sock = send_query({sql => $GATED, idempotency_key => 'gone'});
    $ENV{TEST_NGINX_JOB} = job_of($K{acme}, 'gone')->{job_id};
    waiting(1);

    close $sock;

    poll(sub { SpectraQuery::job_status($K{acme}, $ENV{TEST_NGINX_JOB})
               !~ /^(?:PENDING|RUNNING)$/ }, 300, 0.1);
}

# The long query sent on a connection kept open; its job cancelled by
# DELETE while the request still waits (ExecuteStatement may be
# long-polling: the statement may have no id yet).  Checks the DELETE, the
# waiting request's answer and that the statement no longer waits at the
# gate; the job is $TEST_NGINX_JOB.
sub delete_while_waiting {
    my ($sock, $status, $res);

    gate_close();

    $sock = send_query({sql => $GATED, idempotency_key => 'held'});
    waiting(1);

    $ENV{TEST_NGINX_JOB} = job_of($K{acme}, 'held')->{job_id};

    ($status) = http('DELETE', "/v1/jobs/$ENV{TEST_NGINX_JOB}", undef,
                     'X-API-Key' => $K{acme});
    Test::More::is($status, 200, "$0 - DELETE of the waiting job");

    $res = answer($sock);
    Test::More::like($res, qr/^HTTP\/1\.1 409 .*\r\n\r\n\{"error":\{"code":"CONFLICT","message":"the query was cancelled","request_id":"[0-9a-f]{32}","job_id":"(??{ $ENV{TEST_NGINX_JOB} })"\}\}\n\z/s,
                     "$0 - the waiting request answers 409 CONFLICT");

    Test::More::ok(eval { waiting(0) },
                   "$0 - the statement no longer runs in the warehouse");
}


add_block_preprocessor(sub {
    my $block = shift;

    # what an earlier block left waiting at the gate ends now
    gate_open();
    waiting(0);

    repeat_each($block->repeat_each // 2);

    $block->set_value('more_headers',
                      "X-API-Key: $K{acme}\nContent-Type: application/json\n")
        unless defined $block->more_headers;
    $block->set_value('no_error_log', "[error]\n")
        unless defined $block->no_error_log;
});

run_tests();

__DATA__

=== TEST 1: a query answers its rows with long polling
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
        spectra_long_poll 10s;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- request
POST /v1/queries
{"sql": "select count(*) from sales"}
--- response_body_like chomp
"data":\[\{"count":600000\}\],.*"truncated":false,



=== TEST 2: a long query still answers 202 after wait_timeout_seconds 1
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
        spectra_long_poll 10s;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- init
SpectraQuery::gate_close();
--- timeout: 4
--- request
POST /v1/queries
{"sql": "select count(*) from spectra_gate", "wait_timeout_seconds": 1}
--- error_code: 202
--- response_body_like chomp
^\{"job_id":"job_\w{26}","type":"query","status":"(?:PENDING|RUNNING)",



=== TEST 3: the running job is cancelled by DELETE
--- repeat_each: 1
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
        spectra_long_poll 10s;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- init
main::running();
--- pipelined_requests eval
['DELETE /v1/jobs/$TEST_NGINX_JOB']
--- response_body_like eval
[qr/^\{"job_id":"(??{ $ENV{TEST_NGINX_JOB} })","type":"query","status":"CANCELLED",/]



=== TEST 4: timeout_seconds 1 still ends in 408 on time
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
        spectra_long_poll 10s;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- init
SpectraQuery::gate_close();
--- timeout: 4
--- request
POST /v1/queries
{"sql": "select count(*) from spectra_gate", "timeout_seconds": 1}
--- error_code: 408
--- response_body_like chomp
^\{"error":\{"code":"QUERY_TIMEOUT",



=== TEST 5: the timed-out job is TIMEOUT and its statement gone
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
        spectra_long_poll 10s;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- init
SpectraQuery::gate_close();
main::timed_out({sql => $::GATED, timeout_seconds => 1});
--- pipelined_requests eval
['GET /v1/jobs/$TEST_NGINX_JOB']
--- response_body_like eval
[qr/^\{"job_id":"(??{ $ENV{TEST_NGINX_JOB} })","type":"query","status":"TIMEOUT",/]



=== TEST 6: a client that disconnects while a long poll is pending: its job is CANCELLED
--- repeat_each: 1
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
        spectra_long_poll 10s;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- init
main::disconnect();
--- pipelined_requests eval
['GET /v1/jobs/$TEST_NGINX_JOB']
--- response_body_like eval
[qr/^\{"job_id":"(??{ $ENV{TEST_NGINX_JOB} })","type":"query","status":"CANCELLED",.*"error":\{"code":"CANCELLED","message":"the client closed the connection"\}/]
--- error_log
spectra: client closed the connection while waiting for the query



=== TEST 7: the disconnected client's statement no longer runs
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
        spectra_long_poll 10s;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- init
main::disconnect();
Test::More::ok(eval { main::waiting(0) },
               "$0 - the statement no longer waits at the gate");
--- request
GET /v1/jobs?status=RUNNING
--- response_body
{"jobs":[],"next_cursor":null}



=== TEST 8: DELETE while the sync request waits: 409 to it, statement stopped
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
        spectra_long_poll 10s;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- init
main::delete_while_waiting();
--- pipelined_requests eval
['GET /v1/jobs/$TEST_NGINX_JOB']
--- response_body_like eval
[qr/^\{"job_id":"(??{ $ENV{TEST_NGINX_JOB} })","type":"query","status":"CANCELLED",.*"error":\{"code":"CANCELLED","message":"cancelled by the client"\}/]
--- no_error_log
[error]
[alert]
