#pragma once
// File and snapshot naming under DATA_DIR. Pure.
//   snapshot id  20261122T140000Z_usd          (UTC fetch time, currency)
//   raw page     raw/20261122T140000Z_usd_p001.json
//   processed    processed/20261122T140000Z_usd.json
// When two snapshots of one currency start within the same second (POLL_INTERVAL < 1s) the
// later one gets milliseconds: 20261122T140000.250Z_usd.
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace etl::spool {

using SysTime = std::chrono::system_clock::time_point;

// 20261122T140000Z_usd, or 20261122T140000.250Z_usd with millis.
std::string make_snapshot_id(SysTime t, std::string_view vs_currency, bool with_millis = false);
std::string raw_page_filename(std::string_view snapshot_id, int page);
std::string processed_filename(std::string_view snapshot_id);

struct SnapshotName {
  SysTime time;
  std::string vs_currency;
};
// Inverse of make_snapshot_id; nullopt for anything that is not one.
std::optional<SnapshotName> parse_snapshot_id(std::string_view id);
// Splits "20261122T140000Z_usd_p001.json" into id and page; nullopt otherwise.
std::optional<std::pair<std::string, int>> parse_raw_page_filename(std::string_view name);

// Orders snapshot ids by their time, then by name: the oldest-first replay order.
bool snapshot_older(std::string_view a, std::string_view b);

} // namespace etl::spool
