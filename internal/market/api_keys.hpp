#pragma once
// The keys of the API's coin object, derived at compile time from the field table: one per row
// read from the API, with the roi_* rows folded into the one "roi" object they arrive in.
// Internal to etl::market's parser.
#include "market/fields.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace etl::market::detail {

struct ApiKey {
  std::string_view key;
  std::size_t field = 0; // row in kCoinMarketFields (the first roi_* row for "roi")
  bool roi = false;      // the "roi" object, whose keys are kRoiFields
};

constexpr std::size_t count_api_keys() {
  std::size_t n = 0;
  bool roi_seen = false;
  for (const Field& f : kCoinMarketFields) {
    if (!from_api(f.kind) || (is_roi(f.kind) && roi_seen)) continue;
    roi_seen = roi_seen || is_roi(f.kind);
    ++n;
  }
  return n;
}

// In table order, which is the order CoinGecko sends them, so the lookup hint (next entry)
// almost always hits.
inline constexpr auto kApiKeys = [] {
  std::array<ApiKey, count_api_keys()> keys{};
  std::size_t n = 0;
  bool roi_seen = false;
  for (std::size_t i = 0; i < kFieldCount; ++i) {
    const Field& f = kCoinMarketFields[i];
    if (!from_api(f.kind) || (is_roi(f.kind) && roi_seen)) continue;
    roi_seen = roi_seen || is_roi(f.kind);
    keys[n++] = is_roi(f.kind) ? ApiKey{"roi", i, true} : ApiKey{f.api_key, i, false};
  }
  return keys;
}();
static_assert(kApiKeys.size() <= 64, "seen-key bitmask is 64 bits");

// The rows read from inside the "roi" object, in table order.
inline constexpr auto kRoiFields = [] {
  constexpr std::size_t count = [] {
    std::size_t n = 0;
    for (const Field& f : kCoinMarketFields) n += is_roi(f.kind) ? 1 : 0;
    return n;
  }();
  std::array<std::size_t, count> rows{};
  std::size_t n = 0;
  for (std::size_t i = 0; i < kFieldCount; ++i)
    if (is_roi(kCoinMarketFields[i].kind)) rows[n++] = i;
  return rows;
}();
static_assert(kRoiFields.size() <= 64, "seen-key bitmask is 64 bits");

// Bit i set when kApiKeys[i] must be present in every coin.
inline constexpr std::uint64_t kRequiredKeys = [] {
  std::uint64_t mask = 0;
  for (std::size_t i = 0; i < kApiKeys.size(); ++i)
    if (!kApiKeys[i].roi && is_required(kCoinMarketFields[kApiKeys[i].field].kind))
      mask |= std::uint64_t{1} << i;
  return mask;
}();

// What a rejection says was expected of a key.
constexpr std::string_view expected_for(FieldKind kind) noexcept {
  switch (kind) {
  case FieldKind::id: return "non-empty string";
  case FieldKind::text: return "string";
  case FieldKind::image:
  case FieldKind::roi_text: return "string or null";
  case FieldKind::decimal:
  case FieldKind::roi_decimal: return "number or null";
  case FieldKind::rank: return "integer or null";
  case FieldKind::date: return "ISO 8601 timestamp string or null";
  case FieldKind::last_updated: return "ISO 8601 timestamp string";
  default: return "value";
  }
}
constexpr std::string_view expected_for(const ApiKey& key) noexcept {
  return key.roi ? "object or null" : expected_for(kCoinMarketFields[key.field].kind);
}

} // namespace etl::market::detail
