#pragma once
// Request framing for the connection loop: where a request's header block ends and how long its
// body is, read from the raw bytes before any worker sees them. Pure functions, no I/O.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace etl::server {

// End of the header block (index just past the blank line), or npos. httplib ends headers at
// the first line that is exactly CRLF; a bare-LF blank line is taken as an end too, so such a
// request gets its 400 at once instead of at the deadline.
std::size_t header_end(std::string_view in, std::size_t from);

// The body length the header block announces: 0 without Content-Length, nullopt when the
// handler must see the request now (chunked, unparseable or over-long length: it answers).
std::optional<std::size_t> body_length(std::string_view head, std::size_t max_body);

// A complete `Connection: close` response with a one-line text body.
std::string error_response(int status, std::string_view reason);

} // namespace etl::server
