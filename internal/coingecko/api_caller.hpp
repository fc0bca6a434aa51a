#pragma once
// The one HTTP call path to CoinGecko: auth header by plan, pacing by one token bucket, retries
// with back-off and full jitter, Retry-After, classification of the final outcome. MarketsClient
// and the history client both call through one ApiCaller, so a process keeps one rate limit.
#include "coingecko/plan.hpp"
#include "core/secret.hpp"
#include "core/stop_signal.hpp"
#include "http/rate_limiter.hpp"
#include "http/transport.hpp"
#include "http/url_encode.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include <tl/expected.hpp>

namespace etl::coingecko {

// Outcome reasons: metric label values, keep the set fixed.
enum class FetchFailure {
  rate_limited, // 429 after all attempts
  server_error, // 5xx / 408 after all attempts
  unauthorized, // 401 / 403 (bad key, Cloudflare block): not retried
  client_error, // other 4xx: not retried
  transport,    // connect/timeout/tls/size after all attempts
  too_large,    // body over the limit: not retried
  cancelled,    // shutdown, or the next tick's deadline reached while waiting
};
std::string_view to_string(FetchFailure failure) noexcept;

struct FetchError {
  FetchFailure failure;
  long status = 0; // last HTTP status, 0 when none
  int attempts = 0;
  std::string message;      // never contains the API key
  std::string body_excerpt; // first bytes of the last error body, for the log
  std::string body;         // the whole last error body (API key redacted), for the raw spool
};

struct FetchedPage {
  std::string body;
  long status = 0;
  int attempts = 0;
  std::chrono::system_clock::time_point fetched_at; // when the body finished arriving
};

// Reported for every HTTP attempt and every wait, so telemetry can count them.
struct AttemptEvent {
  long status = 0;                 // 0 when no response
  std::string_view failure_reason; // "" on success; else a fixed label
  std::chrono::duration<double> duration{};
};
struct WaitEvent {
  std::string_view cause; // "rate_limit", "retry_after", "backoff"
  std::chrono::duration<double> waited{};
};
struct ClientObserver {
  std::function<void(const AttemptEvent&)> on_attempt;
  std::function<void(const WaitEvent&)> on_wait;
};

struct CallerOptions {
  Plan plan = Plan::public_api;
  Secret api_key;       // empty = no key header
  int max_attempts = 4; // per call, first try included
  std::chrono::milliseconds backoff_base{1'000};
  std::chrono::milliseconds backoff_cap{30'000};
  double rate_limit_per_minute = 5;
  // Key values inside the configured URL's query (?x_cg_demo_api_key=...), scrubbed from error
  // text.
  std::vector<std::string> url_secrets;
};

// Source-neutral, in http/; coingecko::url_encode keeps the client's callers unchanged.
using http::url_encode;

class ApiCaller {
public:
  ApiCaller(CallerOptions options, http::HttpTransport& transport, StopSignal& stop,
            ClientObserver observer = {}, std::uint64_t seed = std::random_device{}());

  // One GET of `url` (`what` names it in messages). Retries network errors, 408/429/5xx with
  // back-off and full jitter, honours Retry-After, and gives up rather than wait past
  // `deadline`: with the last real failure (rate_limited, server_error, transport) when there
  // was one, else cancelled.
  tl::expected<FetchedPage, FetchError> get(std::string url, std::string_view what,
                                            std::chrono::steady_clock::time_point deadline);

private:
  CallerOptions m_options;
  http::HttpTransport& m_transport;
  StopSignal& m_stop;
  ClientObserver m_observer;
  http::RateLimiter m_limiter;
  std::mt19937_64 m_rng;
};

} // namespace etl::coingecko
