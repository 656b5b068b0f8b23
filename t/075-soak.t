# make soak, short: the local stack of make run under bench/soak.py's
# mixed load (sync queries of three sizes, async queries polled to their
# results, job listings, exports downloaded, imports loaded, rejected
# keys) for 20 s; every answer must be the one expected, and nginx must
# log no alert. The 10-minute run and its RSS figures: make soak.
# Ports: base+45..47 (t/002's make run stack, which has stopped by now).
use strict;
use warnings;

use File::Temp qw(tempdir);
use Test::More;

my $repo = $ENV{SPECTRA_REPO}
    or die "SPECTRA_REPO is not set: run the suites with make test\n";
my $dir = tempdir(CLEANUP => 1);

$ENV{BUILD} = $ENV{SPECTRA_BUILD};
$ENV{SOAK_PORT_BASE} = $ENV{SPECTRA_PORT_BASE} + 45;
$ENV{SOAK_SECONDS} = 20;
$ENV{SOAK_WARMUP_SECONDS} = 5;
$ENV{SOAK_REPORT} = "$dir/soak.md";

my $out = `bash $repo/scripts/soak.sh 2>&1`;
is($?, 0, 'soak.sh: no unexpected answer, no alert') or diag($out);

open my $fh, '<', "$dir/soak.md" or die "no report: $out";
my $report = do { local $/; <$fh> };
like($report, qr/ 0 unexpected errors\./, 'the report says so');

# every kind of operation ran, each with its one expected status
my %want = (q1 => 200, q100 => 200, q10k => 200, async => 202,
            'async.poll' => 200, 'async.results' => 200, list => 200,
            export => 202, 'export.download' => 200, import => 201,
            'import.upload' => 201, 'import.complete' => 202,
            authfail => 401);
for my $op (sort keys %want) {
    like($report, qr/^\| \Q$op\E \| [1-9]\d* \| $want{$op}: [1-9]\d* \|/m,
         "$op ran and answered $want{$op} only");
}

like($report, qr/^\| nginx \| [1-9]\d* \|/m, "nginx's workers' RSS");
like($report, qr/^\| spectra-dataapi \| [1-9]\d* \|/m,
     "spectra-dataapi's RSS");

done_testing();
