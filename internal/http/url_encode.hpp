#pragma once
// Percent-encoding for query values and path segments, for any source's URLs.
#include <string>
#include <string_view>

namespace etl::http {

// Percent-encodes everything but RFC 3986 unreserved characters (A-Z a-z 0-9 - . _ ~), in
// upper-case hex, byte by byte (UTF-8 stays UTF-8).
std::string url_encode(std::string_view s);

} // namespace etl::http
