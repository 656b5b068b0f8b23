# The local stack as `make run` brings it up and `make stop` takes it down:
# health answers with the versions, the printed request works as printed
# (each tenant sees its own rows), var/demo.json says what a script needs
# (the superuser's password too: PostgreSQL trusts no one), the demo
# warehouse denies tenants the functions demo.sql revokes, a second run
# while running is refused, a taken port is a clear error, and stop leaves
# no process and no listening port behind.
use strict;
use warnings;
use Test::More;
use JSON::PP qw(decode_json);
use HTTP::Tiny;
use IO::Uncompress::Gunzip qw(gunzip $GunzipError);
use File::Temp qw(tempdir);
use IO::Socket::INET;
use lib "$ENV{SPECTRA_REPO}/t/data/dataapi";
use DataAPI qw(statement);

my $repo = $ENV{SPECTRA_REPO}
    or die "SPECTRA_REPO is not set: run the suites with make test\n";
my $base = $ENV{SPECTRA_PORT_BASE} + 45;
my ($http, $pg, $dataapi) = ($base, $base + 1, $base + 2);
my $state = "$ENV{SPECTRA_STATE}/make-run";
my $demo = tempdir(CLEANUP => 1) . '/demo.json';

$ENV{BUILD} = $ENV{SPECTRA_BUILD};
$ENV{SPECTRA_STATE_DIR} = $state;
$ENV{SPECTRA_DEMO_JSON} = $demo;
$ENV{SPECTRA_HTTP_PORT} = $http;
$ENV{SPECTRA_PG_PORT} = $pg;
$ENV{SPECTRA_DATAAPI_PORT} = $dataapi;

# the user's own API key and config addition, which make run keeps
my $local = tempdir(CLEANUP => 1);
$ENV{SPECTRA_LOCAL_DIR} = $local;

sub user_key {
    my ($tenant) = @_;
    my @out = `$ENV{SPECTRA_BUILD}/spectra-apikey --tenant $tenant --permissions query`;
    die "spectra-apikey failed\n" if $? || @out != 2;
    chomp @out;
    return @out;
}

sub write_file {
    my ($path, $text, $mode) = @_;
    open my $fh, $mode // '>', $path or die "$path: $!";
    print $fh $text;
    close $fh;
}

my ($globex_key, $globex_line) = user_key('globex');
mkdir "$local/server.d";
write_file("$local/api.keys", "# mine\n$globex_line\n");
write_file("$local/server.d/hello.conf",
           "location = /local-hello {\n    spectra_auth off;\n"
           . "    return 200 \"hello from var/local\\n\";\n}\n");

sub listening {
    my $port = shift;
    return scalar grep { /:$port\b/ } `ss -Hltn 'sport = :$port'`;
}

my $out = `bash $repo/scripts/run.sh 2>&1`;
is $?, 0, 'run.sh succeeds' or diag $out;

like $out, qr{API:\s+http://127\.0\.0\.1:$http/v1/}, 'prints the URL';
like $out, qr{^run: \[\s*\d+\.\d s\] building .*^run: \[\s*\d+\.\d s\] loading the demo warehouse.*^run: \[\s*\d+\.\d s\] ready$}ms,
     'shows its progress with the time so far';
like $out, qr{make reload}, 'says how to apply changes';

my ($curl) = $out =~ /^(\s*curl -s -H 'X-API-Key: .*?queries)$/ms;
ok $curl, 'prints a ready-to-paste request with an API key';

my $ua = HTTP::Tiny->new(timeout => 30);
my $res = $ua->get("http://127.0.0.1:$http/v1/health");
is $res->{status}, 200, 'GET /v1/health answers 200';
my $health = eval { decode_json($res->{content}) } // {};
is $health->{status}, 'ok', 'health says ok';
like $health->{libraries}{openssl}, qr/^OpenSSL 3/, 'health names OpenSSL';
like $health->{libraries}{libpg_query}, qr/^15\.\d+/,
     'health names the PostgreSQL parser';

my $facts = eval { local $/; open my $fh, '<', $demo or die; decode_json(<$fh>) }
    // {};
is $facts->{url}, "http://127.0.0.1:$http", 'demo.json has the URL';
is_deeply [map { "$_->{tenant_id}:$_->{db_user}:$_->{rows}" }
           @{$facts->{tenants} // []}],
          ['acme:tenant_acme:600000', 'globex:tenant_globex:300000',
           'initech:tenant_initech:100000'],
          'demo.json lists the tenants with their row counts';
is $facts->{postgres}{port}, $pg, 'demo.json has the PostgreSQL port';
is $facts->{dataapi}{endpoint}, "http://127.0.0.1:$dataapi",
    'demo.json has the Data API endpoint';
is sprintf('%04o', (stat $demo)[2] & 07777), '0600',
   'demo.json, full of credentials, is 0600';
like $facts->{postgres}{password} // '', qr/^[0-9a-f]{48}$/,
     "demo.json has the superuser's password";

sub psql {
    my ($password) = @_;
    local $ENV{PGPASSFILE} = '/dev/null';
    local $ENV{PGPASSWORD} = $password;
    delete local $ENV{PGPASSWORD} unless defined $password;
    my $out = `psql -X -w -At -h 127.0.0.1 -p $pg -U postgres -d warehouse -c 'select count(*) from sales' 2>&1`;
    return ($? >> 8, $out);
}
my ($rc, $psql) = psql(undef);
isnt $rc, 0, 'psql -U postgres without a password is refused';
like $psql, qr/no password supplied/, '... no password supplied';
($rc, $psql) = psql($facts->{postgres}{password});
is $psql, "1000000
", "with demo.json's password the superuser sees all";

# the demo warehouse as demo.sql leaves it (the test fixture grants
# pg_sleep back to its tenants; make run's does not)
{
    my $da = { port => $dataapi, region => 'us-east-1',
               akid => $facts->{dataapi}{access_key_id},
               secret => $facts->{dataapi}{secret_access_key} };
    for my $c (['select pg_sleep(0)', 'pg_sleep'],
               ['select pg_advisory_lock(1)', 'pg_advisory_lock'],
               ['select count(*) from pg_stat_activity',
                'pg_stat_get_activity']) {
        my $d = statement($da, 'tenant_acme', $c->[0]);
        is $d->{Error}, "ERROR: permission denied for function $c->[1] "
                        . '(SQLSTATE 42501)',
           "make run's warehouse: tenants may not call $c->[1]";
    }
    my $d = statement($da, 'tenant_acme', 'create temp table t (x int)');
    is $d->{Error}, 'ERROR: permission denied to create temporary tables '
                    . 'in database "warehouse" (SQLSTATE 42501)',
       "make run's warehouse: tenants create no temporary tables";
    $d = statement($da, 'tenant_initech', 'select count(*) from sales');
    is $d->{Status}, 'FINISHED', 'tenant_initech runs on a minted password';
    $d = statement($da, 'tenant_acme', 'set role tenant_globex');
    is $d->{Error}, 'ERROR: permission denied to set role "tenant_globex" '
                    . '(SQLSTATE 42501)', 'and no tenant becomes another';
}

# The printed request, as printed: acme's rows by region.
$curl =~ s/\\\n//g;
my $answer = `$curl`;
my $rows = eval { decode_json($answer)->{data} } // [];
my $sum = 0;
$sum += $_->{count} for @$rows;
is $sum, 600000, 'the printed request counts acme\'s 600000 rows'
    or diag $answer;

for my $t (@{$facts->{tenants} // []}) {
    my $r = $ua->post("http://127.0.0.1:$http/v1/queries", {
        headers => {'X-API-Key' => $t->{api_key},
                    'Content-Type' => 'application/json'},
        content => '{"sql": "select count(*) from sales"}',
    });
    my $n = eval { decode_json($r->{content})->{data}[0]{count} };
    is $n, $t->{rows}, "$t->{tenant_id}'s API key sees its $t->{rows} rows";

    $r = $ua->post("http://127.0.0.1:$http/v1/queries", {
        headers => {Authorization => "Bearer $t->{jwt}",
                    'Content-Type' => 'application/json'},
        content => '{"sql": "select count(*) from sales"}',
    });
    $n = eval { decode_json($r->{content})->{data}[0]{count} };
    is $n, $t->{rows}, "$t->{tenant_id}'s demo JWT sees its $t->{rows} rows";
}

# The user's own key and addition are in effect; make reload takes a new
# key and refuses a broken addition, the running nginx going on.
sub count_as {
    my ($key) = @_;
    my $r = $ua->post("http://127.0.0.1:$http/v1/queries", {
        headers => {'X-API-Key' => $key, 'Content-Type' => 'application/json'},
        content => '{"sql": "select count(*) from sales"}',
    });
    return $r->{status} == 200
           ? eval { decode_json($r->{content})->{data}[0]{count} }
           : "status $r->{status}";
}

is count_as($globex_key), 300000, "the user's own key (var/local/api.keys) works";
$res = $ua->get("http://127.0.0.1:$http/local-hello");
is "$res->{status} $res->{content}", "200 hello from var/local\n",
   "the user's server.d addition is in the config";

{
    my ($initech_key, $initech_line) = user_key('initech');
    isnt count_as($initech_key), 100000, 'a key not yet added is refused';
    write_file("$local/api.keys", "$initech_line\n", '>>');
    my $master = do { local $/; open my $fh, '<', "$state/nginx/logs/nginx.pid" or die; <$fh> };
    my $rout = `bash $repo/scripts/reload.sh 2>&1`;
    is $?, 0, 'reload.sh succeeds' or diag $rout;
    my $n;
    for (1 .. 100) {
        $n = count_as($initech_key);
        last if $n eq '100000';
        select undef, undef, undef, 0.1;
    }
    is $n, 100000, 'after make reload the added key works';
    is count_as($globex_key), 300000, '... and so does the first';
    my $now = do { local $/; open my $fh, '<', "$state/nginx/logs/nginx.pid" or die; <$fh> };
    is $now, $master, '... in the same nginx (reloaded, not restarted)';

    write_file("$local/server.d/broken.conf", "no_such_directive on;\n");
    $rout = `bash $repo/scripts/reload.sh 2>&1`;
    isnt $?, 0, 'reload.sh refuses a broken addition';
    like $rout, qr/unknown directive "no_such_directive".*nothing was changed/s,
         '... with nginx -t\'s message';
    unlink "$local/server.d/broken.conf";
    is count_as($initech_key), 100000, '... and nginx goes on as it was';
    my @keys = grep { !/^#/ } do { open my $fh, '<', "$local/api.keys" or die; <$fh> };
    is scalar(@keys), 2, 'var/local/api.keys is as the user wrote it';
}

# The access log is one JSON object per line, with the tenant and what its
# answer held; the audit log has the jobs' changes.
{
    open my $fh, '<', "$state/nginx/logs/access.log" or die "access.log: $!";
    my @lines = <$fh>;
    my @bad = grep { !eval { decode_json($_); 1 } } @lines;
    ok @lines > 0 && !@bad, 'every access log line is JSON' or diag @bad[0 .. 2];
    my ($q) = grep { $_->{uri} eq '/v1/queries' && $_->{status} == 200
                     && $_->{tenant} eq 'acme' }
              map { decode_json($_) } grep { !/^\s*$/ } @lines;
    ok $q, 'a query of acme is logged';
    like $q->{request_id} // '', qr/^[0-9a-f]{32}$/, '... with its request id';
    like $q->{job_id} // '', qr/^job_[0-9a-z]{26}$/, '... its job';
    is $q->{auth}, 'apikey', '... how it authenticated';
    like $q->{rows} // '', qr/^\d+$/, '... the rows of its answer';
    is $q->{truncated}, 'false', '... whether they were cut';
    ok(($q->{dataapi_time} // 0) > 0, '... the time of its Data API calls');

    open $fh, '<', "$state/nginx/logs/audit.log" or die "audit.log: $!";
    my @audit = <$fh>;
    ok scalar(grep { /spectra audit: job \Q$q->{job_id}\E \(query, tenant "acme", db user "tenant_acme"\): created -> PENDING$/ } @audit),
       "the audit log has the query's job created";
    ok scalar(grep { /spectra audit: job \Q$q->{job_id}\E .* -> COMPLETED$/ } @audit),
       '... and completed';
}

# The printed export, as printed: initech's sales as CSV+gzip, through
# the stack's own object store (the presigned URLs, then the stable link).
{
    my ($bulk) = $out =~ /^\s*# an export.*?\n(\s*curl -s .*?v1\/bulk)$/ms;
    ok $bulk, 'prints a ready-to-paste export request';
    $bulk //= '';
    $bulk =~ s/\\\n//g;

    my $posted = `$bulk`;
    my $job = eval { decode_json($posted) } // {};
    like $job->{job_id} // '', qr/^job_/, 'the printed export is a job'
        or diag "$bulk: $posted";

    my ($key) = $bulk =~ /X-API-Key: ([^']+)'/;
    my $done;
    for (1 .. 600) {
        my $r = $ua->get("http://127.0.0.1:$http/v1/bulk/$job->{job_id}",
                         {headers => {'X-API-Key' => $key}});
        $done = eval { decode_json($r->{content}) } // {};
        last if ($done->{status} // '') ne 'RUNNING'
                && ($done->{status} // '') ne 'PENDING';
        select undef, undef, undef, 0.1;
    }
    is $done->{status}, 'COMPLETED', 'the export completes';

    my $lines = 0;
    for my $f (@{ $done->{result}{files} // [] }) {
        my $r = $ua->get($f->{url});
        is $r->{status}, 200, "its file downloads from its presigned URL";
        my $csv;
        gunzip(\$r->{content} => \$csv) or diag "gunzip: $GunzipError";
        $lines += () = ($csv // '') =~ /\n/g;

        my $l = $ua->get("http://127.0.0.1:$http$f->{link}",
                         {headers => {'X-API-Key' => $key}});
        is $l->{status}, 200, 'and through its stable link (302 followed)';
        is length($l->{content}), $f->{size}, 'the same bytes';
    }
    my $t = (grep { ($_->{api_key} // '') eq ($key // '') }
             @{$facts->{tenants} // []})[0] // {};
    ok defined $t->{rows}, 'the printed key is a demo tenant\'s';
    is $lines, $t->{rows} // -1,
       "the files hold the tenant's rows, one line each";
}

# Everything the stack keeps is private to root and the user that uses
# it: state directories only traversable, the rest 0700 and 0600; but
# the object store (UNLOAD's files), which nginx's workers serve.
{
    my %want = ('' => '0711', 'nginx' => '0711', 'nginx/tmp' => '0711',
                'nginx/conf' => '0700', 'nginx/logs' => '0700',
                'nginx/data' => '0700', 'auth' => '0700',
                'dataapi' => '0700', 'objects' => '0755', 'pg' => '0700');
    for my $d (sort keys %want) {
        is sprintf('%04o', (stat "$state/$d")[2] & 07777), $want{$d},
           "state dir ./$d is $want{$d}";
    }
    # (but nginx.pid, which nginx makes 0644 after its umask(0))
    my @files = grep { -f $_ && !/nginx\.pid$/ } (glob("$state/nginx/*/*"),
                                glob("$state/auth/*"), glob("$state/dataapi/*"),
                                "$state/pg.pgpass", "$state/pg/server.log");
    ok scalar(grep { m{nginx/logs/error\.log$} } @files)
       && scalar(grep { m{nginx/data/jobs\.db$} } @files)
       && scalar(grep { m{auth/api\.keys$} } @files),
       'the logs, the job store and the key files are there';
    my @open = grep { (stat $_)[2] & 077 } @files;
    is_deeply \@open, [], 'and every file in them is 0600'
        or diag join ' ', map { sprintf '%s %04o', $_, (stat $_)[2] & 07777 }
                              @open;
}

$out = `bash $repo/scripts/run.sh 2>&1`;
isnt $?, 0, 'a second run while running fails';
like $out, qr/running already/, '... and says why';

$out = `bash $repo/scripts/stop.sh 2>&1`;
is $?, 0, 'stop.sh succeeds' or diag $out;

ok !listening($_), "nothing listens on $_ after stop" for $http, $pg, $dataapi;
my @left = grep { /\Q$state\E/ } `ps -eo args`;
is scalar @left, 0, 'no process of the stack is left' or diag @left;

# A port in use is refused up front, naming the port.
my $sock = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => $http,
                                 Listen => 1, ReuseAddr => 1);
ok $sock, "holding port $http";
$out = `bash $repo/scripts/run.sh 2>&1`;
isnt $?, 0, 'run refuses a taken port';
like $out, qr/port $http on 127\.0\.0\.1 is in use/, '... naming it';
close $sock;
ok !-f "$state/nginx/logs/nginx.pid", '... and starts nothing';

done_testing;
