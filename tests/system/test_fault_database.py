"""Issue 3, PostgreSQL faults, on a private cluster of this test's own:

1. Stopped for 60 s and started again, POLL_INTERVAL=1s: the daemon never exits, /readyz is 503
   naming the database during the outage, load errors are counted as `unavailable`, and within
   5 s of recovery every snapshot fetched during the outage is in etl_runs as loaded, with no
   duplicate rows.
2. Killed mid-COPY (a 3,000-coin snapshot of 12 pages): first kill -9 of the backend running the
   load, then kill -9 of the postmaster. No half-loaded snapshot is ever visible, and each one
   loads in full after the restart (one cut short by the final SIGTERM between pages is recorded
   as partial, naming exactly the pages it lacks).
"""
import os
import signal
import time

import harness as h

FIXTURE = "madjin__daily-crypto__markets_usd_top100_2026-04-30.json"
OUTAGE_SECONDS = 60


def outage(cluster):
    db = cluster.database("fault_outage")
    fake = h.FakeCoinGecko(h.fixture(FIXTURE))
    d = h.Daemon(db, fake, extra_env={"POLL_INTERVAL": "1s"}).start()
    try:
        d.wait_ready(timeout=30)
        h.wait_until(lambda: int(db.scalar("SELECT count(*) FROM etl_runs")) >= 2, 10, "two loads before the outage")
        unavailable = h.metric(d, "coingecko_etl_load_errors_total", 'kind="unavailable"')

        cluster.stop()
        stopped = time.monotonic()
        samples = []
        while time.monotonic() - stopped < OUTAGE_SECONDS:
            if not h.alive(d):
                h.fail(f"the daemon exited during the outage:\n{d.output()[-3000:]}")
            status, body = d.get("/readyz")
            samples.append((time.monotonic() - stopped, status, body))
            time.sleep(1)
        h.check(h.alive(d), f"the daemon stays up through a {OUTAGE_SECONDS}s outage")
        late = [s for s in samples if s[0] > 5]
        not_503 = [s[:2] for s in late if s[1] != 503 or "database unreachable" not in s[2]]
        h.check(late and not not_503, f"/readyz is 503 naming the database for the whole outage "
                                      f"({len(late)} samples; exceptions {not_503[:3]})")
        h.check(h.metric(d, "coingecko_etl_db_up") == 0, "coingecko_etl_db_up is 0 during the outage")
        errors = h.metric(d, "coingecko_etl_load_errors_total", 'kind="unavailable"') - unavailable
        h.check(errors >= 1, f"failed loads are counted as load_errors{{kind=unavailable}} (+{errors:g})")
        h.check(errors <= OUTAGE_SECONDS * 1.5, f"...at most about one attempt per tick (+{errors:g})")
        outage_ids = set(h.pending_snapshots(d.data_dir))
        h.check(len(outage_ids) >= OUTAGE_SECONDS * 0.7,
                f"ticks kept fetching and spooling during the outage ({len(outage_ids)} pending)")
        missing_raw = [s for s in outage_ids if s not in h.raw_snapshots(d.data_dir)]
        h.check(not missing_raw, "every pending snapshot has its raw page on disk")

        cluster.start()
        recovered = time.monotonic()

        def all_loaded():
            loaded = {r[0] for r in db.rows("SELECT snapshot_id FROM etl_runs WHERE status = 'loaded'")}
            return outage_ids <= loaded
        h.wait_until(all_loaded, 30, "the outage backlog to load", interval=0.05)
        took = time.monotonic() - recovered
        limit = 5.0 * h.time_scale()
        h.check(took <= limit, f"every snapshot fetched during the outage is loaded within {limit:g} s of recovery "
                             f"({len(outage_ids)} in {took:.2f}s)")
        h.wait_until(lambda: d.get("/readyz")[0] == 200, 15, "/readyz 200 after recovery")
        h.check(True, "/readyz returns to 200 after recovery")
        h.check(h.metric(d, "coingecko_etl_db_up") == 1, "coingecko_etl_db_up is 1 again")
        d.signal(signal.SIGTERM)
        h.check(d.wait_exit(10) == 0, "SIGTERM after the outage exits 0")
        # A tick abandoned by SIGTERM after spooling stays pending by contract; load it as the
        # next start would, then check that everything on disk is in the database once.
        replay = h.Daemon(db, fake, command="replay", extra_env=d.env, workdir=d.workdir)
        h.check(replay.run_to_exit(timeout=60) == 0, "replay after the stop exits 0")

        problems = h.db_consistency_problems(db) + h.spool_vs_db_problems(db, d.data_dir)
        h.check(not problems, f"no duplicate or partial rows; every raw snapshot loaded once ({problems[:3]})")
        runs = int(db.scalar("SELECT count(*) FROM etl_runs"))
        raws = len(h.raw_snapshots(d.data_dir))
        h.check(runs == raws, f"count(etl_runs) == raw snapshots on disk ({runs} == {raws})")
        whole = db.scalar("SELECT count(*) FROM etl_runs WHERE coins_received <> 100 OR status <> 'loaded'")
        h.check(whole == "0", "each snapshot has all 100 coins")
        h.check(db.scalar("SELECT count(*) FROM coin_market") == "100", "the repeated body added no duplicate rows")
    finally:
        d.cleanup()
        fake.stop()


def load_backend(cluster, dbname):
    """pid of the daemon's backend while it is inside a snapshot load, else None."""
    ok, out = cluster.psql_ok(
        "SELECT pid FROM pg_stat_activity WHERE application_name = 'coingecko-etl' AND datname = "
        f"'{dbname}' AND xact_start IS NOT NULL AND (query ILIKE '%coin_market_raw%' OR query ILIKE 'COPY%' "
        "OR query ILIKE '%coin_market_stage%')")
    return int(out.split()[0]) if ok and out else None


# Every migration the binary carries (they are embedded from migrations/).
MIGRATIONS = len([f for f in os.listdir(os.path.join(h.env("ETL_SOURCE_DIR"), "migrations")) if f.endswith(".sql")])


def kill_mid_copy(cluster):
    db = cluster.database("fault_midcopy")
    fake = h.FakeCoinGecko(h.fixture(FIXTURE), extra=("--synthetic", "3000"))
    d = h.Daemon(db, fake, extra_env={"POLL_INTERVAL": "4s", "PER_PAGE": "250", "PAGES": "12",
                                      "VS_CURRENCY": "usd,eur,gbp"})
    try:
        for how in ("backend", "postmaster"):
            d.start()
            # Kill a load, not one of the first tick's migrations (their SQL names the same tables):
            # wait until every migration is applied, not just the one creating etl_runs.
            h.wait_until(lambda: cluster.psql_ok("SELECT count(*) FROM schema_migrations",
                                                 "fault_midcopy")[1].strip() == str(MIGRATIONS),
                         60, f"all {MIGRATIONS} migrations to be applied", interval=0.05)
            pid = h.wait_until(lambda: load_backend(cluster, "fault_midcopy"), 60,
                               f"a snapshot load to be in progress ({how} round)", interval=0.01)
            if how == "backend":
                os.kill(pid, signal.SIGKILL)  # the postmaster resets every backend: a crash
            else:
                cluster.kill9()
            h.check(True, f"kill -9 of the {how} while a 3000-coin snapshot loads")
            # Whatever committed before the crash is whole; nothing else is visible.
            if how == "postmaster":
                cluster.start()
            h.wait_until(lambda: cluster.psql_ok("SELECT 1", "fault_midcopy")[0], 30, "PostgreSQL back")
            problems = h.db_consistency_problems(db)
            h.check(not problems, f"{how}: no partial snapshot is visible after the crash ({problems[:3]})")
            h.check(h.alive(d), f"{how}: the daemon survives the database crash")
            # The interrupted snapshot (and every other) loads after the restart.
            h.wait_until(lambda: not h.pending_snapshots(d.data_dir), 60, f"{how}: the backlog to drain")
            text = h.metrics_of(d)
            kinds = {line.split('kind="')[1].split('"')[0]: float(line.rsplit(" ", 1)[1])
                     for line in text.splitlines()
                     if line.startswith("coingecko_etl_load_errors_total{")}
            unavailable = kinds.get("unavailable", 0)
            others = {k: v for k, v in kinds.items() if k != "unavailable" and v > 0}
            # A crash is an outage, never a problem with the data or a refusal.
            h.check(not others, f"{how}: a failed load during the crash is counted only as kind=unavailable ({kinds})")
            # The killed backend is usually inside the load, which then fails as unavailable; it
            # can also be caught between two statements of other work on a load's session (or, for
            # the postmaster, finish and commit before it notices), and the next use reconnects.
            print(f"note: {how}: {unavailable:g} load(s) failed as unavailable", flush=True)
            d.signal(signal.SIGTERM)
            h.check(d.wait_exit(15) == 0, f"{how}: SIGTERM exits 0")
            # A tick that started just before SIGTERM may have been abandoned after spooling: by
            # contract it stays pending on disk. `replay` loads it, as the next start would.
            replay = h.Daemon(db, fake, command="replay", extra_env=d.env, workdir=d.workdir)
            h.check(replay.run_to_exit(timeout=60) == 0, f"{how}: replay after the stop exits 0")
            problems = h.db_consistency_problems(db) + h.spool_vs_db_problems(db, d.data_dir)
            h.check(not problems, f"{how}: every spooled snapshot is loaded once and in full ({problems[:3]})")
            # SIGTERM may land between two pages of a sweep: that snapshot is partial by contract,
            # and must say so with exactly the pages it has. Every other one is whole.
            wrong = whole_or_partial_problems(db, d.data_dir, pages=12, per_page=250)
            total = int(db.scalar("SELECT count(*) FROM etl_runs"))
            h.check(not wrong and total >= 3, f"{how}: each of {total} snapshots has 12 pages and 3000 coins, or is "
                                              f"partial naming exactly the pages it lacks ({wrong[:3]})")
    finally:
        d.cleanup()
        fake.stop()


def whole_or_partial_problems(db, data_dir, pages, per_page):
    """Snapshots that are neither complete and loaded nor partial with the right missing pages."""
    on_disk = h.raw_snapshots(data_dir)
    problems = []
    for sid, status, n, coins, error in db.rows("SELECT snapshot_id, status, pages, coins_received, "
                                                "coalesce(error, '') FROM etl_runs"):
        have = sorted(on_disk.get(sid, []))
        if status == "loaded" and int(n) == pages and int(coins) == pages * per_page and not error:
            continue
        lacking = [p for p in range(1, pages + 1) if p not in have]
        if (status == "partial" and lacking and int(n) == len(have) and int(coins) == len(have) * per_page
                and error.startswith(f"missing pages {describe_pages(lacking)} of 1-{pages}")):
            continue
        problems.append(f"{sid}: {status}, {n} pages, {coins} coins, error {error!r}, on disk {have}")
    return problems


def describe_pages(pages):
    """[3, 4, 5, 9] -> '3-5,9', as etl_runs.error names them."""
    out, i = [], 0
    while i < len(pages):
        j = i
        while j + 1 < len(pages) and pages[j + 1] == pages[j] + 1:
            j += 1
        out.append(str(pages[i]) if i == j else f"{pages[i]}-{pages[j]}")
        i = j + 1
    return ",".join(out)


def main():
    cluster = h.PrivateCluster()
    try:
        outage(cluster)
        kill_mid_copy(cluster)
    finally:
        cluster.destroy()


if __name__ == "__main__":
    h.run_test(main)
