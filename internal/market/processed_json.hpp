#pragma once
// The normalized record format of data/processed/: one compact JSON object per coin with the
// database column names (coin_id, vs_currency, roi_times, ...). Decimals are written as JSON
// numbers with exactly the text received; nulls stay null. Pure string building.
#include "core/json_escape.hpp"
#include "market/coin_market.hpp"

#include <string>
#include <string_view>

namespace etl::market {

// Appends one record (no trailing comma or newline).
void append_processed_record(std::string& out, const CoinMarket& coin,
                             std::string_view vs_currency);

// The one JSON string writer is core's; the name stays here for the market's callers.
using core::append_json_string;

} // namespace etl::market
