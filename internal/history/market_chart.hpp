#pragma once
// Parsing /coins/{id}/market_chart(/range) bodies (pure):
//   {"prices":[[ms,v],...],"market_caps":[[ms,v],...],"total_volumes":[[ms,v],...]}
// Values keep the exact decimal text CoinGecko sent (never a double); null stays null. The
// three series are merged by timestamp. Then select_points() applies the storage rules:
//  - only points inside the chunk's core range are kept (padding and widening are dropped);
//  - daily: only points at 00:00 UTC; the trailing off-grid "now" point CoinGecko appends (the
//    open day's running value) is dropped: the day's close is the next 00:00 point;
//  - hourly / 5m: CoinGecko's stamps are not on a grid (e.g. 15:04:13.863), so every point is
//    kept at its exact stamp, except near-duplicates: sorted by time, a point less than one
//    second after the last one kept is dropped (the 1d capture ends ...594955 and ...594000,
//    the same sample twice). The trailing "now" point is kept: it belongs to the open day,
//    whose rows are replaced whenever the open chunk is fetched again.
#include "history/chunk_plan.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <tl/expected.hpp>

namespace etl::history {

struct ChartPoint {
  std::int64_t ts_ms = 0;
  std::optional<std::string> price; // exact decimal text; nullopt = JSON null or absent
  std::optional<std::string> market_cap;
  std::optional<std::string> total_volume;
  friend bool operator==(const ChartPoint&, const ChartPoint&) = default;
};

// The merged points sorted by timestamp, or why the body is not a market chart (not JSON, an
// error object, a malformed point). A timestamp present in one series only has NULLs in the
// others; a timestamp repeated within one series keeps its first value.
tl::expected<std::vector<ChartPoint>, std::string> parse_market_chart(std::string_view body);

struct Selection {
  std::vector<ChartPoint> kept;
  std::int64_t outside = 0;    // outside the core range
  std::int64_t off_grid = 0;   // daily points not at 00:00 UTC
  std::int64_t duplicates = 0; // hourly/5m near-duplicate stamps
};
Selection select_points(std::vector<ChartPoint> merged, Granularity granularity, const Range& core);

// CoinGecko's error bodies: {"status":{"error_code":N,"error_message":"..."}},
// {"error":{"status":{...}}} (10012), {"error":"coin not found"}, {"error_code":N,...}.
struct ApiError {
  std::optional<long> code; // error_code when the body has one
  std::string message;      // error_message, or the "error" string
};
std::optional<ApiError> parse_api_error(std::string_view body);

// A point count far from what the grid predicts (below half or above twice): worth a warning.
bool count_is_suspicious(std::int64_t kept, std::int64_t expected) noexcept;

} // namespace etl::history
