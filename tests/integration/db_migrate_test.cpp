// The migrations runner against a real PostgreSQL, each test in its own schema.
#include "db_test_support.hpp"

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>
#include <unistd.h>

namespace fs = std::filesystem;
using namespace etl::db;
using namespace etl::db::test;

namespace {

// A private copy of migrations/ that a test may edit.
struct TempMigrationsDir {
  fs::path path;
  TempMigrationsDir() {
    path = fs::temp_directory_path() / ("etl-db-migrations-" + std::to_string(::getpid()));
    fs::remove_all(path);
    fs::create_directories(path);
    for (const auto& e : fs::directory_iterator(ETL_MIGRATIONS_DIR))
      fs::copy_file(e.path(), path / e.path().filename());
  }
  ~TempMigrationsDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  TempMigrationsDir(const TempMigrationsDir&) = delete;
  TempMigrationsDir& operator=(const TempMigrationsDir&) = delete;
  void write(const std::string& name, const std::string& text, bool append = false) const {
    std::ofstream out(path / name, append ? std::ios::app : std::ios::trunc);
    out << text;
  }
};

// Advisory locks held by the sessions whose application_name is `app`.
std::int64_t advisory_locks(const std::string& url, const std::string& app) {
  return count(url, "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a USING (pid) "
                    "WHERE l.locktype = 'advisory' AND a.application_name = '" +
                        app + "'");
}

std::int64_t migration_files() {
  std::int64_t n = 0;
  for (const auto& e : fs::directory_iterator(ETL_MIGRATIONS_DIR))
    if (e.path().extension() == ".sql") ++n;
  return n;
}

} // namespace

TEST_CASE("migrate applies every file once, then nothing", "[db]") {
  const std::string url = fresh_schema("etl_db_migrate_twice");
  Database db(url, "etl-db-migrate-twice");
  auto first = db.migrate(ETL_MIGRATIONS_DIR);
  REQUIRE(first.has_value());
  CHECK(*first == migration_files());
  auto second = db.migrate(ETL_MIGRATIONS_DIR);
  REQUIRE(second.has_value());
  CHECK(*second == 0);
  CHECK(count(url, "SELECT count(*) FROM schema_migrations") == migration_files());
  CHECK(scalar(url, "SELECT name FROM schema_migrations WHERE version = 1") == "0001_initial.sql");
  CHECK(scalar(url, "SELECT length(checksum) FROM schema_migrations WHERE version = 1") == "32");
  // The contract's tables and view exist.
  for (const char* rel : {"coin_market", "coin_market_raw", "etl_runs", "coin_market_latest"})
    CHECK(scalar(url, std::string("SELECT to_regclass('") + rel + "') IS NOT NULL") == "t");
  // The session advisory lock was released (our connection is still open).
  CHECK(db.connected());
  CHECK(advisory_locks(url, "etl-db-migrate-twice") == 0);
}

TEST_CASE(
    "the embedded set and the files are one set: either migrates, the other then applies nothing",
    "[db]") {
  {
    const std::string url = fresh_schema("etl_db_migrate_embedded");
    Database db(url, "etl-db-migrate-embedded");
    auto applied = db.migrate(); // no directory: the migrations compiled into the binary
    REQUIRE(applied.has_value());
    CHECK(*applied == migration_files());
    auto from_files = db.migrate(ETL_MIGRATIONS_DIR);
    REQUIRE(from_files.has_value());
    CHECK(*from_files == 0);
  }
  MigratedSchema s("etl_db_migrate_files_then_embedded"); // migrated from ETL_MIGRATIONS_DIR
  auto embedded = s.db.migrate(std::nullopt);
  REQUIRE(embedded.has_value());
  CHECK(*embedded == 0);
}

TEST_CASE("a fresh Database on an up-to-date schema applies nothing", "[db]") {
  MigratedSchema s("etl_db_migrate_second_process");
  Database other(s.url, "etl-db-test-other");
  auto applied = other.migrate(ETL_MIGRATIONS_DIR);
  REQUIRE(applied.has_value());
  CHECK(*applied == 0);
}

TEST_CASE("an applied migration that changed is refused, naming the file", "[db]") {
  MigratedSchema s("etl_db_migrate_checksum", "etl-db-migrate-checksum");
  TempMigrationsDir dir;
  dir.write("0001_initial.sql", "\n-- edited after release\n", true);
  dir.write("9002_new_table.sql", "CREATE TABLE should_not_exist (x int);");
  auto r = s.db.migrate(dir.path);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().kind == DbError::Kind::internal);
  CHECK_THAT(r.error().message, Catch::Contains("0001_initial.sql"));
  CHECK_THAT(r.error().message, Catch::Contains("changed"));
  // Verification happens before anything is applied.
  CHECK(scalar(s.url, "SELECT to_regclass('should_not_exist') IS NULL") == "t");
  CHECK(advisory_locks(s.url, "etl-db-migrate-checksum") == 0);
}

TEST_CASE("new migrations are applied in order; other files are ignored", "[db]") {
  MigratedSchema s("etl_db_migrate_new");
  TempMigrationsDir dir;
  // Numbered after the project's own migrations, which MigratedSchema applied already.
  dir.write("9003_second.sql", "ALTER TABLE extra ADD COLUMN y int;");
  dir.write("9002_first.sql", "CREATE TABLE extra (x int);");
  dir.write("README.md", "not a migration");
  dir.write("9004_Bad-Name.sql", "this is not SQL");
  auto r = s.db.migrate(dir.path);
  REQUIRE(r.has_value());
  CHECK(*r == 2);
  CHECK(scalar(s.url, "SELECT string_agg(version::text, ',' ORDER BY version) FROM "
                      "schema_migrations WHERE version > 9000") == "9002,9003");
  CHECK(count(s.url, "SELECT count(*) FROM schema_migrations") == migration_files() + 2);
  CHECK(count(s.url, "SELECT count(*) FROM information_schema.columns WHERE table_name = "
                     "'extra' AND column_name = 'y'") == 1);
}

TEST_CASE("a failing migration is rolled back with its schema_migrations row", "[db]") {
  MigratedSchema s("etl_db_migrate_failing", "etl-db-migrate-failing");
  TempMigrationsDir dir;
  dir.write("9002_broken.sql", "CREATE TABLE half_done (x int);\nSELEC oops;");
  auto r = s.db.migrate(dir.path);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().kind == DbError::Kind::refused); // a syntax error is not our data's fault
  CHECK(r.error().sqlstate == "42601");
  CHECK_THAT(r.error().message, Catch::Contains("9002_broken.sql"));
  CHECK(scalar(s.url, "SELECT to_regclass('half_done') IS NULL") == "t");
  CHECK(count(s.url, "SELECT count(*) FROM schema_migrations") == migration_files());
  CHECK(advisory_locks(s.url, "etl-db-migrate-failing") == 0);
  CHECK(s.db.connected());
  // The connection is still usable after a rejected migration.
  dir.write("9002_broken.sql", "CREATE TABLE half_done (x int);");
  auto again = s.db.migrate(dir.path);
  REQUIRE(again.has_value());
  CHECK(*again == 1);
}

TEST_CASE("a missing migrations directory is an error, not zero migrations", "[db]") {
  MigratedSchema s("etl_db_migrate_missing_dir");
  auto r = s.db.migrate("/nonexistent/etl-migrations");
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().kind == DbError::Kind::internal);
  CHECK_THAT(r.error().message, Catch::Contains("/nonexistent/etl-migrations"));
}

TEST_CASE("migrate waits for another migrator's advisory lock", "[db]") {
  MigratedSchema s("etl_db_migrate_lock");
  pqxx::connection other{s.url};
  pqxx::nontransaction tx{other};
  // The runner's fixed key ("coinetl" in ASCII).
  tx.exec("SELECT pg_advisory_lock(x'636F696E65746C'::bigint)");
  std::atomic<bool> done{false};
  tl::expected<int, DbError> result = 0;
  std::thread runner([&] {
    result = s.db.migrate(ETL_MIGRATIONS_DIR);
    done = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const bool finished_while_locked = done.load();
  tx.exec("SELECT pg_advisory_unlock(x'636F696E65746C'::bigint)");
  runner.join();
  CHECK_FALSE(finished_while_locked);
  REQUIRE(result.has_value());
  CHECK(*result == 0);
}
