package SpectraParquet;

# Reads Parquet files back for t/036 and t/068 with two readers from npm
# (hyparquet, DuckDB: t/data/parquet/canon.mjs) and compares every value
# with what PostgreSQL prints for the same rows, in the same canonical
# text (canon.mjs describes it), sorted: same_rows() passes when the
# files hold exactly the query's rows, each reader on its own.

use strict;
use warnings;

use Exporter 'import';
use File::Temp qw(tempdir);
use Test::More;

our @EXPORT = qw(pg_canon_sql read_canon same_rows parquet_meta);

my $repo = $ENV{SPECTRA_REPO} // $ENV{TEST_NGINX_REPO};
my $tmp = tempdir('spectra-parquet-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $n = 0;

# The canonical text of a PostgreSQL value of each type (NULL aside).
my %canon = (
    boolean => q{case when %s then 't' else 'f' end},
    smallint => '%s::text', integer => '%s::text', bigint => '%s::text',
    real => q{encode(float4send(%s), 'hex')},
    'double precision' => q{encode(float8send(%s), 'hex')},
    numeric => '%s::text',
    text => q{encode(convert_to(concat(%s), 'UTF8'), 'hex')},
    date => q{(%s - date '1970-01-01')::text},
    timestamp => q{(extract(epoch from %s) * 1000000)::bigint::text},
    timestamptz => q{(extract(epoch from %s) * 1000000)::bigint::text},
    bytea => q{encode(%s, 'hex')},
    uuid => '%s::text',
);

# The query that prints $sql's rows canonically; $cols: [[name, type]].
sub pg_canon_sql {
    my ($sql, $cols) = @_;
    my @exprs;
    for my $c (@$cols) {
        my ($name, $type) = @$c;
        (my $base = $type) =~ s/\(.*//;
        $base = 'text' if $base =~ /^(?:varchar|character|char|name)/;
        my $fmt = $canon{$base} or die "no canonical form for $type";
        my $id = '"' . ($name =~ s/"/""/gr) . '"';
        push @exprs, "case when q.$id is null then '\\N' else "
                     . sprintf($fmt, "q.$id") . ' end';
    }
    return 'select ' . join(" || E'\\t' || ", @exprs)
           . " from ($sql) as q";
}

sub run_to_file {
    my ($file, @cmd) = @_;
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        open STDOUT, '>', $file or die "$file: $!";
        exec @cmd or exit 127;
    }
    waitpid $pid, 0;
    return $? == 0;
}

sub sorted {
    my ($in, $out, $skip) = @_;
    open my $fh, '<:raw', $in or die "$in: $!";
    my $header;
    $header = <$fh> if $skip;
    chomp $header if defined $header;
    my @lines = <$fh>;
    close $fh;
    open my $oh, '>:raw', $out or die "$out: $!";
    print $oh sort @lines;
    close $oh;
    return ($header, scalar @lines);
}

# The canonical lines a reader makes of @files (sorted, in a file), its
# header line and the row count.
sub read_canon {
    my ($reader, @files) = @_;
    $n++;
    my $raw = "$tmp/$reader-$n.raw";
    run_to_file($raw, 'node', "$repo/t/data/parquet/canon.mjs", $reader,
                @files)
        or return (undef, undef, undef);
    my ($header, $rows) = sorted($raw, "$tmp/$reader-$n", 1);
    unlink $raw;
    return ("$tmp/$reader-$n", $header, $rows);
}

sub pg_canon {
    my ($sql, $cols) = @_;
    $n++;
    my $raw = "$tmp/pg-$n.raw";
    run_to_file($raw, 'psql', '-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1',
                '-h', '127.0.0.1', '-p', $ENV{TEST_NGINX_PG_PORT},
                '-U', 'postgres', '-d', 'warehouse',
                '-c', pg_canon_sql($sql, $cols))
        or die "psql failed for $sql";
    my (undef, $rows) = sorted($raw, "$tmp/pg-$n", 0);
    unlink $raw;
    return ("$tmp/pg-$n", $rows);
}

sub same_file {
    my ($a, $b) = @_;
    open my $fa, '<:raw', $a or die "$a: $!";
    open my $fb, '<:raw', $b or die "$b: $!";
    my $line = 0;
    while (1) {
        my $x = <$fa>;
        my $y = <$fb>;
        $line++;
        return (1) if !defined $x && !defined $y;
        return (0, $line, $x // '(end)', $y // '(end)')
            if !defined $x || !defined $y || $x ne $y;
    }
}

# Both readers find exactly PostgreSQL's rows for $sql (run by the
# superuser) in @files; $types, when given, are the headers the readers
# must print ({hyparquet => '...', duckdb => '...'}).
sub same_rows {
    my ($what, $sql, $cols, $files, $types) = @_;
    my ($want, $nrows) = pg_canon($sql, $cols);
    for my $reader (qw(hyparquet duckdb)) {
        my ($got, $header, $rows) = read_canon($reader, @$files);
        ok defined $got, "$what: $reader reads the files" or next;
        is $header, $types->{$reader}, "$what: $reader sees the types"
            if $types && $types->{$reader};
        is $rows, $nrows, "$what: $reader reads $nrows rows";
        my ($same, $line, $x, $y) = same_file($got, $want);
        ok $same, "$what: $reader reads every value as PostgreSQL's"
            or diag "sorted line $line: $reader: " . substr($x, 0, 400)
                    . "\n  PostgreSQL: " . substr($y, 0, 400);
    }
    return $nrows;
}

# DuckDB's parquet_metadata() of a file: one hash per column chunk.
sub parquet_meta {
    my ($file) = @_;
    open my $fh, '-|', 'node', "$repo/t/data/unload/duckdb-query.mjs",
        "select row_group_id, row_group_num_rows, path_in_schema, "
        . "type, compression, encodings, stats_min_value, stats_max_value, "
        . "stats_null_count, total_compressed_size from parquet_metadata("
        . "'$file') order by row_group_id, column_id"
        or die "node: $!";
    my $out = do { local $/; <$fh> };
    close $fh or die "parquet_metadata($file) failed";
    require JSON::PP;
    return JSON::PP->new->utf8->decode($out);
}

1;
