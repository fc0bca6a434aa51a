#pragma once
// What coin_market already holds, as far as this session knows: per (currency, coin) the
// last_updated of a row known to be committed. A coin offered again with that same
// last_updated is a row PostgreSQL would only skip on conflict, so it is not sent at all
// (CoinGecko serves cached quotes for 45-60 s: at a 30 s interval about half of all coins
// offered are such rows). Only an optimization: a coin not known here is sent, and the
// database's ON CONFLICT DO NOTHING stays the guarantee against duplicates.
//
// Sound because a coin_market row never changes once committed: a remembered (currency, coin,
// last_updated) stays stored until retention drops its partition (forget everything then).
// last_updated is compared as the exact text CoinGecko sent, which PostgreSQL parses to the same
// timestamptz every time. Bounded: past max_entries, new coins are not remembered (they are
// sent, as before), so memory never grows with a market larger than expected.
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

namespace etl::db {

class KnownRows {
public:
  // 100,000: every coin of the market (~17,500) in five currencies, ~15 MiB at most.
  static constexpr std::size_t kDefaultMaxEntries = 100'000;

  explicit KnownRows(std::size_t max_entries = kDefaultMaxEntries) : m_max(max_entries) {}

  [[nodiscard]] bool contains(std::string_view vs_currency, std::string_view coin_id,
                              std::string_view last_updated) const;
  // Records a committed row; it replaces what was known of the same coin.
  void remember(std::string_view vs_currency, std::string_view coin_id,
                std::string_view last_updated);
  void clear() noexcept { m_rows.clear(); }
  [[nodiscard]] std::size_t size() const noexcept { return m_rows.size(); }

  // last_updated texts up to this long are remembered (CoinGecko's are 24 bytes:
  // 2026-04-30T02:29:06.506Z); a longer one is not, and its coin is sent as before.
  static constexpr std::size_t kMaxStampBytes = 31;

private:
  static std::string key(std::string_view vs_currency, std::string_view coin_id);

  // The text inline: no allocation per coin beyond the map's node and key.
  struct Stamp {
    std::array<char, kMaxStampBytes> text{};
    std::uint8_t size = 0;
    [[nodiscard]] std::string_view view() const noexcept { return {text.data(), size}; }
    void assign(std::string_view s) noexcept {
      size = static_cast<std::uint8_t>(s.copy(text.data(), text.size()));
    }
  };

  std::size_t m_max;
  std::unordered_map<std::string, Stamp> m_rows; // "3:usdbitcoin" -> last_updated
};

} // namespace etl::db
