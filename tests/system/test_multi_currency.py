"""Issue 6, items 1 and 2: several currencies, and the rolling sweep.

Part 1: VS_CURRENCY=usd,eur,btc polls each currency every tick: rows are keyed by currency
(the same coin once per currency), and each tick writes one etl_runs row (one snapshot) per
currency, whose id names it.

Part 2: PAGES x currencies more than RATE_LIMIT_PER_MINUTE allows per POLL_INTERVAL: the pages
are spread over consecutive ticks (each tick fetches the next window, raw files keep the real
page numbers), no tick is skipped or overruns, and one full sweep loads the whole market in
every currency.
"""
import json
import os
import time

import harness as h

FIXTURE = "madjin__daily-crypto__markets_usd_top100_2026-01-20_nulls.json"
CURRENCIES = ["usd", "eur", "btc"]


def several_currencies():
    db = h.Database("system_multi_currency")
    fake = h.FakeCoinGecko(h.fixture(FIXTURE))
    daemon = h.Daemon(db, fake, extra_env={"VS_CURRENCY": ",".join(CURRENCIES)}).start()
    try:
        daemon.wait_ready(timeout=20)
        h.wait_until(lambda: all(int(db.scalar(f"SELECT count(*) FROM etl_runs WHERE vs_currency = '{c}'")) >= 3
                                 for c in CURRENCIES), 20, "three snapshots per currency")
        daemon.signal()
        h.check(daemon.wait_exit(10) == 0, "SIGTERM exits 0")

        per_currency = dict(db.rows("SELECT vs_currency, count(*) FROM coin_market GROUP BY 1"))
        h.check(per_currency == {c: "100" for c in CURRENCIES},
                f"each currency has the 100 coins once ({per_currency})")
        h.check(db.scalar("SELECT count(DISTINCT (coin_id, vs_currency)) FROM coin_market") == "300",
                "rows are keyed by (coin, currency): 300 distinct keys")
        h.check(db.scalar("SELECT count(*) FROM coin_market_latest") == "300",
                "coin_market_latest has one row per coin and currency")
        wrong = db.rows("SELECT snapshot_id, vs_currency FROM etl_runs WHERE snapshot_id NOT LIKE '%\\_' || vs_currency")
        h.check(not wrong, f"every snapshot id names its currency ({wrong[:3]})")
        bad_rows = db.rows("SELECT DISTINCT m.snapshot_id FROM coin_market m JOIN etl_runs r USING (snapshot_id) "
                           "WHERE r.vs_currency <> m.vs_currency")
        h.check(not bad_rows, "coin rows carry their snapshot's currency")

        # One snapshot per currency per tick: in fetch order, the snapshots come in groups of
        # usd, eur, btc, each group started within one tick.
        # (fetched_at: when the first page arrived, to the microsecond; started_at is the
        # snapshot id's whole second.)
        runs = db.rows("SELECT vs_currency, extract(epoch FROM fetched_at) FROM etl_runs ORDER BY fetched_at")
        complete = len(runs) - len(runs) % 3
        groups = [runs[i:i + 3] for i in range(0, complete, 3)]
        h.check(len(groups) >= 3, f"at least three ticks recorded ({len(runs)} etl_runs rows)")
        in_order = all([g[0] for g in group] == CURRENCIES for group in groups)
        h.check(in_order, f"each tick has exactly one etl_runs row per currency, usd, eur, btc ({runs[:6]})")
        spread = max(float(g[2][1]) - float(g[0][1]) for g in groups)
        # Between the first and the last currency's first page lie two fetches and two live
        # loads: a latency bound, stretched under sanitizers.
        limit = h.scaled(0.5)
        h.check(spread < limit, f"a tick's three snapshots are fetched within half an interval "
                                f"({spread:.3f}s < {limit:g}s)")
        problems = h.db_consistency_problems(db)
        h.check(not problems, f"no duplicate or partial rows ({problems[:3]})")

        asked = [r["vs_currency"] for r in fake.requests()]
        h.check(asked[:6] == CURRENCIES * 2, f"the API is asked per currency in order ({asked[:6]})")
        for c in CURRENCIES:
            with open(os.path.join(daemon.data_dir, "processed", sorted(
                    n for n in os.listdir(os.path.join(daemon.data_dir, "processed")) if n.endswith(f"_{c}.json"))[0])) as f:
                doc = json.load(f)
            h.check(doc["vs_currency"] == c and len(doc["coins"]) == 100, f"processed/<id>_{c}.json holds {c} rows")
    finally:
        daemon.cleanup()
        fake.stop()


def rolling_sweep():
    db = h.Database("system_rolling_sweep")
    fake = h.FakeCoinGecko(h.fixture(FIXTURE))
    # 4 pages of 25 in two currencies = 8 calls; 120/min allows 2 per 1 s tick: 4 ticks a sweep.
    # A tick waits half its interval for the second call's token; under sanitizers (time scale
    # > 1) the interval stretches and the rate shrinks by the same factor, so the plan is the
    # same (2 calls a tick) and "no tick overran" still means what it says.
    scale = h.time_scale()
    per_minute = 120 / scale
    env = {"VS_CURRENCY": "usd,eur", "PER_PAGE": "25", "PAGES": "4", "RATE_LIMIT_PER_MINUTE": f"{per_minute:g}",
           "POLL_INTERVAL": f"{int(1000 * scale)}ms"}
    daemon = h.Daemon(db, fake, extra_env=env).start()
    try:
        h.wait_until(lambda: db.scalar("SELECT count(*) FROM coin_market") == "200" if
                     db.scalar("SELECT to_regclass('coin_market') IS NOT NULL") == "t" else False,
                     20, "one full sweep: 100 coins in each of two currencies")
        # One more full sweep, to see the windows repeat.
        start_runs = int(db.scalar("SELECT count(*) FROM etl_runs"))
        h.wait_until(lambda: int(db.scalar("SELECT count(*) FROM etl_runs")) >= start_runs + 4, 15,
                     "another sweep")  # wait_until scales its timeout itself
        text = h.metrics_of(daemon)
        daemon.signal()
        h.check(daemon.wait_exit(10) == 0, "SIGTERM exits 0")

        h.check(h.metric_value(text, "coingecko_etl_sweep_ticks") == 4, "coingecko_etl_sweep_ticks is 4")
        h.check(h.metric_value(text, "coingecko_etl_planned_calls_per_tick") == 2,
                "coingecko_etl_planned_calls_per_tick is 2")
        h.check(abs(h.metric_value(text, "coingecko_etl_planned_calls_per_minute") - per_minute) < 1e-6,
                f"coingecko_etl_planned_calls_per_minute is {per_minute:g}")
        h.check(abs(h.metric_value(text, "coingecko_etl_planned_calls_per_month") - per_minute * 43200) < 1e-3,
                f"coingecko_etl_planned_calls_per_month is {per_minute:g}/min over a 30-day month")
        skipped = h.metric_value(text, "coingecko_etl_ticks_skipped_total")
        h.check(skipped == 0, f"no tick overran its interval ({skipped})")
        h.check((h.metric_value(text, "coingecko_etl_http_requests_total", 'code="429"') or 0) == 0, "no 429")

        snapshots = h.raw_snapshots(daemon.data_dir)
        windows = sorted({(sid.rsplit("_", 1)[1], tuple(sorted(p))) for sid, p in snapshots.items()})
        h.check(set(windows) == {("usd", (1, 2)), ("usd", (3, 4)), ("eur", (1, 2)), ("eur", (3, 4))},
                f"each tick fetched one window of two real page numbers ({windows})")
        names = sorted(n for n in daemon.raw_files() if n.endswith("_p003.json"))
        h.check(bool(names), f"raw files keep the API page number ({names[:2]})")
        per_run = db.rows("SELECT DISTINCT pages FROM etl_runs")
        h.check(per_run == [["2"]], f"every snapshot is one window of 2 pages ({per_run})")
        pages = db.rows("SELECT DISTINCT page FROM coin_market_raw ORDER BY 1")
        h.check([p[0] for p in pages] == ["1", "2", "3", "4"], f"coin_market_raw has pages 1-4 ({pages})")
        asked = [(r["vs_currency"], dict(kv.split("=") for kv in r["query"].split("&"))["page"])
                 for r in fake.requests()]
        first_sweep = asked[:8]
        h.check(first_sweep == [("usd", "1"), ("usd", "2"), ("usd", "3"), ("usd", "4"),
                                ("eur", "1"), ("eur", "2"), ("eur", "3"), ("eur", "4")],
                f"the sweep visits every (currency, page) once, in order ({first_sweep})")
        problems = h.db_consistency_problems(db)
        h.check(not problems, f"no duplicate or partial rows ({problems[:3]})")
    finally:
        daemon.cleanup()
        fake.stop()


def main():
    several_currencies()
    rolling_sweep()


if __name__ == "__main__":
    h.run_test(main)
