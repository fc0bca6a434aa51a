// OHLC: parsing the real /ohlc captures (exact decimal text, 42 candles of 4 h for 7 days),
// hostile bodies, which candles a chunk keeps, and the request plan per plan (public/demo
// /ohlc?days= from the enum, clamped at 365 days; pro /ohlc/range in 180-day daily or 31-day
// hourly windows, done windows never asked again).
#include "history/ohlc.hpp"
#include "support/fixtures.hpp"

#include <catch2/catch.hpp>

using namespace etl::history;
using etl::testing::read_fixture;
using namespace std::chrono;

namespace {

const TimePoint kNow = TimePoint{sys_days{year{2026} / 5 / 20}} + hours{13} + minutes{37};
const TimePoint kToday = floor_day(kNow);

std::vector<OhlcCandle> parse_ok(const std::string& body) {
  auto parsed = parse_ohlc(body);
  INFO((parsed ? std::string() : parsed.error()));
  REQUIRE(parsed);
  return *parsed;
}

OhlcPlanRequest days_back(int n, bool pro) {
  OhlcPlanRequest r;
  r.days = n;
  r.now = kNow;
  r.pro = pro;
  return r;
}

} // namespace

TEST_CASE("ohlc: the 7-day capture is 42 candles of 4 hours, exact decimal text",
          "[history][ohlc]") {
  const auto candles =
      parse_ok(read_fixture("julianfssen__coingecko_ruby__ohlc_bitcoin_usd_7d_2021-05-15.json"));
  REQUIRE(candles.size() == 42);
  CHECK(candles.front() ==
        OhlcCandle{1620504000000, "57945.79", "59122.18", "57945.79", "59122.18"});
  CHECK(candles.back() == OhlcCandle{1621094400000, "48868.6", "49675.91", "48868.6", "49675.91"});
  // "58909.0" keeps its trailing zero: the text is CoinGecko's, never a double's.
  CHECK(candles[8] == OhlcCandle{1620619200000, "58213.93", "59005.01", "58213.93", "58909.0"});
  for (std::size_t i = 1; i < candles.size(); ++i)
    CHECK(candles[i].ts_ms - candles[i - 1].ts_ms == 14'400'000);
  CHECK(candle_for_days(7) == Candle::four_hours);
}

TEST_CASE("ohlc: the 30-day MYR capture is 180 candles of 4 hours", "[history][ohlc]") {
  const auto candles =
      parse_ok(read_fixture("julianfssen__coingecko_ruby__ohlc_bitcoin_myr_30d_2021-05-15.json"));
  REQUIRE(candles.size() == 180);
  CHECK(candles.front() ==
        OhlcCandle{1618516800000, "260184.16", "260184.16", "257817.26", "258923.13"});
  CHECK(candles.back().ts_ms == 1621094400000);
  CHECK(candle_for_days(30) == Candle::four_hours);
  // Every candle of the answer to days=30 is kept by the public chunk planned at capture time.
  OhlcPlanRequest r;
  r.days = 30;
  r.now = TimePoint{milliseconds{1621094460000}}; // 2021-05-15T16:01Z, when it was recorded
  const auto plan = plan_ohlc(r);
  REQUIRE(plan.chunks.size() == 1);
  CHECK(plan.chunks[0].days == 30);
  const auto sel = select_candles(candles, plan.chunks[0]);
  CHECK(sel.kept.size() == 180);
  CHECK(sel.outside == 0);
}

TEST_CASE("ohlc: nulls, bad bodies and error objects", "[history][ohlc]") {
  const auto candles = parse_ok(R"([[1620504000000,null,1.5,0.25,1e-7],[1620518400000,0,0,0,0]])");
  REQUIRE(candles.size() == 2);
  CHECK(candles[0] == OhlcCandle{1620504000000, std::nullopt, "1.5", "0.25", "1e-7"});
  CHECK(candles[1].close == "0");
  CHECK(parse_ok("[]").empty());
  for (const char* bad :
       {R"({"error":"coin not found"})", R"([[1620504000000,1,2,3]])",
        R"([[1620504000000,1,2,3,4,5]])", R"([["1620504000000",1,2,3,4]])",
        R"([[1620504000000,"1",2,3,4]])", R"([[-1,1,2,3,4]])", R"([[1.5,1,2,3,4]])",
        R"([1620504000000,1,2,3,4])", R"([[[1],1,2,3,4]])", "[[1,2,3,4,5]", "", "null"}) {
    INFO(bad);
    CHECK_FALSE(parse_ohlc(bad));
  }
  CHECK_FALSE(parse_ohlc(std::string("[]\0", 3)));
}

TEST_CASE("ohlc: a chunk keeps the candles opening inside it, once per stamp", "[history][ohlc]") {
  OhlcChunk c{
      Candle::hourly, {TimePoint{hours{10}}, TimePoint{hours{13}} - milliseconds{1}}, 0, {}, 3,
      false};
  std::vector<OhlcCandle> in;
  for (const int h : {13, 10, 11, 12, 12, 14})
    in.push_back({h * 3'600'000LL, std::to_string(h), "1", "1", "1"});
  const auto sel = select_candles(in, c);
  REQUIRE(sel.kept.size() == 3);
  CHECK(sel.kept[0].ts_ms == 11 * 3'600'000LL); // closes 11:00: opened 10:00, inside
  CHECK(sel.kept[2].ts_ms == 13 * 3'600'000LL); // closes 13:00: opened 12:00, inside
  CHECK(sel.kept[1].open == "12");              // the first of a repeated stamp
  CHECK(sel.outside == 2); // closes 10:00 (the window before) and 14:00 (after)
  CHECK(sel.duplicates == 1);
}

TEST_CASE("ohlc plan: public/demo asks /ohlc once with the smallest days of the enum",
          "[history][ohlc]") {
  CHECK(ohlc_days_for(1) == 1);
  CHECK(ohlc_days_for(2) == 7);
  CHECK(ohlc_days_for(30) == 30);
  CHECK(ohlc_days_for(31) == 90);
  CHECK(ohlc_days_for(365) == 365);
  CHECK_FALSE(ohlc_days_for(366));
  CHECK(candle_for_days(1) == Candle::thirty_minutes);
  CHECK(candle_for_days(14) == Candle::four_hours);
  CHECK(candle_for_days(90) == Candle::four_days);
  for (const auto& [wanted, days, candle] :
       {std::tuple{1, 1, Candle::thirty_minutes}, std::tuple{7, 7, Candle::four_hours},
        std::tuple{20, 30, Candle::four_hours}, std::tuple{30, 30, Candle::four_hours},
        std::tuple{120, 180, Candle::four_days}, std::tuple{365, 365, Candle::four_days}}) {
    INFO(wanted);
    const auto plan = plan_ohlc(days_back(wanted, false));
    REQUIRE(plan.chunks.size() == 1);
    const auto& c = plan.chunks[0];
    CHECK(c.days == days);
    CHECK(c.candle == candle);
    CHECK(c.open); // it reaches now: provisional
    CHECK(c.core.to == kNow);
    CHECK(c.expected_candles == days * 86'400'000LL / size_of(candle).count());
    CHECK_FALSE(plan.clamped);
  }
}

TEST_CASE("ohlc plan: public/demo beyond 365 days is clamped, never asked", "[history][ohlc]") {
  const auto plan = plan_ohlc(days_back(400, false));
  REQUIRE(plan.clamped);
  CHECK(plan.clamped->from == kNow - days{400});
  CHECK(plan.clamped->to == kNow - days{365} - milliseconds{1});
  REQUIRE(plan.chunks.size() == 1);
  CHECK(plan.chunks[0].days == 365);
}

TEST_CASE("ohlc plan: a past --from/--to range on public is done once fetched, then skipped",
          "[history][ohlc]") {
  OhlcPlanRequest r;
  r.range = {kToday - days{20}, kToday - days{10} - milliseconds{1}};
  r.now = kNow;
  auto plan = plan_ohlc(r);
  REQUIRE(plan.chunks.size() == 1);
  CHECK(plan.chunks[0].days == 30); // reaches 20 days and a part back
  CHECK_FALSE(plan.chunks[0].open);
  r.done.push_back({plan.chunks[0].candle, plan.chunks[0].core});
  plan = plan_ohlc(r);
  CHECK(plan.chunks.empty());
  CHECK(plan.skipped_done == 1);
}

TEST_CASE("ohlc plan: pro uses /ohlc/range within CoinGecko's per-request limits",
          "[history][ohlc]") {
  SECTION("up to 31 days: one hourly window") {
    const auto plan = plan_ohlc(days_back(30, true));
    REQUIRE(plan.chunks.size() == 1);
    const auto& c = plan.chunks[0];
    CHECK(c.candle == Candle::hourly);
    CHECK(c.days == 0);
    CHECK(c.request.from == kToday - days{30});
    CHECK(c.request.to == kNow);
    CHECK(c.request.to - c.request.from <= kOhlcHourlyWindow);
    CHECK(c.open);
  }
  SECTION("longer: daily windows of at most 180 days, day-aligned, contiguous; past ones done") {
    const auto plan = plan_ohlc(days_back(400, true));
    CHECK_FALSE(plan.clamped); // pro reaches back to 2018
    REQUIRE(plan.chunks.size() == 3);
    TimePoint expect_from = kToday - days{400};
    for (const auto& c : plan.chunks) {
      CHECK(c.candle == Candle::daily);
      CHECK(c.core.from == expect_from);
      CHECK(c.request.from == c.core.from);
      CHECK(c.request.to - c.request.from <= kOhlcDailyWindow);
      CHECK(floor_day(c.core.from) == c.core.from);
      CHECK(c.expected_candles <= 180);
      expect_from = c.core.to + milliseconds{1};
    }
    CHECK_FALSE(plan.chunks[0].open);
    CHECK_FALSE(plan.chunks[1].open);
    CHECK(plan.chunks[2].open);
    CHECK(plan.chunks[2].core.to == kNow);
    CHECK(plan.chunks[0].expected_candles == 180);
  }
  SECTION("a re-run asks only what done windows do not cover") {
    auto req = days_back(200, true);
    const auto first = plan_ohlc(req);
    REQUIRE(first.chunks.size() == 2);
    REQUIRE_FALSE(first.chunks[0].open);
    req.done.push_back({first.chunks[0].candle, first.chunks[0].core});
    req.done.push_back({Candle::hourly, {kToday - days{30}, kNow}}); // another candle size: ignored
    const auto again = plan_ohlc(req);
    REQUIRE(again.chunks.size() == 1);
    CHECK(again.chunks[0].core.from == first.chunks[1].core.from);
    CHECK(again.chunks[0].request == first.chunks[1].request);
    CHECK(again.skipped_done == 1);
  }
}

TEST_CASE("ohlc: candle names round-trip", "[history][ohlc]") {
  for (const Candle c : {Candle::thirty_minutes, Candle::four_hours, Candle::four_days,
                         Candle::hourly, Candle::daily}) {
    CHECK(candle_from_string(to_string(c)) == c);
  }
  CHECK_FALSE(candle_from_string("5m"));
}
