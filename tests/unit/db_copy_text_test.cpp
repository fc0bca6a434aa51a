#include "core/byte_scan.hpp"
#include "db/copy_text.hpp"

#include "support/split.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

namespace {

using etl::db::append_coin_row;
using etl::db::append_copy_field;
using etl::db::kCoinMarketColumns;
using etl::db::RowContext;

std::string escaped(std::string_view v) {
  std::string out;
  append_copy_field(out, v);
  return out;
}

using etl::testing::split;

etl::market::CoinMarket sample() {
  etl::market::CoinMarket c;
  c.id = "bitcoin";
  c.symbol = "btc";
  c.name = "Bitcoin";
  c.image = "https://example.test/b.png";
  c.current_price = "87123.5";
  c.market_cap = "1730000000000";
  c.market_cap_rank = 1;
  c.max_supply = "21000000.0";
  c.last_updated = "2026-04-30T00:00:00.000Z";
  c.price_change_percentage_in_currency[0] = "-0.1234";
  return c;
}

} // namespace

TEST_CASE("COPY text escapes exactly backslash, newline, carriage return and tab", "[db][copy]") {
  CHECK(escaped("plain ünïcødé 🚀 'q' \"d\"") == "plain ünïcødé 🚀 'q' \"d\"");
  CHECK(escaped("a\tb\nc\rd\\e") == "a\\tb\\nc\\rd\\\\e");
  CHECK(escaped("\\N") == "\\\\N"); // the NULL marker as text stays text
  CHECK(escaped("") == "");
  CHECK(escaped("\\\\") == "\\\\\\\\");
}

TEST_CASE("a coin is one COPY line with every column in order", "[db][copy]") {
  std::string out;
  const RowContext ctx{"usd", "20260430T000000Z_usd", "2026-04-30 00:00:01.5+00"};
  append_coin_row(out, sample(), ctx);
  REQUIRE(!out.empty());
  CHECK(out.back() == '\n');
  out.pop_back();
  CHECK(out.find('\n') == std::string::npos);
  const auto fields = split(out, '\t');
  REQUIRE(fields.size() == kCoinMarketColumns.size());
  const auto at = [&](std::string_view column) {
    for (std::size_t i = 0; i < kCoinMarketColumns.size(); ++i)
      if (column == kCoinMarketColumns[i]) return fields[i];
    FAIL("no column " << column);
    return std::string{};
  };
  CHECK(at("coin_id") == "bitcoin");
  CHECK(at("vs_currency") == "usd");
  CHECK(at("current_price") == "87123.5");
  CHECK(at("market_cap_rank") == "1");
  CHECK(at("max_supply") == "21000000.0");
  CHECK(at("total_supply") == "\\N");
  CHECK(at("ath_date") == "\\N");
  CHECK(at("price_change_percentage_1h_in_currency") == "-0.1234");
  CHECK(at("price_change_percentage_1y_in_currency") == "\\N");
  CHECK(at("last_updated") == "2026-04-30T00:00:00.000Z");
  CHECK(at("snapshot_id") == "20260430T000000Z_usd");
  CHECK(at("fetched_at") == "2026-04-30 00:00:01.5+00");
}

TEST_CASE("a missing image or rank is NULL, and rows append after each other", "[db][copy]") {
  auto c = sample();
  c.image.clear();
  c.market_cap_rank.reset();
  c.name = "tab\there";
  std::string out;
  const RowContext ctx{"eur", "s", "t"};
  append_coin_row(out, c, ctx);
  append_coin_row(out, sample(), ctx);
  const auto lines = split(out, '\n');
  REQUIRE(lines.size() == 3); // two lines and the empty rest after the final newline
  CHECK(lines[2].empty());
  const auto first = split(lines[0], '\t');
  REQUIRE(first.size() == kCoinMarketColumns.size());
  CHECK(first[3] == "tab\\there");
  CHECK(first[4] == "\\N");
  CHECK(first[7] == "\\N");
  CHECK(split(lines[1], '\t')[4] == "https://example.test/b.png");
}

TEST_CASE("the eight-byte scan finds the first byte to escape at every offset", "[db][copy]") {
  // Every position inside and around the 8-byte blocks, for each kind of special byte, with
  // multibyte UTF-8 (bytes >= 0x80) around it that must never match.
  for (const char special : {'\\', '\n', '\r', '\t', '\x01', '\x1f'}) {
    for (std::size_t len = 1; len <= 24; ++len) {
      for (std::size_t at = 0; at < len; ++at) {
        std::string text(len, 'a');
        for (std::size_t k = 0; k < len; k += 3) text[k] = '\xc3';
        text[at] = special;
        CHECK(etl::core::find_control_or(text, '\\', '"') == at);
      }
    }
  }
  const std::string_view plain = "ünïcødé 🚀 plain text, no escapes";
  CHECK(etl::core::find_control_or(plain, '\\', '"') == plain.size());
  CHECK(etl::core::find_control_or("0123456789abcdef\"", '\\', '"') == 16);
  CHECK(escaped(std::string(40, 'x') + "\t" + std::string(9, 'y') + "\\") ==
        std::string(40, 'x') + "\\t" + std::string(9, 'y') + "\\\\");
}
