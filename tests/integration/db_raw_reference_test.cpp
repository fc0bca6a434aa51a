// A raw page byte-identical to the previous one of the same currency and page is stored as a
// reference, not a second copy (issue 12, item 3; migration 0012), against a real PostgreSQL:
// every page still reads back byte for byte (sha256 on both sides) through coin_market_raw_body,
// a reference never crosses a month (retention drops whole months), and nothing the session
// cannot confirm is referenced: a rolled-back page, a deleted one, a forgotten session.
#include "db_test_support.hpp"

#include "core/sha256.hpp"

#include <string>
#include <vector>

using namespace etl::db;
using namespace etl::db::test;
using etl::market::CoinMarket;

namespace {

using std::chrono::system_clock;

// A fixed instant (not now(): a test running across midnight at a month's end must not see its
// snapshots in two months). 2026-09-<day> 10:<minute>:00 UTC.
system_clock::time_point at(int day, int minute) {
  std::tm tm{};
  tm.tm_year = 2026 - 1900;
  tm.tm_mon = 8;
  tm.tm_mday = day;
  tm.tm_hour = 10;
  tm.tm_min = minute;
  return system_clock::from_time_t(timegm(&tm));
}

SnapshotMeta meta_at(const std::string& id, system_clock::time_point when) {
  SnapshotMeta m = make_meta(id);
  m.started_at = when;
  m.fetched_at = when + std::chrono::milliseconds(250);
  return m;
}

// A body as CoinGecko sends it, large enough to matter, different for each `variant`.
std::string body(int page, int variant) {
  std::string b = "[";
  for (int i = 0; i < 200; ++i) {
    if (i > 0) b += ',';
    b += R"({"id":"coin-)" + std::to_string(page * 1000 + i) + R"(","current_price":)" +
         std::to_string(variant * 7 + i) + ".25}";
  }
  return b + "]";
}

// Loads one snapshot whose page p has bodies[p - 1] (coins are not the point here: one each).
LoadCounts load(Database& db, const SnapshotMeta& meta, const std::vector<std::string>& bodies) {
  auto tx = db.begin_snapshot(meta);
  REQUIRE(tx.has_value());
  for (std::size_t p = 0; p < bodies.size(); ++p) {
    const std::vector<CoinMarket> coins{
        make_coin("coin-" + std::to_string(p), "2026-09-01T10:00:00.000Z")};
    REQUIRE(tx->add_page(static_cast<int>(p + 1), bodies[p], coins, 0).has_value());
  }
  auto r = tx->commit("loaded", "");
  REQUIRE(r.has_value());
  return r->counts;
}

// "page:snapshot holding the bytes" for each page of a snapshot; "-" when stored in full.
std::string references(const std::string& url, const std::string& snapshot_id) {
  return scalar(url, "SELECT string_agg(page || ':' || coalesce(same_as_snapshot_id, '-'), ',' "
                     "ORDER BY page) FROM coin_market_raw WHERE snapshot_id = '" +
                         snapshot_id + "'");
}

// Every stored page, read through the view, against the bytes it was given.
void check_every_page_reads_back(const std::string& url,
                                 const std::vector<std::pair<std::string, std::string>>& expected) {
  for (const auto& [where, bytes] : expected) {
    INFO(where);
    CHECK(scalar(url, "SELECT convert_from(body, 'UTF8') FROM coin_market_raw_body WHERE " +
                          where) == bytes);
    const std::string digest = etl::core::to_hex(etl::core::sha256(bytes));
    CHECK(scalar(url, "SELECT encode(sha256(body), 'hex') FROM coin_market_raw_body WHERE " +
                          where) == digest);
    CHECK(scalar(url, "SELECT encode(body_sha256, 'hex') FROM coin_market_raw WHERE " + where) ==
          digest);
    CHECK(scalar(url, "SELECT body_bytes FROM coin_market_raw_body WHERE " + where) ==
          std::to_string(bytes.size()));
  }
}

std::string where(const std::string& snapshot_id, int page) {
  return "snapshot_id = '" + snapshot_id + "' AND page = " + std::to_string(page);
}

} // namespace

TEST_CASE("an identical page is stored once; every page reads back byte for byte",
          "[db][raw_reference]") {
  MigratedSchema s("etl_db_raw_reference");
  const std::string a = "20260901T100000Z_usd", b = "20260901T100030Z_usd",
                    c = "20260901T100100Z_usd";
  CHECK(load(s.db, meta_at(a, at(1, 0)), {body(1, 0), body(2, 0)}).pages_referenced == 0);
  // Page 1 as before (CoinGecko's cache), page 2 changed.
  const LoadCounts second = load(s.db, meta_at(b, at(1, 1)), {body(1, 0), body(2, 1)});
  CHECK(second.pages_referenced == 1);
  CHECK(second.pages == 2);
  CHECK(references(s.url, b) == "1:" + a + ",2:-");
  // Both as in b: page 1 names the snapshot that holds its bytes (a), never another reference.
  CHECK(load(s.db, meta_at(c, at(1, 2)), {body(1, 0), body(2, 1)}).pages_referenced == 2);
  CHECK(references(s.url, c) == "1:" + a + ",2:" + b);

  CHECK(count(s.url, "SELECT count(*) FROM coin_market_raw") == 6);
  CHECK(count(s.url, "SELECT count(*) FROM coin_market_raw WHERE body IS NOT NULL") == 3);
  check_every_page_reads_back(s.url, {{where(a, 1), body(1, 0)},
                                      {where(a, 2), body(2, 0)},
                                      {where(b, 1), body(1, 0)},
                                      {where(b, 2), body(2, 1)},
                                      {where(c, 1), body(1, 0)},
                                      {where(c, 2), body(2, 1)}});
  // The jsonb view reads through the references too.
  CHECK(count(s.url, "SELECT count(*) FROM coin_market_raw_json WHERE jsonb_array_length(body) "
                     "= 200") == 6);
  // A reference alone (no bytes, or bytes and a reference) is refused by the table itself.
  CHECK_THROWS(scalar(s.url, "INSERT INTO coin_market_raw (snapshot_id, page, vs_currency, "
                             "fetched_at, body, body_bytes) VALUES ('x', 1, 'usd', now(), NULL, 0) "
                             "RETURNING 1"));
}

TEST_CASE("a reference never crosses a month; dropping old months leaves every page readable",
          "[db][raw_reference]") {
  MigratedSchema s("etl_db_raw_reference_month");
  count(s.url, "SELECT coin_market_raw_ensure_partitions('2026-08-01Z', '2026-11-01Z')");
  const std::string sept = "20260930T235950Z_usd", oct = "20261001T000020Z_usd",
                    oct2 = "20261001T000050Z_usd";
  const auto last_of_september =
      at(30, 0) + std::chrono::hours(13) + std::chrono::minutes(59) + std::chrono::seconds(50);
  load(s.db, meta_at(sept, last_of_september), {body(1, 0)});
  // 30 s later, in October: the same bytes are stored again, in October's partition.
  CHECK(load(s.db, meta_at(oct, last_of_september + std::chrono::seconds(30)), {body(1, 0)})
            .pages_referenced == 0);
  CHECK(load(s.db, meta_at(oct2, last_of_september + std::chrono::seconds(60)), {body(1, 0)})
            .pages_referenced == 1);
  CHECK(references(s.url, oct2) == "1:" + oct);
  CHECK(count(s.url, "SELECT coin_market_raw_drop_partitions_before('2026-10-01Z')") >= 1);
  CHECK(count(s.url, "SELECT count(*) FROM coin_market_raw_body") == 2);
  CHECK(count(s.url, "SELECT count(*) FROM coin_market_raw_body WHERE body IS NULL") == 0);
}

TEST_CASE("only a page PostgreSQL confirms is referenced", "[db][raw_reference]") {
  MigratedSchema s("etl_db_raw_reference_confirm");
  const std::string rolled = "20260902T100000Z_usd", first = "20260902T100030Z_usd",
                    after_delete = "20260902T100100Z_usd", restarted = "20260902T100130Z_usd",
                    forgotten = "20260902T100200Z_usd";
  {
    auto tx = s.db.begin_snapshot(meta_at(rolled, at(2, 0)));
    REQUIRE(tx.has_value());
    REQUIRE(tx->add_page(1, body(1, 0), {}, 0).has_value());
  } // rolled back: the session learns nothing from it
  CHECK(load(s.db, meta_at(first, at(2, 1)), {body(1, 0)}).pages_referenced == 0);
  // An operator deletes the page the session would name: stored in full, not a dangling name.
  count(s.url, "WITH gone AS (DELETE FROM coin_market_raw RETURNING 1) SELECT count(*) FROM gone");
  CHECK(load(s.db, meta_at(after_delete, at(2, 2)), {body(1, 0)}).pages_referenced == 0);
  CHECK(references(s.url, after_delete) == "1:-");
  // A new session reads which pages are stored from the newest snapshots.
  Database again(s.url, "etl-db-test-restarted");
  CHECK(load(again, meta_at(restarted, at(2, 3)), {body(1, 0)}).pages_referenced == 1);
  CHECK(references(s.url, restarted) == "1:" + after_delete);
  // Forgotten (retention dropped partitions, another replica led): read back from the database.
  again.forget_stored();
  CHECK(load(again, meta_at(forgotten, at(2, 4)), {body(1, 0)}).pages_referenced == 1);
  CHECK(references(s.url, forgotten) == "1:" + after_delete);
  CHECK(count(s.url, "SELECT count(*) FROM coin_market_raw_body WHERE body IS NULL") == 0);
}

TEST_CASE("a page stored with all its coins loads again unparsed; anything less is parsed",
          "[db][raw_reference]") {
  MigratedSchema s("etl_db_raw_reference_repeat");
  std::vector<CoinMarket> coins;
  coins.reserve(20);
  for (int i = 0; i < 20; ++i)
    coins.push_back(make_coin("coin-" + std::to_string(i), "2026-09-03T10:00:00.000Z"));
  const std::string page = body(1, 0);
  const auto digest = etl::core::sha256(page);
  const auto load_parsed = [&](Database& db, const std::string& id, int minute) {
    auto tx = db.begin_snapshot(meta_at(id, at(3, minute)));
    REQUIRE(tx.has_value());
    REQUIRE(tx->add_page(1, page, coins, 0).has_value());
    REQUIRE(tx->commit("loaded", "").has_value());
  };
  const auto load_repeated = [&](Database& db, const std::string& id, int minute) {
    auto tx = db.begin_snapshot(meta_at(id, at(3, minute)));
    REQUIRE(tx.has_value());
    auto added = tx->add_repeated_page(1, page, digest);
    REQUIRE(added.has_value());
    if (!added->has_value()) return std::optional<LoadCounts>{}; // nothing written: roll back
    CHECK((*added)->rows_known == 20);
    CHECK((*added)->raw_referenced);
    auto r = tx->commit("loaded", "");
    REQUIRE(r.has_value());
    return std::optional<LoadCounts>{r->counts};
  };

  CHECK_FALSE(load_repeated(s.db, "20260903T100000Z_usd", 0)); // nothing stored yet
  load_parsed(s.db, "20260903T100100Z_usd", 1);
  const auto repeated = load_repeated(s.db, "20260903T100200Z_usd", 2);
  REQUIRE(repeated);
  CHECK(repeated->pages == 1);
  CHECK(repeated->coins_received == 20);
  CHECK(repeated->rows_unchanged == 20);
  CHECK(repeated->rows_inserted == 0);
  CHECK(repeated->pages_referenced == 1);
  CHECK(references(s.url, "20260903T100200Z_usd") == "1:20260903T100100Z_usd");
  CHECK(count(s.url, "SELECT count(*) FROM coin_market") == 20);
  CHECK(count(s.url, "SELECT rows_unchanged FROM etl_runs WHERE snapshot_id = "
                     "'20260903T100200Z_usd'") == 20);

  // A new session knows where the bytes are but not that every coin is stored: parse once.
  Database restarted(s.url, "etl-db-test-restarted");
  CHECK_FALSE(load_repeated(restarted, "20260903T100300Z_usd", 3));
  load_parsed(restarted, "20260903T100400Z_usd", 4);
  CHECK(load_repeated(restarted, "20260903T100500Z_usd", 5));

  // A coin PostgreSQL refused is not stored: the page is parsed again next time.
  coins[5].market_cap_rank = 3000000000; // 22003: beyond integer
  coins[5].last_updated = "2026-09-03T10:06:00.000Z";
  const std::string refused_page = body(1, 9);
  {
    auto tx = restarted.begin_snapshot(meta_at("20260903T100600Z_usd", at(3, 6)));
    REQUIRE(tx.has_value());
    REQUIRE(tx->add_page(1, refused_page, coins, 0)->rejected_rows.size() == 1);
    REQUIRE(tx->commit("partial", "").has_value());
  }
  auto tx = restarted.begin_snapshot(meta_at("20260903T100700Z_usd", at(3, 7)));
  REQUIRE(tx.has_value());
  auto added = tx->add_repeated_page(1, refused_page, etl::core::sha256(refused_page));
  REQUIRE(added.has_value());
  CHECK_FALSE(added->has_value());
}
