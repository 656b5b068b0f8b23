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
