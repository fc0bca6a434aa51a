// The pacing budget and the token bucket agree: a tick's planned calls, taken through the real
// RateLimiter (burst 1, every attempt takes a token) on an injected clock, all go out before the
// next tick starts, tick after tick, so a rolling sweep never queues into the next interval.
#include "http/rate_limiter.hpp"
#include "pipeline/sweep.hpp"

#include <catch2/catch.hpp>

using namespace std::chrono_literals;
using etl::http::RateLimiter;

namespace {

struct Config {
  int pages;
  std::size_t currencies;
  double rate;
  std::chrono::milliseconds interval;
};

// Simulates `sweeps` full sweeps; returns the latest moment (relative to its tick's start) at
// which any call went out, as a fraction of the interval.
double worst_call_offset(const Config& c, int sweeps) {
  const auto pacing = etl::pacing::compute_pacing(c.pages, c.currencies, c.rate, c.interval);
  const RateLimiter::Clock::time_point t0{};
  RateLimiter limiter(c.rate, 1, t0);
  std::size_t cursor = 0;
  double worst = 0;
  const auto ticks = pacing.ticks_per_sweep * sweeps;
  for (std::int64_t tick = 0; tick < ticks; ++tick) {
    const auto start = t0 + tick * c.interval;
    auto now = start;
    const auto plan =
        etl::pipeline::plan_tick(cursor, c.pages, c.currencies, pacing.budget_per_tick);
    cursor = plan.next_cursor;
    for (std::size_t call = 0; call < plan.calls.size(); ++call) {
      now += limiter.wait_needed(now);
      limiter.consume(now);
      worst = std::max(worst, std::chrono::duration<double>(now - start) /
                                  std::chrono::duration<double>(c.interval));
    }
  }
  return worst;
}

} // namespace

TEST_CASE("pacing: every planned call of a tick leaves before the next tick", "[pacing]") {
  const Config configs[] = {
      {1, 1, 5, 30s},    // keyless default
      {70, 1, 30, 60s},  // demo, whole market, one currency: 3 ticks per sweep
      {70, 3, 30, 60s},  // demo, three currencies: 7 ticks per sweep
      {70, 3, 500, 30s}, // pro
      {12, 2, 5, 12s},   // keyless, exactly one call per tick
      {7, 3, 45, 4s},    // odd numbers
      {3, 1, 6000, 1s},  // the system tests' setting
  };
  for (const auto& c : configs) {
    INFO("pages=" << c.pages << " currencies=" << c.currencies << " rate=" << c.rate
                  << " interval=" << c.interval.count() << "ms");
    const double worst = worst_call_offset(c, 3);
    CHECK(worst < 1.0);
  }
}

TEST_CASE("pacing: without the rolling sweep the same whole-market tick would overrun",
          "[pacing]") {
  // The demo plan polling 70 pages x 3 currencies every minute: burst-1 pacing needs 7 minutes
  // for one tick's 210 calls, which is why the pages are spread over ticks instead.
  const RateLimiter::Clock::time_point t0{};
  RateLimiter limiter(30, 1, t0);
  auto now = t0;
  for (int call = 0; call < 210; ++call) {
    now += limiter.wait_needed(now);
    limiter.consume(now);
  }
  CHECK(now - t0 > 60s * 6);
  CHECK(etl::pacing::compute_pacing(70, 3, 30, 60s).ticks_per_sweep == 7);
}

TEST_CASE("pacing: an interval shorter than one call's spacing is bounded by the rate",
          "[pacing]") {
  // 5/min is one call per 12 s; ticking every 10 s cannot make a call every tick. The pacing
  // says so (config_warnings names it), and the implied rate never exceeds the limiter's.
  const auto p = etl::pacing::compute_pacing(1, 1, 5, 10s);
  CHECK(p.budget_per_tick == 1);
  CHECK(p.calls_per_minute == Approx(5.0));
  CHECK(p.calls_per_month == Approx(5.0 * 43'200));
}
