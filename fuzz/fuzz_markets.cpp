// libFuzzer target for the /coins/markets parser: the one place untrusted bytes meet our code.
// Beyond "no crash, no sanitizer report" it checks what the loader relies on: every accepted
// coin has an id and a valid last_updated, every value fits PostgreSQL, the page's records stay
// within their caps, its processed record is valid JSON, and every text
// we derive from the body (error detail, rejection reason, rejected id) is valid UTF-8, so it
// can go into logs and PostgreSQL. An array body also reads the same on both of the parser's
// routes (in place without per-character validation, or validating).
//
// Build and run (clang only; no CMake target yet):
//   clang++ -std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined -Iinternal \
//     fuzz/fuzz_markets.cpp internal/market/*.cpp -o fuzz_markets
//   UBSAN_OPTIONS=suppressions=fuzz/ubsan_rapidjson.supp:halt_on_error=1 \
//     ./fuzz_markets -max_len=16384 -max_total_time=300 fuzz/corpus/markets
#include "market/coin_array_parser.hpp"
#include "market/fields.hpp"
#include "market/parse_markets.hpp"
#include "market/processed_json.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include <rapidjson/document.h>

namespace {

constexpr unsigned kStrict =
    rapidjson::kParseNumbersAsStringsFlag | rapidjson::kParseValidateEncodingFlag;

bool is_valid_json(const std::string& json, bool want_object) {
  rapidjson::Document doc;
  doc.Parse<kStrict>(json.data(), json.size());
  return !doc.HasParseError() && (!want_object || doc.IsObject());
}

// A JSON string literal of `text` parses with encoding validation only if `text` is UTF-8.
void require_utf8(std::string_view text) {
  std::string literal;
  etl::market::append_json_string(literal, text);
  if (!is_valid_json(literal, false)) std::abort();
}

// The fast route must give what the validating reader gives, verdict and page alike.
void require_same_routes(std::string_view body) {
  using etl::market::detail::ArrayRoute;
  const auto fast = etl::market::detail::parse_coin_array(body, ArrayRoute::fastest);
  const auto checked = etl::market::detail::parse_coin_array(body, ArrayRoute::validating);
  if (fast.result.Code() != checked.result.Code() ||
      fast.result.Offset() != checked.result.Offset() || fast.consumed != checked.consumed ||
      fast.page.coins != checked.page.coins || fast.page.rejected != checked.page.rejected ||
      fast.page.rejected_count != checked.page.rejected_count)
    std::abort();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  const std::size_t first = body.find_first_not_of(" \t\r\n\f\v");
  if (first != std::string_view::npos && body[first] == '[') require_same_routes(body);
  const auto page = etl::market::parse_markets(body);
  if (!page) {
    if (etl::market::to_string(page.error().kind).empty()) std::abort();
    require_utf8(page.error().detail);
    return 0;
  }
  // Whatever the body, a page costs a bounded number of records (issue 9).
  if (page->coins.size() > etl::market::kMaxElementsPerPage ||
      page->rejected.size() > etl::market::kMaxRejectedDetails ||
      page->rejected.size() > page->rejected_count)
    std::abort();
  for (const etl::market::RejectedCoin& rejected : page->rejected) {
    require_utf8(rejected.id);
    require_utf8(rejected.reason);
    if (rejected.id.size() > etl::market::kMaxRejectedIdBytes + 3) std::abort();
  }
  std::string out;
  for (const etl::market::CoinMarket& coin : page->coins) {
    if (coin.id.empty() || coin.id.size() > etl::market::kMaxIdBytes ||
        !etl::market::is_iso8601_timestamp(coin.last_updated))
      std::abort();
    // Every value kept is one PostgreSQL takes (numeric's range; integer by the type).
    for (const etl::market::Decimal* d : etl::market::decimal_fields(coin))
      if (*d && !etl::market::fits_postgres_numeric(**d)) std::abort();
    out.clear();
    etl::market::append_processed_record(out, coin, "usd");
    if (!is_valid_json(out, true)) std::abort();
  }
  return 0;
}
