# Fair share: a tenant runs at most spectra_max_running statements at a
# time, over all workers; more wait for a slot (spectra_max_queued, at
# most spectra_queue_timeout) or are refused with 429 CONCURRENCY_LIMITED
# and Retry-After; and another tenant is not held up by any of it.  The
# long statements wait at a gate (a lock a superuser holds on
# spectra_gate): they cost nothing and end when the test ends them.  A
# block's "--- init" starts them; the gate opens before the next block.
use FindBin ();
use lib "$FindBin::Bin/data/query/lib", "$FindBin::Bin/data/auth/lib";
use Test::Nginx::Socket 'no_plan';
use SpectraLogArchive;
use IO::Socket::INET ();
use SpectraAuth qw(ensure_keys);
use SpectraQuery qw(api_key key_file http_config http json poll run_id
                    gate_close gate_open gate_waiters);

our (%K, $RUN, $GATED, $SOCK, $HttpConfig);

$RUN = run_id();

my @lines;

# a tenant of this run only that runs as acme's database user, and globex
for my $k (['a', "tenant=fa$RUN db_user=tenant_acme permissions=query"],
           ['b', 'tenant=globex permissions=query'])
{
    my $line;
    ($K{$k->[0]}, $line) = api_key("q059$k->[0]", $k->[1]);
    push @lines, $line;
}

$ENV{TEST_NGINX_QT_KEYS} = key_file(@lines);
$ENV{TEST_NGINX_AUTH_KEYS} = ensure_keys("$FindBin::Bin/data/auth/keys");

# authentication, the warehouse, the Data API upstream and the job store
$HttpConfig = http_config();

$GATED = 'select count(*) from spectra_gate';

# For "--- init": starts a gated statement as tenant a that goes on as a
# job; sets $ENV{TEST_NGINX_JOB} to its id once the statement waits at
# the gate inside PostgreSQL (closed by the first of them).
sub gated {
    my ($idem) = @_;
    my ($before, $status, $body, $data);

    gate_close();
    $before = @{ gate_waiters() };

    ($status, $body, $data) = http('POST', '/v1/queries',
        json()->encode({sql => $GATED, wait_timeout_seconds => 0,
                        timeout_seconds => 60, idempotency_key => $idem}),
        'X-API-Key' => $K{a}, 'Content-Type' => 'application/json');

    die "a gated query answered $status: $body\n" if $status != 202;

    poll(sub { @{ gate_waiters() } > $before }, 100, 0.05);

    return $ENV{TEST_NGINX_JOB} = $data->{job_id};
}

# A request on a connection of its own, sent now, answered later.
sub send_raw {
    my ($key, $body) = @_;
    my $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                     PeerPort => $ENV{TEST_NGINX_SERVER_PORT})
        or die "cannot connect: $@";

    print {$sock} "POST /v1/queries HTTP/1.1\r\nHost: localhost\r\n"
                  . "Connection: close\r\nX-API-Key: $key\r\n"
                  . "Content-Type: application/json\r\n"
                  . 'Content-Length: ' . length($body) . "\r\n\r\n$body";

    return $sock;
}

# Waits until n of tenant a's statements wait for a slot, as the queue's
# debug line in the block's error log says.
sub queued {
    my ($n) = @_;
    my $line = qq{spectra queue "fa$RUN": $n waiting};

    poll(sub {
        open my $fh, '<', $Test::Nginx::Util::ErrLogFile or return 0;
        my $log = do { local $/; <$fh> };
        return index($log, $line) >= 0;
    }, 100, 0.05);
}

# Whether an answer comes on the connection within the time.
sub answered {
    my ($sock, $seconds) = @_;
    my $rin = '';

    vec($rin, fileno($sock), 1) = 1;

    return select($rin, undef, undef, $seconds) > 0;
}

sub read_raw {
    my ($sock) = @_;
    my ($res, $buf) = ('', '');

    $sock->timeout(20);
    $res .= $buf while sysread $sock, $buf, 65536;
    close $sock;

    return $res;
}

add_block_preprocessor(sub {
    my $block = shift;

    # an earlier block's gated statements end before this block starts
    gate_open();
    poll(sub { !@{ gate_waiters() } }, 100, 0.05);

    $block->set_value('more_headers',
                      "X-API-Key: $K{a}\nContent-Type: application/json\n")
        unless defined $block->more_headers;
    $block->set_value('no_error_log', "[error]\n")
        unless defined $block->no_error_log || defined $block->must_die;
});

run_tests();

__DATA__

=== TEST 1: a tenant at spectra_max_running gets 429 CONCURRENCY_LIMITED with Retry-After
--- http_config eval
$::HttpConfig . "    spectra_queue_zone spectra_queues:1m;\n"
--- config
    location /v1/ {
        spectra_api;
        spectra_max_running 2;
        spectra_retry_after 3s;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- init
main::gated("one-$::RUN");
main::gated("two-$::RUN");
--- request
POST /v1/queries
{"sql": "select 1 as n"}
--- error_code: 429
--- response_headers
Retry-After: 3
--- response_body_like eval
qr/^\{"error":\{"code":"CONCURRENCY_LIMITED","message":"the tenant has 2 statements running and no room to wait for one of them to end","request_id":"[0-9a-f]{32}"\}\}\n\z/
--- error_log
spectra: tenant "fa
has 2 statements running and 0 waiting



=== TEST 2: another tenant runs at once while the first is at its cap
--- http_config eval
$::HttpConfig . "    spectra_queue_zone spectra_queues:1m;\n"
--- config
    location /v1/ {
        spectra_api;
        spectra_max_running 2;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- init
main::gated("three-$::RUN");
main::gated("four-$::RUN");
--- more_headers eval
"X-API-Key: $::K{b}\nContent-Type: application/json\n"
--- request
POST /v1/queries
{"sql": "select count(*) as n from sales"}
--- response_body_like eval
qr/^\{"job_id":"job_\w{26}","status":"COMPLETED","data":\[\{"n":300000\}\],/



=== TEST 3: a statement waits for a slot and runs when one frees
--- http_config eval
$::HttpConfig . "    spectra_queue_zone spectra_queues:1m;\n"
--- config
    location /v1/ {
        spectra_api;
        spectra_max_running 1;
        spectra_max_queued 1;
        spectra_queue_timeout 20s;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- log_level: debug
--- init
my $id = main::gated("five-$::RUN");
my $sock = main::send_raw($::K{a}, '{"sql": "select 2 as n"}');
main::queued(1);
# it waits: the only active job is the gated one, the answer not in
Test::More::ok(!main::answered($sock, 0.5),
               "TEST 3 - the second statement waits for the slot");
SpectraQuery::http('DELETE', "/v1/jobs/$id", undef, 'X-API-Key' => $::K{a});
Test::More::like(main::read_raw($sock),
                 qr/^HTTP\/1\.1 200 .*"data":\[\{"n":2\}\]/s,
                 "TEST 3 - it runs once the slot is free");
--- request
GET /v1/jobs?limit=1
--- response_body_like: "status":"COMPLETED"



=== TEST 4: a waiting statement gives up after spectra_queue_timeout with 429
--- http_config eval
$::HttpConfig . "    spectra_queue_zone spectra_queues:1m;\n"
--- config
    location /v1/ {
        spectra_api;
        spectra_max_running 1;
        spectra_max_queued 4;
        spectra_queue_timeout 1s;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- init
main::gated("six-$::RUN");
--- request
POST /v1/queries
{"sql": "select 3 as n"}
--- error_code: 429
--- response_headers
Retry-After: 1
--- response_body_like eval
qr/^\{"error":\{"code":"CONCURRENCY_LIMITED","message":"the tenant's 1 running statements did not end within 1000 ms","request_id":"[0-9a-f]{32}"\}\}\n\z/



=== TEST 5: no room to wait: spectra_max_queued waiters at most
--- http_config eval
$::HttpConfig . "    spectra_queue_zone spectra_queues:1m;\n"
--- config
    location /v1/ {
        spectra_api;
        spectra_max_running 1;
        spectra_max_queued 1;
        spectra_queue_timeout 20s;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- log_level: debug
--- init
main::gated("seven-$::RUN");
$::SOCK = main::send_raw($::K{a}, '{"sql": "select 4 as n"}');
main::queued(1);
--- pipelined_requests eval
# the refused one, then the gated job's end (the waiter then runs and
# its nginx can stop)
["POST /v1/queries\n{\"sql\": \"select 5 as n\"}",
 'DELETE /v1/jobs/$TEST_NGINX_JOB']
--- error_code eval
[429, 200]
--- response_body_like eval
[qr/"code":"CONCURRENCY_LIMITED","message":"the tenant has 1 statements running and no room to wait/,
 qr/^\{"job_id":"(??{ $ENV{TEST_NGINX_JOB} })",.*"status":"CANCELLED"/]



=== TEST 6: statements that end free their slots: the next one runs
--- http_config eval
$::HttpConfig . "    spectra_queue_zone spectra_queues:1m;\n"
--- config
    location /v1/ {
        spectra_api;
        spectra_max_running 1;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- request eval
["POST /v1/queries\n{\"sql\": \"select 6 as n\"}",
 "POST /v1/queries\n{\"sql\": \"select 7 as n\"}"]
--- response_body_like eval
[qr/"data":\[\{"n":6\}\]/, qr/"data":\[\{"n":7\}\]/]



=== TEST 7: spectra_max_queued needs spectra_queue_zone
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
        spectra_max_running 1;
        spectra_max_queued 2;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- must_die
--- error_log
spectra_max_queued needs spectra_queue_zone



=== TEST 8: a freed slot goes to the first waiter, not to whichever looks first
--- http_config eval
$::HttpConfig . "    spectra_queue_zone spectra_queues:1m;\n"
--- config
    location /v1/ {
        spectra_api;
        spectra_max_running 1;
        spectra_max_queued 4;
        spectra_queue_timeout 20s;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- log_level: debug
--- init
my $id = main::gated("eight-$::RUN");
# the first waiter runs a gated statement too, so that while it holds
# the slot the second cannot have run
my $first = main::send_raw($::K{a},
    '{"sql": "select count(*) as first from spectra_gate", '
    . '"timeout_seconds": 60}');
main::queued(1);
my $second = main::send_raw($::K{a}, '{"sql": "select 8 as second"}');
main::queued(2);
SpectraQuery::http('DELETE', "/v1/jobs/$id", undef, 'X-API-Key' => $::K{a});
SpectraQuery::poll(sub {
    SpectraQuery::psql("select count(*) from pg_stat_activity where "
                       . "state = 'active' and query like "
                       . "'%as first from spectra_gate%' and "
                       . "pid <> pg_backend_pid()") == 1 }, 100, 0.05);
Test::More::ok(!main::answered($second, 1),
               "TEST 8 - the first waiter has the slot, the second waits");
SpectraQuery::gate_open();
Test::More::like(main::read_raw($first), qr/^HTTP\/1\.1 200 .*"first":/s,
                 "TEST 8 - the first waiter's answer");
Test::More::like(main::read_raw($second),
                 qr/^HTTP\/1\.1 200 .*"data":\[\{"second":8\}\]/s,
                 "TEST 8 - then the second's");
--- request
GET /v1/jobs?limit=1
--- response_body_like: "status":"COMPLETED"
--- error_log
a slot freed, the first waiter looks
