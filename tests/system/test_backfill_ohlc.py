"""Issue 11, backfill --ohlc and --coins-list against the fake's /ohlc, /ohlc/range and /coins/list.

- public: `backfill --coins bitcoin --days 30 --ohlc --coins-list`: exit 0; one /ohlc?days=30
  request; coin_ohlc equals the fake's JSON exactly (decimal text via ::text, NULLs kept, 4-hour
  candles stamped at close, the last one in the future), the chunk recorded provisional
  (endpoint 'ohlc'), the raw file byte-identical to the fake's body; `coins` holds the fixture's
  7,248 coins (symbol, name, platforms jsonb as in the fixture) and the raw list is its bytes;
- a re-run fetches the provisional chunk again and corrects a candle that changed, adds no row,
  and rewrites no unchanged coin;
- pro key: /ohlc/range, daily windows of at most 180 days (hourly of at most 31 days for 30
  days), stored exactly; a re-run requests no done window;
- stderr a terminal: a progress bar redrawn in place ('\\r', rate, ETA) instead of log lines.
"""
import json
import os
import pty
import subprocess
import threading
import time
import urllib.parse
import urllib.request

import harness as h
from test_backfill import Backfill, repeat_if_straddling_midnight

FIXTURE = "madjin__daily-crypto__markets_usd_top100_2026-04-30.json"
COINS_LIST = "julianfssen__coingecko_ruby__coins_list_2021-05-15.json"
HOUR = 3600
DAY = 86_400


def ohlc_requests(fake):
    return [r for r in fake.requests() if "/ohlc" in r["path"]]


def query(r):
    return dict(urllib.parse.parse_qsl(r["query"]))


def ohlc_rows(db, coin="bitcoin"):
    return set(tuple(r) for r in db.rows(
        "SELECT ((extract(epoch FROM ts) * 1000)::bigint)::text, coalesce(open::text, 'NULL'), "
        "coalesce(high::text, 'NULL'), coalesce(low::text, 'NULL'), coalesce(close::text, 'NULL'), candle "
        f"FROM coin_ohlc WHERE coin_id = '{coin}' AND vs_currency = 'usd'"))


def candles_of(body, candle):
    doc = json.loads(body, parse_float=str, parse_int=str)
    return {(str(c[0]), *("NULL" if v is None else v for v in c[1:]), candle) for c in doc}


def ohlc_chunks(db):
    return [c for c in chunks_with_endpoint(db) if c["endpoint"] == "ohlc"]


def chunks_with_endpoint(db):
    rows = db.rows("SELECT endpoint, coin_id, granularity, status, coalesce(raw_file, ''), "
                   "coalesce(extract(epoch FROM request_from)::bigint, -1), coalesce(extract(epoch FROM request_to)::bigint, -1), "
                   "points FROM backfill_chunks ORDER BY 1, 2, request_from")
    return [dict(endpoint=r[0], coin=r[1], gran=r[2], status=r[3], raw=r[4], rf=int(r[5]), rt=int(r[6]),
                 points=int(r[7])) for r in rows]


def main():
    # Pro windows are day-aligned and done-ness follows the UTC calendar: a run straddling UTC
    # midnight is repeated once, as in test_backfill.
    repeat_if_straddling_midnight(scenario)


def scenario():
    now = int(time.time())
    fake = h.FakeCoinGecko(h.fixture(FIXTURE), extra=("--now", str(now), "--coins-list", h.fixture(COINS_LIST)))
    fast = {"RATE_LIMIT_PER_MINUTE": "6000"}
    try:
        public(fake, now, fast)
        h.http_post(f"{fake.base}/__control/reset", "")
        demo_clamped(fake, now, fast)
        h.http_post(f"{fake.base}/__control/reset", "")
        pro(fake, now, fast)
        h.http_post(f"{fake.base}/__control/reset", "")
        progress_bar(fake, fast)
    finally:
        fake.stop()


def public(fake, now, fast):
    db = h.Database("system_backfill_ohlc")
    args = ["--coins", "bitcoin", "--days", "30", "--vs", "usd", "--ohlc", "--coins-list"]
    run = Backfill(db, fake, args, extra_env=fast)
    code = run.run_to_exit(timeout=120)
    h.check(code == 0, f"backfill --ohlc --coins-list exits 0 (got {code}; output:\n{run.output()[-3000:]})")
    reqs = ohlc_requests(fake)
    h.check(len(reqs) == 1 and reqs[0]["path"].endswith("/coins/bitcoin/ohlc") and query(reqs[0]).get("days") == "30"
            and query(reqs[0]).get("vs_currency") == "usd",
            f"one /ohlc?days=30 request (got {[(r['path'], r['query']) for r in reqs]})")
    oc = ohlc_chunks(db)
    h.check(len(oc) == 1 and oc[0]["gran"] == "4h" and oc[0]["status"] == "provisional",
            f"one 4h OHLC chunk, provisional (it holds the open candle) ({oc})")
    raw = open(os.path.join(run.data_dir, oc[0]["raw"]), "rb").read()
    h.check(os.path.basename(oc[0]["raw"]).startswith("ohlc_4h_days30_") and oc[0]["raw"].startswith("raw/history/bitcoin/usd/"),
            f"the raw file is named as documented ({oc[0]['raw']})")
    status, served = h.http_get(f"{fake.base}/api/v3/coins/bitcoin/ohlc?vs_currency=usd&days=30")
    h.check(status == 200 and served.encode() == raw, "the raw OHLC file is byte-identical to the fake's body")
    expected = candles_of(raw, "4h")
    stored = ohlc_rows(db)
    h.check(len(expected) == 180 and stored == expected,
            f"coin_ohlc equals the fake's 180 candles exactly ({len(stored)} rows; missing {sorted(expected - stored)[:2]}, "
            f"extra {sorted(stored - expected)[:2]})")
    h.check(oc[0]["points"] == 180, f"backfill_chunks.points counts the candles ({oc[0]['points']})")
    h.check(any(r[1] == "NULL" for r in stored), "a null open is stored as NULL")
    last = max(int(r[0]) for r in stored)
    h.check(last > now * 1000 and last % (4 * HOUR * 1000) == 0, "the last candle is the open one, stamped in the future")

    # The coins list: every fixture coin, platforms as in the fixture (it has none: {}).
    fixture = json.load(open(h.fixture(COINS_LIST)))
    want = {(c["id"], c["symbol"], c["name"], json.dumps(c.get("platforms", {}), sort_keys=True)) for c in fixture}
    got = {(r[0], r[1], r[2], json.dumps(json.loads(r[3]), sort_keys=True))
           for r in db.rows("SELECT coin_id, symbol, name, platforms::text FROM coins")}
    h.check(len(got) == len(fixture) == 7248 and got == want,
            f"coins equals the fixture ({len(got)} rows; missing {sorted(want - got)[:2]}, extra {sorted(got - want)[:2]})")
    lists = [r for r in fake.requests() if r["path"].endswith("/coins/list")]
    h.check(len(lists) == 1 and query(lists[0]).get("include_platform") == "true",
            f"one /coins/list?include_platform=true request ({[r['query'] for r in lists]})")
    raw_lists = [f for f in os.listdir(os.path.join(run.data_dir, "raw", "history")) if f.startswith("coins_list_")]
    h.check(len(raw_lists) == 1 and open(os.path.join(run.data_dir, "raw", "history", raw_lists[0]), "rb").read() ==
            open(h.fixture(COINS_LIST), "rb").read(), "the raw coins list is byte-identical to the fake's body")
    coins_stamp = db.scalar("SELECT max(updated_at)::text FROM coins")

    # ---- a re-run: the provisional chunk again, a changed candle corrected, nothing added ----
    newest = max(stored, key=lambda r: int(r[0]))
    db.psql(f"UPDATE coin_ohlc SET close = 1.5 WHERE coin_id = 'bitcoin' AND ts = to_timestamp({int(newest[0]) / 1000})")
    before = len(fake.requests())
    again = Backfill(db, fake, args, extra_env=fast, workdir=run.workdir)
    code = again.run_to_exit(timeout=120)
    h.check(code == 0, f"the re-run exits 0 (got {code})")
    new = [r for r in fake.requests()[before:] if "/ohlc" in r["path"]]
    h.check(len(new) == 1 and query(new[0]).get("days") == "30", "the re-run fetches the provisional OHLC chunk again")
    h.check(ohlc_rows(db) == expected, "the changed (open) candle is corrected; no row added")
    h.check("0 candle(s) added, 1 corrected" in again.output(), "the summary counts the corrected candle")
    h.check(db.scalar("SELECT max(updated_at)::text FROM coins") == coins_stamp,
            "unchanged coins are not rewritten by the re-run")

    # ---- --days 120 on the same database: days=180, 4-day candles; where one closes at the same
    # instant as a stored 4-hour candle, the 4-hour row is kept (coin_ohlc.candle) ----
    wider = Backfill(db, fake, ["--coins", "bitcoin", "--days", "120", "--vs", "usd", "--ohlc"], extra_env=fast,
                     workdir=run.workdir)
    code = wider.run_to_exit(timeout=120)
    h.check(code == 0, f"--days 120 after --days 30 exits 0 (got {code}; output:\n{wider.output()[-2000:]})")
    status, body = h.http_get(f"{fake.base}/api/v3/coins/bitcoin/ohlc?vs_currency=usd&days=180")
    four_days = candles_of(body.encode(), "4d")
    clash = {r for r in four_days if r[0] in {e[0] for e in expected}}
    rows = ohlc_rows(db)
    # The chunk keeps the candles opening in its range (the last 120 days and one candle).
    start = int(db.scalar("SELECT (extract(epoch FROM chunk_from) * 1000)::bigint FROM backfill_chunks "
                          "WHERE endpoint = 'ohlc' AND granularity = '4d'"))
    wanted = {r for r in four_days - clash if int(r[0]) - 4 * DAY * 1000 >= start}
    h.check(status == 200 and len(clash) > 0 and {r for r in rows if r[5] == "4h"} == expected and
            {r for r in rows if r[5] == "4d"} == wanted and 28 <= len(wanted) + len(clash) <= 31,
            f"4-day candles are added, but none overwrites a 4-hour one at the same close time ({len(clash)} kept apart)")
    h.check(f"{len(clash)} candle(s) not written" in wider.output(), "the candles left out are counted in the log")


def demo_clamped(fake, now, fast):
    db = h.Database("system_backfill_ohlc_demo")
    run = Backfill(db, fake, ["--coins", "bitcoin,no-such-coin", "--days", "400", "--vs", "usd", "--ohlc"],
                   extra_env={**fast, "COINGECKO_API_KEY": "CG-ohlc-demo-key"})
    code = run.run_to_exit(timeout=120)
    h.check(code == 1, f"an unknown coin makes the run exit 1 (got {code}; output:\n{run.output()[-2000:]})")
    reqs = ohlc_requests(fake)
    h.check([(r["path"].split("/")[-2], query(r).get("days")) for r in reqs] == [("bitcoin", "365")],
            f"demo --days 400: /ohlc?days=365 only, nothing beyond 365 days, no OHLC request for the unknown coin "
            f"(got {[(r['path'], r['query']) for r in reqs]})")
    rows = db.rows("SELECT coin_id, status, coalesce(error, '') FROM backfill_chunks WHERE endpoint = 'ohlc' ORDER BY 1, 2")
    h.check([r[:2] for r in rows] == [["bitcoin", "clamped"], ["bitcoin", "provisional"], ["no-such-coin", "clamped"],
                                      ["no-such-coin", "failed"]] and "coin not found" in rows[3][2],
            f"the part beyond 365 days is recorded clamped; the unknown coin's OHLC failed with the reason ({rows})")
    h.check(int(db.scalar("SELECT count(*) FROM coin_ohlc WHERE candle = '4d'")) == 91,
            "days=365 is stored as 4-day candles")


def pro(fake, now, fast):
    pro_env = {**fast, "COINGECKO_API_PLAN": "pro", "COINGECKO_API_KEY": "CG-pro-ohlc-test-key"}
    for days, interval, limit, windows in ((200, "daily", 180, 2), (30, "hourly", 31, 1)):
        db = h.Database(f"system_backfill_ohlc_pro{days}")
        h.http_post(f"{fake.base}/__control/reset", "")
        args = ["--coins", "bitcoin", "--days", str(days), "--vs", "usd", "--ohlc"]
        run = Backfill(db, fake, args, extra_env=pro_env)
        code = run.run_to_exit(timeout=120)
        h.check(code == 0, f"pro --days {days} exits 0 (got {code}; output:\n{run.output()[-2000:]})")
        reqs = ohlc_requests(fake)
        spans = [(int(query(r)["to"]) - int(query(r)["from"])) for r in reqs]
        h.check(len(reqs) == windows and all(r["path"].endswith("/ohlc/range") for r in reqs) and
                all(query(r).get("interval") == interval for r in reqs) and all(s <= limit * DAY for s in spans) and
                all(r.get("key_header") == "x-cg-pro-api-key" for r in reqs),
                f"pro --days {days}: {windows} /ohlc/range request(s), interval={interval}, at most {limit} days each "
                f"(got {[(r['path'], r['query']) for r in reqs]})")
        oc = ohlc_chunks(db)
        h.check(len(oc) == windows and oc[-1]["status"] == "provisional" and all(c["status"] == "done" for c in oc[:-1]),
                f"past windows done, the one reaching now provisional ({[(c['gran'], c['status']) for c in oc]})")
        expected = set()
        for c in oc:
            raw = open(os.path.join(run.data_dir, c["raw"]), "rb").read()
            # The fake answers /ohlc/range to pro keys only: asked as the backfill did.
            req = urllib.request.Request(f"{fake.base}/api/v3/coins/bitcoin/ohlc/range?vs_currency=usd&from={c['rf']}"
                                         f"&to={c['rt']}&interval={interval}",
                                         headers={"x-cg-pro-api-key": "CG-pro-ohlc-test-key"})
            with urllib.request.urlopen(req, timeout=5) as resp:
                status, served = resp.status, resp.read()
            h.check(status == 200 and served == raw, f"raw {c['raw']} is byte-identical to the fake's body")
            expected |= candles_of(raw, interval)
        stored = ohlc_rows(db)
        h.check(stored == expected and len(stored) > 0,
                f"pro --days {days}: coin_ohlc equals the fake's candles ({len(stored)} rows, {len(expected)} expected)")
        if windows > 1:
            before = len(fake.requests())
            again = Backfill(db, fake, args, extra_env=pro_env, workdir=run.workdir)
            code = again.run_to_exit(timeout=120)
            h.check(code == 0, f"the pro re-run exits 0 (got {code})")
            new = [r for r in fake.requests()[before:] if "/ohlc" in r["path"]]
            done = {(c["rf"], c["rt"]) for c in oc if c["status"] == "done"}
            h.check(len(new) == 1 and (int(query(new[0])["from"]), int(query(new[0])["to"])) not in done and
                    int(query(new[0])["from"]) == oc[-1]["rf"],
                    f"the re-run requests only the provisional window, no done one ({[r['query'] for r in new]})")
            h.check(ohlc_rows(db) == stored, "the re-run adds and changes no candle")


def progress_bar(fake, fast):
    db = h.Database("system_backfill_ohlc_tty")
    run = Backfill(db, fake, ["--coins", "bitcoin,ethereum", "--days", "30", "--vs", "usd", "--ohlc"], extra_env=fast)
    master, slave = pty.openpty()
    out = []
    reader = threading.Thread(target=lambda: drain(master, out), daemon=True)
    reader.start()
    run.stdout_path = os.path.join(run.workdir, "stdout-tty.log")
    run.stdout = open(run.stdout_path, "w")
    run.proc = subprocess.Popen([h.env("ETL_BINARY"), "backfill", *run.args], env=run.env, cwd=run.workdir,
                                stdout=run.stdout, stderr=slave)
    os.close(slave)
    code = run.proc.wait(timeout=h.scaled(120))
    reader.join(timeout=h.scaled(10))
    text = b"".join(out).decode(errors="replace")
    h.check(code == 0, f"the run on a terminal exits 0 (got {code})")
    h.check("\r[" in text and "4/4 100%" in text and "/s ETA" in text and text.endswith("\n"),
            f"stderr on a terminal gets a progress bar redrawn in place with rate and ETA ({text[-300:]!r})")
    h.check("chunk(s)/s" not in run.output(), "no progress log lines while the bar is shown")


def drain(fd, out):
    while True:
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            return
        if not chunk:
            return
        out.append(chunk)


if __name__ == "__main__":
    h.run_test(main)
