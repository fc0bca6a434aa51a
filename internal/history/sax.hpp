#pragma once
// The one way the history parsers run rapidjson's SAX reader: numbers as their exact text (never
// a double), encoding validated (every string valid UTF-8), iterative parsing (the stack stays
// bounded on hostile nesting), and the whole body consumed (an embedded NUL ends the text early).
#include <string>
#include <string_view>

#include <rapidjson/memorystream.h>
#include <rapidjson/reader.h>
#include <tl/expected.hpp>

namespace etl::history::detail {

inline constexpr unsigned kSaxFlags = rapidjson::kParseNumbersAsStringsFlag |
                                      rapidjson::kParseValidateEncodingFlag |
                                      rapidjson::kParseIterativeFlag;

// `handler.error` says why the handler stopped; `what` names the expected document in messages
// ("not <what>: ...").
template <class Handler>
tl::expected<void, std::string> run_sax(std::string_view body, Handler& handler,
                                        std::string_view what) {
  rapidjson::Reader reader;
  rapidjson::MemoryStream stream(body.data(), body.size());
  const auto result = reader.Parse<kSaxFlags>(stream, handler);
  if (result.IsError()) {
    if (!handler.error.empty())
      return tl::make_unexpected("not " + std::string(what) + ": " + handler.error);
    return tl::make_unexpected("not JSON (error at byte " + std::to_string(result.Offset()) + ")");
  }
  if (stream.Tell() != body.size())
    return tl::make_unexpected(std::string("not JSON (a NUL byte)"));
  return {};
}

} // namespace etl::history::detail
