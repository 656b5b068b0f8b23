# spectra-dataapi's bounds on shared resources, each on a daemon of its
# own: connections per db user and in all (idle ones time out, the least
# recently used makes room), fair shares of the workers (one tenant's long
# statements leave a worker to the others), queues per user, a watchdog
# that ends a statement which lifted its own statement_timeout, and the
# memory bound under concurrent large results.
#
# "Long" statements wait for a lock the test holds on regions: they run
# until the test lets them go, so nothing here depends on timing.

use strict;
use warnings;

use lib "$ENV{SPECTRA_REPO}/t/data/dataapi";
use DataAPI;
use DBI;
use POSIX ();
use Test::More;

my $env = fixture_env();
my $base = $ENV{SPECTRA_PORT_BASE} // 55400;
my @daemons;

END { stop_daemon($_) for @daemons }

sub daemon {
    my $d = start_daemon(@_);
    push @daemons, $d;
    return $d;
}

sub superuser {
    my (%o) = @_;
    my $h = DBI->connect("dbi:Pg:host=127.0.0.1;"
                         . "port=$ENV{TEST_NGINX_PG_PORT};dbname=warehouse",
                         'postgres', undef,
                         { RaiseError => 1, PrintError => 0, %o })
        or die "superuser connection: $DBI::errstr";
    return $h;
}

my $su = superuser(AutoCommit => 1);
my $locker = superuser(AutoCommit => 0);

sub hold_regions { $locker->do('lock table regions in access exclusive mode') }
sub release_regions { $locker->commit }

sub status {
    my ($d, $id) = @_;
    my ($st, $b) = call($d, 'DescribeStatement', { Id => $id });
    return $b;
}

# polls until cond (at most 30 s); returns its last value
sub poll {
    my ($cond) = @_;
    my $v;
    for (1 .. 600) {
        $v = $cond->();
        return $v if $v;
        select undef, undef, undef, 0.05;
    }
    return $v;
}

# how many of the statements' backends wait for the regions lock
sub waiting {
    my ($d, @ids) = @_;
    my @pids = grep { $_ } map { status($d, $_)->{RedshiftPid} } @ids;
    return 0 unless @pids;
    return $su->selectrow_array(
        q{select count(*) from pg_stat_activity}
        . q{ where wait_event_type = 'Lock' and pid = any(?)}, undef,
        \@pids);
}

sub statuses {
    my ($d, @ids) = @_;
    return join ' ', map { status($d, $_)->{Status} } @ids;
}

sub backend_alive {
    my ($pid) = @_;
    return $su->selectrow_array(
        'select count(*) from pg_stat_activity where pid = ?', undef, $pid);
}

my $blocker = 'select count(*) from regions';

# --pool-per-user 2: two connections of a user, never a third
{
    my $p = daemon($base + 30, '--workers', '4', '--pool-per-user', '2');
    hold_regions();
    my @ids = map { submit($p, 'tenant_globex', $blocker) } 1 .. 4;
    ok poll(sub { waiting($p, @ids) == 2 }),
       'two statements of tenant_globex run (and wait for the lock)';
    is statuses($p, @ids), 'STARTED STARTED SUBMITTED SUBMITTED',
       'the other two wait for a connection, though workers are free';
    my @pids = map { status($p, $_)->{RedshiftPid} } @ids[0, 1];
    my $n = $su->selectrow_array(
        q{select count(*) from pg_stat_activity where usename = 'tenant_globex'}
        . q{ and pid = any(?)}, undef, \@pids);
    is $n, 2, 'pg_stat_activity: two backends, both tenant_globex';
    release_regions();
    my @done = map { wait_done($p, $_) } @ids;
    is join(' ', map { $_->{Status} } @done),
       'FINISHED FINISHED FINISHED FINISHED', 'all four finish';
    my %pid = map { $_->{RedshiftPid} => 1 } @done;
    is scalar keys %pid, 2, 'on the same two connections';
}

# --pool-idle-seconds 1: an idle connection closes
{
    my $p = daemon($base + 31, '--pool-idle-seconds', '1');
    my $d = statement($p, 'tenant_acme', 'select 1');
    is $d->{Status}, 'FINISHED', 'a statement leaves an idle connection';
    ok backend_alive($d->{RedshiftPid}), 'its backend is there';
    ok poll(sub { !backend_alive($d->{RedshiftPid}) }),
       'and is closed once idle past --pool-idle-seconds';
    my $d2 = statement($p, 'tenant_acme', 'select 1');
    isnt $d2->{RedshiftPid}, $d->{RedshiftPid},
         'the next statement opens a new one';
}

# --pool-max 2: the least recently used idle connection makes room
{
    my $p = daemon($base + 32, '--pool-max', '2');
    my $a = statement($p, 'tenant_acme', 'select 1');
    my $g = statement($p, 'tenant_globex', 'select 1');
    my $i = statement($p, 'tenant_initech', 'select 1');
    is join(' ', map { $_->{Status} } $a, $g, $i),
       'FINISHED FINISHED FINISHED', 'three users through two connections';
    ok poll(sub { !backend_alive($a->{RedshiftPid}) }),
       "acme's, the least recently used, was closed for initech's";
    ok backend_alive($g->{RedshiftPid}), "globex's is still open";
    is statement($p, 'tenant_globex', 'select 1')->{RedshiftPid},
       $g->{RedshiftPid}, 'and serves globex again';
}

# fair share: tenant_acme holds its three of four workers, tenant_globex
# still runs at once; and queues per user
{
    my $p = daemon($base + 33, '--workers', '4', '--queue-per-user', '2');
    hold_regions();
    my @acme = map { submit($p, 'tenant_acme', $blocker) } 1 .. 4;
    ok poll(sub { waiting($p, @acme) == 3 }),
       'acme runs three statements (workers - 1), all waiting';
    is statuses($p, @acme), 'STARTED STARTED STARTED SUBMITTED',
       'its fourth waits for its share, though a worker is free';

    my $g = statement($p, 'tenant_globex', 'select 1');
    is $g->{Status}, 'FINISHED', "globex's statement runs on the free worker";
    is statuses($p, @acme), 'STARTED STARTED STARTED SUBMITTED',
       'and finished before any of acme\'s';

    push @acme, submit($p, 'tenant_acme', $blocker);
    my ($st, $b) = call($p, 'ExecuteStatement',
                        { Sql => 'select 1', Database => 'warehouse',
                          ClusterIdentifier => 'demo',
                          DbUser => 'tenant_acme' });
    is $st, 400, 'a third queued statement of acme: 400';
    is $b->{__type}, 'ActiveStatementsExceededException',
       'ActiveStatementsExceededException (--queue-per-user 2)';
    is statement($p, 'tenant_globex', 'select 2')->{Status}, 'FINISHED',
       'while globex is still accepted and served';

    release_regions();
    is join(' ', map { wait_done($p, $_)->{Status} } @acme),
       'FINISHED FINISHED FINISHED FINISHED FINISHED',
       "acme's five finish once the lock goes";
}

# the watchdog: a statement that lifted its own statement_timeout ends
{
    my $p = daemon($base + 34, '--statement-timeout-seconds', '2');
    hold_regions();
    for my $set ('set statement_timeout = 0',
                 'set local statement_timeout = 0') {
        my ($st, $b) = call($p, 'BatchExecuteStatement',
                            { Sqls => [$set, $blocker],
                              Database => 'warehouse',
                              ClusterIdentifier => 'demo',
                              DbUser => 'tenant_acme' });
        my $d = wait_done($p, $b->{Id});
        is $d->{Status}, 'FAILED', "$set, then a long statement: FAILED";
        is $d->{Error}, 'ERROR: canceling statement due to statement '
                        . 'timeout (SQLSTATE 57014)',
           '... as a statement timeout';
        is_deeply [map { $_->{Status} } @{ $d->{SubStatements} }],
                  [qw(ABORTED FAILED)], '... while the lock is still held';
        like do { open my $fh, '<', $p->{log}; local $/; <$fh> },
             qr/statement id=\Q$b->{Id}\E db_user=tenant_acme is past its deadline \(2 s\): cancelling it/,
             '... by the watchdog';
    }
    my $d = statement($p, 'tenant_acme', $blocker);
    is $d->{Error}, 'ERROR: canceling statement due to statement timeout '
                    . '(SQLSTATE 57014)',
       'without the SET, statement_timeout itself ends it';
    unlike do { open my $fh, '<', $p->{log}; local $/; <$fh> },
           qr/statement id=\Q$d->{Id}\E .*past its deadline/,
           '... PostgreSQL\'s, set with the statement, not the watchdog';
    release_regions();
}

# the memory bound holds while results are built concurrently
{
    my $bound = 64 * 1024 * 1024;
    my $p = daemon($base + 35, '--workers', '4', '--max-running-per-user',
                   '4', '--max-retained-bytes', $bound);
    my $hwm = sub {
        open my $fh, '<', "/proc/$p->{pid}/status" or return undef;
        my ($kb) = join('', <$fh>) =~ /^VmHWM:\s+(\d+) kB/m;
        return $kb * 1024;
    };
    is statement($p, 'tenant_acme', 'select 1')->{Status}, 'FINISHED',
       'the daemon is warm';
    my $before = $hwm->();

    # four results of about 26 MB each (180,000 rows): 104 MB together
    my $big = 'select s.id, s.note, s.amount, s.sold_at, r.name from sales s'
              . ' join regions r on r.region = s.region where s.id <= 300000'
              . ' order by s.id';
    hold_regions();
    my @ids = map { submit($p, 'tenant_acme', $big) } 1 .. 4;
    ok poll(sub { waiting($p, @ids) == 4 }), 'four large statements wait';
    release_regions();

    # a finished result may be evicted for a later one before it is seen
    my (%end, $failed, $evicted);
    poll(sub {
        for my $id (grep { !$end{$_} } @ids) {
            my ($st, $b) = call($p, 'DescribeStatement', { Id => $id });
            $end{$id} = $st == 400 ? { Status => 'EVICTED' } : $b
                if $st == 400 || $b->{Status} =~ /^(FINISHED|FAILED)$/;
        }
        return keys %end == @ids;
    });
    ($failed, $evicted) = (0, 0);
    for my $d (map { $end{$_} // { Status => 'RUNNING' } } @ids) {
        if ($d->{Status} eq 'FAILED') {
            is $d->{Error}, 'ERROR: Query results held by spectra-dataapi '
                            . "would exceed its memory bound of $bound bytes;"
                            . ' fetch or let finished results expire and '
                            . 'retry (SQLSTATE 53200)',
               'a statement past the bound FAILS with why';
            $failed++;
            next;
        }
        like $d->{Status}, qr/^(FINISHED|EVICTED)$/,
             'the others finish (and may be evicted later)';
        $evicted++ if $d->{Status} eq 'EVICTED'
                      || (call($p, 'DescribeStatement', { Id => $d->{Id} }))[0]
                         == 400;
    }
    ok $failed + $evicted >= 1,
       "four 26 MB results do not all fit in 64 MiB ($failed failed, "
       . "$evicted evicted)";
    # the kept results, fetched at once: pages are sent from the results
    my @kept = grep { $end{$_}{Status} eq 'FINISHED'
                      && (call($p, 'DescribeStatement', { Id => $_ }))[0]
                         == 200 } @ids;
    my @kids;
    for my $id (@kept) {
        my $pid = fork // die "fork: $!";
        if ($pid == 0) {
            my ($st, $page) = call($p, 'GetStatementResult', { Id => $id });
            # _exit: the END block of this file would stop the daemons
            POSIX::_exit($st == 200 && @{ $page->{Records} } == 180000
                         ? 0 : 1);
        }
        push @kids, $pid;
    }
    my $pages_ok = 0;
    for (@kids) {
        waitpid $_, 0;
        $pages_ok++ if $? == 0;
    }
    is $pages_ok, scalar @kept,
       scalar(@kept) . ' kept results fetched at once, 180000 rows each';

    my $grew = $hwm->() - $before;
    SKIP: {
        skip 'RSS under valgrind', 1 if $ENV{SPECTRA_DATAAPI_VALGRIND};
        ok $grew <= $bound + 24 * 1024 * 1024,
           sprintf 'the peak RSS grew by %.1f MiB: at most the bound '
                   . '(64 MiB) + 24 MiB', $grew / 1048576;
    }
    diag sprintf 'memory bound 64 MiB: peak RSS %.1f MiB above the idle '
                 . 'daemon; %d failed, %d evicted, %d fetched at once',
                 $grew / 1048576, $failed, $evicted, scalar @kept;
}

done_testing();
