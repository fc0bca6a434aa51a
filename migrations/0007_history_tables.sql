-- History (issue 11): what `coingecko-etl backfill` loads from /coins/{id}/market_chart/range,
-- /coins/{id}/ohlc and /coins/list. Amounts are numeric for the same reason as coin_market: the
-- loader passes the exact decimal text CoinGecko sent, so nothing is rounded through a double.
-- NULL stays NULL (CoinGecko sends null for a point it has no value for).

-- One point of a market chart. `granularity` is what CoinGecko served for the chunk ('5m',
-- 'hourly' or 'daily'): the same instant may exist at two granularities (an hourly point at
-- 00:00 and the daily close), and analytics pick the one they need. The key makes a re-fetch of
-- a chunk idempotent; a provisional point (the still-open trailing UTC day) is updated in place
-- when the chunk is re-fetched after CoinGecko finalized it.
CREATE TABLE coin_history (
    coin_id      text        NOT NULL,
    vs_currency  text        NOT NULL,
    granularity  text        NOT NULL CHECK (granularity IN ('5m', 'hourly', 'daily')),
    ts           timestamptz NOT NULL,
    price        numeric,
    market_cap   numeric,
    total_volume numeric,
    fetched_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (coin_id, vs_currency, granularity, ts)
);

-- One OHLC candle; `ts` is the candle's close time exactly as CoinGecko stamped it (the last
-- candle may still be open and stamped in the future: it is updated when fetched again).
CREATE TABLE coin_ohlc (
    coin_id     text        NOT NULL,
    vs_currency text        NOT NULL,
    ts          timestamptz NOT NULL,
    open        numeric,
    high        numeric,
    low         numeric,
    close       numeric,
    fetched_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (coin_id, vs_currency, ts)
);

-- The coin catalogue from /coins/list?include_platform=true: one row per id, replaced on
-- every fetch (platforms maps a platform id to the contract address, or null).
CREATE TABLE coins (
    coin_id    text        PRIMARY KEY,
    symbol     text        NOT NULL,
    name       text        NOT NULL,
    platforms  jsonb       NOT NULL DEFAULT '{}'::jsonb,
    updated_at timestamptz NOT NULL DEFAULT now()
);
