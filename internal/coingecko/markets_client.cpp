#include "coingecko/markets_client.hpp"
#include "core/url_secrets.hpp"

#include <vector>

namespace etl::coingecko {
using http::HttpTransport;

std::string_view to_string(FetchFailure failure) noexcept {
  switch (failure) {
  case FetchFailure::rate_limited: return "rate_limited";
  case FetchFailure::server_error: return "server_error";
  case FetchFailure::unauthorized: return "unauthorized";
  case FetchFailure::client_error: return "client_error";
  case FetchFailure::transport: return "transport";
  case FetchFailure::too_large: return "too_large";
  case FetchFailure::cancelled: return "cancelled";
  }
  return "transport";
}

namespace {

CallerOptions caller_options(const ClientOptions& o) {
  return CallerOptions{o.plan,
                       o.api_key,
                       o.max_attempts,
                       o.backoff_base,
                       o.backoff_cap,
                       o.rate_limit_per_minute,
                       url_secret_values(o.markets_url)};
}

} // namespace

MarketsClient::MarketsClient(ClientOptions options, HttpTransport& transport, StopSignal& stop,
                             ClientObserver observer, std::uint64_t seed)
    : m_options(std::move(options)),
      m_owned(std::make_unique<ApiCaller>(caller_options(m_options), transport, stop,
                                          std::move(observer), seed)),
      m_caller(m_owned.get()) {}

MarketsClient::MarketsClient(ClientOptions options, ApiCaller& caller)
    : m_options(std::move(options)), m_caller(&caller) {}

namespace {

// "=value". Appended, not `"=" + value`: GCC 12 at -O3 reports a false -Wrestrict for a string
// literal prepended to a std::string (GCC bug 105329), which broke users' Release builds.
std::string assignment(std::string_view value) {
  std::string out;
  out.reserve(value.size() + 1);
  out += '=';
  out += value;
  return out;
}

} // namespace

std::string MarketsClient::page_url(std::string_view vs_currency, int page) const {
  std::string_view url = m_options.markets_url;
  url = url.substr(0, url.find('#'));
  const auto qmark = url.find('?');
  const std::string_view base = url.substr(0, qmark);
  const std::string_view query =
      qmark == std::string_view::npos ? std::string_view{} : url.substr(qmark + 1);

  struct Param {
    std::string_view key;
    std::string value; // already encoded
  };
  std::vector<Param> params;
  for (std::size_t pos = 0; pos <= query.size() && !query.empty();) {
    const auto amp = std::min(query.find('&', pos), query.size());
    const std::string_view item = query.substr(pos, amp - pos);
    if (!item.empty()) {
      const auto eq = item.find('=');
      const std::string_view key = item.substr(0, eq);
      params.push_back(
          {key, eq == std::string_view::npos ? std::string{} : std::string(item.substr(eq))});
    }
    pos = amp + 1;
  }

  // Set in place when present so an operator's parameter order survives; append otherwise.
  const auto set = [&params](std::string_view key, std::string_view value, bool replace) {
    bool found = false;
    for (auto it = params.begin(); it != params.end();) {
      if (it->key != key) {
        ++it;
        continue;
      }
      if (!replace) return;
      if (found) {
        it = params.erase(it); // a duplicate would leave the server to pick one
        continue;
      }
      it->value = assignment(value);
      found = true;
      ++it;
    }
    if (!found) params.push_back({key, assignment(value)});
  };
  set("vs_currency", url_encode(vs_currency), true);
  set("order", "market_cap_desc", false);
  set("per_page", std::to_string(m_options.per_page), true);
  set("page", std::to_string(page), true);

  std::string out(base);
  char sep = '?';
  for (const auto& p : params) {
    out += sep;
    out += p.key;
    out += p.value;
    sep = '&';
  }
  return out;
}

tl::expected<FetchedPage, FetchError>
MarketsClient::fetch_page(std::string_view vs_currency, int page,
                          std::chrono::steady_clock::time_point deadline) {
  return m_caller->get(page_url(vs_currency, page),
                       "page " + std::to_string(page) + " (" + std::string(vs_currency) + ")",
                       deadline);
}

} // namespace etl::coingecko
