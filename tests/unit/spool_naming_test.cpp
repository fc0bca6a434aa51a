#include "spool/naming.hpp"

#include <catch2/catch.hpp>

using namespace etl::spool;
using namespace std::chrono;

namespace {
SysTime at(int y, unsigned mo, unsigned d, int h, int mi, int s, int ms = 0) {
  return sys_days{year{y} / month{mo} / day{d}} + hours{h} + minutes{mi} + seconds{s} +
         milliseconds{ms};
}
} // namespace

TEST_CASE("snapshot ids and file names follow the contract, in UTC", "[spool]") {
  const auto t = at(2026, 11, 22, 14, 0, 0, 250);
  CHECK(make_snapshot_id(t, "usd") == "20261122T140000Z_usd");
  CHECK(make_snapshot_id(t, "usd", true) == "20261122T140000.250Z_usd");
  CHECK(raw_page_filename("20261122T140000Z_usd", 1) == "20261122T140000Z_usd_p001.json");
  CHECK(raw_page_filename("20261122T140000Z_usd", 70) == "20261122T140000Z_usd_p070.json");
  CHECK(processed_filename("20261122T140000Z_usd") == "20261122T140000Z_usd.json");
}

TEST_CASE("snapshot ids parse back, and junk does not", "[spool]") {
  const auto parsed = parse_snapshot_id("20261122T140000.250Z_eur");
  REQUIRE(parsed);
  CHECK(parsed->time == at(2026, 11, 22, 14, 0, 0, 250));
  CHECK(parsed->vs_currency == "eur");
  CHECK_FALSE(parse_snapshot_id("20261322T140000Z_usd")); // month 13
  CHECK_FALSE(parse_snapshot_id("20261122T140000Z_US D"));
  CHECK_FALSE(parse_snapshot_id("20261122T140000Z"));
  CHECK_FALSE(parse_snapshot_id(".write-probe"));
  CHECK_FALSE(parse_snapshot_id("20261122X140000Z_usd"));

  const auto page = parse_raw_page_filename("20261122T140000Z_usd_p012.json");
  REQUIRE(page);
  CHECK(page->first == "20261122T140000Z_usd");
  CHECK(page->second == 12);
  CHECK_FALSE(parse_raw_page_filename("20261122T140000Z_usd.json"));
  CHECK_FALSE(parse_raw_page_filename(".tmp-20261122T140000Z_usd_p001.json.abc"));
  CHECK_FALSE(parse_raw_page_filename("20261122T140000Z_usd_p000.json"));
}

TEST_CASE("replay order is by time, with millisecond ids in their place", "[spool]") {
  CHECK(snapshot_older("20261122T140000Z_usd", "20261122T140000.500Z_usd"));
  CHECK(snapshot_older("20261122T140000.500Z_usd", "20261122T140001Z_usd"));
  CHECK(snapshot_older("20261122T140000Z_eur", "20261122T140000Z_usd")); // same time: by name
  CHECK_FALSE(snapshot_older("20261123T000000Z_usd", "20261122T235959Z_usd"));
}
