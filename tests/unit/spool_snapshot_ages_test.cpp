#include "spool/snapshot_ages.hpp"

#include <catch2/catch.hpp>

using namespace etl::spool;
using namespace std::chrono;

namespace {
SysTime at_hour(int h) { return sys_days{year{2026} / 11 / 22} + hours{h}; }
SnapshotAges::SteadyTime steady(int minutes_) {
  return SnapshotAges::SteadyTime{} + minutes(minutes_);
}
} // namespace

TEST_CASE("snapshot ages: a wall clock jumping forward while running ages nothing", "[spool]") {
  SnapshotAges ages;
  ages.begin_pass(at_hour(10), steady(0), at_hour(10));
  CHECK(ages.age("a", at_hour(9)) == hours(1));
  ages.end_pass();
  // 10 minutes later by the monotonic clock, 400 days later by the wall clock.
  ages.begin_pass(at_hour(10) + days(400), steady(10), at_hour(10) + days(400));
  CHECK(ages.age("a", at_hour(9)) == hours(1) + minutes(10));
  CHECK(ages.wall_overstatement() > days(399));
  // A snapshot named after the jump ages by the wall clock it was named with.
  CHECK(ages.age("b", at_hour(10) + days(400)) == seconds(0));
}

TEST_CASE("snapshot ages: a jump while stopped counts only up to the newest snapshot on disk",
          "[spool]") {
  SnapshotAges ages;
  // Started 400 days "later"; the newest snapshot on disk is from 10:00.
  ages.begin_pass(at_hour(10) + days(400), steady(0), at_hour(10));
  CHECK(ages.age("a", at_hour(8)) == hours(2));
  ages.end_pass();
  ages.begin_pass(at_hour(10) + days(400) + hours(3), steady(180), at_hour(10) + days(400));
  CHECK(ages.age("a", at_hour(8)) == hours(5)); // and then it ages by the monotonic clock
}

TEST_CASE("snapshot ages: with honest clocks the age is the wall clock's", "[spool]") {
  SnapshotAges ages;
  ages.begin_pass(at_hour(12), steady(0), at_hour(12));
  CHECK(ages.age("a", at_hour(2)) == hours(10));
  ages.begin_pass(at_hour(13), steady(60), at_hour(13));
  CHECK(ages.age("a", at_hour(2)) == hours(11));
  CHECK(ages.wall_overstatement() == seconds(0));
  // A wall clock that went back makes ages smaller (late, never early).
  ages.begin_pass(at_hour(12), steady(120), at_hour(13));
  CHECK(ages.age("a", at_hour(2)) == hours(10));
}
