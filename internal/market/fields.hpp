#pragma once
// The one table of coin_market's columns. The parser (which API keys exist and how each is
// checked), the processed JSON writer (keys and order) and the COPY rows (column list, order and
// encoding) are all derived from kCoinMarketFields; the integration test field_table_test checks
// it against the migrated table. Adding an API field = a CoinMarket member, a row here, a
// migration and a test.
#include "market/coin_market.hpp"

#include <array>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

namespace etl::market {

// How a column's value is read from the API and written out.
enum class FieldKind : std::uint8_t {
  id,           // required non-empty string (coin_id, part of the natural key)
  text,         // required string
  image,        // string or null; null is kept as "" and written back as null
  decimal,      // number or null, kept as the exact text sent (numeric)
  rank,         // integer or null within PostgreSQL integer
  date,         // ISO 8601 string or null
  last_updated, // ISO 8601 string, required (natural key)
  roi_decimal,  // a number-or-null key inside the "roi" object (the whole roi may be null)
  roi_text,     // a string-or-null key inside the "roi" object
  vs_currency,  // not in the coin object: the snapshot's currency
  snapshot_id,  // not in the coin object: the snapshot that loaded the row (COPY only)
  fetched_at,   // not in the coin object: when the snapshot was fetched (COPY only)
};

// The column's PostgreSQL type family (information_schema.columns.data_type).
enum class SqlType : std::uint8_t { text, numeric, integer, timestamptz };

constexpr SqlType sql_type(FieldKind kind) noexcept {
  switch (kind) {
  case FieldKind::decimal:
  case FieldKind::roi_decimal: return SqlType::numeric;
  case FieldKind::rank: return SqlType::integer;
  case FieldKind::date:
  case FieldKind::last_updated:
  case FieldKind::fetched_at: return SqlType::timestamptz;
  default: return SqlType::text;
  }
}

constexpr bool from_api(FieldKind kind) noexcept { return kind < FieldKind::vs_currency; }
constexpr bool in_processed(FieldKind kind) noexcept {
  return kind != FieldKind::snapshot_id && kind != FieldKind::fetched_at;
}
constexpr bool is_roi(FieldKind kind) noexcept {
  return kind == FieldKind::roi_decimal || kind == FieldKind::roi_text;
}
constexpr bool is_required(FieldKind kind) noexcept {
  return kind == FieldKind::id || kind == FieldKind::text || kind == FieldKind::last_updated;
}

struct Field {
  std::string_view column;  // coin_market column, also the processed JSON key
  std::string_view api_key; // key in the API's coin object (in "roi" for roi_*); "" if none
  FieldKind kind;
  std::string CoinMarket::*text = nullptr;                    // id, text, image, last_updated
  std::optional<std::string> CoinMarket::*optional = nullptr; // decimal, date, roi_*
  int window = -1; // decimal held in price_change_percentage_in_currency[window]
};

namespace fields_detail {
using C = CoinMarket;
using K = FieldKind;
} // namespace fields_detail

// In coin_market's column order, which is also the order CoinGecko sends the keys in (the
// parser's lookup hint relies on that) and the processed JSON's key order.
inline constexpr auto kCoinMarketFields = [] {
  using namespace fields_detail;
  return std::to_array<Field>({
      {"coin_id", "id", K::id, &C::id},
      {"vs_currency", "", K::vs_currency},
      {"symbol", "symbol", K::text, &C::symbol},
      {"name", "name", K::text, &C::name},
      {"image", "image", K::image, &C::image},
      {"current_price", "current_price", K::decimal, nullptr, &C::current_price},
      {"market_cap", "market_cap", K::decimal, nullptr, &C::market_cap},
      {"market_cap_rank", "market_cap_rank", K::rank},
      {"fully_diluted_valuation", "fully_diluted_valuation", K::decimal, nullptr,
       &C::fully_diluted_valuation},
      {"total_volume", "total_volume", K::decimal, nullptr, &C::total_volume},
      {"high_24h", "high_24h", K::decimal, nullptr, &C::high_24h},
      {"low_24h", "low_24h", K::decimal, nullptr, &C::low_24h},
      {"price_change_24h", "price_change_24h", K::decimal, nullptr, &C::price_change_24h},
      {"price_change_percentage_24h", "price_change_percentage_24h", K::decimal, nullptr,
       &C::price_change_percentage_24h},
      {"market_cap_change_24h", "market_cap_change_24h", K::decimal, nullptr,
       &C::market_cap_change_24h},
      {"market_cap_change_percentage_24h", "market_cap_change_percentage_24h", K::decimal, nullptr,
       &C::market_cap_change_percentage_24h},
      {"circulating_supply", "circulating_supply", K::decimal, nullptr, &C::circulating_supply},
      {"total_supply", "total_supply", K::decimal, nullptr, &C::total_supply},
      {"max_supply", "max_supply", K::decimal, nullptr, &C::max_supply},
      {"ath", "ath", K::decimal, nullptr, &C::ath},
      {"ath_change_percentage", "ath_change_percentage", K::decimal, nullptr,
       &C::ath_change_percentage},
      {"ath_date", "ath_date", K::date, nullptr, &C::ath_date},
      {"atl", "atl", K::decimal, nullptr, &C::atl},
      {"atl_change_percentage", "atl_change_percentage", K::decimal, nullptr,
       &C::atl_change_percentage},
      {"atl_date", "atl_date", K::date, nullptr, &C::atl_date},
      {"roi_times", "times", K::roi_decimal, nullptr, &C::roi_times},
      {"roi_currency", "currency", K::roi_text, nullptr, &C::roi_currency},
      {"roi_percentage", "percentage", K::roi_decimal, nullptr, &C::roi_percentage},
      {"last_updated", "last_updated", K::last_updated, &C::last_updated},
      {"price_change_percentage_1h_in_currency", "price_change_percentage_1h_in_currency",
       K::decimal, nullptr, nullptr, 0},
      {"price_change_percentage_24h_in_currency", "price_change_percentage_24h_in_currency",
       K::decimal, nullptr, nullptr, 1},
      {"price_change_percentage_7d_in_currency", "price_change_percentage_7d_in_currency",
       K::decimal, nullptr, nullptr, 2},
      {"price_change_percentage_14d_in_currency", "price_change_percentage_14d_in_currency",
       K::decimal, nullptr, nullptr, 3},
      {"price_change_percentage_30d_in_currency", "price_change_percentage_30d_in_currency",
       K::decimal, nullptr, nullptr, 4},
      {"price_change_percentage_200d_in_currency", "price_change_percentage_200d_in_currency",
       K::decimal, nullptr, nullptr, 5},
      {"price_change_percentage_1y_in_currency", "price_change_percentage_1y_in_currency",
       K::decimal, nullptr, nullptr, 6},
      {"snapshot_id", "", K::snapshot_id},
      {"fetched_at", "", K::fetched_at},
  });
}();
inline constexpr std::size_t kFieldCount = kCoinMarketFields.size();

namespace fields_detail {
// Each row names exactly the storage its kind reads, and window rows follow kPriceChangeWindows.
constexpr bool row_is_consistent(const Field& f) {
  switch (f.kind) {
  case K::id:
  case K::text:
  case K::image:
  case K::last_updated: return f.text != nullptr && f.optional == nullptr && f.window < 0;
  case K::decimal:
    if (f.window < 0) return f.text == nullptr && f.optional != nullptr;
    return f.text == nullptr && f.optional == nullptr &&
           f.window < static_cast<int>(kPriceChangeWindows.size()) && f.column == f.api_key &&
           f.column.substr(24, kPriceChangeWindows[f.window].size()) ==
               kPriceChangeWindows[f.window] &&
           f.column.size() == 24 + kPriceChangeWindows[f.window].size() + 12;
  case K::date:
  case K::roi_decimal:
  case K::roi_text: return f.text == nullptr && f.optional != nullptr && f.window < 0;
  default: // rank has one home (market_cap_rank); context fields have none in the coin
    return f.text == nullptr && f.optional == nullptr && f.window < 0 &&
           from_api(f.kind) == !f.api_key.empty();
  }
}
constexpr bool table_is_consistent() {
  int windows = 0;
  for (const Field& f : kCoinMarketFields) {
    if (!row_is_consistent(f)) return false;
    if (f.window >= 0 && f.window != windows++) return false;
  }
  return windows == static_cast<int>(kPriceChangeWindows.size());
}
static_assert(table_is_consistent(), "kCoinMarketFields: a row does not match its kind");
} // namespace fields_detail

// Calls f(std::integral_constant<std::size_t, I>{}) for every row I in order. The loop is
// unrolled at compile time, so each row's kind and member are constants in the body: the
// writers pay no per-field branch on the kind, no indirect call and no member-pointer load.
template <typename F> constexpr void for_each_field(F&& f) {
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    (f(std::integral_constant<std::size_t, I>{}), ...);
  }
  (std::make_index_sequence<kFieldCount>{});
}

// The optional text of row I (a decimal, date or roi kind).
template <std::size_t I> const std::optional<std::string>& optional_of(const CoinMarket& coin) {
  constexpr Field f = kCoinMarketFields[I];
  if constexpr (f.window >= 0) {
    return coin.price_change_percentage_in_currency[f.window];
  } else {
    return coin.*f.optional;
  }
}

// An integer column's value as decimal digits: the one spelling the processed JSON and COPY share.
inline void append_integer(std::string& out, std::int64_t value) {
  char digits[24]; // an int64 needs at most 20
  char* end = std::to_chars(digits, digits + sizeof digits, value).ptr;
  out.append(digits, static_cast<std::size_t>(end - digits));
}

// How many rows hold a Decimal (decimal and roi_decimal kinds).
inline constexpr std::size_t kDecimalFieldCount = [] {
  std::size_t n = 0;
  for (const Field& f : kCoinMarketFields) n += sql_type(f.kind) == SqlType::numeric ? 1 : 0;
  return n;
}();

// Every numeric field of `coin`, in column order, for checks that treat them alike.
inline std::array<const Decimal*, kDecimalFieldCount> decimal_fields(const CoinMarket& coin) {
  std::array<const Decimal*, kDecimalFieldCount> out{};
  std::size_t n = 0;
  for_each_field([&](auto i) {
    if constexpr (sql_type(kCoinMarketFields[i].kind) == SqlType::numeric) {
      out[n++] = &optional_of<i>(coin);
    }
  });
  return out;
}

} // namespace etl::market
