// One backfill chunk after its GET: parsed, its points or candles selected, stored with its
// backfill_chunks row, and counted.
#include "history/backfill_runner.hpp"

#include "history/market_chart.hpp"

#include <algorithm>

#include <spdlog/spdlog.h>

namespace etl::history::backfill_detail {

// nullopt: stored (or the run must stop: see m_sum); else why the coin cannot be fetched.
std::optional<std::string> Runner::fetch_and_store(const std::string& coin, const std::string& vs,
                                                   const Chunk& c) {
  const std::string url = m_o.api_base + "/coins/" + coingecko::url_encode(coin) +
                          "/market_chart/range?vs_currency=" + coingecko::url_encode(vs) +
                          "&from=" + std::to_string(epoch_seconds_floor(c.request.from)) +
                          "&to=" + std::to_string(epoch_seconds_ceil(c.request.to));
  const std::string what = coin + "/" + vs + " " + std::string(to_string(c.granularity));
  std::optional<std::string> failed_coin;
  auto got = fetch(
      url, what, record_of(coin, vs, c),
      [&](TimePoint at, long status) { return raw_path(coin, vs, c, at, status); }, failed_coin);
  if (!got) return failed_coin;
  const TimePoint at = got->at;
  const std::string& raw = got->raw;

  auto parsed = parse_market_chart(got->body);
  if (!parsed) {
    log_warning(fmt::format("backfill {}: {}", what, parsed.error()));
    record_failure(record_of(coin, vs, c), 200, parsed.error(), raw, true);
    return std::nullopt;
  }
  const Selection sel = select_points(std::move(*parsed), c.granularity, c.core);
  if (count_is_suspicious(static_cast<std::int64_t>(sel.kept.size()), c.expected_points)) {
    log_warning(fmt::format(
        "backfill {}: {} point(s) kept where about {} were expected ({} outside the chunk, {} "
        "off the daily grid, {} duplicate stamps); stored anyway",
        what, sel.kept.size(), c.expected_points, sel.outside, sel.off_grid, sel.duplicates));
  }
  // Still open (or not yet published) days are provisional: their rows are replaced when the
  // chunk is fetched again, so stale "now" points do not stay behind.
  const bool final_now = is_final(c.core, at);
  db::ChunkRecord r = record_of(coin, vs, c);
  r.status = final_now ? "done" : "provisional";
  r.points = static_cast<std::int64_t>(sel.kept.size());
  r.http_status = 200;
  r.raw_file = raw;
  r.requested = true;
  std::optional<TimePoint> replace_from;
  if (!final_now) replace_from = std::max(c.core.from, floor_day(at) - Days{1});
  const auto stored = m_store.store_chunk(r, sel.kept, replace_from);
  if (!stored) {
    fatal("cannot store " + what + ": " + stored.error().message);
    return std::nullopt;
  }
  m_sum.rows_inserted += stored->inserted - stored->replaced;
  m_sum.rows_updated += stored->updated;
  ++(final_now ? m_sum.done : m_sum.provisional);
  spdlog::debug("backfill {}: {} point(s) stored ({}), {} new, {} changed", what, sel.kept.size(),
                r.status, stored->inserted - stored->replaced, stored->updated);
  return std::nullopt;
}

std::optional<std::string> Runner::fetch_and_store(const std::string& coin, const std::string& vs,
                                                   const OhlcChunk& c) {
  std::string url = m_o.api_base + "/coins/" + coingecko::url_encode(coin);
  if (c.days > 0) {
    url += "/ohlc?vs_currency=" + coingecko::url_encode(vs) + "&days=" + std::to_string(c.days);
  } else {
    url += "/ohlc/range?vs_currency=" + coingecko::url_encode(vs) +
           "&from=" + std::to_string(epoch_seconds_floor(c.request.from)) +
           "&to=" + std::to_string(epoch_seconds_ceil(c.request.to)) +
           "&interval=" + std::string(c.candle == Candle::hourly ? "hourly" : "daily");
  }
  const std::string what = coin + "/" + vs + " ohlc " + std::string(to_string(c.candle));
  std::optional<std::string> failed_coin;
  auto got = fetch(
      url, what, record_of(coin, vs, c),
      [&](TimePoint at, long status) { return raw_path(coin, vs, c, at, status); }, failed_coin);
  if (!got) return failed_coin;

  auto parsed = parse_ohlc(got->body);
  if (!parsed) {
    log_warning(fmt::format("backfill {}: {}", what, parsed.error()));
    record_failure(record_of(coin, vs, c), 200, parsed.error(), got->raw, true);
    return std::nullopt;
  }
  const CandleSelection sel = select_candles(std::move(*parsed), c);
  if (count_is_suspicious(static_cast<std::int64_t>(sel.kept.size()), c.expected_candles)) {
    log_warning(fmt::format(
        "backfill {}: {} candle(s) kept where about {} were expected ({} outside the chunk, "
        "{} repeated stamps); stored anyway",
        what, sel.kept.size(), c.expected_candles, sel.outside, sel.duplicates));
  }
  // A chunk reaching the open day holds the still-open candle (stamped in the future): it is
  // provisional, and the next run fetches it again and updates the candles that changed.
  const bool final_now = is_final(c.core, got->at);
  db::ChunkRecord r = record_of(coin, vs, c);
  r.status = final_now ? "done" : "provisional";
  r.points = static_cast<std::int64_t>(sel.kept.size());
  r.http_status = 200;
  r.raw_file = got->raw;
  r.requested = true;
  const auto stored = m_store.store_ohlc_chunk(r, c.candle, sel.kept);
  if (!stored) {
    fatal("cannot store " + what + ": " + stored.error().message);
    return std::nullopt;
  }
  if (stored->other_size > 0) {
    log_warning(fmt::format(
        "backfill {}: {} candle(s) not written: coin_ohlc has a candle of another size at "
        "their close time (see coin_ohlc.candle)",
        what, stored->other_size));
  }
  m_sum.candles_inserted += stored->inserted;
  m_sum.candles_updated += stored->updated;
  m_sum.candles_other_size += stored->other_size;
  ++(final_now ? m_sum.done : m_sum.provisional);
  spdlog::debug("backfill {}: {} candle(s) stored ({}), {} new, {} changed", what, sel.kept.size(),
                r.status, stored->inserted, stored->updated);
  return std::nullopt;
}

} // namespace etl::history::backfill_detail
