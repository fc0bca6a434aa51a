#include "server/http_server.hpp"

#include "server/connection_loop.hpp"
#include "server/listener.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <optional>
#include <utility>

#include <httplib.h>
#include <spdlog/spdlog.h>

#include <sys/resource.h>

namespace etl::server {
namespace {

constexpr const char* kMetricsContentType = "text/plain; version=0.0.4; charset=utf-8";
constexpr const char* kAllow = "GET, HEAD";
const char* const kPaths[] = {"/healthz", "/readyz", "/metrics", "/status"};
constexpr std::size_t kMaxBodyBytes = 8 * 1024;

void method_not_allowed(const httplib::Request&, httplib::Response& res) {
  res.status = 405;
  res.set_header("Allow", kAllow);
  res.set_content("method not allowed\n", "text/plain; charset=utf-8");
}

// httplib's request parsing and routing, fed from memory by the connection loop's workers.
class RequestProcessor : public httplib::Server {
public:
  bool process(httplib::Stream& stream, bool last, bool& connection_closed) {
    return process_request(stream, last, connection_closed, nullptr);
  }
};

// One complete request in memory in, the response out: no network I/O, so a worker can never
// wait on a client.
class RequestStream final : public httplib::Stream {
public:
  RequestStream(std::string_view input, int fd) : m_input(input), m_fd(fd) {}

  bool is_readable() const override { return m_pos < m_input.size(); }
  bool is_writable() const override { return true; }
  ssize_t read(char* ptr, size_t size) override {
    const auto n = std::min(size, m_input.size() - m_pos);
    std::memcpy(ptr, m_input.data() + m_pos, n);
    m_pos += n;
    return static_cast<ssize_t>(n); // 0 at the end: whatever the request lacks never comes
  }
  using httplib::Stream::write;
  ssize_t write(const char* ptr, size_t size) override {
    m_output.append(ptr, size);
    return static_cast<ssize_t>(size);
  }
  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    socket_address(m_fd, true, ip, port);
  }
  void get_local_ip_and_port(std::string& ip, int& port) const override {
    socket_address(m_fd, false, ip, port);
  }
  // httplib 0.11 only compares this with FD_SETSIZE (in builds without poll()): there is no
  // socket to select on here.
  socket_t socket() const override { return INVALID_SOCKET; }

  [[nodiscard]] std::size_t consumed() const { return m_pos; }
  std::string take_output() { return std::move(m_output); }

private:
  std::string_view m_input;
  std::size_t m_pos = 0;
  int m_fd;
  std::string m_output;
};

// Responses after which the bytes that follow may not be a request: close instead.
bool ends_connection(std::string_view response) {
  if (response.size() < 12 || response.substr(0, 5) != "HTTP/") return true;
  const auto space = response.find(' ');
  int status = 0;
  for (std::size_t i = space + 1; i < response.size() && i < space + 4; ++i)
    status = status * 10 + (response[i] - '0');
  return status >= 400 && status != 404 && status != 405 && status != 503;
}

const char* reason_name(CloseReason reason) {
  switch (reason) {
  case CloseReason::limit: return "limit";
  case CloseReason::deadline: return "deadline";
  case CloseReason::too_large: return "too_large";
  }
  return "other";
}

} // namespace

std::size_t effective_connection_limit(std::size_t configured) {
  rlimit limit{};
  std::size_t cap = configured;
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY) {
    cap = std::min<std::size_t>(cap, static_cast<std::size_t>(limit.rlim_cur / 4));
  }
  return std::max<std::size_t>(cap, 1);
}

struct HttpServer::Impl {
  ServerOptions options;
  telemetry::HealthState& health;
  telemetry::Metrics& metrics;
  RequestProcessor server;
  std::size_t limit;
  std::unique_ptr<ConnectionLoop> loop;
  struct CloseLog {
    std::size_t unreported = 0;
    std::optional<std::chrono::steady_clock::time_point> last;
  };
  std::array<CloseLog, 3> close_log{}; // by CloseReason; touched on the loop's thread only

  Impl(ServerOptions opts, telemetry::HealthState& h, telemetry::Metrics& m)
      : options(std::move(opts)), health(h), metrics(m),
        limit(effective_connection_limit(options.max_connections)) {
    configure();
  }

  void configure() {
    server.set_payload_max_length(kMaxBodyBytes);

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

  void exchange(Exchange& ex) {
    RequestStream stream(ex.input, ex.fd);
    bool connection_closed = false;
    const bool ok = server.process(stream, ex.last, connection_closed);
    ex.consumed = stream.consumed();
    ex.output = stream.take_output();
    ex.close = !ok || connection_closed || ends_connection(ex.output);
  }

  // Counted always; logged at the first one and then at most once a minute per reason.
  void closed(CloseReason reason) {
    metrics.http_server_connections_closed(reason_name(reason)).Increment();
    auto& log = close_log.at(static_cast<std::size_t>(reason));
    ++log.unreported;
    const auto now = std::chrono::steady_clock::now();
    if (log.last && now - *log.last < std::chrono::minutes(1)) return;
    const auto level = reason == CloseReason::deadline ? spdlog::level::info : spdlog::level::warn;
    spdlog::log(
        level,
        "observability server: {} connection(s) closed ({}) since the last report; it holds at most {} "
        "connections, each request due within {} ms",
        log.unreported, reason_name(reason), limit, options.request_deadline.count());
    log.unreported = 0;
    log.last = now;
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

HttpServer::~HttpServer() { stop(); }

tl::expected<std::uint16_t, std::string> HttpServer::start() {
  auto& impl = *m_impl;
  if (impl.loop) {
    return tl::unexpected(std::string("server already started"));
  }
  const auto address = impl.options.host + ":" + std::to_string(impl.options.port);
  auto listener = listen_on(impl.options.host, impl.options.port);
  if (!listener) {
    return tl::unexpected("cannot listen on " + address + ": " + listener.error());
  }
  LoopOptions loop_options;
  loop_options.max_connections = impl.limit;
  loop_options.request_deadline = impl.options.request_deadline;
  loop_options.max_body_bytes = kMaxBodyBytes;
  impl.loop = std::make_unique<ConnectionLoop>(
      listener->first, loop_options, [&impl](Exchange& ex) { impl.exchange(ex); },
      [&impl](CloseReason reason) { impl.closed(reason); });
  return listener->second;
}

void HttpServer::stop() {
  auto& impl = *m_impl;
  if (!impl.loop) {
    return;
  }
  impl.loop->stop();
  impl.loop.reset();
}

std::size_t HttpServer::connection_limit() const { return m_impl->limit; }

std::size_t HttpServer::open_connections() const {
  return m_impl->loop ? m_impl->loop->open_connections() : 0;
}

} // namespace etl::server
