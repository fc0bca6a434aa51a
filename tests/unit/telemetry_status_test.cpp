#include "telemetry/health.hpp"
#include "telemetry/status.hpp"

#include <catch2/catch.hpp>

#include <rapidjson/document.h>

#include <string>

using namespace std::chrono_literals;
using etl::telemetry::HealthSnapshot;
using etl::telemetry::HealthState;
using etl::telemetry::ReadinessRules;
using etl::telemetry::StageReport;
using etl::telemetry::StatusInfo;
using etl::telemetry::SysTime;
using etl::telemetry::TickReport;

namespace {

// 2026-11-22T14:00:00Z
const SysTime kNow = SysTime{} + std::chrono::seconds(1'795'356'000);

rapidjson::Document parse(const std::string& text) {
  rapidjson::Document doc;
  doc.Parse(text.c_str(), text.size());
  INFO(text);
  REQUIRE_FALSE(doc.HasParseError());
  REQUIRE(doc.IsObject());
  return doc;
}

std::string str(const rapidjson::Value& v) {
  REQUIRE(v.IsString());
  return {v.GetString(), v.GetStringLength()};
}

StatusInfo info() {
  return StatusInfo{"1.2.3", "abcdef", kNow - 90s,
                    etl::telemetry::key_value_lines_to_json(
                        "POLL_INTERVAL=30s\nDATABASE_URL=postgresql://u:<redacted>@db/x\n")};
}

ReadinessRules rules() {
  ReadinessRules r;
  r.poll_interval = 30s;
  return r;
}

} // namespace

TEST_CASE("a stage report summarises every run of the tick", "[telemetry][status]") {
  StageReport stage;
  CHECK(stage.outcome() == "not_run");
  stage.record(0.25);
  CHECK(stage.outcome() == "ok");
  CHECK(stage.error_kind.empty());
  stage.record(0.5, "unavailable");
  stage.record(0.25, "rejected");
  CHECK(stage.outcome() == "partial");
  CHECK(stage.runs == 3);
  CHECK(stage.failures == 2);
  CHECK(stage.error_kind == "unavailable"); // the first failure names the kind
  CHECK(stage.duration_seconds == Approx(1.0));

  StageReport failed;
  failed.record(1.0, "rate_limited");
  CHECK(failed.outcome() == "failed");
}

TEST_CASE("iso8601_utc prints UTC with milliseconds", "[telemetry][status]") {
  CHECK(etl::telemetry::iso8601_utc(kNow + 123ms) == "2026-11-22T14:00:00.123Z");
  CHECK(etl::telemetry::iso8601_utc(SysTime{}) == "1970-01-01T00:00:00.000Z");
  CHECK(etl::telemetry::iso8601_utc(SysTime{} - 1ms) == "1969-12-31T23:59:59.999Z");
}

TEST_CASE("key=value lines become a JSON object, escaped and in order", "[telemetry][status]") {
  const auto json = etl::telemetry::key_value_lines_to_json(
      "A=1\r\nno equals sign\nB=x=y\n=skipped\nC=\"quoted\\\" \x01\nD=\n");
  CHECK(json == R"({"A":"1","B":"x=y","C":"\"quoted\\\" \u0001","D":""})");
  const auto doc = parse(json);
  CHECK(str(doc["C"]) == "\"quoted\\\" \x01");
  CHECK(etl::telemetry::key_value_lines_to_json("") == "{}");
}

TEST_CASE("status before the first tick", "[telemetry][status]") {
  HealthSnapshot s;
  s.loop_running = true;
  const auto readiness = etl::telemetry::evaluate_readiness(s, kNow, rules());
  const auto doc = parse(etl::telemetry::status_json(info(), s, readiness, kNow));

  CHECK(str(doc["version"]) == "1.2.3");
  CHECK(str(doc["revision"]) == "abcdef");
  CHECK(str(doc["started_at"]) == "2026-11-22T13:58:30.000Z");
  CHECK(doc["uptime_seconds"].GetDouble() == Approx(90.0));
  CHECK_FALSE(doc["ready"].GetBool());
  REQUIRE(doc["not_ready_reasons"].IsArray());
  bool names_database = false;
  for (const auto& reason : doc["not_ready_reasons"].GetArray()) {
    names_database = names_database || str(reason) == "database: database unreachable";
  }
  CHECK(names_database);
  CHECK(str(doc["config"]["POLL_INTERVAL"]) == "30s");
  CHECK(str(doc["config"]["DATABASE_URL"]) == "postgresql://u:<redacted>@db/x");
  CHECK(doc["last_tick"].IsNull());
  CHECK(doc["backlog"]["snapshots"].GetInt64() == 0);
  CHECK(doc["backlog"]["oldest_age_seconds"].GetDouble() == 0.0);
  CHECK_FALSE(doc["db_up"].GetBool());
  CHECK(doc["last_load_success"].IsNull());
  CHECK(doc["last_tick_success"].IsNull());
  CHECK(doc["role"].IsNull());
}

TEST_CASE("status after ticks reports each stage and the backlog", "[telemetry][status]") {
  HealthState state;
  state.set_db_up(false);
  state.set_backlog(3, 4096, kNow - 75s);
  state.load_succeeded(kNow - 40s);

  TickReport ok;
  ok.started_at = kNow - 31s;
  ok.result = "success";
  ok.fetch.record(0.2);
  state.tick_finished(ok, kNow - 30s);

  TickReport tick;
  tick.started_at = kNow - 2s;
  tick.duration_seconds = 1.5;
  tick.result = "partial";
  tick.fetch.record(0.5);
  tick.spool.record(0.01);
  tick.transform.record(0.02, "html");
  tick.load.record(0.3, "unavailable");
  state.tick_finished(tick, kNow - 500ms);

  const auto snap = state.snapshot();
  const auto readiness = etl::telemetry::evaluate_readiness(snap, kNow, rules());
  const auto doc = parse(etl::telemetry::status_json(info(), snap, readiness, kNow));

  const auto& last = doc["last_tick"];
  REQUIRE(last.IsObject());
  CHECK(str(last["started_at"]) == "2026-11-22T13:59:58.000Z");
  CHECK(str(last["result"]) == "partial");
  CHECK(last["duration_seconds"].GetDouble() == Approx(1.5));
  const auto& stages = last["stages"];
  CHECK(str(stages["fetch"]["outcome"]) == "ok");
  CHECK(stages["fetch"]["error_kind"].IsNull());
  CHECK(stages["fetch"]["duration_seconds"].GetDouble() == Approx(0.5));
  CHECK(str(stages["spool"]["outcome"]) == "ok");
  CHECK(str(stages["transform"]["outcome"]) == "failed");
  CHECK(str(stages["transform"]["error_kind"]) == "html");
  CHECK(str(stages["load"]["outcome"]) == "failed");
  CHECK(str(stages["load"]["error_kind"]) == "unavailable");
  CHECK(stages["load"]["runs"].GetInt() == 1);

  CHECK(doc["backlog"]["snapshots"].GetInt64() == 3);
  CHECK(doc["backlog"]["bytes"].GetUint64() == 4096);
  CHECK(doc["backlog"]["oldest_age_seconds"].GetDouble() == Approx(75.0));
  CHECK_FALSE(doc["db_up"].GetBool());
  CHECK(str(doc["last_load_success"]) == "2026-11-22T13:59:20.000Z");
  // The partial tick did not move the last fully successful one.
  CHECK(str(doc["last_tick_success"]) == "2026-11-22T13:59:30.000Z");
}

TEST_CASE("a clock stepped backwards never shows negative ages", "[telemetry][status]") {
  HealthSnapshot s;
  s.oldest_pending = kNow + 60s;
  auto i = info();
  i.started_at = kNow + 10s;
  const auto readiness = etl::telemetry::evaluate_readiness(s, kNow, rules());
  const auto doc = parse(etl::telemetry::status_json(i, s, readiness, kNow));
  CHECK(doc["uptime_seconds"].GetDouble() == 0.0);
  CHECK(doc["backlog"]["oldest_age_seconds"].GetDouble() == 0.0);
}
