#include "config/url.hpp"
#include "config/text.hpp"

#include <algorithm>

#include <arpa/inet.h>

namespace etl::config {
namespace {

bool valid_hostname(std::string_view host) {
  return !host.empty() && std::all_of(host.begin(), host.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '-' || c == '_';
  });
}

bool valid_ipv6(std::string_view host) {
  return host.find(':') != std::string_view::npos &&
         std::all_of(host.begin(), host.end(), [](char c) {
           return (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || (c >= '0' && c <= '9') ||
                  c == ':' || c == '.';
         });
}

// Splits "host", "host:port", "[v6]" or "[v6]:port". `port` is empty when none was written;
// nullopt when the shape or host is invalid.
struct Authority {
  std::string_view host;
  std::optional<std::string_view> port;
};
std::optional<Authority> split_authority(std::string_view text) {
  Authority out;
  std::string_view after;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    out.host = text.substr(1, close - 1);
    if (!valid_ipv6(out.host)) return std::nullopt;
    after = text.substr(close + 1);
    if (!after.empty() && after.front() != ':') return std::nullopt;
  } else {
    const auto colon = text.rfind(':');
    out.host = text.substr(0, colon);
    if (colon != std::string_view::npos) after = text.substr(colon);
    if (out.host.find(':') != std::string_view::npos)
      return std::nullopt; // bare IPv6 needs brackets
    if (!out.host.empty() && !valid_hostname(out.host)) return std::nullopt;
  }
  if (!after.empty()) out.port = after.substr(1);
  return out;
}

} // namespace

std::optional<HttpUrl> parse_http_url(std::string_view text) {
  if (has_control_chars(text) || text.find(' ') != std::string_view::npos) return std::nullopt;
  const auto sep = text.find("://");
  if (sep == std::string_view::npos) return std::nullopt;
  HttpUrl url;
  url.scheme = to_lower(text.substr(0, sep));
  if (url.scheme != "http" && url.scheme != "https") return std::nullopt;
  const std::string_view rest = text.substr(sep + 3);
  const std::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
  // Credentials in the URL would end up in logs; the key has its own setting.
  if (authority.find('@') != std::string_view::npos) return std::nullopt;
  const auto parts = split_authority(authority);
  if (!parts || parts->host.empty()) return std::nullopt;
  if (parts->port) {
    const auto port = parse_unsigned(*parts->port, 65535);
    if (!port || *port == 0) return std::nullopt;
  }
  url.host = to_lower(parts->host);
  return url;
}

bool is_loopback_host(std::string_view host) {
  const std::string h = to_lower(host);
  if (h == "localhost" || h == "localhost.") return true;
  in_addr v4{};
  if (::inet_pton(AF_INET, h.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  if (::inet_pton(AF_INET6, h.c_str(), &v6) == 1) {
    if (IN6_IS_ADDR_LOOPBACK(&v6)) return true;
    // ::ffff:127.x.x.x, the IPv4 loopback mapped into IPv6.
    return IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127;
  }
  return false;
}

std::optional<HostPort> parse_host_port(std::string_view text) {
  const auto parts = split_authority(text);
  if (!parts || !parts->port) return std::nullopt;
  const auto port = parse_unsigned(*parts->port, 65535);
  if (!port) return std::nullopt;
  HostPort out;
  out.host = parts->host.empty() ? std::string("0.0.0.0") : std::string(parts->host);
  out.port = static_cast<std::uint16_t>(*port);
  return out;
}

} // namespace etl::config
