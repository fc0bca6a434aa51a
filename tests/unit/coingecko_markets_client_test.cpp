#include "coingecko/markets_client.hpp"

#include <catch2/catch.hpp>

#include <deque>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using etl::Secret;
using etl::StopSignal;
using etl::coingecko::AttemptEvent;
using etl::coingecko::ClientObserver;
using etl::coingecko::ClientOptions;
using etl::coingecko::FetchFailure;
using etl::coingecko::MarketsClient;
using etl::coingecko::Plan;
using etl::coingecko::WaitEvent;
using etl::http::HttpRequest;
using etl::http::HttpResponse;
using etl::http::HttpTransport;
using etl::http::TransportError;
using etl::http::TransportErrorKind;
using Clock = std::chrono::steady_clock;

namespace {

using Result = tl::expected<HttpResponse, TransportError>;

Result reply(long status, std::string body = "[]",
             std::optional<std::string> retry_after = std::nullopt) {
  return HttpResponse{status, std::move(body), std::move(retry_after), "application/json"};
}
Result broken(TransportErrorKind kind) {
  return tl::make_unexpected(TransportError{kind, "scripted"});
}

// Replays scripted results in order; an optional hook runs inside get() (a slow transfer).
struct FakeTransport final : HttpTransport {
  std::deque<Result> script;
  std::vector<HttpRequest> requests;
  std::function<Result(const std::function<bool()>&)> hook;

  Result get(const HttpRequest& request, const std::function<bool()>& cancelled) override {
    requests.push_back(request);
    if (hook) return hook(cancelled);
    REQUIRE_FALSE(script.empty());
    Result r = std::move(script.front());
    script.pop_front();
    return r;
  }
};

struct Events {
  std::vector<std::pair<long, std::string>> attempts; // status, reason
  std::vector<std::pair<std::string, double>> waits;  // cause, seconds

  ClientObserver observer() {
    return ClientObserver{
        [this](const AttemptEvent& e) {
          attempts.emplace_back(e.status, std::string(e.failure_reason));
        },
        [this](const WaitEvent& e) { waits.emplace_back(std::string(e.cause), e.waited.count()); }};
  }
  std::size_t count(std::string_view cause) const {
    std::size_t n = 0;
    for (const auto& w : waits) n += w.first == cause ? 1 : 0;
    return n;
  }
  double waited(std::string_view cause) const {
    double total = 0;
    for (const auto& [c, s] : waits)
      if (c == cause) total += s;
    return total;
  }
};

ClientOptions fast_options() {
  ClientOptions o;
  o.markets_url = "http://127.0.0.1:1/api/v3/coins/markets";
  o.backoff_base = 10ms;
  o.backoff_cap = 50ms;
  o.rate_limit_per_minute = 60'000; // pacing is tested on its own below
  return o;
}

std::optional<std::string> header(const HttpRequest& r, std::string_view name) {
  for (const auto& [k, v] : r.headers)
    if (k == name) return v;
  return std::nullopt;
}

} // namespace

TEST_CASE("fetch_page: 500 then 200 succeeds on the second attempt") {
  FakeTransport transport;
  transport.script = {reply(500, R"({"status":500,"error":"Internal Server Error"})"),
                      reply(200, "[1]")};
  StopSignal stop;
  Events events;
  MarketsClient client(fast_options(), transport, stop, events.observer(), 42);
  const auto page = client.fetch_page("usd", 1, Clock::now() + 10s);
  REQUIRE(page.has_value());
  CHECK(page->body == "[1]");
  CHECK(page->status == 200);
  CHECK(page->attempts == 2);
  REQUIRE(events.attempts.size() == 2);
  CHECK(events.attempts[0] == std::pair<long, std::string>{500, "server_error"});
  CHECK(events.attempts[1] == std::pair<long, std::string>{200, ""});
  // A zero-jitter back-off may be followed by a sub-millisecond rate-limit wait: count by cause.
  CHECK(events.count("backoff") == 1);
  CHECK(events.waited("backoff") < 0.5);
}

TEST_CASE("fetch_page: 429 with Retry-After waits that long before retrying") {
  FakeTransport transport;
  transport.script = {reply(429, "Throttled", "1"), reply(200)};
  StopSignal stop;
  Events events;
  MarketsClient client(fast_options(), transport, stop, events.observer());
  const auto page = client.fetch_page("usd", 1, Clock::now() + 10s);
  REQUIRE(page.has_value());
  CHECK(page->attempts == 2);
  CHECK(events.attempts[0] == std::pair<long, std::string>{429, "rate_limited"});
  CHECK(events.waited("retry_after") >= 0.9);
  CHECK(events.waited("retry_after") < 3.0);
  CHECK(events.waited("backoff") == 0.0);
}

TEST_CASE("fetch_page: an unparseable Retry-After falls back to back-off") {
  FakeTransport transport;
  transport.script = {reply(503, "", "soon"), reply(200)};
  StopSignal stop;
  Events events;
  MarketsClient client(fast_options(), transport, stop, events.observer());
  REQUIRE(client.fetch_page("usd", 1, Clock::now() + 10s).has_value());
  CHECK(events.count("backoff") == 1);
  CHECK(events.count("retry_after") == 0);
}

TEST_CASE("fetch_page: 401 and 403 are unauthorized and not retried") {
  const long status = GENERATE(401L, 403L);
  FakeTransport transport;
  transport.script = {reply(status, R"({"status":{"error_code":10002}})"), reply(200)};
  StopSignal stop;
  Events events;
  MarketsClient client(fast_options(), transport, stop, events.observer());
  const auto page = client.fetch_page("usd", 1, Clock::now() + 10s);
  REQUIRE_FALSE(page.has_value());
  CHECK(page.error().failure == FetchFailure::unauthorized);
  CHECK(page.error().status == status);
  CHECK(page.error().attempts == 1);
  CHECK(transport.requests.size() == 1);
  CHECK(page.error().body_excerpt == R"({"status":{"error_code":10002}})");
  CHECK(events.attempts.at(0).second == "unauthorized");
}

TEST_CASE("fetch_page: 404 and 422 are client errors, not retried") {
  const long status = GENERATE(404L, 422L);
  FakeTransport transport;
  transport.script = {reply(status, R"({"error":"coin not found"})")};
  StopSignal stop;
  MarketsClient client(fast_options(), transport, stop);
  const auto page = client.fetch_page("usd", 1, Clock::now() + 10s);
  REQUIRE_FALSE(page.has_value());
  CHECK(page.error().failure == FetchFailure::client_error);
  CHECK(page.error().attempts == 1);
  CHECK(page.error().message.find(std::to_string(status)) != std::string::npos);
}

TEST_CASE("fetch_page: persistent 503 gives up after max_attempts as server_error") {
  FakeTransport transport;
  for (int i = 0; i < 4; ++i) transport.script.push_back(reply(503));
  StopSignal stop;
  Events events;
  MarketsClient client(fast_options(), transport, stop, events.observer());
  const auto page = client.fetch_page("usd", 1, Clock::now() + 10s);
  REQUIRE_FALSE(page.has_value());
  CHECK(page.error().failure == FetchFailure::server_error);
  CHECK(page.error().attempts == 4);
  CHECK(page.error().status == 503);
  CHECK(events.attempts.size() == 4);
  CHECK(events.count("backoff") == 3);
}

TEST_CASE("fetch_page: network errors are retried; a final one is a transport failure") {
  FakeTransport transport;
  transport.script = {broken(TransportErrorKind::connect), broken(TransportErrorKind::timeout),
                      reply(200, "[]")};
  StopSignal stop;
  Events events;
  MarketsClient client(fast_options(), transport, stop, events.observer());
  const auto page = client.fetch_page("usd", 1, Clock::now() + 10s);
  REQUIRE(page.has_value());
  CHECK(page->attempts == 3);
  CHECK(events.attempts[0] == std::pair<long, std::string>{0, "transport"});

  transport.script = {broken(TransportErrorKind::other), broken(TransportErrorKind::other),
                      broken(TransportErrorKind::other), broken(TransportErrorKind::other)};
  const auto failed = client.fetch_page("usd", 1, Clock::now() + 10s);
  REQUIRE_FALSE(failed.has_value());
  CHECK(failed.error().failure == FetchFailure::transport);
  CHECK(failed.error().attempts == 4);
}

TEST_CASE("fetch_page: too_large and TLS failures are not retried") {
  FakeTransport transport;
  transport.script = {broken(TransportErrorKind::too_large)};
  StopSignal stop;
  MarketsClient client(fast_options(), transport, stop);
  auto page = client.fetch_page("usd", 1, Clock::now() + 10s);
  REQUIRE_FALSE(page.has_value());
  CHECK(page.error().failure == FetchFailure::too_large);
  CHECK(page.error().attempts == 1);

  transport.script = {broken(TransportErrorKind::tls)};
  page = client.fetch_page("usd", 1, Clock::now() + 10s);
  REQUIRE_FALSE(page.has_value());
  CHECK(page.error().failure == FetchFailure::transport);
  CHECK(page.error().attempts == 1);
}

TEST_CASE("fetch_page: a Retry-After past the deadline gives up at once with the real failure") {
  FakeTransport transport;
  transport.script = {reply(429, "{}", "120"), reply(200)};
  StopSignal stop;
  Events events;
  MarketsClient client(fast_options(), transport, stop, events.observer());
  const auto start = Clock::now();
  const auto page = client.fetch_page("usd", 1, start + 2s);
  CHECK(Clock::now() - start < 1s);
  REQUIRE_FALSE(page.has_value());
  CHECK(page.error().failure == FetchFailure::rate_limited);
  CHECK(page.error().status == 429);
  CHECK(page.error().attempts == 1);
  CHECK(page.error().message.find("retry would pass the next tick") != std::string::npos);
  CHECK(events.waits.empty());
}

TEST_CASE("fetch_page: a slow transfer is cut at the deadline") {
  FakeTransport transport;
  transport.hook = [](const std::function<bool()>& cancelled) -> Result {
    const auto give_up = Clock::now() + 10s;
    while (!cancelled() && Clock::now() < give_up) std::this_thread::sleep_for(5ms);
    return broken(TransportErrorKind::cancelled);
  };
  StopSignal stop;
  MarketsClient client(fast_options(), transport, stop);
  const auto start = Clock::now();
  const auto page = client.fetch_page("usd", 1, start + 200ms);
  const auto took = Clock::now() - start;
  CHECK(took >= 190ms);
  CHECK(took < 2s);
  REQUIRE_FALSE(page.has_value());
  CHECK(page.error().failure == FetchFailure::cancelled);
}

TEST_CASE("fetch_page: stop during a Retry-After wait returns cancelled promptly") {
  FakeTransport transport;
  transport.script = {reply(503, "", "30"), reply(200)};
  StopSignal stop;
  Events events;
  MarketsClient client(fast_options(), transport, stop, events.observer());
  std::thread stopper([&stop] {
    std::this_thread::sleep_for(100ms);
    stop.request_stop();
  });
  const auto start = Clock::now();
  const auto page = client.fetch_page("usd", 1, start + 60s);
  const auto took = Clock::now() - start;
  stopper.join();
  CHECK(took < 5s);
  REQUIRE_FALSE(page.has_value());
  CHECK(page.error().failure == FetchFailure::cancelled);
  CHECK(transport.requests.size() == 1);
  REQUIRE(events.waits.size() == 1);
  CHECK(events.waits[0].first == "retry_after");
}

TEST_CASE("fetch_page: nothing is sent once stop is requested or the deadline passed") {
  FakeTransport transport;
  StopSignal stop;
  MarketsClient client(fast_options(), transport, stop);
  auto page = client.fetch_page("usd", 1, Clock::now() - 1ms);
  REQUIRE_FALSE(page.has_value());
  CHECK(page.error().failure == FetchFailure::cancelled);
  stop.request_stop();
  page = client.fetch_page("usd", 1, Clock::now() + 10s);
  REQUIRE_FALSE(page.has_value());
  CHECK(page.error().failure == FetchFailure::cancelled);
  CHECK(page.error().attempts == 0);
  CHECK(transport.requests.empty());
}

TEST_CASE("fetch_page: the rate limiter spaces calls and reports its waits") {
  FakeTransport transport;
  transport.script = {reply(200), reply(200)};
  StopSignal stop;
  Events events;
  auto options = fast_options();
  options.rate_limit_per_minute = 300; // one call per 200 ms
  MarketsClient client(options, transport, stop, events.observer());
  REQUIRE(client.fetch_page("usd", 1, Clock::now() + 10s).has_value());
  CHECK(events.waits.empty());
  REQUIRE(client.fetch_page("usd", 2, Clock::now() + 10s).has_value());
  REQUIRE(events.waits.size() == 1);
  CHECK(events.waits[0].first == "rate_limit");
  CHECK(events.waits[0].second >= 0.15);
  CHECK(events.waits[0].second < 1.0);
}

TEST_CASE("fetch_page: a rate-limit wait past the deadline is not started") {
  FakeTransport transport;
  transport.script = {reply(200)};
  StopSignal stop;
  auto options = fast_options();
  options.rate_limit_per_minute = 1;
  MarketsClient client(options, transport, stop);
  REQUIRE(client.fetch_page("usd", 1, Clock::now() + 10s).has_value());
  const auto start = Clock::now();
  const auto page = client.fetch_page("usd", 2, start + 5s);
  CHECK(Clock::now() - start < 1s);
  REQUIRE_FALSE(page.has_value());
  CHECK(page.error().failure == FetchFailure::cancelled);
}

TEST_CASE("fetch_page: the API key goes in the plan's header, never the URL") {
  struct Case {
    Plan plan;
    const char* header;
  };
  const auto c =
      GENERATE(Case{Plan::demo, "x-cg-demo-api-key"}, Case{Plan::pro, "x-cg-pro-api-key"});
  FakeTransport transport;
  transport.script = {reply(200)};
  StopSignal stop;
  auto options = fast_options();
  options.plan = c.plan;
  options.api_key = Secret("CG-topsecret");
  MarketsClient client(options, transport, stop);
  REQUIRE(client.fetch_page("usd", 1, Clock::now() + 10s).has_value());
  const auto& request = transport.requests.at(0);
  CHECK(header(request, c.header) == "CG-topsecret");
  CHECK(header(request, c.plan == Plan::demo ? "x-cg-pro-api-key" : "x-cg-demo-api-key") ==
        std::nullopt);
  CHECK(header(request, "Accept") == "application/json");
  CHECK(request.url.find("CG-topsecret") == std::string::npos);
}

TEST_CASE("fetch_page: the public plan sends no key header") {
  FakeTransport transport;
  transport.script = {reply(200)};
  StopSignal stop;
  auto options = fast_options();
  options.api_key = Secret("CG-unused");
  MarketsClient client(options, transport, stop);
  REQUIRE(client.fetch_page("usd", 1, Clock::now() + 10s).has_value());
  const auto& request = transport.requests.at(0);
  CHECK(request.headers.size() == 1);
  CHECK(header(request, "Accept") == "application/json");
}

TEST_CASE("fetch_page: error excerpts are short, printable and free of the key") {
  std::string body = "line1\r\nline2\t\x01 CG-topsecret ";
  body += std::string(500, 'x');
  FakeTransport transport;
  transport.script = {reply(400, body)};
  StopSignal stop;
  auto options = fast_options();
  options.plan = Plan::demo;
  options.api_key = Secret("CG-topsecret");
  MarketsClient client(options, transport, stop);
  const auto page = client.fetch_page("usd", 1, Clock::now() + 10s);
  REQUIRE_FALSE(page.has_value());
  const auto& e = page.error();
  CHECK(e.body_excerpt.rfind("line1  line2  ", 0) == 0);
  CHECK(e.body_excerpt.size() <= 220);
  CHECK(e.body_excerpt.find("CG-topsecret") == std::string::npos);
  CHECK(e.message.find("CG-topsecret") == std::string::npos);
  for (const char ch : e.body_excerpt) CHECK(static_cast<unsigned char>(ch) >= 0x20);
}

TEST_CASE("fetch_page: excerpts never split a UTF-8 character") {
  std::string body(199, 'a');
  body += "\xC3\xA9\xC3\xA9"; // "éé" straddles the 200-byte limit
  FakeTransport transport;
  transport.script = {reply(404, body)};
  StopSignal stop;
  MarketsClient client(fast_options(), transport, stop);
  const auto page = client.fetch_page("usd", 1, Clock::now() + 10s);
  REQUIRE_FALSE(page.has_value());
  CHECK(page.error().body_excerpt == std::string(199, 'a'));
}

TEST_CASE("to_string labels are the fixed metric values") {
  using etl::coingecko::to_string;
  CHECK(to_string(FetchFailure::rate_limited) == "rate_limited");
  CHECK(to_string(FetchFailure::server_error) == "server_error");
  CHECK(to_string(FetchFailure::unauthorized) == "unauthorized");
  CHECK(to_string(FetchFailure::client_error) == "client_error");
  CHECK(to_string(FetchFailure::transport) == "transport");
  CHECK(to_string(FetchFailure::too_large) == "too_large");
  CHECK(to_string(FetchFailure::cancelled) == "cancelled");
  CHECK(to_string(Plan::public_api) == "public");
  CHECK(to_string(Plan::demo) == "demo");
  CHECK(to_string(Plan::pro) == "pro");
  CHECK(to_string(TransportErrorKind::too_large) == "too_large");
  CHECK(to_string(TransportErrorKind::connect) == "connect");
}
