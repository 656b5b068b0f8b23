# Faults, with a real nginx (master and two workers, daemonized), its own
# spectra-dataapi and the suites' PostgreSQL:
# - spectra-dataapi killed (SIGKILL) while a sync query runs: the client
#   gets the documented JSON 502, the job does not stay RUNNING: once a
#   new daemon (which never knew the statement) answers, the supervisor
#   fails it with a clear error;
# - the statement's PostgreSQL backend terminated mid-query and mid-
#   export: the job FAILS with the warehouse's error, the next query runs;
#   the same with PostgreSQL itself restarted;
# - the job store's file system full: a JSON error, the
#   workers keep serving what needs no write, and all is well again once
#   the disk is back; no job record is left wrong;
# - nginx -s reload while queries wait in the warehouse: the old worker
#   finishes its sync query, the jobs complete, none is lost;
# and through all of it no worker exits on a signal.
# Not a Test::Nginx suite: one nginx lives through every step.
# Ports: base+36 spectra-dataapi, base+37 nginx.
use strict;
use warnings;

use FindBin ();
use lib "$FindBin::Bin/data/query/lib", "$FindBin::Bin/data/dataapi";
use File::Temp qw(tempdir);
use POSIX ();
use Test::More;
use Time::HiRes qw(sleep);

use DataAPI qw(start_daemon stop_daemon);
use SpectraQuery qw(api_key key_file http json poll psql gate_close
                    gate_open gate_waiters);

for my $v (qw(TEST_NGINX_LOAD_MODULES TEST_NGINX_PG_PORT SPECTRA_PORT_BASE
              TEST_NGINX_OBJECTS_DIR)) {
    die "$v is not set: run the suites with make test\n"
        unless defined $ENV{$v};
}

plan skip_all => 'needs root (mounts a small tmpfs for the job store)'
    if $> != 0;

my ($module) = split ' ', $ENV{TEST_NGINX_LOAD_MODULES};
my $dport = $ENV{SPECTRA_PORT_BASE} + 36;
my $port = $ENV{SPECTRA_PORT_BASE} + 37;
my $dir = tempdir('spectra-faults-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $store = "$dir/store";
my $nginx = $ENV{TEST_NGINX_BINARY} || '/usr/sbin/nginx';
my @nginx = ($nginx, '-p', "$dir/", '-e', "$dir/logs/error.log",
             '-c', 'conf/nginx.conf');

my ($key, $line) = api_key('f074acme', 'tenant=acme permissions=query,bulk');

mkdir "$dir/$_" for qw(conf logs tmp store);
chmod 0755, $dir;

# the job store on a file system of its own, small enough to fill
system('mount', '-t', 'tmpfs', '-o', 'size=8m,mode=0755', 'tmpfs', $store)
    == 0 or BAIL_OUT('cannot mount a tmpfs');

my $d = start_daemon($dport, '--export-dir', $ENV{TEST_NGINX_OBJECTS_DIR});

my $keys = key_file($line);

sub conf {
    open my $fh, '>', "$dir/conf/nginx.conf" or die "nginx.conf: $!";
    print $fh <<"_EOC_";
load_module $module;
user root;
worker_processes 2;
worker_shutdown_timeout 60s;
error_log $dir/logs/error.log info;
pid $dir/logs/nginx.pid;
events { worker_connections 128; }
http {
    access_log off;
    client_body_temp_path $dir/tmp;
    proxy_temp_path $dir/tmp;
    fastcgi_temp_path $dir/tmp;
    uwsgi_temp_path $dir/tmp;
    scgi_temp_path $dir/tmp;

    upstream spectra_dataapi {
        server 127.0.0.1:$dport;
        keepalive 8;
    }

    upstream spectra_objects {
        server 127.0.0.1:$port;
    }

    map \$host \$spectra_test_objects {
        default $ENV{TEST_NGINX_OBJECTS_DIR};
    }

    spectra_jobs_db $store/jobs.db;
    spectra_dataapi_url http://127.0.0.1:$dport/;

    spectra_auth api_key;
    spectra_api_keys $keys;
    spectra_dataapi_host 127.0.0.1:$dport;
    spectra_aws_region $d->{region};
    spectra_aws_access_key_id $d->{akid};
    spectra_aws_secret_access_key $d->{secret};
    spectra_cluster_identifier spectra-local;
    spectra_database warehouse;

    spectra_export_bucket spectra-exports;
    spectra_export_prefix exports;
    spectra_s3_endpoint http://127.0.0.1:$port;
    spectra_s3_path_style on;

    error_page 400 404 405 408 413 414 415 429 494 500 502 503 504
               /_spectra/error;

    server {
        listen 127.0.0.1:$port;

        location /v1/ {
            spectra_api;
        }

        include $ENV{SPECTRA_REPO}/t/data/bulk/objects.conf;
        include $ENV{SPECTRA_REPO}/t/data/query/internal.conf;
    }
}
_EOC_
    close $fh;
}

sub master {
    open my $pf, '<', "$dir/logs/nginx.pid" or return;
    my $pid = <$pf>;
    chomp $pid;
    return $pid;
}

sub api {
    my ($method, $uri, $body) = @_;
    local $ENV{TEST_NGINX_SERVER_PORT} = $port;
    return http($method, $uri, $body, 'X-API-Key' => $key,
                'Content-Type' => 'application/json');
}

sub stop {
    my $pid = master() or return;

    kill 'QUIT', $pid;
    poll(sub { !kill 0, $pid }, 400, 0.05);
}

END {
    gate_open();
    stop();
    stop_daemon($d) if $d;
    system('umount', '-l', $store) if -d $store;
}

sub error_lines {
    open my $log, '<', "$dir/logs/error.log" or return ();
    return <$log>;
}

# the job as GET /v1/jobs/{id} shows it, once its status is not RUNNING
# or PENDING
sub ended {
    my ($id) = @_;
    return poll(sub {
        my ($s, undef, $j) = api('GET', "/v1/jobs/$id");
        $s == 200 && $j->{status} !~ /^(?:PENDING|RUNNING)$/ ? $j : undef
    }, 600, 0.1);
}

# a backend of the tenant waiting at the gate
sub gate_backend {
    return poll(sub {
        psql("select pid from pg_stat_activity where usename = 'tenant_acme'"
             . " and query like '%spectra_gate%' and wait_event_type ="
             . " 'Lock' limit 1")
    }, 200, 0.05);
}

conf();
system(@nginx) == 0 or BAIL_OUT('nginx did not start');
poll(sub { my ($s) = api('GET', '/v1/health'); $s == 200 }, 100, 0.05);

my ($s, $t, $j) = api('POST', '/v1/queries', '{"sql": "select 1 as one"}');
is($s, 200, 'a query runs') or diag($t);


# 1. spectra-dataapi killed during a sync query

gate_close();

my $pid = fork // die "fork: $!";
if ($pid == 0) {
    my ($st, $tx) = api('POST', '/v1/queries',
        '{"sql": "select count(*) as n from spectra_gate",'
        . ' "wait_timeout_seconds": 20, "idempotency_key": "f074-killed"}');
    open my $fh, '>', "$dir/killed.answer" or POSIX::_exit(1);
    print $fh "$st $tx";
    close $fh;
    POSIX::_exit(0);
}

poll(sub { grep { $_ eq 'tenant_acme' } @{ gate_waiters() } }, 200, 0.05);
kill 'KILL', $d->{pid};
waitpid $d->{pid}, 0;
$d->{stopped} = 1;
waitpid $pid, 0;

my $answer = do { local (@ARGV, $/) = "$dir/killed.answer"; <> };
like($answer, qr/^502 \{"error":\{"code":"UPSTREAM_ERROR"/,
     'the client in the sync query gets a JSON 502 UPSTREAM_ERROR');
gate_open();

# the same request again: the same job, whatever became of it
my ($ks, $kt, $kj) = api('POST', '/v1/queries',
    '{"sql": "select count(*) as n from spectra_gate",'
    . ' "wait_timeout_seconds": 20, "idempotency_key": "f074-killed"}');
my $killed = $kj->{job_id};
ok($killed, 'the idempotency key finds the job of the killed call')
    or BAIL_OUT("$ks $kt");

# a new daemon that never knew the statement
$d = start_daemon($dport, '--export-dir', $ENV{TEST_NGINX_OBJECTS_DIR});
my $kend = ended($killed);
is($kend->{status}, 'FAILED', 'the job fails once the Data API answers');
like($kend->{error}{message} // '', qr/\S/, 'with a message')
    or diag(json()->encode($kend));

($s, $t) = api('POST', '/v1/queries', '{"sql": "select 2 as two"}');
is($s, 200, 'the next query runs on the new daemon') or diag($t);


# 2. the statement's backend terminated, during a query and an export

for my $case (['query', '/v1/queries',
               '{"sql": "select count(*) as n from spectra_gate",'
               . ' "wait_timeout_seconds": 0}'],
              ['export', '/v1/bulk',
               '{"sql": "select * from spectra_gate", "format": "csv"}'])
{
    my ($what, $uri, $body) = @$case;

    gate_close();
    my ($bs, $bt, $bj) = api('POST', $uri, $body);
    ok($bs == 202 && $bj->{job_id}, "the $what is accepted") or diag($bt);

    my $backend = gate_backend();
    is(psql("select pg_terminate_backend($backend)"), 't',
       "its backend is terminated");
    gate_open();

    my $e = ended($bj->{job_id});
    is($e->{status}, 'FAILED', "the $what FAILS");
    like($e->{error}{message} // '', qr/terminat|connection/i,
         'with the warehouse\'s reason') or diag(json()->encode($e));

    ($s, $t) = api('POST', '/v1/queries', '{"sql": "select 3 as three"}');
    is($s, 200, "the next query runs after the $what") or diag($t);
}


# 2b. PostgreSQL itself restarted (pg_ctl restart -m fast), during a query
# and an export: the job FAILS with the warehouse's reason, and once it is
# back the next query runs (spectra-dataapi's pooled connections, this
# suite's and the shared one's, died with it). Not at the gate: a fast
# shutdown may end the gate's session first, and a statement the lock then
# lets through can finish before its own backend is told to stop (a COMPLETED
# job, rightly). A count over ten billion rows of a join (CPU, no disk)
# cannot finish first.

my ($pg_ctl) = sort { $b cmp $a } glob '/usr/lib/postgresql/*/bin/pg_ctl';
my $busy = 'select count(*) as f074_busy'
           . ' from generate_series(1, 100000) a, generate_series(1, 100000) b';
for my $case (['query', '/v1/queries',
               qq({"sql": "$busy", "wait_timeout_seconds": 0})],
              ['export', '/v1/bulk',
               qq({"sql": "$busy", "format": "csv"})])
{
    my ($what, $uri, $body) = @$case;

    my ($bs, $bt, $bj) = api('POST', $uri, $body);
    ok($bs == 202 && $bj->{job_id}, "the $what is accepted") or diag($bt);
    ok(poll(sub {
           psql("select pid from pg_stat_activity where usename ="
                . " 'tenant_acme' and state = 'active' and query like"
                . " '%f074_busy%' limit 1")
       }, 200, 0.05), "the $what runs in PostgreSQL");

    is(system("runuser -u postgres -- $pg_ctl -D $ENV{SPECTRA_PG_DIR}"
              . " -l $ENV{SPECTRA_PG_DIR}/server.log -m fast -w restart"
              . ' > /dev/null'), 0, "PostgreSQL restarts under the $what");

    my $e = ended($bj->{job_id});
    is($e->{status}, 'FAILED', "the $what FAILS");
    like($e->{error}{message} // '', qr/terminat|connection|shut/i,
         'with the warehouse\'s reason') or diag(json()->encode($e));

    ($s, $t) = api('POST', '/v1/queries', '{"sql": "select 3 as three"}');
    is($s, 200, "the next query runs after the restart under the $what")
        or diag($t);
}

# 3. the job store's disk full (a read-only remount is refused while
# nginx holds the file open, so a full disk is the write failure here)

system('dd', 'if=/dev/zero', "of=$store/filler", 'bs=64k', 'status=none')
    ;   # runs until the file system is full
# The WAL is checkpointed every second (ngx_http_spectra_checkpoint.c) and
# then written again from its start: a job write fails only once the WAL
# must grow, so the first queries on a full disk may still be recorded;
# every one before the refusal is answered in full.
my ($fs, $ft, $n, @early) = (0, '', 0);
while ($n++ < 2000) {
    ($fs, $ft) = api('POST', '/v1/queries', '{"sql": "select 4 as four"}');
    last if $fs != 200;
    push @early, $ft unless $ft =~ /"status":"COMPLETED","data":\[\{"four":4\}\]/;
}
ok($fs >= 500 && $fs <= 503,
   "with the store's disk full a query is refused ($fs, query $n)");
is_deeply(\@early, [], 'the queries before it are answered in full');
like($ft, qr/^\{"error":\{"code":"[A-Z_]+","message":"[^"]+"/,
     'with a JSON error') or diag($ft);
my ($hs) = api('GET', '/v1/health');
is($hs, 200, 'the worker goes on serving what needs no write');
my ($ls, $lt) = api('GET', '/v1/jobs?limit=5');
is($ls, 200, 'reading the jobs works') or diag($lt);
unlink "$store/filler";

($s, $t, $j) = api('POST', '/v1/queries', '{"sql": "select 5 as five"}');
is($s, 200, 'with room again, queries run') or diag($t);
is(api('GET', "/v1/jobs/$j->{job_id}") && ended($j->{job_id})->{status},
   'COMPLETED', 'and are recorded');

# 4. nginx -s reload while queries wait in the warehouse

gate_close();
my @async;
for my $n (1 .. 3) {
    my ($as, $at, $aj) = api('POST', '/v1/queries',
        '{"sql": "select count(*) + ' . $n . ' as n from spectra_gate",'
        . ' "wait_timeout_seconds": 0}');
    is($as, 202, "async query $n waits") or diag($at);
    push @async, $aj->{job_id};
}

$pid = fork // die "fork: $!";
if ($pid == 0) {
    my ($st, $tx) = api('POST', '/v1/queries',
        '{"sql": "select count(*) + 10 as n from spectra_gate",'
        . ' "wait_timeout_seconds": 30}');
    open my $fh, '>', "$dir/reload.answer" or POSIX::_exit(1);
    print $fh "$st $tx";
    close $fh;
    POSIX::_exit(0);
}

# (how many of the four reach PostgreSQL before the reload does not
# matter: the tenant's cap may queue some in nginx; every one must end)
poll(sub { @{ gate_waiters() } >= 1 }, 200, 0.05);
kill 'HUP', master();
# the new workers answer while the old one still holds the sync query
poll(sub { grep { /gracefully shutting down/ } error_lines() }, 200, 0.05);
($s, $t) = api('GET', '/v1/health');
is($s, 200, 'the reloaded nginx answers');
gate_open();
waitpid $pid, 0;

$answer = do { local (@ARGV, $/) = "$dir/reload.answer"; <> };
like($answer, qr/^200 .*"data":\[\{"n":10\}\]/,
     'the sync query in flight during the reload gets its rows');
my @aborted = grep { /\[alert\].*(?:open socket|aborting)/ } error_lines();
is_deeply(\@aborted, [], 'no worker aborts with a request open');

for my $n (1 .. 3) {
    my $e = ended($async[$n - 1]);
    is($e->{status}, 'COMPLETED', "async query $n completes after the reload");
    my ($rs2, $rt2) = api('GET', "/v1/jobs/$async[$n - 1]/results");
    like($rt2, qr/"data":\[\{"n":$n\}\]/, 'with its row');
}

my @signal = grep { /exited on signal|exited with (?:fatal )?code [1-9]/ }
             error_lines();
is_deeply(\@signal, [], 'no worker exited on a signal');

done_testing();
