-- Backfill progress (issue 11): one row per planned market_chart/range chunk of
-- `coingecko-etl backfill`, written in the same transaction as the chunk's coin_history rows,
-- so a chunk is 'done' exactly when its points are stored. A re-run skips what done chunks
-- cover (no request repeated); 'provisional' chunks reach the still-open UTC day and are
-- fetched again; 'failed' ones (404, 10012, repeated 5xx ...) are retried; 'clamped' records
-- the part of a request the plan cannot reach (public/demo: 365 days), never requested.
CREATE TABLE backfill_chunks (
    coin_id         text        NOT NULL,
    vs_currency     text        NOT NULL,
    endpoint        text        NOT NULL, -- 'market_chart_range'
    granularity     text        NOT NULL CHECK (granularity IN ('5m', 'hourly', 'daily')),
    chunk_from      timestamptz NOT NULL, -- the range this chunk stores (inclusive)
    chunk_to        timestamptz NOT NULL,
    request_from    timestamptz,          -- what was asked of CoinGecko (padded / widened)
    request_to      timestamptz,
    status          text        NOT NULL CHECK (status IN ('done', 'provisional', 'failed', 'clamped')),
    points          integer     NOT NULL DEFAULT 0,
    expected_points integer,
    http_status     integer,
    error           text,
    raw_file        text,                 -- under DATA_DIR/raw/history/
    attempts        integer     NOT NULL DEFAULT 0, -- runs that requested this chunk
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (coin_id, vs_currency, endpoint, granularity, chunk_from, chunk_to)
);

CREATE INDEX backfill_chunks_status ON backfill_chunks (status);
