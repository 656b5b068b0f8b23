# The query path with spectra_long_poll (DescribeStatement carries
# WaitTimeSeconds; the configuration conf/spectra-local.conf uses): rows,
# wait_timeout_seconds and timeout_seconds still end on time (the runner's
# client timeout bounds each request), a disconnected client's statement
# is still cancelled, and a job's results come later.
use FindBin ();
use lib "$FindBin::Bin/data/query/lib", "$FindBin::Bin/data/auth/lib";
use Test::Nginx::Socket 'no_plan';
use IO::Socket::INET ();
use SpectraAuth qw(ensure_keys);
use SpectraQuery qw(api_key key_file http_config server_config http json
                    lazy poll run_id);

our (%K, %JOB, $RUN, $LONG);

$RUN = run_id();

my @lines;

for my $k (['acme', 'tenant=acme permissions=query'],
           ['run', "tenant=p$RUN db_user=tenant_acme permissions=query"])
{
    my $line;
    ($K{$k->[0]}, $line) = api_key("q056$k->[0]", $k->[1]);
    push @lines, $line;
}

$ENV{TEST_NGINX_QT_KEYS} = key_file(@lines);
$ENV{TEST_NGINX_AUTH_KEYS} = ensure_keys("$FindBin::Bin/data/auth/keys");

$LONG = 'select count(*) from sales a, sales b '
        . 'where a.id < 30000 and b.id < 30000';

# The run tenant's jobs as the store has them (the list does not refresh).
sub jobs {
    my ($status, undef, $data) = http('GET', '/v1/jobs?limit=100', undef,
                                      'X-API-Key' => $K{run});
    die "GET /v1/jobs answered $status\n" if $status != 200;
    return { map { ($_->{idempotency_key} // '') => $_ } @{ $data->{jobs} } };
}

sub job {
    my ($key) = @_;
    return poll(sub { jobs()->{$key} }, 100, 0.05);
}

sub warehouse_idle_now {
    my $n = `psql -X -At -h 127.0.0.1 -p $ENV{TEST_NGINX_PG_PORT} -U postgres -d warehouse -c "select count(*) from pg_stat_activity where state = 'active' and query like '%a.id < 30000%' and pid <> pg_backend_pid()"`;
    chomp $n;
    return $n eq '0';
}

sub warehouse_idle {
    return poll(\&warehouse_idle_now, 100, 0.1);
}

# The long query on a raw connection, closed while its statement runs
# (ExecuteStatement is then long-polling, a Data API subrequest in
# flight); then a bounded wait for the job to end.  Returns the request
# reading the job.
sub disconnect {
    my $key = "gone-$RUN";
    my ($sock, $body, $id);

    $body = json()->encode({sql => $LONG, idempotency_key => $key});

    $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                  PeerPort => $ENV{TEST_NGINX_SERVER_PORT})
        or die "cannot connect: $@";

    print {$sock} "POST /v1/queries HTTP/1.1\r\nHost: localhost\r\n"
                  . "X-API-Key: $K{run}\r\nContent-Type: application/json\r\n"
                  . 'Content-Length: ' . length($body) . "\r\n\r\n$body";

    $id = job($key)->{job_id};
    poll(sub { !warehouse_idle_now() }, 100, 0.05);

    close $sock;

    # the long poll in flight (at most 3 s) ends before the cancel
    poll(sub { jobs()->{$key}{status} !~ /^(?:PENDING|RUNNING)$/ }, 100, 0.1);

    return "GET /v1/jobs/$id";
}

# The long query sent on a connection kept open; its job cancelled by
# DELETE while the request still waits (ExecuteStatement is long-polling:
# the statement has no id yet); then the waiting request's answer and the
# warehouse are checked.  The runner builds a block's requests before it
# sends them, so all of this happens here; returns the request that
# reads the job.
our $HELD;

sub delete_while_waiting {
    my $key = "held-$RUN";
    my $body = json()->encode({sql => $LONG, idempotency_key => $key});
    my ($id, $status, $res);

    $HELD = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                  PeerPort => $ENV{TEST_NGINX_SERVER_PORT})
        or die "cannot connect: $@";

    print {$HELD} "POST /v1/queries HTTP/1.1\r\nHost: localhost\r\n"
                  . "X-API-Key: $K{run}\r\nContent-Type: application/json\r\n"
                  . 'Content-Length: ' . length($body) . "\r\n\r\n$body";

    poll(sub { !warehouse_idle_now() }, 100, 0.05);

    $id = job($key)->{job_id};
    ($status, $res) = http('DELETE', "/v1/jobs/$id", undef,
                           'X-API-Key' => $K{run});
    Test::More::is($status, 200, "$0 - DELETE of the waiting job");

    held_answer();

    Test::More::ok(eval { warehouse_idle() },
                   "$0 - the statement no longer runs in the warehouse");

    return "GET /v1/jobs/$id";
}

# The answer of the request DELETE cancelled while it waited: 409, the
# query was cancelled (checked here: it comes on the held connection).
sub held_answer {
    my ($buf, $n, $res) = ('', 0, '');

    $HELD->blocking(1);
    $HELD->timeout(15);

    while ($n = sysread $HELD, $buf, 4096) {
        $res .= $buf;
        last if $res =~ /\}\}\n\z/;
    }

    close $HELD;

    Test::More::like($res, qr/^HTTP\/1\.1 409 .*\r\n\r\n\{"error":\{"code":"CONFLICT","message":"the query was cancelled","request_id":"[0-9a-f]{32}","job_id":"job_\w{26}"\}\}\n\z/s,
                     "$0 - the waiting request answers 409 CONFLICT");
}

add_block_preprocessor(sub {
    my $block = shift;

    $block->set_value('http_config', http_config());
    $block->set_value('config', server_config(
                      extra => "    spectra_long_poll 10s;\n"));
    $block->set_value('more_headers',
                      "X-API-Key: $K{run}\nContent-Type: application/json\n")
        unless defined $block->more_headers;
    $block->set_value('no_error_log', "[error]\n")
        unless defined $block->no_error_log;
});

no_shuffle();
run_tests();

__DATA__

=== TEST 1: a query answers its rows with long polling
--- request
POST /v1/queries
{"sql": "select count(*) from sales"}
--- response_body_like chomp
"data":\[\{"count":600000\}\],.*"truncated":false,



=== TEST 2: a long query still answers 202 after wait_timeout_seconds 1
--- timeout: 4
--- request eval
"POST /v1/queries\n" . SpectraQuery::json()->encode({sql => $::LONG, wait_timeout_seconds => 1, idempotency_key => "long-$::RUN"})
--- error_code: 202
--- response_body_like chomp
^\{"job_id":"job_\w{26}","type":"query","status":"(?:PENDING|RUNNING)",



=== TEST 3: the running job is cancelled by DELETE
--- request eval
[main::lazy { "DELETE /v1/jobs/" . main::job("long-$::RUN")->{job_id} }]
--- response_body_like chomp
"status":"CANCELLED",



=== TEST 4: timeout_seconds 1 still ends in 408 on time
--- timeout: 4
--- request eval
"POST /v1/queries\n" . SpectraQuery::json()->encode({sql => $::LONG, timeout_seconds => 1, idempotency_key => "timeout-$::RUN"})
--- error_code: 408
--- response_body_like chomp
^\{"error":\{"code":"QUERY_TIMEOUT",



=== TEST 5: the timed-out job is TIMEOUT and the warehouse idle
--- request eval
[main::lazy { main::warehouse_idle(); "GET /v1/jobs/" . main::job("timeout-$::RUN")->{job_id} }]
--- response_body_like chomp
"status":"TIMEOUT",



=== TEST 6: a client that disconnects while a long poll is pending
--- request eval
[main::lazy { main::disconnect() }]
--- response_body_like chomp
"status":"CANCELLED",.*"error":\{"code":"CANCELLED","message":"the client closed the connection"\}
--- error_log
spectra: client closed the connection while waiting for the query



=== TEST 7: the disconnected client's statement no longer runs
--- request eval
[main::lazy { main::warehouse_idle(); "GET /v1/jobs?status=RUNNING" }]
--- response_body
{"jobs":[],"next_cursor":null}



=== TEST 8: DELETE while the sync request waits: 409 to it, statement stopped
--- request eval
[main::lazy { main::delete_while_waiting() }]
--- response_body_like chomp
"status":"CANCELLED",.*"error":\{"code":"CANCELLED","message":"cancelled by the client"\}
--- no_error_log
[error]
[alert]
