#include "config/config.hpp"
#include "config/text.hpp"

namespace etl::config {
namespace {

bool is_name_start(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; }
bool is_name_char(char c) { return is_name_start(c) || (c >= '0' && c <= '9'); }
bool is_blank(char c) { return c == ' ' || c == '\t'; }

bool valid_name(std::string_view name) {
  if (name.empty() || !is_name_start(name.front())) return false;
  for (const char c : name) {
    if (!is_name_char(c)) return false;
  }
  return true;
}

// After a closing quote only blanks or a comment may follow.
bool only_comment_left(std::string_view rest) {
  rest = trim(rest);
  return rest.empty() || rest.front() == '#';
}

tl::expected<std::string, std::string> single_quoted(std::string_view raw) {
  const auto close = raw.find('\'', 1);
  if (close == std::string_view::npos)
    return tl::make_unexpected(std::string("unterminated single-quoted value"));
  if (!only_comment_left(raw.substr(close + 1))) {
    return tl::make_unexpected(std::string("unexpected text after the closing quote"));
  }
  return std::string(raw.substr(1, close - 1));
}

tl::expected<std::string, std::string> double_quoted(std::string_view raw) {
  std::string value;
  for (std::size_t i = 1; i < raw.size(); ++i) {
    const char c = raw[i];
    if (c == '"') {
      if (!only_comment_left(raw.substr(i + 1))) {
        return tl::make_unexpected(std::string("unexpected text after the closing quote"));
      }
      return value;
    }
    if (c == '\\' && i + 1 < raw.size()) {
      const char next = raw[i + 1];
      if (next == 'n' || next == '"' || next == '\\') {
        value += next == 'n' ? '\n' : next;
        ++i;
        continue;
      }
    }
    value += c; // other backslashes stay literal, as in docker compose
  }
  return tl::make_unexpected(std::string("unterminated double-quoted value"));
}

// Unquoted: a '#' starts a comment only after a blank, so "pa#ss" keeps its '#'.
std::string unquoted(std::string_view raw) {
  for (std::size_t i = 1; i < raw.size(); ++i) {
    if (raw[i] == '#' && is_blank(raw[i - 1])) {
      raw = raw.substr(0, i);
      break;
    }
  }
  return std::string(trim(raw));
}

// One non-blank, non-comment line. Messages never repeat the value: it may be a secret.
tl::expected<std::pair<std::string, std::string>, std::string> parse_line(std::string_view line) {
  if (line.substr(0, 7) == "export " || line.substr(0, 7) == "export\t")
    line = trim(line.substr(7));
  const auto eq = line.find('=');
  if (eq == std::string_view::npos) return tl::make_unexpected(std::string("expected KEY=VALUE"));
  const std::string_view name = trim(line.substr(0, eq));
  if (!valid_name(name)) {
    return tl::make_unexpected("invalid variable name " + quote_value(name) +
                               " (must match [A-Za-z_][A-Za-z0-9_]*)");
  }
  std::string_view raw = line.substr(eq + 1);
  while (!raw.empty() && is_blank(raw.front())) raw.remove_prefix(1);
  const bool had_blank = raw.size() != line.size() - eq - 1;
  tl::expected<std::string, std::string> value;
  if (raw.empty() || (raw.front() == '#' && had_blank)) {
    value = std::string();
  } else if (raw.front() == '\'') {
    value = single_quoted(raw);
  } else if (raw.front() == '"') {
    value = double_quoted(raw);
  } else {
    value = unquoted(raw);
  }
  if (!value) return tl::make_unexpected(std::string(name) + ": " + value.error());
  return std::pair{std::string(name), std::move(*value)};
}

} // namespace

tl::expected<Environment, std::vector<std::string>> parse_dotenv(std::string_view text) {
  constexpr std::string_view bom = "\xEF\xBB\xBF";
  if (text.substr(0, bom.size()) == bom) text.remove_prefix(bom.size());

  Environment env;
  std::vector<std::string> problems;
  std::size_t line_number = 0;
  for (std::string_view line : split(text, '\n')) {
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    line = trim(line);
    if (line.empty() || line.front() == '#') continue;
    const std::string where = ".env line " + std::to_string(line_number) + ": ";
    if (line.find('\0') != std::string_view::npos) {
      problems.push_back(where + "contains a NUL byte");
      continue;
    }
    auto entry = parse_line(line);
    if (!entry) {
      problems.push_back(where + entry.error());
      continue;
    }
    env.insert_or_assign(std::move(entry->first), std::move(entry->second));
  }
  if (!problems.empty()) return tl::make_unexpected(std::move(problems));
  return env;
}

Environment merge_sources(const Environment& dotenv, const Environment& process_env,
                          const Environment& overrides) {
  Environment merged = dotenv;
  for (const auto& [name, value] : process_env) merged.insert_or_assign(name, value);
  for (const auto& [name, value] : overrides) merged.insert_or_assign(name, value);
  return merged;
}

} // namespace etl::config
