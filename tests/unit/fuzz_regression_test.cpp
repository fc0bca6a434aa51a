// Replays every input in tests/fuzz-regressions/<target>/ through the entry functions the
// libFuzzer targets in fuzz/ exercise, so a crash found once by scripts/fuzz.sh stays fixed in
// every ordinary (and sanitizer) build. To add one: copy the crash-<sha1> file libFuzzer wrote
// into the folder of its target (markets/, config/, retry_after/) under a name that says what
// it is. Beyond "does not crash" each input must give a well-formed result: the invariants are
// those the fuzz harnesses check, plus a few only a deterministic replay can.
#include "config/config.hpp"
#include "http/retry_policy.hpp"
#include "market/coin_array_parser.hpp"
#include "market/fields.hpp"
#include "market/parse_markets.hpp"
#include "market/processed_json.hpp"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

#include <catch2/catch.hpp>
#include <rapidjson/document.h>

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

const fs::path kRegressionsDir = fs::path(ETL_FIXTURES_DIR).parent_path() / "fuzz-regressions";

struct Input {
  std::string name;
  std::string bytes;
};

// Every regular file of one target's folder, sorted by name so failures are reproducible. An
// empty or missing folder fails: the test must replay something to mean anything.
std::vector<Input> inputs_of(const std::string& target) {
  const fs::path dir = kRegressionsDir / target;
  REQUIRE(fs::is_directory(dir));
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.is_regular_file() && entry.path().filename().string().front() != '.') {
      files.push_back(entry.path());
    }
  }
  std::sort(files.begin(), files.end());
  REQUIRE_FALSE(files.empty());
  std::vector<Input> inputs;
  for (const fs::path& file : files) {
    std::ifstream in(file, std::ios::binary);
    REQUIRE(in.good());
    inputs.push_back({file.filename().string(), std::string(std::istreambuf_iterator<char>(in),
                                                            std::istreambuf_iterator<char>())});
  }
  return inputs;
}

// Strict RapidJSON: exact numbers, and strings must be valid UTF-8.
constexpr unsigned kStrict = rapidjson::kParseNumbersAsStringsFlag |
                             rapidjson::kParseValidateEncodingFlag | rapidjson::kParseIterativeFlag;

bool is_valid_json(std::string_view json, bool want_object) {
  rapidjson::Document doc;
  doc.Parse<kStrict>(json.data(), json.size());
  return !doc.HasParseError() && (!want_object || doc.IsObject());
}

// A JSON string literal of `text` passes encoding validation only if `text` is UTF-8, which is
// what logs and PostgreSQL text columns need.
bool is_utf8(std::string_view text) {
  std::string literal;
  etl::market::append_json_string(literal, text);
  return is_valid_json(literal, false);
}

} // namespace

TEST_CASE("fuzz regressions: markets inputs parse to well-formed pages or a named error",
          "[fuzz]") {
  for (const Input& input : inputs_of("markets")) {
    INFO("tests/fuzz-regressions/markets/" << input.name);
    const auto page = etl::market::parse_markets(input.bytes);
    // An array body reads the same on the parser's fast route as on its validating one.
    const std::string_view body = input.bytes;
    const std::size_t first = body.find_first_not_of(" \t\r\n\f\v");
    if (first != std::string_view::npos && body[first] == '[') {
      using etl::market::detail::ArrayRoute;
      const auto fast = etl::market::detail::parse_coin_array(body, ArrayRoute::fastest);
      const auto checked = etl::market::detail::parse_coin_array(body, ArrayRoute::validating);
      CHECK(fast.result.Code() == checked.result.Code());
      CHECK(fast.consumed == checked.consumed);
      CHECK(fast.page.coins == checked.page.coins);
      CHECK(fast.page.rejected == checked.page.rejected);
    }
    if (!page) {
      CHECK_FALSE(etl::market::to_string(page.error().kind).empty());
      CHECK(is_utf8(page.error().detail));
      // The detail quotes at most 200 bytes of the body; it must stay a short log line.
      CHECK(page.error().detail.size() <= 1024);
      continue;
    }
    // When the body is also a JSON array to a strict parser, every element is accounted for:
    // loaded or rejected with a reason, never silently dropped.
    rapidjson::Document doc;
    doc.Parse<kStrict>(input.bytes.data(), input.bytes.size());
    if (!doc.HasParseError() && doc.IsArray()) {
      CHECK(page->received() == doc.Size());
    }
    // Whatever the body, a page costs a bounded number of records (issue 9).
    CHECK(page->coins.size() <= etl::market::kMaxElementsPerPage);
    CHECK(page->rejected.size() <= etl::market::kMaxRejectedDetails);
    CHECK(page->rejected.size() <= page->rejected_count);
    for (const etl::market::RejectedCoin& rejected : page->rejected) {
      CHECK(is_utf8(rejected.id));
      CHECK(rejected.id.size() <= etl::market::kMaxRejectedIdBytes + 3);
      CHECK(is_utf8(rejected.reason));
      CHECK_FALSE(rejected.reason.empty());
    }
    std::string record;
    for (const etl::market::CoinMarket& coin : page->coins) {
      CHECK_FALSE(coin.id.empty());
      CHECK(coin.id.size() <= etl::market::kMaxIdBytes);
      CHECK(etl::market::is_iso8601_timestamp(coin.last_updated));
      // Every value kept is one PostgreSQL takes.
      for (const etl::market::Decimal* d : etl::market::decimal_fields(coin))
        CHECK((!*d || etl::market::fits_postgres_numeric(**d)));
      record.clear();
      etl::market::append_processed_record(record, coin, "usd");
      CHECK(is_valid_json(record, true));
    }
  }
}

TEST_CASE("fuzz regressions: config inputs give a valid config or named errors", "[fuzz]") {
  for (const Input& input : inputs_of("config")) {
    INFO("tests/fuzz-regressions/config/" << input.name);

    // As a duration: anything accepted is non-negative and survives format -> parse unchanged.
    if (const auto duration = etl::config::parse_duration(input.bytes)) {
      CHECK(*duration >= 0ms);
      const auto again = etl::config::parse_duration(etl::config::format_duration(*duration));
      REQUIRE(again.has_value());
      CHECK(*again == *duration);
    } else {
      CHECK_FALSE(duration.error().empty());
    }

    // As a .env file, then as the settings it holds.
    const auto env = etl::config::parse_dotenv(input.bytes);
    if (!env) {
      REQUIRE_FALSE(env.error().empty());
      for (const std::string& problem : env.error()) CHECK_FALSE(problem.empty());
      continue;
    }
    for (const auto& [name, value] : *env) CHECK_FALSE(name.empty());
    const auto config = etl::config::load_config(*env);
    if (!config) {
      REQUIRE_FALSE(config.error().empty());
      for (const std::string& problem : config.error()) CHECK_FALSE(problem.empty());
      continue;
    }
    CHECK(config->per_page >= 1);
    CHECK(config->per_page <= 250);
    CHECK_FALSE(config->vs_currencies.empty());
    CHECK(config->poll_interval > 0ms);
    (void)etl::config::config_warnings(*config);
    (void)config->conninfo();
    // check-config output never shows a secret (values short enough to occur by chance aside).
    const std::string rendered = etl::config::render_effective(*config);
    for (const etl::Secret* secret :
         {&config->api_key, &config->postgres_password, &config->database_url}) {
      if (secret->reveal().size() >= 8) CHECK(rendered.find(secret->reveal()) == std::string::npos);
    }
  }
}

TEST_CASE("fuzz regressions: Retry-After inputs give nothing or a wait within 0..24h", "[fuzz]") {
  using std::chrono::system_clock;
  // The same spread of "now"s as fuzz/fuzz_retry_after.cpp: epoch, 2023, and both ends of
  // what a nanosecond system_clock holds, where date arithmetic overflows most easily.
  const std::vector<system_clock::time_point> nows = {
      system_clock::time_point{}, system_clock::time_point{} + 1'700'000'000s,
      system_clock::time_point{} - 9'000'000'000s, system_clock::time_point{} + 9'000'000'000s};
  for (const Input& input : inputs_of("retry_after")) {
    INFO("tests/fuzz-regressions/retry_after/" << input.name);
    for (const auto now : nows) {
      const auto wait = etl::http::parse_retry_after(input.bytes, now);
      if (!wait) continue;
      CHECK(*wait >= 0s);
      CHECK(*wait <= 24h);
      // Pure: the same value at the same moment always gives the same answer.
      CHECK(etl::http::parse_retry_after(input.bytes, now) == wait);
    }
  }
}
