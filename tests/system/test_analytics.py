"""Issue 11, item 6: the analytics views coin_daily and coin_movers (migration 0008).

`migrate` (the built binary) creates the schema; the test then loads real CoinGecko history
straight into coin_history with psql (bitcoin/usd: the 90-day daily, 30-day hourly and 1-day
5-minute market_chart captures, exact decimal text, millisecond stamps turned into timestamptz
exactly) plus coin_market rows (the real /coins/markets bitcoin quotes in usd and myr, and a few
made-up ones), and synthetic coins derived deterministically from the daily bitcoin series. It
then compares EVERY row and column of coin_daily, and every row of coin_movers, with an
independent computation written here in Python from the loaded data (not from the SQL under
test): the last price of each UTC day over both sources, simple returns by date arithmetic,
Wilder's RSI(14), the annualized stddev_samp of 30 daily log returns, and the top/bottom 5 per
day, currency and period (ties by coin_id). Closes must be equal exactly; the rest to 1e-9
relative. Named cases: a deleted day (returns that reference it are NULL), a flat series (RSI
100, volatility 0), fewer than 14 changes (RSI NULL), a zero close (returns across it NULL),
both sources on one day (coin_market's later quote is the close, a NULL price is ignored), equal
instants (coin_market, then the finer granularity wins), and three-way ties among the movers.
"""
import datetime
import decimal
import json
import math
import statistics
import subprocess

import harness as h

DAILY = "julianfssen__coingecko_ruby__market_chart_bitcoin_usd_90d_daily_2021-05-15.json"
HOURLY = "julianfssen__coingecko_ruby__market_chart_bitcoin_usd_30d_2021-05-15.json"
MINUTELY = "julianfssen__coingecko_ruby__market_chart_bitcoin_usd_1d_2021-05-15.json"
MARKETS_USD = "julianfssen__coingecko_ruby__markets_bitcoin_usd_2021-05-15.json"
MARKETS_MYR = "julianfssen__coingecko_ruby__markets_bitcoin_myr_2021-05-15.json"

DAY_MS = 86_400_000
EPOCH = datetime.date(1970, 1, 1)
GAP_DAY = datetime.date(2021, 4, 1)  # deleted from bitcoin/usd after loading
PREFERENCE = {"market": 0, "5m": 1, "hourly": 2, "daily": 3}  # equal instants: lower wins
REL = 1e-9
D = decimal.Decimal
decimal.getcontext().prec = 60


def day_of(ms):
    return EPOCH + datetime.timedelta(days=ms // DAY_MS)


def ms_of_iso(text):
    """'2021-05-15T15:59:43.867Z' -> epoch milliseconds (exact integer arithmetic)."""
    t = datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ")
    delta = t - datetime.datetime(1970, 1, 1)
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000


def load_chart(name):
    """market_chart JSON -> [(ms, price_text, market_cap_text, volume_text)], numbers as sent."""
    with open(h.fixture(name)) as f:
        doc = json.load(f, parse_float=str, parse_int=str)
    points = []
    for (ts, price), (ts2, cap), (ts3, vol) in zip(doc["prices"], doc["market_caps"], doc["total_volumes"]):
        if not ts == ts2 == ts3:
            h.fail(f"{name}: the three series do not share stamp {ts}")
        points.append((int(ts), price, cap, vol))
    return points


def psql_stdin(db, script):
    out = subprocess.run(["psql", db.url, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-f", "-"],
                         input=script, capture_output=True, text=True, timeout=120)
    if out.returncode != 0:
        h.fail(f"psql load failed: {out.stderr.strip()[:2000]}")


def copy_field(v):
    return "\\N" if v is None else str(v)


class Model:
    """What was loaded, kept in Python: the source of the independent expectations."""

    def __init__(self):
        self.history = []  # (coin, vs, granularity, ms, price_text or None, cap, vol)
        self.market = []   # (coin, vs, ms, iso_text, price_text or None)

    def add_history(self, coin, vs, granularity, points):
        for ms, price, cap, vol in points:
            self.history.append((coin, vs, granularity, ms, price, cap, vol))

    def observations(self):
        obs = {}
        for coin, vs, gran, ms, price, _, _ in self.history:
            if price is not None:
                obs.setdefault((coin, vs), []).append((ms, PREFERENCE[gran], D(price)))
        for coin, vs, ms, _, price in self.market:
            if price is not None:
                obs.setdefault((coin, vs), []).append((ms, PREFERENCE["market"], D(price)))
        return obs


def expected_daily(model):
    """{(coin, vs, day): (close, r1, r7, r30, rsi, vol)} computed from the model."""
    out = {}
    for (coin, vs), points in model.observations().items():
        best = {}
        for ms, pref, price in points:
            day = day_of(ms)
            key = (ms, -pref)  # the latest instant; at equal instants the preferred source
            if day not in best or key > best[day][0]:
                best[day] = (key, price)
        closes = {day: price for day, (_, price) in best.items()}
        days = sorted(closes)

        def simple_return(day, n):
            earlier = closes.get(day - datetime.timedelta(days=n))
            if earlier is None or earlier == 0:
                return None
            return closes[day] / earlier - 1

        def log_return(day):
            now, earlier = closes.get(day), closes.get(day - datetime.timedelta(days=1))
            if now is None or earlier is None or earlier <= 0 or now <= 0:
                return None
            return math.log(float(now) / float(earlier))

        # Wilder's RSI(14) over the closes in day order (a missing day: the change spans it).
        rsi = {}
        gains, losses = [], []
        avg_gain = avg_loss = None
        for i, day in enumerate(days):
            if i == 0:
                rsi[day] = None
                continue
            change = float(closes[day]) - float(closes[days[i - 1]])
            gain, loss = max(change, 0.0), max(-change, 0.0)
            if avg_gain is None:
                gains.append(gain)
                losses.append(loss)
                if len(gains) == 14:
                    avg_gain, avg_loss = math.fsum(gains) / 14, math.fsum(losses) / 14
            else:
                avg_gain = (avg_gain * 13 + gain) / 14
                avg_loss = (avg_loss * 13 + loss) / 14
            if avg_gain is None:
                rsi[day] = None
            elif avg_loss == 0:
                rsi[day] = 100.0
            else:
                rsi[day] = 100.0 - 100.0 / (1.0 + avg_gain / avg_loss)

        for day in days:
            window = [log_return(day - datetime.timedelta(days=k)) for k in range(30)]
            vol = None
            if all(x is not None for x in window):
                vol = statistics.stdev(window) * math.sqrt(365)
            out[(coin, vs, day)] = (closes[day], simple_return(day, 1), simple_return(day, 7),
                                    simple_return(day, 30), rsi[day], vol)
    return out


def expected_movers(daily):
    """{(day, vs, period, direction): [(coin, return), ... up to 5]}."""
    groups = {}
    for (coin, vs, day), (_, r1, r7, r30, _, _) in daily.items():
        for period, ret in (("1d", r1), ("7d", r7), ("30d", r30)):
            if ret is not None:
                groups.setdefault((day, vs, period), []).append((ret, coin))
    out = {}
    for (day, vs, period), entries in groups.items():
        out[(day, vs, period, "top")] = [(c, r) for r, c in sorted(entries, key=lambda e: (-e[0], e[1]))[:5]]
        out[(day, vs, period, "bottom")] = [(c, r) for r, c in sorted(entries, key=lambda e: (e[0], e[1]))[:5]]
    return out


def close_enough(sql_text, want):
    """NULL must be NULL; otherwise equal to REL relative (0 must be 0 to 1e-12)."""
    if want is None or sql_text == "NULL":
        return want is None and sql_text == "NULL"
    got, want = float(D(sql_text)), float(want)
    return math.isclose(got, want, rel_tol=REL, abs_tol=1e-12)


def build_model():
    model = Model()
    daily = load_chart(DAILY)
    model.add_history("bitcoin", "usd", "daily", daily)
    model.add_history("bitcoin", "usd", "hourly", load_chart(HOURLY))
    model.add_history("bitcoin", "usd", "5m", load_chart(MINUTELY))

    # coin_market: the real quotes (bitcoin usd at 15:59:43.867 on 2021-05-15, later than every
    # history point of that day; bitcoin myr, a pair known only from coin_market).
    for name in (MARKETS_USD, MARKETS_MYR):
        with open(h.fixture(name)) as f:
            coin = json.load(f, parse_float=str, parse_int=str)[0]
        vs = "usd" if name == MARKETS_USD else "myr"
        model.market.append((coin["id"], vs, ms_of_iso(coin["last_updated"]), coin["last_updated"],
                             coin["current_price"]))
    # A NULL price later that day is no observation.
    model.market.append(("bitcoin", "usd", ms_of_iso("2021-05-15T23:00:00.000Z"), "2021-05-15T23:00:00.000Z", None))
    # Equal instants: coin_market beats coin_history; a finer granularity beats daily.
    first_ms, first_price = daily[0][0], D(daily[0][1])
    model.market.append(("bitcoin", "usd", first_ms, "2021-02-15T00:00:00.000Z", str(first_price * D("1.01"))))
    march10 = next(p for p in daily if day_of(p[0]) == datetime.date(2021, 3, 10))
    model.add_history("bitcoin", "usd", "hourly", [(march10[0], str(D(march10[1]) * D("0.99")), None, None)])
    h.check(day_of(first_ms) == datetime.date(2021, 2, 15) and march10[0] % DAY_MS == 0,
            "the equal-instant cases sit on daily points stamped 00:00 UTC")

    # Synthetic coins from the 90 daily closes (2021-02-15 .. 2021-05-15, all stamped 00:00).
    base = [p for p in daily if p[0] % DAY_MS == 0]
    h.check(len(base) == 90, f"the daily capture has 90 points on 00:00 UTC ({len(base)})")

    def series(prices, start=0):
        return [(base[start + i][0], p, None, None) for i, p in enumerate(prices)]

    texts = [p[1] for p in base]
    for k in range(1, 7):  # the same path rotated by 7k days: different returns every day
        model.add_history(f"shift-{k}", "usd", "daily", series([texts[(i + 7 * k) % 90] for i in range(90)]))
    for coin in ("tie-a", "tie-b"):  # identical to shift-3: exact three-way ties, ordered by coin_id
        model.add_history(coin, "usd", "daily", series([texts[(i + 21) % 90] for i in range(90)]))
    model.add_history("inverse", "usd", "daily",
                      series([str((D(1_000_000) / D(t)).quantize(D("1e-12"))) for t in texts]))
    model.add_history("flat-coin", "usd", "daily", series(["1.5"] * 40, start=14))
    model.add_history("short-coin", "usd", "daily", series(texts[:10], start=80))
    zero = [texts[(i + 7) % 90] for i in range(40)]
    zero[10] = "0"
    model.add_history("zero-coin", "usd", "daily", series(zero, start=20))
    model.add_history("shift-2", "eur", "daily", series([texts[(i + 14) % 90] for i in range(90)]))
    return model


def load(db, model):
    lines = ["CREATE TEMP TABLE stage (coin_id text, vs_currency text, granularity text, ms bigint,"
             " price text, market_cap text, total_volume text);",
             "COPY stage FROM STDIN;"]
    keys = set()
    for coin, vs, gran, ms, price, cap, vol in model.history:
        keys.add((coin, vs, gran, ms))
        lines.append("\t".join([coin, vs, gran, str(ms), copy_field(price), copy_field(cap), copy_field(vol)]))
    h.check(len(keys) == len(model.history), f"{len(model.history)} history points, keys unique")
    lines += ["\\.",
              # Milliseconds -> timestamptz by interval arithmetic: exact (no double rounding).
              "INSERT INTO coin_history (coin_id, vs_currency, granularity, ts, price, market_cap, total_volume)"
              " SELECT coin_id, vs_currency, granularity, timestamptz 'epoch' + ms * interval '1 millisecond',"
              " price::numeric, market_cap::numeric, total_volume::numeric FROM stage;"]
    for coin, vs, _, iso, price in model.market:
        p = "NULL" if price is None else f"'{price}'"
        lines.append("INSERT INTO coin_market (coin_id, vs_currency, current_price, last_updated, snapshot_id, fetched_at)"
                     f" VALUES ('{coin}', '{vs}', {p}, '{iso}', 'analytics-test', '{iso}');")
    psql_stdin(db, "\n".join(lines) + "\n")


def main():
    db = h.Database("system_analytics")
    migrate = h.Daemon(db, None, command="migrate")
    try:
        h.check(migrate.run_to_exit(60) == 0, "migrate exits 0")
    finally:
        migrate.cleanup()

    model = build_model()
    load(db, model)
    h.check(db.scalar("SELECT count(*) FROM coin_history") == str(len(model.history)),
            "every history point is stored")
    exact = db.scalar("SELECT count(*) FROM coin_history WHERE coin_id = 'bitcoin' AND granularity = 'daily' "
                      "AND ts = timestamptz '2021-05-15 14:39:54+00' AND price = 49078.83040364477")
    h.check(exact == "1", "the quirky last daily point keeps its stamp and exact decimal text")

    # A day gap: every bitcoin/usd observation of GAP_DAY goes.
    deleted = db.scalar("WITH d AS (DELETE FROM coin_history WHERE coin_id = 'bitcoin' AND vs_currency = 'usd'"
                        f" AND ts >= '{GAP_DAY}T00:00:00Z' AND ts < '{GAP_DAY + datetime.timedelta(days=1)}T00:00:00Z'"
                        " RETURNING 1) SELECT count(*) FROM d")
    model.history = [r for r in model.history
                     if not (r[0] == "bitcoin" and r[1] == "usd" and day_of(r[3]) == GAP_DAY)]
    h.check(deleted == "1", f"the gap day had one (daily) point ({deleted} deleted)")

    want = expected_daily(model)
    cols = ["close", "return_1d", "return_7d", "return_30d", "rsi_14", "volatility_30d"]
    rows = db.rows("SELECT coin_id, vs_currency, day, " +
                   ", ".join(f"coalesce({c}::text, 'NULL')" for c in cols) +
                   " FROM coin_daily ORDER BY 1, 2, 3")
    got = {(r[0], r[1], datetime.date.fromisoformat(r[2])): r[3:] for r in rows}
    h.check(len(rows) == len(got), "coin_daily has one row per coin, currency and day")
    h.check(set(got) == set(want),
            f"coin_daily has exactly the expected (coin, currency, day) rows ({len(got)} vs {len(want)}; "
            f"missing {sorted(set(want) - set(got))[:3]}, extra {sorted(set(got) - set(want))[:3]})")
    bad = []
    for key in sorted(want):
        w, g = want[key], got[key]
        if D(g[0]) != w[0]:
            bad.append((key, "close", g[0], w[0]))
        for i, col in enumerate(cols[1:], start=1):
            if not close_enough(g[i], w[i]):
                bad.append((key, col, g[i], w[i]))
    h.check(not bad, f"every column of all {len(want)} coin_daily rows matches the Python computation "
                     f"(closes exact, the rest to {REL} relative) ({len(bad)} differ: {bad[:4]})")

    def row(coin, day, vs="usd"):
        return got[(coin, vs, datetime.date.fromisoformat(day))]

    # The named cases (each also covered by the comparison above; here they must hold as stated).
    h.check(("bitcoin", "usd", GAP_DAY) not in got, "the deleted day has no row")
    h.check(row("bitcoin", "2021-04-02")[1] == "NULL" and row("bitcoin", "2021-04-08")[2] == "NULL"
            and row("bitcoin", "2021-05-01")[3] == "NULL",
            "returns whose earlier day is the gap are NULL (1d on 04-02, 7d on 04-08, 30d on 05-01)")
    h.check(all(v != "NULL" for v in (row("bitcoin", "2021-04-03")[1], row("bitcoin", "2021-04-09")[2],
                                      row("bitcoin", "2021-05-02")[3])),
            "the same returns one day later are not NULL")
    h.check(row("bitcoin", "2021-04-02")[4] != "NULL", "RSI goes on across the gap (the change spans it)")
    h.check(all(row("bitcoin", f"2021-04-{d:02d}")[5] == "NULL" for d in (2, 15, 30))
            and row("bitcoin", "2021-05-02")[5] != "NULL",
            "volatility is NULL while the 30-day window holds the gap, back after it")
    h.check(D(row("bitcoin", "2021-05-15")[0]) == D("49053"),
            "the close of 2021-05-15 is coin_market's 15:59 quote (history ends 14:39; the NULL at 23:00 is ignored)")
    hourly_close = row("bitcoin", "2021-05-14")[0]
    daily_0514 = next(p[1] for p in load_chart(DAILY) if day_of(p[0]) == datetime.date(2021, 5, 14))
    h.check(D(hourly_close) != D(daily_0514), "within the hourly range the close is the last hourly point, not 00:00's")
    h.check(D(row("bitcoin", "2021-02-15")[0]) == D(load_chart(DAILY)[0][1]) * D("1.01"),
            "at equal instants coin_market beats coin_history")
    h.check(D(row("bitcoin", "2021-03-10")[0]) ==
            D(next(p[1] for p in load_chart(DAILY) if day_of(p[0]) == datetime.date(2021, 3, 10))) * D("0.99"),
            "at equal instants hourly beats daily")
    myr = [k for k in got if k[1] == "myr"]
    h.check(len(myr) == 1 and got[myr[0]][1:] == ["NULL"] * 5, "a pair known only from coin_market: one day, all NULL")
    flat = [got[k] for k in sorted(got) if k[0] == "flat-coin"]
    h.check(all(r[4] == "NULL" for r in flat[:14]) and all(float(r[4]) == 100 for r in flat[14:]),
            "flat series: RSI NULL before 14 changes, then exactly 100 (no losses)")
    h.check(all(float(r[5]) == 0 for r in flat[30:]) and all(r[5] == "NULL" for r in flat[:30]),
            "flat series: volatility NULL before 30 log returns, then 0")
    bitcoin = [got[k] for k in sorted(got) if k[:2] == ("bitcoin", "usd")]
    h.check(all(r[4] == "NULL" for r in bitcoin[:14]) and bitcoin[14][4] != "NULL",
            "bitcoin: RSI NULL on the first 14 days (fewer than 14 changes), set on the 15th")
    h.check(all(r[4] == "NULL" for k, r in got.items() if k[0] == "short-coin"), "10 days: RSI NULL throughout")
    zero = [got[k] for k in sorted(got) if k[0] == "zero-coin"]
    h.check(D(zero[10][0]) == 0 and zero[11][1] == "NULL" and zero[10][1] != "NULL" and zero[14][4] != "NULL",
            "a 0 close: the return from it is NULL (return into it is -1), RSI goes on")

    # coin_movers against the Python ranking.
    movers = db.rows("SELECT day, vs_currency, period, direction, position, coin_id, \"return\"::text "
                     "FROM coin_movers ORDER BY 1, 2, 3, 4, 5")
    got_m = {}
    for day, vs, period, direction, position, coin, ret in movers:
        got_m.setdefault((datetime.date.fromisoformat(day), vs, period, direction), []).append((int(position), coin, ret))
    want_m = expected_movers(want)
    h.check(set(got_m) == set(want_m), f"coin_movers has every (day, currency, period, direction) group "
                                       f"({len(got_m)} vs {len(want_m)})")
    bad = []
    for key, entries in want_m.items():
        g = got_m[key]
        if [p for p, _, _ in g] != list(range(1, len(entries) + 1)) or [c for _, c, _ in g] != [c for c, _ in entries] \
                or not all(close_enough(r, w) for (_, _, r), (_, w) in zip(g, entries)):
            bad.append((key, g, entries))
    h.check(not bad, f"top/bottom 5 of every group match Python (order, coin, return) ({len(bad)} differ: {bad[:2]})")
    full = sum(1 for k, v in want_m.items() if k[1] == "usd" and len(v) == 5)
    h.check(full > 100, f"many usd groups are full (5 of more than 10 coins) ({full})")
    eur = [v for k, v in want_m.items() if k[1] == "eur"]
    h.check(len(eur) > 100 and all(len(v) == 1 and v[0][0] == "shift-2" for v in eur),
            "eur is ranked on its own (its only coin)")
    tie_groups = [k for k, v in want_m.items()
                  if [c for c, _ in v if c in ("shift-3", "tie-a", "tie-b")] == ["shift-3", "tie-a", "tie-b"]
                  and len({r for c, r in v if c in ("shift-3", "tie-a", "tie-b")}) == 1]
    h.check(len(tie_groups) >= 10, f"three-way ties ranked by coin_id in {len(tie_groups)} groups, top and bottom "
                                   f"({sorted({k[3] for k in tie_groups})})")
    h.check({k[3] for k in tie_groups} == {"top", "bottom"}, "ties occur in both directions")
    h.check(all(r is not None for v in want_m.values() for _, r in v), "no NULL return is ranked")
    h.check(db.scalar("SELECT count(*) FROM coin_movers WHERE \"return\" IS NULL") == "0",
            "coin_movers holds no NULL return")


if __name__ == "__main__":
    h.run_test(main)
