// One backfill request: through the fill's permit and the shared caller, its body spooled
// byte-exact under DATA_DIR/raw/history/, and the backfill_chunks records of what failed.
#include "history/backfill_runner.hpp"

#include "history/market_chart.hpp"
#include "spool/atomic_file.hpp"

#include <spdlog/spdlog.h>

namespace etl::history::backfill_detail {

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

bool fails_whole_coin(const coingecko::FetchError& e) {
  return e.status == 404 || e.status == 401 || e.status == 403;
}

// Every request goes through here: the background fill's permit first (when set), then the
// shared caller. A permitted call that gave up before any attempt (its tick's deadline came
// first) asks for the next permit instead of failing the chunk.
tl::expected<coingecko::FetchedPage, coingecko::FetchError> Runner::get(const std::string& url,
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

// False (and fatal) when the file cannot be written: nothing is stored that is not on disk.
bool Runner::spool(const std::filesystem::path& path, std::string_view body) {
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

std::filesystem::path Runner::raw_dir(const std::string& coin, const std::string& vs) const {
  return m_o.data_dir / "raw" / "history" / coin / vs;
}
std::string Runner::status_suffix(long status) {
  return status != 200 ? "_http" + std::to_string(status) : "";
}

std::filesystem::path Runner::raw_path(const std::string& coin, const std::string& vs,
                                       const Chunk& c, TimePoint fetched, long status) const {
  return raw_dir(coin, vs) /
         (std::string(to_string(c.granularity)) + "_" + compact_utc(c.request.from) + "_" +
          compact_utc(c.request.to) + "_" + compact_utc(fetched) + status_suffix(status) + ".json");
}
std::filesystem::path Runner::raw_path(const std::string& coin, const std::string& vs,
                                       const OhlcChunk& c, TimePoint fetched, long status) const {
  const std::string span = c.days > 0
                               ? "days" + std::to_string(c.days)
                               : compact_utc(c.request.from) + "_" + compact_utc(c.request.to);
  return raw_dir(coin, vs) / ("ohlc_" + std::string(to_string(c.candle)) + "_" + span + "_" +
                              compact_utc(fetched) + status_suffix(status) + ".json");
}

db::ChunkRecord Runner::record_of(const std::string& coin, const std::string& vs,
                                  const Chunk& c) const {
  db::ChunkRecord r;
  r.coin_id = coin;
  r.vs_currency = vs;
  r.granularity = std::string(to_string(c.granularity));
  r.chunk = c.core;
  r.request = c.request;
  r.expected_points = c.expected_points;
  return r;
}
db::ChunkRecord Runner::record_of(const std::string& coin, const std::string& vs,
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

void Runner::record_failure(db::ChunkRecord r, std::optional<long> status, std::string reason,
                            std::string raw_file, bool requested) {
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

// One GET, its body spooled (error bodies too). nullopt: failed and recorded (or the run must
// stop: see m_sum); `failed_coin` then says whether the coin's other chunks would fail alike.
std::optional<Runner::Fetched>
Runner::fetch(const std::string& url, const std::string& what, const db::ChunkRecord& record,
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

} // namespace etl::history::backfill_detail
