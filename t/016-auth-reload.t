# Revocation by reload, with a real "nginx -s reload" (HUP): an API key
# whose line was removed and a JWT whose key was removed are refused by
# the new workers, even though the JWT was in the verified-token cache
# (the cache is keyed by a nonce of the configuration).  Plain Test::More:
# the Test::Nginx runner starts a fresh nginx for every block.
use strict;
use warnings;

use FindBin ();
use lib "$FindBin::Bin/data/auth/lib";

use Digest::SHA qw(sha256_hex);
use File::Temp qw(tempdir);
use HTTP::Tiny;
use Test::More;
use Time::HiRes qw(sleep);

use SpectraAuth qw(ensure_keys mint);

my ($module) = split ' ', ($ENV{TEST_NGINX_LOAD_MODULES} // '');
# without the module the file fails: it does not skip
die "TEST_NGINX_LOAD_MODULES is not set (run through scripts/test.sh)\n"
    unless $module;

my $port = ($ENV{TEST_NGINX_SERVER_PORT} || 1984) + 1;
my $keys = ensure_keys("$FindBin::Bin/data/auth/keys");
my $dir = tempdir('spectra-reload-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $nginx = $ENV{TEST_NGINX_BINARY} || '/usr/sbin/nginx';

mkdir "$dir/$_" for qw(conf logs tmp);

my %secret = (a => 'A' x 43, b => 'B' x 43);
my %line = map { $_ => "k$_ " . sha256_hex($secret{$_})
                       . " tenant=tenant_$_ permissions=query" } keys %secret;

my $jwt_hs = mint($keys, time, alg => 'HS256');
my $jwt_rs = mint($keys, time, alg => 'RS256');

sub write_file {
    my ($path, $text) = @_;
    open my $fh, '>', $path or die "$path: $!";
    print $fh $text;
    close $fh;
}

sub write_config {
    my ($with_hs, @api_keys) = @_;
    my $user = $> == 0 ? 'user root;' : '';
    my $hs = $with_hs
             ? "spectra_jwt_key_file $keys/hs.secret kid=hs;" : '';

    write_file("$dir/conf/api.keys", join('', map { "$line{$_}\n" }
                                                 @api_keys));
    write_file("$dir/conf/nginx.conf", <<"_EOC_");
load_module $module;
$user
worker_processes 1;
error_log $dir/logs/error.log debug;
pid $dir/logs/nginx.pid;
events { worker_connections 64; }
http {
    access_log off;
    client_body_temp_path $dir/tmp;
    proxy_temp_path $dir/tmp;
    fastcgi_temp_path $dir/tmp;
    uwsgi_temp_path $dir/tmp;
    scgi_temp_path $dir/tmp;
    spectra_jwt_cache_zone 1m;

    server {
        listen 127.0.0.1:$port;
        spectra_auth any;
        $hs
        spectra_jwt_key_file $keys/rsa.pub kid=rs;
        spectra_api_keys api.keys;
        location /v1/ { spectra_api; }
    }
}
_EOC_
}

sub workers {
    my $master = master();
    return () unless $master;
    opendir my $d, '/proc' or die;
    my @w;
    for my $p (grep { /^\d+$/ } readdir $d) {
        open my $fh, '<', "/proc/$p/stat" or next;
        my @f = split ' ', scalar <$fh>;
        push @w, $p if $f[3] == $master;
    }
    return sort @w;
}

sub master {
    open my $fh, '<', "$dir/logs/nginx.pid" or return;
    my $pid = <$fh>;
    chomp $pid;
    return $pid;
}

my $http = HTTP::Tiny->new(timeout => 5);
my @nginx = ($nginx, '-p', $dir, '-e', "$dir/logs/error.log", '-c',
             'conf/nginx.conf');

# whatever happens, the nginx started here is stopped
END {
    my $pid = master();
    if ($pid && kill 0, $pid) {
        kill 'QUIT', $pid;
        for (1 .. 100) { last unless kill 0, $pid; sleep 0.1 }
    }
}

sub status {
    my (%h) = @_;
    return $http->get("http://127.0.0.1:$port/v1/health",
                      {headers => \%h})->{status};
}

write_config(1, 'a', 'b');
system(@nginx) == 0
    or BAIL_OUT('nginx did not start');

for (1 .. 50) { last if workers(); sleep 0.1 }
my @before = workers();

is(status('X-API-Key' => "spk_ka_$secret{a}"), 200, 'key a before reload');
is(status('X-API-Key' => "spk_kb_$secret{b}"), 200, 'key b before reload');
is(status(Authorization => "Bearer $jwt_hs"), 200, 'HS256 before reload');
is(status(Authorization => "Bearer $jwt_hs"), 200,
   'HS256 again, from the cache');
is(status(Authorization => "Bearer $jwt_rs"), 200, 'RS256 before reload');

open my $log, '<', "$dir/logs/error.log" or die;
like(join('', <$log>), qr/spectra auth: JWT cache hit/,
     'the second HS256 request was answered from the cache');
close $log;

# remove key a and the HMAC key, reload
write_config(0, 'b');
system(@nginx, '-s', 'reload') == 0
    or BAIL_OUT('nginx -s reload failed');

my @after;
for (1 .. 100) {
    @after = workers();
    last if @after && !grep { my $o = $_; grep { $_ == $o } @after } @before;
    sleep 0.1;
}
ok(@after && !grep({ my $o = $_; grep { $_ == $o } @after } @before),
   'new workers replaced the old ones');

is(status('X-API-Key' => "spk_ka_$secret{a}"), 401, 'key a revoked');
is(status('X-API-Key' => "spk_kb_$secret{b}"), 200, 'key b still valid');
is(status(Authorization => "Bearer $jwt_hs"), 401,
   'HS256 refused once its key is gone, although it was cached');
is(status(Authorization => "Bearer $jwt_rs"), 200, 'RS256 still valid');

open $log, '<', "$dir/logs/error.log" or die;
my $text = join '', <$log>;
close $log;
like($text, qr/spectra: api key rejected: unknown key id/,
     'the revoked key is logged as unknown');
like($text, qr/spectra: jwt rejected: unknown kid/,
     'the token of the removed key is logged as unknown kid');

done_testing();
