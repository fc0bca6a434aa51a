#include "config/config.hpp"
#include "config/loader.hpp"
#include "config/text.hpp"
#include "config/url.hpp"
#include "common/url_secrets.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>

namespace etl::config {
namespace {

using namespace std::chrono_literals;
using coingecko::Plan;

constexpr std::string_view kPublicHost = "api.coingecko.com";
constexpr std::string_view kProHost = "pro-api.coingecko.com";
constexpr std::string_view kProMarketsUrl = "https://pro-api.coingecko.com/api/v3/coins/markets";

double default_rate(Plan plan) {
  switch (plan) {
  case Plan::public_api: return 5;
  case Plan::demo: return 30;
  case Plan::pro: return 500;
  }
  return 5;
}

bool valid_currency(std::string_view code) {
  if (code.empty() || code.size() > 10) return false;
  return std::all_of(code.begin(), code.end(), [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); });
}

void load_currencies(Loader& in, Config& out) {
  constexpr std::string_view name = "VS_CURRENCY";
  const auto value = in.get(name);
  if (!value) return;
  std::vector<std::string> codes;
  for (const auto part : split(*value, ',')) {
    std::string code = to_lower(trim(part));
    if (!valid_currency(code)) {
      in.bad(name, *value, "each currency must be 1 to 10 letters or digits, comma-separated (e.g. usd,eur)");
      return;
    }
    if (std::find(codes.begin(), codes.end(), code) != codes.end()) {
      in.bad(name, *value, "lists \"" + code + "\" twice; each currency may appear once");
      return;
    }
    codes.push_back(std::move(code));
  }
  if (codes.size() > 20) {
    in.bad(name, *value, "at most 20 currencies");
    return;
  }
  out.vs_currencies = std::move(codes);
}

// Decimal calls per minute: digits with an optional fraction, nothing else (no exponents, inf).
std::optional<double> parse_rate(std::string_view text) {
  if (text.empty() || text.find_first_not_of("0123456789.") != std::string_view::npos) return std::nullopt;
  const auto dot = text.find('.');
  if (dot != std::string_view::npos &&
      (dot == 0 || dot + 1 == text.size() || text.find('.', dot + 1) != std::string_view::npos)) {
    return std::nullopt;
  }
  double rate = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), rate);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return rate;
}

// The key and the plan decide each other's defaults and must agree.
void load_key_and_plan(Loader& in, Config& out) {
  const auto direct = in.get_optional("COINGECKO_API_KEY");
  const auto file = in.get_optional("COINGECKO_API_KEY_FILE");
  const bool key_given = direct.has_value() || file.has_value();
  if (direct && file) {
    in.bad_secret("COINGECKO_API_KEY", "is set together with COINGECKO_API_KEY_FILE; set only one of them");
  } else if (direct) {
    out.api_key = Secret(std::string(*direct));
  } else if (file) {
    if (auto key = in.secret_file("COINGECKO_API_KEY_FILE", *file)) out.api_key = Secret(std::string(trim(*key)));
  }
  // The key goes into an HTTP header: a CR or LF would inject headers, a blank would break it.
  if (!out.api_key.empty() && (has_control_chars(out.api_key.reveal()) || out.api_key.reveal().find(' ') != std::string::npos)) {
    in.bad_secret(direct ? "COINGECKO_API_KEY" : "COINGECKO_API_KEY_FILE",
                  "the key contains blanks or control characters; CoinGecko keys have none");
    out.api_key = Secret();
  }

  const auto plan_text = in.get_optional("COINGECKO_API_PLAN");
  if (!plan_text) {
    out.api_plan = key_given ? Plan::demo : Plan::public_api;
  } else {
    const std::string plan = to_lower(*plan_text);
    if (plan == "public") {
      out.api_plan = Plan::public_api;
      if (key_given) in.bad("COINGECKO_API_PLAN", *plan_text, "a key is set but plan public sends none; use demo or pro, or remove the key");
    } else if (plan == "demo" || plan == "pro") {
      out.api_plan = plan == "demo" ? Plan::demo : Plan::pro;
      if (!key_given) in.bad("COINGECKO_API_PLAN", *plan_text, "needs COINGECKO_API_KEY or COINGECKO_API_KEY_FILE");
    } else {
      in.bad("COINGECKO_API_PLAN", *plan_text, "must be public, demo or pro (pro for every paid plan)");
    }
  }

  if (out.api_plan == Plan::demo) out.monthly_credits = 10'000; // CoinGecko's Demo plan
  if (in.get_optional("COINGECKO_MONTHLY_CREDITS")) {
    int credits = 0;
    in.integer("COINGECKO_MONTHLY_CREDITS", credits, 1, 2'000'000'000);
    if (credits > 0) out.monthly_credits = credits;
  }

  out.rate_limit_per_minute = default_rate(out.api_plan);
  if (const auto rate_text = in.get_optional("RATE_LIMIT_PER_MINUTE")) {
    const auto rate = parse_rate(*rate_text);
    if (!rate || *rate <= 0 || *rate > 10'000) {
      in.bad("RATE_LIMIT_PER_MINUTE", *rate_text, "must be a number of calls per minute above 0 and at most 10000");
    } else {
      out.rate_limit_per_minute = *rate;
    }
  }
}

// An http(s) URL of CoinGecko fit for the plan and key. Returns false (with a problem) when not.
bool check_api_url(Loader& in, std::string_view name, std::string_view value, const Config& out) {
  // The URL may carry a key (?x_cg_demo_api_key=...): error text shows it redacted.
  const std::string shown = redact_url(value);
  const auto url = parse_http_url(value);
  if (!url) {
    in.bad(name, shown, "must be an http:// or https:// URL with a host, e.g. https://api.coingecko.com/api/v3/coins/markets");
    return false;
  }
  // A key sent to the other plan's host fails with CoinGecko error 10010/10011; say so now.
  if (url->host == kPublicHost && out.api_plan == Plan::pro) {
    in.bad(name, shown, "plan pro must use https://pro-api.coingecko.com/...");
    return false;
  }
  if (url->host == kProHost && out.api_plan != Plan::pro) {
    in.bad(name, shown, "pro-api.coingecko.com needs COINGECKO_API_PLAN=pro and a key");
    return false;
  }
  // Over plain http anyone on the path reads the key. Loopback never leaves the machine (a
  // local proxy or a test server), so only there is http allowed with a key.
  const bool key_in_url = !url_secret_values(value).empty();
  if (url->scheme == "http" && (!out.api_key.empty() || key_in_url) && !is_loopback_host(url->host)) {
    in.bad(name, shown,
           std::string("would send the API key ") + (key_in_url ? "in its query" : "(COINGECKO_API_KEY)") +
               " in clear text over http://; use https:// (http:// with a key is allowed only to a loopback "
               "host: localhost, 127.0.0.0/8, ::1)");
    return false;
  }
  return true;
}

void load_url(Loader& in, Config& out) {
  const auto value = in.get("COINGECKO_URL");
  if (!value) {
    if (out.api_plan == Plan::pro) out.coingecko_url = kProMarketsUrl;
  } else if (check_api_url(in, "COINGECKO_URL", *value, out)) {
    out.coingecko_url = std::string(*value);
  }
  // The API root: the markets URL without its query and without /coins/markets.
  if (const auto base = in.get_optional("COINGECKO_API_BASE")) {
    if (check_api_url(in, "COINGECKO_API_BASE", *base, out)) {
      std::string text(base->substr(0, base->find_first_of("?#")));
      while (!text.empty() && text.back() == '/') text.pop_back();
      out.coingecko_api_base = std::move(text);
    }
    return;
  }
  std::string_view markets = out.coingecko_url;
  markets = markets.substr(0, markets.find_first_of("?#"));
  while (!markets.empty() && markets.back() == '/') markets.remove_suffix(1);
  constexpr std::string_view kSuffix = "/coins/markets";
  out.coingecko_api_base = markets.ends_with(kSuffix) ? std::string(markets.substr(0, markets.size() - kSuffix.size()))
                                                      : std::string();
}

void load_backfill(Loader& in, Config& out) {
  if (const auto coins = in.get("BACKFILL_COINS")) {
    std::string problem;
    if (parse_coin_selection(*coins, problem)) out.backfill_coins = std::string(*coins);
    else in.bad("BACKFILL_COINS", *coins, problem);
  }
  in.integer("BACKFILL_DAYS", out.backfill_days, 1, 36'500);
  if (const auto coins = in.get("HISTORY_COINS"); coins && !coins->empty()) {
    std::string problem;
    if (parse_coin_selection(*coins, problem)) out.history_coins = std::string(*coins);
    else in.bad("HISTORY_COINS", *coins, problem);
  }
  in.integer("HISTORY_DAYS", out.history_days, 1, 36'500);
}

void load_coingecko(Loader& in, Config& out) {
  load_key_and_plan(in, out);
  load_url(in, out);
  load_currencies(in, out);
  load_backfill(in, out);
  in.integer("PER_PAGE", out.per_page, 1, 250);
  in.integer("PAGES", out.pages, 1, 1000);
  in.millis("POLL_INTERVAL", out.poll_interval, 100ms, 24h);
  in.millis("HTTP_TIMEOUT", out.http_timeout, 100ms, 1h);
  std::chrono::milliseconds connect{-1};
  in.millis("HTTP_CONNECT_TIMEOUT", connect, 100ms, 5min);
  if (connect.count() >= 0) {
    if (connect > out.http_timeout) {
      in.bad("HTTP_CONNECT_TIMEOUT", *in.get("HTTP_CONNECT_TIMEOUT"),
             "must not exceed HTTP_TIMEOUT (" + format_duration(out.http_timeout) + ")");
    } else {
      out.http_connect_timeout = connect;
    }
  }
  std::uint64_t body = out.max_body_bytes;
  in.bytes("MAX_BODY_BYTES", body, 1024, 1ull << 30);
  out.max_body_bytes = static_cast<std::size_t>(body);
  in.integer("HTTP_MAX_ATTEMPTS", out.max_attempts, 1, 10);
  if (const auto ca = in.get_optional("CA_FILE")) {
    std::string error;
    if (readable_file(std::string(*ca), error)) {
      out.ca_file = std::string(*ca);
    } else {
      in.bad("CA_FILE", *ca, error + "; must be a readable PEM file");
    }
  }
}

// Host, user and database name: free text for libpq, but never empty or multi-line.
void plain_text(Loader& in, std::string_view name, std::string& out) {
  const auto value = in.get(name);
  if (!value) return;
  if (value->empty() || has_control_chars(*value)) {
    in.bad(name, *value, "must be non-empty text without control characters");
    return;
  }
  out = std::string(*value);
}

void load_postgres(Loader& in, Config& out) {
  plain_text(in, "POSTGRES_HOST", out.postgres_host);
  in.integer("POSTGRES_PORT", out.postgres_port, 1, 65535);
  plain_text(in, "POSTGRES_USER", out.postgres_user);
  plain_text(in, "POSTGRES_DB", out.postgres_db);

  const auto direct = in.get_raw_optional("POSTGRES_PASSWORD");
  const auto file = in.get_optional("POSTGRES_PASSWORD_FILE");
  if (direct && file) {
    in.bad_secret("POSTGRES_PASSWORD", "is set together with POSTGRES_PASSWORD_FILE; set only one of them");
  } else if (direct) {
    out.postgres_password = Secret(std::string(*direct));
  } else if (file) {
    if (auto password = in.secret_file("POSTGRES_PASSWORD_FILE", *file)) out.postgres_password = Secret(std::move(*password));
  }

  // DATABASE_URL may embed the password: like the others it can come from a file.
  const auto url_direct = in.get_optional("DATABASE_URL");
  const auto url_file = in.get_optional("DATABASE_URL_FILE");
  std::optional<std::string> url;
  if (url_direct && url_file) {
    in.bad_secret("DATABASE_URL", "is set together with DATABASE_URL_FILE; set only one of them");
  } else if (url_direct) {
    url = std::string(*url_direct);
  } else if (url_file) {
    if (auto text = in.secret_file("DATABASE_URL_FILE", *url_file)) url = std::string(trim(*text));
  }
  if (url) {
    const char* name = url_direct ? "DATABASE_URL" : "DATABASE_URL_FILE";
    const std::string lowered = to_lower(url->substr(0, 13));
    const bool scheme_ok = lowered.rfind("postgres://", 0) == 0 || lowered.rfind("postgresql://", 0) == 0;
    if (!scheme_ok || has_control_chars(*url) || url->find(' ') != std::string::npos) {
      // The URL is a secret: show it only with its password taken out.
      in.bad(name, redact_database_url(*url), "must be a postgres:// or postgresql:// URI without blanks");
    } else {
      out.database_url = Secret(std::move(*url));
    }
  }
  for (const auto& [name, field] : {std::pair{"COIN_MARKET_RETENTION", &Config::coin_market_retention},
                                    std::pair{"COIN_MARKET_RAW_RETENTION", &Config::coin_market_raw_retention}}) {
    if (const auto retention = in.get(name); retention && to_lower(*retention) != "off") {
      std::chrono::seconds value{0};
      in.seconds(name, value, 1h, 876'000h);
      if (value.count() > 0) out.*field = value;
    }
  }
  std::string election;
  in.choice("LEADER_ELECTION", election, {"on", "off"});
  if (!election.empty()) out.leader_election = election == "on";
  if (const auto name = in.get_optional("LEADER_LOCK_NAME")) {
    if (has_control_chars(*name) || name->size() > 200) {
      in.bad("LEADER_LOCK_NAME", *name, "must be printable text of at most 200 bytes");
    } else {
      out.leader_lock_name = std::string(*name);
    }
  }
  // Checked now, not at the first migration: a daemon would otherwise retry an unreadable
  // directory every tick, forever, instead of saying once what is wrong.
  if (const auto dir = in.get_optional("MIGRATIONS_DIR")) {
    std::string error;
    if (has_control_chars(*dir)) {
      in.bad("MIGRATIONS_DIR", *dir, "must be a directory path");
    } else if (!readable_directory(std::string(*dir), error)) {
      in.bad("MIGRATIONS_DIR", *dir,
             error + "; must be a readable directory of NNNN_description.sql files, or unset to apply the "
                     "migrations built into the binary");
    } else {
      out.migrations_dir = std::string(*dir);
    }
  }
}

void load_files(Loader& in, Config& out) {
  in.directory("DATA_DIR", out.data_dir);
  in.directory("LOG_DIR", out.log_dir);
  in.seconds("RETENTION", out.retention, 1s, 87'600h);
  in.bytes("SPOOL_MAX_BYTES", out.spool_max_bytes, 1ull << 20, 1ull << 50);
  in.seconds("SPOOL_MAX_AGE", out.spool_max_age, 1s, 87'600h);
}

void load_observability(Loader& in, Config& out) {
  if (const auto addr = in.get("HTTP_ADDR")) {
    if (const auto parsed = parse_host_port(*addr)) {
      out.http_host = parsed->host;
      out.http_port = parsed->port;
    } else {
      in.bad("HTTP_ADDR", *addr, "must be host:port with a port from 0 to 65535, e.g. 0.0.0.0:8080 or [::1]:8080");
    }
  }
  in.integer("HTTP_MAX_CONNECTIONS", out.http_max_connections, 1, 65'536);
  in.choice("LOG_LEVEL", out.log_level, {"trace", "debug", "info", "warn", "error", "critical", "off"});
  std::string format;
  in.choice("LOG_FORMAT", format, {"text", "json"});
  if (!format.empty()) out.log_format = format == "json" ? LogFormat::json : LogFormat::text;
  in.millis("SHUTDOWN_TIMEOUT", out.shutdown_timeout, 1s, 10min);
}

} // namespace

std::optional<CoinSelection> parse_coin_selection(std::string_view text, std::string& problem) {
  CoinSelection out;
  const std::string value = to_lower(trim(text));
  if (value.starts_with("top:")) {
    const auto n = parse_unsigned(std::string_view(value).substr(4), 250);
    if (!n || *n < 1) {
      problem = "top:N needs N from 1 to 250";
      return std::nullopt;
    }
    out.top = static_cast<int>(*n);
    return out;
  }
  for (const auto part : split(value, ',')) {
    const std::string id(trim(part));
    // CoinGecko ids are lowercase letters, digits, '-', '_' and '.'; they also name spool
    // directories, so nothing else (no '/', no leading '.') is accepted.
    const bool ok = !id.empty() && id.size() <= 100 && id.front() != '.' &&
                    std::all_of(id.begin(), id.end(), [](char c) {
                      return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
                    });
    if (!ok) {
      problem = "must be top:N or comma-separated CoinGecko ids (letters, digits, '-', '_', '.'), e.g. bitcoin,ethereum";
      return std::nullopt;
    }
    if (std::find(out.ids.begin(), out.ids.end(), id) == out.ids.end()) out.ids.push_back(id);
  }
  if (out.ids.size() > 1000) {
    problem = "at most 1000 coin ids";
    return std::nullopt;
  }
  return out;
}

tl::expected<Config, std::vector<std::string>> load_config(const Environment& vars) {
  Loader in(vars);
  Config config;
  load_coingecko(in, config);
  load_postgres(in, config);
  load_files(in, config);
  load_observability(in, config);
  if (!in.ok()) return tl::make_unexpected(in.take_problems());
  return config;
}

std::string leader_lock_name(const Config& config) {
  if (!config.leader_lock_name.empty()) return config.leader_lock_name;
  // The query may carry an API key (x_cg_demo_api_key=...) and is not what is polled anyway.
  const std::string_view url = config.coingecko_url;
  std::string name(url.substr(0, url.find_first_of("?#")));
  std::vector<std::string> currencies = config.vs_currencies;
  std::sort(currencies.begin(), currencies.end());
  char sep = ' ';
  for (const auto& c : currencies) {
    name += sep;
    name += c;
    sep = ',';
  }
  return name;
}

namespace {
std::string rate_text(double rate) {
  char buffer[64];
  const auto result = std::to_chars(buffer, buffer + sizeof buffer, rate);
  return std::string(buffer, result.ptr);
}
} // namespace

std::vector<std::string> config_warnings(const Config& config) {
  std::vector<std::string> warnings;
  const auto calls = static_cast<double>(config.pages) * static_cast<double>(config.vs_currencies.size());
  const double seconds = std::chrono::duration<double>(config.poll_interval).count();
  const double raw_budget = config.rate_limit_per_minute * seconds / 60.0;
  const double budget = std::max(1.0, std::floor(raw_budget + 1e-9));
  if (raw_budget + 1e-9 < 1.0) {
    warnings.push_back("POLL_INTERVAL=" + format_duration(config.poll_interval) +
                       " is shorter than the spacing of two calls at RATE_LIMIT_PER_MINUTE=" +
                       rate_text(config.rate_limit_per_minute) + " (" +
                       format_duration(std::chrono::milliseconds(static_cast<long long>(60'000.0 / config.rate_limit_per_minute))) +
                       "): some ticks will fetch nothing; raise POLL_INTERVAL or the rate");
  }
  if (calls > budget) {
    const auto ticks = static_cast<long long>(std::ceil(calls / budget));
    warnings.push_back("each full sweep makes " + std::to_string(static_cast<long long>(calls)) +
                       " API calls (PAGES x currencies) but RATE_LIMIT_PER_MINUTE allows only " +
                       std::to_string(static_cast<long long>(budget)) + " per POLL_INTERVAL=" +
                       format_duration(config.poll_interval) + "; pages are spread over " + std::to_string(ticks) +
                       " consecutive ticks (a rolling sweep), so each page is refreshed every " +
                       format_duration(std::chrono::milliseconds(static_cast<long long>(ticks) * config.poll_interval.count())));
  }
  if (config.monthly_credits) {
    // Same arithmetic as pipeline::compute_pacing: balanced windows, a 30-day month.
    const double ticks = std::ceil(calls / budget);
    const double per_tick = std::ceil(calls / ticks);
    const double per_month =
        std::min(per_tick * 60.0 / seconds, config.rate_limit_per_minute) * 60.0 * 24.0 * 30.0;
    if (per_month > *config.monthly_credits) {
      warnings.push_back("the configuration implies up to " + std::to_string(static_cast<long long>(per_month)) +
                         " API calls per 30-day month, more than the plan's " +
                         std::to_string(*config.monthly_credits) +
                         " monthly credits (COINGECKO_MONTHLY_CREDITS); raise POLL_INTERVAL or lower PAGES");
    }
  }
  return warnings;
}

} // namespace etl::config
