# POST /v1/bulk with format parquet, end to end: nginx -> spectra-dataapi
# (UNLOAD ... FORMAT PARQUET, SNAPPY pages) -> PostgreSQL, the files in
# the local object store, listed from the manifest with their sizes and
# row counts, downloaded through the presigned URLs the API gives, and
# read back by two readers from npm (hyparquet, DuckDB) that share no code
# with the writer: every value of every row is compared with what
# PostgreSQL holds for the tenant (t/data/parquet/lib/SpectraParquet.pm),
# so that each demo tenant's export holds exactly its own rows. Also:
# max_file_size parts, compression "none" accepted and gzip/zstd refused
# (Parquet compresses its pages itself), and a type Parquet cannot hold:
# the export FAILS with the column named, and no file is listed.
#
# A block's export is started and followed to its end in "--- init"
# (bounded polls of GET /v1/bulk/{id}, never a sleep), which also reads
# the files; the block's requests then ask for $TEST_NGINX_JOB.
use FindBin ();
use lib "$FindBin::Bin/data/query/lib", "$FindBin::Bin/data/auth/lib",
        "$FindBin::Bin/data/bulk/lib", "$FindBin::Bin/data/parquet/lib";
use Test::Nginx::Socket 'no_plan';
use SpectraLogArchive;
use SpectraAuth qw(ensure_keys);
use SpectraQuery qw(api_key key_file http_config);
use SpectraBulk qw(export_config export wait_export download);
use SpectraParquet qw(same_rows);

our %K;

my @lines;

for my $k (['acme', 'tenant=acme permissions=query,bulk'],
           ['globex', 'tenant=globex permissions=query,bulk'],
           ['initech', 'tenant=initech permissions=bulk'])
{
    my $line;
    ($K{$k->[0]}, $line) = api_key("p068$k->[0]", $k->[1]);
    push @lines, $line;
}

$ENV{TEST_NGINX_QT_KEYS} = key_file(@lines);
$ENV{TEST_NGINX_AUTH_KEYS} = ensure_keys("$FindBin::Bin/data/auth/keys");

# authentication, the warehouse, the Data API, the job store; the exports
our $HttpConfig = http_config() . export_config();

my @sales = ([id => 'bigint'], [tenant_id => 'text'], [region => 'text'],
             [product_id => 'integer'], [quantity => 'smallint'],
             [amount => 'numeric(12,2)'],
             [discount => 'double precision'], [returned => 'boolean'],
             [note => 'text'], [sale_date => 'date'],
             [sold_at => 'timestamptz']);

my %types = (
    hyparquet => join("\t", 'id:INT64/INTEGER(64,signed)',
        'tenant_id:BYTE_ARRAY/STRING', 'region:BYTE_ARRAY/STRING',
        'product_id:INT32/INTEGER(32,signed)',
        'quantity:INT32/INTEGER(16,signed)', 'amount:INT64/DECIMAL(12,2)',
        'discount:DOUBLE', 'returned:BOOLEAN', 'note:BYTE_ARRAY/STRING',
        'sale_date:INT32/DATE', 'sold_at:INT64/TIMESTAMP(UTC,MICROS)'),
    duckdb => join("\t", 'id:BIGINT', 'tenant_id:VARCHAR', 'region:VARCHAR',
        'product_id:INTEGER', 'quantity:SMALLINT', 'amount:DECIMAL(12,2)',
        'discount:DOUBLE', 'returned:BOOLEAN', 'note:VARCHAR',
        'sale_date:DATE', 'sold_at:TIMESTAMP WITH TIME ZONE'),
);

# For "--- init": the tenant exports sales (the rows matching $where) as
# Parquet with these options, the export completes, its files hold
# exactly the tenant's rows, every value as PostgreSQL's (both readers),
# the manifest's row counts add up; $ENV{TEST_NGINX_JOB} names it.
sub exported {
    my ($tenant, %body) = @_;
    my $where = delete $body{where};
    my $sql = 'select * from sales' . ($where ? " where $where" : '');
    my ($status, $job) = export($K{$tenant},
                                {sql => $sql, format => 'parquet', %body});

    die "POST /v1/bulk answered $status\n" if $status != 202;

    $ENV{TEST_NGINX_JOB} = $job->{job_id};
    $job = wait_export($K{$tenant}, $job->{job_id});

    die "the export is $job->{status}\n" if $job->{status} ne 'COMPLETED';

    my @paths = download($job, $K{$tenant});
    my $rows = same_rows("$tenant parquet",
                         "select * from sales where tenant_id = '$tenant'"
                         . ($where ? " and ($where)" : ''),
                         \@sales, \@paths, \%types);
    my $listed = 0;
    $listed += $_->{rows} for @{ $job->{result}{files} };
    Test::More::is($listed, $rows, "$tenant: the manifest's rows add up to "
                   . "$rows, in " . @paths . ' files');

    return $job;
}

# For "--- init": an export that fails; $ENV{TEST_NGINX_JOB} names it.
sub failed {
    my ($tenant, $sql) = @_;
    my ($status, $job) = export($K{$tenant},
                                {sql => $sql, format => 'parquet'});

    die "POST /v1/bulk answered $status\n" if $status != 202;

    $ENV{TEST_NGINX_JOB} = $job->{job_id};
    $job = wait_export($K{$tenant}, $job->{job_id});

    die "the export is $job->{status}\n" if $job->{status} ne 'FAILED';
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

=== TEST 1: acme exports sales as Parquet: its 600000 rows, every value as PostgreSQL's
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/bulk/objects.conf;

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- init
main::exported('acme');
--- pipelined_requests eval
['GET /v1/bulk/$TEST_NGINX_JOB']
--- error_code eval
[200]
--- response_body_like eval
[qr{^\{"job_id":"((??{ $ENV{TEST_NGINX_JOB} }))","type":"bulk","status":"COMPLETED",.*"row_count":600000,.*"result":\{"format":"parquet","compression":"none","expires_at":"[^"]+","max_downloads":null,"files":\[\{"url":"http://127\.0\.0\.1:\d+/spectra-exports/exports/tenant%3Dacme/job%3D\1/0000_part_00\.parquet\?X-Amz-[^"]+&X-Amz-Signature=[0-9a-f]{64}","link":"/v1/bulk/\1/files/0","size":\d+,"rows":600000\}\]\}\}$}]



=== TEST 2: globex exports sales as Parquet: its 300000 rows
--- tenant: globex
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/bulk/objects.conf;

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- init
main::exported('globex');
--- pipelined_requests eval
['GET /v1/bulk/$TEST_NGINX_JOB']
--- error_code eval
[200]
--- response_body_like eval
[qr{^\{"job_id":"((??{ $ENV{TEST_NGINX_JOB} }))","type":"bulk","status":"COMPLETED",.*"row_count":300000,.*"result":\{"format":"parquet","compression":"none","expires_at":"[^"]+","max_downloads":null,"files":\[\{"url":"http://127\.0\.0\.1:\d+/spectra-exports/exports/tenant%3Dglobex/job%3D\1/0000_part_00\.parquet\?X-Amz-[^"]+","link":"/v1/bulk/\1/files/0","size":\d+,"rows":300000\}\]\}\}$}]



=== TEST 3: initech (bulk only) exports sales as Parquet, compression "none" said: its 100000 rows
--- tenant: initech
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/bulk/objects.conf;

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- init
main::exported('initech', compression => 'none');
--- pipelined_requests eval
['GET /v1/bulk/$TEST_NGINX_JOB']
--- error_code eval
[200]
--- response_body_like eval
[qr{^\{"job_id":"((??{ $ENV{TEST_NGINX_JOB} }))","type":"bulk","status":"COMPLETED",.*"row_count":100000,.*"result":\{"format":"parquet","compression":"none","expires_at":"[^"]+","max_downloads":null,"files":\[\{"url":"http://127\.0\.0\.1:\d+/spectra-exports/exports/tenant%3Dinitech/job%3D\1/0000_part_00\.parquet\?X-Amz-[^"]+","link":"/v1/bulk/\1/files/0","size":\d+,"rows":100000\}\]\}\}$}]



=== TEST 4: acme exports sales as Parquet in 5 MB files: several .parquet parts, 600000 rows over them
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/bulk/objects.conf;

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- init
main::exported('acme', max_file_size => 5);
--- pipelined_requests eval
['GET /v1/bulk/$TEST_NGINX_JOB']
--- error_code eval
[200]
--- response_body_like eval
[qr{^\{"job_id":"((??{ $ENV{TEST_NGINX_JOB} }))","type":"bulk","status":"COMPLETED",.*"row_count":600000,.*"files":\[\{"url":"[^"]+/0000_part_00\.parquet\?[^"]+","link":"/v1/bulk/\1/files/0","size":\d+,"rows":\d+\},\{"url":"[^"]+/0000_part_01\.parquet\?[^"]+","link":"/v1/bulk/\1/files/1","size":\d+,"rows":\d+\}(?:,\{[^{}]+\})*\]\}\}$}]



=== TEST 5: a type Parquet cannot hold: the export FAILS, naming the column, and lists no file
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/bulk/objects.conf;

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- init
main::failed('acme', 'select id, sold_at - sale_date as age from sales where id < 100');
--- pipelined_requests eval
['GET /v1/bulk/$TEST_NGINX_JOB']
--- error_code eval
[200]
--- response_body_like eval
[qr{^\{"job_id":"((??{ $ENV{TEST_NGINX_JOB} }))","type":"bulk","status":"FAILED",.*"error":\{"code":"QUERY_FAILED","message":"[^"]*FORMAT PARQUET: column \\"age\\" has a type \(oid 1186\) that UNLOAD cannot write to Parquet[^"]*"(?!.*"files")}]



=== TEST 6: a sum without a precision: the export FAILS with a hint to cast
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/bulk/objects.conf;

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- init
main::failed('acme', 'select region, sum(amount) as total from sales group by region');
--- pipelined_requests eval
['GET /v1/bulk/$TEST_NGINX_JOB']
--- error_code eval
[200]
--- response_body_like eval
[qr{^\{"job_id":"((??{ $ENV{TEST_NGINX_JOB} }))","type":"bulk","status":"FAILED",.*"error":\{"code":"QUERY_FAILED","message":"[^"]*column \\"total\\" is a numeric without a precision, which Parquet cannot hold exactly: cast it, as in total::numeric\(18,2\)}]



=== TEST 7: format parquet with compression zstd: 400 INVALID_REQUEST, nothing started
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/bulk/objects.conf;

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- request eval
"POST /v1/bulk\n{\"sql\": \"select 1\", \"format\": \"parquet\", \"compression\": \"zstd\"}"
--- error_code: 400
--- response_body_like eval
qr{^\{"error":\{"code":"INVALID_REQUEST","message":"format \\"parquet\\" compresses its pages itself \(SNAPPY\): leave compression out or set it to \\"none\\"","request_id":"[0-9a-f]{32}"\}\}$}



=== TEST 8: format parquet with csv options: 400 INVALID_REQUEST
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/bulk/objects.conf;

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- request eval
"POST /v1/bulk\n{\"sql\": \"select 1\", \"format\": \"parquet\", \"csv\": {\"header\": true}}"
--- error_code: 400
--- response_body_like eval
qr{^\{"error":\{"code":"INVALID_REQUEST","message":"csv options apply only to format \\"csv\\"","request_id":"[0-9a-f]{32}"\}\}$}
