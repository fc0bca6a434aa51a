#include "db/leader_lock.hpp"

#include "core/conninfo.hpp"
#include "db/detail.hpp"

#include <pqxx/nontransaction>

namespace etl::db {
namespace {

using tl::unexpected;

constexpr int kConnectTimeoutSeconds = 5;

} // namespace

struct LeaderLock::Impl {
  std::string conninfo;
  std::string application_name;
  std::vector<Secret> secrets;
  std::int64_t key = kLeaderLockKey;
  std::unique_ptr<pqxx::connection> conn;
  bool leader = false;
  int backend_pid = 0;

  void drop() noexcept {
    conn.reset(); // closing the session releases the lock on the server
    leader = false;
    backend_pid = 0;
  }

  void connect() {
    // Never silently reconnect: a new session does not hold the old session's lock.
    auto c = detail::open_without_reactivation(conninfo);
    pqxx::nontransaction setup{*c};
    // Server-side keepalives: if this process vanishes without closing its socket (a node
    // lost, a cable pulled), the server notices within ~20 s and releases the lock.
    const pqxx::row r =
        setup.exec_params1("SELECT pg_backend_pid(), set_config('application_name', $1, false), "
                           "set_config('tcp_keepalives_idle', '10', false), "
                           "set_config('tcp_keepalives_interval', '5', false), "
                           "set_config('tcp_keepalives_count', '2', false), "
                           "set_config('client_min_messages', 'warning', false)",
                           application_name);
    setup.commit();
    backend_pid = r[0].as<int>();
    conn = std::move(c);
  }

  bool try_lock() {
    pqxx::nontransaction tx{*conn};
    return tx.exec_params1("SELECT pg_try_advisory_lock($1::bigint)", key)[0].as<bool>();
  }

  bool alive() {
    pqxx::nontransaction tx{*conn};
    tx.exec("SELECT 1");
    return true;
  }
};

LeaderLock::LeaderLock(std::string conninfo, std::string application_name, std::int64_t key)
    : m_impl(std::make_unique<Impl>()) {
  m_impl->secrets = core::conninfo_secrets(conninfo);
  conninfo = detail::with_default_connect_timeout(std::move(conninfo), kConnectTimeoutSeconds);
  conninfo = core::with_default_conninfo_param(std::move(conninfo), "keepalives", "1");
  conninfo = core::with_default_conninfo_param(std::move(conninfo), "keepalives_idle", "5");
  conninfo = core::with_default_conninfo_param(std::move(conninfo), "keepalives_interval", "2");
  conninfo = core::with_default_conninfo_param(std::move(conninfo), "keepalives_count", "3");
  // Bounds how long an unacknowledged send blocks (ms): the liveness check cannot hang a tick.
  conninfo = core::with_default_conninfo_param(std::move(conninfo), "tcp_user_timeout", "10000");
  m_impl->conninfo = std::move(conninfo);
  m_impl->application_name = std::move(application_name);
  m_impl->key = key;
}

LeaderLock::~LeaderLock() { release(); }

bool LeaderLock::is_leader() const noexcept { return m_impl->leader; }

void LeaderLock::release() noexcept {
  Impl& s = *m_impl;
  if (s.conn && s.leader) {
    try {
      pqxx::nontransaction tx{*s.conn};
      tx.exec_params("SELECT pg_advisory_unlock($1::bigint)", s.key);
    } catch (...) { // NOLINT(bugprone-empty-catch): closing the session below releases it anyway
    }
  }
  s.drop();
}

tl::expected<LeaderStatus, DbError> LeaderLock::refresh() {
  Impl& s = *m_impl;
  if (s.leader) {
    try {
      if (s.conn && s.conn->is_open() && s.alive()) return LeaderStatus{true, s.backend_pid};
    } catch (...) {
      // The session is gone (terminated, network, server restart): so is the lock. Fall
      // through to one fresh attempt; whoever gets the lock first is the leader now.
    }
    s.drop();
  }
  try {
    if (!s.conn || !s.conn->is_open()) {
      s.drop();
      s.connect();
    }
    s.leader = s.try_lock();
  } catch (...) {
    DbError e = detail::translate_current_exception("leader lock", s.secrets);
    s.drop();
    return unexpected(std::move(e));
  }
  return LeaderStatus{s.leader, s.backend_pid};
}

} // namespace etl::db
