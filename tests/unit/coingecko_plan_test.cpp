// The plan's names, defaults and hosts, from the small header config/ depends on.
#include "coingecko/plan.hpp"

#include <catch2/catch.hpp>

using etl::coingecko::Plan;

TEST_CASE("plan: names read back, anything else is no plan", "[coingecko][plan]") {
  for (const Plan plan : {Plan::public_api, Plan::demo, Plan::pro}) {
    CHECK(etl::coingecko::parse_plan(etl::coingecko::to_string(plan)) == plan);
  }
  CHECK(etl::coingecko::to_string(Plan::public_api) == "public");
  CHECK_FALSE(etl::coingecko::parse_plan("Pro").has_value()); // config lowercases first
  CHECK_FALSE(etl::coingecko::parse_plan("public_api").has_value());
  CHECK_FALSE(etl::coingecko::parse_plan("").has_value());
}

TEST_CASE("plan: default rate and monthly credits", "[coingecko][plan]") {
  CHECK(etl::coingecko::default_rate_per_minute(Plan::public_api) == 5);
  CHECK(etl::coingecko::default_rate_per_minute(Plan::demo) == 30);
  CHECK(etl::coingecko::default_rate_per_minute(Plan::pro) == 500);
  CHECK(etl::coingecko::default_monthly_credits(Plan::demo) == 10'000);
  CHECK_FALSE(etl::coingecko::default_monthly_credits(Plan::public_api).has_value());
  CHECK_FALSE(etl::coingecko::default_monthly_credits(Plan::pro).has_value());
}
