#pragma once
// Backfill chunk planning (pure): which /coins/{id}/market_chart/range requests cover a
// requested [from, to] range with the granularity wanted, given the plan's reach and the chunks
// already stored. No I/O, no clock: the caller passes `now`.
//
// Rules (CoinGecko serves the granularity from the span of the request: <= 1 day ending now
// -> 5-minutely, up to 90 days -> hourly, more than 90 days -> daily points at 00:00 UTC):
//  - the part of the range older than kHourlyDays whole UTC days is fetched daily, in windows of
//    at most 365 days; a window spanning too little to be served daily is widened backwards
//    (never past the plan's reach) and only the requested part of what comes back is stored;
//  - the part within the last kHourlyDays days is fetched hourly, in one window (< 90 days),
//    widened to at least 2 days so it is never served 5-minutely;
//  - 5-minutely data only when the whole request is the last day (--days 1): one window.
//  - every window is padded by kPad at each edge (never past `now` or the plan's reach) so the
//    points on its boundaries are served whatever CoinGecko's rounding of from/to;
//  - public and demo plans cannot reach more than 365 days back (error 10012): the range is
//    clamped to what they can reach and the clamp is reported, never requested.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace etl::history {

using TimePoint = std::chrono::sys_time<std::chrono::milliseconds>;
using Days = std::chrono::days;

enum class Granularity { five_minute, hourly, daily };
std::string_view
to_string(Granularity g) noexcept; // "5m", "hourly", "daily" (coin_history's values)
std::optional<Granularity> granularity_from_string(std::string_view text) noexcept;
std::chrono::milliseconds step_of(Granularity g) noexcept;

inline constexpr Days kHourlyDays{88};      // whole days before today fetched hourly (+ today)
inline constexpr Days kPublicReach{365};    // public/demo history limit
inline constexpr Days kMaxDailyWindow{365}; // longest daily request
inline constexpr Days kMinDailySpan{92};    // a request spanning more than 90 days is daily
inline constexpr Days kMinHourlySpan{2};    // and one over a day is never 5-minutely
inline constexpr std::chrono::hours kPad{1};
// Margin kept inside the 365-day reach: CoinGecko measures it from its own clock.
inline constexpr std::chrono::hours kReachMargin{1};

struct Range {
  TimePoint from; // inclusive
  TimePoint to;   // inclusive
  friend bool operator==(const Range&, const Range&) = default;
};

struct Chunk {
  Granularity granularity;
  Range core;                       // what this chunk stores: points outside it are dropped
  Range request;                    // what is asked of CoinGecko (padded / widened core)
  std::int64_t expected_points = 0; // grid points of `granularity` in `core`, a sanity check
  bool open = false; // reaches the still-open UTC day: stored, but never recorded done
};

struct PlanRequest {
  Range range; // requested, e.g. [today - N days, now]
  TimePoint now;
  bool limited_reach = true; // public/demo: 365 days
  // Core ranges already stored for good (status done) per granularity, for this coin and
  // currency: a planned part they cover is not requested again.
  std::vector<Range> done_daily;
  std::vector<Range> done_hourly;
  std::vector<Range> done_five_minute;
};

struct Plan {
  std::vector<Chunk> chunks;
  std::optional<Range> clamped;  // the part of the request the plan cannot reach (never asked)
  std::int64_t skipped_done = 0; // planned parts left out because done chunks cover them
};

Plan plan_chunks(const PlanRequest& request);

TimePoint floor_day(TimePoint t) noexcept;
// `[range.from, range.to]` minus the union of `covered` (pieces of at least one millisecond).
std::vector<Range> subtract(Range range, std::vector<Range> covered);
// Whether a chunk stored at `fetched` is final: it ends before the still-open UTC day and
// CoinGecko has had time to publish the last completed day (00:35 UTC, so one hour's margin).
bool is_final(const Range& core, TimePoint fetched) noexcept;

} // namespace etl::history
