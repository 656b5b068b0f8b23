package SpectraLogArchive;

# Keeps every block's nginx logs for t/099-logs-keep-no-secrets.t: before
# the harness empties the servroot for the next block (a block
# preprocessor) and when the suite ends (END), servroot/logs/error.log and
# access.log are appended to $TEST_NGINX_LOG_ARCHIVE and emptied.  Done
# here rather than in a runner so that it works the same under the real
# Test::Nginx and the project's runner.  Without TEST_NGINX_LOG_ARCHIVE it
# does nothing.
#
#   use Test::Nginx::Socket 'no_plan';
#   use SpectraLogArchive;

use strict;
use warnings;

use Test::Nginx::Util ();

sub archive {
    my $archive = $ENV{TEST_NGINX_LOG_ARCHIVE} or return;
    my $logs = "$Test::Nginx::Util::ServRoot/logs";

    for my $log ("$logs/error.log", "$logs/access.log") {
        next unless -s $log;

        open my $in, '<', $log or next;
        open my $out, '>>', $archive or die "$archive: $!";
        print {$out} "### $0 $log\n";
        while (my $line = <$in>) {
            print {$out} $line;
        }
        close $out;
        close $in;

        # a second archive() (the next suite's first block) adds nothing
        open my $trunc, '>', $log;
        close $trunc if $trunc;
    }
}

Test::Nginx::Util::add_block_preprocessor(sub { archive() });

END {
    archive();
}

1;
