#pragma once
// The backfill command's run (issue 11): resolve the coins, plan chunks per coin and currency
// (skipping what done chunks cover), fetch each chunk through the shared ApiCaller, spool the
// body byte-exact under DATA_DIR/raw/history/, then store its points and its backfill_chunks
// row in one transaction. Resumable: done chunks are never requested again; provisional (open
// day) and failed ones are on the next run.
//
// With `ohlc`, each coin and currency also gets its OHLC candles (history/ohlc.hpp) into
// coin_ohlc, chunk by chunk the same way (backfill_chunks endpoint 'ohlc'). With `coins_list`,
// the run first loads /coins/list?include_platform=true into `coins` (one request).
//
// Raw files: raw/history/<coin>/<vs>/<granularity>_<from>_<to>_<fetched>.json, times as
// YYYYMMDDTHHMMSSZ (from/to: the request's, fetched: when the body arrived); OHLC:
// raw/history/<coin>/<vs>/ohlc_<candle>_<from>_<to>_<fetched>.json (pro /ohlc/range) or
// ohlc_<candle>_days<D>_<fetched>.json (public/demo /ohlc?days=D); an error body gets
// "_http<status>" before ".json"; the top:N fallback's markets page is
// raw/history/markets_top<N>_<vs>_<fetched>.json and the coins list
// raw/history/coins_list_<fetched>.json. They are kept (no retention applies).
#include "coingecko/api_caller.hpp"
#include "core/stop_signal.hpp"
#include "db/history_store.hpp"
#include "history/chunk_plan.hpp"

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace etl::history {

struct BackfillSummary;

struct BackfillOptions {
  std::vector<std::string> coins; // explicit ids, or
  std::optional<int> top;         // top:N
  std::vector<std::string> vs_currencies;
  int days = 365; // when no from/to
  std::optional<std::chrono::sys_days> from;
  std::optional<std::chrono::sys_days> to;
  std::string api_base;      // e.g. https://api.coingecko.com/api/v3
  std::string markets_url;   // COINGECKO_URL, for the top:N fallback
  bool limited_reach = true; // public/demo
  bool ohlc = false;         // also OHLC candles (--ohlc)
  bool coins_list = false;   // load /coins/list first (--coins-list)
  std::filesystem::path data_dir;
  std::chrono::milliseconds progress_interval{5'000};
  // > 0: stderr is a terminal this wide: one progress bar redrawn in place instead of the log
  // lines.
  int progress_bar_width = 0;
  std::chrono::milliseconds request_deadline{600'000}; // per chunk, retries and waits included
  // The daemon's background fill (history/background_filler.hpp): asked before every request,
  // it blocks until the call may go and returns the deadline the call must keep, or nullopt to
  // end the run (counted as interrupted). Unset: every call goes at once (the command).
  std::function<std::optional<std::chrono::steady_clock::time_point>()> before_call;
  // After the plan and after every chunk: the run's summary so far (metrics, the filler's log).
  std::function<void(const BackfillSummary&)> on_progress;
  // The poller's share of the plan's monthly credits, for the up-front credit log line.
  std::optional<std::int64_t> monthly_credits;
  double poller_calls_per_month = 0;
  bool quiet = false; // no progress lines or bar (the daemon reports through metrics instead)
};

struct BackfillSummary {
  std::int64_t planned = 0;     // chunks to request this run
  std::int64_t done = 0;        // stored and final
  std::int64_t provisional = 0; // stored, open day: fetched again next run
  std::int64_t failed = 0;
  std::int64_t skipped_done = 0; // parts covered by done chunks, not requested
  std::int64_t clamped = 0;      // coin x currency ranges cut to the plan's reach
  std::int64_t calls = 0;        // HTTP attempts made (credits spent)
  std::int64_t rows_inserted = 0;
  std::int64_t rows_updated = 0;
  std::int64_t candles_inserted = 0;
  std::int64_t candles_updated = 0;
  std::int64_t candles_other_size = 0;      // not written: a candle of another size has the stamp
  std::optional<std::int64_t> coins_listed; // coins in /coins/list when it was loaded
  std::int64_t coins_changed = 0;           // rows of `coins` inserted or updated
  bool coins_list_failed = false;
  bool interrupted = false;          // stopped by a signal
  bool fatal = false;                // the database or the data directory failed: run stopped
  std::vector<std::string> problems; // one line per failed coin/chunk, for the summary
  [[nodiscard]] bool complete() const noexcept {
    return failed == 0 && !coins_list_failed && !interrupted && !fatal;
  }
};

BackfillSummary run_backfill(const BackfillOptions& options, coingecko::ApiCaller& api,
                             db::HistoryStore& store, StopSignal& stop);

// "YYYYMMDDTHHMMSSZ".
std::string compact_utc(TimePoint t);

} // namespace etl::history
