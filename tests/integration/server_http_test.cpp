#include "server/http_server.hpp"

#include <catch2/catch.hpp>

#include <httplib.h>
#include <rapidjson/document.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

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
  CHECK(std::string(doc["last_tick"]["stages"]["fetch"]["error_kind"].GetString()) ==
        "rate_limited");
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

// ---- Issue 9, item 5: limits no client can get around ----

namespace {

// A raw loopback client socket (closed by the destructor).
struct RawClient {
  int fd = -1;
  explicit RawClient(std::uint16_t port) {
    fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
      ::close(fd);
      fd = -1;
    }
  }
  ~RawClient() {
    if (fd >= 0) ::close(fd);
  }
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;

  bool send(std::string_view data) const {
    return ::send(fd, data.data(), data.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(data.size());
  }
  // Everything until the server closes, or until `timeout` passes.
  std::string read_all(std::chrono::milliseconds timeout) const {
    std::string out;
    const auto until = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          until - std::chrono::steady_clock::now());
      if (left.count() <= 0) break;
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
      char buf[4096];
      const auto n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) break;
      out.append(buf, static_cast<std::size_t>(n));
    }
    return out;
  }
  // True once the server has closed the connection (EOF or reset), without waiting.
  bool closed_by_server() const {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 0) <= 0) return false;
    char c;
    return ::recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) <= 0;
  }
};

ServerOptions limited(std::size_t max_connections, std::chrono::milliseconds deadline) {
  ServerOptions options = loopback();
  options.max_connections = max_connections;
  options.request_deadline = deadline;
  return options;
}

// A server with the given limits on a free loopback port.
struct Limited {
  HealthState health;
  Metrics metrics{BuildInfo{"v", "r"}};
  HttpServer server;
  std::uint16_t port = 0;
  Limited(std::size_t max_connections, std::chrono::milliseconds deadline)
      : server(limited(max_connections, deadline), health, metrics) {
    const auto bound = server.start();
    REQUIRE(bound);
    port = *bound;
  }
};

constexpr std::string_view kHealthz =
    "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";

} // namespace

TEST_CASE("a flood of idle connections cannot lock a probe out", "[server][limits]") {
  Limited f(8, 10s);
  f.health.loop_started(std::chrono::system_clock::now());
  f.health.heartbeat(std::chrono::system_clock::now());
  CHECK(f.server.connection_limit() == 8);

  std::vector<std::unique_ptr<RawClient>> idle;
  for (int i = 0; i < 40; ++i) {
    idle.push_back(std::make_unique<RawClient>(f.port));
    REQUIRE(idle.back()->fd >= 0);
  }
  for (int i = 0; i < 3; ++i) {
    const auto started = std::chrono::steady_clock::now();
    RawClient probe(f.port);
    REQUIRE(probe.send(kHealthz));
    const auto reply = probe.read_all(5s);
    const auto took = std::chrono::steady_clock::now() - started;
    INFO(reply);
    CHECK(reply.rfind("HTTP/1.1 200 ", 0) == 0);
    CHECK(took < 1s); // the oldest idle connection made room; no worker was waiting on one
  }
  CHECK(f.server.open_connections() <= 8);
  // The oldest idle connections were closed to make room, the newest are still open.
  CHECK(idle.front()->closed_by_server());
  CHECK_FALSE(idle.back()->closed_by_server());
  const auto text = f.metrics.serialize();
  CHECK(text.find("coingecko_etl_http_server_connections_closed_total{reason=\"limit\"} 0\n") ==
        std::string::npos);
}

TEST_CASE("a client trickling its request is cut at the whole-request deadline",
          "[server][limits]") {
  Limited f(16, 600ms);

  RawClient slow(f.port);
  const auto started = std::chrono::steady_clock::now();
  REQUIRE(slow.send("GET /healthz?"));
  // A byte every 100 ms: no single receive ever waits long, yet the request never completes.
  bool cut = false;
  while (!cut && std::chrono::steady_clock::now() - started < 5s) {
    std::this_thread::sleep_for(100ms);
    cut = !slow.send("a") || slow.closed_by_server();
  }
  const auto took = std::chrono::steady_clock::now() - started;
  CHECK(cut);
  CHECK(took >= 500ms);
  CHECK(took < 2s);

  // Meanwhile and afterwards a complete request is answered.
  RawClient probe(f.port);
  REQUIRE(probe.send(kHealthz));
  CHECK(probe.read_all(2s).rfind("HTTP/1.1 503 ", 0) == 0); // the loop has not started: 503
}

TEST_CASE("oversized request lines and headers are refused at once", "[server][limits]") {
  Limited f(16, 5s);

  RawClient long_uri(f.port);
  REQUIRE(
      long_uri.send("GET /healthz?" + std::string(20'000, 'a') + " HTTP/1.1\r\nHost: x\r\n\r\n"));
  CHECK(long_uri.read_all(2s).rfind("HTTP/1.1 414 ", 0) == 0);

  RawClient many_headers(f.port);
  std::string request = "GET /healthz HTTP/1.1\r\nHost: x\r\n";
  for (int i = 0; i < 400; ++i)
    request += "X-Pad-" + std::to_string(i) + ": " + std::string(60, 'b') + "\r\n";
  REQUIRE(many_headers.send(request + "\r\n"));
  CHECK(many_headers.read_all(2s).rfind("HTTP/1.1 431 ", 0) == 0);
}

TEST_CASE("kept-alive and pipelined requests are answered in order", "[server][limits]") {
  Limited f(16, 5s);

  RawClient client(f.port);
  REQUIRE(client.send(
      "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /nope HTTP/1.1\r\nHost: x\r\n\r\n"
      "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabcGET /metrics HTTP/1.1\r\n"
      "Host: x\r\nConnection: close\r\n\r\n"));
  const auto reply = client.read_all(3s);
  const auto first = reply.find("HTTP/1.1 503 ");
  const auto second = reply.find("HTTP/1.1 404 ");
  const auto third = reply.find("HTTP/1.1 405 ");
  const auto fourth = reply.find("HTTP/1.1 200 ");
  INFO(reply.substr(0, 600));
  CHECK(first == 0);
  CHECK(second != std::string::npos);
  CHECK(third != std::string::npos);
  CHECK(fourth != std::string::npos);
  CHECK((first < second && second < third && third < fourth));
  CHECK(reply.find("coingecko_etl_build_info") != std::string::npos);
}

TEST_CASE("stop returns at once whatever the clients do", "[server][limits]") {
  Limited f(64, 30s);
  std::vector<std::unique_ptr<RawClient>> clients;
  clients.reserve(20);
  for (int i = 0; i < 20; ++i) clients.push_back(std::make_unique<RawClient>(f.port));
  REQUIRE(clients[0]->send("GET /healthz HTTP/1.1\r\nHost: x\r\n"));     // half a request
  REQUIRE(clients[1]->send("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")); // a response not read
  std::this_thread::sleep_for(100ms); // let the server take them in (not a synchronization)
  const auto started = std::chrono::steady_clock::now();
  f.server.stop();
  CHECK(std::chrono::steady_clock::now() - started < 1s);
  CHECK(clients[0]->read_all(2s).empty()); // closed, no response
}

TEST_CASE("the connection cap stays under a quarter of the open-file limit", "[server][limits]") {
  rlimit limit{};
  REQUIRE(::getrlimit(RLIMIT_NOFILE, &limit) == 0);
  const auto capped = etl::server::effective_connection_limit(std::size_t{1} << 40);
  if (limit.rlim_cur != RLIM_INFINITY) {
    CHECK(capped == std::max<std::size_t>(static_cast<std::size_t>(limit.rlim_cur / 4), 1));
  }
  CHECK(etl::server::effective_connection_limit(3) == 3);
  CHECK(etl::server::effective_connection_limit(0) == 1);
}
