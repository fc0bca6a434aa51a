#pragma once
// Rows of coin_market in PostgreSQL's COPY text format, built straight into one buffer.
// Pure (no libpq): the load writes a whole page with a single COPY data call, instead of
// libpqxx's stream_to building and escaping a std::string per field and per row, which cost
// about a third of the daemon's CPU per tick (bench/RESULTS.md).
#include "market/fields.hpp"

#include <array>
#include <string>
#include <string_view>

namespace etl::db {

// The COPY column order, straight from the field table; append_coin_row() writes fields in
// exactly this order. The names are string literals, so each view's data() is NUL-terminated.
inline constexpr auto kCoinMarketColumns = [] {
  std::array<const char*, market::kFieldCount> names{};
  for (std::size_t i = 0; i < names.size(); ++i)
    names[i] = market::kCoinMarketFields[i].column.data();
  return names;
}();

// "a, b, ..." for SQL.
std::string coin_market_column_list();

// One field, escaped for COPY text format: backslash, newline, carriage return and tab become
// backslash sequences; every other byte (UTF-8 included) passes through. The literal text "\N"
// becomes "\\N", so it stays text and is never read as NULL.
void append_copy_field(std::string& out, std::string_view value);
inline void append_copy_null(std::string& out) { out += "\\N"; }

// One coin as one COPY line (ending in '\n'). Numbers go as the exact decimal text the API sent.
struct RowContext {
  std::string_view vs_currency;
  std::string_view snapshot_id;
  std::string_view fetched_at; // timestamptz text
};
void append_coin_row(std::string& out, const market::CoinMarket& coin, const RowContext& context);

} // namespace etl::db
