#pragma once
// The backfill's side of PostgreSQL (issue 11): coin_history rows and backfill_chunks progress.
// One chunk = one transaction: COPY of its points into session staging, one
// INSERT ... ON CONFLICT DO UPDATE into coin_history, and its backfill_chunks row, committed
// together, so a chunk recorded 'done' always has its points. libpqxx exceptions never leave
// this module: they become DbError values.
#include "db/database.hpp"
#include "history/market_chart.hpp"

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <tl/expected.hpp>

namespace etl::db {

inline constexpr std::string_view kMarketChartRange = "market_chart_range"; // backfill_chunks.endpoint

struct ChunkRecord {
  std::string coin_id;
  std::string vs_currency;
  std::string endpoint{kMarketChartRange};
  history::Granularity granularity = history::Granularity::daily;
  history::Range chunk;                  // what the chunk stores
  std::optional<history::Range> request; // what was asked (none for 'clamped')
  std::string status;                    // done, provisional, failed, clamped
  std::int64_t points = 0;
  std::optional<std::int64_t> expected_points;
  std::optional<long> http_status;
  std::string error;    // "" = none
  std::string raw_file; // "" = none
  bool requested = false; // counts one more attempt
};

struct DoneChunk {
  std::string coin_id;
  std::string vs_currency;
  history::Granularity granularity = history::Granularity::daily;
  history::Range chunk;
};

struct StoreCounts {
  std::int64_t inserted = 0; // new (coin, currency, granularity, ts) keys
  std::int64_t updated = 0;  // existing keys whose values changed (a provisional point corrected)
  std::int64_t replaced = 0; // open-day rows deleted before the fresh ones went in
};

// Used by one thread; holds one connection, reopened on the next call after it broke.
class HistoryStore {
public:
  explicit HistoryStore(std::string conninfo, std::string application_name = "coingecko-etl backfill");
  ~HistoryStore();
  HistoryStore(const HistoryStore&) = delete;
  HistoryStore& operator=(const HistoryStore&) = delete;

  tl::expected<void, DbError> ensure_connected();

  // Every chunk of `endpoint` recorded done.
  tl::expected<std::vector<DoneChunk>, DbError> done_chunks(std::string_view endpoint);

  // Stores `points` and the chunk's row in one transaction. With `replace_from`, the chunk's
  // rows from that instant to the chunk's end are deleted first (the open day: stale
  // provisional points, such as an earlier run's "now" point, must not survive).
  tl::expected<StoreCounts, DbError> store_chunk(const ChunkRecord& record, std::span<const history::ChartPoint> points,
                                                 std::optional<history::TimePoint> replace_from);
  // Records a chunk without points (failed, clamped).
  tl::expected<void, DbError> record_chunk(const ChunkRecord& record);

  // Coin ids of the `n` best market_cap_rank values of the newest loaded snapshot in
  // coin_market (fewer when it holds fewer, none when there is none).
  tl::expected<std::vector<std::string>, DbError> top_coins(int n);

private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
};

} // namespace etl::db
