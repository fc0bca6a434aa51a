#include "spool/snapshot_plan.hpp"

#include <vector>

#include <catch2/catch.hpp>

using namespace etl::spool;

namespace {
std::vector<int> missing(const SnapshotPlan& plan, std::vector<int> present,
                         std::optional<std::size_t> last_coins) {
  return missing_pages(plan, present, last_coins);
}
} // namespace

TEST_CASE("a pending marker round-trips the plan and still reads the markers of older versions",
          "[spool][plan]") {
  const SnapshotPlan plan{13, 24, 250};
  const auto parsed = parse_plan(format_plan(plan));
  REQUIRE(parsed);
  CHECK(parsed->first_page == 13);
  CHECK(parsed->last_page == 24);
  CHECK(parsed->per_page == 250);
  CHECK(format_plan(plan) == "first=13 last=24 per_page=250");

  // Before plans were recorded: "" meant page 1, "13" the first page; the last page is unknown.
  CHECK(parse_plan("")->first_page == 1);
  CHECK(parse_plan("")->last_page == 0);
  CHECK(parse_plan("13")->first_page == 13);
  CHECK(parse_plan("first=2 last=3 per_page=100 future=7\n")->last_page ==
        3); // unknown keys ignored

  for (const char* damaged :
       {"x", "-1", "0", "first=", "first=a last=2", "last=3", "first=5 last=4", "first=1 last"})
    CHECK_FALSE(parse_plan(damaged));
}

TEST_CASE("the pages a sweep planned but did not deliver are missing", "[spool][plan]") {
  const SnapshotPlan twelve{1, 12, 250};
  CHECK(missing(twelve, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, 250).empty());
  // Interrupted after page 4 (a signal, a failed page, a crash).
  CHECK(missing(twelve, {1, 2, 3, 4}, 250) == std::vector<int>{5, 6, 7, 8, 9, 10, 11, 12});
  CHECK(missing(twelve, {1, 2, 3, 4}, std::nullopt).size() == 8); // the last page's size unknown
  // A hole in the middle stays visible whatever came after it.
  CHECK(missing(twelve, {1, 3}, 250) == std::vector<int>{2, 4, 5, 6, 7, 8, 9, 10, 11, 12});
  // A short page is the end of the market: nothing after it was there to fetch.
  CHECK(missing(twelve, {1, 2, 3}, 17).empty());
  CHECK(missing(twelve, {1, 3}, 17) == std::vector<int>{2});
  // A rolling sweep's window starts mid-market.
  CHECK(missing(SnapshotPlan{13, 24, 250}, {13, 14}, 250).front() == 15);
  // An old marker does not say what was planned: nothing can be called missing.
  CHECK(missing(SnapshotPlan{1, 0, 0}, {1}, 250).empty());
  // Nothing arrived at all: every planned page is missing.
  CHECK(missing(SnapshotPlan{1, 3, 100}, {}, std::nullopt) == std::vector<int>{1, 2, 3});
}

TEST_CASE("missing pages are named compactly in etl_runs.error", "[spool][plan]") {
  CHECK(describe_pages(std::vector<int>{3, 4, 5, 9}) == "3-5,9");
  CHECK(describe_pages(std::vector<int>{7}) == "7");
  CHECK(describe_pages(std::vector<int>{}).empty());
  CHECK(
      missing_pages_error(SnapshotPlan{1, 12, 250}, std::vector<int>{5, 6, 7, 8, 9, 10, 11, 12}) ==
      "missing pages 5-12 of 1-12 (the sweep stopped early)");
  CHECK(missing_pages_error(SnapshotPlan{1, 12, 250}, std::vector<int>{}).empty());
}
