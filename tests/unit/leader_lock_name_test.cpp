#include "config/config.hpp"
#include "db/leader_lock.hpp"

#include <catch2/catch.hpp>

using etl::config::Config;
using etl::config::leader_lock_name;
using etl::db::leader_lock_key;

TEST_CASE("replicas elect under a name derived from what they poll", "[config][leader]") {
  Config usd;
  usd.coingecko_url =
      "https://api.coingecko.com/api/v3/coins/markets?x_cg_demo_api_key=CG-secret&replica=1";
  usd.vs_currencies = {"usd"};
  // The query (a key, a marker) is not part of what is polled, and never appears in the name.
  CHECK(leader_lock_name(usd) == "https://api.coingecko.com/api/v3/coins/markets usd");

  Config both = usd;
  both.vs_currencies = {"usd", "eur"};
  Config both_reordered = usd;
  both_reordered.vs_currencies = {"eur", "usd"};
  CHECK(leader_lock_name(both) == "https://api.coingecko.com/api/v3/coins/markets eur,usd");
  CHECK(leader_lock_key(leader_lock_name(both)) ==
        leader_lock_key(leader_lock_name(both_reordered)));

  Config eur = usd;
  eur.vs_currencies = {"eur"};
  CHECK(leader_lock_key(leader_lock_name(usd)) != leader_lock_key(leader_lock_name(eur)));
  Config pro = usd;
  pro.coingecko_url = "https://pro-api.coingecko.com/api/v3/coins/markets";
  CHECK(leader_lock_key(leader_lock_name(usd)) != leader_lock_key(leader_lock_name(pro)));

  // LEADER_LOCK_NAME: one poller across a change of what is polled (e.g. a rolling update that
  // adds a currency).
  usd.leader_lock_name = "prices";
  eur.leader_lock_name = "prices";
  CHECK(leader_lock_key(leader_lock_name(usd)) == leader_lock_key(leader_lock_name(eur)));
  // Stable across versions and hosts: a fixed value, not std::hash.
  CHECK(leader_lock_key("prices") == leader_lock_key(std::string("pri") + "ces"));
  static_assert(leader_lock_key("a") != leader_lock_key("b"));
}
