#include "core/json_escape.hpp"

#include "core/byte_scan.hpp"

namespace etl::core {

void append_json_escaped(std::string& out, std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::size_t run_start = 0;
  for (std::size_t i = find_control_or(text, '"', '\\'); i < text.size();
       i = run_start + find_control_or(text.substr(run_start), '"', '\\')) {
    const auto c = static_cast<unsigned char>(text[i]);
    out.append(text.data() + run_start, i - run_start);
    run_start = i + 1;
    switch (c) {
    case '"': out.append("\\\""); break;
    case '\\': out.append("\\\\"); break;
    case '\b': out.append("\\b"); break;
    case '\f': out.append("\\f"); break;
    case '\n': out.append("\\n"); break;
    case '\r': out.append("\\r"); break;
    case '\t': out.append("\\t"); break;
    default:
      out.append("\\u00");
      out += kHex[c >> 4];
      out += kHex[c & 0xF];
      break;
    }
  }
  out.append(text.data() + run_start, text.size() - run_start);
}

} // namespace etl::core
