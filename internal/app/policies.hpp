#pragma once
// Policies derived from settings: how long the loop may stay silent before /healthz fails, how
// long `once` may take, how long a backfill request may wait, and the pacing report.
#include "config/config.hpp"
#include "pipeline/sweep.hpp"
#include "telemetry/metrics.hpp"

#include <chrono>
#include <string>

namespace etl::app {

// A live loop beats at least once per tick; a tick may take the retries of its slowest call.
std::chrono::milliseconds liveness_max_silence(const config::Config& cfg);
// `once`: one tick, allowed a poll interval but never less than a minute.
std::chrono::milliseconds once_budget(const config::Config& cfg);
// A backfill request may queue behind the rate limiter and its retries: ten minutes at least.
std::chrono::milliseconds backfill_request_deadline(const config::Config& cfg);
// Shown in pg_stat_activity, so an operator (or a test) can find the leader's lock session.
std::string lock_application_name();
// The pacing of a sweep: one log line and the planned-calls gauges.
void report_pacing(const pacing::Pacing& p, const config::Config& cfg, telemetry::Metrics& metrics);

} // namespace etl::app
