# spectra-dataapi's UNLOAD into the local object store (--export-dir,
# $TEST_NGINX_OBJECTS_DIR): Debian's AWS CLI sends the statements; the
# files are read back by other code than the daemon's (Python's gzip, csv
# and json modules with zstd(1), and DuckDB) and compared with what
# PostgreSQL computes for the tenant. Also: file names and the manifest as
# Redshift writes them, RFC 4180 CSV and JSON lines byte for byte, row-level
# security, hostile targets, MAXFILESIZE, failures that leave no file, and
# flat memory for a 1,000,000-row export.

use strict;
use warnings;

use lib "$ENV{SPECTRA_REPO}/t/data/dataapi";
use DataAPI;
use DBI;
use File::Path qw(make_path remove_tree);
use IO::Uncompress::Gunzip qw(gunzip $GunzipError);
use Test::More;

my $env = fixture_env();
die "TEST_NGINX_OBJECTS_DIR is not set: run the suites with make test\n"
    unless $ENV{TEST_NGINX_OBJECTS_DIR};

my $objects = $ENV{TEST_NGINX_OBJECTS_DIR};
my $bucket = 'spectra-exports';
my $data = "$ENV{SPECTRA_REPO}/t/data/unload";
my @columns = qw(id tenant_id region product_id quantity amount discount
                 returned note sale_date sold_at);

# this suite's files only, from a run before in the same fixture
remove_tree("$objects/$bucket/t035", "$objects/../t035-outside");
unlink "$objects/t035-bucket";

my $su = DBI->connect("dbi:Pg:host=127.0.0.1;port=$ENV{TEST_NGINX_PG_PORT};"
                      . 'dbname=warehouse', 'postgres', undef,
                      { RaiseError => 1, AutoCommit => 1, PrintError => 0 })
    or die "superuser connection: $DBI::errstr";

# What PostgreSQL says a tenant's rows hold (the superuser sees all rows).
sub expected {
    my ($tenant, $where) = @_;
    my $r = $su->selectrow_hashref(
        'select count(*) as rows, sum(id) as sum_id, sum(amount) as '
        . 'sum_amount, sum(quantity) as sum_quantity, count(note) as notes, '
        . 'count(discount) as discounts, count(*) filter (where returned) '
        . 'as returned from sales where tenant_id = ? and ('
        . ($where // 'true') . ')', undef, $tenant);
    $r->{$_} += 0 for grep { $_ ne 'sum_amount' } keys %$r;
    return $r;
}

sub slurp {
    my ($path) = @_;
    open my $fh, '<:raw', $path or die "$path: $!";
    return do { local $/; <$fh> };
}

# The bytes of a part file, decompressed by gzip's and zstd's own tools.
sub content {
    my ($path) = @_;
    my $out;
    if ($path =~ /\.gz$/) {
        gunzip($path => \$out) or die "gunzip $path: $GunzipError";
    } elsif ($path =~ /\.zst$/) {
        open my $fh, '-|', 'zstd', '-dc', '--', $path or die "zstd: $!";
        binmode $fh;
        $out = do { local $/; <$fh> };
        close $fh or die "zstd -dc $path failed";
    } else {
        $out = slurp($path);
    }
    return $out;
}

sub run_json {
    my (@cmd) = @_;
    open my $fh, '-|', @cmd or die "$cmd[0]: $!";
    my $out = do { local $/; <$fh> };
    close $fh or die "@cmd[0, 1] failed";
    return json_decode($out);
}

# Python's reader: rows, tenants, sums, lines per file.
sub python_read {
    my ($format, $header, @files) = @_;
    return run_json('/usr/bin/python3', "$data/read_export.py", $format,
                    ($header ? '--header' : ()), @files);
}

# DuckDB's reader, with the table's own types.
sub duckdb_read {
    my ($format, $header, @files) = @_;
    my $list = join ', ', map { "'$_'" } @files;
    my $cols = '{' . join(', ', map { "'$_->[0]': '$_->[1]'" }
        [id => 'BIGINT'], [tenant_id => 'VARCHAR'], [region => 'VARCHAR'],
        [product_id => 'INTEGER'], [quantity => 'SMALLINT'],
        [amount => 'DECIMAL(12,2)'], [discount => 'DOUBLE'],
        [returned => 'BOOLEAN'], [note => 'VARCHAR'],
        [sale_date => 'DATE'], [sold_at => 'VARCHAR']) . '}';
    my $from = $format eq 'csv'
        ? "read_csv([$list], header = " . ($header ? 'true' : 'false')
          . ", columns = $cols)"
        : "read_json([$list], format = 'newline_delimited', "
          . "columns = $cols)";
    my $rows = run_json('node', "$data/duckdb-query.mjs",
        'select count(*) as rows, sum(id) as sum_id, sum(amount) as '
        . 'sum_amount, sum(quantity) as sum_quantity, count(note) as notes, '
        . 'count(discount) as discounts, count_if(returned) as returned, '
        . "string_agg(distinct tenant_id, ',') as tenants from $from");
    return $rows->[0];
}

# UNLOAD through the AWS CLI as db user; returns the described end.
sub cli_unload {
    my ($user, $sql) = @_;
    return execute($env, $user, $sql);
}

sub manifest {
    my ($dir, $prefix) = @_;
    return json_decode(slurp("$dir/${prefix}manifest"));
}

sub ls {
    my ($dir) = @_;
    opendir my $dh, $dir or return ();
    return sort grep { !/^\.\.?$/ } readdir $dh;
}

# Every file the manifest lists is there with its size and record count;
# nothing else is; the totals add up. Returns the files' paths.
sub check_manifest {
    my ($m, $dir, $key, $ext, $header, $rows, $what) = @_;
    my @files;
    my ($bytes, $records) = (0, 0);
    for my $e (@{ $m->{entries} }) {
        my ($name) = $e->{url} =~ m{^s3://\Q$bucket/$key\E([^/]+)$}
            or fail("$what: manifest url $e->{url}"), next;
        my $path = "$dir/$name";
        push @files, $path;
        is $e->{meta}{content_length}, -s $path,
           "$what: $name content_length is its size on disk";
        my $lines = () = content($path) =~ /\n/g;
        is $e->{meta}{record_count}, $lines,
           "$what: $name record_count is its lines"
           . ($header ? ' (header included, as Redshift counts)' : '');
        $bytes += $e->{meta}{content_length};
        $records += $e->{meta}{record_count};
    }
    my @names = map { m{([^/]+)$} } @files;
    is_deeply [ls($dir)], [sort @names, 'manifest'],
              "$what: the directory holds the listed files and the manifest";
    like $_, qr/^0000_part_\d\d\Q$ext\E$/, "$what: $_ is named as Redshift's"
        for @names;
    is_deeply $m->{meta}, { content_length => $bytes,
                            record_count => $records },
              "$what: meta totals the entries";
    is $records, $rows + ($header ? scalar @files : 0),
       "$what: the records are the rows" . ($header ? ' and headers' : '');
    is_deeply [map { $_->{name} } @{ $m->{schema}{elements} }], \@columns,
              "$what: schema names the columns";
    is_deeply $m->{author}, { name => 'spectra-dataapi',
                              version => '0.1.0' }, "$what: author";
    return @files;
}

sub compare {
    my ($got, $want, $what) = @_;
    is $got->{rows}, $want->{rows}, "$what: $want->{rows} rows";
    for my $k (qw(sum_id sum_quantity notes discounts returned)) {
        is $got->{$k} + 0, $want->{$k}, "$what: $k = $want->{$k}";
    }
    is sprintf('%.2f', $got->{sum_amount}), $want->{sum_amount},
       "$what: sum(amount) = $want->{sum_amount}";
}

my $job = 0;

sub target {
    my ($tenant) = @_;
    $job++;
    my $key = "t035/tenant=$tenant/job=$job/";
    return ("s3://$bucket/$key",
            "$objects/$bucket/t035/tenant=$tenant/job=$job", $key);
}

# Round trips: each format and compression, through the AWS CLI, as the
# tenant; all of acme's 600,000 rows once.
for my $c (['tenant_acme', 'acme', 'csv', 'gzip', undef, 0],
           ['tenant_acme', 'acme', 'json', 'zstd', 'id <= 250000', 0],
           ['tenant_globex', 'globex', 'csv', 'zstd', 'id <= 200000', 1],
           ['tenant_globex', 'globex', 'json', 'gzip', 'id <= 200000', 0],
           ['tenant_initech', 'initech', 'csv', 'none', 'id <= 300000', 1],
           ['tenant_initech', 'initech', 'json', 'none', 'id <= 300000', 0])
{
    my ($user, $tenant, $format, $comp, $where, $header) = @$c;
    my ($url, $dir, $key) = target($tenant);
    my $what = "$tenant $format/$comp" . ($header ? '/header' : '');
    my $inner = 'select * from sales'
                . (defined $where ? " where $where" : '') . ' order by id';
    my $r = cli_unload($user,
        "UNLOAD ('$inner') TO '$url' IAM_ROLE default FORMAT "
        . uc($format) . ($header ? ' HEADER' : '')
        . ($comp eq 'none' ? '' : ' ' . uc $comp) . ' MANIFEST VERBOSE');
    my $want = expected($tenant, $where);
    is $r->{Status}, 'FINISHED', "$what: FINISHED" or diag $r->{Error};
    is $r->{ResultRows}, $want->{rows}, "$what: ResultRows";
    ok !$r->{HasResultSet}, "$what: no result set";
    my $ext = { gzip => '.gz', zstd => '.zst', none => '' }->{$comp};
    my @files = check_manifest(manifest($dir, ''), $dir, $key, $ext,
                               $header, $want->{rows}, $what);

    my $py = python_read($format, $header, @files);
    compare($py, $want, "$what, Python");
    is_deeply $py->{tenants}, [$tenant], "$what: only $tenant\'s rows";

    my $duck = duckdb_read($format, $header, @files);
    compare($duck, $want, "$what, DuckDB");
    is $duck->{tenants}, $tenant, "$what: DuckDB sees only $tenant";
}

# Row-level security: acme's export of globex's rows is empty, and the
# inner query runs as the db user itself.
{
    my ($url, $dir) = target('acme');
    my $r = cli_unload('tenant_acme',
        "UNLOAD ('select * from sales where tenant_id = \\'globex\\'') "
        . "TO '$url' IAM_ROLE default FORMAT CSV HEADER MANIFEST VERBOSE");
    is $r->{Status}, 'FINISHED', "acme's UNLOAD of globex's rows FINISHES";
    is $r->{ResultRows}, 0, 'with no rows';
    is content("$dir/0000_part_00"), join(',', @columns) . "\n",
       'its one file holds the header only';
    is manifest($dir, '')->{meta}{record_count}, 1,
       'record_count 1: the header';

    ($url, $dir) = target('acme');
    $r = statement($env, 'tenant_acme',
        "UNLOAD ('select current_user, session_user') TO '$url' "
        . 'IAM_ROLE default');
    is content("$dir/0000_part_00"), "tenant_acme|tenant_acme\n",
       'the query runs as the db user (text format, | between values)';
}

# CSV per RFC 4180, byte for byte: quotes, delimiters, CR, LF, NULL,
# UTF-8; the header quoted the same way; DELIMITER changes what needs
# quotes.
{
    my $q = q{select 1 as id, \'a,b\' as "x,y", \'say "hi"\' as q, }
            . q{E\'one\\\\ntwo\' as lf, E\'cr\\\\rx\' as cr, null::text as n, }
            . q{\'\' as empty, \'ünï|\' as u, \'plain\' as "p""q"};
    my ($url, $dir) = target('acme');
    my $r = statement($env, 'tenant_acme',
        "UNLOAD ('$q') TO '$url' IAM_ROLE default CSV HEADER");
    is $r->{Status}, 'FINISHED', 'CSV with hostile values' or diag $r->{Error};
    is content("$dir/0000_part_00"),
       qq{id,"x,y",q,lf,cr,n,empty,u,"p""q"\n}
       . qq{1,"a,b","say ""hi""","one\ntwo","cr\rx",,,ünï|,plain\n},
       'quoted when needed, quotes doubled, NULL and empty string empty';

    ($url, $dir) = target('acme');
    $r = statement($env, 'tenant_acme',
        "UNLOAD ('$q') TO '$url' IAM_ROLE default CSV DELIMITER AS '|'");
    is content("$dir/0000_part_00"),
       qq{1|a,b|"say ""hi"""|"one\ntwo"|"cr\rx"|||"ünï|"|plain\n},
       'DELIMITER | quotes the |, not the comma';

    # what PostgreSQL's COPY writes otherwise (spectra-dataapi reads CSV
    # with COPY ... NULL '\N'): a \N value, backslashes, a lone \.
    ($url, $dir) = target('acme');
    $r = statement($env, 'tenant_acme',
        q{UNLOAD ('select \'\\\\N\' as a, null::text as b, }
        . q{\'x\\\\Ny\' as c, \'\\\\N"\' as d, \'\' as e, }
        . q{\'\\\\\' as f') }
        . "TO '$url' IAM_ROLE default CSV");
    is $r->{Status}, 'FINISHED', 'backslashes' or diag $r->{Error};
    is content("$dir/0000_part_00"), qq{\\N,,x\\Ny,"\\N""",,\\\n},
       'a \N value is \N, NULL empty, backslashes as they are'
        or diag $r->{Error};

    ($url, $dir) = target('acme');
    $r = statement($env, 'tenant_acme',
        q{UNLOAD ('select \'\\\\.\' as dot union all select null }
        . q{union all select \'"\\\\."\'') }
        . "TO '$url' IAM_ROLE default CSV");
    is $r->{Status}, 'FINISHED', 'a lone \\.' or diag $r->{Error};
    is content("$dir/0000_part_00"), qq{\\.\n\n"""\\."""\n},
       'one column: a lone \. as it is, NULL an empty line';

    ($url, $dir) = target('acme');
    $r = statement($env, 'tenant_acme',
        "UNLOAD ('select 1 as one; -- a comment; at the end') TO '$url' "
        . 'IAM_ROLE default CSV HEADER');
    is content("$dir/0000_part_00"), "one\n1\n",
       'a query ending in ";" and a comment' or diag $r->{Error};

    ($url, $dir) = target('acme');
    $r = statement($env, 'tenant_acme',
        "UNLOAD ('select \\'aNb\\' as x, null::text as y, 2 as z') "
        . "TO '$url' IAM_ROLE default CSV DELIMITER AS 'N'");
    is content("$dir/0000_part_00"), qq{"aNb"NN2\n},
       'DELIMITER N quotes the N; NULL still empty';

    ($url, $dir) = target('acme');
    $r = statement($env, 'tenant_acme',
        "UNLOAD ('insert into sales default values') TO '$url' "
        . 'IAM_ROLE default CSV');
    is $r->{Status}, 'FAILED', 'a statement without rows: FAILED';
    like $r->{Error}, qr/must return rows/, '... as it must return rows';
    is_deeply [ls($dir)], [], '... and no file';

    ($url, $dir) = target('acme');
    $r = statement($env, 'tenant_acme',
        "UNLOAD ('$q') TO '$url' IAM_ROLE default DELIMITER AS '\t' HEADER");
    is content("$dir/0000_part_00"),
       qq{id\tx,y\tq\tlf\tcr\tn\tempty\tu\tp"q\n}
       . qq{1\ta,b\tsay "hi"\tone\ntwo\tcr\rx\t\t\tünï|\tplain\n},
       'text format: values as they are, tab delimiter, header';
}

# JSON lines, byte for byte: numbers with PostgreSQL's digits, NaN and
# infinity as strings, booleans, null, other types as their text.
{
    my $q = q{select 42::int2 as s, 9007199254740993::int8 as b, }
            . q{1.50::numeric(5,2) as n, \'NaN\'::numeric as nn, }
            . q{0.1::float8 as f, \'-Infinity\'::float8 as fi, }
            . q{1e300::float8 as big, true as t, false as ff, }
            . q{null::int as z, date \'2025-01-02\' as d, }
            . q{timestamptz \'2025-01-01 00:00:06+00\' as ts, }
            . q{\'{"a": [1, "x"]}\'::json as j, }
            . q{E\'tab\\\\t"q"\\\\\\\\\' as "k""ey", }
            . q{\'ü\' as u, interval \'1 day\' as i};
    my ($url, $dir) = target('acme');
    my $r = statement($env, 'tenant_acme',
        "UNLOAD ('$q') TO '$url' IAM_ROLE default FORMAT JSON");
    is $r->{Status}, 'FINISHED', 'JSON with every kind of value'
        or diag $r->{Error};
    is content("$dir/0000_part_00"),
       '{"s":42,"b":9007199254740993,"n":1.50,"nn":"NaN","f":0.1,'
       . '"fi":"-Infinity","big":1e+300,"t":true,"ff":false,"z":null,'
       . '"d":"2025-01-02","ts":"2025-01-01 00:00:06+00",'
       . '"j":"{\"a\": [1, \"x\"]}","k\"ey":"tab\t\"q\"\\\\",'
       . qq|"u":"ü","i":"1 day"}\n|,
       'typed, exact, escaped';
    my $obj = json_decode(content("$dir/0000_part_00"));
    is $obj->{b}, 9007199254740993, 'a JSON reader gets the int8 exactly';

    ($url, $dir) = target('acme');
    $r = statement($env, 'tenant_acme',
        "UNLOAD ('select 1 as a, 2 as a') TO '$url' IAM_ROLE default JSON");
    is $r->{Status}, 'FAILED', 'JSON with a repeated column name FAILS';
    is $r->{Error}, 'ERROR: UNLOAD: FORMAT JSON needs unique column names: '
                    . '"a" is repeated (SQLSTATE 58030)', 'and says why';
    is_deeply [ls($dir)], [], 'and leaves no file';
}

# Names: PARALLEL OFF, a name prefix, MANIFEST without VERBOSE.
{
    my ($url, $dir, $key) = target('acme');
    my $r = statement($env, 'tenant_acme',
        "UNLOAD ('select id from sales where id <= 20') TO '${url}venue_' "
        . 'IAM_ROLE default PARALLEL OFF GZIP MANIFEST');
    is $r->{Status}, 'FINISHED', 'PARALLEL OFF with a name prefix';
    is_deeply [ls($dir)], ['venue_000.gz', 'venue_manifest'],
              'files <prefix>000.gz and <prefix>manifest';
    is_deeply manifest($dir, 'venue_'),
              { entries => [{ url => "s3://$bucket/${key}venue_000.gz",
                              meta => { content_length =>
                                        -s "$dir/venue_000.gz" } }] },
              'MANIFEST alone: entries with url and content_length only';
    is content("$dir/venue_000.gz"), join('', map { "$_\n" }
                                              1 .. 5, 10 .. 15, 20),
       "the file holds acme's ids";
}

# MAXFILESIZE: parts of at most that size, each with its header.
{
    my ($url, $dir, $key) = target('acme');
    my $r = cli_unload('tenant_acme',
        "UNLOAD ('select * from sales order by id') TO '$url' "
        . 'IAM_ROLE default CSV HEADER GZIP MAXFILESIZE 5 MB '
        . 'MANIFEST VERBOSE');
    is $r->{Status}, 'FINISHED', 'MAXFILESIZE 5 MB, CSV GZIP';
    my $want = expected('acme');
    my @files = check_manifest(manifest($dir, ''), $dir, $key, '.gz', 1,
                               $want->{rows}, 'MAXFILESIZE');
    cmp_ok scalar @files, '>=', 2, 'acme\'s 10 MB of gzip: several parts';
    is $files[$_], "$dir/0000_part_0$_.gz", "part $_ is 0000_part_0$_.gz"
        for 0 .. $#files;
    cmp_ok -s $_, '<=', 5 * 1024 * 1024, "$_ is at most 5 MB" for @files;
    like content($_), qr/^id,tenant_id,/, "$_ starts with the header"
        for @files;
    compare(duckdb_read('csv', 1, @files), $want, 'MAXFILESIZE, DuckDB');

    ($url, $dir) = target('acme');
    $r = statement($env, 'tenant_acme',
        "UNLOAD ('select * from sales where id <= 300000') TO '$url' "
        . 'IAM_ROLE default PARALLEL OFF MAXFILESIZE 5 MB');
    my @names = ls($dir);
    is_deeply [@names[0 .. 2]], ['000', '001', '002'],
              'PARALLEL OFF uncompressed: 000, 001, 002, ...';
    cmp_ok -s "$dir/$_", '<=', 5 * 1024 * 1024, "$_ is at most 5 MB"
        for @names;
    cmp_ok -s "$dir/000", '>', 5 * 1024 * 1024 - 1000,
           'and a part is full before the next begins';
}

# Bad UNLOADs are ValidationExceptions, before anything runs.
for my $c (
    ['FORMAT PARQUET GZIP', 'UNLOAD: PARQUET UNLOAD takes no GZIP or ZSTD'],
    ['GZIP ZSTD', 'UNLOAD: repeated UNLOAD option at line 1, column 79'],
    ['VERBOSE', 'UNLOAD: unsupported UNLOAD option at line 1, column 74'],
    ['MAXFILESIZE 4 MB', 'UNLOAD: MAXFILESIZE must be between 5 MB and '
                         . '6348 MB'],
    ['JSON HEADER', 'UNLOAD: HEADER and DELIMITER apply only to CSV and '
                    . 'text UNLOAD'],
    ['ALLOWOVERWRITE', 'UNLOAD: unsupported UNLOAD option at line 1, '
                       . 'column 74'])
{
    my ($st, $b) = call($env, 'ExecuteStatement',
        { Sql => "UNLOAD ('select 1') TO 's3://$bucket/t035/bad/' "
                 . "IAM_ROLE default $c->[0]",
          Database => 'warehouse', ClusterIdentifier => 'demo',
          DbUser => 'tenant_acme' });
    is $st, 400, "UNLOAD ... $c->[0]: 400";
    is $b->{__type}, 'ValidationException', "$c->[0]: ValidationException";
    is $b->{message}, $c->[1], "$c->[0]: $c->[1]";
}

# Hostile targets: refused before anything is written, and nothing is
# written outside the export directory.
my $outside = "$objects/../t035-outside";
my $dots = qr/may not hold a "\." or "\.\." name/;
remove_tree($outside);
make_path($outside, "$objects/$bucket/t035/trap");
symlink $outside, "$objects/$bucket/t035/link" or die "symlink: $!";
symlink $outside, "$objects/t035-bucket" or die "symlink: $!";
{
    open my $fh, '>', "$objects/$bucket/t035/file" or die;
    close $fh;
}
for my $c (
    ["s3://$bucket/../t035-outside/", 400, $dots],
    ["s3://$bucket/t035/../../x/", 400, $dots],
    ["s3://$bucket/./t035/", 400, $dots],
    ["s3://../t035-outside/", 400, qr/with a bucket of 3 to 63 lowercase/],
    ["s3:///etc/", 400, qr/with a bucket of 3 to 63 lowercase/],
    ["s3://$bucket//etc/", 400, qr/may not hold an empty name/],
    ['/etc/x', 400, qr{the target must be s3://bucket/prefix}],
    ["s3://$bucket", 400, qr{with a bucket of 3 to 63}],
    ["s3://Spectra-Exports/x/", 400, qr/with a bucket of 3 to 63 lowercase/],
    ["s3://$bucket/t035/a%2F../", 400, qr/a character other than/],
    ["s3://$bucket/t035/ü/", 400, qr/a character other than/],
    ["s3://$bucket/t035/" . ('x' x 224) . '/', 400,
     qr/a name longer than 223 bytes/],
    ["s3://$bucket/t035/link/", 'FAILED',
     qr/the target leads through a symbolic link or a file/],
    ["s3://$bucket/t035/link/deeper/", 'FAILED',
     qr/the target leads through a symbolic link or a file/],
    ["s3://t035-bucket/x/", 'FAILED',
     qr/the target leads through a symbolic link or a file/],
    ["s3://$bucket/t035/file/x/", 'FAILED',
     qr/the target leads through a symbolic link or a file/])
{
    my ($target, $want, $msg) = @$c;
    my ($st, $b) = call($env, 'ExecuteStatement',
        { Sql => "UNLOAD ('select 1') TO '$target' IAM_ROLE default",
          Database => 'warehouse', ClusterIdentifier => 'demo',
          DbUser => 'tenant_acme' });
    if ($want eq '400') {
        is $st, 400, "target $target: 400";
        like $b->{message}, $msg, "target $target: $msg";
        next;
    }
    is $st, 200, "target $target: accepted";
    my $r = wait_done($env, $b->{Id});
    is $r->{Status}, 'FAILED', "target $target: FAILED";
    like $r->{Error}, $msg, "target $target: $msg";
}
is_deeply [ls($outside)], [], 'nothing was written outside the export dir';

# Existing files are never overwritten, whatever their name.
{
    my ($url, $dir) = target('acme');
    make_path($dir);
    for my $name ('0000_part_00', 'notes.txt') {
        open my $fh, '>', "$dir/$name" or die;
        print $fh "keep\n";
        close $fh;
        my $r = statement($env, 'tenant_acme',
            "UNLOAD ('select 1') TO '$url' IAM_ROLE default MANIFEST");
        is $r->{Status}, 'FAILED', "a destination holding $name: FAILED";
        is $r->{Error}, 'ERROR: UNLOAD: Specified unload destination is not '
                        . 'empty (SQLSTATE 58030)', 'destination not empty';
        is slurp("$dir/$name"), "keep\n", "$name is untouched";
        unlink "$dir/$name";
    }
    is_deeply [ls($dir)], [], 'and no file was added';

    # a name prefix only minds files that start with it
    open my $fh, '>', "$dir/other_0000_part_00" or die;
    close $fh;
    my $r = statement($env, 'tenant_acme',
        "UNLOAD ('select 1') TO '${url}mine_' IAM_ROLE default");
    is $r->{Status}, 'FINISHED', 'another prefix in the same directory';
    is_deeply [ls($dir)], ['mine_0000_part_00', 'other_0000_part_00'],
              'writes next to it';
}

# A failure after rows were written removes what the UNLOAD wrote.
{
    my ($url, $dir) = target('acme');
    my $r = statement($env, 'tenant_acme',
        "UNLOAD ('select i, 1 / (300000 - i) from generate_series(1, "
        . "300000) i') TO '$url' IAM_ROLE default GZIP MANIFEST VERBOSE");
    is $r->{Status}, 'FAILED', 'division by zero at the last row: FAILED';
    is $r->{Error}, 'ERROR: division by zero (SQLSTATE 22012)',
       "PostgreSQL's error";
    is_deeply [ls($dir)], [], 'no file is left';
}

# CancelStatement while rows are being written: ABORTED, no file left.
{
    my ($url, $dir) = target('acme');
    my $id = submit($env, 'tenant_acme',
        "UNLOAD ('select i, case when i = 200000 then pg_sleep(60) end "
        . "from generate_series(1, 300000) i') TO '$url' IAM_ROLE default");
    my $seen;
    for (1 .. 600) {
        last if $seen = -s "$dir/0000_part_00";
        select undef, undef, undef, 0.05;
    }
    ok $seen, 'rows reach the file while the query runs';
    my ($st) = call($env, 'CancelStatement', { Id => $id });
    is $st, 200, 'CancelStatement';
    is wait_done($env, $id)->{Status}, 'ABORTED', 'the UNLOAD is ABORTED';
    is_deeply [ls($dir)], [], 'and its file is removed';
}

# Memory: a 1,000,000-row export holds no rows in memory. A daemon of its
# own, so that other statements do not move its peak RSS (VmHWM).
{
    my $port = ($ENV{SPECTRA_PORT_BASE} // 55400) + 40;
    my $exports = "/tmp/spectra-dataapi-test-$port/objects";
    remove_tree($exports);
    my $d = start_daemon($port, '--export-dir', $exports);
    my $hwm = sub {
        open my $fh, '<', "/proc/$d->{pid}/status" or die;
        my ($kb) = map { /^VmHWM:\s+(\d+) kB/ ? $1 : () } <$fh>;
        return $kb;
    };
    # the code paths, libraries and a connection in place first
    my $r = statement($d, 'tenant_acme',
        "UNLOAD ('select 1') TO 's3://$bucket/warm/' IAM_ROLE default "
        . 'GZIP MANIFEST VERBOSE');
    is $r->{Status}, 'FINISHED', 'a first small UNLOAD';
    $r = statement($d, 'tenant_acme',
        "UNLOAD ('select 1') TO 's3://$bucket/warm2/' IAM_ROLE default "
        . 'ZSTD JSON');
    my $idle = $hwm->();
    my $q = q{select i, md5(i::text) as h, i * 1.25 as x, }
            . q{timestamptz \'2025-01-01\' + i * interval \'1 s\' as t, }
            . q{i % 3 = 0 as b from generate_series(1, 1000000) i};
    for my $c (['CSV', 'GZIP', '.gz'], ['JSON', 'ZSTD', '.zst']) {
        $r = statement($d, 'tenant_acme',
            "UNLOAD ('$q') TO 's3://$bucket/big-$c->[1]/' IAM_ROLE default "
            . "FORMAT $c->[0] $c->[1] MANIFEST VERBOSE");
        is $r->{Status}, 'FINISHED', "1,000,000 rows, $c->[0] $c->[1]";
        is $r->{ResultRows}, 1000000, 'all of them';
        my $m = json_decode(slurp("$exports/$bucket/big-$c->[1]/manifest"));
        is $m->{meta}{record_count}, 1000000, 'the manifest counts them';
        my $raw = content("$exports/$bucket/big-$c->[1]/0000_part_00$c->[2]");
        my $lines = () = $raw =~ /\n/g;
        is $lines, 1000000, 'and the file holds them';
        diag sprintf '%s %s: %.1f MB uncompressed, %.1f MB on disk',
                     $c->[0], $c->[1], length($raw) / 1e6,
                     $m->{meta}{content_length} / 1e6;
    }
    my $peak = $hwm->();
    diag sprintf 'spectra-dataapi peak RSS (VmHWM): %.1f MB idle, %.1f MB '
                 . 'after two 1,000,000-row UNLOADs (+%.1f MB)',
                 $idle / 1024, $peak / 1024, ($peak - $idle) / 1024;
    SKIP: {
        skip 'valgrind holds memory of its own', 1
            if $ENV{SPECTRA_DATAAPI_VALGRIND};
        cmp_ok $peak - $idle, '<', 30 * 1024,
               'peak RSS grows by less than 30 MB (the rows are ~100 MB)';
    }
    is stop_daemon($d), 0, 'the daemon stops cleanly';
    remove_tree($exports);
}

done_testing();
