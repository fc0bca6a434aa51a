#include "history/backfill.hpp"

#include "history/market_chart.hpp"
#include "market/parse_markets.hpp"
#include "spool/atomic_file.hpp"

#include <algorithm>
#include <ctime>
#include <map>
#include <tuple>

#include <spdlog/spdlog.h>

namespace etl::history {
namespace {

using SteadyClock = std::chrono::steady_clock;
using std::chrono::milliseconds;

TimePoint wall_now() { return std::chrono::time_point_cast<milliseconds>(std::chrono::system_clock::now()); }

std::int64_t epoch_seconds_floor(TimePoint t) {
  const auto ms = t.time_since_epoch().count();
  return ms >= 0 ? ms / 1000 : (ms - 999) / 1000;
}
std::int64_t epoch_seconds_ceil(TimePoint t) { return -epoch_seconds_floor(TimePoint{milliseconds{-t.time_since_epoch().count()}}); }

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
bool fails_whole_coin(const coingecko::FetchError& e) { return e.status == 404 || e.status == 401 || e.status == 403; }

class Runner {
public:
  Runner(const BackfillOptions& o, coingecko::ApiCaller& api, db::HistoryStore& store, StopSignal& stop)
      : m_o(o), m_api(api), m_store(store), m_stop(stop), m_started(SteadyClock::now()), m_last_progress(m_started) {}

  BackfillSummary run() {
    const auto coins = resolve_coins();
    if (!coins) return m_sum;
    auto done = m_store.done_chunks(db::kMarketChartRange);
    if (!done) return fatal("cannot read backfill_chunks: " + done.error().message);

    // Plan everything first, so progress has a total.
    const TimePoint now = wall_now();
    struct Work {
      std::string coin, vs;
      Chunk chunk;
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
          (d.granularity == Granularity::daily    ? req.done_daily
           : d.granularity == Granularity::hourly ? req.done_hourly
                                                  : req.done_five_minute)
              .push_back(d.chunk);
        }
        const Plan plan = plan_chunks(req);
        m_sum.skipped_done += plan.skipped_done;
        if (plan.clamped) {
          ++m_sum.clamped;
          spdlog::warn("backfill {}/{}: {} to {} is beyond the {} plan's 365-day reach: not requested (recorded "
                       "as clamped)",
                       coin, vs, compact_utc(plan.clamped->from), compact_utc(plan.clamped->to),
                       m_o.limited_reach ? "public/demo" : "");
          db::ChunkRecord r;
          r.coin_id = coin;
          r.vs_currency = vs;
          r.chunk = *plan.clamped;
          r.status = "clamped";
          r.error = "beyond the public/demo plans' 365-day reach (CoinGecko error 10012): never requested";
          if (auto ok = m_store.record_chunk(r); !ok) return fatal("cannot record a clamp: " + ok.error().message);
        }
        for (const auto& c : plan.chunks) work.push_back({coin, vs, c});
      }
    }
    m_sum.planned = static_cast<std::int64_t>(work.size());
    spdlog::info("backfill: {} coin(s) x {} currency(ies): {} chunk(s) to fetch, {} part(s) already done{}",
                 coins->size(), m_o.vs_currencies.size(), work.size(), m_sum.skipped_done,
                 m_sum.clamped > 0 ? ", " + std::to_string(m_sum.clamped) + " range(s) clamped to 365 days" : "");

    std::map<std::pair<std::string, std::string>, std::string> coin_failed; // (coin, vs) -> reason
    for (const Work& w : work) {
      if (m_stop.stop_requested()) {
        m_sum.interrupted = true;
        break;
      }
      if (const auto f = coin_failed.find({w.coin, w.vs}); f != coin_failed.end()) {
        record_failure(w.coin, w.vs, w.chunk, std::nullopt, "not requested: an earlier chunk failed (" + f->second + ")");
        continue;
      }
      const auto outcome = fetch_and_store(w.coin, w.vs, w.chunk);
      if (m_sum.fatal || m_sum.interrupted) break;
      if (outcome) coin_failed.emplace(std::pair{w.coin, w.vs}, *outcome);
      progress(false);
    }
    progress(true);
    return m_sum;
  }

private:
  BackfillSummary fatal(std::string message) {
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
      spdlog::info("backfill: top {} coins by market_cap_rank of the newest snapshot in coin_market", n);
      return *top;
    }
    // Not enough in the database: one /coins/markets call, ranked by CoinGecko.
    const std::string vs = m_o.vs_currencies.empty() ? std::string("usd") : m_o.vs_currencies.front();
    std::string url = m_o.markets_url.substr(0, m_o.markets_url.find_first_of("?#"));
    url += "?vs_currency=" + coingecko::url_encode(vs) + "&order=market_cap_desc&per_page=" + std::to_string(n) +
           "&page=1";
    auto page = m_api.get(url, "top " + std::to_string(n) + " coins", SteadyClock::now() + m_o.request_deadline);
    if (!page) {
      fatal("cannot list the top coins: " + describe_failure(page.error()));
      return std::nullopt;
    }
    spool(m_o.data_dir / "raw" / "history" /
              ("markets_top" + std::to_string(n) + "_" + vs + "_" + compact_utc(wall_now()) + ".json"),
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
    spdlog::info("backfill: top {} coins from one /coins/markets call ({} in coin_market)", ids.size(), top->size());
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

  std::filesystem::path raw_path(const std::string& coin, const std::string& vs, const Chunk& c, TimePoint fetched,
                                 long status) const {
    std::string name = std::string(to_string(c.granularity)) + "_" + compact_utc(c.request.from) + "_" +
                       compact_utc(c.request.to) + "_" + compact_utc(fetched);
    if (status != 200) name += "_http" + std::to_string(status);
    return m_o.data_dir / "raw" / "history" / coin / vs / (name + ".json");
  }

  db::ChunkRecord record_of(const std::string& coin, const std::string& vs, const Chunk& c) const {
    db::ChunkRecord r;
    r.coin_id = coin;
    r.vs_currency = vs;
    r.granularity = c.granularity;
    r.chunk = c.core;
    r.request = c.request;
    r.expected_points = c.expected_points;
    return r;
  }

  void record_failure(const std::string& coin, const std::string& vs, const Chunk& c, std::optional<long> status,
                      std::string reason, std::string raw_file = {}, bool requested = false) {
    ++m_sum.failed;
    m_sum.problems.push_back(coin + "/" + vs + " " + std::string(to_string(c.granularity)) + " " +
                             compact_utc(c.core.from) + ".." + compact_utc(c.core.to) + ": " + reason);
    db::ChunkRecord r = record_of(coin, vs, c);
    r.status = "failed";
    r.http_status = status;
    r.error = std::move(reason);
    r.raw_file = std::move(raw_file);
    r.requested = requested;
    if (auto ok = m_store.record_chunk(r); !ok) fatal("cannot record a failed chunk: " + ok.error().message);
  }

  // nullopt: stored (or the run must stop: see m_sum); else why the coin cannot be fetched.
  std::optional<std::string> fetch_and_store(const std::string& coin, const std::string& vs, const Chunk& c) {
    const std::string url = m_o.api_base + "/coins/" + coingecko::url_encode(coin) +
                            "/market_chart/range?vs_currency=" + coingecko::url_encode(vs) +
                            "&from=" + std::to_string(epoch_seconds_floor(c.request.from)) +
                            "&to=" + std::to_string(epoch_seconds_ceil(c.request.to));
    const std::string what = coin + "/" + vs + " " + std::string(to_string(c.granularity));
    auto fetched = m_api.get(url, what, SteadyClock::now() + m_o.request_deadline);
    const TimePoint at = wall_now();
    if (!fetched) {
      const auto& e = fetched.error();
      if (e.failure == coingecko::FetchFailure::cancelled && m_stop.stop_requested()) {
        m_sum.interrupted = true;
        return std::nullopt;
      }
      std::string raw;
      if (e.status != 0) {
        const auto path = raw_path(coin, vs, c, at, e.status);
        if (!spool(path, e.body)) return std::nullopt;
        raw = path.lexically_relative(m_o.data_dir).string();
      }
      const std::string reason = describe_failure(e);
      spdlog::warn("backfill {}: {}", what, reason);
      record_failure(coin, vs, c, e.status != 0 ? std::optional<long>(e.status) : std::nullopt, reason, raw, true);
      if (fails_whole_coin(e)) return reason;
      return std::nullopt;
    }
    const auto path = raw_path(coin, vs, c, at, 200);
    if (!spool(path, fetched->body)) return std::nullopt;
    const std::string raw = path.lexically_relative(m_o.data_dir).string();

    auto parsed = parse_market_chart(fetched->body);
    if (!parsed) {
      spdlog::warn("backfill {}: {}", what, parsed.error());
      record_failure(coin, vs, c, 200, parsed.error(), raw, true);
      return std::nullopt;
    }
    const Selection sel = select_points(std::move(*parsed), c.granularity, c.core);
    if (count_is_suspicious(static_cast<std::int64_t>(sel.kept.size()), c.expected_points)) {
      spdlog::warn("backfill {}: {} point(s) kept where about {} were expected ({} outside the chunk, {} off the "
                   "daily grid, {} duplicate stamps); stored anyway",
                   what, sel.kept.size(), c.expected_points, sel.outside, sel.off_grid, sel.duplicates);
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
    spdlog::debug("backfill {}: {} point(s) stored ({}), {} new, {} changed", what, sel.kept.size(), r.status,
                  stored->inserted - stored->replaced, stored->updated);
    return std::nullopt;
  }

  void progress(bool last) {
    const auto t = SteadyClock::now();
    if (!last && t - m_last_progress < m_o.progress_interval) return;
    m_last_progress = t;
    const auto finished = m_sum.done + m_sum.provisional + m_sum.failed;
    const double secs = std::chrono::duration<double>(t - m_started).count();
    const double rate = secs > 0 ? static_cast<double>(finished) / secs : 0.0;
    const auto left = m_sum.planned - finished;
    spdlog::info("backfill: {}/{} chunk(s) ({} done, {} provisional, {} failed), {:.2f} chunk(s)/s{}", finished,
                 m_sum.planned, m_sum.done, m_sum.provisional, m_sum.failed, rate,
                 !last && rate > 0 ? fmt::format(", ETA {:.0f}s", static_cast<double>(left) / rate) : std::string());
  }

  const BackfillOptions& m_o;
  coingecko::ApiCaller& m_api;
  db::HistoryStore& m_store;
  StopSignal& m_stop;
  BackfillSummary m_sum;
  SteadyClock::time_point m_started;
  SteadyClock::time_point m_last_progress;
};

} // namespace

std::string compact_utc(TimePoint t) {
  const std::time_t secs = static_cast<std::time_t>(epoch_seconds_floor(t));
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  const std::size_t n = std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return std::string(buf, n);
}

BackfillSummary run_backfill(const BackfillOptions& options, coingecko::ApiCaller& api, db::HistoryStore& store,
                             StopSignal& stop) {
  return Runner(options, api, store, stop).run();
}

} // namespace etl::history
