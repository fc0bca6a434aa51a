#pragma once
// A whole-body UTF-8 check, eight ASCII bytes at a time. The markets parser runs it once over a
// page so the JSON reader need not validate every string character by character (that was a
// sixth of the parse); a body that fails takes the validating reader, which says where and why.
#include <cstdint>
#include <cstring>
#include <string_view>

namespace etl::core {

// True when `text` is well-formed UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing
// above U+10FFFF) and holds no NUL byte. As strict as RapidJSON's own validation.
inline bool is_utf8_without_nul(std::string_view text) noexcept {
  constexpr std::uint64_t kOnes = 0x0101010101010101ull;
  constexpr std::uint64_t kHighs = 0x8080808080808080ull;
  const auto* data = reinterpret_cast<const unsigned char*>(text.data());
  const std::size_t size = text.size();
  std::size_t i = 0;
  while (i < size) {
    if (i + 8 <= size) {
      std::uint64_t word;
      std::memcpy(&word, data + i, 8);
      // No byte >= 0x80 and no zero byte: eight plain ASCII characters.
      if (((word | ((word - kOnes) & ~word)) & kHighs) == 0) {
        i += 8;
        continue;
      }
    }
    const unsigned char lead = data[i];
    if (lead == 0) return false;
    if (lead < 0x80) {
      ++i;
      continue;
    }
    std::size_t extra = 0;
    unsigned char low = 0x80; // allowed range of the second byte
    unsigned char high = 0xBF;
    if (lead >= 0xC2 && lead <= 0xDF) {
      extra = 1;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
      extra = 2;
      if (lead == 0xE0) low = 0xA0;  // overlong
      if (lead == 0xED) high = 0x9F; // surrogates
    } else if (lead >= 0xF0 && lead <= 0xF4) {
      extra = 3;
      if (lead == 0xF0) low = 0x90;  // overlong
      if (lead == 0xF4) high = 0x8F; // above U+10FFFF
    } else {
      return false; // a continuation byte, C0/C1 (overlong) or F5..FF
    }
    if (size - i <= extra) return false;
    if (data[i + 1] < low || data[i + 1] > high) return false;
    for (std::size_t k = 2; k <= extra; ++k) {
      if ((data[i + k] & 0xC0) != 0x80) return false;
    }
    i += extra + 1;
  }
  return true;
}

} // namespace etl::core
