-- coin_market_raw becomes range-partitioned by fetched_at, one partition per UTC month, like
-- coin_market (0002, whose monthly upkeep functions it shares): a raw page is ~70 KB stored, so
-- the whole market (70 pages) every 30 s is ~14 GB a day, and only dropping whole months
-- (COIN_MARKET_RAW_RETENTION) bounds that without hours of DELETE and VACUUM. Applied in one
-- transaction; existing rows are copied unchanged.

CREATE FUNCTION coin_market_raw_ensure_partitions(from_ts timestamptz, to_ts timestamptz)
RETURNS integer LANGUAGE sql AS $$
    SELECT etl_ensure_monthly_partitions('coin_market_raw', 'fetched_at', from_ts, to_ts)
$$;

CREATE FUNCTION coin_market_raw_drop_partitions_before(cutoff timestamptz)
RETURNS integer LANGUAGE sql AS $$
    SELECT etl_drop_monthly_partitions_before('coin_market_raw', 'fetched_at', cutoff)
$$;

ALTER TABLE coin_market_raw RENAME TO coin_market_raw_unpartitioned;
ALTER TABLE coin_market_raw_unpartitioned RENAME CONSTRAINT coin_market_raw_pkey TO coin_market_raw_unpartitioned_pkey;

-- Same columns in the same order, CHECKs and lz4 (0003) as before. A partitioned primary key
-- must contain the partition key; a snapshot's pages all carry its one fetched_at (a replay
-- re-reads the same files), so this still keeps one row per page of a snapshot.
CREATE TABLE coin_market_raw (
    LIKE coin_market_raw_unpartitioned INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING COMPRESSION,
    PRIMARY KEY (snapshot_id, page, fetched_at)
) PARTITION BY RANGE (fetched_at);

CREATE TABLE coin_market_raw_default (LIKE coin_market_raw INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING COMPRESSION);
ALTER TABLE coin_market_raw ATTACH PARTITION coin_market_raw_default DEFAULT;

SELECT coin_market_raw_ensure_partitions(least(min(fetched_at), now() - interval '1 month'),
                                         now() + interval '2 months')
FROM coin_market_raw_unpartitioned;

INSERT INTO coin_market_raw SELECT * FROM coin_market_raw_unpartitioned;
DROP TABLE coin_market_raw_unpartitioned;
