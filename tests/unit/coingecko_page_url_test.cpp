#include "coingecko/markets_client.hpp"

#include <catch2/catch.hpp>

using etl::StopSignal;
using etl::coingecko::ClientOptions;
using etl::coingecko::MarketsClient;
using etl::http::HttpRequest;
using etl::http::HttpResponse;
using etl::http::HttpTransport;
using etl::http::TransportError;

namespace {

struct NullTransport final : HttpTransport {
  tl::expected<HttpResponse, TransportError> get(const HttpRequest&,
                                                 const std::function<bool()>&) override {
    return HttpResponse{200, "[]", std::nullopt, "application/json"};
  }
};

std::string url_for(std::string markets_url, std::string_view currency, int page,
                    int per_page = 100) {
  NullTransport transport;
  StopSignal stop;
  ClientOptions options;
  options.markets_url = std::move(markets_url);
  options.per_page = per_page;
  return MarketsClient(options, transport, stop).page_url(currency, page);
}

} // namespace

TEST_CASE("page_url: the default endpoint gets the documented query") {
  CHECK(
      url_for("https://api.coingecko.com/api/v3/coins/markets", "usd", 1) ==
      "https://api.coingecko.com/api/v3/coins/markets?vs_currency=usd&order=market_cap_desc&per_page=100&page=1");
}

TEST_CASE("page_url: keeps the operator's parameters and their order") {
  CHECK(
      url_for("https://api.coingecko.com/api/v3/coins/markets?price_change_percentage=24h,7d&x=1",
              "eur", 3, 50) ==
      "https://api.coingecko.com/api/v3/coins/markets?price_change_percentage=24h,7d&x=1&vs_currency=eur"
      "&order=market_cap_desc&per_page=50&page=3");
}

TEST_CASE("page_url: replaces vs_currency, per_page and page in place, keeps a given order") {
  CHECK(
      url_for(
          "http://h/coins/markets?page=9&order=volume_desc&vs_currency=jpy&per_page=7&sparkline=false",
          "usd", 2, 250) ==
      "http://h/coins/markets?page=2&order=volume_desc&vs_currency=usd&per_page=250&sparkline=false");
}

TEST_CASE("page_url: duplicates collapse to one value, empty pieces and fragments go") {
  CHECK(url_for("http://h/m?page=1&&page=5&ids=bitcoin&#frag", "usd", 4) ==
        "http://h/m?page=4&ids=bitcoin&vs_currency=usd&order=market_cap_desc&per_page=100");
  CHECK(url_for("http://h/m?", "usd", 1) ==
        "http://h/m?vs_currency=usd&order=market_cap_desc&per_page=100&page=1");
}

TEST_CASE("page_url: the currency is URL-encoded") {
  CHECK(url_for("http://h/m", "us d&x=1", 1) ==
        "http://h/m?vs_currency=us%20d%26x%3D1&order=market_cap_desc&per_page=100&page=1");
  CHECK(url_for("http://h/m", "usd-t_1.~", 1) ==
        "http://h/m?vs_currency=usd-t_1.~&order=market_cap_desc&per_page=100&page=1");
}

TEST_CASE("page_url: never carries the API key") {
  NullTransport transport;
  StopSignal stop;
  ClientOptions options;
  options.plan = etl::coingecko::Plan::demo;
  options.api_key = etl::Secret("CG-secretkey123");
  const auto url = MarketsClient(options, transport, stop).page_url("usd", 1);
  CHECK(url.find("CG-secretkey123") == std::string::npos);
  CHECK(url.find("api_key") == std::string::npos);
}
