#include "telemetry/logging.hpp"

#include <catch2/catch.hpp>

#include <rapidjson/document.h>
#include <spdlog/formatter.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <limits>
#include <regex>
#include <sstream>
#include <unistd.h>

namespace fs = std::filesystem;

namespace {

// setup_logging replaces the process-wide default logger; put the previous one back so other
// tests keep logging where they expect.
class RestoreDefaultLogger {
public:
  RestoreDefaultLogger() : m_saved(spdlog::default_logger()) {}
  ~RestoreDefaultLogger() { spdlog::set_default_logger(m_saved); }
  RestoreDefaultLogger(const RestoreDefaultLogger&) = delete;
  RestoreDefaultLogger& operator=(const RestoreDefaultLogger&) = delete;

private:
  std::shared_ptr<spdlog::logger> m_saved;
};

class TempDir {
public:
  TempDir()
      : m_path(fs::temp_directory_path() /
               ("etl_log_test_" + std::to_string(::getpid()) + "_" + std::to_string(s_counter++))) {
    fs::remove_all(m_path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(m_path, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  [[nodiscard]] const fs::path& path() const { return m_path; }

private:
  static inline int s_counter = 0;
  fs::path m_path;
};

std::string read_file(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

} // namespace

TEST_CASE("the JSON formatter writes one parseable object per line", "[telemetry][logging]") {
  std::ostringstream out;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out);
  spdlog::logger logger("json-test", sink);
  logger.set_formatter(etl::telemetry::make_json_formatter());
  const std::string message = "coin \"bit\\coin\" said:\nline two\ttab \x01 end";
  logger.warn("{}", message);
  logger.flush();

  const auto text = out.str();
  REQUIRE(!text.empty());
  CHECK(text.back() == '\n');
  CHECK(std::count(text.begin(), text.end(), '\n') == 1); // the message's newline is escaped

  rapidjson::Document doc;
  doc.Parse(text.c_str(), text.size() - 1);
  INFO(text);
  REQUIRE_FALSE(doc.HasParseError());
  CHECK(std::string(doc["msg"].GetString()) == message);
  CHECK(std::string(doc["level"].GetString()) == "warning");
  const std::string ts = doc["ts"].GetString();
  CHECK(std::regex_match(ts, std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)")));
}

TEST_CASE("setup_logging writes text lines to <log_dir>/etl.log", "[telemetry][logging]") {
  RestoreDefaultLogger restore;
  TempDir dir;
  const auto result =
      etl::telemetry::setup_logging({dir.path() / "nested", "debug", false, 1 << 20, 2});
  REQUIRE(result);
  spdlog::debug("hello {}", 42);
  spdlog::trace("not shown");
  spdlog::default_logger()->flush();

  const auto text = read_file(dir.path() / "nested" / "etl.log");
  INFO(text);
  CHECK(std::regex_search(
      text, std::regex(R"(^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z debug hello 42\n)")));
  CHECK(text.find("not shown") == std::string::npos);
}

TEST_CASE("setup_logging in JSON mode writes JSON to the file", "[telemetry][logging]") {
  RestoreDefaultLogger restore;
  TempDir dir;
  REQUIRE(etl::telemetry::setup_logging({dir.path(), "info", true, 1 << 20, 2}));
  spdlog::info("quote \" here");
  spdlog::default_logger()->flush();

  auto text = read_file(dir.path() / "etl.log");
  REQUIRE(!text.empty());
  rapidjson::Document doc;
  doc.Parse(text.c_str(), text.size() - 1);
  INFO(text);
  REQUIRE_FALSE(doc.HasParseError());
  CHECK(std::string(doc["msg"].GetString()) == "quote \" here");
  CHECK(std::string(doc["level"].GetString()) == "info");
}

TEST_CASE("an unusable log directory falls back to stdout and says why", "[telemetry][logging]") {
  RestoreDefaultLogger restore;
  TempDir dir;
  fs::create_directories(dir.path());
  std::ofstream(dir.path() / "file") << "x"; // a file where a directory should be
  const auto result =
      etl::telemetry::setup_logging({dir.path() / "file" / "logs", "info", false, 1 << 20, 2});
  REQUIRE_FALSE(result);
  CHECK(result.error().find("cannot create log directory") != std::string::npos);
  CHECK(result.error().find("stdout only") != std::string::npos);
  // Logging still works and installed a logger of our own.
  REQUIRE(spdlog::default_logger());
  CHECK(spdlog::default_logger()->name() == "etl");
  CHECK(spdlog::default_logger()->sinks().size() == 1);
}

TEST_CASE("an unknown level is reported and info is used", "[telemetry][logging]") {
  RestoreDefaultLogger restore;
  TempDir dir;
  const auto result = etl::telemetry::setup_logging({dir.path(), "loud", false, 1 << 20, 2});
  REQUIRE_FALSE(result);
  CHECK(result.error().find("unknown log level \"loud\"") != std::string::npos);
  CHECK(spdlog::default_logger()->level() == spdlog::level::info);
  CHECK(spdlog::default_logger()->sinks().size() == 2);
}

namespace {

// Installs a default logger writing to `out` with the given formatter, restoring the previous
// logger afterwards; log_event() goes through the default logger like the daemon's code.
class CaptureLogger {
public:
  CaptureLogger(std::ostringstream& out, std::unique_ptr<spdlog::formatter> formatter) {
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out);
    auto logger = std::make_shared<spdlog::logger>("capture", sink);
    logger->set_formatter(std::move(formatter));
    logger->set_level(spdlog::level::info);
    spdlog::set_default_logger(logger);
  }

private:
  RestoreDefaultLogger m_restore;
};

const etl::telemetry::Fields kLoadFields{{"snapshot_id", "20261122T140000Z_usd"},
                                         {"stage", "load"},
                                         {"pages", 2},
                                         {"coins", std::int64_t{200}},
                                         {"inserted", 150u},
                                         {"unchanged", 49L},
                                         {"rejected", 1},
                                         etl::telemetry::duration_ms(0.0123456),
                                         {"error", "say \"no\" = twice\nok"},
                                         {"ok", true},
                                         {"msg", "reserved keys are dropped"}};

} // namespace

TEST_CASE("log_event in JSON mode puts the fields at the top level", "[telemetry][logging]") {
  std::ostringstream out;
  {
    CaptureLogger capture(out, etl::telemetry::make_json_formatter());
    etl::telemetry::log_event(spdlog::level::info, "snapshot loaded", kLoadFields);
    spdlog::info("a plain line after it");
    etl::telemetry::log_event(spdlog::level::debug, "below the level", {{"stage", "fetch"}});
    spdlog::default_logger()->flush();
  }
  const auto text = out.str();
  INFO(text);
  REQUIRE(std::count(text.begin(), text.end(), '\n') == 2); // the debug event is filtered
  const auto first = text.substr(0, text.find('\n'));
  const auto second = text.substr(first.size() + 1, text.size() - first.size() - 2);

  rapidjson::Document doc;
  doc.Parse(first.c_str(), first.size());
  REQUIRE_FALSE(doc.HasParseError());
  CHECK(std::string(doc["msg"].GetString()) == "snapshot loaded"); // not the reserved field
  CHECK(std::string(doc["level"].GetString()) == "info");
  CHECK(doc.HasMember("ts"));
  CHECK(std::string(doc["snapshot_id"].GetString()) == "20261122T140000Z_usd");
  CHECK(std::string(doc["stage"].GetString()) == "load");
  CHECK(doc["pages"].GetInt64() == 2);
  CHECK(doc["coins"].GetInt64() == 200);
  CHECK(doc["inserted"].GetInt64() == 150);
  CHECK(doc["unchanged"].GetInt64() == 49);
  CHECK(doc["rejected"].GetInt64() == 1);
  CHECK(doc["duration_ms"].GetDouble() == Approx(12.346));
  CHECK(std::string(doc["error"].GetString()) == "say \"no\" = twice\nok");
  CHECK(doc["ok"].GetBool());
  int msg_keys = 0;
  for (const auto& member : doc.GetObject()) {
    msg_keys += std::string(member.name.GetString()) == "msg" ? 1 : 0;
  }
  CHECK(msg_keys == 1);

  // The fields belong to their own line only.
  rapidjson::Document plain;
  plain.Parse(second.c_str(), second.size());
  REQUIRE_FALSE(plain.HasParseError());
  CHECK(std::string(plain["msg"].GetString()) == "a plain line after it");
  CHECK_FALSE(plain.HasMember("stage"));
}

TEST_CASE("log_event in text mode appends readable key=value pairs", "[telemetry][logging]") {
  std::ostringstream out;
  {
    CaptureLogger capture(out, std::make_unique<spdlog::pattern_formatter>("%l %v"));
    etl::telemetry::log_event(spdlog::level::warn, "snapshot loaded", kLoadFields);
    spdlog::default_logger()->flush();
  }
  CHECK(out.str() == "warning snapshot loaded snapshot_id=20261122T140000Z_usd stage=load pages=2 "
                     "coins=200 inserted=150 unchanged=49 rejected=1 duration_ms=12.346 "
                     "error=\"say \\\"no\\\" = twice\\nok\" ok=true\n");
}

TEST_CASE("render_text_event quotes only what needs it", "[telemetry][logging]") {
  using etl::telemetry::render_text_event;
  CHECK(render_text_event("m", {}) == "m");
  CHECK(render_text_event("m", {{"a", ""}, {"b", "x y"}, {"c", "k=v"}, {"d", "plain-value_1.2"}}) ==
        "m a=\"\" b=\"x y\" c=\"k=v\" d=plain-value_1.2");
  CHECK(render_text_event("m", {{"nan", std::numeric_limits<double>::quiet_NaN()}, {"neg", -3}}) ==
        "m nan=null neg=-3");
}
