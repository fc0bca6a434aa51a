#include "history/background_filler.hpp"

#include <algorithm>

#include <spdlog/spdlog.h>

namespace etl::history {
namespace {

using SteadyClock = std::chrono::steady_clock;
constexpr std::chrono::milliseconds kRetryAfterError{30'000};

std::int64_t utc_day_now() {
  return std::chrono::floor<std::chrono::days>(std::chrono::system_clock::now())
      .time_since_epoch()
      .count();
}

coingecko::CallerOptions one_attempt(coingecko::CallerOptions caller) {
  // A failed chunk is retried by the next pass, not by spending more of a tick's leftover.
  caller.max_attempts = 1;
  return caller;
}

} // namespace

BackgroundFiller::BackgroundFiller(FillerOptions options, coingecko::CallerOptions caller,
                                   http::HttpTransport& transport, std::string conninfo,
                                   telemetry::HistoryMetrics* metrics)
    : m_options(std::move(options)), m_api(one_attempt(std::move(caller)), transport, m_stop),
      m_store(std::move(conninfo), "coingecko-etl history fill"), m_metrics(metrics),
      m_credits(
          daily_history_allowance(m_options.monthly_credits, m_options.poller_calls_per_month)) {
  m_options.backfill.quiet = true;
  m_options.backfill.before_call = [this] { return permit(); };
  m_options.backfill.on_progress = [this](const BackfillSummary& s) { on_progress(s); };
}

BackgroundFiller::~BackgroundFiller() { stop(); }

void BackgroundFiller::start() {
  if (m_thread.joinable()) return;
  const auto allowance = m_credits.allowance();
  const auto& b = m_options.backfill;
  spdlog::info(
      "history fill: {} {} x {} currency(ies), {} day(s), in the calls each tick's sweep leaves "
      "free{}",
      b.top ? "top" : "coins", b.top ? *b.top : static_cast<int>(b.coins.size()),
      b.vs_currencies.size(), b.days,
      allowance ? fmt::format(", at most {} per UTC day (the monthly credits' share)", *allowance)
                : std::string());
  m_thread = std::thread([this] { loop(); });
}

void BackgroundFiller::offer(std::int64_t calls, SteadyTime until) {
  {
    const std::lock_guard lock(m_mutex);
    m_quota = calls;
    m_until = until;
  }
  m_cv.notify_all();
}

void BackgroundFiller::stop() {
  {
    const std::lock_guard lock(m_mutex);
    m_stopping = true;
  }
  m_cv.notify_all();
  m_stop.request_stop();
  if (m_thread.joinable()) m_thread.join();
}

std::optional<BackgroundFiller::SteadyTime> BackgroundFiller::permit() {
  std::unique_lock lock(m_mutex);
  for (;;) {
    if (m_stopping) return std::nullopt;
    if (m_quota > 0 && SteadyClock::now() < m_until) {
      const std::int64_t day = utc_day_now();
      if (m_credits.try_spend(day)) {
        --m_quota;
        if (m_metrics) m_metrics->throttled.Set(0);
        return m_until;
      }
      m_quota = 0; // today's credits are spent: wait for later offers (a new UTC day)
      if (m_metrics) m_metrics->throttled.Set(1);
      if (m_throttled_day != day) {
        m_throttled_day = day;
        spdlog::warn("history fill throttled: {} call(s) today reach the {} per UTC day the "
                     "monthly credits leave "
                     "free (COINGECKO_MONTHLY_CREDITS {} / 30 - the poller's {:.0f} per day); it "
                     "resumes tomorrow",
                     m_credits.spent_today(), m_credits.allowance().value_or(0),
                     m_options.monthly_credits.value_or(0),
                     m_options.poller_calls_per_month / 30.0);
      }
    }
    // offer() and stop() notify; the timeout only bounds a missed wake-up.
    m_cv.wait_for(lock, std::chrono::seconds(1));
  }
}

void BackgroundFiller::on_progress(const BackfillSummary& now) {
  if (m_metrics) {
    const auto add = [&](std::string_view result, std::int64_t was, std::int64_t is) {
      if (is > was) m_metrics->chunks(result).Increment(static_cast<double>(is - was));
    };
    add("stored", m_last.done, now.done);
    add("provisional", m_last.provisional, now.provisional);
    add("failed", m_last.failed, now.failed);
    add("skipped", m_last.skipped_done, now.skipped_done);
    add("clamped", m_last.clamped, now.clamped);
    if (now.calls > m_last.calls)
      m_metrics->calls.Increment(static_cast<double>(now.calls - m_last.calls));
    m_metrics->chunks_remaining.Set(static_cast<double>(
        std::max<std::int64_t>(0, now.planned - now.done - now.provisional - now.failed)));
  }
  const bool stored = now.done + now.provisional > m_last.done + m_last.provisional;
  m_last = now;
  if (stored) refresh_coverage(false);
}

void BackgroundFiller::refresh_coverage(bool force) {
  if (!m_metrics) return;
  const auto t = SteadyClock::now();
  if (!force && t - m_coverage_at < m_options.coverage_interval) return;
  m_coverage_at = t;
  if (const auto rows = m_store.coverage()) {
    for (const auto& r : *rows)
      m_metrics->set_coverage(r.vs_currency, r.granularity, r.oldest_seconds, r.newest_seconds);
  } else {
    spdlog::warn("history fill: {}", rows.error().message);
    return;
  }
  const auto& o = m_options.backfill;
  std::vector<std::string> coins = o.coins;
  if (o.top) {
    if (auto top = m_store.top_coins(*o.top)) coins = std::move(*top);
  }
  const auto now =
      std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now());
  const auto today = floor_day(now);
  // The plan's reach bounds what can ever be filled: older days are clamped, not gaps.
  const int days = o.limited_reach ? std::min(o.days, 364) : o.days;
  // Hours: the hourly part of the plan (kHourlyDays and today), up to the last completed hour
  // before the newest fetch could have seen it (CoinGecko's hourly point lands a few minutes in).
  const TimePoint hourly_from = today - std::min(Days{days}, kHourlyDays);
  const TimePoint last_hour = std::chrono::floor<std::chrono::hours>(now) - std::chrono::hours{1};
  const auto set_gaps = [&](std::string_view slot, TimePoint from, TimePoint to,
                            std::chrono::hours len) {
    if (const auto gaps = m_store.missing_slots(coins, o.vs_currencies, from, to, len))
      m_metrics->gaps(slot).Set(static_cast<double>(*gaps));
    else spdlog::warn("history fill: {}", gaps.error().message);
  };
  set_gaps("day", today - Days{days}, today, std::chrono::hours{24});
  set_gaps("hour", hourly_from, last_hour, std::chrono::hours{1});
}

void BackgroundFiller::loop() {
  while (!m_stop.stop_requested()) {
    m_last = BackfillSummary{};
    const BackfillSummary sum = run_backfill(m_options.backfill, m_api, m_store, m_stop);
    if (m_stop.stop_requested()) break;
    refresh_coverage(true);
    if (sum.calls > 0 || sum.failed > 0 || sum.fatal) {
      spdlog::info("history fill pass: {} chunk(s) planned: {} done, {} provisional, {} failed; {} "
                   "call(s); {} row(s) "
                   "added, {} corrected{}",
                   sum.planned, sum.done, sum.provisional, sum.failed, sum.calls, sum.rows_inserted,
                   sum.rows_updated, sum.fatal ? "; stopped on an error, retried next pass" : "");
      for (const auto& p : sum.problems) spdlog::warn("history fill: {}", p);
    }
    // A database that is down (or not migrated yet) is tried again sooner than a finished pass.
    m_stop.wait_for(
        sum.fatal ? std::min<std::chrono::milliseconds>(m_options.replan_interval, kRetryAfterError)
                  : m_options.replan_interval);
  }
}

} // namespace etl::history
