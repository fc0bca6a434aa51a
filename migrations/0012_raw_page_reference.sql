-- A raw page byte-identical to an earlier page of the same currency and page number is stored as
-- a reference to that page instead of a second copy (issue 12). CoinGecko serves cached data for
-- 45-60 s, so at a 30 s interval about half of all polls return the bodies of the previous one;
-- each copy cost ~87 KiB of WAL and TOAST per 250-coin page.
--
--   body_sha256          SHA-256 of the page's exact bytes (what `sha256sum` prints for its file
--                        in data/raw/), set on every page stored from this migration on;
--   same_as_snapshot_id  set when the page is a reference: its bytes are those of the page with
--                        the same page number in that snapshot, which holds them (never another
--                        reference), and body is NULL.
--
-- Read bodies through the view coin_market_raw_body (every page with its bytes, references
-- resolved) or coin_market_raw_json (the same as jsonb). The daemon stores a reference only to a
-- page in the same UTC month of fetched_at, hence in the same monthly partition: retention
-- (COIN_MARKET_RAW_RETENTION) drops a month with the pages its references point to, never one
-- without the other. Adding nullable columns rewrites nothing; the CHECK reads every stored row
-- once (not their bodies).

ALTER TABLE coin_market_raw ALTER COLUMN body DROP NOT NULL;
ALTER TABLE coin_market_raw ADD COLUMN body_sha256 bytea;
ALTER TABLE coin_market_raw ADD COLUMN same_as_snapshot_id text;
ALTER TABLE coin_market_raw ADD CONSTRAINT coin_market_raw_body_or_reference
    CHECK ((body IS NULL) = (same_as_snapshot_id IS NOT NULL)
           AND (same_as_snapshot_id IS NULL OR body_sha256 IS NOT NULL)
           AND (body_sha256 IS NULL OR octet_length(body_sha256) = 32));

-- Every page with its exact bytes: a reference resolved to the page it names (same page number,
-- same digest; the subquery runs only for a reference and reads the primary key).
CREATE VIEW coin_market_raw_body AS
SELECT r.snapshot_id, r.page, r.vs_currency, r.fetched_at,
       coalesce(r.body, (SELECT b.body FROM coin_market_raw b
                         WHERE b.snapshot_id = r.same_as_snapshot_id AND b.page = r.page
                           AND b.body_sha256 = r.body_sha256 AND b.body IS NOT NULL)) AS body,
       r.body_bytes, r.body_sha256, r.same_as_snapshot_id
FROM coin_market_raw r;

CREATE OR REPLACE VIEW coin_market_raw_json AS
SELECT snapshot_id, page, vs_currency, fetched_at, coin_market_raw_jsonb(body) AS body, body_bytes
FROM coin_market_raw_body;
