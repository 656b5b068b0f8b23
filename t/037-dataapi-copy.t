# spectra-dataapi's COPY from the local object store (--export-dir,
# $TEST_NGINX_OBJECTS_DIR) into the demo events table, as the tenant's own
# role: Debian's AWS CLI and hand-signed requests send the statements;
# the objects are written (and compressed by gzip(1) and zstd(1)) as an
# upload leaves them; what was loaded is read back by the superuser from
# PostgreSQL and by the tenant through the Data API. Covered: CSV (RFC
# 4180, header, delimiter, quoted fields over several lines, CRLF) and
# JSON lines ('auto': keys matched case-insensitively, missing keys NULL),
# none/gzip/zstd, 100,000 rows per tenant, row-level security's WITH CHECK
# (a row of another tenant loads nothing), MAXERROR and the rejected
# records in sys_load_error_detail (line numbers, raw lines, readable only
# by their tenant), hostile sources (outside the directory, symbolic
# links, missing, truncated or corrupt data), refused statements,
# CancelStatement and the deadline mid-load, COPY in a batch, tables with
# array and json columns, and flat memory for a 1,000,000-row load.

use strict;
use warnings;

use lib "$ENV{SPECTRA_REPO}/t/data/dataapi";
use lib "$ENV{SPECTRA_REPO}/t/data/copy/lib";
use DataAPI;
use SpectraCopy;
use DBI;
use File::Path qw(make_path remove_tree);
use Test::More;

my $env = fixture_env();
die "TEST_NGINX_OBJECTS_DIR is not set: run the suites with make test\n"
    unless $ENV{TEST_NGINX_OBJECTS_DIR};

my $objects = $ENV{TEST_NGINX_OBJECTS_DIR};
my $bucket = 'spectra-imports';
my $root = "$objects/$bucket";

# this suite's objects and rows only, from a run before in the same fixture
remove_tree("$root/t037", "$objects/../t037-outside");

my $su = DBI->connect("dbi:Pg:host=127.0.0.1;port=$ENV{TEST_NGINX_PG_PORT};"
                      . 'dbname=warehouse', 'postgres', undef,
                      { RaiseError => 1, AutoCommit => 1, PrintError => 0 })
    or die "superuser connection: $DBI::errstr";
$su->do('set client_min_messages = warning');
$su->do(q{delete from events where kind like 't037-%'});
$su->do(q{delete from spectra_load.load_errors where file_name like }
        . qq{'s3://$bucket/t037/%'});

my $job = 0;

# A new object key for tenant: (s3 url, path on disk, key).
sub object {
    my ($tenant, $name) = @_;
    $job++;
    my $key = "t037/tenant=$tenant/job=$job/$name";
    return ("s3://$bucket/$key", "$root/$key", $key);
}

sub copy_sql {
    my ($url, $opts) = @_;
    return qq{COPY "public"."events" FROM '$url' IAM_ROLE default $opts};
}

# The superuser's view of the rows a case loaded (tagged by kind).
sub loaded {
    my ($kind) = @_;
    return $su->selectall_arrayref(
        q{select tenant_id, id, kind, to_char(occurred_at at time zone 'UTC',}
        . q{ 'YYYY-MM-DD HH24:MI:SS.US'), amount::text from events}
        . q{ where kind like ? order by id}, undef, $kind);
}

# The tenant's load errors for the object, as the module reads them.
sub load_errors {
    my ($user, $url) = @_;
    my $d = statement($env, $user,
        q{SELECT line_number, column_name, error_code, error_message,}
        . q{ raw_line FROM sys_load_error_detail WHERE file_name = }
        . qq{'$url' ORDER BY line_number});
    die "load errors: $d->{Error}" unless $d->{Status} eq 'FINISHED';
    return records_of($env, $d->{Id});
}

# CSV, each compression, through the AWS CLI: header, quoted fields
# with the delimiter, quotes and line breaks, NULL and empty strings,
# CRLF line ends, UTF-8.
for my $comp (qw(none gzip zstd)) {
    my ($url, $path) = object('acme', "events.csv");
    my $kind = "t037-csv-$comp";
    my $csv = "tenant_id,id,kind,occurred_at,amount\r\n"
              . "acme,1,$kind,2026-01-02 03:04:05.123456+00,12.50\r\n"
              . qq{acme,2,"$kind","2026-01-02T00:00:00Z",-0.0001\n}
              . qq{acme,3,$kind,,\n}
              . qq{"acme",4,"$kind-x, ""quoted""\nsecond line\r\nthird",}
              . qq{2026-06-30 23:59:59+02,1e3\n}
              . "acme,5,$kind-\xc3\xbc\xe4\xb8\xad,,\n";
    put_object($root, substr($path, length($root) + 1), $csv, $comp);
    my $r = execute($env, 'tenant_acme', copy_sql($url,
        'FORMAT AS CSV IGNOREHEADER 1'
        . ($comp eq 'none' ? '' : ' ' . uc $comp) . ' MAXERROR 0'));
    is $r->{Status}, 'FINISHED', "CSV/$comp: FINISHED" or diag $r->{Error};
    is $r->{ResultRows}, 5, "CSV/$comp: ResultRows 5 (the header skipped)";
    ok !$r->{HasResultSet}, "CSV/$comp: no result set";
    is_deeply loaded("$kind%"), [
        ['acme', 1, $kind, '2026-01-02 03:04:05.123456', '12.50'],
        ['acme', 2, $kind, '2026-01-02 00:00:00.000000', '-0.0001'],
        ['acme', 3, $kind, undef, undef],
        ['acme', 4, qq{$kind-x, "quoted"\nsecond line\r\nthird},
         '2026-06-30 21:59:59.000000', '1000'],
        ['acme', 5, "$kind-\x{fc}\x{4e2d}", undef, undef],
    ], "CSV/$comp: every value exactly (quotes, line breaks, NULL, UTF-8)"
        or diag explain loaded("$kind%");
}

# DELIMITER, no header, a quoted field over several lines whose record
# starts on line 2 and a bad record after it: line numbers are the
# file's, of the record's first line.
{
    my ($url, $path, $key) = object('globex', 'pipe.txt');
    my $kind = 't037-pipe';
    put_object($root, $key,
        "globex|10|$kind|2026-01-01 00:00:00+00|1\n"
        . qq{globex|11|"$kind\nspans\nlines"|2026-01-01 00:00:00+00|2\n}
        . "globex|twelve|$kind|2026-01-01 00:00:00+00|3\n"
        . "globex|13|$kind|2026-01-01 00:00:00+00|4\n", 'none');
    my $r = execute($env, 'tenant_globex', copy_sql($url,
        q{FORMAT AS CSV DELIMITER AS '|' MAXERROR 5}));
    is $r->{Status}, 'FINISHED', 'DELIMITER |: FINISHED' or diag $r->{Error};
    is $r->{ResultRows}, 3, 'DELIMITER |: 3 rows loaded, 1 rejected';
    is_deeply [map { $_->[1] } @{ loaded("$kind%") }], [10, 11, 13],
              'DELIMITER |: the good rows';
    my $e = load_errors('tenant_globex', $url);
    is scalar @$e, 1, 'DELIMITER |: one load error';
    is $e->[0][0], 5, '... at line 5 (the quoted field spans 2 to 4)';
    is $e->[0][1], 'id', '... column id';
    is $e->[0][2], '22P02', '... SQLSTATE 22P02';
    like $e->[0][3], qr/invalid input syntax for type bigint: "twelve"/,
         "... PostgreSQL's reason";
    is $e->[0][4], "globex|twelve|$kind|2026-01-01 00:00:00+00|3",
       '... the raw line';
}

# JSON lines, each compression: keys in any case, missing keys NULL,
# unknown keys ignored, numbers and strings, blank lines skipped.
for my $comp (qw(none gzip zstd)) {
    my ($url, $path, $key) = object('initech', 'events.json');
    my $kind = "t037-json-$comp";
    put_object($root, $key,
        qq<{"tenant_id":"initech","id":1,"kind":"$kind","amount":1.25,>
        . qq<"occurred_at":"2026-03-04 05:06:07+00"}\n>
        . qq<{"TENANT_ID":"initech","Id":"2","KIND":"$kind","extra":[1,2]}\n>
        . "\n  \n"
        . qq<{"tenant_id":"initech","id":3,"kind":"$kind","amount":null,>
        . qq<"nested":{"a":1}}\r\n>, $comp);
    my $r = execute($env, 'tenant_initech', copy_sql($url,
        q{FORMAT AS JSON 'auto'}
        . ($comp eq 'none' ? '' : ' ' . uc $comp) . ' MAXERROR 0'));
    is $r->{Status}, 'FINISHED', "JSON/$comp: FINISHED"
        or diag $r->{Error}, explain load_errors('tenant_initech', $url);
    is $r->{ResultRows}, 3, "JSON/$comp: ResultRows 3";
    is_deeply loaded("$kind%"), [
        ['initech', 1, $kind, '2026-03-04 05:06:07.000000', '1.25'],
        ['initech', 2, $kind, undef, undef],
        ['initech', 3, $kind, undef, undef],
    ], "JSON/$comp: keys matched case-insensitively, missing ones NULL";
}

# JSON lines that are not objects, are not JSON, or name a column twice:
# rejected with their line numbers (blank lines counted).
{
    my ($url, $path, $key) = object('initech', 'bad.json');
    my $kind = 't037-json-bad';
    put_object($root, $key,
        qq{{"tenant_id":"initech","id":1,"kind":"$kind"}\n}
        . qq{[1,2,3]\n}
        . qq{\n}
        . qq<{"tenant_id":"initech","id":2,"kind":"$kind"\n>
        . qq{{"tenant_id":"initech","ID":3,"id":4,"kind":"$kind"}\n}
        . qq{"just a string"\n}
        . qq{{"tenant_id":"initech","id":5,"kind":"$kind"}\n}, 'gzip');
    my $r = execute($env, 'tenant_initech', copy_sql($url,
        q{JSON 'auto' GZIP MAXERROR 10}));
    is $r->{Status}, 'FINISHED', 'bad JSON lines: FINISHED'
        or diag $r->{Error};
    is $r->{ResultRows}, 2, 'bad JSON lines: 2 rows loaded';
    my $e = load_errors('tenant_initech', $url);
    is_deeply [map { [$_->[0], $_->[2]] } @$e],
              [[2, '22P02'], [4, '22P02'], [5, '22P02'], [6, '22P02']],
              'bad JSON lines: lines 2, 4, 5 and 6 rejected';
    like $e->[0][3], qr/not a JSON object/, '... an array is not an object';
    like $e->[1][3], qr/^invalid JSON/, '... a cut line is not JSON';
    like $e->[2][3], qr/two keys name column "id"/,
         '... ID and id name the same column';
    is $e->[3][4], '"just a string"', '... raw lines as they were';
}

# Many bad values in one batch (each found by its parameter, then row by
# row once there are many); gzip members and zstd frames one after the
# other are one stream; an empty object loads nothing.
{
    my $kind = 't037-many';
    my ($csv, @bad) = ('');
    for my $i (1 .. 1500) {
        if ($i % 50 == 7) {
            $csv .= "acme,$i,$kind,,$i.5x\n";
            push @bad, $i;
        } else {
            $csv .= "acme,$i,$kind,,$i\n";
        }
    }
    my $half = index($csv, "\n", length($csv) / 2) + 1;
    for my $comp (qw(gzip zstd)) {
        $su->do(q{delete from events where kind = ?}, undef, $kind);
        my ($url, $path, $key) = object('acme', "many.$comp");
        put_object($root, $key,
                   compressed(substr($csv, 0, $half), $comp)
                   . compressed(substr($csv, $half), $comp), 'none');
        my $r = execute($env, 'tenant_acme', copy_sql($url,
            'CSV ' . uc($comp) . ' MAXERROR 100'));
        is $r->{Status}, 'FINISHED', "30 bad values, two ${comp} streams: "
           . 'FINISHED' or diag $r->{Error};
        is $r->{ResultRows}, 1470, '... 1,470 rows loaded';
        my ($n, $sum) = $su->selectrow_array(
            q{select count(*), sum(id) from events where kind = ?}, undef,
            $kind);
        my $want = 0;
        $want += $_ for grep { $_ % 50 != 7 } 1 .. 1500;
        is_deeply [$n, $sum], [1470, $want], '... exactly the good rows';
        my $e = load_errors('tenant_acme', $url);
        is_deeply [map { $_->[0] } @$e], \@bad,
                  '... the 30 bad ones listed by line';
        is_deeply [map { "$_->[1] $_->[2]" } @$e], [('amount 22P02') x 30],
                  '... column amount, 22P02';
    }

    my ($url, $path, $key) = object('acme', 'empty.csv');
    put_object($root, $key, '', 'none');
    my $r = execute($env, 'tenant_acme', copy_sql($url, 'CSV'));
    is $r->{Status}, 'FINISHED', 'an empty object: FINISHED';
    is $r->{ResultRows}, 0, '... 0 rows';
}

# A table with an array and a json column (loaded with one parameter per
# value, not as arrays of the column types): values exactly, a bad
# array rejected with its column.
{
    $su->do('drop table if exists t037_values');
    $su->do('create table t037_values (id bigint, tags text[], doc json, '
            . 'n numeric(5, 2))');
    $su->do('grant select, insert on t037_values to tenant_acme');
    my ($url, $path, $key) = object('acme', 'values.csv');
    put_object($root, $key,
        qq{1,"{a,""b c""}","{""k"": [1, 2]}",1.5\n}
        . qq{2,not an array,{},2\n}
        . qq{3,{},null,1234.567\n}
        . qq{4,,,\n}, 'none');
    my $r = execute($env, 'tenant_acme',
        qq{COPY t037_values FROM '$url' IAM_ROLE default CSV MAXERROR 2});
    is $r->{Status}, 'FINISHED', 'arrays and json: FINISHED'
        or diag $r->{Error};
    is $r->{ResultRows}, 2, '... 2 rows loaded, 2 rejected';
    is_deeply $su->selectall_arrayref(
        'select id, tags::text, doc::text, n::text from t037_values '
        . 'order by id'),
        [[1, '{a,"b c"}', '{"k": [1, 2]}', '1.50'], [4, undef, undef, undef]],
        '... the values exactly';
    is_deeply [map { [@$_[0, 1, 2]] } @{ load_errors('tenant_acme', $url) }],
              [[2, 'tags', '22P02'], [3, '', '22003']],
              '... a bad array (its column named: refused while binding) '
              . 'and an overflowing numeric (refused while inserting)';
    $su->do('drop table t037_values');
}

# Values that mean something inside an array literal (a batch of plain
# columns goes in as one text array a column): quotes, backslashes,
# braces, commas, the word NULL, blanks kept, an empty string apart from
# NULL, non-ASCII; the column's typmod applied as COPY applies it (a
# numeric rounded, a varchar too long refused).
{
    $su->do('drop table if exists t037_quote');
    $su->do('create table t037_quote (id bigint, note text, v varchar(5), '
            . 'n numeric(5, 2))');
    $su->do('grant select, insert on t037_quote to tenant_acme');
    my ($url, $path, $key) = object('acme', 'quote.csv');
    put_object($root, $key,
        qq|1,"a""b",x,1\n|
        . qq|2,back\\slash,"\\",2\n|
        . qq|3,"{x,y}","}",3\n|
        . qq|4,NULL,"NULL",4\n|
        . qq|5,"  spaced  "," ",5\n|
        . qq|6,"",,6\n|
        . qq|7,\x{c3}\x{bc}n\x{c3}\x{af},"{}",7\n|
        . qq|8,long,abcdef,8\n|
        . qq|9,"a,b",",",123.456\n|
        . qq| 10 ,"""{""",'',-0.005\n|, 'none');
    my $r = execute($env, 'tenant_acme',
        qq{COPY t037_quote FROM '$url' IAM_ROLE default CSV MAXERROR 1});
    is $r->{Status}, 'FINISHED', 'array-literal characters: FINISHED'
        or diag $r->{Error};
    is $r->{ResultRows}, 9, '... 9 rows loaded, 1 rejected';
    my $rows = $su->selectall_arrayref(
        'select id, note, v, n::text from t037_quote where id <> 7 '
        . 'order by id');
    is_deeply $rows,
        [[1, 'a"b', 'x', '1.00'], [2, 'back\slash', '\\', '2.00'],
         [3, '{x,y}', '}', '3.00'], [4, 'NULL', 'NULL', '4.00'],
         [5, '  spaced  ', ' ', '5.00'], [6, '', undef, '6.00'],
         [9, 'a,b', ',', '123.46'], [10, '"{"', "''", '-0.01']],
        '... every value as COPY reads it' or diag explain $rows;
    is_deeply $su->selectall_arrayref(
        q{select encode(convert_to(note, 'UTF8'), 'hex'), v from t037_quote }
        . q{where id = 7}), [['c3bc6ec3af', '{}']], '... UTF-8 kept';
    is_deeply [map { [@$_[0, 1, 2]] } @{ load_errors('tenant_acme', $url) }],
              [[8, '', '22001']], '... the varchar too long rejected by line';
    $su->do('drop table t037_quote');
}

# 100,000 rows per tenant, CSV+gzip; row-level security shows each tenant
# exactly its own rows, and the sums match.
for my $t (qw(acme globex initech)) {
    my ($url, $path, $key) = object($t, 'big.csv.gz');
    my $kind = "t037-big-$t";
    my $csv = "tenant_id,id,kind,occurred_at,amount\n";
    $csv .= "$t,$_,$kind,2026-01-01 00:00:00+00," . ($_ % 1000) / 100 . "\n"
        for 1 .. 100_000;
    put_object($root, $key, $csv, 'gzip');
    my $r = execute($env, "tenant_$t", copy_sql($url,
        'FORMAT AS CSV IGNOREHEADER 1 GZIP MAXERROR 0'));
    is $r->{Status}, 'FINISHED', "100,000 rows for $t: FINISHED"
        or diag $r->{Error};
    is $r->{ResultRows}, 100_000, "100,000 rows for $t: ResultRows";
    my ($n, $sum_id, $sum_amount) = $su->selectrow_array(
        q{select count(*), sum(id), sum(amount) from events where kind = ?},
        undef, $kind);
    is $n, 100_000, "$t: 100,000 rows in the table";
    is $sum_id, 5_000_050_000, "$t: sum(id)";
    is $sum_amount, '499500.00', "$t: sum(amount)";
}
for my $t (qw(acme globex initech)) {
    my $d = statement($env, "tenant_$t",
        q{select tenant_id, count(*) from events where kind like}
        . q{ 't037-big-%' group by 1 order by 1});
    is_deeply records_of($env, $d->{Id}), [[$t, 100_000]],
              "tenant_$t reads its 100,000 rows and no other tenant's";
}

# A row claiming another tenant: WITH CHECK refuses it, the whole load
# fails (nothing loaded), and the error names the line.
{
    my ($url, $path, $key) = object('acme', 'claim.csv');
    my $kind = 't037-claim';
    my $csv = '';
    $csv .= "acme,$_,$kind,,\n" for 1 .. 2500;
    $csv .= "globex,2501,$kind,,\n";
    $csv .= "acme,$_,$kind,,\n" for 2502 .. 3000;
    put_object($root, $key, $csv, 'none');
    my $r = execute($env, 'tenant_acme', copy_sql($url,
        'FORMAT AS CSV MAXERROR 100'));
    is $r->{Status}, 'FAILED', "another tenant's row: FAILED";
    like $r->{Error},
         qr/new row violates row-level security policy for table "events"/,
         "... with PostgreSQL's reason";
    like $r->{Error}, qr/SQLSTATE 42501/, '... and SQLSTATE';
    is scalar @{ loaded("$kind%") }, 0, '... nothing loaded';
    my $e = load_errors('tenant_acme', $url);
    is scalar @$e, 1, '... one load error';
    is_deeply [@{ $e->[0] }[0, 2, 4]], [2501, '42501', "globex,2501,$kind,,"],
              '... at line 2501, SQLSTATE 42501, its raw line';
}

# Malformed rows with MAXERROR n: skipped and listed with their raw lines;
# one more than MAXERROR loads nothing. The file's last record opens a
# quote it never closes.
my $acme_errors_url;
{
    my $kind = 't037-maxerror';
    my $csv = "acme,1,$kind,,\n"
              . "acme,2,$kind,,,extra\n"
              . "acme,3,$kind\n"
              . "acme,4,$kind,not a time,\n"
              . "acme,5,$kind,,12x\n"
              . "acme,7,$kind,,\n"
              . qq{acme,6,"$kind,,\n};
    my @want = ([2, '', '22P04', qr/extra data after last expected column/,
                 "acme,2,$kind,,,extra"],
                [3, 'occurred_at', '22P04',
                 qr/missing data for column "occurred_at"/, "acme,3,$kind"],
                [4, 'occurred_at', '22007',
                 qr/invalid input syntax for type timestamp with time zone/,
                 "acme,4,$kind,not a time,"],
                [5, 'amount', '22P02',
                 qr/invalid input syntax for type numeric: "12x"/,
                 "acme,5,$kind,,12x"],
                [7, '', '22P04', qr/unterminated CSV quoted field/,
                 qq{acme,6,"$kind,,\n}]);

    my ($url, $path, $key) = object('acme', 'malformed.csv.zst');
    put_object($root, $key, $csv, 'zstd');
    my $r = execute($env, 'tenant_acme', copy_sql($url,
        'FORMAT AS CSV ZSTD MAXERROR 5'));
    is $r->{Status}, 'FINISHED', 'MAXERROR 5, 5 bad rows: FINISHED'
        or diag $r->{Error};
    is $r->{ResultRows}, 2, '... the 2 good rows loaded';
    is_deeply [map { $_->[1] } @{ loaded("$kind%") }], [1, 7],
              '... rows 1 and 7';
    my $e = load_errors('tenant_acme', $url);
    is scalar @$e, 5, '... 5 load errors';
    for my $i (0 .. $#want) {
        my ($line, $col, $code, $msg, $raw) = @{ $want[$i] };
        is_deeply [@{ $e->[$i] }[0, 1, 2, 4]], [$line, $col, $code, $raw],
                  "... line $line: column '$col', $code, its raw line";
        like $e->[$i][3], $msg, "... line $line: the reason";
    }
    $acme_errors_url = $url;

    $su->do(q{delete from events where kind = ?}, undef, $kind);
    ($url, $path, $key) = object('acme', 'malformed.csv.zst');
    put_object($root, $key, $csv, 'zstd');
    $r = execute($env, 'tenant_acme', copy_sql($url,
        'FORMAT AS CSV ZSTD MAXERROR 4'));
    is $r->{Status}, 'FAILED', 'MAXERROR 4, 5 bad rows: FAILED';
    like $r->{Error},
         qr/Load into table 'events' failed\. Check 'sys_load_error_detail'/,
         '... as Redshift says it';
    is scalar @{ loaded("$kind%") }, 0, '... nothing loaded';
    is scalar @{ load_errors('tenant_acme', $url) }, 5,
       '... all 5 rejected records listed (the fifth failed the load)';
}

# Another tenant cannot read the load errors, nor the table behind them,
# nor write any.
{
    is scalar @{ load_errors('tenant_globex', $acme_errors_url) }, 0,
       "globex sees none of acme's load errors";
    is scalar @{ load_errors('tenant_acme', $acme_errors_url) }, 5,
       '... which acme sees';
    my $d = statement($env, 'tenant_globex',
        'select count(*) from sys_load_error_detail where user_name <> '
        . 'current_user');
    is_deeply records_of($env, $d->{Id}), [[0]],
              'sys_load_error_detail shows only its own rows';
    $d = statement($env, 'tenant_globex',
                   'select * from spectra_load.load_errors');
    is $d->{Status}, 'FAILED', 'the table behind it is not readable';
    like $d->{Error}, qr/permission denied for schema spectra_load/,
         '... permission denied';
    $d = statement($env, 'tenant_globex',
        q{select spectra_load.record_errors('tenant_acme', 'x', 'y', now(),}
        . q{ '[]')});
    is $d->{Status}, 'FAILED', 'a tenant cannot record load errors';
}

# Hostile and broken sources: clear errors, nothing loaded.
{
    my $kind = 't037-hostile';
    make_path("$objects/../t037-outside");
    open my $fh, '>', "$objects/../t037-outside/secret.csv" or die $!;
    print $fh "acme,1,$kind,,\n";
    close $fh;

    my ($st, $b) = call($env, 'ExecuteStatement', {
        Sql => copy_sql("s3://$bucket/../../t037-outside/secret.csv",
                        'CSV'),
        Database => 'warehouse', ClusterIdentifier => 'demo',
        DbUser => 'tenant_acme' });
    is $st, 400, 'a source with .. names: 400';
    like $b->{message}, qr/may not hold a "\." or "\.\." name/,
         '... refused before it runs';

    my ($url, $path, $key) = object('acme', 'link.csv');
    make_path("$root/t037/tenant=acme/job=$job");
    symlink "$objects/../t037-outside/secret.csv", $path or die $!;
    my $r = execute($env, 'tenant_acme', copy_sql($url, 'CSV'));
    is $r->{Status}, 'FAILED', 'a symbolic link: FAILED';
    like $r->{Error}, qr/the source is a symbolic link.*58030/,
         '... the source is a symbolic link';

    make_path("$root/t037/tenant=acme");
    symlink "$objects/../t037-outside", "$root/t037/tenant=acme/dirlink"
        or die $!;
    $r = execute($env, 'tenant_acme', copy_sql(
        "s3://$bucket/t037/tenant=acme/dirlink/secret.csv", 'CSV'));
    is $r->{Status}, 'FAILED', 'a directory symbolic link: FAILED';
    like $r->{Error}, qr/leads through a symbolic link/,
         '... the source leads through a symbolic link';

    ($url) = object('acme', 'missing.csv');
    $r = execute($env, 'tenant_acme', copy_sql($url, 'CSV'));
    is $r->{Status}, 'FAILED', 'a missing object: FAILED';
    like $r->{Error}, qr/\Q$url\E.*the specified S3 object does not exist/,
         '... does not exist';

    my $csv = '';
    $csv .= "acme,$_,$kind,,\n" for 1 .. 20000;
    for my $comp (qw(gzip zstd)) {
        ($url, $path, $key) = object('acme', "cut.$comp");
        put_object($root, $key, $csv, $comp);
        truncate $path, int((-s $path) / 2) or die $!;
        $r = execute($env, 'tenant_acme', copy_sql($url,
            'CSV ' . uc $comp));
        is $r->{Status}, 'FAILED', "truncated $comp: FAILED";
        like $r->{Error}, qr/the $comp data is truncated/,
             "... the $comp data is truncated";

        ($url, $path, $key) = object('acme', "corrupt.$comp");
        put_object($root, $key, "acme,1,$kind,,\n" x 10, 'none');
        $r = execute($env, 'tenant_acme', copy_sql($url,
            'CSV ' . uc $comp));
        is $r->{Status}, 'FAILED', "not $comp data: FAILED";
        like $r->{Error}, qr/the $comp data is corrupt/,
             "... the $comp data is corrupt";
    }
    is scalar @{ loaded("$kind%") }, 0, 'nothing loaded from any of them';

    ($url, $path, $key) = object('acme', 'dir.csv');
    make_path($path);
    $r = execute($env, 'tenant_acme', copy_sql($url, 'CSV'));
    is $r->{Status}, 'FAILED', 'a directory as the object: FAILED';
    like $r->{Error}, qr/not a regular file/, '... not a regular file';
}

# Statements the daemon refuses before they run, and tables a tenant may
# not load.
{
    for my $c (
        [copy_sql("s3://$bucket/t037/x.csv", 'CSV IGNOREHEADER 2'),
         qr/IGNOREHEADER needs 0 or 1/],
        [qq{COPY "ev""ents" FROM 's3://$bucket/t037/x.csv' IAM_ROLE default},
         qr/plain identifier/],
        [qq{COPY events FROM 's3://$bucket/t037/x.csv' IAM_ROLE default }
         . q{DELIMITER ''''}, qr/DELIMITER needs one character/],
        [qq{COPY events FROM '/etc/passwd' IAM_ROLE default},
         qr{must be s3://bucket/key}],
        [qq{COPY events FROM 's3://$bucket/t037/x.csv' IAM_ROLE default; }
         . q{drop table events}, qr/unexpected text after the COPY/],
        [qq{COPY events TO 's3://$bucket/t037/x.csv'}, qr/expected FROM/])
    {
        my ($st, $b) = call($env, 'ExecuteStatement', {
            Sql => $c->[0], Database => 'warehouse',
            ClusterIdentifier => 'demo', DbUser => 'tenant_acme' });
        is $st, 400, "refused: $c->[0]";
        like $b->{message}, $c->[1], '... with the reason';
    }

    my ($st, $b) = call($env, 'ExecuteStatement', {
        Sql => copy_sql("s3://$bucket/t037/x.csv", 'CSV'),
        Parameters => [{ name => 'a', value => '1' }],
        Database => 'warehouse', ClusterIdentifier => 'demo',
        DbUser => 'tenant_acme' });
    is $st, 400, 'COPY with parameters: 400';
    like $b->{message}, qr/COPY takes no parameters/, '... no parameters';

    my ($url, $path, $key) = object('acme', 'sales.csv');
    put_object($root, $key, "1,acme,emea,1,1,1,,f,,2026-01-01,"
                            . "2026-01-01 00:00:00+00\n", 'none');
    my $r = execute($env, 'tenant_acme',
        qq{COPY sales FROM '$url' IAM_ROLE default CSV});
    is $r->{Status}, 'FAILED', 'a table without INSERT: FAILED';
    like $r->{Error}, qr/permission denied for table sales.*42501/,
         '... permission denied';

    $r = execute($env, 'tenant_acme',
        qq{COPY nowhere FROM '$url' IAM_ROLE default CSV});
    is $r->{Status}, 'FAILED', 'a missing table: FAILED';
    like $r->{Error}, qr/relation "nowhere" does not exist.*42P01/,
         '... does not exist';

    $r = execute($env, 'tenant_acme',
        qq{COPY "Public"."EVENTS" FROM '$url' IAM_ROLE default CSV});
    is $r->{Status}, 'FAILED', 'names fold to lower case (as Redshift)';
    like $r->{Error}, qr/missing data|extra data|Load into table 'events'/,
         '... so "EVENTS" is events: the sales row has too many fields';
}

# A load that waits, mid-way, on a row lock the superuser holds: a key it
# inserted into a table with a primary key and has not committed, in the
# sixth batch of the file, after five batches (5,000 rows) went in. $act
# runs once the load's backend is seen waiting; returns the described end,
# and how many rows stayed once the lock is gone.
sub blocked_load {
    my ($denv, $act) = @_;
    $su->do('drop table if exists t037_lock');
    $su->do('create table t037_lock (tenant_id text, id bigint primary '
            . 'key, kind text, occurred_at timestamptz, amount numeric)');
    $su->do('alter table t037_lock enable row level security');
    $su->do(q{create policy p on t037_lock using (true) with check }
            . q{(tenant_id = 'acme')});
    $su->do('grant select, insert on t037_lock to tenant_acme');

    my ($url, $path, $key) = object('acme', 'lock.csv');
    my $csv = '';
    $csv .= "acme,$_,t037-lock,,\n" for 1 .. 10000;
    put_object($root, $key, $csv, 'none');

    my $lock = DBI->connect("dbi:Pg:host=127.0.0.1;"
                            . "port=$ENV{TEST_NGINX_PG_PORT};dbname=warehouse",
                            'postgres', undef,
                            { RaiseError => 1, AutoCommit => 0,
                              PrintError => 0 });
    $lock->do(q{insert into t037_lock values ('acme', 5500, 'lock', }
              . q{null, null)});

    my $id = submit($denv, 'tenant_acme',
        qq{COPY t037_lock FROM '$url' IAM_ROLE default CSV});
    my $waiting = 0;
    for (1 .. 600) {
        ($waiting) = $su->selectrow_array(
            q{select count(*) from pg_stat_activity where usename = }
            . q{'tenant_acme' and wait_event_type = 'Lock' and query like }
            . q{'insert into "t037_lock"%'});
        last if $waiting;
        select undef, undef, undef, 0.1;
    }
    is $waiting, 1, "the load waits on the superuser's uncommitted row";
    $act->($id);
    my $r = wait_done($denv, $id);
    $lock->rollback;
    $lock->disconnect;
    my ($n) = $su->selectrow_array('select count(*) from t037_lock');
    $su->do('drop table t037_lock');
    return ($r, $n);
}

# CancelStatement mid-load: nothing of it stays.
{
    my ($r, $n) = blocked_load($env, sub {
        my ($st) = call($env, 'CancelStatement', { Id => $_[0] });
        is $st, 200, 'CancelStatement: 200';
    });
    is $r->{Status}, 'ABORTED', 'the cancelled load is ABORTED';
    is $n, 0, 'nothing of it stays (its first 5,000 rows rolled back)';
}

# The statement deadline: a daemon of its own with a 2 s bound; the
# waiting load runs out of time and leaves nothing.
{
    my $port = ($ENV{SPECTRA_PORT_BASE} // 55400) + 41;
    my $d = start_daemon($port, '--export-dir', $objects,
                         '--statement-timeout-seconds', '2');
    my ($r, $n) = blocked_load($d, sub { });
    is $r->{Status}, 'FAILED', 'the load past its deadline FAILS';
    like $r->{Error}, qr/statement timeout.*57014/, '... statement timeout';
    is $n, 0, '... and leaves nothing';
    is stop_daemon($d), 0, 'that daemon stops cleanly';
}

# In a batch: the batch is one transaction; a later statement's failure
# rolls the load back, and its rejected records stay listed.
{
    my ($url, $path, $key) = object('globex', 'batch.csv');
    my $kind = 't037-batch';
    put_object($root, $key, "globex,1,$kind,,\nglobex,x,$kind,,\n", 'none');
    my ($st, $b) = call($env, 'BatchExecuteStatement', {
        Sqls => [copy_sql($url, 'CSV MAXERROR 1'), 'select 1/0'],
        Database => 'warehouse', ClusterIdentifier => 'demo',
        DbUser => 'tenant_globex' });
    is $st, 200, 'BatchExecuteStatement with a COPY: 200';
    my $r = wait_done($env, $b->{Id});
    is $r->{Status}, 'FAILED', '... FAILED by its second statement';
    is scalar @{ loaded("$kind%") }, 0, '... the load rolled back';
    my $e = load_errors('tenant_globex', $url);
    is_deeply [map { [@$_[0, 1, 2]] } @$e], [[2, 'id', '22P02']],
              "... its rejected record listed for globex";
}

# Memory: a 1,000,000-row load holds a batch, not the file. A daemon of
# its own, so that other statements do not move its peak RSS (VmHWM); a
# table of its own, dropped after.
{
    $su->do('drop table if exists t037_big');
    $su->do('create table t037_big (tenant_id text, id bigint, kind text, '
            . 'occurred_at timestamptz, amount numeric)');
    $su->do('grant select, insert on t037_big to tenant_acme');
    my $port = ($ENV{SPECTRA_PORT_BASE} // 55400) + 42;
    my $d = start_daemon($port, '--export-dir', $objects);
    my $hwm = sub {
        open my $fh, '<', "/proc/$d->{pid}/status" or die;
        my ($kb) = map { /^VmHWM:\s+(\d+) kB/ ? $1 : () } <$fh>;
        return $kb;
    };
    my ($url, $path, $key) = object('acme', 'warm.csv.gz');
    put_object($root, $key, "acme,1,warm,,\n", 'gzip');
    my $r = statement($d, 'tenant_acme',
        qq{COPY t037_big FROM '$url' IAM_ROLE default CSV GZIP});
    is $r->{Status}, 'FINISHED', 'a first small load' or diag $r->{Error};
    my $idle = $hwm->();

    ($url, $path, $key) = object('acme', 'million.csv.gz');
    my $csv = '';
    $csv .= "acme,$_,t037-million,2026-01-01 00:00:00+00,$_.25\n"
        for 1 .. 1_000_000;
    put_object($root, $key, $csv, 'gzip');
    my $t0 = time;
    $r = statement($d, 'tenant_acme',
        qq{COPY t037_big FROM '$url' IAM_ROLE default CSV GZIP});
    is $r->{Status}, 'FINISHED', '1,000,000 rows: FINISHED'
        or diag $r->{Error};
    is $r->{ResultRows}, 1_000_000, '... all of them';
    my ($n, $sum) = $su->selectrow_array(
        q{select count(*), sum(id) from t037_big where kind = 't037-million'});
    is_deeply [$n, $sum], [1_000_000, 500_000_500_000], '... in the table';
    my $peak = $hwm->();
    diag sprintf '1,000,000 rows (%.1f MB of CSV, %.1f MB gzip) in %d s; '
                 . 'spectra-dataapi peak RSS (VmHWM) %.1f MB idle, %.1f MB '
                 . 'after (+%.1f MB)', length($csv) / 1e6, (-s $path) / 1e6,
                 time - $t0, $idle / 1024, $peak / 1024,
                 ($peak - $idle) / 1024;
    SKIP: {
        skip 'valgrind holds memory of its own', 1
            if $ENV{SPECTRA_DATAAPI_VALGRIND};
        cmp_ok $peak - $idle, '<', 30 * 1024,
               'peak RSS grows by less than 30 MB (the file is ~50 MB)';
    }
    is stop_daemon($d), 0, 'that daemon stops cleanly';
    $su->do('drop table t037_big');
}

done_testing();
