#pragma once
// Leader election across replicas: a session-level PostgreSQL advisory lock held on a dedicated
// connection (never the loader's, so a reconnect of the loader cannot drop leadership and a
// long load cannot delay the liveness check). Whoever holds the lock is the one active poller;
// the others are standbys that retry every tick. The lock lives exactly as long as the session:
// when the leader process dies (kill -9) or its connection is terminated, the server releases
// it and the next standby to try gets it.
#include "db/database.hpp"

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include <tl/expected.hpp>

namespace etl::db {

// "coinldr" in ASCII; distinct from the migrations lock key ("coinetl"). Advisory locks are
// per database. The daemon passes leader_lock_key(name) instead, so only replicas polling the
// same thing elect together; this default is for callers with a single deployment (tests).
inline constexpr std::int64_t kLeaderLockKey = 0x636F696E6C6472;

// The advisory lock key of a leader-lock name (config::leader_lock_name): a stable 64-bit
// FNV-1a hash, the same in every version and on every host, so replicas of one deployment
// agree and deployments with different names almost surely do not collide.
constexpr std::int64_t leader_lock_key(std::string_view name) noexcept {
  std::uint64_t h = 14695981039346656037ull;
  for (const char c : std::string_view("coingecko-etl leader "))
    h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ull;
  for (const char c : name) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ull;
  return static_cast<std::int64_t>(h);
}

struct LeaderStatus {
  bool leader = false;
  int backend_pid = 0; // the lock session's server pid (0 when not connected)
};

// One thread at a time (the scheduler's). Not copyable; the destructor closes the session,
// which releases the lock.
class LeaderLock {
public:
  // `conninfo` as for Database. TCP keepalives and a TCP user timeout are added when the
  // conninfo has none, so a silently vanished network fails the liveness check in seconds
  // instead of hanging the tick, and the server drops a vanished leader's session (and lock)
  // on its own.
  LeaderLock(std::string conninfo, std::string application_name, std::int64_t key = kLeaderLockKey);
  ~LeaderLock();
  LeaderLock(const LeaderLock&) = delete;
  LeaderLock& operator=(const LeaderLock&) = delete;

  // Call once per tick. Leader: proves the lock session is alive (SELECT 1); if it is not,
  // leadership is lost, the session is dropped and one fresh attempt is made at once.
  // Standby: connects if needed and tries pg_try_advisory_lock. An error means the database
  // could not be asked: the caller is not the leader until a later refresh() says so.
  tl::expected<LeaderStatus, DbError> refresh();

  [[nodiscard]] bool is_leader() const noexcept;
  // Releases the lock and closes the session (graceful shutdown hands over at once).
  void release() noexcept;

private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
};

} // namespace etl::db
