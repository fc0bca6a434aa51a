#include "app/commands.hpp"

#include "db/database.hpp"
#include "db/migrations.hpp"

#include <iostream>

#include <spdlog/spdlog.h>

namespace etl::app {

int usage_error(const std::vector<std::string>& problems, std::string_view heading) {
  std::cerr << "coingecko-etl: " << heading << "\n";
  for (const auto& p : problems) std::cerr << "  - " << p << "\n";
  std::cerr << "Run 'coingecko-etl --help' for the settings and what they allow.\n";
  return kExitUsage;
}

int run_migrate(const config::Config& cfg) {
  db::Database database(cfg.conninfo());
  if (auto ok = database.ensure_connected(); !ok) {
    spdlog::error("cannot connect to PostgreSQL: {}", ok.error().message);
    return kExitFailure;
  }
  auto applied = database.migrate(cfg.migrations_dir);
  if (!applied) {
    spdlog::error("migration failed: {}", applied.error().message);
    return kExitFailure;
  }
  spdlog::info("migrations up to date ({} applied now from {})", *applied,
               db::describe_migration_source(cfg.migrations_dir));
  return kExitOk;
}

} // namespace etl::app
