#pragma once
// spdlog set-up: stdout plus a rotating <log_dir>/etl.log, text or one JSON object per line.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>

#include <spdlog/common.h>
#include <tl/expected.hpp>

namespace spdlog {
class formatter;
}

namespace etl::telemetry {

struct LogOptions {
  std::filesystem::path log_dir = "logs";
  std::string level = "info"; // trace debug info warn error critical off
  bool json = false;
  std::size_t max_file_bytes = 10u << 20;
  std::size_t max_files = 5;
};

// Installs the default logger. On failure to open the file, logs to stdout only and says why.
// An unknown level falls back to info and is reported the same way. Timestamps are UTC.
tl::expected<void, std::string> setup_logging(const LogOptions& options);

// One JSON object per line: {"ts":"2026-11-22T14:00:00.123Z","level":"info","msg":"..."},
// plus the fields of a log_event() call as top-level keys.
std::unique_ptr<spdlog::formatter> make_json_formatter();

// A structured log field. Stable keys (README): snapshot_id, stage, duration_ms, error_kind,
// pages, coins, inserted, unchanged, rejected; others (vs_currency, page, http_status, error,
// ...) are added where they help. Keys ts, level and msg are reserved and dropped.
struct Field {
  using Value = std::variant<std::string, std::int64_t, double, bool>;
  std::string key;
  Value value;

  Field(std::string k, std::string v) : key(std::move(k)), value(std::move(v)) {}
  Field(std::string k, std::string_view v) : key(std::move(k)), value(std::string(v)) {}
  Field(std::string k, const char* v) : key(std::move(k)), value(std::string(v)) {}
  Field(std::string k, bool v) : key(std::move(k)), value(v) {}
  Field(std::string k, double v) : key(std::move(k)), value(v) {}
  template <typename Int,
            std::enable_if_t<std::is_integral_v<Int> && !std::is_same_v<Int, bool>, int> = 0>
  Field(std::string k, Int v) : key(std::move(k)), value(static_cast<std::int64_t>(v)) {}
};
using Fields = std::vector<Field>;

// {"duration_ms": seconds * 1000, rounded to microseconds}.
Field duration_ms(double seconds);

// Logs `msg` with fields through the default logger. JSON mode: the fields become top-level
// keys next to ts/level/msg. Text mode: they follow the message as key=value pairs (strings
// quoted when they hold blanks, quotes or '='), so the line stays readable and greppable.
void log_event(spdlog::level::level_enum level, std::string_view msg, const Fields& fields);

// The text-mode rendering: msg followed by " key=value" per field (exposed for tests).
std::string render_text_event(std::string_view msg, const Fields& fields);

} // namespace etl::telemetry
