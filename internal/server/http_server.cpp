#include "server/http_server.hpp"

#include <atomic>
#include <cerrno>
#include <cstring>
#include <thread>

#include <httplib.h>
#include <sys/socket.h>

namespace etl::server {
namespace {

constexpr const char* kMetricsContentType = "text/plain; version=0.0.4; charset=utf-8";
constexpr const char* kAllow = "GET, HEAD";
const char* const kPaths[] = {"/healthz", "/readyz", "/metrics", "/status"};

// httplib's default sets SO_REUSEPORT, which would let a second daemon silently share our
// port. SO_REUSEADDR alone still allows a quick restart over TIME_WAIT sockets.
void socket_options(socket_t sock) {
  int yes = 1;
  ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
}

void method_not_allowed(const httplib::Request&, httplib::Response& res) {
  res.status = 405;
  res.set_header("Allow", kAllow);
  res.set_content("method not allowed\n", "text/plain; charset=utf-8");
}

} // namespace

struct HttpServer::Impl {
  ServerOptions options;
  telemetry::HealthState& health;
  telemetry::Metrics& metrics;
  httplib::Server server;
  std::thread thread;
  std::atomic<bool> listen_returned{false};

  Impl(ServerOptions opts, telemetry::HealthState& h, telemetry::Metrics& m)
      : options(std::move(opts)), health(h), metrics(m) {
    configure();
  }

  void configure() {
    // Four workers: a slow or idle keep-alive client must not hold the only worker a kubelet
    // probe needs (two were measured to delay probes by seconds).
    server.new_task_queue = [] { return new httplib::ThreadPool(4); };
    // Without TCP_NODELAY a reply on a reused keep-alive connection waits ~40 ms (Nagle + delayed ACK).
    server.set_tcp_nodelay(true);
    server.set_socket_options(socket_options);
    server.set_read_timeout(5, 0);
    server.set_write_timeout(5, 0);
    server.set_keep_alive_max_count(5);
    server.set_keep_alive_timeout(2);
    server.set_payload_max_length(8 * 1024);

    // httplib 0.11 answers HEAD from the GET handlers and leaves the body out.
    server.Get("/healthz",
               [this](const httplib::Request&, httplib::Response& res) { healthz(res); });
    server.Get("/readyz", [this](const httplib::Request&, httplib::Response& res) { readyz(res); });
    server.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
      res.set_content(metrics.serialize(), kMetricsContentType);
    });
    server.Get("/status", [this](const httplib::Request&, httplib::Response& res) { status(res); });
    for (const char* path : kPaths) {
      server.Post(path, method_not_allowed);
      server.Put(path, method_not_allowed);
      server.Patch(path, method_not_allowed);
      server.Delete(path, method_not_allowed);
      server.Options(path, method_not_allowed);
    }
    // Called for every status >= 400, including our own 503s: only fill bodies left empty.
    server.set_error_handler(httplib::Server::HandlerWithResponse([](const httplib::Request&,
                                                                     httplib::Response& res) {
      if (!res.body.empty()) {
        return httplib::Server::HandlerResponse::Unhandled;
      }
      res.set_content(res.status == 404 ? "not found\n" : "error\n", "text/plain; charset=utf-8");
      return httplib::Server::HandlerResponse::Handled;
    }));
  }

  void healthz(httplib::Response& res) {
    const auto now = std::chrono::system_clock::now();
    const auto snap = health.snapshot();
    res.set_header("Cache-Control", "no-store");
    if (telemetry::evaluate_liveness(snap, now, options.liveness_max_silence)) {
      res.set_content("ok\n", "text/plain; charset=utf-8");
      return;
    }
    res.status = 503;
    if (!snap.loop_running) {
      res.set_content("scheduler loop not running\n", "text/plain; charset=utf-8");
    } else {
      const auto silent =
          std::chrono::duration_cast<std::chrono::seconds>(now - snap.last_heartbeat);
      res.set_content("scheduler loop silent for " + std::to_string(silent.count()) + " s\n",
                      "text/plain; charset=utf-8");
    }
  }

  void readyz(httplib::Response& res) {
    const auto readiness = telemetry::evaluate_readiness(
        health.snapshot(), std::chrono::system_clock::now(), options.readiness);
    res.status = readiness.ready ? 200 : 503;
    res.set_header("Cache-Control", "no-store");
    res.set_content(telemetry::readiness_json(readiness), "application/json");
  }

  // Always 200: it describes the daemon, whatever its state; /readyz is the verdict.
  void status(httplib::Response& res) {
    const auto now = std::chrono::system_clock::now();
    const auto snap = health.snapshot();
    const auto readiness = telemetry::evaluate_readiness(snap, now, options.readiness);
    res.set_header("Cache-Control", "no-store");
    res.set_content(telemetry::status_json(options.status, snap, readiness, now),
                    "application/json");
  }
};

HttpServer::HttpServer(ServerOptions options, telemetry::HealthState& health,
                       telemetry::Metrics& metrics)
    : m_impl(std::make_unique<Impl>(std::move(options), health, metrics)) {}

HttpServer::~HttpServer() {
  stop();
}

tl::expected<std::uint16_t, std::string> HttpServer::start() {
  auto& impl = *m_impl;
  if (impl.thread.joinable()) {
    return tl::unexpected(std::string("server already started"));
  }
  const auto address = impl.options.host + ":" + std::to_string(impl.options.port);
  errno = 0;
  int port = impl.options.port;
  bool bound = false;
  if (impl.options.port == 0) {
    port = impl.server.bind_to_any_port(impl.options.host);
    bound = port > 0;
  } else {
    bound = impl.server.bind_to_port(impl.options.host, impl.options.port);
  }
  if (!bound) {
    const int err = errno;
    return tl::unexpected(
        "cannot listen on " + address +
        (err != 0 ? std::string(": ") + std::strerror(err) : std::string(": address not usable")));
  }
  impl.thread = std::thread([&impl] {
    impl.server.listen_after_bind();
    impl.listen_returned = true;
  });
  // stop() is a no-op until the listen loop has started, so a stop() right after start()
  // would otherwise leave the thread listening forever.
  while (!impl.server.is_running() && !impl.listen_returned) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  if (impl.listen_returned) {
    impl.thread.join();
    return tl::unexpected("listener on " + address + " stopped at once");
  }
  return static_cast<std::uint16_t>(port);
}

void HttpServer::stop() {
  auto& impl = *m_impl;
  if (!impl.thread.joinable()) {
    return;
  }
  impl.server.stop();
  impl.thread.join();
}

} // namespace etl::server
