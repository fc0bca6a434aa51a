#pragma once
// The clock seam: code that decides by time (deadlines, back-off, ages) reads it through this
// interface, so tests drive time by hand instead of sleeping. Wall time names files and stamps
// rows; steady time measures durations and deadlines (immune to clock jumps).
#include <chrono>

namespace etl {

class Clock {
public:
  using WallTime = std::chrono::system_clock::time_point;
  using SteadyTime = std::chrono::steady_clock::time_point;
  virtual ~Clock() = default;
  [[nodiscard]] virtual WallTime wall_now() const = 0;
  [[nodiscard]] virtual SteadyTime steady_now() const = 0;
};

// The host's clocks.
class SystemClock final : public Clock {
public:
  [[nodiscard]] WallTime wall_now() const override { return std::chrono::system_clock::now(); }
  [[nodiscard]] SteadyTime steady_now() const override { return std::chrono::steady_clock::now(); }
};

// The process-wide instance (stateless, so sharing it is free).
inline const Clock& system_clock() {
  static const SystemClock clock;
  return clock;
}

} // namespace etl
