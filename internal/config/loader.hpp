#pragma once
// Reads typed values out of the merged variables, collecting one problem per bad setting
// instead of stopping at the first. Internal to etl::config.
#include "config/config.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace etl::config {

class Loader {
public:
  explicit Loader(const Environment& vars) : m_vars(vars) {}

  // Trimmed value, nullopt when absent. An empty value is returned as such (and rejected by
  // the typed readers below), because "PER_PAGE=" is a mistake, not a request for the default.
  [[nodiscard]] std::optional<std::string_view> get(std::string_view name) const;
  // For settings whose absence means something (keys, optional files): empty counts as unset,
  // since compose files often pass `VAR=` through.
  [[nodiscard]] std::optional<std::string_view> get_optional(std::string_view name) const;
  // Untrimmed, empty counts as unset: passwords may start or end with blanks.
  [[nodiscard]] std::optional<std::string_view> get_raw_optional(std::string_view name) const;

  // NAME="value": what is allowed.
  void bad(std::string_view name, std::string_view value, std::string_view allowed);
  // NAME: text. For secrets, whose value must never be repeated.
  void bad_secret(std::string_view name, std::string_view text);

  // Each reader leaves `out` untouched when the variable is absent or bad.
  void integer(std::string_view name, int& out, int min, int max);
  void millis(std::string_view name, std::chrono::milliseconds& out, std::chrono::milliseconds min,
              std::chrono::milliseconds max);
  void seconds(std::string_view name, std::chrono::seconds& out, std::chrono::seconds min,
               std::chrono::seconds max);
  void bytes(std::string_view name, std::uint64_t& out, std::uint64_t min, std::uint64_t max);
  // One of `allowed`, compared after lowercasing.
  void choice(std::string_view name, std::string& out,
              const std::vector<std::string_view>& allowed);
  void directory(std::string_view name, std::filesystem::path& out);
  // A secret from NAME_FILE: trailing newlines dropped; nullopt (and a problem) when unreadable
  // or empty. The message names the variable and path, never the content.
  std::optional<std::string> secret_file(std::string_view name, std::string_view path);

  [[nodiscard]] bool ok() const noexcept { return m_problems.empty(); }
  std::vector<std::string> take_problems() { return std::move(m_problems); }

private:
  const Environment& m_vars;
  std::vector<std::string> m_problems;
};

// "1024", "64KiB", "1GiB": bytes, or nullopt when malformed or above max.
std::optional<std::uint64_t> parse_bytes(std::string_view text, std::uint64_t max);

} // namespace etl::config
