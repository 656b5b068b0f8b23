# Jobs outlive nginx: a real nginx (daemonized, master and worker) is
# stopped and started again on the same job store.  A finished job and its
# results are still there after the restart; a job that was running when
# nginx stopped (its statement waits at the gate, inside PostgreSQL) is
# still RUNNING, the new nginx's supervisor follows it, and once the gate
# opens it completes with its rows.  Not a Test::Nginx suite: those start
# a fresh servroot, and so a fresh job store, for every block.
use strict;
use warnings;

use FindBin ();
use lib "$FindBin::Bin/data/query/lib";
use File::Temp qw(tempdir);
use Test::More;
use Time::HiRes qw(sleep);

use SpectraQuery qw(api_key key_file http json poll gate_close gate_open
                    gate_waiters);

for my $v (qw(TEST_NGINX_LOAD_MODULES TEST_NGINX_DATAAPI_PORT
              TEST_NGINX_DATAAPI_ACCESS_KEY TEST_NGINX_DATAAPI_SECRET_KEY
              TEST_NGINX_DATAAPI_REGION SPECTRA_PORT_BASE)) {
    die "$v is not set: run the suites with make test\n"
        unless defined $ENV{$v};
}

my ($module) = split ' ', $ENV{TEST_NGINX_LOAD_MODULES};
my $port = $ENV{SPECTRA_PORT_BASE} + 42;
my $dir = tempdir('spectra-durable-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $nginx = $ENV{TEST_NGINX_BINARY} || '/usr/sbin/nginx';
my @nginx = ($nginx, '-p', "$dir/", '-e', "$dir/logs/error.log",
             '-c', 'conf/nginx.conf');

my ($key, $line) = api_key('d066acme', 'tenant=acme permissions=query');

mkdir "$dir/$_" for qw(conf logs tmp);
chmod 0755, $dir;

my $keys = key_file($line);
my $user = $> == 0 ? 'user root;' : '';

open my $fh, '>', "$dir/conf/nginx.conf" or die "nginx.conf: $!";
print $fh <<"_EOC_";
load_module $module;
$user
worker_processes 1;
error_log $dir/logs/error.log info;
pid $dir/logs/nginx.pid;
events { worker_connections 64; }
http {
    access_log off;
    client_body_temp_path $dir/tmp;
    proxy_temp_path $dir/tmp;
    fastcgi_temp_path $dir/tmp;
    uwsgi_temp_path $dir/tmp;
    scgi_temp_path $dir/tmp;

    upstream spectra_dataapi {
        server 127.0.0.1:$ENV{TEST_NGINX_DATAAPI_PORT};
        keepalive 8;
    }

    # the store both nginx lives share
    spectra_jobs_db $dir/jobs.db;
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
        listen 127.0.0.1:$port;

        location /v1/ {
            spectra_api;
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


sub master {
    open my $pf, '<', "$dir/logs/nginx.pid" or return;
    my $pid = <$pf>;
    chomp $pid;
    return $pid;
}

sub start {
    system(@nginx) == 0 or BAIL_OUT('nginx did not start');
    poll(sub { my ($s) = api('GET', '/v1/health'); $s == 200 }, 100, 0.05);
}

sub stop {
    my $pid = master() or return;

    kill 'QUIT', $pid;
    poll(sub { !kill 0, $pid }, 200, 0.05);
}

# whatever happens, the nginx started here is stopped and the gate opened
END {
    stop();
    gate_open();
}

# one request to this nginx (SpectraQuery::http talks to the block's port)
sub api {
    my ($method, $uri, $body) = @_;
    local $ENV{TEST_NGINX_SERVER_PORT} = $port;
    return http($method, $uri, $body, 'X-API-Key' => $key,
                'Content-Type' => 'application/json');
}

sub job {
    my ($id) = @_;
    my ($status, $text, $data) = api('GET', "/v1/jobs/$id");
    is($status, 200, "GET /v1/jobs/$id") or diag($text);
    return $data // {};
}


start();

# a finished job, and one whose statement waits at the gate
my ($s, $text, $done) = api('POST', '/v1/queries',
                            '{"sql": "select count(*) from sales"}');
is($s, 200, 'a query that finishes') or diag($text);

gate_close();
my ($s2, $text2, $running) = api('POST', '/v1/queries',
    '{"sql": "select count(*) + 7 as n from spectra_gate",'
    . ' "wait_timeout_seconds": 0}');
is($s2, 202, 'a query that waits at the gate') or diag($text2);
poll(sub { grep { $_ eq 'tenant_acme' } @{ gate_waiters() } }, 200, 0.05);

# The WAL goes back into the database file while nginx runs, in a thread
# (ngx_http_spectra_checkpoint.c): SQLite's own checkpoint would wait for
# 1,000 pages of WAL, far more than these two jobs.  A copy of the file
# alone, without its -wal, holds the finished job within a few seconds.
sub in_file_alone {
    my ($id) = @_;
    system('cp', "$dir/jobs.db", "$dir/alone.db") == 0 or return;
    unlink "$dir/alone.db-wal", "$dir/alone.db-shm";
    my $n = qx{sqlite3 -readonly "$dir/alone.db" "select count(*) from jobs where id = '$id'" 2>&1};
    chomp $n;
    return $n eq '1';
}
ok(eval { poll(sub { in_file_alone($done->{job_id}) }, 100, 0.1) },
   'the finished job reaches the database file while nginx runs');

my $master = master();
stop();
ok(!kill(0, $master), 'nginx stopped');
is_deeply(gate_waiters(), ['tenant_acme'],
          'the statement runs on inside PostgreSQL without nginx');

start();
isnt(master(), $master, 'a new nginx');

my $j = job($done->{job_id});
is($j->{status}, 'COMPLETED', 'the finished job is still COMPLETED');
is($j->{row_count}, 1, 'with its row count');

my ($s3, $text3) = api('GET', "/v1/jobs/$done->{job_id}/results");
is($s3, 200, 'its results are still there');
like($text3, qr/"data":\[\{"count":600000\}\]/, 'and hold acme\'s count');

$j = job($running->{job_id});
is($j->{status}, 'RUNNING', 'the job that was running is still RUNNING');

gate_open();

# the new nginx's supervisor finds the statement finished
my $after = poll(sub { my (undef, undef, $x)
                           = api('GET', "/v1/jobs/$running->{job_id}");
                       $x && $x->{status} ne 'RUNNING' ? $x : undef },
                 200, 0.05);
is($after->{status}, 'COMPLETED', 'and completes after the restart');

my ($s4, $text4) = api('GET', "/v1/jobs/$running->{job_id}/results");
is($s4, 200, 'its results come from the new nginx');
like($text4, qr/"data":\[\{"n":7\}\]/, 'with its row');

open my $log, '<', "$dir/logs/error.log" or die "error.log: $!";
my @bad = grep { /\[(?:alert|crit|emerg|error)\]/ } <$log>;
close $log;
is_deeply(\@bad, [], 'no error in nginx\'s log');

done_testing();
