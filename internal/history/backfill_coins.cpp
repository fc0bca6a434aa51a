// The backfill's coins: the selection (explicit ids, or top:N from coin_market, else from one
// /coins/markets call) and the /coins/list load into `coins`.
#include "history/backfill_runner.hpp"

#include "history/coins_list.hpp"
#include "market/parse_markets.hpp"

#include <algorithm>

#include <spdlog/spdlog.h>

namespace etl::history::backfill_detail {

std::optional<std::vector<std::string>> Runner::resolve_coins() {
  if (!m_o.top) return m_o.coins;
  const int n = *m_o.top;
  auto top = m_store.top_coins(n);
  if (!top) {
    fatal("cannot read the top coins from coin_market: " + top.error().message);
    return std::nullopt;
  }
  if (static_cast<int>(top->size()) >= n) {
    spdlog::info("backfill: top {} coins by market_cap_rank of the newest snapshot in coin_market",
                 n);
    return *top;
  }
  return top_from_markets(n, top->size());
}

// Not enough in the database: one /coins/markets call, ranked by CoinGecko.
std::optional<std::vector<std::string>> Runner::top_from_markets(int n, std::size_t in_db) {
  const std::string vs = m_o.vs_currencies.empty() ? std::string("usd") : m_o.vs_currencies.front();
  std::string url = m_o.markets_url.substr(0, m_o.markets_url.find_first_of("?#"));
  url += "?vs_currency=" + coingecko::url_encode(vs) +
         "&order=market_cap_desc&per_page=" + std::to_string(n) + "&page=1";
  auto page = get(url, "top " + std::to_string(n) + " coins");
  if (!page) {
    fatal("cannot list the top coins: " + describe_failure(page.error()));
    return std::nullopt;
  }
  spool(
      m_o.data_dir / "raw" / "history" /
          ("markets_top" + std::to_string(n) + "_" + vs + "_" + compact_utc(wall_now()) + ".json"),
      page->body);
  const auto parsed = market::parse_markets(page->body);
  if (!parsed) {
    fatal("the top coins' /coins/markets body is not usable: " + parsed.error().detail);
    return std::nullopt;
  }
  std::vector<const market::CoinMarket*> ranked;
  for (const auto& c : parsed->coins) ranked.push_back(&c);
  std::stable_sort(ranked.begin(), ranked.end(), [](const auto* a, const auto* b) {
    return a->market_cap_rank.value_or(INT64_MAX) < b->market_cap_rank.value_or(INT64_MAX);
  });
  std::vector<std::string> ids;
  for (const auto* c : ranked) {
    if (static_cast<int>(ids.size()) < n) ids.push_back(c->id);
  }
  spdlog::info("backfill: top {} coins from one /coins/markets call ({} in coin_market)",
               ids.size(), in_db);
  return ids;
}

// /coins/list?include_platform=true into `coins`: one request per run. A failure does not
// stop the history (it is reported, and the run's exit status says so).
void Runner::load_coins_list() {
  const std::string url = m_o.api_base + "/coins/list?include_platform=true";
  auto fetched = get(url, "coins list");
  const TimePoint at = wall_now();
  const auto path = [&](long status) {
    return m_o.data_dir / "raw" / "history" /
           ("coins_list_" + compact_utc(at) + status_suffix(status) + ".json");
  };
  const auto failed = [&](const std::string& reason) {
    m_sum.coins_list_failed = true;
    m_sum.problems.push_back("coins list: " + reason);
    log_warning("backfill coins list: " + reason);
  };
  if (!fetched) {
    const auto& e = fetched.error();
    if (e.failure == coingecko::FetchFailure::cancelled && m_stop.stop_requested()) {
      m_sum.interrupted = true;
      return;
    }
    if (e.status != 0 && !spool(path(e.status), e.body)) return;
    return failed(describe_failure(e));
  }
  if (!spool(path(200), fetched->body)) return;
  const auto list = parse_coins_list(fetched->body);
  if (!list) return failed(list.error());
  if (list->coins.empty()) return failed("the list is empty: nothing stored");
  const auto stored = m_store.store_coins(list->coins);
  if (!stored) {
    fatal("cannot store the coins list: " + stored.error().message);
    return;
  }
  m_sum.coins_listed = static_cast<std::int64_t>(list->coins.size());
  m_sum.coins_changed = stored->inserted + stored->updated;
  spdlog::info("backfill: coins list: {} coin(s), {} new, {} changed, {} unchanged{}",
               list->coins.size(), stored->inserted, stored->updated, stored->unchanged,
               list->repeated > 0 ? fmt::format(" ({} repeated id(s) ignored)", list->repeated)
                                  : std::string());
}

} // namespace etl::history::backfill_detail
