# spectra-dataapi --export-retention-seconds: the local object store's
# lifecycle rule.  Objects older than the retention go, at start and then
# every retention / 10; newer ones, the export directory, the buckets and
# directories changed within the retention stay; symbolic links are
# removed, never followed.  Ages are hours away from the retention, so
# that nothing depends on how fast the test runs.

use strict;
use warnings;

use lib "$ENV{SPECTRA_REPO}/t/data/dataapi";
use DataAPI;
use File::Path qw(make_path);
use Test::More;

my $env = fixture_env();
my $port = ($ENV{SPECTRA_PORT_BASE} // 55400) + 40;
my $top = "/tmp/spectra-dataapi-test-$port";
my $root = "$top/objects";
my $b = "$root/spectra-exports/exports/tenant=acme";
my $old = time - 7200;
my $new = time + 86400;     # "changed within the retention" for the run

system('rm', '-rf', $root) == 0 or die "rm $root";
make_path("$b/job=old", "$b/job=new", "$b/job=mixed", "$b/job=empty-old",
          "$b/job=empty-new", "$root/spectra-imports");

sub put {
    my ($path, $bytes, $mtime) = @_;
    open my $fh, '>', $path or die "$path: $!";
    print $fh 'x' x $bytes;
    close $fh;
    utime $mtime, $mtime, $path or die "utime $path: $!";
}

put("$b/job=old/0000_part_00.gz", 100, $old);
put("$b/job=old/manifest", 20, $old);
put("$b/job=new/0000_part_00.gz", 1000, $new);
put("$b/job=mixed/0000_part_00.gz", 300, $old);
put("$b/job=mixed/0001_part_00.gz", 3000, $new);
put("$root/spectra-exports/loose-object", 5, $old);
put("$top/outside", 7, $old);
symlink "$top/outside", "$b/job=old/link" or die "symlink: $!";
system('touch', '-h', '-d', '@' . $old, "$b/job=old/link") == 0
    or die 'touch -h';
utime $new, $new, "$b/job=empty-new", "$b/job=new", "$b/job=mixed";
utime $old, $old, "$b/job=old", "$b/job=empty-old", $b,
      "$root/spectra-exports/exports", "$root/spectra-exports",
      "$root/spectra-imports";

my $d = start_daemon($port, '--export-dir', $root,
                     '--export-retention-seconds', '30');
END { stop_daemon($d) if defined $d }

sub sweeps {
    open my $fh, '<', $d->{log} or return ();
    return grep { /export sweep:/ } <$fh>;
}

sub wait_sweeps {
    my ($n) = @_;
    my @s;
    for (1 .. 300) {
        @s = sweeps();
        last if @s >= $n;
        select undef, undef, undef, 0.05;
    }
    return @s;
}

# at start: the three old objects, the link (not its target) and the
# loose object; job=old and job=empty-old, unchanged for two hours
my @s = wait_sweeps(1);
like $s[0], qr/export sweep: removed 5 objects \(\d+ bytes\) and 2 directories older than 30 s, 0 errors$/,
     'the first sweep runs at start and says what it removed';
my $bytes = 100 + 20 + 300 + 5 + length "$top/outside";
like $s[0], qr/\($bytes bytes\)/,
     'its bytes are those of the objects, the link counted as itself'
    or diag(`ls -lR $root`);

ok !-e "$b/job=old", 'an old export is gone, directory and all';
ok !-e "$b/job=empty-old", 'an old empty directory is gone';
ok !-e "$root/spectra-exports/loose-object", 'an old object above any prefix is gone';
ok -f "$top/outside", "the link's target outside the store stays";
ok -f "$b/job=new/0000_part_00.gz", 'a new export stays';
ok -d "$b/job=empty-new", 'a new empty directory stays (an UNLOAD may be filling it)';
ok !-e "$b/job=mixed/0000_part_00.gz", 'the old part of an export goes';
ok -f "$b/job=mixed/0001_part_00.gz", 'its new part stays';
ok -d "$root/spectra-imports" && -d "$root/spectra-exports",
   'buckets stay, even old and empty';
ok -d $root, 'the export directory stays';

# every 3 s (30 / 10) afterwards: an object that turns old goes
utime $old, $old, "$b/job=mixed/0001_part_00.gz";
@s = wait_sweeps(2);
like $s[1] // '', qr/export sweep: removed 1 objects \(3000 bytes\) and 0 directories/,
     'the next sweep removes what aged since';
ok !-e "$b/job=mixed/0001_part_00.gz", 'the aged part is gone';
ok -d "$b/job=mixed", 'its directory, changed by the sweep itself, waits for the next one';

is stop_daemon($d), 0, 'the daemon exits cleanly';

done_testing();
