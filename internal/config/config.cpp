#include "config/config.hpp"
#include "config/loader.hpp"
#include "config/sections.hpp"
#include "config/text.hpp"
#include "config/url.hpp"

#include <algorithm>

namespace etl::config {
namespace {

using namespace std::chrono_literals;

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
      in.bad("HTTP_ADDR", *addr,
             "must be host:port with a port from 0 to 65535, e.g. 0.0.0.0:8080 or [::1]:8080");
    }
  }
  in.integer("HTTP_MAX_CONNECTIONS", out.http_max_connections, 1, 65'536);
  in.choice("LOG_LEVEL", out.log_level,
            {"trace", "debug", "info", "warn", "error", "critical", "off"});
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
                      return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
                             c == '_' || c == '.';
                    });
    if (!ok) {
      problem =
          "must be top:N or comma-separated CoinGecko ids (letters, digits, '-', '_', '.'), e.g. bitcoin,ethereum";
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

} // namespace etl::config
