#pragma once
// How old a spooled snapshot is, for SPOOL_MAX_AGE and RETENTION, measured so that a wall clock
// that jumps forward cannot age anything by itself (issue 9, item 8). Pure: the caller passes
// both clocks' readings and the newest snapshot on disk; no I/O.
//
// A snapshot's age is the smaller of
//  * the wall clock's view: now - the time in its name, and
//  * what this process measured: its age when first seen, plus the monotonic time since. The
//    age when first seen is min(now, newest snapshot on disk) - its time, so a clock that
//    jumped while the daemon was stopped is not believed either: a stop counts only up to the
//    newest snapshot on disk (ages may run late by the length of a stop, never early).
#include "spool/naming.hpp"

#include <chrono>
#include <optional>
#include <string>
#include <unordered_map>

namespace etl::spool {

class SnapshotAges {
public:
  using SteadyTime = std::chrono::steady_clock::time_point;

  // Ages by the wall clock alone (tests of the spool's rules at fixed instants).
  static SnapshotAges wall_clock_only() {
    SnapshotAges ages;
    ages.m_wall_only = true;
    return ages;
  }

  // Starts a maintenance pass with both clocks' readings and the newest snapshot's time on disk
  // (nullopt when the spool is empty).
  void begin_pass(SysTime wall_now, SteadyTime steady_now, std::optional<SysTime> newest_on_disk);
  // The age of snapshot `id` named at `named`, never negative.
  std::chrono::seconds age(const std::string& id, SysTime named);
  // Forgets snapshots not asked about for an hour (their files are gone).
  void end_pass();

  // The largest amount by which the wall clock alone overstated an age in this pass: a jump
  // forward (or a long stop) shows here, for a loud log line.
  [[nodiscard]] std::chrono::seconds wall_overstatement() const noexcept { return m_overstatement; }

private:
  struct Seen {
    std::chrono::seconds age_then{0};
    SteadyTime seen_at{};
    SteadyTime last_asked{};
  };
  std::unordered_map<std::string, Seen> m_seen;
  SysTime m_wall{};
  SteadyTime m_steady{};
  SysTime m_reference{}; // min(wall now, newest on disk)
  std::chrono::seconds m_overstatement{0};
  bool m_wall_only = false;
};

} // namespace etl::spool
