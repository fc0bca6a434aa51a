#pragma once
// coin_market and coin_market_raw partition upkeep (migrations 0002 and 0004): monthly range
// partitions created ahead of time, and optional retentions that drop whole old months.
// Runs rarely (start-up, then daily), so it opens its own short-lived connection instead of
// borrowing the loader's, whose session state (staging table, open transaction) it must not
// disturb.
#include "db/database.hpp"

#include <chrono>
#include <optional>
#include <string>

#include <tl/expected.hpp>

namespace etl::db {

struct PartitionPolicy {
  // Months covered ahead of `now` and behind it: [now - behind, now + ahead].
  int months_behind = 1;
  int months_ahead = 2;
  // Drop months that ended before the cutoff (and default-partition rows older than it);
  // nullopt keeps everything. The cutoff is computed by PostgreSQL (migration 0006): its own
  // now() minus the retention, never later than the newest data's month minus the retention.
  std::optional<std::chrono::seconds> retention;
  // The same for coin_market_raw, partitioned by fetched_at (its own, usually shorter, horizon:
  // the page bodies are most of the database's size).
  std::optional<std::chrono::seconds> raw_retention;
};

struct PartitionReport {
  int created = 0; // coin_market
  int dropped = 0;
  int raw_created = 0; // coin_market_raw
  int raw_dropped = 0;
  // The clock every decision used: the database's now() (or the test's fixed instant).
  std::chrono::system_clock::time_point clock;
  std::optional<std::chrono::system_clock::time_point> cutoff; // when a retention is set
  std::optional<std::chrono::system_clock::time_point> raw_cutoff;
};

class PartitionMaintainer {
public:
  explicit PartitionMaintainer(std::string conninfo,
                               std::string application_name = "coingecko-etl-partitions");
  // One pass: create missing partitions for the policy's window around the clock, then apply
  // the retention. Each step is one statement (its own transaction). The clock is the
  // database's now(), never this host's: a host clock that jumps ahead must not drop months of
  // valid data. `fixed_clock` replaces now() (tests of dates far from today); the newest-data
  // guard applies either way.
  tl::expected<PartitionReport, DbError>
  run(const PartitionPolicy& policy,
      std::optional<std::chrono::system_clock::time_point> fixed_clock = {});

private:
  std::string m_conninfo;
  std::string m_application_name;
};

} // namespace etl::db
