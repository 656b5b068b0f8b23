# Run last: after every suite, no log of spectra-dataapi (the fixture's
# and the extra daemons the suites started) nor PostgreSQL's server.log
# (which logs every DDL statement here) holds a password, a minted one, a
# SCRAM verifier or the Data API secret access key; and no nginx log of
# any block (kept in TEST_NGINX_LOG_ARCHIVE by SpectraLogArchive) holds an API
# key, a token, a SigV4 signature or a signing secret, at any level but
# debug (which logs whole headers, by design).

use strict;
use warnings;

use lib "$ENV{SPECTRA_REPO}/t/data/dataapi";
use DataAPI;
use DBI;
use JSON::PP;
use Test::More;

my $env = fixture_env();
my $base = $ENV{SPECTRA_PORT_BASE} // 55400;
my $dir = $ENV{SPECTRA_DATAAPI_DIR}
    or die "SPECTRA_DATAAPI_DIR is not set: run the suites with make test\n";

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

# nginx: every block's error and access log (SpectraLogArchive, used by
# every Test::Nginx suite, appends them to TEST_NGINX_LOG_ARCHIVE under
# either harness), entries at debug left out.  Without them, fail: a
# search of nothing would pass.
{
    my $archive = $ENV{TEST_NGINX_LOG_ARCHIVE};

    BAIL_OUT('TEST_NGINX_LOG_ARCHIVE is not set (scripts/test.sh sets it)')
        unless defined $archive;
    ok -s $archive, "the suites' nginx logs are in $archive"
        or diag('run t/099 after the Test::Nginx suites (make test)');

    my $text = -s $archive ? slurp($archive) : '';
    my (@kept, $debug, $level);

    $debug = '';
    for my $line (split /\n/, $text) {
        if ($line =~ m{^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d \[(\w+)\]}) {
            $level = $1;
        } elsif ($line =~ /^### / || $line =~ /^\d+\.\d+\.\d+\.\d+ /) {
            $level = 'other';    # a block's header, an access log line
        }
        # a line without a time stamp continues the entry before it
        if (($level // '') eq 'debug') {
            $debug .= "$line\n";
        } else {
            push @kept, $line;
        }
    }

    my $shapes = qr/spk_[a-z0-9]{1,32}_[A-Za-z0-9_-]{16,}
                    |eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.
                    |Signature=[0-9a-f]{64}
                    |IQoJb3JpZ2luX2VjEspectra/x;

    ok @kept > 200, 'the blocks\' nginx logs: ' . scalar(@kept)
                     . ' lines at info and above';
    like $debug, $shapes,
         'the search finds what it looks for: debug entries hold headers';

    my @found = grep { /$shapes/ } @kept;
    is_deeply [map { substr($_, 0, 160) } @found[0 .. ($#found > 4 ? 4 : $#found)]],
              [], 'no API key, JWT, SigV4 signature or t/095 session token '
                  . 'in any nginx log';

    my $hs = slurp("$ENV{SPECTRA_REPO}/t/data/auth/keys/hs.secret");
    $hs =~ s/\n\z//;
    my $kept = join "\n", @kept;
    ok index($kept, $hs) < 0, 'nor the HMAC signing secret';
    ok index($kept, $ENV{TEST_NGINX_DATAAPI_SECRET_KEY}) < 0,
       'nor the Data API secret access key';
    ok index($kept, 'temporary/secret+') < 0,
       'nor a secret of t/095\'s temporary keys';
}

done_testing();
