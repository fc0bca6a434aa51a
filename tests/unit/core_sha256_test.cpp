// core::sha256 against the FIPS 180-2 test vectors and sha256sum's hex form.
#include "core/sha256.hpp"

#include <catch2/catch.hpp>

#include <string>

using etl::core::sha256;
using etl::core::to_hex;

TEST_CASE("sha256: standard vectors, hex as sha256sum prints it", "[core]") {
  CHECK(to_hex(sha256("")) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(to_hex(sha256("abc")) ==
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(to_hex(sha256("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")) ==
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  // Bytes, not C strings: a NUL inside counts.
  const std::string with_nul("a\0b", 3);
  CHECK(sha256(with_nul) != sha256("ab"));
  CHECK(sha256(std::string(1'000'000, 'a')) == sha256(std::string(1'000'000, 'a')));
  CHECK(to_hex(sha256(std::string(1'000'000, 'a'))) ==
        "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}
