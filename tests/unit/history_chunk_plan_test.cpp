// Chunk planning: which market_chart/range requests a backfill makes, per plan and range.
#include "history/chunk_plan.hpp"

#include <catch2/catch.hpp>

using namespace etl::history;
using namespace std::chrono;

namespace {

// 2026-05-20T13:37:00Z: mid-day, so the open UTC day is partly elapsed.
const TimePoint kNow = TimePoint{sys_days{year{2026} / 5 / 20}} + hours{13} + minutes{37};
const TimePoint kToday = floor_day(kNow);

PlanRequest days_back(int n, bool limited) {
  PlanRequest r;
  r.range = {kToday - days{n}, kNow};
  r.now = kNow;
  r.limited_reach = limited;
  return r;
}

std::size_t count(const Plan& p, Granularity g) {
  std::size_t n = 0;
  for (const auto& c : p.chunks) n += c.granularity == g ? 1 : 0;
  return n;
}

void check_windows(const Plan& plan, TimePoint floor_at) {
  for (const auto& c : plan.chunks) {
    INFO("chunk " << to_string(c.granularity));
    const auto span = c.request.to - c.request.from;
    CHECK(c.request.from <= c.core.from);
    CHECK(c.request.to >= c.core.to);
    CHECK(c.request.to <= kNow);
    CHECK(c.request.from >= floor_at);
    if (c.granularity == Granularity::daily) {
      CHECK(span > days{90}); // served daily
      CHECK(span <= days{365});
    } else if (c.granularity == Granularity::hourly) {
      CHECK(span > days{1});  // never 5-minutely
      CHECK(span < days{90}); // never daily
    }
  }
}

} // namespace

TEST_CASE(
    "history plan: 120 days = one daily window for the old part, one hourly for the last 88 days",
    "[history]") {
  const Plan plan = plan_chunks(days_back(120, true));
  REQUIRE(plan.chunks.size() == 2);
  CHECK_FALSE(plan.clamped);
  const Chunk& daily = plan.chunks[0];
  CHECK(daily.granularity == Granularity::daily);
  CHECK(daily.core == Range{kToday - days{120}, kToday - kHourlyDays});
  CHECK(daily.expected_points == 120 - 88 + 1);
  CHECK_FALSE(daily.open);
  // Widened backwards so CoinGecko serves it daily, padded an hour at its end.
  CHECK(daily.request.to == daily.core.to + hours{1});
  CHECK(daily.request.to - daily.request.from == kMinDailySpan);
  const Chunk& hourly = plan.chunks[1];
  CHECK(hourly.granularity == Granularity::hourly);
  CHECK(hourly.core == Range{kToday - kHourlyDays, kNow});
  CHECK(hourly.request == Range{kToday - kHourlyDays - hours{1}, kNow});
  CHECK(hourly.open);
  CHECK(hourly.expected_points == 88 * 24 + 13 + 1);
  check_windows(plan, kNow - days{365} + hours{1});
}

TEST_CASE("history plan: public and demo reach 365 days; the rest is clamped and never requested",
          "[history]") {
  const Plan plan = plan_chunks(days_back(400, true));
  REQUIRE(plan.clamped);
  const TimePoint reach = kNow - days{365} + kReachMargin;
  CHECK(plan.clamped->from == kToday - days{400});
  CHECK(plan.clamped->to == reach - milliseconds{1});
  REQUIRE(count(plan, Granularity::daily) == 1);
  CHECK(plan.chunks[0].core.from == reach);
  CHECK(plan.chunks[0].request.from == reach); // no padding below the reach
  check_windows(plan, reach);

  SECTION("a request entirely beyond the reach plans nothing") {
    PlanRequest r = days_back(800, true);
    r.range.to = kToday - days{500};
    const Plan old = plan_chunks(r);
    CHECK(old.chunks.empty());
    REQUIRE(old.clamped);
    CHECK(old.clamped->to == r.range.to);
  }
}

TEST_CASE(
    "history plan: pro has no reach limit; long ranges split into windows of at most 365 days",
    "[history]") {
  const Plan plan = plan_chunks(days_back(1000, false));
  CHECK_FALSE(plan.clamped);
  CHECK(count(plan, Granularity::daily) == 3);
  CHECK(count(plan, Granularity::hourly) == 1);
  CHECK(plan.chunks[0].core.from == kToday - days{1000});
  // Daily windows tile the old part without gaps.
  for (std::size_t i = 1; i < 3; ++i)
    CHECK(plan.chunks[i].core.from == plan.chunks[i - 1].core.to + milliseconds{1});
  CHECK(plan.chunks[2].core.to == kToday - kHourlyDays);
  check_windows(plan, TimePoint::min());
}

TEST_CASE("history plan: boundaries between daily and hourly", "[history]") {
  SECTION("88 days or fewer: hourly only") {
    const Plan plan = plan_chunks(days_back(88, true));
    REQUIRE(plan.chunks.size() == 1);
    CHECK(plan.chunks[0].granularity == Granularity::hourly);
  }
  SECTION("89 days: a one-day daily part, widened to be served daily") {
    const Plan plan = plan_chunks(days_back(89, true));
    REQUIRE(plan.chunks.size() == 2);
    CHECK(plan.chunks[0].granularity == Granularity::daily);
    CHECK(plan.chunks[0].expected_points == 2);
    check_windows(plan, kNow - days{365} + hours{1});
  }
  SECTION("2 days: hourly, widened past one day") {
    PlanRequest r = days_back(0, true);
    r.range.from = kNow - hours{30};
    const Plan plan = plan_chunks(r);
    REQUIRE(plan.chunks.size() == 1);
    CHECK(plan.chunks[0].granularity == Granularity::hourly);
    CHECK(plan.chunks[0].request.to - plan.chunks[0].request.from == days{2});
  }
  SECTION("the last day only: one 5-minutely chunk, unpadded") {
    PlanRequest r = days_back(0, true);
    r.range.from = kNow - days{1};
    const Plan plan = plan_chunks(r);
    REQUIRE(plan.chunks.size() == 1);
    CHECK(plan.chunks[0].granularity == Granularity::five_minute);
    CHECK(plan.chunks[0].request == r.range);
    CHECK(plan.chunks[0].expected_points == 288); // 13:40 yesterday .. 13:35 today
    CHECK(plan.chunks[0].open);
  }
}

TEST_CASE("history plan: done chunks are not planned again", "[history]") {
  PlanRequest r = days_back(120, true);
  const Plan first = plan_chunks(r);
  r.done_daily.push_back(first.chunks[0].core);
  const Plan second = plan_chunks(r);
  CHECK(second.skipped_done == 1);
  REQUIRE(second.chunks.size() == 1);
  CHECK(second.chunks[0].granularity == Granularity::hourly);

  SECTION("a day later only the new day is fetched") {
    PlanRequest next = r;
    next.now = kNow + days{1};
    next.range = {kToday + days{1} - days{120}, next.now};
    const Plan later = plan_chunks(next);
    REQUIRE(count(later, Granularity::daily) == 1);
    const Chunk& daily = later.chunks[0];
    CHECK(daily.core.from == first.chunks[0].core.to + milliseconds{1});
    CHECK(daily.core.to == kToday + days{1} - kHourlyDays);
    CHECK(daily.expected_points == 1);
    CHECK(daily.request.to - daily.request.from == kMinDailySpan);
  }
}

TEST_CASE("history plan: a chunk is final once its days are closed and published", "[history]") {
  const Range yesterday{kToday - days{1}, kToday - milliseconds{1}};
  CHECK_FALSE(is_final({kToday - days{3}, kToday}, kNow)); // touches the open day
  CHECK(is_final(yesterday, kNow));
  CHECK_FALSE(is_final(yesterday, kToday + minutes{20})); // CoinGecko publishes at 00:35
  CHECK(is_final({kToday - days{5}, kToday - days{2}}, kToday + minutes{20}));
}

TEST_CASE("history plan: subtract leaves the uncovered pieces", "[history]") {
  const TimePoint t0 = kToday;
  const auto at = [&](int h) { return t0 + hours{h}; };
  CHECK(subtract({at(0), at(10)}, {}) == std::vector<Range>{{at(0), at(10)}});
  CHECK(subtract({at(0), at(10)}, {{at(0), at(10)}}).empty());
  CHECK(subtract({at(0), at(10)}, {{at(2), at(3)}, {at(5), at(20)}}) ==
        std::vector<Range>{{at(0), at(2) - milliseconds{1}},
                           {at(3) + milliseconds{1}, at(5) - milliseconds{1}}});
}
