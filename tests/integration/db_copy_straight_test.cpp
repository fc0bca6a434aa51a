// Rows go straight into coin_market by COPY; a row already stored or refused rolls that page back
// to its savepoint and the staging path (INSERT ... ON CONFLICT DO NOTHING, bisecting refusals)
// takes it and the rest of the snapshot: the counts and the stored rows are exactly those of the
// staging path alone (issue 12: the staging hop cost PostgreSQL about as much as the COPY).
#include "db_test_support.hpp"

using namespace etl::db;
using namespace etl::db::test;
using etl::market::CoinMarket;

namespace {

// `n` coins "<prefix>-<i>", last updated at a whole second: a new session never reads such a row
// back as known (only whole-millisecond texts are), so it is sent again and conflicts.
std::vector<CoinMarket> coins(const std::string& prefix, int n) {
  std::vector<CoinMarket> out;
  out.reserve(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i)
    out.push_back(make_coin(prefix + "-" + std::to_string(i), "2026-04-30T02:29:06Z"));
  return out;
}

LoadCounts load(Database& db, const std::string& id,
                const std::vector<std::vector<CoinMarket>>& pages) {
  auto tx = db.begin_snapshot(make_meta(id));
  REQUIRE(tx.has_value());
  int page = 0;
  for (const auto& coins_of_page : pages) {
    ++page;
    auto added = tx->add_page(page, "[" + std::to_string(page) + "]", coins_of_page, 0);
    REQUIRE(added.has_value());
  }
  auto r = tx->commit("loaded", "");
  REQUIRE(r.has_value());
  return r->counts;
}

std::int64_t stored(const std::string& url) {
  return count(url, "SELECT count(*) FROM coin_market");
}

std::int64_t distinct_keys(const std::string& url) {
  return count(url, "SELECT count(DISTINCT (coin_id, vs_currency, last_updated)) FROM coin_market");
}

} // namespace

TEST_CASE("a conflict mid-snapshot falls back to ON CONFLICT; counts and rows stay exact",
          "[db][copy_straight]") {
  MigratedSchema s("etl_db_copy_straight");
  CHECK(load(s.db, "20260430T023000Z_usd", {coins("a", 10)}).rows_inserted == 10);

  // A new session does not know the a-coins: page 2 conflicts, page 1 went straight in.
  Database restarted(s.url, "etl-db-test-restarted");
  const LoadCounts c =
      load(restarted, "20260430T023030Z_usd", {coins("b", 10), coins("a", 10), coins("c", 10)});
  CHECK(c.rows_inserted == 20);
  CHECK(c.rows_unchanged == 10);
  CHECK(c.coins_received == 30);
  CHECK(stored(s.url) == 30);
  CHECK(distinct_keys(s.url) == 30);
  CHECK(count(s.url, "SELECT rows_inserted FROM etl_runs WHERE snapshot_id = "
                     "'20260430T023030Z_usd'") == 20);

  // The same coin twice in one page (a rank moved mid-page): one row, counted once inserted.
  auto twice = coins("d", 3);
  twice.push_back(twice.front());
  const LoadCounts d = load(restarted, "20260430T023100Z_usd", {twice});
  CHECK(d.rows_inserted == 3);
  CHECK(d.rows_unchanged == 1);
  CHECK(stored(s.url) == 33);
  CHECK(distinct_keys(s.url) == 33);

  // A refused row after the straight path: isolated alone, the rest of its page stored.
  auto refused = coins("e", 5);
  refused[2].market_cap_rank = 3000000000; // 22003: beyond integer
  auto tx = restarted.begin_snapshot(make_meta("20260430T023130Z_usd"));
  REQUIRE(tx.has_value());
  REQUIRE(tx->add_page(1, "[1]", coins("f", 5), 0).has_value());
  auto page2 = tx->add_page(2, "[2]", refused, 0);
  REQUIRE(page2.has_value());
  REQUIRE(page2->rejected_rows.size() == 1);
  CHECK(page2->rejected_rows.front().coin_id == "e-2");
  auto r = tx->commit("partial", "");
  REQUIRE(r.has_value());
  CHECK(r->counts.rows_inserted == 9);
  CHECK(stored(s.url) == 42);
  CHECK(count(s.url, "SELECT count(*) FROM coin_market WHERE coin_id = 'e-2'") == 0);
}
