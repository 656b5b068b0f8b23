# The isolation matrix: for every endpoint and every object a tenant can
# name (query, export and import job ids; result and list cursors; stable
# download links; presigned download and upload URLs; an import's failed
# records), tenant B using tenant A's identifiers gets exactly what it gets
# for an identifier that never existed (the same status, the same body but
# for the id and the request id): it learns nothing, not even that the
# object exists.  The same for a key of A's tenant with another database
# user.  Afterwards A's objects are as they were: nothing B did changed
# them.  The last blocks splice another tenant's claims into signed tokens.
use FindBin ();
use lib "$FindBin::Bin/data/query/lib", "$FindBin::Bin/data/auth/lib",
        "$FindBin::Bin/data/bulk/lib", "$FindBin::Bin/data/import/lib";
use Test::Nginx::Socket 'no_plan';
use MIME::Base64 ();
use SpectraLogArchive;
use SpectraAuth qw(ensure_keys);
use SpectraQuery qw(api_key key_file http_config http json submit poll);
use SpectraBulk qw(export_config export wait_export raw_get);
use SpectraImport qw(import_config events_file start_import upload
                     patch_import imported);

our (%K);

my @lines;

for my $k (['acme', 'tenant=acme permissions=query,bulk'],
           ['globex', 'tenant=globex permissions=query,bulk'],
           # A's tenant, another database user: its rows may differ
           ['acmeother', 'tenant=acme db_user=tenant_initech '
                          . 'permissions=query,bulk'])
{
    my $line;
    ($K{$k->[0]}, $line) = api_key("m073$k->[0]", $k->[1]);
    push @lines, $line;
}

$ENV{TEST_NGINX_QT_KEYS} = key_file(@lines);
$ENV{TEST_NGINX_AUTH_KEYS} = ensure_keys("$FindBin::Bin/data/auth/keys");

our $HttpConfig = http_config() . export_config() . import_config();

# A well-formed job id that no job has.
sub unknown_id {
    my @c = split //, '0123456789abcdefghjkmnpqrstvwxyz';
    return 'job_' . join '', map { $c[rand @c] } 1 .. 26;
}

# An answer with the ids it names and its request id masked.
sub masked {
    my ($status, $text, @ids) = @_;

    $text =~ s/\Q$_\E/ID/g for grep { defined } @ids;
    $text =~ s/"request_id":"[^"]*"/"request_id":"RID"/g;

    return "$status $text";
}

# B's request on A's object answers as the same request on an object
# that does not exist.
sub same_as_unknown {
    my ($key, $method, $path, $id, $body, $name) = @_;
    my $none = main::unknown_id();
    (my $other = $path) =~ s/\Q$id\E/$none/g;
    my @h = ('X-API-Key' => $key, 'Content-Type' => 'application/json');

    my ($s1, $t1) = http($method, $path, $body, @h);
    my ($s2, $t2) = http($method, $other, $body, @h);

    Test::More::ok($s1 == 404 || $s1 == 400 || $s1 == 403,
                   "$name: refused ($s1)")
        or Test::More::diag($t1);
    Test::More::is(masked($s1, $t1, $id), masked($s2, $t2, $none),
                   "$name: the same answer as for a job that never was");
    Test::More::unlike($t1, qr/\Q$id\E/, "$name: the answer does not echo the id");
}

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

=== TEST 1: another tenant, or another database user of the tenant, learns nothing of A's jobs, cursors, links and uploads, and changes nothing
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/import/objects.conf;

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- init
my ($A, $json) = ($::K{acme}, SpectraQuery::json());
my @h = ('X-API-Key' => $A, 'Content-Type' => 'application/json');

# A's objects: a query with a paged result, an export, a finished import
# with a failed record, an import still open for its upload
my $q = SpectraQuery::submit($A, {sql => 'select id from sales order by id limit 30'}, until => 'COMPLETED');
my ($st, $txt, $page) = SpectraQuery::http('GET', "/v1/jobs/$q/results?page_size=10", undef, @h);
Test::More::is($st, 200, 'A reads its first page');
my $rcursor = $page->{next_cursor};
Test::More::ok($rcursor, 'A has a result cursor');
my (undef, undef, $page2) = SpectraQuery::http('GET', "/v1/jobs/$q/results?cursor=$rcursor", undef, @h);
my $page2_first = $page2->{data}[0]{id};
Test::More::ok($page2_first, 'A reads its second page');

my ($bs, $bjob) = SpectraBulk::export($A, {sql => 'select * from sales where id <= 500'});
die "POST /v1/bulk answered $bs\n" if $bs != 202;
my $b = $bjob->{job_id};
$bjob = SpectraBulk::wait_export($A, $b);
Test::More::is($bjob->{status}, 'COMPLETED', "A's export completed");
my $file = $bjob->{result}{files}[0];

my $file_path = SpectraImport::events_file(tenant => 'acme', rows => 4, lines => {2 => 'acme,not-a-number,x,2026-11-01T00:00:00Z,1.00'});
my $ijob = SpectraImport::imported($A, $file_path, {max_errors => 5});
my $i = $ijob->{job_id};
Test::More::is($ijob->{state}, 'JobComplete', "A's import completed");
Test::More::is($ijob->{records_failed}, 1, 'with one failed record');

my ($os, $open) = SpectraImport::start_import($A, {table => 'events'});
Test::More::is($os, 201, 'A opens a second import');
my $o = $open->{job_id};

my ($ls, undef, $list) = SpectraQuery::http('GET', '/v1/jobs?limit=1', undef, @h);
my $lcursor = $list->{next_cursor};
Test::More::ok($lcursor, 'A has a list cursor');

for my $who (qw(globex acmeother)) {
    my $B = $::K{$who};

    # every endpoint that names a job, with each of A's jobs
    for my $id ($q, $b, $i, $o) {
        main::same_as_unknown($B, 'GET', "/v1/jobs/$id", $id, undef, "$who GET /v1/jobs/{A's}");
        main::same_as_unknown($B, 'GET', "/v1/jobs/$id?include=sql", $id, undef, "$who GET /v1/jobs/{A's}?include=sql");
        main::same_as_unknown($B, 'GET', "/v1/jobs/$id/results", $id, undef, "$who GET /v1/jobs/{A's}/results");
        main::same_as_unknown($B, 'GET', "/v1/bulk/$id", $id, undef, "$who GET /v1/bulk/{A's}");
        main::same_as_unknown($B, 'GET', "/v1/bulk/$id/files/0", $id, undef, "$who GET /v1/bulk/{A's}/files/0");
        main::same_as_unknown($B, 'GET', "/v1/imports/$id", $id, undef, "$who GET /v1/imports/{A's}");
        main::same_as_unknown($B, 'GET', "/v1/imports/$id/failed", $id, undef, "$who GET /v1/imports/{A's}/failed");
        main::same_as_unknown($B, 'PATCH', "/v1/imports/$id", $id, '{"state":"Aborted"}', "$who PATCH /v1/imports/{A's}");
        main::same_as_unknown($B, 'DELETE', "/v1/imports/$id", $id, undef, "$who DELETE /v1/imports/{A's}");
        main::same_as_unknown($B, 'DELETE', "/v1/bulk/$id", $id, undef, "$who DELETE /v1/bulk/{A's}");
        main::same_as_unknown($B, 'DELETE', "/v1/jobs/$id", $id, undef, "$who DELETE /v1/jobs/{A's}");
    }

    # A's result cursor: on A's job (404, as above) and on B's own job
    main::same_as_unknown($B, 'GET', "/v1/jobs/$q/results?cursor=$rcursor", $q, undef, "$who A's cursor on A's job");
    my $mine = SpectraQuery::submit($B, {sql => 'select id from sales order by id limit 30'}, until => 'COMPLETED', env => 'TEST_NGINX_B_JOB');
    my ($cs, $ct) = SpectraQuery::http('GET', "/v1/jobs/$mine/results?cursor=$rcursor", undef, 'X-API-Key' => $B);
    Test::More::is($cs, 400, "$who: A's cursor on its own job is refused");
    Test::More::like($ct, qr/"code":"INVALID_REQUEST".*invalid cursor/, "$who: as an invalid cursor");
    Test::More::unlike($ct, qr/"data"/, "$who: and no rows");

    # A's list cursor shows none of A's jobs
    my ($lcs, $lct, $ld) = SpectraQuery::http('GET', "/v1/jobs?limit=100&cursor=$lcursor", undef, 'X-API-Key' => $B);
    Test::More::ok($lcs == 400 || ($lcs == 200 && !grep { $_->{job_id} =~ /^(?:\Q$q\E|\Q$b\E|\Q$i\E|\Q$o\E)$/ } @{ $ld->{jobs} }), "$who: A's list cursor shows nothing of A ($lcs)");
    my ($als, $alt, $all) = SpectraQuery::http('GET', '/v1/jobs?limit=100', undef, 'X-API-Key' => $B);
    Test::More::is($als, 200, "$who lists its jobs");
    Test::More::ok(!grep({ $_->{job_id} =~ /^(?:\Q$q\E|\Q$b\E|\Q$i\E|\Q$o\E)$/ } @{ $all->{jobs} }), "$who: none of A's jobs in its list");
    for my $t (qw(query bulk import)) {
        my (undef, undef, $tl) = SpectraQuery::http('GET', "/v1/jobs?type=$t&limit=100", undef, 'X-API-Key' => $B);
        Test::More::ok(!grep({ $_->{job_id} =~ /^(?:\Q$q\E|\Q$b\E|\Q$i\E|\Q$o\E)$/ } @{ $tl->{jobs} }), "$who: none of A's jobs of type $t");
    }

    # idempotency keys are per tenant (and user): A's key makes B a new job
    my ($k1s, undef, $k1) = SpectraQuery::http('POST', '/v1/queries', $json->encode({sql => 'select 1 as one', idempotency_key => "m073-$$"}), 'X-API-Key' => $A, 'Content-Type' => 'application/json');
    my ($k2s, undef, $k2) = SpectraQuery::http('POST', '/v1/queries', $json->encode({sql => 'select 2 as two', idempotency_key => "m073-$$"}), 'X-API-Key' => $B, 'Content-Type' => 'application/json');
    Test::More::ok($k1s == 200 && $k2s == 200, "$who: both answered ($k1s, $k2s)");
    Test::More::isnt($k2->{job_id}, $k1->{job_id}, "$who: A's idempotency key gives B its own job");
    Test::More::is_deeply($k2->{data}, [{two => 2}], "$who: with B's own answer");
}

# the presigned URLs are the bearer's, but only for what they name:
# pointed at another tenant's object they fail their signature
my ($gs, $gjob) = SpectraBulk::export($::K{globex}, {sql => 'select * from sales where id <= 500'});
$gjob = SpectraBulk::wait_export($::K{globex}, $gjob->{job_id});
my $gurl = $gjob->{result}{files}[0]{url};
(my $to_a = $gurl) =~ s{tenant%3Dglobex/job%3D[^/]+/}{tenant%3Dacme/job%3D$b/};
Test::More::isnt($to_a, $gurl, "B's URL re-pointed at A's file");
my ($ps) = SpectraBulk::raw_get($to_a);
Test::More::is($ps, 403, "B's presigned URL re-pointed at A's file: 403");
my ($ps2) = SpectraBulk::raw_get($gurl);
Test::More::is($ps2, 200, "B's own URL as issued: 200");

my ($gos, $gopen) = SpectraImport::start_import($::K{globex}, {table => 'events'});
(my $up_to_a = $gopen->{upload_url}) =~ s{\Q$gopen->{job_id}\E}{$o}g;
$up_to_a =~ s{tenant(%3D|=)globex}{tenant${1}acme}g;
Test::More::isnt($up_to_a, $gopen->{upload_url}, "B's upload URL re-pointed at A's import");
my ($us) = SpectraImport::upload($up_to_a, SpectraImport::events_file(tenant => 'globex', rows => 1));
Test::More::is($us, 403, "B's upload URL re-pointed at A's open import: 403");

# A's objects are as they were
my ($as, undef, $aj) = SpectraQuery::http('GET', "/v1/imports/$o", undef, @h);
Test::More::is("$as $aj->{state}", '200 Open', "A's open import is still Open");
my ($as2, undef, $aq) = SpectraQuery::http('GET', "/v1/jobs/$q/results?cursor=$rcursor", undef, @h);
Test::More::is($as2, 200, "A's cursor still reads A's next page");
Test::More::is($aq->{data}[0]{id}, $page2_first, 'the same page as before');
my ($as3, undef, $ab) = SpectraQuery::http('GET', "/v1/bulk/$b", undef, @h);
Test::More::is("$as3 $ab->{status}", '200 COMPLETED', "A's export is still COMPLETED");
my ($ds) = SpectraBulk::raw_get($ab->{result}{files}[0]{url});
Test::More::is($ds, 200, "A's export still downloads");
my ($fs, $ft) = SpectraQuery::http('GET', "/v1/imports/$i/failed", undef, @h);
Test::More::is($fs, 200, "A reads its failed records");
Test::More::like($ft, qr/not-a-number/, 'which name its bad line');

$ENV{TEST_NGINX_JOB} = $q;
--- pipelined_requests eval
['GET /v1/jobs/$TEST_NGINX_JOB']
--- error_code eval
[200]
--- response_body_like eval
[qr{"status":"COMPLETED"}]



=== TEST 2: a token whose payload is another tenant's, spliced under a valid signature, is refused
--- http_config eval: $::HttpConfig
--- config
    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- init
my $dir = $ENV{TEST_NGINX_AUTH_KEYS};
my $now = int(CORE::time());
my $a = SpectraAuth::mint($dir, $now, claims => {tenant_id => 'acme', permissions => 'query'});
my $g = SpectraAuth::mint($dir, $now, claims => {tenant_id => 'globex', permissions => 'query'});
my ($ah, $ap, $as) = split /\./, $a;
my ($gh, $gp, $gs) = split /\./, $g;
# (both headers are the same bytes: HS256, kid hs)
my @spliced = ("$ah.$gp.$as", "$gh.$ap.$gs", "$gh.$gp.$as");
# a header of another shape, signed for acme, over globex's payload
my $a2 = SpectraAuth::mint($dir, $now, claims => {tenant_id => 'acme', permissions => 'query'}, header => {typ => 'JWT'});
my ($a2h, undef, $a2s) = split /\./, $a2;
push @spliced, "$a2h.$gp.$a2s";
my $ids = SpectraAuth::b64(SpectraQuery::json()->encode({%{ SpectraQuery::json()->decode(MIME::Base64::decode_base64url($ap)) }, tenant_id => 'globex'}));
push @spliced, "$ah.$ids.$as";
my $i = 0;
for my $t (@spliced) {
    my ($st, $txt) = SpectraQuery::http('GET', '/v1/jobs', undef, Authorization => "Bearer $t");
    Test::More::is($st, 401, 'spliced token ' . $i++ . ' refused');
    Test::More::like($txt, qr/"code":"UNAUTHENTICATED"/, 'as UNAUTHENTICATED');
}
my ($ok) = SpectraQuery::http('GET', '/v1/jobs', undef, Authorization => "Bearer $g");
Test::More::is($ok, 200, "globex's own token is taken");
--- request
GET /v1/jobs
--- more_headers
X-API-Key: bad
--- error_code: 401
--- no_error_log
[error]
