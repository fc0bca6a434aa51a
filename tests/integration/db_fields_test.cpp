// The field table (market/fields.hpp) against the migrated coin_market: the COPY column list is
// the table's, so a column the migrations lack (or add without a table row), a different order
// or a different type family fails here instead of at the first load.
#include "db/copy_text.hpp"
#include "db_test_support.hpp"
#include "market/fields.hpp"

#include <string>
#include <vector>

using namespace etl::db::test;
using etl::market::kCoinMarketFields;
using etl::market::SqlType;

namespace {

// information_schema.columns.data_type for each type family.
std::string data_type(SqlType type) {
  switch (type) {
  case SqlType::text: return "text";
  case SqlType::numeric: return "numeric";
  case SqlType::integer: return "integer";
  case SqlType::timestamptz: return "timestamp with time zone";
  }
  return "?";
}

// "name type" per column of `relation` in the test schema, in column order.
std::vector<std::string> columns_of(const std::string& url, const std::string& relation) {
  pqxx::connection c{url};
  pqxx::nontransaction tx{c};
  const pqxx::result r = tx.exec("SELECT column_name, data_type FROM information_schema.columns "
                                 "WHERE table_schema = current_schema() AND table_name = " +
                                 tx.quote(relation) + " ORDER BY ordinal_position");
  std::vector<std::string> out;
  for (const auto& row : r) {
    out.push_back(row[0].as<std::string>());
    out.back().append(" ").append(row[1].as<std::string>());
  }
  return out;
}

std::vector<std::string> columns_of_table() {
  std::vector<std::string> out;
  for (const auto& f : kCoinMarketFields) {
    out.emplace_back(f.column);
    out.back().append(" ").append(data_type(etl::market::sql_type(f.kind)));
  }
  return out;
}

} // namespace

TEST_CASE("the field table matches the migrated coin_market columns", "[db][fields]") {
  MigratedSchema schema("etl_db_fields");
  // Every column, in order, with its type family: COPY names them all, in this order.
  CHECK(columns_of(schema.url, "coin_market") == columns_of_table());
  // The newest-row view is SELECT *, which PostgreSQL expands when the view is created: a
  // column added later must be added to the view too.
  CHECK(columns_of(schema.url, "coin_market_latest") == columns_of_table());
  REQUIRE(etl::db::kCoinMarketColumns.size() == kCoinMarketFields.size());
}
