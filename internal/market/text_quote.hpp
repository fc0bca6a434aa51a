#pragma once
// Quoting of untrusted bytes (response bodies, field values) into human text: error details,
// rejection reasons and logs. Internal to etl::market.
#include <cstddef>
#include <string>
#include <string_view>

namespace etl::market::detail {

// Length of the well-formed UTF-8 sequence at s[pos], or 0 when it is not one.
std::size_t utf8_sequence_length(std::string_view s, std::size_t pos) noexcept;

// Appends at most `max_bytes` of `text` between double quotes, escaping quotes, control
// characters and bytes that are not UTF-8, so the result is safe for logs and for PostgreSQL.
// A cut is marked with "..." after the closing quote.
void append_quoted(std::string& out, std::string_view text, std::size_t max_bytes);

} // namespace etl::market::detail
