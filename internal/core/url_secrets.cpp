#include "core/url_secrets.hpp"

#include <algorithm>
#include <array>
#include <optional>

namespace etl {
namespace {

constexpr std::string_view kRedacted = "<redacted>";

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

} // namespace

std::string percent_decode(std::string_view text, bool plus_is_space) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size() && hex_value(text[i + 1]) >= 0 &&
        hex_value(text[i + 2]) >= 0) {
      out += static_cast<char>(hex_value(text[i + 1]) * 16 + hex_value(text[i + 2]));
      i += 2;
    } else {
      out += plus_is_space && text[i] == '+' ? ' ' : text[i];
    }
  }
  return out;
}

namespace {

// The parts of a URL that may hold secrets, or nothing when its shape is doubtful.
struct Parts {
  std::string_view scheme_and_sep; // "https://" (may be empty for a schemeless text)
  std::string_view user;           // before ':' in userinfo
  std::string_view password;       // after ':' in userinfo
  bool has_userinfo = false;
  bool has_password = false;
  std::string_view host_and_path; // authority after '@' through the path
  std::string_view query;         // after '?', before '#'
  bool has_query = false;
  std::string_view fragment; // from '#', kept as is
};

std::optional<Parts> split(std::string_view url) {
  Parts p;
  const auto sep = url.find("://");
  std::string_view rest = url;
  if (sep != std::string_view::npos) {
    p.scheme_and_sep = url.substr(0, sep + 3);
    rest = url.substr(sep + 3);
  }
  const auto hash = rest.find('#');
  if (hash != std::string_view::npos) {
    p.fragment = rest.substr(hash);
    rest = rest.substr(0, hash);
  }
  // An unencoded '@' beyond the one that ends the userinfo means a password whose extent
  // cannot be known.
  const auto ats = std::count(rest.begin(), rest.end(), '@');
  if (ats > 1) return std::nullopt;
  if (ats == 1) {
    const auto at = rest.find('@');
    const auto userinfo = rest.substr(0, at);
    if (userinfo.find_first_of("/?#") != std::string_view::npos) return std::nullopt;
    p.has_userinfo = true;
    const auto colon = userinfo.find(':');
    p.user = userinfo.substr(0, colon);
    if (colon != std::string_view::npos) {
      p.has_password = true;
      p.password = userinfo.substr(colon + 1);
    }
    rest = rest.substr(at + 1);
  }
  const auto question = rest.find('?');
  p.host_and_path = rest.substr(0, question);
  if (question != std::string_view::npos) {
    p.has_query = true;
    p.query = rest.substr(question + 1);
  }
  return p;
}

template <typename F> void for_each_parameter(std::string_view query, F&& f) {
  std::size_t start = 0;
  while (start <= query.size()) {
    const auto amp = query.find('&', start);
    const auto param =
        query.substr(start, amp == std::string_view::npos ? std::string_view::npos : amp - start);
    const auto eq = param.find('=');
    f(param, param.substr(0, eq),
      eq == std::string_view::npos ? std::optional<std::string_view>{} : param.substr(eq + 1));
    if (amp == std::string_view::npos) break;
    start = amp + 1;
  }
}

} // namespace

bool is_secret_parameter(std::string_view name) {
  const std::string n = lower(percent_decode(name));
  static constexpr std::array<std::string_view, 7> kWords = {
      "key", "token", "secret", "password", "passwd", "auth", "signature"};
  return std::any_of(kWords.begin(), kWords.end(),
                     [&](std::string_view w) { return n.find(w) != std::string::npos; }) ||
         n == "sig";
}

std::string redact_url(std::string_view url) {
  const auto parts = split(url);
  if (!parts) return std::string(kRedacted);
  std::string out(parts->scheme_and_sep);
  if (parts->has_userinfo) {
    out += parts->user;
    if (parts->has_password) {
      out += ':';
      out += kRedacted;
    }
    out += '@';
  }
  out += parts->host_and_path;
  if (parts->has_query) {
    out += '?';
    bool first = true;
    for_each_parameter(parts->query, [&](std::string_view param, std::string_view name,
                                         std::optional<std::string_view> value) {
      if (!first) out += '&';
      first = false;
      if (value && is_secret_parameter(name)) {
        out += name;
        out += '=';
        out += kRedacted;
      } else {
        out += param;
      }
    });
  }
  out += parts->fragment;
  return out;
}

std::vector<std::string> url_secret_values(std::string_view url) {
  std::vector<std::string> values;
  const auto add = [&](std::string_view value) {
    for (std::string v : {std::string(value), percent_decode(value)}) {
      if (!v.empty() && std::find(values.begin(), values.end(), v) == values.end())
        values.push_back(std::move(v));
    }
  };
  const auto parts = split(url);
  if (!parts) return values;
  if (parts->has_password) add(parts->password);
  if (parts->has_query) {
    for_each_parameter(parts->query, [&](std::string_view, std::string_view name,
                                         std::optional<std::string_view> value) {
      if (value && is_secret_parameter(name)) add(*value);
    });
  }
  return values;
}

} // namespace etl
