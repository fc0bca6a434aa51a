// The markets parser's two routes (issue 12, item 5): a body that is valid UTF-8 without NUL bytes
// is read in place without per-character validation; any other body, or one that turns out not
// to be JSON, takes the validating reader. Both must give exactly the same page.
#include "core/utf8.hpp"
#include "market/coin_array_parser.hpp"

#include "support/fixtures.hpp"

#include <catch2/catch.hpp>
#include <rapidjson/encodings.h>
#include <rapidjson/memorystream.h>
#include <rapidjson/stringbuffer.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

using etl::core::is_utf8_without_nul;
using etl::market::detail::ArrayRoute;
using etl::market::detail::CoinArrayParse;
using etl::market::detail::parse_coin_array;

namespace {

// The reference: RapidJSON's own UTF-8 validation, code point by code point, plus "no NUL".
bool rapidjson_accepts(std::string_view bytes) {
  if (bytes.find('\0') != std::string_view::npos) return false;
  rapidjson::MemoryStream in(bytes.data(), bytes.size());
  rapidjson::StringBuffer out;
  while (in.Tell() < bytes.size()) {
    if (!rapidjson::UTF8<>::Validate(in, out)) return false;
  }
  return true;
}

// Checks `bytes` alone and embedded in ASCII at every alignment of the eight-byte fast path.
void check_agrees(const std::string& bytes) {
  const bool expected = rapidjson_accepts(bytes);
  INFO("bytes of size " << bytes.size());
  REQUIRE(is_utf8_without_nul(bytes) == expected);
  for (std::size_t pad = 0; pad < 9; ++pad) {
    const std::string framed = std::string(pad, 'a') + bytes + std::string(11, 'z');
    REQUIRE(is_utf8_without_nul(framed) == expected);
  }
}

void require_same(std::string_view body, bool expect_in_place) {
  const CoinArrayParse fast = parse_coin_array(body, ArrayRoute::fastest);
  const CoinArrayParse checked = parse_coin_array(body, ArrayRoute::validating);
  CHECK(fast.in_place == expect_in_place);
  CHECK_FALSE(checked.in_place);
  REQUIRE(fast.result.Code() == checked.result.Code());
  CHECK(fast.result.Offset() == checked.result.Offset());
  CHECK(fast.consumed == checked.consumed);
  CHECK(fast.page.coins == checked.page.coins);
  CHECK(fast.page.rejected == checked.page.rejected);
  CHECK(fast.page.rejected_count == checked.page.rejected_count);
}

} // namespace

TEST_CASE("core: is_utf8_without_nul agrees with RapidJSON on every short sequence", "[core]") {
  std::string bytes;
  for (int a = 0; a < 256; ++a) {
    check_agrees(std::string(1, static_cast<char>(a)));
    for (int b = 0; b < 256; ++b) {
      bytes = {static_cast<char>(a), static_cast<char>(b)};
      REQUIRE(is_utf8_without_nul(bytes) == rapidjson_accepts(bytes));
    }
  }
  // Every three-byte sequence with a multi-byte lead (E0..F4 covers overlongs, surrogates and
  // four-byte leads cut short), and the edges of each four-byte lead's range.
  for (int a = 0xC0; a < 256; ++a) {
    for (int b = 0; b < 256; ++b) {
      for (int c = 0; c < 256; ++c) {
        bytes = {static_cast<char>(a), static_cast<char>(b), static_cast<char>(c)};
        REQUIRE(is_utf8_without_nul(bytes) == rapidjson_accepts(bytes));
      }
    }
  }
  for (int a = 0xF0; a <= 0xF5; ++a) {
    for (const int b : {0x7F, 0x80, 0x8F, 0x90, 0xBF, 0xC0}) {
      for (const int c : {0x7F, 0x80, 0xBF, 0xC0}) {
        for (const int d : {0x00, 0x7F, 0x80, 0xBF, 0xC0}) {
          check_agrees({static_cast<char>(a), static_cast<char>(b), static_cast<char>(c),
                        static_cast<char>(d)});
        }
      }
    }
  }
  // Random mixes of valid characters and stray bytes, long enough to cross word boundaries.
  std::mt19937 rng(12);
  const std::vector<std::string> pieces = {"a",
                                           "\"",
                                           "\xC3\xA9",
                                           "\xE2\x82\xAC",
                                           "\xF0\x9F\x9A\x80",
                                           "\x80",
                                           "\xED\xA0\x80",
                                           "\xC0\xAF",
                                           "\xF4\x90\x80\x80",
                                           std::string(1, '\0'),
                                           "0123456789abcdef"};
  for (int round = 0; round < 2000; ++round) {
    bytes.clear();
    const int count = static_cast<int>(rng() % 12);
    for (int i = 0; i < count; ++i) {
      const std::size_t pick = rng() % pieces.size();
      // Mostly valid pieces, so a valid body is common and each stray byte is alone.
      bytes += pieces[pick < 5 || rng() % 4 == 0 ? pick : rng() % 5];
    }
    check_agrees(bytes);
  }
}

TEST_CASE("market: every real page is read in place, with the same coins as the validating reader",
          "[market]") {
  for (const char* name : {"madjin__daily-crypto__markets_usd_top100_2026-04-30.json",
                           "madjin__daily-crypto__markets_usd_top100_2026-01-20_nulls.json",
                           "madjin__daily-crypto__markets_usd_top100_2023-03-20.json",
                           "julianfssen__coingecko_ruby__markets_bitcoin_myr_2021-05-15.json",
                           "rciminera__Crypto-Pricing__markets_usd_top100_1y_2021-06-24.json",
                           "RozanovIgor__monkey__markets_usd_2025-03-04.json",
                           "midusza04__coingeko_project__markets_ids3_pcp24h7d_2026-06-08.json"}) {
    INFO(name);
    const std::string body = etl::testing::read_fixture(name);
    require_same(body, true);
    REQUIRE_FALSE(parse_coin_array(body).page.coins.empty());
  }
}

TEST_CASE("market: escapes, bad coins and broken bodies read alike on both routes", "[market]") {
  const std::string good =
      R"({"id":"a\"b\\c\/d","symbol":"\u00e9\ud83d\ude80","name":"tab\there\u0041",)"
      R"("image":null,"current_price":1.50e-3,"market_cap_rank":7,"roi":{"times":2.5,)"
      R"("currency":"usd","percentage":250},"last_updated":"2026-04-30T02:29:05.239Z"})";
  // Each of these rejects its coin (NUL, lone surrogate, bad date, duplicate key, wrong type).
  const std::string nul =
      R"({"id":"n","symbol":"a\u0000b","name":"N","last_updated":"2026-04-30T02:29:05Z"})";
  const std::string lone =
      R"({"id":"l","symbol":"\ude80","name":"L","last_updated":"2026-04-30T02:29:05Z"})";
  const std::string date = R"({"id":"d","symbol":"d","name":"D","last_updated":"yesterday"})";
  const std::string twice =
      R"({"id":"t","id":"u","symbol":"t","name":"T","last_updated":"2026-04-30T02:29:05Z"})";
  const std::string typed =
      R"({"id":5,"symbol":"y","name":"Y","last_updated":"2026-04-30T02:29:05Z"})";
  const std::string coins = good + "," + nul + "," + lone + "," + date + "," + twice + "," + typed;

  SECTION("valid UTF-8: in place") {
    require_same("[" + coins + "," + good + ",[1],\"x\",null]", true);
    require_same(" [ ] ", true);
    const CoinArrayParse parse = parse_coin_array("[" + coins + "]");
    REQUIRE(parse.page.coins.size() == 1);
    CHECK(parse.page.coins[0].id == "a\"b\\c/d");
    CHECK(parse.page.coins[0].symbol == "\xC3\xA9\xF0\x9F\x9A\x80");
    CHECK(parse.page.coins[0].current_price == "1.50e-3");
    CHECK(parse.page.rejected_count == 5);
  }
  SECTION("not JSON after all: the validating reader's verdict") {
    require_same("[" + coins + ",]", false);
    require_same("[" + good, false);
    require_same("[" + good + "] x", false);
    require_same(R"([{"id":"a\ud83d"}])", false);
  }
  SECTION("invalid UTF-8 or a NUL byte: the validating route from the start") {
    require_same("[" + good + R"(,{"id":"\xFF"}])", false);
    require_same("[" + good + "]" + std::string(1, '\0') + "x", false);
    require_same(R"([{"id":"caf)" + std::string("\xC3") + R"("}])", false);
  }
}
