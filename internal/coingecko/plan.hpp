#pragma once
// CoinGecko's API plans and what each implies (names, default rate, monthly credits, hosts).
// Its own small header and library so config/ can name a plan without the client (and libcurl).
#include <optional>
#include <string_view>

namespace etl::coingecko {

enum class Plan { public_api, demo, pro };

std::string_view to_string(Plan plan) noexcept; // "public", "demo", "pro"
// The inverse of to_string (exact, lowercase); nullopt for anything else.
std::optional<Plan> parse_plan(std::string_view name) noexcept;

// Calls per minute the plan allows: public 5, demo 30, pro 500 (the lowest paid tier).
double default_rate_per_minute(Plan plan) noexcept;
// Monthly call credits when CoinGecko publishes one number for the plan (demo: 10000).
std::optional<int> default_monthly_credits(Plan plan) noexcept;

// Keyless and demo calls go to the public host, pro calls to the pro host; a key sent to the
// other plan's host fails with CoinGecko error 10010/10011.
inline constexpr std::string_view kPublicHost = "api.coingecko.com";
inline constexpr std::string_view kProHost = "pro-api.coingecko.com";
inline constexpr std::string_view kPublicMarketsUrl =
    "https://api.coingecko.com/api/v3/coins/markets";
inline constexpr std::string_view kProMarketsUrl =
    "https://pro-api.coingecko.com/api/v3/coins/markets";

} // namespace etl::coingecko
