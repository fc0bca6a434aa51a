"""Two processes with their own DATA_DIRs poll in the same second against one database: both
snapshots get the id <second>_usd. The second must not be taken for a replay of the first (its
data differs): it is renamed to a millisecond id and loaded."""
import os
import time

import harness as h

FIXTURE = "madjin__daily-crypto__markets_usd_top100_2026-04-30.json"


def main():
    fake = h.FakeCoinGecko(h.fixture(FIXTURE), extra=("--live-timestamps",))
    runs = []
    try:
        for attempt in range(5):  # both fetches must fall inside one second
            db = h.Database(f"system_id_collision_{attempt}")
            h.check(h.Daemon(db, fake, command="migrate").run_to_exit(timeout=60) == 0, "schema migrated")
            # Start at a different point of the second each time: the two ticks begin a start-up
            # time after this, and a start-up time (several times longer under sanitizers) that
            # always ends near a second boundary would split the pair on every attempt.
            offset = (0.02 + 0.37 * attempt) % 1.0
            time.sleep(1.0 - (time.time() % 1.0) + offset)
            pair = [h.Daemon(db, fake, command="once"), h.Daemon(db, fake, command="once")]
            runs += pair
            for d in pair:
                d.start()
            codes = [d.proc.wait(timeout=h.scaled(60)) for d in pair]
            h.check(codes == [0, 0], f"both `once` runs exit 0 {codes}")
            if any("already used by another poll" in d.output() for d in pair):
                break
        else:
            h.fail("could not make two polls collide within one second in 5 tries")
        rows = db.rows("SELECT snapshot_id, rows_inserted FROM etl_runs ORDER BY snapshot_id")
        h.check(len(rows) == 2, f"each poll has its own etl_runs row ({rows})")
        h.check(any("." in r[0].split("_")[0] for r in rows), f"the later poll got a millisecond id ({rows})")
        # Each poll's coins are all accounted for. The fake stamps last_updated with the request's
        # millisecond, so two requests in the same millisecond get the very same data: then the
        # second poll's rows are rightly `unchanged`, not inserted twice. The rows stored must be
        # exactly the distinct observations in both raw pages, whatever the timing.
        counts = db.rows("SELECT coins_received, rows_inserted + rows_unchanged FROM etl_runs")
        h.check(all(c == ["100", "100"] for c in counts), f"neither poll was skipped: 100 coins each ({counts})")
        coins = int(db.scalar("SELECT count(*) FROM coin_market"))
        distinct = int(db.scalar("SELECT count(DISTINCT (e->>'id', e->>'last_updated')) FROM coin_market_raw, "
                                 "jsonb_array_elements(body) e"))
        h.check(coins == distinct and coins >= 100, f"coin_market holds every distinct observation of both polls "
                                                    f"({coins} rows, {distinct} distinct)")
        pending = [f for d in pair for f in os.listdir(os.path.join(d.data_dir, "pending"))]
        h.check(not pending, f"nothing left pending ({pending})")
    finally:
        for d in runs:
            d.cleanup()
        fake.stop()


if __name__ == "__main__":
    h.run_test(main)
