package SpectraCopy;

# Helpers of t/037-dataapi-copy.t: objects written into the local object
# store (--export-dir) as an upload would leave them, compressed by
# gzip's and zstd's own tools; a statement's rows read back through
# GetStatementResult; the superuser's view of the demo events table.

use strict;
use warnings;

use Exporter 'import';
use File::Path qw(make_path);

use DataAPI;

our @EXPORT = qw(put_object compress_file records_of csv_line);

# Writes bytes to DIR/key (directories made), compressed with the named
# tool ('none', 'gzip', 'zstd'); returns the path.
sub put_object {
    my ($dir, $key, $bytes, $comp) = @_;
    my $path = "$dir/$key";
    (my $parent = $path) =~ s{/[^/]+$}{};
    make_path($parent);
    open my $fh, '>:raw', $path or die "$path: $!";
    print $fh $bytes;
    close $fh or die "$path: $!";
    compress_file($path, $comp);
    return $path;
}

# Compresses path in place with gzip(1) or zstd(1) (the file keeps its
# name: the COPY statement says what the data is, not the name).
sub compress_file {
    my ($path, $comp) = @_;
    return if !defined $comp || $comp eq 'none';
    my @cmd = $comp eq 'gzip' ? ('gzip', '-c', '--', $path)
            : $comp eq 'zstd' ? ('zstd', '-q', '-c', '--', $path)
            : die "unknown compression $comp";
    open my $in, '-|', @cmd or die "$cmd[0]: $!";
    binmode $in;
    my $z = do { local $/; <$in> };
    close $in or die "@cmd failed";
    open my $out, '>:raw', $path or die "$path: $!";
    print $out $z;
    close $out or die "$path: $!";
}

# A statement's rows as arrays of plain values (NULL as undef).
sub records_of {
    my ($env, $id) = @_;
    my @rows;
    my $token;
    do {
        my ($st, $b) = call($env, 'GetStatementResult',
                            { Id => $id,
                              (defined $token ? (NextToken => $token)
                                              : ()) });
        die "GetStatementResult $id: $st" unless $st == 200;
        for my $rec (@{ $b->{Records} }) {
            push @rows, [map {
                exists $_->{isNull} ? undef : (values %$_)[0]
            } @$rec];
        }
        $token = $b->{NextToken};
    } while (defined $token);
    return \@rows;
}

# One CSV record as RFC 4180 writes it (quoted when needed).
sub csv_line {
    my ($delim, @f) = @_;
    return join($delim, map {
        !defined $_ ? ''
        : /[\Q$delim\E"\r\n]/ || $_ eq '' ? '"' . s/"/""/gr . '"'
        : $_
    } @f) . "\n";
}

1;
