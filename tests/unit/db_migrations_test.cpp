// The migration set: the copies compiled into the binary are the files of migrations/ (names
// and exact bytes), so a database migrated from either is up to date for the other.
#include "db/migrations.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace fs = std::filesystem;
using etl::db::Migration;

namespace {

std::string file_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

} // namespace

TEST_CASE("migrations: the embedded set is every migrations/NNNN_*.sql file, byte for byte",
          "[db]") {
  // Straight from the source tree, not through read_migrations: the comparison must not share
  // the code it checks.
  std::vector<std::pair<std::string, std::string>> on_disk;
  for (const auto& e : fs::directory_iterator(ETL_MIGRATIONS_DIR))
    if (e.path().extension() == ".sql")
      on_disk.emplace_back(e.path().filename().string(), file_text(e.path()));
  std::sort(on_disk.begin(), on_disk.end());
  REQUIRE(on_disk.size() >= 9);

  const auto embedded = etl::db::embedded_migrations();
  REQUIRE(embedded.has_value());
  REQUIRE(embedded->size() == on_disk.size()); // every .sql file is a migration, none left out
  for (std::size_t i = 0; i < on_disk.size(); ++i) {
    INFO(on_disk[i].first);
    CHECK((*embedded)[i].name == on_disk[i].first);
    CHECK((*embedded)[i].version == std::stoi(on_disk[i].first.substr(0, 4)));
    CHECK((*embedded)[i].sql == on_disk[i].second);
  }
  CHECK(etl::db::embedded_migration_texts().size() == on_disk.size());

  const auto from_dir = etl::db::read_migrations(ETL_MIGRATIONS_DIR);
  REQUIRE(from_dir.has_value());
  REQUIRE(from_dir->size() == embedded->size());
  for (std::size_t i = 0; i < from_dir->size(); ++i) {
    CHECK((*from_dir)[i].name == (*embedded)[i].name);
    CHECK((*from_dir)[i].sql == (*embedded)[i].sql);
  }
}

TEST_CASE("migrations: load_migrations picks the directory when set, else the embedded set",
          "[db]") {
  const auto embedded = etl::db::load_migrations(std::nullopt);
  REQUIRE(embedded.has_value());
  CHECK(embedded->front().name == "0001_initial.sql");
  const auto missing = etl::db::load_migrations(fs::path("/nonexistent/etl-migrations"));
  REQUIRE_FALSE(missing.has_value());
  CHECK_THAT(missing.error(), Catch::Contains("/nonexistent/etl-migrations"));
  CHECK(etl::db::describe_migration_source(std::nullopt) == "the binary's embedded migrations");
  CHECK(etl::db::describe_migration_source(fs::path("/srv/m")) == "/srv/m");
}

TEST_CASE(
    "migrations: only NNNN_lowercase.sql names count, in name order; a shared version is an error",
    "[db]") {
  CHECK(etl::db::is_migration_name("0001_initial.sql"));
  CHECK(etl::db::is_migration_name("0010_a_b2.sql"));
  CHECK_FALSE(etl::db::is_migration_name("0001_Initial.sql"));
  CHECK_FALSE(etl::db::is_migration_name("001_initial.sql"));
  CHECK_FALSE(etl::db::is_migration_name("0001-initial.sql"));
  CHECK_FALSE(etl::db::is_migration_name("0001_initial.sql~"));
  CHECK_FALSE(etl::db::is_migration_name("README.md"));

  const auto picked = etl::db::select_migrations(
      {{0, "0002_b.sql", "B"}, {0, "README.md", "x"}, {0, "0001_a.sql", "A"}});
  REQUIRE(picked.has_value());
  REQUIRE(picked->size() == 2);
  CHECK((*picked)[0].name == "0001_a.sql");
  CHECK((*picked)[0].version == 1);
  CHECK((*picked)[1].version == 2);

  const auto clash = etl::db::select_migrations({{0, "0003_a.sql", ""}, {0, "0003_b.sql", ""}});
  REQUIRE_FALSE(clash.has_value());
  CHECK_THAT(clash.error(), Catch::Contains("share version 3"));
}
