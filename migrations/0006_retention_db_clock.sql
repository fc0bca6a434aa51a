-- Partition retention that a wrong clock cannot turn into data loss (issue 9, item 8).
--
-- Until now the daemon computed each retention cutoff from its host's wall clock and passed it
-- to *_drop_partitions_before(cutoff): a host clock that jumped a year ahead dropped every
-- valid month for good. The cutoff now comes from here: the database's now() minus the
-- retention, and never later than the newest data's month minus the retention, so a partition
-- holding data newer than (newest data - retention) is never dropped, whatever any clock says
-- (a database clock that jumps ahead is held back by the data, a daemon clock does not count).
--
-- The newest data is taken as the start of the newest monthly partition holding any row (one
-- EXISTS probe per month, newest first: no scan of a table that may hold years), or, when no
-- month holds a row, the newest key of the default partition. Being at most the real newest
-- value, it can only make the cutoff earlier: a month may be kept up to a month longer than
-- the retention asks, never dropped sooner.
--
-- The *_drop_partitions_before(cutoff) functions of 0002/0004 stay as they were, for operators
-- who name a cutoff explicitly.

CREATE FUNCTION etl_newest_data_lower_bound(parent text, key_column text)
RETURNS timestamptz LANGUAGE plpgsql STABLE AS $$
DECLARE
    part   record;
    filled boolean;
    newest timestamptz;
BEGIN
    FOR part IN
        SELECT c.relname, to_date(right(c.relname, 7), 'YYYY_MM')::timestamp AT TIME ZONE 'UTC' AS lo
        FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = parent::regclass AND c.relname = parent || '_p' || right(c.relname, 7)
          AND right(c.relname, 7) ~ '^[0-9]{4}_[0-9]{2}$'
        ORDER BY c.relname DESC
    LOOP
        EXECUTE format('SELECT EXISTS (SELECT 1 FROM %I)', part.relname) INTO filled;
        IF filled THEN
            RETURN part.lo;
        END IF;
    END LOOP;
    EXECUTE format('SELECT max(%I) FROM %I', key_column, parent || '_default') INTO newest;
    RETURN newest; -- NULL: the table holds nothing, so no drop can lose data
END $$;

-- clock: NULL (the daemon) means the database's now(); tests pass a fixed instant.
CREATE FUNCTION etl_retention_cutoff(parent text, key_column text, retention interval, clock timestamptz)
RETURNS timestamptz LANGUAGE sql STABLE AS $$
    -- least() skips a NULL newest (an empty table).
    SELECT least(coalesce(clock, now()) - retention, etl_newest_data_lower_bound(parent, key_column) - retention)
$$;

CREATE FUNCTION coin_market_drop_partitions_older_than(retention interval, clock timestamptz,
                                                       OUT cutoff timestamptz, OUT dropped integer)
LANGUAGE plpgsql AS $$
BEGIN
    cutoff := etl_retention_cutoff('coin_market', 'last_updated', retention, clock);
    dropped := etl_drop_monthly_partitions_before('coin_market', 'last_updated', cutoff);
END $$;

CREATE FUNCTION coin_market_raw_drop_partitions_older_than(retention interval, clock timestamptz,
                                                           OUT cutoff timestamptz, OUT dropped integer)
LANGUAGE plpgsql AS $$
BEGIN
    cutoff := etl_retention_cutoff('coin_market_raw', 'fetched_at', retention, clock);
    dropped := etl_drop_monthly_partitions_before('coin_market_raw', 'fetched_at', cutoff);
END $$;
