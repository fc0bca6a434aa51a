"""Issue 11, backfill: `coingecko-etl backfill` against the fake's market_chart/range.

- 120 days of bitcoin and ethereum (usd): exit 0; every coin_history row equals the fake's JSON
  (decimal text via price::text, NULLs kept, daily points at 00:00 UTC, hourly as served), each
  raw file byte-identical to what the fake serves for the same request;
- a second run adds no row and requests no done chunk (the fake's request log);
- kill -9 once the first chunk is recorded done, then a re-run: every chunk stored, no done
  chunk requested twice;
- --days 400 with a demo key: clamped to the 365-day reach, recorded 'clamped', nothing asked
  beyond it, exit 0 (documented);
- an unknown coin: recorded failed with CoinGecko's reason, exit 1 with a summary, the other
  coin still stored.
"""
import json
import os
import signal
import time
import urllib.parse

import harness as h

FIXTURE = "madjin__daily-crypto__markets_usd_top100_2026-04-30.json"
DAY_MS = 86_400_000


class Backfill(h.Daemon):
    def __init__(self, db, fake, args, extra_env=None, workdir=None):
        super().__init__(db, fake, command="backfill", extra_env=extra_env, workdir=workdir)
        self.args = args

    def start(self):
        self.stdout_path = os.path.join(self.workdir, f"stdout-{time.time_ns()}.log")
        self.stdout = open(self.stdout_path, "w")
        import subprocess
        self.proc = subprocess.Popen([h.env("ETL_BINARY"), "backfill", *self.args], env=self.env, cwd=self.workdir,
                                     stdout=self.stdout, stderr=subprocess.STDOUT)
        return self


def history_requests(fake):
    return [r for r in fake.requests() if r["path"].endswith("/market_chart/range")]


def query_of(r):
    q = dict(urllib.parse.parse_qsl(r["query"]))
    return r["path"].split("/")[-3], q["vs_currency"], int(q["from"]), int(q["to"])


def chunks(db):
    rows = db.rows("SELECT coin_id, vs_currency, granularity, status, "
                   "(extract(epoch FROM chunk_from) * 1000)::bigint, (extract(epoch FROM chunk_to) * 1000)::bigint, "
                   "coalesce(extract(epoch FROM request_from)::bigint, -1), coalesce(extract(epoch FROM request_to)::bigint, -1), "
                   "points, coalesce(raw_file, ''), coalesce(http_status, 0), coalesce(error, '') "
                   "FROM backfill_chunks ORDER BY 1, 2, 3, 5")
    return [dict(coin=r[0], vs=r[1], gran=r[2], status=r[3], cf=int(r[4]), ct=int(r[5]), rf=int(r[6]), rt=int(r[7]),
                 points=int(r[8]), raw=r[9], http=int(r[10]), error=r[11]) for r in rows]


def history_rows(db):
    return set(tuple(r) for r in db.rows(
        "SELECT coin_id, vs_currency, granularity, ((extract(epoch FROM ts) * 1000)::bigint)::text, "
        "coalesce(price::text, 'NULL'), coalesce(market_cap::text, 'NULL'), coalesce(total_volume::text, 'NULL') "
        "FROM coin_history"))


def expected_rows(body, chunk):
    """The documented storage rules applied to a raw body (exact text: numbers kept as strings)."""
    doc = json.loads(body, parse_float=str, parse_int=str)
    merged = {}
    for i, key in enumerate(("prices", "market_caps", "total_volumes")):
        for ts, value in doc[key]:
            p = merged.setdefault(int(ts), [None, None, None])
            if p[i] is None:
                p[i] = value
    out, last = set(), None
    for ts in sorted(merged):
        if ts < chunk["cf"] or ts > chunk["ct"]:
            continue
        if chunk["gran"] == "daily":
            if ts % DAY_MS:
                continue
        elif last is not None and ts - last < 1000:
            continue
        last = ts
        out.add((chunk["coin"], chunk["vs"], chunk["gran"], str(ts),
                 *("NULL" if v is None else v for v in merged[ts])))
    return out


def utc_day():
    return int(time.time()) // 86_400


def repeat_if_straddling_midnight(scenario):
    """The plan follows the UTC calendar (whole days back, the open day, the 365-day reach), so a
    run that straddles UTC midnight plans two different days and its checks cannot agree. Such a
    run is repeated once from scratch; the repeat lasts minutes, so it cannot straddle again."""
    for attempt in (1, 2):
        day = utc_day()
        try:
            scenario()
            return
        except SystemExit:
            if attempt == 2 or utc_day() == day:
                raise
            print("note: the run straddled UTC midnight (the plan moved by a day): running it again", flush=True)


def main():
    repeat_if_straddling_midnight(scenario)


def scenario():
    now = int(time.time())
    fake = h.FakeCoinGecko(h.fixture(FIXTURE), extra=("--now", str(now)))
    fast = {"RATE_LIMIT_PER_MINUTE": "6000"}
    args = ["--coins", "bitcoin,ethereum", "--days", "120", "--vs", "usd"]
    try:
        # ---- 1. a full run, compared with the fake's bytes ----
        db = h.Database("system_backfill")
        run = Backfill(db, fake, args, extra_env=fast)
        day_before = time.gmtime().tm_yday
        code = run.run_to_exit(timeout=120)
        h.check(code == 0, f"backfill of 120 days exits 0 (got {code}; output:\n{run.output()[-3000:]})")
        first = chunks(db)
        h.check(len(first) == 4 and {(c["coin"], c["gran"]) for c in first} ==
                {(c, g) for c in ("bitcoin", "ethereum") for g in ("daily", "hourly")},
                f"one daily and one hourly chunk per coin (got {[(c['coin'], c['gran'], c['status']) for c in first]})")
        h.check(all(c["status"] == ("done" if c["gran"] == "daily" else "provisional") for c in first),
                "daily chunks are done; the hourly one reaching the open UTC day is provisional")
        expected = set()
        for c in first:
            raw = open(os.path.join(run.data_dir, c["raw"]), "rb").read()
            status, served = h.http_get(f"{fake.base}/api/v3/coins/{c['coin']}/market_chart/range?vs_currency=usd"
                                        f"&from={c['rf']}&to={c['rt']}")
            if status != 200 or served.encode() != raw:
                h.fail(f"raw file {c['raw']} is not byte-identical to the fake's body for that request")
            rows = expected_rows(raw, c)
            if len(rows) != c["points"]:
                h.fail(f"{c['coin']} {c['gran']}: backfill_chunks.points={c['points']} but the body has {len(rows)}")
            expected |= rows
        h.check(True, "every raw file is byte-identical to the fake's body and its points count is right")
        stored = history_rows(db)
        h.check(stored == expected,
                f"coin_history equals the fake's JSON exactly ({len(stored)} rows; missing {sorted(expected - stored)[:3]}, "
                f"extra {sorted(stored - expected)[:3]})")
        daily = [r for r in stored if r[2] == "daily"]
        h.check(len(daily) == 2 * 33 and all(int(r[3]) % DAY_MS == 0 for r in daily),
                f"33 daily points per coin, all at 00:00 UTC (got {len(daily)})")
        h.check(any(r[5] == "NULL" for r in stored), "null market caps are stored as NULL")
        hourly = [r for r in stored if r[2] == "hourly"]
        h.check(len(hourly) > 2 * 88 * 24, f"hourly points cover the last 88 days and today (got {len(hourly)})")

        # ---- 2. a second run: no done chunk requested, no row added ----
        fake_requests_before = len(history_requests(fake))
        done_requests = {(c["coin"], c["rf"], c["rt"]) for c in first if c["status"] == "done"}
        again = Backfill(db, fake, args, extra_env=fast, workdir=run.workdir)
        code = again.run_to_exit(timeout=120)
        h.check(code == 0, f"the second run exits 0 (got {code})")
        new = history_requests(fake)[fake_requests_before:]
        h.check(len(new) == 2 and all(query_of(r)[3] - query_of(r)[2] < 90 * 86_400 for r in new),
                f"the second run requests only the two provisional hourly chunks (got {[r['query'] for r in new]})")
        h.check(not any((query_of(r)[0], query_of(r)[2], query_of(r)[3]) in done_requests for r in new),
                "no done chunk is requested again")
        if time.gmtime().tm_yday != day_before:
            h.fail("the test straddled UTC midnight (the plan moved by a day)")
        h.check(history_rows(db) == stored, "the second run adds and changes no row")

        # ---- 3. kill -9 once the first chunk is done, then re-run ----
        db2 = h.Database("system_backfill_kill")
        h.http_post(f"{fake.base}/__control/reset", "")
        slow = Backfill(db2, fake, args, extra_env={"RATE_LIMIT_PER_MINUTE": "20"}).start()
        h.wait_until(lambda: db2.scalar("SELECT count(*) FROM pg_tables WHERE tablename = 'backfill_chunks'") == "1"
                     and int(db2.scalar("SELECT count(*) FROM backfill_chunks WHERE status = 'done'")) >= 1,
                     60, "the first chunk recorded done")
        h.check(h.alive(slow), "the backfill is still running when killed")
        slow.signal(signal.SIGKILL)
        slow.proc.wait()
        before = chunks(db2)
        done_before = [c for c in before if c["status"] == "done"]
        h.check(len(done_before) >= 1 and len(before) < 4, f"killed mid-run: {len(before)} of 4 chunks recorded")
        resume = Backfill(db2, fake, args, extra_env=fast, workdir=slow.workdir)
        code = resume.run_to_exit(timeout=120)
        h.check(code == 0, f"the re-run after kill -9 exits 0 (got {code})")
        after = chunks(db2)
        h.check(len(after) == 4 and all(c["status"] in ("done", "provisional") for c in after),
                "after the re-run every chunk is stored")
        log = [query_of(r) for r in history_requests(fake)]
        for c in done_before:
            n = sum(1 for q in log if q[0] == c["coin"] and q[2] == c["rf"] and q[3] == c["rt"])
            h.check(n == 1, f"done chunk {c['coin']} {c['gran']} was requested once ({n})")
        h.check(history_rows(db2) == expected, "the resumed backfill stored the same rows as the uninterrupted one")

        # ---- 4. --days 400 on a demo key: clamped, never requested beyond 365 days ----
        db3 = h.Database("system_backfill_demo")
        h.http_post(f"{fake.base}/__control/reset", "")
        demo = Backfill(db3, fake, ["--coins", "bitcoin", "--days", "400"],
                        extra_env={**fast, "COINGECKO_API_KEY": "CG-backfill-test-key"})
        code = demo.run_to_exit(timeout=120)
        h.check(code == 0, f"a clamped backfill exits 0 (got {code}; output:\n{demo.output()[-2000:]})")
        rows = chunks(db3)
        clamped = [c for c in rows if c["status"] == "clamped"]
        today_ms = now // 86_400 * DAY_MS
        h.check(len(clamped) == 1 and clamped[0]["cf"] == today_ms - 400 * DAY_MS and
                "365" in clamped[0]["error"], f"the part beyond 365 days is recorded clamped ({clamped})")
        log = [query_of(r) for r in history_requests(fake)]
        h.check(log and all(q[2] >= now - 365 * 86_400 for q in log),
                f"no request reaches beyond 365 days ({[q[2] - now for q in log]})")
        h.check(all(r.get("key_header") == "x-cg-demo-api-key" for r in history_requests(fake)),
                "history requests carry the demo key header")
        h.check(all(c["status"] in ("done", "provisional") for c in rows if c["status"] != "clamped"),
                "every reachable chunk is stored")
        h.check("clamped" in demo.output(), "the summary names the clamp")

        # ---- 5. an unknown coin: failed with the reason, exit 1 and a summary ----
        db4 = h.Database("system_backfill_unknown")
        bad = Backfill(db4, fake, ["--coins", "no-such-coin,bitcoin", "--days", "30"], extra_env=fast)
        code = bad.run_to_exit(timeout=120)
        out = bad.output()
        h.check(code == 1, f"an unknown coin makes the backfill exit 1 (got {code})")
        failed = [c for c in chunks(db4) if c["status"] == "failed"]
        h.check(len(failed) == 1 and failed[0]["coin"] == "no-such-coin" and failed[0]["http"] == 404 and
                "coin not found" in failed[0]["error"], f"the unknown coin is recorded failed with the reason ({failed})")
        h.check("backfill incomplete" in out and "no-such-coin" in out and "coin not found" in out,
                "the summary names the failed coin and why")
        h.check(int(db4.scalar("SELECT count(*) FROM coin_history WHERE coin_id = 'bitcoin'")) > 0,
                "the other coin is still stored")
    finally:
        fake.stop()


if __name__ == "__main__":
    h.run_test(main)
