#include "history/chunk_plan.hpp"

#include <algorithm>

namespace etl::history {
namespace {

using std::chrono::milliseconds;
constexpr milliseconds kMs{1};
// The core windows of daily chunks: one day below the 365-day limit, so the padded request
// stays within it too.
constexpr Days kDailyCore = kMaxDailyWindow - Days{1};

TimePoint ceil_to(TimePoint t, milliseconds step) noexcept {
  const auto c = t.time_since_epoch().count();
  const auto s = step.count();
  const auto q = c >= 0 ? (c + s - 1) / s : c / s;
  return TimePoint{milliseconds{q * s}};
}

TimePoint floor_to(TimePoint t, milliseconds step) noexcept {
  const auto c = t.time_since_epoch().count();
  const auto s = step.count();
  const auto q = c >= 0 ? c / s : (c - s + 1) / s;
  return TimePoint{milliseconds{q * s}};
}

std::int64_t grid_points(const Range& r, Granularity g) noexcept {
  const auto step = step_of(g);
  const auto first = ceil_to(r.from, step);
  const auto last = floor_to(r.to, step);
  if (last < first) return 0;
  return (last - first) / step + 1;
}

// The request for `core`: padded, at least `min_span` long (widened backwards), never before
// `floor_at` nor after `now`.
Range request_for(const Range& core, milliseconds min_span, TimePoint floor_at, TimePoint now) {
  Range r{core.from - kPad, std::min(core.to + kPad, now)};
  if (r.to - r.from < min_span) r.from = r.to - min_span;
  r.from = std::max(r.from, floor_at);
  return r;
}

} // namespace

std::string_view to_string(Granularity g) noexcept {
  switch (g) {
  case Granularity::five_minute: return "5m";
  case Granularity::hourly: return "hourly";
  case Granularity::daily: return "daily";
  }
  return "daily";
}

std::optional<Granularity> granularity_from_string(std::string_view text) noexcept {
  if (text == "5m") return Granularity::five_minute;
  if (text == "hourly") return Granularity::hourly;
  if (text == "daily") return Granularity::daily;
  return std::nullopt;
}

std::chrono::milliseconds step_of(Granularity g) noexcept {
  switch (g) {
  case Granularity::five_minute: return std::chrono::minutes{5};
  case Granularity::hourly: return std::chrono::hours{1};
  case Granularity::daily: return Days{1};
  }
  return Days{1};
}

TimePoint floor_day(TimePoint t) noexcept { return floor_to(t, Days{1}); }

bool is_final(const Range& core, TimePoint fetched) noexcept {
  const TimePoint today = floor_day(fetched);
  if (core.to >= today) return false; // the open day
  if (core.to >= today - Days{1} && fetched < today + std::chrono::hours{1})
    return false; // yesterday, not yet published
  return true;
}

std::vector<Range> subtract(Range range, std::vector<Range> covered) {
  std::vector<Range> out;
  if (range.to < range.from) return out;
  std::sort(covered.begin(), covered.end(),
            [](const Range& a, const Range& b) { return a.from < b.from; });
  TimePoint cursor = range.from;
  for (const Range& c : covered) {
    if (c.to < cursor || c.from > range.to) continue;
    if (c.from > cursor) out.push_back({cursor, c.from - kMs});
    cursor = std::max(cursor, c.to + kMs);
    if (cursor > range.to) return out;
  }
  if (cursor <= range.to) out.push_back({cursor, range.to});
  return out;
}

namespace {

// Day-aligned windows of at most kDailyCore days covering `piece`.
std::vector<Range> daily_windows(const Range& piece) {
  std::vector<Range> out;
  for (TimePoint a = piece.from; a <= piece.to;) {
    const TimePoint b = std::min(piece.to, floor_day(a) + kDailyCore);
    out.push_back(Range{a, b});
    if (b == piece.to) break;
    a = b + kMs;
  }
  return out;
}

} // namespace

Plan plan_chunks(const PlanRequest& request) {
  Plan plan;
  const TimePoint now = request.now;
  const TimePoint today = floor_day(now);
  TimePoint from = request.range.from;
  const TimePoint to = std::min(request.range.to, now);
  if (to < from) return plan;

  // Public/demo reach: 365 days back from CoinGecko's clock, with a margin for clock skew.
  TimePoint floor_at = TimePoint::min();
  if (request.limited_reach) {
    floor_at = now - kPublicReach + kReachMargin;
    if (from < floor_at) {
      plan.clamped = Range{from, std::min(to, floor_at - kMs)};
      from = floor_at;
      if (to < from) return plan;
    }
  }

  const auto add = [&](Granularity g, const Range& core, const Range& req) {
    plan.chunks.push_back(Chunk{g, core, req, grid_points(core, g), !is_final(core, now)});
  };
  const auto count_skipped = [&](const Range& zone, const std::vector<Range>& pieces) {
    if (pieces.size() != 1 || !(pieces.front() == zone)) ++plan.skipped_done;
  };

  // The last day only: CoinGecko's 5-minutely series, one request without padding (a padded
  // request would span more than a day and come back hourly).
  if (request.range.to >= now && to - from <= Days{1}) {
    const Range zone{from, to};
    const auto pieces = subtract(zone, request.done_five_minute);
    count_skipped(zone, pieces);
    if (!pieces.empty()) add(Granularity::five_minute, zone, zone);
    return plan;
  }

  const TimePoint hourly_from = std::max(from, today - kHourlyDays);
  if (from < hourly_from) {
    const Range zone{from, hourly_from};
    const auto pieces = subtract(zone, request.done_daily);
    count_skipped(zone, pieces);
    for (const Range& piece : pieces)
      for (const Range& core : daily_windows(piece))
        add(Granularity::daily, core, request_for(core, kMinDailySpan, floor_at, now));
  }
  const Range zone{hourly_from, to};
  const auto pieces = subtract(zone, request.done_hourly);
  count_skipped(zone, pieces);
  for (const Range& piece : pieces) {
    add(Granularity::hourly, piece, request_for(piece, kMinHourlySpan, floor_at, now));
  }
  return plan;
}

} // namespace etl::history
