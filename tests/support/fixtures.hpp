#pragma once
// Reads a captured CoinGecko response from tests/fixtures (ETL_FIXTURES_DIR), byte for byte.
#include <fstream>
#include <sstream>
#include <string>

#include <catch2/catch.hpp>

namespace etl::testing {

inline std::string read_fixture(const std::string& name) {
  std::ifstream in(std::string(ETL_FIXTURES_DIR) + "/" + name, std::ios::binary);
  REQUIRE(in.good());
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

} // namespace etl::testing
