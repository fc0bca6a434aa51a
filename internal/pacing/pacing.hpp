#pragma once
// Pacing: how many calls a tick may make, how a sweep is spread over ticks, and what that
// costs per minute and per month. The one copy of this arithmetic: config warnings, the
// startup log and metrics, and the rolling-sweep planner all read it from here. Pure.
//
// A full sweep is PAGES pages for each configured currency: PAGES x currencies calls. The
// rate limiter allows RATE_LIMIT_PER_MINUTE calls per minute, so one tick of POLL_INTERVAL can
// spend at most floor(rate x interval / 60 s) calls without queueing behind the limiter (and,
// against the real API, without meeting 429s). A sweep that needs more is spread over
// consecutive ticks, in balanced windows: every tick of a sweep makes about as many calls.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>

namespace etl::pacing {

// A sweep of `sweep_calls` calls at most `budget` per tick: ceil(sweep / budget) ticks of at
// most ceil(sweep / ticks) calls each. Both arguments are taken as at least 1.
struct Windows {
  std::int64_t ticks = 1;
  std::int64_t calls_per_tick = 1;
};
Windows balance(std::int64_t sweep_calls, std::int64_t budget) noexcept;

struct Pacing {
  std::int64_t sweep_calls = 0; // PAGES x currencies: one full sweep
  std::int64_t budget_per_tick =
      0; // floor(rate x interval / 60 s), at least 1; the sweep when unlimited
  std::int64_t ticks_per_sweep = 1; // 1 = every tick fetches everything
  std::int64_t calls_per_tick = 0;  // what a tick actually plans (<= budget when rolling)
  double calls_per_minute = 0;      // calls_per_tick x 60 s / interval, at most the rate
                                    // (an upper bound: short pages make fewer, retries more)
  double calls_per_month = 0;       // calls_per_minute x 60 x 24 x 30 (a 30-day month)
  bool unlimited = false;           // no rate limit (rate <= 0): every tick fetches the sweep
  // The interval is shorter than the spacing of two calls (rate x interval < 1 call): the
  // budget is still 1, but some ticks find no token and fetch nothing.
  bool ticks_may_fetch_nothing = false;
  std::chrono::milliseconds call_spacing{0}; // 60 s / rate; 0 when unlimited
  std::chrono::milliseconds sweep_duration{
      0}; // ticks_per_sweep x interval: each page's refresh period
  std::optional<std::int64_t> monthly_credits; // the plan's, when known

  [[nodiscard]] bool rolling() const noexcept { return ticks_per_sweep > 1; }
  [[nodiscard]] bool exceeds_monthly_credits() const noexcept {
    return monthly_credits && calls_per_month > static_cast<double>(*monthly_credits);
  }
};

// Arguments are clamped to something sane (>= 1 page, >= 1 currency, interval >= 1 ms); a rate
// that is not a positive finite number means no rate limit.
Pacing compute_pacing(int pages, std::size_t currencies, double rate_per_minute,
                      std::chrono::milliseconds interval,
                      std::optional<std::int64_t> monthly_credits = std::nullopt);

} // namespace etl::pacing
