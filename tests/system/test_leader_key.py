"""Issue 9: the leader lock is per deployment. Two deployments on one database, one polling usd
and one eur, each elect their own poller: both load. A second usd replica still stands by, and
LEADER_LOCK_NAME puts replicas that poll different things under one election on purpose."""
import json

import harness as h

FIXTURE = "madjin__daily-crypto__markets_usd_top100_2026-04-30.json"


def role(d):
    status, body = d.get("/readyz")
    return json.loads(body)["checks"][0].get("reason") if status in (200, 503) else None


def loaded(db, currency):
    if not db.scalar("SELECT to_regclass('public.etl_runs')"):
        return 0
    return int(db.scalar(f"SELECT count(*) FROM etl_runs WHERE snapshot_id LIKE '%\\_{currency}' "
                         "AND status = 'loaded'"))


def main():
    fake = h.FakeCoinGecko(h.fixture(FIXTURE))
    db = h.Database("system_leader_key")
    usd = h.Daemon(db, fake, extra_env={"VS_CURRENCY": "usd"})
    eur = h.Daemon(db, fake, extra_env={"VS_CURRENCY": "eur"})
    usd2 = h.Daemon(db, fake, extra_env={"VS_CURRENCY": "usd"})
    daemons = [usd, eur, usd2]
    try:
        usd.start()
        h.wait_until(lambda: role(usd) == "leader", 30, "the usd deployment to lead")
        eur.start()
        usd2.start()
        h.wait_until(lambda: loaded(db, "eur") >= 2, 30, "the eur deployment to load while usd leads")
        h.check(True, "a deployment polling eur elects its own poller beside the usd one")
        h.wait_until(lambda: role(usd2) == "standby", 30, "the second usd replica to stand by")
        h.check(role(usd) == "leader" and role(eur) == "leader",
                f"usd and eur each have a leader ({role(usd)}, {role(eur)}); the second usd replica stands by")
        before = loaded(db, "usd")
        h.wait_until(lambda: loaded(db, "usd") >= before + 2, 30, "usd to keep loading")
        h.check(True, "both deployments keep loading")
        out = usd.output()
        h.check("leader election among replicas named" in out and "x_cg" not in out,
                "the log names the election, without any query string")
        for d in daemons:
            d.stop()

        # One name on purpose: an eur replica under the usd replicas' name stands by.
        named = {"LEADER_LOCK_NAME": "prices"}
        first = h.Daemon(db, fake, extra_env={**named, "VS_CURRENCY": "usd"})
        second = h.Daemon(db, fake, extra_env={**named, "VS_CURRENCY": "eur"})
        daemons += [first, second]
        first.start()
        h.wait_until(lambda: role(first) == "leader", 30, "the first named replica to lead")
        second.start()
        h.wait_until(lambda: role(second) == "standby", 30, "the second named replica to stand by")
        h.check(True, "LEADER_LOCK_NAME=prices: one leader across both currencies")
    finally:
        for d in daemons:
            d.cleanup()
        fake.stop()


if __name__ == "__main__":
    h.run_test(main)
