#include "pipeline/sweep.hpp"

#include <algorithm>
#include <cmath>

namespace etl::pipeline {
namespace {

constexpr double kMinutesPerMonth = 60.0 * 24.0 * 30.0;

std::int64_t ceil_div(std::int64_t a, std::int64_t b) { return (a + b - 1) / b; }

} // namespace

Pacing compute_pacing(int pages, std::size_t currencies, double rate_per_minute,
                      std::chrono::milliseconds interval) {
  Pacing p;
  const std::int64_t page_count = std::max(pages, 1);
  const auto currency_count = static_cast<std::int64_t>(std::max<std::size_t>(currencies, 1));
  const double seconds = std::max(std::chrono::duration<double>(interval).count(), 0.001);
  const double rate = std::isfinite(rate_per_minute) && rate_per_minute > 0 ? rate_per_minute : 1.0;

  p.sweep_calls = page_count * currency_count;
  // The tiny epsilon keeps 5/min x 12 s = 0.99999... from flooring to 0 through rounding.
  const double budget = std::floor(rate * seconds / 60.0 + 1e-9);
  p.budget_per_tick = std::max<std::int64_t>(1, static_cast<std::int64_t>(std::min(budget, 1e12)));
  p.ticks_per_sweep = ceil_div(p.sweep_calls, p.budget_per_tick);
  p.calls_per_tick = ceil_div(p.sweep_calls, p.ticks_per_sweep);
  // The limiter is the ceiling: ticking faster than one call's spacing does not add calls.
  p.calls_per_minute = std::min(static_cast<double>(p.calls_per_tick) * 60.0 / seconds, rate);
  p.calls_per_month = p.calls_per_minute * kMinutesPerMonth;
  return p;
}

TickPlan plan_tick(std::size_t cursor, int pages, std::size_t currencies, std::int64_t budget) {
  TickPlan plan;
  if (pages < 1 || currencies == 0) return plan;
  const auto sweep = static_cast<std::size_t>(pages) * currencies;
  const auto b = static_cast<std::size_t>(std::max<std::int64_t>(budget, 1));
  if (cursor >= sweep) cursor = 0;

  std::size_t begin = 0;
  std::size_t end = sweep;
  if (b < sweep) {
    const std::size_t ticks = (sweep + b - 1) / b;
    const std::size_t chunk = (sweep + ticks - 1) / ticks;
    begin = cursor;
    end = std::min(sweep, begin + chunk);
  }
  plan.sweep_starts = begin == 0;
  plan.sweep_ends = end == sweep;
  plan.next_cursor = end == sweep ? 0 : end;
  plan.calls.reserve(end - begin);
  const auto per_currency = static_cast<std::size_t>(pages);
  for (std::size_t i = begin; i < end; ++i)
    plan.calls.push_back(PageCall{i / per_currency, static_cast<int>(i % per_currency) + 1});
  return plan;
}

} // namespace etl::pipeline
