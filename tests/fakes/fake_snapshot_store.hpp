#pragma once
// PostgreSQL in memory: committed snapshots with their status and pages, and the database's
// moods on demand (down, refusing the operation, refusing one snapshot's data), plus a leader lock.
#include "pipeline/seams.hpp"

#include <functional>
#include <map>
#include <string>
#include <vector>

namespace etl::fakes {

struct CommittedSnapshot {
  std::string status;
  std::string error;
  std::vector<int> pages;
  std::int64_t coins = 0;
  std::chrono::system_clock::time_point fetched_at{};
  friend bool operator==(const CommittedSnapshot&, const CommittedSnapshot&) = default;
};

class FakeSnapshotStore final : public pipeline::SnapshotStore {
public:
  enum class Mood { accepting, down, refusing };
  tl::expected<void, db::DbError> ensure_connected() override;
  [[nodiscard]] bool connected() const noexcept override { return m_connected; }
  void disconnect() noexcept override { m_connected = false; }
  tl::expected<int, db::DbError>
  migrate(const std::optional<std::filesystem::path>& migrations_dir) override;
  tl::expected<std::unique_ptr<pipeline::SnapshotTransaction>, db::DbError>
  begin_snapshot(const db::SnapshotMeta& meta) override;
  [[nodiscard]] bool elects_leader() const noexcept override { return leader.has_value(); }
  tl::expected<db::LeaderStatus, db::DbError> refresh_leader() override;
  [[nodiscard]] bool maintains_partitions() const noexcept override { return false; }
  tl::expected<db::PartitionReport, db::DbError>
  maintain_partitions(const db::PartitionPolicy& policy) override;

  // The error the current mood gives any operation; nullopt when accepting.
  [[nodiscard]] std::optional<db::DbError> mood_error();

  Mood mood = Mood::accepting;
  std::function<bool(const std::string& snapshot_id)> rejects_data; // commit fails as "rejected"
  std::optional<bool> leader; // set: a leader election, won or not
  std::map<std::string, CommittedSnapshot, std::less<>> committed;
  std::vector<std::string> commit_order;
  int begins = 0;
  // Pages stored with every coin (digest, coins) by page number, as the database would vouch
  // for them (db/stored_pages.hpp); add_repeated_page finds them unless `vouches` is false.
  std::map<int, std::pair<core::Sha256, std::int64_t>> stored_pages;
  bool vouches = true;
  int repeated_pages = 0; // add_repeated_page calls that stored a page unparsed

private:
  bool m_connected = false;
};

} // namespace etl::fakes
