-- Distributes the coingecko-etl schema on Citus (docs/SCALING.md, "Running the schema on a
-- distributed PostgreSQL"). Run once with psql on the coordinator, after `coingecko-etl migrate`
-- has created the schema there and before the daemon loads into it:
--
--   CREATE EXTENSION citus;              -- on the coordinator and on every worker
--   SELECT citus_add_node('worker-1', 5432); ...
--   psql "$DATABASE_URL" -v ON_ERROR_STOP=1 -f deploy/citus/distribute.sql
--
-- Order matters: a table is co-located with one distributed before it. Every PRIMARY KEY and
-- UNIQUE index of a distributed table (parent and every partition) includes its distribution
-- column, which Citus requires; tests/system/test_distribution_ready.py reads the calls and the
-- `-- local:` lines below from this file and checks that, and the rest the document relies on,
-- against a freshly migrated database.

BEGIN;

-- Quotes, history and backfill progress: by coin. Co-located, so everything about one coin is on
-- one node: coin_daily's DISTINCT ON and windows (by coin_id, vs_currency) and its UNION ALL of
-- coin_history and coin_market run inside each shard, and a backfill chunk's points and its
-- backfill_chunks row commit on one node.
SELECT create_distributed_table('coin_market', 'coin_id', colocate_with => 'none');
SELECT create_distributed_table('coin_history', 'coin_id', colocate_with => 'coin_market');
SELECT create_distributed_table('coin_ohlc', 'coin_id', colocate_with => 'coin_market');
SELECT create_distributed_table('backfill_chunks', 'coin_id', colocate_with => 'coin_market');

-- Raw pages: by page number. A page holds 250 coins, so it cannot live with its coins. A page
-- stored as a reference to identical bytes (migration 0012) names an earlier snapshot's page with
-- the same number, so by page both rows share a shard: the reference insert (INSERT ... SELECT
-- from the earlier row) and the view coin_market_raw_body (a subquery correlated on page) run
-- inside one shard. By snapshot_id they would cross shards, and Citus refuses a correlated
-- subquery that is not on the distribution column (the view would fail).
SELECT create_distributed_table('coin_market_raw', 'page', colocate_with => 'none');

-- Snapshot runs: by snapshot, on their own (they have no page column to follow the raw pages).
SELECT create_distributed_table('etl_runs', 'snapshot_id', colocate_with => 'none');

-- The coin catalogue (~18k rows, rewritten only when a coin changes): a copy on every node, so
-- it joins any distributed table locally.
SELECT create_reference_table('coins');

-- local: schema_migrations (the migration runner's ledger: read and written only by
-- `coingecko-etl migrate` on the coordinator, under its advisory lock)

COMMIT;
