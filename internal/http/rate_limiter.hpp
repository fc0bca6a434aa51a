#pragma once
// Token bucket: `per_minute` calls per minute with a burst of up to `burst` calls.
// Pure: the caller passes the current time, so tests inject a clock.
#include <chrono>

namespace etl::http {

class RateLimiter {
public:
  using Clock = std::chrono::steady_clock;
  RateLimiter(double per_minute, double burst, Clock::time_point now) noexcept;

  // How long to wait before the next call may go out (zero when a token is available).
  [[nodiscard]] Clock::duration wait_needed(Clock::time_point now) noexcept;
  // Takes one token. Call after wait_needed() returned zero (or after waiting that long).
  void consume(Clock::time_point now) noexcept;

private:
  void refill(Clock::time_point now) noexcept;
  double m_per_second;
  double m_burst;
  double m_tokens;
  Clock::time_point m_last;
};

} // namespace etl::http
