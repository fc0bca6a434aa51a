#pragma once
// The bodies of the commands (see `coingecko-etl --help`); each returns the process exit code.
#include "app/app.hpp"
#include "config/config.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace etl::app {

// Prints the problems to stderr under `heading`; returns kExitUsage.
int usage_error(const std::vector<std::string>& problems, std::string_view heading);

int run_migrate(const config::Config& cfg);
// backfill: history into coin_history (and coin_ohlc, coins), resumable; exit 0 only when
// every planned chunk was stored.
int run_backfill(const config::CommandLine& cli, const config::Config& cfg,
                 ShutdownWatchdog& watchdog, const BuildStamp& build);
// run (the daemon), once and replay.
int run_daemon(const config::CommandLine& cli, const config::Config& cfg,
               ShutdownWatchdog& watchdog, const BuildStamp& build);

} // namespace etl::app
