// libpqxx exceptions become DbError values here, and nowhere else.
#include "db/detail.hpp"

#include "core/conninfo.hpp"
#include "core/iso_time.hpp"

#include <cstdio>
#include <ctime>
#include <exception>
#include <new>

#include <pqxx/except>

namespace etl::db {

std::string_view to_string(DbError::Kind kind) noexcept {
  switch (kind) {
  case DbError::Kind::unavailable: return "unavailable";
  case DbError::Kind::rejected: return "rejected";
  case DbError::Kind::refused: return "refused";
  case DbError::Kind::internal: return "internal";
  }
  return "internal";
}

} // namespace etl::db

namespace etl::db::detail {
namespace {

// By SQLSTATE class (the first two characters); the table is in docs/RELIABILITY.md.
// Connection, resource, operator-intervention, system and transaction-rollback errors are about
// the server's state: a later attempt can succeed. Only data exceptions, integrity violations
// and program limits (an index row too large for a value) are caused by the data itself, the
// same way every time: only those may condemn a snapshot. Everything else (read-only
// transaction after a failover, insufficient privilege, an undefined table, a lock timeout...)
// is the server refusing the operation, which an operator can fix: never a reason to quarantine.
DbError::Kind kind_of_sqlstate(std::string_view sqlstate) noexcept {
  if (sqlstate.size() < 2) return DbError::Kind::internal;
  const std::string_view cls = sqlstate.substr(0, 2);
  for (std::string_view c : {"08", "40", "53", "57", "58"})
    if (cls == c) return DbError::Kind::unavailable;
  for (std::string_view c : {"22", "23", "54"})
    if (cls == c) return DbError::Kind::rejected;
  return DbError::Kind::refused;
}

std::string clean_message(std::string_view what_failed, std::string_view detail,
                          const std::vector<Secret>& secrets) {
  std::string text(what_failed);
  text += ": ";
  text += detail;
  // libpq messages end in newlines and sometimes hold a tab-indented hint line.
  for (char& c : text)
    if (c == '\n' || c == '\t') c = ' ';
  while (!text.empty() && text.back() == ' ') text.pop_back();
  for (const Secret& s : secrets) text = redact(std::move(text), {&s});
  return text;
}

} // namespace

std::string with_default_connect_timeout(std::string conninfo, int seconds) {
  return core::with_default_conninfo_param(std::move(conninfo), "connect_timeout",
                                           std::to_string(seconds));
}

std::string to_timestamptz_text(std::chrono::system_clock::time_point tp) {
  return core::format_iso8601(tp, core::Fraction::micros);
}

bool needs_reconnect(const DbError& error) noexcept {
  return error.kind == DbError::Kind::unavailable;
}

DbError translate_current_exception(std::string_view what_failed,
                                    const std::vector<Secret>& secrets) {
  const auto make = [&](DbError::Kind kind, std::string sqlstate, std::string_view detail) {
    return DbError{kind, std::move(sqlstate), clean_message(what_failed, detail, secrets)};
  };
  try {
    throw;
  } catch (const pqxx::broken_connection& e) {
    return make(DbError::Kind::unavailable, "", e.what());
  } catch (const pqxx::in_doubt_error& e) {
    // The commit may or may not have happened; etl_runs makes the replay safe either way.
    return make(DbError::Kind::unavailable, "", e.what());
  } catch (const pqxx::transaction_rollback& e) {
    return make(DbError::Kind::unavailable, "40000", e.what());
  } catch (const pqxx::sql_error& e) {
    return make(kind_of_sqlstate(e.sqlstate()), e.sqlstate(), e.what());
  } catch (const std::bad_alloc&) {
    return make(DbError::Kind::internal, "", "out of memory");
  } catch (const std::exception& e) {
    return make(DbError::Kind::internal, "", e.what());
  } catch (...) {
    return make(DbError::Kind::internal, "", "unknown exception");
  }
}

} // namespace etl::db::detail
