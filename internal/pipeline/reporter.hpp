#pragma once
// Every pipeline event in one call: each method updates the metrics, the health state (readiness
// and /status), the tick summary and the log together, so the stages say what happened and the
// reporting rules (labels, log-once streaks, levels) live in one room.
#include "coingecko/api_caller.hpp"
#include "db/database.hpp"
#include "db/partitions.hpp"
#include "market/parse_markets.hpp"
#include "spool/spool.hpp"
#include "telemetry/health.hpp"
#include "telemetry/metrics.hpp"
#include "telemetry/status.hpp"

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace etl::pipeline {

// standby: another replica is the leader; this tick only kept the lock attempt and the local
// backlog going (not counted in ticks_total).
enum class TickResult { success, partial, failed, standby };
std::string_view to_string(TickResult r) noexcept; // metric label values

struct DrainSummary {
  int loaded = 0;
  int quarantined = 0;
  bool db_unavailable = false;
  bool db_refused = false; // loads stopped (or are backing off) because the server refuses them
  int remaining = 0;
  std::vector<std::string> not_loaded; // attempted but quarantined: their data is not in PostgreSQL
};

class Reporter {
public:
  using SysTime = std::chrono::system_clock::time_point;
  Reporter(telemetry::Metrics& metrics, telemetry::HealthState& health)
      : m_metrics(metrics), m_health(health) {}

  // The tick.
  void tick_started(SysTime now);
  void standby_finished(double took, SysTime now);
  void tick_finished(TickResult result, double took, std::size_t loaded, std::size_t wanted,
                     const DrainSummary& drain, SysTime now);

  // The database and the leader lock.
  void db_up(bool up);
  void migrations_deferred(const db::DbError& e);
  void migrations_failed(const db::DbError& e);
  void migrations_applied(int applied, const std::optional<std::filesystem::path>& dir);
  // `error` set: the lock could not be asked for (`provisional`: polling on as the last leader).
  void leader_refreshed(bool leader, const db::DbError* error, bool provisional);
  // `was`: the role before (unknown at the first refresh).
  void leadership_changed(bool leader, std::optional<bool> was, int backend_pid);
  void partitions_failed(const db::DbError& e);
  void partitions_maintained(const db::PartitionReport& report, SysTime now);

  // The fetch stage, per page.
  void page_fetched(double took);
  // `stopping`: a cancelled fetch during shutdown is counted but not a problem.
  void page_failed(const std::string& vs_currency, int page, const coingecko::FetchError& e,
                   double took, bool stopping);
  void spool_failed(const std::string& snapshot_id, int page, std::string_view what,
                    const std::string& error, double took);
  void page_spooled(double took);
  void body_rejected(const std::string& snapshot_id, int page, const market::BodyError& e,
                     double took);
  void page_transformed(const std::string& snapshot_id, int page, const market::ParsedPage& parsed,
                        double took);
  // A page with the bytes of one loaded before: its records copied, not parsed (fetch_stage.cpp).
  void page_reused(std::size_t coins, double took);

  // The load stage.
  void load_failed(std::string_view kind, double took);
  void snapshot_quarantined(const std::string& snapshot_id, const db::DbError& e, double took);
  void load_unavailable(const std::string& snapshot_id, const db::DbError& e, double took);
  void load_refused(const std::string& snapshot_id, const db::DbError& e, double took, int attempt);
  void load_read_failed(const std::string& snapshot_id, const std::filesystem::path& path,
                        const std::string& error, double took);
  void rows_refused(const std::string& snapshot_id, int page, const db::PageResult& result);
  void snapshot_loaded(const std::string& snapshot_id, const db::LoadResult& committed,
                       std::string_view status, std::string_view missing_pages, double took,
                       std::string_view loaded_from, SysTime now);
  void loads_accepted_again();

  // The spool.
  void spool_maintained(const spool::MaintainOutcome& outcome, std::uint64_t max_bytes,
                        std::chrono::seconds wall_overstatement);
  void backlog(const spool::Backlog& backlog, SysTime now);

private:
  telemetry::Metrics& m_metrics;
  telemetry::HealthState& m_health;
  telemetry::TickReport m_tick;     // the tick in progress, per stage; published for /status
  std::string m_last_fetch_problem; // persistent failures are logged once per streak
  std::string m_leader_problem;
  std::string m_refused_problem;
  bool m_eviction_logged = false;
  std::chrono::seconds m_clock_overstatement_logged{0};
};

} // namespace etl::pipeline
