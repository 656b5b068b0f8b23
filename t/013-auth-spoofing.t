# Tenants cannot be spoofed: client headers and query arguments never
# change the tenant context, and a tenant id claim that is not an
# identifier rejects the token.
use FindBin ();
use lib "$FindBin::Bin/data/auth/lib";
use Test::Nginx::Socket 'no_plan';
use SpectraLogArchive;
use Digest::SHA qw(sha256_hex);
use SpectraAuth qw(ensure_keys mint);

our (%T, %K);

my $keys = ensure_keys("$FindBin::Bin/data/auth/keys");
my $now = time;

$ENV{TEST_NGINX_AUTH_KEYS} = $keys;

$T{acme} = mint($keys, $now, claims => {tenant_id => 'acme'});
$T{upper} = mint($keys, $now, claims => {tenant_id => 'ACME'});
$T{space} = mint($keys, $now, claims => {tenant_id => 'acme '});
$T{path} = mint($keys, $now, claims => {tenant_id => 'acme/../globex'});
$T{quote} = mint($keys, $now, claims => {tenant_id => "acme' or '1'='1"});
$T{empty} = mint($keys, $now, claims => {tenant_id => ''});
$T{number} = mint($keys, $now, claims => {tenant_id => 42});
$T{array} = mint($keys, $now, claims => {tenant_id => ['acme', 'globex']});
$T{nul} = mint($keys, $now, claims => {tenant_id => "acme\x{0}globex"});
$T{unicode} = mint($keys, $now, claims => {tenant_id => "acm\x{e9}"});
$T{long} = mint($keys, $now, claims => {tenant_id => 'a' x 64});

my $secret = 'S' x 43;
$K{acme} = "spk_ac_$secret";
$ENV{TEST_NGINX_KEY_LINE} = 'ac ' . sha256_hex($secret)
                            . ' tenant=acme permissions=query';

# the same credentials get the same answer the second time
repeat_each(2);
log_level('info');
run_tests();

__DATA__

=== TEST 1: X-Tenant-ID and X-DB-User headers do not change a JWT's tenant
--- http_config
    spectra_jobs_db logs/jobs.db;
--- config
    spectra_auth any;
    spectra_jwt_key_file $TEST_NGINX_AUTH_KEYS/hs.secret kid=hs;
    spectra_api_keys ../html/api.keys;

    location /v1/ {
        spectra_api;
        add_header X-Tenant "[$spectra_tenant_id]" always;
        add_header X-DB-User "[$spectra_db_user]" always;
        add_header X-DB-Group "[$spectra_db_group]" always;
    }
--- user_files
>>> api.keys
$TEST_NGINX_KEY_LINE
--- request
GET /v1/health
--- more_headers eval
"Authorization: Bearer $::T{acme}\nX-Tenant-ID: globex\nX-DB-User: postgres\nX-DB-Group: pg_read_all_data\nX-Spectra-Tenant: globex"
--- response_headers
X-Tenant: [acme]
X-DB-User: [tenant_acme]
X-DB-Group: []
--- no_error_log
[error]



=== TEST 2: the same headers do not change an API key's tenant
--- http_config
    spectra_jobs_db logs/jobs.db;
--- config
    spectra_auth any;
    spectra_jwt_key_file $TEST_NGINX_AUTH_KEYS/hs.secret kid=hs;
    spectra_api_keys ../html/api.keys;

    location /v1/ {
        spectra_api;
        add_header X-Tenant "[$spectra_tenant_id]" always;
        add_header X-DB-User "[$spectra_db_user]" always;
        add_header X-Method "[$spectra_auth_method]" always;
    }
--- user_files
>>> api.keys
$TEST_NGINX_KEY_LINE
--- request
GET /v1/health
--- more_headers eval
"X-API-Key: $::K{acme}\nX-Tenant-ID: globex\nX-DB-User: postgres\nX-Auth-Method: jwt"
--- response_headers
X-Tenant: [acme]
X-DB-User: [tenant_acme]
X-Method: [apikey]
--- no_error_log
[error]



=== TEST 3: tenant headers without credentials authenticate nobody
--- http_config
    spectra_jobs_db logs/jobs.db;
--- config
    spectra_auth any;
    spectra_jwt_key_file $TEST_NGINX_AUTH_KEYS/hs.secret kid=hs;
    spectra_api_keys ../html/api.keys;

    location /v1/ {
        spectra_api;
        add_header X-Tenant "[$spectra_tenant_id]" always;
        add_header X-DB-User "[$spectra_db_user]" always;
    }
--- user_files
>>> api.keys
$TEST_NGINX_KEY_LINE
--- request
GET /v1/health
--- more_headers
X-Tenant-ID: acme
X-DB-User: tenant_acme
X-Spectra-Tenant-Id: acme
--- error_code: 401
--- response_headers
X-Tenant: []
X-DB-User: []
--- error_log
spectra: no credentials



=== TEST 4: query arguments do not name the tenant
--- http_config
    spectra_jobs_db logs/jobs.db;
--- config
    spectra_auth any;
    spectra_jwt_key_file $TEST_NGINX_AUTH_KEYS/hs.secret kid=hs;
    spectra_api_keys ../html/api.keys;

    location /v1/ {
        spectra_api;
        add_header X-Tenant "[$spectra_tenant_id]" always;
        add_header X-DB-User "[$spectra_db_user]" always;
    }
--- user_files
>>> api.keys
$TEST_NGINX_KEY_LINE
--- request
GET /v1/health?tenant_id=globex&spectra_tenant_id=globex&db_user=postgres
--- more_headers eval
"Authorization: Bearer $::T{acme}"
--- response_headers
X-Tenant: [acme]
X-DB-User: [tenant_acme]
--- no_error_log
[error]



=== TEST 5: tenant id in upper case is not an identifier
--- http_config
    spectra_jobs_db logs/jobs.db;
--- config
    spectra_auth any;
    spectra_jwt_key_file $TEST_NGINX_AUTH_KEYS/hs.secret kid=hs;
    spectra_api_keys ../html/api.keys;

    location /v1/ {
        spectra_api;
        add_header X-Tenant "[$spectra_tenant_id]" always;
    }
--- user_files
>>> api.keys
$TEST_NGINX_KEY_LINE
--- request
GET /v1/health
--- more_headers eval
"Authorization: Bearer $::T{upper}"
--- error_code: 401
--- response_headers
X-Tenant: []
--- response_body_like chomp
"code":"UNAUTHENTICATED"
--- error_log
spectra: jwt rejected: tenant id is not an identifier



=== TEST 6: tenant id with a trailing space is not an identifier
--- http_config
    spectra_jobs_db logs/jobs.db;
--- config
    spectra_auth any;
    spectra_jwt_key_file $TEST_NGINX_AUTH_KEYS/hs.secret kid=hs;
    spectra_api_keys ../html/api.keys;

    location /v1/ {
        spectra_api;
    }
--- user_files
>>> api.keys
$TEST_NGINX_KEY_LINE
--- request
GET /v1/health
--- more_headers eval
"Authorization: Bearer $::T{space}"
--- error_code: 401
--- error_log
spectra: jwt rejected: tenant id is not an identifier



=== TEST 7: tenant id with a path is not an identifier
--- http_config
    spectra_jobs_db logs/jobs.db;
--- config
    spectra_auth any;
    spectra_jwt_key_file $TEST_NGINX_AUTH_KEYS/hs.secret kid=hs;
    spectra_api_keys ../html/api.keys;

    location /v1/ {
        spectra_api;
    }
--- user_files
>>> api.keys
$TEST_NGINX_KEY_LINE
--- request
GET /v1/health
--- more_headers eval
"Authorization: Bearer $::T{path}"
--- error_code: 401
--- error_log
spectra: jwt rejected: tenant id is not an identifier



=== TEST 8: tenant id with SQL quotes is not an identifier
--- http_config
    spectra_jobs_db logs/jobs.db;
--- config
    spectra_auth any;
    spectra_jwt_key_file $TEST_NGINX_AUTH_KEYS/hs.secret kid=hs;
    spectra_api_keys ../html/api.keys;

    location /v1/ {
        spectra_api;
    }
--- user_files
>>> api.keys
$TEST_NGINX_KEY_LINE
--- request
GET /v1/health
--- more_headers eval
"Authorization: Bearer $::T{quote}"
--- error_code: 401
--- error_log
spectra: jwt rejected: tenant id is not an identifier



=== TEST 9: an empty tenant id is not an identifier
--- http_config
    spectra_jobs_db logs/jobs.db;
--- config
    spectra_auth any;
    spectra_jwt_key_file $TEST_NGINX_AUTH_KEYS/hs.secret kid=hs;
    spectra_api_keys ../html/api.keys;

    location /v1/ {
        spectra_api;
    }
--- user_files
>>> api.keys
$TEST_NGINX_KEY_LINE
--- request
GET /v1/health
--- more_headers eval
"Authorization: Bearer $::T{empty}"
--- error_code: 401
--- error_log
spectra: jwt rejected: tenant id is not an identifier



=== TEST 10: a numeric tenant id claim is refused
--- http_config
    spectra_jobs_db logs/jobs.db;
--- config
    spectra_auth any;
    spectra_jwt_key_file $TEST_NGINX_AUTH_KEYS/hs.secret kid=hs;
    spectra_api_keys ../html/api.keys;

    location /v1/ {
        spectra_api;
    }
--- user_files
>>> api.keys
$TEST_NGINX_KEY_LINE
--- request
GET /v1/health
--- more_headers eval
"Authorization: Bearer $::T{number}"
--- error_code: 401
--- error_log
spectra: jwt rejected: no tenant id claim



=== TEST 11: an array tenant id claim is refused
--- http_config
    spectra_jobs_db logs/jobs.db;
--- config
    spectra_auth any;
    spectra_jwt_key_file $TEST_NGINX_AUTH_KEYS/hs.secret kid=hs;
    spectra_api_keys ../html/api.keys;

    location /v1/ {
        spectra_api;
    }
--- user_files
>>> api.keys
$TEST_NGINX_KEY_LINE
--- request
GET /v1/health
--- more_headers eval
"Authorization: Bearer $::T{array}"
--- error_code: 401
--- error_log
spectra: jwt rejected: no tenant id claim



=== TEST 12: a tenant id with an escaped NUL is refused
--- http_config
    spectra_jobs_db logs/jobs.db;
--- config
    spectra_auth any;
    spectra_jwt_key_file $TEST_NGINX_AUTH_KEYS/hs.secret kid=hs;
    spectra_api_keys ../html/api.keys;

    location /v1/ {
        spectra_api;
    }
--- user_files
>>> api.keys
$TEST_NGINX_KEY_LINE
--- request
GET /v1/health
--- more_headers eval
"Authorization: Bearer $::T{nul}"
--- error_code: 401
--- error_log
spectra: jwt rejected: payload not a JSON object



=== TEST 13: a non-ASCII tenant id is not an identifier
--- http_config
    spectra_jobs_db logs/jobs.db;
--- config
    spectra_auth any;
    spectra_jwt_key_file $TEST_NGINX_AUTH_KEYS/hs.secret kid=hs;
    spectra_api_keys ../html/api.keys;

    location /v1/ {
        spectra_api;
    }
--- user_files
>>> api.keys
$TEST_NGINX_KEY_LINE
--- request
GET /v1/health
--- more_headers eval
"Authorization: Bearer $::T{unicode}"
--- error_code: 401
--- error_log
spectra: jwt rejected: tenant id is not an identifier



=== TEST 14: a 64-byte tenant id is not an identifier
--- http_config
    spectra_jobs_db logs/jobs.db;
--- config
    spectra_auth any;
    spectra_jwt_key_file $TEST_NGINX_AUTH_KEYS/hs.secret kid=hs;
    spectra_api_keys ../html/api.keys;

    location /v1/ {
        spectra_api;
    }
--- user_files
>>> api.keys
$TEST_NGINX_KEY_LINE
--- request
GET /v1/health
--- more_headers eval
"Authorization: Bearer $::T{long}"
--- error_code: 401
--- error_log
spectra: jwt rejected: tenant id is not an identifier



=== TEST 15: after an internal redirect the tenant stays the verified one
--- http_config
    spectra_jobs_db logs/jobs.db;
--- config
    spectra_auth jwt;
    spectra_jwt_key_file $TEST_NGINX_AUTH_KEYS/hs.secret kid=hs;
    location /old/ {
        rewrite ^/old/(.*)$ /v1/$1 last;
    }
    location /v1/ {
        spectra_api;
        add_header X-Tenant "[$spectra_tenant_id]" always;
    }
--- request
GET /old/health
--- more_headers eval
"Authorization: Bearer $::T{acme}\nX-Tenant-ID: globex"
--- response_headers
X-Tenant: [acme]
--- no_error_log
[error]
