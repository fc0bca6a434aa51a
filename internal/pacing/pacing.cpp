#include "pacing/pacing.hpp"

#include <algorithm>
#include <cmath>

namespace etl::pacing {
namespace {

constexpr double kMinutesPerMonth = 60.0 * 24.0 * 30.0;
// Keeps 5/min x 12 s = 0.99999... from flooring to 0 through rounding.
constexpr double kEpsilon = 1e-9;

std::int64_t ceil_div(std::int64_t a, std::int64_t b) noexcept { return (a + b - 1) / b; }

} // namespace

Windows balance(std::int64_t sweep_calls, std::int64_t budget) noexcept {
  const std::int64_t sweep = std::max<std::int64_t>(sweep_calls, 1);
  const std::int64_t b = std::max<std::int64_t>(budget, 1);
  Windows w;
  w.ticks = ceil_div(sweep, b);
  w.calls_per_tick = ceil_div(sweep, w.ticks);
  return w;
}

Pacing compute_pacing(int pages, std::size_t currencies, double rate_per_minute,
                      std::chrono::milliseconds interval,
                      std::optional<std::int64_t> monthly_credits) {
  Pacing p;
  const std::int64_t page_count = std::max(pages, 1);
  const auto currency_count = static_cast<std::int64_t>(std::max<std::size_t>(currencies, 1));
  const auto tick = std::max(interval, std::chrono::milliseconds{1});
  const double seconds = std::chrono::duration<double>(tick).count();
  p.unlimited = !std::isfinite(rate_per_minute) || rate_per_minute <= 0;
  p.monthly_credits = monthly_credits;
  p.sweep_calls = page_count * currency_count;

  if (p.unlimited) {
    p.budget_per_tick = p.sweep_calls;
  } else {
    const double raw_budget = rate_per_minute * seconds / 60.0;
    p.ticks_may_fetch_nothing = raw_budget + kEpsilon < 1.0;
    const double budget = std::floor(raw_budget + kEpsilon);
    p.budget_per_tick =
        std::max<std::int64_t>(1, static_cast<std::int64_t>(std::min(budget, 1e12)));
    p.call_spacing = std::chrono::milliseconds(static_cast<long long>(60'000.0 / rate_per_minute));
  }
  const Windows w = balance(p.sweep_calls, p.budget_per_tick);
  p.ticks_per_sweep = w.ticks;
  p.calls_per_tick = w.calls_per_tick;
  p.sweep_duration = tick * p.ticks_per_sweep;
  // The limiter is the ceiling: ticking faster than one call's spacing does not add calls.
  p.calls_per_minute = static_cast<double>(p.calls_per_tick) * 60.0 / seconds;
  if (!p.unlimited) p.calls_per_minute = std::min(p.calls_per_minute, rate_per_minute);
  p.calls_per_month = p.calls_per_minute * kMinutesPerMonth;
  return p;
}

} // namespace etl::pacing
