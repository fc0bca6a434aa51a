#pragma once
// Fixed-rate ticker: ticks at start, start + interval, start + 2*interval, ... on one thread,
// so two ticks never overlap. A tick that overruns makes the slots it covered "skipped"
// (counted) rather than queued, so a slow CoinGecko or database never causes a burst.
// Every wait ends at once when stop is requested.
#include "core/stop_signal.hpp"

#include <chrono>
#include <cstdint>
#include <functional>

namespace etl::scheduler {

using Clock = std::chrono::steady_clock;

struct NextSlot {
  Clock::time_point at; // when the next tick starts
  std::int64_t skipped; // slots that passed while the previous tick ran
};

// Pure: the first slot strictly after the one that started at `last_start` that is not yet in
// the past at `now` (slots that already passed count as skipped).
NextSlot next_slot(Clock::time_point last_start, Clock::duration interval,
                   Clock::time_point now) noexcept;

struct TickContext {
  std::int64_t sequence = 0;  // 0 for the first tick
  Clock::time_point started;  // the slot time
  Clock::time_point deadline; // the next slot: work should not run past it
};

struct SchedulerHooks {
  std::function<void(const TickContext&)> tick;
  std::function<void(std::int64_t count)> skipped;
  std::function<void()> heartbeat; // called before and after each tick and while waiting
};

// Runs until stop is requested. Heartbeats at least every `heartbeat_every` while idle.
void run_fixed_rate(Clock::duration interval, StopSignal& stop, const SchedulerHooks& hooks,
                    Clock::duration heartbeat_every = std::chrono::seconds(5));

} // namespace etl::scheduler
