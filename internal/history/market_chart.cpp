#include "history/market_chart.hpp"

#include "history/sax.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <map>

#include <rapidjson/document.h>

namespace etl::history {
namespace {

constexpr std::array<std::string_view, 3> kSeries = {"prices", "market_caps", "total_volumes"};

// SAX: top object -> series arrays -> [ms, value] pairs. Unknown keys are skipped whole.
class ChartHandler {
public:
  std::array<std::vector<std::pair<std::int64_t, std::optional<std::string>>>, 3> series;
  std::array<bool, 3> seen{};
  std::string error;

  bool Null() { return value(std::nullopt, true); }
  bool Bool(bool) { return value(std::nullopt, false); }
  bool Int(int) { return value(std::nullopt, false); }
  bool Uint(unsigned) { return value(std::nullopt, false); }
  bool Int64(std::int64_t) { return value(std::nullopt, false); }
  bool Uint64(std::uint64_t) { return value(std::nullopt, false); }
  bool Double(double) { return value(std::nullopt, false); }
  bool RawNumber(const char* s, rapidjson::SizeType n, bool) {
    return value(std::string(s, n), true, true);
  }
  bool String(const char*, rapidjson::SizeType, bool) { return value(std::nullopt, false); }
  bool StartObject() {
    if (m_skip == 0 && m_state == State::top_value && m_current >= 0)
      return fail(std::string(kSeries[static_cast<std::size_t>(m_current)]) + " is not an array");
    if (m_skip > 0 || m_state == State::top_value) return skip_open();
    if (m_state != State::start) return fail("unexpected object");
    m_state = State::top_key;
    return true;
  }
  bool EndObject(rapidjson::SizeType) {
    if (m_skip > 0) return skip_close();
    m_state = State::done;
    return true;
  }
  bool Key(const char* s, rapidjson::SizeType n, bool) {
    if (m_skip > 0) return true;
    const std::string_view key(s, n);
    m_current = -1;
    for (std::size_t i = 0; i < kSeries.size(); ++i) {
      if (kSeries[i] == key) m_current = static_cast<int>(i);
    }
    if (m_current >= 0) {
      if (seen[static_cast<std::size_t>(m_current)])
        return fail("duplicate key " + std::string(key));
      seen[static_cast<std::size_t>(m_current)] = true;
    }
    m_state = State::top_value;
    return true;
  }
  bool StartArray() {
    if (m_skip > 0) return skip_open();
    if (m_state == State::top_value) {
      if (m_current < 0) return skip_open();
      m_state = State::series;
      return true;
    }
    if (m_state == State::series) {
      m_state = State::point;
      m_index = 0;
      return true;
    }
    return fail("unexpected array");
  }
  bool EndArray(rapidjson::SizeType) {
    if (m_skip > 0) return skip_close();
    if (m_state == State::point) {
      if (m_index != 2)
        return fail(std::string(kSeries[static_cast<std::size_t>(m_current)]) +
                    ": a point is not [ms, value]");
      series[static_cast<std::size_t>(m_current)].emplace_back(m_ts, std::move(m_value));
      m_value.reset();
      m_state = State::series;
      return true;
    }
    m_state = State::top_key; // end of a series
    return true;
  }

private:
  enum class State { start, top_key, top_value, series, point, done };

  bool fail(std::string message) {
    if (error.empty()) error = std::move(message);
    return false;
  }
  bool skip_open() {
    ++m_skip;
    return true;
  }
  bool skip_close() {
    if (--m_skip == 0) m_state = State::top_key;
    return true;
  }
  bool value(std::optional<std::string> text, bool allowed, bool number = false) {
    if (m_skip > 0) return true;
    if (m_state == State::top_value) { // a scalar value of an unknown (or known) key
      if (m_current >= 0)
        return fail(std::string(kSeries[static_cast<std::size_t>(m_current)]) + " is not an array");
      m_state = State::top_key;
      return true;
    }
    if (m_state != State::point) return fail("unexpected value");
    const std::string_view name = kSeries[static_cast<std::size_t>(m_current)];
    if (m_index == 0) {
      // Milliseconds since the epoch, a plain non-negative integer.
      const std::string_view t = text ? std::string_view(*text) : std::string_view();
      std::int64_t ts = 0;
      const auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), ts);
      if (!number || t.empty() || ec != std::errc() || end != t.data() + t.size() || ts < 0)
        return fail(std::string(name) + ": a timestamp is not whole milliseconds");
      m_ts = ts;
    } else if (m_index == 1) {
      if (!allowed) return fail(std::string(name) + ": a value is neither a number nor null");
      m_value = std::move(text);
    } else {
      return fail(std::string(name) + ": a point has more than two elements");
    }
    ++m_index;
    return true;
  }

  State m_state = State::start;
  int m_current = -1;
  int m_skip = 0;
  int m_index = 0;
  std::int64_t m_ts = 0;
  std::optional<std::string> m_value;
};

} // namespace

tl::expected<std::vector<ChartPoint>, std::string> parse_market_chart(std::string_view body) {
  ChartHandler handler;
  if (auto ok = detail::run_sax(body, handler, "a market chart"); !ok)
    return tl::make_unexpected(ok.error());
  for (std::size_t i = 0; i < kSeries.size(); ++i) {
    if (!handler.seen[i])
      return tl::make_unexpected("not a market chart: no \"" + std::string(kSeries[i]) +
                                 "\" array");
  }
  std::map<std::int64_t, ChartPoint> merged;
  const std::array<std::optional<std::string> ChartPoint::*, 3> fields = {
      &ChartPoint::price, &ChartPoint::market_cap, &ChartPoint::total_volume};
  for (std::size_t i = 0; i < kSeries.size(); ++i) {
    std::map<std::int64_t, bool> seen_here;
    for (auto& [ts, value] : handler.series[i]) {
      if (!seen_here.emplace(ts, true).second) continue; // first value of a repeated stamp
      ChartPoint& p = merged[ts];
      p.ts_ms = ts;
      p.*fields[i] = std::move(value);
    }
  }
  std::vector<ChartPoint> out;
  out.reserve(merged.size());
  for (auto& [ts, p] : merged) out.push_back(std::move(p));
  return out;
}

Selection select_points(std::vector<ChartPoint> merged, Granularity granularity,
                        const Range& core) {
  Selection s;
  std::sort(merged.begin(), merged.end(),
            [](const ChartPoint& a, const ChartPoint& b) { return a.ts_ms < b.ts_ms; });
  const auto from = core.from.time_since_epoch().count();
  const auto to = core.to.time_since_epoch().count();
  constexpr std::int64_t kDayMs = 86'400'000;
  std::optional<std::int64_t> last_kept;
  for (auto& p : merged) {
    if (p.ts_ms < from || p.ts_ms > to) {
      ++s.outside;
    } else if (granularity == Granularity::daily) {
      if (p.ts_ms % kDayMs != 0) ++s.off_grid;
      else s.kept.push_back(std::move(p));
    } else if (last_kept && p.ts_ms - *last_kept < 1000) {
      ++s.duplicates;
    } else {
      last_kept = p.ts_ms;
      s.kept.push_back(std::move(p));
    }
  }
  return s;
}

std::optional<ApiError> parse_api_error(std::string_view body) {
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseIterativeFlag | rapidjson::kParseValidateEncodingFlag>(body.data(),
                                                                                    body.size());
  if (doc.HasParseError() || !doc.IsObject()) return std::nullopt;
  const auto status_of = [](const rapidjson::Value& v) -> std::optional<ApiError> {
    if (!v.IsObject()) return std::nullopt;
    ApiError e;
    if (const auto c = v.FindMember("error_code"); c != v.MemberEnd() && c->value.IsInt64())
      e.code = c->value.GetInt64();
    if (const auto m = v.FindMember("error_message"); m != v.MemberEnd() && m->value.IsString())
      e.message = std::string(m->value.GetString(), m->value.GetStringLength());
    if (!e.code && e.message.empty()) return std::nullopt;
    return e;
  };
  const rapidjson::Value* status = nullptr;
  if (const auto s = doc.FindMember("status"); s != doc.MemberEnd()) status = &s->value;
  if (const auto err = doc.FindMember("error"); err != doc.MemberEnd()) {
    if (err->value.IsString())
      return ApiError{std::nullopt,
                      std::string(err->value.GetString(), err->value.GetStringLength())};
    if (err->value.IsObject()) {
      if (const auto s = err->value.FindMember("status"); s != err->value.MemberEnd())
        status = &s->value;
    }
  }
  if (status != nullptr) return status_of(*status);
  return status_of(doc);
}

bool count_is_suspicious(std::int64_t kept, std::int64_t expected) noexcept {
  if (expected <= 0) return kept > 1;
  return kept * 2 < expected || kept > expected * 2;
}

} // namespace etl::history
