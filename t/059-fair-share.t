# Fair share: a tenant runs at most spectra_max_running statements at a
# time, over all workers; more wait for a slot (spectra_max_queued, at
# most spectra_queue_timeout) or are refused with 429 CONCURRENCY_LIMITED
# and Retry-After; and another tenant is not held up by any of it.  The
# long statements wait at a gate (a lock a superuser holds on
# spectra_gate): they cost nothing and end when the block ends them.
use FindBin ();
use lib "$FindBin::Bin/data/query/lib", "$FindBin::Bin/data/auth/lib";
use Test::Nginx::Socket 'no_plan';
use SpectraAuth qw(ensure_keys);
use SpectraQuery qw(api_key key_file http_config server_config http json
                    lazy poll run_id gate_close gate_open gate_waiters
                    job_of jobs_of);

our (%K, $RUN);

$RUN = run_id();

my @lines;

# a tenant of this run only (its job list holds just this file's jobs)
# that runs as acme's database user, and globex
for my $k (['a', "tenant=fa$RUN db_user=tenant_acme permissions=query"],
           ['b', 'tenant=globex permissions=query'])
{
    my $line;
    ($K{$k->[0]}, $line) = api_key("q059$k->[0]", $k->[1]);
    push @lines, $line;
}

$ENV{TEST_NGINX_QT_KEYS} = key_file(@lines);
$ENV{TEST_NGINX_AUTH_KEYS} = ensure_keys("$FindBin::Bin/data/auth/keys");

our $GATED = 'select count(*) from spectra_gate';

# Starts a gated statement as tenant a that goes on as a job; returns its
# job id once the statement waits at the gate inside PostgreSQL.
sub gated {
    my ($key) = @_;
    my $before = @{ gate_waiters() };
    my ($status, $body, $data) = http('POST', '/v1/queries',
        json()->encode({sql => $GATED, wait_timeout_seconds => 0,
                        timeout_seconds => 60, idempotency_key => $key}),
        'X-API-Key' => $K{a}, 'Content-Type' => 'application/json');

    die "a gated query answered $status: $body\n" if $status != 202;

    poll(sub { @{ gate_waiters() } > $before }, 100, 0.05);

    return $data->{job_id};
}

# Ends every active job of tenant a and opens the gate.
sub clean {
    for my $j (values %{ jobs_of($K{a}) }) {
        next unless $j->{status} =~ /^(?:PENDING|RUNNING)$/;
        http('DELETE', "/v1/jobs/$j->{job_id}", undef, 'X-API-Key' => $K{a});
    }

    gate_open();
    poll(sub { !@{ gate_waiters() } }, 100, 0.05);
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

our $HttpConfig = http_config() . <<'_EOC_';
    spectra_queue_zone spectra_queues:1m;
_EOC_

add_block_preprocessor(sub {
    my $block = shift;

    $block->set_value('http_config', $::HttpConfig)
        unless defined $block->http_config;
    $block->set_value('more_headers',
                      "X-API-Key: $K{a}\nContent-Type: application/json\n")
        unless defined $block->more_headers;
});

run_tests();

__DATA__

=== TEST 1: a tenant at spectra_max_running gets 429 CONCURRENCY_LIMITED with Retry-After
--- config eval
SpectraQuery::server_config(extra => <<'_EOC_')
    spectra_max_running 2;
    spectra_retry_after 3s;
_EOC_
--- request eval
[main::lazy { SpectraQuery::gate_close(); main::gated("one-$::RUN-$$");
              main::gated("two-$::RUN-$$");
              "POST /v1/queries\n{\"sql\": \"select 1 as n\"}" }]
--- error_code: 429
--- response_headers
Retry-After: 3
--- response_body_like eval
main::lazy { main::clean(); qr/^\{"error":\{"code":"CONCURRENCY_LIMITED","message":"the tenant has 2 statements running and no room to wait for one of them to end","request_id":"[0-9a-f]{32}"\}\}\n\z/ }
--- error_log
spectra: tenant "fa
has 2 statements running and 0 waiting
--- no_error_log
[error]



=== TEST 2: another tenant runs at once while the first is at its cap
--- config eval
SpectraQuery::server_config(extra => "    spectra_max_running 2;\n")
--- more_headers eval
"X-API-Key: $::K{b}\nContent-Type: application/json\n"
--- request eval
[main::lazy { SpectraQuery::gate_close(); main::gated("three-$::RUN-$$");
              main::gated("four-$::RUN-$$");
              "POST /v1/queries\n{\"sql\": \"select count(*) as n from sales\"}" }]
--- response_body_like eval
main::lazy { main::clean(); qr/^\{"job_id":"job_\w{26}","status":"COMPLETED","data":\[\{"n":300000\}\],/ }
--- no_error_log
[error]



=== TEST 3: a statement waits for a slot and runs when one frees
--- config eval
SpectraQuery::server_config(extra => <<'_EOC_')
    spectra_max_running 1;
    spectra_max_queued 1;
    spectra_queue_timeout 20s;
_EOC_
--- request eval
[main::lazy {
    SpectraQuery::gate_close();
    my $id = main::gated("five-$::RUN-$$");
    my $sock = main::send_raw($::K{a}, '{"sql": "select 2 as n"}');
    # it waits: the only active job is the gated one, the answer not in
    Test::More::ok(!main::answered($sock, 0.5),
                   "$0 - the second statement waits for the slot");
    SpectraQuery::http('DELETE', "/v1/jobs/$id", undef,
                       'X-API-Key' => $::K{a});
    Test::More::like(main::read_raw($sock),
                     qr/^HTTP\/1\.1 200 .*"data":\[\{"n":2\}\]/s,
                     "$0 - it runs once the slot is free");
    main::clean();
    "GET /v1/jobs?limit=1" }]
--- response_body_like: "status":"COMPLETED"
--- no_error_log
[error]



=== TEST 4: a waiting statement gives up after spectra_queue_timeout with 429
--- config eval
SpectraQuery::server_config(extra => <<'_EOC_')
    spectra_max_running 1;
    spectra_max_queued 4;
    spectra_queue_timeout 1s;
_EOC_
--- request eval
[main::lazy { SpectraQuery::gate_close(); main::gated("six-$::RUN-$$");
              "POST /v1/queries\n{\"sql\": \"select 3 as n\"}" }]
--- error_code: 429
--- response_headers
Retry-After: 1
--- response_body_like eval
main::lazy { main::clean(); qr/^\{"error":\{"code":"CONCURRENCY_LIMITED","message":"the tenant's 1 running statements did not end within 1000 ms","request_id":"[0-9a-f]{32}"\}\}\n\z/ }
--- no_error_log
[error]



=== TEST 5: no room to wait: spectra_max_queued waiters at most
--- config eval
SpectraQuery::server_config(extra => <<'_EOC_')
    spectra_max_running 1;
    spectra_max_queued 1;
    spectra_queue_timeout 20s;
_EOC_
--- request eval
[main::lazy {
    SpectraQuery::gate_close();
    main::gated("seven-$::RUN-$$");
    $::SOCK = main::send_raw($::K{a}, '{"sql": "select 4 as n"}');
    select undef, undef, undef, 0.3;
    "POST /v1/queries\n{\"sql\": \"select 5 as n\"}" }]
--- error_code: 429
--- response_body_like eval
main::lazy { main::clean(); main::read_raw($::SOCK); qr/"code":"CONCURRENCY_LIMITED","message":"the tenant has 1 statements running and no room to wait/ }
--- no_error_log
[error]



=== TEST 6: statements that end free their slots: the next one runs
--- config eval
SpectraQuery::server_config(extra => "    spectra_max_running 1;\n")
--- request eval
["POST /v1/queries\n{\"sql\": \"select 6 as n\"}",
 "POST /v1/queries\n{\"sql\": \"select 7 as n\"}"]
--- response_body_like eval
[qr/"data":\[\{"n":6\}\]/, qr/"data":\[\{"n":7\}\]/]
--- no_error_log
[error]



=== TEST 7: spectra_max_queued needs spectra_queue_zone
--- http_config eval
SpectraQuery::http_config()
--- config eval
SpectraQuery::server_config(extra => "    spectra_max_running 1;\n    spectra_max_queued 2;\n")
--- must_die
--- error_log
spectra_max_queued needs spectra_queue_zone
