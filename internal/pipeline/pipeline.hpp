#pragma once
// One tick: for each currency fetch its pages -> spool each body to raw/ -> transform into
// processed/ -> then load the pending queue (oldest first, this tick's snapshots last) into
// PostgreSQL, one transaction per snapshot. Every stage reports outcome and duration to
// Metrics and HealthState, and logs one line per snapshot.
#include "coingecko/markets_client.hpp"
#include "core/stop_signal.hpp"
#include "db/database.hpp"
#include "db/leader_lock.hpp"
#include "db/partitions.hpp"
#include "market/parse_markets.hpp"
#include "pipeline/sweep.hpp"
#include "spool/spool.hpp"
#include "telemetry/health.hpp"
#include "telemetry/metrics.hpp"

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace etl::pipeline {

using SteadyTime = std::chrono::steady_clock::time_point;

struct PipelineOptions {
  std::vector<std::string> vs_currencies{"usd"};
  int per_page = 100;
  int pages = 1;
  std::optional<std::filesystem::path>
      migrations_dir; // nullopt: the migrations built into the binary
  std::uint64_t spool_max_bytes = 1ull << 30;
  std::chrono::seconds spool_max_age{7 * 24 * 3600};
  std::chrono::seconds retention{7 * 24 * 3600};
  // Calls a tick may make (Pacing::budget_per_tick); 0 = no limit. When PAGES x currencies is
  // more, the pages are spread over consecutive ticks (a rolling sweep, see sweep.hpp).
  std::int64_t calls_per_tick_budget = 0;
  // Optional, owned by the caller. With a leader lock only the replica holding it fetches;
  // without one this process is the only poller.
  db::LeaderLock* leader_lock = nullptr;
  // Optional, owned by the caller: coin_market partitions kept ahead (and old ones dropped),
  // by the leader, at its first tick and then daily.
  db::PartitionMaintainer* partitions = nullptr;
  db::PartitionPolicy partition_policy{};
};

// standby: another replica is the leader; this tick only kept the lock attempt and the local
// backlog going (not counted in ticks_total).
enum class TickResult { success, partial, failed, standby };
std::string_view to_string(TickResult r) noexcept; // metric label values

// What happened to one snapshot's load.
// db_refused: the server refused the operation, not the data (read-only, privileges...).
enum class LoadStatus { loaded, already_loaded, quarantined, db_unavailable, db_refused, spool_error, skipped };

struct DrainSummary {
  int loaded = 0;
  int quarantined = 0;
  bool db_unavailable = false;
  bool db_refused = false; // loads stopped (or are backing off) because the server refuses them
  int remaining = 0;
  std::vector<std::string> not_loaded; // attempted but quarantined: their data is not in PostgreSQL
};

class Pipeline {
public:
  Pipeline(PipelineOptions options, coingecko::MarketsClient& client, spool::Spool& spool,
           db::Database& database, telemetry::Metrics& metrics, telemetry::HealthState& health,
           StopSignal& stop);

  // Applies pending migrations once per process; re-tried on later calls while it fails.
  bool ensure_schema();

  // One full tick (all currencies, then the backlog). `deadline` is the next tick's start.
  TickResult tick(SteadyTime deadline);

  // Loads every pending snapshot, oldest first, until done, the database is unavailable,
  // stop is requested, or `deadline` passes -- but only after `min_loads` attempts: a tick whose
  // fetch overran the interval must still load more snapshots than it fetched, or the backlog
  // would grow without bound while the loop looks busy.
  DrainSummary drain_pending(SteadyTime deadline, int min_loads = 0);

  // Updates backlog gauges and readiness inputs; enforces spool bounds and retention.
  void maintain_spool();

private:
  struct FetchOutcome {
    std::string snapshot_id; // empty when nothing was received
    int pages_saved = 0;
    bool complete = false;   // every wanted page arrived (or a short page ended the sweep)
  };
  // Fetches pages [first_page, last_page] of one currency as one snapshot; stops early at a
  // short page (the end of the market), recorded in m_market_end for the rest of the sweep.
  FetchOutcome fetch_snapshot(std::size_t currency, int first_page, int last_page, SteadyTime deadline);
  // Leader election: true when this process may fetch now. Updates the gauge, health, logs.
  bool refresh_leadership();
  void maintain_partitions();
  LoadStatus load_snapshot(const std::string& snapshot_id);
  LoadStatus load_refused(const std::string& snapshot_id, const db::DbError& error, double took);
  // The success tail shared by both load paths: acknowledge, metrics, health, one log line
  // (loaded_from: "memory" for a live load, "spool" for the raw files on disk).
  // `missing_pages`: the snapshot has fewer pages than its sweep planned (status "partial").
  LoadStatus record_load(const std::string& snapshot_id, const db::LoadResult& committed, std::string_view status,
                         std::string_view missing_pages, double took, std::string_view loaded_from);

  // A fresh snapshot loaded while it is fetched: each page goes into the open transaction right
  // after it is spooled and parsed (one parse per page instead of two, and the commit follows
  // the last page at once). Only the clean path commits here; anything unusual drops the
  // transaction and leaves the snapshot to the pending queue, whose disk path stays the
  // reference (it loads the same spooled pages with the same fetched_at).
  struct LiveLoad {
    db::SnapshotLoad load;
    std::string snapshot_id;
    spool::SnapshotPlan plan;   // what the sweep planned, as in the pending marker
    double db_seconds = 0;      // time spent in the database, reported as the load stage
    std::int64_t rejected = 0;  // coins rejected by the parser or PostgreSQL in the pages added
    std::vector<int> pages;     // page numbers added
    std::size_t last_page_coins = 0; // coins (valid or rejected) in the last page added
  };
  std::optional<LiveLoad> begin_live_load(const std::string& snapshot_id, const std::filesystem::path& first_page,
                                          const spool::SnapshotPlan& plan);
  bool add_live_page(LiveLoad& live, int page, std::string_view body, const market::ParsedPage& parsed);
  void commit_live_load(LiveLoad& live);
  void live_load_failed(const LiveLoad& live, const db::DbError& error);
  void write_processed(const std::string& snapshot_id, const std::string& vs_currency);

  PipelineOptions m_options;
  coingecko::MarketsClient& m_client;
  spool::Spool& m_spool;
  db::Database& m_db;
  telemetry::Metrics& m_metrics;
  telemetry::HealthState& m_health;
  StopSignal& m_stop;
  bool m_schema_ready = false;
  spool::SnapshotAges m_spool_ages; // SPOOL_MAX_AGE / RETENTION ages a clock jump cannot inflate
  bool m_eviction_logged = false;
  std::chrono::seconds m_clock_overstatement_logged{0};
  std::string m_last_fetch_problem;
  telemetry::TickReport m_tick_report; // the tick in progress, per stage; published for /status
  // Rolling sweep state (in memory: a restart begins a new sweep at page 1).
  std::size_t m_sweep_cursor = 0;
  std::vector<int> m_market_end; // per currency: last page worth asking for in this sweep
  std::optional<bool> m_was_leader; // unknown before the first refresh
  std::string m_leader_problem;     // logged once per streak
  std::optional<SteadyTime> m_partitions_next; // when maintenance is due (unset: now)
  // Loads refused by the server (not the data) back off: 1 s, 2 s, 4 s ... up to a minute
  // between attempts, so a read-only database is not hammered, yet recovery is noticed soon.
  int m_refused_streak = 0;
  std::optional<SteadyTime> m_load_not_before;
  std::string m_refused_problem; // logged once per streak
};

} // namespace etl::pipeline
