package SpectraBulk;

# Shared pieces of the bulk export suites (t/063-*.t): the export settings
# of a block's http{} (the bucket, prefix and the local object store that
# nginx itself serves from TEST_NGINX_OBJECTS_DIR), starting an export and
# waiting for it in "--- init", downloading its files through the links
# the API gives, and the per-column sums of those files as Python's csv
# and json readers, DuckDB, and psql (as superuser, for one tenant) count
# them.

use strict;
use warnings;

use Exporter 'import';
use File::Temp qw(tempdir);
use FindBin ();
use IO::Socket::INET ();
use JSON::PP ();

use SpectraQuery qw(http json poll psql);

our @EXPORT_OK = qw(export_config export wait_export download sums
                    duckdb_sums psql_sums raw_get follow);

my $dir = "$FindBin::Bin/data/bulk";


# The http{} lines of exports, after SpectraQuery::http_config(): the
# module signs links for this same server (path style), whose block
# config includes t/data/bulk/objects.conf: TEST_NGINX_OBJECTS_DIR served
# as the verifying store at /spectra-exports/, and the module's own reads
# (the manifests) proxied from /_spectra/s3/ to it.
sub export_config {
    return <<'_EOC_';

    upstream spectra_objects {
        server 127.0.0.1:$TEST_NGINX_SERVER_PORT;
    }

    # the root of t/data/bulk/objects.conf's store location (an included
    # file gets no $TEST_NGINX_* expansion)
    map $host $spectra_test_objects {
        default $TEST_NGINX_OBJECTS_DIR;
    }

    spectra_export_bucket spectra-exports;
    spectra_export_prefix exports;
    spectra_s3_endpoint http://127.0.0.1:$TEST_NGINX_SERVER_PORT;
    spectra_s3_path_style on;

    # max_downloads: the stable links' counts, over all workers
    spectra_download_zone spectra_downloads:1m;
_EOC_
}


# export(key, {sql => ..., ...}): POST /v1/bulk; returns (status, data).
sub export {
    my ($key, $body) = @_;
    my ($status, $text, $data) = http('POST', '/v1/bulk',
        json()->encode($body), 'X-API-Key' => $key,
        'Content-Type' => 'application/json');

    return ($status, $data // $text);
}


# wait_export(key, id): polls GET /v1/bulk/{id} (bounded) until the
# export has finished; returns the decoded job.
sub wait_export {
    my ($key, $id) = @_;

    return poll(sub {
        my ($status, $text, $data) = http('GET', "/v1/bulk/$id", undef,
                                          'X-API-Key' => $key);
        die "GET /v1/bulk/$id answered $status: $text\n" if $status != 200;
        return $data->{status} =~ /^(?:PENDING|RUNNING)$/ ? undef : $data;
    }, 1200, 0.1);
}


# raw_get(url, [header => value ...]): one GET of an http://host:port/...
# URL (or a path on the block's nginx); returns (status, {lower-case
# header => value}, body).
sub raw_get {
    my ($url, @headers) = @_;
    my ($host, $port, $target) = $url =~ m{^http://([^/:]+):(\d+)(/.*)$};

    ($host, $port, $target) = ('127.0.0.1', $ENV{TEST_NGINX_SERVER_PORT},
                               $url) unless defined $target;

    my $sock = IO::Socket::INET->new(PeerAddr => $host, PeerPort => $port,
                                     Proto => 'tcp', Timeout => 10)
        or die "cannot connect to $host:$port: $@";
    my ($res, $buf, $n, $req) = ('');

    $req = "GET $target HTTP/1.1\r\nHost: $host:$port\r\n"
           . "Connection: close\r\n";

    while (my ($k, $v) = splice @headers, 0, 2) {
        $req .= "$k: $v\r\n";
    }

    print {$sock} "$req\r\n";
    $sock->timeout(60);
    $res .= $buf while $n = sysread $sock, $buf, 1 << 20;
    close $sock;

    my ($head, $body) = split /\r\n\r\n/, $res, 2;
    my ($status) = ($head // '') =~ m{^HTTP/1\.\d (\d{3})};
    my %h;

    for my $line (split /\r\n/, $head // '') {
        $h{lc $1} = $2 if $line =~ /^([^:]+):\s*(.*)$/;
    }

    return ($status // 0, \%h, $body // '');
}


# follow(key, link): GET of a stable link as the key's tenant; returns
# the presigned URL of its 302 (dies on any other answer).
sub follow {
    my ($key, $link) = @_;
    my ($status, $h, $body) = raw_get($link, 'X-API-Key' => $key);

    die "GET $link answered $status: $body\n" if $status != 302;
    die "GET $link: no Location\n" unless defined $h->{location};

    return $h->{location};
}


# download(job, [key]): fetches every file of the job's result through
# its URL (or, with max_downloads, where its stable link redirects the
# key's tenant: one download counted) into a private directory; returns
# the paths, in the manifest's order.
sub download {
    my ($job, $key) = @_;
    my $to = tempdir('spectra-bulk-XXXXXX', TMPDIR => 1, CLEANUP => 1);
    my @paths;

    for my $f (@{ $job->{result}{files} }) {
        my $url = $f->{url} // follow($key, $f->{link});
        my ($name) = $url =~ m{^http://[^/]+/[^?]*?([^/?]+)\?}
            or die "not a local URL: $url\n";
        my ($status, $h, $res) = raw_get($url);

        die "GET $url answered $status\n" if $status != 200;
        die "$name: " . length($res) . " bytes, the manifest says "
            . "$f->{size}\n" if length($res) != $f->{size};

        open my $fh, '>:raw', "$to/$name" or die "$to/$name: $!";
        print {$fh} $res;
        close $fh;

        push @paths, "$to/$name";
    }

    return @paths;
}


# sums(format, header, delimiter, compression, path...): the files
# decompressed by gzip or zstd and read by Python's csv or json module.
sub sums {
    my ($format, $header, $delimiter, $compression, @paths) = @_;
    my %tool = (gzip => 'gzip -dc', zstd => 'zstd -dcq', none => 'cat');
    my $files = join ' ', map { "'$_'" } @paths;
    my $cmd = @paths
        ? "$tool{$compression} $files | /usr/bin/python3 $dir/sums.py "
          . "$format '$delimiter' " . ($header ? 'header' : '')
        : "/usr/bin/python3 $dir/sums.py $format , </dev/null";
    my $out = `$cmd`;

    die "sums.py failed ($?)\n" if $?;
    return json()->decode($out);
}


# duckdb_sums(format, header, delimiter, path...): the same, read by
# DuckDB.
sub duckdb_sums {
    my ($format, $header, $delimiter, @paths) = @_;
    my $repo = $ENV{TEST_NGINX_REPO} // "$FindBin::Bin/..";

    local $ENV{NODE_PATH} = "$repo/node_modules";
    open my $fh, '-|', 'node', "$dir/duckdb-sums.mjs", $format,
         $header ? 'header' : 'noheader', $delimiter, @paths
        or die "node: $!";
    my $out = do { local $/; <$fh> };
    close $fh or die "duckdb-sums.mjs failed ($?)\n";

    return json()->decode($out);
}


# psql_sums(tenant, where): the sums of the tenant's rows of sales (those
# matching the optional condition), as superuser.
sub psql_sums {
    my ($tenant, $where) = @_;

    die "bad tenant\n" unless $tenant =~ /^[a-z0-9_]+$/;
    $where = defined $where ? "and ($where)" : '';

    return json()->decode(psql(<<"_SQL_"));
select json_build_object(
    'rows', count(*)::text, 'id', sum(id)::text,
    'product_id', sum(product_id)::text, 'quantity', sum(quantity)::text,
    'amount_cents', sum(amount * 100)::bigint::text,
    'discount_n', count(discount)::text,
    'discount_centi', coalesce(sum(round((discount * 100)::numeric)), 0)
                      ::bigint::text,
    'returned', (count(*) filter (where returned))::text,
    'note_n', count(note)::text,
    'note_len', coalesce(sum(length(note)), 0)::text,
    'region_len', sum(length(region))::text,
    'sale_days', sum(sale_date - date '2025-01-01')::text,
    'sold_at', sum(extract(epoch from sold_at))::bigint::text,
    'tenants', '$tenant=' || count(*))
from sales where tenant_id = '$tenant' $where
_SQL_
}

1;
