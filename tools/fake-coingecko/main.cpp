// fake-coingecko: a loopback stand-in for GET /api/v3/coins/markets used by integration and
// system tests. It serves a captured fixture (sliced into pages without re-serializing a byte)
// and replays scripted faults, one per request. See --help.
#include "core/iso_time.hpp"
#include "core/json_escape.hpp"

#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <deque>
#include <fstream>
#include <iostream>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <pthread.h>

namespace {

using Clock = std::chrono::steady_clock;
std::atomic<bool> g_stopping{false};

// Real bodies (tests/fixtures, reference/coingecko-api.md §2.3). The 10002 text is cut in the
// capture ("please v…"); its end is completed here from the documented wording.
constexpr std::string_view kBody429 =
    R"({"status":{"error_code":429,"error_message":"You've exceeded the Rate Limit. Please visit https://www.coingecko.com/en/api/pricing to subscribe to our API plans for higher rate limits."}})";
constexpr std::string_view kBody403 =
    R"({"status":{"error_code":403,"error_message":"This endpoint is temporarily unavailable due to ongoing issues. Please visit https://www.coingecko.com/en/api/pricing to subscribe to our API plans with higher availability and https://status.coingecko.com for API status. "}})";
constexpr std::string_view kBody401 =
    R"({"status":{"timestamp":"2026-05-17T01:39:44.892+00:00","error_code":10002,"error_message":"API Key Missing. Please make sure you're using the right authentication method. For Pro API, please visit: https://docs.coingecko.com/reference/authentication. For Public/Demo API, please visit: https://docs.coingecko.com/v3.0.1/reference/authentication."}})";
constexpr std::string_view kBody500 = R"({"status":500,"error":"Internal Server Error"})";
constexpr std::string_view kBody422 = R"({"error":"Missing parameter vs_currency"})";
constexpr std::string_view kBody404 = R"({"error":"coin not found"})";
constexpr std::string_view kBodyHtml =
    "<!DOCTYPE html>\n<html><head><title>Access denied | api.coingecko.com used Cloudflare to restrict "
    "access</title></head>\n<body><h1>Error 1020</h1><p>Access denied</p><p>Cloudflare Ray ID: "
    "8f0e5d1c2b3a4f67</p></body></html>\n";
// The real 10012 body (tests/fixtures/Electron-Cash__...error_10012_365d_2024-03-30.json), sent
// with 401 as ghostfolio logged it.
constexpr std::string_view kBody10012 =
    R"({"error":{"status":{"timestamp":"2024-03-30T07:22:29.427+00:00","error_code":10012,"error_message":"Your request exceeds the allowed time range. Public API users are limited to querying historical data within the past 365 days. Upgrade to a paid plan to enjoy full historical data access: https://www.coingecko.com/en/api/pricing. "}}})";
constexpr std::string_view kGarbage = R"([{"id":"bitcoin","symbol":"btc",current_price: 1e,]})";
// httplib compresses only the exact type "application/json"; the charset variant (what the real
// API sends) keeps slow bodies uncompressed so their pacing reaches the wire as scripted.
constexpr const char* kJson = "application/json";
constexpr const char* kJsonUncompressed = "application/json; charset=utf-8";

// ---- fixture scanning: byte ranges of values, so slices keep the original bytes ----

std::size_t skip_ws(std::string_view s, std::size_t i) {
  while (i < s.size() && (s[i] == ' ' || s[i] == '\n' || s[i] == '\r' || s[i] == '\t')) ++i;
  return i;
}

// End (one past) of the string starting at s[i] == '"'.
std::optional<std::size_t> string_end(std::string_view s, std::size_t i) {
  for (++i; i < s.size(); ++i) {
    if (s[i] == '\\') ++i;
    else if (s[i] == '"') return i + 1;
  }
  return std::nullopt;
}

// End (one past) of the JSON value starting at s[i].
std::optional<std::size_t> value_end(std::string_view s, std::size_t i) {
  if (i >= s.size()) return std::nullopt;
  if (s[i] == '"') return string_end(s, i);
  if (s[i] == '{' || s[i] == '[') {
    int depth = 0;
    while (i < s.size()) {
      const char c = s[i];
      if (c == '"') {
        const auto e = string_end(s, i);
        if (!e) return std::nullopt;
        i = *e;
        continue;
      }
      if (c == '{' || c == '[') ++depth;
      if (c == '}' || c == ']') {
        if (--depth == 0) return i + 1;
      }
      ++i;
    }
    return std::nullopt;
  }
  std::size_t j = i;
  while (j < s.size() && std::string_view(",]} \n\r\t").find(s[j]) == std::string_view::npos) ++j;
  return j > i ? std::optional(j) : std::nullopt;
}

std::optional<std::vector<std::string>> split_array(std::string_view s) {
  std::size_t i = skip_ws(s, 0);
  if (i >= s.size() || s[i] != '[') return std::nullopt;
  std::vector<std::string> out;
  i = skip_ws(s, i + 1);
  if (i < s.size() && s[i] == ']') return out;
  while (i < s.size()) {
    const auto end = value_end(s, i);
    if (!end) return std::nullopt;
    out.emplace_back(s.substr(i, *end - i));
    i = skip_ws(s, *end);
    if (i < s.size() && s[i] == ']') return out;
    if (i >= s.size() || s[i] != ',') return std::nullopt;
    i = skip_ws(s, i + 1);
  }
  return std::nullopt;
}

// Byte range of the value of top-level `key` in the object `obj`.
std::optional<std::pair<std::size_t, std::size_t>> member_value(std::string_view obj,
                                                                std::string_view key) {
  std::size_t i = skip_ws(obj, 0);
  if (i >= obj.size() || obj[i] != '{') return std::nullopt;
  i = skip_ws(obj, i + 1);
  while (i < obj.size() && obj[i] == '"') {
    const auto kend = string_end(obj, i);
    if (!kend) return std::nullopt;
    const std::string_view name = obj.substr(i + 1, *kend - i - 2);
    i = skip_ws(obj, *kend);
    if (i >= obj.size() || obj[i] != ':') return std::nullopt;
    i = skip_ws(obj, i + 1);
    const auto vend = value_end(obj, i);
    if (!vend) return std::nullopt;
    if (name == key) return std::pair{i, *vend};
    i = skip_ws(obj, *vend);
    if (i < obj.size() && obj[i] == ',') i = skip_ws(obj, i + 1);
  }
  return std::nullopt;
}

// ---- fault script ----

enum class Kind {
  ok,
  status,
  delay,
  truncate,
  garbage,
  object,
  wrongtypes,
  drip,
  stall,
  huge,
  close
};

struct Step {
  Kind kind = Kind::ok;
  std::string text; // the script line, for the request log
  long number = 0;  // status code, milliseconds, bytes or bytes/s
  std::optional<std::string> retry_after;
  std::optional<std::string> body;
  std::string content_type = kJson;
};

std::optional<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::optional<long> to_long(const std::string& s) {
  if (s.empty() || s.find_first_not_of("0123456789") != std::string::npos || s.size() > 12)
    return std::nullopt;
  return std::stol(s);
}

// One line of script: returns the step or an error text.
std::pair<std::optional<Step>, std::string> parse_step(const std::string& line) {
  std::istringstream in(line);
  std::vector<std::string> words;
  for (std::string w; in >> w;) words.push_back(w);
  Step step;
  step.text = line;
  const auto bad = [&](const std::string& why) {
    return std::pair{std::optional<Step>{}, "'" + line + "': " + why};
  };
  const std::string& verb = words.at(0);
  const auto number_arg = [&](Kind kind) -> std::pair<std::optional<Step>, std::string> {
    if (words.size() != 2) return bad("expects one number");
    const auto n = to_long(words[1]);
    if (!n) return bad("not a number");
    step.kind = kind;
    step.number = *n;
    return {step, ""};
  };
  if (verb == "ok" || verb == "garbage" || verb == "object" || verb == "wrongtypes" ||
      verb == "close") {
    if (words.size() != 1) return bad("takes no arguments");
    step.kind = verb == "ok"           ? Kind::ok
                : verb == "garbage"    ? Kind::garbage
                : verb == "object"     ? Kind::object
                : verb == "wrongtypes" ? Kind::wrongtypes
                                       : Kind::close;
    return {step, ""};
  }
  if (verb == "delay") return number_arg(Kind::delay);
  if (verb == "truncate") return number_arg(Kind::truncate);
  if (verb == "drip") return number_arg(Kind::drip);
  if (verb == "stall") return number_arg(Kind::stall);
  if (verb == "huge") return number_arg(Kind::huge);
  if (verb != "status") return bad("unknown step");
  if (words.size() < 2) return bad("status needs a code");
  const auto code = to_long(words[1]);
  if (!code || *code < 100 || *code > 599) return bad("bad status code");
  step.kind = Kind::status;
  step.number = *code;
  for (std::size_t k = 2; k < words.size(); ++k) {
    const std::string& w = words[k];
    if (w.rfind("retry-after=", 0) == 0) {
      step.retry_after = w.substr(12);
    } else if (w == "body=json") {
      step.body.reset(); // the status's own JSON body, chosen when served
    } else if (w == "body=throttled") {
      step.body = "Throttled";
      step.content_type = "text/plain";
    } else if (w == "body=html") {
      step.body = std::string(kBodyHtml);
      step.content_type = "text/html";
    } else if (w == "body=empty") {
      step.body = "";
    } else if (w == "-") {
      step.body.reset();
    } else if (auto file = read_file(w.rfind("body=", 0) == 0 ? w.substr(5) : w)) {
      step.body = std::move(*file);
    } else {
      return bad("unknown option or unreadable body file: " + w);
    }
  }
  return {step, ""};
}

std::pair<std::deque<Step>, std::string> parse_script(const std::string& text) {
  std::deque<Step> steps;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const auto first = line.find_first_not_of(" \t");
    if (first == std::string::npos || line[first] == '#') continue;
    auto [step, error] = parse_step(line.substr(first));
    if (!step) return {{}, error};
    steps.push_back(std::move(*step));
  }
  return {std::move(steps), ""};
}

// ---- state ----

// The daemon's own escaper and formatter (internal/core), so the fake writes what it reads.
std::string json_escape(std::string_view s) {
  std::string out;
  etl::core::append_json_escaped(out, s);
  return out;
}

std::string utc_now_iso() { return etl::core::format_iso8601(std::chrono::system_clock::now()); }

struct Options {
  int port = 0;
  std::string fixture;
  long synthetic = 0;
  bool live_timestamps = false;
  std::string require_key;
  std::string script;
  long max_seconds = 3600;
  long now = 0;           // --now: the history endpoints' clock (UNIX seconds); 0 = the real clock
  std::string coins_list; // --coins-list FILE: served at /coins/list
};

struct State {
  std::vector<std::string> coins; // each element's exact bytes
  std::string whole;              // the fixture file, served as-is when one page covers it all
  bool whole_is_universe = false;
  // --live-timestamps: where each coin's "last_updated" date text starts (npos: none to rewrite).
  std::vector<std::size_t> last_updated_at;
  std::string require_key;
  std::mutex mutex;
  std::deque<Step> script;
  std::vector<std::string> log; // JSON objects
  std::vector<std::string> ids; // the fixture's coin ids: the history endpoints know these
  long now = 0;                 // --now (0: real clock)
  std::string coins_list;       // --coins-list file's bytes ("" = none)
};

// Sleeps up to `d`, waking early at shutdown. False when shutting down.
bool nap(std::chrono::milliseconds d) {
  const auto until = Clock::now() + d;
  while (Clock::now() < until) {
    if (g_stopping) return false;
    std::this_thread::sleep_for(
        std::min<Clock::duration>(std::chrono::milliseconds(20), until - Clock::now()));
  }
  return !g_stopping;
}

long int_param(const httplib::Request& req, const char* name, long fallback) {
  if (!req.has_param(name)) return fallback;
  const auto v = to_long(req.get_param_value(name));
  return v ? *v : fallback;
}

std::string page_body(const State& st, const httplib::Request& req) {
  const long per_page = std::clamp(int_param(req, "per_page", 100), 1L, 250L);
  const long page = std::max(int_param(req, "page", 1), 1L);
  const auto n = static_cast<long>(st.coins.size());
  const bool live = !st.last_updated_at.empty();
  if (page == 1 && per_page >= n && st.whole_is_universe && !live) return st.whole;
  // Same length as the fixtures' "2026-04-30T02:29:06.712Z", so it overwrites in place.
  const std::string now = live ? utc_now_iso() : std::string();
  std::string out = "[";
  for (long i = (page - 1) * per_page; i < std::min(n, page * per_page); ++i) {
    if (out.size() > 1) out += ',';
    const std::size_t start = out.size();
    out += st.coins[static_cast<std::size_t>(i)];
    const auto at = live ? st.last_updated_at[static_cast<std::size_t>(i)] : std::string::npos;
    if (at != std::string::npos) out.replace(start + at, now.size(), now);
  }
  return out + "]";
}

// The normal reply: key check, parameter check, then the page.
void serve_normal(const State& st, const httplib::Request& req, httplib::Response& res,
                  std::string& body) {
  if (!st.require_key.empty() && req.get_header_value("x-cg-demo-api-key") != st.require_key &&
      req.get_header_value("x-cg-pro-api-key") != st.require_key) {
    res.status = 401;
    body = kBody401;
    return;
  }
  if (!req.has_param("vs_currency") || req.get_param_value("vs_currency").empty()) {
    res.status = 422;
    body = kBody422;
    return;
  }
  res.status = 200;
  body = page_body(st, req);
}

std::string wrong_types(const State& st) {
  std::string coin =
      st.coins.empty() ? R"({"id":"bitcoin","current_price":77000.5})" : st.coins.front();
  if (const auto range = member_value(coin, "current_price")) {
    const std::string value = coin.substr(range->first, range->second - range->first);
    coin.replace(range->first, range->second - range->first, "\"" + json_escape(value) + "\"");
  }
  return "[" + coin + "]";
}

std::string default_body(long status) {
  switch (status) {
  case 401: return std::string(kBody401);
  case 403: return std::string(kBody403);
  case 404: return std::string(kBody404);
  case 422: return std::string(kBody422);
  case 429: return std::string(kBody429);
  case 500: return std::string(kBody500);
  case 502: return R"({"status":502,"error":"Bad Gateway"})";
  case 503: return R"({"status":503,"error":"Service Unavailable"})";
  case 504: return R"({"status":504,"error":"Gateway Timeout"})";
  default: return "{\"status\":" + std::to_string(status) + ",\"error\":\"scripted\"}";
  }
}

void record(State& st, const httplib::Request& req, const std::string& step) {
  const auto q = req.target.find('?');
  std::string names;
  for (const auto& [name, value] : req.headers) {
    if (name == "REMOTE_ADDR" || name == "REMOTE_PORT" || name == "LOCAL_ADDR" ||
        name == "LOCAL_PORT")
      continue;
    names += (names.empty() ? "\"" : ",\"") + json_escape(name) + "\"";
  }
  const bool demo = req.has_header("x-cg-demo-api-key");
  const bool pro = req.has_header("x-cg-pro-api-key");
  std::string entry = "{\"time\":\"" + utc_now_iso() + "\",\"path\":\"" + json_escape(req.path) +
                      "\",\"query\":\"" +
                      json_escape(q == std::string::npos ? "" : req.target.substr(q + 1)) +
                      "\",\"vs_currency\":\"" + json_escape(req.get_param_value("vs_currency")) +
                      "\",\"headers\":[" + names +
                      "],\"key_present\":" + (demo || pro ? "true" : "false") + ",\"key_header\":" +
                      (demo  ? "\"x-cg-demo-api-key\""
                       : pro ? "\"x-cg-pro-api-key\""
                             : "null") +
                      ",\"user_agent\":\"" + json_escape(req.get_header_value("User-Agent")) +
                      "\",\"step\":\"" + json_escape(step) + "\"}";
  const std::lock_guard lock(st.mutex);
  // Bounded so a long benchmark run cannot grow the fake without limit.
  if (st.log.size() >= 10'000) st.log.erase(st.log.begin());
  st.log.push_back(std::move(entry));
}

// Streams `body` at `bytes_per_sec` (0: send `stall_after` bytes, then go silent).
void slow_body(httplib::Response& res, std::string body, long bytes_per_sec, long stall_after) {
  auto shared = std::make_shared<std::string>(std::move(body));
  res.set_chunked_content_provider(
      kJsonUncompressed,
      [shared, bytes_per_sec, stall_after](std::size_t offset, httplib::DataSink& sink) {
        if (offset >= shared->size()) {
          sink.done();
          return true;
        }
        if (bytes_per_sec <= 0) {
          if (offset >= static_cast<std::size_t>(stall_after)) {
            nap(std::chrono::seconds(60)); // bounded silence; the client should give up first
            return false;
          }
          const auto n =
              std::min(shared->size() - offset, static_cast<std::size_t>(stall_after) - offset);
          return sink.write(shared->data() + offset, n);
        }
        // Ten writes a second keeps the rate smooth enough for a bytes/s low-speed check.
        const auto n = std::min(shared->size() - offset,
                                static_cast<std::size_t>(std::max(1L, bytes_per_sec / 10)));
        if (!nap(std::chrono::milliseconds(1000 * static_cast<long>(n) / bytes_per_sec)))
          return false;
        return sink.write(shared->data() + offset, n);
      });
}

// The next scripted step (normal service when the script is empty), logged with the request.
Step next_step(State& st, const httplib::Request& req) {
  Step step;
  {
    const std::lock_guard lock(st.mutex);
    if (!st.script.empty()) {
      step = std::move(st.script.front());
      st.script.pop_front();
    } else {
      step.text = "ok";
    }
  }
  record(st, req, step.text);
  return step;
}

void serve_status(const Step& step, httplib::Response& res) {
  res.status = static_cast<int>(step.number);
  if (step.retry_after) res.set_header("Retry-After", *step.retry_after);
  res.set_content(step.body ? *step.body : default_body(step.number), step.content_type);
}

void handle_markets(State& st, const httplib::Request& req, httplib::Response& res) {
  const Step step = next_step(st, req);
  std::string body;
  switch (step.kind) {
  case Kind::status: return serve_status(step, res);
  case Kind::garbage: res.set_content(std::string(kGarbage), kJson); return;
  case Kind::object: res.set_content(std::string(kBody403), kJson); return;
  case Kind::wrongtypes: res.set_content(wrong_types(st), kJson); return;
  case Kind::huge: {
    // Chunked, so only the client's running byte count can stop it (no Content-Length hint).
    const auto limit = static_cast<std::size_t>(step.number);
    const std::string coin = st.coins.empty() ? std::string(R"({"id":"x"})") : st.coins.front();
    res.set_chunked_content_provider(
        kJson, [limit, coin](std::size_t offset, httplib::DataSink& sink) {
          if (offset >= limit) {
            sink.write("{}]", 3);
            sink.done();
            return true;
          }
          const std::string piece = (offset == 0 ? "[" : "") + coin + ",";
          return !g_stopping && sink.write(piece.data(), piece.size());
        });
    return;
  }
  case Kind::close: {
    // Headers promise a body that never comes: the client sees the connection drop.
    serve_normal(st, req, res, body);
    res.set_content_provider(body.size() + 1, kJsonUncompressed,
                             [](std::size_t, std::size_t, httplib::DataSink&) { return false; });
    return;
  }
  case Kind::delay:
    if (!nap(std::chrono::milliseconds(step.number))) return;
    break;
  default: break;
  }
  serve_normal(st, req, res, body);
  if (step.kind == Kind::truncate)
    body.resize(std::min(body.size(), static_cast<std::size_t>(step.number)));
  if (step.kind == Kind::drip) return slow_body(res, std::move(body), std::max(1L, step.number), 0);
  if (step.kind == Kind::stall) return slow_body(res, std::move(body), 0, step.number);
  res.set_content(body, kJson); // httplib 0.11 copies: it has no rvalue overload
}

// ---- /coins/{id}/market_chart/range: deterministic synthetic history ----

std::uint64_t fnv1a(std::string_view text) {
  std::uint64_t h = 1469598103934665603ull;
  for (const char c : text) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ull;
  }
  return h;
}

// Exact decimal text derived from (coin, currency, series, ms): the same request always gets
// the same bytes, and a test can compare PostgreSQL's numeric text with it. Market caps are
// null now and then, as CoinGecko sends for some points.
std::string synthetic_value(std::string_view coin, std::string_view vs, char series, long long ms) {
  const std::uint64_t h =
      fnv1a(std::string(coin) + "|" + std::string(vs) + "|" + series + "|" + std::to_string(ms));
  if (series == 'm' && h % 23 == 0) return "null";
  const std::uint64_t whole = series == 'p'   ? 100 + h % 90'000
                              : series == 'm' ? 1'000'000'000 + h % 900'000'000'000ull
                                              : 10'000'000 + h % 90'000'000'000ull;
  char buf[64];
  std::snprintf(buf, sizeof buf, "%llu.%012llu", static_cast<unsigned long long>(whole),
                static_cast<unsigned long long>((h >> 20) % 1'000'000'000'000ull));
  return buf;
}

long history_now(const State& st) {
  if (st.now > 0) return st.now;
  return static_cast<long>(std::chrono::duration_cast<std::chrono::seconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count());
}

// CoinGecko's automatic granularity: 1 day from now -> 5-minutely; other spans up to 90 days
// -> hourly; more -> daily points at 00:00 UTC. A request reaching "now" also gets the live
// point stamped at now (off the grid), and the 5-minutely series the near-duplicate stamp the
// real 1-day capture ends with.
// Scripted steps apply here too: `status` steps are served, the others mean normal service.
void handle_history(State& st, const httplib::Request& req, httplib::Response& res) {
  const Step step = next_step(st, req);
  if (step.kind == Kind::status) return serve_status(step, res);
  const bool pro = req.has_header("x-cg-pro-api-key"); // public and demo share the 365-day limit
  if (!st.require_key.empty() && req.get_header_value("x-cg-demo-api-key") != st.require_key &&
      req.get_header_value("x-cg-pro-api-key") != st.require_key) {
    res.status = 401;
    res.set_content(std::string(kBody401), kJson);
    return;
  }
  const std::string coin = req.matches[1];
  const std::string vs = req.get_param_value("vs_currency");
  const auto from = to_long(req.get_param_value("from"));
  const auto to = to_long(req.get_param_value("to"));
  if (vs.empty()) {
    res.status = 422;
    res.set_content(std::string(kBody422), kJson);
    return;
  }
  if (!from || !to || *to < *from) {
    res.status = 422;
    res.set_content(R"({"error":"invalid from or to"})", kJson);
    return;
  }
  if (std::find(st.ids.begin(), st.ids.end(), coin) == st.ids.end()) {
    res.status = 404;
    res.set_content(std::string(kBody404), kJson);
    return;
  }
  const long now = history_now(st);
  if (!pro && *from < now - 365L * 86'400) {
    res.status = 401;
    res.set_content(std::string(kBody10012), kJson);
    return;
  }
  const long span = *to - *from;
  const long end = std::min(*to, now);
  long step_s = 86'400;
  if (span <= 86'400) step_s = *to >= now - 60 ? 300 : 3'600;
  else if (span <= 90L * 86'400) step_s = 3'600;
  std::vector<long long> stamps;
  for (long t = (*from + step_s - 1) / step_s * step_s; t <= end; t += step_s)
    stamps.push_back(t * 1000LL);
  if (*to >= now && now % step_s != 0 && *from <= now) {
    if (step_s == 300) stamps.push_back(now * 1000LL - 45);
    stamps.push_back(now * 1000LL);
  }
  std::string body = "{";
  for (const auto& [key, series] :
       {std::pair{"prices", 'p'}, std::pair{"market_caps", 'm'}, std::pair{"total_volumes", 'v'}}) {
    body += std::string(body.size() > 1 ? "," : "") + "\"" + key + "\":[";
    for (std::size_t i = 0; i < stamps.size(); ++i) {
      // The near-duplicate carries the value of the stamp it duplicates, as in the capture.
      const long long value_ms =
          step_s == 300 && i + 2 == stamps.size() ? stamps.back() : stamps[i];
      body += (i ? ",[" : "[") + std::to_string(stamps[i]) + "," +
              synthetic_value(coin, vs, series, value_ms) + "]";
    }
    body += "]";
  }
  body += "}";
  res.status = 200;
  res.set_content(body, kJsonUncompressed);
}

// ---- /coins/{id}/ohlc, /coins/{id}/ohlc/range, /coins/list ----

// The checks every history request passes first (script, key, vs_currency, known coin).
// False: `res` holds the answer.
bool history_prelude(State& st, const httplib::Request& req, httplib::Response& res) {
  const Step step = next_step(st, req);
  if (step.kind == Kind::status) {
    serve_status(step, res);
    return false;
  }
  if (!st.require_key.empty() && req.get_header_value("x-cg-demo-api-key") != st.require_key &&
      req.get_header_value("x-cg-pro-api-key") != st.require_key) {
    res.status = 401;
    res.set_content(std::string(kBody401), kJson);
    return false;
  }
  if (req.get_param_value("vs_currency").empty()) {
    res.status = 422;
    res.set_content(std::string(kBody422), kJson);
    return false;
  }
  const std::string coin = req.matches[1];
  if (std::find(st.ids.begin(), st.ids.end(), coin) == st.ids.end()) {
    res.status = 404;
    res.set_content(std::string(kBody404), kJson);
    return false;
  }
  return true;
}

// One candle's [ms, open, high, low, close]: exact decimal text derived from (coin, currency,
// close time), with 2 to 8 decimals, high >= open, close >= low; the open is null now and then.
std::string synthetic_candle(std::string_view coin, std::string_view vs, long long ms) {
  const std::uint64_t h =
      fnv1a(std::string(coin) + "|" + std::string(vs) + "|ohlc|" + std::to_string(ms));
  const std::uint64_t unit = 100'000'000ull; // values in 1e-8
  const std::uint64_t open = (100 + h % 90'000) * unit + (h >> 17) % unit;
  const std::uint64_t move = (h >> 23) % (open / 40 + 1);
  const std::uint64_t close = (h >> 61) & 1 ? open + move : open - move;
  const std::uint64_t high = std::max(open, close) + (h >> 29) % (open / 100 + 1);
  const std::uint64_t low = std::min(open, close) - (h >> 37) % (open / 100 + 1);
  const int decimals = 2 + static_cast<int>((h >> 45) % 7);
  const auto text = [&](std::uint64_t v) {
    std::uint64_t div = 1;
    for (int i = decimals; i < 8; ++i) div *= 10;
    char buf[64];
    std::snprintf(buf, sizeof buf, "%llu.%0*llu", static_cast<unsigned long long>(v / unit),
                  decimals, static_cast<unsigned long long>(v % unit / div));
    return std::string(buf);
  };
  return "[" + std::to_string(ms) + "," + (h % 37 == 0 ? std::string("null") : text(open)) + "," +
         text(high) + "," + text(low) + "," + text(close) + "]";
}

std::string candles_body(std::string_view coin, std::string_view vs,
                         const std::vector<long long>& stamps) {
  std::string body = "[";
  for (std::size_t i = 0; i < stamps.size(); ++i)
    body += (i ? "," : "") + synthetic_candle(coin, vs, stamps[i]);
  return body + "]";
}

long ceil_to(long t, long step) { return (t + step - 1) / step * step; }

// /ohlc?vs_currency=&days=: `days` from CoinGecko's enum; candle size by days (1-2: 30 min,
// 3-30: 4 h, 31+: 4 days); days*86400/size candles stamped at their close times, the last one
// the still-open candle, stamped at the close time after --now (in the future).
void handle_ohlc(State& st, const httplib::Request& req, httplib::Response& res) {
  if (!history_prelude(st, req, res)) return;
  const bool pro = req.has_header("x-cg-pro-api-key");
  const auto days = to_long(req.get_param_value("days"));
  static constexpr long kEnum[] = {1, 7, 14, 30, 90, 180, 365};
  if (days && !pro && *days > 365) {
    res.status = 401;
    res.set_content(std::string(kBody10012), kJson);
    return;
  }
  if (!days || std::find(std::begin(kEnum), std::end(kEnum), *days) == std::end(kEnum)) {
    res.status = 422;
    res.set_content(R"({"error":"invalid days: one of 1, 7, 14, 30, 90, 180, 365"})", kJson);
    return;
  }
  const long step = *days <= 2 ? 1'800 : *days <= 30 ? 14'400 : 345'600;
  const long last = ceil_to(history_now(st) + 1, step); // strictly after now: the open candle
  std::vector<long long> stamps;
  for (long k = *days * 86'400 / step - 1; k >= 0; --k)
    stamps.push_back((last - k * step) * 1000LL);
  res.status = 200;
  res.set_content(
      candles_body(std::string(req.matches[1]), req.get_param_value("vs_currency"), stamps),
      kJsonUncompressed);
}

// /ohlc/range?vs_currency=&from=&to=&interval=daily|hourly (pro keys only): candles closing in
// (from, to], to rounded up to a close time, never past the open candle; at most 180 days daily
// or 31 days hourly per request, as CoinGecko documents.
void handle_ohlc_range(State& st, const httplib::Request& req, httplib::Response& res) {
  if (!history_prelude(st, req, res)) return;
  if (!req.has_header("x-cg-pro-api-key")) {
    res.status = 401;
    res.set_content(
        R"({"status":{"error_code":10005,"error_message":"You may not have access to this endpoint. Please contact sales or upgrade your plan."}})",
        kJson);
    return;
  }
  const auto from = to_long(req.get_param_value("from"));
  const auto to = to_long(req.get_param_value("to"));
  const std::string interval = req.get_param_value("interval");
  if (!from || !to || *to < *from || (interval != "daily" && interval != "hourly")) {
    res.status = 422;
    res.set_content(R"({"error":"invalid from, to or interval"})", kJson);
    return;
  }
  const long step = interval == "daily" ? 86'400 : 3'600;
  const long limit = interval == "daily" ? 180L * 86'400 : 31L * 86'400;
  if (*to - *from > limit) {
    res.status = 400;
    res.set_content(
        R"json({"error":"range too long: at most 180 days (daily) or 31 days (hourly)"})json",
        kJson);
    return;
  }
  const long last = std::min(ceil_to(*to, step), ceil_to(history_now(st) + 1, step));
  std::vector<long long> stamps;
  for (long t = (*from / step + 1) * step; t <= last; t += step) stamps.push_back(t * 1000LL);
  res.status = 200;
  res.set_content(
      candles_body(std::string(req.matches[1]), req.get_param_value("vs_currency"), stamps),
      kJsonUncompressed);
}

// /coins/list: the --coins-list file, byte for byte (whatever include_platform says).
void handle_coins_list(State& st, const httplib::Request& req, httplib::Response& res) {
  const Step step = next_step(st, req);
  if (step.kind == Kind::status) return serve_status(step, res);
  if (st.coins_list.empty()) {
    res.status = 404;
    res.set_content(R"({"error":"no --coins-list file"})", kJson);
    return;
  }
  res.status = 200;
  res.set_content(st.coins_list, kJsonUncompressed);
}

void usage() {
  std::cout
      << "usage: fake-coingecko [--port N] --fixture FILE [--synthetic N] [--live-timestamps]\n"
         "                      [--require-key KEY] [--script FILE] [--max-seconds N] [--now UNIX_SECONDS]\n"
         "                      [--coins-list FILE]\n"
         "Serves GET /api/v3/coins/markets (and /coins/markets) on 127.0.0.1 from a JSON array.\n"
         "--synthetic N: N coins cloned from the fixture's, ids made unique ('bitcoin-150').\n"
         "--live-timestamps: every reply stamps its coins' last_updated with the request time,\n"
         "  as CoinGecko's refresh does, so each poll is new rows rather than unchanged ones.\n"
         "Prints 'LISTENING <port>' once ready. Script steps, one per request then normal service:\n"
         "  ok | status CODE [retry-after=V] [body=json|throttled|html|empty|FILE|-] | delay MS\n"
         "  truncate BYTES | garbage | object | wrongtypes | drip BYTES_PER_SEC | stall BYTES\n"
         "  huge BYTES | close\n"
         "Also GET /api/v3/coins/{id}/market_chart/range?vs_currency=&from=&to= for the fixture's ids:\n"
         "  deterministic synthetic points with CoinGecko's granularity (<=1 day ending now: 5m;\n"
         "  up to 90 days: hourly; more: daily at 00:00 UTC) and its trailing live point; 10012 (401)\n"
         "  beyond 365 days without a pro key; 404 for other ids. --now fixes its clock.\n"
         "  /coins/{id}/ohlc?vs_currency=&days= (days 1,7,14,30,90,180,365; candles of 30 min, 4 h or\n"
         "  4 days by days, stamped at close, the last one open and in the future; 10012 beyond 365\n"
         "  days without a pro key) and /coins/{id}/ohlc/range?from=&to=&interval=daily|hourly (pro\n"
         "  key only; <= 180 days daily, <= 31 days hourly): deterministic synthetic candles.\n"
         "  /coins/list: the --coins-list file as-is.\n"
         "Control: POST /__control/script (replace the queue), GET /__control/requests,\n"
         "         POST /__control/reset (clear queue and log).\n";
}

std::optional<Options> parse_args(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const auto next = [&]() -> std::optional<std::string> {
      if (i + 1 >= argc) return std::nullopt;
      return std::string(argv[++i]);
    };
    std::optional<std::string> v;
    if (a == "--help" || a == "-h") {
      usage();
      std::exit(0);
    }
    if (a == "--live-timestamps") {
      o.live_timestamps = true;
      continue;
    }
    if (a != "--port" && a != "--fixture" && a != "--synthetic" && a != "--require-key" &&
        a != "--script" && a != "--max-seconds" && a != "--now" && a != "--coins-list")
      return std::nullopt;
    if (!(v = next())) return std::nullopt;
    if (a == "--fixture") o.fixture = *v;
    else if (a == "--require-key") o.require_key = *v;
    else if (a == "--script") o.script = *v;
    else if (a == "--coins-list") o.coins_list = *v;
    else {
      const auto n = to_long(*v);
      if (!n) return std::nullopt;
      if (a == "--port") {
        if (*n > 65535) return std::nullopt;
        o.port = static_cast<int>(*n);
      } else if (a == "--synthetic") {
        o.synthetic = *n;
      } else if (a == "--now") {
        o.now = *n;
      } else {
        o.max_seconds = *n;
      }
    }
  }
  if (o.fixture.empty()) return std::nullopt;
  return o;
}

bool build_universe(State& st, const Options& o) {
  const auto text = read_file(o.fixture);
  if (!text) return false;
  auto coins = split_array(*text);
  if (!coins) return false;
  st.whole = *text;
  st.coins = std::move(*coins);
  st.whole_is_universe = true;
  if (o.synthetic <= 0 || st.coins.empty()) return true;
  std::vector<std::string> universe;
  for (long k = 0; k < o.synthetic; ++k) {
    const auto base = static_cast<std::size_t>(k) % st.coins.size();
    std::string coin = st.coins[base];
    if (k >= static_cast<long>(st.coins.size())) {
      if (const auto r = member_value(coin, "id"); r && coin[r->first] == '"') {
        const std::string id = coin.substr(r->first + 1, r->second - r->first - 2);
        coin.replace(r->first, r->second - r->first, "\"" + id + "-" + std::to_string(k) + "\"");
      }
    }
    universe.push_back(std::move(coin));
  }
  st.whole_is_universe = o.synthetic == static_cast<long>(st.coins.size());
  st.coins = std::move(universe);
  return true;
}

// Offsets of each coin's last_updated date text, when it has the fixtures' 24-character form.
void find_last_updated(State& st) {
  st.last_updated_at.clear();
  for (const auto& coin : st.coins) {
    const auto r = member_value(coin, "last_updated");
    const bool usable = r && r->second - r->first == 26 && coin[r->first] == '"';
    st.last_updated_at.push_back(usable ? r->first + 1 : std::string::npos);
  }
}

} // namespace

int main(int argc, char** argv) {
  const auto options = parse_args(argc, argv);
  if (!options) {
    usage();
    return 2;
  }
  State st;
  st.require_key = options->require_key;
  if (!build_universe(st, *options)) {
    std::cerr << "fake-coingecko: cannot read a JSON array from " << options->fixture << "\n";
    return 2;
  }
  if (options->live_timestamps) find_last_updated(st);
  st.now = options->now;
  if (!options->coins_list.empty()) {
    const auto list = read_file(options->coins_list);
    if (!list) {
      std::cerr << "fake-coingecko: cannot read " << options->coins_list << "\n";
      return 2;
    }
    st.coins_list = *list;
  }
  for (const auto& coin : st.coins) {
    if (const auto r = member_value(coin, "id"); r && coin[r->first] == '"')
      st.ids.push_back(coin.substr(r->first + 1, r->second - r->first - 2));
  }
  if (!options->script.empty()) {
    const auto text = read_file(options->script);
    auto [steps, error] =
        text ? parse_script(*text) : std::pair{std::deque<Step>{}, "unreadable " + options->script};
    if (!error.empty()) {
      std::cerr << "fake-coingecko: script: " << error << "\n";
      return 2;
    }
    st.script = std::move(steps);
  }

  // Signals are taken synchronously by one thread; every other thread (the pool included)
  // inherits the blocked mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  httplib::Server server;
  // Without TCP_NODELAY every reply on a reused keep-alive connection waits ~40 ms (Nagle vs the
  // client's delayed ACK): libcurl reuses the connection for page 2 onwards, so each page would
  // carry a stall CoinGecko's edge does not have (measured by bench/: 43 ms vs 0.2 ms a reply).
  server.set_tcp_nodelay(true);
  // httplib picks Brotli whenever the client accepts it, at quality 11: about 2 s per 80 KB page
  // on a busy CI host, which turns fetches into timeouts. CoinGecko answers with gzip, so the
  // fake offers only that: "br" is removed from Accept-Encoding before httplib reads it. The
  // request object is the server's own (mutable) one; the handler API merely hands it out const.
  server.set_pre_routing_handler([](const httplib::Request& req, httplib::Response&) {
    auto& headers = const_cast<httplib::Request&>(req).headers;
    const auto it = headers.find("Accept-Encoding");
    if (it != headers.end() && it->second.find("gzip") != std::string::npos) it->second = "gzip";
    else if (it != headers.end()) headers.erase(it);
    return httplib::Server::HandlerResponse::Unhandled;
  });
  const auto markets = [&st](const httplib::Request& req, httplib::Response& res) {
    handle_markets(st, req, res);
  };
  server.Get("/api/v3/coins/markets", markets);
  server.Get("/coins/markets", markets);
  const auto history = [&st](const httplib::Request& req, httplib::Response& res) {
    handle_history(st, req, res);
  };
  server.Get(R"(/api/v3/coins/([a-z0-9._-]+)/market_chart/range)", history);
  server.Get(R"(/coins/([a-z0-9._-]+)/market_chart/range)", history);
  const auto ohlc = [&st](const httplib::Request& req, httplib::Response& res) {
    handle_ohlc(st, req, res);
  };
  server.Get(R"(/api/v3/coins/([a-z0-9._-]+)/ohlc)", ohlc);
  server.Get(R"(/coins/([a-z0-9._-]+)/ohlc)", ohlc);
  const auto ohlc_range = [&st](const httplib::Request& req, httplib::Response& res) {
    handle_ohlc_range(st, req, res);
  };
  server.Get(R"(/api/v3/coins/([a-z0-9._-]+)/ohlc/range)", ohlc_range);
  server.Get(R"(/coins/([a-z0-9._-]+)/ohlc/range)", ohlc_range);
  const auto coins_list = [&st](const httplib::Request& req, httplib::Response& res) {
    handle_coins_list(st, req, res);
  };
  server.Get("/api/v3/coins/list", coins_list);
  server.Get("/coins/list", coins_list);
  server.Post("/__control/script", [&st](const httplib::Request& req, httplib::Response& res) {
    auto [steps, error] = parse_script(req.body);
    if (!error.empty()) {
      res.status = 400;
      res.set_content("{\"error\":\"" + json_escape(error) + "\"}", kJson);
      return;
    }
    const std::lock_guard lock(st.mutex);
    st.script = std::move(steps);
    res.set_content("{\"queued\":" + std::to_string(st.script.size()) + "}", kJson);
  });
  server.Post("/__control/reset", [&st](const httplib::Request&, httplib::Response& res) {
    const std::lock_guard lock(st.mutex);
    st.script.clear();
    st.log.clear();
    res.set_content("{}", kJson);
  });
  server.Get("/__control/requests", [&st](const httplib::Request&, httplib::Response& res) {
    std::string out = "[";
    const std::lock_guard lock(st.mutex);
    for (const auto& e : st.log) out += (out.size() > 1 ? "," : "") + e;
    res.set_content(out + "]", kJson);
  });

  int port = options->port;
  if (port == 0) {
    port = server.bind_to_any_port("127.0.0.1");
  } else if (!server.bind_to_port("127.0.0.1", port)) {
    port = -1;
  }
  if (port <= 0) {
    std::cerr << "fake-coingecko: cannot bind 127.0.0.1:" << options->port << ": "
              << std::strerror(errno) << "\n";
    return 1;
  }
  std::cout << "LISTENING " << port << "\n" << std::flush;

  const auto give_up_at = Clock::now() + std::chrono::seconds(options->max_seconds);
  std::thread watcher([&] {
    const timespec tick{0, 100'000'000};
    while (!g_stopping && Clock::now() < give_up_at) {
      if (sigtimedwait(&signals, nullptr, &tick) > 0) break;
    }
    g_stopping = true;
    server.stop();
  });
  const bool ok = server.listen_after_bind();
  g_stopping = true;
  watcher.join();
  return ok ? 0 : 1;
}
