# The local object store (spectra_object_store): nginx serves the objects
# directory as S3 would serve presigned URLs.  URLs presigned by Debian's
# botocore, the aws CLI v2 and the module's own presigner download their
# file byte for byte, in ranges and as HEAD; expired, tampered, re-pointed
# (path, bucket, host, method, expiry), incomplete and foreign (other key,
# secret, region, token) URLs are refused with S3's error code in a JSON
# 403 or 400, and logged without their signature.
use FindBin ();
use lib "$FindBin::Bin/data/query/lib", "$FindBin::Bin/data/auth/lib",
        "$FindBin::Bin/data/store/lib";
use Test::Nginx::Socket 'no_plan';
use SpectraLogArchive;
use SpectraAuth qw(ensure_keys);
use SpectraQuery qw(api_key key_file http_config);
use SpectraStore qw(presign aws_presign spectra_presign request_of tamper);
use JSON::PP ();

our (%F, %U);

my (undef, $line) = api_key('s064', 'tenant=acme permissions=bulk');
$ENV{TEST_NGINX_QT_KEYS} = key_file($line);
$ENV{TEST_NGINX_AUTH_KEYS} = ensure_keys("$FindBin::Bin/data/auth/keys");

# the store's credentials, shown in each block's config
$ENV{TEST_NGINX_STORE_KEY} = $SpectraStore::AKID;
$ENV{TEST_NGINX_STORE_SECRET} = $SpectraStore::SECRET;
$ENV{TEST_NGINX_STORE_TOKEN} = 'IQoJb3JpZ2luX2VjEXAMPLE/store+token==';

# every byte value, and CR LF, as a gzip part might hold them
$F{part} = join('', map { chr } 0 .. 255) x 3 . "\r\n\0end";
$F{globex} = "globex's own rows\n";
$F{odd} = "odd key\n";

my $acme = 'exports/tenant=acme/job=1/0000_part_00.gz';
my $globex = 'exports/tenant=globex/job=2/0000_part_00.gz';
my $odd = "exports/a b+c=d~e/caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac.csv";

# one hour: valid whenever the harness reaches the block
$U{acme} = presign($acme);
$U{head} = presign($acme, method => 'HEAD');
$U{globex} = presign($globex);
$U{odd} = presign($odd);
$U{missing} = presign('exports/tenant=acme/job=1/0001_part_00.gz');
$U{aws} = aws_presign($acme, 600);
$U{module} = spectra_presign($acme, expires => 600);
$U{module_odd} = spectra_presign($odd);
$U{token} = presign($acme, token => $ENV{TEST_NGINX_STORE_TOKEN});
$U{other_token} = presign($acme, token => 'IQoJb3JpZ2luX2VjOTHER');
# signed two hours ago for one minute: expired, whatever the run's pace
my @past = gmtime(time - 7200);
$U{expired} = presign($acme, expires => 60,
                      now => sprintf('%04d%02d%02dT%02d%02d%02dZ',
                                     $past[5] + 1900, $past[4] + 1,
                                     @past[3, 2, 1, 0]));
$U{other_secret} = presign($acme, secret_key => "x$SpectraStore::SECRET");
$U{other_key} = presign($acme, access_key => 'AKIDSPECTRASTORE0002');
$U{other_region} = presign($acme, region => 'eu-west-1');
$U{other_host} = presign($acme, endpoint => 'http://127.0.0.1:1');
$U{other_bucket} = presign($acme, bucket => 'spectra-imports');
$U{virtual} = presign($acme, style => 'virtual',
                      endpoint => "http://localhost:$ENV{TEST_NGINX_SERVER_PORT}");

our @Files = (["spectra-exports/$acme", $F{part}],
              ["spectra-exports/$globex", $F{globex}],
              ["spectra-exports/$odd", $F{odd}],
              ["spectra-imports/$acme", $F{globex}],
              ['secret.txt', "outside the buckets\n"]);

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

=== TEST 1: a URL botocore presigned downloads the file byte for byte
--- http_config eval: $::HttpConfig
--- config
    location /spectra-exports/ {
        root html;
        spectra_auth off;
        spectra_object_store on;
        spectra_aws_region us-east-1;
        spectra_aws_access_key_id $TEST_NGINX_STORE_KEY;
        spectra_aws_secret_access_key $TEST_NGINX_STORE_SECRET;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- user_files eval: \@::Files
--- request eval: SpectraStore::request_of(GET => $::U{acme})
--- response_headers eval
"Content-Length: " . length($::F{part}) . "\nAccept-Ranges: bytes\n"
--- response_body eval: $::F{part}



=== TEST 2: Range requests get 206 and exactly the bytes asked for
--- http_config eval: $::HttpConfig
--- config
    location /spectra-exports/ {
        root html;
        spectra_auth off;
        spectra_object_store on;
        spectra_aws_region us-east-1;
        spectra_aws_access_key_id $TEST_NGINX_STORE_KEY;
        spectra_aws_secret_access_key $TEST_NGINX_STORE_SECRET;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- user_files eval: \@::Files
--- request eval
[SpectraStore::request_of(GET => $::U{acme}), SpectraStore::request_of(GET => $::U{acme}),
 SpectraStore::request_of(GET => $::U{acme})]
--- more_headers eval
["Host: 127.0.0.1:$ENV{TEST_NGINX_SERVER_PORT}\nRange: bytes=250-261\n",
 "Host: 127.0.0.1:$ENV{TEST_NGINX_SERVER_PORT}\nRange: bytes=-5\n",
 "Host: 127.0.0.1:$ENV{TEST_NGINX_SERVER_PORT}\nRange: bytes=100000-\n"]
--- error_code eval
[206, 206, 416]
--- response_headers eval
["Content-Range: bytes 250-261/" . length($::F{part}) . "\nContent-Length: 12\n",
 "Content-Range: bytes " . (length($::F{part}) - 5) . "-" . (length($::F{part}) - 1) . "/" . length($::F{part}) . "\n",
 "Content-Range: bytes */" . length($::F{part}) . "\n"]
--- response_body_like eval
[qr/\A\Q@{[substr($::F{part}, 250, 12)]}\E\z/, qr/\A\n\0end\z/, qr/.*/s]



=== TEST 3: HEAD with a URL presigned for HEAD; a GET URL is not good for HEAD (S3's rule)
--- http_config eval: $::HttpConfig
--- config
    location /spectra-exports/ {
        root html;
        spectra_auth off;
        spectra_object_store on;
        spectra_aws_region us-east-1;
        spectra_aws_access_key_id $TEST_NGINX_STORE_KEY;
        spectra_aws_secret_access_key $TEST_NGINX_STORE_SECRET;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- user_files eval: \@::Files
--- request eval
[SpectraStore::request_of(HEAD => $::U{head}), SpectraStore::request_of(HEAD => $::U{acme}),
 SpectraStore::request_of(GET => $::U{head})]
--- error_code eval
[200, 403, 403]
--- response_headers eval
["Content-Length: " . length($::F{part}) . "\n",
 "Content-Type: application/json; charset=utf-8\n",
 "Content-Type: application/json; charset=utf-8\n"]
--- response_body_like eval
["", "", qr/^\{"error":\{"code":"FORBIDDEN","message":"SignatureDoesNotMatch: The request signature we calculated does not match the signature you provided\. Check your key and signing method\.","request_id":"[0-9a-f]{32}","s3_code":"SignatureDoesNotMatch"\}\}\n\z/]



=== TEST 4: keys with spaces, '+', '=', '~' and UTF-8, presigned by botocore and by the module
--- http_config eval: $::HttpConfig
--- config
    location /spectra-exports/ {
        root html;
        spectra_auth off;
        spectra_object_store on;
        spectra_aws_region us-east-1;
        spectra_aws_access_key_id $TEST_NGINX_STORE_KEY;
        spectra_aws_secret_access_key $TEST_NGINX_STORE_SECRET;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- user_files eval: \@::Files
--- request eval
[SpectraStore::request_of(GET => $::U{odd}), SpectraStore::request_of(GET => $::U{module_odd})]
--- response_body eval
[$::F{odd}, $::F{odd}]



=== TEST 5: the aws CLI's "aws s3 presign" and the module's presigner download the file
--- http_config eval: $::HttpConfig
--- config
    location /spectra-exports/ {
        root html;
        spectra_auth off;
        spectra_object_store on;
        spectra_aws_region us-east-1;
        spectra_aws_access_key_id $TEST_NGINX_STORE_KEY;
        spectra_aws_secret_access_key $TEST_NGINX_STORE_SECRET;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- user_files eval: \@::Files
--- request eval
[SpectraStore::request_of(GET => $::U{aws}), SpectraStore::request_of(GET => $::U{module})]
--- response_body eval
[$::F{part}, $::F{part}]



=== TEST 6: an expired URL is a JSON 403 AccessDenied, logged without its signature
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
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- user_files eval: \@::Files
--- request eval: SpectraStore::request_of(GET => $::U{expired})
--- error_code: 403
--- response_body_like eval: main::refusal('FORBIDDEN', 'AccessDenied', 'Request has expired')
--- error_log eval
[qr/object store refused "\/spectra-exports\/exports\/tenant=acme\/job=1\/0000_part_00\.gz": AccessDenied: Request has expired/,
 qr/request: "GET \/spectra-exports\/\S+&X-Amz-Signature=REDACTED HTTP\/1\.1"/]
--- no_error_log eval
[qr/Signature=[0-9a-f]{64}/, "[error]"]



=== TEST 7: a tampered signature, a longer expiry, a later date: 403 SignatureDoesNotMatch
--- http_config eval: $::HttpConfig
--- config
    location /spectra-exports/ {
        root html;
        spectra_auth off;
        spectra_object_store on;
        spectra_aws_region us-east-1;
        spectra_aws_access_key_id $TEST_NGINX_STORE_KEY;
        spectra_aws_secret_access_key $TEST_NGINX_STORE_SECRET;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- user_files eval: \@::Files
--- request eval
[SpectraStore::request_of(GET => main::flip_last($::U{acme})),
 SpectraStore::request_of(GET => SpectraStore::tamper($::U{acme}, qr/X-Amz-Expires=3600/, 'X-Amz-Expires=7200')),
 SpectraStore::request_of(GET => SpectraStore::tamper($::U{expired}, qr/X-Amz-Expires=60&/, 'X-Amz-Expires=604800&')),
 SpectraStore::request_of(GET => SpectraStore::tamper($::U{acme}, qr/X-Amz-Signature=[0-9a-f]{64}/, 'X-Amz-Signature=' . '0' x 64))]
--- error_code eval
[403, 403, 403, 403]
--- response_body_like eval
[(main::refusal('FORBIDDEN', 'SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided. Check your key and signing method.')) x 4]



=== TEST 8: re-pointed URLs: another tenant's file, another bucket, another host; never that file's bytes
--- http_config eval: $::HttpConfig
--- config
    location /spectra-exports/ {
        root html;
        spectra_auth off;
        spectra_object_store on;
        spectra_aws_region us-east-1;
        spectra_aws_access_key_id $TEST_NGINX_STORE_KEY;
        spectra_aws_secret_access_key $TEST_NGINX_STORE_SECRET;
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
--- user_files eval: \@::Files
--- request eval
[SpectraStore::request_of(GET => SpectraStore::tamper($::U{acme}, qr/tenant%3Dacme\/job%3D1/, 'tenant%3Dglobex/job%3D2')),
 SpectraStore::request_of(GET => SpectraStore::tamper($::U{acme}, qr/spectra-exports/, 'spectra-imports')),
 SpectraStore::request_of(GET => $::U{other_bucket}),
 SpectraStore::request_of(GET => $::U{other_host}),
 SpectraStore::request_of(GET => $::U{acme})]
--- more_headers eval
[("Host: 127.0.0.1:$ENV{TEST_NGINX_SERVER_PORT}\n") x 4,
 "Host: evil.example:$ENV{TEST_NGINX_SERVER_PORT}\n"]
--- error_code eval
[403, 403, 200, 403, 403]
--- response_body_like eval
[(main::refusal('FORBIDDEN', 'SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided. Check your key and signing method.')) x 2,
 qr/\A\Q$::F{globex}\E\z/,
 (main::refusal('FORBIDDEN', 'SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided. Check your key and signing method.')) x 2]



=== TEST 9: other credentials: unknown key 403, wrong secret 403, another region 400
--- http_config eval: $::HttpConfig
--- config
    location /spectra-exports/ {
        root html;
        spectra_auth off;
        spectra_object_store on;
        spectra_aws_region us-east-1;
        spectra_aws_access_key_id $TEST_NGINX_STORE_KEY;
        spectra_aws_secret_access_key $TEST_NGINX_STORE_SECRET;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- user_files eval: \@::Files
--- request eval
[SpectraStore::request_of(GET => $::U{other_key}), SpectraStore::request_of(GET => $::U{other_secret}),
 SpectraStore::request_of(GET => $::U{other_region}), SpectraStore::request_of(GET => $::U{token})]
--- error_code eval
[403, 403, 400, 400]
--- response_body_like eval
[main::refusal('FORBIDDEN', 'InvalidAccessKeyId', 'The AWS Access Key Id you provided does not exist in our records.'),
 main::refusal('FORBIDDEN', 'SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided. Check your key and signing method.'),
 main::refusal('INVALID_REQUEST', 'AuthorizationQueryParametersError', "Error parsing the X-Amz-Credential parameter; the region 'eu-west-1' is wrong; expecting 'us-east-1'"),
 main::refusal('INVALID_REQUEST', 'InvalidToken', 'The provided token is malformed or otherwise invalid.')]



=== TEST 10: temporary credentials: their token is needed, another one is refused
--- http_config eval: $::HttpConfig
--- config
    location /spectra-exports/ {
        root html;
        spectra_auth off;
        spectra_object_store on;
        spectra_aws_region us-east-1;
        spectra_aws_access_key_id $TEST_NGINX_STORE_KEY;
        spectra_aws_secret_access_key $TEST_NGINX_STORE_SECRET;
        spectra_aws_session_token $TEST_NGINX_STORE_TOKEN;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- user_files eval: \@::Files
--- request eval
[SpectraStore::request_of(GET => $::U{token}), SpectraStore::request_of(GET => $::U{acme}),
 SpectraStore::request_of(GET => $::U{other_token})]
--- error_code eval
[200, 403, 400]
--- response_body_like eval
[qr/\A\Q$::F{part}\E\z/,
 main::refusal('FORBIDDEN', 'InvalidAccessKeyId', 'The AWS Access Key Id you provided does not exist in our records.'),
 main::refusal('INVALID_REQUEST', 'InvalidToken', 'The provided token is malformed or otherwise invalid.')]



=== TEST 11: a refused session token is logged neither in the error log nor in the access log's request line
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
        spectra_aws_session_token $TEST_NGINX_STORE_TOKEN;
        access_log logs/error.log;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- user_files eval: \@::Files
--- request eval: SpectraStore::request_of(GET => $::U{other_token})
--- error_code: 400
--- response_body_like eval: main::refusal('INVALID_REQUEST', 'InvalidToken', 'The provided token is malformed or otherwise invalid.')
--- error_log eval
[qr/object store refused "\/spectra-exports\/exports\/tenant=acme\/job=1\/0000_part_00\.gz": InvalidToken/,
 qr/request: "GET \/spectra-exports\/\S+&X-Amz-Security-Token=REDACTED&X-Amz-Signature=REDACTED HTTP\/1\.1"/,
 qr/^127\.0\.0\.1 - - \[.*\] "GET \/spectra-exports\/\S+&X-Amz-Security-Token=REDACTED&X-Amz-Signature=REDACTED HTTP\/1\.1" 400 /]
--- no_error_log eval
[qr/Signature=[0-9a-f]{64}/, qr/IQoJb3JpZ2luX2Vj/, "[error]"]



=== TEST 12: missing or malformed X-Amz parameters are 400 AuthorizationQueryParametersError
--- http_config eval: $::HttpConfig
--- config
    location /spectra-exports/ {
        root html;
        spectra_auth off;
        spectra_object_store on;
        spectra_aws_region us-east-1;
        spectra_aws_access_key_id $TEST_NGINX_STORE_KEY;
        spectra_aws_secret_access_key $TEST_NGINX_STORE_SECRET;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- user_files eval: \@::Files
--- request eval
["GET /spectra-exports/exports/tenant=acme/job=1/0000_part_00.gz",
 SpectraStore::request_of(GET => SpectraStore::tamper($::U{acme}, qr/&X-Amz-Signature=[0-9a-f]+/, '')),
 SpectraStore::request_of(GET => SpectraStore::tamper($::U{acme}, qr/X-Amz-Credential=[^&]+&/, '')),
 SpectraStore::request_of(GET => SpectraStore::tamper($::U{acme}, qr/X-Amz-Date=\w+&/, 'X-Amz-Date=yesterday&')),
 SpectraStore::request_of(GET => SpectraStore::tamper($::U{acme}, qr/X-Amz-Expires=3600/, 'X-Amz-Expires=soon')),
 SpectraStore::request_of(GET => SpectraStore::tamper($::U{acme}, qr/X-Amz-Expires=3600/, 'X-Amz-Expires=604801')),
 SpectraStore::request_of(GET => SpectraStore::tamper($::U{acme}, qr/AWS4-HMAC-SHA256/, 'AWS4-HMAC-SHA1')),
 SpectraStore::request_of(GET => SpectraStore::tamper($::U{acme}, qr/%2Fs3%2F/, '%2Fs4%2F'))]
--- error_code eval
[(400) x 8]
--- response_body_like eval
[(main::refusal('INVALID_REQUEST', 'AuthorizationQueryParametersError', 'Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.')) x 3,
 main::refusal('INVALID_REQUEST', 'AuthorizationQueryParametersError', q{X-Amz-Date must be in the ISO8601 Long Format "yyyyMMdd'T'HHmmss'Z'"}),
 main::refusal('INVALID_REQUEST', 'AuthorizationQueryParametersError', 'X-Amz-Expires should be a number'),
 main::refusal('INVALID_REQUEST', 'AuthorizationQueryParametersError', 'X-Amz-Expires must be less than a week (in seconds) that is, the given X-Amz-Expires must be less than 604800 seconds'),
 main::refusal('INVALID_REQUEST', 'AuthorizationQueryParametersError', 'X-Amz-Algorithm only supports "AWS4-HMAC-SHA256"'),
 main::refusal('INVALID_REQUEST', 'AuthorizationQueryParametersError', "Credential should be scoped to correct service: 's3'. ")]



=== TEST 13: only GET and HEAD: other methods are 405 with Allow, before any signature check
--- http_config eval: $::HttpConfig
--- config
    location /spectra-exports/ {
        root html;
        spectra_auth off;
        spectra_object_store on;
        spectra_aws_region us-east-1;
        spectra_aws_access_key_id $TEST_NGINX_STORE_KEY;
        spectra_aws_secret_access_key $TEST_NGINX_STORE_SECRET;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- user_files eval: \@::Files
--- request eval
[SpectraStore::request_of(PUT => $::U{acme}) . "\nnew bytes", SpectraStore::request_of(DELETE => $::U{acme}),
 SpectraStore::request_of(POST => $::U{acme}) . "\nx", SpectraStore::request_of(GET => $::U{acme})]
--- error_code eval
[405, 405, 405, 200]
--- response_headers eval
[("Allow: GET, HEAD\n") x 3, "Content-Length: " . length($::F{part}) . "\n"]
--- response_body_like eval
[(main::refusal('METHOD_NOT_ALLOWED', 'MethodNotAllowed', 'The specified method is not allowed against this resource.')) x 3,
 qr/\A\Q$::F{part}\E\z/]



=== TEST 14: a valid URL of a missing object is the JSON 404
--- http_config eval: $::HttpConfig
--- config
    location /spectra-exports/ {
        root html;
        spectra_auth off;
        spectra_object_store on;
        spectra_aws_region us-east-1;
        spectra_aws_access_key_id $TEST_NGINX_STORE_KEY;
        spectra_aws_secret_access_key $TEST_NGINX_STORE_SECRET;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- user_files eval: \@::Files
--- request eval: SpectraStore::request_of(GET => $::U{missing})
--- error_code: 404
--- response_body_like eval
qr/^\{"error":\{"code":"NOT_FOUND","message":"not found","request_id":"[0-9a-f]{32}"\}\}\n\z/
--- error_log
0001_part_00.gz" failed (2: No such file or directory)
--- no_error_log
object store refused



=== TEST 15: dot segments, even encoded, take a request out of the store's location, never out of its root, and its signature out of the logs
--- log_level: info
--- http_config eval: $::HttpConfig
--- config
    access_log logs/error.log;

    location / {
        return 404;
    }

    location /spectra-exports/ {
        root html;
        spectra_auth off;
        spectra_object_store on;
        spectra_aws_region us-east-1;
        spectra_aws_access_key_id $TEST_NGINX_STORE_KEY;
        spectra_aws_secret_access_key $TEST_NGINX_STORE_SECRET;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- user_files eval: \@::Files
--- request eval
[SpectraStore::request_of(GET => SpectraStore::tamper($::U{acme}, qr/exports\/tenant%3Dacme\/job%3D1\/0000_part_00\.gz/, '%2E%2E/secret.txt')),
 SpectraStore::request_of(GET => SpectraStore::tamper($::U{acme}, qr/exports\/tenant%3Dacme\/job%3D1\/0000_part_00\.gz/, 'exports/%2e%2e%2f..%2fsecret.txt'))]
--- error_code eval
[404, 404]
--- response_body_like eval
[(qr/^\{"error":\{"code":"NOT_FOUND","message":"not found","request_id":"[0-9a-f]{32}"\}\}\n\z/) x 2]
--- error_log eval
qr/^127\.0\.0\.1 - - \[.*\] "GET \/spectra-exports\/\S+secret\.txt\?\S+&X-Amz-Signature=REDACTED HTTP\/1\.1" 404 /
--- no_error_log eval
[qr/Signature=[0-9a-f]{64}/, "[error]"]



=== TEST 16: virtual-hosted style: the bucket in the Host, mapped to its directory
--- http_config eval
$::HttpConfig . <<'_EOC_';
    map $host $store_bucket {
        ~^(?<b>[a-z0-9-]+)\.localhost$  $b;
        default                         no-such-bucket;
    }
_EOC_
--- config
    location / {
        root html/$store_bucket;
        spectra_auth off;
        spectra_object_store on;
        spectra_aws_region us-east-1;
        spectra_aws_access_key_id $TEST_NGINX_STORE_KEY;
        spectra_aws_secret_access_key $TEST_NGINX_STORE_SECRET;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- user_files eval: \@::Files
--- request eval
[SpectraStore::request_of(GET => $::U{virtual}), SpectraStore::request_of(GET => $::U{virtual})]
--- more_headers eval
["Host: spectra-exports.localhost:$ENV{TEST_NGINX_SERVER_PORT}\n",
 "Host: spectra-imports.localhost:$ENV{TEST_NGINX_SERVER_PORT}\n"]
--- error_code eval
[200, 403]
--- response_body_like eval
[qr/\A\Q$::F{part}\E\z/,
 main::refusal('FORBIDDEN', 'SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided. Check your key and signing method.')]



=== TEST 17: spectra_object_store without credentials fails nginx -t
--- http_config eval: SpectraQuery::http_config(bare => 1)
--- config
    location /spectra-exports/ {
        root html;
        spectra_object_store on;
    }
--- must_die
--- error_log
spectra_object_store needs the credentials it verifies presigned URLs with
