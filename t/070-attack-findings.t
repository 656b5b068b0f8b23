# Findings of an attack on the gateway and the daemon (branch "attack").
#
# Each case says what it is:
#   FINDING  fails today; it passes once the finding is fixed
#   HOLDS    a hostile case nobody tested before, which the product
#            resists today (a regression test)
#
# The suite creates its own roles in the warehouse (tenant_acme_t070ro,
# tenant_t070, tenant_t070sjis) so that the role settings it needs do not
# touch the demo tenants, and so that every role logs in afresh (a role's
# settings apply at login; the daemon's pools keep connections).
use FindBin ();
use lib "$FindBin::Bin/data/query/lib", "$FindBin::Bin/data/auth/lib",
        "$FindBin::Bin/data/dataapi";
use Test::Nginx::Socket 'no_plan';
use SpectraLogArchive;
use Socket qw(PF_INET SOCK_STREAM SOL_SOCKET SO_RCVBUF pack_sockaddr_in
              inet_aton);
use Time::HiRes qw(sleep);
use SpectraAuth qw(ensure_keys);
use SpectraQuery qw(api_key key_file http_config http json poll run_id psql);
use DataAPI ();

our (%K, $RUN, @HELD, $HttpConfig);

$RUN = run_id();

my @lines;

for my $k (
    [acme      => 'tenant=acme permissions=query'],
    # the same tenant, a narrower database role (no SELECT on sales)
    [acmero    => 'tenant=acme db_user=tenant_acme_t070ro permissions=query'],
    [initech   => 'tenant=initech permissions=query'],
    [globex    => 'tenant=globex permissions=query'],
    # a tenant whose role has client_encoding SJIS as its default
    [sjis      => 'tenant=t070sjis permissions=query'],
) {
    my $line;
    ($K{ $k->[0] }, $line) = api_key("q070$k->[0]", $k->[1]);
    push @lines, $line;
}

$ENV{TEST_NGINX_QT_KEYS} = key_file(@lines);
$ENV{TEST_NGINX_AUTH_KEYS} = ensure_keys("$FindBin::Bin/data/auth/keys");

# The suite's own roles: ordinary tenant roles, members of nothing, owning
# nothing, as spectra-dataapi requires.
sub role {
    my ($name, @settings) = @_;

    psql("do \$\$ begin create role $name login connection limit 24; "
         . "exception when duplicate_object then null; end \$\$");
    psql("grant connect on database warehouse to $name");
    psql("grant usage on schema public to $name");
    psql("alter role $name set $_") for @settings;
}

if (defined $ENV{TEST_NGINX_PG_PORT}) {
    role('tenant_acme_t070ro');
    psql('grant select on regions to tenant_acme_t070ro');

    role('tenant_t070sjis', "client_encoding = 'SJIS'");
    psql('grant select on regions, sales to tenant_t070sjis');

    role('tenant_t070', "statement_timeout = '2s'",
         "temp_file_limit = '10MB'");
    psql('grant select on regions, sales to tenant_t070');
    psql('grant execute on function pg_sleep(double precision) '
         . 'to tenant_t070');
}


# ---------------------------------------------------------------------
# Straight at spectra-dataapi (the AWS JSON protocol, signed by
# DataAPI.pm): what a db user can do beyond its role.
# ---------------------------------------------------------------------

if (defined $ENV{TEST_NGINX_DATAAPI_PORT}) {
    my $env = DataAPI::fixture_env();
    my ($st, $b, $d, $r);

    # HOLDS: the role's own statement_timeout (2 s) ends a statement
    $d = DataAPI::statement($env, 'tenant_t070', 'select pg_sleep(4)');
    is $d->{Status}, 'FAILED',
       'HOLDS: the role\'s statement_timeout (2 s) ends pg_sleep(4)';

    # FINDING: a batch that sets statement_timeout = 0 first runs past the
    # role's bound, up to the daemon's --statement-timeout-seconds: the
    # watchdog's deadline is the daemon's, not the lower one
    ($st, $r) = DataAPI::call($env, 'BatchExecuteStatement',
                              { Sqls => ['set statement_timeout = 0',
                                         'select pg_sleep(4)'],
                                Database => 'warehouse',
                                ClusterIdentifier => 'demo',
                                DbUser => 'tenant_t070' });
    is $st, 200, 'the batch is accepted';
    $d = DataAPI::wait_done($env, $r->{Id});
    is $d->{Status}, 'FAILED',
       'FINDING: set statement_timeout = 0 does not lift the role\'s 2 s '
       . 'bound (the watchdog should end it)';

    # FIXED: temporary tables are not temporary files, so temp_file_limit
    # (10 MB for this role) would not bound them: tenant roles get no
    # TEMPORARY on the database (as demo.sql leaves them)
    $d = DataAPI::statement($env, 'tenant_t070',
                            'create temp table t070_big as select '
                            . 'repeat(md5(i::text), 40) as x '
                            . 'from generate_series(1, 20000) i');
    is $d->{Status}, 'FAILED',
       'a tenant role without TEMPORARY creates no temporary table';
    is $d->{Error}, 'ERROR: permission denied to create temporary tables '
                    . 'in database "warehouse" (SQLSTATE 42501)',
       'PostgreSQL refuses it';

    # KNOWN, documented (docs/hardening.md): EXPLAIN's estimates come from
    # statistics of every tenant's rows (texteq is leakproof, so RLS does
    # not hide them from the planner); straight at the Data API acme sees
    # about how many rows globex has. Hiding it would take the statistics
    # from the planner for every tenant; through Spectra EXPLAIN is not a
    # query the SQL policy lets through (TEST 9).
    $d = DataAPI::statement($env, 'tenant_acme',
                            "explain select * from sales "
                            . "where tenant_id = 'globex'");
    is $d->{Status}, 'FINISHED', 'EXPLAIN runs for a db user at the Data API';

    # HOLDS: a role that makes another role its default (ALTER ROLE me SET
    # role = ...) still logs in as itself: PostgreSQL checks the default at
    # login and ignores it
    $d = DataAPI::statement($env, 'tenant_t070',
                            "alter role tenant_t070 set role = "
                            . "'tenant_globex'");
    is $d->{Status}, 'FINISHED', 'a role may set its own default role';
    ($st, $r) = DataAPI::call($env, 'ExecuteStatement',
                              { Sql => 'select current_user::text || \'/\' '
                                       . '|| session_user::text',
                                Database => 'warehouse',
                                ClusterIdentifier => 'demo',
                                DbUser => 'tenant_t070',
                                SessionKeepAliveSeconds => 5 });
    $d = DataAPI::wait_done($env, $r->{Id});
    ($st, $b) = DataAPI::call($env, 'GetStatementResult', { Id => $d->{Id} });
    is $b->{Records}[0][0]{stringValue}, 'tenant_t070/tenant_t070',
       'HOLDS: the next login (a new session) is still tenant_t070';
    psql('alter role tenant_t070 reset role');
}


# ---------------------------------------------------------------------
# Through nginx.
# ---------------------------------------------------------------------

# One request to the block's nginx with a key; returns (status, body, json).
sub q070 {
    my ($key, $method, $uri, $body) = @_;
    return http($method, $uri, defined $body ? json()->encode($body) : undef,
                'X-API-Key' => $K{$key},
                'Content-Type' => 'application/json');
}

# A job of acme's full role, with rows only that role may read.
sub acme_job {
    my ($idem) = @_;
    my ($status, undef, $data) = q070('acme', 'POST', '/v1/queries', {
        sql => 'select id, amount, note from sales order by id limit 3',
        (defined $idem ? (idempotency_key => $idem) : ()) });

    die "acme's query answered $status\n" if $status != 200;
    return $data->{job_id};
}

# Connections that ask for the same large answer and do not read it.
sub hold_answers {
    my ($n, $uri, $key) = @_;

    for (1 .. $n) {
        socket(my $s, PF_INET, SOCK_STREAM, 0) or die "socket: $!";
        setsockopt($s, SOL_SOCKET, SO_RCVBUF, 4096);
        connect($s, pack_sockaddr_in($ENV{TEST_NGINX_SERVER_PORT},
                                     inet_aton('127.0.0.1')))
            or die "connect: $!";
        syswrite $s, "GET $uri HTTP/1.1\r\nHost: localhost\r\n"
                     . "X-API-Key: $K{$key}\r\n\r\n";
        push @HELD, $s;
        select(undef, undef, undef, 0.03);   # within limit_req, were there one
    }
}

# What nginx sent on s within a few seconds: up to the end of a JSON error.
sub read_answer {
    my ($s, $seconds) = @_;
    my ($got, $rin, $buf) = ('');
    my $until = Time::HiRes::time() + $seconds;

    while ($got !~ /\}\}\n\z/ && Time::HiRes::time() < $until) {
        $rin = '';
        vec($rin, fileno($s), 1) = 1;
        last unless select($rin, undef, undef, 0.5) >= 0;
        next unless vec($rin, fileno($s), 1);
        last unless sysread($s, $buf, 65536);
        $got .= $buf;
    }

    return $got;
}

# A finished job whose Data API pages are ~7 MB each (rows of 7,000 bytes;
# the fixture's daemon pages by 1,000 rows, make run's by 8 MiB); the query
# answers 202 at once, so this client does not read the rows.
sub big_job {
    my ($status, undef, $data) = q070('initech', 'POST', '/v1/queries', {
        sql => "select i, repeat('x', 7000) as pad "
               . 'from generate_series(1, 1100) i',
        wait_timeout_seconds => 0 });

    die "the large query answered $status\n" if $status != 202;

    my $id = $data->{job_id};

    poll(sub {
        my (undef, undef, $job) = q070('initech', 'GET', "/v1/jobs/$id");
        return $job && $job->{status} eq 'COMPLETED';
    }, 200, 0.1);

    return $id;
}

# The largest resident set (VmHWM, KiB) of the block's nginx: its
# processes, the one in nginx.pid included (the runner has no master
# process by default, so SpectraQuery::worker_peak_kb, which reads only
# the children, finds none there and answers 0).
sub nginx_peak_kb {
    my $root = $Test::Nginx::Util::ServRoot;
    my ($pid, $peak);

    open my $fh, '<', "$root/logs/nginx.pid" or die "nginx.pid: $!";
    chomp($pid = <$fh>);
    close $fh;

    $peak = 0;

    for my $p ($pid, split ' ', `pgrep -P $pid`) {
        open my $st, '<', "/proc/$p/status" or next;
        while (<$st>) {
            $peak = $1 if /^VmHWM:\s+(\d+)/ && $1 > $peak;
        }
        close $st;
    }

    return $peak;
}

# authentication, the warehouse, the Data API upstream and the job store
$HttpConfig = http_config();

run_tests();

__DATA__

=== TEST 1: FIXED: a narrower db user of the same tenant does not read the results of a job of another db user
/results is fetched with the gateway's Data API key, so jobs are the
database user's (the job store's owner is tenant and db_user):
tenant_acme_t070ro, which may not read sales at all, finds no job of
tenant_acme's.
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- init
$ENV{TEST_NGINX_JOB} = main::acme_job();
--- pipelined_requests eval
['GET /v1/jobs/$TEST_NGINX_JOB/results']
--- more_headers eval
"X-API-Key: $::K{acmero}"
--- error_code eval
[404]
--- response_body_unlike eval
['"note":"order 1"']



=== TEST 2: FIXED: ...nor its SQL and parameters (?include=sql)
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- init
$ENV{TEST_NGINX_JOB} = main::acme_job();
--- pipelined_requests eval
['GET /v1/jobs/$TEST_NGINX_JOB?include=sql']
--- more_headers eval
"X-API-Key: $::K{acmero}"
--- error_code eval
[404]
--- response_body_unlike eval
['"sql":']



=== TEST 3: FIXED: ...nor replays its answer with the same idempotency key and body: the key is its own, its query runs as itself and fails
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- init
main::acme_job("t070-idem-$::RUN");
--- request eval
"POST /v1/queries\n"
. main::json()->encode({
    sql => 'select id, amount, note from sales order by id limit 3',
    idempotency_key => "t070-idem-$::RUN" })
--- more_headers eval
"X-API-Key: $::K{acmero}\nContent-Type: application/json"
--- error_code: 422
--- response_body_like: "sqlstate":"42501"
--- response_body_unlike: "note":"order 1"



=== TEST 4: HOLDS: the narrower db user running the same SQL itself is refused by the warehouse
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- request
POST /v1/queries
{"sql": "select id, amount, note from sales order by id limit 3"}
--- more_headers eval
"X-API-Key: $::K{acmero}\nContent-Type: application/json"
--- error_code: 422
--- response_body_like: permission denied for table sales



=== TEST 5: HOLDS: another tenant's job id, spelled otherwise (upper case, percent-encoded), is never found
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- init
my $id = main::acme_job();
$ENV{TEST_NGINX_JOB_UPPER} = uc $id;
($ENV{TEST_NGINX_JOB_PERCENT} = $id) =~ s/^j/%6a/;
--- pipelined_requests eval
['GET /v1/jobs/$TEST_NGINX_JOB_UPPER',
 'GET /v1/jobs/$TEST_NGINX_JOB_PERCENT/results',
 'GET /v1/jobs/$TEST_NGINX_JOB_PERCENT?include=sql']
--- more_headers eval
"X-API-Key: $::K{globex}"
--- error_code eval
[404, 404, 404]
--- response_body_unlike eval
[qr/order 1/, qr/order 1/, qr/"sql"/]



=== TEST 6: HOLDS: strings that end differently only in a client-only encoding are plain strings for a UTF-8 role
The text of TEST 7, sent by a tenant whose role keeps the default encoding.
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- request
POST /v1/queries
{"sql": "select E'\u00c1\\'', ', current_setting($q$work_mem$q$) as leaked --'"}
--- more_headers eval
"X-API-Key: $::K{acme}\nContent-Type: application/json"
--- error_code: 200
--- response_body_unlike: "leaked"



=== TEST 7: FINDING: with client_encoding SJIS as the role's default, the SQL policy checks one text and PostgreSQL runs another
spectra-dataapi does not set client_encoding on its tenant connections, so
a role (or database) default applies. In SJIS the second byte of "Á"
(0xC3 0x81) leads a two-byte character that swallows the backslash, so
PostgreSQL reads E'Á\'' as a string that goes on past the quote where the
policy's parser ended it: the "string" the policy accepted runs as a call
of current_setting, a denied function.
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- request
POST /v1/queries
{"sql": "select E'\u00c1\\'', ', current_setting($q$work_mem$q$) as leaked --'"}
--- more_headers eval
"X-API-Key: $::K{sjis}\nContent-Type: application/json"
--- response_body_unlike: "leaked"



=== TEST 8: FIXED: answers held by clients that do not read them are bounded by limit_conn on the tenant, as the example configs set it
spectra_max_running bounds statements, not answers: once its statement has
ended, a request keeps its Data API page (~7 MB here) until the client
reads it. With limit_conn keyed on $spectra_tenant_id (8, as in conf/),
48 such connections of one tenant cost nginx less than 128 MB, the 40
over the limit get 429 CONCURRENCY_LIMITED, and other tenants go on.
--- timeout: 60
--- http_config eval
$::HttpConfig . <<'_EOC_'
    limit_conn_zone $spectra_tenant_id zone=spectra_tenant_conns:10m;
    limit_conn_status 429;
_EOC_
--- config
    location /v1/ {
        spectra_api;
        limit_conn spectra_tenant_conns 8;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- init
# initech's finished job of ~7 MB pages, its answer asked for by 48
# connections that do not read it
my $id = main::big_job();
my $before = main::nginx_peak_kb();
main::hold_answers(48, "/v1/jobs/$id/results", 'initech');
Time::HiRes::sleep(3);
my $after = main::nginx_peak_kb();
my $grown = int(($after - $before) / 1024);
Test::More::diag("nginx VmHWM before $before KiB, after $after KiB");
Test::More::cmp_ok($grown, "<", 128,
    "nginx grew by less than 128 MB for 48 held answers (grew $grown MB)");
my $got = main::read_answer($::HELD[-1], 10);
Test::More::like($got, qr/^HTTP\/1\.1 429 .*"code":"CONCURRENCY_LIMITED"/s,
    "the tenant's requests over limit_conn get 429 CONCURRENCY_LIMITED");
Test::More::like($got, qr/\r\nRetry-After: \d+\r\n/, "with Retry-After");
--- request
GET /v1/jobs?limit=1
--- more_headers eval
"X-API-Key: $::K{acme}"
--- error_code: 200
--- no_error_log
[alert]
[crit]
--- grep_error_log eval
qr/limiting connections by zone "spectra_tenant_conns"/
--- grep_error_log_out eval
"limiting connections by zone \"spectra_tenant_conns\"\n" x 40



=== TEST 9: HOLDS: EXPLAIN, whose estimates show other tenants' row counts, is not a query through Spectra
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- request eval
"POST /v1/queries\n{\"sql\": \"explain select * from sales where tenant_id = 'globex'\"}"
--- more_headers eval
"X-API-Key: $::K{acme}\nContent-Type: application/json"
--- error_code: 400
--- response_body_like: "code":"INVALID_SQL"
--- response_body_unlike: rows=
