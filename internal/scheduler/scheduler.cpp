#include "scheduler/scheduler.hpp"

#include <algorithm>

namespace etl::scheduler {

NextSlot next_slot(Clock::time_point last_start, Clock::duration interval,
                   Clock::time_point now) noexcept {
  Clock::time_point next = last_start + interval;
  if (now <= next) return NextSlot{next, 0};
  // Overran: jump to the first slot at or after now; every slot strictly in between is skipped.
  const auto behind = (now - next) / interval; // whole intervals missed after `next`
  std::int64_t skipped = static_cast<std::int64_t>(behind) + 1;
  next += interval * (behind + 1);
  return NextSlot{next, skipped};
}

void run_fixed_rate(Clock::duration interval, StopSignal& stop, const SchedulerHooks& hooks,
                    Clock::duration heartbeat_every) {
  auto beat = [&] {
    if (hooks.heartbeat) hooks.heartbeat();
  };
  Clock::time_point slot = Clock::now();
  for (std::int64_t sequence = 0; !stop.stop_requested(); ++sequence) {
    beat();
    hooks.tick(TickContext{sequence, slot, slot + interval});
    beat();
    if (stop.stop_requested()) break;
    const NextSlot next = next_slot(slot, interval, Clock::now());
    if (next.skipped > 0 && hooks.skipped) hooks.skipped(next.skipped);
    slot = next.at;
    // Wait in heartbeat-sized steps so liveness stays fresh during long intervals.
    while (!stop.stop_requested() && Clock::now() < slot) {
      if (stop.wait_until(std::min(slot, Clock::now() + heartbeat_every))) break;
      beat();
    }
  }
}

} // namespace etl::scheduler
