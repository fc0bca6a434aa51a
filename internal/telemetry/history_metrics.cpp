#include "telemetry/history_metrics.hpp"

#include <algorithm>

namespace etl::telemetry {
namespace {

const std::string kPrefix = "coingecko_etl_";

prometheus::Gauge& plain_gauge(prometheus::Registry& r, const std::string& name,
                               const std::string& help) {
  return prometheus::BuildGauge().Name(kPrefix + name).Help(help).Register(r).Add({});
}

prometheus::Family<prometheus::Counter>& chunk_family(prometheus::Registry& r) {
  auto& family =
      prometheus::BuildCounter()
          .Name(kPrefix + "backfill_chunks_total")
          .Help("History chunks by outcome: stored (final), provisional (open day, fetched again), "
                "failed, skipped (already done), clamped (beyond the plan's reach)")
          .Register(r);
  // Every series exists (at 0) before the first chunk.
  for (const auto result : kChunkResults) family.Add({{"result", std::string(result)}});
  family.Add({{"result", "other"}});
  return family;
}

prometheus::Family<prometheus::Gauge>& gap_family(prometheus::Registry& r) {
  auto& family =
      prometheus::BuildGauge()
          .Name(kPrefix + "history_gaps")
          .Help("Missing slots: completed UTC days (slot=day) within HISTORY_DAYS, and hours "
                "(slot=hour) within its hourly part, with no coin_history point, summed over "
                "the configured coins and currencies")
          .Register(r);
  family.Add({{"slot", "day"}});
  family.Add({{"slot", "hour"}});
  return family;
}

} // namespace

HistoryMetrics::HistoryMetrics(prometheus::Registry& registry)
    : chunks_remaining(
          plain_gauge(registry, "backfill_chunks_remaining",
                      "History chunks planned and not yet fetched in the current fill pass")),
      calls(prometheus::BuildCounter()
                .Name(kPrefix + "history_calls_total")
                .Help("CoinGecko calls spent on history (background fill), retries included")
                .Register(registry)
                .Add({})),
      throttled(plain_gauge(registry, "history_credits_throttled",
                            "1 while the background fill waits because today's share of the "
                            "monthly credits is spent")),
      m_chunks(chunk_family(registry)), m_gaps(gap_family(registry)),
      m_oldest(prometheus::BuildGauge()
                   .Name(kPrefix + "history_oldest_point_timestamp_seconds")
                   .Help("Oldest coin_history point per currency and granularity, Unix seconds")
                   .Register(registry)),
      m_newest(prometheus::BuildGauge()
                   .Name(kPrefix + "history_newest_point_timestamp_seconds")
                   .Help("Newest coin_history point per currency and granularity, Unix seconds")
                   .Register(registry)) {}

prometheus::Counter& HistoryMetrics::chunks(std::string_view result) {
  const bool known = std::find(std::begin(kChunkResults), std::end(kChunkResults), result) !=
                     std::end(kChunkResults);
  return m_chunks.Add({{"result", known ? std::string(result) : std::string("other")}});
}

prometheus::Gauge& HistoryMetrics::gaps(std::string_view slot) {
  return m_gaps.Add({{"slot", slot == "hour" ? "hour" : "day"}});
}

void HistoryMetrics::set_coverage(const std::string& vs_currency, const std::string& granularity,
                                  double oldest_seconds, double newest_seconds) {
  const prometheus::Labels labels{{"vs_currency", vs_currency}, {"granularity", granularity}};
  m_oldest.Add(labels).Set(oldest_seconds);
  m_newest.Add(labels).Set(newest_seconds);
}

} // namespace etl::telemetry
