"""Issue 3, fault suite: CoinGecko misbehaving. One running daemon against the fake server; each
fault is scripted for the next request(s). For every fault: the daemon stays up, the failure is
counted under its bounded label in /metrics, nothing partial reaches coin_market, and the next
good tick loads a whole snapshot again.

Faults: 429 JSON + Retry-After, 429 plain "Throttled" without it, Cloudflare HTML 403, 401 with
CoinGecko's error body (not retried, logged once per streak, named by /readyz once loads are
stale), 500, 503, connection refused, response timeout, truncated body, invalid JSON, a JSON
object instead of an array, an array with wrong types, a body over MAX_BODY_BYTES, a slow-drip
body, a connection closed mid-body.
"""
import os

import harness as h

FIXTURE = "madjin__daily-crypto__markets_usd_top100_2026-04-30.json"


class Suite:
    def __init__(self):
        self.db = h.Database("system_fault_http")
        self.fake = h.FakeCoinGecko(h.fixture(FIXTURE))
        self.daemon = h.Daemon(self.db, self.fake, extra_env={
            "POLL_INTERVAL": "2s", "HTTP_MAX_ATTEMPTS": "2", "HTTP_TIMEOUT": "1500ms",
            "HTTP_CONNECT_TIMEOUT": "1s", "MAX_BODY_BYTES": "1000000"}).start()

    def loaded(self):
        return int(self.db.scalar("SELECT count(*) FROM etl_runs WHERE status = 'loaded'"))

    def consumed(self, start, n):
        """True once `n` requests after index `start` reached the fake."""
        return len(self.fake.requests()) >= start + n

    def invariants(self, what):
        """Nothing partial in PostgreSQL: the same 100 coins, every loaded snapshot whole,
        every refused body recorded with zero rows."""
        h.check(h.alive(self.daemon), f"{what}: the daemon is still running")
        rows = int(self.db.scalar("SELECT count(*) FROM coin_market"))
        h.check(rows == 100, f"{what}: coin_market still holds exactly the 100 coins (got {rows})")
        bad = self.db.rows("SELECT snapshot_id, status, coins_received, rows_inserted + rows_unchanged "
                           "FROM etl_runs WHERE (status = 'loaded' AND (coins_received <> 100 OR "
                           "rows_inserted + rows_unchanged <> 100)) OR (status <> 'loaded' AND rows_inserted <> 0)")
        h.check(not bad, f"{what}: no snapshot is loaded partially ({bad[:3]})")

    def case(self, what, script, metric, labels, extra_check=None):
        fake, d = self.fake, self.daemon
        before = h.metric(d, metric, labels)
        start = len(fake.requests())
        fake.script(script)
        h.wait_until(lambda: self.consumed(start, len(script)), 30, f"{what}: the fake to serve the fault")
        h.wait_until(lambda: h.metric(d, metric, labels) > before, 15, f"{what}: {metric}{{{labels}}} to grow")
        after = h.metric(d, metric, labels)
        h.check(after > before, f"{what}: counted as {metric}{{{labels}}} ({before:g} -> {after:g})")
        loaded = self.loaded()
        h.wait_until(lambda: self.loaded() > loaded, 15, f"{what}: the next good tick to load")
        h.check(True, f"{what}: the next good tick loads a whole snapshot")
        if extra_check:
            extra_check()
        self.invariants(what)

    def run(self):
        d, db, fake = self.daemon, self.db, self.fake
        d.wait_ready(timeout=30)
        self.invariants("baseline")
        fail = "coingecko_etl_http_failures_total"
        bodies = "coingecko_etl_bodies_rejected_total"

        # 429 JSON with Retry-After: 1 -> waited, retried in the same tick.
        waited = h.metric(d, "coingecko_etl_wait_seconds_total", 'cause="retry_after"')
        self.case("429 JSON + Retry-After", ["status 429 retry-after=1 body=json"], fail, 'reason="rate_limited"')
        now = h.metric(d, "coingecko_etl_wait_seconds_total", 'cause="retry_after"')
        h.check(now - waited >= 0.9, f"429: Retry-After honoured (waited {now - waited:.2f}s)")
        # 429 plain text without Retry-After: back-off, retried.
        self.case("429 'Throttled' text", ["status 429 body=throttled"], fail, 'reason="rate_limited"')
        # Cloudflare HTML 403: not retried, counted as unauthorized.
        self.case("HTML 403", ["status 403 body=html"], fail, 'reason="unauthorized"')
        # 500 once: retried within the tick; 503 on both attempts: the tick fails, nothing spooled.
        self.case("500", ["status 500"], fail, 'reason="server_error"')
        self.case("503 x2", ["status 503", "status 503"], fail, 'reason="server_error"')
        # Response timeout (HTTP_TIMEOUT=1.5s) on both attempts.
        self.case("response timeout", ["delay 4000", "delay 4000"], fail, 'reason="transport"')
        # Slow drip: 2 KB/s of an 80 KB body cannot finish within HTTP_TIMEOUT.
        self.case("slow drip", ["drip 2000", "drip 2000"], fail, 'reason="transport"')
        # Connection closed after the headers.
        self.case("connection closed mid-body", ["close", "close"], fail, 'reason="transport"')
        # Over MAX_BODY_BYTES (chunked, no length hint): refused, not retried.
        self.case("body over MAX_BODY_BYTES", ["huge 3000000"], fail, 'reason="too_large"')

        # Bodies that arrive with 200 but are not a markets array: kept on disk, never loaded.
        def rejected_run(kind):
            def check():
                row = db.rows("SELECT status, coins_received, rows_inserted, error FROM etl_runs "
                              "WHERE status <> 'loaded' ORDER BY started_at DESC LIMIT 1")
                h.check(row and row[0][0] == "rejected" and row[0][1] == "0" and row[0][2] == "0"
                        and kind in row[0][3], f"{kind}: its snapshot is recorded as rejected, 0 rows ({row})")
            return check
        self.case("truncated body", ["truncate 5000"], bodies, 'kind="truncated"', rejected_run("truncated"))
        self.case("invalid JSON", ["garbage"], bodies, 'kind="not_json"', rejected_run("not_json"))
        self.case("JSON object instead of an array", ["object"], bodies, 'kind="error_object"',
                  rejected_run("error_object"))

        def wrong_types_check():
            row = db.rows("SELECT status, coins_received, rows_inserted, rows_rejected FROM etl_runs "
                          "WHERE status <> 'loaded' ORDER BY started_at DESC LIMIT 1")
            h.check(row and row[0] == ["partial", "0", "0", "1"],
                    f"wrong types: the coin is rejected and counted, nothing inserted ({row})")
        self.case("array with wrong types", ["wrongtypes"], "coingecko_etl_rows_rejected_total", "",
                  wrong_types_check)

        # 401 with CoinGecko's body: not retried, logged once per streak, named by /readyz.
        retries = h.metric(d, "coingecko_etl_http_retries_total")
        start = len(fake.requests())
        streak = 6
        fake.script(["status 401 body=json"] * streak)
        body = h.wait_until(lambda: (lambda r: r[1] if r[0] == 503 and "unauthorized" in r[1] else None)(
            d.get("/readyz")), 25, "/readyz to name the 401 once loads are stale")
        h.check("fetch" in body, f"401: /readyz is 503 and names it ({body[:300]})")
        # A good tick may have asked between counting the log and queueing the script: the
        # streak starts at the first scripted 401.
        def streak_served():
            steps = [r["step"] for r in fake.requests()[start:]]
            first = steps.index("status 401 body=json") if "status 401 body=json" in steps else len(steps)
            return steps[first:] if len(steps) >= first + streak + 1 else None
        served = h.wait_until(streak_served, 30, "the 401 streak to end")
        h.check(served[:streak] == ["status 401 body=json"] * streak,
                f"401: one request per tick, never retried ({served[:streak + 1]})")
        h.check(h.metric(d, "coingecko_etl_http_retries_total") == retries, "401: no retry counted")
        h.check(h.metric(d, fail, 'reason="unauthorized"') >= streak, "401: every attempt counted as unauthorized")
        loaded = self.loaded()
        h.wait_until(lambda: self.loaded() > loaded, 15, "401: the next good tick to load")
        log = open(os.path.join(d.log_dir, "etl.log")).read()
        lines = [l for l in log.splitlines() if "HTTP 401" in l and "failed" in l]
        h.check(len(lines) == 1, f"401: logged once per streak ({len(lines)} lines)")
        h.wait_until(lambda: d.get("/readyz")[0] == 200, 15, "/readyz 200 again after the streak")
        h.check(True, "401: readiness recovers after the next good load")
        self.invariants("401 streak")

        # Connection refused: the fake goes away for two ticks, then comes back on the same port.
        port = fake.port
        before = h.metric(d, fail, 'reason="transport"')
        fake.stop()
        h.wait_until(lambda: h.metric(d, fail, 'reason="transport"') > before, 15, "refused connection to count")
        h.check(True, "connection refused: counted as transport")
        self.fake = fake = h.FakeCoinGecko(h.fixture(FIXTURE), extra=("--port", str(port)))
        loaded = self.loaded()
        h.wait_until(lambda: self.loaded() > loaded, 20, "a load after CoinGecko is back")
        self.invariants("connection refused")

        text = h.metrics_of(d)
        code, lint = h.promtool_check(text)
        h.check(code == 0, f"/metrics still passes promtool after every fault ({lint[:200]})")

    def close(self):
        self.daemon.cleanup()
        self.fake.stop()


def main():
    s = Suite()
    try:
        s.run()
    finally:
        s.close()


if __name__ == "__main__":
    h.run_test(main)
