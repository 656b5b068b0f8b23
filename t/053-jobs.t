# Jobs: a query that outlives wait_timeout_seconds answers 202 and goes on;
# its results come later from /v1/jobs/{id}/results; DELETE cancels;
# timeouts cancel with 408; GET /v1/jobs lists newest first with filters
# and cursors, across nginx restarts (the runner restarts nginx for every
# block; the job store is one file); another tenant's job is a 404 on
# every endpoint; idempotency keys replay or conflict; $spectra_job_id
# reaches the access log.
#
# A block's job ids are only known once its nginx runs: lazy requests and
# patterns (SpectraQuery::lazy) look them up by idempotency key in the
# tenant's job list when the runner uses them.  Waiting for a job is a
# bounded poll of GET /v1/jobs/{id}, never a fixed sleep.
use FindBin ();
use lib "$FindBin::Bin/data/query/lib", "$FindBin::Bin/data/auth/lib";
use Test::Nginx::Socket 'no_plan';
use SpectraAuth qw(ensure_keys);
use SpectraQuery qw(api_key key_file http_config server_config http json
                    lazy poll run_id);

our (%K, %JOB, %BODY, $RUN);

my $run = $RUN = run_id();
my @lines;

# acme and globex, and a tenant of this run only (its job list is exactly
# what this file creates) that runs as initech's database user.
for my $k (['acme', 'tenant=acme permissions=query'],
           ['globex', 'tenant=globex permissions=query'],
           ['list', "tenant=l$run db_user=tenant_initech permissions=query"])
{
    my $line;
    ($K{$k->[0]}, $line) = api_key("q053$k->[0]", $k->[1]);
    push @lines, $line;
}

$ENV{TEST_NGINX_QT_KEYS} = key_file(@lines);
$ENV{TEST_NGINX_AUTH_KEYS} = ensure_keys("$FindBin::Bin/data/auth/keys");

# A cross join that runs for tens of seconds (pg_sleep is denied), and
# one that takes about a second.
my $long = 'select count(*) from sales a, sales b '
           . 'where a.id < 30000 and b.id < 30000';
my $medium = 'select count(*) from sales a, sales b '
             . 'where a.id < 6000 and b.id < 6000';

sub body {
    return json()->encode({@_});
}

%BODY = (
    long => body(sql => $long, wait_timeout_seconds => 1,
                 idempotency_key => "long-$run"),
    medium => body(sql => $medium, wait_timeout_seconds => 0,
                   idempotency_key => "medium-$run"),
    cancel => body(sql => $long, wait_timeout_seconds => 1,
                   on_wait_timeout => 'cancel',
                   idempotency_key => "cancel-$run"),
    timeout => body(sql => $long, timeout_seconds => 1,
                    idempotency_key => "timeout-$run"),
);

sub headers {
    my ($who) = @_;
    return ('X-API-Key' => $K{$who // 'acme'});
}

# The id of the tenant's job with that idempotency key (from the list).
sub job_id {
    my ($key, $who) = @_;
    my ($cursor, $status, $data, $ck);

    $ck = ($who // 'acme') . "/$key";

    return $JOB{$ck} if defined $JOB{$ck};

    for (1 .. 50) {
        ($status, undef, $data) = http('GET', '/v1/jobs?limit=100'
                                       . ($cursor ? "&cursor=$cursor" : ''),
                                       undef, headers($who));
        die "GET /v1/jobs answered $status\n" if $status != 200;

        for my $j (@{ $data->{jobs} }) {
            if (($j->{idempotency_key} // '') eq $key) {
                return $JOB{$ck} = $j->{job_id};
            }
        }

        $cursor = $data->{next_cursor} or last;
    }

    die "no job with idempotency key $key\n";
}

# Polls GET /v1/jobs/{id} (which refreshes a running job from the Data
# API) until the job has finished; returns its status.
sub finished {
    my ($id, $who) = @_;

    return poll(sub {
        my ($status, undef, $data) = http('GET', "/v1/jobs/$id", undef,
                                          headers($who));
        die "GET /v1/jobs/$id answered $status\n" if $status != 200;
        return $data->{status} =~ /^(?:PENDING|RUNNING)$/
               ? undef : $data->{status};
    }, 600, 0.1);
}

# Polls PostgreSQL until no backend runs the long cross join any more.
sub warehouse_idle {
    my $n = poll(sub {
        my $n = `psql -X -At -h 127.0.0.1 -p $ENV{TEST_NGINX_PG_PORT} -U postgres -d warehouse -c "select count(*) from pg_stat_activity where state = 'active' and query like '%a.id < 30000%' and pid <> pg_backend_pid()"`;
        chomp $n;
        return $n eq '0' ? 'idle' : undef;
    }, 100, 0.1);

    return $n;
}

# Runs a query (the runner builds every request of a block before it
# sends the first, so this one is sent from here) and returns its job id.
sub logged_job {
    return $JOB{logged} //= do {
        my ($status, $body, $data) = http('POST', '/v1/queries',
            '{"sql": "select 7 as n"}', headers(),
            'Content-Type' => 'application/json');
        die "POST /v1/queries answered $status\n" if $status != 200;
        $data->{job_id};
    };
}

# The request for page n (0, 1, 2) of the list tenant's jobs, two a page:
# follows the cursors of the pages before it.
sub page {
    my ($n) = @_;
    my $uri = '/v1/jobs?limit=2';

    for (1 .. $n) {
        my ($status, undef, $data) = http('GET', $uri, undef, headers('list'));
        die "GET $uri answered $status\n" if $status != 200;
        $uri = "/v1/jobs?limit=2&cursor=$data->{next_cursor}";
    }

    return "GET $uri";
}

add_block_preprocessor(sub {
    my $block = shift;
    my $who = $block->tenant // 'acme';

    $block->set_value('http_config', http_config()
                                     . ($block->http_extra // ''));
    $block->set_value('config', server_config(extra => $block->extra // '',
                                              api => $block->api // ''))
        unless defined $block->config;
    $block->set_value('more_headers',
                      "X-API-Key: $K{$who}\nContent-Type: application/json\n")
        unless defined $block->more_headers;
    $block->set_value('no_error_log', "[error]\n")
        unless defined $block->no_error_log;
});

no_shuffle();
run_tests();

__DATA__

=== TEST 1: a long query outlives wait_timeout_seconds: 202 with the job
--- request eval
"POST /v1/queries\n$::BODY{long}"
--- error_code: 202
--- response_headers_like
Content-Type: application/json; charset=utf-8
--- response_body_like chomp
^\{"job_id":"(job_\w{26})","type":"query","status":"(?:PENDING|RUNNING)","created_at":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z",.*"finished_at":null,"row_count":null,"execution_time_ms":null,"idempotency_key":"long-\w+","links":\{"self":"/v1/jobs/\1","results":"/v1/jobs/\1/results"\}\}$



=== TEST 2: the same idempotency key and body (after a restart): same job
--- request eval
"POST /v1/queries\n$::BODY{long}"
--- error_code: 202
--- response_body_like eval
main::lazy { my $id = main::job_id("long-$::RUN"); qr/^\{"job_id":"$id","type":"query","status":"RUNNING",/ }



=== TEST 3: the same idempotency key with another body is a 409
--- request eval
my $b = $::BODY{long}; $b =~ s/30000/29999/g; "POST /v1/queries\n$b"
--- error_code: 409
--- response_body_like chomp
^\{"error":\{"code":"CONFLICT","message":"idempotency_key was used with a different request","request_id":"[0-9a-f]{32}"\}\}$



=== TEST 4: GET a running job, and its results: 202 while it runs
--- request eval
[main::lazy { "GET /v1/jobs/" . main::job_id("long-$::RUN") },
 main::lazy { "GET /v1/jobs/" . main::job_id("long-$::RUN") . "/results" }]
--- error_code eval
[200, 202]
--- response_body_like eval
[main::lazy { my $id = main::job_id("long-$::RUN"); qr/^\{"job_id":"$id","type":"query","status":"RUNNING",.*"finished_at":null,/ },
 main::lazy { my $id = main::job_id("long-$::RUN"); qr/^\{"job_id":"$id","type":"query","status":"RUNNING",/ }]



=== TEST 5: another tenant's job is 404 on GET, results and DELETE
--- request eval
[map { my $p = $_; main::lazy { $p->[0] . " /v1/jobs/" . main::job_id("long-$::RUN") . $p->[1] } }
 (['GET', ''], ['GET', '/results'], ['DELETE', ''])]
--- more_headers eval
[("X-API-Key: $::K{globex}") x 3]
--- error_code eval
[404, 404, 404]
--- response_body_like eval
[(qr/^\{"error":\{"code":"NOT_FOUND","message":"no such job","request_id":"[0-9a-f]{32}"\}\}\n\z/) x 3]



=== TEST 6: a job id that does not exist is the very same 404
--- request eval
["GET /v1/jobs/job_00000000000000000000000000",
 "GET /v1/jobs/job_00000000000000000000000000/results",
 "DELETE /v1/jobs/job_00000000000000000000000000"]
--- error_code eval
[404, 404, 404]
--- response_body_like eval
[(qr/^\{"error":\{"code":"NOT_FOUND","message":"no such job","request_id":"[0-9a-f]{32}"\}\}\n\z/) x 3]



=== TEST 7: malformed job ids are 404 too
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
--- request eval
[main::lazy { "DELETE /v1/jobs/" . main::job_id("long-$::RUN") }]
--- response_body_like eval
main::lazy { my $id = main::job_id("long-$::RUN"); qr/^\{"job_id":"$id","type":"query","status":"CANCELLED",.*"finished_at":"\d{4}-[^"]+",.*"error":\{"code":"CANCELLED","message":"cancelled by the client"\}/ }



=== TEST 9: the cancelled job stays CANCELLED; a second DELETE is 409
--- request eval
[main::lazy { "GET /v1/jobs/" . main::job_id("long-$::RUN") },
 main::lazy { "DELETE /v1/jobs/" . main::job_id("long-$::RUN") },
 main::lazy { "GET /v1/jobs/" . main::job_id("long-$::RUN") . "/results" }]
--- error_code eval
[200, 409, 409]
--- response_body_like eval
[qr/"status":"CANCELLED"/,
 qr/^\{"error":\{"code":"CONFLICT","message":"the job is CANCELLED and cannot be cancelled","request_id":"[0-9a-f]{32}"\}\}\n\z/,
 qr/^\{"error":\{"code":"CONFLICT","message":"the query was cancelled",/]



=== TEST 10: the cancelled statement no longer runs in the warehouse
--- request eval
[main::lazy { main::warehouse_idle(); "GET /v1/jobs?status=RUNNING" }]
--- response_body_like eval
main::lazy { my $id = main::job_id("long-$::RUN"); qr/^(?!.*$id)/s }



=== TEST 11: a medium query with wait_timeout_seconds 0 is accepted
--- request eval
"POST /v1/queries\n$::BODY{medium}"
--- error_code: 202
--- response_body_like chomp
^\{"job_id":"job_\w{26}","type":"query","status":"(?:PENDING|RUNNING)",



=== TEST 12: once finished, its rows come from /v1/jobs/{id}/results
--- request eval
[main::lazy { my $id = main::job_id("medium-$::RUN"); main::finished($id); "GET /v1/jobs/$id/results" }]
--- response_body_like eval
main::lazy { my $id = main::job_id("medium-$::RUN"); qr/^\{"job_id":"$id","status":"COMPLETED","data":\[\{"count":12952801\}\],"metadata":\{"columns":\[\{"name":"count","type":"bigint"\}\],"row_count":1,"truncated":false,"execution_time_ms":\d+,"message":null\}\}\n\z/ }



=== TEST 13: the finished job says COMPLETED with its row count
--- request eval
[main::lazy { "GET /v1/jobs/" . main::job_id("medium-$::RUN") }]
--- response_body_like eval
main::lazy { my $id = main::job_id("medium-$::RUN"); qr/^\{"job_id":"$id","type":"query","status":"COMPLETED",.*"finished_at":"\d{4}-[^"]+","row_count":1,/ }



=== TEST 14: replaying a finished job's key returns its rows again
--- request eval
"POST /v1/queries\n$::BODY{medium}"
--- response_body_like eval
main::lazy { my $id = main::job_id("medium-$::RUN"); qr/^\{"job_id":"$id","status":"COMPLETED","data":\[\{"count":12952801\}\]/ }



=== TEST 15: another tenant cannot read the finished job's results
--- more_headers eval
"X-API-Key: $::K{globex}"
--- request eval
[main::lazy { "GET /v1/jobs/" . main::job_id("medium-$::RUN") . "/results" }]
--- error_code: 404
--- response_body_like chomp
^\{"error":\{"code":"NOT_FOUND","message":"no such job","request_id":"[0-9a-f]{32}"\}\}$



=== TEST 16: a finished job cannot be cancelled: 409
--- request eval
[main::lazy { "DELETE /v1/jobs/" . main::job_id("medium-$::RUN") }]
--- error_code: 409
--- response_body_like chomp
^\{"error":\{"code":"CONFLICT","message":"the job is COMPLETED and cannot be cancelled","request_id":"[0-9a-f]{32}"\}\}$



=== TEST 17: an idempotency key is per tenant: globex's same key is its own job
--- tenant: globex
--- request eval
"POST /v1/queries\n$::BODY{medium}"
--- error_code: 202
--- response_body_like eval
main::lazy { my $id = main::job_id("medium-$::RUN"); qr/^\{"job_id":"(?!$id)job_\w{26}","type":"query","status":"(?:PENDING|RUNNING)",/ }



=== TEST 18: globex's job with that key counts globex's rows only
--- tenant: globex
--- request eval
[main::lazy { my $id = main::job_id("medium-$::RUN", "globex"); main::finished($id, "globex"); "GET /v1/jobs/$id/results" }]
--- response_body_like eval
main::lazy { my $id = main::job_id("medium-$::RUN", "globex"); qr/^\{"job_id":"$id","status":"COMPLETED","data":\[\{"count":3240000\}\]/ }



=== TEST 19: a truncated query's results keep its row limit and format
--- request eval
["POST /v1/queries\n{\"sql\": \"select n from generate_series(1, 5) n\", \"row_limit\": 3, \"result_format\": \"arrays\", \"idempotency_key\": \"trunc-$::RUN\"}"]
--- response_body_like chomp
"data":\[\[1\],\[2\],\[3\]\],.*"row_count":3,"truncated":true,



=== TEST 20: its results later: the same three rows, truncated, as arrays
--- request eval
[main::lazy { "GET /v1/jobs/" . main::job_id("trunc-$::RUN") . "/results" },
 main::lazy { "GET /v1/jobs/" . main::job_id("trunc-$::RUN") }]
--- error_code eval
[200, 200]
--- response_body_like eval
[main::lazy { my $id = main::job_id("trunc-$::RUN"); qr/^\{"job_id":"$id","status":"COMPLETED","data":\[\[1\],\[2\],\[3\]\],"metadata":\{"columns":\[\{"name":"n","type":"integer"\}\],"row_count":3,"truncated":true,"execution_time_ms":\d+,"message":"the result has more than 3 rows; the first 3 are returned: page through all of them with GET \/v1\/jobs\/$id\/results\?page_size=N, or export them with POST \/v1\/bulk"\}\}\n\z/ },
 qr/"status":"COMPLETED",.*"row_count":3,/]



=== TEST 21: on_wait_timeout cancel: 408 QUERY_TIMEOUT, statement cancelled
--- request eval
"POST /v1/queries\n$::BODY{cancel}"
--- error_code: 408
--- response_body_like chomp
^\{"error":\{"code":"QUERY_TIMEOUT","message":"the query timed out and was cancelled","request_id":"[0-9a-f]{32}","job_id":"job_\w{26}"\}\}$



=== TEST 22: the job cancelled on wait timeout has status TIMEOUT
--- request eval
[main::lazy { main::warehouse_idle(); "GET /v1/jobs/" . main::job_id("cancel-$::RUN") }]
--- response_body_like eval
main::lazy { my $id = main::job_id("cancel-$::RUN"); qr/^\{"job_id":"$id","type":"query","status":"TIMEOUT",.*"error":\{"code":"QUERY_TIMEOUT","message":"the query timed out and was cancelled"\}/ }



=== TEST 23: timeout_seconds 1 cancels the statement: 408 QUERY_TIMEOUT
--- request eval
"POST /v1/queries\n$::BODY{timeout}"
--- error_code: 408
--- response_body_like chomp
^\{"error":\{"code":"QUERY_TIMEOUT","message":"the query timed out and was cancelled","request_id":"[0-9a-f]{32}","job_id":"job_\w{26}"\}\}$



=== TEST 24: the timed-out job has status TIMEOUT; the warehouse is idle
--- request eval
[main::lazy { main::warehouse_idle(); "GET /v1/jobs/" . main::job_id("timeout-$::RUN") }]
--- response_body_like eval
main::lazy { my $id = main::job_id("timeout-$::RUN"); qr/^\{"job_id":"$id","type":"query","status":"TIMEOUT",.*"finished_at":"\d{4}-[^"]+",/ }



=== TEST 25: six jobs of the list tenant: five complete, one fails
--- tenant: list
--- request eval
[(map { "POST /v1/queries\n{\"sql\": \"select $_ as n\", \"idempotency_key\": \"l$_\"}" } 1 .. 5),
 "POST /v1/queries\n{\"sql\": \"select 1 / 0\", \"idempotency_key\": \"l6\"}"]
--- error_code eval
[200, 200, 200, 200, 200, 422]
--- response_body_like eval
[(map { qr/"data":\[\{"n":$_\}\]/ } 1 .. 5), qr/"sqlstate":"22012"/]



=== TEST 26: after an nginx restart the jobs are listed, newest first
--- tenant: list
--- request
GET /v1/jobs
--- response_body_like chomp
^\{"jobs":\[\{"job_id":"job_\w{26}","type":"query","status":"FAILED",[^{}]*"row_count":null,"execution_time_ms":\d+,"idempotency_key":"l6","error":\{"code":"QUERY_FAILED","message":"ERROR: division by zero \(SQLSTATE 22012\)","sqlstate":"22012"\},"links":\{[^{}]+\}\},\{[^{}]*"status":"COMPLETED",[^{}]*"row_count":1,"execution_time_ms":\d+,"idempotency_key":"l5",[^{}]*\{[^{}]+\}\},\{[^{}]*"idempotency_key":"l4",[^{}]*\{[^{}]+\}\},\{[^{}]*"idempotency_key":"l3",[^{}]*\{[^{}]+\}\},\{[^{}]*"idempotency_key":"l2",[^{}]*\{[^{}]+\}\},\{[^{}]*"idempotency_key":"l1",[^{}]*\{[^{}]+\}\}\],"next_cursor":null\}$



=== TEST 27: the status filter: FAILED, and COMPLETED,FAILED
--- tenant: list
--- request eval
["GET /v1/jobs?status=FAILED", "GET /v1/jobs?status=COMPLETED,FAILED&limit=100",
 "GET /v1/jobs?status=RUNNING,PENDING,CANCELLED,TIMEOUT"]
--- more_headers eval
[("X-API-Key: $::K{list}") x 3]
--- error_code eval
[200, 200, 200]
--- response_body_like eval
[qr/^\{"jobs":\[\{[^{}]*"status":"FAILED",[^{}]*"idempotency_key":"l6",[^{}]*\{[^{}]*\},[^{}]*\{[^{}]*\}\}\],"next_cursor":null\}\n\z/,
 qr/^\{"jobs":\[\{[^{}]*"status":"FAILED",(?:(?!"status":).)*(?:"status":"COMPLETED",(?:(?!"status":).)*){5}\],"next_cursor":null\}\n\z/s,
 qr/^\{"jobs":\[\],"next_cursor":null\}\n\z/]



=== TEST 28: the type filter: query lists all six, bulk none
--- tenant: list
--- request eval
["GET /v1/jobs?type=query", "GET /v1/jobs?type=bulk"]
--- more_headers eval
[("X-API-Key: $::K{list}") x 2]
--- error_code eval
[200, 200]
--- response_body_like eval
[qr/^\{"jobs":\[(?:,?\{"job_id":"job_\w{26}","type":"query",(?:(?!"job_id").)*){6}\],"next_cursor":null\}\n\z/s,
 qr/^\{"jobs":\[\],"next_cursor":null\}\n\z/]



=== TEST 29: cursor pagination: three pages of two, in order, then null
--- tenant: list
--- request eval
[main::lazy { main::page(0) }, main::lazy { main::page(1) },
 main::lazy { main::page(2) }]
--- more_headers eval
[("X-API-Key: $::K{list}") x 3]
--- error_code eval
[200, 200, 200]
--- response_body_like eval
[qr/^\{"jobs":\[\{[^{}]*"idempotency_key":"l6".*\},\{[^{}]*"idempotency_key":"l5",[^{}]*\{[^{}]*\}\}\],"next_cursor":"[0-9a-f]{16}[0-9a-z]{26}"\}\n\z/,
 qr/^\{"jobs":\[\{[^{}]*"idempotency_key":"l4",[^{}]*\{[^{}]*\}\},\{[^{}]*"idempotency_key":"l3",[^{}]*\{[^{}]*\}\}\],"next_cursor":"[0-9a-f]{16}[0-9a-z]{26}"\}\n\z/,
 qr/^\{"jobs":\[\{[^{}]*"idempotency_key":"l2",[^{}]*\{[^{}]*\}\},\{[^{}]*"idempotency_key":"l1",[^{}]*\{[^{}]*\}\}\],"next_cursor":null\}\n\z/]



=== TEST 30: bad filter values are 400
--- tenant: list
--- request eval
["GET /v1/jobs?status=DONE", "GET /v1/jobs?status=RUNNING,,FAILED",
 "GET /v1/jobs?type=export", "GET /v1/jobs?limit=0",
 "GET /v1/jobs?limit=101", "GET /v1/jobs?limit=ten",
 "GET /v1/jobs?cursor=zz", "GET /v1/jobs?cursor=ffffffffffffffff'%20or%201=1--aaaaaaaaaa"]
--- more_headers eval
[("X-API-Key: $::K{list}") x 8]
--- error_code eval
[(400) x 8]
--- response_body_like eval
[qr/"code":"INVALID_REQUEST","message":"status must be a list of PENDING, RUNNING, COMPLETED, FAILED, CANCELLED, TIMEOUT"/,
 qr/"code":"INVALID_REQUEST","message":"status must be a list of /,
 qr/"code":"INVALID_REQUEST","message":"type must be query or bulk"/,
 qr/"code":"INVALID_REQUEST","message":"limit must be an integer from 1 to 100"/,
 qr/"code":"INVALID_REQUEST","message":"limit must be an integer from 1 to 100"/,
 qr/"code":"INVALID_REQUEST","message":"limit must be an integer from 1 to 100"/,
 qr/"code":"INVALID_REQUEST","message":"invalid cursor"/,
 qr/"code":"INVALID_REQUEST","message":"invalid cursor"/]



=== TEST 31: another tenant's list does not show this run's jobs
--- tenant: globex
--- request eval
"GET /v1/jobs?limit=100"
--- response_body_unlike eval
qr/"idempotency_key":"(?:l\d|long-|cancel-|timeout-)/



=== TEST 32: $spectra_job_id is in the access log for queries and lookups
--- http_extra
    log_format qtest_jobs '$request_method $uri [$spectra_job_id] $status';
--- extra
    location = /t/access {
        access_log off;
        alias $TEST_NGINX_SERVER_ROOT/logs/jobs.log;
    }
--- api
        access_log logs/jobs.log qtest_jobs;
--- request eval
[main::lazy { "GET /v1/jobs/" . main::logged_job() },
 "GET /v1/queries", "GET /t/access"]
--- error_code eval
[200, 405, 200]
--- response_body_like eval
[qr/"status":"COMPLETED"/, qr/METHOD_NOT_ALLOWED/,
 main::lazy { my $id = main::logged_job(); qr/^POST \/v1\/queries \[$id\] 200\nGET \/v1\/jobs\/$id \[$id\] 200\nGET \/v1\/queries \[-\] 405\n\z/ }]
