# spectra_aws_credentials end to end: each provider's credentials sign
# Data API calls that spectra-dataapi accepts (the http{} block's static
# secret is wrong, so only the provider's can work); web identity
# credentials about to expire are replaced with no failed request; an
# endpoint down at start answers 503 JSON, then the service recovers when
# it comes up.  The endpoints are SpectraAwsMock (base + 14, and base + 15
# started late); the Data API (base + 16) checks each temporary key's
# session token; t/099 checks the logs for the tokens handed out.
use FindBin ();
use lib "$FindBin::Bin/data/query/lib", "$FindBin::Bin/data/auth/lib",
        "$FindBin::Bin/data/awscreds/lib", "$FindBin::Bin/data/dataapi";
use Test::Nginx::Socket 'no_plan';
use SpectraLogArchive;
use SpectraAuth qw(ensure_keys);
use SpectraQuery qw(api_key key_file http_config http);
use DataAPI qw(start_daemon stop_daemon);
use SpectraAwsMock qw(start_mock stop_mock mock_log spew temporary_keys);

our ($K, $Dir, $Html, $HttpConfig, $Secret, $Daemon);

my $base = $ENV{SPECTRA_PORT_BASE} // 21400;
my $line;

$ENV{TEST_NGINX_AWS_PORT} = $base + 14;
$ENV{TEST_NGINX_AWS_LATE_PORT} = $base + 15;
$Dir = ($ENV{TEST_NGINX_SERVROOT} // "$FindBin::Bin/servroot") . '.aws';
$Html = ($ENV{TEST_NGINX_SERVROOT} // "$FindBin::Bin/servroot") . '/html';
$ENV{TEST_NGINX_AWS_DIR} = $Dir;

system('rm', '-rf', $Dir);
mkdir $Dir, 0700 or die "$Dir: $!";

# a Data API of its own (base + 16) that knows three temporary keys, which
# the endpoints hand out in turn, and a long-term one for the profile
my @temporary = temporary_keys(3, $base + 16);
$Daemon = start_daemon($base + 16, {keys => \@temporary});
spew("$Dir/keys", join('', map { "@$_\n" } @temporary));
$Secret = $Daemon->{secret};
$ENV{TEST_NGINX_AWS_DATAAPI_PORT} = $base + 16;

($K, $line) = api_key('q095acme', 'tenant=acme permissions=query');
$ENV{TEST_NGINX_QT_KEYS} = key_file($line);
$ENV{TEST_NGINX_AUTH_KEYS} = ensure_keys("$FindBin::Bin/data/auth/keys");

# the profiles; [rotating]'s secret is wrong until TEST 9 corrects it
sub rotating_profile {
    my ($secret, $mtime) = @_;
    spew("$Dir/credentials", <<"_INI_");
[other]
aws_access_key_id = AKIDOTHERPROFILE0000
aws_secret_access_key = not-this-one

[spectra-test]
aws_access_key_id = $Daemon->{akid}
aws_secret_access_key = $Secret

[rotating]
aws_access_key_id = $Daemon->{akid}
aws_secret_access_key = $secret
_INI_
    utime $mtime, $mtime, "$Dir/credentials" if $mtime;
}

rotating_profile('wrongSecretOfTheRotatingProfile0000');

# what each provider reads from the environment nginx starts with
spew("$Dir/web-identity-token",
     'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzcGVjdHJhLXRlc3QifQ.c2lnbmVkLWJ5LXRlc3Q');
spew("$Dir/container-token", 'Bearer spectra-container-auth-0123456789');

$ENV{AWS_WEB_IDENTITY_TOKEN_FILE} = "$Dir/web-identity-token";
$ENV{AWS_ROLE_ARN} = 'arn:aws:iam::123456789012:role/spectra-gateway';
$ENV{AWS_ROLE_SESSION_NAME} = 'spectra-t095';
$ENV{AWS_CONTAINER_CREDENTIALS_FULL_URI} =
    "http://127.0.0.1:$ENV{TEST_NGINX_AWS_PORT}/container/creds";
$ENV{AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE} = "$Dir/container-token";
$ENV{AWS_SHARED_CREDENTIALS_FILE} = "$Dir/credentials";
$ENV{AWS_CONFIG_FILE} = "$Dir/no-config";
delete $ENV{$_} for qw(AWS_PROFILE AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY
                       AWS_SESSION_TOKEN AWS_CONTAINER_CREDENTIALS_RELATIVE_URI
                       AWS_CONTAINER_AUTHORIZATION_TOKEN
                       AWS_EC2_METADATA_SERVICE_ENDPOINT);

start_mock(dir => $Dir, port => $ENV{TEST_NGINX_AWS_PORT});
add_cleanup_handler(sub {
    stop_mock($Dir, $ENV{TEST_NGINX_AWS_PORT});
    stop_mock($Dir, $ENV{TEST_NGINX_AWS_LATE_PORT});
    stop_daemon($Daemon);
});

# the static keys are wrong (and unknown to that Data API): a query works
# only with the provider's
$HttpConfig = http_config(dataapi_port => $base + 16,
                          secret => 'wrong-static-secret-0000000000000000000');

sub query {
    my ($status, $text) = http('POST', '/v1/queries',
                               '{"sql": "select 1 as one"}',
                               'X-API-Key' => $K,
                               'Content-Type' => 'application/json');
    return ($status, $text);
}

# polls until a query answers 200 (up to 30 s); the statuses seen
sub until_ok {
    my @seen;
    for (1 .. 300) {
        my ($status) = query();
        push @seen, $status unless @seen && $seen[-1] == $status;
        return "@seen" if $status == 200;
        select undef, undef, undef, 0.1;
    }
    return "@seen";
}

add_block_preprocessor(sub {
    my $block = shift;

    $block->set_value('http_config', $HttpConfig . ($block->http_config // ''));
    # the files the blocks write, without authentication
    $block->set_value('config', $block->config
                      . "\n    location ~ \\.txt\$ {\n        spectra_auth off;\n    }\n");
    $block->set_value('more_headers',
                      "X-API-Key: $K\nContent-Type: application/json\n")
        unless defined $block->more_headers;
    $block->set_value('no_error_log', "[error]\n$Secret\n")
        unless defined $block->no_error_log;
});

no_shuffle();
run_tests();

__DATA__

=== TEST 1: the static keys of http{} are refused (they are wrong on purpose)
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- request
POST /v1/queries
{"sql": "select 1 as one"}
--- error_code: 502
--- response_body_like chomp
"code":"UPSTREAM_ERROR"
--- no_error_log
[alert]



=== TEST 2: profile: the named profile of AWS_SHARED_CREDENTIALS_FILE signs
--- config
    spectra_aws_credentials profile spectra-test;

    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- request
POST /v1/queries
{"sql": "select 1 as one"}
--- response_body_like chomp
"status":"COMPLETED","data":\[\{"one":1\}\]



=== TEST 3: web_identity: STS AssumeRoleWithWebIdentity's keys and session token sign
--- config
    spectra_aws_credentials web_identity;
    spectra_aws_sts_endpoint http://127.0.0.1:$TEST_NGINX_AWS_PORT/sts/;

    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- init
::until_ok();
--- request
POST /v1/queries
{"sql": "select 1 as one"}
--- response_body_like chomp
"status":"COMPLETED","data":\[\{"one":1\}\]



=== TEST 4: container: AWS_CONTAINER_CREDENTIALS_FULL_URI with the token of AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE
--- config
    spectra_aws_credentials container;

    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- init
::until_ok();
--- request
POST /v1/queries
{"sql": "select 1 as one"}
--- response_body_like chomp
"status":"COMPLETED","data":\[\{"one":1\}\]



=== TEST 5: imds: IMDSv2 token, role, then the role's credentials
--- config
    spectra_aws_credentials imds;
    spectra_aws_imds_endpoint http://127.0.0.1:$TEST_NGINX_AWS_PORT;

    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- init
::until_ok();
--- request
POST /v1/queries
{"sql": "select 1 as one"}
--- response_body_like chomp
"status":"COMPLETED","data":\[\{"one":1\}\]



=== TEST 6: chain: no AWS_ACCESS_KEY_ID, no [default] profile: web identity is next (the metrics say which)
--- config
    spectra_aws_credentials chain;
    spectra_aws_sts_endpoint http://127.0.0.1:$TEST_NGINX_AWS_PORT/sts/;

    location /v1/ {
        spectra_api;
    }

    location = /metrics {
        spectra_auth off;
        spectra_metrics;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- init
::until_ok();
--- pipelined_requests eval
["GET /metrics", "GET /v1/ready"]
--- response_body_like eval
[qr/^spectra_aws_credentials_usable\{provider="web_identity",index="0"\} 1\n.*^spectra_aws_credentials_refreshes_total\{provider="web_identity",index="0",result="ok"\} [1-9]/ms,
 qr/"aws_credentials":\{"ok":true\}/]



=== TEST 7: credentials living 6 s are replaced before they expire: 8 s of queries, none failed, several refreshes
--- config
    spectra_aws_credentials web_identity;
    spectra_aws_sts_endpoint http://127.0.0.1:$TEST_NGINX_AWS_PORT/sts-short/;
    spectra_aws_credentials_refresh_margin 5s;

    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- init
::until_ok();
unlink "$::Dir/log";
my %seen;
my $end = time + 8;
while (time < $end) {
    my ($status) = ::query();
    $seen{$status}++;
}
my $n = () = SpectraAwsMock::mock_log($::Dir, qr{^POST /sts-short/ 200});
SpectraAwsMock::spew("$::Html/rotate.txt",
    join(' ', map { "$_" } sort keys %seen) . "\n"
    . ($n >= 2 ? "refreshed\n" : "refreshed $n times\n"));
--- request
GET /rotate.txt
--- more_headers
--- response_body
200
refreshed



=== TEST 8: the endpoint down at start: 503 JSON at once, then queries work when it comes up
--- config
    spectra_aws_credentials imds;
    spectra_aws_imds_endpoint http://127.0.0.1:$TEST_NGINX_AWS_LATE_PORT;

    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- init
my ($status, $text) = ::query();
SpectraAwsMock::spew("$::Html/down.txt", "$status $text\n");
SpectraAwsMock::start_mock(dir => $::Dir,
                           port => $ENV{TEST_NGINX_AWS_LATE_PORT});
SpectraAwsMock::spew("$::Html/up.txt", ::until_ok() . "\n");
open my $fh, '<', "$ENV{TEST_NGINX_SERVROOT}/logs/error.log" or die $!;
my @failed = grep { /\[error\].*spectra: AWS credentials \(imds\) refresh failed: the endpoint is unreachable; no valid credentials: requests get 503, next try in \d+ s$/ } <$fh>;
SpectraAwsMock::spew("$::Html/logged.txt", (@failed ? 'logged' : 'not logged') . "\n");
--- pipelined_requests eval
["GET /down.txt", "GET /up.txt", "GET /logged.txt"]
--- more_headers
--- response_body_like eval
[qr/\A503 \{"error":\{"code":"SERVICE_UNAVAILABLE","message":"no valid AWS credentials yet: try again shortly","request_id":"[0-9a-f]{32}"\}\}\n+\z/,
 qr/\A(?:503 )?200\n\z/, qr/\Alogged\n\z/]
--- no_error_log eval
["[alert]", $::Secret]



=== TEST 9: profile: a changed credentials file is read again, without a reload
--- config
    spectra_aws_credentials profile rotating;

    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- init
my ($before) = ::query();
::rotating_profile($::Secret, time + 5);
SpectraAwsMock::spew("$::Html/profile.txt", "$before " . ::until_ok() . "\n");
--- request
GET /profile.txt
--- more_headers
--- response_body
502 502 200
--- no_error_log eval
["[alert]", $::Secret]
