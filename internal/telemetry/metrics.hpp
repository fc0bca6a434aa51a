#pragma once
// Every metric the daemon exports, created once at start-up so each series exists (at 0)
// before the first event. Names follow Prometheus rules: coingecko_etl_ prefix, base units,
// _total counters, and labels whose values come from fixed sets only.
#include <memory>
#include <string>
#include <string_view>

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

namespace etl::telemetry {

struct BuildInfo {
  std::string version;
  std::string revision;
};

// Label value sets (also used by tests to assert boundedness).
inline constexpr std::string_view kTickResults[] = {"success", "partial", "failed", "skipped"};
inline constexpr std::string_view kHttpCodeClasses[] = {"2xx", "3xx", "4xx", "429", "5xx", "none"};
inline constexpr std::string_view kStages[] = {"fetch", "spool", "transform", "load"};
// Every labelled family also has an "other" series: accessors map values outside these sets
// (or outside the reasons/causes/kinds listed in metrics.cpp) to it instead of adding labels.

// "2xx" "3xx" "4xx" "429" "5xx"; "none" for 0 (no response); "other" for anything else.
std::string_view http_code_class(long status);

class Metrics {
  // Declared first: the public metric references below are bound from these.
  struct Families;
  std::shared_ptr<prometheus::Registry> m_registry;
  std::unique_ptr<Families> m_families;

public:
  explicit Metrics(const BuildInfo& build);
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  [[nodiscard]] std::shared_ptr<prometheus::Registry> registry() const { return m_registry; }
  // Text exposition of every family plus process_* metrics.
  [[nodiscard]] std::string serialize() const;

  // Ticks
  prometheus::Counter& tick(std::string_view result); // one of kTickResults
  prometheus::Counter& ticks_skipped;
  prometheus::Histogram& tick_duration; // coingecko_etl_tick_duration_seconds
  prometheus::Histogram& stage_duration(std::string_view stage); // one of kStages
  prometheus::Gauge& last_success;      // coingecko_etl_last_success_timestamp_seconds
  prometheus::Gauge& last_load_success; // coingecko_etl_last_load_success_timestamp_seconds
  // HTTP
  prometheus::Counter& http_request(long status); // coingecko_etl_http_requests_total{code}
  prometheus::Counter& http_failure(std::string_view reason); // ..._http_failures_total{reason}
  prometheus::Counter& http_retries;
  prometheus::Counter& wait_seconds(std::string_view cause); // rate_limit|retry_after|backoff
  // Data
  prometheus::Counter& coins_received;
  prometheus::Counter& rows_inserted;
  prometheus::Counter& rows_unchanged;
  prometheus::Counter& rows_rejected;
  prometheus::Counter& bodies_rejected(std::string_view kind); // market::BodyErrorKind names
  prometheus::Counter& snapshots_loaded;
  prometheus::Counter& snapshots_partial;     // committed with fewer pages than the sweep planned
  prometheus::Counter& snapshots_quarantined; // refused as data; files kept under quarantine/
  prometheus::Counter& load_errors(std::string_view kind); // db::DbError::Kind names
  // Spool
  prometheus::Gauge& snapshots_pending;
  prometheus::Gauge& pending_bytes;
  prometheus::Gauge& oldest_pending_age;
  prometheus::Counter& snapshots_dropped;
  prometheus::Counter& spool_write_errors;
  // Database
  prometheus::Gauge& db_up;
  // Replicas and pacing
  prometheus::Gauge& leader;                 // coingecko_etl_leader: 1 while this process polls
  prometheus::Gauge& planned_calls_per_tick; // what the configuration implies (set at start-up)
  prometheus::Gauge& planned_calls_per_minute;
  prometheus::Gauge& planned_calls_per_month;
  prometheus::Gauge& sweep_ticks; // ticks per full sweep of PAGES x currencies
  // The observability server: connections it closed (limit|deadline|too_large)
  prometheus::Counter& http_server_connections_closed(std::string_view reason);

  ~Metrics();
};

} // namespace etl::telemetry
