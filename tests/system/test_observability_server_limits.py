"""Issue 9, items 5 and 6: an observability server that cannot hurt the pipeline, and a bounded
shutdown that releases the leader lock first.

One daemon (POLL_INTERVAL=1s, SHUTDOWN_TIMEOUT=3s, HTTP_MAX_CONNECTIONS=200) against the fake
CoinGecko and the test cluster. The test holds 300 idle connections (more than the limit) and 5
slow-header clients, each sending a partial request line and then one byte a second (faster than
any per-receive timeout). While they are held:

* /healthz answers from a new connection within 1 s, every time;
* snapshots keep reaching PostgreSQL, and the log never says "Too many open files";
* the daemon holds at most HTTP_MAX_CONNECTIONS of those connections (its descriptor count);
* each slow client is cut at the whole-request deadline (5 s), although it never went quiet;
* the closures are counted in coingecko_etl_http_server_connections_closed_total.

Then, with 100 fresh idle connections and the slow clients still connected, SIGTERM: exit 0
within SHUTDOWN_TIMEOUT, the log says the leader lock was released before the process stopped,
and pg_locks holds no advisory lock afterwards.

Before the fix (cpp-httplib's 4-worker pool, a 5 s per-receive timeout, an unbounded queue,
and the server stopped after the watchdog had ended): /healthz waited behind the idle
connections (each held a worker for its keep-alive timeout), and SIGTERM waited for every
queued connection.
"""
import os
import select
import signal
import socket
import threading
import time

import harness as h
from test_http_hardening import raw_request

FIXTURE = "madjin__daily-crypto__markets_usd_top100_2026-04-30.json"
MAX_CONNECTIONS = 200
IDLE = 300
SLOW = 5
DEADLINE = 5.0  # the server's whole-request deadline
ADVISORY_SQL = ("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
                "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())")


def healthz(port, timeout):
    """(status or None, seconds) for GET /healthz on a new connection; None when it times out."""
    started = time.monotonic()
    try:
        return raw_request(port, b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", timeout=timeout)
    except OSError:
        return None, time.monotonic() - started


def open_idle(port, count, into):
    for _ in range(count):
        into.append(socket.create_connection(("127.0.0.1", port), timeout=5))


class SlowClient(threading.Thread):
    """Sends a partial request line, then one byte a second; reconnects when cut off, and records
    how long each connection lasted. Stops by itself after `max_seconds`."""

    def __init__(self, port, stop, max_seconds):
        super().__init__(daemon=True)
        self.port, self.stop, self.max_seconds = port, stop, max_seconds
        self.cuts = []  # seconds from connect to being cut off
        self.sock = None
        self.error = None

    def run(self):
        ends = time.monotonic() + self.max_seconds
        try:
            while not self.stop.is_set() and time.monotonic() < ends:
                s = socket.create_connection(("127.0.0.1", self.port), timeout=5)
                self.sock = s
                opened = time.monotonic()
                s.sendall(b"GET /healthz?slow=")
                cut = False
                while not cut and not self.stop.is_set() and time.monotonic() < ends:
                    if self.stop.wait(1.0):
                        break
                    try:
                        s.sendall(b"a")
                        readable, _, _ = select.select([s], [], [], 0)
                        if readable and s.recv(100) == b"":
                            cut = True
                    except OSError:
                        cut = True
                if cut:
                    self.cuts.append(time.monotonic() - opened)
                    s.close()
                    self.sock = None
        except Exception as exc:  # reported by the test, never hangs it
            self.error = exc

    def close(self):
        if self.sock is not None:
            self.sock.close()


def open_fds(pid):
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return -1


def main():
    db = h.Database("system_observability_limits")
    fake = h.FakeCoinGecko(h.fixture(FIXTURE))
    d = h.Daemon(db, fake, extra_env={"POLL_INTERVAL": "1s", "SHUTDOWN_TIMEOUT": "3s",
                                      "HTTP_MAX_CONNECTIONS": str(MAX_CONNECTIONS), "LOG_LEVEL": "info"})
    idle = []
    stop = threading.Event()
    slow = []
    try:
        d.start()
        d.wait_ready(30)
        port = d.port
        baseline_fds = open_fds(d.proc.pid)
        h.check(int(db.scalar(ADVISORY_SQL)) >= 1, "the daemon holds its leader lock (an advisory lock)")

        open_idle(port, IDLE, idle)
        slow = [SlowClient(port, stop, max_seconds=h.scaled(90)) for _ in range(SLOW)]
        for c in slow:
            c.start()
        h.check(True, f"{IDLE} idle connections and {SLOW} slow-header clients connected")
        loaded = int(db.scalar("SELECT count(*) FROM etl_runs WHERE status = 'loaded'"))

        # Probes from new connections, for longer than the request deadline.
        bound = h.scaled(1.0)
        worst, statuses, most_fds = 0.0, set(), 0
        probe_until = time.monotonic() + DEADLINE + 2
        while time.monotonic() < probe_until:
            status, took = healthz(port, timeout=h.scaled(5))
            worst = max(worst, took)
            statuses.add(status)
            most_fds = max(most_fds, open_fds(d.proc.pid))
            time.sleep(0.25)
        h.check(statuses == {200} and worst < bound,
                f"/healthz answers from a new connection while the clients are held "
                f"(slowest {worst:.3f}s < {bound:g}s; statuses {statuses})")
        h.check(0 < most_fds <= baseline_fds + MAX_CONNECTIONS + 10,
                f"the daemon holds at most HTTP_MAX_CONNECTIONS of them "
                f"({most_fds} descriptors at most, {baseline_fds} before the clients, limit {MAX_CONNECTIONS})")

        h.wait_until(lambda: int(db.scalar("SELECT count(*) FROM etl_runs WHERE status = 'loaded'")) >= loaded + 3,
                     20, "three more snapshots loaded while the clients are held")
        h.check(True, "snapshots keep reaching PostgreSQL while the clients are held")

        h.wait_until(lambda: all(c.cuts for c in slow), DEADLINE + 10, "every slow client to be cut off")
        errors = [c.error for c in slow if c.error]
        h.check(not errors, f"the slow clients ran without error ({errors[:2]})")
        cuts = [t for c in slow for t in c.cuts]
        limit = DEADLINE + h.scaled(2.0)
        h.check(max(cuts) < limit,
                f"a client trickling a byte a second is cut at the whole-request deadline "
                f"({min(cuts):.1f}-{max(cuts):.1f}s after connecting, < {limit:g}s)")

        text = h.metrics_of(d)
        by_limit = h.metric_value(text, "coingecko_etl_http_server_connections_closed_total", 'reason="limit"') or 0
        by_deadline = h.metric_value(text, "coingecko_etl_http_server_connections_closed_total",
                                     'reason="deadline"') or 0
        h.check(by_limit >= IDLE - MAX_CONNECTIONS and by_deadline >= SLOW,
                f"closures are counted (limit {by_limit:g}, deadline {by_deadline:g})")
        output = d.output()
        h.check("Too many open files" not in output, "no 'Too many open files' in the log")
        h.check("connection(s) closed (limit)" in output, "the log reports connections closed at the limit")

        # SIGTERM with fresh idle connections and the slow clients still connected.
        open_idle(port, 100, idle)
        h.check(h.alive(d) and all(c.is_alive() for c in slow), "100 fresh idle connections; slow clients still on")
        started = time.monotonic()
        d.signal(signal.SIGTERM)
        code = d.wait_exit(20)
        took = time.monotonic() - started
        limit = 3 + h.scaled(1.0)
        output = d.output()
        h.check(code == 0 and took < limit,
                f"SIGTERM with the clients connected: exit {code} after {took:.2f}s (< {limit:g}s, SHUTDOWN_TIMEOUT=3s)")
        released, stopped = output.find("leader lock released"), output.rfind("stopped")
        h.check(0 <= released < stopped, "the leader lock is released before the process stops (log order)")
        h.wait_until(lambda: int(db.scalar(ADVISORY_SQL)) == 0, 5, "no advisory lock in pg_locks")
        h.check(True, "pg_locks holds no advisory lock after the exit")
    finally:
        stop.set()
        for c in slow:
            c.join(timeout=5)
            c.close()
        for s in idle:
            s.close()
        d.cleanup()
        fake.stop()


if __name__ == "__main__":
    h.run_test(main)
