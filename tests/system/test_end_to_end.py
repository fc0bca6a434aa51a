"""Issue 2 acceptance, end to end: the built daemon + fake CoinGecko + real PostgreSQL.

One tick of a real captured top-100 response yields 100 rows whose every numeric column equals
the JSON number exactly (as decimals), nulls stay NULL, the raw file is byte-identical to the
body; the same body again adds no coin rows but one more etl_runs row; /healthz, /readyz and
/metrics answer (metrics pass promtool); SIGTERM exits 0 within SHUTDOWN_TIMEOUT.
"""
import json
import os
import signal
import time
from decimal import Decimal

import harness as h

FIXTURE = "madjin__daily-crypto__markets_usd_top100_2026-01-20_nulls.json"
NUMERIC = ["current_price", "market_cap", "fully_diluted_valuation", "total_volume", "high_24h", "low_24h",
           "price_change_24h", "price_change_percentage_24h", "market_cap_change_24h",
           "market_cap_change_percentage_24h", "circulating_supply", "total_supply", "max_supply", "ath",
           "ath_change_percentage", "atl", "atl_change_percentage"]


def main():
    body = open(h.fixture(FIXTURE), "rb").read()
    coins = json.loads(body, parse_float=Decimal, parse_int=Decimal)
    db = h.Database("system_end_to_end")
    fake = h.FakeCoinGecko(h.fixture(FIXTURE))
    daemon = h.Daemon(db, fake).start()
    try:
        h.wait_until(lambda: daemon.get("/healthz")[0] == 200, 10, "/healthz 200")
        daemon.wait_ready(timeout=20)
        h.check(True, "/readyz turned 200 after the first load")

        count = int(db.scalar("SELECT count(*) FROM coin_market"))
        h.check(count == 100, f"one tick loads 100 coin rows (got {count})")

        cols = ", ".join(f"{c}::text" for c in NUMERIC)
        rows = db.rows(f"SELECT coin_id, market_cap_rank::text, roi_times::text, roi_currency, roi_percentage::text, "
                       f"last_updated::text, {cols} FROM coin_market ORDER BY coin_id")
        by_id = {r[0]: r for r in rows}
        mismatches = []
        nulls_seen = 0
        for coin in coins:
            r = by_id.get(coin["id"])
            if r is None:
                mismatches.append(f"{coin['id']} missing")
                continue
            for i, col in enumerate(NUMERIC):
                db_value = r[6 + i]
                if coin[col] is None:
                    nulls_seen += 1
                    if db_value != "":
                        mismatches.append(f"{coin['id']}.{col}: null became {db_value}")
                elif db_value == "" or Decimal(db_value) != coin[col]:
                    mismatches.append(f"{coin['id']}.{col}: {coin[col]} != {db_value!r}")
            rank = coin["market_cap_rank"]
            if (rank is None) != (r[1] == "") or (rank is not None and Decimal(r[1]) != rank):
                mismatches.append(f"{coin['id']}.market_cap_rank: {rank} != {r[1]!r}")
            roi = coin["roi"]
            if roi is None:
                if r[2] or r[3] or r[4]:
                    mismatches.append(f"{coin['id']}.roi: null became {r[2:5]}")
            elif Decimal(r[2]) != roi["times"] or r[3] != roi["currency"] or Decimal(r[4]) != roi["percentage"]:
                mismatches.append(f"{coin['id']}.roi: {roi} != {r[2:5]}")
        h.check(not mismatches, f"every numeric column equals the JSON decimal exactly ({mismatches[:5]})")
        h.check(nulls_seen > 50, f"the fixture's nulls ({nulls_seen}) stayed NULL")
        exact = db.scalar("SELECT count(*) FROM coin_market WHERE last_updated IS NULL")
        h.check(exact == "0", "last_updated is never NULL")

        raw = daemon.raw_files()
        h.check(len(raw) >= 1 and raw[0].endswith("_usd_p001.json"), f"raw file named per contract ({raw[:2]})")
        first = open(os.path.join(daemon.data_dir, "raw", raw[0]), "rb").read()
        h.check(first == body, "raw file is byte-identical to the served body")
        processed = sorted(os.listdir(os.path.join(daemon.data_dir, "processed")))
        doc = json.load(open(os.path.join(daemon.data_dir, "processed", processed[0])), parse_float=Decimal)
        h.check(len(doc["coins"]) == 100 and doc["coins"][0]["coin_id"] == coins[0]["id"],
                "processed file holds the 100 normalized records")

        # Later ticks serve the same body: no new coin rows, one etl_runs row each.
        runs_before = int(db.scalar("SELECT count(*) FROM etl_runs"))
        h.wait_until(lambda: int(db.scalar("SELECT count(*) FROM etl_runs")) >= runs_before + 2, 15,
                     "two more ticks")
        count = int(db.scalar("SELECT count(*) FROM coin_market"))
        h.check(count == 100, f"the same body again adds 0 rows (still {count})")
        unchanged = db.scalar("SELECT rows_unchanged FROM etl_runs ORDER BY loaded_at DESC LIMIT 1")
        h.check(unchanged == "100", f"the repeat is counted as 100 unchanged rows (got {unchanged})")
        latest = db.scalar("SELECT count(*) FROM coin_market_latest")
        h.check(latest == "100", "coin_market_latest has one row per coin")
        # Both counts from one statement (one snapshot): the daemon keeps loading meanwhile.
        raw_rows, run_rows = db.rows("SELECT (SELECT count(*) FROM coin_market_raw), "
                                     "(SELECT count(*) FROM etl_runs)")[0]
        h.check(raw_rows == run_rows, f"one coin_market_raw row per page ({raw_rows} pages, {run_rows} runs)")

        status, text = daemon.get("/metrics")
        h.check(status == 200, "/metrics answers 200")
        # A tick is counted in ticks_total when it ends, a moment after its load committed (which
        # is what the wait above saw): wait until the three ticks are counted.
        text = h.wait_until(lambda: (lambda t: t if (h.metric_value(t, "coingecko_etl_ticks_total", 'result="success"')
                                                     or 0) >= 3 else None)(h.metrics_of(daemon)),
                            10, "three successful ticks in ticks_total")
        code, lint = h.promtool_check(text)
        h.check(code == 0, f"promtool check metrics passes ({lint[:300]})")
        inserted = h.metric_value(text, "coingecko_etl_rows_inserted_total")
        h.check(inserted == 100, f"rows_inserted_total is 100 (got {inserted})")
        h.check(h.metric_value(text, "coingecko_etl_rows_unchanged_total") >= 200, "rows_unchanged_total counts repeats")
        h.check((h.metric_value(text, "coingecko_etl_ticks_total", 'result="success"') or 0) >= 3,
                "ticks_total{result=success} counts ticks")
        h.check(h.metric_value(text, "process_resident_memory_bytes") > 0, "process metrics are exported")
        h.check((h.metric_value(text, "coingecko_etl_last_success_timestamp_seconds") or 0) > time.time() - 60,
                "last success timestamp is recent")

        started = time.monotonic()
        daemon.signal(signal.SIGTERM)
        code = daemon.wait_exit(timeout=7)
        took = time.monotonic() - started
        h.check(code == 0, f"SIGTERM exits 0 (got {code})")
        limit = 5 + h.scaled(0.5)
        h.check(took < limit, f"SIGTERM exit within SHUTDOWN_TIMEOUT=5s ({took:.2f}s < {limit:g}s)")
        log = open(os.path.join(daemon.log_dir, "etl.log")).read()
        h.check("inserted=100" in log, "etl.log has the per-snapshot line with counts")
    finally:
        daemon.cleanup()
        fake.stop()


if __name__ == "__main__":
    h.run_test(main)
