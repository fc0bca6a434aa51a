#include "config/loader.hpp"
#include "config/text.hpp"

#include <filesystem>

namespace etl::config {
namespace {

constexpr std::string_view kDurationForms =
    "written like 500ms, 30s, 5m, 1h or plain seconds (30, 0.5)";
constexpr std::size_t kMaxSecretFileBytes = 64 * 1024;

std::string describe_bytes(std::uint64_t n) {
  if (n >= (1ull << 40) && n % (1ull << 40) == 0) return std::to_string(n >> 40) + "TiB";
  if (n >= (1ull << 30) && n % (1ull << 30) == 0) return std::to_string(n >> 30) + "GiB";
  if (n >= (1ull << 20) && n % (1ull << 20) == 0) return std::to_string(n >> 20) + "MiB";
  return std::to_string(n);
}

std::string join(const std::vector<std::string_view>& words) {
  std::string out;
  for (std::size_t i = 0; i < words.size(); ++i) {
    if (i > 0) out += i + 1 == words.size() ? " or " : ", ";
    out += words[i];
  }
  return out;
}

} // namespace

std::optional<std::uint64_t> parse_bytes(std::string_view text, std::uint64_t max) {
  std::size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
  const std::string unit = to_lower(trim(text.substr(digits)));
  std::uint64_t scale = 1;
  if (unit == "kib") {
    scale = 1ull << 10;
  } else if (unit == "mib") {
    scale = 1ull << 20;
  } else if (unit == "gib") {
    scale = 1ull << 30;
  } else if (unit == "tib") {
    scale = 1ull << 40;
  } else if (!unit.empty() && unit != "b") {
    return std::nullopt;
  }
  const auto count = parse_unsigned(text.substr(0, digits), max);
  if (!count || *count > max / scale) return std::nullopt;
  return *count * scale;
}

std::optional<std::string_view> Loader::get(std::string_view name) const {
  const auto it = m_vars.find(name);
  if (it == m_vars.end()) return std::nullopt;
  return trim(it->second);
}

std::optional<std::string_view> Loader::get_optional(std::string_view name) const {
  auto value = get(name);
  if (value && value->empty()) return std::nullopt;
  return value;
}

std::optional<std::string_view> Loader::get_raw_optional(std::string_view name) const {
  const auto it = m_vars.find(name);
  if (it == m_vars.end() || it->second.empty()) return std::nullopt;
  return std::string_view(it->second);
}

void Loader::bad(std::string_view name, std::string_view value, std::string_view allowed) {
  m_problems.push_back(std::string(name) + "=" + quote_value(value) + ": " + std::string(allowed));
}

void Loader::bad_secret(std::string_view name, std::string_view text) {
  m_problems.push_back(std::string(name) + ": " + std::string(text));
}

void Loader::integer(std::string_view name, int& out, int min, int max) {
  const auto value = get(name);
  if (!value) return;
  const auto n = parse_unsigned(*value, static_cast<unsigned long long>(max));
  if (!n || *n < static_cast<unsigned long long>(min)) {
    bad(name, *value,
        "must be an integer from " + std::to_string(min) + " to " + std::to_string(max));
    return;
  }
  out = static_cast<int>(*n);
}

void Loader::millis(std::string_view name, std::chrono::milliseconds& out,
                    std::chrono::milliseconds min, std::chrono::milliseconds max) {
  const auto value = get(name);
  if (!value) return;
  const auto parsed = parse_duration(*value);
  if (!parsed || *parsed < min || *parsed > max) {
    bad(name, *value,
        "must be a duration from " + format_duration(min) + " to " + format_duration(max) + ", " +
            std::string(kDurationForms));
    return;
  }
  out = *parsed;
}

void Loader::seconds(std::string_view name, std::chrono::seconds& out, std::chrono::seconds min,
                     std::chrono::seconds max) {
  std::chrono::milliseconds ms{-1};
  millis(name, ms, min, max);
  if (ms.count() >= 0) out = std::chrono::duration_cast<std::chrono::seconds>(ms);
}

void Loader::bytes(std::string_view name, std::uint64_t& out, std::uint64_t min,
                   std::uint64_t max) {
  const auto value = get(name);
  if (!value) return;
  const auto n = parse_bytes(*value, max);
  if (!n || *n < min) {
    bad(name, *value,
        "must be a byte count from " + describe_bytes(min) + " to " + describe_bytes(max) +
            " (plain bytes, or with KiB, MiB, GiB)");
    return;
  }
  out = *n;
}

void Loader::choice(std::string_view name, std::string& out,
                    const std::vector<std::string_view>& allowed) {
  const auto value = get(name);
  if (!value) return;
  const std::string lowered = to_lower(*value);
  for (const auto word : allowed) {
    if (lowered == word) {
      out = lowered;
      return;
    }
  }
  bad(name, *value, "must be " + join(allowed));
}

void Loader::directory(std::string_view name, std::filesystem::path& out) {
  const auto value = get(name);
  if (!value) return;
  if (value->empty() || has_control_chars(*value)) {
    bad(name, *value, "must be a directory path");
    return;
  }
  std::error_code ec;
  const auto status = std::filesystem::status(std::string(*value), ec);
  // Creating it and checking it is writable is the spool's job at startup; here only a path
  // that can never work is rejected.
  if (std::filesystem::exists(status) && !std::filesystem::is_directory(status)) {
    bad(name, *value, "exists but is not a directory");
    return;
  }
  out = std::filesystem::path(std::string(*value));
}

std::optional<std::string> Loader::secret_file(std::string_view name, std::string_view path) {
  std::string error;
  auto content = read_small_file(std::string(path), kMaxSecretFileBytes, error);
  if (!content) {
    bad(name, path, error);
    return std::nullopt;
  }
  while (!content->empty() && (content->back() == '\n' || content->back() == '\r'))
    content->pop_back();
  if (content->empty()) {
    bad(name, path, "file is empty");
    return std::nullopt;
  }
  return content;
}

} // namespace etl::config
