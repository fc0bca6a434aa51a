// The field table is the one source of the parser's keys, the processed JSON's keys and the
// COPY column order: each consumer is checked here against kCoinMarketFields, with a coin whose
// every numeric field holds its own row number, so a consumer reading or writing the wrong
// member (or in the wrong order) fails.
#include "db/copy_text.hpp"
#include "market/fields.hpp"
#include "market/parse_markets.hpp"
#include "market/processed_json.hpp"

#include "support/split.hpp"

#include <catch2/catch.hpp>
#include <rapidjson/document.h>

#include <string>
#include <vector>

using etl::market::FieldKind;
using etl::market::kCoinMarketFields;
using etl::market::kFieldCount;
using etl::market::SqlType;

namespace {

bool numeric(FieldKind kind) { return etl::market::sql_type(kind) == SqlType::numeric; }

// A value for row i: each number is the row number, so every value is distinct and names the
// row it came from; strings likewise ("t<row>"), except those whose format is checked.
std::string api_value(std::size_t i, FieldKind kind) {
  std::string out;
  switch (kind) {
  case FieldKind::id:
  case FieldKind::text: return out.append("\"t").append(std::to_string(i)).append("\"");
  case FieldKind::last_updated: return "\"2026-04-30T00:00:00.000Z\"";
  case FieldKind::roi_text: return "\"usd\"";
  case FieldKind::decimal:
  case FieldKind::roi_decimal:
  case FieldKind::rank: return std::to_string(i);
  default: return "null";
  }
}

// A one-coin body built from the table's API keys (roi_* rows inside "roi").
std::string body_from_table() {
  std::string coin;
  std::string roi;
  for (std::size_t i = 0; i < kFieldCount; ++i) {
    const auto& f = kCoinMarketFields[i];
    if (!etl::market::from_api(f.kind)) continue;
    std::string& target = etl::market::is_roi(f.kind) ? roi : coin;
    if (!target.empty()) target += ',';
    target.append("\"").append(f.api_key).append("\":").append(api_value(i, f.kind));
  }
  std::string body = "[{";
  return body.append(coin).append(",\"roi\":{").append(roi).append("}}]");
}

using etl::testing::split;

} // namespace

TEST_CASE("fields: the COPY column list is the table's column order", "[market][fields]") {
  REQUIRE(etl::db::kCoinMarketColumns.size() == kFieldCount);
  std::string expected;
  for (std::size_t i = 0; i < kFieldCount; ++i) {
    CHECK(std::string(etl::db::kCoinMarketColumns[i]) == kCoinMarketFields[i].column);
    if (i > 0) expected += ", ";
    expected += kCoinMarketFields[i].column;
  }
  CHECK(etl::db::coin_market_column_list() == expected);
}

TEST_CASE("fields: parser, processed writer and COPY row all follow the table",
          "[market][fields]") {
  const auto page = etl::market::parse_markets(body_from_table());
  REQUIRE(page.has_value());
  REQUIRE(page->rejected_count == 0);
  REQUIRE(page->coins.size() == 1);
  const auto& coin = page->coins[0];
  CHECK(coin.market_cap_rank == 7);
  CHECK(coin.roi_currency == "usd");

  // Processed JSON: the table's columns (minus the load-only ones), in order, each numeric
  // value the row number the parser read from the key the table names.
  std::string record;
  etl::market::append_processed_record(record, coin, "usd");
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseNumbersAsStringsFlag>(record.c_str());
  REQUIRE(doc.IsObject());
  auto member = doc.MemberBegin();
  for (std::size_t i = 0; i < kFieldCount; ++i) {
    const auto& f = kCoinMarketFields[i];
    if (!etl::market::in_processed(f.kind)) continue;
    REQUIRE(member != doc.MemberEnd());
    CHECK(std::string(member->name.GetString()) == f.column);
    if (numeric(f.kind) || f.kind == FieldKind::rank) {
      CHECK(std::string(member->value.GetString()) == std::to_string(i));
    }
    ++member;
  }
  CHECK(member == doc.MemberEnd());

  // COPY: one value per column, the same values in the table's order.
  std::string row;
  etl::db::append_coin_row(row, coin, {"usd", "snap", "2026-04-30 00:00:01+00"});
  REQUIRE(row.back() == '\n');
  row.pop_back();
  const auto values = split(row, '\t');
  REQUIRE(values.size() == kFieldCount);
  for (std::size_t i = 0; i < kFieldCount; ++i) {
    const auto& f = kCoinMarketFields[i];
    if (numeric(f.kind) || f.kind == FieldKind::rank) CHECK(values[i] == std::to_string(i));
    if (f.kind == FieldKind::text) CHECK(values[i] == std::string("t").append(std::to_string(i)));
  }
  CHECK(values[1] == "usd");
  CHECK(values[kFieldCount - 2] == "snap");
}

TEST_CASE("fields: decimal_fields lists every numeric row in table order", "[market][fields]") {
  const auto page = etl::market::parse_markets(body_from_table());
  REQUIRE(page.has_value());
  REQUIRE(page->coins.size() == 1);
  const auto decimals = etl::market::decimal_fields(page->coins[0]);
  std::size_t n = 0;
  for (std::size_t i = 0; i < kFieldCount; ++i) {
    if (!numeric(kCoinMarketFields[i].kind)) continue;
    REQUIRE(n < decimals.size());
    REQUIRE(*decimals[n] != std::nullopt);
    CHECK(**decimals[n] == std::to_string(i));
    ++n;
  }
  CHECK(n == decimals.size());
}
