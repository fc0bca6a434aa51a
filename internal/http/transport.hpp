#pragma once
// The HTTP seam: one GET, no retries, no interpretation. CurlTransport is the real one;
// tests use a fake or a loopback server. Source-neutral: callers add their own headers (keys).
#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <tl/expected.hpp>

namespace etl::http {

struct HttpRequest {
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers; // may carry the API key: never log
};

struct HttpResponse {
  long status = 0;
  std::string body;
  std::optional<std::string> retry_after; // raw Retry-After header value
  std::string content_type;
};

// Names are metric label values: keep the set fixed.
enum class TransportErrorKind { connect, timeout, too_large, tls, cancelled, other };
std::string_view to_string(TransportErrorKind kind) noexcept;

struct TransportError {
  TransportErrorKind kind;
  std::string message; // never contains request headers
};

class HttpTransport {
public:
  virtual ~HttpTransport() = default;
  // Performs one GET. `cancelled` is polled while the transfer runs; returning true aborts it
  // with TransportErrorKind::cancelled. Never throws.
  virtual tl::expected<HttpResponse, TransportError>
  get(const HttpRequest& request, const std::function<bool()>& cancelled) = 0;
};

struct CurlOptions {
  std::chrono::milliseconds connect_timeout{10'000};
  std::chrono::milliseconds total_timeout{30'000};
  // A response whose body stalls below 1 byte/s for this long is abandoned (slow drip).
  std::chrono::milliseconds low_speed_time{15'000};
  std::size_t max_body_bytes = 32u << 20;
  std::string user_agent;             // e.g. "<program>/<version>"; empty sends none
  std::optional<std::string> ca_file; // custom CA bundle; verification is never turned off
};

// libcurl implementation. One easy handle reused across requests (keep-alive, TLS session
// reuse). Not thread-safe: one instance per polling thread. Requires a live CurlGlobal.
class CurlTransport final : public HttpTransport {
public:
  explicit CurlTransport(CurlOptions options);
  ~CurlTransport() override;
  CurlTransport(const CurlTransport&) = delete;
  CurlTransport& operator=(const CurlTransport&) = delete;

  tl::expected<HttpResponse, TransportError> get(const HttpRequest& request,
                                                 const std::function<bool()>& cancelled) override;

private:
  struct Impl;
  CurlOptions m_options;
  Impl* m_impl;
};

// curl_global_init/cleanup as an object: construct first thing in main, before any thread.
class CurlGlobal {
public:
  CurlGlobal();
  ~CurlGlobal();
  CurlGlobal(const CurlGlobal&) = delete;
  CurlGlobal& operator=(const CurlGlobal&) = delete;
};

} // namespace etl::http
