# GET /v1/jobs/{id}/results in pages: page_size / page_bytes / cursor read
# a job's whole result, whatever its inline limits, through the Data
# API's NextToken (spectra-dataapi runs with --page-rows 1000, so a page
# of the API spans or splits many Data API pages).  Every row comes once,
# in order, as psql gives it; pages are bounded by rows and bytes; a
# cursor of another job or tenant, or one changed in any way, is refused
# without a word about what it held; a result the Data API no longer
# keeps is a clear 404; a running or failed job answers as /results does.
use FindBin ();
use lib "$FindBin::Bin/data/query/lib", "$FindBin::Bin/data/results/lib",
        "$FindBin::Bin/data/dataapi";
use Test::Nginx::Socket 'no_plan';
use SpectraLogArchive;
use DataAPI qw(start_daemon stop_daemon call);
use SpectraQuery qw(api_key key_file http_config);
use SpectraPages;

our (%K, %SQL, %PSQL, $HttpConfig, $OwnConfig, $Own);

my @lines;

for my $k (['acme', 'tenant=acme permissions=query'],
           ['globex', 'tenant=globex permissions=query'],
           ['acmeuser', 'tenant=acme db_user=tenant_globex '
                        . 'permissions=query'])
{
    my $line;
    ($K{$k->[0]}, $line) = api_key("q065$k->[0]", $k->[1]);
    push @lines, $line;
}

$ENV{TEST_NGINX_QT_KEYS} = key_file(@lines);
$ENV{TEST_NGINX_AUTH_KEYS} = "$FindBin::Bin/data/auth/keys";

# the tenant's SQL and what the superuser reads for that tenant
$SQL{sales} = 'select id, tenant_id, region, amount, returned, note,'
              . ' sale_date from sales order by id limit 50000';
($PSQL{rows}, $PSQL{digest}) = SpectraPages::psql_digest(
    'select id, tenant_id, region, amount, returned, note, sale_date'
    . " from sales where tenant_id = 'globex' order by id limit 50000");

$HttpConfig = http_config();

# A spectra-dataapi of this suite's that keeps one statement: the next
# one makes it forget the one before (as retention does, in time).
$Own = start_daemon($ENV{SPECTRA_PORT_BASE} + 40, '--max-statements', '1',
                    '--page-rows', '1000');
$OwnConfig = SpectraPages::http_config_for($Own);

add_cleanup_handler(sub { stop_daemon($Own) });

# "--- tenant: globex" picks the API key (acme by default).
add_block_preprocessor(sub {
    my $block = shift;
    my $t = $block->tenant // 'acme';

    $block->set_value('more_headers', "X-API-Key: $K{$t}\n")
        unless defined $block->more_headers;
    $block->set_value('no_error_log', "[error]\n")
        unless defined $block->no_error_log;
});

run_tests();

__DATA__

=== TEST 1: 50,000 rows of globex in pages of 3333 (across and inside Data API pages) are psql's rows, each once, in order
--- tenant: globex
--- timeout: 30
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- init
my $job = SpectraQuery::submit($::K{globex},
    {sql => $::SQL{sales}, result_format => 'arrays'}, until => 'COMPLETED');
my $r = SpectraPages::read_all($::K{globex}, $job, page_size => 3333);
SpectraPages::check_pages($r, 50000, 3333, "$0 pages of 3333");
Test::More::is($::PSQL{rows}, 50000, "$0 psql reads 50000 rows of globex");
Test::More::is(SpectraPages::digest($r->{rows}), $::PSQL{digest},
               "$0 the pages hold psql's rows, in psql's order");
my @ids = map { $_->[0] } @{ $r->{rows} };
Test::More::is(scalar(grep { $ids[$_] <= $ids[$_ - 1] } 1 .. $#ids), 0,
               "$0 ids rise strictly: no row twice");
Test::More::is(scalar(grep { $_->[1] ne 'globex' } @{ $r->{rows} }), 0,
               "$0 every row is globex's");
$ENV{TEST_NGINX_CURSOR} = $r->{pages}[-1]{cursor};
--- pipelined_requests eval
['GET /v1/jobs/$TEST_NGINX_JOB/results?page_size=3333&cursor=$TEST_NGINX_CURSOR',
 'GET /v1/jobs/$TEST_NGINX_JOB']
--- error_code eval
[200, 200]
--- response_body_like eval
[qr/^\{"job_id":"(??{ $ENV{TEST_NGINX_JOB} })","status":"COMPLETED","data":\[(?:\[\d+,"globex",[^\]]*\],){4}\[\d+,"globex",[^\]]*\]\],"metadata":\{"columns":\[\{"name":"id","type":"bigint"\},\{"name":"tenant_id","type":"text"\},\{"name":"region","type":"text"\},\{"name":"amount","type":"numeric"\},\{"name":"returned","type":"boolean"\},\{"name":"note","type":"text"\},\{"name":"sale_date","type":"date"\}\],"row_count":5,"truncated":false,"execution_time_ms":\d+,"message":null\},"next_cursor":null\}\n\z/,
 qr/"status":"COMPLETED",.*"row_count":10000,/]



=== TEST 2: pages of 10000 divide 50,000: five full pages, the fifth says next_cursor null, no empty sixth
--- tenant: globex
--- timeout: 30
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- init
my $job = SpectraQuery::submit($::K{globex},
    {sql => $::SQL{sales}, result_format => 'arrays'}, until => 'COMPLETED');
my $r = SpectraPages::read_all($::K{globex}, $job, page_size => 10000);
SpectraPages::check_pages($r, 50000, 10000, "$0 pages of 10000");
Test::More::is(SpectraPages::digest($r->{rows}), $::PSQL{digest},
               "$0 the pages hold psql's rows");
my $kb = SpectraQuery::worker_peak_kb();
Test::More::cmp_ok($kb, '>', 1024, "$0 the worker's peak RSS was read");
Test::More::cmp_ok($kb, '<', 64 * 1024,
                   "$0 pages of 10000 rows: the worker stays under 64 MiB ($kb KiB)");
$ENV{TEST_NGINX_CURSOR} = $r->{pages}[-1]{cursor};
--- pipelined_requests eval
['GET /v1/jobs/$TEST_NGINX_JOB/results?page_size=10000&cursor=$TEST_NGINX_CURSOR']
--- response_headers eval
["Transfer-Encoding: chunked"]
--- response_body_like eval
[qr/"row_count":10000,"truncated":false,"execution_time_ms":\d+,"message":null\},"next_cursor":null\}\n\z/]



=== TEST 3: page boundaries are exact for sizes below, at and above the Data API's 1000-row pages
--- timeout: 30
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- init
my $job = SpectraQuery::submit($::K{acme},
    {sql => 'select n from generate_series(1, 2500) n',
     result_format => 'arrays'}, until => 'COMPLETED');
for my $size (7, 999, 1000, 1001, 1250, 2499, 2500, 2501, 10000) {
    my $r = SpectraPages::read_all($::K{acme}, $job, page_size => $size);
    SpectraPages::check_pages($r, 2500, $size, "$0 pages of $size");
    SpectraPages::ids_are($r->{rows}, 1, 2500, "$0 pages of $size");
}
--- pipelined_requests eval
['GET /v1/jobs/$TEST_NGINX_JOB/results?page_size=2',
 'GET /v1/jobs/$TEST_NGINX_JOB/results?page_size=10000']
--- response_body_like eval
[qr/^\{"job_id":"(??{ $ENV{TEST_NGINX_JOB} })","status":"COMPLETED","data":\[\[1\],\[2\]\],"metadata":\{"columns":\[\{"name":"n","type":"integer"\}\],"row_count":2,"truncated":false,"execution_time_ms":\d+,"message":null\},"next_cursor":"[A-Za-z0-9_-]{60,}"\}\n\z/,
 qr/^\{"job_id":"(??{ $ENV{TEST_NGINX_JOB} })","status":"COMPLETED","data":\[\[1\],(?:\[\d+\],){2498}\[2500\]\],.*"row_count":2500,"truncated":false,.*"next_cursor":null\}\n\z/]



=== TEST 4: pages as objects: every page carries the columns, named as the query's answer names them
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- init
my $job = SpectraQuery::submit($::K{acme},
    {sql => 'select n, n as n, null::text as "x""y" from generate_series(1, 2100) n'},
    until => 'COMPLETED');
my $r = SpectraPages::read_all($::K{acme}, $job, page_size => 700);
Test::More::is(scalar @{ $r->{pages} }, 3, "$0 three pages");
SpectraPages::ids_are($r->{rows}, 1, 2100, "$0 objects");
Test::More::is_deeply($r->{columns},
    [([{name => 'n', type => 'integer'}, {name => 'n_2', type => 'integer'},
       {name => 'x"y', type => 'text'}]) x 3],
    "$0 each page's columns");
--- pipelined_requests eval
['GET /v1/jobs/$TEST_NGINX_JOB/results?page_size=1']
--- response_body_like eval
[qr/^\{"job_id":"job_\w{26}","status":"COMPLETED","data":\[\{"n":1,"n_2":1,"x\\"y":null\}\],"metadata":\{"columns":\[\{"name":"n","type":"integer"\},\{"name":"n_2","type":"integer"\},\{"name":"x\\"y","type":"text"\}\],"row_count":1,"truncated":false,/]



=== TEST 5: pages bounded by bytes: each within page_bytes, all rows once; rows bound first when fewer fit
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- init
my $job = SpectraQuery::submit($::K{acme},
    {sql => "select n, repeat('x', 100) as pad from generate_series(1, 3000) n",
     result_format => 'arrays'}, until => 'COMPLETED');
my $r = SpectraPages::read_all($::K{acme}, $job, page_bytes => 8192);
my @p = @{ $r->{pages} };
SpectraPages::ids_are($r->{rows}, 1, 3000, "$0 by bytes");
Test::More::is(scalar(grep { $_->{bytes} > 8192 } @p), 0,
               "$0 no page above 8192 bytes");
Test::More::is(scalar(grep { $_->{bytes} < 8192 - 1024 } @p[0 .. $#p - 1]), 0,
               "$0 every page but the last is nearly full");
Test::More::is(scalar(grep { $_->{rows} == 0 } @p), 0, "$0 no empty page");
Test::More::cmp_ok(scalar @p, '>', 40, "$0 by bytes: " . @p . ' pages');
$r = SpectraPages::read_all($::K{acme}, $job, page_bytes => 8192,
                            page_size => 50);
SpectraPages::check_pages($r, 3000, 50, "$0 50 rows in 8192 bytes");
Test::More::is(scalar(grep { $_->{bytes} > 8192 } @{ $r->{pages} }), 0,
               "$0 50 rows: within 8192 bytes");
--- pipelined_requests eval
['GET /v1/jobs/$TEST_NGINX_JOB/results?page_bytes=1024',
 'GET /v1/jobs/$TEST_NGINX_JOB/results?page_bytes=1024&page_size=1']
--- response_body_like eval
[qr/^(?=.{1,1024}\z)\{"job_id":"job_\w{26}","status":"COMPLETED","data":\[\[1,"x{100}"\](?:,\[\d+,"x{100}"\])*\],.*"truncated":false,.*"next_cursor":"[A-Za-z0-9_-]+"\}\n\z/s,
 qr/^\{"job_id":"job_\w{26}","status":"COMPLETED","data":\[\[1,"x{100}"\]\],.*"row_count":1,/]



=== TEST 6: a row larger than page_bytes is a 400 that says what to do, not an empty page
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
        spectra_byte_limit 64k;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- init
SpectraQuery::submit($::K{acme},
    {sql => "select n, repeat('y', case when n = 2 then 33000 else 3000 end) as big from generate_series(1, 3) n",
     result_format => 'arrays'}, until => 'COMPLETED');
my (undef, undef, $d) = SpectraPages::get($::K{acme},
    "/v1/jobs/$ENV{TEST_NGINX_JOB}/results?page_bytes=8192");
$ENV{TEST_NGINX_CURSOR} = $d->{next_cursor};
--- pipelined_requests eval
['GET /v1/jobs/$TEST_NGINX_JOB/results?page_bytes=2048',
 'GET /v1/jobs/$TEST_NGINX_JOB/results?page_bytes=8192',
 'GET /v1/jobs/$TEST_NGINX_JOB/results?page_bytes=8192&cursor=$TEST_NGINX_CURSOR',
 'GET /v1/jobs/$TEST_NGINX_JOB/results?page_bytes=65536&cursor=$TEST_NGINX_CURSOR']
--- error_code eval
[400, 200, 400, 200]
--- response_body_like eval
[qr/^\{"error":\{"code":"INVALID_REQUEST","message":"the next row does not fit in page_bytes \(2048\): ask for more, up to 65536","request_id":"[0-9a-f]{32}"\}\}\n\z/,
 qr/^\{"job_id":"job_\w{26}","status":"COMPLETED","data":\[\[1,"y{3000}"\]\],.*"row_count":1,"truncated":false,.*"next_cursor":"[A-Za-z0-9_-]+"\}\n\z/,
 qr/^\{"error":\{"code":"INVALID_REQUEST","message":"the next row does not fit in page_bytes \(8192\): ask for more, up to 65536","request_id":"[0-9a-f]{32}"\}\}\n\z/,
 qr/^\{"job_id":"job_\w{26}","status":"COMPLETED","data":\[\[2,"y{33000}"\],\[3,"y{3000}"\]\],.*"row_count":2,"truncated":false,.*"next_cursor":null\}\n\z/]



=== TEST 7: a row larger than any page may be: 400, pointing to the bulk API
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
        spectra_byte_limit 4k;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- init
SpectraQuery::submit($::K{acme},
    {sql => "select repeat('y', 5000) as big"}, until => 'COMPLETED');
--- pipelined_requests eval
['GET /v1/jobs/$TEST_NGINX_JOB/results?page_size=10']
--- error_code eval
[400]
--- response_body_like eval
[qr/^\{"error":\{"code":"INVALID_REQUEST","message":"the next row does not fit in a page of 4096 bytes: export the result with POST \/v1\/bulk","request_id":"[0-9a-f]{32}"\}\}\n\z/]



=== TEST 8: the cursor of another job of the same tenant is a 400 that tells nothing of it
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- init
SpectraQuery::submit($::K{acme}, {sql => 'select n from generate_series(1, 3000) n'},
                     env => 'TEST_NGINX_OTHER', until => 'COMPLETED');
my (undef, undef, $d) = SpectraPages::get($::K{acme},
    "/v1/jobs/$ENV{TEST_NGINX_OTHER}/results?page_size=1500");
$ENV{TEST_NGINX_CURSOR} = $d->{next_cursor};
SpectraQuery::submit($::K{acme}, {sql => 'select n from generate_series(1, 3000) n'},
                     until => 'COMPLETED');
--- pipelined_requests eval
['GET /v1/jobs/$TEST_NGINX_JOB/results?cursor=$TEST_NGINX_CURSOR',
 'GET /v1/jobs/$TEST_NGINX_JOB/results?page_size=1500&cursor=$TEST_NGINX_CURSOR',
 'GET /v1/jobs/$TEST_NGINX_OTHER/results?page_size=1500&cursor=$TEST_NGINX_CURSOR']
--- error_code eval
[400, 400, 200]
--- response_body_like eval
[qr/^\{"error":\{"code":"INVALID_REQUEST","message":"invalid cursor: it is not a cursor of this job's results \(or it was made with another cursor key\)","request_id":"[0-9a-f]{32}"\}\}\n\z/,
 qr/^\{"error":\{"code":"INVALID_REQUEST","message":"invalid cursor: it is not a cursor of this job's results \(or it was made with another cursor key\)","request_id":"[0-9a-f]{32}"\}\}\n\z/,
 qr/^\{"job_id":"(??{ $ENV{TEST_NGINX_OTHER} })","status":"COMPLETED","data":\[\{"n":1501\},.*\{"n":3000\}\],.*"row_count":1500,.*"next_cursor":null\}\n\z/]



=== TEST 9: another tenant gets 404 for the job and 400 for its cursor on a job of its own; another database user of the tenant 404
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- init
SpectraQuery::submit($::K{acme}, {sql => 'select n from generate_series(1, 3000) n'},
                     until => 'COMPLETED');
my (undef, undef, $d) = SpectraPages::get($::K{acme},
    "/v1/jobs/$ENV{TEST_NGINX_JOB}/results?page_size=10");
$ENV{TEST_NGINX_CURSOR} = $d->{next_cursor};
SpectraQuery::submit($::K{globex}, {sql => 'select n from generate_series(1, 3000) n'},
                     env => 'TEST_NGINX_OTHER', until => 'COMPLETED');
--- pipelined_requests eval
['GET /v1/jobs/$TEST_NGINX_JOB/results?page_size=10&cursor=$TEST_NGINX_CURSOR',
 'GET /v1/jobs/$TEST_NGINX_OTHER/results?page_size=10&cursor=$TEST_NGINX_CURSOR',
 'GET /v1/jobs/$TEST_NGINX_JOB/results?page_size=10&cursor=$TEST_NGINX_CURSOR',
 'GET /v1/jobs/$TEST_NGINX_JOB/results?page_size=10&cursor=$TEST_NGINX_CURSOR']
--- more_headers eval
["X-API-Key: $::K{globex}", "X-API-Key: $::K{globex}",
 "X-API-Key: $::K{acmeuser}", "X-API-Key: $::K{acme}"]
--- error_code eval
[404, 400, 404, 200]
--- response_body_like eval
[qr/^\{"error":\{"code":"NOT_FOUND","message":"no such job","request_id":"[0-9a-f]{32}"\}\}\n\z/,
 qr/^\{"error":\{"code":"INVALID_REQUEST","message":"invalid cursor: it is not a cursor of this job's results \(or it was made with another cursor key\)","request_id":"[0-9a-f]{32}"\}\}\n\z/,
 qr/^\{"error":\{"code":"NOT_FOUND","message":"no such job","request_id":"[0-9a-f]{32}"\}\}\n\z/,
 qr/^\{"job_id":"(??{ $ENV{TEST_NGINX_JOB} })","status":"COMPLETED","data":\[\{"n":11\},.*\{"n":20\}\],/]



=== TEST 10: a cursor changed in any way is a 400, and so is what only looks like one
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- init
SpectraQuery::submit($::K{acme}, {sql => 'select n from generate_series(1, 3000) n'},
                     until => 'COMPLETED');
my (undef, undef, $d) = SpectraPages::get($::K{acme},
    "/v1/jobs/$ENV{TEST_NGINX_JOB}/results?page_size=1200");
my $c = $d->{next_cursor};
my $flip = sub { my ($s, $i) = @_; my $ch = substr($s, $i, 1);
                 substr($s, $i, 1) = $ch eq 'A' ? 'B' : 'A'; $s };
$ENV{TEST_NGINX_C_OK} = $c;
$ENV{TEST_NGINX_C_MID} = $flip->($c, int(length($c) / 2));
$ENV{TEST_NGINX_C_FIRST} = $flip->($c, 0);
$ENV{TEST_NGINX_C_LAST} = $flip->($c, length($c) - 1);
$ENV{TEST_NGINX_C_CUT} = substr($c, 0, -1);
$ENV{TEST_NGINX_C_LONG} = $c . 'AAAA';
$ENV{TEST_NGINX_C_LIST} = '0000019a2b3c4d5e' . ('7' x 26);
$ENV{TEST_NGINX_C_SAME} = join '', map { (0 .. 9, 'a' .. 'z')[rand 36] } 1 .. length $c;
--- pipelined_requests eval
['GET /v1/jobs/$TEST_NGINX_JOB/results?cursor=$TEST_NGINX_C_MID',
 'GET /v1/jobs/$TEST_NGINX_JOB/results?cursor=$TEST_NGINX_C_FIRST',
 'GET /v1/jobs/$TEST_NGINX_JOB/results?cursor=$TEST_NGINX_C_LAST',
 'GET /v1/jobs/$TEST_NGINX_JOB/results?cursor=$TEST_NGINX_C_CUT',
 'GET /v1/jobs/$TEST_NGINX_JOB/results?cursor=$TEST_NGINX_C_LONG',
 'GET /v1/jobs/$TEST_NGINX_JOB/results?cursor=$TEST_NGINX_C_LIST',
 'GET /v1/jobs/$TEST_NGINX_JOB/results?cursor=$TEST_NGINX_C_SAME',
 'GET /v1/jobs/$TEST_NGINX_JOB/results?cursor=',
 'GET /v1/jobs/$TEST_NGINX_JOB/results?cursor=%00%27%22',
 'GET /v1/jobs/$TEST_NGINX_JOB/results?page_size=1200&cursor=$TEST_NGINX_C_OK']
--- error_code eval
[400, 400, 400, 400, 400, 400, 400, 400, 400, 200]
--- response_body_like eval
[(qr/^\{"error":\{"code":"INVALID_REQUEST","message":"invalid cursor(?:: it is not a cursor of this job's results \(or it was made with another cursor key\))?","request_id":"[0-9a-f]{32}"\}\}\n\z/) x 9,
 qr/^\{"job_id":"job_\w{26}","status":"COMPLETED","data":\[\{"n":1201\},.*\{"n":2400\}\],.*"row_count":1200,.*"next_cursor":"[A-Za-z0-9_-]+"\}\n\z/]



=== TEST 11: page_size and page_bytes out of range or not integers: 400 naming the range
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- init
SpectraQuery::submit($::K{acme}, {sql => 'select 1 as one'}, until => 'COMPLETED');
--- pipelined_requests eval
[map({ "GET /v1/jobs/\$TEST_NGINX_JOB/results?page_size=$_" }
     '0', '-1', '10001', '1.5', 'abc', '', '99999999999999999999999'),
 map({ "GET /v1/jobs/\$TEST_NGINX_JOB/results?page_bytes=$_" }
     '1023', '26214401', '8k', '', '-5'),
 'GET /v1/jobs/job_00000000000000000000000000/results?page_size=0',
 'GET /v1/jobs/$TEST_NGINX_JOB/results?page_size=10000&page_bytes=26214400']
--- error_code eval
[(400) x 13, 200]
--- response_body_like eval
[(qr/^\{"error":\{"code":"INVALID_REQUEST","message":"page_size must be an integer from 1 to 10000","request_id":"[0-9a-f]{32}"\}\}\n\z/) x 7,
 (qr/^\{"error":\{"code":"INVALID_REQUEST","message":"page_bytes must be an integer from 1024 to 26214400","request_id":"[0-9a-f]{32}"\}\}\n\z/) x 5,
 qr/^\{"error":\{"code":"INVALID_REQUEST","message":"page_size must be an integer from 1 to 10000",/,
 qr/^\{"job_id":"job_\w{26}","status":"COMPLETED","data":\[\{"one":1\}\],"metadata":\{"columns":\[\{"name":"one","type":"integer"\}\],"row_count":1,"truncated":false,"execution_time_ms":\d+,"message":null\},"next_cursor":null\}\n\z/]



=== TEST 12: the limits are the location's spectra_row_limit and spectra_byte_limit, which are also the defaults
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
        spectra_row_limit 100;
        spectra_byte_limit 64k;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- init
SpectraQuery::submit($::K{acme},
    {sql => 'select n from generate_series(1, 250) n', row_limit => 7,
     result_format => 'arrays'}, until => 'COMPLETED');
my (undef, undef, $d) = SpectraPages::get($::K{acme},
    "/v1/jobs/$ENV{TEST_NGINX_JOB}/results?page_bytes=65536");
$ENV{TEST_NGINX_CURSOR} = $d->{next_cursor};
--- pipelined_requests eval
['GET /v1/jobs/$TEST_NGINX_JOB/results?page_size=101',
 'GET /v1/jobs/$TEST_NGINX_JOB/results?page_bytes=65537',
 'GET /v1/jobs/$TEST_NGINX_JOB/results?cursor=$TEST_NGINX_CURSOR',
 'GET /v1/jobs/$TEST_NGINX_JOB/results']
--- error_code eval
[400, 400, 200, 200]
--- response_body_like eval
[qr/"message":"page_size must be an integer from 1 to 100"/,
 qr/"message":"page_bytes must be an integer from 1024 to 65536"/,
 qr/^\{"job_id":"job_\w{26}","status":"COMPLETED","data":\[\[101\],(?:\[\d+\],){98}\[200\]\],.*"row_count":100,"truncated":false,.*"next_cursor":"[A-Za-z0-9_-]+"\}\n\z/,
 qr/^\{"job_id":"job_\w{26}","status":"COMPLETED","data":\[\[1\],\[2\],\[3\],\[4\],\[5\],\[6\],\[7\]\],.*"row_count":7,"truncated":true,/]



=== TEST 13: the inline answer's truncation message names both ways, and the pages it names hold the rest
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- init
SpectraQuery::submit($::K{acme},
    {sql => 'select n from generate_series(1, 5) n', row_limit => 3,
     result_format => 'arrays'}, until => 'COMPLETED');
my (undef, undef, $d) = SpectraPages::get($::K{acme},
    "/v1/jobs/$ENV{TEST_NGINX_JOB}/results?page_size=3");
$ENV{TEST_NGINX_CURSOR} = $d->{next_cursor};
--- pipelined_requests eval
['GET /v1/jobs/$TEST_NGINX_JOB/results',
 'GET /v1/jobs/$TEST_NGINX_JOB/results?page_size=3',
 'GET /v1/jobs/$TEST_NGINX_JOB/results?page_size=3&cursor=$TEST_NGINX_CURSOR']
--- response_body_like eval
[qr/^\{"job_id":"(??{ $ENV{TEST_NGINX_JOB} })","status":"COMPLETED","data":\[\[1\],\[2\],\[3\]\],"metadata":\{"columns":\[\{"name":"n","type":"integer"\}\],"row_count":3,"truncated":true,"execution_time_ms":\d+,"message":"the result has more than 3 rows; the first 3 are returned: page through all of them with GET \/v1\/jobs\/(??{ $ENV{TEST_NGINX_JOB} })\/results\?page_size=N, or export them with POST \/v1\/bulk"\}\}\n\z/,
 qr/^\{"job_id":"(??{ $ENV{TEST_NGINX_JOB} })","status":"COMPLETED","data":\[\[1\],\[2\],\[3\]\],"metadata":\{"columns":\[\{"name":"n","type":"integer"\}\],"row_count":3,"truncated":false,"execution_time_ms":\d+,"message":null\},"next_cursor":"[A-Za-z0-9_-]+"\}\n\z/,
 qr/^\{"job_id":"(??{ $ENV{TEST_NGINX_JOB} })","status":"COMPLETED","data":\[\[4\],\[5\]\],"metadata":\{"columns":\[\{"name":"n","type":"integer"\}\],"row_count":2,"truncated":false,"execution_time_ms":\d+,"message":null\},"next_cursor":null\}\n\z/]



=== TEST 14: a result the Data API no longer keeps: 404 for its pages and its cursors, the job stays COMPLETED
--- http_config eval: $::OwnConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- init
my $job = SpectraQuery::submit($::K{acme},
    {sql => 'select n from generate_series(1, 2500) n'}, until => 'COMPLETED');
my (undef, undef, $d) = SpectraPages::get($::K{acme},
    "/v1/jobs/$job/results?page_size=1200");
die "no first page\n" unless $d && $d->{next_cursor};
$ENV{TEST_NGINX_CURSOR} = $d->{next_cursor};
# another statement: the daemon keeps one, and forgets the first
SpectraQuery::submit($::K{acme}, {sql => 'select 2 as two'},
                     env => 'TEST_NGINX_OTHER', until => 'COMPLETED');
SpectraQuery::poll(sub {
    my ($st, $b) = DataAPI::call($::Own, 'ListStatements', {});
    $st == 200 && @{ $b->{Statements} } == 1
        && $b->{Statements}[0]{QueryString} =~ /select 2 as two/ }, 100, 0.1);
--- pipelined_requests eval
['GET /v1/jobs/$TEST_NGINX_JOB/results?page_size=1200&cursor=$TEST_NGINX_CURSOR',
 'GET /v1/jobs/$TEST_NGINX_JOB/results?page_size=10',
 'GET /v1/jobs/$TEST_NGINX_JOB']
--- error_code eval
[404, 404, 200]
--- response_body_like eval
[qr/^\{"error":\{"code":"NOT_FOUND","message":"the statement's results are no longer available","request_id":"[0-9a-f]{32}"\}\}\n\z/,
 qr/^\{"error":\{"code":"NOT_FOUND","message":"the statement's results are no longer available","request_id":"[0-9a-f]{32}"\}\}\n\z/,
 qr/^\{"job_id":"(??{ $ENV{TEST_NGINX_JOB} })","type":"query","status":"COMPLETED",/]



=== TEST 15: pages of a running job: 202 with the job, as its results say while it runs
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- init
SpectraQuery::gate_close();
SpectraQuery::submit($::K{acme}, {sql => 'select count(*) from spectra_gate'},
                     until => 'RUNNING');
--- pipelined_requests eval
['GET /v1/jobs/$TEST_NGINX_JOB/results?page_size=10',
 'GET /v1/jobs/$TEST_NGINX_JOB/results']
--- error_code eval
[202, 202]
--- response_headers_like eval
["Location: http://localhost:\\d+/v1/jobs/job_\\w{26}\nRetry-After: 1", "Retry-After: 1"]
--- response_body_like eval
[(qr/^\{"job_id":"(??{ $ENV{TEST_NGINX_JOB} })","type":"query","status":"RUNNING",.*"links":\{"self":"\/v1\/jobs\/job_\w{26}","results":"\/v1\/jobs\/job_\w{26}\/results"\}\}\n\z/) x 2]



=== TEST 16: pages of a failed job: its 422, as its results say
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- init
SpectraQuery::submit($::K{acme}, {sql => 'select 1 / (n - n) from generate_series(1, 3) n'},
                     until => 'FAILED');
--- pipelined_requests eval
['GET /v1/jobs/$TEST_NGINX_JOB/results?page_size=10',
 'GET /v1/jobs/$TEST_NGINX_JOB/results']
--- error_code eval
[422, 422]
--- response_body_like eval
[(qr/^\{"error":\{"code":"QUERY_FAILED","message":"[^"]*division by zero[^"]*","request_id":"[0-9a-f]{32}","sqlstate":"22012","job_id":"(??{ $ENV{TEST_NGINX_JOB} })"\}\}\n\z/) x 2]



=== TEST 17: pages end at the rows the statement keeps (spectra_results_row_limit): the last says truncated and names the bulk API
--- timeout: 20
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
        spectra_row_limit 100;
        spectra_results_row_limit 2000;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- init
SpectraQuery::submit($::K{acme},
    {sql => 'select n from generate_series(1, 2000) n', result_format => 'arrays'},
    env => 'TEST_NGINX_OTHER', until => 'COMPLETED');
my $r = SpectraPages::read_all($::K{acme}, $ENV{TEST_NGINX_OTHER},
                               page_size => 100);
SpectraPages::check_pages($r, 2000, 100, "$0 2000 rows, all kept");
my $job = SpectraQuery::submit($::K{acme},
    {sql => 'select n from generate_series(1, 2500) n', result_format => 'arrays'},
    until => 'COMPLETED');
$r = SpectraPages::read_all($::K{acme}, $job, page_size => 100);
my @p = @{ $r->{pages} };
Test::More::is(scalar @{ $r->{rows} }, 2000, "$0 2500 rows: the 2000 kept");
SpectraPages::ids_are($r->{rows}, 1, 2000, "$0 2500 rows, 2000 kept");
Test::More::is(scalar(grep { $_->{truncated} } @p), 1,
               "$0 2500 rows: the last page alone says truncated");
Test::More::ok($p[-1]{truncated}, "$0 2500 rows: the last page");
$ENV{TEST_NGINX_CURSOR} = $p[-1]{cursor};
--- pipelined_requests eval
['GET /v1/jobs/$TEST_NGINX_JOB/results?page_size=100&cursor=$TEST_NGINX_CURSOR',
 'GET /v1/jobs/$TEST_NGINX_JOB/results',
 'GET /v1/jobs/$TEST_NGINX_OTHER/results?page_size=2000']
--- error_code eval
[200, 200, 400]
--- response_body_like eval
[qr/^\{"job_id":"(??{ $ENV{TEST_NGINX_JOB} })","status":"COMPLETED","data":\[\[1901\],(?:\[\d+\],){98}\[2000\]\],"metadata":\{"columns":\[\{"name":"n","type":"integer"\}\],"row_count":100,"truncated":true,"execution_time_ms":\d+,"message":"the result has more than the 2000 rows kept for pages \(spectra_results_row_limit\): export all of them with POST \/v1\/bulk"\},"next_cursor":null\}\n\z/,
 qr/^\{"job_id":"(??{ $ENV{TEST_NGINX_JOB} })","status":"COMPLETED","data":\[\[1\],(?:\[\d+\],){98}\[100\]\],.*"row_count":100,"truncated":true,.*"message":"the result has more than 100 rows; the first 100 are returned: page through all of them with GET \/v1\/jobs\/(??{ $ENV{TEST_NGINX_JOB} })\/results\?page_size=N, or export them with POST \/v1\/bulk"\}\}\n\z/,
 qr/"message":"page_size must be an integer from 1 to 100"/]



=== TEST 18: spectra_results_row_limit 0 is refused
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
        spectra_results_row_limit 0;
    }
--- must_die
--- error_log
spectra_results_row_limit must be 1 to 100000000



=== TEST 19: a refused cursor is logged at info, naming the job, not what the cursor held
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- init
SpectraQuery::submit($::K{acme}, {sql => 'select n from generate_series(1, 3000) n'},
                     until => 'COMPLETED');
my (undef, undef, $d) = SpectraPages::get($::K{acme},
    "/v1/jobs/$ENV{TEST_NGINX_JOB}/results?page_size=1000");
my $c = $d->{next_cursor};
substr($c, 20, 1) = substr($c, 20, 1) eq 'x' ? 'y' : 'x';
$ENV{TEST_NGINX_CURSOR} = $c;
--- pipelined_requests eval
['GET /v1/jobs/$TEST_NGINX_JOB/results?cursor=$TEST_NGINX_CURSOR']
--- error_code eval
[400]
--- response_body_like eval
[qr/^\{"error":\{"code":"INVALID_REQUEST","message":"invalid cursor: it is not a cursor of this job's results \(or it was made with another cursor key\)","request_id":"[0-9a-f]{32}"\}\}\n\z/]
--- error_log eval
qr/\[info\] .*spectra: a cursor that is not one of job (??{ $ENV{TEST_NGINX_JOB} })'s results was refused/
