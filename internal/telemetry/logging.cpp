#include "telemetry/logging.hpp"

#include "core/iso_time.hpp"
#include "core/json_escape.hpp"

#include <array>
#include <chrono>
#include <cmath>
#include <ctime>
#include <system_error>
#include <vector>

#include <spdlog/formatter.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/rotating_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

namespace etl::telemetry {

using core::json_quoted;
namespace {

constexpr const char* kTextPattern = "%Y-%m-%dT%H:%M:%S.%eZ %l %v";

// spdlog carries only a formatted string to the sinks. log_event() parks its fields here for
// the duration of the call; the JSON formatter, which runs on the calling thread because the
// logger is synchronous, picks them up. Other threads' lines never see them.
struct PendingEvent {
  std::string_view msg;
  const Fields* fields = nullptr;
};
thread_local const PendingEvent* t_event = nullptr;

bool reserved_key(std::string_view key) { return key == "ts" || key == "level" || key == "msg"; }

std::string format_double(double v) {
  if (!std::isfinite(v)) {
    return "null";
  }
  return fmt::format("{}", v);
}

void append_json_value(std::string& out, const Field::Value& value) {
  if (const auto* s = std::get_if<std::string>(&value)) {
    out += json_quoted(*s);
  } else if (const auto* i = std::get_if<std::int64_t>(&value)) {
    out += std::to_string(*i);
  } else if (const auto* d = std::get_if<double>(&value)) {
    out += format_double(*d);
  } else {
    out += std::get<bool>(value) ? "true" : "false";
  }
}

// Bare when unambiguous (ids, kinds, numbers), JSON-quoted otherwise.
void append_text_value(std::string& out, const Field::Value& value) {
  if (const auto* s = std::get_if<std::string>(&value)) {
    const bool bare = !s->empty() && s->find_first_of(" \t\r\n\"=\\") == std::string::npos;
    out += bare ? *s : json_quoted(*s);
  } else if (const auto* d = std::get_if<double>(&value)) {
    out += format_double(*d);
  } else {
    append_json_value(out, value);
  }
}

// A pattern cannot escape the message, and a log pipeline must never see a broken line just
// because a coin name or an error text holds a quote or a newline.
class JsonFormatter final : public spdlog::formatter {
public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    std::string line = R"({"ts":")";
    line += core::format_iso8601(msg.time);
    line += R"(","level":)";
    const auto level = spdlog::level::to_string_view(msg.level);
    line += json_quoted(std::string_view(level.data(), level.size()));
    line += R"(,"msg":)";
    if (t_event != nullptr) {
      line += json_quoted(t_event->msg);
      for (const auto& field : *t_event->fields) {
        if (reserved_key(field.key)) {
          continue;
        }
        line += ',';
        line += json_quoted(field.key);
        line += ':';
        append_json_value(line, field.value);
      }
    } else {
      line += json_quoted(std::string_view(msg.payload.data(), msg.payload.size()));
    }
    line += "}\n";
    dest.append(line.data(), line.data() + line.size());
  }
  [[nodiscard]] std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<JsonFormatter>();
  }
};

std::unique_ptr<spdlog::formatter> make_formatter(bool json) {
  if (json) {
    return make_json_formatter();
  }
  return std::make_unique<spdlog::pattern_formatter>(kTextPattern, spdlog::pattern_time_type::utc);
}

tl::expected<spdlog::level::level_enum, std::string> parse_level(const std::string& name) {
  // spdlog maps any unknown name to "off", which would silently hide every message.
  static constexpr std::array<std::pair<std::string_view, spdlog::level::level_enum>, 9> kLevels{{
      {"trace", spdlog::level::trace},
      {"debug", spdlog::level::debug},
      {"info", spdlog::level::info},
      {"warn", spdlog::level::warn},
      {"warning", spdlog::level::warn},
      {"error", spdlog::level::err},
      {"err", spdlog::level::err},
      {"critical", spdlog::level::critical},
      {"off", spdlog::level::off},
  }};
  for (const auto& [text, level] : kLevels) {
    if (text == name) {
      return level;
    }
  }
  return tl::unexpected("unknown log level \"" + name + "\", using info");
}

} // namespace

std::unique_ptr<spdlog::formatter> make_json_formatter() {
  return std::make_unique<JsonFormatter>();
}

Field duration_ms(double seconds) {
  return Field("duration_ms", std::round(seconds * 1'000'000.0) / 1000.0);
}

std::string render_text_event(std::string_view msg, const Fields& fields) {
  std::string out(msg);
  for (const auto& field : fields) {
    if (reserved_key(field.key)) {
      continue;
    }
    out += ' ';
    out += field.key;
    out += '=';
    append_text_value(out, field.value);
  }
  return out;
}

void log_event(spdlog::level::level_enum level, std::string_view msg, const Fields& fields) {
  auto* logger = spdlog::default_logger_raw();
  if (logger == nullptr || !logger->should_log(level)) {
    return;
  }
  const PendingEvent event{msg, &fields};
  // Cleared on every exit: a later plain line on this thread must not inherit the fields.
  struct Reset {
    ~Reset() { t_event = nullptr; }
  } reset;
  t_event = &event;
  logger->log(level, "{}", render_text_event(msg, fields));
}

tl::expected<void, std::string> setup_logging(const LogOptions& options) {
  std::vector<std::string> problems;
  const auto level = parse_level(options.level);
  if (!level) {
    problems.push_back(level.error());
  }

  std::vector<spdlog::sink_ptr> sinks;
  try {
    sinks.push_back(std::make_shared<spdlog::sinks::stdout_sink_mt>());
  } catch (const std::exception& e) {
    return tl::unexpected(std::string("cannot log to stdout: ") + e.what());
  }

  std::error_code ec;
  std::filesystem::create_directories(options.log_dir, ec);
  const auto file = options.log_dir / "etl.log";
  if (ec) {
    problems.push_back("cannot create log directory " + options.log_dir.string() + ": " +
                       ec.message());
  } else {
    try {
      sinks.push_back(std::make_shared<spdlog::sinks::rotating_file_sink_mt>(
          file.string(), options.max_file_bytes, options.max_files));
    } catch (const std::exception& e) {
      problems.push_back("cannot open log file " + file.string() + ": " + e.what());
    }
  }

  auto logger = std::make_shared<spdlog::logger>("etl", sinks.begin(), sinks.end());
  logger->set_formatter(make_formatter(options.json));
  logger->set_level(level.value_or(spdlog::level::info));
  // Warnings and errors reach disk at once; routine lines at most a second late.
  logger->flush_on(spdlog::level::warn);
  spdlog::set_default_logger(logger);
  spdlog::flush_every(std::chrono::seconds(1));

  if (problems.empty()) {
    return {};
  }
  std::string joined;
  for (const auto& problem : problems) {
    joined += joined.empty() ? "" : "; ";
    joined += problem;
  }
  if (sinks.size() == 1) {
    joined += "; logging to stdout only";
  }
  spdlog::warn("{}", joined);
  return tl::unexpected(joined);
}

} // namespace etl::telemetry
