package SpectraJwks;

# The JWKS and OpenID discovery endpoint of t/018: a second nginx on
# 127.0.0.1 serving, over HTTPS with a certificate of a throwaway CA
# (openssl), the files a block writes below its servroot's html/; every
# fetch whose URL carries ?b=NAME is logged, one line per fetch, in
# logs/NAME.log, which the block's own nginx serves back at /fetches so
# that a block can count the fetches the module made.

use strict;
use warnings;

use Exporter 'import';
use File::Basename qw(basename);
use Crypt::PK::ECC ();
use Crypt::PK::RSA ();
use JSON::PP ();
use Time::HiRes qw(sleep time);

our @EXPORT_OK = qw(start_server stop_server jwk jwks_json fetches
                    wait_fetches statuses);

my $json = JSON::PP->new->canonical;

sub run {
    my @cmd = @_;
    system(@cmd) == 0 or die "@cmd failed";
}

sub spew {
    my ($path, $text) = @_;
    open my $fh, '>', "$path.tmp" or die "$path: $!";
    print $fh $text;
    close $fh or die "$path: $!";
    rename "$path.tmp", $path or die "$path: $!";
}

# The CA and the server certificate (for IP 127.0.0.1), made once.
sub ensure_certs {
    my ($dir) = @_;

    return if -f "$dir/server.crt";

    run('openssl', 'req', '-x509', '-newkey', 'ec', '-pkeyopt',
        'ec_paramgen_curve:P-256', '-nodes', '-days', '30', '-subj',
        '/CN=spectra test CA', '-keyout', "$dir/ca.key", '-out',
        "$dir/ca.crt");
    run('openssl', 'req', '-newkey', 'ec', '-pkeyopt',
        'ec_paramgen_curve:P-256', '-nodes', '-subj', '/CN=127.0.0.1',
        '-keyout', "$dir/server.key", '-out', "$dir/server.csr");
    spew("$dir/san.ext", "subjectAltName = IP:127.0.0.1\n");
    run('openssl', 'x509', '-req', '-in', "$dir/server.csr", '-CA',
        "$dir/ca.crt", '-CAkey', "$dir/ca.key", '-CAcreateserial',
        '-days', '30', '-extfile', "$dir/san.ext", '-out',
        "$dir/server.crt");
}

sub stop_server {
    my ($dir) = @_;
    my $pidfile = "$dir/nginx.pid";

    return unless -f $pidfile;

    open my $fh, '<', $pidfile or return;
    my $pid = <$fh>;
    close $fh;
    chomp $pid if defined $pid;

    if ($pid && $pid =~ /^\d+$/ && kill(0, $pid)) {
        kill 'QUIT', $pid;
        for (1 .. 100) {
            last unless kill(0, $pid);
            sleep 0.05;
        }
        kill 'KILL', $pid if kill(0, $pid);
    }

    unlink $pidfile;
}

# Starts the server (stopping one a previous run left); returns nothing.
sub start_server {
    my (%o) = @_;
    my $dir = $o{dir};
    my $port = $o{port};
    my $html = $o{html};

    mkdir $dir unless -d $dir;
    stop_server($dir);

    for my $d ("$dir/logs", "$dir/tmp") {
        run('rm', '-rf', $d);
        mkdir $d or die "$d: $!";
    }

    ensure_certs($dir);

    my $temps = join '', map { "    ${_}_temp_path $dir/tmp/$_;\n" }
                         qw(client_body proxy fastcgi uwsgi scgi);

    spew("$dir/nginx.conf", <<"_EOC_");
user root;
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/error.log info;

events { worker_connections 64; }

http {
$temps
    default_type application/json;
    log_format fetch '\$uri';
    map \$arg_ma \$spectra_cc { "" ""; default "max-age=\$arg_ma"; }

    server {
        listen 127.0.0.1:$port ssl;
        ssl_certificate $dir/server.crt;
        ssl_certificate_key $dir/server.key;
        root $html;
        access_log off;

        location / {
            if (\$arg_b = "") { return 404; }
            access_log $dir/logs/\$arg_b.log fetch;
            add_header Cache-Control \$spectra_cc;
        }

        location ~ /\.well-known/ {
            access_log $dir/logs/discovery.log fetch;
        }

        location /html/ {
            access_log $dir/logs/\$arg_b.log fetch;
            default_type text/html;
        }
    }
}
_EOC_

    run('/usr/sbin/nginx', '-p', "$dir/", '-c', "$dir/nginx.conf", '-e',
        "$dir/error.log");
}

# A public JWK of a PEM private key file, with kid (and alg if given).
sub jwk {
    my ($file, $kid, %o) = @_;
    # by the file's name (ec*.key), not its path: a checkout's path may
    # hold "ec" too (/src/spectra/...)
    my $pk = basename($file) =~ /^ec/ ? Crypt::PK::ECC->new($file)
                                      : Crypt::PK::RSA->new($file);
    my $k = $pk->export_key_jwk($o{private} ? 'private' : 'public', 1);
    $k->{kid} = $kid;
    $k->{alg} = $o{alg} if $o{alg};
    return $k;
}

sub jwks_json {
    my (@keys) = @_;
    return $json->encode({keys => \@keys});
}

# How many fetches of ?b=NAME the server logged.
sub fetches {
    my ($dir, $name) = @_;
    open my $fh, '<', "$dir/logs/$name.log" or return 0;
    my @lines = <$fh>;
    close $fh;
    return scalar @lines;
}

# nginx under valgrind (TEST_NGINX_USE_VALGRIND) takes far longer
my $slow = $ENV{TEST_NGINX_USE_VALGRIND} ? 12 : 1;

# Waits (at most 10 s, 2 min under valgrind) until the server logged at
# least $n fetches.
sub wait_fetches {
    my ($dir, $name, $n) = @_;
    my $end = time + 10 * $slow;

    while (fetches($dir, $name) < $n) {
        die "no fetch $n of $name in time" if time > $end;
        sleep 0.02;
    }
}

# The statuses of GET $url with each bearer token, all sent at once.
sub statuses {
    my ($url, @tokens) = @_;
    my @pipes;

    for my $t (@tokens) {
        open my $fh, '-|', 'curl', '-s', '-o', '/dev/null', '-w',
             '%{http_code}', '-m', 10 * $slow, '-H',
             "Authorization: Bearer $t", $url or die "curl: $!";
        push @pipes, $fh;
    }

    my @codes;

    for my $fh (@pipes) {
        local $/;
        my $code = <$fh>;
        close $fh;
        push @codes, $code // 'none';
    }

    return join(' ', @codes) . "\n";
}

1;
