"""Issue 3, crash safety and signals, during continuous operation (POLL_INTERVAL=200ms, a
1,000-coin market in 10 pages, so signals land mid-fetch, mid-spool and mid-load):

1. SIGTERM at random moments: exit 0 within SHUTDOWN_TIMEOUT every time; a second signal exits
   at once with 130.
2. 30 x kill -9 at random moments, each followed by a restart. Afterwards every raw snapshot on
   disk is loaded exactly once (etl_runs row per snapshot; rejected when no page parses), no file
   under a final name in raw/ or processed/ fails to parse, and every loaded snapshot has all of
   its rows (coins in its raw pages == coins_received + rows_rejected; coin_market rows ==
   rows_inserted).
"""
import os
import random
import signal
import socket
import time

import harness as h

FIXTURE = "madjin__daily-crypto__markets_usd_top100_2026-04-30.json"
ENV = {"POLL_INTERVAL": "200ms", "PER_PAGE": "100", "PAGES": "10", "SHUTDOWN_TIMEOUT": "3s",
       "LOG_LEVEL": "info"}
KILLS = 30


def settle_and_verify(db, d, what):
    """Restart, let the backlog drain, stop gracefully, then check disk against PostgreSQL."""
    d.env["POLL_INTERVAL"] = "2s"  # ticks that do not overrun: the backlog drains at full speed
    d.start()
    h.wait_until(lambda: d.get("/healthz")[0] == 200, 20, f"{what}: the restarted daemon to serve")
    h.wait_until(lambda: not h.pending_snapshots(d.data_dir), 60, f"{what}: the backlog to drain")
    d.signal(signal.SIGTERM)
    code = d.wait_exit(10)
    h.check(code == 0, f"{what}: the final graceful stop exits 0 ({code})")
    bad = h.json_files_unparseable(d.data_dir)
    h.check(not bad, f"{what}: every file under a final name in raw/ and processed/ parses ({bad[:3]})")
    tmp = [n for sub in ("raw", "processed", "pending") for n in os.listdir(os.path.join(d.data_dir, sub))
           if n.startswith(".tmp")]
    h.check(not tmp, f"{what}: no temporary file is left after a clean start and stop ({tmp[:3]})")
    # The SIGTERM may land in a tick that started after the drain: by contract that snapshot
    # stays pending on disk (its transaction rolls back). `replay` loads it, as the next start
    # would; then everything on disk must be in PostgreSQL once.
    replay = h.Daemon(db, None, command="replay", extra_env=d.env, workdir=d.workdir)
    h.check(replay.run_to_exit(timeout=60) == 0, f"{what}: replay after the stop exits 0")
    problems = h.db_consistency_problems(db) + h.spool_vs_db_problems(db, d.data_dir)
    h.check(not problems, f"{what}: every raw snapshot is loaded exactly once with all its rows ({problems[:3]})")
    raws = len(h.raw_snapshots(d.data_dir))
    runs = int(db.scalar("SELECT count(*) FROM etl_runs"))
    h.check(runs == raws and raws > 0, f"{what}: one etl_runs row per raw snapshot ({runs} rows, {raws} on disk)")
    return raws


def sigterm_loop(fake, rng):
    db = h.Database("system_fault_sigterm")
    d = h.Daemon(db, fake, extra_env=ENV)
    try:
        # Ticks that overrun POLL_INTERVAL (10 pages every 100 ms) still load more than they
        # fetch: the backlog stays small instead of growing until the spool bound drops data.
        fast = h.Daemon(db, fake, extra_env={**ENV, "POLL_INTERVAL": "100ms"}, workdir=d.workdir)
        fast.start()
        time.sleep(6)  # let it run (not a synchronization: the wait below is)
        h.wait_until(lambda: int(db.scalar("SELECT count(*) FROM etl_runs")) >= 5, 30,
                     "five snapshots loaded by the overrunning daemon")
        pending = len(h.pending_snapshots(fast.data_dir))
        skipped = h.metric(fast, "coingecko_etl_ticks_skipped_total")
        runs = int(db.scalar("SELECT count(*) FROM etl_runs"))
        fast.signal(signal.SIGTERM)
        fast.wait_exit(8)
        h.check(runs >= 5 and pending <= 3, f"overrunning ticks keep the backlog small ({pending} pending, "
                                            f"{runs} loaded, {skipped:g} slots skipped)")
        worst = 0.0
        limit = 3 + h.scaled(0.5)
        for i in range(8):
            d.start()
            # Random moments of operation, not of process start-up: a SIGTERM before main()
            # blocks it would kill the process by default (exit -15). /healthz answers once the
            # signals are blocked (they are from main()'s first line) and the loop is about to
            # run.
            h.wait_until(lambda: d.get("/healthz")[0] == 200, 20, f"SIGTERM #{i + 1}: the daemon to serve")
            time.sleep(rng.uniform(0.0, 2.2))
            started = time.monotonic()
            d.signal(signal.SIGTERM)
            code = d.wait_exit(8)
            took = time.monotonic() - started
            worst = max(worst, took)
            if code != 0 or took > limit:
                h.fail(f"SIGTERM #{i + 1}: exit {code} after {took:.2f}s (limit {limit:g}s)\n{d.output()[-2000:]}")
        h.check(True, f"8 x SIGTERM at random moments: exit 0 each time, slowest {worst:.2f}s (SHUTDOWN_TIMEOUT=3s)")

        # A database that accepts TCP connections and never answers (a hung server): the first
        # signal still exits 0 within SHUTDOWN_TIMEOUT, abandoning the stuck connect; a second
        # signal exits at once with 130.
        hung = socket.socket()
        hung.bind(("127.0.0.1", 0))
        hung.listen(64)
        held = []  # accepted connections, kept open and never answered

        def connected(what):
            """Waits until the daemon has connected to the hung database: it is now stuck in
            libpq's connect (connect_timeout=5s, longer than SHUTDOWN_TIMEOUT=3s)."""
            hung.settimeout(0.2)

            def accept():
                try:
                    held.append(hung.accept()[0])
                    return True
                except socket.timeout:
                    return False
            h.wait_until(accept, 20, what)
        try:
            stuck = h.Daemon(db, fake, extra_env={**ENV, "DATABASE_URL":
                                                  f"postgresql://postgres@127.0.0.1:{hung.getsockname()[1]}/x"})
            stuck.start()
            h.wait_until(lambda: stuck.get("/healthz")[0] == 200, 10, "the daemon with a hung database")
            connected("the daemon to connect to the hung database")
            started = time.monotonic()
            stuck.signal(signal.SIGTERM)
            code = stuck.wait_exit(8)
            took = time.monotonic() - started
            limit = 3 + h.scaled(0.6)
            h.check(code == 0 and took < limit, f"SIGTERM with a hung database: exit 0 within SHUTDOWN_TIMEOUT=3s "
                                                f"({code}, {took:.2f}s < {limit:g}s)")
            # Connections the stopped daemon left queued would be taken for the next one's.
            hung.setblocking(False)
            while True:
                try:
                    hung.accept()[0].close()
                except BlockingIOError:
                    break
            stuck.start()
            h.wait_until(lambda: stuck.get("/healthz")[0] == 200, 10, "the daemon with a hung database (again)")
            connected("the daemon to connect to the hung database (again)")
            stuck.signal(signal.SIGTERM)
            # The first signal is being handled (and the process is still up, stuck in connect):
            # /readyz names the shutdown. Only now is the next signal a second one.
            h.wait_until(lambda: "shutting down" in stuck.get("/readyz")[1], 5, "/readyz to say shutting down")
            started = time.monotonic()
            stuck.signal(signal.SIGINT)
            code = stuck.wait_exit(5)
            took = time.monotonic() - started
            limit = h.scaled(1.0)
            h.check(code == 130 and took < limit, f"a second signal exits at once with 130 ({code}, {took:.2f}s "
                                                  f"< {limit:g}s)")
            stuck.cleanup()
        finally:
            for conn in held:
                conn.close()
            hung.close()
        http_post_reset(fake)
        settle_and_verify(db, d, "after SIGTERMs")
    finally:
        d.cleanup()


def http_post_reset(fake):
    h.http_post(f"{fake.base}/__control/reset", "")


def kill_loop(fake, rng):
    db = h.Database("system_fault_kill9")
    d = h.Daemon(db, fake, extra_env=ENV)
    try:
        started = time.monotonic()
        for i in range(KILLS):
            http_post_reset(fake)  # empties the request log: a request in it is this run's
            runs_before = int(db.scalar("SELECT count(*) FROM etl_runs")) if i else 0
            d.start()
            # Kill during operation, not during a start-up that sanitizers make several times
            # longer: a random moment after this run's first request or, every other run, after
            # its first load (so loads happen between the kills, and each of those runs leaves
            # a fetched snapshot on disk, whatever the build's speed).
            if i % 2 == 0:
                h.wait_until(lambda: fake.requests(), 20, f"kill #{i + 1}: the run's first request")
            else:
                h.wait_until(lambda: int(db.scalar("SELECT count(*) FROM etl_runs")) > runs_before, 30,
                             f"kill #{i + 1}: the run's first load")
            time.sleep(rng.uniform(0.0, 1.45))
            d.proc.kill()
            d.proc.wait()
        h.check(True, f"{KILLS} x kill -9 at random moments, each followed by a restart "
                      f"({time.monotonic() - started:.1f}s)")
        between = int(db.scalar("SELECT count(*) FROM etl_runs"))
        h.check(between > 0, f"snapshots were loaded between the kills ({between})")
        raws = settle_and_verify(db, d, f"after {KILLS} x kill -9")
        h.check(raws >= KILLS // 2, f"the kills hit continuous operation ({raws} snapshots fetched)")
    finally:
        d.cleanup()


def main():
    seed = int(os.environ.get("ETL_FAULT_SEED", str(time.time_ns() % 100000)))
    print(f"random seed {seed} (set ETL_FAULT_SEED to repeat)", flush=True)
    rng = random.Random(seed)
    fake = h.FakeCoinGecko(h.fixture(FIXTURE), extra=("--synthetic", "1000"))
    try:
        sigterm_loop(fake, rng)
        kill_loop(fake, rng)
    finally:
        fake.stop()


if __name__ == "__main__":
    h.run_test(main)
