#include "spool/snapshot_ages.hpp"

#include <algorithm>

namespace etl::spool {
namespace {

std::chrono::seconds non_negative(SysTime::duration d) {
  return std::max(std::chrono::seconds(0), std::chrono::duration_cast<std::chrono::seconds>(d));
}

} // namespace

void SnapshotAges::begin_pass(SysTime wall_now, SteadyTime steady_now,
                              std::optional<SysTime> newest_on_disk) {
  m_wall = wall_now;
  m_steady = steady_now;
  m_reference = newest_on_disk ? std::min(wall_now, *newest_on_disk) : wall_now;
  m_overstatement = std::chrono::seconds(0);
}

std::chrono::seconds SnapshotAges::age(const std::string& id, SysTime named) {
  if (m_wall_only) return non_negative(m_wall - named);
  auto [it, first] = m_seen.try_emplace(id);
  Seen& seen = it->second;
  if (first) {
    seen.age_then = non_negative(m_reference - named);
    seen.seen_at = m_steady;
  }
  seen.last_asked = m_steady;
  const auto measured = seen.age_then + non_negative(m_steady - seen.seen_at);
  const auto wall = non_negative(m_wall - named);
  m_overstatement = std::max(m_overstatement, non_negative(wall - measured));
  return std::min(wall, measured);
}

void SnapshotAges::end_pass() {
  std::erase_if(m_seen, [&](const auto& entry) {
    return m_steady - entry.second.last_asked > std::chrono::hours(1);
  });
}

} // namespace etl::spool
