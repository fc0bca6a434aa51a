// HistoryStore's session and its reads: the done chunks a plan skips and the top:N coins
// (writes: history_store_write.cpp; the coverage ledger: history_coverage.cpp).
#include "db/history_store.hpp"

#include "core/conninfo.hpp"
#include "db/detail.hpp"
#include "db/history_store_impl.hpp"

namespace etl::db {
namespace {

using tl::unexpected;

constexpr int kConnectTimeoutSeconds = 5;

history::TimePoint parse_epoch_ms(const pqxx::field& f) {
  return history::TimePoint{std::chrono::milliseconds{f.as<std::int64_t>()}};
}

} // namespace

HistoryStore::HistoryStore(std::string conninfo, std::string application_name)
    : m_impl(std::make_unique<Impl>()) {
  m_impl->secrets = core::conninfo_secrets(conninfo);
  m_impl->conninfo =
      detail::with_default_connect_timeout(std::move(conninfo), kConnectTimeoutSeconds);
  m_impl->application_name = std::move(application_name);
}

HistoryStore::~HistoryStore() = default;

tl::expected<void, DbError> HistoryStore::ensure_connected() {
  Impl& s = *m_impl;
  if (s.conn && s.conn->is_open()) return {};
  s.conn.reset();
  s.staging_ready = s.ohlc_staging_ready = s.coins_staging_ready = false;
  try {
    s.conn = detail::open_connection(s.conninfo, s.application_name);
  } catch (...) {
    return unexpected(s.fail("connect to PostgreSQL"));
  }
  return {};
}

tl::expected<std::vector<DoneChunk>, DbError> HistoryStore::done_chunks(std::string_view endpoint) {
  if (auto ok = ensure_connected(); !ok) return unexpected(ok.error());
  Impl& s = *m_impl;
  std::vector<DoneChunk> out;
  try {
    pqxx::read_transaction tx{*s.conn};
    // Milliseconds since the epoch: exact, and no timestamp text to parse back.
    const pqxx::result rows = tx.exec_params(
        "SELECT coin_id, vs_currency, granularity, "
        "(extract(epoch FROM chunk_from) * 1000)::bigint, (extract(epoch FROM chunk_to) * 1000)::bigint "
        "FROM backfill_chunks WHERE endpoint = $1 AND status = 'done'",
        std::string(endpoint));
    for (const auto& row : rows) {
      out.push_back({row[0].as<std::string>(), row[1].as<std::string>(), row[2].as<std::string>(),
                     history::Range{parse_epoch_ms(row[3]), parse_epoch_ms(row[4])}});
    }
  } catch (...) {
    return unexpected(s.fail("read backfill_chunks"));
  }
  return out;
}

tl::expected<std::vector<std::string>, DbError> HistoryStore::top_coins(int n) {
  if (auto ok = ensure_connected(); !ok) return unexpected(ok.error());
  Impl& s = *m_impl;
  std::vector<std::string> out;
  try {
    pqxx::read_transaction tx{*s.conn};
    const pqxx::result rows = tx.exec_params(
        "SELECT coin_id FROM coin_market WHERE snapshot_id = (SELECT snapshot_id FROM etl_runs "
        "WHERE status IN ('loaded', 'partial') ORDER BY fetched_at DESC LIMIT 1) AND market_cap_rank IS NOT NULL "
        "GROUP BY coin_id ORDER BY min(market_cap_rank), coin_id LIMIT $1",
        n);
    for (const auto& row : rows) out.push_back(row[0].as<std::string>());
  } catch (...) {
    return unexpected(s.fail("read the top coins from coin_market"));
  }
  return out;
}

} // namespace etl::db
