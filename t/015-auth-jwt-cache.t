# The verified-token cache (spectra_jwt_cache_zone): a repeated token is
# answered from shared memory with the same tenant context and claims; an
# entry made under one location's settings is never used by another.
use FindBin ();
use lib "$FindBin::Bin/data/auth/lib";
use Test::Nginx::Socket 'no_plan';
use SpectraLogArchive;
use SpectraAuth qw(ensure_keys mint);

our %T;

my $keys = ensure_keys("$FindBin::Bin/data/auth/keys");

$ENV{TEST_NGINX_AUTH_KEYS} = $keys;

# The tokens, minted again before every block: "late" expired 5 s before
# its block runs, within the 60 s leeway of /lenient/ whenever the block
# runs.
sub mint_tokens {
    my $now = time;

    $T{es} = mint($keys, $now, alg => 'ES256',
                  claims => {tenant_id => 'globex', tier => 'gold',
                             db_group => 'analysts', permissions => 'query'});
    $T{late} = mint($keys, $now, claims => {exp => $now - 5});
}

# a block's eval sections run just before it, after the tokens are minted
filters_delay();

add_block_preprocessor(sub {
    my $block = shift;

    mint_tokens();
    $block->run_filters unless $block->is_filtered;
});

# the second round runs against the same nginx: its cache is warm
repeat_each(2);
run_tests();

__DATA__

=== TEST 1: the second time a token is a cache hit, with the same context
--- http_config
    spectra_jobs_db logs/jobs.db;
    spectra_jwt_cache_zone 1m;
--- config
    spectra_auth jwt;
    spectra_jwt_key_file $TEST_NGINX_AUTH_KEYS/ec256.pub kid=es256;

    location /v1/ {
        spectra_api;
        add_header X-Tenant "[$spectra_tenant_id]" always;
        add_header X-DB-User "[$spectra_db_user]" always;
        add_header X-DB-Group "[$spectra_db_group]" always;
        add_header X-Tier "[$spectra_claim_tier]" always;
    }
--- request
GET /v1/health
--- more_headers eval
"Authorization: Bearer $::T{es}"
--- response_headers
X-Tenant: [globex]
X-DB-User: [tenant_globex]
X-DB-Group: [analysts]
X-Tier: [gold]
--- grep_error_log: spectra auth: JWT cache hit
--- grep_error_log_out eval
["", "spectra auth: JWT cache hit\n"]
--- no_error_log
[error]



=== TEST 2: a token cached by one location is checked again by another
--- http_config
    spectra_jobs_db logs/jobs.db;
    spectra_jwt_cache_zone 1m;
--- config
    spectra_auth jwt;
    spectra_jwt_key_file $TEST_NGINX_AUTH_KEYS/ec256.pub kid=es256;

    location /v1/ {
        spectra_api;
        add_header X-Tenant "[$spectra_tenant_id]" always;
    }

    location /strict/ {
        rewrite ^/strict/(.*)$ /v1/$1 break;
        spectra_jwt_audience other;
        spectra_api;
    }
--- request eval
["GET /v1/health", "GET /strict/health"]
--- more_headers eval
["Authorization: Bearer $::T{es}", "Authorization: Bearer $::T{es}"]
--- error_code eval
[200, 401]
--- response_headers eval
["X-Tenant: [globex]", "WWW-Authenticate: Bearer realm=\"spectra\", error=\"invalid_token\""]



=== TEST 3: cached under a leeway, the token is still expired elsewhere
--- http_config
    spectra_jobs_db logs/jobs.db;
    spectra_jwt_cache_zone 1m;
--- config
    spectra_auth jwt;
    spectra_jwt_key_file $TEST_NGINX_AUTH_KEYS/hs.secret kid=hs;

    location /v1/ {
        spectra_api;
    }

    location /lenient/ {
        rewrite ^/lenient/(.*)$ /v1/$1 break;
        spectra_jwt_leeway 60s;
        spectra_api;
    }
--- request eval
["GET /lenient/health", "GET /lenient/health", "GET /v1/health"]
--- more_headers eval
["Authorization: Bearer $::T{late}", "Authorization: Bearer $::T{late}",
 "Authorization: Bearer $::T{late}"]
--- error_code eval
[200, 200, 401]



=== TEST 4: spectra_jwt_cache off verifies every time
--- http_config
    spectra_jobs_db logs/jobs.db;
    spectra_jwt_cache_zone 1m;
--- config
    spectra_auth jwt;
    spectra_jwt_key_file $TEST_NGINX_AUTH_KEYS/ec256.pub kid=es256;

    location /nocache/ {
        rewrite ^/nocache/(.*)$ /v1/$1 break;
        spectra_jwt_cache off;
        spectra_api;
    }
--- request
GET /nocache/health
--- more_headers eval
"Authorization: Bearer $::T{es}"
--- no_error_log
JWT cache hit
[error]



=== TEST 5: without a cache zone nothing is cached
--- http_config
    spectra_jobs_db logs/jobs.db;
--- config
    spectra_auth jwt;
    spectra_jwt_key_file $TEST_NGINX_AUTH_KEYS/ec256.pub kid=es256;

    location /v1/ {
        spectra_api;
    }
--- request
GET /v1/health
--- more_headers eval
"Authorization: Bearer $::T{es}"
--- no_error_log
JWT cache hit



=== TEST 6: nginx -t refuses a cache zone smaller than 8 pages
--- http_config
    spectra_jwt_cache_zone 4k;
--- config
--- must_die
--- error_log
invalid cache zone size "4k"
