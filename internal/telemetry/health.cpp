#include "telemetry/health.hpp"

#include "core/json_escape.hpp"

#include <string>

namespace etl::telemetry {

using core::json_quoted;

void HealthState::loop_started(SysTime now) {
  std::lock_guard lock(m_mutex);
  m_state.loop_running = true;
  m_state.last_heartbeat = now;
}

void HealthState::loop_stopped() {
  std::lock_guard lock(m_mutex);
  m_state.loop_running = false;
}

void HealthState::heartbeat(SysTime now) {
  std::lock_guard lock(m_mutex);
  m_state.last_heartbeat = now;
}

void HealthState::set_shutting_down() {
  std::lock_guard lock(m_mutex);
  m_state.shutting_down = true;
}

void HealthState::set_db_up(bool up) {
  std::lock_guard lock(m_mutex);
  m_state.db_up = up;
}

void HealthState::set_db_problem(std::optional<std::string> problem) {
  std::lock_guard lock(m_mutex);
  m_state.db_problem = std::move(problem);
}

void HealthState::load_succeeded(SysTime now) {
  std::lock_guard lock(m_mutex);
  m_state.last_load_success = now;
  m_state.db_problem.reset();
}

void HealthState::set_fetch_problem(std::optional<std::string> problem) {
  std::lock_guard lock(m_mutex);
  m_state.fetch_problem = std::move(problem);
}

void HealthState::set_backlog(std::int64_t snapshots, std::uint64_t bytes,
                              std::optional<SysTime> oldest) {
  std::lock_guard lock(m_mutex);
  m_state.pending_snapshots = snapshots;
  m_state.pending_bytes = bytes;
  m_state.oldest_pending = oldest;
}

void HealthState::tick_finished(TickReport report, SysTime finished_at) {
  std::lock_guard lock(m_mutex);
  if (report.result == "success") {
    m_state.last_tick_success = finished_at;
  }
  m_state.last_tick = std::move(report);
}

void HealthState::set_role(std::string role) {
  std::lock_guard lock(m_mutex);
  m_state.role = std::move(role);
}

HealthSnapshot HealthState::snapshot() const {
  std::lock_guard lock(m_mutex);
  return m_state;
}

Readiness evaluate_readiness(const HealthSnapshot& s, SysTime now, const ReadinessRules& rules) {
  using std::chrono::duration_cast;
  Readiness r;
  const auto add = [&r](std::string name, bool ok, std::string reason) {
    r.checks.push_back(Check{std::move(name), ok, ok ? std::string{} : std::move(reason)});
  };

  const bool standby = s.role == "standby";
  if (!s.role.empty()) r.checks.push_back(Check{"role", true, s.role}); // informative, never fails

  add("shutdown", !s.shutting_down, "shutting down");
  add("database", s.db_up && !s.db_problem,
      s.db_up && s.db_problem ? "database refuses loads: " + *s.db_problem
                              : "database unreachable");
  add("first_load", standby || s.last_load_success.has_value(), "no snapshot loaded yet");

  // A clock stepped backwards gives a negative age: treat the load as fresh, not stale.
  const auto age = s.last_load_success ? now - *s.last_load_success : SysTime::duration::max();
  const auto stale_after = rules.poll_interval * rules.stale_after_intervals;
  if (standby) {
    add("recent_load", true, "");
  } else if (s.last_load_success) {
    add("recent_load", age <= stale_after,
        "last load " + std::to_string(duration_cast<std::chrono::seconds>(age).count()) +
            " s ago, more than " + std::to_string(rules.stale_after_intervals) + " intervals");
  } else {
    add("recent_load", false, "never loaded");
  }

  add("backlog", s.pending_snapshots <= rules.max_pending_snapshots,
      std::to_string(s.pending_snapshots) + " snapshots pending");

  // See the header: a fetch problem counts once the data it blocks is overdue.
  const bool fetch_blocking =
      !standby && s.fetch_problem.has_value() && age > rules.poll_interval * 2;
  add("fetch", !fetch_blocking, s.fetch_problem.value_or(""));

  r.ready = true;
  for (const auto& check : r.checks) {
    r.ready = r.ready && check.ok;
  }
  return r;
}

std::string readiness_json(const Readiness& r) {
  std::string out = r.ready ? R"({"status":"ready","ready":true,"checks":[)"
                            : R"({"status":"not_ready","ready":false,"checks":[)";
  bool first = true;
  for (const auto& check : r.checks) {
    if (!first) {
      out += ',';
    }
    first = false;
    out += R"({"name":)";
    out += json_quoted(check.name);
    out += R"(,"ok":)";
    out += check.ok ? "true" : "false";
    out += R"(,"reason":)";
    out += json_quoted(check.reason);
    out += '}';
  }
  out += "]}";
  return out;
}

bool evaluate_liveness(const HealthSnapshot& s, SysTime now,
                       std::chrono::milliseconds max_silence) {
  return s.loop_running && now - s.last_heartbeat <= max_silence;
}

} // namespace etl::telemetry
