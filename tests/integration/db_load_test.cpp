// Snapshot loading against a real PostgreSQL: exact values, idempotency, atomicity.
#include "db_test_support.hpp"

#include <chrono>
#include <cstdio>

using namespace etl::db;
using namespace etl::db::test;
using etl::market::CoinMarket;

namespace {

// Every awkward value CoinGecko can send, in one coin.
CoinMarket awkward_coin() {
  CoinMarket c = make_coin("weird-coin", "2024-03-30T12:34:56.789Z");
  c.name = "tab\there\nnewline\\backslash 'single' \"double\" ünïcødé 🚀 \r cr";
  c.symbol = "\\N"; // COPY's NULL marker as literal text must stay text
  c.image.clear();  // the API sent null
  c.current_price = "8.69e-05";
  c.market_cap = "400000000000000000000";
  c.market_cap_rank = std::nullopt;
  c.fully_diluted_valuation = std::nullopt;
  c.total_volume = "0.0";
  c.high_24h = "-1.5E+3";
  c.low_24h = "0.000000000000000000000000000001";
  c.price_change_percentage_24h = "-3.14159265358979323846264338327950288";
  c.max_supply = std::nullopt;
  c.circulating_supply = "20022396.0";
  c.ath = "73738";
  c.ath_date = "2024-03-14T07:10:36.635Z";
  c.atl_date = std::nullopt;
  c.roi_times = "1.2345678901234567890123";
  c.roi_currency = "usd";
  c.roi_percentage = "123.45678901234567890123";
  c.price_change_percentage_in_currency[0] = "0.123"; // 1h
  c.price_change_percentage_in_currency[6] = "-99.9"; // 1y
  return c;
}

std::string coin_value(const std::string& url, const std::string& expr, const std::string& id) {
  return scalar(url, "SELECT " + expr + " FROM coin_market WHERE coin_id = '" + id + "'");
}

} // namespace

TEST_CASE("a loaded snapshot keeps every value exactly, NULLs as NULL", "[db]") {
  MigratedSchema s("etl_db_load_exact");
  const SnapshotMeta meta = make_meta("20240330T123500Z_usd");
  auto load = s.db.begin_snapshot(meta);
  REQUIRE(load.has_value());
  const std::vector<CoinMarket> coins{awkward_coin(), make_coin("bitcoin", "2024-03-30T12:35:00Z")};
  const std::string body = R"([{"id":"weird-coin","current_price":8.69e-05},{"id":"bitcoin"}])";
  REQUIRE(load->add_page(1, body, coins, 2).has_value());
  auto r = load->commit("partial", "2 coins rejected");
  REQUIRE(r.has_value());
  CHECK_FALSE(r->already_loaded);
  CHECK(r->counts.pages == 1);
  CHECK(r->counts.coins_received == 2);
  CHECK(r->counts.rows_inserted == 2);
  CHECK(r->counts.rows_unchanged == 0);
  CHECK(r->counts.rows_rejected == 2);

  const CoinMarket c = awkward_coin();
  const std::string& u = s.url;
  CHECK(coin_value(u, "name", c.id) == c.name);
  CHECK(coin_value(u, "name = $$" + c.name + "$$", c.id) == "t");
  CHECK(coin_value(u, "symbol", c.id) == "\\N");
  CHECK(coin_value(u, "image IS NULL", c.id) == "t");
  CHECK(coin_value(u, "current_price = '8.69e-05'::numeric", c.id) == "t");
  CHECK(coin_value(u, "current_price::text", c.id) == "0.0000869");
  CHECK(coin_value(u, "market_cap::text", c.id) == "400000000000000000000");
  CHECK(coin_value(u, "total_volume::text", c.id) == "0.0");
  CHECK(coin_value(u, "high_24h::text", c.id) == "-1500");
  CHECK(coin_value(u, "low_24h::text", c.id) == "0.000000000000000000000000000001");
  CHECK(coin_value(u, "price_change_percentage_24h::text", c.id) ==
        "-3.14159265358979323846264338327950288");
  CHECK(coin_value(u, "circulating_supply::text", c.id) == "20022396.0");
  CHECK(coin_value(u,
                   "market_cap_rank IS NULL AND fully_diluted_valuation IS NULL AND "
                   "max_supply IS NULL AND atl_date IS NULL AND market_cap_change_24h IS NULL",
                   c.id) == "t");
  CHECK(coin_value(u, "ath_date = '2024-03-14T07:10:36.635Z'::timestamptz", c.id) == "t");
  CHECK(coin_value(u, "last_updated = '2024-03-30T12:34:56.789Z'::timestamptz", c.id) == "t");
  CHECK(coin_value(u, "roi_times::text || ' ' || roi_currency || ' ' || roi_percentage::text",
                   c.id) == "1.2345678901234567890123 usd 123.45678901234567890123");
  CHECK(coin_value(u, "price_change_percentage_1h_in_currency::text", c.id) == "0.123");
  CHECK(coin_value(u, "price_change_percentage_1y_in_currency::text", c.id) == "-99.9");
  CHECK(coin_value(u, "price_change_percentage_7d_in_currency IS NULL", c.id) == "t");
  CHECK(coin_value(u, "vs_currency || ' ' || snapshot_id", c.id) == "usd 20240330T123500Z_usd");
  CHECK(coin_value(u, "market_cap_rank", "bitcoin") == "7");
  // fetched_at is the meta's time point, to the microsecond.
  const auto micros =
      std::chrono::duration_cast<std::chrono::microseconds>(meta.fetched_at.time_since_epoch())
          .count();
  CHECK(coin_value(u, "(extract(epoch FROM fetched_at) * 1000000)::bigint::text", c.id) ==
        std::to_string(micros));

  CHECK(scalar(u, "SELECT body->0->>'id' FROM coin_market_raw_json WHERE snapshot_id = "
                  "'20240330T123500Z_usd' AND page = 1") == "weird-coin");
  CHECK(
      scalar(u,
             "SELECT (body->0->'current_price')::numeric = 0.0000869 FROM coin_market_raw_json") ==
      "t");
  CHECK(scalar(u, "SELECT convert_from(body, 'UTF8') FROM coin_market_raw") == body);
  CHECK(scalar(u, "SELECT body_bytes FROM coin_market_raw") == std::to_string(body.size()));
  CHECK(scalar(u, "SELECT status || '|' || error || '|' || pages || '|' || coins_received || '|' "
                  "|| rows_inserted || '|' || rows_unchanged || '|' || rows_rejected FROM "
                  "etl_runs") == "partial|2 coins rejected|1|2|2|0|2");
  CHECK(scalar(u, "SELECT started_at < fetched_at AND fetched_at <= loaded_at FROM etl_runs") ==
        "t");
}

TEST_CASE("loading the same snapshot again changes nothing", "[db]") {
  MigratedSchema s("etl_db_load_replay");
  const SnapshotMeta meta = make_meta("20240330T130000Z_usd");
  const std::vector<CoinMarket> coins{make_coin("bitcoin", "2024-03-30T12:59:00Z"),
                                      make_coin("ethereum", "2024-03-30T12:59:10Z")};
  auto first = load_one_page(s.db, meta, coins);
  REQUIRE(first.has_value());
  CHECK(first->counts.rows_inserted == 2);
  CHECK(scalar(s.url, "SELECT error IS NULL FROM etl_runs") == "t");

  auto again = load_one_page(s.db, meta, coins);
  REQUIRE(again.has_value());
  CHECK(again->already_loaded);
  CHECK(again->counts.rows_inserted == 0);
  CHECK(again->counts.rows_unchanged == 2);
  CHECK(count(s.url, "SELECT count(*) FROM coin_market") == 2);
  CHECK(count(s.url, "SELECT count(*) FROM coin_market_raw") == 1);
  CHECK(count(s.url, "SELECT count(*) FROM etl_runs") == 1);
  CHECK(scalar(s.url, "SELECT rows_inserted FROM etl_runs") == "2");
}

TEST_CASE("a new snapshot of CoinGecko's cached data is counted unchanged", "[db]") {
  MigratedSchema s("etl_db_load_unchanged");
  const std::vector<CoinMarket> coins{make_coin("bitcoin", "2024-03-30T12:59:00Z"),
                                      make_coin("ethereum", "2024-03-30T12:59:10Z"),
                                      make_coin("tether", "2024-03-30T12:59:20Z")};
  REQUIRE(load_one_page(s.db, make_meta("20240330T130000Z_usd"), coins).has_value());
  auto second = load_one_page(s.db, make_meta("20240330T130030Z_usd"), coins);
  REQUIRE(second.has_value());
  CHECK_FALSE(second->already_loaded);
  CHECK(second->counts.rows_inserted == 0);
  CHECK(second->counts.rows_unchanged == 3);
  CHECK(count(s.url, "SELECT count(*) FROM coin_market") == 3);
  CHECK(count(s.url, "SELECT count(*) FROM etl_runs") == 2);
  CHECK(scalar(s.url, "SELECT rows_unchanged FROM etl_runs WHERE snapshot_id = "
                      "'20240330T130030Z_usd'") == "3");
  // The rows keep the snapshot that first delivered them.
  CHECK(count(s.url, "SELECT count(*) FROM coin_market WHERE snapshot_id = "
                     "'20240330T130000Z_usd'") == 3);
}

TEST_CASE("the same coin twice within one snapshot is stored once", "[db]") {
  MigratedSchema s("etl_db_load_dup");
  auto load = s.db.begin_snapshot(make_meta("20240330T140000Z_usd"));
  REQUIRE(load.has_value());
  const CoinMarket btc = make_coin("bitcoin", "2024-03-30T13:59:00Z");
  // Pages shift while CoinGecko re-ranks: the last coin of page 1 reappears on page 2.
  const std::vector<CoinMarket> page1{make_coin("ethereum", "2024-03-30T13:59:00Z"), btc};
  const std::vector<CoinMarket> page2{btc, make_coin("tether", "2024-03-30T13:59:00Z")};
  REQUIRE(load->add_page(1, "[]", page1, 0).has_value());
  REQUIRE(load->add_page(2, "[]", page2, 0).has_value());
  auto r = load->commit("loaded", "");
  REQUIRE(r.has_value());
  CHECK(r->counts.pages == 2);
  CHECK(r->counts.coins_received == 4);
  CHECK(r->counts.rows_inserted == 3);
  CHECK(r->counts.rows_unchanged == 1);
  CHECK(count(s.url, "SELECT count(*) FROM coin_market WHERE coin_id = 'bitcoin'") == 1);
  CHECK(count(s.url, "SELECT count(*) FROM coin_market_raw") == 2);
}

TEST_CASE("a coin PostgreSQL refuses costs that coin only", "[db]") {
  MigratedSchema s("etl_db_load_isolate");
  const SnapshotMeta meta = make_meta("20240330T150030Z_usd");
  auto load = s.db.begin_snapshot(meta);
  REQUIRE(load.has_value());
  auto page1 =
      load->add_page(1, "[1]", std::vector{make_coin("ethereum", "2024-03-30T15:00:00Z")}, 0);
  REQUIRE(page1.has_value());
  CHECK(page1->rejected_rows.empty());

  // Values the parser may let through but PostgreSQL refuses (built here, bypassing the parser),
  // spread over the page: first, middle, last.
  std::vector<CoinMarket> coins;
  coins.reserve(9);
  for (int i = 0; i < 9; ++i)
    coins.push_back(make_coin("good-" + std::to_string(i), "2024-03-30T15:00:00Z"));
  coins[0] = make_coin("bad-date", "2021-13-45T10:00:00.000Z"); // 22008: no 13th month
  coins[4] = make_coin("bad-rank", "2024-03-30T15:00:00Z");
  coins[4].market_cap_rank = 3000000000; // 22003: beyond integer
  coins[8] = make_coin("bad-offset", "2024-03-30T15:00:00Z");
  coins[8].ath_date = "2024-03-14T07:10:36+16:00"; // 22009: offset beyond 15:59
  const std::string body = "[2]";
  auto page2 = load->add_page(2, body, coins, 1);
  REQUIRE(page2.has_value());
  std::string ids;
  for (const auto& row : page2->rejected_rows) {
    ids += (ids.empty() ? "" : ",") + row.coin_id;
    CHECK(row.sqlstate.substr(0, 2) == "22");
    CHECK_FALSE(row.message.empty());
  }
  CHECK(ids == "bad-date,bad-rank,bad-offset");
  // The transaction is still usable after the isolation: a later page loads normally.
  REQUIRE(load->add_page(3, "[3]", std::vector{make_coin("solana", "2024-03-30T15:00:00Z")}, 0)
              .has_value());
  auto r = load->commit("partial", "");
  REQUIRE(r.has_value());
  CHECK(r->counts.pages == 3);
  CHECK(r->counts.coins_received == 8); // 1 + 6 + 1 stored
  CHECK(r->counts.rows_inserted == 8);
  CHECK(r->counts.rows_unchanged == 0);
  CHECK(r->counts.rows_rejected == 4); // 1 by the parser (the argument) + 3 by PostgreSQL
  CHECK(scalar(s.url, "SELECT string_agg(coin_id, ',' ORDER BY coin_id) FROM coin_market") ==
        "ethereum,good-1,good-2,good-3,good-5,good-6,good-7,solana");
  CHECK(count(s.url, "SELECT count(*) FROM coin_market_raw") == 3);
  CHECK(
      scalar(
          s.url,
          "SELECT rows_rejected || ' ' || coins_received || ' ' || rows_inserted FROM etl_runs") ==
      "4 8 8");
}

TEST_CASE("a page of which PostgreSQL refuses every coin keeps its raw body", "[db]") {
  MigratedSchema s("etl_db_load_isolate_all");
  auto load = s.db.begin_snapshot(make_meta("20240330T150100Z_usd"));
  REQUIRE(load.has_value());
  std::vector<CoinMarket> coins;
  for (int i = 0; i < 5; ++i) {
    coins.push_back(make_coin("bad-" + std::to_string(i), "2024-03-30T15:01:00Z"));
    coins.back().market_cap_rank = 3000000000LL + i;
  }
  auto page = load->add_page(1, "[]", coins, 0);
  REQUIRE(page.has_value());
  CHECK(page->rejected_rows.size() == 5);
  auto r = load->commit("partial", "");
  REQUIRE(r.has_value());
  CHECK(r->counts.coins_received == 0);
  CHECK(r->counts.rows_rejected == 5);
  CHECK(count(s.url, "SELECT count(*) FROM coin_market") == 0);
  CHECK(count(s.url, "SELECT count(*) FROM coin_market_raw") == 1);
}

TEST_CASE("a constraint violation (23xxx) in coin_market is isolated like a bad value", "[db]") {
  MigratedSchema s("etl_db_load_isolate_check");
  {
    pqxx::connection admin{s.url};
    pqxx::nontransaction tx{admin};
    tx.exec(
        "ALTER TABLE coin_market ADD CONSTRAINT test_no_tether CHECK (coin_id <> 'tether') NOT VALID");
  }
  auto r = load_one_page(s.db, make_meta("20240330T150200Z_usd"),
                         {make_coin("bitcoin", "2024-03-30T15:02:00Z"),
                          make_coin("tether", "2024-03-30T15:02:00Z"),
                          make_coin("ethereum", "2024-03-30T15:02:00Z")});
  REQUIRE(r.has_value());
  CHECK(r->counts.rows_inserted == 2);
  CHECK(r->counts.rows_rejected == 1);
  CHECK(scalar(s.url, "SELECT string_agg(coin_id, ',' ORDER BY coin_id) FROM coin_market") ==
        "bitcoin,ethereum");
}

TEST_CASE("a refusal that is not about the data still fails the whole snapshot", "[db]") {
  MigratedSchema s("etl_db_load_isolate_refused");
  {
    // One coin meets an error the server raises for its own reasons (a lock timeout): not the
    // row's fault, so nothing is isolated or dropped; the snapshot waits for a retry.
    pqxx::connection admin{s.url};
    pqxx::nontransaction tx{admin};
    tx.exec(
        "CREATE FUNCTION test_lock_timeout() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        "IF NEW.coin_id = 'tether' THEN RAISE EXCEPTION 'lock timeout' USING ERRCODE = '55P03'; END IF; "
        "RETURN NEW; END $$");
    tx.exec("CREATE TRIGGER test_lock_timeout BEFORE INSERT ON coin_market FOR EACH ROW "
            "EXECUTE FUNCTION test_lock_timeout()");
  }
  auto load = s.db.begin_snapshot(make_meta("20240330T150300Z_usd"));
  REQUIRE(load.has_value());
  auto page = load->add_page(1, "[]",
                             std::vector{make_coin("bitcoin", "2024-03-30T15:03:00Z"),
                                         make_coin("tether", "2024-03-30T15:03:00Z")},
                             0);
  REQUIRE_FALSE(page.has_value());
  CHECK(page.error().kind == DbError::Kind::refused);
  CHECK(page.error().sqlstate == "55P03");
  CHECK_FALSE(load->commit("loaded", "").has_value());
  CHECK(count(s.url, "SELECT count(*) FROM etl_runs") == 0);
  CHECK(count(s.url, "SELECT count(*) FROM coin_market") == 0);
  CHECK(count(s.url, "SELECT count(*) FROM coin_market_raw") == 0);
}

TEST_CASE("a data refusal outside the coin rows rolls the whole snapshot back", "[db]") {
  MigratedSchema s("etl_db_load_rollback");
  {
    pqxx::connection admin{s.url};
    pqxx::nontransaction tx{admin};
    tx.exec(
        "ALTER TABLE coin_market_raw ADD CONSTRAINT test_small_pages CHECK (body_bytes < 100) NOT VALID");
  }
  const SnapshotMeta meta = make_meta("20240330T150030Z_usd");
  auto load = s.db.begin_snapshot(meta);
  REQUIRE(load.has_value());
  REQUIRE(load->add_page(1, "[]", std::vector{make_coin("ethereum", "2024-03-30T15:00:00Z")}, 0)
              .has_value());
  auto bad = load->add_page(2, std::string(100, ' '),
                            std::vector{make_coin("tether", "2024-03-30T15:00:00Z")}, 0);
  REQUIRE_FALSE(bad.has_value());
  CHECK(bad.error().kind == DbError::Kind::rejected);
  CHECK(bad.error().sqlstate == "23514");
  CHECK_THAT(bad.error().message, Catch::Contains("20240330T150030Z_usd"));
  // The transaction is dead: commit reports the same failure instead of writing anything.
  auto commit = load->commit("loaded", "");
  REQUIRE_FALSE(commit.has_value());
  CHECK(commit.error().kind == DbError::Kind::rejected);

  CHECK(count(s.url, "SELECT count(*) FROM etl_runs") == 0);
  CHECK(count(s.url, "SELECT count(*) FROM coin_market_raw") == 0);
  CHECK(count(s.url, "SELECT count(*) FROM coin_market") == 0);

  // The connection survives a rejected snapshot; the same id can be loaded once fixed.
  CHECK(s.db.connected());
  auto retry = load_one_page(s.db, meta, {make_coin("ethereum", "2024-03-30T15:00:00Z")});
  REQUIRE(retry.has_value());
  CHECK(retry->counts.rows_inserted == 1);
}

TEST_CASE("the raw body is stored byte for byte, whatever jsonb would say of it", "[db]") {
  MigratedSchema s("etl_db_load_raw_bytes");
  // \u0000 and a number beyond numeric's range (jsonb refuses both), a raw NUL and bytes that
  // are not UTF-8 (no JSON at all), all in one body.
  std::string body = R"([{"id":"bitcoin","note":"a\u0000b","x":1e-999999,"y":1e999999}])";
  body += std::string("\0\xff\xfe<html>", 9);
  std::string hex;
  for (unsigned char c : body) {
    constexpr const char* digits = "0123456789abcdef";
    hex += digits[c >> 4];
    hex += digits[c & 15];
  }
  auto load = s.db.begin_snapshot(make_meta("20240330T150400Z_usd"));
  REQUIRE(load.has_value());
  REQUIRE(load->add_page(1, body, std::vector{make_coin("bitcoin", "2024-03-30T15:04:00Z")}, 0)
              .has_value());
  REQUIRE(load->commit("loaded", "").has_value());
  CHECK(scalar(s.url, "SELECT encode(body, 'hex') FROM coin_market_raw") == hex);
  CHECK(scalar(s.url, "SELECT body_bytes FROM coin_market_raw") == std::to_string(body.size()));
  // The documented jsonb path gives NULL for a body jsonb cannot hold, and never fails.
  CHECK(scalar(s.url, "SELECT body IS NULL FROM coin_market_raw_json") == "t");
  CHECK(scalar(s.url,
               "SELECT coin_market_raw_jsonb(convert_to('[{\"id\":\"x\"}]', 'UTF8'))->0->>'id'") ==
        "x");
  // Compressed with lz4 when the server has it (as 0003 set for jsonb).
  if (scalar(
          s.url,
          "SELECT 'lz4' = ANY (enumvals) FROM pg_settings WHERE name = 'default_toast_compression'") ==
      "t")
    CHECK(
        scalar(
            s.url,
            "SELECT attcompression::text FROM pg_attribute WHERE attrelid = 'coin_market_raw'::regclass "
            "AND attname = 'body'") == "l");
}

TEST_CASE("a read-only or privilege refusal is the server refusing, not bad data", "[db]") {
  MigratedSchema s("etl_db_load_readonly");
  // A failover to a standby: every new transaction is read-only.
  Database readonly(s.url + "%20-cdefault_transaction_read_only%3Don"); // appended to options=
  // The session's first write (its staging table, or the page) is where the server says no.
  auto load = readonly.begin_snapshot(make_meta("20240330T153000Z_usd"));
  tl::expected<PageResult, DbError> page =
      load ? load->add_page(1, "[]", std::vector{make_coin("bitcoin", "2024-03-30T15:30:00Z")}, 0)
           : tl::expected<PageResult, DbError>(tl::unexpected(load.error()));
  REQUIRE_FALSE(page.has_value());
  CHECK(page.error().kind == DbError::Kind::refused);
  CHECK(page.error().sqlstate == "25006");
  CHECK(to_string(page.error().kind) == "refused");
  // A missing table (an operator dropped or renamed it) is refused too, never "rejected".
  {
    pqxx::connection admin{s.url};
    pqxx::nontransaction tx{admin};
    tx.exec("ALTER TABLE coin_market_raw RENAME TO coin_market_raw_moved");
  }
  auto again = s.db.begin_snapshot(make_meta("20240330T153030Z_usd"));
  REQUIRE(again.has_value());
  auto missing =
      again->add_page(1, "[]", std::vector{make_coin("bitcoin", "2024-03-30T15:30:30Z")}, 0);
  REQUIRE_FALSE(missing.has_value());
  CHECK(missing.error().kind == DbError::Kind::refused);
  CHECK(missing.error().sqlstate == "42P01");
  CHECK(count(s.url, "SELECT count(*) FROM etl_runs") == 0);
}

TEST_CASE("an invalid status is rejected and nothing is kept", "[db]") {
  MigratedSchema s("etl_db_load_invalid");
  {
    auto load = s.db.begin_snapshot(make_meta("20240330T160000Z_usd"));
    REQUIRE(load.has_value());
    REQUIRE(load->add_page(1, "[]", std::vector{make_coin("bitcoin", "2024-03-30T16:00:00Z")}, 0)
                .has_value());
    auto r = load->commit("done", "");
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().kind == DbError::Kind::rejected);
    CHECK(r.error().sqlstate == "23514");
  }
  CHECK(count(s.url, "SELECT count(*) FROM etl_runs") == 0);
  CHECK(count(s.url, "SELECT count(*) FROM coin_market") == 0);
  CHECK(count(s.url, "SELECT count(*) FROM coin_market_raw") == 0);
}

TEST_CASE("a SnapshotLoad dropped without commit leaves nothing", "[db]") {
  MigratedSchema s("etl_db_load_dropped");
  {
    auto load = s.db.begin_snapshot(make_meta("20240330T170000Z_usd"));
    REQUIRE(load.has_value());
    REQUIRE(load->add_page(1, "[]", std::vector{make_coin("bitcoin", "2024-03-30T17:00:00Z")}, 0)
                .has_value());
    // Only one snapshot transaction at a time per connection.
    auto second = s.db.begin_snapshot(make_meta("20240330T170030Z_usd"));
    REQUIRE_FALSE(second.has_value());
    CHECK(second.error().kind == DbError::Kind::internal);
  }
  CHECK(count(s.url, "SELECT count(*) FROM coin_market") == 0);
  CHECK(count(s.url, "SELECT count(*) FROM coin_market_raw") == 0);
  // Staging was emptied by the rollback: the next snapshot does not inherit the rows.
  auto r = load_one_page(s.db, make_meta("20240330T170100Z_usd"),
                         {make_coin("ethereum", "2024-03-30T17:01:00Z")});
  REQUIRE(r.has_value());
  CHECK(r->counts.rows_inserted == 1);
  CHECK(count(s.url, "SELECT count(*) FROM coin_market") == 1);
}

TEST_CASE("a SnapshotLoad that outlives its Database fails cleanly", "[db]") {
  const std::string url = fresh_schema("etl_db_load_orphan");
  std::optional<SnapshotLoad> orphan;
  {
    Database db(url, "etl-db-test-orphan");
    REQUIRE(db.migrate(ETL_MIGRATIONS_DIR).has_value());
    auto load = db.begin_snapshot(make_meta("20240330T180000Z_usd"));
    REQUIRE(load.has_value());
    orphan.emplace(std::move(*load));
  }
  auto r = orphan->add_page(1, "[]", std::vector{make_coin("bitcoin", "2024-03-30T18:00:00Z")}, 0);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().kind == DbError::Kind::unavailable);
  CHECK_FALSE(orphan->commit("loaded", "").has_value());
  CHECK(count(url, "SELECT count(*) FROM etl_runs") == 0);
}

TEST_CASE("coin_market_latest shows the newest row per coin", "[db]") {
  MigratedSchema s("etl_db_load_latest");
  CoinMarket old_btc = make_coin("bitcoin", "2024-03-30T19:00:00Z");
  old_btc.current_price = "100";
  CoinMarket new_btc = make_coin("bitcoin", "2024-03-30T19:00:30Z");
  new_btc.current_price = "101";
  REQUIRE(
      load_one_page(s.db, make_meta("a_usd"), {old_btc, make_coin("eth", "2024-03-30T19:00:00Z")})
          .has_value());
  REQUIRE(load_one_page(s.db, make_meta("b_usd"), {new_btc}).has_value());
  CHECK(count(s.url, "SELECT count(*) FROM coin_market") == 3);
  CHECK(count(s.url, "SELECT count(*) FROM coin_market_latest") == 2);
  CHECK(scalar(s.url, "SELECT current_price::text FROM coin_market_latest WHERE coin_id = "
                      "'bitcoin'") == "101");
}

TEST_CASE("2500 coins over 10 pages load in one transaction", "[db]") {
  MigratedSchema s("etl_db_load_volume");
  auto load = s.db.begin_snapshot(make_meta("20240330T200000Z_usd"));
  REQUIRE(load.has_value());
  const auto start = std::chrono::steady_clock::now();
  for (int page = 1; page <= 10; ++page) {
    std::vector<CoinMarket> coins;
    std::string body = "[";
    for (int i = 0; i < 250; ++i) {
      const std::string id = "coin-" + std::to_string(page) + "-" + std::to_string(i);
      CoinMarket c = make_coin(id, "2024-03-30T19:59:00Z");
      c.price_change_percentage_in_currency.fill("1.25");
      coins.push_back(std::move(c));
      body += (i ? ",{\"id\":\"" : "{\"id\":\"") + id + "\",\"current_price\":1.5}";
    }
    body += "]";
    REQUIRE(load->add_page(page, body, coins, 0).has_value());
  }
  auto r = load->commit("loaded", "");
  const auto elapsed =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start);
  REQUIRE(r.has_value());
  CHECK(r->counts.rows_inserted == 2500);
  CHECK(count(s.url, "SELECT count(*) FROM coin_market") == 2500);
  CHECK(count(s.url, "SELECT sum(jsonb_array_length(body)) FROM coin_market_raw_json") == 2500);
  // A sanity log, not a timed assertion (CI machines vary).
  std::printf("[db] 2500 coins / 10 pages loaded in %.1f ms\n", elapsed.count());
}
