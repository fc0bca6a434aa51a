#pragma once
// The commands the command line knows, shared by the parser (command_line.cpp) and the help
// text (usage.cpp). Internal to etl::config.
#include "config/config.hpp"

#include <string_view>

namespace etl::config {

struct CommandName {
  std::string_view name;
  Command command;
  std::string_view meaning;
};
inline constexpr CommandName kCommands[] = {
    {"run", Command::run, "run the daemon (the default)"},
    {"once", Command::once, "run one tick; exit status 0 only when every page was loaded"},
    {"migrate", Command::migrate, "apply pending database migrations and exit"},
    {"replay", Command::replay, "load every pending raw snapshot now and exit"},
    {"check-config", Command::check_config,
     "validate the configuration and print it, secrets redacted"},
    {"backfill", Command::backfill,
     "fetch history (/coins/{id}/market_chart/range) into coin_history and exit; resumable; flags below"},
};

} // namespace etl::config
