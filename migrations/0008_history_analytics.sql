-- Analytics over the history (issue 11): coin_daily (one row per coin, currency and UTC day:
-- close, simple returns, Wilder's RSI, annualized volatility) and coin_movers (per day, currency
-- and period the top and bottom 5 coins by return).
--
-- Both are plain views, so they are always as fresh as the tables under them: nothing to refresh
-- after a load, nothing for the daemon to do, and readers never wait for a rebuild. A query for
-- one coin only reads that coin's rows (the filter on coin_id reaches the tables' primary keys);
-- movers read every coin. Measured costs are in the README ("Analytics").
--
-- Conventions (the README repeats them):
--  * close: the last price observed in the UTC day, over coin_history (every granularity) and
--    coin_market (current_price at last_updated). A NULL price is no observation. Two
--    observations at the same instant: coin_market wins, then the finer granularity (5m, hourly,
--    daily). A daily point stamped 00:00 UTC belongs to the day it is stamped in.
--  * return_Nd = close / close N calendar days earlier - 1, computed as (close - earlier) / earlier
--    in numeric (exact subtraction, then >= 16 significant digits); NULL when that day has no
--    close or its close is 0.
--  * rsi_14: Wilder's RSI (as TA-Lib's RSI and TradingView's ta.rsi) over the daily closes in
--    day order. A change is between consecutive days that have a close: a missing day does not
--    reset the series, the change across it counts as one change. The first averages are the
--    simple means of the first 14 gains and losses, then avg = (prev * 13 + current) / 14;
--    RSI = 100 - 100 / (1 + avg_gain / avg_loss), 100 when avg_loss is 0 (a flat series too);
--    NULL until 14 changes exist. double precision.
--  * volatility_30d: stddev_samp of the 30 daily log returns ln(close_d / close_{d-1}) of the
--    30 calendar days ending that day, times sqrt(365) (annualized over calendar days: crypto
--    trades every day). NULL unless all 30 exist (a missing day, or a 0 close, leaves a log
--    return out). double precision.

-- Wilder's RSI as an aggregate, used as a running window function ordered by day:
--   etl_wilder_rsi(close::float8, 14) OVER (PARTITION BY ... ORDER BY day)
-- State: {changes seen (-1 before the first close), previous close, average gain, average loss,
-- period}; while fewer than `period` changes are seen, the averages hold sums.
CREATE FUNCTION etl_wilder_rsi_step(state double precision[], close double precision, period integer)
RETURNS double precision[] LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
    n      double precision := state[1] + 1;
    change double precision;
    gain   double precision;
    loss   double precision;
BEGIN
    IF n = 0 THEN
        RETURN ARRAY[0, close, 0, 0, period];
    END IF;
    change := close - state[2];
    gain := greatest(change, 0);
    loss := greatest(-change, 0);
    IF n < period THEN
        RETURN ARRAY[n, close, state[3] + gain, state[4] + loss, period];
    ELSIF n = period THEN
        RETURN ARRAY[n, close, (state[3] + gain) / period, (state[4] + loss) / period, period];
    END IF;
    RETURN ARRAY[n, close, (state[3] * (period - 1) + gain) / period,
                 (state[4] * (period - 1) + loss) / period, period];
END $$;

CREATE FUNCTION etl_wilder_rsi_final(state double precision[])
RETURNS double precision LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT CASE WHEN state[1] < state[5] THEN NULL
                WHEN state[4] = 0 THEN 100
                ELSE 100 - 100 / (1 + state[3] / state[4]) END
$$;

CREATE AGGREGATE etl_wilder_rsi(double precision, integer) (
    SFUNC = etl_wilder_rsi_step,
    STYPE = double precision[],
    FINALFUNC = etl_wilder_rsi_final,
    INITCOND = '{-1,0,0,0,0}',
    PARALLEL = SAFE
);

CREATE VIEW coin_daily AS
WITH observation AS (
    SELECT coin_id, vs_currency, ts, price,
           CASE granularity WHEN '5m' THEN 1 WHEN 'hourly' THEN 2 ELSE 3 END AS preference
    FROM coin_history
    WHERE price IS NOT NULL
    UNION ALL
    SELECT coin_id, vs_currency, last_updated, current_price, 0
    FROM coin_market
    WHERE current_price IS NOT NULL
), daily_close AS (
    SELECT DISTINCT ON (coin_id, vs_currency, (ts AT TIME ZONE 'UTC')::date)
           coin_id, vs_currency, (ts AT TIME ZONE 'UTC')::date AS day, price AS close
    FROM observation
    ORDER BY coin_id, vs_currency, (ts AT TIME ZONE 'UTC')::date, ts DESC, preference
), earlier AS (
    -- RANGE frames over the date: the close exactly 1, 7, 30 days earlier, NULL when that day
    -- has none (never the previous row). The log return is computed here, once per row (in the
    -- outer query it would be evaluated again for every row of every 30-day frame).
    SELECT coin_id, vs_currency, day, close,
           first_value(close) OVER (w RANGE BETWEEN '1 day' PRECEDING AND '1 day' PRECEDING) AS close_1d,
           first_value(close) OVER (w RANGE BETWEEN '7 days' PRECEDING AND '7 days' PRECEDING) AS close_7d,
           first_value(close) OVER (w RANGE BETWEEN '30 days' PRECEDING AND '30 days' PRECEDING) AS close_30d,
           CASE WHEN close > 0 AND first_value(close) OVER (w RANGE BETWEEN '1 day' PRECEDING AND '1 day' PRECEDING) > 0
                THEN ln(close::double precision
                        / (first_value(close) OVER (w RANGE BETWEEN '1 day' PRECEDING AND '1 day' PRECEDING))::double precision)
           END AS log_return_1d,
           etl_wilder_rsi(close::double precision, 14) OVER (w ROWS UNBOUNDED PRECEDING) AS rsi_14
    FROM daily_close
    WINDOW w AS (PARTITION BY coin_id, vs_currency ORDER BY day)
)
SELECT coin_id, vs_currency, day, close,
       (close - close_1d) / NULLIF(close_1d, 0) AS return_1d,
       (close - close_7d) / NULLIF(close_7d, 0) AS return_7d,
       (close - close_30d) / NULLIF(close_30d, 0) AS return_30d,
       rsi_14,
       CASE WHEN count(log_return_1d) OVER v = 30
            THEN stddev_samp(log_return_1d) OVER v * sqrt(365::double precision) END AS volatility_30d
FROM earlier
WINDOW v AS (PARTITION BY coin_id, vs_currency ORDER BY day RANGE BETWEEN '29 days' PRECEDING AND CURRENT ROW);

-- Per day, currency and period ('1d', '7d', '30d'): the 5 highest returns (direction 'top',
-- position 1 = highest) and the 5 lowest ('bottom', position 1 = lowest). Coins whose return is
-- NULL are left out; equal returns are ordered by coin_id ascending in both directions. A day
-- with fewer than 5 (or 10) coins has fewer rows, and a coin may then be both top and bottom.
CREATE VIEW coin_movers AS
WITH by_period AS (
    SELECT d.day, d.vs_currency, p.period, d.coin_id, p.ret
    FROM coin_daily d
    CROSS JOIN LATERAL (VALUES ('1d', d.return_1d), ('7d', d.return_7d), ('30d', d.return_30d))
        AS p(period, ret)
    WHERE p.ret IS NOT NULL
), ranked AS (
    SELECT day, vs_currency, period, coin_id, ret,
           row_number() OVER (PARTITION BY day, vs_currency, period ORDER BY ret DESC, coin_id) AS top_position,
           row_number() OVER (PARTITION BY day, vs_currency, period ORDER BY ret, coin_id) AS bottom_position
    FROM by_period
)
SELECT r.day, r.vs_currency, r.period, x.direction, x.position::integer AS position, r.coin_id,
       r.ret AS "return"
FROM ranked r
CROSS JOIN LATERAL (VALUES ('top', r.top_position), ('bottom', r.bottom_position)) AS x(direction, position)
WHERE x.position <= 5;
