# Run last: after every suite, no log of spectra-dataapi (the fixture's
# and the extra daemons the suites started) nor PostgreSQL's server.log
# (which logs every DDL statement here) holds a password, a minted one, a
# SCRAM verifier or the Data API secret access key.

use strict;
use warnings;

use lib "$ENV{SPECTRA_REPO}/t/data/dataapi";
use DataAPI;
use DBI;
use JSON::PP;
use Test::More;

my $env = env_or_skip();
my $base = $ENV{SPECTRA_PORT_BASE} // 55400;
my $dir = $ENV{SPECTRA_DATAAPI_DIR}
    or plan skip_all => 'SPECTRA_DATAAPI_DIR is not set';

sub slurp {
    my ($path) = @_;
    open my $fh, '<', $path or die "$path: $!";
    local $/;
    return scalar <$fh>;
}

my $su = DBI->connect("dbi:Pg:host=127.0.0.1;port=$ENV{TEST_NGINX_PG_PORT};"
                      . 'dbname=warehouse', 'postgres', undef,
                      { RaiseError => 1, AutoCommit => 1, PrintError => 0 })
    or die "superuser connection: $DBI::errstr";

# what must never be logged
my %secret;
my $secrets = decode_json(slurp($ENV{SPECTRA_DATAAPI_SECRETS_FILE}));
$secret{"the password of $_->{username}"} = $_->{password}
    for values %$secrets;
($secret{"spectra_dataapi's password"}) =
    slurp($ENV{SPECTRA_DATAAPI_PG_PASSWORD_FILE}) =~ /^(.+)$/m;
($secret{"the superuser's password"}) =
    slurp($ENV{SPECTRA_PG_PASSFILE}) =~ /:([^:\n]+)$/m;
$secret{'the Data API secret access key'} =
    $ENV{TEST_NGINX_DATAAPI_SECRET_KEY};
$secret{'the password t/032 set'} = 'changed-by-the-dba-0001';
for my $r (@{ $su->selectall_arrayref(
        q{select rolname, rolpassword from pg_authid}
        . q{ where rolpassword is not null}) }) {
    # SCRAM-SHA-256$iterations:salt$storedkey:serverkey
    my ($salt, $keys) = $r->[1] =~ /^SCRAM-SHA-256\$\d+:([^\$]+)\$(.+)$/;
    $secret{"the SCRAM salt of $r->[0]"} = $salt;
    $secret{"the SCRAM keys of $r->[0]"} = $keys;
}

# minting did run in this test run (here, if no suite before made the
# fixture's daemon mint), so its passwords had a chance to leak
is statement($env, 'tenant_initech', 'select 1')->{Status}, 'FINISHED',
   'tenant_initech runs, on a minted password';
my ($minted) = $su->selectrow_array(
    q{select rolvaliduntil > now() and rolvaliduntil < 'infinity'}
    . q{ from pg_authid where rolname = 'tenant_initech'});
ok $minted, 'tenant_initech has a minted password, valid for a while';

my $since = (stat "$dir/keys")[9];
my @logs = ("$dir/log", "$ENV{SPECTRA_PG_DIR}/server.log",
            grep { -f $_ && (stat $_)[9] >= $since }
            map { "/tmp/spectra-dataapi-test-$_/log" }
            ($base + 10) .. ($base + 49));
ok @logs >= 4, 'the logs of the fixture and of the suites\' daemons: '
               . scalar @logs;

like slurp("$ENV{SPECTRA_PG_DIR}/server.log"),
     qr/LOG:  statement: CREATE FUNCTION spectra_admin\.get_cluster_credentials/,
     'PostgreSQL logged the DDL it ran (log_statement = ddl)';

for my $log (@logs) {
    my $text = slurp($log);
    my @found = grep { index($text, $secret{$_}) >= 0 } sort keys %secret;
    is_deeply \@found, [], "$log: no known secret";
    my @hex = $text =~ /([0-9a-f]{64})/g;
    is_deeply \@hex, [], "$log: nothing shaped like a minted password";
    unlike $text, qr/SCRAM-SHA-256\$/, "$log: no SCRAM verifier";
}

done_testing();
