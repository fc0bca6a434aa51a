#include "core/iso_time.hpp"

#include <cstdio>
#include <ctime>

namespace etl::core {
namespace {

using std::chrono::system_clock;

// `pattern` takes year, month, day, hour, minute, second, then the fraction's digits.
std::string format(system_clock::time_point t, const char* date_pattern, Fraction fraction) {
  const auto secs = std::chrono::floor<std::chrono::seconds>(t);
  const std::time_t tt = system_clock::to_time_t(secs);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[64];
  int n = std::snprintf(buf, sizeof buf, date_pattern, tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                        tm.tm_hour, tm.tm_min, tm.tm_sec);
  if (n < 0) return {};
  const auto sub = t - secs; // in [0, 1 s): floor above keeps it non-negative
  const auto size = static_cast<std::size_t>(n);
  switch (fraction) {
  case Fraction::none: n += std::snprintf(buf + size, sizeof buf - size, "Z"); break;
  case Fraction::millis:
    n +=
        std::snprintf(buf + size, sizeof buf - size, ".%03dZ",
                      static_cast<int>(std::chrono::floor<std::chrono::milliseconds>(sub).count()));
    break;
  case Fraction::micros:
    n +=
        std::snprintf(buf + size, sizeof buf - size, ".%06dZ",
                      static_cast<int>(std::chrono::floor<std::chrono::microseconds>(sub).count()));
    break;
  }
  return std::string(buf, static_cast<std::size_t>(n));
}

} // namespace

std::string format_iso8601(system_clock::time_point t, Fraction fraction) {
  return format(t, "%04d-%02d-%02dT%02d:%02d:%02d", fraction);
}

std::string format_iso8601_basic(system_clock::time_point t, Fraction fraction) {
  return format(t, "%04d%02d%02dT%02d%02d%02d", fraction);
}

} // namespace etl::core
