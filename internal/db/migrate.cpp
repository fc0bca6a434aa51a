// The migrations runner: migrations/NNNN_name.sql (embedded, or a MIGRATIONS_DIR override),
// applied in order, each in its own transaction together with its schema_migrations row, so a
// file is applied exactly once.
#include "db/detail.hpp"
#include "db/migrations.hpp"

#include <map>
#include <vector>

#include <pqxx/nontransaction>

namespace etl::db {
namespace {

using tl::unexpected;

// Session advisory lock key ("coinetl" in ASCII): two daemons starting together migrate one
// after the other instead of racing on CREATE TABLE.
constexpr std::int64_t kMigrationLockKey = 0x636F696E65746C;

constexpr const char* kCreateSchemaMigrations = "CREATE TABLE IF NOT EXISTS schema_migrations ("
                                                " version integer PRIMARY KEY,"
                                                " name text NOT NULL,"
                                                " applied_at timestamptz NOT NULL DEFAULT now(),"
                                                " checksum text NOT NULL)";

DbError internal_error(std::string message) {
  return DbError{DbError::Kind::internal, "", std::move(message)};
}

// Held for the whole run; released even when a migration fails. If the connection broke, the
// server released it already and the unlock attempt fails harmlessly.
class AdvisoryLock {
public:
  explicit AdvisoryLock(pqxx::connection& conn) : m_conn(conn) {
    pqxx::nontransaction tx{m_conn};
    tx.exec_params("SELECT pg_advisory_lock($1::bigint)", kMigrationLockKey);
  }
  ~AdvisoryLock() {
    try {
      pqxx::nontransaction tx{m_conn};
      tx.exec_params("SELECT pg_advisory_unlock($1::bigint)", kMigrationLockKey);
    } catch (...) { // NOLINT(bugprone-empty-catch): see class comment
    }
  }
  AdvisoryLock(const AdvisoryLock&) = delete;
  AdvisoryLock& operator=(const AdvisoryLock&) = delete;

private:
  pqxx::connection& m_conn;
};

// The files not applied yet, in order, after every applied one is verified: an edited,
// already-applied migration means the database and the files disagree (the error says how),
// and guessing would be worse. `step` names what is being done, for an exception's error.
tl::expected<std::vector<const Migration*>, std::string>
pending_migrations(pqxx::connection& conn, const std::vector<Migration>& files, std::string& step) {
  std::map<int, std::pair<std::string, std::string>> recorded; // version -> name, checksum
  {
    pqxx::nontransaction tx{conn};
    for (const auto& row : tx.exec("SELECT version, name, checksum FROM schema_migrations"))
      recorded[row[0].as<int>()] = {row[1].as<std::string>(), row[2].as<std::string>()};
  }
  std::vector<const Migration*> pending;
  for (const Migration& f : files) {
    const auto found = recorded.find(f.version);
    if (found == recorded.end()) {
      pending.push_back(&f);
      continue;
    }
    step = "checksum " + f.name;
    pqxx::nontransaction tx{conn};
    const auto sum = tx.exec_params1("SELECT md5($1)", f.sql)[0].as<std::string>();
    if (sum != found->second.second)
      return unexpected("migration " + f.name + " was changed after it was applied (recorded as " +
                        found->second.first + ", md5 " + found->second.second + ", file md5 " +
                        sum + "): restore the file and add a new migration instead");
  }
  return pending;
}

} // namespace

tl::expected<int, DbError>
Database::migrate(const std::optional<std::filesystem::path>& migrations_dir) {
  detail::Session& s = m_impl->session;
  if (s.active_load != nullptr)
    return unexpected(internal_error("migrate: a snapshot transaction is still open"));
  auto files = load_migrations(migrations_dir);
  if (!files) return unexpected(internal_error(std::move(files.error())));
  if (auto ok = ensure_connected(); !ok) return unexpected(ok.error());

  std::string step = "lock migrations";
  int applied = 0;
  try {
    AdvisoryLock lock{*s.conn};
    step = "create schema_migrations";
    {
      pqxx::work tx{*s.conn};
      tx.exec(kCreateSchemaMigrations);
      tx.commit();
    }
    auto pending = pending_migrations(*s.conn, *files, step);
    if (!pending) return unexpected(internal_error(std::move(pending.error())));
    for (const Migration* f : *pending) {
      step = "apply migration " + f->name;
      pqxx::work tx{*s.conn, "migration"};
      tx.exec(f->sql);
      tx.exec_params("INSERT INTO schema_migrations (version, name, checksum) "
                     "VALUES ($1, $2, md5($3))",
                     f->version, f->name, f->sql);
      tx.commit();
      ++applied;
    }
    if (applied > 0 && s.staging_ready) {
      // Staging copies coin_market's columns: rebuild it after the schema changed.
      step = "drop staging";
      pqxx::nontransaction tx{*s.conn};
      tx.exec("DROP TABLE IF EXISTS pg_temp.coin_market_stage");
      s.staging_ready = false;
    }
  } catch (...) {
    DbError e = detail::translate_current_exception(step, s.secrets);
    if (detail::needs_reconnect(e)) s.drop();
    return unexpected(std::move(e));
  }
  return applied;
}

} // namespace etl::db
