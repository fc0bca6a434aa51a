#include "config/config.hpp"
#include "core/url_secrets.hpp"

#include <algorithm>

namespace etl::config {
namespace {

struct CommandName {
  std::string_view name;
  Command command;
  std::string_view meaning;
};
constexpr CommandName kCommands[] = {
    {"run", Command::run, "run the daemon (the default)"},
    {"once", Command::once, "run one tick; exit status 0 only when every page was loaded"},
    {"migrate", Command::migrate, "apply pending database migrations and exit"},
    {"replay", Command::replay, "load every pending raw snapshot now and exit"},
    {"check-config", Command::check_config, "validate the configuration and print it, secrets redacted"},
    {"backfill", Command::backfill,
     "fetch history (/coins/{id}/market_chart/range) into coin_history and exit; resumable; flags below"},
};

// backfill's shorthands for variables.
struct FlagAlias {
  std::string_view flag;
  std::string_view variable;
};
constexpr FlagAlias kBackfillAliases[] = {
    {"--coins", "BACKFILL_COINS"}, {"--days", "BACKFILL_DAYS"}, {"--vs", "VS_CURRENCY"}};

// "YYYY-MM-DD", a real calendar date.
std::optional<std::chrono::sys_days> parse_date(std::string_view text) {
  if (text.size() != 10 || text[4] != '-' || text[7] != '-') return std::nullopt;
  const auto number = [&](std::size_t pos, std::size_t len) -> std::optional<int> {
    int n = 0;
    for (std::size_t i = pos; i < pos + len; ++i) {
      if (text[i] < '0' || text[i] > '9') return std::nullopt;
      n = n * 10 + (text[i] - '0');
    }
    return n;
  };
  const auto y = number(0, 4);
  const auto m = number(5, 2);
  const auto d = number(8, 2);
  if (!y || !m || !d) return std::nullopt;
  const std::chrono::year_month_day ymd{std::chrono::year{*y}, std::chrono::month{static_cast<unsigned>(*m)},
                                       std::chrono::day{static_cast<unsigned>(*d)}};
  if (!ymd.ok() || *y < 2009) return std::nullopt;
  return std::chrono::sys_days{ymd};
}

// --poll-interval -> POLL_INTERVAL, only for known variables.
std::optional<std::string> variable_for_flag(std::string_view flag) {
  std::string name(flag);
  for (char& c : name) {
    if (c == '-') {
      c = '_';
    } else if (c >= 'a' && c <= 'z') {
      c = static_cast<char>(c - 'a' + 'A');
    } else if (c == '_' || (c >= 'A' && c <= 'Z')) {
      return std::nullopt; // flags are spelled lowercase with dashes, nothing else
    }
  }
  const auto& docs = variable_docs();
  const bool known = std::any_of(docs.begin(), docs.end(), [&](const VariableDoc& d) { return d.name == name; });
  return known ? std::optional(name) : std::nullopt;
}

std::string flag_for_variable(std::string_view name) {
  std::string flag = "--";
  for (const char c : name) flag += c == '_' ? '-' : static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  return flag;
}

} // namespace

tl::expected<CommandLine, std::vector<std::string>> parse_command_line(int argc, const char* const* argv) {
  CommandLine line;
  std::vector<std::string> problems;
  bool help = false;
  bool version = false;
  bool have_command = false;
  bool flags_done = false;
  std::vector<std::string> backfill_flags; // used, to check they come with the backfill command
  bool days_flag = false;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i] == nullptr ? std::string_view() : std::string_view(argv[i]);
    if (!flags_done && arg == "--") {
      flags_done = true;
      continue;
    }
    if (!flags_done && (arg == "--help" || arg == "-h")) {
      help = true;
      continue;
    }
    if (!flags_done && arg == "--version") {
      version = true;
      continue;
    }
    if (!flags_done && (arg == "--ohlc" || arg == "--coins-list")) {
      (arg == "--ohlc" ? line.backfill.ohlc : line.backfill.coins_list) = true;
      backfill_flags.emplace_back(arg);
      continue;
    }
    if (flags_done || arg.empty() || arg.front() != '-') {
      const auto* found = std::find_if(std::begin(kCommands), std::end(kCommands),
                                       [&](const CommandName& c) { return c.name == arg; });
      if (have_command) {
        problems.push_back("unexpected argument \"" + std::string(arg) + "\": only one command is allowed");
      } else if (arg == "help") {
        help = true;
      } else if (found == std::end(kCommands)) {
        problems.push_back("unknown command \"" + std::string(arg) +
                           "\"; expected run, once, migrate, replay, check-config or backfill");
      } else {
        line.command = found->command;
      }
      have_command = true;
      continue;
    }
    // A flag: --name=value or --name value.
    const auto eq = arg.find('=');
    const std::string_view flag = arg.substr(0, eq);
    const bool is_env_file = flag == "--env-file";
    const bool is_date = flag == "--from" || flag == "--to";
    auto variable = flag.substr(0, 2) == "--" ? variable_for_flag(flag.substr(2)) : std::nullopt;
    for (const auto& alias : kBackfillAliases) {
      if (alias.flag == flag) {
        variable = std::string(alias.variable);
        backfill_flags.emplace_back(flag);
        days_flag = days_flag || flag == "--days";
      }
    }
    if (is_date) backfill_flags.emplace_back(flag);
    if (!is_env_file && !is_date && !variable) {
      problems.push_back("unknown flag \"" + std::string(flag) + "\"; see --help");
      continue;
    }
    std::string value;
    if (eq != std::string_view::npos) {
      value = std::string(arg.substr(eq + 1));
    } else if (i + 1 < argc && argv[i + 1] != nullptr && std::string_view(argv[i + 1]).substr(0, 2) != "--") {
      value = argv[++i];
    } else {
      problems.push_back(std::string(flag) + ": missing value");
      continue;
    }
    if (is_date) {
      const auto date = parse_date(value);
      if (!date) problems.push_back(std::string(flag) + "=\"" + value + "\": must be a date YYYY-MM-DD (UTC)");
      else (flag == "--from" ? line.backfill.from : line.backfill.to) = *date;
    } else if (is_env_file) {
      if (value.empty()) {
        problems.push_back("--env-file: missing value");
      } else {
        line.env_file = std::filesystem::path(value);
      }
    } else {
      line.overrides.insert_or_assign(*variable, std::move(value));
    }
  }
  if (!backfill_flags.empty() && line.command != Command::backfill) {
    problems.push_back(backfill_flags.front() + " belongs to the backfill command");
  }
  if (days_flag && (line.backfill.from || line.backfill.to)) {
    problems.push_back("--days and --from/--to exclude each other: give a number of days or a date range");
  }
  if (line.backfill.from && line.backfill.to && *line.backfill.to < *line.backfill.from) {
    problems.push_back("--to is before --from");
  }
  if (line.backfill.to && !line.backfill.from) problems.push_back("--to needs --from");
  // Asking for help is never an error, whatever else is on the line.
  if (help) line.command = Command::help;
  else if (version) line.command = Command::version;
  else if (!problems.empty()) return tl::make_unexpected(std::move(problems));
  return line;
}

std::string usage_text() {
  std::string out =
      "Usage: coingecko-etl [COMMAND] [OPTIONS]\n"
      "\n"
      "Polls CoinGecko /coins/markets, keeps every response on disk, and loads it into PostgreSQL.\n"
      "\n"
      "Commands:\n";
  for (const auto& c : kCommands) {
    out += "  " + std::string(c.name) + std::string(14 - c.name.size(), ' ') + std::string(c.meaning) + "\n";
  }
  out +=
      "\n"
      "Options:\n"
      "  -h, --help           show this help and exit\n"
      "  --version            print the version and exit\n"
      "  --env-file PATH      read variables from PATH (default: ./.env when it exists)\n"
      "  --NAME VALUE         set any variable below; NAME is the variable in lowercase with\n"
      "  --NAME=VALUE         '-' for '_', e.g. --poll-interval 5s or --poll-interval=5s\n"
      "\n"
      "backfill options:\n"
      "  --coins IDS|top:N    coins to fetch (sets BACKFILL_COINS), e.g. bitcoin,ethereum or top:20\n"
      "  --days N             the last N days (sets BACKFILL_DAYS)\n"
      "  --from DATE --to DATE  a UTC date range instead, YYYY-MM-DD, both days included\n"
      "  --vs LIST            quote currencies (sets VS_CURRENCY), e.g. usd,eur\n"
      "  --ohlc               also OHLC candles into coin_ohlc: /coins/{id}/ohlc?days= on public/demo\n"
      "                       (days from CoinGecko's 1,7,14,30,90,180,365: it sets the candle size),\n"
      "                       /coins/{id}/ohlc/range on pro (hourly up to 31 days, else daily)\n"
      "  --coins-list         first load /coins/list?include_platform=true into coins (one request)\n"
      "  Exit status 0 when every planned chunk was stored; 1 with a summary otherwise.\n"
      "\n"
      "Precedence: flags > environment > .env file > defaults.\n"
      "An empty value means unset only for variables without a fixed default (keys, files,\n"
      "DATABASE_URL, COINGECKO_API_PLAN, RATE_LIMIT_PER_MINUTE, MIGRATIONS_DIR).\n"
      "\n"
      "Variables (flag, default, meaning):\n";
  for (const auto& doc : variable_docs()) {
    out += "  " + std::string(doc.name) + "  (" + flag_for_variable(doc.name) + ")\n";
    out += "      default: " + (doc.default_value.empty() ? std::string("(none)") : std::string(doc.default_value)) + "\n";
    out += "      " + std::string(doc.meaning) + "\n";
  }
  out +=
      "\n"
      "Exit status: 0 success; 2 bad usage or invalid configuration (every problem is listed);\n"
      "any other non-zero value is a runtime failure.\n";
  return out;
}

std::vector<std::string> secret_flag_warnings(const CommandLine& line) {
  struct SecretVariable {
    std::string_view name;
    std::string_view instead;
  };
  static constexpr SecretVariable kSecrets[] = {
      {"COINGECKO_API_KEY", "COINGECKO_API_KEY_FILE"},
      {"POSTGRES_PASSWORD", "POSTGRES_PASSWORD_FILE"},
  };
  std::vector<std::string> warnings;
  const auto warn = [&](std::string_view name, std::string_view instead) {
    warnings.push_back("a secret was given on the command line (" + flag_for_variable(name) +
                       "): every local user can read it in ps and /proc/<pid>/cmdline; use " + std::string(instead) +
                       " or the environment instead");
  };
  for (const auto& [name, value] : line.overrides) {
    for (const auto& secret : kSecrets) {
      if (name == secret.name && !value.empty()) warn(name, secret.instead);
    }
    // A URL is a secret only when it carries one.
    if (name == "DATABASE_URL" && !url_secret_values(value).empty()) warn(name, "DATABASE_URL_FILE");
    if (name == "COINGECKO_URL" && !url_secret_values(value).empty())
      warn(name, "COINGECKO_API_KEY_FILE (the key out of the URL)");
  }
  return warnings;
}

} // namespace etl::config
