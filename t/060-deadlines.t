# Deadlines that need no client: a job's timeout_seconds holds whether or
# not anyone waits for it.  The supervisor (one worker, on a timer, with
# libcurl) cancels a statement past its deadline and records TIMEOUT, and
# follows the jobs nobody waits for, across nginx restarts: the deadline
# lives in the job store.  The job list reads the store and refreshes
# nothing, so what it shows is the supervisor's doing.  The long
# statements wait at a gate (a lock a superuser holds on spectra_gate).
use FindBin ();
use lib "$FindBin::Bin/data/query/lib", "$FindBin::Bin/data/auth/lib";
use Test::Nginx::Socket 'no_plan';
use SpectraAuth qw(ensure_keys);
use SpectraQuery qw(api_key key_file http_config server_config http json
                    lazy poll run_id psql gate_close gate_open gate_waiters
                    job_of jobs_of);

our (%K, $RUN);

$RUN = run_id();

my ($key, $line) = api_key('q060', "tenant=dl$RUN db_user=tenant_acme "
                                   . 'permissions=query');
$K{a} = $key;

$ENV{TEST_NGINX_QT_KEYS} = key_file($line);
$ENV{TEST_NGINX_AUTH_KEYS} = ensure_keys("$FindBin::Bin/data/auth/keys");

our $GATED = 'select count(*) from spectra_gate';

# A gated statement that goes on as a job at once; its job id once it
# waits at the gate inside PostgreSQL.
sub gated {
    my ($idem, $timeout) = @_;
    my $before = @{ gate_waiters() };
    my ($status, $body, $data) = http('POST', '/v1/queries',
        json()->encode({sql => $GATED, wait_timeout_seconds => 0,
                        timeout_seconds => $timeout,
                        idempotency_key => $idem}),
        'X-API-Key' => $K{a}, 'Content-Type' => 'application/json');

    die "a gated query answered $status: $body\n" if $status != 202;

    poll(sub { @{ gate_waiters() } > $before }, 100, 0.05);

    return $data->{job_id};
}

# The job once it has ended, as the store has it (a bounded wait).
sub ended {
    my ($idem) = @_;

    return poll(sub {
        my $j = jobs_of($K{a})->{$idem};
        $j && $j->{status} !~ /^(?:PENDING|RUNNING)$/ ? $j : undef
    }, 150, 0.1);
}

sub ms {
    my ($t) = @_;
    my ($y, $mo, $d, $h, $mi, $s, $ms) =
        $t =~ /^(\d+)-(\d+)-(\d+)T(\d+):(\d+):(\d+)\.(\d+)Z$/ or return 0;

    require Time::Local;
    return Time::Local::timegm($s, $mi, $h, $d, $mo - 1, $y) * 1000 + $ms;
}

add_block_preprocessor(sub {
    my $block = shift;

    $block->set_value('http_config', http_config())
        unless defined $block->http_config;
    $block->set_value('config', server_config())
        unless defined $block->config;
    $block->set_value('more_headers',
                      "X-API-Key: $K{a}\nContent-Type: application/json\n");
});

# TEST 2 reads what TEST 1 left, across the nginx restart between them
no_shuffle();
run_tests();

__DATA__

=== TEST 1: a job nobody waits for, with timeout_seconds 3, goes on as a job
--- request eval
[main::lazy { SpectraQuery::gate_close(); main::gated("restart-$::RUN", 3);
              "GET /v1/jobs?limit=1" }]
--- response_body_like: "status":"(?:PENDING|RUNNING)"
--- no_error_log
[error]



=== TEST 2: after an nginx restart it ends TIMEOUT at its deadline and its backend is gone
--- request eval
[main::lazy {
    my $j = main::ended("restart-$::RUN");
    my $late = main::ms($j->{finished_at}) - main::ms($j->{created_at});
    Test::More::cmp_ok($late, '<', 5000,
                       "$0 - TIMEOUT about a second after the deadline");
    Test::More::ok(!grep(/tenant_acme/, @{ SpectraQuery::gate_waiters() }),
                   "$0 - no backend runs it any more");
    "GET /v1/jobs/$j->{job_id}" }]
--- response_body_like: ^\{"job_id":"job_\w{26}","type":"query","status":"TIMEOUT",.*"error":\{"code":"QUERY_TIMEOUT","message":"the query timed out and was cancelled"\}
--- no_error_log
[error]



=== TEST 3: a job nobody waits for, with timeout_seconds 2, is TIMEOUT within 4 s
--- request eval
[main::lazy {
    SpectraQuery::gate_close();
    my $id = main::gated("nobody-$::RUN", 2);
    my $j = main::ended("nobody-$::RUN");
    Test::More::cmp_ok(main::ms($j->{finished_at}) - main::ms($j->{created_at}),
                       '<', 4000, "$0 - TIMEOUT within 4 s");
    Test::More::is(scalar @{ SpectraQuery::gate_waiters() }, 0,
                   "$0 - its backend is gone from pg_stat_activity");
    "GET /v1/jobs/$id" }]
--- response_body_like: "status":"TIMEOUT",
--- error_log
spectra: job
is TIMEOUT
--- no_error_log
[error]



=== TEST 4: the supervisor follows a job nobody waits for to its end
--- request eval
[main::lazy {
    SpectraQuery::gate_close();
    my $id = main::gated("follow-$::RUN", 60);
    SpectraQuery::gate_open();
    my $j = main::ended("follow-$::RUN");
    "GET /v1/jobs/$id" }]
--- response_body_like: "status":"COMPLETED",.*"row_count":1,
--- no_error_log
[error]



=== TEST 5: with spectra_supervisor off, nobody ends a job nobody waits for
--- http_config eval
SpectraQuery::http_config() . "    spectra_supervisor off;\n"
--- request eval
[main::lazy {
    SpectraQuery::gate_close();
    main::gated("nosv-$::RUN", 1);
    select undef, undef, undef, 2.5;
    my $j = SpectraQuery::jobs_of($::K{a})->{"nosv-$::RUN"};
    Test::More::like($j->{status}, qr/^(?:PENDING|RUNNING)$/,
                     "$0 - the job is still active past its deadline");
    # a client that asks cancels it: the deadline holds on every path
    "GET /v1/jobs/$j->{job_id}" }]
--- response_body_like: "status":"TIMEOUT",
--- no_error_log
[error]



=== TEST 6: a waiting client past timeout_seconds gets 408 and the backend is gone
--- request eval
[main::lazy { SpectraQuery::gate_close();
              "POST /v1/queries\n" . SpectraQuery::json()->encode({sql => $::GATED, timeout_seconds => 1}) }]
--- error_code: 408
--- response_body_like eval
main::lazy { Test::More::is(scalar @{ SpectraQuery::gate_waiters() }, 0,
                            "$0 - no backend waits at the gate");
             SpectraQuery::gate_open();
             qr/^\{"error":\{"code":"QUERY_TIMEOUT","message":"the query timed out and was cancelled","request_id":"[0-9a-f]{32}","job_id":"job_\w{26}"\}\}\n\z/ }
--- no_error_log
[error]
