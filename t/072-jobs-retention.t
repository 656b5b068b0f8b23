# Retention: spectra_jobs_retention deletes the jobs that finished longer
# ago (the supervisor, in batches), never an active one however old;
# "off" keeps them; bad values stop nginx -t.
#
# Every block has its own job store (logs/, emptied before each block).
# A "long" statement waits at the gate (a lock a superuser holds on
# spectra_gate) until the gate opens.
use FindBin ();
use lib "$FindBin::Bin/data/query/lib", "$FindBin::Bin/data/auth/lib";
use Test::Nginx::Socket 'no_plan';
use SpectraLogArchive;
use SpectraAuth qw(ensure_keys);
use SpectraQuery qw(api_key key_file http_config http json poll submit
                    job_status gate_close gate_open);

our (%K, $HttpConfig);

my @lines;

for my $t (qw(acme)) {
    my $line;
    ($K{$t}, $line) = api_key("r072$t", "tenant=$t permissions=query");
    push @lines, $line;
}

$ENV{TEST_NGINX_QT_KEYS} = key_file(@lines);
$ENV{TEST_NGINX_AUTH_KEYS} = ensure_keys("$FindBin::Bin/data/auth/keys");

$HttpConfig = http_config();

# The status GET /v1/jobs/{id} answers for acme's job.
sub found {
    my ($id) = @_;
    my ($status) = SpectraQuery::http('GET', "/v1/jobs/$id", undef,
                                      'X-API-Key' => $K{acme});
    return $status;
}

add_block_preprocessor(sub {
    my $block = shift;

    $block->set_value('more_headers', "X-API-Key: $K{acme}\n")
        unless defined $block->more_headers;
});

run_tests();

__DATA__

=== TEST 1: a finished job goes once it is older than spectra_jobs_retention; an older, still running one stays
--- http_config eval
$::HttpConfig . "    spectra_jobs_retention 1s;\n    spectra_supervisor_interval 100ms;\n"
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- init
SpectraQuery::gate_close();
my $long = SpectraQuery::submit($::K{acme}, {sql => 'select count(*) from spectra_gate'}, env => 'TEST_NGINX_LONG');
my $done = SpectraQuery::submit($::K{acme}, {sql => 'select 1'}, until => 'COMPLETED');
Test::More::is(main::found($done), 200, 'the finished job is there at first');
Test::More::ok(SpectraQuery::poll(sub { main::found($done) == 404 }, 600, 0.05), 'then it is deleted');
Test::More::is(SpectraQuery::job_status($::K{acme}, $long), 'RUNNING', 'the older job, still running, stays');
SpectraQuery::gate_open();
open my $log, '<', "$ENV{TEST_NGINX_SERVROOT}/logs/error.log" or die "error.log: $!";
Test::More::ok(scalar(grep { /\[info\] .*spectra: retention: deleted 1 job\(s\) that finished more than 1 s ago$/ } <$log>), 'the supervisor logs what it deleted');
--- pipelined_requests eval
['GET /v1/jobs/$TEST_NGINX_JOB', 'GET /v1/jobs']
--- error_code eval
[404, 200]
--- response_body_like eval
[qr/"code":"NOT_FOUND"/,
 qr/^(?!.*(??{ $ENV{TEST_NGINX_JOB} }))\{"jobs":\[\{"job_id":"(??{ $ENV{TEST_NGINX_LONG} })"/s]
--- no_error_log
[error]



=== TEST 2: spectra_jobs_retention off is taken, and deletes nothing
--- http_config eval
$::HttpConfig . "    spectra_jobs_retention off;\n    spectra_supervisor_interval 100ms;\n"
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- init
SpectraQuery::submit($::K{acme}, {sql => 'select 1'}, until => 'COMPLETED');
--- pipelined_requests eval
['GET /v1/jobs/$TEST_NGINX_JOB']
--- error_code eval
[200]
--- response_body_like eval
[qr/"status":"COMPLETED"/]
--- no_error_log
spectra: retention



=== TEST 3: spectra_jobs_retention needs a time of at least 1s, or off
--- http_config
    spectra_jobs_db logs/jobs.db;
    spectra_jobs_retention 0s;
--- config
    location /v1/ {
        spectra_api;
    }
--- must_die
--- error_log
"spectra_jobs_retention" must be a time of at least 1s, or off, not "0s"



=== TEST 4: spectra_jobs_retention takes one value, once
--- http_config
    spectra_jobs_db logs/jobs.db;
    spectra_jobs_retention 7d;
    spectra_jobs_retention 1d;
--- config
    location /v1/ {
        spectra_api;
    }
--- must_die
--- error_log
"spectra_jobs_retention" directive is duplicate
