#pragma once
// A value that must never reach a log, a metric, a file or an error message.
// It has no stream operator and no implicit conversion; code that needs the text calls
// reveal() at the one place it hands it to a library (a curl header, a libpq conninfo).
#include <string>
#include <utility>
#include <vector>

namespace etl {

class Secret {
public:
  Secret() = default;
  explicit Secret(std::string value) : m_value(std::move(value)) {}
  [[nodiscard]] const std::string& reveal() const noexcept { return m_value; }
  [[nodiscard]] bool empty() const noexcept { return m_value.empty(); }
  // What logs and check-config show instead of the value.
  [[nodiscard]] const char* redacted() const noexcept {
    return m_value.empty() ? "(unset)" : "<redacted>";
  }

private:
  std::string m_value;
};

// Replaces every occurrence of each non-empty secret in `text` with "<redacted>".
// Used on error text from libraries (libpq, libcurl) that may echo a conninfo or URL.
std::string redact(std::string text, std::initializer_list<const Secret*> secrets);
// The same for plain values (e.g. url_secret_values() of a URL that carries a key).
std::string redact(std::string text, const std::vector<std::string>& secrets);

} // namespace etl
