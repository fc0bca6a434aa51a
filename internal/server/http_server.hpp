#pragma once
// The observability server (cpp-httplib): GET/HEAD /healthz, /readyz, /metrics, /status.
// Runs on its own thread; stop() returns once the listener is closed.
#include "telemetry/health.hpp"
#include "telemetry/metrics.hpp"

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
};

class HttpServer {
public:
  HttpServer(ServerOptions options, telemetry::HealthState& health, telemetry::Metrics& metrics);
  ~HttpServer(); // stops
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds and starts serving on a background thread. Error when the address cannot be bound.
  tl::expected<std::uint16_t, std::string> start(); // returns the bound port
  void stop();

private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
};

} // namespace etl::server
