#!/usr/bin/env python3
"""The benchmark driver (called by bench/run.sh, which builds and starts PostgreSQL first).

Standard library only. For each market size N it starts a fresh fake-coingecko serving N
synthetic coins (--synthetic N --live-timestamps: unique ids cloned from a real capture, every
poll a new last_updated, so every tick inserts N new rows), a fresh database and a fresh daemon
(`run`), lets it tick, and measures from outside the process:

  daemon CPU per tick   process CPU clock (clock_gettime on the pid's CPU clock: user+system
                        time of every thread, nanoseconds), sampled every 5 ms; a tick's CPU is
                        the difference between the samples 100 ms before its first request and
                        100 ms before the next tick's first request (so it also holds the idle
                        background of one interval, measured separately as "idle CPU")
  request-to-commit     fake-coingecko's arrival time of the tick's first request (page 1) to
                        PostgreSQL's commit timestamp of the snapshot's etl_runs row
                        (track_commit_timestamp); same host, same clock
  last page -> commit   mtime of the snapshot's last raw page file (written the moment the body
                        arrived) to that commit timestamp
  rows/s                rows inserted by the snapshot / request-to-commit
  peak RSS              VmHWM of the daemon after its measured ticks (fresh process per N)
  idle RSS              VmRSS of a 250-coin daemon 3 s after its first tick committed, waiting for
                        the next (POLL_INTERVAL=1h)
  /metrics latency      wrk, paced to ~200 requests/s on loopback while the 2,500-coin daemon ticks
"""
import argparse
import bisect
import datetime
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request

FIXTURE = "tests/fixtures/madjin__daily-crypto__markets_usd_top100_2026-04-30.json"
PER_PAGE = 250
# POLL_INTERVAL per N: long enough that a tick never overlaps the next on a busy 2-core host.
INTERVALS = {250: 1.0, 2500: 2.0, 17500: 12.0}
GUARD = 0.1  # seconds before a tick's first request where its CPU window starts
TARGETS = {  # (metric, N) -> limit, from the issue
    ("cpu_ms", 2500): 25, ("req_to_commit_ms", 2500): 60, ("peak_rss_mib", 2500): 16,
    ("cpu_ms", 17500): 150, ("last_page_to_commit_ms", 17500): 300, ("peak_rss_mib", 17500): 24,
}
MARK_BEGIN = "<!-- bench:begin fsync={} (written by bench/run.sh; edit outside these markers) -->"
MARK_END = "<!-- bench:end fsync={} -->"


def log(msg):
    print(f"bench: {msg}", file=sys.stderr, flush=True)


def die(msg):
    log(f"FAILED: {msg}")
    raise SystemExit(1)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def iso_to_epoch(text):
    text = text.rstrip("Z")
    return datetime.datetime.fromisoformat(text).replace(tzinfo=datetime.timezone.utc).timestamp()


def http_get(url, timeout=10):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.read().decode()


class Psql:
    def __init__(self, url):
        self.url = url

    def run(self, sql, db=None):
        url = self.url if db is None else self.url.rsplit("/", 1)[0] + "/" + db
        out = subprocess.run(["psql", "-X", "-q", "-t", "-A", "-F", "\t", "-v", "ON_ERROR_STOP=1", url, "-c", sql],
                             capture_output=True, text=True, timeout=120)
        if out.returncode != 0:
            die(f"psql failed ({sql[:60]}...): {out.stderr.strip()}")
        return [line.split("\t") for line in out.stdout.splitlines() if line]

    def scalar(self, sql, db=None):
        rows = self.run(sql, db)
        return rows[0][0] if rows else None


class PsqlSession:
    """One long-lived psql connection for the reads taken while a daemon ticks (WAL position):
    a new connection per read would start a backend, and that backend's CPU would land in the
    very PostgreSQL CPU figure being measured."""

    def __init__(self, url):
        self.proc = subprocess.Popen(["psql", "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", url],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)

    def scalar(self, sql):
        # \echo after the query: psql flushes its output at every \echo, so the line arrives now.
        self.proc.stdin.write(sql.rstrip(";") + ";\n\\echo __end\n")
        self.proc.stdin.flush()
        lines = []
        while True:
            line = self.proc.stdout.readline()
            if not line:
                die(f"psql session ended during {sql[:60]!r}")
            if line.strip() == "__end":
                return lines[0].strip() if lines else None
            lines.append(line)

    def close(self):
        self.proc.stdin.close()
        self.proc.wait(10)


def lsn_bytes(lsn):
    hi, lo = lsn.split("/")
    return (int(hi, 16) << 32) + int(lo, 16)


def storage(psql, db):
    """Bytes stored per 1,000 coin_market rows: heap (with TOAST), each index, raw pages."""
    rows = int(psql.scalar("SELECT count(*) FROM coin_market", db))
    table = int(psql.scalar("SELECT coalesce(sum(pg_table_size(relid)), 0) FROM pg_partition_tree('coin_market') "
                            "WHERE isleaf", db))
    indexes = {name: int(size) for name, size in psql.run(
        "SELECT c.relname, (SELECT coalesce(sum(pg_relation_size(relid)), 0) FROM pg_partition_tree(c.oid)) "
        "FROM pg_index x JOIN pg_class c ON c.oid = x.indexrelid WHERE x.indrelid = 'coin_market'::regclass "
        "ORDER BY 1", db)}
    raw = int(psql.scalar("SELECT coalesce(sum(pg_total_relation_size(relid)), 0) "
                          "FROM pg_partition_tree('coin_market_raw') WHERE isleaf", db))
    per_k = (lambda b: b * 1000 / rows) if rows else (lambda b: None)
    return {"rows": rows, "table_bytes": table, "index_bytes": indexes, "raw_bytes": raw,
            "table_per_1000": per_k(table), "indexes_per_1000": per_k(sum(indexes.values())),
            "index_per_1000": {k: per_k(v) for k, v in indexes.items()}, "raw_per_1000": per_k(raw),
            "total_per_1000": per_k(table + sum(indexes.values()) + raw)}


def drop_bench_databases(psql):
    """Leftover databases of earlier sizes would keep autovacuum (PostgreSQL CPU) busy."""
    for (name,) in psql.run("SELECT datname FROM pg_database WHERE datname LIKE 'bench\\_%'"):
        psql.run(f"DROP DATABASE {name}")


def proc_status(pid):
    out = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                key, _, value = line.partition(":")
                if value.strip().endswith("kB"):
                    out[key] = int(value.split()[0])  # KiB
    except OSError:
        pass
    return out


def schedstat_ns(pid):
    try:
        with open(f"/proc/{pid}/schedstat") as f:
            return int(f.read().split()[0])
    except OSError:
        return None


CLK_TCK = os.sysconf("SC_CLK_TCK")


def pg_cluster_cpu_ns(postmaster):
    """CPU time the whole PostgreSQL cluster has used so far, in ns: the postmaster's own run time
    plus every live child's (schedstat: ns resolution; all single-threaded) plus every exited,
    reaped child's (the postmaster's cutime + cstime, which the kernel keeps in ns but /proc
    shows in clock ticks: 10 ms resolution). A backend that exits between two samples moves
    from the live sum into cutime, so short-lived backends (autovacuum workers, parallel
    workers, the bench's own psql) are counted too; a window in which one exits is exact to
    ±10 ms (the daemon's own backend lives as long as the daemon)."""
    try:
        with open(f"/proc/{postmaster}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        with open(f"/proc/{postmaster}/task/{postmaster}/children") as f:
            kids = [int(p) for p in f.read().split()]
    except OSError:
        return None
    # fields[0] is the state (field 3); cutime and cstime are fields 16 and 17.
    exited = (int(fields[13]) + int(fields[14])) * (1_000_000_000 // CLK_TCK)
    total = (schedstat_ns(postmaster) or 0) + exited
    for pid in kids:
        total += schedstat_ns(pid) or 0  # None: it exited just now (then it is in cutime next time)
    return total


def pg_idle_baseline(postmaster, seconds):
    """PostgreSQL's own CPU while nobody uses it (checkpointer, walwriter, autovacuum launcher,
    stats), in ns per second: subtracted from every tick window."""
    time.sleep(0.3)  # the backends of the bench's own psql calls have exited and been reaped
    c0, t0 = pg_cluster_cpu_ns(postmaster), time.time()
    time.sleep(seconds)
    c1, t1 = pg_cluster_cpu_ns(postmaster), time.time()
    # An exit inside the window can show as up to -10 ms (cutime's tick resolution): never < 0.
    return max(0.0, (c1 - c0) / (t1 - t0))


class Sampler(threading.Thread):
    """Samples the daemon's process CPU clock every 5 ms, its RSS every 50 ms, and the CPU of the
    whole PostgreSQL cluster (pg_cluster_cpu_ns) every 50 ms."""

    def __init__(self, pid, postmaster):
        super().__init__(daemon=True)
        self.clock = ((~pid) << 3) | 2  # Linux CPUCLOCK_SCHED for the whole process
        self.pid = pid
        self.postmaster = postmaster
        self.t, self.cpu = [], []
        self.rss_t, self.rss = [], []
        self.pg_t, self.pg = [], []
        self.stopping = threading.Event()

    def run(self):
        n = 0
        while not self.stopping.is_set():
            now = time.time()
            try:
                cpu = time.clock_gettime_ns(self.clock)
            except OSError:
                return  # the daemon exited
            self.t.append(now)
            self.cpu.append(cpu)
            if n % 10 == 0:
                self.rss_t.append(now)
                self.rss.append(proc_status(self.pid).get("VmRSS", 0))
                pg = pg_cluster_cpu_ns(self.postmaster)
                if pg is not None:
                    self.pg_t.append(now)
                    self.pg.append(pg)
            n += 1
            time.sleep(0.005)

    @staticmethod
    def _at(ts, vs, t):
        i = bisect.bisect_right(ts, t) - 1
        return vs[max(i, 0)] if vs else 0

    def cpu_at(self, t):
        return self._at(self.t, self.cpu, t)

    def pg_at(self, t):
        return self._at(self.pg_t, self.pg, t)

    def rss_at(self, t):
        return self._at(self.rss_t, self.rss, t)


class Fake:
    def __init__(self, binary, fixture, n, live=True):
        # live=False: every poll returns the same bodies (CoinGecko's 45-60 s cache seen from a
        # 30 s interval), so every tick after the first has nothing new.
        self.proc = subprocess.Popen([binary, "--fixture", fixture, "--synthetic", str(n)] +
                                     (["--live-timestamps"] if live else []) + ["--max-seconds", "3600"],
                                     stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if not line.startswith("LISTENING "):
            die(f"fake-coingecko did not start: {line!r}")
        self.port = int(line.split()[1])
        self.url = f"http://127.0.0.1:{self.port}/api/v3/coins/markets"

    def requests(self):
        return json.loads(http_get(f"http://127.0.0.1:{self.port}/__control/requests"))

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class Daemon:
    def __init__(self, args, workdir, db_url, fake, n, interval, command="run", wrapper=()):
        shutil.rmtree(workdir, ignore_errors=True)
        os.makedirs(workdir)
        self.workdir = workdir
        self.http_port = free_port()
        # A clean environment: nothing from the caller's shell (DATABASE_URL, a .env) leaks in.
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": workdir, "LANG": "C.UTF-8",
            "DATABASE_URL": db_url, "COINGECKO_URL": fake.url, "VS_CURRENCY": "usd",
            "PER_PAGE": str(min(PER_PAGE, n)), "PAGES": str(max(1, n // PER_PAGE)),
            "POLL_INTERVAL": f"{int(interval * 1000)}ms", "RATE_LIMIT_PER_MINUTE": "10000",
            "MIGRATIONS_DIR": os.path.join(args.src, "migrations"),
            "DATA_DIR": os.path.join(workdir, "data"), "LOG_DIR": os.path.join(workdir, "logs"),
            "HTTP_ADDR": f"127.0.0.1:{self.http_port}", "LOG_FORMAT": "json", "LOG_LEVEL": "info",
        }
        self.log_path = os.path.join(workdir, "stdout.log")
        self.log_file = open(self.log_path, "w")
        cmd = list(wrapper) + [os.path.join(args.build, "coingecko-etl"), command]
        self.proc = subprocess.Popen(cmd, cwd=workdir, env=self.env, stdout=self.log_file,
                                     stderr=subprocess.STDOUT)

    def lines(self):
        out = []
        with open(self.log_path, errors="replace") as f:
            for line in f:
                try:
                    out.append(json.loads(line))
                except ValueError:
                    pass
        return out

    def ticks(self):
        """[(result, seconds or None, log time)] from the "tick <result>" lines."""
        out = []
        for e in self.lines():
            m = re.match(r"tick (success|partial|failed)\b", e.get("msg", ""))
            if not m:
                continue
            secs = e.get("duration_ms")
            secs = secs / 1000 if isinstance(secs, (int, float)) else None
            if secs is None:
                d = re.search(r" in ([0-9.]+)s", e["msg"])
                secs = float(d.group(1)) if d else None
            out.append((m.group(1), secs, iso_to_epoch(e["ts"])))
        return out

    def wait_ticks(self, count, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                die(f"daemon exited with {self.proc.returncode}; see {self.log_path}")
            ticks = self.ticks()
            bad = [t for t in ticks if t[0] != "success"]
            if bad:
                die(f"tick not successful: {bad[0]}; see {self.log_path}")
            if len(ticks) >= count:
                return ticks
            time.sleep(0.2)
        die(f"timed out waiting for {count} ticks; see {self.log_path}")

    def metrics(self):
        return http_get(f"http://127.0.0.1:{self.http_port}/metrics")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log_file.close()
        return self.proc.returncode


def metric_value(text, name):
    total, found = 0.0, False
    for line in text.splitlines():
        if line.startswith(name) and (len(line) == len(name) or line[len(name)] in " {"):
            total += float(line.rsplit(" ", 1)[1])
            found = True
    return total if found else None


def wrk_load(args, url, seconds, rate=200, connections=2, keep_alive=False):
    """Paced wrk: each connection waits `gap` ms after each reply, so the connections together
    send about `rate` requests/s (Debian's wrk has no -R). Returns the parsed summary.
    keep_alive=False sends `Connection: close`, one TCP connection per request, as Prometheus and
    the kubelet effectively do (their intervals are longer than the server's 2 s keep-alive)."""
    # Minus the round trip (~1 ms on a reused connection, ~2 ms with a new connection each).
    gap = max(1, round(connections * 1000 / rate) - (1 if keep_alive else 2))
    script = os.path.join(args.out, "pace.lua")
    with open(script, "w") as f:
        f.write(f"-- written by bench.py: ~{rate} requests/s over {connections} connections\n"
                + ("" if keep_alive else 'wrk.headers["Connection"] = "close"\n')
                + f"function delay() return {gap} end\n")
    out = subprocess.run(["wrk", "-t", "1", "-c", str(connections), "-d", f"{seconds}s", "--latency",
                          "--timeout", "2s", "-s", script, url], capture_output=True, text=True,
                         timeout=seconds + 30)
    if out.returncode != 0:
        die(f"wrk failed: {out.stderr.strip()}")
    text = out.stdout
    unit = {"us": 1e-3, "ms": 1.0, "s": 1e3}

    def ms(v):
        m = re.match(r"([0-9.]+)(us|ms|s)$", v)
        return float(m.group(1)) * unit[m.group(2)] if m else None

    result = {"raw": text, "connections": connections, "gap_ms": gap, "seconds": seconds, "keep_alive": keep_alive}
    for p in ("50", "75", "90", "99"):
        m = re.search(rf"^\s+{p}%\s+(\S+)", text, re.M)
        result[f"p{p}_ms"] = ms(m.group(1)) if m else None
    m = re.search(r"Latency\s+\S+\s+\S+\s+(\S+)", text)
    result["max_ms"] = ms(m.group(1)) if m else None
    m = re.search(r"Requests/sec:\s+([0-9.]+)", text)
    result["rps"] = float(m.group(1)) if m else None
    m = re.search(r"(\d+) requests in", text)
    result["requests"] = int(m.group(1)) if m else None
    result["errors"] = "Non-2xx" in text or "Socket errors" in text
    return result


def query_runs(psql, db):
    rows = psql.run(
        "SELECT snapshot_id, status, coins_received, rows_inserted, "
        "extract(epoch FROM pg_xact_commit_timestamp(xmin)) FROM etl_runs ORDER BY started_at, snapshot_id", db)
    return [{"id": r[0], "status": r[1], "coins": int(r[2]), "inserted": int(r[3]),
             "commit": float(r[4]) if r[4] else None} for r in rows]


def last_raw_page_mtime(data_dir, snapshot_id):
    raw = os.path.join(data_dir, "raw")
    best = None
    for name in os.listdir(raw) if os.path.isdir(raw) else []:
        if name.startswith(snapshot_id + "_p") and name.endswith(".json"):
            m = os.stat(os.path.join(raw, name)).st_mtime
            best = m if best is None else max(best, m)
    return best


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def run_size(args, psql, postmaster, n, ticks, warmup, load_seconds, live=True):
    interval = float(os.environ.get(f"BENCH_INTERVAL_{n}", INTERVALS.get(n, 2.0)))
    db = f"bench_{n}" + ("" if live else "_same")
    drop_bench_databases(psql)
    psql.run(f"CREATE DATABASE {db}")
    db_url = psql.url.rsplit("/", 1)[0] + "/" + db
    # PostgreSQL's background CPU over at least one tick window, with no client: subtracted from
    # each tick's PostgreSQL CPU (it would be paid without the daemon too).
    idle_s = 1.0 if args.smoke else max(interval, 3.0)
    pg_idle_ns_per_s = pg_idle_baseline(postmaster, idle_s)
    log(f"N={n}{'' if live else ' (identical bodies)'}: POLL_INTERVAL={interval}s, {warmup} warm-up + {ticks} "
        f"measured ticks; PostgreSQL idle {pg_idle_ns_per_s / 1e6:.2f} ms/s over {idle_s:g}s")
    fake = Fake(os.path.join(args.build, "fake-coingecko"), os.path.join(args.src, FIXTURE), n, live)
    daemon = Daemon(args, os.path.join(args.out, f"run-{n}" + ("" if live else "-same")), db_url, fake, n, interval)
    session = PsqlSession(db_url)  # opened before the sampler: its backend start is not measured
    sampler = Sampler(daemon.proc.pid, postmaster)
    sampler.start()
    wal = {}
    try:
        wanted = warmup + ticks + 1  # +1: the next tick's start closes the last measured window
        # WAL: the insert position right after the warm-up and after the last measured tick; the
        # ticks committed in between (by commit timestamp) share the difference, background WAL
        # (checkpoints' full-page images, autovacuum) included.
        daemon.wait_ticks(warmup, timeout=warmup * (interval + 5) + 120)
        wal["t0"], wal["lsn0"] = time.time(), lsn_bytes(session.scalar("SELECT pg_current_wal_lsn()"))
        daemon.wait_ticks(wanted - 1, timeout=wanted * (interval + 5) + 120)
        wal["t1"], wal["lsn1"] = time.time(), lsn_bytes(session.scalar("SELECT pg_current_wal_lsn()"))
        daemon.wait_ticks(wanted, timeout=interval * 3 + 60)
        status_after = proc_status(daemon.proc.pid)
        load = None
        if load_seconds:
            log(f"N={n}: /metrics under wrk load for {load_seconds}s while ticking")
            load_start = time.time()
            load = wrk_load(args, f"http://127.0.0.1:{daemon.http_port}/metrics", load_seconds)
            load_end = time.time()
            load.update(start=load_start, end=load_end)
            if not args.smoke:
                # Reused connections: two (the server's thread count), then ten (more clients
                # than threads, so they queue behind each other's keep-alive).
                url = f"http://127.0.0.1:{daemon.http_port}/metrics"
                load["variants"] = []
                for conns in (2, 10):
                    log(f"N={n}: /metrics with {conns} keep-alive connections for 10s")
                    v = wrk_load(args, url, 10, connections=conns, keep_alive=True)
                    load["variants"].append({k: v for k, v in v.items() if k != "raw"})
            # One more tick after the load, so every tick started under load has a closed window.
            daemon.wait_ticks(len(daemon.ticks()) + 1, timeout=interval * 3 + 60)
        metrics = daemon.metrics()
    finally:
        rc = daemon.stop()
        sampler.stopping.set()
        sampler.join()
        session.close()
        try:
            requests = fake.requests()  # after the stop: every request the daemon made
        finally:
            fake.stop()
    if rc != 0:
        die(f"daemon exit status {rc} after SIGTERM; see {daemon.log_path}")

    tick_log = daemon.ticks()
    runs = query_runs(psql, db)
    firsts = [iso_to_epoch(r["time"]) for r in requests if re.search(r"(^|&)page=1(&|$)", r["query"])]
    # Tick k is the k-th page-1 request and the k-th snapshot; one extra request is a tick the
    # stop abandoned (its snapshot stays pending). Anything else (a retried page 1, a failed
    # load, overlapping ticks) would break the mapping, so it stops the bench.
    mapped = len(runs) <= len(firsts) <= len(runs) + 1 and all(
        r["status"] == "loaded" and r["commit"] and firsts[k] <= r["commit"] and
        (k + 1 >= len(firsts) or r["commit"] <= firsts[k + 1]) for k, r in enumerate(runs))
    if not mapped:
        die(f"N={n}: {len(firsts)} first-page requests vs {len(runs)} snapshots "
            f"({[r['status'] for r in runs]}): cannot map requests to ticks")
    per_tick = []
    for k in range(min(len(runs), len(firsts) - 1)):
        start, nxt = firsts[k] - GUARD, firsts[k + 1] - GUARD
        run = runs[k]
        expected = n if live or k == 0 else 0
        if run["inserted"] != expected:
            die(f"N={n}: snapshot {run['id']} inserted {run['inserted']} rows, expected {expected}")
        last_page = last_raw_page_mtime(daemon.env["DATA_DIR"], run["id"])
        r2c = (run["commit"] - firsts[k]) * 1000 if run["commit"] else None
        per_tick.append({
            "k": k, "start": firsts[k], "snapshot": run["id"],
            "cpu_ms": (sampler.cpu_at(nxt) - sampler.cpu_at(start)) / 1e6,
            "pg_cpu_ms": (sampler.pg_at(nxt) - sampler.pg_at(start) - pg_idle_ns_per_s * (nxt - start)) / 1e6,
            "req_to_commit_ms": r2c,
            "last_page_to_commit_ms": (run["commit"] - last_page) * 1000 if last_page and run["commit"] else None,
            "rows": run["inserted"],
            "rows_per_s": run["inserted"] / (r2c / 1000) if r2c and run["inserted"] else None,
            "tick_s": tick_log[k][1] if k < len(tick_log) else None,
            "idle_rss_kib": sampler.rss_at(start),
        })
    measured = [t for t in per_tick if warmup <= t["k"] < warmup + ticks]
    in_wal = [r for r in runs if r["commit"] and wal["t0"] < r["commit"] <= wal["t1"]]
    res = {"n": n, "live": live, "interval": interval, "ticks": len(measured), "warmup": warmup, "per_tick": per_tick,
           "pg_idle_ms_per_s": pg_idle_ns_per_s / 1e6,
           "wal_bytes_per_tick": (wal["lsn1"] - wal["lsn0"]) / len(in_wal) if in_wal else None,
           "wal_ticks": len(in_wal), "storage": storage(psql, db),
           "peak_rss_kib": status_after.get("VmHWM"), "rss_after_kib": status_after.get("VmRSS"),
           "rss_anon_kib": status_after.get("RssAnon"), "rss_file_kib": status_after.get("RssFile"),
           "ticks_skipped_total": metric_value(metrics, "coingecko_etl_ticks_skipped_total"),
           "log": daemon.log_path}
    for t in measured:
        t["total_cpu_ms"] = t["cpu_ms"] + t["pg_cpu_ms"]
    for key in ("cpu_ms", "pg_cpu_ms", "total_cpu_ms", "req_to_commit_ms", "last_page_to_commit_ms", "rows_per_s", "tick_s",
                "idle_rss_kib"):
        res[key] = median(t[key] for t in measured)
        vals = sorted(t[key] for t in measured if t[key] is not None)
        res[key + "_range"] = (vals[0], vals[-1]) if vals else None
    if load:
        under = [t for t in per_tick if load["start"] <= t["start"] < load["end"]]
        load["ticks"] = len(under)
        load["tick_s"] = median(t["tick_s"] for t in under)
        load["cpu_ms"] = median(t["cpu_ms"] for t in under)
        load["req_to_commit_ms"] = median(t["req_to_commit_ms"] for t in under)
        load["cpu_total_ms"] = (sampler.cpu_at(load["end"]) - sampler.cpu_at(load["start"])) / 1e6
        # What the window would have cost without the load (ticks + idle background), so the
        # rest is the price of serving /metrics.
        quiet = (load["end"] - load["start"]) / interval * (res["cpu_ms"] or 0)
        load["cpu_per_request_us"] = ((load["cpu_total_ms"] - quiet) * 1000 / load["requests"]
                                      if load["requests"] else None)
        res["load"] = load
    return res


def idle_phase(args, psql, postmaster):
    """A 250-coin daemon with a one-hour interval: RSS and CPU while it waits after its first tick."""
    db = "bench_idle"
    drop_bench_databases(psql)
    psql.run(f"CREATE DATABASE {db}")
    fake = Fake(os.path.join(args.build, "fake-coingecko"), os.path.join(args.src, FIXTURE), 250)
    daemon = Daemon(args, os.path.join(args.out, "run-idle"), psql.url.rsplit("/", 1)[0] + "/" + db, fake, 250,
                    3600.0)
    try:
        daemon.wait_ticks(1, timeout=120)
        time.sleep(3)
        st = proc_status(daemon.proc.pid)
        smaps = rss_by_mapping(daemon.proc.pid)
        clock = ((~daemon.proc.pid) << 3) | 2
        c0, t0 = time.clock_gettime_ns(clock), time.time()
        time.sleep(5)
        idle_cpu = (time.clock_gettime_ns(clock) - c0) / 1e6 / (time.time() - t0)
    finally:
        daemon.stop()
        fake.stop()
    log(f"idle: VmRSS {st.get('VmRSS')} KiB, CPU {idle_cpu:.3f} ms/s")
    with open(os.path.join(args.out, "idle-rss-by-mapping.txt"), "w") as f:
        f.write("RSS KiB  mapping (idle 250-coin daemon)\n")
        for name, kib in smaps:
            f.write(f"{kib:7d}  {name}\n")
    return {"rss_kib": st.get("VmRSS"), "anon_kib": st.get("RssAnon"), "file_kib": st.get("RssFile"),
            "hwm_kib": st.get("VmHWM"), "cpu_ms_per_s": idle_cpu, "by_mapping": smaps[:12]}


def rss_by_mapping(pid):
    """[(mapping, RSS KiB)], largest first: which libraries and heaps make up the RSS."""
    totals, name = {}, "?"
    try:
        with open(f"/proc/{pid}/smaps") as f:
            for line in f:
                first = line.split(None, 1)[0]
                if re.match(r"^[0-9a-f]+-[0-9a-f]+$", first):
                    parts = line.split()
                    name = os.path.basename(parts[5]) if len(parts) > 5 else "[anonymous]"
                elif first == "Rss:":
                    totals[name] = totals.get(name, 0) + int(line.split()[1])
    except OSError:
        pass
    return sorted(totals.items(), key=lambda kv: -kv[1])


def profile_phase(args, psql, n=2500):
    """One tick (`once`) under callgrind, collecting only inside Pipeline::tick."""
    db = f"bench_profile_{n}"
    drop_bench_databases(psql)
    psql.run(f"CREATE DATABASE {db}")
    db_url = psql.url.rsplit("/", 1)[0] + "/" + db
    fake = Fake(os.path.join(args.build, "fake-coingecko"), os.path.join(args.src, FIXTURE), n)
    workdir = os.path.join(args.out, f"profile-{n}")
    out_file = os.path.join(args.out, f"callgrind.{n}.out")
    try:
        warm = Daemon(args, workdir, db_url, fake, n, 3600.0, command="once")  # migrations, first rows
        if warm.proc.wait(300) != 0:
            die(f"profile warm-up `once` failed; see {warm.log_path}")
        warm.log_file.close()
        log(f"profile: one {n}-coin tick under callgrind (slow)")
        prof = Daemon(args, workdir + "-cg", db_url, fake, n, 3600.0, command="once",
                      wrapper=("valgrind", "--tool=callgrind", f"--callgrind-out-file={out_file}",
                               "--toggle-collect=*Pipeline::tick*"))
        if prof.proc.wait(900) != 0:
            die(f"callgrind `once` failed; see {prof.log_path}")
        prof.log_file.close()
    finally:
        fake.stop()
    text = ""
    for inclusive in ("no", "yes"):
        out = subprocess.run(["callgrind_annotate", f"--inclusive={inclusive}", "--threshold=99", out_file],
                             capture_output=True, text=True, timeout=120)
        lines = out.stdout.splitlines()
        text += f"==== callgrind_annotate --inclusive={inclusive} (top 45) ====\n" + "\n".join(lines[:70]) + "\n\n"
    path = os.path.join(args.out, f"profile-{n}.txt")
    with open(path, "w") as f:
        f.write(text)
    log(f"profile written to {path}")
    return path


def machine(args, psql):
    def first(path, key):
        try:
            with open(path) as f:
                for line in f:
                    if line.startswith(key):
                        return line.split(":", 1)[1].strip()
        except OSError:
            pass
        return "?"

    def cmd(argv, cwd=None):
        try:
            return subprocess.run(argv, capture_output=True, text=True, cwd=cwd, timeout=30).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return "?"

    rev = cmd(["git", "rev-parse", "--short=12", "HEAD"], cwd=args.src) or "unknown"
    dirty = cmd(["git", "status", "--porcelain", "--untracked-files=no"], cwd=args.src)
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": os.cpu_count(), "cpu": first("/proc/cpuinfo", "model name"),
        "ram": first("/proc/meminfo", "MemTotal"), "kernel": platform.release(),
        "postgres": psql.scalar("SELECT version()"), "fsync": psql.scalar("SHOW fsync"),
        "sync_commit": psql.scalar("SHOW synchronous_commit"),
        "compiler": cmd(["c++", "--version"]).splitlines()[0] if cmd(["c++", "--version"]) else "?",
        "build_type": build_type(args.build),
        "revision": rev + (" + uncommitted changes" if dirty else ""),
        "load": open("/proc/loadavg").read().split()[:3],
    }


def build_type(build_dir):
    try:
        with open(os.path.join(build_dir, "CMakeCache.txt")) as f:
            for line in f:
                if line.startswith("CMAKE_BUILD_TYPE:"):
                    return line.split("=", 1)[1].strip() or "(none)"
    except OSError:
        pass
    return "?"


def fmt(v, digits=1):
    if v is None:
        return "n/a"
    return f"{v:,.{digits}f}"


def mib(kib):
    return None if kib is None else kib / 1024


def verdict(metric, n, value):
    limit = TARGETS.get((metric, n))
    if limit is None or value is None:
        return ""
    if value <= limit:
        return f" ✅ ≤ {limit}"
    return f" ❌ > {limit} (+{value - limit:,.1f}, ×{value / limit:.1f})"


def report(mach, results, idle, mode, fsync):
    lines = [
        f"Run: `bench/run.sh{' --smoke' if mode == 'smoke' else ''}` on {mach['date']}, revision {mach['revision']}.",
        "",
        "| machine | |", "|---|---|",
        f"| CPU | {mach['cpu']}, {mach['nproc']} cores (`nproc`) |",
        f"| RAM | {mach['ram']} |",
        f"| kernel | {mach['kernel']} |",
        f"| load average (1/5/15 min) at start → end | {' '.join(mach['load'])} → {' '.join(mach['load_end'])} |",
        f"| PostgreSQL | {mach['postgres'].split(',')[0]}; fsync={mach['fsync']}, "
        f"synchronous_commit={mach['sync_commit']} (BENCH_PG_FSYNC={fsync}) |",
        f"| build | {mach['build_type']}, {mach['compiler']} |",
        "",
        "Medians over the measured ticks (warm-up ticks excluded); [min–max] in brackets. "
        "✅/❌ compare with the issue's targets.",
        "",
        "| N coins (pages×250) | interval | ticks | daemon CPU / tick (ms) | request → commit (ms) "
        "| last page → commit (ms) | rows/s | peak RSS (MiB) | tick (s) | idle RSS between ticks (MiB) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    label = lambda r: f"{r['n']:,} ({max(1, r['n'] // PER_PAGE)})" + ("" if r.get("live", True) else ", identical bodies")
    for r in results:
        rng = lambda k: "" if not r.get(k + "_range") else f" [{fmt(r[k + '_range'][0])}–{fmt(r[k + '_range'][1])}]"
        lines.append(
            f"| {label(r)} | {r['interval']:g} s "
            f"| {r['ticks']} ({fmt(r['ticks_skipped_total'], 0)} skipped) "
            f"| {fmt(r['cpu_ms'])}{rng('cpu_ms')}{verdict('cpu_ms', r['n'], r['cpu_ms'])} "
            f"| {fmt(r['req_to_commit_ms'])}{rng('req_to_commit_ms')}"
            f"{verdict('req_to_commit_ms', r['n'], r['req_to_commit_ms'])} "
            f"| {fmt(r['last_page_to_commit_ms'])}{rng('last_page_to_commit_ms')}"
            f"{verdict('last_page_to_commit_ms', r['n'], r['last_page_to_commit_ms'])} "
            f"| {fmt(r['rows_per_s'], 0)} "
            f"| {fmt(mib(r['peak_rss_kib']))}{verdict('peak_rss_mib', r['n'], mib(r['peak_rss_kib']))} "
            f"| {fmt(r['tick_s'], 3)} | {fmt(mib(r['idle_rss_kib']))} |")
    lines += [
        "", "Whole system per tick: PostgreSQL CPU is the postmaster and every backend, exited ones included, "
        "minus the cluster's idle CPU over the same window (measured before the daemon starts); WAL is "
        "`pg_current_wal_lsn()` after the warm-up and after the last measured tick, divided by the ticks "
        "committed in between.", "",
        "| N coins | daemon CPU (ms) | PostgreSQL CPU (ms) | daemon + PostgreSQL (ms) | PostgreSQL idle (ms/s) "
        "| WAL per tick (KiB) |",
        "|---|---|---|---|---|---|",
    ]
    for r in results:
        rng = lambda k: "" if not r.get(k + "_range") else f" [{fmt(r[k + '_range'][0])}–{fmt(r[k + '_range'][1])}]"
        wal = r.get("wal_bytes_per_tick")
        lines.append(f"| {label(r)} | {fmt(r['cpu_ms'])} | {fmt(r['pg_cpu_ms'])}{rng('pg_cpu_ms')} "
                     f"| {fmt(r['total_cpu_ms'])}{rng('total_cpu_ms')} | {fmt(r['pg_idle_ms_per_s'], 2)} "
                     f"| {fmt(None if wal is None else wal / 1024)} |")
    index_names = sorted({k for r in results for k in r["storage"]["index_per_1000"]})
    lines += [
        "", "Stored bytes per 1,000 `coin_market` rows after the run (all partitions; heap with TOAST, each "
        "index, and the raw pages of `coin_market_raw` with their TOAST and primary key):", "",
        "| N coins | rows | heap | " + " | ".join(f"`{i}`" for i in index_names) + " | raw pages | total |",
        "|---|---|---|" + "---|" * len(index_names) + "---|---|",
    ]
    kib = lambda b: "n/a" if b is None else f"{b / 1024:,.1f} KiB"
    for r in results:
        st = r["storage"]
        lines.append(f"| {label(r)} | {st['rows']:,} | {kib(st['table_per_1000'])} | "
                     + " | ".join(kib(st["index_per_1000"].get(i)) for i in index_names)
                     + f" | {kib(st['raw_per_1000'])} | {kib(st['total_per_1000'])} |")
    lines += ["", "| idle (250 coins, after the first tick, interval 1 h) | |", "|---|---|"]
    if idle:
        ok = "✅ ≤ 10" if idle["rss_kib"] / 1024 <= 10 else f"❌ > 10 (+{idle['rss_kib'] / 1024 - 10:.1f})"
        lines += [
            f"| VmRSS | {fmt(mib(idle['rss_kib']))} MiB {ok} (anonymous {fmt(mib(idle['anon_kib']))}, "
            f"file-backed {fmt(mib(idle['file_kib']))}) |",
            f"| CPU while idle | {idle['cpu_ms_per_s']:.3f} ms per second |",
        ]
    for r in results:
        load = r.get("load")
        if not load:
            continue
        p99_ok = "" if load["p99_ms"] is None else ("✅ ≤ 5" if load["p99_ms"] <= 5 else "❌ > 5")
        skipped = r["ticks_skipped_total"]
        lines += [
            "", f"| /metrics under wrk while the {r['n']:,}-coin daemon ticks | |", "|---|---|",
            f"| load | wrk -t1 -c{load['connections']}, `Connection: close` (a new TCP connection per request), "
            f"{load['gap_ms']} ms pause per connection, "
            f"{load['seconds']} s: {load['requests']} requests, {fmt(load['rps'])} requests/s"
            f"{', ERRORS (see raw output)' if load['errors'] else ', all 200'} |",
            f"| latency p50 / p75 / p90 / p99 / max (ms) | {fmt(load['p50_ms'], 2)} / {fmt(load['p75_ms'], 2)} / "
            f"{fmt(load['p90_ms'], 2)} / {fmt(load['p99_ms'], 2)} {p99_ok} / {fmt(load['max_ms'], 2)} |",
            f"| ticks during the load | {load['ticks']}: median tick {fmt(load['tick_s'], 3)} s, CPU "
            f"{fmt(load['cpu_ms'])} ms, request → commit {fmt(load['req_to_commit_ms'])} ms (without load: "
            f"{fmt(r['tick_s'], 3)} s, {fmt(r['cpu_ms'])} ms, {fmt(r['req_to_commit_ms'])} ms) |",
            f"| coingecko_etl_ticks_skipped_total | {fmt(skipped, 0)} {'✅' if skipped == 0 else '❌'} |",
            f"| daemon CPU during the load window | {fmt(load['cpu_total_ms'])} ms over "
            f"{load['end'] - load['start']:.1f} s: ≈ {fmt(load['cpu_per_request_us'], 0)} µs per /metrics "
            f"request beyond the ticks' own CPU |",
        ]
        for v in load.get("variants", []):
            lines.append(
                f"| same pacing, {v['connections']} keep-alive connections (reused), 10 s | "
                f"{fmt(v['rps'])} requests/s; p50 / p99 / max {fmt(v['p50_ms'], 2)} / "
                f"{fmt(v['p99_ms'], 2)} / {fmt(v['max_ms'], 2)} ms |")
    return "\n".join(lines) + "\n"


def record(path, text, fsync):
    begin, end = MARK_BEGIN.format(fsync), MARK_END.format(fsync)
    body = f"{begin}\n{text}{end}\n"
    old = open(path).read() if os.path.exists(path) else ""
    if begin in old and end in old:
        head, rest = old.split(begin, 1)
        new = head + body + rest.split(end, 1)[1].lstrip("\n")
    else:
        new = "# Benchmark results\n\n" + body + ("\n" + old if old else "")
    with open(path, "w") as f:
        f.write(new)


def main():
    # A background job of a non-interactive shell starts with SIGINT ignored; take both signals
    # explicitly so the finally blocks stop the daemon, the fake and wrk on any interruption.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    ap = argparse.ArgumentParser()
    ap.add_argument("--mode", choices=("full", "smoke"), required=True)
    ap.add_argument("--build", required=True)
    ap.add_argument("--src", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--db-url", required=True)
    ap.add_argument("--pg-fsync", required=True)
    ap.add_argument("--record")
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--only", type=int, help="one size, its ticks only (no load, idle or record)")
    args = ap.parse_args()
    args.smoke = args.mode == "smoke"
    started = time.monotonic()
    psql = Psql(args.db_url)
    # The cluster's processes are the postmaster and its children (for PostgreSQL's CPU share).
    with open(os.path.join(psql.scalar("SHOW data_directory"), "postmaster.pid")) as f:
        postmaster = int(f.readline())
    mach = machine(args, psql)

    # (N, measured ticks, warm-up ticks, seconds of /metrics load, new coins every tick?)
    if args.mode == "smoke":
        plan = [(250, 3, 1, 5, True), (250, 2, 1, 0, False)]
    else:
        plan = [(250, 10, 2, 0, True), (2500, 10, 2, 20, True), (2500, 10, 2, 0, False), (17500, 10, 2, 0, True)]
    if args.only:
        plan = [(n, ticks, warmup, 0, live) for n, ticks, warmup, _, live in plan if n == args.only]
        args.record = None
    results = [run_size(args, psql, postmaster, n, ticks, warmup, load, live)
               for n, ticks, warmup, load, live in plan]
    if args.only:
        for r in results:
            print(json.dumps(r, default=str))
        return
    idle = idle_phase(args, psql, postmaster)
    if args.profile:
        profile_phase(args, psql)
    mach["load_end"] = open("/proc/loadavg").read().split()[:3]

    text = report(mach, results, idle, args.mode, args.pg_fsync)
    path = os.path.join(args.out, f"results-{args.mode}-fsync-{args.pg_fsync}.md")
    with open(path, "w") as f:
        f.write(text)
    with open(os.path.join(args.out, f"results-{args.mode}-fsync-{args.pg_fsync}.json"), "w") as f:
        json.dump({"machine": mach, "results": results, "idle": idle}, f, indent=1, default=str)
    print(text)
    if args.record:
        record(args.record, text, args.pg_fsync)
        log(f"recorded in {args.record}")
    log(f"done in {time.monotonic() - started:.0f}s; details in {args.out}")


if __name__ == "__main__":
    main()
