#include "market/processed_json.hpp"

#include "market/byte_scan.hpp"

#include <algorithm>
#include <charconv>
#include <iterator>

namespace etl::market {
namespace {

constexpr std::string_view kNull = "null";

// Keys with their separators baked in, so one append writes both.
constexpr std::string_view kWindowKeys[] = {
    R"(,"price_change_percentage_1h_in_currency":)",
    R"(,"price_change_percentage_24h_in_currency":)",
    R"(,"price_change_percentage_7d_in_currency":)",
    R"(,"price_change_percentage_14d_in_currency":)",
    R"(,"price_change_percentage_30d_in_currency":)",
    R"(,"price_change_percentage_200d_in_currency":)",
    R"(,"price_change_percentage_1y_in_currency":)",
};
static_assert(std::size(kWindowKeys) == kPriceChangeWindows.size());

constexpr bool window_keys_match() {
  for (std::size_t i = 0; i < kPriceChangeWindows.size(); ++i) {
    constexpr std::string_view prefix = R"(,"price_change_percentage_)";
    if (kWindowKeys[i].substr(prefix.size(), kPriceChangeWindows[i].size()) !=
        kPriceChangeWindows[i]) {
      return false;
    }
  }
  return true;
}
static_assert(window_keys_match(), "kWindowKeys must follow kPriceChangeWindows");

// Everything except keys and values: the braces plus every key literal below.
constexpr std::size_t kFixedBytes = 700;

void append_decimal(std::string& out, std::string_view key, const Decimal& value) {
  out.append(key);
  out.append(value ? std::string_view(*value) : kNull);
}

void append_optional_string(std::string& out, std::string_view key,
                            const std::optional<std::string>& value) {
  out.append(key);
  if (value) {
    append_json_string(out, *value);
  } else {
    out.append(kNull);
  }
}

std::size_t text_size(const std::optional<std::string>& value) {
  return value ? value->size() + 2 : kNull.size();
}

// Reserving geometrically: an exact reserve per record would make appending N records
// quadratic on standard libraries that honour the request literally.
void reserve_for(std::string& out, const CoinMarket& coin, std::string_view vs_currency) {
  std::size_t need = kFixedBytes + vs_currency.size() + coin.id.size() + coin.symbol.size() +
                     coin.name.size() + coin.image.size() + coin.last_updated.size() + 32;
  for (const Decimal* d : decimal_fields(coin)) need += text_size(*d);
  for (const auto* text : {&coin.ath_date, &coin.atl_date, &coin.roi_currency}) need += text_size(*text);
  const std::size_t wanted = out.size() + need;
  if (wanted > out.capacity()) out.reserve(std::max(wanted, out.capacity() * 2));
}

} // namespace

void append_json_string(std::string& out, std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  std::size_t run_start = 0;
  for (std::size_t i = find_control_or(text, '"', '\\'); i < text.size();
       i = run_start + find_control_or(text.substr(run_start), '"', '\\')) {
    const auto c = static_cast<unsigned char>(text[i]);
    out.append(text.data() + run_start, i - run_start);
    run_start = i + 1;
    switch (c) {
    case '"':
      out.append("\\\"");
      break;
    case '\\':
      out.append("\\\\");
      break;
    case '\b':
      out.append("\\b");
      break;
    case '\f':
      out.append("\\f");
      break;
    case '\n':
      out.append("\\n");
      break;
    case '\r':
      out.append("\\r");
      break;
    case '\t':
      out.append("\\t");
      break;
    default:
      out.append("\\u00");
      out += kHex[c >> 4];
      out += kHex[c & 0xF];
      break;
    }
  }
  out.append(text.data() + run_start, text.size() - run_start);
  out += '"';
}

void append_processed_record(std::string& out, const CoinMarket& coin,
                             std::string_view vs_currency) {
  reserve_for(out, coin, vs_currency);
  out.append(R"({"coin_id":)");
  append_json_string(out, coin.id);
  out.append(R"(,"vs_currency":)");
  append_json_string(out, vs_currency);
  out.append(R"(,"symbol":)");
  append_json_string(out, coin.symbol);
  out.append(R"(,"name":)");
  append_json_string(out, coin.name);
  // The parser stores an API null image as "", so "" goes back out as null.
  out.append(R"(,"image":)");
  if (coin.image.empty()) {
    out.append(kNull);
  } else {
    append_json_string(out, coin.image);
  }
  append_decimal(out, R"(,"current_price":)", coin.current_price);
  append_decimal(out, R"(,"market_cap":)", coin.market_cap);
  out.append(R"(,"market_cap_rank":)");
  if (coin.market_cap_rank) {
    char digits[24];
    const auto result = std::to_chars(std::begin(digits), std::end(digits), *coin.market_cap_rank);
    out.append(digits, result.ptr);
  } else {
    out.append(kNull);
  }
  append_decimal(out, R"(,"fully_diluted_valuation":)", coin.fully_diluted_valuation);
  append_decimal(out, R"(,"total_volume":)", coin.total_volume);
  append_decimal(out, R"(,"high_24h":)", coin.high_24h);
  append_decimal(out, R"(,"low_24h":)", coin.low_24h);
  append_decimal(out, R"(,"price_change_24h":)", coin.price_change_24h);
  append_decimal(out, R"(,"price_change_percentage_24h":)", coin.price_change_percentage_24h);
  append_decimal(out, R"(,"market_cap_change_24h":)", coin.market_cap_change_24h);
  append_decimal(out, R"(,"market_cap_change_percentage_24h":)",
                 coin.market_cap_change_percentage_24h);
  append_decimal(out, R"(,"circulating_supply":)", coin.circulating_supply);
  append_decimal(out, R"(,"total_supply":)", coin.total_supply);
  append_decimal(out, R"(,"max_supply":)", coin.max_supply);
  append_decimal(out, R"(,"ath":)", coin.ath);
  append_decimal(out, R"(,"ath_change_percentage":)", coin.ath_change_percentage);
  append_optional_string(out, R"(,"ath_date":)", coin.ath_date);
  append_decimal(out, R"(,"atl":)", coin.atl);
  append_decimal(out, R"(,"atl_change_percentage":)", coin.atl_change_percentage);
  append_optional_string(out, R"(,"atl_date":)", coin.atl_date);
  append_decimal(out, R"(,"roi_times":)", coin.roi_times);
  append_optional_string(out, R"(,"roi_currency":)", coin.roi_currency);
  append_decimal(out, R"(,"roi_percentage":)", coin.roi_percentage);
  out.append(R"(,"last_updated":)");
  append_json_string(out, coin.last_updated);
  for (std::size_t i = 0; i < kPriceChangeWindows.size(); ++i) {
    append_decimal(out, kWindowKeys[i], coin.price_change_percentage_in_currency[i]);
  }
  out += '}';
}

} // namespace etl::market
