// HistoryStore's writes: a chunk's points or candles and its backfill_chunks row in one
// transaction (COPY into a session staging table, then one upsert), and the coins list.
#include "db/history_store.hpp"

#include "db/copy_text.hpp"
#include "db/detail.hpp"
#include "db/history_store_impl.hpp"

#include <pqxx/tablewriter>

namespace etl::db {
namespace {

using tl::unexpected;

constexpr std::array<const char*, 7> kColumns = {"coin_id", "vs_currency", "granularity", "ts",
                                                 "price",   "market_cap",  "total_volume"};

constexpr const char* kCreateStaging =
    "CREATE TEMP TABLE IF NOT EXISTS coin_history_stage "
    "(LIKE coin_history INCLUDING DEFAULTS) ON COMMIT DELETE ROWS";

// Values change only through a re-fetch of a provisional point: unchanged rows are not
// rewritten (no dead tuples, and the counts say what really changed).
constexpr const char* kMoveStage =
    "WITH up AS (INSERT INTO coin_history (coin_id, vs_currency, granularity, ts, price, market_cap, total_volume) "
    "SELECT coin_id, vs_currency, granularity, ts, price, market_cap, total_volume FROM coin_history_stage "
    "ON CONFLICT (coin_id, vs_currency, granularity, ts) DO UPDATE SET price = EXCLUDED.price, "
    "market_cap = EXCLUDED.market_cap, total_volume = EXCLUDED.total_volume, fetched_at = now() "
    "WHERE (coin_history.price, coin_history.market_cap, coin_history.total_volume) IS DISTINCT FROM "
    "(EXCLUDED.price, EXCLUDED.market_cap, EXCLUDED.total_volume) "
    "RETURNING (xmax = 0) AS inserted) "
    "SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM up";

constexpr const char* kUpsertChunk =
    "INSERT INTO backfill_chunks (coin_id, vs_currency, endpoint, granularity, chunk_from, chunk_to, request_from, "
    "request_to, status, points, expected_points, http_status, error, raw_file, attempts, updated_at) "
    "VALUES ($1, $2, $3, $4, $5::timestamptz, $6::timestamptz, NULLIF($7, '')::timestamptz, "
    "NULLIF($8, '')::timestamptz, $9, $10, NULLIF($11, -1), NULLIF($12, -1), NULLIF($13, ''), NULLIF($14, ''), $15, "
    "now()) "
    "ON CONFLICT (coin_id, vs_currency, endpoint, granularity, chunk_from, chunk_to) DO UPDATE SET "
    "request_from = EXCLUDED.request_from, request_to = EXCLUDED.request_to, status = EXCLUDED.status, "
    "points = EXCLUDED.points, expected_points = EXCLUDED.expected_points, http_status = EXCLUDED.http_status, "
    "error = EXCLUDED.error, raw_file = EXCLUDED.raw_file, "
    "attempts = backfill_chunks.attempts + EXCLUDED.attempts, updated_at = now()";

constexpr std::array<const char*, 8> kOhlcColumns = {"coin_id", "vs_currency", "ts",    "open",
                                                     "high",    "low",         "close", "candle"};
constexpr const char* kCreateOhlcStaging =
    "CREATE TEMP TABLE IF NOT EXISTS coin_ohlc_stage "
    "(LIKE coin_ohlc INCLUDING DEFAULTS) ON COMMIT DELETE ROWS";
// The open (last) candle changes until it closes: a re-fetch updates it. A row of another
// candle size at the same stamp is left alone (see migrations/0010) and counted.
constexpr const char* kMoveOhlcStage =
    "WITH up AS (INSERT INTO coin_ohlc (coin_id, vs_currency, ts, open, high, low, close, candle) "
    "SELECT coin_id, vs_currency, ts, open, high, low, close, candle FROM coin_ohlc_stage "
    "ON CONFLICT (coin_id, vs_currency, ts) DO UPDATE SET open = EXCLUDED.open, high = EXCLUDED.high, "
    "low = EXCLUDED.low, close = EXCLUDED.close, candle = EXCLUDED.candle, fetched_at = now() "
    "WHERE (coin_ohlc.candle IS NULL OR coin_ohlc.candle = EXCLUDED.candle) AND "
    "(coin_ohlc.open, coin_ohlc.high, coin_ohlc.low, coin_ohlc.close, coin_ohlc.candle) IS DISTINCT FROM "
    "(EXCLUDED.open, EXCLUDED.high, EXCLUDED.low, EXCLUDED.close, EXCLUDED.candle) "
    "RETURNING (xmax = 0) AS inserted) "
    "SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted), "
    "(SELECT count(*) FROM coin_ohlc_stage s JOIN coin_ohlc o USING (coin_id, vs_currency, ts) "
    " WHERE o.candle IS DISTINCT FROM s.candle AND o.candle IS NOT NULL) FROM up";

constexpr std::array<const char*, 4> kCoinsColumns = {"coin_id", "symbol", "name", "platforms"};
constexpr const char* kCreateCoinsStaging =
    "CREATE TEMP TABLE IF NOT EXISTS coins_stage (coin_id text, symbol text, name text, platforms jsonb) "
    "ON COMMIT DELETE ROWS";
// Only changed rows are rewritten: most of the ~18k coins are the same from run to run.
constexpr const char* kMoveCoinsStage =
    "WITH up AS (INSERT INTO coins (coin_id, symbol, name, platforms, updated_at) "
    "SELECT coin_id, symbol, name, platforms, now() FROM coins_stage "
    "ON CONFLICT (coin_id) DO UPDATE SET symbol = EXCLUDED.symbol, name = EXCLUDED.name, "
    "platforms = EXCLUDED.platforms, updated_at = now() "
    "WHERE (coins.symbol, coins.name, coins.platforms) IS DISTINCT FROM "
    "(EXCLUDED.symbol, EXCLUDED.name, EXCLUDED.platforms) "
    "RETURNING (xmax = 0) AS inserted) "
    "SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM up";

std::string ts_text(history::TimePoint t) {
  return detail::to_timestamptz_text(std::chrono::system_clock::time_point(t.time_since_epoch()));
}

// One COPY of `lines` (COPY text format, one row per line) into `table` (see snapshot_load.cpp
// on tablewriter vs stream_to).
template <std::size_t N>
void copy_into(pqxx::dbtransaction& tx, const char* table,
               const std::array<const char*, N>& columns, const std::string& lines) {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
  pqxx::tablewriter writer{tx, table, columns.begin(), columns.end()};
#pragma GCC diagnostic pop
  writer.write_raw_line(lines);
  writer.complete();
}

// Session staging tables are created once per connection, outside the load's transaction.
void ensure_staging(pqxx::connection& conn, bool& ready, const char* create_sql) {
  if (ready) return;
  pqxx::work create{conn, "create_staging"};
  create.exec(create_sql);
  create.commit();
  ready = true;
}

void upsert_chunk(pqxx::dbtransaction& tx, const ChunkRecord& r) {
  tx.exec_params(
      kUpsertChunk, r.coin_id, r.vs_currency, r.endpoint, r.granularity, ts_text(r.chunk.from),
      ts_text(r.chunk.to), r.request ? ts_text(r.request->from) : std::string(),
      r.request ? ts_text(r.request->to) : std::string(), r.status, r.points,
      r.expected_points.value_or(-1), static_cast<std::int64_t>(r.http_status.value_or(-1)),
      r.error, r.raw_file, r.requested ? 1 : 0);
}

} // namespace

tl::expected<StoreCounts, DbError>
HistoryStore::store_chunk(const ChunkRecord& record, std::span<const history::ChartPoint> points,
                          std::optional<history::TimePoint> replace_from) {
  if (auto ok = ensure_connected(); !ok) return unexpected(ok.error());
  Impl& s = *m_impl;
  const std::string& granularity = record.granularity;
  StoreCounts counts;
  try {
    ensure_staging(*s.conn, s.staging_ready, kCreateStaging);
    pqxx::work tx{*s.conn, "history_chunk"};
    if (replace_from && *replace_from <= record.chunk.to) {
      counts.replaced =
          tx.exec_params("DELETE FROM coin_history WHERE coin_id = $1 AND vs_currency = $2 AND "
                         "granularity = $3 AND ts >= $4::timestamptz AND ts <= $5::timestamptz",
                         record.coin_id, record.vs_currency, granularity, ts_text(*replace_from),
                         ts_text(record.chunk.to))
              .affected_rows();
    }
    if (!points.empty()) {
      s.copy_buffer.clear();
      for (const auto& p : points) {
        append_copy_field(s.copy_buffer, record.coin_id);
        s.copy_buffer += '\t';
        append_copy_field(s.copy_buffer, record.vs_currency);
        s.copy_buffer += '\t';
        s.copy_buffer += granularity;
        s.copy_buffer += '\t';
        s.copy_buffer += ts_text(history::TimePoint{std::chrono::milliseconds{p.ts_ms}});
        for (const auto* value : {&p.price, &p.market_cap, &p.total_volume}) {
          s.copy_buffer += '\t';
          if (*value) append_copy_field(s.copy_buffer, **value);
          else append_copy_null(s.copy_buffer);
        }
        s.copy_buffer += '\n';
      }
      copy_into(tx, "coin_history_stage", kColumns, s.copy_buffer); // one COPY for the whole chunk
      const pqxx::row moved = tx.exec1(kMoveStage);
      counts.inserted = moved[0].as<std::int64_t>();
      counts.updated = moved[1].as<std::int64_t>();
      tx.exec("TRUNCATE coin_history_stage");
    }
    upsert_chunk(tx, record);
    tx.commit();
  } catch (...) {
    return unexpected(s.fail("store chunk of " + record.coin_id + "/" + record.vs_currency));
  }
  return counts;
}

tl::expected<void, DbError> HistoryStore::record_chunk(const ChunkRecord& record) {
  if (auto ok = ensure_connected(); !ok) return unexpected(ok.error());
  Impl& s = *m_impl;
  try {
    pqxx::work tx{*s.conn, "history_chunk_record"};
    upsert_chunk(tx, record);
    tx.commit();
  } catch (...) {
    return unexpected(s.fail("record chunk of " + record.coin_id + "/" + record.vs_currency));
  }
  return {};
}

tl::expected<StoreCounts, DbError>
HistoryStore::store_ohlc_chunk(const ChunkRecord& record, history::Candle candle,
                               std::span<const history::OhlcCandle> candles) {
  if (auto ok = ensure_connected(); !ok) return unexpected(ok.error());
  Impl& s = *m_impl;
  StoreCounts counts;
  try {
    ensure_staging(*s.conn, s.ohlc_staging_ready, kCreateOhlcStaging);
    pqxx::work tx{*s.conn, "ohlc_chunk"};
    if (!candles.empty()) {
      const std::string size(history::to_string(candle));
      s.copy_buffer.clear();
      for (const auto& c : candles) {
        append_copy_field(s.copy_buffer, record.coin_id);
        s.copy_buffer += '\t';
        append_copy_field(s.copy_buffer, record.vs_currency);
        s.copy_buffer += '\t';
        s.copy_buffer += ts_text(history::TimePoint{std::chrono::milliseconds{c.ts_ms}});
        for (const auto* value : {&c.open, &c.high, &c.low, &c.close}) {
          s.copy_buffer += '\t';
          if (*value) append_copy_field(s.copy_buffer, **value);
          else append_copy_null(s.copy_buffer);
        }
        s.copy_buffer += '\t';
        s.copy_buffer += size;
        s.copy_buffer += '\n';
      }
      copy_into(tx, "coin_ohlc_stage", kOhlcColumns, s.copy_buffer);
      const pqxx::row moved = tx.exec1(kMoveOhlcStage);
      counts.inserted = moved[0].as<std::int64_t>();
      counts.updated = moved[1].as<std::int64_t>();
      counts.other_size = moved[2].as<std::int64_t>();
      tx.exec("TRUNCATE coin_ohlc_stage");
    }
    upsert_chunk(tx, record);
    tx.commit();
  } catch (...) {
    return unexpected(s.fail("store OHLC of " + record.coin_id + "/" + record.vs_currency));
  }
  return counts;
}

tl::expected<CoinsCounts, DbError>
HistoryStore::store_coins(std::span<const history::CoinListing> coins) {
  if (auto ok = ensure_connected(); !ok) return unexpected(ok.error());
  Impl& s = *m_impl;
  CoinsCounts counts;
  try {
    ensure_staging(*s.conn, s.coins_staging_ready, kCreateCoinsStaging);
    pqxx::work tx{*s.conn, "coins_list"};
    // COPY in batches of a few thousand rows: the buffer stays small whatever the list's size.
    constexpr std::size_t kBatch = 4096;
    for (std::size_t i = 0; i < coins.size(); i += kBatch) {
      s.copy_buffer.clear();
      for (std::size_t j = i; j < std::min(coins.size(), i + kBatch); ++j) {
        const auto& c = coins[j];
        append_copy_field(s.copy_buffer, c.id);
        s.copy_buffer += '\t';
        append_copy_field(s.copy_buffer, c.symbol);
        s.copy_buffer += '\t';
        append_copy_field(s.copy_buffer, c.name);
        s.copy_buffer += '\t';
        append_copy_field(s.copy_buffer, c.platforms_json);
        s.copy_buffer += '\n';
      }
      copy_into(tx, "coins_stage", kCoinsColumns, s.copy_buffer);
    }
    const pqxx::row moved = tx.exec1(kMoveCoinsStage);
    counts.inserted = moved[0].as<std::int64_t>();
    counts.updated = moved[1].as<std::int64_t>();
    counts.unchanged = static_cast<std::int64_t>(coins.size()) - counts.inserted - counts.updated;
    tx.exec("TRUNCATE coins_stage");
    tx.commit();
  } catch (...) {
    return unexpected(s.fail("store the coins list"));
  }
  return counts;
}

} // namespace etl::db
