# Data API sessions (spectra_session_zone, spectra_session_keepalive): a
# database user's statements reuse its session, tenants never share one
# (each still sees only its own rows), a session about to expire is not
# used, and a statement that goes on as a job leaves its session behind.
# Not covered here: the retry when the Data API itself says a session is
# gone (the module stops using sessions before they expire, and the
# shared spectra-dataapi cannot be made to forget one from a test).
#
# Steps that must happen before a block's request (a first query, a job
# left running) are taken by lazy requests once the block's nginx runs.
use FindBin ();
use lib "$FindBin::Bin/data/query/lib", "$FindBin::Bin/data/auth/lib";
use Test::Nginx::Socket 'no_plan';
use Time::HiRes qw(sleep);
use SpectraAuth qw(ensure_keys);
use SpectraQuery qw(api_key key_file http_config server_config http json
                    lazy poll run_id);

our (%K, $RUN, $LONG);

$RUN = run_id();

my @lines;

for my $t (qw(acme globex initech)) {
    my $line;
    ($K{$t}, $line) = api_key("q055$t", "tenant=$t permissions=query");
    push @lines, $line;
}

$ENV{TEST_NGINX_QT_KEYS} = key_file(@lines);
$ENV{TEST_NGINX_AUTH_KEYS} = ensure_keys("$FindBin::Bin/data/auth/keys");

$LONG = 'select count(*) from sales a, sales b '
           . 'where a.id < 30000 and b.id < 30000';

# One query as acme through the block's nginx; returns the HTTP status.
sub query {
    my (%body) = @_;
    my ($status) = http('POST', '/v1/queries', json()->encode(\%body),
                        'X-API-Key' => $K{acme},
                        'Content-Type' => 'application/json');
    return $status;
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
    my $keepalive = $block->keepalive // '300s';

    chomp $keepalive;

    $block->set_value('http_config', http_config()
                      . "    spectra_session_zone qtest_sessions:1m;\n");
    $block->set_value('config', server_config(
                      extra => "    spectra_session_keepalive $keepalive;\n"));
    $block->set_value('more_headers',
                      "X-API-Key: $K{acme}\nContent-Type: application/json\n")
        unless defined $block->more_headers;
});

no_shuffle();
run_tests();

__DATA__

=== TEST 1: tenants taking turns in their sessions each see their own rows
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
--- no_error_log
[error]



=== TEST 2: a database user's second statement reuses its session
--- request eval
[main::lazy { main::query(sql => 'select 1') == 200 or die "first query failed\n";
              "POST /v1/queries\n{\"sql\": \"select count(*) from sales\"}" }]
--- response_body_like chomp
"data":\[\{"count":600000\}\]
--- error_log eval
qr/spectra session "tenant_acme\/spectra-local\/warehouse": reuse [0-9a-f-]{36}/
--- no_error_log
[error]
unusable



=== TEST 3: a session about to expire is not reused: a new one is made
--- keepalive: 3s
--- request eval
[main::lazy { main::query(sql => 'select 1') == 200 or die "first query failed\n";
              main::query(sql => 'select 2') == 200 or die "second query failed\n";
              # a lower bound: then at most 1 s of the 3 s keep-alive is left
              Time::HiRes::sleep(2.5);
              "POST /v1/queries\n{\"sql\": \"select count(*) from sales\"}" }]
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
--- request eval
[main::lazy { main::query(sql => 'select 1') == 200 or die "first query failed\n";
              main::query(sql => $::LONG, wait_timeout_seconds => 1,
                          idempotency_key => "session-$::RUN") == 202
                  or die "the long query did not go on as a job\n";
              "POST /v1/queries\n{\"sql\": \"select count(*) from sales\"}" }]
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



=== TEST 5: the job left running is cancelled; the warehouse is idle
--- request eval
[main::lazy { my ($s, undef, $d) = SpectraQuery::http('GET', '/v1/jobs?status=RUNNING,PENDING&limit=100', undef, 'X-API-Key' => $::K{acme});
              my ($j) = grep { ($_->{idempotency_key} // '') eq "session-$::RUN" } @{ $d->{jobs} };
              die "no running job\n" unless $j;
              "DELETE /v1/jobs/$j->{job_id}" }]
--- response_body_like chomp
"status":"CANCELLED"
--- no_error_log
[error]



=== TEST 6: the cancelled statement no longer runs in the warehouse
--- request eval
[main::lazy { main::warehouse_idle(); "GET /v1/health" }]
--- response_body_like chomp
"status":"ok"
