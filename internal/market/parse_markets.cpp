#include "market/parse_markets.hpp"

#include "market/coin_array_parser.hpp"
#include "market/text_quote.hpp"

#include <optional>
#include <string>
#include <utility>

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>
#include <rapidjson/memorystream.h>

namespace etl::market {
namespace {

// Validation and iterative parsing for the same reasons as the coin array (see
// coin_array_parser.cpp); numbers are not needed exactly here, only shown in the detail.
constexpr unsigned kDomFlags =
    rapidjson::kParseValidateEncodingFlag | rapidjson::kParseIterativeFlag;
constexpr std::size_t kMaxQuotedBytes = 200;

std::string body_excerpt(std::string_view label, std::string_view text) {
  std::string text_out(label);
  detail::append_quoted(text_out, text, kMaxQuotedBytes);
  return text_out;
}

// ---- timestamps -----------------------------------------------------------------------------

bool read_digits(std::string_view text, std::size_t pos, std::size_t count, int& value) noexcept {
  if (pos + count > text.size()) return false;
  value = 0;
  for (std::size_t i = pos; i < pos + count; ++i) {
    if (text[i] < '0' || text[i] > '9') return false;
    value = value * 10 + (text[i] - '0');
  }
  return true;
}

int days_in_month(int year, int month) noexcept {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  return month == 2 && leap ? 29 : kDays[month - 1];
}

// ---- body classification --------------------------------------------------------------------

// True when body[offset..] is the start of a multi-byte UTF-8 character that the end of the
// body cut short: RapidJSON reports that as bad encoding, but the body was truncated.
bool is_cut_utf8(std::string_view body, std::size_t offset) noexcept {
  if (offset >= body.size()) return false;
  const auto lead = static_cast<unsigned char>(body[offset]);
  const std::size_t need = lead > 0xF4    ? 0
                           : lead >= 0xF0 ? 4
                           : lead >= 0xE0 ? 3
                           : lead >= 0xC2 ? 2
                                          : 0;
  const std::size_t have = body.size() - offset;
  if (need == 0 || have >= need) return false;
  for (std::size_t i = offset + 1; i < body.size(); ++i) {
    const auto c = static_cast<unsigned char>(body[i]);
    if (c < 0x80 || c > 0xBF) return false;
  }
  return true;
}

BodyError parse_failure(std::string_view body, rapidjson::ParseErrorCode code, std::size_t offset) {
  std::string where = std::string(rapidjson::GetParseError_En(code)) + " at byte " +
                      std::to_string(offset) + " of " + std::to_string(body.size());
  if (code == rapidjson::kParseErrorDocumentEmpty || offset >= body.size() ||
      (code == rapidjson::kParseErrorStringInvalidEncoding && is_cut_utf8(body, offset))) {
    const std::size_t tail = body.size() > kMaxQuotedBytes ? body.size() - kMaxQuotedBytes : 0;
    return {BodyErrorKind::truncated,
            body_excerpt("truncated JSON (" + where + "); body ends ", body.substr(tail))};
  }
  return {BodyErrorKind::not_json, body_excerpt("not JSON (" + where + "); body ", body)};
}

// A trailing NUL byte looks like end of input to RapidJSON; a body must be consumed whole.
std::optional<BodyError> check_consumed(std::string_view body, std::size_t consumed) {
  if (consumed >= body.size()) return std::nullopt;
  return BodyError{
      BodyErrorKind::not_json,
      body_excerpt("not JSON (NUL byte at byte " + std::to_string(consumed) + "); body ", body)};
}

void append_json_value(std::string& out, const rapidjson::Value& value, std::size_t budget) {
  if (value.IsString()) {
    detail::append_quoted(out, {value.GetString(), value.GetStringLength()}, budget);
  } else if (value.IsInt64()) {
    out += std::to_string(value.GetInt64());
  } else if (value.IsUint64()) {
    out += std::to_string(value.GetUint64());
  } else if (value.IsNumber()) {
    out += std::to_string(value.GetDouble());
  } else if (value.IsBool()) {
    out += value.GetBool() ? "true" : "false";
  } else if (value.IsNull()) {
    out += "null";
  } else {
    out += value.IsObject() ? "{...}" : "[...]";
  }
}

// Collects the fields CoinGecko puts error codes in: status.{error_code,error_message},
// error.status.{...}, top-level error_code/error_message, and "error"/"status" scalars.
// Depth is bounded because the body is untrusted.
void describe_error_fields(std::string& out, const rapidjson::Value& object, std::size_t& budget,
                           int depth = 0) {
  static constexpr const char* kKeys[] = {"status", "error_code", "error_message", "error"};
  for (const char* key : kKeys) {
    const auto it = object.FindMember(key);
    if (it == object.MemberEnd()) continue;
    if (it->value.IsObject() && depth < 2) {
      describe_error_fields(out, it->value, budget, depth + 1);
      continue;
    }
    out.append(" ").append(key).append("=");
    const std::size_t before = out.size();
    append_json_value(out, it->value, budget);
    const std::size_t used = out.size() - before;
    budget = used < budget ? budget - used : 0;
  }
}

BodyError classify_value(const rapidjson::Document& doc) {
  if (doc.IsObject() && (doc.HasMember("status") || doc.HasMember("error"))) {
    std::string message = "error object:";
    std::size_t budget = kMaxQuotedBytes;
    describe_error_fields(message, doc, budget);
    return {BodyErrorKind::error_object, std::move(message)};
  }
  std::string message = "JSON ";
  if (doc.IsObject()) {
    message += "object without status or error key";
  } else {
    message += doc.IsString()   ? "string"
               : doc.IsNumber() ? "number"
               : doc.IsBool()   ? "boolean"
                                : "null";
  }
  return {BodyErrorKind::not_array, message + ", not an array"};
}

tl::expected<ParsedPage, BodyError> parse_non_array(std::string_view body) {
  rapidjson::MemoryStream stream(body.data(), body.size());
  rapidjson::Document doc;
  doc.ParseStream<kDomFlags>(stream);
  if (doc.HasParseError()) {
    return tl::unexpected(parse_failure(body, doc.GetParseError(), doc.GetErrorOffset()));
  }
  if (auto error = check_consumed(body, stream.Tell())) return tl::unexpected(std::move(*error));
  return tl::unexpected(classify_value(doc));
}

tl::expected<ParsedPage, BodyError> parse_array(std::string_view body) {
  detail::CoinArrayParse parse = detail::parse_coin_array(body);
  if (parse.result.IsError()) {
    return tl::unexpected(parse_failure(body, parse.result.Code(), parse.result.Offset()));
  }
  if (auto error = check_consumed(body, parse.consumed)) return tl::unexpected(std::move(*error));
  return std::move(parse.page);
}

} // namespace

std::string_view to_string(BodyErrorKind kind) noexcept {
  switch (kind) {
  case BodyErrorKind::empty: return "empty";
  case BodyErrorKind::html: return "html";
  case BodyErrorKind::not_json: return "not_json";
  case BodyErrorKind::truncated: return "truncated";
  case BodyErrorKind::error_object: return "error_object";
  case BodyErrorKind::not_array: return "not_array";
  }
  return "unknown";
}

tl::expected<ParsedPage, BodyError> parse_markets(std::string_view body) {
  const std::size_t first = body.find_first_not_of(" \t\r\n\f\v");
  if (first == std::string_view::npos) {
    return tl::unexpected(
        BodyError{BodyErrorKind::empty, "empty body (" + std::to_string(body.size()) + " bytes)"});
  }
  if (body[first] == '<') {
    return tl::unexpected(BodyError{BodyErrorKind::html, body_excerpt("HTML body ", body)});
  }
  if (body[first] == '[') return parse_array(body);
  return parse_non_array(body);
}

bool is_iso8601_timestamp(std::string_view text) noexcept {
  // YYYY-MM-DDTHH:MM:SS is 19 characters; the zone adds at least 1.
  if (text.size() < 20) return false;
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (!read_digits(text, 0, 4, year) || text[4] != '-' || !read_digits(text, 5, 2, month) ||
      text[7] != '-' || !read_digits(text, 8, 2, day) || text[10] != 'T' ||
      !read_digits(text, 11, 2, hour) || text[13] != ':' || !read_digits(text, 14, 2, minute) ||
      text[16] != ':' || !read_digits(text, 17, 2, second)) {
    return false;
  }
  // PostgreSQL rejects year 0; 60 seconds is a leap second.
  if (year < 1 || month < 1 || month > 12 || day < 1 || day > days_in_month(year, month) ||
      hour > 23 || minute > 59 || second > 60) {
    return false;
  }
  std::size_t pos = 19;
  if (text[pos] == '.') {
    const std::size_t start = ++pos;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') ++pos;
    if (pos == start || pos - start > 9) return false;
    // PostgreSQL takes "23:59:60" (rolled over to the next minute) but refuses "23:59:60.5".
    if (second == 60 &&
        text.substr(start, pos - start).find_first_not_of('0') != std::string_view::npos)
      return false;
  }
  if (pos >= text.size()) return false;
  if (text[pos] == 'Z') return pos + 1 == text.size();
  if (text[pos] != '+' && text[pos] != '-') return false;
  // PostgreSQL's limit on a zone displacement (MAX_TZDISP_HOUR): "+16:00" is
  // "time zone displacement out of range".
  constexpr int kMaxOffsetHour = 15;
  int offset_hour = 0, offset_minute = 0;
  return text.size() == pos + 6 && read_digits(text, pos + 1, 2, offset_hour) &&
         text[pos + 3] == ':' && read_digits(text, pos + 4, 2, offset_minute) &&
         offset_hour <= kMaxOffsetHour && offset_minute <= 59;
}

bool fits_postgres_numeric(std::string_view text) noexcept {
  // PostgreSQL's limits (numeric.c): NUMERIC_WEIGHT_MAX 32767 base-10000 digits before the point,
  // NUMERIC_DSCALE_MAX 16383 decimal digits after it, and |exponent| < INT_MAX / 2.
  constexpr long long kMaxPower = 4LL * 32768 - 1; // 131072 digits before the point
  constexpr long long kMaxScale = 16383;
  constexpr long long kMaxExponent = 1073741823; // INT_MAX / 2: refused from here on
  const auto is_digit = [&](std::size_t i) {
    return i < text.size() && text[i] >= '0' && text[i] <= '9';
  };
  std::size_t i = 0;
  if (i < text.size() && text[i] == '-') ++i;
  const std::size_t int_start = i;
  while (is_digit(i)) ++i;
  const std::size_t int_len = i - int_start;
  std::size_t frac_start = i;
  std::size_t frac_len = 0;
  if (i < text.size() && text[i] == '.') {
    frac_start = ++i;
    while (is_digit(i)) ++i;
    frac_len = i - frac_start;
  }
  if (int_len == 0) return false;
  long long exponent = 0;
  if (i < text.size() && (text[i] == 'e' || text[i] == 'E')) {
    ++i;
    bool negative = false;
    if (i < text.size() && (text[i] == '+' || text[i] == '-')) negative = text[i++] == '-';
    if (!is_digit(i)) return false;
    for (; is_digit(i); ++i) {
      // Saturates: anything past the limit is refused whatever its exact value.
      if (exponent <= kMaxExponent) exponent = exponent * 10 + (text[i] - '0');
    }
    if (exponent >= kMaxExponent) return false;
    if (negative) exponent = -exponent;
  }
  if (i != text.size()) return false;
  // Digits written after the point, moved by the exponent; zeros count (numeric keeps them).
  if (static_cast<long long>(frac_len) - exponent > kMaxScale) return false;
  // The power of ten of the first nonzero digit, moved by the exponent. Zero has no weight.
  const std::string_view digits_int = text.substr(int_start, int_len);
  const std::size_t lead = digits_int.find_first_not_of('0');
  long long power = 0;
  if (lead != std::string_view::npos) {
    power = static_cast<long long>(int_len - lead) - 1;
  } else {
    const std::size_t frac_lead = text.substr(frac_start, frac_len).find_first_not_of('0');
    if (frac_len == 0 || frac_lead == std::string_view::npos) return true;
    power = -static_cast<long long>(frac_lead) - 1;
  }
  return power + exponent <= kMaxPower;
}

} // namespace etl::market
