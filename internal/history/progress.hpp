#pragma once
// The backfill's progress text (pure). On a terminal the run redraws one line in place
// (progress_bar, written after '\r'); elsewhere it logs progress_line every few seconds.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace etl::history {

struct ProgressState {
  std::int64_t planned = 0;
  std::int64_t done = 0;
  std::int64_t provisional = 0;
  std::int64_t failed = 0;
  std::chrono::duration<double> elapsed{};
  [[nodiscard]] std::int64_t finished() const noexcept { return done + provisional + failed; }
  [[nodiscard]] double rate() const noexcept; // chunks per second, 0 before the first
  // Seconds left at the current rate; nullopt before a rate is known or when finished.
  [[nodiscard]] std::optional<double> eta_seconds() const noexcept;
};

// "[#########...........]  12/40  30%  1.25/s  ETA 0:23  3 failed", exactly `width` columns
// (padded with spaces so a shorter redraw erases the previous one; cut when too narrow).
std::string progress_bar(const ProgressState& s, int width);
// "12/40 chunk(s) (9 done, 0 provisional, 3 failed), 1.25 chunk(s)/s, ETA 23s"
std::string progress_line(const ProgressState& s, bool last);
// "0:23", "12:05", "3:02:11".
std::string format_duration(double seconds);

} // namespace etl::history
