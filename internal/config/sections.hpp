#pragma once
// The loaders of each group of settings, one file per group. Internal to etl::config: each
// reads its variables through the Loader and records every problem it finds.
#include "config/config.hpp"
#include "config/loader.hpp"

namespace etl::config {

void load_coingecko(Loader& in, Config& out); // coingecko_settings.cpp
void load_postgres(Loader& in, Config& out);  // postgres_settings.cpp

} // namespace etl::config
