-- Initial schema. Applied by `coingecko-etl migrate` (or at startup) inside one transaction;
-- schema_migrations is created by the runner itself so it can record this file.

-- One row per fetched page, the body exactly as CoinGecko sent it (jsonb: queryable, and the
-- on-disk raw file stays the byte-for-byte copy). Keyed by snapshot and page so replaying a
-- snapshot cannot duplicate a page.
CREATE TABLE coin_market_raw (
    snapshot_id text        NOT NULL,
    page        integer     NOT NULL CHECK (page >= 1),
    vs_currency text        NOT NULL,
    fetched_at  timestamptz NOT NULL,
    body        jsonb       NOT NULL,
    body_bytes  integer     NOT NULL,
    PRIMARY KEY (snapshot_id, page)
);

-- One row per coin observation. Amounts are numeric, not double precision: the loader passes
-- the exact decimal text the API sent ("8.69e-05", "400000000000000000000"), and numeric keeps
-- that value with no binary rounding. The natural key is what CoinGecko itself versions a
-- quote by: a poll that returns its cached data again (same last_updated) is the same
-- observation, so reloading it inserts nothing. Its column order also serves the common
-- query "one coin over a time range".
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
    -- roi is an object or null in the API; flattened so it is queryable without jsonb.
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
    -- Which snapshot first delivered this observation (later duplicates are not stored).
    snapshot_id                              text        NOT NULL,
    fetched_at                               timestamptz NOT NULL,
    PRIMARY KEY (coin_id, vs_currency, last_updated)
);

-- "What did snapshot X load?" (audits, reconciliation with data/raw files).
CREATE INDEX coin_market_snapshot_idx ON coin_market (snapshot_id);
-- Serves coin_market_latest: per (vs_currency, coin_id) the newest row is the first entry.
CREATE INDEX coin_market_latest_idx ON coin_market (vs_currency, coin_id, last_updated DESC);

-- One row per snapshot, written in the same transaction as its data: the row's existence is
-- the proof the snapshot committed, which is what makes replays idempotent.
CREATE TABLE etl_runs (
    snapshot_id    text        PRIMARY KEY,
    vs_currency    text        NOT NULL,
    started_at     timestamptz NOT NULL,
    fetched_at     timestamptz,
    loaded_at      timestamptz NOT NULL DEFAULT now(),
    status         text        NOT NULL CHECK (status IN ('loaded', 'partial', 'rejected')),
    pages          integer,
    coins_received integer,
    rows_inserted  integer,
    rows_unchanged integer,
    rows_rejected  integer,
    error          text
);

-- The newest observation per coin and currency.
CREATE VIEW coin_market_latest AS
SELECT DISTINCT ON (vs_currency, coin_id) *
FROM coin_market
ORDER BY vs_currency, coin_id, last_updated DESC;
