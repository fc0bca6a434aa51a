#include "scheduler/scheduler.hpp"

#include <thread>

#include <catch2/catch.hpp>

using namespace etl::scheduler;
using namespace std::chrono;

TEST_CASE("next_slot keeps a fixed rate and skips slots an overrun covered", "[scheduler]") {
  const Clock::time_point t0{};
  const auto i = seconds(30);
  auto n = next_slot(t0, i, t0 + seconds(2)); // a quick tick
  CHECK(n.at == t0 + seconds(30));
  CHECK(n.skipped == 0);
  n = next_slot(t0, i, t0 + seconds(30)); // finished exactly on the next slot
  CHECK(n.at == t0 + seconds(30));
  CHECK(n.skipped == 0);
  n = next_slot(t0, i, t0 + seconds(31)); // overran one slot
  CHECK(n.at == t0 + seconds(60));
  CHECK(n.skipped == 1);
  n = next_slot(t0, i, t0 + seconds(95)); // overran three slots: 30, 60, 90
  CHECK(n.at == t0 + seconds(120));
  CHECK(n.skipped == 3);
}

TEST_CASE("run_fixed_rate ticks at start, never overlaps, and stops at once", "[scheduler]") {
  etl::StopSignal stop;
  int ticks = 0;
  std::int64_t skipped = 0;
  bool in_tick = false;
  bool overlapped = false;
  SchedulerHooks hooks;
  const auto start = Clock::now();
  Clock::time_point first_tick{};
  hooks.tick = [&](const TickContext& t) {
    if (in_tick) overlapped = true;
    in_tick = true;
    if (ticks == 0) first_tick = Clock::now();
    CHECK(t.deadline - t.started == milliseconds(50));
    if (++ticks == 2) std::this_thread::sleep_for(milliseconds(120)); // overrun two slots
    if (ticks == 4) stop.request_stop();
    in_tick = false;
  };
  hooks.skipped = [&](std::int64_t n) { skipped += n; };
  run_fixed_rate(milliseconds(50), stop, hooks);
  CHECK(ticks == 4);
  CHECK_FALSE(overlapped);
  CHECK(skipped >= 2);
  // "At start" means before the first interval (50 ms) is up, with room for a slow (sanitizer)
  // build.
  CHECK(first_tick - start < milliseconds(45));
}

TEST_CASE("a stop request ends a long wait at once", "[scheduler]") {
  etl::StopSignal stop;
  SchedulerHooks hooks;
  hooks.tick = [](const TickContext&) {};
  std::thread stopper([&] {
    std::this_thread::sleep_for(milliseconds(100));
    stop.request_stop();
  });
  const auto start = Clock::now();
  run_fixed_rate(hours(1), stop, hooks);
  stopper.join();
  CHECK(Clock::now() - start < seconds(2));
}
