#include "telemetry/metrics.hpp"

#include "telemetry/process_collector.hpp"

#include <functional>
#include <span>
#include <sstream>
#include <utility>
#include <vector>

#include <prometheus/text_serializer.h>

namespace etl::telemetry {
namespace {

constexpr std::string_view kOther = "other";

// prometheus-cpp 1.0 writes family names verbatim, so counters carry their _total here.
const std::string kPrefix = "coingecko_etl_";

constexpr std::string_view kHttpFailureReasons[] = {"rate_limited", "server_error", "unauthorized",
                                                    "client_error", "transport",    "too_large",
                                                    "cancelled"};
constexpr std::string_view kWaitCauses[] = {"rate_limit", "retry_after", "backoff"};
constexpr std::string_view kBodyKinds[] = {"empty",     "html",         "not_json",
                                           "truncated", "error_object", "not_array"};
constexpr std::string_view kLoadErrorKinds[] = {"unavailable", "rejected", "refused", "internal"};
constexpr std::string_view kServerCloseReasons[] = {"limit", "deadline", "too_large"};

// 10 ms (a cached page from a nearby proxy) up to 60 s (a tick stuck in backoff).
const prometheus::Histogram::BucketBoundaries kDurationBuckets = {0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                                                                  1,    2.5,   5,    10,  30,   60};

// Every series of a labelled family, created up front. Values outside the fixed set land on
// "other" so a caller bug can never grow the label cardinality.
template <typename T> class Labelled {
public:
  Labelled(std::string label, std::span<const std::string_view> values,
           const std::function<T&(const prometheus::Labels&)>& add) {
    for (const auto value : values) {
      m_series.emplace_back(std::string(value), &add({{label, std::string(value)}}));
    }
    m_other = &add({{label, std::string(kOther)}});
  }
  T& get(std::string_view value) const {
    for (const auto& [name, series] : m_series) {
      if (name == value) {
        return *series;
      }
    }
    return *m_other;
  }

private:
  std::vector<std::pair<std::string, T*>> m_series;
  T* m_other = nullptr;
};

prometheus::Counter& counter(prometheus::Registry& r, const std::string& name,
                             const std::string& help) {
  return prometheus::BuildCounter().Name(kPrefix + name).Help(help).Register(r).Add({});
}
prometheus::Gauge& gauge(prometheus::Registry& r, const std::string& name,
                         const std::string& help) {
  return prometheus::BuildGauge().Name(kPrefix + name).Help(help).Register(r).Add({});
}

Labelled<prometheus::Counter> labelled_counter(prometheus::Registry& r, const std::string& name,
                                               const std::string& help, std::string label,
                                               std::span<const std::string_view> values) {
  auto& family = prometheus::BuildCounter().Name(kPrefix + name).Help(help).Register(r);
  return {std::move(label), values,
          [&family](const prometheus::Labels& labels) -> prometheus::Counter& {
            return family.Add(labels);
          }};
}

} // namespace

std::string_view http_code_class(long status) {
  if (status == 0) {
    return "none";
  }
  if (status == 429) {
    return "429";
  }
  if (status >= 200 && status < 300) {
    return "2xx";
  }
  if (status >= 300 && status < 400) {
    return "3xx";
  }
  if (status >= 400 && status < 500) {
    return "4xx";
  }
  if (status >= 500 && status < 600) {
    return "5xx";
  }
  return kOther;
}

// The families of polling: ticks, stages, HTTP.
struct FetchFamilies {
  explicit FetchFamilies(prometheus::Registry& r)
      : ticks(labelled_counter(r, "ticks_total", "Scheduler ticks by outcome.", "result",
                               kTickResults)),
        ticks_skipped(counter(r, "ticks_skipped_total",
                              "Ticks not started because the previous one was still running.")),
        tick_duration(prometheus::BuildHistogram()
                          .Name(kPrefix + "tick_duration_seconds")
                          .Help("Wall time of one tick, fetch to load.")
                          .Register(r)
                          .Add({}, kDurationBuckets)),
        stage_duration([&r]() {
          auto& family = prometheus::BuildHistogram()
                             .Name(kPrefix + "stage_duration_seconds")
                             .Help("Wall time of one pipeline stage within a tick.")
                             .Register(r);
          return Labelled<prometheus::Histogram>(
              "stage", kStages,
              [&family](const prometheus::Labels& labels) -> prometheus::Histogram& {
                return family.Add(labels, kDurationBuckets);
              });
        }()),
        last_success(gauge(r, "last_success_timestamp_seconds",
                           "Unix time of the last tick whose every stage succeeded.")),
        last_load_success(gauge(r, "last_load_success_timestamp_seconds",
                                "Unix time of the last snapshot committed to PostgreSQL.")),
        http_requests(
            labelled_counter(r, "http_requests_total",
                             "CoinGecko HTTP responses by status class (none: no response).",
                             "code", kHttpCodeClasses)),
        http_failures(labelled_counter(r, "http_failures_total",
                                       "CoinGecko request attempts that failed, by reason.",
                                       "reason", kHttpFailureReasons)),
        http_retries(counter(r, "http_retries_total", "CoinGecko requests retried.")),
        wait_seconds(labelled_counter(r, "wait_seconds_total",
                                      "Seconds spent waiting before CoinGecko requests, by cause.",
                                      "cause", kWaitCauses)),
        coins_received(
            counter(r, "coins_received_total", "Coin records received from CoinGecko.")) {}

  Labelled<prometheus::Counter> ticks;
  prometheus::Counter& ticks_skipped;
  prometheus::Histogram& tick_duration;
  Labelled<prometheus::Histogram> stage_duration;
  prometheus::Gauge& last_success;
  prometheus::Gauge& last_load_success;
  Labelled<prometheus::Counter> http_requests;
  Labelled<prometheus::Counter> http_failures;
  prometheus::Counter& http_retries;
  Labelled<prometheus::Counter> wait_seconds;
  prometheus::Counter& coins_received;
};

// The families of storing: rows, snapshots, spool, database, leadership, planning, serving.
struct StoreFamilies {
  explicit StoreFamilies(prometheus::Registry& r)
      : rows_inserted(counter(r, "rows_inserted_total", "coin_market rows inserted.")),
        rows_unchanged(counter(r, "rows_unchanged_total",
                               "coin_market rows already present (replays, cached responses).")),
        rows_rejected(counter(r, "rows_rejected_total", "Coin records rejected by validation.")),
        bodies_rejected(labelled_counter(r, "bodies_rejected_total",
                                         "Response bodies kept on disk but not loaded, by kind.",
                                         "kind", kBodyKinds)),
        snapshots_loaded(
            counter(r, "snapshots_loaded_total", "Snapshots committed to PostgreSQL.")),
        snapshots_partial(
            counter(r, "snapshots_partial_total",
                    "Snapshots committed with fewer pages than the sweep planned "
                    "(etl_runs.status partial; the missing pages in etl_runs.error).")),
        snapshots_quarantined(
            counter(r, "snapshots_quarantined_total",
                    "Snapshots PostgreSQL refused as data, not loaded; their files are kept "
                    "(DATA_DIR/quarantine names the reason).")),
        load_errors(labelled_counter(r, "load_errors_total", "Snapshot loads that failed, by kind.",
                                     "kind", kLoadErrorKinds)),
        snapshots_pending(
            gauge(r, "snapshots_pending", "Spooled snapshots not yet in PostgreSQL.")),
        pending_bytes(
            gauge(r, "spool_pending_bytes", "Bytes of spooled snapshots not yet in PostgreSQL.")),
        oldest_pending_age(gauge(r, "spool_oldest_pending_age_seconds",
                                 "Age of the oldest pending snapshot (0 when none).")),
        snapshots_dropped(
            counter(r, "snapshots_dropped_total",
                    "Pending snapshots deleted unloaded because the spool was over its bounds.")),
        spool_write_errors(counter(r, "spool_write_errors_total", "Failed spool file writes.")),
        db_up(gauge(r, "db_up", "1 when the last PostgreSQL operation reached the server.")),
        leader(gauge(r, "leader",
                     "1 while this replica holds the leader lock and polls; 0 on a standby.")),
        planned_calls_per_tick(gauge(r, "planned_calls_per_tick",
                                     "CoinGecko calls one tick makes at most, by configuration.")),
        planned_calls_per_minute(
            gauge(r, "planned_calls_per_minute",
                  "CoinGecko calls per minute the configuration implies at most.")),
        planned_calls_per_month(
            gauge(r, "planned_calls_per_month",
                  "CoinGecko calls per 30-day month the configuration implies at most.")),
        sweep_ticks(gauge(r, "sweep_ticks",
                          "Ticks one full sweep of PAGES x currencies takes (1: every tick).")),
        server_closed(labelled_counter(
            r, "http_server_connections_closed_total",
            "Connections the observability server closed on its own: at its "
            "connection limit, at the request deadline, or for an oversized request.",
            "reason", kServerCloseReasons)) {}

  prometheus::Counter& rows_inserted;
  prometheus::Counter& rows_unchanged;
  prometheus::Counter& rows_rejected;
  Labelled<prometheus::Counter> bodies_rejected;
  prometheus::Counter& snapshots_loaded;
  prometheus::Counter& snapshots_partial;
  prometheus::Counter& snapshots_quarantined;
  Labelled<prometheus::Counter> load_errors;
  prometheus::Gauge& snapshots_pending;
  prometheus::Gauge& pending_bytes;
  prometheus::Gauge& oldest_pending_age;
  prometheus::Counter& snapshots_dropped;
  prometheus::Counter& spool_write_errors;
  prometheus::Gauge& db_up;
  prometheus::Gauge& leader;
  prometheus::Gauge& planned_calls_per_tick;
  prometheus::Gauge& planned_calls_per_minute;
  prometheus::Gauge& planned_calls_per_month;
  prometheus::Gauge& sweep_ticks;
  Labelled<prometheus::Counter> server_closed;
};

struct Metrics::Families : FetchFamilies, StoreFamilies {
  Families(prometheus::Registry& r, const BuildInfo& build) : FetchFamilies(r), StoreFamilies(r) {
    prometheus::BuildGauge()
        .Name(kPrefix + "build_info")
        .Help("Build version and git revision; always 1.")
        .Register(r)
        .Add({{"version", build.version}, {"revision", build.revision}})
        .Set(1);
  }

  ProcessCollector process;
};

Metrics::Metrics(const BuildInfo& build)
    : m_registry(std::make_shared<prometheus::Registry>()),
      m_families(std::make_unique<Families>(*m_registry, build)),
      ticks_skipped(m_families->ticks_skipped), tick_duration(m_families->tick_duration),
      last_success(m_families->last_success), last_load_success(m_families->last_load_success),
      http_retries(m_families->http_retries), coins_received(m_families->coins_received),
      rows_inserted(m_families->rows_inserted), rows_unchanged(m_families->rows_unchanged),
      rows_rejected(m_families->rows_rejected), snapshots_loaded(m_families->snapshots_loaded),
      snapshots_partial(m_families->snapshots_partial),
      snapshots_quarantined(m_families->snapshots_quarantined),
      snapshots_pending(m_families->snapshots_pending), pending_bytes(m_families->pending_bytes),
      oldest_pending_age(m_families->oldest_pending_age),
      snapshots_dropped(m_families->snapshots_dropped),
      spool_write_errors(m_families->spool_write_errors), db_up(m_families->db_up),
      leader(m_families->leader), planned_calls_per_tick(m_families->planned_calls_per_tick),
      planned_calls_per_minute(m_families->planned_calls_per_minute),
      planned_calls_per_month(m_families->planned_calls_per_month),
      sweep_ticks(m_families->sweep_ticks) {}

Metrics::~Metrics() = default;

std::string Metrics::serialize() const {
  auto families = m_registry->Collect();
  auto process = m_families->process.Collect();
  families.insert(families.end(), std::make_move_iterator(process.begin()),
                  std::make_move_iterator(process.end()));
  std::ostringstream out;
  prometheus::TextSerializer{}.Serialize(out, families);
  return out.str();
}

prometheus::Counter& Metrics::http_server_connections_closed(std::string_view reason) {
  return m_families->server_closed.get(reason);
}

prometheus::Counter& Metrics::tick(std::string_view result) {
  return m_families->ticks.get(result);
}
prometheus::Histogram& Metrics::stage_duration(std::string_view stage) {
  return m_families->stage_duration.get(stage);
}
prometheus::Counter& Metrics::http_request(long status) {
  return m_families->http_requests.get(http_code_class(status));
}
prometheus::Counter& Metrics::http_failure(std::string_view reason) {
  return m_families->http_failures.get(reason);
}
prometheus::Counter& Metrics::wait_seconds(std::string_view cause) {
  return m_families->wait_seconds.get(cause);
}
prometheus::Counter& Metrics::bodies_rejected(std::string_view kind) {
  return m_families->bodies_rejected.get(kind);
}
prometheus::Counter& Metrics::load_errors(std::string_view kind) {
  return m_families->load_errors.get(kind);
}

} // namespace etl::telemetry
