#include "core/url_secrets.hpp"

#include <catch2/catch.hpp>

using etl::redact_url;
using etl::url_secret_values;

TEST_CASE("url secrets: keys and tokens in the query are redacted, other parameters kept",
          "[core]") {
  CHECK(
      redact_url(
          "https://api.coingecko.com/api/v3/coins/markets?x_cg_demo_api_key=CG-abc&precision=full") ==
      "https://api.coingecko.com/api/v3/coins/markets?x_cg_demo_api_key=<redacted>&precision=full");
  CHECK(redact_url("https://h/p?X_CG_PRO_API_KEY=k#frag") ==
        "https://h/p?X_CG_PRO_API_KEY=<redacted>#frag");
  CHECK(redact_url("https://h/p?access_token=t&sig=s&vs_currency=usd") ==
        "https://h/p?access_token=<redacted>&sig=<redacted>&vs_currency=usd");
  CHECK(redact_url("https://h/p?flag&key") == "https://h/p?flag&key"); // no value: nothing to hide
  CHECK(redact_url("https://h/p") == "https://h/p");
}

TEST_CASE("url secrets: userinfo passwords are redacted, doubtful shapes hidden whole", "[core]") {
  CHECK(redact_url("http://user:pw@host/p") == "http://user:<redacted>@host/p");
  CHECK(redact_url("http://user@host/p") == "http://user@host/p");
  CHECK(redact_url("http://u:p@ss@host/p") == "<redacted>");
  CHECK(redact_url("http://host/p?key=a@b") == "<redacted>");
}

TEST_CASE("url secrets: the values themselves, raw and percent-decoded, for scrubbing text",
          "[core]") {
  const auto values =
      url_secret_values("http://u:p%40w@host/p?x_cg_demo_api_key=CG-1&api_token=a%2Bb&page=2");
  CHECK(values == std::vector<std::string>{"p%40w", "p@w", "CG-1", "a%2Bb", "a+b"});
  CHECK(url_secret_values("https://api.coingecko.com/api/v3/coins/markets?page=1").empty());
}
