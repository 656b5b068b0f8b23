# POST /v1/bulk end to end: nginx -> spectra-dataapi -> PostgreSQL, the
# UNLOAD written into the local object store (TEST_NGINX_OBJECTS_DIR,
# bucket/key), its manifest read back through the module's signed object
# store reads, and the files downloaded through the presigned links the
# API gives.  Each demo tenant's export holds exactly its own rows: the
# files, decompressed and read by Python's csv/json readers and by DuckDB,
# give the same row count and per-column sums as psql computes for that
# tenant.  Without the bulk permission: 403; another tenant's export:
# 404 on every endpoint; each bad option: its own 400.
#
# A block's export is started and followed to its end in "--- init"
# (bounded polls of GET /v1/bulk/{id}, never a sleep), which also checks
# the files; the block's requests then ask for $TEST_NGINX_JOB.
use FindBin ();
use lib "$FindBin::Bin/data/query/lib", "$FindBin::Bin/data/auth/lib",
        "$FindBin::Bin/data/bulk/lib";
use Test::Nginx::Socket 'no_plan';
use SpectraLogArchive;
use SpectraAuth qw(ensure_keys);
use SpectraQuery qw(api_key key_file http_config http json gate_close
                    gate_open);
use SpectraBulk qw(export_config export wait_export download sums
                   duckdb_sums psql_sums);

our (%K, %JOB);

my @lines;

for my $k (['acme', 'tenant=acme permissions=query,bulk'],
           ['globex', 'tenant=globex permissions=query,bulk'],
           ['initech', 'tenant=initech permissions=bulk'],
           ['queryonly', 'tenant=acme permissions=query'])
{
    my $line;
    ($K{$k->[0]}, $line) = api_key("b063$k->[0]", $k->[1]);
    push @lines, $line;
}

$ENV{TEST_NGINX_QT_KEYS} = key_file(@lines);
$ENV{TEST_NGINX_AUTH_KEYS} = ensure_keys("$FindBin::Bin/data/auth/keys");

# authentication, the warehouse, the Data API, the job store; the exports
our $HttpConfig = http_config() . export_config();

# For "--- init": the tenant exports sales with these options, the export
# completes, its files hold exactly the tenant's rows (Python and DuckDB
# agree with psql), and $ENV{TEST_NGINX_JOB} names it.
sub exported {
    my ($tenant, %body) = @_;
    my $where = delete $body{where};
    my $format = $body{format} // 'csv';
    my $compression = $body{compression} // 'gzip';
    my $header = $body{csv} && $body{csv}{header};
    my $delimiter = ($body{csv} && $body{csv}{delimiter}) // ',';
    my ($status, $job) = export($K{$tenant},
                                {sql => 'select * from sales'
                                        . ($where ? " where $where" : ''),
                                 %body});

    die "POST /v1/bulk answered $status\n" if $status != 202;

    $ENV{TEST_NGINX_JOB} = $job->{job_id};
    $job = wait_export($K{$tenant}, $job->{job_id});

    die "the export is $job->{status}\n" if $job->{status} ne 'COMPLETED';

    my @paths = download($job, $K{$tenant});
    my $want = psql_sums($tenant, $where);

    Test::More::is_deeply(sums($format, $header, $delimiter, $compression, @paths),
                          $want, "$tenant $format+$compression: the files "
                          . "hold the tenant's rows and sums ($want->{rows} "
                          . "rows, " . @paths . " files)");
    Test::More::is_deeply(duckdb_sums($format, $header, $delimiter, @paths), $want,
                          "$tenant $format+$compression: DuckDB agrees");

    my $rows = 0;
    $rows += $_->{rows} for @{ $job->{result}{files} };
    Test::More::is($rows, $want->{rows},
                   "$tenant: the manifest's rows add up");

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

=== TEST 1: acme exports sales as CSV+gzip: its 600000 rows, links to each file
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/bulk/objects.conf;

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- init
main::exported('acme', csv => {header => JSON::PP::true()});
--- pipelined_requests eval
['GET /v1/bulk/$TEST_NGINX_JOB']
--- error_code eval
[200]
--- response_body_like eval
[qr{^\{"job_id":"((??{ $ENV{TEST_NGINX_JOB} }))","type":"bulk","status":"COMPLETED",.*"row_count":600000,.*"links":\{"self":"/v1/jobs/\1","export":"/v1/bulk/\1"\},"result":\{"format":"csv","compression":"gzip","expires_at":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z","max_downloads":null,"files":\[\{"url":"http://127\.0\.0\.1:\d+/spectra-exports/exports/tenant%3Dacme/job%3D\1/0000_part_00\.gz\?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=[^&"]+%2Fs3%2Faws4_request&X-Amz-Date=\d{8}T\d{6}Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host&X-Amz-Signature=[0-9a-f]{64}","link":"/v1/bulk/\1/files/\d+","size":\d+,"rows":600000\}\]\}\}$}]



=== TEST 2: globex exports sales as CSV+gzip with '|': its 300000 rows
--- tenant: globex
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/bulk/objects.conf;

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- init
main::exported('globex', csv => {delimiter => '|'});
--- pipelined_requests eval
['GET /v1/bulk/$TEST_NGINX_JOB']
--- error_code eval
[200]
--- response_body_like eval
[qr{^\{"job_id":"((??{ $ENV{TEST_NGINX_JOB} }))","type":"bulk","status":"COMPLETED",.*"row_count":300000,.*"result":\{"format":"csv","compression":"gzip","expires_at":"[^"]+","max_downloads":null,"files":\[\{"url":"http://127\.0\.0\.1:\d+/spectra-exports/exports/tenant%3Dglobex/job%3D\1/\d{4}_part_00\.gz\?X-Amz-[^"]+&X-Amz-Signature=[0-9a-f]{64}","link":"/v1/bulk/\1/files/\d+","size":\d+,"rows":300000\}\]\}\}$}]



=== TEST 3: initech (bulk only) exports sales as CSV+gzip: its 100000 rows
--- tenant: initech
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/bulk/objects.conf;

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- init
main::exported('initech', csv => {header => JSON::PP::true()});
--- pipelined_requests eval
['GET /v1/bulk/$TEST_NGINX_JOB']
--- error_code eval
[200]
--- response_body_like eval
[qr{^\{"job_id":"((??{ $ENV{TEST_NGINX_JOB} }))","type":"bulk","status":"COMPLETED",.*"row_count":100000,.*"result":\{"format":"csv","compression":"gzip","expires_at":"[^"]+","max_downloads":null,"files":\[\{"url":"http://127\.0\.0\.1:\d+/spectra-exports/exports/tenant%3Dinitech/job%3D\1/\d{4}_part_00\.gz\?X-Amz-[^"]+&X-Amz-Signature=[0-9a-f]{64}","link":"/v1/bulk/\1/files/\d+","size":\d+,"rows":100000\}\]\}\}$}]



=== TEST 4: acme exports sales as JSON+zstd in 5 MB files: 600000 rows over several
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/bulk/objects.conf;

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- init
main::exported('acme', format => 'json', compression => 'zstd', max_file_size => 5);
--- pipelined_requests eval
['GET /v1/bulk/$TEST_NGINX_JOB']
--- error_code eval
[200]
--- response_body_like eval
[qr{^\{"job_id":"((??{ $ENV{TEST_NGINX_JOB} }))","type":"bulk","status":"COMPLETED",.*"row_count":600000,.*"result":\{"format":"json","compression":"zstd","expires_at":"[^"]+","max_downloads":null,"files":\[\{"url":"http://127\.0\.0\.1:\d+/spectra-exports/exports/tenant%3Dacme/job%3D\1/\d{4}_part_\d\d\.zst\?X-Amz-[^"]+&X-Amz-Signature=[0-9a-f]{64}","link":"/v1/bulk/\1/files/\d+","size":\d+,"rows":\d+\}(?:,\{"url":"http://127\.0\.0\.1:\d+/spectra-exports/exports/tenant%3Dacme/job%3D\1/\d{4}_part_\d\d\.zst\?X-Amz-[^"]+&X-Amz-Signature=[0-9a-f]{64}","link":"/v1/bulk/\1/files/\d+","size":\d+,"rows":\d+\})+\]\}\}$}]



=== TEST 5: globex exports sales as JSON+zstd: its 300000 rows
--- tenant: globex
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/bulk/objects.conf;

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- init
main::exported('globex', format => 'json', compression => 'zstd');
--- pipelined_requests eval
['GET /v1/bulk/$TEST_NGINX_JOB']
--- error_code eval
[200]
--- response_body_like eval
[qr{^\{"job_id":"((??{ $ENV{TEST_NGINX_JOB} }))","type":"bulk","status":"COMPLETED",.*"row_count":300000,.*"result":\{"format":"json","compression":"zstd","expires_at":"[^"]+","max_downloads":null,"files":\[\{"url":"http://127\.0\.0\.1:\d+/spectra-exports/exports/tenant%3Dglobex/job%3D\1/\d{4}_part_00\.zst\?X-Amz-[^"]+&X-Amz-Signature=[0-9a-f]{64}","link":"/v1/bulk/\1/files/\d+","size":\d+,"rows":300000\}\]\}\}$}]



=== TEST 6: initech exports sales as JSON+zstd: its 100000 rows
--- tenant: initech
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/bulk/objects.conf;

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- init
main::exported('initech', format => 'json', compression => 'zstd');
--- pipelined_requests eval
['GET /v1/bulk/$TEST_NGINX_JOB']
--- error_code eval
[200]
--- response_body_like eval
[qr{^\{"job_id":"((??{ $ENV{TEST_NGINX_JOB} }))","type":"bulk","status":"COMPLETED",.*"row_count":100000,.*"result":\{"format":"json","compression":"zstd","expires_at":"[^"]+","max_downloads":null,"files":\[\{"url":"http://127\.0\.0\.1:\d+/spectra-exports/exports/tenant%3Dinitech/job%3D\1/\d{4}_part_00\.zst\?X-Amz-[^"]+&X-Amz-Signature=[0-9a-f]{64}","link":"/v1/bulk/\1/files/\d+","size":\d+,"rows":100000\}\]\}\}$}]



=== TEST 7: an export shows its files in GET /v1/jobs/{id} too, and is listed with type bulk
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/bulk/objects.conf;

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- init
main::exported('acme', where => 'id <= 2000', max_downloads => 2);
--- pipelined_requests eval
['GET /v1/jobs/$TEST_NGINX_JOB', 'GET /v1/jobs?type=bulk&limit=1', 'GET /v1/jobs?type=query&limit=100']
--- error_code eval
[200, 200, 200]
--- response_body_like eval
[qr{^\{"job_id":"((??{ $ENV{TEST_NGINX_JOB} }))","type":"bulk","status":"COMPLETED",.*"row_count":1200,.*"result":\{"format":"csv","compression":"gzip","expires_at":"[^"]+","max_downloads":2,"files":\[\{"url":null,"link":"/v1/bulk/\1/files/0","size":\d+,"rows":1200\}\]\}\}$},
 qr{^\{"jobs":\[\{"job_id":"((??{ $ENV{TEST_NGINX_JOB} }))","type":"bulk","status":"COMPLETED",[^\]]*"links":\{"self":"/v1/jobs/\1","export":"/v1/bulk/\1"\}\}\],"next_cursor":(?:null|"[^"]+")\}$},
 qr{^(?!.*(??{ $ENV{TEST_NGINX_JOB} }))}]



=== TEST 8: credentials without the bulk permission: 403 on every bulk endpoint
--- tenant: queryonly
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/bulk/objects.conf;

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- pipelined_requests eval
["POST /v1/bulk\n{\"sql\": \"select 1\"}", 'GET /v1/bulk/job_0000000000000000000000000a', 'DELETE /v1/bulk/job_0000000000000000000000000a']
--- error_code eval
[403, 403, 403]
--- response_body_like eval
[(qr{^\{"error":\{"code":"FORBIDDEN","message":"the credentials lack the \\"bulk\\" permission","request_id":"[0-9a-f]{32}"\}\}$}) x 3]



=== TEST 9: another tenant's export is 404 on every endpoint, as a missing one
--- tenant: globex
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/bulk/objects.conf;

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- init
main::exported('acme', where => 'id <= 100');
--- pipelined_requests eval
['GET /v1/bulk/$TEST_NGINX_JOB', 'DELETE /v1/bulk/$TEST_NGINX_JOB', 'GET /v1/jobs/$TEST_NGINX_JOB', 'GET /v1/jobs/$TEST_NGINX_JOB/results', 'DELETE /v1/jobs/$TEST_NGINX_JOB', 'GET /v1/bulk/job_0000000000000000000000000a']
--- error_code eval
[404, 404, 404, 404, 404, 404]
--- response_body_like eval
[qr{^\{"error":\{"code":"NOT_FOUND","message":"no such export","request_id":"[0-9a-f]{32}"\}\}$},
 qr{"message":"no such export"}, qr{"message":"no such job"},
 qr{"message":"no such job"}, qr{"message":"no such job"},
 qr{"message":"no such export"}]



=== TEST 10: a query job is not an export: 404 at /v1/bulk/{id}
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/bulk/objects.conf;

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- init
SpectraQuery::submit($::K{acme}, {sql => 'select 1'}, until => 'COMPLETED');
--- pipelined_requests eval
['GET /v1/bulk/$TEST_NGINX_JOB', 'DELETE /v1/bulk/$TEST_NGINX_JOB']
--- error_code eval
[404, 404]
--- response_body_like eval
[(qr{"code":"NOT_FOUND","message":"no such export"}) x 2]



=== TEST 11: DELETE /v1/bulk/{id} cancels a running export
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/bulk/objects.conf;

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- init
SpectraQuery::gate_close();
my ($status, $job) = SpectraBulk::export($::K{acme}, {sql => 'select count(*) from spectra_gate'});
die "POST /v1/bulk answered $status\n" if $status != 202;
$ENV{TEST_NGINX_JOB} = $job->{job_id};
SpectraQuery::poll(sub { @{ SpectraQuery::gate_waiters() } }, 200, 0.05);
--- pipelined_requests eval
['DELETE /v1/bulk/$TEST_NGINX_JOB', 'GET /v1/bulk/$TEST_NGINX_JOB', 'DELETE /v1/bulk/$TEST_NGINX_JOB']
--- error_code eval
[200, 200, 409]
--- response_body_like eval
[qr{^\{"job_id":"((??{ $ENV{TEST_NGINX_JOB} }))","type":"bulk","status":"CANCELLED",},
 qr{^\{"job_id":"((??{ $ENV{TEST_NGINX_JOB} }))","type":"bulk","status":"CANCELLED",(?!.*"result")},
 qr{"code":"CONFLICT","message":"the job is CANCELLED and cannot be cancelled"}]



=== TEST 12: hostile quoting in the SQL reaches the warehouse intact: the file holds exactly its values
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/bulk/objects.conf;

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- init
my $sql = q{select 'it''s, "quoted"' as a, $$x'); unload ('y') to 's3://evil/'; --$$ as b, 'back\slash' as c, 'ü' as "naïve"};
my ($status, $job) = SpectraBulk::export($::K{acme}, {sql => $sql, compression => 'none', csv => {header => JSON::PP::true()}});
die "POST /v1/bulk answered $status\n" if $status != 202;
$ENV{TEST_NGINX_JOB} = $job->{job_id};
$job = SpectraBulk::wait_export($::K{acme}, $job->{job_id});
my ($path) = SpectraBulk::download($job);
open my $fh, '<:raw', $path or die "$path: $!";
my $text = do { local $/; <$fh> };
Test::More::is($text, qq{a,b,c,na\xc3\xafve\n"it's, ""quoted""",x'); unload ('y') to 's3://evil/'; --,back\\slash,\xc3\xbc\n}, 'the CSV holds the values as written');
--- pipelined_requests eval
['GET /v1/bulk/$TEST_NGINX_JOB']
--- error_code eval
[200]
--- response_body_like eval
[qr{"status":"COMPLETED",.*"row_count":1,.*"compression":"none",.*"files":\[\{"url":"http://[^"]+/0000_part_00\?X-Amz-[^"]+","link":"/v1/bulk/job_[^"/]+/files/0","size":\d+,"rows":1\}\]}]



=== TEST 13: the same idempotency key and body: the same export; another body: 409
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/bulk/objects.conf;

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- init
main::exported('acme', where => 'id <= 50', idempotency_key => 'same-063');
--- pipelined_requests eval
["POST /v1/bulk\n{\"idempotency_key\":\"same-063\",\"sql\":\"select * from sales where id <= 50\"}",
 "POST /v1/bulk\n{\"sql\": \"select * from sales where id <= 51\", \"idempotency_key\": \"same-063\"}"]
--- error_code eval
[200, 409]
--- response_body_like eval
[qr{^\{"job_id":"((??{ $ENV{TEST_NGINX_JOB} }))","type":"bulk","status":"COMPLETED",.*"files":\[\{"url":},
 qr{^\{"error":\{"code":"CONFLICT","message":"idempotency_key was used with a different request",}]



=== TEST 14: bad options: format parquet with gzip (parquet compresses its pages itself): 400 INVALID_REQUEST
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/bulk/objects.conf;

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- request eval
"POST /v1/bulk\n{\"sql\": \"select 1\", \"format\": \"parquet\", \"compression\": \"gzip\"}"
--- error_code: 400
--- response_body_like eval
qr{^\{"error":\{"code":"INVALID_REQUEST","message":"format \\"parquet\\" compresses its pages itself \(SNAPPY\): leave compression out or set it to \\"none\\"","request_id":"[0-9a-f]{32}"\}\}$}



=== TEST 15: bad options: an unknown format: 400 INVALID_REQUEST
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/bulk/objects.conf;

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- request eval
"POST /v1/bulk\n{\"sql\": \"select 1\", \"format\": \"xml\"}"
--- error_code: 400
--- response_body_like eval
qr{^\{"error":\{"code":"INVALID_REQUEST","message":"format must be \\"csv\\", \\"json\\" or \\"parquet\\"[^"]*(?:\\"[^"]*)*","request_id":"[0-9a-f]{32}"\}\}$}



=== TEST 16: bad options: an unknown compression: 400 INVALID_REQUEST
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/bulk/objects.conf;

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- request eval
"POST /v1/bulk\n{\"sql\": \"select 1\", \"compression\": \"bzip2\"}"
--- error_code: 400
--- response_body_like eval
qr{^\{"error":\{"code":"INVALID_REQUEST","message":"compression must be \\"gzip\\", \\"zstd\\" or \\"none\\"[^"]*(?:\\"[^"]*)*","request_id":"[0-9a-f]{32}"\}\}$}



=== TEST 17: bad options: a delimiter of two characters: 400 INVALID_REQUEST
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/bulk/objects.conf;

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- request eval
"POST /v1/bulk\n{\"sql\": \"select 1\", \"csv\": {\"delimiter\": \",,\"}}"
--- error_code: 400
--- response_body_like eval
qr{^\{"error":\{"code":"INVALID_REQUEST","message":"csv.delimiter must be one printable ASCII character other than [^"]*(?:\\"[^"]*)*","request_id":"[0-9a-f]{32}"\}\}$}



=== TEST 18: bad options: a quote as the delimiter: 400 INVALID_REQUEST
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/bulk/objects.conf;

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- request eval
"POST /v1/bulk\n{\"sql\": \"select 1\", \"csv\": {\"delimiter\": \"'\"}}"
--- error_code: 400
--- response_body_like eval
qr{^\{"error":\{"code":"INVALID_REQUEST","message":"csv.delimiter must be one printable ASCII character[^"]*(?:\\"[^"]*)*","request_id":"[0-9a-f]{32}"\}\}$}



=== TEST 19: bad options: header that is not a boolean: 400 INVALID_REQUEST
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/bulk/objects.conf;

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- request eval
"POST /v1/bulk\n{\"sql\": \"select 1\", \"csv\": {\"header\": \"yes\"}}"
--- error_code: 400
--- response_body_like eval
qr{^\{"error":\{"code":"INVALID_REQUEST","message":"csv.header must be true or false[^"]*(?:\\"[^"]*)*","request_id":"[0-9a-f]{32}"\}\}$}



=== TEST 20: bad options: csv options with format json: 400 INVALID_REQUEST
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/bulk/objects.conf;

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- request eval
"POST /v1/bulk\n{\"sql\": \"select 1\", \"format\": \"json\", \"csv\": {\"header\": true}}"
--- error_code: 400
--- response_body_like eval
qr{^\{"error":\{"code":"INVALID_REQUEST","message":"csv options apply only to format \\"csv\\"[^"]*(?:\\"[^"]*)*","request_id":"[0-9a-f]{32}"\}\}$}



=== TEST 21: bad options: max_file_size below 5 MB: 400 INVALID_REQUEST
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/bulk/objects.conf;

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- request eval
"POST /v1/bulk\n{\"sql\": \"select 1\", \"max_file_size\": 4}"
--- error_code: 400
--- response_body_like eval
qr{^\{"error":\{"code":"INVALID_REQUEST","message":"max_file_size .MB. must be an integer from 5 to 6348[^"]*(?:\\"[^"]*)*","request_id":"[0-9a-f]{32}"\}\}$}



=== TEST 22: bad options: max_downloads 0: 400 INVALID_REQUEST
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/bulk/objects.conf;

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- request eval
"POST /v1/bulk\n{\"sql\": \"select 1\", \"max_downloads\": 0}"
--- error_code: 400
--- response_body_like eval
qr{^\{"error":\{"code":"INVALID_REQUEST","message":"max_downloads must be an integer from 1 to 1000000[^"]*(?:\\"[^"]*)*","request_id":"[0-9a-f]{32}"\}\}$}



=== TEST 23: bad options: timeout_seconds past the configured maximum: 400 INVALID_REQUEST
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/bulk/objects.conf;

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- request eval
"POST /v1/bulk\n{\"sql\": \"select 1\", \"timeout_seconds\": 301}"
--- error_code: 400
--- response_body_like eval
qr{^\{"error":\{"code":"INVALID_REQUEST","message":"timeout_seconds must be an integer from 1 to 300[^"]*(?:\\"[^"]*)*","request_id":"[0-9a-f]{32}"\}\}$}



=== TEST 24: bad options: a bad idempotency_key: 400 INVALID_REQUEST
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/bulk/objects.conf;

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- request eval
"POST /v1/bulk\n{\"sql\": \"select 1\", \"idempotency_key\": \"a b\"}"
--- error_code: 400
--- response_body_like eval
qr{^\{"error":\{"code":"INVALID_REQUEST","message":"idempotency_key must be 1 to 64 characters[^"]*(?:\\"[^"]*)*","request_id":"[0-9a-f]{32}"\}\}$}



=== TEST 25: bad options: an unknown field: 400 INVALID_REQUEST
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/bulk/objects.conf;

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- request eval
"POST /v1/bulk\n{\"sql\": \"select 1\", \"row_limit\": 5}"
--- error_code: 400
--- response_body_like eval
qr{^\{"error":\{"code":"INVALID_REQUEST","message":"unknown field \\"row_limit\\"[^"]*(?:\\"[^"]*)*","request_id":"[0-9a-f]{32}"\}\}$}



=== TEST 26: bad options: parameters: 400 INVALID_REQUEST
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/bulk/objects.conf;

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- request eval
"POST /v1/bulk\n{\"sql\": \"select :x\", \"parameters\": [{\"name\": \"x\", \"value\": \"1\"}]}"
--- error_code: 400
--- response_body_like eval
qr{^\{"error":\{"code":"INVALID_REQUEST","message":"an export takes no parameters: write the values into its SQL[^"]*(?:\\"[^"]*)*","request_id":"[0-9a-f]{32}"\}\}$}



=== TEST 27: bad options: no sql: 400 INVALID_REQUEST
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/bulk/objects.conf;

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- request eval
"POST /v1/bulk\n{\"format\": \"csv\"}"
--- error_code: 400
--- response_body_like eval
qr{^\{"error":\{"code":"INVALID_REQUEST","message":"the field \\"sql\\" is required[^"]*(?:\\"[^"]*)*","request_id":"[0-9a-f]{32}"\}\}$}



=== TEST 28: bad options: malformed JSON: 400 INVALID_REQUEST
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/bulk/objects.conf;

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- request eval
"POST /v1/bulk\n{\"sql\": \"select 1\""
--- error_code: 400
--- response_body_like eval
qr{^\{"error":\{"code":"INVALID_REQUEST","message":"malformed JSON at line 1[^"]*(?:\\"[^"]*)*","request_id":"[0-9a-f]{32}"\}\}$}



=== TEST 29: bad options: a statement that is not read-only (the query policy): 400 INVALID_SQL
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/bulk/objects.conf;

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- request eval
"POST /v1/bulk\n{\"sql\": \"delete from sales\"}"
--- error_code: 400
--- response_body_like eval
qr{^\{"error":\{"code":"INVALID_SQL","message":"only[^"]*(?:\\"[^"]*)*","request_id":"[0-9a-f]{32}"\}\}$}



=== TEST 30: bad options: two statements (the query policy): 400 INVALID_SQL
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/bulk/objects.conf;

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- request eval
"POST /v1/bulk\n{\"sql\": \"select 1; select 2\"}"
--- error_code: 400
--- response_body_like eval
qr{^\{"error":\{"code":"INVALID_SQL","message":"[^"]*(?:\\"[^"]*)*","request_id":"[0-9a-f]{32}"\}\}$}



=== TEST 31: bad options: a :name in the SQL: 400 INVALID_SQL
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/bulk/objects.conf;

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- request eval
"POST /v1/bulk\n{\"sql\": \"select * from sales where id = :id\"}"
--- error_code: 400
--- response_body_like eval
qr{^\{"error":\{"code":"INVALID_SQL","message":"an export takes no parameters, and its SQL uses :id[^"]*(?:\\"[^"]*)*","request_id":"[0-9a-f]{32}"\}\}$}



=== TEST 32: a body that is not JSON: 415
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/bulk/objects.conf;

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- request
POST /v1/bulk
sql=select+1
--- more_headers eval
"X-API-Key: $::K{acme}\nContent-Type: application/x-www-form-urlencoded"
--- error_code: 415
--- response_body_like chomp
"code":"UNSUPPORTED_MEDIA_TYPE"



=== TEST 33: a location without spectra_export_bucket: 503, said in the log
--- http_config eval: SpectraQuery::http_config()
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- request
POST /v1/bulk
{"sql": "select 1"}
--- error_code: 503
--- response_body_like chomp
^\{"error":\{"code":"UNAVAILABLE","message":"exports are not configured here",
--- error_log
POST /v1/bulk without spectra_export_bucket
--- no_error_log
[crit]



=== TEST 34: initech exports sales as JSON, uncompressed: its 100000 rows
--- tenant: initech
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/bulk/objects.conf;

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- init
main::exported('initech', format => 'json', compression => 'none');
--- pipelined_requests eval
['GET /v1/bulk/$TEST_NGINX_JOB']
--- error_code eval
[200]
--- response_body_like eval
[qr{^\{"job_id":"((??{ $ENV{TEST_NGINX_JOB} }))","type":"bulk","status":"COMPLETED",.*"row_count":100000,.*"result":\{"format":"json","compression":"none","expires_at":"[^"]+","max_downloads":null,"files":\[\{"url":"http://127\.0\.0\.1:\d+/spectra-exports/exports/tenant%3Dinitech/job%3D\1/\d{4}_part_00\?X-Amz-[^"]+&X-Amz-Signature=[0-9a-f]{64}","link":"/v1/bulk/\1/files/\d+","size":\d+,"rows":100000\}\]\}\}$}]



=== TEST 35: globex exports sales as JSON+gzip: its 300000 rows
--- tenant: globex
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/bulk/objects.conf;

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- init
main::exported('globex', format => 'json', compression => 'gzip');
--- pipelined_requests eval
['GET /v1/bulk/$TEST_NGINX_JOB']
--- error_code eval
[200]
--- response_body_like eval
[qr{^\{"job_id":"((??{ $ENV{TEST_NGINX_JOB} }))","type":"bulk","status":"COMPLETED",.*"row_count":300000,.*"result":\{"format":"json","compression":"gzip","expires_at":"[^"]+","max_downloads":null,"files":\[\{"url":"http://127\.0\.0\.1:\d+/spectra-exports/exports/tenant%3Dglobex/job%3D\1/\d{4}_part_00\.gz\?X-Amz-[^"]+&X-Amz-Signature=[0-9a-f]{64}","link":"/v1/bulk/\1/files/\d+","size":\d+,"rows":300000\}\]\}\}$}]
