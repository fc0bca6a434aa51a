#pragma once
// GET /coins/markets for one (currency, page): URL building, auth header by plan, pacing,
// retries with back-off and Retry-After, classification of the final outcome.
#include "coingecko/api_caller.hpp"
#include "core/secret.hpp"
#include "core/stop_signal.hpp"

#include <chrono>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include <tl/expected.hpp>

namespace etl::coingecko {

struct ClientOptions {
  std::string markets_url{kPublicMarketsUrl};
  Plan plan = Plan::public_api;
  Secret api_key; // empty = no key header
  int per_page = 100;
  int max_attempts = 4; // per page, first try included
  std::chrono::milliseconds backoff_base{1'000};
  std::chrono::milliseconds backoff_cap{30'000};
  double rate_limit_per_minute = 5;
};

class MarketsClient {
public:
  MarketsClient(ClientOptions options, http::HttpTransport& transport, StopSignal& stop,
                ClientObserver observer = {}, std::uint64_t seed = std::random_device{}());
  // Calls through a shared ApiCaller (its plan, key and rate limit; options.per_page and
  // options.markets_url still shape the URL).
  MarketsClient(ClientOptions options, ApiCaller& caller);

  // The URL for one page. Query parameters already in markets_url are kept; vs_currency,
  // per_page and page are set (replacing any given); order defaults to market_cap_desc.
  [[nodiscard]] std::string page_url(std::string_view vs_currency, int page) const;

  // Fetches one page. Retries network errors, 408/429/5xx with back-off and full jitter,
  // honours Retry-After, and gives up rather than wait past `deadline`: with the last real
  // failure (rate_limited, server_error, transport) when there was one, else cancelled.
  tl::expected<FetchedPage, FetchError> fetch_page(std::string_view vs_currency, int page,
                                                   std::chrono::steady_clock::time_point deadline);

private:
  ClientOptions m_options;
  std::unique_ptr<ApiCaller> m_owned; // when constructed with a transport
  ApiCaller* m_caller;
};

} // namespace etl::coingecko
