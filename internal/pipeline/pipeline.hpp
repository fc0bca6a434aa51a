#pragma once
// One tick: for each currency fetch its pages -> spool each body to raw/ -> transform into
// processed/ -> then load the pending queue (oldest first, this tick's snapshots last) into
// PostgreSQL, one transaction per snapshot. Every stage reports what happened through the
// Reporter (metrics, health, tick summary, log).
//
// The rooms: tick.cpp (the tick, spool and partition upkeep), leadership.cpp, fetch_stage.cpp
// (fetch -> spool -> transform per page), live_load.cpp (a fresh snapshot loaded while fetched),
// load_stage.cpp (the pending queue and the one failure path of both load routes), reporter*.cpp.
// The pipeline reaches the world only through the seams (seams.hpp) and a Clock.
#include "core/clock.hpp"
#include "core/sha256.hpp"
#include "core/stop_signal.hpp"
#include "market/parse_markets.hpp"
#include "pipeline/processed_writer.hpp"
#include "pipeline/reporter.hpp"
#include "pipeline/seams.hpp"
#include "pipeline/sweep.hpp"

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
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
  // coin_market partitions kept ahead (and old ones dropped) by the leader, at its first tick
  // and then daily, when the store maintains partitions.
  db::PartitionPolicy partition_policy{};
};

// What happened to one snapshot's load.
// db_refused: the server refused the operation, not the data (read-only, privileges...).
enum class LoadStatus {
  loaded,
  already_loaded,
  quarantined,
  db_unavailable,
  db_refused,
  spool_error,
  skipped
};

class Pipeline {
public:
  Pipeline(PipelineOptions options, PageSource& source, SnapshotQueue& queue, SnapshotStore& store,
           telemetry::Metrics& metrics, telemetry::HealthState& health, StopSignal& stop,
           const Clock& clock = system_clock());

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
    bool complete = false; // every wanted page arrived (or a short page ended the sweep)
  };
  // Fetches pages [first_page, last_page] of one currency as one snapshot; stops early at a
  // short page (the end of the market), recorded in m_market_end for the rest of the sweep.
  FetchOutcome fetch_snapshot(std::size_t currency, int first_page, int last_page,
                              SteadyTime deadline);
  struct FetchState; // one snapshot's fetch in progress (fetch_stage.cpp)
  // The body reaches the queue before anything else happens to it; false: the snapshot ends.
  bool spool_page(FetchState& state, int page, std::string_view body);
  // Parse, processed file, live load; false: a short page ended the market.
  bool transform_page(FetchState& state, int page, std::string_view body);
  // A page whose bytes were seen before: its records copied from the earlier processed file and
  // the page loaded as already stored, without a parse. The coins it holds, or nullopt when the
  // page must be parsed (no live load, not seen, the file gone, the database cannot vouch).
  std::optional<std::size_t> reuse_page(FetchState& state, int page, std::string_view body,
                                        const core::Sha256& digest, SteadyTime start);
  bool end_of_page(FetchState& state, int page, std::size_t received);
  // The fetched pages of one tick's plan, one snapshot per run of a currency's pages.
  std::vector<FetchOutcome> fetch_plan(const TickPlan& plan, std::int64_t budget,
                                       SteadyTime deadline, std::size_t& wanted);
  // Leader election: true when this process may fetch now.
  bool refresh_leadership();
  void maintain_partitions();
  double seconds_since(SteadyTime start) const;

  LoadStatus load_snapshot(const std::string& snapshot_id);
  // The one failure path of both load routes (the queue's and the live load). Quarantines on
  // the queue's route only: a live load leaves refused data to the queue, which owns that call.
  enum class Route { spool, live };
  LoadStatus load_failed(const std::string& snapshot_id, const db::DbError& error, double took,
                         Route route);
  // The success tail shared by both load routes: acknowledge, report (loaded_from: "memory" for
  // a live load, "spool" for the raw files on disk). `missing_pages`: the snapshot has fewer
  // pages than its sweep planned (status "partial").
  LoadStatus record_load(const std::string& snapshot_id, const db::LoadResult& committed,
                         std::string_view status, std::string_view missing_pages, double took,
                         std::string_view loaded_from);
  LoadStatus load_under_new_id(const std::string& snapshot_id, const db::SnapshotMeta& meta);
  struct QueuedPages; // what the raw pages of a queued snapshot added (load_stage.cpp)
  // Error: the database's, or nullopt when a raw page could not be read (reported here).
  tl::expected<QueuedPages, std::optional<db::DbError>>
  add_queued_pages(const std::string& snapshot_id, SnapshotTransaction& load,
                   const std::vector<spool::RawPageRef>& pages, SteadyTime start);

  // A fresh snapshot loaded while it is fetched: each page goes into the open transaction right
  // after it is spooled and parsed (one parse per page instead of two, and the commit follows
  // the last page at once). Only the clean path commits here; anything unusual drops the
  // transaction and leaves the snapshot to the pending queue, whose disk path stays the
  // reference (it loads the same spooled pages with the same fetched_at).
  struct LiveLoad {
    std::unique_ptr<SnapshotTransaction> load;
    std::string snapshot_id;
    spool::SnapshotPlan plan;  // what the sweep planned, as in the pending marker
    double db_seconds = 0;     // time spent in the database, reported as the load stage
    std::int64_t rejected = 0; // coins rejected by the parser or PostgreSQL in the pages added
    std::vector<int> pages;    // page numbers added
    std::size_t last_page_coins = 0; // coins (valid or rejected) in the last page added
  };
  std::optional<LiveLoad> begin_live_load(const std::string& snapshot_id,
                                          const spool::SnapshotPlan& plan);
  bool add_live_page(LiveLoad& live, int page, std::string_view body, const core::Sha256& digest,
                     const market::ParsedPage& parsed);
  void commit_live_load(LiveLoad& live);

  PipelineOptions m_options;
  PageSource& m_source;
  SnapshotQueue& m_queue;
  SnapshotStore& m_store;
  Reporter m_report;
  StopSignal& m_stop;
  const Clock& m_clock;
  bool m_schema_ready = false;
  spool::SnapshotAges m_spool_ages; // SPOOL_MAX_AGE / RETENTION ages a clock jump cannot inflate
  // Rolling sweep state (in memory: a restart begins a new sweep at page 1).
  std::size_t m_sweep_cursor = 0;
  std::vector<int> m_market_end;    // per currency: last page worth asking for in this sweep
  std::optional<bool> m_was_leader; // unknown before the first refresh
  std::optional<SteadyTime> m_partitions_next; // when maintenance is due (unset: now)
  // Loads refused by the server (not the data) back off: 1 s, 2 s, 4 s ... up to a minute
  // between attempts, so a read-only database is not hammered, yet recovery is noticed soon.
  int m_refused_streak = 0;
  std::optional<SteadyTime> m_load_not_before;
  // The last body of each (currency, page) with no coin rejected, and where its records are in a
  // committed processed file: the same bytes again are not parsed (reuse_page). One entry per
  // page of the sweep and currency.
  struct SeenPage {
    core::Sha256 digest{};
    std::string snapshot_id;
    ProcessedWriter::Chunk records;
    std::size_t coins = 0;
  };
  std::map<std::pair<std::size_t, int>, SeenPage> m_seen_pages;
};

} // namespace etl::pipeline
