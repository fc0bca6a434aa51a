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

// What one page may cost, whatever its body holds (issue 9): a 1 MiB body of tiny elements must
// not become hundreds of thousands of records, log lines or processed entries.
// Elements past kMaxElementsPerPage are counted as rejected without being read into coins;
// CoinGecko serves at most 250 per page, so a real page never reaches the cap.
inline constexpr std::size_t kMaxElementsPerPage = 1000;
// Rejections kept with their id and reason; the rest are only counted (rejected_count).
inline constexpr std::size_t kMaxRejectedDetails = 16;
// coin_id is part of a btree key (the primary key), whose entries PostgreSQL
// caps at 2704 bytes ("index row size exceeds btree version 4 maximum"); real ids are slugs of
// a few dozen bytes. A longer id rejects its coin instead of the whole snapshot.
inline constexpr std::size_t kMaxIdBytes = 256;
// A rejected coin's id as logged and recorded: longer ones are cut (at a UTF-8 boundary, "...").
inline constexpr std::size_t kMaxRejectedIdBytes = 64;

struct RejectedCoin {
  std::size_t index; // position in the array
  std::string id;    // "" when the element had no usable string id; at most kMaxRejectedIdBytes + 3
  std::string reason;

  bool operator==(const RejectedCoin&) const = default;
};

struct ParsedPage {
  std::vector<CoinMarket> coins;
  std::vector<RejectedCoin> rejected; // the first kMaxRejectedDetails rejections, in order
  std::size_t rejected_count = 0;     // every rejected element, those in `rejected` included
  // Elements in the array: coins.size() + rejected_count.
  std::size_t received() const noexcept { return coins.size() + rejected_count; }
};

// A body that is a JSON array parses: each valid element becomes a CoinMarket, each invalid one
// (wrong type, missing id/last_updated, bad date, ...) becomes a RejectedCoin. Anything else is
// a BodyError.
tl::expected<ParsedPage, BodyError> parse_markets(std::string_view body);

// True when `text` is ISO 8601 date-time with 'Z' or a ±HH:MM offset and optional fraction, and
// PostgreSQL's timestamptz input takes it: year 0001-9999, a real calendar day, offsets within
// ±15:59, second 60 (a leap second) only without a fraction.
bool is_iso8601_timestamp(std::string_view text) noexcept;

// True when the JSON number `text` fits PostgreSQL's numeric (numeric.c; checked on 15): at
// most 131072 digits before the decimal point and 16383 after it once the exponent is applied
// (trailing zeros count: "1.000" keeps scale 3), and an exponent below 1073741823 in magnitude
// (even for zero). Anything else makes numeric input fail with "value overflows numeric format".
bool fits_postgres_numeric(std::string_view text) noexcept;

} // namespace etl::market
