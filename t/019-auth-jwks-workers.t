# Keys from a URL with two workers (master process): the key set is
# fetched once for both, and a burst of unknown kids spread over both
# workers causes one refresh between them (single flight in the shared
# zone); a rotation is then seen by every worker without a reload.
use FindBin ();
use lib "$FindBin::Bin/data/auth/lib";
use Test::Nginx::Socket 'no_plan';
use SpectraLogArchive;
use SpectraAuth qw(ensure_keys mint slurp);
use SpectraJwks qw(start_server stop_server jwk jwks_json wait_fetches
                   statuses);

our (%T, %JWKS, $Dir, $Port, $Html);

my $keys = ensure_keys("$FindBin::Bin/data/auth/keys");

# the JWKS server: base + 11 (t/018 has base + 10)
$Port = ($ENV{SPECTRA_PORT_BASE} // 21400) + 11;
$Dir = ($ENV{TEST_NGINX_SERVROOT} // "$FindBin::Bin/servroot") . '.jwks2';
$Html = ($ENV{TEST_NGINX_SERVROOT} // "$FindBin::Bin/servroot") . '/html';

$ENV{TEST_NGINX_JWKS_PORT} = $Port;
$ENV{TEST_NGINX_JWKS_DIR} = $Dir;

start_server(dir => $Dir, port => $Port, html => $Html);
add_cleanup_handler(sub { stop_server($Dir) });

my %pem = (a => slurp("$keys/rsa-jwks.key"), b => slurp("$keys/ec-jwks.key"),
           c => slurp("$keys/rsa-other.key"));
my %alg = (a => 'RS256', b => 'ES256', c => 'RS256');

$JWKS{a} = jwks_json(jwk("$keys/rsa-jwks.key", 'a', alg => 'RS256'));
$JWKS{ab} = jwks_json(jwk("$keys/rsa-jwks.key", 'a', alg => 'RS256'),
                      jwk("$keys/ec-jwks.key", 'b'));

sub token {
    my ($signer, $kid) = @_;
    return mint($keys, time, alg => $alg{$signer}, kid => $kid,
                key => \$pem{$signer});
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

master_on();
workers(2);

run_tests();

__DATA__

=== TEST 1: two workers: one fetch at start; sixteen unknown kids at once cause one more; then both workers verify the rotated key
--- http_config
    spectra_jobs_db logs/jobs.db;
--- config
    spectra_auth jwt;
    spectra_jwt_jwks_url https://127.0.0.1:$TEST_NGINX_JWKS_PORT/k/w.json?b=w;
    spectra_jwt_jwks_trusted_certificate $TEST_NGINX_JWKS_DIR/ca.crt;
    spectra_jwt_jwks_refresh 1h 1h;
    spectra_jwt_issuer https://issuer.spectra.test;
    spectra_jwt_audience spectra;

    location /v1/ {
        spectra_api;
    }

    location = /fetches {
        spectra_auth off;
        default_type text/plain;
        alias $TEST_NGINX_JWKS_DIR/logs/w.log;
    }

    location /results/ {
        spectra_auth off;
        default_type text/plain;
        alias $TEST_NGINX_SERVER_ROOT/html/;
    }
--- user_files eval
[["k/w.json", $::JWKS{a}]]
--- init
SpectraJwks::wait_fetches($::Dir, 'w', 1);
# both workers have their copy of the set before the key set changes
my $s = SpectraJwks::statuses(::health(), (::token('a', 'a')) x 8);
::spew('k/w.json', $::JWKS{ab});
$s .= SpectraJwks::statuses(::health(),
                            map { ::token('c', "x$_") } 1 .. 16);
$s .= SpectraJwks::statuses(::health(), (::token('b', 'b')) x 8);
::spew('w.txt', $s);
--- pipelined_requests eval
["GET /results/w.txt", "GET /fetches"]
--- response_body_like eval
[qr{\A(?:200 ){7}200\n(?:401 ){15}401\n(?:200 ){7}200\n\z},
 qr{\A/k/w\.json\n/k/w\.json\n\z}]
--- no_error_log
[error]
[alert]
