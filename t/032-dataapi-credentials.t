# What spectra-dataapi logs in with: a DbUser without a secret gets a
# temporary password minted by spectra_admin.get_cluster_credentials() (as
# GetClusterCredentials does on Redshift), cached and minted again once when
# a login with it fails; a SecretArn resolves through --secrets-file (re-read
# on SIGHUP); an unknown one is an AWS-shaped error; and the daemon refuses
# to start with files other users can read, a bad secret or an
# administrative role that could read tenant data.

use strict;
use warnings;

use lib "$ENV{SPECTRA_REPO}/t/data/dataapi";
use DataAPI;
use DBI;
use File::Temp qw(tempdir);
use JSON::PP;
use Test::More;

my $env = fixture_env();
my $base = $ENV{SPECTRA_PORT_BASE} // 55400;
my $arn = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:spectra';
my (@daemons, $dir);

END { stop_daemon($_) for @daemons }

my $su = DBI->connect("dbi:Pg:host=127.0.0.1;port=$ENV{TEST_NGINX_PG_PORT};"
                      . 'dbname=warehouse', 'postgres', undef,
                      { RaiseError => 1, AutoCommit => 1, PrintError => 0 })
    or die "superuser connection: $DBI::errstr";

sub daemon {
    my $d = start_daemon(@_);
    push @daemons, $d;
    return $d;
}

sub slurp {
    my ($path) = @_;
    open my $fh, '<', $path or die "$path: $!";
    local $/;
    return scalar <$fh>;
}

sub spew {
    my ($path, $text, $mode) = @_;
    unlink $path;
    my $old = umask 077;
    open my $fh, '>', $path or die "$path: $!";
    print $fh $text;
    close $fh;
    umask $old;
    chmod $mode // 0600, $path;
}

# seconds until the role's password expires (undef: it never does)
sub valid_for {
    my ($role) = @_;
    return $su->selectrow_array(
        'select extract(epoch from rolvaliduntil - now())::int'
        . ' from pg_authid where rolname = ?', undef, $role);
}

my $secrets = decode_json(slurp($ENV{SPECTRA_DATAAPI_SECRETS_FILE}));
my ($globex_pw) = map { $_->{password} }
                  grep { $_->{username} eq 'tenant_globex' } values %$secrets;

# DbUser without a secret: minted, and the pooled connection reused
{
    my $c = daemon($base + 20);
    my $d = statement($c, 'tenant_initech',
                      'select count(*), session_user::text from sales');
    is $d->{Status}, 'FINISHED', 'tenant_initech (no secret) runs';
    my (undef, $res) = call($c, 'GetStatementResult', { Id => $d->{Id} });
    is_deeply $res->{Records}, [[{ longValue => 100000 },
                                 { stringValue => 'tenant_initech' }]],
              "logged in as tenant_initech: its 100000 rows";
    my $left = valid_for('tenant_initech');
    ok defined $left && $left > 800 && $left <= 901,
       "its password is a minted one, valid for 900 s ($left s left)";
    my $d2 = statement($c, 'tenant_initech', 'select 1');
    is $d2->{RedshiftPid}, $d->{RedshiftPid},
       'the next statement reuses the pooled connection (same backend)';
    is valid_for('tenant_acme'), undef,
       'tenant_acme, which has a secret, was never minted for';
    $d = statement($c, 'tenant_acme', 'select count(*) from sales');
    is $d->{Status}, 'FINISHED', 'DbUser tenant_acme logs in with its secret';
    is valid_for('tenant_acme'), undef, '... and is still not minted for';
}

# --credentials-duration-seconds, and one new mint after a refused login
{
    my $c = daemon($base + 21, '--credentials-duration-seconds', '3600',
                   '--pool-idle-seconds', '0');
    my $d = statement($c, 'tenant_initech', 'select 1');
    is $d->{Status}, 'FINISHED', 'a daemon that keeps no idle connection';
    my $left = valid_for('tenant_initech');
    ok $left > 3500 && $left <= 3601,
       "minted for --credentials-duration-seconds 3600 ($left s left)";

    # the DBA changes the password under the daemon's cached one
    $su->do(q{set log_statement = 'none'});
    $su->do(q{alter role tenant_initech password 'changed-by-the-dba-0001'}
            . q{ valid until 'infinity'});
    $su->do(q{reset log_statement});

    $d = statement($c, 'tenant_initech', 'select session_user::text');
    is $d->{Status}, 'FINISHED',
       'the next login, refused with the cached password, mints again';
    $left = valid_for('tenant_initech');
    ok $left > 3500 && $left <= 3601, "a fresh password ($left s left)";
    like slurp($c->{log}),
         qr/login as db user tenant_initech with its cached password failed: minting a new one/,
         'the daemon says it minted again';
}

# SecretArn: by ARN or by name; unknown ones are an AWS-shaped error
{
    my $r = cli_json($env, 'execute-statement', '--cluster-identifier',
                     'demo', '--database', 'warehouse', '--secret-arn',
                     "$arn/tenant_acme-Ab1Cd2", '--sql',
                     'select count(*), session_user::text from sales');
    my $d = wait_done($env, $r->{Id});
    is $d->{DbUser}, 'tenant_acme', 'SecretArn: the secret\'s username';
    my $res = cli_json($env, 'get-statement-result', '--id', $r->{Id});
    is_deeply $res->{Records}, [[{ longValue => 600000 },
                                 { stringValue => 'tenant_acme' }]],
              'logged in as it, with its password: acme\'s rows';

    $d = statement($env, undef, 'select session_user::text',
                   SecretArn => 'spectra/tenant_globex');
    is $d->{DbUser}, 'tenant_globex', 'a secret by its name, without ARN';

    my ($rc, $out, $err) = cli($env, 'execute-statement',
                               '--cluster-identifier', 'demo',
                               '--database', 'warehouse', '--secret-arn',
                               "$arn/tenant_nobody-Ab1Cd2", '--sql',
                               'select 1');
    isnt $rc, 0, 'an unknown SecretArn is refused';
    like $err, qr/\(ValidationException\) when calling the ExecuteStatement operation: Secrets Manager can't find the specified secret\./,
         'ValidationException: Secrets Manager can\'t find the specified secret.';
}

# a secret file of its own: a missing role, a wrong password, SIGHUP
{
    $dir = tempdir('spectra-t032-XXXXXX', TMPDIR => 1, CLEANUP => 1);
    my $file = "$dir/secrets.json";
    spew($file, encode_json({
        "$arn/spectra_t032_ghost-Ab1Cd2" =>
            { username => 'spectra_t032_ghost', password => 'x' },
        "$arn/tenant_globex-Ab1Cd2" =>
            { username => 'tenant_globex', password => 'not-its-password' },
    }));
    my $c = daemon($base + 22, '--secrets-file', $file);

    my $d = statement($c, undef, 'select 1',
                      SecretArn => "$arn/spectra_t032_ghost-Ab1Cd2");
    is $d->{Status}, 'FAILED', 'a secret whose user does not exist FAILS';
    is $d->{Error}, 'ERROR: db user "spectra_t032_ghost" does not exist '
                    . '(SQLSTATE 28000)', '... with why';

    $d = statement($c, undef, 'select 1',
                   SecretArn => "$arn/tenant_globex-Ab1Cd2");
    is $d->{Status}, 'FAILED', 'a secret with a wrong password FAILS';
    is $d->{Error}, 'FATAL: password authentication failed for user '
                    . '"tenant_globex" (SQLSTATE 28P01)',
       '... as PostgreSQL refused the login';
    is valid_for('tenant_globex'), undef, '... and nothing is minted for it';

    my ($st, $b) = call($c, 'ExecuteStatement',
                        { Sql => 'select 1', Database => 'warehouse',
                          ClusterIdentifier => 'demo',
                          SecretArn => "$arn/tenant_acme-Ab1Cd2" });
    is $b->{__type}, 'ValidationException', 'acme is not in this file';

    # a file open to others is not taken on SIGHUP
    spew($file, encode_json({ "$arn/tenant_acme-Ab1Cd2" =>
                              { username => 'tenant_acme', password => 'y' } }),
         0644);
    kill 'HUP', $c->{pid};
    my $kept;
    for (1 .. 100) {
        $kept = slurp($c->{log}) =~ /keeping the previous secrets/;
        last if $kept;
        select undef, undef, undef, 0.05;
    }
    ok $kept, 'SIGHUP with a file open to others keeps the old secrets';

    spew($file, encode_json({ "$arn/tenant_globex-Ab1Cd2" =>
                              { username => 'tenant_globex',
                                password => $globex_pw } }));
    kill 'HUP', $c->{pid};
    for (1 .. 100) {
        last if slurp($c->{log}) =~ /secrets file \Q$file\E: 1 secrets/;
        select undef, undef, undef, 0.05;
    }
    $d = statement($c, undef, 'select count(*) from sales',
                   SecretArn => "$arn/tenant_globex-Ab1Cd2");
    is $d->{Status}, 'FINISHED', 'after SIGHUP the new secret is used';
    ($st, $b) = call($c, 'ExecuteStatement',
                     { Sql => 'select 1', Database => 'warehouse',
                       ClusterIdentifier => 'demo',
                       SecretArn => "$arn/spectra_t032_ghost-Ab1Cd2" });
    is $b->{__type}, 'ValidationException', '... and the removed one is gone';
    is stop_daemon($c), 0, 'that daemon exits cleanly';
}

# the daemon does not start with what it must not use
{
    my $pg = "host=127.0.0.1 port=$ENV{TEST_NGINX_PG_PORT} "
             . 'user=spectra_dataapi dbname=warehouse';
    my $keys = "$dir/keys";
    spew($keys, "AKIDREFUSED000000001 secret\n");
    my $pw = $ENV{SPECTRA_DATAAPI_PG_PASSWORD_FILE};

    my $refuses = sub {
        my ($name, $want, @flags) = @_;
        my $out = `timeout 20 $ENV{SPECTRA_BUILD}/spectra-dataapi --listen 127.0.0.1:@{[$base + 23]} --database warehouse @flags 2>&1`;
        my $rc = $? >> 8;
        is $rc, 1, "$name: the daemon does not start";
        like $out, $want, "$name: it says why";
    };

    spew("$dir/open.keys", "AKIDREFUSED000000001 secret\n", 0644);
    $refuses->('a keys file open to others',
               qr/keys file \S+ is open to other users \(mode 0644\): chmod 600 it/,
               '--pg', "'$pg'", '--pg-password-file', $pw,
               '--keys-file', "$dir/open.keys");

    spew("$dir/open.secrets", slurp($ENV{SPECTRA_DATAAPI_SECRETS_FILE}),
         0640);
    $refuses->('a secrets file open to others',
               qr/secrets file \S+ is open to other users \(mode 0640\)/,
               '--pg', "'$pg'", '--pg-password-file', $pw,
               '--keys-file', $keys, '--secrets-file', "$dir/open.secrets");

    spew("$dir/open.password", slurp($pw), 0644);
    $refuses->('a password file open to others',
               qr/password file \S+ is open to other users/,
               '--pg', "'$pg'", '--pg-password-file', "$dir/open.password",
               '--keys-file', $keys);

    spew("$dir/empty.secrets", encode_json({ "$arn/x-Ab1Cd2" =>
                                             { username => 'tenant_acme',
                                               password => '' } }));
    $refuses->('a secret without a password',
               qr/username and password in secret cannot be empty/,
               '--pg', "'$pg'", '--pg-password-file', $pw,
               '--keys-file', $keys, '--secrets-file', "$dir/empty.secrets");

    spew("$dir/wrong.password", "not-the-password\n");
    $refuses->('a wrong password of the administrative role',
               qr/password authentication failed for user "spectra_dataapi"/,
               '--pg', "'$pg'", '--pg-password-file', "$dir/wrong.password",
               '--keys-file', $keys);

    my ($su_pw) = slurp($ENV{SPECTRA_PG_PASSFILE}) =~ /:([^:\n]+)$/m;
    spew("$dir/su.password", "$su_pw\n");
    (my $su_pg = $pg) =~ s/user=spectra_dataapi/user=postgres/;
    $refuses->('a superuser as the administrative role',
               qr/the administrative role postgres is a superuser or BYPASSRLS/,
               '--pg', "'$su_pg'", '--pg-password-file', "$dir/su.password",
               '--keys-file', $keys);
}

done_testing();
