#include "history/backfill.hpp"

#include "core/iso_time.hpp"

#include "history/backfill_runner.hpp"
#include "history/fill_quota.hpp"
#include "history/progress.hpp"

#include <map>
#include <tuple>

#include <spdlog/spdlog.h>

namespace etl::history {
namespace backfill_detail {

using std::chrono::milliseconds;

TimePoint wall_now() {
  return std::chrono::time_point_cast<milliseconds>(std::chrono::system_clock::now());
}

std::int64_t epoch_seconds_floor(TimePoint t) {
  const auto ms = t.time_since_epoch().count();
  return ms >= 0 ? ms / 1000 : (ms - 999) / 1000;
}
std::int64_t epoch_seconds_ceil(TimePoint t) {
  return -epoch_seconds_floor(TimePoint{milliseconds{-t.time_since_epoch().count()}});
}

BackfillSummary Runner::run() {
  const auto coins = resolve_coins();
  if (!coins) return m_sum;
  if (m_o.coins_list) {
    load_coins_list();
    if (m_sum.fatal || m_sum.interrupted) return m_sum;
  }
  // Plan everything first, so progress has a total.
  const auto work = plan_work(*coins);
  if (!work) return m_sum;
  m_sum.planned = static_cast<std::int64_t>(work->size());
  report();
  announce(coins->size(), work->size());
  execute(*work);
  report();
  if (!m_o.quiet) progress(true);
  return m_sum;
}

void Runner::announce(std::size_t coins, std::size_t chunks) {
  if (!m_o.quiet || chunks > 0)
    spdlog::info(
        "backfill: {} coin(s) x {} currency(ies): {} chunk(s) to fetch, {} part(s) already done{}",
        coins, m_o.vs_currencies.size(), chunks, m_sum.skipped_done,
        m_sum.clamped > 0 ? ", " + std::to_string(m_sum.clamped) + " range(s) clamped to 365 days"
                          : "");
  if (!m_o.quiet)
    spdlog::info("backfill: {}",
                 credit_share_line(m_sum.planned, m_o.monthly_credits, m_o.poller_calls_per_month));
}

void Runner::execute(const std::vector<Work>& work) {
  std::map<std::pair<std::string, std::string>, std::string> coin_failed; // (coin, vs) -> reason
  for (const Work& w : work) {
    if (m_stop.stop_requested()) {
      m_sum.interrupted = true;
      break;
    }
    if (const auto f = coin_failed.find({w.coin, w.vs}); f != coin_failed.end()) {
      record_failure(std::visit([&](const auto& c) { return record_of(w.coin, w.vs, c); }, w.chunk),
                     std::nullopt, "not requested: an earlier chunk failed (" + f->second + ")");
      continue;
    }
    const auto outcome =
        std::visit([&](const auto& c) { return fetch_and_store(w.coin, w.vs, c); }, w.chunk);
    if (m_sum.fatal || m_sum.interrupted) break;
    if (outcome) coin_failed.emplace(std::pair{w.coin, w.vs}, *outcome);
    report();
    progress(false);
  }
}

} // namespace backfill_detail

std::string compact_utc(TimePoint t) {
  return core::format_iso8601_basic(std::chrono::system_clock::time_point(t.time_since_epoch()));
}

BackfillSummary run_backfill(const BackfillOptions& options, coingecko::ApiCaller& api,
                             db::HistoryStore& store, StopSignal& stop) {
  return backfill_detail::Runner(options, api, store, stop).run();
}

} // namespace etl::history
