// One snapshot = one transaction: per page the raw body, then under a savepoint a COPY into
// session staging and an INSERT ... SELECT ... ON CONFLICT DO NOTHING into coin_market; at the
// end the etl_runs row. A page PostgreSQL refuses as data is bisected down to the refused rows.
#include "db/detail.hpp"

#include "db/copy_text.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <optional>

#include <pqxx/binarystring>
#include <pqxx/subtransaction>
#include <pqxx/tablewriter>

namespace etl::db {
namespace {

using market::CoinMarket;
using tl::unexpected;

// Starts COPY into `table` (coin_market or the session's staging table), sends `rows` (COPY
// text lines, each ending in '\n') as one piece of COPY data, and ends it. libpqxx 6.4 offers a
// raw line only through tablewriter (deprecated in favour of stream_to, which escapes field by
// field and costs far more CPU); its multibyte warning concerns its own escaping, which is not
// used here: rows are escaped by copy_text.cpp and the session's client_encoding is UTF8.
void copy_rows(pqxx::dbtransaction& tx, const char* table, const std::string& rows) {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
  pqxx::tablewriter writer{tx, table, kCoinMarketColumns.begin(), kCoinMarketColumns.end()};
#pragma GCC diagnostic pop
  writer.write_raw_line(rows);
  writer.complete();
}

// Moves the staged page into coin_market. Rows already stored (same coin, currency and
// last_updated: CoinGecko's cached quote) and duplicates inside this snapshot are skipped, not
// errors. Run per page, right after its COPY, so the work is spread over the fetch instead of
// all landing between the last page and the commit (188 ms for 17,500 rows measured at once).
const std::string& move_stage_sql() {
  static const std::string sql = [] {
    const std::string cols = coin_market_column_list();
    return "INSERT INTO coin_market (" + cols + ") SELECT " + cols +
           " FROM coin_market_stage ON CONFLICT (coin_id, vs_currency, last_updated) DO NOTHING";
  }();
  return sql;
}

// The page as a reference to the same bytes in an earlier snapshot ($7), inserted only if that
// page is there with this digest and size, holds its bytes, and lies in the same UTC month of
// fetched_at (hence the same partition: retention drops both together). No conflict target, for
// the reason given in add_page.
constexpr const char* kInsertRawReference =
    "INSERT INTO coin_market_raw (snapshot_id, page, vs_currency, fetched_at, body, body_bytes, "
    "body_sha256, same_as_snapshot_id) "
    "SELECT $1, $2, $3, $4::timestamptz, NULL, $5, $6, b.snapshot_id FROM coin_market_raw b "
    "WHERE b.snapshot_id = $7 AND b.page = $2 AND b.vs_currency = $3 AND b.body_sha256 = $6 "
    "AND b.body_bytes = $5 AND b.body IS NOT NULL "
    "AND b.fetched_at >= date_trunc('month', $4::timestamptz AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' "
    "AND b.fetched_at < (date_trunc('month', $4::timestamptz AT TIME ZONE 'UTC') "
    "+ interval '1 month') AT TIME ZONE 'UTC' "
    "ON CONFLICT DO NOTHING";

// The exact bytes, sent as a binary parameter: nothing to parse or validate on the server
// (migration 0005: bytea, where jsonb refused \u0000 and out-of-range numbers). No conflict
// target: the key is (snapshot_id, page) before migration 0004 and (snapshot_id, page,
// fetched_at) after it, and this must work on either.
constexpr const char* kInsertRawBody =
    "INSERT INTO coin_market_raw (snapshot_id, page, vs_currency, fetched_at, body, body_bytes, "
    "body_sha256) VALUES ($1, $2, $3, $4::timestamptz, $5, $6, $7) ON CONFLICT DO NOTHING";

pqxx::binarystring bytes_param(const core::Sha256& digest) {
  return pqxx::binarystring(digest.data(), digest.size());
}

void append_sized(std::string& out, std::string_view text) {
  const auto size = static_cast<std::uint32_t>(text.size());
  std::array<char, sizeof size> bytes{};
  std::memcpy(bytes.data(), &size, sizeof size);
  out.append(bytes.data(), bytes.size());
  out.append(text);
}

std::string_view read_sized(const std::string& in, std::size_t& at) {
  std::uint32_t size = 0;
  std::memcpy(&size, in.data() + at, sizeof size);
  const std::string_view text(in.data() + at + sizeof size, size);
  at += sizeof size + size;
  return text;
}

DbError usage(std::string message) {
  return DbError{DbError::Kind::internal, "", std::move(message)};
}

} // namespace

bool SnapshotLoad::Impl::copy_straight(const std::string& rows, std::size_t count) {
  if (!copy_straight_ok) return false;
  try {
    pqxx::subtransaction savepoint{*work, "page_direct"};
    copy_rows(savepoint, "coin_market", rows);
    savepoint.commit();
    inserted += static_cast<std::int64_t>(count);
    return true;
  } catch (...) {
    // Rolled back to the savepoint. A row already stored (23505) or refused as data is the
    // staging path's to sort out, for these rows and (a conflict is rarely alone) the rest of
    // the snapshot; anything else (the connection, a refusal of the operation) ends it.
    DbError e = detail::translate_current_exception("copy into coin_market", secrets);
    const bool connection_open =
        session != nullptr && session->conn != nullptr && session->conn->is_open();
    if (e.kind != DbError::Kind::rejected || !connection_open) throw;
    copy_straight_ok = false;
    return false;
  }
}

std::optional<DbError> SnapshotLoad::Impl::try_rows(std::size_t lo, std::size_t hi) {
  const std::size_t begin = lo == 0 ? 0 : row_ends[lo - 1];
  const std::size_t end = row_ends[hi - 1];
  // The whole page as it is; a bisected part copied out.
  const bool whole = begin == 0 && end == copy_buffer.size();
  const std::string part = whole ? std::string() : copy_buffer.substr(begin, end - begin);
  const std::string& rows = whole ? copy_buffer : part;
  if (copy_straight(rows, hi - lo)) return std::nullopt;
  try {
    pqxx::subtransaction savepoint{*work, "page"};
    copy_rows(savepoint, "coin_market_stage", rows);
    const auto added = savepoint.exec(move_stage_sql()).affected_rows();
    // TRUNCATE, not DELETE: dead rows of earlier pages would be scanned again page after page
    // (the transaction keeps them).
    savepoint.exec("TRUNCATE coin_market_stage");
    savepoint.commit();
    inserted += added;
    return std::nullopt;
  } catch (...) {
    // The savepoint is rolled back by now (its destructor ran): staging and coin_market hold
    // nothing of these rows, and the snapshot transaction is usable again. Only a data error on
    // a live connection is the rows' fault; anything else ends the snapshot (the caller's fail()).
    DbError e = detail::translate_current_exception("insert into coin_market", secrets);
    const bool connection_open =
        session != nullptr && session->conn != nullptr && session->conn->is_open();
    if (e.kind != DbError::Kind::rejected || !connection_open) throw;
    return e;
  }
}

void SnapshotLoad::Impl::settle(std::span<const CoinMarket> coins, std::size_t lo, std::size_t hi,
                                PageResult& out) {
  auto refusal = try_rows(lo, hi);
  if (!refusal) return;
  if (hi - lo == 1) {
    out.rejected_rows.push_back(
        {coins[sent[lo]].id, std::move(refusal->sqlstate), std::move(refusal->message)});
    return;
  }
  // Halves until the refused rows are alone: k bad rows of n cost O(k log n) savepoints, and a
  // page with no bad row never gets here.
  const std::size_t mid = lo + (hi - lo) / 2;
  settle(coins, lo, mid, out);
  settle(coins, mid, hi, out);
}

void SnapshotLoad::Impl::copy_page(std::span<const CoinMarket> coins, PageResult& out) {
  const std::string& vs = meta.vs_currency;
  copy_buffer.clear();
  row_ends.clear();
  sent.clear();
  const RowContext context{vs, meta.snapshot_id, fetched_at_text};
  for (std::size_t i = 0; i < coins.size(); ++i) {
    const CoinMarket& coin = coins[i];
    // Already stored: ON CONFLICT would skip it, so it is not sent (counted unchanged).
    if (session != nullptr && session->known.contains(vs, coin.id, coin.last_updated)) continue;
    append_coin_row(copy_buffer, coin, context);
    row_ends.push_back(copy_buffer.size());
    sent.push_back(i);
  }
  out.rows_known = static_cast<std::int64_t>(coins.size() - sent.size());
  if (sent.empty()) return;
  settle(coins, 0, sent.size(), out);
  // What this page stored (sent, minus the rows PostgreSQL refused), known once committed.
  for (const std::size_t i : sent) {
    const CoinMarket& coin = coins[i];
    const bool refused =
        std::any_of(out.rejected_rows.begin(), out.rejected_rows.end(),
                    [&coin](const RejectedRow& r) { return r.coin_id == coin.id; });
    if (refused) continue;
    append_sized(pending_known, coin.id);
    append_sized(pending_known, coin.last_updated);
  }
}

bool SnapshotLoad::Impl::insert_reference(int page, std::int64_t size, const core::Sha256& digest,
                                          const std::string& earlier_snapshot_id) {
  return work->exec_params(kInsertRawReference, meta.snapshot_id, page, meta.vs_currency,
                           fetched_at_text, size, bytes_param(digest), earlier_snapshot_id)
             .affected_rows() == 1;
}

bool SnapshotLoad::Impl::store_raw_page(int page, std::string_view raw_body,
                                        const core::Sha256& digest, std::int64_t coins_stored) {
  const auto size = static_cast<std::int64_t>(raw_body.size());
  const StoredPages::Body* earlier =
      session != nullptr ? session->pages.find(meta.vs_currency, page) : nullptr;
  if (earlier != nullptr && earlier->digest == digest &&
      insert_reference(page, size, digest, earlier->snapshot_id)) {
    pending_pages.emplace_back(page, StoredPages::Body{digest, earlier->snapshot_id, coins_stored});
    return true;
  }
  work->exec_params(kInsertRawBody, meta.snapshot_id, page, meta.vs_currency, fetched_at_text,
                    pqxx::binarystring(raw_body.data(), raw_body.size()), size,
                    bytes_param(digest));
  pending_pages.emplace_back(page, StoredPages::Body{digest, meta.snapshot_id, coins_stored});
  return false;
}

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
  const bool connection_gone =
      (session != nullptr && session->conn != nullptr && !session->conn->is_open()) ||
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

bool SnapshotLoad::id_taken_by_another_snapshot() const noexcept {
  return m_impl && m_impl->id_collision;
}

tl::expected<PageResult, DbError> SnapshotLoad::add_page(int page, std::string_view raw_body,
                                                         std::span<const market::CoinMarket> coins,
                                                         std::int64_t rejected_in_page,
                                                         const core::Sha256* digest) {
  if (!m_impl) return unexpected(usage("add_page: moved-from SnapshotLoad"));
  Impl& s = *m_impl;
  if (s.failure) return unexpected(*s.failure);
  if (s.committed) return unexpected(usage("add_page: snapshot already committed"));
  PageResult result;
  if (!s.already_loaded) {
    if (!s.work) return unexpected(usage("add_page: snapshot transaction is closed"));
    try {
      s.copy_page(coins, result);
      const bool all_stored = rejected_in_page == 0 && result.rejected_rows.empty();
      result.raw_referenced =
          s.store_raw_page(page, raw_body, digest != nullptr ? *digest : core::sha256(raw_body),
                           all_stored ? static_cast<std::int64_t>(coins.size()) : -1);
    } catch (...) {
      return unexpected(
          s.fail("add page " + std::to_string(page) + " of snapshot " + s.meta.snapshot_id));
    }
  }
  const auto refused = static_cast<std::int64_t>(result.rejected_rows.size());
  const auto kept = static_cast<std::int64_t>(coins.size()) - refused;
  s.counts.pages += 1;
  s.counts.coins_received += kept;
  s.counts.rows_rejected += rejected_in_page + refused;
  s.counts.rows_known += result.rows_known;
  s.counts.pages_referenced += result.raw_referenced ? 1 : 0;
  s.staged += kept;
  return result;
}

tl::expected<std::optional<PageResult>, DbError>
SnapshotLoad::add_repeated_page(int page, std::string_view raw_body, const core::Sha256& digest) {
  if (!m_impl) return unexpected(usage("add_repeated_page: moved-from SnapshotLoad"));
  Impl& s = *m_impl;
  if (s.failure) return unexpected(*s.failure);
  if (s.committed) return unexpected(usage("add_repeated_page: snapshot already committed"));
  if (s.already_loaded || !s.work || s.session == nullptr) return std::nullopt;
  const StoredPages::Body* earlier = s.session->pages.find(s.meta.vs_currency, page);
  if (earlier == nullptr || earlier->digest != digest || earlier->coins_stored < 0)
    return std::nullopt;
  const std::int64_t coins = earlier->coins_stored;
  try {
    if (!s.insert_reference(page, static_cast<std::int64_t>(raw_body.size()), digest,
                            earlier->snapshot_id))
      return std::nullopt; // not confirmed: nothing was written, the caller parses the page
  } catch (...) {
    return unexpected(
        s.fail("add page " + std::to_string(page) + " of snapshot " + s.meta.snapshot_id));
  }
  s.counts.pages += 1;
  s.counts.coins_received += coins;
  s.counts.rows_known += coins;
  s.counts.pages_referenced += 1;
  s.staged += coins;
  PageResult result;
  result.rows_known = coins;
  result.raw_referenced = true;
  return result;
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

  const std::int64_t inserted = s.inserted;
  try {
    const pqxx::result run = s.work->exec_params(
        "INSERT INTO etl_runs (snapshot_id, vs_currency, started_at, fetched_at, status, pages, "
        "coins_received, rows_inserted, rows_unchanged, rows_rejected, error) "
        "VALUES ($1, $2, $3::timestamptz, $4::timestamptz, $5, $6, $7, $8, $9, $10, "
        "NULLIF($11, '')) ON CONFLICT (snapshot_id) DO NOTHING",
        s.meta.snapshot_id, s.meta.vs_currency, detail::to_timestamptz_text(s.meta.started_at),
        s.fetched_at_text, std::string(status), s.counts.pages, s.counts.coins_received, inserted,
        s.staged - inserted, s.counts.rows_rejected, std::string(error));
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
      return unexpected(
          DbError{DbError::Kind::internal, "",
                  "snapshot id " + s.meta.snapshot_id + " was committed by another snapshot"});
    }
    s.work->commit();
  } catch (...) {
    return unexpected(s.fail("commit snapshot " + s.meta.snapshot_id));
  }
  // Committed: what it stored is known to the session from now on.
  for (std::size_t at = 0; s.session != nullptr && at < s.pending_known.size();) {
    const std::string_view id = read_sized(s.pending_known, at);
    const std::string_view last_updated = read_sized(s.pending_known, at);
    s.session->known.remember(s.meta.vs_currency, id, last_updated);
  }
  for (auto& [page, body] : s.pending_pages)
    if (s.session != nullptr) s.session->pages.remember(s.meta.vs_currency, page, std::move(body));
  s.work.reset();
  s.committed = true;
  s.detach();
  LoadResult r{false, s.counts};
  r.counts.rows_inserted = inserted;
  r.counts.rows_unchanged = s.staged - inserted;
  return r;
}

} // namespace etl::db
