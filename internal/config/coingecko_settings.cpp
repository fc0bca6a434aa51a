// COINGECKO_*, VS_CURRENCY, PER_PAGE, PAGES, POLL_INTERVAL, RATE_LIMIT_PER_MINUTE, HTTP_* and
// BACKFILL_*: what is polled, how, and with which key and plan.
#include "config/loader.hpp"
#include "config/sections.hpp"
#include "config/text.hpp"
#include "config/url.hpp"
#include "core/url_secrets.hpp"

#include <algorithm>
#include <charconv>

namespace etl::config {
namespace {

using namespace std::chrono_literals;
using coingecko::kProHost;
using coingecko::kProMarketsUrl;
using coingecko::kPublicHost;
using coingecko::Plan;

bool valid_currency(std::string_view code) {
  if (code.empty() || code.size() > 10) return false;
  return std::all_of(code.begin(), code.end(),
                     [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); });
}

void load_currencies(Loader& in, Config& out) {
  constexpr std::string_view name = "VS_CURRENCY";
  const auto value = in.get(name);
  if (!value) return;
  std::vector<std::string> codes;
  for (const auto part : split(*value, ',')) {
    std::string code = to_lower(trim(part));
    if (!valid_currency(code)) {
      in.bad(name, *value,
             "each currency must be 1 to 10 letters or digits, comma-separated (e.g. usd,eur)");
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
  if (text.empty() || text.find_first_not_of("0123456789.") != std::string_view::npos)
    return std::nullopt;
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
    in.bad_secret("COINGECKO_API_KEY",
                  "is set together with COINGECKO_API_KEY_FILE; set only one of them");
  } else if (direct) {
    out.api_key = Secret(std::string(*direct));
  } else if (file) {
    if (auto key = in.secret_file("COINGECKO_API_KEY_FILE", *file))
      out.api_key = Secret(std::string(trim(*key)));
  }
  // The key goes into an HTTP header: a CR or LF would inject headers, a blank would break it.
  if (!out.api_key.empty() && (has_control_chars(out.api_key.reveal()) ||
                               out.api_key.reveal().find(' ') != std::string::npos)) {
    in.bad_secret(direct ? "COINGECKO_API_KEY" : "COINGECKO_API_KEY_FILE",
                  "the key contains blanks or control characters; CoinGecko keys have none");
    out.api_key = Secret();
  }

  const auto plan_text = in.get_optional("COINGECKO_API_PLAN");
  if (!plan_text) {
    out.api_plan = key_given ? Plan::demo : Plan::public_api;
  } else {
    const auto plan = coingecko::parse_plan(to_lower(*plan_text));
    if (plan == Plan::public_api) {
      out.api_plan = *plan;
      if (key_given)
        in.bad("COINGECKO_API_PLAN", *plan_text,
               "a key is set but plan public sends none; use demo or pro, or remove the key");
    } else if (plan) {
      out.api_plan = *plan;
      if (!key_given)
        in.bad("COINGECKO_API_PLAN", *plan_text,
               "needs COINGECKO_API_KEY or COINGECKO_API_KEY_FILE");
    } else {
      in.bad("COINGECKO_API_PLAN", *plan_text,
             "must be public, demo or pro (pro for every paid plan)");
    }
  }

  out.monthly_credits = coingecko::default_monthly_credits(out.api_plan);
  if (in.get_optional("COINGECKO_MONTHLY_CREDITS")) {
    int credits = 0;
    in.integer("COINGECKO_MONTHLY_CREDITS", credits, 1, 2'000'000'000);
    if (credits > 0) out.monthly_credits = credits;
  }

  out.rate_limit_per_minute = coingecko::default_rate_per_minute(out.api_plan);
  if (const auto rate_text = in.get_optional("RATE_LIMIT_PER_MINUTE")) {
    const auto rate = parse_rate(*rate_text);
    if (!rate || *rate <= 0 || *rate > 10'000) {
      in.bad("RATE_LIMIT_PER_MINUTE", *rate_text,
             "must be a number of calls per minute above 0 and at most 10000");
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
    in.bad(
        name, shown,
        "must be an http:// or https:// URL with a host, e.g. https://api.coingecko.com/api/v3/coins/markets");
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
  if (url->scheme == "http" && (!out.api_key.empty() || key_in_url) &&
      !is_loopback_host(url->host)) {
    in.bad(
        name, shown,
        std::string("would send the API key ") +
            (key_in_url ? "in its query" : "(COINGECKO_API_KEY)") +
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
  out.coingecko_api_base = markets.ends_with(kSuffix)
                               ? std::string(markets.substr(0, markets.size() - kSuffix.size()))
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

} // namespace

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

} // namespace etl::config
