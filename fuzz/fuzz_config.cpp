// libFuzzer target: arbitrary bytes as a .env file (then validated as a config) and as a duration.
// Build: clang++ -std=c++20 -g -fsanitize=fuzzer,address,undefined -Iinternal fuzz/fuzz_config.cpp
//        internal/config/*.cpp internal/core/secret.cpp internal/coingecko/plan.cpp ...
#include "config/config.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  if (const auto duration = etl::config::parse_duration(text)) {
    // Whatever parses must format to something that parses back to the same value.
    const auto again = etl::config::parse_duration(etl::config::format_duration(*duration));
    if (!again || *again != *duration) __builtin_trap();
  }

  if (const auto env = etl::config::parse_dotenv(text)) {
    if (const auto config = etl::config::load_config(*env)) {
      (void)etl::config::render_effective(*config);
      (void)etl::config::config_warnings(*config);
      (void)config->conninfo();
    }
    if (const auto url = env->find("DATABASE_URL"); url != env->end()) {
      (void)etl::config::redact_database_url(url->second);
    }
  }
  return 0;
}
