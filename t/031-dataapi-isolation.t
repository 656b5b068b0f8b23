# Tenant isolation is PostgreSQL's: every statement runs in a session
# logged in AS its db user, a member of no other role, so SQL sent straight
# to spectra-dataapi with the real AWS CLI (no nginx module, no SQL policy
# in front) cannot become another tenant in any form: PostgreSQL refuses it
# with 42501. pg_stat_activity, read by the superuser, names the tenant as
# the user of the backend that runs its statement. Roles that are not
# ordinary tenant roles are refused as db users.

use strict;
use warnings;

use lib "$ENV{SPECTRA_REPO}/t/data/dataapi";
use DataAPI;
use DBI;
use Test::More;

my $env = fixture_env();

my $su = DBI->connect("dbi:Pg:host=127.0.0.1;port=$ENV{TEST_NGINX_PG_PORT};"
                      . 'dbname=warehouse', 'postgres', undef,
                      { RaiseError => 1, AutoCommit => 1, PrintError => 0 })
    or die "superuser connection: $DBI::errstr";
$su->do('set client_min_messages = warning');

# execute-statement by the CLI; the end is read with the Perl signer
sub cli_statement {
    my ($user, $sql) = @_;
    my $r = cli_json($env, 'execute-statement', '--cluster-identifier',
                     'demo', '--database', 'warehouse', '--db-user', $user,
                     '--sql', $sql);
    return wait_done($env, $r->{Id});
}

# every way to leave tenant_acme's role: FAILED inside PostgreSQL
for my $c (
    ['set role tenant_globex', 'permission denied to set role "tenant_globex"'],
    ['SET ROLE "tenant_globex"', 'permission denied to set role "tenant_globex"'],
    ['set local role tenant_globex',
     'permission denied to set role "tenant_globex"'],
    ['set session role tenant_globex',
     'permission denied to set role "tenant_globex"'],
    ['set "role" to tenant_globex',
     'permission denied to set role "tenant_globex"'],
    ['set role postgres', 'permission denied to set role "postgres"'],
    ["select set_config('role', 'tenant_globex', false)",
     'permission denied to set role "tenant_globex"'],
    ["select set_config('role', 'tenant_globex', true)",
     'permission denied to set role "tenant_globex"'],
    [q{select U&"\0073et_config"('role', 'tenant_globex', false)},
     'permission denied to set role "tenant_globex"'],
    ["do \$\$ begin execute 'set role tenant_globex'; end \$\$",
     'permission denied to set role "tenant_globex"'],
    ['set session authorization tenant_globex',
     'permission denied to set session authorization "tenant_globex"'],
    ["select set_config('session_authorization', 'tenant_globex', false)",
     'permission denied to set session authorization "tenant_globex"'],
    ['grant tenant_globex to tenant_acme',
     'must have admin option on role "tenant_globex"'],
    ['alter role tenant_acme superuser',
     'must be superuser to alter superuser roles or change superuser '
     . 'attribute'],
    ['create role spectra_t031_new', 'permission denied to create role'],
    ["select * from spectra_admin.get_cluster_credentials("
     . "'tenant_globex', 900)",
     'permission denied for schema spectra_admin'],
) {
    my ($sql, $message) = @$c;
    my $d = cli_statement('tenant_acme', $sql);
    is $d->{Status}, 'FAILED', "$sql: FAILED";
    is $d->{Error}, "ERROR: $message (SQLSTATE 42501)",
       "$sql: PostgreSQL says $message (42501)";
}

# the same in a batch: nothing after the switch runs, nothing leaks
{
    my $r = cli_json($env, 'batch-execute-statement', '--cluster-identifier',
                     'demo', '--database', 'warehouse', '--db-user',
                     'tenant_acme', '--sqls', 'set role tenant_globex',
                     'select count(*) from sales');
    my $d = wait_done($env, $r->{Id});
    is $d->{Status}, 'FAILED', 'a batch that switches role FAILS';
    is_deeply [map { $_->{Status} } @{ $d->{SubStatements} }],
              [qw(FAILED ABORTED)], 'the count after it never runs';
    my ($rc, $out, $err) = cli($env, 'get-statement-result', '--id',
                               "$r->{Id}:2");
    isnt $rc, 0, 'and has no result';
}

# a tenant sees its rows only, whatever it asks for
{
    my $d = cli_statement('tenant_acme', "select count(*) from sales "
                                         . "where tenant_id = 'globex'");
    my $res = cli_json($env, 'get-statement-result', '--id', $d->{Id});
    is $res->{Records}[0][0]{longValue}, 0,
       "acme asking for globex's rows counts 0";

    $d = statement($env, 'tenant_acme', 'select count(*) from regions');
    (undef, $res) = call($env, 'GetStatementResult', { Id => $d->{Id} });
    is $res->{Records}[0][0]{longValue}, 4, 'regions is readable by all';

    # row_security = off makes a query that RLS would filter an error
    my $r = cli_json($env, 'batch-execute-statement', '--cluster-identifier',
                     'demo', '--database', 'warehouse', '--db-user',
                     'tenant_acme', '--sqls', 'set row_security = off',
                     'select count(*) from sales');
    $d = wait_done($env, $r->{Id});
    is $d->{Status}, 'FAILED', 'row_security off does not lift RLS';
    is $d->{Error}, 'ERROR: query would be affected by row-level security '
                    . 'policy for table "sales" (SQLSTATE 42501)',
       'PostgreSQL refuses the query instead';
}

# the backend of a running statement is the tenant's, in pg_stat_activity
{
    my $r = cli_json($env, 'execute-statement', '--cluster-identifier',
                     'demo', '--database', 'warehouse', '--db-user',
                     'tenant_globex', '--sql', 'select pg_sleep(60)');
    my $d = wait_done($env, $r->{Id}, 'STARTED');
    ok $d->{RedshiftPid} > 0, 'the running statement has a backend pid';

    my $row;
    for (1 .. 100) {
        $row = $su->selectrow_hashref(
            'select usename, application_name, query, state'
            . ' from pg_stat_activity where pid = ?', undef,
            $d->{RedshiftPid});
        last if $row && $row->{state} eq 'active'
                && $row->{query} =~ /pg_sleep/;
        select undef, undef, undef, 0.05;
    }
    is $row->{usename}, 'tenant_globex',
       'pg_stat_activity: usename of its backend is tenant_globex';
    is $row->{query}, 'select pg_sleep(60)', 'running the statement';
    is $row->{application_name}, 'spectra-dataapi', 'for spectra-dataapi';

    my ($n) = $su->selectrow_array(
        q{select count(*) from pg_stat_activity}
        . q{ where usename = 'spectra_dataapi' and query like '%pg_sleep%'});
    is $n, 0, 'no backend of spectra_dataapi runs tenant SQL';
    my $admin = $su->selectcol_arrayref(
        q{select distinct application_name from pg_stat_activity}
        . q{ where usename = 'spectra_dataapi'});
    is_deeply $admin, ['spectra-dataapi-admin'],
              'spectra_dataapi only holds the administrative connection';

    call($env, 'CancelStatement', { Id => $r->{Id} });
    is wait_done($env, $r->{Id})->{Status}, 'ABORTED',
       'CancelStatement still works on the tenant connection';
}

# db users that are not ordinary tenant roles are refused
my @roles = qw(spectra_t031_member spectra_t031_bypass spectra_t031_creator
               spectra_t031_nologin);
END {
    if (defined $su) {
        $su->do("drop role if exists $_") for @roles;
    }
}
$su->do("drop role if exists $_") for @roles;
$su->do('create role spectra_t031_member login');
$su->do('grant tenant_initech to spectra_t031_member');
$su->do('create role spectra_t031_bypass login bypassrls');
$su->do('create role spectra_t031_creator login createdb');
$su->do('create role spectra_t031_nologin nologin');

for my $u (
    ['postgres', qr/^ERROR: db user "postgres" is refused: a superuser or BYPASSRLS role/],
    ['spectra_t031_bypass', qr/is refused: a superuser or BYPASSRLS role/],
    ['spectra_owner', qr/^ERROR: db user "spectra_owner" is refused: it owns tables/],
    ['spectra_dataapi', qr/is refused: it is the login role of spectra-dataapi/],
    ['spectra_t031_member', qr/^ERROR: db user "spectra_t031_member" is refused: it is a member of role "tenant_initech", so it could act as that role/],
    ['spectra_t031_creator', qr/is refused: it has CREATEROLE, CREATEDB or REPLICATION/],
    ['spectra_t031_nologin', qr/is refused: it cannot log in/],
    ['pg_monitor', qr/is refused: .*(member|pg_ roles|cannot log in)/],
) {
    my $d = statement($env, $u->[0], 'select count(*) from sales');
    is $d->{Status}, 'FAILED', "db user $u->[0] is refused";
    like $d->{Error}, $u->[1], "with the reason for $u->[0]";
    like $d->{Error}, qr/\(SQLSTATE 28000\)$/, 'and SQLSTATE 28000';
    is $d->{RedshiftPid}, 0, 'before any connection as it is made';
}

# ... and the minting function refuses them too, whoever calls it
{
    my $pw = do {
        open my $fh, '<', $ENV{SPECTRA_DATAAPI_PG_PASSWORD_FILE} or die;
        my $l = <$fh>;
        chomp $l;
        $l;
    };
    my $admin = DBI->connect(
        "dbi:Pg:host=127.0.0.1;port=$ENV{TEST_NGINX_PG_PORT};dbname=warehouse",
        'spectra_dataapi', $pw,
        { RaiseError => 0, AutoCommit => 1, PrintError => 0 })
        or die "admin connection: $DBI::errstr";
    for my $u (qw(postgres spectra_owner spectra_dataapi spectra_credentials
                  spectra_t031_member spectra_t031_bypass spectra_t031_creator
                  spectra_t031_nologin pg_monitor)) {
        my $ok = $admin->selectrow_array(
            'select password from spectra_admin.get_cluster_credentials(?, 900)',
            undef, $u);
        ok !defined $ok, "get_cluster_credentials refuses $u";
        like $admin->errstr,
             qr/db user "\Q$u\E" is not an ordinary tenant role/,
             '... as not an ordinary tenant role';
        is $admin->state, '42501', '... 42501';
    }
    ok !defined $admin->selectrow_array(
            'select password from spectra_admin.get_cluster_credentials('
            . q{'tenant_initech', 60)}),
       'a duration under 900 s is refused';
    like $admin->errstr, qr/duration_seconds must be from 900 to 3600/,
         '... with the range, as GetClusterCredentials';

    # the administrative role reads no tenant data and becomes no one
    ok !defined $admin->selectrow_array('select count(*) from public.sales'),
       'spectra_dataapi cannot read sales';
    is $admin->state, '42501', '... permission denied';
    ok !$admin->do('set role tenant_acme'), 'nor SET ROLE to a tenant';
    like $admin->errstr, qr/permission denied to set role "tenant_acme"/,
         '... permission denied';
    $admin->disconnect;
}

done_testing();
