#include "db/stored_pages.hpp"

namespace etl::db {

const StoredPages::Body* StoredPages::find(std::string_view vs_currency, int page) const {
  const auto it = m_pages.find(std::pair{std::string(vs_currency), page});
  return it == m_pages.end() ? nullptr : &it->second;
}

void StoredPages::remember(std::string_view vs_currency, int page, Body body) {
  auto key = std::pair{std::string(vs_currency), page};
  if (const auto it = m_pages.find(key); it != m_pages.end()) {
    it->second = std::move(body);
    return;
  }
  if (m_pages.size() >= m_max) return;
  m_pages.emplace(std::move(key), std::move(body));
}

} // namespace etl::db
