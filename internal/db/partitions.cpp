#include "db/partitions.hpp"

#include "db/detail.hpp"

#include <pqxx/nontransaction>

namespace etl::db {
namespace {

constexpr int kConnectTimeoutSeconds = 10;

} // namespace

PartitionMaintainer::PartitionMaintainer(std::string conninfo, std::string application_name)
    : m_conninfo(std::move(conninfo)), m_application_name(std::move(application_name)) {}

tl::expected<PartitionReport, DbError> PartitionMaintainer::run(const PartitionPolicy& policy,
                                                                std::chrono::system_clock::time_point now) {
  const auto secrets = detail::secrets_of(m_conninfo);
  PartitionReport report;
  std::string step = "connect to PostgreSQL for partition maintenance";
  try {
    pqxx::connection conn{detail::with_default_connect_timeout(m_conninfo, kConnectTimeoutSeconds)};
    {
      pqxx::nontransaction setup{conn};
      setup.exec_params("SELECT set_config('application_name', $1, false), "
                        "set_config('client_min_messages', 'warning', false)",
                        m_application_name);
    }
    const std::string now_text = detail::to_timestamptz_text(now);
    // A transaction per step: a retention failure does not undo the partitions just made.
    for (const std::string table : {"coin_market", "coin_market_raw"}) {
      const bool raw = table == "coin_market_raw";
      step = "create " + table + " partitions";
      {
        pqxx::work tx{conn};
        (raw ? report.raw_created : report.created) =
            tx.exec_params1("SELECT " + table + "_ensure_partitions("
                            "$1::timestamptz - make_interval(months => $2), "
                            "$1::timestamptz + make_interval(months => $3))",
                            now_text, policy.months_behind, policy.months_ahead)[0]
                .as<int>();
        tx.commit();
      }
      const auto& retention = raw ? policy.raw_retention : policy.retention;
      if (!retention) continue;
      step = "drop old " + table + " partitions";
      pqxx::work tx{conn};
      const std::string cutoff = detail::to_timestamptz_text(now - *retention);
      (raw ? report.raw_dropped : report.dropped) =
          tx.exec_params1("SELECT " + table + "_drop_partitions_before($1::timestamptz)", cutoff)[0].as<int>();
      tx.commit();
    }
  } catch (...) {
    return tl::unexpected(detail::translate_current_exception(step, secrets));
  }
  return report;
}

} // namespace etl::db
