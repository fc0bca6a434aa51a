// The load stage: a pending snapshot's raw pages -> one PostgreSQL transaction, and the one
// failure path of both load routes (this one and the live load).
// Used for fresh snapshots, the backlog after an outage, start-up, and `replay` alike, so the
// replay path is the normal path. Raw pages are re-read from the queue one at a time, which
// keeps memory bounded by a page however long the backlog is.
#include "pipeline/pipeline.hpp"

#include <spdlog/spdlog.h>

namespace etl::pipeline {

struct Pipeline::QueuedPages {
  std::string body_error;
  std::int64_t bad_bodies = 0;
  std::int64_t rejected = 0;
  std::optional<std::size_t> last_page_coins; // of the highest page, when it parsed
};

LoadStatus Pipeline::load_snapshot(const std::string& snapshot_id) {
  const auto start = m_clock.steady_now();
  const auto name = spool::parse_snapshot_id(snapshot_id);
  const auto pages = m_queue.raw_pages(snapshot_id);
  if (!name || pages.empty()) {
    // The process stopped between marking and writing the first page: nothing was received.
    spdlog::warn("snapshot {} has no raw pages; removing it from the queue", snapshot_id);
    (void)m_queue.acknowledge(snapshot_id);
    return LoadStatus::skipped;
  }
  const db::SnapshotMeta meta{snapshot_id, name->vs_currency, name->time,
                              m_queue.first_page_time(snapshot_id, name->time)};
  auto load = m_store.begin_snapshot(meta);
  if (!load) return load_failed(snapshot_id, load.error(), seconds_since(start), Route::spool);
  if ((*load)->id_taken_by_another_snapshot()) {
    load->reset(); // end the transaction first
    return load_under_new_id(snapshot_id, meta);
  }
  auto added = add_queued_pages(snapshot_id, **load, pages, start);
  if (!added && !added.error())
    return LoadStatus::spool_error; // stays pending; the transaction rolls back
  if (!added) return load_failed(snapshot_id, *added.error(), seconds_since(start), Route::spool);

  // A sweep interrupted between pages (a failed page, a signal, a crash) left fewer pages than
  // it planned: the rows that arrived load, and the snapshot says it is partial and what is
  // missing.
  const spool::SnapshotPlan plan = m_queue.plan(snapshot_id).value_or(spool::SnapshotPlan{});
  std::vector<int> present;
  present.reserve(pages.size());
  for (const auto& page : pages) present.push_back(page.page);
  const auto missing = spool::missing_pages(plan, present, added->last_page_coins);
  const std::string missing_error = spool::missing_pages_error(plan, missing);
  std::string error = added->body_error;
  if (!missing_error.empty()) error.append(error.empty() ? "" : "; ").append(missing_error);

  const bool nothing_loadable = added->bad_bodies == static_cast<std::int64_t>(pages.size());
  const bool partial = added->bad_bodies > 0 || added->rejected > 0 || !missing.empty();
  const std::string_view status = nothing_loadable ? "rejected" : partial ? "partial" : "loaded";
  auto committed = (*load)->commit(status, error);
  if (!committed && (*load)->id_taken_by_another_snapshot()) {
    load->reset();
    return load_under_new_id(snapshot_id, meta);
  }
  if (!committed)
    return load_failed(snapshot_id, committed.error(), seconds_since(start), Route::spool);
  return record_load(snapshot_id, *committed, status, missing_error, seconds_since(start), "spool");
}

tl::expected<Pipeline::QueuedPages, std::optional<db::DbError>>
Pipeline::add_queued_pages(const std::string& snapshot_id, SnapshotTransaction& load,
                           const std::vector<spool::RawPageRef>& pages, SteadyTime start) {
  QueuedPages out;
  for (const auto& page : pages) {
    out.last_page_coins.reset();
    auto body = m_queue.read_raw_page(page);
    if (!body) {
      m_report.load_read_failed(snapshot_id, page.path, body.error().message, seconds_since(start));
      return tl::make_unexpected(std::nullopt);
    }
    auto parsed = market::parse_markets(*body);
    if (!parsed) {
      ++out.bad_bodies;
      out.body_error = "page ";
      out.body_error.append(std::to_string(page.page)).append(": ");
      out.body_error.append(market::to_string(parsed.error().kind))
          .append(": ")
          .append(parsed.error().detail);
      continue;
    }
    out.rejected += static_cast<std::int64_t>(parsed->rejected_count);
    out.last_page_coins = parsed->received();
    auto added = load.add_page(page.page, *body, parsed->coins,
                               static_cast<std::int64_t>(parsed->rejected_count), nullptr);
    if (!added) return tl::make_unexpected(std::optional<db::DbError>(added.error()));
    out.rejected += static_cast<std::int64_t>(added->rejected_rows.size());
    m_report.rows_refused(snapshot_id, page.page, *added);
  }
  return out;
}

// Another poll (another process or DATA_DIR, same second) committed this id first. This is
// different data, not a replay: give it a millisecond id from its own fetch time and load it.
LoadStatus Pipeline::load_under_new_id(const std::string& snapshot_id,
                                       const db::SnapshotMeta& meta) {
  const std::string renamed =
      spool::make_snapshot_id(meta.fetched_at, meta.vs_currency, /*with_millis=*/true);
  if (renamed == snapshot_id || m_queue.is_pending(renamed)) {
    spdlog::error("snapshot {}: its id is taken by another snapshot and {} is too; left pending",
                  snapshot_id, renamed);
    return LoadStatus::spool_error;
  }
  if (auto ok = m_queue.rename_pending(snapshot_id, renamed); !ok) {
    spdlog::error("snapshot {}: cannot rename to {}: {}", snapshot_id, renamed, ok.error().message);
    return LoadStatus::spool_error;
  }
  spdlog::warn("snapshot id {} was already used by another poll; loading this one as {}",
               snapshot_id, renamed);
  return load_snapshot(renamed);
}

LoadStatus Pipeline::load_failed(const std::string& snapshot_id, const db::DbError& e, double took,
                                 Route route) {
  // A connection that died mid-COPY can surface as a plain libpq write error with no SQLSTATE
  // ("internal"); with the connection gone it is an outage, not a poison snapshot.
  const bool outage = e.kind == db::DbError::Kind::unavailable ||
                      (e.kind == db::DbError::Kind::internal && !m_store.connected());
  // A live load reports outages and refusals as the queue would (its retry may then succeed
  // quietly, or back off); anything else is left for the queue to meet again and report once,
  // with the quarantine decision it owns.
  if (route == Route::live && !outage && e.kind != db::DbError::Kind::refused) {
    spdlog::debug("snapshot {}: live load stopped ({}); left to the pending queue", snapshot_id,
                  e.message);
    return LoadStatus::skipped;
  }
  // An outage is counted as one whatever surfaced it: a backend killed mid-COPY can arrive as a
  // libpq write error ("internal") rather than a broken connection.
  m_report.load_failed(
      outage ? db::to_string(db::DbError::Kind::unavailable) : db::to_string(e.kind), took);
  if (e.kind == db::DbError::Kind::rejected) {
    // The database refused this snapshot's data: retrying cannot help, and it must not block
    // the snapshots queued behind it. Its files stay on disk under quarantine/ for a human.
    m_report.snapshot_quarantined(snapshot_id, e, took);
    std::string reason(db::to_string(e.kind));
    reason.append(" (SQLSTATE ").append(e.sqlstate).append("): ").append(e.message);
    if (auto ok = m_queue.quarantine(snapshot_id, reason); !ok)
      spdlog::error("cannot quarantine {}: {}", snapshot_id, ok.error().message);
    return LoadStatus::quarantined;
  }
  if (outage) {
    m_report.load_unavailable(snapshot_id, e, took);
    return LoadStatus::db_unavailable;
  }
  // The server is reachable but refuses the operation (read-only after a failover, a revoked
  // privilege, a missing table, a lock timeout) or the client failed: not this snapshot's data.
  // It stays pending, readiness says why, and loads back off until an attempt succeeds.
  m_store.disconnect(); // the next attempt opens a new session (after a failover: the new primary)
  m_refused_streak = std::min(m_refused_streak + 1, 7);
  m_load_not_before =
      m_clock.steady_now() +
      std::min(std::chrono::seconds(1LL << (m_refused_streak - 1)), std::chrono::seconds(60));
  m_report.load_refused(snapshot_id, e, took, m_refused_streak);
  return LoadStatus::db_refused;
}

LoadStatus Pipeline::record_load(const std::string& snapshot_id, const db::LoadResult& committed,
                                 std::string_view status, std::string_view missing_pages,
                                 double took, std::string_view loaded_from) {
  if (auto ok = m_queue.acknowledge(snapshot_id); !ok)
    spdlog::error("snapshot {} loaded but its pending marker stays ({}); a replay will be a no-op",
                  snapshot_id, ok.error().message);
  if (m_refused_streak > 0) m_report.loads_accepted_again();
  m_refused_streak = 0;
  m_load_not_before.reset();
  m_report.snapshot_loaded(snapshot_id, committed, status, missing_pages, took, loaded_from,
                           m_clock.wall_now());
  return committed.already_loaded ? LoadStatus::already_loaded : LoadStatus::loaded;
}

DrainSummary Pipeline::drain_pending(SteadyTime deadline, int min_loads) {
  DrainSummary summary;
  auto ids = m_queue.pending();
  summary.remaining = static_cast<int>(ids.size());
  if (ids.empty()) return summary;
  // db_up is set by what reaches the server (migrations, a commit), never assumed here: with
  // the schema already applied, ensure_schema() does not touch the database.
  if (!ensure_schema()) {
    summary.db_unavailable = true;
    return summary;
  }
  if (m_load_not_before && m_clock.steady_now() < *m_load_not_before) { // backing off a refusal
    summary.db_refused = true;
    return summary;
  }
  int attempts = 0;
  for (const auto& id : ids) {
    if (m_stop.stop_requested() || (attempts >= min_loads && m_clock.steady_now() >= deadline))
      break;
    ++attempts;
    const LoadStatus status = load_snapshot(id);
    if (status == LoadStatus::db_unavailable || status == LoadStatus::db_refused) {
      (status == LoadStatus::db_unavailable ? summary.db_unavailable : summary.db_refused) = true;
      break;
    }
    if (status == LoadStatus::loaded || status == LoadStatus::already_loaded) ++summary.loaded;
    if (status == LoadStatus::quarantined) {
      ++summary.quarantined;
      summary.not_loaded.push_back(id);
    }
    if (status != LoadStatus::spool_error) --summary.remaining;
  }
  return summary;
}

} // namespace etl::pipeline
