#pragma once
// The daemon's settings: one value type, loaded from flags > environment > .env file > defaults,
// validated all at once. Pure except for the file reads named below.
#include "coingecko/plan.hpp"
#include "core/secret.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <tl/expected.hpp>

namespace etl::config {

enum class LogFormat { text, json };

struct Config {
  // CoinGecko
  std::string coingecko_url{coingecko::kPublicMarketsUrl};
  std::vector<std::string> vs_currencies = {"usd"};
  int per_page = 100;
  int pages = 1;
  std::chrono::milliseconds poll_interval{30'000};
  Secret api_key;
  coingecko::Plan api_plan = coingecko::Plan::public_api;
  double rate_limit_per_minute = 5; // default by plan: public 5, demo 30, pro 500
  std::optional<int>
      monthly_credits; // plan's monthly call credits; default demo 10000, else unknown
  std::chrono::milliseconds http_connect_timeout{10'000};
  std::chrono::milliseconds http_timeout{30'000};
  std::size_t max_body_bytes = 32u << 20;
  int max_attempts = 4;
  std::optional<std::string> ca_file;
  // History backfill (issue 11)
  std::string coingecko_api_base; // COINGECKO_API_BASE, else COINGECKO_URL minus /coins/markets; ""
                                  // = not derivable
  std::string backfill_coins = "top:10"; // "top:N" or a comma list of coin ids
  int backfill_days = 365;
  // Background fill by the daemon (run): "" = off; else as backfill_coins.
  std::string history_coins;
  int history_days = 365;
  // PostgreSQL
  std::string postgres_host = "localhost";
  int postgres_port = 5432;
  std::string postgres_user = "postgres";
  Secret postgres_password;
  std::string postgres_db = "coingecko";
  Secret database_url; // when set it wins; a Secret because a URI may embed the password
  // MIGRATIONS_DIR: nullopt applies the migrations compiled into the binary (the same files as
  // of the build), so an installed binary migrates from any directory.
  std::optional<std::filesystem::path> migrations_dir;
  // Drop coin_market months older than this; nullopt ("off") keeps everything.
  std::optional<std::chrono::seconds> coin_market_retention;
  std::optional<std::chrono::seconds> coin_market_raw_retention; // same, for coin_market_raw
  // Several replicas: only the holder of a PostgreSQL advisory lock polls.
  bool leader_election = true;
  // Which replicas elect together (LEADER_LOCK_NAME); empty: leader_lock_name() derives it.
  std::string leader_lock_name;
  // Files
  std::filesystem::path data_dir = "data";
  std::filesystem::path log_dir = "logs";
  // Seconds, not hours, so tests and small deployments can use sub-hour values ("30m").
  std::chrono::seconds retention{std::chrono::hours{24 * 7}}; // acknowledged raw/processed files
  std::uint64_t spool_max_bytes = 1ull << 30;                 // pending backlog bound
  std::chrono::seconds spool_max_age{std::chrono::hours{24 * 7}};
  // Observability and lifecycle
  std::string http_host = "0.0.0.0";
  std::uint16_t http_port = 8080;
  // Connections the observability server holds at once (never more than a quarter of the
  // process's open-file limit, whatever this says).
  int http_max_connections = 256;
  std::string log_level = "info";
  LogFormat log_format = LogFormat::text;
  std::chrono::milliseconds shutdown_timeout{10'000};

  // A libpq connection string built from DATABASE_URL or the POSTGRES_* parts.
  [[nodiscard]] std::string conninfo() const;
};

using Environment = std::map<std::string, std::string, std::less<>>;

// Parses .env text: KEY=VALUE lines, '#' comments, optional `export `, single or double quotes
// (double quotes understand \n \" \\). Problems name the line number.
tl::expected<Environment, std::vector<std::string>> parse_dotenv(std::string_view text);

// Parses "500ms", "30s", "5m", "1h", or plain seconds ("30", "0.5"). Errors say what is allowed.
// Go-style compounds ("1h30m") work too, so the prototype's values keep working.
tl::expected<std::chrono::milliseconds, std::string> parse_duration(std::string_view text);

// The shortest exact spelling parse_duration reads back: "500ms", "30s", "5m", "168h".
std::string format_duration(std::chrono::milliseconds duration);

// A DATABASE_URL fit for logs: the password (userinfo or ?password=) becomes <redacted>; the
// whole value becomes <redacted> when it cannot be parsed with certainty.
std::string redact_database_url(std::string_view url);

// Builds and validates a Config from merged variables. Every problem is reported, each naming
// the variable and what is allowed. Reads *_FILE secret files (the only I/O here).
tl::expected<Config, std::vector<std::string>> load_config(const Environment& vars);

// The name replicas elect one poller under: LEADER_LOCK_NAME, else what the deployment polls,
// "<COINGECKO_URL without query or fragment> <currencies, sorted>", so two deployments polling
// different currencies (or APIs) on one database each keep their own poller. Holds no secret.
std::string leader_lock_name(const Config& config);

// The effective settings, one "NAME=value" per line, secrets shown as <redacted>.
std::string render_effective(const Config& config);

// Valid but doubtful combinations (e.g. more calls per tick than the rate limit allows per
// interval). Not errors: the daemon logs them at startup.
std::vector<std::string> config_warnings(const Config& config);

// Every variable the daemon reads, with default and meaning (drives --help and .env.example).
struct VariableDoc {
  std::string_view name;
  std::string_view default_value;
  std::string_view meaning;
};
const std::vector<VariableDoc>& variable_docs();
// The committed .env.example, generated from variable_docs() (a unit test keeps them equal).
std::string env_example_text();

// Command line.
enum class Command { run, once, migrate, replay, check_config, backfill, help, version };
// backfill's own flags (--coins, --days and --vs set BACKFILL_COINS, BACKFILL_DAYS, VS_CURRENCY).
struct BackfillArgs {
  std::optional<std::chrono::sys_days> from; // --from YYYY-MM-DD (UTC, inclusive)
  std::optional<std::chrono::sys_days> to;   // --to YYYY-MM-DD (UTC, inclusive: up to its end)
  bool ohlc = false;                         // --ohlc
  bool coins_list = false;                   // --coins-list
};
// "top:N" -> N, a comma list -> its ids; nullopt (and `problem`) when malformed.
struct CoinSelection {
  std::optional<int> top;
  std::vector<std::string> ids;
};
std::optional<CoinSelection> parse_coin_selection(std::string_view text, std::string& problem);

struct CommandLine {
  Command command = Command::run;
  BackfillArgs backfill;
  std::optional<std::filesystem::path> env_file; // --env-file PATH
  Environment overrides;                         // --poll-interval=5s -> POLL_INTERVAL=5s
};
// Accepts: [command] [--env-file PATH] [--VAR-NAME=value | --VAR-NAME value]... [--help]
// [--version] where --var-name maps to VAR_NAME for every variable in variable_docs().
tl::expected<CommandLine, std::vector<std::string>> parse_command_line(int argc,
                                                                       const char* const* argv);

std::string usage_text(); // the --help text

// One warning per secret given as a flag (--postgres-password, --coingecko-api-key,
// --database-url, a --coingecko-url carrying a key): every local user sees a command line in
// ps and /proc/<pid>/cmdline. Names the flag and the safer variable, never the value.
std::vector<std::string> secret_flag_warnings(const CommandLine& line);

// Merges in precedence order: overrides > process environment > .env file > (defaults).
// `process_env` is the real environment (environ); `dotenv` what the file held.
Environment merge_sources(const Environment& dotenv, const Environment& process_env,
                          const Environment& overrides);

} // namespace etl::config
