-- coin_market becomes a table range-partitioned by last_updated, one partition per UTC month,
-- so years of observations stay queryable (queries on a time range touch only their months)
-- and retention drops whole months instead of deleting rows. Applied in one transaction by the
-- migrations runner: on failure nothing changes. Existing rows are copied over unchanged.
--
-- Partitions are named coin_market_pYYYY_MM. coin_market_default catches any last_updated no
-- monthly partition covers (CoinGecko serves days- or months-stale last_updated values for
-- inactive coins), so a load never fails for want of a partition; creating a month later moves
-- its rows out of the default partition (coin_market_ensure_partitions below).

-- Monthly partition upkeep for any table range-partitioned by a timestamptz column: partitions
-- <table>_pYYYY_MM and a default partition <table>_default (coin_market_raw uses it too, 0004).
-- etl_ensure_monthly_partitions creates the months covering [from_ts, to_ts] that do not exist
-- yet and returns how many it created; rows of such a month already in the default partition
-- move into the new one. etl_drop_monthly_partitions_before drops every month that ended
-- before `cutoff`, deletes default-partition rows older than it, and returns how many months
-- it dropped.
CREATE FUNCTION etl_ensure_monthly_partitions(parent text, key_column text, from_ts timestamptz,
                                              to_ts timestamptz)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    month   timestamp := date_trunc('month', from_ts AT TIME ZONE 'UTC');
    lo      timestamptz;
    hi      timestamptz;
    part    text;
    created integer := 0;
BEGIN
    WHILE (month AT TIME ZONE 'UTC') <= to_ts LOOP
        lo := month AT TIME ZONE 'UTC';
        hi := (month + interval '1 month') AT TIME ZONE 'UTC';
        part := parent || '_p' || to_char(month, 'YYYY_MM');
        IF NOT EXISTS (SELECT 1 FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                       WHERE i.inhparent = parent::regclass AND c.relname = part) THEN
            -- Built detached, filled from the default partition, then attached: ATTACH checks
            -- the default partition holds nothing of this month any more, and adds the indexes.
            -- INCLUDING COMPRESSION keeps coin_market_raw.body on lz4 (0003) in every month, and
            -- INCLUDING CONSTRAINTS its CHECKs, which ATTACH requires.
            EXECUTE format('CREATE TABLE %I (LIKE %I INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING COMPRESSION)', part, parent);
            EXECUTE format('WITH moved AS (DELETE FROM %I WHERE %I >= %L AND %I < %L RETURNING *) '
                           'INSERT INTO %I SELECT * FROM moved',
                           parent || '_default', key_column, lo, key_column, hi, part);
            EXECUTE format('ALTER TABLE %I ADD CONSTRAINT %I CHECK (%I >= %L AND %I < %L)',
                           part, part || '_range', key_column, lo, key_column, hi);
            EXECUTE format('ALTER TABLE %I ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)',
                           parent, part, lo, hi);
            -- The partition bound now says the same; the CHECK only spared ATTACH a full scan.
            EXECUTE format('ALTER TABLE %I DROP CONSTRAINT %I', part, part || '_range');
            created := created + 1;
        END IF;
        month := month + interval '1 month';
    END LOOP;
    RETURN created;
END $$;

CREATE FUNCTION etl_drop_monthly_partitions_before(parent text, key_column text, cutoff timestamptz)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    part    record;
    dropped integer := 0;
BEGIN
    FOR part IN
        SELECT c.relname,
               (to_date(right(c.relname, 7), 'YYYY_MM') + interval '1 month') AT TIME ZONE 'UTC' AS hi
        FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = parent::regclass AND c.relname = parent || '_p' || right(c.relname, 7)
          AND right(c.relname, 7) ~ '^[0-9]{4}_[0-9]{2}$'
        ORDER BY c.relname
    LOOP
        IF part.hi <= cutoff THEN
            EXECUTE format('DROP TABLE %I', part.relname);
            dropped := dropped + 1;
        END IF;
    END LOOP;
    EXECUTE format('DELETE FROM %I WHERE %I < %L', parent || '_default', key_column, cutoff);
    RETURN dropped;
END $$;

CREATE FUNCTION coin_market_ensure_partitions(from_ts timestamptz, to_ts timestamptz)
RETURNS integer LANGUAGE sql AS $$
    SELECT etl_ensure_monthly_partitions('coin_market', 'last_updated', from_ts, to_ts)
$$;

CREATE FUNCTION coin_market_drop_partitions_before(cutoff timestamptz)
RETURNS integer LANGUAGE sql AS $$
    SELECT etl_drop_monthly_partitions_before('coin_market', 'last_updated', cutoff)
$$;

-- The view depends on the old table; it is recreated unchanged at the end.
DROP VIEW coin_market_latest;
ALTER TABLE coin_market RENAME TO coin_market_unpartitioned;
ALTER TABLE coin_market_unpartitioned RENAME CONSTRAINT coin_market_pkey TO coin_market_unpartitioned_pkey;
DROP INDEX coin_market_snapshot_idx;
DROP INDEX coin_market_latest_idx;

-- Same columns in the same order as 0001 (the loader and SELECT * rely on it).
CREATE TABLE coin_market (
    coin_id                                  text        NOT NULL,
    vs_currency                              text        NOT NULL,
    symbol                                   text,
    name                                     text,
    image                                    text,
    current_price                            numeric,
    market_cap                               numeric,
    market_cap_rank                          integer,
    fully_diluted_valuation                  numeric,
    total_volume                             numeric,
    high_24h                                 numeric,
    low_24h                                  numeric,
    price_change_24h                         numeric,
    price_change_percentage_24h              numeric,
    market_cap_change_24h                    numeric,
    market_cap_change_percentage_24h         numeric,
    circulating_supply                       numeric,
    total_supply                             numeric,
    max_supply                               numeric,
    ath                                      numeric,
    ath_change_percentage                    numeric,
    ath_date                                 timestamptz,
    atl                                      numeric,
    atl_change_percentage                    numeric,
    atl_date                                 timestamptz,
    roi_times                                numeric,
    roi_currency                             text,
    roi_percentage                           numeric,
    last_updated                             timestamptz NOT NULL,
    price_change_percentage_1h_in_currency   numeric,
    price_change_percentage_24h_in_currency  numeric,
    price_change_percentage_7d_in_currency   numeric,
    price_change_percentage_14d_in_currency  numeric,
    price_change_percentage_30d_in_currency  numeric,
    price_change_percentage_200d_in_currency numeric,
    price_change_percentage_1y_in_currency   numeric,
    snapshot_id                              text        NOT NULL,
    fetched_at                               timestamptz NOT NULL,
    -- The partition key is part of the natural key already, as a partitioned PK requires.
    -- Its order serves "one coin over a time range" (with partition pruning on the range).
    PRIMARY KEY (coin_id, vs_currency, last_updated)
) PARTITION BY RANGE (last_updated);

CREATE TABLE coin_market_default PARTITION OF coin_market DEFAULT;

-- Every month since the first snapshot was fetched, through the daemon's window (two months
-- ahead). Older last_updated values (stale quotes of inactive coins, possibly years old) go to
-- the default partition instead of one near-empty partition per month back to 2013.
SELECT coin_market_ensure_partitions(least(min(fetched_at), now() - interval '1 month'),
                                     now() + interval '2 months')
FROM coin_market_unpartitioned;

INSERT INTO coin_market SELECT * FROM coin_market_unpartitioned;
DROP TABLE coin_market_unpartitioned;

-- Created on the parent, so every partition (present and future) gets them.
-- "What did snapshot X load?" (audits, reconciliation with data/raw files).
CREATE INDEX coin_market_snapshot_idx ON coin_market (snapshot_id);
-- "Latest per coin": per (vs_currency, coin_id) the newest row is each partition's first entry.
CREATE INDEX coin_market_latest_idx ON coin_market (vs_currency, coin_id, last_updated DESC);

CREATE VIEW coin_market_latest AS
SELECT DISTINCT ON (vs_currency, coin_id) *
FROM coin_market
ORDER BY vs_currency, coin_id, last_updated DESC;
