#include "history/progress.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace etl::history {

double ProgressState::rate() const noexcept {
  const double secs = elapsed.count();
  return secs > 0 && finished() > 0 ? static_cast<double>(finished()) / secs : 0.0;
}

std::optional<double> ProgressState::eta_seconds() const noexcept {
  const double r = rate();
  const auto left = planned - finished();
  if (r <= 0 || left <= 0) return std::nullopt;
  return static_cast<double>(left) / r;
}

std::string format_duration(double seconds) {
  const auto total = static_cast<long long>(std::llround(std::max(0.0, seconds)));
  char buf[48];
  if (total >= 3600) {
    std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", total / 3600, total / 60 % 60, total % 60);
  } else {
    std::snprintf(buf, sizeof buf, "%lld:%02lld", total / 60, total % 60);
  }
  return buf;
}

std::string progress_bar(const ProgressState& s, int width) {
  const auto finished = s.finished();
  const double fraction =
      s.planned > 0
          ? std::clamp(static_cast<double>(finished) / static_cast<double>(s.planned), 0.0, 1.0)
          : 1.0;
  char tail[160];
  const auto eta = s.eta_seconds();
  std::snprintf(tail, sizeof tail, " %lld/%lld %3d%% %.2f/s ETA %s",
                static_cast<long long>(finished), static_cast<long long>(s.planned),
                static_cast<int>(std::floor(fraction * 100)), s.rate(),
                eta ? format_duration(*eta).c_str() : "-");
  std::string text = tail;
  // Appended piece by piece, never `"literal" + std::string`: GCC 12 at -O3 reports a false
  // -Wrestrict for that (GCC bug 105329), and a user's Release build must stay warning-free.
  if (s.failed > 0) text.append(" ").append(std::to_string(s.failed)).append(" failed");
  const int bar = std::max(0, std::min(40, width - static_cast<int>(text.size()) - 2));
  std::string out;
  if (bar >= 10) {
    const int filled = static_cast<int>(std::floor(fraction * bar));
    out.reserve(static_cast<std::size_t>(bar) + 2 + text.size());
    out.append(1, '[')
        .append(static_cast<std::size_t>(filled), '#')
        .append(static_cast<std::size_t>(bar - filled), '.')
        .append(1, ']');
  }
  out += text;
  const auto w = static_cast<std::size_t>(std::max(width, 0));
  if (out.size() > w) out.resize(w);
  else out.append(w - out.size(), ' ');
  return out;
}

std::string progress_line(const ProgressState& s, bool last) {
  char buf[256];
  std::snprintf(buf, sizeof buf,
                "%lld/%lld chunk(s) (%lld done, %lld provisional, %lld failed), %.2f chunk(s)/s",
                static_cast<long long>(s.finished()), static_cast<long long>(s.planned),
                static_cast<long long>(s.done), static_cast<long long>(s.provisional),
                static_cast<long long>(s.failed), s.rate());
  std::string out = buf;
  if (const auto eta = s.eta_seconds(); !last && eta) out += ", ETA " + format_duration(*eta);
  return out;
}

} // namespace etl::history
