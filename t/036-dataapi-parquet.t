# spectra-dataapi's UNLOAD ... FORMAT PARQUET into the local object store
# ($TEST_NGINX_OBJECTS_DIR): every file is read back by two readers that
# share no code with the writer, hyparquet and DuckDB (npm), and every
# value is compared with what PostgreSQL prints for the same rows
# (t/data/parquet/lib/SpectraParquet.pm). Cases: every supported type with
# its edge values (extremes, NaN and infinities, -0, empty and non-ASCII
# and long strings, BC dates, all-NULL columns), one row, zero rows, many
# row groups and pages (the fixture's daemon writes 256 KiB row groups),
# dictionary pages and the fallback to PLAIN, MAXFILESIZE parts, the
# manifest, row-level security, the refusals: unsupported types and
# values (a clear error, no file), compression options; and memory
# bounded by the row group for a 1,000,000-row export.

use strict;
use warnings;

use lib "$ENV{SPECTRA_REPO}/t/data/dataapi";
use lib "$ENV{SPECTRA_REPO}/t/data/parquet/lib";
use DataAPI;
use SpectraParquet;
use File::Path qw(remove_tree);
use Test::More;

my $env = fixture_env();
die "TEST_NGINX_OBJECTS_DIR is not set: run the suites with make test\n"
    unless $ENV{TEST_NGINX_OBJECTS_DIR};

my $objects = $ENV{TEST_NGINX_OBJECTS_DIR};
my $bucket = 'spectra-exports';

remove_tree("$objects/$bucket/t036");

sub slurp {
    my ($path) = @_;
    open my $fh, '<:raw', $path or die "$path: $!";
    return do { local $/; <$fh> };
}

sub ls {
    my ($dir) = @_;
    opendir my $dh, $dir or return ();
    return sort grep { !/^\.\.?$/ } readdir $dh;
}

my $job = 0;

sub target {
    $job++;
    my $key = "t036/job=$job/";
    return ("s3://$bucket/$key", "$objects/$bucket/t036/job=$job", $key);
}

# UNLOAD's literal: backslashes and quotes escaped.
sub literal {
    my ($q) = @_;
    return $q =~ s/\\/\\\\/gr =~ s/'/\\'/gr;
}

sub unload {
    my ($user, $query, $url, $more) = @_;
    return statement($env, $user,
        "UNLOAD ('" . literal($query) . "') TO '$url' IAM_ROLE default "
        . 'FORMAT PARQUET MANIFEST VERBOSE' . ($more ? " $more" : ''));
}

# The manifest lists exactly the files, with their sizes and rows.
sub check_manifest {
    my ($dir, $key, $rows, $what) = @_;
    my $m = json_decode(slurp("$dir/manifest"));
    my (@files, $records, $bytes);
    ($records, $bytes) = (0, 0);
    for my $e (@{ $m->{entries} }) {
        my ($name) = $e->{url} =~ m{^s3://\Q$bucket/$key\E([^/]+)$}
            or fail("$what: manifest url $e->{url}"), next;
        like $name, qr/^0000_part_\d\d\.parquet$/,
             "$what: $name is named as Redshift's";
        is $e->{meta}{content_length}, -s "$dir/$name",
           "$what: $name content_length is its size";
        is substr(slurp("$dir/$name"), 0, 4), 'PAR1', "$what: $name: PAR1";
        push @files, "$dir/$name";
        $records += $e->{meta}{record_count};
        $bytes += $e->{meta}{content_length};
    }
    is $records, $rows, "$what: record_count adds up to the $rows rows";
    is_deeply $m->{meta}, { content_length => $bytes,
                            record_count => $records },
              "$what: meta totals the entries";
    is_deeply [ls($dir)], [sort(map { m{([^/]+)$} } @files), 'manifest'],
              "$what: nothing but the listed files and the manifest";
    return ($m, @files);
}

# Every supported type, by its PostgreSQL type; the values go in as text
# and are cast, so that typmods stay (numeric(p, s)).
my @cols = (
    [b => 'boolean'], [i2 => 'smallint'], [i4 => 'integer'],
    [i8 => 'bigint'], [f4 => 'real'], [f8 => 'double precision'],
    [n5 => 'numeric(5,2)'], [n18 => 'numeric(18,4)'],
    [n20 => 'numeric(20,0)'], [n38 => 'numeric(38,10)'],
    [t => 'text'], [vc => 'varchar(10)'], [ch => 'char(3)'],
    [d => 'date'], [ts => 'timestamp'], [tz => 'timestamptz'],
    [by => 'bytea'], [u => 'uuid'], ['all null' => 'integer'],
);
my @rows = (
    [qw(f -32768 -2147483648 -9223372036854775808 -3.4028235e+38
        -1.7976931348623157e+308 -999.99 -99999999999999.9999
        -99999999999999999999 -9999999999999999999999999999.9999999999),
     '', '', 'a', '4713-01-01 BC', '4713-01-01 00:00:00 BC',
     '4713-01-01 00:00:00+00 BC', '\x',
     '00000000-0000-0000-0000-000000000000', undef],
    [qw(t 32767 2147483647 9223372036854775807 3.4028235e+38
        1.7976931348623157e+308 999.99 99999999999999.9999
        99999999999999999999 9999999999999999999999999999.9999999999),
     "\x{fc}n\x{ef} \x{65e5}\x{672c} \x{1f389}", "\x{fc}", 'abc',
     '5874897-12-31', '294246-12-31 23:59:59.999999',
     '294246-12-31 23:59:59.999999+00', '\xff00',
     'ffffffff-ffff-ffff-ffff-ffffffffffff', undef],
    [undef, 0, 0, 0, 'NaN', 'Infinity', '0.00', '-0.0001', 0,
     '0.0000000001', \"repeat('long ', 20000)", "tab\tnl\n\"q\"", undef,
     '1970-01-01', '1970-01-01 00:00:00', '1969-12-31 23:59:59.999999+00',
     '\x00', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', undef],
    ['t', 1, -1, -1, '1.4e-45', '-Infinity', '-0.01', '1.5', -1,
     '-0.5', 'plain ascii', undef, 'x', '2000-02-29',
     '2024-01-01 10:00:00.5', '2024-01-01 10:00:00.123456-05:30', undef,
     undef, undef],
    ['f', undef, undef, undef, '-0', '-0', undef, undef, undef, undef,
     undef, 'z', undef, '0001-01-01', undef, undef, '\x', undef, undef],
    [(undef) x @cols],
);

sub sql_text {
    my ($v) = @_;
    return 'null' unless defined $v;
    return $$v if ref $v;
    return "'" . ($v =~ s/'/''/gr) . "'";
}

sub id { return '"' . ($_[0] =~ s/"/""/gr) . '"' }

my $values = join ",\n", map {
    my $r = $_;
    '(' . join(', ', map { sql_text($_) } @$r) . ')'
} @rows;
my $every = 'select '
    . join(', ', map { "v.c$_\::$cols[$_][1] as " . id($cols[$_][0]) }
                 0 .. $#cols)
    . " from (values $values) as v("
    . join(', ', map { "c$_" } 0 .. $#cols) . ')';
utf8::encode($every);                   # the statement's bytes: UTF-8

my %types = (
    hyparquet => join("\t", 'b:BOOLEAN', 'i2:INT32/INTEGER(16,signed)',
        'i4:INT32/INTEGER(32,signed)', 'i8:INT64/INTEGER(64,signed)',
        'f4:FLOAT', 'f8:DOUBLE', 'n5:INT32/DECIMAL(5,2)',
        'n18:INT64/DECIMAL(18,4)', 'n20:FIXED_LEN_BYTE_ARRAY/DECIMAL(20,0)',
        'n38:FIXED_LEN_BYTE_ARRAY/DECIMAL(38,10)', 't:BYTE_ARRAY/STRING',
        'vc:BYTE_ARRAY/STRING', 'ch:BYTE_ARRAY/STRING', 'd:INT32/DATE',
        'ts:INT64/TIMESTAMP(local,MICROS)', 'tz:INT64/TIMESTAMP(UTC,MICROS)',
        'by:BYTE_ARRAY', 'u:FIXED_LEN_BYTE_ARRAY/UUID',
        'all null:INT32/INTEGER(32,signed)'),
    duckdb => join("\t", 'b:BOOLEAN', 'i2:SMALLINT', 'i4:INTEGER',
        'i8:BIGINT', 'f4:FLOAT', 'f8:DOUBLE', 'n5:DECIMAL(5,2)',
        'n18:DECIMAL(18,4)', 'n20:DECIMAL(20,0)', 'n38:DECIMAL(38,10)',
        't:VARCHAR', 'vc:VARCHAR', 'ch:VARCHAR', 'd:DATE', 'ts:TIMESTAMP',
        'tz:TIMESTAMP WITH TIME ZONE', 'by:BLOB', 'u:UUID',
        'all null:INTEGER'),
);

# Every type and edge value; then one row; then none.
for my $c (['every type and edge value', $every, scalar @rows],
           ['one row', "$every limit 1", 1],
           ['zero rows', "select * from ($every) as e where false", 0])
{
    my ($what, $query, $n) = @$c;
    my ($url, $dir, $key) = target();
    my $r = unload('tenant_acme', $query, $url);
    is $r->{Status}, 'FINISHED', "$what: FINISHED" or diag $r->{Error};
    is $r->{ResultRows}, $n, "$what: ResultRows $n";
    my ($m, @files) = check_manifest($dir, $key, $n, $what);
    is scalar @files, 1, "$what: one file";
    is_deeply [map { $_->{name} } @{ $m->{schema}{elements} }],
              [map { $_->[0] } @cols], "$what: the manifest's schema";
    same_rows($what, $query, \@cols, \@files, \%types);
}

# The file's own metadata: SNAPPY pages, statistics in each type's order
# (signed integers and decimals, UTF-8 as unsigned bytes, floats without
# NaN), null counts.
{
    my ($url, $dir) = target();
    my $r = unload('tenant_acme', $every, $url);
    is $r->{Status}, 'FINISHED', 'metadata: FINISHED';
    my %meta = map { $_->{path_in_schema} => $_ }
               @{ parquet_meta("$dir/0000_part_00.parquet") };
    is_deeply [sort map { $_->{compression} } values %meta],
              [('SNAPPY') x @cols], 'every column chunk is SNAPPY';
    is $meta{i8}{stats_min_value}, '-9223372036854775808', 'int8 min';
    is $meta{i8}{stats_max_value}, '9223372036854775807', 'int8 max';
    is $meta{i8}{stats_null_count}, 2, 'int8: 2 NULLs';
    is $meta{n38}{stats_min_value},
       '-9999999999999999999999999999.9999999999', 'numeric(38,10) min';
    is $meta{n5}{stats_max_value}, '999.99', 'numeric(5,2) max';
    is $meta{t}{stats_min_value}, '', 'text min: the empty string';
    is $meta{vc}{stats_max_value}, "\x{fc}",
       'varchar max: ü, above ASCII as unsigned bytes';
    is $meta{f4}{stats_min_value}, '-3.4028235e+38', 'real min';
    is $meta{f4}{stats_max_value}, '3.4028235e+38',
       'real max: the largest, NaN left out';
    is $meta{'all null'}{stats_null_count}, scalar @rows,
       'the all-NULL column: every row NULL';
    ok !defined $meta{'all null'}{stats_min_value},
       'and no min or max';
}

# Many rows: row groups of 256 KiB, pages inside them, dictionaries for
# repetitive columns, PLAIN for distinct ones, the dictionary's fallback
# to PLAIN when it outgrows its bound (64 KiB at this row group size).
{
    my $query = 'select i, (i % 7)::text as k7, '
        . 'md5((i % 2500)::text) as k2500, md5(i::text) as distinct_md5, '
        . 'case when i % 3 = 0 then null else i::int end as third_null, '
        . '(i * 1.01)::numeric(12,2) as amount, '
        . "timestamptz '2024-01-01 00:00:00+00' + i * interval '1 second' "
        . 'as at from generate_series(1, 30000) as i order by i';
    my @gcols = ([i => 'bigint'], [k7 => 'text'], [k2500 => 'text'],
                 [distinct_md5 => 'text'], [third_null => 'integer'],
                 [amount => 'numeric(12,2)'], [at => 'timestamptz']);
    my ($url, $dir, $key) = target();
    my $r = unload('tenant_acme', $query, $url);
    is $r->{Status}, 'FINISHED', 'row groups: FINISHED' or diag $r->{Error};
    my ($m, @files) = check_manifest($dir, $key, 30000, 'row groups');
    same_rows('row groups', $query, \@gcols, \@files);

    my $meta = parquet_meta($files[0]);
    my %groups = map { $_->{row_group_id} => $_->{row_group_num_rows} }
                 @$meta;
    cmp_ok scalar keys %groups, '>=', 4, 'several row groups';
    my $sum = 0;
    $sum += $_ for values %groups;
    is $sum, 30000, 'their rows add up';
    my %enc;
    for my $c (@$meta) {
        push @{ $enc{$c->{path_in_schema}} }, $c->{encodings};
    }
    ok !(grep { !/RLE_DICTIONARY/ } @{ $enc{k7} }),
       'k7 (7 values): a dictionary in every row group';
    ok !(grep { /DICTIONARY/ } @{ $enc{distinct_md5} }),
       'distinct values: PLAIN in every row group';
    ok scalar(grep { !/DICTIONARY/ } @{ $enc{k2500} }),
       'k2500 (2,500 values of 36 bytes): the dictionary outgrows 64 KiB '
       . 'and falls back to PLAIN';
    my @i = grep { $_->{path_in_schema} eq 'i' } @$meta;
    is $i[0]{stats_min_value}, '1', 'row group 0 starts at i = 1';
    is $i[-1]{stats_max_value}, '30000', 'the last ends at 30000';
    is $i[$_]{stats_min_value}, $i[$_ - 1]{stats_max_value} + 1,
       "row group $_ follows row group " . ($_ - 1) for 1 .. $#i;
}

# MAXFILESIZE: parts of at most 5 MB, named as Redshift's, together
# exactly the rows.
{
    my $query = 'select i, md5(i::text) || md5((i + 1)::text) as h '
                . 'from generate_series(1, 250000) as i';
    my ($url, $dir, $key) = target();
    my $r = unload('tenant_acme', $query, $url, 'MAXFILESIZE 5 MB');
    is $r->{Status}, 'FINISHED', 'MAXFILESIZE: FINISHED' or diag $r->{Error};
    my ($m, @files) = check_manifest($dir, $key, 250000, 'MAXFILESIZE');
    cmp_ok scalar @files, '>=', 2, 'several parts';
    is $files[$_], "$dir/0000_part_0$_.parquet", "part $_" for 0 .. $#files;
    cmp_ok -s $_, '<=', 5 * 1024 * 1024, "$_ is at most 5 MB" for @files;
    same_rows('MAXFILESIZE', $query, [[i => 'integer'], [h => 'text']],
              \@files);
}

# Row-level security: the tenant's own rows, as the tenant sees them.
{
    my $query = 'select * from sales where id <= 20000';
    my ($url, $dir, $key) = target();
    my $r = unload('tenant_globex', $query, $url);
    is $r->{Status}, 'FINISHED', 'globex sales: FINISHED' or diag $r->{Error};
    my ($m, @files) = check_manifest($dir, $key, 6000, 'globex sales');
    same_rows('globex sales',
              "$query and tenant_id = 'globex'",
              [[id => 'bigint'], [tenant_id => 'text'], [region => 'text'],
               [product_id => 'integer'], [quantity => 'smallint'],
               [amount => 'numeric(12,2)'], [discount => 'double precision'],
               [returned => 'boolean'], [note => 'text'],
               [sale_date => 'date'], [sold_at => 'timestamptz']],
              \@files);
}

# Types without an exact Parquet form: the UNLOAD fails before any file
# is written, and says which column and what to do.
for my $c (
    ['select 1 as a, \'{}\'::json as j',
     'column "j" has a type (oid 114) that UNLOAD cannot write to Parquet'],
    ['select interval \'1 day\' as i',
     'column "i" has a type (oid 1186) that UNLOAD cannot write to '
     . 'Parquet'],
    ['select array[1, 2] as arr', 'column "arr" has a type (oid 1007)'],
    ['select sum(amount) as total from sales',
     'column "total" is a numeric without a precision, which Parquet '
     . 'cannot hold exactly: cast it, as in total::numeric(18,2)'],
    ['select 1.5::numeric(40,2) as wide',
     'column "wide" is a numeric wider than Parquet\'s decimals'])
{
    my ($query, $msg) = @$c;
    my ($url, $dir) = target();
    my $r = unload('tenant_acme', $query, $url);
    is $r->{Status}, 'FAILED', "$query: FAILED";
    like $r->{Error}, qr/^ERROR: UNLOAD: FORMAT PARQUET: \Q$msg\E/,
         "$query: $msg";
    is_deeply [ls($dir)], [], "$query: no file";
}

# Values without an exact form: the error names the column; no file is
# left, not even the parts written before the bad row.
for my $c (
    ['select i, (case when i = 200000 then \'NaN\'::numeric else i end)'
     . '::numeric(10,0) as n from generate_series(1, 200000) as i',
     'column "n": a numeric without an exact decimal (NaN or an infinity)'],
    ['select \'infinity\'::date as d', 'column "d": a date that is not a '
     . 'finite ISO date (YYYY-MM-DD)'],
    ['select \'-infinity\'::timestamptz as t', 'column "t": a timestamp '
     . 'that is not a finite ISO timestamp'],
    ['select \'294270-01-01\'::timestamp as t', 'column "t": a timestamp '
     . 'that is not a finite ISO timestamp within the years INT64 '
     . 'microseconds hold'])
{
    my ($query, $msg) = @$c;
    my ($url, $dir) = target();
    my $r = unload('tenant_acme', $query, $url, 'MAXFILESIZE 5 MB');
    is $r->{Status}, 'FAILED', "$msg: FAILED";
    is $r->{Error}, "ERROR: UNLOAD: FORMAT PARQUET: $msg (SQLSTATE 58030)",
       "$msg: said";
    is_deeply [ls($dir)], [], "$msg: no file left";
}

# PostgreSQL's error after many rows (several parts written) fails the
# UNLOAD with no file left; a VALUES list is a query like any other.
{
    my ($url, $dir) = target();
    my $r;
    $r = unload('tenant_acme', 'select i, 1 / (250000 - i) as q from '
                . 'generate_series(1, 300000) as i', $url,
                'MAXFILESIZE 5 MB');
    is $r->{Status}, 'FAILED', "PostgreSQL's error after many rows: "
       . 'FAILED';
    like $r->{Error}, qr/division by zero.*22012/, '... its error';
    is_deeply [ls($dir)], [], '... no file left';

    ($url, $dir) = target();
    $r = unload('tenant_acme', "values (1, 'a'), (2, null)", $url);
    is $r->{Status}, 'FINISHED', 'VALUES: FINISHED' or diag $r->{Error};
    is $r->{ResultRows}, 2, '... 2 rows';
}

# Options Redshift refuses with PARQUET: ValidationExceptions.
for my $c (['GZIP', 'UNLOAD: PARQUET UNLOAD takes no GZIP or ZSTD'],
           ['ZSTD', 'UNLOAD: PARQUET UNLOAD takes no GZIP or ZSTD'],
           ['HEADER', 'UNLOAD: HEADER and DELIMITER apply only to CSV and '
                      . 'text UNLOAD'])
{
    my ($st, $b) = call($env, 'ExecuteStatement',
        { Sql => "UNLOAD ('select 1') TO 's3://$bucket/t036/bad/' "
                 . "IAM_ROLE default FORMAT PARQUET $c->[0]",
          Database => 'warehouse', ClusterIdentifier => 'demo',
          DbUser => 'tenant_acme' });
    is $st, 400, "PARQUET $c->[0]: 400";
    is $b->{__type}, 'ValidationException', "PARQUET $c->[0]: "
                                            . 'ValidationException';
    like $b->{message}, qr/^\Q$c->[1]\E/, "PARQUET $c->[0]: $c->[1]";
}

# Memory: a 1,000,000-row export holds one row group at a time. A daemon
# of its own with 4 MiB row groups, so that other statements do not move
# its peak RSS (VmHWM): the growth stays within a few row groups (the
# buffers double as they grow; a page's compression buffers on top).
{
    my $port = ($ENV{SPECTRA_PORT_BASE} // 55400) + 41;
    my $exports = "/tmp/spectra-dataapi-test-$port/objects";
    my $group = 4 * 1024 * 1024;
    remove_tree($exports);
    my $d = start_daemon($port, '--export-dir', $exports,
                         '--parquet-row-group-bytes', $group);
    my $hwm = sub {
        open my $fh, '<', "/proc/$d->{pid}/status" or die;
        my ($kb) = map { /^VmHWM:\s+(\d+) kB/ ? $1 : () } <$fh>;
        return $kb * 1024;
    };
    my $r = statement($d, 'tenant_acme',
        "UNLOAD ('select 1 as a') TO 's3://$bucket/warm/' IAM_ROLE default "
        . 'FORMAT PARQUET MANIFEST VERBOSE');
    is $r->{Status}, 'FINISHED', 'a first small UNLOAD';
    my $idle = $hwm->();
    my $q = 'select i, md5(i::text) as h, (i * 1.25)::numeric(12,2) as x, '
            . "timestamptz '2025-01-01' + i * interval '1 s' as t, "
            . 'i % 3 = 0 as b from generate_series(1, 1000000) i';
    $r = statement($d, 'tenant_acme',
        "UNLOAD ('" . literal($q) . "') TO 's3://$bucket/big/' "
        . 'IAM_ROLE default FORMAT PARQUET MANIFEST VERBOSE');
    is $r->{Status}, 'FINISHED', '1,000,000 rows as Parquet';
    is $r->{ResultRows}, 1000000, 'all of them';
    my $file = "$exports/$bucket/big/0000_part_00.parquet";
    my $m = json_decode(slurp("$exports/$bucket/big/manifest"));
    is $m->{meta}{record_count}, 1000000, 'the manifest counts them';
    my $meta = parquet_meta($file);
    my %groups = map { $_->{row_group_id} => 1 } @$meta;
    cmp_ok scalar keys %groups, '>', 10, 'in many row groups';
    my $peak = $hwm->();
    diag sprintf 'Parquet: %.1f MB for 1,000,000 rows in %d row groups; '
                 . 'spectra-dataapi VmHWM %.1f MB idle, %.1f MB after '
                 . '(+%.1f MB, row groups of %.0f MB)', (-s $file) / 1e6,
                 scalar keys %groups, $idle / 1e6, $peak / 1e6,
                 ($peak - $idle) / 1e6, $group / 1e6;
    cmp_ok $peak - $idle, '<', 3 * $group + 8 * 1024 * 1024,
           'peak RSS grows by less than 3 row groups and 8 MiB';
    is stop_daemon($d), 0, 'the daemon stops cleanly';
    remove_tree($exports);
}

remove_tree("$objects/$bucket/t036");

done_testing();
