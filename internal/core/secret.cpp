#include "core/secret.hpp"

namespace etl {

namespace {
void replace_all(std::string& text, const std::string& needle) {
  if (needle.empty()) return;
  for (auto pos = text.find(needle); pos != std::string::npos; pos = text.find(needle, pos)) {
    text.replace(pos, needle.size(), "<redacted>");
    pos += 10;
  }
}
} // namespace

std::string redact(std::string text, std::initializer_list<const Secret*> secrets) {
  for (const Secret* s : secrets) {
    if (s != nullptr) replace_all(text, s->reveal());
  }
  return text;
}

std::string redact(std::string text, const std::vector<std::string>& secrets) {
  for (const auto& s : secrets) replace_all(text, s);
  return text;
}

} // namespace etl
