"""Issue 9 (hygiene): SIGHUP does not kill the daemon. Its logs rotate by size, so the signal
is logged and ignored; the daemon keeps loading, and SIGTERM still stops it with 0."""
import signal

import harness as h

FIXTURE = "madjin__daily-crypto__markets_usd_top100_2026-04-30.json"


def loads(db):
    if not db.scalar("SELECT to_regclass('public.etl_runs')"):
        return 0
    return int(db.scalar("SELECT count(*) FROM etl_runs"))


def main():
    fake = h.FakeCoinGecko(h.fixture(FIXTURE), extra=("--live-timestamps",))
    db = h.Database("system_sighup")
    d = h.Daemon(db, fake).start()
    try:
        h.wait_until(lambda: loads(db) >= 1, 30, "a first load")
        d.signal(signal.SIGHUP)
        h.wait_until(lambda: "SIGHUP ignored" in d.output(), 10, "the SIGHUP to be logged")
        before = loads(db)
        h.wait_until(lambda: loads(db) >= before + 2, 30, "two more loads after SIGHUP")
        h.check(h.alive(d), "the daemon is alive and still loading after SIGHUP")
        d.signal(signal.SIGTERM)
        h.check(d.wait_exit(15) == 0, "SIGTERM still stops it with 0")
    finally:
        d.cleanup()
        fake.stop()


if __name__ == "__main__":
    h.run_test(main)
