#!/usr/bin/python3
"""make soak's load: a bounded mixed load on a running local stack.

    soak.py DEMO_JSON SECONDS WARMUP_SECONDS PIDS_FILE REPORT_MD

Each demo tenant gets CLIENTS_PER_TENANT threads (SOAK_CLIENTS, default 3)
that pick operations at random, one at a time, with a pause between them
(SOAK_PAUSE_MS, default 100) so that no tenant reaches the local config's
limit_req rate (50 r/s) or spectra_max_running (4): every answer has one
expected status, and any other one is an unexpected error:

  q1, q100, q10k  sync queries of 1, 100 and 10,000 rows: 200, row count
  async           a query with wait_timeout_seconds 0: 202, polled to
                  COMPLETED, then its results page: 200
  list            GET /v1/jobs?limit=20: 200
  export          POST /v1/bulk (CSV, gzip, 20,000 rows): 202, polled to
                  COMPLETED, its first file downloaded by URL: 200
  import          POST /v1/imports: 201, the file PUT to its upload URL,
                  PATCH UploadComplete, polled to COMPLETED with every row
                  loaded
  authfail        a query with a wrong API key: 401

PIDS_FILE names the processes whose RSS is sampled (one "name pid" per
line, re-read at each sample: nginx's workers are found from its master).
RSS is read after the warm-up and at the end.  Prints the report and
writes it to REPORT_MD; exits 1 when there was an unexpected error.
"""

import http.client
import json
import os
import random
import subprocess
import sys
import threading
import time
import urllib.parse

demo_path, seconds, warmup, pids_file, report_path = sys.argv[1:6]
seconds = float(seconds)
warmup = float(warmup)
clients = int(os.environ.get("SOAK_CLIENTS", "3"))
pause = int(os.environ.get("SOAK_PAUSE_MS", "100")) / 1000.0

with open(demo_path) as f:
    demo = json.load(f)

base = urllib.parse.urlsplit(demo["url"])
host, port = base.hostname, base.port

WEIGHTS = [("q1", 20), ("q100", 20), ("q10k", 6), ("async", 8), ("list", 10),
           ("export", 1), ("import", 1), ("authfail", 4)]

lock = threading.Lock()
stats = {}          # op -> {"n", "lat": [], "status": {code: n}}
unexpected = []     # (op, status, body head)
requests = [0]
stop_at = 0.0


def record(op, status, ms, ok, body=b""):
    with lock:
        s = stats.setdefault(op, {"n": 0, "lat": [], "status": {}})
        s["n"] += 1
        s["lat"].append(ms)
        s["status"][status] = s["status"].get(status, 0) + 1
        if not ok:
            unexpected.append((op, status, body[:300].decode("utf-8",
                                                             "replace")))


class Client:
    """One keep-alive connection to nginx, reopened when it closes."""

    def __init__(self, key):
        self.key = key
        self.conn = None

    def call(self, method, path, body=None, key=None, headers=None):
        h = {"X-API-Key": key or self.key}
        if body is not None:
            body = json.dumps(body).encode()
            h["Content-Type"] = "application/json"
        if headers:
            h.update(headers)
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(host, port,
                                                       timeout=120)
            t0 = time.monotonic()
            try:
                self.conn.request(method, path, body=body, headers=h)
                r = self.conn.getresponse()
                data = r.read()
            except (http.client.RemoteDisconnected, ConnectionResetError,
                    BrokenPipeError):
                # a keep-alive connection nginx closed between requests
                self.conn.close()
                self.conn = None
                if attempt == 2:
                    raise
                continue
            ms = (time.monotonic() - t0) * 1000.0
            if r.getheader("Connection", "").lower() == "close":
                self.conn.close()
                self.conn = None
            with lock:
                requests[0] += 1
            return r.status, data, ms, r


def raw(method, url, body=None, headers=None):
    u = urllib.parse.urlsplit(url)
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=120)
    path = u.path + ("?" + u.query if u.query else "")
    t0 = time.monotonic()
    c.request(method, path, body=body, headers=headers or {})
    r = c.getresponse()
    data = r.read()
    c.close()
    with lock:
        requests[0] += 1
    return r.status, data, (time.monotonic() - t0) * 1000.0


def query(cl, op, sql, want_rows):
    st, data, ms, _ = cl.call("POST", "/v1/queries", {"sql": sql})
    ok = st == 200
    if ok:
        n = len(json.loads(data)["data"])
        ok = n == want_rows
    record(op, st, ms, ok, data)


def poll(cl, op, path, done=("COMPLETED",), limit=120.0):
    """GETs path until its status is final; returns the job or None."""
    t_end = time.monotonic() + limit
    while time.monotonic() < t_end:
        st, data, ms, _ = cl.call("GET", path)
        if st != 200:
            record(op + ".poll", st, ms, False, data)
            return None
        record(op + ".poll", st, ms, True)
        job = json.loads(data)
        if job["status"] in ("COMPLETED", "FAILED", "CANCELLED"):
            if job["status"] not in done:
                record(op + ".final", 0, 0, False, data)
                return None
            return job
        time.sleep(0.2)
    record(op + ".final", 0, 0, False, b"did not end in time")
    return None


def op_async(cl):
    st, data, ms, _ = cl.call("POST", "/v1/queries",
                              {"sql": "select id, amount from sales "
                                      "order by id limit 50",
                               "wait_timeout_seconds": 0})
    record("async", st, ms, st == 202, data)
    if st != 202:
        return
    job = json.loads(data)["job_id"]
    if poll(cl, "async", "/v1/jobs/" + job) is None:
        return
    st, data, ms, _ = cl.call("GET", "/v1/jobs/%s/results" % job)
    ok = st == 200 and len(json.loads(data)["data"]) == 50
    record("async.results", st, ms, ok, data)


def op_export(cl):
    st, data, ms, _ = cl.call("POST", "/v1/bulk",
                              {"sql": "select id, region, amount from sales "
                                      "where id <= 40000",
                               "format": "csv", "compression": "gzip"})
    record("export", st, ms, st == 202, data)
    if st != 202:
        return
    job = poll(cl, "export", "/v1/bulk/" + json.loads(data)["job_id"])
    if job is None:
        return
    files = job["result"]["files"]
    st, body, ms = raw("GET", files[0]["url"])
    ok = st == 200 and len(body) == files[0]["size"]
    record("export.download", st, ms, ok, body if not ok else b"")


def op_import(cl, tenant):
    st, data, ms, _ = cl.call("POST", "/v1/imports",
                              {"table": "events", "format": "csv",
                               "compression": "none"})
    record("import", st, ms, st == 201, data)
    if st != 201:
        return
    imp = json.loads(data)
    base_id = random.randrange(1 << 40)
    rows = "".join("%s,%d,soak,2026-01-01T00:00:00Z,%d.5\n"
                   % (tenant, base_id + i, i) for i in range(200))
    st, body, ms = raw("PUT", imp["upload"]["url"], rows.encode(),
                       {"Content-Type": "text/csv"})
    record("import.upload", st, ms, st in (200, 201, 204), body)
    if st not in (200, 201, 204):
        return
    st, data, ms, _ = cl.call("PATCH", "/v1/imports/" + imp["job_id"],
                              {"state": "UploadComplete"})
    record("import.complete", st, ms, st in (200, 202), data)
    if st not in (200, 202):
        return
    job = poll(cl, "import", "/v1/imports/" + imp["job_id"])
    if job is not None and job.get("rows_loaded") != 200:
        record("import.rows", 0, 0, False, json.dumps(job).encode())


def worker(tenant):
    cl = Client(tenant["api_key"])
    ops = [o for o, w in WEIGHTS for _ in range(w)]
    while time.monotonic() < stop_at:
        op = random.choice(ops)
        try:
            if op == "q1":
                query(cl, op, "select 1 as one", 1)
            elif op == "q100":
                query(cl, op, "select * from sales order by id limit 100",
                      100)
            elif op == "q10k":
                query(cl, op, "select id, region, amount from sales "
                              "order by id limit 10000", 10000)
            elif op == "async":
                op_async(cl)
            elif op == "list":
                st, data, ms, _ = cl.call("GET", "/v1/jobs?limit=20")
                record(op, st, ms, st == 200, data)
            elif op == "export":
                op_export(cl)
            elif op == "import":
                op_import(cl, tenant["tenant_id"])
            elif op == "authfail":
                st, data, ms, _ = cl.call("POST", "/v1/queries",
                                          {"sql": "select 1"},
                                          key="sk_live_not_a_key_of_ours")
                record(op, st, ms, st == 401, data)
        except Exception as e:  # a broken connection is an error too
            record(op, -1, 0, False, repr(e).encode())
            cl.conn = None
        time.sleep(pause)


def rss():
    """{name: KiB} of the processes PIDS_FILE names (nginx: its workers)."""
    out = {}
    with open(pids_file) as f:
        for line in f:
            name, pid = line.split()
            pids = [pid]
            if name == "nginx":
                pids = subprocess.run(["pgrep", "-P", pid],
                                      capture_output=True,
                                      text=True).stdout.split()
            total = 0
            for p in pids:
                try:
                    with open("/proc/%s/status" % p) as s:
                        for l in s:
                            if l.startswith("VmRSS:"):
                                total += int(l.split()[1])
                except FileNotFoundError:
                    pass
            out[name] = total
    return out


def pct(xs, p):
    xs = sorted(xs)
    if not xs:
        return 0.0
    return xs[min(len(xs) - 1, int(p / 100.0 * len(xs)))]


def main():
    global stop_at
    tenants = [t for t in demo["tenants"] if t.get("api_key")]
    start = time.monotonic()
    stop_at = start + seconds
    threads = [threading.Thread(target=worker, args=(t,), daemon=True)
               for t in tenants for _ in range(clients)]
    for t in threads:
        t.start()
    time.sleep(min(warmup, seconds / 2))
    rss_start = rss()
    with lock:
        req_warm = requests[0]
    for t in threads:
        t.join()
    rss_end = rss()
    elapsed = time.monotonic() - start

    lines = ["# Soak", "",
             "%s, %.0f s (RSS after a %.0f s warm-up and at the end), "
             "%d clients (%d per tenant), %d requests (%.1f/s), "
             "%d unexpected errors."
             % (time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                elapsed, min(warmup, seconds / 2), len(threads), clients,
                requests[0], requests[0] / elapsed, len(unexpected)),
             "",
             "| operation | count | statuses | p50 ms | p99 ms |",
             "|---|---:|---|---:|---:|"]
    for op in sorted(stats):
        s = stats[op]
        codes = ", ".join("%s: %d" % (c, n)
                          for c, n in sorted(s["status"].items()))
        lines.append("| %s | %d | %s | %.1f | %.1f |"
                     % (op, s["n"], codes, pct(s["lat"], 50),
                        pct(s["lat"], 99)))
    lines += ["", "| process | RSS after warm-up KiB | RSS at end KiB "
              "| growth |", "|---|---:|---:|---:|"]
    growth_max = 0.0
    for name in sorted(rss_start):
        a, b = rss_start[name], rss_end.get(name, 0)
        g = (b - a) / a * 100.0 if a else 0.0
        growth_max = max(growth_max, g)
        lines.append("| %s | %d | %d | %+.1f %% |" % (name, a, b, g))
    lines += ["", "Requests after the warm-up: %d." % (requests[0] - req_warm)]
    if unexpected:
        lines += ["", "Unexpected answers (first 20):", ""]
        for op, st, body in unexpected[:20]:
            lines.append("- %s: %s %s" % (op, st, body.replace("\n", " ")))
    text = "\n".join(lines) + "\n"
    with open(report_path, "w") as f:
        f.write(text)
    sys.stdout.write(text)
    sys.exit(1 if unexpected else 0)


main()
