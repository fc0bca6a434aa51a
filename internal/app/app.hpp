#pragma once
// The application: parse the command line and settings, build the modules in dependency order,
// run the chosen command. cmd/coingecko-etl/main.cpp only calls run().
#include "app/signals.hpp"

#include <string>

namespace etl::app {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;

struct BuildStamp {
  std::string version;
  std::string revision;
};

int run(int argc, char** argv, ShutdownWatchdog& watchdog, const BuildStamp& build);

} // namespace etl::app
