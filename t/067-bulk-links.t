# Stable download links: GET /v1/bulk/{id}/files/{n} (n from 0, the
# file's index in the export's "files") authenticates the tenant as every
# bulk endpoint does and answers 302 to a URL presigned now for
# spectra_link_expires (never past the export's expires_at), with
# Cache-Control: no-store; the URL downloads exactly the file's bytes
# through the verifying local object store.  Another tenant's export,
# a missing one, a file out of range or a malformed {n}: 404; without the
# bulk permission: 403; an export still running: 409; an expired one:
# 410.  With max_downloads each link is counted in spectra_download_zone,
# over all workers (two here: the file runs master and 2 workers, and one
# block checks that several workers answered): exactly N redirects, then
# 410, and GET /v1/bulk/{id} shows no presigned url at all.
use FindBin ();
use lib "$FindBin::Bin/data/query/lib", "$FindBin::Bin/data/auth/lib",
        "$FindBin::Bin/data/bulk/lib";
use Test::Nginx::Socket 'no_plan';
use SpectraLogArchive;
use SpectraAuth qw(ensure_keys);
use SpectraQuery qw(api_key key_file http_config http json poll);
use SpectraBulk qw(export_config export wait_export raw_get follow sums
                   psql_sums);

our (%K, %JOB);

my @lines;

for my $k (['acme', 'tenant=acme permissions=query,bulk'],
           ['globex', 'tenant=globex permissions=query,bulk'],
           ['queryonly', 'tenant=acme permissions=query'])
{
    my $line;
    ($K{$k->[0]}, $line) = api_key("l067$k->[0]", $k->[1]);
    push @lines, $line;
}

$ENV{TEST_NGINX_QT_KEYS} = key_file(@lines);
$ENV{TEST_NGINX_AUTH_KEYS} = ensure_keys("$FindBin::Bin/data/auth/keys");

our $HttpConfig = http_config() . export_config();

# the same without spectra_download_zone
(our $HttpConfigNoZone = $HttpConfig) =~ s/^\s*spectra_download_zone .*$//m;

# Two workers under a master for the whole file.  TEST 8 also listens on
# a second port with reuseport, one socket per worker, so that the
# kernel spreads its connections over both workers (on the shared port
# one worker may well accept every connection of a quiet machine).
workers(2);
master_on();

our $WorkersPort = $ENV{SPECTRA_PORT_BASE} + 43;
our $HttpConfigWorkers = $HttpConfig . <<"CONF";
    log_format spectra_worker '\$pid \$status \$uri';

    server {
        listen 127.0.0.1:$WorkersPort reuseport;

        location /v1/ {
            spectra_api;
            access_log logs/workers.log spectra_worker;
        }

        include \$TEST_NGINX_REPO/t/data/query/internal.conf;
    }
CONF

# For "--- init": acme exports its rows with id <= 3000 (body options
# added), the export completes; $ENV{TEST_NGINX_JOB} names it.  Returns
# the job as GET /v1/bulk/{id} shows it.
sub exported {
    my (%body) = @_;
    my ($status, $job) = export($K{acme},
                                {sql => 'select * from sales where id <= 3000',
                                 %body});

    die "POST /v1/bulk answered $status\n" if $status != 202;

    $ENV{TEST_NGINX_JOB} = $job->{job_id};
    $job = wait_export($K{acme}, $job->{job_id});

    die "the export is $job->{status}\n" if $job->{status} ne 'COMPLETED';
    die "the export has no files\n" unless @{ $job->{result}{files} };

    return $job;
}

# The file a presigned URL of the local store names, as the store has it.
sub stored_bytes {
    my ($url) = @_;
    my ($path) = $url =~ m{^http://[^/]+(/[^?]+)\?} or die "bad URL $url\n";

    $path =~ s/%([0-9A-F]{2})/chr hex $1/ge;
    open my $fh, '<:raw', "$ENV{TEST_NGINX_OBJECTS_DIR}$path"
        or die "$ENV{TEST_NGINX_OBJECTS_DIR}$path: $!";
    local $/;
    return scalar <$fh>;
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

=== TEST 1: the stable link redirects to a fresh short-lived URL that downloads the file's exact bytes
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/bulk/objects.conf;

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- init
my $job = main::exported();
my $f = $job->{result}{files}[0];
Test::More::is($f->{link}, "/v1/bulk/$job->{job_id}/files/0", 'the link names the export and file 0');
my ($status, $h, $body) = SpectraBulk::raw_get($f->{link}, 'X-API-Key' => $::K{acme});
Test::More::is($status, 302, 'the link answers 302');
Test::More::is($h->{'cache-control'}, 'no-store', 'Cache-Control: no-store');
Test::More::like($h->{location}, qr{^http://127\.0\.0\.1:\d+/spectra-exports/exports/tenant%3Dacme/job%3D\Q$job->{job_id}\E/0000_part_00\.gz\?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=[^&]+&X-Amz-Date=\d{8}T\d{6}Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host&X-Amz-Signature=[0-9a-f]{64}$}, 'Location: presigned for 60 s (spectra_link_expires)');
Test::More::isnt($h->{location}, $f->{url}, 'not the url of GET /v1/bulk/{id} (1 h)');
my ($s2, undef, $bytes) = SpectraBulk::raw_get($h->{location});
Test::More::is($s2, 200, 'the store serves the redirected URL');
Test::More::is(length $bytes, $f->{size}, 'as many bytes as the manifest says');
Test::More::ok($bytes eq main::stored_bytes($h->{location}), 'exactly the bytes of the stored file');
my $to = File::Temp->new(SUFFIX => '.gz');
binmode $to; print {$to} $bytes; close $to;
Test::More::is_deeply(SpectraBulk::sums('csv', 0, ',', 'gzip', "$to"), SpectraBulk::psql_sums('acme', 'id <= 3000'), "the file holds acme's rows (psql's sums)");
--- pipelined_requests eval
['GET /v1/bulk/$TEST_NGINX_JOB', 'GET /v1/bulk/$TEST_NGINX_JOB/files/0', 'GET /v1/jobs/$TEST_NGINX_JOB']
--- error_code eval
[200, 302, 200]
--- response_body_like eval
[qr{^\{"job_id":"((??{ $ENV{TEST_NGINX_JOB} }))","type":"bulk","status":"COMPLETED",.*"max_downloads":null,"files":\[\{"url":"http://127\.0\.0\.1:\d+/spectra-exports/[^"]+X-Amz-Expires=3600&[^"]+","link":"/v1/bulk/\1/files/0","size":\d+,"rows":1800\}\]\}\}$},
 qr{^\{"url":"http://127\.0\.0\.1:\d+/spectra-exports/exports/tenant%3Dacme/job%3D(??{ $ENV{TEST_NGINX_JOB} })/0000_part_00\.gz\?X-Amz-[^"]*X-Amz-Expires=60&[^"]+"\}$},
 qr{"link":"/v1/bulk/(??{ $ENV{TEST_NGINX_JOB} })/files/0"}]



=== TEST 2: spectra_link_expires sets the redirect's lifetime, never past the export's expiry
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
        spectra_link_expires 2h;
        spectra_export_retention 1h;
    }

    include $TEST_NGINX_REPO/t/data/bulk/objects.conf;

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- init
main::exported();
--- pipelined_requests eval
['GET /v1/bulk/$TEST_NGINX_JOB/files/0']
--- error_code eval
[302]
--- response_body_like eval
[qr{^\{"url":"http://[^"]+&X-Amz-Expires=(?:3[0-5]\d\d|3600)&X-Amz-SignedHeaders=host&X-Amz-Signature=[0-9a-f]{64}"\}$}]



=== TEST 3: a file out of range or a malformed {n}: 404; other paths and methods below it are not links
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/bulk/objects.conf;

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- init
main::exported();
--- pipelined_requests eval
['GET /v1/bulk/$TEST_NGINX_JOB/files/1', 'GET /v1/bulk/$TEST_NGINX_JOB/files/01', 'GET /v1/bulk/$TEST_NGINX_JOB/files/-1', 'GET /v1/bulk/$TEST_NGINX_JOB/files/x', 'GET /v1/bulk/$TEST_NGINX_JOB/files/18446744073709551617', 'GET /v1/bulk/$TEST_NGINX_JOB/files/0/x', 'GET /v1/bulk/$TEST_NGINX_JOB/files', 'DELETE /v1/bulk/$TEST_NGINX_JOB/files/0', 'GET /v1/bulk/$TEST_NGINX_JOB/files/0']
--- error_code eval
[404, 404, 404, 404, 404, 404, 404, 405, 302]
--- response_body_like eval
[qr{^\{"error":\{"code":"NOT_FOUND","message":"the export has no file \\"1\\": its 1 files are numbered from 0","request_id":"[0-9a-f]{32}"\}\}$},
 qr{"message":"the export has no file \\"01\\": its 1 files are numbered from 0"},
 qr{"message":"the export has no file \\"-1\\": its 1 files are numbered from 0"},
 qr{"message":"the export has no file \\"x\\": its 1 files are numbered from 0"},
 qr{"message":"the export has no file \\"18446744073709551617\\": its 1 files are numbered from 0"},
 qr{"message":"no such endpoint"},
 qr{"message":"no such endpoint"},
 qr{"code":"METHOD_NOT_ALLOWED"},
 qr{^\{"url":"http://}]



=== TEST 4: another tenant's export, a missing one, or a query job: the link is 404 as the export is
--- tenant: globex
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/bulk/objects.conf;

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- init
main::exported();
$ENV{TEST_NGINX_QJOB} = SpectraQuery::submit($::K{globex}, {sql => 'select 1'}, env => 'TEST_NGINX_QJOB', until => 'COMPLETED');
--- pipelined_requests eval
['GET /v1/bulk/$TEST_NGINX_JOB/files/0', 'GET /v1/bulk/$TEST_NGINX_JOB/files/1', 'GET /v1/bulk/job_0000000000000000000000000a/files/0', 'GET /v1/bulk/nonsense/files/0', 'GET /v1/bulk/$TEST_NGINX_QJOB/files/0']
--- error_code eval
[404, 404, 404, 404, 404]
--- response_body_like eval
[(qr{^\{"error":\{"code":"NOT_FOUND","message":"no such export","request_id":"[0-9a-f]{32}"\}\}$}) x 5]



=== TEST 5: credentials without the bulk permission: 403, and none: 401
--- tenant: queryonly
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/bulk/objects.conf;

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- init
main::exported();
--- pipelined_requests eval
['GET /v1/bulk/$TEST_NGINX_JOB/files/0']
--- error_code eval
[403]
--- response_body_like eval
[qr{^\{"error":\{"code":"FORBIDDEN","message":"the credentials lack the \\"bulk\\" permission","request_id":"[0-9a-f]{32}"\}\}$}]



=== TEST 6: no credentials: 401
--- more_headers
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/bulk/objects.conf;

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- init
main::exported();
--- pipelined_requests eval
['GET /v1/bulk/$TEST_NGINX_JOB/files/0']
--- error_code eval
[401]
--- response_body_like eval
[qr{"code":"UNAUTHENTICATED"}]



=== TEST 7: max_downloads 1: GET /v1/bulk/{id} has no presigned url; the link redirects once, then 410
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/bulk/objects.conf;

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- init
my $job = main::exported(max_downloads => 1);
Test::More::ok(!defined $job->{result}{files}[0]{url}, 'no url with max_downloads');
--- pipelined_requests eval
['GET /v1/bulk/$TEST_NGINX_JOB', 'GET /v1/jobs/$TEST_NGINX_JOB', 'GET /v1/bulk/$TEST_NGINX_JOB/files/0', 'GET /v1/bulk/$TEST_NGINX_JOB/files/0', 'GET /v1/bulk/$TEST_NGINX_JOB/files/0', 'GET /v1/bulk/$TEST_NGINX_JOB']
--- error_code eval
[200, 200, 302, 410, 410, 200]
--- response_body_like eval
[qr{^(?!.*X-Amz)\{"job_id":"((??{ $ENV{TEST_NGINX_JOB} }))","type":"bulk","status":"COMPLETED",.*"max_downloads":1,"files":\[\{"url":null,"link":"/v1/bulk/\1/files/0","size":\d+,"rows":1800\}\]\}\}$},
 qr{^(?!.*X-Amz).*"max_downloads":1,"files":\[\{"url":null,"link":"/v1/bulk/(??{ $ENV{TEST_NGINX_JOB} })/files/0",},
 qr{^\{"url":"http://127\.0\.0\.1:\d+/spectra-exports/[^"]+X-Amz-Expires=60&[^"]+"\}$},
 qr{^\{"error":\{"code":"GONE","message":"this link was used 1 times, the export's max_downloads: it is no longer valid","request_id":"[0-9a-f]{32}"\}\}$},
 qr{"code":"GONE"},
 qr{^(?!.*X-Amz).*"url":null,"link":}]



=== TEST 8: max_downloads 3 is counted over all workers: exactly 3 redirects whichever worker answers
--- http_config eval: $::HttpConfigWorkers
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/bulk/objects.conf;

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- init
main::exported(max_downloads => 3);
my (%pids, %status);
my $n = 40;
for (1 .. $n) {
    my ($s, $h) = SpectraBulk::raw_get("http://127.0.0.1:$::WorkersPort/v1/bulk/$ENV{TEST_NGINX_JOB}/files/0", 'X-API-Key' => $::K{acme});
    $status{$s}++;
    if ($s == 302) {
        my ($s2) = SpectraBulk::raw_get($h->{location});
        Test::More::is($s2, 200, 'the redirected URL downloads');
    }
}
open my $log, '<', "$ENV{TEST_NGINX_SERVROOT}/logs/workers.log" or die "workers.log: $!";
while (<$log>) { $pids{$1}++ if m{^(\d+) \d+ /v1/bulk/\S+/files/0$} }
close $log;
Test::More::is(scalar(keys %pids), 2, "$n links answered by both workers");
Test::More::is($status{302}, 3, 'exactly 3 redirects');
Test::More::is($status{410}, $n - 3, 'every other answer 410');
--- pipelined_requests eval
['GET /v1/bulk/$TEST_NGINX_JOB/files/0']
--- error_code eval
[410]
--- response_body_like eval
[qr{"message":"this link was used 3 times, the export's max_downloads: it is no longer valid"}]



=== TEST 9: max_downloads counts each file's link on its own, and each export's
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/bulk/objects.conf;

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- init
my $a = main::exported(max_downloads => 1);
my $b = main::exported(max_downloads => 1, idempotency_key => 'second');
$ENV{TEST_NGINX_JOB_A} = $a->{job_id};
--- pipelined_requests eval
['GET /v1/bulk/$TEST_NGINX_JOB_A/files/0', 'GET /v1/bulk/$TEST_NGINX_JOB/files/0', 'GET /v1/bulk/$TEST_NGINX_JOB/files/0', 'GET /v1/bulk/$TEST_NGINX_JOB_A/files/0']
--- error_code eval
[302, 302, 410, 410]
--- response_body_like eval
[qr{^\{"url":"http://[^"]+job%3D(??{ $ENV{TEST_NGINX_JOB_A} })/}, qr{^\{"url":"http://[^"]+job%3D(??{ $ENV{TEST_NGINX_JOB} })/}, qr{"code":"GONE"}, qr{"code":"GONE"}]



=== TEST 10: max_downloads without spectra_download_zone: the export is refused with 400
--- http_config eval: $::HttpConfigNoZone
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/bulk/objects.conf;

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- pipelined_requests eval
["POST /v1/bulk\n{\"sql\": \"select 1\", \"max_downloads\": 1}", "POST /v1/bulk\n{\"sql\": \"select 1\", \"max_downloads\": 0}"]
--- error_code eval
[400, 400]
--- response_body_like eval
[qr{^\{"error":\{"code":"INVALID_REQUEST","message":"max_downloads is not available here: the server has no spectra_download_zone to count downloads in","request_id":"[0-9a-f]{32}"\}\}$},
 qr{"message":"max_downloads must be an integer from 1 to 1000000}]



=== TEST 11: an export that still runs has no files to link to: 409
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
['GET /v1/bulk/$TEST_NGINX_JOB/files/0', 'DELETE /v1/bulk/$TEST_NGINX_JOB', 'GET /v1/bulk/$TEST_NGINX_JOB/files/0']
--- error_code eval
[409, 200, 409]
--- response_body_like eval
[qr{^\{"error":\{"code":"CONFLICT","message":"the export is (?:PENDING|RUNNING): it has no files to download \(GET /v1/bulk/(??{ $ENV{TEST_NGINX_JOB} }) shows it\)","request_id":"[0-9a-f]{32}"\}\}$},
 qr{"status":"CANCELLED"},
 qr{"message":"the export is CANCELLED: it has no files to download}]



=== TEST 12: an expired export: its link is 410 GONE, and GET /v1/bulk/{id} has no url
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
        spectra_export_retention 1s;
    }

    include $TEST_NGINX_REPO/t/data/bulk/objects.conf;

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- init
my $job = main::exported();
SpectraQuery::poll(sub { my (undef, undef, $d) = SpectraQuery::http('GET', "/v1/bulk/$ENV{TEST_NGINX_JOB}", undef, 'X-API-Key' => $::K{acme}); !defined $d->{result}{files}[0]{url} }, 200, 0.05);
--- pipelined_requests eval
['GET /v1/bulk/$TEST_NGINX_JOB/files/0', 'GET /v1/bulk/$TEST_NGINX_JOB/files/7', 'GET /v1/bulk/$TEST_NGINX_JOB']
--- error_code eval
[410, 410, 200]
--- response_body_like eval
[qr{^\{"error":\{"code":"GONE","message":"the export expired at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z","request_id":"[0-9a-f]{32}"\}\}$},
 qr{"code":"GONE","message":"the export expired at },
 qr{"files":\[\{"url":null,"link":"/v1/bulk/(??{ $ENV{TEST_NGINX_JOB} })/files/0",}]
