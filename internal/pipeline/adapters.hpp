#pragma once
// The production side of each seam in seams.hpp: thin forwarding to the concrete modules.
#include "coingecko/markets_client.hpp"
#include "pipeline/seams.hpp"

namespace etl::pipeline {

class MarketsPageSource final : public PageSource {
public:
  explicit MarketsPageSource(coingecko::MarketsClient& client) : m_client(client) {}
  tl::expected<coingecko::FetchedPage, coingecko::FetchError>
  fetch_page(std::string_view vs_currency, int page,
             std::chrono::steady_clock::time_point deadline) override {
    return m_client.fetch_page(vs_currency, page, deadline);
  }

private:
  coingecko::MarketsClient& m_client;
};

class SpoolQueue final : public SnapshotQueue {
public:
  explicit SpoolQueue(spool::Spool& spool) : m_spool(spool) {}
  [[nodiscard]] std::string new_snapshot_id(spool::SysTime started,
                                            std::string_view vs_currency) const override;
  tl::expected<void, spool::FileError> mark_pending(std::string_view snapshot_id,
                                                    const spool::SnapshotPlan& plan) override;
  tl::expected<void, spool::FileError> write_raw_page(std::string_view snapshot_id, int page,
                                                      std::string_view body) override;
  [[nodiscard]] spool::SysTime first_page_time(std::string_view snapshot_id,
                                               spool::SysTime fallback) const override;
  tl::expected<std::unique_ptr<ProcessedFile>, spool::FileError>
  create_processed(std::string_view snapshot_id) override;
  [[nodiscard]] tl::expected<std::string, spool::FileError>
  read_processed(std::string_view snapshot_id, std::uint64_t offset,
                 std::size_t length) const override;
  [[nodiscard]] std::vector<spool::RawPageRef>
  raw_pages(std::string_view snapshot_id) const override;
  [[nodiscard]] tl::expected<std::string, spool::FileError>
  read_raw_page(const spool::RawPageRef& page) const override;
  tl::expected<void, spool::FileError> acknowledge(std::string_view snapshot_id) override;
  tl::expected<void, spool::FileError> quarantine(std::string_view snapshot_id,
                                                  std::string_view reason) override;
  tl::expected<void, spool::FileError> rename_pending(std::string_view snapshot_id,
                                                      std::string_view new_id) override;
  [[nodiscard]] bool is_pending(std::string_view snapshot_id) const override;
  [[nodiscard]] std::optional<spool::SnapshotPlan>
  plan(std::string_view snapshot_id) const override;
  [[nodiscard]] std::vector<std::string> pending() const override;
  [[nodiscard]] spool::Backlog backlog() const override;
  spool::MaintainOutcome maintain(const spool::SpoolLimits& limits, spool::SnapshotAges& ages,
                                  spool::SysTime wall_now,
                                  spool::SnapshotAges::SteadyTime steady_now) override;

private:
  spool::Spool& m_spool;
};

// `leader_lock` and `partitions` are optional and owned by the caller.
class DatabaseStore final : public SnapshotStore {
public:
  DatabaseStore(db::Database& database, db::LeaderLock* leader_lock = nullptr,
                db::PartitionMaintainer* partitions = nullptr)
      : m_db(database), m_leader_lock(leader_lock), m_partitions(partitions) {}
  tl::expected<void, db::DbError> ensure_connected() override { return m_db.ensure_connected(); }
  [[nodiscard]] bool connected() const noexcept override { return m_db.connected(); }
  void disconnect() noexcept override { m_db.disconnect(); }
  tl::expected<int, db::DbError>
  migrate(const std::optional<std::filesystem::path>& migrations_dir) override {
    return m_db.migrate(migrations_dir);
  }
  tl::expected<std::unique_ptr<SnapshotTransaction>, db::DbError>
  begin_snapshot(const db::SnapshotMeta& meta) override;
  [[nodiscard]] bool elects_leader() const noexcept override { return m_leader_lock != nullptr; }
  tl::expected<db::LeaderStatus, db::DbError> refresh_leader() override {
    auto status = m_leader_lock->refresh();
    // A standby loads nothing; when it leads again, what another leader's retention dropped
    // meanwhile must not be taken as stored.
    if (!status || !status->leader) m_db.forget_stored();
    return status;
  }
  [[nodiscard]] bool maintains_partitions() const noexcept override {
    return m_partitions != nullptr;
  }
  tl::expected<db::PartitionReport, db::DbError>
  maintain_partitions(const db::PartitionPolicy& policy) override {
    auto report = m_partitions->run(policy);
    if (report && (report->dropped > 0 || report->raw_dropped > 0)) m_db.forget_stored();
    return report;
  }

private:
  db::Database& m_db;
  db::LeaderLock* m_leader_lock;
  db::PartitionMaintainer* m_partitions;
};

} // namespace etl::pipeline
