// The --help text and the warnings about secrets given as flags.
#include "config/commands.hpp"
#include "config/config.hpp"
#include "core/url_secrets.hpp"

namespace etl::config {
namespace {

std::string flag_for_variable(std::string_view name) {
  std::string flag = "--";
  for (const char c : name)
    flag += c == '_' ? '-' : static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  return flag;
}

} // namespace

std::string usage_text() {
  std::string out =
      "Usage: coingecko-etl [COMMAND] [OPTIONS]\n"
      "\n"
      "Polls CoinGecko /coins/markets, keeps every response on disk, and loads it into PostgreSQL.\n"
      "\n"
      "Commands:\n";
  for (const auto& c : kCommands) {
    out += "  " + std::string(c.name) + std::string(14 - c.name.size(), ' ') +
           std::string(c.meaning) + "\n";
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
    out += "      default: " +
           (doc.default_value.empty() ? std::string("(none)") : std::string(doc.default_value)) +
           "\n";
    out += "      " + std::string(doc.meaning) + "\n";
  }
  out += "\n"
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
                       "): every local user can read it in ps and /proc/<pid>/cmdline; use " +
                       std::string(instead) + " or the environment instead");
  };
  for (const auto& [name, value] : line.overrides) {
    for (const auto& secret : kSecrets) {
      if (name == secret.name && !value.empty()) warn(name, secret.instead);
    }
    // A URL is a secret only when it carries one.
    if (name == "DATABASE_URL" && !url_secret_values(value).empty())
      warn(name, "DATABASE_URL_FILE");
    if (name == "COINGECKO_URL" && !url_secret_values(value).empty())
      warn(name, "COINGECKO_API_KEY_FILE (the key out of the URL)");
  }
  return warnings;
}

} // namespace etl::config
