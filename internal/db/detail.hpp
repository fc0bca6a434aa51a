#pragma once
// Private to etl::db: the state shared by Database and SnapshotLoad, and the libpqxx-to-DbError
// translation. Nothing outside internal/db includes this (it pulls in libpqxx).
#include "core/secret.hpp"
#include "db/database.hpp"
#include "db/known_rows.hpp"
#include "db/stored_pages.hpp"

#include <chrono>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <pqxx/pqxx>

namespace etl::db::detail {

// Rethrows the exception in flight (call only inside a catch block) and turns it into a
// DbError whose message starts with `what_failed` and holds no secret.
DbError translate_current_exception(std::string_view what_failed,
                                    const std::vector<Secret>& secrets);

// Whether the connection must be dropped after this error (it is broken, or its state is
// unknown): the next ensure_connected() then opens a fresh one.
bool needs_reconnect(const DbError& error) noexcept;

// UTC, microseconds, ISO 8601: "2026-11-22T14:00:00.000000Z" (what timestamptz parses exactly).
std::string to_timestamptz_text(std::chrono::system_clock::time_point tp);

// Adds connect_timeout when the conninfo has none, so an unreachable host fails in seconds
// instead of the kernel's TCP timeout (minutes) and never stalls the scheduler for long.
std::string with_default_connect_timeout(std::string conninfo, int seconds);

// Opens a connection set up as every session of the daemon: no silent reactivation, UTC,
// UTF8, warnings only, `application_name`. Throws libpqxx exceptions (translate them).
std::unique_ptr<pqxx::connection> open_connection(const std::string& conninfo,
                                                  const std::string& application_name);

// A bare connection that libpqxx will never silently re-open (a new session would lose the
// old one's temp table or advisory lock). Throws libpqxx exceptions.
std::unique_ptr<pqxx::connection> open_without_reactivation(const std::string& conninfo);

// What the session needs from an open snapshot transaction when the connection goes away.
struct OpenTransaction {
  virtual ~OpenTransaction() = default;
  virtual void abandon(DbError why) noexcept = 0;
};

// The connection and its per-session state. Owned by Database; a SnapshotLoad points at it
// while its transaction is open, and each side detaches the other when it goes away.
struct Session {
  std::string conninfo;
  std::string application_name;
  std::vector<Secret> secrets;
  std::unique_ptr<pqxx::connection> conn;
  bool staging_ready = false; // coin_market_stage exists in this session
  OpenTransaction* active_load = nullptr;
  // coin_market rows this session knows are committed (db/known_rows.hpp): read from the newest
  // snapshots when the session opens, then kept up to date by each commit.
  KnownRows known;
  // coin_market_raw pages it knows are stored in full (db/stored_pages.hpp), read and kept the
  // same way.
  StoredPages pages;
  bool known_loaded = false; // `known` and `pages` are read

  // Forgets both: rows or pages may have gone (retention, another replica leading).
  void forget_stored() noexcept;

  // Closes the connection; an open snapshot transaction is abandoned first (rolled back by
  // the server when the session ends).
  void drop() noexcept;
};

} // namespace etl::db::detail

namespace etl::db {

struct Database::Impl {
  detail::Session session;
};

struct SnapshotLoad::Impl final : detail::OpenTransaction {
  detail::Session* session = nullptr; // null once the Database is gone or reconnected
  std::vector<Secret> secrets;        // outlives the session, for messages after a reconnect
  std::unique_ptr<pqxx::work> work;
  SnapshotMeta meta;
  std::string fetched_at_text;
  bool already_loaded = false;
  bool id_collision = false; // already_loaded, but by a snapshot with another fetched_at
  bool committed = false;
  std::optional<DbError> failure; // the first error: the transaction is unusable after it
  LoadCounts counts;
  std::int64_t staged = 0;
  std::int64_t inserted = 0;         // rows the pages so far added to coin_market
  std::string copy_buffer;           // one page of COPY text, reused page after page
  std::vector<std::size_t> row_ends; // where each coin's line ends in copy_buffer
  std::vector<std::size_t> sent;     // coins[sent[i]] is copy_buffer's line i
  // Rows sent and stored by this transaction (of meta.vs_currency), known to the session once it
  // commits: coin id and last_updated, each as a 4-byte length and its bytes, in one buffer (the
  // whole market is 17,500 coins: one allocation instead of 35,000 strings).
  std::string pending_known;
  // Pages this transaction stored in full, known to the session once it commits.
  std::vector<std::pair<int, StoredPages::Body>> pending_pages;

  Impl(detail::Session& s, std::unique_ptr<pqxx::work> w, SnapshotMeta m, bool loaded);
  ~Impl() override;
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  // Ends the transaction without committing (the session or its connection is going away).
  void abandon(DbError why) noexcept override;
  DbError fail(std::string_view what_failed); // call inside a catch block
  void detach() noexcept;                     // the transaction is over: unlink from the session

  // Moves the page's rows [lo, hi) (lines of copy_buffer) into coin_market under a savepoint.
  // A data refusal is returned with the savepoint rolled back; any other failure is thrown.
  std::optional<DbError> try_rows(std::size_t lo, std::size_t hi);
  // The fast path of try_rows: COPY straight into coin_market under a savepoint, true when every
  // row went in. A conflict or a data refusal rolls it back and returns false (the staging path,
  // INSERT ... ON CONFLICT DO NOTHING, then takes these rows and the rest of the snapshot).
  bool copy_straight(const std::string& rows, std::size_t count);
  bool copy_straight_ok = true; // no conflict or refusal yet in this snapshot
  // try_rows(lo, hi), bisecting on refusal: the rows refused alone are added to `out`. Rows
  // [lo, hi) are lines of copy_buffer, coins[sent[i]] for line i.
  void settle(std::span<const market::CoinMarket> coins, std::size_t lo, std::size_t hi,
              PageResult& out);
  // The page's COPY lines, without the coins the session knows are stored, settled.
  void copy_page(std::span<const market::CoinMarket> coins, PageResult& out);
  // Stores the raw page: as a reference to the same bytes stored earlier when the session knows
  // of them and PostgreSQL confirms it, else in full. True for a reference. `coins_stored`: how
  // many coins of it are now all in coin_market (-1: not all), remembered on commit.
  bool store_raw_page(int page, std::string_view raw_body, const core::Sha256& digest,
                      std::int64_t coins_stored);
  // The reference insert alone: true when PostgreSQL found `earlier` and stored it.
  bool insert_reference(int page, std::int64_t size, const core::Sha256& digest,
                        const std::string& earlier_snapshot_id);
};

} // namespace etl::db
