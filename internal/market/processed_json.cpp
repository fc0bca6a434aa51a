#include "market/processed_json.hpp"

#include "market/fields.hpp"

#include <algorithm>
#include <array>

namespace etl::market {
namespace {

constexpr std::string_view kNull = "null";

// Row I's key with its separator baked in (`{"coin_id":`, `,"symbol":`), so one append writes
// both; built at compile time from the field table.
template <std::size_t I> constexpr auto make_key() {
  constexpr std::string_view name = kCoinMarketFields[I].column;
  std::array<char, name.size() + 4> key{};
  key[0] = I == 0 ? '{' : ',';
  key[1] = '"';
  for (std::size_t i = 0; i < name.size(); ++i) key[i + 2] = name[i];
  key[name.size() + 2] = '"';
  key[name.size() + 3] = ':';
  return key;
}
template <std::size_t I> inline constexpr auto kKey = make_key<I>();
static_assert(in_processed(kCoinMarketFields[0].kind), "the first key opens the record");

// Everything except values: every key with its separator, and the closing brace.
constexpr std::size_t kFixedBytes = [] {
  std::size_t n = 1;
  for (const Field& f : kCoinMarketFields) n += in_processed(f.kind) ? f.column.size() + 4 : 0;
  return n;
}();

std::size_t text_size(const std::optional<std::string>& value) {
  return value ? value->size() + 2 : kNull.size();
}

// Reserving geometrically: an exact reserve per record would make appending N records
// quadratic on standard libraries that honour the request literally.
void reserve_for(std::string& out, const CoinMarket& coin, std::string_view vs_currency) {
  std::size_t need = kFixedBytes + vs_currency.size() + 32;
  for_each_field([&](auto i) {
    constexpr Field f = kCoinMarketFields[i];
    if constexpr (f.text != nullptr) {
      need += (coin.*f.text).size() + 2;
    } else if constexpr (f.optional != nullptr || f.window >= 0) {
      need += text_size(optional_of<i>(coin));
    }
  });
  const std::size_t wanted = out.size() + need;
  if (wanted > out.capacity()) out.reserve(std::max(wanted, out.capacity() * 2));
}

// Row I's value: text as JSON strings, decimals as the JSON numbers received, absent as null.
template <std::size_t I>
void append_value(std::string& out, const CoinMarket& coin, std::string_view vs_currency) {
  constexpr Field f = kCoinMarketFields[I];
  if constexpr (f.kind == FieldKind::vs_currency) {
    append_json_string(out, vs_currency);
  } else if constexpr (f.kind == FieldKind::image) {
    // The parser stores an API null image as "", so "" goes back out as null.
    if (coin.image.empty()) {
      out.append(kNull);
    } else {
      append_json_string(out, coin.image);
    }
  } else if constexpr (f.text != nullptr) {
    append_json_string(out, coin.*f.text);
  } else if constexpr (f.kind == FieldKind::rank) {
    if (coin.market_cap_rank) {
      append_integer(out, *coin.market_cap_rank);
    } else {
      out.append(kNull);
    }
  } else {
    const std::optional<std::string>& value = optional_of<I>(coin);
    if (!value) {
      out.append(kNull);
    } else if constexpr (sql_type(f.kind) == SqlType::numeric) {
      out.append(*value);
    } else {
      append_json_string(out, *value);
    }
  }
}

} // namespace

void append_processed_record(std::string& out, const CoinMarket& coin,
                             std::string_view vs_currency) {
  reserve_for(out, coin, vs_currency);
  for_each_field([&](auto i) {
    if constexpr (in_processed(kCoinMarketFields[i].kind)) {
      out.append(kKey<i>.data(), kKey<i>.size());
      append_value<i>(out, coin, vs_currency);
    }
  });
  out += '}';
}

} // namespace etl::market
