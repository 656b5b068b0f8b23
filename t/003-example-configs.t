# The example configurations in conf/ load in the real nginx with the
# module (after their site-specific paths, hosts and ports are pointed at
# a scratch directory), and the container one serves health while the
# rest of the API answers 401 JSON until credentials are configured.
use strict;
use warnings;
use Test::More;
use File::Temp qw(tempdir);
use HTTP::Tiny;

my $repo = $ENV{SPECTRA_REPO}
    or die "SPECTRA_REPO is not set: run the suites with make test\n";
my $module = "$ENV{SPECTRA_BUILD}/ngx_spectra_module.so";
my $port = $ENV{SPECTRA_PORT_BASE} + 48;
my $dir = tempdir('spectra-conf-XXXXXX', TMPDIR => 1, CLEANUP => 1);

chmod 0755, $dir;
mkdir "$dir/$_" for qw(logs tmp spectra spectra/conf.d jobs tls);
system('chown', 'nobody:', "$dir/jobs") == 0 or die "chown: $?";

# what the examples expect to find on a real host
system("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256"
       . " -nodes -days 1 -subj /CN=x -keyout $dir/tls/key.pem"
       . " -out $dir/tls/cert.pem 2>/dev/null") == 0
    or die 'openssl req failed';
system("openssl genpkey -quiet -algorithm EC -pkeyopt ec_paramgen_curve:P-256"
       . " | openssl pkey -pubout > $dir/spectra/ec.pub") == 0
    or die 'openssl genpkey failed';
open my $fh, '>', "$dir/spectra/api.keys" or die;
close $fh;

# The container's entry point writes the Data API's upstream and location
# from the environment and renders the templates (into $dir/spectra, the
# image's /etc/spectra); returns its output, $? set.
sub entrypoint {
    my (%env) = @_;
    local $ENV{SPECTRA_ETC} = "$dir/spectra";
    delete local $ENV{AWS_REGION};
    delete local $ENV{SPECTRA_DATAAPI_ENDPOINT};
    local @ENV{keys %env} = values %env;
    return `bash $repo/scripts/docker-entrypoint.sh echo started 2>&1`;
}

sub slurp {
    open my $fh, '<', $_[0] or return '';
    local $/;
    return scalar <$fh>;
}

{
    my $out = entrypoint(AWS_REGION => 'eu-west-1');
    is "$? $out", "0 started\n", 'the entry point runs the command';
    my $up = slurp("$dir/spectra/dataapi.conf");
    my $loc = slurp("$dir/spectra/dataapi-location.conf");
    like $up, qr/server redshift-data\.eu-west-1\.amazonaws\.com:443;/,
         'AWS_REGION alone: the region\'s Data API on 443';
    like $up, qr/spectra_dataapi_host redshift-data\.eu-west-1\.amazonaws\.com;/,
         '... signed for its host';
    like $loc, qr{proxy_pass https://spectra_dataapi/;}, '... over HTTPS';
    like $loc, qr{proxy_ssl_verify on;.*proxy_ssl_trusted_certificate /etc/ssl/certs/ca-certificates\.crt;}s,
         '... the certificate verified against the system CAs';
    like $loc, qr{proxy_ssl_name redshift-data\.eu-west-1\.amazonaws\.com;},
         '... by its name (SNI)';

    $out = entrypoint(SPECTRA_DATAAPI_ENDPOINT => 'http://127.0.0.1:8081');
    unlike slurp("$dir/spectra/dataapi-location.conf"), qr/proxy_ssl/,
           'an http:// endpoint: plain HTTP';
    like slurp("$dir/spectra/dataapi.conf"),
         qr/spectra_dataapi_host 127\.0\.0\.1:8081;/,
         '... signed for host:port';

    for my $bad ('ftp://x', 'https://a b', 'https://h:99999999') {
        $out = entrypoint(SPECTRA_DATAAPI_ENDPOINT => $bad);
        isnt $?, 0, "SPECTRA_DATAAPI_ENDPOINT=$bad is refused";
        like $out, qr/SPECTRA_DATAAPI_ENDPOINT/, '... naming the variable';
        unlike $out, qr/started/, '... before nginx would start';
    }

    mkdir "$dir/spectra/templates";
    open my $t, '>', "$dir/spectra/templates/auth.conf.template" or die;
    print $t "spectra_auth \${SPECTRA_T003_AUTH};\n"
        . "set \$x \"\${SPECTRA_T003_UNSET}\";\n# \$spectra_tenant_id\n";
    close $t;
    entrypoint(SPECTRA_T003_AUTH => 'any');
    is slurp("$dir/spectra/conf.d/auth.conf"),
       "spectra_auth any;\nset \$x \"\${SPECTRA_T003_UNSET}\";\n"
       . "# \$spectra_tenant_id\n",
       'templates: set variables replaced, unset ones and nginx $names kept';
    unlink "$dir/spectra/templates/auth.conf.template",
           "$dir/spectra/conf.d/auth.conf";

    # for nginx -t and the run below: a loopback "AWS" endpoint by name
    entrypoint(SPECTRA_DATAAPI_ENDPOINT => "https://localhost:" . ($port + 1));
    like slurp("$dir/spectra/dataapi.conf"),
         qr/spectra_dataapi_host localhost:\d+;/, 'https://host:port';
}

sub render {
    my ($name) = @_;
    open my $in, '<', "$repo/conf/$name" or die "$name: $!";
    local $/;
    my $c = <$in>;

    $c =~ s{load_module \S+;}{load_module $module;};
    $c =~ s{\bpid \S+;}{pid $dir/logs/nginx.pid;};
    $c =~ s{error_log stderr}{error_log $dir/logs/error.log};
    $c =~ s{access_log /dev/stdout;}{access_log $dir/logs/access.log;};
    $c =~ s{listen (?:443 ssl http2|8080);}{listen 127.0.0.1:$port ssl;}
        if $c =~ /443 ssl/;
    $c =~ s{listen 8080;}{listen 127.0.0.1:$port;};
    $c =~ s{/etc/nginx/tls/[\w.-]+\.pem}{$dir/tls/cert.pem}g;
    $c =~ s{/etc/nginx/tls/[\w.-]+\.key}{$dir/tls/key.pem}g;
    $c =~ s{/etc/nginx/spectra/jwks\.json}{$dir/spectra/ec.pub alg=ES256}g;
    $c =~ s{/etc/nginx/spectra/api\.keys}{$dir/spectra/api.keys}g;
    $c =~ s{/etc/spectra/}{$dir/spectra/}g;
    $c =~ s{/var/lib/spectra/}{$dir/jobs/}g;
    # no DNS here: the AWS endpoint becomes a loopback address
    $c =~ s{server redshift-data\.[\w.-]+:443;}{server 127.0.0.1:9;}g;
    $c =~ s{(http \{)}{$1
    client_body_temp_path $dir/tmp/body;
    proxy_temp_path $dir/tmp/proxy;
    fastcgi_temp_path $dir/tmp/fastcgi;
    uwsgi_temp_path $dir/tmp/uwsgi;
    scgi_temp_path $dir/tmp/scgi;};

    open my $out, '>', "$dir/$name" or die;
    print $out $c;
    close $out;

    return "$dir/$name";
}

for my $name (qw(aws-provisioned.conf aws-serverless.conf
                 aws-warehouses.conf spectra-docker.conf))
{
    my $conf = render($name);
    my $out = `/usr/sbin/nginx -t -p $dir -c $conf 2>&1`;
    is $?, 0, "conf/$name passes nginx -t" or diag $out;
}

# conf/spectra-local.conf (make run's, its @NAME@s as scripts/local-conf.sh
# fills them in), alone and with conf/examples/ratelimit.conf included in
# its http {} as the example's header says.
sub render_local {
    my ($extra) = @_;
    open my $in, '<', "$repo/conf/spectra-local.conf" or die $!;
    local $/;
    my $c = <$in>;
    mkdir "$dir/local";
    mkdir "$dir/local/$_" for qw(http.d server.d);
    open my $fh, '>', "$dir/auth.conf" or die;
    print $fh "spectra_auth any;\nspectra_api_keys $dir/spectra/api.keys;\n";
    close $fh;
    my %v = (MODULE => $module, STATE => $dir, LOCAL => "$dir/local",
             HTTP_PORT => $port, DATAAPI_PORT => $port + 1,
             AUTH_CONF => "$dir/auth.conf",
             DATAAPI_ACCESS_KEY => 'AKIDEXAMPLE',
             DATAAPI_SECRET_KEY => 'secret');
    $c =~ s{\@([A-Z_]+)\@}{$v{$1} // "\@$1\@"}ge;
    die "a placeholder is left: $1\n" if $c =~ /^[^#\n]*\@([A-Z_]+)\@/m;
    $c =~ s{^\}\s*\z}{$extra\n\}\n}m if defined $extra;
    mkdir "$dir/nginx";
    mkdir "$dir/nginx/$_" for qw(logs tmp data);
    open $fh, '>', "$dir/local.conf" or die;
    print $fh $c;
    close $fh;
    return "$dir/local.conf";
}

for my $extra (undef, "include $repo/conf/examples/ratelimit.conf;") {
    my $conf = render_local($extra);
    my $out = `/usr/sbin/nginx -t -p $dir -c $conf 2>&1`;
    is $?, 0, 'conf/spectra-local.conf passes nginx -t'
              . ($extra ? ' with conf/examples/ratelimit.conf included' : '')
        or diag $out;
}

# conf/examples/ratelimit.conf's two parts in a server of their own.
{
    open my $in, '<', "$repo/conf/examples/ratelimit.conf" or die $!;
    local $/;
    my $c = <$in>;
    my ($http, $server) = split /^# --- server \{\} -+\n/m, $c;
    ok defined $server, 'ratelimit.conf has a server part';
    $server =~ s/^# ?//mg;
    $server =~ s{spectra_jwt_key_file \S+;}{spectra_jwt_key_file $dir/spectra/ec.pub alg=ES256;};
    $server =~ s{/etc/spectra/}{$dir/spectra/}g;
    open my $fh, '>', "$dir/ratelimit.conf" or die;
    print $fh "load_module $module;\npid $dir/logs/rl.pid;\n"
        . "error_log $dir/logs/error.log;\nevents {}\nhttp {\n$http\n"
        . "limit_req_status 429;\nserver {\nlisten 127.0.0.1:$port;\n"
        . "$server\n}\n}\n";
    close $fh;
    my $out = `/usr/sbin/nginx -t -p $dir -c $dir/ratelimit.conf 2>&1`;
    is $?, 0, 'ratelimit.conf, both parts uncommented, passes nginx -t'
        or diag $out;
}

# The container's: health answers, the API wants credentials.
my $conf = render('spectra-docker.conf');
system('/usr/sbin/nginx', '-p', $dir, '-c', $conf) == 0
    or BAIL_OUT('nginx with spectra-docker.conf did not start');

my $ua = HTTP::Tiny->new(timeout => 10);
my $res;

for (1 .. 50) {
    $res = $ua->get("http://127.0.0.1:$port/v1/health");
    last if $res->{status} != 599;
    select undef, undef, undef, 0.1;
}

is $res->{status}, 200, 'the container config answers health';
like $res->{content}, qr/"status":"ok"/, '... with the health document';

$res = $ua->post("http://127.0.0.1:$port/v1/queries", {
    headers => {'Content-Type' => 'application/json'},
    content => '{"sql": "select 1"}'});
is $res->{status}, 401, 'a query without credentials is 401';
{
    my $master = slurp("$dir/logs/nginx.pid");
    chomp $master;
    my @users = map { s/\s+//gr } `ps -o user= --ppid $master`;
    ok @users >= 1 && !grep({ $_ ne 'nobody' } @users),
       'the container\'s workers run as nobody' or diag "@users";
}
like $res->{content}, qr/^\{"error":\{"code":"UNAUTHENTICATED"/,
    '... with the JSON error';

system("/usr/sbin/nginx -p $dir -c $conf -s quit 2>/dev/null");
for (1 .. 100) {
    last unless -f "$dir/logs/nginx.pid";
    select undef, undef, undef, 0.1;
}
ok !-f "$dir/logs/nginx.pid", 'nginx stopped';

done_testing;
