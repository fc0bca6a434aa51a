#include "app/commands.hpp"

#include "app/policies.hpp"
#include "app/wiring.hpp"
#include "core/url_secrets.hpp"
#include "db/history_store.hpp"
#include "history/backfill.hpp"
#include "pacing/pacing.hpp"

#include <iostream>

#include <spdlog/spdlog.h>

#include <sys/ioctl.h>
#include <unistd.h>

namespace etl::app {
namespace {

history::BackfillOptions backfill_options(const config::CommandLine& cli, const config::Config& cfg,
                                          const config::CoinSelection& selection) {
  history::BackfillOptions options;
  options.coins = selection.ids;
  options.top = selection.top;
  options.vs_currencies = cfg.vs_currencies;
  options.days = cfg.backfill_days;
  options.from = cli.backfill.from;
  options.to = cli.backfill.to;
  options.api_base = cfg.coingecko_api_base;
  options.markets_url = cfg.coingecko_url;
  options.limited_reach = cfg.api_plan != coingecko::Plan::pro;
  options.data_dir = cfg.data_dir;
  options.ohlc = cli.backfill.ohlc;
  options.coins_list = cli.backfill.coins_list;
  // One credit account with the poller: the up-front log line puts the plan beside its use.
  if (cfg.monthly_credits) options.monthly_credits = *cfg.monthly_credits;
  options.poller_calls_per_month =
      pacing::compute_pacing(cfg.pages, cfg.vs_currencies.size(), cfg.rate_limit_per_minute,
                             cfg.poll_interval)
          .calls_per_month;
  // A person watching a terminal gets a progress bar on stderr; logs and pipes get log lines.
  if (::isatty(STDERR_FILENO) == 1) {
    winsize ws{};
    options.progress_bar_width =
        ::ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 20 ? ws.ws_col : 80;
  }
  options.request_deadline = backfill_request_deadline(cfg);
  return options;
}

int report_backfill(const history::BackfillSummary& sum, bool ohlc) {
  spdlog::info(
      "backfill summary: {} chunk(s) planned: {} done, {} provisional (open day, fetched again "
      "next "
      "run), {} failed; {} part(s) skipped as already done; {} range(s) clamped to the plan's 365 "
      "days; {} call(s) spent; {} row(s) added, {} corrected{}{}{}",
      sum.planned, sum.done, sum.provisional, sum.failed, sum.skipped_done, sum.clamped, sum.calls,
      sum.rows_inserted, sum.rows_updated,
      ohlc ? fmt::format("; {} candle(s) added, {} corrected", sum.candles_inserted,
                         sum.candles_updated)
           : std::string(),
      sum.coins_listed ? fmt::format("; coins list: {} coin(s), {} changed", *sum.coins_listed,
                                     sum.coins_changed)
                       : std::string(),
      sum.interrupted ? "; interrupted" : "");
  for (const auto& p : sum.problems) spdlog::error("backfill failed: {}", p);
  spdlog::default_logger()->flush();
  if (sum.complete()) return kExitOk;
  std::cerr << "coingecko-etl: backfill incomplete: " << sum.failed << " chunk(s) failed"
            << (sum.coins_list_failed ? ", the coins list failed" : "")
            << (sum.interrupted ? ", interrupted" : "")
            << (sum.fatal ? ", stopped on an error" : "")
            << "; run it again to retry (done chunks are not fetched again)\n";
  for (const auto& p : sum.problems) std::cerr << "  - " << p << "\n";
  return kExitFailure;
}

} // namespace

int run_backfill(const config::CommandLine& cli, const config::Config& cfg,
                 ShutdownWatchdog& watchdog, const BuildStamp& build) {
  if (cfg.coingecko_api_base.empty()) {
    return usage_error(
        {"COINGECKO_URL does not end in /coins/markets, so the API root cannot be derived from it: "
         "set COINGECKO_API_BASE"},
        "invalid configuration:");
  }
  std::string problem;
  const auto selection = config::parse_coin_selection(cfg.backfill_coins, problem);
  if (!selection) return usage_error({"BACKFILL_COINS: " + problem}, "invalid configuration:");

  // The schema first, as `run` does: backfill_chunks and coin_history come from migrations.
  if (const int migrated = run_migrate(cfg); migrated != kExitOk) return migrated;

  http::CurlGlobal curl_global;
  StopSignal stop;
  http::CurlTransport transport(curl_options(cfg, build));
  // The poller's plan, key and rate limit: one token bucket for every call this process makes.
  coingecko::CallerOptions caller;
  caller.plan = cfg.api_plan;
  caller.api_key = cfg.api_key;
  caller.max_attempts = cfg.max_attempts;
  caller.rate_limit_per_minute = cfg.rate_limit_per_minute;
  caller.url_secrets = url_secret_values(cfg.coingecko_url);
  coingecko::ApiCaller api(caller, transport, stop);
  db::HistoryStore store(cfg.conninfo());
  const history::BackfillOptions options = backfill_options(cli, cfg, *selection);

  ShutdownPolicy policy{cfg.shutdown_timeout, [] {}};
  policy.signal_ends_successfully = false;
  policy.abandoned_status = kExitFailure;
  return watchdog.run(
      [&] {
        return report_backfill(history::run_backfill(options, api, store, stop), options.ohlc);
      },
      stop, policy);
}

} // namespace etl::app
