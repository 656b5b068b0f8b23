package SpectraCopy;

# Helpers of t/037-dataapi-copy.t: objects written into the local object
# store (--export-dir) as an upload would leave them, compressed by
# gzip's and zstd's own tools; a statement's rows read back through
# GetStatementResult.

use strict;
use warnings;

use Exporter 'import';
use File::Path qw(make_path);
use IPC::Open2;
use POSIX ();

use DataAPI;

our @EXPORT = qw(put_object compressed records_of);

# Writes bytes to DIR/key (directories made), compressed with the named
# tool ('none', 'gzip', 'zstd'); returns the path.
sub put_object {
    my ($dir, $key, $bytes, $comp) = @_;
    my $path = "$dir/$key";
    (my $parent = $path) =~ s{/[^/]+$}{};
    make_path($parent);
    open my $fh, '>:raw', $path or die "$path: $!";
    print $fh compressed($bytes, $comp);
    close $fh or die "$path: $!";
    return $path;
}

# bytes compressed by gzip(1) or zstd(1) (or as they are for 'none')
sub compressed {
    my ($bytes, $comp) = @_;
    return $bytes if !defined $comp || $comp eq 'none';
    my @cmd = $comp eq 'gzip' ? ('gzip', '-c')
            : $comp eq 'zstd' ? ('zstd', '-q', '-c')
            : die "unknown compression $comp";
    my $pid = open2(my $out, my $in, @cmd);
    binmode $in;
    binmode $out;
    # a writer of its own: the tool's output pipe must not fill up first
    my $writer = fork // die "fork: $!";
    if (!$writer) {
        close $out;
        print $in $bytes;
        close $in;
        POSIX::_exit(0);
    }
    close $in;
    my $z = do { local $/; <$out> };
    close $out;
    waitpid $writer, 0;
    waitpid $pid, 0;
    die "@cmd failed" if $?;
    return $z;
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

1;
