#include "config/config.hpp"

#include <catch2/catch.hpp>

using etl::Secret;
using etl::config::Config;
using etl::config::load_config;
using etl::config::redact_database_url;
using etl::config::render_effective;

namespace {
constexpr const char* kSecret = "s3cr3t-KEY-value";
}

TEST_CASE("config: conninfo quotes every part and escapes quotes and backslashes", "[config]") {
  Config c;
  c.postgres_host = "db host";
  c.postgres_port = 6543;
  c.postgres_user = "etl";
  c.postgres_password = Secret("pa ss'wo\\rd");
  c.postgres_db = "markets";
  CHECK(
      c.conninfo() ==
      "host='db host' port=6543 user='etl' password='pa ss\\'wo\\\\rd' dbname='markets' connect_timeout=5");

  c.postgres_password = Secret();
  CHECK(c.conninfo() == "host='db host' port=6543 user='etl' dbname='markets' connect_timeout=5");

  c.database_url = Secret("postgresql://u:p@h/db");
  CHECK(c.conninfo() == "postgresql://u:p@h/db");
}

TEST_CASE("config: render_effective lists every setting and hides secrets", "[config]") {
  const auto loaded = load_config(
      {{"COINGECKO_API_KEY", kSecret},
       {"POSTGRES_PASSWORD", kSecret},
       {"DATABASE_URL", std::string("postgresql://etl:") + kSecret + "@db:5432/markets"},
       {"VS_CURRENCY", "usd,eur"},
       {"POLL_INTERVAL", "1m"},
       {"HTTP_ADDR", "[::1]:9090"}});
  REQUIRE(loaded.has_value());
  const std::string text = render_effective(*loaded);
  CHECK(text.find(kSecret) == std::string::npos);
  CHECK(text.find("COINGECKO_API_KEY=<redacted>\n") != std::string::npos);
  CHECK(text.find("POSTGRES_PASSWORD=<redacted>\n") != std::string::npos);
  CHECK(text.find("DATABASE_URL=postgresql://etl:<redacted>@db:5432/markets\n") !=
        std::string::npos);
  CHECK(text.find("COINGECKO_API_PLAN=demo\n") != std::string::npos);
  CHECK(text.find("RATE_LIMIT_PER_MINUTE=30\n") != std::string::npos);
  CHECK(text.find("VS_CURRENCY=usd,eur\n") != std::string::npos);
  CHECK(text.find("POLL_INTERVAL=1m\n") != std::string::npos);
  CHECK(text.find("HTTP_ADDR=[::1]:9090\n") != std::string::npos);
  for (const auto& doc : etl::config::variable_docs()) {
    if (std::string_view(doc.name).substr(doc.name.size() - 5) == "_FILE")
      continue; // shown as the secret itself
    INFO(doc.name);
    const bool listed = ("\n" + text).find("\n" + std::string(doc.name) + "=") != std::string::npos;
    CHECK(listed);
  }
}

TEST_CASE("config: render_effective output loads back to the same settings", "[config]") {
  const auto first =
      load_config({{"PAGES", "3"}, {"RETENTION", "90m"}, {"RATE_LIMIT_PER_MINUTE", "2.5"}});
  REQUIRE(first.has_value());
  auto env = etl::config::parse_dotenv(render_effective(*first));
  REQUIRE(env.has_value());
  // Unset markers are display only.
  for (auto it = env->begin(); it != env->end();)
    it = it->second == "(unset)" || it->second == "(embedded)" ? env->erase(it) : std::next(it);
  const auto second = load_config(*env);
  REQUIRE(second.has_value());
  CHECK(render_effective(*second) == render_effective(*first));
}

TEST_CASE("config: redact_database_url removes passwords and hides what it cannot parse",
          "[config]") {
  CHECK(redact_database_url("postgresql://user:pw@host/db") ==
        "postgresql://user:<redacted>@host/db");
  CHECK(redact_database_url("postgres://user@host:5432/db") == "postgres://user@host:5432/db");
  CHECK(redact_database_url("postgres://host/db?sslmode=require&password=pw") ==
        "postgres://host/db?sslmode=require&password=<redacted>");
  CHECK(redact_database_url("postgres://u:pw@host/db?sslpassword=x") ==
        "postgres://u:<redacted>@host/db?sslpassword=<redacted>");
  CHECK(redact_database_url("postgres://u:p@ss@host/db") == "<redacted>");
  CHECK(redact_database_url("postgres://host/db?password=a@b") == "<redacted>");
  CHECK(redact_database_url("garbage") == "<redacted>");
}

TEST_CASE("config: MIGRATIONS_DIR renders as (embedded) when unset, else as the directory",
          "[config]") {
  const auto unset = load_config({});
  REQUIRE(unset.has_value());
  CHECK(render_effective(*unset).find("\nMIGRATIONS_DIR=(embedded)\n") != std::string::npos);
  const auto set = load_config({{"MIGRATIONS_DIR", ETL_MIGRATIONS_DIR}});
  REQUIRE(set.has_value());
  CHECK(render_effective(*set).find("\nMIGRATIONS_DIR=" ETL_MIGRATIONS_DIR "\n") !=
        std::string::npos);
}
