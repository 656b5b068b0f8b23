package SpectraAuth;

# Test keys and tokens for Spectra's authentication tests: generates the
# throwaway key pairs (openssl), mints tokens with Crypt::JWT, and crafts
# the hostile corpus by hand.  Used by t/010-*.t .. t/019-*.t and by
# t/data/auth/gen-vectors.pl (the unit test vectors).

use strict;
use warnings;

use Exporter 'import';
use Crypt::JWT qw(encode_jwt);
use Crypt::PK::ECC ();
use Crypt::PK::RSA ();
use Digest::SHA qw(hmac_sha256 hmac_sha384);
use JSON::PP ();
use MIME::Base64 qw(encode_base64url decode_base64);

our @EXPORT_OK = qw(keys_dir ensure_keys slurp mint b64 raw_token corpus
                    valid_tokens);

our $Issuer = 'https://issuer.spectra.test';
our $Audience = 'spectra';

my $json = JSON::PP->new->canonical;

sub slurp {
    my ($path) = @_;
    open my $fh, '<:raw', $path or die "$path: $!";
    local $/;
    return scalar <$fh>;
}

sub keys_dir {
    my ($dir) = @_;
    return $dir;
}

sub run_openssl {
    my @args = @_;
    system('openssl', @args) == 0 or die "openssl @args failed";
}

# Creates the key files in $dir unless they exist (idempotent).
sub ensure_keys {
    my ($dir) = @_;

    mkdir $dir unless -d $dir;

    unless (-f "$dir/hs.secret") {
        open my $fh, '>', "$dir/hs.secret" or die $!;
        # 64 printable bytes: long enough for HS512
        print $fh join('', map { ('a'..'z', 'A'..'Z', 0..9)[rand 62] }
                           1 .. 64), "\n";
        close $fh;
    }

    for my $name (qw(rsa rsa-other rsa-jwks)) {
        next if -f "$dir/$name.key";
        run_openssl('genpkey', '-quiet', '-algorithm', 'RSA', '-pkeyopt',
                    'rsa_keygen_bits:2048', '-out', "$dir/$name.key");
    }

    my %curves = ('ec256' => 'P-256', 'ec384' => 'P-384', 'ec521' => 'P-521',
                  'ec-jwks' => 'P-256');

    for my $name (sort keys %curves) {
        next if -f "$dir/$name.key";
        run_openssl('genpkey', '-quiet', '-algorithm', 'EC', '-pkeyopt',
                    "ec_paramgen_curve:$curves{$name}", '-pkeyopt',
                    'ec_param_enc:named_curve', '-out', "$dir/$name.key");
    }

    for my $name (qw(rsa rsa-other rsa-jwks ec256 ec384 ec521 ec-jwks)) {
        next if -f "$dir/$name.pub";
        run_openssl('pkey', '-in', "$dir/$name.key", '-pubout', '-out',
                    "$dir/$name.pub");
    }

    unless (-f "$dir/rsa1024.pub") {
        # too small: the module must refuse it
        run_openssl('genpkey', '-quiet', '-algorithm', 'RSA', '-pkeyopt',
                    'rsa_keygen_bits:1024', '-out', "$dir/rsa1024.key");
        run_openssl('pkey', '-in', "$dir/rsa1024.key", '-pubout', '-out',
                    "$dir/rsa1024.pub");
        unlink "$dir/rsa1024.key";
    }

    unless (-f "$dir/rsa.pub.der") {
        run_openssl('pkey', '-in', "$dir/rsa.key", '-pubout', '-outform',
                    'DER', '-out', "$dir/rsa.pub.der");
    }

    unless (-f "$dir/jwks.json") {
        my $rsa = Crypt::PK::RSA->new("$dir/rsa-jwks.key");
        my $ec = Crypt::PK::ECC->new("$dir/ec-jwks.key");
        my $r = $rsa->export_key_jwk('public', 1);
        my $e = $ec->export_key_jwk('public', 1);
        $r->{kid} = 'jwks-rs';
        $r->{alg} = 'RS256';
        $r->{use} = 'sig';
        $e->{kid} = 'jwks-es';
        $e->{use} = 'sig';
        open my $fh, '>', "$dir/jwks.json" or die $!;
        print $fh $json->encode({keys => [$r, $e]}), "\n";
        close $fh;
    }

    return $dir;
}

sub hmac_secret {
    my ($dir) = @_;
    my $s = slurp("$dir/hs.secret");
    $s =~ s/\r?\n\z//;
    return $s;
}

sub b64 {
    return encode_base64url($_[0]);
}

# A token from explicit header and payload (hashes or raw strings) and a
# raw signature.
sub raw_token {
    my ($header, $payload, $sig) = @_;
    $header = $json->encode($header) if ref $header;
    $payload = $json->encode($payload) if ref $payload;
    return join '.', b64($header), b64($payload), b64($sig // '');
}

sub claims {
    my ($now, %over) = @_;
    my %c = (iss => $Issuer, aud => $Audience, tenant_id => 'acme',
             iat => $now, exp => $now + 3600,
             permissions => 'query bulk admin');
    while (my ($k, $v) = each %over) {
        if (defined $v) { $c{$k} = $v } else { delete $c{$k} }
    }
    return \%c;
}

my %keyfile = (
    HS => 'hs.secret',
    RS => 'rsa.key',
    ES256 => 'ec256.key', ES384 => 'ec384.key', ES512 => 'ec521.key',
);

my %kid = (HS => 'hs', RS => 'rs', ES256 => 'es256', ES384 => 'es384',
           ES512 => 'es521');

sub signing_key {
    my ($dir, $alg) = @_;
    my $fam = substr($alg, 0, 2);
    return hmac_secret($dir) if $fam eq 'HS';
    my $file = $fam eq 'RS' ? $keyfile{RS} : $keyfile{$alg};
    my $pem = slurp("$dir/$file");
    return \$pem;
}

sub kid_of {
    my ($alg) = @_;
    my $fam = substr($alg, 0, 2);
    return $fam eq 'ES' ? $kid{$alg} : $kid{$fam};
}

# Mints a token with Crypt::JWT.  %o: alg, kid (undef: none, default the
# alg's key), claims overrides (claims => {...}), key (override), header.
sub mint {
    my ($dir, $now, %o) = @_;
    my $alg = $o{alg} // 'HS256';
    my %hdr = %{ $o{header} // {} };
    $hdr{kid} = exists $o{kid} ? $o{kid} : kid_of($alg);
    delete $hdr{kid} unless defined $hdr{kid};
    return encode_jwt(payload => claims($now, %{ $o{claims} // {} }),
                      alg => $alg, key => $o{key} // signing_key($dir, $alg),
                      extra_headers => \%hdr);
}

# Every supported algorithm, signed by Crypt::JWT: [name, token].
sub valid_tokens {
    my ($dir, $now) = @_;
    my @t;
    for my $alg (qw(HS256 HS384 HS512 RS256 RS384 RS512 ES256 ES384 ES512)) {
        push @t, ["$alg with kid", mint($dir, $now, alg => $alg)];
    }
    push @t, ['HS256 without kid', mint($dir, $now, alg => 'HS256',
                                        kid => undef)];
    push @t, ['ES256 without kid', mint($dir, $now, alg => 'ES256',
                                        kid => undef)];
    my $rsj = slurp("$dir/rsa-jwks.key");
    my $ecj = slurp("$dir/ec-jwks.key");
    push @t, ['RS256 from the JWKS', mint($dir, $now, alg => 'RS256',
                                          kid => 'jwks-rs', key => \$rsj)];
    push @t, ['ES256 from the JWKS', mint($dir, $now, alg => 'ES256',
                                          kid => 'jwks-es', key => \$ecj)];
    push @t, ['aud as an array', mint($dir, $now,
                                      claims => {aud => ['x', $Audience]})];
    push @t, ['string permissions as an array',
              mint($dir, $now, claims => {permissions => ['query']})];
    return @t;
}

# The hostile corpus: [name, token, rc, reason] where rc is the core's
# result class and reason the logged reason.
sub corpus {
    my ($dir, $now) = @_;
    my @c;
    my $secret = hmac_secret($dir);
    my $pem = slurp("$dir/rsa.pub");
    my $der = slurp("$dir/rsa.pub.der");
    my $good = claims($now);
    my $hs = sub {
        my ($h, $p, $alg) = @_;
        my $in = b64(ref $h ? $json->encode($h) : $h) . '.'
                 . b64(ref $p ? $json->encode($p) : $p);
        my $f = ($alg // 'HS256') eq 'HS384' ? \&hmac_sha384 : \&hmac_sha256;
        return $in . '.' . b64($f->($in, $secret));
    };

    for my $none (qw(none None NONE nOnE)) {
        push @c, ["alg $none", raw_token({alg => $none}, $good, ''),
                  'BAD_HEADER', 'alg none'];
        push @c, ["alg $none with a signature",
                  $hs->({alg => $none, kid => 'hs'}, $good),
                  'BAD_HEADER', 'alg none'];
    }

    push @c, ['missing alg', $hs->({kid => 'hs', typ => 'JWT'}, $good),
              'BAD_HEADER', 'missing alg'];
    push @c, ['alg not a string', $hs->({alg => 256, kid => 'hs'}, $good),
              'BAD_HEADER', 'alg not a string'];
    push @c, ['alg in lower case', $hs->({alg => 'hs256', kid => 'hs'},
                                         $good),
              'BAD_HEADER', 'unsupported alg'];
    push @c, ['alg PS256 (not supported)',
              $hs->({alg => 'PS256', kid => 'hs'}, $good),
              'BAD_HEADER', 'unsupported alg'];

    # algorithm confusion: the RSA public key as an HMAC secret
    for my $v (['PEM', $pem], ['DER', $der]) {
        my $in = b64($json->encode({alg => 'HS256', kid => 'rs'})) . '.'
                 . b64($json->encode($good));
        push @c, ["HS256 signed with the RSA public key $v->[0], kid rs",
                  $in . '.' . b64(hmac_sha256($in, $v->[1])),
                  'NO_KEY', 'alg not allowed for key'];
        $in = b64($json->encode({alg => 'HS256'})) . '.'
              . b64($json->encode($good));
        push @c, ["HS256 signed with the RSA public key $v->[0], no kid",
                  $in . '.' . b64(hmac_sha256($in, $v->[1])),
                  'BAD_SIGNATURE', 'bad signature'];
    }

    # ES384 relabel: signed with the P-256 key
    my $ec256 = slurp("$dir/ec256.key");
    {
        my $t = encode_jwt(payload => $good, alg => 'ES256', key => \$ec256,
                           extra_headers => {kid => 'es256'});
        my (undef, $p, $s) = split /\./, $t;
        my $h = b64($json->encode({alg => 'ES384', kid => 'es256'}));
        push @c, ['ES384 header on a P-256 key (kid es256)', "$h.$p.$s",
                  'NO_KEY', 'alg not allowed for key'];
        $h = b64($json->encode({alg => 'ES384'}));
        push @c, ['ES384 header on a P-256 signature, no kid', "$h.$p.$s",
                  'BAD_SIGNATURE', 'bad signature'];
        # the same signature as OpenSSL's DER form: JWS wants R||S
        my $in = b64($json->encode({alg => 'ES256', kid => 'es256'})) . '.'
                 . $p;
        my $der = Crypt::PK::ECC->new(\$ec256)->sign_message($in, 'SHA256');
        push @c, ['ES256 signature in DER instead of R||S',
                  "$in." . b64($der), 'BAD_SIGNATURE', 'bad signature'];
    }

    {
        my $t = $hs->({alg => 'HS256', kid => 'hs'}, $good);
        my (undef, $p, $s) = split /\./, $t;
        my $h = b64($json->encode({alg => 'RS256', kid => 'hs'}));
        push @c, ['RS256 header on an HMAC signature (kid hs)', "$h.$p.$s",
                  'NO_KEY', 'alg not allowed for key'];
        $h = b64($json->encode({alg => 'RS256'}));
        push @c, ['RS256 header on an HMAC signature, no kid', "$h.$p.$s",
                  'BAD_SIGNATURE', 'bad signature'];
    }

    push @c, ['unknown kid', $hs->({alg => 'HS256', kid => 'nope'}, $good),
              'NO_KEY', 'unknown kid'];
    push @c, ['kid naming a key of another algorithm',
              mint($dir, $now, alg => 'RS256', kid => 'hs'),
              'NO_KEY', 'alg not allowed for key'];
    push @c, ['kid not a string', $hs->({alg => 'HS256', kid => 1}, $good),
              'BAD_HEADER', 'kid not a string'];
    push @c, ['path-like kid', $hs->({alg => 'HS256',
                                      kid => '../../../../dev/null'}, $good),
              'NO_KEY', 'unknown kid'];
    push @c, ['quoted kid', $hs->({alg => 'HS256', kid => '"hs"'}, $good),
              'NO_KEY', 'unknown kid'];
    push @c, ['kid with a NUL-free SQL quote',
              $hs->({alg => 'HS256', kid => "hs' OR '1'='1"}, $good),
              'NO_KEY', 'unknown kid'];

    push @c, ['expired', mint($dir, $now, claims => {exp => $now - 1}),
              'BAD_CLAIMS', 'expired'];
    push @c, ['expires right now', mint($dir, $now, claims => {exp => $now}),
              'BAD_CLAIMS', 'expired'];
    push @c, ['missing exp', mint($dir, $now, claims => {exp => undef}),
              'BAD_CLAIMS', 'missing exp'];
    push @c, ['exp as a string',
              mint($dir, $now, claims => {exp => '' . ($now + 3600)}),
              'BAD_CLAIMS', 'exp not numeric'];
    push @c, ['exp as a boolean', $hs->({alg => 'HS256', kid => 'hs'},
              '{"exp":true,"tenant_id":"acme"}'),
              'BAD_CLAIMS', 'exp not numeric'];
    push @c, ['nbf in the future',
              mint($dir, $now, claims => {nbf => $now + 600}),
              'BAD_CLAIMS', 'not yet valid (nbf)'];
    push @c, ['nbf not numeric', mint($dir, $now, claims => {nbf => 'now'}),
              'BAD_CLAIMS', 'nbf not numeric'];
    push @c, ['iat far in the future',
              mint($dir, $now, claims => {iat => $now + 86400 * 365}),
              'BAD_CLAIMS', 'iat in the future'];
    push @c, ['wrong iss', mint($dir, $now,
                                claims => {iss => 'https://evil.test'}),
              'BAD_CLAIMS', 'wrong issuer'];
    push @c, ['missing iss', mint($dir, $now, claims => {iss => undef}),
              'BAD_CLAIMS', 'missing iss'];
    push @c, ['wrong aud', mint($dir, $now, claims => {aud => 'other'}),
              'BAD_CLAIMS', 'wrong audience'];
    push @c, ['wrong aud array',
              mint($dir, $now, claims => {aud => ['a', 'b']}),
              'BAD_CLAIMS', 'wrong audience'];
    push @c, ['missing aud', mint($dir, $now, claims => {aud => undef}),
              'BAD_CLAIMS', 'missing aud'];

    {
        my $t = mint($dir, $now, alg => 'RS256');
        my ($h, $p, $s) = split /\./, $t;
        my $evil = b64($json->encode(claims($now, tenant_id => 'globex')));
        push @c, ['tampered payload', "$h.$evil.$s", 'BAD_SIGNATURE',
                  'bad signature'];
        my $sig = MIME::Base64::decode_base64url($s);
        substr($sig, 10, 1) = chr(ord(substr($sig, 10, 1)) ^ 1);
        push @c, ['tampered signature', "$h.$p." . b64($sig),
                  'BAD_SIGNATURE', 'bad signature'];
        push @c, ['stripped signature', "$h.$p.", 'MALFORMED',
                  'missing signature'];
        push @c, ['stripped signature and dot', "$h.$p", 'MALFORMED',
                  'not three segments'];
        push @c, ['extra segment', "$h.$p.$s.$s", 'MALFORMED',
                  'not three segments'];
        push @c, ['JWE-like five segments', "$h.$p.$s.$s.$s", 'MALFORMED',
                  'not three segments'];
        push @c, ['padded base64', "$h.$p.$s" . '==', 'MALFORMED',
                  'signature not base64url'];
        push @c, ['standard base64 alphabet',
                  "$h.$p." . ($s =~ tr/-_/+\//r) . ($s =~ /[-_]/ ? '' : '+'),
                  'MALFORMED', 'signature not base64url'];
        push @c, ['space in the header', " $h.$p.$s", 'MALFORMED',
                  'header not base64url'];
    }

    {
        # non-canonical base64url: unused bits set in the last character
        my $t = $hs->({alg => 'HS256', kid => 'hs'}, $good);
        my ($h, $p, $s) = split /\./, $t;
        # a 32-byte HMAC is 43 characters, the last one carries 2 zero bits
        my $last = substr($s, -1);
        my $alpha = join '', 'A'..'Z', 'a'..'z', 0..9, '-', '_';
        my $i = index($alpha, $last);
        substr($s, -1) = substr($alpha, $i | 1, 1);
        push @c, ['base64url with stray bits', "$h.$p.$s", 'MALFORMED',
                  'signature not base64url'];
    }

    push @c, ['payload not JSON', $hs->({alg => 'HS256', kid => 'hs'},
                                        'not json at all'),
              'MALFORMED', 'payload not a JSON object'];
    push @c, ['payload a JSON array', $hs->({alg => 'HS256', kid => 'hs'},
                                            '[1,2,3]'),
              'MALFORMED', 'payload not a JSON object'];
    push @c, ['payload a JSON string', $hs->({alg => 'HS256', kid => 'hs'},
                                             '"acme"'),
              'MALFORMED', 'payload not a JSON object'];
    push @c, ['payload with a duplicate member',
              $hs->({alg => 'HS256', kid => 'hs'},
                    '{"exp":' . ($now + 60) . ',"tenant_id":"acme",'
                    . '"tenant_id":"globex"}'),
              'MALFORMED', 'payload not a JSON object'];
    push @c, ['header not JSON', $hs->('{alg:HS256}', $good),
              'MALFORMED', 'header not a JSON object'];
    push @c, ['header a JSON array', $hs->('["HS256"]', $good),
              'MALFORMED', 'header not a JSON object'];
    push @c, ['header with a duplicate alg',
              $hs->('{"alg":"HS256","alg":"none","kid":"hs"}', $good),
              'MALFORMED', 'header not a JSON object'];
    push @c, ['crit header', $hs->({alg => 'HS256', kid => 'hs',
                                    crit => ['exp'], exp => 1}, $good),
              'BAD_HEADER', 'crit header not supported'];
    push @c, ['b64 false with crit',
              $hs->({alg => 'HS256', kid => 'hs', b64 => JSON::PP::false,
                     crit => ['b64']}, $good),
              'BAD_HEADER', 'crit header not supported'];
    for my $ref (qw(jku x5u)) {
        push @c, ["$ref header", $hs->({alg => 'HS256', kid => 'hs',
                                        $ref => 'http://127.0.0.1:1/keys'},
                                       $good),
                  'BAD_HEADER',
                  'key reference header (jku, x5u, jwk, x5c) not accepted'];
    }
    {
        my $attacker = Crypt::PK::ECC->new;
        $attacker->generate_key('secp256r1');
        my $jwk = $attacker->export_key_jwk('public', 1);
        push @c, ['embedded jwk header',
                  encode_jwt(payload => $good, alg => 'ES256',
                             key => $attacker,
                             extra_headers => {jwk => $jwk}),
                  'BAD_HEADER',
                  'key reference header (jku, x5u, jwk, x5c) not accepted'];
        push @c, ['embedded x5c header',
                  $hs->({alg => 'HS256', kid => 'hs', x5c => ['MIIB']},
                        $good),
                  'BAD_HEADER',
                  'key reference header (jku, x5u, jwk, x5c) not accepted'];
        push @c, ['ES256 by an unknown key without kid',
                  encode_jwt(payload => $good, alg => 'ES256',
                             key => $attacker),
                  'BAD_SIGNATURE', 'bad signature'];
    }

    push @c, ['oversized token',
              mint($dir, $now, claims => {pad => 'x' x 9000}),
              'MALFORMED', 'token too large'];

    my $other = slurp("$dir/rsa-other.key");
    push @c, ['signed by another key with a known kid',
              mint($dir, $now, alg => 'RS256', kid => 'rs', key => \$other),
              'BAD_SIGNATURE', 'bad signature'];
    push @c, ['signed by another key with the JWKS kid',
              mint($dir, $now, alg => 'RS256', kid => 'jwks-rs',
                   key => \$other),
              'BAD_SIGNATURE', 'bad signature'];
    push @c, ['HS256 with another secret',
              mint($dir, $now, alg => 'HS256', key => 'y' x 64),
              'BAD_SIGNATURE', 'bad signature'];
    {
        my ($h, $p, $s) = split /\./, mint($dir, $now, alg => 'HS256');
        my $short = substr(MIME::Base64::decode_base64url($s), 0, 16);
        push @c, ['HS256 signature truncated to 16 bytes',
                  "$h.$p." . b64($short), 'BAD_SIGNATURE', 'bad signature'];
    }
    push @c, ['empty token', '', 'MALFORMED', 'empty token'];

    return @c;
}

1;
