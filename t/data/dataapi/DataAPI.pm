package DataAPI;

# Helpers of the t/030-dataapi-*.t suites: run Debian's AWS CLI against
# spectra-dataapi, send hand-signed (or deliberately mis-signed) AWS JSON
# 1.1 requests, poll statements, start an extra daemon.

use strict;
use warnings;

use Digest::SHA qw(sha256_hex hmac_sha256 hmac_sha256_hex);
use Exporter 'import';
use HTTP::Tiny;
use IPC::Open3;
use JSON::PP;
use POSIX qw(strftime);
use Symbol 'gensym';
use Test::More;

our @EXPORT = qw(fixture_env cli cli_json sign_v4 call raw_post wait_done
                 execute statement submit json_decode start_daemon
                 stop_daemon);

my $json = JSON::PP->new->canonical;

sub json_decode { return $json->decode($_[0]) }

# The fixture scripts/test.sh provides; without it the suite is skipped.
# The fixture's spectra-dataapi; a suite run without it fails (a skip
# would pass without testing anything).
sub fixture_env {
    for my $v (qw(TEST_NGINX_DATAAPI_PORT TEST_NGINX_DATAAPI_ACCESS_KEY
                  TEST_NGINX_DATAAPI_SECRET_KEY TEST_NGINX_PG_PORT)) {
        die "$v is not set: run the suites with make test"
            . " (scripts/test.sh starts the fixtures)\n"
            unless defined $ENV{$v};
    }
    return {
        port   => $ENV{TEST_NGINX_DATAAPI_PORT},
        akid   => $ENV{TEST_NGINX_DATAAPI_ACCESS_KEY},
        secret => $ENV{TEST_NGINX_DATAAPI_SECRET_KEY},
        region => $ENV{TEST_NGINX_DATAAPI_REGION} // 'us-east-1',
    };
}

# Runs /usr/bin/aws redshift-data ARGS; returns (exit code, stdout, stderr).
sub cli {
    my ($env, @args) = @_;
    my $port = $env->{port};
    local $ENV{AWS_ACCESS_KEY_ID} = $env->{akid};
    local $ENV{AWS_SECRET_ACCESS_KEY} = $env->{secret};
    local $ENV{AWS_CONFIG_FILE} = '/dev/null';
    local $ENV{AWS_SHARED_CREDENTIALS_FILE} = '/dev/null';
    local $ENV{AWS_PAGER} = '';
    delete local $ENV{AWS_SESSION_TOKEN};
    delete local $ENV{AWS_PROFILE};
    my @cmd = ('/usr/bin/aws', 'redshift-data', @args,
               '--endpoint-url', "http://127.0.0.1:$port",
               '--region', $env->{region}, '--output', 'json');
    my $err = gensym;
    my $pid = open3(my $in, my $out, $err, @cmd);
    close $in;
    my $stdout = do { local $/; <$out> } // '';
    my $stderr = do { local $/; <$err> } // '';
    waitpid $pid, 0;
    return ($? >> 8, $stdout, $stderr);
}

# The CLI call must succeed; returns its decoded JSON output.
sub cli_json {
    my ($env, @args) = @_;
    my ($rc, $out, $err) = cli($env, @args);
    die "aws redshift-data @args: exit $rc: $err" if $rc != 0;
    return $out eq '' ? {} : json_decode($out);
}

# SigV4 the way the AWS CLI does it for AWS JSON 1.1 (see
# t/data/dataapi/cli-signed-requests.jsonl); %o overrides any input.
sub sign_v4 {
    my (%o) = @_;
    my $date = $o{date} // strftime('%Y%m%dT%H%M%SZ', gmtime(time));
    my $day = substr($date, 0, 8);
    my $service = $o{service} // 'redshift-data';
    my $scope = "$day/$o{region}/$service/aws4_request";
    my @h = (['content-type', 'application/x-amz-json-1.1'],
             ['host', $o{host}],
             ['x-amz-date', $date],
             ['x-amz-target', $o{target}]);
    my $signed = join ';', map { $_->[0] } @h;
    my $creq = join "\n", 'POST', '/', '', (map { "$_->[0]:$_->[1]" } @h),
                          '', $signed, sha256_hex($o{body});
    my $sts = join "\n", 'AWS4-HMAC-SHA256', $date, $scope, sha256_hex($creq);
    my $k = hmac_sha256($day, "AWS4$o{secret}");
    $k = hmac_sha256($o{region}, $k);
    $k = hmac_sha256($service, $k);
    $k = hmac_sha256('aws4_request', $k);
    return ($date, "AWS4-HMAC-SHA256 Credential=$o{akid}/$scope, "
                   . "SignedHeaders=$signed, Signature="
                   . hmac_sha256_hex($sts, $k));
}

# POSTs body with the given headers; returns the HTTP::Tiny response.
sub raw_post {
    my ($port, $headers, $body) = @_;
    my $http = HTTP::Tiny->new(timeout => 60);
    return $http->request('POST', "http://127.0.0.1:$port/",
                          { headers => $headers, content => $body });
}

# A signed call: op, body (hash or raw string), overrides for sign_v4 and
# for what is sent (send_body, send_target). Returns (status, decoded
# body or undef, response).
sub call {
    my ($env, $op, $body, %o) = @_;
    my $text = ref $body ? $json->encode($body) : $body;
    my $target = "RedshiftData.$op";
    my ($date, $auth) = sign_v4(host => "127.0.0.1:$env->{port}",
                                target => $target, body => $text,
                                akid => $env->{akid},
                                secret => $env->{secret},
                                region => $env->{region}, %o);
    my $res = raw_post($env->{port}, {
        'Content-Type' => 'application/x-amz-json-1.1',
        'X-Amz-Date' => $date,
        'X-Amz-Target' => $o{send_target} // $target,
        'Authorization' => $o{send_auth} // $auth,
    }, $o{send_body} // $text);
    my $decoded = eval { json_decode($res->{content}) };
    return ($res->{status}, $decoded, $res);
}

# Polls DescribeStatement until the statement is FINISHED, FAILED or
# ABORTED (or, with $want, reaches that status); at most 60 s.
sub wait_done {
    my ($env, $id, $want) = @_;
    my $d;
    for (1 .. 600) {
        my ($st, $b) = call($env, 'DescribeStatement', { Id => $id });
        die "DescribeStatement $id: $st" unless $st == 200;
        $d = $b;
        return $d if defined $want && $d->{Status} eq $want;
        return $d if !defined $want
                     && $d->{Status} =~ /^(FINISHED|FAILED|ABORTED)$/;
        select undef, undef, undef, 0.1;
    }
    die "statement $id did not finish: $d->{Status}";
}

# ExecuteStatement through the CLI as db_user; returns the described end.
sub execute {
    my ($env, $user, $sql, @more) = @_;
    my $r = cli_json($env, 'execute-statement', '--cluster-identifier',
                     'demo', '--database', 'warehouse', '--db-user', $user,
                     '--sql', $sql, @more);
    return wait_done($env, $r->{Id});
}

# ExecuteStatement signed here (faster than the CLI) as db_user, %more
# added to the request; returns the statement id (dies on an error).
sub submit {
    my ($env, $user, $sql, %more) = @_;
    my ($st, $b) = call($env, 'ExecuteStatement',
                        { Sql => $sql, Database => 'warehouse',
                          ClusterIdentifier => 'demo',
                          (defined $user ? (DbUser => $user) : ()),
                          %more });
    die "ExecuteStatement: $st " . ($b->{__type} // '') . ' '
        . ($b->{message} // '') unless $st == 200;
    return $b->{Id};
}

# submit, then wait: returns the described end.
sub statement {
    my ($env, $user, $sql, %more) = @_;
    return wait_done($env, submit($env, $user, $sql, %more));
}

# An extra daemon for limit tests: returns a hash like fixture_env's. It
# logs in and resolves secrets as the fixture's daemon does (the files
# scripts/test.sh exports), unless @flags name their own.
sub start_daemon {
    my ($port, @flags) = @_;
    # start_daemon(PORT, {keys => [[AKID, SECRET, TOKEN], ...]}, FLAGS...):
    # more keys, temporary ones with their session token
    my $o = ref $flags[0] eq 'HASH' ? shift @flags : {};
    my $build = $ENV{SPECTRA_BUILD} or die "SPECTRA_BUILD is not set";
    die "port $port is already in use\n"
        if HTTP::Tiny->new(timeout => 1)
               ->request('GET', "http://127.0.0.1:$port/")->{status} != 599;
    my $dir = "/tmp/spectra-dataapi-test-$port";
    mkdir $dir, 0700;
    chmod 0700, $dir;
    my $keys = "$dir/keys";
    my $akid = 'AKIDEXTRA' . sprintf('%011d', $port);
    my $secret = 'extra/secret+' . $port;
    my $old = umask 077;
    unlink $keys, "$dir/log";          # a file of an older run keeps its mode
    open my $fh, '>', $keys or die "$keys: $!";
    print $fh "# test keys\n$akid $secret\n";
    print $fh join(' ', @$_), "\n" for @{ $o->{keys} // [] };
    close $fh;
    umask $old;
    my $pg = "host=127.0.0.1 port=$ENV{TEST_NGINX_PG_PORT} "
             . "user=spectra_dataapi dbname=warehouse";
    unshift @flags, '--pg-password-file',
                    $ENV{SPECTRA_DATAAPI_PG_PASSWORD_FILE}
        if $ENV{SPECTRA_DATAAPI_PG_PASSWORD_FILE}
           && !grep { $_ eq '--pg-password-file' } @flags;
    unshift @flags, '--secrets-file', $ENV{SPECTRA_DATAAPI_SECRETS_FILE}
        if $ENV{SPECTRA_DATAAPI_SECRETS_FILE}
           && !grep { $_ eq '--secrets-file' || $_ eq '--no-secrets' }
                    @flags;
    @flags = grep { $_ ne '--no-secrets' } @flags;
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        umask 077;
        open STDOUT, ">>", "$dir/log";
        open STDERR, '>&', \*STDOUT;
        my @vg = $ENV{SPECTRA_DATAAPI_VALGRIND}
            ? ('valgrind', '--leak-check=full',
               '--show-leak-kinds=definite,indirect',
               '--errors-for-leak-kinds=definite,indirect',
               '--error-exitcode=99', "--log-file=$dir/valgrind")
            : ();
        exec @vg, "$build/spectra-dataapi", '--listen', "127.0.0.1:$port",
             '--pg', $pg, '--database', 'warehouse', '--keys-file', $keys,
             @flags;
        exit 127;
    }
    for (1 .. 300) {
        my $res = HTTP::Tiny->new(timeout => 1)
                  ->request('POST', "http://127.0.0.1:$port/");
        last if $res->{status} != 599;
        select undef, undef, undef, 0.05;
    }
    return { port => $port, akid => $akid, secret => $secret,
             region => 'us-east-1', pid => $pid, dir => $dir,
             log => "$dir/log" };
}

sub stop_daemon {
    my ($d) = @_;
    return 0 if $d->{stopped}++;
    kill 'TERM', $d->{pid};
    waitpid $d->{pid}, 0;
    return $? >> 8;
}

1;
