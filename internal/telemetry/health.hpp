#pragma once
// What /healthz and /readyz report. HealthState is written by the pipeline and read by the
// HTTP server (thread-safe); the rules that turn it into an answer are pure functions.
#include "telemetry/status.hpp"

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace etl::telemetry {

struct HealthSnapshot {
  bool loop_running = false; // the scheduler thread is alive
  SysTime last_heartbeat{};  // the loop's last sign of life
  bool shutting_down = false;
  bool db_up = false;
  // The database is reachable but refuses loads (read-only, privileges, missing objects...):
  // e.g. "refused (SQLSTATE 25006): cannot execute INSERT in a read-only transaction".
  std::optional<std::string> db_problem;
  std::optional<SysTime> last_load_success;
  std::optional<std::string>
      fetch_problem; // e.g. "unauthorized: HTTP 401" (streak, cleared on success)
  std::int64_t pending_snapshots = 0;
  std::uint64_t pending_bytes = 0;
  std::string role; // leader election: "leader" or "standby"; "" when election is off
  std::optional<SysTime> oldest_pending;    // fetch time of the oldest pending snapshot
  std::optional<TickReport> last_tick;      // for GET /status
  std::optional<SysTime> last_tick_success; // end of the last tick whose result was success
};

class HealthState {
public:
  void loop_started(SysTime now);
  void loop_stopped();
  void heartbeat(SysTime now);
  void set_shutting_down();
  void set_db_up(bool up);
  void set_db_problem(std::optional<std::string> problem); // cleared by a successful load
  void load_succeeded(SysTime now);
  void set_fetch_problem(std::optional<std::string> problem);
  void set_backlog(std::int64_t snapshots, std::uint64_t bytes,
                   std::optional<SysTime> oldest = std::nullopt);
  void tick_finished(TickReport report, SysTime finished_at);
  void set_role(std::string role); // "leader" / "standby"
  [[nodiscard]] HealthSnapshot snapshot() const;

private:
  mutable std::mutex m_mutex;
  HealthSnapshot m_state;
};

struct Check {
  std::string name; // "first_load", "recent_load", "database", "backlog", "shutdown", "fetch"
  bool ok = true;
  std::string reason; // empty when ok
};
struct Readiness {
  bool ready = false;
  std::vector<Check> checks;
};

struct ReadinessRules {
  std::chrono::milliseconds poll_interval{30'000};
  int stale_after_intervals = 3; // last load older than this many intervals: not ready
  std::int64_t max_pending_snapshots = 10;
};

// Ready when: not shutting down, the database is reachable, a load succeeded within
// stale_after_intervals * poll_interval (none yet: not ready), and the backlog is small.
// Every check is always listed, in the order shutdown, database, first_load, recent_load,
// backlog, fetch. The fetch check fails only while a fetch problem is set AND the last load is
// missing or older than two poll intervals: one failed tick (a passing 429) must not flap
// readiness, but once it has, the body names it (e.g. a revoked API key).
Readiness evaluate_readiness(const HealthSnapshot& s, SysTime now, const ReadinessRules& rules);
// {"status":"not_ready","ready":false,"checks":[{"name":"database","ok":false,"reason":"..."}...]}
std::string readiness_json(const Readiness& r);

// With leader election on, a "role" check comes first, always ok, its reason naming the role.
// A standby neither fetches nor loads, so first_load, recent_load and fetch pass for it: a
// healthy standby (loop alive, database reachable, backlog small) is ready for takeover, and a
// Deployment with several replicas stays available while only one polls.

// The GET /status document: {"version","revision","started_at","uptime_seconds","ready",
// "not_ready_reasons":[...],"config":{...},"last_tick":{"started_at","result",
// "duration_seconds","stages":{"fetch"|"spool"|"transform"|"load":{"outcome","runs","failures",
// "duration_seconds","error_kind"}}}|null,"backlog":{"snapshots","bytes","oldest_age_seconds"},
// "db_up","last_load_success","last_tick_success","shutting_down","role"}. Timestamps are
// ISO 8601 UTC strings or null; durations are seconds.
std::string status_json(const StatusInfo& info, const HealthSnapshot& s, const Readiness& readiness,
                        SysTime now);

// Alive while the loop runs and its heartbeat is younger than `max_silence`.
bool evaluate_liveness(const HealthSnapshot& s, SysTime now, std::chrono::milliseconds max_silence);

} // namespace etl::telemetry
