#pragma once
// One coin observation from GET /coins/markets, kept exactly as CoinGecko sent it.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace etl::market {

// A JSON number kept as the exact decimal text the API sent ("8.69e-05", "20022396.0",
// "400000000000000000000"), so PostgreSQL numeric stores that value with no float rounding.
// The parser only keeps text numeric accepts (fits_postgres_numeric in parse_markets.hpp).
// std::nullopt means the API sent null (or, for optional keys, did not send the key).
using Decimal = std::optional<std::string>;

// The price_change_percentage_<window>_in_currency keys CoinGecko adds on request.
inline constexpr std::array<std::string_view, 7> kPriceChangeWindows = {"1h",  "24h",  "7d", "14d",
                                                                        "30d", "200d", "1y"};

struct CoinMarket {
  std::string id; // stored as coin_id
  std::string symbol;
  std::string name;
  std::string image; // may be empty when the API sent null
  Decimal current_price;
  Decimal market_cap;
  std::optional<std::int64_t> market_cap_rank; // the parser keeps PostgreSQL integer's range
  Decimal fully_diluted_valuation;
  Decimal total_volume;
  Decimal high_24h;
  Decimal low_24h;
  Decimal price_change_24h;
  Decimal price_change_percentage_24h;
  Decimal market_cap_change_24h;
  Decimal market_cap_change_percentage_24h;
  Decimal circulating_supply;
  Decimal total_supply;
  Decimal max_supply;
  Decimal ath;
  Decimal ath_change_percentage;
  std::optional<std::string> ath_date; // ISO 8601 text as sent, validated
  Decimal atl;
  Decimal atl_change_percentage;
  std::optional<std::string> atl_date;
  Decimal roi_times; // roi flattened; all three null when roi is null
  std::optional<std::string> roi_currency;
  Decimal roi_percentage;
  std::string last_updated; // ISO 8601 text as sent, validated; never null (natural key)
  // Index i matches kPriceChangeWindows[i]; nullopt when absent or null.
  std::array<Decimal, kPriceChangeWindows.size()> price_change_percentage_in_currency;

  bool operator==(const CoinMarket&) const = default;
};

} // namespace etl::market
