"""Issue 13: a sweep interrupted between pages is a partial snapshot, and says so.

Each moment is controlled, not raced: the fake server holds page 3 until the test has seen the
daemon ask for it (so pages 1-2 are on disk), or refuses page 2 outright.

1. `once` over a 4-page market, SIGTERM while page 3 is in flight: the run did not load what it
   was asked to, so it exits non-zero; pages 1-2 stay pending with the plan in their marker.
   The next daemon's first tick loads them as `partial` with `pages = 2` and
   `error = 'missing pages 3-4 of 1-4 ...'`, counts it in coingecko_etl_snapshots_partial_total,
   and loads its own fresh snapshot complete. No row that arrived is lost.
2. A page that fails (HTTP 500, one attempt) in the middle of a live load: the snapshot commits
   the page that arrived as `partial` with the missing pages named, the tick counts as partial,
   and the next tick's complete snapshot is `loaded`.
"""
import signal

import harness as h

FIXTURE = "madjin__daily-crypto__markets_usd_top100_2026-04-30.json"
ENV = {"PER_PAGE": "250", "PAGES": "4", "HTTP_MAX_ATTEMPTS": "1", "POLL_INTERVAL": "2s"}


def runs(db):
    if not db.scalar("SELECT to_regclass('public.etl_runs')"):
        return []  # not migrated yet
    return db.rows("SELECT snapshot_id, status, pages, coins_received, coalesce(error, '') FROM etl_runs "
                   "ORDER BY fetched_at, snapshot_id")


def interrupted_once(db):
    fake = h.FakeCoinGecko(h.fixture(FIXTURE), extra=("--synthetic", "1000"))
    fake.script(["ok", "ok", "delay 600000"])  # page 3 is held until the daemon gives up on it
    once = h.Daemon(db, fake, command="once", extra_env=ENV)
    daemon = None
    try:
        once.start()
        h.wait_until(lambda: len(fake.requests()) >= 3, 60, "`once` to ask for page 3")
        once.signal(signal.SIGTERM)
        code = once.wait_exit(30)
        h.check(code == 1, f"`once` stopped between pages exits 1: not fully loaded (got {code})")
        pending = h.pending_snapshots(once.data_dir)
        h.check(len(pending) == 1, f"the interrupted snapshot stays pending ({pending})")
        sid = pending[0] if pending else ""
        h.check(sorted(h.raw_snapshots(once.data_dir).get(sid, [])) == [1, 2], "with pages 1 and 2 on disk")
        h.check(db.scalar("SELECT count(*) FROM etl_runs") == "0", "nothing was committed by the stopped run")

        # The next start: its first tick fetches a whole new snapshot and loads the backlog.
        daemon = h.Daemon(db, fake, extra_env=ENV, workdir=once.workdir).start()
        h.wait_until(lambda: len(runs(db)) >= 2, 60, "the backlog and a fresh snapshot to load")
        rows = runs(db)
        h.check(rows[0][:4] == [sid, "partial", "2", "500"],
                f"the interrupted snapshot is recorded as partial with its 2 pages and 500 coins ({rows[0]})")
        h.check(rows[0][4].startswith("missing pages 3-4 of 1-4"), f"etl_runs.error names pages 3-4 ({rows[0][4]!r})")
        h.check(all(r[1:4] == ["loaded", "4", "1000"] and r[4] == "" for r in rows[1:]),
                f"every later snapshot is complete and loaded ({rows[1:]})")
        # The counter moves just after the commit that made the rows visible: wait for it.
        partial = h.wait_until(lambda: h.metric(daemon, "coingecko_etl_snapshots_partial_total"),
                               30, "the partial snapshot to be counted")
        h.check(partial == 1, f"coingecko_etl_snapshots_partial_total counts it once ({partial:g})")
        daemon.signal(signal.SIGTERM)
        h.check(daemon.wait_exit(30) == 0, "the daemon stops with 0")
        replay = h.Daemon(db, fake, command="replay", extra_env=ENV, workdir=once.workdir)
        h.check(replay.run_to_exit(timeout=60) == 0, "replay of anything left exits 0")
        problems = h.db_consistency_problems(db) + h.spool_vs_db_problems(db, once.data_dir)
        h.check(not problems, f"every coin that arrived is stored once ({problems[:3]})")
    finally:
        if daemon:
            daemon.stop()
        once.cleanup()
        fake.stop()


def failed_page(db):
    fake = h.FakeCoinGecko(h.fixture(FIXTURE), extra=("--synthetic", "1000"))
    fake.script(["ok", "status 500"])  # the first tick's page 2 fails; every later request is served
    d = h.Daemon(db, fake, extra_env={**ENV, "LOG_FORMAT": "json"}).start()
    try:
        h.wait_until(lambda: len(runs(db)) >= 2, 60, "two snapshots to load")
        rows = runs(db)
        h.check(rows[0][1:4] == ["partial", "1", "250"],
                f"the snapshot whose page 2 failed holds page 1 and is partial ({rows[0]})")
        h.check(rows[0][4].startswith("missing pages 2-4 of 1-4"), f"etl_runs.error names pages 2-4 ({rows[0][4]!r})")
        h.check(rows[1][1:5] == ["loaded", "4", "1000", ""], f"the next tick's snapshot is complete ({rows[1]})")
        partial = h.wait_until(lambda: h.metric(d, "coingecko_etl_snapshots_partial_total"), 30,
                               "the partial snapshot to be counted")
        h.check(partial == 1, f"one partial snapshot counted ({partial:g})")
        h.wait_until(lambda: h.metric(d, "coingecko_etl_ticks_total", 'result="partial"') >= 1, 30,
                     "the first tick to be counted as partial")
        h.check(True, "the first tick counts as partial")
        h.wait_until(lambda: '"snapshot loaded partial: pages missing"' in d.output(), 30,
                     "a warning that names the partial snapshot")
        h.check(True, "a warning names the partial snapshot")
    finally:
        d.cleanup()
        fake.stop()


def main():
    interrupted_once(h.Database("system_partial_once"))
    failed_page(h.Database("system_partial_page"))


if __name__ == "__main__":
    h.run_test(main)
