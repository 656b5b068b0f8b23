# Jobs: a query that outlives wait_timeout_seconds answers 202 and goes on;
# its results come later from /v1/jobs/{id}/results; DELETE cancels;
# timeouts cancel with 408; GET /v1/jobs lists newest first with filters
# and cursors; another tenant's job is a 404 on every endpoint;
# idempotency keys replay or conflict; $spectra_job_id reaches the access
# log.
#
# Every block has its own job store (logs/, emptied before each block): a
# block's "--- init" makes the jobs it reads, and its requests name them
# as $TEST_NGINX_JOB.  A "long" statement waits at the gate (a lock a
# superuser holds on spectra_gate) until it is cancelled or the gate
# opens: it cannot finish under a test, and once cancelled it is no
# longer in pg_stat_activity.  Each block starts with the gate open.
#
# Blocks run twice (repeat_each 2, one init for both) unless what they
# check changes state the first time ("--- repeat_each: 1").
use FindBin ();
use lib "$FindBin::Bin/data/query/lib", "$FindBin::Bin/data/auth/lib";
use Test::Nginx::Socket 'no_plan';
use SpectraLogArchive;
use SpectraAuth qw(ensure_keys);
use SpectraQuery qw(api_key key_file http_config http json poll psql submit
                    job_status gate_open);

our (%K, $HttpConfig, $GATED, $GATED_SALES);

my @lines;

for my $t (qw(acme globex)) {
    my $line;
    ($K{$t}, $line) = api_key("q053$t", "tenant=$t permissions=query");
    push @lines, $line;
}

$ENV{TEST_NGINX_QT_KEYS} = key_file(@lines);
$ENV{TEST_NGINX_AUTH_KEYS} = ensure_keys("$FindBin::Bin/data/auth/keys");

# authentication, the warehouse, the Data API upstream and the job store
$HttpConfig = http_config();

# waits at the gate; and one that counts the tenant's sales once it opens
$GATED = 'select count(*) from spectra_gate';
$GATED_SALES = 'select count(*) from sales,'
               . ' (select count(*) from spectra_gate) g';


# Statements running in the warehouse that read the gate.
sub at_gate {
    return psql("select count(*) from pg_stat_activity where state = 'active'"
                . " and query like '%from spectra_gate%'"
                . " and pid <> pg_backend_pid()");
}

# Waits until n statements wait at the gate; dies if that never happens.
sub waiting {
    my ($n) = @_;
    return poll(sub { at_gate() == $n }, 200, 0.05);
}

# Waits until acme's job $TEST_NGINX_JOB has that status.
sub reached {
    my ($status) = @_;
    return poll(sub { job_status($K{acme}, $ENV{TEST_NGINX_JOB}) eq $status },
                200, 0.05);
}

# acme's statement that waits at the gate, as a running job
# ($TEST_NGINX_JOB).
sub running {
    my (%body) = @_;
    SpectraQuery::gate_close();
    submit($K{acme}, {sql => $GATED, %body}, until => 'RUNNING');
    waiting(1);
}

# A query that ends in 408 QUERY_TIMEOUT (the gate is closed: it cannot
# finish first); its job is $TEST_NGINX_JOB.  Checks that its statement
# is cancelled: no longer waits at the gate.
sub timed_out {
    my ($body) = @_;
    my ($status, $text) = http('POST', '/v1/queries', json()->encode($body),
                               'X-API-Key' => $K{acme},
                               'Content-Type' => 'application/json');

    die "POST /v1/queries answered $status: $text\n"
        unless $status == 408 && $text =~ /"job_id":"(job_\w{26})"/;

    $ENV{TEST_NGINX_JOB} = $1;

    Test::More::ok(eval { waiting(0) },
                   "$0 - the timed-out statement no longer runs");
}

# Six jobs of acme, one after the other: "select 1 as n" .. "select 5 as n"
# complete (keys l1 .. l5), "select 1 / 0" fails (l6).
sub six_jobs {
    for my $n (1 .. 5) {
        submit($K{acme}, {sql => "select $n as n", idempotency_key => "l$n"},
               until => 'COMPLETED');
    }

    submit($K{acme}, {sql => 'select 1 / 0', idempotency_key => 'l6'},
           until => 'FAILED');
}

# The cursors of acme's list in pages of two: TEST_NGINX_CURSOR1 (after
# the first page), TEST_NGINX_CURSOR2 (after the second).
sub cursors {
    my $uri = '/v1/jobs?limit=2';

    for my $n (1, 2) {
        my ($status, $text, $data) = http('GET', $uri, undef,
                                          'X-API-Key' => $K{acme});
        die "GET $uri answered $status: $text\n"
            unless $status == 200 && defined $data->{next_cursor};

        $ENV{"TEST_NGINX_CURSOR$n"} = $data->{next_cursor};
        $uri = "/v1/jobs?limit=2&cursor=$data->{next_cursor}";
    }
}


add_block_preprocessor(sub {
    my $block = shift;
    my $t = $block->tenant // 'acme';

    # what an earlier block left waiting at the gate ends now
    gate_open();
    waiting(0);

    repeat_each($block->repeat_each // 2);

    $block->set_value('more_headers',
                      "X-API-Key: $K{$t}\nContent-Type: application/json\n")
        unless defined $block->more_headers;
    $block->set_value('no_error_log', "[error]\n")
        unless defined $block->no_error_log;
});

run_tests();

__DATA__

=== TEST 1: a long query outlives wait_timeout_seconds: 202 with the job
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- init
SpectraQuery::gate_close();
--- request
POST /v1/queries
{"sql": "select count(*) from spectra_gate", "wait_timeout_seconds": 1, "idempotency_key": "long"}
--- error_code: 202
--- response_headers_like
Content-Type: application/json; charset=utf-8
--- response_body_like chomp
^\{"job_id":"(job_\w{26})","type":"query","status":"(?:PENDING|RUNNING)","created_at":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z",.*"finished_at":null,"row_count":null,"execution_time_ms":null,"idempotency_key":"long","links":\{"self":"/v1/jobs/\1","results":"/v1/jobs/\1/results"\}\}$



=== TEST 2: the same idempotency key and body again: the same running job
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- init
main::running(wait_timeout_seconds => 1, idempotency_key => 'long');
--- request
POST /v1/queries
{"idempotency_key":"long","sql":"select count(*) from spectra_gate","wait_timeout_seconds":1}
--- error_code: 202
--- response_body_like eval
qr/^\{"job_id":"(??{ $ENV{TEST_NGINX_JOB} })","type":"query","status":"RUNNING",/



=== TEST 3: the same idempotency key with another body is a 409
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- init
main::running(wait_timeout_seconds => 1, idempotency_key => 'long');
--- request
POST /v1/queries
{"idempotency_key":"long","sql":"select count(*) + 1 from spectra_gate","wait_timeout_seconds":1}
--- error_code: 409
--- response_body_like chomp
^\{"error":\{"code":"CONFLICT","message":"idempotency_key was used with a different request","request_id":"[0-9a-f]{32}"\}\}$



=== TEST 4: GET a running job, and its results: 202 while it runs
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- init
main::running();
--- pipelined_requests eval
['GET /v1/jobs/$TEST_NGINX_JOB', 'GET /v1/jobs/$TEST_NGINX_JOB/results']
--- error_code eval
[200, 202]
--- response_body_like eval
[qr/^\{"job_id":"(??{ $ENV{TEST_NGINX_JOB} })","type":"query","status":"RUNNING",.*"finished_at":null,/,
 qr/^\{"job_id":"(??{ $ENV{TEST_NGINX_JOB} })","type":"query","status":"RUNNING",/]



=== TEST 5: another tenant's job is 404 on GET, results and DELETE; it still runs
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- init
main::running();
--- pipelined_requests eval
['GET /v1/jobs/$TEST_NGINX_JOB', 'GET /v1/jobs/$TEST_NGINX_JOB/results',
 'DELETE /v1/jobs/$TEST_NGINX_JOB', 'GET /v1/jobs/$TEST_NGINX_JOB']
--- more_headers eval
[("X-API-Key: $::K{globex}") x 3, "X-API-Key: $::K{acme}"]
--- error_code eval
[404, 404, 404, 200]
--- response_body_like eval
[(qr/^\{"error":\{"code":"NOT_FOUND","message":"no such job","request_id":"[0-9a-f]{32}"\}\}\n\z/) x 3,
 qr/^\{"job_id":"(??{ $ENV{TEST_NGINX_JOB} })","type":"query","status":"RUNNING",/]



=== TEST 6: a job id that does not exist is the very same 404
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- request eval
["GET /v1/jobs/job_00000000000000000000000000",
 "GET /v1/jobs/job_00000000000000000000000000/results",
 "DELETE /v1/jobs/job_00000000000000000000000000"]
--- error_code eval
[404, 404, 404]
--- response_body_like eval
[(qr/^\{"error":\{"code":"NOT_FOUND","message":"no such job","request_id":"[0-9a-f]{32}"\}\}\n\z/) x 3]



=== TEST 7: malformed job ids are 404 too
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- request eval
["GET /v1/jobs/job_0000000000000000000000000",
 "GET /v1/jobs/JOB_00000000000000000000000000",
 "GET /v1/jobs/job_0000000000000000000000000u",
 "DELETE /v1/jobs/job_00000000000000000000000000x",
 "GET /v1/jobs/job_00000000000000000000000000'%20or%20'1'='1/results"]
--- error_code eval
[404, 404, 404, 404, 404]
--- response_body_like eval
[(qr/^\{"error":\{"code":"NOT_FOUND","message":"no such job","request_id":"[0-9a-f]{32}"\}\}\n\z/) x 5]



=== TEST 8: the owner's DELETE cancels the running job
--- repeat_each: 1
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- init
main::running();
--- pipelined_requests eval
['DELETE /v1/jobs/$TEST_NGINX_JOB']
--- response_body_like eval
[qr/^\{"job_id":"(??{ $ENV{TEST_NGINX_JOB} })","type":"query","status":"CANCELLED",.*"finished_at":"\d{4}-[^"]+",.*"error":\{"code":"CANCELLED","message":"cancelled by the client"\}/]



=== TEST 9: a cancelled job stays CANCELLED; a second DELETE is 409
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- init
main::running();
SpectraQuery::http('DELETE', "/v1/jobs/$ENV{TEST_NGINX_JOB}", undef,
                   'X-API-Key' => $::K{acme});
main::reached('CANCELLED');
--- pipelined_requests eval
['GET /v1/jobs/$TEST_NGINX_JOB', 'DELETE /v1/jobs/$TEST_NGINX_JOB',
 'GET /v1/jobs/$TEST_NGINX_JOB/results']
--- error_code eval
[200, 409, 409]
--- response_body_like eval
[qr/^\{"job_id":"(??{ $ENV{TEST_NGINX_JOB} })","type":"query","status":"CANCELLED",/,
 qr/^\{"error":\{"code":"CONFLICT","message":"the job is CANCELLED and cannot be cancelled","request_id":"[0-9a-f]{32}"\}\}\n\z/,
 qr/^\{"error":\{"code":"CONFLICT","message":"the query was cancelled",/]



=== TEST 10: a cancelled statement no longer runs in the warehouse
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- init
main::running();
SpectraQuery::http('DELETE', "/v1/jobs/$ENV{TEST_NGINX_JOB}", undef,
                   'X-API-Key' => $::K{acme});
Test::More::ok(eval { main::waiting(0) },
               "$0 - the cancelled statement no longer waits at the gate");
--- request
GET /v1/jobs?status=RUNNING
--- response_body
{"jobs":[],"next_cursor":null}



=== TEST 11: wait_timeout_seconds 0 answers 202 at once
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- init
SpectraQuery::gate_close();
--- timeout: 3
--- request
POST /v1/queries
{"sql": "select count(*) from spectra_gate", "wait_timeout_seconds": 0}
--- error_code: 202
--- response_body_like chomp
^\{"job_id":"job_\w{26}","type":"query","status":"(?:PENDING|RUNNING)",



=== TEST 12: once a job has finished, its rows come from /v1/jobs/{id}/results
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- init
SpectraQuery::gate_close();
SpectraQuery::submit($::K{acme}, {sql => $::GATED_SALES}, until => 'RUNNING');
main::waiting(1);
SpectraQuery::gate_open();
main::reached('COMPLETED');
--- pipelined_requests eval
['GET /v1/jobs/$TEST_NGINX_JOB/results']
--- response_body_like eval
[qr/^\{"job_id":"(??{ $ENV{TEST_NGINX_JOB} })","status":"COMPLETED","data":\[\{"count":600000\}\],"metadata":\{"columns":\[\{"name":"count","type":"bigint"\}\],"row_count":1,"truncated":false,"execution_time_ms":\d+,"message":null\}\}\n\z/]



=== TEST 13: a finished job says COMPLETED with its row count
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- init
SpectraQuery::submit($::K{acme}, {sql => 'select count(*) from sales'},
                     until => 'COMPLETED');
--- pipelined_requests eval
['GET /v1/jobs/$TEST_NGINX_JOB']
--- response_body_like eval
[qr/^\{"job_id":"(??{ $ENV{TEST_NGINX_JOB} })","type":"query","status":"COMPLETED",.*"finished_at":"\d{4}-[^"]+","row_count":1,/]



=== TEST 14: replaying a finished job's key returns its rows again
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- init
SpectraQuery::submit($::K{acme}, {sql => 'select count(*) from sales',
                                  idempotency_key => 'medium'},
                     until => 'COMPLETED');
--- request
POST /v1/queries
{"idempotency_key":"medium","sql":"select count(*) from sales","wait_timeout_seconds":0}
--- response_body_like eval
qr/^\{"job_id":"(??{ $ENV{TEST_NGINX_JOB} })","status":"COMPLETED","data":\[\{"count":600000\}\]/



=== TEST 15: another tenant cannot read a finished job's results
--- tenant: globex
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- init
SpectraQuery::submit($::K{acme}, {sql => 'select count(*) from sales'},
                     until => 'COMPLETED');
--- pipelined_requests eval
['GET /v1/jobs/$TEST_NGINX_JOB/results']
--- error_code eval
[404]
--- response_body_like eval
[qr/^\{"error":\{"code":"NOT_FOUND","message":"no such job","request_id":"[0-9a-f]{32}"\}\}\n\z/]



=== TEST 16: a finished job cannot be cancelled: 409
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- init
SpectraQuery::submit($::K{acme}, {sql => 'select count(*) from sales'},
                     until => 'COMPLETED');
--- pipelined_requests eval
['DELETE /v1/jobs/$TEST_NGINX_JOB']
--- error_code eval
[409]
--- response_body_like eval
[qr/^\{"error":\{"code":"CONFLICT","message":"the job is COMPLETED and cannot be cancelled","request_id":"[0-9a-f]{32}"\}\}\n\z/]



=== TEST 17: an idempotency key is per tenant: globex's same key is its own job
--- tenant: globex
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- init
main::running(idempotency_key => 'medium');
--- request
POST /v1/queries
{"idempotency_key":"medium","sql":"select count(*) from spectra_gate","wait_timeout_seconds":0}
--- error_code: 202
--- response_body_like eval
qr/^\{"job_id":"(?!(??{ $ENV{TEST_NGINX_JOB} }))job_\w{26}","type":"query","status":"(?:PENDING|RUNNING)",.*"idempotency_key":"medium",/



=== TEST 18: globex's job with acme's key counts globex's rows only
--- tenant: globex
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- init
SpectraQuery::submit($::K{acme}, {sql => 'select count(*) from sales',
                                  idempotency_key => 'medium'},
                     env => 'TEST_NGINX_ACME_JOB', until => 'COMPLETED');
SpectraQuery::submit($::K{globex}, {sql => 'select count(*) from sales',
                                    idempotency_key => 'medium'},
                     until => 'COMPLETED');
--- pipelined_requests eval
['GET /v1/jobs/$TEST_NGINX_JOB/results',
 'GET /v1/jobs/$TEST_NGINX_ACME_JOB/results']
--- more_headers eval
["X-API-Key: $::K{globex}", "X-API-Key: $::K{acme}"]
--- error_code eval
[200, 200]
--- response_body_like eval
[qr/^\{"job_id":"(??{ $ENV{TEST_NGINX_JOB} })","status":"COMPLETED","data":\[\{"count":300000\}\]/,
 qr/^\{"job_id":"(??{ $ENV{TEST_NGINX_ACME_JOB} })","status":"COMPLETED","data":\[\{"count":600000\}\]/]



=== TEST 19: a truncated query answers its row limit in its format
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- request
POST /v1/queries
{"sql": "select n from generate_series(1, 5) n", "row_limit": 3, "result_format": "arrays"}
--- response_body_like chomp
"data":\[\[1\],\[2\],\[3\]\],.*"row_count":3,"truncated":true,



=== TEST 20: a truncated query's results later: the same three rows, truncated, as arrays
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- init
SpectraQuery::submit($::K{acme},
                     {sql => 'select n from generate_series(1, 5) n',
                      row_limit => 3, result_format => 'arrays',
                      wait_timeout_seconds => 10},
                     until => 'COMPLETED');
--- pipelined_requests eval
['GET /v1/jobs/$TEST_NGINX_JOB/results', 'GET /v1/jobs/$TEST_NGINX_JOB']
--- error_code eval
[200, 200]
--- response_body_like eval
[qr/^\{"job_id":"(??{ $ENV{TEST_NGINX_JOB} })","status":"COMPLETED","data":\[\[1\],\[2\],\[3\]\],"metadata":\{"columns":\[\{"name":"n","type":"integer"\}\],"row_count":3,"truncated":true,"execution_time_ms":\d+,"message":"the result has more than 3 rows; the first 3 are returned: page through all of them with GET \/v1\/jobs\/(??{ $ENV{TEST_NGINX_JOB} })\/results\?page_size=N, or export them with POST \/v1\/bulk"\}\}\n\z/,
 qr/^\{"job_id":"(??{ $ENV{TEST_NGINX_JOB} })","type":"query","status":"COMPLETED",.*"row_count":3,/]



=== TEST 21: on_wait_timeout cancel: 408 QUERY_TIMEOUT
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- init
SpectraQuery::gate_close();
--- request
POST /v1/queries
{"sql": "select count(*) from spectra_gate", "wait_timeout_seconds": 1, "on_wait_timeout": "cancel"}
--- error_code: 408
--- response_body_like chomp
^\{"error":\{"code":"QUERY_TIMEOUT","message":"the query timed out and was cancelled","request_id":"[0-9a-f]{32}","job_id":"job_\w{26}"\}\}$



=== TEST 22: a job cancelled on wait timeout has status TIMEOUT; its statement is gone
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- init
SpectraQuery::gate_close();
main::timed_out({sql => $::GATED, wait_timeout_seconds => 1,
                 on_wait_timeout => 'cancel'});
--- pipelined_requests eval
['GET /v1/jobs/$TEST_NGINX_JOB']
--- response_body_like eval
[qr/^\{"job_id":"(??{ $ENV{TEST_NGINX_JOB} })","type":"query","status":"TIMEOUT",.*"error":\{"code":"QUERY_TIMEOUT","message":"the query timed out and was cancelled"\}/]



=== TEST 23: timeout_seconds 1 cancels the statement: 408 QUERY_TIMEOUT
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- init
SpectraQuery::gate_close();
--- request
POST /v1/queries
{"sql": "select count(*) from spectra_gate", "timeout_seconds": 1}
--- error_code: 408
--- response_body_like chomp
^\{"error":\{"code":"QUERY_TIMEOUT","message":"the query timed out and was cancelled","request_id":"[0-9a-f]{32}","job_id":"job_\w{26}"\}\}$



=== TEST 24: a timed-out job has status TIMEOUT; its statement is gone
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- init
SpectraQuery::gate_close();
main::timed_out({sql => $::GATED, timeout_seconds => 1});
--- pipelined_requests eval
['GET /v1/jobs/$TEST_NGINX_JOB']
--- response_body_like eval
[qr/^\{"job_id":"(??{ $ENV{TEST_NGINX_JOB} })","type":"query","status":"TIMEOUT",.*"finished_at":"\d{4}-[^"]+",.*"error":\{"code":"QUERY_TIMEOUT","message":"the query timed out and was cancelled"\}/]



=== TEST 25: five queries complete, one fails
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- request eval
[(map { "POST /v1/queries\n{\"sql\": \"select $_ as n\"}" } 1 .. 5),
 "POST /v1/queries\n{\"sql\": \"select 1 / 0\"}"]
--- error_code eval
[200, 200, 200, 200, 200, 422]
--- response_body_like eval
[(map { qr/"data":\[\{"n":$_\}\]/ } 1 .. 5), qr/"sqlstate":"22012"/]



=== TEST 26: the jobs are listed newest first
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- init
main::six_jobs();
--- request
GET /v1/jobs
--- response_body_like chomp
^\{"jobs":\[\{"job_id":"job_\w{26}","type":"query","status":"FAILED",[^{}]*"row_count":null,"execution_time_ms":\d+,"idempotency_key":"l6","error":\{"code":"QUERY_FAILED","message":"ERROR: division by zero \(SQLSTATE 22012\)","sqlstate":"22012"\},"links":\{[^{}]+\}\},\{[^{}]*"status":"COMPLETED",[^{}]*"row_count":1,"execution_time_ms":\d+,"idempotency_key":"l5",[^{}]*\{[^{}]+\}\},\{[^{}]*"idempotency_key":"l4",[^{}]*\{[^{}]+\}\},\{[^{}]*"idempotency_key":"l3",[^{}]*\{[^{}]+\}\},\{[^{}]*"idempotency_key":"l2",[^{}]*\{[^{}]+\}\},\{[^{}]*"idempotency_key":"l1",[^{}]*\{[^{}]+\}\}\],"next_cursor":null\}$



=== TEST 27: the status filter: FAILED, and COMPLETED,FAILED
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- init
main::six_jobs();
--- request eval
["GET /v1/jobs?status=FAILED", "GET /v1/jobs?status=COMPLETED,FAILED&limit=100",
 "GET /v1/jobs?status=RUNNING,PENDING,CANCELLED,TIMEOUT"]
--- error_code eval
[200, 200, 200]
--- response_body_like eval
[qr/^\{"jobs":\[\{[^{}]*"status":"FAILED",[^{}]*"idempotency_key":"l6",[^{}]*\{[^{}]*\},[^{}]*\{[^{}]*\}\}\],"next_cursor":null\}\n\z/,
 qr/^\{"jobs":\[\{[^{}]*"status":"FAILED",(?:(?!"status":).)*(?:"status":"COMPLETED",(?:(?!"status":).)*){5}\],"next_cursor":null\}\n\z/s,
 qr/^\{"jobs":\[\],"next_cursor":null\}\n\z/]



=== TEST 28: the type filter: query lists all six, bulk none
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- init
main::six_jobs();
--- request eval
["GET /v1/jobs?type=query", "GET /v1/jobs?type=bulk"]
--- error_code eval
[200, 200]
--- response_body_like eval
[qr/^\{"jobs":\[(?:,?\{"job_id":"job_\w{26}","type":"query",(?:(?!"job_id").)*){6}\],"next_cursor":null\}\n\z/s,
 qr/^\{"jobs":\[\],"next_cursor":null\}\n\z/]



=== TEST 29: cursor pagination: three pages of two, in order, then null
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- init
main::six_jobs();
main::cursors();
--- pipelined_requests eval
['GET /v1/jobs?limit=2', 'GET /v1/jobs?limit=2&cursor=$TEST_NGINX_CURSOR1',
 'GET /v1/jobs?limit=2&cursor=$TEST_NGINX_CURSOR2']
--- error_code eval
[200, 200, 200]
--- response_body_like eval
[qr/^\{"jobs":\[\{[^{}]*"idempotency_key":"l6".*\},\{[^{}]*"idempotency_key":"l5",[^{}]*\{[^{}]*\}\}\],"next_cursor":"(?=[0-9a-f]{16}[0-9a-z]{26}")(??{ $ENV{TEST_NGINX_CURSOR1} })"\}\n\z/,
 qr/^\{"jobs":\[\{[^{}]*"idempotency_key":"l4",[^{}]*\{[^{}]*\}\},\{[^{}]*"idempotency_key":"l3",[^{}]*\{[^{}]*\}\}\],"next_cursor":"(?=[0-9a-f]{16}[0-9a-z]{26}")(??{ $ENV{TEST_NGINX_CURSOR2} })"\}\n\z/,
 qr/^\{"jobs":\[\{[^{}]*"idempotency_key":"l2",[^{}]*\{[^{}]*\}\},\{[^{}]*"idempotency_key":"l1",[^{}]*\{[^{}]*\}\}\],"next_cursor":null\}\n\z/]



=== TEST 30: bad filter values are 400
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- request eval
["GET /v1/jobs?status=DONE", "GET /v1/jobs?status=RUNNING,,FAILED",
 "GET /v1/jobs?type=export", "GET /v1/jobs?limit=0",
 "GET /v1/jobs?limit=101", "GET /v1/jobs?limit=ten",
 "GET /v1/jobs?cursor=zz", "GET /v1/jobs?cursor=ffffffffffffffff'%20or%201=1--aaaaaaaaaa"]
--- error_code eval
[(400) x 8]
--- response_body_like eval
[qr/"code":"INVALID_REQUEST","message":"status must be a list of PENDING, RUNNING, COMPLETED, FAILED, CANCELLED, TIMEOUT"/,
 qr/"code":"INVALID_REQUEST","message":"status must be a list of /,
 qr/"code":"INVALID_REQUEST","message":"type must be query, bulk or import"/,
 qr/"code":"INVALID_REQUEST","message":"limit must be an integer from 1 to 100"/,
 qr/"code":"INVALID_REQUEST","message":"limit must be an integer from 1 to 100"/,
 qr/"code":"INVALID_REQUEST","message":"limit must be an integer from 1 to 100"/,
 qr/"code":"INVALID_REQUEST","message":"invalid cursor"/,
 qr/"code":"INVALID_REQUEST","message":"invalid cursor"/]



=== TEST 31: another tenant's list does not show acme's jobs
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- init
main::six_jobs();
--- request eval
["GET /v1/jobs?limit=100", "GET /v1/jobs?limit=100"]
--- more_headers eval
["X-API-Key: $::K{acme}", "X-API-Key: $::K{globex}"]
--- error_code eval
[200, 200]
--- response_body_like eval
[qr/^\{"jobs":\[(?:,?\{"job_id":"job_\w{26}",(?:(?!"job_id").)*"idempotency_key":"l\d",(?:(?!"job_id").)*){6}\],"next_cursor":null\}\n\z/s,
 qr/^\{"jobs":\[\],"next_cursor":null\}\n\z/]



=== TEST 32: $spectra_job_id is in the access log for queries and lookups
--- http_config eval
$::HttpConfig . <<'_EOC_';

    log_format qtest_jobs '$request_method $uri [$spectra_job_id] $status';
_EOC_
--- config
    location /v1/ {
        spectra_api;
        access_log logs/jobs.log qtest_jobs;
    }

    location = /t/access {
        access_log off;
        alias $TEST_NGINX_SERVER_ROOT/logs/jobs.log;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- init
SpectraQuery::submit($::K{acme}, {sql => 'select 7 as n',
                                  wait_timeout_seconds => 10});
--- pipelined_requests eval
['GET /v1/jobs/$TEST_NGINX_JOB', 'GET /v1/queries', 'GET /t/access']
--- error_code eval
[200, 405, 200]
--- response_body_like eval
[qr/"status":"COMPLETED"/, qr/METHOD_NOT_ALLOWED/,
 qr/^POST \/v1\/queries \[(??{ $ENV{TEST_NGINX_JOB} })\] 200\n(?:GET \/v1\/jobs\/(??{ $ENV{TEST_NGINX_JOB} }) \[(??{ $ENV{TEST_NGINX_JOB} })\] 200\nGET \/v1\/queries \[-\] 405\n)+\z/]
