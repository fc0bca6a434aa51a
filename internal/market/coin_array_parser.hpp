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
  bool in_place = false;         // the fast route's in-place reading gave this result
};

// How the reader goes over the body. Both give the same coins, rejections and verdict (the
// fuzz target and market_parse_test check it); `fastest` is what parse_markets uses.
enum class ArrayRoute {
  fastest,    // in place, without per-character validation, when the body is valid UTF-8
              // without NUL bytes; otherwise (or if it is not JSON after all) `validating`
  validating, // the reader validates every string as it goes
};

// Each object element becomes a coin or a RejectedCoin; each other element a RejectedCoin.
// `body` must start (after whitespace) with '['.
CoinArrayParse parse_coin_array(std::string_view body, ArrayRoute route = ArrayRoute::fastest);

} // namespace etl::market::detail
