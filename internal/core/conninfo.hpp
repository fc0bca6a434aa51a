#pragma once
// The one home of libpq connection-string handling shared by every connection the daemon opens.
#include "core/secret.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace etl::core {

// True for the URI form ("postgresql://..." or "postgres://..."); false for key=value.
bool is_conninfo_uri(std::string_view conninfo) noexcept;

// `conninfo` with key=value added (URI query or key=value list) when it does not mention `key`
// already. Naive on purpose: a password containing "keepalives" merely keeps the libpq default.
std::string with_default_conninfo_param(std::string conninfo, std::string_view key,
                                        std::string_view value);

// A conninfo value, always single-quoted (backslash before ' and \), so blanks and '=' need no
// thought: the form conninfo_secrets() reads back.
std::string conninfo_quote(std::string_view value);

// The password inside a libpq URI or key=value conninfo, as written and decoded (a library
// message could echo either); empty when it has none.
std::vector<Secret> conninfo_secrets(std::string_view conninfo);

} // namespace etl::core
