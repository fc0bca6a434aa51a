"""System-test harness: the built binary, the loopback fake CoinGecko, a real PostgreSQL.

Standard library only. Environment (set by CTest / scripts/test.sh):
  ETL_BINARY, ETL_FAKE_COINGECKO, ETL_SOURCE_DIR, ETL_FIXTURES_DIR, ETL_TEST_DATABASE_URL
A missing variable is a failure, never a skip.
"""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request


def env(name):
    value = os.environ.get(name)
    if not value:
        fail(f"{name} is not set: run the suite with scripts/test.sh")
    return value


def fail(message):
    print(f"FAIL: {message}", file=sys.stderr, flush=True)
    raise SystemExit(1)


def check(condition, message):
    if not condition:
        fail(message)
    print(f"ok: {message}", flush=True)


def time_scale():
    """Sanitizer builds run several times slower; scripts/test-sanitizers.sh sets
    ETL_TEST_TIME_SCALE so latency bounds (not correctness checks) stretch with them.
    The plain build runs with 1: the documented bounds hold as written."""
    return float(os.environ.get("ETL_TEST_TIME_SCALE", "1"))


def scaled(seconds):
    """`seconds` stretched by time_scale(): a latency bound, or the slack a check allows on top
    of a timer the daemon enforces itself (e.g. `3 + scaled(0.5)` for SHUTDOWN_TIMEOUT=3s).
    Unchanged in the plain build. (wait_until, wait_ready, wait_exit and run_to_exit already
    scale their timeouts: pass those the plain-build value.)"""
    return seconds * time_scale()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fixture(name):
    return os.path.join(env("ETL_FIXTURES_DIR"), name)


def wait_until(predicate, timeout, what, interval=0.1):
    """Polls predicate() until it returns a true value (returned) or `timeout` seconds pass (a
    failure). `timeout` is how long the plain build may need; it is multiplied by time_scale()
    here, so sanitizer builds get the same margin. A timeout only bounds how long to wait for
    something that must happen: never assert on how long the wait took through it."""
    timeout = scaled(timeout)
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = predicate()
            if last:
                return last
        except Exception as exc:  # keep polling: the thing may not be up yet
            last = exc
        time.sleep(interval)
    fail(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


def http_get(url, timeout=5):
    """Returns (status, body text); HTTP errors are answers, not exceptions."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def http_post(url, body, timeout=5):
    req = urllib.request.Request(url, data=body.encode(), method="POST")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


class Database:
    """A fresh database per test on the shared test cluster, queried with psql."""

    def __init__(self, name):
        base = env("ETL_TEST_DATABASE_URL")
        self.admin_url = base
        self.name = name
        self.url = base.rsplit("/", 1)[0] + "/" + name
        self.psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', url=base)
        self.psql(f'CREATE DATABASE "{name}"', url=base)

    def psql(self, sql, url=None):
        out = subprocess.run(
            ["psql", url or self.url, "-X", "-q", "-At", "-F", "\t", "-v", "ON_ERROR_STOP=1", "-c", sql],
            capture_output=True, text=True, timeout=60)
        if out.returncode != 0:
            fail(f"psql failed for {sql!r}: {out.stderr.strip()}")
        return out.stdout

    def rows(self, sql):
        text = self.psql(sql)
        return [line.split("\t") for line in text.splitlines() if line != ""]

    def scalar(self, sql):
        rows = self.rows(sql)
        return rows[0][0] if rows else None


class FakeCoinGecko:
    def __init__(self, fixture_path, extra=()):
        self.proc = subprocess.Popen(
            [env("ETL_FAKE_COINGECKO"), "--port", "0", "--fixture", fixture_path, "--max-seconds", "600", *extra],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if not line.startswith("LISTENING"):
            fail(f"fake-coingecko did not start: {line!r} {self.proc.stderr.read()}")
        self.port = int(line.split()[1])
        self.base = f"http://127.0.0.1:{self.port}"
        self.markets_url = f"{self.base}/api/v3/coins/markets"

    def script(self, lines):
        status, body = http_post(f"{self.base}/__control/script", "\n".join(lines) + "\n")
        if status != 200:
            fail(f"fake-coingecko rejected script: {status} {body}")

    def requests(self):
        status, body = http_get(f"{self.base}/__control/requests")
        return json.loads(body)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()


class Daemon:
    """The coingecko-etl binary with an isolated DATA_DIR/LOG_DIR and observability port."""

    def __init__(self, db, fake, command="run", extra_env=None, workdir=None):
        self.workdir = workdir or tempfile.mkdtemp(prefix="etl-system-")
        self.data_dir = os.path.join(self.workdir, "data")
        self.log_dir = os.path.join(self.workdir, "logs")
        self._port = None
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "COINGECKO_URL": fake.markets_url if fake else "http://127.0.0.1:9/api/v3/coins/markets",
            "DATABASE_URL": db.url,
            "POLL_INTERVAL": "1s",
            "PER_PAGE": "100",
            "PAGES": "1",
            "RATE_LIMIT_PER_MINUTE": "6000",
            "DATA_DIR": self.data_dir,
            "LOG_DIR": self.log_dir,
            # Port 0: the kernel picks a free one at bind time, so tests running in parallel
            # (ctest -j) never race for a port; `port` reads it from the daemon's log.
            "HTTP_ADDR": "127.0.0.1:0",
            "MIGRATIONS_DIR": os.path.join(env("ETL_SOURCE_DIR"), "migrations"),
            "SHUTDOWN_TIMEOUT": "5s",
            "LOG_LEVEL": "debug",
        }
        # Sanitizer builds (scripts/test-sanitizers.sh): the daemon keeps the run's options
        # (report files, suppressions, halt on error) although its environment is otherwise clean.
        self.env.update({k: v for k, v in os.environ.items() if k.endswith("SAN_OPTIONS")})
        self.env.update(extra_env or {})
        self.command = command
        self.proc = None

    @property
    def port(self):
        """The observability port: HTTP_ADDR's own, or for port 0 the one this start of the
        daemon logged (waited for). A daemon that is not running and never logged one has no
        port: ConnectionRefusedError, as a closed port would answer."""
        fixed = int(self.env["HTTP_ADDR"].rsplit(":", 1)[1])
        if fixed != 0:
            return fixed

        def logged():
            found = re.search(r"observability on \S*:(\d+) ", self.output())
            if found:
                return int(found.group(1))
            if self.proc.poll() is not None:
                raise ConnectionRefusedError("the daemon exited without serving")
            return None

        if self._port is None:
            if self.proc is None:
                raise ConnectionRefusedError("the daemon was not started")
            deadline = time.monotonic() + scaled(30)
            while self._port is None:
                self._port = logged()
                if self._port is None and time.monotonic() > deadline:
                    fail(f"the daemon did not log its observability port; output:\n{self.output()[-4000:]}")
                time.sleep(0.02 if self._port is None else 0)
        return self._port

    @property
    def base(self):
        return f"http://127.0.0.1:{self.port}"

    def start(self):
        self._port = None
        self.stdout_path = os.path.join(self.workdir, f"stdout-{time.time_ns()}.log")
        self.stdout = open(self.stdout_path, "w")
        self.proc = subprocess.Popen([env("ETL_BINARY"), self.command], env=self.env, cwd=self.workdir,
                                     stdout=self.stdout, stderr=subprocess.STDOUT)
        return self

    def run_to_exit(self, timeout=60):
        """Starts the command and waits for its exit code; `timeout` is scaled like wait_until's."""
        timeout = scaled(timeout)
        self.start()
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            fail(f"{self.command} did not exit within {timeout}s; output:\n{self.output()}")

    def output(self):
        self.stdout.flush()
        with open(self.stdout_path) as f:
            return f.read()

    def get(self, path):
        return http_get(self.base + path)

    def wait_ready(self, timeout=20):
        return wait_until(lambda: self.get("/readyz")[0] == 200, timeout, "/readyz 200")

    def signal(self, sig=signal.SIGTERM):
        self.proc.send_signal(sig)

    def wait_exit(self, timeout):
        """The exit code; `timeout` (scaled like wait_until's) only bounds the wait: measure a
        shutdown's latency yourself and check it against SHUTDOWN_TIMEOUT + scaled(slack)."""
        timeout = scaled(timeout)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            fail(f"daemon did not exit within {timeout}s; output:\n{self.output()[-4000:]}")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def raw_files(self):
        d = os.path.join(self.data_dir, "raw")
        return sorted(os.listdir(d)) if os.path.isdir(d) else []

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)


def promtool_check(text):
    out = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True, text=True, timeout=30)
    return out.returncode, (out.stdout + out.stderr).strip()


def metric_value(metrics_text, name, labels=""):
    """Value of the series `name{labels}` (labels as exposed, e.g. 'result="success"')."""
    want = f"{name}{{{labels}}}" if labels else name
    for line in metrics_text.splitlines():
        if line.startswith("#"):
            continue
        series, _, value = line.rpartition(" ")
        if series == want:
            return float(value)
    return None


def run_test(main):
    """Runs main(); prints a closing line CTest-independent readers understand."""
    try:
        main()
    except SystemExit as e:
        if e.code not in (0, None):
            print("0 passed, 1 failed")
            raise
    print("1 passed, 0 failed")


# ---- fault-suite helpers (issue 3) ----

def metrics_of(daemon):
    """The daemon's /metrics text ("" when it does not answer)."""
    try:
        status, text = daemon.get("/metrics")
        return text if status == 200 else ""
    except Exception:
        return ""


def metric(daemon, name, labels=""):
    """One series' value from the daemon's /metrics, 0.0 when absent or unreachable."""
    return metric_value(metrics_of(daemon), name, labels) or 0.0


def alive(daemon):
    return daemon.proc is not None and daemon.proc.poll() is None


def json_files_unparseable(data_dir):
    """Files under a final name in raw/ and processed/ that are not whole JSON documents."""
    bad = []
    for sub in ("raw", "processed"):
        d = os.path.join(data_dir, sub)
        if not os.path.isdir(d):
            continue
        for name in os.listdir(d):
            if name.startswith(".tmp"):
                continue
            try:
                with open(os.path.join(d, name), "rb") as f:
                    json.loads(f.read())
            except Exception as exc:  # a fault test may spool a deliberately broken body
                bad.append(f"{sub}/{name}: {exc}")
    return bad


def raw_snapshots(data_dir):
    """{snapshot_id: [page numbers]} from data/raw/<id>_pNNN.json."""
    out = {}
    d = os.path.join(data_dir, "raw")
    for name in (os.listdir(d) if os.path.isdir(d) else []):
        if name.startswith(".tmp") or not name.endswith(".json") or "_p" not in name:
            continue
        sid, _, page = name[:-5].rpartition("_p")
        out.setdefault(sid, []).append(int(page))
    return out


def pending_snapshots(data_dir):
    d = os.path.join(data_dir, "pending")
    return sorted(n for n in os.listdir(d) if not n.startswith(".")) if os.path.isdir(d) else []


def pg_bin(name):
    return os.path.join(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"), name)


class PrivateCluster:
    """A PostgreSQL cluster of the test's own (scripts/pg-test-cluster.sh), free to stop, kill
    and restart without touching the shared ETL_TEST_DATABASE_URL cluster."""

    def __init__(self, prefix="etl-pg-"):
        self.dir = tempfile.mkdtemp(prefix=prefix)
        os.chmod(self.dir, 0o755)
        self.port = free_port()
        self.script = os.path.join(env("ETL_SOURCE_DIR"), "scripts", "pg-test-cluster.sh")
        self.start()
        self.admin_url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def start(self):
        out = subprocess.run(["bash", self.script, "start", self.dir, str(self.port)],
                             capture_output=True, text=True, timeout=120)
        if out.returncode != 0:
            fail(f"private PostgreSQL did not start: {out.stderr.strip()[-1500:]}")
        return out.stdout.strip()

    def stop(self):
        subprocess.run(["bash", self.script, "stop", self.dir], capture_output=True, text=True, timeout=120)

    def postmaster_pid(self):
        try:
            with open(os.path.join(self.dir, "pgdata", "postmaster.pid")) as f:
                return int(f.readline().strip())
        except (OSError, ValueError):
            return None

    def kill9(self):
        """kill -9 the postmaster and every backend of this cluster (a crash, not a shutdown)."""
        pid = self.postmaster_pid()
        if pid is None:
            return
        children = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
        for p in [pid] + [int(c) for c in children]:
            try:
                os.kill(p, signal.SIGKILL)
            except ProcessLookupError:
                pass
        # Reap nothing of ours; just wait until the postmaster is gone.
        wait_until(lambda: not os.path.exists(f"/proc/{pid}") or
                   open(f"/proc/{pid}/stat").read().split(")")[-1].split()[0] in ("Z", "X"),
                   10, "killed postmaster to vanish")

    def database(self, name):
        """A Database on this cluster (same helper as the shared one)."""
        saved = os.environ.get("ETL_TEST_DATABASE_URL")
        os.environ["ETL_TEST_DATABASE_URL"] = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        try:
            return Database(name)
        finally:
            if saved is None:
                os.environ.pop("ETL_TEST_DATABASE_URL", None)
            else:
                os.environ["ETL_TEST_DATABASE_URL"] = saved

    def psql_ok(self, sql, db="postgres"):
        out = subprocess.run(["psql", f"postgresql://postgres@127.0.0.1:{self.port}/{db}", "-X", "-qAt",
                              "-c", sql], capture_output=True, text=True, timeout=30)
        return out.returncode == 0, out.stdout.strip()

    def destroy(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


def db_consistency_problems(db):
    """Ways PostgreSQL could show a partially loaded snapshot; [] when there are none.
    Rows belong to the snapshot that first inserted them (ON CONFLICT DO NOTHING)."""
    checks = {
        "etl_runs counts do not add up": "SELECT snapshot_id FROM etl_runs WHERE status <> 'rejected' AND "
                                         "rows_inserted + rows_unchanged <> coins_received",
        "coin_market rows differ from rows_inserted":
            "SELECT r.snapshot_id, r.rows_inserted, coalesce(c.n, 0) FROM etl_runs r LEFT JOIN "
            "(SELECT snapshot_id, count(*) n FROM coin_market GROUP BY 1) c USING (snapshot_id) "
            "WHERE coalesce(c.n, 0) <> r.rows_inserted",
        "coin_market_raw pages differ from etl_runs.pages":
            "SELECT r.snapshot_id, r.pages, coalesce(p.n, 0) FROM etl_runs r LEFT JOIN "
            "(SELECT snapshot_id, count(*) n FROM coin_market_raw GROUP BY 1) p USING (snapshot_id) "
            "WHERE coalesce(p.n, 0) <> r.pages",
        "coin rows without an etl_runs row": "SELECT DISTINCT snapshot_id FROM coin_market WHERE snapshot_id "
                                             "NOT IN (SELECT snapshot_id FROM etl_runs)",
        "raw pages without an etl_runs row": "SELECT DISTINCT snapshot_id FROM coin_market_raw WHERE snapshot_id "
                                             "NOT IN (SELECT snapshot_id FROM etl_runs)",
        "duplicate coin rows": "SELECT coin_id, vs_currency, last_updated FROM coin_market "
                               "GROUP BY 1, 2, 3 HAVING count(*) > 1",
    }
    problems = []
    for what, sql in checks.items():
        rows = db.rows(sql)
        if rows:
            problems.append(f"{what}: {rows[:3]}")
    return problems


def spool_vs_db_problems(db, data_dir):
    """Every raw snapshot on disk is in etl_runs exactly once with all of its coins: loaded (or
    partial) with coins_received + rows_rejected == the coins in its parseable pages, or rejected
    when no page parses. [] when that holds."""
    runs = {r[0]: r for r in db.rows("SELECT snapshot_id, status, pages, coins_received, rows_rejected "
                                     "FROM etl_runs")}
    problems = []
    for sid, pages in sorted(raw_snapshots(data_dir).items()):
        coins, parseable = 0, 0
        for page in pages:
            try:
                with open(os.path.join(data_dir, "raw", f"{sid}_p{page:03d}.json"), "rb") as f:
                    doc = json.loads(f.read())
                if isinstance(doc, list):
                    coins += len(doc)
                    parseable += 1
            except (OSError, ValueError):
                pass
        run = runs.get(sid)
        if run is None:
            problems.append(f"{sid}: on disk ({len(pages)} page(s)) but not in etl_runs")
            continue
        status, db_pages, received, rejected = run[1], int(run[2]), int(run[3]), int(run[4])
        if parseable == 0:
            if status != "rejected":
                problems.append(f"{sid}: no parseable page but status {status}")
        elif db_pages != parseable or received + rejected != coins:
            problems.append(f"{sid}: disk has {parseable} page(s)/{coins} coins, etl_runs {db_pages}/"
                            f"{received}+{rejected} ({status})")
    return problems
