#include "common/secret.hpp"

namespace etl {

std::string redact(std::string text, std::initializer_list<const Secret*> secrets) {
  for (const Secret* s : secrets) {
    if (s == nullptr || s->empty()) continue;
    const std::string& needle = s->reveal();
    for (auto pos = text.find(needle); pos != std::string::npos; pos = text.find(needle, pos)) {
      text.replace(pos, needle.size(), "<redacted>");
      pos += 10;
    }
  }
  return text;
}

} // namespace etl
