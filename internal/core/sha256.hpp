#pragma once
// SHA-256 of a byte string (OpenSSL's libcrypto, which libcurl and libpq load anyway). Raw pages
// carry it in coin_market_raw.body_sha256: a page byte-identical to an earlier one is recognised
// by it and stored as a reference (db/stored_pages.hpp), and anyone can check a stored page
// against its file in data/raw/ (`sha256sum`).
#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace etl::core {

using Sha256 = std::array<std::uint8_t, 32>;

Sha256 sha256(std::string_view bytes);

// Lower-case hex, as sha256sum prints it.
std::string to_hex(const Sha256& digest);

} // namespace etl::core
