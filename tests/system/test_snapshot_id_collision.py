"""Two processes with their own DATA_DIRs poll in the same second against one database: both
snapshots get the id <second>_usd. The second must not be taken for a replay of the first (its
data differs): it is renamed to a millisecond id and loaded.

The same second is constructed, not raced (racing two start-ups into one second failed CI by
chance): poll A is a real `once`; poll B's spool is what a second process polling in that second
leaves on disk (its own page from the fake, under A's id, a pending marker, its own fetch time),
and B's `replay` loads it through the same queue path a tick uses."""
import os

import harness as h

FIXTURE = "madjin__daily-crypto__markets_usd_top100_2026-04-30.json"


def main():
    fake = h.FakeCoinGecko(h.fixture(FIXTURE), extra=("--live-timestamps",))
    db = h.Database("system_id_collision")
    a = h.Daemon(db, fake, command="once")
    b = h.Daemon(db, fake, command="replay")
    try:
        h.check(a.run_to_exit(timeout=60) == 0, "poll A: `once` exits 0")
        raw = a.raw_files()
        h.check(len(raw) == 1, f"poll A spooled one page ({raw})")
        sid = raw[0][: -len("_p001.json")]
        a_page = os.path.join(a.data_dir, "raw", raw[0])

        # Poll B, another process in the same second: its own request (live timestamps make its
        # data differ), spooled under the same id with its own fetch time (the page's mtime).
        status, body = h.http_get(f"{fake.markets_url}?vs_currency=usd&order=market_cap_desc&per_page=100&page=1")
        h.check(status == 200 and body != open(a_page).read(), "poll B's page differs from poll A's")
        for sub in ("raw", "pending"):
            os.makedirs(os.path.join(b.data_dir, sub), exist_ok=True)
        b_page = os.path.join(b.data_dir, "raw", raw[0])
        with open(b_page, "w") as f:
            f.write(body)
        a_time = os.stat(a_page).st_mtime_ns
        os.utime(b_page, ns=(a_time + 123_000_000, a_time + 123_000_000))
        with open(os.path.join(b.data_dir, "pending", sid), "w") as f:
            f.write("first=1 last=1 per_page=100")

        h.check(b.run_to_exit(timeout=60) == 0, "poll B: `replay` exits 0")
        h.check("already used by another poll" in b.output(),
                f"poll B is recognised as another poll, not a replay:\n{b.output()[-2000:]}")
        rows = db.rows("SELECT snapshot_id, rows_inserted FROM etl_runs ORDER BY snapshot_id")
        h.check(len(rows) == 2, f"each poll has its own etl_runs row ({rows})")
        renamed = [r[0] for r in rows if r[0] != sid]
        h.check(len(renamed) == 1 and "." in renamed[0] and renamed[0].endswith("Z_usd"),
                f"the later poll got a millisecond id ({rows})")
        # Each poll's coins are all accounted for, and coin_market holds every distinct observation.
        counts = db.rows("SELECT coins_received, rows_inserted + rows_unchanged FROM etl_runs")
        h.check(all(c == ["100", "100"] for c in counts), f"neither poll was skipped: 100 coins each ({counts})")
        coins = int(db.scalar("SELECT count(*) FROM coin_market"))
        distinct = int(db.scalar("SELECT count(DISTINCT (e->>'id', e->>'last_updated')) FROM coin_market_raw_json, "
                                 "jsonb_array_elements(body) e"))
        h.check(coins == distinct and coins > 100, f"coin_market holds every distinct observation of both polls "
                                                   f"({coins} rows, {distinct} distinct)")
        pending = [f for d in (a, b) for f in os.listdir(os.path.join(d.data_dir, "pending"))]
        h.check(not pending, f"nothing left pending ({pending})")
    finally:
        a.cleanup()
        b.cleanup()
        fake.stop()


if __name__ == "__main__":
    h.run_test(main)
