#pragma once
// coin_market partition upkeep (see migrations/0002_partition_coin_market.sql): monthly range
// partitions created ahead of time, and an optional retention that drops whole old months.
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
  // Drop months that ended before now - retention (and default-partition rows older than
  // that); nullopt keeps everything.
  std::optional<std::chrono::seconds> retention;
};

struct PartitionReport {
  int created = 0;
  int dropped = 0;
};

class PartitionMaintainer {
public:
  explicit PartitionMaintainer(std::string conninfo, std::string application_name = "coingecko-etl-partitions");
  // One pass: create missing partitions for the policy's window around `now`, then apply the
  // retention. Each step is one statement (its own transaction).
  tl::expected<PartitionReport, DbError> run(const PartitionPolicy& policy,
                                             std::chrono::system_clock::time_point now);

private:
  std::string m_conninfo;
  std::string m_application_name;
};

} // namespace etl::db
