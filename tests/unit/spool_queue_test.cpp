#include "spool/spool.hpp"

#include <filesystem>
#include <fstream>
#include <random>

#include <catch2/catch.hpp>

using namespace etl::spool;
namespace fs = std::filesystem;
using namespace std::chrono;

namespace {
struct TempDir {
  fs::path path;
  TempDir() {
    path = fs::temp_directory_path() / ("etl-spool-test-" + std::to_string(std::random_device{}()));
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
};
SysTime at_hour(int h) { return sys_days{year{2026} / 11 / 22} + hours{h}; }
} // namespace

TEST_CASE("atomic writes leave the whole file or nothing under the final name", "[spool]") {
  TempDir dir;
  const fs::path target = dir.path / "x.json";
  REQUIRE(write_file_atomic(target, "[1,2,3]"));
  CHECK(read_file(target).value() == "[1,2,3]");
  {
    auto file = AtomicFile::create(dir.path / "y.json");
    REQUIRE(file);
    REQUIRE(file->append("half"));
    // destroyed without commit: as after a crash, nothing appears under the final name
  }
  CHECK_FALSE(fs::exists(dir.path / "y.json"));
  for (const auto& e : fs::directory_iterator(dir.path)) CHECK(e.path().filename() == "x.json");
  auto missing = read_file(dir.path / "nope");
  REQUIRE_FALSE(missing);
  CHECK(missing.error().message.find("No such file") != std::string::npos);
}

TEST_CASE("a snapshot is pending from its first page until acknowledged", "[spool]") {
  TempDir dir;
  auto spool = Spool::open(dir.path);
  REQUIRE(spool);
  const std::string older = spool->new_snapshot_id(at_hour(1), "usd");
  const std::string newer = spool->new_snapshot_id(at_hour(2), "usd");
  REQUIRE(spool->mark_pending(newer));
  REQUIRE(spool->write_raw_page(newer, 1, "[]"));
  REQUIRE(spool->mark_pending(older));
  REQUIRE(spool->write_raw_page(older, 1, "[1]"));
  REQUIRE(spool->write_raw_page(older, 2, "[22]"));

  CHECK(spool->pending() == std::vector<std::string>{older, newer}); // oldest first
  const auto pages = spool->raw_pages(older);
  REQUIRE(pages.size() == 2);
  CHECK(pages[1].page == 2);
  CHECK(pages[1].bytes == 4);
  const Backlog b = spool->backlog();
  CHECK(b.snapshots == 2);
  CHECK(b.bytes == 9);
  CHECK(b.oldest == at_hour(1));

  REQUIRE(spool->acknowledge(older));
  CHECK(spool->pending() == std::vector<std::string>{newer});
  CHECK(fs::exists(dir.path / "raw" / raw_page_filename(older, 1))); // kept for retention
  REQUIRE(spool->quarantine(newer, "SQLSTATE 22007"));
  CHECK(spool->pending().empty());
  CHECK(read_file(dir.path / "quarantine" / newer).value() == "SQLSTATE 22007");
}

TEST_CASE("a second snapshot in the same second gets a distinct id", "[spool]") {
  TempDir dir;
  auto spool = Spool::open(dir.path);
  REQUIRE(spool);
  const auto t = at_hour(3) + milliseconds(500);
  const std::string first = spool->new_snapshot_id(t, "usd");
  REQUIRE(spool->mark_pending(first));
  const std::string second = spool->new_snapshot_id(t, "usd");
  CHECK(first == "20261122T030000Z_usd");
  CHECK(second == "20261122T030000.500Z_usd");
}

TEST_CASE("bounds drop the oldest pending snapshots and say why", "[spool]") {
  TempDir dir;
  auto spool = Spool::open(dir.path);
  REQUIRE(spool);
  for (int h = 1; h <= 4; ++h) {
    const auto id = spool->new_snapshot_id(at_hour(h), "usd");
    REQUIRE(spool->mark_pending(id));
    REQUIRE(spool->write_raw_page(id, 1, std::string(100, 'x')));
  }
  auto dropped = spool->enforce_bounds(250, hours(100), at_hour(5));
  REQUIRE(dropped.size() == 2);
  CHECK(dropped[0].snapshot_id == "20261122T010000Z_usd");
  CHECK(dropped[0].why == "spool over SPOOL_MAX_BYTES");
  CHECK(spool->backlog().bytes == 200);
  CHECK_FALSE(fs::exists(dir.path / "raw" / "20261122T010000Z_usd_p001.json"));

  dropped = spool->enforce_bounds(1'000'000, hours(2), at_hour(5) + minutes(30));
  REQUIRE(dropped.size() == 1); // 03:00 is 2.5 h old, 04:00 is 1.5 h old
  CHECK(dropped[0].why == "older than SPOOL_MAX_AGE");
  CHECK(spool->pending() == std::vector<std::string>{"20261122T040000Z_usd"});
}

TEST_CASE("retention deletes files of loaded snapshots only", "[spool]") {
  TempDir dir;
  auto spool = Spool::open(dir.path);
  REQUIRE(spool);
  const auto loaded = spool->new_snapshot_id(at_hour(1), "usd");
  const auto waiting = spool->new_snapshot_id(at_hour(1), "eur");
  const auto refused = spool->new_snapshot_id(at_hour(1), "gbp");
  for (const auto& id : {loaded, waiting, refused}) {
    REQUIRE(spool->mark_pending(id));
    REQUIRE(spool->write_raw_page(id, 1, "[]"));
    REQUIRE(write_file_atomic(spool->processed_dir() / processed_filename(id), "{}"));
  }
  REQUIRE(spool->acknowledge(loaded));
  REQUIRE(spool->quarantine(refused, "rejected (SQLSTATE 22003): integer out of range"));
  CHECK(spool->purge_acknowledged(hours(24), at_hour(2)) == 0); // younger than retention
  CHECK(spool->purge_acknowledged(hours(24), at_hour(30)) == 2);
  CHECK_FALSE(fs::exists(dir.path / "raw" / raw_page_filename(loaded, 1)));
  CHECK(fs::exists(dir.path / "raw" / raw_page_filename(waiting, 1))); // still pending: kept
  // Quarantined: never loaded, so its files are the only copy of that data.
  CHECK(fs::exists(dir.path / "raw" / raw_page_filename(refused, 1)));
  CHECK(fs::exists(dir.path / "processed" / processed_filename(refused)));
  CHECK(spool->raw_pages(refused).size() == 1);
}

TEST_CASE("open sweeps temporary files a crash left and refuses an unwritable directory",
          "[spool]") {
  TempDir dir;
  fs::create_directories(dir.path / "raw");
  std::ofstream(dir.path / "raw" / ".tmp-20261122T010000Z_usd_p001.json.abc") << "[{\"id\":";
  REQUIRE(Spool::open(dir.path));
  CHECK(fs::is_empty(dir.path / "raw"));

  std::ofstream(dir.path / "a-file") << "x";
  auto bad = Spool::open(dir.path / "a-file");
  REQUIRE_FALSE(bad);
  CHECK(bad.error().message.find("a-file") != std::string::npos);
}

TEST_CASE("a pending snapshot can move to a new id with all its files", "[spool]") {
  TempDir dir;
  auto spool = Spool::open(dir.path);
  REQUIRE(spool);
  const std::string id = spool->new_snapshot_id(at_hour(6), "usd");
  REQUIRE(spool->mark_pending(id, SnapshotPlan{1, 4, 250}));
  REQUIRE(spool->write_raw_page(id, 1, "[1]"));
  REQUIRE(spool->write_raw_page(id, 2, "[2]"));
  REQUIRE(write_file_atomic(spool->processed_dir() / processed_filename(id), "{}"));
  const std::string moved = make_snapshot_id(at_hour(6) + milliseconds(61), "usd", true);
  REQUIRE(spool->rename_pending(id, moved));
  CHECK(spool->pending() == std::vector<std::string>{moved});
  const auto pages = spool->raw_pages(moved);
  REQUIRE(pages.size() == 2);
  CHECK(read_file(pages[1].path).value() == "[2]");
  CHECK(spool->raw_pages(id).empty());
  // What the sweep planned moves too: the renamed snapshot is still known to lack pages 3-4.
  const auto plan = spool->plan(moved);
  REQUIRE(plan);
  CHECK(plan->last_page == 4);
  CHECK(plan->per_page == 250);
  CHECK(fs::exists(spool->processed_dir() / processed_filename(moved)));
  CHECK_FALSE(fs::exists(spool->processed_dir() / processed_filename(id)));
}

TEST_CASE("the byte bound counts every file: loaded files go first, quarantine stays", "[spool]") {
  TempDir dir;
  auto spool = Spool::open(dir.path);
  REQUIRE(spool);
  std::vector<std::string> ids;
  for (int h = 1; h <= 6; ++h) {
    const auto id = spool->new_snapshot_id(at_hour(h), "usd");
    ids.push_back(id);
    REQUIRE(spool->mark_pending(id));
    REQUIRE(spool->write_raw_page(id, 1, std::string(1000, 'r')));
    REQUIRE(
        write_file_atomic(spool->processed_dir() / processed_filename(id), std::string(1500, 'p')));
  }
  REQUIRE(spool->acknowledge(ids[0]));
  REQUIRE(spool->acknowledge(ids[1]));
  REQUIRE(spool->quarantine(ids[2], "rejected"));
  REQUIRE(spool->acknowledge(ids[3]));
  // ids[4], ids[5] pending. 6 x 2500 bytes + markers: over 10200 until two loaded ones go.
  auto ages = SnapshotAges::wall_clock_only();
  const auto out =
      spool->maintain(SpoolLimits{10200, hours(100), hours(100)}, ages, at_hour(7), {});
  CHECK(out.bytes <= 10200);
  CHECK(out.dropped.empty());    // the loaded snapshots were enough
  CHECK(out.files_evicted == 4); // ids[0] and ids[1]: raw + processed each
  CHECK_FALSE(fs::exists(dir.path / "raw" / raw_page_filename(ids[0], 1)));
  CHECK(fs::exists(dir.path / "raw" / raw_page_filename(ids[3], 1)));
  CHECK(fs::exists(dir.path / "raw" / raw_page_filename(ids[2], 1))); // quarantined: kept
  std::uint64_t on_disk = 0;
  for (const auto& e : fs::recursive_directory_iterator(dir.path))
    if (e.is_regular_file()) on_disk += e.file_size();
  CHECK(on_disk == out.bytes);

  // Tighter: every loaded file goes, then the oldest pending snapshot; quarantine still stays.
  const auto tight =
      spool->maintain(SpoolLimits{5200, hours(100), hours(100)}, ages, at_hour(7), {});
  REQUIRE(tight.dropped.size() == 1);
  CHECK(tight.dropped[0].snapshot_id == ids[4]);
  CHECK(tight.dropped[0].why == "spool over SPOOL_MAX_BYTES");
  CHECK(tight.bytes <= 5200);
  CHECK(fs::exists(dir.path / "processed" / processed_filename(ids[2])));
  CHECK(spool->pending() == std::vector<std::string>{ids[5]});
}
