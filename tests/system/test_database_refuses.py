"""Issue 9, error classes and quarantine: only bad data is quarantined, and quarantine keeps it.

1. The database turns read-only mid-run, as after a failover to a standby (SQLSTATE 25006): loads
   are refused, every snapshot fetched meanwhile stays pending (nothing quarantined), /readyz is
   503 naming the refusal, load_errors_total{kind="refused"} counts it. Once the database is
   writable again, every one of them loads and /readyz returns to 200.
2. A snapshot PostgreSQL refuses as data outside its coin rows (a bad coin costs only itself:
   test_refused_rows.py), here its raw page, refused by a CHECK the test adds (SQLSTATE 23514),
   is quarantined with its files kept, counted in snapshots_quarantined_total, and the tick that
   fetched it is not a success: `once` exits 1, the daemon counts the tick as failed.
"""
import json
import os
import signal

import harness as h

FIXTURE = "madjin__daily-crypto__markets_usd_top100_2026-04-30.json"


def etl_runs(db):
    if not db.scalar("SELECT to_regclass('public.etl_runs')"):
        return 0
    return int(db.scalar("SELECT count(*) FROM etl_runs"))


def terminate_daemon_sessions(db):
    db.psql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = "
            f"'{db.name}' AND application_name LIKE 'coingecko-etl%'", url=db.admin_url)


def read_only_database(fake):
    db = h.Database("system_refuses_readonly")
    d = h.Daemon(db, fake, extra_env={"POLL_INTERVAL": "1s", "LOG_FORMAT": "json"}).start()
    try:
        h.wait_until(lambda: etl_runs(db) >= 2, 60, "two loads before the failover")
        # A failover to a standby: every new session is read-only. Sessions are ended so the
        # daemon's next one meets it, as a failover would end them.
        db.psql(f'ALTER DATABASE "{db.name}" SET default_transaction_read_only = on', url=db.admin_url)
        terminate_daemon_sessions(db)
        h.wait_until(lambda: h.metric(d, "coingecko_etl_load_errors_total", 'kind="refused"') >= 1,
                     60, "a load to be refused by the read-only database")
        h.check(True, "the read-only database's refusal is counted as load_errors_total{kind=\"refused\"}")
        # Counted after the refusal: from here on no session of the daemon can commit.
        loaded_before = etl_runs(db)
        status, body = h.wait_until(lambda: (lambda r: r if r[0] == 503 else None)(d.get("/readyz")),
                                    30, "/readyz 503")
        h.check("database refuses loads" in body and "25006" in body,
                f"/readyz is 503 naming the refusal and its SQLSTATE ({body[:300]})")
        # Ticks keep fetching into the spool while the database refuses.
        h.wait_until(lambda: len(h.pending_snapshots(d.data_dir)) >= 3, 60,
                     "three snapshots to be pending")
        waiting = set(h.pending_snapshots(d.data_dir))
        quarantined = os.listdir(os.path.join(d.data_dir, "quarantine"))
        h.check(not quarantined, f"nothing is quarantined for the server's refusal ({quarantined})")
        h.check(etl_runs(db) == loaded_before, "nothing was loaded while the database was read-only")

        db.psql(f'ALTER DATABASE "{db.name}" RESET default_transaction_read_only', url=db.admin_url)

        def all_loaded():
            return waiting <= {r[0] for r in db.rows("SELECT snapshot_id FROM etl_runs WHERE status = 'loaded'")}
        h.wait_until(all_loaded, 120, "every snapshot fetched while read-only to load", interval=0.2)
        h.check(True, f"all {len(waiting)} snapshots fetched while the database was read-only are loaded")
        h.wait_until(lambda: d.get("/readyz")[0] == 200, 30, "/readyz 200 again")
        h.check(True, "/readyz returns to 200 once loads succeed")
        h.check(not os.listdir(os.path.join(d.data_dir, "quarantine")), "still nothing quarantined")
        h.check(h.metric(d, "coingecko_etl_snapshots_quarantined_total") == 0, "snapshots_quarantined_total is 0")
        logged = [json.loads(line) for line in d.output().splitlines() if line.startswith("{")]
        refusals = [e for e in logged if e.get("msg", "").startswith("load deferred: the database refuses it")
                    and e.get("level") in ("error", "err")]
        h.check(refusals and refusals[0].get("sqlstate") == "25006",
                f"an error line names the refusal ({refusals[:1]})")
        d.signal(signal.SIGTERM)
        h.check(d.wait_exit(30) == 0, "SIGTERM exits 0")
        replay = h.Daemon(db, fake, command="replay", extra_env=d.env, workdir=d.workdir)
        h.check(replay.run_to_exit(timeout=60) == 0, "replay of anything left exits 0")
        problems = h.db_consistency_problems(db) + h.spool_vs_db_problems(db, d.data_dir)
        h.check(not problems, f"every snapshot on disk is loaded once ({problems[:3]})")
    finally:
        d.cleanup()


def refused_as_data(fake, workdir):
    # A page whose size the database refuses (any body of that size: only this one has it).
    with open(h.fixture(FIXTURE)) as f:
        coins = json.load(f)
    bad_body = os.path.join(workdir, "refused-page.json")
    with open(bad_body, "w") as f:
        json.dump(coins, f)
    size = os.path.getsize(bad_body)
    h.check(size != os.path.getsize(h.fixture(FIXTURE)), "the refused page differs in size from the good ones")

    db = h.Database("system_refuses_data")
    fake.script([f"status 200 body={bad_body}"])
    once = h.Daemon(db, fake, command="once")
    migrate = h.Daemon(db, fake, command="migrate")
    d = None
    try:
        h.check(migrate.run_to_exit(timeout=60) == 0, "`migrate` exits 0")
        db.psql(f"ALTER TABLE coin_market_raw ADD CONSTRAINT test_refuse_page CHECK (body_bytes <> {size}) NOT VALID")
        code = once.run_to_exit(timeout=60)
        h.check(code == 1, f"`once` whose snapshot was quarantined exits 1: not loaded (got {code})")
        names = os.listdir(os.path.join(once.data_dir, "quarantine"))
        h.check(len(names) == 1, f"the snapshot is quarantined ({names})")
        with open(os.path.join(once.data_dir, "quarantine", names[0])) as f:
            reason = f.read()
        h.check("23514" in reason, f"quarantine/ names the reason ({reason[:200]})")
        h.check(len(once.raw_files()) == 1, "its raw page is kept")

        fake.script([f"status 200 body={bad_body}"])
        d = h.Daemon(db, fake, extra_env={"POLL_INTERVAL": "1s"}).start()
        quarantined = h.wait_until(lambda: h.metric(d, "coingecko_etl_snapshots_quarantined_total"),
                                   60, "the quarantine to be counted")
        h.check(quarantined == 1, f"snapshots_quarantined_total counts it ({quarantined:g})")
        h.wait_until(lambda: h.metric(d, "coingecko_etl_ticks_total", 'result="failed"') >= 1, 30,
                     "the tick that fetched it to be counted as failed")
        h.check(True, "the tick whose snapshot was quarantined counts as failed, not success")
        h.wait_until(lambda: h.metric(d, "coingecko_etl_ticks_total", 'result="success"') >= 1, 30,
                     "the next tick to load")
        h.check(True, "the next good tick loads")
    finally:
        if d:
            d.cleanup()
        once.cleanup()
        migrate.cleanup()


def main():
    fake = h.FakeCoinGecko(h.fixture(FIXTURE))
    workdir = h.tempfile.mkdtemp(prefix="etl-refuses-")
    try:
        read_only_database(fake)
        refused_as_data(fake, workdir)
    finally:
        fake.stop()
        h.shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    h.run_test(main)
