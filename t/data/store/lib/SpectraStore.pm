package SpectraStore;

# Presigned URLs for the local object store's suite (t/064-object-store.t):
# made by Debian's botocore (t/data/store/presign.py), by the aws CLI v2
# (aws s3 presign, path style, offline) and by the module's own presigner
# (spectra-presign), so that the store is checked against real clients.

use strict;
use warnings;

use Exporter 'import';
use File::Temp qw(tempdir);

our @EXPORT_OK = qw(presign aws_presign spectra_presign request_of tamper);

our $AKID   = 'AKIDSPECTRASTORE0001';
our $SECRET = 'spectraStoreSecret/Key+0123456789abcdefgh';
our $BUCKET = 'spectra-exports';

my $dir = "$ENV{SPECTRA_REPO}/t/data/store";

sub endpoint { "http://127.0.0.1:$ENV{TEST_NGINX_SERVER_PORT}" }

sub run {
    my (@cmd) = @_;
    my ($pid, $out);

    $pid = open my $fh, '-|', @cmd or die "$cmd[0]: $!";
    $out = do { local $/; <$fh> };
    close $fh or die "@cmd[0 .. 1] failed: $?\n";
    chomp $out;

    return $out;
}

# presign(key, name => value ...): botocore's URL of key in $BUCKET; the
# names are presign.py's (method, expires, now, region, access_key,
# secret_key, token, style) plus endpoint and bucket.
sub presign {
    my ($key, %o) = @_;
    my $endpoint = delete $o{endpoint} // endpoint();
    my $bucket = delete $o{bucket} // $BUCKET;

    $o{access_key} //= $AKID;
    $o{secret_key} //= $SECRET;

    return run('/usr/bin/python3', "$dir/presign.py", $endpoint, $bucket,
               $key, map { "$_=$o{$_}" } sort keys %o);
}

# aws_presign(key, expires): what "aws s3 presign" prints, with path style
# and the store's credentials, in a configuration of its own.
sub aws_presign {
    my ($key, $expires) = @_;
    my $home = tempdir('spectra-aws-XXXXXX', TMPDIR => 1, CLEANUP => 1);

    open my $fh, '>', "$home/config" or die "$home/config: $!";
    print $fh "[default]\nregion = us-east-1\ns3 =\n"
              . "    addressing_style = path\n";
    close $fh;

    local $ENV{HOME} = $home;
    local $ENV{AWS_CONFIG_FILE} = "$home/config";
    local $ENV{AWS_SHARED_CREDENTIALS_FILE} = "$home/none";
    local $ENV{AWS_ACCESS_KEY_ID} = $AKID;
    local $ENV{AWS_SECRET_ACCESS_KEY} = $SECRET;
    local $ENV{AWS_EC2_METADATA_DISABLED} = 'true';
    delete local $ENV{AWS_SESSION_TOKEN};
    delete local $ENV{AWS_PROFILE};

    return run('/usr/bin/aws', 's3', 'presign', "s3://$BUCKET/$key",
               '--endpoint-url', endpoint(), '--expires-in', $expires);
}

# spectra_presign(key, name => value ...): the module's presigner
# (spectra_s3_presign_url) through the spectra-presign tool.
sub spectra_presign {
    my ($key, %o) = @_;
    my @args = ('--endpoint', delete $o{endpoint} // endpoint(),
                '--bucket', delete $o{bucket} // $BUCKET, '--key', $key,
                '--access-key', delete $o{access_key} // $AKID,
                '--region', delete $o{region} // 'us-east-1');

    push @args, map { ("--$_", $o{$_}) } sort keys %o;

    local $ENV{SPECTRA_PRESIGN_SECRET} = $SECRET;

    return run("$ENV{SPECTRA_BUILD}/spectra-presign", @args);
}

# request_of("GET", url): the request line's part after the method.
sub request_of {
    my ($method, $url) = @_;

    $url =~ s{^https?://[^/]+}{} or die "not a URL: $url";

    return "$method $url";
}

# tamper(url, qr/.../, replacement): the URL with one change.
sub tamper {
    my ($url, $re, $with) = @_;

    $url =~ s/$re/$with/ or die "$re does not match $url";

    return $url;
}

1;
