# Deadlines that need no client: a job's timeout_seconds holds whether or
# not anyone waits for it.  The supervisor (one worker, on a timer, with
# libcurl) cancels a statement past its deadline and records TIMEOUT, and
# follows the jobs nobody waits for, across nginx restarts: the deadline
# lives in the job store.  The job list reads the store and refreshes
# nothing, so what it shows is the supervisor's doing.  The long
# statements wait at a gate (a lock a superuser holds on spectra_gate);
# the gate opens before the next block.
#
# Ports: base+14 the second nginx of the restart block.
use FindBin ();
use lib "$FindBin::Bin/data/query/lib", "$FindBin::Bin/data/auth/lib";
use Test::Nginx::Socket 'no_plan';
use SpectraLogArchive;
use IO::Socket::INET ();
use POSIX ();
use Time::HiRes qw(sleep);
use SpectraAuth qw(ensure_keys);
use SpectraQuery qw(api_key key_file http_config http json poll run_id
                    gate_close gate_open gate_waiters jobs_of);

our (%K, $RUN, $GATED, $HttpConfig);

$RUN = run_id();

my $base = $ENV{SPECTRA_PORT_BASE}
           // ($ENV{TEST_NGINX_SERVER_PORT} - 2);

$ENV{TEST_NGINX_RESTART_PORT} = $base + 14;

my ($key, $line) = api_key('q060', "tenant=dl$RUN db_user=tenant_acme "
                                   . 'permissions=query');
$K{a} = $key;

$ENV{TEST_NGINX_QT_KEYS} = key_file($line);
$ENV{TEST_NGINX_AUTH_KEYS} = ensure_keys("$FindBin::Bin/data/auth/keys");

# authentication, the warehouse, the Data API upstream and the job store
$HttpConfig = http_config();

$GATED = 'select count(*) from spectra_gate';

# For "--- init": a gated statement that goes on as a job at once; sets
# $ENV{TEST_NGINX_JOB} to its job id once it waits at the gate inside
# PostgreSQL.
sub gated {
    my ($idem, $timeout) = @_;
    my ($before, $status, $body, $data);

    gate_close();
    $before = @{ gate_waiters() };

    ($status, $body, $data) = http('POST', '/v1/queries',
        json()->encode({sql => $GATED, wait_timeout_seconds => 0,
                        timeout_seconds => $timeout,
                        idempotency_key => $idem}),
        'X-API-Key' => $K{a}, 'Content-Type' => 'application/json');

    die "a gated query answered $status: $body\n" if $status != 202;

    poll(sub { @{ gate_waiters() } > $before }, 100, 0.05);

    return $ENV{TEST_NGINX_JOB} = $data->{job_id};
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

# Whether no backend waits at the gate (within 5 s: PostgreSQL ends a
# cancelled statement shortly after the cancel, not during it).
sub gate_empty {
    return eval { poll(sub { !@{ gate_waiters() } }, 100, 0.05); 1 };
}

# Another nginx on the block's servroot (so on its job store,
# logs/jobs.db), with the config the block wrote in html/; returns its
# pid once it answers.
sub nginx_start {
    my ($conf) = @_;
    my $root = $Test::Nginx::Util::ServRoot;
    my $pid = fork;

    die "fork: $!" unless defined $pid;

    if ($pid == 0) {
        # its startup messages in its own log, not in the block's
        open STDOUT, '>>', "$root/logs/$conf.out";
        open STDERR, '>&', \*STDOUT;
        exec $ENV{TEST_NGINX_BINARY} // $Test::Nginx::Util::NginxBinary,
             '-p', "$root/", '-e', "logs/$conf.error.log",
             '-c', "html/$conf"
            or POSIX::_exit(127);
    }

    poll(sub {
        die "the second nginx exited: $?\n"
            if waitpid($pid, POSIX::WNOHANG()) == $pid;
        IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                              PeerPort => $ENV{TEST_NGINX_RESTART_PORT});
    }, 100, 0.1);

    return $pid;
}

# A file of the block's servroot.
sub slurp {
    my ($name) = @_;
    open my $fh, '<', "$Test::Nginx::Util::ServRoot/$name" or return '';
    return do { local $/; <$fh> };
}

# Stops it (QUIT, KILL after 10 s); its exit status.
sub nginx_stop {
    my ($pid) = @_;

    kill 'QUIT', $pid;

    for (1 .. 100) {
        return $? if waitpid($pid, POSIX::WNOHANG()) == $pid;
        sleep 0.1;
    }

    kill 'KILL', $pid;
    waitpid $pid, 0;

    return $?;
}

add_block_preprocessor(sub {
    my $block = shift;

    # an earlier block's gated statements end before this block starts
    gate_open();
    poll(sub { !@{ gate_waiters() } }, 100, 0.05);

    $block->set_value('more_headers',
                      "X-API-Key: $K{a}\nContent-Type: application/json\n");
    $block->set_value('no_error_log', "[error]\n")
        unless defined $block->no_error_log;
});

run_tests();

__DATA__

=== TEST 1: a job nobody waits for goes on as a job
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- init
main::gated("going-$::RUN", 60);
--- request
GET /v1/jobs?limit=1
--- response_body_like: "status":"(?:PENDING|RUNNING)"



=== TEST 2: a restart: a later nginx on the job store ends the job TIMEOUT at its deadline, its backend gone
--- http_config eval
# this nginx takes the job and leaves it alone
$::HttpConfig . "    spectra_supervisor off;\n"
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- user_files eval
# the nginx started once the job is in the store, its supervisor on
">>> restart.conf\n" . <<'_EOC_' . $::HttpConfig . <<'_EOC_'
load_module $TEST_NGINX_LOAD_MODULES;
daemon off;
master_process off;
worker_processes 1;
error_log logs/restart-error.log debug;
pid logs/restart.pid;

events {
    worker_connections 64;
}

http {
    access_log off;

_EOC_

    server {
        listen 127.0.0.1:$TEST_NGINX_RESTART_PORT;

        location /v1/ {
            spectra_api;
        }

        include $TEST_NGINX_REPO/t/data/query/internal.conf;
    }
}
_EOC_
--- init
my $id = main::gated("restart-$::RUN", 3);
Test::More::like(SpectraQuery::jobs_of($::K{a})->{"restart-$::RUN"}{status},
                 qr/^(?:PENDING|RUNNING)$/,
                 "TEST 2 - the job goes on, its nginx leaves it alone");
my $pid = main::nginx_start('restart.conf');
my $j = main::ended("restart-$::RUN");
Test::More::is(main::nginx_stop($pid), 0,
               "TEST 2 - the later nginx exits cleanly");
Test::More::unlike(main::slurp('logs/restart-error.log'), qr/\[error\]/,
                   "TEST 2 - the later nginx logs no error");
my $late = main::ms($j->{finished_at}) - main::ms($j->{created_at});
Test::More::cmp_ok($late, '<', 5000,
                   "TEST 2 - TIMEOUT about a second after the deadline");
Test::More::ok(main::gate_empty(), "TEST 2 - no backend runs it any more");
--- pipelined_requests eval
['GET /v1/jobs/$TEST_NGINX_JOB']
--- response_body_like eval
[qr/^\{"job_id":"(??{ $ENV{TEST_NGINX_JOB} })","type":"query","status":"TIMEOUT",.*"error":\{"code":"QUERY_TIMEOUT","message":"the query timed out and was cancelled"\}/]



=== TEST 3: a job nobody waits for, with timeout_seconds 2, is TIMEOUT within 4 s
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- init
main::gated("nobody-$::RUN", 2);
my $j = main::ended("nobody-$::RUN");
Test::More::cmp_ok(main::ms($j->{finished_at}) - main::ms($j->{created_at}),
                   '<', 4000, "TEST 3 - TIMEOUT within 4 s");
Test::More::ok(main::gate_empty(),
               "TEST 3 - its backend is gone from pg_stat_activity");
--- pipelined_requests eval
['GET /v1/jobs/$TEST_NGINX_JOB']
--- response_body_like eval
[qr/^\{"job_id":"(??{ $ENV{TEST_NGINX_JOB} })",.*"status":"TIMEOUT",/]
--- error_log
spectra: job
is TIMEOUT



=== TEST 4: the supervisor follows a job nobody waits for to its end
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- init
main::gated("follow-$::RUN", 60);
SpectraQuery::gate_open();
main::ended("follow-$::RUN");
--- pipelined_requests eval
['GET /v1/jobs/$TEST_NGINX_JOB']
--- response_body_like eval
[qr/^\{"job_id":"(??{ $ENV{TEST_NGINX_JOB} })",.*"status":"COMPLETED",.*"row_count":1,/]



=== TEST 5: with spectra_supervisor off, nobody ends a job nobody waits for
--- http_config eval
$::HttpConfig . "    spectra_supervisor off;\n"
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- init
main::gated("nosv-$::RUN", 1);
# a lower bound: past the deadline, with time for a supervisor to act
Time::HiRes::sleep(2.5);
Test::More::like(SpectraQuery::jobs_of($::K{a})->{"nosv-$::RUN"}{status},
                 qr/^(?:PENDING|RUNNING)$/,
                 "TEST 5 - the job is still active past its deadline");
--- pipelined_requests eval
# a client that asks cancels it: the deadline holds on every path
['GET /v1/jobs/$TEST_NGINX_JOB']
--- response_body_like eval
[qr/^\{"job_id":"(??{ $ENV{TEST_NGINX_JOB} })",.*"status":"TIMEOUT",/]



=== TEST 6: a waiting client past timeout_seconds gets 408 QUERY_TIMEOUT
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- init
SpectraQuery::gate_close();
--- request
POST /v1/queries
{"sql": "select count(*) from spectra_gate", "timeout_seconds": 1}
--- error_code: 408
--- response_body_like eval
qr/^\{"error":\{"code":"QUERY_TIMEOUT","message":"the query timed out and was cancelled","request_id":"[0-9a-f]{32}","job_id":"job_\w{26}"\}\}\n\z/



=== TEST 7: the statement of a client that got 408 no longer runs
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- init
SpectraQuery::gate_close();
my ($status, $text, $data) = SpectraQuery::http('POST', '/v1/queries',
    SpectraQuery::json()->encode({sql => $::GATED, timeout_seconds => 1}),
    'X-API-Key' => $::K{a}, 'Content-Type' => 'application/json');
Test::More::is($status, 408, "TEST 7 - the client gets 408");
$ENV{TEST_NGINX_JOB} = $data->{error}{job_id} // 'none';
Test::More::ok(main::gate_empty(), "TEST 7 - no backend waits at the gate");
--- pipelined_requests eval
['GET /v1/jobs/$TEST_NGINX_JOB']
--- response_body_like eval
[qr/^\{"job_id":"(??{ $ENV{TEST_NGINX_JOB} })","type":"query","status":"TIMEOUT",.*"error":\{"code":"QUERY_TIMEOUT","message":"the query timed out and was cancelled"\}/]
