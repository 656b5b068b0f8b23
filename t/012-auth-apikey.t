# API keys: X-API-Key and "Authorization: ApiKey", the tenant context from
# the key file, rejections (unknown id, wrong secret, malformed, revoked by
# removing the line), and which methods a location accepts.
use FindBin ();
use lib "$FindBin::Bin/data/auth/lib";
use Test::Nginx::Socket 'no_plan';
use SpectraLogArchive;
use Digest::SHA qw(sha256_hex);
use File::Basename qw(dirname);
use SpectraAuth qw(ensure_keys mint);

our (%K, %T);

my $keys = ensure_keys("$FindBin::Bin/data/auth/keys");
my @alpha = ('a' .. 'z', 'A' .. 'Z', 0 .. 9, '-', '_');

sub secret { join '', map { $alpha[rand @alpha] } 1 .. 43 }

my %s = (acme => secret(), globex => secret(), old => secret());

$K{acme} = "spk_a1c3e_$s{acme}";
$K{globex} = "spk_9l0b3x_$s{globex}";
$K{old} = "spk_0ld_$s{old}";
$K{acme_wrong} = "spk_a1c3e_" . secret();
$K{unknown} = "spk_n0b0dy_$s{acme}";

$ENV{TEST_NGINX_AUTH_KEYS} = $keys;
$ENV{TEST_NGINX_KEY_ACME} = 'a1c3e ' . sha256_hex($s{acme})
    . ' tenant=acme db_group=analysts permissions=query,bulk,admin'
    . ' tier=gold';
$ENV{TEST_NGINX_KEY_GLOBEX} = '9l0b3x ' . sha256_hex($s{globex})
    . ' tenant=globex db_user=globex_reader permissions=query';
$ENV{TEST_NGINX_KEY_OLD} = '0ld ' . sha256_hex($s{old})
    . ' tenant=initech permissions=query';

$T{jwt} = mint($keys, time, claims => {tenant_id => 'initech'});

# the key minting command, built next to the module
my ($module) = split ' ', ($ENV{TEST_NGINX_LOAD_MODULES} // '');
my $tool = dirname($module // '.') . '/spectra-apikey';

# TEST 19 fails, not skips, when the command is not there
$K{minted} = '';
$ENV{TEST_NGINX_KEY_MINTED} = '';
if (-x $tool) {
    my @out = `$tool --tenant umbrella --db-group readers --permissions query,bulk --attr tier=silver`;
    chomp @out;
    die "spectra-apikey printed @out"
        unless @out == 2
               && $out[0] =~ /^spk_([0-9a-f]{12})_[A-Za-z0-9_-]{43}$/
               && $out[1] =~ /^\Q$1\E [0-9a-f]{64} tenant=umbrella db_group=readers permissions=query,bulk tier=silver$/;
    $K{minted} = $out[0];
    $ENV{TEST_NGINX_KEY_MINTED} = $out[1];

} else {
    Test::More::diag("$tool is not built");
}

# the same credentials get the same answer the second time
repeat_each(2);
log_level('info');
run_tests();

__DATA__

=== TEST 1: X-API-Key authenticates acme with the key file's context
--- http_config
    spectra_jobs_db logs/jobs.db;
--- config
    spectra_auth api_key;
    spectra_api_keys ../html/api.keys;

    location /v1/ {
        spectra_api;
        add_header X-Tenant "[$spectra_tenant_id]" always;
        add_header X-DB-User "[$spectra_db_user]" always;
        add_header X-DB-Group "[$spectra_db_group]" always;
        add_header X-Method "[$spectra_auth_method]" always;
        add_header X-Tier "[$spectra_claim_tier]" always;
    }
--- user_files
>>> api.keys
# acme, globex and the old initech key
$TEST_NGINX_KEY_ACME
$TEST_NGINX_KEY_GLOBEX
$TEST_NGINX_KEY_OLD
--- request
GET /v1/health
--- more_headers eval
"X-API-Key: $::K{acme}"
--- response_headers
X-Tenant: [acme]
X-DB-User: [tenant_acme]
X-DB-Group: [analysts]
X-Method: [apikey]
X-Tier: [gold]
--- no_error_log
[error]
spectra: api key rejected



=== TEST 2: Authorization: ApiKey authenticates globex with its db_user
--- http_config
    spectra_jobs_db logs/jobs.db;
--- config
    spectra_auth api_key;
    spectra_api_keys ../html/api.keys;

    location /v1/ {
        spectra_api;
        add_header X-Tenant "[$spectra_tenant_id]" always;
        add_header X-DB-User "[$spectra_db_user]" always;
        add_header X-DB-Group "[$spectra_db_group]" always;
        add_header X-Tier "[$spectra_claim_tier]" always;
    }
--- user_files
>>> api.keys
# acme, globex and the old initech key
$TEST_NGINX_KEY_ACME
$TEST_NGINX_KEY_GLOBEX
$TEST_NGINX_KEY_OLD
--- request
GET /v1/health
--- more_headers eval
"Authorization: ApiKey $::K{globex}"
--- response_headers
X-Tenant: [globex]
X-DB-User: [globex_reader]
X-DB-Group: []
X-Tier: []
--- no_error_log
[error]
spectra: api key rejected



=== TEST 3: an unknown key id is refused
--- http_config
    spectra_jobs_db logs/jobs.db;
--- config
    spectra_auth api_key;
    spectra_api_keys ../html/api.keys;

    location /v1/ {
        spectra_api;
        add_header X-Tenant "[$spectra_tenant_id]" always;
    }
--- user_files
>>> api.keys
# acme, globex and the old initech key
$TEST_NGINX_KEY_ACME
$TEST_NGINX_KEY_GLOBEX
$TEST_NGINX_KEY_OLD
--- request
GET /v1/health
--- more_headers eval
"X-API-Key: $::K{unknown}"
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer realm="spectra", error="invalid_token"
X-Tenant: []
--- response_body_like chomp
^\{"error":\{"code":"UNAUTHENTICATED","message":"invalid or expired credentials","request_id":"[0-9a-f]{32}"\}\}$
--- error_log
spectra: api key rejected: unknown key id
--- no_error_log
spk_



=== TEST 4: a known key id with a wrong secret is refused
--- http_config
    spectra_jobs_db logs/jobs.db;
--- config
    spectra_auth api_key;
    spectra_api_keys ../html/api.keys;

    location /v1/ {
        spectra_api;
        add_header X-Tenant "[$spectra_tenant_id]" always;
    }
--- user_files
>>> api.keys
# acme, globex and the old initech key
$TEST_NGINX_KEY_ACME
$TEST_NGINX_KEY_GLOBEX
$TEST_NGINX_KEY_OLD
--- request
GET /v1/health
--- more_headers eval
"X-API-Key: $::K{acme_wrong}"
--- error_code: 401
--- response_headers
X-Tenant: []
--- response_body_like chomp
"code":"UNAUTHENTICATED"
--- error_log
spectra: api key rejected: wrong secret
--- no_error_log
spk_



=== TEST 5: a key of another shape is refused as malformed
--- http_config
    spectra_jobs_db logs/jobs.db;
--- config
    spectra_auth api_key;
    spectra_api_keys ../html/api.keys;

    location /v1/ {
        spectra_api;
    }
--- user_files
>>> api.keys
# acme, globex and the old initech key
$TEST_NGINX_KEY_ACME
$TEST_NGINX_KEY_GLOBEX
$TEST_NGINX_KEY_OLD
--- request
GET /v1/health
--- more_headers
X-API-Key: acme:letmein
--- error_code: 401
--- error_log
spectra: api key rejected: malformed key



=== TEST 6: the initech key works while its line is in the file
--- http_config
    spectra_jobs_db logs/jobs.db;
--- config
    spectra_auth api_key;
    spectra_api_keys ../html/api.keys;

    location /v1/ {
        spectra_api;
        add_header X-Tenant "[$spectra_tenant_id]" always;
    }
--- user_files
>>> api.keys
# acme, globex and the old initech key
$TEST_NGINX_KEY_ACME
$TEST_NGINX_KEY_GLOBEX
$TEST_NGINX_KEY_OLD
--- request
GET /v1/health
--- more_headers eval
"X-API-Key: $::K{old}"
--- response_headers
X-Tenant: [initech]
--- no_error_log
[error]



=== TEST 7: revoked: the same key after its line was removed (reload)
--- http_config
    spectra_jobs_db logs/jobs.db;
--- config
    spectra_auth api_key;
    spectra_api_keys ../html/api.keys;

    location /v1/ {
        spectra_api;
        add_header X-Tenant "[$spectra_tenant_id]" always;
    }
--- user_files
>>> api.keys
$TEST_NGINX_KEY_ACME
$TEST_NGINX_KEY_GLOBEX
--- request
GET /v1/health
--- more_headers eval
"X-API-Key: $::K{old}"
--- error_code: 401
--- response_headers
X-Tenant: []
--- error_log
spectra: api key rejected: unknown key id



=== TEST 8: both an API key and a bearer token: refused as ambiguous
--- http_config
    spectra_jobs_db logs/jobs.db;
--- config
    spectra_auth any;
    spectra_api_keys ../html/api.keys;
    spectra_jwt_key_file $TEST_NGINX_AUTH_KEYS/hs.secret kid=hs;
    location /v1/ {
        spectra_api;
    }
--- user_files
>>> api.keys
# acme, globex and the old initech key
$TEST_NGINX_KEY_ACME
$TEST_NGINX_KEY_GLOBEX
$TEST_NGINX_KEY_OLD
--- request
GET /v1/health
--- more_headers eval
"X-API-Key: $::K{acme}\nAuthorization: Bearer $::T{jwt}"
--- error_code: 401
--- error_log
spectra: rejected: several credentials presented



=== TEST 9: two X-API-Key headers: refused as ambiguous
--- http_config
    spectra_jobs_db logs/jobs.db;
--- config
    spectra_auth api_key;
    spectra_api_keys ../html/api.keys;

    location /v1/ {
        spectra_api;
    }
--- user_files
>>> api.keys
# acme, globex and the old initech key
$TEST_NGINX_KEY_ACME
$TEST_NGINX_KEY_GLOBEX
$TEST_NGINX_KEY_OLD
--- request
GET /v1/health
--- more_headers eval
"X-API-Key: $::K{acme}\nX-API-Key: $::K{globex}"
--- error_code: 401
--- error_log
spectra: rejected: several credentials presented



=== TEST 10: spectra_auth any takes a JWT
--- http_config
    spectra_jobs_db logs/jobs.db;
--- config
    spectra_auth any;
    spectra_api_keys ../html/api.keys;
    spectra_jwt_key_file $TEST_NGINX_AUTH_KEYS/hs.secret kid=hs;
    location /v1/ {
        spectra_api;
        add_header X-Method "[$spectra_auth_method]" always;
    }
--- user_files
>>> api.keys
# acme, globex and the old initech key
$TEST_NGINX_KEY_ACME
$TEST_NGINX_KEY_GLOBEX
$TEST_NGINX_KEY_OLD
--- request
GET /v1/health
--- more_headers eval
"Authorization: Bearer $::T{jwt}"
--- response_headers
X-Method: [jwt]
--- no_error_log
[error]



=== TEST 11: spectra_auth any takes an API key
--- http_config
    spectra_jobs_db logs/jobs.db;
--- config
    spectra_auth any;
    spectra_api_keys ../html/api.keys;
    spectra_jwt_key_file $TEST_NGINX_AUTH_KEYS/hs.secret kid=hs;
    location /v1/ {
        spectra_api;
        add_header X-Method "[$spectra_auth_method]" always;
    }
--- user_files
>>> api.keys
# acme, globex and the old initech key
$TEST_NGINX_KEY_ACME
$TEST_NGINX_KEY_GLOBEX
$TEST_NGINX_KEY_OLD
--- request
GET /v1/health
--- more_headers eval
"X-API-Key: $::K{globex}"
--- response_headers
X-Method: [apikey]
--- no_error_log
[error]



=== TEST 12: spectra_auth api_key refuses a JWT even with keys in effect
--- http_config
    spectra_jobs_db logs/jobs.db;
--- config
    spectra_auth api_key;
    spectra_api_keys ../html/api.keys;
    spectra_jwt_key_file $TEST_NGINX_AUTH_KEYS/hs.secret kid=hs;
    location /v1/ {
        spectra_api;
    }
--- user_files
>>> api.keys
# acme, globex and the old initech key
$TEST_NGINX_KEY_ACME
$TEST_NGINX_KEY_GLOBEX
$TEST_NGINX_KEY_OLD
--- request
GET /v1/health
--- more_headers eval
"Authorization: Bearer $::T{jwt}"
--- error_code: 401
--- error_log
spectra: jwt rejected: JWT not accepted here



=== TEST 13: spectra_auth jwt refuses an API key
--- http_config
    spectra_jobs_db logs/jobs.db;
--- config
    spectra_api_keys ../html/api.keys;
    spectra_jwt_key_file $TEST_NGINX_AUTH_KEYS/hs.secret kid=hs;
    location /v1/ {
        spectra_auth jwt;
        spectra_api;
    }
--- user_files
>>> api.keys
# acme, globex and the old initech key
$TEST_NGINX_KEY_ACME
$TEST_NGINX_KEY_GLOBEX
$TEST_NGINX_KEY_OLD
--- request
GET /v1/health
--- more_headers eval
"X-API-Key: $::K{acme}"
--- error_code: 401
--- error_log
spectra: api key rejected: API keys not accepted here



=== TEST 14: spectra_require bulk: globex (query only) gets 403
--- http_config
    spectra_jobs_db logs/jobs.db;
--- config
    spectra_auth api_key;
    spectra_api_keys ../html/api.keys;
    location /v1/ {
        spectra_require bulk;
        spectra_api;
    }
--- user_files
>>> api.keys
# acme, globex and the old initech key
$TEST_NGINX_KEY_ACME
$TEST_NGINX_KEY_GLOBEX
$TEST_NGINX_KEY_OLD
--- request
GET /v1/health
--- more_headers eval
"X-API-Key: $::K{globex}"
--- error_code: 403
--- response_body_like chomp
^\{"error":\{"code":"FORBIDDEN","message":"the credentials lack the \\"bulk\\" permission","request_id":"[0-9a-f]{32}"\}\}$
--- error_log
spectra: tenant "globex" lacks a required permission



=== TEST 15: spectra_require bulk: acme passes
--- http_config
    spectra_jobs_db logs/jobs.db;
--- config
    spectra_auth api_key;
    spectra_api_keys ../html/api.keys;
    location /v1/ {
        spectra_require bulk;
        spectra_api;
    }
--- user_files
>>> api.keys
# acme, globex and the old initech key
$TEST_NGINX_KEY_ACME
$TEST_NGINX_KEY_GLOBEX
$TEST_NGINX_KEY_OLD
--- request
GET /v1/health
--- more_headers eval
"X-API-Key: $::K{acme}"
--- no_error_log
[error]



=== TEST 16: nginx -t fails on a malformed key file line
--- config
    spectra_api_keys ../html/api.keys;
--- user_files
>>> api.keys
k1 0123 tenant=acme
--- must_die
--- error_log
invalid API key file
line 1: the second field is not a lower-case hex SHA-256



=== TEST 17: nginx -t fails on a tenant that is not an identifier
--- config
    spectra_api_keys ../html/api.keys;
--- user_files
>>> api.keys
k1 ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad tenant=ACME
--- must_die
--- error_log
line 1: tenant is not an identifier



=== TEST 18: nginx -t fails on a missing key file
--- config
    spectra_api_keys ../html/none.keys;
--- must_die
--- error_log
none.keys" failed (2: No such file or directory)



=== TEST 19: a key minted by spectra-apikey works with the line it printed
--- http_config
    spectra_jobs_db logs/jobs.db;
--- config
    spectra_auth api_key;
    spectra_api_keys ../html/api.keys;

    location /v1/ {
        spectra_api;
        add_header X-Tenant "[$spectra_tenant_id]" always;
        add_header X-DB-User "[$spectra_db_user]" always;
        add_header X-DB-Group "[$spectra_db_group]" always;
        add_header X-Tier "[$spectra_claim_tier]" always;
    }
--- user_files
>>> api.keys
$TEST_NGINX_KEY_ACME
$TEST_NGINX_KEY_MINTED
--- request
GET /v1/health
--- more_headers eval
"X-API-Key: $::K{minted}"
--- response_headers
X-Tenant: [umbrella]
X-DB-User: [tenant_umbrella]
X-DB-Group: [readers]
X-Tier: [silver]
--- no_error_log
[error]
