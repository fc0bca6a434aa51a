#pragma once
// What GET /status reports: the outcome of the last tick per stage, and the pure functions that
// render it (with the health state) as one JSON document for humans and scripts.
#include "core/iso_time.hpp"

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace etl::telemetry {

using SysTime = std::chrono::system_clock::time_point;

// One stage (fetch, spool, transform, load) over a whole tick, which may run it several times
// (per page, per currency, per pending snapshot). Failures win over successes in the summary,
// so a tick that loaded one snapshot and deferred another still says "partial" with the kind.
struct StageReport {
  int runs = 0;
  int failures = 0;
  double duration_seconds = 0; // summed over the runs
  std::string error_kind;      // the first failure's kind (a fixed label); empty when none

  // error_kind empty: the run succeeded.
  void record(double seconds, std::string_view failure_kind = {});
  // "not_run", "ok", "partial" (some runs failed) or "failed" (every run failed).
  [[nodiscard]] std::string_view outcome() const noexcept;
};

struct TickReport {
  SysTime started_at{};
  double duration_seconds = 0;
  std::string result; // success, partial, failed
  StageReport fetch;
  StageReport spool;
  StageReport transform;
  StageReport load;
};

// Process facts that never change while it runs; main fills them (the config already redacted).
struct StatusInfo {
  std::string version;
  std::string revision;
  SysTime started_at{};
  std::string config_json = "{}"; // a JSON object, e.g. from key_value_lines_to_json()
};

// "2026-11-22T14:00:00.123Z" (UTC, milliseconds): core's one formatter, under the name the
// pipeline already uses.
inline std::string iso8601_utc(SysTime t) { return core::format_iso8601(t); }

// "NAME=value" lines (what check-config prints) -> {"NAME":"value",...}, in line order. Lines
// without '=' are skipped. Lets /status show the effective config without the server knowing
// the config module.
std::string key_value_lines_to_json(std::string_view text);

} // namespace etl::telemetry
