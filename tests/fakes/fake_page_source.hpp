#pragma once
// Market pages made to order: every page is full (per_page coins) unless the test sets a short
// page, a failure, or a hook (e.g. a stop request after a given page).
#include "pipeline/seams.hpp"

#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace etl::fakes {

// A JSON array of `coins` valid markets elements, ids "<prefix>-<n>".
std::string markets_body(int coins, const std::string& prefix = "coin");

class FakePageSource final : public pipeline::PageSource {
public:
  explicit FakePageSource(int per_page) : m_per_page(per_page) {}
  tl::expected<coingecko::FetchedPage, coingecko::FetchError>
  fetch_page(std::string_view vs_currency, int page,
             std::chrono::steady_clock::time_point deadline) override;

  void set_coins(const std::string& currency, int page, int coins) {
    m_coins[{currency, page}] = coins;
  }
  void set_body(const std::string& currency, int page, std::string body) {
    m_bodies[{currency, page}] = std::move(body);
  }
  void fail(const std::string& currency, int page, coingecko::FetchFailure failure,
            long status = 0) {
    m_failures[{currency, page}] = {failure, status};
  }
  void clear_failures() { m_failures.clear(); }
  std::function<void(const std::string& currency, int page)> after_fetch; // runs after each call

  std::vector<std::pair<std::string, int>> calls; // every call, in order

private:
  int m_per_page;
  std::map<std::pair<std::string, int>, int> m_coins;
  std::map<std::pair<std::string, int>, std::string> m_bodies;
  std::map<std::pair<std::string, int>, std::pair<coingecko::FetchFailure, long>> m_failures;
};

} // namespace etl::fakes
