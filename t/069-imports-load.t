# Imports end to end: nginx -> the local object store (a presigned PUT,
# written by nginx) -> PATCH UploadComplete -> COPY through
# spectra-dataapi as the tenant's own PostgreSQL role, where row-level
# security (WITH CHECK) decides what the tenant may write.  Each demo
# tenant imports 100,000 rows (CSV+gzip, CSV with '|', JSON lines+zstd)
# and reads back exactly those rows through /v1/queries, as the
# superuser counts them; a file with one row claiming another tenant
# loads nothing and says which line; malformed rows within max_errors
# are skipped and reported by line number, and /failed downloads them
# as CSV; more of them than max_errors loads nothing; a second
# UploadComplete is 409; an InProgress import aborted leaves nothing.
#
# A block's import runs in "--- init" (bounded polls, never a sleep; the
# load that must stay InProgress waits for a lock the test holds); the
# block's requests then ask for $TEST_NGINX_JOB.
use FindBin ();
use lib "$FindBin::Bin/data/query/lib", "$FindBin::Bin/data/auth/lib",
        "$FindBin::Bin/data/bulk/lib", "$FindBin::Bin/data/import/lib";
use Test::Nginx::Socket 'no_plan';
use SpectraLogArchive;
use SpectraAuth qw(ensure_keys);
use SpectraQuery qw(api_key key_file http_config http json poll);
use SpectraBulk qw(export_config);
use SpectraImport qw(import_config events_file start_import upload
                     patch_import wait_import imported marker tenant_rows
                     warehouse_rows events_lock events_unlock import_state);

our (%K);

my @lines;

for my $t (qw(acme globex initech)) {
    my $line;
    ($K{$t}, $line) = api_key("l069$t", "tenant=$t permissions=query,bulk");
    push @lines, $line;
}

$ENV{TEST_NGINX_QT_KEYS} = key_file(@lines);
$ENV{TEST_NGINX_AUTH_KEYS} = ensure_keys("$FindBin::Bin/data/auth/keys");

our $HttpConfig = http_config() . export_config() . import_config();

# ids 1..n: their sum
sub ids { my ($n) = @_; return $n * ($n + 1) / 2 }

# For "--- init": the tenant imports n rows of its own; the import
# completes and the tenant, and the superuser, see exactly those rows.
sub loaded {
    my ($tenant, $n, %o) = @_;
    my $kind = marker();
    my $path = events_file(tenant => $tenant, rows => $n, kind => $kind,
                           format => $o{format}, header => $o{header},
                           compression => $o{compression},
                           delimiter => $o{delimiter});
    my %body = (format => $o{format} // 'csv',
                compression => $o{compression} // 'gzip');

    $body{csv} = {header => $o{header} ? JSON::PP::true() : JSON::PP::false(),
                  delimiter => $o{delimiter} // ','}
        if $body{format} eq 'csv';

    my $job = imported($K{$tenant}, $path, \%body);

    die "the import is $job->{state}: " . json()->encode($job) . "\n"
        if $job->{state} ne 'JobComplete';

    my $amount = 0;
    $amount += ($_ % 1000) + ($_ % 100) / 100 for 1 .. $n;

    my $got = tenant_rows($K{$tenant}, $kind);
    my ($count, $tenants, $ids, $sum) = split ' ', $got;

    Test::More::is("$count $tenants $ids", "$n 1 " . ids($n),
                   "$tenant reads back exactly its $n rows");
    Test::More::ok(abs($sum - $amount) < 0.005,
                   "$tenant: the amounts add up ($sum)");
    Test::More::is(warehouse_rows($kind), "$tenant:$n",
                   "$tenant: the warehouse holds its $n rows, no other's");

    for my $other (grep { $_ ne $tenant } qw(acme globex initech)) {
        Test::More::is((split ' ', tenant_rows($K{$other}, $kind))[0], 0,
                       "$other reads none of ${tenant}'s rows");
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

=== TEST 1: acme imports 100,000 rows of CSV+gzip with a header: JobComplete, exactly its rows
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/import/objects.conf;

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- init
main::loaded('acme', 100000, header => 1);
--- pipelined_requests eval
['GET /v1/imports/$TEST_NGINX_JOB']
--- error_code eval
[200]
--- response_body_like eval
[qr{^\{"job_id":"((??{ $ENV{TEST_NGINX_JOB} }))","type":"import","status":"COMPLETED","state":"JobComplete",.*"row_count":100000,.*"links":\{"self":"/v1/jobs/\1","import":"/v1/imports/\1"\},"table":"events","format":"csv","compression":"gzip","csv":\{"delimiter":",","header":true\},"max_errors":0,"rows_loaded":100000,"records_failed":0,"records_processed":100000,"errors":\[\]\}\n\z}]



=== TEST 2: globex imports 100,000 rows of CSV with '|', uncompressed
--- tenant: globex
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/import/objects.conf;

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- init
main::loaded('globex', 100000, delimiter => '|', compression => 'none');
--- pipelined_requests eval
['GET /v1/imports/$TEST_NGINX_JOB']
--- error_code eval
[200]
--- response_body_like eval
[qr{"state":"JobComplete",.*"table":"events","format":"csv","compression":"none","csv":\{"delimiter":"\|","header":false\},"max_errors":0,"rows_loaded":100000,"records_failed":0,"records_processed":100000,"errors":\[\]\}\n\z}]



=== TEST 3: initech imports 100,000 rows of JSON lines+zstd
--- tenant: initech
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/import/objects.conf;

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- init
main::loaded('initech', 100000, format => 'json', compression => 'zstd');
--- pipelined_requests eval
['GET /v1/imports/$TEST_NGINX_JOB']
--- error_code eval
[200]
--- response_body_like eval
[qr{"state":"JobComplete",.*"format":"json","compression":"zstd","max_errors":0,"rows_loaded":100000,"records_failed":0,}]



=== TEST 4: a file with one row claiming another tenant loads nothing; GET says which line and why
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/import/objects.conf;

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- init
my $kind = SpectraImport::marker();
my $path = SpectraImport::events_file(tenant => 'acme', rows => 100000,
    kind => $kind,
    lines => {50001 => "globex,50001,$kind,2026-11-01T00:00:00Z,1.00"});
my $job = SpectraImport::imported($main::K{acme}, $path, {max_errors => 10});
die "the import is $job->{state}\n" if $job->{state} ne 'Failed';
Test::More::is(SpectraImport::warehouse_rows($kind), 'none',
               "nothing of the file was loaded");
Test::More::is(SpectraImport::tenant_rows($main::K{acme}, $kind) =~ s/ .*//r,
               0, "acme reads none of it");
--- pipelined_requests eval
['GET /v1/imports/$TEST_NGINX_JOB']
--- error_code eval
[200]
--- response_body_like eval
[qr{^\{"job_id":"[^"]+","type":"import","status":"FAILED","state":"Failed",.*"error":\{"code":"QUERY_FAILED","message":"ERROR: new row violates row-level security policy for table \\"events\\" \(SQLSTATE 42501\)","sqlstate":"42501"\}.*"rows_loaded":0,"records_failed":1,"records_processed":1,"errors":\[\{"line":50001,"column":"","code":"42501","reason":"new row violates row-level security policy for table \\"events\\""\}\],"failed_records":"/v1/imports/job_[0-9a-z]{26}/failed"\}\n\z}]



=== TEST 5: malformed rows within max_errors are skipped, reported by line; /failed downloads them as CSV
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/import/objects.conf;

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- init
my $kind = SpectraImport::marker();
$ENV{TEST_NGINX_KIND} = $kind;
my $path = SpectraImport::events_file(tenant => 'acme', rows => 1000,
    kind => $kind, header => 1,
    lines => {11 => "acme,notanumber,$kind,2026-11-01T00:00:00Z,1.00",
              21 => "acme,20,$kind,not a time,1.00",
              31 => "acme,30,$kind,2026-11-01T00:00:00Z,\"a,b\""});
my $job = SpectraImport::imported($main::K{acme}, $path,
    {max_errors => 5, csv => {header => JSON::PP::true()}});
die "the import is $job->{state}\n" if $job->{state} ne 'JobComplete';
Test::More::is(SpectraImport::warehouse_rows($kind), 'acme:997',
               "the 997 good rows were loaded");
--- pipelined_requests eval
['GET /v1/imports/$TEST_NGINX_JOB', 'GET /v1/imports/$TEST_NGINX_JOB/failed']
--- error_code eval
[200, 200]
--- response_headers_like eval
["Content-Type: application/json; charset=utf-8", "Content-Type: text/csv; charset=utf-8\nContent-Disposition: attachment; filename=\"job_[0-9a-z]{26}-failed\\.csv\""]
--- response_body_like eval
[qr{"status":"COMPLETED","state":"JobComplete",.*"row_count":997,.*"max_errors":5,"rows_loaded":997,"records_failed":3,"records_processed":1000,"errors":\[\{"line":11,"column":"id","code":"22P02","reason":"invalid input syntax for type bigint: \\"notanumber\\""\},\{"line":21,"column":"occurred_at","code":"22007","reason":"invalid input syntax for type timestamp with time zone: \\"not a time\\""\},\{"line":31,"column":"amount","code":"22P02","reason":"invalid input syntax for type numeric: \\"a,b\\""\}\],"failed_records":"/v1/imports/job_[0-9a-z]{26}/failed"\}\n\z},
 qr{\Aline_number,column_name,error_code,error_message,raw_line\r\n11,"id","22P02","invalid input syntax for type bigint: ""notanumber""","acme,notanumber,(??{ $ENV{TEST_NGINX_KIND} }),2026-11-01T00:00:00Z,1\.00"\r\n21,"occurred_at","22007","invalid input syntax for type timestamp with time zone: ""not a time""","acme,20,(??{ $ENV{TEST_NGINX_KIND} }),not a time,1\.00"\r\n31,"amount","22P02","invalid input syntax for type numeric: ""a,b""","acme,30,(??{ $ENV{TEST_NGINX_KIND} }),2026-11-01T00:00:00Z,""a,b"""\r\n\z}]



=== TEST 6: more malformed rows than max_errors: the load fails, nothing loaded
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/import/objects.conf;

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- init
my $kind = SpectraImport::marker();
my $path = SpectraImport::events_file(tenant => 'acme', rows => 1000,
    kind => $kind,
    lines => {100 => "acme,x,$kind,2026-11-01T00:00:00Z,1",
              200 => "acme,y,$kind,2026-11-01T00:00:00Z,1",
              300 => "acme,z,$kind,2026-11-01T00:00:00Z,1"});
my $job = SpectraImport::imported($main::K{acme}, $path, {max_errors => 2});
die "the import is $job->{state}\n" if $job->{state} ne 'Failed';
Test::More::is(SpectraImport::warehouse_rows($kind), 'none',
               "nothing was loaded");
--- pipelined_requests eval
['GET /v1/imports/$TEST_NGINX_JOB']
--- error_code eval
[200]
--- response_body_like eval
[qr{"status":"FAILED","state":"Failed",.*"max_errors":2,"rows_loaded":0,"records_failed":3,"records_processed":3,"errors":\[\{"line":100,"column":"id",[^\]]*\{"line":200,[^\]]*\{"line":300,[^\]]*\],"failed_records":}]



=== TEST 7: UploadComplete again, after the load: 409 naming the state
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/import/objects.conf;

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- init
main::loaded('acme', 10);
--- pipelined_requests eval
["PATCH /v1/imports/\$TEST_NGINX_JOB\n{\"state\": \"UploadComplete\"}",
 "PATCH /v1/imports/\$TEST_NGINX_JOB\n{\"state\": \"Aborted\"}",
 'GET /v1/imports/$TEST_NGINX_JOB/failed',
 'GET /v1/jobs/$TEST_NGINX_JOB']
--- error_code eval
[409, 409, 200, 200]
--- response_body_like eval
[qr/^\{"error":\{"code":"CONFLICT","message":"the import is JobComplete: only an Open import can become UploadComplete","request_id":"[0-9a-f]{32}"\}\}\n\z/,
 qr/"code":"CONFLICT","message":"the job is COMPLETED and cannot be cancelled"/,
 qr/\Aline_number,column_name,error_code,error_message,raw_line\r\n\z/,
 qr/"type":"import","status":"COMPLETED","state":"JobComplete",.*"rows_loaded":10,"records_failed":0,/]



=== TEST 8: an InProgress import aborted (DELETE) is cancelled in the warehouse: nothing half-loaded
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/import/objects.conf;

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- init
my $kind = SpectraImport::marker();
my $key = $main::K{acme};
my $path = SpectraImport::events_file(tenant => 'acme', rows => 100000,
                                      kind => $kind);
my ($st, $job) = SpectraImport::start_import($key, {table => 'events'});
die "POST answered $st\n" if $st != 201;
$ENV{TEST_NGINX_JOB} = $job->{job_id};
($st) = SpectraImport::upload($job->{upload_url}, $path);
die "PUT answered $st\n" if $st != 201;
SpectraImport::events_lock();
($st) = SpectraImport::patch_import($key, $job->{job_id}, 'UploadComplete');
die "PATCH answered $st\n" if $st != 202 && $st != 200;
SpectraQuery::poll(sub { SpectraImport::import_state($key, $job->{job_id})
                         eq 'InProgress'
                         && SpectraImport::events_waiters() > 0 }, 200, 0.05);
my ($ds, undef, $del) = SpectraQuery::http('DELETE',
    "/v1/imports/$job->{job_id}", undef, 'X-API-Key' => $key);
SpectraImport::events_unlock();
die "DELETE answered $ds\n" if $ds != 200;
Test::More::is($del->{state}, 'Aborted', 'DELETE answers the import Aborted');
SpectraQuery::poll(sub { SpectraImport::events_waiters() == 0 }, 200, 0.05);
Test::More::is(SpectraImport::warehouse_rows($kind), 'none',
               'nothing of the aborted load is in the warehouse');
--- pipelined_requests eval
['GET /v1/imports/$TEST_NGINX_JOB']
--- error_code eval
[200]
--- response_body_like eval
[qr{"status":"CANCELLED","state":"Aborted",.*"rows_loaded":null,"records_failed":null,"records_processed":null\}\n\z}]
