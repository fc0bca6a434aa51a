// The tick: leadership, the fetch plan, the load of the queue, and the upkeep of the spool and
// the partitions.
#include "pipeline/pipeline.hpp"

#include <algorithm>
#include <limits>

#include <spdlog/spdlog.h>

namespace etl::pipeline {

Pipeline::Pipeline(PipelineOptions options, PageSource& source, SnapshotQueue& queue,
                   SnapshotStore& store, telemetry::Metrics& metrics,
                   telemetry::HealthState& health, StopSignal& stop, const Clock& clock)
    : m_options(std::move(options)), m_source(source), m_queue(queue), m_store(store),
      m_report(metrics, health), m_stop(stop), m_clock(clock) {}

double Pipeline::seconds_since(SteadyTime start) const {
  return std::chrono::duration<double>(m_clock.steady_now() - start).count();
}

bool Pipeline::ensure_schema() {
  if (m_schema_ready) return true;
  if (auto ok = m_store.ensure_connected(); !ok) {
    m_report.migrations_deferred(ok.error());
    return false;
  }
  auto applied = m_store.migrate(m_options.migrations_dir);
  if (!applied) {
    m_report.migrations_failed(applied.error());
    return false;
  }
  m_report.migrations_applied(*applied, m_options.migrations_dir);
  m_schema_ready = true;
  return true;
}

TickResult Pipeline::tick(SteadyTime deadline) {
  const auto tick_start = m_clock.steady_now();
  m_report.tick_started(m_clock.wall_now());
  if (!refresh_leadership()) {
    // Standby: never fetch. Snapshots this process fetched while it was the leader are still
    // loaded (idempotent), so a hand-over loses nothing; with no backlog this touches nothing.
    maintain_spool();
    if (m_queue.backlog().snapshots > 0) drain_pending(deadline);
    maintain_spool();
    m_report.standby_finished(seconds_since(tick_start), m_clock.wall_now());
    return TickResult::standby;
  }

  const auto& currencies = m_options.vs_currencies;
  const std::int64_t budget = m_options.calls_per_tick_budget > 0
                                  ? m_options.calls_per_tick_budget
                                  : std::numeric_limits<std::int64_t>::max();
  const TickPlan plan = plan_tick(m_sweep_cursor, m_options.pages, currencies.size(), budget);
  if (plan.sweep_starts || m_market_end.size() != currencies.size())
    m_market_end.assign(currencies.size(), m_options.pages);
  m_sweep_cursor = plan.next_cursor;
  std::size_t wanted = 0;
  const std::vector<FetchOutcome> fetched = fetch_plan(plan, budget, deadline, wanted);

  maintain_spool();
  // Even when fetching overran the interval, load one snapshot more than this tick added, so a
  // backlog shrinks instead of growing while every tick runs late.
  int min_loads = 1;
  for (const auto& f : fetched) min_loads += f.snapshot_id.empty() ? 0 : 1;
  const DrainSummary drain = drain_pending(deadline, min_loads);
  maintain_spool();

  std::size_t loaded = 0;
  bool all_complete = true;
  for (const auto& f : fetched) {
    if (f.snapshot_id.empty() || !f.complete) all_complete = false;
    // Left the queue, and not by quarantine: its rows are in PostgreSQL.
    const bool quarantined = std::find(drain.not_loaded.begin(), drain.not_loaded.end(),
                                       f.snapshot_id) != drain.not_loaded.end();
    if (!f.snapshot_id.empty() && !quarantined && !m_queue.is_pending(f.snapshot_id)) ++loaded;
  }
  TickResult result = TickResult::failed;
  if (loaded > 0)
    result = (loaded == wanted && all_complete) ? TickResult::success : TickResult::partial;
  if (wanted == 0 && !m_stop.stop_requested())
    result = TickResult::success; // the window lies past the market's end
  maintain_partitions();
  m_report.tick_finished(result, seconds_since(tick_start), loaded, wanted, drain,
                         m_clock.wall_now());
  return result;
}

std::vector<Pipeline::FetchOutcome> Pipeline::fetch_plan(const TickPlan& plan, std::int64_t budget,
                                                         SteadyTime deadline, std::size_t& wanted) {
  const auto& currencies = m_options.vs_currencies;
  std::vector<FetchOutcome> fetched;
  // Each run of one currency's pages in the plan is one snapshot of that currency.
  for (std::size_t i = 0; i < plan.calls.size();) {
    std::size_t j = i;
    while (j < plan.calls.size() && plan.calls[j].currency == plan.calls[i].currency) ++j;
    const std::size_t currency = plan.calls[i].currency;
    const int first = plan.calls[i].page;
    const int last = std::min(plan.calls[j - 1].page, m_market_end[currency]);
    i = j;
    if (m_stop.stop_requested()) break;
    if (first > last) continue; // past the end of this currency's market in this sweep
    if (budget <
        static_cast<std::int64_t>(m_options.pages) * static_cast<std::int64_t>(currencies.size()))
      spdlog::debug("rolling sweep: {} pages {}-{} of {}", currencies[currency], first, last,
                    m_options.pages);
    ++wanted;
    fetched.push_back(fetch_snapshot(currency, first, last, deadline));
  }
  return fetched;
}

void Pipeline::maintain_partitions() {
  if (!m_store.maintains_partitions() || m_stop.stop_requested()) return;
  const auto now = m_clock.steady_now();
  if (m_partitions_next && now < *m_partitions_next) return;
  if (!ensure_schema()) return; // the partition functions come with the migrations
  auto report = m_store.maintain_partitions(m_options.partition_policy);
  if (!report) {
    m_report.partitions_failed(report.error());
    m_partitions_next = now + std::chrono::minutes(5);
    return;
  }
  m_report.partitions_maintained(*report, m_clock.wall_now());
  m_partitions_next = now + std::chrono::hours(24);
}

void Pipeline::maintain_spool() {
  const auto now = m_clock.wall_now();
  const auto outcome =
      m_queue.maintain({m_options.spool_max_bytes, m_options.spool_max_age, m_options.retention},
                       m_spool_ages, now, m_clock.steady_now());
  m_report.spool_maintained(outcome, m_options.spool_max_bytes, m_spool_ages.wall_overstatement());
  m_report.backlog(m_queue.backlog(), now);
}

} // namespace etl::pipeline
