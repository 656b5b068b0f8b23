# spectra-jwt mints tokens nginx accepts, for every algorithm the module
# verifies, with the tenant context in them; and refuses to mint what
# the module would refuse (a bad tenant id, an HMAC secret too short, a
# key that does not fit the algorithm).
use FindBin ();
use lib "$FindBin::Bin/data/auth/lib";
use Test::Nginx::Socket 'no_plan';
use SpectraLogArchive;
use Time::HiRes ();
use SpectraAuth qw(ensure_keys);

our ($KEYS, $TOOL, $JwtKeys);

$KEYS = ensure_keys("$FindBin::Bin/data/auth/keys");
$TOOL = ($ENV{SPECTRA_BUILD} // 'build') . '/spectra-jwt';

# every block needs the tool: the file fails without it, it does not skip
die "$TOOL is not built (run the suites through scripts/test.sh)\n"
    unless -x $TOOL;

$ENV{TEST_NGINX_AUTH_KEYS} = $KEYS;

# The keys of every algorithm the module verifies, with the tool's issuer
# and audience, in a block's server{}: at http level the module does not
# apply spectra_jwt_audience today.
$JwtKeys = <<'_EOC_';
    spectra_jwt_key_file $TEST_NGINX_AUTH_KEYS/hs.secret kid=hs
                         alg=HS256,HS384,HS512;
    spectra_jwt_key_file $TEST_NGINX_AUTH_KEYS/rsa.pub kid=rs
                         alg=RS256,RS384,RS512;
    spectra_jwt_key_file $TEST_NGINX_AUTH_KEYS/ec256.pub kid=es256;
    spectra_jwt_key_file $TEST_NGINX_AUTH_KEYS/ec384.pub kid=es384;
    spectra_jwt_key_file $TEST_NGINX_AUTH_KEYS/ec521.pub kid=es521;
    spectra_jwt_issuer https://issuer.spectra.test;
    spectra_jwt_audience spectra;
_EOC_

# A token from the tool; dies with its message when it refuses.
sub jwt {
    my (@args) = @_;
    my $out = `$TOOL --issuer https://issuer.spectra.test --audience spectra @args 2>&1`;

    die "spectra-jwt @args: $out" if $?;
    chomp $out;

    return $out;
}

# What the tool says when it refuses, and its exit code.
sub refused {
    my (@args) = @_;
    my $out = `$TOOL @args 2>&1`;

    return ($? >> 8) . ": $out";
}

# The refusals (run by TEST 6's init).
sub check_refusals {
    Test::More::like(refused("--key $KEYS/hs.secret --alg HS256 --tenant Acme"),
         qr/^2: spectra-jwt: --tenant must be 1 to 63 of a-z 0-9 _/,
         "$0 - an upper-case tenant id is not minted");
    Test::More::like(refused("--key $KEYS/hs.secret --alg HS256 --tenant acme "
                 . "--db-user 'x; drop'"),
         qr/^2: spectra-jwt: --db-user and --db-group must be role names/,
         "$0 - a db_user that is no role name is not minted");
    Test::More::like(refused("--key $KEYS/rsa.pub --alg RS256 --tenant acme"),
         qr/^2: spectra-jwt: .*rsa\.pub is not a PEM private key/,
         "$0 - a public key does not sign");
    Test::More::like(refused("--key $KEYS/rsa.key --alg ES256 --tenant acme"),
         qr/^1: spectra-jwt: signing failed/,
         "$0 - an RSA key does not sign ES256");
    Test::More::like(refused("--key $KEYS/hs.secret --alg none --tenant acme"),
         qr/^2: spectra-jwt: --alg must be one of/,
         "$0 - alg none does not exist here");
    Test::More::like(refused("--key $KEYS/hs.secret --alg HS256 --tenant acme "
                 . "--claim tenant_id=globex"),
         qr/^2: spectra-jwt: a claim is given twice/,
         "$0 - a claim cannot be given twice");
    Test::More::like(refused("--alg HS256 --tenant acme"), qr/^2: usage: spectra-jwt/,
         "$0 - the key is required");
}

# a token gets the same answer the second time
repeat_each(2);
run_tests();

__DATA__

=== TEST 1: HS256 with the HMAC secret
--- config eval
$::JwtKeys . q{
    spectra_auth jwt;

    # a static file: the access phase runs (a return would come first)
    location = /who {
        add_header X-Who "$spectra_tenant_id/$spectra_db_user/$spectra_db_group/$spectra_claim_permissions";
    }
}
--- user_files
>>> who
hello
--- more_headers eval
"Authorization: Bearer " . main::jwt("--key $::KEYS/hs.secret --alg HS256 --kid hs --tenant acme")
--- request
GET /who
--- response_headers
X-Who: acme/tenant_acme//query
--- no_error_log
[error]



=== TEST 2: RS256, RS384 and RS512 with the RSA key
--- config eval
$::JwtKeys . q{
    spectra_auth jwt;

    # a static file: the access phase runs (a return would come first)
    location = /who {
        add_header X-Who "$spectra_tenant_id/$spectra_db_user/$spectra_db_group/$spectra_claim_permissions";
    }
}
--- user_files
>>> who
hello
--- more_headers eval
[map { "Authorization: Bearer " . main::jwt("--key $::KEYS/rsa.key --alg $_ --kid rs --tenant globex --permissions 'query bulk'") } qw(RS256 RS384 RS512)]
--- request eval
["GET /who", "GET /who", "GET /who"]
--- response_headers eval
[("X-Who: globex/tenant_globex//query bulk") x 3]
--- no_error_log
[error]



=== TEST 3: ES256, ES384 and ES512 with the matching curves
--- config eval
$::JwtKeys . q{
    spectra_auth jwt;

    # a static file: the access phase runs (a return would come first)
    location = /who {
        add_header X-Who "$spectra_tenant_id/$spectra_db_user/$spectra_db_group/$spectra_claim_permissions";
    }
}
--- user_files
>>> who
hello
--- more_headers eval
["Authorization: Bearer " . main::jwt("--key $::KEYS/ec256.key --alg ES256 --kid es256 --tenant initech"),
 "Authorization: Bearer " . main::jwt("--key $::KEYS/ec384.key --alg ES384 --kid es384 --tenant initech"),
 "Authorization: Bearer " . main::jwt("--key $::KEYS/ec521.key --alg ES512 --kid es521 --tenant initech")]
--- request eval
["GET /who", "GET /who", "GET /who"]
--- response_headers eval
[("X-Who: initech/tenant_initech//query") x 3]
--- no_error_log
[error]



=== TEST 4: the tenant context claims a token carries
--- config eval
$::JwtKeys . q{
    spectra_auth jwt;

    # a static file: the access phase runs (a return would come first)
    location = /who {
        add_header X-Who "$spectra_tenant_id/$spectra_db_user/$spectra_db_group/$spectra_claim_permissions";
    }
}
--- user_files
>>> who
hello
--- more_headers eval
"Authorization: Bearer " . main::jwt("--key $::KEYS/ec256.key --alg ES256 --kid es256 --tenant acme --db-user acme_reader --db-group analysts --permissions admin")
--- request
GET /who
--- response_headers
X-Who: acme/acme_reader/analysts/admin
--- no_error_log
[error]



=== TEST 5: an expired token from the tool is refused like any other
--- config eval
$::JwtKeys . q{
    spectra_auth jwt;

    # a static file: the access phase runs (a return would come first)
    location = /who {
        add_header X-Who "$spectra_tenant_id/$spectra_db_user/$spectra_db_group/$spectra_claim_permissions";
    }
}
--- user_files
>>> who
hello
--- more_headers eval
"Authorization: Bearer " . main::jwt("--key $::KEYS/hs.secret --alg HS256 --kid hs --tenant acme --ttl 1")
--- init
# the token lives 1 s: it has expired when the request goes
Time::HiRes::sleep(2.2);
--- request
GET /who
--- error_code: 401
--- error_log
spectra: jwt rejected: expired



=== TEST 6: what the module would refuse is not minted
--- config
    location /t {
        return 200 "ok\n";
    }
--- request
GET /t
--- init
main::check_refusals();
--- response_body
ok
