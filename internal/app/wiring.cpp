#include "app/wiring.hpp"

#include "app/policies.hpp"
#include "telemetry/status.hpp"

namespace etl::app {

http::CurlOptions curl_options(const config::Config& cfg, const BuildStamp& build) {
  std::string user_agent = "coingecko-etl/";
  user_agent.append(build.version);
  return {cfg.http_connect_timeout, cfg.http_timeout, cfg.http_timeout,
          cfg.max_body_bytes,       user_agent,       cfg.ca_file};
}

coingecko::ClientOptions client_options(const config::Config& cfg) {
  coingecko::ClientOptions options;
  options.markets_url = cfg.coingecko_url;
  options.plan = cfg.api_plan;
  options.api_key = cfg.api_key;
  options.per_page = cfg.per_page;
  options.max_attempts = cfg.max_attempts;
  options.rate_limit_per_minute = cfg.rate_limit_per_minute;
  return options;
}

coingecko::ClientObserver client_observer(telemetry::Metrics& metrics,
                                          std::function<void()> on_attempt) {
  return coingecko::ClientObserver{
      [&metrics, on_attempt = std::move(on_attempt)](const coingecko::AttemptEvent& e) {
        if (on_attempt) on_attempt();
        metrics.http_request(e.status).Increment();
        if (!e.failure_reason.empty()) metrics.http_failure(e.failure_reason).Increment();
      },
      [&metrics](const coingecko::WaitEvent& w) {
        metrics.wait_seconds(w.cause).Increment(w.waited.count());
        if (w.cause != "rate_limit") metrics.http_retries.Increment();
      }};
}

pipeline::PipelineOptions pipeline_options(const config::Config& cfg,
                                           const pacing::Pacing& pacing) {
  pipeline::PipelineOptions options;
  options.vs_currencies = cfg.vs_currencies;
  options.per_page = cfg.per_page;
  options.pages = cfg.pages;
  options.migrations_dir = cfg.migrations_dir;
  options.spool_max_bytes = cfg.spool_max_bytes;
  options.spool_max_age = std::chrono::duration_cast<std::chrono::seconds>(cfg.spool_max_age);
  options.retention = std::chrono::duration_cast<std::chrono::seconds>(cfg.retention);
  options.calls_per_tick_budget = pacing.budget_per_tick;
  options.partition_policy.retention = cfg.coin_market_retention;
  options.partition_policy.raw_retention = cfg.coin_market_raw_retention;
  return options;
}

server::ServerOptions server_options(const config::Config& cfg, const BuildStamp& build) {
  server::ServerOptions options;
  options.host = cfg.http_host;
  options.port = cfg.http_port;
  options.readiness.poll_interval = cfg.poll_interval;
  // /status shows the same redacted settings as check-config; the server never sees Config.
  options.status = {build.version, build.revision, std::chrono::system_clock::now(),
                    telemetry::key_value_lines_to_json(config::render_effective(cfg))};
  options.liveness_max_silence = liveness_max_silence(cfg);
  options.max_connections = static_cast<std::size_t>(cfg.http_max_connections);
  return options;
}

} // namespace etl::app
