#pragma once
// The daemon's background fill (issue 11, HISTORY_COINS): keeps coin_history filled with the
// same chunks, progress table and storage as the backfill command, but spends only what the
// sweep leaves free. After every tick the scheduler thread offers the tick's leftover calls
// (history::tick_quota) until the next tick's start; the filler's own thread takes them one
// request at a time, so a sweep never waits for it, and never more per UTC day than the monthly
// credits leave free (history::DailyCredits). A finished pass is planned again every
// `replan_interval`: done chunks cost nothing, the open day and any gap (an outage) are fetched.
//
// Own thread, own HTTP handle, own database session, own stop signal: stop() ends it within
// one HTTP poll interval; readiness never looks at it.
#include "coingecko/api_caller.hpp"
#include "core/stop_signal.hpp"
#include "db/history_store.hpp"
#include "history/backfill.hpp"
#include "history/fill_quota.hpp"
#include "http/transport.hpp"
#include "telemetry/history_metrics.hpp"

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

namespace etl::history {

struct FillerOptions {
  BackfillOptions backfill; // coins (or top), currencies, days, api_base, data_dir, reach
  std::optional<std::int64_t> monthly_credits;
  double poller_calls_per_month = 0;
  std::chrono::milliseconds replan_interval{std::chrono::minutes(10)};
  std::chrono::milliseconds coverage_interval{std::chrono::seconds(30)};
};

class BackgroundFiller {
public:
  using SteadyTime = std::chrono::steady_clock::time_point;
  // `caller` is the poller's (plan, key, rate); the filler makes one attempt per permit.
  BackgroundFiller(FillerOptions options, coingecko::CallerOptions caller,
                   http::HttpTransport& transport, std::string conninfo,
                   telemetry::HistoryMetrics* metrics);
  ~BackgroundFiller();
  BackgroundFiller(const BackgroundFiller&) = delete;
  BackgroundFiller& operator=(const BackgroundFiller&) = delete;

  void start();
  // Scheduler thread, after a tick: `calls` may go out before `until`; replaces what is left of
  // the previous offer. Never blocks beyond a short lock.
  void offer(std::int64_t calls, SteadyTime until);
  // Ends the thread (an HTTP request in flight is aborted) and waits for it.
  void stop();

private:
  void loop();
  std::optional<SteadyTime> permit();
  void on_progress(const BackfillSummary& now);
  void refresh_coverage(bool force);

  FillerOptions m_options;
  StopSignal m_stop;
  coingecko::ApiCaller m_api;
  db::HistoryStore m_store;
  telemetry::HistoryMetrics* m_metrics;
  DailyCredits m_credits; // filler thread only
  std::int64_t m_throttled_day = -1;
  BackfillSummary m_last; // the pass's summary at the previous report, for metric deltas
  SteadyTime m_coverage_at{};

  std::mutex m_mutex;
  std::condition_variable m_cv;
  std::int64_t m_quota = 0;
  SteadyTime m_until{};
  bool m_stopping = false;
  std::thread m_thread;
};

} // namespace etl::history
