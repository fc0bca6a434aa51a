"""A fresh snapshot is loaded while it is fetched (issue 6: one parse per page, one transaction,
commit right after the last page), and the result is the same as loading its spooled files:

1. `once` over a 3-page market loads all 750 coins in one snapshot, from memory (log field
   loaded_from=memory), with the raw and processed files on disk as always.
2. The crash window between COMMIT and removing the pending marker: with the marker put back,
   `replay` loads the same snapshot from the spool and must recognise it as already loaded
   (same id, same fetched_at), adding no rows and no second snapshot under a millisecond id.
3. With an older snapshot still pending, the fresh one does not jump the queue: both load from
   the spool, oldest first.
"""
import json
import os
import time

import harness as h

FIXTURE = "madjin__daily-crypto__markets_usd_top100_2026-04-30.json"


def load_events(daemon):
    events = []
    for line in daemon.output().splitlines():
        try:
            e = json.loads(line)
        except ValueError:
            continue
        if e.get("msg") == "snapshot loaded":
            events.append(e)
    return events


def main():
    fake = h.FakeCoinGecko(h.fixture(FIXTURE), extra=("--synthetic", "750", "--live-timestamps"))
    db = h.Database("system_live_load")
    env = {"PER_PAGE": "250", "PAGES": "3", "LOG_FORMAT": "json"}
    first = h.Daemon(db, fake, command="once", extra_env=env)
    runs = [first]
    try:
        h.check(first.run_to_exit(timeout=60) == 0, "`once` exits 0")
        events = load_events(first)
        h.check(len(events) == 1 and events[0].get("loaded_from") == "memory",
                f"the fresh snapshot was loaded from memory while fetched ({events})")
        snapshot = events[0]["snapshot_id"] if events else ""
        h.check(events and events[0].get("pages") == 3 and events[0].get("inserted") == 750,
                f"one snapshot of 3 pages, 750 rows inserted ({events})")
        runs_rows = db.rows("SELECT snapshot_id, pages, rows_inserted, status FROM etl_runs")
        h.check(runs_rows == [[snapshot, "3", "750", "loaded"]], f"etl_runs has exactly that snapshot ({runs_rows})")
        h.check(int(db.scalar("SELECT count(*) FROM coin_market_raw")) == 3, "3 raw pages stored")
        h.check(len(first.raw_files()) == 3, f"3 raw files spooled ({first.raw_files()})")
        processed = os.path.join(first.data_dir, "processed")
        h.check(len(os.listdir(processed)) == 1, "one processed file")
        h.check(not h.pending_snapshots(first.data_dir), "nothing pending after the live load")

        # 2. Put the pending marker back, as a crash right after COMMIT would leave it.
        with open(os.path.join(first.data_dir, "pending", snapshot), "w"):
            pass
        replay = h.Daemon(db, fake, command="replay", extra_env=env, workdir=first.workdir)
        runs.append(replay)
        h.check(replay.run_to_exit(timeout=60) == 0, "`replay` exits 0")
        out = replay.output()
        h.check(f"snapshot {snapshot} was already loaded" in out,
                f"the spool path recognises the live-loaded snapshot as the same one:\n{out[-2000:]}")
        h.check("already used by another poll" not in out, "it is not taken for another poll's snapshot")
        h.check(int(db.scalar("SELECT count(*) FROM etl_runs")) == 1, "still one etl_runs row")
        h.check(int(db.scalar("SELECT count(*) FROM coin_market")) == 750, "still 750 coin rows")
        h.check(not h.pending_snapshots(first.data_dir), "the marker is acknowledged")

        # 3. An older snapshot still pending: the fresh one waits its turn.
        older = h.Daemon(db, None, command="once", extra_env=env)  # nothing to fetch from
        runs.append(older)
        older.env["COINGECKO_URL"] = fake.markets_url
        older.env["DATABASE_URL"] = "postgresql://postgres@127.0.0.1:9/none?connect_timeout=1"
        older.run_to_exit(timeout=60)
        h.check(len(h.pending_snapshots(older.data_dir)) == 1, "a snapshot spooled while the database was unreachable")
        older.env["DATABASE_URL"] = db.url
        time.sleep(1.1)  # the fresh snapshot's id names a later second (ids sort by time)
        h.check(older.run_to_exit(timeout=60) == 0, "the next `once` exits 0")
        events = load_events(older)
        sources = [e.get("loaded_from") for e in events]
        ids = [e.get("snapshot_id") for e in events]
        h.check(sources == ["spool", "spool"] and ids == sorted(ids),
                f"the backlog and the fresh snapshot both loaded from the spool, oldest first ({events})")
        h.check(int(db.scalar("SELECT count(*) FROM etl_runs")) == 3, "three snapshots in etl_runs")
    finally:
        for d in runs:
            d.cleanup()
        fake.stop()


if __name__ == "__main__":
    h.run_test(main)
