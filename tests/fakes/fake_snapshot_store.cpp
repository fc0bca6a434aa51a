#include "fakes/fake_snapshot_store.hpp"

namespace etl::fakes {
namespace {

class FakeTransaction final : public pipeline::SnapshotTransaction {
public:
  FakeTransaction(FakeSnapshotStore& store, db::SnapshotMeta meta)
      : m_store(store), m_meta(std::move(meta)) {
    m_snapshot.fetched_at = m_meta.fetched_at;
  }
  tl::expected<db::PageResult, db::DbError> add_page(int page, std::string_view body,
                                                     std::span<const market::CoinMarket> coins,
                                                     std::int64_t rejected,
                                                     const core::Sha256*) override {
    if (auto e = m_store.mood_error()) return tl::make_unexpected(*e);
    m_snapshot.pages.push_back(page);
    m_snapshot.coins += static_cast<std::int64_t>(coins.size());
    if (rejected == 0)
      m_pages[page] = {core::sha256(body), static_cast<std::int64_t>(coins.size())};
    return db::PageResult{};
  }
  tl::expected<std::optional<db::PageResult>, db::DbError>
  add_repeated_page(int page, std::string_view, const core::Sha256& digest) override {
    if (auto e = m_store.mood_error()) return tl::make_unexpected(*e);
    const auto it = m_store.stored_pages.find(page);
    if (!m_store.vouches || it == m_store.stored_pages.end() || it->second.first != digest)
      return std::nullopt;
    ++m_store.repeated_pages;
    m_snapshot.pages.push_back(page);
    m_snapshot.coins += it->second.second;
    db::PageResult result;
    result.rows_known = it->second.second;
    result.raw_referenced = true;
    return result;
  }
  tl::expected<db::LoadResult, db::DbError> commit(std::string_view status,
                                                   std::string_view error) override {
    if (auto e = m_store.mood_error()) return tl::make_unexpected(*e);
    if (m_store.rejects_data && m_store.rejects_data(m_meta.snapshot_id))
      return tl::make_unexpected(
          db::DbError{db::DbError::Kind::rejected, "22003", "numeric field overflow"});
    db::LoadResult result;
    if (m_store.committed.contains(m_meta.snapshot_id)) {
      result.already_loaded = true;
      return result;
    }
    m_snapshot.status = std::string(status);
    m_snapshot.error = std::string(error);
    result.counts.pages = static_cast<std::int64_t>(m_snapshot.pages.size());
    result.counts.coins_received = m_snapshot.coins;
    result.counts.rows_inserted = m_snapshot.coins;
    m_store.committed[m_meta.snapshot_id] = m_snapshot;
    for (const auto& [page, stored] : m_pages) m_store.stored_pages[page] = stored;
    m_store.commit_order.push_back(m_meta.snapshot_id);
    return result;
  }
  [[nodiscard]] bool id_taken_by_another_snapshot() const noexcept override { return false; }

private:
  FakeSnapshotStore& m_store;
  db::SnapshotMeta m_meta;
  CommittedSnapshot m_snapshot;
  std::map<int, std::pair<core::Sha256, std::int64_t>> m_pages; // stored_pages once committed
};

} // namespace

std::optional<db::DbError> FakeSnapshotStore::mood_error() {
  switch (mood) {
  case Mood::accepting: return std::nullopt;
  case Mood::down:
    m_connected = false;
    return db::DbError{db::DbError::Kind::unavailable, "08006", "fake: connection refused"};
  case Mood::refusing:
    return db::DbError{db::DbError::Kind::refused, "25006",
                       "fake: cannot execute in a read-only transaction"};
  }
  return std::nullopt;
}

tl::expected<void, db::DbError> FakeSnapshotStore::ensure_connected() {
  if (mood == Mood::down) return tl::make_unexpected(*mood_error());
  m_connected = true;
  return {};
}

tl::expected<int, db::DbError>
FakeSnapshotStore::migrate(const std::optional<std::filesystem::path>&) {
  if (auto e = mood_error()) return tl::make_unexpected(*e);
  return 0;
}

tl::expected<std::unique_ptr<pipeline::SnapshotTransaction>, db::DbError>
FakeSnapshotStore::begin_snapshot(const db::SnapshotMeta& meta) {
  ++begins;
  if (auto ok = ensure_connected(); !ok) return tl::make_unexpected(ok.error());
  if (auto e = mood_error()) return tl::make_unexpected(*e);
  return std::make_unique<FakeTransaction>(*this, meta);
}

tl::expected<db::LeaderStatus, db::DbError> FakeSnapshotStore::refresh_leader() {
  if (mood == Mood::down) return tl::make_unexpected(*mood_error());
  return db::LeaderStatus{leader.value_or(true), 4242};
}

tl::expected<db::PartitionReport, db::DbError>
FakeSnapshotStore::maintain_partitions(const db::PartitionPolicy&) {
  return db::PartitionReport{};
}

} // namespace etl::fakes
