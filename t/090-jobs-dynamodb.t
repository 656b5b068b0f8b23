# The DynamoDB job store: two nginx nodes (each its own master and
# worker, on its own port) share one table of a real DynamoDB-compatible
# server, dynalite from npm, started here on a loopback port and given
# the table by scripts/jobs-dynamodb-table.sh (the AWS CLI).  Queries run
# end to end through spectra-dataapi.  A job created on node A is read,
# listed, paged and cancelled on node B, and the cancel wins over A's
# statement finishing later (finished is final); one idempotency key
# sent to both nodes at once makes one job; another tenant's job is 404
# on either node; with dynalite stopped every store call answers a JSON
# 503 at once while the same worker still answers its other locations.
# Not a Test::Nginx suite (as t/066): its nodes live across the checks.
use strict;
use warnings;

use FindBin ();
use lib "$FindBin::Bin/data/query/lib";
use File::Temp qw(tempdir);
use IO::Socket::INET;
use POSIX ();
use Test::More;
use Time::HiRes qw(sleep time);

use SpectraQuery qw(api_key key_file http json poll run_id gate_close
                    gate_open gate_waiters);

for my $v (qw(TEST_NGINX_LOAD_MODULES TEST_NGINX_DATAAPI_PORT
              TEST_NGINX_DATAAPI_ACCESS_KEY TEST_NGINX_DATAAPI_SECRET_KEY
              TEST_NGINX_DATAAPI_REGION SPECTRA_PORT_BASE SPECTRA_REPO)) {
    die "$v is not set: run the suites with make test\n"
        unless defined $ENV{$v};
}

my ($module) = split ' ', $ENV{TEST_NGINX_LOAD_MODULES};
my $base = $ENV{SPECTRA_PORT_BASE};
my $ddb_port = $base + 30;
my %port = (A => $base + 31, B => $base + 32);
my $dir = tempdir('spectra-ddb-XXXXXX', TMPDIR => 1,
                   CLEANUP => !$ENV{SPECTRA_KEEP_TMP});
my $nginx = $ENV{TEST_NGINX_BINARY} || '/usr/sbin/nginx';
my $dynalite = "$ENV{SPECTRA_REPO}/node_modules/dynalite/cli.js";
my $table = 'spectra-jobs-' . run_id();
my $endpoint = "http://127.0.0.1:$ddb_port";
my $ddb_pid;

die "$dynalite is missing: npm ci\n" unless -f $dynalite;

my ($acme, $l1) = api_key('d090acme', 'tenant=acme permissions=query');
my ($globex, $l2) = api_key('d090globex', 'tenant=globex permissions=query');
my $keys = key_file($l1, $l2);
my $user = $> == 0 ? 'user root;' : '';

# the fixture's key: dynalite checks that requests are signed, not by whom
local $ENV{AWS_ACCESS_KEY_ID} = $ENV{TEST_NGINX_DATAAPI_ACCESS_KEY};
local $ENV{AWS_SECRET_ACCESS_KEY} = $ENV{TEST_NGINX_DATAAPI_SECRET_KEY};
local $ENV{AWS_DEFAULT_REGION} = $ENV{TEST_NGINX_DATAAPI_REGION};


sub dynalite_start {
    $ddb_pid = fork // die "fork: $!";

    if ($ddb_pid == 0) {
        open STDOUT, '>', "$dir/dynalite.log";
        open STDERR, '>&', \*STDOUT;
        exec('node', $dynalite, '--host', '127.0.0.1', '--port', $ddb_port)
            or POSIX::_exit(127);
    }

    poll(sub { IO::Socket::INET->new(PeerAddr => "127.0.0.1:$ddb_port") },
         200, 0.05);
}

sub dynalite_stop {
    return unless $ddb_pid;
    kill 'TERM', $ddb_pid;
    waitpid $ddb_pid, 0;
    $ddb_pid = undef;
}


sub node_conf {
    my ($n) = @_;
    my $d = "$dir/$n";

    mkdir "$d";
    mkdir "$d/$_" for qw(conf logs tmp);

    open my $fh, '>', "$d/conf/nginx.conf" or die "nginx.conf: $!";
    print $fh <<"_EOC_";
load_module $module;
$user
worker_processes 1;
error_log $d/logs/error.log info;
pid $d/logs/nginx.pid;
events { worker_connections 256; }
http {
    access_log off;
    client_body_temp_path $d/tmp;
    proxy_temp_path $d/tmp;
    fastcgi_temp_path $d/tmp;
    uwsgi_temp_path $d/tmp;
    scgi_temp_path $d/tmp;

    upstream spectra_dataapi {
        server 127.0.0.1:$ENV{TEST_NGINX_DATAAPI_PORT};
        keepalive 8;
    }

    # the store both nodes share
    spectra_jobs_store dynamodb;
    spectra_jobs_dynamodb_table $table;
    spectra_jobs_dynamodb_endpoint $endpoint;
    spectra_jobs_dynamodb_timeout 2s;
    spectra_dataapi_url http://127.0.0.1:$ENV{TEST_NGINX_DATAAPI_PORT}/;

    spectra_auth api_key;
    spectra_api_keys $keys;
    spectra_dataapi_host 127.0.0.1:$ENV{TEST_NGINX_DATAAPI_PORT};
    spectra_aws_region $ENV{TEST_NGINX_DATAAPI_REGION};
    spectra_aws_access_key_id $ENV{TEST_NGINX_DATAAPI_ACCESS_KEY};
    spectra_aws_secret_access_key $ENV{TEST_NGINX_DATAAPI_SECRET_KEY};
    spectra_cluster_identifier spectra-local;
    spectra_database warehouse;

    server {
        listen 127.0.0.1:$port{$n};

        location /v1/ {
            spectra_api;
        }

        location = /static {
            return 200 "static\\n";
        }

        location /_spectra/dataapi {
            internal;
            proxy_pass http://spectra_dataapi/;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host \$spectra_host;
            proxy_read_timeout 30s;
            subrequest_output_buffer_size 16m;
        }
    }
}
_EOC_
    close $fh;
}

sub master {
    my ($n) = @_;
    open my $pf, '<', "$dir/$n/logs/nginx.pid" or return;
    my $pid = <$pf>;
    chomp $pid;
    return $pid;
}

sub node_start {
    my ($n) = @_;
    system($nginx, '-p', "$dir/$n/", '-e', "$dir/$n/logs/error.log",
           '-c', 'conf/nginx.conf') == 0
        or BAIL_OUT("nginx $n did not start");
    poll(sub { my ($s) = api($n, $acme, 'GET', '/v1/health'); $s == 200 },
         100, 0.05);
}

sub node_stop {
    my ($n) = @_;
    my $pid = master($n) or return;
    kill 'QUIT', $pid;
    poll(sub { !kill 0, $pid }, 200, 0.05);
}

END {
    gate_open();
    node_stop($_) for qw(A B);
    dynalite_stop();
}

# one request to node n as the key's tenant
sub api {
    my ($n, $key, $method, $uri, $body, @h) = @_;
    local $ENV{TEST_NGINX_SERVER_PORT} = $port{$n};
    return http($method, $uri, defined $body ? json->encode($body) : undef,
                'X-API-Key' => $key, 'Content-Type' => 'application/json',
                @h);
}

sub error_log {
    my ($n) = @_;
    open my $fh, '<', "$dir/$n/logs/error.log" or return '';
    local $/;
    return scalar <$fh>;
}


dynalite_start();

system('bash', "$ENV{SPECTRA_REPO}/scripts/jobs-dynamodb-table.sh", $table,
       '--endpoint-url', $endpoint) == 0
    or BAIL_OUT('the table was not created');

node_conf($_) for qw(A B);
node_start($_) for qw(A B);


# a query through spectra-dataapi on A, its job on B

my ($s, $t, $d) = api('A', $acme, 'POST', '/v1/queries',
                      {sql => 'select id from sales where id <= 3 '
                              . 'order by id'});
is($s, 200, 'A: POST /v1/queries') or diag($t);
is_deeply([map { $_->{id} } @{ $d->{data} // [] }], [1, 2, 3],
          'A: the rows, through spectra-dataapi');
my $q1 = $d->{job_id} // '';

like($q1, qr/^job_[0-9a-hjkmnp-tv-z]{26}$/, 'A: a job id');

($s, $t, $d) = api('B', $acme, 'GET', "/v1/jobs/$q1");
is($s, 200, 'B: GET /v1/jobs/{id} of A\'s job') or diag($t);
is($d->{status}, 'COMPLETED', 'B: COMPLETED');
is($d->{row_count}, 3, 'B: its row count');
ok($d->{started_at} && $d->{finished_at}, 'B: its times');

($s, $t, $d) = api('B', $acme, 'GET', "/v1/jobs/$q1/results");
is($s, 200, 'B: its results') or diag($t);
is_deeply([map { $_->{id} } @{ $d->{data} // [] }], [1, 2, 3],
          'B: the same rows');


# another tenant: 404 on both nodes, and not in its list

for my $n (qw(A B)) {
    ($s, $t, $d) = api($n, $globex, 'GET', "/v1/jobs/$q1");
    is($s, 404, "$n: globex cannot see acme's job");
    is($d->{error}{code}, 'NOT_FOUND', "$n: NOT_FOUND");
}

($s, $t, $d) = api('B', $globex, 'DELETE', "/v1/jobs/$q1");
is($s, 404, "B: globex cannot cancel acme's job");

($s, $t, $d) = api('B', $globex, 'GET', '/v1/jobs?limit=100');
is($s, 200, 'B: globex lists its jobs');
ok(!grep({ $_->{job_id} eq $q1 } @{ $d->{jobs} // [] }),
   'B: acme\'s job is not among them');


# pages: five more jobs on A, paged two by two on B, newest first

my @made = ($q1);

for my $i (1 .. 5) {
    ($s, $t, $d) = api('A', $acme, 'POST', '/v1/queries',
                       {sql => "select $i as i"});
    is($s, 200, "A: query $i") or diag($t);
    push @made, $d->{job_id};
}

my (@seen, $cursor, $pages);

do {
    my $uri = '/v1/jobs?limit=2' . (defined $cursor ? "&cursor=$cursor" : '');
    ($s, $t, $d) = api('B', $acme, 'GET', $uri);
    is($s, 200, "B: GET $uri") or diag($t);
    ok(@{ $d->{jobs} // [] } <= 2, 'B: at most 2 a page');
    push @seen, map { $_->{job_id} } @{ $d->{jobs} // [] };
    $cursor = $d->{next_cursor};
    $pages++;
} while (defined $cursor && $pages < 10);

is_deeply(\@seen, [reverse @made], 'B: every job once, newest first');
is($pages, 3, 'B: three pages');

($s, $t, $d) = api('B', $acme, 'GET', '/v1/jobs?limit=2&cursor=zz');
is($s, 400, 'B: a malformed cursor is 400');


# a running job of A (its statement waits at the gate, inside
# PostgreSQL), cancelled on B; A's statement ending later loses

gate_close();

($s, $t, $d) = api('A', $acme, 'POST', '/v1/queries',
                   {sql => 'select count(*) + 7 as n from spectra_gate',
                    wait_timeout_seconds => 0});
is($s, 202, 'A: a query that waits at the gate answers 202') or diag($t);
my $long = $d->{job_id} // 'none';

poll(sub { grep { $_ eq 'tenant_acme' } @{ gate_waiters() } }, 200, 0.05);
poll(sub {
    my (undef, undef, $j) = api('B', $acme, 'GET', "/v1/jobs/$long");
    ($j->{status} // '') eq 'RUNNING';
}, 200, 0.05);
pass('B: A\'s job is RUNNING');

($s, $t, $d) = api('B', $acme, 'DELETE', "/v1/jobs/$long");
is($s, 200, 'B: DELETE /v1/jobs/{id}') or diag($t);
is($d->{status}, 'CANCELLED', 'B: CANCELLED');

# the statement ends (cancelled, or it finishes as the gate opens): A's
# supervisor follows it and its update loses to the cancel
gate_open();
poll(sub { !grep { $_ eq 'tenant_acme' } @{ gate_waiters() } }, 200, 0.05);

for my $n (qw(A B)) {
    ($s, $t, $d) = api($n, $acme, 'GET', "/v1/jobs/$long");
    is($d->{status}, 'CANCELLED', "$n: the job stays CANCELLED");
    is($d->{error}{code}, 'CANCELLED', "$n: its error says so");
}

($s, $t, $d) = api('A', $acme, 'DELETE', "/v1/jobs/$long");
is($s, 409, 'A: cancelling it again is 409');
is($d->{error}{code}, 'CONFLICT', 'A: CONFLICT');


# one idempotency key on both nodes at once: one job

my $idem = 'k090-' . run_id();
my %pid;

for my $n (qw(A B)) {
    pipe my $r, my $w or die "pipe: $!";
    my $pid = fork // die "fork: $!";

    if ($pid == 0) {
        close $r;
        my ($cs, undef, $cd) = api($n, $acme, 'POST', '/v1/queries',
                                   {sql => 'select 42 as answer',
                                    idempotency_key => $idem});
        print $w "$cs " . ($cd->{job_id} // '-') . "\n";
        close $w;
        POSIX::_exit(0);
    }

    close $w;
    $pid{$n} = [$pid, $r];
}

my %got;

for my $n (qw(A B)) {
    my ($pid, $r) = @{ $pid{$n} };
    my $line = <$r>;
    waitpid $pid, 0;
    chomp $line;
    $got{$n} = [split ' ', $line];
}

# the first answers with the rows; the other as the first did, or with
# the job (202) while it still runs
for my $n (qw(A B)) {
    like($got{$n}[0], qr/^20[02]$/, "$n: the keyed query is answered")
        or diag("$n: @{ $got{$n} }");
}
is($got{A}[1], $got{B}[1], 'one job for the key on both nodes');

($s, $t, $d) = api('A', $acme, 'GET', '/v1/jobs?limit=100');
is(scalar(grep { ($_->{idempotency_key} // '') eq $idem }
           @{ $d->{jobs} // [] }), 1, 'exactly one job has the key');

($s, $t, $d) = api('B', $acme, 'POST', '/v1/queries',
                   {sql => 'select 43 as answer', idempotency_key => $idem});
is($s, 409, 'B: the key with another body is 409') or diag($t);


# dynalite stopped: JSON 503 at once; the worker goes on answering

dynalite_stop();

for my $n (qw(A B)) {
    my $start = time;
    ($s, $t, $d) = api($n, $acme, 'GET', "/v1/jobs/$q1");
    is($s, 503, "$n: GET /v1/jobs/{id} without the store is 503")
        or diag($t);
    is($d->{error}{code}, 'UNAVAILABLE', "$n: a JSON error");
    like($d->{error}{message}, qr/job store is unavailable/,
         "$n: it says so");
    ok(time - $start < 2.5, "$n: within the store's timeout");

    ($s, $t, $d) = api($n, $acme, 'POST', '/v1/queries',
                       {sql => 'select 1'});
    is($s, 503, "$n: POST /v1/queries without the store is 503")
        or diag($t);

    ($s, $t) = api($n, $acme, 'GET', '/v1/jobs');
    is($s, 503, "$n: GET /v1/jobs without the store is 503");

    ($s, $t) = api($n, $acme, 'GET', '/static');
    is($s, 200, "$n: the worker answers another location");
    ($s, $t) = api($n, $acme, 'GET', '/v1/health');
    is($s, 200, "$n: and /v1/health");
}

like(error_log('A'), qr/job store: DynamoDB is unreachable/,
     'A: the failure is logged');
unlike(error_log('A') . error_log('B'),
       qr/\Q$ENV{TEST_NGINX_DATAAPI_SECRET_KEY}\E/,
       'no secret in the logs');
unlike(error_log('A') . error_log('B'), qr/Signature=/,
       'no signature in the logs');

done_testing();
