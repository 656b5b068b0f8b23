package Test::Nginx::Socket;

# Spectra's own Test::Nginx::Socket-compatible runner: data-driven nginx
# tests on Test::Base.  What it supports and how it differs from the real
# Test::Nginx is in docs/testing.md.

use strict;
use warnings;

use Test::Base -base;

use IO::Select ();
use IO::Socket::INET ();
use List::Util qw(min shuffle);
use Test::LongString ();
use Test::More ();
use Time::HiRes qw(sleep time);

use Test::Nginx::Util qw(
    :DEFAULT cleanup write_user_files start_nginx stop_nginx
    nginx_is_running describe_status
    $HtmlDir $LogDir $ErrLogFile $AccLogFile $ConfDir $NginxBinary
    $LogLevel $NoShuffle $NoRootLocation $UseValgrind $Timeout
    @BlockPreprocessors
);

our $VERSION = '0.1';

# What the real Test::Nginx::Socket exports (of what this runner has): the
# variables ($ServerPort, $ServRoot, $PidFile, ...) come from
# Test::Nginx::Util, as there.
our @EXPORT = qw(
    env_to_nginx run_tests repeat_each config_preamble worker_connections
    master_process_enabled no_long_string workers master_on master_off
    log_level no_shuffle no_root_location server_name server_addr
    server_root html_dir server_port server_port_for_client timeout
    add_block_preprocessor bail_out add_cleanup_handler
);

my $PrevConfig;


sub run_tests {
    my @blocks;

    get_nginx_version();

    @blocks = Test::Base::blocks();
    if (!$NoShuffle) {
        @blocks = shuffle @blocks;
    }

    for my $block (@blocks) {
        for my $hdl (@BlockPreprocessors) {
            $hdl->($block);
        }

        run_block($block);
    }

    cleanup();
}


sub run_block {
    my ($block) = @_;
    my ($name, $config, $skip, $start, $report);

    $name = "$0 " . $block->name;

    # Test::Base's eval filter turns a Perl error into the section's value
    for my $sec (@{ $block->{_section_order}[0] || [] }) {
        my $vals = $block->{$sec};

        for my $v (ref $vals eq 'ARRAY' ? @$vals : ()) {
            if (defined $v && !ref $v && $v =~ /\bat \(eval \d+\) line \d+/) {
                Test::More::fail("$name - --- $sec: Perl error: "
                                 . fmt_line($v));
                return;
            }
        }
    }

    $config = $block->config;
    if (defined $config) {
        $config = expand_env_in_text($config, $name);

    } elsif (defined $PrevConfig) {
        $config = $PrevConfig;

    } else {
        bail_out("$name - No '--- config' section specified and could not "
                 . "get previous one.\n");
    }

    $PrevConfig = $config;

    $skip = should_skip($block, $name);
    if (defined $skip) {
        for (1 .. $RepeatEach) {
            SKIP: {
                Test::More::skip("$name - $skip->[1]", $skip->[0]);
            }
        }

        return;
    }

    if (defined $block->must_die) {
        run_must_die($block, $name, $config);
        return;
    }

    stop_nginx();
    setup_server_root();
    write_user_files($block, $name);
    write_config_file($block, $config, $name);

    $start = start_nginx($name);
    if (!$start->{ok}) {
        Test::More::fail("$name - nginx failed to start ("
                         . describe_status($start->{status}) . ")");
        Test::More::diag($start->{output});
        Test::More::diag(tail_of_error_log());
        stop_nginx();
        return;
    }

    # "--- init": Perl run once nginx is up, before the first request (as
    # in the real harness: in Test::Nginx::Util, once for all repeats)
    if (defined $block->init) {
        package Test::Nginx::Util;
        eval $block->init;
        if ($@) {
            Test::Nginx::Util::bail_out("$name - init failed: $@");
        }
    }

    for my $rep (0 .. $RepeatEach - 1) {
        if ($rep > 0) {
            write_user_files($block, $name);
        }

        run_requests($block, $name, $rep);
    }

    $report = stop_nginx();
    if ($report ne '') {
        Test::More::fail("$name - nginx exited cleanly");
        Test::More::diag($report);
    }
}


# "--- must_die" (any exit) or "--- must_die: 1" (that exit code): nginx
# must refuse to start; error_log / no_error_log then check its messages.
sub run_must_die {
    my ($block, $name, $config) = @_;
    my ($start, $want, $code);

    # Util reads its own variable; the imported alias cannot be localized
    local $Test::Nginx::Util::UseValgrind = '';

    for my $rep (0 .. $RepeatEach - 1) {
        stop_nginx();
        setup_server_root();
        write_user_files($block, $name);
        write_config_file($block, $config, $name);

        $start = start_nginx($name);
        $code = $start->{status} >> 8;
        $want = $block->must_die;
        $want =~ s/^\s+|\s+$//g;

        if ($want =~ /^\d+$/) {
            Test::More::is($code, $want,
                           "$name - die with the expected exit code");

        } else {
            Test::More::ok(!$start->{ok}, "$name - die as expected");
        }

        check_error_log($block, $name, $rep);

        if ($start->{ok}) {
            Test::More::diag("$name - nginx must die but it does not");
            stop_nginx();
        }
    }
}


# skip_nginx "N: < 1.21.0 [: reason]" and skip_eval "N: perl-expr".
# Returns [N, reason] when the block must be skipped, else undef.
sub should_skip {
    my ($block, $name) = @_;
    my ($spec, $n, $op, $ver, $reason, $yes);

    $spec = $block->skip_nginx;
    if (defined $spec) {
        if ($spec !~ m{^\s*(\d+)\s*:\s*([<>]=?|==)\s*(\d+)\.(\d+)\.(\d+)
                       (?:\s*:\s*(.*?))?\s*$}x)
        {
            bail_out("$name - Invalid --- skip_nginx spec: $spec\n");
        }

        ($n, $op) = ($1, $2);
        $ver = sprintf '%d.%03d%03d', $3, $4, $5;
        $reason = $6 || "nginx version $op $3.$4.$5";

        $yes = $op eq '<'  ? $NginxVersion <  $ver
             : $op eq '<=' ? $NginxVersion <= $ver
             : $op eq '>'  ? $NginxVersion >  $ver
             : $op eq '>=' ? $NginxVersion >= $ver
             :               $NginxVersion == $ver;

        return $yes ? [$n, $reason] : undef;
    }

    $spec = $block->skip_eval;
    if (defined $spec) {
        if ($spec !~ /^\s*(\d+)\s*:\s*(.*)$/s) {
            bail_out("$name - Invalid --- skip_eval spec: $spec\n");
        }

        $n = $1;
        $yes = eval $2;
        if ($@) {
            bail_out("$name - skip_eval - failed to eval \"$2\": $@");
        }

        return $yes ? [$n, 'skip_eval'] : undef;
    }

    return undef;
}


# --- Requests -------------------------------------------------------------


sub run_requests {
    my ($block, $name, $rep) = @_;
    my ($reqs, $timeout, $total, $need_array, $idx, $raw, $err, $res);
    my ($wait);

    $reqs = build_requests($block, $name);

    $timeout = parse_time($block->timeout) // $Timeout;
    if ($UseValgrind) {
        $timeout += 30;
    }

    $wait = parse_time($block->wait);

    if (defined $block->pipelined_requests) {
        $total = $reqs->[0]{n};
        $need_array = 1;

    } else {
        $total = @$reqs;
        $need_array = @$reqs > 1;
    }

    $idx = 0;
    for my $req (@$reqs) {
        ($raw, $err) = send_request($req, $timeout);
        if (defined $err) {
            Test::More::diag("$name - $err (req $idx)");
        }

        for my $k (0 .. $req->{n} - 1) {
            ($res, $raw) = parse_response($raw, $req->{methods}[$k]);

            check_response($block, $name, $res, $idx, $rep, $need_array);

            if ($idx < $total - 1) {
                if ($wait) {
                    sleep $wait;
                }

                check_error_log($block, $name, $rep);
            }

            $idx++;
        }
    }

    if ($wait) {
        sleep $wait;
    }

    check_error_log($block, $name, $rep);
}


# A list of connections to make: {data => bytes, methods => [...], n => N}.
# n > 1 only for pipelined_requests (N responses on one connection).
sub build_requests {
    my ($block, $name) = @_;
    my ($request, $more, $hdr, $data, @reqs, @methods, $i, $conn);

    $more = $block->more_headers // '';

    if (defined $block->raw_request) {
        $data = $block->raw_request;
        $data = join '', @$data if ref $data eq 'ARRAY';
        @methods = $data =~ /^\s*(\S+)/ ? ($1) : ('GET');

        return [{ data => $data, methods => \@methods, n => 1 }];
    }

    if (defined $block->pipelined_requests) {
        $request = $block->pipelined_requests;
        if (ref $request ne 'ARRAY') {
            bail_out("$name - invalid entries in --- pipelined_requests\n");
        }

        $data = '';
        for $i (0 .. $#$request) {
            $conn = $i == $#$request ? 'close' : 'keep-alive';
            $hdr = indexed_more_headers($name, $more, $i);
            $data .= build_http_request($name,
                         expand_env_in_text($request->[$i], $name),
                         $hdr, $conn, \@methods);
        }

        return [{ data => $data, methods => \@methods,
                  n => scalar @$request }];
    }

    $request = $block->request;
    if (!defined $request) {
        bail_out("$name - No '--- request' section\n");
    }

    # the forms the real harness takes: a string, or an array whose
    # elements are strings or arrays of packets (strings or {value => ...});
    # anything else (an object that stringifies, say) is refused as there
    if (!ref $request) {
        $request = [$request];

    } elsif (ref $request ne 'ARRAY') {
        bail_out("$name - invalid ---request : MUST be string or array of"
                 . " requests\n");
    }

    for $i (0 .. $#$request) {
        my $one = $request->[$i];
        my @m;

        if (ref $one eq 'ARRAY') {
            # a request given as packets: sent as one write here
            for my $p (@$one) {
                if (ref $p && ref $p ne 'HASH') {
                    bail_out("$name - Invalid syntax. $p should be a string"
                             . " or hash with value.\n");
                }
            }

            $one = join '', map { ref $_ ? $_->{value} : $_ } @$one;

        } elsif (ref $one) {
            bail_out("$name - Invalid syntax. $one should be a string or an"
                     . " array of packets.\n");
        }

        $hdr = indexed_more_headers($name, $more, $i);
        $data = build_http_request($name, $one, $hdr, 'close', \@m);
        push @reqs, { data => $data, methods => \@m, n => 1 };
    }

    return \@reqs;
}


sub indexed_more_headers {
    my ($name, $more, $i) = @_;

    if (ref $more eq 'ARRAY') {
        if (!defined $more->[$i]) {
            bail_out("$name - --- more_headers lacks data for request $i\n");
        }

        return $more->[$i];
    }

    return $more;
}


# "METHOD URI [HTTP/1.x]\nbody" plus more_headers -> raw HTTP request.
sub build_http_request {
    my ($name, $text, $more, $conn, $methods) = @_;
    my ($first, $body, $meth, $uri, $ver, $hdrs, $chunked);

    # leading blank lines and "# comment" lines are not part of the request
    while ($text =~ s/^\s*\#[^\n]*\n|^\s+//s) {
        # strip
    }

    ($first, $body) = split /\n/, $text, 2;
    $body //= '';

    if (!defined $first
        || $first !~ /^\s*(\S+)(?:\s+(\S+))?(?:\s+(\S+))?\s*$/)
    {
        bail_out("$name - Request line is not valid. Should be "
                 . "'meth [url [version]]' but got \""
                 . ($first // '') . "\".\n");
    }

    ($meth, $uri, $ver) = ($1, $2 // '/', $3 // 'HTTP/1.1');
    push @$methods, $meth;

    $hdrs = '';
    for my $line (split /\n+/, $more) {
        next if $line =~ /^\s*\#/ || $line !~ /\S/;

        my ($key, $val) = split /:\s*/, $line, 2;
        $val //= '';
        $val =~ s/\r$//;

        if (lc $key eq 'transfer-encoding' && lc $val eq 'chunked') {
            $chunked = 1;
        }

        $hdrs .= "$key: $val\r\n";
    }

    if ($hdrs !~ /(?:^|\n)Host:/i) {
        $hdrs = "Host: $ServerName\r\n" . $hdrs;
    }

    if ($hdrs !~ /(?:^|\n)Connection:/i) {
        $hdrs = "Connection: $conn\r\n" . $hdrs;
    }

    if (!$chunked && $body ne '' && $hdrs !~ /(?:^|\n)Content-Length:/i) {
        $body =~ s/^\s+|\s+$//gs;
        $hdrs .= 'Content-Length: ' . length($body) . "\r\n";
    }

    return "$meth $uri $ver\r\n$hdrs\r\n$body";
}


# Send one connection's bytes; read until EOF, a complete keep-alive
# response, or the timeout.  Returns (raw response, error or undef).
sub send_request {
    my ($req, $timeout) = @_;
    my ($sock, $deadline, $sel, $buf, $off, $n, $chunk, $left);

    local $SIG{PIPE} = 'IGNORE';

    $deadline = time + $timeout;

    $sock = IO::Socket::INET->new(PeerAddr => $ServerAddr,
                                  PeerPort => $ServerPort,
                                  Proto => 'tcp',
                                  Timeout => $timeout);
    if (!$sock) {
        return ('', "cannot connect to $ServerAddr:$ServerPort: $@");
    }

    $sock->blocking(0);
    $sel = IO::Select->new($sock);

    $off = 0;
    while ($off < length $req->{data}) {
        $left = $deadline - time;
        if ($left <= 0) {
            close $sock;
            return ('', "timed out sending the request");
        }

        last if !$sel->can_write($left);

        $n = syswrite $sock, $req->{data}, length($req->{data}) - $off, $off;
        if (!defined $n) {
            next if $!{EAGAIN} || $!{EINTR};
            last;   # the server may answer and close early (e.g. 413)
        }

        $off += $n;
    }

    $buf = '';
    for ( ;; ) {
        $left = $deadline - time;
        if ($left <= 0) {
            close $sock;
            return ($buf, "client socket timed out after ${timeout}s");
        }

        if (!$sel->can_read($left)) {
            next;
        }

        $n = sysread $sock, $chunk, 65536;
        if (!defined $n) {
            next if $!{EAGAIN} || $!{EINTR};
            last;   # ECONNRESET: keep what we got
        }

        last if $n == 0;

        $buf .= $chunk;

        if (keepalive_done($buf, $req)) {
            last;
        }
    }

    close $sock;
    return ($buf, undef);
}


# True when all expected responses are complete and the last one keeps the
# connection open, so no EOF will come.
sub keepalive_done {
    my ($buf, $req) = @_;
    my ($res, $conn);

    for my $k (0 .. $req->{n} - 1) {
        ($res, $buf) = parse_response($buf, $req->{methods}[$k]);
        if (!defined $res || !$res->{complete}) {
            return 0;
        }
    }

    $conn = response_header($res, 'Connection') // '';

    return $conn !~ /close/i && $res->{version} ne '1.0';
}


# Parse one response from the front of $buf.  Returns (response or undef,
# remaining bytes).  A response: code, version, status_line, raw_headers,
# headers ([name, value] pairs), body, complete.
sub parse_response {
    my ($buf, $method) = @_;
    my ($end, $head, $rest, @lines, $status, $res, $len, $te, $ver, $code);

    $buf //= '';

    for ( ;; ) {
        $end = index $buf, "\r\n\r\n";
        if ($end < 0) {
            return (undef, $buf);
        }

        $head = substr $buf, 0, $end;
        $rest = substr $buf, $end + 4;

        @lines = split /\r\n/, $head;
        $status = shift @lines;

        if ($status !~ m{^HTTP/(\d+\.\d+)\s+(\d{3})(?:\s+(.*))?$}) {
            return (undef, $buf);
        }

        ($ver, $code) = ($1, $2);

        # skip interim responses such as 100 Continue
        last if $code >= 200 || $code == 101;
        $buf = $rest;
    }

    $res = {
        version     => $ver,
        code        => $code,
        status_line => $status,
        raw_headers => "$head\r\n\r\n",
        headers     => [],
        body        => '',
        complete    => 1,
    };

    for my $line (@lines) {
        if ($line =~ /^([^:\s]+)\s*:\s*(.*?)\s*$/) {
            push @{ $res->{headers} }, [$1, $2];
        }
    }

    $te = response_header($res, 'Transfer-Encoding') // '';
    $len = response_header($res, 'Content-Length');

    if (($method // '') eq 'HEAD' || $res->{code} == 204
        || $res->{code} == 304)
    {
        return ($res, $rest);
    }

    if ($te =~ /chunked/i) {
        return decode_chunked($res, $rest);
    }

    if (defined $len && $len =~ /^\d+$/) {
        if (length $rest < $len) {
            $res->{complete} = 0;
            $res->{body} = $rest;
            return ($res, '');
        }

        $res->{body} = substr $rest, 0, $len;
        return ($res, substr $rest, $len);
    }

    # no framing: the body runs to EOF
    $res->{body} = $rest;
    $res->{complete} = 0;
    return ($res, '');
}


sub decode_chunked {
    my ($res, $rest) = @_;
    my ($size, $body);

    $body = '';

    for ( ;; ) {
        if ($rest !~ s/^([0-9a-fA-F]+)[^\r\n]*\r\n//) {
            $res->{complete} = 0;
            last;
        }

        $size = hex $1;

        if ($size == 0) {
            # trailers end with an empty line
            if ($rest =~ s/^(?:[^\r\n]+\r\n)*\r\n//) {
                $res->{body} = $body;
                return ($res, $rest);
            }

            $res->{complete} = 0;
            last;
        }

        if (length $rest < $size + 2) {
            $body .= $rest;
            $rest = '';
            $res->{complete} = 0;
            last;
        }

        $body .= substr $rest, 0, $size;
        $rest = substr $rest, $size + 2;
    }

    $res->{body} = $body;
    return ($res, $rest);
}


# All values of a header joined by ", " (like HTTP::Headers), or undef.
sub response_header {
    my ($res, $key) = @_;
    my @vals;

    if (!defined $res) {
        return undef;
    }

    @vals = map { $_->[1] } grep { lc $_->[0] eq lc $key }
            @{ $res->{headers} };

    return @vals ? join(', ', @vals) : undef;
}


# --- Checks ---------------------------------------------------------------


# With several requests in a block every expectation must be an array.
sub indexed_value {
    my ($name, $value, $idx, $need_array) = @_;

    if ($need_array) {
        if (ref $value eq 'ARRAY') {
            return $value->[$idx];
        }

        bail_out("$name - You asked for many requests, the expected results "
                 . "should be arrays as well.\n");
    }

    if (ref $value eq 'ARRAY') {
        return $value->[0];
    }

    return $value;
}


sub check_response {
    my ($block, $name, $res, $idx, $rep, $need_array) = @_;

    check_error_code($block, $name, $res, $idx, $need_array);
    check_raw_response_headers($block, $name, $res, $idx, $need_array);
    check_response_headers($block, $name, $res, $idx, $need_array);
    check_response_body($block, $name, $res, $idx, $rep, $need_array);
}


sub check_error_code {
    my ($block, $name, $res, $idx, $need_array) = @_;
    my ($got, $ok, $want);

    $got = defined $res ? $res->{code} : '';

    if (defined $block->error_code_like) {
        $want = indexed_value($name, $block->error_code_like, $idx,
                              $need_array);
        $ok = Test::More::like($got, qr/$want/sm, "$name - status code ok");

    } else {
        $want = defined $block->error_code
                ? indexed_value($name, $block->error_code, $idx, $need_array)
                : 200;
        $ok = Test::More::is($got, $want, "$name - status code ok");
    }

    if (!$ok && !defined $res) {
        Test::More::diag("$name - no parsable HTTP response (req $idx)");

    } elsif (!$ok) {
        Test::More::diag("$name - response head was:\n"
                         . $res->{raw_headers});
    }
}


sub check_raw_response_headers {
    my ($block, $name, $res, $idx, $need_array) = @_;
    my ($raw, $pat);

    $raw = defined $res ? $res->{raw_headers} : '';

    if (defined $block->raw_response_headers_like) {
        $pat = indexed_value($name, $block->raw_response_headers_like, $idx,
                             $need_array);
        Test::More::like($raw, qr/$pat/s, "$name - raw resp headers like");
    }

    if (defined $block->raw_response_headers_unlike) {
        $pat = indexed_value($name, $block->raw_response_headers_unlike,
                             $idx, $need_array);
        Test::More::unlike($raw, qr/$pat/s,
                           "$name - raw resp headers unlike");
    }
}


sub check_response_headers {
    my ($block, $name, $res, $idx, $need_array) = @_;
    my ($spec, $headers, $order, $raw, $got, $val);

    $raw = defined $res ? $res->{raw_headers} : '';

    if (defined $block->response_headers) {
        $spec = indexed_value($name, $block->response_headers, $idx,
                              $need_array);
        ($headers, $order) = parse_headers($spec);

        for my $key (@$order) {
            $val = $headers->{$key};

            if (!defined $val) {
                Test::More::unlike($raw, qr/^\s*\Q$key\E\s*:/msi,
                    "$name - header $key not present in the raw headers");
                next;
            }

            $val =~ s/\$ServerPort\b/$ServerPort/g;
            $val =~ s/\$ServerPortForClient\b/$ServerPortForClient/g;

            $got = response_header($res, $key) // '';
            Test::More::is($got, $val, "$name - header $key ok");
        }

    } elsif (defined $block->response_headers_like) {
        $spec = indexed_value($name, $block->response_headers_like, $idx,
                              $need_array);
        ($headers, $order) = parse_headers($spec);

        for my $key (@$order) {
            $val = $headers->{$key} // '';
            $got = response_header($res, $key) // '';
            Test::More::like($got, qr/^$val$/,
                             "$name - header $key like ok");
        }
    }
}


sub check_response_body {
    my ($block, $name, $res, $idx, $rep, $need_array) = @_;
    my ($got, $want, $pat, $what);

    $got = defined $res ? $res->{body} : undef;
    $what = "(repeated req $rep, req $idx)";

    # as Test::Nginx::Socket: names (uc, lc) or code refs, in order
    if (defined $got && defined $block->response_body_filters) {
        my $filters = $block->response_body_filters;

        $filters = [split ' ', $filters] unless ref $filters;
        $filters = [$filters] if ref $filters eq 'CODE';

        # a two-dimensional array: the filters of each request
        if (ref $filters->[0] eq 'ARRAY') {
            $filters = $filters->[$idx];
            bail_out("$name - response_body_filters has no filters for "
                     . "request $idx") unless ref $filters eq 'ARRAY';
        }

        for my $f (@$filters) {
            if (ref $f eq 'CODE') {
                $got = $f->($got);
            } elsif ($f eq 'uc') {
                $got = uc $got;
            } elsif ($f eq 'lc') {
                $got = lc $got;
            } else {
                Test::More::fail("$name - unknown response_body_filters "
                                 . "entry $f");
            }
        }
    }

    if (defined $block->response_body) {
        $want = indexed_value($name, $block->response_body, $idx,
                              $need_array);

        if (defined $want && !ref $want) {
            $want =~ s/\$ServerPort\b/$ServerPort/g;
            $want =~ s/\$ServerPortForClient\b/$ServerPortForClient/g;
            $want = expand_env_in_text($want, $name);
        }

        if (ref $want) {
            Test::More::like($got, $want,
                             "$name - response_body - like $what");

        } elsif ($NoLongString) {
            Test::Base::is($got, $want,
                           "$name - response_body - response is expected "
                           . $what);

        } else {
            Test::LongString::is_string($got, $want,
                           "$name - response_body - response is expected "
                           . $what);
        }

    } elsif (defined $block->response_body_like
             || defined $block->response_body_unlike)
    {
        my $like = defined $block->response_body_like;

        $pat = indexed_value($name,
                             $like ? $block->response_body_like
                                   : $block->response_body_unlike,
                             $idx, $need_array);
        $pat =~ s/\$ServerPort\b/$ServerPort/g;
        $pat =~ s/\$ServerPortForClient\b/$ServerPortForClient/g;

        if ($like) {
            Test::More::like($got, qr/$pat/s,
                             "$name - response_body_like - response is "
                             . "expected $what");

        } else {
            Test::More::unlike($got, qr/$pat/s,
                               "$name - response_body_unlike - response is "
                               . "expected $what");
        }
    }
}


# Section value -> list of patterns: one per line, a qr//, or an array.
sub pattern_list {
    my ($pats) = @_;

    if (!ref $pats) {
        chomp $pats;
        return [grep { $_ ne '' } split /\n+/, $pats];
    }

    if (ref $pats eq 'Regexp') {
        return [$pats];
    }

    return [grep { defined } @$pats];
}


sub line_matches {
    my ($line, $pat) = @_;

    return ref $pat ? $line =~ $pat : index($line, $pat) >= 0;
}


sub mentions {
    my ($pats, $word) = @_;

    return grep { !ref $_ && index($_, $word) >= 0 } @$pats;
}


# Checks error log lines written since the previous check.
sub check_error_log {
    my ($block, $name, $rep) = @_;
    my ($lines, $pat, $want, $got, $pats, @missing);

    $lines = error_log_data();

    $pat = $block->grep_error_log;
    if (defined $pat) {
        $pat = $pat->[$rep] if ref $pat eq 'ARRAY';
        $want = $block->grep_error_log_out;
        if (!defined $want) {
            bail_out("$name - No --- grep_error_log_out defined but "
                     . "--- grep_error_log is defined\n");
        }

        $want = expand_env_in_text($want, $name);
        $want = $want->[$rep] if ref $want eq 'ARRAY';

        $got = '';
        for my $line (@$lines) {
            if (ref $pat ? $line =~ $pat : $line =~ /\Q$pat\E/) {
                $got .= "$&\n" if $& !~ /\n/;
            }
        }

        if (ref $want eq 'Regexp') {
            Test::More::like($got, $want,
                             "$name - grep_error_log_out (req $rep)");

        } else {
            Test::LongString::is_string($got, $want,
                             "$name - grep_error_log_out (req $rep)");
        }

    } elsif (defined $block->grep_error_log_out) {
        bail_out("$name - No --- grep_error_log defined but "
                 . "--- grep_error_log_out is defined\n");
    }

    if (defined $block->error_log) {
        $pats = pattern_list($block->error_log);

        for my $p (@$pats) {
            if (grep { line_matches($_, $p) } @$lines) {
                Test::More::pass("$name - pattern \"$p\" matches a line "
                                 . "in error.log (req $rep)");

            } else {
                Test::More::fail("$name - pattern \"$p\" should match a "
                                 . "line in error.log (req $rep)");
                push @missing, $p;
            }
        }

        if (@missing) {
            Test::More::diag("$name - " . scalar(@$lines) . " new lines in "
                             . "$ErrLogFile; last ones:\n"
                             . join '', @$lines[max0(@$lines - 15)
                                                .. $#$lines]);
        }
    }

    if (defined $block->no_error_log) {
        $pats = pattern_list($block->no_error_log);

        for my $p (@$pats) {
            my $i;

            for ($i = 0; $i < @$lines; $i++) {
                last if line_matches($lines->[$i], $p);
            }

            if ($i < @$lines) {
                Test::More::fail("$name - pattern \"$p\" should not match "
                                 . "any line in error.log but matches line "
                                 . "\"" . fmt_line($lines->[$i])
                                 . "\" (req $rep)\n"
                                 . join '', @$lines[$i + 1
                                                    .. min($i + 5, $#$lines)]);

            } else {
                Test::More::pass("$name - pattern \"$p\" does not match a "
                                 . "line in error.log (req $rep)");
            }
        }
    }

    # like the real harness: unexpected [alert]/[crit]/[emerg] lines are
    # reported, and failed C assertions fail the block
    for my $line (@$lines) {
        if ($line =~ /\[(alert|crit|emerg)\]/) {
            my $lvl = $1;
            my $mentioned = 0;

            for my $sec (qw(error_log no_error_log)) {
                my $v = $block->$sec;
                next if !defined $v;
                $mentioned ||= mentions(pattern_list($v), "[$lvl");
            }

            # must_die blocks expect nginx to refuse its config
            if (!$mentioned && !defined $block->must_die) {
                warn "WARNING: $name - " . fmt_line($line) . "\n";
            }
        }

        # with master_on a crashing worker is only visible here
        if ($line =~ /\bAssertion .*?failed\b/
            || $line =~ /\[alert\].* exited on signal \d+/)
        {
            Test::More::fail("$name - " . fmt_line($line));
        }
    }
}


sub max0 {
    my ($n) = @_;

    return $n > 0 ? $n : 0;
}


sub fmt_line {
    my ($line) = @_;

    $line =~ s/\s+$//;
    return $line;
}


sub tail_of_error_log {
    my ($in, @lines);

    if (!open $in, '<', $ErrLogFile) {
        return "(no $ErrLogFile)";
    }

    @lines = <$in>;
    close $in;

    return "last lines of $ErrLogFile:\n"
           . join '', @lines[max0(@lines - 15) .. $#lines];
}


1;
