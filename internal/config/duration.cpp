#include "config/config.hpp"
#include "config/text.hpp"

#include <cstdint>
#include <limits>

namespace etl::config {
namespace {

constexpr std::string_view kForms =
    "use a number with a unit (500ms, 30s, 5m, 1h, or combined like 1h30m) or plain seconds (30, 0.5)";
// Far above any setting's range, and far enough below the int64 limit that converting to
// nanoseconds (steady_clock) later cannot overflow.
constexpr std::int64_t kMaxMillis = 100'000LL * 3'600'000LL;

bool is_digit(char c) { return c >= '0' && c <= '9'; }

struct Number {
  std::int64_t whole = 0;
  std::int64_t fraction = 0;     // the digits after '.', at most 9 of them kept
  std::int64_t fraction_div = 1; // 10^(digits kept)
};

// Reads digits[.digits] at `pos`. Digits past the ninth fractional one are below a millisecond
// for every unit, so they are dropped rather than rejected.
std::optional<Number> read_number(std::string_view text, std::size_t& pos, bool& overflow) {
  Number n;
  const std::size_t start = pos;
  while (pos < text.size() && is_digit(text[pos])) {
    if (n.whole > kMaxMillis) {
      overflow = true;
    } else {
      n.whole = n.whole * 10 + (text[pos] - '0');
    }
    ++pos;
  }
  if (pos == start) return std::nullopt;
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    const std::size_t frac_start = pos;
    while (pos < text.size() && is_digit(text[pos])) {
      if (n.fraction_div < 1'000'000'000) {
        n.fraction = n.fraction * 10 + (text[pos] - '0');
        n.fraction_div *= 10;
      }
      ++pos;
    }
    if (pos == frac_start) return std::nullopt;
  }
  return n;
}

// Milliseconds per unit at `pos`, advancing past it; 0 when there is no known unit.
std::int64_t read_unit(std::string_view text, std::size_t& pos) {
  const std::string_view rest = text.substr(pos);
  if (rest.substr(0, 2) == "ms") {
    pos += 2;
    return 1;
  }
  if (rest.empty()) return 0;
  switch (rest.front()) {
  case 's': ++pos; return 1'000;
  case 'm': ++pos; return 60'000;
  case 'h': ++pos; return 3'600'000;
  default: return 0;
  }
}

tl::expected<std::int64_t, std::string> scaled(const Number& n, std::int64_t unit_ms) {
  std::int64_t whole_ms = 0;
  if (__builtin_mul_overflow(n.whole, unit_ms, &whole_ms) || whole_ms > kMaxMillis) {
    return tl::make_unexpected(std::string("duration too large (at most 100000h)"));
  }
  return whole_ms + n.fraction * unit_ms / n.fraction_div;
}

} // namespace

tl::expected<std::chrono::milliseconds, std::string> parse_duration(std::string_view text) {
  text = trim(text);
  if (text.empty()) return tl::make_unexpected("empty duration; " + std::string(kForms));
  if (text.front() == '-')
    return tl::make_unexpected("negative durations are not allowed; " + std::string(kForms));

  std::size_t pos = 0;
  bool overflow = false;
  std::int64_t total = 0;
  bool first = true;
  while (pos < text.size()) {
    const auto number = read_number(text, pos, overflow);
    if (!number) return tl::make_unexpected("not a duration; " + std::string(kForms));
    std::int64_t unit_ms = read_unit(text, pos);
    if (unit_ms == 0) {
      // A bare number means seconds, but only on its own: "1h30" is a typo, not 1h + 30s.
      if (!(first && pos == text.size()))
        return tl::make_unexpected("not a duration; " + std::string(kForms));
      unit_ms = 1'000;
    }
    if (overflow) return tl::make_unexpected(std::string("duration too large (at most 100000h)"));
    const auto part = scaled(*number, unit_ms);
    if (!part) return tl::make_unexpected(part.error());
    total += *part;
    if (total > kMaxMillis)
      return tl::make_unexpected(std::string("duration too large (at most 100000h)"));
    first = false;
  }
  return std::chrono::milliseconds{total};
}

std::string format_duration(std::chrono::milliseconds duration) {
  std::int64_t ms = duration.count();
  std::string sign;
  if (ms < 0) {
    sign = "-";
    ms = -ms;
  }
  if (ms == 0) return "0s";
  if (ms % 3'600'000 == 0) return sign + std::to_string(ms / 3'600'000) + "h";
  if (ms % 60'000 == 0) return sign + std::to_string(ms / 60'000) + "m";
  if (ms % 1'000 == 0) return sign + std::to_string(ms / 1'000) + "s";
  return sign + std::to_string(ms) + "ms";
}

} // namespace etl::config
