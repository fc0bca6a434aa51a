#include "telemetry/health.hpp"

#include <catch2/catch.hpp>

#include <rapidjson/document.h>

#include <string>

using namespace std::chrono_literals;
using etl::telemetry::evaluate_liveness;
using etl::telemetry::evaluate_readiness;
using etl::telemetry::HealthSnapshot;
using etl::telemetry::HealthState;
using etl::telemetry::Readiness;
using etl::telemetry::ReadinessRules;
using etl::telemetry::SysTime;

namespace {

const SysTime kNow = SysTime{} + std::chrono::hours(24 * 365 * 50);

ReadinessRules rules() {
  ReadinessRules r;
  r.poll_interval = 30s;
  r.stale_after_intervals = 3;
  r.max_pending_snapshots = 10;
  return r;
}

// The state of a daemon that is working as it should.
HealthSnapshot healthy() {
  HealthSnapshot s;
  s.loop_running = true;
  s.last_heartbeat = kNow - 1s;
  s.db_up = true;
  s.last_load_success = kNow - 10s;
  return s;
}

const etl::telemetry::Check& check(const Readiness& r, const std::string& name) {
  for (const auto& c : r.checks) {
    if (c.name == name) {
      return c;
    }
  }
  FAIL("no check named " << name);
  throw std::logic_error("unreachable");
}

std::vector<std::string> failing(const Readiness& r) {
  std::vector<std::string> names;
  for (const auto& c : r.checks) {
    if (!c.ok) {
      names.push_back(c.name);
    }
  }
  return names;
}

} // namespace

TEST_CASE("a healthy daemon is ready and lists every check in order", "[telemetry][health]") {
  const auto r = evaluate_readiness(healthy(), kNow, rules());
  CHECK(r.ready);
  std::vector<std::string> names;
  for (const auto& c : r.checks) {
    names.push_back(c.name);
    CHECK(c.ok);
    CHECK(c.reason.empty());
  }
  CHECK(names == std::vector<std::string>{"shutdown", "database", "first_load", "recent_load",
                                          "backlog", "fetch"});
}

TEST_CASE("shutting down is not ready", "[telemetry][health]") {
  auto s = healthy();
  s.shutting_down = true;
  const auto r = evaluate_readiness(s, kNow, rules());
  CHECK_FALSE(r.ready);
  CHECK(failing(r) == std::vector<std::string>{"shutdown"});
  CHECK(check(r, "shutdown").reason == "shutting down");
}

TEST_CASE("an unreachable database is not ready", "[telemetry][health]") {
  auto s = healthy();
  s.db_up = false;
  const auto r = evaluate_readiness(s, kNow, rules());
  CHECK_FALSE(r.ready);
  CHECK(failing(r) == std::vector<std::string>{"database"});
  CHECK(check(r, "database").reason == "database unreachable");
}

TEST_CASE("a database that refuses loads is not ready, and says why", "[telemetry][health]") {
  HealthState state;
  state.set_db_up(true);
  state.load_succeeded(kNow);
  state.set_db_problem(
      "refused (SQLSTATE 25006): cannot execute INSERT in a read-only transaction");
  auto s = healthy();
  s.db_problem = state.snapshot().db_problem;
  const auto r = evaluate_readiness(s, kNow, rules());
  CHECK_FALSE(r.ready);
  CHECK(failing(r) == std::vector<std::string>{"database"});
  CHECK(
      check(r, "database").reason ==
      "database refuses loads: refused (SQLSTATE 25006): cannot execute INSERT in a read-only transaction");
  // The next successful load clears it.
  state.load_succeeded(kNow);
  CHECK_FALSE(state.snapshot().db_problem);
}

TEST_CASE("no load yet is not ready", "[telemetry][health]") {
  auto s = healthy();
  s.last_load_success.reset();
  const auto r = evaluate_readiness(s, kNow, rules());
  CHECK_FALSE(r.ready);
  CHECK(check(r, "first_load").reason == "no snapshot loaded yet");
  CHECK_FALSE(check(r, "recent_load").ok);
  CHECK(check(r, "fetch").ok); // no fetch problem reported
}

TEST_CASE("a stale last load is not ready, at the boundary it still is", "[telemetry][health]") {
  auto s = healthy();
  s.last_load_success = kNow - 90s; // exactly 3 intervals
  CHECK(evaluate_readiness(s, kNow, rules()).ready);

  s.last_load_success = kNow - 123s;
  const auto r = evaluate_readiness(s, kNow, rules());
  CHECK_FALSE(r.ready);
  CHECK(failing(r) == std::vector<std::string>{"recent_load"});
  CHECK(check(r, "recent_load").reason == "last load 123 s ago, more than 3 intervals");
}

TEST_CASE("a load time in the future (clock stepped back) counts as fresh", "[telemetry][health]") {
  auto s = healthy();
  s.last_load_success = kNow + 600s;
  CHECK(evaluate_readiness(s, kNow, rules()).ready);
}

TEST_CASE("a large backlog is not ready", "[telemetry][health]") {
  auto s = healthy();
  s.pending_snapshots = 10;
  CHECK(evaluate_readiness(s, kNow, rules()).ready);
  s.pending_snapshots = 11;
  const auto r = evaluate_readiness(s, kNow, rules());
  CHECK_FALSE(r.ready);
  CHECK(failing(r) == std::vector<std::string>{"backlog"});
  CHECK(check(r, "backlog").reason == "11 snapshots pending");
}

TEST_CASE("a fetch problem counts only once the data is overdue", "[telemetry][health]") {
  auto s = healthy();
  s.fetch_problem = "unauthorized: HTTP 401";
  s.last_load_success = kNow - 20s; // within one interval
  auto r = evaluate_readiness(s, kNow, rules());
  CHECK(r.ready);
  CHECK(check(r, "fetch").ok);

  s.last_load_success = kNow - 45s; // one tick missed: no flapping on a passing failure
  r = evaluate_readiness(s, kNow, rules());
  CHECK(r.ready);

  s.last_load_success = kNow - 75s; // two ticks missed, not yet stale
  r = evaluate_readiness(s, kNow, rules());
  CHECK_FALSE(r.ready);
  CHECK(failing(r) == std::vector<std::string>{"fetch"});
  CHECK(check(r, "fetch").reason == "unauthorized: HTTP 401");

  s.last_load_success.reset(); // never loaded: the problem explains why
  r = evaluate_readiness(s, kNow, rules());
  CHECK_FALSE(check(r, "fetch").ok);
}

TEST_CASE("several failures are all reported", "[telemetry][health]") {
  HealthSnapshot s; // freshly started: nothing works yet
  s.shutting_down = true;
  s.pending_snapshots = 50;
  const auto r = evaluate_readiness(s, kNow, rules());
  CHECK(failing(r) ==
        std::vector<std::string>{"shutdown", "database", "first_load", "recent_load", "backlog"});
}

TEST_CASE("readiness_json is valid JSON with escaped reasons", "[telemetry][health]") {
  auto s = healthy();
  s.db_up = false;
  s.fetch_problem = "client_error: HTTP 400 \"bad \\ request\"\n\x01";
  s.last_load_success.reset();
  const auto body = etl::telemetry::readiness_json(evaluate_readiness(s, kNow, rules()));

  rapidjson::Document doc;
  doc.Parse(body.c_str(), body.size());
  INFO(body);
  REQUIRE_FALSE(doc.HasParseError());
  CHECK(std::string(doc["status"].GetString()) == "not_ready");
  CHECK(doc["ready"].GetBool() == false);
  const auto& checks = doc["checks"].GetArray();
  REQUIRE(checks.Size() == 6);
  CHECK(std::string(checks[1]["name"].GetString()) == "database");
  CHECK(checks[1]["ok"].GetBool() == false);
  CHECK(std::string(checks[1]["reason"].GetString()) == "database unreachable");
  CHECK(std::string(checks[5]["reason"].GetString()) == *s.fetch_problem);
  CHECK(checks[0]["ok"].GetBool() == true);
  CHECK(std::string(checks[0]["reason"].GetString()).empty());

  const auto ready = etl::telemetry::readiness_json(evaluate_readiness(healthy(), kNow, rules()));
  CHECK(ready.rfind(R"({"status":"ready","ready":true,)", 0) == 0);
}

TEST_CASE("liveness needs a running loop and a recent heartbeat", "[telemetry][health]") {
  HealthSnapshot s;
  CHECK_FALSE(evaluate_liveness(s, kNow, 120s)); // never started

  s.loop_running = true;
  s.last_heartbeat = kNow - 120s;
  CHECK(evaluate_liveness(s, kNow, 120s)); // boundary
  s.last_heartbeat = kNow - 121s;
  CHECK_FALSE(evaluate_liveness(s, kNow, 120s));

  s.last_heartbeat = kNow;
  s.loop_running = false;
  CHECK_FALSE(evaluate_liveness(s, kNow, 120s));
}

TEST_CASE("HealthState records what the pipeline reports", "[telemetry][health]") {
  HealthState state;
  CHECK_FALSE(state.snapshot().loop_running);
  state.loop_started(kNow - 5s);
  state.heartbeat(kNow - 1s);
  state.set_db_up(true);
  state.load_succeeded(kNow - 2s);
  state.set_fetch_problem("transport: timeout");
  state.set_backlog(3, 4096);

  auto s = state.snapshot();
  CHECK(s.loop_running);
  CHECK(s.last_heartbeat == kNow - 1s);
  CHECK(s.db_up);
  CHECK(s.last_load_success == kNow - 2s);
  CHECK(s.fetch_problem == "transport: timeout");
  CHECK(s.pending_snapshots == 3);
  CHECK(s.pending_bytes == 4096);
  CHECK_FALSE(s.shutting_down);

  state.set_fetch_problem(std::nullopt);
  state.set_shutting_down();
  state.loop_stopped();
  s = state.snapshot();
  CHECK_FALSE(s.fetch_problem);
  CHECK(s.shutting_down);
  CHECK_FALSE(s.loop_running);
}
