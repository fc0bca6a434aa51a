#include "db/known_rows.hpp"

namespace etl::db {

std::string KnownRows::key(std::string_view vs_currency, std::string_view coin_id) {
  // Length-prefixed, so no currency and coin id can run together into another pair's key.
  std::string k = std::to_string(vs_currency.size());
  k.reserve(k.size() + 1 + vs_currency.size() + coin_id.size());
  k.append(1, ':').append(vs_currency);
  k.append(coin_id);
  return k;
}

bool KnownRows::contains(std::string_view vs_currency, std::string_view coin_id,
                         std::string_view last_updated) const {
  const auto it = m_rows.find(key(vs_currency, coin_id));
  return it != m_rows.end() && it->second.view() == last_updated;
}

void KnownRows::remember(std::string_view vs_currency, std::string_view coin_id,
                         std::string_view last_updated) {
  auto k = key(vs_currency, coin_id);
  const auto it = m_rows.find(k);
  if (last_updated.size() > kMaxStampBytes) {
    if (it != m_rows.end()) m_rows.erase(it); // what was known of the coin is no longer current
    return;
  }
  if (it != m_rows.end()) {
    it->second.assign(last_updated);
    return;
  }
  if (m_rows.size() >= m_max) return;
  Stamp stamp;
  stamp.assign(last_updated);
  m_rows.emplace(std::move(k), stamp);
}

} // namespace etl::db
