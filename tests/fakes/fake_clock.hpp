#pragma once
// A clock that moves only when the test says so: deadlines and back-off without sleeping.
#include "core/clock.hpp"

namespace etl::fakes {

class FakeClock final : public Clock {
public:
  FakeClock()
      : m_wall(std::chrono::sys_days{std::chrono::year{2026} / 11 / 22} + std::chrono::hours(14)) {}
  [[nodiscard]] WallTime wall_now() const override { return m_wall; }
  [[nodiscard]] SteadyTime steady_now() const override { return m_steady; }
  void advance(std::chrono::nanoseconds d) {
    m_wall += std::chrono::duration_cast<WallTime::duration>(d);
    m_steady += d;
  }

private:
  WallTime m_wall;
  SteadyTime m_steady{std::chrono::hours(1000)};
};

} // namespace etl::fakes
