#pragma once
// Pacing arithmetic and the rolling-sweep planner. Pure: no clock, no I/O.
//
// A full sweep is PAGES pages for each of the configured currencies: PAGES x currencies calls.
// The rate limiter allows RATE_LIMIT_PER_MINUTE calls per minute, so one tick of POLL_INTERVAL
// can spend at most floor(rate x interval / 60 s) calls without queueing behind the limiter
// (and, against the real API, without meeting 429s). When the sweep needs more than that, it
// is spread over consecutive ticks: each tick fetches the next window of the sweep, in order
// currency by currency and page by page, and the windows are balanced so every tick of a sweep
// makes about the same number of calls.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace etl::pipeline {

struct Pacing {
  std::int64_t sweep_calls = 0;     // PAGES x currencies: one full sweep
  std::int64_t budget_per_tick = 0; // floor(rate x interval / 60 s), at least 1
  std::int64_t ticks_per_sweep = 1; // 1 = every tick fetches everything
  std::int64_t calls_per_tick = 0;  // what a tick actually plans (<= budget when rolling)
  double calls_per_minute = 0;      // calls_per_tick x 60 s / interval, at most the rate
                                    // (an upper bound: short pages make fewer, retries more)
  double calls_per_month = 0;       // calls_per_minute x 60 x 24 x 30 (a 30-day month)
  [[nodiscard]] bool rolling() const noexcept { return ticks_per_sweep > 1; }
};

// Every argument is clamped to something sane (>= 1 page, >= 1 currency, rate > 0).
Pacing compute_pacing(int pages, std::size_t currencies, double rate_per_minute,
                      std::chrono::milliseconds interval);

struct PageCall {
  std::size_t currency = 0; // index into the configured currency list
  int page = 1;             // the real API page number (1-based)
  friend bool operator==(const PageCall&, const PageCall&) = default;
};

struct TickPlan {
  std::vector<PageCall> calls;   // in order; each currency's pages are consecutive and ascending
  std::size_t next_cursor = 0;   // where the next tick continues
  bool sweep_starts = false;     // this window begins a sweep (cursor was 0)
  bool sweep_ends = false;       // this window finishes a sweep
};

// The window of the sweep for the tick at `cursor` (a position in [0, pages x currencies);
// anything out of range restarts the sweep). `budget` is calls per tick (Pacing::budget_per_tick).
// When the whole sweep fits, every tick gets all of it and the cursor stays 0. Otherwise the
// sweep takes ceil(sweep / budget) ticks, each of at most ceil(sweep / ticks) calls; a window
// never wraps past the end of a sweep, so a currency's pages in one tick are contiguous.
TickPlan plan_tick(std::size_t cursor, int pages, std::size_t currencies, std::int64_t budget);

} // namespace etl::pipeline
