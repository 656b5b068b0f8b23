# Uploads to the local object store (spectra_object_store with nginx's
# dav module): a PUT URL presigned by Debian's botocore writes its object
# (then read back byte for byte through a GET URL); expired, tampered,
# re-pointed (another tenant's key, another bucket, another host) and
# GET-for-PUT URLs are refused with S3's error code in a JSON 403 before
# anything is written; a body over client_max_body_size is a JSON 413, a
# body without a length a 411, and a second PUT to an existing key a 409.
use FindBin ();
use lib "$FindBin::Bin/data/query/lib", "$FindBin::Bin/data/auth/lib",
        "$FindBin::Bin/data/store/lib";
use Test::Nginx::Socket 'no_plan';
use SpectraLogArchive;
use SpectraAuth qw(ensure_keys);
use SpectraQuery qw(api_key key_file http_config);
use SpectraStore qw(presign request_of tamper);
use JSON::PP ();

our (%F, %U);

my (undef, $line) = api_key('s069', 'tenant=acme permissions=bulk');
$ENV{TEST_NGINX_QT_KEYS} = key_file($line);
$ENV{TEST_NGINX_AUTH_KEYS} = ensure_keys("$FindBin::Bin/data/auth/keys");

# the store's credentials, shown in each block's config
$ENV{TEST_NGINX_STORE_KEY} = $SpectraStore::AKID;
$ENV{TEST_NGINX_STORE_SECRET} = $SpectraStore::SECRET;

# every byte value, and CR LF, as a gzip upload might hold them
$F{upload} = join('', map { chr } 0 .. 255) x 3 . "\r\n\0end";
$F{old} = "uploaded before\n";

my $acme = 'imports/tenant=acme/job=job_0000000000000000000000000a/'
           . 'data.csv.gz';
my $globex = 'imports/tenant=globex/job=job_0000000000000000000000000b/'
             . 'data.csv.gz';
my $taken = 'imports/tenant=acme/job=job_0000000000000000000000000c/'
            . 'data.csv.gz';

# one hour: valid whenever the harness reaches the block
$U{put} = presign($acme, method => 'PUT');
$U{get} = presign($acme);
$U{taken} = presign($taken, method => 'PUT');
$U{taken_get} = presign($taken);
# signed two hours ago for one minute: expired, whatever the run's pace
my @past = gmtime(time - 7200);
$U{expired} = presign($acme, method => 'PUT', expires => 60,
                      now => sprintf('%04d%02d%02dT%02d%02d%02dZ',
                                     $past[5] + 1900, $past[4] + 1,
                                     @past[3, 2, 1, 0]));
$U{other_bucket} = presign($acme, method => 'PUT',
                           bucket => 'spectra-imports');
$U{other_host} = presign($acme, method => 'PUT',
                         endpoint => 'http://127.0.0.1:1');

our @Files = (["spectra-exports/$taken", $F{old}]);

# the store's answers: the API's error object, naming S3's code
sub refusal {
    my ($code, $s3, $message) = @_;

    my $m = JSON::PP->new->encode(["$s3: $message"]);

    $m =~ s/\A\["|"\]\z//g;

    return qr/^\{"error":\{"code":"$code","message":"\Q$m\E","request_id":"[0-9a-f]{32}","s3_code":"$s3"\}\}\n\z/;
}

# a URL with its signature's last hex digit changed
sub flip_last {
    my ($url) = @_;

    substr($url, -1) = substr($url, -1) eq '0' ? '1' : '0';

    return $url;
}

our $HttpConfig = http_config();

# no location but the blocks' own: nothing else serves html/
no_root_location();

# Requests go to the Host the URLs were signed for, unless a block says.
add_block_preprocessor(sub {
    my $block = shift;

    $block->set_value('more_headers',
                      "Host: 127.0.0.1:$ENV{TEST_NGINX_SERVER_PORT}\n")
        unless defined $block->more_headers;
    $block->set_value('no_error_log', "[error]\n")
        unless defined $block->no_error_log;
});

run_tests();

__DATA__

=== TEST 1: a PUT URL botocore presigned writes the object; a GET URL reads it back byte for byte
--- http_config eval: $::HttpConfig
--- config
    location /spectra-exports/ {
        root html;
        spectra_auth off;
        spectra_object_store on;
        spectra_aws_region us-east-1;
        spectra_aws_access_key_id $TEST_NGINX_STORE_KEY;
        spectra_aws_secret_access_key $TEST_NGINX_STORE_SECRET;
        log_not_found off;
        spectra_object_store_uploads on;
        dav_methods PUT;
        create_full_put_path on;
        dav_access user:rw group:r all:r;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- pipelined_requests eval
[SpectraStore::request_of(PUT => $::U{put}) . "\n" . $::F{upload},
 SpectraStore::request_of(GET => $::U{get})]
--- error_code eval
[201, 200]
--- response_body eval
['', $::F{upload}]



=== TEST 2: a second PUT to an existing key is a JSON 409, the object unchanged
--- http_config eval: $::HttpConfig
--- config
    location /spectra-exports/ {
        root html;
        spectra_auth off;
        spectra_object_store on;
        spectra_aws_region us-east-1;
        spectra_aws_access_key_id $TEST_NGINX_STORE_KEY;
        spectra_aws_secret_access_key $TEST_NGINX_STORE_SECRET;
        log_not_found off;
        spectra_object_store_uploads on;
        dav_methods PUT;
        create_full_put_path on;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- user_files eval: \@::Files
--- pipelined_requests eval
[SpectraStore::request_of(PUT => $::U{taken}) . "\nreplaced\n",
 SpectraStore::request_of(GET => $::U{taken_get})]
--- error_code eval
[409, 200]
--- response_body_like eval
[main::refusal('CONFLICT', 'ObjectAlreadyExists', 'The object exists: an upload URL writes its object once.'),
 qr/\Auploaded before\n\z/]



=== TEST 3: an expired PUT URL is a JSON 403 AccessDenied, logged without its signature
--- log_level: info
--- http_config eval: $::HttpConfig
--- config
    location /spectra-exports/ {
        root html;
        spectra_auth off;
        spectra_object_store on;
        spectra_aws_region us-east-1;
        spectra_aws_access_key_id $TEST_NGINX_STORE_KEY;
        spectra_aws_secret_access_key $TEST_NGINX_STORE_SECRET;
        log_not_found off;
        spectra_object_store_uploads on;
        dav_methods PUT;
        create_full_put_path on;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- request eval: SpectraStore::request_of(PUT => $::U{expired}) . "\n" . $::F{upload}
--- error_code: 403
--- response_body_like eval: main::refusal('FORBIDDEN', 'AccessDenied', 'Request has expired')
--- error_log eval
[qr/object store refused "\/spectra-exports\/imports\/tenant=acme\/job=job_0{25}a\/data\.csv\.gz": AccessDenied: Request has expired/,
 qr/request: "PUT \/spectra-exports\/\S+&X-Amz-Signature=REDACTED HTTP\/1\.1"/]
--- no_error_log eval
[qr/Signature=[0-9a-f]{64}/, "[error]"]



=== TEST 4: tampered (signature, expiry), re-pointed (another tenant's key) and GET URLs: 403 SignatureDoesNotMatch, nothing written
--- http_config eval: $::HttpConfig
--- config
    location /spectra-exports/ {
        root html;
        spectra_auth off;
        spectra_object_store on;
        spectra_aws_region us-east-1;
        spectra_aws_access_key_id $TEST_NGINX_STORE_KEY;
        spectra_aws_secret_access_key $TEST_NGINX_STORE_SECRET;
        log_not_found off;
        spectra_object_store_uploads on;
        dav_methods PUT;
        create_full_put_path on;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- pipelined_requests eval
[SpectraStore::request_of(PUT => main::flip_last($::U{put})) . "\nx\n",
 SpectraStore::request_of(PUT => SpectraStore::tamper($::U{put}, qr/X-Amz-Expires=3600&/, 'X-Amz-Expires=604800&')) . "\nx\n",
 SpectraStore::request_of(PUT => SpectraStore::tamper($::U{put}, qr{tenant%3Dacme/job%3Djob_0+a}, 'tenant%3Dglobex/job%3Djob_0000000000000000000000000b')) . "\nx\n",
 SpectraStore::request_of(PUT => $::U{get}) . "\nx\n",
 SpectraStore::request_of(GET => $::U{get})]
--- error_code eval
[403, 403, 403, 403, 404]
--- response_body_like eval
[qr/"s3_code":"SignatureDoesNotMatch"/, qr/"s3_code":"SignatureDoesNotMatch"/,
 qr/"s3_code":"SignatureDoesNotMatch"/, qr/"s3_code":"SignatureDoesNotMatch"/,
 qr/NOT_FOUND|Not Found/]



=== TEST 5: a URL signed for another bucket or host writes nothing: 403
--- http_config eval: $::HttpConfig
--- config
    location /spectra-exports/ {
        root html;
        spectra_auth off;
        spectra_object_store on;
        spectra_aws_region us-east-1;
        spectra_aws_access_key_id $TEST_NGINX_STORE_KEY;
        spectra_aws_secret_access_key $TEST_NGINX_STORE_SECRET;
        log_not_found off;
        spectra_object_store_uploads on;
        dav_methods PUT;
        create_full_put_path on;
    }

    location /spectra-imports/ {
        root html;
        spectra_auth off;
        spectra_object_store on;
        spectra_aws_region us-east-1;
        spectra_aws_access_key_id $TEST_NGINX_STORE_KEY;
        spectra_aws_secret_access_key $TEST_NGINX_STORE_SECRET;
        log_not_found off;
        spectra_object_store_uploads on;
        dav_methods PUT;
        create_full_put_path on;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- pipelined_requests eval
[SpectraStore::request_of(PUT => SpectraStore::tamper($::U{other_bucket}, qr{/spectra-imports/}, '/spectra-exports/')) . "\nx\n",
 SpectraStore::request_of(PUT => $::U{other_host}) . "\nx\n",
 SpectraStore::request_of(GET => $::U{get})]
--- error_code eval
[403, 403, 404]
--- response_body_like eval
[qr/"s3_code":"SignatureDoesNotMatch"/, qr/"s3_code":"SignatureDoesNotMatch"/,
 qr/NOT_FOUND|Not Found/]



=== TEST 6: a body over client_max_body_size is a JSON 413 before it is read
--- http_config eval: $::HttpConfig
--- config
    location /spectra-exports/ {
        root html;
        spectra_auth off;
        spectra_object_store on;
        spectra_aws_region us-east-1;
        spectra_aws_access_key_id $TEST_NGINX_STORE_KEY;
        spectra_aws_secret_access_key $TEST_NGINX_STORE_SECRET;
        log_not_found off;
        spectra_object_store_uploads on;
        dav_methods PUT;
        create_full_put_path on;
        client_max_body_size 100;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- request eval: SpectraStore::request_of(PUT => $::U{put}) . "\n" . $::F{upload}
--- error_code: 413
--- response_body_like eval
qr/^\{"error":\{"code":"PAYLOAD_TOO_LARGE","message":"[^"]+","request_id":"[0-9a-f]{32}"\}\}\n\z/
--- error_log eval
[qr/client intended to send too large body: \d+ bytes/]
--- no_error_log
[alert]



=== TEST 7: a PUT without Content-Length (chunked) is a JSON 411 MissingContentLength
--- http_config eval: $::HttpConfig
--- config
    location /spectra-exports/ {
        root html;
        spectra_auth off;
        spectra_object_store on;
        spectra_aws_region us-east-1;
        spectra_aws_access_key_id $TEST_NGINX_STORE_KEY;
        spectra_aws_secret_access_key $TEST_NGINX_STORE_SECRET;
        log_not_found off;
        spectra_object_store_uploads on;
        dav_methods PUT;
        create_full_put_path on;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- raw_request eval
my ($target) = $::U{put} =~ m{^http://[^/]+(/.*)$};
"PUT $target HTTP/1.1\r
Host: 127.0.0.1:$ENV{TEST_NGINX_SERVER_PORT}\r
Transfer-Encoding: chunked\r
Connection: close\r
\r
3\r
abc\r
0\r
\r
"
--- error_code: 411
--- response_body_like eval: main::refusal('LENGTH_REQUIRED', 'MissingContentLength', 'You must provide the Content-Length HTTP header.')



=== TEST 8: with uploads, other methods are 405 with Allow: GET, HEAD, PUT; without, PUT is 405 too
--- http_config eval: $::HttpConfig
--- config
    location /spectra-exports/ {
        root html;
        spectra_auth off;
        spectra_object_store on;
        spectra_aws_region us-east-1;
        spectra_aws_access_key_id $TEST_NGINX_STORE_KEY;
        spectra_aws_secret_access_key $TEST_NGINX_STORE_SECRET;
        spectra_object_store_uploads on;
        dav_methods PUT;
    }

    location /spectra-imports/ {
        root html;
        spectra_auth off;
        spectra_object_store on;
        spectra_aws_region us-east-1;
        spectra_aws_access_key_id $TEST_NGINX_STORE_KEY;
        spectra_aws_secret_access_key $TEST_NGINX_STORE_SECRET;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- pipelined_requests eval
[SpectraStore::request_of(DELETE => $::U{put}),
 SpectraStore::request_of(PUT => $::U{other_bucket}) . "\nx\n"]
--- error_code eval
[405, 405]
--- response_headers eval
["Allow: GET, HEAD, PUT\n", "Allow: GET, HEAD\n"]
--- response_body_like eval
[(main::refusal('METHOD_NOT_ALLOWED', 'MethodNotAllowed', 'The specified method is not allowed against this resource.')) x 2]
