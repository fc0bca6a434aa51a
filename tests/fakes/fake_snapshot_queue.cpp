#include "fakes/fake_snapshot_queue.hpp"

#include <cerrno>

namespace etl::fakes {
namespace {

tl::unexpected<spool::FileError> write_error() {
  return tl::make_unexpected(spool::FileError{{}, 28, "fake: no space left on device"});
}

class MemoryFile final : public pipeline::ProcessedFile {
public:
  explicit MemoryFile(std::string& target) : m_target(target) {}
  tl::expected<void, spool::FileError> append(std::string_view bytes) override {
    m_buffer.append(bytes);
    return {};
  }
  tl::expected<void, spool::FileError> commit() override {
    m_target = m_buffer;
    return {};
  }

private:
  std::string& m_target;
  std::string m_buffer;
};

} // namespace

std::string FakeSnapshotQueue::new_snapshot_id(spool::SysTime started,
                                               std::string_view vs_currency) const {
  std::string id = spool::make_snapshot_id(started, vs_currency);
  if (snapshots.contains(id))
    id = spool::make_snapshot_id(started, vs_currency, /*with_millis=*/true);
  return id;
}

tl::expected<void, spool::FileError>
FakeSnapshotQueue::mark_pending(std::string_view snapshot_id, const spool::SnapshotPlan& plan) {
  if (fail_writes) return write_error();
  auto& s = snapshots[std::string(snapshot_id)];
  s.plan = plan;
  s.pending = true;
  return {};
}

tl::expected<void, spool::FileError>
FakeSnapshotQueue::write_raw_page(std::string_view snapshot_id, int page, std::string_view body) {
  if (fail_writes) return write_error();
  auto& s = snapshots[std::string(snapshot_id)];
  if (s.pages.empty()) s.first_page_time = m_clock.wall_now();
  s.pages[page] = std::string(body);
  return {};
}

spool::SysTime FakeSnapshotQueue::first_page_time(std::string_view snapshot_id,
                                                  spool::SysTime fallback) const {
  const auto it = snapshots.find(snapshot_id);
  return it == snapshots.end() || it->second.pages.empty() ? fallback : it->second.first_page_time;
}

tl::expected<std::unique_ptr<pipeline::ProcessedFile>, spool::FileError>
FakeSnapshotQueue::create_processed(std::string_view snapshot_id) {
  if (fail_writes) return write_error();
  return std::make_unique<MemoryFile>(snapshots[std::string(snapshot_id)].processed);
}

tl::expected<std::string, spool::FileError>
FakeSnapshotQueue::read_processed(std::string_view snapshot_id, std::uint64_t offset,
                                  std::size_t length) const {
  const auto it = snapshots.find(snapshot_id);
  if (it == snapshots.end() || offset + length > it->second.processed.size())
    return tl::make_unexpected(
        spool::FileError{std::string(snapshot_id), EIO, "fake: no such processed bytes"});
  ++processed_reads;
  return it->second.processed.substr(offset, length);
}

std::vector<spool::RawPageRef> FakeSnapshotQueue::raw_pages(std::string_view snapshot_id) const {
  std::vector<spool::RawPageRef> out;
  const auto it = snapshots.find(snapshot_id);
  if (it == snapshots.end()) return out;
  for (const auto& [page, body] : it->second.pages)
    out.push_back({page, std::string(snapshot_id) + "/" + std::to_string(page), body.size()});
  return out;
}

tl::expected<std::string, spool::FileError>
FakeSnapshotQueue::read_raw_page(const spool::RawPageRef& page) const {
  ++const_cast<FakeSnapshotQueue*>(this)->raw_reads;
  const std::string path = page.path.string();
  const auto it = snapshots.find(path.substr(0, path.rfind('/')));
  if (it == snapshots.end() || !it->second.pages.contains(page.page))
    return tl::make_unexpected(spool::FileError{{}, 2, "fake: no such page"});
  return it->second.pages.at(page.page);
}

tl::expected<void, spool::FileError> FakeSnapshotQueue::acknowledge(std::string_view snapshot_id) {
  if (auto it = snapshots.find(snapshot_id); it != snapshots.end()) it->second.pending = false;
  return {};
}

tl::expected<void, spool::FileError> FakeSnapshotQueue::quarantine(std::string_view snapshot_id,
                                                                   std::string_view reason) {
  auto& s = snapshots[std::string(snapshot_id)];
  s.pending = false;
  s.quarantine_reason = std::string(reason);
  return {};
}

tl::expected<void, spool::FileError> FakeSnapshotQueue::rename_pending(std::string_view snapshot_id,
                                                                       std::string_view new_id) {
  auto node = snapshots.extract(std::string(snapshot_id));
  if (node.empty()) return tl::make_unexpected(spool::FileError{{}, 2, "fake: not pending"});
  node.key() = std::string(new_id);
  snapshots.insert(std::move(node));
  return {};
}

bool FakeSnapshotQueue::is_pending(std::string_view snapshot_id) const {
  const auto it = snapshots.find(snapshot_id);
  return it != snapshots.end() && it->second.pending;
}

std::optional<spool::SnapshotPlan> FakeSnapshotQueue::plan(std::string_view snapshot_id) const {
  if (!is_pending(snapshot_id)) return std::nullopt;
  return snapshots.find(snapshot_id)->second.plan;
}

std::vector<std::string> FakeSnapshotQueue::pending() const {
  std::vector<std::string> out; // ids sort by time: the map's order is the age order
  for (const auto& [id, s] : snapshots)
    if (s.pending) out.push_back(id);
  return out;
}

spool::Backlog FakeSnapshotQueue::backlog() const {
  spool::Backlog out;
  for (const auto& [id, s] : snapshots) {
    if (!s.pending) continue;
    ++out.snapshots;
    for (const auto& [page, body] : s.pages) out.bytes += body.size();
  }
  return out;
}

spool::MaintainOutcome FakeSnapshotQueue::maintain(const spool::SpoolLimits&, spool::SnapshotAges&,
                                                   spool::SysTime,
                                                   spool::SnapshotAges::SteadyTime) {
  return {}; // bounds and retention are the real spool's own tests
}

} // namespace etl::fakes
