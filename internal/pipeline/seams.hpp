#pragma once
// The pipeline's seams: what it fetches pages from, where it queues snapshots, and where it
// loads them. Production adapters are in adapters.hpp; tests/fakes/ holds one in-memory fake of
// each, so the tick's fault paths are unit-tested without a network, a disk or PostgreSQL.
#include "coingecko/api_caller.hpp"
#include "db/database.hpp"
#include "db/leader_lock.hpp"
#include "db/partitions.hpp"
#include "spool/spool.hpp"

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <tl/expected.hpp>

namespace etl::pipeline {

// What the pipeline fetches market pages from (coingecko::MarketsClient in production).
class PageSource {
public:
  virtual ~PageSource() = default;
  virtual tl::expected<coingecko::FetchedPage, coingecko::FetchError>
  fetch_page(std::string_view vs_currency, int page,
             std::chrono::steady_clock::time_point deadline) = 0;
};

// A file written whole or not at all (the processed JSON of one snapshot).
class ProcessedFile {
public:
  virtual ~ProcessedFile() = default;
  virtual tl::expected<void, spool::FileError> append(std::string_view bytes) = 0;
  virtual tl::expected<void, spool::FileError> commit() = 0;
};

// The spool operations the pipeline uses (spool::Spool in production; see spool.hpp for the
// meaning of each).
class SnapshotQueue {
public:
  virtual ~SnapshotQueue() = default;
  [[nodiscard]] virtual std::string new_snapshot_id(spool::SysTime started,
                                                    std::string_view vs_currency) const = 0;
  virtual tl::expected<void, spool::FileError> mark_pending(std::string_view snapshot_id,
                                                            const spool::SnapshotPlan& plan) = 0;
  virtual tl::expected<void, spool::FileError> write_raw_page(std::string_view snapshot_id,
                                                              int page, std::string_view body) = 0;
  // When the snapshot's first raw page reached the queue (its fetched_at); `fallback` if unknown.
  [[nodiscard]] virtual spool::SysTime first_page_time(std::string_view snapshot_id,
                                                       spool::SysTime fallback) const = 0;
  virtual tl::expected<std::unique_ptr<ProcessedFile>, spool::FileError>
  create_processed(std::string_view snapshot_id) = 0;
  // `length` bytes at `offset` of a committed processed file (an error when it is gone or short).
  [[nodiscard]] virtual tl::expected<std::string, spool::FileError>
  read_processed(std::string_view snapshot_id, std::uint64_t offset, std::size_t length) const = 0;
  [[nodiscard]] virtual std::vector<spool::RawPageRef>
  raw_pages(std::string_view snapshot_id) const = 0;
  [[nodiscard]] virtual tl::expected<std::string, spool::FileError>
  read_raw_page(const spool::RawPageRef& page) const = 0;
  virtual tl::expected<void, spool::FileError> acknowledge(std::string_view snapshot_id) = 0;
  virtual tl::expected<void, spool::FileError> quarantine(std::string_view snapshot_id,
                                                          std::string_view reason) = 0;
  virtual tl::expected<void, spool::FileError> rename_pending(std::string_view snapshot_id,
                                                              std::string_view new_id) = 0;
  [[nodiscard]] virtual bool is_pending(std::string_view snapshot_id) const = 0;
  [[nodiscard]] virtual std::optional<spool::SnapshotPlan>
  plan(std::string_view snapshot_id) const = 0;
  [[nodiscard]] virtual std::vector<std::string> pending() const = 0; // oldest first
  [[nodiscard]] virtual spool::Backlog backlog() const = 0;
  virtual spool::MaintainOutcome maintain(const spool::SpoolLimits& limits,
                                          spool::SnapshotAges& ages, spool::SysTime wall_now,
                                          spool::SnapshotAges::SteadyTime steady_now) = 0;
};

// One snapshot's open transaction (db::SnapshotLoad in production).
class SnapshotTransaction {
public:
  virtual ~SnapshotTransaction() = default;
  virtual tl::expected<db::PageResult, db::DbError>
  add_page(int page, std::string_view raw_body, std::span<const market::CoinMarket> coins,
           std::int64_t rejected_in_page, const core::Sha256* digest) = 0;
  // A page the store may already hold with all its coins: nullopt when it cannot vouch for it
  // (then nothing was written; parse it and add_page). See db::SnapshotLoad::add_repeated_page.
  virtual tl::expected<std::optional<db::PageResult>, db::DbError>
  add_repeated_page(int page, std::string_view raw_body, const core::Sha256& digest) = 0;
  virtual tl::expected<db::LoadResult, db::DbError> commit(std::string_view status,
                                                           std::string_view error) = 0;
  [[nodiscard]] virtual bool id_taken_by_another_snapshot() const noexcept = 0;
};

// The database operations the pipeline uses: connection, migrations, snapshot loads, the
// leader lock and partition maintenance (db::Database, LeaderLock, PartitionMaintainer).
class SnapshotStore {
public:
  virtual ~SnapshotStore() = default;
  virtual tl::expected<void, db::DbError> ensure_connected() = 0;
  [[nodiscard]] virtual bool connected() const noexcept = 0;
  virtual void disconnect() noexcept = 0;
  virtual tl::expected<int, db::DbError>
  migrate(const std::optional<std::filesystem::path>& migrations_dir) = 0;
  virtual tl::expected<std::unique_ptr<SnapshotTransaction>, db::DbError>
  begin_snapshot(const db::SnapshotMeta& meta) = 0;
  // Without a leader election this process is the only poller (refresh_leader is not called).
  [[nodiscard]] virtual bool elects_leader() const noexcept = 0;
  virtual tl::expected<db::LeaderStatus, db::DbError> refresh_leader() = 0;
  // Without partition maintenance, maintain_partitions is not called.
  [[nodiscard]] virtual bool maintains_partitions() const noexcept = 0;
  virtual tl::expected<db::PartitionReport, db::DbError>
  maintain_partitions(const db::PartitionPolicy& policy) = 0;
};

} // namespace etl::pipeline
