#include "db/partitions.hpp"

#include "core/conninfo.hpp"
#include "db/detail.hpp"

#include <pqxx/nontransaction>

#include <cstdint>

namespace etl::db {
namespace {

constexpr int kConnectTimeoutSeconds = 10;

} // namespace

PartitionMaintainer::PartitionMaintainer(std::string conninfo, std::string application_name)
    : m_conninfo(std::move(conninfo)), m_application_name(std::move(application_name)) {}

tl::expected<PartitionReport, DbError>
PartitionMaintainer::run(const PartitionPolicy& policy,
                         std::optional<std::chrono::system_clock::time_point> fixed_clock) {
  const auto secrets = core::conninfo_secrets(m_conninfo);
  PartitionReport report;
  std::string step = "connect to PostgreSQL for partition maintenance";
  const auto from_micros = [](std::int64_t micros) {
    return std::chrono::system_clock::time_point(
        std::chrono::duration_cast<std::chrono::system_clock::duration>(
            std::chrono::microseconds(micros)));
  };
  // NULL: the functions use the database's now().
  const std::optional<std::string> clock_text =
      fixed_clock ? std::optional(detail::to_timestamptz_text(*fixed_clock)) : std::nullopt;
  try {
    pqxx::connection conn{detail::with_default_connect_timeout(m_conninfo, kConnectTimeoutSeconds)};
    {
      pqxx::nontransaction setup{conn};
      report.clock = from_micros(
          setup
              .exec_params1(
                  "SELECT (extract(epoch FROM coalesce($3::timestamptz, now())) * 1000000)::bigint, "
                  "set_config('application_name', $1, false), "
                  "set_config('client_min_messages', $2, false)",
                  m_application_name, "warning", clock_text)[0]
              .as<std::int64_t>());
    }
    // A transaction per step: a retention failure does not undo the partitions just made.
    for (const std::string table : {"coin_market", "coin_market_raw"}) {
      const bool raw = table == "coin_market_raw";
      step = "create " + table + " partitions";
      {
        pqxx::work tx{conn};
        (raw ? report.raw_created : report.created) =
            tx.exec_params1("SELECT " + table +
                                "_ensure_partitions("
                                "coalesce($1::timestamptz, now()) - make_interval(months => $2), "
                                "coalesce($1::timestamptz, now()) + make_interval(months => $3))",
                            clock_text, policy.months_behind, policy.months_ahead)[0]
                .as<int>();
        tx.commit();
      }
      const auto& retention = raw ? policy.raw_retention : policy.retention;
      if (!retention) continue;
      step = "drop old " + table + " partitions";
      pqxx::work tx{conn};
      const auto row = tx.exec_params1(
          "SELECT (extract(epoch FROM cutoff) * 1000000)::bigint, dropped FROM " + table +
              "_drop_partitions_older_than(make_interval(secs => $1), $2::timestamptz)",
          static_cast<double>(retention->count()), clock_text);
      (raw ? report.raw_cutoff : report.cutoff) = from_micros(row[0].as<std::int64_t>());
      (raw ? report.raw_dropped : report.dropped) = row[1].as<int>();
      tx.commit();
    }
  } catch (...) {
    return tl::unexpected(detail::translate_current_exception(step, secrets));
  }
  return report;
}

} // namespace etl::db
