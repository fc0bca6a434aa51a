// /coins/list parsing: the real 2021 capture (7,248 coins, no platforms: the request had no
// include_platform), platforms kept as JSON text (addresses, null, ""), repeated ids, bad bodies.
#include "history/coins_list.hpp"
#include "support/fixtures.hpp"

#include <catch2/catch.hpp>

using namespace etl::history;
using etl::testing::read_fixture;

TEST_CASE("coins list: the real capture", "[history][coins_list]") {
  const auto list =
      parse_coins_list(read_fixture("julianfssen__coingecko_ruby__coins_list_2021-05-15.json"));
  REQUIRE(list);
  REQUIRE(list->coins.size() == 7248);
  CHECK(list->repeated == 0);
  CHECK(list->coins.front() == CoinListing{"01coin", "zoc", "01coin", "{}"});
  CHECK(list->coins.back() == CoinListing{"zzz-finance-v2", "zzzv2", "zzz.finance v2", "{}"});
}

TEST_CASE("coins list: platforms as sent, unknown members skipped", "[history][coins_list]") {
  const auto list = parse_coins_list(
      R"([{"id":"usd-coin","symbol":"usdc","name":"USDC","platforms":{"ethereum":"0xa0b8","solana":null,"":""}},)"
      R"( {"extra":[1,{"a":[2]}],"id":"bitcoin","name":"Bitcoin \"BTC\" \u00e9","symbol":"btc","platforms":{}},)"
      R"( {"id":"x","symbol":"x","name":"X","platforms":null,"n":1.50},)"
      R"( {"id":"usd-coin","symbol":"dup","name":"Dup"}])");
  REQUIRE(list);
  REQUIRE(list->coins.size() == 3);
  CHECK(list->coins[0].platforms_json == R"({"ethereum":"0xa0b8","solana":null,"":""})");
  CHECK(list->coins[1] == CoinListing{"bitcoin", "btc", "Bitcoin \"BTC\" \xc3\xa9", "{}"});
  CHECK(list->coins[2].platforms_json == "{}");
  CHECK(list->repeated == 1); // the first entry of an id wins
}

TEST_CASE("coins list: bodies that are not a list", "[history][coins_list]") {
  for (const char* bad :
       {R"({"error":"x"})", R"([{"id":"a","symbol":"a"}])", R"([{"id":1,"symbol":"a","name":"a"}])",
        R"([{"id":"","symbol":"a","name":"a"}])", R"([["a"]])",
        R"([{"id":"a","symbol":"a","name":"a","platforms":"x"}])",
        R"([{"id":"a","symbol":"a","name":"a","platforms":[]}])", "[", "", "null"}) {
    INFO(bad);
    CHECK_FALSE(parse_coins_list(bad));
  }
  const auto empty = parse_coins_list("[]");
  REQUIRE(empty);
  CHECK(empty->coins.empty());
}
