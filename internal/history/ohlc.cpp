#include "history/ohlc.hpp"

#include "history/sax.hpp"

#include <algorithm>
#include <charconv>

namespace etl::history {
namespace {

using std::chrono::milliseconds;
constexpr milliseconds kMs{1};

// SAX: top array -> candle arrays of [ms, open, high, low, close].
class OhlcHandler {
public:
  std::vector<OhlcCandle> candles;
  std::string error;

  bool Null() { return value(std::nullopt, true, false); }
  bool Bool(bool) { return value(std::nullopt, false, false); }
  bool Int(int) { return value(std::nullopt, false, false); }
  bool Uint(unsigned) { return value(std::nullopt, false, false); }
  bool Int64(std::int64_t) { return value(std::nullopt, false, false); }
  bool Uint64(std::uint64_t) { return value(std::nullopt, false, false); }
  bool Double(double) { return value(std::nullopt, false, false); }
  bool RawNumber(const char* s, rapidjson::SizeType n, bool) {
    return value(std::string(s, n), true, true);
  }
  bool String(const char*, rapidjson::SizeType, bool) { return value(std::nullopt, false, false); }
  bool StartObject() {
    return fail(m_depth == 0 ? "an object, not an array of candles" : "a candle is not an array");
  }
  bool Key(const char*, rapidjson::SizeType, bool) { return fail("unexpected key"); }
  bool EndObject(rapidjson::SizeType) { return fail("unexpected object"); }
  bool StartArray() {
    if (m_depth == 0) {
      m_depth = 1;
      return true;
    }
    if (m_depth == 1) {
      m_depth = 2;
      m_index = 0;
      m_current = OhlcCandle{};
      return true;
    }
    return fail("a candle holds an array");
  }
  bool EndArray(rapidjson::SizeType) {
    if (m_depth == 2) {
      if (m_index != 5) return fail("a candle is not [ms, open, high, low, close]");
      candles.push_back(std::move(m_current));
      m_depth = 1;
      return true;
    }
    m_depth = 0;
    return true;
  }

private:
  bool fail(std::string message) {
    if (error.empty()) error = std::move(message);
    return false;
  }
  bool value(std::optional<std::string> text, bool allowed, bool number) {
    if (m_depth != 2) return fail("a candle is not an array");
    if (m_index == 0) {
      const std::string_view t = text ? std::string_view(*text) : std::string_view();
      std::int64_t ts = 0;
      const auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), ts);
      if (!number || t.empty() || ec != std::errc() || end != t.data() + t.size() || ts < 0)
        return fail("a candle's time is not whole milliseconds");
      m_current.ts_ms = ts;
    } else if (m_index <= 4) {
      if (!allowed) return fail("a candle's value is neither a number nor null");
      std::optional<std::string>* fields[] = {&m_current.open, &m_current.high, &m_current.low,
                                              &m_current.close};
      *fields[m_index - 1] = std::move(text);
    } else {
      return fail("a candle has more than five elements");
    }
    ++m_index;
    return true;
  }

  int m_depth = 0;
  int m_index = 0;
  OhlcCandle m_current;
};

std::int64_t ceil_div(std::int64_t a, std::int64_t b) { return a <= 0 ? 0 : (a + b - 1) / b; }

} // namespace

std::string_view to_string(Candle c) noexcept {
  switch (c) {
  case Candle::thirty_minutes: return "30m";
  case Candle::four_hours: return "4h";
  case Candle::four_days: return "4d";
  case Candle::hourly: return "hourly";
  case Candle::daily: return "daily";
  }
  return "daily";
}

std::optional<Candle> candle_from_string(std::string_view text) noexcept {
  for (const Candle c : {Candle::thirty_minutes, Candle::four_hours, Candle::four_days,
                         Candle::hourly, Candle::daily}) {
    if (to_string(c) == text) return c;
  }
  return std::nullopt;
}

milliseconds size_of(Candle c) noexcept {
  switch (c) {
  case Candle::thirty_minutes: return std::chrono::minutes{30};
  case Candle::four_hours: return std::chrono::hours{4};
  case Candle::four_days: return Days{4};
  case Candle::hourly: return std::chrono::hours{1};
  case Candle::daily: return Days{1};
  }
  return Days{1};
}

Candle candle_for_days(int days) noexcept {
  if (days <= 2) return Candle::thirty_minutes;
  if (days <= 30) return Candle::four_hours;
  return Candle::four_days;
}

std::optional<int> ohlc_days_for(std::int64_t wanted) noexcept {
  for (const int d : kOhlcDays) {
    if (d >= wanted) return d;
  }
  return std::nullopt;
}

namespace {

// The parts of `zone` that no done chunk of this candle size covers.
std::vector<Range> not_done(const OhlcPlanRequest& q, Candle candle, const Range& zone) {
  std::vector<Range> covered;
  for (const auto& d : q.done) {
    if (d.candle == candle) covered.push_back(d.chunk);
  }
  return subtract(zone, std::move(covered));
}

// Public/demo: one /ohlc?days=D chunk, [from, to] clamped to the plan's reach.
void plan_public_ohlc(const OhlcPlanRequest& q, TimePoint from, TimePoint to, OhlcPlan& plan) {
  const TimePoint now = q.now;
  const TimePoint reach = now - kPublicReach;
  if (from < reach) {
    plan.clamped = Range{from, std::min(to, reach - kMs)};
    from = reach;
    if (to < from) return;
  }
  const std::int64_t wanted =
      q.days ? *q.days : ceil_div((now - from).count(), milliseconds{Days{1}}.count());
  const int days = ohlc_days_for(std::max<std::int64_t>(wanted, 1)).value_or(365);
  const Candle candle = candle_for_days(days);
  // With --days, the candles opening in the last N days are kept (all of the answer when
  // N is in the enum): one candle of slack at the start absorbs the skew between our clock
  // and CoinGecko's, whose first candle may open a little before now - N days.
  const Range core{q.days ? from - size_of(candle) : from, to};
  const auto pieces = not_done(q, candle, core);
  if (pieces.empty()) {
    ++plan.skipped_done;
    return;
  }
  // /ohlc cannot ask for a part: the whole chunk is fetched again.
  const Range request{now - Days{days}, now};
  plan.chunks.push_back(OhlcChunk{candle, core, days, request,
                                  (request.to - request.from) / size_of(candle),
                                  !is_final(core, now)});
}

// Pro: /ohlc/range chunks over what is not done, in day-aligned windows.
void plan_pro_ohlc(const OhlcPlanRequest& q, TimePoint from, TimePoint to, OhlcPlan& plan) {
  const TimePoint now = q.now;
  const bool hourly = to - from <= kOhlcHourlyWindow;
  const Candle candle = hourly ? Candle::hourly : Candle::daily;
  const Days window = hourly ? kOhlcHourlyWindow : kOhlcDailyWindow;
  const Range zone{from, to};
  const auto pieces = not_done(q, candle, zone);
  if (pieces.size() != 1 || !(pieces.front() == zone)) ++plan.skipped_done;
  for (const Range& piece : pieces) {
    TimePoint a = piece.from;
    while (a <= piece.to) {
      // Day-aligned windows: [a, end) with end at most `window` after a's day.
      const TimePoint end = std::min(piece.to + kMs, floor_day(a) + window);
      const Range core{a, end - kMs};
      const Range request{a, std::min(end, now)};
      plan.chunks.push_back(
          OhlcChunk{candle, core, 0, request,
                    ceil_div((request.to - request.from).count(), size_of(candle).count()),
                    !is_final(core, now)});
      a = end;
    }
  }
}

} // namespace

OhlcPlan plan_ohlc(const OhlcPlanRequest& q) {
  OhlcPlan plan;
  const TimePoint now = q.now;
  Range range = q.range;
  // --days N: pro windows are day-aligned (they line up with the done ones of other runs);
  // public/demo asks CoinGecko for "the last N days", which is relative to now.
  if (q.days) range = {q.pro ? floor_day(now) - Days{*q.days} : now - Days{*q.days}, now};
  const TimePoint from = range.from;
  const TimePoint to = std::min(range.to, now);
  if (to < from) return plan;
  if (q.pro) plan_pro_ohlc(q, from, to, plan);
  else plan_public_ohlc(q, from, to, plan);
  return plan;
}

tl::expected<std::vector<OhlcCandle>, std::string> parse_ohlc(std::string_view body) {
  OhlcHandler handler;
  if (auto ok = detail::run_sax(body, handler, "OHLC candles"); !ok)
    return tl::make_unexpected(ok.error());
  return std::move(handler.candles);
}

CandleSelection select_candles(std::vector<OhlcCandle> candles, const OhlcChunk& chunk) {
  CandleSelection s;
  std::stable_sort(candles.begin(), candles.end(),
                   [](const OhlcCandle& a, const OhlcCandle& b) { return a.ts_ms < b.ts_ms; });
  const std::int64_t size = size_of(chunk.candle).count();
  const std::int64_t from = chunk.core.from.time_since_epoch().count();
  const std::int64_t to = chunk.core.to.time_since_epoch().count();
  for (auto& c : candles) {
    const std::int64_t opens = c.ts_ms - size;
    if (opens < from || opens > to) {
      ++s.outside;
    } else if (!s.kept.empty() && s.kept.back().ts_ms == c.ts_ms) {
      ++s.duplicates;
    } else {
      if (c.ts_ms % size != 0) ++s.off_grid;
      s.kept.push_back(std::move(c));
    }
  }
  return s;
}

} // namespace etl::history
