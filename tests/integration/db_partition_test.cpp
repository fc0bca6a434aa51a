// coin_market and coin_market_raw as partitioned tables (migrations 0002 and 0004): the
// migration from the unpartitioned tables keeps every value, partitions are created ahead,
// retention drops whole old months only, and the two common queries use partition pruning and
// the indexes.
#include "db/partitions.hpp"
#include "db_test_support.hpp"

#include <filesystem>
#include <random>
#include <sstream>

using namespace etl::db;
using namespace etl::db::test;
namespace fs = std::filesystem;
using std::chrono::sys_days;

namespace {

std::chrono::system_clock::time_point utc(int y, unsigned m, unsigned d) {
  return sys_days{std::chrono::year{y} / std::chrono::month{m} / std::chrono::day{d}};
}

// A migrations directory holding only 0001: the schema as it was before partitioning.
struct OnlyInitialMigration {
  fs::path dir =
      fs::temp_directory_path() / ("etl-mig-0001-" + std::to_string(std::random_device{}()));
  OnlyInitialMigration() {
    fs::create_directories(dir);
    fs::copy_file(fs::path(ETL_MIGRATIONS_DIR) / "0001_initial.sql", dir / "0001_initial.sql");
  }
  ~OnlyInitialMigration() { fs::remove_all(dir); }
};

std::vector<std::string> partitions(const std::string& url,
                                    const std::string& parent = "coin_market") {
  pqxx::connection c{url};
  pqxx::nontransaction tx{c};
  std::vector<std::string> out;
  for (const auto& row :
       tx.exec("SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
               "WHERE i.inhparent = " +
               tx.quote(parent) + "::regclass ORDER BY 1"))
    out.push_back(row[0].as<std::string>());
  return out;
}

// A Sort node in the plan ("Sort Key:" lines of a Merge Append are not one).
bool has_sort_node(const std::string& plan_text) {
  std::istringstream lines(plan_text);
  for (std::string line; std::getline(lines, line);) {
    auto text = line.substr(std::min(line.find_first_not_of(' '), line.size()));
    if (text.starts_with("->  ")) text = text.substr(4);
    if (text == "Sort" || text.starts_with("Sort  ") || text.starts_with("Incremental Sort"))
      return true;
  }
  return false;
}

bool has(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

std::string plan(const std::string& url, const std::string& query) {
  pqxx::connection c{url};
  pqxx::nontransaction tx{c};
  // Test tables are tiny: a sequential scan would win on cost. Disabling it shows the index
  // can serve the query; pruning is independent of it.
  tx.exec("SET enable_seqscan = off");
  std::string text;
  for (const auto& row : tx.exec("EXPLAIN (COSTS OFF) " + query))
    text += row[0].as<std::string>() + "\n";
  return text;
}

// Every column of every row as text, in key order: equal digests mean equal data.
constexpr const char* kDigest =
    "SELECT count(*) || ':' || md5(coalesce(string_agg(t::text, '|' ORDER BY coin_id, vs_currency, last_updated), '')) "
    "FROM coin_market t";
// The body's text is compared apart: migration 0005 turns 0001's jsonb into bytea holding it.
constexpr const char* kRawDigest =
    "SELECT count(*) || ':' || md5(coalesce(string_agg((snapshot_id, page, vs_currency, fetched_at, body_bytes)::text, "
    "'|' ORDER BY snapshot_id, page), '')) FROM coin_market_raw t";

} // namespace

TEST_CASE("migration 0002 turns a filled coin_market into a partitioned one, values intact",
          "[db][partition]") {
  const std::string url = fresh_schema("etl_db_partition_migrate");
  Database db(url, "etl-db-partition-migrate");
  {
    OnlyInitialMigration initial;
    REQUIRE(db.migrate(initial.dir).value() == 1);
  }
  CHECK(scalar(url, "SELECT relkind FROM pg_class WHERE oid = 'coin_market'::regclass") == "r");

  // Observations over three months, with exact decimals, a stale quote from 2019, and NULLs.
  std::vector<etl::market::CoinMarket> coins;
  for (int i = 0; i < 30; ++i) {
    const char* month[] = {"08", "09", "10"};
    auto c = make_coin("coin-" + std::to_string(i), std::string("2026-") + month[i % 3] + "-1" +
                                                        std::to_string(i % 10) + "T10:00:00.123Z");
    c.current_price = i % 2 ? "8.69e-05" : "400000000000000000000.000000000000000001";
    if (i % 5 == 0) c.market_cap = std::nullopt;
    coins.push_back(std::move(c));
  }
  coins.push_back(make_coin("dead-coin", "2019-03-01T00:00:00.000Z"));
  auto meta = make_meta("20260915T100000Z_usd");
  meta.started_at = utc(2026, 9, 15);
  meta.fetched_at = meta.started_at;
  {
    // The loader writes 0005's bytea body and 0012's digest: load through them, then give the
    // row 0001's jsonb.
    pqxx::connection admin{url};
    pqxx::nontransaction tx{admin};
    tx.exec("ALTER TABLE coin_market_raw ALTER COLUMN body TYPE bytea USING "
            "convert_to(body::text, 'UTF8'), ADD COLUMN body_sha256 bytea"); // and 0012's digest
    const auto loaded = load_one_page(db, meta, coins);
    if (!loaded) FAIL(loaded.error().message);
    tx.exec("ALTER TABLE coin_market_raw ALTER COLUMN body TYPE jsonb USING "
            "convert_from(body, 'UTF8')::jsonb, DROP COLUMN body_sha256");
  }
  CHECK(scalar(url, "SELECT pg_typeof(body)::text || ' ' || body::text FROM coin_market_raw") ==
        "jsonb []");
  const std::string before = scalar(url, kDigest);
  const std::string latest_before = scalar(url, "SELECT count(*) FROM coin_market_latest");
  CHECK(before.starts_with("31:"));
  const std::string raw_before = scalar(url, kRawDigest);
  CHECK(raw_before.starts_with("1:"));

  REQUIRE(db.migrate(ETL_MIGRATIONS_DIR).value() >= 1);
  CHECK(scalar(url, "SELECT relkind FROM pg_class WHERE oid = 'coin_market'::regclass") == "p");
  CHECK(scalar(url, kDigest) == before);
  CHECK(scalar(url, "SELECT count(*) FROM coin_market_latest") == latest_before);
  CHECK(scalar(url, "SELECT to_regclass('coin_market_unpartitioned') IS NULL") == "t");
  // coin_market_raw (0004) likewise, by fetched_at: the September page is in September's month.
  CHECK(scalar(url, "SELECT relkind FROM pg_class WHERE oid = 'coin_market_raw'::regclass") == "p");
  CHECK(scalar(url, kRawDigest) == raw_before);
  CHECK(scalar(url, "SELECT convert_from(body, 'UTF8') FROM coin_market_raw") ==
        "[]"); // 0005: jsonb's text
  CHECK(scalar(url, "SELECT tableoid::regclass FROM coin_market_raw") ==
        "coin_market_raw_p2026_09");
  CHECK(scalar(url, "SELECT to_regclass('coin_market_raw_unpartitioned') IS NULL") == "t");
  CHECK(has(partitions(url, "coin_market_raw"), "coin_market_raw_default"));
  // Months since the first fetch (September) have partitions; quotes older than that (the
  // August ones and the 2019 one) sit in the default partition.
  const auto parts = partitions(url);
  CHECK(has(parts, "coin_market_p2026_09"));
  CHECK(has(parts, "coin_market_p2026_10"));
  CHECK(has(parts, "coin_market_default"));
  CHECK_FALSE(has(parts, "coin_market_p2026_08"));
  CHECK_FALSE(has(parts, "coin_market_p2019_03"));
  CHECK(count(url, "SELECT count(*) FROM coin_market_default") == 11);
  CHECK(count(url, "SELECT count(*) FROM coin_market_default WHERE coin_id = 'dead-coin'") == 1);
  CHECK(count(url, "SELECT count(*) FROM coin_market_p2026_09") == 10);
  // The indexes exist on the parent, so every partition has them.
  CHECK(count(url, "SELECT count(*) FROM pg_indexes WHERE schemaname = current_schema() AND "
                   "tablename = 'coin_market' AND indexname IN "
                   "('coin_market_pkey', 'coin_market_snapshot_idx')") == 2);
  // Migration 0011 dropped the index that repeated the primary key's columns.
  CHECK(count(url, "SELECT count(*) FROM pg_indexes WHERE schemaname = current_schema() AND "
                   "indexname = 'coin_market_latest_idx'") == 0);

  // The loader works on the partitioned table, including its conflict handling.
  auto again = load_one_page(db, make_meta("20260915T100030Z_usd"), coins);
  REQUIRE(again);
  CHECK(again->counts.rows_inserted == 0);
  CHECK(again->counts.rows_unchanged == 31);
  CHECK(scalar(url, kDigest) == before);
}

TEST_CASE("partitions are created ahead, and rows parked in the default partition move in",
          "[db][partition]") {
  MigratedSchema s("etl_db_partition_ahead");
  // A far-future quote lands in the default partition: no month of 2031 exists yet.
  REQUIRE(load_one_page(s.db, make_meta("20310715T000000Z_usd"),
                        {make_coin("future", "2031-07-04T12:00:00Z")}));
  CHECK(scalar(s.url, "SELECT tableoid::regclass FROM coin_market WHERE coin_id = 'future'") ==
        "coin_market_default");

  PartitionMaintainer maintainer(s.url, "etl-db-partition-test");
  const auto report = maintainer.run(PartitionPolicy{}, utc(2031, 6, 15));
  REQUIRE(report);
  CHECK(report->created == 4); // May (behind), June, July, August (ahead)
  CHECK(report->dropped == 0);
  const auto parts = partitions(s.url);
  for (const char* p : {"coin_market_p2031_05", "coin_market_p2031_06", "coin_market_p2031_07",
                        "coin_market_p2031_08"})
    CHECK(has(parts, p));
  CHECK_FALSE(has(parts, "coin_market_p2031_09"));
  CHECK(scalar(s.url, "SELECT tableoid::regclass FROM coin_market WHERE coin_id = 'future'") ==
        "coin_market_p2031_07");
  CHECK(count(s.url, "SELECT count(*) FROM coin_market_default") == 0);
  CHECK(
      scalar(
          s.url,
          "SELECT pg_get_expr(relpartbound, oid) FROM pg_class WHERE relname = 'coin_market_p2031_07'") ==
      "FOR VALUES FROM ('2031-07-01 00:00:00+00') TO ('2031-08-01 00:00:00+00')");
  // The moved partition has the indexes too (the primary key and the BRIN on snapshot_id, since
  // migration 0011).
  CHECK(count(s.url, "SELECT count(*) FROM pg_indexes WHERE schemaname = current_schema() AND "
                     "tablename = 'coin_market_p2031_07'") == 2);

  // Daily runs are idempotent.
  const auto second = maintainer.run(PartitionPolicy{}, utc(2031, 6, 16));
  REQUIRE(second);
  CHECK(second->created == 0);
}

TEST_CASE("retention drops whole months older than it, and nothing else", "[db][partition]") {
  MigratedSchema s("etl_db_partition_retention");
  PartitionMaintainer maintainer(s.url, "etl-db-partition-test");
  PartitionPolicy wide;
  wide.months_behind = 6;
  REQUIRE(maintainer.run(wide, utc(2031, 6, 15)));
  std::vector<etl::market::CoinMarket> coins;
  for (int month = 1; month <= 6; ++month)
    coins.push_back(
        make_coin("m" + std::to_string(month), "2031-0" + std::to_string(month) + "-20T00:00:00Z"));
  coins.push_back(make_coin("stale", "2020-01-01T00:00:00Z"));  // default partition, old
  coins.push_back(make_coin("future", "2040-01-01T00:00:00Z")); // default partition, new
  REQUIRE(load_one_page(s.db, make_meta("20310615T000000Z_usd"), coins));

  // Partitions the migration made around today's date are older than the cutoff too.
  const auto expected_drops =
      count(s.url, "SELECT count(*) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                   "WHERE i.inhparent = 'coin_market'::regclass AND c.relname ~ '^coin_market_p' "
                   "AND c.relname < 'coin_market_p2031_04'");
  PartitionPolicy policy;
  policy.retention = std::chrono::hours(24 * 60); // cutoff 2031-04-16
  const auto report = maintainer.run(policy, utc(2031, 6, 15));
  REQUIRE(report);
  const auto parts = partitions(s.url);
  // Months that ended before the cutoff are gone (2031-03 ended 04-01); April ends after it.
  for (const char* p : {"coin_market_p2030_12", "coin_market_p2031_01", "coin_market_p2031_02",
                        "coin_market_p2031_03"})
    CHECK_FALSE(has(parts, p));
  for (const char* p : {"coin_market_p2031_04", "coin_market_p2031_05", "coin_market_p2031_06",
                        "coin_market_default"})
    CHECK(has(parts, p));
  CHECK(report->dropped == expected_drops);
  CHECK(expected_drops >= 4);
  CHECK(scalar(s.url, "SELECT string_agg(coin_id, ',' ORDER BY coin_id) FROM coin_market") ==
        "future,m4,m5,m6");
  // etl_runs and raw pages are not touched by coin_market retention.
  CHECK(count(s.url, "SELECT count(*) FROM etl_runs") == 1);
  CHECK(count(s.url, "SELECT count(*) FROM coin_market_raw") == 1);
}

TEST_CASE("coin_market_raw: months created ahead, lz4 kept, its own retention", "[db][partition]") {
  MigratedSchema s("etl_db_partition_raw");
  PartitionMaintainer maintainer(s.url, "etl-db-partition-test");
  PartitionPolicy wide;
  wide.months_behind = 6;
  const auto made = maintainer.run(wide, utc(2031, 6, 15));
  REQUIRE(made);
  CHECK(made->raw_created >= 7); // 2030-12 .. 2031-08, less any the migration made already
  const auto parts = partitions(s.url, "coin_market_raw");
  for (const char* p :
       {"coin_market_raw_p2031_01", "coin_market_raw_p2031_06", "coin_market_raw_p2031_08"})
    CHECK(has(parts, p));
  // One page per month, January to June.
  for (int month = 1; month <= 6; ++month) {
    auto meta = make_meta("2031060" + std::to_string(month) + "T000000Z_usd");
    meta.fetched_at = utc(2031, static_cast<unsigned>(month), 10);
    meta.started_at = meta.fetched_at;
    REQUIRE(load_one_page(s.db, meta,
                          {make_coin("m" + std::to_string(month), "2031-06-01T00:00:00Z")}));
  }
  CHECK(scalar(s.url,
               "SELECT tableoid::regclass FROM coin_market_raw WHERE fetched_at < '2031-02-01'") ==
        "coin_market_raw_p2031_01");
  // Months made later keep the parent's lz4 (where this server has lz4, as Debian's does).
  if (scalar(
          s.url,
          "SELECT 'lz4' = ANY (enumvals) FROM pg_settings WHERE name = 'default_toast_compression'") ==
      "t") {
    CHECK(
        scalar(
            s.url,
            "SELECT string_agg(DISTINCT attcompression::text, ',') FROM pg_attribute a JOIN pg_inherits i "
            "ON a.attrelid = i.inhrelid WHERE i.inhparent = 'coin_market_raw'::regclass AND a.attname = 'body'") ==
        "l");
  }

  PartitionPolicy policy; // coin_market kept whole; raw pages older than 60 days dropped
  policy.raw_retention = std::chrono::hours(24 * 60); // cutoff 2031-04-16
  const auto report = maintainer.run(policy, utc(2031, 6, 15));
  REQUIRE(report);
  CHECK(report->dropped == 0);
  CHECK(report->raw_dropped >= 4);
  CHECK(
      scalar(
          s.url,
          "SELECT string_agg(to_char(fetched_at, 'MM'), ',' ORDER BY fetched_at) FROM coin_market_raw") ==
      "04,05,06");
  CHECK(count(s.url, "SELECT count(*) FROM coin_market") == 6);
  CHECK(count(s.url, "SELECT count(*) FROM etl_runs") == 6);
}

TEST_CASE("one coin over a range is pruned to its months and served by an index",
          "[db][partition]") {
  MigratedSchema s("etl_db_partition_explain");
  PartitionMaintainer maintainer(s.url, "etl-db-partition-test");
  PartitionPolicy wide;
  wide.months_behind = 3;
  REQUIRE(maintainer.run(wide, utc(2031, 6, 15)));
  std::vector<etl::market::CoinMarket> coins;
  for (int month = 3; month <= 6; ++month)
    for (int i = 0; i < 20; ++i)
      coins.push_back(
          make_coin("c" + std::to_string(i), "2031-0" + std::to_string(month) + "-10T00:00:00Z"));
  REQUIRE(load_one_page(s.db, make_meta("20310615T000000Z_usd"), coins));
  pqxx::connection c{s.url};
  pqxx::nontransaction(c).exec("ANALYZE coin_market");

  const std::string range =
      plan(s.url, "SELECT last_updated, current_price FROM coin_market WHERE coin_id = 'c7' "
                  "AND vs_currency = 'usd' AND last_updated >= '2031-05-01Z' "
                  "AND last_updated < '2031-06-01Z' ORDER BY last_updated");
  INFO(range);
  CHECK(range.find("coin_market_p2031_05") != std::string::npos);
  CHECK(range.find("coin_market_p2031_04") == std::string::npos); // pruned
  CHECK(range.find("coin_market_p2031_06") == std::string::npos);
  CHECK(range.find("coin_market_default") == std::string::npos);
  CHECK(range.find("Index") != std::string::npos);
  CHECK_FALSE(has_sort_node(range)); // index order is the wanted order

  const std::string latest =
      plan(s.url, "SELECT * FROM coin_market WHERE coin_id = 'c7' AND vs_currency = 'usd' "
                  "ORDER BY last_updated DESC LIMIT 1");
  INFO(latest);
  CHECK(latest.find("Limit") != std::string::npos);
  // Newest first straight from each month's index, merged: one index probe per partition.
  CHECK(latest.find("Index Scan") != std::string::npos);
  CHECK_FALSE(has_sort_node(latest));
}

TEST_CASE("retention never drops a month newer than the newest data minus the retention",
          "[db][partition]") {
  // Issue 9, item 8: a clock far ahead of the data (here the instant the test fixes, in the
  // daemon the database's now()) must not turn into dropped months of valid data.
  MigratedSchema s("etl_db_partition_newest_guard");
  PartitionMaintainer maintainer(s.url, "etl-db-partition-test");
  PartitionPolicy wide;
  wide.months_behind = 12;
  REQUIRE(maintainer.run(wide, utc(2031, 12, 15)));
  std::vector<etl::market::CoinMarket> coins;
  for (int month = 1; month <= 3; ++month)
    coins.push_back(
        make_coin("m" + std::to_string(month), "2031-0" + std::to_string(month) + "-20T00:00:00Z"));
  REQUIRE(load_one_page(s.db, make_meta("20310320T000000Z_usd"), coins));

  PartitionPolicy policy;
  policy.retention = std::chrono::hours(24 * 60);
  // By the clock alone the cutoff would be 2031-10-16 and January to September would go. The
  // newest data is in March: the cutoff is held at 2031-03-01 minus 60 days.
  const auto report = maintainer.run(policy, utc(2031, 12, 15));
  REQUIRE(report);
  REQUIRE(report->cutoff);
  CHECK(*report->cutoff == utc(2030, 12, 31));
  CHECK(report->clock == utc(2031, 12, 15));
  const auto parts = partitions(s.url);
  for (const char* p : {"coin_market_p2031_01", "coin_market_p2031_02", "coin_market_p2031_03",
                        "coin_market_p2031_09"})
    CHECK(has(parts, p));
  CHECK(scalar(s.url, "SELECT string_agg(coin_id, ',' ORDER BY coin_id) FROM coin_market") ==
        "m1,m2,m3");
  // Months that ended before the held-back cutoff still go (the migration's, around today).
  CHECK(report->dropped >= 1);
  CHECK_FALSE(has(parts, "coin_market_p2030_11"));
}

TEST_CASE("without a fixed clock, retention follows the database's now()", "[db][partition]") {
  MigratedSchema s("etl_db_partition_db_clock");
  PartitionMaintainer maintainer(s.url, "etl-db-partition-test");
  PartitionPolicy policy;
  policy.retention = std::chrono::hours(24 * 40);
  policy.raw_retention = std::chrono::hours(24 * 40);
  const auto report = maintainer.run(policy);
  REQUIRE(report);
  const auto db_now = std::stoll(scalar(s.url, "SELECT extract(epoch FROM now())::bigint"));
  const auto clock =
      std::chrono::duration_cast<std::chrono::seconds>(report->clock.time_since_epoch()).count();
  CHECK(std::llabs(clock - db_now) < 60);
  REQUIRE(report->cutoff);
  REQUIRE(report->raw_cutoff);
  // An empty table: only the clock limits the cutoff.
  // (Each step's transaction has its own now(), a few milliseconds after the reported clock.)
  const auto off = *report->cutoff - (report->clock - std::chrono::hours(24 * 40));
  CHECK(off >= std::chrono::milliseconds(-1));
  CHECK(off < std::chrono::seconds(60));
  // The month of the database's today exists (created around its clock).
  CHECK(
      has(partitions(s.url),
          "coin_market_p" + scalar(s.url, "SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYY_MM')")));
}
