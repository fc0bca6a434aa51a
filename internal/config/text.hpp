#pragma once
// Small string helpers shared by the config sources. Internal to etl::config.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace etl::config {

std::string_view trim(std::string_view text) noexcept; // ASCII blanks, tabs, CR, LF
std::string to_lower(std::string_view text);
std::vector<std::string_view> split(std::string_view text, char separator);

// A value as it appears in a problem message: double-quoted, control bytes escaped, and cut
// at 80 characters so a pasted blob cannot flood the terminal.
std::string quote_value(std::string_view value);

// Strict non-negative decimal integer (digits only); nullopt when malformed or above max.
std::optional<unsigned long long> parse_unsigned(std::string_view text, unsigned long long max);

// Reads a whole regular file of at most max_bytes; the error says why, never what it held.
std::optional<std::string> read_small_file(const std::string& path, std::size_t max_bytes,
                                           std::string& error);

// Whether `path` is a regular file this process can open for reading; the error says why not.
bool readable_file(const std::string& path, std::string& error);
// A directory whose entries can be listed; else `error` says why.
bool readable_directory(const std::string& path, std::string& error);

bool has_control_chars(std::string_view text) noexcept;

} // namespace etl::config
