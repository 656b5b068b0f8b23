package SpectraImport;

# Shared pieces of the import suites (t/069-*.t): the import settings of a
# block's http{}, files of demo events (CSV or JSON lines, gzip, zstd or
# none) with the rows a test wants, the steps of an import in "--- init"
# (POST /v1/imports, the PUT to the presigned URL with curl, PATCH, bounded
# polls of GET until the import has ended), and what a tenant and the
# superuser see of the rows afterwards.

use strict;
use warnings;

use Exporter 'import';
use File::Temp qw(tempdir);
use IO::Compress::Gzip qw(gzip $GzipError);

use SpectraQuery qw(http json poll psql run_id);

our @EXPORT_OK = qw(import_config events_file start_import upload
                    patch_import wait_import imported marker tenant_rows
                    warehouse_rows events_lock events_unlock import_state
                    events_waiters);

my $tmp = tempdir('spectra-import-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $n = 0;


# The http{} lines of imports, after SpectraBulk::export_config(): events
# may be imported here, uploads of up to 64 MiB (objects.conf's
# client_max_body_size).
sub import_config {
    return <<'_EOC_';

    spectra_import_tables events;
    spectra_import_prefix imports;
    spectra_import_max_size 64m;
    spectra_import_upload_expires 10m;
_EOC_
}


# A marker unique to this run and call: the kind of every row of a file,
# so that a test finds exactly the rows it imported.
sub marker {
    return 'imp' . run_id() . '_' . $$ . '_' . ++$n;
}


# events_file(tenant => 'acme', rows => N, kind => marker, format => csv,
# compression => gzip, header => 0, delimiter => ',', lines => {line
# number => text}): writes a file of N demo events (ids 1..N) and returns
# its path; lines replaces given lines (1-based, the header counted) with
# other text (malformed rows, another tenant's row).
sub events_file {
    my (%o) = @_;
    my $format = $o{format} // 'csv';
    my $compression = $o{compression} // 'gzip';
    my $d = $o{delimiter} // ',';
    my $kind = $o{kind} // marker();
    my $lines = $o{lines} // {};
    my $text = '';
    my $line = 0;

    if ($o{header}) {
        $text .= join($d, qw(tenant_id id kind occurred_at amount)) . "\n";
        $line++;
    }

    for my $id (1 .. $o{rows}) {
        $line++;

        if (exists $lines->{$line}) {
            $text .= "$lines->{$line}\n";
            next;
        }

        my $at = sprintf('2026-11-%02dT%02d:%02d:%02dZ', 1 + $id % 28,
                         $id % 24, $id % 60, $id % 59);
        my $amount = sprintf('%d.%02d', $id % 1000, $id % 100);

        if ($format eq 'json') {
            $text .= qq({"tenant_id":"$o{tenant}","id":$id,"kind":"$kind",)
                     . qq("occurred_at":"$at","amount":$amount}\n);
        } else {
            $text .= join($d, $o{tenant}, $id, $kind, $at, $amount) . "\n";
        }
    }

    my $path = "$tmp/events-" . ++$n . ".$format";

    if ($compression eq 'gzip') {
        gzip(\$text => "$path.gz") or die "gzip: $GzipError\n";
        return "$path.gz";
    }

    open my $fh, '>:raw', $path or die "$path: $!";
    print {$fh} $text;
    close $fh;

    if ($compression eq 'zstd') {
        system('zstd', '-q', '--rm', $path) == 0 or die "zstd failed\n";
        return "$path.zst";
    }

    return $path;
}


# start_import(key, {table => ..., ...}): POST /v1/imports; returns
# (status, decoded answer or text).
sub start_import {
    my ($key, $body) = @_;
    my ($status, $text, $data) = http('POST', '/v1/imports',
        json()->encode($body), 'X-API-Key' => $key,
        'Content-Type' => 'application/json');

    return ($status, $data // $text);
}


# upload(url, path, [curl option ...]): PUT of the file to the presigned
# URL with curl; returns (status, body).
sub upload {
    my ($url, $path, @opts) = @_;
    my $out = "$tmp/upload-" . ++$n;

    open my $fh, '-|', 'curl', '-sS', '-o', $out, '-w', '%{http_code}',
         '-T', $path, @opts, $url
        or die "curl: $!";
    my $status = do { local $/; <$fh> };
    close $fh;

    open my $in, '<', $out or return ($status + 0, '');
    my $body = do { local $/; <$in> };
    close $in;

    return ($status + 0, $body // '');
}


# patch_import(key, id, state): PATCH /v1/imports/{id}; returns (status,
# decoded answer or text).
sub patch_import {
    my ($key, $id, $state) = @_;
    my ($status, $text, $data) = http('PATCH', "/v1/imports/$id",
        json()->encode({state => $state}), 'X-API-Key' => $key,
        'Content-Type' => 'application/json');

    return ($status, $data // $text);
}


# wait_import(key, id): polls GET /v1/imports/{id} (bounded) until the
# import has ended; returns the decoded job.
sub wait_import {
    my ($key, $id) = @_;

    return poll(sub {
        my ($status, $text, $data) = http('GET', "/v1/imports/$id", undef,
                                          'X-API-Key' => $key);
        die "GET /v1/imports/$id answered $status: $text\n" if $status != 200;
        return $data->{state} =~ /^(?:Open|UploadComplete|InProgress)$/
               ? undef : $data;
    }, 1200, 0.1);
}


# imported(key, path, {options}): the whole import, POST to the end;
# sets $ENV{TEST_NGINX_JOB} and returns the job as GET shows it at the
# end.
sub imported {
    my ($key, $path, $body) = @_;
    my ($status, $job) = start_import($key, {table => 'events', %$body});

    die "POST /v1/imports answered $status: "
        . (ref $job ? json()->encode($job) : $job) . "\n" if $status != 201;

    $ENV{TEST_NGINX_JOB} = $job->{job_id};

    my ($st, $res) = upload($job->{upload_url}, $path);
    die "PUT answered $st: $res\n" if $st != 201;

    ($status, my $p) = patch_import($key, $job->{job_id}, 'UploadComplete');
    die "PATCH answered $status: " . (ref $p ? json()->encode($p) : $p)
        . "\n" if $status != 202 && $status != 200;

    return wait_import($key, $job->{job_id});
}


# tenant_rows(key, kind): count, distinct tenants, sum(id), sum(amount)
# of the rows of that kind the key's tenant reads through /v1/queries.
sub tenant_rows {
    my ($key, $kind) = @_;
    my ($status, $text, $data) = http('POST', '/v1/queries',
        json()->encode({sql => "select count(*) as n, count(distinct"
                               . " tenant_id) as t, sum(id) as ids,"
                               . " sum(amount) as amount from events"
                               . " where kind = '$kind'",
                        result_format => 'arrays'}),
        'X-API-Key' => $key, 'Content-Type' => 'application/json');

    die "POST /v1/queries answered $status: $text\n" if $status != 200;
    return join ' ', map { $_ // 'null' } @{ $data->{data}[0] };
}


# warehouse_rows(kind): the same as the superuser sees it, per tenant.
sub warehouse_rows {
    my ($kind) = @_;

    return psql("select coalesce(string_agg(tenant_id || ':' || n, ' '"
                . " order by tenant_id), 'none') from (select tenant_id,"
                . " count(*) as n from events where kind = '$kind'"
                . " group by 1) s");
}


# import_state(key, id): the import's state as GET /v1/imports/{id} says
# it (which asks the Data API how its COPY is).
sub import_state {
    my ($key, $id) = @_;
    my ($status, $text, $data) = http('GET', "/v1/imports/$id", undef,
                                      'X-API-Key' => $key);

    die "GET /v1/imports/$id answered $status: $text\n" if $status != 200;
    return $data->{state};
}


# A gate for loads that must stay InProgress until the test ends them:
# a superuser's transaction holds an ACCESS EXCLUSIVE lock on events, so
# a COPY's inserts wait for it inside PostgreSQL.
my $lock;

sub events_lock {
    return if $lock;

    local $ENV{PGPASSFILE} = $ENV{SPECTRA_PG_PASSFILE}
        if defined $ENV{SPECTRA_PG_PASSFILE};

    open $lock, '|-', 'psql', '-X', '-q', '-h', '127.0.0.1',
         '-p', $ENV{TEST_NGINX_PG_PORT}, '-U', 'postgres', '-d', 'warehouse'
        or die "psql: $!";

    my $old = select $lock;
    $| = 1;
    select $old;

    print {$lock} "begin; lock table events in access exclusive mode;\n";

    poll(sub { psql("select count(*) from pg_locks l join pg_class c"
                    . " on c.oid = l.relation where c.relname = 'events'"
                    . " and l.mode = 'AccessExclusiveLock'"
                    . " and l.granted") eq '1' }, 100, 0.05);
}

sub events_unlock {
    return unless $lock;

    print {$lock} "rollback;\n";
    close $lock;
    undef $lock;
}

# How many backends wait for a lock on events (a load at the gate).
sub events_waiters {
    return psql("select count(*) from pg_locks l join pg_class c"
                . " on c.oid = l.relation where c.relname = 'events'"
                . " and not l.granted");
}

1;
