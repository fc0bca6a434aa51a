"""Issue 11, background fill: the `run` daemon with HISTORY_COINS keeps coin_history filled in the
calls each tick's sweep leaves free.

- HISTORY_COINS=bitcoin,ethereum HISTORY_DAYS=120: coin_history fills in the background and its
  rows equal the fake's JSON (as test_backfill.py checks), backfill_chunks records every chunk,
  and /metrics carries the history metrics (chunks by result, remaining, calls, the coverage
  ledger, gaps) and passes promtool;
- a restart requests no done chunk again (the fake's request log): only the open day's chunks;
- the fill never delays a sweep: at a tight rate (2 calls per 2 s tick) every tick's markets page
  goes out on schedule, as it does with the fill off, and each tick's calls (markets + history)
  stay within the tick's budget; history still makes progress in the leftover;
- COINGECKO_MONTHLY_CREDITS leaving 2 calls a day: the fill makes exactly 2, says so in one log
  line and sets coingecko_etl_history_credits_throttled; the backfill command logs the share of
  the month's credits its plan spends.
"""
import datetime
import signal
import time

import harness as h
import test_backfill as tb

DAY_MS = tb.DAY_MS
TICK = 2  # seconds, in the sweep-timing comparison


def t_of(r):
    return datetime.datetime.strptime(r["time"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.timezone.utc).timestamp()


def markets_times(fake):
    return [t_of(r) for r in fake.requests() if r["path"].endswith("/coins/markets")]


def stored_chunks(db):
    if db.scalar("SELECT count(*) FROM pg_tables WHERE tablename = 'backfill_chunks'") != "1":
        return []
    return [c for c in tb.chunks(db) if c["status"] in ("done", "provisional")]


def main():
    tb.repeat_if_straddling_midnight(scenario)


def fill_and_restart(fake):
    db = h.Database("system_history_fill")
    # 3 s ticks: a sanitizer build's tick (fetch, spool, load) must end well before the next one,
    # or nothing is left for history (by design: the fill gets only what the tick leaves).
    env = {"HISTORY_COINS": "bitcoin,ethereum", "HISTORY_DAYS": "120", "POLL_INTERVAL": "3s"}
    d = h.Daemon(db, fake, extra_env=env).start()
    try:
        d.wait_ready(timeout=30)
        try:
            h.wait_until(lambda: len(stored_chunks(db)) == 4, 60, "the background fill stores 4 chunks")
        except SystemExit:
            print(d.output()[-4000:])
            raise
        first = tb.chunks(db)
        h.check(len(first) == 4 and all(c["status"] == ("done" if c["gran"] == "daily" else "provisional") for c in first),
                f"one daily (done) and one hourly (provisional) chunk per coin ({[(c['coin'], c['gran'], c['status']) for c in first]})")
        expected = set()
        for c in first:
            with open(f"{d.data_dir}/{c['raw']}", "rb") as f:
                expected |= tb.expected_rows(f.read(), c)
        h.check(tb.history_rows(db) == expected, f"coin_history equals the fake's JSON ({len(expected)} rows)")

        def want_hours():
            """Missing hours computed here from the rows: the hourly part (88 days and today) up to
            the hour before the last completed one, per coin."""
            now = time.time()
            start, end = (int(now) // 86_400 - 88) * 86_400, (int(now) // 3600 - 1) * 3600
            covered = {(r[0], int(r[3]) // 3_600_000) for r in expected}
            return sum(1 for coin in ("bitcoin", "ethereum") for hr in range(start // 3600, end // 3600)
                       if (coin, hr) not in covered)

        def metrics_ready():
            text = h.metrics_of(d)
            return (h.metric_value(text, "coingecko_etl_backfill_chunks_total", 'result="stored"') == 2 and
                    h.metric_value(text, "coingecko_etl_history_gaps", 'slot="day"') == 0 and
                    h.metric_value(text, "coingecko_etl_history_gaps", 'slot="hour"') == want_hours() and
                    h.metric_value(text, "coingecko_etl_history_oldest_point_timestamp_seconds",
                                   'granularity="daily",vs_currency="usd"') is not None)
        try:
            h.wait_until(metrics_ready, 30, "history metrics: 2 chunks stored, no missing day, the missing "
                         "hours computed from the rows, the coverage ledger")
        except SystemExit:
            print([line for line in h.metrics_of(d).splitlines() if "history_gaps" in line], want_hours())
            raise
        text = h.metrics_of(d)
        code, out = h.promtool_check(text)
        h.check(code == 0, f"promtool check metrics passes with the history metrics ({out[:500]})")
        h.check(h.metric_value(text, "coingecko_etl_backfill_chunks_total", 'result="provisional"') == 2,
                "two provisional chunks counted")
        h.check(h.metric_value(text, "coingecko_etl_history_calls_total") >= 4, "history calls counted")
        h.check(h.metric_value(text, "coingecko_etl_backfill_chunks_remaining") == 0, "no chunk remaining")
        oldest = h.metric_value(text, "coingecko_etl_history_oldest_point_timestamp_seconds",
                                'granularity="daily",vs_currency="usd"')
        newest = h.metric_value(text, "coingecko_etl_history_newest_point_timestamp_seconds",
                                'granularity="hourly",vs_currency="usd"')
        want_oldest = min(int(r[3]) for r in expected if r[2] == "daily") / 1000
        want_newest = max(int(r[3]) for r in expected if r[2] == "hourly") / 1000
        h.check(oldest == want_oldest and newest == want_newest,
                f"coverage ledger: oldest daily {oldest} (want {want_oldest}), newest hourly {newest} (want {want_newest})")
        d.signal(signal.SIGTERM)
        h.check(d.wait_exit(30) == 0, "the daemon stops cleanly with the fill running")

        # ---- restart: no done chunk requested again ----
        done = {(c["coin"], c["rf"], c["rt"]) for c in first if c["status"] == "done"}
        before = len(tb.history_requests(fake))
        again = h.Daemon(db, fake, extra_env=env, workdir=d.workdir).start()
        try:
            h.wait_until(lambda: "history fill pass:" in again.output(), 60, "the restarted daemon's fill pass ends")
            new = [tb.query_of(r) for r in tb.history_requests(fake)[before:]]
            h.check(len(new) == 2 and not any((q[0], q[2], q[3]) in done for q in new),
                    f"after a restart only the two open-day chunks are requested, no done chunk ({new})")
            h.check(tb.history_rows(db) >= expected, "the restart keeps every row")
        finally:
            again.cleanup()
    finally:
        d.cleanup()


def sweep_timing(fake, name, env, ticks):
    """Runs a daemon at 2 calls per 2 s tick for `ticks` markets requests; returns the markets and
    history request times and the daemon's skipped ticks."""
    db = h.Database(name)
    h.http_post(f"{fake.base}/__control/reset", "")
    d = h.Daemon(db, fake, extra_env={"RATE_LIMIT_PER_MINUTE": "60", "POLL_INTERVAL": f"{TICK}s", **env}).start()
    try:
        h.wait_until(lambda: len(markets_times(fake)) >= ticks, 10 + 2 * TICK * ticks, f"{ticks} ticks' markets requests")
        skipped = h.metric(d, "coingecko_etl_ticks_skipped_total")
        log = fake.requests()
        return ([t_of(r) for r in log if r["path"].endswith("/coins/markets")],
                [t_of(r) for r in log if r["path"].endswith("/market_chart/range")], skipped, db)
    finally:
        d.cleanup()


def lateness(times):
    """How far each markets request is behind the fixed tick grid anchored at the earliest one."""
    base = min(t - i * TICK for i, t in enumerate(times))
    return [t - i * TICK - base for i, t in enumerate(times)]


def never_delays_sweep(fake):
    ticks = 8
    off_markets, off_history, off_skipped, _ = sweep_timing(fake, "system_history_off", {}, ticks)
    on_markets, on_history, on_skipped, db = sweep_timing(
        fake, "system_history_on", {"HISTORY_COINS": "bitcoin,ethereum", "HISTORY_DAYS": "120"}, ticks)
    h.check(not off_history and on_history, f"history requests only with the fill on ({len(on_history)} with it)")
    h.check(on_skipped == 0 and off_skipped == 0, f"no tick skipped (on {on_skipped}, off {off_skipped})")
    on_late, off_late = max(lateness(on_markets[:ticks])), max(lateness(off_markets[:ticks]))
    h.check(on_late <= off_late + h.scaled(0.4),
            f"the sweep is as punctual with the fill on ({on_late:.3f} s late at worst) as off ({off_late:.3f} s)")
    # Per tick (markets request to the next one): its sweep's call plus history, at most the budget 2.
    m = on_markets[:ticks]
    per_tick = [1 + sum(1 for t in on_history if a <= t < b) for a, b in zip(m, m[1:])]
    h.check(max(per_tick) <= 2, f"each tick's calls stay within the budget of 2 ({per_tick})")
    h.check(sum(per_tick) - (len(m) - 1) >= 2, f"history used the leftover calls ({per_tick})")
    h.check(all(t >= m[0] for t in on_history), "no history call before the first tick's sweep")


def credits(fake):
    """The monthly credits bound history per UTC day; the backfill command states its share."""
    h.http_post(f"{fake.base}/__control/reset", "")
    db = h.Database("system_history_credits")
    # The poller at 20 calls a minute (3 s ticks) uses 864,000 a 30-day month: 60 more credits
    # leave 2 history calls a day.
    env = {"HISTORY_COINS": "bitcoin,ethereum", "HISTORY_DAYS": "120", "POLL_INTERVAL": "3s",
           "COINGECKO_MONTHLY_CREDITS": "864060"}
    d = h.Daemon(db, fake, extra_env=env).start()
    try:
        h.wait_until(lambda: h.metric(d, "coingecko_etl_history_credits_throttled") == 1, 30,
                     "the fill is throttled by the day's credits")
        h.check("history fill throttled" in d.output() and "2 per UTC day" in d.output(),
                "one log line says the fill is throttled by the credits")
        n = len(tb.history_requests(fake))
        h.check(n == 2 and h.metric(d, "coingecko_etl_history_calls_total") == 2,
                f"exactly the day's 2 credits spent on history ({n} requests)")
    finally:
        d.cleanup()
    run = tb.Backfill(h.Database("system_history_credits_cmd"), fake, ["--coins", "bitcoin", "--days", "30"],
                      extra_env={"COINGECKO_API_KEY": "CG-credit-test-key"})
    code = run.run_to_exit(timeout=120)
    out = run.output()
    h.check(code == 0 and "credits: this plan spends up to 1 call(s), 0.0% of the month's 10000 credits" in out
            and "the poller uses up to" in out and "1 call(s) spent" in out,
            f"the backfill command logs its plan's share of the demo plan's credits ({out[-1500:]})")


def scenario():
    now = int(time.time())
    fake = h.FakeCoinGecko(h.fixture(tb.FIXTURE), extra=("--now", str(now)))
    try:
        fill_and_restart(fake)
        never_delays_sweep(fake)
        credits(fake)
    finally:
        fake.stop()


if __name__ == "__main__":
    h.run_test(main)
