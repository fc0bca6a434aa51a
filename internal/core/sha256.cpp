#include "core/sha256.hpp"

#include <stdexcept>

#include <openssl/evp.h>

namespace etl::core {

Sha256 sha256(std::string_view bytes) {
  Sha256 digest{};
  unsigned int size = 0;
  // One-shot EVP: the implementation OpenSSL picks for this CPU (SHA-NI where present,
  // ~0.1 ms per 200 KB page). It fails only when the library cannot allocate its context.
  if (EVP_Digest(bytes.data(), bytes.size(), digest.data(), &size, EVP_sha256(), nullptr) != 1 ||
      size != digest.size())
    throw std::bad_alloc();
  return digest;
}

std::string to_hex(const Sha256& digest) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(digest.size() * 2);
  for (const std::uint8_t b : digest) {
    out += kHex[b >> 4U];
    out += kHex[b & 0x0fU];
  }
  return out;
}

} // namespace etl::core
