# The test warehouse is hardened as docs/hardening.md says: PostgreSQL
# trusts no one (scram-sha-256 for every role, the superuser included, TCP
# on 127.0.0.1 only), tenant roles are members of nothing and carry their
# own limits, side-effect and cluster-information functions are not
# PUBLIC, the minting function is the administrative role's alone, and the
# daemon's files are its own (0600, in a 0700 directory).

use strict;
use warnings;

use lib "$ENV{SPECTRA_REPO}/t/data/dataapi";
use DataAPI;
use DBI;
use File::Temp qw(tempdir);
use Test::More;

my $env = fixture_env();
my $port = $ENV{TEST_NGINX_PG_PORT};
my $base = $ENV{SPECTRA_PORT_BASE} // 55400;

my $su = DBI->connect("dbi:Pg:host=127.0.0.1;port=$port;dbname=warehouse",
                      'postgres', undef,
                      { RaiseError => 1, AutoCommit => 1, PrintError => 0 })
    or die "superuser connection: $DBI::errstr";

# psql as USER with the given password (undef: none at all); (rc, output)
sub psql_as {
    my ($user, $password, $host) = @_;
    local $ENV{PGPASSFILE} = '/dev/null';
    local $ENV{PGPASSWORD} = $password;
    delete local $ENV{PGPASSWORD} unless defined $password;
    my $h = $host // '127.0.0.1';
    my $out = `psql -X -w -At -h $h -p $port -U $user -d warehouse -c 'select current_user' 2>&1`;
    return ($? >> 8, $out);
}

sub mode_of { return sprintf '%04o', (stat $_[0])[2] & 07777 }

# nobody logs in without a password
{
    my ($rc, $out) = psql_as('postgres', undef);
    isnt $rc, 0, 'psql -h 127.0.0.1 -U postgres without a password fails';
    like $out, qr/fe_sendauth: no password supplied/, '... no password';

    ($rc, $out) = psql_as('postgres', 'not-the-password');
    isnt $rc, 0, 'with a wrong password it fails';
    like $out, qr/password authentication failed for user "postgres"/,
         '... password authentication failed';

    my ($su_pw) = do {
        open my $fh, '<', $ENV{SPECTRA_PG_PASSFILE} or die;
        local $/;
        <$fh> =~ /:([^:\n]+)$/m;
    };
    ($rc, $out) = psql_as('postgres', $su_pw);
    is $rc, 0, 'with the password from the fixture it works';
    is $out, "postgres\n", '... as postgres';

    for my $u (qw(tenant_acme tenant_initech spectra_dataapi)) {
        ($rc, $out) = psql_as($u, undef);
        isnt $rc, 0, "$u without a password is refused";
    }

    ($rc, $out) = psql_as('postgres', $su_pw, '/var/run/postgresql');
    isnt $rc, 0, 'there is no unix socket to connect to';

    my $rules = $su->selectall_arrayref(
        'select type, address, auth_method from pg_hba_file_rules');
    is_deeply $rules, [['host', '127.0.0.1', 'scram-sha-256']],
              'pg_hba.conf: TCP from 127.0.0.1, scram-sha-256, nothing else';
    my $plain = $su->selectcol_arrayref(
        q{select rolname from pg_authid where rolpassword is not null}
        . q{ and rolpassword not like 'SCRAM-SHA-256$%'});
    is_deeply $plain, [], 'every password is stored as a SCRAM verifier';
}

# tenant roles: log in, members of nothing, limits of their own
for my $t (qw(tenant_acme tenant_globex tenant_initech)) {
    my $r = $su->selectrow_hashref(
        'select rolcanlogin, rolsuper, rolbypassrls, rolcreaterole,'
        . ' rolcreatedb, rolreplication, rolconnlimit,'
        . ' array_to_string(rolconfig, \',\') as config'
        . ' from pg_roles where rolname = ?', undef, $t);
    is_deeply [@$r{qw(rolcanlogin rolsuper rolbypassrls rolcreaterole
                      rolcreatedb rolreplication)}], [1, 0, 0, 0, 0, 0],
              "$t logs in and has no other attribute";
    is $r->{rolconnlimit}, 24, "$t: CONNECTION LIMIT 24";
    is $r->{config}, 'statement_timeout=15min,temp_file_limit=1GB,'
                     . 'work_mem=16MB',
       "$t: statement_timeout, temp_file_limit, work_mem";
    my ($n) = $su->selectrow_array(
        'select count(*) from pg_auth_members m join pg_roles r'
        . ' on r.oid = m.member where r.rolname = ?', undef, $t);
    is $n, 0, "$t is a member of no role";
}

{
    my $d = statement($env, 'tenant_acme', 'set temp_file_limit = -1');
    is $d->{Error}, 'ERROR: permission denied to set parameter '
                    . '"temp_file_limit" (SQLSTATE 42501)',
       'a tenant cannot lift its temp_file_limit';
}

# what PUBLIC may not execute, and what it keeps
{
    for my $f ('pg_terminate_backend(integer, bigint)',
               'pg_cancel_backend(integer)', 'pg_stat_get_activity(integer)',
               'pg_blocking_pids(integer)', 'pg_lock_status()',
               'pg_advisory_lock(bigint)', 'pg_try_advisory_xact_lock(bigint)',
               'pg_advisory_unlock(bigint)', 'lo_creat(integer)',
               'lo_from_bytea(oid, bytea)', 'loread(integer, integer)',
               'pg_logical_emit_message(boolean, text, text)',
               'pg_notify(text, text)', 'pg_relation_size(regclass)',
               'pg_total_relation_size(regclass)', 'pg_database_size(name)',
               'pg_tablespace_size(name)', 'pg_sleep_for(interval)',
               'pg_sleep_until(timestamp with time zone)') {
        my ($ok) = $su->selectrow_array(
            q{select has_function_privilege('tenant_globex', ?, 'EXECUTE')},
            undef, $f);
        ok !$ok, "tenants may not execute $f";
    }
    my ($public) = $su->selectrow_array(
        q{select count(*) from pg_proc p, aclexplode(p.proacl) a}
        . q{ where p.oid = 'pg_sleep(double precision)'::regprocedure}
        . q{ and a.grantee = 0});
    is $public, 0, 'pg_sleep is not PUBLIC (the test fixture grants it to '
                   . 'the tenants; t/002 checks make run\'s warehouse)';
    for my $f ('set_config(text, text, boolean)', 'current_setting(text)',
               'pg_advisory_unlock_all()') {
        my ($ok) = $su->selectrow_array(
            q{select has_function_privilege('tenant_globex', ?, 'EXECUTE')},
            undef, $f);
        ok $ok, "$f stays (SET/SHOW do the same; the daemon's reset)";
    }
    my $d = statement($env, 'tenant_globex', 'select count(*) from pg_locks');
    is $d->{Error}, 'ERROR: permission denied for function pg_lock_status '
                    . '(SQLSTATE 42501)', 'a tenant cannot list locks';
    my $acl = $su->selectcol_arrayref(
        q{select datname from pg_database, aclexplode(datacl) a}
        . q{ where a.grantee = 0 and datallowconn});
    is_deeply $acl, [], 'no database can be connected to by PUBLIC';
}

# the minting function and the roles around it
{
    my $f = $su->selectrow_hashref(
        q{select p.prosecdef, r.rolname as owner,}
        . q{ array_to_string(p.proconfig, ',') as config}
        . q{ from pg_proc p join pg_roles r on r.oid = p.proowner}
        . q{ where p.oid = 'spectra_admin.get_cluster_credentials(name,}
        . q{ integer)'::regprocedure});
    is $f->{prosecdef}, 1, 'get_cluster_credentials is SECURITY DEFINER';
    is $f->{owner}, 'spectra_credentials', '... owned by spectra_credentials';
    is $f->{config}, 'search_path=pg_catalog, pg_temp',
       '... with a pinned search_path';
    my $exec = $su->selectcol_arrayref(
        q{select r.rolname from pg_proc p, aclexplode(p.proacl) a}
        . q{ join pg_roles r on r.oid = a.grantee}
        . q{ where p.oid = 'spectra_admin.get_cluster_credentials(name,}
        . q{ integer)'::regprocedure and a.privilege_type = 'EXECUTE'}
        . q{ order by 1});
    is_deeply $exec, ['spectra_credentials', 'spectra_dataapi'],
              '... executable by its owner and spectra_dataapi only';

    my $c = $su->selectrow_hashref(
        q{select rolcanlogin, rolcreaterole, rolsuper,}
        . q{ (select count(*) from pg_auth_members m where m.roleid = r.oid}
        . q{  or m.member = r.oid) as members}
        . q{ from pg_roles r where rolname = 'spectra_credentials'});
    is_deeply [@$c{qw(rolcanlogin rolcreaterole rolsuper members)}],
              [0, 1, 0, 0],
              'spectra_credentials: NOLOGIN, CREATEROLE, no memberships';

    my $a = $su->selectrow_hashref(
        q{select rolsuper, rolbypassrls, rolcreaterole, rolcreatedb,}
        . q{ (select count(*) from pg_auth_members m where m.member = r.oid)}
        . q{ as memberships,}
        . q{ (select count(*) from pg_class c where c.relowner = r.oid)}
        . q{ as owns,}
        . q{ has_table_privilege(r.oid, 'public.sales', 'SELECT') as sales,}
        . q{ has_table_privilege(r.oid, 'public.regions', 'SELECT')}
        . q{ as regions}
        . q{ from pg_roles r where rolname = 'spectra_dataapi'});
    is_deeply [@$a{qw(rolsuper rolbypassrls rolcreaterole rolcreatedb
                      memberships owns sales regions)}],
              [0, 0, 0, 0, 0, 0, 0, 0],
              'spectra_dataapi: no attribute, membership, object or table';
}

# the daemon's files
{
    my $dir = $ENV{SPECTRA_DATAAPI_DIR};
    is mode_of($dir), '0700', "the daemon's directory is 0700";
    for my $f (qw(keys secrets.json pg-password log pid)) {
        is mode_of("$dir/$f"), '0600', "its $f is 0600";
    }
    is mode_of($ENV{SPECTRA_PG_PASSFILE}), '0600',
       "the superuser's password file is 0600";
    is mode_of($ENV{SPECTRA_PG_DIR}), '0700', 'the cluster directory is 0700';
    is mode_of("$ENV{SPECTRA_PG_DIR}/server.log"), '0600',
       "PostgreSQL's log is 0600";

    # log and pid files are made 0600, whatever umask and old files say
    my $t = tempdir('spectra-t034-XXXXXX', TMPDIR => 1, CLEANUP => 1);
    open my $fh, '>', "$t/log" or die;
    close $fh;
    chmod 0644, "$t/log";
    my $old = umask 022;
    my $d = start_daemon($base + 24, '--log-file', "$t/log",
                         '--pid-file', "$t/pid");
    umask $old;
    is mode_of("$t/log"), '0600', 'an existing 0644 --log-file becomes 0600';
    is mode_of("$t/pid"), '0600', 'the --pid-file is created 0600';
    is stop_daemon($d), 0, 'that daemon exits cleanly';
}

done_testing();
