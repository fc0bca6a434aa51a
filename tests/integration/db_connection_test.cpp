// Connection failures, reconnection and error classification against a real PostgreSQL.
#include "core/conninfo.hpp"
#include "db/detail.hpp"
#include "db_test_support.hpp"

#include <chrono>

using namespace etl::db;
using namespace etl::db::test;

namespace {

// Ends every backend of `app` from a second connection, as an operator or a failover would.
int terminate_backends(const std::string& url, const std::string& app) {
  pqxx::connection admin{url};
  pqxx::nontransaction tx{admin};
  const pqxx::result r = tx.exec_params(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1", app);
  return static_cast<int>(r.size());
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

} // namespace

TEST_CASE("a server that is not there is unavailable, quickly", "[db]") {
  (void)test_database_url(); // same precondition as every [db] test
  Database db("postgresql://postgres@127.0.0.1:1/coingecko_test");
  const auto start = std::chrono::steady_clock::now();
  auto c = db.ensure_connected();
  REQUIRE_FALSE(c.has_value());
  CHECK(c.error().kind == DbError::Kind::unavailable);
  CHECK_FALSE(db.connected());
  auto m = db.migrate(ETL_MIGRATIONS_DIR);
  REQUIRE_FALSE(m.has_value());
  CHECK(m.error().kind == DbError::Kind::unavailable);
  auto b = db.begin_snapshot(make_meta("x_usd"));
  REQUIRE_FALSE(b.has_value());
  CHECK(b.error().kind == DbError::Kind::unavailable);
  CHECK(seconds_since(start) < 2.0);
  CHECK(to_string(b.error().kind) == "unavailable");
}

TEST_CASE("connection errors never contain the password", "[db]") {
  (void)test_database_url();
  SECTION("URI") {
    Database db("postgresql://postgres:s3cr3t-P4ss@127.0.0.1:1/coingecko_test");
    auto r = db.ensure_connected();
    REQUIRE_FALSE(r.has_value());
    CHECK_THAT(r.error().message, !Catch::Contains("s3cr3t-P4ss"));
  }
  SECTION("libpq echoes a bad value that happens to be the password") {
    Database db("host=127.0.0.1 port=s3cr3t-P4ss password=s3cr3t-P4ss");
    auto r = db.ensure_connected();
    REQUIRE_FALSE(r.has_value());
    CHECK_THAT(r.error().message, Catch::Contains("port"));
    CHECK_THAT(r.error().message, Catch::Contains("<redacted>"));
    CHECK_THAT(r.error().message, !Catch::Contains("s3cr3t-P4ss"));
  }
}

TEST_CASE("a terminated backend is replaced on the next begin_snapshot", "[db]") {
  const std::string app = "etl-db-test-terminate";
  MigratedSchema s("etl_db_conn_terminate", app);
  REQUIRE(load_one_page(s.db, make_meta("t1_usd"), {make_coin("bitcoin", "2024-03-30T10:00:00Z")})
              .has_value());
  REQUIRE(s.db.connected());
  REQUIRE(terminate_backends(s.url, app) == 1);

  // The idle connection died unnoticed; begin_snapshot finds out on its first statement and,
  // since nothing was written yet, retries once on a new connection (with a new staging table).
  auto r = load_one_page(s.db, make_meta("t2_usd"), {make_coin("bitcoin", "2024-03-30T10:00:30Z")});
  REQUIRE(r.has_value());
  CHECK(r->counts.rows_inserted == 1);
  CHECK(s.db.connected());
  CHECK(count(s.url, "SELECT count(*) FROM etl_runs") == 2);
}

TEST_CASE("a backend terminated mid-snapshot fails that snapshot; the next one reconnects",
          "[db]") {
  const std::string app = "etl-db-test-terminate-mid";
  MigratedSchema s("etl_db_conn_terminate_mid", app);
  const SnapshotMeta meta = make_meta("m1_usd");
  auto load = s.db.begin_snapshot(meta);
  REQUIRE(load.has_value());
  REQUIRE(load->add_page(1, "[]", std::vector{make_coin("bitcoin", "2024-03-30T11:00:00Z")}, 0)
              .has_value());
  REQUIRE(terminate_backends(s.url, app) == 1);

  auto page2 = load->add_page(2, "[]", std::vector{make_coin("ether", "2024-03-30T11:00:00Z")}, 0);
  REQUIRE_FALSE(page2.has_value());
  CHECK(page2.error().kind == DbError::Kind::unavailable);
  CHECK_FALSE(s.db.connected());
  auto commit = load->commit("loaded", "");
  REQUIRE_FALSE(commit.has_value());
  CHECK(commit.error().kind == DbError::Kind::unavailable);
  CHECK(count(s.url, "SELECT count(*) FROM coin_market_raw") == 0);

  // The caller keeps the snapshot pending and replays it: all of it lands, once.
  auto again = s.db.begin_snapshot(meta);
  REQUIRE(again.has_value());
  CHECK(s.db.connected());
  REQUIRE(again->add_page(1, "[]", std::vector{make_coin("bitcoin", "2024-03-30T11:00:00Z")}, 0)
              .has_value());
  REQUIRE(again->add_page(2, "[]", std::vector{make_coin("ether", "2024-03-30T11:00:00Z")}, 0)
              .has_value());
  auto r = again->commit("loaded", "");
  REQUIRE(r.has_value());
  CHECK(r->counts.rows_inserted == 2);
  CHECK(count(s.url, "SELECT count(*) FROM coin_market_raw") == 2);
}

TEST_CASE("ensure_connected reconnects after disconnect and sets application_name", "[db]") {
  const std::string app = "etl-db-test-appname";
  MigratedSchema s("etl_db_conn_appname", app);
  CHECK(count(s.url,
              "SELECT count(*) FROM pg_stat_activity WHERE application_name = '" + app + "'") == 1);
  s.db.disconnect();
  CHECK_FALSE(s.db.connected());
  REQUIRE(s.db.ensure_connected().has_value());
  CHECK(s.db.connected());
  REQUIRE(s.db.ensure_connected().has_value()); // cheap no-op when open
  CHECK(count(s.url,
              "SELECT count(*) FROM pg_stat_activity WHERE application_name = '" + app + "'") == 1);
}

TEST_CASE("conninfo helpers: secrets, connect_timeout, timestamps", "[db]") {
  using namespace etl::db::detail;
  using etl::core::conninfo_secrets;
  const auto texts = [](const std::vector<etl::Secret>& v) {
    std::vector<std::string> out;
    out.reserve(v.size());
    for (const auto& s : v) out.push_back(s.reveal());
    return out;
  };
  CHECK(texts(conninfo_secrets("postgresql://u:p%40ss@h:5432/db")) ==
        std::vector<std::string>{"p@ss", "p%40ss"});
  CHECK(texts(conninfo_secrets("postgres://u@h/db?sslmode=disable&password=pw")) ==
        std::vector<std::string>{"pw"});
  CHECK(texts(conninfo_secrets("host=h password='it\\'s secret' user=u")) ==
        std::vector<std::string>{"it\\'s secret", "it's secret"});
  CHECK(texts(conninfo_secrets("host=h password = plain user=u")) ==
        std::vector<std::string>{"plain"});
  CHECK(conninfo_secrets("postgresql://u@h/db").empty());

  CHECK(with_default_connect_timeout("postgresql://h/db", 10) ==
        "postgresql://h/db?connect_timeout=10");
  CHECK(with_default_connect_timeout("postgresql://h/db?sslmode=disable", 5) ==
        "postgresql://h/db?sslmode=disable&connect_timeout=5");
  CHECK(with_default_connect_timeout("host=h", 10) == "host=h connect_timeout=10");
  CHECK(with_default_connect_timeout("", 10) == "connect_timeout=10");
  CHECK(with_default_connect_timeout("host=h connect_timeout=3", 10) == "host=h connect_timeout=3");

  using namespace std::chrono;
  const auto tp = system_clock::time_point{seconds{1711802096} + microseconds{789012}};
  CHECK(to_timestamptz_text(tp) == "2024-03-30T12:34:56.789012Z");
  CHECK(to_timestamptz_text(system_clock::time_point{}) == "1970-01-01T00:00:00.000000Z");
}
