#pragma once
// PostgreSQL through libpqxx 6.4: one long-lived connection, re-opened when it breaks;
// the migrations runner; one transaction per snapshot. libpqxx exceptions never leave this
// module: they become DbError values.
#include "core/sha256.hpp"
#include "market/coin_market.hpp"

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <tl/expected.hpp>

namespace etl::db {

struct DbError {
  enum class Kind {
    unavailable, // connection lost/refused, resources, operator intervention: retry later
    rejected,    // the data was refused (SQLSTATE class 22, 23, 54): retrying will not help
    refused,     // the server refused the operation, not the data: read-only (a failover to a
                 // standby), privileges, missing objects, lock timeouts (any other SQLSTATE):
                 // an operator can fix it, so the snapshot waits and is retried
    internal,    // no SQLSTATE (a client-side failure)
  };
  Kind kind;
  std::string sqlstate; // "" when none
  std::string message;  // secrets removed
};
std::string_view
to_string(DbError::Kind kind) noexcept; // "unavailable", "rejected", "refused", "internal"

struct SnapshotMeta {
  std::string snapshot_id; // e.g. 20261122T140000Z_usd
  std::string vs_currency;
  std::chrono::system_clock::time_point started_at; // tick start
  std::chrono::system_clock::time_point fetched_at; // first page's arrival
};

struct LoadCounts {
  std::int64_t pages = 0;
  std::int64_t coins_received = 0; // valid coins offered (sum of add_page's coins.size()) minus
                                   // those PostgreSQL refused;
                                   // rows_inserted + rows_unchanged == coins_received
  std::int64_t rows_inserted = 0;
  std::int64_t rows_unchanged = 0;
  std::int64_t rows_rejected = 0; // by the parser (add_page's rejected_in_page) and by PostgreSQL
  std::int64_t rows_known = 0;    // of rows_unchanged: not even sent, the session knew them stored
  std::int64_t pages_referenced = 0; // of pages: raw body stored as a reference to an identical
                                     // earlier page (migration 0012), not a second copy
};

// A coin PostgreSQL refused (a data error: SQLSTATE class 22, 23 or 54) while the rest of its
// page was stored: isolated under savepoints, dropped, counted in rows_rejected.
struct RejectedRow {
  std::string coin_id;
  std::string sqlstate;
  std::string message; // the server's message, secrets removed
};

struct PageResult {
  std::vector<RejectedRow> rejected_rows; // empty on the normal path
  std::int64_t rows_known = 0;            // not sent: the session knows they are stored
  bool raw_referenced = false;            // the raw body was stored as a reference
};

struct LoadResult {
  bool already_loaded = false; // the snapshot was committed before: nothing changed, and every
                               // coin offered is counted in rows_unchanged
  LoadCounts counts;
};

class Database;

// One snapshot's transaction. Pages are added one at a time (memory bounded by a page);
// commit() writes the etl_runs row and commits; destruction without commit rolls back.
// After the first error the transaction is rolled back and every later call returns that
// error: the caller keeps the snapshot pending and replays it with a new begin_snapshot().
// If the Database is destroyed or reconnects first, calls fail with Kind::unavailable.
class SnapshotLoad {
public:
  SnapshotLoad(SnapshotLoad&&) noexcept;
  SnapshotLoad& operator=(SnapshotLoad&&) noexcept;
  ~SnapshotLoad();

  // Stores the raw page (the body's exact bytes, bytea, in coin_market_raw, with their SHA-256;
  // a body identical to a page stored earlier in the same month as a reference to it: migration
  // 0012) and moves its coins
  // into coin_market: one COPY under one savepoint. If PostgreSQL refuses that as data (class
  // 22, 23, 54), the savepoint is rolled back and the page is bisected, each half under its own
  // savepoint, down to the single rows it refuses: those are dropped and returned, the others
  // stay. Any other error fails the snapshot as described above.
  // `digest`: core::sha256(raw_body) when the caller has it (computed here otherwise).
  tl::expected<PageResult, DbError> add_page(int page, std::string_view raw_body,
                                             std::span<const market::CoinMarket> coins,
                                             std::int64_t rejected_in_page,
                                             const core::Sha256* digest = nullptr);
  // A page whose bytes (`digest`, core::sha256 of raw_body) the session knows are stored with
  // every coin of it in coin_market (db/stored_pages.hpp): stored as a reference to them, its
  // coins counted received and unchanged, without the caller parsing it. nullopt when the session
  // cannot vouch for it or PostgreSQL does not confirm the earlier page: nothing was written, and
  // the caller parses the page and calls add_page. Errors as add_page's.
  tl::expected<std::optional<PageResult>, DbError>
  add_repeated_page(int page, std::string_view raw_body, const core::Sha256& digest);
  // Moves staged rows into coin_market (ON CONFLICT DO NOTHING), writes etl_runs with
  // status ("loaded", "partial" or "rejected") and error text, commits.
  tl::expected<LoadResult, DbError> commit(std::string_view status, std::string_view error);

  // True when etl_runs already holds this snapshot_id but with another fetched_at: a different
  // poll (another process, another DATA_DIR, the same second) got the same id first. This one
  // is then not a replay and must be loaded under another id, not skipped.
  [[nodiscard]] bool id_taken_by_another_snapshot() const noexcept;

private:
  friend class Database;
  struct Impl;
  explicit SnapshotLoad(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> m_impl;
};

// Used by one thread at a time (the scheduler's); nothing here locks. One SnapshotLoad may be
// open at a time. Each operation opens the connection when needed, so after an outage the next
// call reconnects by itself; a connection found broken is dropped and reopened on next use.
class Database {
public:
  // Does not connect yet; `conninfo` is a libpq URI or key=value string (holds the password).
  explicit Database(std::string conninfo, std::string application_name = "coingecko-etl");
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  // Opens the connection if it is not open (or was broken). Cheap when already connected.
  tl::expected<void, DbError> ensure_connected();
  [[nodiscard]] bool connected() const noexcept;
  void disconnect() noexcept;
  // Forgets which coin_market rows and coin_market_raw pages are stored (db/known_rows.hpp,
  // db/stored_pages.hpp); the next snapshot reads them again. For when rows may have gone:
  // retention dropped partitions, or another replica led.
  void forget_stored() noexcept;

  // Applies every migrations/NNNN_*.sql not yet in schema_migrations, in order, each in its
  // own transaction, under a session advisory lock. Returns how many were applied. The files of
  // `migrations_dir` when set, else the set compiled into the binary (db/migrations.hpp).
  tl::expected<int, DbError>
  migrate(const std::optional<std::filesystem::path>& migrations_dir = std::nullopt);

  // Starts the snapshot transaction. If etl_runs already has this snapshot_id the result is a
  // SnapshotLoad whose commit() returns already_loaded without writing anything.
  // A connection the server closed while idle is detected on the first statement and replaced
  // once, transparently (nothing was written yet); a failure on a fresh connection is returned.
  tl::expected<SnapshotLoad, DbError> begin_snapshot(const SnapshotMeta& meta);

private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
};

} // namespace etl::db
