#pragma once
// Which raw page bodies coin_market_raw holds, as far as this session knows: per (currency, page
// number) the SHA-256 of the newest body stored in full and the snapshot holding it. A page whose
// body has that digest is stored as a reference to that snapshot's page instead of a second copy
// (migration 0012). Only an optimization: the reference is inserted only if PostgreSQL finds the
// named page, with that digest and its bytes, in the same monthly partition; otherwise the page is
// stored in full, as before.
#include "core/sha256.hpp"

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>

namespace etl::db {

class StoredPages {
public:
  struct Body {
    core::Sha256 digest{};
    std::string snapshot_id; // the snapshot whose row holds the bytes
    // Every coin of the page is in coin_market (none refused by the parser or PostgreSQL):
    // how many; -1 when not known. A page with these bytes then needs no parse to be loaded.
    std::int64_t coins_stored = -1;
  };

  // 10,000: every page of the market (~70) in every currency CoinGecko offers (~60), with room.
  static constexpr std::size_t kDefaultMaxEntries = 10'000;

  explicit StoredPages(std::size_t max_entries = kDefaultMaxEntries) : m_max(max_entries) {}

  // The body stored for this page, or null.
  [[nodiscard]] const Body* find(std::string_view vs_currency, int page) const;
  // Records a committed page stored in full; it replaces what was known of the same page.
  void remember(std::string_view vs_currency, int page, Body body);
  void clear() noexcept { m_pages.clear(); }
  [[nodiscard]] std::size_t size() const noexcept { return m_pages.size(); }

private:
  std::size_t m_max;
  std::map<std::pair<std::string, int>, Body, std::less<>> m_pages;
};

} // namespace etl::db
