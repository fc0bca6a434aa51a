#include "market/coin_array_parser.hpp"

#include "core/utf8.hpp"
#include "market/coin_builder.hpp"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <utility>

#include <rapidjson/memorystream.h>
#include <rapidjson/reader.h>

namespace etl::market::detail {
namespace {

// Numbers as strings keeps the exact decimal text. Iterative parsing keeps deeply nested
// hostile input from overflowing the C++ stack. Encoding validation guarantees that every
// string we hand on (logs, PostgreSQL text, processed JSON) is valid UTF-8. No
// kParseStopWhenDoneFlag: bytes after the array make the body not JSON.
constexpr unsigned kArrayFlags = rapidjson::kParseNumbersAsStringsFlag |
                                 rapidjson::kParseValidateEncodingFlag |
                                 rapidjson::kParseIterativeFlag;
// The fast path, for a body already known to be valid UTF-8 without NUL bytes (all real pages):
// no per-character validation, and strings decoded in place in a copy of the body instead of
// being copied through the reader's stack. Same coins and rejections as kArrayFlags.
constexpr unsigned kCheckedInsituFlags = rapidjson::kParseNumbersAsStringsFlag |
                                         rapidjson::kParseIterativeFlag |
                                         rapidjson::kParseInsituFlag;

// A CoinGecko coin object is 800 bytes or more of JSON: enough room for a real page's coins in one
// allocation, and never more than the page may hold.
constexpr std::size_t kMinBytesPerCoin = 700;

// The first kMaxRejectedIdBytes of a (valid UTF-8) id, cut at a character boundary, plus "...".
std::string cut_id(std::string_view id) {
  if (id.size() <= kMaxRejectedIdBytes) return std::string(id);
  std::size_t end = kMaxRejectedIdBytes;
  while (end > 0 && (static_cast<unsigned char>(id[end]) & 0xC0) == 0x80) --end;
  return std::string(id.substr(0, end)) + "...";
}

// Index of `key` in `keys`, trying `hint` (the entry after the last match) first; -1 if absent.
template <typename Keys, typename KeyOf>
int find_key(const Keys& keys, KeyOf key_of, std::size_t& hint, std::string_view key) noexcept {
  if (hint < keys.size() && key_of(keys[hint]) == key) return static_cast<int>(hint++);
  for (std::size_t i = 0; i < keys.size(); ++i) {
    if (key_of(keys[i]) == key) {
      hint = i + 1;
      return static_cast<int>(i);
    }
  }
  return -1;
}

// SAX handler that walks the array and hands each coin's values to a CoinBuilder. It never
// stops the parse: a bad coin is remembered and the rest of its object is consumed, so the
// next element starts cleanly.
class CoinsHandler {
public:
  explicit CoinsHandler(ParsedPage& page) : m_page(page) {}

  bool Null() { return scalar(JsonType::null, {}); }
  bool Bool(bool) { return scalar(JsonType::boolean, {}); }
  // With kParseNumbersAsStringsFlag every number arrives through RawNumber.
  bool Int(int) { return scalar(JsonType::number, {}); }
  bool Uint(unsigned) { return scalar(JsonType::number, {}); }
  bool Int64(std::int64_t) { return scalar(JsonType::number, {}); }
  bool Uint64(std::uint64_t) { return scalar(JsonType::number, {}); }
  bool Double(double) { return scalar(JsonType::number, {}); }
  bool RawNumber(const char* str, rapidjson::SizeType len, bool) {
    return scalar(JsonType::number, {str, len});
  }
  bool String(const char* str, rapidjson::SizeType len, bool) {
    return scalar(JsonType::string, {str, len});
  }
  bool StartObject() { return begin_container(JsonType::object); }
  bool StartArray() { return begin_container(JsonType::array); }
  bool EndObject(rapidjson::SizeType) { return end_container(); }
  bool EndArray(rapidjson::SizeType) { return end_container(); }
  bool Key(const char* str, rapidjson::SizeType len, bool) {
    if (m_skip_depth > 0) return true;
    const std::string_view key(str, len);
    if (m_state == State::coin_key) {
      m_field = find_key(
          kApiKeys, [](const ApiKey& k) { return k.key; }, m_hint, key);
      if (m_field >= 0) mark_seen(m_seen, m_field, kApiKeys[m_field].key);
      m_state = State::coin_value;
    } else if (m_state == State::roi_key) {
      std::size_t no_hint = kRoiFields.size();
      m_roi_field = find_key(
          kRoiFields, [](std::size_t row) { return kCoinMarketFields[row].api_key; }, no_hint, key);
      if (m_roi_field >= 0) mark_seen(m_roi_seen, m_roi_field, CoinBuilder::roi_name(m_roi_field));
      m_state = State::roi_value;
    }
    return true;
  }

private:
  enum class State { top, array, coin_key, coin_value, roi_key, roi_value, done };

  void mark_seen(std::uint64_t& seen, int field, std::string_view name) {
    const std::uint64_t bit = std::uint64_t{1} << field;
    if ((seen & bit) != 0) m_coin.fail(name, "duplicate key");
    seen |= bit;
  }

  void skip(State after) {
    m_skip_depth = 1;
    m_after_skip = after;
  }

  // Every rejection is counted; only the first few keep their id and reason, so a body of a
  // million tiny elements costs a counter, not a million records (and log lines downstream).
  bool keeps_details() const noexcept { return m_page.rejected.size() < kMaxRejectedDetails; }

  void record_rejection(std::string id, std::string reason) {
    ++m_page.rejected_count;
    if (keeps_details()) {
      if (id.size() > kMaxRejectedIdBytes) id = cut_id(id);
      m_page.rejected.push_back(RejectedCoin{m_index, std::move(id), std::move(reason)});
    }
    ++m_index;
  }

  void reject_element(JsonType type) {
    std::string reason;
    if (m_index >= kMaxElementsPerPage) {
      if (keeps_details()) {
        reason =
            "beyond the first " + std::to_string(kMaxElementsPerPage) + " elements of the page";
      }
    } else if (keeps_details()) {
      reason.append("element is not an object (got ").append(type_name(type)).append(")");
    }
    record_rejection("", std::move(reason));
  }

  bool begin_container(JsonType type) {
    if (m_skip_depth > 0) {
      ++m_skip_depth;
      return true;
    }
    switch (m_state) {
    case State::top: m_state = State::array; break;
    case State::array:
      if (type == JsonType::object && m_index < kMaxElementsPerPage) {
        m_coin.start(m_page.coins.emplace_back());
        m_seen = 0;
        m_hint = 0;
        m_state = State::coin_key;
      } else {
        reject_element(type);
        skip(State::array);
      }
      break;
    case State::coin_value:
      if (m_field >= 0 && kApiKeys[m_field].roi && type == JsonType::object) {
        m_roi_seen = 0;
        m_state = State::roi_key;
      } else {
        if (m_field >= 0) {
          m_coin.fail_type(kApiKeys[m_field].key, expected_for(kApiKeys[m_field]), type);
        }
        skip(State::coin_key);
      }
      break;
    case State::roi_value:
      if (m_roi_field >= 0) {
        m_coin.fail_type(CoinBuilder::roi_name(m_roi_field),
                         expected_for(kCoinMarketFields[kRoiFields[m_roi_field]].kind), type);
      }
      skip(State::roi_key);
      break;
    case State::coin_key:
    case State::roi_key:
    case State::done: break; // the reader never produces a value where a key is due
    }
    return true;
  }

  bool end_container() {
    if (m_skip_depth > 0) {
      if (--m_skip_depth == 0) m_state = m_after_skip;
      return true;
    }
    switch (m_state) {
    case State::coin_key:
      finish_coin();
      m_state = State::array;
      break;
    case State::roi_key: m_state = State::coin_key; break;
    default: m_state = State::done; break;
    }
    return true;
  }

  bool scalar(JsonType type, std::string_view text) {
    if (m_skip_depth > 0) return true;
    switch (m_state) {
    case State::array: reject_element(type); break;
    case State::coin_value:
      if (m_field >= 0) m_coin.apply(kApiKeys[m_field], type, text);
      m_state = State::coin_key;
      break;
    case State::roi_value:
      if (m_roi_field >= 0) m_coin.apply_roi(static_cast<std::size_t>(m_roi_field), type, text);
      m_state = State::roi_key;
      break;
    default: m_state = State::done; break;
    }
    return true;
  }

  void finish_coin() {
    if ((m_seen & kRequiredKeys) != kRequiredKeys) {
      for (std::size_t i = 0; i < kApiKeys.size(); ++i) {
        const std::uint64_t bit = std::uint64_t{1} << i;
        if ((kRequiredKeys & bit) != 0 && (m_seen & bit) == 0) {
          m_coin.fail(kApiKeys[i].key, "required field missing");
        }
      }
    }
    if (m_coin.reason().empty()) {
      ++m_index;
    } else {
      record_rejection(std::move(m_coin.coin().id), std::move(m_coin.reason()));
      m_coin.reason().clear();
      m_page.coins.pop_back();
    }
  }

  ParsedPage& m_page;
  State m_state = State::top;
  State m_after_skip = State::array;
  std::size_t m_skip_depth = 0;
  std::size_t m_index = 0;
  CoinBuilder m_coin;
  std::uint64_t m_seen = 0;
  std::uint64_t m_roi_seen = 0;
  std::size_t m_hint = 0;
  int m_field = -1;
  int m_roi_field = -1;
};

} // namespace

CoinArrayParse parse_coin_array(std::string_view body, ArrayRoute route) {
  CoinArrayParse parse;
  parse.page.coins.reserve(std::min(body.size() / kMinBytesPerCoin + 1, kMaxElementsPerPage));
  if (route == ArrayRoute::fastest && core::is_utf8_without_nul(body)) {
    // The reader writes decoded strings over the escapes and needs a NUL at the end.
    const std::unique_ptr<char[]> text(new char[body.size() + 1]);
    std::memcpy(text.get(), body.data(), body.size());
    text[body.size()] = '\0';
    CoinsHandler handler(parse.page);
    rapidjson::Reader reader;
    rapidjson::InsituStringStream stream(text.get());
    parse.result = reader.Parse<kCheckedInsituFlags>(stream, handler);
    parse.consumed = stream.Tell();
    if (!parse.result.IsError()) {
      parse.in_place = true;
      return parse;
    }
    // Not JSON after all: the validating reader below names the error as it always has.
    parse.page.coins.clear();
    parse.page.rejected.clear();
    parse.page.rejected_count = 0;
  }
  CoinsHandler handler(parse.page);
  rapidjson::Reader reader;
  rapidjson::MemoryStream stream(body.data(), body.size());
  parse.result = reader.Parse<kArrayFlags>(stream, handler);
  parse.consumed = stream.Tell();
  return parse;
}

} // namespace etl::market::detail
