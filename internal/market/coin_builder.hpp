#pragma once
// One coin object's values, checked and stored as the SAX parser hands them over: the per-kind
// rules of the field table (types, NUL and surrogate checks, numeric range, ISO 8601 dates,
// integer rank). Internal to etl::market's parser. The value paths are inline because they run
// for every field of every coin; only the failure messages are out of line.
#include "market/api_keys.hpp"
#include "market/parse_markets.hpp"

#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>

namespace etl::market::detail {

enum class JsonType { null, boolean, number, string, object, array };
std::string_view type_name(JsonType type) noexcept;

class CoinBuilder {
public:
  // Starts a new coin, built in place in `target` (a fresh element of the page's vector, so a
  // coin is never moved after parsing): no values, no problem.
  void start(CoinMarket& target) {
    m_coin = &target;
    m_reason.clear();
  }
  CoinMarket& coin() noexcept { return *m_coin; }
  // The first problem found in this coin ("field: message"), empty when none.
  std::string& reason() noexcept { return m_reason; }

  // Keeps the first problem only: it is the one a reader of the log needs.
  void fail(std::string_view field, std::string_view message);
  void fail_type(std::string_view field, std::string_view expected, JsonType got);

  void apply(const ApiKey& key, JsonType type, std::string_view text) {
    const Field& spec = kCoinMarketFields[key.field];
    if (key.roi) return apply_null_roi(type);
    switch (spec.kind) {
    case FieldKind::id:
      if (type != JsonType::string) return fail_type(spec.api_key, expected_for(key), type);
      return apply_id(text);
    case FieldKind::text:
    case FieldKind::last_updated:
      if (type != JsonType::string) return fail_type(spec.api_key, expected_for(key), type);
      if (spec.kind == FieldKind::last_updated && !accept_date(spec.api_key, text)) return;
      if (spec.kind == FieldKind::text && !accept_text(spec.api_key, text)) return;
      (m_coin->*spec.text).assign(text);
      return;
    case FieldKind::image:
      if (type == JsonType::null) return m_coin->image.clear();
      if (type != JsonType::string) return fail_type(spec.api_key, expected_for(key), type);
      if (accept_text(spec.api_key, text)) m_coin->image.assign(text);
      return;
    case FieldKind::rank: return apply_rank(type, text);
    default: return apply_optional(spec, spec.api_key, type, text);
    }
  }

  // A value inside the "roi" object; `roi` indexes kRoiFields.
  void apply_roi(std::size_t roi, JsonType type, std::string_view text) {
    apply_optional(kCoinMarketFields[kRoiFields[roi]], roi_name(roi), type, text);
  }

  // "roi.times", ...: built once, so naming a roi key costs no allocation per coin.
  static const std::string& roi_name(std::size_t roi);

private:
  // Decimal, date and roi rows: null resets, otherwise the kind's check decides.
  void apply_optional(const Field& spec, std::string_view name, JsonType type,
                      std::string_view text) {
    std::optional<std::string>& target =
        spec.window >= 0 ? m_coin->price_change_percentage_in_currency[spec.window]
                         : m_coin->*spec.optional;
    if (type == JsonType::null) return target.reset();
    const bool numeric = sql_type(spec.kind) == SqlType::numeric;
    if (type != (numeric ? JsonType::number : JsonType::string)) {
      return fail_type(name, expected_for(spec.kind), type);
    }
    if (numeric) {
      if (!fits_postgres_numeric(text))
        return fail_value(name, "number out of PostgreSQL numeric range: ", text);
    } else if (spec.kind == FieldKind::date ? !accept_date(name, text) : !accept_text(name, text)) {
      return;
    }
    target.emplace(text);
  }

  // An API null roi clears all its parts.
  void apply_null_roi(JsonType type) {
    if (type != JsonType::null) return fail_type("roi", "object or null", type);
    for (const std::size_t row : kRoiFields) (m_coin->*kCoinMarketFields[row].optional).reset();
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

  bool accept_date(std::string_view field, std::string_view text) {
    if (!accept_text(field, text)) return false;
    if (is_iso8601_timestamp(text)) return true;
    fail_value(field, "not an ISO 8601 timestamp: ", text);
    return false;
  }

  void apply_id(std::string_view text) {
    if (text.empty()) return fail("id", "empty string");
    if (!accept_text("id", text)) return;
    m_coin->id.assign(text); // even when too long, so the rejection names the coin
    if (text.size() > kMaxIdBytes) fail_id_length(text.size());
  }

  void apply_rank(JsonType type, std::string_view text) {
    constexpr std::string_view name = "market_cap_rank";
    if (type == JsonType::null) return m_coin->market_cap_rank.reset();
    if (type != JsonType::number) return fail_type(name, "integer or null", type);
    if (text.find_first_of(".eE") != std::string_view::npos) {
      return fail(name, "expected integer or null, got fraction");
    }
    // The column is PostgreSQL integer: a wider value would refuse the whole page.
    std::int32_t value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || end != text.data() + text.size()) {
      return fail(name, "integer out of range (PostgreSQL integer)");
    }
    m_coin->market_cap_rank = value;
  }

  // "<message><quoted value>", the value cut to a few dozen bytes.
  void fail_value(std::string_view field, std::string_view message, std::string_view value);
  void fail_id_length(std::size_t size);

  CoinMarket* m_coin = nullptr;
  std::string m_reason;
};

} // namespace etl::market::detail
