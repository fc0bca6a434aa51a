#include "history/backfill.hpp"

#include "core/iso_time.hpp"

#include "history/coins_list.hpp"
#include "history/fill_quota.hpp"
#include "history/market_chart.hpp"
#include "history/ohlc.hpp"
#include "history/progress.hpp"
#include "market/parse_markets.hpp"
#include "spool/atomic_file.hpp"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <functional>
#include <map>
#include <tuple>
#include <variant>

#include <spdlog/spdlog.h>

namespace etl::history {
namespace {

using SteadyClock = std::chrono::steady_clock;
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

std::string describe_failure(const coingecko::FetchError& e) {
  std::string text = std::string(coingecko::to_string(e.failure));
  if (e.status != 0) text += " HTTP " + std::to_string(e.status);
  if (const auto api = parse_api_error(e.body)) {
    if (api->code) text += " error_code " + std::to_string(*api->code);
    if (!api->message.empty()) text += ": " + api->message.substr(0, 200);
  } else if (!e.message.empty()) {
    text += ": " + e.message;
  }
  return text;
}

// A coin CoinGecko does not know, or a range the plan may not ask: the coin's other chunks
// would fail the same way, so they are recorded failed without a request.
bool fails_whole_coin(const coingecko::FetchError& e) {
  return e.status == 404 || e.status == 401 || e.status == 403;
}

class Runner {
public:
  Runner(const BackfillOptions& o, coingecko::ApiCaller& api, db::HistoryStore& store,
         StopSignal& stop)
      : m_o(o), m_api(api), m_store(store), m_stop(stop), m_started(SteadyClock::now()),
        m_last_progress(m_started) {}

  BackfillSummary run() {
    const auto coins = resolve_coins();
    if (!coins) return m_sum;
    if (m_o.coins_list) {
      load_coins_list();
      if (m_sum.fatal || m_sum.interrupted) return m_sum;
    }
    auto done = m_store.done_chunks(db::kMarketChartRange);
    if (!done) return fatal("cannot read backfill_chunks: " + done.error().message);
    std::vector<db::DoneChunk> done_ohlc;
    if (m_o.ohlc) {
      auto d = m_store.done_chunks(db::kOhlc);
      if (!d) return fatal("cannot read backfill_chunks: " + d.error().message);
      done_ohlc = std::move(*d);
    }

    // Plan everything first, so progress has a total.
    const TimePoint now = wall_now();
    struct Work {
      std::string coin, vs;
      std::variant<Chunk, OhlcChunk> chunk;
    };
    std::vector<Work> work;
    for (const auto& coin : *coins) {
      for (const auto& vs : m_o.vs_currencies) {
        PlanRequest req;
        req.now = now;
        req.limited_reach = m_o.limited_reach;
        if (m_o.from) {
          req.range.from = TimePoint{*m_o.from};
          req.range.to = m_o.to ? TimePoint{*m_o.to + Days{1}} - milliseconds{1} : now;
        } else {
          req.range = {floor_day(now) - Days{m_o.days}, now};
        }
        for (const auto& d : *done) {
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
          r.chunk = *plan.clamped;
          r.status = "clamped";
          r.error =
              "beyond the public/demo plans' 365-day reach (CoinGecko error 10012): never requested";
          if (auto ok = m_store.record_chunk(r); !ok)
            return fatal("cannot record a clamp: " + ok.error().message);
        }
        for (const auto& c : plan.chunks) work.push_back({coin, vs, c});
        if (m_o.ohlc) {
          const auto ohlc = plan_ohlc_for(coin, vs, now, done_ohlc);
          if (!ohlc) return m_sum;
          for (const auto& c : ohlc->chunks) work.push_back({coin, vs, c});
        }
      }
    }
    m_sum.planned = static_cast<std::int64_t>(work.size());
    report();
    if (!m_o.quiet || !work.empty())
      spdlog::info(
          "backfill: {} coin(s) x {} currency(ies): {} chunk(s) to fetch, {} part(s) already done{}",
          coins->size(), m_o.vs_currencies.size(), work.size(), m_sum.skipped_done,
          m_sum.clamped > 0 ? ", " + std::to_string(m_sum.clamped) + " range(s) clamped to 365 days"
                            : "");
    if (!m_o.quiet)
      spdlog::info("backfill: {}", credit_share_line(m_sum.planned, m_o.monthly_credits,
                                                     m_o.poller_calls_per_month));

    std::map<std::pair<std::string, std::string>, std::string> coin_failed; // (coin, vs) -> reason
    for (const Work& w : work) {
      if (m_stop.stop_requested()) {
        m_sum.interrupted = true;
        break;
      }
      if (const auto f = coin_failed.find({w.coin, w.vs}); f != coin_failed.end()) {
        record_failure(
            std::visit([&](const auto& c) { return record_of(w.coin, w.vs, c); }, w.chunk),
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
    report();
    if (!m_o.quiet) progress(true);
    return m_sum;
  }

private:
  // Every request goes through here: the background fill's permit first (when set), then the
  // shared caller. A permitted call that gave up before any attempt (its tick's deadline came
  // first) asks for the next permit instead of failing the chunk.
  tl::expected<coingecko::FetchedPage, coingecko::FetchError> get(const std::string& url,
                                                                  const std::string& what) {
    for (;;) {
      auto deadline = SteadyClock::now() + m_o.request_deadline;
      if (m_o.before_call) {
        const auto permitted = m_o.before_call();
        if (!permitted)
          return tl::make_unexpected(coingecko::FetchError{
              coingecko::FetchFailure::cancelled, 0, 0, what + ": stopped", {}, {}});
        deadline = *permitted;
      }
      auto got = m_api.get(url, what, deadline);
      m_sum.calls += got ? got->attempts : got.error().attempts;
      const bool no_attempt = !got && got.error().attempts == 0 &&
                              got.error().failure == coingecko::FetchFailure::cancelled;
      if (!m_o.before_call || !no_attempt || m_stop.stop_requested()) return got;
    }
  }
  void report() {
    if (m_o.on_progress) m_o.on_progress(m_sum);
  }

  BackfillSummary fatal(std::string message) {
    end_bar_line();
    spdlog::error("backfill: {}", message);
    m_sum.fatal = true;
    m_sum.problems.push_back(std::move(message));
    return m_sum;
  }

  std::optional<std::vector<std::string>> resolve_coins() {
    if (!m_o.top) return m_o.coins;
    const int n = *m_o.top;
    auto top = m_store.top_coins(n);
    if (!top) {
      fatal("cannot read the top coins from coin_market: " + top.error().message);
      return std::nullopt;
    }
    if (static_cast<int>(top->size()) >= n) {
      spdlog::info(
          "backfill: top {} coins by market_cap_rank of the newest snapshot in coin_market", n);
      return *top;
    }
    // Not enough in the database: one /coins/markets call, ranked by CoinGecko.
    const std::string vs =
        m_o.vs_currencies.empty() ? std::string("usd") : m_o.vs_currencies.front();
    std::string url = m_o.markets_url.substr(0, m_o.markets_url.find_first_of("?#"));
    url += "?vs_currency=" + coingecko::url_encode(vs) +
           "&order=market_cap_desc&per_page=" + std::to_string(n) + "&page=1";
    auto page = get(url, "top " + std::to_string(n) + " coins");
    if (!page) {
      fatal("cannot list the top coins: " + describe_failure(page.error()));
      return std::nullopt;
    }
    spool(m_o.data_dir / "raw" / "history" /
              ("markets_top" + std::to_string(n) + "_" + vs + "_" + compact_utc(wall_now()) +
               ".json"),
          page->body);
    const auto parsed = market::parse_markets(page->body);
    if (!parsed) {
      fatal("the top coins' /coins/markets body is not usable: " + parsed.error().detail);
      return std::nullopt;
    }
    std::vector<const market::CoinMarket*> ranked;
    for (const auto& c : parsed->coins) ranked.push_back(&c);
    std::stable_sort(ranked.begin(), ranked.end(), [](const auto* a, const auto* b) {
      return a->market_cap_rank.value_or(INT64_MAX) < b->market_cap_rank.value_or(INT64_MAX);
    });
    std::vector<std::string> ids;
    for (const auto* c : ranked) {
      if (static_cast<int>(ids.size()) < n) ids.push_back(c->id);
    }
    spdlog::info("backfill: top {} coins from one /coins/markets call ({} in coin_market)",
                 ids.size(), top->size());
    return ids;
  }

  // False (and fatal) when the file cannot be written: nothing is stored that is not on disk.
  bool spool(const std::filesystem::path& path, std::string_view body) {
    std::error_code ec;
    std::filesystem::create_directories(path.parent_path(), ec);
    if (ec) {
      fatal("cannot create " + path.parent_path().string() + ": " + ec.message());
      return false;
    }
    if (auto ok = spool::write_file_atomic(path, body); !ok) {
      fatal("cannot write " + ok.error().message);
      return false;
    }
    return true;
  }

  std::filesystem::path raw_dir(const std::string& coin, const std::string& vs) const {
    return m_o.data_dir / "raw" / "history" / coin / vs;
  }
  static std::string status_suffix(long status) {
    return status != 200 ? "_http" + std::to_string(status) : "";
  }

  std::filesystem::path raw_path(const std::string& coin, const std::string& vs, const Chunk& c,
                                 TimePoint fetched, long status) const {
    return raw_dir(coin, vs) / (std::string(to_string(c.granularity)) + "_" +
                                compact_utc(c.request.from) + "_" + compact_utc(c.request.to) +
                                "_" + compact_utc(fetched) + status_suffix(status) + ".json");
  }
  std::filesystem::path raw_path(const std::string& coin, const std::string& vs, const OhlcChunk& c,
                                 TimePoint fetched, long status) const {
    const std::string span = c.days > 0
                                 ? "days" + std::to_string(c.days)
                                 : compact_utc(c.request.from) + "_" + compact_utc(c.request.to);
    return raw_dir(coin, vs) / ("ohlc_" + std::string(to_string(c.candle)) + "_" + span + "_" +
                                compact_utc(fetched) + status_suffix(status) + ".json");
  }

  db::ChunkRecord record_of(const std::string& coin, const std::string& vs, const Chunk& c) const {
    db::ChunkRecord r;
    r.coin_id = coin;
    r.vs_currency = vs;
    r.granularity = std::string(to_string(c.granularity));
    r.chunk = c.core;
    r.request = c.request;
    r.expected_points = c.expected_points;
    return r;
  }
  db::ChunkRecord record_of(const std::string& coin, const std::string& vs,
                            const OhlcChunk& c) const {
    db::ChunkRecord r;
    r.coin_id = coin;
    r.vs_currency = vs;
    r.endpoint = std::string(db::kOhlc);
    r.granularity = std::string(to_string(c.candle));
    r.chunk = c.core;
    r.request = c.request;
    r.expected_points = c.expected_candles;
    return r;
  }

  void record_failure(db::ChunkRecord r, std::optional<long> status, std::string reason,
                      std::string raw_file = {}, bool requested = false) {
    ++m_sum.failed;
    m_sum.problems.push_back(r.coin_id + "/" + r.vs_currency + " " +
                             (r.endpoint == db::kOhlc ? "ohlc " : "") + r.granularity + " " +
                             compact_utc(r.chunk.from) + ".." + compact_utc(r.chunk.to) + ": " +
                             reason);
    r.status = "failed";
    r.http_status = status;
    r.error = std::move(reason);
    r.raw_file = std::move(raw_file);
    r.requested = requested;
    if (auto ok = m_store.record_chunk(r); !ok)
      fatal("cannot record a failed chunk: " + ok.error().message);
  }

  // The OHLC plan of one coin and currency (nullopt: the run must stop, see m_sum).
  std::optional<OhlcPlan> plan_ohlc_for(const std::string& coin, const std::string& vs,
                                        TimePoint now, const std::vector<db::DoneChunk>& done) {
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
      r.chunk = *plan.clamped;
      r.status = "clamped";
      r.error =
          "beyond the public/demo plans' 365-day reach (CoinGecko error 10012): never requested";
      if (auto ok = m_store.record_chunk(r); !ok) {
        fatal("cannot record a clamp: " + ok.error().message);
        return std::nullopt;
      }
    }
    return plan;
  }

  // One GET, its body spooled (error bodies too). nullopt: failed and recorded (or the run must
  // stop: see m_sum); `failed_coin` then says whether the coin's other chunks would fail alike.
  struct Fetched {
    std::string body;
    std::string raw;
    TimePoint at;
  };
  std::optional<Fetched>
  fetch(const std::string& url, const std::string& what, const db::ChunkRecord& record,
        const std::function<std::filesystem::path(TimePoint, long)>& path_for,
        std::optional<std::string>& failed_coin) {
    auto fetched = get(url, what);
    const TimePoint at = wall_now();
    if (!fetched) {
      const auto& e = fetched.error();
      if (e.failure == coingecko::FetchFailure::cancelled && m_stop.stop_requested()) {
        m_sum.interrupted = true;
        return std::nullopt;
      }
      std::string raw;
      if (e.status != 0) {
        const auto path = path_for(at, e.status);
        if (!spool(path, e.body)) return std::nullopt;
        raw = path.lexically_relative(m_o.data_dir).string();
      }
      const std::string reason = describe_failure(e);
      log_warning(fmt::format("backfill {}: {}", what, reason));
      record_failure(record, e.status != 0 ? std::optional<long>(e.status) : std::nullopt, reason,
                     raw, true);
      if (fails_whole_coin(e)) failed_coin = reason;
      return std::nullopt;
    }
    const auto path = path_for(at, 200);
    if (!spool(path, fetched->body)) return std::nullopt;
    return Fetched{std::move(fetched->body), path.lexically_relative(m_o.data_dir).string(), at};
  }

  // nullopt: stored (or the run must stop: see m_sum); else why the coin cannot be fetched.
  std::optional<std::string> fetch_and_store(const std::string& coin, const std::string& vs,
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

  std::optional<std::string> fetch_and_store(const std::string& coin, const std::string& vs,
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
    spdlog::debug("backfill {}: {} candle(s) stored ({}), {} new, {} changed", what,
                  sel.kept.size(), r.status, stored->inserted, stored->updated);
    return std::nullopt;
  }

  // /coins/list?include_platform=true into `coins`: one request per run. A failure does not
  // stop the history (it is reported, and the run's exit status says so).
  void load_coins_list() {
    const std::string url = m_o.api_base + "/coins/list?include_platform=true";
    auto fetched = get(url, "coins list");
    const TimePoint at = wall_now();
    const auto path = [&](long status) {
      return m_o.data_dir / "raw" / "history" /
             ("coins_list_" + compact_utc(at) + status_suffix(status) + ".json");
    };
    const auto failed = [&](const std::string& reason) {
      m_sum.coins_list_failed = true;
      m_sum.problems.push_back("coins list: " + reason);
      log_warning("backfill coins list: " + reason);
    };
    if (!fetched) {
      const auto& e = fetched.error();
      if (e.failure == coingecko::FetchFailure::cancelled && m_stop.stop_requested()) {
        m_sum.interrupted = true;
        return;
      }
      if (e.status != 0 && !spool(path(e.status), e.body)) return;
      return failed(describe_failure(e));
    }
    if (!spool(path(200), fetched->body)) return;
    const auto list = parse_coins_list(fetched->body);
    if (!list) return failed(list.error());
    if (list->coins.empty()) return failed("the list is empty: nothing stored");
    const auto stored = m_store.store_coins(list->coins);
    if (!stored) {
      fatal("cannot store the coins list: " + stored.error().message);
      return;
    }
    m_sum.coins_listed = static_cast<std::int64_t>(list->coins.size());
    m_sum.coins_changed = stored->inserted + stored->updated;
    spdlog::info("backfill: coins list: {} coin(s), {} new, {} changed, {} unchanged{}",
                 list->coins.size(), stored->inserted, stored->updated, stored->unchanged,
                 list->repeated > 0 ? fmt::format(" ({} repeated id(s) ignored)", list->repeated)
                                    : std::string());
  }

  // On a terminal the bar owns the current line: it is ended before a warning is printed, so
  // the warning does not land in its middle (the bar is redrawn below it).
  void log_warning(const std::string& message) {
    end_bar_line();
    spdlog::warn("{}", message);
  }
  void end_bar_line() {
    if (m_bar_drawn) {
      std::fputc('\n', stderr);
      std::fflush(stderr);
      m_bar_drawn = false;
    }
  }

  void progress(bool last) {
    if (m_o.quiet) return;
    const auto t = SteadyClock::now();
    ProgressState state;
    state.planned = m_sum.planned;
    state.done = m_sum.done;
    state.provisional = m_sum.provisional;
    state.failed = m_sum.failed;
    state.elapsed = t - m_started;
    if (m_o.progress_bar_width > 0) {
      // Redrawn at most a few times a second: a terminal is cheap, but not free.
      if (!last && t - m_last_progress < std::chrono::milliseconds{200}) return;
      m_last_progress = t;
      std::fputs(("\r" + progress_bar(state, m_o.progress_bar_width - 1)).c_str(), stderr);
      std::fflush(stderr);
      m_bar_drawn = true;
      if (last) end_bar_line();
      return;
    }
    if (!last && t - m_last_progress < m_o.progress_interval) return;
    m_last_progress = t;
    spdlog::info("backfill: {}", progress_line(state, last));
  }

  const BackfillOptions& m_o;
  coingecko::ApiCaller& m_api;
  db::HistoryStore& m_store;
  StopSignal& m_stop;
  BackfillSummary m_sum;
  SteadyClock::time_point m_started;
  SteadyClock::time_point m_last_progress;
  bool m_bar_drawn = false;
};

} // namespace

std::string compact_utc(TimePoint t) {
  return core::format_iso8601_basic(std::chrono::system_clock::time_point(t.time_since_epoch()));
}

BackfillSummary run_backfill(const BackfillOptions& options, coingecko::ApiCaller& api,
                             db::HistoryStore& store, StopSignal& stop) {
  return Runner(options, api, store, stop).run();
}

} // namespace etl::history
