// libpqxx exceptions become DbError values here, and nowhere else.
#include "db/detail.hpp"

#include <cstdio>
#include <ctime>
#include <exception>
#include <new>

#include <pqxx/except>

namespace etl::db {

std::string_view to_string(DbError::Kind kind) noexcept {
  switch (kind) {
  case DbError::Kind::unavailable: return "unavailable";
  case DbError::Kind::rejected: return "rejected";
  case DbError::Kind::refused: return "refused";
  case DbError::Kind::internal: return "internal";
  }
  return "internal";
}

} // namespace etl::db

namespace etl::db::detail {
namespace {

// By SQLSTATE class (the first two characters); the table is in docs/RELIABILITY.md.
// Connection, resource, operator-intervention, system and transaction-rollback errors are about
// the server's state: a later attempt can succeed. Only data exceptions, integrity violations
// and program limits (an index row too large for a value) are caused by the data itself, the
// same way every time: only those may condemn a snapshot. Everything else (read-only
// transaction after a failover, insufficient privilege, an undefined table, a lock timeout...)
// is the server refusing the operation, which an operator can fix: never a reason to quarantine.
DbError::Kind kind_of_sqlstate(std::string_view sqlstate) noexcept {
  if (sqlstate.size() < 2) return DbError::Kind::internal;
  const std::string_view cls = sqlstate.substr(0, 2);
  for (std::string_view c : {"08", "40", "53", "57", "58"})
    if (cls == c) return DbError::Kind::unavailable;
  for (std::string_view c : {"22", "23", "54"})
    if (cls == c) return DbError::Kind::rejected;
  return DbError::Kind::refused;
}

std::string clean_message(std::string_view what_failed, std::string_view detail,
                          const std::vector<Secret>& secrets) {
  std::string text(what_failed);
  text += ": ";
  text += detail;
  // libpq messages end in newlines and sometimes hold a tab-indented hint line.
  for (char& c : text)
    if (c == '\n' || c == '\t') c = ' ';
  while (!text.empty() && text.back() == ' ') text.pop_back();
  for (const Secret& s : secrets) text = redact(std::move(text), {&s});
  return text;
}

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string percent_decode(std::string_view in) {
  std::string out;
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '%' && i + 2 < in.size() && hex_value(in[i + 1]) >= 0 &&
        hex_value(in[i + 2]) >= 0) {
      out += static_cast<char>(hex_value(in[i + 1]) * 16 + hex_value(in[i + 2]));
      i += 2;
    } else {
      out += in[i];
    }
  }
  return out;
}

bool is_uri(std::string_view conninfo) noexcept {
  return conninfo.starts_with("postgresql://") || conninfo.starts_with("postgres://");
}

void add_secret(std::vector<Secret>& out, std::string raw, bool uri_encoded) {
  if (raw.empty()) return;
  if (uri_encoded) {
    std::string decoded = percent_decode(raw);
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

std::vector<Secret> secrets_of(std::string_view conninfo) {
  std::vector<Secret> out;
  if (is_uri(conninfo))
    uri_secrets(conninfo, out);
  else
    keyword_secrets(conninfo, out);
  return out;
}

std::string with_default_connect_timeout(std::string conninfo, int seconds) {
  if (conninfo.find("connect_timeout") != std::string::npos) return conninfo;
  const std::string setting = "connect_timeout=" + std::to_string(seconds);
  if (is_uri(conninfo))
    conninfo += (conninfo.find('?') == std::string::npos ? "?" : "&") + setting;
  else
    conninfo += (conninfo.empty() ? "" : " ") + setting;
  return conninfo;
}

std::string to_timestamptz_text(std::chrono::system_clock::time_point tp) {
  using namespace std::chrono;
  const auto secs = floor<seconds>(tp);
  const auto micros = duration_cast<microseconds>(tp - secs).count();
  const std::time_t t = system_clock::to_time_t(secs);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[40];
  const std::size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  char frac[32]; // micros is in [0, 999999]; the size only silences -Wformat-truncation
  std::snprintf(frac, sizeof frac, ".%06dZ", static_cast<int>(micros));
  return std::string(buf, n) + frac;
}

bool needs_reconnect(const DbError& error) noexcept {
  return error.kind == DbError::Kind::unavailable;
}

DbError translate_current_exception(std::string_view what_failed,
                                    const std::vector<Secret>& secrets) {
  const auto make = [&](DbError::Kind kind, std::string sqlstate, std::string_view detail) {
    return DbError{kind, std::move(sqlstate), clean_message(what_failed, detail, secrets)};
  };
  try {
    throw;
  } catch (const pqxx::broken_connection& e) {
    return make(DbError::Kind::unavailable, "", e.what());
  } catch (const pqxx::in_doubt_error& e) {
    // The commit may or may not have happened; etl_runs makes the replay safe either way.
    return make(DbError::Kind::unavailable, "", e.what());
  } catch (const pqxx::transaction_rollback& e) {
    return make(DbError::Kind::unavailable, "40000", e.what());
  } catch (const pqxx::sql_error& e) {
    return make(kind_of_sqlstate(e.sqlstate()), e.sqlstate(), e.what());
  } catch (const std::bad_alloc&) {
    return make(DbError::Kind::internal, "", "out of memory");
  } catch (const std::exception& e) {
    return make(DbError::Kind::internal, "", e.what());
  } catch (...) {
    return make(DbError::Kind::internal, "", "unknown exception");
  }
}

} // namespace etl::db::detail
