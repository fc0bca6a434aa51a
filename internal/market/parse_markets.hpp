#pragma once
// Parses a /coins/markets response body. Pure: no I/O, no clock, no logging.
#include "market/coin_market.hpp"

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include <tl/expected.hpp>

namespace etl::market {

// Why a whole body cannot be loaded. The names are metric label values: keep the set fixed.
enum class BodyErrorKind {
  empty,        // zero bytes or only whitespace
  html,         // starts with '<' (Cloudflare pages, proxies)
  not_json,     // not valid JSON (includes plain-text "Throttled")
  truncated,    // valid JSON prefix that ends early
  error_object, // a JSON object such as {"status":{"error_code":429,...}} or {"error":"..."}
  not_array,    // any other JSON value that is not an array
};
std::string_view to_string(BodyErrorKind kind) noexcept;

struct BodyError {
  BodyErrorKind kind;
  std::string detail; // human text; quotes at most 200 bytes of the body
};

struct RejectedCoin {
  std::size_t index; // position in the array
  std::string id;    // "" when the element had no string id
  std::string reason;
};

struct ParsedPage {
  std::vector<CoinMarket> coins;
  std::vector<RejectedCoin> rejected;
};

// A body that is a JSON array parses: each valid element becomes a CoinMarket, each invalid one
// (wrong type, missing id/last_updated, bad date, ...) becomes a RejectedCoin. Anything else is
// a BodyError.
tl::expected<ParsedPage, BodyError> parse_markets(std::string_view body);

// True when `text` is ISO 8601 date-time with 'Z' or a ±HH:MM offset and optional fraction.
bool is_iso8601_timestamp(std::string_view text) noexcept;

} // namespace etl::market
