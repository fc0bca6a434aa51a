#pragma once
// The backfill command's run (issue 11): resolve the coins, plan chunks per coin and currency
// (skipping what done chunks cover), fetch each chunk through the shared ApiCaller, spool the
// body byte-exact under DATA_DIR/raw/history/, then store its points and its backfill_chunks
// row in one transaction. Resumable: done chunks are never requested again; provisional (open
// day) and failed ones are on the next run.
//
// Raw files: raw/history/<coin>/<vs>/<granularity>_<from>_<to>_<fetched>.json, times as
// YYYYMMDDTHHMMSSZ (from/to: the request's, fetched: when the body arrived); an error body gets
// "_http<status>" before ".json"; the top:N fallback's markets page is
// raw/history/markets_top<N>_<vs>_<fetched>.json. They are kept (no retention applies).
#include "coingecko/api_caller.hpp"
#include "common/stop_signal.hpp"
#include "db/history_store.hpp"
#include "history/chunk_plan.hpp"

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace etl::history {

struct BackfillOptions {
  std::vector<std::string> coins;          // explicit ids, or
  std::optional<int> top;                  // top:N
  std::vector<std::string> vs_currencies;
  int days = 365;                          // when no from/to
  std::optional<std::chrono::sys_days> from;
  std::optional<std::chrono::sys_days> to;
  std::string api_base;                    // e.g. https://api.coingecko.com/api/v3
  std::string markets_url;                 // COINGECKO_URL, for the top:N fallback
  bool limited_reach = true;               // public/demo
  std::filesystem::path data_dir;
  std::chrono::milliseconds progress_interval{5'000};
  std::chrono::milliseconds request_deadline{600'000}; // per chunk, retries and waits included
};

struct BackfillSummary {
  std::int64_t planned = 0;      // chunks to request this run
  std::int64_t done = 0;         // stored and final
  std::int64_t provisional = 0;  // stored, open day: fetched again next run
  std::int64_t failed = 0;
  std::int64_t skipped_done = 0; // parts covered by done chunks, not requested
  std::int64_t clamped = 0;      // coin x currency ranges cut to the plan's reach
  std::int64_t rows_inserted = 0;
  std::int64_t rows_updated = 0;
  bool interrupted = false;      // stopped by a signal
  bool fatal = false;            // the database or the data directory failed: run stopped
  std::vector<std::string> problems; // one line per failed coin/chunk, for the summary
  [[nodiscard]] bool complete() const noexcept { return failed == 0 && !interrupted && !fatal; }
};

BackfillSummary run_backfill(const BackfillOptions& options, coingecko::ApiCaller& api, db::HistoryStore& store,
                             StopSignal& stop);

// "YYYYMMDDTHHMMSSZ".
std::string compact_utc(TimePoint t);

} // namespace etl::history
