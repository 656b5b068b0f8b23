# JWT keys from a URL (spectra_jwt_jwks_url): a second nginx serves the
# JWKS and an OpenID discovery document over HTTPS with a certificate of
# a CA made here, which the module is told to trust.  Fetched at start;
# a rotation is picked up by the first token with the new kid, without a
# reload; a burst of unknown kids costs one fetch; fetch failures keep the
# last good set for spectra_jwt_jwks_stale, then fail closed; hostile
# answers are refused and the old set kept; configuration errors fail
# nginx -t.
use FindBin ();
use lib "$FindBin::Bin/data/auth/lib";
use Test::Nginx::Socket 'no_plan';
use SpectraLogArchive;
use SpectraAuth qw(ensure_keys mint slurp);
use lib "$FindBin::Bin/data/query/lib";
use SpectraQuery ();
use SpectraJwks qw(start_server stop_server jwk jwks_json fetches
                   wait_fetches statuses);
use Time::HiRes ();

our (%T, %JWKS, $Dir, $Port, $Html);

my $keys = ensure_keys("$FindBin::Bin/data/auth/keys");

# the JWKS server: base + 10 (a suite may use base .. base + 49)
$Port = ($ENV{SPECTRA_PORT_BASE} // 21400) + 10;
$Dir = ($ENV{TEST_NGINX_SERVROOT} // "$FindBin::Bin/servroot") . '.jwks';
$Html = ($ENV{TEST_NGINX_SERVROOT} // "$FindBin::Bin/servroot") . '/html';

$ENV{TEST_NGINX_JWKS_PORT} = $Port;
$ENV{TEST_NGINX_JWKS_DIR} = $Dir;

start_server(dir => $Dir, port => $Port, html => $Html);
add_cleanup_handler(sub { stop_server($Dir) });

my %pem = (a => slurp("$keys/rsa-jwks.key"), b => slurp("$keys/ec-jwks.key"),
           c => slurp("$keys/rsa-other.key"));
my %alg = (a => 'RS256', b => 'ES256', c => 'RS256');

$JWKS{a} = jwks_json(jwk("$keys/rsa-jwks.key", 'a', alg => 'RS256'));
$JWKS{b} = jwks_json(jwk("$keys/ec-jwks.key", 'b'));
$JWKS{private} = jwks_json(jwk("$keys/ec-jwks.key", 'b', private => 1));
$JWKS{huge} = jwks_json(jwk("$keys/rsa-jwks.key", 'a', alg => 'RS256'),
                        map { jwk("$keys/rsa-other.key", "pad$_",
                                  alg => 'RS256') } 1 .. 60);

sub token {
    my ($signer, $kid) = @_;
    return mint($keys, time, alg => $alg{$signer}, kid => $kid,
                key => \$pem{$signer});
}

sub mint_tokens {
    %T = (a => token('a', 'a'), b => token('b', 'b'),
          unknown => [map { token('c', "x$_") } 1 .. 8]);
}

sub health {
    return 'http://127.0.0.1:' . Test::Nginx::Util::server_port()
           . '/v1/health';
}

sub spew {
    my ($name, $text) = @_;
    my $path = "$Html/$name";
    open my $fh, '>', "$path.tmp" or die "$path: $!";
    print $fh $text;
    close $fh;
    rename "$path.tmp", $path or die "$path: $!";
}

sub url {
    my ($path) = @_;
    return "https://127.0.0.1:$Port$path";
}

# The location every block authenticates in, and the fetch count of ?b=NAME.
sub config {
    my ($name, %o) = @_;
    my $url = $o{url} // url("/k/$name.json?b=$name");
    my $extra = $o{extra} // '';
    return <<"_EOC_";
    spectra_auth jwt;
    spectra_jwt_jwks_url $url;
    spectra_jwt_jwks_trusted_certificate \$TEST_NGINX_JWKS_DIR/ca.crt;
    spectra_jwt_issuer https://issuer.spectra.test;
    spectra_jwt_audience spectra;
$extra
    location /v1/ {
        spectra_api;
        add_header X-Tenant "\$spectra_tenant_id" always;
    }

    location = /fetches {
        spectra_auth off;
        default_type text/plain;
        alias \$TEST_NGINX_JWKS_DIR/logs/$name.log;
    }

    location /results/ {
        spectra_auth off;
        default_type text/plain;
        alias \$TEST_NGINX_SERVER_ROOT/html/;
    }
_EOC_
}

# the Data API settings of /v1/ready, without t/050's keys
our $ReadyHttp = SpectraQuery::http_config(bare => 1) . <<'_EOC_';
    spectra_dataapi_host 127.0.0.1:$TEST_NGINX_DATAAPI_PORT;
    spectra_aws_region $TEST_NGINX_DATAAPI_REGION;
    spectra_aws_access_key_id $TEST_NGINX_DATAAPI_ACCESS_KEY;
    spectra_aws_secret_access_key $TEST_NGINX_DATAAPI_SECRET_KEY;
    spectra_cluster_identifier spectra-local;
    spectra_database warehouse;
_EOC_

our $ReadyConfig = <<'_EOC_';
    location = /v1/ready {
        spectra_auth off;
        spectra_api;
    }

    location = /metrics {
        spectra_auth off;
        spectra_metrics;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
_EOC_

filters_delay();

add_block_preprocessor(sub {
    my $block = shift;

    mint_tokens();
    $block->run_filters unless $block->is_filtered;
});

run_tests();

__DATA__

=== TEST 1: the key set fetched at start verifies a token; one fetch
--- http_config
    spectra_jobs_db logs/jobs.db;
--- config eval: ::config('start')
--- user_files eval
[["k/start.json", $::JWKS{a}]]
--- more_headers eval
"Authorization: Bearer $::T{a}"
--- pipelined_requests eval
["GET /v1/health", "GET /fetches"]
--- response_body_like eval
['"status":"ok"', qr{\A/k/start\.json\n\z}]
--- no_error_log
[error]
jwt rejected



=== TEST 2: OpenID discovery: the document's jwks_uri is fetched and used
--- http_config
    spectra_jobs_db logs/jobs.db;
--- config eval
::config('disc', url => ::url('/disc/.well-known/openid-configuration')
                        . ' discovery')
--- user_files eval
[["disc/.well-known/openid-configuration",
  qq({"issuer": "https://127.0.0.1:$::Port/disc", )
  . qq("jwks_uri": "https://127.0.0.1:$::Port/k/disc.json?b=disc"}\n)],
 ["k/disc.json", $::JWKS{b}]]
--- more_headers eval
"Authorization: Bearer $::T{b}"
--- pipelined_requests eval
["GET /v1/health", "GET /fetches"]
--- response_body_like eval
['"status":"ok"', qr{\A/k/disc\.json\n\z}]
--- no_error_log
[error]
jwt rejected



=== TEST 3: a discovery document of another issuer is refused: no keys, 401
--- http_config
    spectra_jobs_db logs/jobs.db;
--- config eval
::config('evil', url => ::url('/evil/.well-known/openid-configuration')
                        . ' discovery')
--- user_files eval
[["evil/.well-known/openid-configuration",
  qq({"issuer": "https://127.0.0.1:$::Port/other", )
  . qq("jwks_uri": "https://127.0.0.1:$::Port/k/evil.json?b=evil"}\n)],
 ["k/evil.json", $::JWKS{b}]]
--- more_headers eval
"Authorization: Bearer $::T{b}"
--- request
GET /v1/health
--- error_code: 401
--- response_body_like chomp
"code":"UNAUTHENTICATED"
--- error_log
the discovery document's "issuer" is not the configured issuer; no key set yet
jwt rejected: no key set fetched yet



=== TEST 4: a rotation at the URL is picked up by the first token with the new kid, without a reload
--- http_config
    spectra_jobs_db logs/jobs.db;
--- config eval
::config('rot', extra => '    spectra_jwt_jwks_refresh 1h 1h;')
--- user_files eval
[["k/rot.json", $::JWKS{a}]]
--- init
SpectraJwks::wait_fetches($::Dir, 'rot', 1);
::spew('k/rot.json', $::JWKS{b});
--- more_headers eval
"Authorization: Bearer $::T{b}"
--- pipelined_requests eval
["GET /v1/health", "GET /fetches"]
--- response_body_like eval
['"status":"ok"', qr{\A/k/rot\.json\n/k/rot\.json\n\z}]
--- no_error_log
[error]
jwt rejected



=== TEST 5: the old key stops verifying once the rotated set no longer has it
--- http_config
    spectra_jobs_db logs/jobs.db;
--- config eval
::config('gone', extra => '    spectra_jwt_jwks_refresh 1h 1h;')
--- user_files eval
[["k/gone.json", $::JWKS{a}]]
--- init
SpectraJwks::wait_fetches($::Dir, 'gone', 1);
::spew('k/gone.json', $::JWKS{b});
::spew('gone.txt', SpectraJwks::statuses(::health(), $::T{b})
                   . SpectraJwks::statuses(::health(), $::T{a}));
--- request
GET /results/gone.txt
--- response_body
200
401
--- error_log
jwt rejected: unknown kid



=== TEST 6: a burst of unknown kids causes one fetch, and each gets 401
--- http_config
    spectra_jobs_db logs/jobs.db;
--- config eval
::config('burst', extra => '    spectra_jwt_jwks_refresh 1h 1h;')
--- user_files eval
[["k/burst.json", $::JWKS{a}]]
--- init
SpectraJwks::wait_fetches($::Dir, 'burst', 1);
::spew('burst.txt', SpectraJwks::statuses(::health(), @{ $::T{unknown} }));
::spew('after.txt', SpectraJwks::statuses(::health(), @{ $::T{unknown} }));
--- more_headers eval
"Authorization: Bearer $::T{a}"
--- pipelined_requests eval
["GET /results/burst.txt", "GET /results/after.txt", "GET /fetches",
 "GET /v1/health"]
--- response_body_like eval
[qr{\A(?:401 ){7}401\n\z}, qr{\A(?:401 ){7}401\n\z},
 qr{\A/k/burst\.json\n/k/burst\.json\n\z}, '"status":"ok"']
--- no_error_log
[error]



=== TEST 7: when fetches fail, the last good set is served for spectra_jwt_jwks_stale, then no token verifies
--- http_config
    spectra_jobs_db logs/jobs.db;
--- config eval
::config('stale', extra => "    spectra_jwt_jwks_refresh 1s 1s;\n"
                           . "    spectra_jwt_jwks_stale 4s;\n"
                           . "    spectra_jwt_jwks_timeout 1s;")
--- user_files eval
[["k/stale.json", $::JWKS{a}]]
--- init
SpectraJwks::wait_fetches($::Dir, 'stale', 1);
my $t0 = Time::HiRes::time();
my $s = SpectraJwks::statuses(::health(), $::T{a});
unlink "$::Html/k/stale.json" or die $!;
SpectraJwks::wait_fetches($::Dir, 'stale', 2);
$s .= SpectraJwks::statuses(::health(), $::T{a});
my $last = '';
for (1 .. 60) {
    $last = SpectraJwks::statuses(::health(), $::T{a});
    last if $last eq "401\n";
    Time::HiRes::sleep(0.25);
}
my $took = Time::HiRes::time() - $t0;
::spew('stale.txt', $s . $last
       . ($took >= 3.5 ? "not before the stale time\n" : "early: $took\n"));
--- request
GET /results/stale.txt
--- response_body
200
200
401
not before the stale time
--- error_log eval
[qr/refused: the JWKS answered 404; keeping the key set fetched \d+ s ago/,
 qr/jwt rejected: the key set is stale/]



=== TEST 8: hostile answers are refused and the last good set kept
--- http_config
    spectra_jobs_db logs/jobs.db;
--- config eval
::config('hostile', extra => "    spectra_jwt_jwks_refresh 1s 1s;\n"
                             . "    spectra_jwt_jwks_max_size 16k;")
--- user_files eval
[["k/hostile.json", $::JWKS{a}]]
--- init
my $n = 1;
my $s = '';
SpectraJwks::wait_fetches($::Dir, 'hostile', $n);
for my $answer ('{"keys": [', "<html>keys</html>", $::JWKS{private},
                $::JWKS{huge}, '{"keys": []}', '[]') {
    ::spew('k/hostile.json', $answer);
    SpectraJwks::wait_fetches($::Dir, 'hostile', ++$n);
    # the fetch is logged when answered, the refusal just after it
    Time::HiRes::sleep(0.1);
    $s .= SpectraJwks::statuses(::health(), $::T{a});
}
::spew('hostile.txt', $s);
--- request
GET /results/hostile.txt
--- response_body
200
200
200
200
200
200
--- error_log eval
[qr/JWKS "[^"]+" refused: the JWKS is not valid JSON/,
 qr/JWKS "[^"]+" refused: the JWKS is not a JSON object/,
 qr/refused: a JWK has the private member "d"/,
 qr/the answer is too big/,
 qr/refused: the JWKS has no non-empty "keys" array/]
--- no_error_log
jwt rejected



=== TEST 9: an answer that is not JSON by its Content-Type is refused
--- http_config
    spectra_jobs_db logs/jobs.db;
--- config eval
::config('html', url => ::url('/html/k.json?b=html'))
--- user_files eval
[["html/k.json", $::JWKS{a}]]
--- more_headers eval
"Authorization: Bearer $::T{a}"
--- request
GET /v1/health
--- error_code: 401
--- error_log
refused: the JWKS is not application/json or application/jwk-set+json
jwt rejected: no key set fetched yet



=== TEST 10: a server whose certificate is not of the trusted CA gives no keys
--- http_config
    spectra_jobs_db logs/jobs.db;
--- config eval
my $c = ::config('untrusted');
$c =~ s{\$TEST_NGINX_JWKS_DIR/ca\.crt}{/etc/ssl/certs/ca-certificates.crt};
$c
--- user_files eval
[["k/untrusted.json", $::JWKS{a}]]
--- more_headers eval
"Authorization: Bearer $::T{a}"
--- request
GET /v1/health
--- error_code: 401
--- error_log eval
[qr/background call to "https:[^"]+untrusted[^"]*" failed: .*certificate/,
 qr/jwt rejected: no key set fetched yet/]



=== TEST 11: discovery needs the well-known path
--- http_config
    spectra_jobs_db logs/jobs.db;
--- config
    spectra_auth jwt;
    spectra_jwt_jwks_url https://idp.example/keys discovery;
--- must_die
--- error_log
"spectra_jwt_jwks_url ... discovery" needs the issuer's URL followed by "/.well-known/openid-configuration"



=== TEST 12: a URL that is not http(s) fails nginx -t
--- http_config
    spectra_jobs_db logs/jobs.db;
--- config
    spectra_auth jwt;
    spectra_jwt_jwks_url file:///etc/passwd;
--- must_die
--- error_log
"spectra_jwt_jwks_url" needs an https:// (or http://) URL, not "file:///etc/passwd"



=== TEST 13: key files and a key set URL cannot both be in effect
--- http_config
    spectra_jobs_db logs/jobs.db;
--- config
    spectra_auth jwt;
    spectra_jwt_key_file $TEST_NGINX_REPO/t/data/auth/keys/jwks.json;
    spectra_jwt_jwks_url https://idp.example/keys;
--- must_die
--- error_log
"spectra_jwt_key_file" and "spectra_jwt_jwks_url" cannot both be in effect in one location



=== TEST 14: refresh bounds out of order fail nginx -t
--- http_config
    spectra_jobs_db logs/jobs.db;
--- config
    spectra_auth jwt;
    spectra_jwt_jwks_url https://idp.example/keys;
    spectra_jwt_jwks_refresh 1h 1m;
--- must_die
--- error_log
"spectra_jwt_jwks_refresh": the minimum is above the maximum



=== TEST 15: a trusted certificate file that does not exist fails nginx -t
--- http_config
    spectra_jobs_db logs/jobs.db;
--- config
    spectra_auth jwt;
    spectra_jwt_jwks_url https://idp.example/keys;
    spectra_jwt_jwks_trusted_certificate /nonexistent/ca.pem;
--- must_die
--- error_log
"spectra_jwt_jwks_trusted_certificate": cannot read "/nonexistent/ca.pem"



=== TEST 16: /v1/ready fails naming jwt_keys while a key set was never fetched; the metrics say it is not usable
--- http_config eval: $::ReadyHttp
--- config eval: ::config('never') . $::ReadyConfig
--- init
SpectraJwks::wait_fetches($::Dir, 'never', 1);
--- pipelined_requests eval
["GET /v1/ready", "GET /metrics"]
--- error_code eval
[503, 200]
--- response_body_like eval
[qr/\A\{"status":"unavailable","checks":\{"dataapi":\{"ok":true\},"job_store":\{"ok":true\},"jwt_keys":\{"ok":false,"error":"a JWT key set from a URL was never fetched"\}\},"failing":\["jwt_keys"\]\}\n\z/,
 qr/\nspectra_jwks_keys\{url="https:[^"]+never\.json\?b=never"\} 0\n.*\nspectra_jwks_usable\{url="[^"]+"\} 0\n.*\nspectra_jwks_fetches_total\{url="[^"]+",result="ok"\} 0\nspectra_jwks_fetches_total\{url="[^"]+",result="error"\} \d+\n/s]



=== TEST 17: /v1/ready includes a passing jwt_keys check once the set is fetched; the metrics count its keys
--- http_config eval: $::ReadyHttp
--- config eval: ::config('ready') . $::ReadyConfig
--- user_files eval
[["k/ready.json", $::JWKS{a}]]
--- init
# a token waits for the fetch at start: then the set is stored
SpectraJwks::statuses(::health(), $::T{a}) eq "200\n" or die "no keys";
--- pipelined_requests eval
["GET /v1/ready", "GET /metrics"]
--- response_body_like eval
[qr/\A\{"status":"ready","checks":\{"dataapi":\{"ok":true\},"job_store":\{"ok":true\},"jwt_keys":\{"ok":true\}\}\}\n\z/,
 qr/\nspectra_jwks_keys\{url="https:[^"]+ready\.json\?b=ready"\} 1\n.*\nspectra_jwks_stale\{url="[^"]+"\} 0\n.*\nspectra_jwks_usable\{url="[^"]+"\} 1\n.*\nspectra_jwks_fetches_total\{url="[^"]+",result="ok"\} 1\n/s]
--- no_error_log
[error]
