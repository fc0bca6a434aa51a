#include "history/fill_quota.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace etl::history {

std::int64_t tick_quota(std::int64_t budget_per_tick, std::int64_t sweep_calls) noexcept {
  if (budget_per_tick <= 0) return 0;
  return std::max<std::int64_t>(0, budget_per_tick - std::max<std::int64_t>(0, sweep_calls));
}

std::optional<std::int64_t> daily_history_allowance(std::optional<std::int64_t> monthly_credits,
                                                    double poller_calls_per_month) noexcept {
  if (!monthly_credits) return std::nullopt;
  // Both sides per day of a 30-day month, as the pacing warning counts the month.
  const double free_per_day =
      (static_cast<double>(*monthly_credits) - std::max(0.0, poller_calls_per_month)) / 30.0;
  return std::max<std::int64_t>(0, static_cast<std::int64_t>(std::floor(free_per_day)));
}

bool DailyCredits::try_spend(std::int64_t utc_day) noexcept {
  if (utc_day != m_day) {
    m_day = utc_day;
    m_spent = 0;
  }
  if (m_allowance && m_spent >= *m_allowance) return false;
  ++m_spent;
  return true;
}

namespace {
std::string percent(double part, double whole) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f%%", whole > 0 ? 100.0 * part / whole : 0.0);
  return buf;
}
} // namespace

std::string credit_share_line(std::int64_t planned_calls,
                              std::optional<std::int64_t> monthly_credits,
                              double poller_calls_per_month) {
  std::string line = "credits: this plan spends up to ";
  line += std::to_string(planned_calls);
  line += " call(s)";
  if (!monthly_credits) {
    line += " (COINGECKO_MONTHLY_CREDITS unset: the month's credits are unknown; the poller uses "
            "up to ";
    line += std::to_string(static_cast<std::int64_t>(poller_calls_per_month));
    line += " per 30-day month)";
    return line;
  }
  const auto credits = static_cast<double>(*monthly_credits);
  line += ", ";
  line += percent(static_cast<double>(planned_calls), credits);
  line += " of the month's ";
  line += std::to_string(*monthly_credits);
  line += " credits; the poller uses up to ";
  line += std::to_string(static_cast<std::int64_t>(poller_calls_per_month));
  line += " (";
  line += percent(poller_calls_per_month, credits);
  line += ")";
  if (static_cast<double>(planned_calls) + poller_calls_per_month > credits)
    line += ": together more than the month's credits";
  return line;
}

} // namespace etl::history
