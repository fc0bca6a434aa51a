// The background fill's call arithmetic: the tick's leftover, the credits' daily share, the
// per-day counter and the backfill's credit log line.
#include "history/fill_quota.hpp"

#include <catch2/catch.hpp>

using namespace etl::history;

TEST_CASE("fill quota: a tick leaves its budget minus what the sweep used", "[history][fill]") {
  CHECK(tick_quota(5, 1) == 4);
  CHECK(tick_quota(5, 5) == 0);
  CHECK(tick_quota(5, 7) == 0);  // retries took more than the budget: nothing left, never negative
  CHECK(tick_quota(3, 0) == 3);  // a standby or fully cached tick
  CHECK(tick_quota(0, 0) == 0);  // no budget (unlimited sweep): history gets nothing
  CHECK(tick_quota(4, -2) == 4); // a bogus count is not a credit
}

TEST_CASE("fill quota: credits leave (monthly / 30 - poller per day) calls a day",
          "[history][fill]") {
  CHECK_FALSE(daily_history_allowance(std::nullopt, 1000.0)); // unknown credits: no cap
  // Demo: 10000 a month, a poller of 1 call per minute over 30 days = 43200 > 10000: nothing left.
  CHECK(*daily_history_allowance(10'000, 43'200.0) == 0);
  // 10000 a month, poller 4320 a month (144/day): (10000 - 4320) / 30 = 189.33 -> 189.
  CHECK(*daily_history_allowance(10'000, 4'320.0) == 189);
  CHECK(*daily_history_allowance(300, 0.0) == 10);
}

TEST_CASE("fill quota: the daily counter stops at the allowance and resets each UTC day",
          "[history][fill]") {
  DailyCredits credits(2);
  CHECK(credits.try_spend(100));
  CHECK(credits.try_spend(100));
  CHECK_FALSE(credits.try_spend(100));
  CHECK(credits.spent_today() == 2);
  CHECK(credits.try_spend(101)); // a new day
  CHECK(credits.spent_today() == 1);
  DailyCredits zero(0);
  CHECK_FALSE(zero.try_spend(5));
  DailyCredits unlimited(std::nullopt);
  for (int i = 0; i < 1000; ++i) REQUIRE(unlimited.try_spend(7));
}

TEST_CASE("fill quota: the backfill's credit line names the plan's and the poller's share",
          "[history][fill]") {
  const std::string known = credit_share_line(500, 10'000, 4'320.0);
  CHECK(known.find("500 call(s), 5.0% of the month's 10000 credits") != std::string::npos);
  CHECK(known.find("the poller uses up to 4320 (43.2%)") != std::string::npos);
  CHECK(known.find("more than the month's credits") == std::string::npos);
  CHECK(credit_share_line(6'000, 10'000, 4'320.0).find("together more than the month's credits") !=
        std::string::npos);
  const std::string unknown = credit_share_line(7, std::nullopt, 43'200.0);
  CHECK(unknown.find("COINGECKO_MONTHLY_CREDITS unset") != std::string::npos);
  CHECK(unknown.find("43200") != std::string::npos);
}
