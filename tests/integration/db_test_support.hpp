#pragma once
// Shared by the [db] integration tests: the server URL, one private schema per test (so tests
// never see each other's rows, nor other modules' tests on the same database), and a
// CoinMarket builder.
#include "db/database.hpp"
#include "market/coin_market.hpp"

#include <catch2/catch.hpp>

#include <cstdlib>
#include <string>

#include <pqxx/pqxx>

namespace etl::db::test {

inline std::string test_database_url() {
  const char* url = std::getenv("ETL_TEST_DATABASE_URL");
  if (url == nullptr || *url == '\0')
    FAIL("ETL_TEST_DATABASE_URL is not set. These tests need a real PostgreSQL: run them via "
         "scripts/test.sh, or start one with `scripts/pg-test-cluster.sh start /tmp/pgtest 55439` "
         "and export ETL_TEST_DATABASE_URL=<the URL it prints>.");
  return url;
}

// The test URL with every unqualified table name resolved in `schema`.
inline std::string url_in_schema(const std::string& schema) {
  std::string url = test_database_url();
  url += url.find('?') == std::string::npos ? '?' : '&';
  url += "options=-csearch_path%3D" + schema;
  return url;
}

// Drops and recreates `schema`; returns a URL that works inside it.
inline std::string fresh_schema(const std::string& schema) {
  pqxx::connection admin{test_database_url()};
  pqxx::nontransaction tx{admin};
  tx.exec("SET client_min_messages = warning");
  tx.exec("DROP SCHEMA IF EXISTS " + tx.quote_name(schema) + " CASCADE");
  tx.exec("CREATE SCHEMA " + tx.quote_name(schema));
  return url_in_schema(schema);
}

// A fresh schema with the project's migrations applied, and the Database that did it.
struct MigratedSchema {
  std::string url;
  Database db;
  explicit MigratedSchema(const std::string& schema, std::string app = "etl-db-test")
      : url(fresh_schema(schema)), db(url, std::move(app)) {
    auto applied = db.migrate(ETL_MIGRATIONS_DIR);
    if (!applied) FAIL("migrate: " << applied.error().message);
  }
};

// One query's first column of the first row, as text ("<null>" for NULL).
inline std::string scalar(const std::string& url, const std::string& sql) {
  pqxx::connection c{url};
  pqxx::nontransaction tx{c};
  const pqxx::result r = tx.exec(sql);
  if (r.empty()) return "<no rows>";
  return r[0][0].is_null() ? "<null>" : r[0][0].as<std::string>();
}

inline std::int64_t count(const std::string& url, const std::string& sql) {
  return std::stoll(scalar(url, sql));
}

inline market::CoinMarket make_coin(std::string id, std::string last_updated) {
  market::CoinMarket c;
  c.symbol = id.substr(0, 3);
  c.name = "Coin " + id;
  c.id = std::move(id);
  c.image = "https://assets.coingecko.com/coins/images/1/large/" + c.id + ".png";
  c.current_price = "1.5";
  c.market_cap = "1500000";
  c.market_cap_rank = 7;
  c.total_volume = "12345.678";
  c.last_updated = std::move(last_updated);
  return c;
}

inline SnapshotMeta make_meta(std::string snapshot_id) {
  SnapshotMeta m;
  m.snapshot_id = std::move(snapshot_id);
  m.vs_currency = "usd";
  // In the past, as for a real tick: etl_runs.loaded_at (the server's now()) comes after both.
  m.started_at = std::chrono::system_clock::now() - std::chrono::seconds(1);
  m.fetched_at = m.started_at + std::chrono::milliseconds(250);
  return m;
}

// Loads `coins` as a single page and commits with status "loaded".
inline tl::expected<LoadResult, DbError>
load_one_page(Database& db, const SnapshotMeta& meta,
              const std::vector<market::CoinMarket>& coins) {
  auto load = db.begin_snapshot(meta);
  if (!load) return tl::unexpected(load.error());
  if (auto ok = load->add_page(1, "[]", coins, 0); !ok) return tl::unexpected(ok.error());
  return load->commit("loaded", "");
}

} // namespace etl::db::test
