// The coverage ledger's queries (issue 11): what coin_history holds per currency and
// granularity, and which completed days of the configured coins hold nothing.
#include "db/history_store.hpp"
#include "db/history_store_impl.hpp"

namespace etl::db {
namespace {

// A PostgreSQL text[] literal: every element double-quoted, quotes and backslashes escaped.
std::string text_array(const std::vector<std::string>& values) {
  std::string out = "{";
  for (const auto& v : values) {
    if (out.size() > 1) out += ',';
    out += '"';
    for (const char c : v) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  out += '}';
  return out;
}

} // namespace

tl::expected<std::vector<CoverageRow>, DbError> HistoryStore::coverage() {
  if (auto ok = ensure_connected(); !ok) return tl::unexpected(ok.error());
  Impl& s = *m_impl;
  std::vector<CoverageRow> out;
  try {
    pqxx::read_transaction tx{*s.conn};
    const pqxx::result rows = tx.exec("SELECT vs_currency, granularity, extract(epoch FROM "
                                      "min(ts))::float8, extract(epoch FROM max(ts))::float8 "
                                      "FROM coin_history GROUP BY 1, 2 ORDER BY 1, 2");
    for (const auto& row : rows)
      out.push_back({row[0].as<std::string>(), row[1].as<std::string>(), row[2].as<double>(),
                     row[3].as<double>()});
  } catch (...) {
    return tl::unexpected(s.fail("read the coverage of coin_history"));
  }
  return out;
}

tl::expected<std::int64_t, DbError>
HistoryStore::missing_slots(const std::vector<std::string>& coins,
                            const std::vector<std::string>& vs_currencies, history::TimePoint from,
                            history::TimePoint to, std::chrono::hours slot) {
  if (coins.empty() || vs_currencies.empty() || to <= from || slot.count() <= 0) return 0;
  if (auto ok = ensure_connected(); !ok) return tl::unexpected(ok.error());
  Impl& s = *m_impl;
  try {
    pqxx::read_transaction tx{*s.conn};
    // One index range probe per expected slot (the key leads with coin, currency, granularity).
    const pqxx::row row = tx.exec_params1(
        "WITH step AS (SELECT make_interval(hours => $5) AS len) "
        "SELECT count(*) FROM step, unnest($1::text[]) AS c(coin) CROSS JOIN unnest($2::text[]) AS "
        "v(vs) "
        "CROSS JOIN LATERAL generate_series($3::timestamptz, $4::timestamptz - step.len, step.len) "
        "AS d(slot) "
        "WHERE NOT EXISTS (SELECT 1 FROM coin_history h WHERE h.coin_id = c.coin "
        "AND h.vs_currency = v.vs AND h.ts >= d.slot AND h.ts < d.slot + step.len)",
        text_array(coins), text_array(vs_currencies), detail::to_timestamptz_text(from),
        detail::to_timestamptz_text(to), static_cast<int>(slot.count()));
    return row[0].as<std::int64_t>();
  } catch (...) {
    return tl::unexpected(s.fail("count the gaps in coin_history"));
  }
}

} // namespace etl::db
