#pragma once
// Wiring of the daemon's background history fill (HISTORY_COINS, issue 11): builds the filler
// from the configuration and, after every tick, hands it the calls the sweep left free.
#include "config/config.hpp"
#include "history/background_filler.hpp"
#include "http/transport.hpp"
#include "pacing/pacing.hpp"
#include "telemetry/history_metrics.hpp"
#include "telemetry/metrics.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>

namespace etl::app {

class HistoryFill {
public:
  // nullptr when HISTORY_COINS is empty (the default) or the API root is unknown (logged).
  static std::unique_ptr<HistoryFill> create(const config::Config& cfg,
                                             const pacing::Pacing& pacing,
                                             const http::CurlOptions& curl,
                                             telemetry::Metrics& metrics);

  // Counts one sweep HTTP attempt (the markets client's observer, scheduler thread).
  void count_sweep_attempt() noexcept { m_sweep_calls.fetch_add(1, std::memory_order_relaxed); }
  // After each tick (scheduler thread): the tick's budget minus the attempts its sweep made may
  // go to history until `next_tick`; a standby replica offers nothing.
  void after_tick(std::chrono::steady_clock::time_point next_tick, bool leader);
  void stop() { m_filler->stop(); }

  HistoryFill(std::int64_t budget_per_tick, std::unique_ptr<http::CurlTransport> transport,
              std::unique_ptr<telemetry::HistoryMetrics> metrics);

private:
  std::int64_t m_budget;
  bool m_started = false; // scheduler thread only
  std::atomic<std::int64_t> m_sweep_calls{0};
  std::unique_ptr<http::CurlTransport> m_transport;
  std::unique_ptr<telemetry::HistoryMetrics> m_metrics;
  std::unique_ptr<history::BackgroundFiller> m_filler;
};

} // namespace etl::app
