# spectra-dataapi's bounds, on a daemon of its own with small limits:
# queue length, result size, page size, statement timeout, retention,
# and a clean exit on SIGTERM. Also SecretArn identities.

use strict;
use warnings;

use lib "$ENV{SPECTRA_REPO}/t/data/dataapi";
use DataAPI;
use Test::More;

my $env = fixture_env();
my $port = ($ENV{SPECTRA_PORT_BASE} // 55400) + 10;

my $d = start_daemon($port, '--workers', '1', '--queue', '1',
                     '--max-result-bytes', '5000', '--page-rows', '100',
                     '--statement-timeout-seconds', '2',
                     '--retention-seconds', '3',
                     '--export-dir', "/tmp/spectra-dataapi-test-$port/exports");

# never leave the extra daemon behind, even when a test dies
END { stop_daemon($d) if defined $d }
my $pb;     # the --page-bytes daemon below
END { stop_daemon($pb) if defined $pb }

sub run_sql {
    my ($e, $user, $sql) = @_;
    my ($st, $b) = call($e, 'ExecuteStatement',
                        { Sql => $sql, Database => 'warehouse',
                          ClusterIdentifier => 'demo', DbUser => $user });
    die "ExecuteStatement: $st $b->{message}" unless $st == 200;
    return $b->{Id};
}

# queue: one worker busy, one statement waiting, the next refused
{
    my $busy = run_sql($d, 'tenant_acme', 'select pg_sleep(60)');
    wait_done($d, $busy, 'STARTED');
    my $queued = run_sql($d, 'tenant_acme', 'select 1');
    my ($st, $b) = call($d, 'DescribeStatement', { Id => $queued });
    is $b->{Status}, 'SUBMITTED', 'the second statement waits in the queue';

    ($st, $b) = call($d, 'ExecuteStatement',
                     { Sql => 'select 2', Database => 'warehouse',
                       ClusterIdentifier => 'demo', DbUser => 'tenant_acme' });
    is $st, 400, 'a third statement: 400';
    is $b->{__type}, 'ActiveStatementsExceededException',
       'ActiveStatementsExceededException';
    is $b->{message}, 'Active statements exceeded the allowed quota.',
       'AWS message';

    ($st, $b) = call($d, 'CancelStatement', { Id => $queued });
    is $st, 200, 'cancel the queued statement';
    ($st, $b) = call($d, 'DescribeStatement', { Id => $queued });
    is $b->{Status}, 'ABORTED', 'a queued statement is ABORTED at once';

    call($d, 'CancelStatement', { Id => $busy });
    is wait_done($d, $busy)->{Status}, 'ABORTED', 'the sleeper is ABORTED';
}

# result size bound
{
    my $id = run_sql($d, 'tenant_acme',
                     'select id, note from sales order by id limit 10000');
    my $r = wait_done($d, $id);
    is $r->{Status}, 'FAILED', 'a result over --max-result-bytes FAILS';
    is $r->{Error}, 'ERROR: Query result size exceeds the limit of 5000 '
                    . 'bytes (SQLSTATE 54000)', 'with the limit in the error';
}

# --page-rows 100
{
    my $id = run_sql($d, 'tenant_initech',
                     'select id from sales order by id limit 250');
    is wait_done($d, $id)->{ResultRows}, 250, '250 rows';
    my (@sizes, $token);
    for (1 .. 5) {
        my ($st, $b) = call($d, 'GetStatementResult',
                            { Id => $id, defined $token
                                         ? (NextToken => $token) : () });
        push @sizes, scalar @{ $b->{Records} };
        $token = $b->{NextToken};
        last unless defined $token;
    }
    is_deeply \@sizes, [100, 100, 50], 'pages of 100, 100 and 50 rows';
}

# --page-bytes 200: a page holds at most 200 bytes of stored Records JSON,
# each row counted as ",[{"longValue":N}]" (18 bytes for N < 10, then 19)
{
    my $b = $pb = start_daemon($port + 1, '--page-bytes', '200');
    my $id = (call($b, 'ExecuteStatement',
                   { Sql => 'select g from generate_series(1, 30) g',
                     Database => 'warehouse', ClusterIdentifier => 'demo',
                     DbUser => 'tenant_acme' }))[1]{Id};
    is wait_done($b, $id)->{ResultRows}, 30, '30 rows';
    my (@pages, $token);
    for (1 .. 5) {
        my ($st, $p) = call($b, 'GetStatementResult',
                            { Id => $id, defined $token
                                         ? (NextToken => $token) : () });
        push @pages, [map { $_->[0]{longValue} } @{ $p->{Records} }];
        $token = $p->{NextToken};
        last unless defined $token;
    }
    is_deeply [map { scalar @$_ } @pages], [11, 10, 9],
              'pages of 11 (9 x 18 + 2 x 19 = 200 bytes), 10 and 9 rows';
    is_deeply [map { @$_ } @pages], [1 .. 30], 'every row once, in order';
    is stop_daemon($b), 0, 'that daemon exits cleanly';
}

# statement timeout
{
    my $id = run_sql($d, 'tenant_acme', 'select pg_sleep(30)');
    my $r = wait_done($d, $id);
    is $r->{Status}, 'FAILED', 'over --statement-timeout-seconds: FAILED';
    is $r->{Error}, 'ERROR: canceling statement due to statement timeout '
                    . '(SQLSTATE 57014)', 'PostgreSQL says why';
}

# A single statement goes with its begin and time bound in one round trip
# (pipeline.c): a failure there leaves the one worker's connection fit for
# the next statement, and text with the word COPY in it, which goes the
# ordinary way, answers all the same.
{
    my $r = wait_done($d, run_sql($d, 'tenant_acme', 'select 1 / 0'));
    is $r->{Status}, 'FAILED', 'a statement that fails: FAILED';
    is $r->{Error}, 'ERROR: division by zero (SQLSTATE 22012)',
       '... with PostgreSQL\'s error';
    my $id = run_sql($d, 'tenant_acme', 'select 7 as n');
    is wait_done($d, $id)->{Status}, 'FINISHED',
       'the next statement, on the same connection: FINISHED';
    my ($st, $b) = call($d, 'GetStatementResult', { Id => $id });
    is $b->{Records}[0][0]{longValue}, 7, '... with its row';

    $id = run_sql($d, 'tenant_acme',
                  "select 'copy' as w, current_setting('statement_timeout')"
                  . ' as t');
    is wait_done($d, $id)->{Status}, 'FINISHED',
       'the word copy in a literal: FINISHED';
    ($st, $b) = call($d, 'GetStatementResult', { Id => $id });
    is_deeply [map { $_->{stringValue} } @{ $b->{Records}[0] }],
              ['copy', '2s'], '... with its row, under the time bound';

    $id = run_sql($d, 'tenant_acme',
                  "select current_setting('statement_timeout') as t");
    wait_done($d, $id);
    ($st, $b) = call($d, 'GetStatementResult', { Id => $id });
    is $b->{Records}[0][0]{stringValue}, '2s',
       'the time bound, set in the same round trip as the statement';
}

# COPY to or from the client (COPY ... TO STDOUT, FROM STDIN): the Data
# API has no channel for either; the statement FAILS and the one worker
# and its connection go on (libpq's COPY state used to hold them for good).
# copy_probe: a table without row-level security the tenant may insert
# into, since PostgreSQL refuses COPY FROM on one with it before the copy
{
    my @psql = ('psql', '-X', '-q', '-w', '-v', 'ON_ERROR_STOP=1',
                '-h', '127.0.0.1', '-p', $ENV{SPECTRA_PORT_BASE},
                '-U', 'postgres', '-d', 'warehouse');
    system(@psql, '-c', 'create table copy_probe (x int); '
                        . 'grant select, insert on copy_probe to tenant_acme')
        == 0 or die 'psql: create copy_probe';
    my $exports = "$d->{dir}/exports";
    # a leading comment: past the daemon's reader of Redshift's COPY
    # (which answers a plain "copy ... from stdin" with a 400 itself)
    for my $sql ('/* c */ copy copy_probe to stdout',
                 '/**/copy (select id from sales) to stdout (format csv)',
                 "-- c\ncopy copy_probe from stdin",
                 "UNLOAD ('copy (select 1) to stdout') "
                 . "TO 's3://bucket/copy/' IAM_ROLE 'arn:aws:iam::1:role/x'")
    {
        my $r = wait_done($d, run_sql($d, 'tenant_acme', $sql));
        is $r->{Status}, 'FAILED', "$sql: FAILED";
        is $r->{Error}, 'ERROR: COPY to or from the client is not supported '
                        . "by the Data API; use UNLOAD, or COPY from "
                        . "'s3://...' (SQLSTATE 0A000)", 'it says why';
        $r = wait_done($d, run_sql($d, 'tenant_acme', 'select 1'));
        is $r->{Status}, 'FINISHED', 'the worker goes on';
    }
    my $id = run_sql($d, 'tenant_acme', 'select count(*) from copy_probe');
    is wait_done($d, $id)->{Status}, 'FINISHED', 'copy_probe is readable';
    my ($st, $b) = call($d, 'GetStatementResult', { Id => $id });
    is $b->{Records}[0][0]{longValue}, 0, 'and nothing was copied into it';
    system(@psql, '-c', 'drop table copy_probe') == 0
        or die 'psql: drop copy_probe';
}

# retention: a finished statement disappears after --retention-seconds
{
    my $id = run_sql($d, 'tenant_acme', 'select 1');
    is wait_done($d, $id)->{Status}, 'FINISHED', 'a statement to forget';
    my $gone;
    for (1 .. 200) {
        my ($st, $b) = call($d, 'DescribeStatement', { Id => $id });
        if ($st == 400 && $b->{__type} eq 'ResourceNotFoundException') {
            $gone = 1;
            last;
        }
        select undef, undef, undef, 0.1;
    }
    ok $gone, 'it is gone (ResourceNotFoundException) after retention';
}

# statements of one key are invisible to another
{
    my $id = run_sql($env, 'tenant_acme', 'select 1');
    my ($st, $b) = call($d, 'DescribeStatement', { Id => $id });
    is $b->{__type}, 'ResourceNotFoundException',
       "another daemon's (and key's) statement is not found";
}

# UNLOAD into the export directory, as the tenant
{
    my $exports = "$d->{dir}/exports";
    system 'rm', '-rf', $exports;
    my $q = q{select id, note, amount from sales where id <= 40 }
            . q{and (note is null or note <> \'order 12\') order by id};
    my $id = run_sql($d, 'tenant_acme',
                     qq{UNLOAD ('$q') TO 's3://bucket/tenant=acme/job=1/' }
                     . q{IAM_ROLE 'arn:aws:iam::1:role/x' FORMAT CSV HEADER }
                     . q{GZIP MANIFEST VERBOSE PARALLEL OFF});
    my $r = wait_done($d, $id);
    is $r->{Status}, 'FINISHED',
       'UNLOAD FORMAT CSV HEADER GZIP MANIFEST VERBOSE PARALLEL OFF';
    is $r->{ResultRows}, 23, 'ResultRows counts the unloaded rows';
    is $r->{HasResultSet}, JSON::PP::false, 'UNLOAD has no result set';

    my $file = "$exports/bucket/tenant=acme/job=1/000.gz";
    ok -f $file, 'the file is laid out and named as on S3 (PARALLEL OFF)';
    require IO::Uncompress::Gunzip;
    my $csv;
    IO::Uncompress::Gunzip::gunzip($file => \$csv) or die 'gunzip';
    my @lines = split /\n/, $csv;
    is $lines[0], 'id,note,amount', 'CSV header';
    is scalar @lines, 24, 'header + 23 rows: acme only (ids 1-5, 10-15, ...)';
    is $lines[1], '1,order 1,1.37', 'first row';
    is $lines[5], '5,,2.85', 'NULL is an empty field';
    is $lines[-1], '40,,15.80', 'last row';

    open my $fh, '<', "$exports/bucket/tenant=acme/job=1/manifest" or die;
    my $m = json_decode(do { local $/; <$fh> });
    is scalar @{ $m->{entries} }, 1, 'manifest: one entry';
    is $m->{entries}[0]{url}, 's3://bucket/tenant=acme/job=1/000.gz',
       'manifest url';
    is $m->{entries}[0]{meta}{record_count}, 24,
       'manifest record_count: the rows and, as Redshift counts, the header';
    is $m->{entries}[0]{meta}{content_length}, -s $file,
       'manifest content_length is the file size';
    is_deeply [map { "$_->{name}:$_->{type}{base}" }
                   @{ $m->{schema}{elements} }],
              ['id:bigint', 'note:text', 'amount:numeric'],
              'manifest schema: the types\' SQL names';

    $id = run_sql($d, 'tenant_acme',
                  qq{UNLOAD ('$q') TO 's3://bucket/tenant=acme/job=1/' }
                  . q{IAM_ROLE 'arn:aws:iam::1:role/x' FORMAT CSV GZIP});
    $r = wait_done($d, $id);
    is $r->{Status}, 'FAILED', 'UNLOAD onto existing files FAILS';
    like $r->{Error}, qr/destination is not empty/, 'destination not empty';

    $id = run_sql($d, 'tenant_globex',
                  q{unload ('select id, returned, discount, amount, note, }
                  . q{\'a"b\' as q from sales }
                  . q{where id in (6, 7)') to 's3://bucket/g/' }
                  . q{iam_role default format json});
    is wait_done($d, $id)->{Status}, 'FINISHED', 'UNLOAD FORMAT JSON';
    open $fh, '<', "$exports/bucket/g/0000_part_00" or die;
    is do { local $/; <$fh> },
       qq|{"id":6,"returned":false,"discount":0.06,"amount":3.22,|
       . qq|"note":"order 6","q":"a\\"b"}\n|
       . qq|{"id":7,"returned":false,"discount":null,"amount":3.59,|
       . qq|"note":"order 7","q":"a\\"b"}\n|,
       'JSON lines, typed, exact numbers, NULL as null';

    my ($st, $b) = call($d, 'ExecuteStatement',
        { Sql => q{UNLOAD ('select 1') TO 's3://bucket/../etc/' }
                 . q{IAM_ROLE default},
          Database => 'warehouse', ClusterIdentifier => 'demo',
          DbUser => 'tenant_acme' });
    is $st, 400, 'a target with ".." is refused';
    like $b->{message}, qr/may not hold a "\." or "\.\." name/,
         'ValidationException says why';

    ($st, $b) = call($d, 'ExecuteStatement',
        { Sql => q{UNLOAD ('select 1') TO 's3://bucket/p/' }
                 . q{IAM_ROLE default FORMAT PARQUET ZSTD},
          Database => 'warehouse', ClusterIdentifier => 'demo',
          DbUser => 'tenant_acme' });
    is $st, 400, 'PARQUET with ZSTD is refused, as Redshift refuses it';
    is $b->{message}, 'UNLOAD: PARQUET UNLOAD takes no GZIP or ZSTD',
       '... saying why (its pages are compressed by the format)';

    # the inner query runs as the tenant: PostgreSQL refuses the switch
    $id = run_sql($d, 'tenant_acme',
                  q{UNLOAD ('select set_config(\'role\', }
                  . q{\'tenant_globex\', false)') }
                  . q{TO 's3://bucket/role/' IAM_ROLE default});
    $r = wait_done($d, $id);
    is $r->{Status}, 'FAILED', 'an UNLOAD whose query switches role FAILS';
    is $r->{Error}, 'ERROR: permission denied to set role "tenant_globex" '
                    . '(SQLSTATE 42501)', 'inside PostgreSQL, with 42501';
    ok !-e "$exports/bucket/role/0000_part_00", 'and writes no file';
}

is stop_daemon($d), 0, 'SIGTERM: clean exit 0';
{
    open my $fh, '<', "$d->{dir}/log" or die;
    my $log = do { local $/; <$fh> };
    like $log, qr/shutting down on signal 15/, 'logs the shutdown';
    unlike $log, qr/\Q$d->{secret}\E/, 'the log never holds the secret';
    like $log, qr/statement id=\S+ key=\S+ key_id=AKID\S+ db_user=tenant_acme status=FAILED duration_ms=[\d.]+ rows=-1 size=-1 sqlstate=54000/,
         'one line per statement with status, duration and SQLSTATE';
}

# SecretArn: the db user is the secret's username (--secrets-file)
{
    my ($st, $b) = call($env, 'ExecuteStatement',
        { Sql => 'select count(*) from sales', Database => 'warehouse',
          WorkgroupName => 'spectra',
          SecretArn => 'arn:aws:secretsmanager:us-east-1:123456789012:'
                       . 'secret:spectra/tenant_globex-Ab1Cd2' });
    is $st, 200, 'WorkgroupName + SecretArn';
    is $b->{SecretArn}, 'arn:aws:secretsmanager:us-east-1:123456789012:'
                        . 'secret:spectra/tenant_globex-Ab1Cd2',
       'echoes SecretArn';
    my $r = wait_done($env, $b->{Id});
    is $r->{DbUser}, 'tenant_globex', 'maps to db user tenant_globex';
    ($st, $b) = call($env, 'GetStatementResult', { Id => $b->{Id} });
    is $b->{Records}[0][0]{longValue}, 300000, "and sees globex's rows";
}

done_testing();
