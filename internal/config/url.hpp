#pragma once
// Just enough URL parsing to validate settings and redact them. Internal to etl::config.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace etl::config {

struct HttpUrl {
  std::string scheme; // "http" or "https", lowercased
  std::string host;   // lowercased, IPv6 without brackets
};
// http:// or https://, a host, an optional port 1-65535; no credentials, blanks or control bytes.
std::optional<HttpUrl> parse_http_url(std::string_view text);

// localhost, 127.0.0.0/8 or ::1 (any spelling inet_pton reads): traffic that never leaves the host.
bool is_loopback_host(std::string_view host);

struct HostPort {
  std::string host; // "0.0.0.0" when the text was ":8080"
  std::uint16_t port = 0;
};
// "host:port", "[::1]:port" or ":port".
std::optional<HostPort> parse_host_port(std::string_view text);

} // namespace etl::config
