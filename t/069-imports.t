# POST /v1/imports and its job: 201 with an Open import job and the
# presigned PUT of its one object; PATCH UploadComplete (only from Open,
# only once the object is there), Aborted and DELETE; the import in
# /v1/jobs; tables not allowed for import (per location and per tenant
# group) refused naming the table; another tenant's import 404 on every
# endpoint; without the bulk permission 403; every bad option its own
# 400; idempotency keys.  The loads themselves (COPY through
# spectra-dataapi) are t/069-imports-load.t.
#
# A block's steps that need its nginx (create, upload with curl) run in
# "--- init"; the block's requests then ask for $TEST_NGINX_JOB.
use FindBin ();
use lib "$FindBin::Bin/data/query/lib", "$FindBin::Bin/data/auth/lib",
        "$FindBin::Bin/data/bulk/lib", "$FindBin::Bin/data/import/lib";
use Test::Nginx::Socket 'no_plan';
use SpectraLogArchive;
use SpectraAuth qw(ensure_keys);
use SpectraQuery qw(api_key key_file http_config http json run_id);
use SpectraBulk qw(export_config);
use SpectraImport qw(import_config events_file start_import upload
                     patch_import);

our (%K);

my @lines;

for my $k (['acme', 'tenant=acme db_group=analysts permissions=query,bulk'],
           ['globex', 'tenant=globex permissions=query,bulk'],
           ['queryonly', 'tenant=acme permissions=query'])
{
    my $line;
    ($K{$k->[0]}, $line) = api_key("i069$k->[0]", $k->[1]);
    push @lines, $line;
}

$ENV{TEST_NGINX_QT_KEYS} = key_file(@lines);
$ENV{TEST_NGINX_AUTH_KEYS} = ensure_keys("$FindBin::Bin/data/auth/keys");

our $HttpConfig = http_config() . export_config() . import_config();

# For "--- init": the tenant opens an import (and uploads a small file
# with upload => 1); $ENV{TEST_NGINX_JOB} names it.
sub opened {
    my ($tenant, %o) = @_;
    my ($status, $job) = start_import($K{$tenant},
                                      {table => 'events', %{ $o{body} // {} }});

    die "POST /v1/imports answered $status\n" if $status != 201;

    $ENV{TEST_NGINX_JOB} = $job->{job_id};

    if ($o{upload}) {
        my ($st, $res) = upload($job->{upload_url},
                                events_file(tenant => $tenant, rows => 3));
        die "PUT answered $st: $res\n" if $st != 201;
    }

    return $job;
}

add_block_preprocessor(sub {
    my $block = shift;
    my $t = $block->tenant // 'acme';

    $block->set_value('more_headers',
                      "X-API-Key: $K{$t}\nContent-Type: application/json\n")
        unless defined $block->more_headers;
    $block->set_value('no_error_log', "[error]\n")
        unless defined $block->no_error_log;
});

run_tests();

__DATA__

=== TEST 1: POST /v1/imports: 201 with the Open job and a presigned PUT of its one object
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/import/objects.conf;

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- request
POST /v1/imports
{"table": "events", "format": "csv", "compression": "gzip", "csv": {"delimiter": ",", "header": true}, "max_errors": 5}
--- error_code: 201
--- response_headers_like
Location: (?:http://[^/]+)?/v1/imports/job_[0-9a-z]{26}
--- response_body_like eval
qr{^\{"job_id":"(job_[0-9a-z]{26})","type":"import","status":"PENDING","state":"Open","created_at":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z",.*"row_count":null,.*"links":\{"self":"/v1/jobs/\1","import":"/v1/imports/\1"\},"table":"events","format":"csv","compression":"gzip","csv":\{"delimiter":",","header":true\},"max_errors":5,"rows_loaded":null,"records_failed":null,"records_processed":null,"upload":\{"url":"(http://127\.0\.0\.1:\d+/spectra-exports/imports/tenant%3Dacme/job%3D\1/data\.csv\.gz\?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=[^&"]+%2Fs3%2Faws4_request&X-Amz-Date=\d{8}T\d{6}Z&X-Amz-Expires=(?:600|599)&X-Amz-SignedHeaders=host&X-Amz-Signature=[0-9a-f]{64})","method":"PUT","expires_at":"[^"]+","max_size":67108864\},"upload_url":"\2"\}\n\z}



=== TEST 2: after the upload the import is still Open and shows its upload URL; /v1/jobs lists it as an import
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/import/objects.conf;

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- init
main::opened('acme', upload => 1);
--- pipelined_requests eval
['GET /v1/imports/$TEST_NGINX_JOB', 'GET /v1/jobs/$TEST_NGINX_JOB',
 'GET /v1/jobs?type=import']
--- error_code eval
[200, 200, 200]
--- response_body_like eval
[qr{^\{"job_id":"((??{ $ENV{TEST_NGINX_JOB} }))","type":"import","status":"PENDING","state":"Open",.*"upload":\{"url":"http://[^"]+/data\.csv\.gz\?[^"]+","method":"PUT",},
 qr{^\{"job_id":"((??{ $ENV{TEST_NGINX_JOB} }))","type":"import","status":"PENDING","state":"Open",.*"links":\{"self":"/v1/jobs/\1","import":"/v1/imports/\1"\},"table":"events"},
 qr{^\{"jobs":\[\{"job_id":"((??{ $ENV{TEST_NGINX_JOB} }))","type":"import","status":"PENDING","state":"Open",}]



=== TEST 3: without the bulk permission every import endpoint is 403
--- tenant: queryonly
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/import/objects.conf;

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- init
main::opened('acme');
--- pipelined_requests eval
["POST /v1/imports\n{\"table\": \"events\"}",
 'GET /v1/imports/$TEST_NGINX_JOB',
 "PATCH /v1/imports/\$TEST_NGINX_JOB\n{\"state\": \"UploadComplete\"}",
 'DELETE /v1/imports/$TEST_NGINX_JOB',
 'GET /v1/imports/$TEST_NGINX_JOB/failed']
--- error_code eval
[403, 403, 403, 403, 403]
--- response_body_like eval
[qr/"code":"FORBIDDEN"/, qr/"code":"FORBIDDEN"/, qr/"code":"FORBIDDEN"/,
 qr/"code":"FORBIDDEN"/, qr/"code":"FORBIDDEN"/]



=== TEST 4: a table not allowed for import is 403 naming it (schema-qualified, another table, a group's table for another group)
--- tenant: globex
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
        spectra_import_tables events;
        spectra_import_tables group=analysts sales;
    }

    include $TEST_NGINX_REPO/t/data/import/objects.conf;

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- pipelined_requests eval
["POST /v1/imports\n{\"table\": \"public.events\"}",
 "POST /v1/imports\n{\"table\": \"Sales\"}",
 "POST /v1/imports\n{\"table\": \"pg_catalog.pg_authid\"}"]
--- error_code eval
[403, 403, 403]
--- response_body_like eval
[qr/^\{"error":\{"code":"FORBIDDEN","message":"table \\"public\.events\\" is not allowed for imports","request_id":"[0-9a-f]{32}"\}\}\n\z/,
 qr/"message":"table \\"sales\\" is not allowed for imports"/,
 qr/"message":"table \\"pg_catalog\.pg_authid\\" is not allowed for imports"/]



=== TEST 5: the group's table is allowed to the tenant of that group
--- tenant: acme
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
        spectra_import_tables events;
        spectra_import_tables group=analysts sales;
    }

    include $TEST_NGINX_REPO/t/data/import/objects.conf;

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- request
POST /v1/imports
{"table": "SALES", "format": "json", "compression": "zstd"}
--- error_code: 201
--- response_body_like eval
qr{"state":"Open",.*"table":"sales","format":"json","compression":"zstd","max_errors":0,.*"url":"http://[^"]+/imports/tenant%3Dacme/job%3Djob_[0-9a-z]{26}/data\.json\.zst\?}



=== TEST 6: every bad option is its own 400
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/import/objects.conf;

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- pipelined_requests eval
["POST /v1/imports\n{\"table\": ",
 "POST /v1/imports\n[\"events\"]",
 "POST /v1/imports\n{\"format\": \"csv\"}",
 "POST /v1/imports\n{\"table\": \"events; drop table events\"}",
 "POST /v1/imports\n{\"table\": \"a.b.c\"}",
 "POST /v1/imports\n{\"table\": \"\\\"events\\\"\"}",
 "POST /v1/imports\n{\"table\": \"events\", \"format\": \"parquet\"}",
 "POST /v1/imports\n{\"table\": \"events\", \"format\": \"xml\"}",
 "POST /v1/imports\n{\"table\": \"events\", \"compression\": \"bzip2\"}",
 "POST /v1/imports\n{\"table\": \"events\", \"format\": \"json\", \"csv\": {\"header\": true}}",
 "POST /v1/imports\n{\"table\": \"events\", \"csv\": {\"delimiter\": \"'\"}}",
 "POST /v1/imports\n{\"table\": \"events\", \"csv\": {\"header\": 1}}",
 "POST /v1/imports\n{\"table\": \"events\", \"max_errors\": 100001}",
 "POST /v1/imports\n{\"table\": \"events\", \"max_errors\": -1}",
 "POST /v1/imports\n{\"table\": \"events\", \"sql\": \"select 1\"}",
 "POST /v1/imports\n{\"table\": \"events\", \"table\": \"sales\"}"]
--- error_code eval
[(400) x 16]
--- response_body_like eval
[qr/"message":"the request body is not valid JSON: /,
 qr/"message":"the request body must be a JSON object"/,
 qr/"message":"table is required: a string, \[schema\.\]name"/,
 qr/"message":"table must be \[schema\.\]name of letters, digits and '_' \(1 to 63 each, not starting with a digit\)"/,
 qr/"message":"table must be \[schema\.\]name of letters/,
 qr/"message":"table must be \[schema\.\]name of letters/,
 qr/"message":"format \\"parquet\\" cannot be imported yet: use \\"csv\\" or \\"json\\""/,
 qr/"message":"format must be \\"csv\\" or \\"json\\" \(JSON lines\)"/,
 qr/"message":"compression must be \\"gzip\\", \\"zstd\\" or \\"none\\""/,
 qr/"message":"csv options are for format \\"csv\\" only"/,
 qr/"message":"csv\.delimiter must be one printable ASCII character other than ' \\\\ \\" \(or a tab\)"/,
 qr/"message":"csv\.header must be true or false"/,
 qr/"message":"max_errors must be an integer from 0 to 100000"/,
 qr/"message":"max_errors must be an integer from 0 to 100000"/,
 qr/"message":"unknown field \\"sql\\""/,
 qr/"message":"the request body is not valid JSON: duplicate object key/]



=== TEST 7: PATCH UploadComplete before anything was uploaded: 409, still Open
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/import/objects.conf;

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- init
main::opened('acme');
--- pipelined_requests eval
["PATCH /v1/imports/\$TEST_NGINX_JOB\n{\"state\": \"UploadComplete\"}",
 'GET /v1/imports/$TEST_NGINX_JOB']
--- error_code eval
[409, 200]
--- response_body_like eval
[qr/^\{"error":\{"code":"CONFLICT","message":"nothing was uploaded: PUT the file to the upload URL first","request_id":"[0-9a-f]{32}"\}\}\n\z/,
 qr/"status":"PENDING","state":"Open"/]



=== TEST 8: PATCH Aborted of an Open import: Aborted, its upload URL gone; then UploadComplete and Aborted again are 409
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/import/objects.conf;

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- init
main::opened('acme', upload => 1);
--- pipelined_requests eval
["PATCH /v1/imports/\$TEST_NGINX_JOB\n{\"state\": \"Aborted\"}",
 'GET /v1/imports/$TEST_NGINX_JOB',
 "PATCH /v1/imports/\$TEST_NGINX_JOB\n{\"state\": \"UploadComplete\"}",
 "PATCH /v1/imports/\$TEST_NGINX_JOB\n{\"state\": \"Aborted\"}",
 'DELETE /v1/imports/$TEST_NGINX_JOB']
--- error_code eval
[200, 200, 409, 409, 409]
--- response_body_like eval
[qr/^\{"job_id":"((??{ $ENV{TEST_NGINX_JOB} }))","type":"import","status":"CANCELLED","state":"Aborted",/,
 qr/^\{"job_id":"[^"]+","type":"import","status":"CANCELLED","state":"Aborted",(?!.*"upload").*"records_failed":null,"records_processed":null\}\n\z/,
 qr/"code":"CONFLICT","message":"the import is Aborted: only an Open import can become UploadComplete"/,
 qr/"code":"CONFLICT","message":"the job is CANCELLED and cannot be cancelled"/,
 qr/"code":"CONFLICT","message":"the job is CANCELLED and cannot be cancelled"/]



=== TEST 9: DELETE of an Open import aborts it
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/import/objects.conf;

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- init
main::opened('acme');
--- pipelined_requests eval
['DELETE /v1/imports/$TEST_NGINX_JOB', 'GET /v1/imports/$TEST_NGINX_JOB']
--- error_code eval
[200, 200]
--- response_body_like eval
[qr/"type":"import","status":"CANCELLED","state":"Aborted"/,
 qr/"type":"import","status":"CANCELLED","state":"Aborted"/]



=== TEST 10: bad PATCH bodies are 400; an unknown import is 404
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/import/objects.conf;

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- init
main::opened('acme');
--- pipelined_requests eval
["PATCH /v1/imports/\$TEST_NGINX_JOB\n{\"state\": \"JobComplete\"}",
 "PATCH /v1/imports/\$TEST_NGINX_JOB\n{\"state\": \"UploadComplete\", \"x\": 1}",
 "PATCH /v1/imports/\$TEST_NGINX_JOB\n{\"state\": ",
 "PATCH /v1/imports/job_00000000000000000000000000\n{\"state\": \"UploadComplete\"}",
 "PATCH /v1/imports/nope\n{\"state\": \"UploadComplete\"}",
 'GET /v1/imports/job_00000000000000000000000000',
 'GET /v1/imports/job_00000000000000000000000000/failed']
--- error_code eval
[400, 400, 400, 404, 404, 404, 404]
--- response_body_like eval
[qr/"message":"state must be \\"UploadComplete\\" or \\"Aborted\\""/,
 qr/"message":"the body must be \{\\"state\\": \\"UploadComplete\\"\} or \{\\"state\\": \\"Aborted\\"\}"/,
 qr/"message":"the request body is not valid JSON: /,
 qr/"code":"NOT_FOUND","message":"no such import"/,
 qr/"code":"NOT_FOUND","message":"no such import"/,
 qr/"code":"NOT_FOUND","message":"no such import"/,
 qr/"code":"NOT_FOUND","message":"no such import"/]



=== TEST 11: another tenant's import is 404 on every endpoint, and stays Open
--- tenant: globex
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/import/objects.conf;

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- init
main::opened('acme', upload => 1);
--- pipelined_requests eval
['GET /v1/imports/$TEST_NGINX_JOB',
 "PATCH /v1/imports/\$TEST_NGINX_JOB\n{\"state\": \"UploadComplete\"}",
 "PATCH /v1/imports/\$TEST_NGINX_JOB\n{\"state\": \"Aborted\"}",
 'DELETE /v1/imports/$TEST_NGINX_JOB',
 'GET /v1/imports/$TEST_NGINX_JOB/failed',
 'GET /v1/jobs/$TEST_NGINX_JOB']
--- error_code eval
[404, 404, 404, 404, 404, 404]
--- response_body_like eval
[qr/"code":"NOT_FOUND","message":"no such import"/,
 qr/"code":"NOT_FOUND","message":"no such import"/,
 qr/"code":"NOT_FOUND","message":"no such import"/,
 qr/"code":"NOT_FOUND","message":"no such import"/,
 qr/"code":"NOT_FOUND","message":"no such import"/,
 qr/"code":"NOT_FOUND","message":"no such job"/]



=== TEST 12: the owner still sees the import of TEST 11 Open (nothing another tenant sent changed it)
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/import/objects.conf;

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- init
main::opened('acme', upload => 1);
my $g = $main::K{globex};
for my $req (['GET', ''], ['PATCH', '{"state": "UploadComplete"}'],
             ['PATCH', '{"state": "Aborted"}'], ['DELETE', '']) {
    my ($st) = SpectraQuery::http($req->[0], "/v1/imports/$ENV{TEST_NGINX_JOB}",
                                  $req->[1], 'X-API-Key' => $g,
                                  'Content-Type' => 'application/json');
    die "$req->[0] as globex answered $st\n" if $st != 404;
}
--- pipelined_requests eval
['GET /v1/imports/$TEST_NGINX_JOB']
--- error_code eval
[200]
--- response_body_like eval
[qr/"status":"PENDING","state":"Open"/]



=== TEST 13: an idempotency key: the same body is the same import (200), another body 409
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/import/objects.conf;

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- init
$ENV{TEST_NGINX_KEY} = "k069-" . SpectraQuery::run_id();
my ($st, undef, $job) = SpectraQuery::http('POST', '/v1/imports',
    qq({"table": "events", "idempotency_key": "$ENV{TEST_NGINX_KEY}"}),
    'X-API-Key' => $main::K{acme}, 'Content-Type' => 'application/json');
die "POST answered $st\n" if $st != 201;
$ENV{TEST_NGINX_JOB} = $job->{job_id};
--- pipelined_requests eval
["POST /v1/imports\n{\"table\": \"events\", \"idempotency_key\": \"\$TEST_NGINX_KEY\"}",
 "POST /v1/imports\n{\"table\": \"events\", \"max_errors\": 3, \"idempotency_key\": \"\$TEST_NGINX_KEY\"}"]
--- error_code eval
[200, 409]
--- response_body_like eval
[qr/^\{"job_id":"((??{ $ENV{TEST_NGINX_JOB} }))","type":"import","status":"PENDING","state":"Open",/,
 qr/"code":"CONFLICT","message":"idempotency_key was used with a different request"/]



=== TEST 14: a refused table is logged at info, naming it
--- tenant: globex
--- log_level: info
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/import/objects.conf;

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- request
POST /v1/imports
{"table": "pg_catalog.pg_authid"}
--- error_code: 403
--- error_log
spectra: import into "pg_catalog.pg_authid" refused: not in spectra_import_tables



=== TEST 15: UploadComplete without an upload is logged at info; the HEAD of the missing object is no error
--- log_level: info
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/import/objects.conf;

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- init
main::opened('acme');
--- pipelined_requests eval
["PATCH /v1/imports/\$TEST_NGINX_JOB\n{\"state\": \"UploadComplete\"}"]
--- error_code eval
[409]
--- error_log eval
[qr/spectra: import job_[0-9a-z]{26}: UploadComplete without an upload/]
