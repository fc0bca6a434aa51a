#include "server/http_server.hpp"

#include <catch2/catch.hpp>

#include <httplib.h>
#include <rapidjson/document.h>

#include <chrono>
#include <string>

using namespace std::chrono_literals;
using etl::server::HttpServer;
using etl::server::ServerOptions;
using etl::telemetry::BuildInfo;
using etl::telemetry::HealthState;
using etl::telemetry::Metrics;

namespace {

ServerOptions loopback(std::uint16_t port = 0) {
  ServerOptions options;
  options.host = "127.0.0.1";
  options.port = port;
  options.liveness_max_silence = 60s;
  options.status = {"9.9.9", "deadbeef", std::chrono::system_clock::now() - 5s,
                    R"({"POLL_INTERVAL":"30s","POSTGRES_PASSWORD":"<redacted>"})"};
  return options;
}

struct Fixture {
  HealthState health;
  Metrics metrics{BuildInfo{"9.9.9", "deadbeef"}};
  HttpServer server{loopback(), health, metrics};
  std::uint16_t port = 0;

  Fixture() {
    auto bound = server.start();
    REQUIRE(bound);
    port = *bound;
    REQUIRE(port != 0);
  }
  httplib::Client client() const {
    httplib::Client c("127.0.0.1", port);
    c.set_connection_timeout(2s);
    c.set_read_timeout(5s);
    return c;
  }
};

} // namespace

TEST_CASE("healthz follows the scheduler loop", "[server]") {
  Fixture f;
  auto client = f.client();

  auto res = client.Get("/healthz");
  REQUIRE(res);
  CHECK(res->status == 503); // the loop has not started

  f.health.loop_started(std::chrono::system_clock::now());
  f.health.heartbeat(std::chrono::system_clock::now());
  res = client.Get("/healthz");
  REQUIRE(res);
  CHECK(res->status == 200);
  CHECK(res->body == "ok\n");

  auto head = client.Head("/healthz");
  REQUIRE(head);
  CHECK(head->status == 200);
  CHECK(head->body.empty());

  f.health.heartbeat(std::chrono::system_clock::now() - 10min); // silent longer than allowed
  res = client.Get("/healthz");
  REQUIRE(res);
  CHECK(res->status == 503);

  f.health.heartbeat(std::chrono::system_clock::now());
  f.health.loop_stopped();
  res = client.Get("/healthz");
  REQUIRE(res);
  CHECK(res->status == 503);
  CHECK(res->body.find("not running") != std::string::npos);
}

TEST_CASE("readyz explains why it is not ready, then turns ready", "[server]") {
  Fixture f;
  auto client = f.client();

  auto res = client.Get("/readyz");
  REQUIRE(res);
  CHECK(res->status == 503);
  CHECK(res->get_header_value("Content-Type") == "application/json");
  rapidjson::Document doc;
  doc.Parse(res->body.c_str());
  INFO(res->body);
  REQUIRE_FALSE(doc.HasParseError());
  CHECK(std::string(doc["status"].GetString()) == "not_ready");
  std::string reasons;
  for (const auto& check : doc["checks"].GetArray()) {
    reasons += check["reason"].GetString();
    reasons += ';';
  }
  CHECK(reasons.find("database unreachable") != std::string::npos);
  CHECK(reasons.find("no snapshot loaded yet") != std::string::npos);

  f.health.set_db_up(true);
  f.health.load_succeeded(std::chrono::system_clock::now());
  res = client.Get("/readyz");
  REQUIRE(res);
  CHECK(res->status == 200);
  CHECK(res->body.rfind(R"({"status":"ready")", 0) == 0);

  f.health.set_shutting_down();
  res = client.Get("/readyz");
  REQUIRE(res);
  CHECK(res->status == 503);
  CHECK(res->body.find("shutting down") != std::string::npos);
}

TEST_CASE("metrics are served in the Prometheus text format", "[server]") {
  Fixture f;
  f.metrics.rows_inserted.Increment(7);
  auto client = f.client();
  auto res = client.Get("/metrics");
  REQUIRE(res);
  CHECK(res->status == 200);
  CHECK(res->get_header_value("Content-Type") == "text/plain; version=0.0.4; charset=utf-8");
  CHECK(res->body.find("coingecko_etl_build_info{revision=\"deadbeef\",version=\"9.9.9\"} 1") !=
        std::string::npos);
  CHECK(res->body.find("\nprocess_resident_memory_bytes ") != std::string::npos);
  CHECK(res->body.find("\ncoingecko_etl_rows_inserted_total 7\n") != std::string::npos);
}

TEST_CASE("unknown paths are 404, other methods 405", "[server]") {
  Fixture f;
  auto client = f.client();

  auto res = client.Post("/metrics", "x=1", "application/x-www-form-urlencoded");
  REQUIRE(res);
  CHECK(res->status == 405);
  CHECK(res->get_header_value("Allow") == "GET, HEAD");

  res = client.Delete("/healthz");
  REQUIRE(res);
  CHECK(res->status == 405);

  res = client.Get("/nope");
  REQUIRE(res);
  CHECK(res->status == 404);
  CHECK(res->body == "not found\n");

  // The server is still serving after those.
  res = client.Get("/metrics");
  REQUIRE(res);
  CHECK(res->status == 200);
}

TEST_CASE("binding a port that is in use is an error value", "[server]") {
  Fixture f;
  HttpServer second(loopback(f.port), f.health, f.metrics);
  const auto bound = second.start();
  REQUIRE_FALSE(bound);
  CHECK(bound.error().find("127.0.0.1:" + std::to_string(f.port)) != std::string::npos);

  // The first server is unaffected.
  auto res = f.client().Get("/metrics");
  REQUIRE(res);
  CHECK(res->status == 200);
}

TEST_CASE("stop closes the listener and can follow start at once", "[server]") {
  HealthState health;
  Metrics metrics{BuildInfo{"v", "r"}};
  std::uint16_t port = 0;
  {
    HttpServer server(loopback(), health, metrics);
    const auto bound = server.start();
    REQUIRE(bound);
    port = *bound;
    const auto before = std::chrono::steady_clock::now();
    server.stop();
    CHECK(std::chrono::steady_clock::now() - before < 5s);
    server.stop(); // idempotent
  }
  httplib::Client client("127.0.0.1", port);
  client.set_connection_timeout(1s);
  CHECK_FALSE(client.Get("/healthz"));

  // The destructor alone stops a running server.
  {
    HttpServer server(loopback(), health, metrics);
    REQUIRE(server.start());
  }
  SUCCEED("destructor returned");
}

TEST_CASE("status is a JSON summary of the daemon in any state", "[server]") {
  Fixture f;
  auto client = f.client();

  auto res = client.Get("/status");
  REQUIRE(res);
  CHECK(res->status == 200); // not ready, but /status always answers
  CHECK(res->get_header_value("Content-Type") == "application/json");
  CHECK(res->get_header_value("Cache-Control") == "no-store");
  rapidjson::Document doc;
  doc.Parse(res->body.c_str());
  INFO(res->body);
  REQUIRE_FALSE(doc.HasParseError());
  CHECK(std::string(doc["version"].GetString()) == "9.9.9");
  CHECK(std::string(doc["revision"].GetString()) == "deadbeef");
  CHECK(doc["uptime_seconds"].GetDouble() >= 5.0);
  CHECK_FALSE(doc["ready"].GetBool());
  CHECK(std::string(doc["config"]["POSTGRES_PASSWORD"].GetString()) == "<redacted>");
  CHECK(doc["last_tick"].IsNull());

  etl::telemetry::TickReport tick;
  tick.started_at = std::chrono::system_clock::now();
  tick.result = "failed";
  tick.fetch.record(0.1, "rate_limited");
  f.health.tick_finished(tick, std::chrono::system_clock::now());
  f.health.set_backlog(2, 1000, std::chrono::system_clock::now() - 30s);
  res = client.Get("/status");
  REQUIRE(res);
  doc.Parse(res->body.c_str());
  INFO(res->body);
  REQUIRE_FALSE(doc.HasParseError());
  CHECK(std::string(doc["last_tick"]["result"].GetString()) == "failed");
  CHECK(std::string(doc["last_tick"]["stages"]["fetch"]["error_kind"].GetString()) == "rate_limited");
  CHECK(std::string(doc["last_tick"]["stages"]["load"]["outcome"].GetString()) == "not_run");
  CHECK(doc["backlog"]["snapshots"].GetInt() == 2);
  CHECK(doc["backlog"]["oldest_age_seconds"].GetDouble() >= 30.0);

  res = client.Head("/status");
  REQUIRE(res);
  CHECK(res->status == 200);
  CHECK(res->body.empty());
  res = client.Post("/status", "", "text/plain");
  REQUIRE(res);
  CHECK(res->status == 405);
}
