#pragma once
// The observability server: GET/HEAD /healthz, /readyz, /metrics, /status. cpp-httplib parses
// requests and routes them; connection_loop.hpp owns the sockets, so that no client can hold a
// worker, exhaust the process's file descriptors or delay a probe (see there for the limits).
// Runs on its own threads; stop() closes every connection and returns without waiting for any
// client.
#include "telemetry/health.hpp"
#include "telemetry/metrics.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include <tl/expected.hpp>

namespace etl::server {

struct ServerOptions {
  std::string host = "0.0.0.0";
  std::uint16_t port = 8080; // 0 picks a free port (tests)
  telemetry::ReadinessRules readiness;
  std::chrono::milliseconds liveness_max_silence{120'000};
  telemetry::StatusInfo status; // version, start time, redacted config for GET /status
  // Connections held at once (HTTP_MAX_CONNECTIONS); the server never uses more than a quarter
  // of the process's open-file limit whatever this says (effective_connection_limit).
  std::size_t max_connections = 256;
  // A request must arrive in full within this of its connection opening (or of the previous
  // response), and its response must be taken within it too.
  std::chrono::milliseconds request_deadline{5'000};
};

// min(configured, RLIMIT_NOFILE soft limit / 4), at least 1: the other three quarters of the
// descriptors stay for the pipeline (PostgreSQL, CoinGecko, spool files, logs).
std::size_t effective_connection_limit(std::size_t configured);

class HttpServer {
public:
  HttpServer(ServerOptions options, telemetry::HealthState& health, telemetry::Metrics& metrics);
  ~HttpServer(); // stops
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds and starts serving on a background thread. Error when the address cannot be bound.
  tl::expected<std::uint16_t, std::string> start(); // returns the bound port
  void stop();
  [[nodiscard]] std::size_t connection_limit() const; // the effective cap
  [[nodiscard]] std::size_t open_connections() const; // now (tests)

private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
};

} // namespace etl::server
