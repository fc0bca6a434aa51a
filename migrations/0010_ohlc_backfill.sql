-- OHLC backfill (issue 11): `coingecko-etl backfill --ohlc` loads /coins/{id}/ohlc (public/demo)
-- and /coins/{id}/ohlc/range (pro) into coin_ohlc, with its progress in backfill_chunks
-- (endpoint 'ohlc').
--
-- The candle size depends on the request (public/demo: 30m, 4h or 4d by `days`; pro: hourly or
-- daily), and coin_ohlc's key (coin_id, vs_currency, ts) does not hold it: `candle` records
-- which size a row is, and the loader updates a row only with a candle of the same size, so a
-- 4-day candle never overwrites the 4-hour one closing at the same instant. NULL: unknown.
ALTER TABLE coin_ohlc
    ADD COLUMN candle text CHECK (candle IN ('30m', '4h', '4d', 'hourly', 'daily'));

-- backfill_chunks.granularity also holds the OHLC candle sizes.
ALTER TABLE backfill_chunks DROP CONSTRAINT backfill_chunks_granularity_check;
ALTER TABLE backfill_chunks ADD CONSTRAINT backfill_chunks_granularity_check
    CHECK (granularity IN ('5m', 'hourly', 'daily', '30m', '4h', '4d'));
