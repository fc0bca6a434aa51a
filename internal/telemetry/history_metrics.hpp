#pragma once
// The history fill's metrics (issue 11), registered on the daemon's registry next to Metrics:
// chunks by result, chunks remaining, calls spent, and the coverage ledger (oldest and newest
// stored point per currency and granularity, and missing days for the configured coins).
#include <memory>
#include <string>
#include <string_view>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

namespace etl::telemetry {

// coingecko_etl_backfill_chunks_total{result}; other values land on "other".
inline constexpr std::string_view kChunkResults[] = {"stored", "provisional", "failed", "skipped",
                                                     "clamped"};

class HistoryMetrics {
public:
  explicit HistoryMetrics(prometheus::Registry& registry);

  prometheus::Counter& chunks(std::string_view result); // one of kChunkResults
  prometheus::Gauge& chunks_remaining;                  // coingecko_etl_backfill_chunks_remaining
  prometheus::Counter& calls;                           // coingecko_etl_history_calls_total
  // coingecko_etl_history_gaps{slot}: "day" over HISTORY_DAYS, "hour" over its hourly part.
  prometheus::Gauge& gaps(std::string_view slot);
  prometheus::Gauge& throttled; // coingecko_etl_history_credits_throttled (0/1)
  // Coverage per currency (configured, so bounded) and granularity (5m, hourly, daily).
  void set_coverage(const std::string& vs_currency, const std::string& granularity,
                    double oldest_seconds, double newest_seconds);

private:
  prometheus::Family<prometheus::Counter>& m_chunks;
  prometheus::Family<prometheus::Gauge>& m_gaps;
  prometheus::Family<prometheus::Gauge>& m_oldest;
  prometheus::Family<prometheus::Gauge>& m_newest;
};

} // namespace etl::telemetry
