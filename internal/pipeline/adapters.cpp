#include "pipeline/adapters.hpp"

#include "spool/atomic_file.hpp"
#include "spool/naming.hpp"

#include <sys/stat.h>

namespace etl::pipeline {
namespace {

class AtomicProcessedFile final : public ProcessedFile {
public:
  explicit AtomicProcessedFile(spool::AtomicFile file) : m_file(std::move(file)) {}
  tl::expected<void, spool::FileError> append(std::string_view bytes) override {
    return m_file.append(bytes);
  }
  tl::expected<void, spool::FileError> commit() override { return m_file.commit(); }

private:
  spool::AtomicFile m_file;
};

class SnapshotLoadTransaction final : public SnapshotTransaction {
public:
  explicit SnapshotLoadTransaction(db::SnapshotLoad load) : m_load(std::move(load)) {}
  tl::expected<db::PageResult, db::DbError> add_page(int page, std::string_view raw_body,
                                                     std::span<const market::CoinMarket> coins,
                                                     std::int64_t rejected_in_page,
                                                     const core::Sha256* digest) override {
    return m_load.add_page(page, raw_body, coins, rejected_in_page, digest);
  }
  tl::expected<std::optional<db::PageResult>, db::DbError>
  add_repeated_page(int page, std::string_view raw_body, const core::Sha256& digest) override {
    return m_load.add_repeated_page(page, raw_body, digest);
  }
  tl::expected<db::LoadResult, db::DbError> commit(std::string_view status,
                                                   std::string_view error) override {
    return m_load.commit(status, error);
  }
  [[nodiscard]] bool id_taken_by_another_snapshot() const noexcept override {
    return m_load.id_taken_by_another_snapshot();
  }

private:
  db::SnapshotLoad m_load;
};

} // namespace

std::string SpoolQueue::new_snapshot_id(spool::SysTime started,
                                        std::string_view vs_currency) const {
  return m_spool.new_snapshot_id(started, vs_currency);
}
tl::expected<void, spool::FileError> SpoolQueue::mark_pending(std::string_view snapshot_id,
                                                              const spool::SnapshotPlan& plan) {
  return m_spool.mark_pending(snapshot_id, plan);
}
tl::expected<void, spool::FileError> SpoolQueue::write_raw_page(std::string_view snapshot_id,
                                                                int page, std::string_view body) {
  auto path = m_spool.write_raw_page(snapshot_id, page, body);
  if (!path) return tl::make_unexpected(path.error());
  return {};
}
spool::SysTime SpoolQueue::first_page_time(std::string_view snapshot_id,
                                           spool::SysTime fallback) const {
  // The first raw page's mtime: the same on a live load and on a later replay from disk.
  const auto pages = m_spool.raw_pages(snapshot_id);
  if (pages.empty()) return fallback;
  struct stat st {};
  if (::stat(pages.front().path.c_str(), &st) != 0) return fallback;
  return spool::SysTime{std::chrono::duration_cast<spool::SysTime::duration>(
      std::chrono::seconds{st.st_mtim.tv_sec} + std::chrono::nanoseconds{st.st_mtim.tv_nsec})};
}
tl::expected<std::unique_ptr<ProcessedFile>, spool::FileError>
SpoolQueue::create_processed(std::string_view snapshot_id) {
  auto file = m_spool.create_processed(snapshot_id);
  if (!file) return tl::make_unexpected(file.error());
  return std::make_unique<AtomicProcessedFile>(std::move(*file));
}
tl::expected<std::string, spool::FileError> SpoolQueue::read_processed(std::string_view snapshot_id,
                                                                       std::uint64_t offset,
                                                                       std::size_t length) const {
  return spool::read_file_range(m_spool.processed_dir() / spool::processed_filename(snapshot_id),
                                offset, length);
}
std::vector<spool::RawPageRef> SpoolQueue::raw_pages(std::string_view snapshot_id) const {
  return m_spool.raw_pages(snapshot_id);
}
tl::expected<std::string, spool::FileError>
SpoolQueue::read_raw_page(const spool::RawPageRef& page) const {
  return spool::read_file(page.path);
}
tl::expected<void, spool::FileError> SpoolQueue::acknowledge(std::string_view snapshot_id) {
  return m_spool.acknowledge(snapshot_id);
}
tl::expected<void, spool::FileError> SpoolQueue::quarantine(std::string_view snapshot_id,
                                                            std::string_view reason) {
  return m_spool.quarantine(snapshot_id, reason);
}
tl::expected<void, spool::FileError> SpoolQueue::rename_pending(std::string_view snapshot_id,
                                                                std::string_view new_id) {
  return m_spool.rename_pending(snapshot_id, new_id);
}
bool SpoolQueue::is_pending(std::string_view snapshot_id) const {
  return m_spool.is_pending(snapshot_id);
}
std::optional<spool::SnapshotPlan> SpoolQueue::plan(std::string_view snapshot_id) const {
  return m_spool.plan(snapshot_id);
}
std::vector<std::string> SpoolQueue::pending() const { return m_spool.pending(); }
spool::Backlog SpoolQueue::backlog() const { return m_spool.backlog(); }
spool::MaintainOutcome SpoolQueue::maintain(const spool::SpoolLimits& limits,
                                            spool::SnapshotAges& ages, spool::SysTime wall_now,
                                            spool::SnapshotAges::SteadyTime steady_now) {
  return m_spool.maintain(limits, ages, wall_now, steady_now);
}

tl::expected<std::unique_ptr<SnapshotTransaction>, db::DbError>
DatabaseStore::begin_snapshot(const db::SnapshotMeta& meta) {
  auto load = m_db.begin_snapshot(meta);
  if (!load) return tl::make_unexpected(load.error());
  return std::make_unique<SnapshotLoadTransaction>(std::move(*load));
}

} // namespace etl::pipeline
