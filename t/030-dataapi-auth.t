# spectra-dataapi rejects what AWS rejects: bad signatures, unknown keys,
# skewed clocks, bodies changed after signing; malformed requests get
# ValidationException-style errors; the daemon keeps serving throughout.

use strict;
use warnings;

use lib "$ENV{SPECTRA_REPO}/t/data/dataapi";
use DataAPI;
use POSIX qw(strftime);
use Test::More;

my $env = fixture_env();
my $ok_body = { Id => '00000000-0000-4000-8000-000000000000' };

sub error_is {
    my ($got, $status, $type, $message, $name) = @_;
    my ($st, $body, $res) = @$got;
    is $st, $status, "$name: HTTP $status";
    is $body->{__type}, $type, "$name: __type $type";
    is $res->{headers}{'x-amzn-errortype'}, $type,
       "$name: x-amzn-ErrorType header";
    if (ref $message) {
        like $body->{message}, $message, "$name: message";
    } else {
        is $body->{message}, $message, "$name: message";
    }
}

my $mismatch = 'The request signature we calculated does not match the '
    . 'signature you provided. Check your AWS Secret Access Key and signing '
    . 'method. Consult the service documentation for details.';

# the Perl signer is right: a correctly signed call works
{
    my ($st, $b) = call($env, 'DescribeStatement', $ok_body);
    is $st, 400, 'a signed DescribeStatement of an unknown id is answered';
    is $b->{__type}, 'ResourceNotFoundException', 'ResourceNotFoundException';
    is $b->{message}, 'Query does not exist.', 'Query does not exist.';

    ($st, $b) = call($env, 'ListStatements', { MaxResults => 1 });
    is $st, 200, 'a signed ListStatements succeeds';
    ok ref $b->{Statements} eq 'ARRAY', 'with a Statements list';
}

error_is([call($env, 'ListStatements', {}, secret => 'not-the-secret')],
         403, 'InvalidSignatureException', $mismatch, 'wrong secret');

error_is([call($env, 'ListStatements', {}, akid => 'AKIDNOSUCHKEY0000000')],
         403, 'UnrecognizedClientException',
         'The security token included in the request is invalid.',
         'unknown access key');

{
    my $t = time - 16 * 60;
    my $date = strftime('%Y%m%dT%H%M%SZ', gmtime $t);
    error_is([call($env, 'ListStatements', {}, date => $date)],
             403, 'InvalidSignatureException',
             qr/^Signature expired: \Q$date\E is now earlier than \d{8}T\d{6}Z \(\d{8}T\d{6}Z - 15 min\.\)$/,
             'date 16 minutes in the past');
    $date = strftime('%Y%m%dT%H%M%SZ', gmtime(time + 16 * 60));
    error_is([call($env, 'ListStatements', {}, date => $date)],
             403, 'InvalidSignatureException',
             qr/^Signature not yet current: \Q$date\E is still later than/,
             'date 16 minutes in the future');
}

error_is([call($env, 'ExecuteStatement',
               { Sql => 'select 1', Database => 'warehouse',
                 ClusterIdentifier => 'demo', DbUser => 'tenant_acme' },
               send_body => '{"Sql": "select count(*) from sales", '
                            . '"Database": "warehouse", '
                            . '"ClusterIdentifier": "demo", '
                            . '"DbUser": "tenant_globex"}')],
         403, 'InvalidSignatureException', $mismatch,
         'body altered after signing');

error_is([call($env, 'ListStatements', {},
               send_target => 'RedshiftData.CancelStatement')],
         403, 'InvalidSignatureException', $mismatch,
         'X-Amz-Target altered after signing');

error_is([call($env, 'ListStatements', {}, service => 'redshift')],
         403, 'InvalidSignatureException',
         "Credential should be scoped to correct service: 'redshift-data'. ",
         'signed for another service');

error_is([call($env, 'ListStatements', {},
               send_auth => 'AWS4-HMAC-SHA256 Credential=x')],
         400, 'IncompleteSignatureException',
         "Authorization header requires 'Signature' parameter. "
         . "Authorization header requires 'SignedHeaders' parameter. ",
         'a truncated Authorization header');

{
    my $res = raw_post($env->{port},
                       { 'Content-Type' => 'application/x-amz-json-1.1',
                         'X-Amz-Target' => 'RedshiftData.ListStatements' },
                       '{}');
    my $b = json_decode($res->{content});
    is $res->{status}, 400, 'no Authorization: 400';
    is $b->{__type}, 'MissingAuthenticationTokenException',
       'MissingAuthenticationTokenException';
}

# requests that are signed but wrong
error_is([call($env, 'ListStatements', '{"MaxResults": ')],
         400, 'SerializationException',
         'The request body is not a JSON object', 'malformed JSON');

error_is([call($env, 'ListStatements', '[1, 2]')],
         400, 'SerializationException',
         'The request body is not a JSON object', 'a JSON array body');

error_is([call($env, 'DropEverything', {})],
         400, 'UnknownOperationException', 'Unknown operation DropEverything',
         'unknown operation');

error_is([call($env, 'ExecuteStatement',
               { Database => 'warehouse', ClusterIdentifier => 'demo',
                 DbUser => 'tenant_acme' })],
         400, 'ValidationException',
         "1 validation error detected: Value null at 'Sql' failed to "
         . 'satisfy constraint: Member must not be null', 'missing Sql');

error_is([call($env, 'ExecuteStatement',
               { Sql => 'select 1', ClusterIdentifier => 'demo',
                 DbUser => 'tenant_acme' })],
         400, 'ValidationException',
         qr/Value null at 'Database'/, 'missing Database');

error_is([call($env, 'ExecuteStatement',
               { Sql => 'select 1', Database => 'other',
                 ClusterIdentifier => 'demo', DbUser => 'tenant_acme' })],
         400, 'ValidationException',
         'Database "other" does not exist on this endpoint',
         'another database');

error_is([call($env, 'ExecuteStatement',
               { Sql => 'select 1', Database => 'warehouse',
                 DbUser => 'tenant_acme' })],
         400, 'ValidationException',
         'Either ClusterIdentifier or WorkgroupName must be specified',
         'no cluster or workgroup');

error_is([call($env, 'ExecuteStatement',
               { Sql => 'select 1', Database => 'warehouse',
                 ClusterIdentifier => 'demo', DbUser => 'tenant_acme',
                 Bogus => 1 })],
         400, 'ValidationException', 'Unknown parameter in input: "Bogus"',
         'an unknown member');

error_is([call($env, 'ExecuteStatement',
               { Sql => 'select :a, :b', Database => 'warehouse',
                 ClusterIdentifier => 'demo', DbUser => 'tenant_acme',
                 Parameters => [{ name => 'a', value => '1' }] })],
         400, 'ValidationException',
         'The parameter "b" in the SQL has no value in Parameters',
         'a parameter without a value');

# Leaving the tenant role is PostgreSQL's to refuse: the statement reaches
# the warehouse (no SQL filter in spectra-dataapi) and fails there with
# 42501, because the session IS tenant_acme, a member of no other role.
for my $c (["select set_config('role', 'tenant_globex', false)",
            'set_config cannot switch roles'],
           ['SET ROLE tenant_globex', 'SET ROLE'],
           ['set local role tenant_globex', 'SET LOCAL ROLE'],
           ['SET SESSION AUTHORIZATION postgres', 'SET SESSION AUTHORIZATION',
            'permission denied to set session authorization "postgres"'],
           ["do \$\$ begin perform set_config('role', 'tenant_globex', "
            . "false); end \$\$", 'a DO block'],
           [q{select query_to_xml('select set_config(''role'', }
            . q{''tenant_globex'', false)', true, true, '')},
            'query_to_xml running SQL from a string'],
           [q{select * from ts_stat('select to_tsvector(set_config(}
            . q{''role'', ''tenant_globex'', false))')},
            'ts_stat running SQL from a string'],
           [q{select "set_config"('role', 'tenant_globex', false)},
            'a quoted set_config'],
           [q{select pg_catalog.SET_CONFIG('role', 'tenant_globex', false)},
            'a qualified SET_CONFIG'],
           [q{select U&"!0073et_config" UESCAPE '!'('role', 'tenant_globex', }
            . q{false)}, 'a UESCAPE spelling of set_config'],
           [q{with c as (select set_config('role', 'tenant_globex', false) }
            . q{as r) select r from c}, 'set_config in a CTE']) {
    my ($sql, $name, $message) = @$c;
    $message //= 'permission denied to set role "tenant_globex"';
    my $d = statement($env, 'tenant_acme', $sql);
    is $d->{Status}, 'FAILED', "$name: FAILED in PostgreSQL";
    is $d->{Error}, "ERROR: $message (SQLSTATE 42501)",
       "$name: $message (42501)";
}

# what the daemon no longer filters runs as the tenant, and stays it
for my $c (['reset role', 'RESET ROLE goes back to the session user'],
           ['set statement_timeout = 0',
            'SET statement_timeout (the watchdog still bounds it)'],
           ['reset all', 'RESET ALL']) {
    my $d = statement($env, 'tenant_acme', $c->[0]);
    is $d->{Status}, 'FINISHED', "$c->[1]: FINISHED as tenant_acme";
}

{
    # no TEMPORARY on the database (demo.sql): not even a function in pg_temp
    my $d = statement($env, 'tenant_acme',
                      'create or replace function pg_temp.f() returns int '
                      . 'language sql as $$ select 1 $$');
    is $d->{Error}, 'ERROR: permission denied to create temporary tables in '
                    . 'database "warehouse" (SQLSTATE 42501)',
       'CREATE FUNCTION in pg_temp: refused by PostgreSQL';
}

{
    # the daemon runs each statement in a transaction, so PostgreSQL
    # refuses DISCARD ALL itself; the connection goes on as the tenant
    my $d = statement($env, 'tenant_acme', 'discard all');
    is $d->{Status}, 'FAILED', 'DISCARD ALL FAILS in PostgreSQL';
    like $d->{Error}, qr/DISCARD ALL cannot run inside a transaction block .*\(SQLSTATE 25001\)/,
         'inside the statement\'s transaction';
}

# SQL PostgreSQL cannot parse reaches it, as with the Data API, and FAILS
{
    my $d = statement($env, 'tenant_acme', 'select 1 from');
    is $d->{Status}, 'FAILED', 'a syntax error FAILS in PostgreSQL';
    like $d->{Error}, qr/syntax error at end of input.*\(SQLSTATE 42601\)/,
         'with its message and SQLSTATE';
}

# ... while look-alikes in strings and names still run
{
    my $d = execute($env, 'tenant_acme',
                    q{select 'set role x; set_config' as "reset role"});
    is $d->{Status}, 'FINISHED', 'set_config and SET ROLE inside a string';
}

error_is([call($env, 'DescribeStatement', { Id => 'not-an-id' })],
         400, 'ValidationException',
         qr/Member must satisfy regular expression pattern/,
         'a malformed statement id');

error_is([call($env, 'ListStatements', { Status => 'DONE' })],
         400, 'ValidationException', qr/Member must satisfy enum value set/,
         'an unknown status');

error_is([call($env, 'ListStatements', { MaxResults => 'ten' })],
         400, 'SerializationException',
         "Value of 'MaxResults' must be an integer", 'a string for a number');

{
    # 600 KiB of SQL: over the 512 KiB body limit
    my $big = '{"Sql": "select ' . ('1' x (600 * 1024)) . '"}';
    error_is([call($env, 'ExecuteStatement', $big)],
             400, 'ValidationException',
             'The request body is larger than the limit of this endpoint',
             'oversized body');
}

{
    my $sql = 'select ' . ('1' x 100_001);
    error_is([call($env, 'ExecuteStatement',
                   { Sql => $sql, Database => 'warehouse',
                     ClusterIdentifier => 'demo',
                     DbUser => 'tenant_acme' })],
             400, 'ValidationException',
             qr/Value at 'Sql' failed to satisfy constraint: Member must have length between 1 and 100000/,
             'Sql over 100000 characters');
}

# :name is found by a lexer: not in strings, comments, dollar quotes, casts
{
    my ($st, $b) = call($env, 'ExecuteStatement',
        { Sql => q{select ':nope' as a, 2::int as b, $q$ :nope $q$ as c, }
                 . q{E'it\'s :nope' as e /* :nope /* :nope */ */, }
                 . q{:p::text || :p as d -- :nope},
          Database => 'warehouse', ClusterIdentifier => 'demo',
          DbUser => 'tenant_acme',
          Parameters => [{ name => 'p', value => 'x' }] });
    is $st, 200, 'a statement with :name look-alikes';
    my $d = wait_done($env, $b->{Id});
    is $d->{Status}, 'FINISHED', 'it ran with one parameter';
    (undef, my $r) = call($env, 'GetStatementResult', { Id => $b->{Id} });
    is_deeply $r->{Records},
        [[{ stringValue => ':nope' }, { longValue => 2 },
          { stringValue => ' :nope ' }, { stringValue => "it's :nope" },
          { stringValue => 'xx' }]],
        'only :p was bound, twice, as $1';
}

# ClientToken: the same token and request give the same statement
{
    my $req = { Sql => 'select 42', Database => 'warehouse',
                ClusterIdentifier => 'demo', DbUser => 'tenant_acme',
                ClientToken => "token-$$-" . time };
    my ($s1, $b1) = call($env, 'ExecuteStatement', $req);
    my ($s2, $b2) = call($env, 'ExecuteStatement', $req);
    is $s1, 200, 'first ExecuteStatement with a ClientToken';
    is $b2->{Id}, $b1->{Id}, 'the retry returns the same Id';
    error_is([call($env, 'ExecuteStatement', { %$req, Sql => 'select 43' })],
             400, 'ValidationException',
             'The ClientToken was already used with different parameters',
             'the token with another request');
}

# another key does not see this key's statements
{
    my ($st, $b) = call($env, 'ExecuteStatement',
                        { Sql => 'select 1', Database => 'warehouse',
                          ClusterIdentifier => 'demo',
                          DbUser => 'tenant_acme' });
    is $st, 200, 'a statement to look for';
    my $d = wait_done($env, $b->{Id});
    is $d->{Status}, 'FINISHED', 'it finished';
}

# sessions: the same connection and role across statements
{
    my ($st, $b) = call($env, 'ExecuteStatement',
                        { Sql => 'create temp table s (x int)',
                          Database => 'warehouse',
                          ClusterIdentifier => 'demo',
                          DbUser => 'tenant_initech',
                          SessionKeepAliveSeconds => 60 });
    is $st, 200, 'ExecuteStatement with SessionKeepAliveSeconds';
    like $b->{SessionId}, qr/^[a-z0-9-]{36}$/, 'returns a SessionId';
    my $d = wait_done($env, $b->{Id});
    is $d->{Status}, 'FINISHED', 'session statement 1 FINISHED';
    is $d->{SessionId}, $b->{SessionId}, 'DescribeStatement names the session';

    ($st, my $b2) = call($env, 'ExecuteStatement',
                         { Sql => 'insert into s select count(*) from sales',
                           SessionId => $b->{SessionId} });
    is $st, 200, 'a statement in the session';
    $d = wait_done($env, $b2->{Id});
    is $d->{Status}, 'FINISHED', 'the temp table survived';
    is $d->{DbUser}, 'tenant_initech', 'as the session db user';

    ($st, my $b3) = call($env, 'ExecuteStatement',
                         { Sql => 'select x from s',
                           SessionId => $b->{SessionId},
                           WaitTimeSeconds => 30 });
    is $st, 200, 'and a third, with WaitTimeSeconds';
    ($st, my $r) = call($env, 'GetStatementResult', { Id => $b3->{Id} });
    is $st, 200, 'its result is there';
    is_deeply $r->{Records}, [[{ longValue => 100000 }]],
              "initech's count, kept in the session's temp table";

    error_is([call($env, 'ExecuteStatement',
                   { Sql => 'select 1', SessionId => $b->{SessionId},
                     DbUser => 'tenant_acme' })],
             400, 'ValidationException', qr/SessionId cannot be combined/,
             'a session cannot change its db user');

    error_is([call($env, 'ExecuteStatement',
                   { Sql => 'select 1',
                     SessionId => '00000000-0000-4000-8000-000000000000' })],
             400, 'ValidationException', qr/does not exist or has expired/,
             'an unknown session');

    # outside the session the temp table does not exist
    my $x = execute($env, 'tenant_initech', 'select x from s');
    is $x->{Status}, 'FAILED', 'no session: no temp table';
}

# the daemon is still serving after all of the above
{
    my $d = execute($env, 'tenant_globex', 'select count(*) from sales');
    my $res = cli_json($env, 'get-statement-result', '--id', $d->{Id});
    is $res->{Records}[0][0]{longValue}, 300000, 'still serving, still RLS';
}

done_testing();
