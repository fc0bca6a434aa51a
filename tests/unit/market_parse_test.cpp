#include "market/parse_markets.hpp"

#include "support/fixtures.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>

using etl::market::BodyErrorKind;
using etl::market::CoinMarket;
using etl::market::fits_postgres_numeric;
using etl::market::is_iso8601_timestamp;
using etl::market::parse_markets;
using etl::market::ParsedPage;

namespace {

using etl::testing::read_fixture;

ParsedPage parse_ok(std::string_view body) {
  auto page = parse_markets(body);
  if (!page) FAIL("unexpected body error: " << page.error().detail);
  return std::move(*page);
}

const CoinMarket& find_coin(const ParsedPage& page, std::string_view id) {
  const auto it = std::find_if(page.coins.begin(), page.coins.end(),
                               [&](const CoinMarket& c) { return c.id == id; });
  REQUIRE(it != page.coins.end());
  return *it;
}

BodyErrorKind error_kind(std::string_view body) {
  const auto page = parse_markets(body);
  REQUIRE_FALSE(page.has_value());
  return page.error().kind;
}

// A minimal valid coin; `extra` is spliced in before last_updated.
std::string coin_json(std::string_view id, std::string_view extra = "") {
  std::string json = R"({"id":")" + std::string(id) + R"(","symbol":"x","name":"X",)";
  json += extra;
  json += R"("last_updated":"2026-04-30T02:29:05.239Z"})";
  return json;
}

constexpr std::size_t kWindow24h = 1;
constexpr std::size_t kWindow7d = 2;
constexpr std::size_t kWindow1y = 6;

} // namespace

TEST_CASE("market: every markets fixture parses with no rejected coin", "[market]") {
  const std::pair<const char*, std::size_t> fixtures[] = {
      {"madjin__daily-crypto__markets_usd_top100_2026-04-30.json", 100},
      {"madjin__daily-crypto__markets_usd_top100_2026-01-20_nulls.json", 100},
      {"madjin__daily-crypto__markets_usd_top100_2023-03-20.json", 100},
      {"julianfssen__coingecko_ruby__markets_bitcoin_usd_2021-05-15.json", 1},
      {"julianfssen__coingecko_ruby__markets_bitcoin_myr_2021-05-15.json", 1},
      {"julianfssen__coingecko_ruby__markets_bitcoin_ethereum_eth_2021-05-15.json", 2},
      {"rciminera__Crypto-Pricing__markets_usd_top100_1y_2021-06-24.json", 100},
      {"RozanovIgor__monkey__markets_usd_2025-03-04.json", 30},
      {"midusza04__coingeko_project__markets_ids3_pcp24h7d_2026-06-08.json", 3},
  };
  for (const auto& [name, count] : fixtures) {
    INFO(name);
    const ParsedPage page = parse_ok(read_fixture(name));
    CHECK(page.coins.size() == count);
    CHECK(page.rejected.empty());
    for (const CoinMarket& coin : page.coins) {
      CHECK_FALSE(coin.id.empty());
      CHECK(is_iso8601_timestamp(coin.last_updated));
    }
  }
}

TEST_CASE("market: decimals keep the exact text of the raw body", "[market]") {
  const std::string body = read_fixture("madjin__daily-crypto__markets_usd_top100_2026-04-30.json");
  const ParsedPage page = parse_ok(body);

  const CoinMarket& doge = find_coin(page, "dogecoin");
  REQUIRE(doge.atl);
  CHECK(*doge.atl == "8.69e-05");
  const CoinMarket& shib = find_coin(page, "shiba-inu");
  CHECK(shib.current_price == std::optional<std::string>("6.25e-06"));
  CHECK(shib.atl == std::optional<std::string>("5.6366e-11"));

  const CoinMarket& btc = find_coin(page, "bitcoin");
  CHECK(btc.market_cap_rank == 1);
  REQUIRE(btc.circulating_supply);
  CHECK(btc.circulating_supply->find('.') != std::string::npos); // "20022396.0" stays a float
  CHECK(btc.image.rfind("https://coin-images.coingecko.com/", 0) == 0);

  // Every decimal we hold must appear verbatim after its key in the compact body.
  for (const CoinMarket& coin : page.coins) {
    const std::pair<const char*, const etl::market::Decimal*> fields[] = {
        {"current_price", &coin.current_price},
        {"market_cap", &coin.market_cap},
        {"total_volume", &coin.total_volume},
        {"price_change_24h", &coin.price_change_24h},
        {"circulating_supply", &coin.circulating_supply},
        {"ath", &coin.ath},
        {"atl", &coin.atl},
        {"atl_change_percentage", &coin.atl_change_percentage},
    };
    for (const auto& [key, value] : fields) {
      if (!*value) continue;
      const std::string needle = std::string("\"") + key + "\":" + **value + ",";
      INFO(coin.id << " " << needle);
      CHECK(body.find(needle) != std::string::npos);
    }
  }
}

TEST_CASE("market: raw UTF-8 names are kept as-is", "[market]") {
  const ParsedPage page =
      parse_ok(read_fixture("madjin__daily-crypto__markets_usd_top100_2026-04-30.json"));
  CHECK(find_coin(page, "stable-2").name == "\xE2\x80\x8B\xE2\x80\x8BStable");
}

TEST_CASE("market: nulls stay null and stale last_updated is kept", "[market]") {
  const ParsedPage page =
      parse_ok(read_fixture("madjin__daily-crypto__markets_usd_top100_2026-01-20_nulls.json"));
  const CoinMarket& heloc = find_coin(page, "figure-heloc");
  CHECK_FALSE(heloc.high_24h);
  CHECK_FALSE(heloc.low_24h);
  CHECK_FALSE(heloc.price_change_24h);
  CHECK_FALSE(heloc.price_change_percentage_24h);
  CHECK_FALSE(heloc.market_cap_change_24h);
  CHECK_FALSE(heloc.market_cap_change_percentage_24h);
  CHECK_FALSE(heloc.max_supply);
  CHECK_FALSE(heloc.roi_times);
  CHECK_FALSE(heloc.roi_currency);
  CHECK_FALSE(heloc.roi_percentage);
  CHECK(heloc.current_price == std::optional<std::string>("1.0"));
  CHECK(heloc.market_cap_rank == 11);
  CHECK(heloc.last_updated == "2026-01-18T05:20:07.517Z");
  CHECK(heloc.ath_date == std::optional<std::string>("2025-10-28T06:05:38.345Z"));
  CHECK_FALSE(find_coin(page, "hashnote-usyc").high_24h);
  CHECK(find_coin(page, "bitcoin").high_24h.has_value());
}

TEST_CASE("market: roi object is flattened", "[market]") {
  const ParsedPage page =
      parse_ok(read_fixture("madjin__daily-crypto__markets_usd_top100_2026-04-30.json"));
  const CoinMarket& eth = find_coin(page, "ethereum");
  CHECK(eth.roi_times == std::optional<std::string>("38.74622381089494"));
  CHECK(eth.roi_currency == std::optional<std::string>("btc"));
  CHECK(eth.roi_percentage == std::optional<std::string>("3874.622381089494"));
}

TEST_CASE("market: price change windows land in their slots", "[market]") {
  const ParsedPage midusza =
      parse_ok(read_fixture("midusza04__coingeko_project__markets_ids3_pcp24h7d_2026-06-08.json"));
  const CoinMarket& btc = find_coin(midusza, "bitcoin");
  CHECK(btc.price_change_percentage_in_currency[kWindow24h] ==
        std::optional<std::string>("3.6769056865660614"));
  CHECK(btc.price_change_percentage_in_currency[kWindow7d] ==
        std::optional<std::string>("-11.347856996781303"));
  CHECK_FALSE(btc.price_change_percentage_in_currency[0]);
  CHECK_FALSE(btc.price_change_percentage_in_currency[kWindow1y]);

  const ParsedPage rciminera =
      parse_ok(read_fixture("rciminera__Crypto-Pricing__markets_usd_top100_1y_2021-06-24.json"));
  CHECK(find_coin(rciminera, "bitcoin").price_change_percentage_in_currency[kWindow1y] ==
        std::optional<std::string>("240.75472357312074"));
  CHECK_FALSE(find_coin(rciminera, "polkadot").price_change_percentage_in_currency[kWindow1y]);
  const auto nulls = std::count_if(rciminera.coins.begin(), rciminera.coins.end(), [](auto& c) {
    return !c.price_change_percentage_in_currency[kWindow1y].has_value();
  });
  CHECK(nulls == 20);
}

TEST_CASE("market: other quote currencies parse", "[market]") {
  const ParsedPage page =
      parse_ok(read_fixture("julianfssen__coingecko_ruby__markets_bitcoin_myr_2021-05-15.json"));
  CHECK(page.coins.at(0).current_price == std::optional<std::string>("202369"));
}

TEST_CASE("market: error bodies are classified", "[market]") {
  SECTION("403 and 429 status objects") {
    for (const char* name : {"madjin__daily-crypto__error_403_2023-03-30.json",
                             "nimblehq__jetpack-compose-crypto__error_429_2022-09-29.json"}) {
      const auto page = parse_markets(read_fixture(name));
      REQUIRE_FALSE(page);
      CHECK(page.error().kind == BodyErrorKind::error_object);
    }
    const auto page =
        parse_markets(read_fixture("nimblehq__jetpack-compose-crypto__error_429_2022-09-29.json"));
    CHECK_THAT(page.error().detail, Catch::Contains("error_code=429") &&
                                        Catch::Contains("You've exceeded the Rate Limit"));
  }
  SECTION("422 error string, 500 status and nested 10012") {
    const auto page = parse_markets(
        read_fixture("julianfssen__coingecko_ruby__error_422_missing_vs_currency_2021-07-19.json"));
    REQUIRE_FALSE(page);
    CHECK(page.error().kind == BodyErrorKind::error_object);
    CHECK_THAT(page.error().detail, Catch::Contains("Missing parameter vs_currency"));
    CHECK(error_kind(read_fixture(
              "julianfssen__coingecko_ruby__error_500_ohlc_no_params_2021-07-19.json")) ==
          BodyErrorKind::error_object);
    const auto nested = parse_markets(
        read_fixture("Electron-Cash__Electron-Cash__error_10012_365d_2024-03-30.json"));
    REQUIRE_FALSE(nested);
    CHECK(nested.error().kind == BodyErrorKind::error_object);
    CHECK_THAT(nested.error().detail, Catch::Contains("error_code=10012"));
  }
  SECTION("text, html, empty") {
    CHECK(error_kind("Throttled") == BodyErrorKind::not_json);
    CHECK(error_kind("error code: 1015") == BodyErrorKind::not_json);
    CHECK(error_kind("<html><head><title>Access denied</title></head></html>") ==
          BodyErrorKind::html);
    CHECK(error_kind("\r\n <!DOCTYPE html>") == BodyErrorKind::html);
    CHECK(error_kind("") == BodyErrorKind::empty);
    CHECK(error_kind(" \n\t ") == BodyErrorKind::empty);
  }
  SECTION("other JSON values are not arrays") {
    CHECK(error_kind(R"({"a":1})") == BodyErrorKind::not_array);
    CHECK(error_kind("null") == BodyErrorKind::not_array);
    CHECK(error_kind(R"("text")") == BodyErrorKind::not_array);
    CHECK(error_kind("42") == BodyErrorKind::not_array);
  }
  SECTION("trailing bytes make it not JSON") {
    CHECK(error_kind("[]x") == BodyErrorKind::not_json);
    CHECK(error_kind("[] []") == BodyErrorKind::not_json);
    CHECK(error_kind(std::string_view("[]\0", 3)) == BodyErrorKind::not_json);
    CHECK(error_kind(std::string_view("{\"error\":1}\0", 12)) == BodyErrorKind::not_json);
    CHECK(parse_ok("[] \n").coins.empty());
  }
  SECTION("invalid UTF-8 is not JSON") {
    CHECK(error_kind("[{\"id\":\"a\xFF\"}]") == BodyErrorKind::not_json);
  }
}

TEST_CASE("market: truncated bodies", "[market]") {
  const std::string body = read_fixture("madjin__daily-crypto__markets_usd_top100_2026-04-30.json");
  const auto page = parse_markets(std::string_view(body).substr(0, 1000));
  REQUIRE_FALSE(page);
  CHECK(page.error().kind == BodyErrorKind::truncated);
  CHECK(page.error().detail.size() < 400);

  // Every strict prefix of a real body is a truncation, wherever the cut falls.
  const std::string small =
      read_fixture("julianfssen__coingecko_ruby__markets_bitcoin_ethereum_eth_2021-05-15.json");
  for (std::size_t n = 1; n < small.size(); ++n) {
    INFO("prefix length " << n);
    CHECK(error_kind(std::string_view(small).substr(0, n)) == BodyErrorKind::truncated);
  }
  // A cut inside a multi-byte character is a truncation too, not an encoding error.
  const std::string cjk = "[{\"id\":\"a\",\"name\":\"\xE5\xB8\x81";
  CHECK(error_kind(std::string_view(cjk).substr(0, cjk.size() - 1)) == BodyErrorKind::truncated);
  CHECK(error_kind(std::string_view(cjk).substr(0, cjk.size() - 2)) == BodyErrorKind::truncated);
  CHECK(error_kind("{\"status\":") == BodyErrorKind::truncated);
}

TEST_CASE("market: body detail quotes at most 200 bytes and stays printable", "[market]") {
  const std::string html = "<html>" + std::string(5000, 'x') + "\x01\xFF</html>";
  const auto page = parse_markets(html);
  REQUIRE_FALSE(page);
  CHECK(page.error().detail.size() < 260);
  const auto binary = parse_markets("\x01\x02\xFF\xFE");
  REQUIRE_FALSE(binary);
  CHECK(binary.error().kind == BodyErrorKind::not_json);
  CHECK_THAT(binary.error().detail, Catch::Contains("\\x01") && Catch::Contains("\\xff"));
}

TEST_CASE("market: elements that are not coins are rejected one by one", "[market]") {
  SECTION("array of numbers") {
    const ParsedPage page = parse_ok("[1,2]");
    CHECK(page.coins.empty());
    REQUIRE(page.rejected.size() == 2);
    CHECK(page.rejected[1].index == 1);
    CHECK(page.rejected[0].reason == "element is not an object (got number)");
  }
  SECTION("coins list has no market fields") {
    const ParsedPage page =
        parse_ok(read_fixture("julianfssen__coingecko_ruby__coins_list_2021-05-15.json"));
    CHECK(page.coins.empty());
    CHECK(page.rejected_count == 7248);
    REQUIRE(page.rejected.size() == etl::market::kMaxRejectedDetails);
    CHECK(page.rejected[0].id == "01coin");
    CHECK(std::all_of(page.rejected.begin(), page.rejected.end(), [](const auto& r) {
      return r.reason == "last_updated: required field missing";
    }));
  }
  SECTION("good and bad coins mixed keep the good ones") {
    const std::string body = "[" + coin_json("good-1") + "," +
                             coin_json("bad", R"("current_price":"12",)") + ",5,[1,[2]],null," +
                             coin_json("good-2") + "]";
    const ParsedPage page = parse_ok(body);
    REQUIRE(page.coins.size() == 2);
    CHECK(page.coins[0].id == "good-1");
    CHECK(page.coins[1].id == "good-2");
    REQUIRE(page.rejected.size() == 4);
    CHECK(page.rejected[0].index == 1);
    CHECK(page.rejected[0].id == "bad");
    CHECK(page.rejected[0].reason == "current_price: expected number or null, got string");
    CHECK(page.rejected[1].index == 2);
    CHECK(page.rejected[2].reason == "element is not an object (got array)");
    CHECK(page.rejected[3].reason == "element is not an object (got null)");
  }
}

TEST_CASE("market: per-field validation", "[market]") {
  const auto reject_reason = [](std::string_view extra) {
    const ParsedPage page = parse_ok("[" + coin_json("c", extra) + "]");
    REQUIRE(page.coins.empty());
    REQUIRE(page.rejected.size() == 1);
    CHECK(page.rejected[0].id == "c");
    return page.rejected[0].reason;
  };
  const auto accept = [](std::string_view extra) {
    const ParsedPage page = parse_ok("[" + coin_json("c", extra) + "]");
    INFO(extra);
    REQUIRE(page.rejected.empty());
    REQUIRE(page.coins.size() == 1);
    return page.coins[0];
  };

  CHECK(reject_reason(R"("market_cap_rank":1.5,)") ==
        "market_cap_rank: expected integer or null, got fraction");
  CHECK(reject_reason(R"("market_cap_rank":1e3,)") ==
        "market_cap_rank: expected integer or null, got fraction");
  CHECK(reject_reason(R"("market_cap_rank":9223372036854775808,)") ==
        "market_cap_rank: integer out of range (PostgreSQL integer)");
  CHECK(reject_reason(R"("market_cap_rank":"1",)") ==
        "market_cap_rank: expected integer or null, got string");
  CHECK(reject_reason(R"("high_24h":true,)") == "high_24h: expected number or null, got boolean");
  CHECK(reject_reason(R"("total_volume":{"a":[1]},)") ==
        "total_volume: expected number or null, got object");
  CHECK(reject_reason(R"("roi":"x",)") == "roi: expected object or null, got string");
  CHECK(reject_reason(R"("roi":[],)") == "roi: expected object or null, got array");
  CHECK(reject_reason(R"("roi":{"times":"1"},)") ==
        "roi.times: expected number or null, got string");
  CHECK(reject_reason(R"("roi":{"currency":1},)") ==
        "roi.currency: expected string or null, got number");
  CHECK(reject_reason(R"("atl_date":"2026-02-30T00:00:00Z",)") ==
        "atl_date: not an ISO 8601 timestamp: \"2026-02-30T00:00:00Z\"");
  CHECK(reject_reason(R"("atl_date":5,)") ==
        "atl_date: expected ISO 8601 timestamp string or null, got number");
  CHECK(reject_reason(R"("image":7,)") == "image: expected string or null, got number");
  CHECK(reject_reason(R"("name":null,)") == "name: duplicate key");
  CHECK(reject_reason(R"("price_change_percentage_1h_in_currency":"1",)") ==
        "price_change_percentage_1h_in_currency: expected number or null, got string");
  CHECK(reject_reason(R"("symbol":"a\u0000b",)") == "symbol: duplicate key");

  const ParsedPage nul = parse_ok(R"([{"id":"n","symbol":"a\u0000b","name":"N",)"
                                  R"("last_updated":"2026-04-30T02:29:05Z"}])");
  REQUIRE(nul.rejected.size() == 1);
  CHECK(nul.rejected[0].reason == "symbol: string contains a NUL character");

  const ParsedPage surrogate = parse_ok(R"([{"id":"s","symbol":"s","name":"a\ude80b",)"
                                        R"("last_updated":"2026-04-30T02:29:05Z"}])");
  REQUIRE(surrogate.rejected.size() == 1);
  CHECK(surrogate.rejected[0].reason ==
        "name: string contains an unpaired UTF-16 surrogate escape");
  CHECK(error_kind(R"([{"id":"a\ud83dx"}])") == BodyErrorKind::not_json);

  SECTION("required fields") {
    const auto only = [](std::string_view json) {
      const ParsedPage page = parse_ok(json);
      REQUIRE(page.rejected.size() == 1);
      return page.rejected[0];
    };
    CHECK(only(R"([{"symbol":"s","name":"n","last_updated":"2026-04-30T02:29:05Z"}])").reason ==
          "id: required field missing");
    CHECK(only(R"([{"id":"","symbol":"s","name":"n","last_updated":"2026-04-30T02:29:05Z"}])")
              .reason == "id: empty string");
    const auto numeric_id =
        only(R"([{"id":7,"symbol":"s","name":"n","last_updated":"2026-04-30T02:29:05Z"}])");
    CHECK(numeric_id.id.empty());
    CHECK(numeric_id.reason == "id: expected non-empty string, got number");
    CHECK(only(R"([{"id":"i","symbol":"s","name":"n","last_updated":null}])").reason ==
          "last_updated: expected ISO 8601 timestamp string, got null");
    CHECK(only(R"([{"id":"i","name":"n","last_updated":"2026-04-30T02:29:05Z"}])").reason ==
          "symbol: required field missing");
    CHECK(only(R"([{"id":"i","symbol":"s","name":"n","last_updated":"yesterday"}])").reason ==
          "last_updated: not an ISO 8601 timestamp: \"yesterday\"");
  }

  SECTION("accepted shapes") {
    const CoinMarket huobi = accept(R"("atl_date":"2023-03-10T05:05:00+08:00",)");
    CHECK(huobi.atl_date == std::optional<std::string>("2023-03-10T05:05:00+08:00"));

    const CoinMarket big = accept(
        R"("max_supply":400000000000000000000,"atl_change_percentage":1.9026007997779706e+37,)"
        R"("atl":0.0,"total_supply":20022396.0,"market_cap_rank":null,"low_24h":-0,)");
    CHECK(big.max_supply == std::optional<std::string>("400000000000000000000"));
    CHECK(big.atl_change_percentage == std::optional<std::string>("1.9026007997779706e+37"));
    CHECK(big.atl == std::optional<std::string>("0.0"));
    CHECK(big.total_supply == std::optional<std::string>("20022396.0"));
    CHECK(big.low_24h == std::optional<std::string>("-0"));
    CHECK_FALSE(big.market_cap_rank);

    const CoinMarket rank = accept(R"("market_cap_rank":2147483647,)");
    CHECK(rank.market_cap_rank == INT32_MAX);

    const CoinMarket roi =
        accept(R"("roi":{"times":null,"currency":null,"extra":[{}],"percentage":2.5},)");
    CHECK_FALSE(roi.roi_times);
    CHECK_FALSE(roi.roi_currency);
    CHECK(roi.roi_percentage == std::optional<std::string>("2.5"));
    CHECK_FALSE(accept(R"("roi":{},)").roi_times);

    const CoinMarket extras =
        accept(R"("sparkline_in_7d":{"price":[1.5,2,[3,{"x":{"y":[]}}]]},)"
               R"("market_cap_rank_with_rehypothecated":5,"future":{"id":"not-me"},)"
               R"("market_cap_rank":3,)");
    CHECK(extras.id == "c");
    CHECK(extras.market_cap_rank == 3);

    const ParsedPage escaped = parse_ok(
        R"([{"id":"c","name":"\u200b\u200bStable","symbol":"\u5e01\u5b89 \ud83d\ude80 \"q\" \\ \n",)"
        R"("image":null,"last_updated":"2026-04-30T02:29:05.239Z"}])");
    REQUIRE(escaped.coins.size() == 1);
    const CoinMarket& text = escaped.coins[0];
    CHECK(text.name == "\xE2\x80\x8B\xE2\x80\x8BStable");
    CHECK(text.symbol == "\xE5\xB8\x81\xE5\xAE\x89 \xF0\x9F\x9A\x80 \"q\" \\ \n");
    CHECK(text.image.empty());
  }
}

TEST_CASE("market: deep nesting neither crashes nor loses the page", "[market]") {
  const std::size_t depth = 100000;
  CHECK(error_kind(std::string(depth, '[')) == BodyErrorKind::truncated);
  const ParsedPage page = parse_ok(std::string(depth, '[') + std::string(depth, ']'));
  CHECK(page.rejected.size() == 1);
  CHECK(error_kind(std::string(depth, '{')) == BodyErrorKind::not_json);
  std::string nested_error;
  for (std::size_t i = 0; i < depth; ++i) nested_error += R"({"error":)";
  nested_error += "1" + std::string(depth, '}');
  CHECK(error_kind(nested_error) == BodyErrorKind::error_object);
}

TEST_CASE("market: to_string names every body error kind", "[market]") {
  CHECK(to_string(BodyErrorKind::empty) == "empty");
  CHECK(to_string(BodyErrorKind::html) == "html");
  CHECK(to_string(BodyErrorKind::not_json) == "not_json");
  CHECK(to_string(BodyErrorKind::truncated) == "truncated");
  CHECK(to_string(BodyErrorKind::error_object) == "error_object");
  CHECK(to_string(BodyErrorKind::not_array) == "not_array");
}

TEST_CASE("market: ISO 8601 timestamp validator", "[market]") {
  const std::pair<const char*, bool> cases[] = {
      {"2021-11-10T14:24:11.849Z", true},
      {"2013-07-06T00:00:00.000Z", true},
      {"2023-03-10T05:05:00+08:00", true},
      {"2024-03-30T07:22:29.427+00:00", true},
      {"2024-03-30T07:22:29-05:30", true},
      {"2024-02-29T00:00:00Z", true}, // leap year
      {"2000-02-29T00:00:00Z", true}, // divisible by 400
      {"2016-12-31T23:59:60Z", true}, // leap second
      {"2024-01-01T00:00:00.123456789Z", true},
      {"2024-01-01T00:00:00.1Z", true},
      {"0001-01-01T00:00:00Z", true},
      {"2023-02-29T00:00:00Z", false}, // not a leap year
      {"1900-02-29T00:00:00Z", false}, // century, not divisible by 400
      {"2024-04-31T00:00:00Z", false},
      {"2024-13-01T00:00:00Z", false},
      {"2024-00-01T00:00:00Z", false},
      {"2024-01-00T00:00:00Z", false},
      {"2024-01-32T00:00:00Z", false},
      {"2024-01-01T24:00:00Z", false},
      {"2024-01-01T00:60:00Z", false},
      {"2024-01-01T00:00:61Z", false},
      {"0000-01-01T00:00:00Z", false},
      {"2024-01-01T00:00:00", false},   // no zone
      {"2024-01-01T00:00:00.Z", false}, // empty fraction
      {"2024-01-01T00:00:00.1234567890Z", false},
      {"2024-01-01 00:00:00Z", false},
      {"2024-01-01t00:00:00z", false},
      {"2024-01-01T00:00:00ZZ", false},
      {"2024-01-01T00:00:00+0800", false},
      {"2024-01-01T00:00:00+24:00", false},
      // PostgreSQL's timestamptz input (issue 9): offsets within ±15:59, no fraction on second 60.
      {"2024-01-01T00:00:00+15:59", true},
      {"2024-01-01T00:00:00-15:59", true},
      {"2024-01-01T00:00:00+16:00", false},
      {"2024-01-01T00:00:00-16:00", false},
      {"2024-01-01T00:00:00+23:59", false},
      {"2024-12-31T23:59:60.000Z", true},
      {"2024-12-31T23:59:60.5Z", false},
      {"2024-12-31T23:59:60.000000001Z", false},
      {"0001-01-01T00:00:00+15:00", true}, // 1 BC in UTC: within timestamptz's range
      {"9999-12-31T23:59:59-15:59", true}, // 10000 AD in UTC: within it too
      {"2024-01-01T00:00:00+08:60", false},
      {"2024-01-01T00:00:00+08:00 ", false},
      {"2024-1-01T00:00:00Z", false},
      {"+2024-01-01T00:00:00Z", false},
      {"2024-01-01", false},
      {"", false},
  };
  for (const auto& [text, valid] : cases) {
    INFO(text);
    CHECK(is_iso8601_timestamp(text) == valid);
  }
}

// Issue 9: every value the parser keeps is one PostgreSQL takes, so a bad value costs its coin,
// never the snapshot. Each boundary below was checked against PostgreSQL 15's input functions.
TEST_CASE("market: numbers numeric refuses are caught by fits_postgres_numeric", "[market]") {
  const std::pair<std::string, bool> cases[] = {
      {"0", true},
      {"-0", true},
      {"8.69e-05", true},
      {"1.9026007997779706e+37", true},
      {"400000000000000000000", true},
      {"1e131071", true}, // 131072 digits before the point: the most numeric holds
      {"9.99e131071", true},
      {"-1e131071", true},
      {"1e131072", false}, // one digit more: "value overflows numeric format"
      {"1" + std::string(131071, '0'), true},
      {"1" + std::string(131072, '0'), false},
      {"1e-16383", true}, // scale 16383: the most numeric keeps
      {"1e-16384", false},
      {"1.5e-16383", false}, // scale 16384
      {"0." + std::string(16383, '1'), true},
      {"0." + std::string(16384, '1'), false},
      {"1." + std::string(16384, '0'), false},            // trailing zeros count
      {"0.0e-20000", false},                              // even zero keeps its scale
      {"0." + std::string(20000, '0') + "1e20000", true}, // scale 1 once the exponent applies
      {"0e999999", true},                                 // zero has no weight
      {"0e1073741822", true},
      {"0e1073741823", false}, // the exponent itself is refused (INT_MAX / 2)
      {"1e-99999999999999999999", false},
      {"1E+2", true},
      {"", false},
      {"1e", false},
      {"abc", false},
  };
  for (const auto& [text, fits] : cases) {
    INFO(text.substr(0, 40) << " (" << text.size() << " bytes)");
    CHECK(fits_postgres_numeric(text) == fits);
  }
}

TEST_CASE("market: values PostgreSQL refuses reject only their coin", "[market]") {
  const auto rejected = [](std::string_view coin) {
    const ParsedPage page = parse_ok("[" + coin_json("good-1") + "," + std::string(coin) + "," +
                                     coin_json("good-2") + "]");
    REQUIRE(page.coins.size() == 2);
    CHECK(page.coins[0].id == "good-1");
    CHECK(page.coins[1].id == "good-2");
    REQUIRE(page.rejected_count == 1);
    REQUIRE(page.rejected.size() == 1);
    CHECK(page.rejected[0].index == 1);
    return page.rejected[0];
  };
  const auto reason = [&](std::string_view extra) {
    return rejected(coin_json("bad", extra)).reason;
  };

  SECTION("time-zone offsets beyond ±15:59") {
    CHECK(reason(R"("ath_date":"2024-01-01T00:00:00+16:00",)") ==
          R"(ath_date: not an ISO 8601 timestamp: "2024-01-01T00:00:00+16:00")");
    CHECK(reason(R"("atl_date":"2024-01-01T00:00:00-23:59",)") ==
          R"(atl_date: not an ISO 8601 timestamp: "2024-01-01T00:00:00-23:59")");
    const auto last = rejected(
        R"({"id":"bad","symbol":"b","name":"B","last_updated":"2026-04-30T02:29:05+20:00"})");
    CHECK(last.id == "bad");
    CHECK(last.reason == R"(last_updated: not an ISO 8601 timestamp: "2026-04-30T02:29:05+20:00")");
  }
  SECTION("a leap second with a fraction") {
    CHECK(reason(R"("ath_date":"2016-12-31T23:59:60.5Z",)") ==
          R"(ath_date: not an ISO 8601 timestamp: "2016-12-31T23:59:60.5Z")");
  }
  SECTION("market_cap_rank outside PostgreSQL integer") {
    CHECK(reason(R"("market_cap_rank":3000000000,)") ==
          "market_cap_rank: integer out of range (PostgreSQL integer)");
    CHECK(reason(R"("market_cap_rank":2147483648,)") ==
          "market_cap_rank: integer out of range (PostgreSQL integer)");
    CHECK(reason(R"("market_cap_rank":-2147483649,)") ==
          "market_cap_rank: integer out of range (PostgreSQL integer)");
    const ParsedPage edge =
        parse_ok("[" + coin_json("c", R"("market_cap_rank":-2147483648,)") + "]");
    REQUIRE(edge.coins.size() == 1);
    CHECK(edge.coins[0].market_cap_rank == INT32_MIN);
  }
  SECTION("numbers beyond numeric's range, in every decimal field") {
    CHECK(reason(R"("current_price":1e-16384,)") ==
          R"(current_price: number out of PostgreSQL numeric range: "1e-16384")");
    CHECK(
        reason(R"("price_change_percentage_7d_in_currency":0.0e-20000,)") ==
        R"(price_change_percentage_7d_in_currency: number out of PostgreSQL numeric range: "0.0e-20000")");
    CHECK(reason(R"("roi":{"times":1e-99999,"currency":"usd","percentage":1},)") ==
          R"(roi.times: number out of PostgreSQL numeric range: "1e-99999")");
    CHECK(reason(R"("roi":{"times":1,"currency":"usd","percentage":0e-9999999999},)") ==
          R"(roi.percentage: number out of PostgreSQL numeric range: "0e-9999999999")");
    const std::string long_fraction = "0." + std::string(16384, '1');
    const std::string why = reason(R"("total_volume":)" + long_fraction + ",");
    CHECK(why.rfind("total_volume: number out of PostgreSQL numeric range: \"0.111", 0) == 0);
    CHECK(why.size() < 140); // the value is quoted, cut to 64 bytes
  }
  SECTION("NUL characters in any stored string field") {
    CHECK(reason(R"("image":"https://x/\u0000.png",)") == "image: string contains a NUL character");
    CHECK(reason(R"("roi":{"times":1,"currency":"us\u0000d","percentage":1},)") ==
          "roi.currency: string contains a NUL character");
    CHECK(reason(R"("ath_date":"2024-01-01T00:00:00Z\u0000",)") ==
          "ath_date: string contains a NUL character");
    CHECK(rejected(
              R"({"id":"b\u0000d","symbol":"b","name":"B","last_updated":"2026-04-30T02:29:05Z"})")
              .reason == "id: string contains a NUL character");
    CHECK(rejected(
              R"({"id":"bad","symbol":"b","name":"\u0000","last_updated":"2026-04-30T02:29:05Z"})")
              .reason == "name: string contains a NUL character");
  }
  SECTION("a NUL in a field the parser ignores does not reject the coin") {
    const ParsedPage page = parse_ok("[" + coin_json("c", R"("sparkline":"\u0000",)") + "]");
    CHECK(page.coins.size() == 1);
  }
  SECTION("ids longer than a btree index entry should carry") {
    const std::string longest(etl::market::kMaxIdBytes, 'a');
    const ParsedPage ok = parse_ok("[" + coin_json(longest) + "]");
    REQUIRE(ok.coins.size() == 1);
    CHECK(ok.coins[0].id == longest);
    const std::string too_long(3000, 'b');
    const auto r = rejected(coin_json(too_long));
    CHECK(r.reason == "id: longer than 256 bytes (3000)");
    CHECK(r.id == std::string(etl::market::kMaxRejectedIdBytes, 'b') + "...");
    // Cut at a character boundary: 21 three-byte characters are 63 bytes, the 22nd would cross 64.
    std::string wide;
    for (int i = 0; i < 100; ++i) wide += "\xE5\xB8\x81";
    const auto w = rejected(coin_json(wide));
    CHECK(w.id == wide.substr(0, 63) + "...");
  }
  SECTION("invalid UTF-8 never gets through: the reader refuses the body") {
    CHECK(error_kind("[" + coin_json("c", "\"name2\":\"\xC3\x28\",") + "]") ==
          BodyErrorKind::not_json);
    CHECK(error_kind("[" + coin_json("c", "\"x\":\"\xED\xA0\x80\",") + "]") ==
          BodyErrorKind::not_json);
  }
}

TEST_CASE("market: a page's cost is bounded whatever the body holds", "[market]") {
  constexpr std::size_t kMiB = 1u << 20;
  SECTION("a 1 MiB array of numbers: counted, a few kept") {
    std::string body = "[1";
    while (body.size() + 3 < kMiB) body += ",1";
    body += "]";
    const std::size_t elements = (body.size() - 1) / 2;
    const ParsedPage page = parse_ok(body);
    CHECK(page.coins.empty());
    CHECK(page.rejected_count == elements);
    CHECK(page.received() == elements);
    REQUIRE(page.rejected.size() == etl::market::kMaxRejectedDetails);
    CHECK(page.rejected.back().index == etl::market::kMaxRejectedDetails - 1);
    CHECK(page.rejected.back().reason == "element is not an object (got number)");
  }
  SECTION("tiny valid coins: the first kMaxElementsPerPage kept, the rest counted") {
    std::string body = "[";
    std::size_t elements = 0;
    while (body.size() < kMiB - 100) {
      if (elements > 0) body += ",";
      body += R"({"id":"t)" + std::to_string(elements++) +
              R"(","symbol":"","name":"","last_updated":"2026-04-30T02:29:05Z"})";
    }
    body += "]";
    const ParsedPage page = parse_ok(body);
    REQUIRE(page.coins.size() == etl::market::kMaxElementsPerPage);
    CHECK(page.coins.back().id == "t999");
    CHECK(page.rejected_count == elements - etl::market::kMaxElementsPerPage);
    REQUIRE(page.rejected.size() == etl::market::kMaxRejectedDetails);
    CHECK(page.rejected[0].index == etl::market::kMaxElementsPerPage);
    CHECK(page.rejected[0].id.empty()); // not read at all
    CHECK(page.rejected[0].reason == "beyond the first 1000 elements of the page");
  }
  SECTION("512 Ki levels of nesting: one rejected element") {
    const std::size_t depth = kMiB / 2;
    const ParsedPage page = parse_ok(std::string(depth, '[') + std::string(depth, ']'));
    CHECK(page.rejected_count == 1);
  }
}
