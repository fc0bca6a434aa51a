#include "db/copy_text.hpp"

#include "core/byte_scan.hpp"

namespace etl::db {

std::string coin_market_column_list() {
  std::string out;
  for (const char* c : kCoinMarketColumns) {
    if (!out.empty()) out += ", ";
    out += c;
  }
  return out;
}

void append_copy_field(std::string& out, std::string_view value) {
  for (;;) {
    const std::size_t i = core::find_control_or(value, '\\', '\\');
    out.append(value.substr(0, i));
    if (i == value.size()) return;
    switch (value[i]) {
    case '\\': out += "\\\\"; break;
    case '\n': out += "\\n"; break;
    case '\r': out += "\\r"; break;
    case '\t': out += "\\t"; break;
    default: out += value[i]; break; // other control bytes need no escape in COPY text
    }
    value.remove_prefix(i + 1);
  }
}

namespace {

using market::FieldKind;
using market::kCoinMarketFields;

// Row I's value, unterminated. Text and the exact decimal text go through COPY escaping;
// absent values are \N.
template <std::size_t I>
void append_value(std::string& out, const market::CoinMarket& coin, const RowContext& context) {
  constexpr market::Field f = kCoinMarketFields[I];
  if constexpr (f.kind == FieldKind::vs_currency) {
    append_copy_field(out, context.vs_currency);
  } else if constexpr (f.kind == FieldKind::snapshot_id) {
    append_copy_field(out, context.snapshot_id);
  } else if constexpr (f.kind == FieldKind::fetched_at) {
    append_copy_field(out, context.fetched_at);
  } else if constexpr (f.kind == FieldKind::image) {
    // The parser stores an API null image as "".
    if (coin.image.empty()) append_copy_null(out);
    else append_copy_field(out, coin.image);
  } else if constexpr (f.text != nullptr) {
    append_copy_field(out, coin.*f.text);
  } else if constexpr (f.kind == FieldKind::rank) {
    if (coin.market_cap_rank) market::append_integer(out, *coin.market_cap_rank);
    else append_copy_null(out);
  } else {
    const auto& value = market::optional_of<I>(coin);
    if (value) append_copy_field(out, *value);
    else append_copy_null(out);
  }
}

} // namespace

void append_coin_row(std::string& out, const market::CoinMarket& coin, const RowContext& context) {
  market::for_each_field([&](auto i) {
    append_value<i>(out, coin, context);
    out += i + 1 == market::kFieldCount ? '\n' : '\t';
  });
}

} // namespace etl::db
