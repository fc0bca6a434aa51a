#include "spool/inventory.hpp"
#include "spool/spool.hpp"

#include <algorithm>
#include <limits>

#include <unistd.h>

namespace etl::spool {

MaintainOutcome Spool::maintain(const SpoolLimits& limits, SnapshotAges& ages, SysTime wall_now,
                                SnapshotAges::SteadyTime steady_now) {
  MaintainOutcome out;
  Inventory inv = take_inventory(m_root);
  ages.begin_pass(wall_now, steady_now, inv.newest);
  // Oldest first (ids sort by time, then the millisecond form after the plain one).
  std::vector<std::pair<std::string, Holding*>> order;
  for (auto& [id, h] : inv.snapshots) order.emplace_back(id, &h);
  std::sort(order.begin(), order.end(),
            [](const auto& a, const auto& b) { return snapshot_older(a.first, b.first); });
  std::vector<std::chrono::seconds> age(order.size());
  for (std::size_t i = 0; i < order.size(); ++i)
    age[i] = ages.age(order[i].first, order[i].second->time);

  const auto remove_loaded = [&](Holding& h) {
    std::size_t n = 0;
    for (const auto& f : h.files) {
      if (::unlink(f.c_str()) == 0) ++n;
    }
    inv.total -= std::min(inv.total, h.bytes);
    h.files.clear();
    h.bytes = 0;
    return n;
  };
  const auto drop_pending = [&](const std::string& id, Holding& h, std::string why) {
    out.dropped.push_back(Dropped{id, h.bytes, std::move(why)});
    remove_snapshot_files(id, /*include_processed=*/true);
    (void)acknowledge(id);
    inv.total -= std::min(inv.total, h.bytes);
    h.bytes = 0;
    h.pending = false;
    h.files.clear();
  };
  // Quarantined snapshots are never loaded: their files are the only copy of that data, kept
  // until a human deletes them. Pending ones are not in PostgreSQL yet.
  for (std::size_t i = 0; i < order.size(); ++i) {
    auto& [id, h] = order[i];
    if (h->quarantined) continue;
    if (h->pending && age[i] > limits.max_age) drop_pending(id, *h, "older than SPOOL_MAX_AGE");
    else if (!h->pending && !h->files.empty() && age[i] > limits.retention)
      out.files_retired += remove_loaded(*h);
  }
  // The byte bound: what PostgreSQL already has goes first.
  for (auto& [id, h] : order) {
    if (inv.total <= limits.max_bytes) break;
    if (!h->quarantined && !h->pending && !h->files.empty()) out.files_evicted += remove_loaded(*h);
  }
  for (auto& [id, h] : order) {
    if (inv.total <= limits.max_bytes) break;
    if (!h->quarantined && h->pending) drop_pending(id, *h, "spool over SPOOL_MAX_BYTES");
  }
  ages.end_pass();
  out.bytes = inv.total;
  out.protected_bytes = inv.quarantine_bytes;
  return out;
}

std::vector<Dropped> Spool::enforce_bounds(std::uint64_t max_bytes, std::chrono::seconds max_age,
                                           SysTime now) {
  auto ages = SnapshotAges::wall_clock_only();
  const auto forever = std::chrono::seconds::max();
  return maintain(SpoolLimits{max_bytes, max_age, forever}, ages, now, {}).dropped;
}

std::size_t Spool::purge_acknowledged(std::chrono::seconds retention, SysTime now) {
  auto ages = SnapshotAges::wall_clock_only();
  const auto forever = std::chrono::seconds::max();
  return maintain(SpoolLimits{std::numeric_limits<std::uint64_t>::max(), forever, retention}, ages,
                  now, {})
      .files_retired;
}

} // namespace etl::spool
