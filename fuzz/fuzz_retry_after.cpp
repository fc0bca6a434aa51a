// libFuzzer target for parse_retry_after: the one parser fed straight from a server header.
// Build (no CMake yet):
//   clang++ -std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined -I internal \
//     fuzz/fuzz_retry_after.cpp internal/http/retry_policy.cpp -o fuzz_retry_after
#include "http/retry_policy.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace std::chrono;
  const std::string_view value(reinterpret_cast<const char*>(data), size);
  // Fixed "now"s spread over what a nanosecond system_clock can hold (about 1678 to 2262).
  for (const auto now :
       {system_clock::time_point{}, system_clock::time_point{} + seconds{1'700'000'000},
        system_clock::time_point{} - seconds{9'000'000'000},
        system_clock::time_point{} + seconds{9'000'000'000}}) {
    const auto parsed = etl::http::parse_retry_after(value, now);
    if (parsed && (*parsed < seconds{0} || *parsed > hours{24})) __builtin_trap();
  }
  return 0;
}
