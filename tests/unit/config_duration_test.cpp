#include "config/config.hpp"

#include <catch2/catch.hpp>

using namespace std::chrono_literals;
using etl::config::format_duration;
using etl::config::parse_duration;

TEST_CASE("config: parse_duration reads every documented form", "[config]") {
  const std::vector<std::pair<std::string, std::chrono::milliseconds>> table = {
      {"500ms", 500ms},
      {"30s", 30s},
      {"5m", 5min},
      {"1h", 1h},
      {"30", 30s},
      {"0.5", 500ms},
      {"0", 0ms},
      {"1.5s", 1500ms},
      {"0.25m", 15s},
      {" 10s ", 10s},
      {"1h30m", 90min},
      {"2m30s", 150s},
      {"1s500ms", 1500ms},
      {"168h", 168h},
      {"007s", 7s},
      {"0.0001s", 0ms},
      {"1.123456789h", std::chrono::milliseconds{4'044'444}},
  };
  for (const auto& [text, expected] : table) {
    INFO(text);
    const auto parsed = parse_duration(text);
    REQUIRE(parsed.has_value());
    CHECK(*parsed == expected);
  }
}

TEST_CASE("config: parse_duration rejects garbage and says what is allowed", "[config]") {
  const std::vector<std::string> bad = {
      "",        "   ",
      "-5s",     "-1",
      "abc",     "5 s",
      "5sec",    "1.s",
      ".5s",     "1h30",
      "s",       "ms",
      "+5s",     "5d",
      "1e3",     "1,5s",
      "inf",     "nan",
      "0x10",    "99999999999999999999999s",
      "100001h", "9223372036854775807ms",
  };
  for (const auto& text : bad) {
    INFO(text);
    const auto parsed = parse_duration(text);
    REQUIRE_FALSE(parsed.has_value());
    const bool explains = parsed.error().find("500ms, 30s, 5m, 1h") != std::string::npos ||
                          parsed.error().find("too large") != std::string::npos;
    CHECK(explains);
  }
  CHECK(parse_duration("-5s").error().find("negative") != std::string::npos);
  CHECK(parse_duration("99999999999999999999999s").error().find("too large") != std::string::npos);
}

TEST_CASE("config: format_duration spells durations so parse_duration reads them back",
          "[config]") {
  CHECK(format_duration(0ms) == "0s");
  CHECK(format_duration(500ms) == "500ms");
  CHECK(format_duration(30s) == "30s");
  CHECK(format_duration(5min) == "5m");
  CHECK(format_duration(168h) == "168h");
  CHECK(format_duration(1500ms) == "1500ms");
  for (const std::chrono::milliseconds d :
       {1ms, 999ms, std::chrono::milliseconds{61s}, std::chrono::milliseconds{90min},
        std::chrono::milliseconds{25h}}) {
    CHECK(parse_duration(format_duration(d)) == d);
  }
}
