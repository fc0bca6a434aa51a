// One snapshot = one transaction: raw pages, COPY into session staging, then one
// INSERT ... SELECT ... ON CONFLICT DO NOTHING into coin_market and the etl_runs row.
#include "db/detail.hpp"

#include <array>
#include <optional>

#include <pqxx/stream_to>

namespace etl::db {
namespace {

using tl::unexpected;
using market::CoinMarket;

// The COPY column order; coin_row() fills a row in exactly this order.
constexpr std::array<const char*, 38> kColumns = {
    "coin_id", "vs_currency", "symbol", "name", "image", "current_price", "market_cap",
    "market_cap_rank", "fully_diluted_valuation", "total_volume", "high_24h", "low_24h",
    "price_change_24h", "price_change_percentage_24h", "market_cap_change_24h",
    "market_cap_change_percentage_24h", "circulating_supply", "total_supply", "max_supply", "ath",
    "ath_change_percentage", "ath_date", "atl", "atl_change_percentage", "atl_date", "roi_times",
    "roi_currency", "roi_percentage", "last_updated",
    "price_change_percentage_1h_in_currency", "price_change_percentage_24h_in_currency",
    "price_change_percentage_7d_in_currency", "price_change_percentage_14d_in_currency",
    "price_change_percentage_30d_in_currency", "price_change_percentage_200d_in_currency",
    "price_change_percentage_1y_in_currency", "snapshot_id", "fetched_at"};
static_assert(market::kPriceChangeWindows.size() == 7, "kColumns lists seven windows");

// std::array has tuple semantics, so libpqxx's stream_to escapes each field for COPY text
// format and writes nullopt as \N.
using Row = std::array<std::optional<std::string>, kColumns.size()>;

std::string column_list() {
  std::string out;
  for (const char* c : kColumns) {
    if (!out.empty()) out += ", ";
    out += c;
  }
  return out;
}

// Numbers travel as the exact decimal text the API sent; numeric parses it without rounding.
Row coin_row(const CoinMarket& c, const SnapshotMeta& meta, const std::string& fetched_at) {
  Row r;
  std::size_t i = 0;
  const auto put = [&](std::optional<std::string> v) { r[i++] = std::move(v); };
  put(c.id);
  put(meta.vs_currency);
  put(c.symbol);
  put(c.name);
  put(c.image.empty() ? std::nullopt : std::optional<std::string>(c.image));
  put(c.current_price);
  put(c.market_cap);
  put(c.market_cap_rank ? std::optional<std::string>(std::to_string(*c.market_cap_rank))
                        : std::nullopt);
  put(c.fully_diluted_valuation);
  put(c.total_volume);
  put(c.high_24h);
  put(c.low_24h);
  put(c.price_change_24h);
  put(c.price_change_percentage_24h);
  put(c.market_cap_change_24h);
  put(c.market_cap_change_percentage_24h);
  put(c.circulating_supply);
  put(c.total_supply);
  put(c.max_supply);
  put(c.ath);
  put(c.ath_change_percentage);
  put(c.ath_date);
  put(c.atl);
  put(c.atl_change_percentage);
  put(c.atl_date);
  put(c.roi_times);
  put(c.roi_currency);
  put(c.roi_percentage);
  put(c.last_updated);
  for (const auto& pct : c.price_change_percentage_in_currency) put(pct);
  put(meta.snapshot_id);
  put(fetched_at);
  return r;
}

DbError usage(std::string message) {
  return DbError{DbError::Kind::internal, "", std::move(message)};
}

} // namespace

SnapshotLoad::Impl::Impl(detail::Session& s, std::unique_ptr<pqxx::work> w, SnapshotMeta m,
                         bool loaded)
    : session(&s), secrets(s.secrets), work(std::move(w)), meta(std::move(m)),
      fetched_at_text(detail::to_timestamptz_text(meta.fetched_at)), already_loaded(loaded) {
  s.active_load = this;
}

SnapshotLoad::Impl::~Impl() {
  // The work (if any) is destroyed after this body: libpqxx rolls it back.
  detach();
}

void SnapshotLoad::Impl::detach() noexcept {
  if (session != nullptr && session->active_load == this) session->active_load = nullptr;
  session = nullptr;
}

void SnapshotLoad::Impl::abandon(DbError why) noexcept {
  work.reset();
  if (!failure) failure = std::move(why);
  detach();
}

DbError SnapshotLoad::Impl::fail(std::string_view what_failed) {
  DbError e = detail::translate_current_exception(what_failed, secrets);
  // libpq reports a connection that died mid-COPY as a plain write error without SQLSTATE;
  // a connection that is no longer open means an outage (retry), never bad data (quarantine).
  const bool connection_gone = (session != nullptr && session->conn != nullptr && !session->conn->is_open()) ||
                               e.message.find("server closed the connection") != std::string::npos ||
                               e.message.find("no connection to the server") != std::string::npos;
  if (e.kind == DbError::Kind::internal && connection_gone) e.kind = DbError::Kind::unavailable;
  if (!failure) failure = e;
  // Roll back now so the server releases what the transaction holds.
  work.reset();
  detail::Session* s = session;
  detach();
  if (s != nullptr && detail::needs_reconnect(e)) s->drop();
  return e;
}

SnapshotLoad::SnapshotLoad(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}
SnapshotLoad::SnapshotLoad(SnapshotLoad&&) noexcept = default;
SnapshotLoad& SnapshotLoad::operator=(SnapshotLoad&&) noexcept = default;
SnapshotLoad::~SnapshotLoad() = default;

bool SnapshotLoad::id_taken_by_another_snapshot() const noexcept { return m_impl && m_impl->id_collision; }

tl::expected<void, DbError> SnapshotLoad::add_page(int page, std::string_view raw_json_body,
                                                   std::span<const market::CoinMarket> coins,
                                                   std::int64_t rejected_in_page) {
  if (!m_impl) return unexpected(usage("add_page: moved-from SnapshotLoad"));
  Impl& s = *m_impl;
  if (s.failure) return unexpected(*s.failure);
  if (s.committed) return unexpected(usage("add_page: snapshot already committed"));
  if (!s.already_loaded) {
    if (!s.work) return unexpected(usage("add_page: snapshot transaction is closed"));
    try {
      // The body is cast to jsonb by the server: it is validated there, stored once per page.
      s.work->exec_params(
          "INSERT INTO coin_market_raw (snapshot_id, page, vs_currency, fetched_at, body, "
          "body_bytes) VALUES ($1, $2, $3, $4::timestamptz, $5::jsonb, $6) "
          "ON CONFLICT (snapshot_id, page) DO NOTHING",
          s.meta.snapshot_id, page, s.meta.vs_currency, s.fetched_at_text,
          std::string(raw_json_body), static_cast<std::int64_t>(raw_json_body.size()));
      if (!coins.empty()) {
        pqxx::stream_to stream{*s.work, "coin_market_stage", kColumns};
        for (const CoinMarket& coin : coins) stream << coin_row(coin, s.meta, s.fetched_at_text);
        stream.complete();
      }
    } catch (...) {
      return unexpected(s.fail("add page " + std::to_string(page) + " of snapshot " +
                               s.meta.snapshot_id));
    }
  }
  s.counts.pages += 1;
  s.counts.coins_received += static_cast<std::int64_t>(coins.size());
  s.counts.rows_rejected += rejected_in_page;
  s.staged += static_cast<std::int64_t>(coins.size());
  return {};
}

tl::expected<LoadResult, DbError> SnapshotLoad::commit(std::string_view status,
                                                       std::string_view error) {
  if (!m_impl) return unexpected(usage("commit: moved-from SnapshotLoad"));
  Impl& s = *m_impl;
  if (s.failure) return unexpected(*s.failure);
  if (s.committed) return unexpected(usage("commit: snapshot already committed"));

  // A replay of a committed snapshot: every coin it offers is already stored.
  const auto replayed = [&s] {
    s.work.reset();
    s.committed = true;
    s.detach();
    LoadResult r{true, s.counts};
    r.counts.rows_inserted = 0;
    r.counts.rows_unchanged = s.staged;
    return r;
  };
  if (s.already_loaded) return replayed();
  if (!s.work) return unexpected(usage("commit: snapshot transaction is closed"));

  std::int64_t inserted = 0;
  try {
    static const std::string cols = column_list();
    // Rows already stored (same coin, currency and last_updated: CoinGecko's cached quote)
    // and duplicates inside this snapshot are skipped, not errors.
    const pqxx::result moved = s.work->exec(
        "INSERT INTO coin_market (" + cols + ") SELECT " + cols +
        " FROM coin_market_stage ON CONFLICT (coin_id, vs_currency, last_updated) DO NOTHING");
    inserted = moved.affected_rows();
    const pqxx::result run = s.work->exec_params(
        "INSERT INTO etl_runs (snapshot_id, vs_currency, started_at, fetched_at, status, pages, "
        "coins_received, rows_inserted, rows_unchanged, rows_rejected, error) "
        "VALUES ($1, $2, $3::timestamptz, $4::timestamptz, $5, $6, $7, $8, $9, $10, "
        "NULLIF($11, '')) ON CONFLICT (snapshot_id) DO NOTHING",
        s.meta.snapshot_id, s.meta.vs_currency, detail::to_timestamptz_text(s.meta.started_at),
        s.fetched_at_text, std::string(status), s.counts.pages, s.counts.coins_received,
        inserted, s.staged - inserted, s.counts.rows_rejected, std::string(error));
    if (run.affected_rows() == 0) {
      // Another loader committed this id while we worked. Same fetched_at: the same snapshot
      // (keep its rows, not ours). Otherwise another poll took the id: roll back and say so.
      const pqxx::result same = s.work->exec_params(
          "SELECT fetched_at IS NOT DISTINCT FROM $2::timestamptz FROM etl_runs WHERE snapshot_id = $1",
          s.meta.snapshot_id, s.fetched_at_text);
      if (same.empty() || same[0][0].as<bool>()) return replayed();
      s.id_collision = true;
      s.work.reset();
      s.detach();
      return unexpected(DbError{DbError::Kind::internal, "", "snapshot id " + s.meta.snapshot_id +
                                                                  " was committed by another snapshot"});
    }
    s.work->commit();
  } catch (...) {
    return unexpected(s.fail("commit snapshot " + s.meta.snapshot_id));
  }
  s.work.reset();
  s.committed = true;
  s.detach();
  LoadResult r{false, s.counts};
  r.counts.rows_inserted = inserted;
  r.counts.rows_unchanged = s.staged - inserted;
  return r;
}

} // namespace etl::db
