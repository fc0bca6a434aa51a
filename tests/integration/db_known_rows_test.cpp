// Coins the session knows are stored are not sent again (issue 12, item 3), and nothing that
// changed is ever skipped: against a real PostgreSQL, with snapshots that change one coin at a
// time, rolled-back loads, new sessions and rows that retention dropped.
#include "db_test_support.hpp"

#include "db/known_rows.hpp"

#include <cstdio>

using namespace etl::db;
using namespace etl::db::test;
using etl::market::CoinMarket;

namespace {

constexpr int kCoins = 100;

// CoinGecko's timestamp text (whole milliseconds, Z) for 2026-04-30 02:29:<second>.<ms>.
std::string stamp(int second, int millis) {
  char text[48];
  std::snprintf(text, sizeof text, "2026-04-30T02:%02d:%02d.%03dZ", second / 60, second % 60,
                millis);
  return text;
}

// 100 coins; coin i last updated at second i unless `bumped` says otherwise.
std::vector<CoinMarket> market(const std::vector<std::pair<int, int>>& bumped = {}) {
  std::vector<CoinMarket> coins;
  coins.reserve(kCoins);
  for (int i = 0; i < kCoins; ++i)
    coins.push_back(make_coin("coin-" + std::to_string(i), stamp(i, 506)));
  for (const auto& [coin, second] : bumped)
    coins[static_cast<std::size_t>(coin)].last_updated = stamp(second, 227);
  return coins;
}

// Loads `coins` as one snapshot of two pages and returns its counts.
LoadCounts load(Database& db, const std::string& id, const std::vector<CoinMarket>& coins) {
  auto tx = db.begin_snapshot(make_meta(id));
  REQUIRE(tx.has_value());
  const std::span<const CoinMarket> all(coins);
  const std::size_t half = all.size() / 2;
  REQUIRE(tx->add_page(1, "[1]", all.first(half), 0).has_value());
  REQUIRE(tx->add_page(2, "[2]", all.subspan(half), 0).has_value());
  auto r = tx->commit("loaded", "");
  REQUIRE(r.has_value());
  REQUIRE_FALSE(r->already_loaded);
  CHECK(r->counts.rows_inserted + r->counts.rows_unchanged == r->counts.coins_received);
  return r->counts;
}

std::int64_t rows(const std::string& url) { return count(url, "SELECT count(*) FROM coin_market"); }

} // namespace

TEST_CASE("known rows: exact match on currency, coin and last_updated text; bounded",
          "[known_rows]") {
  KnownRows known(2);
  known.remember("usd", "bitcoin", "2026-04-30T02:29:06.506Z");
  CHECK(known.contains("usd", "bitcoin", "2026-04-30T02:29:06.506Z"));
  CHECK_FALSE(known.contains("usd", "bitcoin", "2026-04-30T02:29:06.507Z"));
  CHECK_FALSE(known.contains("eur", "bitcoin", "2026-04-30T02:29:06.506Z"));
  CHECK_FALSE(known.contains("usd", "bitcoin-cash", "2026-04-30T02:29:06.506Z"));
  // "usd" + "a:b" and "usd:a" + "b" are different keys.
  known.remember("usd", "a:b", "t");
  CHECK_FALSE(known.contains("usd:a", "b", "t"));
  // Full: a new coin is not remembered (it will be sent), a known one is still updated.
  known.remember("usd", "ethereum", "t");
  CHECK_FALSE(known.contains("usd", "ethereum", "t"));
  known.remember("usd", "bitcoin", "2026-04-30T02:30:06.506Z");
  CHECK(known.contains("usd", "bitcoin", "2026-04-30T02:30:06.506Z"));
  CHECK_FALSE(known.contains("usd", "bitcoin", "2026-04-30T02:29:06.506Z"));
  CHECK(known.size() == 2);
  known.clear();
  CHECK(known.size() == 0);
  // A last_updated longer than an inline stamp is not remembered, and forgets the older one:
  // the coin is sent (never skipped on a stale match).
  known.remember("usd", "bitcoin", "2026-04-30T02:29:06.506Z");
  const std::string long_stamp = "2026-04-30T02:29:06.506123456789+00:00";
  REQUIRE(long_stamp.size() > KnownRows::kMaxStampBytes);
  known.remember("usd", "bitcoin", long_stamp);
  CHECK_FALSE(known.contains("usd", "bitcoin", long_stamp));
  CHECK_FALSE(known.contains("usd", "bitcoin", "2026-04-30T02:29:06.506Z"));
  CHECK(known.size() == 0);
  // The longest remembered stamp compares whole.
  const std::string longest(KnownRows::kMaxStampBytes, '7');
  known.remember("usd", "bitcoin", longest);
  CHECK(known.contains("usd", "bitcoin", longest));
  CHECK_FALSE(known.contains("usd", "bitcoin", longest.substr(1)));
}

TEST_CASE("an unchanged coin is not sent again; every changed coin is stored", "[db][known_rows]") {
  MigratedSchema s("etl_db_known_changes");
  LoadCounts first = load(s.db, "20260430T023000Z_usd", market());
  CHECK(first.rows_inserted == kCoins);
  CHECK(first.rows_known == 0);

  // CoinGecko's cache: the same quotes again. Nothing is sent, all counted unchanged.
  LoadCounts same = load(s.db, "20260430T023030Z_usd", market());
  CHECK(same.rows_inserted == 0);
  CHECK(same.rows_unchanged == kCoins);
  CHECK(same.rows_known == kCoins);

  // One coin changes per snapshot, each time another one (first, middle, last of a page).
  std::vector<std::pair<int, int>> bumped;
  int snapshot = 0;
  for (const int coin : {0, 49, 50, 99, 7}) {
    bumped.emplace_back(coin, 200 + snapshot);
    char id[48];
    std::snprintf(id, sizeof id, "20260430T0231%02dZ_usd", snapshot++);
    LoadCounts c = load(s.db, id, market(bumped));
    CHECK(c.rows_inserted == 1);
    CHECK(c.rows_known == kCoins - 1);
    CHECK(count(s.url, "SELECT count(*) FROM coin_market WHERE coin_id = 'coin-" +
                           std::to_string(coin) + "' AND last_updated = '" +
                           stamp(200 + snapshot - 1, 227) + "'") == 1);
  }
  CHECK(rows(s.url) == kCoins + 5);

  // A coin back at an older quote (another CoinGecko edge's cache): sent, found, unchanged.
  LoadCounts back = load(s.db, "20260430T023200Z_usd", market());
  CHECK(back.rows_inserted == 0);
  CHECK(back.rows_known == kCoins - 5);
  CHECK(rows(s.url) == kCoins + 5);
  CHECK(count(s.url, "SELECT sum(rows_inserted) FROM etl_runs") == kCoins + 5);
}

TEST_CASE("a snapshot rolled back teaches the session nothing", "[db][known_rows]") {
  MigratedSchema s("etl_db_known_rollback");
  {
    auto tx = s.db.begin_snapshot(make_meta("20260430T023000Z_usd"));
    REQUIRE(tx.has_value());
    const auto coins = market();
    REQUIRE(tx->add_page(1, "[1]", coins, 0).has_value());
  } // dropped without commit: rolled back
  CHECK(rows(s.url) == 0);
  LoadCounts again = load(s.db, "20260430T023030Z_usd", market());
  CHECK(again.rows_known == 0);
  CHECK(again.rows_inserted == kCoins);
  CHECK(rows(s.url) == kCoins);
}

TEST_CASE("a new session reads what the newest snapshots stored", "[db][known_rows]") {
  MigratedSchema s("etl_db_known_restart");
  auto coins = market();
  coins[3].last_updated = "2026-04-30T02:29:06Z";        // no milliseconds: not read back
  coins[4].last_updated = "2026-04-30T02:29:06.123456Z"; // microseconds: not read back
  CHECK(load(s.db, "20260430T023000Z_usd", coins).rows_inserted == kCoins);

  Database restarted(s.url, "etl-db-test-restarted");
  LoadCounts c = load(restarted, "20260430T023030Z_usd", coins);
  CHECK(c.rows_known == kCoins - 2);
  CHECK(c.rows_inserted == 0);
  CHECK(c.rows_unchanged == kCoins);
  // Sent once, they are known from then on.
  CHECK(load(restarted, "20260430T023100Z_usd", coins).rows_known == kCoins);
}

TEST_CASE("rows gone from the table are stored again once the session forgets",
          "[db][known_rows]") {
  MigratedSchema s("etl_db_known_forget");
  CHECK(load(s.db, "20260430T023000Z_usd", market()).rows_inserted == kCoins);
  // What retention does to old partitions, to every row here.
  count(s.url, "WITH gone AS (DELETE FROM coin_market RETURNING 1) SELECT count(*) FROM gone");
  REQUIRE(rows(s.url) == 0);
  s.db.forget_stored();
  LoadCounts c = load(s.db, "20260430T023030Z_usd", market());
  CHECK(c.rows_known == 0);
  CHECK(c.rows_inserted == kCoins);
  CHECK(rows(s.url) == kCoins);
}

TEST_CASE("a coin PostgreSQL refused is not taken as stored", "[db][known_rows]") {
  MigratedSchema s("etl_db_known_refused");
  auto coins = market();
  coins[10].market_cap_rank = 3000000000; // 22003: beyond integer
  LoadCounts first = load(s.db, "20260430T023000Z_usd", coins);
  CHECK(first.rows_inserted == kCoins - 1);
  coins[10].market_cap_rank = 10;
  LoadCounts fixed = load(s.db, "20260430T023030Z_usd", coins);
  CHECK(fixed.rows_known == kCoins - 1);
  CHECK(fixed.rows_inserted == 1);
  CHECK(rows(s.url) == kCoins);
}
