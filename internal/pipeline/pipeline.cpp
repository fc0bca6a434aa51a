#include "pipeline/pipeline.hpp"

#include "db/migrations.hpp"
#include "market/parse_markets.hpp"
#include "market/processed_json.hpp"
#include "telemetry/logging.hpp"
#include "telemetry/status.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>

#include <spdlog/spdlog.h>

namespace etl::pipeline {
namespace {

using SteadyClock = std::chrono::steady_clock;
using Seconds = std::chrono::duration<double>;
// A host clock this far from PostgreSQL's is logged as a warning at each partition pass.
constexpr auto kClockSkewWarning = std::chrono::minutes(5);

double seconds_since(SteadyClock::time_point start) {
  return Seconds(SteadyClock::now() - start).count();
}

double unix_seconds(std::chrono::system_clock::time_point t) {
  return Seconds(t.time_since_epoch()).count();
}

// One line per page for its rejected coins, however many: the count, and the ids and reasons
// the parser kept (market::kMaxRejectedDetails), instead of one line per element.
void log_rejected_coins(const std::string& snapshot_id, int page, const market::ParsedPage& parsed) {
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
    reasons.append("; and ").append(std::to_string(parsed.rejected_count - parsed.rejected.size())).append(" more");
  telemetry::log_event(spdlog::level::warn, "coins rejected",
                       {{"snapshot_id", snapshot_id}, {"stage", "transform"}, {"page", page},
                        {"rejected", parsed.rejected_count}, {"coin_ids", ids}, {"error_kind", "invalid_coin"},
                        {"error", reasons}});
}

// Streams one snapshot's normalized records into processed/<id>.json, page by page. Rejections
// are listed as the parser kept them (a few per page) and counted in full in rejected_count.
class ProcessedWriter {
public:
  ProcessedWriter(spool::Spool& spool, std::string snapshot_id, std::string vs_currency)
      : m_spool(spool), m_id(std::move(snapshot_id)), m_currency(std::move(vs_currency)) {}

  bool add_page(int page, const market::ParsedPage& parsed) {
    if (!open()) return false;
    m_buffer.clear();
    for (const auto& coin : parsed.coins) {
      m_buffer += m_first ? "\n" : ",\n";
      m_first = false;
      market::append_processed_record(m_buffer, coin, m_currency);
    }
    for (const auto& r : parsed.rejected) {
      m_rejected += m_rejected.empty() ? "" : ",";
      m_rejected += "{\"page\":" + std::to_string(page) + ",\"index\":" + std::to_string(r.index) + ",\"id\":";
      market::append_json_string(m_rejected, r.id);
      m_rejected += ",\"reason\":";
      market::append_json_string(m_rejected, r.reason);
      m_rejected += '}';
    }
    m_rejected_count += parsed.rejected_count;
    return write(m_buffer);
  }

  bool commit() {
    if (!open()) return false;
    if (!write("\n],\"rejected\":[" + m_rejected + "],\"rejected_count\":" + std::to_string(m_rejected_count) + "}\n"))
      return false;
    auto ok = m_file->commit();
    if (!ok) {
      spdlog::error("processed file for {} not written: {}", m_id, ok.error().message);
      return false;
    }
    return true;
  }

private:
  bool open() {
    if (m_file) return true;
    if (m_failed) return false;
    auto file = m_spool.create_processed(m_id);
    if (!file) return fail(file.error().message);
    m_file.emplace(std::move(*file));
    std::string header = "{\"snapshot_id\":";
    market::append_json_string(header, m_id);
    header += ",\"vs_currency\":";
    market::append_json_string(header, m_currency);
    header += ",\"coins\":[";
    return write(header);
  }
  bool write(std::string_view bytes) {
    if (auto ok = m_file->append(bytes); !ok) return fail(ok.error().message);
    return true;
  }
  bool fail(const std::string& why) {
    if (!m_failed) spdlog::error("processed file for {} not written: {}", m_id, why);
    m_failed = true;
    m_file.reset();
    return false;
  }

  spool::Spool& m_spool;
  std::string m_id;
  std::string m_currency;
  std::optional<spool::AtomicFile> m_file;
  std::string m_buffer;
  std::string m_rejected;
  std::size_t m_rejected_count = 0;
  bool m_first = true;
  bool m_failed = false;
};

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

Pipeline::Pipeline(PipelineOptions options, coingecko::MarketsClient& client, spool::Spool& spool,
                   db::Database& database, telemetry::Metrics& metrics,
                   telemetry::HealthState& health, StopSignal& stop)
    : m_options(std::move(options)), m_client(client), m_spool(spool), m_db(database),
      m_metrics(metrics), m_health(health), m_stop(stop) {}

bool Pipeline::ensure_schema() {
  if (m_schema_ready) return true;
  if (auto ok = m_db.ensure_connected(); !ok) {
    m_metrics.db_up.Set(0);
    m_health.set_db_up(false);
    spdlog::warn("database unavailable, migrations deferred: {}", ok.error().message);
    return false;
  }
  auto applied = m_db.migrate(m_options.migrations_dir);
  if (!applied) {
    spdlog::error("migrations failed ({}): {}", db::to_string(applied.error().kind), applied.error().message);
    return false;
  }
  if (*applied > 0)
    spdlog::info("applied {} migration(s) from {}", *applied,
                 db::describe_migration_source(m_options.migrations_dir));
  m_metrics.db_up.Set(1);
  m_health.set_db_up(true);
  m_schema_ready = true;
  return true;
}

Pipeline::FetchOutcome Pipeline::fetch_snapshot(std::size_t currency, int first_page, int last_page,
                                                SteadyTime deadline) {
  const std::string& vs_currency = m_options.vs_currencies[currency];
  FetchOutcome out;
  const auto started = std::chrono::system_clock::now();
  const std::string id = m_spool.new_snapshot_id(started, vs_currency);
  ProcessedWriter processed(m_spool, id, vs_currency);
  bool marked = false;
  bool parsed_any = false;
  bool bad_page = false;
  std::optional<LiveLoad> live; // see begin_live_load(); dropped at the first irregularity

  for (int page = first_page; page <= last_page && !m_stop.stop_requested(); ++page) {
    const auto fetch_start = SteadyClock::now();
    auto fetched = m_client.fetch_page(vs_currency, page, deadline);
    const double fetch_took = seconds_since(fetch_start);
    m_metrics.stage_duration("fetch").Observe(fetch_took);
    m_tick_report.fetch.record(fetch_took, fetched ? "" : coingecko::to_string(fetched.error().failure));
    if (!fetched) {
      const auto& e = fetched.error();
      if (e.failure != coingecko::FetchFailure::cancelled || !m_stop.stop_requested()) {
        const std::string problem = std::string(coingecko::to_string(e.failure)) +
                                    (e.status ? ": HTTP " + std::to_string(e.status) : "");
        // Log a persistent failure (bad key, blocked) once per streak, not every tick.
        if (problem != m_last_fetch_problem) {
          telemetry::Fields fields{{"stage", "fetch"}, {"vs_currency", vs_currency}, {"page", page},
                                   {"attempts", e.attempts}, {"error_kind", coingecko::to_string(e.failure)}};
          if (e.status) fields.emplace_back("http_status", e.status);
          fields.push_back(telemetry::duration_ms(fetch_took));
          fields.emplace_back("error", e.message);
          if (!e.body_excerpt.empty()) fields.emplace_back("body", e.body_excerpt);
          telemetry::log_event(spdlog::level::err,
                               "fetch " + vs_currency + " page " + std::to_string(page) + " failed: " + problem,
                               fields);
        }
        m_last_fetch_problem = problem;
        m_health.set_fetch_problem(problem);
      }
      break;
    }
    m_last_fetch_problem.clear();
    m_health.set_fetch_problem(std::nullopt);

    // The body reaches disk before anything else happens to it.
    const auto spool_start = SteadyClock::now();
    if (!marked) {
      if (auto ok = m_spool.mark_pending(id, spool::SnapshotPlan{first_page, last_page, m_options.per_page}); !ok) {
        m_metrics.spool_write_errors.Increment();
        m_tick_report.spool.record(seconds_since(spool_start), "write_error");
        telemetry::log_event(spdlog::level::err, "cannot spool snapshot (page dropped)",
                             {{"snapshot_id", id}, {"stage", "spool"}, {"page", page},
                              {"error_kind", "write_error"}, {"error", ok.error().message}});
        break;
      }
      marked = true;
      out.snapshot_id = id;
    }
    auto raw_path = m_spool.write_raw_page(id, page, fetched->body);
    if (!raw_path) {
      live.reset();
      m_metrics.spool_write_errors.Increment();
      m_tick_report.spool.record(seconds_since(spool_start), "write_error");
      telemetry::log_event(spdlog::level::err, "cannot spool page (page dropped)",
                           {{"snapshot_id", id}, {"stage", "spool"}, {"page", page},
                            {"error_kind", "write_error"}, {"error", raw_path.error().message}});
      break;
    }
    m_metrics.stage_duration("spool").Observe(seconds_since(spool_start));
    m_tick_report.spool.record(seconds_since(spool_start));
    ++out.pages_saved;

    const auto transform_start = SteadyClock::now();
    auto parsed = market::parse_markets(fetched->body);
    if (!parsed) {
      live.reset();
      const auto kind = market::to_string(parsed.error().kind);
      m_metrics.bodies_rejected(kind).Increment();
      m_tick_report.transform.record(seconds_since(transform_start), kind);
      telemetry::log_event(spdlog::level::warn, "body rejected: not a markets array",
                           {{"snapshot_id", id}, {"stage", "transform"}, {"page", page}, {"error_kind", kind},
                            {"error", parsed.error().detail}});
      // One bad page must not cost the rest of the market: the next pages are still fetched
      // (the bad body stays in raw/, and the snapshot loads as partial with its reason).
      bad_page = true;
      continue;
    }
    m_metrics.coins_received.Increment(static_cast<double>(parsed->received()));
    log_rejected_coins(id, page, *parsed);
    processed.add_page(page, *parsed);
    parsed_any = true;
    m_metrics.stage_duration("transform").Observe(seconds_since(transform_start));
    m_tick_report.transform.record(seconds_since(transform_start));
    if (page == first_page) live = begin_live_load(id, *raw_path, {first_page, last_page, m_options.per_page});
    if (live && !add_live_page(*live, page, fetched->body, *parsed)) live.reset();

    const auto received = parsed->received();
    if (received < static_cast<std::size_t>(m_options.per_page)) {
      // A short page is the end of the market: later pages of this sweep would be empty.
      m_market_end[currency] = page;
      out.complete = true;
      break;
    }
    if (page == last_page) out.complete = true;
  }
  if (bad_page) out.complete = false; // every page was asked for, but not every page was data
  if (parsed_any) processed.commit();
  // Stopping: the transaction rolls back and the snapshot stays pending, loaded at the next start.
  if (live && !m_stop.stop_requested()) commit_live_load(*live);
  return out;
}

TickResult Pipeline::tick(SteadyTime deadline) {
  const auto tick_start = SteadyClock::now();
  m_tick_report = telemetry::TickReport{};
  m_tick_report.started_at = std::chrono::system_clock::now();
  if (!refresh_leadership()) {
    // Standby: never fetch. Snapshots this process fetched while it was the leader are still
    // loaded (idempotent), so a hand-over loses nothing; with no backlog this touches nothing.
    maintain_spool();
    if (m_spool.backlog().snapshots > 0) drain_pending(deadline);
    maintain_spool();
    m_tick_report.result = to_string(TickResult::standby);
    m_tick_report.duration_seconds = seconds_since(tick_start);
    m_health.tick_finished(m_tick_report, std::chrono::system_clock::now());
    return TickResult::standby;
  }

  const auto& currencies = m_options.vs_currencies;
  const std::int64_t budget =
      m_options.calls_per_tick_budget > 0 ? m_options.calls_per_tick_budget : std::numeric_limits<std::int64_t>::max();
  const TickPlan plan = plan_tick(m_sweep_cursor, m_options.pages, currencies.size(), budget);
  if (plan.sweep_starts || m_market_end.size() != currencies.size())
    m_market_end.assign(currencies.size(), m_options.pages);
  m_sweep_cursor = plan.next_cursor;

  std::vector<FetchOutcome> fetched;
  std::size_t wanted = 0;
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
    if (budget < static_cast<std::int64_t>(m_options.pages) * static_cast<std::int64_t>(currencies.size()))
      spdlog::debug("rolling sweep: {} pages {}-{} of {}", currencies[currency], first, last, m_options.pages);
    ++wanted;
    fetched.push_back(fetch_snapshot(currency, first, last, deadline));
  }

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
    const bool quarantined = std::find(drain.not_loaded.begin(), drain.not_loaded.end(), f.snapshot_id) !=
                             drain.not_loaded.end();
    if (!f.snapshot_id.empty() && !quarantined && !m_spool.is_pending(f.snapshot_id)) ++loaded;
  }
  TickResult result = TickResult::failed;
  if (loaded > 0) result = (loaded == wanted && all_complete) ? TickResult::success : TickResult::partial;
  if (wanted == 0 && !m_stop.stop_requested()) result = TickResult::success; // the window lies past the market's end
  maintain_partitions();

  const double took = seconds_since(tick_start);
  m_metrics.tick(to_string(result)).Increment();
  m_metrics.tick_duration.Observe(took);
  const auto finished = std::chrono::system_clock::now();
  if (result == TickResult::success) m_metrics.last_success.Set(unix_seconds(finished));
  m_tick_report.result = to_string(result);
  m_tick_report.duration_seconds = took;
  m_health.tick_finished(m_tick_report, finished);
  telemetry::log_event(spdlog::level::info, "tick " + std::string(to_string(result)),
                       {{"result", to_string(result)}, {"loaded", loaded}, {"wanted", wanted},
                        {"backlog", drain.remaining},
                        {"database", drain.db_unavailable ? "unavailable" : drain.db_refused ? "refusing" : "ok"},
                        telemetry::duration_ms(took)});
  return result;
}

bool Pipeline::refresh_leadership() {
  if (m_options.leader_lock == nullptr) return true; // the only poller
  auto status = m_options.leader_lock->refresh();
  bool leader = status && status->leader;
  // A leader that cannot reach PostgreSQL at all keeps polling into the spool (the delivery
  // rule for outages): no replica can take the lock from a database nobody reaches, and when
  // it returns, refresh() either re-takes the lock or finds the new leader and stands by. A
  // session that was merely terminated reconnects within refresh() and is decided there.
  const bool provisional = !status && status.error().kind == db::DbError::Kind::unavailable &&
                           m_was_leader.value_or(false);
  if (provisional) leader = true;
  if (status) {
    m_leader_problem.clear();
    m_metrics.db_up.Set(1);
    m_health.set_db_up(true);
  } else {
    // Not knowing is not leading: stand by until the lock can be asked for again.
    if (status.error().message != m_leader_problem)
      spdlog::warn("leader election: cannot reach PostgreSQL ({}): {}",
                   provisional ? "still polling into the spool as the last leader" : "standing by",
                   status.error().message);
    m_leader_problem = status.error().message;
    m_metrics.db_up.Set(0);
    m_health.set_db_up(false);
  }
  m_metrics.leader.Set(leader ? 1 : 0);
  m_health.set_role(leader ? "leader" : "standby");
  if (!m_was_leader || *m_was_leader != leader) {
    if (leader) {
      spdlog::info("leader election: this process is the leader now (lock session pid {})",
                   status ? status->backend_pid : 0);
      // Nothing says where the previous leader's sweep stood: start a fresh one, and check
      // the partitions at once.
      m_sweep_cursor = 0;
      m_partitions_next.reset();
    } else if (m_was_leader.value_or(false)) {
      spdlog::warn("leader election: leadership lost; fetching stops until the lock is held again");
    } else {
      spdlog::info("leader election: standing by (another replica is the leader)");
    }
  }
  m_was_leader = leader;
  return leader;
}

void Pipeline::maintain_partitions() {
  if (m_options.partitions == nullptr || m_stop.stop_requested()) return;
  const auto now = SteadyClock::now();
  if (m_partitions_next && now < *m_partitions_next) return;
  if (!ensure_schema()) return; // the partition functions come with the migrations
  auto report = m_options.partitions->run(m_options.partition_policy);
  if (!report) {
    spdlog::error("coin_market partition maintenance failed (retried in 5 minutes): {}", report.error().message);
    m_partitions_next = now + std::chrono::minutes(5);
    return;
  }
  // Retention followed the database's clock; a host clock far from it is worth an operator's
  // attention (it also names the spool's files and sets fetched_at).
  const auto skew = std::chrono::system_clock::now() - report->clock;
  if (skew > kClockSkewWarning || skew < -kClockSkewWarning)
    spdlog::warn("CLOCK SKEW: this host's clock is {:.0f} s {} PostgreSQL's; partition retention follows the "
                 "database clock and never drops data newer than the newest loaded minus the retention",
                 std::abs(Seconds(skew).count()), skew.count() > 0 ? "ahead of" : "behind");
  const auto cutoff_text = [](const std::optional<std::chrono::system_clock::time_point>& t) {
    return t ? telemetry::iso8601_utc(*t) : std::string("none");
  };
  if (report->created > 0 || report->dropped > 0)
    spdlog::info("coin_market partitions: {} created ahead, {} dropped by COIN_MARKET_RETENTION (cutoff {})",
                 report->created, report->dropped, cutoff_text(report->cutoff));
  if (report->raw_created > 0 || report->raw_dropped > 0)
    spdlog::info("coin_market_raw partitions: {} created ahead, {} dropped by COIN_MARKET_RAW_RETENTION (cutoff {})",
                 report->raw_created, report->raw_dropped, cutoff_text(report->raw_cutoff));
  m_partitions_next = now + std::chrono::hours(24);
}

void Pipeline::maintain_spool() {
  const auto now = std::chrono::system_clock::now();
  const auto outcome =
      m_spool.maintain({m_options.spool_max_bytes, m_options.spool_max_age, m_options.retention}, m_spool_ages, now,
                       SteadyClock::now());
  for (const auto& d : outcome.dropped) {
    m_metrics.snapshots_dropped.Increment();
    telemetry::log_event(spdlog::level::err, "DROPPED pending snapshot " + d.snapshot_id + ": its data was never loaded",
                         {{"snapshot_id", d.snapshot_id}, {"stage", "spool"}, {"error_kind", "dropped"},
                          {"bytes", d.bytes}, {"error", d.why}});
  }
  if (outcome.files_retired > 0) spdlog::info("retention: removed {} file(s) of loaded snapshots", outcome.files_retired);
  if (outcome.files_evicted > 0) {
    // Not a loss (PostgreSQL has them), but RETENTION is not what it says: say so once.
    if (!m_eviction_logged)
      spdlog::warn("spool over SPOOL_MAX_BYTES={}: removed {} file(s) of loaded snapshots before RETENTION; the "
                   "bound counts every file in DATA_DIR (raw, processed, pending, quarantine): raise it or lower "
                   "RETENTION (logged once)",
                   m_options.spool_max_bytes, outcome.files_evicted);
    else
      spdlog::debug("spool over SPOOL_MAX_BYTES: removed {} file(s) of loaded snapshots", outcome.files_evicted);
    m_eviction_logged = true;
  }
  // A wall clock far ahead of what the spool and the monotonic clock show: ages kept counting
  // by the latter, so nothing was dropped for it. Logged when it first appears or grows.
  const auto over = m_spool_ages.wall_overstatement();
  if (over > std::chrono::minutes(5) && over > m_clock_overstatement_logged + std::chrono::minutes(5)) {
    spdlog::warn("CLOCK: the wall clock makes spooled snapshots up to {} s older than the monotonic clock and the "
                 "newest snapshot on disk show (a clock jump forward, or the daemon was stopped); SPOOL_MAX_AGE and "
                 "RETENTION count by the latter, so nothing is dropped for it",
                 std::chrono::duration_cast<std::chrono::seconds>(over).count());
    m_clock_overstatement_logged = over;
  }
  const spool::Backlog backlog = m_spool.backlog();
  m_metrics.snapshots_pending.Set(static_cast<double>(backlog.snapshots));
  m_metrics.pending_bytes.Set(static_cast<double>(backlog.bytes));
  m_metrics.oldest_pending_age.Set(backlog.oldest ? Seconds(now - *backlog.oldest).count() : 0.0);
  m_health.set_backlog(backlog.snapshots, backlog.bytes, backlog.oldest);
}

} // namespace etl::pipeline
