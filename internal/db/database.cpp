// The connection lifecycle and the start of a snapshot transaction.
//
// Threading: a Database and its SnapshotLoads are used by one thread at a time (the
// scheduler's); nothing here locks. Only one SnapshotLoad may be open per Database.
#include "core/conninfo.hpp"
#include "db/detail.hpp"

#include <algorithm>

#include <pqxx/binarystring>
#include <pqxx/nontransaction>
#include <pqxx/subtransaction>

namespace etl::db {
namespace {

using tl::unexpected;

// Seconds libpq waits for a TCP connect / authentication before giving up. The connect runs on
// the polling thread, so a host that drops packets stalls fetching for this long per attempt
// (at most one attempt per tick): keep it to a few seconds.
constexpr int kConnectTimeoutSeconds = 5;

// Per-session staging for COPY: same columns as coin_market, emptied at every commit, invisible
// to other sessions. Created once per connection, after the migrations made coin_market.
constexpr const char* kCreateStaging =
    "CREATE TEMP TABLE IF NOT EXISTS coin_market_stage (LIKE coin_market INCLUDING DEFAULTS) "
    "ON COMMIT DELETE ROWS";

DbError usage(std::string message) {
  return DbError{DbError::Kind::internal, "", std::move(message)};
}

// The rows of the newest snapshots (ids sort by fetch time; the primary key of etl_runs and the
// BRIN index on coin_market.snapshot_id serve it), as the session's known rows: the coins that
// update often (the ones worth skipping); a coin unchanged for longer is sent once and known after
// that. Only timestamps with whole milliseconds: their text in CoinGecko's format
// (2026-04-30T02:29:06.506Z) is exactly what PostgreSQL stored.
void load_known_rows(pqxx::dbtransaction& work, KnownRows& known) {
  const pqxx::result rows = work.exec(
      "SELECT DISTINCT ON (vs_currency, coin_id) vs_currency, coin_id, "
      "to_char(last_updated AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') "
      "FROM coin_market WHERE snapshot_id >= (SELECT min(snapshot_id) FROM (SELECT snapshot_id "
      "FROM etl_runs ORDER BY snapshot_id DESC LIMIT 10) newest) "
      "AND last_updated = date_trunc('milliseconds', last_updated) "
      "ORDER BY vs_currency, coin_id, last_updated DESC");
  known.clear();
  for (const auto& row : rows) known.remember(row[0].c_str(), row[1].c_str(), row[2].c_str());
}

// The newest body stored in full for each (currency, page) of the newest snapshots, as the
// session's stored pages. A reference row names the snapshot holding its bytes, so both kinds of
// row tell where the body is. Pages stored before migration 0012 have no digest and are skipped.
void load_stored_pages(pqxx::dbtransaction& work, StoredPages& pages) {
  const pqxx::result rows =
      work.exec("SELECT DISTINCT ON (vs_currency, page) vs_currency, page, "
                "coalesce(same_as_snapshot_id, snapshot_id), body_sha256 "
                "FROM coin_market_raw WHERE snapshot_id >= (SELECT min(snapshot_id) FROM (SELECT "
                "snapshot_id FROM etl_runs ORDER BY snapshot_id DESC LIMIT 10) newest) "
                "AND body_sha256 IS NOT NULL ORDER BY vs_currency, page, snapshot_id DESC");
  pages.clear();
  for (const auto& row : rows) {
    const pqxx::binarystring digest(row[3]);
    StoredPages::Body body;
    if (digest.size() != body.digest.size()) continue;
    std::copy(digest.begin(), digest.end(), body.digest.begin());
    body.snapshot_id = row[2].c_str();
    pages.remember(row[0].c_str(), row[1].as<int>(), std::move(body));
  }
}

// Both reads under a savepoint: they only save work, so a refusal (a table an operator renamed,
// a schema behind this binary) leaves the session knowing nothing and the load goes on; the
// statement that needs the object reports it. A lost connection still fails the snapshot.
void read_stored(pqxx::work& work, detail::Session& s) {
  try {
    pqxx::subtransaction read{work, "read_stored"};
    load_known_rows(read, s.known);
    load_stored_pages(read, s.pages);
    read.commit();
    s.known_loaded = true;
  } catch (const pqxx::sql_error&) {
    s.known.clear();
    s.pages.clear();
  }
}

} // namespace

void detail::Session::forget_stored() noexcept {
  known.clear();
  pages.clear();
  known_loaded = false;
}

void detail::Session::drop() noexcept {
  if (active_load != nullptr) {
    OpenTransaction* load = active_load;
    active_load = nullptr;
    load->abandon(DbError{DbError::Kind::unavailable, "",
                          "connection to PostgreSQL closed during the snapshot transaction"});
  }
  conn.reset();
  staging_ready = false;
  // Read again on the next session: while disconnected another replica may have led, and its
  // retention may have dropped rows this one remembers.
  forget_stored();
}

std::unique_ptr<pqxx::connection> detail::open_without_reactivation(const std::string& conninfo) {
  auto conn = std::make_unique<pqxx::connection>(conninfo);
  // libpqxx 6 would otherwise silently reconnect a broken connection, losing the session's
  // temp table and advisory lock behind our back; we reconnect explicitly instead.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
  conn->inhibit_reactivation(true);
#pragma GCC diagnostic pop
  return conn;
}

std::unique_ptr<pqxx::connection> detail::open_connection(const std::string& conninfo,
                                                          const std::string& application_name) {
  auto conn = open_without_reactivation(conninfo);
  pqxx::nontransaction setup{*conn};
  // UTC so timestamps read back as text are unambiguous; UTF8 because COPY rows are sent as
  // the API's UTF-8 bytes (db/copy_text.hpp); notices ("already exists,
  // skipping") would otherwise go to stderr through libpqxx's default handler.
  setup.exec_params("SELECT set_config('application_name', $1, false), "
                    "set_config('TimeZone', 'UTC', false), "
                    "set_config('client_min_messages', 'warning', false), "
                    "set_config('client_encoding', 'UTF8', false)",
                    application_name);
  setup.commit();
  return conn;
}

Database::Database(std::string conninfo, std::string application_name)
    : m_impl(std::make_unique<Impl>()) {
  m_impl->session.secrets = core::conninfo_secrets(conninfo);
  m_impl->session.conninfo =
      detail::with_default_connect_timeout(std::move(conninfo), kConnectTimeoutSeconds);
  m_impl->session.application_name = std::move(application_name);
}

Database::~Database() { m_impl->session.drop(); }

bool Database::connected() const noexcept {
  const auto& conn = m_impl->session.conn;
  return conn != nullptr && conn->is_open();
}

void Database::disconnect() noexcept { m_impl->session.drop(); }

void Database::forget_stored() noexcept { m_impl->session.forget_stored(); }

tl::expected<void, DbError> Database::ensure_connected() {
  detail::Session& s = m_impl->session;
  if (connected()) return {};
  s.drop();
  try {
    s.conn = detail::open_connection(s.conninfo, s.application_name);
  } catch (...) {
    return unexpected(detail::translate_current_exception("connect to PostgreSQL", s.secrets));
  }
  return {};
}

tl::expected<SnapshotLoad, DbError> Database::begin_snapshot(const SnapshotMeta& meta) {
  detail::Session& s = m_impl->session;
  if (s.active_load != nullptr)
    return unexpected(usage("begin_snapshot: another snapshot transaction is still open"));
  const std::string what = "begin snapshot " + meta.snapshot_id;
  // A connection that sat idle may have been closed by the server (restart, idle timeout)
  // without us noticing. Nothing is written before the first statement succeeds, so one
  // retry on a fresh connection is safe, and spares the caller a failed tick.
  for (int attempt = 0;; ++attempt) {
    const bool reused = connected();
    if (auto ok = ensure_connected(); !ok) return unexpected(ok.error());
    try {
      if (!s.staging_ready) {
        pqxx::work create{*s.conn, "create_staging"};
        create.exec(kCreateStaging);
        create.commit();
        s.staging_ready = true;
      }
      auto work = std::make_unique<pqxx::work>(*s.conn, "snapshot");
      // A replay re-reads the same raw files, so it carries the same fetched_at; a different
      // fetched_at under the same id is another poll that happened to get the same name.
      const pqxx::result done = work->exec_params(
          "SELECT fetched_at IS NOT DISTINCT FROM $2::timestamptz FROM etl_runs WHERE snapshot_id = $1",
          meta.snapshot_id, detail::to_timestamptz_text(meta.fetched_at));
      if (!s.known_loaded) read_stored(*work, s);
      auto impl = std::make_unique<SnapshotLoad::Impl>(s, std::move(work), meta, !done.empty());
      impl->id_collision = !done.empty() && !done[0][0].as<bool>();
      return SnapshotLoad(std::move(impl));
    } catch (...) {
      DbError e = detail::translate_current_exception(what, s.secrets);
      if (!detail::needs_reconnect(e)) return unexpected(std::move(e));
      s.drop();
      if (!reused || attempt > 0) return unexpected(std::move(e));
    }
  }
}

} // namespace etl::db
