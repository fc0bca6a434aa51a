#include "config/text.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>

namespace etl::config {

std::string_view trim(std::string_view text) noexcept {
  constexpr std::string_view blanks = " \t\r\n\v\f";
  const auto first = text.find_first_not_of(blanks);
  if (first == std::string_view::npos) return {};
  const auto last = text.find_last_not_of(blanks);
  return text.substr(first, last - first + 1);
}

std::string to_lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::vector<std::string_view> split(std::string_view text, char separator) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  while (true) {
    const auto end = text.find(separator, start);
    if (end == std::string_view::npos) {
      parts.push_back(text.substr(start));
      return parts;
    }
    parts.push_back(text.substr(start, end - start));
    start = end + 1;
  }
}

std::string quote_value(std::string_view value) {
  constexpr std::size_t kMaxShown = 80;
  std::string out = "\"";
  std::size_t shown = 0;
  for (const char c : value) {
    if (shown++ == kMaxShown) {
      out += "...";
      break;
    }
    const auto byte = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (byte < 0x20 || byte == 0x7f) {
      static constexpr char hex[] = "0123456789abcdef";
      out += "\\x";
      out += hex[byte >> 4];
      out += hex[byte & 0xf];
    } else {
      out += c;
    }
  }
  out += '"';
  return out;
}

std::optional<unsigned long long> parse_unsigned(std::string_view text, unsigned long long max) {
  if (text.empty()) return std::nullopt;
  unsigned long long value = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    const auto digit = static_cast<unsigned long long>(c - '0');
    if (value > (max - digit) / 10) return std::nullopt;
    value = value * 10 + digit;
  }
  return value;
}

std::optional<std::string> read_small_file(const std::string& path, std::size_t max_bytes,
                                           std::string& error) {
  // Only regular files (a k8s secret symlink resolves to one): a FIFO or tty would block here.
  if (!readable_file(path, error)) return std::nullopt;
  const std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(path.c_str(), "rb"),
                                                             &std::fclose);
  if (!file) {
    error = "cannot read file (" + std::string(std::strerror(errno)) + ")";
    return std::nullopt;
  }
  std::string content(max_bytes + 1, '\0');
  const std::size_t got = std::fread(content.data(), 1, content.size(), file.get());
  if (std::ferror(file.get()) != 0) {
    error = "cannot read file (read error)";
    return std::nullopt;
  }
  if (got > max_bytes) {
    error = "file is larger than " + std::to_string(max_bytes) + " bytes";
    return std::nullopt;
  }
  content.resize(got);
  return content;
}

namespace {

// Whether `path` exists and is of the kind asked for ("file" or "directory"); else `error`
// says "cannot read <kind> (why)".
bool is_kind(const std::string& path, std::string_view kind, std::string& error) {
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  std::string why;
  if (ec || !std::filesystem::exists(status))
    why = ec ? ec.message() : std::string("No such file or directory");
  else if (kind == "file" && !std::filesystem::is_regular_file(status)) why = "not a regular file";
  else if (kind == "directory" && !std::filesystem::is_directory(status)) why = "not a directory";
  if (why.empty()) return true;
  error = "cannot read " + std::string(kind) + " (" + why + ")";
  return false;
}

} // namespace

bool readable_file(const std::string& path, std::string& error) {
  if (!is_kind(path, "file", error)) return false;
  const std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(path.c_str(), "rb"),
                                                             &std::fclose);
  if (!file) {
    error = "cannot read file (" + std::string(std::strerror(errno)) + ")";
    return false;
  }
  return true;
}

bool readable_directory(const std::string& path, std::string& error) {
  if (!is_kind(path, "directory", error)) return false;
  // Opening it is the test: permission bits alone miss ACLs and root's override.
  std::error_code ec;
  const std::filesystem::directory_iterator it(path, ec);
  if (ec) {
    error = "cannot read directory (" + ec.message() + ")";
    return false;
  }
  return true;
}

bool has_control_chars(std::string_view text) noexcept {
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7f) return true;
  }
  return false;
}

} // namespace etl::config
