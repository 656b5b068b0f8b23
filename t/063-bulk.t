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
    my $format = $body{format} // 'csv';
    my $compression = $body{compression} // 'gzip';
    my $header = $body{csv} && $body{csv}{header};
    my ($status, $job) = export($K{$tenant},
                                {sql => 'select * from sales', %body});

    die "POST /v1/bulk answered $status\n" if $status != 202;

    $ENV{TEST_NGINX_JOB} = $job->{job_id};
    $job = wait_export($K{$tenant}, $job->{job_id});

    die "the export is $job->{status}\n" if $job->{status} ne 'COMPLETED';

    my @paths = download($job);
    my $want = psql_sums($tenant);

    Test::More::is_deeply(sums($format, $header, $compression, @paths),
                          $want, "$tenant $format+$compression: the files "
                          . "hold the tenant's rows and sums ($want->{rows} "
                          . "rows, " . @paths . " files)");
    Test::More::is_deeply(duckdb_sums($format, $header, @paths), $want,
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

    # the module's reads of the object store (the manifests)
    location /_spectra/s3/ {
        internal;
        proxy_pass http://spectra_objects/;
        proxy_set_header Host $http_host;
        subrequest_output_buffer_size 1m;
    }

    # the local object store, plain files (signatures are not checked here)
    location /spectra-exports/ {
        spectra_auth off;
        root $TEST_NGINX_OBJECTS_DIR;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- init
main::exported('acme', csv => {header => JSON::PP::true()});
--- pipelined_requests eval
['GET /v1/bulk/$TEST_NGINX_JOB']
--- error_code eval
[200]
--- response_body_like eval
[qr{^\{"job_id":"((??{ $ENV{TEST_NGINX_JOB} }))","type":"bulk","status":"COMPLETED",.*"row_count":600000,.*"links":\{"self":"/v1/jobs/\1","export":"/v1/bulk/\1"\},"result":\{"format":"csv","compression":"gzip","expires_at":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z","max_downloads":null,"files":\[\{"url":"http://127\.0\.0\.1:\d+/spectra-exports/exports/tenant%3Dacme/job%3D\1/0000_part_00\.gz\?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=[^&"]+%2Fs3%2Faws4_request&X-Amz-Date=\d{8}T\d{6}Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host&X-Amz-Signature=[0-9a-f]{64}","size":\d+,"rows":600000\}\]\}\}$}]
