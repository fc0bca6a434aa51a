#include "app/history_fill.hpp"

#include "core/url_secrets.hpp"
#include "history/fill_quota.hpp"

#include <spdlog/spdlog.h>

namespace etl::app {

HistoryFill::HistoryFill(std::int64_t budget_per_tick,
                         std::unique_ptr<http::CurlTransport> transport,
                         std::unique_ptr<telemetry::HistoryMetrics> metrics)
    : m_budget(budget_per_tick), m_transport(std::move(transport)), m_metrics(std::move(metrics)) {}

std::unique_ptr<HistoryFill> HistoryFill::create(const config::Config& cfg,
                                                 const pacing::Pacing& pacing,
                                                 const http::CurlOptions& curl,
                                                 telemetry::Metrics& metrics) {
  if (cfg.history_coins.empty()) return nullptr;
  std::string problem;
  const auto selection = config::parse_coin_selection(cfg.history_coins, problem);
  if (!selection || cfg.coingecko_api_base.empty()) {
    if (selection)
      spdlog::error(
          "history fill off: COINGECKO_URL does not end in /coins/markets: set COINGECKO_API_BASE");
    else spdlog::error("history fill off: HISTORY_COINS: {}", problem);
    return nullptr;
  }
  history::FillerOptions options;
  auto& b = options.backfill;
  b.coins = selection->ids;
  b.top = selection->top;
  b.vs_currencies = cfg.vs_currencies;
  b.days = cfg.history_days;
  b.api_base = cfg.coingecko_api_base;
  b.markets_url = cfg.coingecko_url;
  b.limited_reach = cfg.api_plan != coingecko::Plan::pro;
  b.data_dir = cfg.data_dir;
  b.request_deadline = cfg.http_timeout * 2;
  if (cfg.monthly_credits) options.monthly_credits = *cfg.monthly_credits;
  options.poller_calls_per_month = pacing.calls_per_month;

  coingecko::CallerOptions caller; // the poller's plan, key and rate
  caller.plan = cfg.api_plan;
  caller.api_key = cfg.api_key;
  caller.rate_limit_per_minute = cfg.rate_limit_per_minute;
  caller.url_secrets = url_secret_values(cfg.coingecko_url);

  auto fill = std::make_unique<HistoryFill>(
      pacing.budget_per_tick, std::make_unique<http::CurlTransport>(curl),
      std::make_unique<telemetry::HistoryMetrics>(*metrics.registry()));
  fill->m_filler = std::make_unique<history::BackgroundFiller>(
      std::move(options), std::move(caller), *fill->m_transport, cfg.conninfo(),
      fill->m_metrics.get());
  return fill;
}

void HistoryFill::after_tick(std::chrono::steady_clock::time_point next_tick, bool leader) {
  // Started after the first tick, which applied the migrations (backfill_chunks, coin_history).
  if (!m_started) {
    m_filler->start();
    m_started = true;
  }
  const std::int64_t used = m_sweep_calls.exchange(0, std::memory_order_relaxed);
  m_filler->offer(leader ? history::tick_quota(m_budget, used) : 0, next_tick);
}

} // namespace etl::app
