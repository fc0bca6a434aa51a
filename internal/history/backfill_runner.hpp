#pragma once
// Private to backfill: the run's state and steps, split by concern over
// backfill.cpp (the run: plan, then fetch chunk by chunk), backfill_plan.cpp (the chunk plans
// and clamps), backfill_coins.cpp (top:N and the coins list), backfill_fetch.cpp (one GET,
// spooled, and the backfill_chunks records), backfill_chunk.cpp (one chunk parsed and stored)
// and backfill_report.cpp (progress, warnings, fatal stops).
#include "history/backfill.hpp"
#include "history/ohlc.hpp"

#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace etl::history::backfill_detail {

using SteadyClock = std::chrono::steady_clock;

TimePoint wall_now();
std::int64_t epoch_seconds_floor(TimePoint t);
std::int64_t epoch_seconds_ceil(TimePoint t);
std::string describe_failure(const coingecko::FetchError& e);
// A coin CoinGecko does not know, or a range the plan may not ask: the coin's other chunks
// would fail the same way, so they are recorded failed without a request.
bool fails_whole_coin(const coingecko::FetchError& e);

class Runner {
public:
  Runner(const BackfillOptions& o, coingecko::ApiCaller& api, db::HistoryStore& store,
         StopSignal& stop)
      : m_o(o), m_api(api), m_store(store), m_stop(stop), m_started(SteadyClock::now()),
        m_last_progress(m_started) {}

  BackfillSummary run();

private:
  struct Work {
    std::string coin, vs;
    std::variant<Chunk, OhlcChunk> chunk;
  };
  // One GET's body, spooled: the raw file relative to DATA_DIR and when it arrived.
  struct Fetched {
    std::string body;
    std::string raw;
    TimePoint at;
  };

  // backfill.cpp
  void announce(std::size_t coins, std::size_t chunks);
  void execute(const std::vector<Work>& work);

  // backfill_plan.cpp
  std::optional<std::vector<Work>> plan_work(const std::vector<std::string>& coins);
  bool plan_market_chart_for(const std::string& coin, const std::string& vs, TimePoint now,
                             const std::vector<db::DoneChunk>& done, std::vector<Work>& work);
  std::optional<OhlcPlan> plan_ohlc_for(const std::string& coin, const std::string& vs,
                                        TimePoint now, const std::vector<db::DoneChunk>& done);
  bool record_clamp(db::ChunkRecord r, const Range& range);

  // backfill_coins.cpp
  std::optional<std::vector<std::string>> resolve_coins();
  std::optional<std::vector<std::string>> top_from_markets(int n, std::size_t in_db);
  void load_coins_list();

  // backfill_fetch.cpp
  tl::expected<coingecko::FetchedPage, coingecko::FetchError> get(const std::string& url,
                                                                  const std::string& what);
  bool spool(const std::filesystem::path& path, std::string_view body);
  std::filesystem::path raw_dir(const std::string& coin, const std::string& vs) const;
  static std::string status_suffix(long status);
  std::filesystem::path raw_path(const std::string& coin, const std::string& vs, const Chunk& c,
                                 TimePoint fetched, long status) const;
  std::filesystem::path raw_path(const std::string& coin, const std::string& vs, const OhlcChunk& c,
                                 TimePoint fetched, long status) const;
  db::ChunkRecord record_of(const std::string& coin, const std::string& vs, const Chunk& c) const;
  db::ChunkRecord record_of(const std::string& coin, const std::string& vs,
                            const OhlcChunk& c) const;
  void record_failure(db::ChunkRecord r, std::optional<long> status, std::string reason,
                      std::string raw_file = {}, bool requested = false);
  std::optional<Fetched>
  fetch(const std::string& url, const std::string& what, const db::ChunkRecord& record,
        const std::function<std::filesystem::path(TimePoint, long)>& path_for,
        std::optional<std::string>& failed_coin);

  // backfill_chunk.cpp
  std::optional<std::string> fetch_and_store(const std::string& coin, const std::string& vs,
                                             const Chunk& c);
  std::optional<std::string> fetch_and_store(const std::string& coin, const std::string& vs,
                                             const OhlcChunk& c);

  // backfill_report.cpp
  void report();
  BackfillSummary fatal(std::string message);
  void log_warning(const std::string& message);
  void end_bar_line();
  void progress(bool last);

  const BackfillOptions& m_o;
  coingecko::ApiCaller& m_api;
  db::HistoryStore& m_store;
  StopSignal& m_stop;
  BackfillSummary m_sum;
  SteadyClock::time_point m_started;
  SteadyClock::time_point m_last_progress;
  bool m_bar_drawn = false;
};

} // namespace etl::history::backfill_detail
