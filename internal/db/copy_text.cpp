#include "db/copy_text.hpp"

#include "market/byte_scan.hpp"

#include <charconv>
#include <cstring>

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
    const std::size_t i = market::find_control_or(value, '\\', '\\');
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

void field(std::string& out, std::string_view value) {
  append_copy_field(out, value);
  out += '\t';
}

void field(std::string& out, const std::string& value) { field(out, std::string_view(value)); }

void field(std::string& out, const std::optional<std::string>& value) {
  if (value) append_copy_field(out, *value);
  else append_copy_null(out);
  out += '\t';
}

} // namespace

void append_coin_row(std::string& out, const market::CoinMarket& c, const RowContext& context) {
  field(out, c.id);
  field(out, context.vs_currency);
  field(out, c.symbol);
  field(out, c.name);
  if (c.image.empty()) {
    append_copy_null(out);
    out += '\t';
  } else {
    field(out, c.image);
  }
  field(out, c.current_price);
  field(out, c.market_cap);
  if (c.market_cap_rank) {
    char digits[24];
    const char* end = std::to_chars(digits, digits + sizeof digits, *c.market_cap_rank).ptr; // 24 bytes always fit
    out.append(digits, static_cast<std::size_t>(end - digits));
    out += '\t';
  } else {
    append_copy_null(out);
    out += '\t';
  }
  field(out, c.fully_diluted_valuation);
  field(out, c.total_volume);
  field(out, c.high_24h);
  field(out, c.low_24h);
  field(out, c.price_change_24h);
  field(out, c.price_change_percentage_24h);
  field(out, c.market_cap_change_24h);
  field(out, c.market_cap_change_percentage_24h);
  field(out, c.circulating_supply);
  field(out, c.total_supply);
  field(out, c.max_supply);
  field(out, c.ath);
  field(out, c.ath_change_percentage);
  field(out, c.ath_date);
  field(out, c.atl);
  field(out, c.atl_change_percentage);
  field(out, c.atl_date);
  field(out, c.roi_times);
  field(out, c.roi_currency);
  field(out, c.roi_percentage);
  field(out, c.last_updated);
  for (const auto& pct : c.price_change_percentage_in_currency) field(out, pct);
  field(out, context.snapshot_id);
  append_copy_field(out, context.fetched_at);
  out += '\n';
}

} // namespace etl::db
