package SpectraOpenAPI;

# Real responses checked against docs/openapi.json (t/080-openapi.t):
# check() runs t/data/openapi/validate.mjs (ajv, JSON Schema 2020-12) on
# one response, as its operation ("METHOD /v1/path/{template}") and
# status give it; valid() wraps that as a response_body_filters entry, so
# that a block's requests go through the harness and each body is
# validated as it arrives: the filter puts the verdict ("valid", or
# "invalid:" and the errors) on the first line, before the body.  raw()
# is a small client for "--- init" steps that need the headers too.

use strict;
use warnings;

use Exporter 'import';
use File::Temp ();
use FindBin ();
use IO::Socket::INET ();
use JSON::PP ();

our @EXPORT_OK = qw(check valid raw spec spec_bytes);

my $dir = "$FindBin::Bin/data/openapi";
my $spec = "$FindBin::Bin/../docs/openapi.json";


# The document's path, and its bytes.
sub spec { $spec }

sub spec_bytes {
    open my $fh, '<:raw', $spec or die "$spec: $!";
    local $/;
    return scalar <$fh>;
}


# check(op, status, body, [headers text]): "valid", or "invalid:\n..."
# with one line per error.  Dies when the validator cannot run (a missing
# node or ajv fails the block, never skips it).
sub check {
    my ($op, $status, $body, $headers) = @_;
    my $b = File::Temp->new(SUFFIX => '.body');
    my @args = ($spec, $op, $status, $b->filename);
    my $h;

    binmode $b;
    print {$b} $body // '';
    close $b;

    if (defined $headers) {
        $h = File::Temp->new(SUFFIX => '.headers');
        print {$h} $headers;
        close $h;
        push @args, $h->filename;
    }

    open my $out, '-|', 'node', "$dir/validate.mjs", @args
        or die "cannot run node: $!";
    local $/;
    my $verdict = <$out> // '';
    close $out;

    my $rc = $? >> 8;

    die "validate.mjs failed ($?): $verdict\n" if $? == -1 || $rc > 1;

    $verdict =~ s/\n\z//;
    return $verdict;
}


# valid(op, status): a response_body_filters entry (two-dimensional:
# [[valid(...)], [valid(...)]], one per request) that validates the
# body and returns "VERDICT\nBODY".
sub valid {
    my ($op, $status) = @_;

    return sub {
        my ($body) = @_;
        return check($op, $status, $body) . "\n" . $body;
    };
}


# raw(method, uri, body, [header => value ...]): one request to the
# block's nginx, or to the http://host:port/... URL given (a presigned
# one: its Host is the URL's); returns (status, header lines, body,
# decoded JSON or undef).  Chunked bodies are decoded.
sub raw {
    my ($method, $uri, $body, @headers) = @_;
    my ($sock, $req, $res, $buf, $n);
    my ($addr, $host, $port) = ('127.0.0.1', 'localhost',
                                $ENV{TEST_NGINX_SERVER_PORT});

    local $SIG{PIPE} = 'IGNORE';

    if ($uri =~ m{^http://(([^/:]+):(\d+))(/.*)$}) {
        ($host, $addr, $port, $uri) = ($1, $2, $3, $4);
    }

    $sock = IO::Socket::INET->new(PeerAddr => $addr, PeerPort => $port,
                                  Proto => 'tcp', Timeout => 10)
        or die "cannot connect to nginx: $@";

    $body //= '';
    $req = "$method $uri HTTP/1.1\r\nHost: $host\r\n"
           . "Connection: close\r\n";

    while (my ($k, $v) = splice @headers, 0, 2) {
        $req .= "$k: $v\r\n";
    }

    $req .= 'Content-Length: ' . length($body) . "\r\n"
        if length $body || $method =~ /^(?:POST|PUT|PATCH)$/;
    print {$sock} "$req\r\n$body";

    $res = '';
    $sock->timeout(30);
    $res .= $buf while $n = sysread $sock, $buf, 65536;
    close $sock;

    my ($head, $rest) = split /\r\n\r\n/, $res, 2;
    my ($status) = ($head // '') =~ m{^HTTP/1\.\d (\d{3})};

    $head //= '';
    $head =~ s/\A[^\r\n]*\r\n//;
    $rest //= '';

    if ($head =~ /^Transfer-Encoding:\s*chunked/mi) {
        my $plain = '';

        while ($rest =~ s/\A([0-9a-fA-F]+)\r\n//) {
            my $len = hex $1;
            last if $len == 0;
            $plain .= substr $rest, 0, $len, '';
            $rest =~ s/\A\r\n//;
        }

        $rest = $plain;
    }

    my $data = eval { JSON::PP->new->decode($rest) };

    return ($status // 0, "$head\r\n", $rest, $data);
}


1;
