// The load stage: a pending snapshot's raw pages -> one PostgreSQL transaction.
// Used for fresh snapshots, the backlog after an outage, start-up, and `replay` alike, so the
// replay path is the normal path. Raw pages are re-read from disk one at a time, which keeps
// memory bounded by a page however long the backlog is.
#include "pipeline/pipeline.hpp"

#include "market/parse_markets.hpp"
#include "telemetry/logging.hpp"

#include <sys/stat.h>

#include <spdlog/spdlog.h>

namespace etl::pipeline {
namespace {

using SteadyClock = std::chrono::steady_clock;

std::chrono::system_clock::time_point file_mtime(const std::filesystem::path& p,
                                                 std::chrono::system_clock::time_point fallback) {
  struct stat st {};
  if (::stat(p.c_str(), &st) != 0) return fallback;
  return std::chrono::system_clock::time_point{std::chrono::seconds{st.st_mtim.tv_sec} +
                                               std::chrono::nanoseconds{st.st_mtim.tv_nsec}} ;
}

// One line per page for the coins PostgreSQL refused (the rest of the page is stored): their
// ids and the first refusal's SQLSTATE and message. They are counted in rows_rejected.
void log_rows_refused(const std::string& snapshot_id, int page, const db::PageResult& result) {
  if (result.rejected_rows.empty()) return;
  std::string ids;
  for (const auto& row : result.rejected_rows) ids += (ids.empty() ? "" : ",") + row.coin_id;
  const db::RejectedRow& first = result.rejected_rows.front();
  // A check violation's DETAIL repeats the whole row: keep the line short, cut on a UTF-8 boundary.
  constexpr std::size_t kMaxMessage = 400;
  std::string_view message = first.message;
  if (message.size() > kMaxMessage) {
    std::size_t cut = kMaxMessage;
    while (cut > 0 && (static_cast<unsigned char>(message[cut]) & 0xC0) == 0x80) --cut;
    message = message.substr(0, cut);
  }
  telemetry::log_event(spdlog::level::warn, "coins refused by the database; the rest of the page is stored",
                       {{"snapshot_id", snapshot_id}, {"stage", "load"}, {"page", page},
                        {"rejected", static_cast<std::int64_t>(result.rejected_rows.size())}, {"coin_ids", ids},
                        {"error_kind", "rejected"}, {"sqlstate", first.sqlstate}, {"error", message}});
}

} // namespace

LoadStatus Pipeline::load_snapshot(const std::string& snapshot_id) {
  const auto start = SteadyClock::now();
  const auto name = spool::parse_snapshot_id(snapshot_id);
  const auto pages = m_spool.raw_pages(snapshot_id);
  if (!name || pages.empty()) {
    // The process stopped between marking and writing the first page: nothing was received.
    spdlog::warn("snapshot {} has no raw pages; removing it from the queue", snapshot_id);
    (void)m_spool.acknowledge(snapshot_id);
    return LoadStatus::skipped;
  }

  db::SnapshotMeta meta{snapshot_id, name->vs_currency, name->time, file_mtime(pages.front().path, name->time)};
  auto on_db_error = [&](const db::DbError& e) {
    const auto kind = db::to_string(e.kind);
    const double took = std::chrono::duration<double>(SteadyClock::now() - start).count();
    m_metrics.load_errors(kind).Increment();
    m_metrics.stage_duration("load").Observe(took);
    m_tick_report.load.record(took, kind);
    // The database refused this snapshot's data: retrying cannot help, and it must not block
    // the snapshots queued behind it. Its files stay on disk under quarantine/ for a human.
    if (e.kind == db::DbError::Kind::rejected) {
      const std::string reason = std::string(kind) + " (SQLSTATE " + e.sqlstate + "): " + e.message;
      telemetry::log_event(spdlog::level::err, "snapshot quarantined",
                           {{"snapshot_id", snapshot_id}, {"stage", "load"}, {"error_kind", kind},
                            {"sqlstate", e.sqlstate}, telemetry::duration_ms(took), {"error", e.message}});
      m_metrics.snapshots_quarantined.Increment();
      if (auto ok = m_spool.quarantine(snapshot_id, reason); !ok)
        spdlog::error("cannot quarantine {}: {}", snapshot_id, ok.error().message);
      return LoadStatus::quarantined;
    }
    // A connection that died mid-COPY can surface as a plain libpq write error with no SQLSTATE
    // ("internal"); with the connection gone it is an outage, not a poison snapshot.
    if (e.kind == db::DbError::Kind::unavailable || (e.kind == db::DbError::Kind::internal && !m_db.connected())) {
      m_metrics.db_up.Set(0);
      m_health.set_db_up(false);
      telemetry::log_event(spdlog::level::warn, "load deferred: database unavailable",
                           {{"snapshot_id", snapshot_id}, {"stage", "load"}, {"error_kind", kind},
                            telemetry::duration_ms(took), {"error", e.message}});
      return LoadStatus::db_unavailable;
    }
    return load_refused(snapshot_id, e, took);
  };

  auto load = m_db.begin_snapshot(meta);
  if (!load) return on_db_error(load.error());
  // Another poll (another process or DATA_DIR, same second) committed this id first. This is
  // different data, not a replay: give it a millisecond id from its own fetch time and load it.
  auto load_under_new_id = [&]() -> LoadStatus {
    { [[maybe_unused]] db::SnapshotLoad rollback = std::move(*load); } // end the transaction first
    const std::string renamed = spool::make_snapshot_id(meta.fetched_at, meta.vs_currency, /*with_millis=*/true);
    if (renamed == snapshot_id || m_spool.is_pending(renamed)) {
      spdlog::error("snapshot {}: its id is taken by another snapshot and {} is too; left pending", snapshot_id,
                    renamed);
      return LoadStatus::spool_error;
    }
    if (auto ok = m_spool.rename_pending(snapshot_id, renamed); !ok) {
      spdlog::error("snapshot {}: cannot rename to {}: {}", snapshot_id, renamed, ok.error().message);
      return LoadStatus::spool_error;
    }
    spdlog::warn("snapshot id {} was already used by another poll; loading this one as {}", snapshot_id, renamed);
    return load_snapshot(renamed);
  };
  if (load->id_taken_by_another_snapshot()) return load_under_new_id();

  std::string body_error;
  std::int64_t bad_bodies = 0;
  std::int64_t rejected = 0;
  std::optional<std::size_t> last_page_coins; // of the highest page, when it parsed
  for (const auto& page : pages) {
    last_page_coins.reset();
    auto body = spool::read_file(page.path);
    if (!body) {
      m_tick_report.load.record(std::chrono::duration<double>(SteadyClock::now() - start).count(), "spool_read");
      telemetry::log_event(spdlog::level::err, "cannot read a raw page; the snapshot stays pending",
                           {{"snapshot_id", snapshot_id}, {"stage", "load"}, {"error_kind", "spool_read"},
                            {"path", page.path.string()}, {"error", body.error().message}});
      return LoadStatus::spool_error; // stays pending; the transaction rolls back
    }
    auto parsed = market::parse_markets(*body);
    if (!parsed) {
      ++bad_bodies;
      body_error = "page " + std::to_string(page.page) + ": " + std::string(market::to_string(parsed.error().kind)) +
                   ": " + parsed.error().detail;
      continue;
    }
    rejected += static_cast<std::int64_t>(parsed->rejected_count);
    last_page_coins = parsed->received();
    auto added = load->add_page(page.page, *body, parsed->coins, static_cast<std::int64_t>(parsed->rejected_count));
    if (!added) return on_db_error(added.error());
    rejected += static_cast<std::int64_t>(added->rejected_rows.size());
    log_rows_refused(snapshot_id, page.page, *added);
  }

  // A sweep interrupted between pages (a failed page, a signal, a crash) left fewer pages than
  // it planned: the rows that arrived load, and the snapshot says it is partial and what is missing.
  const spool::SnapshotPlan plan = m_spool.plan(snapshot_id).value_or(spool::SnapshotPlan{});
  std::vector<int> present;
  present.reserve(pages.size());
  for (const auto& page : pages) present.push_back(page.page);
  const auto missing = spool::missing_pages(plan, present, last_page_coins);
  const std::string missing_error = spool::missing_pages_error(plan, missing);
  const std::string error = body_error.empty() ? missing_error
                            : missing_error.empty() ? body_error
                                                    : body_error + "; " + missing_error;

  const bool nothing_loadable = bad_bodies == static_cast<std::int64_t>(pages.size());
  const std::string_view status = nothing_loadable                                     ? "rejected"
                                  : (bad_bodies > 0 || rejected > 0 || !missing.empty()) ? "partial"
                                                                                         : "loaded";
  auto committed = load->commit(status, error);
  if (!committed && load->id_taken_by_another_snapshot()) return load_under_new_id();
  if (!committed) return on_db_error(committed.error());

  const double took = std::chrono::duration<double>(SteadyClock::now() - start).count();
  return record_load(snapshot_id, *committed, status, missing_error, took, "spool");
}

LoadStatus Pipeline::load_refused(const std::string& snapshot_id, const db::DbError& e, double took) {
  // The server is reachable but refuses the operation (read-only after a failover, a revoked
  // privilege, a missing table, a lock timeout) or the client failed: not this snapshot's data.
  // It stays pending, readiness says why, and loads back off until an attempt succeeds.
  const auto kind = db::to_string(e.kind);
  const std::string problem = std::string(kind) + (e.sqlstate.empty() ? "" : " (SQLSTATE " + e.sqlstate + ")") +
                              ": " + e.message;
  m_health.set_db_problem(problem);
  m_db.disconnect(); // the next attempt opens a new session (after a failover: the new primary)
  m_refused_streak = std::min(m_refused_streak + 1, 7);
  m_load_not_before = SteadyClock::now() + std::min(std::chrono::seconds(1LL << (m_refused_streak - 1)),
                                                    std::chrono::seconds(60));
  const bool new_problem = e.sqlstate + e.message != m_refused_problem;
  m_refused_problem = e.sqlstate + e.message;
  telemetry::log_event(new_problem ? spdlog::level::err : spdlog::level::debug,
                       "load deferred: the database refuses it; the snapshot stays pending",
                       {{"snapshot_id", snapshot_id}, {"stage", "load"}, {"error_kind", kind},
                        {"sqlstate", e.sqlstate}, {"attempt", m_refused_streak}, telemetry::duration_ms(took),
                        {"error", e.message}});
  return LoadStatus::db_refused;
}

LoadStatus Pipeline::record_load(const std::string& snapshot_id, const db::LoadResult& committed,
                                 std::string_view status, std::string_view missing_pages, double took,
                                 std::string_view loaded_from) {
  if (auto ok = m_spool.acknowledge(snapshot_id); !ok)
    spdlog::error("snapshot {} loaded but its pending marker stays ({}); a replay will be a no-op", snapshot_id,
                  ok.error().message);
  if (m_refused_streak > 0) spdlog::info("the database accepts loads again");
  m_refused_streak = 0;
  m_load_not_before.reset();
  m_refused_problem.clear();
  const auto& c = committed.counts;
  m_metrics.stage_duration("load").Observe(took);
  m_tick_report.load.record(took);
  m_metrics.db_up.Set(1);
  m_health.set_db_up(true);
  if (committed.already_loaded) {
    spdlog::info("snapshot {} was already loaded; nothing changed", snapshot_id);
    return LoadStatus::already_loaded;
  }
  m_metrics.rows_inserted.Increment(static_cast<double>(c.rows_inserted));
  m_metrics.rows_unchanged.Increment(static_cast<double>(c.rows_unchanged));
  m_metrics.rows_rejected.Increment(static_cast<double>(c.rows_rejected));
  m_metrics.snapshots_loaded.Increment();
  if (!missing_pages.empty()) m_metrics.snapshots_partial.Increment();
  const auto now = std::chrono::system_clock::now();
  m_metrics.last_load_success.Set(std::chrono::duration<double>(now.time_since_epoch()).count());
  m_health.load_succeeded(now);
  telemetry::Fields fields{{"snapshot_id", snapshot_id}, {"stage", "load"}, {"status", status}, {"pages", c.pages},
                           {"coins", c.coins_received}, {"inserted", c.rows_inserted},
                           {"unchanged", c.rows_unchanged}, {"rejected", c.rows_rejected},
                           {"loaded_from", loaded_from}, telemetry::duration_ms(took)};
  if (!missing_pages.empty()) fields.emplace_back("error", missing_pages);
  telemetry::log_event(missing_pages.empty() ? spdlog::level::info : spdlog::level::warn,
                       missing_pages.empty() ? "snapshot loaded" : "snapshot loaded partial: pages missing", fields);
  return LoadStatus::loaded;
}

std::optional<Pipeline::LiveLoad> Pipeline::begin_live_load(const std::string& snapshot_id,
                                                            const std::filesystem::path& first_page,
                                                            const spool::SnapshotPlan& plan) {
  // Never connect or migrate from inside the fetch loop (a dead database would stall fetching
  // by the connect timeout); never jump the queue: older snapshots load first, from disk.
  if (!m_schema_ready || !m_db.connected()) return std::nullopt;
  const auto pending = m_spool.pending();
  if (pending.size() != 1 || pending.front() != snapshot_id) return std::nullopt;
  const auto name = spool::parse_snapshot_id(snapshot_id);
  if (!name) return std::nullopt;
  // fetched_at as the disk path computes it (the first raw page's mtime), so a replay of this
  // snapshot is recognised as the same snapshot.
  const db::SnapshotMeta meta{snapshot_id, name->vs_currency, name->time, file_mtime(first_page, name->time)};
  const auto start = SteadyClock::now();
  auto load = m_db.begin_snapshot(meta);
  const double took = std::chrono::duration<double>(SteadyClock::now() - start).count();
  if (!load || load->id_taken_by_another_snapshot()) return std::nullopt; // the queue handles both
  return LiveLoad{std::move(*load), snapshot_id, plan, took, 0, {}, 0};
}

bool Pipeline::add_live_page(LiveLoad& live, int page, std::string_view body, const market::ParsedPage& parsed) {
  const auto start = SteadyClock::now();
  const auto rejected = static_cast<std::int64_t>(parsed.rejected_count);
  auto added = live.load.add_page(page, body, parsed.coins, rejected);
  live.db_seconds += std::chrono::duration<double>(SteadyClock::now() - start).count();
  live.rejected += rejected;
  live.pages.push_back(page);
  live.last_page_coins = parsed.received();
  if (!added) {
    live_load_failed(live, added.error());
    return false;
  }
  live.rejected += static_cast<std::int64_t>(added->rejected_rows.size());
  log_rows_refused(live.snapshot_id, page, *added);
  return true;
}

void Pipeline::live_load_failed(const LiveLoad& live, const db::DbError& e) {
  // An outage or a refusal is reported here, as the disk path would (the queue's retry may then
  // succeed quietly, or back off). Any other error is left for the disk path to meet again and
  // report once, with the quarantine decision it owns.
  if (e.kind == db::DbError::Kind::refused) {
    m_metrics.load_errors(db::to_string(e.kind)).Increment();
    m_tick_report.load.record(live.db_seconds, db::to_string(e.kind));
    load_refused(live.snapshot_id, e, live.db_seconds);
    return;
  }
  if (e.kind == db::DbError::Kind::unavailable || (e.kind == db::DbError::Kind::internal && !m_db.connected())) {
    const auto kind = db::to_string(e.kind);
    m_metrics.load_errors(kind).Increment();
    m_tick_report.load.record(live.db_seconds, kind);
    m_metrics.db_up.Set(0);
    m_health.set_db_up(false);
    telemetry::log_event(spdlog::level::warn, "load deferred: database unavailable",
                         {{"snapshot_id", live.snapshot_id}, {"stage", "load"}, {"error_kind", kind},
                          telemetry::duration_ms(live.db_seconds), {"error", e.message}});
    return;
  }
  spdlog::debug("snapshot {}: live load stopped ({}); left to the pending queue", live.snapshot_id, e.message);
}

void Pipeline::commit_live_load(LiveLoad& live) {
  const auto start = SteadyClock::now();
  // No page of a live load is a bad body (that abandons it), so this is the disk path's status
  // and error, from the same plan and pages.
  const auto missing = spool::missing_pages(live.plan, live.pages, live.last_page_coins);
  const std::string missing_error = spool::missing_pages_error(live.plan, missing);
  const std::string_view status = live.rejected > 0 || !missing.empty() ? "partial" : "loaded";
  auto committed = live.load.commit(status, missing_error);
  if (!committed) {
    live_load_failed(live, committed.error());
    return;
  }
  const double took = live.db_seconds + std::chrono::duration<double>(SteadyClock::now() - start).count();
  record_load(live.snapshot_id, *committed, status, missing_error, took, "memory");
}

DrainSummary Pipeline::drain_pending(SteadyTime deadline, int min_loads) {
  DrainSummary summary;
  auto ids = m_spool.pending();
  summary.remaining = static_cast<int>(ids.size());
  if (ids.empty()) return summary;
  // db_up is set by what reaches the server (migrations, a commit), never assumed here: with
  // the schema already applied, ensure_schema() does not touch the database.
  if (!ensure_schema()) {
    summary.db_unavailable = true;
    return summary;
  }
  if (m_load_not_before && SteadyClock::now() < *m_load_not_before) { // backing off a refusal
    summary.db_refused = true;
    return summary;
  }
  int attempts = 0;
  for (const auto& id : ids) {
    if (m_stop.stop_requested() || (attempts >= min_loads && SteadyClock::now() >= deadline)) break;
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
