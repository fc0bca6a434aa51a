#include "market/parse_markets.hpp"
#include "market/processed_json.hpp"

#include "support/fixtures.hpp"

#include <catch2/catch.hpp>
#include <rapidjson/document.h>
#include <rapidjson/reader.h>

#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

using etl::market::append_json_string;
using etl::market::append_processed_record;
using etl::market::CoinMarket;
using etl::market::Decimal;
using etl::market::kPriceChangeWindows;

namespace {

using etl::testing::read_fixture;

enum class Kind { null, number, string, other };
struct Field {
  Kind kind;
  std::string text;
};

// Records one flat JSON object, keeping numbers apart from strings (a DOM with
// kParseNumbersAsStringsFlag would store both as strings).
struct FlatObjectHandler : rapidjson::BaseReaderHandler<rapidjson::UTF8<>, FlatObjectHandler> {
  std::vector<std::string> keys;
  std::map<std::string, Field> fields;
  int depth = 0;

  bool put(Kind kind, std::string text) {
    if (depth != 1) return false;
    fields[keys.back()] = Field{kind, std::move(text)};
    return true;
  }
  bool Null() { return put(Kind::null, ""); }
  bool RawNumber(const char* s, rapidjson::SizeType n, bool) { return put(Kind::number, {s, n}); }
  bool String(const char* s, rapidjson::SizeType n, bool) { return put(Kind::string, {s, n}); }
  bool Key(const char* s, rapidjson::SizeType n, bool) {
    keys.emplace_back(s, n);
    return true;
  }
  bool StartObject() { return ++depth == 1; }
  bool EndObject(rapidjson::SizeType) { return --depth == 0; }
  bool Default() { return false; } // booleans, arrays: never expected in a record
};

FlatObjectHandler parse_record(const std::string& json) {
  FlatObjectHandler handler;
  rapidjson::Reader reader;
  rapidjson::StringStream stream(json.c_str());
  const auto ok =
      reader.Parse<rapidjson::kParseNumbersAsStringsFlag | rapidjson::kParseValidateEncodingFlag>(
          stream, handler);
  INFO(json);
  REQUIRE(ok);
  return handler;
}

void check_number(const FlatObjectHandler& record, const std::string& key, const Decimal& value) {
  INFO(key);
  const Field& field = record.fields.at(key);
  if (value) {
    CHECK(field.kind == Kind::number);
    CHECK(field.text == *value);
  } else {
    CHECK(field.kind == Kind::null);
  }
}

void check_text(const FlatObjectHandler& record, const std::string& key,
                const std::optional<std::string>& value) {
  INFO(key);
  const Field& field = record.fields.at(key);
  if (value) {
    CHECK(field.kind == Kind::string);
    CHECK(field.text == *value);
  } else {
    CHECK(field.kind == Kind::null);
  }
}

std::vector<std::string> expected_keys() {
  std::vector<std::string> keys = {"coin_id",
                                   "vs_currency",
                                   "symbol",
                                   "name",
                                   "image",
                                   "current_price",
                                   "market_cap",
                                   "market_cap_rank",
                                   "fully_diluted_valuation",
                                   "total_volume",
                                   "high_24h",
                                   "low_24h",
                                   "price_change_24h",
                                   "price_change_percentage_24h",
                                   "market_cap_change_24h",
                                   "market_cap_change_percentage_24h",
                                   "circulating_supply",
                                   "total_supply",
                                   "max_supply",
                                   "ath",
                                   "ath_change_percentage",
                                   "ath_date",
                                   "atl",
                                   "atl_change_percentage",
                                   "atl_date",
                                   "roi_times",
                                   "roi_currency",
                                   "roi_percentage",
                                   "last_updated"};
  for (const std::string_view window : kPriceChangeWindows) {
    keys.push_back("price_change_percentage_" + std::string(window) + "_in_currency");
  }
  return keys;
}

void check_round_trip(const CoinMarket& coin, std::string_view vs_currency) {
  std::string out;
  append_processed_record(out, coin, vs_currency);
  const FlatObjectHandler record = parse_record(out);
  INFO(coin.id);
  CHECK(record.keys == expected_keys());
  check_text(record, "coin_id", coin.id);
  check_text(record, "vs_currency", std::string(vs_currency));
  check_text(record, "symbol", coin.symbol);
  check_text(record, "name", coin.name);
  check_text(record, "image",
             coin.image.empty() ? std::nullopt : std::optional<std::string>(coin.image));
  check_number(record, "current_price", coin.current_price);
  check_number(record, "market_cap", coin.market_cap);
  check_number(record, "market_cap_rank",
               coin.market_cap_rank ? Decimal(std::to_string(*coin.market_cap_rank)) : Decimal());
  check_number(record, "fully_diluted_valuation", coin.fully_diluted_valuation);
  check_number(record, "total_volume", coin.total_volume);
  check_number(record, "high_24h", coin.high_24h);
  check_number(record, "low_24h", coin.low_24h);
  check_number(record, "price_change_24h", coin.price_change_24h);
  check_number(record, "price_change_percentage_24h", coin.price_change_percentage_24h);
  check_number(record, "market_cap_change_24h", coin.market_cap_change_24h);
  check_number(record, "market_cap_change_percentage_24h", coin.market_cap_change_percentage_24h);
  check_number(record, "circulating_supply", coin.circulating_supply);
  check_number(record, "total_supply", coin.total_supply);
  check_number(record, "max_supply", coin.max_supply);
  check_number(record, "ath", coin.ath);
  check_number(record, "ath_change_percentage", coin.ath_change_percentage);
  check_text(record, "ath_date", coin.ath_date);
  check_number(record, "atl", coin.atl);
  check_number(record, "atl_change_percentage", coin.atl_change_percentage);
  check_text(record, "atl_date", coin.atl_date);
  check_number(record, "roi_times", coin.roi_times);
  check_text(record, "roi_currency", coin.roi_currency);
  check_number(record, "roi_percentage", coin.roi_percentage);
  check_text(record, "last_updated", coin.last_updated);
  for (std::size_t i = 0; i < kPriceChangeWindows.size(); ++i) {
    check_number(record,
                 "price_change_percentage_" + std::string(kPriceChangeWindows[i]) + "_in_currency",
                 coin.price_change_percentage_in_currency[i]);
  }
}

} // namespace

TEST_CASE("market: processed records round-trip every coin of the fixtures", "[market]") {
  for (const char* name : {"madjin__daily-crypto__markets_usd_top100_2026-04-30.json",
                           "madjin__daily-crypto__markets_usd_top100_2026-01-20_nulls.json",
                           "rciminera__Crypto-Pricing__markets_usd_top100_1y_2021-06-24.json",
                           "midusza04__coingeko_project__markets_ids3_pcp24h7d_2026-06-08.json"}) {
    INFO(name);
    const auto page = etl::market::parse_markets(read_fixture(name));
    REQUIRE(page);
    REQUIRE(page->coins.size() > 0);
    for (const CoinMarket& coin : page->coins) check_round_trip(coin, "usd");
  }
}

TEST_CASE("market: processed record of a hand-built coin", "[market]") {
  CoinMarket coin;
  coin.id = "odd\"coin\\";
  coin.symbol = "\xE5\xB8\x81";
  coin.name = std::string("line\nbreak\ttab\x01\x1f nul:") + '\0' + "end";
  coin.current_price = "8.69e-05";
  coin.market_cap = "400000000000000000000";
  coin.market_cap_rank = -7;
  coin.atl_change_percentage = "1.9026007997779706e+37";
  coin.ath_date = "2023-03-10T05:05:00+08:00";
  coin.roi_times = "32.61875814692682";
  coin.roi_currency = "btc";
  coin.roi_percentage = "3261.8758146926825";
  coin.last_updated = "2026-04-30T02:29:05.239Z";
  coin.price_change_percentage_in_currency.back() = "-0.0";
  check_round_trip(coin, "eur");

  std::string out;
  append_processed_record(out, coin, "eur");
  CHECK(out.front() == '{');
  CHECK(out.back() == '}');
  CHECK(out.find(R"("market_cap_rank":-7,)") != std::string::npos);
  CHECK(out.find(R"("image":null,)") != std::string::npos);
  CHECK(out.find(R"("market_cap":400000000000000000000,)") != std::string::npos);
  CHECK(out.find("\xE5\xB8\x81") != std::string::npos); // UTF-8 kept, not \u-escaped
}

TEST_CASE("market: processed records append into one JSON array", "[market]") {
  const auto page = etl::market::parse_markets(
      read_fixture("madjin__daily-crypto__markets_usd_top100_2026-04-30.json"));
  REQUIRE(page);
  std::string out = "[";
  for (std::size_t i = 0; i < page->coins.size(); ++i) {
    if (i > 0) out += ',';
    append_processed_record(out, page->coins[i], "usd");
  }
  out += ']';
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseNumbersAsStringsFlag>(out.c_str(), out.size());
  REQUIRE_FALSE(doc.HasParseError());
  REQUIRE(doc.IsArray());
  CHECK(doc.Size() == page->coins.size());
  CHECK(std::string(doc[0]["coin_id"].GetString()) == "bitcoin");
}

TEST_CASE("market: append_json_string escapes exactly what JSON requires", "[market]") {
  std::string all;
  for (int c = 0; c < 0x80; ++c) all += static_cast<char>(c);
  all += "\xE2\x80\x8B\xF0\x9F\x9A\x80";

  std::string out;
  append_json_string(out, all);
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseValidateEncodingFlag>(out.c_str(), out.size());
  REQUIRE_FALSE(doc.HasParseError());
  REQUIRE(doc.IsString());
  CHECK(std::string(doc.GetString(), doc.GetStringLength()) == all);

  std::string small = "prefix:";
  append_json_string(small, "a\"b\\c\nd\x01");
  CHECK(small == R"(prefix:"a\"b\\c\nd\u0001")");
  std::string empty;
  append_json_string(empty, "");
  CHECK(empty == R"("")");
}
