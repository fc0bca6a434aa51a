// The backfill's plan: every chunk of every coin and currency before the first request (so
// progress has a total), with the ranges beyond the plan's reach recorded as clamped.
#include "history/backfill_runner.hpp"

#include <spdlog/spdlog.h>

namespace etl::history::backfill_detail {

using std::chrono::milliseconds;

namespace {

constexpr const char* kClampedError =
    "beyond the public/demo plans' 365-day reach (CoinGecko error 10012): never requested";

} // namespace

// nullopt: the run must stop (see m_sum).
std::optional<std::vector<Runner::Work>> Runner::plan_work(const std::vector<std::string>& coins) {
  auto done = m_store.done_chunks(db::kMarketChartRange);
  if (!done) {
    fatal("cannot read backfill_chunks: " + done.error().message);
    return std::nullopt;
  }
  std::vector<db::DoneChunk> done_ohlc;
  if (m_o.ohlc) {
    auto d = m_store.done_chunks(db::kOhlc);
    if (!d) {
      fatal("cannot read backfill_chunks: " + d.error().message);
      return std::nullopt;
    }
    done_ohlc = std::move(*d);
  }
  const TimePoint now = wall_now();
  std::vector<Work> work;
  for (const auto& coin : coins) {
    for (const auto& vs : m_o.vs_currencies) {
      if (!plan_market_chart_for(coin, vs, now, *done, work)) return std::nullopt;
      if (m_o.ohlc) {
        const auto ohlc = plan_ohlc_for(coin, vs, now, done_ohlc);
        if (!ohlc) return std::nullopt;
        for (const auto& c : ohlc->chunks) work.push_back({coin, vs, c});
      }
    }
  }
  return work;
}

// The /market_chart/range chunks of one coin and currency onto `work` (false: the run must
// stop, see m_sum).
bool Runner::plan_market_chart_for(const std::string& coin, const std::string& vs, TimePoint now,
                                   const std::vector<db::DoneChunk>& done,
                                   std::vector<Work>& work) {
  PlanRequest req;
  req.now = now;
  req.limited_reach = m_o.limited_reach;
  if (m_o.from) {
    req.range.from = TimePoint{*m_o.from};
    req.range.to = m_o.to ? TimePoint{*m_o.to + Days{1}} - milliseconds{1} : now;
  } else {
    req.range = {floor_day(now) - Days{m_o.days}, now};
  }
  for (const auto& d : done) {
    if (d.coin_id != coin || d.vs_currency != vs) continue;
    const auto g = granularity_from_string(d.granularity);
    if (!g) continue;
    (*g == Granularity::daily    ? req.done_daily
     : *g == Granularity::hourly ? req.done_hourly
                                 : req.done_five_minute)
        .push_back(d.chunk);
  }
  const Plan plan = plan_chunks(req);
  m_sum.skipped_done += plan.skipped_done;
  if (plan.clamped) {
    ++m_sum.clamped;
    spdlog::warn(
        "backfill {}/{}: {} to {} is beyond the {} plan's 365-day reach: not requested (recorded "
        "as clamped)",
        coin, vs, compact_utc(plan.clamped->from), compact_utc(plan.clamped->to),
        m_o.limited_reach ? "public/demo" : "");
    db::ChunkRecord r;
    r.coin_id = coin;
    r.vs_currency = vs;
    if (!record_clamp(std::move(r), *plan.clamped)) return false;
  }
  for (const auto& c : plan.chunks) work.push_back({coin, vs, c});
  return true;
}

// The OHLC plan of one coin and currency (nullopt: the run must stop, see m_sum).
std::optional<OhlcPlan> Runner::plan_ohlc_for(const std::string& coin, const std::string& vs,
                                              TimePoint now,
                                              const std::vector<db::DoneChunk>& done) {
  OhlcPlanRequest req;
  req.now = now;
  req.pro = !m_o.limited_reach;
  if (m_o.from) {
    req.range.from = TimePoint{*m_o.from};
    req.range.to = m_o.to ? TimePoint{*m_o.to + Days{1}} - milliseconds{1} : now;
  } else {
    req.days = m_o.days;
  }
  for (const auto& d : done) {
    if (d.coin_id != coin || d.vs_currency != vs) continue;
    if (const auto c = candle_from_string(d.granularity)) req.done.push_back({*c, d.chunk});
  }
  OhlcPlan plan = plan_ohlc(req);
  m_sum.skipped_done += plan.skipped_done;
  if (plan.clamped) {
    ++m_sum.clamped;
    spdlog::warn(
        "backfill {}/{} ohlc: {} to {} is beyond the public/demo plans' 365-day reach: not requested "
        "(recorded as clamped)",
        coin, vs, compact_utc(plan.clamped->from), compact_utc(plan.clamped->to));
    db::ChunkRecord r;
    r.coin_id = coin;
    r.vs_currency = vs;
    r.endpoint = std::string(db::kOhlc);
    r.granularity = std::string(to_string(Candle::four_days)); // what days=365 serves
    if (!record_clamp(std::move(r), *plan.clamped)) return std::nullopt;
  }
  return plan;
}

// A range beyond the plan's reach, recorded as clamped: `r` names the coin, currency, endpoint
// and granularity (false: the run must stop, see m_sum).
bool Runner::record_clamp(db::ChunkRecord r, const Range& range) {
  r.chunk = range;
  r.status = "clamped";
  r.error = kClampedError;
  if (auto ok = m_store.record_chunk(r); !ok) {
    fatal("cannot record a clamp: " + ok.error().message);
    return false;
  }
  return true;
}

} // namespace etl::history::backfill_detail
