#pragma once
// The durable queue under DATA_DIR. raw/ is the write-ahead log: every page body exactly as
// received. A snapshot is "pending" from before its first page is written until PostgreSQL has
// committed it (a marker file in pending/); after that its files are kept for RETENTION and
// then deleted. A snapshot the database refuses as data is moved to quarantine/ with the reason,
// so it cannot block the backlog behind it. Single-threaded use (the polling thread).
#include "spool/atomic_file.hpp"
#include "spool/naming.hpp"
#include "spool/snapshot_ages.hpp"
#include "spool/snapshot_plan.hpp"

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include <tl/expected.hpp>

namespace etl::spool {

struct RawPageRef {
  int page = 0;
  std::filesystem::path path;
  std::uint64_t bytes = 0;
};

struct Backlog {
  std::int64_t snapshots = 0;
  std::uint64_t bytes = 0;
  std::optional<SysTime> oldest;
};

struct Dropped {
  std::string snapshot_id;
  std::uint64_t bytes = 0;
  std::string why; // "spool over SPOOL_MAX_BYTES" / "older than SPOOL_MAX_AGE"
};

struct SpoolLimits {
  std::uint64_t max_bytes = 1ull << 30;        // every file the spool holds, not just pending pages
  std::chrono::seconds max_age{7 * 24 * 3600}; // pending snapshots
  std::chrono::seconds retention{7 * 24 * 3600}; // loaded snapshots' files
};

struct MaintainOutcome {
  std::vector<Dropped> dropped;      // pending snapshots deleted unloaded: data loss
  std::size_t files_retired = 0;     // loaded snapshots' files past RETENTION
  std::size_t files_evicted = 0;     // loaded snapshots' files removed early to fit max_bytes
  std::uint64_t bytes = 0;           // everything the spool holds afterwards
  std::uint64_t protected_bytes = 0; // of which quarantined (never removed)
};

class Spool {
public:
  // Creates raw/, processed/, pending/, quarantine/ and proves the directory is writable.
  // Sweeps temporary files a crash may have left behind.
  static tl::expected<Spool, FileError> open(const std::filesystem::path& data_dir);

  [[nodiscard]] const std::filesystem::path& root() const noexcept { return m_root; }
  [[nodiscard]] std::filesystem::path raw_dir() const { return m_root / "raw"; }
  [[nodiscard]] std::filesystem::path processed_dir() const { return m_root / "processed"; }

  // A fresh snapshot id for (fetch start, currency), unique within this spool.
  std::string new_snapshot_id(SysTime started, std::string_view vs_currency) const;

  // The marker records what the sweep planned for this snapshot: its first API page (a rolling
  // sweep starts mid-market, and raw_pages() finds the pages from there without listing raw/),
  // its last page and PER_PAGE, so a load can tell a complete snapshot from an interrupted one.
  tl::expected<void, FileError> mark_pending(std::string_view snapshot_id,
                                             const SnapshotPlan& plan = {});
  tl::expected<std::filesystem::path, FileError> write_raw_page(std::string_view snapshot_id,
                                                                int page, std::string_view body);
  tl::expected<AtomicFile, FileError> create_processed(std::string_view snapshot_id);
  // PostgreSQL has it: the snapshot leaves the queue (its files stay until retention).
  tl::expected<void, FileError> acknowledge(std::string_view snapshot_id);
  tl::expected<void, FileError> quarantine(std::string_view snapshot_id, std::string_view reason);
  // Moves a pending snapshot's files to `new_id` (which becomes pending) and drops the old id.
  // Crash-safe in this order: new marker, pages, processed file, old marker; a crash part-way
  // leaves every page under one of two pending ids, so nothing is lost.
  tl::expected<void, FileError> rename_pending(std::string_view snapshot_id,
                                               std::string_view new_id);

  [[nodiscard]] bool is_pending(std::string_view snapshot_id) const;
  // What the pending marker says was planned; nullopt when the snapshot is not pending or its
  // marker is damaged.
  [[nodiscard]] std::optional<SnapshotPlan> plan(std::string_view snapshot_id) const;
  [[nodiscard]] std::vector<std::string> pending() const; // oldest first
  // The snapshot's raw pages by page number. Pages of one snapshot are consecutive but need not
  // start at 1 (a rolling sweep's window, e.g. p013..p024).
  [[nodiscard]] std::vector<RawPageRef> raw_pages(std::string_view snapshot_id) const;
  [[nodiscard]] Backlog backlog() const;

  // One pass of the spool's bounds, over every file it holds (raw pages, processed files,
  // pending markers, quarantine): deletes loaded snapshots' files older than `retention`,
  // drops pending snapshots older than `max_age`, then, while the whole spool is over
  // `max_bytes`, deletes loaded snapshots' files (oldest first: PostgreSQL has them) and only
  // then pending snapshots (oldest first: data loss, returned for counting and loud logging).
  // Quarantined snapshots are never deleted. Ages come from `ages` (see snapshot_ages.hpp), so
  // a wall clock that jumps forward alone ages nothing.
  MaintainOutcome maintain(const SpoolLimits& limits, SnapshotAges& ages, SysTime wall_now,
                           SnapshotAges::SteadyTime steady_now);
  // The same with ages by the wall clock `now` alone (tests of the rules themselves).
  std::vector<Dropped> enforce_bounds(std::uint64_t max_bytes, std::chrono::seconds max_age,
                                      SysTime now);
  std::size_t purge_acknowledged(std::chrono::seconds retention, SysTime now);

private:
  explicit Spool(std::filesystem::path root) : m_root(std::move(root)) {}
  void remove_snapshot_files(std::string_view snapshot_id, bool include_processed);
  std::filesystem::path m_root;
};

} // namespace etl::spool
