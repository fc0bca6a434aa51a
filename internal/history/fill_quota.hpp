#pragma once
// The background fill's call arithmetic (issue 11), pure: how many history calls a tick leaves
// free, how many the monthly credits leave free per day, and what share of the month a backfill
// plan spends. The daemon and the backfill command share one credit account with the poller.
#include <cstdint>
#include <optional>
#include <string>

namespace etl::history {

// Calls the filler may make after a tick: the tick's budget minus what its sweep used (retries
// included), never negative. A budget of 0 means "no limit" for the sweep, so nothing is left.
std::int64_t tick_quota(std::int64_t budget_per_tick, std::int64_t sweep_calls) noexcept;

// History calls per day the monthly credits leave free: credits / 30 - the poller's calls per
// day, floored, never negative. nullopt when the credits are unknown (no cap).
std::optional<std::int64_t> daily_history_allowance(std::optional<std::int64_t> monthly_credits,
                                                    double poller_calls_per_month) noexcept;

// Counts history calls per UTC day against the daily allowance. Pure: the caller passes the day.
class DailyCredits {
public:
  explicit DailyCredits(std::optional<std::int64_t> allowance) noexcept : m_allowance(allowance) {}
  // True (and counted) when one more call fits today's allowance.
  bool try_spend(std::int64_t utc_day) noexcept;
  [[nodiscard]] std::int64_t spent_today() const noexcept { return m_spent; }
  [[nodiscard]] std::optional<std::int64_t> allowance() const noexcept { return m_allowance; }

private:
  std::optional<std::int64_t> m_allowance;
  std::int64_t m_day = -1;
  std::int64_t m_spent = 0;
};

// One log line for the backfill command: what the plan spends against the month's credits and
// what the poller already uses ("credits unknown" when COINGECKO_MONTHLY_CREDITS is unset).
std::string credit_share_line(std::int64_t planned_calls,
                              std::optional<std::int64_t> monthly_credits,
                              double poller_calls_per_month);

} // namespace etl::history
