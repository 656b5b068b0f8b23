# JWT authentication: every supported algorithm accepted with tokens minted
# by Crypt::JWT, the tenant context and the $spectra_* variables, claim
# validation, and configuration errors that make nginx -t fail.
use FindBin ();
use lib "$FindBin::Bin/data/auth/lib";
use Test::Nginx::Socket 'no_plan';
use SpectraLogArchive;
use SpectraAuth qw(ensure_keys mint valid_tokens);

our (%T, $JwtKeys);

my $keys = ensure_keys("$FindBin::Bin/data/auth/keys");

$ENV{TEST_NGINX_AUTH_KEYS} = $keys;

# The tokens, minted again before every block: TEST 22's expired 20 s
# before it runs, not 20 s before the file was loaded.
sub mint_tokens {
    my $now = time;

    %T = ();
    $T{$_->[0]} = $_->[1] for valid_tokens($keys, $now);

    $T{context} = mint($keys, $now, alg => 'ES256',
                       claims => {tenant_id => 'globex',
                                  db_user => 'globex_ro',
                                  db_group => 'analysts', tier => 'gold',
                                  level => 3, beta => JSON::PP::true(),
                                  permissions => 'query openid bulk'});
    $T{default_user} = mint($keys, $now, claims => {tenant_id => 'initech'});
    $T{leeway} = mint($keys, $now, claims => {exp => $now - 20});
    $T{scope} = mint($keys, $now, claims => {permissions => undef,
                                              scope => 'openid query'});
    $T{sub_tenant} = mint($keys, $now, claims => {tenant_id => undef,
                                                   sub => 'umbrella'});
    $T{no_perms} = mint($keys, $now, claims => {permissions => undef});
    $T{bad_user} = mint($keys, $now, claims => {db_user => 'Admin"; --'});
    $T{bad_group} = mint($keys, $now, claims => {db_group => 'pg_read_all'
                                                               . ' x'});
    $T{bad_perms} = mint($keys, $now,
                         claims => {permissions => {query => 1}});
    $T{long_tenant} = mint($keys, $now, claims => {tenant_id => 'a' x 60});
    $T{other_aud} = mint($keys, $now, claims => {aud => 'other'});
}

# The suite's keys, issuer and audience, in a block's server{} (TEST 47
# and 48 give them at http level).
$JwtKeys = <<'_EOC_';
    spectra_jwt_key_file $TEST_NGINX_AUTH_KEYS/hs.secret kid=hs
                         alg=HS256,HS384,HS512;
    spectra_jwt_key_file $TEST_NGINX_AUTH_KEYS/rsa.pub kid=rs
                         alg=RS256,RS384,RS512;
    spectra_jwt_key_file $TEST_NGINX_AUTH_KEYS/ec256.pub kid=es256;
    spectra_jwt_key_file $TEST_NGINX_AUTH_KEYS/ec384.pub kid=es384;
    spectra_jwt_key_file $TEST_NGINX_AUTH_KEYS/ec521.pub kid=es521;
    spectra_jwt_key_file $TEST_NGINX_AUTH_KEYS/jwks.json;
    spectra_jwt_issuer https://issuer.spectra.test;
    spectra_jwt_audience spectra;
_EOC_
# a block's eval sections run just before it, after the tokens are minted
filters_delay();

add_block_preprocessor(sub {
    my $block = shift;

    mint_tokens();
    $block->run_filters unless $block->is_filtered;
});

# the same credentials get the same answer the second time
repeat_each(2);
run_tests();

__DATA__

=== TEST 1: HS256 token minted by Crypt::JWT is accepted
--- http_config
    spectra_jobs_db logs/jobs.db;
--- config eval
$::JwtKeys . q{
    spectra_auth jwt;

    location /v1/ {
        spectra_api;
        add_header X-Tenant "$spectra_tenant_id" always;
        add_header X-DB-User "$spectra_db_user" always;
        add_header X-Method "$spectra_auth_method" always;
    }
}
--- request
GET /v1/health
--- more_headers eval
"Authorization: Bearer $::T{'HS256 with kid'}"
--- response_headers
X-Tenant: acme
X-DB-User: tenant_acme
X-Method: jwt
--- response_body_like chomp
"status":"ok"
--- no_error_log
[error]
spectra: jwt rejected



=== TEST 2: HS384 token is accepted
--- http_config
    spectra_jobs_db logs/jobs.db;
--- config eval
$::JwtKeys . q{
    spectra_auth jwt;

    location /v1/ {
        spectra_api;
        add_header X-Tenant "$spectra_tenant_id" always;
    }
}
--- request
GET /v1/health
--- more_headers eval
"Authorization: Bearer $::T{'HS384 with kid'}"
--- response_headers
X-Tenant: acme
--- no_error_log
[error]
spectra: jwt rejected



=== TEST 3: HS512 token is accepted
--- http_config
    spectra_jobs_db logs/jobs.db;
--- config eval
$::JwtKeys . q{
    spectra_auth jwt;

    location /v1/ {
        spectra_api;
        add_header X-Tenant "$spectra_tenant_id" always;
    }
}
--- request
GET /v1/health
--- more_headers eval
"Authorization: Bearer $::T{'HS512 with kid'}"
--- response_headers
X-Tenant: acme
--- no_error_log
[error]
spectra: jwt rejected



=== TEST 4: RS256 token is accepted
--- http_config
    spectra_jobs_db logs/jobs.db;
--- config eval
$::JwtKeys . q{
    spectra_auth jwt;

    location /v1/ {
        spectra_api;
        add_header X-Tenant "$spectra_tenant_id" always;
    }
}
--- request
GET /v1/health
--- more_headers eval
"Authorization: Bearer $::T{'RS256 with kid'}"
--- response_headers
X-Tenant: acme
--- no_error_log
[error]
spectra: jwt rejected



=== TEST 5: RS384 token is accepted
--- http_config
    spectra_jobs_db logs/jobs.db;
--- config eval
$::JwtKeys . q{
    spectra_auth jwt;

    location /v1/ {
        spectra_api;
        add_header X-Tenant "$spectra_tenant_id" always;
    }
}
--- request
GET /v1/health
--- more_headers eval
"Authorization: Bearer $::T{'RS384 with kid'}"
--- response_headers
X-Tenant: acme
--- no_error_log
[error]
spectra: jwt rejected



=== TEST 6: RS512 token is accepted
--- http_config
    spectra_jobs_db logs/jobs.db;
--- config eval
$::JwtKeys . q{
    spectra_auth jwt;

    location /v1/ {
        spectra_api;
        add_header X-Tenant "$spectra_tenant_id" always;
    }
}
--- request
GET /v1/health
--- more_headers eval
"Authorization: Bearer $::T{'RS512 with kid'}"
--- response_headers
X-Tenant: acme
--- no_error_log
[error]
spectra: jwt rejected



=== TEST 7: ES256 token is accepted
--- http_config
    spectra_jobs_db logs/jobs.db;
--- config eval
$::JwtKeys . q{
    spectra_auth jwt;

    location /v1/ {
        spectra_api;
        add_header X-Tenant "$spectra_tenant_id" always;
    }
}
--- request
GET /v1/health
--- more_headers eval
"Authorization: Bearer $::T{'ES256 with kid'}"
--- response_headers
X-Tenant: acme
--- no_error_log
[error]
spectra: jwt rejected



=== TEST 8: ES384 token (P-384 key) is accepted
--- http_config
    spectra_jobs_db logs/jobs.db;
--- config eval
$::JwtKeys . q{
    spectra_auth jwt;

    location /v1/ {
        spectra_api;
        add_header X-Tenant "$spectra_tenant_id" always;
    }
}
--- request
GET /v1/health
--- more_headers eval
"Authorization: Bearer $::T{'ES384 with kid'}"
--- response_headers
X-Tenant: acme
--- no_error_log
[error]
spectra: jwt rejected



=== TEST 9: ES512 token (P-521 key) is accepted
--- http_config
    spectra_jobs_db logs/jobs.db;
--- config eval
$::JwtKeys . q{
    spectra_auth jwt;

    location /v1/ {
        spectra_api;
        add_header X-Tenant "$spectra_tenant_id" always;
    }
}
--- request
GET /v1/health
--- more_headers eval
"Authorization: Bearer $::T{'ES512 with kid'}"
--- response_headers
X-Tenant: acme
--- no_error_log
[error]
spectra: jwt rejected



=== TEST 10: HS256 token without kid is accepted by the HMAC key
--- http_config
    spectra_jobs_db logs/jobs.db;
--- config eval
$::JwtKeys . q{
    spectra_auth jwt;

    location /v1/ {
        spectra_api;
        add_header X-Tenant "$spectra_tenant_id" always;
    }
}
--- request
GET /v1/health
--- more_headers eval
"Authorization: Bearer $::T{'HS256 without kid'}"
--- response_headers
X-Tenant: acme
--- no_error_log
[error]
spectra: jwt rejected



=== TEST 11: ES256 token without kid is accepted
--- http_config
    spectra_jobs_db logs/jobs.db;
--- config eval
$::JwtKeys . q{
    spectra_auth jwt;

    location /v1/ {
        spectra_api;
        add_header X-Tenant "$spectra_tenant_id" always;
    }
}
--- request
GET /v1/health
--- more_headers eval
"Authorization: Bearer $::T{'ES256 without kid'}"
--- response_headers
X-Tenant: acme
--- no_error_log
[error]
spectra: jwt rejected



=== TEST 12: RS256 token verified by the JWKS key named by kid
--- http_config
    spectra_jobs_db logs/jobs.db;
--- config eval
$::JwtKeys . q{
    spectra_auth jwt;

    location /v1/ {
        spectra_api;
        add_header X-Tenant "$spectra_tenant_id" always;
    }
}
--- request
GET /v1/health
--- more_headers eval
"Authorization: Bearer $::T{'RS256 from the JWKS'}"
--- response_headers
X-Tenant: acme
--- no_error_log
[error]
spectra: jwt rejected



=== TEST 13: ES256 token verified by the JWKS EC key
--- http_config
    spectra_jobs_db logs/jobs.db;
--- config eval
$::JwtKeys . q{
    spectra_auth jwt;

    location /v1/ {
        spectra_api;
        add_header X-Tenant "$spectra_tenant_id" always;
    }
}
--- request
GET /v1/health
--- more_headers eval
"Authorization: Bearer $::T{'ES256 from the JWKS'}"
--- response_headers
X-Tenant: acme
--- no_error_log
[error]
spectra: jwt rejected



=== TEST 14: aud as an array containing the audience is accepted
--- http_config
    spectra_jobs_db logs/jobs.db;
--- config eval
$::JwtKeys . q{
    spectra_auth jwt;

    location /v1/ {
        spectra_api;
        add_header X-Tenant "$spectra_tenant_id" always;
    }
}
--- request
GET /v1/health
--- more_headers eval
"Authorization: Bearer $::T{'aud as an array'}"
--- response_headers
X-Tenant: acme
--- no_error_log
[error]



=== TEST 15: the scheme name is case-insensitive
--- http_config
    spectra_jobs_db logs/jobs.db;
--- config eval
$::JwtKeys . q{
    spectra_auth jwt;

    location /v1/ {
        spectra_api;
        add_header X-Tenant "$spectra_tenant_id" always;
    }
}
--- request
GET /v1/health
--- more_headers eval
"Authorization: bearer $::T{'HS256 with kid'}"
--- response_headers
X-Tenant: acme
--- no_error_log
[error]



=== TEST 16: the tenant context comes from the claims
--- http_config
    spectra_jobs_db logs/jobs.db;
--- config eval
$::JwtKeys . q{
    spectra_auth jwt;

    location /v1/ {
        spectra_api;
        add_header X-Tenant "$spectra_tenant_id" always;
        add_header X-DB-User "$spectra_db_user" always;
        add_header X-DB-Group "$spectra_db_group" always;
        add_header X-Method "$spectra_auth_method" always;
        add_header X-Tier "$spectra_claim_tier" always;
    }
}
--- request
GET /v1/health
--- more_headers eval
"Authorization: Bearer $::T{context}"
--- response_headers
X-Tenant: globex
X-DB-User: globex_ro
X-DB-Group: analysts
X-Method: jwt
X-Tier: gold
--- no_error_log
[error]



=== TEST 17: $spectra_claim_ renders numbers and booleans
--- http_config
    spectra_jobs_db logs/jobs.db;
--- config
    spectra_auth jwt;
    spectra_jwt_key_file $TEST_NGINX_AUTH_KEYS/ec256.pub kid=es256;
    location /v1/ {
        spectra_api;
        add_header X-Level "$spectra_claim_level" always;
        add_header X-Beta "$spectra_claim_beta" always;
        add_header X-Perms "[$spectra_claim_permissions]" always;
        add_header X-None "[$spectra_claim_nothing]" always;
    }
--- request
GET /v1/health
--- more_headers eval
"Authorization: Bearer $::T{context}"
--- response_headers
X-Level: 3
X-Beta: true
X-Perms: [query openid bulk]
X-None: []
--- no_error_log
[error]



=== TEST 18: db_user defaults to tenant_<tenant_id>, db_group to empty
--- http_config
    spectra_jobs_db logs/jobs.db;
--- config eval
$::JwtKeys . q{
    spectra_auth jwt;

    location /v1/ {
        spectra_api;
        add_header X-Tenant "$spectra_tenant_id" always;
        add_header X-DB-User "$spectra_db_user" always;
        add_header X-DB-Group "$spectra_db_group" always;
    }
}
--- request
GET /v1/health
--- more_headers eval
"Authorization: Bearer $::T{default_user}"
--- response_headers
X-Tenant: initech
X-DB-User: tenant_initech
X-DB-Group:
--- no_error_log
[error]



=== TEST 19: spectra_db_user_prefix changes the default db_user
--- http_config
    spectra_jobs_db logs/jobs.db;
--- config
    spectra_auth jwt;
    spectra_db_user_prefix t_;
    spectra_jwt_key_file $TEST_NGINX_AUTH_KEYS/hs.secret kid=hs;
    location /v1/ {
        spectra_api;
        add_header X-DB-User "$spectra_db_user" always;
    }
--- request
GET /v1/health
--- more_headers eval
"Authorization: Bearer $::T{default_user}"
--- response_headers
X-DB-User: t_initech
--- no_error_log
[error]



=== TEST 20: spectra_jwt_claim renames the tenant claim
--- http_config
    spectra_jobs_db logs/jobs.db;
--- config
    spectra_auth jwt;
    spectra_jwt_claim tenant_id sub;
    spectra_jwt_key_file $TEST_NGINX_AUTH_KEYS/hs.secret kid=hs;
    location /v1/ {
        spectra_api;
        add_header X-Tenant "$spectra_tenant_id" always;
    }
--- request
GET /v1/health
--- more_headers eval
"Authorization: Bearer $::T{sub_tenant}"
--- response_headers
X-Tenant: umbrella
--- no_error_log
[error]



=== TEST 21: without the configured tenant claim the token is refused
--- http_config
    spectra_jobs_db logs/jobs.db;
--- config eval
$::JwtKeys . q{
    spectra_auth jwt;

    location /v1/ {
        spectra_api;
    }
}
--- request
GET /v1/health
--- more_headers eval
"Authorization: Bearer $::T{sub_tenant}"
--- error_code: 401
--- response_body_like chomp
"code":"UNAUTHENTICATED"
--- error_log
spectra: jwt rejected: no tenant id claim



=== TEST 22: leeway accepts a token expired 20 s ago
--- http_config
    spectra_jobs_db logs/jobs.db;
--- config
    spectra_auth jwt;
    spectra_jwt_leeway 60s;
    spectra_jwt_key_file $TEST_NGINX_AUTH_KEYS/hs.secret kid=hs;
    location /v1/ {
        spectra_api;
    }
--- request
GET /v1/health
--- more_headers eval
"Authorization: Bearer $::T{leeway}"
--- no_error_log
[error]
spectra: jwt rejected



=== TEST 23: without leeway the same token is expired
--- http_config
    spectra_jobs_db logs/jobs.db;
--- config eval
$::JwtKeys . q{
    spectra_auth jwt;

    location /v1/ {
        spectra_api;
    }
}
--- request
GET /v1/health
--- more_headers eval
"Authorization: Bearer $::T{leeway}"
--- error_code: 401
--- error_log
spectra: jwt rejected: expired



=== TEST 24: a db_user claim that is not a role name is refused
--- http_config
    spectra_jobs_db logs/jobs.db;
--- config eval
$::JwtKeys . q{
    spectra_auth jwt;

    location /v1/ {
        spectra_api;
    }
}
--- request
GET /v1/health
--- more_headers eval
"Authorization: Bearer $::T{bad_user}"
--- error_code: 401
--- response_body_like chomp
"code":"UNAUTHENTICATED"
--- error_log
spectra: jwt rejected: db_user or db_group is not a role name



=== TEST 25: a db_group claim that is not a role name is refused
--- http_config
    spectra_jobs_db logs/jobs.db;
--- config eval
$::JwtKeys . q{
    spectra_auth jwt;

    location /v1/ {
        spectra_api;
    }
}
--- request
GET /v1/health
--- more_headers eval
"Authorization: Bearer $::T{bad_group}"
--- error_code: 401
--- error_log
spectra: jwt rejected: db_user or db_group is not a role name



=== TEST 26: a permissions claim that is an object is refused
--- http_config
    spectra_jobs_db logs/jobs.db;
--- config eval
$::JwtKeys . q{
    spectra_auth jwt;

    location /v1/ {
        spectra_api;
    }
}
--- request
GET /v1/health
--- more_headers eval
"Authorization: Bearer $::T{bad_perms}"
--- error_code: 401
--- error_log
spectra: jwt rejected: permissions claim malformed



=== TEST 27: a 60-byte tenant id makes a db_user longer than 63 bytes
--- http_config
    spectra_jobs_db logs/jobs.db;
--- config eval
$::JwtKeys . q{
    spectra_auth jwt;

    location /v1/ {
        spectra_api;
    }
}
--- request
GET /v1/health
--- more_headers eval
"Authorization: Bearer $::T{long_tenant}"
--- error_code: 401
--- error_log
spectra: jwt rejected: the derived db_user is not a role name



=== TEST 28: spectra_require bulk lets a token with bulk through
--- http_config
    spectra_jobs_db logs/jobs.db;
--- config
    spectra_auth jwt;
    spectra_jwt_key_file $TEST_NGINX_AUTH_KEYS/ec256.pub kid=es256;
    location /v1/ {
        spectra_require query bulk;
        spectra_api;
    }
--- request
GET /v1/health
--- more_headers eval
"Authorization: Bearer $::T{context}"
--- no_error_log
[error]



=== TEST 29: spectra_require admin answers 403 FORBIDDEN without admin
--- http_config
    spectra_jobs_db logs/jobs.db;
--- config
    spectra_auth jwt;
    spectra_jwt_key_file $TEST_NGINX_AUTH_KEYS/ec256.pub kid=es256;
    location /v1/ {
        spectra_require admin;
        spectra_api;
    }
--- request
GET /v1/health
--- more_headers eval
"Authorization: Bearer $::T{context}"
--- error_code: 403
--- response_body_like chomp
^\{"error":\{"code":"FORBIDDEN","message":"the credentials lack the \\"admin\\" permission","request_id":"[0-9a-f]{32}"\}\}$
--- error_log
spectra: tenant "globex" lacks a required permission



=== TEST 30: permissions can come from an OAuth scope claim
--- http_config
    spectra_jobs_db logs/jobs.db;
--- config
    spectra_auth jwt;
    spectra_jwt_claim permissions scope;
    spectra_jwt_key_file $TEST_NGINX_AUTH_KEYS/hs.secret kid=hs;
    location /v1/ {
        spectra_require query;
        spectra_api;
    }
--- request
GET /v1/health
--- more_headers eval
"Authorization: Bearer $::T{scope}"
--- no_error_log
[error]



=== TEST 31: a token without permissions is authenticated but not allowed
--- http_config
    spectra_jobs_db logs/jobs.db;
--- config
    spectra_auth jwt;
    spectra_jwt_key_file $TEST_NGINX_AUTH_KEYS/hs.secret kid=hs;
    location /v1/ {
        spectra_require query;
        spectra_api;
    }
--- request
GET /v1/health
--- more_headers eval
"Authorization: Bearer $::T{no_perms}"
--- error_code: 403
--- response_body_like chomp
"code":"FORBIDDEN"



=== TEST 32: no credentials: 401 with WWW-Authenticate and the JSON error
--- http_config
    spectra_jobs_db logs/jobs.db;
--- config eval
$::JwtKeys . q{
    spectra_auth jwt;

    location /v1/ {
        spectra_api;
    }
}
--- request
GET /v1/health
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer realm="spectra"
Content-Type: application/json; charset=utf-8
--- response_body_like chomp
^\{"error":\{"code":"UNAUTHENTICATED","message":"missing credentials","request_id":"[0-9a-f]{32}"\}\}$
--- error_log
spectra: no credentials



=== TEST 33: an invalid token: error="invalid_token", token not logged
--- http_config
    spectra_jobs_db logs/jobs.db;
--- config eval
$::JwtKeys . q{
    spectra_auth jwt;

    location /v1/ {
        spectra_api;
    }
}
--- request
GET /v1/health
--- more_headers
Authorization: Bearer eyJhbGciOiJub25lIn0.eyJ0ZW5hbnRfaWQiOiJhY21lIn0.
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer realm="spectra", error="invalid_token"
--- response_body_like chomp
"message":"invalid or expired credentials"
--- log_level: info
--- error_log
spectra: jwt rejected: alg none
--- no_error_log
eyJ



=== TEST 34: another scheme (Basic) is an invalid credential
--- http_config
    spectra_jobs_db logs/jobs.db;
--- config eval
$::JwtKeys . q{
    spectra_auth jwt;

    location /v1/ {
        spectra_api;
    }
}
--- request
GET /v1/health
--- more_headers
Authorization: Basic YWNtZTphY21l
--- error_code: 401
--- error_log
spectra: jwt rejected: empty token



=== TEST 35: 401 with a request body keeps the connection usable
--- http_config
    spectra_jobs_db logs/jobs.db;
--- config eval
$::JwtKeys . q{
    spectra_auth jwt;

    location /v1/ {
        spectra_api;
    }
}
--- request eval
["POST /v1/health\n" . ("{\"sql\": \"select 1\"}" x 200),
 "GET /v1/health"]
--- more_headers eval
["Authorization: Bearer nope.nope.nope\nContent-Type: application/json",
 "Authorization: Bearer $::T{'HS256 with kid'}"]
--- error_code eval
[401, 200]
--- no_error_log
[error]



=== TEST 36: a token with a kid is not tried on keys without a kid
--- http_config
    spectra_jobs_db logs/jobs.db;
--- config
    spectra_auth jwt;
    spectra_jwt_key_file $TEST_NGINX_AUTH_KEYS/hs.secret;
    location /v1/ {
        spectra_api;
    }
--- request
GET /v1/health
--- more_headers eval
"Authorization: Bearer $::T{'HS256 with kid'}"
--- error_code: 401
--- error_log
spectra: jwt rejected: unknown kid



=== TEST 37: spectra_auth off in a location needs no credentials
--- http_config
    spectra_jobs_db logs/jobs.db;
--- config
    spectra_auth jwt;
    spectra_jwt_key_file $TEST_NGINX_AUTH_KEYS/hs.secret;
    location = /v1/health {
        spectra_auth off;
        spectra_api;
        add_header X-Tenant "[$spectra_tenant_id]" always;
    }
--- request
GET /v1/health
--- response_headers
X-Tenant: []
--- no_error_log
[error]
spectra:



=== TEST 38: nginx -t fails on a missing key file
--- config
    spectra_jwt_key_file $TEST_NGINX_AUTH_KEYS/missing.pem;
--- must_die
--- error_log
missing.pem" failed (2: No such file or directory)



=== TEST 39: nginx -t fails on a malformed PEM
--- config
    spectra_jwt_key_file ../html/bad.pem;
--- user_files
>>> bad.pem
-----BEGIN PUBLIC KEY-----
bm90IGEga2V5
-----END PUBLIC KEY-----
--- must_die
--- error_log
bad.pem": not a PEM public key ("BEGIN PUBLIC KEY" expected)



=== TEST 40: nginx -t refuses an RSA public key as an HMAC secret
--- config
    spectra_jwt_key_file $TEST_NGINX_AUTH_KEYS/rsa.pub type=hmac;
--- must_die
--- error_log
the HMAC secret looks like a PEM or JWKS file



=== TEST 41: nginx -t refuses HS256 pinned on an RSA key
--- config
    spectra_jwt_key_file $TEST_NGINX_AUTH_KEYS/rsa.pub alg=HS256;
--- must_die
--- error_log
the algorithms given do not fit the key (RSA keys verify only RS256, RS384, RS512)



=== TEST 42: nginx -t refuses ES384 pinned on a P-256 key
--- config
    spectra_jwt_key_file $TEST_NGINX_AUTH_KEYS/ec256.pub alg=ES384;
--- must_die
--- error_log
verify only ES256)



=== TEST 43: nginx -t refuses a short HMAC secret
--- config
    spectra_jwt_key_file ../html/short.secret;
--- user_files
>>> short.secret
too-short
--- must_die
--- error_log
the HMAC secret has 9 bytes, HS256 needs at least 32



=== TEST 44: nginx -t refuses a JWKS with a private key
--- config
    spectra_jwt_key_file ../html/private.jwks;
--- user_files
>>> private.jwks
{"keys":[{"kty":"EC","crv":"P-256","d":"AAAA","x":"dfyt6PRieqEBQH3mjv9OckGtJVtQlo8j7k3E-D1tsck","y":"4V_N9B5cgK4w-k5B-x-5YtCgA9Xxx1ESKKQBu5ANnFs"}]}
--- must_die
--- error_log
a JWK has the private member "d"



=== TEST 45: nginx -t refuses spectra_auth jwt without keys
--- config
    spectra_auth jwt;
--- must_die
--- error_log
"spectra_auth" needs "spectra_jwt_key_file" (jwt) or "spectra_api_keys" (api_key) in effect



=== TEST 46: nginx -t refuses an unknown alg= value
--- config
    spectra_jwt_key_file $TEST_NGINX_AUTH_KEYS/hs.secret alg=none;
--- must_die
--- error_log
invalid "alg=none"



=== TEST 47: an audience given at http level is checked in every server
--- http_config
    spectra_jobs_db logs/jobs.db;
    spectra_jwt_key_file $TEST_NGINX_AUTH_KEYS/hs.secret kid=hs;
    spectra_jwt_issuer https://issuer.spectra.test;
    spectra_jwt_audience spectra;
--- config
    spectra_auth jwt;

    location /v1/ {
        spectra_api;
    }
--- request
GET /v1/health
--- more_headers eval
"Authorization: Bearer $::T{other_aud}"
--- error_code: 401
--- error_log
spectra: jwt rejected: wrong audience



=== TEST 48: and the right audience, given at http level, is accepted
--- http_config
    spectra_jobs_db logs/jobs.db;
    spectra_jwt_key_file $TEST_NGINX_AUTH_KEYS/hs.secret kid=hs;
    spectra_jwt_issuer https://issuer.spectra.test;
    spectra_jwt_audience spectra;
--- config
    spectra_auth jwt;

    location /v1/ {
        spectra_api;
    }
--- request
GET /v1/health
--- more_headers eval
"Authorization: Bearer $::T{'HS256 with kid'}"
--- response_body_like chomp
"status":"ok"
--- no_error_log
[error]
spectra: jwt rejected
