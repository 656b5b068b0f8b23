#!/usr/bin/python3
# The two clients of bench/answers.sh that need sub-millisecond clocks:
#
#   answers-client.py health URL SECONDS STOP_FILE
#       GET URL on one keep-alive connection every 10 ms for SECONDS (or
#       until STOP_FILE exists); one line per request on stdout:
#       "<unix time sent> <latency ms> <status>"
#   answers-client.py cancel HOST PORT API_KEY BODY_FILE CLOSE_AFTER
#       sends POST /v1/queries with BODY_FILE's JSON, closes the connection
#       CLOSE_AFTER seconds later without reading the answer, and prints
#       "<unix time sent> <unix time closed> <bytes received before close>"
#
# Standard library only; run with /usr/bin/python3.

import http.client
import os
import socket
import sys
import time
import urllib.parse


def health(url, seconds, stop_file):
    u = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    end = time.monotonic() + seconds
    out = []

    while time.monotonic() < end and not os.path.exists(stop_file):
        sent = time.time()
        t0 = time.perf_counter()
        conn.request("GET", u.path or "/")
        resp = conn.getresponse()
        resp.read()
        lat = (time.perf_counter() - t0) * 1000.0
        out.append("%.6f %.3f %d" % (sent, lat, resp.status))
        # one request every 10 ms, not back to back: the probe must not be
        # a load of its own
        rest = 0.010 - (time.perf_counter() - t0)
        if rest > 0:
            time.sleep(rest)

    conn.close()
    sys.stdout.write("\n".join(out) + ("\n" if out else ""))


def cancel(host, port, api_key, body_file, close_after):
    with open(body_file, "rb") as f:
        body = f.read()

    head = ("POST /v1/queries HTTP/1.1\r\n"
            "Host: %s:%d\r\n"
            "X-API-Key: %s\r\n"
            "Content-Type: application/json\r\n"
            "Content-Length: %d\r\n"
            "\r\n" % (host, port, api_key, len(body))).encode()

    s = socket.create_connection((host, port))
    sent = time.time()
    s.sendall(head + body)

    # read nothing unless it comes: an answer before the close means the
    # query did not run long, and the caller says so
    got = 0
    s.settimeout(0.05)
    end = time.monotonic() + close_after
    while time.monotonic() < end:
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            continue
        if not chunk:
            break
        got += len(chunk)

    closed = time.time()
    s.close()
    print("%.6f %.6f %d" % (sent, closed, got))


def main(argv):
    if len(argv) == 5 and argv[1] == "health":
        health(argv[2], float(argv[3]), argv[4])
    elif len(argv) == 7 and argv[1] == "cancel":
        cancel(argv[2], int(argv[3]), argv[4], argv[5], float(argv[6]))
    else:
        sys.stderr.write("usage: answers-client.py health URL SECONDS "
                         "STOP_FILE | cancel HOST PORT API_KEY BODY_FILE "
                         "CLOSE_AFTER\n")
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
