#!/usr/bin/perl
# Regenerates t/data/auth/vectors.json, the JWT vectors of t/unit/test_jwt.c:
# tokens minted by Crypt::JWT (every algorithm) and the hostile corpus, all
# at a fixed "now" so that the unit test needs no clock.
# Usage: perl t/data/auth/gen-vectors.pl  (from the repository root)

use strict;
use warnings;

use FindBin ();
use lib "$FindBin::Bin/lib";

use JSON::PP ();
use SpectraAuth qw(ensure_keys corpus valid_tokens);

my $now = 1700000000;
my $dir = ensure_keys("$FindBin::Bin/keys");

my @valid = map { {name => $_->[0], token => $_->[1]} }
            valid_tokens($dir, $now);
my @hostile = map { {name => $_->[0], token => $_->[1], rc => $_->[2],
                     reason => $_->[3]} } corpus($dir, $now);

open my $fh, '>', "$FindBin::Bin/vectors.json" or die $!;
print $fh JSON::PP->new->canonical->pretty->encode(
    {now => $now, valid => \@valid, hostile => \@hostile});
close $fh;

printf "%d valid, %d hostile vectors\n", scalar @valid, scalar @hostile;
