#include "http/rate_limiter.hpp"

#include <catch2/catch.hpp>

using namespace std::chrono_literals;
using etl::http::RateLimiter;

namespace {
const RateLimiter::Clock::time_point t0{}; // injected: the limiter never reads a clock itself

double seconds(RateLimiter::Clock::duration d) { return std::chrono::duration<double>(d).count(); }
} // namespace

TEST_CASE("RateLimiter: starts full, then paces at the configured rate") {
  RateLimiter limiter(5, 5, t0); // 5 per minute: one token every 12 s
  for (int i = 0; i < 5; ++i) {
    INFO(i);
    CHECK(limiter.wait_needed(t0) == RateLimiter::Clock::duration::zero());
    limiter.consume(t0);
  }
  CHECK(seconds(limiter.wait_needed(t0)) == Approx(12.0).margin(1e-6));
  CHECK(seconds(limiter.wait_needed(t0 + 5s)) == Approx(7.0).margin(1e-6));
  CHECK(limiter.wait_needed(t0 + 12s) == RateLimiter::Clock::duration::zero());
  limiter.consume(t0 + 12s);
  CHECK(seconds(limiter.wait_needed(t0 + 12s)) == Approx(12.0).margin(1e-6));
}

TEST_CASE("RateLimiter: burst of one spaces every call") {
  RateLimiter limiter(60, 1, t0);
  CHECK(limiter.wait_needed(t0) == RateLimiter::Clock::duration::zero());
  limiter.consume(t0);
  CHECK(seconds(limiter.wait_needed(t0 + 250ms)) == Approx(0.75).margin(1e-6));
  limiter.consume(t0 + 1s);
  CHECK(seconds(limiter.wait_needed(t0 + 1s)) == Approx(1.0).margin(1e-6));
}

TEST_CASE("RateLimiter: idle time refills no more than the burst") {
  RateLimiter limiter(60, 2, t0);
  limiter.consume(t0);
  limiter.consume(t0);
  const auto later = t0 + 1h;
  limiter.consume(later);
  limiter.consume(later);
  CHECK(seconds(limiter.wait_needed(later)) == Approx(1.0).margin(1e-6));
}

TEST_CASE("RateLimiter: consuming without waiting builds debt that delays later calls") {
  RateLimiter limiter(60, 1, t0);
  limiter.consume(t0);
  limiter.consume(t0);
  limiter.consume(t0);
  CHECK(seconds(limiter.wait_needed(t0)) > 1.5);
}

TEST_CASE("RateLimiter: a clock reading from the past neither mints tokens nor breaks pacing") {
  RateLimiter limiter(60, 1, t0 + 10s);
  limiter.consume(t0 + 10s);
  CHECK(seconds(limiter.wait_needed(t0)) == Approx(1.0).margin(1e-6));
  CHECK(limiter.wait_needed(t0 + 11s) == RateLimiter::Clock::duration::zero());
}

TEST_CASE("RateLimiter: zero or negative rate means unlimited") {
  RateLimiter limiter(0, 1, t0);
  for (int i = 0; i < 100; ++i) limiter.consume(t0);
  CHECK(limiter.wait_needed(t0) == RateLimiter::Clock::duration::zero());
}
