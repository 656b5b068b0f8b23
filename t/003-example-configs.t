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

# as the Dockerfile writes it
open $fh, '>', "$dir/spectra/upstream.conf" or die;
print $fh "upstream spectra_dataapi {\n    server 127.0.0.1:8081;\n}\n";
close $fh;

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
                 spectra-docker.conf))
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
like $res->{content}, qr/^\{"error":\{"code":"UNAUTHENTICATED"/,
    '... with the JSON error';

system("/usr/sbin/nginx -p $dir -c $conf -s quit 2>/dev/null");
for (1 .. 100) {
    last unless -f "$dir/logs/nginx.pid";
    select undef, undef, undef, 0.1;
}
ok !-f "$dir/logs/nginx.pid", 'nginx stopped';

done_testing;
