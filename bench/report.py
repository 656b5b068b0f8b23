#!/usr/bin/python3
# bench/RESULTS.md and its charts from the outputs of bench/run.sh.
#
#   report.py RUN_DIR BENCH_DIR
#
# RUN_DIR holds what run.sh collected (machine.tsv, status.tsv, auth.tsv,
# jwt.tsv, encode.txt, query-N.txt, concurrency.tsv, eventloop.tsv, memory.tsv,
# dataapi.txt, bulk-N.txt, parquet-N.txt, import-N.txt); the figures are
# parsed from the benchmarks' own text tables, and a benchmark whose output
# is missing or has another shape is reported as such, with its raw output
# in the appendix. Charts: gnuplot (pngcairo) into BENCH_DIR/results/.
# Standard library only.

import glob
import os
import re
import statistics
import subprocess
import sys

run_dir, bench_dir = sys.argv[1], sys.argv[2]
charts = os.path.join(bench_dir, "results")
md = []


def read(name):
    try:
        with open(os.path.join(run_dir, name)) as f:
            return f.read()
    except OSError:
        return None


def tsv(name):
    text = read(name)
    if text is None:
        return []
    return [line.split("\t") for line in text.splitlines() if line]


def num(s):
    try:
        return float(s)
    except (TypeError, ValueError):
        return None


def spread(values):
    """median, min, max of the values that are numbers"""
    v = sorted(x for x in values if x is not None)
    if not v:
        return None
    return statistics.median(v), v[0], v[-1]


def fmt(s, digits=2):
    if s is None:
        return "n/a"
    med, lo, hi = s
    if lo == hi:
        return "%.*f" % (digits, med)
    return "%.*f (%.*f–%.*f)" % (digits, med, digits, lo, digits, hi)


def ratio_s(a, b, digits=2):
    if a is None or b is None or b[0] == 0:
        return "n/a"
    return "%.*f" % (digits, a[0] / b[0])


def out(line=""):
    md.append(line)


machine = dict((r[0], r[1]) for r in tsv("machine.tsv") if len(r) > 1)
status = tsv("status.tsv")
failed = [r for r in status if len(r) > 1 and r[1] != "0"]

out("# Spectra benchmark results")
out()
out("Written by `make bench` (`bench/run.sh`, `bench/report.py`) on %s at "
    "commit %s; regenerate with `make bench` (`BENCH_QUICK=1` for a "
    "shorter run). Every figure below comes from this one run: medians "
    "with their spread (min–max) over the runs named, each next to its "
    "baseline measured in the same run on the same machine. Benchmarks are "
    "not tests: on a shared machine absolute figures move from run to run, "
    "the ratios much less." % (machine.get("started", "?"),
                               machine.get("commit", "?")))
out()
out("## Machine")
out()
out("| | |")
out("|---|---|")
for key, label in (("cpu", "CPU"), ("cpus", "cores"), ("memory", "memory"),
                   ("kernel", "kernel"), ("load_before", "load average before"),
                   ("load_after", "load average after"), ("nginx", "nginx"),
                   ("postgresql", "PostgreSQL"), ("openssl", "OpenSSL"),
                   ("wrk", "wrk"), ("pgbench", "pgbench"), ("cc", "compiler"),
                   ("settings", "settings"), ("seconds", "whole run, s")):
    out("| %s | %s |" % (label, machine.get(key, "?")))
out()
out("Commands (each benchmark's own README section says what it measures):")
out()
for r in status:
    if len(r) > 3:
        out("- `%s` (%s s, exit %s): `%s`" % (r[0], r[2], r[1], r[3]))
out()
if failed:
    out("**Failed:** %s (the end of each log is in the appendix)."
        % ", ".join(r[0] for r in failed))
    out()

# --- targets, filled as the sections go --------------------------------------
targets = []


def target(name, ours, goal, met, miss):
    targets.append((name, ours, goal,
                    "n/a" if met is None else ("yes" if met else "**no**"),
                    miss))


# --- authentication ----------------------------------------------------------

auth = dict((r[0], r) for r in tsv("auth.tsv") if r and r[0] != "case")
body = []
if auth:
    def cpu_runs(name):
        r = auth.get(name)
        if r is None or len(r) < 5:
            return None
        return spread([num(x) for x in r[4].split()])

    base = cpu_runs("baseline")
    gif = cpu_runs("gif")
    body.append("`bench/auth.sh` (one nginx worker, wrk 32 connections; CPU "
                "time of the worker per request from /proc, median over the "
                "rounds). Baseline: `return 200` in the same run.")
    body.append("")
    body.append("| endpoint | req/s | vs return 200 | µs CPU/req | "
                "cpu ratio |")
    body.append("|---|---:|---:|---:|---:|")
    labels = [("baseline", "`return 200`"), ("gif", "`empty_gif`, no auth"),
              ("health", "`/v1/health`, no auth"),
              ("health_auth", "`/v1/health`, HS256 same token"),
              ("hs256", "HS256, same token (cache)"),
              ("rs256", "RS256, same token (cache)"),
              ("es256", "ES256, same token (cache)"),
              ("apikey", "API key"),
              ("hs256_fresh", "HS256, fresh token"),
              ("rs256_fresh", "RS256, fresh token"),
              ("es256_fresh", "ES256, fresh token")]
    for key, label in labels:
        r = auth.get(key)
        c = cpu_runs(key)
        if r is None:
            continue
        body.append("| %s | %s | %s | %s | %s |" % (
            label, r[1], r[2], fmt(c), ratio_s(base, c)))
    sig = {}
    for alg, key in (("RS256", "openssl_rsa2048_verify_s"),
                     ("ES256", "openssl_ecdsap256_verify_s")):
        r = auth.get(key)
        if r is not None and num(r[1]):
            sig[alg] = 1e6 / num(r[1])
    body.append("")
    body.append("`openssl speed` (same run): RSA-2048 verify %s µs, ECDSA "
                "P-256 verify %s µs." % (
                    "%.1f" % sig["RS256"] if "RS256" in sig else "n/a",
                    "%.1f" % sig["ES256"] if "ES256" in sig else "n/a"))
    body.append("")
    body.append("Fresh-token cost: the CPU per request of a fresh token minus "
                "`empty_gif` without authentication, against one signature "
                "check (`openssl speed`):")
    body.append("")
    body.append("| alg | fresh adds µs | signature µs | × signature |")
    body.append("|---|---:|---:|---:|")
    for alg, key in (("RS256", "rs256_fresh"), ("ES256", "es256_fresh")):
        c = cpu_runs(key)
        if c is None or gif is None or alg not in sig:
            continue
        added = c[0] - gif[0]
        body.append("| %s | %.1f | %.1f | %.2f |"
                    % (alg, added, sig[alg], added / sig[alg]))
        target("fresh %s token ≤ 1.3× its signature check (wall CPU)" % alg,
               "%.2f×" % (added / sig[alg]), "≤ 1.3×", added / sig[alg] <= 1.3,
               "" if added / sig[alg] <= 1.3
               else "%.0f %% over" % ((added / sig[alg] / 1.3 - 1) * 100))
prof = [r for r in tsv("auth-profile.tsv") if r and r[0] != "case"]
if prof:
    body.append("")
    body.append("In instructions (`bench/auth-profile.sh`: the same nginx as "
                "one process under callgrind, 300 requests per case on one "
                "keep-alive connection; the load of the machine does not "
                "move these). *Added* = instructions per request with a "
                "fresh token minus `empty_gif` without authentication; the "
                "signature check is what runs under `EVP_PKEY_verify`:")
    body.append("")
    body.append("| case | instructions / request | under EVP_PKEY_verify | "
                "under jansson | added | added / signature |")
    body.append("|---|---:|---:|---:|---:|---:|")
    for r in prof:
        if len(r) < 6:
            continue
        body.append("| %s | %s | %s | %s | %s | %s |" % (
            r[0], "{:,}".format(int(r[1])), "{:,}".format(int(r[2])),
            "{:,}".format(int(r[3])), "{:,}".format(int(r[4])), r[5]))
        q = num(r[5])
        if r[0].endswith("_fresh") and q:
            target("fresh %s token adds ≤ 1.3× its signature check "
                   "(instructions)" % r[0].split("_")[0].upper(),
                   "%.2f×" % q, "≤ 1.3×", q <= 1.3,
                   "" if q <= 1.3 else "%.0f %% over" % ((q / 1.3 - 1) * 100))
jwt = tsv("jwt.tsv")
if jwt:
    body.append("")
    body.append("The core alone (`bench/jwt-verify.c`: `spectra_jwt_verify` "
                "and `spectra_claims_tenant` on distinct tokens in a loop, "
                "against `EVP_PKEY_verify` on a ready digest with a context "
                "made once, what `openssl speed` times; process CPU time, "
                "same process):")
    body.append("")
    body.append("| alg | verify + claims µs | signature µs | ratio |")
    body.append("|---|---:|---:|---:|")
    for alg in ("RS256", "ES256"):
        rows = [r for r in jwt if r[0] == alg and len(r) >= 4]
        if not rows:
            continue
        v = spread([num(r[1]) for r in rows])
        s = spread([num(r[2]) for r in rows])
        q = spread([num(r[3]) for r in rows])
        body.append("| %s | %s | %s | %s |" % (alg, fmt(v), fmt(s),
                                                fmt(q, 3)))
        if q:
            target("fresh %s verification ≤ 1.3× its signature (core)" % alg,
                   "%.2f×" % q[0], "≤ 1.3×", q[0] <= 1.3,
                   "" if q[0] <= 1.3 else "%.0f %% over"
                   % ((q[0] / 1.3 - 1) * 100))
out("## Authentication")
out()
if body:
    md.extend(body)
else:
    out("No output (auth did not run or failed).")
out()

# --- query latency by result size --------------------------------------------

lat = {}        # rows -> lists of (p50, p99, psql50, psql99)
tput = []       # (qps, errors, tps)
plain = []
lat_re = re.compile(r"^(\S+)\s+(\d+)\s+([0-9.]+)\s+([0-9.]+)\s+([0-9.]+)\s+"
                    r"([0-9.]+)\s+([0-9.]+)\s+([0-9.]+)\s+(\d+)$")
tp_re = re.compile(r"^(\S+)\s+([0-9.]+)\s+(\d+)\s+(\d+)\s+([0-9.]+)\s+(\d+)"
                   r"\s+([0-9.]+)$")
plain_re = re.compile(r"^nginx return 200\s+([0-9.]+)\s")
qfiles = sorted(glob.glob(os.path.join(run_dir, "query-*.txt")))
for path in qfiles:
    with open(path) as f:
        for line in f:
            line = line.rstrip()
            m = lat_re.match(line)
            if m:
                lat.setdefault(int(m.group(2)), []).append(
                    tuple(float(m.group(i)) for i in (3, 4, 5, 6)))
                continue
            m = tp_re.match(line)
            if m:
                tput.append((float(m.group(2)),
                             int(m.group(3)) + int(m.group(4)),
                             float(m.group(5))))
                continue
            m = plain_re.match(line)
            if m:
                plain.append(float(m.group(1)))

seed = {1: None, 100: 500.0, 1000: 800.0, 10000: 2000.0}
out("## Query latency by result size")
out()
if lat:
    out("`bench/query.sh` (mode longpoll+sessions, %d runs): `POST "
        "/v1/queries` of `select * from sales order by id limit N` (11 "
        "columns) as tenant acme, wrk with one keep-alive connection; "
        "baseline: the same SQL by `psql` as tenant_acme in one session "
        "(`\\timing`). The seed serverless design's published figures are "
        "beside ours." % len(qfiles))
    out()
    out("| rows | ours p50 ms | ours p99 ms | psql p50 ms | psql p99 ms | "
        "× psql (p50) | seed design ms | seed / ours |")
    out("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for rows in sorted(lat):
        v = lat[rows]
        p50 = spread([x[0] for x in v])
        p99 = spread([x[1] for x in v])
        g50 = spread([x[2] for x in v])
        g99 = spread([x[3] for x in v])
        x = spread([x[0] / x[2] if x[2] else None for x in v])
        s = seed.get(rows)
        out("| %s | %s | %s | %s | %s | %s | %s | %s |" % (
            "{:,}".format(rows), fmt(p50), fmt(p99), fmt(g50), fmt(g99),
            fmt(x, 1), "%.0f" % s if s else "–",
            "%.0f×" % (s / p50[0]) if s and p50 else "–"))
        if rows == 10000 and x:
            target("10,000-row p50 ≤ 2× psql", "%.1f×" % x[0], "≤ 2×",
                   x[0] <= 2, "" if x[0] <= 2
                   else "%.0f %% over" % ((x[0] / 2 - 1) * 100))
        if rows == 100 and p50:
            target("100-row p50 ≤ 3 ms", "%.2f ms" % p50[0], "≤ 3 ms",
                   p50[0] <= 3, "" if p50[0] <= 3
                   else "%.0f %% over" % ((p50[0] / 3 - 1) * 100))
    out()
    if tput:
        q = spread([t[0] for t in tput])
        t = spread([t[2] for t in tput])
        out("query.sh's 32-client throughput (100 rows): %s queries/s, "
            "errors %s, pgbench %s tps, ratio %s; plain nginx `return 200`: "
            "%s req/s." % (fmt(q, 1), ", ".join(str(x[1]) for x in tput),
                           fmt(t, 1), ratio_s(q, t, 3),
                           fmt(spread(plain), 0)))
        out()
    out("![latency by result size](results/latency.png)")
else:
    out("No latency figures (query.sh did not run, failed, or its table "
        "changed shape; see the appendix).")
out()

# --- the result encoder alone ------------------------------------------------

enc = {}
for line in (read("encode.txt") or "").splitlines():
    m = re.match(r"^(records-first|meta-first|ahead)\s+([\d.]+)\s+([\d.]+)"
                 r"\s+([\d.]+)\s*$", line)
    if m:
        enc.setdefault(m.group(1), []).append(
            (float(m.group(2)), float(m.group(3)), float(m.group(4))))
out("## Result encoder, one 10,000-row page")
out()
if len(enc) == 3:
    head = re.search(r"^page: .*$", read("encode.txt"), re.M)
    out("`bench/result-encode.c` (the nginx-free core alone, %d runs of "
        "30 alternated rounds; %s): a page of the sales table's rows opened "
        "(checked, and written ahead when asked) and written, in objects "
        "format. `records-first` is the order spectra-dataapi sent before "
        "2026-12-03 (the rows are scanned, then checked, then written), "
        "`meta-first` the order it sends now without writing ahead (checked, "
        "then written), `ahead` what the module does (one pass, then a "
        "copy). The three answers are checked to be the same bytes."
        % (len(enc["ahead"]), head.group(0) if head else "page"))
    out()
    out("| way | open ms | write ms | sum ms | vs records-first |")
    out("|---|---:|---:|---:|---:|")
    base = spread([x[2] for x in enc["records-first"]])
    for way in ("records-first", "meta-first", "ahead"):
        v = enc[way]
        s = spread([x[2] for x in v])
        out("| %s | %s | %s | %s | %s |" % (
            way, fmt(spread([x[0] for x in v])),
            fmt(spread([x[1] for x in v])), fmt(s), ratio_s(s, base, 2)))
else:
    out("No encoder figures (result-encode did not run or failed; see the "
        "appendix).")
out()

# --- throughput by concurrency -----------------------------------------------

conc = {}
# CPU time per query of each process of the stack (ms), when load.sh took it
conc_cpu = {}
for r in tsv("concurrency.tsv"):
    if r[0] == "run" or len(r) < 7:
        continue
    conc.setdefault(int(r[1]), []).append(
        (num(r[2]), num(r[3]), num(r[4]), int(r[5]), num(r[6])))
    if len(r) >= 11:
        conc_cpu.setdefault(int(r[1]), []).append(
            tuple(num(x) for x in r[7:11]))
try:
    ncpu = int(machine.get("cpus", ""))
except ValueError:
    ncpu = os.cpu_count() or 1


def cpu_ceiling(c):
    """(median CPU ms per query by process, their sum, the q/s ncpu give)"""
    v = conc_cpu.get(c)
    if not v:
        return None
    parts = [spread([x[i] for x in v]) for i in range(4)]
    if any(p is None for p in parts):
        return None
    total = sum(p[0] for p in parts)
    return parts, total, (ncpu * 1000 / total if total > 0 else None)
out("## Throughput by concurrency")
out()
if conc:
    out("`bench/load.sh` part 1: the 100-row query with N keep-alive clients "
        "(wrk, every answer checked: 200 and 100 rows; nginx with the local "
        "config's 2 workers), each next to `pgbench -c N` on the same SQL as "
        "tenant_acme, %d runs of %s s each."
        % (max(len(v) for v in conc.values()),
           machine.get("settings", "").split(",")[1].split()[0]
           if "," in machine.get("settings", "") else "?"))
    out()
    out("| clients | queries/s | p50 ms | p99 ms | errors | pgbench tps | "
        "ratio |")
    out("|---:|---:|---:|---:|---:|---:|---:|")
    for c in sorted(conc):
        v = conc[c]
        q = spread([x[0] for x in v])
        t = spread([x[4] for x in v])
        out("| %d | %s | %s | %s | %d | %s | %s |" % (
            c, fmt(q, 1), fmt(spread([x[1] for x in v])),
            fmt(spread([x[2] for x in v])), sum(x[3] for x in v), fmt(t, 1),
            ratio_s(q, t, 3)))
        if c == 32 and q:
            errs = sum(x[3] for x in v)
            ceil = cpu_ceiling(32)
            target("≥ 1,500 queries/s of 100 rows at 32 clients, 0 errors",
                   "%.0f q/s, %d errors" % (q[0], errs), "≥ 1,500, 0",
                   q[0] >= 1500 and errs == 0,
                   "" if q[0] >= 1500 and errs == 0
                   else "%.0f %% short%s" % (
                       (1 - q[0] / 1500) * 100,
                       "; the stack's CPU per query (%.2f ms on %d CPUs) "
                       "allows %.0f" % (ceil[1], ncpu, ceil[2])
                       if ceil and ceil[2] else ""))
    out()
    out("![throughput by concurrency](results/concurrency.png)")
    if conc_cpu:
        out()
        out("CPU time per query of each process of the stack during the "
            "same wrk runs (ms; user + system from /proc: the nginx "
            "workers, spectra-dataapi with its threads, PostgreSQL's "
            "postmaster and backends, wrk itself), and the rate %d CPUs "
            "allow at that cost (%d × 1000 / the sum). Where the measured "
            "rate is near its ceiling, the CPU the stack spends per query "
            "is what bounds it, not waiting." % (ncpu, ncpu))
        out()
        out("| clients | nginx | spectra-dataapi | PostgreSQL | wrk | sum "
            "| ceiling q/s | measured q/s |")
        out("|---:|---:|---:|---:|---:|---:|---:|---:|")
        for c in sorted(conc_cpu):
            ceil = cpu_ceiling(c)
            if ceil is None:
                continue
            parts, total, top = ceil
            q = spread([x[0] for x in conc.get(c, [])])
            out("| %d | %s | %s | %s | %s | %.3f | %s | %s |" % (
                c, fmt(parts[0], 3), fmt(parts[1], 3), fmt(parts[2], 3),
                fmt(parts[3], 3), total,
                "%.0f" % top if top else "n/a",
                "%.0f" % q[0] if q else "n/a"))
else:
    out("No figures (load.sh did not run or failed).")
out()

# --- event loop --------------------------------------------------------------

ev = tsv("eventloop.tsv")
out("## Event-loop health")
out()
if ev:
    out("`bench/load.sh` part 2: nginx with one worker under the 32-client "
        "load of part 1; a probe sends `GET` to a `return 204` location of "
        "the same worker every 10 ms on one keep-alive connection "
        "(`bench/answers-client.py health`), and the same probe goes to a "
        "plain nginx at the same time (what the load of the machine alone "
        "does to a request on two CPUs). The probe's latency bounds the "
        "worker's stalls from above: it also holds the probe's own "
        "scheduling delay.")
    out()
    out("| case | n | p50 ms | p99 ms | max ms | not ok |")
    out("|---|---:|---:|---:|---:|---:|")
    loaded = None
    for r in ev:
        if r[0] in ("case",):
            continue
        if r[0] == "load":
            out()
            out("Load during the probe: %s." % ", ".join(r[1:]))
            continue
        out("| %s |" % " | ".join(r))
        if "32 clients" in r[0]:
            loaded = r
    if loaded:
        mx, p99 = num(loaded[4]), num(loaded[3])
        target("no event-loop stall over 5 ms (probe max, 32 clients)",
               "max %s ms, p99 %s ms" % (loaded[4], loaded[3]), "≤ 5 ms",
               mx is not None and mx <= 5,
               "" if mx is not None and mx <= 5 else "max %.0f %% over" %
               ((mx / 5 - 1) * 100) if mx else "")
    turns = [r for r in tsv("loopturns.tsv") if r and r[0] == "turns"]
    if turns and len(turns[0]) >= 7:
        t = turns[0]
        out()
        out("The worker's event-loop turns under the same load, from "
            "`strace -T -e trace=epoll_wait` on the worker (the time from "
            "one `epoll_wait` returning to the next call: every event of "
            "that turn handled, plus the time the worker was not on a CPU, "
            "plus strace's own cost, so an upper bound): %s turns, p50 "
            "%s ms, p99 %s ms, max %s ms, %s turns over 5 ms (%s)."
            % tuple(t[1:7]))
    perf = read("worker-perf.txt")
    if perf:
        out()
        out("Where the worker's time went meanwhile (`perf record -F 499 "
            "-g -p WORKER`, cpu-clock; by library, then by symbol):")
        out()
        out("```")
        out(perf.rstrip())
        out("```")
else:
    out("No figures (load.sh did not run or failed).")
out()

# --- memory ------------------------------------------------------------------

mem = tsv("memory.tsv")
out("## Memory")
out()
if mem:
    out("`bench/load.sh` part 3: peak RSS (VmHWM, reset by `echo 5 > "
        "/proc/PID/clear_refs` before the load) of the nginx worker (one "
        "worker) and of spectra-dataapi during 4 clients of 10,000-row "
        "queries; bytes allocated per 10,000-row response counted by "
        "`bench/malloc-count.c` (LD_PRELOAD: every malloc, calloc, realloc, "
        "posix_memalign ... size; frees not subtracted) over sequential "
        "answers.")
    out()
    out("| process | RSS before MiB | peak MiB | allocations / response | "
        "bytes allocated / response |")
    out("|---|---:|---:|---:|---:|")
    for r in mem:
        if r[0] in ("process",):
            continue
        if len(r) >= 5 and num(r[1]) is not None:
            out("| %s | %.1f | %.1f | %s | %s |" % (
                r[0], num(r[1]) / 1024, num(r[2]) / 1024,
                "{:,}".format(int(num(r[3]))), "{:,}".format(int(num(r[4])))))
        elif r[0] == "response_bytes":
            out()
            out("One response: %s bytes of JSON." % "{:,}".format(int(r[1])))
        elif r[0] == "load":
            out()
            out("Load: %s." % ", ".join(r[1:]))
else:
    out("No figures (load.sh did not run or failed).")
out()
out("During the 1,000,000-row export, spectra-dataapi's VmHWM is in the "
    "export section below (bulk.sh); the nginx worker only serves the "
    "job's status and the presigned download there.")
out()

# --- data api ----------------------------------------------------------------

out("## Data API round trips")
out()
text = read("dataapi.txt")
rows = []
if text:
    for line in text.splitlines():
        m = re.match(r"^(.+?)\s+(\d+)\s+([0-9.]+)\s+([0-9.]+)\s+([0-9.]+)\s+"
                     r"([0-9.]+)\s+([0-9.]+)$", line)
        if m:
            rows.append(m.groups())
if rows:
    out("`bench/dataapi.sh` (one run): ExecuteStatement → DescribeStatement "
        "(long poll) → GetStatementResult, SigV4-signed, against pgbench on "
        "the same SQL.")
    out()
    out("| case | clients | trips/s | pgbench tps | ratio | daemon CPU "
        "ms/trip | RSS MiB |")
    out("|---|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        out("| %s |" % " | ".join(r))
else:
    out("No figures (dataapi.sh did not run, failed, or its table changed "
        "shape).")
out()

# --- bulk, parquet, import ---------------------------------------------------


def heavy(name):
    res = []
    for path in sorted(glob.glob(os.path.join(run_dir, name + "-*.txt"))):
        with open(path) as f:
            res.append(f.read())
    return res


out("## Bulk export (1,000,000 rows, CSV + gzip)")
out()
bulk = heavy("bulk")
b_ours, b_psql, b_hwm = [], [], []
for t in bulk:
    m = re.search(r"^psql \\copy.*?\s([0-9.]+)\s+\d+\s", t, re.M)
    n = re.search(r"^POST /v1/bulk.*?\s([0-9.]+)\s+\d+\s", t, re.M)
    h = re.search(r"peak growth during the export: \+([0-9.]+) MiB", t)
    if m and n:
        b_psql.append(float(m.group(1)))
        b_ours.append(float(n.group(1)))
    if h:
        b_hwm.append(float(h.group(1)))
if b_ours:
    o, p = spread(b_ours), spread(b_psql)
    out("`bench/bulk.sh` (%d run(s)): `POST /v1/bulk` until the last file "
        "is downloaded, against `psql \\copy (…) to program 'gzip > file'` "
        "as the same tenant." % len(b_ours))
    out()
    out("| | seconds | × psql | seed design s |")
    out("|---|---:|---:|---:|")
    out("| ours | %s | %s | 45 |" % (fmt(o), ratio_s(o, p)))
    out("| psql `\\copy` + gzip | %s | 1.00 | |" % fmt(p))
    out()
    out("spectra-dataapi peak RSS growth during the export: %s MiB."
        % fmt(spread(b_hwm), 1))
    target("1,000,000-row CSV+gzip export ≤ 1.3× psql \\copy \\| gzip",
           "%s×" % ratio_s(o, p), "≤ 1.3×", o[0] / p[0] <= 1.3,
           "" if o[0] / p[0] <= 1.3
           else "%.0f %% over" % ((o[0] / p[0] / 1.3 - 1) * 100))
else:
    out("No figures (bulk.sh did not run or failed).")
out()

out("## Parquet write")
out()
pq = heavy("parquet")
if pq:
    out("`bench/parquet.sh` (%d run(s)); its ratios:" % len(pq))
    out()
    for t in pq:
        for line in t.splitlines():
            if re.match(r"^\s+(UNLOAD|file size).*x$", line) or \
               line.startswith("spectra-dataapi peak RSS") or \
               re.match(r"^\d+ rows of", line):
                out("    " + line.strip())
        out()
else:
    out("No figures (parquet.sh did not run or failed).")
out()

out("## Import (CSV + gzip)")
out()
im = heavy("import")
i_ours, i_psql = [], []
for t in im:
    m = re.search(r"^psql \\copy.*?\s([0-9.]+)\s+\d+$", t, re.M)
    n = re.search(r"^POST /v1/imports.*?\s([0-9.]+)\s+\d+$", t, re.M)
    if m and n:
        i_psql.append(float(m.group(1)))
        i_ours.append(float(n.group(1)))
if i_ours:
    o, p = spread(i_ours), spread(i_psql)
    rows_m = re.search(r"^(\d+) rows of events", im[0], re.M)
    out("`bench/import.sh` (%d run(s), %s rows): `POST /v1/imports` .. "
        "`JobComplete`, against the superuser's `psql \\copy from program "
        "'gzip -dc'` (COPY FROM is refused under row-level security)."
        % (len(i_ours), rows_m.group(1) if rows_m else "?"))
    out()
    out("| | seconds | × psql |")
    out("|---|---:|---:|")
    out("| ours | %s | %s |" % (fmt(o), ratio_s(o, p)))
    out("| psql `\\copy` | %s | 1.00 |" % fmt(p))
else:
    out("No figures (import.sh did not run or failed).")
out()

# --- targets -----------------------------------------------------------------

summary = ["## Targets (issue 16)", "",
           "| target | ours | goal | met | missed by |",
           "|---|---|---|---|---|"]
for t in targets:
    summary.append("| %s | %s | %s | %s | %s |" % t)
summary.append("")
summary.append("What bounds the misses is in `bench/README.md` (each "
               "benchmark's section, with its profile).")
# the load average after the run is mostly the run's own clients and
# servers: only the one taken before it says whether others shared the CPUs
try:
    load1 = float(machine.get("load_before", "0").split()[0])
    cores = int(machine.get("cpus", "0"))
except (ValueError, IndexError):
    load1, cores = 0.0, 0
if cores and load1 > cores / 2:
    summary.append("")
    summary.append("**This run shared the machine**: the load average "
                   "was %.1f on %d cores before it started (other jobs), "
                   "so every process of the stack waited for a CPU at each "
                   "hand-off; the latencies and rates above are those of "
                   "that machine, the ratios to the same-run baselines and "
                   "the instruction counts are the figures to compare."
                   % (load1, cores))
elif cores:
    summary.append("")
    summary.append("The machine was quiet before the run (load average "
                   "%.2f on %d cores); the load average after it is the "
                   "benchmark's own clients and servers." % (load1, cores))
summary.append("")
at = md.index("## Authentication")
md[at:at] = summary

# --- appendix ----------------------------------------------------------------

out("## Appendix: raw outputs")
out()
for name in ["auth.txt", "encode.txt", "dataapi.txt"] + \
        sorted(os.path.basename(p) for p in
               glob.glob(os.path.join(run_dir, "query-*.txt")) +
               glob.glob(os.path.join(run_dir, "bulk-*.txt")) +
               glob.glob(os.path.join(run_dir, "parquet-*.txt")) +
               glob.glob(os.path.join(run_dir, "import-*.txt"))):
    text = read(name)
    if text is None:
        continue
    out("<details><summary>%s</summary>" % name)
    out()
    out("```")
    out(text.rstrip())
    out("```")
    out("</details>")
    out()
for r in failed:
    log = None
    for cand in (r[0] + ".log", r[0] + ".txt"):
        log = read(cand)
        if log is not None:
            break
    out("<details><summary>%s failed: end of its log</summary>" % r[0])
    out()
    out("```")
    out("\n".join((log or "(no log)").rstrip().splitlines()[-15:]))
    out("```")
    out("</details>")
    out()

# --- charts ------------------------------------------------------------------


def gnuplot(script):
    try:
        subprocess.run(["gnuplot"], input=script.encode(), check=True)
    except (OSError, subprocess.CalledProcessError) as e:
        sys.stderr.write("report.py: gnuplot: %s\n" % e)


os.makedirs(charts, exist_ok=True)
if lat:
    data = os.path.join(run_dir, "latency.dat")
    with open(data, "w") as f:
        for rows in sorted(lat):
            v = lat[rows]
            p = spread([x[0] for x in v])
            g = spread([x[2] for x in v])
            f.write("%d %f %f %f %f %f %f\n" % ((rows,) + p + g))
    gnuplot("""set terminal pngcairo size 800,500
set output '%s'
set title 'Query latency by result size (p50, min-max over runs)'
set logscale xy
set xlabel 'rows'
set ylabel 'ms'
set key top left
set grid
plot '%s' using 1:2:3:4 with yerrorlines title 'Spectra (nginx + dataapi)', \\
     '' using 1:5:6:7 with yerrorlines title 'psql, same SQL'
""" % (os.path.join(charts, "latency.png"), data))
if conc:
    data = os.path.join(run_dir, "concurrency.dat")
    with open(data, "w") as f:
        for c in sorted(conc):
            q = spread([x[0] for x in conc[c]]) or (0, 0, 0)
            t = spread([x[4] for x in conc[c]])
            f.write("%d %f %f %f %s\n" % ((c,) + q + (
                "%f %f %f" % t if t else "NaN NaN NaN",)))
    gnuplot("""set terminal pngcairo size 800,500
set output '%s'
set title 'Throughput by concurrency, 100-row query (median, min-max)'
set logscale xy 2
set xlabel 'clients'
set ylabel 'queries/s'
set key top left
set grid
plot '%s' using 1:2:3:4 with yerrorlines title 'Spectra (nginx + dataapi)', \\
     '' using 1:5:6:7 with yerrorlines title 'pgbench, same SQL'
""" % (os.path.join(charts, "concurrency.png"), data))

with open(os.path.join(bench_dir, "RESULTS.md"), "w") as f:
    f.write("\n".join(md).rstrip() + "\n")
