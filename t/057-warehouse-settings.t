# Where and as whom statements run: a provisioned cluster with per-tenant
# secrets, a Serverless workgroup (which needs them), credentials and
# region from the standard AWS_* environment of the nginx master, and the
# settings nginx refuses at configuration time.  spectra-dataapi resolves
# a secret through its secrets file (scripts/demo-credentials.sh writes
# tenant_acme's and tenant_globex's) to that user and its password, as a
# per-tenant secret in Secrets Manager holds that user's credentials.
use FindBin ();
use lib "$FindBin::Bin/data/query/lib";
use Test::Nginx::Socket 'no_plan';
use SpectraLogArchive;
use SpectraQuery qw(api_key key_file http_config);

our %K;
my @lines;

for my $t (qw(acme globex)) {
    my $line;
    ($K{$t}, $line) = api_key("w057$t", "tenant=$t permissions=query");
    push @lines, $line;
}

$ENV{TEST_NGINX_WS_KEYS} = key_file(@lines);

# nginx reads these when it loads its configuration (blocks 5 and 6)
$ENV{AWS_ACCESS_KEY_ID} = $ENV{TEST_NGINX_DATAAPI_ACCESS_KEY};
$ENV{AWS_SECRET_ACCESS_KEY} = $ENV{TEST_NGINX_DATAAPI_SECRET_KEY};
$ENV{AWS_REGION} = $ENV{TEST_NGINX_DATAAPI_REGION};

# only the Data API upstream, the job store and its URL: each block gives
# authentication and the warehouse settings under test itself
our $HttpConfig = http_config(bare => 1);

# "--- tenant: acme" (default) picks the API key; the body is JSON.
add_block_preprocessor(sub {
    my $block = shift;
    my $t = $block->tenant // 'acme';

    $block->set_value('more_headers',
                      "X-API-Key: $K{$t}\nContent-Type: application/json\n")
        unless defined $block->more_headers;
    $block->set_value('no_error_log', "[error]\n")
        unless defined $block->no_error_log || defined $block->must_die;
});

# every request twice to the same nginx: no answer here may depend on
# what the first one left behind (caches, pooled sessions, stored jobs)
repeat_each(2);

run_tests();

__DATA__

=== TEST 1: a provisioned cluster with per-tenant secrets: acme's secret
--- http_config eval: $::HttpConfig
--- config
    spectra_auth api_key;
    spectra_api_keys $TEST_NGINX_WS_KEYS;
    spectra_dataapi_host 127.0.0.1:$TEST_NGINX_DATAAPI_PORT;
    spectra_aws_access_key_id $TEST_NGINX_DATAAPI_ACCESS_KEY;
    spectra_aws_secret_access_key $TEST_NGINX_DATAAPI_SECRET_KEY;
    spectra_cluster_identifier spectra-local;
    spectra_database warehouse;
    spectra_secret_arn arn:aws:secretsmanager:us-east-1:123456789012:secret:spectra/tenant_$spectra_tenant_id-Ab1Cd2;

    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- request
POST /v1/queries
{"sql": "select count(*) from sales"}
--- response_body_like chomp
"data":\[\{"count":600000\}\]



=== TEST 2: the same secret template gives globex its own secret
--- tenant: globex
--- http_config eval: $::HttpConfig
--- config
    spectra_auth api_key;
    spectra_api_keys $TEST_NGINX_WS_KEYS;
    spectra_dataapi_host 127.0.0.1:$TEST_NGINX_DATAAPI_PORT;
    spectra_aws_access_key_id $TEST_NGINX_DATAAPI_ACCESS_KEY;
    spectra_aws_secret_access_key $TEST_NGINX_DATAAPI_SECRET_KEY;
    spectra_cluster_identifier spectra-local;
    spectra_database warehouse;
    spectra_secret_arn arn:aws:secretsmanager:us-east-1:123456789012:secret:spectra/tenant_$spectra_tenant_id-Ab1Cd2;

    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- request
POST /v1/queries
{"sql": "select count(*) from sales"}
--- response_body_like chomp
"data":\[\{"count":300000\}\]



=== TEST 3: a Serverless workgroup runs each tenant through its secret
--- tenant: globex
--- http_config eval: $::HttpConfig
--- config
    spectra_auth api_key;
    spectra_api_keys $TEST_NGINX_WS_KEYS;
    spectra_dataapi_host 127.0.0.1:$TEST_NGINX_DATAAPI_PORT;
    spectra_aws_access_key_id $TEST_NGINX_DATAAPI_ACCESS_KEY;
    spectra_aws_secret_access_key $TEST_NGINX_DATAAPI_SECRET_KEY;
    spectra_workgroup_name analytics;
    spectra_database warehouse;
    spectra_secret_arn arn:aws:secretsmanager:us-east-1:123456789012:secret:spectra/tenant_$spectra_tenant_id-Ab1Cd2;

    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- request
POST /v1/queries
{"sql": "select count(*) from sales"}
--- response_body_like chomp
"data":\[\{"count":300000\}\]



=== TEST 4: a Serverless workgroup without per-tenant secrets is refused
--- http_config eval: $::HttpConfig
--- config
    spectra_workgroup_name analytics;
    spectra_database warehouse;

    location /v1/ {
        spectra_api;
    }
--- must_die
--- error_log
spectra_workgroup_name needs spectra_secret_arn (per-tenant secrets), so that each tenant runs as its own database user



=== TEST 5: credentials and region come from AWS_* of the master
--- http_config eval: $::HttpConfig
--- config
    spectra_auth api_key;
    spectra_api_keys $TEST_NGINX_WS_KEYS;
    spectra_dataapi_host 127.0.0.1:$TEST_NGINX_DATAAPI_PORT;
    spectra_cluster_identifier spectra-local;
    spectra_database warehouse;

    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- request
POST /v1/queries
{"sql": "select count(*) from sales"}
--- response_body_like chomp
"data":\[\{"count":600000\}\]



=== TEST 6: configured credentials win over the environment
--- http_config eval: $::HttpConfig
--- config
    spectra_auth api_key;
    spectra_api_keys $TEST_NGINX_WS_KEYS;
    spectra_dataapi_host 127.0.0.1:$TEST_NGINX_DATAAPI_PORT;
    spectra_aws_access_key_id AKIDNOTKNOWNTOTHEAPI;
    spectra_aws_secret_access_key not-the-secret-of-anyone;
    spectra_cluster_identifier spectra-local;
    spectra_database warehouse;

    location /v1/ {
        spectra_api;
    }

    include $TEST_NGINX_REPO/t/data/query/internal.conf;
--- request
POST /v1/queries
{"sql": "select count(*) from sales"}
--- error_code: 502
--- response_body_like chomp
^\{"error":\{"code":"UPSTREAM_ERROR","message":"the data API refused the credentials",
--- error_log
spectra: data API answered 403 UnrecognizedClientException
--- no_error_log
not-the-secret-of-anyone



=== TEST 7: an access key without its secret is refused
--- http_config eval: $::HttpConfig
--- config
    spectra_aws_access_key_id AKIDONLYTHEKEYID0001;

    location /v1/ {
        spectra_api;
    }
--- must_die
--- error_log
spectra: an AWS access key id needs its secret access key, and the other way round



=== TEST 8: a workgroup and a cluster exclude each other
--- http_config eval: $::HttpConfig
--- config
    spectra_workgroup_name analytics;
    spectra_cluster_identifier spectra-local;
    spectra_secret_arn arn:aws:secretsmanager:us-east-1:1:secret:x;

    location /v1/ {
        spectra_api;
    }
--- must_die
--- error_log
spectra_workgroup_name and spectra_cluster_identifier exclude each other
