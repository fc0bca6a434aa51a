#include "spool/spool.hpp"

#include <algorithm>
#include <cerrno>
#include <system_error>
#include <limits>
#include <map>
#include <optional>

#include <unistd.h>

namespace etl::spool {
namespace fs = std::filesystem;
namespace {

FileError fs_error(std::string_view op, const fs::path& p, const std::error_code& ec) {
  return FileError{p, ec.value(), std::string(op) + " " + p.string() + ": " + ec.message()};
}

std::uint64_t file_size_or_zero(const fs::path& p) {
  std::error_code ec;
  const auto n = fs::file_size(p, ec);
  return ec ? 0 : n;
}

std::vector<std::string> list_names(const fs::path& dir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    names.push_back(it->path().filename().string());
  }
  return names;
}

} // namespace

tl::expected<Spool, FileError> Spool::open(const fs::path& data_dir) {
  for (const char* sub : {"raw", "processed", "pending", "quarantine"}) {
    std::error_code ec;
    fs::create_directories(data_dir / sub, ec);
    if (ec) return tl::unexpected(fs_error("create directory", data_dir / sub, ec));
  }
  Spool spool(data_dir);
  // Sweep what a crash left mid-write: never visible under a final name, so safe to delete.
  for (const char* sub : {"raw", "processed", "pending", "quarantine"}) {
    for (const auto& name : list_names(data_dir / sub)) {
      if (name.starts_with(".tmp-")) ::unlink((data_dir / sub / name).c_str());
    }
  }
  // Prove we can write (and fsync) before accepting any work.
  const fs::path probe = data_dir / "pending" / ".write-probe";
  if (auto ok = write_file_atomic(probe, "ok"); !ok) return tl::unexpected(ok.error());
  if (auto ok = remove_durably(probe); !ok) return tl::unexpected(ok.error());
  return spool;
}

std::string Spool::new_snapshot_id(SysTime started, std::string_view vs_currency) const {
  std::string id = make_snapshot_id(started, vs_currency);
  std::error_code ec;
  if (fs::exists(m_root / "pending" / id, ec) || fs::exists(raw_dir() / raw_page_filename(id, 1), ec) ||
      fs::exists(processed_dir() / processed_filename(id), ec)) {
    id = make_snapshot_id(started, vs_currency, /*with_millis=*/true);
  }
  return id;
}

tl::expected<void, FileError> Spool::mark_pending(std::string_view snapshot_id, const SnapshotPlan& plan) {
  return write_file_atomic(m_root / "pending" / std::string(snapshot_id), format_plan(plan));
}

tl::expected<fs::path, FileError> Spool::write_raw_page(std::string_view snapshot_id, int page,
                                                        std::string_view body) {
  fs::path path = raw_dir() / raw_page_filename(snapshot_id, page);
  if (auto ok = write_file_atomic(path, body); !ok) return tl::unexpected(ok.error());
  return path;
}

tl::expected<AtomicFile, FileError> Spool::create_processed(std::string_view snapshot_id) {
  return AtomicFile::create(processed_dir() / processed_filename(snapshot_id));
}

tl::expected<void, FileError> Spool::acknowledge(std::string_view snapshot_id) {
  return remove_durably(m_root / "pending" / std::string(snapshot_id));
}

tl::expected<void, FileError> Spool::quarantine(std::string_view snapshot_id, std::string_view reason) {
  if (auto ok = write_file_atomic(m_root / "quarantine" / std::string(snapshot_id), reason); !ok)
    return ok;
  return acknowledge(snapshot_id);
}

tl::expected<void, FileError> Spool::rename_pending(std::string_view snapshot_id, std::string_view new_id) {
  const auto pages = raw_pages(snapshot_id);
  // The plan moves with the pages (a damaged marker: what the pages themselves show).
  const SnapshotPlan moved_plan = plan(snapshot_id).value_or(SnapshotPlan{pages.empty() ? 1 : pages.front().page});
  if (auto ok = mark_pending(new_id, moved_plan); !ok) return ok;
  auto move = [](const fs::path& from, const fs::path& to) -> tl::expected<void, FileError> {
    std::error_code ec;
    fs::rename(from, to, ec);
    if (ec && ec != std::errc::no_such_file_or_directory) return tl::unexpected(fs_error("rename", from, ec));
    return {};
  };
  for (const auto& page : pages) {
    if (auto ok = move(page.path, raw_dir() / raw_page_filename(new_id, page.page)); !ok) return ok;
  }
  if (auto ok = move(processed_dir() / processed_filename(snapshot_id), processed_dir() / processed_filename(new_id));
      !ok)
    return ok;
  if (auto ok = fsync_directory(raw_dir()); !ok) return ok;
  if (auto ok = fsync_directory(processed_dir()); !ok) return ok;
  return acknowledge(snapshot_id);
}

bool Spool::is_pending(std::string_view snapshot_id) const {
  std::error_code ec;
  return fs::exists(m_root / "pending" / std::string(snapshot_id), ec);
}

std::optional<SnapshotPlan> Spool::plan(std::string_view snapshot_id) const {
  auto marker = read_file(m_root / "pending" / std::string(snapshot_id));
  if (!marker) return std::nullopt;
  return parse_plan(*marker);
}

std::vector<std::string> Spool::pending() const {
  std::vector<std::string> ids;
  for (auto& name : list_names(m_root / "pending")) {
    if (parse_snapshot_id(name)) ids.push_back(std::move(name));
  }
  std::sort(ids.begin(), ids.end(), [](const auto& a, const auto& b) { return snapshot_older(a, b); });
  return ids;
}

std::vector<RawPageRef> Spool::raw_pages(std::string_view snapshot_id) const {
  // Probe page by page from the first page the pending marker names (empty marker: page 1)
  // instead of listing raw/, which holds every retained snapshot: backlog() calls this for
  // each pending snapshot on every tick.
  int first = 1;
  if (auto marker = read_file(m_root / "pending" / std::string(snapshot_id))) {
    const auto parsed = parse_plan(*marker);
    first = parsed ? parsed->first_page : 0; // damaged: list
  }
  std::vector<RawPageRef> pages;
  for (int page = std::max(first, 1); first > 0; ++page) {
    fs::path p = raw_dir() / raw_page_filename(snapshot_id, page);
    std::error_code ec;
    if (!fs::exists(p, ec)) break;
    pages.push_back(RawPageRef{page, p, file_size_or_zero(p)});
  }
  if (!pages.empty()) return pages;
  // No marker (acknowledged), a damaged one, or pages that do not start where it says: list
  // raw/ by the snapshot's prefix. Rare, so its cost does not matter.
  const std::string prefix = std::string(snapshot_id) + "_p";
  for (const auto& name : list_names(raw_dir())) {
    if (!name.starts_with(prefix)) continue;
    const auto parsed = parse_raw_page_filename(name);
    if (!parsed || parsed->first != snapshot_id) continue;
    const fs::path p = raw_dir() / name;
    pages.push_back(RawPageRef{parsed->second, p, file_size_or_zero(p)});
  }
  std::sort(pages.begin(), pages.end(), [](const RawPageRef& a, const RawPageRef& b) { return a.page < b.page; });
  return pages;
}

Backlog Spool::backlog() const {
  Backlog b;
  for (const auto& id : pending()) {
    ++b.snapshots;
    for (const auto& page : raw_pages(id)) b.bytes += page.bytes;
    if (!b.oldest) {
      if (auto name = parse_snapshot_id(id)) b.oldest = name->time;
    }
  }
  return b;
}

void Spool::remove_snapshot_files(std::string_view snapshot_id, bool include_processed) {
  for (const auto& page : raw_pages(snapshot_id)) ::unlink(page.path.c_str());
  if (include_processed) ::unlink((processed_dir() / processed_filename(snapshot_id)).c_str());
}

namespace {

// What the spool holds, per snapshot, from one listing of its four directories.
struct Holding {
  SysTime time;
  std::uint64_t bytes = 0;      // raw pages + processed file + pending marker
  std::vector<fs::path> files;  // raw pages and processed file (the marker goes by acknowledge)
  bool pending = false;
  bool quarantined = false;
};
struct Inventory {
  std::map<std::string, Holding> snapshots;
  std::uint64_t total = 0;           // every regular file, whatever its name
  std::uint64_t quarantine_bytes = 0; // quarantine/ and the quarantined snapshots' files
  std::optional<SysTime> newest;
};

Inventory take_inventory(const fs::path& root) {
  Inventory inv;
  const auto add = [&](const std::string& id, const fs::path& path, std::uint64_t bytes, bool deletable) {
    const auto name = parse_snapshot_id(id);
    if (!name) return;
    auto& h = inv.snapshots[id];
    h.time = name->time;
    h.bytes += bytes;
    if (deletable) h.files.push_back(path);
    if (!inv.newest || name->time > *inv.newest) inv.newest = name->time;
  };
  for (const char* sub : {"raw", "processed", "pending"}) {
    for (const auto& name : list_names(root / sub)) {
      const fs::path path = root / sub / name;
      const auto bytes = file_size_or_zero(path);
      inv.total += bytes;
      if (std::string_view(sub) == "raw") {
        if (const auto parsed = parse_raw_page_filename(name)) add(parsed->first, path, bytes, true);
      } else if (std::string_view(sub) == "processed") {
        if (name.ends_with(".json")) add(name.substr(0, name.size() - 5), path, bytes, true);
      } else if (parse_snapshot_id(name)) {
        add(name, path, bytes, false);
        inv.snapshots[name].pending = true;
      }
    }
  }
  // Everything under quarantine/, at any depth: the reason files and whatever is kept there.
  std::error_code ec;
  for (fs::recursive_directory_iterator it(root / "quarantine", ec), end; !ec && it != end; it.increment(ec)) {
    if (it.depth() == 0) { // quarantine/<snapshot id>: its reason file (or a directory of its files)
      if (auto found = inv.snapshots.find(it->path().filename().string()); found != inv.snapshots.end())
        found->second.quarantined = true;
    }
    if (!it->is_regular_file(ec)) continue;
    const auto bytes = file_size_or_zero(it->path());
    inv.total += bytes;
    inv.quarantine_bytes += bytes;
  }
  for (const auto& [id, h] : inv.snapshots) {
    if (h.quarantined) inv.quarantine_bytes += h.bytes;
  }
  return inv;
}

} // namespace

MaintainOutcome Spool::maintain(const SpoolLimits& limits, SnapshotAges& ages, SysTime wall_now,
                                SnapshotAges::SteadyTime steady_now) {
  MaintainOutcome out;
  Inventory inv = take_inventory(m_root);
  ages.begin_pass(wall_now, steady_now, inv.newest);
  // Oldest first (ids sort by time, then the millisecond form after the plain one).
  std::vector<std::pair<std::string, Holding*>> order;
  for (auto& [id, h] : inv.snapshots) order.emplace_back(id, &h);
  std::sort(order.begin(), order.end(), [](const auto& a, const auto& b) { return snapshot_older(a.first, b.first); });
  std::vector<std::chrono::seconds> age(order.size());
  for (std::size_t i = 0; i < order.size(); ++i) age[i] = ages.age(order[i].first, order[i].second->time);

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
    else if (!h->pending && !h->files.empty() && age[i] > limits.retention) out.files_retired += remove_loaded(*h);
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

std::vector<Dropped> Spool::enforce_bounds(std::uint64_t max_bytes, std::chrono::seconds max_age, SysTime now) {
  auto ages = SnapshotAges::wall_clock_only();
  const auto forever = std::chrono::seconds::max();
  return maintain(SpoolLimits{max_bytes, max_age, forever}, ages, now, {}).dropped;
}

std::size_t Spool::purge_acknowledged(std::chrono::seconds retention, SysTime now) {
  auto ages = SnapshotAges::wall_clock_only();
  const auto forever = std::chrono::seconds::max();
  return maintain(SpoolLimits{std::numeric_limits<std::uint64_t>::max(), forever, retention}, ages, now, {})
      .files_retired;
}

} // namespace etl::spool
