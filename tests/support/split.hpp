#pragma once
// Splits COPY lines and rows in tests: every separator starts a new piece, so "a\t" is two.
#include <string>
#include <vector>

namespace etl::testing {

inline std::vector<std::string> split(const std::string& line, char sep) {
  std::vector<std::string> out(1);
  for (char ch : line) {
    if (ch == sep) out.emplace_back();
    else out.back() += ch;
  }
  return out;
}

} // namespace etl::testing
