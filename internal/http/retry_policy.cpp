#include "http/retry_policy.hpp"

#include <algorithm>
#include <array>
#include <cmath>

namespace etl::http {

namespace {

constexpr std::chrono::seconds kMaxRetryAfter{24 * 3600};

// RFC 9110 field values carry optional whitespace around them (SP / HTAB).
std::string_view trim_ows(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }

// Parses exactly `width` digits at `pos`.
std::optional<int> fixed_digits(std::string_view s, std::size_t pos, std::size_t width) noexcept {
  if (pos + width > s.size()) return std::nullopt;
  int v = 0;
  for (std::size_t i = pos; i < pos + width; ++i) {
    if (!is_digit(s[i])) return std::nullopt;
    v = v * 10 + (s[i] - '0');
  }
  return v;
}

// Days since 1970-01-01 for a proleptic Gregorian date (H. Hinnant's days_from_civil):
// pure arithmetic, so no timegm/locale/TZ dependence.
long long days_from_civil(long long y, unsigned m, unsigned d) noexcept {
  y -= m <= 2 ? 1 : 0;
  const long long era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<long long>(doe) - 719468;
}

bool is_leap(int y) noexcept { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int days_in_month(int y, int m) noexcept {
  static constexpr std::array<int, 12> kDays{31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap(y) ? 29 : kDays[static_cast<std::size_t>(m - 1)];
}

// IMF-fixdate only ("Sun, 06 Nov 1994 08:49:37 GMT"): the one form servers must send.
std::optional<long long> parse_imf_fixdate(std::string_view s) noexcept {
  static constexpr std::array<std::string_view, 7> kDays{"Mon", "Tue", "Wed", "Thu",
                                                         "Fri", "Sat", "Sun"};
  static constexpr std::array<std::string_view, 12> kMonths{
      "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  if (s.size() != 29) return std::nullopt;
  if (std::find(kDays.begin(), kDays.end(), s.substr(0, 3)) == kDays.end()) return std::nullopt;
  if (s.substr(3, 2) != ", " || s[7] != ' ' || s[11] != ' ' || s[16] != ' ' || s[19] != ':' ||
      s[22] != ':' || s.substr(25) != " GMT")
    return std::nullopt;
  const auto month_it = std::find(kMonths.begin(), kMonths.end(), s.substr(8, 3));
  if (month_it == kMonths.end()) return std::nullopt;
  const int month = static_cast<int>(month_it - kMonths.begin()) + 1;
  const auto day = fixed_digits(s, 5, 2);
  const auto year = fixed_digits(s, 12, 4);
  const auto hour = fixed_digits(s, 17, 2);
  const auto minute = fixed_digits(s, 20, 2);
  const auto second = fixed_digits(s, 23, 2);
  if (!day || !year || !hour || !minute || !second) return std::nullopt;
  if (*day < 1 || *day > days_in_month(*year, month) || *hour > 23 || *minute > 59 || *second > 60)
    return std::nullopt;
  return days_from_civil(*year, static_cast<unsigned>(month), static_cast<unsigned>(*day)) * 86400 +
         *hour * 3600 + *minute * 60 + *second;
}

} // namespace

std::chrono::milliseconds backoff_delay(int attempt, std::chrono::milliseconds base,
                                        std::chrono::milliseconds cap,
                                        double unit_random) noexcept {
  if (base.count() <= 0 || cap.count() <= 0) return std::chrono::milliseconds{0};
  // Doubling in floating point cannot overflow; past 2^62 the cap always wins anyway.
  const int exponent = std::clamp(attempt, 0, 62);
  const double ceiling = std::min(static_cast<double>(cap.count()),
                                  std::ldexp(static_cast<double>(base.count()), exponent));
  const double r = std::isfinite(unit_random) ? std::clamp(unit_random, 0.0, 1.0) : 0.0;
  const double ms = std::floor(r * ceiling);
  // Compare before converting: a double at the cap can round above INT64_MAX.
  if (ms >= static_cast<double>(cap.count())) return cap;
  return std::chrono::milliseconds{static_cast<std::chrono::milliseconds::rep>(ms)};
}

std::optional<std::chrono::seconds>
parse_retry_after(std::string_view value, std::chrono::system_clock::time_point now) noexcept {
  const std::string_view v = trim_ows(value);
  if (v.empty()) return std::nullopt;
  if (std::all_of(v.begin(), v.end(), is_digit)) {
    long long seconds = 0;
    for (const char c : v) {
      seconds = seconds * 10 + (c - '0');
      if (seconds > kMaxRetryAfter.count()) return kMaxRetryAfter; // also stops overflow
    }
    return std::chrono::seconds{seconds};
  }
  const auto epoch_seconds = parse_imf_fixdate(v);
  if (!epoch_seconds) return std::nullopt;
  // Whole seconds throughout: a year-9999 date does not fit a nanosecond time_point. Flooring
  // `now` rounds the wait up, so we never wake a fraction early and earn another 429.
  const long long now_seconds =
      std::chrono::floor<std::chrono::seconds>(now.time_since_epoch()).count();
  if (*epoch_seconds <= now_seconds) return std::chrono::seconds{0};
  return std::chrono::seconds{
      std::min(*epoch_seconds - now_seconds, static_cast<long long>(kMaxRetryAfter.count()))};
}

bool is_retryable_status(long status) noexcept {
  return status == 408 || status == 425 || status == 429 || (status >= 500 && status <= 599);
}

} // namespace etl::http
