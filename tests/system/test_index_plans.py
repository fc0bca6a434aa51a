"""Issue 12, item 4: coin_market keeps only the indexes its queries need (migration 0011).

`migrate` (the built binary) creates the schema; the test then fills coin_market the way the
daemon does — snapshot after snapshot, 2 currencies x 1,500 coins x 30 snapshots — ANALYZEs it,
and checks:
  * the index set: the primary key is (vs_currency, coin_id, last_updated), the snapshot index is a
    BRIN, and the old coin_market_latest_idx (which repeated the key) is gone, on the parent and
    on every partition;
  * the plans (EXPLAIN (FORMAT JSON)) of the README recipes that read coin_market — "today's top
    10" through coin_market_latest and "one coin over the last day" — read every partition that
    holds rows through the primary key, never by a sequential scan, and "latest per coin" needs no
    Sort under its DISTINCT ON; a snapshot's rows (backfill's top coins) are found through the BRIN;
  * coin_market_latest (rewritten to read the key backward) still returns exactly each coin's
    newest row, and the loader's ON CONFLICT (coin_id, vs_currency, last_updated) still finds the
    key.
"""
import json

import harness as h

COINS, SNAPSHOTS = 1500, 30

TOP10 = ("SELECT market_cap_rank, coin_id, current_price, market_cap, last_updated FROM coin_market_latest "
         "WHERE vs_currency = 'usd' ORDER BY market_cap_rank NULLS LAST LIMIT 10")
ONE_COIN = ("SELECT last_updated, current_price, total_volume FROM coin_market "
            "WHERE coin_id = 'coin-7' AND vs_currency = 'usd' AND last_updated > now() - interval '1 day' "
            "ORDER BY last_updated")
ONE_SNAPSHOT = "SELECT coin_id FROM coin_market WHERE snapshot_id = 's010_usd'"


def nodes(plan):
    yield plan
    for child in plan.get("Plans", []):
        yield from nodes(child)


def explain(db, sql):
    return json.loads(db.psql("EXPLAIN (FORMAT JSON) " + sql))[0]["Plan"]


def main():
    db = h.Database("system_index_plans")
    migrate = h.Daemon(db, None, command="migrate")
    try:
        h.check(migrate.run_to_exit(60) == 0, "migrate exits 0")
    finally:
        migrate.cleanup()

    # The index set, on the parent and on every partition.
    indexes = dict(db.rows("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'coin_market'"))
    h.check(set(indexes) == {"coin_market_pkey", "coin_market_snapshot_idx"},
            f"coin_market has exactly the primary key and the snapshot index (found {sorted(indexes)})")
    h.check("(vs_currency, coin_id, last_updated)" in indexes.get("coin_market_pkey", ""),
            f"the key is ordered (vs_currency, coin_id, last_updated): {indexes.get('coin_market_pkey')}")
    h.check("USING brin (snapshot_id)" in indexes.get("coin_market_snapshot_idx", ""),
            f"the snapshot index is a BRIN: {indexes.get('coin_market_snapshot_idx')}")
    per_partition = db.rows(
        "SELECT p.relid::regclass, count(i.indexrelid) FROM pg_partition_tree('coin_market') p "
        "LEFT JOIN pg_index i ON i.indrelid = p.relid WHERE p.isleaf GROUP BY 1")
    h.check(per_partition and all(n == "2" for _, n in per_partition),
            f"every partition has exactly two indexes: {per_partition}")

    # Rows as the daemon writes them: one snapshot after the other, oldest first, 30 s apart.
    db.psql(
        "INSERT INTO coin_market (coin_id, vs_currency, current_price, market_cap_rank, total_volume, "
        "last_updated, snapshot_id, fetched_at) "
        "SELECT 'coin-' || c, cur, c * 1.5 + s, c, 1000, now() - make_interval(secs => (30 - s) * 30), "
        "'s' || lpad(s::text, 3, '0') || '_' || cur, now() - make_interval(secs => (30 - s) * 30) "
        f"FROM generate_series(1, {SNAPSHOTS}) s, unnest(ARRAY['eur', 'usd']) cur, generate_series(1, {COINS}) c "
        "ORDER BY s, cur, c")
    # A statistics target whose sample (300 x target rows) holds every row: the same statistics,
    # so the same plans, on every run (ANALYZE samples at random below that).
    db.psql("SET default_statistics_target = 1000; ANALYZE coin_market; "
            "SELECT brin_summarize_new_values(relid) FROM pg_partition_tree('coin_market_snapshot_idx') WHERE isleaf")
    with_rows = {r[0] for r in db.rows("SELECT DISTINCT tableoid::regclass FROM coin_market")}

    for name, sql in (("today's top 10", TOP10), ("one coin over the last day", ONE_COIN)):
        plan = explain(db, sql)
        scans = [n for n in nodes(plan) if n.get("Relation Name") in with_rows]
        h.check(scans and all(n["Node Type"] in ("Index Scan", "Index Only Scan") and
                              n["Index Name"].endswith("_pkey") for n in scans),
                f"{name}: every partition with rows is read through the primary key: "
                f"{[(n['Node Type'], n.get('Index Name')) for n in scans]}")
    latest = explain(db, TOP10)
    unique = [n for n in nodes(latest) if n["Node Type"] == "Unique"]
    h.check(unique and not [n for n in nodes(unique[0]) if "Sort" in n["Node Type"]],
            "latest per coin: DISTINCT ON reads the key in order, no sort under it")

    plan = explain(db, ONE_SNAPSHOT)
    brin = [n for n in nodes(plan) if n["Node Type"] == "Bitmap Index Scan" and
            n["Index Name"].endswith("snapshot_id_idx")]
    h.check(brin, "a snapshot's rows are found through the BRIN snapshot index")
    h.check(db.scalar(f"SELECT count(*) FROM ({ONE_SNAPSHOT}) q") == str(COINS), "and they are all found")

    # The rewritten view returns each coin's newest row, exactly.
    diff = db.scalar(
        "SELECT count(*) FROM ((SELECT coin_id, vs_currency, last_updated, current_price FROM coin_market_latest "
        "EXCEPT SELECT coin_id, vs_currency, last_updated, current_price FROM coin_market m WHERE last_updated = "
        "(SELECT max(last_updated) FROM coin_market n WHERE n.coin_id = m.coin_id AND n.vs_currency = m.vs_currency)) "
        "UNION ALL (SELECT coin_id, vs_currency, last_updated, current_price FROM coin_market m WHERE last_updated = "
        "(SELECT max(last_updated) FROM coin_market n WHERE n.coin_id = m.coin_id AND n.vs_currency = m.vs_currency) "
        "EXCEPT SELECT coin_id, vs_currency, last_updated, current_price FROM coin_market_latest)) d")
    h.check(diff == "0", f"coin_market_latest holds exactly each coin's newest row ({diff} differ)")
    h.check(db.scalar("SELECT count(*) FROM coin_market_latest") == str(2 * COINS), "one row per coin and currency")

    # The loader's conflict target still names the key.
    inserted = db.psql(
        "INSERT INTO coin_market (coin_id, vs_currency, last_updated, snapshot_id, fetched_at) "
        "SELECT coin_id, vs_currency, last_updated, 'again', now() FROM coin_market LIMIT 5 "
        "ON CONFLICT (coin_id, vs_currency, last_updated) DO NOTHING RETURNING 1")
    h.check(inserted.strip() == "", "ON CONFLICT (coin_id, vs_currency, last_updated) skips stored rows")


if __name__ == "__main__":
    h.run_test(main)
