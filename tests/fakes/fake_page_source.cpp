#include "fakes/fake_page_source.hpp"

namespace etl::fakes {

std::string markets_body(int coins, const std::string& prefix) {
  std::string body = "[";
  for (int i = 0; i < coins; ++i) {
    body.append(i == 0 ? "" : ",")
        .append("{\"id\":\"")
        .append(prefix)
        .append("-")
        .append(std::to_string(i));
    body.append("\",\"symbol\":\"c\",\"name\":\"Coin\",\"current_price\":1.5,");
    body.append("\"last_updated\":\"2026-11-22T14:00:00.000Z\"}");
  }
  return body.append("]");
}

tl::expected<coingecko::FetchedPage, coingecko::FetchError>
FakePageSource::fetch_page(std::string_view vs_currency, int page,
                           std::chrono::steady_clock::time_point) {
  const std::pair<std::string, int> key{std::string(vs_currency), page};
  calls.push_back(key);
  tl::expected<coingecko::FetchedPage, coingecko::FetchError> out;
  if (auto f = m_failures.find(key); f != m_failures.end()) {
    out = tl::make_unexpected(
        coingecko::FetchError{f->second.first, f->second.second, 1, "fake failure", "", ""});
  } else if (auto b = m_bodies.find(key); b != m_bodies.end()) {
    out = coingecko::FetchedPage{b->second, 200, 1, {}};
  } else {
    const auto c = m_coins.find(key);
    out = coingecko::FetchedPage{
        markets_body(c != m_coins.end() ? c->second : m_per_page, key.first), 200, 1, {}};
  }
  if (after_fetch) after_fetch(key.first, page);
  return out;
}

} // namespace etl::fakes
