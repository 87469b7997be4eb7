#!/usr/bin/env python3
"""Runs one or more wrk processes at once (one per target URL) and, around them, samples where
the machine's CPU went: the sidian nodes (/proc/PID/stat), wrk (rusage), PostgreSQL (every
process named postgres) and the rest; and how many transactions PostgreSQL committed in the
benchmark's database (pg_stat_database.xact_commit). Appends one JSON line to
$WORK/results.jsonl. Used by tools/bench-cluster.sh.

usage: runwrk.py LABEL PHASE DURATION THREADS CONNECTIONS SCRIPT URL [URL ...]
env:   WORK, SIDIAN_PIDS (space-separated), DB_URL, DB_NAME, SIDIAN_PATH, SIDIAN_KEY (for wrk)
"""

import json
import os
import re
import subprocess
import sys
import threading
import time

label, phase, duration, threads, conns, script, *urls = sys.argv[1:]
hz = os.sysconf("SC_CLK_TCK")
pids = [int(p) for p in os.environ["SIDIAN_PIDS"].split()]


def machine():
    f = [int(x) for x in open("/proc/stat").readline().split()[1:]]
    return sum(f), f[3] + f[4]                       # total, idle + iowait (jiffies, all CPUs)


def proc_cpu(pid):
    try:
        f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    return int(f[11]) + int(f[12])                   # utime + stime


def all_cpu():
    """utime + stime and name of every process."""
    out = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                head, tail = open(f"/proc/{d}/stat").read().rsplit(")", 1)
            except OSError:
                continue
            f = tail.split()
            out[int(d)] = (head.split("(", 1)[1], int(f[11]) + int(f[12]))
    return out


def commits():
    q = f"SELECT xact_commit FROM pg_stat_database WHERE datname = '{os.environ['DB_NAME']}'"
    return int(subprocess.run(["psql", "-Atq", os.environ["DB_URL"], "-c", q], check=True,
                              capture_output=True, text=True).stdout.strip())


def seconds(d):
    m = re.fullmatch(r"(\d+(?:\.\d+)?)(ms|s|m|h)?", d)
    return float(m.group(1)) * {"ms": 0.001, "s": 1, None: 1, "m": 60, "h": 3600}[m.group(2)]


class Waits(threading.Thread):
    """Samples pg_stat_activity every 50 ms through one psql process: what the database's active
    backends wait on (Lock:transactionid is a batch queued behind another node's on the
    audit_head row; IO:WALSync a commit flushing the WAL; none: running)."""

    def __init__(self):
        super().__init__(daemon=True)
        self.stop = threading.Event()
        self.samples = 0
        self.counts = {}
        self.psql = subprocess.Popen(["psql", "-Atq", "-F", "|", os.environ["DB_URL"]],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def run(self):
        q = ("SELECT coalesce(wait_event_type || ':' || wait_event, 'none'), count(*) "
             "FROM pg_stat_activity WHERE datname = current_database() AND state = 'active' "
             "AND pid <> pg_backend_pid() GROUP BY 1; SELECT 'END';\n")
        while not self.stop.wait(0.05):
            self.psql.stdin.write(q)
            self.psql.stdin.flush()
            for line in self.psql.stdout:
                line = line.strip()
                if line == "END":
                    break
                what, n = line.rsplit("|", 1)
                self.counts[what] = self.counts.get(what, 0) + int(n)
            self.samples += 1
        self.psql.stdin.close()
        self.psql.wait()

    def mean(self):
        return {k: round(v / max(self.samples, 1), 2)
                for k, v in sorted(self.counts.items(), key=lambda x: -x[1])}


waits = Waits()
waits.start()
t0, i0 = machine()
s0 = sum(proc_cpu(p) for p in pids)
all0 = all_cpu()
w0 = time.monotonic()
children = [subprocess.Popen(["wrk", f"-t{threads}", f"-c{conns}", f"-d{duration}", "--latency",
                              "-s", script, url], stdout=subprocess.PIPE, text=True)
            for url in urls]
# The commit rate is read while the load runs, between 1 s after the start and 1 s before the
# end: each busy backend flushes its statistics about once a second, so both readings lag alike
# (an idle backend may hold its last second's counts for 10 s, which would skew a reading taken
# after the run).
span = seconds(duration)
time.sleep(min(1.0, span / 4))
ca, ta = commits(), time.monotonic()
time.sleep(max(0.5, span - 2 * min(1.0, span / 4)))
cb, tb = commits(), time.monotonic()
outs = [c.stdout.read() for c in children]
wrk_cpu = 0.0
codes = []
for c in children:
    _, status, ru = os.wait4(c.pid, 0)
    codes.append(os.waitstatus_to_exitcode(status))
    wrk_cpu += ru.ru_utime + ru.ru_stime
wall_s = time.monotonic() - w0
t1, i1 = machine()
s1 = sum(proc_cpu(p) for p in pids)
all1 = all_cpu()
waits.stop.set()
waits.join()

work = os.environ["WORK"]
runs = []
for n, (url, out, code) in enumerate(zip(urls, outs, codes)):
    with open(f"{work}/wrk-{phase}-{label}-{n}.txt", "w") as f:
        f.write(out)
    m = re.search(r"^BENCH (\{.*\})$", out, re.M)
    if code != 0 or not m:
        sys.exit(f"bench-cluster: wrk failed for {label} on {url}:\n{out}")
    runs.append(json.loads(m.group(1)))

ncpu = os.cpu_count()
wall = (t1 - t0) / ncpu                               # elapsed jiffies per CPU
busy = 1 - (i1 - i0) / (t1 - t0)
# CPU of every process during the run, by name (a process that ended meanwhile is not seen; a
# kernel worker's name changes with its work item, so it is matched by pid alone).
by_name = {}
for p, (name, v) in all1.items():
    if p in pids or p == os.getpid():
        continue
    prev = all0.get(p)
    by_name[name] = by_name.get(name, 0) + v - (prev[1] if prev else 0)
pg = by_name.pop("postgres", 0)
by_name.pop("wrk", None)                              # counted by rusage
r = {
    "label": label, "phase": phase, "nodes": len(urls),
    "requests": sum(x["requests"] for x in runs),
    "rps": round(sum(x["rps"] for x in runs), 1),
    "p50_ms": max(x["p50_ms"] for x in runs),
    "p99_ms": max(x["p99_ms"] for x in runs),
    "p999_ms": max(x["p999_ms"] for x in runs),
    "per_node_rps": [round(x["rps"]) for x in runs],
    "non2xx": sum(x["non2xx"] for x in runs),
    "socket_errors": sum(sum(x["socket_errors"].values()) for x in runs),
    "ok200": sum(int(x["statuses"].get("200", 0)) for x in runs),
    "commits_per_s": round((cb - ca - 1) / (tb - ta), 1),
    "busy_pct": round(100 * busy, 1),
    "sidian_cores": round((s1 - s0) / wall, 2),
    "wrk_cores": round(wrk_cpu * hz / wall, 2),
    "pg_cores": round(pg / wall, 2),
}
r["other_cores"] = round(ncpu * busy - r["sidian_cores"] - r["wrk_cores"] - r["pg_cores"], 2)
r["failed"] = r["non2xx"] + r["socket_errors"]
r["pg_waits"] = waits.mean()     # mean number of the database's active backends, by wait event
r["other_top"] = {n: round(v / wall, 2) for n, v in sorted(by_name.items(), key=lambda x: -x[1])[:3]
                  if v / wall >= 0.05}
with open(f"{work}/results.jsonl", "a") as f:
    f.write(json.dumps(r) + "\n")
if phase == "run":
    print(f"  {label:<12} {r['rps']:>8.0f} req/s  p99 {r['p99_ms']:.2f} ms (worst node)"
          f"  PG {r['commits_per_s']:.0f} commits/s  failed {r['failed']}"
          f"  | cores: sidian {r['sidian_cores']} pg {r['pg_cores']} wrk {r['wrk_cores']}"
          f" other {r['other_cores']}"
          + (f" ({', '.join(f'{n} {v}' for n, v in r['other_top'].items())})"
             if r["other_top"] else "")
          + "\n    PG backends active (mean over the run, by wait): "
          + ", ".join(f"{k} {v}" for k, v in r["pg_waits"].items() if v >= 0.01), flush=True)
