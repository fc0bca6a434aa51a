#pragma once
// The spool in memory: pending snapshots (oldest first), their raw pages, processed files,
// quarantine. Write failures on demand.
#include "core/clock.hpp"
#include "pipeline/seams.hpp"

#include <map>
#include <string>

namespace etl::fakes {

struct QueuedSnapshot {
  spool::SnapshotPlan plan;
  std::map<int, std::string> pages;
  spool::SysTime first_page_time{};
  bool pending = false;
  std::string processed;         // the committed processed file
  std::string quarantine_reason; // non-empty: quarantined
};

class FakeSnapshotQueue final : public pipeline::SnapshotQueue {
public:
  explicit FakeSnapshotQueue(const Clock& clock) : m_clock(clock) {}
  [[nodiscard]] std::string new_snapshot_id(spool::SysTime started,
                                            std::string_view vs_currency) const override;
  tl::expected<void, spool::FileError> mark_pending(std::string_view snapshot_id,
                                                    const spool::SnapshotPlan& plan) override;
  tl::expected<void, spool::FileError> write_raw_page(std::string_view snapshot_id, int page,
                                                      std::string_view body) override;
  [[nodiscard]] spool::SysTime first_page_time(std::string_view snapshot_id,
                                               spool::SysTime fallback) const override;
  tl::expected<std::unique_ptr<pipeline::ProcessedFile>, spool::FileError>
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

  std::map<std::string, QueuedSnapshot, std::less<>> snapshots;
  bool fail_writes = false;
  int raw_reads = 0;               // read_raw_page calls: the queue's load route, not the live one
  mutable int processed_reads = 0; // read_processed calls that found their bytes

private:
  const Clock& m_clock;
};

} // namespace etl::fakes
