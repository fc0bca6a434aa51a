"""Issue 9, item 8: a daemon whose wall clock is far ahead of the database's (400 days, through
libfaketime) drops no valid data. Before, retention cutoffs followed the host's clock: every
monthly partition of coin_market and coin_market_raw went for good, and the spool dropped the
pending snapshot and purged the loaded snapshot's files as "older than" SPOOL_MAX_AGE/RETENTION.

Set-up with an honest clock: a `once` loads a snapshot (coin rows and raw page of this month);
rows three years old are added in their own months (retention must still drop those: the
assertion that recent months survive is not vacuous); a `once` against a closed database port
leaves a pending snapshot. Then the daemon starts with FAKETIME=+400d, COIN_MARKET_RETENTION and
COIN_MARKET_RAW_RETENTION 720h, RETENTION and SPOOL_MAX_AGE 168h."""
import os
import shutil
import tempfile

import harness as h

FIXTURE = "madjin__daily-crypto__markets_usd_top100_2026-04-30.json"
LIBFAKETIME = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"


def partitions(db, parent):
    return set(db.psql(f"SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                       f"WHERE i.inhparent = '{parent}'::regclass").split())


def main():
    # No skip: without libfaketime this test cannot make the clock jump, and says so.
    h.check(os.path.exists(LIBFAKETIME), f"{LIBFAKETIME} exists (apt package libfaketime; scripts/install-deps.sh)")
    db = h.Database("system_clock_ahead")
    fake = h.FakeCoinGecko(h.fixture(FIXTURE), extra=("--live-timestamps",))
    work = tempfile.mkdtemp(prefix="etl-clock-")
    try:
        once = h.Daemon(db, fake, command="once", workdir=work)
        h.check(once.run_to_exit(60) == 0, "a `once` with an honest clock loads a snapshot")
        loaded = db.scalar("SELECT snapshot_id FROM etl_runs")
        month = db.scalar("SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYY_MM')")
        old_month = db.scalar("SELECT to_char((now() - interval '3 years') AT TIME ZONE 'UTC', 'YYYY_MM')")
        coins = int(db.scalar(f"SELECT count(*) FROM coin_market WHERE snapshot_id = '{loaded}'"))
        h.check(coins == 100, f"the snapshot's 100 coins are in coin_market ({coins})")
        h.check(db.scalar(f"SELECT tableoid::regclass FROM coin_market_raw WHERE snapshot_id = '{loaded}'")
                == f"coin_market_raw_p{month}", f"its raw page is in this month's partition (p{month})")
        # Three-year-old rows in their own months: retention must drop those.
        db.psql("SELECT coin_market_ensure_partitions(now() - interval '3 years', now() - interval '3 years'); "
                "SELECT coin_market_raw_ensure_partitions(now() - interval '3 years', now() - interval '3 years'); "
                "CREATE TEMP TABLE c AS SELECT * FROM coin_market LIMIT 1; "
                "UPDATE c SET coin_id = 'old-coin', last_updated = now() - interval '3 years'; "
                "INSERT INTO coin_market SELECT * FROM c; "
                "CREATE TEMP TABLE r AS SELECT * FROM coin_market_raw LIMIT 1; "
                "UPDATE r SET snapshot_id = '20231201T000000Z_old', fetched_at = now() - interval '3 years'; "
                "INSERT INTO coin_market_raw SELECT * FROM r;")
        h.check(f"coin_market_p{old_month}" in partitions(db, "coin_market") and
                f"coin_market_raw_p{old_month}" in partitions(db, "coin_market_raw"),
                f"three-year-old months p{old_month} hold a row each")
        loaded_files = sorted(f for f in once.raw_files() if f.startswith(loaded))
        h.check(len(loaded_files) == 1, f"the loaded snapshot's raw page is on disk ({loaded_files})")

        # A pending snapshot: the database is unreachable for this one.
        down = h.Daemon(db, fake, command="once", workdir=work,
                        extra_env={"DATABASE_URL": f"postgresql://postgres@127.0.0.1:{h.free_port()}/none"})
        h.check(down.run_to_exit(60) == 1, "a `once` against a closed database port exits 1")
        pending = h.pending_snapshots(once.data_dir)
        h.check(len(pending) == 1, f"it left one pending snapshot ({pending})")

        # The daemon, 400 days ahead of the database (the monotonic clock stays honest, as it
        # does when a real wall clock jumps).
        ahead = {"LD_PRELOAD": LIBFAKETIME, "FAKETIME": "+400d", "FAKETIME_DONT_FAKE_MONOTONIC": "1",
                 "COIN_MARKET_RETENTION": "720h", "COIN_MARKET_RAW_RETENTION": "720h",
                 "RETENTION": "168h", "SPOOL_MAX_AGE": "168h", "POLL_INTERVAL": "1s"}
        if os.environ.get("ASAN_OPTIONS"):
            # An ASan build refuses to start when a preloaded library comes before its runtime
            # ("ASan runtime does not come first"); libfaketime only wraps clock calls.
            ahead["ASAN_OPTIONS"] = os.environ["ASAN_OPTIONS"] + ":verify_asan_link_order=0"
        d = h.Daemon(db, fake, workdir=work, extra_env=ahead)
        d.start()
        h.wait_until(lambda: "coin_market_raw partitions:" in d.output(), 30, "the daemon's partition maintenance")
        h.wait_until(lambda: "DROPPED" in d.output() or
                     db.scalar(f"SELECT count(*) FROM etl_runs WHERE snapshot_id = '{pending[0]}'") == "1",
                     30, "the pending snapshot to be loaded or dropped")
        out = d.output()
        h.check("DROPPED" not in out, "no pending snapshot DROPPED as older than SPOOL_MAX_AGE "
                f"({[l for l in out.splitlines() if 'DROPPED' in l][:1]})")
        h.check(db.scalar(f"SELECT status FROM etl_runs WHERE snapshot_id = '{pending[0]}'") == "loaded",
                "the pending snapshot was loaded")
        h.check(f"coin_market_p{month}" in partitions(db, "coin_market"),
                f"coin_market_p{month} (this month, by the database's clock) is still there")
        h.check(f"coin_market_raw_p{month}" in partitions(db, "coin_market_raw"),
                f"coin_market_raw_p{month} is still there")
        kept = int(db.scalar(f"SELECT count(*) FROM coin_market WHERE snapshot_id = '{loaded}'"))
        h.check(kept == coins, f"all {coins} coin rows of the first snapshot are kept ({kept})")
        h.check(db.scalar(f"SELECT count(*) FROM coin_market_raw WHERE snapshot_id = '{loaded}'") == "1",
                "its raw page row is kept")
        h.check(f"coin_market_p{old_month}" not in partitions(db, "coin_market") and
                f"coin_market_raw_p{old_month}" not in partitions(db, "coin_market_raw"),
                f"the three-year-old months p{old_month} were dropped (retention still works)")
        h.check(db.scalar("SELECT count(*) FROM coin_market WHERE coin_id = 'old-coin'") == "0",
                "the three-year-old coin row is gone with its month")
        h.check(all(os.path.exists(os.path.join(d.data_dir, "raw", f)) for f in loaded_files),
                "the loaded snapshot's raw file is kept (RETENTION did not follow the jump)")
        skew = [l for l in out.splitlines() if "CLOCK SKEW" in l]
        h.check(skew and "ahead of PostgreSQL" in skew[0], f"a loud CLOCK SKEW warning names the skew ({skew[:1]})")
        spool_clock = [l for l in out.splitlines() if "CLOCK:" in l and "SPOOL_MAX_AGE" in l]
        h.check(spool_clock, f"a loud CLOCK warning says the spool kept counting honestly ({spool_clock[:1]})")
        d.signal()
        h.check(d.wait_exit(15) == 0, "the daemon stops cleanly")
    finally:
        fake.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    h.run_test(main)
