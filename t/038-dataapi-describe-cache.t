# spectra-dataapi's column description cache (--describe-cache-seconds):
# a statement's columns described a moment ago for the same db user come
# from the cache, with the same metadata as from the catalog; a CREATE,
# ALTER or DROP run through the daemon empties it; 0 turns it off; one
# user's entries never answer for another's.

use strict;
use warnings;

use lib "$ENV{SPECTRA_REPO}/t/data/dataapi";
use DataAPI;
use Test::More;

my $base = $ENV{SPECTRA_PORT_BASE} // 55400;

my $cached = start_daemon($base + 25, '--describe-cache-seconds', '3600');
END { stop_daemon($cached) if defined $cached }
my $uncached = start_daemon($base + 26, '--describe-cache-seconds', '0');
END { stop_daemon($uncached) if defined $uncached }
my $short = start_daemon($base + 27, '--describe-cache-seconds', '4');
END { stop_daemon($short) if defined $short }

my @psql = ('psql', '-X', '-q', '-w', '-v', 'ON_ERROR_STOP=1',
            '-h', '127.0.0.1', '-p', $ENV{SPECTRA_PORT_BASE},
            '-U', 'postgres', '-d', 'warehouse');

sub superuser {
    my ($sql) = @_;
    system(@psql, '-c', $sql) == 0 or die "psql: $sql";
}

END { system(@psql, '-c', 'drop table if exists describe_probe, '
                           . 'describe_probe2, describe_probe3, '
                           . 'describe_probe4') }

# the column metadata of SQL run as USER on daemon D
sub run {
    my ($d, $user, $sql) = @_;
    my $r = statement($d, $user, $sql);
    die "$sql: $r->{Status} $r->{Error}" unless $r->{Status} eq 'FINISHED';
    return $r;
}

sub columns {
    my ($d, $user, $sql) = @_;
    my $r = run($d, $user, $sql);
    my ($st, $b) = call($d, 'GetStatementResult', { Id => $r->{Id} });
    die "GetStatementResult: $st" unless $st == 200;
    return $b->{ColumnMetadata};
}

sub brief {
    my ($cols) = @_;
    return [ map { join ' ', $_->{name}, $_->{schemaName}, $_->{tableName},
                   $_->{nullable}, $_->{columnDefault} // '-' } @$cols ];
}

superuser('drop table if exists describe_probe, describe_probe2, '
          . 'describe_probe3, describe_probe4; '
          . 'create table describe_probe (id int not null default 7, '
          . "note text default 'n/a'); "
          . 'grant select on describe_probe to tenant_globex, tenant_acme');

my $want = [ 'id public describe_probe 0 7',
             "note public describe_probe 1 'n/a'::text",
             'one   1 -' ];
my $sql = 'select id, note, 1 as one from describe_probe';

# first from the catalog, then from the cache: the same answer
my $first = columns($cached, 'tenant_globex', $sql);
is_deeply brief($first), $want, 'described from the catalog';
my $again = columns($cached, 'tenant_globex', $sql);
is_deeply $again, $first, 'the same column metadata on a cache hit';
is_deeply brief(columns($uncached, 'tenant_globex', $sql)), $want,
          'the same with no cache';

# a rename outside the daemon: the cache answers (that is how it is seen
# to be used); another user, and the daemon without a cache, see the new
# name at once
superuser('alter table describe_probe rename to describe_probe2');
$sql = 'select id, note, 1 as one from describe_probe2';
my $stale = [ map { s/describe_probe2?\b/describe_probe/r } @$want ];
is_deeply brief(columns($cached, 'tenant_globex', $sql)), $stale,
          'a change made outside the daemon is seen late: the cache is used';
my $renamed = [ map { s/describe_probe\b/describe_probe2/r } @$want ];
is_deeply brief(columns($cached, 'tenant_acme', $sql)), $renamed,
          "one user's entries never answer for another user";
is_deeply brief(columns($uncached, 'tenant_globex', $sql)), $renamed,
          '--describe-cache-seconds 0: no cache';

# a DROP (of nothing) through the daemon empties the cache (a tenant
# owns no table, so it can rename none: the rename is made outside)
superuser('alter table describe_probe2 rename to describe_probe3');
run($cached, 'tenant_globex', 'drop table if exists describe_no_such');
$sql = 'select id, note, 1 as one from describe_probe3';
is_deeply brief(columns($cached, 'tenant_globex', $sql)),
          [ map { s/describe_probe\b/describe_probe3/r } @$want ],
          'a DROP run through the daemon: described afresh';

# columns of two relations, one of them cached, in one statement
my $two = columns($cached, 'tenant_globex',
                  'select p.id, s.id as sid from describe_probe3 p '
                  . 'join sales s on s.id = p.id');
is_deeply [ map { "$_->{name} $_->{tableName}" } @$two ],
          [ 'id describe_probe3', 'sid sales' ],
          'a cached column and a catalog one in one statement';

# an entry lasts --describe-cache-seconds (4 here) from when the catalog
# said it, however often it is used: a statement that takes it from the
# cache while describing another column does not make it young again.
# The ages are whole seconds: 1.5 s is at most 2 of them, 4.5 s at least
# 4, 3 s at most 3 (a slow machine can only make the last check pass
# where it should fail, never fail it)
{
    my $one = 'select id from describe_probe4';
    my $both = 'select p.id, s.note from describe_probe4 p '
               . 'join sales s on s.id = p.id';
    columns($short, 'tenant_globex', $one =~ s/probe4/probe3/r);   # t = 0
    superuser('alter table describe_probe3 rename to describe_probe4');
    select undef, undef, undef, 1.5;
    # id from the cache (so still named describe_probe3), s.note from
    # the catalog; the entry of id must not be made young here
    my $hit = columns($short, 'tenant_globex', $both)->[0]{tableName};
    note "the column at 1.5 s: from $hit";
    select undef, undef, undef, 3;
    is columns($short, 'tenant_globex', $one)->[0]{tableName},
       'describe_probe4', 'an entry ends when it is due, however used';
}

# bad values are refused before the daemon starts
for my $bad ('-1', '3601', 'ten', '') {
    my $out = `timeout 10 $ENV{SPECTRA_BUILD}/spectra-dataapi --listen 127.0.0.1:1 --database warehouse --describe-cache-seconds '$bad' 2>&1`;
    isnt $? >> 8, 0, "--describe-cache-seconds '$bad': refused";
    like $out, qr/--describe-cache-seconds needs a number from 0 to 3600/,
         'with the range in the message';
}

done_testing;
