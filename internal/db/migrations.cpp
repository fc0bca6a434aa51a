// The migration set from either source, filtered, ordered and checked by one rule, so a database
// migrated from the files is up to date for the embedded set (same names, same bytes).
#include "db/migrations.hpp"

#include <algorithm>
#include <fstream>
#include <sstream>
#include <system_error>

namespace etl::db {

bool is_migration_name(std::string_view n) noexcept {
  if (n.size() < 10 || !n.ends_with(".sql") || n[4] != '_') return false;
  if (!std::all_of(n.begin(), n.begin() + 4, [](char c) { return c >= '0' && c <= '9'; }))
    return false;
  return std::all_of(n.begin() + 5, n.end() - 4, [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

tl::expected<std::vector<Migration>, std::string>
select_migrations(std::vector<Migration> candidates) {
  std::vector<Migration> out;
  for (auto& m : candidates) {
    if (!is_migration_name(m.name)) continue;
    m.version = std::stoi(m.name.substr(0, 4));
    out.push_back(std::move(m));
  }
  std::sort(out.begin(), out.end(),
            [](const Migration& a, const Migration& b) { return a.name < b.name; });
  for (std::size_t i = 1; i < out.size(); ++i)
    if (out[i].version == out[i - 1].version)
      return tl::unexpected("migrations " + out[i - 1].name + " and " + out[i].name +
                            " share version " + std::to_string(out[i].version));
  return out;
}

tl::expected<std::vector<Migration>, std::string> embedded_migrations() {
  std::vector<Migration> all;
  for (const MigrationText& t : embedded_migration_texts())
    all.push_back({0, std::string(t.name), std::string(t.sql)});
  return select_migrations(std::move(all));
}

tl::expected<std::vector<Migration>, std::string>
read_migrations(const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::directory_iterator it{dir, ec};
  if (ec) return tl::unexpected("migrations directory " + dir.string() + ": " + ec.message());
  std::vector<Migration> all;
  for (const auto& entry : it) {
    std::string name = entry.path().filename().string();
    // Only would-be migrations are read: an unreadable README must not stop the run.
    if (!is_migration_name(name) || !entry.is_regular_file(ec)) continue;
    std::ifstream in(entry.path(), std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    if (!in) return tl::unexpected("cannot read migration " + entry.path().string());
    all.push_back({0, std::move(name), text.str()});
  }
  return select_migrations(std::move(all));
}

tl::expected<std::vector<Migration>, std::string>
load_migrations(const std::optional<std::filesystem::path>& dir) {
  return dir ? read_migrations(*dir) : embedded_migrations();
}

std::string describe_migration_source(const std::optional<std::filesystem::path>& dir) {
  return dir ? dir->string() : std::string("the binary's embedded migrations");
}

} // namespace etl::db
