# Many warehouses behind one endpoint: two spectra-dataapi daemons on two
# PostgreSQL clusters holding the same demo data (A is the suites' own, B
# is started here), as the named warehouses wh_a and wh_b and the pool ab.
# Pinned tenants land on their warehouse only, pooled tenants' queries
# spread over both, a daemon that is down takes no new queries while its
# jobs answer 502, and a job stays on its warehouse whatever the routing
# says later (each daemon's log says where every statement ran).
#
# Ports: base+10 PostgreSQL B, base+11 spectra-dataapi B, base+12 a second
# server of the block's nginx whose route differs.
use FindBin ();
use lib "$FindBin::Bin/data/query/lib";
use Test::Nginx::Socket 'no_plan';
use SpectraLogArchive;
use IO::Socket::INET ();
use POSIX qw(WNOHANG);
use SpectraQuery qw(api_key key_file http_config http json poll run_id);

our (%K, $HttpConfig, $StateB, $Base);

$Base = $ENV{SPECTRA_PORT_BASE} // ($ENV{TEST_NGINX_SERVER_PORT} - 2);
$StateB = "$ENV{SPECTRA_STATE}/warehouse-b";

my $repo = $ENV{SPECTRA_REPO};
my $pg_port = $Base + 10;
my $dataapi_port = $Base + 11;

sub sh {
    my (@cmd) = @_;
    system(@cmd) == 0 or die "@cmd failed: $?\n";
}

# The second warehouse: its own cluster, the demo data, its own daemon
# with its own keys.
sub start_b {
    sh('bash', "$repo/scripts/pg.sh", 'start', "$StateB/pg", $pg_port);
    sh('bash', "$repo/scripts/pg.sh", 'demo', "$StateB/pg", $pg_port);
    sh('bash', "$repo/scripts/demo-credentials.sh", "$StateB/pg", $pg_port,
       "$StateB/dataapi");
    sh('bash', "$repo/scripts/dataapi.sh", 'start', $ENV{SPECTRA_BUILD},
       $StateB, $dataapi_port, $pg_port);
}

# Started again after a block stopped it: the same keys (the blocks'
# configurations name them), so not through dataapi.sh, which makes new
# ones.
sub restart_b {
    my $dir = "$StateB/dataapi";
    my $pid;

    return if -s "$dir/pid" && kill(0, `cat $dir/pid` + 0);

    $pid = fork // die "fork: $!";

    if ($pid == 0) {
        open STDIN, '<', '/dev/null';
        open STDOUT, '>>', "$dir/log";
        open STDERR, '>&', \*STDOUT;
        exec("$ENV{SPECTRA_BUILD}/spectra-dataapi",
             '--listen', "127.0.0.1:$dataapi_port",
             '--pg', "host=127.0.0.1 port=$pg_port user=spectra_dataapi "
                     . 'dbname=warehouse',
             '--database', 'warehouse', '--keys-file', "$dir/keys",
             '--export-dir', "$StateB/objects", '--pid-file', "$dir/pid",
             '--log-file', "$dir/log",
             '--pg-password-file', "$dir/pg-password",
             '--secrets-file', "$dir/secrets.json")
            or die "exec: $!";
    }

    open my $fh, '>', "$dir/launcher.pid" or die "launcher.pid: $!";
    print $fh "$pid\n";
    close $fh;

    poll(sub { IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                     PeerPort => $dataapi_port) }, 100, 0.1);
}

# Stopped as a crash would: a clean stop waits for the keepalive
# connections of the block's nginx, which stays up.
sub stop_b {
    for my $f ("$StateB/dataapi/launcher.pid", "$StateB/dataapi/pid") {
        next unless -s $f;
        open my $fh, '<', $f or next;
        my $pid = <$fh> + 0;
        close $fh;
        if ($pid > 0 && kill 'KILL', $pid) {
            poll(sub { !kill(0, $pid) || waitpid($pid, WNOHANG) == $pid },
                 100, 0.05);
        }
        unlink $f;
    }
}

# How many statements of db_user each daemon's log has (A, B).
sub ran {
    my ($db_user) = @_;
    my @n;

    for my $log ("$ENV{SPECTRA_DATAAPI_DIR}/log", "$StateB/dataapi/log") {
        open my $fh, '<', $log or die "$log: $!";
        push @n, scalar grep { /statement id=\S+ .*db_user=\Q$db_user\E /
                               && !/ status=(?:SUBMITTED|STARTED)/ } <$fh>;
        close $fh;
    }

    return @n;
}

# query(key, sql, [port, field => value ...]): POST /v1/queries
sub query {
    my ($key, $sql, $port, %body) = @_;
    local $ENV{TEST_NGINX_SERVER_PORT} = $port if defined $port;

    return http('POST', '/v1/queries', json()->encode({sql => $sql, %body}),
                'X-API-Key' => $key, 'Content-Type' => 'application/json');
}

stop_b();
start_b();

# where t/099 looks for the logs of the suites' own daemons
mkdir "/tmp/spectra-dataapi-test-$dataapi_port";
unlink "/tmp/spectra-dataapi-test-$dataapi_port/log";
symlink "$StateB/dataapi/log", "/tmp/spectra-dataapi-test-$dataapi_port/log";

add_cleanup_handler(sub {
    stop_b();
    system('bash', "$repo/scripts/pg.sh", 'stop', "$StateB/pg");
});

{
    my ($akid, $secret);

    open my $fh, '<', "$StateB/dataapi/keys" or die "keys: $!";
    ($akid, $secret) = split ' ', (grep { !/^#/ } <$fh>)[0];
    close $fh;

    $ENV{TEST_NGINX_DATAAPI_B_PORT} = $dataapi_port;
    $ENV{TEST_NGINX_DATAAPI_B_ACCESS_KEY} = $akid;
    $ENV{TEST_NGINX_DATAAPI_B_SECRET_KEY} = $secret;
    $ENV{TEST_NGINX_SECOND_PORT} = $Base + 12;
}

my @lines;

for my $t (qw(acme globex initech)) {
    my $line;
    ($K{$t}, $line) = api_key("w090$t", "tenant=$t permissions=query");
    push @lines, $line;
}

$ENV{TEST_NGINX_QT_KEYS} = key_file(@lines);
$ENV{TEST_NGINX_AUTH_KEYS} = "$FindBin::Bin/data/auth/keys";

# the suites' http{} (warehouse A as the location's own), and the two
# named warehouses: acme on A, globex on B, everyone else on the pool
$HttpConfig = http_config() . <<'_EOC_';

    upstream spectra_dataapi_b {
        server 127.0.0.1:$TEST_NGINX_DATAAPI_B_PORT;
        keepalive 8;
    }

    spectra_warehouse wh_a {
        dataapi_location /_spectra/dataapi;
        dataapi_host 127.0.0.1:$TEST_NGINX_DATAAPI_PORT;
        dataapi_url http://127.0.0.1:$TEST_NGINX_DATAAPI_PORT/;
        cluster_identifier spectra-a;
        database warehouse;
    }

    spectra_warehouse wh_b {
        dataapi_location /_spectra/dataapi_b;
        dataapi_host 127.0.0.1:$TEST_NGINX_DATAAPI_B_PORT;
        dataapi_url http://127.0.0.1:$TEST_NGINX_DATAAPI_B_PORT/;
        aws_access_key_id $TEST_NGINX_DATAAPI_B_ACCESS_KEY;
        aws_secret_access_key $TEST_NGINX_DATAAPI_B_SECRET_KEY;
        cluster_identifier spectra-b;
        database warehouse;
        max_fails 1;
        fail_timeout 60s;
    }

    spectra_warehouse_pool ab wh_a wh_b;

    map $spectra_tenant_id $warehouse_route {
        acme     wh_a;
        globex   wh_b;
        default  ab;
    }

    spectra_warehouse_route $warehouse_route;

    # the same API and job store, every job routed to wh_b
    server {
        listen 127.0.0.1:$TEST_NGINX_SECOND_PORT;

        location /v1/ {
            spectra_warehouse_route wh_b;
            spectra_api;
        }

        include $TEST_NGINX_REPO/t/data/query/internal.conf;
        include $TEST_NGINX_REPO/t/data/query/warehouses.conf;
    }
_EOC_

log_level('info');
repeat_each(1);
no_shuffle();

run_tests();

__DATA__

=== TEST 1: pinned tenants land on their warehouse only
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    location /echo/ {
        spectra_auth off;
        return 200 "$uri\n";
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
    include $TEST_NGINX_REPO/t/data/query/warehouses.conf;
--- init
main::restart_b();
my @acme = main::ran('tenant_acme');
my @globex = main::ran('tenant_globex');
my @st;
for (1 .. 3) {
    push @st, (main::query($main::K{acme}, 'select count(*) from sales'))[0];
    push @st, (main::query($main::K{globex}, 'select count(*) from sales'))[0];
}
my @acme2 = main::ran('tenant_acme');
my @globex2 = main::ran('tenant_globex');
$ENV{TEST_NGINX_RESULT} = join ',', "status=@st",
    'acme_a=' . ($acme2[0] - $acme[0]), 'acme_b=' . ($acme2[1] - $acme[1]),
    'globex_a=' . ($globex2[0] - $globex[0]),
    'globex_b=' . ($globex2[1] - $globex[1]);
$ENV{TEST_NGINX_RESULT} =~ s/ /_/g;
--- pipelined_requests eval
["GET /echo/\$TEST_NGINX_RESULT"]
--- response_body eval
["/echo/status=200_200_200_200_200_200,acme_a=3,acme_b=0,globex_a=0,globex_b=3\n"]
--- no_error_log
[error]



=== TEST 2: a pool spreads its tenants' queries over its warehouses
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    location /echo/ {
        spectra_auth off;
        return 200 "$uri\n";
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
    include $TEST_NGINX_REPO/t/data/query/warehouses.conf;
--- init
main::restart_b();
my @before = main::ran('tenant_initech');
my @st;
for (1 .. 6) {
    push @st, (main::query($main::K{initech}, 'select count(*) from sales'))[0];
}
my @after = main::ran('tenant_initech');
$ENV{TEST_NGINX_RESULT} = join ',', "status=@st",
    'a=' . ($after[0] - $before[0]), 'b=' . ($after[1] - $before[1]);
$ENV{TEST_NGINX_RESULT} =~ s/ /_/g;
--- pipelined_requests eval
["GET /echo/\$TEST_NGINX_RESULT"]
--- response_body eval
["/echo/status=200_200_200_200_200_200,a=3,b=3\n"]
--- no_error_log
[error]



=== TEST 3: with B down, new pooled queries go to A, and B's jobs answer 502
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    location /echo/ {
        spectra_auth off;
        return 200 "$uri\n";
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
    include $TEST_NGINX_REPO/t/data/query/warehouses.conf;
--- init
main::restart_b();
my (undef, undef, $job) = main::query($main::K{globex},
                                      'select count(*) from sales');
$ENV{TEST_NGINX_JOB} = $job->{job_id} // 'none';
main::stop_b();
# the job's results are B's: B's failure is seen, and B marked down
my ($first) = SpectraQuery::http('GET', "/v1/jobs/$ENV{TEST_NGINX_JOB}/results", undef,
                   'X-API-Key' => $main::K{globex});
my @before = main::ran('tenant_initech');
my @st;
for (1 .. 5) {
    push @st, (main::query($main::K{initech}, 'select count(*) from sales'))[0];
}
my @after = main::ran('tenant_initech');
open my $fh, '<', "$Test::Nginx::Util::ServRoot/logs/error.log" or die $!;
my $down = grep { /spectra: warehouse "wh_b" is down for 60000 ms: its data API answered 502/ } <$fh>;
close $fh;
$ENV{TEST_NGINX_RESULT} = join ',', "first=$first", "down_logged=$down",
    'status=' . join('_', @st), 'a=' . ($after[0] - $before[0]),
    'b=' . ($after[1] - $before[1]);
--- pipelined_requests eval
["GET /echo/\$TEST_NGINX_RESULT", "GET /v1/jobs/\$TEST_NGINX_JOB/results"]
--- more_headers eval
"X-API-Key: $::K{globex}"
--- error_code eval
[200, 502]
--- response_body_like eval
[qr{^/echo/first=502,down_logged=1,status=200_200_200_200_200,a=5,b=0\n\z},
 qr/^\{"error":\{"code":"UPSTREAM_ERROR","message":"the data API is unreachable or failed","request_id":"[0-9a-f]{32}"\}\}$/]
--- no_error_log
[alert]



=== TEST 4: a job stays on its warehouse whatever the routing says later
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
        add_header X-Warehouse $spectra_warehouse;
    }

    location /echo/ {
        spectra_auth off;
        return 200 "$uri\n";
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
    include $TEST_NGINX_REPO/t/data/query/warehouses.conf;
--- init
main::restart_b();
my @before = main::ran('tenant_acme');
# the second server routes acme to wh_b; this server routes acme to wh_a
my ($st, undef, $job) = main::query($main::K{acme},
                                    'select count(*) as n from sales',
                                    $ENV{TEST_NGINX_SECOND_PORT});
die "the second server answered $st\n" unless $st == 200;
my @after = main::ran('tenant_acme');
$ENV{TEST_NGINX_JOB} = $job->{job_id};
$ENV{TEST_NGINX_RESULT} = 'a=' . ($after[0] - $before[0])
    . ',b=' . ($after[1] - $before[1]);
--- pipelined_requests eval
["GET /echo/\$TEST_NGINX_RESULT", "GET /v1/jobs/\$TEST_NGINX_JOB/results",
 "GET /v1/jobs/\$TEST_NGINX_JOB"]
--- more_headers eval
"X-API-Key: $::K{acme}"
--- response_body_like eval
[qr{^/echo/a=0,b=1\n\z}, qr/^\{"job_id":"job_\w{26}","status":"COMPLETED","data":\[\{"n":\d+\}\]/,
 qr/^\{"job_id":"job_\w{26}","type":"query","status":"COMPLETED"/]
--- response_headers eval
["!X-Warehouse", "X-Warehouse: wh_b", "!X-Warehouse"]
--- no_error_log
[error]



=== TEST 5: a job whose warehouse left the configuration: a clear 502
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
    include $TEST_NGINX_REPO/t/data/query/warehouses.conf;
--- init
main::restart_b();
my ($st, undef, $job) = main::query($main::K{globex},
                                    'select count(*) as n from sales');
die "the query answered $st\n" unless $st == 200;
$ENV{TEST_NGINX_JOB} = $job->{job_id};
# as a store written by a configuration that had a warehouse wh_gone
main::sh('sqlite3', "$Test::Nginx::Util::ServRoot/logs/jobs.db",
         "UPDATE jobs SET warehouse = 'wh_gone' WHERE id = '$job->{job_id}'");
--- pipelined_requests eval
["GET /v1/jobs/\$TEST_NGINX_JOB/results"]
--- more_headers eval
"X-API-Key: $::K{globex}"
--- error_code eval
[502]
--- response_body_like eval
[qr/^\{"error":\{"code":"UPSTREAM_ERROR","message":"the job's warehouse \\"wh_gone\\" is not in the configuration","request_id":"[0-9a-f]{32}"\}\}$/]
--- error_log eval
qr/spectra: job job_\w{26} ran on warehouse "wh_gone", which is not in the configuration/



=== TEST 6: a route that names no warehouse fails nginx -t
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_warehouse_route wh_nowhere;
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
    include $TEST_NGINX_REPO/t/data/query/warehouses.conf;
--- request
GET /v1/health
--- must_die
--- error_log
spectra_warehouse_route "wh_nowhere" names no spectra_warehouse and no spectra_warehouse_pool



=== TEST 7: a warehouse at its cap of running statements answers 429, until one ends
--- http_config eval
(my $c = $::HttpConfig)
    =~ s/(cluster_identifier spectra-a;)/$1\n        max_running 1;/;
$c
--- config
    location /v1/ {
        spectra_api;
    }

    location /echo/ {
        spectra_auth off;
        return 200 "$uri\n";
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
    include $TEST_NGINX_REPO/t/data/query/warehouses.conf;
--- init
main::restart_b();
SpectraQuery::gate_close();
my ($held, undef, $job) = main::query($main::K{acme},
                                      'select count(*) from spectra_gate',
                                      undef, wait_timeout_seconds => 0);
my ($full, $text) = main::query($main::K{acme}, 'select 1');
my ($other) = main::query($main::K{globex}, 'select 1');
SpectraQuery::gate_open();
SpectraQuery::poll(sub {
    SpectraQuery::job_status($main::K{acme}, $job->{job_id}) eq 'COMPLETED'
}, 200, 0.05);
my ($again) = main::query($main::K{acme}, 'select 1');
my ($code) = $text =~ /"code":"(\w+)"/;
$ENV{TEST_NGINX_RESULT} = "held=$held,full=$full,code=$code,other=$other,"
    . "again=$again";
--- pipelined_requests eval
["GET /echo/\$TEST_NGINX_RESULT"]
--- response_body eval
["/echo/held=202,full=429,code=RATE_LIMITED,other=200,again=200\n"]
--- error_log
spectra: every warehouse of "wh_a" runs its cap of statements
--- no_error_log
[alert]



=== TEST 8: a pool named as a warehouse fails nginx -t
--- http_config eval
(my $c = $::HttpConfig)
    =~ s/spectra_warehouse_pool ab wh_a wh_b;/spectra_warehouse_pool wh_a wh_b;/;
$c
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
    include $TEST_NGINX_REPO/t/data/query/warehouses.conf;
--- request
GET /v1/health
--- must_die
--- error_log
duplicate warehouse or pool "wh_a"



=== TEST 9: a warehouse name outside [A-Za-z0-9_-] fails nginx -t
--- http_config eval
(my $c = $::HttpConfig) =~ s/spectra_warehouse wh_b \{/spectra_warehouse wh.b {/;
$c
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
    include $TEST_NGINX_REPO/t/data/query/warehouses.conf;
--- request
GET /v1/health
--- must_die
--- error_log
invalid warehouse name "wh.b": 1 to 64 of [A-Za-z0-9_-]



=== TEST 10: so does such a pool name
--- http_config eval
(my $c = $::HttpConfig)
    =~ s/spectra_warehouse_pool ab wh_a wh_b;/spectra_warehouse_pool a\/b wh_a wh_b;/;
$c
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
    include $TEST_NGINX_REPO/t/data/query/warehouses.conf;
--- request
GET /v1/health
--- must_die
--- error_log
invalid pool name "a/b": 1 to 64 of [A-Za-z0-9_-]
