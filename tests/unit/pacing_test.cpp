// The one pacing computation (pacing/): its edge cases. The README's worked examples are in
// pipeline_sweep_test.cpp; the agreement with the token bucket in coingecko_pacing_test.cpp.
#include "pacing/pacing.hpp"

#include <limits>

#include <catch2/catch.hpp>

using namespace std::chrono_literals;
using etl::pacing::balance;
using etl::pacing::compute_pacing;

TEST_CASE("pacing: balanced windows", "[pacing]") {
  CHECK(balance(5, 4).ticks == 2);
  CHECK(balance(5, 4).calls_per_tick == 3); // 3 + 2, not 4 + 1
  CHECK(balance(210, 30).ticks == 7);
  CHECK(balance(210, 30).calls_per_tick == 30);
  CHECK(balance(3, 10).ticks == 1);
  CHECK(balance(3, 10).calls_per_tick == 3);
  CHECK(balance(3, 0).ticks == 3); // a budget below 1 still makes progress
  CHECK(balance(0, 5).calls_per_tick == 1);
}

TEST_CASE("pacing: no rate limit fetches the whole sweep every tick", "[pacing]") {
  for (const double rate : {0.0, -1.0, std::numeric_limits<double>::infinity(),
                            std::numeric_limits<double>::quiet_NaN()}) {
    const auto p = compute_pacing(40, 3, rate, 30s);
    CHECK(p.unlimited);
    CHECK(p.budget_per_tick == 120);
    CHECK(p.ticks_per_sweep == 1);
    CHECK_FALSE(p.rolling());
    CHECK(p.calls_per_tick == 120);
    CHECK(p.calls_per_minute == Approx(240.0)); // nothing caps it
    CHECK(p.calls_per_month == Approx(240.0 * 43'200));
    CHECK_FALSE(p.ticks_may_fetch_nothing);
    CHECK(p.call_spacing == 0ms);
    CHECK(p.sweep_duration == 30s);
  }
}

TEST_CASE("pacing: a budget below the currency count spreads one page per tick", "[pacing]") {
  // 1 page in 3 currencies, 1 call per minute, ticking every minute: three ticks per sweep.
  const auto p = compute_pacing(1, 3, 1, 60s);
  CHECK_FALSE(p.unlimited);
  CHECK(p.budget_per_tick == 1);
  CHECK(p.rolling());
  CHECK(p.ticks_per_sweep == 3);
  CHECK(p.calls_per_tick == 1);
  CHECK(p.sweep_duration == 3min);
  CHECK(p.call_spacing == 60s);
  CHECK_FALSE(p.ticks_may_fetch_nothing);
}

TEST_CASE("pacing: an interval shorter than a call's spacing is flagged", "[pacing]") {
  const auto p = compute_pacing(1, 1, 5, 10s); // 5/min: one call per 12 s
  CHECK(p.ticks_may_fetch_nothing);
  CHECK(p.call_spacing == 12s);
  CHECK(p.budget_per_tick == 1);
  CHECK(p.calls_per_minute == Approx(5.0)); // the rate caps it, not 6 ticks a minute
  // Exactly one call's spacing is not flagged (5/min x 12 s rounds to 0.99999...).
  CHECK_FALSE(compute_pacing(1, 1, 5, 12s).ticks_may_fetch_nothing);
}

TEST_CASE("pacing: monthly calls against the plan's credits", "[pacing]") {
  // Demo defaults: 1 page every 30 s at 30/min is 2 calls a minute, 86,400 a month.
  const auto demo = compute_pacing(1, 1, 30, 30s, 10'000);
  CHECK(demo.calls_per_month == Approx(86'400.0));
  CHECK(demo.exceeds_monthly_credits());
  CHECK_FALSE(compute_pacing(1, 1, 30, 30s, 86'400).exceeds_monthly_credits()); // equal is within
  CHECK(compute_pacing(1, 1, 30, 30s, 86'399).exceeds_monthly_credits());
  CHECK_FALSE(compute_pacing(1, 1, 30, 30s).exceeds_monthly_credits()); // credits unknown
  // Hourly polling of one page fits easily: 720 calls a month.
  const auto hourly = compute_pacing(1, 1, 30, 1h, 10'000);
  CHECK(hourly.calls_per_month == Approx(720.0));
  CHECK_FALSE(hourly.exceeds_monthly_credits());
}

TEST_CASE("pacing: arguments out of range are clamped", "[pacing]") {
  const auto p = compute_pacing(0, 0, 5, 0ms);
  CHECK(p.sweep_calls == 1);
  CHECK(p.budget_per_tick == 1);
  CHECK(p.sweep_duration == 1ms);
  CHECK(p.calls_per_minute == Approx(5.0));
}
