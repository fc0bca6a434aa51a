#include "config/config.hpp"

namespace etl::config {

// The one list of variables: --help, .env.example and the flag names all come from it, and
// load_config reads exactly these (tests check the two agree).
const std::vector<VariableDoc>& variable_docs() {
  static const std::vector<VariableDoc> docs = {
      {"COINGECKO_URL", "https://api.coingecko.com/api/v3/coins/markets",
       "markets endpoint (http or https); query parameters in it are kept (a key among them is shown "
       "redacted). With a key, http:// only to a loopback host. Plan pro defaults to "
       "https://pro-api.coingecko.com/api/v3/coins/markets"},
      {"VS_CURRENCY", "usd",
       "quote currencies, a comma list (each 1-10 letters or digits, at most 20)"},
      {"PER_PAGE", "100", "coins per page, 1 to 250"},
      {"PAGES", "1", "pages fetched per currency each tick, 1 to 1000"},
      {"POLL_INTERVAL", "30s",
       "time between ticks, 100ms to 24h (500ms, 30s, 5m, 1h or plain seconds)"},
      {"COINGECKO_API_KEY", "", "API key (empty = none); prefer COINGECKO_API_KEY_FILE"},
      {"COINGECKO_API_KEY_FILE", "",
       "file holding the API key (trailing newline ignored); excludes COINGECKO_API_KEY"},
      {"COINGECKO_API_PLAN", "demo with a key, else public",
       "public (no key), demo (x-cg-demo-api-key) or pro (x-cg-pro-api-key, any paid plan)"},
      {"RATE_LIMIT_PER_MINUTE", "by plan: public 5, demo 30, pro 500",
       "API calls per minute the daemon allows itself, above 0 and at most 10000 (decimals allowed). "
       "When PAGES x currencies calls do not fit in one POLL_INTERVAL, pages are spread over consecutive ticks"},
      {"COINGECKO_MONTHLY_CREDITS", "by plan: demo 10000, else none",
       "the plan's monthly call credits, 1 to 2000000000; a warning is logged when the configuration implies more "
       "(empty = unknown, no check)"},
      {"HTTP_CONNECT_TIMEOUT", "10s",
       "TCP+TLS connect timeout per request, 100ms to 5m, at most HTTP_TIMEOUT"},
      {"HTTP_TIMEOUT", "30s", "whole-request timeout, 100ms to 1h"},
      {"MAX_BODY_BYTES", "33554432",
       "largest response body accepted, 1024 bytes to 1GiB (plain bytes or KiB/MiB/GiB)"},
      {"HTTP_MAX_ATTEMPTS", "4", "tries per page including the first, 1 to 10"},
      {"COINGECKO_API_BASE", "COINGECKO_URL minus /coins/markets",
       "API root for the backfill's /coins/{id}/market_chart/range (same key, plan and rate limit as the poller); "
       "set it when COINGECKO_URL does not end in /coins/markets"},
      {"BACKFILL_COINS", "top:10",
       "coins the backfill command fetches: comma-separated CoinGecko ids (bitcoin,ethereum) or top:N, the N best "
       "market_cap_rank of the newest snapshot in coin_market (else of one /coins/markets call), N 1 to 250"},
      {"BACKFILL_DAYS", "365",
       "days of history the backfill command fetches, 1 to 36500 (public and demo plans reach 365 days: the rest "
       "is recorded as clamped, never requested)"},
      {"HISTORY_COINS", "",
       "coins the run daemon keeps filled in coin_history in the background, as BACKFILL_COINS (ids or top:N); "
       "empty = off. It spends only the calls the sweep leaves free in each tick and the monthly credits the poller "
       "leaves free"},
      {"HISTORY_DAYS", "365",
       "days of history the background fill keeps, 1 to 36500 (public/demo plans reach 365)"},
      {"CA_FILE", "", "PEM CA bundle for TLS (empty = system default); must be a readable file"},
      {"POSTGRES_HOST", "localhost", "PostgreSQL host name, address or socket directory"},
      {"POSTGRES_PORT", "5432", "PostgreSQL port, 1 to 65535"},
      {"POSTGRES_USER", "postgres", "PostgreSQL user"},
      {"POSTGRES_PASSWORD", "",
       "PostgreSQL password (empty = none); prefer POSTGRES_PASSWORD_FILE"},
      {"POSTGRES_PASSWORD_FILE", "",
       "file holding the PostgreSQL password; excludes POSTGRES_PASSWORD"},
      {"POSTGRES_DB", "coingecko", "PostgreSQL database"},
      {"DATABASE_URL", "",
       "postgres:// or postgresql:// URI; when set it wins over every POSTGRES_* setting"},
      {"DATABASE_URL_FILE", "",
       "file holding DATABASE_URL (it may embed the password); excludes DATABASE_URL"},
      {"MIGRATIONS_DIR", "the migrations built into the binary",
       "directory of NNNN_description.sql files applied by migrate, run, once, replay and backfill instead of the ones built "
       "into the binary; unset: the binary's own copy of migrations/, so it migrates from any directory; a set but "
       "unreadable directory is a configuration error"},
      {"COIN_MARKET_RETENTION", "off",
       "drop whole monthly coin_market partitions older than this, 1h to 876000h, or off to keep everything"},
      {"COIN_MARKET_RAW_RETENTION", "off",
       "drop whole monthly coin_market_raw partitions (the page bodies) older than this, 1h to 876000h, or off"},
      {"LEADER_ELECTION", "on",
       "on: of several replicas on one database only the holder of a PostgreSQL advisory lock polls; off: always poll"},
      {"LEADER_LOCK_NAME", "",
       "replicas with the same name elect one poller; unset: COINGECKO_URL (without its query) and VS_CURRENCY"},
      {"DATA_DIR", "./data",
       "spool root: raw/ and processed/ files; must be a directory if it exists"},
      {"LOG_DIR", "./logs", "directory for etl.log; must be a directory if it exists"},
      {"RETENTION", "168h", "how long loaded raw and processed files are kept, 1s to 87600h"},
      {"SPOOL_MAX_BYTES", "1073741824",
       "bound on everything DATA_DIR holds (raw, processed, pending, quarantine), at least 1MiB (plain bytes or "
       "KiB/MiB/GiB); loaded files go first, then pending snapshots (counted, logged), never quarantined ones"},
      {"SPOOL_MAX_AGE", "168h", "pending snapshots older than this are dropped, 1s to 87600h"},
      {"HTTP_ADDR", "0.0.0.0:8080",
       "host:port of /healthz /readyz /metrics; [::1]:8080 for IPv6; port 0 picks one"},
      {"HTTP_MAX_CONNECTIONS", "256",
       "connections the observability server holds at once, 1 to 65536, and never more than a quarter of the "
       "open-file limit (RLIMIT_NOFILE); one more closes the oldest one still waiting for its request"},
      {"LOG_LEVEL", "info", "trace, debug, info, warn, error, critical or off"},
      {"LOG_FORMAT", "text", "text, or json for log pipelines"},
      {"SHUTDOWN_TIMEOUT", "10s", "bound on graceful shutdown, 1s to 10m"},
  };
  return docs;
}

std::string env_example_text() {
  std::string out =
      "# coingecko-etl settings: every variable, its default and meaning.\n"
      "# Copy to .env and uncomment what you change. Precedence: flags > environment > .env > defaults.\n"
      "# An empty value means unset only for settings without a fixed default (keys, files,\n"
      "# DATABASE_URL, COINGECKO_API_PLAN, RATE_LIMIT_PER_MINUTE, MIGRATIONS_DIR). Never commit a real secret:\n"
      "# prefer the *_FILE variables. Generated from internal/config/variables.cpp.\n";
  for (const auto& doc : variable_docs()) {
    out += "\n# " + std::string(doc.meaning) + "\n";
    // A default that is a literal value is shown as the assignment; a rule ("by plan") as text.
    const bool literal = doc.default_value.find(' ') == std::string_view::npos;
    if (literal) {
      out += "# " + std::string(doc.name) + "=" + std::string(doc.default_value) + "\n";
    } else {
      out +=
          "# default: " + std::string(doc.default_value) + "\n# " + std::string(doc.name) + "=\n";
    }
  }
  return out;
}

} // namespace etl::config
