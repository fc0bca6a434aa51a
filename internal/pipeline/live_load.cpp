// The live load: a fresh snapshot loaded while it is fetched (see LiveLoad in pipeline.hpp).
// Its failures go through the load stage's one failure path (Route::live).
#include "pipeline/pipeline.hpp"

namespace etl::pipeline {

std::optional<Pipeline::LiveLoad> Pipeline::begin_live_load(const std::string& snapshot_id,
                                                            const spool::SnapshotPlan& plan) {
  // Never connect or migrate from inside the fetch loop (a dead database would stall fetching
  // by the connect timeout); never jump the queue: older snapshots load first, from disk.
  if (!m_schema_ready || !m_store.connected()) return std::nullopt;
  const auto pending = m_queue.pending();
  if (pending.size() != 1 || pending.front() != snapshot_id) return std::nullopt;
  const auto name = spool::parse_snapshot_id(snapshot_id);
  if (!name) return std::nullopt;
  // fetched_at as the disk path computes it (the first raw page's time), so a replay of this
  // snapshot is recognised as the same snapshot.
  const db::SnapshotMeta meta{snapshot_id, name->vs_currency, name->time,
                              m_queue.first_page_time(snapshot_id, name->time)};
  const auto start = m_clock.steady_now();
  auto load = m_store.begin_snapshot(meta);
  const double took = seconds_since(start);
  if (!load || (*load)->id_taken_by_another_snapshot())
    return std::nullopt; // the queue handles both
  return LiveLoad{std::move(*load), snapshot_id, plan, took, 0, {}, 0};
}

bool Pipeline::add_live_page(LiveLoad& live, int page, std::string_view body,
                             const core::Sha256& digest, const market::ParsedPage& parsed) {
  const auto start = m_clock.steady_now();
  const auto rejected = static_cast<std::int64_t>(parsed.rejected_count);
  auto added = live.load->add_page(page, body, parsed.coins, rejected, &digest);
  live.db_seconds += seconds_since(start);
  live.rejected += rejected;
  live.pages.push_back(page);
  live.last_page_coins = parsed.received();
  if (!added) {
    load_failed(live.snapshot_id, added.error(), live.db_seconds, Route::live);
    return false;
  }
  live.rejected += static_cast<std::int64_t>(added->rejected_rows.size());
  m_report.rows_refused(live.snapshot_id, page, *added);
  return true;
}

void Pipeline::commit_live_load(LiveLoad& live) {
  const auto start = m_clock.steady_now();
  // No page of a live load is a bad body (that abandons it), so this is the disk path's status
  // and error, from the same plan and pages.
  const auto missing = spool::missing_pages(live.plan, live.pages, live.last_page_coins);
  const std::string missing_error = spool::missing_pages_error(live.plan, missing);
  const std::string_view status = live.rejected > 0 || !missing.empty() ? "partial" : "loaded";
  auto committed = live.load->commit(status, missing_error);
  if (!committed) {
    load_failed(live.snapshot_id, committed.error(), live.db_seconds, Route::live);
    return;
  }
  record_load(live.snapshot_id, *committed, status, missing_error,
              live.db_seconds + seconds_since(start), "memory");
}

} // namespace etl::pipeline
