# spectra-dataapi driven by the real AWS CLI (Debian's /usr/bin/aws v2):
# every operation the module uses, RLS through the tenant roles, and the
# refused db users.

use strict;
use warnings;

use lib "$ENV{SPECTRA_REPO}/t/data/dataapi";
use DataAPI;
use MIME::Base64 ();
use Test::More;

my $env = fixture_env();
my $tag = "cli-$$-" . time . '-';     # statement names unique to this run

# execute-statement with --parameters, then describe-statement
{
    my $r = cli_json($env, 'execute-statement', '--cluster-identifier',
                     'demo', '--database', 'warehouse', '--db-user',
                     'tenant_acme', '--statement-name', "${tag}params",
                     '--sql', 'select count(*) as n, :r as region '
                              . 'from sales where region = :r',
                     '--parameters', 'name=r,value=emea');
    like $r->{Id}, qr/^[a-z0-9]{8}(-[a-z0-9]{4}){3}-[a-z0-9]{12}$/,
         'execute-statement returns a statement id';
    is $r->{DbUser}, 'tenant_acme', 'execute-statement echoes DbUser';
    is $r->{Database}, 'warehouse', 'execute-statement echoes Database';
    is $r->{ClusterIdentifier}, 'demo', 'and ClusterIdentifier';
    like $r->{CreatedAt}, qr/^\d{4}-\d\d-\d\dT/, 'CreatedAt is a timestamp';

    my $d = wait_done($env, $r->{Id});
    $d = cli_json($env, 'describe-statement', '--id', $r->{Id});
    is $d->{Status}, 'FINISHED', 'describe-statement: FINISHED';
    is $d->{HasResultSet}, JSON::PP::true, 'HasResultSet';
    is $d->{ResultRows}, 1, 'ResultRows';
    is $d->{ResultSize}, 10, 'ResultSize counts the value bytes ("150000emea")';
    ok $d->{Duration} > 0, 'Duration in nanoseconds';
    is $d->{QueryString}, 'select count(*) as n, :r as region from sales '
                          . 'where region = :r', 'QueryString as sent';
    is_deeply $d->{QueryParameters}, [{ name => 'r', value => 'emea' }],
              'QueryParameters';
    ok $d->{RedshiftPid} > 0, 'RedshiftPid is the backend pid';

    my $res = cli_json($env, 'get-statement-result', '--id', $r->{Id});
    is_deeply $res->{Records}, [[{ longValue => 150000 },
                                 { stringValue => 'emea' }]],
              'the parameter was bound server-side: 150000 emea rows';
    is $res->{TotalNumRows}, 1, 'TotalNumRows';
    is $res->{ColumnMetadata}[0]{name}, 'n', 'column name';
    is $res->{ColumnMetadata}[0]{typeName}, 'int8', 'count(*) is int8';
    is $res->{ColumnMetadata}[1]{typeName}, 'text', 'parameter typed text';
}

# a parameter is data, never SQL
{
    my $d = execute($env, 'tenant_acme', 'select :v as v',
                    '--parameters',
                    q{[{"name": "v", "value": "x' or '1'='1"}]});
    is $d->{Status}, 'FINISHED', 'an injection attempt is just a value';
    my $res = cli_json($env, 'get-statement-result', '--id', $d->{Id});
    is $res->{Records}[0][0]{stringValue}, q{x' or '1'='1},
       'and comes back verbatim';
}

# RLS: the same query as each tenant sees only that tenant's rows
for my $t ([tenant_acme => 600000], [tenant_globex => 300000],
           [tenant_initech => 100000]) {
    my $d = execute($env, $t->[0], 'select count(*) from sales');
    is $d->{Status}, 'FINISHED', "count as $t->[0] finished";
    my $res = cli_json($env, 'get-statement-result', '--id', $d->{Id});
    is $res->{Records}[0][0]{longValue}, $t->[1],
       "$t->[0] sees exactly its $t->[1] rows";
}

# refused db users: unknown, superuser, table owner, the login role
for my $u (['nobody_here', qr/^ERROR: db user "nobody_here" does not exist/],
           ['postgres', qr/^ERROR: db user "postgres" is refused: a superuser/],
           ['spectra_owner', qr/^ERROR: db user "spectra_owner" is refused: it owns tables/],
           ['spectra_dataapi', qr/is refused: it is the login role/]) {
    my $d = execute($env, $u->[0], 'select count(*) from sales');
    is $d->{Status}, 'FAILED', "db user $u->[0] is refused";
    like $d->{Error}, $u->[1], "with the reason for $u->[0]";
    like $d->{Error}, qr/\(SQLSTATE 28000\)$/, 'and SQLSTATE 28000';
    my ($rc, $out, $err) = cli($env, 'get-statement-result', '--id',
                               $d->{Id});
    isnt $rc, 0, "no result for refused $u->[0]";
    like $err, qr/ResourceNotFoundException/, 'ResourceNotFoundException';
}

# typed fields of the demo table, as Redshift types them
{
    my $d = execute($env, 'tenant_globex',
                    'select * from sales where id in (6, 7, 16, 35) '
                    . 'order by id');
    my $res = cli_json($env, 'get-statement-result', '--id', $d->{Id});
    is scalar @{ $res->{Records} }, 3, "id 35 is acme's: globex sees 3 rows";
    is_deeply $res->{Records}[0],
        [{ longValue => 6 }, { stringValue => 'globex' },
         { stringValue => 'emea' }, { longValue => 15 }, { longValue => 7 },
         { stringValue => '3.22' }, { doubleValue => 0.06 },
         { booleanValue => JSON::PP::false }, { stringValue => 'order 6' },
         { stringValue => '2025-01-07' },
         { stringValue => '2025-01-01 00:00:06+00' }],
        'int8/text/int4/int2 numeric-as-string float8 bool date timestamptz';
    is_deeply [map { $_->[6] } @{ $res->{Records} }[1, 2]],
        [{ isNull => JSON::PP::true }, { doubleValue => 0.16 }],
        'a NULL is isNull';
    my %m = map { $_->{name} => $_ } @{ $res->{ColumnMetadata} };
    is $m{amount}{typeName}, 'numeric', 'amount is numeric';
    is $m{amount}{precision}, 12, 'numeric(12, 2) precision';
    is $m{amount}{scale}, 2, 'numeric(12, 2) scale';
    is $m{amount}{tableName}, 'sales', 'tableName';
    is $m{amount}{schemaName}, 'public', 'schemaName';
    is $m{amount}{nullable}, 0, 'NOT NULL column: nullable 0';
    is $m{note}{nullable}, 1, 'nullable column: nullable 1';
    is $m{sold_at}{typeName}, 'timestamptz', 'timestamptz';
}

# multi-page get-statement-result (scripts/test.sh: --page-rows 1000)
{
    my $d = execute($env, 'tenant_initech',
                    'select id from sales order by id limit 2500');
    is $d->{ResultRows}, 2500, '2500 rows';
    my $p1 = cli_json($env, 'get-statement-result', '--id', $d->{Id},
                      '--no-paginate');
    is scalar @{ $p1->{Records} }, 1000, 'page 1 has 1000 rows';
    is $p1->{TotalNumRows}, 2500, 'TotalNumRows on every page';
    ok $p1->{NextToken}, 'page 1 has a NextToken';
    my $p2 = cli_json($env, 'get-statement-result', '--id', $d->{Id},
                      '--no-paginate', '--next-token', $p1->{NextToken});
    is scalar @{ $p2->{Records} }, 1000, 'page 2 has 1000 rows';
    is $p2->{Records}[0][0]{longValue}, 10009,
       'page 2 starts at row 1001 (initech ids are 9, 19, ...)';
    my $p3 = cli_json($env, 'get-statement-result', '--id', $d->{Id},
                      '--no-paginate', '--next-token', $p2->{NextToken});
    is scalar @{ $p3->{Records} }, 500, 'page 3 has the last 500 rows';
    ok !exists $p3->{NextToken}, 'the last page has no NextToken';
    is $p3->{Records}[-1][0]{longValue}, 24999, 'the last row';

    my $all = cli_json($env, 'get-statement-result', '--id', $d->{Id});
    is scalar @{ $all->{Records} }, 2500,
       'the CLI paginator follows NextToken to all 2500 rows';

    my ($rc, $out, $err) = cli($env, 'get-statement-result', '--id',
                               $d->{Id}, '--no-paginate', '--next-token',
                               'bm90LWEtdG9rZW4=');
    isnt $rc, 0, 'a forged NextToken is refused';
    like $err, qr/ValidationException.*Invalid NextToken/, 'as invalid';
}

# cancel-statement on a long pg_sleep
{
    my $r = cli_json($env, 'execute-statement', '--cluster-identifier',
                     'demo', '--database', 'warehouse', '--db-user',
                     'tenant_acme', '--sql', 'select pg_sleep(120)');
    wait_done($env, $r->{Id}, 'STARTED');
    my $c = cli_json($env, 'cancel-statement', '--id', $r->{Id});
    is_deeply $c, { Status => JSON::PP::true }, 'cancel-statement: Status true';
    my $d = wait_done($env, $r->{Id});
    is $d->{Status}, 'ABORTED', 'the sleeping statement is ABORTED';
    is $d->{Error}, "Query cancelled on user's request", 'cancel reason';
    ok $d->{Duration} < 60e9, 'it stopped long before pg_sleep would';

    my ($rc, $out, $err) = cli($env, 'cancel-statement', '--id', $r->{Id});
    isnt $rc, 0, 'cancelling it again fails';
    like $err, qr/ValidationException.*already in ABORTED state/,
         'already ABORTED';
}

# batch-execute-statement: one transaction, sub-statement results
{
    my $r = cli_json($env, 'batch-execute-statement', '--cluster-identifier',
                     'demo', '--database', 'warehouse', '--db-user',
                     'tenant_globex', '--statement-name', "${tag}batch",
                     '--sqls', 'create temp table t (x int)',
                     'insert into t values (1), (2), (3)',
                     'select sum(x) as s from t');
    my $d = wait_done($env, $r->{Id});
    is $d->{Status}, 'FINISHED', 'batch FINISHED';
    is scalar @{ $d->{SubStatements} }, 3, 'three sub-statements';
    is_deeply [map { $_->{Id} } @{ $d->{SubStatements} }],
              ["$r->{Id}:1", "$r->{Id}:2", "$r->{Id}:3"], 'ids id:1..3';
    is_deeply [map { $_->{ResultRows} } @{ $d->{SubStatements} }],
              [0, 3, 1], 'insert counts 3 rows, select returns 1';
    is_deeply [map { $_->{HasResultSet} ? 1 : 0 } @{ $d->{SubStatements} }],
              [0, 0, 1], 'only the select has a result set';
    my $res = cli_json($env, 'get-statement-result', '--id', "$r->{Id}:3");
    is_deeply $res->{Records}, [[{ longValue => 6 }]],
              'the batch ran in one session: sum 6';

    my $f = cli_json($env, 'batch-execute-statement', '--cluster-identifier',
                     'demo', '--database', 'warehouse', '--db-user',
                     'tenant_globex', '--sqls', 'select 1',
                     'select * from no_such_table', 'select 3');
    $d = wait_done($env, $f->{Id});
    is $d->{Status}, 'FAILED', 'a failing batch FAILS';
    like $d->{Error}, qr/relation "no_such_table" does not exist \(SQLSTATE 42P01\)/,
         'with the error and its SQLSTATE';
    is_deeply [map { $_->{Status} } @{ $d->{SubStatements} }],
              [qw(ABORTED FAILED ABORTED)],
              'rolled back before, failed, never ran after';
}

# list-statements: newest first, filters, paging
{
    my $l = cli_json($env, 'list-statements', '--statement-name', $tag);
    is_deeply [map { $_->{StatementName} } @{ $l->{Statements} }],
              ["${tag}batch", "${tag}params"],
              'StatementName prefix filter, newest first';
    is $l->{Statements}[0]{IsBatchStatement}, JSON::PP::true, 'batch flag';
    is scalar @{ $l->{Statements}[0]{QueryStrings} }, 3, 'QueryStrings';

    $l = cli_json($env, 'list-statements', '--status', 'ABORTED');
    ok scalar @{ $l->{Statements} } >= 1, 'Status filter finds ABORTED';
    is scalar(grep { $_->{Status} ne 'ABORTED' } @{ $l->{Statements} }), 0,
       'and only ABORTED';

    $l = cli_json($env, 'list-statements', '--no-paginate', '--max-results',
                  '2');
    is scalar @{ $l->{Statements} }, 2, 'MaxResults 2';
    ok $l->{NextToken}, 'with a NextToken';
    my $l2 = cli_json($env, 'list-statements', '--no-paginate',
                      '--max-results', '2', '--next-token', $l->{NextToken});
    isnt $l2->{Statements}[0]{Id}, $l->{Statements}[1]{Id},
         'the next page starts after the first';
}

# catalog operations, as the db user sees the catalogs
{
    my @c = ('--cluster-identifier', 'demo', '--database', 'warehouse',
             '--db-user', 'tenant_acme');
    is_deeply cli_json($env, 'list-databases', @c),
              { Databases => ['warehouse'] }, 'list-databases';
    is_deeply cli_json($env, 'list-schemas', @c, '--schema-pattern', 'pub%'),
              { Schemas => ['public'] }, 'list-schemas with a pattern';
    is_deeply cli_json($env, 'list-tables', @c, '--schema-pattern',
                       'public'),
              { Tables => [
                  { schema => 'public', name => 'events', type => 'TABLE' },
                  { schema => 'public', name => 'regions', type => 'TABLE' },
                  { schema => 'public', name => 'sales', type => 'TABLE' },
                  { schema => 'public', name => 'sys_load_error_detail',
                    type => 'VIEW' } ] },
              'list-tables';
    my $p = cli_json($env, 'list-tables', @c, '--schema-pattern', 'public',
                     '--no-paginate', '--max-results', '1');
    is scalar @{ $p->{Tables} }, 1, 'list-tables pages by MaxResults';
    is $p->{NextToken}, '1', 'with an offset NextToken';
    my $t = cli_json($env, 'describe-table', @c, '--table', 'regions');
    is $t->{TableName}, 'regions', 'describe-table TableName';
    is_deeply [map { "$_->{name}:$_->{typeName}:$_->{precision}:$_->{scale}" }
                   @{ $t->{ColumnList} }],
              ['region:text:2147483647:0', 'name:text:2147483647:0',
               'currency:bpchar:3:0', 'vat_rate:numeric:5:4'],
              'describe-table columns with types, precision and scale';
    my ($rc, $out, $err) = cli($env, 'describe-table',
                               '--cluster-identifier', 'demo', '--database',
                               'warehouse', '--db-user', 'postgres',
                               '--table', 'regions');
    isnt $rc, 0, 'describe-table as a superuser is refused';
    like $err, qr/ValidationException.*db user "postgres" is refused/,
         'with the reason';
}

# edge values of the Field union, read off the wire (the JSON text decoded
# as UTF-8): escapes, non-ASCII, bytea as base64 (1,000 bytes: more than
# one chunk of the encoder), float text that has no JSON number
{
    my $d = execute($env, 'tenant_acme',
                    q{select E'q"b\\\\n\n\t\x01 \u00e9 \u4e2d}
                    . q{ \U0001F600 /' as s,}
                    . q{ '\xdeadbeef01'::bytea as b,}
                    . q{ decode(repeat('ab', 1000), 'hex') as big,}
                    . q{ '\x'::bytea as e, 'NaN'::float8 as nan,}
                    . q{ '-Infinity'::float4 as inf, 1e-5::float8 as small,}
                    . q{ 1e22::float8 as large, 100::float8 as whole,}
                    . q{ (-5)::int2 as neg, 4294967295::oid as o,}
                    . q{ true as t, null::bytea as n});
    is $d->{Status}, 'FINISHED', 'the edge values query runs';
    my ($st, undef, $res) = call($env, 'GetStatementResult',
                                 { Id => $d->{Id} });
    is $st, 200, 'GetStatementResult: 200';
    my $page = JSON::PP->new->utf8->decode($res->{content});
    is_deeply $page->{Records},
        [[{ stringValue =>
                "q\"b\\n\n\t\x{1} \x{e9} \x{4e2d} \x{1f600} /" },
          { blobValue => '3q2+7wE=' },
          { blobValue => MIME::Base64::encode_base64("\xab" x 1000, '') },
          { blobValue => '' }, { stringValue => 'NaN' },
          { stringValue => '-Infinity' }, { doubleValue => 1e-5 },
          { doubleValue => 1e22 }, { doubleValue => 100 },
          { longValue => -5 }, { longValue => 4294967295 },
          { booleanValue => JSON::PP::true }, { isNull => JSON::PP::true }]],
        'every kind of Field, exactly';
    is $page->{TotalNumRows}, 1, 'TotalNumRows';
    ok !exists $page->{NextToken}, 'one page, no NextToken';
    is scalar @{ $page->{ColumnMetadata} }, 13, 'ColumnMetadata: 13 columns';
}

# failures keep their SQLSTATE
{
    my $d = execute($env, 'tenant_acme', 'select * from nowhere');
    is $d->{Status}, 'FAILED', 'a bad query FAILS';
    is $d->{Error}, 'ERROR: relation "nowhere" does not exist '
                    . '(SQLSTATE 42P01)', 'Error with SQLSTATE';
}

# the page's members in the Data API reference's order, ColumnMetadata
# before Records: the module checks and writes each row in one pass then
{
    my $d = statement($env, 'tenant_acme',
                      'select id, region from sales order by id limit 3');
    my ($st, $b, $res) = call($env, 'GetStatementResult',
                              { Id => $d->{Id} });
    is $st, 200, 'GetStatementResult, signed here';
    like $res->{content},
         qr/\A\{"ColumnMetadata":\[\{.*\}\],"Records":\[\[\{"longValue":1\},/s,
         'ColumnMetadata comes first, then Records';
    like $res->{content}, qr/\]\],"TotalNumRows":3\}\z/,
         'TotalNumRows after the rows';
    is scalar @{ $b->{Records} }, 3, 'and the page is JSON with its rows';
}

done_testing();
