#include "pipeline/sweep.hpp"

#include <algorithm>

namespace etl::pipeline {

TickPlan plan_tick(std::size_t cursor, int pages, std::size_t currencies, std::int64_t budget) {
  TickPlan plan;
  if (pages < 1 || currencies == 0) return plan;
  const auto sweep = static_cast<std::size_t>(pages) * currencies;
  const auto b = static_cast<std::size_t>(std::max<std::int64_t>(budget, 1));
  if (cursor >= sweep) cursor = 0;

  std::size_t begin = 0;
  std::size_t end = sweep;
  if (b < sweep) {
    const auto chunk = static_cast<std::size_t>(
        pacing::balance(static_cast<std::int64_t>(sweep), static_cast<std::int64_t>(b))
            .calls_per_tick);
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
