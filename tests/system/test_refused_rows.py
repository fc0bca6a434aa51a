"""Issue 9, item 2: a coin PostgreSQL refuses costs that coin only. A 3-page snapshot (40 + 40 + 20
coins) where one coin of page 2 is refused:

1. by the database itself: a CHECK constraint the test adds (`coin_id <> <that coin>`, SQLSTATE
   23514), which no parser can foresee. The loader rolls page 2 back to its savepoint, isolates
   the coin, and commits the other 99; the snapshot is `partial` with rows_rejected 1, the coin
   is named in one log line with the SQLSTATE, `once` exits 0, nothing is quarantined.
2. by a value: market_cap_rank 3,000,000,000 (beyond `integer`, 22003) in page 2's body. Whether
   the parser rejects it first or PostgreSQL refuses it, the outcome is the same: only that
   coin is missing, counted and named once.
Before the isolation, either one condemned the whole snapshot (0 rows, quarantined).
"""
import json
import os
import re

import harness as h

FIXTURE = "madjin__daily-crypto__markets_usd_top100_2026-04-30.json"
ENV = {"PER_PAGE": "40", "PAGES": "3", "LOG_FORMAT": "json", "LOG_LEVEL": "info"}


def log_lines_naming(daemon, coin_id):
    """The JSON log lines holding coin_id as a whole word (in any field: coin_id, a list of ids...)."""
    word = re.compile(r"(?<![\w-])" + re.escape(coin_id) + r"(?![\w-])")
    named = []
    for line in daemon.output().splitlines():
        try:
            e = json.loads(line)
        except ValueError:
            continue
        if word.search(line):
            named.append(e)
    return named


def check_only_missing(db, once, victim, all_ids, case):
    code = once.run_to_exit(timeout=60)
    h.check(code == 0, f"{case}: `once` exits 0: the snapshot loaded (got {code})")
    quarantined = os.listdir(os.path.join(once.data_dir, "quarantine"))
    h.check(not quarantined, f"{case}: nothing is quarantined ({quarantined})")
    stored = {r[0] for r in db.rows("SELECT coin_id FROM coin_market")}
    h.check(stored == set(all_ids) - {victim},
            f"{case}: every coin of every page but {victim} is stored ({len(stored)} rows; "
            f"missing {sorted(set(all_ids) - stored)[:5]}, extra {sorted(stored - set(all_ids))[:5]})")
    runs = db.rows("SELECT status, pages, coins_received, rows_inserted, rows_rejected FROM etl_runs")
    h.check(runs == [["partial", "3", "99", "99", "1"]],
            f"{case}: one snapshot, partial, 3 pages, 99 coins stored, 1 rejected ({runs})")
    h.check(int(db.scalar("SELECT count(*) FROM coin_market_raw")) == 3, f"{case}: its 3 raw pages are stored")
    named = log_lines_naming(once, victim)
    h.check(len(named) == 1 and named[0].get("level") in ("warning", "warn", "error", "err"),
            f"{case}: one warning names {victim} ({named})")
    problems = h.db_consistency_problems(db) + h.spool_vs_db_problems(db, once.data_dir)
    h.check(not problems, f"{case}: etl_runs counts match the database and the spool ({problems[:3]})")
    return named[0] if named else {}


def refused_by_constraint(fake, coins):
    victim = coins[45]["id"]  # page 2 holds coins 40-79
    db = h.Database("system_refused_rows_check")
    migrate = h.Daemon(db, fake, command="migrate", extra_env=ENV)
    once = h.Daemon(db, fake, command="once", extra_env=ENV)
    try:
        h.check(migrate.run_to_exit(timeout=60) == 0, "`migrate` exits 0")
        db.psql(f"ALTER TABLE coin_market ADD CONSTRAINT test_refuse_one CHECK (coin_id <> '{victim}') NOT VALID")
        line = check_only_missing(db, once, victim, [c["id"] for c in coins], "CHECK constraint")
        h.check(line.get("sqlstate") == "23514" and line.get("page") == 2 and "test_refuse_one" in line.get("error", ""),
                f"the line gives page 2, SQLSTATE 23514 and the server's message ({line})")
    finally:
        migrate.cleanup()
        once.cleanup()


def refused_value(fake, coins, workdir):
    victim = coins[50]["id"]
    page2 = [dict(c) for c in coins[40:80]]
    page2[10]["market_cap_rank"] = 3000000000
    body = os.path.join(workdir, "page2-rank-out-of-range.json")
    with open(body, "w") as f:
        json.dump(page2, f)
    db = h.Database("system_refused_rows_value")
    once = h.Daemon(db, fake, command="once", extra_env=ENV)
    try:
        fake.script(["ok", f"status 200 body={body}"])
        check_only_missing(db, once, victim, [c["id"] for c in coins], "market_cap_rank 3e9")
    finally:
        once.cleanup()


def main():
    with open(h.fixture(FIXTURE)) as f:
        coins = json.load(f)
    fake = h.FakeCoinGecko(h.fixture(FIXTURE))
    workdir = h.tempfile.mkdtemp(prefix="etl-refused-rows-")
    try:
        refused_by_constraint(fake, coins)
        refused_value(fake, coins, workdir)
    finally:
        fake.stop()
        h.shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    h.run_test(main)
