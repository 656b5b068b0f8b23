# A worker's memory under a steady query load: with spectra_malloc_retain
# (default 32m) the memory freed between requests is reused, not handed
# back to the kernel and faulted in again.  The job store is what made
# that churn: SQLite frees and allocates again its first block of cached
# pages whenever another connection (the other worker's, the
# checkpointer's) has written, that is at nearly every job write.  Counted
# here: the workers' minor page faults per query, after a warm-up, with
# two workers writing one job store.  Page faults count what the kernel
# did, not how long it took, so the check does not depend on timing.
use FindBin ();
use lib "$FindBin::Bin/data/query/lib", "$FindBin::Bin/data/auth/lib";
use Test::Nginx::Socket 'no_plan';
use SpectraLogArchive;
use SpectraAuth qw(ensure_keys);
use SpectraQuery qw(api_key key_file http_config json);

our (%K, $HttpConfig, %Faults);

my ($key, $line) = api_key('q076', 'tenant=acme permissions=query');
$K{acme} = $key;

$ENV{TEST_NGINX_QT_KEYS} = key_file($line);
$ENV{TEST_NGINX_AUTH_KEYS} = ensure_keys("$FindBin::Bin/data/auth/keys");

$HttpConfig = http_config();

# The workers' minor page faults so far (field 10 of /proc/PID/stat),
# summed; dies when there is no worker, so the count cannot pass on 0.
sub worker_faults {
    my $root = $Test::Nginx::Util::ServRoot;
    my ($master, $sum, @pids);

    open my $fh, '<', "$root/logs/nginx.pid" or die "nginx.pid: $!";
    chomp($master = <$fh>);
    close $fh;

    @pids = split ' ', `pgrep -P $master`;
    die "no nginx worker under $master" unless @pids == 2;

    $sum = 0;

    for my $pid (@pids) {
        open my $st, '<', "/proc/$pid/stat" or die "/proc/$pid/stat: $!";
        my $stat = <$st>;
        close $st;
        # after "(comm) ": state, ppid, pgrp, session, tty, tpgid, flags,
        # minflt
        $stat =~ s/^.*\) //s;
        $sum += (split ' ', $stat)[7];
    }

    return $sum;
}

# n queries of 100 rows as acme, one connection each; dies on an answer
# that is not 200 with its 100 rows.
sub queries {
    my ($n) = @_;
    my $body = json()->encode({
        sql => "select n, repeat('r', 40) as pad"
               . ' from generate_series(1, 100) as n'});

    for (1 .. $n) {
        my ($status, $text, $data) = SpectraQuery::http(
            'POST', '/v1/queries', $body, 'X-API-Key' => $K{acme},
            'Content-Type' => 'application/json');
        die "POST /v1/queries answered $status: " . substr($text, 0, 200)
            unless $status == 200 && $data && @{ $data->{data} } == 100;
    }
}

# under valgrind or a sanitizer, malloc is not glibc's
our $Foreign = $ENV{TEST_NGINX_USE_VALGRIND} || $ENV{TEST_NGINX_LD_PRELOAD};

master_on();
workers(2);
no_shuffle();

add_block_preprocessor(sub {
    my $block = shift;

    $block->set_value('more_headers', "X-API-Key: $K{acme}\n")
        unless defined $block->more_headers;
    $block->set_value('no_error_log', "[error]\n")
        unless defined $block->no_error_log;
});

run_tests();

__DATA__

=== TEST 1: spectra_malloc_retain (the default): few page faults per query
--- skip_eval: 3: $::Foreign
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- init
main::queries(40);
my $before = main::worker_faults();
main::queries(200);
$main::Faults{on} = (main::worker_faults() - $before) / 200;
Test::More::cmp_ok($main::Faults{on}, '<', 10,
    "$0 - the workers' minor page faults per query stay under 10"
    . " ($main::Faults{on})");
--- request
GET /v1/health
--- error_code: 200



=== TEST 2: spectra_malloc_retain off: glibc's own thresholds, still served
--- http_config eval: "spectra_malloc_retain off;\n" . $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- init
main::queries(40);
my $before = main::worker_faults();
main::queries(200);
$main::Faults{off} = (main::worker_faults() - $before) / 200;
# what the directive saves, for the reader; glibc's own behaviour is not
# this suite's to check
Test::More::diag("minor page faults per query: $main::Faults{off} with"
                 . " spectra_malloc_retain off, $main::Faults{on} with 32m");
--- request
GET /v1/health
--- error_code: 200



=== TEST 3: a size, in nginx's units
--- http_config eval: "spectra_malloc_retain 8m;\n" . $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- init
main::queries(5);
--- request
GET /v1/health
--- error_code: 200



=== TEST 4: a size mallopt() cannot take fails nginx -t
--- http_config eval: "spectra_malloc_retain 3g;\n" . $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }
--- must_die
--- error_log
"spectra_malloc_retain" must be "off" or a size from 1 to 2047m, not "3g"



=== TEST 5: not a size
--- http_config eval: "spectra_malloc_retain lots;\n" . $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }
--- must_die
--- error_log
"spectra_malloc_retain" must be "off" or a size from 1 to 2047m, not "lots"



=== TEST 6: given twice
--- http_config eval: "spectra_malloc_retain 8m;\nspectra_malloc_retain off;\n" . $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }
--- must_die
--- error_log
"spectra_malloc_retain" directive is duplicate
