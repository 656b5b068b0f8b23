# Per-tenant rate limits with nginx's own limit_req keyed on
# $spectra_tenant_id (evaluated lazily in the preaccess phase): tenant A
# exhausting its limit gets the JSON 429 with Retry-After while tenant B
# still gets 200; tiers through map; unauthenticated requests are not
# counted against anyone and get 401.
use FindBin ();
use lib "$FindBin::Bin/data/auth/lib";
use Test::Nginx::Socket 'no_plan';
use SpectraLogArchive;
use Digest::SHA qw(sha256_hex);
use SpectraAuth qw(ensure_keys mint);

our (%T, %K, $A, $G);

my $keys = ensure_keys("$FindBin::Bin/data/auth/keys");
my $now = time;

$ENV{TEST_NGINX_AUTH_KEYS} = $keys;

$T{acme} = mint($keys, $now, claims => {tenant_id => 'acme'});
$T{globex} = mint($keys, $now, claims => {tenant_id => 'globex'});
$T{gold} = mint($keys, $now, claims => {tenant_id => 'initech',
                                         tier => 'gold'});

my $secret = 'K' x 43;
$K{acme} = "spk_ac_$secret";
$ENV{TEST_NGINX_KEY_LINE} = 'ac ' . sha256_hex($secret)
                            . ' tenant=acme permissions=query';

$A = "Authorization: Bearer $T{acme}";
$G = "Authorization: Bearer $T{globex}";

run_tests();

__DATA__

=== TEST 1: acme exhausts its limit and gets 429 while globex gets 200
--- http_config
    spectra_jobs_db logs/jobs.db;

    limit_req_zone $spectra_tenant_id zone=tenants:1m rate=1r/m;
--- config
    spectra_auth any;
    spectra_jwt_key_file $TEST_NGINX_AUTH_KEYS/hs.secret kid=hs;
    spectra_api_keys ../html/api.keys;
    spectra_retry_after 7;
    error_page 429 @spectra_error;

    location @spectra_error {
        spectra_auth off;
        spectra_error_page;
        add_header X-Tenant "[$spectra_tenant_id]" always;
    }

    location /v1/ {
        limit_req zone=tenants burst=2 nodelay;
        limit_req_status 429;
        spectra_api;
        add_header X-Tenant "[$spectra_tenant_id]" always;
    }
--- user_files
>>> api.keys
$TEST_NGINX_KEY_LINE
--- request eval
[map { "GET /v1/health" } 1 .. 6]
--- more_headers eval
[$::A, $::A, $::A, $::A, $::G, $::G]
--- error_code eval
[200, 200, 200, 429, 200, 200]
--- response_headers eval
["X-Tenant: [acme]", "X-Tenant: [acme]", "X-Tenant: [acme]",
 "X-Tenant: [acme]\nRetry-After: 7\nContent-Type: application/json; charset=utf-8",
 "X-Tenant: [globex]", "X-Tenant: [globex]"]
--- response_body_like eval
[qr/"status":"ok"/, qr/"status":"ok"/, qr/"status":"ok"/,
 qr/^\{"error":\{"code":"RATE_LIMITED","message":"too many requests, retry later","request_id":"[0-9a-f]{32}"\}\}$/,
 qr/"status":"ok"/, qr/"status":"ok"/]



=== TEST 2: an API key and a JWT of the same tenant share its limit
--- http_config
    spectra_jobs_db logs/jobs.db;

    limit_req_zone $spectra_tenant_id zone=tenants:1m rate=1r/m;
--- config
    spectra_auth any;
    spectra_jwt_key_file $TEST_NGINX_AUTH_KEYS/hs.secret kid=hs;
    spectra_api_keys ../html/api.keys;
    spectra_retry_after 7;
    error_page 429 @spectra_error;

    location @spectra_error {
        spectra_auth off;
        spectra_error_page;
        add_header X-Tenant "[$spectra_tenant_id]" always;
    }

    location /v1/ {
        limit_req zone=tenants burst=2 nodelay;
        limit_req_status 429;
        spectra_api;
        add_header X-Tenant "[$spectra_tenant_id]" always;
    }
--- user_files
>>> api.keys
$TEST_NGINX_KEY_LINE
--- request eval
[map { "GET /v1/health" } 1 .. 4]
--- more_headers eval
[$::A, "X-API-Key: $::K{acme}", $::A, "X-API-Key: $::K{acme}"]
--- error_code eval
[200, 200, 200, 429]



=== TEST 3: unauthenticated requests get 401, never 429, and use no budget
--- http_config
    spectra_jobs_db logs/jobs.db;

    limit_req_zone $spectra_tenant_id zone=tenants:1m rate=1r/m;
--- config
    spectra_auth any;
    spectra_jwt_key_file $TEST_NGINX_AUTH_KEYS/hs.secret kid=hs;
    spectra_api_keys ../html/api.keys;
    spectra_retry_after 7;
    error_page 429 @spectra_error;

    location @spectra_error {
        spectra_auth off;
        spectra_error_page;
        add_header X-Tenant "[$spectra_tenant_id]" always;
    }

    location /v1/ {
        limit_req zone=tenants burst=2 nodelay;
        limit_req_status 429;
        spectra_api;
        add_header X-Tenant "[$spectra_tenant_id]" always;
    }
--- user_files
>>> api.keys
$TEST_NGINX_KEY_LINE
--- request eval
[map { "GET /v1/health" } 1 .. 7]
--- more_headers eval
["", "X-Tenant-ID: acme", "Authorization: Bearer x.y.z", "", "", "",
 $::A]
--- error_code eval
[401, 401, 401, 401, 401, 401, 200]
--- no_error_log
limiting requests



=== TEST 4: a spoofed tenant header does not drain acme's budget
--- http_config
    spectra_jobs_db logs/jobs.db;

    limit_req_zone $spectra_tenant_id zone=tenants:1m rate=1r/m;
--- config
    spectra_auth any;
    spectra_jwt_key_file $TEST_NGINX_AUTH_KEYS/hs.secret kid=hs;
    spectra_api_keys ../html/api.keys;
    spectra_retry_after 7;
    error_page 429 @spectra_error;

    location @spectra_error {
        spectra_auth off;
        spectra_error_page;
        add_header X-Tenant "[$spectra_tenant_id]" always;
    }

    location /v1/ {
        limit_req zone=tenants burst=2 nodelay;
        limit_req_status 429;
        spectra_api;
        add_header X-Tenant "[$spectra_tenant_id]" always;
    }
--- user_files
>>> api.keys
$TEST_NGINX_KEY_LINE
--- request eval
[map { "GET /v1/health" } 1 .. 6]
--- more_headers eval
["$::G\nX-Tenant-ID: acme", "$::G\nX-Tenant-ID: acme",
 "$::G\nX-Tenant-ID: acme", $::A, $::A, $::A]
--- error_code eval
[200, 200, 200, 200, 200, 200]



=== TEST 5: tiers via map: gold is not limited, the default tier is
--- http_config
    spectra_jobs_db logs/jobs.db;

    # tiers: gold tenants are not limited (an empty key is not counted)
    map $spectra_claim_tier $spectra_tier_key {
        gold     "";
        default  $spectra_tenant_id;
    }
    limit_req_zone $spectra_tier_key zone=tiers:1m rate=1r/m;
--- config
    spectra_auth any;
    spectra_jwt_key_file $TEST_NGINX_AUTH_KEYS/hs.secret kid=hs;
    spectra_api_keys ../html/api.keys;
    spectra_retry_after 7;
    error_page 429 @spectra_error;

    location @spectra_error {
        spectra_auth off;
        spectra_error_page;
        add_header X-Tenant "[$spectra_tenant_id]" always;
    }

    location /tiered/ {
        rewrite ^/tiered/(.*)$ /v1/$1 break;
        limit_req zone=tiers burst=1 nodelay;
        limit_req_status 429;
        spectra_api;
    }
--- user_files
>>> api.keys
$TEST_NGINX_KEY_LINE
--- request eval
[map { "GET /tiered/health" } 1 .. 7]
--- more_headers eval
["Authorization: Bearer $::T{gold}", "Authorization: Bearer $::T{gold}",
 "Authorization: Bearer $::T{gold}", "Authorization: Bearer $::T{gold}",
 $::A, $::A, $::A]
--- error_code eval
[200, 200, 200, 200, 200, 200, 429]
