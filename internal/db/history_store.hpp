#pragma once
// The backfill's side of PostgreSQL (issue 11): coin_history rows, coin_ohlc candles, the coins
// catalogue and backfill_chunks progress.
// One chunk = one transaction: COPY of its points into session staging, one
// INSERT ... ON CONFLICT DO UPDATE into coin_history, and its backfill_chunks row, committed
// together, so a chunk recorded 'done' always has its points. libpqxx exceptions never leave
// this module: they become DbError values.
#include "db/database.hpp"
#include "history/coins_list.hpp"
#include "history/market_chart.hpp"
#include "history/ohlc.hpp"

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <tl/expected.hpp>

namespace etl::db {

inline constexpr std::string_view kMarketChartRange =
    "market_chart_range";                         // backfill_chunks.endpoint
inline constexpr std::string_view kOhlc = "ohlc"; // /ohlc (public/demo) and /ohlc/range (pro)

struct ChunkRecord {
  std::string coin_id;
  std::string vs_currency;
  std::string endpoint{kMarketChartRange};
  std::string granularity = "daily";     // market chart: 5m/hourly/daily; ohlc: the candle size
  history::Range chunk;                  // what the chunk stores
  std::optional<history::Range> request; // what was asked (none for 'clamped')
  std::string status;                    // done, provisional, failed, clamped
  std::int64_t points = 0;
  std::optional<std::int64_t> expected_points;
  std::optional<long> http_status;
  std::string error;      // "" = none
  std::string raw_file;   // "" = none
  bool requested = false; // counts one more attempt
};

struct DoneChunk {
  std::string coin_id;
  std::string vs_currency;
  std::string granularity; // as in backfill_chunks
  history::Range chunk;
};

struct StoreCounts {
  std::int64_t inserted = 0; // new (coin, currency, granularity, ts) keys
  std::int64_t updated = 0;  // existing keys whose values changed (a provisional point corrected)
  std::int64_t replaced = 0; // open-day rows deleted before the fresh ones went in
  std::int64_t other_size =
      0; // OHLC: candles not written, a row of another candle size has the stamp
};

// The coverage ledger: oldest and newest stored point per currency and granularity.
struct CoverageRow {
  std::string vs_currency;
  std::string granularity;
  double oldest_seconds = 0; // Unix seconds
  double newest_seconds = 0;
};

struct CoinsCounts {
  std::int64_t inserted = 0;
  std::int64_t updated = 0;
  std::int64_t unchanged = 0;
};

// Used by one thread; holds one connection, reopened on the next call after it broke.
class HistoryStore {
public:
  explicit HistoryStore(std::string conninfo,
                        std::string application_name = "coingecko-etl backfill");
  ~HistoryStore();
  HistoryStore(const HistoryStore&) = delete;
  HistoryStore& operator=(const HistoryStore&) = delete;

  tl::expected<void, DbError> ensure_connected();

  // Every chunk of `endpoint` recorded done.
  tl::expected<std::vector<DoneChunk>, DbError> done_chunks(std::string_view endpoint);

  // Stores `points` and the chunk's row in one transaction. With `replace_from`, the chunk's
  // rows from that instant to the chunk's end are deleted first (the open day: stale
  // provisional points, such as an earlier run's "now" point, must not survive).
  tl::expected<StoreCounts, DbError> store_chunk(const ChunkRecord& record,
                                                 std::span<const history::ChartPoint> points,
                                                 std::optional<history::TimePoint> replace_from);
  // The OHLC twin of store_chunk: `candles` upserted into coin_ohlc (ON CONFLICT DO UPDATE only
  // where the values differ and the stored row is of the same candle size) and the chunk's row,
  // in one transaction. StoreCounts::other_size counts candles left alone because a row
  // of another candle size has their stamp.
  tl::expected<StoreCounts, DbError> store_ohlc_chunk(const ChunkRecord& record,
                                                      history::Candle candle,
                                                      std::span<const history::OhlcCandle> candles);
  // Records a chunk without points (failed, clamped).
  tl::expected<void, DbError> record_chunk(const ChunkRecord& record);

  // The whole /coins/list into `coins` in one transaction: COPY into staging, then one
  // INSERT ... ON CONFLICT DO UPDATE that rewrites only rows whose symbol, name or platforms
  // changed. Coins absent from the list are kept (a delisted id stays known).
  tl::expected<CoinsCounts, DbError> store_coins(std::span<const history::CoinListing> coins);

  // Coin ids of the `n` best market_cap_rank values of the newest loaded snapshot in
  // coin_market (fewer when it holds fewer, none when there is none).
  tl::expected<std::vector<std::string>, DbError> top_coins(int n);

  // history_coverage.cpp. One GROUP BY over coin_history: call it now and then, not per row.
  tl::expected<std::vector<CoverageRow>, DbError> coverage();
  // Slots (`slot` long: a day, an hour) in [from, to) without any coin_history point, summed
  // over every coin x currency pair given.
  tl::expected<std::int64_t, DbError> missing_slots(const std::vector<std::string>& coins,
                                                    const std::vector<std::string>& vs_currencies,
                                                    history::TimePoint from, history::TimePoint to,
                                                    std::chrono::hours slot);

private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
};

} // namespace etl::db
