#include "market/coin_array_parser.hpp"

#include "market/text_quote.hpp"

#include <charconv>
#include <cstdint>
#include <iterator>
#include <optional>
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
constexpr std::size_t kMaxQuotedValueBytes = 64;

enum class JsonType { null, boolean, number, string, object, array };

std::string_view type_name(JsonType type) noexcept {
  switch (type) {
  case JsonType::null:
    return "null";
  case JsonType::boolean:
    return "boolean";
  case JsonType::number:
    return "number";
  case JsonType::string:
    return "string";
  case JsonType::object:
    return "object";
  case JsonType::array:
    return "array";
  }
  return "value";
}

enum class FieldKind : std::uint8_t { id, text, image, decimal, rank, date, last_updated, roi };

struct FieldSpec {
  std::string_view key;
  FieldKind kind;
  std::optional<std::string> CoinMarket::*optional = nullptr; // decimal and date fields
  std::string CoinMarket::*text = nullptr;                    // id, symbol, name, image
  int window = -1; // index into price_change_percentage_in_currency
};

using C = CoinMarket;
// In the order CoinGecko sends them, so the lookup hint (next entry) almost always hits.
constexpr FieldSpec kFields[] = {
    {"id", FieldKind::id, nullptr, &C::id},
    {"symbol", FieldKind::text, nullptr, &C::symbol},
    {"name", FieldKind::text, nullptr, &C::name},
    {"image", FieldKind::image, nullptr, &C::image},
    {"current_price", FieldKind::decimal, &C::current_price},
    {"market_cap", FieldKind::decimal, &C::market_cap},
    {"market_cap_rank", FieldKind::rank},
    {"fully_diluted_valuation", FieldKind::decimal, &C::fully_diluted_valuation},
    {"total_volume", FieldKind::decimal, &C::total_volume},
    {"high_24h", FieldKind::decimal, &C::high_24h},
    {"low_24h", FieldKind::decimal, &C::low_24h},
    {"price_change_24h", FieldKind::decimal, &C::price_change_24h},
    {"price_change_percentage_24h", FieldKind::decimal, &C::price_change_percentage_24h},
    {"market_cap_change_24h", FieldKind::decimal, &C::market_cap_change_24h},
    {"market_cap_change_percentage_24h", FieldKind::decimal, &C::market_cap_change_percentage_24h},
    {"circulating_supply", FieldKind::decimal, &C::circulating_supply},
    {"total_supply", FieldKind::decimal, &C::total_supply},
    {"max_supply", FieldKind::decimal, &C::max_supply},
    {"ath", FieldKind::decimal, &C::ath},
    {"ath_change_percentage", FieldKind::decimal, &C::ath_change_percentage},
    {"ath_date", FieldKind::date, &C::ath_date},
    {"atl", FieldKind::decimal, &C::atl},
    {"atl_change_percentage", FieldKind::decimal, &C::atl_change_percentage},
    {"atl_date", FieldKind::date, &C::atl_date},
    {"roi", FieldKind::roi},
    {"last_updated", FieldKind::last_updated},
    {"price_change_percentage_1h_in_currency", FieldKind::decimal, nullptr, nullptr, 0},
    {"price_change_percentage_24h_in_currency", FieldKind::decimal, nullptr, nullptr, 1},
    {"price_change_percentage_7d_in_currency", FieldKind::decimal, nullptr, nullptr, 2},
    {"price_change_percentage_14d_in_currency", FieldKind::decimal, nullptr, nullptr, 3},
    {"price_change_percentage_30d_in_currency", FieldKind::decimal, nullptr, nullptr, 4},
    {"price_change_percentage_200d_in_currency", FieldKind::decimal, nullptr, nullptr, 5},
    {"price_change_percentage_1y_in_currency", FieldKind::decimal, nullptr, nullptr, 6},
};
constexpr std::size_t kFieldCount = std::size(kFields);
static_assert(kFieldCount <= 64, "seen-key bitmask is 64 bits");

constexpr bool windows_match_table() {
  for (std::size_t w = 0; w < kPriceChangeWindows.size(); ++w) {
    const std::string_view key = kFields[kFieldCount - kPriceChangeWindows.size() + w].key;
    const std::string_view prefix = "price_change_percentage_";
    const std::string_view suffix = "_in_currency";
    if (key.substr(0, prefix.size()) != prefix ||
        key.substr(prefix.size(), kPriceChangeWindows[w].size()) != kPriceChangeWindows[w] ||
        key.substr(prefix.size() + kPriceChangeWindows[w].size()) != suffix) {
      return false;
    }
  }
  return true;
}
static_assert(windows_match_table(), "window keys must follow kPriceChangeWindows");

enum class RoiField { times, currency, percentage };
constexpr std::string_view kRoiKeys[] = {"times", "currency", "percentage"};

bool is_integer_literal(std::string_view text) noexcept {
  return text.find_first_of(".eE") == std::string_view::npos;
}

// The first kMaxRejectedIdBytes of a (valid UTF-8) id, cut at a character boundary, plus "...".
std::string cut_id(std::string_view id) {
  if (id.size() <= kMaxRejectedIdBytes) return std::string(id);
  std::size_t end = kMaxRejectedIdBytes;
  while (end > 0 && (static_cast<unsigned char>(id[end]) & 0xC0) == 0x80)
    --end;
  return std::string(id.substr(0, end)) + "...";
}

// SAX handler that builds CoinMarket values straight from the token stream. It never stops the
// parse: a bad coin is remembered and the rest of its object is consumed, so the next element
// starts cleanly.
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
      m_field = lookup_field(key);
      if (m_field >= 0) mark_seen(m_seen, m_field, kFields[m_field].key);
      m_state = State::coin_value;
    } else if (m_state == State::roi_key) {
      m_roi_field = -1;
      for (int i = 0; i < static_cast<int>(std::size(kRoiKeys)); ++i) {
        if (kRoiKeys[i] == key) m_roi_field = i;
      }
      if (m_roi_field >= 0) mark_seen(m_roi_seen, m_roi_field, roi_name(m_roi_field));
      m_state = State::roi_value;
    }
    return true;
  }

private:
  enum class State { top, array, coin_key, coin_value, roi_key, roi_value, done };

  int lookup_field(std::string_view key) noexcept {
    if (m_hint < kFieldCount && kFields[m_hint].key == key) return static_cast<int>(m_hint++);
    for (std::size_t i = 0; i < kFieldCount; ++i) {
      if (kFields[i].key == key) {
        m_hint = i + 1;
        return static_cast<int>(i);
      }
    }
    return -1;
  }

  static std::string roi_name(int field) { return "roi." + std::string(kRoiKeys[field]); }

  void mark_seen(std::uint64_t& seen, int field, std::string_view name) {
    const std::uint64_t bit = std::uint64_t{1} << field;
    if ((seen & bit) != 0) fail(name, "duplicate key");
    seen |= bit;
  }

  // Keeps the first problem only: it is the one a reader of the log needs.
  void fail(std::string_view field, std::string_view message) {
    if (!m_reason.empty()) return;
    m_reason.reserve(field.size() + message.size() + 2);
    m_reason.append(field).append(": ").append(message);
  }

  void fail_type(std::string_view field, std::string_view expected, JsonType got) {
    std::string message = "expected ";
    message.append(expected).append(", got ").append(type_name(got));
    fail(field, message);
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
    if (m_index >= kMaxElementsPerPage) return reject_beyond_cap();
    std::string reason;
    if (keeps_details())
      reason.append("element is not an object (got ").append(type_name(type)).append(")");
    record_rejection("", std::move(reason));
  }

  void reject_beyond_cap() {
    std::string reason;
    if (keeps_details())
      reason = "beyond the first " + std::to_string(kMaxElementsPerPage) + " elements of the page";
    record_rejection("", std::move(reason));
  }

  bool begin_container(JsonType type) {
    if (m_skip_depth > 0) {
      ++m_skip_depth;
      return true;
    }
    switch (m_state) {
    case State::top:
      m_state = State::array;
      break;
    case State::array:
      if (type == JsonType::object && m_index < kMaxElementsPerPage) {
        m_coin = CoinMarket{};
        m_seen = 0;
        m_hint = 0;
        m_reason.clear();
        m_state = State::coin_key;
      } else {
        reject_element(type);
        skip(State::array);
      }
      break;
    case State::coin_value:
      if (m_field >= 0 && kFields[m_field].kind == FieldKind::roi && type == JsonType::object) {
        m_roi_seen = 0;
        m_state = State::roi_key;
      } else {
        if (m_field >= 0) fail_type(kFields[m_field].key, expected_for(m_field), type);
        skip(State::coin_key);
      }
      break;
    case State::roi_value:
      if (m_roi_field >= 0) {
        fail_type(roi_name(m_roi_field),
                  m_roi_field == static_cast<int>(RoiField::currency) ? "string or null"
                                                                      : "number or null",
                  type);
      }
      skip(State::roi_key);
      break;
    case State::coin_key:
    case State::roi_key:
    case State::done:
      break; // the reader never produces a value where a key is due
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
    case State::roi_key:
      m_state = State::coin_key;
      break;
    default:
      m_state = State::done;
      break;
    }
    return true;
  }

  bool scalar(JsonType type, std::string_view text) {
    if (m_skip_depth > 0) return true;
    switch (m_state) {
    case State::array:
      reject_element(type);
      break;
    case State::coin_value:
      if (m_field >= 0) apply_field(kFields[m_field], type, text);
      m_state = State::coin_key;
      break;
    case State::roi_value:
      if (m_roi_field >= 0) apply_roi(static_cast<RoiField>(m_roi_field), type, text);
      m_state = State::roi_key;
      break;
    default:
      m_state = State::done;
      break;
    }
    return true;
  }

  static std::string_view expected_for(int field) noexcept {
    switch (kFields[field].kind) {
    case FieldKind::id:
      return "non-empty string";
    case FieldKind::text:
      return "string";
    case FieldKind::image:
      return "string or null";
    case FieldKind::decimal:
      return "number or null";
    case FieldKind::rank:
      return "integer or null";
    case FieldKind::date:
      return "ISO 8601 timestamp string or null";
    case FieldKind::last_updated:
      return "ISO 8601 timestamp string";
    case FieldKind::roi:
      return "object or null";
    }
    return "value";
  }

  // Escapes can produce text that PostgreSQL and JSON writers refuse even though the raw
  // bytes were valid UTF-8: \u0000 (a NUL) and, since RapidJSON 1.1 does not check it, a lone
  // low surrogate such as \ude80, which it encodes as ED B0..BF xx (ED A0..BF covers both halves).
  bool accept_text(std::string_view field, std::string_view text) {
    if (text.find('\0') != std::string_view::npos) {
      fail(field, "string contains a NUL character");
      return false;
    }
    for (std::size_t pos = text.find('\xED'); pos != std::string_view::npos;
         pos = text.find('\xED', pos + 1)) {
      if (pos + 1 < text.size() && static_cast<unsigned char>(text[pos + 1]) >= 0xA0) {
        fail(field, "string contains an unpaired UTF-16 surrogate escape");
        return false;
      }
    }
    return true;
  }

  void accept_decimal(std::string_view field, std::string_view text, Decimal& target) {
    if (!fits_postgres_numeric(text)) {
      std::string message = "number out of PostgreSQL numeric range: ";
      append_quoted(message, text, kMaxQuotedValueBytes);
      return fail(field, message);
    }
    target.emplace(text);
  }

  void accept_date(std::string_view field, std::string_view text,
                   std::optional<std::string>& target) {
    if (!accept_text(field, text)) return;
    if (!is_iso8601_timestamp(text)) {
      std::string message = "not an ISO 8601 timestamp: ";
      append_quoted(message, text, kMaxQuotedValueBytes);
      fail(field, message);
      return;
    }
    target.emplace(text);
  }

  void apply_field(const FieldSpec& spec, JsonType type, std::string_view text) {
    const std::string_view name = spec.key;
    switch (spec.kind) {
    case FieldKind::id:
    case FieldKind::text:
      if (type != JsonType::string) return fail_type(name, expected_for(m_field), type);
      if (spec.kind == FieldKind::id) return apply_id(text);
      if (accept_text(name, text)) (m_coin.*spec.text).assign(text);
      return;
    case FieldKind::image:
      if (type == JsonType::null) return m_coin.image.clear();
      if (type != JsonType::string) return fail_type(name, "string or null", type);
      if (accept_text(name, text)) m_coin.image.assign(text);
      return;
    case FieldKind::decimal: {
      Decimal& target = spec.window >= 0 ? m_coin.price_change_percentage_in_currency[spec.window]
                                         : m_coin.*spec.optional;
      if (type == JsonType::null) return target.reset();
      if (type != JsonType::number) return fail_type(name, "number or null", type);
      accept_decimal(name, text, target);
      return;
    }
    case FieldKind::rank:
      return apply_rank(type, text);
    case FieldKind::date:
      if (type == JsonType::null) return (m_coin.*spec.optional).reset();
      if (type != JsonType::string) return fail_type(name, expected_for(m_field), type);
      return accept_date(name, text, m_coin.*spec.optional);
    case FieldKind::last_updated: {
      if (type != JsonType::string) return fail_type(name, expected_for(m_field), type);
      std::optional<std::string> value;
      accept_date(name, text, value);
      if (value) m_coin.last_updated = std::move(*value);
      return;
    }
    case FieldKind::roi:
      if (type != JsonType::null) return fail_type(name, "object or null", type);
      m_coin.roi_times.reset();
      m_coin.roi_currency.reset();
      m_coin.roi_percentage.reset();
      return;
    }
  }

  void apply_id(std::string_view text) {
    if (text.empty()) return fail("id", "empty string");
    if (!accept_text("id", text)) return;
    if (text.size() > kMaxIdBytes) {
      m_coin.id.assign(text); // so the rejection names the coin (record_rejection cuts it)
      return fail("id", "longer than " + std::to_string(kMaxIdBytes) + " bytes (" +
                            std::to_string(text.size()) + ")");
    }
    m_coin.id.assign(text);
  }

  void apply_rank(JsonType type, std::string_view text) {
    constexpr std::string_view name = "market_cap_rank";
    if (type == JsonType::null) return m_coin.market_cap_rank.reset();
    if (type != JsonType::number) return fail_type(name, "integer or null", type);
    if (!is_integer_literal(text)) return fail(name, "expected integer or null, got fraction");
    // The column is PostgreSQL integer: a wider value would refuse the whole page.
    std::int32_t value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || end != text.data() + text.size()) {
      return fail(name, "integer out of range (PostgreSQL integer)");
    }
    m_coin.market_cap_rank = value;
  }

  void apply_roi(RoiField field, JsonType type, std::string_view text) {
    const std::string name = roi_name(static_cast<int>(field));
    if (field == RoiField::currency) {
      if (type == JsonType::null) return m_coin.roi_currency.reset();
      if (type != JsonType::string) return fail_type(name, "string or null", type);
      if (accept_text(name, text)) m_coin.roi_currency.emplace(text);
      return;
    }
    Decimal& target = field == RoiField::times ? m_coin.roi_times : m_coin.roi_percentage;
    if (type == JsonType::null) return target.reset();
    if (type != JsonType::number) return fail_type(name, "number or null", type);
    accept_decimal(name, text, target);
  }

  void finish_coin() {
    static constexpr std::string_view kRequired[] = {"id", "symbol", "name", "last_updated"};
    static constexpr int kRequiredIndex[] = {0, 1, 2, 25};
    for (std::size_t i = 0; i < std::size(kRequired); ++i) {
      if ((m_seen & (std::uint64_t{1} << kRequiredIndex[i])) == 0) {
        fail(kRequired[i], "required field missing");
      }
    }
    if (m_reason.empty()) {
      m_page.coins.push_back(std::move(m_coin));
      ++m_index;
    } else {
      record_rejection(std::move(m_coin.id), std::move(m_reason));
      m_reason.clear();
    }
  }

  ParsedPage& m_page;
  State m_state = State::top;
  State m_after_skip = State::array;
  std::size_t m_skip_depth = 0;
  std::size_t m_index = 0;
  CoinMarket m_coin;
  std::uint64_t m_seen = 0;
  std::uint64_t m_roi_seen = 0;
  std::size_t m_hint = 0;
  int m_field = -1;
  int m_roi_field = -1;
  std::string m_reason;
};
static_assert(kFields[25].key == "last_updated", "finish_coin relies on this index");

} // namespace

CoinArrayParse parse_coin_array(std::string_view body) {
  CoinArrayParse parse;
  CoinsHandler handler(parse.page);
  rapidjson::Reader reader;
  rapidjson::MemoryStream stream(body.data(), body.size());
  parse.result = reader.Parse<kArrayFlags>(stream, handler);
  parse.consumed = stream.Tell();
  return parse;
}

} // namespace etl::market::detail
