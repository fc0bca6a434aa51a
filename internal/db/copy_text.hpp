#pragma once
// Rows of coin_market in PostgreSQL's COPY text format, built straight into one buffer.
// Pure (no libpq): the load writes a whole page with a single COPY data call, instead of
// libpqxx's stream_to building and escaping a std::string per field and per row, which cost
// about a third of the daemon's CPU per tick (bench/RESULTS.md).
#include "market/coin_market.hpp"

#include <array>
#include <string>
#include <string_view>

namespace etl::db {

// The COPY column order; append_coin_row() writes fields in exactly this order.
inline constexpr std::array<const char*, 38> kCoinMarketColumns = {
    "coin_id", "vs_currency", "symbol", "name", "image", "current_price", "market_cap",
    "market_cap_rank", "fully_diluted_valuation", "total_volume", "high_24h", "low_24h",
    "price_change_24h", "price_change_percentage_24h", "market_cap_change_24h",
    "market_cap_change_percentage_24h", "circulating_supply", "total_supply", "max_supply", "ath",
    "ath_change_percentage", "ath_date", "atl", "atl_change_percentage", "atl_date", "roi_times",
    "roi_currency", "roi_percentage", "last_updated",
    "price_change_percentage_1h_in_currency", "price_change_percentage_24h_in_currency",
    "price_change_percentage_7d_in_currency", "price_change_percentage_14d_in_currency",
    "price_change_percentage_30d_in_currency", "price_change_percentage_200d_in_currency",
    "price_change_percentage_1y_in_currency", "snapshot_id", "fetched_at"};
static_assert(market::kPriceChangeWindows.size() == 7, "kCoinMarketColumns lists seven windows");

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
