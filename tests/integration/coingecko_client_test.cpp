// CurlTransport + MarketsClient over real HTTP on 127.0.0.1 against tools/fake-coingecko.
#include "coingecko/markets_client.hpp"
#include "http/transport.hpp"

#include <catch2/catch.hpp>
#include <httplib.h>

#include <csignal>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

#include <netinet/in.h>
#include <poll.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

using namespace std::chrono_literals;
using namespace etl::coingecko;
using namespace etl::http;
using Clock = std::chrono::steady_clock;

namespace {

const std::string kFixture =
    std::string(ETL_FIXTURES_DIR) + "/madjin__daily-crypto__markets_usd_top100_2026-04-30.json";

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE(in.good());
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string> coin_ids(const std::string& body) {
  static const std::regex id_re(R"re(\{"id":"([^"]+)")re");
  std::vector<std::string> ids;
  for (auto it = std::sregex_iterator(body.begin(), body.end(), id_re);
       it != std::sregex_iterator(); ++it)
    ids.push_back((*it)[1]);
  return ids;
}

// The fake server as a child process: started on port 0, it prints the port it got.
class FakeCoinGecko {
public:
  explicit FakeCoinGecko(std::vector<std::string> extra_args = {}) {
    std::vector<std::string> args{ETL_FAKE_COINGECKO, "--port",        "0",  "--fixture",
                                  kFixture,           "--max-seconds", "120"};
    args.insert(args.end(), extra_args.begin(), extra_args.end());
    std::vector<char*> argv;
    argv.reserve(args.size() + 1);
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);

    int out[2];
    REQUIRE(pipe(out) == 0);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&actions, out[0]);
    const int rc = posix_spawn(&m_pid, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    close(out[1]);
    REQUIRE(rc == 0);
    m_out = out[0];

    std::string line;
    const auto give_up = Clock::now() + 10s;
    while (line.find('\n') == std::string::npos && Clock::now() < give_up) {
      pollfd p{m_out, POLLIN, 0};
      if (poll(&p, 1, 100) <= 0) continue;
      char buf[64];
      const auto n = read(m_out, buf, sizeof buf);
      if (n <= 0) break;
      line.append(buf, static_cast<std::size_t>(n));
    }
    REQUIRE(line.rfind("LISTENING ", 0) == 0);
    m_port = std::stoi(line.substr(10));
    REQUIRE(m_port > 0);
  }
  ~FakeCoinGecko() {
    kill(m_pid, SIGTERM);
    int status = 0;
    waitpid(m_pid, &status, 0);
    close(m_out);
  }
  FakeCoinGecko(const FakeCoinGecko&) = delete;
  FakeCoinGecko& operator=(const FakeCoinGecko&) = delete;

  [[nodiscard]] std::string markets_url() const {
    return "http://127.0.0.1:" + std::to_string(m_port) + "/api/v3/coins/markets";
  }
  void script(const std::string& lines) const {
    httplib::Client control("127.0.0.1", m_port);
    const auto res = control.Post("/__control/script", lines, "text/plain");
    REQUIRE(res);
    REQUIRE(res->status == 200);
  }
  [[nodiscard]] std::string requests() const {
    httplib::Client control("127.0.0.1", m_port);
    const auto res = control.Get("/__control/requests");
    REQUIRE(res);
    return res->body;
  }

private:
  pid_t m_pid = -1;
  int m_out = -1;
  int m_port = 0;
};

CurlOptions quick_curl() {
  CurlOptions o;
  o.connect_timeout = 2s;
  o.total_timeout = 10s;
  o.low_speed_time = 10s;
  o.user_agent = "coingecko-etl/test";
  return o;
}

ClientOptions client_options(const FakeCoinGecko& server, int per_page = 100) {
  ClientOptions o;
  o.markets_url = server.markets_url();
  o.per_page = per_page;
  o.backoff_base = 20ms;
  o.backoff_cap = 100ms;
  o.rate_limit_per_minute = 60'000;
  return o;
}

const std::function<bool()> kNeverCancel = [] { return false; };

struct Waits {
  std::vector<std::pair<std::string, double>> list;
  ClientObserver observer() {
    return ClientObserver{{}, [this](const WaitEvent& e) {
                            list.emplace_back(std::string(e.cause), e.waited.count());
                          }};
  }
};

} // namespace

TEST_CASE("integration: page 1 of 100 arrives byte-identical to the captured response") {
  CurlGlobal curl;
  FakeCoinGecko server;
  CurlTransport transport(quick_curl());
  etl::StopSignal stop;
  MarketsClient client(client_options(server), transport, stop);
  const auto page = client.fetch_page("usd", 1, Clock::now() + 10s);
  REQUIRE(page.has_value());
  CHECK(page->status == 200);
  CHECK(page->attempts == 1);
  CHECK(page->body == read_file(kFixture));

  const auto log = server.requests();
  CHECK(log.find("vs_currency=usd&order=market_cap_desc&per_page=100&page=1") != std::string::npos);
  CHECK(log.find("\"key_present\":false") != std::string::npos);
  CHECK(log.find("coingecko-etl/test") != std::string::npos);
}

TEST_CASE("integration: the transport reports status, content type and Retry-After") {
  CurlGlobal curl;
  FakeCoinGecko server;
  CurlTransport transport(quick_curl());
  server.script("status 429 retry-after=2 body=json\n");
  auto r = transport.get({server.markets_url() + "?vs_currency=usd", {}}, kNeverCancel);
  REQUIRE(r.has_value());
  CHECK(r->status == 429);
  CHECK(r->retry_after == "2");
  CHECK(r->content_type.rfind("application/json", 0) == 0);
  CHECK(r->body == read_file(std::string(ETL_FIXTURES_DIR) +
                             "/nimblehq__jetpack-compose-crypto__error_429_2022-09-29.json"));

  // Per-request state is reset: the next response carries no Retry-After.
  r = transport.get({server.markets_url() + "?vs_currency=usd", {}}, kNeverCancel);
  REQUIRE(r.has_value());
  CHECK(r->status == 200);
  CHECK_FALSE(r->retry_after.has_value());

  r = transport.get({server.markets_url(), {}}, kNeverCancel);
  REQUIRE(r.has_value());
  CHECK(r->status == 422);
  CHECK(r->body == R"({"error":"Missing parameter vs_currency"})");
}

TEST_CASE("integration: per_page 30, page 2 holds coins 31 to 60") {
  CurlGlobal curl;
  FakeCoinGecko server;
  CurlTransport transport(quick_curl());
  etl::StopSignal stop;
  MarketsClient client(client_options(server, 30), transport, stop);
  const auto page = client.fetch_page("usd", 2, Clock::now() + 10s);
  REQUIRE(page.has_value());
  const auto all = coin_ids(read_file(kFixture));
  REQUIRE(all.size() == 100);
  const auto got = coin_ids(page->body);
  CHECK(got == std::vector<std::string>(all.begin() + 30, all.begin() + 60));
  CHECK(page->body.front() == '[');
  CHECK(page->body.back() == ']');
}

TEST_CASE("integration: a 500 is retried and the second attempt succeeds") {
  CurlGlobal curl;
  FakeCoinGecko server;
  CurlTransport transport(quick_curl());
  etl::StopSignal stop;
  MarketsClient client(client_options(server), transport, stop);
  server.script("status 500\n");
  const auto page = client.fetch_page("usd", 1, Clock::now() + 10s);
  REQUIRE(page.has_value());
  CHECK(page->attempts == 2);
  CHECK(page->body == read_file(kFixture));
}

TEST_CASE("integration: a 429 with Retry-After 1 waits about a second, then succeeds") {
  CurlGlobal curl;
  FakeCoinGecko server;
  CurlTransport transport(quick_curl());
  etl::StopSignal stop;
  Waits waits;
  MarketsClient client(client_options(server), transport, stop, waits.observer());
  server.script("status 429 retry-after=1 body=json\n");
  const auto page = client.fetch_page("usd", 1, Clock::now() + 10s);
  REQUIRE(page.has_value());
  CHECK(page->attempts == 2);
  double retry_after_wait = 0;
  for (const auto& [cause, seconds] : waits.list)
    if (cause == "retry_after") retry_after_wait += seconds;
  CHECK(retry_after_wait >= 0.9);
  CHECK(retry_after_wait < 3.0);
}

TEST_CASE("integration: error bodies are classified and excerpted") {
  CurlGlobal curl;
  FakeCoinGecko server;
  CurlTransport transport(quick_curl());
  etl::StopSignal stop;
  MarketsClient client(client_options(server), transport, stop);
  server.script("status 403 body=html\nstatus 404\n");
  auto page = client.fetch_page("usd", 1, Clock::now() + 10s);
  REQUIRE_FALSE(page.has_value());
  CHECK(page.error().failure == FetchFailure::unauthorized);
  CHECK(page.error().status == 403);
  CHECK(page.error().body_excerpt.find("Access denied") != std::string::npos);
  CHECK(page.error().body_excerpt.find('\n') == std::string::npos);
  page = client.fetch_page("usd", 1, Clock::now() + 10s);
  REQUIRE_FALSE(page.has_value());
  CHECK(page.error().failure == FetchFailure::client_error);
  CHECK(page.error().attempts == 1);
}

TEST_CASE("integration: a truncated body is delivered as received") {
  CurlGlobal curl;
  FakeCoinGecko server;
  CurlTransport transport(quick_curl());
  etl::StopSignal stop;
  MarketsClient client(client_options(server), transport, stop);
  server.script("truncate 500\n");
  const auto page = client.fetch_page("usd", 1, Clock::now() + 10s);
  REQUIRE(page.has_value());
  CHECK(page->status == 200);
  CHECK(page->body == read_file(kFixture).substr(0, 500));
}

TEST_CASE("integration: a stalled server hits the total timeout") {
  CurlGlobal curl;
  FakeCoinGecko server;
  auto options = quick_curl();
  options.total_timeout = 1s;
  CurlTransport transport(options);
  etl::StopSignal stop;
  auto client_opts = client_options(server);
  client_opts.max_attempts = 1;
  MarketsClient client(client_opts, transport, stop);
  server.script("delay 5000\n");
  const auto start = Clock::now();
  const auto page = client.fetch_page("usd", 1, Clock::now() + 10s);
  CHECK(Clock::now() - start < 3s);
  REQUIRE_FALSE(page.has_value());
  CHECK(page.error().failure == FetchFailure::transport);
  CHECK(page.error().message.find("timeout") != std::string::npos);

  server.script("delay 5000\n");
  const auto r = transport.get({server.markets_url() + "?vs_currency=usd", {}}, kNeverCancel);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().kind == TransportErrorKind::timeout);
}

TEST_CASE("integration: bodies over the limit are refused, announced or not") {
  CurlGlobal curl;
  FakeCoinGecko server;
  auto options = quick_curl();
  options.max_body_bytes = 1000;
  CurlTransport transport(options);
  etl::StopSignal stop;
  MarketsClient client(client_options(server), transport, stop);
  auto page = client.fetch_page("usd", 1, Clock::now() + 10s);
  REQUIRE_FALSE(page.has_value());
  CHECK(page.error().failure == FetchFailure::too_large);
  CHECK(page.error().attempts == 1);

  // Chunked, no Content-Length: only the running count can stop it.
  options.max_body_bytes = 1u << 20;
  CurlTransport bigger(options);
  server.script("huge 50000000\n");
  const auto start = Clock::now();
  const auto r = bigger.get({server.markets_url() + "?vs_currency=usd", {}}, kNeverCancel);
  CHECK(Clock::now() - start < 5s);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().kind == TransportErrorKind::too_large);
}

TEST_CASE("integration: slow bodies time out") {
  CurlGlobal curl;
  FakeCoinGecko server;
  auto options = quick_curl();
  options.low_speed_time = 1s;
  options.total_timeout = 2s;
  CurlTransport transport(options);
  server.script("drip 10\n");
  auto start = Clock::now();
  auto r = transport.get({server.markets_url() + "?vs_currency=usd", {}}, kNeverCancel);
  CHECK(Clock::now() - start < 4s);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().kind == TransportErrorKind::timeout);

  // A body that stops flowing is abandoned by the low-speed guard, long before the total timeout.
  options.total_timeout = 30s;
  CurlTransport patient(options);
  server.script("stall 0\n");
  start = Clock::now();
  r = patient.get({server.markets_url() + "?vs_currency=usd", {}}, kNeverCancel);
  CHECK(Clock::now() - start < 5s);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().kind == TransportErrorKind::timeout);
}

TEST_CASE("integration: a dropped connection is a retryable transport error") {
  CurlGlobal curl;
  FakeCoinGecko server;
  CurlTransport transport(quick_curl());
  server.script("close\n");
  const auto r = transport.get({server.markets_url() + "?vs_currency=usd", {}}, kNeverCancel);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().kind == TransportErrorKind::other);

  etl::StopSignal stop;
  MarketsClient client(client_options(server), transport, stop);
  server.script("close\n");
  const auto page = client.fetch_page("usd", 1, Clock::now() + 10s);
  REQUIRE(page.has_value());
  CHECK(page->attempts == 2);
}

TEST_CASE("integration: stop aborts a transfer in flight") {
  CurlGlobal curl;
  FakeCoinGecko server;
  CurlTransport transport(quick_curl());
  etl::StopSignal stop;
  MarketsClient client(client_options(server), transport, stop);
  server.script("delay 8000\n");
  std::thread stopper([&stop] {
    std::this_thread::sleep_for(200ms);
    stop.request_stop();
  });
  const auto start = Clock::now();
  const auto page = client.fetch_page("usd", 1, Clock::now() + 30s);
  const auto took = Clock::now() - start;
  stopper.join();
  CHECK(took < 2500ms);
  REQUIRE_FALSE(page.has_value());
  CHECK(page.error().failure == FetchFailure::cancelled);
}

TEST_CASE("integration: nobody listening is a connect error") {
  CurlGlobal curl;
  int port = 0;
  {
    // Take a free port from the kernel, then release it: nothing listens there afterwards.
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd >= 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    socklen_t len = sizeof addr;
    REQUIRE(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
    port = ntohs(addr.sin_port);
    close(fd);
  }
  CurlTransport transport(quick_curl());
  const auto r = transport.get(
      {"http://127.0.0.1:" + std::to_string(port) + "/api/v3/coins/markets", {}}, kNeverCancel);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().kind == TransportErrorKind::connect);

  const auto bad_scheme = transport.get({"file:///etc/passwd", {}}, kNeverCancel);
  REQUIRE_FALSE(bad_scheme.has_value());
}

TEST_CASE(
    "integration: a required key missing is unauthorized; the right one in its header passes") {
  CurlGlobal curl;
  FakeCoinGecko server({"--require-key", "CG-integration-key"});
  CurlTransport transport(quick_curl());
  etl::StopSignal stop;

  MarketsClient anonymous(client_options(server), transport, stop);
  auto page = anonymous.fetch_page("usd", 1, Clock::now() + 10s);
  REQUIRE_FALSE(page.has_value());
  CHECK(page.error().failure == FetchFailure::unauthorized);
  CHECK(page.error().status == 401);
  CHECK(page.error().attempts == 1);
  CHECK(page.error().body_excerpt.find("10002") != std::string::npos);

  const auto plan = GENERATE(Plan::demo, Plan::pro);
  auto options = client_options(server);
  options.plan = plan;
  options.api_key = etl::Secret("CG-integration-key");
  MarketsClient keyed(options, transport, stop);
  page = keyed.fetch_page("usd", 1, Clock::now() + 10s);
  REQUIRE(page.has_value());
  CHECK(page->body == read_file(kFixture));
  const auto log = server.requests();
  CHECK(log.find(plan == Plan::demo ? "\"key_header\":\"x-cg-demo-api-key\""
                                    : "\"key_header\":\"x-cg-pro-api-key\"") != std::string::npos);
  CHECK(log.find("CG-integration-key") == std::string::npos);
}
