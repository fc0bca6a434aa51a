#pragma once
// Parsing /coins/list?include_platform=true (pure): [{"id","symbol","name","platforms":{...}}].
// The body is ~18k coins (a few MB): it is read with a SAX parser straight into the rows, so
// memory is the rows themselves, never a DOM of the whole list. `platforms` is kept as compact
// JSON text for a jsonb column (an item without it, as /coins/list without include_platform
// sends, gets "{}"); its values (contract addresses, null, "") are copied as sent.
#include <string>
#include <string_view>
#include <vector>

#include <tl/expected.hpp>

namespace etl::history {

struct CoinListing {
  std::string id;
  std::string symbol;
  std::string name;
  std::string platforms_json = "{}";
  friend bool operator==(const CoinListing&, const CoinListing&) = default;
};

struct CoinsList {
  std::vector<CoinListing> coins; // in the order sent; a repeated id keeps its first entry
  std::int64_t repeated = 0;      // entries dropped because their id came earlier
};

tl::expected<CoinsList, std::string> parse_coins_list(std::string_view body);

} // namespace etl::history
