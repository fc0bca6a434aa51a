#include "http/rate_limiter.hpp"

#include <algorithm>
#include <cmath>

namespace etl::http {

namespace {
// Refill arithmetic in doubles lands a hair under a whole token (12 s * 5/60 = 0.99999...):
// that must not turn into a 1 ns wait.
constexpr double kEpsilon = 1e-9;
} // namespace

RateLimiter::RateLimiter(double per_minute, double burst, Clock::time_point now) noexcept
    : m_per_second(std::isfinite(per_minute) && per_minute > 0 ? per_minute / 60.0 : 0.0),
      m_burst(std::isfinite(burst) && burst >= 1 ? burst : 1.0), m_tokens(m_burst), m_last(now) {}

void RateLimiter::refill(Clock::time_point now) noexcept {
  if (now <= m_last) return; // a stale `now` must not mint tokens or move time backwards
  const double elapsed = std::chrono::duration<double>(now - m_last).count();
  m_tokens = std::min(m_burst, m_tokens + elapsed * m_per_second);
  m_last = now;
}

RateLimiter::Clock::duration RateLimiter::wait_needed(Clock::time_point now) noexcept {
  if (m_per_second <= 0) return Clock::duration::zero(); // no limit configured
  refill(now);
  if (m_tokens >= 1.0 - kEpsilon) return Clock::duration::zero();
  const std::chrono::duration<double> wait{(1.0 - m_tokens) / m_per_second};
  return std::chrono::ceil<Clock::duration>(wait);
}

void RateLimiter::consume(Clock::time_point now) noexcept {
  if (m_per_second <= 0) return;
  refill(now);
  // Going into debt keeps the long-run rate honest when a caller consumes without waiting.
  m_tokens = std::max(m_tokens - 1.0, -m_burst);
}

} // namespace etl::http
