package Test::Nginx::Util;

# Settings, nginx.conf generation and nginx process management for Spectra's
# Test::Nginx::Socket-compatible runner (see docs/testing.md).

use strict;
use warnings;

use Exporter 'import';
use File::Basename qw(dirname);
use File::Path qw(make_path remove_tree);
use File::Spec ();
use POSIX qw(WNOHANG);
use Test::More ();
use Time::HiRes qw(sleep time);

# What the real Test::Nginx::Util exports (of what this runner has); the
# rest is for Test::Nginx::Socket, on request.
our @EXPORT = qw(
    repeat_each no_shuffle no_long_string no_root_location log_level
    master_on master_off master_process_enabled workers worker_connections
    env_to_nginx add_block_preprocessor server_name server_addr html_dir
    server_root server_port server_port_for_client timeout config_preamble
    bail_out add_cleanup_handler
    expand_env_in_text parse_time parse_headers error_log_data
    setup_server_root write_config_file get_nginx_version
    $ServerPort $ServerPortForClient $ServerAddr $ServerName $ServRoot
    $ConfFile $PidFile $NginxVersion $RepeatEach $NoLongString
);

our @EXPORT_OK = qw(
    cleanup write_user_files start_nginx stop_nginx nginx_is_running
    describe_status
    $HtmlDir $LogDir $ErrLogFile $AccLogFile $ConfDir $NginxBinary
    $LogLevel $NoShuffle $NoRootLocation $UseValgrind $Timeout
    @BlockPreprocessors
);

our $ServerAddr = '127.0.0.1';
our $ServerName = 'localhost';
our $ServerPort = $ENV{TEST_NGINX_SERVER_PORT} || $ENV{TEST_NGINX_PORT}
                  || 1984;
our $ServerPortForClient = $ServerPort;

our $ServRoot = File::Spec->rel2abs($ENV{TEST_NGINX_SERVROOT}
                                    || 't/servroot');
$ServRoot =~ s{/+$}{};

our $HtmlDir    = "$ServRoot/html";
our $LogDir     = "$ServRoot/logs";
our $ErrLogFile = "$LogDir/error.log";
our $AccLogFile = "$LogDir/access.log";
our $ConfDir    = "$ServRoot/conf";
our $ConfFile   = "$ConfDir/nginx.conf";
our $PidFile    = "$LogDir/nginx.pid";
our $ValgrindLog = "$LogDir/valgrind.log";
our $StartLog   = "$LogDir/nginx-start.log";

our $NginxBinary = $ENV{TEST_NGINX_BINARY} || '/usr/sbin/nginx';
our $NginxVersion;
our $LogLevel = $ENV{TEST_NGINX_LOG_LEVEL} || 'debug';
our $LoadModules = $ENV{TEST_NGINX_LOAD_MODULES} || '';
our $UseValgrind = $ENV{TEST_NGINX_USE_VALGRIND} || '';
our $Timeout = $ENV{TEST_NGINX_TIMEOUT} || 3;
our $WorkerUser = $ENV{TEST_NGINX_WORKER_USER};
our $ValgrindSuppress = $ENV{TEST_NGINX_VALGRIND_SUPPRESS}
    || File::Spec->rel2abs(dirname(__FILE__) . '/../../../valgrind.suppress');

our $RepeatEach = 1;
our $NoShuffle = $ENV{TEST_NGINX_NO_SHUFFLE} || 0;
our $NoLongString = 0;
our $NoRootLocation = 0;
our $MasterProcessEnabled = 'off';
our $Workers = 1;
our $WorkerConnections = 64;
our $ConfigPreamble = '';
our @EnvToNginx;
our @BlockPreprocessors;
our @CleanupHandlers;

# Built-in $TEST_NGINX_* variables, always derived from the settings above
# so that a child run with other settings never sees stale values.  The
# real harness defines only SERVER_PORT and SERVER_ROOT itself (PORT and
# SERVROOT are what both read); there is no TEST_NGINX_HTML_DIR.
$ENV{TEST_NGINX_SERVER_PORT} = $ServerPort;
$ENV{TEST_NGINX_PORT}        = $ServerPort;
$ENV{TEST_NGINX_SERVER_ROOT} = $ServRoot;
$ENV{TEST_NGINX_SERVROOT}    = $ServRoot;

if (defined $WorkerUser && $WorkerUser !~ /^\w[-\w]*(?:\s+\w[-\w]*)?$/) {
    die "Bad value in the env TEST_NGINX_WORKER_USER: $WorkerUser\n";
}

# The running nginx, always our child.
my $NginxPid;
my $ErrLogPos = 0;


sub repeat_each {
    if (@_) {
        $RepeatEach = shift;
    }

    return $RepeatEach;
}


sub no_shuffle {
    $NoShuffle = 1;
}


sub no_long_string {
    $NoLongString = 1;
}


sub no_root_location {
    $NoRootLocation = 1;
}


sub log_level {
    if (@_) {
        $LogLevel = shift;
    }

    return $LogLevel;
}


sub master_on {
    $MasterProcessEnabled = 'on';
}


sub master_off {
    $MasterProcessEnabled = 'off';
}


sub master_process_enabled {
    if (@_) {
        $MasterProcessEnabled = shift() ? 'on' : 'off';
    }

    return $MasterProcessEnabled;
}


sub workers {
    if (@_) {
        $Workers = shift;
    }

    return $Workers;
}


sub worker_connections {
    if (@_) {
        $WorkerConnections = shift;
    }

    return $WorkerConnections;
}


sub env_to_nginx {
    push @EnvToNginx, @_;
}


# as the real one: the last added runs first
sub add_block_preprocessor {
    unshift @BlockPreprocessors, @_;
}


# Run at the end in the reverse order of their adding, as the real
# harness does; also when the test script dies (END below).
sub add_cleanup_handler {
    unshift @CleanupHandlers, @_;
}


sub server_name {
    if (@_) {
        $ServerName = shift;
    }

    return $ServerName;
}


sub server_addr {
    return $ServerAddr;
}


sub html_dir {
    return $HtmlDir;
}


sub server_root {
    return $ServRoot;
}


sub server_port {
    if (@_) {
        $ServerPort = shift;
        $ServerPortForClient = $ServerPort;
        $ENV{TEST_NGINX_SERVER_PORT} = $ServerPort;
        $ENV{TEST_NGINX_PORT} = $ServerPort;
    }

    return $ServerPort;
}


sub server_port_for_client {
    return $ServerPortForClient;
}


sub timeout {
    if (@_) {
        $Timeout = shift;
    }

    return $Timeout;
}


sub config_preamble {
    if (@_) {
        $ConfigPreamble = shift;
    }

    return $ConfigPreamble;
}


# End of the run (or bail out): stop nginx, then the cleanup handlers, once.
sub cleanup {
    my @handlers = @CleanupHandlers;

    @CleanupHandlers = ();
    stop_nginx();

    for my $hdl (@handlers) {
        $hdl->();
    }
}


# Abort the whole run, like the real harness does for setup errors.
sub bail_out {
    my $msg = join '', @_;

    cleanup();
    Test::More::BAIL_OUT($msg);
}


# Replace $TEST_NGINX_FOO with $ENV{TEST_NGINX_FOO}; an undefined one aborts.
sub expand_env_in_text {
    my ($text, $name) = @_;

    if (!defined $text) {
        return undef;
    }

    if (ref $text eq 'ARRAY') {
        return [map { ref $_ ? $_ : expand_env_in_text($_, $name) } @$text];
    }

    if (ref $text) {
        return $text;
    }

    $text =~ s{\$(TEST_NGINX_[_A-Z0-9]+)}{
        if (!defined $ENV{$1}) {
            bail_out("$name - No environment $1 defined.\n");
        }
        $ENV{$1};
    }ge;

    return $text;
}


# "500ms" -> 0.5, "2s" / "2" -> 2
sub parse_time {
    my ($tm) = @_;

    if (!defined $tm) {
        return undef;
    }

    $tm =~ s/^\s+|\s+$//g;

    if ($tm =~ /^([\d.]+)ms$/) {
        return $1 / 1000;
    }

    if ($tm =~ /^([\d.]+)s?$/) {
        return $1;
    }

    return $tm;
}


# "Name: value" per line; "!Name" maps Name to undef (header must be absent).
sub parse_headers {
    my ($s) = @_;
    my (%headers, @order);

    for my $line (split /\n/, $s // '') {
        $line =~ s/^\s+|\s+$//g;
        next if $line eq '';

        my $key;
        if ($line =~ s/^!\s*//) {
            $key = $line;
            $headers{$key} = undef;

        } else {
            my $val;
            ($key, $val) = split /\s*:\s*/, $line, 2;
            $headers{$key} = $val // '';
        }

        push @order, $key;
    }

    return (\%headers, \@order);
}


# Error log lines written since the previous call (or since nginx started).
sub error_log_data {
    my ($in, @lines);

    if (!open $in, '<', $ErrLogFile) {
        return [];
    }

    seek $in, $ErrLogPos, 0;
    @lines = <$in>;
    $ErrLogPos = tell $in;
    close $in;

    return \@lines;
}


sub get_nginx_version {
    my ($out, $v);

    if (!-x $NginxBinary) {
        bail_out("Cannot run the nginx binary $NginxBinary "
                 . "(set TEST_NGINX_BINARY)\n");
    }

    $out = `$NginxBinary -v 2>&1`;
    if ($out =~ m{nginx/(\d+)\.(\d+)\.(\d+)}) {
        $v = sprintf '%d.%03d%03d', $1, $2, $3;
    }

    $NginxVersion = $v;
    return $v;
}


# Remove what a previous block left, as the real harness does: conf/,
# html/, logs/, *_temp and *_cache go; anything else in the servroot (a
# file nginx wrote outside those, e.g. a relative spectra_jobs_db) stops
# the run, since it would survive into the next block.
sub setup_server_root {
    my $dir;

    if (-d $ServRoot) {
        remove_tree($ConfDir, $HtmlDir, $LogDir, glob("$ServRoot/*_temp"),
                    glob("$ServRoot/*_cache"));

        if (!rmdir $ServRoot) {
            bail_out("Can't remove $ServRoot (not empty?): $!\n");
        }
    }

    for $dir ($ServRoot, $ConfDir, $HtmlDir, $LogDir) {
        make_path($dir);
        if (!-d $dir) {
            bail_out("Cannot create directory $dir\n");
        }
    }

    $ErrLogPos = 0;
}


# ">>> name" starts a file under html/ (or an absolute path); or an array
# of [name, body] pairs from "--- user_files eval".
sub write_user_files {
    my ($block, $name) = @_;
    my ($files, $raw, $fname, $body, $path, $out);

    $files = $block->user_files;
    if (!defined $files) {
        return;
    }

    if (!ref $files) {
        $raw = $files;
        $files = [];

        for my $line (split /^/, $raw) {
            if ($line =~ /^>>> (\S+)/) {
                if (defined $fname) {
                    push @$files, [$fname, $body];
                }

                $fname = $1;
                $body = '';

            } elsif (defined $fname) {
                $body .= $line;
            }
        }

        if (defined $fname) {
            push @$files, [$fname, $body];
        }

    } elsif (ref $files ne 'ARRAY') {
        bail_out("$name - user_files must be a string or an array\n");
    }

    for my $file (@$files) {
        ($fname, $body) = @$file;
        $path = $fname =~ m{^/} ? $fname : "$HtmlDir/$fname";

        make_path(dirname($path));

        $body = expand_env_in_text($body // '', $name);

        open $out, '>', $path
            or bail_out("$name - Cannot write $path: $!\n");
        binmode $out;
        print $out $body;
        close $out;
    }
}


sub write_config_file {
    my ($block, $config, $name) = @_;
    my ($http_config, $main_config, $level, $conf, $out, $root, $user);
    my ($daemon, $master, $temp);

    $http_config = expand_env_in_text($block->http_config // '', $name);
    $main_config = expand_env_in_text($block->main_config // '', $name);
    $level = $block->log_level || $LogLevel;
    $level =~ s/^\s+|\s+$//g;

    # nginx runs as our foreground child, see start_nginx()
    $daemon = 'off';
    $master = $UseValgrind ? 'off' : $MasterProcessEnabled;

    $conf = "# generated by t/lib/Test/Nginx/Util.pm for $name\n";

    # load_module must precede the directives the module provides
    for my $mod (grep { $_ ne '' } split /\s+/, $LoadModules) {
        $conf .= "load_module $mod;\n";
    }

    $conf .= <<"_EOC_";
worker_processes  $Workers;
daemon $daemon;
master_process $master;
error_log $ErrLogFile $level;
pid       $PidFile;
_EOC_

    # As root with a master process, workers would run as nobody and could
    # not read servroot; the real harness writes "user root;" as well.
    if (defined $WorkerUser) {
        $user = $WorkerUser;

    } elsif ($> == 0) {
        $user = 'root';
    }

    if (defined $user) {
        $conf .= "user $user;\n";
    }

    for my $v (@EnvToNginx) {
        $conf .= $v =~ /\s/ ? "env '$v';\n" : "env $v;\n";
    }

    $temp = '';
    for my $t (qw(client_body proxy fastcgi scgi uwsgi)) {
        next if $http_config =~ /\b${t}_temp_path\b/;
        $temp .= "    ${t}_temp_path $ServRoot/${t}_temp;\n";
    }

    $root = '';
    if (!$NoRootLocation) {
        $root = <<"_EOC_";
        location / {
            root $HtmlDir;
            index index.html index.htm;
        }
_EOC_
    }

    $conf .= <<"_EOC_";

$main_config

events {
    accept_mutex off;
    worker_connections  $WorkerConnections;
}

http {
    access_log $AccLogFile;
$temp
    default_type text/plain;
    keepalive_timeout  68;

$http_config

    server {
        listen          $ServerAddr:$ServerPort;
        server_name     '$ServerName';
        client_max_body_size 30M;

$ConfigPreamble
        # begin test case config
$config
        # end test case config

$root    }
}
_EOC_

    open $out, '>', $ConfFile
        or bail_out("$name - Cannot write $ConfFile: $!\n");
    print $out $conf;
    close $out;
}


sub read_file {
    my ($path) = @_;
    my ($in, $data);

    if (!open $in, '<', $path) {
        return '';
    }

    local $/;
    $data = <$in>;
    close $in;

    return $data // '';
}


sub pid_from_pidfile {
    my $pid = read_file($PidFile);

    if ($pid =~ /^(\d+)/) {
        return $1;
    }

    return undef;
}


sub valgrind_command {
    my @cmd = ('valgrind', '-q', '--tool=memcheck', '--leak-check=full',
               '--show-leak-kinds=definite',
               '--errors-for-leak-kinds=definite', '--error-exitcode=99',
               '--num-callers=30', "--log-file=$ValgrindLog");

    if (-f $ValgrindSuppress) {
        push @cmd, "--suppressions=$ValgrindSuppress";
    }

    # a non-numeric TEST_NGINX_USE_VALGRIND carries extra valgrind options
    if ($UseValgrind !~ /^\d+$/) {
        push @cmd, split /\s+/, $UseValgrind;
    }

    return @cmd;
}


# Start nginx for the current block as our foreground child ("daemon off",
# so we can reap it: a daemon would be left to init).  Ready means the pid
# file names our child, which nginx writes after binding its sockets; no
# probe connection, so the error log holds only the block's own requests.
# Returns a hash: ok (it runs), status (exit status if it died), output.
sub start_nginx {
    my ($name) = @_;
    my (@cmd, $pid, $deadline, $status);

    @cmd = ($NginxBinary, '-p', "$ServRoot/", '-c', $ConfFile,
            '-e', $ErrLogFile);

    if ($UseValgrind) {
        unlink $ValgrindLog;
        @cmd = (valgrind_command(), @cmd);
    }

    $pid = fork();
    if (!defined $pid) {
        bail_out("$name - fork failed: $!\n");
    }

    if ($pid == 0) {
        # e.g. libasan.so for nginx only, not for perl
        if (defined $ENV{TEST_NGINX_LD_PRELOAD}) {
            $ENV{LD_PRELOAD} = $ENV{TEST_NGINX_LD_PRELOAD};
        }

        open STDIN, '<', '/dev/null';
        open STDOUT, '>', '/dev/null';
        open STDERR, '>', $StartLog;
        exec @cmd or POSIX::_exit(127);
    }

    $deadline = time + ($UseValgrind ? 120 : 10);
    while (time < $deadline) {
        if (waitpid($pid, WNOHANG) == $pid) {
            $status = $?;
            return { ok => 0, status => $status,
                     output => read_file($StartLog)
                               . read_file($ValgrindLog) };
        }

        if ((pid_from_pidfile() // 0) == $pid) {
            $NginxPid = $pid;
            return { ok => 1, status => 0, output => read_file($StartLog) };
        }

        sleep 0.01;
    }

    kill 'KILL', $pid;
    waitpid $pid, 0;

    return { ok => 0, status => -1,
             output => "nginx did not write $PidFile in time\n"
                       . read_file($StartLog) };
}


sub nginx_is_running {
    return defined $NginxPid;
}


# Stop nginx: QUIT (graceful), KILL after 10 s (120 s under valgrind, whose
# leak check runs at exit, slowly on a loaded machine).  Returns a report, '' when all went well: a
# crash or kill during the block, or valgrind errors / definite leaks.
sub stop_nginx {
    my ($pid, $deadline, $status, $report, $r, $lines);

    $pid = $NginxPid;
    if (!defined $pid) {
        return '';
    }

    undef $NginxPid;

    kill 'QUIT', $pid;

    $deadline = time + ($UseValgrind ? 120 : 10);
    for ( ;; ) {
        $r = waitpid $pid, WNOHANG;
        if ($r == $pid || $r == -1) {
            $status = $?;
            last;
        }

        if (time >= $deadline) {
            warn "WARNING: nginx $pid did not quit gracefully (state "
                 . proc_state($pid) . "), killing it\n";
            kill 'KILL', $pid;
            waitpid $pid, 0;
            $status = $?;
            last;
        }

        sleep 0.01;
    }

    # QUIT makes nginx exit 0 (valgrind: 99 on errors); anything else
    # means it crashed or was killed during the block
    if ($status != 0 && !($UseValgrind && $status == 99 << 8)) {
        $report = 'nginx did not exit cleanly: ' . describe_status($status)
                  . "\n";
        if ($UseValgrind) {
            $report .= read_file($ValgrindLog);
        }

        # nginx points its stderr at the error log: sanitizer reports land
        # there
        $lines = [grep { !m{^\d+/\d+/\d+ [\d:]+ \[debug\]} }
                  @{ error_log_data() }];
        if (@$lines) {
            $report .= "error log since the last check, without debug:\n"
                       . join '', @$lines[($#$lines > 60 ? $#$lines - 60 : 0)
                                          .. $#$lines];
        }

        return $report;
    }

    if (!$UseValgrind) {
        return '';
    }

    $report = read_file($ValgrindLog);
    if (($status >> 8) == 99 || $report =~ /\S/) {
        return "valgrind reported errors:\n"
               . ($report eq '' ? "valgrind exit status 99\n" : $report);
    }

    return '';
}


# "S (sleeping) in ep_poll": why a process did not react, for diagnostics.
sub proc_state {
    my ($pid) = @_;
    my ($state, $wchan);

    ($state) = read_file("/proc/$pid/status") =~ /^State:\s*(.*)$/m;
    $wchan = read_file("/proc/$pid/wchan");

    return ($state // '?') . ' in ' . ($wchan || '?');
}


sub describe_status {
    my ($status) = @_;

    if ($status < 0) {
        return 'not started';
    }

    if ($status & 127) {
        return 'killed by signal ' . ($status & 127)
               . ($status & 128 ? ' (core dumped)' : '');
    }

    return 'exit status ' . ($status >> 8);
}


# the process that loaded the runner: a child a suite forks must not
# stop nginx or run the cleanup handlers when it exits
my $MainPid = $$;

END {
    # keep the test script's exit status
    local $?;

    # a script that died still stops what its handlers would (a second
    # nginx, a mock server), as the real harness's END does
    cleanup() if $$ == $MainPid;
}


1;
