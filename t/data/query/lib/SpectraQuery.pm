package SpectraQuery;

# Shared pieces of the query and jobs suites (t/050-*.t .. t/070-*.t):
# API keys for the demo tenants, the http{} configuration that runs
# queries through spectra-dataapi, a small HTTP client for the steps a
# block's "--- init" takes while its nginx runs (submit, job_status), the
# gate for statements that stay running, and psql as the superuser.

use strict;
use warnings;

use Exporter 'import';
use Digest::SHA qw(sha256_hex);
use File::Temp qw(tempdir);
use IO::Socket::INET ();
use JSON::PP ();
use Time::HiRes qw(sleep);

our @EXPORT_OK = qw(api_key key_file http_config http json submit job_status
                    poll run_id psql gate_close gate_open gate_waiters
                    job_of jobs_of worker_peak_kb);

my $json = JSON::PP->new->canonical;

my @alpha = ('a' .. 'z', 'A' .. 'Z', 0 .. 9, '-', '_');

# A per-run suffix: job lists, idempotency keys and tenants of one run do
# not meet those of another run against the same job store.
my $run = sprintf '%x%04x', time, $$ & 0xffff;

sub run_id { $run }

sub json { $json }


# api_key(keyid, "tenant=acme permissions=query"): the client's key and
# the key file's line for it.
sub api_key {
    my ($keyid, $context) = @_;
    my $secret = join '', map { $alpha[rand @alpha] } 1 .. 43;

    return ("spk_${keyid}_$secret",
            "$keyid " . sha256_hex($secret) . " $context");
}


# key_file(line, ...): writes an API key file into a private temporary
# directory and returns its path.
sub key_file {
    my (@lines) = @_;
    my $dir = tempdir('spectra-qtest-XXXXXX', TMPDIR => 1, CLEANUP => 1);
    my $path = "$dir/api.keys";

    chmod 0755, $dir;
    open my $fh, '>', $path or die "$path: $!";
    print $fh "# keys of $0\n", map { "$_\n" } @lines;
    close $fh;

    return $path;
}


# The http{} part every block of the query suites interpolates (each
# file sets "our $HttpConfig = http_config();" and a block says "---
# http_config eval: $::HttpConfig"): the Data API upstream, the block's own
# job store (in logs/, which the harness empties before every block),
# authentication (API keys from TEST_NGINX_QT_KEYS, JWTs signed by the auth
# suites' HS256 key), the warehouse and JSON error pages.  Server and
# location directives given here are inherited by the block's config.
# %o: dataapi_port (the upstream's port), secret (the Data API secret),
# bare => 1 (only the upstream, the job store and the supervisor's Data
# API URL: a block then gives authentication and the warehouse itself,
# and the supervisor's background calls use its first API location's).
#
# A block's config shows its locations and includes
# t/data/query/internal.conf, the two internal ones (the error page and the
# Data API subrequests), or writes those itself when it needs others.
sub http_config {
    my (%o) = @_;
    my $port = $o{dataapi_port} // '$TEST_NGINX_DATAAPI_PORT';
    my $secret = $o{secret} // '$TEST_NGINX_DATAAPI_SECRET_KEY';
    my $conf;

    $conf = <<"_EOC_";
    upstream spectra_dataapi {
        server 127.0.0.1:$port;
        keepalive 8;
    }

    spectra_jobs_db logs/jobs.db;
    spectra_dataapi_url http://127.0.0.1:$port/;
_EOC_

    return $conf if $o{bare};

    return $conf . <<"_EOC_";

    spectra_auth any;
    spectra_api_keys \$TEST_NGINX_QT_KEYS;
    spectra_jwt_key_file \$TEST_NGINX_AUTH_KEYS/hs.secret kid=hs alg=HS256;
    spectra_jwt_issuer https://issuer.spectra.test;
    spectra_jwt_audience spectra;

    spectra_dataapi_host 127.0.0.1:$port;
    spectra_aws_region \$TEST_NGINX_DATAAPI_REGION;
    spectra_aws_access_key_id \$TEST_NGINX_DATAAPI_ACCESS_KEY;
    spectra_aws_secret_access_key $secret;
    spectra_cluster_identifier spectra-local;
    spectra_database warehouse;

    # a URI, not a named location: nginx cannot redirect a request whose
    # request line it could not parse (414, 400) to a named location;
    # 494 (headers too large) answers 400
    error_page 400 404 405 408 413 414 415 429 494 500 502 503 504
               /_spectra/error;
_EOC_
}


# http(method, uri, body, [header => value ...]): one request to the
# block's nginx; returns (status, body text, decoded JSON or undef, the
# status line and headers).
sub http {
    my ($method, $uri, $body, @headers) = @_;
    my ($sock, $req, $res, $buf, $n, $status, $data);

    local $SIG{PIPE} = 'IGNORE';

    $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                  PeerPort => $ENV{TEST_NGINX_SERVER_PORT},
                                  Proto => 'tcp', Timeout => 10)
        or die "cannot connect to nginx: $@";

    $body //= '';
    $req = "$method $uri HTTP/1.1\r\nHost: localhost\r\n"
           . "Connection: close\r\n";

    while (my ($k, $v) = splice @headers, 0, 2) {
        $req .= "$k: $v\r\n";
    }

    $req .= 'Content-Length: ' . length($body) . "\r\n" if length $body;
    $req .= "\r\n$body";

    print {$sock} $req;

    $res = '';
    $sock->timeout(30);
    while ($n = sysread $sock, $buf, 65536) {
        $res .= $buf;
    }
    close $sock;

    ($status) = $res =~ m{^HTTP/1\.\d (\d{3})};
    my ($head) = $res =~ m{\A(.*?\r\n)\r\n}s;
    $res =~ s/\A.*?\r\n\r\n//s;

    $data = eval { $json->decode($res) };

    # the status line and headers last, for the suites that read them
    return ($status // 0, $res, $data, $head // '');
}


# For a block's "--- init", which runs once the block's nginx answers:
# submit(key, {sql => ..., ...}, env => NAME, until => STATUS) posts a
# query with wait_timeout_seconds 0 (unless the body gives one) as the API
# key's tenant, sets $ENV{NAME} (default TEST_NGINX_JOB) to its job id, so
# that "--- pipelined_requests" can say /v1/jobs/$TEST_NGINX_JOB (the real
# harness expands $TEST_NGINX_* there when it sends), and with until waits
# for the job to reach that status.  Returns the job id; dies (the block
# bails out) when the API refuses it.
sub submit {
    my ($key, $body, %o) = @_;
    my $var = $o{env} // 'TEST_NGINX_JOB';
    my ($status, $text, $data, $id);

    ($status, $text, $data) = http('POST', '/v1/queries',
        $json->encode({wait_timeout_seconds => 0, %$body}),
        'X-API-Key' => $key, 'Content-Type' => 'application/json');

    die "POST /v1/queries answered $status: $text\n"
        unless ($status == 200 || $status == 202) && $data && $data->{job_id};

    $id = $data->{job_id};
    $ENV{$var} = $id;

    if (defined $o{until}) {
        poll(sub { job_status($key, $id) eq $o{until} }, 200, 0.05);
    }

    return $id;
}

# job_status(key, id): the job's status as GET /v1/jobs/{id} says it.
sub job_status {
    my ($key, $id) = @_;
    my ($status, $text, $data) = http('GET', "/v1/jobs/$id", undef,
                                      'X-API-Key' => $key);

    die "GET /v1/jobs/$id answered $status: $text\n" if $status != 200;
    return $data->{status};
}


# poll(sub { ...; return true when done }, tries, interval): a bounded
# wait; dies when it never becomes true.
sub poll {
    my ($check, $tries, $interval) = @_;

    for (1 .. $tries // 100) {
        my $v = $check->();
        return $v if $v;
        sleep($interval // 0.1);
    }

    die "condition not reached after " . ($tries // 100) . " tries\n";
}


# psql(sql): what the warehouse's superuser gets for one statement, as
# unaligned text without the trailing newline (the fixture says where
# its password is, when it has one).
sub psql {
    my ($sql) = @_;
    my @cmd = ('psql', '-X', '-At', '-v', 'ON_ERROR_STOP=1',
               '-h', '127.0.0.1', '-p', $ENV{TEST_NGINX_PG_PORT},
               '-U', 'postgres', '-d', 'warehouse', '-c', $sql);
    my $out;

    local $ENV{PGPASSFILE} = $ENV{SPECTRA_PG_PASSFILE}
        if defined $ENV{SPECTRA_PG_PASSFILE};
    # no NOTICE chatter ("... already exists, skipping") on the TAP stream
    local $ENV{PGOPTIONS} = '-c client_min_messages=warning';

    open my $fh, '-|', @cmd or die "psql: $!";
    $out = do { local $/; <$fh> };
    close $fh or die "psql failed on: $sql
";

    chomp $out if defined $out;
    return $out // '';
}


# A gate for statements that stay long, cost nothing and end only when
# the test ends them: while the gate is closed, a superuser's transaction
# holds an ACCESS EXCLUSIVE lock on spectra_gate, and a tenant's
# "select count(*) from spectra_gate" waits for it inside PostgreSQL.
my $gate;

sub gate_close {
    my $tenants = 'tenant_acme, tenant_globex, tenant_initech';

    return if $gate;

    psql("create table if not exists spectra_gate (x int); "
         . "grant select on spectra_gate to $tenants");

    local $ENV{PGPASSFILE} = $ENV{SPECTRA_PG_PASSFILE}
        if defined $ENV{SPECTRA_PG_PASSFILE};

    open $gate, '|-', 'psql', '-X', '-q', '-h', '127.0.0.1',
         '-p', $ENV{TEST_NGINX_PG_PORT}, '-U', 'postgres', '-d', 'warehouse'
        or die "psql: $!";

    my $old = select $gate;
    $| = 1;
    select $old;

    print {$gate} "begin; lock table spectra_gate in access exclusive mode;"
                  . "\n";

    poll(sub { psql("select count(*) from pg_locks l join pg_class c"
                    . " on c.oid = l.relation where c.relname ="
                    . " 'spectra_gate' and l.mode = 'AccessExclusiveLock'"
                    . " and l.granted") eq '1' }, 100, 0.05);
}

sub gate_open {
    return unless $gate;

    print {$gate} "rollback;\n";
    close $gate;
    undef $gate;
}

# After a forked child opened the gate (its gate_open() ends the
# transaction): the parent's end of the pipe, closed without a statement.
sub gate_release {
    return unless $gate;

    close $gate;
    undef $gate;
}

# Backends waiting at the gate, and the roles they run as.
sub gate_waiters {
    my $rows = psql("select usename from pg_stat_activity where"
                    . " state = 'active'"
                    . " and query like '%from spectra_gate%'"
                    . " and pid <> pg_backend_pid() order by usename");

    return [grep { length } split /\n/, $rows];
}


# The tenant's jobs as the store has them (GET /v1/jobs reads the store
# and refreshes nothing), by idempotency key.
sub jobs_of {
    my ($key) = @_;
    my ($status, undef, $data) = http('GET', '/v1/jobs?limit=100', undef,
                                      'X-API-Key' => $key);

    die "GET /v1/jobs answered $status\n" if $status != 200;

    return { map { ($_->{idempotency_key} // '') => $_ }
             @{ $data->{jobs} } };
}

sub job_of {
    my ($key, $idem) = @_;
    return poll(sub { jobs_of($key)->{$idem} }, 100, 0.05);
}


# The largest resident set (VmHWM, KiB) of the block's nginx workers
# (dies when there is none, so a check of it cannot pass on 0).
sub worker_peak_kb {
    my $root = $Test::Nginx::Util::ServRoot;
    my ($master, $peak);

    open my $fh, '<', "$root/logs/nginx.pid" or die "nginx.pid: $!";
    chomp($master = <$fh>);
    close $fh;

    $peak = 0;

    # the workers; with master_process off (the project's runner), nginx
    # itself
    my @pids = split ' ', `pgrep -P $master`;
    @pids = ($master) unless @pids;
    die "no nginx process under $master" unless kill 0, @pids;

    for my $pid (@pids) {
        open my $st, '<', "/proc/$pid/status" or next;
        while (<$st>) {
            $peak = $1 if /^VmHWM:\s+(\d+)/ && $1 > $peak;
        }
        close $st;
    }

    return $peak;
}


END {
    gate_open();
}


1;
