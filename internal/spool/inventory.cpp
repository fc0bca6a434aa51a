#include "spool/inventory.hpp"

#include <string_view>
#include <system_error>

namespace etl::spool {
namespace fs = std::filesystem;

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

Inventory take_inventory(const fs::path& root) {
  Inventory inv;
  const auto add = [&](const std::string& id, const fs::path& path, std::uint64_t bytes,
                       bool deletable) {
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
        if (const auto parsed = parse_raw_page_filename(name))
          add(parsed->first, path, bytes, true);
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
  for (fs::recursive_directory_iterator it(root / "quarantine", ec), end; !ec && it != end;
       it.increment(ec)) {
    if (it.depth() ==
        0) { // quarantine/<snapshot id>: its reason file (or a directory of its files)
      if (auto found = inv.snapshots.find(it->path().filename().string());
          found != inv.snapshots.end())
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

} // namespace etl::spool
