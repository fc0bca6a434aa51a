#pragma once
// What the spool holds on disk, per snapshot, from one listing of its four directories: the
// input of Spool::maintain (spool_maintain.cpp), and the listing helpers spool.cpp shares.
#include "spool/naming.hpp"

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace etl::spool {

std::uint64_t file_size_or_zero(const std::filesystem::path& p);
// The names in `dir`; empty when it cannot be listed.
std::vector<std::string> list_names(const std::filesystem::path& dir);

// What the spool holds, per snapshot, from one listing of its four directories.
struct Holding {
  SysTime time;
  std::uint64_t bytes = 0; // raw pages + processed file + pending marker
  std::vector<std::filesystem::path>
      files; // raw pages and processed file (the marker goes by acknowledge)
  bool pending = false;
  bool quarantined = false;
};
struct Inventory {
  std::map<std::string, Holding> snapshots;
  std::uint64_t total = 0;            // every regular file, whatever its name
  std::uint64_t quarantine_bytes = 0; // quarantine/ and the quarantined snapshots' files
  std::optional<SysTime> newest;
};

// Every regular file under the spool root counts in `total`, whatever its name; files named
// like a snapshot's are also counted against that snapshot.
Inventory take_inventory(const std::filesystem::path& root);

} // namespace etl::spool
