// The single implementations in internal/core: JSON escaping, ISO 8601 formatting and conninfo
// defaults, each used by every module that writes one of these.
#include "core/conninfo.hpp"
#include "core/iso_time.hpp"
#include "core/json_escape.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <string>

using namespace std::chrono;
using etl::core::format_iso8601;
using etl::core::format_iso8601_basic;
using etl::core::Fraction;
using etl::core::with_default_conninfo_param;

namespace {
system_clock::time_point at(int y, unsigned mo, unsigned d, int h, int mi, int s) {
  return sys_days{year{y} / month{mo} / day{d}} + hours{h} + minutes{mi} + seconds{s};
}
} // namespace

TEST_CASE("json: quotes, backslashes and control characters are escaped, UTF-8 passes", "[core]") {
  using etl::core::json_quoted;
  CHECK(json_quoted("") == "\"\"");
  CHECK(json_quoted("plain") == "\"plain\"");
  CHECK(json_quoted("a\"b\\c") == R"("a\"b\\c")");
  CHECK(json_quoted("\b\f\n\r\t") == R"("\b\f\n\r\t")");
  CHECK(json_quoted(std::string("\x00\x01\x1f", 3)) == R"("\u0000\u0001\u001f")");
  CHECK(json_quoted("ünïcødé 🚀 \x7f") == "\"ünïcødé 🚀 \x7f\"");
  // Past the eight-byte fast path: the escape lands right, the runs around it are kept.
  const std::string long_text = std::string(19, 'x') + "\n" + std::string(9, 'y') + "\"";
  std::string expected = "\"";
  expected.append(19, 'x').append("\\n").append(9, 'y').append("\\\"\"");
  CHECK(json_quoted(long_text) == expected);
  std::string out = "{";
  etl::core::append_json_escaped(out, "q\"");
  CHECK(out == "{q\\\"");
}

TEST_CASE("iso 8601: UTC with the asked fraction, floored before 1970", "[core]") {
  const auto t = at(2026, 11, 22, 14, 0, 5) + microseconds{250'125};
  CHECK(format_iso8601(t) == "2026-11-22T14:00:05.250Z");
  CHECK(format_iso8601(t, Fraction::micros) == "2026-11-22T14:00:05.250125Z");
  CHECK(format_iso8601(t, Fraction::none) == "2026-11-22T14:00:05Z");
  CHECK(format_iso8601_basic(t) == "20261122T140005Z");
  CHECK(format_iso8601_basic(t, Fraction::millis) == "20261122T140005.250Z");
  CHECK(format_iso8601(system_clock::time_point{}) == "1970-01-01T00:00:00.000Z");
  CHECK(format_iso8601(system_clock::time_point{} - 1ms) == "1969-12-31T23:59:59.999Z");
  CHECK(format_iso8601(system_clock::time_point{} - 1us, Fraction::micros) ==
        "1969-12-31T23:59:59.999999Z");
  CHECK(format_iso8601(at(2024, 2, 29, 23, 59, 59) + 999ms) == "2024-02-29T23:59:59.999Z");
}

TEST_CASE("conninfo: defaults are added in either form, never over the user's", "[core]") {
  CHECK(with_default_conninfo_param("postgresql://h/db", "keepalives", "1") ==
        "postgresql://h/db?keepalives=1");
  CHECK(with_default_conninfo_param("postgresql://h/db?sslmode=require", "keepalives_idle", "5") ==
        "postgresql://h/db?sslmode=require&keepalives_idle=5");
  CHECK(with_default_conninfo_param("host=h dbname=d", "keepalives", "1") ==
        "host=h dbname=d keepalives=1");
  CHECK(with_default_conninfo_param("", "connect_timeout", "5") == "connect_timeout=5");
  CHECK(with_default_conninfo_param("host=h keepalives_idle=60", "keepalives_idle", "5") ==
        "host=h keepalives_idle=60");
  CHECK(with_default_conninfo_param("host=h connect_timeout = 9", "connect_timeout", "5") ==
        "host=h connect_timeout = 9");
  // A longer keyword that starts with the key is not the key.
  CHECK(with_default_conninfo_param("host=h keepalives_idle=60", "keepalives", "1") ==
        "host=h keepalives_idle=60 keepalives=1");
  CHECK(etl::core::is_conninfo_uri("postgres://u@h/db"));
  // Quoting and reading back agree, whatever the password holds.
  const std::string password = "it's a \\ pass=word";
  std::string conninfo = "host=h password=";
  conninfo.append(etl::core::conninfo_quote(password)).append(" user=u");
  CHECK(conninfo == R"(host=h password='it\'s a \\ pass=word' user=u)");
  const auto secrets = etl::core::conninfo_secrets(conninfo);
  REQUIRE_FALSE(secrets.empty());
  CHECK(secrets.back().reveal() == password);
  CHECK_FALSE(etl::core::is_conninfo_uri("host=postgresql://"));
}
