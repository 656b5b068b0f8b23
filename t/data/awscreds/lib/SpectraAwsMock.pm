# The AWS credential endpoints at the protocol boundary, for the suites:
# STS AssumeRoleWithWebIdentity (form POST, XML answer), the container
# credentials endpoint (JSON, Authorization checked) and IMDSv2 (PUT
# /latest/api/token, then the role and its credentials).  Each answer
# hands out the next temporary key of DIR/keys ("AKID SECRET TOKEN"
# lines, in turn), expiring after the lifetime in DIR/lifetime (default
# 3600 s; 6 s from /sts-short/); every request is logged to DIR/log as
# "METHOD PATH STATUS".
package SpectraAwsMock;

use strict;
use warnings;

use Exporter 'import';
use IO::Socket::INET;
use POSIX qw(strftime);

our @EXPORT_OK = qw(start_mock stop_mock mock_log spew temporary_keys);

our $ROLE = 'spectra-gateway-role';
our $TOKEN_PREFIX = 'IQoJb3JpZ2luX2VjEspectra';

sub spew {
    my ($path, $text, $mode) = @_;
    open my $fh, '>', "$path.tmp" or die "$path: $!";
    print $fh $text;
    close $fh;
    chmod $mode // 0600, "$path.tmp";
    rename "$path.tmp", $path or die "$path: $!";
}

sub slurp_or {
    my ($path, $default) = @_;
    open my $fh, '<', $path or return $default;
    local $/;
    my $t = <$fh>;
    $t =~ s/\s+\z//;
    return $t;
}

# the temporary keys handed out in turn: [AKID, SECRET, TOKEN, PRINCIPAL]
# each, all of one role session (they see each other's statements)
sub temporary_keys {
    my ($n, $port) = @_;
    return map {
        ['ASIATEMP' . sprintf('%06d%06d', $port, $_),
         "temporary/secret+$port+$_",
         $TOKEN_PREFIX . sprintf('%06d%06d', $port, $_)
         . join('', map { sprintf '%02x', int rand 256 } 1 .. 16),
         "arn:aws:sts::123456789012:assumed-role/spectra-gateway/t$port"]
    } 1 .. $n;
}

my $next = 0;

sub creds {
    my ($dir, $life) = @_;
    $life //= slurp_or("$dir/lifetime", 3600);
    my @keys = map { [split ' '] } split /\n/, slurp_or("$dir/keys", '');
    my $k = $keys[$next++ % @keys];
    return (AccessKeyId => $k->[0],
            SecretAccessKey => $k->[1],
            Token => $k->[2],
            Expiration => strftime('%Y-%m-%dT%H:%M:%SZ',
                                   gmtime(time + $life)));
}

sub answer {
    my ($dir, $method, $path, $h, $body) = @_;
    my %c;

    if ($method eq 'POST' && $path =~ m{^/sts(-short)?/$}) {
        my $short = $1;
        my $want = slurp_or("$dir/web-identity-token", '');
        (my $got = $body) =~ s/.*WebIdentityToken=([^&]*).*/$1/s;
        $got =~ s/%([0-9A-F]{2})/chr hex $1/ge;
        return (403, 'text/xml', '<ErrorResponse><Error><Type>Sender</Type>'
                . '<Code>InvalidIdentityToken</Code><Message>no</Message>'
                . '</Error></ErrorResponse>')
            unless $got eq $want && $body =~ /Action=AssumeRoleWithWebIdentity/
                   && $body =~ /RoleArn=arn%3Aaws%3Aiam%3A%3A/;
        %c = creds($dir, $short ? 6 : undef);
        return (200, 'text/xml', <<"_XML_");
<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleWithWebIdentityResult>
    <Credentials>
      <AccessKeyId>$c{AccessKeyId}</AccessKeyId>
      <SecretAccessKey>$c{SecretAccessKey}</SecretAccessKey>
      <SessionToken>$c{Token}</SessionToken>
      <Expiration>$c{Expiration}</Expiration>
    </Credentials>
  </AssumeRoleWithWebIdentityResult>
</AssumeRoleWithWebIdentityResponse>
_XML_
    }

    if ($method eq 'GET' && $path eq '/container/creds') {
        my $want = slurp_or("$dir/container-token", '');
        return (401, 'text/plain', "no\n")
            unless ($h->{authorization} // '') eq $want;
        %c = creds($dir);
        return (200, 'application/json', json(\%c, RoleArn =>
                "arn:aws:iam::123456789012:role/$ROLE"));
    }

    if ($method eq 'PUT' && $path eq '/latest/api/token') {
        return (400, 'text/plain', "ttl\n")
            unless ($h->{'x-aws-ec2-metadata-token-ttl-seconds'} // '')
                   =~ /^\d+$/;
        return (200, 'text/plain', 'AQAEAImdsSessionToken==');
    }

    if ($method eq 'GET'
        && $path =~ m{^/latest/meta-data/iam/security-credentials/(.*)$})
    {
        my $role = $1;
        return (401, 'text/plain', "token\n")
            unless ($h->{'x-aws-ec2-metadata-token'} // '')
                   eq 'AQAEAImdsSessionToken==';
        return (200, 'text/plain', $ROLE) if $role eq '';
        return (404, 'text/plain', "no role\n") if $role ne $ROLE;
        %c = creds($dir);
        return (200, 'text/plain', json(\%c, Code => 'Success',
                Type => 'AWS-HMAC',
                LastUpdated => strftime('%Y-%m-%dT%H:%M:%SZ', gmtime)));
    }

    return (404, 'text/plain', "not found\n");
}

sub json {
    my ($c, %more) = @_;
    my %all = (%$c, %more);
    return '{' . join(',', map { "\"$_\":\"$all{$_}\"" } sort keys %all)
           . '}';
}

sub serve {
    my ($dir, $listen) = @_;

    while (my $s = $listen->accept) {
        my ($line, %h, $body);
        local $/ = "\r\n";
        $line = <$s> // next;
        $line =~ s/\r\n\z//;
        my ($method, $path) = split / /, $line;
        while (my $l = <$s>) {
            $l =~ s/\r\n\z//;
            last if $l eq '';
            my ($k, $v) = split /:\s*/, $l, 2;
            $h{lc $k} = $v;
        }
        $body = '';
        read $s, $body, $h{'content-length'} if $h{'content-length'};
        my ($status, $type, $text) = answer($dir, $method, $path, \%h, $body);
        print $s "HTTP/1.1 $status X\r\nContent-Type: $type\r\n"
                 . 'Content-Length: ' . length($text) . "\r\n"
                 . "Connection: close\r\n\r\n$text";
        close $s;
        open my $log, '>>', "$dir/log" or next;
        print $log "$method $path $status\n";
        close $log;
    }
}

# start_mock(dir => DIR, port => PORT): a forked server; its pid in
# DIR/pid.port
sub start_mock {
    my (%o) = @_;
    my $listen = IO::Socket::INET->new(LocalAddr => '127.0.0.1',
                                       LocalPort => $o{port}, Listen => 16,
                                       ReuseAddr => 1)
        or die "cannot listen on 127.0.0.1:$o{port}: $@";
    my $pid = fork // die "fork: $!";

    if ($pid == 0) {
        serve($o{dir}, $listen);
        POSIX::_exit(0);
    }

    close $listen;
    spew("$o{dir}/pid.$o{port}", "$pid\n");
    return $pid;
}

sub stop_mock {
    my ($dir, $port) = @_;
    my $pid = slurp_or("$dir/pid.$port", '');
    return unless $pid =~ /^\d+$/;
    kill 'TERM', $pid;
    waitpid $pid, 0;
    unlink "$dir/pid.$port";
}

# the lines of DIR/log matching re
sub mock_log {
    my ($dir, $re) = @_;
    open my $fh, '<', "$dir/log" or return ();
    return grep { /$re/ } <$fh>;
}

1;
