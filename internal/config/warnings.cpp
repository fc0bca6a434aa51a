// Valid but doubtful settings, from the one pacing computation (pacing/).
#include "config/config.hpp"
#include "pacing/pacing.hpp"

#include <charconv>

namespace etl::config {
namespace {
std::string rate_text(double rate) {
  char buffer[64];
  const auto result = std::to_chars(buffer, buffer + sizeof buffer, rate);
  return std::string(buffer, result.ptr);
}
} // namespace

std::vector<std::string> config_warnings(const Config& config) {
  std::vector<std::string> warnings;
  const pacing::Pacing p = pacing::compute_pacing(config.pages, config.vs_currencies.size(),
                                                  config.rate_limit_per_minute,
                                                  config.poll_interval, config.monthly_credits);
  if (p.ticks_may_fetch_nothing) {
    warnings.push_back("POLL_INTERVAL=" + format_duration(config.poll_interval) +
                       " is shorter than the spacing of two calls at RATE_LIMIT_PER_MINUTE=" +
                       rate_text(config.rate_limit_per_minute) + " (" +
                       format_duration(p.call_spacing) +
                       "): some ticks will fetch nothing; raise POLL_INTERVAL or the rate");
  }
  if (p.rolling()) {
    warnings.push_back("each full sweep makes " + std::to_string(p.sweep_calls) +
                       " API calls (PAGES x currencies) but RATE_LIMIT_PER_MINUTE allows only " +
                       std::to_string(p.budget_per_tick) +
                       " per POLL_INTERVAL=" + format_duration(config.poll_interval) +
                       "; pages are spread over " + std::to_string(p.ticks_per_sweep) +
                       " consecutive ticks (a rolling sweep), so each page is refreshed every " +
                       format_duration(p.sweep_duration));
  }
  if (p.exceeds_monthly_credits()) {
    warnings.push_back(
        "the configuration implies up to " +
        std::to_string(static_cast<long long>(p.calls_per_month)) +
        " API calls per 30-day month, more than the plan's " +
        std::to_string(*config.monthly_credits) +
        " monthly credits (COINGECKO_MONTHLY_CREDITS); raise POLL_INTERVAL or lower PAGES");
  }
  return warnings;
}

} // namespace etl::config
