#pragma once
// Secrets that ride inside URLs: a password in user:password@, or an API key or token in a query
// parameter (CoinGecko accepts ?x_cg_demo_api_key=...). Pure text functions, so every place that
// shows or reports a URL (check-config, /status, logs, error text) can hide them the same way.
#include <string>
#include <string_view>
#include <vector>

namespace etl {

// True for a query parameter name that carries a credential: anything naming a key, token,
// secret, password, signature or auth (case-insensitive), e.g. x_cg_pro_api_key, access_token.
bool is_secret_parameter(std::string_view name);

// The URL with the userinfo password and every secret parameter's value replaced by
// "<redacted>". When the URL's shape leaves doubt about where a secret ends (several '@', an
// '@' outside the authority), the whole value becomes "<redacted>": better nothing than a leak.
std::string redact_url(std::string_view url);

// The secret values themselves (userinfo password, secret parameters' values, as written and
// percent-decoded), for scrubbing library error text that may echo the URL. Empty ones omitted.
std::vector<std::string> url_secret_values(std::string_view url);

// %XX sequences decoded; '+' becomes a space in query text (plus_is_space), not in a path or
// userinfo. A '%' not followed by two hex digits stays as it is.
std::string percent_decode(std::string_view text, bool plus_is_space = true);

} // namespace etl
