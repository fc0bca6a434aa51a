#pragma once
// OHLC candles (pure): planning the /coins/{id}/ohlc (public/demo) and /coins/{id}/ohlc/range
// (pro) requests of a backfill, parsing their bodies, and choosing which candles a chunk keeps.
// No I/O, no clock: the caller passes `now`.
//
// Public/demo: /ohlc only takes `days` from CoinGecko's enum (1, 7, 14, 30, 90, 180, 365) and
// always ends now; `days` decides the candle size (1-2 days: 30 min, 3-30 days: 4 h, 31 days
// and more: 4 days). So a coin and currency is one request, with the smallest `days` of the
// enum that reaches the wanted start, and the part beyond 365 days is clamped (never asked).
// Its chunk reaches now, so it is provisional unless --to ends it before the open UTC day.
//
// Pro: /ohlc/range?from=&to=&interval=daily|hourly in windows CoinGecko allows (daily: at most
// 180 days, hourly: at most 31 days), day-aligned so the windows of a later run line up with
// the done ones; a range of at most 31 days is fetched hourly, a longer one daily.
//
// A candle is stamped with its close time, so the last one may still be open and stamped in
// the future. A chunk keeps the candles that open inside it: core.from <= ts - size <= core.to.
#include "history/chunk_plan.hpp"

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <tl/expected.hpp>

namespace etl::history {

enum class Candle { thirty_minutes, four_hours, four_days, hourly, daily };
// "30m", "4h", "4d" (public/demo sizes), "hourly", "daily" (pro): backfill_chunks.granularity
// and coin_ohlc.candle.
std::string_view to_string(Candle c) noexcept;
std::optional<Candle> candle_from_string(std::string_view text) noexcept;
std::chrono::milliseconds size_of(Candle c) noexcept;

inline constexpr std::array<int, 7> kOhlcDays = {1, 7, 14, 30, 90, 180, 365};
inline constexpr Days kOhlcDailyWindow{180}; // pro /ohlc/range, interval=daily
inline constexpr Days kOhlcHourlyWindow{31}; // pro /ohlc/range, interval=hourly

// CoinGecko's candle size for /ohlc?days=N.
Candle candle_for_days(int days) noexcept;
// The smallest `days` of the enum that is at least `wanted`, or nullopt beyond 365.
std::optional<int> ohlc_days_for(std::int64_t wanted) noexcept;

struct OhlcChunk {
  Candle candle;
  Range core;    // candles opening inside it are kept
  int days = 0;  // public/demo: the /ohlc `days` parameter; 0 for pro
  Range request; // pro: from/to of /ohlc/range; public: [now - days, now] (informative)
  std::int64_t expected_candles = 0;
  bool open = false; // reaches the still-open UTC day: stored, never recorded done
};

struct OhlcDone {
  Candle candle;
  Range chunk;
};

struct OhlcPlanRequest {
  Range range;             // wanted, e.g. [now - N days, now]
  std::optional<int> days; // --days N (public/demo: the enum value is chosen from it)
  TimePoint now;
  bool pro = false;
  std::vector<OhlcDone> done; // chunks stored for good for this coin and currency
};

struct OhlcPlan {
  std::vector<OhlcChunk> chunks;
  std::optional<Range> clamped; // beyond the public/demo 365-day reach: never asked
  std::int64_t skipped_done = 0;
};

OhlcPlan plan_ohlc(const OhlcPlanRequest& request);

struct OhlcCandle {
  std::int64_t ts_ms = 0;          // close time, as sent
  std::optional<std::string> open; // exact decimal text; nullopt = JSON null
  std::optional<std::string> high;
  std::optional<std::string> low;
  std::optional<std::string> close;
  friend bool operator==(const OhlcCandle&, const OhlcCandle&) = default;
};

// [[ms, open, high, low, close], ...] in the order sent, or why the body is not that (not
// JSON, an error object, a malformed candle). Numbers keep their exact decimal text.
tl::expected<std::vector<OhlcCandle>, std::string> parse_ohlc(std::string_view body);

struct CandleSelection {
  std::vector<OhlcCandle> kept; // sorted by time, one per stamp (the first sent)
  std::int64_t outside = 0;     // opening outside the chunk
  std::int64_t off_grid =
      0; // stamps not on the candle size's grid (kept: the stamp is CoinGecko's)
  std::int64_t duplicates = 0; // repeated stamps
};
CandleSelection select_candles(std::vector<OhlcCandle> candles, const OhlcChunk& chunk);

} // namespace etl::history
