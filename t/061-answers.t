# Bounded and streamed answers: byte_limit bounds an answer as row_limit
# does (the names the objects format repeats in every row count too);
# large answers stream page by page, chunked, while small ones carry a
# Content-Length; a worker holds about one page plus its output buffers,
# whatever the answer's size; column names are made unique in linear
# time; a Data API answer too big for the subrequest buffer is a JSON
# error, never an empty reply.
use FindBin ();
use lib "$FindBin::Bin/data/query/lib", "$FindBin::Bin/data/auth/lib";
use Test::Nginx::Socket 'no_plan';
use SpectraLogArchive;
use SpectraAuth qw(ensure_keys);
use SpectraQuery qw(api_key key_file http_config json);

our (%K, %SQL, $HttpConfig);

my ($key, $line) = api_key('q061', 'tenant=acme permissions=query');
$K{acme} = $key;

$ENV{TEST_NGINX_QT_KEYS} = key_file($line);
$ENV{TEST_NGINX_AUTH_KEYS} = ensure_keys("$FindBin::Bin/data/auth/keys");

# 200 columns with 60-character names over 10,000 rows: about 2 MB of
# Data API result, about 140 MB as objects if nothing bounded it
$SQL{wide} = 'select '
    . join(', ', map { sprintf "n as c%03d_%s", $_, 'x' x 55 } 1 .. 200)
    . ' from generate_series(1, 10000) as n';

# 1,600 columns of one name: made unique without quadratic work
$SQL{same} = 'select ' . join(', ', ('1 as a') x 1600);

# 1,600 columns, 800 of one name, over 300 rows: rows of about 14 KiB
# and a metadata of about 40 KiB, in the default 8 buffers of 64 KiB
$SQL{dups} = 'select '
    . join(', ', map { $_ % 2 ? "n as v$_" : 'n as dup' } 1 .. 1600)
    . ' from generate_series(1, 300) as n';

# one row bigger than a 64 KiB subrequest buffer
$SQL{big} = "select repeat('x', 200000) as big";

# 50,000 rows of about 100 bytes, over 50 pages of the test daemon
$SQL{many} = "select n, repeat('y', 90) as pad from generate_series(1, 50000)"
             . ' as n';

sub body { json()->encode({sql => $SQL{$_[0]}, @_[1 .. $#_]}) }

# What an answer is, in a line (big answers make poor test output).
sub shape {
    my ($body) = @_;
    my $a = eval { json()->decode($body) };

    return 'not a query answer' unless $a && $a->{metadata};

    my $limit = ($body =~ /byte limit \((\d+) bytes\)/) ? $1 : 0;

    return sprintf '%s %d bytes, %d rows of %d columns, %s',
        length($body) <= $limit ? 'under' : 'over', $limit,
        scalar @{ $a->{data} }, scalar @{ $a->{metadata}{columns} },
        $a->{metadata}{truncated} ? 'truncated by its byte limit'
                                  : 'whole';
}

# TEST 5's filter: the shape of each answer and, once the big answer has
# gone out (at the health check that follows it), the workers' peak RSS.
sub shape_then_peak {
    my ($body) = @_;
    my $shape = shape($body);
    my $kb;

    return $shape unless $shape eq 'not a query answer';

    $kb = SpectraQuery::worker_peak_kb();
    Test::More::cmp_ok($kb, '>', 1024,
                       "$0 - the worker's peak RSS was read ($kb KiB)");
    # under valgrind the RSS is mostly valgrind's own (shadow memory):
    # the bound only means something for nginx itself
    Test::More::cmp_ok($kb, '<', $ENV{TEST_NGINX_USE_VALGRIND} ? 1024 * 1024
                                                               : 64 * 1024,
                       "$0 - the workers' peak RSS stays under "
                       . ($ENV{TEST_NGINX_USE_VALGRIND} ? '1 GiB (valgrind)'
                                                        : '64 MiB')
                       . " ($kb KiB)");

    return $shape;
}

# authentication, the warehouse, the Data API upstream and the job store
$HttpConfig = http_config();

# acme's API key and a JSON body in every request
add_block_preprocessor(sub {
    my $block = shift;

    $block->set_value('more_headers',
                      "X-API-Key: $K{acme}\nContent-Type: application/json\n")
        unless defined $block->more_headers;
    $block->set_value('no_error_log', "[error]\n")
        unless defined $block->no_error_log;
});

run_tests();

__DATA__

=== TEST 1: byte_limit truncates an answer at a row, within the bound
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- request eval
"POST /v1/queries\n" . SpectraQuery::json()->encode({sql => "select n, repeat('x', 100) as pad from generate_series(1, 1000) as n", byte_limit => 8192})
--- response_body_like eval
qr/^(?=.{1,8192}\z)\{"job_id":"job_\w{26}","status":"COMPLETED","data":\[\{"n":1,"pad":"x{100}"\},.*\],"metadata":\{.*"truncated":true,"execution_time_ms":\d+,"message":"the answer reached its byte limit \(8192 bytes\); the first \d+ rows are returned: page through all of them with GET \/v1\/jobs\/job_\w{26}\/results\?page_size=N, or export them with POST \/v1\/bulk"\}\}\n\z/s



=== TEST 2: the rows under byte_limit are exactly the first rows
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- request eval
"POST /v1/queries\n" . SpectraQuery::json()->encode({sql => "select n from generate_series(1, 5000) as n order by n", byte_limit => 4096, result_format => "arrays"})
--- response_body_like eval
qr/^\{"job_id":"job_\w{26}","status":"COMPLETED","data":\[\[1\],\[2\],\[3\],(?:\[\d+\],)*\[\d+\]\],"metadata":\{"columns":\[\{"name":"n","type":"integer"\}\],"row_count":\d+,"truncated":true,/



=== TEST 3: spectra_byte_limit is the default and the cap of byte_limit
--- http_config eval: $::HttpConfig
--- config
    spectra_byte_limit 4k;

    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- request eval
["POST /v1/queries\n{\"sql\": \"select 1\", \"byte_limit\": 8192}",
 "POST /v1/queries\n{\"sql\": \"select n from generate_series(1, 5000) as n\"}"]
--- error_code eval
[400, 200]
--- response_body_like eval
[qr/^\{"error":\{"code":"INVALID_REQUEST","message":"byte_limit must be an integer from 1024 to 4096","request_id":"[0-9a-f]{32}"\}\}\n\z/,
 qr/^(?=.{1,4096}\z).*"truncated":true,.*"message":"the answer reached its byte limit \(4096 bytes\)/s]



=== TEST 4: 200 long column names over 10,000 rows stay within byte_limit, streamed
--- timeout: 60
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- request eval
"POST /v1/queries\n" . main::body('wide', byte_limit => 4194304)
--- response_headers
Transfer-Encoding: chunked
--- response_body_filters eval
\&main::shape
--- response_body_like chomp
^under 4194304 bytes, 313 rows of 200 columns, truncated by its byte limit$



=== TEST 5: a worker holds about one page and its buffers, not the answer
--- timeout: 60
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- request eval
["POST /v1/queries\n" . main::body('wide', byte_limit => 8388608),
 "GET /v1/health"]
--- response_body_filters eval
\&main::shape_then_peak
--- response_body_like eval
[qr/^under 8388608 bytes, 625 rows of 200 columns, truncated by its byte limit$/,
 qr/^not a query answer$/]



=== TEST 6: 1,600 columns of one name are made unique: a, a_2 ... a_1600
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- request eval
"POST /v1/queries\n" . main::body('same')
--- response_body_like eval
qr/^\{"job_id":"job_\w{26}","status":"COMPLETED","data":\[\{"a":1,"a_2":1,"a_3":1,.*"a_1599":1,"a_1600":1\}\],"metadata":\{"columns":\[\{"name":"a","type":"integer"\},\{"name":"a_2","type":"integer"\},.*\{"name":"a_1600","type":"integer"\}\],"row_count":1,"truncated":false,/s



=== TEST 7: a Data API answer too big for the subrequest buffer is a JSON 502
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    location = /_spectra/error {
        internal;
        spectra_auth off;
        spectra_error_page;
    }

    # internal.conf's Data API location with a 64k subrequest buffer
    location /_spectra/dataapi {
        internal;
        proxy_pass http://spectra_dataapi/;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_set_header Host $spectra_host;
        proxy_ignore_client_abort on;
        proxy_connect_timeout 2s;
        proxy_read_timeout 30s;
        subrequest_output_buffer_size 64k;
    }
--- request eval
"POST /v1/queries\n" . main::body('big')
--- error_code: 502
--- response_body_like chomp
^\{"error":\{"code":"UPSTREAM_ERROR","message":"a data API answer is larger than subrequest_output_buffer_size: lower the row or byte limit, or use the bulk API","request_id":"[0-9a-f]{32}"\}\}$
--- error_log
too big subrequest response
--- no_error_log
[alert]



=== TEST 8: 50,000 rows over 50 pages stream, every row once and in order
--- timeout: 60
--- http_config eval: $::HttpConfig
--- config
    spectra_row_limit 50000;

    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- request eval
"POST /v1/queries\n" . main::body('many', result_format => 'arrays')
--- response_headers
Transfer-Encoding: chunked
--- response_body_like eval
qr/^\{"job_id":"job_\w{26}","status":"COMPLETED","data":\[\[1,"y{90}"\],\[2,"y{90}"\],(?:\[\d+,"y{90}"\],){49996}\[49999,"y{90}"\],\[50000,"y{90}"\]\],"metadata":\{"columns":\[\{"name":"n","type":"integer"\},\{"name":"pad","type":"text"\}\],"row_count":50000,"truncated":false,/



=== TEST 9: a small answer goes out whole, with its Content-Length
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- request
POST /v1/queries
{"sql": "select 1 as one"}
--- response_headers_like
Content-Length: \d+
--- response_body_like: "data":\[\{"one":1\}\]



=== TEST 10: a HEAD of the results of a job is headers only
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- init
SpectraQuery::submit($::K{acme}, {sql => 'select 1 as one'},
                     until => 'COMPLETED');
--- pipelined_requests eval
['HEAD /v1/jobs/$TEST_NGINX_JOB/results']
--- error_code eval
[200]
--- response_body eval
[""]



=== TEST 11: 300 rows of 1,600 columns, 800 of one name, through the default buffers, to the last row
The buffers fill and all go out to the client at once, and the metadata
takes more than one of them: neither waits for an event that never comes.
--- timeout: 30
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- request eval
"POST /v1/queries\n" . main::body('dups')
--- response_body_filters eval
\&main::shape
--- response_body_like chomp
^over 0 bytes, 300 rows of 1600 columns, whole$



=== TEST 12: with spectra_thread_pool off the pages are checked in the worker: the same 50,000 rows
--- timeout: 60
--- http_config eval: $::HttpConfig
--- config
    spectra_row_limit 50000;
    spectra_thread_pool off;

    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- request eval
"POST /v1/queries\n" . main::body('many', result_format => 'arrays')
--- response_body_like eval
qr/^\{"job_id":"job_\w{26}","status":"COMPLETED","data":\[\[1,"y{90}"\],\[2,"y{90}"\],(?:\[\d+,"y{90}"\],){49996}\[49999,"y{90}"\],\[50000,"y{90}"\]\],"metadata":/
