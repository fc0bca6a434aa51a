#include "history/coins_list.hpp"

#include "history/sax.hpp"

#include <unordered_set>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace etl::history {
namespace {

// SAX: top array -> coin objects. String members id/symbol/name are taken; `platforms` is
// re-written compactly into a buffer; any other member is skipped whole.
class ListHandler {
public:
  std::vector<CoinListing> coins;
  std::string error;

  bool Null() { return scalar(nullptr, 0, false) && (!in_platforms() || m_writer.Null()); }
  bool Bool(bool b) { return scalar(nullptr, 0, false) && (!in_platforms() || m_writer.Bool(b)); }
  bool Int(int) { return unexpected_number(); }
  bool Uint(unsigned) { return unexpected_number(); }
  bool Int64(std::int64_t) { return unexpected_number(); }
  bool Uint64(std::uint64_t) { return unexpected_number(); }
  bool Double(double) { return unexpected_number(); }
  bool RawNumber(const char* s, rapidjson::SizeType n, bool copy) {
    return scalar(nullptr, 0, false) && (!in_platforms() || m_writer.RawNumber(s, n, copy));
  }
  bool String(const char* s, rapidjson::SizeType n, bool copy) {
    if (!scalar(s, n, true)) return false;
    return !in_platforms() || m_writer.String(s, n, copy);
  }
  bool Key(const char* s, rapidjson::SizeType n, bool copy) {
    if (in_platforms()) return m_writer.Key(s, n, copy);
    if (m_skip > 0) return true;
    m_key.assign(s, n);
    return true;
  }
  bool StartObject() {
    if (in_platforms()) return ++m_platform_depth, m_writer.StartObject();
    if (m_skip > 0) return ++m_skip, true;
    if (m_depth == 1) {
      m_depth = 2;
      m_coin = CoinListing{};
      m_have = 0;
      return true;
    }
    if (m_depth == 2) {
      if (m_key == "platforms") {
        m_buffer.Clear();
        m_writer.Reset(m_buffer);
        m_platform_depth = 1;
        return m_writer.StartObject();
      }
      return ++m_skip, true;
    }
    return fail(m_depth == 0 ? "an object, not an array of coins" : "unexpected object");
  }
  bool EndObject(rapidjson::SizeType n) {
    if (in_platforms()) {
      if (!m_writer.EndObject(n)) return false;
      if (--m_platform_depth == 0) {
        m_coin.platforms_json.assign(m_buffer.GetString(), m_buffer.GetSize());
      }
      return true;
    }
    if (m_skip > 0) return --m_skip, true;
    // The end of a coin.
    if ((m_have & 7) != 7)
      return fail("a coin lacks id, symbol or name (entry " + std::to_string(m_count) + ")");
    if (m_coin.id.empty())
      return fail("a coin has an empty id (entry " + std::to_string(m_count) + ")");
    ++m_count;
    if (m_seen.insert(m_coin.id).second) coins.push_back(std::move(m_coin));
    else ++repeated;
    m_depth = 1;
    return true;
  }
  bool StartArray() {
    if (in_platforms()) return ++m_platform_depth, m_writer.StartArray();
    if (m_skip > 0) return ++m_skip, true;
    if (m_depth == 0) {
      m_depth = 1;
      return true;
    }
    if (m_depth == 2) {
      if (m_key == "platforms") return fail("platforms is not an object");
      return ++m_skip, true;
    }
    return fail("a coin is not an object");
  }
  bool EndArray(rapidjson::SizeType n) {
    if (in_platforms()) {
      --m_platform_depth;
      return m_writer.EndArray(n);
    }
    if (m_skip > 0) return --m_skip, true;
    m_depth = 0;
    return true;
  }

  std::int64_t repeated = 0;

private:
  bool in_platforms() const { return m_platform_depth > 0; }
  bool fail(std::string message) {
    if (error.empty()) error = std::move(message);
    return false;
  }
  bool unexpected_number() { return fail("an integer outside numbers-as-strings parsing"); }
  // A scalar inside a coin: take id/symbol/name; anything else is fine only where skipped.
  bool scalar(const char* s, rapidjson::SizeType n, bool is_string) {
    if (in_platforms() || m_skip > 0) return true;
    if (m_depth != 2) return fail("a coin is not an object");
    const int bit = m_key == "id" ? 1 : m_key == "symbol" ? 2 : m_key == "name" ? 4 : 0;
    if (m_key == "platforms") {
      // null platforms: none known.
      if (is_string) return fail("platforms is not an object");
      return true;
    }
    if (bit == 0) return true;
    if (!is_string) return fail(m_key + " is not a string (entry " + std::to_string(m_count) + ")");
    (bit == 1 ? m_coin.id : bit == 2 ? m_coin.symbol : m_coin.name).assign(s, n);
    m_have |= bit;
    return true;
  }

  int m_depth = 0;
  int m_skip = 0;
  int m_platform_depth = 0;
  int m_have = 0;
  std::int64_t m_count = 0;
  std::string m_key;
  CoinListing m_coin;
  std::unordered_set<std::string> m_seen;
  rapidjson::StringBuffer m_buffer;
  rapidjson::Writer<rapidjson::StringBuffer> m_writer;
};

} // namespace

tl::expected<CoinsList, std::string> parse_coins_list(std::string_view body) {
  ListHandler handler;
  if (auto ok = detail::run_sax(body, handler, "a coins list"); !ok)
    return tl::make_unexpected(ok.error());
  return CoinsList{std::move(handler.coins), handler.repeated};
}

} // namespace etl::history
