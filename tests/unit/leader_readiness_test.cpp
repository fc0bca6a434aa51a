// Readiness by role (leader election) and the settings issue 6 added.
#include "config/config.hpp"
#include "telemetry/health.hpp"

#include <catch2/catch.hpp>

using namespace std::chrono_literals;
using etl::telemetry::evaluate_readiness;
using etl::telemetry::HealthSnapshot;
using etl::telemetry::readiness_json;

namespace {
const etl::telemetry::SysTime kNow = std::chrono::sys_days{std::chrono::year{2026} / 11 / 22};

HealthSnapshot healthy_standby() {
  HealthSnapshot s;
  s.loop_running = true;
  s.last_heartbeat = kNow;
  s.db_up = true; // the lock connection works: it can take over
  s.role = "standby";
  return s;
}
} // namespace

TEST_CASE("readiness: a healthy standby is ready and says it is a standby", "[health][leader]") {
  const auto r = evaluate_readiness(healthy_standby(), kNow, {});
  CHECK(r.ready);
  REQUIRE_FALSE(r.checks.empty());
  CHECK(r.checks.front().name == "role");
  CHECK(r.checks.front().reason == "standby");
  CHECK(readiness_json(r).find(R"({"name":"role","ok":true,"reason":"standby"})") !=
        std::string::npos);
}

TEST_CASE("readiness: a standby that cannot reach PostgreSQL cannot take over",
          "[health][leader]") {
  auto s = healthy_standby();
  s.db_up = false;
  CHECK_FALSE(evaluate_readiness(s, kNow, {}).ready);
  s.db_up = true;
  s.shutting_down = true;
  CHECK_FALSE(evaluate_readiness(s, kNow, {}).ready);
}

TEST_CASE("readiness: a leader is judged by its loads as before", "[health][leader]") {
  auto s = healthy_standby();
  s.role = "leader";
  CHECK_FALSE(evaluate_readiness(s, kNow, {}).ready); // no load yet
  s.last_load_success = kNow - 5s;
  const auto r = evaluate_readiness(s, kNow, {});
  CHECK(r.ready);
  CHECK(r.checks.front().reason == "leader");
  // Without election there is no role check at all (the output is unchanged).
  s.role.clear();
  for (const auto& c : evaluate_readiness(s, kNow, {}).checks) CHECK(c.name != "role");
}

TEST_CASE("config: leader election, partition retention and monthly credits", "[config][leader]") {
  auto c = etl::config::load_config({});
  REQUIRE(c);
  CHECK(c->leader_election);
  CHECK_FALSE(c->coin_market_retention.has_value());
  CHECK_FALSE(c->monthly_credits.has_value()); // public: no monthly quota

  CHECK_FALSE(c->coin_market_raw_retention.has_value());

  c = etl::config::load_config({{"LEADER_ELECTION", "off"},
                                {"COIN_MARKET_RETENTION", "8760h"},
                                {"COIN_MARKET_RAW_RETENTION", "720h"}});
  REQUIRE(c);
  CHECK_FALSE(c->leader_election);
  CHECK(c->coin_market_retention == std::chrono::hours(8760));
  CHECK(c->coin_market_raw_retention == std::chrono::hours(720));
  CHECK(etl::config::render_effective(*c).find("COIN_MARKET_RAW_RETENTION=720h\n") !=
        std::string::npos);
  CHECK(etl::config::render_effective(*c).find("COIN_MARKET_RETENTION=8760h\n") !=
        std::string::npos);
  CHECK(etl::config::render_effective(*c).find("LEADER_ELECTION=off\n") != std::string::npos);

  const auto bad = etl::config::load_config({{"LEADER_ELECTION", "maybe"},
                                             {"COIN_MARKET_RETENTION", "5s"},
                                             {"COIN_MARKET_RAW_RETENTION", "never"}});
  REQUIRE_FALSE(bad);
  REQUIRE(bad.error().size() == 3);

  c = etl::config::load_config({{"COINGECKO_API_KEY", "CG-abc"}});
  REQUIRE(c);
  CHECK(c->monthly_credits == 10'000); // demo
  c = etl::config::load_config({{"COINGECKO_API_KEY", "CG-abc"},
                                {"COINGECKO_API_PLAN", "pro"},
                                {"COINGECKO_MONTHLY_CREDITS", "500000"}});
  REQUIRE(c);
  CHECK(c->monthly_credits == 500'000);
}

TEST_CASE("config: warnings name a rolling sweep and a monthly quota overrun", "[config][pacing]") {
  // Demo, 1 page every 30 s: 86,400 calls a month against 10,000 credits.
  auto c = etl::config::load_config({{"COINGECKO_API_KEY", "CG-abc"}});
  REQUIRE(c);
  auto warnings = etl::config::config_warnings(*c);
  REQUIRE(warnings.size() == 1);
  CHECK(warnings[0].find("86400 API calls per 30-day month") != std::string::npos);
  CHECK(warnings[0].find("10000 monthly credits") != std::string::npos);

  // Demo, whole market in three currencies every minute, credits raised: only the sweep note.
  c = etl::config::load_config({{"COINGECKO_API_KEY", "CG-abc"},
                                {"PAGES", "70"},
                                {"VS_CURRENCY", "usd,eur,btc"},
                                {"POLL_INTERVAL", "60s"},
                                {"COINGECKO_MONTHLY_CREDITS", "2000000"}});
  REQUIRE(c);
  warnings = etl::config::config_warnings(*c);
  REQUIRE(warnings.size() == 1);
  CHECK(warnings[0].find("210 API calls") != std::string::npos);
  CHECK(warnings[0].find("spread over 7 consecutive ticks") != std::string::npos);
  CHECK(warnings[0].find("refreshed every 7m") != std::string::npos);

  // Keyless at 5/min ticking every 10 s: not even one call per tick.
  c = etl::config::load_config({{"POLL_INTERVAL", "10s"}});
  REQUIRE(c);
  warnings = etl::config::config_warnings(*c);
  REQUIRE_FALSE(warnings.empty());
  CHECK(warnings[0].find("some ticks will fetch nothing") != std::string::npos);
}
