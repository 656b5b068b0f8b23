# Self-test of the project's Test::Nginx::Socket runner (t/lib): every
# supported section against stock nginx directives, then deliberately wrong
# fixture suites (t/lib/selftest/*.t.in) that must fail the right block.

use Test::Nginx::Socket 'no_plan';
use Test::Nginx::Util qw($ServerPort $ServRoot);

use IPC::Run ();
use FindBin ();

no_shuffle();
run_tests();

# --- fixtures: each runs in its own perl on port $ServerPort + 1 (and
# + 2 for fail-timeout) with servroot "$ServRoot-fixture" ---

my $Lib = "$FindBin::Bin/lib";
my $FixtureDir = "$FindBin::Bin/lib/selftest";
my $FixturePort = $ServerPort + 1;
my $FixtureRoot = "$ServRoot-fixture";


# Run one fixture suite; returns (exit code, TAP + diagnostics).
sub run_fixture {
    my ($fixture) = @_;
    my $out = '';

    local $ENV{TEST_NGINX_SERVER_PORT} = $FixturePort;
    local $ENV{TEST_NGINX_PORT} = $FixturePort;
    local $ENV{TEST_NGINX_SERVROOT} = $FixtureRoot;
    local $ENV{TEST_NGINX_NO_SHUFFLE} = 1;

    IPC::Run::run([$^X, "-I$Lib", "$FixtureDir/$fixture"],
                  '<', \undef, '>&', \$out);

    return ($? >> 8, $out);
}


sub fixture_fails {
    my ($fixture, $want_code, $expect, $reject) = @_;
    my ($code, $out) = run_fixture($fixture);

    is($code, $want_code, "fixture $fixture exits with $want_code")
        or diag($out);

    for my $re (@$expect) {
        like($out, $re, "fixture $fixture reports $re");
    }

    for my $re (@{ $reject // [] }) {
        unlike($out, $re, "fixture $fixture does not report $re");
    }
}


my $F = qr{\S*/lib/selftest/\S+\.t\.in};

fixture_fails('fail-status.t.in', 1, [
    qr/^ok 1 - $F TEST 1: right status - status code ok$/m,
    qr/^not ok 3 - $F TEST 2: wrong status - status code ok$/m,
    qr/got: '404'\n#\s+expected: '200'/,
]);

fixture_fails('fail-body.t.in', 2, [
    qr/^not ok 2 - $F TEST 1: wrong body - response_body - response is /m,
    qr/^ok 4 - $F TEST 2: second body wrong - response_body .* req 0\)$/m,
    qr/^not ok 6 - $F TEST 2: second body wrong - response_body .* req 1\)$/m,
]);

fixture_fails('fail-header.t.in', 3, [
    qr/^not ok 2 - $F TEST 1: wrong headers - header X-Runner ok$/m,
    qr/^not ok 3 - $F TEST 1: wrong headers - header X-Present not present/m,
    qr/^not ok 4 - $F TEST 1: wrong headers - header X-Missing ok$/m,
    qr/^ok 5 - $F TEST 1: wrong headers - header Content-Type ok$/m,
]);

fixture_fails('fail-error-log.t.in', 3, [
    qr/^not\ ok\ 2\ -\ $F\ TEST\ 1:\ missing\ error_log\ line\ -\ pattern
       \ "runner\ never\ logs\ this"\ should\ match\ a\ line/mx,
    qr/^ok\ 3\ -\ $F\ TEST\ 1:\ missing\ error_log\ line\ -\ pattern
       \ "No\ such\ file\ or\ directory"\ matches/mx,
    qr/^not\ ok\ 5\ -\ $F\ TEST\ 2:\ unexpected\ error_log\ line\ -\ pattern
       \ "\[error\]"\ should\ not\ match\ any\ line\ in\ error\.log
       \ but\ matches\ line\ ".*open\(\)\ /mx,
    qr/^not ok 7 - $F TEST 3: wrong grep_error_log_out - grep_error_log_out/m,
]);

fixture_fails('undefined-var.t.in', 255, [
    qr/Bail out!.*No environment TEST_NGINX_RUNNER_UNDEFINED defined/,
], [
    qr/^ok \d/m,
]);

# uses one more port, $FixturePort + 1, for an upstream that never answers
fixture_fails('fail-timeout.t.in', 2, [
    qr/TEST 1: upstream never answers - client socket timed out after [\d.]+s/,
    qr/^not ok 1 - $F TEST 1: upstream never answers - status code ok$/m,
    qr/^not ok 2 - $F TEST 1: upstream never answers - response_body/m,
]);

fixture_fails('fail-crash.t.in', 1, [
    qr/^ok 2 - $F TEST 1: nginx dies after answering - response_body/m,
    qr/^not ok 3 - $F TEST 1: nginx dies [\w ]+ - nginx exited cleanly$/m,
    qr/nginx did not exit cleanly: killed by signal 9/,
]);

fixture_fails('fail-eval.t.in', 1, [
    qr/^not ok 1 - $F TEST 1: missing comma in request eval - --- request: /m,
    qr/--- request: Perl error: syntax error at \(eval \d+\)/,
]);

fixture_fails('fail-object-request.t.in', 255, [
    qr/Bail out!.*TEST 1: an object as the request - Invalid syntax\. GET \/t should be a string or an array of packets/,
], [
    qr/^ok \d/m,
]);

fixture_fails('fail-servroot.t.in', 255, [
    qr/^ok 2 - $F TEST 1: a block leaves a file in the servroot - response_body/m,
    qr/Bail out!.*Can't remove \S+-fixture \(not empty\?\)/,
], [
    qr/TEST 2: the next block/,
]);
unlink "$FixtureRoot/stray.txt";

fixture_fails('fail-must-die.t.in', 1, [
    qr/^not ok 1 - $F TEST 1: valid config - die as expected$/m,
]);

# the good fixture: repeat_each, master_on + workers, no_root_location,
# add_block_preprocessor, add_cleanup_handler, --- SKIP, --- LAST and an
# exact plan
{
    my ($code, $out) = run_fixture('good.t.in');

    is($code, 0, 'fixture good.t.in passes') or diag($out);
    like($out, qr/^1\.\.14$/m, 'good.t.in plan: 2 repeats x (3 + 4) tests');
    unlike($out, qr/^not ok/m, 'good.t.in has no failing test');
    like($out,
         qr/^ok \d+ - $F TEST 1: own root location - pattern "\[emerg\]"/m,
         'block preprocessor added a no_error_log pattern');
    unlike($out, qr/TEST (2|4):/, 'SKIP block and blocks after LAST skipped');
    like($out, qr/^# cleanup handler ran$/m, 'cleanup handler ran');
}

# a script that dies still runs its cleanup handlers and stops nginx
{
    my ($code, $out) = run_fixture('die-cleanup.t.in');

    isnt($code, 0, 'fixture die-cleanup.t.in fails') or diag($out);
    like($out, qr/died in TEST 2/, 'die-cleanup.t.in died in TEST 2');
    like($out, qr/^# cleanup handler ran$/m,
         'cleanup handler ran although the script died');
    my $pid = 0;
    if (open my $fh, '<', "$FixtureRoot/logs/nginx.pid") {
        $pid = <$fh> // 0;
        chomp $pid;
    }
    ok(!($pid =~ /^\d+$/ && $pid > 0 && kill(0, $pid)),
       'nginx of the script that died is stopped');
}

__DATA__

=== TEST 1: body, response headers, absent header, no_error_log
--- config
location = /t {
    add_header X-Runner "one two";
    return 200 "hello, runner\n";
}
--- request
GET /t
--- response_headers
Content-Type: text/plain
Content-Length: 14
X-Runner: one two
!X-Absent
--- response_body
hello, runner
--- no_error_log
[error]
[warn]



=== TEST 2: a block without config reuses the previous one; headers_like
--- request
GET /t
--- response_headers_like
X-Runner: one \w+
Server: nginx/[\d.]+
--- response_body_like: ^hello, runner$



=== TEST 3: request body is trimmed and gets a Content-Length
--- config
location = /echo {
    proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/sink;
    proxy_set_header X-Body $request_body;
    proxy_set_header X-Len $http_content_length;
}
location = /sink {
    return 200 "method=$request_method len=$http_x_len body=[$http_x_body]\n";
}
--- request
POST /echo
   hello body
--- response_body
method=POST len=10 body=[hello body]
--- no_error_log
[error]



=== TEST 4: more_headers, HTTP/1.0 request line, no_error_log eval array
--- config
location = /h {
    return 200 "$server_protocol ua=$http_user_agent foo=$http_x_foo $host\n";
}
--- request
GET /h HTTP/1.0
--- more_headers
User-Agent: runner-selftest
X-Foo: bar baz
--- response_body
HTTP/1.0 ua=runner-selftest foo=bar baz localhost
--- no_error_log eval
[qr/\[(?:alert|crit|emerg)\]/, "[error]"]



=== TEST 5: request eval array with more_headers, error_code, body arrays
--- config
location = /a { return 200 "a:$http_x_n\n"; }
location = /b { return 403 "b:$http_x_n\n"; }
--- request eval
["GET /a", "GET /b"]
--- more_headers eval
["X-N: 1", "X-N: 2"]
--- error_code eval
[200, 403]
--- response_body eval
["a:1\n", "b:2\n"]
--- no_error_log
[error]



=== TEST 6: missing file: error_code, error_log eval, grep_error_log
--- config
location /files/ {
    alias $TEST_NGINX_SERVER_ROOT/html/;
}
--- request
GET /files/nope.txt
--- error_code: 404
--- error_log eval
[qr/\[error\] \d+#\d+: \*\d+ open\(\)/, "No such file or directory"]
--- grep_error_log eval
qr/open\(\) "[^"]+" failed/
--- grep_error_log_out
open() "$TEST_NGINX_SERVER_ROOT/html/nope.txt" failed



=== TEST 7: user_files with $TEST_NGINX_ variables, served by location /
--- config
# only the default root location
--- user_files
>>> index.html
<p>port $TEST_NGINX_SERVER_PORT</p>
>>> sub/dir/data.txt
nested file
--- request eval
["GET /", "GET /sub/dir/data.txt"]
--- response_body eval
['<p>port $TEST_NGINX_SERVER_PORT</p>' . "\n", "nested file\n"]



=== TEST 8: http_config and main_config (with variables) reach nginx.conf
--- main_config
error_log $TEST_NGINX_SERVER_ROOT/logs/main-config.log notice;
--- http_config
map $uri $runner_flavour {
    default     plain;
    /map/yes    mapped;
}
--- config
location /map/ {
    return 200 "flavour=$runner_flavour\n";
}
location = /main-log {
    alias $TEST_NGINX_SERVER_ROOT/logs/main-config.log;
}
--- request eval
["GET /map/yes", "GET /map/no", "GET /main-log"]
--- response_body_like eval
["^flavour=mapped\n\\z", "^flavour=plain\n\\z",
 "\\[notice\\] \\d+#\\d+: nginx/"]



=== TEST 9: chunked response is decoded
--- config
location = /chunked {
    sub_filter_types text/plain;
    sub_filter_once off;
    sub_filter 'x' 'y';
    return 200 "axbxc\n";
}
--- request
GET /chunked
--- response_headers
Transfer-Encoding: chunked
!Content-Length
--- response_body
aybyc



=== TEST 10: pipelined_requests on one connection, with variables
--- config
location = /p1 { return 200 "one $arg_port\n"; }
location = /p2 { return 201 "two\n"; }
--- pipelined_requests eval
['GET /p1?port=$TEST_NGINX_SERVER_PORT', "GET /p2"]
--- error_code eval
[200, 201]
--- response_body eval
['one $TEST_NGINX_SERVER_PORT' . "\n", "two\n"]



=== TEST 11: raw_request is sent verbatim
--- config
location = /raw {
    return 200 "raw host=$host proto=$server_protocol\n";
}
--- raw_request eval
"GET /raw HTTP/1.0\r\nHost: raw.example\r\n\r\n"
--- response_body
raw host=raw.example proto=HTTP/1.0



=== TEST 12: per-block log_level warn drops debug lines
--- log_level: warn
--- config
location = /quiet { return 200 "quiet\n"; }
--- request
GET /quiet
--- response_body
quiet
--- no_error_log
[debug]
[info]



=== TEST 13: per-block log_level debug keeps them
--- log_level: debug
--- config
location = /loud { return 200 "loud\n"; }
--- request
GET /loud
--- response_body
loud
--- error_log
[debug]
http request line: "GET /loud HTTP/1.1"



=== TEST 14: skip_nginx skips its tests on matching versions
--- skip_nginx: 2: < 999.0.0
--- config
location = /never { return 500; }
--- request
GET /never
--- response_body
never checked



=== TEST 15: skip_nginx runs the block on other versions
--- skip_nginx: 2: > 999.0.0
--- config
location = /ver { return 200 "$nginx_version\n"; }
--- request
GET /ver
--- response_body_like: ^\d+\.\d+\.\d+$



=== TEST 16: a SKIP block is not run
--- SKIP
--- config
location = /skipped { return 500; }
--- request
GET /skipped
--- response_body
would fail



=== TEST 17: must_die with the error in the log
--- config
runner_no_such_directive on;
--- must_die
--- error_log
unknown directive "runner_no_such_directive"



=== TEST 18: chomp filter, timeout and wait
--- config
location = /plain { return 200 "no newline"; }
--- request
GET /plain
--- timeout: 5
--- wait: 0.01
--- response_body chomp
no newline



=== TEST 19: response_body eval with a regex
--- request
GET /plain
--- response_body eval
qr/^no new\w+\z/



=== TEST 20: HEAD response has headers but no body
--- config
location = /head { return 200 "body not sent\n"; }
--- request
HEAD /head
--- response_headers
Content-Length: 14
--- response_body



=== TEST 21: must_die with an exit code
--- config
location = /x { return 200; }
--- main_config
runner_main_junk;
--- must_die: 1
--- error_log
unknown directive "runner_main_junk"



=== TEST 22: error_code_like, response_body_unlike, raw header regexes
--- config
location = /teapot {
    add_header X-Raw "a b" always;
    return 418 "short and stout\n";
}
--- request
GET /teapot
--- error_code_like: ^4\d\d$
--- raw_response_headers_like: \r\nX-Raw: a b\r\n
--- raw_response_headers_unlike: \r\nX-Other:
--- response_body_unlike: tall



=== TEST 23: init runs once nginx answers; pipelined requests expand $TEST_NGINX_* when sent
--- config
location = /t {
    return 200 "args=$args\n";
}
--- init
my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                              PeerPort => $ENV{TEST_NGINX_SERVER_PORT})
    or die "nginx is not up when init runs: $@";
close $s;
$ENV{TEST_NGINX_FROM_INIT} = 'set-by-init';
--- pipelined_requests eval
['GET /t?v=$TEST_NGINX_FROM_INIT', 'GET /t?w=$TEST_NGINX_FROM_INIT']
--- response_body eval
["args=v=set-by-init\n", "args=w=set-by-init\n"]
