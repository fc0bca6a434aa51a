#include "config/config.hpp"
#include "config/text.hpp"
#include "core/conninfo.hpp"
#include "core/url_secrets.hpp"

#include <algorithm>
#include <charconv>

namespace etl::config {
namespace {

constexpr std::string_view kRedacted = "<redacted>";

std::string format_rate(double rate) {
  char buffer[64];
  const auto result = std::to_chars(buffer, buffer + sizeof buffer, rate);
  return std::string(buffer, result.ptr);
}

std::string join(const std::vector<std::string>& items, char separator) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += separator;
    out += item;
  }
  return out;
}

} // namespace

std::string redact_database_url(std::string_view url) {
  // A DATABASE_URL always has a scheme; without one its shape is anyone's guess.
  if (url.find("://") == std::string_view::npos) return std::string(kRedacted);
  return redact_url(url);
}

std::string Config::conninfo() const {
  using core::conninfo_quote;
  if (!database_url.empty()) return database_url.reveal();
  std::string out = "host=" + conninfo_quote(postgres_host) +
                    " port=" + std::to_string(postgres_port) +
                    " user=" + conninfo_quote(postgres_user);
  if (!postgres_password.empty()) out += " password=" + conninfo_quote(postgres_password.reveal());
  // A bounded connect keeps a dead server from stalling a tick (libpq waits forever by default).
  out += " dbname=" + conninfo_quote(postgres_db) + " connect_timeout=5";
  return out;
}

namespace {

using SettingLines = std::vector<std::pair<std::string_view, std::string>>;

// What is fetched, from where, how fast, and the history settings.
SettingLines source_settings(const Config& c) {
  return {
      {"COINGECKO_URL", redact_url(c.coingecko_url)},
      {"VS_CURRENCY", join(c.vs_currencies, ',')},
      {"PER_PAGE", std::to_string(c.per_page)},
      {"PAGES", std::to_string(c.pages)},
      {"POLL_INTERVAL", format_duration(c.poll_interval)},
      {"COINGECKO_API_KEY", c.api_key.redacted()},
      {"COINGECKO_API_PLAN", std::string(coingecko::to_string(c.api_plan))},
      {"RATE_LIMIT_PER_MINUTE", format_rate(c.rate_limit_per_minute)},
      {"COINGECKO_MONTHLY_CREDITS",
       c.monthly_credits ? std::to_string(*c.monthly_credits) : std::string("(unset)")},
      {"HTTP_CONNECT_TIMEOUT", format_duration(c.http_connect_timeout)},
      {"HTTP_TIMEOUT", format_duration(c.http_timeout)},
      {"MAX_BODY_BYTES", std::to_string(c.max_body_bytes)},
      {"HTTP_MAX_ATTEMPTS", std::to_string(c.max_attempts)},
      {"COINGECKO_API_BASE", redact_url(c.coingecko_api_base)},
      {"BACKFILL_COINS", c.backfill_coins},
      {"BACKFILL_DAYS", std::to_string(c.backfill_days)},
      {"HISTORY_COINS", c.history_coins},
      {"HISTORY_DAYS", std::to_string(c.history_days)},
      {"CA_FILE", c.ca_file ? *c.ca_file : std::string("(unset)")},
  };
}

// Where it is stored, kept and served.
SettingLines sink_settings(const Config& c) {
  const std::string http_host =
      c.http_host.find(':') != std::string::npos ? "[" + c.http_host + "]" : c.http_host;
  return {
      {"POSTGRES_HOST", c.postgres_host},
      {"POSTGRES_PORT", std::to_string(c.postgres_port)},
      {"POSTGRES_USER", c.postgres_user},
      {"POSTGRES_PASSWORD", c.postgres_password.redacted()},
      {"POSTGRES_DB", c.postgres_db},
      {"DATABASE_URL", c.database_url.empty() ? std::string("(unset)")
                                              : redact_database_url(c.database_url.reveal())},
      {"MIGRATIONS_DIR", c.migrations_dir ? c.migrations_dir->string() : std::string("(embedded)")},
      {"COIN_MARKET_RETENTION",
       c.coin_market_retention ? format_duration(*c.coin_market_retention) : std::string("off")},
      {"COIN_MARKET_RAW_RETENTION", c.coin_market_raw_retention
                                        ? format_duration(*c.coin_market_raw_retention)
                                        : std::string("off")},
      {"LEADER_ELECTION", c.leader_election ? "on" : "off"},
      {"LEADER_LOCK_NAME", leader_lock_name(c)},
      {"DATA_DIR", c.data_dir.string()},
      {"LOG_DIR", c.log_dir.string()},
      {"RETENTION", format_duration(c.retention)},
      {"SPOOL_MAX_BYTES", std::to_string(c.spool_max_bytes)},
      {"SPOOL_MAX_AGE", format_duration(c.spool_max_age)},
      {"HTTP_ADDR", http_host + ":" + std::to_string(c.http_port)},
      {"HTTP_MAX_CONNECTIONS", std::to_string(c.http_max_connections)},
      {"LOG_LEVEL", c.log_level},
      {"LOG_FORMAT", c.log_format == LogFormat::json ? "json" : "text"},
      {"SHUTDOWN_TIMEOUT", format_duration(c.shutdown_timeout)},
  };
}

} // namespace

std::string render_effective(const Config& c) {
  std::string out;
  for (const auto& lines : {source_settings(c), sink_settings(c)}) {
    for (const auto& [name, value] : lines) {
      out += name;
      out += '=';
      out += value;
      out += '\n';
    }
  }
  return out;
}

} // namespace etl::config
