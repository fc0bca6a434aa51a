#pragma once
// Private to etl::db: HistoryStore's session, shared by history_store.cpp (session, reads),
// history_store_write.cpp (chunk and coins writes) and history_coverage.cpp (the coverage
// ledger's queries).
#include "db/detail.hpp"
#include "db/history_store.hpp"

namespace etl::db {

struct HistoryStore::Impl {
  std::string conninfo;
  std::string application_name;
  std::vector<Secret> secrets;
  std::unique_ptr<pqxx::connection> conn;
  bool staging_ready = false;
  bool ohlc_staging_ready = false;
  bool coins_staging_ready = false;
  std::string copy_buffer;

  DbError fail(std::string_view what) {
    DbError e = detail::translate_current_exception(what, secrets);
    if (detail::needs_reconnect(e) || (conn && !conn->is_open())) {
      conn.reset();
      staging_ready = ohlc_staging_ready = coins_staging_ready = false;
    }
    return e;
  }
};

} // namespace etl::db
