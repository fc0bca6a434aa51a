#include "telemetry/status.hpp"

#include "core/json_escape.hpp"
#include "telemetry/health.hpp"

#include <array>
#include <cmath>
#include <ctime>

#include <spdlog/fmt/fmt.h>

namespace etl::telemetry {

using core::json_quoted;
namespace {

// Seconds with millisecond precision: enough for humans, and never "1e-05" or "nan" in JSON.
std::string json_seconds(double seconds) {
  if (!std::isfinite(seconds)) {
    return "0";
  }
  return fmt::format("{:.3f}", seconds);
}

std::string json_time_or_null(const std::optional<SysTime>& t) {
  return t ? json_quoted(iso8601_utc(*t)) : std::string("null");
}

double seconds_between(SysTime from, SysTime to) {
  return std::chrono::duration<double>(to - from).count();
}

void append_stage(std::string& out, std::string_view name, const StageReport& stage) {
  out += json_quoted(name);
  out += R"(:{"outcome":)";
  out += json_quoted(stage.outcome());
  out += R"(,"runs":)";
  out += std::to_string(stage.runs);
  out += R"(,"failures":)";
  out += std::to_string(stage.failures);
  out += R"(,"duration_seconds":)";
  out += json_seconds(stage.duration_seconds);
  out += R"(,"error_kind":)";
  out += stage.error_kind.empty() ? std::string("null") : json_quoted(stage.error_kind);
  out += '}';
}

} // namespace

void StageReport::record(double seconds, std::string_view failure_kind) {
  ++runs;
  duration_seconds += seconds;
  if (!failure_kind.empty()) {
    ++failures;
    if (error_kind.empty()) {
      error_kind = std::string(failure_kind);
    }
  }
}

std::string_view StageReport::outcome() const noexcept {
  if (runs == 0) {
    return "not_run";
  }
  if (failures == 0) {
    return "ok";
  }
  return failures == runs ? "failed" : "partial";
}

std::string key_value_lines_to_json(std::string_view text) {
  std::string out = "{";
  bool first = true;
  while (!text.empty()) {
    const auto end = text.find('\n');
    auto line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view{} : text.substr(end + 1);
    if (!line.empty() && line.back() == '\r') {
      line.remove_suffix(1);
    }
    const auto eq = line.find('=');
    if (eq == std::string_view::npos || eq == 0) {
      continue;
    }
    if (!first) {
      out += ',';
    }
    first = false;
    out += json_quoted(line.substr(0, eq));
    out += ':';
    out += json_quoted(line.substr(eq + 1));
  }
  out += '}';
  return out;
}

namespace {

// The failed readiness checks, "name: reason", comma-separated (inside a JSON array).
void append_not_ready(std::string& out, const Readiness& readiness) {
  bool first = true;
  for (const auto& check : readiness.checks) {
    if (check.ok) {
      continue;
    }
    out += first ? "" : ",";
    first = false;
    out += json_quoted(check.name + ": " + check.reason);
  }
}

// The last tick as a JSON object, or null before the first one.
void append_last_tick(std::string& out, const HealthSnapshot& s) {
  if (s.last_tick) {
    const auto& t = *s.last_tick;
    out += R"({"started_at":)";
    out += json_quoted(iso8601_utc(t.started_at));
    out += R"(,"result":)";
    out += json_quoted(t.result);
    out += R"(,"duration_seconds":)";
    out += json_seconds(t.duration_seconds);
    out += R"(,"stages":{)";
    append_stage(out, "fetch", t.fetch);
    out += ',';
    append_stage(out, "spool", t.spool);
    out += ',';
    append_stage(out, "transform", t.transform);
    out += ',';
    append_stage(out, "load", t.load);
    out += "}}";
  } else {
    out += "null";
  }
}

} // namespace

std::string status_json(const StatusInfo& info, const HealthSnapshot& s, const Readiness& readiness,
                        SysTime now) {
  std::string out = R"({"version":)";
  out += json_quoted(info.version);
  out += R"(,"revision":)";
  out += json_quoted(info.revision);
  out += R"(,"started_at":)";
  out += json_quoted(iso8601_utc(info.started_at));
  out += R"(,"uptime_seconds":)";
  out += json_seconds(std::max(0.0, seconds_between(info.started_at, now)));
  out += R"(,"ready":)";
  out += readiness.ready ? "true" : "false";
  out += R"(,"not_ready_reasons":[)";
  append_not_ready(out, readiness);
  out += R"(],"config":)";
  out += info.config_json.empty() ? std::string("{}") : info.config_json;

  out += R"(,"last_tick":)";
  append_last_tick(out, s);

  out += R"(,"backlog":{"snapshots":)";
  out += std::to_string(s.pending_snapshots);
  out += R"(,"bytes":)";
  out += std::to_string(s.pending_bytes);
  out += R"(,"oldest_age_seconds":)";
  // A clock stepped backwards must not show a negative age.
  out += s.oldest_pending ? json_seconds(std::max(0.0, seconds_between(*s.oldest_pending, now)))
                          : std::string("0");
  out += R"(},"db_up":)";
  out += s.db_up ? "true" : "false";
  out += R"(,"last_load_success":)";
  out += json_time_or_null(s.last_load_success);
  out += R"(,"last_tick_success":)";
  out += json_time_or_null(s.last_tick_success);
  out += R"(,"shutting_down":)";
  out += s.shutting_down ? "true" : "false";
  out += R"(,"role":)";
  out += s.role.empty() ? std::string("null") : json_quoted(s.role);
  out += "}";
  return out;
}

} // namespace etl::telemetry
