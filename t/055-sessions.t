# Data API sessions (spectra_session_zone, spectra_session_keepalive): a
# database user's statements reuse its session, tenants never share one
# (each still sees only its own rows), a session about to expire is not
# used, and a statement that goes on as a job leaves its session behind.
# Not covered here: the retry when the Data API itself says a session is
# gone (the module stops using sessions before they expire, and the
# shared spectra-dataapi cannot be made to forget one from a test).
#
# Steps that must happen before a block's request (a first query, a job
# left running) are the block's "--- init".  The statement left running
# waits at a gate (a lock a superuser holds on spectra_gate): it costs
# nothing and ends when a test ends it.
use FindBin ();
use lib "$FindBin::Bin/data/query/lib", "$FindBin::Bin/data/auth/lib";
use Test::Nginx::Socket 'no_plan';
use SpectraLogArchive;
use SpectraAuth qw(ensure_keys);
use SpectraQuery qw(api_key key_file http_config http json poll
                    gate_close gate_open gate_waiters);

our (%K, $GATED, $HttpConfig);

my @lines;

for my $t (qw(acme globex initech)) {
    my $line;
    ($K{$t}, $line) = api_key("q055$t", "tenant=$t permissions=query");
    push @lines, $line;
}

$ENV{TEST_NGINX_QT_KEYS} = key_file(@lines);
$ENV{TEST_NGINX_AUTH_KEYS} = ensure_keys("$FindBin::Bin/data/auth/keys");

# authentication, the warehouse, the Data API upstream and the job store
$HttpConfig = http_config();

$GATED = 'select count(*) from spectra_gate';

# One query as acme through the block's nginx; returns the HTTP status.
sub query {
    my (%body) = @_;
    my ($status) = http('POST', '/v1/queries', json()->encode(\%body),
                        'X-API-Key' => $K{acme},
                        'Content-Type' => 'application/json');
    return $status;
}

# For "--- init": a first statement (it makes acme's session), then a
# gated one that goes on as a job after 1 s; sets $ENV{TEST_NGINX_JOB}
# to its job id.  The gate is closed with nobody at it before.
sub job_left_running {
    my ($before, $status, $text, $data);

    gate_open();
    poll(sub { !@{ gate_waiters() } }, 100, 0.05);
    gate_close();

    query(sql => 'select 1') == 200 or die "first query failed\n";

    ($status, $text, $data) = http('POST', '/v1/queries',
        json()->encode({sql => $GATED, wait_timeout_seconds => 1}),
        'X-API-Key' => $K{acme}, 'Content-Type' => 'application/json');

    die "the gated query did not go on as a job: $status $text\n"
        unless $status == 202 && $data && $data->{job_id};

    poll(sub { @{ gate_waiters() } }, 100, 0.05);

    $ENV{TEST_NGINX_JOB} = $data->{job_id};
}

# Whether no backend waits at the gate (within 5 s: PostgreSQL ends a
# cancelled statement shortly after the cancel, not during it).
sub gate_empty {
    return eval { poll(sub { !@{ gate_waiters() } }, 100, 0.05); 1 };
}

add_block_preprocessor(sub {
    my $block = shift;

    $block->set_value('more_headers',
                      "X-API-Key: $K{acme}\nContent-Type: application/json\n")
        unless defined $block->more_headers;
    $block->set_value('no_error_log', "[error]\n")
        unless defined $block->no_error_log;
});

run_tests();

__DATA__

=== TEST 1: tenants taking turns in their sessions each see their own rows
--- http_config eval
$::HttpConfig . "    spectra_session_zone qtest_sessions:1m;\n"
--- config
    location /v1/ {
        spectra_api;
        spectra_session_keepalive 300s;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- request eval
[("POST /v1/queries\n{\"sql\": \"select count(*) from sales\"}") x 7]
--- more_headers eval
[map { "X-API-Key: $::K{$_}\nContent-Type: application/json" }
 qw(acme globex acme globex initech acme initech)]
--- error_code eval
[(200) x 7]
--- response_body_like eval
[map { qr/"data":\[\{"count":$_\}\]/ }
 600000, 300000, 600000, 300000, 100000, 600000, 100000]



=== TEST 2: a database user's second statement reuses its session
--- http_config eval
$::HttpConfig . "    spectra_session_zone qtest_sessions:1m;\n"
--- config
    location /v1/ {
        spectra_api;
        spectra_session_keepalive 300s;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- init
main::query(sql => 'select 1') == 200 or die "first query failed\n";
--- request
POST /v1/queries
{"sql": "select count(*) from sales"}
--- response_body_like chomp
"data":\[\{"count":600000\}\]
--- error_log eval
qr/spectra session "tenant_acme\/spectra-local\/warehouse": reuse [0-9a-f-]{36}/
--- no_error_log
[error]
unusable



=== TEST 3: a session about to expire is not reused: a new one is made
--- http_config eval
$::HttpConfig . "    spectra_session_zone qtest_sessions:1m;\n"
--- config
    location /v1/ {
        spectra_api;
        spectra_session_keepalive 3s;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- init
main::query(sql => 'select 1') == 200 or die "first query failed\n";
main::query(sql => 'select 2') == 200 or die "second query failed\n";
# a lower bound: then at most 1 s of the 3 s keep-alive is left
Time::HiRes::sleep(2.5);
--- request
POST /v1/queries
{"sql": "select count(*) from sales"}
--- response_body_like chomp
"data":\[\{"count":600000\}\]
--- grep_error_log eval
qr/spectra session "tenant_acme[^"]*": (?:create|reuse)/
--- grep_error_log_out
spectra session "tenant_acme/spectra-local/warehouse": create
spectra session "tenant_acme/spectra-local/warehouse": reuse
spectra session "tenant_acme/spectra-local/warehouse": create
--- no_error_log
[error]
unusable



=== TEST 4: a statement that goes on as a job leaves its session behind
--- http_config eval
$::HttpConfig . "    spectra_session_zone qtest_sessions:1m;\n"
--- config
    location /v1/ {
        spectra_api;
        spectra_session_keepalive 300s;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- init
main::job_left_running();
--- request
POST /v1/queries
{"sql": "select count(*) from sales"}
--- response_body_like chomp
"data":\[\{"count":600000\}\]
--- grep_error_log eval
qr/spectra session "tenant_acme[^"]*": (?:create|reuse)/
--- grep_error_log_out
spectra session "tenant_acme/spectra-local/warehouse": create
spectra session "tenant_acme/spectra-local/warehouse": reuse
spectra session "tenant_acme/spectra-local/warehouse": create
--- no_error_log
[error]
unusable



=== TEST 5: the job left running in a session is cancelled
--- http_config eval
$::HttpConfig . "    spectra_session_zone qtest_sessions:1m;\n"
--- config
    location /v1/ {
        spectra_api;
        spectra_session_keepalive 300s;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- init
main::job_left_running();
--- pipelined_requests eval
['DELETE /v1/jobs/$TEST_NGINX_JOB']
--- response_body_like eval
[qr/^\{"job_id":"(??{ $ENV{TEST_NGINX_JOB} })",.*"status":"CANCELLED"/]



=== TEST 6: the cancelled statement no longer runs in the warehouse
--- http_config eval
$::HttpConfig . "    spectra_session_zone qtest_sessions:1m;\n"
--- config
    location /v1/ {
        spectra_api;
        spectra_session_keepalive 300s;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- init
main::job_left_running();
my ($status) = SpectraQuery::http('DELETE', "/v1/jobs/$ENV{TEST_NGINX_JOB}",
                                  undef, 'X-API-Key' => $::K{acme});
Test::More::is($status, 200, "TEST 6 - DELETE answers 200");
Test::More::ok(main::gate_empty(),
               "TEST 6 - the statement no longer waits in PostgreSQL");
--- pipelined_requests eval
['GET /v1/jobs/$TEST_NGINX_JOB']
--- response_body_like eval
[qr/^\{"job_id":"(??{ $ENV{TEST_NGINX_JOB} })",.*"status":"CANCELLED"/]
