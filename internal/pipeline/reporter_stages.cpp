// The per-page fetch/spool/transform events and the load events.
#include "pipeline/reporter.hpp"

#include "telemetry/logging.hpp"

#include <spdlog/spdlog.h>

namespace etl::pipeline {
namespace {

// One line per page for its rejected coins, however many: the count, and the ids and reasons
// the parser kept (market::kMaxRejectedDetails), instead of one line per element.
void log_rejected_coins(const std::string& snapshot_id, int page,
                        const market::ParsedPage& parsed) {
  if (parsed.rejected_count == 0) return;
  std::string ids;
  std::string reasons;
  for (const auto& r : parsed.rejected) {
    if (!r.id.empty()) ids.append(ids.empty() ? "" : ",").append(r.id);
    reasons.append(reasons.empty() ? "" : "; ").append("#").append(std::to_string(r.index));
    if (!r.id.empty()) reasons.append(" ").append(r.id);
    reasons.append(": ").append(r.reason);
  }
  if (parsed.rejected_count > parsed.rejected.size())
    reasons.append("; and ")
        .append(std::to_string(parsed.rejected_count - parsed.rejected.size()))
        .append(" more");
  telemetry::log_event(spdlog::level::warn, "coins rejected",
                       {{"snapshot_id", snapshot_id},
                        {"stage", "transform"},
                        {"page", page},
                        {"rejected", parsed.rejected_count},
                        {"coin_ids", ids},
                        {"error_kind", "invalid_coin"},
                        {"error", reasons}});
}

} // namespace

void Reporter::page_fetched(double took) {
  m_metrics.stage_duration("fetch").Observe(took);
  m_tick.fetch.record(took);
  m_last_fetch_problem.clear();
  m_health.set_fetch_problem(std::nullopt);
}

void Reporter::page_failed(const std::string& vs_currency, int page, const coingecko::FetchError& e,
                           double took, bool stopping) {
  m_metrics.stage_duration("fetch").Observe(took);
  m_tick.fetch.record(took, coingecko::to_string(e.failure));
  if (e.failure == coingecko::FetchFailure::cancelled && stopping) return;
  std::string problem(coingecko::to_string(e.failure));
  if (e.status) problem.append(": HTTP ").append(std::to_string(e.status));
  // Log a persistent failure (bad key, blocked) once per streak, not every tick.
  if (problem != m_last_fetch_problem) {
    telemetry::Fields fields{{"stage", "fetch"},
                             {"vs_currency", vs_currency},
                             {"page", page},
                             {"attempts", e.attempts},
                             {"error_kind", coingecko::to_string(e.failure)}};
    if (e.status) fields.emplace_back("http_status", e.status);
    fields.push_back(telemetry::duration_ms(took));
    fields.emplace_back("error", e.message);
    if (!e.body_excerpt.empty()) fields.emplace_back("body", e.body_excerpt);
    std::string message = "fetch ";
    message.append(vs_currency)
        .append(" page ")
        .append(std::to_string(page))
        .append(" failed: ")
        .append(problem);
    telemetry::log_event(spdlog::level::err, message, fields);
  }
  m_last_fetch_problem = problem;
  m_health.set_fetch_problem(problem);
}

void Reporter::spool_failed(const std::string& snapshot_id, int page, std::string_view what,
                            const std::string& error, double took) {
  m_metrics.spool_write_errors.Increment();
  m_tick.spool.record(took, "write_error");
  telemetry::log_event(spdlog::level::err, what,
                       {{"snapshot_id", snapshot_id},
                        {"stage", "spool"},
                        {"page", page},
                        {"error_kind", "write_error"},
                        {"error", error}});
}

void Reporter::page_spooled(double took) {
  m_metrics.stage_duration("spool").Observe(took);
  m_tick.spool.record(took);
}

void Reporter::body_rejected(const std::string& snapshot_id, int page, const market::BodyError& e,
                             double took) {
  const auto kind = market::to_string(e.kind);
  m_metrics.bodies_rejected(kind).Increment();
  m_tick.transform.record(took, kind);
  telemetry::log_event(spdlog::level::warn, "body rejected: not a markets array",
                       {{"snapshot_id", snapshot_id},
                        {"stage", "transform"},
                        {"page", page},
                        {"error_kind", kind},
                        {"error", e.detail}});
}

void Reporter::page_transformed(const std::string& snapshot_id, int page,
                                const market::ParsedPage& parsed, double took) {
  m_metrics.coins_received.Increment(static_cast<double>(parsed.received()));
  log_rejected_coins(snapshot_id, page, parsed);
  m_metrics.stage_duration("transform").Observe(took);
  m_tick.transform.record(took);
}

void Reporter::page_reused(std::size_t coins, double took) {
  m_metrics.coins_received.Increment(static_cast<double>(coins));
  m_metrics.stage_duration("transform").Observe(took);
  m_tick.transform.record(took);
}

void Reporter::load_failed(std::string_view kind, double took) {
  m_metrics.load_errors(kind).Increment();
  m_metrics.stage_duration("load").Observe(took);
  m_tick.load.record(took, kind);
}

void Reporter::snapshot_quarantined(const std::string& snapshot_id, const db::DbError& e,
                                    double took) {
  telemetry::log_event(spdlog::level::err, "snapshot quarantined",
                       {{"snapshot_id", snapshot_id},
                        {"stage", "load"},
                        {"error_kind", db::to_string(e.kind)},
                        {"sqlstate", e.sqlstate},
                        telemetry::duration_ms(took),
                        {"error", e.message}});
  m_metrics.snapshots_quarantined.Increment();
}

void Reporter::load_unavailable(const std::string& snapshot_id, const db::DbError& e, double took) {
  db_up(false);
  telemetry::log_event(spdlog::level::warn, "load deferred: database unavailable",
                       {{"snapshot_id", snapshot_id},
                        {"stage", "load"},
                        {"error_kind", db::to_string(e.kind)},
                        telemetry::duration_ms(took),
                        {"error", e.message}});
}

void Reporter::load_refused(const std::string& snapshot_id, const db::DbError& e, double took,
                            int attempt) {
  std::string problem(db::to_string(e.kind));
  if (!e.sqlstate.empty()) problem.append(" (SQLSTATE ").append(e.sqlstate).append(")");
  problem.append(": ").append(e.message);
  m_health.set_db_problem(problem);
  const bool new_problem = e.sqlstate + e.message != m_refused_problem;
  m_refused_problem = e.sqlstate + e.message;
  telemetry::log_event(new_problem ? spdlog::level::err : spdlog::level::debug,
                       "load deferred: the database refuses it; the snapshot stays pending",
                       {{"snapshot_id", snapshot_id},
                        {"stage", "load"},
                        {"error_kind", db::to_string(e.kind)},
                        {"sqlstate", e.sqlstate},
                        {"attempt", attempt},
                        telemetry::duration_ms(took),
                        {"error", e.message}});
}

void Reporter::load_read_failed(const std::string& snapshot_id, const std::filesystem::path& path,
                                const std::string& error, double took) {
  m_tick.load.record(took, "spool_read");
  telemetry::log_event(spdlog::level::err, "cannot read a raw page; the snapshot stays pending",
                       {{"snapshot_id", snapshot_id},
                        {"stage", "load"},
                        {"error_kind", "spool_read"},
                        {"path", path.string()},
                        {"error", error}});
}

void Reporter::rows_refused(const std::string& snapshot_id, int page,
                            const db::PageResult& result) {
  // One line per page for the coins PostgreSQL refused (the rest of the page is stored): their
  // ids and the first refusal's SQLSTATE and message. They are counted in rows_rejected.
  if (result.rejected_rows.empty()) return;
  std::string ids;
  for (const auto& row : result.rejected_rows)
    ids.append(ids.empty() ? "" : ",").append(row.coin_id);
  const db::RejectedRow& first = result.rejected_rows.front();
  // A check violation's DETAIL repeats the whole row: keep the line short, cut on a UTF-8 boundary.
  constexpr std::size_t kMaxMessage = 400;
  std::string_view message = first.message;
  if (message.size() > kMaxMessage) {
    std::size_t cut = kMaxMessage;
    while (cut > 0 && (static_cast<unsigned char>(message[cut]) & 0xC0) == 0x80) --cut;
    message = message.substr(0, cut);
  }
  telemetry::log_event(spdlog::level::warn,
                       "coins refused by the database; the rest of the page is stored",
                       {{"snapshot_id", snapshot_id},
                        {"stage", "load"},
                        {"page", page},
                        {"rejected", static_cast<std::int64_t>(result.rejected_rows.size())},
                        {"coin_ids", ids},
                        {"error_kind", "rejected"},
                        {"sqlstate", first.sqlstate},
                        {"error", message}});
}

void Reporter::loads_accepted_again() {
  spdlog::info("the database accepts loads again");
  m_refused_problem.clear();
}

void Reporter::snapshot_loaded(const std::string& snapshot_id, const db::LoadResult& committed,
                               std::string_view status, std::string_view missing_pages, double took,
                               std::string_view loaded_from, SysTime now) {
  m_refused_problem.clear();
  m_metrics.stage_duration("load").Observe(took);
  m_tick.load.record(took);
  db_up(true);
  if (committed.already_loaded) {
    spdlog::info("snapshot {} was already loaded; nothing changed", snapshot_id);
    return;
  }
  const auto& c = committed.counts;
  m_metrics.rows_inserted.Increment(static_cast<double>(c.rows_inserted));
  m_metrics.rows_unchanged.Increment(static_cast<double>(c.rows_unchanged));
  m_metrics.rows_rejected.Increment(static_cast<double>(c.rows_rejected));
  m_metrics.snapshots_loaded.Increment();
  if (!missing_pages.empty()) m_metrics.snapshots_partial.Increment();
  m_metrics.last_load_success.Set(std::chrono::duration<double>(now.time_since_epoch()).count());
  m_health.load_succeeded(now);
  telemetry::Fields fields{{"snapshot_id", snapshot_id},
                           {"stage", "load"},
                           {"status", status},
                           {"pages", c.pages},
                           {"coins", c.coins_received},
                           {"inserted", c.rows_inserted},
                           {"unchanged", c.rows_unchanged},
                           // of them not sent at all: known stored (db/known_rows.hpp)
                           {"unchanged_unsent", c.rows_known},
                           // pages stored as a reference to identical bytes (migration 0012)
                           {"raw_pages_referenced", c.pages_referenced},
                           {"rejected", c.rows_rejected},
                           {"loaded_from", loaded_from},
                           telemetry::duration_ms(took)};
  if (!missing_pages.empty()) fields.emplace_back("error", missing_pages);
  telemetry::log_event(
      missing_pages.empty() ? spdlog::level::info : spdlog::level::warn,
      missing_pages.empty() ? "snapshot loaded" : "snapshot loaded partial: pages missing", fields);
}

} // namespace etl::pipeline
