#include "app/policies.hpp"

#include <algorithm>

#include <spdlog/spdlog.h>

#include <unistd.h>

namespace etl::app {

std::chrono::milliseconds liveness_max_silence(const config::Config& cfg) {
  return std::max(std::chrono::milliseconds(60'000),
                  cfg.poll_interval * 3 + cfg.http_timeout * cfg.max_attempts);
}

std::chrono::milliseconds once_budget(const config::Config& cfg) {
  return std::max(cfg.poll_interval, std::chrono::milliseconds(60'000));
}

std::chrono::milliseconds backfill_request_deadline(const config::Config& cfg) {
  return std::max<std::chrono::milliseconds>(std::chrono::minutes(10),
                                             cfg.http_timeout * cfg.max_attempts * 2);
}

std::string lock_application_name() {
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) != 0) host[0] = '\0';
  std::string name = "coingecko-etl-lock ";
  name.append(host).append(" ").append(std::to_string(::getpid()));
  if (name.size() > 63) name.resize(63); // PostgreSQL's NAMEDATALEN limit
  return name;
}

void report_pacing(const pacing::Pacing& p, const config::Config& cfg,
                   telemetry::Metrics& metrics) {
  metrics.planned_calls_per_tick.Set(static_cast<double>(p.calls_per_tick));
  metrics.planned_calls_per_minute.Set(p.calls_per_minute);
  metrics.planned_calls_per_month.Set(p.calls_per_month);
  metrics.sweep_ticks.Set(static_cast<double>(p.ticks_per_sweep));
  std::string credits;
  if (cfg.monthly_credits)
    credits.append(" (plan credits: ").append(std::to_string(*cfg.monthly_credits)).append(")");
  spdlog::info("pacing: a sweep is {} call(s) (PAGES={} x {} currencies); RATE_LIMIT_PER_MINUTE={} "
               "allows {} per "
               "tick; {} tick(s) per sweep, up to {} call(s) per tick, {:.1f}/min, {:.0f} per "
               "30-day month{}",
               p.sweep_calls, cfg.pages, cfg.vs_currencies.size(), cfg.rate_limit_per_minute,
               p.budget_per_tick, p.ticks_per_sweep, p.calls_per_tick, p.calls_per_minute,
               p.calls_per_month, credits);
}

} // namespace etl::app
