#include "market/coin_builder.hpp"

#include "market/text_quote.hpp"

#include <array>

namespace etl::market::detail {
namespace {
constexpr std::size_t kMaxQuotedValueBytes = 64;
} // namespace

std::string_view type_name(JsonType type) noexcept {
  switch (type) {
  case JsonType::null: return "null";
  case JsonType::boolean: return "boolean";
  case JsonType::number: return "number";
  case JsonType::string: return "string";
  case JsonType::object: return "object";
  case JsonType::array: return "array";
  }
  return "value";
}

void CoinBuilder::fail(std::string_view field, std::string_view message) {
  if (!m_reason.empty()) return;
  m_reason.reserve(field.size() + message.size() + 2);
  m_reason.append(field).append(": ").append(message);
}

void CoinBuilder::fail_type(std::string_view field, std::string_view expected, JsonType got) {
  std::string message = "expected ";
  message.append(expected).append(", got ").append(type_name(got));
  fail(field, message);
}

void CoinBuilder::fail_value(std::string_view field, std::string_view message,
                             std::string_view value) {
  std::string text(message);
  append_quoted(text, value, kMaxQuotedValueBytes);
  fail(field, text);
}

void CoinBuilder::fail_id_length(std::size_t size) {
  std::string message = "longer than ";
  message.append(std::to_string(kMaxIdBytes)).append(" bytes (");
  message.append(std::to_string(size)).append(")");
  fail("id", message);
}

const std::string& CoinBuilder::roi_name(std::size_t roi) {
  static const auto names = [] {
    std::array<std::string, kRoiFields.size()> out;
    for (std::size_t i = 0; i < out.size(); ++i) {
      out[i] = "roi.";
      out[i].append(kCoinMarketFields[kRoiFields[i]].api_key);
    }
    return out;
  }();
  return names[roi];
}

} // namespace etl::market::detail
