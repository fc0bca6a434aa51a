#include "spool/spool.hpp"

#include "spool/inventory.hpp"

#include <algorithm>
#include <optional>
#include <system_error>

#include <unistd.h>

namespace etl::spool {
namespace fs = std::filesystem;
namespace {

FileError fs_error(std::string_view op, const fs::path& p, const std::error_code& ec) {
  return FileError{p, ec.value(), std::string(op) + " " + p.string() + ": " + ec.message()};
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
  if (fs::exists(m_root / "pending" / id, ec) ||
      fs::exists(raw_dir() / raw_page_filename(id, 1), ec) ||
      fs::exists(processed_dir() / processed_filename(id), ec)) {
    id = make_snapshot_id(started, vs_currency, /*with_millis=*/true);
  }
  return id;
}

tl::expected<void, FileError> Spool::mark_pending(std::string_view snapshot_id,
                                                  const SnapshotPlan& plan) {
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

tl::expected<void, FileError> Spool::quarantine(std::string_view snapshot_id,
                                                std::string_view reason) {
  if (auto ok = write_file_atomic(m_root / "quarantine" / std::string(snapshot_id), reason); !ok)
    return ok;
  return acknowledge(snapshot_id);
}

tl::expected<void, FileError> Spool::rename_pending(std::string_view snapshot_id,
                                                    std::string_view new_id) {
  const auto pages = raw_pages(snapshot_id);
  // The plan moves with the pages (a damaged marker: what the pages themselves show).
  const SnapshotPlan moved_plan =
      plan(snapshot_id).value_or(SnapshotPlan{pages.empty() ? 1 : pages.front().page});
  if (auto ok = mark_pending(new_id, moved_plan); !ok) return ok;
  auto move = [](const fs::path& from, const fs::path& to) -> tl::expected<void, FileError> {
    std::error_code ec;
    fs::rename(from, to, ec);
    if (ec && ec != std::errc::no_such_file_or_directory)
      return tl::unexpected(fs_error("rename", from, ec));
    return {};
  };
  for (const auto& page : pages) {
    if (auto ok = move(page.path, raw_dir() / raw_page_filename(new_id, page.page)); !ok) return ok;
  }
  if (auto ok = move(processed_dir() / processed_filename(snapshot_id),
                     processed_dir() / processed_filename(new_id));
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
  std::sort(ids.begin(), ids.end(),
            [](const auto& a, const auto& b) { return snapshot_older(a, b); });
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
  std::sort(pages.begin(), pages.end(),
            [](const RawPageRef& a, const RawPageRef& b) { return a.page < b.page; });
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

} // namespace etl::spool
