#pragma once
// The SAX side of parse_markets: streams a JSON array body into CoinMarket values without a DOM.
// Internal to etl::market; parse_markets.cpp classifies the outcome.
#include "market/parse_markets.hpp"

#include <cstddef>
#include <string_view>

#include <rapidjson/error/error.h>

namespace etl::market::detail {

struct CoinArrayParse {
  ParsedPage page;
  rapidjson::ParseResult result; // the reader's verdict on the whole body
  std::size_t consumed = 0;      // bytes the reader read; less than the body means a NUL byte
};

// Each object element becomes a coin or a RejectedCoin; each other element a RejectedCoin.
// `body` must start (after whitespace) with '['.
CoinArrayParse parse_coin_array(std::string_view body);

} // namespace etl::market::detail
