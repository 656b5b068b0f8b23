# The /v1/ surface without a warehouse: health, routing, and nginx's own
# errors rendered as the API's JSON error object.  Each block keeps its
# job store in logs/, which the harness empties before every block (the
# default, spectra/jobs.db under the prefix, would outlive it).
use Test::Nginx::Socket 'no_plan';
use SpectraLogArchive;

run_tests();

__DATA__

=== TEST 1: health answers 200 with the versions of everything
--- http_config
    spectra_jobs_db logs/jobs.db;
--- config
    location /v1/ {
        spectra_api;
    }
--- request
GET /v1/health
--- response_headers_like
Content-Type: application/json; charset=utf-8
X-Request-Id: [0-9a-f]{32}
--- response_body_like chomp
^\{"status":"ok","version":"\d+\.\d+\.\d+","nginx":"1\.\d+\.\d+","libraries":\{"openssl":"OpenSSL 3[^"]+","jansson":"2\.\d+","libpg_query":"15\.\d+","libcurl":"\d+\.\d+\.\d+","sqlite":"3\.\d+\.\d+"\}\}$
--- no_error_log
[error]



=== TEST 2: an unknown path under /v1/ is a JSON 404
--- http_config
    spectra_jobs_db logs/jobs.db;
--- config
    location /v1/ {
        spectra_api;
    }
--- request
GET /v1/nothing/here
--- error_code: 404
--- response_headers_like
Content-Type: application/json; charset=utf-8
--- response_body_like chomp
^\{"error":\{"code":"NOT_FOUND","message":"no such endpoint","request_id":"[0-9a-f]{32}"\}\}$



=== TEST 3: a trailing slash is not the same endpoint
--- http_config
    spectra_jobs_db logs/jobs.db;
--- config
    location /v1/ {
        spectra_api;
    }
--- request
GET /v1/health/
--- error_code: 404
--- response_body_like chomp
"code":"NOT_FOUND"



=== TEST 4: a known path with another method is a JSON 405 with Allow
--- http_config
    spectra_jobs_db logs/jobs.db;
--- config
    location /v1/ {
        spectra_api;
    }
--- request
DELETE /v1/health
--- error_code: 405
--- response_headers
Allow: GET, HEAD
--- response_body_like chomp
^\{"error":\{"code":"METHOD_NOT_ALLOWED",



=== TEST 5: the request id in the body is the one in the header
--- http_config
    spectra_jobs_db logs/jobs.db;
--- config
    location /v1/ {
        spectra_api;
    }
--- request
GET /v1/missing
--- error_code: 404
--- response_body_like eval
qr/"request_id":"([0-9a-f]{32})"/



=== TEST 6: a body over client_max_body_size is a JSON 413
--- http_config
    spectra_jobs_db logs/jobs.db;
--- config
    error_page 413 @spectra_error;
    location @spectra_error {
        spectra_error_page;
    }
    location /v1/ {
        client_max_body_size 10;
        spectra_api;
    }
--- request
POST /v1/queries
{"sql": "select 1 from a_rather_long_table_name"}
--- more_headers
Content-Type: application/json
--- error_code: 413
--- response_body_like chomp
^\{"error":\{"code":"PAYLOAD_TOO_LARGE","message":"the request body is too large","request_id":"[0-9a-f]{32}"\}\}$
--- error_log
client intended to send too large body



=== TEST 7: limit_req's 429 becomes RATE_LIMITED with Retry-After
--- http_config
    spectra_jobs_db logs/jobs.db;
    limit_req_zone $binary_remote_addr zone=one:1m rate=1r/m;
--- config
    spectra_retry_after 7;
    error_page 429 @spectra_error;
    location @spectra_error {
        spectra_error_page;
    }
    location /v1/ {
        limit_req zone=one;
        limit_req_status 429;
        spectra_api;
    }
--- request eval
["GET /v1/health", "GET /v1/health"]
--- error_code eval
[200, 429]
--- response_headers_like eval
["Content-Type: application/json; charset=utf-8", "Retry-After: 7"]
--- response_body_like eval
[qr/"status":"ok"/, qr/^\{"error":\{"code":"RATE_LIMITED","message":"too many requests, retry later"/]



=== TEST 8: an upstream failure on an error_page location is UPSTREAM_ERROR
--- http_config
    spectra_jobs_db logs/jobs.db;
--- config
    error_page 502 @spectra_error;
    location @spectra_error {
        spectra_error_page;
    }
    location /v1/proxy {
        proxy_pass http://127.0.0.1:1/;
    }
--- request
GET /v1/proxy
--- error_code: 502
--- response_body_like chomp
^\{"error":\{"code":"UPSTREAM_ERROR",
--- error_log
connect() failed (111: Connection refused)



=== TEST 9: spectra_api conflicts with another content handler
--- http_config
    spectra_jobs_db logs/jobs.db;
--- config
    location /v1/ {
        proxy_pass http://127.0.0.1:1/;
        spectra_api;
    }
--- must_die
--- error_log
"spectra_api" directive is duplicate or conflicts with another content handler
