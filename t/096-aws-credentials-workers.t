# spectra_aws_credentials with two workers (master process): the
# credentials live in the shared zone and one worker fetches and refreshes
# them for both, so web identity credentials cost one STS call at start
# and one per refresh whatever the number of workers, every query of
# either worker signs with them, and after a refresh both workers sign
# with the new ones.  The STS endpoint is SpectraAwsMock (base + 17); the
# Data API (base + 18) logs the key of every statement; the queries go to
# a second server with "reuseport" (base + 19), so that the kernel spreads
# the connections over both workers.
use FindBin ();
use IO::Socket::INET;
use lib "$FindBin::Bin/data/query/lib", "$FindBin::Bin/data/auth/lib",
        "$FindBin::Bin/data/awscreds/lib", "$FindBin::Bin/data/dataapi";
use Test::Nginx::Socket 'no_plan';
use SpectraLogArchive;
use SpectraAuth qw(ensure_keys);
use SpectraQuery qw(api_key key_file http_config poll);
use DataAPI qw(start_daemon stop_daemon);
use SpectraAwsMock qw(start_mock stop_mock mock_log spew temporary_keys);

our ($K, $Dir, $Html, $HttpConfig, $Daemon, @Temporary);

my $base = $ENV{SPECTRA_PORT_BASE} // 21400;

$ENV{TEST_NGINX_AWS_PORT} = $base + 17;
$ENV{TEST_NGINX_WORKERS_PORT} = $base + 19;
$Dir = ($ENV{TEST_NGINX_SERVROOT} // "$FindBin::Bin/servroot") . '.aws2';
$Html = ($ENV{TEST_NGINX_SERVROOT} // "$FindBin::Bin/servroot") . '/html';

system('rm', '-rf', $Dir);
mkdir $Dir, 0700 or die "$Dir: $!";

# the Data API knows only the temporary keys the STS mock hands out, in
# turn: the first call's, then the second's
@Temporary = temporary_keys(3, $base + 18);
$Daemon = start_daemon($base + 18, {keys => \@Temporary});
spew("$Dir/keys", join('', map { "@$_\n" } @Temporary));

# the first credentials live 40 s (refreshed 25 s before they expire: 15 s
# after they came); the block makes the next ones live an hour
spew("$Dir/lifetime", "40\n");
spew("$Dir/web-identity-token",
     'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzcGVjdHJhLXQwOTYifQ.c2lnbmVkLWJ5LXRlc3Q');
$ENV{AWS_WEB_IDENTITY_TOKEN_FILE} = "$Dir/web-identity-token";
$ENV{AWS_ROLE_ARN} = 'arn:aws:iam::123456789012:role/spectra-gateway';
$ENV{AWS_ROLE_SESSION_NAME} = 'spectra-t096';
delete $ENV{$_} for qw(AWS_PROFILE AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY
                       AWS_SESSION_TOKEN AWS_SHARED_CREDENTIALS_FILE
                       AWS_CONTAINER_CREDENTIALS_FULL_URI
                       AWS_CONTAINER_CREDENTIALS_RELATIVE_URI);

start_mock(dir => $Dir, port => $ENV{TEST_NGINX_AWS_PORT});
add_cleanup_handler(sub {
    stop_mock($Dir, $ENV{TEST_NGINX_AWS_PORT});
    stop_daemon($Daemon);
});

($K, my $line) = api_key('q096acme', 'tenant=acme permissions=query');
$ENV{TEST_NGINX_QT_KEYS} = key_file($line);
$ENV{TEST_NGINX_AUTH_KEYS} = ensure_keys("$FindBin::Bin/data/auth/keys");

# the static keys are wrong: only the provider's can sign
$HttpConfig = http_config(dataapi_port => $base + 18,
                          secret => 'wrong-static-secret-0000000000000000000');

sub sts_calls {
    return scalar(() = mock_log($Dir, qr{^POST /sts/ 200}));
}

# one query on a new connection to the reuseport server: (status, worker)
sub query {
    my ($sock, $res, $buf);

    $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                  PeerPort => $ENV{TEST_NGINX_WORKERS_PORT},
                                  Proto => 'tcp', Timeout => 10)
        or die "cannot connect: $@";
    my $body = '{"sql": "select 1 as one"}';
    print {$sock} "POST /v1/queries HTTP/1.1\r\nHost: localhost\r\n"
                  . "Connection: close\r\nX-API-Key: $K\r\n"
                  . "Content-Type: application/json\r\n"
                  . 'Content-Length: ' . length($body) . "\r\n\r\n$body";
    $res = '';
    while (sysread $sock, $buf, 65536) {
        $res .= $buf;
    }
    close $sock;

    my ($status) = $res =~ m{^HTTP/1\.\d (\d{3})};
    my ($worker) = $res =~ m{\r\nX-Worker: (\d+)\r\n};
    return ($status // 0, $worker // 0);
}

# queries until both workers have answered 20 of them in all, at least
# 4 each (up to 200): "statuses workers"
sub both_workers {
    my (%status, %worker, $n);

    for (1 .. 200) {
        my ($status, $worker) = query();
        $status{$status}++;
        $worker{$worker}++ if $status == 200;
        $n++;
        last if $n >= 20 && keys %worker >= 2
                && !grep { $_ < 4 } values %worker;
    }

    return join(' ', sort keys %status) . ' ' . scalar(keys %worker)
           . ' workers';
}

# the access key ids of the statements the Data API logged after line $from
sub keys_after {
    my ($from) = @_;
    open my $fh, '<', "/tmp/spectra-dataapi-test-" . ($base + 18) . "/log"
        or return ();
    my @lines = grep { /statement id=/ } <$fh>;
    my %k = map { /key_id=(\S+)/ ? ($1 => 1) : () } @lines[$from .. $#lines];
    return (scalar(@lines), join(' ', sort keys %k));
}

add_block_preprocessor(sub {
    my $block = shift;

    $block->set_value('http_config', $HttpConfig . <<'_EOC_');

    server {
        listen 127.0.0.1:$TEST_NGINX_WORKERS_PORT reuseport;
        spectra_aws_credentials web_identity;
        spectra_aws_sts_endpoint http://127.0.0.1:$TEST_NGINX_AWS_PORT/sts/;
        spectra_aws_credentials_refresh_margin 25s;

        location /v1/ {
            add_header X-Worker $pid always;
            spectra_api;
        }

        include $TEST_NGINX_REPO/t/data/query/internal.conf;
    }
_EOC_
    $block->set_value('config', $block->config
                      . "\n    location ~ \\.txt\$ {\n        spectra_auth off;\n    }\n");
});

master_on();
workers(2);
no_shuffle();
run_tests();

__DATA__

=== TEST 1: two workers: one STS call at start and one at the refresh; both workers sign with the first credentials, then both with the refreshed ones
--- config
    location = /t {
        return 204;
    }
--- init
my @out;
::poll(sub { ::sts_calls() >= 1 }, 300, 0.1);
push @out, 'fetched at start: ' . ::sts_calls();
# the credentials after the refresh live an hour: no third call
SpectraAwsMock::spew("$::Dir/lifetime", "3600\n");
my ($n0) = ::keys_after(0);
push @out, 'first: ' . ::both_workers();
my ($n1, $keys) = ::keys_after($n0);
push @out, 'signed with: ' . ($keys eq $::Temporary[0][0] ? 'the first' : $keys);
# the refresh, then a first statement signed with its key (the mock logs
# the call before the worker has the answer)
::poll(sub { ::sts_calls() >= 2 }, 600, 0.1);
::poll(sub { ::query(); (::keys_after($n1))[1] =~ /\Q$::Temporary[1][0]\E/ },
       100, 0.1);
my ($n2) = ::keys_after(0);
push @out, 'refreshed: ' . ::both_workers();
(undef, $keys) = ::keys_after($n2);
push @out, 'signed with: ' . ($keys eq $::Temporary[1][0] ? 'the second' : $keys);
push @out, 'STS calls in all: ' . ::sts_calls();
SpectraAwsMock::spew("$::Html/workers.txt", join("\n", @out) . "\n");
--- request
GET /workers.txt
--- response_body
fetched at start: 1
first: 200 2 workers
signed with: the first
refreshed: 200 2 workers
signed with: the second
STS calls in all: 2
--- no_error_log
[error]
[alert]
