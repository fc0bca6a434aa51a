#pragma once
// The rolling-sweep planner. Pure: no clock, no I/O. How many calls a tick may make (and so
// how many ticks a sweep takes) is pacing/'s arithmetic; this turns it into each tick's calls.
#include "pacing/pacing.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace etl::pipeline {

struct PageCall {
  std::size_t currency = 0; // index into the configured currency list
  int page = 1;             // the real API page number (1-based)
  friend bool operator==(const PageCall&, const PageCall&) = default;
};

struct TickPlan {
  std::vector<PageCall> calls; // in order; each currency's pages are consecutive and ascending
  std::size_t next_cursor = 0; // where the next tick continues
  bool sweep_starts = false;   // this window begins a sweep (cursor was 0)
  bool sweep_ends = false;     // this window finishes a sweep
};

// The window of the sweep for the tick at `cursor` (a position in [0, pages x currencies);
// anything out of range restarts the sweep). `budget` is calls per tick (Pacing::budget_per_tick).
// When the whole sweep fits, every tick gets all of it and the cursor stays 0. Otherwise the
// sweep's windows are pacing::balance(sweep, budget); a window
// never wraps past the end of a sweep, so a currency's pages in one tick are contiguous.
TickPlan plan_tick(std::size_t cursor, int pages, std::size_t currencies, std::int64_t budget);

} // namespace etl::pipeline
