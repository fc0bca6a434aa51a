#pragma once
// Finding the next byte that needs escaping, eight bytes at a time. Escaping for COPY rows and
// processed JSON runs over every field of every coin; a byte-by-byte switch made it a tenth of
// the daemon's CPU per tick, while almost every field has nothing to escape.
#include <cstdint>
#include <cstring>
#include <string_view>

namespace etl::core {

// Index of the first byte below 0x20 or equal to `a` or `b` (both ASCII), or text.size().
inline std::size_t find_control_or(std::string_view text, char a, char b) noexcept {
  constexpr std::uint64_t kOnes = 0x0101010101010101ull;
  constexpr std::uint64_t kHighs = 0x8080808080808080ull;
  // Nonzero iff some byte of x is zero / below n (n <= 0x80); bytes >= 0x80 never match.
  const auto has_zero = [](std::uint64_t x) { return (x - kOnes) & ~x & kHighs; };
  const auto has_below = [](std::uint64_t x, std::uint64_t n) {
    return (x - kOnes * n) & ~x & kHighs;
  };
  const std::uint64_t pattern_a = kOnes * static_cast<unsigned char>(a);
  const std::uint64_t pattern_b = kOnes * static_cast<unsigned char>(b);
  const char* data = text.data();
  std::size_t i = 0;
  for (; i + 8 <= text.size(); i += 8) {
    std::uint64_t word;
    std::memcpy(&word, data + i, 8);
    if (has_below(word, 0x20) | has_zero(word ^ pattern_a) | has_zero(word ^ pattern_b)) break;
  }
  for (; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(data[i]);
    if (c < 0x20 || data[i] == a || data[i] == b) return i;
  }
  return text.size();
}

} // namespace etl::core
