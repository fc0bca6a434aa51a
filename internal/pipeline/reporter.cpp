// The tick, database, leadership and spool events. The per-page events are in reporter_stages.cpp.
#include "pipeline/reporter.hpp"

#include "db/migrations.hpp"
#include "telemetry/logging.hpp"

#include <cmath>

#include <spdlog/spdlog.h>

namespace etl::pipeline {
namespace {

using Seconds = std::chrono::duration<double>;
// A host clock this far from PostgreSQL's is logged as a warning at each partition pass.
constexpr auto kClockSkewWarning = std::chrono::minutes(5);

double unix_seconds(std::chrono::system_clock::time_point t) {
  return Seconds(t.time_since_epoch()).count();
}

} // namespace

std::string_view to_string(TickResult r) noexcept {
  switch (r) {
  case TickResult::success: return "success";
  case TickResult::partial: return "partial";
  case TickResult::failed: return "failed";
  case TickResult::standby: return "standby";
  }
  return "failed";
}

void Reporter::tick_started(SysTime now) {
  m_tick = telemetry::TickReport{};
  m_tick.started_at = now;
}

void Reporter::standby_finished(double took, SysTime now) {
  m_tick.result = to_string(TickResult::standby);
  m_tick.duration_seconds = took;
  m_health.tick_finished(m_tick, now);
}

void Reporter::tick_finished(TickResult result, double took, std::size_t loaded, std::size_t wanted,
                             const DrainSummary& drain, SysTime now) {
  m_metrics.tick(to_string(result)).Increment();
  m_metrics.tick_duration.Observe(took);
  if (result == TickResult::success) m_metrics.last_success.Set(unix_seconds(now));
  m_tick.result = to_string(result);
  m_tick.duration_seconds = took;
  m_health.tick_finished(m_tick, now);
  telemetry::log_event(spdlog::level::info, "tick " + std::string(to_string(result)),
                       {{"result", to_string(result)},
                        {"loaded", loaded},
                        {"wanted", wanted},
                        {"backlog", drain.remaining},
                        {"database", drain.db_unavailable ? "unavailable"
                                     : drain.db_refused   ? "refusing"
                                                          : "ok"},
                        telemetry::duration_ms(took)});
}

void Reporter::db_up(bool up) {
  m_metrics.db_up.Set(up ? 1 : 0);
  m_health.set_db_up(up);
}

void Reporter::migrations_deferred(const db::DbError& e) {
  db_up(false);
  spdlog::warn("database unavailable, migrations deferred: {}", e.message);
}

void Reporter::migrations_failed(const db::DbError& e) {
  spdlog::error("migrations failed ({}): {}", db::to_string(e.kind), e.message);
}

void Reporter::migrations_applied(int applied, const std::optional<std::filesystem::path>& dir) {
  if (applied > 0)
    spdlog::info("applied {} migration(s) from {}", applied, db::describe_migration_source(dir));
  db_up(true);
}

void Reporter::leader_refreshed(bool leader, const db::DbError* error, bool provisional) {
  if (error == nullptr) {
    m_leader_problem.clear();
    db_up(true);
  } else {
    // Not knowing is not leading: stand by until the lock can be asked for again.
    if (error->message != m_leader_problem)
      spdlog::warn("leader election: cannot reach PostgreSQL ({}): {}",
                   provisional ? "still polling into the spool as the last leader" : "standing by",
                   error->message);
    m_leader_problem = error->message;
    db_up(false);
  }
  m_metrics.leader.Set(leader ? 1 : 0);
  m_health.set_role(leader ? "leader" : "standby");
}

void Reporter::leadership_changed(bool leader, std::optional<bool> was, int backend_pid) {
  if (leader)
    spdlog::info("leader election: this process is the leader now (lock session pid {})",
                 backend_pid);
  else if (was.value_or(false))
    spdlog::warn("leader election: leadership lost; fetching stops until the lock is held again");
  else spdlog::info("leader election: standing by (another replica is the leader)");
}

void Reporter::partitions_failed(const db::DbError& e) {
  spdlog::error("coin_market partition maintenance failed (retried in 5 minutes): {}", e.message);
}

void Reporter::partitions_maintained(const db::PartitionReport& report, SysTime now) {
  // Retention followed the database's clock; a host clock far from it is worth an operator's
  // attention (it also names the spool's files and sets fetched_at).
  const auto skew = now - report.clock;
  if (skew > kClockSkewWarning || skew < -kClockSkewWarning)
    spdlog::warn(
        "CLOCK SKEW: this host's clock is {:.0f} s {} PostgreSQL's; partition retention follows "
        "the "
        "database clock and never drops data newer than the newest loaded minus the retention",
        std::abs(Seconds(skew).count()), skew.count() > 0 ? "ahead of" : "behind");
  const auto cutoff_text = [](const std::optional<std::chrono::system_clock::time_point>& t) {
    return t ? telemetry::iso8601_utc(*t) : std::string("none");
  };
  if (report.created > 0 || report.dropped > 0)
    spdlog::info(
        "coin_market partitions: {} created ahead, {} dropped by COIN_MARKET_RETENTION (cutoff {})",
        report.created, report.dropped, cutoff_text(report.cutoff));
  if (report.raw_created > 0 || report.raw_dropped > 0)
    spdlog::info("coin_market_raw partitions: {} created ahead, {} dropped by "
                 "COIN_MARKET_RAW_RETENTION (cutoff {})",
                 report.raw_created, report.raw_dropped, cutoff_text(report.raw_cutoff));
}

void Reporter::spool_maintained(const spool::MaintainOutcome& outcome, std::uint64_t max_bytes,
                                std::chrono::seconds wall_overstatement) {
  for (const auto& d : outcome.dropped) {
    m_metrics.snapshots_dropped.Increment();
    telemetry::log_event(spdlog::level::err,
                         "DROPPED pending snapshot " + d.snapshot_id +
                             ": its data was never loaded",
                         {{"snapshot_id", d.snapshot_id},
                          {"stage", "spool"},
                          {"error_kind", "dropped"},
                          {"bytes", d.bytes},
                          {"error", d.why}});
  }
  if (outcome.files_retired > 0)
    spdlog::info("retention: removed {} file(s) of loaded snapshots", outcome.files_retired);
  if (outcome.files_evicted > 0) {
    // Not a loss (PostgreSQL has them), but RETENTION is not what it says: say so once.
    if (!m_eviction_logged)
      spdlog::warn("spool over SPOOL_MAX_BYTES={}: removed {} file(s) of loaded snapshots before "
                   "RETENTION; the "
                   "bound counts every file in DATA_DIR (raw, processed, pending, quarantine): "
                   "raise it or lower "
                   "RETENTION (logged once)",
                   max_bytes, outcome.files_evicted);
    else
      spdlog::debug("spool over SPOOL_MAX_BYTES: removed {} file(s) of loaded snapshots",
                    outcome.files_evicted);
    m_eviction_logged = true;
  }
  // A wall clock far ahead of what the spool and the monotonic clock show: ages kept counting
  // by the latter, so nothing was dropped for it. Logged when it first appears or grows.
  const auto over = wall_overstatement;
  if (over > std::chrono::minutes(5) &&
      over > m_clock_overstatement_logged + std::chrono::minutes(5)) {
    spdlog::warn("CLOCK: the wall clock makes spooled snapshots up to {} s older than the "
                 "monotonic clock and the "
                 "newest snapshot on disk show (a clock jump forward, or the daemon was stopped); "
                 "SPOOL_MAX_AGE and "
                 "RETENTION count by the latter, so nothing is dropped for it",
                 over.count());
    m_clock_overstatement_logged = over;
  }
}

void Reporter::backlog(const spool::Backlog& backlog, SysTime now) {
  m_metrics.snapshots_pending.Set(static_cast<double>(backlog.snapshots));
  m_metrics.pending_bytes.Set(static_cast<double>(backlog.bytes));
  m_metrics.oldest_pending_age.Set(backlog.oldest ? Seconds(now - *backlog.oldest).count() : 0.0);
  m_health.set_backlog(backlog.snapshots, backlog.bytes, backlog.oldest);
}

} // namespace etl::pipeline
