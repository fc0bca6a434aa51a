// market_chart parsing over every captured fixture: exact decimal text, NULLs, merging by
// timestamp, the near-duplicate last stamps, the trailing off-grid "now" point, error bodies.
#include "history/market_chart.hpp"
#include "support/fixtures.hpp"

#include <catch2/catch.hpp>

using namespace etl::history;
using etl::testing::read_fixture;
using namespace std::chrono;

namespace {

std::vector<ChartPoint> parse_ok(const std::string& body) {
  auto parsed = parse_market_chart(body);
  INFO((parsed ? std::string() : parsed.error()));
  REQUIRE(parsed);
  return std::move(*parsed);
}

Range everything() {
  return {TimePoint{milliseconds{0}}, TimePoint{milliseconds{4'000'000'000'000}}};
}

} // namespace

TEST_CASE("market_chart: the 90-day daily capture keeps 90 points at 00:00 UTC, exact text",
          "[history]") {
  const auto points = parse_ok(read_fixture(
      "julianfssen__coingecko_ruby__market_chart_bitcoin_usd_90d_daily_2021-05-15.json"));
  REQUIRE(points.size() == 91);
  CHECK(points.front() ==
        ChartPoint{1613347200000, "48607.8745224845", "905515462576.995", "57738376570.131905"});
  // The last point is "now", off the daily grid.
  CHECK(points.back().ts_ms == 1621089594000);
  const Selection s = select_points(points, Granularity::daily, everything());
  CHECK(s.kept.size() == 90);
  CHECK(s.off_grid == 1);
  CHECK(s.kept.back().ts_ms == 1621036800000);
  CHECK(s.kept.back().price == std::optional<std::string>("49913.26314398822"));
  for (const auto& p : s.kept) CHECK(p.ts_ms % 86'400'000 == 0);
}

TEST_CASE("market_chart: the 1-day capture drops the near-duplicate last stamp", "[history]") {
  const auto points = parse_ok(
      read_fixture("julianfssen__coingecko_ruby__market_chart_bitcoin_usd_1d_2021-05-15.json"));
  REQUIRE(points.size() == 288);
  const Selection s = select_points(points, Granularity::five_minute, everything());
  CHECK(s.duplicates == 1);
  REQUIRE(s.kept.size() == 287);
  // Sorted by time: ...594000 comes before ...594955 and is the one kept.
  CHECK(s.kept.back() ==
        ChartPoint{1621089594000, "49078.83040364477", "918302952945.7565", "59650085993.00212"});
  CHECK(s.kept.front().price == std::optional<std::string>("50675.258073370765"));
}

TEST_CASE("market_chart: the 30-day capture keeps every hourly stamp as served", "[history]") {
  const auto points = parse_ok(
      read_fixture("julianfssen__coingecko_ruby__market_chart_bitcoin_usd_30d_2021-05-15.json"));
  REQUIRE(points.size() == 722);
  const Selection s = select_points(points, Granularity::hourly, everything());
  CHECK(s.kept.size() == 722);
  CHECK(s.kept.front() ==
        ChartPoint{1618499053863, "62641.967327043465", "1172109995119.8372", "65940825884.2999"});
  CHECK(s.kept.back().ts_ms == 1621088009000);
  // About one point an hour: what the planner's sanity check expects.
  CHECK_FALSE(count_is_suspicious(static_cast<std::int64_t>(s.kept.size()), 30 * 24));
  CHECK(count_is_suspicious(10, 30 * 24));
}

TEST_CASE("market_chart: the core range bounds what is kept", "[history]") {
  const auto points = parse_ok(read_fixture(
      "julianfssen__coingecko_ruby__market_chart_bitcoin_usd_90d_daily_2021-05-15.json"));
  const Range core{TimePoint{milliseconds{1613433600000}}, TimePoint{milliseconds{1613606400000}}};
  const Selection s = select_points(points, Granularity::daily, core);
  CHECK(s.kept.size() == 3); // both ends inclusive
  CHECK(s.outside == 88);
}

TEST_CASE("market_chart: nulls stay null, series merge by timestamp, exponents kept as sent",
          "[history]") {
  const auto points = parse_ok(
      R"({"prices":[[1000,1.5],[2000,null],[3000,2.5e-7]],"market_caps":[[1000,null],[2000,42]],"total_volumes":[[3000,7]],"extra":{"a":[1,{"b":2}]}})");
  REQUIRE(points.size() == 3);
  CHECK(points[0] == ChartPoint{1000, "1.5", std::nullopt, std::nullopt});
  CHECK(points[1] == ChartPoint{2000, std::nullopt, "42", std::nullopt});
  CHECK(points[2] == ChartPoint{3000, "2.5e-7", std::nullopt, "7"});
}

TEST_CASE("market_chart: bodies that are not a chart are refused with a reason", "[history]") {
  for (const std::string& body :
       {std::string(R"({"error":"coin not found"})"), std::string("[]"), std::string("<html>"),
        std::string(R"({"prices":[[1,2]],"market_caps":[],"total_volumes":[)"),
        std::string(R"({"prices":[[1.5,2]],"market_caps":[],"total_volumes":[]})"),
        std::string(R"({"prices":[[1,"2"]],"market_caps":[],"total_volumes":[]})"),
        std::string(R"({"prices":[[1,2,3]],"market_caps":[],"total_volumes":[]})"),
        std::string(R"({"prices":[[1]],"market_caps":[],"total_volumes":[]})"),
        std::string(R"({"prices":[],"prices":[],"market_caps":[],"total_volumes":[]})"),
        std::string(R"({"prices":{},"market_caps":[],"total_volumes":[]})")}) {
    INFO(body);
    const auto parsed = parse_market_chart(body);
    REQUIRE_FALSE(parsed);
    CHECK_FALSE(parsed.error().empty());
  }
}

TEST_CASE("market_chart: CoinGecko error bodies are recognised", "[history]") {
  const auto e10012 = parse_api_error(
      read_fixture("Electron-Cash__Electron-Cash__error_10012_365d_2024-03-30.json"));
  REQUIRE(e10012);
  CHECK(e10012->code == 10012);
  CHECK(e10012->message.find("exceeds the allowed time range") != std::string::npos);
  const auto e404 = parse_api_error(R"({"error":"coin not found"})");
  REQUIRE(e404);
  CHECK_FALSE(e404->code);
  CHECK(e404->message == "coin not found");
  const auto e429 =
      parse_api_error(read_fixture("nimblehq__jetpack-compose-crypto__error_429_2022-09-29.json"));
  REQUIRE(e429);
  CHECK(e429->code == 429);
  CHECK_FALSE(parse_api_error("Throttled"));
  CHECK_FALSE(parse_api_error(R"({"prices":[]})"));
}
