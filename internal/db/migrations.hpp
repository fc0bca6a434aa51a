#pragma once
// The migration set: migrations/NNNN_description.sql, either the copies compiled into the
// binary (the default, so an installed binary migrates from any directory) or the files of a
// MIGRATIONS_DIR override. Pure (no libpq): Database::migrate applies what this returns.
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <tl/expected.hpp>

namespace etl::db {

struct Migration {
  int version = 0;  // the NNNN prefix
  std::string name; // the file name, e.g. 0001_initial.sql: recorded in schema_migrations
  std::string sql;  // the exact bytes: schema_migrations records their md5
};

// One file as the build embedded it (cmake/EmbedMigrations.cmake generates the definition).
struct MigrationText {
  std::string_view name;
  std::string_view sql;
};
// Every migrations/*.sql file at build time, in name order, unfiltered.
std::span<const MigrationText> embedded_migration_texts() noexcept;

// ^[0-9]{4}_[a-z0-9_]+\.sql$: anything else (README, editor backups) is not a migration.
bool is_migration_name(std::string_view name) noexcept;

// The migrations among `candidates`, sorted by name; an error when two share a version.
tl::expected<std::vector<Migration>, std::string>
select_migrations(std::vector<Migration> candidates);

// The embedded set, through select_migrations.
tl::expected<std::vector<Migration>, std::string> embedded_migrations();
// The files of `dir`, through select_migrations; an error names the directory or file.
tl::expected<std::vector<Migration>, std::string> read_migrations(const std::filesystem::path& dir);
// `dir` when set, else the embedded set.
tl::expected<std::vector<Migration>, std::string>
load_migrations(const std::optional<std::filesystem::path>& dir);

// For logs: the directory, or "the binary's embedded migrations".
std::string describe_migration_source(const std::optional<std::filesystem::path>& dir);

} // namespace etl::db
