package SpectraMetrics;

# The metrics and readiness suites (t/085-metrics.t, t/086-ready.t):
# scraping the block's spectra_metrics location, reading the Prometheus
# text into a hash, promtool's verdict on it, and a process that holds
# the job store's write lock.

use strict;
use warnings;

use Exporter 'import';
use File::Temp qw(tempfile);
use IPC::Open2 qw(open2);
use SpectraQuery qw(http);

our @EXPORT_OK = qw(scrape samples value promtool lock_store unlock_store);


# scrape([uri]): the text the block's nginx serves at /metrics.
sub scrape {
    my ($uri) = @_;
    my ($status, $text) = http('GET', $uri // '/metrics');

    die "GET /metrics answered $status: $text\n" if $status != 200;
    return $text;
}


# samples(text): { 'name{label="value",...}' => value }, labels as
# written (the module writes them in a fixed order).
sub samples {
    my ($text) = @_;
    my %s;

    for my $line (split /\n/, $text) {
        next if $line =~ /^#/ || $line eq '';
        my ($series, $v) = $line =~ /^(\S+(?:\{.*\})?) (\S+)$/
            or die "not a sample line: $line\n";
        $s{$series} = $v;
    }

    return \%s;
}


# value(samples, 'name{...}'): the sample, 0 when the series is absent
# (counters appear with their first increment).
sub value {
    my ($s, $series) = @_;
    return $s->{$series} // 0;
}


# promtool(text): (exit status, output) of "promtool check metrics".
sub promtool {
    my ($text) = @_;
    my ($fh, $file) = tempfile('spectra-metrics-XXXXXX', TMPDIR => 1,
                               UNLINK => 1);

    print {$fh} $text;
    close $fh;

    my $out = `promtool check metrics < $file 2>&1`;
    die "promtool did not run: $!\n" if $? == -1;

    return ($? >> 8, $out);
}


# lock_store(path): a child process holds the SQLite file's write lock
# (BEGIN EXCLUSIVE) until unlock_store(); returns once it holds it.
my ($locker_pid, $locker_in, $locker_out);

sub lock_store {
    my ($path) = @_;
    my $code = <<'PY';
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=10)
db.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
sys.stdin.read()
db.execute("ROLLBACK")
PY

    unlock_store();
    $locker_pid = open2($locker_out, $locker_in, '/usr/bin/python3', '-c',
                        $code, $path);
    my $line = <$locker_out>;
    die "the store locker did not lock $path\n"
        unless defined $line && $line eq "locked\n";
}

sub unlock_store {
    return unless $locker_pid;
    close $locker_in;
    waitpid $locker_pid, 0;
    close $locker_out;
    $locker_pid = undef;
}

END { unlock_store() }

1;
