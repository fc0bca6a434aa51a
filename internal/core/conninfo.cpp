#include "core/conninfo.hpp"

#include "core/url_secrets.hpp"

namespace etl::core {
namespace {

bool is_keyword_char(char c) noexcept { return (c >= 'a' && c <= 'z') || c == '_'; }

// Whether `key` appears as a whole keyword ("keepalives" is not in "keepalives_idle=5").
bool mentions(std::string_view conninfo, std::string_view key) noexcept {
  for (std::size_t at = conninfo.find(key); at != std::string_view::npos;
       at = conninfo.find(key, at + 1)) {
    const std::size_t end = at + key.size();
    const bool starts = at == 0 || !is_keyword_char(conninfo[at - 1]);
    const bool ends = end == conninfo.size() || !is_keyword_char(conninfo[end]);
    if (starts && ends) return true;
  }
  return false;
}

void add_secret(std::vector<Secret>& out, std::string raw, bool uri_encoded) {
  if (raw.empty()) return;
  if (uri_encoded) {
    std::string decoded = percent_decode(raw, false);
    if (decoded != raw) out.emplace_back(std::move(decoded));
  }
  out.emplace_back(std::move(raw));
}

void uri_secrets(std::string_view uri, std::vector<Secret>& out) {
  std::string_view rest = uri.substr(uri.find("://") + 3);
  const std::string_view authority = rest.substr(0, rest.find_first_of("/?"));
  if (const auto at = authority.rfind('@'); at != std::string_view::npos) {
    const std::string_view userinfo = authority.substr(0, at);
    if (const auto colon = userinfo.find(':'); colon != std::string_view::npos)
      add_secret(out, std::string(userinfo.substr(colon + 1)), true);
  }
  if (const auto q = rest.find('?'); q != std::string_view::npos) {
    std::string_view query = rest.substr(q + 1);
    while (!query.empty()) {
      const auto amp = query.find('&');
      const std::string_view param = query.substr(0, amp);
      if (param.starts_with("password=")) add_secret(out, std::string(param.substr(9)), true);
      query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    }
  }
}

// key = value pairs; values may be single-quoted with backslash escapes.
void keyword_secrets(std::string_view s, std::vector<Secret>& out) {
  std::size_t i = 0;
  const auto skip_space = [&] {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')) ++i;
  };
  while (i < s.size()) {
    skip_space();
    const std::size_t key_start = i;
    while (i < s.size() && s[i] != '=' && s[i] != ' ' && s[i] != '\t') ++i;
    const std::string_view key = s.substr(key_start, i - key_start);
    skip_space();
    if (i >= s.size() || s[i] != '=') return; // malformed: libpq will refuse it anyway
    ++i;
    skip_space();
    std::string value;
    std::string raw;
    if (i < s.size() && s[i] == '\'') {
      const std::size_t raw_start = ++i;
      while (i < s.size() && s[i] != '\'') {
        if (s[i] == '\\' && i + 1 < s.size()) ++i;
        value += s[i++];
      }
      raw = std::string(s.substr(raw_start, i - raw_start));
      if (i < s.size()) ++i;
    } else {
      while (i < s.size() && s[i] != ' ' && s[i] != '\t' && s[i] != '\n') value += s[i++];
      raw = value;
    }
    if (key == "password") {
      if (raw != value) add_secret(out, std::move(raw), false);
      add_secret(out, std::move(value), false);
    }
  }
}

} // namespace

std::string conninfo_quote(std::string_view value) {
  std::string out = "'";
  for (const char c : value) {
    if (c == '\\' || c == '\'') out += '\\';
    out += c;
  }
  out += '\'';
  return out;
}

bool is_conninfo_uri(std::string_view conninfo) noexcept {
  return conninfo.starts_with("postgresql://") || conninfo.starts_with("postgres://");
}

std::string with_default_conninfo_param(std::string conninfo, std::string_view key,
                                        std::string_view value) {
  if (mentions(conninfo, key)) return conninfo;
  if (is_conninfo_uri(conninfo)) {
    conninfo += conninfo.find('?') == std::string::npos ? '?' : '&';
  } else if (!conninfo.empty()) {
    conninfo += ' ';
  }
  conninfo.append(key).append("=").append(value);
  return conninfo;
}

std::vector<Secret> conninfo_secrets(std::string_view conninfo) {
  std::vector<Secret> out;
  if (is_conninfo_uri(conninfo)) uri_secrets(conninfo, out);
  else keyword_secrets(conninfo, out);
  return out;
}

} // namespace etl::core
