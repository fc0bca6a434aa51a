#pragma once
// The one JSON string escaper: processed records, rejected-coin lists, the readiness body and
// the JSON log lines all write strings through it. Escapes exactly what JSON requires (quote,
// backslash, control characters below 0x20); every other byte, UTF-8 included, passes through
// unchanged, so text stays readable. Fast path: runs of plain bytes are found eight at a time.
#include <string>
#include <string_view>

namespace etl::core {

// Appends `text` escaped, without surrounding quotes.
void append_json_escaped(std::string& out, std::string_view text);

// Appends `text` as a JSON string literal (quotes and escapes included).
inline void append_json_string(std::string& out, std::string_view text) {
  out += '"';
  append_json_escaped(out, text);
  out += '"';
}

inline std::string json_quoted(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 2);
  append_json_string(out, text);
  return out;
}

} // namespace etl::core
