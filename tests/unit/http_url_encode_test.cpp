// Percent-encoding (http/), which every source's URLs go through.
#include "http/url_encode.hpp"

#include <catch2/catch.hpp>

using etl::http::url_encode;

TEST_CASE("url_encode: unreserved characters pass, everything else is %XX", "[http][url]") {
  CHECK(url_encode("bitcoin") == "bitcoin");
  CHECK(url_encode("AZaz09-._~") == "AZaz09-._~");
  CHECK(url_encode("usd,eur") == "usd%2Ceur");
  CHECK(url_encode("a b&c=d/e?f#g") == "a%20b%26c%3Dd%2Fe%3Ff%23g");
  CHECK(url_encode("%") == "%25");
  CHECK(url_encode("\xc3\xa9") == "%C3%A9"); // UTF-8 bytes, upper-case hex
  CHECK(url_encode(std::string_view("\0\n", 2)) == "%00%0A");
  CHECK(url_encode("").empty());
}
