// Leader election through a session advisory lock on a dedicated connection: one holder at a
// time; release, death of the session (pg_terminate_backend) and an unreachable server.
#include "db/leader_lock.hpp"
#include "db_test_support.hpp"

#include <chrono>
#include <random>
#include <thread>

using namespace etl::db;
using namespace etl::db::test;

namespace {

// A key of the test's own, so parallel runs and the daemon's real key never interfere.
std::int64_t test_key() {
  return 0x7E57000000000000LL + static_cast<std::int64_t>(std::random_device{}() & 0xFFFFFF);
}

int holder_pid(const std::string& url, std::int64_t key) {
  const std::string sql =
      "SELECT coalesce(max(pid), 0) FROM pg_locks WHERE locktype = 'advisory' AND granted AND "
      "((classid::bigint << 32) | objid::bigint) = " +
      std::to_string(key);
  return std::stoi(scalar(url, sql));
}

// pg_terminate_backend only signals the backend. True once it has exited: its session (and
// with it the advisory lock) is gone. Generous: a loaded machine may take a while.
bool backend_gone(const std::string& url, int pid) {
  const std::string p = std::to_string(pid);
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < give_up) {
    if (scalar(url, "SELECT (SELECT count(*) FROM pg_stat_activity WHERE pid = " + p +
                        ") + (SELECT count(*) FROM pg_locks WHERE pid = " + p + ")") == "0")
      return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

} // namespace

TEST_CASE("leader lock: exactly one holder; release hands it over", "[db][leader]") {
  const std::string url = test_database_url();
  const auto key = test_key();
  LeaderLock a(url, "etl-leader-test-a", key);
  LeaderLock b(url, "etl-leader-test-b", key);
  auto sa = a.refresh();
  REQUIRE(sa);
  CHECK(sa->leader);
  CHECK(sa->backend_pid > 0);
  auto sb = b.refresh();
  REQUIRE(sb);
  CHECK_FALSE(sb->leader);
  CHECK(holder_pid(url, key) == sa->backend_pid);
  // The holder stays leader tick after tick; the standby keeps trying and keeps failing.
  for (int i = 0; i < 3; ++i) {
    CHECK(a.refresh().value().leader);
    CHECK_FALSE(b.refresh().value().leader);
  }
  // The lock session is findable by application_name (how an operator finds the leader).
  CHECK(scalar(url, "SELECT application_name FROM pg_stat_activity WHERE pid = " +
                        std::to_string(sa->backend_pid)) == "etl-leader-test-a");

  a.release();
  CHECK_FALSE(a.is_leader());
  sb = b.refresh();
  REQUIRE(sb);
  CHECK(sb->leader);
  CHECK_FALSE(a.refresh().value().leader);
}

TEST_CASE("leader lock: a terminated lock session loses leadership; the standby takes over",
          "[db][leader]") {
  const std::string url = test_database_url();
  const auto key = test_key();
  LeaderLock a(url, "etl-leader-test-a", key);
  LeaderLock b(url, "etl-leader-test-b", key);
  const auto sa = a.refresh();
  REQUIRE(sa);
  REQUIRE(sa->leader);
  REQUIRE_FALSE(b.refresh().value().leader);

  CHECK(scalar(url, "SELECT pg_terminate_backend(" + std::to_string(sa->backend_pid) + ")") == "t");
  REQUIRE(backend_gone(url, sa->backend_pid));
  // The server releases the lock when the session ends; the standby gets it on its next try.
  bool taken = false;
  for (int i = 0; i < 50 && !taken; ++i) {
    taken = b.refresh().value().leader;
    if (!taken) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  CHECK(taken);
  // The old leader notices at its next check (SELECT 1 fails), reconnects, and stands by.
  const auto after = a.refresh();
  REQUIRE(after);
  CHECK_FALSE(after->leader);
  CHECK(after->backend_pid != sa->backend_pid);
  CHECK(holder_pid(url, key) == b.refresh().value().backend_pid);
}

TEST_CASE("leader lock: a terminated session with no rival re-acquires at once", "[db][leader]") {
  const std::string url = test_database_url();
  const auto key = test_key();
  LeaderLock a(url, "etl-leader-test-a", key);
  const auto sa = a.refresh();
  REQUIRE(sa);
  REQUIRE(sa->leader);
  CHECK(scalar(url, "SELECT pg_terminate_backend(" + std::to_string(sa->backend_pid) + ")") == "t");
  // Once the session is gone (not after a fixed sleep): otherwise a still-running backend would
  // answer the liveness check and the "re-acquired" lock would be the old session's.
  REQUIRE(backend_gone(url, sa->backend_pid));
  const auto again = a.refresh();
  REQUIRE(again);
  CHECK(again->leader);
  CHECK(again->backend_pid != sa->backend_pid);
}

TEST_CASE("leader lock: an unreachable server is an unavailable error, never leadership",
          "[db][leader]") {
  LeaderLock lock("postgresql://postgres@127.0.0.1:1/none?connect_timeout=2", "etl-leader-test",
                  test_key());
  const auto status = lock.refresh();
  REQUIRE_FALSE(status);
  CHECK(status.error().kind == DbError::Kind::unavailable);
  CHECK_FALSE(lock.is_leader());
}
