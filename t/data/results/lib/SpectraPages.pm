package SpectraPages;

# Helpers of t/065-results-pages.t (the pages of GET /v1/jobs/{id}/results):
# read a job's result page by page through its cursors, the same rows as
# psql gives them, one digest for both, and the nginx configuration of a
# spectra-dataapi of the suite's own.

use strict;
use warnings;

use Digest::SHA qw(sha256_hex);
use IO::Socket::INET ();
use Test::More ();

use JSON::PP ();
use SpectraQuery ();


# get(key, uri): one GET as the API key's tenant, the answer's chunks
# joined (SpectraQuery::http() hands a chunked body over as it came);
# returns (status, body text, decoded JSON or undef, body length).
sub get {
    my ($key, $uri) = @_;
    my ($sock, $res, $buf, $n, $status, $head, $body, $data);

    local $SIG{PIPE} = 'IGNORE';

    $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                  PeerPort => $ENV{TEST_NGINX_SERVER_PORT},
                                  Proto => 'tcp', Timeout => 10)
        or die "cannot connect to nginx: $@";

    print {$sock} "GET $uri HTTP/1.1\r\nHost: localhost\r\n"
                  . "Connection: close\r\nX-API-Key: $key\r\n\r\n";

    $res = '';
    $sock->timeout(30);
    while ($n = sysread $sock, $buf, 65536) {
        $res .= $buf;
    }
    close $sock;

    ($head, $body) = split /\r\n\r\n/, $res, 2;
    ($status) = ($head // '') =~ m{^HTTP/1\.\d (\d{3})};
    $body //= '';

    if (($head // '') =~ /^Transfer-Encoding:\s*chunked\r?$/mi) {
        my $whole = '';

        while ($body =~ s/\A([0-9a-fA-F]+)\r\n//) {
            my $len = hex $1;
            last if $len == 0;
            die "$uri: a chunk cut short\n" if length($body) < $len + 2;
            $whole .= substr($body, 0, $len, '');
            $body =~ s/\A\r\n// or die "$uri: a chunk without its CRLF\n";
        }

        $body = $whole;
    }

    $data = eval { SpectraQuery::json()->decode($body) };

    return ($status // 0, $body, $data, length $body);
}


# read_all(key, job, page_size => N, page_bytes => N, max_pages => N):
# every page of the job's result, following next_cursor from the first
# page to the one whose next_cursor is null.  Returns {rows => [every
# row, in order], pages => [{rows, bytes, cursor (the one it was asked
# with, undef for the first), next}], columns => [the metadata of every
# page]}; dies on an answer other than 200 or on too many pages.
sub read_all {
    my ($key, $job, %o) = @_;
    my $max = delete $o{max_pages} // 1000;
    my (@rows, @pages, @columns, $cursor);
    my $args = join '', map { "&$_=$o{$_}" } sort keys %o;

    for my $n (1 .. $max + 1) {
        die "more than $max pages\n" if $n > $max;

        my $uri = "/v1/jobs/$job/results?x=1$args"
                  . (defined $cursor ? "&cursor=$cursor" : '');
        my ($status, $text, $data, $len) = get($key, $uri);

        die "page $n: $uri answered $status: $text\n"
            unless $status == 200 && $data && ref $data->{data} eq 'ARRAY';
        die "page $n: $uri answered without next_cursor: not a page\n"
            unless exists $data->{next_cursor};

        push @rows, @{ $data->{data} };
        push @columns, $data->{metadata}{columns};
        push @pages, { rows => scalar @{ $data->{data} }, bytes => $len,
                       cursor => $cursor, next => $data->{next_cursor},
                       count => $data->{metadata}{row_count},
                       truncated => $data->{metadata}{truncated} };

        $cursor = $data->{next_cursor};
        last unless defined $cursor;
    }

    return { rows => \@rows, pages => \@pages, columns => \@columns };
}


# A row as text, the way psql -At prints it: NULL as \N, booleans t/f,
# fields joined by 0x1f.  Arrays format (rows as arrays) only.
sub row_text {
    my ($row) = @_;

    return join "\x1f", map {
        !defined $_ ? '\N'
        : JSON::PP::is_bool($_) ? ($_ ? 't' : 'f')
        : "$_"
    } @$row;
}

sub digest {
    my ($rows) = @_;
    return sha256_hex(join "\n", map { row_text($_) } @$rows);
}


# psql_digest(sql): (row count, digest) of what the warehouse's superuser
# gets for the statement, in the form row_text() gives.
sub psql_digest {
    my ($sql) = @_;
    my @cmd = ('psql', '-X', '-At', '-v', 'ON_ERROR_STOP=1',
               '-F', "\x1f", '-P', 'null=\N',
               '-h', '127.0.0.1', '-p', $ENV{TEST_NGINX_PG_PORT},
               '-U', 'postgres', '-d', 'warehouse', '-c', $sql);
    my ($out, @lines);

    local $ENV{PGPASSFILE} = $ENV{SPECTRA_PG_PASSFILE}
        if defined $ENV{SPECTRA_PG_PASSFILE};

    open my $fh, '-|', @cmd or die "psql: $!";
    $out = do { local $/; <$fh> };
    close $fh or die "psql failed on: $sql\n";

    @lines = split /\n/, $out;
    die "psql gave no rows for: $sql\n" unless @lines;

    return (scalar @lines, sha256_hex(join "\n", @lines));
}


# ids_are(rows, first, last, name): the first column of the rows is
# first .. last, each once and in order; a failure names the first row
# that differs, not the whole list.
sub ids_are {
    my ($rows, $first, $last, $name) = @_;
    my $want = $first;

    for my $i (0 .. $#$rows) {
        my $got = ref $rows->[$i] eq 'HASH' ? $rows->[$i]{n} : $rows->[$i][0];

        if (!defined $got || $want > $last || $got != $want) {
            return Test::More::fail("$name: row $i is "
                                    . ($got // 'undef') . ", not $want");
        }

        $want++;
    }

    return Test::More::is($want - 1, $last, "$name: rows $first .. $last");
}


# The checks a complete reading must pass: n rows in pages of at most
# size rows, every page but the last full, the last one's next_cursor
# null, no page empty.
sub check_pages {
    my ($r, $n, $size, $name) = @_;
    my @p = @{ $r->{pages} };
    my $want = int(($n + $size - 1) / $size) || 1;

    Test::More::is(scalar @{ $r->{rows} }, $n, "$name: $n rows");
    Test::More::is(scalar @p, $want, "$name: $want pages");
    Test::More::is_deeply([map { $_->{rows} } @p],
                          [(($size) x ($want - 1)), $n - $size * ($want - 1)],
                          "$name: every page but the last holds $size rows");
    Test::More::is_deeply([map { $_->{count} } @p],
                          [map { $_->{rows} } @p],
                          "$name: row_count is each page's own");
    Test::More::is_deeply([grep { $_->{truncated} } @p], [],
                          "$name: no page says truncated");
}


# The http{} part of blocks whose Data API is a spectra-dataapi this suite
# started (DataAPI::start_daemon's hash d): as SpectraQuery::http_config(),
# with that daemon's port and keys.
sub http_config_for {
    my ($d) = @_;

    return SpectraQuery::http_config(dataapi_port => $d->{port}, bare => 1)
           . <<"_EOC_";

    spectra_auth any;
    spectra_api_keys \$TEST_NGINX_QT_KEYS;

    spectra_dataapi_host 127.0.0.1:$d->{port};
    spectra_aws_region $d->{region};
    spectra_aws_access_key_id $d->{akid};
    spectra_aws_secret_access_key "$d->{secret}";
    spectra_cluster_identifier spectra-local;
    spectra_database warehouse;

    error_page 400 404 405 408 413 414 415 429 494 500 502 503 504
               /_spectra/error;
_EOC_
}

1;
